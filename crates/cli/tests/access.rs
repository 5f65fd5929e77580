mod common;

// End-to-end tests of access control (分级管理, 密级, 查阅审批) through HTTP only: every scenario
// runs on SQLite and, where reachable (required in CI), PostgreSQL, against the demo company:
//
//   总公司 HQ ── 营销中心 YX ── 销售一部 XS1, 销售二部 XS2, 客服部 KF
//            ├─ 财务部 CW, 档案室 DA, 审计部 SJ
//
// zongjingli 总经理 (HQ), fuzong 营销副总 (YX), zongjian 营销总监 (YX), jingli1 部门经理 (XS1),
// jingli2 部门经理 (XS2), xiaoshou1/2 业务员 (XS1), xiaoshou3/4 业务员 (XS2), kefu1 客服, caiwu1 财务,
// dangan1 档案管理员, shenji1 审计员; admin is 系统管理员 + 总经理 (HQ).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use common::{send, Resp, TestServer, PNG_1X1};
use reqwest::header::CONTENT_TYPE;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{json, Value};

/// Demo archives loaded besides the ones each test creates (so lists are not trivially empty).
const DEMO: u64 = 40;

const STAFF: &[&str] = &[
    "admin", "zongjingli", "fuzong", "zongjian", "jingli1", "jingli2", "xiaoshou1", "xiaoshou2", "xiaoshou3", "xiaoshou4", "kefu1", "caiwu1", "dangan1", "shenji1",
];


// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------


fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// One server with every demo user logged in.
struct World<'a> {
    s: &'a TestServer,
    c: Client,
    tokens: HashMap<String, String>,
    users: HashMap<String, i64>,
    depts: HashMap<String, i64>,
}

