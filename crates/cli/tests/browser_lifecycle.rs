#![allow(dead_code)]
mod common;

// Browser end-to-end test of keeping archives alive (issue 7) in headless Chromium, on SQLite and
// PostgreSQL: a salesperson's 提醒 page (old demo archives due for review and stale), the
// calendar subscription address, marking an archive reviewed from its page; the lifecycle
// section of 策略设置; the 公海 page and a claim (with its confirmation dialog); the manager's
// 离职交接 page, a handover and its record. Required in CI (`DANGAN_REQUIRE_BROWSER=1`).
//
// Screenshots: `<workspace>/test-artifacts/browser/lifecycle-<engine>-NN-<page>.png`.

use common::{send, TestServer};
use fantoccini::Client;

use common::browser::*;

const DEMO_ARCHIVES: u64 = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reminders_pool_and_handover_in_headless_chromium() {
    on_both_engines("lifecycle", DEMO_ARCHIVES, None, |c, s, shots| Box::pin(flow(c, s, shots))).await;
}

async fn logout(c: &Client) {
    click_nav(c, ".topbar form[action='/logout'] button[type=submit]").await;
}

async fn flow(c: &Client, s: &TestServer, shots: &Shots) {
    set_viewport(c, (1366, 768)).await;
    // (1) The salesperson's reminders: old demo archives are due for review and stale.
    login_as(c, s, "xiaoshou1", "张明").await;
    click_nav(c, "#menu-reminders").await;
    assert_eq!(path(c).await, "/reminders");
    let kinds = texts(c, "#reminders-table tbody td:nth-child(2)").await;
    assert!(kinds.iter().any(|k| k.contains("定期审查到期")) && kinds.iter().any(|k| k.contains("久未更新")), "review due and stale rows: {kinds:?}");
    assert!(!exists(c, "#tab-department").await, "a salesperson has no department tab");
    shots.take(c, "01-reminders").await;

    // (2) The calendar address, shown once.
    click_nav(c, "#calendar-issue").await;
    let url = text(c, "#calendar-url code").await;
    assert!(url.contains("/calendar/") && url.ends_with(".ics"), "the feed address: {url}");
    let feed = send(reqwest::Client::new().get(&url)).await;
    assert_eq!(feed.status, 200, "the address works without a login");
    assert!(feed.text().starts_with("BEGIN:VCALENDAR"), "{}", feed.text());
    shots.take(c, "02-calendar").await;

    // (3) Review the first archive due for review, from its page.
    let first = find(c, "#reminders-table tr.rem-review_due td:nth-child(3) a").await;
    let href = first.attr("href").await.unwrap().unwrap();
    goto(c, &s.url(&href)).await;
    click_nav(c, "#mark-reviewed").await;
    assert_eq!(path(c).await, href, "back on the archive");
    goto(c, &s.url("/reminders")).await;
    let due: Vec<String> = futures::future::join_all(find_all(c, "#reminders-table tr.rem-review_due td:nth-child(3) a").await.into_iter().map(|e| async move { e.attr("href").await.unwrap().unwrap_or_default() })).await;
    assert!(!due.contains(&href), "{href} is no longer due for review");
    logout(c).await;

    // (4) The lifecycle settings on the policy page (the administrator): D-grade archives go back
    // to the pool after 1 day without a follow-up; the sweep runs (API, as the scheduler would).
    login_as(c, s, "admin", "系统管理员").await;
    goto(c, &s.url("/admin/policy")).await;
    check_page(c).await;
    assert!(exists(c, "#policy-lifecycle").await, "the lifecycle section");
    assert!(!find(c, "#lc_pool_enabled").await.is_selected().await.unwrap(), "the pool is off by default");
    click(c, "#lc_pool_enabled").await;
    for g in ["A", "B", "C", "D", "ungraded"] {
        type_into(c, &format!("input[name=lc_pool_{g}]"), "1").await;
    }
    c.execute("document.getElementById('policy-lifecycle').scrollIntoView(); return null;", vec![]).await.unwrap();
    shots.take(c, "03-policy-lifecycle").await;
    click_nav(c, "#policy-save").await;
    assert!(exists(c, "#policy-saved").await, "saved: {}", body_text(c).await);
    assert_eq!(value(c, "input[name=lc_pool_D]").await, "1");
    assert!(find(c, "#lc_pool_enabled").await.is_selected().await.unwrap(), "the pool is on now");
    logout(c).await;
    let admin = s.admin_token().await;
    let r = send(reqwest::Client::new().post(s.url("/api/v1/pool/sweep")).bearer_auth(&admin)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json["returned"].as_u64().unwrap() > 0, "old archives returned to the pool: {}", r.json);

    // (5) xiaoshou2 claims one from the pool (the confirmation names its number).
    login_as(c, s, "xiaoshou2", "刘芳").await;
    click_nav(c, "#menu-pool").await;
    let rows = find_all(c, "#pool-table tbody tr[id^=pool-]").await;
    assert!(!rows.is_empty(), "the pool lists the department's returned archives");
    let no = text(c, "#pool-table tbody tr[id^=pool-] td:first-child").await;
    shots.take(c, "04-pool").await;
    submit_confirmed(c, "#pool-table tbody tr[id^=pool-] button.claim", &no).await;
    assert!(text(c, "#pool-message").await.contains(&no), "claimed {no}");
    shots.take(c, "05-claimed").await;
    logout(c).await;

    // (6) The manager hands over xiaoshou1 to xiaoshou2.
    login_as(c, s, "jingli1", "王海涛").await;
    click_nav(c, "#menu-handover").await;
    c.execute(
        "const s = document.getElementById('leaver'); for (const o of s.options) if (o.text.includes('xiaoshou1')) s.value = o.value;
         for (const cb of document.querySelectorAll('input[name=recipient]')) cb.checked = cb.parentElement.textContent.includes('xiaoshou2');
         return null;",
        vec![],
    )
    .await
    .unwrap();
    type_into(c, "#note", "张明离职").await;
    shots.take(c, "06-handover-form").await;
    submit_confirmed(c, "#handover-submit", "停用").await;
    assert!(text(c, "#handover-message").await.contains("YJ-"), "done: {}", body_text(c).await);
    let row = text(c, "#handovers-table tbody tr").await;
    assert!(row.contains("张明") && row.contains("张明离职"), "the record: {row}");
    assert!(exists(c, "#handovers-table a.print-handover").await, "the list can be printed");
    shots.take(c, "07-handover-done").await;
    logout(c).await;
    // The leaver can no longer log in.
    goto(c, &s.url("/login")).await;
    type_into(c, "#username", "xiaoshou1").await;
    type_into(c, "#password", common::ADMIN_PASSWORD).await;
    click_nav(c, "form[action='/login'] button[type=submit]").await;
    assert_eq!(path(c).await, "/login", "a disabled account stays on the login page");
}
