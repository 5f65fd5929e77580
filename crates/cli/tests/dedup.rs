mod common;

// Duplicate check (查重) and merge end to end, through HTTP only, on SQLite and PostgreSQL (the
// demo company's users; password common::ADMIN_PASSWORD): 409 with candidates and reasons,
// confirmation creates (and is audited), the scope hides candidates but counts them, edits are
// checked on what they add, the scan for the archivist, merge, the merged number resolving to
// the survivor, and the audit record.

use common::{send, Resp, TestServer};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const DEMO: u64 = 20;
const USCC: &str = "91350100M000100Y43";

struct W<'a> {
    s: &'a TestServer,
    c: Client,
    tokens: std::collections::HashMap<&'static str, String>,
}

impl<'a> W<'a> {
    async fn new(s: &'a TestServer) -> W<'a> {
        let mut tokens = std::collections::HashMap::new();
        for u in ["xiaoshou1", "xiaoshou3", "dangan1", "zongjingli"] {
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
    async fn created(&self, who: &str, body: Value) -> Value {
        let r = self.post(who, "/api/v1/archives", body.clone()).await;
        assert_eq!(r.status, 201, "[{}] {who} creates {}: {}", self.e(), body["name"], r.text());
        r.json
    }
    async fn count(&self, who: &str, q: &str) -> i64 {
        let r = self.get(who, &format!("/api/v1/archives?q={}&count=true", enc(q))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json["total"].as_i64().unwrap()
    }
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn reasons(c: &Value) -> Vec<String> {
    c["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_check_scan_and_merge() {
    for s in common::servers(DEMO).await {
        let w = W::new(&s).await;
        let e = w.e();

        // --- create: the first is saved, a likely duplicate is refused with 409 and the candidates
        let a = w.created("xiaoshou1", json!({"kind": "organization", "name": "杭州琉璃坊陶艺有限公司", "organization": {"uscc": USCC}, "mobile": "19912340001"})).await;
        let a_id = a["id"].as_i64().unwrap();
        let a_no = a["archive_no"].as_str().unwrap().to_string();
        let body = json!({"kind": "organization", "name": "琉璃坊陶艺（杭州）有限责任公司"});
        let r = w.post("xiaoshou1", "/api/v1/archives", body.clone()).await;
        assert_eq!(r.status, 409, "[{e}] {}", r.text());
        assert!(r.is_problem(), "[{e}] problem+json: {}", r.content_type());
        assert!(r.problem_type().ends_with("/possible-duplicates"), "[{e}] {}", r.text());
        let cands = r.json["candidates"].as_array().unwrap();
        assert_eq!(cands.len(), 1, "[{e}] {}", r.text());
        assert_eq!(cands[0]["archive_id"], a_id);
        assert_eq!(cands[0]["archive_no"], a_no.as_str());
        assert_eq!(reasons(&cands[0]), vec!["same_name_same_city", "similar_name"], "[{e}] 有限责任公司 vs 有限公司, bracketed city");
        assert_eq!(cands[0]["reason_labels"][0], "同城同名");
        assert_eq!(r.json["hidden_candidates"], 0);
        assert_eq!(w.count("xiaoshou1", "琉璃坊").await, 1, "[{e}] nothing was saved");
        // English labels for an English client.
        let r = send(w.c.post(s.url("/api/v1/archives")).bearer_auth(&w.tokens["xiaoshou1"]).header("Accept-Language", "en").json(&body)).await;
        assert_eq!(r.json["candidates"][0]["reason_labels"][0], "same name in the same city", "[{e}] {}", r.text());

        // --- confirmation creates, and the trail says so
        let mut confirmed = body.clone();
        confirmed["confirm_duplicates"] = json!(true);
        let b = w.created("xiaoshou1", confirmed).await;
        let b_id = b["id"].as_i64().unwrap();
        let b_no = b["archive_no"].as_str().unwrap().to_string();
        let trail = w.get("dangan1", &format!("/api/v1/audit?action=archive.create&archive_id={b_id}")).await;
        assert_eq!(trail.status, 200, "{}", trail.text());
        let detail: Value = serde_json::from_str(trail.json[0]["detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["duplicates_confirmed"], true, "[{e}] {detail}");
        assert_eq!(detail["candidates"][0]["archive_id"], a_id);

        // --- scope: another department's salesperson sees no candidates, only how many
        let r = w.post("xiaoshou3", "/api/v1/archives", json!({"kind": "organization", "name": "琉璃坊陶艺有限公司", "organization": {"uscc": USCC}})).await;
        assert_eq!(r.status, 409, "[{e}] {}", r.text());
        assert_eq!(r.json["candidates"].as_array().unwrap().len(), 0, "[{e}] {}", r.text());
        assert_eq!(r.json["hidden_candidates"], 2, "[{e}] {}", r.text());
        assert_eq!(r.json["detail"], "另有 2 份您无权查看的疑似重复档案");

        // --- the check alone, exact reasons: mobile (全角 digits), credit code
        let r = w.post("xiaoshou1", "/api/v1/duplicates/check", json!({"kind": "person", "name": "王某", "mobile": "１９９１２３４０００１"})).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert_eq!(r.json["candidates"][0]["archive"]["id"], a_id, "[{e}] {}", r.text());
        assert_eq!(reasons(&r.json["candidates"][0])[0], "same_mobile");
        assert!(r.json["candidates"][0]["archive"]["mobile"].as_str().unwrap().contains('*'), "[{e}] the candidate's phone is masked");

        // --- edit: only what the edit adds is checked
        let d = w.created("xiaoshou1", json!({"kind": "organization", "name": "宁波海曙景泰贸易有限公司"})).await;
        let d_id = d["id"].as_i64().unwrap();
        let put = |version: i64, confirm: bool| json!({"version": version, "kind": "organization", "name": "宁波海曙景泰贸易有限公司", "organization": {"uscc": USCC}, "confirm_duplicates": confirm});
        let r = w.call("xiaoshou1", Method::PUT, &format!("/api/v1/archives/{d_id}"), Some(&put(1, false))).await;
        assert_eq!(r.status, 409, "[{e}] {}", r.text());
        assert_eq!(reasons(&r.json["candidates"][0]), vec!["same_uscc"]);
        let r = w.call("xiaoshou1", Method::PUT, &format!("/api/v1/archives/{d_id}"), Some(&put(1, true))).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        let r = w.call("xiaoshou1", Method::PUT, &format!("/api/v1/archives/{d_id}"), Some(&json!({"version": 2, "kind": "organization", "name": "宁波海曙景泰贸易有限公司", "organization": {"uscc": USCC}, "status": "active"}))).await;
        assert_eq!(r.status, 200, "[{e}] an edit that adds no key is not checked again: {}", r.text());

        // --- the scan: archivist yes, salesperson no; highest score first
        let r = w.get("xiaoshou1", "/api/v1/duplicates").await;
        assert_eq!(r.status, 403, "[{e}] {}", r.text());
        let r = w.get("dangan1", "/api/v1/duplicates?limit=200").await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        let items = r.json["items"].as_array().unwrap().clone();
        let scores: Vec<i64> = items.iter().map(|x| x["score"].as_i64().unwrap()).collect();
        assert!(scores.windows(2).all(|w| w[0] >= w[1]), "[{e}] highest first: {scores:?}");
        let has = |x: i64, y: i64| items.iter().any(|p| (p["left"]["id"] == x && p["right"]["id"] == y) || (p["left"]["id"] == y && p["right"]["id"] == x));
        assert!(has(a_id, b_id) && has(a_id, d_id), "[{e}] {items:?}");
        let ad = items.iter().find(|p| p["left"]["id"] == a_id && p["right"]["id"] == d_id).unwrap();
        assert_eq!(ad["score"], 100);
        assert_eq!(ad["reason_labels"][0], "统一社会信用代码相同");
        let r = w.get("zongjingli", "/api/v1/duplicates?limit=1").await;
        assert_eq!(r.status, 200, "[{e}] the general manager may scan: {}", r.text());
        assert!(r.json["next_cursor"].is_string(), "[{e}] paged: {}", r.text());

        // --- merge B into A: B's contact and entry move; B's number resolves to A
        let r = w.post("xiaoshou1", &format!("/api/v1/archives/{b_id}/contacts"), json!({"name": "钱二", "mobile": "19912340002"})).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = w.post("xiaoshou1", &format!("/api/v1/archives/{b_id}/entries"), json!({"kind": "visit", "occurred_on": "2026-11-01", "summary": "上门拜访"})).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = w.post("xiaoshou3", &format!("/api/v1/archives/{a_id}/merge"), json!({"merged_id": b_id, "reason": "同一客户"})).await;
        assert_eq!(r.status, 404, "[{e}] who may not see the survivor cannot merge: {}", r.text());
        let r = w.post("xiaoshou1", &format!("/api/v1/archives/{a_id}/merge"), json!({"merged_id": b_id, "reason": ""})).await;
        assert_eq!(r.status, 422, "[{e}] a reason is required: {}", r.text());
        let r = w.post("xiaoshou1", &format!("/api/v1/archives/{a_id}/merge"), json!({"merged_id": b_id, "reason": "同一客户，重复建档"})).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert_eq!(r.json["archive"]["archive_no"], a_no.as_str(), "[{e}] the survivor keeps its number");
        assert_eq!(r.json["archive"]["version"], 2);
        assert_eq!((r.json["moved_contacts"].as_i64(), r.json["moved_entries"].as_i64()), (Some(1), Some(1)));
        let r = w.get("xiaoshou1", &format!("/api/v1/archives/by-number/{}", enc(&b_no))).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json["id"], a_id, "[{e}] the merged number resolves to the survivor");
        let r = w.get("xiaoshou1", &format!("/api/v1/archives/{b_id}")).await;
        assert_eq!(r.json["merged_into"], a_id, "[{e}] the tombstone says where it went: {}", r.text());
        let r = w.call("xiaoshou1", Method::PUT, &format!("/api/v1/archives/{b_id}"), Some(&json!({"version": 1, "kind": "organization", "name": "x"}))).await;
        assert_eq!(r.status, 400, "[{e}] a tombstone is not edited: {}", r.text());
        let r = w.get("xiaoshou1", &format!("/api/v1/archives/{a_id}/contacts")).await;
        assert!(r.json.as_array().unwrap().iter().any(|c| c["name"] == "钱二"), "[{e}] {}", r.text());
        let r = w.get("xiaoshou1", &format!("/api/v1/archives/{a_id}/entries")).await;
        assert!(r.json.as_array().unwrap().iter().any(|x| x["summary"] == "上门拜访"), "[{e}] {}", r.text());
        let r = w.get("xiaoshou1", &format!("/api/v1/archives/{a_id}/versions")).await;
        assert!(r.json[1]["reason"].as_str().unwrap().contains(&b_no), "[{e}] the version says what was merged: {}", r.text());
        assert_eq!(w.count("xiaoshou1", "琉璃坊").await, 1, "[{e}] the tombstone is not listed");

        // --- one audit record on the survivor
        let trail = w.get("dangan1", &format!("/api/v1/audit?action=archive.merge&archive_id={a_id}")).await;
        assert_eq!(trail.json.as_array().unwrap().len(), 1, "[{e}] {}", trail.text());
        let detail: Value = serde_json::from_str(trail.json[0]["detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["merged_no"], b_no.as_str());
        assert_eq!(detail["reason"], "同一客户，重复建档");
        assert_eq!(detail["moved"]["contacts"], 1);

        // --- after the merge the pair is gone from the scan
        let r = w.get("dangan1", "/api/v1/duplicates?limit=200").await;
        assert!(!r.json["items"].as_array().unwrap().iter().any(|p| p["left"]["id"] == b_id || p["right"]["id"] == b_id), "[{e}] {}", r.text());
    }
}

/// Speed of the batch duplicate check, as the import calls it (1,000 rows per call), on a base of
/// `DANGAN_DEDUP_BENCH_N` demo archives (default 100,000), both engines. Not a pass/fail test:
/// `cargo test -p dangan --test dedup -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn batch_check_speed() {
    let n: u64 = std::env::var("DANGAN_DEDUP_BENCH_N").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    for s in common::servers(n).await {
        let admin = s.app.store.get_user(1).await.unwrap().unwrap();
        let p = dangan_app::Principal::new(admin, false);
        let generator = dangan_core::demo::DemoGenerator::new(7, chrono::Utc::now().date_naive(), vec![(1, 1)]);
        let rows: Vec<(dangan_core::ArchiveData, Vec<dangan_core::ContactData>)> = generator.archives(0..20_000).map(|a| (a.data, a.contacts)).collect();
        let started = std::time::Instant::now();
        let mut found = 0usize;
        let mut worst = 0f64;
        for chunk in rows.chunks(1000) {
            let t = std::time::Instant::now();
            let refs: Vec<(&dangan_core::ArchiveData, &[dangan_core::ContactData])> = chunk.iter().map(|(d, c)| (d, c.as_slice())).collect();
            let checks = s.app.check_duplicates_batch(&p, &refs).await.unwrap();
            found += checks.iter().filter(|c| !c.is_empty()).count();
            worst = worst.max(t.elapsed().as_secs_f64());
        }
        let secs = started.elapsed().as_secs_f64();
        // The parts: computing the keys (pure, per row) and the one store query per batch.
        let t = std::time::Instant::now();
        let probes: Vec<Vec<String>> = rows.iter().map(|(d, c)| s.app.duplicate_keys(d, c)).collect();
        let keys_secs = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        for chunk in probes.chunks(1000) {
            s.app.store.duplicate_candidates_batch(chunk).await.unwrap();
        }
        let query_secs = t.elapsed().as_secs_f64();
        eprintln!("[{:?}] keys: {:.0} rows/s; store query alone: {:.0} rows/s ({:.1} ms per batch of 1,000)", s.engine, 20_000.0 / keys_secs, 20_000.0 / query_secs, query_secs * 50.0);
        eprintln!(
            "[{:?}] base {n}: 20,000 rows in 20 batches of 1,000: {:.2} s = {:.0} rows/s (slowest batch {:.0} ms); {found} rows with candidates",
            s.engine,
            secs,
            20_000.0 / secs,
            worst * 1000.0
        );
    }
}