impl<'a> World<'a> {
    async fn new(s: &'a TestServer) -> World<'a> {
        let logins = futures::future::join_all(STAFF.iter().map(|u| async move { (u.to_string(), s.token(u, common::ADMIN_PASSWORD).await) })).await;
        let mut w = World { s, c: Client::new(), tokens: logins.into_iter().collect(), users: HashMap::new(), depts: HashMap::new() };
        let users = w.ok("admin", Method::GET, "/api/v1/users", None).await;
        w.users = users.as_array().expect("users").iter().map(|u| (u["username"].as_str().unwrap().to_string(), u["id"].as_i64().unwrap())).collect();
        let depts = w.ok("admin", Method::GET, "/api/v1/departments", None).await;
        w.depts = depts.as_array().expect("departments").iter().map(|d| (d["code"].as_str().unwrap().to_string(), d["id"].as_i64().unwrap())).collect();
        for code in ["HQ", "YX", "XS1", "XS2", "KF", "CW", "DA", "SJ"] {
            assert!(w.depts.contains_key(code), "[{}] demo department {code} missing: {depts}", w.e());
        }
        w
    }

    /// The engine, for assertion messages.
    fn e(&self) -> String {
        format!("{:?}", self.s.engine)
    }
    fn uid(&self, who: &str) -> i64 {
        *self.users.get(who).unwrap_or_else(|| panic!("no user {who}"))
    }
    fn dept(&self, code: &str) -> i64 {
        self.depts[code]
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
    /// A call that must succeed (2xx); its JSON.
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

    /// Creates an archive as `who`; the caller's body plus what the server assigned.
    async fn create(&self, who: &str, body: Value) -> Fixture {
        let r = self.post(who, "/api/v1/archives", &body).await;
        assert_eq!(r.status, 201, "[{}] {who} creates {}: {}", self.e(), body["name"], r.text());
        let a = r.json;
        assert_eq!(a["owner_id"].as_i64(), Some(self.uid(who)), "[{}] the creator owns the archive: {a}", self.e());
        let secrets = secrets_of(&body);
        Fixture {
            id: a["id"].as_i64().expect("id"),
            no: a["archive_no"].as_str().expect("archive_no").to_string(),
            owner_id: a["owner_id"].as_i64().expect("owner_id"),
            dept_id: a["dept_id"].as_i64(),
            version: a["version"].as_i64().expect("version"),
            body,
            secrets,
        }
    }

    async fn read(&self, who: &str, a: &Fixture) -> Resp {
        self.get(who, &format!("/api/v1/archives/{}", a.id)).await
    }

    /// Saves the archive again (toggling its status) as `who`, based on version `a.version`.
    async fn edit(&self, who: &str, a: &Fixture) -> Resp {
        let mut b = a.body.clone();
        b["version"] = json!(a.version);
        b["reason"] = json!(format!("{who} 测试修改"));
        b["owner_id"] = json!(a.owner_id);
        b["dept_id"] = json!(a.dept_id);
        b["status"] = json!(if a.version % 2 == 0 { "active" } else { "dormant" });
        self.call(who, Method::PUT, &format!("/api/v1/archives/{}", a.id), Some(&b)).await
    }

    /// The ids `who` sees in the list for `query`, and the `total` the server counts.
    async fn list(&self, who: &str, query: &str) -> (BTreeSet<i64>, i64) {
        let path = format!("/api/v1/archives?count=true&limit=200&{query}");
        let page = self.ok(who, Method::GET, &path, None).await;
        assert!(page["next_cursor"].is_null(), "[{}] {who}: {path} needs more than one page", self.e());
        let ids = page["items"].as_array().expect("items").iter().map(|i| i["id"].as_i64().unwrap()).collect();
        (ids, page["total"].as_i64().expect("total"))
    }
    async fn list_q(&self, who: &str, q: &str) -> (BTreeSet<i64>, i64) {
        self.list(who, &format!("q={}", urlencode(q))).await
    }

    async fn request_access(&self, who: &str, a: &Fixture, body: Value) -> Resp {
        self.post(who, &format!("/api/v1/archives/{}/access-requests", a.id), &body).await
    }
    async fn decide(&self, who: &str, request_id: i64, approve: bool, comment: &str) -> Resp {
        self.post(who, &format!("/api/v1/access-requests/{request_id}/decision"), &json!({"approve": approve, "comment": comment})).await
    }
    async fn cancel(&self, who: &str, request_id: i64) -> Resp {
        self.post(who, &format!("/api/v1/access-requests/{request_id}/cancel"), &json!({})).await
    }
    /// The request ids waiting for `who`'s decision.
    async fn inbox(&self, who: &str) -> Vec<i64> {
        let v = self.ok(who, Method::GET, "/api/v1/access-requests?view=inbox", None).await;
        v.as_array().expect("inbox").iter().map(|r| r["id"].as_i64().unwrap()).collect()
    }
    async fn grants(&self, who: &str) -> Vec<Value> {
        self.ok(who, Method::GET, "/api/v1/grants", None).await.as_array().expect("grants").clone()
    }

    /// Approves request `rid` at both steps: the archive's manager, then the general manager.
    async fn approve_both(&self, rid: i64, manager: &str) -> Value {
        let r = self.decide(manager, rid, true, "同意").await;
        assert_eq!(r.status, 200, "[{}] {manager} approves step 0: {}", self.e(), r.text());
        assert_eq!((r.json["status"].as_str(), r.json["step"].as_i64()), (Some("pending"), Some(1)), "[{}] after step 0: {}", self.e(), r.json);
        let r = self.decide("zongjingli", rid, true, "同意").await;
        assert_eq!(r.status, 200, "[{}] zongjingli approves step 1: {}", self.e(), r.text());
        assert_eq!(r.json["status"], "approved", "[{}] after step 1: {}", self.e(), r.json);
        r.json
    }
}

/// An archive a test created, and what must never leak from it.
struct Fixture {
    id: i64,
    no: String,
    owner_id: i64,
    dept_id: Option<i64>,
    version: i64,
    body: Value,
    /// Content (name, phones, e-mail, address, also the phone's masked form) that no denied
    /// response may carry.
    secrets: Vec<String>,
}

fn secrets_of(body: &Value) -> Vec<String> {
    let mut v = Vec::new();
    for k in ["name", "mobile", "email", "address"] {
        if let Some(s) = body[k].as_str() {
            v.push(s.to_string());
        }
    }
    if let Some(m) = body["mobile"].as_str() {
        v.push(format!("{}****{}", &m[..3], &m[7..]));
        v.push(m[3..].to_string());
    }
    v
}

/// An organization archive with distinctive content. `n` makes the phone and e-mail unique.
fn archive(name: &str, n: u32, tier: &str, secrecy: &str, dept_id: Option<i64>) -> Value {
    let mut b = json!({
        "kind": "organization",
        "name": name,
        "mobile": format!("1371{n:07}"),
        "email": format!("acl{n}@quanxian-test.cn"),
        "address": format!("浙江省杭州市西湖区文三路{n}号权限测试大厦"),
        "classification": {"province": "浙江省", "city": "杭州市", "industry": "制造业", "grade": "B"},
        "status": "active",
        "tier": tier,
        "secrecy": secrecy,
    });
    if let Some(d) = dept_id {
        b["dept_id"] = json!(d);
    }
    b
}

fn assert_no_content(e: &str, r: &Resp, secrets: &[String], ctx: &str) {
    let text = r.text();
    for s in secrets {
        assert!(!text.contains(s.as_str()), "[{e}] {ctx}: the response ({}) reveals {s:?}: {text}", r.status);
    }
}

/// 403 `application/problem+json` of type …/needs-approval naming the archive, and no content.
fn assert_needs_approval(e: &str, r: &Resp, a: &Fixture, ctx: &str) {
    assert_eq!(r.status, 403, "[{e}] {ctx}: expected needs-approval, got {}: {}", r.status, r.text());
    assert!(r.is_problem(), "[{e}] {ctx}: content type {:?}", r.content_type());
    assert!(r.problem_type().ends_with("/needs-approval"), "[{e}] {ctx}: problem type {:?}", r.problem_type());
    assert_eq!(r.json["status"].as_i64(), Some(403), "[{e}] {ctx}: problem status: {}", r.text());
    assert_eq!(r.json["archive_id"].as_i64(), Some(a.id), "[{e}] {ctx}: archive_id: {}", r.text());
    assert_no_content(e, r, &a.secrets, ctx);
}

/// Refused outright (403 forbidden or 404 not found, never needs-approval), as a problem
/// document without content.
fn assert_refused(e: &str, r: &Resp, a: &Fixture, ctx: &str) {
    assert!(r.status == 403 || r.status == 404, "[{e}] {ctx}: expected 403/404, got {}: {}", r.status, r.text());
    assert!(r.is_problem(), "[{e}] {ctx}: content type {:?}", r.content_type());
    assert!(!r.problem_type().ends_with("/needs-approval"), "[{e}] {ctx}: no approval can open this: {}", r.text());
    assert_no_content(e, r, &a.secrets, ctx);
}

/// Ages every grant of `user_id` on `archive_id` so that it expired a few minutes ago, directly in
/// the database (there is no API to shorten a grant, and waiting an hour is not an option).
fn time(v: &Value) -> DateTime<Utc> {
    serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("not a timestamp: {v}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// 1. Tier rules (分级管理) through the API: reads, edits, lists and counts agree
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tier_rules_decide_reads_edits_and_lists() {
    for s in common::servers(DEMO).await {
        let w = World::new(&s).await;
        let e = w.e();
        let xs1 = w.dept("XS1");

        // The archives, each created by the one who manages it.
        let personal = w.create("xiaoshou1", archive("权限测试甲·个人级客户", 1001, "personal", "normal", None)).await;
        assert_eq!(personal.dept_id, Some(xs1), "[{e}] a personal archive belongs to its owner's department");
        let mut department = w.create("jingli1", archive("权限测试甲·部门级客户", 1002, "department", "normal", Some(xs1))).await;
        assert_eq!(department.dept_id, Some(xs1), "[{e}]");
        let mut company = w.create("zongjian", archive("权限测试甲·公司级客户", 1003, "company", "normal", None)).await;
        let mut personal = personal;

        // Who reads each archive without approval (everyone else needs approval), and who edits it.
        let readers: [(&str, &[&str]); 3] = [
            ("personal", &["admin", "zongjingli", "fuzong", "zongjian", "jingli1", "xiaoshou1"]),
            ("department", &["admin", "zongjingli", "fuzong", "zongjian", "jingli1", "xiaoshou1", "xiaoshou2"]),
            ("company", &["admin", "zongjingli", "fuzong", "zongjian"]),
        ];
        let editors: [(&str, &[&str]); 3] = [
            ("personal", &["xiaoshou1"]),
            ("department", &["admin", "zongjingli", "fuzong", "zongjian", "jingli1"]),
            ("company", &["zongjian"]),
        ];
        // The archivist keeps the register: sees every archive listed, opens none by that role.
        let lists = |tier: usize, who: &str| readers[tier].1.contains(&who) || who == "dangan1";

        for who in STAFF {
            for (t, a) in [&personal, &department, &company].into_iter().enumerate() {
                let ctx = format!("{who} reads the {} archive", readers[t].0);
                let r = w.read(who, a).await;
                if readers[t].1.contains(who) {
                    assert_eq!(r.status, 200, "[{e}] {ctx}: {}", r.text());
                    assert_eq!(r.json["id"].as_i64(), Some(a.id), "[{e}] {ctx}");
                    assert_eq!(r.json["name"], a.body["name"], "[{e}] {ctx}");
                } else {
                    assert_needs_approval(&e, &r, a, &ctx);
                }
                // The same by number.
                let r2 = w.get(who, &format!("/api/v1/archives/by-number/{}", urlencode(&a.no))).await;
                assert_eq!(r2.status, r.status, "[{e}] {ctx} by number: {}", r2.text());
                if r2.status != 200 {
                    assert_needs_approval(&e, &r2, a, &format!("{ctx} by number"));
                }
            }
            // Lists and counts agree with reads.
            let (ids, total) = w.list_q(who, "权限测试甲").await;
            let expected: BTreeSet<i64> = [&personal, &department, &company].into_iter().enumerate().filter(|(t, _)| lists(*t, who)).map(|(_, a)| a.id).collect();
            assert_eq!(ids, expected, "[{e}] {who}'s list (personal {}, department {}, company {})", personal.id, department.id, company.id);
            assert_eq!(total, expected.len() as i64, "[{e}] {who}'s total");
        }

        // Edits: the tier's manager only. Others are refused: 403 when they see the archive
        // listed, 404 when they do not even know it exists.
        for who in STAFF {
            for t in 0..3 {
                let a: &mut Fixture = match t {
                    0 => &mut personal,
                    1 => &mut department,
                    _ => &mut company,
                };
                let ctx = format!("{who} edits the {} archive", readers[t].0);
                let r = w.edit(who, a).await;
                if editors[t].1.contains(who) {
                    assert_eq!(r.status, 200, "[{e}] {ctx}: {}", r.text());
                    assert_eq!(r.json["version"].as_i64(), Some(a.version + 1), "[{e}] {ctx}");
                    assert_eq!(r.json["owner_id"].as_i64(), Some(a.owner_id), "[{e}] {ctx}: owner kept");
                    a.version += 1;
                } else {
                    assert_refused(&e, &r, a, &ctx);
                    let expected = if lists(t, who) { 403 } else { 404 };
                    assert_eq!(r.status, expected, "[{e}] {ctx}: {}", r.text());
                }
            }
        }
        // The named cases of the issue, spelled out.
        assert_eq!(w.edit("jingli1", &personal).await.status, 403, "[{e}] the department manager reads but does not edit a personal archive");
        assert_eq!(w.read("jingli2", &personal).await.problem_type().rsplit('/').next(), Some("needs-approval"), "[{e}] jingli2");
        assert_eq!(w.read("xiaoshou3", &department).await.status, 403, "[{e}] xiaoshou3 (XS2) on an XS1 department archive");
        assert_eq!(w.read("xiaoshou1", &company).await.json["archive_id"].as_i64(), Some(company.id), "[{e}] xiaoshou1 on a company archive");

        // Without a name filter the hidden archives are not counted either.
        let (all_ids, all_total) = w.list("xiaoshou2", "").await;
        assert!(!all_ids.contains(&personal.id) && all_ids.contains(&department.id), "[{e}] xiaoshou2's unfiltered list");
        assert_eq!(all_total, all_ids.len() as i64, "[{e}] xiaoshou2's unfiltered total counts exactly the listed archives");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. request → approve → read → grant expires → denied
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_approve_read_then_the_grant_expires() {
    for s in common::servers(DEMO).await {
        let w = World::new(&s).await;
        let e = w.e();
        let a = w.create("xiaoshou1", archive("权限测试乙·待查阅客户", 2001, "personal", "normal", None)).await;
        let q = "权限测试乙";

        assert_needs_approval(&e, &w.read("xiaoshou3", &a).await, &a, "xiaoshou3 before any request");
        assert_eq!(w.list_q("xiaoshou3", q).await, (BTreeSet::new(), 0), "[{e}] xiaoshou3 does not list it before approval");
        assert!(w.grants("xiaoshou3").await.is_empty(), "[{e}] no grants yet");

        // The request.
        let r = w.request_access("xiaoshou3", &a, json!({"purpose": "核对合同", "hours": 1})).await;
        assert_eq!(r.status, 201, "[{e}] request: {}", r.text());
        assert_no_content(&e, &r, &a.secrets, "the request");
        let req = r.json.clone();
        let rid = req["id"].as_i64().expect("request id");
        assert_eq!(req["status"], "pending", "[{e}] {req}");
        assert_eq!(req["step"].as_i64(), Some(0), "[{e}] {req}");
        assert_eq!(req["archive_id"].as_i64(), Some(a.id), "[{e}] {req}");
        assert_eq!(req["requester_id"].as_i64(), Some(w.uid("xiaoshou3")), "[{e}] {req}");
        assert_eq!(req["purpose"], "核对合同", "[{e}] {req}");
        assert_eq!(req["hours"].as_i64(), Some(1), "[{e}] {req}");
        assert_eq!(req["chain"], json!(["archive_manager", "general_manager"]), "[{e}] {req}");
        assert!(req["actions"].as_array().unwrap().iter().any(|x| x == "read"), "[{e}] a request always asks to read: {req}");

        // Who sees it.
        assert!(w.inbox("xiaoshou3").await.is_empty(), "[{e}] the requester's inbox is empty");
        assert!(w.inbox("jingli1").await.contains(&rid), "[{e}] jingli1 (manager of XS1) decides step 0");
        assert!(!w.inbox("jingli2").await.contains(&rid), "[{e}] jingli2 (XS2) is not asked");
        assert!(!w.inbox("xiaoshou2").await.contains(&rid), "[{e}] a colleague is not asked");
        let mine = w.ok("xiaoshou3", Method::GET, "/api/v1/access-requests?view=mine", None).await;
        assert!(mine.as_array().unwrap().iter().any(|x| x["id"].as_i64() == Some(rid) && x["archive_no"] == a.no.as_str()), "[{e}] my requests: {mine}");
        let view = w.get("jingli1", &format!("/api/v1/access-requests/{rid}")).await;
        assert_eq!(view.status, 200, "[{e}] jingli1 views the request: {}", view.text());
        assert_eq!(view.json["can_decide"], true, "[{e}] {}", view.json);
        assert_eq!(view.json["archive_no"], a.no.as_str(), "[{e}]");
        let view = w.get("xiaoshou3", &format!("/api/v1/access-requests/{rid}")).await;
        assert_eq!((view.status, &view.json["can_decide"]), (200, &json!(false)), "[{e}] the requester views but cannot decide: {}", view.text());
        assert_no_content(&e, &view, &a.secrets, "the requester's view of the request");
        for who in ["jingli2", "xiaoshou4"] {
            let r = w.get(who, &format!("/api/v1/access-requests/{rid}")).await;
            assert_eq!(r.status, 404, "[{e}] {who} is not involved in the request: {}", r.text());
        }

        // Who may not decide.
        let r = w.decide("jingli2", rid, true, "").await;
        assert_eq!(r.status, 403, "[{e}] jingli2 decides: {}", r.text());
        assert!(r.is_problem(), "[{e}]");
        let r = w.decide("xiaoshou3", rid, true, "").await;
        assert_eq!(r.status, 403, "[{e}] the requester approves their own request: {}", r.text());
        let r = w.decide("xiaoshou1", rid, true, "").await;
        assert_eq!(r.status, 403, "[{e}] the archive's owner is not in the chain: {}", r.text());

        // Step 0: the archive's department manager.
        let r = w.decide("jingli1", rid, true, "同意，限本次核对").await;
        assert_eq!(r.status, 200, "[{e}] jingli1 approves: {}", r.text());
        assert_eq!((r.json["status"].as_str(), r.json["step"].as_i64()), (Some("pending"), Some(1)), "[{e}] {}", r.json);
        assert!(!w.inbox("jingli1").await.contains(&rid), "[{e}] step 1 is not jingli1's");
        assert_eq!(w.decide("jingli1", rid, true, "").await.status, 403, "[{e}] jingli1 cannot decide the general manager's step");
        assert!(w.inbox("zongjingli").await.contains(&rid), "[{e}] now in the general manager's inbox");
        assert_needs_approval(&e, &w.read("xiaoshou3", &a).await, &a, "xiaoshou3 half-way through the chain");
        assert!(w.grants("xiaoshou3").await.is_empty(), "[{e}] no grant before the last step");

        // Step 1: the general manager.
        let before = Utc::now();
        let r = w.decide("zongjingli", rid, true, "同意").await;
        assert_eq!(r.status, 200, "[{e}] zongjingli approves: {}", r.text());
        assert_eq!(r.json["status"], "approved", "[{e}] {}", r.json);
        assert!(!r.json["closed_at"].is_null(), "[{e}] an approved request is closed: {}", r.json);
        assert!(!w.inbox("zongjingli").await.contains(&rid), "[{e}] decided requests leave the inbox");
        let r = w.decide("zongjingli", rid, true, "").await;
        assert!(r.status == 403 || r.status == 409, "[{e}] deciding an approved request again: {}", r.text());
        let view = w.ok("xiaoshou3", Method::GET, &format!("/api/v1/access-requests/{rid}"), None).await;
        let deciders: Vec<i64> = view["decisions"].as_array().unwrap().iter().map(|d| d["approver_id"].as_i64().unwrap()).collect();
        assert_eq!(deciders, vec![w.uid("jingli1"), w.uid("zongjingli")], "[{e}] the decisions on record: {view}");

        // The grant: one, xiaoshou3's, about an hour.
        let grants = w.grants("xiaoshou3").await;
        assert_eq!(grants.len(), 1, "[{e}] {grants:?}");
        let g = &grants[0];
        assert_eq!(g["archive_id"].as_i64(), Some(a.id), "[{e}] {g}");
        assert_eq!(g["user_id"].as_i64(), Some(w.uid("xiaoshou3")), "[{e}] {g}");
        assert_eq!(g["request_id"].as_i64(), Some(rid), "[{e}] {g}");
        let expires = time(&g["expires_at"]);
        assert!(expires > before + Duration::minutes(59) && expires < Utc::now() + Duration::minutes(61), "[{e}] a 1 h grant expires at {expires}");

        // Reading with the grant; the archive joins the list.
        let r = w.read("xiaoshou3", &a).await;
        assert_eq!(r.status, 200, "[{e}] xiaoshou3 reads with the grant: {}", r.text());
        assert_eq!(r.json["name"], a.body["name"], "[{e}]");
        assert_eq!(w.list_q("xiaoshou3", q).await, (BTreeSet::from([a.id]), 1), "[{e}] granted archives are listed and counted");
        // A grant reads, it does not manage.
        let r = w.edit("xiaoshou3", &a).await;
        assert_eq!(r.status, 403, "[{e}] a grant does not allow editing: {}", r.text());

        // Not transferable (不得转借): xiaoshou4 still needs approval.
        assert_needs_approval(&e, &w.read("xiaoshou4", &a).await, &a, "xiaoshou4 with xiaoshou3's grant");
        assert_eq!(w.list_q("xiaoshou4", q).await, (BTreeSet::new(), 0), "[{e}] xiaoshou4's list");
        assert!(w.grants("xiaoshou4").await.is_empty(), "[{e}] xiaoshou4 has no grants");

        // The grant expires (aged in the database; the server caches no grants).
        assert_eq!(common::expire_grants(&s, w.uid("xiaoshou3"), a.id).await, 1, "[{e}] one grant row aged");
        assert_needs_approval(&e, &w.read("xiaoshou3", &a).await, &a, "xiaoshou3 after the grant expired");
        assert_eq!(w.list_q("xiaoshou3", q).await, (BTreeSet::new(), 0), "[{e}] the archive left xiaoshou3's list");
        assert!(w.grants("xiaoshou3").await.is_empty(), "[{e}] expired grants are not listed");
        let r = w.get("xiaoshou3", &format!("/api/v1/archives/{}/contacts", a.id)).await;
        assert_needs_approval(&e, &r, &a, "xiaoshou3's contacts after expiry");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Rejection and cancellation
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_and_cancelled_requests_grant_nothing() {
    for s in common::servers(DEMO).await {
        let w = World::new(&s).await;
        let e = w.e();
        let a = w.create("xiaoshou1", archive("权限测试丙·驳回客户", 3001, "personal", "normal", None)).await;

        // Validation of the request itself.
        let r = w.request_access("xiaoshou3", &a, json!({"purpose": "  ", "hours": 2})).await;
        assert_eq!(r.status, 422, "[{e}] a request without purpose: {}", r.text());
        assert!(r.is_problem(), "[{e}]");
        let r = w.post("xiaoshou3", "/api/v1/archives/987654321/access-requests", &json!({"purpose": "核对", "hours": 2})).await;
        assert_eq!(r.status, 404, "[{e}] a request for an archive that does not exist: {}", r.text());

        // Rejected at step 0.
        let r = w.request_access("xiaoshou3", &a, json!({"purpose": "了解客户情况", "hours": 2})).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let rid = r.json["id"].as_i64().unwrap();
        let r = w.decide("jingli1", rid, false, "   ").await;
        assert_eq!(r.status, 422, "[{e}] a rejection needs a comment: {}", r.text());
        assert!(r.is_problem() && r.json["errors"].as_array().is_some_and(|v| v.iter().any(|f| f["field"] == "comment")), "[{e}] {}", r.text());
        let still = w.ok("xiaoshou3", Method::GET, &format!("/api/v1/access-requests/{rid}"), None).await;
        assert_eq!((still["status"].as_str(), still["step"].as_i64()), (Some("pending"), Some(0)), "[{e}] the failed rejection changed nothing: {still}");
        let r = w.decide("jingli1", rid, false, "用途不明确，请补充合同编号").await;
        assert_eq!(r.status, 200, "[{e}] reject: {}", r.text());
        assert_eq!(r.json["status"], "rejected", "[{e}] {}", r.json);
        let view = w.ok("xiaoshou3", Method::GET, &format!("/api/v1/access-requests/{rid}"), None).await;
        let d = &view["decisions"][0];
        assert_eq!((d["approved"].as_bool(), d["comment"].as_str()), (Some(false), Some("用途不明确，请补充合同编号")), "[{e}] {view}");
        assert_eq!(view["decisions"].as_array().unwrap().len(), 1, "[{e}] {view}");
        assert!(w.grants("xiaoshou3").await.is_empty(), "[{e}] a rejection grants nothing");
        assert_needs_approval(&e, &w.read("xiaoshou3", &a).await, &a, "xiaoshou3 after the rejection");
        assert!(!w.inbox("zongjingli").await.contains(&rid), "[{e}] a rejected request does not go on to step 1");
        let r = w.decide("zongjingli", rid, true, "").await;
        assert!(r.status == 403 || r.status == 409, "[{e}] approving a rejected request: {}", r.text());
        assert!(w.grants("xiaoshou3").await.is_empty(), "[{e}] still nothing");
        let r = w.cancel("xiaoshou3", rid).await;
        assert_eq!(r.status, 409, "[{e}] cancelling a decided request: {}", r.text());

        // Cancelled while pending.
        let r = w.request_access("xiaoshou3", &a, json!({"purpose": "核对回款", "hours": 2})).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let rid2 = r.json["id"].as_i64().unwrap();
        for who in ["xiaoshou4", "jingli1"] {
            let r = w.cancel(who, rid2).await;
            assert_eq!(r.status, 404, "[{e}] {who} cancels someone else's request: {}", r.text());
            assert!(r.is_problem(), "[{e}]");
        }
        let r = w.cancel("xiaoshou3", rid2).await;
        assert_eq!(r.status, 200, "[{e}] the requester cancels: {}", r.text());
        assert_eq!(r.json["status"], "cancelled", "[{e}] {}", r.json);
        assert!(!w.inbox("jingli1").await.contains(&rid2), "[{e}] cancelled requests leave the inbox");
        let r = w.decide("jingli1", rid2, true, "").await;
        assert!(r.status == 403 || r.status == 409, "[{e}] deciding a cancelled request: {}", r.text());
        let r = w.cancel("xiaoshou3", rid2).await;
        assert_eq!(r.status, 409, "[{e}] cancelling twice: {}", r.text());
        assert!(w.grants("xiaoshou3").await.is_empty(), "[{e}] a cancelled request grants nothing");
        assert_needs_approval(&e, &w.read("xiaoshou3", &a).await, &a, "xiaoshou3 after cancelling");

        let mine = w.ok("xiaoshou3", Method::GET, "/api/v1/access-requests?view=mine", None).await;
        let status: HashMap<i64, String> = mine.as_array().unwrap().iter().map(|r| (r["id"].as_i64().unwrap(), r["status"].as_str().unwrap().to_string())).collect();
        assert_eq!(status.get(&rid).map(String::as_str), Some("rejected"), "[{e}] {mine}");
        assert_eq!(status.get(&rid2).map(String::as_str), Some("cancelled"), "[{e}] {mine}");
        let r = w.get("xiaoshou3", "/api/v1/access-requests?view=everything").await;
        assert_eq!(r.status, 400, "[{e}] unknown view: {}", r.text());
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Secrecy (密级): 秘密, 机密, 绝密
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrecy_levels_tighten_the_tier_rules() {
    for s in common::servers(DEMO).await {
        let w = World::new(&s).await;
        let e = w.e();

        // ── 秘密: even the owner needs an approved grant, capped at 4 h. ──
        let mut secret = w.create("xiaoshou1", archive("权限测试丁·秘密客户", 4001, "personal", "secret", None)).await;
        for who in ["xiaoshou1", "jingli1", "zongjingli", "admin"] {
            assert_needs_approval(&e, &w.read(who, &secret).await, &secret, &format!("{who} reads a 秘密 archive without a grant"));
        }
        let r = w.edit("xiaoshou1", &secret).await;
        assert_needs_approval(&e, &r, &secret, "the owner edits a 秘密 archive without a grant");
        // Listed (lists show no content), for the tier's readers only.
        assert!(w.list_q("xiaoshou1", "权限测试丁").await.0.contains(&secret.id), "[{e}] the owner lists the 秘密 archive");
        assert!(w.list_q("jingli1", "权限测试丁").await.0.contains(&secret.id), "[{e}] the manager lists the 秘密 archive");
        assert!(!w.list_q("xiaoshou2", "权限测试丁").await.0.contains(&secret.id), "[{e}] a colleague does not");

        let r = w.request_access("xiaoshou1", &secret, json!({"purpose": "更新客户资料", "hours": 72})).await;
        assert_eq!(r.status, 201, "[{e}] the owner requests access: {}", r.text());
        let rid = r.json["id"].as_i64().unwrap();
        assert!(r.json["hours"].as_i64().is_some_and(|h| h <= 4), "[{e}] 72 h asked, at most 4 h for 秘密: {}", r.json);
        assert!(w.inbox("jingli1").await.contains(&rid), "[{e}]");
        let before = Utc::now();
        w.approve_both(rid, "jingli1").await;
        let grants = w.grants("xiaoshou1").await;
        let g = grants.iter().find(|g| g["archive_id"].as_i64() == Some(secret.id)).unwrap_or_else(|| panic!("[{e}] no grant: {grants:?}"));
        let expires = time(&g["expires_at"]);
        assert!(expires <= Utc::now() + Duration::hours(4) + Duration::minutes(1), "[{e}] a 秘密 grant is capped at 4 h, expires {expires}");
        assert!(expires > before + Duration::hours(4) - Duration::minutes(1), "[{e}] …and is the full 4 h, expires {expires}");
        let r = w.read("xiaoshou1", &secret).await;
        assert_eq!(r.status, 200, "[{e}] the owner reads with the grant: {}", r.text());
        let r = w.edit("xiaoshou1", &secret).await;
        assert_eq!(r.status, 200, "[{e}] the owner edits with the grant: {}", r.text());
        secret.version += 1;
        assert_needs_approval(&e, &w.read("jingli1", &secret).await, &secret, "jingli1 (xiaoshou1's grant is not his)");

        // ── 机密: only in the archive room (this server has none), never exported, printed or
        // downloaded — even with an approved grant. ──
        // Made 普通 first so that the owner can attach a file, then raised to 机密.
        let mut conf = w.create("xiaoshou1", archive("权限测试丁·机密客户", 4002, "personal", "normal", None)).await;
        let boundary = "----dangan-access-boundary";
        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"scan.png\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
        body.extend_from_slice(PNG_1X1);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let r = send(
            w.rb("xiaoshou1", Method::POST, &format!("/api/v1/archives/{}/attachments", conf.id))
                .header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
                .body(body),
        )
        .await;
        assert_eq!(r.status, 201, "[{e}] attach a file: {}", r.text());
        let att = r.json["id"].as_i64().unwrap();
        assert_eq!(w.get("xiaoshou1", &format!("/api/v1/attachments/{att}/content")).await.status, 200, "[{e}] download while 普通");
        conf.body["secrecy"] = json!("confidential");
        let r = w.edit("xiaoshou1", &conf).await;
        assert_eq!(r.status, 200, "[{e}] raise to 机密: {}", r.text());
        assert_eq!(r.json["secrecy"], "confidential", "[{e}]");
        conf.version += 1;

        for who in ["xiaoshou1", "jingli1", "zongjingli", "admin", "xiaoshou3", "dangan1"] {
            assert_refused(&e, &w.read(who, &conf).await, &conf, &format!("{who} reads a 机密 archive outside the archive room"));
            assert_refused(&e, &w.get(who, &format!("/api/v1/attachments/{att}/content")).await, &conf, &format!("{who} downloads from a 机密 archive"));
        }
        assert_refused(&e, &w.edit("xiaoshou1", &conf).await, &conf, "the owner edits a 机密 archive outside the archive room");
        let r = w.request_access("xiaoshou3", &conf, json!({"purpose": "审阅合同", "hours": 8, "actions": ["export", "print", "download_attachment", "read_unmasked"]})).await;
        assert_eq!(r.status, 201, "[{e}] request for a 机密 archive: {}", r.text());
        let rid = r.json["id"].as_i64().unwrap();
        w.approve_both(rid, "jingli1").await;
        assert!(w.grants("xiaoshou3").await.iter().any(|g| g["archive_id"].as_i64() == Some(conf.id)), "[{e}] the grant exists");
        let ctx = "xiaoshou3 with an approved grant, outside the archive room";
        assert_refused(&e, &w.read("xiaoshou3", &conf).await, &conf, &format!("{ctx}: read"));
        assert_refused(&e, &w.get("xiaoshou3", &format!("/api/v1/archives/{}/contacts", conf.id)).await, &conf, &format!("{ctx}: contacts"));
        assert_refused(&e, &w.get("xiaoshou3", &format!("/api/v1/archives/{}/attachments", conf.id)).await, &conf, &format!("{ctx}: attachment list"));
        assert_refused(&e, &w.get("xiaoshou3", &format!("/api/v1/attachments/{att}/content")).await, &conf, &format!("{ctx}: download"));
        assert_refused(&e, &w.get("xiaoshou3", &format!("/api/v1/archives/by-number/{}", urlencode(&conf.no))).await, &conf, &format!("{ctx}: by number"));

        // ── 绝密: no one opens it, not even its creator; only the archivist lists it. ──
        let top = w.create("xiaoshou1", archive("权限测试丁·绝密客户", 4003, "personal", "top_secret", None)).await;
        for who in STAFF {
            assert_refused(&e, &w.read(who, &top).await, &top, &format!("{who} reads a 绝密 archive"));
            let (ids, total) = w.list_q(who, "权限测试丁·绝密").await;
            let listed = *who == "dangan1";
            assert_eq!(ids.contains(&top.id), listed, "[{e}] {who} lists the 绝密 archive: {ids:?}");
            assert_eq!(total, listed as i64, "[{e}] {who} counts the 绝密 archive");
        }
        // The register shows that it exists and its number, nothing of its content.
        let page = w.ok("dangan1", Method::GET, &format!("/api/v1/archives?secrecy=top_secret&number={}", urlencode(&top.no)), None).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "[{e}] the archivist's register: {page}");
        assert_eq!(items[0]["archive_no"], top.no.as_str(), "[{e}]");
        for secret in &top.secrets {
            assert!(!page.to_string().contains(secret.as_str()), "[{e}] the register shows the 绝密 archive by number only, yet reveals {secret:?}: {page}");
        }
        // Nothing to request: refused (403; 404 where the product chooses not to confirm that the
        // archive exists), and no request is filed.
        for who in ["xiaoshou1", "xiaoshou3", "jingli1", "zongjingli", "dangan1", "admin"] {
            let r = w.request_access(who, &top, json!({"purpose": "核对", "hours": 1})).await;
            assert!(r.status == 403 || r.status == 404, "[{e}] {who} requests access to a 绝密 archive: {}", r.text());
            assert!(r.is_problem(), "[{e}]");
            assert_no_content(&e, &r, &top.secrets, &format!("{who}'s request for a 绝密 archive"));
            let mine = w.ok(who, Method::GET, "/api/v1/access-requests?view=mine", None).await;
            assert!(!mine.as_array().unwrap().iter().any(|x| x["archive_id"].as_i64() == Some(top.id)), "[{e}] {who} filed a request for a 绝密 archive: {mine}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 5. A system administrator manages users, not archives
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_system_administrator_alone_sees_no_archives() {
    for s in common::servers(DEMO).await {
        let mut w = World::new(&s).await;
        let e = w.e();
        let hq = w.dept("HQ");
        let r = w.post("admin", "/api/v1/users", &json!({"username": "sysop", "display_name": "运维管理员", "password": "sysop-pass-123", "dept_id": hq, "roles": ["system_admin"]})).await;
        assert_eq!(r.status, 201, "[{e}] create the system administrator: {}", r.text());
        assert_eq!(r.json["roles"], json!(["system_admin"]), "[{e}]");
        let token = s.token("sysop", "sysop-pass-123").await;
        w.tokens.insert("sysop".into(), token);

        let fixtures = [
            w.create("xiaoshou1", archive("权限测试戊·个人级", 5001, "personal", "normal", None)).await,
            w.create("jingli1", archive("权限测试戊·部门级", 5002, "department", "normal", None)).await,
            w.create("zongjian", archive("权限测试戊·公司级", 5003, "company", "normal", None)).await,
        ];
        let (_, admin_total) = w.list("admin", "").await;
        assert!(admin_total >= DEMO as i64 + 3, "[{e}] the admin (also 总经理) sees every archive: {admin_total}");

        let (ids, total) = w.list("sysop", "").await;
        assert!(ids.is_empty() && total == 0, "[{e}] the system administrator lists nothing: {ids:?}, total {total}");
        for a in &fixtures {
            let r = w.read("sysop", a).await;
            assert!(r.status == 403 || r.status == 404, "[{e}] sysop reads {}: {}", a.no, r.text());
            assert!(r.is_problem(), "[{e}]");
            assert_no_content(&e, &r, &a.secrets, "sysop reads");
            assert_refused(&e, &w.edit("sysop", a).await, a, "sysop edits");
        }
        // A demo archive too.
        let demo = w.ok("admin", Method::GET, "/api/v1/archives?limit=1&sort=created_asc", None).await["items"][0]["id"].as_i64().unwrap();
        let r = w.get("sysop", &format!("/api/v1/archives/{demo}")).await;
        assert!(r.status == 403 || r.status == 404, "[{e}] sysop reads demo archive {demo}: {}", r.text());
        let r = w.post("sysop", "/api/v1/archives", &archive("权限测试戊·运维建档", 5004, "personal", "normal", None)).await;
        assert_eq!(r.status, 403, "[{e}] a system administrator does not create archives: {}", r.text());
        assert!(r.is_problem(), "[{e}]");
        assert_eq!(w.list_q("admin", "运维建档").await.1, 0, "[{e}] nothing was created");

        // …but does manage users.
        assert_eq!(w.get("sysop", "/api/v1/users").await.status, 200, "[{e}]");
        let r = w.post("sysop", "/api/v1/users", &json!({"username": "kefu9", "password": "kefu9-pass-123", "dept_id": w.dept("KF"), "roles": ["service_staff"]})).await;
        assert_eq!(r.status, 201, "[{e}] the system administrator creates users: {}", r.text());

        // The auditor, likewise, gets nothing from the tier.
        let (ids, total) = w.list("shenji1", "").await;
        assert!(ids.is_empty() && total == 0, "[{e}] the auditor lists nothing without a grant: {ids:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Denied responses: problem documents that reveal nothing of the archive
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_responses_are_problems_without_content() {
    for s in common::servers(DEMO).await {
        let w = World::new(&s).await;
        let e = w.e();
        let mut a = w.create("xiaoshou1", archive("权限测试己·保密内容客户", 6001, "personal", "normal", None)).await;
        let contact = w.ok("xiaoshou1", Method::POST, &format!("/api/v1/archives/{}/contacts", a.id), Some(&json!({"name": "欧阳联系人", "mobile": "13966667777", "is_primary": true}))).await;
        let cid = contact["id"].as_i64().unwrap();
        w.ok(
            "xiaoshou1",
            Method::POST,
            &format!("/api/v1/archives/{}/entries", a.id),
            Some(&json!({"kind": "visit", "occurred_on": "2025-06-01", "summary": "拜访洽谈独家代理条款"})),
        )
        .await;
        a.secrets.extend(["欧阳联系人", "13966667777", "139****7777", "拜访洽谈独家代理条款"].map(String::from));
        let id = a.id;

        // Not even listed for xiaoshou3: reads say "needs approval", everything else "not found".
        let reads = [
            format!("/api/v1/archives/{id}"),
            format!("/api/v1/archives/by-number/{}", urlencode(&a.no)),
            format!("/api/v1/archives/{id}/versions"),
            format!("/api/v1/archives/{id}/contacts"),
            format!("/api/v1/archives/{id}/entries"),
            format!("/api/v1/archives/{id}/attachments"),
        ];
        for who in ["xiaoshou3", "jingli2", "kefu1"] {
            for p in &reads {
                assert_needs_approval(&e, &w.get(who, p).await, &a, &format!("{who}: GET {p}"));
            }
            let writes = [
                w.edit(who, &a).await,
                w.post(who, &format!("/api/v1/archives/{id}/contacts"), &json!({"name": "新联系人", "mobile": "13900001111"})).await,
                w.call(who, Method::PUT, &format!("/api/v1/archives/{id}/contacts/{cid}"), Some(&json!({"name": "改名", "mobile": "13900001111"}))).await,
                w.post(who, &format!("/api/v1/archives/{id}/entries"), &json!({"kind": "visit", "occurred_on": "2025-06-02", "summary": "冒名记录"})).await,
            ];
            for (i, r) in writes.iter().enumerate() {
                assert_eq!(r.status, 404, "[{e}] {who}: write #{i} on an archive they cannot see: {}", r.text());
                assert_refused(&e, r, &a, &format!("{who}: write #{i}"));
            }
            // The web page says no, too, without the content.
            let r = send(w.rb(who, Method::GET, &format!("/archives/{id}"))).await;
            assert_eq!(r.status, 403, "[{e}] {who}: the archive page: {}", r.status);
            assert_no_content(&e, &r, &a.secrets, &format!("{who}: the archive page"));
        }
        // A colleague's archive seen by a reader who may not manage it: refused (403), no content.
        for r in [w.edit("xiaoshou2", &a).await, w.edit("jingli1", &a).await] {
            assert!(r.status == 403 || r.status == 404, "[{e}] {}", r.text());
            assert!(r.is_problem(), "[{e}]");
        }
        assert_refused(&e, &w.edit("xiaoshou2", &a).await, &a, "xiaoshou2 edits a colleague's archive");
        let r = w.edit("jingli1", &a).await;
        assert_eq!((r.status, r.problem_type().rsplit('/').next()), (403, Some("forbidden")), "[{e}] jingli1 edits: {}", r.text());

        // Nothing the approval workflow shows a requester or approver carries the content either.
        let r = w.request_access("xiaoshou3", &a, json!({"purpose": "核对合同", "hours": 1})).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        assert_no_content(&e, &r, &a.secrets, "the request");
        let rid = r.json["id"].as_i64().unwrap();
        for (who, path) in [
            ("xiaoshou3", "/api/v1/access-requests?view=mine".to_string()),
            ("xiaoshou3", format!("/api/v1/access-requests/{rid}")),
            ("xiaoshou3", "/api/v1/grants".to_string()),
        ] {
            let r = w.get(who, &path).await;
            assert_eq!(r.status, 200, "[{e}] {who}: {path}: {}", r.text());
            assert_no_content(&e, &r, &a.secrets, &format!("{who}: {path}"));
        }
    }
}

/// A manager who saves a department archive with a document that omits owner and department
/// (and carries the masked phone it was shown) changes neither: the archive stays its owner's,
/// in its department, with its real phone number.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saving_a_partial_document_keeps_owner_department_and_real_values() {
    for s in common::servers(DEMO).await {
        let w = World::new(&s).await;
        let e = w.e();
        let a = w.create("xiaoshou1", archive("权限测试戊·保存不夺主", 9001, "department", "normal", Some(w.dept("XS1")))).await;
        let shown = w.ok("jingli1", Method::GET, &format!("/api/v1/archives/{}", a.id), None).await;
        assert!(shown["mobile"].as_str().unwrap().contains("****"), "[{e}] the manager is shown the masked phone");
        let mut body = shown.clone();
        for k in ["id", "archive_no", "created_by", "created_at", "updated_by", "updated_at", "owner_id", "dept_id"] {
            body.as_object_mut().unwrap().remove(k);
        }
        body["name"] = json!("权限测试戊·保存不夺主（已更名）");
        // Renaming corrects a key field: the reason is required.
        body["reason"] = json!("客户更名");
        let r = w.call("jingli1", Method::PUT, &format!("/api/v1/archives/{}", a.id), Some(&body)).await;
        assert_eq!(r.status, 200, "[{e}] the department's manager edits: {}", r.text());
        let clear = w.ok("jingli1", Method::GET, &format!("/api/v1/archives/{}?unmasked=true", a.id), None).await;
        assert_eq!(clear["owner_id"].as_i64(), Some(w.uid("xiaoshou1")), "[{e}] the owner is kept");
        assert_eq!(clear["dept_id"].as_i64(), Some(w.dept("XS1")), "[{e}] the department is kept");
        assert_eq!(clear["mobile"], a.body["mobile"], "[{e}] the masked phone sent back did not overwrite the real one");
        assert_eq!(clear["name"], "权限测试戊·保存不夺主（已更名）", "[{e}] the real change was saved");
    }
}
