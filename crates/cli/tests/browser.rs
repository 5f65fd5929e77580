mod common;

// Browser end-to-end tests: the web UI driven in headless Chromium through chromedriver, on a
// real server (SQLite, then PostgreSQL where reachable).
//
// Needs /usr/bin/chromedriver and /usr/bin/chromium (override with `DANGAN_CHROMEDRIVER` and
// `DANGAN_CHROMIUM`). When they are missing the test is skipped with a message on stderr,
// except in CI (`CI` set and not "false") or with `DANGAN_REQUIRE_BROWSER=1`, where it fails.
//
// Screenshots go to `<workspace>/test-artifacts/browser/<engine>-NN-<page>.png` (1366×768, plus
// one 390×844 phone view of the list); a failing flow leaves `<engine>-FAILED.png` there too.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::Instant;

use common::{Engine, TestServer, ADMIN_PASSWORD};
use fantoccini::Client;
use futures::FutureExt;
use serde_json::{json, Value};

use common::browser::*;

/// More than one page of 50, so the list has a next page.
const DEMO_ARCHIVES: u64 = 60;
const PAGE_SIZE: u64 = 50;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ui_flow_in_headless_chromium_on_both_engines() {
    let started = Instant::now();
    let Some((mut driver, client)) = start_browser().await else { return };
    let dir = artifacts_dir();
    let mut passed = Vec::new();
    {
        let server = TestServer::start(Engine::Sqlite, DEMO_ARCHIVES).await.expect("sqlite server");
        run_flow(&client, &server, &dir).await;
        // Both servers listen on 127.0.0.1 and cookies ignore the port: start the next one logged out.
        client.delete_all_cookies().await.expect("clear cookies");
        passed.push("SQLite");
    }
    if let Some(server) = TestServer::start(Engine::Postgres, DEMO_ARCHIVES).await {
        run_flow(&client, &server, &dir).await;
        client.delete_all_cookies().await.expect("clear cookies");
        passed.push("PostgreSQL");
    }
    client.close().await.expect("close the browser session");
    driver.session = None;
    drop(driver);
    eprintln!("browser flow passed on {} in {:.1} s; screenshots in {}", passed.join(" and "), started.elapsed().as_secs_f64(), dir.display());
}

/// The flow on one server; on failure leaves a screenshot of where it stopped.
async fn run_flow(c: &Client, s: &TestServer, dir: &Path) {
    let tag = match s.engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    };
    let shots = Shots { dir: dir.to_path_buf(), tag };
    let _ = std::fs::remove_file(dir.join(format!("{tag}-FAILED.png")));
    let t = Instant::now();
    if let Err(panic) = AssertUnwindSafe(flow(c, s, &shots)).catch_unwind().await {
        let failed = dir.join(format!("{tag}-FAILED.png"));
        if let Ok(png) = c.screenshot().await {
            let _ = std::fs::write(&failed, png);
        }
        eprintln!("[{tag}] browser flow FAILED on {}; screenshot {}", here(c).await, failed.display());
        std::panic::resume_unwind(panic);
    }
    eprintln!("[{tag}] browser flow passed in {:.1} s", t.elapsed().as_secs_f64());
}

