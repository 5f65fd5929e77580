#![allow(dead_code)]
mod common;

// Browser end-to-end test of the duplicate check (查重) in headless Chromium through
// chromedriver, on a real server (SQLite, then PostgreSQL where reachable): the new-archive form
// warns about a likely duplicate and keeps the input, the confirmation saves; the archivist's
// scan page lists the pair; the owner merges from the archive page and the merged number opens
// the survivor. Required in CI like browser.rs (`DANGAN_REQUIRE_BROWSER=1`).
//
// Screenshots: `<workspace>/test-artifacts/browser/dedup-<engine>-NN-<page>.png`.

use common::{TestServer, ADMIN_PASSWORD};
use fantoccini::Client;
use serde_json::{json, Value};

use common::browser::*;

const DEMO_ARCHIVES: u64 = 5;

async fn login(c: &Client, s: &TestServer, username: &str) {
    goto(c, &s.url("/login")).await;
    type_into(c, "#username", username).await;
    type_into(c, "#password", ADMIN_PASSWORD).await;
    click_nav(c, "form[action='/login'] button[type=submit]").await;
    assert_eq!(path(c).await, "/archives", "{username} logs in");
}

async fn logout(c: &Client) {
    click_nav(c, ".topbar form[action='/logout'] button[type=submit]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn duplicate_warning_scan_and_merge_in_headless_chromium() {
    on_both_engines("dedup", DEMO_ARCHIVES, None, |c, s, shots| Box::pin(flow(c, s, shots))).await;
}

async fn flow(c: &Client, s: &TestServer, shots: &Shots) {
    set_viewport(c, DESKTOP).await;
    // An archive exists (through the API).
    let http = reqwest::Client::new();
    let owner = s.token("xiaoshou1", ADMIN_PASSWORD).await;
    let body = json!({"kind": "organization", "name": "福州琉璃坊陶艺有限公司", "mobile": "19912340001", "classification": {"city": "福州市"}});
    let res = http.post(s.url("/api/v1/archives")).bearer_auth(&owner).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    let first_no = first["archive_no"].as_str().unwrap().to_string();
    let first_id = first["id"].as_i64().unwrap();

    // (1) The form warns and keeps the input; nothing is saved.
    login(c, s, "xiaoshou1").await;
    goto(c, &s.url("/archives/new")).await;
    click(c, "#kind-organization").await;
    let name = "琉璃坊陶艺（福州）有限责任公司";
    type_into(c, "#f-name", name).await;
    type_into(c, "input[name='landline']", "0591-88881234").await;
    click_nav(c, "#save").await;
    assert_eq!(path(c).await, "/archives", "not saved: the form is shown again");
    let warning = text(c, "#dup-warning").await;
    assert!(warning.contains(&first_no), "the warning names the candidate's number: {warning}");
    assert!(warning.contains("福州琉璃坊陶艺有限公司") && warning.contains("同城同名") && warning.contains("名称近似"), "name and reasons: {warning}");
    let link = find(c, "#dup-table a").await.attr("href").await.unwrap().unwrap_or_default();
    assert_eq!(link, format!("/archives/{first_id}"), "the candidate links to its archive");
    assert_eq!(value(c, "#f-name").await, name, "the typed name is kept");
    assert_eq!(value(c, "input[name='landline']").await, "0591-88881234", "the typed phone is kept");
    assert!(text(c, ".dup-confirm").await.contains("仍然创建"), "the confirmation is offered");
    shots.take(c, "01-form-warning").await;

    // (2) Submitting again without the tick warns again; with it, saves.
    click_nav(c, "#save").await;
    assert!(exists(c, "#dup-warning").await, "still not saved without the confirmation");
    click(c, "#confirm-duplicates").await;
    click_nav(c, "#save").await;
    let second_path = path(c).await;
    assert!(second_path.starts_with("/archives/") && second_path != format!("/archives/{first_id}"), "saved: {second_path}");
    let second_no = text(c, "#archive-no").await;
    assert!(text(c, "#archive-name").await.contains(name));
    logout(c).await;

    // (3) The archivist's scan lists the pair, in Chinese.
    login(c, s, "dangan1").await;
    click_nav(c, "#menu-dedup").await;
    assert_eq!(path(c).await, "/duplicates");
    let table = text(c, "#dedup-table").await;
    assert!(table.contains(&first_no) && table.contains(&second_no), "the pair is listed: {table}");
    assert!(table.contains("同城同名"), "with its reasons: {table}");
    assert!(text(c, "h1").await.contains("查重"));
    shots.take(c, "02-scan").await;
    logout(c).await;

    // (4) The owner merges the second into the first from the archive page; the merged number
    // opens the survivor, saying so.
    login(c, s, "xiaoshou1").await;
    goto(c, &s.url(&format!("/archives/{first_id}"))).await;
    type_into(c, "#merge-other-no", &second_no).await;
    click_nav(c, "#merge-with-submit").await;
    assert!(text(c, "#merge-form").await.contains(&second_no), "the confirmation names both numbers");
    shots.take(c, "03-merge-confirm").await;
    type_into(c, "#merge-reason", "同一客户，重复建档").await;
    click_nav(c, "#merge-submit").await;
    assert_eq!(path(c).await, format!("/archives/{first_id}"));
    assert!(text(c, "#merged-notice").await.contains(&second_no), "the survivor says what was merged into it");
    assert_eq!(text(c, "#archive-no").await, first_no, "the survivor keeps its number");
    assert!(text(c, "#basic").await.contains("1234"), "the empty landline was filled from the merged archive (masked)");
    shots.take(c, "04-merged").await;
    goto(c, &s.url(&second_path)).await;
    assert_eq!(path(c).await, format!("/archives/{first_id}"), "the merged archive's page opens the survivor");
    assert!(text(c, "#merged-notice").await.contains(&second_no));
}
