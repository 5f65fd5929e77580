mod common;

// End-to-end tests of the borrowing register (借阅登记) and its overdue reminders (催还), through
// HTTP only, on SQLite and (where reachable) PostgreSQL, against the demo company: dangan1 档案管理员
// (档案室), jingli1 部门经理 of 销售一部 XS1 with xiaoshou1/xiaoshou2 业务员, jingli2 部门经理 of
// 销售二部 XS2 with xiaoshou3.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use common::{send, Resp, TestServer};
use reqwest::{Client, Method};
use serde_json::{json, Value};

const USERS: &[&str] = &["admin", "dangan1", "jingli1", "jingli2", "xiaoshou1", "xiaoshou2", "xiaoshou3"];

struct World<'a> {
    s: &'a TestServer,
    c: Client,
    tokens: HashMap<String, String>,
    users: HashMap<String, i64>,
}

impl<'a> World<'a> {
    async fn new(s: &'a TestServer) -> World<'a> {
        let mut tokens = HashMap::new();
        for u in USERS {
            tokens.insert(u.to_string(), s.token(u, common::ADMIN_PASSWORD).await);
        }
        let mut w = World { s, c: Client::new(), tokens, users: HashMap::new() };
        let users = w.ok("admin", Method::GET, "/api/v1/users", None).await;
        w.users = users.as_array().expect("users").iter().map(|u| (u["username"].as_str().unwrap().to_string(), u["id"].as_i64().unwrap())).collect();
        w
    }
    fn e(&self) -> String {
        format!("{:?}", self.s.engine)
    }
    fn uid(&self, who: &str) -> i64 {
        self.users[who]
    }
    async fn call(&self, who: &str, method: Method, path: &str, body: Option<&Value>) -> Resp {
        let mut rb = self.c.request(method, self.s.url(path)).bearer_auth(&self.tokens[who]);
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
    async fn lend(&self, who: &str, body: &Value) -> Resp {
        self.call(who, Method::POST, "/api/v1/loans", Some(body)).await
    }
    /// The overdue-loan reminders `who` receives, as (loan id → level).
    async fn reminders(&self, who: &str) -> HashMap<i64, i64> {
        let v = self.ok(who, Method::GET, "/api/v1/reminders/overdue-loans", None).await;
        v.as_array().expect("reminders").iter().map(|r| (r["loan"]["id"].as_i64().expect("loan id"), r["level"].as_i64().expect("level"))).collect()
    }
    async fn loan_ids(&self, who: &str, path: &str) -> Vec<i64> {
        let v = self.ok(who, Method::GET, path, None).await;
        v.as_array().expect("loans").iter().map(|l| l["id"].as_i64().unwrap()).collect()
    }
}

fn lend_body(archive_id: i64, borrower_id: i64, kind: &str, due_at: DateTime<Utc>) -> Value {
    json!({"archive_id": archive_id, "borrower_id": borrower_id, "kind": kind, "purpose": "核对合同原件", "due_at": due_at})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn borrowing_register_and_overdue_reminders() {
    for s in common::servers(5).await {
        let w = World::new(&s).await;
        let e = w.e();
        let page = w.ok("admin", Method::GET, "/api/v1/archives?limit=1", None).await;
        let archive_id = page["items"][0]["id"].as_i64().expect("a demo archive");
        let x1 = w.uid("xiaoshou1");
        let now = Utc::now();

        // Only the archivist records loans.
        for who in ["xiaoshou1", "jingli1", "admin"] {
            let r = w.lend(who, &lend_body(archive_id, x1, "paper", now + Duration::days(7))).await;
            assert_eq!(r.status, 403, "[{e}] {who} may not lend: {}", r.text());
            assert!(r.is_problem(), "[{e}] a problem document: {}", r.text());
        }
        // The borrower must exist; the kind must be known; only an electronic loan names a grant.
        let r = w.lend("dangan1", &lend_body(archive_id, 999_999, "paper", now)).await;
        assert_eq!(r.status, 400, "[{e}] unknown borrower: {}", r.text());
        assert!(r.is_problem());
        let r = w.lend("dangan1", &lend_body(archive_id, x1, "microfilm", now)).await;
        assert_eq!(r.status, 400, "[{e}] unknown kind: {}", r.text());
        let mut b = lend_body(archive_id, x1, "paper", now);
        b["grant_id"] = json!(1);
        assert_eq!(w.lend("dangan1", &b).await.status, 400, "[{e}] a paper loan records no grant");
        let mut b = lend_body(archive_id, x1, "paper", now);
        b["purpose"] = json!("  ");
        assert_eq!(w.lend("dangan1", &b).await.status, 422, "[{e}] the purpose is required");
        let r = w.lend("dangan1", &lend_body(999_999, x1, "paper", now)).await;
        assert_eq!(r.status, 404, "[{e}] unknown archive: {}", r.text());

        // Three loans to xiaoshou1: due a day ago (level 1), five days ago (level 2), next week.
        let r = w.lend("dangan1", &lend_body(archive_id, x1, "paper", now - Duration::days(1))).await;
        assert_eq!(r.status, 201, "[{e}] lend: {}", r.text());
        let recent = r.json;
        assert_eq!(recent["borrower_id"].as_i64(), Some(x1));
        assert_eq!(recent["lent_by"].as_i64(), Some(w.uid("dangan1")));
        assert_eq!(recent["kind"], "paper");
        assert_eq!(recent["overdue"], true, "[{e}] due in the past: overdue at once: {recent}");
        assert_eq!(recent["returned_at"], Value::Null);
        let recent_id = recent["id"].as_i64().unwrap();
        let r = w.lend("dangan1", &lend_body(archive_id, x1, "electronic", now - Duration::days(5))).await;
        assert_eq!(r.status, 201, "[{e}] lend: {}", r.text());
        let old_id = r.json["id"].as_i64().unwrap();
        let r = w.lend("dangan1", &lend_body(archive_id, x1, "paper", now + Duration::days(7))).await;
        assert_eq!(r.status, 201, "[{e}] lend: {}", r.text());
        assert_eq!(r.json["overdue"], false);
        let current_id = r.json["id"].as_i64().unwrap();

        // The register: the archivist sees all of it, a borrower their own, others nothing.
        assert_eq!(w.loan_ids("dangan1", "/api/v1/loans").await, vec![old_id, recent_id, current_id], "[{e}] soonest due first");
        assert_eq!(w.loan_ids("xiaoshou1", "/api/v1/loans").await, vec![old_id, recent_id, current_id]);
        assert!(w.loan_ids("xiaoshou2", "/api/v1/loans").await.is_empty(), "[{e}] not someone else's loans");
        assert!(w.loan_ids("xiaoshou3", "/api/v1/loans").await.is_empty());

        // Reminders (催还): the borrower gets both overdue loans; after 3 days the archivist and the
        // borrower's department manager too; nobody else.
        assert_eq!(w.reminders("xiaoshou1").await, HashMap::from([(recent_id, 1), (old_id, 2)]), "[{e}] the borrower");
        assert_eq!(w.reminders("dangan1").await, HashMap::from([(recent_id, 1), (old_id, 2)]), "[{e}] the archivist");
        assert_eq!(w.reminders("jingli1").await, HashMap::from([(old_id, 2)]), "[{e}] XS1's manager: the escalated one");
        for who in ["xiaoshou3", "xiaoshou2", "jingli2"] {
            assert!(w.reminders(who).await.is_empty(), "[{e}] {who} gets no reminder");
        }
        let v = w.ok("xiaoshou1", Method::GET, "/api/v1/reminders/overdue-loans", None).await;
        let old = v.as_array().unwrap().iter().find(|r| r["loan"]["id"].as_i64() == Some(old_id)).unwrap();
        assert!(old["days_overdue"].as_i64().unwrap() >= 4, "[{e}] {old}");

        // Only the archivist checks loans back in.
        let ret = format!("/api/v1/loans/{old_id}/return");
        let r = w.call("xiaoshou1", Method::POST, &ret, Some(&json!({"complete": true}))).await;
        assert_eq!(r.status, 403, "[{e}] the borrower cannot check in: {}", r.text());
        // Returned incomplete: flagged. The body cannot move the loan to someone else.
        let back = w.ok("dangan1", Method::POST, &ret, Some(&json!({"complete": false, "note": "缺第3页", "borrower_id": w.uid("xiaoshou2")}))).await;
        assert_eq!(back["returned_complete"], false);
        assert_eq!(back["flag_incomplete"], true, "[{e}] {back}");
        assert_eq!(back["overdue"], false);
        assert_eq!(back["checked_by"].as_i64(), Some(w.uid("dangan1")));
        assert_eq!(back["return_note"], "缺第3页");
        assert_eq!(back["borrower_id"].as_i64(), Some(x1), "[{e}] 不得转借");
        assert!(back["returned_at"].is_string());
        // Twice: conflict, and nothing changes.
        let r = w.call("dangan1", Method::POST, &ret, Some(&json!({"complete": true, "note": "补齐"}))).await;
        assert_eq!(r.status, 409, "[{e}] returned twice: {}", r.text());
        assert!(r.is_problem());
        let again = w.ok("dangan1", Method::GET, &format!("/api/v1/loans/{old_id}"), None).await;
        assert_eq!((again["returned_complete"].clone(), again["return_note"].clone(), again["flag_incomplete"].clone()), (json!(false), json!("缺第3页"), json!(true)));
        assert_eq!(w.call("dangan1", Method::POST, "/api/v1/loans/999999/return", Some(&json!({"complete": true}))).await.status, 404);

        // A complete return is not flagged.
        let back = w.ok("dangan1", Method::POST, &format!("/api/v1/loans/{current_id}/return"), Some(&json!({"complete": true}))).await;
        assert_eq!(back["flag_incomplete"], false);

        // A returned loan raises no more reminders and leaves the open list, not the register.
        assert_eq!(w.reminders("xiaoshou1").await, HashMap::from([(recent_id, 1)]));
        assert!(w.reminders("jingli1").await.is_empty());
        assert_eq!(w.loan_ids("dangan1", "/api/v1/loans?open=true").await, vec![recent_id]);
        assert_eq!(w.loan_ids("dangan1", "/api/v1/loans").await.len(), 3);

        // No endpoint changes a loan's borrower (不得转借).
        for m in [Method::PUT, Method::PATCH] {
            let r = w.call("dangan1", m.clone(), &format!("/api/v1/loans/{recent_id}"), Some(&json!({"borrower_id": w.uid("xiaoshou2")}))).await;
            assert_eq!(r.status, 405, "[{e}] {m} on a loan: {}", r.text());
        }
        let l = w.ok("xiaoshou1", Method::GET, &format!("/api/v1/loans/{recent_id}"), None).await;
        assert_eq!(l["borrower_id"].as_i64(), Some(x1));
        assert_eq!(w.call("xiaoshou2", Method::GET, &format!("/api/v1/loans/{recent_id}"), None).await.status, 404, "[{e}] not someone else's loan");

        // The register screen (借阅登记): overdue rows highlighted, the incomplete return flagged.
        let page = w.call("dangan1", Method::GET, "/loans", None).await;
        assert_eq!(page.status, 200, "[{e}] /loans: {}", page.text());
        let html = page.text();
        assert!(html.contains(r#"id="menu-loans""#), "[{e}] 借阅登记 is a real menu link");
        assert!(html.contains(&format!(r#"id="loan-{recent_id}" class="overdue""#)), "[{e}] the overdue row is highlighted");
        assert!(html.contains(&format!(r#"id="loan-{old_id}" class="incomplete""#)), "[{e}] the incomplete return is flagged");
        assert!(html.contains(&format!(r#"id="loan-{current_id}">"#)), "[{e}] a complete return is plain");
        assert!(html.contains(r#"id="overdue-alert""#));
        let open = w.call("dangan1", Method::GET, "/loans?open=true", None).await.text();
        assert!(open.contains(&format!(r#"id="loan-{recent_id}""#)) && !open.contains(&format!(r#"id="loan-{old_id}""#)), "[{e}] open loans only");
        let other = w.call("xiaoshou3", Method::GET, "/loans", None).await.text();
        assert!(other.contains(r#"id="loans-empty""#) && !other.contains(r#"id="loan-"#), "[{e}] not someone else's loans");

        // Documented in the OpenAPI description.
        let doc = w.ok("admin", Method::GET, "/api/openapi.json", None).await;
        for p in ["/api/v1/loans", "/api/v1/loans/{id}/return", "/api/v1/reminders/overdue-loans"] {
            assert!(doc["paths"][p].is_object(), "[{e}] {p} documented");
        }
    }
}
