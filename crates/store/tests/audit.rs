//! The audit trail (审计日志) in the stores, on both engines, against real databases.
//!
//! - Every write appends its record in the same transaction: records are numbered 1..n without
//!   gaps, each links to the one before, and `ChainVerifier` accepts the whole chain.
//! - A write that is refused or rolled back (stale version, duplicate, returned twice) leaves no
//!   record; concurrent writers still make one gapless chain.
//! - `list_audit` filters by user, archive, action, outcome, time range and pages by `before_seq`.
//! - `sweep_expired_grants` records each expiry exactly once.
//! - Tampering directly in the database — by someone who first drops or disables the
//!   append-only triggers, as an attacker with database access would — is found by
//!   `dangan_app::audit::verify_chain` at the exact first bad record; a consistent rewrite of the
//!   whole chain is found only by comparing an exported head (`HeadMismatch`).
//!
//! Like `contract.rs`: SQLite in a temporary file, PostgreSQL in a fresh database per test
//! (skipped with a message when unreachable, a failure in CI / `DANGAN_REQUIRE_PG=1`).
//! `cargo test -p dangan-store --test audit sqlite` runs one engine only.

use std::collections::HashSet;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use dangan_app::audit::verify_chain;
use dangan_core::audit::{chain, chain_hash, AuditAction, AuditEvent, AuditHead, AuditRecord, ChainBreak, ChainVerifier, Outcome, GENESIS_HASH};
use dangan_core::numbering::NumberScheme;
use dangan_core::policy::{Action, ApprovalStep};
use dangan_core::{ArchiveData, ContactData, CustomerKind, EntryData, EntryDetails, EntryKind, Role};
use dangan_store::{
    AuditQuery, BulkArchive, LoanKind, NewAccessRequest, NewAttachment, NewLoan, NewUser, Numbering, Store, StoreError,
};

// =============================================================================================
// Harness: the store, and a way under it (the database itself) for the tampering tests
// =============================================================================================

/// Where the store keeps its data, for reaching the database directly.
#[derive(Clone)]
enum Raw {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Clone)]
struct Ctx {
    store: Arc<dyn Store>,
    raw: Raw,
}

impl Ctx {
    fn e(&self) -> &'static str {
        match self.raw {
            Raw::Sqlite(_) => "SQLite",
            Raw::Postgres(_) => "PostgreSQL",
        }
    }
    fn is_pg(&self) -> bool {
        matches!(self.raw, Raw::Postgres(_))
    }

    /// Runs SQL directly on the database, on a connection of its own (not the store's): the
    /// SQLite text on SQLite, the PostgreSQL text on PostgreSQL. Returns the database's error text.
    async fn sql(&self, sqlite: &str, postgres: &str) -> Result<(), String> {
        match &self.raw {
            Raw::Sqlite(path) => {
                let (path, sql) = (path.clone(), sqlite.to_string());
                tokio::task::spawn_blocking(move || {
                    let c = rusqlite::Connection::open(&path).map_err(|e| e.to_string())?;
                    c.busy_timeout(std::time::Duration::from_secs(10)).map_err(|e| e.to_string())?;
                    c.execute_batch(&sql).map_err(|e| e.to_string())
                })
                .await
                .expect("join")
            }
            Raw::Postgres(url) => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.expect("connect to the test database directly");
                let task = tokio::spawn(conn);
                let r = client.batch_execute(postgres).await.map_err(|e| match e.as_db_error() {
                    Some(db) => db.message().to_string(),
                    None => e.to_string(),
                });
                drop(client);
                let _ = task.await;
                r
            }
        }
    }

    /// The same SQL on both engines.
    async fn sql_both(&self, sql: &str) -> Result<(), String> {
        self.sql(sql, sql).await
    }

    /// What an attacker with database access does first: take the append-only guard away.
    async fn disable_guard(&self) {
        self.sql(
            "DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_log_in_order;",
            "ALTER TABLE audit_log DISABLE TRIGGER USER;",
        )
        .await
        .unwrap_or_else(|e| panic!("[{}] dropping/disabling the append-only triggers: {e}", self.e()));
    }

    /// Writes a record's stored columns back (the guard must be off). Values are inlined as SQL
    /// literals (text quoted, timestamps in each engine's format).
    async fn overwrite(&self, at_seq: i64, r: &AuditRecord) {
        let e = &r.event;
        let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let n = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_else(|| "NULL".into());
        let set = |at: String| {
            format!(
                "UPDATE audit_log SET seq = {}, at = {at}, user_id = {}, username = {}, roles = {}, dept_id = {}, client_addr = {}, user_agent = {}, action = {}, \
                 archive_id = {}, archive_no = {}, fields = {}, basis = {}, outcome = {}, detail = {}, prev_hash = {}, hash = {} WHERE seq = {at_seq};",
                r.seq,
                n(e.user_id),
                q(&e.username),
                q(&e.roles),
                n(e.dept_id),
                q(&e.client_addr),
                q(&e.user_agent),
                q(e.action.code()),
                n(e.archive_id),
                q(&e.archive_no),
                q(&e.fields),
                q(&e.basis),
                q(e.outcome.as_str()),
                q(&e.detail),
                q(&r.prev_hash),
                q(&r.hash),
            )
        };
        let sqlite = set(e.at.timestamp_micros().to_string());
        let pg = set(format!("'{}'::timestamptz", e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
        self.sql(&sqlite, &pg).await.unwrap_or_else(|err| panic!("[{}] overwriting record {at_seq}: {err}", self.e()));
    }

    /// Inserts a (forged) record as stored (the guard need not be off: inserting is allowed).
    async fn insert(&self, r: &AuditRecord) {
        let e = &r.event;
        let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let n = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_else(|| "NULL".into());
        let ins = |at: String| {
            format!(
                "INSERT INTO audit_log (seq, at, user_id, username, roles, dept_id, client_addr, user_agent, action, archive_id, archive_no, fields, basis, outcome, detail, prev_hash, hash) \
                 VALUES ({}, {at}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {});",
                r.seq,
                n(e.user_id),
                q(&e.username),
                q(&e.roles),
                n(e.dept_id),
                q(&e.client_addr),
                q(&e.user_agent),
                q(e.action.code()),
                n(e.archive_id),
                q(&e.archive_no),
                q(&e.fields),
                q(&e.basis),
                q(e.outcome.as_str()),
                q(&e.detail),
                q(&r.prev_hash),
                q(&r.hash),
            )
        };
        let sqlite = ins(e.at.timestamp_micros().to_string());
        let pg = ins(format!("'{}'::timestamptz", e.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)));
        self.sql(&sqlite, &pg).await.unwrap_or_else(|err| panic!("[{}] inserting record {}: {err}", self.e(), r.seq));
    }

    /// Renumbers every record above `above` by `by` (in two steps, so no number collides midway).
    async fn shift(&self, above: i64, by: i64) {
        let sql = format!("UPDATE audit_log SET seq = -seq WHERE seq > {above}; UPDATE audit_log SET seq = -seq + ({by}) WHERE seq < 0;");
        self.sql_both(&sql).await.unwrap_or_else(|e| panic!("[{}] renumbering: {e}", self.e()));
    }
}

async fn run<F, Fut>(name: &str, ctx: Ctx, scenario: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()>,
{
    let engine = ctx.store.engine();
    ctx.store.migrate().await.expect("migrate");
    let started = Instant::now();
    scenario(ctx).await;
    eprintln!("audit {name} on {engine:?}: {:.2?}", started.elapsed());
}

macro_rules! audit_scenarios {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("temporary directory");
                let path = dir.path().join("dangan.db");
                let store = dangan_store::sqlite::SqliteStore::open(&path).expect("open SQLite");
                let store: std::sync::Arc<dyn dangan_store::Store> = std::sync::Arc::new(store);
                assert_eq!(store.engine(), dangan_store::Engine::Sqlite);
                super::run(stringify!($scenario), super::Ctx { store, raw: super::Raw::Sqlite(path) }, super::$scenario).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                // Panics by itself where PostgreSQL is required; None means "skip" elsewhere.
                let Some(db) = dangan_store::testing::TestDb::create().await else { return };
                let store = dangan_store::open(&db.url, std::path::Path::new("unused.db")).await.expect("connect to the test database");
                assert_eq!(store.engine(), dangan_store::Engine::Postgres);
                super::run(stringify!($scenario), super::Ctx { store, raw: super::Raw::Postgres(db.url.clone()) }, super::$scenario).await;
                drop(db);
            }
        }
    )+};
}

