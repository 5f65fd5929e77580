#![allow(dead_code)]
mod common;

// Browser test of the document checklists (材料清单) in headless Chromium on a real server
// (SQLite): the archivist opens a car owner's archive, sees the new-car file's completeness,
// missing items and due date, ticks an item (confirming the dialog), and the percentage moves;
// the overdue page lists the archive under its owner; the administrator opens 材料清单与节假日.
// Screenshots: `<workspace>/test-artifacts/browser/checklists-NN-<page>.png`.
// Required in CI like browser.rs (`CI` or `DANGAN_REQUIRE_BROWSER=1`); skipped elsewhere.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use common::browser::*;
use common::{Engine, TestServer};
use fantoccini::Client;
use futures::FutureExt;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_archivist_ticks_papers_and_sees_whats_overdue() {
    let Some((mut driver, c)) = start_browser().await else { return };
    let s = TestServer::start(Engine::Sqlite, 3).await.expect("sqlite server");
    let shots = Shots { dir: artifacts_dir(), tag: "checklists" };
    let result = AssertUnwindSafe(flow(&c, &s, &shots)).catch_unwind().await;
    if result.is_err() {
        if let Ok(png) = c.screenshot().await {
            let _ = std::fs::write(shots.dir.join("checklists-FAILED.png"), png);
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
    // A car sold by 张明, delivered a few weeks ago (so the file is overdue).
    let seller = s.app.store.find_login("xiaoshou1").await.unwrap().expect("demo salesperson").user;
    let p = dangan_app::Principal::new(seller, false);
    let mut d = dangan_core::ArchiveData::new(dangan_core::CustomerKind::Person, "赵志远");
    d.mobile = Some("13905710001".into());
    d.template = Some("vehicle".into());
    let delivered = dangan_app::checklists::today_local() - chrono::Duration::days(21);
    d.custom = serde_json::from_value(serde_json::json!({"vin": "LSVAM4187C2184847", "model": "朗逸 1.5L", "delivered_on": delivered.to_string()})).unwrap();
    let a = s.app.create_archive(&p, d).await.expect("create the car owner's archive");
    let pdf = b"%PDF-1.4\n% scan of the sales contract\n".to_vec();
    let att = s.app.add_attachment(&p, a.id, "销售合同扫描件.pdf", pdf).await.expect("upload");
    s.app.mark_checklist_item(&p, a.id, "vehicle_new", "contract", dangan_core::checklist::MarkAction::Attached, Some(att.id), "").await.expect("tag the scan");

    set_viewport(c, DESKTOP).await;
    // The salesperson's archive page: the checklist section, no tick buttons.
    login_as(c, s, "xiaoshou1", "张明").await;
    goto(c, &s.url(&format!("/archives/{}", a.id))).await;
    assert!(exists(c, "#checklists").await, "the checklist section is on the archive page");
    assert_eq!(text(c, "#checklist-vehicle_new-percent").await, "9%", "1 of 11 required items (the tagged scan)");
    assert!(text(c, "#checklist-vehicle_new-state").await.starts_with("已逾期"), "overdue three weeks after delivery");
    assert!(text(c, "#checklist-vehicle_new-missing").await.contains("购车发票复印件"));
    assert!(!exists(c, "#tick-vehicle_new-invoice").await, "only the archivist ticks paper originals");
    c.execute("document.querySelector('#checklists').scrollIntoView();", vec![]).await.expect("scroll");
    shots.take(c, "01-archive").await;

    // The archivist: 材料清单 in the menu → the overdue page → the archive's checklist.
    c.delete_all_cookies().await.expect("log out");
    login_as(c, s, "dangan1", "钱芳").await;
    click_nav(c, "#menu-checklists").await;
    assert_eq!(path(c).await, "/checklists/overdue");
    let body = body_text(c).await;
    assert!(body.contains(&a.archive_no) && body.contains("张明") && body.contains("行驶证复印件"), "{body}");
    shots.take(c, "02-overdue").await;
    set_viewport(c, (390, 844)).await;
    assert_no_sideways_scroll(c, "the overdue page on a phone").await;
    set_viewport(c, DESKTOP).await;
    goto(c, &s.url("/lang?to=en&back=%2Fchecklists%2Foverdue")).await;
    assert_eq!(text(c, "h1").await, "Overdue documents", "the page in English");
    assert!(body_text(c).await.contains("Vehicle licence (copy)"), "item labels in English");
    shots.take(c, "02b-overdue-en").await;
    goto(c, &s.url("/lang?to=zh-CN&back=%2Fchecklists%2Foverdue")).await;
    click_nav(c, &format!("a[href='/archives/{}/checklist']", a.id)).await;
    assert_eq!(path(c).await, format!("/archives/{}/checklist", a.id));

    // Tick 购车发票复印件 as received, confirming the dialog.
    type_into(c, "#item-vehicle_new-invoice input[name=note]", "原件已入柜").await;
    c.execute("window.__danganOldPage = true; return null;", vec![]).await.unwrap();
    find(c, "#tick-vehicle_new-invoice").await.click().await.expect("click tick");
    let dialog = c.get_alert_text().await.expect("a confirmation dialog");
    assert!(dialog.contains("确认已收到纸质原件") && dialog.contains("购车发票复印件"), "{dialog:?}");
    c.accept_alert().await.expect("confirm");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let done = c.execute("return window.__danganOldPage !== true && document.readyState === 'complete';", vec![]).await;
        if matches!(done, Ok(Value::Bool(true))) {
            break;
        }
        assert!(Instant::now() < deadline, "ticking did not load a new page");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check_page(c).await;
    assert_eq!(path(c).await, format!("/archives/{}/checklist", a.id), "back on the checklist page");
    assert_eq!(text(c, "#checklist-vehicle_new-percent").await, "18%");
    assert!(exists(c, "#untick-vehicle_new-invoice").await, "the item can be withdrawn now");
    assert!(text(c, "#item-vehicle_new-invoice").await.contains("钱芳"), "who received it is shown");
    shots.take(c, "03-ticked").await;
    set_viewport(c, (390, 844)).await;
    assert_no_sideways_scroll(c, "the checklist page on a phone").await;
    shots.take(c, "03b-ticked-phone").await;
    set_viewport(c, DESKTOP).await;

    // The administrator's settings page.
    c.delete_all_cookies().await.expect("log out");
    login_as(c, s, "admin", "").await;
    click_nav(c, "#menu-admin").await;
    click_nav(c, "#tab-checklists").await;
    assert_eq!(path(c).await, "/admin/checklists");
    assert!(value(c, "#holidays").await.contains("2026-10-01..2026-10-07 国庆节"));
    assert!(value(c, "#workdays").await.contains("2026-10-10 国庆节调休上班"));
    shots.take(c, "04-settings").await;
}
