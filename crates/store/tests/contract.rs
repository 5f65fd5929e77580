//! Contract tests of the `Store` interface: every scenario runs, unchanged, against both engines.
//!
//! - SQLite: a fresh database file in a temporary directory.
//! - PostgreSQL: a fresh database per test (`testing::TestDb`); skipped with a message when no
//!   server is reachable, a failure where PostgreSQL is required (CI, `DANGAN_REQUIRE_PG=1`).
//!
//! Each scenario is an `async fn(Arc<dyn Store>)`; `contract!` turns it into a module with one
//! test per engine (`<scenario>::sqlite`, `<scenario>::postgres`), so
//! `cargo test -p dangan-store --test contract sqlite` runs one engine only.

use dangan_core::audit::{AuditAction, AuditEvent};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use dangan_core::demo::DemoGenerator;
use dangan_core::numbering::NumberScheme;
use dangan_core::{
    Archive, ArchiveData, ArchiveStatus, ArchiveSummary, ContactData, CustomerKind, EntryData, EntryDetails, EntryKind, Gender, Grade, IdType, Money,
    OrganizationInfo, PersonInfo, RetentionClass, Role, Secrecy, Tier,
};
use dangan_store::{
    LoanKind, LoanQuery, NewAccessRequest, NewLoan,
    ArchiveFilter, ArchiveQuery, BulkArchive, Cursor, NewAttachment, NewUser, Numbering, SessionKind, SortOrder, Store, StoreError, VersionRecord,
};

// =============================================================================================
// Harness
// =============================================================================================

/// Runs a scenario on an engine whose store is already open: migrates, then times the scenario.
async fn run<F, Fut>(name: &str, store: Arc<dyn Store>, scenario: F)
where
    F: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()>,
{
    let engine = store.engine();
    store.migrate().await.expect("migrate");
    let started = Instant::now();
    scenario(store).await;
    eprintln!("contract {name} on {engine:?}: {:.2?}", started.elapsed());
}

macro_rules! contract {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("temporary directory");
                let store = dangan_store::sqlite::SqliteStore::open(&dir.path().join("dangan.db")).expect("open SQLite");
                let store: std::sync::Arc<dyn dangan_store::Store> = std::sync::Arc::new(store);
                assert_eq!(store.engine(), dangan_store::Engine::Sqlite);
                super::run(stringify!($scenario), store, super::$scenario).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                // Panics by itself where PostgreSQL is required; None means "skip" elsewhere.
                let Some(db) = dangan_store::testing::TestDb::create().await else { return };
                let store = dangan_store::open(&db.url, std::path::Path::new("unused.db")).await.expect("connect to the test database");
                assert_eq!(store.engine(), dangan_store::Engine::Postgres);
                super::run(stringify!($scenario), store, super::$scenario).await;
                // The store (and its connections) is gone here; the database is dropped now.
                drop(db);
            }
        }
    )+};
}

contract!(
    create_round_trip,
    numbering_concurrent,
    numbering_periods,
    stale_update_refused,
    keyset_pagination,
    timeline,
    contacts_and_attachments,
    identity,
    bulk_load,
    loans,
    policy_settings,
    lifecycle_dates_and_transfers,
    review_due_walks,
    checklists,
    retention_and_destruction,
);

// =============================================================================================
// Helpers
// =============================================================================================

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// A fixed instant (whole seconds) plus `secs`.
fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap() + Duration::seconds(secs)
}

/// Timestamps are kept to the microsecond; finer parts are dropped.
fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}

fn numbering(date: NaiveDate) -> Numbering {
    Numbering { scheme: NumberScheme::default(), dept_code: String::new(), date }
}

/// The sequence part of a number of the default scheme in `year`.
fn seq_of(archive_no: &str, year: i32) -> u64 {
    let prefix = format!("KH-{year}-");
    let rest = archive_no.strip_prefix(&prefix).unwrap_or_else(|| panic!("{archive_no} is not in period {prefix}"));
    assert_eq!(rest.len(), 6, "{archive_no}: sequence is zero-padded to 6 digits");
    rest.parse().unwrap_or_else(|_| panic!("{archive_no}: sequence is a number"))
}

/// Asserts `seqs` is exactly 1..=n in some order.
fn assert_gapless(what: &str, mut seqs: Vec<u64>) {
    seqs.sort_unstable();
    let n = seqs.len() as u64;
    let expected: Vec<u64> = (1..=n).collect();
    if seqs != expected {
        let set: HashSet<u64> = seqs.iter().copied().collect();
        let dups = seqs.windows(2).filter(|w| w[0] == w[1]).map(|w| w[0]).take(10).collect::<Vec<_>>();
        let missing = (1..=n).filter(|s| !set.contains(s)).take(10).collect::<Vec<_>>();
        panic!("{what}: {n} numbers are not exactly 1..={n}; duplicates {dups:?}, missing {missing:?}");
    }
}

fn rich_organization() -> ArchiveData {
    let mut d = ArchiveData::new(CustomerKind::Organization, "杭州华星建材有限公司");
    d.mobile = Some("13800138000".into());
    d.landline = Some("0571-88886666".into());
    d.email = Some("sales@huaxing.example.cn".into());
    d.address = Some("浙江省杭州市西湖区文三路 90 号 \"东部软件园\" 3 幢".into());
    d.postal_code = Some("310012".into());
    d.organization = Some(OrganizationInfo {
        uscc: Some("91330106MA2H0XXX1K".into()),
        legal_representative: Some("欧阳建国".into()),
        registered_capital: Some(Money::from_yuan(5_000_000)),
        founded_on: Some(day(2012, 6, 18)),
        organization_form: Some("有限责任公司".into()),
        employees: Some(86),
        annual_sales: Some(Money(123_456_789_01)),
        business_scope: Some("建材、装饰材料的批发、零售；\n货物进出口。".into()),
    });
    d.classification.industry = Some("批发和零售业".into());
    d.classification.province = Some("浙江省".into());
    d.classification.city = Some("杭州市".into());
    d.classification.district = Some("西湖区".into());
    d.classification.nature = Some("经销商".into());
    d.classification.source_channel = Some("展会".into());
    d.classification.grade = Some(Grade::A);
    d.classification.tags = vec!["重点客户".into(), "华东".into()];
    d.status = ArchiveStatus::Active;
    d.credit.grade = Some(Grade::B);
    d.credit.limit = Some(Money::from_yuan(200_000));
    d.credit.payment_term_days = Some(45);
    d.credit.discount_percent = Some(95);
    d.credit.assessed_on = Some(day(2025, 12, 1));
    d.credit.valid_until = Some(day(2026, 11, 30));
    d.characteristics.sales_ability = Some("强".into());
    d.characteristics.notes = Some("多行备注\n第二行：含 'quotes'、\"双引号\"、反斜杠 \\ 和 emoji 🏗️".into());
    d.template = Some("vehicle".into());
    d.custom.insert("vin".into(), serde_json::json!("LSVAU2180N2183294"));
    d.custom.insert("seats".into(), serde_json::json!(5));
    d.custom.insert("ratio".into(), serde_json::json!(0.1));
    d.custom.insert("big".into(), serde_json::json!(9_007_199_254_740_993_i64));
    d.custom.insert("nested".into(), serde_json::json!({"z": [1, 2, "三"], "a": {"b": null, "c": true}}));
    d.custom.insert("none".into(), serde_json::Value::Null);
    d.owner_id = Some(7);
    d.dept_id = Some(3);
    d.tier = Tier::Department;
    d.secrecy = Secrecy::Secret;
    d.retention_class = RetentionClass::Permanent;
    d
}

fn rich_person() -> ArchiveData {
    let mut d = ArchiveData::new(CustomerKind::Person, "诸葛秀英");
    d.mobile = Some("13912345678".into());
    d.person = Some(PersonInfo {
        gender: Some(Gender::Female),
        birth_date: Some(day(1986, 2, 28)),
        id_type: Some(IdType::ResidentId),
        id_number: Some("33010619860228002X".into()),
        occupation: Some("教师".into()),
        employer: None,
        id_number_index: None,
    });
    d.classification.province = Some("江苏省".into());
    d.classification.grade = Some(Grade::C);
    d.credit.blacklisted = true;
    d.credit.blacklist_reason = Some("长期欠款".into());
    d.credit.limit = Some(Money(0));
    d.status = ArchiveStatus::Dormant;
    d
}

fn contact(name: &str, mobile: Option<&str>, primary: bool) -> ContactData {
    ContactData {
        name: name.into(),
        title: Some("采购经理".into()),
        mobile: mobile.map(Into::into),
        landline: None,
        email: Some(format!("{}@example.cn", name.len())),
        wechat: Some("wx_联系人".into()),
        birthday: Some(day(1980, 1, 31)),
        preferences: Some("喜欢喝龙井".into()),
        is_primary: primary,
    }
}

fn entry(kind: EntryKind, on: NaiveDate, summary: &str) -> EntryData {
    EntryData { kind, occurred_on: on, summary: summary.into(), details: EntryDetails::default(), supersedes: None, correction_reason: None }
}

fn assert_version(v: &VersionRecord, id: i64, version: i64, data: &ArchiveData, by: i64, at: DateTime<Utc>, reason: Option<&str>) {
    assert_eq!(v.archive_id, id, "version {version}: archive id");
    assert_eq!(v.version, version);
    assert_eq!(&v.data, data, "version {version}: data");
    assert_eq!(v.changed_by, by, "version {version}: changed_by");
    assert_eq!(v.changed_at, at, "version {version}: changed_at");
    assert_eq!(v.reason.as_deref(), reason, "version {version}: reason");
}

// =============================================================================================
// 1. Create and read back
// =============================================================================================

async fn create_round_trip(store: Arc<dyn Store>) {
    // Migrating again (even twice at once) is a no-op.
    let (a, b) = tokio::join!(store.migrate(), store.migrate());
    a.expect("second migrate");
    b.expect("concurrent migrate");
    store.ping().await.expect("ping");

    let n = numbering(day(2026, 3, 2));
    let org = rich_organization();
    let a1 = store.create_archive(&org, &n, &ev(7, at(0))).await.expect("create");
    assert_eq!(a1.archive_no, "KH-2026-000001");
    assert_eq!(a1.version, 1);
    assert_eq!(a1.data, org, "the document comes back exactly");
    assert_eq!((a1.created_by, a1.updated_by), (7, 7));
    assert_eq!((a1.created_at, a1.updated_at), (at(0), at(0)));
    assert_eq!(store.get_archive(a1.id).await.unwrap().as_ref(), Some(&a1));
    assert_eq!(store.get_archive_by_no("KH-2026-000001").await.unwrap().as_ref(), Some(&a1));

    // Sub-microsecond parts of `now` are dropped, and the answer equals what later reads return.
    let now = at(60) + Duration::nanoseconds(123_456_789);
    let person = rich_person();
    let a2 = store.create_archive(&person, &n, &ev(8, now)).await.expect("create second");
    assert_eq!(a2.archive_no, "KH-2026-000002");
    assert!(a2.id > a1.id, "ids follow creation");
    assert_eq!(a2.version, 1);
    assert_eq!(a2.data, person);
    assert_eq!(a2.created_at, to_micros(now));
    assert_eq!(a2.updated_at, to_micros(now));
    assert_eq!(store.get_archive(a2.id).await.unwrap().as_ref(), Some(&a2));
    assert_eq!(store.get_archive_by_no("KH-2026-000002").await.unwrap().as_ref(), Some(&a2));
    assert_eq!(store.get_archive(a1.id).await.unwrap().as_ref(), Some(&a1), "the first archive is untouched");

    // A minimal document (defaults everywhere) round-trips too.
    let bare = ArchiveData::new(CustomerKind::Person, "王伟");
    let a3 = store.create_archive(&bare, &n, &ev(7, at(120))).await.unwrap();
    assert_eq!(a3.archive_no, "KH-2026-000003");
    assert_eq!(store.get_archive_by_no(&a3.archive_no).await.unwrap().map(|a| a.data), Some(bare));

    let versions = store.list_versions(a1.id).await.unwrap();
    assert_eq!(versions.len(), 1, "a new archive has exactly version 1: {versions:?}");
    assert_version(&versions[0], a1.id, 1, &org, 7, at(0), None);
    let versions = store.list_versions(a2.id).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert_version(&versions[0], a2.id, 1, &person, 8, to_micros(now), None);

    // Absent things are None, not errors.
    assert_eq!(store.get_archive(a3.id + 1000).await.unwrap(), None);
    assert_eq!(store.get_archive_by_no("KH-2026-000004").await.unwrap(), None);
    assert_eq!(store.get_archive_by_no("kh-2026-000001").await.unwrap(), None, "numbers match exactly");
    assert_eq!(store.count_archives(&ArchiveFilter::default()).await.unwrap(), 3);
}

// =============================================================================================
// 2. Numbering
// =============================================================================================

const WRITERS: usize = 8;
const PER_WRITER: usize = 500;

/// 8 writers × 500 creations at once in one period: 4,000 distinct numbers, exactly 1..=4000.
async fn numbering_concurrent(store: Arc<dyn Store>) {
    let n = Arc::new(numbering(day(2026, 3, 2)));
    let start = Arc::new(tokio::sync::Barrier::new(WRITERS));
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let (store, n, start) = (store.clone(), n.clone(), start.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            let mut made = Vec::with_capacity(PER_WRITER);
            for i in 0..PER_WRITER {
                let data = ArchiveData::new(CustomerKind::Person, format!("并发客户{w}-{i}"));
                let a = store.create_archive(&data, &n, &ev(w as i64 + 1, at(i as i64))).await.unwrap_or_else(|e| panic!("writer {w}, creation {i}: {e}"));
                assert_eq!(a.data, data);
                made.push((a.id, a.archive_no));
            }
            made
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        let made = t.await.expect("writer task");
        let seqs: Vec<u64> = made.iter().map(|(_, no)| seq_of(no, 2026)).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "one writer's numbers increase: {seqs:?}");
        all.extend(made);
    }
    let total = WRITERS * PER_WRITER;
    assert_eq!(all.len(), total);
    assert_eq!(all.iter().map(|(id, _)| id).collect::<HashSet<_>>().len(), total, "ids are distinct");
    assert_eq!(all.iter().map(|(_, no)| no).collect::<HashSet<_>>().len(), total, "numbers are distinct");
    assert_gapless("KH-2026", all.iter().map(|(_, no)| seq_of(no, 2026)).collect());

    assert_eq!(store.count_archives(&ArchiveFilter::default()).await.unwrap(), total as i64);
    let f = ArchiveFilter { number_prefix: Some("KH-2026-".into()), ..Default::default() };
    assert_eq!(store.count_archives(&f).await.unwrap(), total as i64);
    // Spot checks that what was answered is what was stored.
    for (id, no) in all.iter().step_by(397) {
        let a = store.get_archive_by_no(no).await.unwrap().expect("stored under its number");
        assert_eq!(a.id, *id);
    }
    // The counter continues after the burst.
    let next = store.create_archive(&ArchiveData::new(CustomerKind::Person, "后来者"), &n, &ev(1, at(9999))).await.unwrap();
    assert_eq!(next.archive_no, format!("KH-2026-{:06}", total + 1));
}