audit_scenarios!(
    every_write_appends_a_chained_record,
    refused_writes_leave_no_record,
    concurrent_writers_make_one_gapless_chain,
    list_audit_filters_and_pages,
    grant_expiry_is_recorded_once,
    triggers_refuse_update_and_delete,
    append_only_guard_cannot_be_bypassed_without_dropping_it,
    tamper_altered_record_is_found,
    tamper_deleted_record_is_found,
    tamper_inserted_record_is_found,
    tamper_rewritten_chain_is_found_only_by_the_exported_head,
    verify_walks_past_one_page,
);

// =============================================================================================
// Helpers
// =============================================================================================

fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap() + Duration::seconds(secs)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn numbering() -> Numbering {
    Numbering { scheme: NumberScheme::default(), dept_code: String::new(), date: day(2026, 3, 2) }
}

/// An event as the application builds one: actor, roles, department, address, agent.
fn ev(action: AuditAction, actor: i64, t: DateTime<Utc>) -> AuditEvent {
    let mut e = AuditEvent::new(action, t);
    e.user_id = Some(actor);
    e.username = format!("用户{actor}");
    e.roles = "salesperson".into();
    e.dept_id = Some(1);
    e.client_addr = "10.8.1.7".into();
    e.user_agent = "Mozilla/5.0 (测试)".into();
    e
}

/// A read as the group-commit writer appends it (no transaction of its own).
fn read_ev(actor: i64, archive: i64, t: DateTime<Utc>) -> AuditEvent {
    let mut e = ev(AuditAction::ArchiveRead, actor, t);
    e.archive_id = Some(archive);
    e.archive_no = format!("KH-2026-{archive:06}");
    e
}

async fn whole_chain(store: &dyn Store) -> Vec<AuditRecord> {
    let mut out = Vec::new();
    let mut from = 1;
    loop {
        let page = store.audit_chain(from, 1000).await.expect("audit_chain");
        let done = page.len() < 1000;
        if let Some(last) = page.last() {
            from = last.seq + 1;
        }
        out.extend(page);
        if done {
            return out;
        }
    }
}

async fn head_seq(store: &dyn Store) -> i64 {
    store.audit_head().await.expect("audit_head").map(|r| r.seq).unwrap_or(0)
}

/// The chain's head as the server exports it daily.
async fn export_head(store: &dyn Store) -> AuditHead {
    let h = store.audit_head().await.expect("audit_head").expect("a non-empty trail");
    AuditHead { seq: h.seq, hash: h.hash, at: Utc::now() }
}

/// Asserts the chain is 1..=n, linked, each hash right, and the verifier agrees.
fn assert_valid_chain(e: &str, records: &[AuditRecord]) {
    let mut prev = GENESIS_HASH.to_string();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as i64 + 1, "[{e}] records are numbered 1..n without gaps");
        assert_eq!(r.prev_hash, prev, "[{e}] record {} links to the one before", r.seq);
        assert_eq!(r.hash, chain_hash(&r.prev_hash, r.seq, &r.event), "[{e}] record {} hashes its own content", r.seq);
        assert_eq!(r.hash.len(), 64, "[{e}] SHA-256 in hex");
        prev = r.hash.clone();
    }
    let mut v = ChainVerifier::default();
    for r in records {
        v.check(r).unwrap_or_else(|b| panic!("[{e}] ChainVerifier refuses an untouched chain at {}: {b}", r.seq));
    }
    assert_eq!(v.checked as usize, records.len());
}

/// A verification that must find exactly `expected`.
async fn assert_break(ctx: &Ctx, heads: &[AuditHead], expected: ChainBreak, what: &str) {
    let report = verify_chain(ctx.store.as_ref(), heads).await.unwrap_or_else(|err| panic!("[{}] verify after {what}: {err}", ctx.e()));
    assert_eq!(report.problem, Some(expected.clone()), "[{}] {what}: verify_chain must report {expected:?} ({expected}); report {report:?}", ctx.e());
}

async fn assert_intact(ctx: &Ctx, heads: &[AuditHead], what: &str) -> dangan_app::audit::VerifyReport {
    let report = verify_chain(ctx.store.as_ref(), heads).await.unwrap_or_else(|err| panic!("[{}] verify {what}: {err}", ctx.e()));
    assert_eq!(report.problem, None, "[{}] {what}: the chain should verify; report {report:?}", ctx.e());
    report
}

/// A realistic small trail: writes of every kind (each audited in its own transaction) and
/// batches of reads. Returns the number of records.
async fn populate(store: &dyn Store, reads: usize) -> i64 {
    let d = store.create_department("销售一部", "XS1", None, &ev(AuditAction::DepartmentCreate, 1, at(0))).await.unwrap();
    let u = store
        .create_user(
            &NewUser { username: "xiaoshou1".into(), display_name: "张明".into(), password_hash: None, dept_id: Some(d.id), roles: vec![Role::Salesperson] },
            &ev(AuditAction::UserCreate, 1, at(1)),
        )
        .await
        .unwrap();
    let mut data = ArchiveData::new(CustomerKind::Organization, "杭州审计测试有限公司");
    data.mobile = Some("13800138000".into());
    let a = store.create_archive(&data, &numbering(), &ev(AuditAction::ArchiveCreate, u.id, at(2))).await.unwrap();
    let mut d2 = data.clone();
    d2.name = "杭州审计测试股份有限公司".into();
    store.update_archive(a.id, 1, &d2, Some("更名"), &ev(AuditAction::ArchiveUpdate, u.id, at(3)).with_fields(&["name"])).await.unwrap();
    let mut n = 4;
    let events: Vec<AuditEvent> = (0..reads).map(|i| read_ev(u.id, a.id, at(10 + i as i64))).collect();
    for batch in events.chunks(7) {
        store.append_audit(batch.to_vec()).await.unwrap();
        n += batch.len() as i64;
    }
    n
}

// =============================================================================================
// 1. Every write appends a chained record, in its own transaction
// =============================================================================================

