#![allow(dead_code)]
mod common;

// Browser end-to-end test of the audit trail and the version history (审计日志, 变更历史) in
// headless Chromium through chromedriver, on a real server (SQLite, then PostgreSQL where
// reachable). Required in CI like browser.rs (`CI` set or `DANGAN_REQUIRE_BROWSER=1`: a missing
// browser fails); elsewhere skipped with a message.
//
// Screenshots: `<workspace>/test-artifacts/browser/audit-<engine>-NN-<page>.png`; a failing flow
// leaves `audit-<engine>-FAILED.png`. The browser helpers are shared with browser.rs
// (`common/browser.rs`).

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Engine, TestServer, ADMIN_PASSWORD};
use fantoccini::Client;
use futures::FutureExt;
use serde_json::{json, Value};

use common::browser::*;

/// The demo company (its staff share the admin's password) exists once demo data is loaded.
const DEMO_ARCHIVES: u64 = 5;

async fn logout(c: &Client) {
    click_nav(c, ".topbar form[action='/logout'] button[type=submit]").await;
    assert_eq!(path(c).await, "/login", "logging out shows the login page");
}


// ---------------------------------------------------------------- the audit flow

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_and_history_flow_in_headless_chromium_on_both_engines() {
    let started = Instant::now();
    let Some((mut driver, client)) = start_browser().await else { return };
    let dir = artifacts_dir();
    let mut passed = Vec::new();
    let mut findings: Vec<String> = Vec::new();
    {
        let server = TestServer::start(Engine::Sqlite, DEMO_ARCHIVES).await.expect("sqlite server");
        findings.extend(run_audit_flow(&client, &server, &dir).await);
        client.delete_all_cookies().await.expect("clear cookies");
        passed.push("SQLite");
    }
    if let Some(server) = TestServer::start(Engine::Postgres, DEMO_ARCHIVES).await {
        findings.extend(run_audit_flow(&client, &server, &dir).await);
        client.delete_all_cookies().await.expect("clear cookies");
        passed.push("PostgreSQL");
    }
    client.close().await.expect("close the browser session");
    driver.session = None;
    drop(driver);
    eprintln!("audit flow ran on {} in {:.1} s; screenshots in {}", passed.join(" and "), started.elapsed().as_secs_f64(), dir.display());
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

async fn run_audit_flow(c: &Client, s: &TestServer, dir: &Path) -> Option<String> {
    let tag = match s.engine {
        Engine::Sqlite => "audit-sqlite",
        Engine::Postgres => "audit-postgres",
    };
    let shots = Shots { dir: dir.to_path_buf(), tag };
    let _ = std::fs::remove_file(dir.join(format!("{tag}-FAILED.png")));
    let t = Instant::now();
    match AssertUnwindSafe(audit_flow(c, s, &shots)).catch_unwind().await {
        Err(panic) => {
            let failed = dir.join(format!("{tag}-FAILED.png"));
            if let Ok(png) = c.screenshot().await {
                let _ = std::fs::write(&failed, png);
            }
            eprintln!("[{tag}] audit flow FAILED on {}; screenshot {}", here(c).await, failed.display());
            std::panic::resume_unwind(panic);
        }
        Ok(finding) => {
            eprintln!("[{tag}] audit flow ran in {:.1} s{}", t.elapsed().as_secs_f64(), if finding.is_some() { " (with a failure, reported at the end)" } else { "" });
            finding
        }
    }
}

/// The browser's cookies as a `Cookie` header, to fetch a link the way the browser would.
async fn cookie_header(c: &Client) -> String {
    c.get_all_cookies().await.expect("cookies").iter().map(|k| format!("{}={}", k.name(), k.value())).collect::<Vec<_>>().join("; ")
}

async fn audit_flow(c: &Client, s: &TestServer, shots: &Shots) -> Option<String> {
    let tag = shots.tag;
    set_viewport(c, DESKTOP).await;
    let http = reqwest::Client::new();

    // (0) Through the API: 张明 (xiaoshou1) creates an archive and opens it many times (more
    // than one page of the trail).
    let name = format!("泉州审计浏览器测试有限公司（{tag}）");
    let owner = s.token("xiaoshou1", ADMIN_PASSWORD).await;
    let body = json!({"kind": "organization", "name": name, "mobile": "13855556666", "organization": {"uscc": "91350100M000100Y43"}, "tier": "personal", "secrecy": "normal"});
    let res = http.post(s.url("/api/v1/archives")).bearer_auth(&owner).json(&body).send().await.expect("POST archive");
    assert_eq!(res.status(), 201, "create: {}", res.text().await.unwrap_or_default());
    let created: Value = res.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    let archive_no = created["archive_no"].as_str().unwrap().to_string();
    for _ in 0..55 {
        let r = http.get(s.url(&format!("/api/v1/archives/{id}"))).bearer_auth(&owner).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }

    // (1) The editor corrects the name: refused without a reason (inline), saved with one.
    login_as(c, s, "xiaoshou1", "张明").await;
    assert!(!exists(c, "#menu-audit").await, "a salesperson has no 审计日志 menu item");
    goto(c, &s.url(&format!("/archives/{id}/edit"))).await;
    let renamed = format!("泉州审计浏览器测试股份有限公司（{tag}）");
    type_into(c, "#f-name", &renamed).await;
    click_nav(c, "#save").await;
    let err = text(c, "#err-reason").await;
    assert!(err.contains("必须填写"), "a name correction without a reason is refused under the reason field: {err:?}");
    assert_eq!(value(c, "#f-name").await, renamed, "the typed name is kept");
    shots.take(c, "01-reason-required").await;
    type_into(c, "#f-reason", "工商登记名称变更").await;
    click_nav(c, "#save").await;
    assert_eq!(path(c).await, format!("/archives/{id}"), "saved, back on the archive");
    assert!(text(c, "#archive-name").await.contains(&renamed), "the new name is shown");
    eprintln!("[{tag}] (1) name corrected with a reason");

    // (2) 变更历史: v2 with the reason; compare v1 → v2.
    let hist = text(c, "#history").await;
    assert!(exists(c, "#version-2").await && exists(c, "#version-1").await, "history lists v2 and v1: {hist}");
    assert!(text(c, "#version-2").await.contains("工商登记名称变更"), "v2 shows its reason: {}", text(c, "#version-2").await);
    c.execute("document.getElementById('history').scrollIntoView(); return null;", vec![]).await.unwrap();
    shots.take(c, "02-history").await;
    find(c, "#diff-from").await.select_by_value("1").await.expect("from v1");
    find(c, "#diff-to").await.select_by_value("2").await.expect("to v2");
    click_nav(c, "#compare").await;
    assert_eq!(path(c).await, format!("/archives/{id}/diff"), "the diff page");
    assert!(here(c).await.contains("from=1") && here(c).await.contains("to=2"), "{}", here(c).await);
    let rows = texts(c, "#diff-table tbody tr").await;
    let name_row = rows.iter().find(|r| r.contains(&renamed)).unwrap_or_else(|| panic!("a row for the name: {rows:?}"));
    assert!(name_row.contains(&name), "before and after of the name: {name_row}");
    assert_eq!(texts(c, "#diff-table .diff-before").await.iter().filter(|t| t.contains(&name)).count(), 1, "the old name under 变更前");
    assert_eq!(texts(c, "#diff-table .diff-after").await.iter().filter(|t| t.contains(&renamed)).count(), 1, "the new name under 变更后");
    assert_eq!(rows.len(), 1, "only the name changed: {rows:?}");
    shots.take(c, "03-diff").await;
    eprintln!("[{tag}] (2) diff v1 → v2 shown");

    // (3) Restore v1 with a reason (confirming the dialog): a new version v3 with the old name.
    goto(c, &s.url(&format!("/archives/{id}"))).await;
    assert!(!exists(c, "#version-2 .restore-form").await, "the current version has no restore button");
    type_into(c, "#version-1 .restore-form input[name=reason]", "更名登记有误").await;
    c.execute("window.__danganOldPage = true; return null;", vec![]).await.unwrap();
    find(c, "#version-1 .restore-form button.restore").await.click().await.expect("click restore");
    let dialog = c.get_alert_text().await.expect("a confirmation dialog");
    assert!(dialog.contains("确认将档案恢复") && dialog.contains("v1") && dialog.contains(&archive_no), "the confirmation names the version and number: {dialog:?}");
    c.accept_alert().await.expect("confirm");
    let deadline = Instant::now() + WAIT;
    loop {
        let done = c.execute("return window.__danganOldPage !== true && document.readyState === 'complete';", vec![]).await;
        if matches!(done, Ok(Value::Bool(true))) {
            break;
        }
        assert!(Instant::now() < deadline, "restoring did not load a new page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check_page(c).await;
    assert_eq!(path(c).await, format!("/archives/{id}"), "back on the archive after restoring");
    assert!(text(c, "#archive-name").await.contains(&name) && !text(c, "#archive-name").await.contains("股份"), "the old name is back: {}", text(c, "#archive-name").await);
    assert!(exists(c, "#version-3").await, "the restore is a new version v3");
    let v3 = text(c, "#version-3").await;
    assert!(v3.contains("恢复到版本 1") && v3.contains("更名登记有误"), "v3 says what it restored and why: {v3}");
    assert!(exists(c, "#version-2").await, "v2 stays in the history");
    c.execute("document.getElementById('history').scrollIntoView(); return null;", vec![]).await.unwrap();
    shots.take(c, "04-restored").await;
    logout(c).await;
    eprintln!("[{tag}] (3) v1 restored as v3");

    // (4) The auditor 冯强 (shenji1): 审计日志 from the left menu, filter, pages, CSV.
    login_as(c, s, "shenji1", "冯强").await;
    click_nav(c, "#menu-audit").await;
    assert_eq!(path(c).await, "/audit");
    assert!(exists(c, "#menu-audit.active").await, "审计日志 is the active menu item");
    assert!(find_all(c, "#audit-table tbody tr").await.len() >= 2, "the trail has rows");
    shots.take(c, "05-audit").await;
    find(c, "#f-action").await.select_by_value("archive.restore").await.expect("choose 恢复历史版本");
    click_nav(c, "#filter").await;
    assert!(here(c).await.contains("action=archive.restore"), "{}", here(c).await);
    let rows = texts(c, "#audit-table tbody tr").await;
    assert_eq!(rows.len(), 1, "one restore: {rows:?}");
    assert!(rows[0].contains("恢复历史版本") && rows[0].contains(&archive_no) && rows[0].contains("xiaoshou1") && rows[0].contains("127.0.0.1"), "the restore row: {}", rows[0]);
    assert_eq!(value(c, "#f-action").await, "archive.restore", "the filter keeps its value");
    shots.take(c, "06-audit-filtered").await;
    // Reads of the archive: more than a page.
    goto(c, &s.url(&format!("/audit?action=archive.read&archive_id={id}"))).await;
    let first = find_all(c, "#audit-table tbody tr").await.len();
    assert_eq!(first, 50, "a full first page");
    let seqs1 = texts(c, "#audit-table tbody tr td:first-child").await;
    assert!(exists(c, "#next-page").await, "a 下一页 link");
    click_nav(c, "#next-page").await;
    assert!(here(c).await.contains("before_seq=") && here(c).await.contains("action=archive.read"), "the next page keeps the filter: {}", here(c).await);
    let seqs2 = texts(c, "#audit-table tbody tr td:first-child").await;
    assert!(!seqs2.is_empty(), "page 2 has rows");
    let min1: i64 = seqs1.iter().map(|s| s.parse::<i64>().unwrap()).min().unwrap();
    let max2: i64 = seqs2.iter().map(|s| s.parse::<i64>().unwrap()).max().unwrap();
    assert!(max2 < min1, "page 2 continues below page 1 ({max2} < {min1})");
    assert!(texts(c, "#audit-table tbody tr td:nth-child(4)").await.iter().all(|a| a == "查阅档案"), "only reads");
    shots.take(c, "07-audit-page2").await;
    // The CSV link, fetched with the browser's session.
    let href = find(c, "#export-csv").await.attr("href").await.unwrap().expect("href");
    assert!(href.contains("format=csv") && href.contains("action=archive.read"), "the export link carries the filter: {href}");
    let res = http.get(s.url(&href)).header("Cookie", cookie_header(c).await).send().await.expect("GET csv");
    assert_eq!(res.status(), 200, "CSV download");
    let bytes = res.bytes().await.unwrap();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "CSV with a BOM");
    let csv = String::from_utf8_lossy(&bytes[3..]).to_string();
    assert!(csv.starts_with("序号,时间,用户ID,用户"), "Chinese headers: {}", &csv[..80.min(csv.len())]);
    assert!(csv.lines().count() > 55, "every read is in the export ({} lines)", csv.lines().count());
    eprintln!("[{tag}] (4) auditor: filter, pages, CSV ok");

    // (5) 查阅记录 on the archive page, for the general manager (who may read it and the trail).
    logout(c).await;
    login_as(c, s, "zongjingli", "周建华").await;
    let gm_reads = || async {
        let users = s.app.users().await.unwrap();
        let gm = users.iter().find(|u| u.username == "zongjingli").unwrap().id;
        let q = dangan_app::store::AuditQuery { user_id: Some(gm), archive_id: Some(id), action: Some("archive.read".into()), limit: 1000, ..Default::default() };
        s.app.store.list_audit(&q).await.unwrap().len()
    };
    let reads_before = gm_reads().await;
    goto(c, &s.url(&format!("/archives/{id}"))).await;
    let page_reads = gm_reads().await - reads_before;
    let mut findings = Vec::new();
    if page_reads != 1 {
        findings.push(format!("[{tag}] opening the archive page once records {page_reads} archive.read records for zongjingli (expected 1: one consultation, one record)"));
    }
    let consult = text(c, "#consultations").await;
    assert!(consult.contains("查阅记录") && consult.contains("xiaoshou1") && consult.contains("查阅档案") && consult.contains("恢复历史版本"), "查阅记录 lists the reads and changes: {consult}");
    c.execute("document.getElementById('consultations').scrollIntoView(); return null;", vec![]).await.unwrap();
    shots.take(c, "08-consultations-gm").await;
    logout(c).await;

    // (6) … and for the auditor, whose role reads the trail but no archive content: the archive
    // page stays closed (it shows the request form), and links to the archive's trail, which
    // lists the reads.
    login_as(c, s, "shenji1", "冯强").await;
    goto(c, &s.url(&format!("/archives/{id}"))).await;
    assert!(!exists(c, "#consultations").await, "the auditor does not open the archive itself");
    shots.take(c, "09-archive-as-auditor").await;
    click_nav(c, "#archive-trail").await;
    let trail = text(c, "#audit-table").await;
    assert!(trail.contains("xiaoshou1") && trail.contains("查阅档案"), "the archive's reads, for the auditor: {trail}");
    eprintln!("[{tag}] (5) 查阅记录 checked");
    (!findings.is_empty()).then(|| findings.join("\n"))
}
