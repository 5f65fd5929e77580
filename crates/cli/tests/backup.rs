//! Backup and restore, end to end on both engines: a backup taken by `dangan backup` (another
//! process) while archives, versions, contacts, entries and attachments are written through the
//! API in parallel; `dangan restore` into an empty data dir (and an empty PostgreSQL database);
//! the restored data compared with the source row by row and byte by byte; `dangan audit verify`
//! on the restored data; damaged sets (a flipped byte in the database, an attachment, the
//! manifest; a missing file; the wrong key) refused by verify and restore with the target left
//! untouched; the API and page; the schedule and its retention driven by an injected clock.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::*;
use dangan_core::backup::{Retention, SetKind};
use dangan_store::{ArchiveQuery, SortOrder, Store};
use reqwest::header::CONTENT_TYPE;
use serde_json::{json, Value};

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], envs: &[(&str, String)]) -> Out {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dangan"));
    cmd.args(args).env("DANGAN_LOG", "warn").env_remove("DANGAN_BACKUP_KEY").env_remove("DANGAN_DATABASE_URL").env_remove("DANGAN_ENCRYPTION_KEY");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run dangan");
    Out { code: out.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&out.stdout).into_owned(), stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
}

/// The environment of a CLI run against the server's data (same database, same field key).
fn server_env(s: &TestServer) -> Vec<(&'static str, String)> {
    vec![
        ("DANGAN_DATA_DIR", s.data_dir.display().to_string()),
        ("DANGAN_DATABASE_URL", s.database_url().unwrap_or_default()),
        ("DANGAN_ENCRYPTION_KEY", s.app.settings.crypto.master_key_hex()),
        ("DANGAN_BACKUP_KEY", BACKUP_KEY.to_string()),
    ]
}

fn restore_env(data_dir: &Path, url: Option<&str>, key: &str) -> Vec<(&'static str, String)> {
    vec![("DANGAN_DATA_DIR", data_dir.display().to_string()), ("DANGAN_DATABASE_URL", url.unwrap_or("").to_string()), ("DANGAN_BACKUP_KEY", key.to_string())]
}

fn eng(s: &TestServer) -> &'static str {
    match s.engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
    }
}

/// One number from SQL run on a database (SQLite file or PostgreSQL URL).
async fn sql_count(sqlite: Option<&Path>, pg: Option<&str>, sql: &str) -> i64 {
    match (sqlite, pg) {
        (Some(p), _) => {
            let c = rusqlite::Connection::open(p).expect("open sqlite");
            c.query_row(sql, [], |r| r.get(0)).expect(sql)
        }
        (None, Some(url)) => {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect");
            tokio::spawn(conn);
            client.query_one(sql, &[]).await.expect(sql).get(0)
        }
        _ => unreachable!(),
    }
}

/// Pairs of (table, the audit action that records a row added through the API).
const ROWS_AND_EVENTS: &[(&str, &str)] = &[("archives", "archive.create"), ("archive_versions", "archive.update"), ("contacts", "contact.add"), ("timeline_entries", "entry.add"), ("attachments", "attachment.add")];

async fn rows_and_events(sqlite: Option<&Path>, pg: Option<&str>) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for (table, action) in ROWS_AND_EVENTS {
        let rows = sql_count(sqlite, pg, &format!("SELECT COUNT(*) FROM {table}")).await;
        let events = sql_count(sqlite, pg, &format!("SELECT COUNT(*) FROM audit_log WHERE action = '{action}'")).await;
        out.push((rows, events));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Archive(i64),
    Version(i64, i64),
    Contact(i64),
    Entry(i64),
    Attachment(i64),
}

struct Writers {
    done: Arc<Mutex<Vec<(Instant, Op)>>>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn png_with(seed: u64, n: usize) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b.push(x as u8);
    }
    b
}