async fn flow(c: &Client, s: &TestServer, shots: &Shots) {
    let tag = shots.tag;
    set_viewport(c, DESKTOP).await;

    // (1) Login: a protected page sends us to the login page; a wrong password is refused in Chinese.
    goto(c, &s.url("/archives")).await;
    assert_eq!(path(c).await, "/login", "unauthenticated /archives should redirect to the login page");
    assert!(here(c).await.contains("next=%2Farchives"), "login should remember where to go back: {}", here(c).await);
    assert_eq!(find(c, "html").await.attr("lang").await.unwrap().as_deref(), Some("zh-CN"), "a zh-CN browser gets the zh-CN UI");
    shots.take(c, "01-login").await;
    type_into(c, "#username", "admin").await;
    type_into(c, "#password", "not-the-password").await;
    click_nav(c, "form[action='/login'] button[type=submit]").await;
    let alert = text(c, ".login-card .alert-error").await;
    assert!(alert.contains("用户名或密码错误"), "wrong password message: {alert:?}");
    assert_eq!(value(c, "#username").await, "admin", "the username is kept after a failed login");
    shots.take(c, "01b-login-error").await;
    type_into(c, "#password", ADMIN_PASSWORD).await;
    click_nav(c, "form[action='/login'] button[type=submit]").await;
    assert_eq!(path(c).await, "/archives", "login goes back to the list");
    eprintln!("[{tag}] (1) login ok");

    // (2) List: demo archives, paging, filter by grade.
    let total = text(c, "#total").await;
    assert!(total.contains('共'), "count text: {total:?}");
    assert_eq!(total, format!("共 {DEMO_ARCHIVES} 条"), "count text");
    let rows = find_all(c, "#archive-table tbody tr").await.len();
    assert_eq!(rows as u64, PAGE_SIZE.min(DEMO_ARCHIVES), "rows on the first page");
    shots.take(c, "02-list").await;
    let first_no = text(c, "#archive-table tbody tr:first-child td:first-child").await;
    if DEMO_ARCHIVES > PAGE_SIZE {
        assert!(exists(c, "#next-page").await, "{DEMO_ARCHIVES} archives at {PAGE_SIZE} a page need a 下一页 link");
    }
    if exists(c, "#next-page").await {
        assert!(text(c, "#next-page").await.contains("下一页"));
        click_nav(c, "#next-page").await;
        assert!(here(c).await.contains("cursor="), "next page URL carries the cursor: {}", here(c).await);
        assert_eq!(text(c, "#total").await, total, "page 2 shows the first page's count (carried, not counted again)");
        let second_first = text(c, "#archive-table tbody tr:first-child td:first-child").await;
        assert_ne!(second_first, first_no, "page 2 starts with a different archive");
        let rows2 = find_all(c, "#archive-table tbody tr").await.len() as u64;
        assert_eq!(rows2, DEMO_ARCHIVES - PAGE_SIZE, "rows on page 2");
        assert!(exists(c, ".pager a.button[href^='/archives?']").await, "page 2 links back to the first page");
    }
    find(c, "form.filters select[name=grade]").await.select_by_value("A").await.expect("choose grade A");
    click_nav(c, "form.filters button[type=submit]").await;
    assert!(here(c).await.contains("grade=A"), "filter URL: {}", here(c).await);
    assert!(!here(c).await.contains("cursor="), "a new filter starts at the first page: {}", here(c).await);
    assert_eq!(value(c, "form.filters select[name=grade]").await, "A", "the filter keeps its value");
    let grade_cells = texts(c, "#archive-table tbody td:nth-child(4)").await;
    let grade_tags = texts(c, "#archive-table tbody td:nth-child(4) .tag").await;
    assert!(!grade_tags.is_empty(), "the demo data has grade A archives");
    assert_eq!(grade_tags.len(), grade_cells.len(), "every row has a grade tag");
    assert!(grade_tags.iter().all(|g| g == "A"), "grade filter A shows only A: {grade_tags:?}");
    let filtered_total = text(c, "#total").await;
    assert_eq!(filtered_total, format!("共 {} 条", grade_tags.len()), "the count follows the filter");
    eprintln!("[{tag}] (2) list ok: {total}, grade A {filtered_total}");

    // The list on a phone.
    set_viewport(c, PHONE).await;
    goto(c, &s.url("/archives")).await;
    shots.take(c, "02c-list-phone").await;
    assert_no_sideways_scroll(c, "the list on a phone").await;
    set_viewport(c, DESKTOP).await;

    // (3) Open an archive from the list.
    goto(c, &s.url("/archives")).await;
    let row = "#archive-table tbody tr:first-child";
    let list_no = text(c, &format!("{row} td:first-child")).await;
    let list_name = text(c, &format!("{row} td:nth-child(2) a")).await;
    click_nav(c, &format!("{row} td:nth-child(2) a")).await;
    assert!(path(c).await.starts_with("/archives/"), "row link opens the archive: {}", here(c).await);
    let header = text(c, "#archive-name").await;
    assert!(header.contains(&list_name), "header {header:?} shows the name {list_name:?}");
    assert_eq!(text(c, "#archive-no").await, list_no);
    shots.take(c, "03-archive").await;
    eprintln!("[{tag}] (3) open ok: {list_no} {list_name}");

    // (4) Create with invalid values: inline errors, nothing typed is lost; then fix and save.
    let name = format!("福州浏览器测试科技有限公司（{tag}）");
    goto(c, &s.url("/archives/new")).await;
    click(c, "#kind-organization").await;
    type_into(c, "#f-name", &name).await;
    type_into(c, "input[name='organization.uscc']", "91350100M000100Y44").await;
    type_into(c, "input[name='mobile']", "12345").await;
    type_into(c, "input[name='organization.founded_on']", "2023年3月4日").await;
    click_nav(c, "#save").await;
    assert_eq!(path(c).await, "/archives", "an invalid form is shown again, not saved");
    let banner = text(c, "#form-banner").await;
    assert!(banner.contains("请修正"), "error banner: {banner:?}");
    let uscc_err = text(c, "[id='err-organization.uscc']").await;
    assert!(uscc_err.contains("校验位"), "USCC error: {uscc_err:?}");
    let mobile_err = text(c, "#err-mobile").await;
    assert!(!mobile_err.is_empty(), "mobile error shown");
    assert_eq!(value(c, "#f-name").await, name, "the typed name is kept");
    assert_eq!(value(c, "input[name='organization.uscc']").await, "91350100M000100Y44", "the typed USCC is kept");
    assert_eq!(value(c, "input[name='mobile']").await, "12345", "the typed mobile is kept");
    assert_eq!(value(c, "input[name='organization.founded_on']").await, "2023年3月4日", "the typed date is kept");
    assert_eq!(find(c, "#kind-organization").await.prop("checked").await.unwrap().as_deref(), Some("true"), "kind stays 单位");
    shots.take(c, "04-create-errors").await;
    c.execute("document.getElementById('err-organization.uscc').scrollIntoView({block: 'center'}); return null;", vec![]).await.expect("scroll");
    shots.take(c, "04b-create-errors-uscc").await;
    type_into(c, "input[name='organization.uscc']", "91350100M000100Y43").await;
    type_into(c, "input[name='mobile']", "13812345678").await;
    click_nav(c, "#save").await;
    let archive_path = path(c).await;
    let id: i64 = archive_path.strip_prefix("/archives/").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("saving lands on the archive page, not {archive_path}"));
    assert!(text(c, "#archive-name").await.contains(&name));
    let number = text(c, "#archive-no").await;
    assert!(number.starts_with("KH-"), "archive number {number:?}");
    let basic = text(c, "#basic").await;
    assert!(basic.contains("2023-03-04"), "founding date shown as 2023-03-04: {basic}");
    assert!(basic.contains("91350100M000100Y43") && basic.contains("138****5678"), "saved values shown, the mobile masked: {basic}");
    assert!(!basic.contains("13812345678"), "the mobile is not shown in clear by default: {basic}");
    // The owner may see it in clear on request (查看明文), and hide it again.
    click_nav(c, "#unmask").await;
    let clear = text(c, "#basic").await;
    assert!(clear.contains("13812345678"), "查看明文 shows the mobile in clear: {clear}");
    click_nav(c, "#mask").await;
    assert!(text(c, "#basic").await.contains("138****5678"), "隐藏 masks it again");
    eprintln!("[{tag}] (4) create ok: {number}");

    // (5) Edit: new name, version 2, history lists v2 and v1.
    click_nav(c, "#edit").await;
    assert_eq!(path(c).await, format!("/archives/{id}/edit"));
    let renamed = format!("{name}（已改名）");
    type_into(c, "#f-name", &renamed).await;
    type_into(c, "input[name='_reason']", "浏览器测试：更名").await;
    click_nav(c, "#save").await;
    assert_eq!(path(c).await, format!("/archives/{id}"));
    assert!(text(c, "#archive-name").await.contains(&renamed));
    let meta = text(c, ".page-head .muted").await;
    assert!(meta.contains("版本 2"), "version 2 after one edit: {meta:?}");
    let versions = texts(c, "#history tbody tr td:first-child").await;
    assert!(versions.contains(&"v2".to_string()) && versions.contains(&"v1".to_string()), "history lists v2 and v1: {versions:?}");
    assert!(text(c, "#history").await.contains("浏览器测试：更名"), "history shows the reason");
    eprintln!("[{tag}] (5) edit ok");

    // (6) Stale edit: someone changes the archive through the API while the form is open.
    click_nav(c, "#edit").await;
    let mine = format!("{name}（浏览器里的修改）");
    type_into(c, "#f-name", &mine).await;
    let token = s.admin_token().await;
    let http = reqwest::Client::new();
    let current: Value = http.get(s.url(&format!("/api/v1/archives/{id}"))).bearer_auth(&token).send().await.expect("GET archive").json().await.expect("archive json");
    let mut body = current.clone();
    let obj = body.as_object_mut().expect("archive object");
    for k in ["id", "archive_no", "created_by", "created_at", "updated_by", "updated_at"] {
        obj.remove(k);
    }
    let their_address = "福建省福州市鼓楼区五四路1号（接口修改）";
    let their_name = format!("{name}（接口里的修改）");
    obj.insert("address".into(), json!(their_address));
    obj.insert("name".into(), json!(their_name));
    obj.insert("reason".into(), json!("接口并发修改"));
    let res = http.put(s.url(&format!("/api/v1/archives/{id}"))).bearer_auth(&token).json(&body).send().await.expect("PUT archive");
    assert_eq!(res.status(), 200, "API update: {}", res.text().await.unwrap_or_default());
    click_nav(c, "#save").await;
    let banner = text(c, "#form-banner").await;
    assert!(banner.contains("已被他人修改"), "conflict banner: {banner:?}");
    assert_eq!(value(c, "#f-name").await, mine, "the user's input survives the conflict");
    assert_eq!(value(c, "input[name='_version']").await, "3", "the form now carries the current version");
    // Three-way merge: the field only the other person changed takes their value; the field both
    // changed keeps the user's input and shows the other value.
    assert_eq!(value(c, "#f-address").await, their_address, "the other person's change is merged into the form");
    let note = text(c, "#note-name").await;
    assert!(note.contains(&their_name), "conflict note shows the saved name: {note:?}");
    shots.take(c, "05-edit-conflict").await;
    // The name is a key field: saving its correction without a reason is refused, in Chinese,
    // under the reason field, and nothing typed is lost.
    click_nav(c, "#save").await;
    let reason_error = text(c, "#err-reason").await;
    assert!(reason_error.contains("变更原因"), "a correction of the name needs a reason: {reason_error:?}");
    assert_eq!(value(c, "#f-name").await, mine, "the user's input survives the refusal");
    type_into(c, "#f-reason", "浏览器测试：合并后更名").await;
    click_nav(c, "#save").await;
    assert_eq!(path(c).await, format!("/archives/{id}"), "saving again after the conflict works");
    assert!(text(c, "#archive-name").await.contains(&mine));
    assert!(text(c, ".page-head .muted").await.contains("版本 4"));
    let saved: Value = http.get(s.url(&format!("/api/v1/archives/{id}?unmasked=true"))).bearer_auth(&token).send().await.expect("GET archive").json().await.expect("archive json");
    assert_eq!(saved["address"], json!(their_address), "re-saving after the conflict keeps the other person's change");
    eprintln!("[{tag}] (6) conflict ok");

    // (7) Timeline entry and contact.
    let summary = "上门拜访，洽谈2024年度供货合同";
    click(c, "#timeline > details.add > summary").await;
    type_into(c, "#timeline > details.add textarea[name='summary']", summary).await;
    type_into(c, "#timeline > details.add input[name='details.counterpart']", "王经理").await;
    click_nav(c, "#timeline > details.add button[type=submit]").await;
    assert_eq!(path(c).await, format!("/archives/{id}"));
    let entries = texts(c, "#timeline .entry .entry-body").await;
    assert!(entries.iter().any(|e| e == summary), "timeline shows the entry: {entries:?}");
    assert!(text(c, "#timeline .entry").await.contains("王经理"));
    shots.take(c, "06-timeline").await;
    click(c, "#contacts details.add summary").await;
    type_into(c, "#contacts details.add input[name='name']", "李晓梅").await;
    type_into(c, "#contacts details.add input[name='title']", "采购经理").await;
    type_into(c, "#contacts details.add input[name='mobile']", "13900001111").await;
    click_nav(c, "#contacts details.add button[type=submit]").await;
    let contacts = text(c, "#contacts table").await;
    assert!(contacts.contains("李晓梅") && contacts.contains("139****1111"), "contact listed, phone masked: {contacts}");
    assert_eq!(text(c, "#contacts table th:first-child").await, "姓名", "a contact has a 姓名, not a 客户名称");
    shots.take(c, "06b-contacts").await;
    eprintln!("[{tag}] (7) timeline and contact ok");

    // (8) Language: English and back, staying on the same page.
    click_nav(c, ".topbar .langs a[href^='/lang?to=en']").await;
    assert_eq!(path(c).await, format!("/archives/{id}"), "switching language stays on the page");
    assert_eq!(find(c, "html").await.attr("lang").await.unwrap().as_deref(), Some("en"));
    assert!(body_text(c).await.contains("Customer archives"));
    assert_eq!(text(c, "#edit").await, "Edit");
    shots.take(c, "07-archive-en").await;
    goto(c, &s.url("/archives")).await;
    assert!(text(c, "h1").await.contains("Customer archives"));
    let zh = find(c, ".topbar .langs a[href^='/lang?to=zh-CN']").await;
    assert_eq!(zh.text().await.unwrap(), "简体中文");
    click_nav(c, ".topbar .langs a[href^='/lang?to=zh-CN']").await;
    assert_eq!(path(c).await, "/archives");
    assert!(text(c, "h1").await.contains("客户档案"));
    assert_eq!(find(c, "html").await.attr("lang").await.unwrap().as_deref(), Some("zh-CN"));
    eprintln!("[{tag}] (8) language ok");
}

