//! The embedded engine: SQLite in WAL mode, one writer connection and a pool of readers.
//!
//! rusqlite is synchronous; every call runs on tokio's blocking pool with a connection taken
//! from a small pool. Writes are serialized through the single writer connection, which is what
//! SQLite does anyway and what makes number allocation race-free here.

use std::collections::HashMap;
use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use dangan_core::audit::{chain, AuditAction, AuditEvent, AuditRecord, Outcome, GENESIS_HASH};
use dangan_core::numbering::NumberScheme;
use dangan_core::policy::ApprovalStep;
use dangan_core::*;
use deadpool::unmanaged::Pool;
use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{params, Connection, OptionalExtension, Row, ToSql, Transaction};

use crate::sql::{self, Dialect, Param};
use crate::*;

mod dates;
mod retention;

// One line per migration (so that branches adding migrations merge without conflicts).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_access.sql")),
    (3, include_str!("../migrations/sqlite/0003_id_index.sql")),
    (4, include_str!("../migrations/sqlite/0004_loans.sql")),
    (5, include_str!("../migrations/sqlite/0005_scope_indexes.sql")),
    (6, include_str!("../migrations/sqlite/0006_audit.sql")),
    (7, include_str!("../migrations/sqlite/0007_search.sql")),
    (8, include_str!("../migrations/sqlite/0008_audit_guards.sql")),
    (9, include_str!("../migrations/sqlite/0009_dedup.sql")),
    (10, include_str!("../migrations/sqlite/0010_policy_settings.sql")),
    (12, include_str!("../migrations/sqlite/0012_imports.sql")),
    (13, include_str!("../migrations/sqlite/0013_lifecycle.sql")),
    (14, include_str!("../migrations/sqlite/0014_audit_cost.sql")),
    (15, include_str!("../migrations/sqlite/0015_retention.sql")),
    (16, include_str!("../migrations/sqlite/0016_checklists.sql")),
    (17, include_str!("../migrations/sqlite/0017_destruction_purge.sql")),
    (18, include_str!("../migrations/sqlite/0018_scope_covering.sql")),
    (19, include_str!("../migrations/sqlite/0019_ascii_tokenizer.sql")),
    (20, include_str!("../migrations/sqlite/0020_scope_updated.sql")),
    (21, include_str!("../migrations/sqlite/0021_live_count.sql")),
    (22, include_str!("../migrations/sqlite/0022_review_due.sql")),
    (23, include_str!("../migrations/sqlite/0023_scope_summary.sql")),
];

/// The writer's page cache, in SQLite's "negative = KiB" form.
const WRITER_CACHE: i64 = -32000;
/// The writer's page cache during a demo load (KiB).
const DEMO_LOAD_CACHE_KIB: i64 = 262_144;
/// The writer's page cache during an import (KiB): an import holds a file's worth of state
/// besides, within its memory budget (issue 6: ≤ 300 MB for 1M rows). Measured at 1M rows (435k
/// imported): 32 MiB ran as fast as 64 and 256 MiB (30.8–32.4 s vs 32.4–33.6 and 34.7 s), with a
/// peak of 227 MB against 260 and 593 MB.
const IMPORT_CACHE_KIB: i64 = 32_768;

pub struct SqliteStore {
    writer: Pool<Connection>,
    readers: Pool<Connection>,
}

/// Reads what a database file holds for a backup's manifest.
fn snapshot_of(c: &Connection) -> Result<Snapshot> {
    let stats = c.query_row(SNAPSHOT_STATS_SQL, [], |r| {
        Ok(SnapshotStats {
            archives: r.get(0)?,
            versions: r.get(1)?,
            contacts: r.get(2)?,
            entries: r.get(3)?,
            attachments: r.get(4)?,
            users: r.get(5)?,
            audit_head_seq: r.get(6)?,
            audit_head_hash: r.get(7)?,
        })
    })?;
    let mut st = c.prepare("SELECT DISTINCT sha256 FROM attachments ORDER BY sha256")?;
    let attachments = st.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Snapshot { attachments, stats })
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(m: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(m).unwrap_or_default()
}

/// `case_sensitive_like`: SQLite's LIKE ignores ASCII case by default, PostgreSQL's does not; the
/// name filter is a plain (case-sensitive) substring match on both engines.
fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000;
         PRAGMA cache_size = -8000;
         PRAGMA temp_store = MEMORY;
         PRAGMA case_sensitive_like = ON;",
    )?;
    Ok(conn)
}

/// The most a reader maps: SQLite's own compile-time ceiling (`SQLITE_MAX_MMAP_SIZE`, just under
/// 2 GiB); a larger `mmap_size` is silently lowered to it.
pub const MAX_READER_MMAP: u64 = 0x7fff_0000;

fn open_reader(path: &Path, mmap_bytes: u64) -> Result<Connection> {
    let conn = open_conn(path)?;
    conn.execute_batch(&format!("PRAGMA mmap_size = {};", mmap_bytes.min(MAX_READER_MMAP)))?;
    Ok(conn)
}

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Text(s) => ToSqlOutput::Borrowed(rusqlite::types::ValueRef::Text(s.as_bytes())),
            Param::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            Param::Bool(b) => ToSqlOutput::Owned(Value::Integer(*b as i64)),
            Param::Time(t) => ToSqlOutput::Owned(Value::Integer(micros(*t))),
            Param::Date(d) => ToSqlOutput::Owned(Value::Text(d.to_string())),
        })
    }
}

/// `$N` placeholders from `sql.rs` as SQLite's explicit `?N`.
fn sqlite_placeholders(sql: &str) -> String {
    sql.replace('$', "?")
}

impl SqliteStore {
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, 0)
    }

    /// `open`, with each reader mapping up to `reader_mmap_bytes` of the file (0: no map).
    pub fn open_with(path: &Path, reader_mmap_bytes: u64) -> Result<Self> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| StoreError::Db(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
        let writer_conn = open_conn(path)?;
        // The writer inserts into several indexes at random positions; a larger cache keeps their
        // inner pages in memory during bulk loads. Readers stay small to bound the server's memory.
        // A checkpoint every ~40 MB of WAL instead of 4 MB: index pages that many transactions
        // touch are copied into the database once, not once per transaction.
        // threads: CREATE INDEX after a bulk load sorts with a helper thread.
        // synchronous = FULL on the writer: each commit reaches the disk before it returns, so an
        // answered request's audit record (and every change) survives a power cut, not only a
        // crash of the process. Reads are audited in batches (group commit), so this costs one
        // fsync per batch, not per request. Bulk loads relax it for their duration.
        writer_conn.execute_batch(&format!("PRAGMA cache_size = {WRITER_CACHE}; PRAGMA wal_autocheckpoint = 10000; PRAGMA threads = 2; PRAGMA synchronous = FULL;"))?;
        let writer = Pool::from(vec![writer_conn]);
        let n = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2) * 2;
        // Readers may map the database file (`--sqlite-mmap-mib`) instead of copying pages through
        // `read` into each connection's own small cache: they then read the OS page cache in
        // place. At 1M archives a reminders round's scattered row reads took half the time mapped
        // (counts 310 → 150 ms; a salesperson's whole request about 20% less), point reads showed
        // no clear gain, and every mapped page a reader touched counts in the process's RSS once
        // per reader (a 7 GB peak for a 3 GB file: file pages the kernel can drop, but alarming
        // to anyone watching RSS). So it is the operator's choice, off by default.
        let readers = Pool::from((0..n).map(|_| open_reader(path, reader_mmap_bytes)).collect::<Result<Vec<_>>>()?);
        Ok(SqliteStore { writer, readers })
    }

    async fn with_conn<T, F>(pool: &Pool<Connection>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let mut conn = pool.get().await.map_err(|e| StoreError::Db(format!("connection pool: {e:?}")))?;
        tokio::task::spawn_blocking(move || f(&mut conn)).await.map_err(|e| StoreError::Db(format!("worker failed: {e}")))?
    }

    async fn read<T: Send + 'static>(&self, f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static) -> Result<T> {
        Self::with_conn(&self.readers, f).await
    }

    /// Runs `f` in an IMMEDIATE transaction on the writer connection; commits if it returns Ok.
    async fn write<T: Send + 'static>(&self, f: impl FnOnce(&Transaction) -> Result<T> + Send + 'static) -> Result<T> {
        Self::with_conn(&self.writer, move |conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}

fn user_from_row(r: &Row) -> rusqlite::Result<User> {
    Ok(User {
        id: r.get("id")?,
        username: r.get("username")?,
        display_name: r.get("display_name")?,
        dept_id: r.get("dept_id")?,
        roles: parse_roles(&r.get::<_, String>("roles")?),
        active: r.get("active")?,
        created_at: from_micros(r.get("created_at")?),
    })
}

const USER_COLUMNS: &str = "id, username, display_name, dept_id, roles, active, created_at";
const ARCHIVE_COLUMNS: &str = "a.id, a.archive_no, d.data, a.version, a.created_by, a.created_at, a.updated_by, a.updated_at, a.merged_into, a.destroyed_at";
const ARCHIVE_FROM: &str = "archives a JOIN archive_documents d ON d.archive_id = a.id";

fn archive_from_row(r: &Row) -> Result<Archive> {
    let data: String = r.get(2)?;
    Ok(Archive {
        id: r.get(0)?,
        archive_no: r.get(1)?,
        data: serde_json::from_str(&data)?,
        version: r.get(3)?,
        created_by: r.get(4)?,
        created_at: from_micros(r.get(5)?),
        updated_by: r.get(6)?,
        updated_at: from_micros(r.get(7)?),
        merged_into: r.get(8)?,
        destroyed_at: r.get::<_, Option<i64>>(9)?.map(from_micros),
    })
}

fn summary_from_row(r: &Row) -> Result<ArchiveSummary> {
    let opt_enum = |i: usize| -> Result<Option<Grade>> {
        match r.get::<_, Option<String>>(i)? {
            Some(s) => Ok(Some(parse_enum(&s)?)),
            None => Ok(None),
        }
    };
    Ok(ArchiveSummary {
        id: r.get(0)?,
        archive_no: r.get(1)?,
        kind: parse_enum(&r.get::<_, String>(2)?)?,
        name: r.get(3)?,
        grade: opt_enum(4)?,
        credit_grade: opt_enum(5)?,
        blacklisted: r.get(6)?,
        status: parse_enum(&r.get::<_, String>(7)?)?,
        industry: r.get(8)?,
        province: r.get(9)?,
        city: r.get(10)?,
        owner_id: r.get(11)?,
        dept_id: r.get(12)?,
        tier: parse_enum(&r.get::<_, String>(13)?)?,
        secrecy: parse_enum(&r.get::<_, String>(14)?)?,
        mobile: r.get(15)?,
        updated_at: from_micros(r.get(16)?),
    })
}

fn contact_from_row(r: &Row) -> Result<Contact> {
    let data: String = r.get(2)?;
    Ok(Contact { id: r.get(0)?, archive_id: r.get(1)?, data: serde_json::from_str(&data)? })
}

fn entry_from_row(r: &Row) -> Result<TimelineEntry> {
    let data: String = r.get(2)?;
    Ok(TimelineEntry {
        id: r.get(0)?,
        archive_id: r.get(1)?,
        data: serde_json::from_str(&data)?,
        superseded_by: None,
        created_by: r.get(3)?,
        created_at: from_micros(r.get(4)?),
    })
}

fn attachment_from_row(r: &Row) -> rusqlite::Result<Attachment> {
    Ok(Attachment {
        id: r.get(0)?,
        archive_id: r.get(1)?,
        sha256: r.get(2)?,
        filename: r.get(3)?,
        content_type: r.get(4)?,
        size: r.get(5)?,
        created_by: r.get(6)?,
        created_at: from_micros(r.get(7)?),
    })
}

const REQUEST_COLUMNS: &str = "id, archive_id, requester_id, purpose, sections, actions, hours, chain, step, status, created_at, closed_at";

fn request_from_row(r: &Row) -> rusqlite::Result<AccessRequest> {
    Ok(AccessRequest {
        id: r.get(0)?,
        archive_id: r.get(1)?,
        requester_id: r.get(2)?,
        purpose: r.get(3)?,
        sections: split_list(&r.get::<_, String>(4)?),
        actions: parse_actions(&r.get::<_, String>(5)?),
        hours: r.get(6)?,
        chain: parse_chain(&r.get::<_, String>(7)?),
        step: r.get(8)?,
        status: RequestStatus::parse(&r.get::<_, String>(9)?).unwrap_or(RequestStatus::Cancelled),
        created_at: from_micros(r.get(10)?),
        closed_at: r.get::<_, Option<i64>>(11)?.map(from_micros),
    })
}

fn request_by_id(c: &Connection, id: i64) -> Result<Option<AccessRequest>> {
    Ok(c.prepare_cached(&format!("SELECT {REQUEST_COLUMNS} FROM access_requests WHERE id = ?1"))?.query_row([id], request_from_row).optional()?)
}

const LOAN_COLUMNS: &str = "id, archive_id, borrower_id, kind, purpose, lent_by, lent_at, due_at, returned_at, returned_complete, checked_by, return_note, grant_id";

fn loan_from_row(r: &Row) -> rusqlite::Result<Loan> {
    Ok(Loan {
        id: r.get(0)?,
        archive_id: r.get(1)?,
        borrower_id: r.get(2)?,
        kind: LoanKind::parse(&r.get::<_, String>(3)?).unwrap_or(LoanKind::Paper),
        purpose: r.get(4)?,
        lent_by: r.get(5)?,
        lent_at: from_micros(r.get(6)?),
        due_at: from_micros(r.get(7)?),
        returned_at: r.get::<_, Option<i64>>(8)?.map(from_micros),
        returned_complete: r.get(9)?,
        checked_by: r.get(10)?,
        return_note: r.get(11)?,
        grant_id: r.get(12)?,
    })
}

fn loan_by_id(c: &Connection, id: i64) -> Result<Option<Loan>> {
    Ok(c.prepare_cached(&format!("SELECT {LOAN_COLUMNS} FROM loans WHERE id = ?1"))?.query_row([id], loan_from_row).optional()?)
}

/// Drops the secondary indexes of `tables` (not those behind PRIMARY KEY / UNIQUE constraints,
/// which have no `sql`) and returns their (name, definition), to be recreated after a bulk write.
fn take_indexes(tx: &Transaction, tables: &[&str]) -> Result<Vec<(String, String)>> {
    let json = serde_json::to_string(tables)?;
    let defs: Vec<(String, String)> = tx
        .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN (SELECT value FROM json_each(?1))")?
        .query_map([json], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (name, _) in &defs {
        tx.execute_batch(&format!("DROP INDEX \"{name}\""))?;
    }
    Ok(defs)
}

/// Drops the indexes a bulk write into an empty archive table need not keep up row by row
/// (recorded in `deferred_indexes`; `restore_deferred_indexes` builds each in one pass, which
/// costs a fraction of keeping it up). Returns whether the table was empty.
fn defer_indexes_if_empty(tx: &Transaction) -> Result<bool> {
    let empty: bool = tx.query_row("SELECT NOT EXISTS (SELECT 1 FROM archives)", [], |r| r.get(0))?;
    if empty {
        for (name, sql) in take_indexes(tx, &["archives", "contacts", "timeline_entries", "dedup_keys", "archive_dates"])? {
            tx.execute("INSERT OR REPLACE INTO deferred_indexes (name, sql) VALUES (?1, ?2)", params![name, sql])?;
        }
        set_text_index_merges(tx, HELD_TEXT_INDEX_MERGES)?;
        // A batch's terms (2,000 rows) then go to one segment, not to one per megabyte (FTS5's
        // default term buffer) that the crisis merges would soon merge again. Measured on a
        // 300k-row import: with both, the writer's busy time 18 → 15 s and the process CPU −7%;
        // held merges alone gave half of that, the larger buffer alone nothing. At 1M rows no
        // gain was measured (the crisis merges and the final merge take it back); what remains
        // there is the single segment the load leaves.
        set_text_index_option(tx, "hashsize", BULK_TEXT_INDEX_HASH_BYTES)?;
    }
    Ok(empty)
}

/// FTS5 merge settings during a bulk write into an empty base. Each batch commits one segment
/// of the text index, and with the normal settings FTS5 merges them level by level (four at a
/// time) while the load goes on: 9% of an import's CPU (profile of a 100k-row CSV), each row's
/// terms rewritten several times. Held back, the segments pile up (a crisis merge only when 64
/// reach one level, which keeps their number far below FTS5's limit of 2,000) and the end of
/// the load merges them all once (`release_text_index_merges`), leaving the one segment queries
/// want.
const HELD_TEXT_INDEX_MERGES: TextIndexMerges = TextIndexMerges { automerge: 0, crisismerge: 64 };

/// FTS5's term buffer during a bulk write into an empty base (see `defer_indexes_if_empty`).
/// It stays set afterwards, as after a rebuild: a normal write's transaction flushes at commit
/// long before it fills.
const BULK_TEXT_INDEX_HASH_BYTES: i64 = 8 * 1024 * 1024;

/// FTS5's defaults, for the writes of normal use.
const NORMAL_TEXT_INDEX_MERGES: TextIndexMerges = TextIndexMerges { automerge: 4, crisismerge: 16 };

struct TextIndexMerges {
    automerge: i64,
    crisismerge: i64,
}

fn set_text_index_merges(tx: &Transaction, merges: TextIndexMerges) -> Result<()> {
    set_text_index_option(tx, "automerge", merges.automerge)?;
    set_text_index_option(tx, "crisismerge", merges.crisismerge)
}

/// Sets one of FTS5's persistent options of the text index (kept in `search_fts_config`).
fn set_text_index_option(tx: &Connection, option: &str, value: i64) -> Result<()> {
    tx.execute("INSERT INTO search_fts (search_fts, rank) VALUES (?1, ?2)", params![option, value])?;
    Ok(())
}

/// Ends a bulk write's held-back merges (at its end, or at start after an interruption): the
/// normal settings again, and the piled-up segments merged into one.
fn release_text_index_merges(tx: &Transaction) -> Result<()> {
    let held: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM search_fts_config WHERE k = 'automerge' AND v = ?1)", [HELD_TEXT_INDEX_MERGES.automerge], |r| r.get(0))?;
    if held {
        set_text_index_merges(tx, NORMAL_TEXT_INDEX_MERGES)?;
        optimize_text_index(tx)?;
    }
    Ok(())
}

/// Recreates the indexes a bulk load deferred and merges the text index it wrote (at its end,
/// or at start after an interruption).
fn restore_deferred_indexes(tx: &Transaction) -> Result<()> {
    release_text_index_merges(tx)?;
    let defs: Vec<(String, String)> =
        tx.prepare("SELECT name, sql FROM deferred_indexes")?.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    for (name, sql) in defs {
        let exists: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?1)", [&name], |r| r.get(0))?;
        if !exists {
            tx.execute_batch(&sql)?;
        }
        tx.execute("DELETE FROM deferred_indexes WHERE name = ?1", [&name])?;
    }
    Ok(())
}