async fn every_write_appends_a_chained_record(ctx: Ctx) {
    let e = ctx.e();
    let store = ctx.store.as_ref();
    assert!(store.audit_head().await.unwrap().is_none(), "[{e}] a new database has an empty trail");
    assert!(store.audit_chain(1, 10).await.unwrap().is_empty(), "[{e}]");
    let report = assert_intact(&ctx, &[], "an empty trail").await;
    assert_eq!((report.checked, report.head_seq), (0, 0), "[{e}]");

    // Each write, then the one record it must have appended: (seq, action, archive id, detail keys).
    let mut expected: Vec<(AuditAction, Option<i64>)> = Vec::new();
    let check_last = |expected: &mut Vec<(AuditAction, Option<i64>)>, action: AuditAction, archive: Option<i64>| expected.push((action, archive));

    let hq = store.create_department("总公司", "HQ", None, &ev(AuditAction::DepartmentCreate, 0, at(0))).await.unwrap();
    check_last(&mut expected, AuditAction::DepartmentCreate, None);
    let nu = |name: &str, role| NewUser { username: name.into(), display_name: name.into(), password_hash: None, dept_id: Some(hq.id), roles: vec![role] };
    let owner = store.create_user(&nu("owner", Role::Salesperson), &ev(AuditAction::UserCreate, 0, at(1))).await.unwrap();
    check_last(&mut expected, AuditAction::UserCreate, None);
    let reader = store.create_user(&nu("reader", Role::Salesperson), &ev(AuditAction::UserCreate, 0, at(1))).await.unwrap();
    check_last(&mut expected, AuditAction::UserCreate, None);
    let boss = store.create_user(&nu("boss", Role::GeneralManager), &ev(AuditAction::UserCreate, 0, at(1))).await.unwrap();
    check_last(&mut expected, AuditAction::UserCreate, None);
    store.set_password(owner.id, "$argon2id$fake", &ev(AuditAction::PasswordSet, 0, at(2))).await.unwrap();
    check_last(&mut expected, AuditAction::PasswordSet, None);

    let mut data = ArchiveData::new(CustomerKind::Organization, "杭州华星建材有限公司");
    data.mobile = Some("13800138000".into());
    let a = store.create_archive(&data, &numbering(), &ev(AuditAction::ArchiveCreate, owner.id, at(3))).await.unwrap();
    check_last(&mut expected, AuditAction::ArchiveCreate, Some(a.id));
    let mut d2 = data.clone();
    d2.name = "杭州华星建材股份有限公司".into();
    let a2 = store.update_archive(a.id, 1, &d2, Some("工商变更"), &ev(AuditAction::ArchiveUpdate, owner.id, at(4)).with_fields(&["name"])).await.unwrap();
    assert_eq!(a2.version, 2);
    check_last(&mut expected, AuditAction::ArchiveUpdate, Some(a.id));

    let contact = ContactData {
        name: "李晓梅".into(),
        title: None,
        mobile: Some("13900001111".into()),
        landline: None,
        email: None,
        wechat: None,
        birthday: None,
        preferences: None,
        is_primary: true,
    };
    let c = store.add_contact(a.id, &contact, &ev(AuditAction::ContactAdd, owner.id, at(5))).await.unwrap();
    check_last(&mut expected, AuditAction::ContactAdd, Some(a.id));
    store.update_contact(a.id, c.id, &ContactData { title: Some("经理".into()), ..contact.clone() }, &ev(AuditAction::ContactUpdate, owner.id, at(6))).await.unwrap();
    check_last(&mut expected, AuditAction::ContactUpdate, Some(a.id));
    let entry = EntryData { kind: EntryKind::Visit, occurred_on: day(2026, 3, 1), summary: "上门拜访".into(), details: EntryDetails::default(), supersedes: None, correction_reason: None };
    let en = store.add_entry(a.id, &entry, &ev(AuditAction::EntryAdd, owner.id, at(7))).await.unwrap();
    check_last(&mut expected, AuditAction::EntryAdd, Some(a.id));
    let fix = EntryData { summary: "上门拜访（更正）".into(), supersedes: Some(en.id), correction_reason: Some("日期记错".into()), ..entry.clone() };
    store.add_entry(a.id, &fix, &ev(AuditAction::EntryCorrect, owner.id, at(8))).await.unwrap();
    check_last(&mut expected, AuditAction::EntryCorrect, Some(a.id));
    let att = NewAttachment {
        archive_id: a.id,
        sha256: "ab".repeat(32),
        filename: "营业执照.png".into(),
        content_type: "image/png".into(),
        size: 10,
        created_by: owner.id,
        created_at: at(9),
    };
    store.add_attachment(&att, &ev(AuditAction::AttachmentAdd, owner.id, at(9))).await.unwrap();
    check_last(&mut expected, AuditAction::AttachmentAdd, Some(a.id));

    let req = NewAccessRequest {
        archive_id: a.id,
        requester_id: reader.id,
        purpose: "核对合同".into(),
        sections: vec![],
        actions: vec![Action::Read],
        hours: 2,
        chain: vec![ApprovalStep::GeneralManager],
    };
    let r1 = store.create_access_request(&req, &ev(AuditAction::AccessRequest, reader.id, at(10))).await.unwrap();
    check_last(&mut expected, AuditAction::AccessRequest, Some(a.id));
    store.decide_access_request(r1.id, 0, boss.id, true, "同意", at(10) + Duration::hours(2), &ev(AuditAction::AccessApprove, boss.id, at(11))).await.unwrap();
    check_last(&mut expected, AuditAction::AccessApprove, Some(a.id));
    let r2 = store.create_access_request(&req, &ev(AuditAction::AccessRequest, reader.id, at(12))).await.unwrap();
    check_last(&mut expected, AuditAction::AccessRequest, Some(a.id));
    store.decide_access_request(r2.id, 0, boss.id, false, "用途不明", at(12), &ev(AuditAction::AccessReject, boss.id, at(13))).await.unwrap();
    check_last(&mut expected, AuditAction::AccessReject, Some(a.id));
    let r3 = store.create_access_request(&req, &ev(AuditAction::AccessRequest, reader.id, at(14))).await.unwrap();
    check_last(&mut expected, AuditAction::AccessRequest, Some(a.id));
    store.cancel_access_request(r3.id, reader.id, &ev(AuditAction::AccessCancel, reader.id, at(15))).await.unwrap();
    check_last(&mut expected, AuditAction::AccessCancel, Some(a.id));

    let loan = store
        .create_loan(
            &NewLoan { archive_id: a.id, borrower_id: reader.id, kind: LoanKind::Paper, purpose: "合同核对".into(), lent_by: boss.id, due_at: at(1000), grant_id: None },
            &ev(AuditAction::LoanLend, boss.id, at(16)),
        )
        .await
        .unwrap();
    check_last(&mut expected, AuditAction::LoanLend, Some(a.id));
    store.return_loan(loan.id, true, "完好", &ev(AuditAction::LoanReturn, boss.id, at(17))).await.unwrap();
    check_last(&mut expected, AuditAction::LoanReturn, Some(a.id));

    let bulk: Vec<BulkArchive> = (0..3).map(|i| BulkArchive::new(ArchiveData::new(CustomerKind::Person, format!("批量客户{i}")), at(18), vec![], vec![]).unwrap()).collect();
    store.bulk_load(bulk, &NumberScheme::default(), "", &ev(AuditAction::ArchiveBulkCreate, 0, at(18))).await.unwrap();
    check_last(&mut expected, AuditAction::ArchiveBulkCreate, None);

    // Reads in one batch (group commit): one transaction, several records, in order.
    let reads = vec![read_ev(reader.id, a.id, at(19)), read_ev(boss.id, a.id, at(19)), read_ev(owner.id, a.id, at(20))];
    store.append_audit(reads.clone()).await.unwrap();
    for _ in 0..3 {
        check_last(&mut expected, AuditAction::ArchiveRead, Some(a.id));
    }
    store.append_audit(vec![]).await.expect("an empty batch is a no-op");

    let records = whole_chain(store).await;
    assert_eq!(records.len(), expected.len(), "[{e}] one record per write (and per read): {:#?}", records.iter().map(|r| (r.seq, r.event.action)).collect::<Vec<_>>());
    for (r, (action, archive)) in records.iter().zip(&expected) {
        assert_eq!(r.event.action, *action, "[{e}] record {} is {action:?}", r.seq);
        if let Some(id) = archive {
            assert_eq!(r.event.archive_id, Some(*id), "[{e}] record {} ({action:?}) names the archive", r.seq);
            assert_eq!(r.event.archive_no, a.archive_no, "[{e}] record {} ({action:?}) names the archive number", r.seq);
        }
        assert_eq!(r.event.client_addr, "10.8.1.7", "[{e}] record {} keeps the address", r.seq);
        assert_eq!(r.event.user_agent, "Mozilla/5.0 (测试)", "[{e}] record {} keeps the user agent", r.seq);
    }
    assert_valid_chain(e, &records);
    let head = store.audit_head().await.unwrap().expect("head");
    assert_eq!(&head, records.last().unwrap(), "[{e}] audit_head is the last record");

    // What the store adds to the events: the details that make each record useful.
    let detail = |seq: usize| -> serde_json::Value { serde_json::from_str(&records[seq].event.detail).unwrap_or_else(|err| panic!("[{e}] detail of {}: {err}", seq + 1)) };
    let approve = expected.iter().position(|x| x.0 == AuditAction::AccessApprove).unwrap();
    let d = detail(approve);
    assert_eq!(d["request_id"].as_i64(), Some(r1.id), "[{e}] approval names the request: {d}");
    let grants = store.active_grants(reader.id, Some(a.id), at(11)).await.unwrap();
    assert_eq!(grants.len(), 1, "[{e}]");
    assert_eq!(d["grant_id"].as_i64(), Some(grants[0].id), "[{e}] the approval that creates a grant names it: {d}");
    let reject = expected.iter().position(|x| x.0 == AuditAction::AccessReject).unwrap();
    assert!(detail(reject).get("grant_id").is_none(), "[{e}] a rejection creates no grant: {}", detail(reject));
    let bulk_i = expected.iter().position(|x| x.0 == AuditAction::ArchiveBulkCreate).unwrap();
    assert_eq!(detail(bulk_i)["count"].as_i64(), Some(3), "[{e}] the bulk record counts the archives: {}", detail(bulk_i));
    let upd = expected.iter().position(|x| x.0 == AuditAction::ArchiveUpdate).unwrap();
    assert_eq!(records[upd].event.fields, "name", "[{e}] the update names its changed fields");

    // Events come back exactly as given (microseconds), including awkward text.
    let mut odd = ev(AuditAction::ArchiveSearch, 42, at(30) + Duration::nanoseconds(123_456_789));
    odd.username = "O'Brien \"引号\" 🏗️".into();
    odd.detail = serde_json::json!({"q": "华星\n建材", "rows": 3}).to_string();
    odd.fields = "mobile,person.id_number".into();
    odd.basis = "grant:7".into();
    odd.outcome = Outcome::NeedsApproval;
    odd.dept_id = None;
    store.append_audit(vec![odd.clone()]).await.unwrap();
    let back = store.audit_head().await.unwrap().unwrap();
    let mut want = odd.clone();
    want.at = dangan_core::audit::truncate_to_micros(odd.at);
    assert_eq!(back.event, want, "[{e}] an event round-trips through the store");
    assert_eq!(back.seq, expected.len() as i64 + 1);
    // Paging through the chain from the middle.
    let mid = store.audit_chain(5, 3).await.unwrap();
    assert_eq!(mid.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![5, 6, 7], "[{e}] audit_chain(from, limit)");
    assert_eq!(mid[0], records[4], "[{e}]");
    let report = assert_intact(&ctx, &[], "the whole trail").await;
    assert_eq!(report.checked as usize, expected.len() + 1, "[{e}] every record checked");
    assert_eq!(report.head_seq, back.seq, "[{e}]");
    assert_eq!(report.head_hash, back.hash, "[{e}]");
}