// ---------------------------------------------------------------- the access-approval flow (查阅审批)

/// The demo company (its staff share the admin's password) exists once demo data is loaded.
const ACCESS_DEMO_ARCHIVES: u64 = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn access_approval_flow_in_headless_chromium_on_both_engines() {
    let started = Instant::now();
    let Some((mut driver, client)) = start_browser().await else { return };
    let dir = artifacts_dir();
    let mut passed = Vec::new();
    {
        let server = TestServer::start(Engine::Sqlite, ACCESS_DEMO_ARCHIVES).await.expect("sqlite server");
        run_access_flow(&client, &server, &dir).await;
        client.delete_all_cookies().await.expect("clear cookies");
        passed.push("SQLite");
    }
    if let Some(server) = TestServer::start(Engine::Postgres, ACCESS_DEMO_ARCHIVES).await {
        run_access_flow(&client, &server, &dir).await;
        client.delete_all_cookies().await.expect("clear cookies");
        passed.push("PostgreSQL");
    }
    client.close().await.expect("close the browser session");
    driver.session = None;
    drop(driver);
    eprintln!("access approval flow passed on {} in {:.1} s; screenshots in {}", passed.join(" and "), started.elapsed().as_secs_f64(), dir.display());
}

/// The approval flow on one server; on failure leaves `<engine>-access-FAILED.png`.
async fn run_access_flow(c: &Client, s: &TestServer, dir: &Path) {
    let tag = match s.engine {
        Engine::Sqlite => "sqlite-access",
        Engine::Postgres => "postgres-access",
    };
    let shots = Shots { dir: dir.to_path_buf(), tag };
    let _ = std::fs::remove_file(dir.join(format!("{tag}-FAILED.png")));
    let t = Instant::now();
    if let Err(panic) = AssertUnwindSafe(access_flow(c, s, &shots)).catch_unwind().await {
        let failed = dir.join(format!("{tag}-FAILED.png"));
        if let Ok(png) = c.screenshot().await {
            let _ = std::fs::write(&failed, png);
        }
        eprintln!("[{tag}] access flow FAILED on {}; screenshot {}", here(c).await, failed.display());
        std::panic::resume_unwind(panic);
    }
    eprintln!("[{tag}] access flow passed in {:.1} s", t.elapsed().as_secs_f64());
}