/// Advances the period's counter and returns the new value (inside the caller's transaction).
fn next_number(tx: &Transaction, period: &str) -> Result<u64> {
    let v: i64 = tx
        .prepare_cached(
            "INSERT INTO number_counters (period, last_value) VALUES (?1, 1)
             ON CONFLICT (period) DO UPDATE SET last_value = last_value + 1 RETURNING last_value",
        )?
        .query_row([period], |r| r.get(0))?;
    Ok(v as u64)
}

fn insert_archive(tx: &Transaction, archive_no: &str, data: &ArchiveData, actor: UserId, at: i64) -> Result<i64> {
    insert_archive_json(tx, archive_no, data, &serde_json::to_string(data)?, actor, at)
}

const IMPORT_COLUMNS: &str = "id, file_name, file_sha256, file_size, format, user_id, status, options, total_rows, processed, imported, merged, skipped, failed, cancel_requested, message, created_at, updated_at, finished_at";

fn import_from_row(r: &Row) -> rusqlite::Result<ImportJob> {
    let status: String = r.get(6)?;
    let options: String = r.get(7)?;
    Ok(ImportJob {
        id: r.get(0)?,
        file_name: r.get(1)?,
        file_sha256: r.get(2)?,
        file_size: r.get(3)?,
        format: r.get(4)?,
        user_id: r.get(5)?,
        status: ImportStatus::parse(&status).unwrap_or(ImportStatus::Failed),
        options: serde_json::from_str(&options).unwrap_or(serde_json::Value::Null),
        counts: ImportCounts { total: r.get(8)?, processed: r.get(9)?, imported: r.get(10)?, merged: r.get(11)?, skipped: r.get(12)?, failed: r.get(13)? },
        cancel_requested: r.get(14)?,
        message: r.get(15)?,
        created_at: from_micros(r.get(16)?),
        updated_at: from_micros(r.get(17)?),
        finished_at: r.get::<_, Option<i64>>(18)?.map(from_micros),
    })
}

fn import_by_id(c: &Connection, id: i64) -> Result<ImportJob> {
    c.prepare_cached(&format!("SELECT {IMPORT_COLUMNS} FROM imports WHERE id = ?1"))?.query_row([id], import_from_row).optional()?.ok_or(StoreError::NotFound)
}


/// Inserts archives with their contacts, entries and search terms, numbering each by its
/// creation date; returns (id, number) in order. Shared by demo loads and imports.
fn insert_bulk<'a>(tx: &Transaction, batch: impl Iterator<Item = &'a BulkArchive>, scheme: &NumberScheme, dept_code: &str, actor: UserId, cache_kib: i64) -> Result<Vec<(i64, String)>> {
    // Bulk writes touch index pages all over the file; a larger cache for the series of
    // batches keeps them in memory. `end_bulk_load` restores the normal size.
    tx.execute_batch(&format!("PRAGMA cache_size = -{cache_kib};"))?;
    // Counters are read once per period and written back once per batch.
    let mut counters: HashMap<String, u64> = HashMap::new();
    let mut created = Vec::new();
    for a in batch {
        let date: NaiveDate = a.created_at.date_naive();
        let period = scheme.period_key(date, dept_code);
        let seq = match counters.get_mut(&period) {
            Some(v) => {
                *v += 1;
                *v
            }
            None => {
                let last: Option<i64> = tx.prepare_cached("SELECT last_value FROM number_counters WHERE period = ?1")?.query_row([&period], |r| r.get(0)).optional()?;
                let seq = last.unwrap_or(0) as u64 + 1;
                counters.insert(period, seq);
                seq
            }
        };
        let no = scheme.render(date, dept_code, seq);
        let at = micros(a.created_at);
        let id = insert_archive_json(tx, &no, &a.data, &a.json.data, actor, at)?;
        for (c, json) in a.contacts.iter().zip(&a.json.contacts) {
            insert_contact(tx, id, c, json, actor, at)?;
        }
        for (e, json) in a.entries.iter().zip(&a.json.entries) {
            insert_entry(tx, id, e, json, actor, at)?;
        }
        insert_search_doc(tx, id, &a.json.terms)?;
        insert_keys(tx, id, &a.json.keys)?;
        dates::insert_dates(tx, id, &a.json.dates, a.json.last_follow_up)?;
        if let Some((closed, due)) = crate::retention::bulk_retention(a, a.created_at) {
            // Closed when it arrives: its retention period counts from its creation here (the
            // archivist can record the paper file's real closing date).
            tx.prepare_cached("UPDATE archives SET closed_at = ?2, retention_due = ?3 WHERE id = ?1")?.execute(params![id, micros(closed), due.map(|d| d.to_string())])?;
        }
        created.push((id, no));
    }
    for (period, last) in counters {
        tx.prepare_cached("INSERT INTO number_counters (period, last_value) VALUES (?1, ?2) ON CONFLICT (period) DO UPDATE SET last_value = excluded.last_value")?
            .execute(params![period, last as i64])?;
    }
    Ok(created)
}

fn insert_archive_json(tx: &Transaction, archive_no: &str, data: &ArchiveData, json: &str, actor: UserId, at: i64) -> Result<i64> {
    let c = ArchiveColumns::of(data);
    tx.prepare_cached(
        "INSERT INTO archives (archive_no, kind, name, grade, credit_grade, blacklisted, status, industry, province, city,
            owner_id, dept_id, tier, secrecy, mobile, uscc, id_hash, version, version_by, version_at, created_by, created_at, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?19, 1, ?17, ?18, ?17, ?18, ?17, ?18)",
    )?
    .execute(params![
        archive_no, c.kind, c.name, c.grade, c.credit_grade, c.blacklisted, c.status, c.industry, c.province, c.city, c.owner_id, c.dept_id, c.tier, c.secrecy,
        c.mobile, c.uscc, actor, at, c.id_hash
    ])?;
    let id = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO archive_documents (archive_id, data) VALUES (?1, ?2)")?.execute(params![id, json])?;
    Ok(id)
}

