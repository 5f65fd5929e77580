#![allow(dead_code)]
mod common;

// Browser test of the policy page (系统设置 → 策略设置) in headless Chromium on a real server
// (SQLite): the administrator reaches it from the menu, changes an approval chain, is told in
// Chinese which archive-room network is wrong, saves, and sees the chain; the auditor sees the
// page read-only. Screenshots: `<workspace>/test-artifacts/browser/policy-NN-<page>.png`.
// Required in CI like browser.rs (`CI` or `DANGAN_REQUIRE_BROWSER=1`); skipped elsewhere.

use std::panic::AssertUnwindSafe;

use common::browser::*;
use common::{Engine, TestServer, ADMIN_PASSWORD};
use fantoccini::Client;
use futures::FutureExt;

async fn login_as(c: &Client, s: &TestServer, username: &str) {
    goto(c, &s.url("/login")).await;
    type_into(c, "#username", username).await;
    type_into(c, "#password", ADMIN_PASSWORD).await;
    click_nav(c, "form[action='/login'] button[type=submit]").await;
    assert_eq!(path(c).await, "/archives", "{username} logs in");
}

async fn select(c: &Client, name: &str, value: &str) {
    find(c, &format!("select[name='{name}']")).await.select_by_value(value).await.unwrap_or_else(|e| panic!("select {value} in {name}: {e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_administrator_changes_a_chain_and_the_auditor_only_looks() {
    let Some((mut driver, c)) = start_browser().await else { return };
    let s = TestServer::start(Engine::Sqlite, 3).await.expect("sqlite server");
    let shots = Shots { dir: artifacts_dir(), tag: "policy" };
    let result = AssertUnwindSafe(flow(&c, &s, &shots)).catch_unwind().await;
    if result.is_err() {
        if let Ok(png) = c.screenshot().await {
            let _ = std::fs::write(shots.dir.join("policy-FAILED.png"), png);
        }
    }
    c.close().await.expect("close the browser session");
    driver.session = None;
    drop(driver);
    if let Err(p) = result {
        std::panic::resume_unwind(p);
    }
}

async fn flow(c: &Client, s: &TestServer, shots: &Shots) {
    set_viewport(c, DESKTOP).await;
    login_as(c, s, "admin").await;
    click_nav(c, "#menu-admin").await;
    assert_eq!(path(c).await, "/admin/users");
    click_nav(c, "#tab-policy").await;
    assert_eq!(path(c).await, "/admin/policy");
    assert_eq!(text(c, "h1").await, "策略设置");
    assert_eq!(text(c, "#chain_company_secret .chain-summary").await, "主管经理 → 总经理", "the seeds' chain by default");
    assert_eq!(value(c, "#secret_grant_max_hours").await, "4");
    shots.take(c, "01-page").await;

    // 公司级 · 秘密: the sales director, then the VP of sales; a wrong network first.
    select(c, "chain_company_secret_0", "sales_director").await;
    select(c, "chain_company_secret_1", "sales_vp").await;
    type_into(c, "#archive_room_networks", "10.8.1.0/24\n10.8.2.300").await;
    click_nav(c, "#policy-save").await;
    let err = text(c, "#policy-errors").await;
    assert!(err.contains("档案室网络第2项不是有效的网络地址"), "{err}");
    assert_eq!(value(c, "#archive_room_networks").await, "10.8.1.0/24\n10.8.2.300", "the input is kept");
    assert_eq!(value(c, "select[name='chain_company_secret_0']").await, "sales_director", "the chosen steps are kept");
    c.execute("document.querySelector('#policy-networks').scrollIntoView();", vec![]).await.expect("scroll");
    shots.take(c, "02-error").await;

    type_into(c, "#archive_room_networks", "10.8.1.0/24\n10.8.2.30").await;
    click_nav(c, "#policy-save").await;
    assert!(exists(c, "#policy-saved").await, "saved");
    assert_eq!(text(c, "#chain_company_secret .chain-summary").await, "营销总监 → 营销副总");
    assert_eq!(value(c, "#archive_room_networks").await, "10.8.1.0/24\n10.8.2.30/32");
    assert!(text(c, "#policy-version").await.contains("第1版"));
    shots.take(c, "03-saved").await;
    set_viewport(c, (390, 844)).await;
    assert_no_sideways_scroll(c, "the policy page on a phone").await;
    shots.take(c, "04-phone").await;
    set_viewport(c, DESKTOP).await;

    // The auditor: from the menu, read-only.
    click_nav(c, ".topbar form[action='/logout'] button[type=submit]").await;
    login_as(c, s, "shenji1").await;
    click_nav(c, "#menu-admin").await;
    assert_eq!(path(c).await, "/admin/policy");
    assert!(exists(c, "#policy-readonly").await && !exists(c, "#policy-save").await);
    assert_eq!(text(c, "#chain_company_secret .chain-summary").await, "营销总监 → 营销副总");
    let disabled = c.execute("return document.querySelector(\"select[name='chain_company_secret_0']\").matches(':disabled');", vec![]).await.unwrap();
    assert_eq!(disabled, serde_json::Value::Bool(true), "the auditor cannot change anything");
    shots.take(c, "05-auditor").await;
}