/// Different periods (department codes, years) count independently, also when interleaved.
async fn numbering_periods(store: Arc<dyn Store>) {
    let dept_scheme = NumberScheme::parse("{DEPT}-{YYYY}-{SEQ:3}").unwrap();
    let periods: Vec<Numbering> = [("MK", 2025), ("MK", 2026), ("XS", 2025), ("XS", 2026)]
        .into_iter()
        .map(|(dept, year)| Numbering { scheme: dept_scheme.clone(), dept_code: dept.into(), date: day(year, 12, 31) })
        .collect();
    let periods = Arc::new(periods);
    const W: usize = 4;
    const PER: usize = 40;
    let mut tasks = Vec::new();
    for w in 0..W {
        let (store, periods) = (store.clone(), periods.clone());
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            for i in 0..PER {
                let p = (i + w) % periods.len();
                let a = store
                    .create_archive(&ArchiveData::new(CustomerKind::Organization, format!("部门客户{w}-{i}")), &periods[p], &ev(1, at(i as i64)))
                    .await
                    .unwrap_or_else(|e| panic!("writer {w}, creation {i}: {e}"));
                made.push((p, a.archive_no));
            }
            made
        }));
    }
    let mut by_period: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
    for t in tasks {
        for (p, no) in t.await.unwrap() {
            let n = &periods[p];
            let prefix = format!("{}-{}-", n.dept_code, n.date.year());
            let seq = no.strip_prefix(&prefix).unwrap_or_else(|| panic!("{no} should start with {prefix}"));
            assert_eq!(seq.len(), 3, "{no}");
            by_period.entry(p).or_default().push(seq.parse().unwrap());
        }
    }
    assert_eq!(by_period.len(), 4);
    for (p, seqs) in by_period {
        assert_eq!(seqs.len(), W * PER / 4);
        assert_gapless(&periods[p].scheme.period_key(periods[p].date, &periods[p].dept_code), seqs);
    }

    // The default scheme: one counter per year, independent of the department scheme's counters.
    let a = store.create_archive(&ArchiveData::new(CustomerKind::Person, "二〇二五"), &numbering(day(2025, 12, 31)), &ev(1, at(0))).await.unwrap();
    assert_eq!(a.archive_no, "KH-2025-000001");
    let b = store.create_archive(&ArchiveData::new(CustomerKind::Person, "二〇二六"), &numbering(day(2026, 1, 1)), &ev(1, at(1))).await.unwrap();
    assert_eq!(b.archive_no, "KH-2026-000001");
    let c = store.create_archive(&ArchiveData::new(CustomerKind::Person, "又一个二〇二五"), &numbering(day(2025, 1, 1)), &ev(1, at(2))).await.unwrap();
    assert_eq!(c.archive_no, "KH-2025-000002");
    // A scheme with the month counts per month.
    let monthly = NumberScheme::parse("HZJC{YYYY}-{MM}{SEQ:3}").unwrap();
    let m = |date| Numbering { scheme: monthly.clone(), dept_code: String::new(), date };
    let d = store.create_archive(&ArchiveData::new(CustomerKind::Person, "十一月"), &m(day(2013, 11, 5)), &ev(1, at(3))).await.unwrap();
    let e = store.create_archive(&ArchiveData::new(CustomerKind::Person, "十二月"), &m(day(2013, 12, 5)), &ev(1, at(4))).await.unwrap();
    let f = store.create_archive(&ArchiveData::new(CustomerKind::Person, "十一月二"), &m(day(2013, 11, 30)), &ev(1, at(5))).await.unwrap();
    assert_eq!([d.archive_no, e.archive_no, f.archive_no], ["HZJC2013-11001", "HZJC2013-12001", "HZJC2013-11002"]);
}

// =============================================================================================
// 3. Optimistic concurrency and versions
// =============================================================================================