// =============================================================================================
// 2. A refused or rolled-back write leaves no record
// =============================================================================================

async fn refused_writes_leave_no_record(ctx: Ctx) {
    let e = ctx.e();
    let store = ctx.store.as_ref();
    let hq = store.create_department("总公司", "HQ", None, &ev(AuditAction::DepartmentCreate, 0, at(0))).await.unwrap();
    let nu = |name: &str| NewUser { username: name.into(), display_name: name.into(), password_hash: None, dept_id: Some(hq.id), roles: vec![Role::Archivist] };
    let u = store.create_user(&nu("dangan1"), &ev(AuditAction::UserCreate, 0, at(1))).await.unwrap();
    let data = ArchiveData::new(CustomerKind::Organization, "回滚测试有限公司");
    let a = store.create_archive(&data, &numbering(), &ev(AuditAction::ArchiveCreate, u.id, at(2))).await.unwrap();
    let mut d2 = data.clone();
    d2.name = "回滚测试股份有限公司".into();
    store.update_archive(a.id, 1, &d2, Some("更名"), &ev(AuditAction::ArchiveUpdate, u.id, at(3))).await.unwrap();
    let loan = store
        .create_loan(
            &NewLoan { archive_id: a.id, borrower_id: u.id, kind: LoanKind::Paper, purpose: "核对".into(), lent_by: u.id, due_at: at(100), grant_id: None },
            &ev(AuditAction::LoanLend, u.id, at(4)),
        )
        .await
        .unwrap();
    store.return_loan(loan.id, true, "", &ev(AuditAction::LoanReturn, u.id, at(5))).await.unwrap();
    let before = whole_chain(store).await;
    assert_eq!(before.len(), 6, "[{e}]");

    // A stale update (based on version 1, the archive is at 2): Conflict, nothing written.
    let mut d3 = data.clone();
    d3.name = "不应写入的名称".into();
    let r = store.update_archive(a.id, 1, &d3, Some("过期版本"), &ev(AuditAction::ArchiveUpdate, u.id, at(6))).await;
    assert!(matches!(r, Err(StoreError::Conflict { current: 2 })), "[{e}] stale update: {r:?}");
    // An update of an archive that does not exist.
    let r = store.update_archive(a.id + 1000, 1, &d3, None, &ev(AuditAction::ArchiveUpdate, u.id, at(6))).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "[{e}] {r:?}");
    // A duplicate username (fails inside the transaction, after nothing else).
    let r = store.create_user(&nu("dangan1"), &ev(AuditAction::UserCreate, 0, at(7))).await;
    assert!(matches!(r, Err(StoreError::Duplicate(_))), "[{e}] duplicate user: {r:?}");
    // A loan returned twice.
    let r = store.return_loan(loan.id, true, "", &ev(AuditAction::LoanReturn, u.id, at(8))).await;
    assert!(matches!(r, Err(StoreError::Conflict { .. })), "[{e}] second return: {r:?}");
    // A contact of an archive that does not exist (foreign key / not found).
    let c = ContactData { name: "无".into(), title: None, mobile: None, landline: None, email: None, wechat: None, birthday: None, preferences: None, is_primary: false };
    assert!(store.add_contact(a.id + 1000, &c, &ev(AuditAction::ContactAdd, u.id, at(9))).await.is_err(), "[{e}] contact of a missing archive");
    // A correction of an entry of another archive.
    let other = store.create_archive(&data, &numbering(), &ev(AuditAction::ArchiveCreate, u.id, at(10))).await.unwrap();
    let entry = EntryData { kind: EntryKind::Visit, occurred_on: day(2026, 3, 1), summary: "拜访".into(), details: EntryDetails::default(), supersedes: None, correction_reason: None };
    let en = store.add_entry(other.id, &entry, &ev(AuditAction::EntryAdd, u.id, at(11))).await.unwrap();
    let after_setup = whole_chain(store).await;
    assert_eq!(after_setup.len(), 8, "[{e}] only the two successful writes were added");
    let fix = EntryData { supersedes: Some(en.id), correction_reason: Some("错".into()), ..entry };
    assert!(store.add_entry(a.id, &fix, &ev(AuditAction::EntryCorrect, u.id, at(12))).await.is_err(), "[{e}] correcting another archive's entry is refused");

    let after = whole_chain(store).await;
    assert_eq!(after, after_setup, "[{e}] refused writes appended nothing: {:?}", after.iter().skip(after_setup.len()).map(|r| (r.seq, r.event.action)).collect::<Vec<_>>());
    assert_eq!(&after[..6], &before[..], "[{e}]");
    assert!(!after.iter().any(|r| r.event.at >= at(6) && r.event.at <= at(9)), "[{e}] no record of the refused writes");
    assert_eq!(store.get_archive(a.id).await.unwrap().unwrap().data.name, "回滚测试股份有限公司", "[{e}] the stale update wrote nothing");
    assert_valid_chain(e, &after);
    // The next write continues the chain right after the refused ones.
    store.append_audit(vec![read_ev(u.id, a.id, at(13))]).await.unwrap();
    let last = store.audit_head().await.unwrap().unwrap();
    assert_eq!((last.seq, last.prev_hash.as_str()), (9, after.last().unwrap().hash.as_str()), "[{e}] no gap where the refused writes were");
}

// =============================================================================================
// 3. Concurrent writers: one gapless, valid chain
// =============================================================================================

async fn concurrent_writers_make_one_gapless_chain(ctx: Ctx) {
    let e = ctx.e();
    const TASKS: i64 = 8;
    const PER_TASK: i64 = 50;
    const READERS: i64 = 2;
    const READ_BATCHES: i64 = 25;
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..TASKS {
        let store = ctx.store.clone();
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..PER_TASK {
                let data = ArchiveData::new(CustomerKind::Person, format!("并发客户{t}-{i}"));
                let a = store.create_archive(&data, &numbering(), &ev(AuditAction::ArchiveCreate, 100 + t, Utc::now())).await.expect("concurrent create");
                ids.push(a.id);
            }
            ids
        }));
    }
    // Group-commit batches of reads at the same time.
    for t in 0..READERS {
        let store = ctx.store.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..READ_BATCHES {
                let batch = (0..4).map(|k| read_ev(200 + t, i * 4 + k, Utc::now())).collect();
                store.append_audit(batch).await.expect("concurrent append");
            }
            Vec::new()
        }));
    }
    let mut created = Vec::new();
    for h in handles {
        created.extend(h.await.expect("task"));
    }
    let records = whole_chain(ctx.store.as_ref()).await;
    let total = (TASKS * PER_TASK + READERS * READ_BATCHES * 4) as usize;
    eprintln!("[{e}] {total} records from {} concurrent writers in {:.2?}", TASKS + READERS, started.elapsed());
    assert_eq!(records.len(), total, "[{e}] one record per create and per read");
    assert_valid_chain(e, &records);
    // Each create recorded once, with its own archive.
    let creates: Vec<i64> = records.iter().filter(|r| r.event.action == AuditAction::ArchiveCreate).map(|r| r.event.archive_id.expect("archive id")).collect();
    assert_eq!(creates.len(), created.len(), "[{e}]");
    let set: HashSet<i64> = creates.iter().copied().collect();
    assert_eq!(set.len(), creates.len(), "[{e}] no archive recorded twice");
    assert_eq!(set, created.iter().copied().collect::<HashSet<_>>(), "[{e}] every created archive recorded");
    // Each writer's own records stay in its order (a batch is contiguous).
    for t in 0..READERS {
        let mine: Vec<&AuditRecord> = records.iter().filter(|r| r.event.user_id == Some(200 + t)).collect();
        assert_eq!(mine.len() as i64, READ_BATCHES * 4, "[{e}]");
        for w in mine.chunks(4) {
            assert_eq!(w[3].seq - w[0].seq, 3, "[{e}] a batch of reads is appended contiguously");
        }
        let order: Vec<i64> = mine.iter().map(|r| r.event.archive_id.unwrap()).collect();
        assert_eq!(order, (0..READ_BATCHES * 4).collect::<Vec<_>>(), "[{e}] a writer's records keep its order");
    }
    assert_intact(&ctx, &[], "after concurrent writes").await;
}

