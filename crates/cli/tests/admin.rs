//! User administration (系统设置 → 用户与角色) through the API on both engines: the system
//! administrator changes roles, department and the active flag; the change takes effect at once
//! (a disabled user's token stops working), is audited with before and after, and nobody else
//! may make it; an administrator cannot lock themselves out.

mod common;

use common::{send, ADMIN_PASSWORD};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_administrator_changes_roles_and_disables_accounts() {
    for s in common::servers(10).await {
        let e = format!("{:?}", s.engine);
        let http = reqwest::Client::new();
        let admin = s.admin_token().await;
        let sales = s.token("xiaoshou1", ADMIN_PASSWORD).await;
        let manager = s.token("jingli1", ADMIN_PASSWORD).await;
        let target = s.app.store.find_login("xiaoshou1").await.unwrap().unwrap().user;
        let me = s.app.store.find_login("admin").await.unwrap().unwrap().user;

        // The salesperson cannot read the audit trail…
        let r = send(http.get(s.url("/api/v1/audit")).bearer_auth(&sales)).await;
        assert_eq!(r.status, 403, "[{e}]");

        // …until the administrator makes them an auditor as well.
        let body = json!({ "display_name": "小王", "dept_id": target.dept_id, "roles": ["salesperson", "auditor"], "active": true });
        let r = send(http.put(s.url(&format!("/api/v1/users/{}", target.id))).bearer_auth(&admin).json(&body)).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert_eq!(r.json["display_name"], "小王", "[{e}]");
        let r = send(http.get(s.url("/api/v1/audit?action=user.roles")).bearer_auth(&sales)).await;
        assert_eq!(r.status, 200, "[{e}] the new role takes effect at once: {}", r.text());
        let rec = &r.json[0];
        assert_eq!(rec["username"], "admin", "[{e}] who changed it");
        let detail: serde_json::Value = serde_json::from_str(rec["detail"].as_str().unwrap()).unwrap();
        assert_eq!(detail["before"]["roles"], "salesperson", "[{e}] {detail}");
        assert_eq!(detail["after"]["roles"], "auditor,salesperson", "[{e}] {detail}");

        // Nobody but a system administrator changes users; the attempt is recorded.
        let r = send(http.put(s.url(&format!("/api/v1/users/{}", target.id))).bearer_auth(&manager).json(&body)).await;
        assert_eq!(r.status, 403, "[{e}]");
        let denied = s.app.store.list_audit(&dangan_store::AuditQuery { action: Some("user.roles".into()), outcome: Some("denied".into()), limit: 5, ..Default::default() }).await.unwrap();
        assert_eq!(denied.len(), 1, "[{e}] the refused change is in the trail");

        // An administrator cannot disable themselves or drop their own administrator role.
        let r = send(http.put(s.url(&format!("/api/v1/users/{}", me.id))).bearer_auth(&admin).json(&json!({ "display_name": "系统管理员", "dept_id": me.dept_id, "roles": ["general_manager"], "active": true }))).await;
        assert_eq!(r.status, 400, "[{e}] {}", r.text());

        // Disabling an account stops its token at once.
        let off = json!({ "display_name": "小王", "dept_id": target.dept_id, "roles": ["salesperson"], "active": false });
        let r = send(http.put(s.url(&format!("/api/v1/users/{}", target.id))).bearer_auth(&admin).json(&off)).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        let r = send(http.get(s.url("/api/v1/me")).bearer_auth(&sales)).await;
        assert_eq!(r.status, 401, "[{e}] a disabled user's token no longer works");
        let r = send(http.post(s.url("/api/v1/auth/login")).json(&json!({ "username": "xiaoshou1", "password": ADMIN_PASSWORD }))).await;
        assert_eq!(r.status, 401, "[{e}] nor can they log in");
    }
}
