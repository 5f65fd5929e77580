//! Import and export through the HTTP API, on both engines: real files made by other tools
//! (crates/io/tests/fixtures, written by openpyxl / Python), dry run with per-row errors and the
//! error report, background runs, idempotent re-import, all-or-nothing, duplicate decisions
//! (skip / create / merge), cancel and resume, and exports (masking, columns, audit).

mod common;

use std::time::Duration;

use common::{send, servers, TestServer, ADMIN_PASSWORD};
use serde_json::{json, Value};

fn fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../io/tests/fixtures").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

async fn upload(s: &TestServer, token: &str, name: &str, bytes: Vec<u8>, options: Option<Value>) -> common::Resp {
    let mut form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
    if let Some(o) = options {
        form = form.text("options", o.to_string());
    }
    send(reqwest::Client::new().post(s.url("/api/v1/imports")).bearer_auth(token).multipart(form)).await
}

/// Starts a dry-run import and waits until it has ended.
async fn run_to_end(s: &TestServer, token: &str, id: i64, body: Option<Value>) -> Value {
    let rb = reqwest::Client::new().post(s.url(&format!("/api/v1/imports/{id}/run"))).bearer_auth(token);
    let rb = match body {
        Some(b) => rb.json(&b),
        None => rb,
    };
    let r = send(rb).await;
    assert_eq!(r.status, 202, "{}", r.text());
    wait_end(s, token, id).await
}

