//! Upgrading a database from before the reminder dates (migration 0013 added `archive_dates` and
//! `archives.last_follow_up`, empty for archives that already existed): the first start derives
//! them once (`migrate`), in chunks, and what it derives equals what the write paths store with
//! each archive. Both engines, on real files / a real server; the "old" database is made by
//! loading archives with today's code and then removing what 0013's derivation would add.

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use dangan_core::audit::{AuditAction, AuditEvent};
use dangan_core::demo::DemoGenerator;
use dangan_core::numbering::NumberScheme;
use dangan_store::{BulkArchive, Store};

/// More than one chunk of the PostgreSQL derivation (2,000 archives per round).
const ARCHIVES: u64 = 2_300;

/// One row of `archive_dates` or of the follow-up column, as text, for comparing two states.
type Rows = Vec<String>;

async fn load(store: &dyn Store) {
    let gen = DemoGenerator::new(20261130, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(), Vec::new());
    let batch: Vec<BulkArchive> = gen
        .archives(0..ARCHIVES)
        .map(|a| {
            let created = Utc.from_utc_datetime(&a.created_on.and_hms_opt(2, 0, 0).unwrap());
            BulkArchive::new(a.data, created, a.contacts, a.entries).unwrap()
        })
        .collect();
    let audit = AuditEvent::new(AuditAction::ArchiveImport, Utc::now());
    store.bulk_load(batch, &NumberScheme::default(), "", &audit).await.unwrap();
}

/// A migrated SQLite database at `path` with the demo archives loaded.
async fn sqlite_loaded(path: &std::path::Path) -> dangan_store::sqlite::SqliteStore {
    let store = dangan_store::sqlite::SqliteStore::open(path).unwrap();
    store.migrate().await.unwrap();
    load(&store).await;
    store
}

/// The test database at `url`, migrated, with the demo archives loaded.
async fn postgres_loaded(url: &str) -> Arc<dyn Store> {
    let store = dangan_store::open(url, std::path::Path::new("unused.db")).await.unwrap();
    store.migrate().await.unwrap();
    load(store.as_ref()).await;
    store
}

