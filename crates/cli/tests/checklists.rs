mod common;

// Document checklists (材料清单) end to end, through HTTP only, on SQLite and PostgreSQL (the
// demo company's users; password common::ADMIN_PASSWORD): a car dealer's new-car file counted
// from the delivery date in working days across 国庆 and its 调休 Saturday, completeness and
// missing items, the archivist ticking paper originals (others may not), a scan tagged by the
// salesperson, untick kept on record, the audit trail, the overdue report per responsible person
// within each user's list scope, the holiday calendar changed by the administrator moving the due
// date, and the archive page / overdue page / settings page as a browser gets them.

use common::{send, Resp, TestServer, ADMIN_PASSWORD, PNG_1X1};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Method};
use serde_json::{json, Value};

const DEMO: u64 = 5;

struct W<'a> {
    s: &'a TestServer,
    c: Client,
    tokens: std::collections::HashMap<&'static str, String>,
}

impl<'a> W<'a> {
    async fn new(s: &'a TestServer) -> W<'a> {
        let mut tokens = std::collections::HashMap::new();
        for u in ["xiaoshou1", "xiaoshou3", "dangan1", "jingli1", "admin"] {
            tokens.insert(u, s.token(u, ADMIN_PASSWORD).await);
        }
        W { s, c: Client::new(), tokens }
    }
    fn e(&self) -> String {
        format!("{:?}", self.s.engine)
    }
    async fn call(&self, who: &str, m: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut rb = self.c.request(m, self.s.url(path)).bearer_auth(&self.tokens[who]);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        send(rb).await
    }
    async fn get(&self, who: &str, path: &str) -> Resp {
        self.call(who, Method::GET, path, None).await
    }
    async fn post(&self, who: &str, path: &str, body: Value) -> Resp {
        self.call(who, Method::POST, path, Some(&body)).await
    }
    async fn mark(&self, who: &str, id: i64, item: &str, body: Value) -> Resp {
        self.post(who, &format!("/api/v1/archives/{id}/checklists/vehicle_new/items/{item}/marks"), body).await
    }
    async fn checklists(&self, who: &str, id: i64, as_of: &str) -> Value {
        let r = self.get(who, &format!("/api/v1/archives/{id}/checklists?as_of={as_of}")).await;
        assert_eq!(r.status, 200, "[{}] {who} reads the checklists: {}", self.e(), r.text());
        r.json
    }
    async fn upload(&self, who: &str, id: i64) -> i64 {
        let r = self.upload_to(who, &format!("/api/v1/archives/{id}/attachments")).await;
        assert_eq!(r.status, 201, "[{}] upload: {}", self.e(), r.text());
        r.json["id"].as_i64().unwrap()
    }
    async fn upload_to(&self, who: &str, path: &str) -> Resp {
        let boundary = "----dangan-checklist-boundary";
        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contract.png\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
        body.extend_from_slice(PNG_1X1);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        send(self.c.post(self.s.url(path)).bearer_auth(&self.tokens[who]).header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}")).body(body)).await
    }
}

fn list<'a>(v: &'a Value, key: &str) -> &'a Value {
    v["checklists"].as_array().unwrap().iter().find(|c| c["key"] == key).unwrap_or_else(|| panic!("no checklist {key}: {v}"))
}

fn item<'a>(c: &'a Value, key: &str) -> &'a Value {
    c["items"].as_array().unwrap().iter().find(|i| i["key"] == key).unwrap()
}

fn missing(c: &Value) -> Vec<String> {
    c["missing"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect()
}

/// The overdue rows of an archive in a report, with their group's owner name.
fn overdue_rows(report: &Value, archive_id: i64) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for g in report["groups"].as_array().unwrap() {
        for r in g["rows"].as_array().unwrap() {
            if r["archive_id"] == archive_id {
                out.push((g["owner_name"].as_str().unwrap().to_string(), r.clone()));
            }
        }
    }
    out
}

/// A browser-like client logged in through the login form (session cookie kept).
async fn ui_login(s: &TestServer, user: &str) -> Client {
    let client = Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = client.post(s.url("/login")).form(&[("username", user), ("password", ADMIN_PASSWORD), ("next", "/archives")]).send().await.unwrap();
    assert!(res.status().is_redirection(), "login as {user}: {}", res.status());
    client
}