/// Starts parallel writers through the API: new archives, updates (versions), contacts,
/// timeline entries and attachments, each logging what it finished and when.
async fn start_writers(s: &TestServer) -> Writers {
    let token = s.admin_token().await;
    let done = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..5u64 {
        let (base, token, done, stop) = (s.base.clone(), token.clone(), done.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let url = |p: &str| format!("{base}{p}");
            let mut i = 0u64;
            // Each writer works on the archives it created (the administrator's own).
            let mut mine: Vec<i64> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let target = if mine.is_empty() { 0 } else { mine[(i as usize * 7 + w as usize) % mine.len()] };
                let op = match if mine.is_empty() { 0 } else { (w + i) % 5 } {
                    0 => {
                        let body = json!({"kind": "person", "name": format!("备份测试{w}号{i}"), "mobile": "13912345678", "status": "active", "confirm_duplicates": true});
                        let r = send(http.post(url("/api/v1/archives")).bearer_auth(&token).json(&body)).await;
                        assert_eq!(r.status, 201, "create archive: {}", r.text());
                        let id = r.json["id"].as_i64().unwrap();
                        mine.push(id);
                        Op::Archive(id)
                    }
                    1 => {
                        let r = send(http.get(url(&format!("/api/v1/archives/{target}"))).bearer_auth(&token)).await;
                        assert_eq!(r.status, 200);
                        let mut body = r.json.clone();
                        body["postal_code"] = json!(format!("{}", 350000 + i % 1000));
                        let r = send(http.put(url(&format!("/api/v1/archives/{target}"))).bearer_auth(&token).json(&body)).await;
                        if r.status == 409 {
                            continue; // another writer updated it first
                        }
                        assert_eq!(r.status, 200, "update: {}", r.text());
                        Op::Version(target, r.json["version"].as_i64().unwrap())
                    }
                    2 => {
                        let r = send(http.post(url(&format!("/api/v1/archives/{target}/contacts"))).bearer_auth(&token).json(&json!({"name": format!("联系人{w}-{i}"), "mobile": "13700000000"}))).await;
                        assert_eq!(r.status, 201, "contact: {}", r.text());
                        Op::Contact(r.json["id"].as_i64().unwrap())
                    }
                    3 => {
                        let r = send(http.post(url(&format!("/api/v1/archives/{target}/entries"))).bearer_auth(&token).json(&json!({"kind": "visit", "occurred_on": "2026-11-02", "summary": format!("回访{w}-{i}")}))).await;
                        assert_eq!(r.status, 201, "entry: {}", r.text());
                        Op::Entry(r.json["id"].as_i64().unwrap())
                    }
                    _ => {
                        let bytes = png_with(w * 1_000_000 + i, 3000 + (i as usize % 5000));
                        let boundary = "----dangan-backup-test";
                        let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"扫描{i}.png\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
                        body.extend_from_slice(&bytes);
                        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
                        let r = send(http.post(url(&format!("/api/v1/archives/{target}/attachments"))).bearer_auth(&token).header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}")).body(body)).await;
                        assert_eq!(r.status, 201, "attachment: {}", r.text());
                        Op::Attachment(r.json["id"].as_i64().unwrap())
                    }
                };
                done.lock().unwrap().push((Instant::now(), op));
            }
        }));
    }
    Writers { done, stop, tasks }
}

fn j<T: serde::Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap()
}

