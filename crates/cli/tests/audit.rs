mod common;

// End-to-end tests of the audit trail (审计日志) and the version history (变更历史) through HTTP
// and the `dangan` binary, on SQLite and (where reachable, required in CI) PostgreSQL:
//
// 1. every listed event is recorded with its fields (who, roles, department, client address,
//    user agent, action, target, fields, basis, outcome, detail);
// 2. who may read the trail (auditor, general manager, archivist) — a refusal is itself
//    recorded — and the CSV / xlsx exports;
// 3. history, diff and restore through the API (key-field corrections need a reason, values
//    masked in diffs, restore makes a new version equal to the old one, audited);
// 4. `dangan audit verify` / `dangan audit head` on the server's data: exit 0 on an intact
//    chain, exit 2 naming the record after tampering directly in the database.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

use chrono::{Duration, Utc};
use common::{send, Engine, Resp, TestServer, ADMIN_PASSWORD, PNG_1X1};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{json, Value};

const DEMO: u64 = 5;
/// The user agent every request of these tests sends (recorded with each event).
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) DanganAuditTest/1.0";
const STAFF: &[&str] = &["admin", "zongjingli", "jingli1", "xiaoshou1", "xiaoshou2", "xiaoshou3", "dangan1", "shenji1"];

/// The export's header row (`audit_api::EXPORT_HEADERS`), as an inspector reads it.
const EXPORT_HEADERS: &[&str] =
    &["序号", "时间", "用户ID", "用户", "角色", "部门ID", "来源地址", "客户端", "操作代码", "操作", "档案ID", "档号", "字段", "依据", "结果", "详情", "前一哈希", "哈希"];

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

struct World<'a> {
    s: &'a TestServer,
    c: Client,
    tokens: HashMap<String, String>,
    users: HashMap<String, i64>,
    depts: HashMap<String, i64>,
}