fn csrf(html: &str) -> String {
    let at = html.find("name=\"_csrf\" value=\"").expect("a CSRF field on the page") + "name=\"_csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_car_file_checklist_ticks_scans_overdue_and_calendar() {
    for s in common::servers(DEMO).await {
        let w = W::new(&s).await;
        let e = w.e();

        // --- a new car delivered on Wed 30 Sep 2026: 3 working days → 8, 9 Oct and Sat 10 Oct (调休)
        let r = w
            .post(
                "xiaoshou1",
                "/api/v1/archives",
                json!({"kind": "person", "name": "赵志远", "mobile": "13905710001", "template": "vehicle",
                       "custom": {"vin": "LSVAM4187C2184847", "model": "朗逸 1.5L", "purchased_on": "2026-09-20", "delivered_on": "2026-09-30"}}),
            )
            .await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let id = r.json["id"].as_i64().unwrap();
        let no = r.json["archive_no"].as_str().unwrap().to_string();

        let v = w.checklists("xiaoshou1", id, "2026-10-10").await;
        assert_eq!(v["checklists"].as_array().unwrap().len(), 1, "[{e}] the after-sales file needs a service date: {v}");
        let c = list(&v, "vehicle_new");
        assert_eq!(c["label_zh"], "新车档案");
        assert_eq!((c["start_on"].as_str(), c["start_source"].as_str()), (Some("2026-09-30"), Some("delivered_on")), "[{e}] {c}");
        assert_eq!(c["due_on"], "2026-10-10", "[{e}] 国庆 1–7 Oct off, Saturday 10 Oct worked: {c}");
        assert_eq!((c["percent"].as_u64(), c["required_total"].as_u64()), (Some(0), Some(11)));
        assert_eq!(missing(c).len(), 11);
        assert!(missing(c).contains(&"invoice".to_string()));
        assert_eq!(c["overdue"], false, "[{e}] due today is not overdue");
        assert_eq!((v["can_tick"].as_bool(), v["can_tag"].as_bool()), (Some(false), Some(true)), "[{e}] the salesperson tags scans, does not tick paper");
        let c = list(&w.checklists("xiaoshou1", id, "2026-10-13").await, "vehicle_new").clone();
        assert_eq!((c["overdue"].as_bool(), c["overdue_days"].as_u64()), (Some(true), Some(2)), "[{e}] Mon 12 and Tue 13 Oct: {c}");

        // --- the salesperson may not tick the paper original; the archivist may, once
        let r = w.mark("xiaoshou1", id, "invoice", json!({"action": "received"})).await;
        assert_eq!(r.status, 403, "[{e}] {}", r.text());
        let r = w.mark("dangan1", id, "invoice", json!({"action": "received", "note": "原件已入柜"})).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let c = list(&r.json, "vehicle_new");
        assert_eq!(c["percent"], 9, "[{e}] 1 of 11: {c}");
        assert_eq!(item(c, "invoice")["received"]["note"], "原件已入柜");
        assert!(item(c, "invoice")["received"]["by"].is_number());
        let r = w.mark("dangan1", id, "invoice", json!({"action": "received"})).await;
        assert_eq!(r.status, 422, "[{e}] ticking a ticked item changes nothing: {}", r.text());
        assert!(r.text().contains("已登记为收到"), "[{e}] said in Chinese: {}", r.text());
        let r = w.mark("dangan1", id, "no_such_item", json!({"action": "received"})).await;
        assert_eq!(r.status, 422, "[{e}] {}", r.text());
        let r = w.post("dangan1", &format!("/api/v1/archives/{id}/checklists/hotel_guest/items/guest_form/marks"), json!({"action": "received"})).await;
        assert_eq!(r.status, 422, "[{e}] not this archive's checklist: {}", r.text());

        // --- a scan: uploaded, then tagged for the contract by the salesperson
        let att = w.upload("xiaoshou1", id).await;
        let r = w.mark("xiaoshou1", id, "contract", json!({"action": "attached", "attachment_id": att})).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let c = list(&r.json, "vehicle_new");
        assert_eq!(c["percent"], 18, "[{e}] {c}");
        assert_eq!(item(c, "contract")["attachment_ids"], json!([att]));
        assert!(!missing(c).contains(&"contract".to_string()));
        // Another archive's attachment cannot be tagged here.
        let other = w.post("xiaoshou1", "/api/v1/archives", json!({"kind": "person", "name": "钱其琛", "mobile": "13905710002"})).await;
        assert_eq!(other.status, 201, "[{e}] {}", other.text());
        let other_id = other.json["id"].as_i64().unwrap();
        let other_att = w.upload("xiaoshou1", other_id).await;
        let r = w.mark("xiaoshou1", id, "green_card", json!({"action": "attached", "attachment_id": other_att})).await;
        assert_eq!(r.status, 422, "[{e}] {}", r.text());
        // Upload and tag in one step; a wrong item uploads nothing.
        let count = w.get("xiaoshou1", &format!("/api/v1/archives/{id}/attachments")).await.json.as_array().unwrap().len();
        let r = w.upload_to("xiaoshou1", &format!("/api/v1/archives/{id}/checklists/vehicle_new/items/nope/attachments")).await;
        assert_eq!(r.status, 422, "[{e}] {}", r.text());
        assert_eq!(w.get("xiaoshou1", &format!("/api/v1/archives/{id}/attachments")).await.json.as_array().unwrap().len(), count, "[{e}] nothing uploaded");
        let r = w.upload_to("xiaoshou1", &format!("/api/v1/archives/{id}/checklists/vehicle_new/items/delivery_photo/attachments")).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let c = list(&r.json, "vehicle_new");
        assert_eq!(c["percent"], 27, "[{e}] 3 of 11: {c}");
        let photo = item(c, "delivery_photo")["attachment_ids"][0].as_i64().unwrap();
        let r = w.upload_to("dangan1", &format!("/api/v1/archives/{id}/checklists/vehicle_new/items/pdi_check/attachments")).await;
        assert!(r.status == 403 || r.status == 404, "[{e}] uploading needs the right to edit the archive: {}", r.text());
        let r = w.mark("xiaoshou1", id, "delivery_photo", json!({"action": "detached", "attachment_id": photo})).await;
        assert_eq!((r.status, list(&r.json, "vehicle_new")["percent"].as_u64()), (201, Some(18)), "[{e}] detached again: {}", r.text());
        // A plain person archive gets the person checklist.
        let pv = w.checklists("xiaoshou1", other_id, "2026-12-31").await;
        assert_eq!(list(&pv, "person_basic")["items"].as_array().unwrap().len(), 2, "[{e}] {pv}");

        // --- untick: the item is missing again, and both marks stay on record
        let r = w.mark("dangan1", id, "invoice", json!({"action": "withdrawn", "note": "误登记"})).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let c = list(&r.json, "vehicle_new");
        assert_eq!(c["percent"], 9);
        assert!(missing(c).contains(&"invoice".to_string()));
        let marks: Vec<&str> = r.json["marks"].as_array().unwrap().iter().map(|m| m["action"].as_str().unwrap()).collect();
        assert_eq!(marks, vec!["received", "attached", "attached", "detached", "withdrawn"], "[{e}] append-only record");

        // --- the database itself refuses to change or delete a mark
        match s.database_url() {
            None => {
                let db = rusqlite::Connection::open(s.data_dir.join("dangan.db")).unwrap();
                let upd = db.execute("UPDATE checklist_marks SET action = 'received' WHERE archive_id = ?1", [id]);
                assert!(upd.is_err_and(|e| e.to_string().contains("append-only")), "[{e}] UPDATE refused");
                let del = db.execute("DELETE FROM checklist_marks WHERE archive_id = ?1", [id]);
                assert!(del.is_err_and(|e| e.to_string().contains("append-only")), "[{e}] DELETE refused");
            }
            Some(url) => {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(conn);
                let upd = client.execute("UPDATE checklist_marks SET action = 'received' WHERE archive_id = $1", &[&id]).await;
                assert!(upd.is_err_and(|e| format!("{e:?}").contains("append-only")), "[{e}] UPDATE refused");
                let del = client.execute("DELETE FROM checklist_marks WHERE archive_id = $1", &[&id]).await;
                assert!(del.is_err_and(|e| format!("{e:?}").contains("append-only")), "[{e}] DELETE refused");
                assert!(client.execute("TRUNCATE checklist_marks", &[]).await.is_err(), "[{e}] TRUNCATE refused");
            }
        }

        // --- who may see it: same department's manager yes, another department no
        let v = w.checklists("jingli1", id, "2026-10-13").await;
        assert_eq!(list(&v, "vehicle_new")["percent"], 9);
        let r = w.get("xiaoshou3", &format!("/api/v1/archives/{id}/checklists")).await;
        assert!(r.status == 404 || r.status == 403, "[{e}] another department's salesperson: {}", r.text());
        let r = w.mark("xiaoshou3", id, "contract", json!({"action": "detached", "attachment_id": att})).await;
        assert!(r.status == 404 || r.status == 403, "[{e}] {}", r.text());

        // --- the trail: one checklist.mark record per mark, naming the item
        let trail = w.get("dangan1", &format!("/api/v1/audit?action=checklist.mark&archive_id={id}")).await;
        assert_eq!(trail.status, 200, "{}", trail.text());
        let recs = trail.json.as_array().unwrap();
        assert_eq!(recs.len(), 5, "[{e}] {}", trail.text());
        assert_eq!(recs[0]["fields"], "vehicle_new.invoice", "[{e}] newest first: {}", trail.text());
        let detail: Value = serde_json::from_str(recs[0]["detail"].as_str().unwrap()).unwrap();
        assert_eq!((detail["action"].as_str(), detail["note"].as_str()), (Some("withdrawn"), Some("误登记")));

        // --- overdue report per responsible person, within the list scope
        let q = "/api/v1/checklists/overdue?as_of=2026-10-13&since=2026-01-01";
        let r = w.get("xiaoshou1", q).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        let rows = overdue_rows(&r.json, id);
        assert_eq!(rows.len(), 1, "[{e}] {}", r.text());
        assert_eq!(rows[0].0, "张明", "[{e}] grouped under the owner");
        assert_eq!(rows[0].1["archive_no"], no.as_str());
        assert_eq!(rows[0].1["missing"].as_array().unwrap().len(), 10);
        assert_eq!(rows[0].1["overdue_days"], 2);
        assert!(rows[0].1["missing"].as_array().unwrap().iter().any(|m| m["label_zh"] == "购车发票复印件"));
        assert!(overdue_rows(&r.json, other_id).is_empty(), "[{e}] created today: not due as of 13 Oct");
        let r = w.get("xiaoshou3", q).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert!(overdue_rows(&r.json, id).is_empty(), "[{e}] not in xiaoshou3's scope: {}", r.text());
        let r = w.get("dangan1", q).await;
        assert_eq!(overdue_rows(&r.json, id).len(), 1, "[{e}] the archivist sees every archive: {}", r.text());
        let r = w.get("jingli1", q).await;
        assert_eq!(overdue_rows(&r.json, id).len(), 1, "[{e}] the department's manager: {}", r.text());
        let r = w.get("xiaoshou1", "/api/v1/checklists/overdue?as_of=2026-10-10&since=2026-01-01").await;
        assert!(overdue_rows(&r.json, id).is_empty(), "[{e}] not yet overdue on the due date");

        // --- settings: viewers and the administrator; a holiday on Fri 9 Oct moves the due date
        let r = w.get("xiaoshou1", "/api/v1/checklists/settings").await;
        assert_eq!(r.status, 403, "[{e}] {}", r.text());
        let r = w.get("dangan1", "/api/v1/checklists/settings").await;
        assert_eq!((r.status, r.json["editable"].as_bool()), (200, Some(false)), "[{e}] the archivist views: {}", r.text());
        let r = w.get("admin", "/api/v1/checklists/settings").await;
        assert_eq!((r.status, r.json["version"].as_i64(), r.json["editable"].as_bool()), (200, Some(0), Some(true)), "[{e}] {}", r.text());
        assert!(r.json["holidays"].as_array().unwrap().iter().any(|h| h["name"] == "国庆节"));
        assert!(r.json["workdays"].as_array().unwrap().iter().any(|h| h["from"] == "2026-10-10"));
        let mut doc = r.json.clone();
        doc["holidays"].as_array_mut().unwrap().push(json!({"from": "2026-10-09", "name": "公司假日"}));
        let r = w.call("dangan1", Method::PUT, "/api/v1/checklists/settings", Some(&doc)).await;
        assert_eq!(r.status, 403, "[{e}] only the administrator changes them: {}", r.text());
        let mut bad = doc.clone();
        bad["workdays"].as_array_mut().unwrap().push(json!({"from": "2026-10-12", "name": "周一"}));
        let r = w.call("admin", Method::PUT, "/api/v1/checklists/settings", Some(&bad)).await;
        assert_eq!(r.status, 422, "[{e}] {}", r.text());
        assert!(r.text().contains("2026-10-12是工作日"), "[{e}] the problem named: {}", r.text());
        let r = w.call("admin", Method::PUT, "/api/v1/checklists/settings", Some(&doc)).await;
        assert_eq!((r.status, r.json["version"].as_i64()), (200, Some(1)), "[{e}] {}", r.text());
        let r = w.call("admin", Method::PUT, "/api/v1/checklists/settings", Some(&doc)).await;
        assert_eq!(r.status, 409, "[{e}] based on version 0 again: {}", r.text());
        let c = list(&w.checklists("xiaoshou1", id, "2026-10-13").await, "vehicle_new").clone();
        assert_eq!(c["due_on"], "2026-10-12", "[{e}] 8 Oct, Sat 10 Oct (调休), Mon 12 Oct: {c}");
        assert_eq!(c["overdue_days"], 1);
        let trail = w.get("dangan1", "/api/v1/audit?action=checklist.settings").await;
        assert_eq!(trail.json.as_array().unwrap().len(), 1, "[{e}] {}", trail.text());
        let detail: Value = serde_json::from_str(trail.json[0]["detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["changed"], json!(["holidays"]), "[{e}] {detail}");

        // --- OpenAPI
        let r = w.get("xiaoshou1", "/api/openapi.json").await;
        for p in ["/api/v1/archives/{id}/checklists", "/api/v1/archives/{id}/checklists/{checklist}/items/{item}/marks", "/api/v1/archives/{id}/checklists/{checklist}/items/{item}/attachments", "/api/v1/checklists/overdue", "/api/v1/checklists/settings"] {
            assert!(r.json["paths"][p].is_object(), "[{e}] {p} is documented");
        }

        // --- the pages: archive page section, tick through the form, overdue page, settings page
        let archivist = ui_login(&s, "dangan1").await;
        let page = archivist.get(s.url(&format!("/archives/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(!page.contains("购车发票复印件"), "[{e}] the archivist may not read this personal archive's page");
        let res = archivist.get(s.url(&format!("/checklists/open?no={no}"))).send().await.unwrap();
        assert_eq!(res.headers()["location"], format!("/archives/{id}/checklist").as_str(), "[{e}] opened by archive number");
        let res = archivist.get(s.url("/checklists/open?no=KH-1900-000001")).send().await.unwrap();
        assert_eq!(res.status(), 404, "[{e}] an unknown number");
        let res = ui_login(&s, "xiaoshou3").await.get(s.url(&format!("/checklists/open?no={no}"))).send().await.unwrap();
        assert!(res.status() == 404 || res.status() == 403, "[{e}] not for who may not see it: {}", res.status());
        let page = archivist.get(s.url(&format!("/archives/{id}/checklist"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"checklists\"") && page.contains("新车档案") && page.contains("购车发票复印件") && page.contains(&no), "[{e}] the checklist page: {page}");
        assert!(page.contains("id=\"tick-vehicle_new-green_card\""), "[{e}] the archivist gets tick buttons");
        assert!(page.contains("confirm("), "[{e}] ticking asks for confirmation");
        let token = csrf(&page);
        let res = archivist
            .post(s.url(&format!("/archives/{id}/checklist/mark")))
            .form(&[("_csrf", token.as_str()), ("back", "checklist"), ("checklist", "vehicle_new"), ("item", "green_card"), ("action", "received"), ("note", "")])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "[{e}] {}", res.status());
        assert_eq!(res.headers()["location"], format!("/archives/{id}/checklist").as_str());
        let page = archivist.get(s.url(&format!("/archives/{id}/checklist"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"untick-vehicle_new-green_card\""), "[{e}] ticked through the page");
        assert!(page.contains("18%"), "[{e}] 2 of 11");
        let page = archivist.get(s.url("/checklists/overdue?as_of=2026-10-13&since=2026-01-01")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&format!("/archives/{id}/checklist")), "[{e}] the overdue page links to the checklist page");
        let res = archivist.post(s.url(&format!("/archives/{id}/checklist/mark"))).form(&[("checklist", "vehicle_new"), ("item", "pdi_check"), ("action", "received")]).send().await.unwrap();
        assert_eq!(res.status(), 400, "[{e}] no CSRF token, no mark");
        let sales = ui_login(&s, "xiaoshou1").await;
        let page = sales.get(s.url(&format!("/archives/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("id=\"checklists\"") && !page.contains("id=\"tick-vehicle_new-"), "[{e}] the salesperson sees the checklist, no tick buttons");
        assert!(page.contains("18%") && page.contains("id=\"attach-vehicle_new-pdi_check\""), "[{e}] and may attach scans");
        assert!(page.contains("id=\"upload-vehicle_new-pdi_check\""), "[{e}] the salesperson may upload a scan for a missing item");
        let token = csrf(&page);
        let boundary = "----dangan-ui-boundary";
        let mut body = Vec::new();
        for (k, v) in [("_csrf", token.as_str()), ("back", "archive"), ("checklist", "vehicle_new"), ("item", "pdi_check")] {
            body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
        }
        body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"PDI.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
        body.extend_from_slice(PNG_1X1);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let res = sales.post(s.url(&format!("/archives/{id}/checklist/upload"))).header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}")).body(body).send().await.unwrap();
        assert!(res.status().is_redirection(), "[{e}] uploaded from the item's row: {}", res.status());
        let page = sales.get(s.url(&format!("/archives/{id}"))).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("27%") && page.contains("PDI.png"), "[{e}] the scan counts for the item");
        let page = sales.get(s.url("/checklists/overdue?as_of=2026-10-13&since=2026-01-01")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains(&no) && page.contains("张明") && page.contains("行驶证复印件"), "[{e}] the overdue page lists the archive under its owner");
        let res = sales.get(s.url("/admin/checklists")).send().await.unwrap();
        assert_eq!(res.status(), 403, "[{e}] the settings page is not for salespeople");
        let admin = ui_login(&s, "admin").await;
        let page = admin.get(s.url("/admin/checklists")).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("公司假日") && page.contains("2026-10-10 国庆节调休上班") && page.contains("新车PDI检查表"), "[{e}] the settings page shows the calendar and checklists");
        let token = csrf(&page);
        let json_at = page.find("id=\"checklists-json\"").unwrap();
        let json_text = page[json_at..].split_once('>').unwrap().1.split("</textarea>").next().unwrap().replace("&quot;", "\"").replace("&#34;", "\"").replace("&amp;", "&").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">");
        let holidays = "2026-10-01..2026-10-07 国庆节\n2026-10-09 公司假日\n2026-10-12 又一个假日";
        let res = admin
            .post(s.url("/admin/checklists/save"))
            .form(&[("_csrf", token.as_str()), ("version", "1"), ("default_deadline_days", "3"), ("holidays", holidays), ("workdays", "2026-10-10 国庆节调休上班"), ("checklists", json_text.as_str())])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_redirection(), "[{e}] saved from the page: {} {}", res.status(), res.text().await.unwrap_or_default());
        let c = list(&w.checklists("xiaoshou1", id, "2026-10-14").await, "vehicle_new").clone();
        assert_eq!(c["due_on"], "2026-10-13", "[{e}] 8, 10 (调休), 13 Oct: {c}");
        let res = admin
            .post(s.url("/admin/checklists/save"))
            .form(&[("_csrf", token.as_str()), ("version", "2"), ("default_deadline_days", "3"), ("holidays", "2026-13-01 坏日期"), ("workdays", ""), ("checklists", json_text.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422, "[{e}]");
        assert!(res.text().await.unwrap().contains("节假日第1行"), "[{e}] the bad line is named");
    }
}