/// Every archive of `restored` (with its versions, contacts, entries, attachments and their
/// bytes) equals the source's as of the snapshot; nothing is orphaned. Returns counts seen.
async fn compare(restored: &dyn Store, restored_dir: &Path, source: &dyn Store, source_dir: &Path) -> (usize, usize, usize, usize, usize) {
    let (mut archives, mut versions, mut contacts, mut entries, mut files) = (0, 0, 0, 0, 0);
    let mut after = None;
    loop {
        let page = restored.list_archives(&ArchiveQuery { filter: Default::default(), sort: SortOrder::CreatedAsc, after, limit: 200 }).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = Some(dangan_store::Cursor::after(page.last().unwrap(), SortOrder::CreatedAsc));
        for row in page {
            let id = row.id;
            let r = restored.get_archive(id).await.unwrap().expect("listed archive");
            let s = source.get_archive(id).await.unwrap().expect("the source has every restored archive");
            assert_eq!(r.archive_no, s.archive_no);
            assert_eq!(r.created_at, s.created_at);
            let source_versions = source.list_versions(id).await.unwrap();
            // A contact, entry or attachment added later touches the archive (updated_at) without a new version.
            assert!(r.updated_at <= s.updated_at);
            if r.version == s.version {
                let strip = |a: &dangan_core::Archive| {
                    let mut v = j(a);
                    v.as_object_mut().unwrap().remove("updated_at");
                    v
                };
                assert_eq!(strip(&r), strip(&s), "archive {id} at the same version differs");
            } else {
                assert!(r.version < s.version, "archive {id}: restored version {} is newer than the source's {}", r.version, s.version);
                let old = source_versions.iter().find(|v| v.version == r.version).expect("the source keeps every version");
                assert_eq!(j(&old.data), j(&r.data), "archive {id} version {}", r.version);
            }
            for v in restored.list_versions(id).await.unwrap() {
                let sv = source_versions.iter().find(|x| x.version == v.version).expect("version in source");
                assert_eq!(j(&v), j(sv));
                versions += 1;
            }
            let sc = source.list_contacts(id).await.unwrap();
            for c in restored.list_contacts(id).await.unwrap() {
                assert_eq!(j(&c), j(sc.iter().find(|x| x.id == c.id).expect("contact in source")));
                contacts += 1;
            }
            let se = source.list_entries(id).await.unwrap();
            for e in restored.list_entries(id).await.unwrap() {
                let mut s_e = se.iter().find(|x| x.id == e.id).expect("entry in source").clone();
                // A correction made after the snapshot marks the old entry in the source only.
                if e.superseded_by.is_none() {
                    s_e.superseded_by = None;
                }
                assert_eq!(j(&e), j(&s_e));
                entries += 1;
            }
            let sa = source.list_attachments(id).await.unwrap();
            for a in restored.list_attachments(id).await.unwrap() {
                assert_eq!(j(&a), j(sa.iter().find(|x| x.id == a.id).expect("attachment in source")));
                let rel = format!("attachments/{}/{}", &a.sha256[..2], a.sha256);
                let bytes = std::fs::read(restored_dir.join(&rel)).unwrap_or_else(|e| panic!("restored attachment file {rel} missing: {e}"));
                assert_eq!(bytes, std::fs::read(source_dir.join(&rel)).unwrap(), "{rel} bytes");
                use sha2::Digest;
                assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), a.sha256);
                assert_eq!(bytes.len() as i64, a.size);
                files += 1;
            }
            archives += 1;
        }
    }
    (archives, versions, contacts, entries, files)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_during_concurrent_writes_restores_a_consistent_copy() {
    for s in servers(5).await {
        let e = eng(&s);
        let source_db = s.data_dir.join("dangan.db");
        let pg_url = s.database_url();
        let sqlite_src = (s.engine == Engine::Sqlite).then_some(source_db.as_path());
        let before = rows_and_events(sqlite_src, pg_url.as_deref()).await;

        let writers = start_writers(&s).await;
        tokio::time::sleep(std::time::Duration::from_millis(800)).await;
        let out_dir = tempfile::tempdir().unwrap();
        let t0 = Instant::now();
        let env = server_env(&s);
        let out_path = out_dir.path().display().to_string();
        let backup = tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, String)> = env;
            run(&["backup", "--out", &out_path, "--verify"], &env)
        })
        .await
        .unwrap();
        let t1 = Instant::now();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        writers.stop.store(true, Ordering::Relaxed);
        for t in writers.tasks {
            t.await.expect("writer");
        }
        assert_eq!(backup.code, 0, "[{e}] backup: {}\n{}", backup.stdout, backup.stderr);
        assert!(backup.stdout.contains("verified"), "[{e}] {}", backup.stdout);
        let done = writers.done.lock().unwrap().clone();
        let during = done.iter().filter(|(t, _)| *t > t0 && *t < t1).count();
        assert!(during > 0, "[{e}] writes went on while the backup ran");
        eprintln!("[{e}] {} writes in all, {during} while the backup ran", done.len());

        let sets = dangan_app::backup::list_sets(out_dir.path());
        assert_eq!(sets.len(), 1, "[{e}] one set");
        let set = out_dir.path().join(&sets[0].id);
        assert!(!std::fs::read_dir(out_dir.path()).unwrap().any(|d| d.unwrap().file_name().to_string_lossy().starts_with(".tmp")), "no staging dir left");

        // Restore into a new data dir (and an empty database).
        let target_parent = tempfile::tempdir().unwrap();
        let target = target_parent.path().join("restored");
        let target_db = match s.engine {
            Engine::Sqlite => None,
            Engine::Postgres => Some(dangan_store::testing::TestDb::create().await.expect("target db")),
        };
        let target_url = target_db.as_ref().map(|d| d.url.clone());
        let r = run(&["restore", &set.display().to_string()], &restore_env(&target, target_url.as_deref(), BACKUP_KEY));
        assert_eq!(r.code, 0, "[{e}] restore: {}\n{}", r.stdout, r.stderr);
        assert_eq!(std::fs::read_to_string(target.join("dangan.key")).unwrap().trim(), s.app.settings.crypto.master_key_hex(), "[{e}] the field key is restored");

        let restored = dangan_store::open(target_url.as_deref().unwrap_or(""), &target.join("dangan.db")).await.unwrap();
        let (archives, versions, contacts, entries, files) = compare(restored.as_ref(), &target, s.app.store.as_ref(), &s.data_dir).await;
        eprintln!("[{e}] restored {archives} archives, {versions} versions, {contacts} contacts, {entries} entries, {files} attachments");

        // Complete: whatever was finished before the backup started is in it.
        for (t, op) in &done {
            if *t >= t0 {
                continue;
            }
            let present = match *op {
                Op::Archive(id) => restored.get_archive(id).await.unwrap().is_some(),
                Op::Version(id, v) => restored.get_archive(id).await.unwrap().is_some_and(|a| a.version >= v),
                _ => continue,
            };
            assert!(present, "[{e}] {op:?} finished before the backup started but is missing");
        }
        let restored_sqlite = (s.engine == Engine::Sqlite).then(|| target.join("dangan.db"));
        for (t, op) in &done {
            if *t >= t0 {
                continue;
            }
            let (table, id) = match *op {
                Op::Contact(id) => ("contacts", id),
                Op::Entry(id) => ("timeline_entries", id),
                Op::Attachment(id) => ("attachments", id),
                _ => continue,
            };
            let n = sql_count(restored_sqlite.as_deref(), target_url.as_deref(), &format!("SELECT COUNT(*) FROM {table} WHERE id = {id}")).await;
            assert_eq!(n, 1, "[{e}] {op:?} finished before the backup started but is missing");
        }

        // Consistent: each row added through the API came with its audit record in the same
        // transaction, so in a snapshot of one instant both counts moved together.
        let after = rows_and_events(restored_sqlite.as_deref(), target_url.as_deref()).await;
        for (((table, action), (r0, e0)), (r1, e1)) in ROWS_AND_EVENTS.iter().zip(&before).zip(&after) {
            assert_eq!(r1 - r0, e1 - e0, "[{e}] {table} rows added ({}) vs {action} records ({})", r1 - r0, e1 - e0);
        }
        // Nothing orphaned, and the per-archive walk saw every row.
        let total = |t: &'static str| {
            let (p, u) = (restored_sqlite.clone(), target_url.clone());
            async move { sql_count(p.as_deref(), u.as_deref(), &format!("SELECT COUNT(*) FROM {t}")).await as usize }
        };
        assert_eq!(total("archives").await, archives);
        // list_versions gives the current version too (kept in `archives`).
        assert_eq!(total("archive_versions").await + archives, versions);
        assert_eq!(total("contacts").await, contacts);
        assert_eq!(total("timeline_entries").await, entries);
        assert_eq!(total("attachments").await, files);
        assert!(files > 0 && entries > 0 && versions > 0 && contacts > 0, "[{e}] every kind of write is in the backup");
        // The source went on after the snapshot.
        let src_head = s.app.store.audit_head().await.unwrap().unwrap();
        let restored_head = restored.audit_head().await.unwrap().unwrap();
        assert_eq!(restored_head.event.action, dangan_core::audit::AuditAction::Restore, "[{e}] the restore is the last record");
        assert!(src_head.seq > restored_head.seq - 1, "[{e}]");
        // The snapshot's chain is a prefix of the source's.
        let at_snapshot = s.app.store.audit_chain(restored_head.seq - 1, 1).await.unwrap();
        assert_eq!(at_snapshot[0].hash, restored_head.prev_hash, "[{e}] the restored chain is the source's up to the snapshot");

        let v = run(&["audit", "verify"], &restore_env(&target, target_url.as_deref(), BACKUP_KEY));
        assert_eq!(v.code, 0, "[{e}] audit verify on the restored data: {}\n{}", v.stdout, v.stderr);
        assert!(v.stdout.contains("intact"), "[{e}] {}", v.stdout);
        drop(restored);
    }
}

