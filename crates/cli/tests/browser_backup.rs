#![allow(dead_code)]
mod common;

// Browser end-to-end test of the 备份与恢复 page (issue 7) in headless Chromium, on SQLite and
// PostgreSQL: the system administrator reaches it from 系统设置 → 用户, clicks 立即备份 and sees the
// new set listed (unverified), clicks 校验 and sees 校验通过; a set damaged on disk is then
// reported as 备份已损坏 with the damaged file named, and nothing else on the page changes. A
// non-administrator is refused the page. Required in CI (`DANGAN_REQUIRE_BROWSER=1`).
//
// Screenshots: `<workspace>/test-artifacts/browser/backup-<engine>-NN-<page>.png`.

use common::{Engine, TestServer};
use fantoccini::Client;

use common::browser::*;

const DEMO_ARCHIVES: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_now_and_verify_in_headless_chromium() {
    on_both_engines("backup", DEMO_ARCHIVES, None, |c, s, shots| Box::pin(flow(c, s, shots))).await;
}

async fn logout(c: &Client) {
    click_nav(c, ".topbar form[action='/logout'] button[type=submit]").await;
}

/// The ids of the sets the table lists, top to bottom.
async fn listed_sets(c: &Client) -> Vec<String> {
    let mut ids = Vec::new();
    for row in find_all(c, "#backups-table tbody tr[id^=set-]").await {
        ids.push(row.attr("id").await.unwrap().unwrap_or_default().trim_start_matches("set-").to_string());
    }
    ids
}

async fn flow(c: &Client, s: &TestServer, shots: &Shots) {
    set_viewport(c, (1366, 768)).await;
    // A salesperson may not open the page (the page says so instead of showing the sets).
    login_as(c, s, "xiaoshou1", "张明").await;
    goto(c, &s.url("/admin/backups")).await;
    assert!(!exists(c, "#backups-table").await, "a salesperson does not see the backup sets");
    assert!(!exists(c, "#backup-run").await, "nor the button");
    assert!(body_text(c).await.contains("无权进行此操作"), "the refusal is said in Chinese: {}", body_text(c).await);
    click_nav(c, "a[href='/archives']").await;
    logout(c).await;

    // (1) The administrator reaches the page from the settings menu; no set yet.
    login_as(c, s, "admin", "系统管理员").await;
    click_nav(c, "#menu-admin").await;
    click_nav(c, "#link-backups").await;
    assert_eq!(path(c).await, "/admin/backups");
    assert!(text(c, "h1").await.contains("备份与恢复"));
    assert!(exists(c, "#backups-empty").await, "no backup yet: {}", body_text(c).await);
    assert!(!exists(c, "#backup-no-key").await, "the test server has a backup key");
    assert!(text(c, "#backup-restore-note").await.contains("dangan restore"), "restore is a CLI operation");
    shots.take(c, "01-empty").await;

    // (2) 立即备份: the page comes back naming the new set, listed unverified, with its size and files.
    let button = find(c, "#backup-run").await;
    assert_eq!(button.text().await.unwrap(), "立即备份");
    click_nav(c, "#backup-run").await;
    assert_eq!(path(c).await, "/admin/backups");
    let message = text(c, "#backup-message").await;
    assert!(message.contains("备份已完成"), "the page says the backup was written: {message}");
    let sets = listed_sets(c).await;
    assert_eq!(sets.len(), 1, "one set listed: {sets:?}");
    let id = sets[0].clone();
    assert!(message.contains(&id), "the message names the set {id}: {message}");
    let row = format!("#set-{id}");
    let cells = texts(c, &format!("{row} td")).await;
    assert_eq!(cells[3], if s.engine == Engine::Sqlite { "SQLite" } else { "PostgreSQL" }, "engine: {cells:?}");
    assert!(cells[4].ends_with("KB") || cells[4].ends_with("MB"), "a size: {cells:?}");
    assert!(cells[5].parse::<usize>().unwrap() >= 1, "files counted: {cells:?}");
    assert!(cells[6].contains("未校验"), "not verified yet: {cells:?}");
    // The set is really on disk, where the page says backups go.
    let set_dir = s.app.backup_dir().join(&id);
    assert!(set_dir.join("db.enc").is_file(), "{} holds the encrypted database", set_dir.display());
    assert!(body_text(c).await.contains(&s.app.backup_dir().display().to_string()), "the page names the backup directory");
    shots.take(c, "02-made").await;

    // (3) 校验: the set checks out.
    click_nav(c, &format!("{row} button.verify-set")).await;
    let message = text(c, "#backup-message").await;
    assert!(message.contains("校验通过") && message.contains(&id), "verified: {message}");
    assert!(text(c, &format!("{row} td.verified-ok")).await.contains("校验通过"), "the row shows the set verified");
    shots.take(c, "03-verified").await;

    // (4) A second backup is listed first (newest first); the first keeps its verification.
    click_nav(c, "#backup-run").await;
    let sets = listed_sets(c).await;
    assert_eq!(sets.len(), 2, "two sets: {sets:?}");
    assert_eq!(sets[1], id, "newest first");
    let second = sets[0].clone();
    assert!(exists(c, &format!("{row} td.verified-ok")).await, "the first set stays verified");

    // (5) Damage the second set's database on disk, then 校验 it: the page says 备份已损坏 and
    // names the damaged file; the row is marked damaged; the first set is untouched.
    let db = s.app.backup_dir().join(&second).join("db.enc");
    let mut bytes = std::fs::read(&db).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x55;
    std::fs::write(&db, bytes).unwrap();
    click_nav(c, &format!("#set-{second} button.verify-set")).await;
    assert_eq!(here(c).await, s.url(&format!("/admin/backups?damaged={second}")), "back on the page's own address (a reload must not post again)");
    let error = text(c, "#backup-error").await;
    let db_file = if s.engine == Engine::Sqlite { "dangan.db" } else { "postgres.dump" };
    assert!(error.contains("备份已损坏") && error.contains(&second) && error.contains(db_file), "the damage is reported: {error}");
    assert!(exists(c, &format!("#set-{second} td.verified-bad")).await, "the row shows the set damaged");
    assert!(exists(c, &format!("{row} td.verified-ok")).await, "the first set is still verified");
    shots.take(c, "04-damaged").await;

    // The page in English says the same things in English.
    click_nav(c, ".topbar .langs a[href^='/lang?to=en']").await;
    assert_eq!(path(c).await, "/admin/backups", "switching language stays on the page");
    let body = body_text(c).await;
    assert!(body.contains("Back up now") && body.contains("Backup damaged") && body.contains("verified"), "English page: {body}");
    assert!(text(c, "#backup-error").await.contains(&second), "the damage is still named after the switch");
    shots.take(c, "05-english").await;
    click_nav(c, ".topbar .langs a[href^='/lang?to=zh-CN']").await;
    logout(c).await;
}