async fn logout(c: &Client) {
    click_nav(c, ".topbar form[action='/logout'] button[type=submit]").await;
    assert_eq!(path(c).await, "/login", "logging out shows the login page");
}

async fn access_flow(c: &Client, s: &TestServer, shots: &Shots) {
    let tag = shots.tag;
    set_viewport(c, DESKTOP).await;
    let http = reqwest::Client::new();

    // (1) 张明 (xiaoshou1, 销售一部) creates a personal archive of normal secrecy through the API.
    let name = format!("厦门鹭岛受限测试贸易有限公司（{tag}）");
    let mobile = "13877776666";
    let owner = s.token("xiaoshou1", ADMIN_PASSWORD).await;
    let body = json!({"kind": "organization", "name": name, "mobile": mobile, "tier": "personal", "secrecy": "normal"});
    let res = http.post(s.url("/api/v1/archives")).bearer_auth(&owner).json(&body).send().await.expect("POST archive");
    assert_eq!(res.status(), 201, "xiaoshou1 creates an archive: {}", res.text().await.unwrap_or_default());
    let created: Value = res.json().await.expect("archive json");
    let id = created["id"].as_i64().expect("archive id");
    let archive_no = created["archive_no"].as_str().expect("archive number").to_string();
    assert_eq!(created["tier"], "personal");
    assert_eq!(created["secrecy"], "normal");
    eprintln!("[{tag}] (1) archive {archive_no} created by xiaoshou1");

    // (2) 陈磊 (xiaoshou3, 销售二部) opens it: the restricted page with the number, the reason and
    // the request form, and nothing of the content.
    login_as(c, s, "xiaoshou3", "陈磊").await;
    assert!(exists(c, "a#menu-access[href='/access']").await, "查阅审批 is a real menu link");
    goto(c, &s.url(&format!("/archives/{id}"))).await;
    assert_eq!(text(c, "#archive-no").await, archive_no, "the restricted page shows the archive number");
    assert!(text(c, "#restricted-reason").await.contains("需要审批后才能查阅"), "the reason is given");
    assert!(text(c, "#request-form h2").await.contains("申请查阅"));
    let source = c.source().await.expect("page source");
    assert!(!source.contains(&name) && !source.contains(mobile), "the restricted page leaks nothing of the archive");
    assert!(!exists(c, "#archive-name").await && !exists(c, "#basic").await, "no archive sections on the restricted page");
    let hours: Vec<String> = texts(c, "#hours option").await;
    assert_eq!(hours, ["1 小时", "2 小时", "4 小时", "8 小时", "24 小时", "72 小时"], "duration choices");
    let sections = texts(c, "#request-form .checks label").await;
    for want in ["基本信息", "联系人", "信用", "往来记录", "附件", "查看明文", "打印", "导出", "下载附件"] {
        assert!(sections.iter().any(|l| l == want), "the form offers {want}: {sections:?}");
    }
    shots.take(c, "01-restricted").await;
    assert_no_sideways_scroll(c, "the restricted page").await;
    set_viewport(c, PHONE).await;
    shots.take(c, "01c-restricted-phone").await;
    assert_no_sideways_scroll(c, "the restricted page on a phone").await;
    set_viewport(c, DESKTOP).await;

    // A purpose of blanks is refused under the field; what was ticked and chosen stays.
    type_into(c, "#purpose", "   ").await;
    click(c, "#request-form input[name=sections][value='往来记录']").await;
    click(c, "#request-form input[name=actions][value='print']").await;
    find(c, "#hours").await.select_by_value("8").await.expect("choose 8 hours");
    click_nav(c, "#submit-request").await;
    assert_eq!(path(c).await, format!("/archives/{id}/access-requests"), "a refused request is shown again, not filed");
    assert!(text(c, "#err-purpose").await.contains("请填写查阅用途"), "inline error under 查阅用途");
    assert_eq!(find(c, "#request-form input[name=sections][value='往来记录']").await.prop("checked").await.unwrap().as_deref(), Some("true"), "ticked section kept");
    assert_eq!(find(c, "#request-form input[name=actions][value='print']").await.prop("checked").await.unwrap().as_deref(), Some("true"), "ticked action kept");
    assert_eq!(value(c, "#hours").await, "8", "the duration is kept");
    shots.take(c, "01b-restricted-error").await;

    // Filed properly: the request's page, waiting for the responsible manager.
    let purpose = "下周二上门回访，需了解双方往来记录";
    type_into(c, "#purpose", purpose).await;
    click(c, "#request-form input[name=sections][value='基本信息']").await;
    click_nav(c, "#submit-request").await;
    let request_path = path(c).await;
    let rid: i64 = request_path.strip_prefix("/access/requests/").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("filing lands on the request page, not {request_path}"));
    assert!(text(c, "#flash").await.contains("申请已提交"), "confirmation after filing");
    assert_eq!(text(c, "#request-status").await, "待审批");
    assert_eq!(text(c, "#request-step").await, "主管经理");
    assert_eq!(text(c, "#request-purpose").await, purpose);
    assert_eq!(text(c, "#request-sections").await, "基本信息、往来记录");
    assert_eq!(text(c, "#request-actions").await, "查阅、打印");
    assert!(exists(c, "#menu-access.active").await, "查阅审批 is the active menu item");
    let chain = texts(c, "#chain .step-head b").await;
    assert_eq!(chain, ["主管经理", "总经理"], "the approval chain");
    shots.take(c, "02-request-pending").await;

    // Opening the archive again shows the pending request instead of a second form.
    goto(c, &s.url(&format!("/archives/{id}"))).await;
    assert!(exists(c, "#pending-request").await && !exists(c, "#request-form").await, "a pending request replaces the form");
    assert_eq!(text(c, "#pending-status").await, "待审批");
    assert_eq!(find(c, "#view-request").await.attr("href").await.unwrap().as_deref(), Some(format!("/access/requests/{rid}").as_str()));
    goto(c, &s.url("/access?tab=mine")).await;
    let mine = text(c, &format!("#mine-{rid}")).await;
    assert!(mine.contains(&archive_no) && mine.contains("待审批") && mine.contains("撤回"), "我的申请 lists it as pending: {mine}");
    logout(c).await;
    eprintln!("[{tag}] (2) request #{rid} filed by xiaoshou3");

    // (3) 王海涛 (jingli1, manager of 销售一部) finds it under 待我审批.
    login_as(c, s, "jingli1", "王海涛").await;
    click_nav(c, "#menu-access").await;
    assert_eq!(path(c).await, "/access");
    assert!(exists(c, "#menu-access.active").await && exists(c, "#tab-inbox.active").await, "the inbox tab opens first when work is waiting");
    let row = format!("#inbox-{rid}");
    let cells = text(c, &row).await;
    for want in [archive_no.as_str(), "陈磊", purpose, "8 小时", "主管经理"] {
        assert!(cells.contains(want), "inbox row shows {want}: {cells}");
    }
    shots.take(c, "03-inbox").await;
    assert_no_sideways_scroll(c, "the inbox").await;
    // Rejecting needs a comment: refused in the row, nothing decided.
    click_nav(c, &format!("{row} button[name=approve][value='0']")).await;
    assert!(text(c, &format!("#err-comment-{rid}")).await.contains("驳回时请填写审批意见"), "inline error for a rejection without comment");
    assert!(exists(c, &row).await, "the request is still waiting");
    shots.take(c, "03b-inbox-reject-needs-comment").await;
    type_into(c, &format!("{row} input[name=comment]"), "同意，注意客户信息保密").await;
    click_nav(c, &format!("{row} button[name=approve][value='1']")).await;
    assert!(text(c, "#flash").await.contains("已同意"), "confirmation after approving");
    assert!(!exists(c, &row).await, "the approved step leaves jingli1's inbox");
    logout(c).await;
    eprintln!("[{tag}] (3) jingli1 approved");

    // (4) 周建华 (zongjingli) approves the second step from the request's page.
    login_as(c, s, "zongjingli", "周建华").await;
    goto(c, &s.url("/access")).await;
    assert!(text(c, &row).await.contains("总经理"), "the request waits for the general manager");
    click_nav(c, &format!("{row} td:first-child a")).await;
    assert_eq!(path(c).await, format!("/access/requests/{rid}"));
    type_into(c, "#comment", "同意").await;
    click_nav(c, "#approve").await;
    assert_eq!(path(c).await, format!("/access/requests/{rid}"), "deciding on the request page stays there");
    assert_eq!(text(c, "#request-status").await, "已批准");
    let chain = text(c, "#chain").await;
    assert!(chain.contains("王海涛") && chain.contains("周建华") && chain.contains("同意，注意客户信息保密"), "the chain shows both decisions: {chain}");
    assert!(!exists(c, "#decide").await, "nothing left to decide");
    shots.take(c, "04-request-approved").await;
    logout(c).await;
    eprintln!("[{tag}] (4) zongjingli approved");

    // (5) 陈磊 now reads the archive, and 我的授权 lists it with the time left.
    login_as(c, s, "xiaoshou3", "陈磊").await;
    goto(c, &s.url(&format!("/archives/{id}"))).await;
    assert!(text(c, "#archive-name").await.contains(&name), "the granted archive opens with its name");
    goto(c, &s.url("/access")).await;
    click_nav(c, "#tab-grants").await;
    assert!(exists(c, "#tab-grants.active").await);
    let grant = format!("#grants-table tr[data-archive='{id}']");
    let link = find(c, &format!("{grant} td:first-child a")).await;
    assert_eq!(link.text().await.unwrap(), archive_no);
    assert_eq!(link.attr("href").await.unwrap().as_deref(), Some(format!("/archives/{id}").as_str()));
    assert!(text(c, &grant).await.contains(&name), "the grant row names the customer");
    let left = text(c, &format!("{grant} .time-left")).await;
    assert!(left == "剩余 7小时59分" || left == "剩余 8小时0分", "time left on an 8-hour grant: {left:?}");
    assert!(text(c, &grant).await.contains("查阅、打印"), "the granted actions");
    shots.take(c, "05-grants").await;
    // The same tab in English, then back to Chinese.
    click_nav(c, ".topbar .langs a[href^='/lang?to=en']").await;
    assert_eq!(here(c).await, s.url("/access?tab=grants"), "switching language stays on the tab");
    let left_en = text(c, &format!("{grant} .time-left")).await;
    assert!(left_en.ends_with(" min left") && left_en.contains(" h "), "time left in English: {left_en:?}");
    assert!(text(c, &grant).await.contains("Read, Print"), "granted actions in English");
    assert!(text(c, "#tab-grants").await.contains("My grants"));
    shots.take(c, "05b-grants-en").await;
    click_nav(c, ".topbar .langs a[href^='/lang?to=zh-CN']").await;
    click_nav(c, &format!("{grant} td:first-child a")).await;
    assert_eq!(path(c).await, format!("/archives/{id}"));
    assert!(text(c, "#archive-name").await.contains(&name));
    eprintln!("[{tag}] (5) grant ok: {left}");

    // (6) The grant expires (moved into the past in the database): 陈磊 is refused again, and
    // the archive page offers a new request, with nothing of the content.
    let requester = s.token("xiaoshou3", ADMIN_PASSWORD).await;
    let filed: Value = http.get(s.url(&format!("/api/v1/access-requests/{rid}"))).bearer_auth(&requester).send().await.expect("GET request").json().await.expect("request json");
    let requester_id = filed["requester_id"].as_i64().expect("requester id");
    assert_eq!(common::expire_grants(s, requester_id, id).await, 1, "one grant aged");
    goto(c, &s.url(&format!("/archives/{id}"))).await;
    assert_eq!(text(c, "#archive-no").await, archive_no, "the restricted page again");
    assert!(exists(c, "#request-form").await && !exists(c, "#archive-name").await, "a new request form, no archive sections");
    let source = c.source().await.expect("page source");
    assert!(!source.contains(&name) && !source.contains(mobile), "an expired grant shows nothing of the archive");
    shots.take(c, "06-grant-expired").await;

    // (7) A second request, rejected by the manager with a comment: the requester sees the
    // rejection and the reason, and the archive stays closed.
    type_into(c, "#purpose", "补充核对合同条款").await;
    click_nav(c, "#submit-request").await;
    let second_path = path(c).await;
    let second: i64 = second_path.strip_prefix("/access/requests/").and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("filing lands on the request page, not {second_path}"));
    logout(c).await;
    login_as(c, s, "jingli1", "王海涛").await;
    goto(c, &s.url(&format!("/access/requests/{second}"))).await;
    type_into(c, "#comment", "用途不明确，请补充合同编号").await;
    click_nav(c, "#reject").await;
    assert_eq!(text(c, "#request-status").await, "已驳回", "rejected on the request page");
    logout(c).await;
    login_as(c, s, "xiaoshou3", "陈磊").await;
    goto(c, &s.url(&format!("/access/requests/{second}"))).await;
    assert_eq!(text(c, "#request-status").await, "已驳回");
    assert!(text(c, "#chain").await.contains("用途不明确，请补充合同编号"), "the requester sees the reason");
    shots.take(c, "07-request-rejected").await;
    goto(c, &s.url(&format!("/archives/{id}"))).await;
    assert!(!exists(c, "#archive-name").await, "a rejection opens nothing");
    assert!(!c.source().await.expect("page source").contains(&name), "nor leaks the name");
    eprintln!("[{tag}] (6-7) expired grant refused; request #{second} rejected");
}
