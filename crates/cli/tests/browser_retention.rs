#![allow(dead_code)]
mod common;

// Browser end-to-end test of retention and destruction in headless Chromium (SQLite, then
// PostgreSQL where reachable): the archivist sees a due archive on 到期待处置, appraises it and
// files the request naming the witness; the general manager approves on the request page; the
// witness confirms and the archive page becomes the tombstone; a legal hold set on the archive's
// 保管与个人信息 page shows on the archive page; consents and a personal-information request are
// recorded. Required in CI like browser.rs (`DANGAN_REQUIRE_BROWSER=1`).
//
// Screenshots: `<workspace>/test-artifacts/browser/retention-<engine>-NN-<page>.png`.

use common::{send, TestServer, ADMIN_PASSWORD};
use fantoccini::Client;
use serde_json::json;

use common::browser::*;

async fn logout(c: &Client) {
    click_nav(c, ".topbar form[action='/logout'] button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retention_destruction_and_pipl_in_headless_chromium() {
    on_both_engines("retention", 3, Some((1280, 900)), |c, s, shots| Box::pin(flow(c, s, shots))).await;
}

/// A closed archive whose paper file was closed in 2010 (due in 2020), made through the API.
async fn due_archive(s: &TestServer, name: &str, mobile: &str) -> (i64, String) {
    let c = reqwest::Client::new();
    let sales = s.token("xiaoshou1", ADMIN_PASSWORD).await;
    let archivist = s.token("dangan1", ADMIN_PASSWORD).await;
    let r = send(c.post(s.url("/api/v1/archives")).bearer_auth(&sales).json(&json!({"kind": "person", "name": name, "mobile": mobile, "retention_class": "10y", "status": "closed", "confirm_duplicates": true}))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json["id"].as_i64().unwrap();
    let r = send(c.post(s.url(&format!("/api/v1/archives/{id}/closed-on"))).bearer_auth(&archivist).json(&json!({"closed_on": "2010-03-01"}))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    (id, r.json["archive_id"].to_string())
}

async fn flow(c: &Client, s: &TestServer, shots: &Shots) {
    let (a, _) = due_archive(s, "页面销毁测试", "13922220001").await;
    let (b, _) = due_archive(s, "页面冻结测试", "13922220002").await;
    let users = s.app.store.list_users().await.unwrap();
    let kefu = users.iter().find(|u| u.username == "kefu1").unwrap().id;

    // --- the archivist: 到期待处置 → appraise → request
    login_as(c, s, "dangan1", "钱芳").await;
    click_nav(c, "#menu-retention").await;
    assert_eq!(path(c).await, "/retention");
    find(c, &format!("#due-{a}")).await;
    find(c, &format!("#due-{b}")).await;
    shots.take(c, "01-due-list").await;
    click(c, &format!("#due-{a} input[type=checkbox]")).await;
    click(c, &format!("#d-witness option[value='{kefu}']")).await;
    click_nav(c, "#d-submit").await;
    assert!(path(c).await.starts_with("/destructions/"), "the request page opens: {}", here(c).await);
    let request_path = path(c).await;
    assert!(text(c, "#destruction-status").await.contains("审批中"));
    assert!(text(c, "#items-table").await.contains("页面销毁测试"));
    assert!(!exists(c, "#approve").await, "the archivist does not approve their own request");
    shots.take(c, "02-request").await;

    // Legal hold on the other archive: set on its 保管与个人信息 page, shown on the archive page.
    goto(c, &s.url(&format!("/archives/{b}/retention"))).await;
    type_into(c, "#hold-reason", "（2026）浙01民初88号诉讼保全").await;
    click_nav(c, "#hold-submit").await;
    assert!(text(c, "#hold-status").await.contains("诉讼保全"));
    // A consent for a child without a guardian is refused on the page, with a guardian saved.
    click(c, "#consent-add summary").await;
    type_into(c, "#c-subject", "小冻").await;
    type_into(c, "#c-purpose", "课程服务").await;
    type_into(c, "#c-scope", "姓名、年龄").await;
    type_into(c, "#c-birth", "2018-01-01").await;
    click_nav(c, "#c-submit").await;
    assert!(text(c, "#retention-error").await.contains("监护人"), "the guardian rule in Chinese");
    click(c, "#consent-add summary").await;
    type_into(c, "#c-subject", "小冻").await;
    type_into(c, "#c-purpose", "课程服务").await;
    type_into(c, "#c-scope", "姓名、年龄").await;
    type_into(c, "#c-birth", "2018-01-01").await;
    type_into(c, "#c-guardian", "王芳").await;
    type_into(c, "#c-relation", "母亲").await;
    click_nav(c, "#c-submit").await;
    assert!(text(c, "#consents-table").await.contains("王芳（母亲）"));
    shots.take(c, "03-archive-retention").await;
    goto(c, &s.url("/retention")).await;
    assert!(!exists(c, &format!("#due-{b}")).await, "held: off the due list");
    logout(c).await;

    // --- the general manager approves
    login_as(c, s, "zongjingli", "周建华").await;
    goto(c, &s.url(&request_path)).await;
    type_into(c, "#decide-comment", "同意销毁").await;
    click_nav(c, "#approve").await;
    assert!(text(c, "#destruction-status").await.contains("待监销"));
    logout(c).await;

    // --- the witness confirms: carried out; the archive page is the tombstone
    login_as(c, s, "kefu1", "赵敏").await;
    goto(c, &s.url(&request_path)).await;
    shots.take(c, "05-witness").await;
    c.execute("window.__danganOldPage = true; return null;", vec![]).await.unwrap();
    click(c, "#witness-confirm").await;
    let dialog = c.get_alert_text().await.expect("a confirmation dialog");
    let a_no = s.app.store.get_archive(a).await.unwrap().unwrap().archive_no;
    assert!(dialog.contains("确认销毁") && dialog.contains(&a_no), "the question names the archive: {dialog:?}");
    c.accept_alert().await.expect("confirm");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let done = c.execute("return window.__danganOldPage !== true && document.readyState === 'complete';", vec![]).await;
        if matches!(done, Ok(serde_json::Value::Bool(true))) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "confirming did not load a new page");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    check_page(c).await;
    assert!(text(c, "#destruction-status").await.contains("已销毁"));
    let register_no = text(c, "#register-no").await;
    assert!(register_no.starts_with("XH-"), "{register_no}");
    assert!(!text(c, "#items-table").await.contains("页面销毁测试"), "the register keeps no name");
    shots.take(c, "06-destroyed").await;
    // A personal-information request recorded by service staff, due in 30 days.
    click_nav(c, "#menu-retention").await;
    goto(c, &s.url("/pipl")).await;
    let b_no = s.app.store.get_archive(b).await.unwrap().unwrap().archive_no;
    type_into(c, "#p-no", &b_no).await;
    click(c, "#p-kind option[value='copy']").await;
    type_into(c, "#p-subject", "王芳").await;
    type_into(c, "#p-received", "2026-03-02").await;
    click_nav(c, "#p-submit").await;
    assert!(text(c, "#pipl-table").await.contains("2026-04-01"), "due in 30 days");
    shots.take(c, "07-pipl").await;
    logout(c).await;

    login_as(c, s, "dangan1", "钱芳").await;
    goto(c, &s.url(&format!("/archives/{a}"))).await;
    assert_eq!(path(c).await, format!("/archives/{a}/retention"), "a destroyed archive opens as its tombstone");
    assert!(text(c, "#tombstone").await.contains("已销毁"));
    assert_eq!(text(c, "#tombstone-register").await, register_no);
    shots.take(c, "08-tombstone").await;
    goto(c, &s.url("/destructions?status=destroyed")).await;
    assert!(text(c, "#destructions-table").await.contains(&register_no));
    shots.take(c, "09-register").await;
    assert!(!body_text(c).await.contains("ret."), "no raw keys");
    logout(c).await;

    // The owner sees the hold on the archive page.
    login_as(c, s, "xiaoshou1", "张明").await;
    goto(c, &s.url(&format!("/archives/{b}"))).await;
    assert!(text(c, "#retention-line").await.contains("法律冻结"), "the archive page shows the hold");
    shots.take(c, "04-archive-hold").await;
    logout(c).await;
}