fn insert_contact(tx: &Transaction, archive_id: i64, c: &ContactData, json: &str, actor: UserId, at: i64) -> Result<i64> {
    tx.prepare_cached("INSERT INTO contacts (archive_id, name, mobile, data, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![archive_id, c.name, c.mobile, json, actor, at])?;
    Ok(tx.last_insert_rowid())
}

fn insert_entry(tx: &Transaction, archive_id: i64, e: &EntryData, json: &str, actor: UserId, at: i64) -> Result<i64> {
    tx.prepare_cached("INSERT INTO timeline_entries (archive_id, kind, occurred_on, supersedes, data, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
        .execute(params![archive_id, e.kind.as_str(), e.occurred_on.to_string(), e.supersedes, json, actor, at])?;
    Ok(tx.last_insert_rowid())
}

fn get_archive_where(conn: &Connection, cond: &str, p: &dyn ToSql) -> Result<Option<Archive>> {
    let mut st = conn.prepare_cached(&format!("SELECT {ARCHIVE_COLUMNS} FROM {ARCHIVE_FROM} WHERE {cond}"))?;
    let mut rows = st.query([p])?;
    match rows.next()? {
        Some(r) => Ok(Some(archive_from_row(r)?)),
        None => Ok(None),
    }
}

/// Writes an archive's search terms under a new activity sequence (replacing what it had), in
/// the caller's transaction. Empty terms (绝密) leave it out of the text index.
fn index_archive(tx: &Connection, archive_id: i64, terms: &str) -> Result<()> {
    let old: Option<i64> = tx.prepare_cached("SELECT seq FROM search_docs WHERE archive_id = ?1")?.query_row([archive_id], |r| r.get(0)).optional()?;
    if let Some(seq) = old {
        tx.prepare_cached("DELETE FROM search_fts WHERE rowid = ?1")?.execute([seq])?;
        tx.prepare_cached("DELETE FROM search_docs WHERE seq = ?1")?.execute([seq])?;
    }
    insert_search_doc(tx, archive_id, terms)
}

fn insert_search_doc(tx: &Connection, archive_id: i64, terms: &str) -> Result<()> {
    if terms.is_empty() {
        return Ok(());
    }
    tx.prepare_cached("INSERT INTO search_docs (archive_id) VALUES (?1)")?.execute([archive_id])?;
    let seq = tx.last_insert_rowid();
    tx.prepare_cached("INSERT INTO search_fts (rowid, terms) VALUES (?1, ?2)")?.execute(params![seq, terms])?;
    Ok(())
}

/// Merges the text index into one segment after a rebuild or a demo load. Built in one long
/// series of inserts, FTS5 leaves each term's document list spread over many segments, and a
/// query that ANDs frequent terms (有限 AND 公司) seeks through every one of them.
fn optimize_text_index(tx: &Connection) -> Result<()> {
    let started = std::time::Instant::now();
    tx.execute("INSERT INTO search_fts (search_fts) VALUES ('optimize')", [])?;
    tracing::info!("text index merged into one segment in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// FTS5's in-memory term buffer for large writes (see `reindex`).
const TEXT_INDEX_HASH_BYTES: i64 = 64 * 1024 * 1024;

/// Recomputes an archive's search terms and duplicate-check keys from what is stored (document,
/// ID hash, contacts) and writes them. A tombstone (merged) has neither.
fn reindex_archive(tx: &Connection, archive_id: i64) -> Result<()> {
    let (data, id_hash, merged): (String, Option<String>, Option<i64>) = tx
        .prepare_cached("SELECT d.data, a.id_hash, COALESCE(a.merged_into, a.destruction_id) FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.id = ?1")?
        .query_row([archive_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    if merged.is_some() {
        index_archive(tx, archive_id, "")?;
        dates::write_dates(tx, archive_id, None, &[])?;
        return write_keys(tx, archive_id, &[]);
    }
    let data: ArchiveData = serde_json::from_str(&data)?;
    let contacts = stored_contacts(tx, archive_id)?;
    index_archive(tx, archive_id, &dangan_core::search::archive_terms(&data, &contacts))?;
    dates::write_dates(tx, archive_id, Some(&data), &contacts)?;
    write_keys(tx, archive_id, &dangan_core::dedup::archive_keys(&data, id_hash.as_deref(), &contacts))
}

/// Replaces an archive's duplicate-check keys.
fn write_keys(tx: &Connection, archive_id: i64, keys: &[String]) -> Result<()> {
    tx.prepare_cached("DELETE FROM dedup_keys WHERE archive_id = ?1")?.execute([archive_id])?;
    insert_keys(tx, archive_id, keys)
}

fn insert_keys(tx: &Connection, archive_id: i64, keys: &[String]) -> Result<()> {
    let mut st = tx.prepare_cached("INSERT INTO dedup_keys (key, archive_id) VALUES (?1, ?2)")?;
    for k in keys {
        st.execute(params![k, archive_id])?;
    }
    Ok(())
}

fn stored_contacts(c: &Connection, archive_id: i64) -> Result<Vec<ContactData>> {
    let mut st = c.prepare_cached("SELECT data FROM contacts WHERE archive_id = ?1 ORDER BY id")?;
    let rows = st.query_map([archive_id], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for r in rows {
        out.push(serde_json::from_str(&r?)?);
    }
    Ok(out)
}

/// Keeps the current version in `archive_versions` and writes `data` as version `current + 1`.
fn write_version(tx: &Transaction, id: i64, current: i64, data: &ArchiveData, reason: Option<&str>, actor: UserId, at: i64) -> Result<()> {
    let c = ArchiveColumns::of(data);
    let json = serde_json::to_string(data)?;
    let next = current + 1;
    // Keep the version being replaced: originals are never overwritten.
    tx.prepare_cached(
        "INSERT INTO archive_versions (archive_id, version, data, changed_by, changed_at, reason)
         SELECT a.id, a.version, d.data, a.version_by, a.version_at, a.change_reason FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.id = ?1",
    )?
    .execute([id])?;
    tx.prepare_cached(
        "UPDATE archives SET kind = ?2, name = ?3, grade = ?4, credit_grade = ?5, blacklisted = ?6, status = ?7, industry = ?8, province = ?9,
            city = ?10, owner_id = ?11, dept_id = ?12, tier = ?13, secrecy = ?14, mobile = ?15, uscc = ?16, id_hash = ?22, version = ?18,
            updated_by = ?19, updated_at = ?20, version_by = ?19, version_at = ?20, change_reason = ?21 WHERE id = ?1",
    )?
    .execute(params![
        id, c.kind, c.name, c.grade, c.credit_grade, c.blacklisted, c.status, c.industry, c.province, c.city, c.owner_id, c.dept_id, c.tier, c.secrecy,
        c.mobile, c.uscc, json, next, actor, at, reason, c.id_hash
    ])?;
    tx.prepare_cached("UPDATE archive_documents SET data = ?2 WHERE archive_id = ?1")?.execute(params![id, json])?;
    Ok(())
}

/// Marks the archive as changed now and returns its number (for the audit record).
fn touch_archive(tx: &Transaction, archive_id: i64, actor: UserId, at: i64) -> Result<String> {
    let no: Option<String> =
        tx.prepare_cached("UPDATE archives SET updated_by = ?2, updated_at = ?3 WHERE id = ?1 RETURNING archive_no")?.query_row(params![archive_id, actor, at], |r| r.get(0)).optional()?;
    no.ok_or(StoreError::NotFound)
}

const AUDIT_COLUMNS: &str = "seq, at, user_id, username, roles, dept_id, client_addr, user_agent, action, archive_id, archive_no, fields, basis, outcome, detail, prev_hash, hash";

/// Appends events to the hash chain inside the caller's transaction. The single writer
/// connection serializes appends, so the head read here is the head.
fn append_chained(tx: &Transaction, events: Vec<AuditEvent>) -> Result<()> {
    let head: Option<(i64, String)> = tx.prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")?.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
    let (seq, hash) = head.unwrap_or_else(|| (0, GENESIS_HASH.to_string()));
    let mut st = tx.prepare_cached(&format!("INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"))?;
    for r in chain(seq, &hash, events) {
        let e = &r.event;
        st.execute(params![
            r.seq, micros(e.at), e.user_id, e.username, e.roles, e.dept_id, e.client_addr, e.user_agent, e.action.code(), e.archive_id, e.archive_no, e.fields, e.basis,
            e.outcome.as_str(), e.detail, r.prev_hash, r.hash
        ])?;
    }
    Ok(())
}

/// A grant from its eight columns (id, user_id, archive_id, actions, request_id, granted_at,
/// expires_at, revoked_at), first in the row.
fn grant_from_row(r: &Row) -> rusqlite::Result<Grant> {
    Ok(Grant {
        id: r.get(0)?,
        user_id: r.get(1)?,
        archive_id: r.get(2)?,
        actions: parse_actions(&r.get::<_, String>(3)?),
        request_id: r.get(4)?,
        granted_at: from_micros(r.get(5)?),
        expires_at: from_micros(r.get(6)?),
        revoked_at: r.get::<_, Option<i64>>(7)?.map(from_micros),
    })
}

fn archive_no_of(tx: &Transaction, archive_id: i64) -> Result<String> {
    let no: Option<String> = tx.prepare_cached("SELECT archive_no FROM archives WHERE id = ?1")?.query_row([archive_id], |r| r.get(0)).optional()?;
    no.ok_or(StoreError::NotFound)
}

fn audit_from_row(r: &Row) -> Result<AuditRecord> {
    let action: String = r.get(8)?;
    let outcome: String = r.get(13)?;
    Ok(AuditRecord {
        seq: r.get(0)?,
        event: AuditEvent {
            at: from_micros(r.get(1)?),
            user_id: r.get(2)?,
            username: r.get(3)?,
            roles: r.get(4)?,
            dept_id: r.get(5)?,
            client_addr: r.get(6)?,
            user_agent: r.get(7)?,
            action: AuditAction::parse(&action).ok_or_else(|| StoreError::Db(format!("unknown audit action {action:?}")))?,
            archive_id: r.get(9)?,
            archive_no: r.get(10)?,
            fields: r.get(11)?,
            basis: r.get(12)?,
            outcome: Outcome::parse(&outcome).ok_or_else(|| StoreError::Db(format!("unknown audit outcome {outcome:?}")))?,
            detail: r.get(14)?,
        },
        prev_hash: r.get(15)?,
        hash: r.get(16)?,
    })
}

/// Settings an administrator changes are one versioned JSON row (`id = 1`) in their own table
/// (`policy_settings`, `checklist_settings`): read it, or replace it based on a version.
fn settings_row(c: &Connection, table: &'static str) -> Result<Option<StoredPolicy>> {
    Ok(c.prepare_cached(&format!("SELECT version, data, updated_at, updated_by FROM {table} WHERE id = 1"))?
        .query_row([], |r| Ok(StoredPolicy { version: r.get(0)?, data: r.get(1)?, updated_at: from_micros(r.get(2)?), updated_by: r.get(3)? }))
        .optional()?)
}

fn put_settings_row(tx: &Transaction, table: &'static str, expected_version: i64, data: &str, updated_by: UserId, audit: AuditEvent) -> Result<i64> {
    let current: i64 = tx.query_row(&format!("SELECT version FROM {table} WHERE id = 1"), [], |r| r.get(0)).optional()?.unwrap_or(0);
    if current != expected_version {
        return Err(StoreError::Conflict { current });
    }
    let version = current + 1;
    tx.execute(
        &format!(
            "INSERT INTO {table} (id, version, data, updated_at, updated_by) VALUES (1, ?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, data = excluded.data, updated_at = excluded.updated_at, updated_by = excluded.updated_by"
        ),
        params![version, data, micros(audit.at), updated_by],
    )?;
    append_chained(tx, vec![audit])?;
    Ok(version)
}

impl SqliteStore {
    /// Runs a query built in `sql.rs` (`$N` placeholders) on a reader and maps every row.
    async fn query_rows<T: Send + 'static>(&self, text: String, params: Vec<Param>, map: fn(&Row) -> Result<T>) -> Result<Vec<T>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&sqlite_placeholders(&text))?;
            let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(map(r)?);
            }
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn engine(&self) -> Engine {
        Engine::Sqlite
    }

    async fn migrate(&self) -> Result<()> {
        Self::with_conn(&self.writer, |conn| {
            conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")?;
            for (version, script) in MIGRATIONS {
                let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let done: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)", [version], |r| r.get(0))?;
                if !done {
                    tx.execute_batch(script)?;
                    if *version == 15 {
                        retention::backfill_retention(&tx)?;
                    }
                    tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)", params![version, micros(Utc::now())])?;
                }
                tx.commit()?;
            }
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            restore_deferred_indexes(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await?;
        // A database from before the search index, the duplicate keys or the index's current
        // terms (`SEARCH_TERMS_STATE`): build them once. An empty one has the current terms.
        let unindexed: bool = self.read(|c| Ok(c.query_row(&sqlite_placeholders(sql::SEARCH_INDEX_STALE), [SEARCH_TERMS_STATE], |r| r.get(0))?)).await?;
        if unindexed {
            tracing::info!("rebuilding the search index for this version's terms");
            self.reindex().await?;
        } else {
            self.write(|tx| Ok(tx.execute(&sqlite_placeholders(sql::MARK_DERIVED), [SEARCH_TERMS_STATE])?)).await?;
        }
        // A database from before the archive dates (reminders): derive them once.
        if !self.read(|c| dates::dates_built(c)).await? {
            let n = self.write(|tx| dates::rebuild_dates(tx)).await?;
            tracing::info!("derived the reminder dates of {n} archives");
        } else {
            self.write(|tx| Ok(tx.execute(&sqlite_placeholders(sql::MARK_DERIVED), ["archive_dates"])?)).await?;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?)).await
    }

    async fn create_department(&self, name: &str, code: &str, parent_id: Option<DeptId>, audit: &AuditEvent) -> Result<Department> {
        let (name, code, audit) = (name.to_string(), code.to_string(), audit.clone());
        self.write(move |tx| {
            tx.execute("INSERT INTO departments (name, code, parent_id) VALUES (?1, ?2, ?3)", params![name, code, parent_id])?;
            let d = Department { id: tx.last_insert_rowid(), name, code, parent_id };
            append_chained(tx, vec![audit.with_detail(serde_json::json!({ "department_id": d.id, "name": d.name, "code": d.code, "parent_id": d.parent_id }))])?;
            Ok(d)
        })
        .await
    }

    async fn list_departments(&self) -> Result<Vec<Department>> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT id, name, code, parent_id FROM departments ORDER BY id")?;
            let rows = st.query_map([], |r| Ok(Department { id: r.get(0)?, name: r.get(1)?, code: r.get(2)?, parent_id: r.get(3)? }))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn create_user(&self, u: &NewUser, audit: &AuditEvent) -> Result<User> {
        let (u, audit) = (u.clone(), audit.clone());
        let now = audit.at;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO users (username, display_name, password_hash, dept_id, roles, active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
                params![u.username, u.display_name, u.password_hash, u.dept_id, roles_text(&u.roles), micros(now)],
            )?;
            let id = tx.last_insert_rowid();
            let user = tx.query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"), [id], user_from_row)?;
            append_chained(tx, vec![audit.with_detail(serde_json::json!({ "new_user_id": user.id, "username": user.username, "roles": roles_text(&user.roles), "dept_id": user.dept_id }))])?;
            Ok(user)
        })
        .await
    }

    async fn get_user(&self, id: UserId) -> Result<Option<User>> {
        self.read(move |c| Ok(c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))?.query_row([id], user_from_row).optional()?)).await
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))?;
            let rows = st.query_map([], user_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn count_users(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?)).await
    }

    async fn find_login(&self, username: &str) -> Result<Option<UserLogin>> {
        let username = username.to_string();
        self.read(move |c| {
            Ok(c.prepare_cached(&format!("SELECT {USER_COLUMNS}, password_hash, failed_logins, locked_until FROM users WHERE username = ?1"))?
                .query_row([username], |r| {
                    Ok(UserLogin {
                        user: user_from_row(r)?,
                        password_hash: r.get("password_hash")?,
                        failed_logins: r.get("failed_logins")?,
                        locked_until: r.get::<_, Option<i64>>("locked_until")?.map(from_micros),
                    })
                })
                .optional()?)
        })
        .await
    }

    async fn record_login(&self, user_id: UserId, success: bool, locked_until: Option<DateTime<Utc>>) -> Result<()> {
        self.write(move |tx| {
            if success {
                tx.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1", [user_id])?;
            } else {
                tx.execute("UPDATE users SET failed_logins = failed_logins + 1, locked_until = ?2 WHERE id = ?1", params![user_id, locked_until.map(micros)])?;
            }
            Ok(())
        })
        .await
    }

    async fn set_password(&self, user_id: UserId, password_hash: &str, audit: &AuditEvent) -> Result<()> {
        let (h, audit) = (password_hash.to_string(), audit.clone());
        self.write(move |tx| {
            tx.execute("UPDATE users SET password_hash = ?2, failed_logins = 0, locked_until = NULL WHERE id = ?1", params![user_id, h])?;
            append_chained(tx, vec![audit.with_detail(serde_json::json!({ "target_user_id": user_id }))])?;
            Ok(())
        })
        .await
    }

    async fn update_user(&self, user_id: UserId, u: &UserUpdate, audit: &AuditEvent) -> Result<User> {
        let (u, audit) = (u.clone(), audit.clone());
        self.write(move |tx| {
            let before = tx.query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"), [user_id], user_from_row).optional()?.ok_or(StoreError::NotFound)?;
            tx.execute(
                "UPDATE users SET display_name = ?2, dept_id = ?3, roles = ?4, active = ?5 WHERE id = ?1",
                params![user_id, u.display_name, u.dept_id, roles_text(&u.roles), u.active],
            )?;
            let after = tx.query_row(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"), [user_id], user_from_row)?;
            append_chained(tx, vec![audit.with_detail(user_change_detail(&before, &after))])?;
            Ok(after)
        })
        .await
    }

    async fn create_session(&self, token_hash: &str, user_id: UserId, kind: SessionKind, name: Option<&str>, now: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) -> Result<()> {
        let (t, n) = (token_hash.to_string(), name.map(str::to_string));
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO sessions (token_hash, user_id, kind, name, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![t, user_id, kind.as_str(), n, micros(now), expires_at.map(micros)],
            )?;
            Ok(())
        })
        .await
    }

    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let t = token_hash.to_string();
        self.read(move |c| {
            Ok(c.prepare_cached(&format!(
                "SELECT {} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?1 AND (s.expires_at IS NULL OR s.expires_at > ?2) AND u.active = 1",
                USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")
            ))?
            .query_row(params![t, micros(now)], user_from_row)
            .optional()?)
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let t = token_hash.to_string();
        self.write(move |tx| {
            tx.execute("DELETE FROM sessions WHERE token_hash = ?1", [t])?;
            Ok(())
        })
        .await
    }

    async fn create_archive(&self, data: &ArchiveData, numbering: &Numbering, audit: &AuditEvent) -> Result<Archive> {
        let (data, numbering, audit) = (data.clone(), numbering.clone(), audit.clone());
        let id = self
            .write(move |tx| {
                let seq = next_number(tx, &numbering.scheme.period_key(numbering.date, &numbering.dept_code))?;
                let no = numbering.scheme.render(numbering.date, &numbering.dept_code, seq);
                let id = insert_archive(tx, &no, &data, audit.actor_id(), micros(audit.at))?;
                retention::refresh_retention(tx, id, micros(audit.at))?;
                index_archive(tx, id, &dangan_core::search::archive_terms(&data, &[]))?;
                insert_keys(tx, id, &dangan_core::dedup::archive_keys(&data, ArchiveColumns::of(&data).id_hash, &[]))?;
                append_chained(tx, vec![audit.with_archive(id, &no)])?;
                Ok(id)
            })
            .await?;
        self.get_archive(id).await?.ok_or(StoreError::NotFound)
    }

    async fn get_archive(&self, id: ArchiveId) -> Result<Option<Archive>> {
        self.read(move |c| get_archive_where(c, "a.id = ?1", &id)).await
    }

    async fn get_archive_by_no(&self, archive_no: &str) -> Result<Option<Archive>> {
        let no = archive_no.to_string();
        self.read(move |c| get_archive_where(c, "a.archive_no = ?1", &no)).await
    }

    async fn update_archive(&self, id: ArchiveId, expected_version: i64, data: &ArchiveData, reason: Option<&str>, audit: &AuditEvent) -> Result<Archive> {
        let (data, reason, audit) = (data.clone(), reason.map(str::to_string), audit.clone());
        let (actor, now) = (audit.actor_id(), audit.at);
        self.write(move |tx| {
            let current: Option<i64> = tx.query_row("SELECT version FROM archives WHERE id = ?1", [id], |r| r.get(0)).optional()?;
            let current = current.ok_or(StoreError::NotFound)?;
            if current != expected_version {
                return Err(StoreError::Conflict { current });
            }
            write_version(tx, id, current, &data, reason.as_deref(), actor, micros(now))?;
            retention::refresh_retention(tx, id, micros(now))?;
            reindex_archive(tx, id)?;
            let archive = get_archive_where(tx, "a.id = ?1", &id)?.ok_or(StoreError::NotFound)?;
            append_chained(tx, vec![audit.with_archive(id, &archive.archive_no)])?;
            Ok(archive)
        })
        .await
    }

    async fn list_archives(&self, query: &ArchiveQuery) -> Result<Vec<ArchiveSummary>> {
        let (text, params) = sql::list_query(Dialect::Sqlite, query);
        self.query_rows(text, params, summary_from_row).await
    }

    async fn count_archives(&self, filter: &ArchiveFilter) -> Result<i64> {
        let (text, params) = sql::count_query(Dialect::Sqlite, filter);
        self.read(move |c| Ok(c.prepare_cached(&sqlite_placeholders(&text))?.query_row(rusqlite::params_from_iter(params.iter()), |r| r.get(0))?)).await
    }

    async fn count_archives_upto(&self, filter: &ArchiveFilter, cap: i64) -> Result<i64> {
        let (text, params) = sql::count_upto_query(Dialect::Sqlite, filter, cap);
        self.read(move |c| Ok(c.prepare_cached(&sqlite_placeholders(&text))?.query_row(rusqlite::params_from_iter(params.iter()), |r| r.get(0))?)).await
    }

    async fn list_versions(&self, id: ArchiveId) -> Result<Vec<VersionRecord>> {
        self.read(move |c| {
            let mut st = c.prepare_cached("SELECT version, data, changed_by, changed_at, reason FROM archive_versions WHERE archive_id = ?1
                 UNION ALL SELECT a.version, d.data, a.version_by, a.version_at, a.change_reason FROM archives a JOIN archive_documents d ON d.archive_id = a.id
                 WHERE a.id = ?1 ORDER BY 1")?;
            let mut rows = st.query([id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(VersionRecord {
                    archive_id: id,
                    version: r.get(0)?,
                    data: serde_json::from_str(&r.get::<_, String>(1)?)?,
                    changed_by: r.get(2)?,
                    changed_at: from_micros(r.get(3)?),
                    reason: r.get(4)?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn add_contact(&self, archive_id: ArchiveId, contact: &ContactData, audit: &AuditEvent) -> Result<Contact> {
        let (contact, audit) = (contact.clone(), audit.clone());
        let (actor, now) = (audit.actor_id(), audit.at);
        self.write(move |tx| {
            let no = touch_archive(tx, archive_id, actor, micros(now))?;
            let id = insert_contact(tx, archive_id, &contact, &serde_json::to_string(&contact)?, actor, micros(now))?;
            reindex_archive(tx, archive_id)?;
            append_chained(tx, vec![audit.with_archive(archive_id, &no).with_detail(serde_json::json!({ "contact_id": id }))])?;
            Ok(Contact { id, archive_id, data: contact })
        })
        .await
    }

    async fn update_contact(&self, archive_id: ArchiveId, contact_id: i64, contact: &ContactData, audit: &AuditEvent) -> Result<Contact> {
        let (contact, audit) = (contact.clone(), audit.clone());
        let (actor, now) = (audit.actor_id(), audit.at);
        self.write(move |tx| {
            let n = tx.execute(
                "UPDATE contacts SET name = ?3, mobile = ?4, data = ?5, updated_by = ?6, updated_at = ?7 WHERE id = ?1 AND archive_id = ?2",
                params![contact_id, archive_id, contact.name, contact.mobile, serde_json::to_string(&contact)?, actor, micros(now)],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let no = touch_archive(tx, archive_id, actor, micros(now))?;
            reindex_archive(tx, archive_id)?;
            append_chained(tx, vec![audit.with_archive(archive_id, &no).with_detail(serde_json::json!({ "contact_id": contact_id }))])?;
            Ok(Contact { id: contact_id, archive_id, data: contact })
        })
        .await
    }

    async fn list_contacts(&self, archive_id: ArchiveId) -> Result<Vec<Contact>> {
        self.read(move |c| {
            let mut st = c.prepare_cached("SELECT id, archive_id, data FROM contacts WHERE archive_id = ?1 ORDER BY id")?;
            let mut rows = st.query([archive_id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(contact_from_row(r)?);
            }
            Ok(out)
        })
        .await
    }

    async fn add_entry(&self, archive_id: ArchiveId, entry: &EntryData, audit: &AuditEvent) -> Result<TimelineEntry> {
        let (entry, audit) = (entry.clone(), audit.clone());
        let (actor, now) = (audit.actor_id(), audit.at);
        self.write(move |tx| {
            if let Some(old) = entry.supersedes {
                let owner: Option<i64> = tx.query_row("SELECT archive_id FROM timeline_entries WHERE id = ?1", [old], |r| r.get(0)).optional()?;
                if owner != Some(archive_id) {
                    return Err(StoreError::NotFound);
                }
            }
            let no = touch_archive(tx, archive_id, actor, micros(now))?;
            let id = insert_entry(tx, archive_id, &entry, &serde_json::to_string(&entry)?, actor, micros(now))?;
            dates::refresh_dates(tx, archive_id)?;
            retention::refresh_retention(tx, archive_id, micros(now))?;
            append_chained(tx, vec![audit.with_archive(archive_id, &no).with_detail(serde_json::json!({ "entry_id": id, "supersedes": entry.supersedes }))])?;
            Ok(TimelineEntry { id, archive_id, data: entry, superseded_by: None, created_by: actor, created_at: from_micros(micros(now)) })
        })
        .await
    }

    async fn list_entries(&self, archive_id: ArchiveId) -> Result<Vec<TimelineEntry>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, archive_id, data, created_by, created_at FROM timeline_entries WHERE archive_id = ?1 ORDER BY occurred_on DESC, id DESC",
            )?;
            let mut rows = st.query([archive_id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(entry_from_row(r)?);
            }
            link_superseded(&mut out);
            Ok(out)
        })
        .await
    }

    async fn add_attachment(&self, a: &NewAttachment, audit: &AuditEvent) -> Result<Attachment> {
        let (a, audit) = (a.clone(), audit.clone());
        self.write(move |tx| {
            let no = touch_archive(tx, a.archive_id, a.created_by, micros(a.created_at))?;
            tx.execute(
                "INSERT INTO attachments (archive_id, sha256, filename, content_type, size, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![a.archive_id, a.sha256, a.filename, a.content_type, a.size, a.created_by, micros(a.created_at)],
            )?;
            let id = tx.last_insert_rowid();
            append_chained(
                tx,
                vec![audit.with_archive(a.archive_id, &no).with_detail(serde_json::json!({ "attachment_id": id, "sha256": a.sha256, "filename": a.filename, "size": a.size }))],
            )?;
            Ok(Attachment {
                id,
                archive_id: a.archive_id,
                sha256: a.sha256,
                filename: a.filename,
                content_type: a.content_type,
                size: a.size,
                created_by: a.created_by,
                created_at: from_micros(micros(a.created_at)),
            })
        })
        .await
    }

    async fn list_attachments(&self, archive_id: ArchiveId) -> Result<Vec<Attachment>> {
        self.read(move |c| {
            let mut st = c.prepare_cached("SELECT id, archive_id, sha256, filename, content_type, size, created_by, created_at FROM attachments WHERE archive_id = ?1 ORDER BY id")?;
            let rows = st.query_map([archive_id], attachment_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn get_attachment(&self, id: i64) -> Result<Option<Attachment>> {
        self.read(move |c| {
            Ok(c.prepare_cached("SELECT id, archive_id, sha256, filename, content_type, size, created_by, created_at FROM attachments WHERE id = ?1")?
                .query_row([id], attachment_from_row)
                .optional()?)
        })
        .await
    }

    async fn create_access_request(&self, r: &NewAccessRequest, audit: &AuditEvent) -> Result<AccessRequest> {
        let (r, audit) = (r.clone(), audit.clone());
        let now = audit.at;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO access_requests (archive_id, requester_id, purpose, sections, actions, hours, chain, step, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 'pending', ?8)",
                params![r.archive_id, r.requester_id, r.purpose, r.sections.join(","), actions_text(&r.actions), r.hours, chain_text(&r.chain), micros(now)],
            )?;
            let req = request_by_id(tx, tx.last_insert_rowid())?.ok_or(StoreError::NotFound)?;
            let no = archive_no_of(tx, req.archive_id)?;
            append_chained(tx, vec![audit.with_archive(req.archive_id, &no).with_detail(request_detail(&req))])?;
            Ok(req)
        })
        .await
    }

    async fn get_access_request(&self, id: i64) -> Result<Option<AccessRequest>> {
        self.read(move |c| request_by_id(c, id)).await
    }

    async fn list_access_requests(&self, q: &RequestQuery) -> Result<Vec<AccessRequest>> {
        let q = q.clone();
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {REQUEST_COLUMNS} FROM access_requests WHERE (?1 IS NULL OR requester_id = ?1) AND (?2 IS NULL OR archive_id = ?2)
                 AND (?3 IS NULL OR status = ?3) ORDER BY id DESC LIMIT ?4"
            ))?;
            let rows = st.query_map(params![q.requester_id, q.archive_id, q.status.map(|s| s.as_str()), q.limit.clamp(1, 1000)], request_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn list_decisions(&self, request_id: i64) -> Result<Vec<ApprovalRecord>> {
        self.read(move |c| {
            let mut st = c.prepare_cached("SELECT request_id, step, step_kind, approver_id, approved, comment, decided_at FROM approval_decisions WHERE request_id = ?1 ORDER BY step")?;
            let rows = st.query_map([request_id], |r| {
                Ok(ApprovalRecord {
                    request_id: r.get(0)?,
                    step: r.get(1)?,
                    step_kind: ApprovalStep::parse(&r.get::<_, String>(2)?).unwrap_or(ApprovalStep::GeneralManager),
                    approver_id: r.get(3)?,
                    approved: r.get(4)?,
                    comment: r.get(5)?,
                    decided_at: from_micros(r.get(6)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn decide_access_request(
        &self,
        request_id: i64,
        step: i64,
        approver_id: UserId,
        approved: bool,
        comment: &str,
        grant_expires_at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<AccessRequest> {
        let (comment, audit) = (comment.to_string(), audit.clone());
        let now = audit.at;
        self.write(move |tx| {
            let req = request_by_id(tx, request_id)?.ok_or(StoreError::NotFound)?;
            if req.status != RequestStatus::Pending || req.step != step {
                return Err(StoreError::Conflict { current: req.step });
            }
            let kind = req.chain.get(step as usize).copied().ok_or(StoreError::Conflict { current: req.step })?;
            tx.execute(
                "INSERT INTO approval_decisions (request_id, step, step_kind, approver_id, approved, comment, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![request_id, step, kind.as_str(), approver_id, approved, comment, micros(now)],
            )?;
            let (status, next_step, grant) = next_state(&req, approved);
            let closed = (status != RequestStatus::Pending).then(|| micros(now));
            tx.execute("UPDATE access_requests SET status = ?2, step = ?3, closed_at = ?4 WHERE id = ?1", params![request_id, status.as_str(), next_step, closed])?;
            let mut detail = serde_json::json!({ "request_id": request_id, "step": step, "step_kind": kind.as_str(), "approved": approved, "comment": comment });
            if grant {
                tx.execute(
                    "INSERT INTO grants (user_id, archive_id, actions, request_id, granted_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![req.requester_id, req.archive_id, actions_text(&req.actions), request_id, micros(now), micros(grant_expires_at)],
                )?;
                detail["grant_id"] = tx.last_insert_rowid().into();
                detail["grant_expires_at"] = serde_json::json!(grant_expires_at);
            }
            let no = archive_no_of(tx, req.archive_id)?;
            append_chained(tx, vec![audit.with_archive(req.archive_id, &no).with_detail(detail)])?;
            request_by_id(tx, request_id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn cancel_access_request(&self, request_id: i64, requester_id: UserId, audit: &AuditEvent) -> Result<AccessRequest> {
        let audit = audit.clone();
        let now = audit.at;
        self.write(move |tx| {
            let req = request_by_id(tx, request_id)?.ok_or(StoreError::NotFound)?;
            if req.requester_id != requester_id {
                return Err(StoreError::NotFound);
            }
            if req.status != RequestStatus::Pending {
                return Err(StoreError::Conflict { current: req.step });
            }
            tx.execute("UPDATE access_requests SET status = 'cancelled', closed_at = ?2 WHERE id = ?1", params![request_id, micros(now)])?;
            let no = archive_no_of(tx, req.archive_id)?;
            append_chained(tx, vec![audit.with_archive(req.archive_id, &no).with_detail(serde_json::json!({ "request_id": request_id }))])?;
            request_by_id(tx, request_id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn active_grants(&self, user_id: UserId, archive_id: Option<ArchiveId>, now: DateTime<Utc>) -> Result<Vec<Grant>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(
                "SELECT id, user_id, archive_id, actions, request_id, granted_at, expires_at, revoked_at FROM grants
                 WHERE user_id = ?1 AND (?2 IS NULL OR archive_id = ?2) AND expires_at > ?3 AND revoked_at IS NULL ORDER BY expires_at",
            )?;
            let rows = st.query_map(params![user_id, archive_id, micros(now)], grant_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn create_loan(&self, l: &NewLoan, audit: &AuditEvent) -> Result<Loan> {
        let (l, audit) = (l.clone(), audit.clone());
        let now = audit.at;
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO loans (archive_id, borrower_id, kind, purpose, lent_by, lent_at, due_at, grant_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![l.archive_id, l.borrower_id, l.kind.as_str(), l.purpose, l.lent_by, micros(now), micros(l.due_at), l.grant_id],
            )?;
            let loan = loan_by_id(tx, tx.last_insert_rowid())?.ok_or(StoreError::NotFound)?;
            let no = archive_no_of(tx, loan.archive_id)?;
            append_chained(tx, vec![audit.with_archive(loan.archive_id, &no).with_detail(loan_detail(&loan))])?;
            Ok(loan)
        })
        .await
    }

    async fn return_loan(&self, id: i64, complete: bool, note: &str, audit: &AuditEvent) -> Result<Loan> {
        let (note, audit) = (note.to_string(), audit.clone());
        let (checked_by, now) = (audit.actor_id(), audit.at);
        self.write(move |tx| {
            let loan = loan_by_id(tx, id)?.ok_or(StoreError::NotFound)?;
            if loan.returned_at.is_some() {
                return Err(StoreError::Conflict { current: 1 });
            }
            tx.execute(
                "UPDATE loans SET returned_at = ?2, returned_complete = ?3, checked_by = ?4, return_note = ?5 WHERE id = ?1 AND returned_at IS NULL",
                params![id, micros(now), complete, checked_by, note],
            )?;
            let loan = loan_by_id(tx, id)?.ok_or(StoreError::NotFound)?;
            let no = archive_no_of(tx, loan.archive_id)?;
            append_chained(tx, vec![audit.with_archive(loan.archive_id, &no).with_detail(loan_detail(&loan))])?;
            Ok(loan)
        })
        .await
    }

    async fn list_loans(&self, q: &LoanQuery) -> Result<Vec<Loan>> {
        let q = q.clone();
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {LOAN_COLUMNS} FROM loans WHERE (?1 IS NULL OR borrower_id = ?1) AND (?2 = 0 OR returned_at IS NULL)
                 AND (?3 IS NULL OR (returned_at IS NULL AND due_at < ?3)) ORDER BY due_at, id LIMIT ?4"
            ))?;
            let rows = st.query_map(params![q.borrower_id, q.open_only, q.overdue_at.map(micros), q.limit.clamp(1, 1000)], loan_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn get_loan(&self, id: i64) -> Result<Option<Loan>> {
        self.read(move |c| loan_by_id(c, id)).await
    }

    async fn search(&self, req: &SearchRequest) -> Result<Vec<SearchHit>> {
        let (text, params) = sql::search_query(req, &sql::SQLITE_TEXT);
        self.read(move |c| {
            let mut st = c.prepare_cached(&sqlite_placeholders(&text))?;
            let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(SearchHit { key: r.get(17)?, summary: summary_from_row(r)? });
            }
            Ok(out)
        })
        .await
    }

    async fn count_search(&self, req: &SearchRequest, cap: i64) -> Result<i64> {
        let (text, params) = sql::search_count_query(req, &sql::SQLITE_TEXT, cap);
        self.read(move |c| Ok(c.prepare_cached(&sqlite_placeholders(&text))?.query_row(rusqlite::params_from_iter(params.iter()), |r| r.get(0))?)).await
    }

    /// Everything anew, in one transaction, in order of last activity (so the sequence keeps
    /// meaning "most recently changed first"). A reader thread parses documents and computes
    /// terms while the writer inserts; it starts its snapshot after the writer holds the lock,
    /// so no change slips in between.
    async fn reindex(&self) -> Result<u64> {
        let reader = self.readers.get().await.map_err(|e| StoreError::Db(format!("connection pool: {e:?}")))?;
        self.write(move |tx| {
            // The duplicate-check keys' indexes are built once at the end, sorted, instead of row
            // by row (a fifth of the rebuild at 100k); dropped and recreated in this transaction,
            // so a failed rebuild leaves them as they were.
            let key_indexes = take_indexes(tx, &["dedup_keys"])?;
            tx.execute_batch("DELETE FROM search_docs; INSERT INTO search_fts (search_fts) VALUES ('delete-all'); DELETE FROM dedup_keys;")?;
            // FTS5 keeps this much of the pending terms in memory before it writes a segment
            // (default 1 MiB): a rebuild then writes a few large segments instead of hundreds of
            // small ones that its automatic merges rewrite again and again. Persistent (FTS5
            // config), harmless for small transactions, which flush at commit anyway.
            set_text_index_option(tx, "hashsize", TEXT_INDEX_HASH_BYTES)?;
            let (send, recv) = std::sync::mpsc::sync_channel::<Vec<(i64, String, Vec<String>)>>(8);
            std::thread::scope(|scope| {
                let producer = scope.spawn(move || -> Result<()> {
                    let c: &Connection = &reader;
                    c.execute_batch("BEGIN")?;
                    let result = (|| -> Result<()> {
                        let mut st = c.prepare(
                            "SELECT a.id, d.data, a.id_hash FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.merged_into IS NULL AND a.destroyed_at IS NULL ORDER BY a.updated_at, a.id",
                        )?;
                        let mut rows = st.query([])?;
                        let mut batch = Vec::with_capacity(1000);
                        while let Some(r) = rows.next()? {
                            let id: i64 = r.get(0)?;
                            let data: ArchiveData = serde_json::from_str(&r.get::<_, String>(1)?)?;
                            let id_hash: Option<String> = r.get(2)?;
                            let contacts = stored_contacts(c, id)?;
                            batch.push((id, dangan_core::search::archive_terms(&data, &contacts), dangan_core::dedup::archive_keys(&data, id_hash.as_deref(), &contacts)));
                            if batch.len() == 1000 && send.send(std::mem::take(&mut batch)).is_err() {
                                return Ok(());
                            }
                        }
                        if !batch.is_empty() {
                            let _ = send.send(batch);
                        }
                        Ok(())
                    })();
                    c.execute_batch("COMMIT")?;
                    result
                });
                let mut n = 0u64;
                for batch in recv {
                    for (id, terms, keys) in batch {
                        insert_search_doc(tx, id, &terms)?;
                        insert_keys(tx, id, &keys)?;
                        n += 1;
                    }
                }
                producer.join().map_err(|_| StoreError::Db("reindex reader failed".into()))??;
                for (_, sql) in &key_indexes {
                    tx.execute_batch(sql)?;
                }
                tx.execute(&sqlite_placeholders(sql::MARK_DERIVED), [SEARCH_TERMS_STATE])?;
                optimize_text_index(tx)?;
                Ok(n)
            })
        })
        .await
    }

    async fn search_index_bytes(&self) -> Result<i64> {
        self.read(|c| Ok(c.query_row("SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name LIKE 'search%'", [], |r| r.get(0))?)).await
    }

    async fn duplicate_candidates_batch(&self, probes: &[Vec<String>]) -> Result<Vec<Vec<DuplicateCandidate>>> {
        let keys = distinct_keys(probes);
        if keys.is_empty() {
            return Ok(vec![Vec::new(); probes.len()]);
        }
        let probes = probes.to_vec();
        let json = serde_json::to_string(&keys)?;
        self.read(move |c| {
            let mut st = c.prepare_cached(&sql::candidates_query("key IN (SELECT value FROM json_each(?1))"))?;
            let mut rows = st.query([json])?;
            let mut hits = Vec::new();
            while let Some(r) = rows.next()? {
                hits.push((r.get::<_, String>(17)?, summary_from_row(r)?));
            }
            Ok(candidates_for(&probes, hits))
        })
        .await
    }

    async fn duplicate_pairs(&self, after: Option<PairCursor>, limit: u32) -> Result<Vec<DuplicatePair>> {
        let (text, params) = sql::duplicate_pairs_query(after, limit);
        self.read(move |c| {
            let raw: Vec<(i64, i64, i64)> = c
                .prepare_cached(&sqlite_placeholders(&text))?
                .query_map(rusqlite::params_from_iter(params.iter()), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut ids: Vec<i64> = raw.iter().flat_map(|(_, a, b)| [*a, *b]).collect();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let (rows_sql, keys_sql) = sql::pair_rows_queries(&ids);
            let mut summaries = Vec::new();
            let mut st = c.prepare(&rows_sql)?;
            let mut rows = st.query([])?;
            while let Some(r) = rows.next()? {
                summaries.push(summary_from_row(r)?);
            }
            let keys: Vec<(i64, String)> = c.prepare(&keys_sql)?.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
            Ok(pairs_from(raw, summaries, keys))
        })
        .await
    }

    async fn dedup_keys(&self, archive_id: ArchiveId) -> Result<Vec<String>> {
        self.read(move |c| {
            Ok(c.prepare_cached("SELECT key FROM dedup_keys WHERE archive_id = ?1 ORDER BY key")?.query_map([archive_id], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?)
        })
        .await
    }

    async fn merge_archives(&self, m: &MergeRequest, audit: &AuditEvent) -> Result<MergeOutcome> {
        let (m, audit) = (m.clone(), audit.clone());
        let (actor, at) = (audit.actor_id(), micros(audit.at));
        self.write(move |tx| {
            let state = |id: i64| -> Result<(i64, Option<i64>, String)> {
                tx.prepare_cached("SELECT version, merged_into, archive_no FROM archives WHERE id = ?1")?
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?
                    .ok_or(StoreError::NotFound)
            };
            let (sv, s_merged, _) = state(m.survivor_id)?;
            let (mv, m_merged, merged_no) = state(m.merged_id)?;
            if m.survivor_id == m.merged_id || s_merged.is_some() || sv != m.survivor_version {
                return Err(StoreError::Conflict { current: sv });
            }
            if m_merged.is_some() || mv != m.merged_version {
                return Err(StoreError::Conflict { current: mv });
            }
            write_version(tx, m.survivor_id, sv, &m.data, Some(&m.reason), actor, at)?;
            tx.prepare_cached("UPDATE archives SET merged_into = ?2, updated_by = ?3, updated_at = ?4 WHERE id = ?1")?.execute(params![m.merged_id, m.survivor_id, actor, at])?;
            // Earlier tombstones of the merged archive now point at the survivor (one hop).
            tx.prepare_cached("UPDATE archives SET merged_into = ?2 WHERE merged_into = ?1")?.execute(params![m.merged_id, m.survivor_id])?;
            let mut moved = [0u64; 3];
            for (i, table) in ["contacts", "timeline_entries", "attachments"].iter().enumerate() {
                moved[i] = tx
                    .prepare_cached(&format!("UPDATE {table} SET archive_id = ?2, origin_archive_id = COALESCE(origin_archive_id, ?1) WHERE archive_id = ?1"))?
                    .execute(params![m.merged_id, m.survivor_id])? as u64;
            }
            reindex_archive(tx, m.merged_id)?;
            reindex_archive(tx, m.survivor_id)?;
            retention::refresh_retention(tx, m.survivor_id, at)?;
            let archive = get_archive_where(tx, "a.id = ?1", &m.survivor_id)?.ok_or(StoreError::NotFound)?;
            let mut detail: serde_json::Value = serde_json::from_str(&audit.detail).unwrap_or_else(|_| serde_json::json!({}));
            detail["merged_id"] = m.merged_id.into();
            detail["merged_no"] = merged_no.clone().into();
            detail["moved"] = serde_json::json!({ "contacts": moved[0], "entries": moved[1], "attachments": moved[2] });
            append_chained(tx, vec![audit.with_archive(m.survivor_id, &archive.archive_no).with_detail(detail)])?;
            Ok(MergeOutcome { archive, merged_no, moved_contacts: moved[0], moved_entries: moved[1], moved_attachments: moved[2] })
        })
        .await
    }

    async fn moved_parts(&self, archive_id: ArchiveId) -> Result<Vec<MovedPart>> {
        self.read(move |c| {
            let mut out = Vec::new();
            for (kind, table) in [("contact", "contacts"), ("entry", "timeline_entries"), ("attachment", "attachments")] {
                let mut st = c.prepare_cached(&format!("SELECT id, origin_archive_id FROM {table} WHERE archive_id = ?1 AND origin_archive_id IS NOT NULL ORDER BY id"))?;
                let rows = st.query_map([archive_id], |r| Ok(MovedPart { kind, id: r.get(0)?, origin_archive_id: r.get(1)? }))?;
                out.extend(rows.collect::<rusqlite::Result<Vec<_>>>()?);
            }
            Ok(out)
        })
        .await
    }

    async fn bulk_load(&self, batch: Vec<BulkArchive>, scheme: &NumberScheme, dept_code: &str, audit: &AuditEvent) -> Result<usize> {
        let (scheme, dept_code, audit) = (scheme.clone(), dept_code.to_string(), audit.clone());
        self.write(move |tx| {
            let created = insert_bulk(tx, batch.iter(), &scheme, &dept_code, audit.actor_id(), DEMO_LOAD_CACHE_KIB)?;
            let first = created.first().map(|c| c.1.clone()).unwrap_or_default();
            let last = created.last().map(|c| c.1.clone()).unwrap_or_default();
            append_chained(tx, vec![audit.with_detail(serde_json::json!({ "count": created.len(), "first_no": first, "last_no": last }))])?;
            Ok(created.len())
        })
        .await
    }

    async fn create_import(&self, job: &NewImport, audit: &AuditEvent) -> Result<ImportJob> {
        let (job, audit) = (job.clone(), audit.clone());
        self.write(move |tx| {
            let c = job.counts;
            let options = serde_json::to_string(&job.options)?;
            tx.execute(
                "INSERT INTO imports (file_name, file_sha256, file_size, format, user_id, status, options, total_rows, processed, imported, merged, skipped, failed, message, created_at, updated_at, finished_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, CASE WHEN ?16 THEN ?15 END)",
                params![job.file_name, job.file_sha256, job.file_size, job.format, job.user_id, job.status.as_str(), options, c.total, c.processed, c.imported, c.merged, c.skipped, c.failed, job.message, micros(job.now), job.status.is_finished()],
            )?;
            let id = tx.last_insert_rowid();
            append_chained(tx, vec![audit.with_detail(serde_json::json!({ "import_id": id, "file": job.file_name, "sha256": job.file_sha256, "size": job.file_size, "status": job.status.as_str(), "counts": c }))])?;
            import_by_id(tx, id)
        })
        .await
    }

    async fn get_import(&self, id: i64) -> Result<Option<ImportJob>> {
        self.read(move |c| match import_by_id(c, id) {
            Ok(j) => Ok(Some(j)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    async fn list_imports(&self, user_id: Option<UserId>, limit: u32) -> Result<Vec<ImportJob>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!("SELECT {IMPORT_COLUMNS} FROM imports WHERE (?1 IS NULL OR user_id = ?1) ORDER BY id DESC LIMIT ?2"))?;
            let rows = st.query_map(params![user_id, limit], import_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn set_import_status(&self, id: i64, status: ImportStatus, counts: Option<ImportCounts>, message: &str, now: DateTime<Utc>) -> Result<ImportJob> {
        let message = message.to_string();
        self.write(move |tx| {
            let n = tx.execute("UPDATE imports SET status = ?2, message = ?3, updated_at = ?4, cancel_requested = CASE WHEN ?2 = 'running' THEN 0 ELSE cancel_requested END WHERE id = ?1",
                params![id, status.as_str(), message, micros(now)])?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            if let Some(c) = counts {
                tx.execute(
                    "UPDATE imports SET total_rows = ?2, processed = ?3, imported = ?4, merged = ?5, skipped = ?6, failed = ?7 WHERE id = ?1",
                    params![id, c.total, c.processed, c.imported, c.merged, c.skipped, c.failed],
                )?;
            }
            import_by_id(tx, id)
        })
        .await
    }

    async fn finish_import(&self, id: i64, status: ImportStatus, message: &str, audit: &AuditEvent) -> Result<ImportJob> {
        let (message, audit) = (message.to_string(), audit.clone());
        self.write(move |tx| {
            let at = micros(audit.at);
            let n = tx.execute("UPDATE imports SET status = ?2, message = ?3, updated_at = ?4, finished_at = ?4 WHERE id = ?1", params![id, status.as_str(), message, at])?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            let job = import_by_id(tx, id)?;
            append_chained(tx, vec![audit.with_detail(import_detail(&job))])?;
            Ok(job)
        })
        .await
    }

    async fn request_import_cancel(&self, id: i64) -> Result<bool> {
        self.write(move |tx| Ok(tx.execute("UPDATE imports SET cancel_requested = 1 WHERE id = ?1 AND status IN ('running', 'analyzed')", [id])? > 0)).await
    }

    async fn imported_fingerprints(&self, fingerprints: Vec<Fingerprint>, except_import: Option<i64>) -> Result<Vec<Fingerprint>> {
        if fingerprints.is_empty() {
            return Ok(Vec::new());
        }
        self.read(move |c| {
            let mut st = c.prepare_cached("SELECT 1 FROM import_rows WHERE fingerprint = ?1 AND import_id IS NOT ?2")?;
            let mut out = Vec::new();
            for f in fingerprints {
                if st.exists(params![&f[..], except_import])? {
                    out.push(f);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn import_batch(&self, import_id: i64, rows: Vec<ImportRow>, counts: BatchCounts, scheme: &NumberScheme, dept_code: &str, audit: &AuditEvent) -> Result<Vec<ImportedRow>> {
        let (scheme, dept_code, audit) = (scheme.clone(), dept_code.to_string(), audit.clone());
        self.write(move |tx| {
            // A row imported before (by any import) is not imported again.
            let mut seen = tx.prepare_cached("SELECT 1 FROM import_rows WHERE fingerprint = ?1")?;
            let mut fresh = Vec::with_capacity(rows.len());
            let mut batch_prints = std::collections::HashSet::new();
            for r in &rows {
                if batch_prints.insert(r.fingerprint) && !seen.exists([&r.fingerprint[..]])? {
                    fresh.push(r);
                }
            }
            let skipped_again = (rows.len() - fresh.len()) as i64;
            let created = insert_bulk(tx, fresh.iter().map(|r| &r.archive), &scheme, &dept_code, audit.actor_id(), IMPORT_CACHE_KIB)?;
            let mut link = tx.prepare_cached("INSERT INTO import_rows (fingerprint, import_id, row_no, archive_id) VALUES (?1, ?2, ?3, ?4)")?;
            let mut out = Vec::with_capacity(created.len());
            for (r, (id, no)) in fresh.iter().zip(created) {
                link.execute(params![&r.fingerprint[..], import_id, r.row, id])?;
                out.push(ImportedRow { row: r.row, archive_id: id, archive_no: no });
            }
            let n = tx.execute(
                "UPDATE imports SET processed = processed + ?2, imported = imported + ?3, merged = merged + ?4, skipped = skipped + ?5, failed = failed + ?6, updated_at = ?7 WHERE id = ?1",
                params![import_id, counts.processed, out.len() as i64, counts.merged, counts.skipped + skipped_again, counts.failed, micros(audit.at)],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            if !out.is_empty() {
                let first = out.first().map(|c| c.archive_no.clone()).unwrap_or_default();
                let last = out.last().map(|c| c.archive_no.clone()).unwrap_or_default();
                append_chained(tx, vec![audit.with_detail(serde_json::json!({ "import_id": import_id, "count": out.len(), "first_no": first, "last_no": last }))])?;
            }
            Ok(out)
        })
        .await
    }

    async fn restore_archive(&self, a: &ArrivingArchive, audit: &AuditEvent) -> Result<Archive> {
        let (a, audit) = (a.clone(), audit.clone());
        self.write(move |tx| {
            let actor = audit.actor_id();
            let taken: bool = tx.prepare_cached("SELECT EXISTS(SELECT 1 FROM archives WHERE archive_no = ?1)")?.query_row([&a.archive_no], |r| r.get(0))?;
            if taken {
                return Err(StoreError::Duplicate(format!("archive number {} exists", a.archive_no)));
            }
            let at = micros(a.created_at);
            let id = insert_archive_json(tx, &a.archive_no, &a.data, &serde_json::to_string(&a.data)?, actor, at)?;
            for c in &a.contacts {
                insert_contact(tx, id, c, &serde_json::to_string(c)?, actor, at)?;
            }
            let mut ids: HashMap<i64, i64> = HashMap::new();
            for (old, e, when) in &a.entries {
                let mut e = e.clone();
                e.supersedes = e.supersedes.and_then(|s| ids.get(&s).copied());
                let new = insert_entry(tx, id, &e, &serde_json::to_string(&e)?, actor, micros(*when))?;
                ids.insert(*old, new);
            }
            for m in &a.attachments {
                tx.prepare_cached("INSERT INTO attachments (archive_id, sha256, filename, content_type, size, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?
                    .execute(params![id, m.sha256, m.filename, m.content_type, m.size, actor, micros(m.created_at)])?;
            }
            insert_search_doc(tx, id, &dangan_core::search::archive_terms(&a.data, &a.contacts))?;
            insert_keys(tx, id, &dangan_core::dedup::archive_keys(&a.data, ArchiveColumns::of(&a.data).id_hash, &a.contacts))?;
            if let Some((period, seq)) = &a.period {
                tx.prepare_cached("INSERT INTO number_counters (period, last_value) VALUES (?1, ?2) ON CONFLICT (period) DO UPDATE SET last_value = MAX(last_value, excluded.last_value)")?
                    .execute(params![period, *seq as i64])?;
            }
            append_chained(tx, vec![audit.with_archive(id, &a.archive_no)])?;
            get_archive_where(tx, "a.id = ?1", &id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    async fn append_audit(&self, events: Vec<AuditEvent>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        self.write(move |tx| append_chained(tx, events)).await
    }

    async fn list_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let (sql, params) = sql::audit_list(q, AUDIT_COLUMNS);
        self.query_rows(sql, params, audit_from_row).await
    }

    async fn audit_chain(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= ?1 ORDER BY seq LIMIT ?2"))?;
            let mut rows = st.query(params![from_seq, limit])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(audit_from_row(r)?);
            }
            Ok(out)
        })
        .await
    }

    async fn audit_head(&self) -> Result<Option<AuditRecord>> {
        self.read(|c| {
            let mut st = c.prepare_cached(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1"))?;
            let mut rows = st.query([])?;
            match rows.next()? {
                Some(r) => Ok(Some(audit_from_row(r)?)),
                None => Ok(None),
            }
        })
        .await
    }

    // --- keeping archives alive ---
    async fn due_dates(&self, q: &crate::lifecycle::DueDatesQuery) -> Result<Vec<crate::lifecycle::DueDate>> {
        dates::due_dates(self, q).await
    }
    async fn count_due_dates(&self, q: &crate::lifecycle::DueDatesQuery, day: NaiveDate) -> Result<Vec<crate::lifecycle::DueCount>> {
        dates::count_due_dates(self, q, day).await
    }
    async fn count_review_due(&self, filter: &ArchiveFilter, cutoffs: &crate::lifecycle::GradeCutoffs, cap: Option<i64>) -> Result<i64> {
        dates::count_review_due(self, filter, cutoffs, cap).await
    }
    async fn review_due(&self, filter: &ArchiveFilter, cutoffs: &crate::lifecycle::GradeCutoffs, limit: u32, large_book: bool) -> Result<Vec<crate::lifecycle::ReviewDue>> {
        dates::review_due(self, filter, cutoffs, limit, large_book).await
    }
    async fn mark_reviewed(&self, id: ArchiveId, audit: &AuditEvent) -> Result<()> {
        dates::mark_reviewed(self, id, audit).await
    }
    async fn follow_up_overdue(&self, cutoffs: &crate::lifecycle::GradeDateCutoffs, limit: u32) -> Result<Vec<crate::lifecycle::FollowUpOverdue>> {
        dates::follow_up_overdue(self, cutoffs, limit).await
    }
    async fn transfer(&self, t: &crate::lifecycle::Transfer) -> Result<crate::lifecycle::TransferResult> {
        dates::transfer(self, t).await
    }
    async fn get_handover(&self, id: i64) -> Result<Option<crate::lifecycle::HandoverRecord>> {
        dates::get_handover(self, id).await
    }
    async fn list_handovers(&self, limit: u32) -> Result<Vec<crate::lifecycle::HandoverRecord>> {
        dates::list_handovers(self, limit).await
    }
    async fn set_calendar_token(&self, user_id: UserId, token_hash: &str, audit: &AuditEvent) -> Result<()> {
        dates::set_calendar_token(self, user_id, token_hash, audit).await
    }
    async fn calendar_user(&self, token_hash: &str) -> Result<Option<User>> {
        dates::calendar_user(self, token_hash).await
    }
    async fn has_calendar_token(&self, user_id: UserId) -> Result<bool> {
        dates::has_calendar_token(self, user_id).await
    }

    async fn retention_info(&self, archive_id: ArchiveId) -> Result<RetentionInfo> {
        self.r_retention_info(archive_id).await
    }
    async fn disposal_due(&self, today: NaiveDate, after: Option<DueCursor>, limit: u32) -> Result<Vec<DueArchive>> {
        self.r_disposal_due(today, after, limit).await
    }
    async fn set_legal_hold(&self, archive_id: ArchiveId, reason: Option<&str>, audit: &AuditEvent) -> Result<RetentionInfo> {
        self.r_set_legal_hold(archive_id, reason, audit).await
    }
    async fn create_destruction(&self, r: &NewDestruction, audit: &AuditEvent) -> Result<DestructionRequest> {
        self.r_create_destruction(r, audit).await
    }
    async fn set_closed_on(&self, archive_id: ArchiveId, closed_at: DateTime<Utc>, audit: &AuditEvent) -> Result<RetentionInfo> {
        self.r_set_closed_on(archive_id, closed_at, audit).await
    }
    async fn get_destruction(&self, id: i64) -> Result<Option<DestructionRequest>> {
        self.r_get_destruction(id).await
    }
    async fn list_destructions(&self, status: Option<dangan_core::retention::DestructionStatus>, limit: u32) -> Result<Vec<DestructionRequest>> {
        self.r_list_destructions(status, limit).await
    }
    async fn decide_destruction(&self, id: i64, step: i64, approver_id: UserId, approved: bool, comment: &str, audit: &AuditEvent) -> Result<DestructionRequest> {
        self.r_decide_destruction(id, step, approver_id, approved, comment, audit).await
    }
    async fn cancel_destruction(&self, id: i64, audit: &AuditEvent) -> Result<DestructionRequest> {
        self.r_cancel_destruction(id, audit).await
    }
    async fn execute_destruction(&self, id: i64, witness_id: UserId, audit: &AuditEvent) -> Result<DestructionOutcome> {
        self.r_execute_destruction(id, witness_id, audit).await
    }
    async fn attachment_referenced(&self, sha256: &str) -> Result<bool> {
        self.r_attachment_referenced(sha256).await
    }
    async fn add_consent(&self, archive_id: ArchiveId, c: &dangan_core::retention::ConsentData, recorded_by: UserId, audit: &AuditEvent) -> Result<Consent> {
        self.r_add_consent(archive_id, c, recorded_by, audit).await
    }
    async fn withdraw_consent(&self, id: i64, on: NaiveDate, by: UserId, audit: &AuditEvent) -> Result<Consent> {
        self.r_withdraw_consent(id, on, by, audit).await
    }
    async fn list_consents(&self, archive_id: ArchiveId) -> Result<Vec<Consent>> {
        self.r_list_consents(archive_id).await
    }
    async fn get_consent(&self, id: i64) -> Result<Option<Consent>> {
        self.r_get_consent(id).await
    }
    async fn create_pipl_request(&self, r: &NewPiplRequest, audit: &AuditEvent) -> Result<PiplRequest> {
        self.r_create_pipl_request(r, audit).await
    }
    async fn get_pipl_request(&self, id: i64) -> Result<Option<PiplRequest>> {
        self.r_get_pipl_request(id).await
    }
    async fn list_pipl_requests(&self, open_only: bool, archive_id: Option<ArchiveId>, limit: u32) -> Result<Vec<PiplRequest>> {
        self.r_list_pipl_requests(open_only, archive_id, limit).await
    }
    async fn close_pipl_request(&self, id: i64, close: &PiplClose, audit: &AuditEvent) -> Result<PiplRequest> {
        self.r_close_pipl_request(id, close, audit).await
    }

    async fn policy_settings(&self) -> Result<Option<StoredPolicy>> {
        self.read(|c| settings_row(c, "policy_settings")).await
    }

    async fn policy_version(&self) -> Result<i64> {
        self.read(|c| Ok(c.prepare_cached("SELECT version FROM policy_settings WHERE id = 1")?.query_row([], |r| r.get(0)).optional()?.unwrap_or(0))).await
    }

    async fn put_policy_settings(&self, expected_version: i64, data: &str, updated_by: UserId, audit: &AuditEvent) -> Result<i64> {
        let (data, audit) = (data.to_string(), audit.clone());
        self.write(move |tx| put_settings_row(tx, "policy_settings", expected_version, &data, updated_by, audit)).await
    }

    async fn checklist_settings(&self) -> Result<Option<StoredPolicy>> {
        self.read(|c| settings_row(c, "checklist_settings")).await
    }

    async fn put_checklist_settings(&self, expected_version: i64, data: &str, updated_by: UserId, audit: &AuditEvent) -> Result<i64> {
        let (data, audit) = (data.to_string(), audit.clone());
        self.write(move |tx| put_settings_row(tx, "checklist_settings", expected_version, &data, updated_by, audit)).await
    }

    async fn add_checklist_mark(&self, m: &NewMark, audit: &AuditEvent) -> Result<dangan_core::checklist::Mark> {
        let (m, audit) = (m.clone(), audit.clone());
        self.write(move |tx| {
            let no: String = tx.query_row("SELECT archive_no FROM archives WHERE id = ?1", [m.archive_id], |r| r.get(0)).optional()?.ok_or(StoreError::NotFound)?;
            tx.execute(
                "INSERT INTO checklist_marks (archive_id, checklist, item, action, attachment_id, note, created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![m.archive_id, m.checklist, m.item, m.action.as_str(), m.attachment_id, m.note, m.created_by, micros(m.created_at)],
            )?;
            let id = tx.last_insert_rowid();
            append_chained(tx, vec![audit.with_archive(m.archive_id, &no)])?;
            Ok(dangan_core::checklist::Mark {
                id,
                archive_id: m.archive_id,
                checklist: m.checklist,
                item: m.item,
                action: m.action,
                attachment_id: m.attachment_id,
                note: m.note,
                created_by: m.created_by,
                created_at: from_micros(micros(m.created_at)),
            })
        })
        .await
    }

    async fn checklist_marks(&self, archive_ids: &[ArchiveId]) -> Result<Vec<dangan_core::checklist::Mark>> {
        let ids = serde_json::to_string(archive_ids)?;
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {} FROM checklist_marks WHERE archive_id IN (SELECT value FROM json_each(?1)) ORDER BY id",
                crate::checklists::MARK_COLUMNS
            ))?;
            let rows = st.query_map([ids], |r| {
                let action: String = r.get(4)?;
                Ok(dangan_core::checklist::Mark {
                    id: r.get(0)?,
                    archive_id: r.get(1)?,
                    checklist: r.get(2)?,
                    item: r.get(3)?,
                    action: dangan_core::checklist::MarkAction::parse(&action).unwrap_or(dangan_core::checklist::MarkAction::Withdrawn),
                    attachment_id: r.get(5)?,
                    note: r.get(6)?,
                    created_by: r.get(7)?,
                    created_at: from_micros(r.get(8)?),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .await
    }

    async fn checklist_archives(&self, scope: Option<&ListScope>, since: DateTime<Utc>, limit: u32) -> Result<Vec<Archive>> {
        let (text, params) = crate::checklists::candidates_query(Dialect::Sqlite, ARCHIVE_COLUMNS, ARCHIVE_FROM, scope, since, limit);
        self.query_rows(text, params, archive_from_row).await
    }

    async fn sweep_expired_grants(&self, now: DateTime<Utc>) -> Result<Vec<Grant>> {
        self.write(move |tx| {
            let expired: Vec<(Grant, String)> = tx
                .prepare_cached(
                    "SELECT g.id, g.user_id, g.archive_id, g.actions, g.request_id, g.granted_at, g.expires_at, g.revoked_at, a.archive_no
                     FROM grants g JOIN archives a ON a.id = g.archive_id WHERE g.expiry_audited = 0 AND g.expires_at <= ?1 ORDER BY g.expires_at, g.id",
                )?
                .query_map([micros(now)], |r| {
                    Ok((grant_from_row(r)?, r.get(8)?))
                })?
                .collect::<rusqlite::Result<_>>()?;
            if expired.is_empty() {
                return Ok(Vec::new());
            }
            let mut mark = tx.prepare_cached("UPDATE grants SET expiry_audited = 1 WHERE id = ?1")?;
            for (g, _) in &expired {
                mark.execute([g.id])?;
            }
            append_chained(tx, expired.iter().map(|(g, no)| grant_expired_event(g, no, now)).collect())?;
            Ok(expired.into_iter().map(|(g, _)| g).collect())
        })
        .await
    }

    /// Loading into an empty archive table: drop its secondary indexes (and those of the
    /// tables hanging off it) and build them once at the end, sorted, instead of updating them row
    /// by row. Their definitions are kept in `deferred_indexes` in the same transaction, so an
    /// interrupted load gets them back at the next start (`migrate`).
    async fn begin_bulk_load(&self) -> Result<()> {
        // A bulk load is one long series of batches that is restarted if interrupted: one fsync
        // per batch buys nothing. `end_bulk_load` makes the writer durable again.
        Self::with_conn(&self.writer, |c| Ok(c.execute_batch("PRAGMA synchronous = NORMAL;")?)).await?;
        self.write(|tx| defer_indexes_if_empty(tx).map(|_| ())).await
    }

    async fn begin_bulk_import(&self) -> Result<bool> {
        self.write(defer_indexes_if_empty).await
    }

    async fn snapshot(&self, dest: &Path, method: SnapshotMethod) -> Result<Snapshot> {
        let dest = dest.to_path_buf();
        if dest.exists() {
            return Err(StoreError::Db(format!("snapshot target {} exists", dest.display())));
        }
        // A reader connection: in WAL mode its read transaction does not block the writer, and
        // the copy is of one instant (the transaction's snapshot).
        self.read(move |c| {
            match method {
                SnapshotMethod::BackupApi => {
                    let mut out = Connection::open(&dest)?;
                    {
                        let backup = rusqlite::backup::Backup::new(c, &mut out)?;
                        // All pages in one step, so one read transaction: a step-wise copy
                        // restarts whenever another connection writes between steps.
                        match backup.step(-1)? {
                            rusqlite::backup::StepResult::Done => {}
                            other => return Err(StoreError::Db(format!("backup did not complete: {other:?}"))),
                        }
                    }
                    // The copy is a self-contained file: no WAL beside it.
                    out.execute_batch("PRAGMA journal_mode = DELETE;")?;
                    let snap = snapshot_of(&out)?;
                    drop(out);
                    Ok(snap)
                }
                SnapshotMethod::VacuumInto => {
                    c.execute("VACUUM INTO ?1", [dest.to_string_lossy().as_ref()])?;
                    let out = Connection::open(&dest)?;
                    snapshot_of(&out)
                }
            }
        })
        .await
    }

    async fn try_job_lock(&self, _key: i64) -> Result<Option<JobLock>> {
        // One server owns an SQLite database; the application serializes its own jobs.
        Ok(Some(JobLock::local()))
    }

    async fn compact_search_index(&self) -> Result<()> {
        self.write(|tx| optimize_text_index(tx)).await
    }

    async fn end_bulk_load(&self) -> Result<()> {
        // The indexes are built with the normal cache, and their sorts spill to temporary files
        // rather than to memory (`temp_store = MEMORY` otherwise): at 1M imported rows the
        // duplicate keys' sort alone held ~100 MB (issue 6: an import within 300 MB).
        Self::with_conn(&self.writer, |c| Ok(c.execute_batch(&format!("PRAGMA cache_size = {WRITER_CACHE}; PRAGMA temp_store = FILE;"))?)).await?;
        let restored = self.write(|tx| restore_deferred_indexes(tx)).await;
        Self::with_conn(&self.writer, |c| Ok(c.execute_batch("PRAGMA temp_store = MEMORY;")?)).await?;
        restored?;
        Self::with_conn(&self.writer, |c| Ok(c.execute_batch("PRAGMA synchronous = FULL;")?)).await?;
        // Fresh statistics after a large load, so the planner picks the selective index; sampled
        // (analysis_limit), which is what the planner needs and takes a fraction of a full pass.
        Self::with_conn(&self.writer, |c| Ok(c.execute_batch("PRAGMA shrink_memory; PRAGMA analysis_limit = 1000; ANALYZE;")?)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migrated store in a fresh temporary directory (kept alive by the returned guard).
    async fn migrated_store() -> (tempfile::TempDir, std::path::PathBuf, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dangan.db");
        let store = SqliteStore::open(&path).unwrap();
        store.migrate().await.unwrap();
        (dir, path, store)
    }

    /// Readers map the file as configured (by default not at all, at most SQLite's ceiling); the
    /// writer never does.
    #[tokio::test]
    async fn readers_map_the_file_as_configured() {
        let dir = tempfile::tempdir().unwrap();
        let mmap = |store: &SqliteStore, pool: &'static str| {
            let pool = if pool == "reader" { store.readers.clone() } else { store.writer.clone() };
            async move { SqliteStore::with_conn(&pool, |c| Ok(c.query_row("PRAGMA mmap_size", [], |r| r.get::<_, i64>(0))?)).await.unwrap() }
        };
        let default = SqliteStore::open(&dir.path().join("a.db")).unwrap();
        assert_eq!(mmap(&default, "reader").await, 0);
        let small = SqliteStore::open_with(&dir.path().join("b.db"), 64 << 20).unwrap();
        assert_eq!(mmap(&small, "reader").await, 64 << 20);
        assert_eq!(mmap(&small, "writer").await, 0);
        let huge = SqliteStore::open_with(&dir.path().join("c.db"), u64::MAX).unwrap();
        assert_eq!(mmap(&huge, "reader").await, MAX_READER_MMAP as i64);
    }

    /// A salesperson's list page (their department's archives, their own, their grants) comes
    /// from the scope indexes alone, merged in order: no table row is read except a granted
    /// archive's, and the parts are merged as they come (migration 0023; issue 3's p99 target),
    /// filtered or not. Checked on the plan SQLite makes of the query the store sends.
    #[tokio::test]
    async fn a_scoped_page_reads_its_rows_from_the_scope_indexes() {
        let (_dir, path, _store) = migrated_store().await;
        let c = Connection::open(&path).unwrap();
        for q in sql::salesperson_pages() {
            let (text, params) = sql::list_query(Dialect::Sqlite, &q);
            let plan: Vec<String> = c
                .prepare(&format!("EXPLAIN QUERY PLAN {}", sqlite_placeholders(&text)))
                .unwrap()
                .query_map(rusqlite::params_from_iter(params.iter()), |r| r.get::<_, String>(3))
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            let reads: Vec<&String> = plan.iter().filter(|l| l.contains(" archives ")).collect();
            assert!(reads.iter().filter(|l| l.contains("USING COVERING INDEX archives_")).count() == 2, "the tier parts from their indexes: {plan:?}");
            // (The grants part's walk depends on statistics an empty base lacks: at 1M it reads
            // the granted rows by id; here it may scan. Only the tier parts' plan is checked.)
            assert_eq!(plan.iter().filter(|l| l.contains("MERGE (UNION)")).count(), 2, "the parts merged as they come: {plan:?}");
        }
    }

    /// The definitions of a table's indexes, by name.
    fn index_defs(path: &Path, table: &str) -> Vec<String> {
        Connection::open(path)
            .unwrap()
            .prepare("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 ORDER BY name")
            .unwrap()
            .query_map([table], |r| r.get::<_, Option<String>>(0))
            .unwrap()
            .map(|r| r.unwrap().unwrap_or_default())
            .collect()
    }

    fn index_count(path: &Path) -> usize {
        index_defs(path, "archives").len()
    }

    fn text_index_segments(path: &Path) -> i64 {
        Connection::open(path).unwrap().query_row("SELECT COUNT(DISTINCT segid) FROM search_fts_idx", [], |r| r.get(0)).unwrap()
    }

    fn text_index_config(path: &Path, key: &str) -> Option<i64> {
        Connection::open(path).unwrap().query_row("SELECT v FROM search_fts_config WHERE k = ?1", [key], |r| r.get(0)).optional().unwrap()
    }

    /// Each batch of a bulk load writes its own text index segment, and FTS5's merges are held
    /// back while it runs; its end merges them into one (queries that AND frequent terms seek
    /// through every segment) and gives normal writes FTS5's usual merges back. A load that was
    /// interrupted gets the same at the next start.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bulk_load_merges_its_text_index_segments_at_its_end() {
        let (_dir, path, store) = migrated_store().await;
        let audit = AuditEvent::new(AuditAction::ArchiveImport, Utc::now());
        async fn load(store: &SqliteStore, tag: &str, audit: &AuditEvent) {
            for batch in 0..6 {
                let archives = (0..20).map(|i| BulkArchive::new(ArchiveData::new(CustomerKind::Person, &format!("张{tag}{batch}{i}")), Utc::now(), vec![], vec![]).unwrap()).collect();
                store.bulk_load(archives, &NumberScheme::default(), "", audit).await.unwrap();
            }
        }
        store.begin_bulk_load().await.unwrap();
        load(&store, "甲", &audit).await;
        assert_eq!(text_index_config(&path, "automerge"), Some(0), "merges are held during the load");
        assert_eq!(text_index_segments(&path), 6, "one segment per batch, none merged yet");
        store.end_bulk_load().await.unwrap();
        assert_eq!(text_index_segments(&path), 1);
        assert_eq!(text_index_config(&path, "automerge"), Some(4), "normal merges again");
        store.compact_search_index().await.unwrap();
        assert_eq!(text_index_segments(&path), 1);

        // Interrupted: another empty base, a load without its end, a restart.
        let (_dir2, path2, store2) = migrated_store().await;
        store2.begin_bulk_load().await.unwrap();
        load(&store2, "乙", &audit).await;
        drop(store2);
        let reopened = SqliteStore::open(&path2).unwrap();
        reopened.migrate().await.unwrap();
        assert_eq!(text_index_segments(&path2), 1, "the next start merges what the load left");
        assert_eq!(text_index_config(&path2, "automerge"), Some(4));
    }

    /// A bulk load into an empty database sets the secondary indexes aside; if it is interrupted
    /// (no `end_bulk_load`), the next start puts them back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deferred_indexes_come_back_after_an_interrupted_load() {
        let (_dir, path, store) = migrated_store().await;
        let all = index_count(&path);
        store.begin_bulk_load().await.unwrap();
        assert!(index_count(&path) < all, "secondary indexes are deferred during the load");
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        reopened.migrate().await.unwrap();
        assert_eq!(index_count(&path), all, "the next start recreates them");
        reopened.begin_bulk_load().await.unwrap();
        reopened.end_bulk_load().await.unwrap();
        assert_eq!(index_count(&path), all, "end_bulk_load recreates them");
    }

    /// A large import into an empty base sets aside the indexes of every table it fills and gets
    /// them back, the same definitions, at its end or at the next start; into a base that holds
    /// archives it keeps them all.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_bulk_import_defers_indexes_only_into_an_empty_base() {
        let tables = ["archives", "contacts", "timeline_entries", "dedup_keys", "archive_dates"];
        let defs = |path: &Path| tables.iter().map(|t| index_defs(path, t)).collect::<Vec<_>>();
        let (_dir, path, store) = migrated_store().await;
        let all = defs(&path);
        assert!(all.iter().all(|d| d.iter().any(|s| !s.is_empty())), "each table has secondary indexes: {all:?}");
        assert!(store.begin_bulk_import().await.unwrap(), "the base is empty");
        assert!(defs(&path).iter().all(|d| d.iter().all(String::is_empty)), "only constraint indexes are kept: {:?}", defs(&path));
        drop(store);
        let store = SqliteStore::open(&path).unwrap();
        store.migrate().await.unwrap();
        assert_eq!(defs(&path), all, "a start after an interrupted import recreates them");
        assert!(store.begin_bulk_import().await.unwrap());
        let audit = AuditEvent::new(AuditAction::ArchiveImport, Utc::now());
        let archives = (0..20).map(|i| BulkArchive::new(ArchiveData::new(CustomerKind::Person, format!("李{i}")), Utc::now(), vec![], vec![]).unwrap()).collect();
        store.bulk_load(archives, &NumberScheme::default(), "", &audit).await.unwrap();
        store.end_bulk_load().await.unwrap();
        assert_eq!(defs(&path), all, "end_bulk_load recreates them");
        assert!(!store.begin_bulk_import().await.unwrap(), "the base holds archives now");
        assert_eq!(defs(&path), all, "and nothing is set aside");
    }

    /// The rebuild sets the duplicate-check keys' indexes aside while it writes them, and puts
    /// back exactly the same definitions.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reindex_recreates_the_key_indexes() {
        let (_dir, path, store) = migrated_store().await;
        let before = index_defs(&path, "dedup_keys");
        assert_eq!(before.len(), 2, "{before:?}");
        store.reindex().await.unwrap();
        assert_eq!(index_defs(&path, "dedup_keys"), before);
    }
}
