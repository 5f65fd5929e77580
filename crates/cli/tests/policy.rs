mod common;

// Policy settings (策略设置) end to end, on SQLite and PostgreSQL: who may see and change them,
// bilingual validation, the audit record, their effect on requests, several servers on one
// PostgreSQL database, the admin page, and the approval chain when the requester is a step of it.
//
// Demo company: zongjingli 总经理 (HQ), fuzong 营销副总 (YX), zongjian 营销总监 (YX), jingli1
// 部门经理 (XS1), xiaoshou1 业务员 (XS1), shenji1 审计员, dangan1 档案管理员; admin is
// 系统管理员 + 总经理 (HQ).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{send, Resp, TestServer};
use reqwest::Client;
use serde_json::{json, Value};

const DEMO: u64 = 10;

struct W<'a> {
    s: &'a TestServer,
    c: Client,
    tokens: HashMap<&'static str, String>,
}

impl<'a> W<'a> {
    async fn new(s: &'a TestServer, who: &[&'static str]) -> W<'a> {
        let logins = futures::future::join_all(who.iter().map(|u| async move { (*u, s.token(u, common::ADMIN_PASSWORD).await) })).await;
        W { s, c: Client::new(), tokens: logins.into_iter().collect() }
    }
    fn e(&self) -> String {
        format!("{:?}", self.s.engine)
    }
    async fn get(&self, who: &str, path: &str) -> Resp {
        send(self.c.get(self.s.url(path)).bearer_auth(&self.tokens[who])).await
    }
    async fn put(&self, who: &str, path: &str, body: &Value) -> Resp {
        send(self.c.put(self.s.url(path)).bearer_auth(&self.tokens[who]).json(body)).await
    }
    async fn post(&self, who: &str, path: &str, body: &Value) -> Resp {
        send(self.c.post(self.s.url(path)).bearer_auth(&self.tokens[who]).json(body)).await
    }
    async fn create(&self, who: &str, name: &str, tier: &str, secrecy: &str) -> i64 {
        let body = json!({"kind": "organization", "name": name, "mobile": "13712345678", "status": "active", "tier": tier, "secrecy": secrecy, "confirm_duplicates": true});
        let r = self.post(who, "/api/v1/archives", &body).await;
        assert_eq!(r.status, 201, "[{}] {who} creates {name}: {}", self.e(), r.text());
        r.json["id"].as_i64().unwrap()
    }
    async fn request(&self, who: &str, archive: i64, hours: i64) -> Value {
        let r = self.post(who, &format!("/api/v1/archives/{archive}/access-requests"), &json!({"purpose": "核对合同", "hours": hours})).await;
        assert_eq!(r.status, 201, "[{}] {who} requests archive {archive}: {}", self.e(), r.text());
        r.json
    }
    async fn inbox(&self, who: &str) -> Vec<i64> {
        let r = self.get(who, "/api/v1/access-requests?view=inbox").await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json.as_array().unwrap().iter().map(|x| x["id"].as_i64().unwrap()).collect()
    }
    async fn decide(&self, who: &str, rid: i64) -> Resp {
        self.post(who, &format!("/api/v1/access-requests/{rid}/decision"), &json!({"approve": true, "comment": "同意"})).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_are_seen_by_three_roles_changed_by_the_administrator_validated_and_audited() {
    for s in common::servers(DEMO).await {
        let w = W::new(&s, &["admin", "shenji1", "zongjingli", "xiaoshou1", "dangan1", "zongjian"]).await;
        let e = w.e();

        // The defaults: the seeds' (a fresh database behaves as before the settings existed).
        let r = w.get("admin", "/api/v1/policy").await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        let doc = r.json.clone();
        assert_eq!((doc["version"].as_i64(), doc["grant_max_hours"].as_i64(), doc["secret_grant_max_hours"].as_i64()), (Some(0), Some(72), Some(4)), "[{e}] {doc}");
        assert_eq!(doc["archive_room_networks"], json!([]), "[{e}]");
        assert_eq!(doc["editable"], true, "[{e}]");
        let chains = doc["chains"].as_array().unwrap();
        assert_eq!(chains.len(), 9, "[{e}] 3 tiers × 普通/秘密/机密: {doc}");
        assert!(chains.iter().all(|c| c["steps"] == json!(["archive_manager", "general_manager"])), "[{e}] the seeds' chain everywhere: {doc}");
        assert_eq!(doc["approver_kinds"].as_array().unwrap().len(), 6, "[{e}]");
        assert_eq!(doc["approver_kinds"][1]["label"], "申请人部门经理", "[{e}] labels in Chinese by default");

        // Who sees, who changes.
        for who in ["shenji1", "zongjingli"] {
            let r = w.get(who, "/api/v1/policy").await;
            assert_eq!((r.status, &r.json["editable"]), (200, &json!(false)), "[{e}] {who} views the policy: {}", r.text());
            let r = w.put(who, "/api/v1/policy", &doc).await;
            assert_eq!(r.status, 403, "[{e}] {who} may not change the policy: {}", r.text());
        }
        for who in ["xiaoshou1", "dangan1"] {
            assert_eq!(w.get(who, "/api/v1/policy").await.status, 403, "[{e}] {who} does not see the policy");
        }

        // Validation: every bad field named, in Chinese and English; nothing saved.
        let mut bad = doc.clone();
        bad["grant_max_hours"] = json!(0);
        bad["archive_room_networks"] = json!(["10.8.1.0/24", "10.8.1.300/24"]);
        bad["chains"][1]["steps"] = json!([]);
        let r = w.put("admin", "/api/v1/policy", &bad).await;
        assert_eq!(r.status, 422, "[{e}] {}", r.text());
        let errs: HashMap<String, (String, String)> = r.json["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x["field"].as_str().unwrap().to_string(), (x["message_zh"].as_str().unwrap().to_string(), x["message_en"].as_str().unwrap().to_string())))
            .collect();
        let net = &errs["archive_room_networks[1]"];
        assert!(net.0.starts_with("档案室网络第2项不是有效的网络地址") && net.0.contains("10.8.1.0/24"), "[{e}] {net:?}");
        assert!(net.1.starts_with("Archive-room networks, item 2, is not a network"), "[{e}] {net:?}");
        assert_eq!(errs["grant_max_hours"].0, "普通授权最长时限应在1到720小时之间", "[{e}]");
        assert_eq!(errs["chains.company.secret"].0, "公司级·秘密档案的审批流程至少要有一步，最多6步，同一审批人不能出现两次", "[{e}]");
        assert_eq!(errs.len(), 3, "[{e}] {errs:?}");
        assert_eq!(w.get("admin", "/api/v1/policy").await.json["version"].as_i64(), Some(0), "[{e}] nothing saved");

        // A change.
        let mut new = doc.clone();
        new["secret_grant_max_hours"] = json!(2);
        new["chains"][1]["steps"] = json!(["sales_director", "sales_vp"]); // 公司级 · 秘密
        new["archive_room_networks"] = json!(["10.8.1.7/24", " 192.168.5.20 "]);
        let r = w.put("admin", "/api/v1/policy", &new).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert_eq!(r.json["version"].as_i64(), Some(1), "[{e}]");
        assert_eq!(r.json["archive_room_networks"], json!(["10.8.1.0/24", "192.168.5.20/32"]), "[{e}] stored in canonical form");
        assert_eq!(r.json["chains"][1], json!({"tier": "company", "secrecy": "secret", "steps": ["sales_director", "sales_vp"]}), "[{e}]");
        // Based on the old version: refused.
        let r = w.put("admin", "/api/v1/policy", &new).await;
        assert_eq!((r.status, r.json["current_version"].as_i64()), (409, Some(1)), "[{e}] a stale change: {}", r.text());

        // One audit record, with before and after.
        let trail = w.get("shenji1", "/api/v1/audit?action=policy.change").await;
        assert_eq!(trail.status, 200, "[{e}] {}", trail.text());
        let recs = trail.json["items"].as_array().or(trail.json.as_array()).cloned().unwrap_or_default();
        assert_eq!(recs.len(), 1, "[{e}] one record per change (refusals write none): {}", trail.json);
        let detail: Value = match &recs[0]["detail"] {
            Value::String(s) => serde_json::from_str(s).unwrap(),
            v => v.clone(),
        };
        assert_eq!(detail["before"]["secret_grant_max_hours"], 4, "[{e}] {detail}");
        assert_eq!(detail["after"]["secret_grant_max_hours"], 2, "[{e}] {detail}");
        assert_eq!(detail["after"]["archive_room_networks"], json!(["10.8.1.0/24", "192.168.5.20/32"]), "[{e}] {detail}");
        assert_eq!(detail["changed"], json!(["secret_grant_max_hours", "chains", "archive_room_networks"]), "[{e}] {detail}");

        // In force: a 秘密 company archive's request follows the new chain and the new limit.
        let a = w.create("zongjian", "策略测试·秘密公司客户", "company", "secret").await;
        let req = w.request("xiaoshou1", a, 8).await;
        assert_eq!(req["chain"], json!(["sales_director", "sales_vp"]), "[{e}] {req}");
        assert_eq!(req["hours"].as_i64(), Some(2), "[{e}] clamped to the new 秘密 limit: {req}");
    }
}

/// Several stateless servers on one PostgreSQL database: a change made through one applies on
/// the other within `dangan_app::policy::REFRESH` (1 s), without restarting it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_through_one_server_applies_on_another_within_a_second() {
    let Some(a) = TestServer::start(common::Engine::Postgres, DEMO).await else {
        eprintln!("SKIPPED: no PostgreSQL server");
        return;
    };
    let b = a.twin().await.expect("a second server on the database");
    let wa = W::new(&a, &["admin", "xiaoshou1"]).await;
    let wb = W::new(&b, &["xiaoshou1"]).await;
    // A 机密 archive: outside the archive room refused outright, inside it "needs approval".
    let id = wa.create("xiaoshou1", "双服务器测试·机密客户", "personal", "normal").await;
    let mut doc = wa.get("xiaoshou1", &format!("/api/v1/archives/{id}")).await.json;
    doc["secrecy"] = json!("confidential");
    let r = wa.put("xiaoshou1", &format!("/api/v1/archives/{id}"), &doc).await;
    assert_eq!(r.status, 200, "raise to 机密: {}", r.text());
    let path = format!("/api/v1/archives/{id}");
    let outside = |r: &Resp| r.status == 404 || (r.status == 403 && !r.problem_type().ends_with("/needs-approval"));
    let inside = |r: &Resp| r.status == 403 && r.problem_type().ends_with("/needs-approval");
    for (srv, w) in [("A", &wa), ("B", &wb)] {
        let r = w.get("xiaoshou1", &path).await;
        assert!(outside(&r), "server {srv}: 127.0.0.1 is not the archive room yet: {} {}", r.status, r.text());
    }

    // The administrator designates 127.0.0.1 as the archive room through server A.
    let mut p = wa.get("admin", "/api/v1/policy").await.json;
    p["archive_room_networks"] = json!(["127.0.0.1/32"]);
    let r = wa.put("admin", "/api/v1/policy", &p).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let changed = Instant::now();
    let r = wa.get("xiaoshou1", &path).await;
    assert!(inside(&r), "server A applies its own change at once: {} {}", r.status, r.text());
    // Server B: within the bound.
    let bound = dangan_app::policy::REFRESH + Duration::from_millis(500);
    loop {
        let r = wb.get("xiaoshou1", &path).await;
        if inside(&r) {
            break;
        }
        assert!(outside(&r), "server B: {} {}", r.status, r.text());
        assert!(changed.elapsed() < bound, "server B still uses the old networks after {:?} (bound {bound:?})", changed.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("server B applied the change after {:?}", changed.elapsed());
    // And B's view of the settings is the new one.
    let wb_admin = W::new(&b, &["admin"]).await;
    assert_eq!(wb_admin.get("admin", "/api/v1/policy").await.json["version"].as_i64(), Some(1));
    // Back: removing the network applies the same way.
    let mut p = wb_admin.get("admin", "/api/v1/policy").await.json;
    p["archive_room_networks"] = json!([]);
    assert_eq!(wb_admin.put("admin", "/api/v1/policy", &p).await.status, 200);
    let changed = Instant::now();
    loop {
        let r = wa.get("xiaoshou1", &path).await;
        if outside(&r) {
            break;
        }
        assert!(changed.elapsed() < bound, "server A still treats 127.0.0.1 as the archive room after {:?}", changed.elapsed());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// No one approves their own request, and no chain waits on its own requester: a step the
/// requester holds goes one level up; the general manager's own request goes to the VP of sales.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_requester_who_is_a_step_of_the_chain_passes_it_upwards() {
    for s in common::servers(DEMO).await {
        let w = W::new(&s, &["zongjingli", "fuzong", "zongjian", "jingli1", "xiaoshou1", "admin"]).await;
        let e = w.e();

        // The general manager asks to read a 秘密 company archive (a tier reader, but 秘密 needs a grant).
        let a = w.create("zongjian", "自审测试·秘密公司客户", "company", "secret").await;
        let r = w.get("zongjingli", &format!("/api/v1/archives/{a}")).await;
        assert_eq!(r.status, 403, "[{e}] 秘密: the GM needs a grant too: {}", r.text());
        let req = w.request("zongjingli", a, 2).await;
        let rid = req["id"].as_i64().unwrap();
        assert_eq!(req["chain"], json!(["archive_manager", "sales_vp"]), "[{e}] the director signs, the VP approves for the GM: {req}");
        assert!(!w.inbox("zongjingli").await.contains(&rid), "[{e}] not in the requester's own inbox");
        assert_eq!(w.decide("zongjingli", rid).await.status, 403, "[{e}] the GM cannot approve their own request");
        // admin is 系统管理员 + 总经理: as general manager they may decide any step of someone else's request.
        assert!(w.inbox("zongjian").await.contains(&rid), "[{e}] the director decides step 1");
        assert_eq!(w.decide("zongjian", rid).await.status, 200, "[{e}]");
        assert!(w.inbox("fuzong").await.contains(&rid), "[{e}] then the VP");
        let r = w.decide("fuzong", rid).await;
        assert_eq!((r.status, r.json["status"].as_str()), (200, Some("approved")), "[{e}] {}", r.text());
        assert_eq!(w.get("zongjingli", &format!("/api/v1/archives/{a}")).await.status, 200, "[{e}] the GM reads with the grant");

        // A department manager asks for a 秘密 department archive of their own department.
        let d = w.create("xiaoshou1", "自审测试·秘密部门客户", "department", "secret").await;
        let req = w.request("jingli1", d, 2).await;
        let rid = req["id"].as_i64().unwrap();
        assert_eq!(req["chain"], json!(["sales_director", "general_manager"]), "[{e}] the manager's own step goes to the director: {req}");
        assert!(!w.inbox("jingli1").await.contains(&rid), "[{e}]");
        assert_eq!(w.decide("jingli1", rid).await.status, 403, "[{e}] the manager cannot sign their own request");
        assert_eq!(w.decide("zongjian", rid).await.status, 200, "[{e}]");
        assert_eq!(w.decide("jingli1", rid).await.status, 403, "[{e}] nor approve it at the next step");
        let r = w.decide("zongjingli", rid).await;
        assert_eq!((r.status, r.json["status"].as_str()), (200, Some("approved")), "[{e}] {}", r.text());
        assert_eq!(w.get("jingli1", &format!("/api/v1/archives/{d}")).await.status, 200, "[{e}]");

        // An ordinary requester keeps the seeds' chain.
        let req = w.request("xiaoshou1", a, 2).await;
        assert_eq!(req["chain"], json!(["archive_manager", "general_manager"]), "[{e}] {req}");
    }
}

/// The admin page (系统设置 → 策略设置): in Chinese, read-only for the auditor, refused to
/// others; a bad network is refused with the field's message and the input kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_page_shows_edits_and_refuses() {
    for s in common::servers(DEMO).await {
        let w = W::new(&s, &["admin", "shenji1", "xiaoshou1"]).await;
        let e = w.e();
        let page = |who: &str| send(w.c.get(s.url("/admin/policy")).header("cookie", format!("{}={}", dangan_web::SESSION_COOKIE, w.tokens[who])));
        let r = page("admin").await;
        let html = r.text();
        assert_eq!(r.status, 200, "[{e}] {html}");
        for want in ["策略设置", "访问规则", "授权时限", "审批流程", "档案室网络", "主管经理 → 总经理", "id=\"policy-save\"", "href=\"/admin/policy\""] {
            assert!(html.contains(want), "[{e}] the page shows {want:?}");
        }
        let r = page("shenji1").await;
        assert_eq!(r.status, 200, "[{e}]");
        assert!(r.text().contains("id=\"policy-readonly\"") && !r.text().contains("id=\"policy-save\""), "[{e}] read-only for the auditor");
        assert!(r.text().contains("id=\"menu-admin\""), "[{e}] the auditor reaches it from the menu");
        assert_eq!(page("xiaoshou1").await.status, 403, "[{e}]");

        // Save with a bad network: 422, the message in Chinese, the input kept.
        let csrf = html.split("name=\"_csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let mut form: Vec<(String, String)> = vec![
            ("_csrf".into(), csrf.clone()),
            ("version".into(), "0".into()),
            ("grant_max_hours".into(), "48".into()),
            ("secret_grant_max_hours".into(), "3".into()),
            ("archive_room_networks".into(), "10.8.1.0/24\n档案室".into()),
        ];
        for tier in ["company", "department", "personal"] {
            for sec in ["normal", "secret", "confidential"] {
                form.push((format!("chain_{tier}_{sec}_0"), "requester_dept_manager".into()));
                form.push((format!("chain_{tier}_{sec}_1"), "general_manager".into()));
            }
        }
        let post = |form: Vec<(String, String)>| {
            send(w.c.post(s.url("/admin/policy/save")).header("cookie", format!("{}={}", dangan_web::SESSION_COOKIE, w.tokens["admin"])).form(&form))
        };
        let r = post(form.clone()).await;
        assert_eq!(r.status, 422, "[{e}] {}", r.text());
        assert!(r.text().contains("档案室网络第2项不是有效的网络地址"), "[{e}] {}", r.text());
        assert!(r.text().contains("档案室") && r.text().contains("value=\"48\""), "[{e}] the input is kept");
        // Fixed: saved, and the chains read back.
        form[4].1 = "10.8.1.0/24".into();
        let no_redirect = Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let r = send(no_redirect.post(s.url("/admin/policy/save")).header("cookie", format!("{}={}", dangan_web::SESSION_COOKIE, w.tokens["admin"])).form(&form)).await;
        assert_eq!(r.status, 303, "[{e}] {}", r.text());
        let doc = w.get("admin", "/api/v1/policy").await.json;
        assert_eq!((doc["version"].as_i64(), doc["grant_max_hours"].as_i64(), doc["secret_grant_max_hours"].as_i64()), (Some(1), Some(48), Some(3)), "[{e}] {doc}");
        assert!(doc["chains"].as_array().unwrap().iter().all(|c| c["steps"] == json!(["requester_dept_manager", "general_manager"])), "[{e}] {doc}");
        let r = page("admin").await;
        assert!(r.text().contains("申请人部门经理 → 总经理") && r.text().contains("第1版"), "[{e}] the page shows the saved chains");
        // Forged form (wrong CSRF token): refused, nothing saved.
        form[0].1 = "forged".into();
        form[1].1 = "1".into();
        assert_ne!(post(form).await.status, 303, "[{e}]");
        assert_eq!(w.get("admin", "/api/v1/policy").await.json["version"].as_i64(), Some(1), "[{e}]");
    }
}