impl<'a> World<'a> {
    async fn new(s: &'a TestServer) -> World<'a> {
        let c = Client::builder().user_agent(UA).build().expect("client");
        let mut w = World { s, c, tokens: HashMap::new(), users: HashMap::new(), depts: HashMap::new() };
        for who in STAFF {
            let t = w.login(who, ADMIN_PASSWORD).await;
            assert_eq!(t.status, 200, "[{}] login {who}: {}", w.e(), t.text());
            w.tokens.insert(who.to_string(), t.json["token"].as_str().expect("token").to_string());
        }
        let users = w.ok("admin", Method::GET, "/api/v1/users", None).await;
        w.users = users.as_array().unwrap().iter().map(|u| (u["username"].as_str().unwrap().to_string(), u["id"].as_i64().unwrap())).collect();
        let depts = w.ok("admin", Method::GET, "/api/v1/departments", None).await;
        w.depts = depts.as_array().unwrap().iter().map(|d| (d["code"].as_str().unwrap().to_string(), d["id"].as_i64().unwrap())).collect();
        w
    }
    fn e(&self) -> String {
        format!("{:?}", self.s.engine)
    }
    fn uid(&self, who: &str) -> i64 {
        *self.users.get(who).unwrap_or_else(|| panic!("no user {who}"))
    }
    async fn login(&self, who: &str, password: &str) -> Resp {
        send(self.c.post(self.s.url("/api/v1/auth/login")).json(&json!({"username": who, "password": password}))).await
    }
    fn rb(&self, who: &str, method: Method, path: &str) -> RequestBuilder {
        let token = self.tokens.get(who).unwrap_or_else(|| panic!("{who} is not logged in"));
        self.c.request(method, self.s.url(path)).bearer_auth(token)
    }
    async fn call(&self, who: &str, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut rb = self.rb(who, method, path);
        if let Some(b) = body {
            rb = rb.json(b);
        }
        send(rb).await
    }
    async fn ok(&self, who: &str, method: Method, path: &str, body: Option<&Value>) -> Value {
        let m = method.clone();
        let r = self.call(who, method, path, body).await;
        assert!((200..300).contains(&r.status), "[{}] {who}: {m} {path} → {}: {}", self.e(), r.status, r.text());
        r.json
    }
    async fn get(&self, who: &str, path: &str) -> Resp {
        self.call(who, Method::GET, path, None).await
    }
    async fn post(&self, who: &str, path: &str, body: &Value) -> Resp {
        self.call(who, Method::POST, path, Some(body)).await
    }
    async fn put(&self, who: &str, path: &str, body: &Value) -> Resp {
        self.call(who, Method::PUT, path, Some(body)).await
    }

    /// The trail as the auditor reads it through the API (newest first).
    async fn trail(&self, query: &str) -> Vec<Value> {
        let v = self.ok("shenji1", Method::GET, &format!("/api/v1/audit?limit=1000&{query}"), None).await;
        v.as_array().expect("audit records").clone()
    }

    /// The newest record of `action` by `who` (or with no user when `who` is None) after
    /// `after_seq`, that `pred` accepts; panics listing what there is.
    async fn find(&self, action: &str, who: Option<&str>, after_seq: i64, pred: impl Fn(&Value) -> bool) -> Value {
        let mut q = format!("action={action}");
        if let Some(w) = who {
            q.push_str(&format!("&user_id={}", self.uid(w)));
        }
        let records = self.trail(&q).await;
        let found = records.iter().find(|r| r["seq"].as_i64().unwrap() > after_seq && pred(r)).cloned();
        found.unwrap_or_else(|| {
            panic!(
                "[{}] no {action} record by {who:?} after #{after_seq} matching; there are: {}",
                self.e(),
                serde_json::to_string_pretty(&records.iter().take(10).collect::<Vec<_>>()).unwrap()
            )
        })
    }

    async fn head_seq(&self) -> i64 {
        self.s.app.audit_head().await.expect("audit head").map(|h| h.seq).unwrap_or(0)
    }

    async fn upload(&self, who: &str, archive_id: i64) -> Resp {
        let boundary = "----dangan-audit-boundary";
        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"营业执照.png\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
        body.extend_from_slice(PNG_1X1);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        send(self.rb(who, Method::POST, &format!("/api/v1/archives/{archive_id}/attachments")).header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}")).body(body)).await
    }
}

fn detail(r: &Value) -> Value {
    let d = r["detail"].as_str().unwrap_or("");
    if d.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(d).unwrap_or_else(|e| panic!("detail is not JSON ({e}): {r}"))
}

fn fields(r: &Value) -> BTreeSet<String> {
    r["fields"].as_str().unwrap_or("").split(',').filter(|s| !s.is_empty()).map(str::to_string).collect()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The action code of a record as the API gives it. The filter takes codes (`archive.read`); the
/// records may carry the code or the enum's name (`ArchiveRead`) — normalized here so the other
/// checks run; `api_records_name_actions_by_their_code` checks which one the API sends.
fn action(r: &Value) -> String {
    let raw = r["action"].as_str().unwrap_or_default();
    if dangan_core::audit::AuditAction::parse(raw).is_some() {
        return raw.to_string();
    }
    serde_json::from_value::<dangan_core::audit::AuditAction>(r["action"].clone()).map(|a| a.code().to_string()).unwrap_or_else(|_| raw.to_string())
}

/// A minimal RFC 4180 reader (quotes, doubled quotes, commas and newlines inside quotes).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if quoted {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                c => field.push(c),
            }
        } else {
            match ch {
                '"' => quoted = true,
                ',' => row.push(std::mem::take(&mut field)),
                '\r' => {}
                '\n' => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                c => field.push(c),
            }
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn org(name: &str, n: u32, secrecy: &str) -> Value {
    json!({
        "kind": "organization",
        "name": name,
        "mobile": format!("1382{n:07}"),
        "email": format!("audit{n}@shenji-test.cn"),
        "address": format!("浙江省杭州市西湖区文三路{n}号审计测试大厦"),
        "organization": {"uscc": "91350100M000100Y43", "legal_representative": "欧阳建国"},
        "classification": {"province": "浙江省", "city": "杭州市", "industry": "制造业", "grade": "B"},
        "status": "active",
        "tier": "personal",
        "secrecy": secrecy,
    })
}

// ---------------------------------------------------------------------------------------------
// 1. Every listed event is recorded with its fields
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_listed_event_is_recorded_with_its_fields() {
    for s in common::servers(DEMO).await {
        let start = {
            let app_head = s.app.audit_head().await.expect("head");
            app_head.map(|h| h.seq).unwrap_or(0)
        };
        let w = World::new(&s).await;
        let e = w.e();
        let x1 = w.uid("xiaoshou1");
        let xs1 = w.depts["XS1"];

        // ── logins ──
        for who in STAFF {
            let r = w.find("auth.login", Some(who), start, |_| true).await;
            assert_eq!(r["username"], *who, "[{e}] {r}");
            assert_eq!(detail(&r)["kind"], "api", "[{e}] an API login: {r}");
            assert_eq!(r["outcome"], "allowed", "[{e}] {r}");
        }
        let r = w.find("auth.login", Some("xiaoshou1"), start, |_| true).await;
        assert_eq!(r["roles"], "salesperson", "[{e}] the roles at the time: {r}");
        assert_eq!(r["dept_id"].as_i64(), Some(xs1), "[{e}] the department: {r}");
        // A wrong password: the typed name, the user it names, outcome failed.
        let bad = w.login("xiaoshou1", "not-the-password").await;
        assert_eq!(bad.status, 401, "[{e}] {}", bad.text());
        let r = w.find("auth.login_failed", Some("xiaoshou1"), start, |_| true).await;
        assert_eq!((r["username"].as_str(), r["outcome"].as_str()), (Some("xiaoshou1"), Some("failed")), "[{e}] {r}");
        assert_eq!(detail(&r)["reason"], "wrong password", "[{e}] {r}");
        // An unknown name: recorded as typed, with no user.
        let bad = w.login("  nobody-zz ", "whatever-password").await;
        assert_eq!(bad.status, 401, "[{e}]");
        let r = w.find("auth.login_failed", None, start, |r| r["username"] == "nobody-zz").await;
        assert!(r["user_id"].is_null(), "[{e}] no user for an unknown name: {r}");
        assert_eq!((r["outcome"].as_str(), r["client_addr"].as_str(), r["user_agent"].as_str()), (Some("failed"), Some("127.0.0.1"), Some(UA)), "[{e}] {r}");
        assert_eq!(detail(&r)["reason"], "unknown user", "[{e}] {r}");
        // Logout (a second token of xiaoshou2's, which then stops working).
        let t2 = w.login("xiaoshou2", ADMIN_PASSWORD).await.json["token"].as_str().unwrap().to_string();
        let out = send(w.c.post(s.url("/api/v1/auth/logout")).bearer_auth(&t2)).await;
        assert_eq!(out.status, 204, "[{e}] logout: {}", out.text());
        assert_eq!(send(w.c.get(s.url("/api/v1/me")).bearer_auth(&t2)).await.status, 401, "[{e}] the token is gone");
        w.find("auth.logout", Some("xiaoshou2"), start, |_| true).await;

        // ── an archive: create, read, unmask, update, list ──
        let r = w.post("xiaoshou1", "/api/v1/archives", &org("杭州审计事件测试有限公司", 1, "normal")).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let a = r.json.clone();
        let (id, no) = (a["id"].as_i64().unwrap(), a["archive_no"].as_str().unwrap().to_string());
        let on_a = |r: &Value| r["archive_id"].as_i64() == Some(id);
        let rec = w.find("archive.create", Some("xiaoshou1"), start, on_a).await;
        assert_eq!(rec["archive_no"], no.as_str(), "[{e}] the record names the number: {rec}");

        let before = w.head_seq().await;
        assert_eq!(w.get("xiaoshou1", &format!("/api/v1/archives/{id}")).await.status, 200);
        let rec = w.find("archive.read", Some("xiaoshou1"), before, on_a).await;
        assert_eq!((rec["outcome"].as_str(), rec["basis"].as_str(), rec["archive_no"].as_str()), (Some("allowed"), Some(""), Some(no.as_str())), "[{e}] own rights: {rec}");

        let before = w.head_seq().await;
        let clear = w.get("xiaoshou1", &format!("/api/v1/archives/{id}?unmasked=true")).await;
        assert_eq!(clear.status, 200, "[{e}] {}", clear.text());
        assert_eq!(clear.json["mobile"], "13820000001", "[{e}] in clear");
        let rec = w.find("archive.read_unmasked", Some("xiaoshou1"), before, on_a).await;
        assert_eq!(fields(&rec), set(&["mobile", "email", "address"]), "[{e}] the record names the unmasked fields: {rec}");

        let mut body = org("杭州审计事件测试有限公司", 1, "normal");
        body["version"] = json!(1);
        body["status"] = json!("dormant");
        body["classification"]["grade"] = json!("A");
        let before = w.head_seq().await;
        let upd = w.put("xiaoshou1", &format!("/api/v1/archives/{id}"), &body).await;
        assert_eq!(upd.status, 200, "[{e}] {}", upd.text());
        let rec = w.find("archive.update", Some("xiaoshou1"), before, on_a).await;
        assert_eq!(fields(&rec), set(&["status", "classification.grade"]), "[{e}] the record lists the changed paths: {rec}");
        assert_eq!(detail(&rec)["from_version"].as_i64(), Some(1), "[{e}] {rec}");

        let before = w.head_seq().await;
        let page = w.ok("xiaoshou1", Method::GET, &format!("/api/v1/archives?q={}&count=true", urlencode("审计事件测试")), None).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "[{e}] {page}");
        let rec = w.find("archive.list", Some("xiaoshou1"), before, |_| true).await;
        let d = detail(&rec);
        assert_eq!(d["rows"].as_i64(), Some(1), "[{e}] the list record has the row count: {rec}");
        assert_eq!(d["total"].as_i64(), Some(1), "[{e}] {rec}");
        assert_eq!(d["filter"]["name_contains"], "审计事件测试", "[{e}] and the query: {rec}");

        // ── contacts, timeline, attachments ──
        let c = w.ok("xiaoshou1", Method::POST, &format!("/api/v1/archives/{id}/contacts"), Some(&json!({"name": "李晓梅", "mobile": "13900001111", "is_primary": true}))).await;
        let cid = c["id"].as_i64().unwrap();
        let rec = w.find("contact.add", Some("xiaoshou1"), start, on_a).await;
        assert_eq!(detail(&rec)["contact_id"].as_i64(), Some(cid), "[{e}] {rec}");
        w.ok("xiaoshou1", Method::PUT, &format!("/api/v1/archives/{id}/contacts/{cid}"), Some(&json!({"name": "李晓梅", "title": "采购经理", "mobile": "13900001111", "is_primary": true}))).await;
        let rec = w.find("contact.update", Some("xiaoshou1"), start, on_a).await;
        assert_eq!(detail(&rec)["contact_id"].as_i64(), Some(cid), "[{e}] {rec}");

        let en = w.ok("xiaoshou1", Method::POST, &format!("/api/v1/archives/{id}/entries"), Some(&json!({"kind": "visit", "occurred_on": "2026-03-01", "summary": "上门拜访"}))).await;
        let eid = en["id"].as_i64().unwrap();
        let rec = w.find("entry.add", Some("xiaoshou1"), start, on_a).await;
        assert_eq!(detail(&rec)["entry_id"].as_i64(), Some(eid), "[{e}] {rec}");
        let fix = w
            .ok("xiaoshou1", Method::POST, &format!("/api/v1/archives/{id}/entries"), Some(&json!({"kind": "visit", "occurred_on": "2026-03-02", "summary": "上门拜访（更正日期）", "supersedes": eid, "correction_reason": "日期记错"})))
            .await;
        let rec = w.find("entry.correct", Some("xiaoshou1"), start, on_a).await;
        assert_eq!((detail(&rec)["entry_id"].as_i64(), detail(&rec)["supersedes"].as_i64()), (fix["id"].as_i64(), Some(eid)), "[{e}] the correction names what it supersedes: {rec}");

        let up = w.upload("xiaoshou1", id).await;
        assert_eq!(up.status, 201, "[{e}] {}", up.text());
        let att = up.json["id"].as_i64().unwrap();
        let rec = w.find("attachment.add", Some("xiaoshou1"), start, on_a).await;
        assert_eq!(detail(&rec)["attachment_id"].as_i64(), Some(att), "[{e}] {rec}");
        assert_eq!(detail(&rec)["filename"], "营业执照.png", "[{e}] {rec}");
        let before = w.head_seq().await;
        let dl = w.get("xiaoshou1", &format!("/api/v1/attachments/{att}/content")).await;
        assert_eq!((dl.status, dl.bytes.as_slice()), (200, PNG_1X1), "[{e}]");
        w.find("attachment.download", Some("xiaoshou1"), before, on_a).await;

        // ── refusals: needs approval, denied ──
        let before = w.head_seq().await;
        let r = w.get("xiaoshou3", &format!("/api/v1/archives/{id}")).await;
        assert_eq!(r.status, 403, "[{e}] xiaoshou3 needs approval: {}", r.text());
        let rec = w.find("archive.read", Some("xiaoshou3"), before, on_a).await;
        assert_eq!(rec["outcome"], "needs_approval", "[{e}] {rec}");
        // Same credit code as the first archive: confirmed past the duplicate check.
        let mut top_body = org("杭州审计绝密测试有限公司", 2, "top_secret");
        top_body["confirm_duplicates"] = json!(true);
        let top = w.post("xiaoshou1", "/api/v1/archives", &top_body).await;
        assert_eq!(top.status, 201, "[{e}] {}", top.text());
        let top_id = top.json["id"].as_i64().unwrap();
        let before = w.head_seq().await;
        let r = w.get("xiaoshou1", &format!("/api/v1/archives/{top_id}")).await;
        assert!(r.status == 403 || r.status == 404, "[{e}] a 绝密 archive is not opened through the system: {}", r.text());
        let rec = w.find("archive.read", Some("xiaoshou1"), before, |r| r["archive_id"].as_i64() == Some(top_id)).await;
        assert_eq!(rec["outcome"], "denied", "[{e}] {rec}");

        // ── access requests: request, approve (→ grant), reject, cancel ──
        let req = w.post("xiaoshou3", &format!("/api/v1/archives/{id}/access-requests"), &json!({"purpose": "核对合同", "hours": 2})).await;
        assert_eq!(req.status, 201, "[{e}] {}", req.text());
        let rid = req.json["id"].as_i64().unwrap();
        let rec = w.find("access.request", Some("xiaoshou3"), start, on_a).await;
        let d = detail(&rec);
        assert_eq!((d["request_id"].as_i64(), d["purpose"].as_str(), d["hours"].as_i64()), (Some(rid), Some("核对合同"), Some(2)), "[{e}] {rec}");
        assert_eq!(w.post("jingli1", &format!("/api/v1/access-requests/{rid}/decision"), &json!({"approve": true, "comment": "同意"})).await.status, 200);
        let rec = w.find("access.approve", Some("jingli1"), start, on_a).await;
        assert!(detail(&rec).get("grant_id").is_none(), "[{e}] the first step grants nothing: {rec}");
        assert_eq!(w.post("zongjingli", &format!("/api/v1/access-requests/{rid}/decision"), &json!({"approve": true, "comment": "同意"})).await.status, 200);
        let grants = w.ok("xiaoshou3", Method::GET, "/api/v1/grants", None).await;
        let gid = grants[0]["id"].as_i64().expect("a grant");
        let rec = w.find("access.approve", Some("zongjingli"), start, on_a).await;
        assert_eq!(detail(&rec)["grant_id"].as_i64(), Some(gid), "[{e}] the last approval names the grant it created: {rec}");
        let before = w.head_seq().await;
        assert_eq!(w.get("xiaoshou3", &format!("/api/v1/archives/{id}")).await.status, 200, "[{e}] read with the grant");
        let rec = w.find("archive.read", Some("xiaoshou3"), before, on_a).await;
        assert_eq!((rec["outcome"].as_str(), rec["basis"].as_str()), (Some("allowed"), Some(format!("grant:{gid}").as_str())), "[{e}] the grant that allowed it: {rec}");

        let req2 = w.post("xiaoshou2", &format!("/api/v1/archives/{id}/access-requests"), &json!({"purpose": "了解情况", "hours": 1})).await;
        assert_eq!(req2.status, 201, "[{e}] {}", req2.text());
        let rid2 = req2.json["id"].as_i64().unwrap();
        assert_eq!(w.post("jingli1", &format!("/api/v1/access-requests/{rid2}/decision"), &json!({"approve": false, "comment": "用途不明确"})).await.status, 200);
        let rec = w.find("access.reject", Some("jingli1"), start, on_a).await;
        assert_eq!((detail(&rec)["request_id"].as_i64(), detail(&rec)["comment"].as_str()), (Some(rid2), Some("用途不明确")), "[{e}] {rec}");
        let req3 = w.post("xiaoshou2", &format!("/api/v1/archives/{id}/access-requests"), &json!({"purpose": "再次申请", "hours": 1})).await;
        let rid3 = req3.json["id"].as_i64().unwrap();
        assert_eq!(w.post("xiaoshou2", &format!("/api/v1/access-requests/{rid3}/cancel"), &json!({})).await.status, 200);
        let rec = w.find("access.cancel", Some("xiaoshou2"), start, on_a).await;
        assert_eq!(detail(&rec)["request_id"].as_i64(), Some(rid3), "[{e}] {rec}");

        // ── loans ──
        let due = Utc::now() + Duration::days(7);
        let loan = w.post("dangan1", "/api/v1/loans", &json!({"archive_id": id, "borrower_id": x1, "kind": "paper", "purpose": "核对合同原件", "due_at": due})).await;
        assert_eq!(loan.status, 201, "[{e}] lend: {}", loan.text());
        let lid = loan.json["id"].as_i64().unwrap();
        let rec = w.find("loan.lend", Some("dangan1"), start, on_a).await;
        let d = detail(&rec);
        assert_eq!((d["loan_id"].as_i64(), d["borrower_id"].as_i64(), d["purpose"].as_str()), (Some(lid), Some(x1), Some("核对合同原件")), "[{e}] {rec}");
        assert_eq!(w.post("dangan1", &format!("/api/v1/loans/{lid}/return"), &json!({"complete": false, "note": "缺第3页"})).await.status, 200);
        let rec = w.find("loan.return", Some("dangan1"), start, on_a).await;
        assert_eq!((detail(&rec)["returned_complete"].as_bool(), detail(&rec)["return_note"].as_str()), (Some(false), Some("缺第3页")), "[{e}] {rec}");

        // ── restore ──
        let before = w.head_seq().await;
        let r = w.post("xiaoshou1", &format!("/api/v1/archives/{id}/restore"), &json!({"version": 1, "reason": "误改，恢复"})).await;
        assert_eq!(r.status, 200, "[{e}] restore: {}", r.text());
        let rec = w.find("archive.restore", Some("xiaoshou1"), before, on_a).await;
        assert_eq!(fields(&rec), set(&["status", "classification.grade"]), "[{e}] the restore lists what it changed back: {rec}");
        assert!(detail(&rec)["reason"].as_str().unwrap_or("").contains("误改，恢复"), "[{e}] and why: {rec}");

        // ── users and departments ──
        let u = w.post("admin", "/api/v1/users", &json!({"username": "audit_new_user", "display_name": "审计新人", "password": "Audit-pass-2026!", "dept_id": xs1, "roles": ["salesperson"]})).await;
        assert_eq!(u.status, 201, "[{e}] {}", u.text());
        let rec = w.find("user.create", Some("admin"), start, |_| true).await;
        assert_eq!((detail(&rec)["new_user_id"].as_i64(), detail(&rec)["username"].as_str()), (u.json["id"].as_i64(), Some("audit_new_user")), "[{e}] {rec}");
        let d = w.post("admin", "/api/v1/departments", &json!({"name": "审计测试部", "code": "SJT"})).await;
        assert_eq!(d.status, 201, "[{e}] {}", d.text());
        let rec = w.find("department.create", Some("admin"), start, |_| true).await;
        assert_eq!((detail(&rec)["department_id"].as_i64(), detail(&rec)["code"].as_str()), (d.json["id"].as_i64(), Some("SJT")), "[{e}] {rec}");

        // ── the trail itself: viewing and exporting are audited ──
        let before = w.head_seq().await;
        w.ok("shenji1", Method::GET, "/api/v1/audit?action=archive.read&limit=5", None).await;
        let rec = w.find("audit.view", Some("shenji1"), before, |r| detail(r)["action"] == "archive.read").await;
        assert_eq!(rec["outcome"], "allowed", "[{e}] {rec}");
        let before = w.head_seq().await;
        let csv = w.get("shenji1", "/api/v1/audit/export?format=csv&action=auth.login").await;
        assert_eq!(csv.status, 200, "[{e}] {}", csv.text());
        let rows = parse_csv(csv.text().trim_start_matches('\u{feff}')).len() - 1;
        let rec = w.find("audit.export", Some("shenji1"), before, |_| true).await;
        assert_eq!(detail(&rec)["rows"].as_u64(), Some(rows as u64), "[{e}] the export record counts the rows: {rec}");

        // ── every record this test caused carries who, roles, where from and the agent ──
        let mine = w.trail(&format!("before_seq={}", w.head_seq().await + 1)).await;
        let mine: Vec<&Value> = mine.iter().filter(|r| r["seq"].as_i64().unwrap() > start).collect();
        assert!(mine.len() > 40, "[{e}] {} records", mine.len());
        let mut seen = BTreeSet::new();
        for r in &mine {
            seen.insert(action(r));
            assert_eq!(r["client_addr"], "127.0.0.1", "[{e}] client address: {r}");
            assert_eq!(r["user_agent"], UA, "[{e}] user agent: {r}");
            if r["username"] != "nobody-zz" {
                assert!(r["user_id"].as_i64().is_some(), "[{e}] a user: {r}");
                assert!(!r["roles"].as_str().unwrap_or("").is_empty(), "[{e}] the roles: {r}");
            }
            assert!(!r["username"].as_str().unwrap_or("").is_empty(), "[{e}] the user name: {r}");
            assert!(r["at"].as_str().is_some() && r["hash"].as_str().map(str::len) == Some(64), "[{e}] time and hash: {r}");
        }
        for want in [
            "auth.login", "auth.login_failed", "auth.logout", "archive.create", "archive.read", "archive.read_unmasked", "archive.update", "archive.restore", "archive.list",
            "contact.add", "contact.update", "entry.add", "entry.correct", "attachment.add", "attachment.download", "access.request", "access.approve", "access.reject",
            "access.cancel", "loan.lend", "loan.return", "user.create", "department.create", "audit.view", "audit.export",
        ] {
            assert!(seen.contains(want), "[{e}] the API shows a {want} record among {seen:?}");
        }
        // The whole trail still verifies.
        let report = s.app.verify_audit(&[]).await.expect("verify");
        assert_eq!(report.problem, None, "[{e}] {report:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Who may read the trail; exports
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_may_read_the_trail_and_its_exports() {
    for s in common::servers(DEMO).await {
        let w = World::new(&s).await;
        let e = w.e();
        let a = w.ok("xiaoshou1", Method::POST, "/api/v1/archives", Some(&org("杭州审计权限测试有限公司", 3, "normal"))).await;
        let id = a["id"].as_i64().unwrap();
        w.ok("xiaoshou1", Method::GET, &format!("/api/v1/archives/{id}"), None).await;
        assert_eq!(w.login("xiaoshou2", "wrong-password").await.status, 401);

        // Auditor, general manager, archivist (and the admin, who is also general manager) read it.
        for who in ["shenji1", "zongjingli", "dangan1", "admin"] {
            let r = w.get(who, "/api/v1/audit?limit=3").await;
            assert_eq!(r.status, 200, "[{e}] {who} reads the trail: {}", r.text());
            assert_eq!(r.json.as_array().map(|v| v.len()), Some(3), "[{e}] limit: {}", r.json);
            let seqs: Vec<i64> = r.json.as_array().unwrap().iter().map(|x| x["seq"].as_i64().unwrap()).collect();
            assert!(seqs.windows(2).all(|p| p[0] > p[1]), "[{e}] newest first: {seqs:?}");
            let r = w.get(who, &format!("/api/v1/archives/{id}/consultations")).await;
            assert_eq!(r.status, 200, "[{e}] {who} sees the consultations: {}", r.text());
            assert!(r.json.as_array().unwrap().iter().any(|x| action(x) == "archive.read" && x["username"] == "xiaoshou1"), "[{e}] xiaoshou1's read is listed: {}", r.json);
            assert!(r.json.as_array().unwrap().iter().all(|x| x["archive_id"].as_i64() == Some(id)), "[{e}] only this archive");
        }
        // Others are refused, and the refusal is recorded.
        for who in ["xiaoshou1", "jingli1", "xiaoshou3"] {
            let before = w.head_seq().await;
            let r = w.get(who, "/api/v1/audit").await;
            assert_eq!(r.status, 403, "[{e}] {who} reads the trail: {}", r.text());
            assert!(r.is_problem(), "[{e}]");
            let rec = w.find("audit.view", Some(who), before, |_| true).await;
            assert_eq!(rec["outcome"], "denied", "[{e}] the refusal is recorded: {rec}");
            let before = w.head_seq().await;
            let r = w.get(who, "/api/v1/audit/export?format=csv").await;
            assert_eq!(r.status, 403, "[{e}] {who} exports the trail: {}", r.text());
            assert!(!r.text().contains("auth.login"), "[{e}] nothing of the trail in the refusal");
            let rec = w.find("audit.export", Some(who), before, |_| true).await;
            assert_eq!(rec["outcome"], "denied", "[{e}] {rec}");
            assert_eq!(w.get(who, "/api/v1/audit/head").await.status, 403, "[{e}] {who} reads the head");
            assert_eq!(w.get(who, &format!("/api/v1/archives/{id}/consultations")).await.status, 403, "[{e}] {who} reads the consultations (even the owner)");
        }
        // Nothing edits or deletes records.
        for (m, path) in [(Method::DELETE, "/api/v1/audit"), (Method::PUT, "/api/v1/audit"), (Method::POST, "/api/v1/audit"), (Method::DELETE, "/api/v1/audit/1"), (Method::PUT, "/api/v1/audit/1")] {
            let r = w.call("shenji1", m.clone(), path, Some(&json!({}))).await;
            assert!(r.status == 404 || r.status == 405, "[{e}] {m} {path} → {}", r.status);
        }
        let head = w.ok("shenji1", Method::GET, "/api/v1/audit/head", None).await;
        assert!(head["seq"].as_i64().unwrap() > 10 && head["hash"].as_str().map(str::len) == Some(64), "[{e}] {head}");

        // Filters through the API: outcome, user, time range (days in China time), bad input.
        let failed = w.trail("outcome=failed").await;
        assert!(!failed.is_empty() && failed.iter().all(|r| r["outcome"] == "failed"), "[{e}] {failed:?}");
        assert!(failed.iter().any(|r| r["username"] == "xiaoshou2" && action(r) == "auth.login_failed"), "[{e}]");
        let by_user = w.trail(&format!("user_id={}", w.uid("xiaoshou1"))).await;
        assert!(!by_user.is_empty() && by_user.iter().all(|r| r["user_id"].as_i64() == Some(w.uid("xiaoshou1"))), "[{e}]");
        let china = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        let today = Utc::now().with_timezone(&china).date_naive();
        let yesterday = today.pred_opt().unwrap();
        assert!(!w.trail(&format!("from={today}&to={today}")).await.is_empty(), "[{e}] today (to is inclusive for a day)");
        assert!(w.trail(&format!("to={yesterday}")).await.is_empty(), "[{e}] nothing before today");
        assert!(w.trail(&format!("from={}", today.succ_opt().unwrap())).await.is_empty(), "[{e}] nothing tomorrow");
        let r = w.get("shenji1", "/api/v1/audit?from=not-a-date").await;
        assert_eq!(r.status, 400, "[{e}] a bad date is refused: {}", r.text());

        // CSV: UTF-8 with BOM, Chinese headers, one row per record, the same as the list.
        let fixed = w.head_seq().await;
        let q = format!("before_seq={}", fixed + 1);
        let listed = w.trail(&q).await;
        let r = w.get("shenji1", &format!("/api/v1/audit/export?format=csv&{q}")).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert!(r.content_type().starts_with("text/csv"), "[{e}] {}", r.content_type());
        let cd = r.headers.get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(cd.starts_with("attachment") && cd.contains(".csv"), "[{e}] {cd}");
        assert_eq!(&r.bytes[..3], b"\xEF\xBB\xBF", "[{e}] a BOM, for Excel");
        let text = String::from_utf8(r.bytes[3..].to_vec()).expect("UTF-8");
        let rows = parse_csv(&text);
        assert_eq!(rows[0], EXPORT_HEADERS, "[{e}] the Chinese header row");
        assert_eq!(rows.len() - 1, listed.len(), "[{e}] one row per record");
        for (row, rec) in rows[1..].iter().zip(&listed) {
            assert_eq!(row.len(), EXPORT_HEADERS.len(), "[{e}] {row:?}");
            assert_eq!(row[0], rec["seq"].as_i64().unwrap().to_string(), "[{e}] same order as the list");
            assert_eq!(row[3], rec["username"].as_str().unwrap(), "[{e}]");
            assert_eq!(row[8], action(rec), "[{e}]");
            assert_eq!(row[15], rec["detail"].as_str().unwrap(), "[{e}] the detail, quoted as needed");
            assert_eq!(row[17], rec["hash"].as_str().unwrap(), "[{e}]");
        }
        let failed_row = rows.iter().find(|r| r[8] == "auth.login_failed" && r[3] == "xiaoshou2").expect("the failed login in the CSV");
        assert_eq!((failed_row[9].as_str(), failed_row[14].as_str(), failed_row[6].as_str(), failed_row[7].as_str()), ("登录失败", "失败", "127.0.0.1", UA), "[{e}] {failed_row:?}");
        assert!(failed_row[1].starts_with(&today.to_string()), "[{e}] the time in China time: {failed_row:?}");

        // xlsx: a real workbook with the same cells.
        let r = w.get("shenji1", &format!("/api/v1/audit/export?format=xlsx&{q}")).await;
        assert_eq!(r.status, 200, "[{e}]");
        assert_eq!(r.content_type(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "[{e}]");
        assert_eq!(&r.bytes[..4], b"PK\x03\x04", "[{e}] a zip (xlsx) file");
        use calamine::Reader;
        let mut book: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(r.bytes.clone())).expect("open the xlsx");
        assert_eq!(book.sheet_names(), vec!["审计日志".to_string()], "[{e}]");
        let range = book.worksheet_range("审计日志").expect("the sheet");
        let cells: Vec<Vec<String>> = range.rows().map(|row| row.iter().map(|c| c.to_string()).collect()).collect();
        assert_eq!(cells.len(), rows.len(), "[{e}] as many rows as the CSV");
        for (x, c) in cells.iter().zip(&rows) {
            let x: Vec<&str> = x.iter().map(String::as_str).collect();
            let c: Vec<&str> = c.iter().map(String::as_str).collect();
            assert_eq!(x, c, "[{e}] xlsx and CSV agree");
        }
        // A filtered export holds only what the filter matches.
        let r = w.get("shenji1", "/api/v1/audit/export?format=csv&action=auth.login_failed").await;
        let rows = parse_csv(String::from_utf8_lossy(&r.bytes).trim_start_matches('\u{feff}'));
        assert!(rows.len() > 1 && rows[1..].iter().all(|r| r[8] == "auth.login_failed"), "[{e}] {rows:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. History, diff and restore through the API
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_diff_and_restore_end_to_end() {
    for s in common::servers(DEMO).await {
        let w = World::new(&s).await;
        let e = w.e();
        let v1_body = org("杭州历史版本测试有限公司", 4, "normal");
        let a = w.ok("xiaoshou1", Method::POST, "/api/v1/archives", Some(&v1_body)).await;
        let id = a["id"].as_i64().unwrap();
        let path = format!("/api/v1/archives/{id}");

        // A key-field correction without a reason is refused, naming the field `reason`.
        for (what, change) in [("name", json!({"name": "杭州历史版本测试股份有限公司"})), ("organization.uscc", json!({"organization": {"uscc": "91330106MA2H0XXX1J"}}))] {
            let mut b = v1_body.clone();
            for (k, v) in change.as_object().unwrap() {
                if k == "organization" {
                    b["organization"]["uscc"] = v["uscc"].clone();
                } else {
                    b[k] = v.clone();
                }
            }
            b["version"] = json!(1);
            for reason in [None, Some("   ")] {
                let mut b = b.clone();
                if let Some(r) = reason {
                    b["reason"] = json!(r);
                }
                let r = w.put("xiaoshou1", &path, &b).await;
                assert_eq!(r.status, 422, "[{e}] correcting {what} with reason {reason:?}: {}", r.text());
                assert!(r.is_problem(), "[{e}]");
                let errs = r.json["errors"].as_array().cloned().unwrap_or_default();
                assert!(errs.iter().any(|f| f["field"] == "reason"), "[{e}] the error names the field `reason`: {}", r.text());
            }
        }
        assert_eq!(w.ok("xiaoshou1", Method::GET, &path, None).await["version"].as_i64(), Some(1), "[{e}] nothing was saved");
        // With a reason: version 2.
        let mut b2 = v1_body.clone();
        b2["name"] = json!("杭州历史版本测试股份有限公司");
        b2["organization"]["uscc"] = json!("91330106MA2H0XXX1J");
        b2["version"] = json!(1);
        b2["reason"] = json!("工商变更登记");
        let r = w.put("xiaoshou1", &path, &b2).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert_eq!(r.json["version"].as_i64(), Some(2), "[{e}]");
        // Version 3: the mobile (no key field, no reason needed).
        let mut b3 = b2.clone();
        b3["mobile"] = json!("13912345678");
        b3["version"] = json!(2);
        b3.as_object_mut().unwrap().remove("reason");
        let r = w.put("xiaoshou1", &path, &b3).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());

        // History: newest first, who, when, why, what changed; sensitive values masked.
        let h = w.ok("xiaoshou1", Method::GET, &format!("{path}/history"), None).await;
        let h = h.as_array().unwrap();
        assert_eq!(h.iter().map(|v| v["version"].as_i64().unwrap()).collect::<Vec<_>>(), vec![3, 2, 1], "[{e}] newest first");
        let paths = |v: &Value| v["changes"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap().to_string()).collect::<BTreeSet<_>>();
        assert_eq!(paths(&h[0]), set(&["mobile"]), "[{e}] v3 changed the mobile: {}", h[0]);
        assert_eq!(paths(&h[1]), set(&["name", "organization.uscc"]), "[{e}] v2 changed name and credit code: {}", h[1]);
        assert!(h[2]["changes"].as_array().unwrap().is_empty(), "[{e}] v1 is the first");
        assert_eq!(h[1]["reason"], "工商变更登记", "[{e}]");
        assert_eq!(h[1]["changed_by"].as_i64(), Some(w.uid("xiaoshou1")), "[{e}]");
        let mobile = &h[0]["changes"][0];
        assert_eq!((mobile["before"].as_str(), mobile["after"].as_str()), (Some("138****0004"), Some("139****5678")), "[{e}] masked in the diff: {mobile}");
        let name = h[1]["changes"].as_array().unwrap().iter().find(|c| c["path"] == "name").unwrap();
        assert_eq!((name["before"].as_str(), name["after"].as_str()), (Some("杭州历史版本测试有限公司"), Some("杭州历史版本测试股份有限公司")), "[{e}] {name}");
        let htext = serde_json::to_string(h).unwrap();
        assert!(!htext.contains("13820000004") && !htext.contains("13912345678"), "[{e}] no phone number in clear in the history: {htext}");
        // Viewing the history is recorded.
        w.find("archive.versions", Some("xiaoshou1"), 0, |r| r["archive_id"].as_i64() == Some(id)).await;

        // Diff between any two versions, either way round.
        let d = w.ok("xiaoshou1", Method::GET, &format!("{path}/diff?from=1&to=3"), None).await;
        let dp: BTreeSet<String> = d.as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap().to_string()).collect();
        assert_eq!(dp, set(&["mobile", "name", "organization.uscc"]), "[{e}] {d}");
        assert!(!d.to_string().contains("13912345678"), "[{e}] masked: {d}");
        let back = w.ok("xiaoshou1", Method::GET, &format!("{path}/diff?from=3&to=1"), None).await;
        let uscc = back.as_array().unwrap().iter().find(|c| c["path"] == "organization.uscc").unwrap();
        assert_eq!((uscc["before"].as_str(), uscc["after"].as_str()), (Some("91330106MA2H0XXX1J"), Some("91350100M000100Y43")), "[{e}] reversed: {uscc}");
        assert_eq!(w.get("xiaoshou1", &format!("{path}/diff?from=1&to=99")).await.status, 404, "[{e}] an unknown version");
        // Someone who may not read the archive sees no history or diff.
        assert_eq!(w.get("xiaoshou3", &format!("{path}/history")).await.status, 403, "[{e}]");
        assert_eq!(w.get("xiaoshou3", &format!("{path}/diff?from=1&to=2")).await.status, 403, "[{e}]");

        // Restore: needs a reason and the right to edit; makes version 4 equal to version 1.
        let r = w.post("xiaoshou1", &format!("{path}/restore"), &json!({"version": 1, "reason": "  "})).await;
        assert_eq!(r.status, 422, "[{e}] a restore without a reason: {}", r.text());
        assert!(r.json["errors"].as_array().is_some_and(|v| v.iter().any(|f| f["field"] == "reason")), "[{e}] {}", r.text());
        let r = w.post("jingli1", &format!("{path}/restore"), &json!({"version": 1, "reason": "经理恢复"})).await;
        assert_eq!(r.status, 403, "[{e}] the manager reads but does not edit a personal archive: {}", r.text());
        let r = w.post("xiaoshou1", &format!("{path}/restore"), &json!({"version": 99, "reason": "不存在"})).await;
        assert_eq!(r.status, 404, "[{e}] {}", r.text());
        assert_eq!(w.ok("xiaoshou1", Method::GET, &path, None).await["version"].as_i64(), Some(3), "[{e}] the refused restores wrote nothing");
        let before = w.head_seq().await;
        let r = w.post("xiaoshou1", &format!("{path}/restore"), &json!({"version": 1, "reason": "更正有误，恢复原登记"})).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert_eq!(r.json["version"].as_i64(), Some(4), "[{e}] a new version, nothing overwritten");
        let now = w.ok("xiaoshou1", Method::GET, &format!("{path}?unmasked=true"), None).await;
        assert_eq!((now["name"].as_str(), now["organization"]["uscc"].as_str(), now["mobile"].as_str()), (Some("杭州历史版本测试有限公司"), Some("91350100M000100Y43"), Some("13820000004")), "[{e}] {now}");
        let d = w.ok("xiaoshou1", Method::GET, &format!("{path}/diff?from=1&to=4"), None).await;
        assert_eq!(d, json!([]), "[{e}] version 4 has version 1's content");
        let versions = w.ok("xiaoshou1", Method::GET, &format!("{path}/versions"), None).await;
        let vs = versions.as_array().unwrap();
        assert_eq!(vs.len(), 4, "[{e}] all four versions kept");
        assert_eq!(vs[0]["data"], vs[3]["data"], "[{e}] v1 and v4 hold the same document");
        assert_eq!(vs[2]["data"]["name"], "杭州历史版本测试股份有限公司", "[{e}] v3 is kept as it was");
        let h = w.ok("xiaoshou1", Method::GET, &format!("{path}/history"), None).await;
        assert_eq!(h[0]["version"].as_i64(), Some(4), "[{e}]");
        let reason = h[0]["reason"].as_str().unwrap_or("");
        assert!(reason.contains("恢复到版本 1") && reason.contains("更正有误，恢复原登记"), "[{e}] the restore's reason: {reason:?}");
        assert_eq!(paths(&h[0]), set(&["mobile", "name", "organization.uscc"]), "[{e}] {}", h[0]);
        let rec = w.find("archive.restore", Some("xiaoshou1"), before, |r| r["archive_id"].as_i64() == Some(id)).await;
        assert_eq!(fields(&rec), set(&["mobile", "name", "organization.uscc"]), "[{e}] {rec}");
        assert_eq!(detail(&rec)["from_version"].as_i64(), Some(3), "[{e}] {rec}");
        assert!(!rec.to_string().contains("13820000004"), "[{e}] the trail holds no sensitive values: {rec}");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. `dangan audit verify` and `dangan audit head` on the server's data
// ---------------------------------------------------------------------------------------------

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn dangan(s: &TestServer, args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_dangan"))
        .args(args)
        .env("DANGAN_DATA_DIR", &s.data_dir)
        .env("DANGAN_DATABASE_URL", s.database_url().unwrap_or_default())
        .env("DANGAN_LOG", "warn")
        .output()
        .expect("run dangan");
    Out { code: out.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&out.stdout).into_owned(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

/// SQL run directly on the server's database (as someone with access to it would).
async fn raw_sql(s: &TestServer, sqlite: &str, postgres: &str) {
    match s.engine {
        Engine::Sqlite => {
            let (path, sql) = (s.data_dir.join("dangan.db"), sqlite.to_string());
            tokio::task::spawn_blocking(move || {
                let c = rusqlite::Connection::open(&path).expect("open the SQLite file");
                c.busy_timeout(std::time::Duration::from_secs(10)).unwrap();
                c.execute_batch(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            })
            .await
            .unwrap();
        }
        Engine::Postgres => {
            let url = s.database_url().unwrap();
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect");
            let task = tokio::spawn(conn);
            client.batch_execute(postgres).await.unwrap_or_else(|e| panic!("{postgres}: {e:?}"));
            drop(client);
            let _ = task.await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_audit_verify_detects_tampering() {
    for s in common::servers(DEMO).await {
        let w = World::new(&s).await;
        let e = w.e();
        let a = w.ok("xiaoshou1", Method::POST, "/api/v1/archives", Some(&org("杭州命令行校验测试有限公司", 5, "normal"))).await;
        let id = a["id"].as_i64().unwrap();
        for _ in 0..3 {
            w.ok("xiaoshou1", Method::GET, &format!("/api/v1/archives/{id}"), None).await;
        }

        // Intact: exit 0, the count and the head.
        let out = dangan(&s, &["audit", "verify"]);
        assert_eq!(out.code, 0, "[{e}] verify on an intact chain: {}\n{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("审计日志完整") && out.stdout.contains("intact"), "[{e}] {}", out.stdout);
        let n = w.head_seq().await;
        assert!(out.stdout.contains(&format!("checked {n} records")), "[{e}] {n} records: {}", out.stdout);

        // Export the head (as the server does daily): a line `seq hash time` in audit-heads/.
        let out = dangan(&s, &["audit", "head"]);
        assert_eq!(out.code, 0, "[{e}] {}", out.stderr);
        let line = out.stdout.trim().to_string();
        let head = dangan_core::audit::AuditHead::parse_line(&line).unwrap_or_else(|| panic!("[{e}] not a head line: {line:?}"));
        assert_eq!(head.seq, n, "[{e}]");
        let heads_dir = s.data_dir.join("audit-heads");
        let files: Vec<_> = std::fs::read_dir(&heads_dir).expect("audit-heads/").filter_map(|f| f.ok()).collect();
        assert_eq!(files.len(), 1, "[{e}]");
        let copy = std::env::temp_dir().join(format!("dangan-audit-head-{}-{:?}.txt", std::process::id(), s.engine));
        std::fs::write(&copy, format!("{line}\n")).unwrap();
        let out = dangan(&s, &["audit", "verify", "--head", copy.to_str().unwrap()]);
        assert_eq!(out.code, 0, "[{e}] with the exported heads: {}\n{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("2 exported heads"), "[{e}] the file in audit-heads/ and --head compared: {}", out.stdout);

        // With the trigger still there, an UPDATE is refused.
        let refused = match s.engine {
            Engine::Sqlite => {
                let path = s.data_dir.join("dangan.db");
                tokio::task::spawn_blocking(move || rusqlite::Connection::open(&path).unwrap().execute_batch("UPDATE audit_log SET username = 'x' WHERE seq = 3").err().map(|e| e.to_string()))
                    .await
                    .unwrap()
            }
            Engine::Postgres => {
                let (client, conn) = tokio_postgres::connect(&s.database_url().unwrap(), tokio_postgres::NoTls).await.unwrap();
                let t = tokio::spawn(conn);
                let r = client.batch_execute("UPDATE audit_log SET username = 'x' WHERE seq = 3").await.err().map(|e| format!("{e:?}"));
                drop(client);
                let _ = t.await;
                r
            }
        };
        assert!(refused.as_deref().is_some_and(|m| m.contains("append-only")), "[{e}] the trigger refuses: {refused:?}");

        // Tampered: drop/disable the guard, alter one record → exit 2, naming it.
        let original = s.app.store.audit_chain(1, 100_000).await.unwrap();
        assert_eq!(original.len() as i64, n, "[{e}]");
        let k = n - 2;
        raw_sql(
            &s,
            &format!("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; UPDATE audit_log SET username = 'someone-else' WHERE seq = {k};"),
            &format!("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change; UPDATE audit_log SET username = 'someone-else' WHERE seq = {k};"),
        )
        .await;
        let out = dangan(&s, &["audit", "verify"]);
        assert_eq!(out.code, 2, "[{e}] verify after altering record {k}: {}\n{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(&format!("record {k} was modified")) && out.stderr.contains(&format!("第 {k} 条记录被篡改")), "[{e}] names record {k}: {}", out.stderr);
        assert!(out.stderr.contains("THE AUDIT TRAIL IS BROKEN"), "[{e}] {}", out.stderr);

        // Put back, then delete a record → exit 2, naming the gap.
        let user_k = original[k as usize - 1].event.username.replace('\'', "''");
        raw_sql(&s, &format!("UPDATE audit_log SET username = '{user_k}' WHERE seq = {k};"), &format!("UPDATE audit_log SET username = '{user_k}' WHERE seq = {k};")).await;
        let out = dangan(&s, &["audit", "verify"]);
        assert_eq!(out.code, 0, "[{e}] put back: {}\n{}", out.stdout, out.stderr);
        raw_sql(&s, "DELETE FROM audit_log WHERE seq = 4;", "DELETE FROM audit_log WHERE seq = 4;").await;
        let out = dangan(&s, &["audit", "verify"]);
        assert_eq!(out.code, 2, "[{e}] verify after deleting record 4: {}\n{}", out.stdout, out.stderr);
        assert!(out.stderr.contains("missing before 5: expected 4"), "[{e}] names the gap: {}", out.stderr);

        // Rewrite the whole chain consistently (every hash recomputed) after altering record 2:
        // the chain verifies by itself; the exported heads show the rewrite.
        let mut events: Vec<dangan_core::audit::AuditEvent> = original.iter().filter(|r| r.seq != 4).map(|r| r.event.clone()).collect();
        events[1].username = "改写者".into();
        let rewritten = dangan_core::audit::chain(0, dangan_core::audit::GENESIS_HASH, events);
        let mut sqlite = String::from("DELETE FROM audit_log;");
        let mut pg = String::from("DELETE FROM audit_log;");
        let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let n_ = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_else(|| "NULL".into());
        for r in &rewritten {
            let ev = &r.event;
            let rest = format!(
                "{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}",
                n_(ev.user_id),
                q(&ev.username),
                q(&ev.roles),
                n_(ev.dept_id),
                q(&ev.client_addr),
                q(&ev.user_agent),
                q(ev.action.code()),
                n_(ev.archive_id),
                q(&ev.archive_no),
                q(&ev.fields),
                q(&ev.basis),
                q(ev.outcome.as_str()),
                q(&ev.detail),
                q(&r.prev_hash),
                q(&r.hash)
            );
            let cols = "seq, at, user_id, username, roles, dept_id, client_addr, user_agent, action, archive_id, archive_no, fields, basis, outcome, detail, prev_hash, hash";
            sqlite.push_str(&format!("INSERT INTO audit_log ({cols}) VALUES ({}, {}, {rest});", r.seq, ev.at.timestamp_micros()));
            pg.push_str(&format!("INSERT INTO audit_log ({cols}) VALUES ({}, '{}'::timestamptz, {rest});", r.seq, ev.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
        }
        raw_sql(&s, &sqlite, &pg).await;
        let report = s.app.verify_audit(&[]).await.unwrap();
        assert_eq!(report.problem, None, "[{e}] the rewritten chain is consistent in itself");
        std::fs::remove_dir_all(&heads_dir).unwrap();
        let out = dangan(&s, &["audit", "verify"]);
        assert_eq!(out.code, 0, "[{e}] without any exported head the rewrite cannot be seen: {}\n{}", out.stdout, out.stderr);
        let out = dangan(&s, &["audit", "verify", "--head", copy.to_str().unwrap()]);
        assert_eq!(out.code, 2, "[{e}] with the exported head: {}\n{}", out.stdout, out.stderr);
        assert!(out.stderr.contains(&format!("(record {}) is not in the chain", head.seq)), "[{e}] names the head: {}", out.stderr);
        let _ = std::fs::remove_file(&copy);
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Smaller points of the record format
// ---------------------------------------------------------------------------------------------

/// `/api/v1/audit?action=archive.read` filters by the action code, the CSV export's 操作代码
/// column holds the code, and `dangan_core::audit::AuditAction::code` is what is stored and
/// hashed: the JSON records should carry the same code, so that a client can filter by what it
/// reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_records_name_actions_by_their_code() {
    for s in common::servers(0).await {
        let token = s.admin_token().await;
        let r = send(reqwest::Client::new().get(s.url("/api/v1/audit?action=auth.login&limit=5")).bearer_auth(&token)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let recs = r.json.as_array().expect("records").clone();
        assert!(!recs.is_empty(), "[{:?}] the admin's login is recorded", s.engine);
        for rec in &recs {
            assert_eq!(rec["action"], "auth.login", "[{:?}] a record found with action=auth.login says action {}: {rec}", s.engine, rec["action"]);
        }
    }
}

/// A user agent with non-ASCII characters (some Chinese clients send them) is still recorded,
/// not dropped to "".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_ascii_user_agent_is_recorded() {
    for s in common::servers(0).await {
        let ua = "Mozilla/5.0 DanganAuditTest/1.0 (审计测试)";
        let c = Client::builder().user_agent(ua).build().expect("client");
        let r = send(c.post(s.url("/api/v1/auth/login")).json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))).await;
        assert_eq!(r.status, 200);
        let head = s.app.store.audit_head().await.unwrap().expect("the login record");
        assert_eq!(head.event.action, dangan_core::audit::AuditAction::Login);
        assert!(
            head.event.user_agent.starts_with("Mozilla/5.0 DanganAuditTest/1.0"),
            "[{:?}] the user agent {ua:?} is recorded (lossily if need be), got {:?}",
            s.engine,
            head.event.user_agent
        );
    }
}