fn flip(path: &Path, at: Option<u64>) {
    let mut b = std::fs::read(path).unwrap();
    let i = at.map(|a| a as usize).unwrap_or(b.len() / 2).min(b.len() - 1);
    b[i] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

fn first_file(dir: &Path) -> PathBuf {
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else {
                return p;
            }
        }
    }
    panic!("no file under {}", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn damaged_sets_fail_verify_and_restore_and_touch_nothing() {
    for s in servers(5).await {
        let e = eng(&s);
        let admin = s.admin_token().await;
        let http = reqwest::Client::new();
        let r = send(http.post(s.url("/api/v1/archives")).bearer_auth(&admin).json(&json!({"kind": "person", "name": "附件测试", "mobile": "13912345678", "confirm_duplicates": true}))).await;
        assert_eq!(r.status, 201);
        let archive = r.json["id"].as_i64().unwrap();
        for i in 0..3u64 {
            let bytes = png_with(i, 70_000 + i as usize * 1000);
            let boundary = "----b";
            let mut body = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a{i}.png\"\r\nContent-Type: image/png\r\n\r\n").into_bytes();
            body.extend_from_slice(&bytes);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            let r = send(http.post(s.url(&format!("/api/v1/archives/{archive}/attachments"))).bearer_auth(&admin).header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}")).body(body)).await;
            assert_eq!(r.status, 201);
        }

        // Only the system administrator may back up, list and verify (refusals are audited).
        let archivist = s.token("dangan1", ADMIN_PASSWORD).await;
        assert_eq!(send(http.post(s.url("/api/v1/backups")).bearer_auth(&archivist)).await.status, 403, "[{e}]");
        assert_eq!(send(http.get(s.url("/api/v1/backups")).bearer_auth(&archivist)).await.status, 403, "[{e}]");
        let r = send(http.post(s.url("/api/v1/backups")).bearer_auth(&admin)).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let id = r.json["id"].as_str().unwrap().to_string();
        assert_eq!(r.json["kind"], "manual");
        assert!(r.json["verified"].is_null());
        let list = send(http.get(s.url("/api/v1/backups")).bearer_auth(&admin)).await;
        assert_eq!(list.json[0]["id"], id.as_str());
        let v = send(http.post(s.url(&format!("/api/v1/backups/{id}/verify"))).bearer_auth(&admin)).await;
        assert_eq!(v.status, 200);
        assert_eq!(v.json["ok"], true, "[{e}] {}", v.text());
        assert_eq!(send(http.get(s.url("/api/v1/backups")).bearer_auth(&admin)).await.json[0]["verified"], true);
        // Audited: the set's id, sizes and checksum; the verification; the refusals.
        let trail = s.app.store.list_audit(&dangan_store::AuditQuery { action: Some("system.backup".into()), limit: 50, ..Default::default() }).await.unwrap();
        let made = trail.iter().find(|r| r.event.outcome == dangan_core::audit::Outcome::Allowed).expect("system.backup recorded");
        let d: Value = serde_json::from_str(&made.event.detail).unwrap();
        assert_eq!(d["id"], id.as_str());
        assert!(d["stored_bytes"].as_u64().unwrap() > 0 && d["manifest_sha256"].as_str().unwrap().len() == 64, "[{e}] {d}");
        assert_eq!(made.event.username, "admin");
        assert!(trail.iter().filter(|r| r.event.outcome == dangan_core::audit::Outcome::Denied).count() >= 2, "[{e}] refusals recorded");
        let verified = s.app.store.list_audit(&dangan_store::AuditQuery { action: Some("system.backup_verify".into()), limit: 5, ..Default::default() }).await.unwrap();
        assert_eq!(verified.len(), 1);

        // The page: Chinese first, the sets, the button, restore said to be a CLI operation.
        let page = send(http.get(s.url("/admin/backups")).bearer_auth(&admin)).await;
        assert_eq!(page.status, 200);
        let html = page.text();
        for want in ["备份与恢复", "立即备份", id.as_str(), "校验通过", "dangan restore", "先停止系统"] {
            assert!(html.contains(want), "[{e}] page lacks {want}");
        }
        assert_eq!(send(http.get(s.url("/admin/backups")).bearer_auth(&archivist)).await.status, 403);

        let set = s.app.backup_dir().join(&id);
        let db_file = if s.engine == Engine::Sqlite { "dangan.db" } else { "postgres.dump" };
        let wrong_key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        type Damage = (&'static str, Box<dyn Fn(&Path)>, &'static str, String);
        let damages: Vec<Damage> = vec![
            ("db byte", Box::new(|p: &Path| flip(&p.join("db.enc"), None)), "", format!("{db_file}: fails authentication")),
            ("db tag", Box::new(|p: &Path| flip(&p.join("db.enc"), Some(u64::MAX))), "", format!("{db_file}: fails authentication")),
            ("attachment byte", Box::new(|p: &Path| flip(&first_file(&p.join("files/attachments")), Some(200))), "", "attachments/".into()),
            ("manifest byte", Box::new(|p: &Path| flip(&p.join("manifest.enc"), Some(60))), "", "manifest.enc is damaged".into()),
            ("attachment missing", Box::new(|p: &Path| std::fs::remove_file(first_file(&p.join("files/attachments"))).unwrap()), "", "missing from the set".into()),
            ("extra file", Box::new(|p: &Path| std::fs::write(p.join("files/extra.bin"), b"x").unwrap()), "", "files/extra.bin".into()),
            ("wrong key", Box::new(|_: &Path| {}), wrong_key, "wrong backup key".into()),
        ];
        let work = tempfile::tempdir().unwrap();
        for (name, damage, key, expect) in &damages {
            let copy = work.path().join(name.replace(' ', "-"));
            copy_dir(&set, &copy);
            std::fs::remove_file(copy.join("verify.json")).ok();
            damage(&copy);
            let key = if key.is_empty() { BACKUP_KEY } else { key };
            let v = run(&["backup", "verify", &copy.display().to_string()], &[("DANGAN_BACKUP_KEY", key.to_string())]);
            assert_eq!(v.code, 2, "[{e}] {name}: verify must fail: {}\n{}", v.stdout, v.stderr);
            assert!(v.stderr.contains(expect.as_str()), "[{e}] {name}: the message names the problem ({expect}): {}", v.stderr);
            assert!(v.stderr.contains("备份已损坏"), "[{e}] {name}: {}", v.stderr);

            // Restore into an existing empty dir (and an empty database): refused, untouched.
            let parent = tempfile::tempdir().unwrap();
            let target = parent.path().join("target");
            std::fs::create_dir(&target).unwrap();
            let target_db = match s.engine {
                Engine::Sqlite => None,
                Engine::Postgres => Some(dangan_store::testing::TestDb::create().await.unwrap()),
            };
            let url = target_db.as_ref().map(|d| d.url.clone());
            let r = run(&["restore", &copy.display().to_string()], &restore_env(&target, url.as_deref(), key));
            assert_eq!(r.code, 2, "[{e}] {name}: restore must fail: {}\n{}", r.stdout, r.stderr);
            assert!(r.stderr.contains(expect.as_str()) && r.stderr.contains("目标未改动"), "[{e}] {name}: {}", r.stderr);
            assert_eq!(std::fs::read_dir(&target).unwrap().count(), 0, "[{e}] {name}: the target stays empty");
            assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 1, "[{e}] {name}: no half-restored dir beside it");
            if let Some(u) = &url {
                assert_eq!(sql_count(None, Some(u), "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'").await, 0, "[{e}] {name}: the database stays empty");
            }
        }

        // A target that is not empty is refused and left as it was.
        let parent = tempfile::tempdir().unwrap();
        std::fs::write(parent.path().join("keep.txt"), b"mine").unwrap();
        let r = run(&["restore", &set.display().to_string()], &restore_env(parent.path(), s.database_url().as_deref(), BACKUP_KEY));
        assert_eq!(r.code, 2, "[{e}] {}", r.stderr);
        assert!(r.stderr.contains("not empty"), "[{e}] {}", r.stderr);
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 1);
        if s.engine == Engine::Postgres {
            // The server's own database has tables: refused too.
            let fresh = tempfile::tempdir().unwrap();
            let r = run(&["restore", &set.display().to_string()], &restore_env(&fresh.path().join("x"), s.database_url().as_deref(), BACKUP_KEY));
            assert_eq!(r.code, 2);
            assert!(r.stderr.contains("database is not empty"), "{}", r.stderr);
            assert!(!fresh.path().join("x").exists());
        }

        // Damage in place: the API's verification says so, and the list shows it.
        flip(&first_file(&set.join("files/attachments")), Some(100));
        let v = send(http.post(s.url(&format!("/api/v1/backups/{id}/verify"))).bearer_auth(&admin)).await;
        assert_eq!(v.json["ok"], false, "[{e}]");
        assert!(v.json["problem"].as_str().unwrap().contains("attachments/"), "[{e}] {}", v.text());
        assert_eq!(send(http.get(s.url("/api/v1/backups")).bearer_auth(&admin)).await.json[0]["verified"], false);
        assert!(send(http.get(s.url("/admin/backups")).bearer_auth(&admin)).await.text().contains("备份已损坏"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_schedule_makes_daily_and_monthly_sets_and_retention_keeps_the_right_ones() {
    for s in servers(0).await {
        let e = eng(&s);
        let dir = tempfile::tempdir().unwrap();
        let mut settings = (*s.app.settings).clone();
        settings.backup.dir = dir.path().to_path_buf();
        settings.backup.hour = 2;
        settings.backup.utc_offset = chrono::FixedOffset::east_opt(8 * 3600).unwrap();
        settings.backup.retention = Retention { daily: 3, monthly: 2, manual: 1 };
        let app = dangan_app::App::new(s.app.store.clone(), settings);
        // Local time (UTC+8) → UTC.
        let at = |d: i64, h: i64| -> DateTime<Utc> { Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::days(d) + Duration::hours(h - 8) };
        let mut made = Vec::new();
        for day in 0..70 {
            assert!(app.scheduled_backup(at(day, 1)).await.unwrap().is_none(), "[{e}] nothing before 02:00");
            let set = app.scheduled_backup(at(day, 3)).await.unwrap().unwrap_or_else(|| panic!("[{e}] day {day}: due at 03:00"));
            assert!(app.scheduled_backup(at(day, 23)).await.unwrap().is_none(), "[{e}] once a day");
            assert_eq!(set.verified, Some(true), "[{e}] a scheduled set is verified");
            made.push((day, set.kind));
            if day == 40 || day == 41 {
                app.create_backup(None, "test", SetKind::Manual, None, at(day, 12)).await.unwrap();
            }
        }
        // 每月1日备份: Jan 1, Feb 1, Mar 1 are the monthly ones.
        let monthly_days: Vec<i64> = made.iter().filter(|(_, k)| *k == SetKind::Monthly).map(|(d, _)| *d).collect();
        assert_eq!(monthly_days, vec![0, 31, 59], "[{e}]");
        let kept = dangan_app::backup::list_sets(dir.path());
        let of = |k: SetKind| kept.iter().filter(|s| s.kind == k).map(|s| s.created_at).collect::<Vec<_>>();
        assert_eq!(of(SetKind::Daily), vec![at(69, 3), at(68, 3), at(67, 3)], "[{e}] the 3 newest daily sets");
        assert_eq!(of(SetKind::Monthly), vec![at(59, 3), at(31, 3)], "[{e}] the 2 newest monthly sets");
        assert_eq!(of(SetKind::Manual), vec![at(41, 12)], "[{e}] the newest manual set");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 6, "[{e}] pruned sets are gone from disk");

        if s.engine == Engine::Postgres {
            // Another server holds the backup lock: this one does not run the scheduled backup.
            let held = s.app.store.try_job_lock(dangan_app::backup::BACKUP_LOCK).await.unwrap().expect("lock");
            assert!(app.scheduled_backup(at(70, 3)).await.unwrap().is_none(), "[{e}] the lock holder runs it, not this server");
            held.release().await;
            assert!(app.scheduled_backup(at(70, 3)).await.unwrap().is_some(), "[{e}] once the lock is free");
        }
    }
}
