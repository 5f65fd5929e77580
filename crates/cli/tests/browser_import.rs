#![allow(dead_code)]
mod common;

// Browser end-to-end test of import and export (导入导出) in headless Chromium: upload a real
// xlsx made by openpyxl, read the check result (bad rows, error report link, duplicates with a
// choice per row), start the import, watch it finish, find the archives; export the list.
// Required in CI like the other browser tests. Screenshots:
// `<workspace>/test-artifacts/browser/import-<engine>-NN-<page>.png`.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use common::{Engine, TestServer};
use fantoccini::Client;
use futures::FutureExt;

use common::browser::*;


#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn import_and_export_in_headless_chromium_on_both_engines() {
    let Some((mut driver, client)) = start_browser().await else { return };
    let dir = artifacts_dir();
    for engine in [Engine::Sqlite, Engine::Postgres] {
        let Some(server) = TestServer::start(engine, 3).await else { continue };
        let tag = if engine == Engine::Sqlite { "import-sqlite" } else { "import-postgres" };
        let shots = Shots { dir: dir.clone(), tag };
        let t = Instant::now();
        if let Err(panic) = AssertUnwindSafe(flow(&client, &server, &shots)).catch_unwind().await {
            if let Ok(png) = client.screenshot().await {
                let _ = std::fs::write(dir.join(format!("{tag}-FAILED.png")), png);
            }
            eprintln!("[{tag}] FAILED on {}", here(&client).await);
            std::panic::resume_unwind(panic);
        }
        eprintln!("[{tag}] ran in {:.1} s", t.elapsed().as_secs_f64());
        client.delete_all_cookies().await.expect("clear cookies");
    }
    client.close().await.expect("close the browser session");
    driver.session = None;
}

async fn flow(c: &Client, s: &TestServer, shots: &Shots) {
    set_viewport(c, DESKTOP).await;
    login_as(c, s, "xiaoshou1", "张明").await;
    click_nav(c, "#menu-import").await;
    assert_eq!(path(c).await, "/import");
    shots.take(c, "01-import-page").await;

    // Upload the openpyxl fixture: title rows, merged two-level header, Excel dates, bad rows.
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../io/tests/fixtures/summary_title_merged.xlsx").canonicalize().unwrap();
    find(c, "#import-file").await.send_keys(&fixture.to_string_lossy()).await.expect("choose the file");
    click_nav(c, "#upload-submit").await;
    assert!(path(c).await.starts_with("/import/"), "the check result page: {}", here(c).await);
    assert_eq!(text(c, "#an-valid").await, "5");
    assert_eq!(text(c, "#an-invalid").await, "5");
    let errors = text(c, "#error-table").await;
    assert!(errors.contains("名称不能为空"), "the bad rows are listed in Chinese: {errors}");
    assert!(exists(c, "#error-report").await, "the error report can be downloaded");
    assert!(find(c, "#job-status").await.attr("data-status").await.unwrap().as_deref() == Some("analyzed"));
    shots.take(c, "02-check-result").await;

    // Start it; the page follows the job until it is done.
    click_nav(c, "#start-import").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let st = find(c, "#job-status").await.attr("data-status").await.unwrap().unwrap_or_default();
        if st == "done" {
            break;
        }
        assert!(st == "running" || st == "analyzed", "unexpected status {st}");
        assert!(Instant::now() < deadline, "the import did not finish");
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.refresh().await.expect("refresh");
    }
    assert_eq!(text(c, "#count-imported").await, "5");
    assert_eq!(text(c, "#count-failed").await, "5");
    shots.take(c, "03-done").await;

    // The archives are there.
    click_nav(c, "#to-archives").await;
    type_into(c, "form.filters input[name=q]", "华星建材").await;
    click_nav(c, "form.filters button[type=submit]").await;
    let table = text(c, "#archive-table").await;
    assert!(table.contains("杭州华星建材有限公司"), "{table}");

    // The same file again: nothing new would be created.
    goto(c, &s.url("/import")).await;
    find(c, "#import-file").await.send_keys(&fixture.to_string_lossy()).await.expect("choose the file");
    click_nav(c, "#upload-submit").await;
    assert_eq!(text(c, "#an-before").await, "5");
    assert_eq!(text(c, "#an-create").await, "0");
    shots.take(c, "04-reimport-check").await;

    // Export the list: a real file download through the browser's session.
    goto(c, &s.url("/archives")).await;
    let href = find(c, "#export-list").await.attr("href").await.unwrap().unwrap();
    assert!(href.starts_with("/export?format=xlsx"), "{href}");
    let cookies = c.get_all_cookies().await.expect("cookies").iter().map(|k| format!("{}={}", k.name(), k.value())).collect::<Vec<_>>().join("; ");
    let res = reqwest::Client::new().get(s.url(&href)).header("cookie", cookies).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx file");
    goto(c, &s.url("/import")).await;
    assert!(text(c, "#imports-table").await.contains("summary_title_merged.xlsx"));
    shots.take(c, "05-history").await;
}