fn check(before: &(Rows, Rows), after: &(Rows, Rows), engine: &str) {
    assert!(before.0.len() > ARCHIVES as usize, "[{engine}] the demo archives carry dates: {}", before.0.len());
    assert!(before.1.iter().filter(|r| !r.ends_with('-')).count() > 100, "[{engine}] and follow-ups");
    assert_eq!(after.0.len(), before.0.len(), "[{engine}] as many dates derived as written");
    assert_eq!(after.0, before.0, "[{engine}] the same dates");
    assert_eq!(after.1, before.1, "[{engine}] the same last follow-ups");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_derives_the_dates_of_an_older_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dangan.db");
    let store = sqlite_loaded(&path).await;
    let read = |c: &rusqlite::Connection| -> (Rows, Rows) {
        let rows = |sql: &str| -> Rows {
            let mut st = c.prepare(sql).unwrap();
            st.query_map([], |r| r.get::<_, String>(0)).unwrap().map(Result::unwrap).collect()
        };
        (
            rows("SELECT archive_id || '|' || date_kind || '|' || IFNULL(on_date, '-') || '|' || md || '|' || IFNULL(num, '-') || '|' || label FROM archive_dates ORDER BY 1"),
            rows("SELECT id || '|' || IFNULL(last_follow_up, '-') FROM archives ORDER BY id"),
        )
    };
    let c = rusqlite::Connection::open(&path).unwrap();
    let before = read(&c);
    drop(store);
    // What a database from before 0013 looks like: no dates, no follow-ups, nothing derived.
    c.execute_batch("DELETE FROM archive_dates; DELETE FROM derived_state WHERE name = 'archive_dates'; UPDATE archives SET last_follow_up = NULL;").unwrap();
    assert!(read(&c).0.is_empty());
    // The next start.
    let store = dangan_store::sqlite::SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    check(&before, &read(&c), "SQLite");
    // Derived once: a later start leaves them alone.
    c.execute_batch("DELETE FROM archive_dates WHERE rowid IN (SELECT rowid FROM archive_dates LIMIT 1)").unwrap();
    let one_less = read(&c);
    drop(store);
    let store: Arc<dyn Store> = Arc::new(dangan_store::sqlite::SqliteStore::open(&path).unwrap());
    store.migrate().await.unwrap();
    assert_eq!(read(&c).0.len(), one_less.0.len(), "not derived again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_derives_the_dates_of_an_older_database() {
    // Panics by itself where PostgreSQL is required; None means "skip" elsewhere.
    let Some(db) = dangan_store::testing::TestDb::create().await else { return };
    let store = postgres_loaded(&db.url).await;
    let (c, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    let read = async |c: &tokio_postgres::Client| -> (Rows, Rows) {
        let rows = async |sql: &str| -> Rows { c.query(sql, &[]).await.unwrap().iter().map(|r| r.get::<_, String>(0)).collect() };
        (
            rows("SELECT archive_id || '|' || date_kind || '|' || COALESCE(on_date::text, '-') || '|' || md || '|' || COALESCE(num::text, '-') || '|' || label FROM archive_dates ORDER BY 1").await,
            rows("SELECT id || '|' || COALESCE(last_follow_up::text, '-') FROM archives ORDER BY id").await,
        )
    };
    let before = read(&c).await;
    drop(store);
    c.batch_execute("DELETE FROM archive_dates; DELETE FROM derived_state WHERE name = 'archive_dates'; UPDATE archives SET last_follow_up = NULL;").await.unwrap();
    assert!(read(&c).await.0.is_empty());
    let store = dangan_store::open(&db.url, std::path::Path::new("unused.db")).await.unwrap();
    store.migrate().await.unwrap();
    check(&before, &read(&c).await, "PostgreSQL");
    drop(store);
    drop(c);
    drop(db);
}

/// How many archives the index finds by the kind facet (`_f` terms, added with the marker
/// `search_terms_facets`): every archive of the demo base that is not 绝密.
async fn found_by_facet(store: &dyn Store) -> i64 {
    use dangan_core::search::{facet_term, Expr, Facet};
    let mut n = 0;
    for kind in ["person", "organization"] {
        let matcher = dangan_store::SearchMatch::Text(store.render_search(&Expr::Term(facet_term(Facet::Kind, kind))));
        let req = dangan_store::SearchRequest { matcher, filter: Default::default(), created_from: None, created_to: None, after: None, limit: 1 };
        n += store.count_search(&req, 1_000_000).await.unwrap();
    }
    n
}

// An index built before this version's terms (here: emptied, its marker gone) is rebuilt by the
// next start; without the marker check the start would keep it, and filtered text searches
// would miss archives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_rebuilds_an_index_of_older_terms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dangan.db");
    let store = sqlite_loaded(&path).await;
    let indexed = found_by_facet(&store).await;
    assert!(indexed > ARCHIVES as i64 * 9 / 10, "the demo base is found by its facets: {indexed}");
    drop(store);
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute_batch("INSERT INTO search_fts (search_fts) VALUES ('delete-all'); DELETE FROM derived_state WHERE name = 'search_terms_facets';").unwrap();
    let store = dangan_store::sqlite::SqliteStore::open(&path).unwrap();
    assert_eq!(found_by_facet(&store).await, 0, "the old index has no facets");
    store.migrate().await.unwrap();
    assert_eq!(found_by_facet(&store).await, indexed, "rebuilt at start");
}

/// How many archives the text index finds for one expression.
async fn found_by(store: &dyn Store, expr: &dangan_core::search::Expr) -> i64 {
    let matcher = dangan_store::SearchMatch::Text(store.render_search(expr));
    let req = dangan_store::SearchRequest { matcher, filter: Default::default(), created_from: None, created_to: None, after: None, limit: 1 };
    store.count_search(&req, 1_000_000).await.unwrap()
}

fn text_index_sql(path: &std::path::Path) -> String {
    rusqlite::Connection::open(path).unwrap().query_row("SELECT sql FROM sqlite_master WHERE name = 'search_fts'", [], |r| r.get(0)).unwrap()
}

// A database from before migration 0019 has its text index under FTS5's `unicode61` tokenizer;
// the start that applies 0019 recreates it under `ascii` and rebuilds it, so the same terms
// find the same archives (Han, pinyin, facet and marker terms alike).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_moves_an_older_text_index_to_the_ascii_tokenizer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dangan.db");
    let store = sqlite_loaded(&path).await;
    // Han bigram and unigram, a pinyin syllable (公司's last window), a pinyin prefix (the
    // index's 2-character prefixes), facets.
    use dangan_core::search::Expr;
    let probes = [Expr::Term("有限".into()), Expr::Term("公".into()), Expr::Term("si".into()), Expr::Prefix("zhang".into()), Expr::Term("_fkperson".into()), Expr::Term("_fkorganization".into())];
    let mut before = Vec::new();
    for p in &probes {
        before.push(found_by(&store, p).await);
    }
    assert!(before.iter().all(|n| *n > 0), "the demo base has archives for every probe term: {before:?}");
    assert!(text_index_sql(&path).contains("ascii"), "a new base's index uses the ascii tokenizer");
    drop(store);
    // As 0007 made it; its segments would be unicode61's, so it starts empty (the rebuild's job).
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "DROP TABLE search_fts; \
             CREATE VIRTUAL TABLE search_fts USING fts5(terms, content = '', contentless_delete = 1, detail = none, prefix = '2', \
                 tokenize = \"unicode61 remove_diacritics 0 tokenchars '_'\"); \
             DELETE FROM schema_migrations WHERE version = 19;",
        )
        .unwrap();
    let store = dangan_store::sqlite::SqliteStore::open(&path).unwrap();
    store.migrate().await.unwrap();
    assert!(text_index_sql(&path).contains("tokenize = \"ascii tokenchars '_'\""), "{}", text_index_sql(&path));
    let mut after = Vec::new();
    for p in &probes {
        after.push(found_by(&store, p).await);
    }
    assert_eq!(after, before, "the rebuilt index finds what the old one did");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_rebuilds_an_index_of_older_terms() {
    let Some(db) = dangan_store::testing::TestDb::create().await else { return };
    let store = postgres_loaded(&db.url).await;
    let indexed = found_by_facet(store.as_ref()).await;
    assert!(indexed > ARCHIVES as i64 * 9 / 10, "the demo base is found by its facets: {indexed}");
    let (c, conn) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    c.batch_execute("UPDATE search_docs SET tsv = ''::tsvector; DELETE FROM derived_state WHERE name = 'search_terms_facets';").await.unwrap();
    assert_eq!(found_by_facet(store.as_ref()).await, 0, "the old index has no facets");
    drop(store);
    let store = dangan_store::open(&db.url, std::path::Path::new("unused.db")).await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(found_by_facet(store.as_ref()).await, indexed, "rebuilt at start");
    drop(store);
    drop(c);
    drop(db);
}