// =============================================================================================
// 4. list_audit: filters and paging
// =============================================================================================

async fn list_audit_filters_and_pages(ctx: Ctx) {
    let e = ctx.e();
    let store = ctx.store.as_ref();
    // 120 records over 4 users, 5 archives (and none), 4 actions, all outcomes, one a minute.
    let actions = [AuditAction::ArchiveRead, AuditAction::ArchiveReadUnmasked, AuditAction::ArchiveUpdate, AuditAction::Login];
    let mut events = Vec::new();
    for i in 0..120i64 {
        let mut ev = ev(actions[(i % 4) as usize], 1 + i % 4, at(i * 60) + Duration::microseconds(i));
        if i % 6 != 5 {
            ev.archive_id = Some(10 + i % 5);
            ev.archive_no = format!("KH-2026-{:06}", 10 + i % 5);
        }
        ev.outcome = Outcome::ALL[(i % 7 % 4) as usize];
        events.push(ev);
    }
    for chunk in events.chunks(25) {
        store.append_audit(chunk.to_vec()).await.unwrap();
    }
    let all = whole_chain(store).await;
    assert_eq!(all.len(), 120, "[{e}]");

    // Every filter agrees with the same filter applied to the whole chain, newest first.
    let expect = |q: &AuditQuery| -> Vec<i64> {
        let mut v: Vec<i64> = all
            .iter()
            .filter(|r| q.user_id.is_none_or(|u| r.event.user_id == Some(u)))
            .filter(|r| q.archive_id.is_none_or(|a| r.event.archive_id == Some(a)))
            .filter(|r| q.action.as_deref().is_none_or(|a| r.event.action.code() == a))
            .filter(|r| q.outcome.as_deref().is_none_or(|o| r.event.outcome.as_str() == o))
            .filter(|r| q.from.is_none_or(|f| r.event.at >= f))
            .filter(|r| q.to.is_none_or(|t| r.event.at < t))
            .filter(|r| q.before_seq.is_none_or(|b| r.seq < b))
            .map(|r| r.seq)
            .collect();
        v.reverse();
        v.truncate(q.limit.clamp(1, 1000) as usize);
        v
    };
    let base = AuditQuery { limit: 1000, ..Default::default() };
    let queries: Vec<(&str, AuditQuery)> = vec![
        ("no filter", base.clone()),
        ("user", AuditQuery { user_id: Some(2), ..base.clone() }),
        ("archive", AuditQuery { archive_id: Some(12), ..base.clone() }),
        ("action", AuditQuery { action: Some("archive.read_unmasked".into()), ..base.clone() }),
        ("outcome denied", AuditQuery { outcome: Some("denied".into()), ..base.clone() }),
        ("outcome needs_approval", AuditQuery { outcome: Some("needs_approval".into()), ..base.clone() }),
        ("outcome failed", AuditQuery { outcome: Some("failed".into()), ..base.clone() }),
        ("from", AuditQuery { from: Some(at(60 * 100)), ..base.clone() }),
        ("to (exclusive)", AuditQuery { to: Some(at(60 * 10) + Duration::microseconds(10)), ..base.clone() }),
        ("range", AuditQuery { from: Some(at(60 * 30)), to: Some(at(60 * 40)), ..base.clone() }),
        ("before_seq", AuditQuery { before_seq: Some(50), ..base.clone() }),
        ("limit", AuditQuery { limit: 7, ..base.clone() }),
        ("user+action", AuditQuery { user_id: Some(3), action: Some("archive.update".into()), ..base.clone() }),
        ("user+archive+outcome", AuditQuery { user_id: Some(1), archive_id: Some(10), outcome: Some("allowed".into()), ..base.clone() }),
        (
            "everything",
            AuditQuery {
                user_id: Some(1),
                archive_id: Some(14),
                action: Some("archive.read".into()),
                outcome: Some("allowed".into()),
                from: Some(at(60)),
                to: Some(at(60 * 119)),
                before_seq: Some(110),
                limit: 1000,
            },
        ),
        ("unknown action", AuditQuery { action: Some("no.such".into()), ..base.clone() }),
        ("empty action means any", AuditQuery { action: Some(String::new()), ..base.clone() }),
    ];
    for (what, q) in &queries {
        let got: Vec<i64> = store.list_audit(q).await.unwrap_or_else(|err| panic!("[{e}] {what}: {err}")).iter().map(|r| r.seq).collect();
        let mut want = expect(q);
        if q.action.as_deref() == Some("") {
            want = expect(&AuditQuery { action: None, ..q.clone() });
        }
        assert_eq!(got, want, "[{e}] list_audit {what} ({q:?})");
        if !matches!(*what, "unknown action") {
            assert!(!got.is_empty(), "[{e}] {what}: the data is made so that every filter matches something");
        }
    }
    // The records are the stored ones, whole.
    let one = store.list_audit(&AuditQuery { before_seq: Some(43), limit: 1, ..Default::default() }).await.unwrap();
    assert_eq!(one, vec![all[41].clone()], "[{e}] a listed record is the record");

    // Paging by before_seq walks a filter completely, newest first, without repeats.
    let q = AuditQuery { user_id: Some(2), limit: 4, ..Default::default() };
    let mut seen = Vec::new();
    let mut page_q = q.clone();
    loop {
        let page = store.list_audit(&page_q).await.unwrap();
        seen.extend(page.iter().map(|r| r.seq));
        if page.len() < 4 {
            break;
        }
        page_q.before_seq = page.last().map(|r| r.seq);
    }
    assert_eq!(seen, expect(&AuditQuery { limit: 1000, ..q }), "[{e}] paging by before_seq");
}

// =============================================================================================
// 5. Grant expiry: recorded once by the sweeper
// =============================================================================================

