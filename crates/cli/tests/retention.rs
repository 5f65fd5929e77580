mod common;

// Retention, legal hold, destruction and personal-information requests end to end, through
// HTTP, on SQLite and PostgreSQL (the demo company's users; password common::ADMIN_PASSWORD):
// closing sets the trigger, the due list, legal hold blocking filing and execution, the chain
// (nobody approves their own request), the witness carrying it out, the purge checked in the
// store and on disk (a file another archive shares stays), the tombstone, the register PDF, the
// audit trail; consents (guardian, explicit), requests with due dates, copy = package, delete
// through the destruction machinery, keep with a legal basis.

use common::{send, Resp, TestServer};
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
        for u in ["xiaoshou1", "dangan1", "zongjingli", "kefu1", "shenji1"] {
            tokens.insert(u, s.token(u, common::ADMIN_PASSWORD).await);
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
    async fn ok(&self, who: &str, path: &str, body: Value) -> Value {
        let r = self.post(who, path, body.clone()).await;
        assert!(r.status == 200 || r.status == 201, "[{}] {who} POST {path} {body}: {} {}", self.e(), r.status, r.text());
        r.json
    }
    async fn refused(&self, who: &str, path: &str, body: Value, status: u16, kind: &str) {
        let r = self.post(who, path, body.clone()).await;
        assert_eq!(r.status, status, "[{}] {who} POST {path} {body}: {}", self.e(), r.text());
        if !kind.is_empty() {
            assert!(r.problem_type().ends_with(&format!("/{kind}")), "[{}] {who} POST {path}: expected {kind}, got {}", self.e(), r.text());
        }
    }
    async fn upload(&self, who: &str, id: i64, bytes: &[u8], name: &str) -> Value {
        let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()));
        let r = send(self.c.post(self.s.url(&format!("/api/v1/archives/{id}/attachments"))).bearer_auth(&self.tokens[who]).multipart(form)).await;
        assert_eq!(r.status, 201, "[{}] upload: {}", self.e(), r.text());
        r.json
    }
    async fn count(&self, who: &str, q: &str) -> i64 {
        let r = self.get(who, &format!("/api/v1/archives?q={}&count=true", enc(q))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json["total"].as_i64().unwrap()
    }
    async fn due_ids(&self, who: &str) -> Vec<i64> {
        let r = self.get(who, "/api/v1/retention/due?limit=500").await;
        assert_eq!(r.status, 200, "[{}] {}", self.e(), r.text());
        r.json["items"].as_array().unwrap().iter().map(|i| i["archive"]["id"].as_i64().unwrap()).collect()
    }
    async fn user_id(&self, username: &str) -> i64 {
        self.s.app.store.list_users().await.unwrap().into_iter().find(|u| u.username == username).unwrap().id
    }
    /// Creates a person archive as xiaoshou1 and closes it; returns (id, number).
    async fn closed_person(&self, name: &str, mobile: &str) -> (i64, String) {
        let r = self.post("xiaoshou1", "/api/v1/archives", json!({"kind": "person", "name": name, "mobile": mobile, "retention_class": "10y", "confirm_duplicates": true})).await;
        assert_eq!(r.status, 201, "[{}] {}", self.e(), r.text());
        let id = r.json["id"].as_i64().unwrap();
        let mut body = r.json.clone();
        body["status"] = json!("closed");
        body["confirm_duplicates"] = json!(true);
        let r = self.call("xiaoshou1", Method::PUT, &format!("/api/v1/archives/{id}"), Some(&body)).await;
        assert_eq!(r.status, 200, "[{}] close: {}", self.e(), r.text());
        (id, r.json["archive_no"].as_str().unwrap().to_string())
    }
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn today() -> chrono::NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_hold_destruction_and_pipl() {
    for s in common::servers(DEMO).await {
        let w = W::new(&s).await;
        let e = w.e();
        let kefu = w.user_id("kefu1").await;
        let dangan = w.user_id("dangan1").await;

        // --- an archive with every part, closed: the trigger is recorded, due in 10 years
        let (a, a_no) = w.closed_person("销毁测试甲", "13911110001").await;
        w.ok("xiaoshou1", &format!("/api/v1/archives/{a}/contacts"), json!({"name": "甲的联系人", "mobile": "13911110002"})).await;
        w.ok("xiaoshou1", &format!("/api/v1/archives/{a}/entries"), json!({"kind": "visit", "occurred_on": "2026-01-05", "summary": "上门拜访"})).await;
        let shared = b"%PDF-1.4\n% shared by two archives\n%%EOF\n".to_vec();
        let own = b"%PDF-1.4\n% only archive A\n%%EOF\n".to_vec();
        let att_shared = w.upload("xiaoshou1", a, &shared, "合同.pdf").await;
        let att_own = w.upload("xiaoshou1", a, &own, "身份证复印件.pdf").await;
        let (b, _) = w.closed_person("保留测试乙", "13911110003").await;
        w.upload("xiaoshou1", b, &shared, "合同副本.pdf").await;
        let path_of = |sha: &str| s.app.attachment_path(sha);
        let (shared_path, own_path) = (path_of(att_shared["sha256"].as_str().unwrap()), path_of(att_own["sha256"].as_str().unwrap()));
        assert!(shared_path.exists() && own_path.exists(), "[{e}] attachment files written");

        let r = w.get("xiaoshou1", &format!("/api/v1/archives/{a}/retention")).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert!(r.json["closed_at"].is_string(), "[{e}] closing recorded: {}", r.json);
        let due: chrono::NaiveDate = r.json["due_on"].as_str().unwrap().parse().unwrap();
        assert!(due > today() + chrono::Duration::days(3600), "[{e}] due in 10 years: {due}");
        assert!(!w.due_ids("dangan1").await.contains(&a), "[{e}] not due yet");
        w.refused("dangan1", "/api/v1/destructions", json!({"archive_ids": [a], "reason": "期满", "appraisal": "无价值", "witness_id": kefu}), 409, "not-due").await;

        // --- the archivist records the paper file's real closing date: due in 2020
        w.refused("xiaoshou1", &format!("/api/v1/archives/{a}/closed-on"), json!({"closed_on": "2010-03-01"}), 403, "").await;
        let info = w.ok("dangan1", &format!("/api/v1/archives/{a}/closed-on"), json!({"closed_on": "2010-03-01"})).await;
        assert_eq!(info["due_on"], "2020-03-01", "[{e}] {info}");
        w.ok("dangan1", &format!("/api/v1/archives/{b}/closed-on"), json!({"closed_on": "2010-03-01"})).await;
        assert!(w.due_ids("dangan1").await.contains(&a), "[{e}] due now");
        assert!(w.due_ids("shenji1").await.contains(&a), "[{e}] the auditor reads the list");
        assert_eq!(w.get("xiaoshou1", "/api/v1/retention/due").await.status, 403, "[{e}] a salesperson does not");
        // Permanent archives never fall due: make B permanent, it leaves the list.
        let bj = w.get("xiaoshou1", &format!("/api/v1/archives/{b}")).await.json;
        let mut body = bj.clone();
        body["retention_class"] = json!("permanent");
        body["confirm_duplicates"] = json!(true);
        let r = w.call("xiaoshou1", Method::PUT, &format!("/api/v1/archives/{b}"), Some(&body)).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert!(!w.due_ids("dangan1").await.contains(&b), "[{e}] permanent: never due");
        // A custom period on a permanent archive is refused.
        body["version"] = r.json["version"].clone();
        body["retention_years"] = json!(5);
        let r = w.call("xiaoshou1", Method::PUT, &format!("/api/v1/archives/{b}"), Some(&body)).await;
        assert_eq!(r.status, 422, "[{e}] {}", r.text());

        // --- legal hold: off the list, filing refused; clearing needs a reason
        w.refused("xiaoshou1", &format!("/api/v1/archives/{a}/legal-hold"), json!({"hold": true, "reason": "诉讼"}), 403, "").await;
        w.refused("dangan1", &format!("/api/v1/archives/{a}/legal-hold"), json!({"hold": true, "reason": " "}), 422, "").await;
        let info = w.ok("dangan1", &format!("/api/v1/archives/{a}/legal-hold"), json!({"hold": true, "reason": "（2026）浙01民初123号诉讼保全"})).await;
        assert_eq!(info["legal_hold"]["reason"], "（2026）浙01民初123号诉讼保全", "[{e}] {info}");
        assert!(!w.due_ids("dangan1").await.contains(&a), "[{e}] held: off the list");
        w.refused("dangan1", "/api/v1/destructions", json!({"archive_ids": [a], "reason": "期满", "appraisal": "无价值", "witness_id": kefu}), 409, "legal-hold").await;
        w.ok("zongjingli", &format!("/api/v1/archives/{a}/legal-hold"), json!({"hold": false, "reason": "诉讼已结案"})).await;
        assert!(w.due_ids("dangan1").await.contains(&a), "[{e}] back on the list");

        // --- appraisal and request: the witness is not the requester; the chain skips the archivist's own step
        w.refused("dangan1", "/api/v1/destructions", json!({"archive_ids": [a], "reason": "期满", "appraisal": "无价值", "witness_id": dangan}), 409, "witness").await;
        w.refused("xiaoshou1", "/api/v1/destructions", json!({"archive_ids": [a], "reason": "期满", "appraisal": "无价值", "witness_id": kefu}), 403, "").await;
        let req = w.ok("dangan1", "/api/v1/destructions", json!({"archive_ids": [a], "reason": "保管期限已满", "appraisal": "经鉴定无继续保存价值", "witness_id": kefu})).await;
        let rid = req["id"].as_i64().unwrap();
        assert_eq!(req["status"], "pending");
        assert_eq!(req["chain"], json!(["general_manager"]), "[{e}] the archivist's own step goes up: {req}");
        assert_eq!(req["items"][0]["name"], "销毁测试甲");
        w.refused("dangan1", "/api/v1/destructions", json!({"archive_ids": [a], "reason": "期满", "appraisal": "无价值", "witness_id": kefu}), 409, "in-request").await;
        // A merge would change what the approvers appraised: refused either way while the request is open.
        let (m, _) = w.closed_person("合并测试丁", "13911110005").await;
        w.refused("xiaoshou1", &format!("/api/v1/archives/{a}/merge"), json!({"merged_id": m, "reason": "同一客户"}), 409, "destruction-pending").await;
        w.refused("xiaoshou1", &format!("/api/v1/archives/{m}/merge"), json!({"merged_id": a, "reason": "同一客户"}), 409, "destruction-pending").await;
        // A held archive is not merged away (its content would leave it).
        w.ok("dangan1", &format!("/api/v1/archives/{m}/legal-hold"), json!({"hold": true, "reason": "诉讼"})).await;
        w.refused("xiaoshou1", &format!("/api/v1/archives/{b}/merge"), json!({"merged_id": m, "reason": "同一客户"}), 409, "legal-hold").await;
        // Checklist marks of A (a tick with a note, a tagged scan): purged with A below.
        let r = w.post("dangan1", &format!("/api/v1/archives/{a}/checklists/person_basic/items/id_copy/marks"), json!({"action": "received", "note": "销毁测试甲 身份证原件"})).await;
        assert!(r.status == 200 || r.status == 201, "[{e}] mark: {}", r.text());
        let due = w.get("dangan1", "/api/v1/retention/due").await.json;
        let row = due["items"].as_array().unwrap().iter().find(|i| i["archive"]["id"] == a).unwrap().clone();
        assert_eq!(row["open_destruction_id"], rid, "[{e}] the list names the open request");

        // --- steps: witness too early, own decision, a stranger; the general manager approves
        w.refused("kefu1", &format!("/api/v1/destructions/{rid}/witness"), json!({}), 409, "not-approved").await;
        w.refused("dangan1", &format!("/api/v1/destructions/{rid}/decision"), json!({"approved": true}), 409, "own-request").await;
        let r = w.post("xiaoshou1", &format!("/api/v1/destructions/{rid}/decision"), json!({"approved": true})).await;
        assert!(r.status == 403 || r.status == 404, "[{e}] a salesperson cannot decide: {}", r.text());
        w.refused("zongjingli", &format!("/api/v1/destructions/{rid}/decision"), json!({"approved": false, "comment": ""}), 422, "").await;
        let req = w.ok("zongjingli", &format!("/api/v1/destructions/{rid}/decision"), json!({"approved": true, "comment": "同意销毁"})).await;
        assert_eq!(req["status"], "approved", "[{e}] {req}");
        w.refused("zongjingli", &format!("/api/v1/destructions/{rid}/decision"), json!({"approved": true}), 409, "").await;

        // --- a hold placed after approval blocks the witness; only the named witness confirms
        w.ok("dangan1", &format!("/api/v1/archives/{a}/legal-hold"), json!({"hold": true, "reason": "税务稽查"})).await;
        w.refused("kefu1", &format!("/api/v1/destructions/{rid}/witness"), json!({}), 409, "legal-hold").await;
        w.ok("dangan1", &format!("/api/v1/archives/{a}/legal-hold"), json!({"hold": false, "reason": "稽查结束"})).await;
        w.refused("dangan1", &format!("/api/v1/destructions/{rid}/witness"), json!({}), 409, "not-witness").await;
        assert_eq!(w.count("xiaoshou1", "销毁测试甲").await, 1, "[{e}] still there before the witness");
        let req = w.ok("kefu1", &format!("/api/v1/destructions/{rid}/witness"), json!({})).await;
        assert_eq!(req["status"], "destroyed", "[{e}] {req}");
        let register_no = req["register_no"].as_str().unwrap().to_string();
        assert!(register_no.starts_with("XH-"), "[{e}] {register_no}");
        assert_eq!(req["items"][0]["name"], "", "[{e}] the register line keeps no name");

        // --- purged: database, search, attachment files (the shared one stays), dedup keys
        let st = &s.app.store;
        assert!(st.list_contacts(a).await.unwrap().is_empty(), "[{e}] contacts purged");
        assert!(st.list_entries(a).await.unwrap().is_empty(), "[{e}] timeline purged");
        assert!(st.list_attachments(a).await.unwrap().is_empty(), "[{e}] attachment rows purged");
        assert!(st.dedup_keys(a).await.unwrap().is_empty(), "[{e}] duplicate keys purged");
        assert!(st.checklist_marks(&[a]).await.unwrap().is_empty(), "[{e}] checklist marks purged");
        let versions = st.list_versions(a).await.unwrap();
        assert_eq!(versions.len(), 1, "[{e}] only the tombstone document remains");
        let tomb = st.get_archive(a).await.unwrap().unwrap();
        assert_eq!(tomb.archive_no, a_no);
        assert_eq!(tomb.data.name, "", "[{e}] name blanked");
        assert!(tomb.data.mobile.is_none() && tomb.destroyed_at.is_some(), "[{e}] {tomb:?}");
        assert!(!own_path.exists(), "[{e}] the archive's own file is deleted");
        assert!(shared_path.exists(), "[{e}] a file another archive uses stays");
        assert_eq!(w.count("dangan1", "销毁测试甲").await, 0, "[{e}] out of search");
        assert_eq!(w.count("dangan1", "13911110001").await, 0, "[{e}] phone out of search");
        assert_eq!(w.count("dangan1", &a_no).await, 0, "[{e}] out of lists");
        let r = w.get("xiaoshou1", &format!("/api/v1/archives/{a}")).await;
        assert_eq!(r.status, 409, "[{e}] a destroyed archive is not read: {}", r.text());
        assert!(r.problem_type().ends_with("/destroyed"), "[{e}] {}", r.text());
        assert_eq!(w.post("xiaoshou1", &format!("/api/v1/archives/{a}/entries"), json!({"kind": "visit", "occurred_on": "2026-01-05", "summary": "x"})).await.status, 409);
        let info = w.get("dangan1", &format!("/api/v1/archives/{a}/retention")).await.json;
        assert_eq!(info["register_no"], register_no.as_str(), "[{e}] the tombstone names its register entry: {info}");
        assert!(info["destroyed_at"].is_string());

        // --- the register: listed, printable (audited), and the trail has every step
        let reg = w.get("shenji1", "/api/v1/destructions?status=destroyed").await;
        assert_eq!(reg.status, 200);
        assert!(reg.json.as_array().unwrap().iter().any(|r| r["id"] == rid), "[{e}] {}", reg.text());
        let pdf = send(w.c.get(s.url(&format!("/api/v1/destructions/{rid}/register.pdf"))).bearer_auth(&w.tokens["dangan1"])).await;
        assert_eq!(pdf.status, 200, "[{e}] {}", pdf.text());
        assert_eq!(pdf.content_type(), "application/pdf");
        assert!(pdf.bytes.starts_with(b"%PDF"), "[{e}] a PDF");
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-artifacts/pdf");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("destruction-register-{}.pdf", e.to_lowercase())), &pdf.bytes).unwrap();
        assert_eq!(w.get("xiaoshou1", &format!("/api/v1/destructions/{rid}")).await.status, 404, "[{e}] not for a stranger");
        let trail = w.get("shenji1", &format!("/api/v1/audit?archive_id={a}&limit=200")).await;
        assert_eq!(trail.status, 200, "{}", trail.text());
        let actions: Vec<String> = trail.json.as_array().unwrap().iter().map(|r| r["action"].as_str().unwrap().to_string()).collect();
        for needed in ["retention.closed_on", "retention.hold", "retention.release", "destruction.request", "destruction.approve", "archive.destroy", "archive.create"] {
            assert!(actions.iter().any(|x| x == needed), "[{e}] trail of A lacks {needed}: {actions:?}");
        }
        let trail = w.get("shenji1", "/api/v1/audit?action=destruction.execute&limit=10").await;
        assert!(trail.json.as_array().unwrap().iter().any(|r| r["detail"].as_str().unwrap_or("").contains(&register_no)), "[{e}] {}", trail.text());
        let trail_text = w.get("shenji1", &format!("/api/v1/audit?archive_id={a}&limit=200")).await.text();
        assert!(!trail_text.contains("13911110001"), "[{e}] the trail holds no purged phone");

        // --- consents: a child needs a guardian, health data explicit consent; withdraw once
        let (c_id, c_no) = w.closed_person("儿童学员丙", "13911110004").await;
        let child = json!({"subject_name": "小丙", "purpose": "课程服务", "scope": "姓名、年龄、上课记录", "subject_birth_date": "2018-05-01", "given_on": "2026-03-01"});
        w.refused("xiaoshou1", &format!("/api/v1/archives/{c_id}/consents"), child.clone(), 422, "invalid").await;
        let mut with_guardian = child.clone();
        with_guardian["guardian_name"] = json!("王芳");
        with_guardian["guardian_relation"] = json!("母亲");
        let consent = w.ok("xiaoshou1", &format!("/api/v1/archives/{c_id}/consents"), with_guardian).await;
        let health = json!({"subject_name": "儿童学员丙", "purpose": "护理服务", "scope": "皮肤状况", "sensitive": true, "given_on": "2026-03-01"});
        w.refused("xiaoshou1", &format!("/api/v1/archives/{c_id}/consents"), health.clone(), 422, "invalid").await;
        let mut explicit = health.clone();
        explicit["explicit"] = json!(true);
        w.ok("xiaoshou1", &format!("/api/v1/archives/{c_id}/consents"), explicit).await;
        let cid = consent["id"].as_i64().unwrap();
        let wd = w.ok("xiaoshou1", &format!("/api/v1/consents/{cid}/withdraw"), json!({})).await;
        assert_eq!(wd["withdrawn_on"], today().to_string().as_str(), "[{e}] {wd}");
        w.refused("xiaoshou1", &format!("/api/v1/consents/{cid}/withdraw"), json!({}), 409, "already-withdrawn").await;
        assert_eq!(w.get("xiaoshou1", &format!("/api/v1/archives/{c_id}/consents")).await.json.as_array().unwrap().len(), 2);

        // --- requests: due in 30 days; copy = the package; see/copy answered; delete kept or destroyed
        w.refused("xiaoshou1", "/api/v1/pipl-requests", json!({"archive_id": c_id, "kind": "copy", "subject_name": "王芳"}), 403, "").await;
        let copy = w.ok("kefu1", "/api/v1/pipl-requests", json!({"archive_id": c_id, "kind": "copy", "subject_name": "王芳", "detail": "要求复制孩子的档案", "received_on": "2026-03-02"})).await;
        assert_eq!(copy["due_on"], "2026-04-01", "[{e}] 30 days: {copy}");
        assert_eq!(copy["status"], "open");
        let copy_id = copy["id"].as_i64().unwrap();
        // The handler (service staff, no rights on the archive itself) produces the copy; the
        // request is the recorded basis.
        let zip = send(w.c.get(s.url(&format!("/api/v1/pipl-requests/{copy_id}/copy"))).bearer_auth(&w.tokens["kefu1"])).await;
        assert_eq!(zip.status, 200, "[{e}] {}", zip.text());
        assert!(zip.bytes.starts_with(b"PK"), "[{e}] a zip package");
        let export = w.get("shenji1", &format!("/api/v1/audit?archive_id={c_id}&action=archive.export&limit=5")).await;
        assert!(export.json.as_array().unwrap().iter().any(|r| r["basis"] == format!("pipl:{copy_id}").as_str()), "[{e}] {}", export.text());
        assert_eq!(w.get("xiaoshou1", &format!("/api/v1/pipl-requests/{copy_id}/copy")).await.status, 403, "[{e}] not for others");
        w.refused("kefu1", &format!("/api/v1/pipl-requests/{copy_id}/answer"), json!({"resolution": ""}), 422, "").await;
        let done = w.ok("kefu1", &format!("/api/v1/pipl-requests/{copy_id}/answer"), json!({"resolution": "已当面交付档案包"})).await;
        assert_eq!(done["status"], "done");
        let open = w.get("kefu1", "/api/v1/pipl-requests?open=true").await.json;
        assert!(!open.as_array().unwrap().iter().any(|r| r["id"] == copy_id), "[{e}] answered: not open");

        let keep = w.ok("kefu1", "/api/v1/pipl-requests", json!({"archive_id": c_id, "kind": "delete", "subject_name": "王芳"})).await;
        let keep_id = keep["id"].as_i64().unwrap();
        w.refused("kefu1", &format!("/api/v1/pipl-requests/{keep_id}/answer"), json!({"resolution": "x"}), 409, "delete-needs-decision").await;
        w.refused("kefu1", &format!("/api/v1/pipl-requests/{keep_id}/keep"), json!({"legal_basis": ""}), 422, "").await;
        let kept = w.ok("kefu1", &format!("/api/v1/pipl-requests/{keep_id}/keep"), json!({"legal_basis": "预付费合同未履行完毕，依合同和《会计法》保存"})).await;
        assert_eq!(kept["status"], "kept");
        assert!(kept["legal_basis"].as_str().unwrap().contains("会计法"));

        // Deletion through the machinery: filed by service staff, so the archivist's step stays.
        let del = w.ok("kefu1", "/api/v1/pipl-requests", json!({"archive_id": c_id, "kind": "delete", "subject_name": "王芳", "detail": "要求删除全部信息"})).await;
        let del_id = del["id"].as_i64().unwrap();
        let dreq = w.ok("kefu1", &format!("/api/v1/pipl-requests/{del_id}/delete"), json!({"witness_id": dangan})).await;
        let drid = dreq["id"].as_i64().unwrap();
        assert_eq!(dreq["chain"], json!(["archivist", "general_manager"]), "[{e}] {dreq}");
        assert_eq!(dreq["pipl_request_id"], del_id);
        assert_eq!(w.get("kefu1", &format!("/api/v1/pipl-requests/{del_id}")).await.json["status"], "deleting");
        w.refused("zongjingli", &format!("/api/v1/destructions/{drid}/decision"), json!({"approved": true}), 403, "").await;
        w.ok("dangan1", &format!("/api/v1/destructions/{drid}/decision"), json!({"approved": true, "comment": "核实身份无误"})).await;
        w.ok("zongjingli", &format!("/api/v1/destructions/{drid}/decision"), json!({"approved": true})).await;
        let done = w.ok("dangan1", &format!("/api/v1/destructions/{drid}/witness"), json!({})).await;
        assert_eq!(done["status"], "destroyed", "[{e}] {done}");
        let p = w.get("kefu1", &format!("/api/v1/pipl-requests/{del_id}")).await.json;
        assert_eq!(p["status"], "done", "[{e}] the deletion request is closed by the destruction: {p}");
        assert_eq!(p["subject_name"], "", "[{e}] the request keeps no name");
        assert!(st.list_consents(c_id).await.unwrap().is_empty(), "[{e}] consents purged");
        assert_eq!(w.count("dangan1", &c_no).await, 0);

        // An archive reopened after the appraisal is no longer due: the witness is refused.
        let (r_id, _) = w.closed_person("重新启用测试戊", "13911110006").await;
        w.ok("dangan1", &format!("/api/v1/archives/{r_id}/closed-on"), json!({"closed_on": "2010-03-01"})).await;
        let rq = w.ok("dangan1", "/api/v1/destructions", json!({"archive_ids": [r_id], "reason": "期满", "appraisal": "无价值", "witness_id": kefu})).await;
        w.ok("zongjingli", &format!("/api/v1/destructions/{}/decision", rq["id"]), json!({"approved": true})).await;
        let mut body = w.get("xiaoshou1", &format!("/api/v1/archives/{r_id}")).await.json;
        body["status"] = json!("active");
        body["confirm_duplicates"] = json!(true);
        assert_eq!(w.call("xiaoshou1", Method::PUT, &format!("/api/v1/archives/{r_id}"), Some(&body)).await.status, 200);
        w.refused("kefu1", &format!("/api/v1/destructions/{}/witness", rq["id"]), json!({}), 409, "not-due").await;
        let rq = w.ok("dangan1", &format!("/api/v1/destructions/{}/cancel", rq["id"]), json!({})).await;
        assert_eq!(rq["status"], "cancelled");
        assert_eq!(w.count("xiaoshou1", "重新启用测试戊").await, 1, "[{e}] kept");

        // A rejected deletion goes back to open.
        let (d_id, _) = w.closed_person("拒绝测试丁", "13911110005").await;
        let del = w.ok("kefu1", "/api/v1/pipl-requests", json!({"archive_id": d_id, "kind": "delete", "subject_name": "丁"})).await;
        let dreq = w.ok("kefu1", &format!("/api/v1/pipl-requests/{}/delete", del["id"]), json!({"witness_id": dangan})).await;
        w.ok("dangan1", &format!("/api/v1/destructions/{}/decision", dreq["id"]), json!({"approved": false, "comment": "身份未核实"})).await;
        assert_eq!(w.get("kefu1", &format!("/api/v1/pipl-requests/{}", del["id"])).await.json["status"], "open", "[{e}] back to open");
        assert_eq!(w.count("xiaoshou1", "拒绝测试丁").await, 1, "[{e}] nothing destroyed");

        // The API document describes it.
        let doc = w.get("xiaoshou1", "/api/openapi.json").await;
        for path in ["/api/v1/retention/due", "/api/v1/destructions/{id}/witness", "/api/v1/pipl-requests/{id}/delete", "/api/v1/archives/{id}/legal-hold"] {
            assert!(doc.json["paths"][path].is_object(), "[{e}] OpenAPI lacks {path}");
        }
    }
}