async fn stale_update_refused(store: Arc<dyn Store>) {
    let n = numbering(day(2026, 3, 2));
    let v1 = rich_organization();
    let created = store.create_archive(&v1, &n, &ev(7, at(0))).await.unwrap();
    let id = created.id;

    let mut v2 = v1.clone();
    v2.name = "杭州华星新材料股份有限公司".into();
    v2.address = Some("浙江省杭州市滨江区江南大道 1 号".into());
    v2.classification.grade = Some(Grade::B);
    v2.status = ArchiveStatus::Dormant;
    let updated = store.update_archive(id, 1, &v2, Some("更名并迁址"), &ev(8, at(100))).await.expect("update from the current version");
    assert_eq!(updated.version, 2);
    assert_eq!(updated.data, v2);
    assert_eq!(updated.archive_no, created.archive_no, "the number never changes");
    assert_eq!((updated.created_by, updated.created_at), (7, at(0)));
    assert_eq!((updated.updated_by, updated.updated_at), (8, at(100)));
    assert_eq!(store.get_archive(id).await.unwrap().as_ref(), Some(&updated));

    // A second writer still holding version 1 is refused, and nothing is written.
    let mut stale = v1.clone();
    stale.name = "过期的修改".into();
    match store.update_archive(id, 1, &stale, Some("不应写入"), &ev(9, at(200))).await {
        Err(StoreError::Conflict { current }) => assert_eq!(current, 2),
        other => panic!("stale update must be a Conflict at version 2, got {other:?}"),
    }
    // So is a version from the future.
    match store.update_archive(id, 3, &stale, None, &ev(9, at(200))).await {
        Err(StoreError::Conflict { current }) => assert_eq!(current, 2),
        other => panic!("update from version 3 must be a Conflict at version 2, got {other:?}"),
    }
    assert_eq!(store.get_archive(id).await.unwrap().as_ref(), Some(&updated), "a refused update changes nothing");
    let versions = store.list_versions(id).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2], "{versions:?}");
    assert_version(&versions[0], id, 1, &v1, 7, at(0), None);
    assert_version(&versions[1], id, 2, &v2, 8, at(100), Some("更名并迁址"));

    // The filter columns follow the current version.
    let by_name = |s: &str| ArchiveFilter { name_contains: Some(s.into()), ..Default::default() };
    assert_eq!(store.count_archives(&by_name("过期")).await.unwrap(), 0);
    assert_eq!(store.count_archives(&by_name("华星建材")).await.unwrap(), 0);
    assert_eq!(store.count_archives(&by_name("华星新材料")).await.unwrap(), 1);
    let row = &store.list_archives(&ArchiveQuery { limit: 10, ..Default::default() }).await.unwrap()[0];
    assert_eq!((row.grade, row.status, row.updated_at), (Some(Grade::B), ArchiveStatus::Dormant, at(100)));

    // Unknown archive.
    assert!(matches!(store.update_archive(id + 1000, 1, &v2, None, &ev(8, at(300))).await, Err(StoreError::NotFound)));

    // Eight editors race from version 2: exactly one wins, the others see version 3.
    let mut tasks = Vec::new();
    for k in 0..8i64 {
        let store = store.clone();
        let mut d = v2.clone();
        d.characteristics.notes = Some(format!("编辑者 {k}"));
        tasks.push(tokio::spawn(async move { (k, d.clone(), store.update_archive(id, 2, &d, Some(&format!("竞争 {k}")), &ev(10 + k, at(400 + k))).await) }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (k, d, r) = t.await.unwrap();
        match r {
            Ok(a) => {
                assert_eq!(a.version, 3);
                winners.push((k, d, a));
            }
            Err(StoreError::Conflict { current: 3 }) => {}
            Err(e) => panic!("editor {k}: expected Conflict at 3, got {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of the racing updates wins");
    let (k, d, won) = winners.pop().unwrap();
    assert_eq!(store.get_archive(id).await.unwrap().as_ref(), Some(&won));
    let versions = store.list_versions(id).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2, 3]);
    assert_version(&versions[0], id, 1, &v1, 7, at(0), None);
    assert_version(&versions[1], id, 2, &v2, 8, at(100), Some("更名并迁址"));
    assert_version(&versions[2], id, 3, &d, 10 + k, at(400 + k), Some(&format!("竞争 {k}")));

    // Activity on parts of the archive moves updated_at but not the version or its history.
    store.add_contact(id, &contact("李娜", Some("13700000000"), true), &ev(5, at(500))).await.unwrap();
    let after = store.get_archive(id).await.unwrap().unwrap();
    assert_eq!((after.version, after.updated_at, after.updated_by), (3, at(500), 5));
    assert_eq!(after.data, d);
    let versions = store.list_versions(id).await.unwrap();
    assert_eq!(versions.len(), 3);
    assert_version(&versions[2], id, 3, &d, 10 + k, at(400 + k), Some(&format!("竞争 {k}")));
    // ... and the next update still works from version 3.
    let v4 = store.update_archive(id, 3, &v1, None, &ev(7, at(600))).await.unwrap();
    assert_eq!(v4.version, 4);
    let versions = store.list_versions(id).await.unwrap();
    assert_eq!(versions.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_version(&versions[3], id, 4, &v1, 7, at(600), None);
    assert_version(&versions[0], id, 1, &v1, 7, at(0), None);
}

// =============================================================================================
// 4. Lists: keyset pagination, filters, counts
// =============================================================================================

struct Model {
    rows: BTreeMap<i64, ArchiveSummary>,
    /// Approved grants: (user, archive, expires at).
    grants: Vec<(i64, i64, DateTime<Utc>)>,
}

fn summary_of(a: &Archive, updated_at: DateTime<Utc>) -> ArchiveSummary {
    let d = &a.data;
    ArchiveSummary {
        id: a.id,
        archive_no: a.archive_no.clone(),
        kind: d.kind,
        name: d.name.clone(),
        grade: d.classification.grade,
        credit_grade: d.credit.grade,
        blacklisted: d.credit.blacklisted,
        status: d.status,
        industry: d.classification.industry.clone(),
        province: d.classification.province.clone(),
        city: d.classification.city.clone(),
        owner_id: d.owner_id,
        dept_id: d.dept_id,
        tier: d.tier,
        secrecy: d.secrecy,
        mobile: d.mobile.clone(),
        updated_at,
    }
}

fn matches(f: &ArchiveFilter, s: &ArchiveSummary) -> bool {
    fn eq<T: PartialEq>(want: &Option<T>, have: &T) -> bool {
        want.as_ref().map_or(true, |w| w == have)
    }
    fn eq_opt<T: PartialEq>(want: &Option<T>, have: &Option<T>) -> bool {
        want.is_none() || want == have
    }
    eq(&f.kind, &s.kind)
        && eq_opt(&f.grade, &s.grade)
        && eq_opt(&f.credit_grade, &s.credit_grade)
        && eq(&f.blacklisted, &s.blacklisted)
        && eq(&f.status, &s.status)
        && eq_opt(&f.industry, &s.industry)
        && eq_opt(&f.province, &s.province)
        && eq_opt(&f.city, &s.city)
        && eq_opt(&f.owner_id, &s.owner_id)
        && eq_opt(&f.dept_id, &s.dept_id)
        && eq(&f.tier, &s.tier)
        && eq(&f.secrecy, &s.secrecy)
        && f.number_prefix.as_ref().map_or(true, |p| s.archive_no.starts_with(p.as_str()))
        && f.name_contains.as_ref().map_or(true, |p| s.name.contains(p.as_str()))
        && f.updated_from.map_or(true, |t| s.updated_at >= t)
        && f.updated_to.map_or(true, |t| s.updated_at < t)
        && f.scope.as_ref().map_or(true, |scope| {
            scope.admits(s.id, &dangan_core::policy::Protection { owner_id: s.owner_id, dept_id: s.dept_id, tier: s.tier, secrecy: s.secrecy })
        })
}

impl Model {
    fn expected(&self, f: &ArchiveFilter, sort: SortOrder) -> Vec<ArchiveSummary> {
        // Grants the query looks up itself are read into the scope, as `App::list_scope` does.
        let mut f = f.clone();
        if let Some(scope) = f.scope.as_mut() {
            if let Some(h) = scope.grants_of.take() {
                scope.granted.extend(self.grants.iter().filter(|(u, _, exp)| *u == h.user_id && *exp > h.at).map(|(_, a, _)| *a));
            }
        }
        let f = &f;
        let mut rows: Vec<ArchiveSummary> = self.rows.values().filter(|s| matches(f, s)).cloned().collect();
        match sort {
            SortOrder::CreatedDesc => rows.sort_by_key(|s| std::cmp::Reverse(s.id)),
            SortOrder::CreatedAsc => rows.sort_by_key(|s| s.id),
            SortOrder::UpdatedDesc => rows.sort_by_key(|s| std::cmp::Reverse((s.updated_at, s.id))),
            SortOrder::UpdatedAsc => rows.sort_by_key(|s| (s.updated_at, s.id)),
        }
        rows
    }
}

/// Walks all pages of a query, passing each cursor through its text form as a client would.
async fn walk(store: &dyn Store, filter: &ArchiveFilter, sort: SortOrder, limit: u32) -> Vec<ArchiveSummary> {
    let mut out: Vec<ArchiveSummary> = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_archives(&ArchiveQuery { filter: filter.clone(), sort, after, limit }).await.expect("list_archives");
        assert!(page.len() <= limit as usize, "a page has at most `limit` rows");
        let full = page.len() == limit as usize;
        out.extend(page);
        if !full {
            return out;
        }
        let cursor = Cursor::after(out.last().unwrap(), sort);
        after = Some(Cursor::decode(&cursor.encode()).expect("cursor decodes"));
        assert_eq!(after, Some(cursor));
        assert!(out.len() <= 100_000, "the walk does not end");
    }
}

async fn keyset_pagination(store: Arc<dyn Store>) {
    const N: usize = 120;
    let grades = [Some(Grade::A), Some(Grade::B), Some(Grade::C), Some(Grade::D), None];
    let places = [(Some("浙江省"), Some("杭州市")), (Some("江苏省"), Some("南京市")), (Some("广东省"), Some("深圳市")), (Some("浙江省"), Some("宁波市")), (None, None)];
    let industries = [Some("制造业"), Some("批发和零售业"), None];
    let special_names = [
        "百分之百%诚信商行",
        "百分之百X诚信商行",
        "下划线_贸易有限公司",
        "下划线X贸易有限公司",
        "反斜杠\\科技有限公司",
        "反斜杠X科技有限公司",
        "Abc酒店管理有限公司",
        "50%_折扣\\店",
    ];
    let mut model = Model { rows: BTreeMap::new(), grants: Vec::new() };
    for i in 0..N {
        let kind = if i % 3 == 0 { CustomerKind::Organization } else { CustomerKind::Person };
        let name = match special_names.get(i / 13) {
            Some(s) if i % 13 == 5 => s.to_string(),
            _ => format!("客户{i:03}"),
        };
        let mut d = ArchiveData::new(kind, name);
        d.classification.grade = grades[i % grades.len()];
        let (province, city) = places[i % places.len()];
        d.classification.province = province.map(Into::into);
        d.classification.city = city.map(Into::into);
        d.classification.industry = industries[i % industries.len()].map(Into::into);
        d.status = ArchiveStatus::ALL[i % ArchiveStatus::ALL.len()];
        d.credit.grade = grades[(i / 2) % grades.len()];
        d.credit.blacklisted = i % 17 == 3;
        d.owner_id = Some((i % 4) as i64 + 1);
        d.dept_id = if i % 6 == 0 { None } else { Some(20 + (i % 2) as i64) };
        d.tier = Tier::ALL[i % Tier::ALL.len()];
        d.secrecy = Secrecy::ALL[(i / 5) % Secrecy::ALL.len()];
        d.mobile = (i % 2 == 0).then(|| format!("139{:08}", i));
        // 100 numbers in 2026, 20 in 2025, a few of a scheme with Chinese text right after the
        // year (prefix ranges must not assume ASCII); groups of three share updated_at (ties).
        let date = if i % 6 == 1 { day(2025, 6, 1) } else { day(2026, 3, 2) };
        let mut n = numbering(date);
        if i % 40 == 8 {
            n.scheme = NumberScheme::parse("档{YYYY}年{SEQ:3}号").unwrap();
        }
        let now = at((i / 3) as i64);
        let a = store.create_archive(&d, &n, &ev(1, now)).await.unwrap();
        model.rows.insert(a.id, summary_of(&a, now));
    }
    let ids: Vec<i64> = model.rows.keys().copied().collect();
    // Shuffle updated_at: update every 7th (four tied timestamps), touch every 11th via a contact.
    for (k, id) in ids.iter().enumerate().filter(|(k, _)| k % 7 == 2) {
        let cur = store.get_archive(*id).await.unwrap().unwrap();
        let mut d = cur.data.clone();
        d.status = ArchiveStatus::Active;
        d.classification.grade = Some(Grade::A);
        let now = at(1000 + (k % 4) as i64);
        let a = store.update_archive(*id, cur.version, &d, None, &ev(2, now)).await.unwrap();
        model.rows.insert(a.id, summary_of(&a, now));
    }
    for (k, id) in ids.iter().enumerate().filter(|(k, _)| k % 11 == 4) {
        let now = at(2000 - k as i64);
        store.add_contact(*id, &contact("王芳", None, false), &ev(3, now)).await.unwrap();
        model.rows.get_mut(id).unwrap().updated_at = now;
    }
    // A read of every archive agrees with the model's summary (which the lists must return).
    for (id, s) in &model.rows {
        let a = store.get_archive(*id).await.unwrap().unwrap();
        assert_eq!(&summary_of(&a, a.updated_at), s, "archive {id}");
    }

    let mut filters: Vec<(&str, ArchiveFilter)> = vec![("all", ArchiveFilter::default())];
    let f = ArchiveFilter::default;
    filters.push(("kind", ArchiveFilter { kind: Some(CustomerKind::Organization), ..f() }));
    filters.push(("grade", ArchiveFilter { grade: Some(Grade::B), ..f() }));
    filters.push(("grade A", ArchiveFilter { grade: Some(Grade::A), ..f() }));
    filters.push(("credit grade", ArchiveFilter { credit_grade: Some(Grade::D), ..f() }));
    filters.push(("province", ArchiveFilter { province: Some("浙江省".into()), ..f() }));
    filters.push(("city", ArchiveFilter { city: Some("宁波市".into()), ..f() }));
    filters.push(("industry", ArchiveFilter { industry: Some("批发和零售业".into()), ..f() }));
    filters.push(("status", ArchiveFilter { status: Some(ArchiveStatus::Active), ..f() }));
    filters.push(("blacklisted", ArchiveFilter { blacklisted: Some(true), ..f() }));
    filters.push(("not blacklisted", ArchiveFilter { blacklisted: Some(false), ..f() }));
    filters.push(("owner", ArchiveFilter { owner_id: Some(2), ..f() }));
    filters.push(("dept", ArchiveFilter { dept_id: Some(21), ..f() }));
    filters.push(("tier", ArchiveFilter { tier: Some(Tier::Company), ..f() }));
    filters.push(("secrecy", ArchiveFilter { secrecy: Some(Secrecy::Secret), ..f() }));
    for p in ["KH-", "KH-2025-", "KH-2026-", "KH-2026-00001", "KH-2026-00010", "KH-2026-000007", "KH-2027", "KH-2026-00001%", "KH_2026", "", "档", "档2026", "档2026年00"] {
        filters.push(("number prefix", ArchiveFilter { number_prefix: Some(p.into()), ..f() }));
    }
    for s in ["%", "_", "\\", "百分之百%", "下划线_", "反斜杠\\科技", "%_", "客户01", "客户", "不存在", "Abc", "abc", "ABC"] {
        filters.push(("name contains", ArchiveFilter { name_contains: Some(s.into()), ..f() }));
    }
    filters.push(("updated range", ArchiveFilter { updated_from: Some(at(10)), updated_to: Some(at(1002)), ..f() }));
    filters.push(("updated from", ArchiveFilter { updated_from: Some(at(1000)), ..f() }));
    filters.push((
        "combined",
        ArchiveFilter { kind: Some(CustomerKind::Person), province: Some("浙江省".into()), blacklisted: Some(false), number_prefix: Some("KH-2026-".into()), ..f() },
    ));
    filters.push(("combined, nothing", ArchiveFilter { grade: Some(Grade::A), status: Some(ArchiveStatus::Lost), kind: Some(CustomerKind::Organization), ..f() }));
    // Access scopes (issue 3): a scope of several parts is one ordered query per part, merged;
    // the merge must keep the order, the page size and each archive once (a granted archive is
    // also in a tier part), with and without filters that the scope indexes carry.
    {
        use dangan_core::policy::{Action, ApprovalStep, GrantHolder, ListScope};
        let some = |v: &[i64]| v.to_vec();
        let granted: Vec<i64> = ids.iter().copied().step_by(9).collect();
        // Grants the query looks up itself (`grants_of`): approved requests on every 5th archive,
        // some expired when the scope is judged, and another user's, which must not count.
        let person = |name: &str| NewUser { username: name.into(), display_name: name.into(), password_hash: None, dept_id: None, roles: vec![Role::Salesperson] };
        let grantee = store.create_user(&person("grantee"), &ev(0, at(0))).await.unwrap();
        let other = store.create_user(&person("other"), &ev(0, at(0))).await.unwrap();
        let gm = store.create_user(&NewUser { roles: vec![Role::GeneralManager], ..person("gm") }, &ev(0, at(0))).await.unwrap();
        let judged_at = at(3000);
        for (k, id) in ids.iter().copied().enumerate().filter(|(k, _)| k % 5 == 1) {
            let (user, expires) = match k % 3 {
                0 => (grantee.id, at(4000)),
                1 => (grantee.id, at(2500)),
                _ => (other.id, at(4000)),
            };
            let req = NewAccessRequest { archive_id: id, requester_id: user, purpose: "核对".into(), sections: vec![], actions: vec![Action::Read], hours: 1, chain: vec![ApprovalStep::GeneralManager] };
            let req = store.create_access_request(&req, &ev(user, at(2000))).await.unwrap();
            store.decide_access_request(req.id, 0, gm.id, true, "", expires, &ev(gm.id, at(2001))).await.unwrap();
            model.grants.push((user, id, expires));
        }
        let held = Some(GrantHolder { user_id: grantee.id, at: judged_at });
        let scopes = [
            ("salesperson holding grants", ListScope { dept_tier_depts: some(&[20]), owner: Some(2), grants_of: held, ..ListScope::nothing() }),
            ("grants held only", ListScope { grants_of: held, ..ListScope::nothing() }),
            ("manager holding grants", ListScope { dept_tier_depts: some(&[20, 21]), personal_tier_depts: some(&[21]), owner: Some(1), granted: granted.clone(), grants_of: held, ..ListScope::nothing() }),
            ("salesperson", ListScope { dept_tier_depts: some(&[20]), owner: Some(2), ..ListScope::nothing() }),
            ("owner only", ListScope { owner: Some(3), ..ListScope::nothing() }),
            ("manager", ListScope { dept_tier_depts: some(&[20, 21]), personal_tier_depts: some(&[21]), owner: Some(1), granted: granted.clone(), ..ListScope::nothing() }),
            ("director", ListScope { company: true, dept_tier_depts: some(&[21]), owner: Some(4), granted: granted.clone(), ..ListScope::nothing() }),
            ("grants only", ListScope { granted: granted.clone(), ..ListScope::nothing() }),
            ("archivist", ListScope { all: true, top_secret: true, ..ListScope::nothing() }),
            ("general manager", ListScope { all: true, ..ListScope::nothing() }),
            ("nothing", ListScope::nothing()),
        ];
        for (who, scope) in scopes {
            let scoped = |g: ArchiveFilter| ArchiveFilter { scope: Some(scope.clone()), ..g };
            filters.push((who, scoped(f())));
            filters.push((who, scoped(ArchiveFilter { grade: Some(Grade::A), ..f() })));
            filters.push((who, scoped(ArchiveFilter { province: Some("浙江省".into()), status: Some(ArchiveStatus::Active), ..f() })));
            filters.push((who, scoped(ArchiveFilter { updated_from: Some(at(10)), ..f() })));
            filters.push((who, scoped(ArchiveFilter { name_contains: Some("客户0".into()), ..f() })));
        }
        let director = model.expected(&filters.iter().find(|(w, _)| *w == "director").unwrap().1, SortOrder::CreatedAsc);
        assert!(director.len() > 20 && director.len() < N, "the director's scope is a real part of the base: {}", director.len());
        let held_only = model.expected(&filters.iter().find(|(w, _)| *w == "grants held only").unwrap().1, SortOrder::CreatedAsc);
        let live: HashSet<i64> = model.grants.iter().filter(|(u, _, exp)| *u == grantee.id && *exp > judged_at).map(|g| g.1).collect();
        assert!(!held_only.is_empty() && held_only.iter().all(|s| live.contains(&s.id)), "the live grants are listed: {}", held_only.len());
        assert!(model.grants.len() > live.len() + 5, "expired and other users' grants are part of the scenario");
    }

    // The unfiltered walk in pages of 25 visits every archive once, in order, in every sort.
    for sort in [SortOrder::CreatedDesc, SortOrder::CreatedAsc, SortOrder::UpdatedDesc, SortOrder::UpdatedAsc] {
        let got = walk(store.as_ref(), &ArchiveFilter::default(), sort, 25).await;
        assert_eq!(got.len(), N, "{sort:?}");
        assert_eq!(got.iter().map(|s| s.id).collect::<HashSet<_>>().len(), N, "{sort:?}: each archive once");
        assert_eq!(got, model.expected(&ArchiveFilter::default(), sort), "{sort:?}: order and content");
    }
    // Sanity of the scenario itself: the special cases are present.
    let all = model.expected(&ArchiveFilter::default(), SortOrder::CreatedAsc);
    assert!(all.iter().any(|s| s.name.contains('%')) && all.iter().any(|s| s.name.contains('_')) && all.iter().any(|s| s.name.contains('\\')));
    assert_eq!(all.iter().filter(|s| s.archive_no.starts_with("档2026年")).count(), 3);
    let updated = model.expected(&ArchiveFilter::default(), SortOrder::UpdatedDesc);
    assert!(updated.windows(2).filter(|w| w[0].updated_at == w[1].updated_at).count() > 20, "ties on updated_at");

    for (what, filter) in &filters {
        let count = store.count_archives(filter).await.unwrap_or_else(|e| panic!("{what} {filter:?}: {e}"));
        for (sort, limit) in [(SortOrder::CreatedDesc, 25), (SortOrder::CreatedAsc, 7), (SortOrder::UpdatedDesc, 4), (SortOrder::UpdatedAsc, 5)] {
            let expected = model.expected(filter, sort);
            let got = walk(store.as_ref(), filter, sort, limit).await;
            assert_eq!(
                got.iter().map(|s| (s.id, s.name.as_str())).collect::<Vec<_>>(),
                expected.iter().map(|s| (s.id, s.name.as_str())).collect::<Vec<_>>(),
                "{what} {filter:?}, {sort:?} by {limit}"
            );
            assert_eq!(got, expected, "{what} {filter:?}, {sort:?}: row contents");
            assert_eq!(count, got.len() as i64, "{what} {filter:?}: count_archives agrees with the walk");
        }
    }
    // Escaping: each special character matches itself only.
    let names = |s: &str| model.expected(&ArchiveFilter { name_contains: Some(s.into()), ..f() }, SortOrder::CreatedAsc).into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(names("%"), ["百分之百%诚信商行", "50%_折扣\\店"]);
    assert_eq!(names("_"), ["下划线_贸易有限公司", "50%_折扣\\店"]);
    assert_eq!(names("\\"), ["反斜杠\\科技有限公司", "50%_折扣\\店"]);

    // A cursor past the end gives an empty page; a first page respects the limit.
    let last = walk(store.as_ref(), &ArchiveFilter::default(), SortOrder::CreatedAsc, 1000).await.pop().unwrap();
    let q = ArchiveQuery { sort: SortOrder::CreatedAsc, after: Some(Cursor::after(&last, SortOrder::CreatedAsc)), limit: 25, ..Default::default() };
    assert!(store.list_archives(&q).await.unwrap().is_empty());
    assert_eq!(store.list_archives(&ArchiveQuery { limit: 10, ..Default::default() }).await.unwrap().len(), 10);

    // Keyset pages stay stable while archives are being added: a CreatedDesc walk begun before
    // the new rows sees each old archive exactly once and none of the new ones.
    let first = store.list_archives(&ArchiveQuery { limit: 25, ..Default::default() }).await.unwrap();
    for i in 0..5 {
        store.create_archive(&ArchiveData::new(CustomerKind::Person, format!("新来的{i}")), &numbering(day(2026, 3, 2)), &ev(1, at(5000))).await.unwrap();
    }
    let mut seen = first.clone();
    let mut q = ArchiveQuery { limit: 25, after: Some(Cursor::after(first.last().unwrap(), SortOrder::CreatedDesc)), ..Default::default() };
    loop {
        let page = store.list_archives(&q).await.unwrap();
        if page.is_empty() {
            break;
        }
        q.after = Some(Cursor::after(page.last().unwrap(), SortOrder::CreatedDesc));
        seen.extend(page);
    }
    assert_eq!(seen.iter().map(|s| s.id).collect::<Vec<_>>(), model.expected(&ArchiveFilter::default(), SortOrder::CreatedDesc).iter().map(|s| s.id).collect::<Vec<_>>());
}

// =============================================================================================
// 5. Timeline
// =============================================================================================

async fn timeline(store: Arc<dyn Store>) {
    let n = numbering(day(2026, 3, 2));
    let a = store.create_archive(&rich_organization(), &n, &ev(1, at(0))).await.unwrap();
    let b = store.create_archive(&rich_person(), &n, &ev(1, at(0))).await.unwrap();
    assert!(store.list_entries(a.id).await.unwrap().is_empty());

    let mut visit = entry(EntryKind::Visit, day(2026, 1, 10), "上门拜访，洽谈年度框架协议");
    visit.details.counterpart = Some("欧阳建国".into());
    visit.details.next_action = Some("寄送报价".into());
    visit.details.next_action_on = Some(day(2026, 1, 20));
    let mut deal = entry(EntryKind::Transaction, day(2026, 2, 1), "采购水泥 200 吨");
    deal.details.product = Some("P.O 42.5 水泥".into());
    deal.details.quantity = Some(200);
    deal.details.amount = Some(Money::from_yuan(86_000));
    let old = entry(EntryKind::Contract, day(2025, 12, 1), "签订 2026 年度合同");
    let same_day = entry(EntryKind::Payment, day(2026, 2, 1), "回款 8.6 万");

    // `now` with nanoseconds: the answer must equal what a later read returns.
    let e1 = store.add_entry(a.id, &visit, &ev(2, at(10) + Duration::nanoseconds(999))).await.unwrap();
    let e2 = store.add_entry(a.id, &deal, &ev(2, at(20))).await.unwrap();
    let e3 = store.add_entry(a.id, &old, &ev(3, at(30))).await.unwrap();
    let e4 = store.add_entry(a.id, &same_day, &ev(3, at(40))).await.unwrap();
    assert_eq!(e1.created_at, at(10));
    for (e, d) in [(&e1, &visit), (&e2, &deal), (&e3, &old), (&e4, &same_day)] {
        assert_eq!((e.archive_id, &e.data, e.superseded_by), (a.id, d, None));
    }
    let listed = store.list_entries(a.id).await.unwrap();
    // Newest first by occurred_on, then id.
    assert_eq!(listed, vec![e4.clone(), e2.clone(), e1.clone(), e3.clone()]);
    let touched = store.get_archive(a.id).await.unwrap().unwrap();
    assert_eq!((touched.updated_at, touched.updated_by, touched.version), (at(40), 3, 1), "an entry moves updated_at, not the version");

    // A correction is a new entry; the old one stays, marked as superseded.
    let mut fix = deal.clone();
    fix.summary = "采购水泥 180 吨（更正数量）".into();
    fix.details.quantity = Some(180);
    fix.details.amount = Some(Money::from_yuan(77_400));
    fix.supersedes = Some(e2.id);
    fix.correction_reason = Some("数量录入错误".into());
    let e5 = store.add_entry(a.id, &fix, &ev(4, at(50))).await.unwrap();
    assert_eq!((e5.data.supersedes, e5.superseded_by), (Some(e2.id), None));
    let listed = store.list_entries(a.id).await.unwrap();
    assert_eq!(listed.len(), 5);
    assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), [e5.id, e4.id, e2.id, e1.id, e3.id]);
    let by_id: HashMap<i64, _> = listed.iter().map(|e| (e.id, e)).collect();
    assert_eq!(by_id[&e2.id].superseded_by, Some(e5.id));
    assert_eq!(by_id[&e2.id].data, deal, "the original is kept unchanged");
    assert_eq!(by_id[&e5.id], &e5);
    for id in [e1.id, e3.id, e4.id, e5.id] {
        assert_eq!(by_id[&id].superseded_by, None);
    }

    // Superseding an entry of another archive (or none at all) is refused and writes nothing.
    let before_b = store.get_archive(b.id).await.unwrap().unwrap();
    let mut foreign = entry(EntryKind::Communication, day(2026, 2, 2), "试图更正别人的记录");
    foreign.supersedes = Some(e1.id);
    foreign.correction_reason = Some("越权".into());
    assert!(matches!(store.add_entry(b.id, &foreign, &ev(4, at(60))).await, Err(StoreError::NotFound)), "another archive's entry");
    foreign.supersedes = Some(e5.id + 1000);
    assert!(matches!(store.add_entry(b.id, &foreign, &ev(4, at(60))).await, Err(StoreError::NotFound)), "an entry that does not exist");
    assert!(store.list_entries(b.id).await.unwrap().is_empty());
    assert_eq!(store.get_archive(b.id).await.unwrap().unwrap(), before_b, "the refused archive is not touched");
    assert_eq!(store.list_entries(a.id).await.unwrap(), listed, "the other archive's timeline is unchanged");
    // An entry for an archive that does not exist.
    assert!(matches!(store.add_entry(b.id + 1000, &visit, &ev(4, at(60))).await, Err(StoreError::NotFound)));

    // A correction of a correction.
    let mut fix2 = fix.clone();
    fix2.supersedes = Some(e5.id);
    fix2.details.quantity = Some(190);
    let e6 = store.add_entry(a.id, &fix2, &ev(4, at(70))).await.unwrap();
    let listed = store.list_entries(a.id).await.unwrap();
    let by_id: HashMap<i64, _> = listed.iter().map(|e| (e.id, e)).collect();
    assert_eq!((by_id[&e2.id].superseded_by, by_id[&e5.id].superseded_by, by_id[&e6.id].superseded_by), (Some(e5.id), Some(e6.id), None));
}