async fn grant_expiry_is_recorded_once(ctx: Ctx) {
    let e = ctx.e();
    let store = ctx.store.as_ref();
    let hq = store.create_department("总公司", "HQ", None, &ev(AuditAction::DepartmentCreate, 0, at(0))).await.unwrap();
    let nu = |name: &str, role| NewUser { username: name.into(), display_name: name.into(), password_hash: None, dept_id: Some(hq.id), roles: vec![role] };
    let reader = store.create_user(&nu("reader", Role::Salesperson), &ev(AuditAction::UserCreate, 0, at(0))).await.unwrap();
    let boss = store.create_user(&nu("boss", Role::GeneralManager), &ev(AuditAction::UserCreate, 0, at(0))).await.unwrap();
    let a = store.create_archive(&ArchiveData::new(CustomerKind::Organization, "授权到期测试有限公司"), &numbering(), &ev(AuditAction::ArchiveCreate, boss.id, at(0))).await.unwrap();
    let now = Utc::now();
    // Three grants: expired an hour ago, expired a minute ago, expires in an hour.
    let mut grants = Vec::new();
    for expires in [now - Duration::hours(1), now - Duration::minutes(1), now + Duration::hours(1)] {
        let req = NewAccessRequest {
            archive_id: a.id,
            requester_id: reader.id,
            purpose: "核对".into(),
            sections: vec![],
            actions: vec![Action::Read],
            hours: 1,
            chain: vec![ApprovalStep::GeneralManager],
        };
        let r = store.create_access_request(&req, &ev(AuditAction::AccessRequest, reader.id, now - Duration::hours(2))).await.unwrap();
        store.decide_access_request(r.id, 0, boss.id, true, "同意", expires, &ev(AuditAction::AccessApprove, boss.id, now - Duration::hours(2))).await.unwrap();
        let approve = store.audit_head().await.unwrap().unwrap();
        let gid = serde_json::from_str::<serde_json::Value>(&approve.event.detail).unwrap()["grant_id"].as_i64().expect("grant id in the approval record");
        grants.push(gid);
    }
    let before = head_seq(store).await;

    // Two sweepers at once (two servers): each expiry recorded once in all.
    let (s1, s2) = tokio::join!(store.sweep_expired_grants(now), store.sweep_expired_grants(now));
    let (s1, s2) = (s1.unwrap(), s2.unwrap());
    let mut swept: Vec<i64> = s1.iter().chain(s2.iter()).map(|g| g.id).collect();
    swept.sort();
    assert_eq!(swept, vec![grants[0], grants[1]], "[{e}] the two expired grants, each once");
    let records = whole_chain(store).await;
    let expiries: Vec<&AuditRecord> = records.iter().filter(|r| r.event.action == AuditAction::GrantExpired).collect();
    assert_eq!(expiries.len(), 2, "[{e}] two expiry records: {expiries:#?}");
    assert_eq!(records.len() as i64, before + 2, "[{e}] nothing else recorded");
    for (r, gid) in expiries.iter().zip(&grants[..2]) {
        assert_eq!(r.event.basis, format!("grant:{gid}"), "[{e}] the record names the grant");
        assert_eq!(r.event.user_id, Some(reader.id), "[{e}] whose grant it was");
        assert_eq!((r.event.archive_id, r.event.archive_no.as_str()), (Some(a.id), a.archive_no.as_str()), "[{e}] on which archive");
        assert_eq!(r.event.outcome, Outcome::Allowed, "[{e}]");
        let d: serde_json::Value = serde_json::from_str(&r.event.detail).unwrap();
        assert!(d.get("expired_at").is_some(), "[{e}] when it expired: {d}");
    }

    // Sweeping again records nothing more; later, the third grant's expiry, once.
    assert!(store.sweep_expired_grants(now).await.unwrap().is_empty(), "[{e}] nothing left to sweep");
    assert!(store.sweep_expired_grants(now + Duration::minutes(30)).await.unwrap().is_empty(), "[{e}] the third has not expired yet");
    assert_eq!(head_seq(store).await, before + 2, "[{e}] no duplicate expiry records");
    let later = now + Duration::hours(2);
    let third = store.sweep_expired_grants(later).await.unwrap();
    assert_eq!(third.iter().map(|g| g.id).collect::<Vec<_>>(), vec![grants[2]], "[{e}]");
    assert!(store.sweep_expired_grants(later).await.unwrap().is_empty(), "[{e}]");
    let records = whole_chain(store).await;
    let expired: Vec<String> = records.iter().filter(|r| r.event.action == AuditAction::GrantExpired).map(|r| r.event.basis.clone()).collect();
    assert_eq!(expired, grants.iter().map(|g| format!("grant:{g}")).collect::<Vec<_>>(), "[{e}] each expiry exactly once, in order");
    assert_valid_chain(e, &records);
}

// =============================================================================================
// 6. The append-only guard
// =============================================================================================

async fn triggers_refuse_update_and_delete(ctx: Ctx) {
    let e = ctx.e();
    let n = populate(ctx.store.as_ref(), 10).await;
    let before = whole_chain(ctx.store.as_ref()).await;
    for (what, sql) in [
        ("UPDATE of one field", "UPDATE audit_log SET username = 'someone' WHERE seq = 3"),
        ("UPDATE of every row", "UPDATE audit_log SET outcome = 'allowed'"),
        ("UPDATE of the number", "UPDATE audit_log SET seq = seq + 1000 WHERE seq = 2"),
        ("DELETE of one row", "DELETE FROM audit_log WHERE seq = 3"),
        ("DELETE of the last row", &format!("DELETE FROM audit_log WHERE seq = {n}")),
        ("DELETE of everything", "DELETE FROM audit_log"),
    ] {
        let r = ctx.sql_both(sql).await;
        let err = r.err().unwrap_or_else(|| panic!("[{e}] {what} must be refused by the append-only trigger"));
        assert!((err.contains("append-only") || err.contains("appended in order")), "[{e}] {what} refused with the trigger's message, got: {err}");
    }
    assert_eq!(whole_chain(ctx.store.as_ref()).await, before, "[{e}] nothing changed");
    // Inserting stays possible (that is how the trail grows) and the store continues after it.
    ctx.store.append_audit(vec![read_ev(1, 1, at(500))]).await.unwrap();
    assert_intact(&ctx, &[], "after refused tampering").await;
}

/// The guard should not be bypassable with the privileges the server itself uses, without
/// first dropping/disabling it: SQLite `INSERT OR REPLACE` (a REPLACE deletes the old row without
/// firing DELETE triggers unless recursive triggers are on) and PostgreSQL `TRUNCATE` (row
/// triggers do not fire) and `INSERT … ON CONFLICT DO UPDATE`. Whatever gets through must at
/// least be detected by verification.
async fn append_only_guard_cannot_be_bypassed_without_dropping_it(ctx: Ctx) {
    let e = ctx.e();
    let n = populate(ctx.store.as_ref(), 10).await;
    let head = export_head(ctx.store.as_ref()).await;
    let rec3 = ctx.store.audit_chain(3, 1).await.unwrap().remove(0);
    let mut bypassed = Vec::new();

    // Replace record 3 with altered content under the same number.
    let mut forged = rec3.clone();
    forged.event.username = "冒名顶替".into();
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let cols = "seq, at, user_id, username, roles, dept_id, client_addr, user_agent, action, archive_id, archive_no, fields, basis, outcome, detail, prev_hash, hash";
    let vals = |at: String| {
        format!(
            "3, {at}, {}, {}, {}, NULL, '', '', {}, NULL, '', '', '', 'allowed', '', {}, {}",
            forged.event.user_id.unwrap_or(0),
            q(&forged.event.username),
            q(&forged.event.roles),
            q(forged.event.action.code()),
            q(&forged.prev_hash),
            q(&forged.hash)
        )
    };
    let sqlite = format!("INSERT OR REPLACE INTO audit_log ({cols}) VALUES ({});", vals(forged.event.at.timestamp_micros().to_string()));
    let pg = format!(
        "INSERT INTO audit_log ({cols}) VALUES ({}) ON CONFLICT (seq) DO UPDATE SET username = EXCLUDED.username;",
        vals(format!("'{}'::timestamptz", forged.event.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)))
    );
    let what = if ctx.is_pg() { "INSERT … ON CONFLICT (seq) DO UPDATE" } else { "INSERT OR REPLACE" };
    match ctx.sql(&sqlite, &pg).await {
        Err(err) => assert!((err.contains("append-only") || err.contains("appended in order")), "[{e}] {what} refused, but not by the guard: {err}"),
        Ok(()) => {
            let now3 = ctx.store.audit_chain(3, 1).await.unwrap().remove(0);
            assert_ne!(now3, rec3, "[{e}] {what} succeeded, so it changed record 3");
            assert_break(&ctx, &[], ChainBreak::Modified { seq: 3 }, &format!("{what} on record 3")).await;
            bypassed.push(format!("{what} replaced record 3 without touching the triggers (verify does report Modified {{ seq: 3 }})"));
        }
    }

    if ctx.is_pg() {
        // TRUNCATE: row-level triggers do not fire.
        match ctx.sql("SELECT 1;", "TRUNCATE audit_log;").await {
            Err(err) => assert!((err.contains("append-only") || err.contains("appended in order")), "[{e}] TRUNCATE refused, but not by the guard: {err}"),
            Ok(()) => {
                let left = whole_chain(ctx.store.as_ref()).await.len();
                let report = verify_chain(ctx.store.as_ref(), &[]).await.unwrap();
                assert_eq!(report.problem, None, "[{e}] an emptied trail verifies by itself…");
                assert_break(&ctx, std::slice::from_ref(&head), ChainBreak::HeadMismatch { seq: n, at: head.at.to_rfc3339() }, "TRUNCATE, with the exported head").await;
                bypassed.push(format!("TRUNCATE audit_log emptied the trail ({n} → {left} records) without touching the trigger; only an exported head shows it"));
            }
        }
    }
    assert!(bypassed.is_empty(), "[{e}] the append-only guard was bypassed without dropping or disabling it:\n  - {}", bypassed.join("\n  - "));
}

// =============================================================================================
// 7. Tampering directly in the database, found at the first bad record
// =============================================================================================