async fn wait_end(s: &TestServer, token: &str, id: i64) -> Value {
    for _ in 0..600 {
        let r = send(reqwest::Client::new().get(s.url(&format!("/api/v1/imports/{id}"))).bearer_auth(token)).await;
        assert_eq!(r.status, 200);
        if !matches!(r.json["status"].as_str(), Some("running") | Some("analyzed")) {
            return r.json;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import {id} did not end");
}

async fn count(s: &TestServer, token: &str, q: &str) -> i64 {
    let r = send(reqwest::Client::new().get(s.url(&format!("/api/v1/archives?count=true&limit=1&{q}"))).bearer_auth(token)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json["total"].as_i64().unwrap()
}

/// The trail's records of one action, newest first, with `detail` parsed from its JSON text.
async fn audit(s: &TestServer, action: &str) -> Vec<Value> {
    let token = s.token("shenji1", ADMIN_PASSWORD).await;
    let r = send(reqwest::Client::new().get(s.url(&format!("/api/v1/audit?action={action}&limit=100"))).bearer_auth(&token)).await;
    assert_eq!(r.status, 200);
    let mut recs = r.json.as_array().unwrap().clone();
    for rec in recs.iter_mut() {
        let d: Value = serde_json::from_str(rec["detail"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
        rec["detail"] = d;
    }
    recs
}

/// A valid unified social credit code ending in `n`'s digits.
fn uscc(n: u32) -> String {
    let first17 = format!("91330100MA{:07}", n);
    format!("{first17}{}", dangan_core::validate::uscc_check_char(&first17))
}

#[tokio::test]
async fn xlsx_dry_run_error_report_run_and_reimport() {
    for s in servers(3).await {
        let token = s.token("xiaoshou1", ADMIN_PASSWORD).await;
        let before = count(&s, &token, "").await;
        let r = upload(&s, &token, "客户汇总表.xlsx", fixture("summary_title_merged.xlsx"), None).await;
        assert_eq!(r.status, 201, "{:?}: {}", s.engine, r.text());
        let a = &r.json;
        assert_eq!(a["import"]["status"], "analyzed");
        assert_eq!(a["import"]["file_name"], "客户汇总表.xlsx");
        assert_eq!(a["import"]["file_sha256"].as_str().unwrap().len(), 64);
        assert_eq!(a["counts"]["rows"], 10, "{a}");
        assert_eq!(a["counts"]["valid"], 5);
        assert_eq!(a["counts"]["invalid"], 5);
        assert_eq!(a["counts"]["would_create"], 5);
        let bad_rows: Vec<i64> = a["errors"].as_array().unwrap().iter().map(|e| e["row"].as_i64().unwrap()).collect();
        for row in [10, 11, 12, 14, 15] {
            assert!(bad_rows.contains(&row), "row {row} reported: {bad_rows:?}");
        }
        let e = a["errors"].as_array().unwrap().iter().find(|e| e["row"] == 12).unwrap();
        assert_eq!(e["column"], "客户名称");
        assert_eq!(e["message_zh"], "名称不能为空");
        assert_eq!(a["has_error_report"], true);
        // Nothing is imported by a dry run.
        assert_eq!(count(&s, &token, "").await, before);

        let id = a["import"]["id"].as_i64().unwrap();
        let rep = send(reqwest::Client::new().get(s.url(&format!("/api/v1/imports/{id}/errors.xlsx"))).bearer_auth(&token)).await;
        assert_eq!(rep.status, 200);
        assert!(rep.bytes.starts_with(b"PK"), "an xlsx file");
        // The report re-reads as a table holding the five bad rows and an error column.
        let table = dangan_io::open_table(std::io::Cursor::new(rep.bytes.clone()), dangan_io::FileKind::Xlsx, &Default::default()).unwrap();
        assert!(table.header().texts.iter().any(|h| h.contains("错误说明")), "{:?}", table.header().texts);
        assert_eq!(table.count(), 5);

        let job = run_to_end(&s, &token, id, None).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(job["counts"]["imported"], 5);
        assert_eq!(job["counts"]["failed"], 5);
        assert_eq!(count(&s, &token, "").await, before + 5);
        assert_eq!(count(&s, &token, &format!("q={}", urlencoding::encode("华星建材"))).await, 1);

        // The file and its runs are in the audit trail with the file's hash and counts.
        let recs = audit(&s, "archive.import").await;
        let done = recs.iter().find(|r| r["detail"]["import_id"] == id && r["detail"]["status"] == "done").expect("import recorded");
        assert_eq!(done["detail"]["sha256"], a["import"]["file_sha256"]);
        assert_eq!(done["detail"]["counts"]["imported"], 5);
        assert_eq!(done["username"], "xiaoshou1");
        let created = audit(&s, "archive.bulk_create").await;
        assert!(created.iter().any(|r| r["detail"]["import_id"] == id && r["detail"]["count"] == 5), "{created:?}");

        // The same file again: every good row was imported before; a run creates nothing.
        let r = upload(&s, &token, "客户汇总表.xlsx", fixture("summary_title_merged.xlsx"), None).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.json["counts"]["already_imported"], 5);
        assert_eq!(r.json["counts"]["would_create"], 0);
        let again = run_to_end(&s, &token, r.json["import"]["id"].as_i64().unwrap(), None).await;
        assert_eq!(again["status"], "done");
        assert_eq!(again["counts"]["imported"], 0);
        assert_eq!(again["counts"]["skipped"], 5);
        assert_eq!(count(&s, &token, "").await, before + 5);
    }
}

#[tokio::test]
async fn gbk_csv_all_or_nothing_and_unreadable_files() {
    for s in servers(0).await {
        let owners = s.app.ensure_demo_company(Some(ADMIN_PASSWORD)).await.unwrap();
        assert!(!owners.is_empty());
        let token = s.token("xiaoshou2", ADMIN_PASSWORD).await;
        // GBK CSV (what Chinese Excel writes), one bad row: all-or-nothing imports nothing.
        let r = upload(&s, &token, "customers.csv", fixture("customers_gbk.csv"), Some(json!({"mode": "all_or_nothing"}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json["counts"]["valid"], 2);
        assert_eq!(r.json["counts"]["invalid"], 1);
        let id = r.json["import"]["id"].as_i64().unwrap();
        let job = run_to_end(&s, &token, id, None).await;
        assert_eq!(job["status"], "rejected", "{job}");
        assert_eq!(count(&s, &token, "").await, 0, "all or nothing: nothing");
        // The same file, good rows mode: the two good rows.
        let r = upload(&s, &token, "customers.csv", fixture("customers_gbk.csv"), None).await;
        let job = run_to_end(&s, &token, r.json["import"]["id"].as_i64().unwrap(), None).await;
        assert_eq!(job["status"], "done");
        assert_eq!(job["counts"]["imported"], 2);
        assert_eq!(count(&s, &token, "").await, 2);

        // A vCard file from a phone.
        let r = upload(&s, &token, "contacts.vcf", fixture("iphone_v30.vcf"), None).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let valid = r.json["counts"]["valid"].as_i64().unwrap();
        assert!(valid >= 1);
        let job = run_to_end(&s, &token, r.json["import"]["id"].as_i64().unwrap(), None).await;
        assert_eq!(job["counts"]["imported"].as_i64().unwrap(), valid);

        // Unreadable input gets a clear message in the user's language, and nothing else.
        let r = send(
            reqwest::Client::new()
                .post(s.url("/api/v1/imports"))
                .bearer_auth(&token)
                .header("accept-language", "zh-CN")
                .multipart(reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(b"PK\x03\x04garbage".to_vec()).file_name("broken.xlsx"))),
        )
        .await;
        assert_eq!(r.status, 422, "{}", r.text());
        assert!(r.json["detail"].as_str().unwrap().contains("Excel文件无法读取"), "{}", r.text());
        let r = upload(&s, &token, "empty.csv", Vec::new(), None).await;
        assert_eq!(r.status, 422);
        // Someone who may not create archives may not import.
        let auditor = s.token("shenji1", ADMIN_PASSWORD).await;
        let r = upload(&s, &auditor, "customers.csv", fixture("customers_gbk.csv"), None).await;
        assert_eq!(r.status, 403, "{}", r.text());
    }
}

/// `dangan import` reads the file once (`App::import_in_one_pass`): what it reports must be what
/// the dry run reports for the same file on the same base — counts, bad rows, error report,
/// rows imported before — and all-or-nothing still writes nothing when a row is bad.
#[tokio::test]
async fn one_pass_import_reports_what_the_dry_run_reports() {
    use dangan_app::import::{ImportMode, ImportOptions};
    for s in servers(0).await {
        s.app.ensure_demo_company(Some(ADMIN_PASSWORD)).await.unwrap();
        let token = s.token("xiaoshou1", ADMIN_PASSWORD).await;
        let user = s.app.store.find_login("xiaoshou1").await.unwrap().unwrap().user;
        let p = dangan_app::Principal::new(user, false);
        let before = count(&s, &token, "").await;
        let staged = s.app.stage_import_file("客户汇总表.xlsx", std::io::Cursor::new(fixture("summary_title_merged.xlsx"))).unwrap();
        let options = ImportOptions::default();
        let counts = |c: &dangan_app::import::AnalysisCounts| (c.rows, c.valid, c.invalid, c.duplicates, c.already_imported, c.would_create);
        let rows_of = |a: &dangan_app::import::ImportAnalysis| a.errors.iter().map(|e| (e.row, e.column.clone(), e.message_zh.clone())).collect::<Vec<_>>();

        let dry = s.app.analyze_import(&p, &staged, &options).await.unwrap();
        let (one, job) = s.app.import_in_one_pass(&p, &staged, &options, |_| {}).await.unwrap();
        assert_eq!(job.status, dangan_store::ImportStatus::Done, "{:?}", s.engine);
        assert_eq!((job.counts.imported, job.counts.failed, job.counts.total), (5, 5, 10), "{:?}", job.counts);
        assert_eq!(counts(&one.counts), counts(&dry.counts), "{:?}", s.engine);
        assert_eq!(counts(&one.counts), (10, 5, 5, 0, 0, 5));
        assert_eq!(rows_of(&one), rows_of(&dry));
        assert_eq!(one.headers, dry.headers);
        assert!(one.has_error_report);
        let report = s.app.import_error_report(&p, job.id).await.unwrap();
        let table = dangan_io::open_table(std::io::Cursor::new(report), dangan_io::FileKind::Xlsx, &Default::default()).unwrap();
        assert_eq!(table.count(), 5, "every bad row is in the error report");
        // Kept like a dry run's answer, for the import's page.
        assert_eq!(counts(&s.app.import_analysis(&p, job.id).await.unwrap().counts), counts(&one.counts));
        assert_eq!(count(&s, &token, "").await, before + 5);

        // The same file again: the five good rows were imported before, as the dry run says.
        let dry = s.app.analyze_import(&p, &staged, &options).await.unwrap();
        let (one, job) = s.app.import_in_one_pass(&p, &staged, &options, |_| {}).await.unwrap();
        assert_eq!(counts(&one.counts), counts(&dry.counts));
        assert_eq!(counts(&one.counts), (10, 5, 5, 0, 5, 0));
        assert_eq!((job.counts.imported, job.counts.skipped), (0, 5));
        assert_eq!(count(&s, &token, "").await, before + 5);

        // All or nothing, one bad row: nothing, and the bad row reported as the dry run does.
        let staged = s.app.stage_import_file("customers.csv", std::io::Cursor::new(fixture("customers_gbk.csv"))).unwrap();
        let strict = ImportOptions { mode: ImportMode::AllOrNothing, ..Default::default() };
        let dry = s.app.analyze_import(&p, &staged, &strict).await.unwrap();
        let (one, job) = s.app.import_in_one_pass(&p, &staged, &strict, |_| {}).await.unwrap();
        assert_eq!(job.status, dangan_store::ImportStatus::Rejected, "{job:?}");
        assert_eq!(counts(&one.counts), counts(&dry.counts));
        assert_eq!((one.counts.rows, one.counts.valid, one.counts.invalid), (3, 2, 1));
        assert_eq!(one.errors.len(), 1);
        assert!(one.has_error_report);
        assert_eq!(count(&s, &token, "").await, before + 5, "all or nothing: nothing");

        // A row repeated three batches later: a duplicate of the file's own row, not a row
        // "imported before" — although this run stored the first copy before reading the second.
        let chars: Vec<char> = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥金木水火土日月星山川河海江湖风云雷电春夏秋冬东南西北梅兰竹菊松柏桃李".chars().collect();
        let mut names = Vec::new();
        for a in &chars {
            for b in &chars {
                for c in &chars {
                    if names.len() < 6_500 {
                        names.push(format!("{a}{b}{c}贸易有限公司"));
                    }
                }
            }
        }
        assert_eq!(names.len(), 6_500);
        let mut csv = String::from("客户名称\n");
        for n in &names {
            csv.push_str(n);
            csv.push('\n');
        }
        csv.push_str(&names[0]);
        csv.push('\n');
        let staged = s.app.stage_import_file("repeated.csv", std::io::Cursor::new(csv.into_bytes())).unwrap();
        let (one, job) = s.app.import_in_one_pass(&p, &staged, &options, |_| {}).await.unwrap();
        assert_eq!(job.status, dangan_store::ImportStatus::Done, "{job:?}");
        assert_eq!(one.counts.already_imported, 0, "{:?}", s.engine);
        assert!(one.duplicates.iter().any(|d| d.row == 6_502), "the repeated row is a duplicate: {:?}", one.duplicates.iter().map(|d| d.row).collect::<Vec<_>>());
        assert_eq!(one.counts.would_create, 6_500, "created once");
        assert_eq!(job.counts.imported, 6_500);
        assert_eq!(count(&s, &token, "").await, before + 5 + 6_500);
    }
}

#[tokio::test]
async fn duplicates_skip_create_or_merge_per_row() {
    for s in servers(0).await {
        s.app.ensure_demo_company(Some(ADMIN_PASSWORD)).await.unwrap();
        let token = s.token("xiaoshou1", ADMIN_PASSWORD).await;
        let code = uscc(4242);
        let r = send(
            reqwest::Client::new()
                .post(s.url("/api/v1/archives"))
                .bearer_auth(&token)
                .json(&json!({"kind": "organization", "name": "杭州华星建材有限公司", "organization": {"uscc": code}})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let existing = r.json["id"].as_i64().unwrap();
        let other = uscc(4343);
        let csv = format!(
            "客户名称,统一社会信用代码,邮箱\r\n华星建材,{code},sales@hxjc.com\r\n宁波港通物流有限公司,{other},\r\n宁波港通物流（集团）,{other},\r\n杭州华星建材有限责任公司,,\r\n"
        );
        let r = upload(&s, &token, "dups.csv", csv.clone().into_bytes(), None).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let a = &r.json;
        assert_eq!(a["counts"]["valid"], 4);
        assert_eq!(a["counts"]["duplicates"], 3, "{a}");
        // Only a similar name (有限责任公司 vs 有限公司, no code): shown, but created by default.
        let d5 = a["duplicates"].as_array().unwrap().iter().find(|d| d["row"] == 5).expect("row 5 looks like the existing archive");
        assert_eq!(d5["exact"], false, "{d5}");
        assert_eq!(d5["decision"]["action"], "create");
        assert!(d5["candidates"].as_array().unwrap().iter().any(|c| c["archive_id"] == existing && c["reason_zh"].as_str().unwrap().contains("名称近似")), "{d5}");
        let d2 = a["duplicates"].as_array().unwrap().iter().find(|d| d["row"] == 2).expect("row 2 is a duplicate");
        assert_eq!(d2["candidates"][0]["archive_id"], existing);
        assert!(d2["candidates"][0]["reason_zh"].as_str().unwrap().contains("统一社会信用代码相同"), "{d2}");
        assert_eq!(d2["exact"], true);
        assert_eq!(d2["decision"]["action"], "skip");
        let d4 = a["duplicates"].as_array().unwrap().iter().find(|d| d["row"] == 4).expect("row 4 repeats row 3");
        assert!(d4["candidates"][0]["reason_zh"].as_str().unwrap().contains("第 3 行"), "{d4}");

        // Default: skip both duplicates; row 3 is created.
        let id = a["import"]["id"].as_i64().unwrap();
        let job = run_to_end(&s, &token, id, None).await;
        assert_eq!(job["counts"]["imported"], 2, "rows 3 and 5: {job}");
        assert_eq!(job["counts"]["skipped"], 2);

        // Merge row 2 into the existing archive: its empty e-mail is filled, a new version.
        let r = upload(&s, &token, "dups.csv", csv.into_bytes(), None).await;
        let id = r.json["import"]["id"].as_i64().unwrap();
        let job = run_to_end(&s, &token, id, Some(json!({"decisions": {"2": {"action": "merge", "into": existing}, "4": {"action": "create"}}}))).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(job["counts"]["merged"], 1, "{job}");
        assert_eq!(job["counts"]["imported"], 1, "row 4 created anyway; row 3 was imported before");
        let got = send(reqwest::Client::new().get(s.url(&format!("/api/v1/archives/{existing}?unmasked=true"))).bearer_auth(&token)).await;
        assert_eq!(got.json["email"], "sales@hxjc.com", "{}", got.text());
        assert_eq!(got.json["name"], "杭州华星建材有限公司", "the name stays");
        assert_eq!(got.json["version"], 2);
        assert_eq!(count(&s, &token, &format!("q={}", urlencoding::encode("港通"))).await, 2);
    }
}

#[tokio::test]
async fn cancel_stops_between_batches_and_a_rerun_completes_without_duplicates() {
    for s in servers(0).await {
        s.app.ensure_demo_company(Some(ADMIN_PASSWORD)).await.unwrap();
        let token = s.token("xiaoshou1", ADMIN_PASSWORD).await;
        let mut csv = String::from("客户名称,手机\n");
        let n = 12_000;
        for i in 0..n {
            csv.push_str(&format!("测试客户{i:05}号有限公司,139{:08}\n", i));
        }
        let r = upload(&s, &token, "big.csv", csv.into_bytes(), None).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json["counts"]["valid"], n);
        let id = r.json["import"]["id"].as_i64().unwrap();
        let started = send(reqwest::Client::new().post(s.url(&format!("/api/v1/imports/{id}/run"))).bearer_auth(&token)).await;
        assert_eq!(started.status, 202);
        let c = send(reqwest::Client::new().post(s.url(&format!("/api/v1/imports/{id}/cancel"))).bearer_auth(&token)).await;
        assert_eq!(c.status, 200);
        let job = wait_end(&s, &token, id).await;
        assert_eq!(job["status"], "canceled", "{job}");
        let imported = job["counts"]["imported"].as_i64().unwrap();
        assert!(imported < n as i64, "stopped early: {job}");
        // Every batch reported as imported is stored, whole.
        assert_eq!(count(&s, &token, "").await, imported);
        // Running it again finishes the file; nothing is created twice.
        let job = run_to_end(&s, &token, id, None).await;
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(count(&s, &token, "").await, n as i64);
    }
}

#[tokio::test]
async fn export_lists_masked_with_chosen_columns_and_audited() {
    for s in servers(60).await {
        let token = s.token("xiaoshou1", ADMIN_PASSWORD).await;
        let visible = count(&s, &token, "").await;
        let r = send(reqwest::Client::new().get(s.url("/api/v1/archives/export?format=csv&columns=name,mobile,classification.grade")).bearer_auth(&token)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.content_type().starts_with("text/csv"));
        let rows: i64 = r.headers["x-dangan-rows"].to_str().unwrap().parse().unwrap();
        let withheld: i64 = r.headers["x-dangan-withheld"].to_str().unwrap().parse().unwrap();
        assert_eq!(rows + withheld, visible, "every listed archive is written or withheld");
        assert!(rows > 0);
        let text = r.text();
        let mut lines = text.trim_start_matches('\u{feff}').lines();
        assert_eq!(lines.next().unwrap(), "档号,客户名称,手机,客户等级");
        let body: Vec<&str> = lines.collect();
        assert_eq!(body.len() as i64, rows);
        let mobiles: Vec<&str> = body.iter().filter_map(|l| l.split(',').nth(2)).filter(|m| !m.is_empty()).collect();
        assert!(!mobiles.is_empty());
        assert!(mobiles.iter().all(|m| m.contains("****")), "masked: {mobiles:?}");

        // xlsx of a filtered list, read back.
        let r = send(reqwest::Client::new().get(s.url("/api/v1/archives/export?format=xlsx&grade=A")).bearer_auth(&token)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let a_rows: i64 = r.headers["x-dangan-rows"].to_str().unwrap().parse().unwrap();
        let table = dangan_io::open_table(std::io::Cursor::new(r.bytes.clone()), dangan_io::FileKind::Xlsx, &Default::default()).unwrap();
        assert_eq!(table.count() as i64, a_rows);

        // GBK CSV for old Excel.
        let r = send(reqwest::Client::new().get(s.url("/api/v1/archives/export?format=csv_gbk&columns=name")).bearer_auth(&token)).await;
        assert_eq!(r.status, 200);
        let (decoded, _, bad) = encoding_rs::GBK.decode(&r.bytes);
        assert!(!bad);
        assert!(decoded.starts_with("档号,客户名称"));

        // A bad column is refused in the user's language.
        let r = send(reqwest::Client::new().get(s.url("/api/v1/archives/export?columns=name,shoe_size")).bearer_auth(&token).header("accept-language", "zh-CN")).await;
        assert_eq!(r.status, 422);
        assert!(r.json["detail"].as_str().unwrap().contains("shoe_size"));

        let recs = audit(&s, "archive.export").await;
        let first = recs.iter().find(|r| r["detail"]["format"] == "csv").expect("export audited");
        assert_eq!(first["username"], "xiaoshou1");
        assert_eq!(first["detail"]["rows"], rows);
        assert_eq!(first["detail"]["withheld"], withheld);
        assert_eq!(first["fields"], "name,mobile,classification.grade");
    }
}

#[tokio::test]
async fn vcard_round_trip_keeps_every_field_dangan_stores() {
    for s in servers(0).await {
        s.app.ensure_demo_company(Some(ADMIN_PASSWORD)).await.unwrap();
        let token = s.token("xiaoshou1", ADMIN_PASSWORD).await;
        for name in ["iphone_v30.vcf", "android_v21.vcf", "contact_v40.vcf"] {
            let original = dangan_io::vcard::read_vcards(&fixture(name)).unwrap();
            let r = upload(&s, &token, name, fixture(name), Some(json!({"duplicates": {"action": "create"}}))).await;
            assert_eq!(r.status, 201, "{name}: {}", r.text());
            let id = r.json["import"]["id"].as_i64().unwrap();
            let job = run_to_end(&s, &token, id, None).await;
            assert_eq!(job["status"], "done", "{job}");
            for card in &original {
                let want = card.to_contact();
                if dangan_core::validate::validate_contact(&want, "").len() > 0 {
                    continue;
                }
                let q = urlencoding::encode(&want.name);
                let list = send(reqwest::Client::new().get(s.url(&format!("/api/v1/archives?q={q}"))).bearer_auth(&token)).await;
                let archive_id = list.json["items"][0]["id"].as_i64().unwrap_or_else(|| panic!("{name}: {} imported: {}", want.name, list.text()));
                let v = send(reqwest::Client::new().get(s.url(&format!("/api/v1/archives/{archive_id}/contacts.vcf"))).bearer_auth(&token)).await;
                assert_eq!(v.status, 200, "{}", v.text());
                assert!(v.content_type().starts_with("text/vcard"));
                let back = dangan_io::vcard::read_vcards(&v.bytes).unwrap();
                assert_eq!(back.len(), 1, "{}", v.text());
                assert_eq!(back[0].to_contact(), want, "{name}: the card comes back with every field Dangan keeps");
            }
        }
        let recs = audit(&s, "archive.export").await;
        assert!(recs.iter().any(|r| r["detail"]["format"] == "vcard"), "vCard exports are audited");
    }
}

/// Everything of an archive as seen through the API (unmasked), without what belongs to the
/// installation (ids, owner, department, who recorded what).
async fn archive_snapshot(s: &TestServer, token: &str, id: i64) -> Value {
    let get = |p: String| async move {
        let r = send(reqwest::Client::new().get(s.url(&p)).bearer_auth(token)).await;
        assert_eq!(r.status, 200, "{p}: {}", r.text());
        r.json
    };
    let mut a = get(format!("/api/v1/archives/{id}?unmasked=true")).await;
    for k in ["id", "owner_id", "dept_id", "version", "version_by", "version_at", "created_by", "updated_by", "updated_at"] {
        a.as_object_mut().unwrap().remove(k);
    }
    let mut contacts = get(format!("/api/v1/archives/{id}/contacts?unmasked=true")).await;
    for c in contacts.as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("id");
        c.as_object_mut().unwrap().remove("archive_id");
    }
    // Timeline: the entries in order, a correction pointing at what it corrects by position.
    let entries = get(format!("/api/v1/archives/{id}/entries")).await;
    let mut list: Vec<Value> = entries.as_array().unwrap().clone();
    list.sort_by_key(|e| e["id"].as_i64());
    let pos = |eid: &Value| list.iter().position(|e| e["id"] == *eid);
    let timeline: Vec<Value> = list
        .iter()
        .map(|e| json!({"kind": e["kind"], "occurred_on": e["occurred_on"], "summary": e["summary"], "details": e["details"], "created_at": e["created_at"],
            "supersedes": e.get("supersedes").and_then(|x| pos(x)), "superseded_by": pos(&e["superseded_by"]), "reason": e["correction_reason"]}))
        .collect();
    let atts = get(format!("/api/v1/archives/{id}/attachments")).await;
    let mut files = Vec::new();
    for att in atts.as_array().unwrap() {
        let r = send(reqwest::Client::new().get(s.url(&format!("/api/v1/attachments/{}/content", att["id"]))).bearer_auth(token)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        files.push(json!({"filename": att["filename"], "sha256": att["sha256"], "size": att["size"], "content_type": att["content_type"], "bytes": hex::encode(&r.bytes)}));
    }
    json!({"archive": a, "contacts": contacts, "timeline": timeline, "attachments": files})
}

#[tokio::test]
async fn archive_package_moves_archives_between_engines_exactly() {
    let sources = servers(0).await;
    let mut targets = servers(0).await;
    targets.reverse(); // SQLite → PostgreSQL and PostgreSQL → SQLite (SQLite → SQLite without PG).
    for (src, dst) in sources.iter().zip(targets.iter()) {
        for s in [src, dst] {
            s.app.ensure_demo_company(Some(ADMIN_PASSWORD)).await.unwrap();
        }
        let token = src.token("xiaoshou1", ADMIN_PASSWORD).await;
        let c = reqwest::Client::new();
        let body = json!({"kind": "person", "name": "陈晓梅", "mobile": "13912345678", "email": "chenxm@example.com", "address": "福建省福州市鼓楼区五四路100号",
            "person": {"gender": "female", "id_type": "resident_id", "id_number": "11010519491231002X", "birth_date": "1949-12-31"},
            "classification": {"grade": "A"}, "characteristics": {"notes": "重要客户"}});
        let r = send(c.post(src.url("/api/v1/archives")).bearer_auth(&token).json(&body)).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let id = r.json["id"].as_i64().unwrap();
        let no = r.json["archive_no"].as_str().unwrap().to_string();
        let r = send(c.post(src.url(&format!("/api/v1/archives/{id}/contacts"))).bearer_auth(&token).json(&json!({"name": "林强", "mobile": "13800001111", "title": "丈夫"}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let r = send(c.post(src.url(&format!("/api/v1/archives/{id}/entries"))).bearer_auth(&token).json(&json!({"kind": "visit", "occurred_on": "2026-10-01", "summary": "上门拜访"}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let first = r.json["id"].as_i64().unwrap();
        let r = send(c.post(src.url(&format!("/api/v1/archives/{id}/entries"))).bearer_auth(&token).json(&json!({"kind": "visit", "occurred_on": "2026-10-02", "summary": "上门拜访", "supersedes": first, "correction_reason": "日期录入错误"}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec();
        let r = send(c.post(src.url(&format!("/api/v1/archives/{id}/attachments"))).bearer_auth(&token).multipart(reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(pdf).file_name("身份证复印件.pdf")))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        let before = archive_snapshot(src, &token, id).await;
        assert_eq!(before["archive"]["person"]["id_number"], "11010519491231002X", "{before}");
        assert_eq!(before["contacts"].as_array().unwrap().len(), 1);
        assert_eq!(before["timeline"][0]["superseded_by"], 1, "{before}");
        assert_eq!(before["timeline"][1]["supersedes"], 0);
        assert_eq!(before["attachments"][0]["filename"], "身份证复印件.pdf");

        let pkg = send(c.get(src.url(&format!("/api/v1/archives/{id}/package.zip"))).bearer_auth(&token)).await;
        assert_eq!(pkg.status, 200, "{}", pkg.text());
        assert!(pkg.bytes.starts_with(b"PK"));

        let dtoken = dst.token("xiaoshou1", ADMIN_PASSWORD).await;
        let up = |bytes: Vec<u8>| {
            c.post(dst.url("/api/v1/packages")).bearer_auth(&dtoken).multipart(reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name("package.zip")))
        };
        let r = send(up(pkg.bytes.clone())).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.json["created"][0][0], no.as_str());
        let new_id = r.json["created"][0][1].as_i64().unwrap();
        let after = archive_snapshot(dst, &dtoken, new_id).await;
        assert_eq!(after, before, "{:?} → {:?}: the archive arrives exactly", src.engine, dst.engine);

        // Again: the number exists, so it is refused, not doubled.
        let r = send(up(pkg.bytes.clone())).await;
        assert_eq!(r.status, 201);
        assert_eq!(r.json["created"].as_array().unwrap().len(), 0);
        assert_eq!(r.json["refused"][0][0], no.as_str());
        // New archives there are numbered past the arrived one.
        let r = send(c.post(dst.url("/api/v1/archives")).bearer_auth(&dtoken).json(&json!({"kind": "person", "name": "新客户"}))).await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert!(r.json["archive_no"].as_str().unwrap() > no.as_str(), "{} after {no}", r.json["archive_no"]);

        // A package altered on the way is refused whole, with the file named.
        let mut bad = pkg.bytes.clone();
        let at = bad.len() / 2;
        bad[at] ^= 0x55;
        let r = send(up(bad)).await;
        assert_eq!(r.status, 422, "{}", r.text());
        // Exporting needs the unmask right too: the auditor may not.
        let auditor = src.token("shenji1", ADMIN_PASSWORD).await;
        let r = send(c.get(src.url(&format!("/api/v1/archives/{id}/package.zip"))).bearer_auth(&auditor)).await;
        assert!(r.status == 403 || r.status == 404, "{}", r.status);
    }
}