// =============================================================================================
// 6. Contacts and attachments
// =============================================================================================

async fn contacts_and_attachments(store: Arc<dyn Store>) {
    let n = numbering(day(2026, 3, 2));
    let a = store.create_archive(&rich_organization(), &n, &ev(1, at(0))).await.unwrap();
    let b = store.create_archive(&rich_person(), &n, &ev(1, at(0))).await.unwrap();
    assert!(store.list_contacts(a.id).await.unwrap().is_empty());

    let c1 = store.add_contact(a.id, &contact("欧阳建国", Some("13800000001"), true), &ev(2, at(10))).await.unwrap();
    let c2 = store.add_contact(a.id, &contact("李娜", None, false), &ev(2, at(20))).await.unwrap();
    let cb = store.add_contact(b.id, &contact("杨秀英", Some("13800000003"), false), &ev(2, at(30))).await.unwrap();
    assert_eq!((c1.archive_id, c2.archive_id, cb.archive_id), (a.id, a.id, b.id));
    assert!(c1.id != c2.id && c2.id != cb.id);
    assert_eq!(store.list_contacts(a.id).await.unwrap(), vec![c1.clone(), c2.clone()]);
    assert_eq!(store.list_contacts(b.id).await.unwrap(), vec![cb.clone()]);
    assert_eq!(store.get_archive(a.id).await.unwrap().unwrap().updated_at, at(20), "adding a contact touches the archive");

    let mut changed = c2.data.clone();
    changed.mobile = Some("13900000002".into());
    changed.title = Some("总经理".into());
    changed.is_primary = true;
    let c2b = store.update_contact(a.id, c2.id, &changed, &ev(3, at(40))).await.unwrap();
    assert_eq!((c2b.id, c2b.archive_id, &c2b.data), (c2.id, a.id, &changed));
    assert_eq!(store.list_contacts(a.id).await.unwrap(), vec![c1.clone(), c2b.clone()]);
    assert_eq!(store.get_archive(a.id).await.unwrap().unwrap().updated_at, at(40));

    // Through the wrong archive, or a contact that does not exist: NotFound, nothing changes.
    let before_b = store.get_archive(b.id).await.unwrap().unwrap();
    let hijack = contact("冒名顶替", Some("13000000000"), true);
    assert!(matches!(store.update_contact(b.id, c1.id, &hijack, &ev(3, at(50))).await, Err(StoreError::NotFound)));
    assert!(matches!(store.update_contact(a.id, cb.id, &hijack, &ev(3, at(50))).await, Err(StoreError::NotFound)));
    assert!(matches!(store.update_contact(a.id, cb.id + 1000, &hijack, &ev(3, at(50))).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_contacts(a.id).await.unwrap(), vec![c1.clone(), c2b.clone()]);
    assert_eq!(store.list_contacts(b.id).await.unwrap(), vec![cb.clone()]);
    assert_eq!(store.get_archive(b.id).await.unwrap().unwrap(), before_b);
    assert_eq!(store.get_archive(a.id).await.unwrap().unwrap().updated_at, at(40));
    assert!(matches!(store.add_contact(b.id + 1000, &hijack, &ev(3, at(50))).await, Err(StoreError::NotFound)));

    // Attachments.
    assert!(store.list_attachments(a.id).await.unwrap().is_empty());
    let new = |archive_id, name: &str, size, t| NewAttachment {
        archive_id,
        sha256: format!("{:064x}", size),
        filename: name.into(),
        content_type: "application/pdf".into(),
        size,
        created_by: 4,
        created_at: t,
    };
    let t1 = at(60) + Duration::nanoseconds(1_234_567);
    let x1 = store.add_attachment(&new(a.id, "营业执照副本.pdf", 182_113, t1), &ev0()).await.unwrap();
    let x2 = store.add_attachment(&new(a.id, "2026 年度合同（盖章）.pdf", 2_048_000, at(70)), &ev0()).await.unwrap();
    let xb = store.add_attachment(&new(b.id, "身份证.jpg", 99, at(80)), &ev0()).await.unwrap();
    assert_eq!((x1.archive_id, x1.filename.as_str(), x1.size, x1.created_by), (a.id, "营业执照副本.pdf", 182_113, 4));
    assert_eq!(x1.sha256, format!("{:064x}", 182_113));
    assert_eq!(x1.content_type, "application/pdf");
    assert_eq!(x1.created_at, to_micros(t1));
    assert_eq!(store.list_attachments(a.id).await.unwrap(), vec![x1.clone(), x2.clone()]);
    assert_eq!(store.list_attachments(b.id).await.unwrap(), vec![xb.clone()]);
    assert_eq!(store.get_attachment(x1.id).await.unwrap(), Some(x1.clone()));
    assert_eq!(store.get_attachment(xb.id).await.unwrap(), Some(xb.clone()));
    assert_eq!(store.get_attachment(xb.id + 1000).await.unwrap(), None);
    assert_eq!(store.get_archive(a.id).await.unwrap().unwrap().updated_at, at(70), "an attachment touches the archive");
    assert!(matches!(store.add_attachment(&new(b.id + 1000, "孤儿.pdf", 1, at(90)), &ev0()).await, Err(StoreError::NotFound)));
    assert_eq!(store.list_attachments(b.id + 1000).await.unwrap(), vec![]);
}

// =============================================================================================
// 7. Identity: departments, users, logins, sessions
// =============================================================================================

async fn identity(store: Arc<dyn Store>) {
    assert!(store.list_departments().await.unwrap().is_empty());
    let hq = store.create_department("总公司", "HQ", None, &ev0()).await.unwrap();
    let mk = store.create_department("市场部", "MK", Some(hq.id), &ev0()).await.unwrap();
    let east = store.create_department("华东大区", "MK-E", Some(mk.id), &ev0()).await.unwrap();
    let xs = store.create_department("销售部", "XS", Some(hq.id), &ev0()).await.unwrap();
    assert_eq!((hq.name.as_str(), hq.code.as_str(), hq.parent_id), ("总公司", "HQ", None));
    assert_eq!((east.parent_id, xs.parent_id), (Some(mk.id), Some(hq.id)));
    assert_eq!(store.list_departments().await.unwrap(), vec![hq.clone(), mk.clone(), east.clone(), xs.clone()]);
    assert!(matches!(store.create_department("另一个市场部", "MK", None, &ev0()).await, Err(StoreError::Duplicate(_))), "department codes are unique");
    assert_eq!(store.list_departments().await.unwrap().len(), 4);

    assert_eq!(store.count_users().await.unwrap(), 0);
    let t0 = at(0) + Duration::nanoseconds(42_000_999);
    let zhang = store
        .create_user(
            &NewUser {
                username: "zhangwei".into(),
                display_name: "张伟".into(),
                password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into()),
                dept_id: Some(east.id),
                roles: vec![Role::Salesperson, Role::DeptManager],
            },
            &ev(0, t0),
        )
        .await
        .unwrap();
    assert_eq!(zhang.username, "zhangwei");
    assert_eq!(zhang.display_name, "张伟");
    assert_eq!(zhang.dept_id, Some(east.id));
    assert_eq!(zhang.roles, vec![Role::Salesperson, Role::DeptManager]);
    assert!(zhang.active);
    assert_eq!(zhang.created_at, to_micros(t0));
    let admin = store
        .create_user(&NewUser { username: "admin".into(), display_name: "系统管理员".into(), password_hash: None, dept_id: None, roles: vec![] }, &ev(0, at(1)))
        .await
        .unwrap();
    assert_eq!((admin.roles.len(), admin.dept_id), (0, None));
    assert_eq!(store.get_user(zhang.id).await.unwrap(), Some(zhang.clone()));
    assert_eq!(store.get_user(admin.id).await.unwrap(), Some(admin.clone()));
    assert_eq!(store.get_user(admin.id + 1000).await.unwrap(), None);
    assert_eq!(store.list_users().await.unwrap(), vec![zhang.clone(), admin.clone()]);
    let every_role = store
        .create_user(&NewUser { username: "all".into(), display_name: "全能".into(), password_hash: None, dept_id: Some(hq.id), roles: Role::ALL.to_vec() }, &ev(0, at(2)))
        .await
        .unwrap();
    assert_eq!(store.get_user(every_role.id).await.unwrap().unwrap().roles, Role::ALL.to_vec());

    let dup = NewUser { username: "zhangwei".into(), display_name: "另一个张伟".into(), password_hash: None, dept_id: None, roles: vec![Role::Auditor] };
    match store.create_user(&dup, &ev(0, at(3))).await {
        Err(StoreError::Duplicate(_)) => {}
        other => panic!("duplicate username must be Duplicate, got {other:?}"),
    }
    assert_eq!(store.count_users().await.unwrap(), 3);
    assert_eq!(store.get_user(zhang.id).await.unwrap(), Some(zhang.clone()), "the existing user is unchanged");

    // Login bookkeeping.
    let login = store.find_login("zhangwei").await.unwrap().expect("login record");
    assert_eq!(login.user, zhang);
    assert_eq!(login.password_hash.as_deref(), Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"));
    assert_eq!((login.failed_logins, login.locked_until), (0, None));
    assert!(store.find_login("nobody").await.unwrap().is_none());
    assert!(store.find_login("ZhangWei").await.unwrap().is_none(), "usernames match exactly");
    assert_eq!(store.find_login("admin").await.unwrap().unwrap().password_hash, None);

    store.record_login(zhang.id, false, None).await.unwrap();
    let l = store.find_login("zhangwei").await.unwrap().unwrap();
    assert_eq!((l.failed_logins, l.locked_until), (1, None));
    let lock = at(900);
    store.record_login(zhang.id, false, Some(lock)).await.unwrap();
    let l = store.find_login("zhangwei").await.unwrap().unwrap();
    assert_eq!((l.failed_logins, l.locked_until), (2, Some(lock)));
    assert_eq!(store.find_login("admin").await.unwrap().unwrap().failed_logins, 0, "only that user");
    store.record_login(zhang.id, true, None).await.unwrap();
    let l = store.find_login("zhangwei").await.unwrap().unwrap();
    assert_eq!((l.failed_logins, l.locked_until), (0, None), "success resets");
    store.record_login(zhang.id, false, Some(lock)).await.unwrap();
    store.set_password(zhang.id, "$argon2id$new", &ev0()).await.unwrap();
    let l = store.find_login("zhangwei").await.unwrap().unwrap();
    assert_eq!((l.password_hash.as_deref(), l.failed_logins, l.locked_until), (Some("$argon2id$new"), 0, None), "a new password resets");

    // Sessions.
    let now = at(1000);
    store.create_session("hash-browser", zhang.id, SessionKind::Browser, None, now, Some(now + Duration::hours(8))).await.unwrap();
    store.create_session("hash-token", admin.id, SessionKind::ApiToken, Some("导入脚本"), now, None).await.unwrap();
    store.create_session("hash-short", zhang.id, SessionKind::Browser, None, now, Some(now + Duration::minutes(1))).await.unwrap();
    assert_eq!(store.session_user("hash-browser", now + Duration::minutes(5)).await.unwrap(), Some(zhang.clone()));
    assert_eq!(store.session_user("hash-token", now + Duration::days(3650)).await.unwrap(), Some(admin.clone()), "a token without expiry");
    assert_eq!(store.session_user("hash-short", now + Duration::seconds(59)).await.unwrap(), Some(zhang.clone()));
    assert_eq!(store.session_user("hash-short", now + Duration::minutes(1)).await.unwrap(), None, "expired at its expiry instant");
    assert_eq!(store.session_user("hash-browser", now + Duration::hours(9)).await.unwrap(), None, "expired");
    assert_eq!(store.session_user("hash-unknown", now).await.unwrap(), None);
    assert!(matches!(
        store.create_session("hash-browser", admin.id, SessionKind::Browser, None, now, None).await,
        Err(StoreError::Duplicate(_))
    ));
    assert_eq!(store.session_user("hash-browser", now).await.unwrap(), Some(zhang.clone()), "the existing session is unchanged");
    store.delete_session("hash-browser").await.unwrap();
    assert_eq!(store.session_user("hash-browser", now).await.unwrap(), None, "deleted");
    assert_eq!(store.session_user("hash-short", now).await.unwrap(), Some(zhang.clone()), "other sessions stay");
    store.delete_session("hash-browser").await.expect("deleting twice is fine");
}

// =============================================================================================
// 8. Bulk load
// =============================================================================================

async fn bulk_load(store: Arc<dyn Store>) {
    const N: u64 = 1000;
    let today = day(2026, 3, 2);
    let gen = DemoGenerator::new(20260302, today, vec![(1, 1)]);
    let demo: Vec<_> = gen.archives(0..N).collect();
    let created_at = |d: NaiveDate| Utc.from_utc_datetime(&d.and_hms_opt(1, 30, 0).unwrap()) + Duration::microseconds(d.ordinal() as i64);
    let batch: Vec<BulkArchive> = demo
        .iter()
        .map(|a| BulkArchive::new(a.data.clone(), created_at(a.created_on), a.contacts.clone(), a.entries.clone()).unwrap())
        .collect();
    let scheme = NumberScheme::default();
    // Two batches: the second continues the counters the first left.
    let split = 600;
    assert_eq!(store.bulk_load(batch[..split].to_vec(), &scheme, "", &ev(1, at(0))).await.unwrap(), split);
    assert_eq!(store.bulk_load(batch[split..].to_vec(), &scheme, "", &ev(1, at(0))).await.unwrap(), N as usize - split);
    assert_eq!(store.bulk_load(Vec::new(), &scheme, "", &ev(1, at(0))).await.unwrap(), 0);

    assert_eq!(store.count_archives(&ArchiveFilter::default()).await.unwrap(), N as i64);
    let rows = walk(store.as_ref(), &ArchiveFilter::default(), SortOrder::CreatedAsc, 250).await;
    assert_eq!(rows.len(), N as usize);

    // Archives come back in load order, numbered by their creation year, gapless per year.
    let mut per_year: BTreeMap<i32, u64> = BTreeMap::new();
    let (mut contacts, mut entries, mut closed) = (0, 0, 0);
    for (i, (row, a)) in rows.iter().zip(&demo).enumerate() {
        let year = a.created_on.year();
        let seq = per_year.entry(year).or_default();
        *seq += 1;
        assert_eq!(row.archive_no, format!("KH-{year}-{:06}", *seq), "archive {i}");
        let stored = store.get_archive(row.id).await.unwrap().unwrap();
        assert_eq!(stored.data, a.data, "archive {i}: document");
        assert_eq!((stored.version, stored.created_by, stored.created_at, stored.updated_at), (1, 1, created_at(a.created_on), created_at(a.created_on)), "archive {i}");
        let cs = store.list_contacts(row.id).await.unwrap();
        assert_eq!(cs.iter().map(|c| &c.data).collect::<Vec<_>>(), a.contacts.iter().collect::<Vec<_>>(), "archive {i}: contacts");
        let es = store.list_entries(row.id).await.unwrap();
        let mut expected: Vec<(usize, &EntryData)> = a.entries.iter().enumerate().collect();
        expected.sort_by(|x, y| (y.1.occurred_on, y.0).cmp(&(x.1.occurred_on, x.0)));
        assert_eq!(es.iter().map(|e| &e.data).collect::<Vec<_>>(), expected.iter().map(|(_, e)| *e).collect::<Vec<_>>(), "archive {i}: entries");
        assert!(es.iter().all(|e| e.superseded_by.is_none() && e.archive_id == row.id));
        if i % 50 == 0 {
            let v = store.list_versions(row.id).await.unwrap();
            assert_eq!(v.len(), 1, "archive {i}: one version");
            assert_version(&v[0], row.id, 1, &a.data, 1, created_at(a.created_on), None);
        }
        contacts += cs.len();
        entries += es.len();
        // Closed when loaded: the retention clock starts at the archive's creation here.
        if a.data.status == dangan_core::ArchiveStatus::Closed {
            closed += 1;
            let info = store.retention_info(row.id).await.unwrap();
            assert_eq!(info.closed_at, Some(created_at(a.created_on)), "archive {i}: closed at its creation");
            assert!(info.due_on.is_some() || a.data.retention_class == dangan_core::RetentionClass::Permanent, "archive {i}: {info:?}");
            if closed <= 5 {
                // The loader computes the due date from the batch; the store's own rule (run by
                // recording the same closing time) gives the same day.
                let again = store.set_closed_on(row.id, created_at(a.created_on), &ev(1, at(0))).await.unwrap();
                assert_eq!(again.due_on, info.due_on, "archive {i}: due date as the store's rule computes it");
            }
        }
    }
    assert!(closed > 0, "the demo has closed archives");
    assert_eq!(contacts, demo.iter().map(|a| a.contacts.len()).sum::<usize>());
    assert_eq!(entries, demo.iter().map(|a| a.entries.len()).sum::<usize>());
    assert!(per_year.len() >= 3, "the demo spreads over several years: {per_year:?}");
    assert_eq!(rows.iter().map(|r| &r.archive_no).collect::<HashSet<_>>().len(), N as usize, "numbers are unique");
    for (year, n) in &per_year {
        let f = ArchiveFilter { number_prefix: Some(format!("KH-{year}-")), ..Default::default() };
        assert_eq!(store.count_archives(&f).await.unwrap(), *n as i64, "{year}");
    }

    // A normal create continues each year's sequence without collision.
    let (&last_year, &last_n) = per_year.iter().next_back().unwrap();
    let (&first_year, &first_n) = per_year.iter().next().unwrap();
    let a = store.create_archive(&ArchiveData::new(CustomerKind::Person, "新客户"), &numbering(day(last_year, 1, 1)), &ev(1, at(0))).await.unwrap();
    assert_eq!(a.archive_no, format!("KH-{last_year}-{:06}", last_n + 1));
    let b = store.create_archive(&ArchiveData::new(CustomerKind::Person, "补录客户"), &numbering(day(first_year, 12, 31)), &ev(1, at(1))).await.unwrap();
    assert_eq!(b.archive_no, format!("KH-{first_year}-{:06}", first_n + 1));
    // A year the load did not touch starts at 1.
    let c = store.create_archive(&ArchiveData::new(CustomerKind::Person, "远古客户"), &numbering(day(1999, 1, 1)), &ev(1, at(2))).await.unwrap();
    assert_eq!(c.archive_no, "KH-1999-000001");

    // And a later bulk load continues after the single creates.
    let more: Vec<BulkArchive> = gen
        .archives(N..N + 20)
        .map(|x| BulkArchive::new(x.data, Utc.from_utc_datetime(&day(last_year, 1, 2).and_hms_opt(0, 0, 0).unwrap()), x.contacts, x.entries).unwrap())
        .collect();
    assert_eq!(store.bulk_load(more, &scheme, "", &ev(1, at(0))).await.unwrap(), 20);
    let f = ArchiveFilter { number_prefix: Some(format!("KH-{last_year}-")), ..Default::default() };
    let year_rows = walk(store.as_ref(), &f, SortOrder::CreatedAsc, 1000).await;
    assert_gapless(&format!("KH-{last_year}"), year_rows.iter().map(|r| seq_of(&r.archive_no, last_year)).collect());
    assert_eq!(year_rows.len() as u64, last_n + 1 + 20);
    assert_eq!(year_rows.last().unwrap().archive_no, format!("KH-{last_year}-{:06}", last_n + 21));
}

// =============================================================================================
// Borrowing register (借阅登记)
// =============================================================================================

async fn loans(store: Arc<dyn Store>) {
    let da = store.create_department("档案室", "DA", None, &ev0()).await.unwrap();
    let user = |name: &str, role: Role| NewUser { username: name.into(), display_name: name.into(), password_hash: None, dept_id: Some(da.id), roles: vec![role] };
    let archivist = store.create_user(&user("dangan", Role::Archivist), &ev(0, at(0))).await.unwrap();
    let alice = store.create_user(&user("alice", Role::Salesperson), &ev(0, at(0))).await.unwrap();
    let bob = store.create_user(&user("bob", Role::Salesperson), &ev(0, at(0))).await.unwrap();
    let archive = store.create_archive(&rich_person(), &numbering(day(2026, 3, 2)), &ev(archivist.id, at(0))).await.unwrap();

    let new = |borrower: i64, kind: LoanKind, due: DateTime<Utc>| NewLoan {
        archive_id: archive.id,
        borrower_id: borrower,
        kind,
        purpose: "合同核对".into(),
        lent_by: archivist.id,
        due_at: due,
        grant_id: None,
    };
    let l1 = store.create_loan(&new(alice.id, LoanKind::Paper, at(100)), &ev(1, at(10))).await.unwrap();
    let l2 = store.create_loan(&new(alice.id, LoanKind::Electronic, at(50)), &ev(1, at(10))).await.unwrap();
    let l3 = store.create_loan(&new(bob.id, LoanKind::Paper, at(500)), &ev(1, at(10))).await.unwrap();
    assert_eq!((l1.borrower_id, l1.kind, l1.lent_by, l1.lent_at, l1.due_at), (alice.id, LoanKind::Paper, archivist.id, at(10), at(100)));
    assert_eq!((l1.returned_at, l1.returned_complete, l1.checked_by, l1.return_note.as_str(), l1.grant_id), (None, None, None, "", None));
    assert_eq!(store.get_loan(l1.id).await.unwrap(), Some(l1.clone()));
    assert_eq!(store.get_loan(l3.id + 1000).await.unwrap(), None);

    let ids = |v: Vec<dangan_store::Loan>| v.into_iter().map(|l| l.id).collect::<Vec<_>>();
    let all = LoanQuery { limit: 100, ..Default::default() };
    assert_eq!(ids(store.list_loans(&all).await.unwrap()), vec![l2.id, l1.id, l3.id], "soonest due first");
    assert_eq!(ids(store.list_loans(&LoanQuery { borrower_id: Some(alice.id), ..all.clone() }).await.unwrap()), vec![l2.id, l1.id]);
    assert_eq!(ids(store.list_loans(&LoanQuery { overdue_at: Some(at(200)), ..all.clone() }).await.unwrap()), vec![l2.id, l1.id]);

    let r = store.return_loan(l2.id, false, "缺第3页", &ev(archivist.id, at(300))).await.unwrap();
    assert_eq!((r.returned_at, r.returned_complete, r.checked_by, r.return_note.as_str()), (Some(at(300)), Some(false), Some(archivist.id), "缺第3页"));
    assert!(matches!(store.return_loan(l2.id, true, "", &ev(archivist.id, at(400))).await, Err(StoreError::Conflict { .. })), "returned twice");
    assert!(matches!(store.return_loan(l3.id + 1000, true, "", &ev(archivist.id, at(400))).await, Err(StoreError::NotFound)));
    assert_eq!(store.get_loan(l2.id).await.unwrap(), Some(r), "the second return changed nothing");

    assert_eq!(ids(store.list_loans(&LoanQuery { open_only: true, ..all.clone() }).await.unwrap()), vec![l1.id, l3.id]);
    assert_eq!(ids(store.list_loans(&LoanQuery { overdue_at: Some(at(200)), ..all.clone() }).await.unwrap()), vec![l1.id], "a returned loan is not overdue");
    assert_eq!(ids(store.list_loans(&all).await.unwrap()).len(), 3, "returned loans stay in the register");
}

/// The audit event a write carries (the stores append it to the trail in the same transaction).
/// Review due (定期审查): a large book's walk (each grade from its review-order index, merged) and a
/// small book's (the filter's archives, sorted) give the model's order — due = creation minus the
/// grade's cutoff, ties by id — for every limit, with and without a filter; closed archives and
/// archives reviewed since their cutoff are not due.
async fn review_due_walks(store: Arc<dyn Store>) {
    let e = store.engine();
    let grades = [Some(Grade::A), Some(Grade::B), Some(Grade::C), None, Some(Grade::D)];
    let mut made = Vec::new();
    for i in 0..30i64 {
        let mut d = ArchiveData::new(CustomerKind::Person, format!("审查{i:02}"));
        d.classification.grade = grades[i as usize % grades.len()];
        d.owner_id = Some(5 + i % 2);
        d.tier = Tier::Personal;
        d.status = if i % 11 == 4 { ArchiveStatus::Closed } else { ArchiveStatus::Active };
        // Pairs share a creation instant: ties are broken by id.
        let created = at(10 * (i / 2));
        let a = store.create_archive(&d, &numbering(day(2026, 3, 2)), &ev(5, created)).await.unwrap();
        made.push((a.id, d.classification.grade, d.owner_id, d.status, created));
    }
    let reviewed = made[7].0;
    store.mark_reviewed(reviewed, &ev(5, at(500))).await.unwrap();
    let cutoffs = vec![(Some(Grade::A), at(120)), (Some(Grade::B), at(60)), (Some(Grade::C), at(150)), (Some(Grade::D), at(90)), (None, at(30))];
    let mine = ArchiveFilter { owner_id: Some(5), ..Default::default() };
    for filter in [ArchiveFilter::default(), mine.clone()] {
        let mut model: Vec<(i64, i64)> = made
            .iter()
            .filter(|(id, _, owner, status, _)| *id != reviewed && !matches!(status, ArchiveStatus::Closed) && filter.owner_id.is_none_or(|o| Some(o) == *owner))
            .filter_map(|(id, grade, _, _, created)| {
                let cutoff = cutoffs.iter().find(|(g, _)| g == grade).unwrap().1;
                (*created < cutoff).then(|| ((*created - cutoff).num_seconds(), *id))
            })
            .collect();
        model.sort();
        let want: Vec<i64> = model.iter().map(|m| m.1).collect();
        assert!(want.len() >= 6, "[{e:?}] the fixture has reviews due: {want:?}");
        for limit in 1..=want.len() as u32 + 1 {
            for large_book in [false, true] {
                let got: Vec<i64> = store.review_due(&filter, &cutoffs, limit, large_book).await.unwrap().into_iter().map(|r| r.archive.id).collect();
                let expected: Vec<i64> = want.iter().copied().take(limit as usize).collect();
                assert_eq!(got, expected, "[{e:?}] owner {:?}, limit {limit}, large book {large_book}", filter.owner_id);
            }
        }
        assert_eq!(store.count_review_due(&filter, &cutoffs, None).await.unwrap(), want.len() as i64, "[{e:?}]");
    }
}

fn ev(actor: i64, at: DateTime<Utc>) -> AuditEvent {
    let mut e = AuditEvent::new(AuditAction::ArchiveUpdate, at);
    e.user_id = Some(actor);
    e.username = format!("user{actor}");
    e
}

fn ev0() -> AuditEvent {
    ev(0, Utc::now())
}

/// Policy settings: none stored at first (version 0), each change bumps the version and appends
/// its audit record in the same transaction, a change based on a stale version is refused and
/// writes nothing, and concurrent changes based on the same version let exactly one through.
async fn policy_settings(store: Arc<dyn Store>) {
    let admin = store.create_user(&NewUser { username: "admin".into(), display_name: "管理员".into(), password_hash: None, dept_id: None, roles: vec![Role::SystemAdmin] }, &ev0()).await.unwrap();
    assert_eq!(store.policy_version().await.unwrap(), 0);
    assert!(store.policy_settings().await.unwrap().is_none(), "no settings stored before the first change");
    let seq_before = store.audit_head().await.unwrap().map_or(0, |r| r.seq);

    let mut e = AuditEvent::new(AuditAction::PolicyChange, at(1000));
    e.user_id = Some(admin.id);
    let v1 = store.put_policy_settings(0, r#"{"grant_max_hours":48}"#, admin.id, &e.clone().with_detail(serde_json::json!({"n": 1}))).await.unwrap();
    assert_eq!(v1, 1);
    assert_eq!(store.policy_version().await.unwrap(), 1);
    let row = store.policy_settings().await.unwrap().expect("stored");
    assert_eq!((row.version, row.data.as_str(), row.updated_by, row.updated_at), (1, r#"{"grant_max_hours":48}"#, Some(admin.id), at(1000)));
    let head = store.audit_head().await.unwrap().expect("audited");
    assert_eq!((head.seq, head.event.action, head.event.detail.as_str()), (seq_before + 1, AuditAction::PolicyChange, r#"{"n":1}"#), "one record, in the same transaction");

    // Stale: based on version 0 again.
    match store.put_policy_settings(0, r#"{"grant_max_hours":1}"#, admin.id, &e).await {
        Err(StoreError::Conflict { current }) => assert_eq!(current, 1),
        other => panic!("a stale change must be refused: {other:?}"),
    }
    assert_eq!(store.policy_settings().await.unwrap().unwrap().data, r#"{"grant_max_hours":48}"#, "nothing written");
    assert_eq!(store.audit_head().await.unwrap().unwrap().seq, seq_before + 1, "a refused change is not in the trail");

    // Eight changes based on version 1 at once: one wins.
    let results = futures::future::join_all((0..8).map(|i| {
        let (store, e) = (store.clone(), e.clone());
        async move { store.put_policy_settings(1, &format!(r#"{{"grant_max_hours":{}}}"#, 10 + i), admin.id, &e).await }
    }))
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "exactly one concurrent change wins: {results:?}");
    assert!(results.iter().all(|r| matches!(r, Ok(2) | Err(StoreError::Conflict { current: 2 }))), "{results:?}");
    assert_eq!(store.policy_version().await.unwrap(), 2);
    assert_eq!(store.audit_head().await.unwrap().unwrap().seq, seq_before + 2);
}

// ======================================================================================// Keeping archives alive: indexed dates, reviews, the pool's query, transfers (all or nothing)
// ======================================================================================
async fn lifecycle_dates_and_transfers(store: Arc<dyn Store>) {
    use dangan_core::lifecycle::DateKind;
    use dangan_store::lifecycle::{ArchiveChange, DueDatesQuery, DueOrder, Transfer};
    let e = store.engine();
    let n = numbering(day(2026, 3, 2));
    let mut a = rich_person();
    a.person.as_mut().unwrap().birth_date = Some(day(1990, 4, 12));
    a.credit.valid_until = Some(day(2026, 3, 31));
    a.owner_id = Some(5);
    a.tier = Tier::Personal;
    a.classification.grade = Some(Grade::D);
    let x = store.create_archive(&a, &n, &ev(5, at(0))).await.unwrap();
    let mut b = rich_organization();
    b.owner_id = Some(5);
    b.tier = Tier::Personal;
    b.classification.grade = Some(Grade::D);
    let y = store.create_archive(&b, &n, &ev(5, at(1))).await.unwrap();
    // A contact's birthday and a planned visit arrive later (contacts, timeline).
    store.add_contact(x.id, &ContactData { birthday: Some(day(1985, 4, 20)), ..contact("李娜", None, false) }, &ev(5, at(2))).await.unwrap();
    let mut visit = entry(EntryKind::Visit, day(2026, 1, 5), "拜访");
    visit.details.next_action_on = Some(day(2026, 3, 6));
    store.add_entry(x.id, &visit, &ev(5, at(3))).await.unwrap();

    let q = DueDatesQuery {
        filter: ArchiveFilter::default(),
        date_ranges: vec![(DateKind::CreditValidUntil, None, day(2026, 4, 1)), (DateKind::PlannedVisit, None, day(2026, 3, 9))],
        month_day_ranges: vec![(DateKind::Birthday, 401, 430), (DateKind::ContactBirthday, 401, 430)],
        num_below: vec![],
        order: DueOrder::OnDate,
        limit: 100,
        from_dates: false,
        count_cap: None,
    };
    let due = store.due_dates(&q).await.unwrap();
    let mut got: Vec<(i64, DateKind, Option<NaiveDate>, String)> = due.iter().map(|d| (d.archive.id, d.date.kind, d.date.on, d.date.label.clone())).collect();
    got.sort();
    let mut want = vec![
        (x.id, DateKind::Birthday, Some(day(1990, 4, 12)), String::new()),
        (x.id, DateKind::ContactBirthday, Some(day(1985, 4, 20)), "李娜".to_string()),
        (x.id, DateKind::CreditValidUntil, Some(day(2026, 3, 31)), String::new()),
        (x.id, DateKind::PlannedVisit, Some(day(2026, 3, 6)), "拜访".to_string()),
    ];
    want.sort();
    assert_eq!(got, want, "[{e:?}] dates from the document, contacts and timeline");
    // The scope applies: nothing for a scope that admits nothing.
    let none = DueDatesQuery { filter: ArchiveFilter { scope: Some(dangan_core::policy::ListScope::nothing()), ..Default::default() }, ..q.clone() };
    assert!(store.due_dates(&none).await.unwrap().is_empty(), "[{e:?}] scoped");
    // The counts: per kind, credit split at the day (expired before it, valid from it).
    let mut counts: Vec<(DateKind, bool, i64)> = store.count_due_dates(&q, day(2026, 4, 1)).await.unwrap().into_iter().map(|c| (c.kind, c.before_day, c.count)).collect();
    counts.sort();
    let mut expected = vec![(DateKind::Birthday, true, 1), (DateKind::ContactBirthday, true, 1), (DateKind::CreditValidUntil, true, 1), (DateKind::PlannedVisit, true, 1)];
    expected.sort();
    assert_eq!(counts, expected, "[{e:?}]");
    assert!(store.count_due_dates(&none, day(2026, 4, 1)).await.unwrap().is_empty(), "[{e:?}] counts are scoped too");
    // A large book's reads: an owner's dates from the date index, a window at a time, give the
    // same dates; capped counts split a date range at the day, as the exact ones do.
    let mine = ArchiveFilter { owner_id: Some(5), ..Default::default() };
    let mut from_dates = Vec::new();
    for w in q.date_ranges.iter().map(|r| DueDatesQuery { date_ranges: vec![*r], month_day_ranges: vec![], ..q.clone() }).chain(q.month_day_ranges.iter().map(|r| DueDatesQuery { date_ranges: vec![], month_day_ranges: vec![*r], ..q.clone() })) {
        let w = DueDatesQuery { filter: mine.clone(), from_dates: true, ..w };
        from_dates.extend(store.due_dates(&w).await.unwrap().iter().map(|d| (d.archive.id, d.date.kind, d.date.on, d.date.label.clone())));
    }
    from_dates.sort();
    assert_eq!(from_dates, want, "[{e:?}] from the date index, a window at a time");
    let capped = DueDatesQuery { filter: mine.clone(), from_dates: true, count_cap: Some(1), ..q.clone() };
    let mut counts: Vec<(DateKind, bool, i64)> = store.count_due_dates(&capped, day(2026, 3, 31)).await.unwrap().into_iter().map(|c| (c.kind, c.before_day, c.count)).collect();
    counts.sort();
    let mut expected = vec![(DateKind::Birthday, true, 1), (DateKind::ContactBirthday, true, 1), (DateKind::CreditValidUntil, false, 1), (DateKind::PlannedVisit, true, 1)];
    expected.sort();
    assert_eq!(counts, expected, "[{e:?}] capped counts, credit valid from the day on");
    assert_eq!(store.count_archives_upto(&mine, 1).await.unwrap(), 1, "[{e:?}] a count stops at its cap");
    assert_eq!(store.count_archives_upto(&mine, 10).await.unwrap(), 2, "[{e:?}]");
    // Birthdays in next-anniversary order from a month-day: 4-20 before 4-12 when counting from 4-15.
    let birthdays = DueDatesQuery { date_ranges: vec![], order: DueOrder::NextAnniversaryFrom(415), limit: 1, ..q.clone() };
    let first = store.due_dates(&birthdays).await.unwrap();
    assert_eq!(first.iter().map(|d| d.date.kind).collect::<Vec<_>>(), vec![DateKind::ContactBirthday], "[{e:?}] the 20th comes first from the 15th");
    let first = store.due_dates(&DueDatesQuery { order: DueOrder::NextAnniversaryFrom(401), ..birthdays.clone() }).await.unwrap();
    assert_eq!(first.iter().map(|d| d.date.kind).collect::<Vec<_>>(), vec![DateKind::Birthday], "[{e:?}] the 12th comes first from the 1st");

    // Review: due before the review, not after it.
    let cutoffs = vec![(Some(Grade::D), at(100))];
    let ids = |v: Vec<dangan_store::lifecycle::ReviewDue>| v.into_iter().map(|r| r.archive.id).collect::<Vec<_>>();
    assert_eq!(ids(store.review_due(&ArchiveFilter::default(), &cutoffs, 10, false).await.unwrap()), vec![x.id, y.id], "[{e:?}]");
    assert_eq!(store.count_review_due(&ArchiveFilter::default(), &cutoffs, None).await.unwrap(), 2, "[{e:?}]");
    assert_eq!(store.count_review_due(&ArchiveFilter::default(), &cutoffs, Some(1)).await.unwrap(), 1, "[{e:?}] capped");
    store.mark_reviewed(x.id, &ev(5, at(200))).await.unwrap();
    assert_eq!(ids(store.review_due(&ArchiveFilter::default(), &cutoffs, 10, false).await.unwrap()), vec![y.id], "[{e:?}] reviewed");
    assert_eq!(store.count_review_due(&ArchiveFilter::default(), &cutoffs, None).await.unwrap(), 1, "[{e:?}]");

    // The pool's query: x was followed up on 2026-01-05, y never (created 2026-03-02).
    let overdue = store.follow_up_overdue(&vec![(Some(Grade::D), day(2026, 2, 1))], 10).await.unwrap();
    assert_eq!(overdue.iter().map(|o| o.id).collect::<Vec<_>>(), vec![x.id], "[{e:?}] last follow-up before the cutoff");

    // A transfer is all or nothing: a stale version in it leaves the other archive unchanged.
    let xv = store.get_archive(x.id).await.unwrap().unwrap();
    let yv = store.get_archive(y.id).await.unwrap().unwrap();
    let mut xd = xv.data.clone();
    xd.owner_id = None;
    xd.tier = Tier::Department;
    let mut yd = yv.data.clone();
    yd.owner_id = Some(6);
    let t = Transfer {
        changes: vec![
            ArchiveChange { id: x.id, expected_version: xv.version, data: xd.clone(), reason: Some("退回公海".into()), audit: ev(0, at(300)) },
            ArchiveChange { id: y.id, expected_version: yv.version + 7, data: yd.clone(), reason: None, audit: ev(0, at(300)) },
        ],
        ..Default::default()
    };
    assert!(matches!(store.transfer(&t).await, Err(StoreError::Conflict { .. })), "[{e:?}] stale version refused");
    assert_eq!(store.get_archive(x.id).await.unwrap().unwrap(), xv, "[{e:?}] nothing of the transfer was written");
    let t = Transfer { changes: vec![ArchiveChange { expected_version: yv.version, ..t.changes[1].clone() }, t.changes[0].clone()], ..Default::default() };
    store.transfer(&t).await.unwrap();
    assert_eq!(store.get_archive(x.id).await.unwrap().unwrap().data.owner_id, None, "[{e:?}]");
    assert_eq!(store.get_archive(y.id).await.unwrap().unwrap().data.owner_id, Some(6), "[{e:?}]");
    assert_eq!(store.list_versions(x.id).await.unwrap().len() as i64, xv.version + 1, "[{e:?}] a new version, the old one kept");
    // The dates moved with the document (still indexed after the version change).
    assert_eq!(store.due_dates(&q).await.unwrap().len(), 4, "[{e:?}]");
}

/// Checklists (材料清单): marks are appended in order with their audit record in the same
/// transaction and can never be changed or deleted (the database refuses); marks are read per
/// archive set in order; the settings row behaves like the policy row (versioned, stale refused);
/// the report's archive query honours the creation date, merged archives and the list scope.
async fn checklists(store: Arc<dyn Store>) {
    use dangan_core::checklist::MarkAction;
    use dangan_core::policy::ListScope;
    use dangan_store::NewMark;

    let clerk = store.create_user(&NewUser { username: "clerk".into(), display_name: "档案员".into(), password_hash: None, dept_id: None, roles: vec![Role::Archivist] }, &ev0()).await.unwrap();
    let n = numbering(day(2026, 3, 2));
    let mut owned = rich_person();
    owned.tier = Tier::Personal;
    owned.owner_id = Some(clerk.id);
    owned.secrecy = Secrecy::Normal;
    let old = store.create_archive(&rich_organization(), &n, &ev(clerk.id, at(0))).await.unwrap();
    let a = store.create_archive(&owned, &n, &ev(clerk.id, at(86_400 * 10))).await.unwrap();
    let mut company = rich_organization();
    company.tier = Tier::Company;
    company.secrecy = Secrecy::Normal;
    let b = store.create_archive(&company, &n, &ev(clerk.id, at(86_400 * 20))).await.unwrap();
    let att = store
        .add_attachment(&NewAttachment { archive_id: a.id, sha256: "ab".repeat(32), filename: "发票.pdf".into(), content_type: "application/pdf".into(), size: 10, created_by: clerk.id, created_at: at(86_400 * 11) }, &ev(clerk.id, at(86_400 * 11)))
        .await
        .unwrap();

    assert!(store.checklist_marks(&[a.id, b.id]).await.unwrap().is_empty());
    let seq_before = store.audit_head().await.unwrap().unwrap().seq;
    let mark = |archive_id: i64, item: &str, action: MarkAction, attachment_id: Option<i64>, secs: i64| NewMark {
        archive_id,
        checklist: "person_basic".into(),
        item: item.into(),
        action,
        attachment_id,
        note: format!("备注{secs}"),
        created_by: clerk.id,
        created_at: at(secs) + Duration::nanoseconds(999),
    };
    let mut e = AuditEvent::new(AuditAction::ChecklistMark, at(100));
    e.user_id = Some(clerk.id);
    let m1 = store.add_checklist_mark(&mark(a.id, "id_copy", MarkAction::Received, None, 100), &e).await.unwrap();
    assert_eq!((m1.archive_id, m1.item.as_str(), m1.action, m1.note.as_str(), m1.created_at), (a.id, "id_copy", MarkAction::Received, "备注100", at(100)));
    let head = store.audit_head().await.unwrap().unwrap();
    assert_eq!((head.seq, head.event.action, head.event.archive_id, head.event.archive_no.as_str()), (seq_before + 1, AuditAction::ChecklistMark, Some(a.id), a.archive_no.as_str()), "audited in the same transaction, naming the archive");
    let m2 = store.add_checklist_mark(&mark(b.id, "info_card", MarkAction::Received, None, 101), &e).await.unwrap();
    let m3 = store.add_checklist_mark(&mark(a.id, "info_card", MarkAction::Attached, Some(att.id), 102), &e).await.unwrap();
    let m4 = store.add_checklist_mark(&mark(a.id, "id_copy", MarkAction::Withdrawn, None, 103), &e).await.unwrap();
    assert!(m1.id < m2.id && m2.id < m3.id && m3.id < m4.id);
    assert_eq!(store.checklist_marks(&[a.id]).await.unwrap(), vec![m1.clone(), m3.clone(), m4.clone()], "in order, the archive's only");
    assert_eq!(store.checklist_marks(&[a.id, b.id]).await.unwrap(), vec![m1.clone(), m2.clone(), m3.clone(), m4.clone()]);
    assert_eq!(store.checklist_marks(&[a.id]).await.unwrap()[1].attachment_id, Some(att.id));
    // An unknown archive: nothing appended, nothing audited.
    let seq = store.audit_head().await.unwrap().unwrap().seq;
    assert!(matches!(store.add_checklist_mark(&mark(a.id + 1000, "id_copy", MarkAction::Received, None, 104), &e).await, Err(StoreError::NotFound)));
    assert_eq!(store.audit_head().await.unwrap().unwrap().seq, seq);
    assert_eq!(store.checklist_marks(&[a.id, b.id]).await.unwrap().len(), 4);

    assert!(store.add_checklist_mark(&mark(a.id, "x", MarkAction::Received, Some(att.id + 1000), 105), &e).await.is_err(), "an attachment that does not exist is refused by the foreign key");

    // Settings: version 0 until stored, then like the policy row.
    assert!(store.checklist_settings().await.unwrap().is_none());
    let mut se = AuditEvent::new(AuditAction::ChecklistSettingsChange, at(200));
    se.user_id = Some(clerk.id);
    assert_eq!(store.put_checklist_settings(0, r#"{"default_deadline_days":5}"#, clerk.id, &se).await.unwrap(), 1);
    let row = store.checklist_settings().await.unwrap().unwrap();
    assert_eq!((row.version, row.data.as_str(), row.updated_by, row.updated_at), (1, r#"{"default_deadline_days":5}"#, Some(clerk.id), at(200)));
    assert_eq!(store.audit_head().await.unwrap().unwrap().event.action, AuditAction::ChecklistSettingsChange);
    assert!(matches!(store.put_checklist_settings(0, "{}", clerk.id, &se).await, Err(StoreError::Conflict { current: 1 })));
    assert_eq!(store.put_checklist_settings(1, r#"{"default_deadline_days":2}"#, clerk.id, &se).await.unwrap(), 2);
    assert_eq!(store.policy_settings().await.unwrap(), None, "the policy row is another row");

    // The report's archives: created since, newest first, scoped.
    let ids = |v: Vec<Archive>| v.into_iter().map(|x| x.id).collect::<Vec<_>>();
    assert_eq!(ids(store.checklist_archives(None, at(0), 100).await.unwrap()), vec![b.id, a.id, old.id]);
    assert_eq!(ids(store.checklist_archives(None, at(86_400 * 10), 100).await.unwrap()), vec![b.id, a.id], "created at the bound counts");
    assert_eq!(ids(store.checklist_archives(None, at(0), 2).await.unwrap()), vec![b.id, a.id], "limited to the newest");
    let own = ListScope { owner: Some(clerk.id), ..ListScope::default() };
    assert_eq!(ids(store.checklist_archives(Some(&own), at(0), 100).await.unwrap()), vec![a.id], "the owner's personal archive only");
    let comp = ListScope { company: true, ..ListScope::default() };
    assert_eq!(ids(store.checklist_archives(Some(&comp), at(0), 100).await.unwrap()), vec![b.id]);
    assert!(store.checklist_archives(Some(&ListScope::nothing()), at(0), 100).await.unwrap().is_empty());
    let full = store.checklist_archives(Some(&own), at(0), 100).await.unwrap();
    assert_eq!(full[0], store.get_archive(a.id).await.unwrap().unwrap(), "whole archives, as get_archive reads them");
}

/// Retention and destruction (issue 7): closing records the trigger and the due date (contract
/// end pushes it), the due list, legal hold, one open request per archive, the state machine's
/// steps with stale steps refused, execution purging every part and keeping the tombstone, the
/// files no other row uses, a merged tombstone purged with its survivor, consents and personal-
/// information requests.
async fn retention_and_destruction(store: Arc<dyn Store>) {
    use dangan_core::retention::{ConsentData, DestructionStatus, DestructionStep, PiplKind, PiplStatus};
    use dangan_core::checklist::MarkAction;
    use dangan_store::lifecycle::{ArchiveChange, Transfer};
    use dangan_store::{NewDestruction, NewMark, NewPiplRequest, PiplClose};
    let da = store.create_department("档案室", "DA", None, &ev0()).await.unwrap();
    let user = |name: &str, role: Role| NewUser { username: name.into(), display_name: name.into(), password_hash: None, dept_id: Some(da.id), roles: vec![role] };
    let archivist = store.create_user(&user("dangan", Role::Archivist), &ev0()).await.unwrap();
    let gm = store.create_user(&user("gm", Role::GeneralManager), &ev0()).await.unwrap();
    let witness = store.create_user(&user("kefu", Role::ServiceStaff), &ev0()).await.unwrap();

    let mut d = rich_person();
    d.retention_class = RetentionClass::Y10;
    let a = store.create_archive(&d, &numbering(day(2015, 1, 5)), &ev(archivist.id, at(0))).await.unwrap();
    let info = store.retention_info(a.id).await.unwrap();
    assert_eq!((info.closed_at, info.due_on, info.legal_hold.is_none(), info.destroyed_at), (None, None, true, None), "open: no trigger");
    // A contract ending after the closing pushes the due date.
    let mut contract = entry(EntryKind::Contract, day(2015, 6, 1), "年度合同");
    contract.details.end_date = Some(day(2016, 5, 31));
    store.add_entry(a.id, &contract, &ev(archivist.id, at(1))).await.unwrap();
    store.add_contact(a.id, &contact("联系人", Some("13900001111"), true), &ev(archivist.id, at(1))).await.unwrap();
    let att = |archive_id: i64, sha: &str| NewAttachment { archive_id, sha256: sha.into(), filename: "a.pdf".into(), content_type: "application/pdf".into(), size: 10, created_by: archivist.id, created_at: at(2) };
    let sha_own = "aa".repeat(32);
    let sha_shared = "bb".repeat(32);
    store.add_attachment(&att(a.id, &sha_own), &ev(archivist.id, at(2))).await.unwrap();
    store.add_attachment(&att(a.id, &sha_shared), &ev(archivist.id, at(2))).await.unwrap();
    d.status = ArchiveStatus::Closed;
    let a = store.update_archive(a.id, 1, &d, None, &ev(archivist.id, at(3))).await.unwrap();
    let info = store.retention_info(a.id).await.unwrap();
    assert_eq!(info.closed_at, Some(at(3)), "closing is the trigger");
    assert_eq!(info.due_on, Some(day(2036, 3, 2)), "10 years after closing (later than the contract end)");
    let info = store.set_closed_on(a.id, at(0) - Duration::days(365 * 12), &ev(archivist.id, at(4))).await.unwrap();
    assert_eq!(info.due_on, Some(day(2026, 5, 31)), "closed in 2014: the contract end (2016-05-31) is the later trigger");

    // Another archive sharing a file, a merged tombstone of A, and a permanent one.
    let mut other = rich_organization();
    other.status = ArchiveStatus::Closed;
    other.retention_class = RetentionClass::Y30;
    let b = store.create_archive(&other, &numbering(day(2015, 1, 5)), &ev(archivist.id, at(5))).await.unwrap();
    store.add_attachment(&att(b.id, &sha_shared), &ev(archivist.id, at(5))).await.unwrap();
    assert!(store.retention_info(b.id).await.unwrap().due_on.is_some(), "created closed: due from its creation");
    let mut twin = rich_person();
    twin.name = "张三丰（重复）".into();
    let t = store.create_archive(&twin, &numbering(day(2015, 1, 5)), &ev(archivist.id, at(6))).await.unwrap();
    store.add_contact(t.id, &contact("重复联系人", Some("13900002222"), false), &ev(archivist.id, at(6))).await.unwrap();
    let merged = store
        .merge_archives(&dangan_store::MergeRequest { survivor_id: a.id, survivor_version: a.version, merged_id: t.id, merged_version: t.version, data: d.clone(), reason: "重复".into() }, &ev(archivist.id, at(7)))
        .await
        .unwrap();
    let mut perm = rich_person();
    perm.name = "永久保管".into();
    perm.status = ArchiveStatus::Closed;
    perm.retention_class = RetentionClass::Permanent;
    let p = store.create_archive(&perm, &numbering(day(2015, 1, 5)), &ev(archivist.id, at(8))).await.unwrap();
    assert_eq!(store.retention_info(p.id).await.unwrap().due_on, None, "permanent: never due");

    let due = |today: NaiveDate| {
        let store = store.clone();
        async move { store.disposal_due(today, None, 100).await.unwrap().into_iter().map(|x| x.archive.id).collect::<Vec<_>>() }
    };
    assert_eq!(due(day(2026, 5, 30)).await, Vec::<i64>::new(), "not due the day before");
    assert_eq!(due(day(2026, 5, 31)).await, vec![a.id]);
    assert!(due(day(2060, 1, 1)).await.contains(&b.id) && !due(day(2060, 1, 1)).await.contains(&p.id));
    let page = store.disposal_due(day(2060, 1, 1), Some((day(2026, 5, 31), a.id)), 100).await.unwrap();
    assert!(page.iter().all(|x| x.archive.id != a.id), "keyset: after A");

    // Legal hold: off the list, filing refused.
    let held = store.set_legal_hold(a.id, Some("诉讼保全"), &ev(archivist.id, at(9))).await.unwrap();
    assert_eq!(held.legal_hold.as_ref().map(|h| (h.reason.as_str(), h.by, h.at)), Some(("诉讼保全", archivist.id, at(9))));
    assert_eq!(due(day(2030, 1, 1)).await, Vec::<i64>::new(), "held: off the list");
    let new = |ids: Vec<i64>| NewDestruction {
        requester_id: archivist.id,
        reason: "保管期限已满".into(),
        appraisal: "无保存价值".into(),
        method: "电子数据删除".into(),
        witness_id: witness.id,
        chain: vec![DestructionStep::GeneralManager],
        archive_ids: ids,
        pipl_request_id: None,
    };
    assert!(matches!(store.create_destruction(&new(vec![a.id]), &ev(archivist.id, at(10))).await, Err(StoreError::Conflict { .. })), "held");
    store.set_legal_hold(a.id, None, &ev(archivist.id, at(11))).await.unwrap();

    // Concurrent filings for the same archive (two archivists, two servers): exactly one wins.
    let mut race = rich_person();
    race.name = "并发测试".into();
    race.status = ArchiveStatus::Closed;
    let q = store.create_archive(&race, &numbering(day(2015, 1, 5)), &ev(archivist.id, at(11))).await.unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let (store, n) = (store.clone(), new(vec![q.id]));
            tokio::spawn(async move { store.create_destruction(&n, &ev(1, at(11))).await })
        })
        .collect();
    let mut won = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(r) => won.push(r.id),
            Err(StoreError::Conflict { .. }) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one open request per archive: {won:?}");
    store.cancel_destruction(won[0], &ev(archivist.id, at(11))).await.unwrap();

    let r = store.create_destruction(&new(vec![a.id]), &ev(archivist.id, at(12))).await.unwrap();
    assert_eq!((r.status, r.step, r.items.len(), r.items[0].name.as_str()), (DestructionStatus::Pending, 0, 1, d.name.as_str()));
    assert_eq!(r.items[0].due_on, Some(day(2026, 5, 31)));
    assert_eq!(store.retention_info(a.id).await.unwrap().open_destruction_id, Some(r.id));
    assert!(matches!(store.create_destruction(&new(vec![a.id]), &ev(archivist.id, at(12))).await, Err(StoreError::Conflict { .. })), "one open request per archive");
    assert!(matches!(store.execute_destruction(r.id, witness.id, &ev(witness.id, at(13))).await, Err(StoreError::Conflict { .. })), "not approved yet");
    let r = store.decide_destruction(r.id, 0, gm.id, true, "同意", &ev(gm.id, at(14))).await.unwrap();
    assert_eq!(r.status, DestructionStatus::Approved);
    assert_eq!(r.decisions.len(), 1);
    assert!(matches!(store.decide_destruction(r.id, 0, gm.id, true, "", &ev(gm.id, at(15))).await, Err(StoreError::Conflict { .. })), "decided already");
    assert!(matches!(store.execute_destruction(r.id, gm.id, &ev(gm.id, at(16))).await, Err(StoreError::Conflict { .. })), "not the witness");
    store.set_legal_hold(a.id, Some("稽查"), &ev(archivist.id, at(16))).await.unwrap();
    assert!(matches!(store.execute_destruction(r.id, witness.id, &ev(witness.id, at(17))).await, Err(StoreError::Conflict { .. })), "held meanwhile");
    store.set_legal_hold(a.id, None, &ev(archivist.id, at(17))).await.unwrap();
    // Checklist marks (one naming a scan of A, one with a note) and a handover list naming A:
    // the purge takes the marks (append-only until then) and the list keeps only A's number.
    let scan = store.list_attachments(a.id).await.unwrap().iter().find(|x| x.sha256 == sha_own).unwrap().id;
    for (action, attachment_id) in [(MarkAction::Attached, Some(scan)), (MarkAction::Received, None)] {
        let m = NewMark { archive_id: a.id, checklist: "person_basic".into(), item: "info_card".into(), action, attachment_id, note: format!("{} 的原件", d.name), created_by: archivist.id, created_at: at(17) };
        store.add_checklist_mark(&m, &ev(archivist.id, at(17))).await.unwrap();
    }
    let now_a = store.get_archive(a.id).await.unwrap().unwrap();
    let mut handed = now_a.data.clone();
    handed.owner_id = Some(archivist.id);
    let change = ArchiveChange { id: a.id, expected_version: now_a.version, data: handed, reason: Some("离职交接".into()), audit: ev(archivist.id, at(17)) };
    let handover = Transfer { changes: vec![change], handover: Some((witness.id, archivist.id, at(17), String::new())), ..Default::default() };
    let handover_id = store.transfer(&handover).await.unwrap().handover_id.unwrap();
    assert_eq!(store.get_handover(handover_id).await.unwrap().unwrap().items[0].name, d.name);
    let seq_before = store.audit_head().await.unwrap().unwrap().seq;
    let out = store.execute_destruction(r.id, witness.id, &ev(witness.id, at(18))).await.unwrap();
    assert!(store.checklist_marks(&[a.id]).await.unwrap().is_empty(), "checklist marks purged");
    let list = store.get_handover(handover_id).await.unwrap().unwrap();
    assert_eq!((list.items[0].archive_no.as_str(), list.items[0].name.as_str()), (a.archive_no.as_str(), ""), "the handover list keeps the number only");
    assert_eq!(out.request.status, DestructionStatus::Destroyed);
    assert_eq!(out.request.register_no.as_deref(), Some(format!("XH-2026-{:05}", r.id).as_str()));
    assert_eq!(out.request.items[0].name, "", "the register line keeps no name");
    assert_eq!(out.orphaned_files, vec![sha_own.clone()], "the shared file is still used by B");
    assert_eq!(store.audit_head().await.unwrap().unwrap().seq, seq_before + 2, "execute + one archive.destroy, in the same transaction");
    for id in [a.id, t.id] {
        assert!(store.list_contacts(id).await.unwrap().is_empty(), "contacts of {id}");
        assert!(store.list_entries(id).await.unwrap().is_empty(), "entries of {id}");
        assert!(store.list_attachments(id).await.unwrap().is_empty(), "attachments of {id}");
        assert!(store.dedup_keys(id).await.unwrap().is_empty(), "keys of {id}");
        let v = store.list_versions(id).await.unwrap();
        assert_eq!(v.len(), 1, "only the tombstone document of {id}");
        assert_eq!(v[0].data.name, "");
        let tomb = store.get_archive(id).await.unwrap().unwrap();
        assert!(tomb.destroyed_at.is_some() && tomb.data.name.is_empty() && tomb.data.person.is_none(), "{tomb:?}");
    }
    assert!(merged.moved_contacts >= 1);
    assert!(store.attachment_referenced(&sha_shared).await.unwrap() && !store.attachment_referenced(&sha_own).await.unwrap());
    let info = store.retention_info(a.id).await.unwrap();
    assert_eq!((info.destruction_id, info.register_no.clone(), info.due_on), (Some(r.id), out.request.register_no.clone(), None));
    let q = ArchiveQuery { filter: ArchiveFilter::default(), sort: SortOrder::CreatedDesc, after: None, limit: 100 };
    assert!(store.list_archives(&q).await.unwrap().iter().all(|s| s.id != a.id), "out of lists");
    let text = dangan_store::SearchRequest { matcher: dangan_store::SearchMatch::Text(store.render_search(&match dangan_core::search::parse_query(&d.name) {
        dangan_core::search::ParsedQuery::Text(t) => t.fragment,
        _ => unreachable!("a name is text"),
    })), filter: ArchiveFilter::default(), created_from: None, created_to: None, after: None, limit: 10 };
    assert!(store.search(&text).await.unwrap().iter().all(|h| h.summary.id != a.id), "out of the search index");
    assert!(matches!(store.set_legal_hold(a.id, Some("x"), &ev(archivist.id, at(19))).await, Err(StoreError::Conflict { .. })), "nothing to hold");
    assert_eq!(store.list_destructions(Some(DestructionStatus::Destroyed), 10).await.unwrap().len(), 1);
    store.reindex().await.unwrap();
    assert!(store.dedup_keys(a.id).await.unwrap().is_empty(), "a rebuild leaves the tombstone out");

    // Consents and personal-information requests; a deletion carried out by a destruction.
    let consent = ConsentData { subject_name: "小明".into(), purpose: "课程".into(), scope: "姓名".into(), subject_birth_date: Some(day(2018, 1, 1)), guardian_name: Some("王芳".into()), guardian_relation: Some("母亲".into()), sensitive: false, explicit: false, given_on: day(2026, 3, 1) };
    let c = store.add_consent(b.id, &consent, archivist.id, &ev(archivist.id, at(20))).await.unwrap();
    assert_eq!(c.data, consent);
    let c = store.withdraw_consent(c.id, day(2026, 3, 5), archivist.id, &ev(archivist.id, at(21))).await.unwrap();
    assert_eq!((c.withdrawn_on, c.withdrawn_by), (Some(day(2026, 3, 5)), Some(archivist.id)));
    assert!(matches!(store.withdraw_consent(c.id, day(2026, 3, 6), archivist.id, &ev(archivist.id, at(22))).await, Err(StoreError::Conflict { .. })));
    let pr = |kind| NewPiplRequest { archive_id: b.id, kind, subject_name: "王芳".into(), detail: "".into(), received_on: day(2026, 3, 1), due_on: day(2026, 3, 31), recorded_by: witness.id };
    let copy = store.create_pipl_request(&pr(PiplKind::Copy), &ev(witness.id, at(23))).await.unwrap();
    let del = store.create_pipl_request(&pr(PiplKind::Delete), &ev(witness.id, at(23))).await.unwrap();
    assert_eq!(store.list_pipl_requests(true, None, 10).await.unwrap().len(), 2);
    let closed = store.close_pipl_request(copy.id, &PiplClose { status: PiplStatus::Done, resolution: "已交付".into(), legal_basis: "".into(), closed_by: witness.id }, &ev(witness.id, at(24))).await.unwrap();
    assert_eq!((closed.status, closed.closed_by), (PiplStatus::Done, Some(witness.id)));
    assert!(matches!(store.close_pipl_request(copy.id, &PiplClose { status: PiplStatus::Done, resolution: "x".into(), legal_basis: "".into(), closed_by: witness.id }, &ev(witness.id, at(25))).await, Err(StoreError::Conflict { .. })));
    let mut nd = new(vec![b.id]);
    nd.pipl_request_id = Some(del.id);
    let r2 = store.create_destruction(&nd, &ev(witness.id, at(26))).await.unwrap();
    assert_eq!(store.get_pipl_request(del.id).await.unwrap().unwrap().status, PiplStatus::Deleting);
    let r2c = store.cancel_destruction(r2.id, &ev(archivist.id, at(27))).await.unwrap();
    assert_eq!(r2c.status, DestructionStatus::Cancelled);
    assert_eq!(store.get_pipl_request(del.id).await.unwrap().unwrap().status, PiplStatus::Open, "withdrawn: the deletion is open again");
    let r3 = store.create_destruction(&nd, &ev(witness.id, at(28))).await.unwrap();
    store.decide_destruction(r3.id, 0, gm.id, true, "", &ev(gm.id, at(29))).await.unwrap();
    let out = store.execute_destruction(r3.id, witness.id, &ev(witness.id, at(30))).await.unwrap();
    assert_eq!(out.orphaned_files, vec![sha_shared.clone()], "its last user is gone");
    let done = store.get_pipl_request(del.id).await.unwrap().unwrap();
    assert_eq!((done.status, done.subject_name.as_str()), (PiplStatus::Done, ""), "closed by the destruction, name blanked");
    assert!(store.list_consents(b.id).await.unwrap().is_empty(), "consents purged");
}