async fn tamper_altered_record_is_found(ctx: Ctx) {
    let e = ctx.e();
    let store = ctx.store.as_ref();
    let n = populate(store, 30).await;
    let head = export_head(store).await;
    let original = whole_chain(store).await;
    assert_eq!(original.len() as i64, n);
    assert_intact(&ctx, std::slice::from_ref(&head), "before tampering").await;
    ctx.disable_guard().await;

    // One field at a time, in record 7 (a read) and record 4 (an update); each put back after.
    let q = |s: &str| format!("'{s}'");
    let pg_time = |t: DateTime<Utc>| format!("'{}'::timestamptz", t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
    let r7 = &original[6];
    let alterations: Vec<(&str, i64, String, String)> = vec![
        ("username", 7, format!("username = {}", q("别人")), format!("username = {}", q("别人"))),
        ("outcome allowed → denied", 7, format!("outcome = {}", q("denied")), format!("outcome = {}", q("denied"))),
        ("action", 7, format!("action = {}", q("archive.list")), format!("action = {}", q("archive.list"))),
        ("archive", 7, "archive_id = archive_id + 1".into(), "archive_id = archive_id + 1".into()),
        ("client address", 7, format!("client_addr = {}", q("192.168.0.99")), format!("client_addr = {}", q("192.168.0.99"))),
        (
            "time, by one microsecond",
            7,
            format!("at = {}", r7.event.at.timestamp_micros() + 1),
            format!("at = {}", pg_time(r7.event.at + Duration::microseconds(1))),
        ),
        ("changed fields", 4, format!("fields = {}", q("mobile")), format!("fields = {}", q("mobile"))),
        ("detail", 4, format!("detail = {}", q("{}")), format!("detail = {}", q("{}"))),
        ("user id", 4, "user_id = NULL".into(), "user_id = NULL".into()),
    ];
    for (what, seq, sqlite_set, pg_set) in alterations {
        ctx.sql(&format!("UPDATE audit_log SET {sqlite_set} WHERE seq = {seq}"), &format!("UPDATE audit_log SET {pg_set} WHERE seq = {seq}"))
            .await
            .unwrap_or_else(|err| panic!("[{e}] altering {what}: {err}"));
        assert_ne!(store.audit_chain(seq, 1).await.unwrap()[0], original[seq as usize - 1], "[{e}] the alteration of {what} took effect");
        assert_break(&ctx, &[], ChainBreak::Modified { seq }, &format!("altering the {what} of record {seq}")).await;
        assert_break(&ctx, std::slice::from_ref(&head), ChainBreak::Modified { seq }, &format!("altering the {what} of record {seq} (with heads)")).await;
        // Put back: the chain verifies again (the finding is about the content, nothing sticky).
        ctx.overwrite(seq, &original[seq as usize - 1]).await;
        assert_intact(&ctx, std::slice::from_ref(&head), &format!("after restoring {what}")).await;
    }

    // Altered and its own hash recomputed: the record is self-consistent, the next one no longer
    // links to it.
    let mut forged = original[9].clone();
    forged.event.outcome = Outcome::Denied;
    forged.event.username = "伪造".into();
    forged.hash = chain_hash(&forged.prev_hash, forged.seq, &forged.event);
    ctx.overwrite(10, &forged).await;
    assert_break(&ctx, &[], ChainBreak::BrokenLink { seq: 11, prev: 10 }, "altering record 10 and recomputing its hash").await;

    // The same in the last record: nothing follows it, so only the exported head shows it.
    ctx.overwrite(10, &original[9]).await;
    let mut last = original[n as usize - 1].clone();
    last.event.user_agent = "curl/8".into();
    last.hash = chain_hash(&last.prev_hash, last.seq, &last.event);
    ctx.overwrite(n, &last).await;
    assert_intact(&ctx, &[], "a re-hashed last record, without an exported head").await;
    assert_break(&ctx, std::slice::from_ref(&head), ChainBreak::HeadMismatch { seq: n, at: head.at.to_rfc3339() }, "a re-hashed last record, with the exported head").await;
    // The last record altered without recomputing: found directly.
    let mut last2 = original[n as usize - 1].clone();
    last2.event.user_agent = "curl/8".into();
    ctx.overwrite(n, &last2).await;
    assert_break(&ctx, &[], ChainBreak::Modified { seq: n }, "altering the last record").await;
    // The stored hash itself altered.
    ctx.overwrite(n, &original[n as usize - 1]).await;
    ctx.sql_both("UPDATE audit_log SET hash = '0000000000000000000000000000000000000000000000000000000000000001' WHERE seq = 2").await.unwrap();
    assert_break(&ctx, &[], ChainBreak::Modified { seq: 2 }, "overwriting record 2's hash").await;
}

async fn tamper_deleted_record_is_found(ctx: Ctx) {
    let e = ctx.e();
    let store = ctx.store.as_ref();
    let n = populate(store, 30).await;
    let head = export_head(store).await;
    let original = whole_chain(store).await;
    ctx.disable_guard().await;

    // A record deleted from the middle: a gap.
    ctx.sql_both("DELETE FROM audit_log WHERE seq = 12").await.unwrap();
    assert_break(&ctx, &[], ChainBreak::Missing { expected: 12, found: 13 }, "deleting record 12").await;
    // Several deleted: the first gap is named.
    ctx.sql_both("DELETE FROM audit_log WHERE seq IN (20, 21, 22)").await.unwrap();
    assert_break(&ctx, &[], ChainBreak::Missing { expected: 12, found: 13 }, "deleting 12 and 20–22").await;
    ctx.insert(&original[11]).await;
    assert_break(&ctx, &[], ChainBreak::Missing { expected: 20, found: 23 }, "deleting 20–22").await;
    for i in [19, 20, 21] {
        ctx.insert(&original[i]).await;
    }
    assert_intact(&ctx, std::slice::from_ref(&head), "after putting the deleted records back").await;

    // The first record deleted.
    ctx.sql_both("DELETE FROM audit_log WHERE seq = 1").await.unwrap();
    assert_break(&ctx, &[], ChainBreak::Missing { expected: 1, found: 2 }, "deleting record 1").await;
    ctx.insert(&original[0]).await;

    // Deleted and the rest renumbered to close the gap: the record that moved up does not link.
    ctx.sql_both("DELETE FROM audit_log WHERE seq = 12").await.unwrap();
    ctx.shift(12, -1).await;
    assert_eq!(head_seq(store).await, n - 1, "[{e}] renumbered");
    assert_break(&ctx, &[], ChainBreak::BrokenLink { seq: 12, prev: 11 }, "deleting record 12 and renumbering the rest").await;
    // …also when the moved records' own hashes are recomputed for their new numbers.
    let moved = whole_chain(store).await;
    for r in &moved[11..] {
        let mut r2 = r.clone();
        r2.hash = chain_hash(&r2.prev_hash, r2.seq, &r2.event);
        ctx.overwrite(r.seq, &r2).await;
    }
    assert_break(&ctx, &[], ChainBreak::BrokenLink { seq: 12, prev: 11 }, "deleting 12, renumbering and re-hashing each record").await;

    // Restore, then cut the tail off: the chain alone still verifies; the exported head does not.
    ctx.sql_both("DELETE FROM audit_log").await.unwrap();
    for r in &original {
        ctx.insert(r).await;
    }
    assert_intact(&ctx, std::slice::from_ref(&head), "after restoring everything").await;
    ctx.sql_both(&format!("DELETE FROM audit_log WHERE seq > {}", n - 3)).await.unwrap();
    let report = assert_intact(&ctx, &[], "a truncated trail without heads").await;
    assert_eq!(report.head_seq, n - 3, "[{e}]");
    assert_break(&ctx, std::slice::from_ref(&head), ChainBreak::HeadMismatch { seq: n, at: head.at.to_rfc3339() }, "deleting the last 3 records, with the exported head").await;
    // Earlier heads still in the chain match; the first one past the end is named.
    let h5 = AuditHead { seq: 5, hash: original[4].hash.clone(), at: head.at - Duration::days(2) };
    let h10 = AuditHead { seq: 10, hash: original[9].hash.clone(), at: head.at - Duration::days(1) };
    let report = assert_intact(&ctx, &[h10.clone(), h5.clone()], "heads within the truncated chain").await;
    assert_eq!(report.heads_checked, 2, "[{e}] both earlier heads compared");
    assert_break(&ctx, &[h5, head.clone(), h10], ChainBreak::HeadMismatch { seq: n, at: head.at.to_rfc3339() }, "several heads, the last one cut off").await;
}

async fn tamper_inserted_record_is_found(ctx: Ctx) {
    let e = ctx.e();
    let store = ctx.store.as_ref();
    let n = populate(store, 30).await;
    let head = export_head(store).await;
    let original = whole_chain(store).await;

    // A forged read slipped in after record 8: it links to 8 and has a well-formed hash; the
    // records after it are renumbered to make room.
    ctx.disable_guard().await;
    let mut fake = read_ev(99, 4242, original[7].event.at + Duration::seconds(1));
    fake.username = "不存在的人".into();
    let forged = chain(8, &original[7].hash, vec![fake]).remove(0);
    assert_eq!(forged.seq, 9);
    ctx.shift(8, 1).await;
    ctx.insert(&forged).await;
    assert_eq!(head_seq(store).await, n + 1, "[{e}]");
    assert_break(&ctx, &[], ChainBreak::BrokenLink { seq: 10, prev: 9 }, "a forged record inserted at 9 (the rest renumbered)").await;

    // Undo, then insert out of order with a number of its own: beyond the end (a gap) …
    ctx.sql_both("DELETE FROM audit_log WHERE seq = 9").await.unwrap();
    ctx.shift(9, -1).await;
    assert_intact(&ctx, std::slice::from_ref(&head), "after undoing the insertion").await;
    let beyond = chain(n + 4, &original[n as usize - 1].hash, vec![read_ev(99, 1, Utc::now())]).remove(0);
    ctx.insert(&beyond).await;
    assert_break(&ctx, &[], ChainBreak::Missing { expected: n + 1, found: n + 5 }, "a record inserted with a gap after the last").await;
    ctx.sql_both(&format!("DELETE FROM audit_log WHERE seq = {}", n + 5)).await.unwrap();

    // Two records swapped (reordered): record 15 no longer follows 14.
    let (a, b) = (original[14].clone(), original[15].clone());
    ctx.overwrite(15, &AuditRecord { seq: -1, ..a.clone() }).await;
    ctx.overwrite(16, &AuditRecord { seq: 15, ..b.clone() }).await;
    ctx.overwrite(-1, &AuditRecord { seq: 16, ..a.clone() }).await;
    assert_break(&ctx, &[], ChainBreak::BrokenLink { seq: 15, prev: 14 }, "records 15 and 16 swapped").await;
    ctx.overwrite(15, &AuditRecord { seq: -1, ..b.clone() }).await;
    ctx.overwrite(16, &a).await;
    ctx.overwrite(-1, &b).await;
    assert_intact(&ctx, std::slice::from_ref(&head), "after swapping back").await;

    // A forged record appended at the end that links correctly verifies (the hash is not
    // keyed); the exported head still matches at its position — this is what the daily head
    // cannot see, by design. Checked so the report can say exactly what is and is not covered.
    ctx.store.append_audit(vec![read_ev(99, 4242, Utc::now())]).await.unwrap();
    assert_intact(&ctx, std::slice::from_ref(&head), "a correctly chained record appended after the exported head").await;

    // … or inserted before the first record (number 0, or negative): it is in the trail — the
    // audit viewer and the export list it — so verification must see it too.
    let mut ghost = read_ev(99, 4242, at(0));
    ghost.username = "幽灵记录".into();
    let zero = AuditRecord { seq: 0, ..chain(0, GENESIS_HASH, vec![ghost]).remove(0) };
    ctx.insert(&zero).await;
    let listed = store.list_audit(&AuditQuery { user_id: Some(99), archive_id: Some(4242), limit: 1000, ..Default::default() }).await.unwrap();
    assert!(listed.iter().any(|r| r.seq == 0 && r.event.username == "幽灵记录"), "[{e}] the forged record 0 is listed in the trail: {listed:?}");
    assert_break(&ctx, &[], ChainBreak::Missing { expected: 1, found: 0 }, "a record inserted as number 0 (before record 1)").await;
}

async fn tamper_rewritten_chain_is_found_only_by_the_exported_head(ctx: Ctx) {
    let e = ctx.e();
    let store = ctx.store.as_ref();
    let n = populate(store, 30).await;
    let old_head = AuditHead { seq: 10, hash: store.audit_chain(10, 1).await.unwrap()[0].hash.clone(), at: Utc::now() - Duration::days(1) };
    let head = export_head(store).await;
    let original = whole_chain(store).await;
    assert_intact(&ctx, &[old_head.clone(), head.clone()], "before the rewrite").await;
    ctx.disable_guard().await;

    // Rewrite from record 15 on: alter one record, drop another, renumber and recompute every
    // hash — a consistent chain that tells a different story.
    let mut events: Vec<AuditEvent> = original[14..].iter().map(|r| r.event.clone()).collect();
    events[0].username = "改写者".into();
    events[0].outcome = Outcome::Denied;
    events.remove(3);
    let rewritten = chain(14, &original[13].hash, events);
    ctx.sql_both("DELETE FROM audit_log WHERE seq >= 15").await.unwrap();
    for r in &rewritten {
        ctx.insert(r).await;
    }
    assert_eq!(head_seq(store).await, n - 1, "[{e}]");
    let chain_now = whole_chain(store).await;
    assert_valid_chain(e, &chain_now);
    let report = assert_intact(&ctx, &[], "the rewritten chain, without heads").await;
    assert_eq!(report.head_seq, n - 1, "[{e}]");
    // The exported head from before the rewrite is not in the chain any more.
    assert_break(&ctx, std::slice::from_ref(&head), ChainBreak::HeadMismatch { seq: n, at: head.at.to_rfc3339() }, "the rewritten chain, with today's head").await;
    // A head from before the rewritten part still matches.
    let report = assert_intact(&ctx, std::slice::from_ref(&old_head), "the rewritten chain, with a head from before the rewritten part").await;
    assert_eq!(report.heads_checked, 1, "[{e}]");

    // The whole chain rewritten from record 1, same length: found at the first head passed.
    let mut events: Vec<AuditEvent> = original.iter().map(|r| r.event.clone()).collect();
    events[2].detail = "{\"rows\":0}".into();
    let rewritten = chain(0, GENESIS_HASH, events);
    ctx.sql_both("DELETE FROM audit_log").await.unwrap();
    for r in &rewritten {
        ctx.insert(r).await;
    }
    assert_valid_chain(e, &whole_chain(store).await);
    assert_intact(&ctx, &[], "the fully rewritten chain, without heads").await;
    assert_break(&ctx, &[old_head.clone(), head.clone()], ChainBreak::HeadMismatch { seq: 10, at: old_head.at.to_rfc3339() }, "the fully rewritten chain, with both heads").await;
    assert_break(&ctx, std::slice::from_ref(&head), ChainBreak::HeadMismatch { seq: n, at: head.at.to_rfc3339() }, "the fully rewritten chain, with today's head").await;
    // The original, put back, matches every head again.
    ctx.sql_both("DELETE FROM audit_log").await.unwrap();
    for r in &original {
        ctx.insert(r).await;
    }
    let report = assert_intact(&ctx, &[head.clone(), old_head.clone()], "the original chain put back").await;
    assert_eq!(report.heads_checked, 2, "[{e}]");
}

/// `verify_chain` reads the chain in pages of 5000: a break past the first page is found too,
/// and heads on later pages are compared.
async fn verify_walks_past_one_page(ctx: Ctx) {
    let store = ctx.store.as_ref();
    let total = 12_345i64;
    let events: Vec<AuditEvent> = (0..total).map(|i| read_ev(1 + i % 5, i, at(i))).collect();
    for chunk in events.chunks(1000) {
        store.append_audit(chunk.to_vec()).await.unwrap();
    }
    let h = |seq: i64, hash: String| AuditHead { seq, hash, at: Utc::now() };
    let mid = h(7_000, store.audit_chain(7_000, 1).await.unwrap()[0].hash.clone());
    let end = export_head(store).await;
    let report = assert_intact(&ctx, &[end.clone(), mid.clone()], "a long chain").await;
    assert_eq!((report.checked, report.head_seq, report.heads_checked), (total as u64, total, 2), "[{}] {report:?}", ctx.e());
    ctx.disable_guard().await;
    ctx.sql_both("UPDATE audit_log SET username = 'x' WHERE seq = 10001").await.unwrap();
    assert_break(&ctx, &[mid.clone(), end.clone()], ChainBreak::Modified { seq: 10_001 }, "altering record 10001 (third page)").await;
    ctx.sql_both("DELETE FROM audit_log WHERE seq = 5001").await.unwrap();
    assert_break(&ctx, &[], ChainBreak::Missing { expected: 5_001, found: 5_002 }, "deleting record 5001 (first of the second page)").await;
}
