//! The PostgreSQL engine, for deployments with several stateless servers.
//!
//! Number allocation uses `INSERT … ON CONFLICT DO UPDATE … RETURNING` on the period's counter
//! row inside the archive's transaction: the row lock serializes concurrent creators across
//! servers and a rollback gives the number back, so numbers stay gapless.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use dangan_core::audit::{chain, AuditAction, AuditEvent, AuditRecord, Outcome, GENESIS_HASH};
use dangan_core::numbering::NumberScheme;
use dangan_core::policy::ApprovalStep;
use dangan_core::*;
use deadpool_postgres::{GenericClient, Pool, Runtime};
use futures::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{Json, ToSql, Type};
use tokio_postgres::{NoTls, Row};

use crate::sql::{self, Dialect, Param};
use crate::*;

mod dates;
mod retention;

// One line per migration (so that branches adding migrations merge without conflicts).
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (2, include_str!("../migrations/postgres/0002_access.sql")),
    (3, include_str!("../migrations/postgres/0003_id_index.sql")),
    (4, include_str!("../migrations/postgres/0004_loans.sql")),
    (5, include_str!("../migrations/postgres/0005_scope_indexes.sql")),
    (6, include_str!("../migrations/postgres/0006_audit.sql")),
    (7, include_str!("../migrations/postgres/0007_search.sql")),
    (8, include_str!("../migrations/postgres/0008_audit_guards.sql")),
    (9, include_str!("../migrations/postgres/0009_dedup.sql")),
    (10, include_str!("../migrations/postgres/0010_policy_settings.sql")),
    (12, include_str!("../migrations/postgres/0012_imports.sql")),
    (13, include_str!("../migrations/postgres/0013_lifecycle.sql")),
    (14, include_str!("../migrations/postgres/0014_audit_cost.sql")),
    (15, include_str!("../migrations/postgres/0015_retention.sql")),
    (16, include_str!("../migrations/postgres/0016_checklists.sql")),
    (17, include_str!("../migrations/postgres/0017_destruction_purge.sql")),
    (18, include_str!("../migrations/postgres/0018_scope_covering.sql")),
    (20, include_str!("../migrations/postgres/0020_scope_updated.sql")),
    (22, include_str!("../migrations/postgres/0022_review_due.sql")),
    (23, include_str!("../migrations/postgres/0023_scope_summary.sql")),
];
/// Advisory lock key held while migrating, so servers starting together migrate once.
const MIGRATION_LOCK: i64 = 0x44414e47414e; // "DANGAN"
/// Held (per transaction) while appending to the audit chain: one chain across all servers.
const AUDIT_LOCK: i64 = 0x44414e47414f;

pub struct PgStore {
    pool: Pool,
    /// Connections that always run a statement's generic plan (`plan_cache_mode`), for the
    /// queries whose plan is fixed by their shape (`sql::plan_fixed_by_shape`): a salesperson's
    /// filtered page was planned anew at every call (PostgreSQL judged its custom plans cheaper),
    /// 0.5-1.2 ms each time for a query that runs in 1.1 ms.
    generic_pool: Pool,
    /// For `pg_dump` (backups).
    url: String,
    /// A text search that matches fewer archives than this is answered from the GIN index first
    /// (`sql::PG_TEXT_FEW`); a broader one walks the activity sequence (`sql::PG_TEXT`), which
    /// finds a page of frequent matches at once.
    gin_first_below: i64,
}

/// Below this many matches a sort of the matches costs less than walking the sequence: at 1M,
/// 5,000 matches are one in 200 rows, so the walk would read ~4,000 rows for a page of 20.
const GIN_FIRST_BELOW: i64 = 5_000;

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let cfg: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| bad_url(e.to_string()))?;
        let mut generic = cfg.clone();
        // The URL's own `options` are kept.
        generic.options(format!("{} -c plan_cache_mode=force_generic_plan", cfg.get_options().unwrap_or_default()).trim_start());
        let pool = pool_of(cfg, 16)?;
        let generic_pool = pool_of(generic, 8)?;
        let store = PgStore { pool, generic_pool, url: url.to_string(), gin_first_below: GIN_FIRST_BELOW };
        store.ping().await?;
        Ok(store)
    }

    /// Sets the match count below which text search uses the GIN index first (0: never). Both
    /// forms give the same answers; the tests run every search scenario on each.
    pub fn with_gin_first_below(mut self, n: i64) -> Self {
        self.gin_first_below = n;
        self
    }

    /// The form of the text query for this search (see `gin_first_below`).
    async fn text_index(&self, req: &SearchRequest) -> Result<&'static sql::TextIndex> {
        let crate::SearchMatch::Text(q) = &req.matcher else { return Ok(&sql::PG_TEXT) };
        if self.gin_first_below <= 0 {
            return Ok(&sql::PG_TEXT);
        }
        let c = self.pool.get().await?;
        let st = c.prepare_cached("SELECT COUNT(*) FROM (SELECT 1 FROM search_docs WHERE tsv @@ $1::text::tsquery LIMIT $2) AS few").await?;
        let n: i64 = c.query_one(&st, &[q, &self.gin_first_below]).await?.get(0);
        Ok(if n < self.gin_first_below { &sql::PG_TEXT_FEW } else { &sql::PG_TEXT })
    }
}

/// The tables of a database outside the system schemas (restore refuses a database that has any).
pub async fn user_table_count(url: &str) -> Result<i64> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
    let task = tokio::spawn(conn);
    let n: i64 = client.query_one("SELECT COUNT(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')", &[]).await?.get(0);
    drop(client);
    let _ = task.await;
    Ok(n)
}

/// Restores a `pg_dump` custom-format archive into the (empty) database at `url` with
/// `pg_restore` in one transaction: if anything fails, the database is left as it was.
pub async fn restore_dump(url: &str, dump: &std::path::Path) -> Result<()> {
    if user_table_count(url).await? > 0 {
        return Err(StoreError::Db("the target database is not empty (it has tables); restore needs an empty database / 目标数据库不是空的".into()));
    }
    let out = tokio::process::Command::new("pg_restore")
        .arg("--single-transaction")
        .arg("--exit-on-error")
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg("--dbname")
        .arg(url)
        .arg(dump)
        .output()
        .await
        .map_err(|e| StoreError::Db(format!("cannot run pg_restore (is the PostgreSQL client installed?): {e}")))?;
    if !out.status.success() {
        return Err(StoreError::Db(format!("pg_restore failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim())));
    }
    Ok(())
}

fn boxed(params: &[Param]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::Text(s) => Box::new(s.clone()),
                Param::Int(i) => Box::new(*i),
                Param::Bool(b) => Box::new(*b),
                Param::Time(t) => Box::new(*t),
                Param::Date(d) => Box::new(*d),
            }
        })
        .collect()
}

fn refs(b: &[Box<dyn ToSql + Sync + Send>]) -> Vec<&(dyn ToSql + Sync)> {
    b.iter().map(|p| p.as_ref() as &(dyn ToSql + Sync)).collect()
}

fn bad_url(e: String) -> StoreError {
    StoreError::Db(format!("bad PostgreSQL URL: {e}"))
}

/// A pool of at most `size` connections made on demand.
fn pool_of(cfg: tokio_postgres::Config, size: usize) -> Result<Pool> {
    let manager = deadpool_postgres::Manager::from_config(cfg, NoTls, deadpool_postgres::ManagerConfig { recycling_method: deadpool_postgres::RecyclingMethod::Fast });
    Pool::builder(manager).max_size(size).runtime(Runtime::Tokio1).build().map_err(|e| bad_url(e.to_string()))
}

impl PgStore {
    /// Runs a query built in `sql.rs` as a cached prepared statement on a pooled connection
    /// (one that runs its generic plan when the query's plan is fixed by its shape).
    async fn query_built(&self, text: &str, params: &[Param]) -> Result<Vec<Row>> {
        let c = if sql::plan_fixed_by_shape(text) { self.generic_pool.get().await? } else { self.pool.get().await? };
        let st = c.prepare_cached(text).await?;
        let b = boxed(params);
        Ok(c.query(&st, &refs(&b)).await?)
    }

    /// As `query_built`, for a query of exactly one row (a count).
    async fn query_built_one(&self, text: &str, params: &[Param]) -> Result<Row> {
        let c = self.pool.get().await?;
        let st = c.prepare_cached(text).await?;
        let b = boxed(params);
        Ok(c.query_one(&st, &refs(&b)).await?)
    }
}

const USER_COLUMNS: &str = "id, username, display_name, dept_id, roles, active, created_at";
const ARCHIVE_COLUMNS: &str = "a.id, a.archive_no, d.data, a.version, a.created_by, a.created_at, a.updated_by, a.updated_at, a.merged_into, a.destroyed_at";
const ARCHIVE_FROM: &str = "archives a JOIN archive_documents d ON d.archive_id = a.id";
const ATTACHMENT_COLUMNS: &str = "id, archive_id, sha256, filename, content_type, size, created_by, created_at";

const REQUEST_COLUMNS: &str = "id, archive_id, requester_id, purpose, sections, actions, hours, chain, step, status, created_at, closed_at";

fn request_from_row(r: &Row) -> AccessRequest {
    AccessRequest {
        id: r.get(0),
        archive_id: r.get(1),
        requester_id: r.get(2),
        purpose: r.get(3),
        sections: split_list(r.get(4)),
        actions: parse_actions(r.get(5)),
        hours: r.get(6),
        chain: parse_chain(r.get(7)),
        step: r.get(8),
        status: RequestStatus::parse(r.get(9)).unwrap_or(RequestStatus::Cancelled),
        created_at: r.get(10),
        closed_at: r.get(11),
    }
}

fn user_from_row(r: &Row) -> User {
    User {
        id: r.get("id"),
        username: r.get("username"),
        display_name: r.get("display_name"),
        dept_id: r.get("dept_id"),
        roles: parse_roles(r.get::<_, &str>("roles")),
        active: r.get("active"),
        created_at: r.get("created_at"),
    }
}

fn mark_from_row(r: &Row) -> dangan_core::checklist::Mark {
    dangan_core::checklist::Mark {
        id: r.get(0),
        archive_id: r.get(1),
        checklist: r.get(2),
        item: r.get(3),
        action: dangan_core::checklist::MarkAction::parse(r.get(4)).unwrap_or(dangan_core::checklist::MarkAction::Withdrawn),
        attachment_id: r.get(5),
        note: r.get(6),
        created_by: r.get(7),
        created_at: r.get(8),
    }
}

fn archive_from_row(r: &Row) -> Archive {
    Archive {
        id: r.get(0),
        archive_no: r.get(1),
        data: r.get::<_, Json<ArchiveData>>(2).0,
        version: r.get(3),
        created_by: r.get(4),
        created_at: r.get(5),
        updated_by: r.get(6),
        updated_at: r.get(7),
        merged_into: r.get(8),
        destroyed_at: r.get(9),
    }
}

fn summary_from_row(r: &Row) -> Result<ArchiveSummary> {
    let opt_grade = |i: usize| -> Result<Option<Grade>> { r.get::<_, Option<&str>>(i).map(parse_enum).transpose() };
    Ok(ArchiveSummary {
        id: r.get(0),
        archive_no: r.get(1),
        kind: parse_enum(r.get(2))?,
        name: r.get(3),
        grade: opt_grade(4)?,
        credit_grade: opt_grade(5)?,
        blacklisted: r.get(6),
        status: parse_enum(r.get(7))?,
        industry: r.get(8),
        province: r.get(9),
        city: r.get(10),
        owner_id: r.get(11),
        dept_id: r.get(12),
        tier: parse_enum(r.get(13))?,
        secrecy: parse_enum(r.get(14))?,
        mobile: r.get(15),
        updated_at: r.get(16),
    })
}

fn attachment_from_row(r: &Row) -> Attachment {
    Attachment {
        id: r.get(0),
        archive_id: r.get(1),
        sha256: r.get(2),
        filename: r.get(3),
        content_type: r.get(4),
        size: r.get(5),
        created_by: r.get(6),
        created_at: r.get(7),
    }
}

const LOAN_COLUMNS: &str = "id, archive_id, borrower_id, kind, purpose, lent_by, lent_at, due_at, returned_at, returned_complete, checked_by, return_note, grant_id";

fn loan_from_row(r: &Row) -> Loan {
    Loan {
        id: r.get(0),
        archive_id: r.get(1),
        borrower_id: r.get(2),
        kind: LoanKind::parse(r.get(3)).unwrap_or(LoanKind::Paper),
        purpose: r.get(4),
        lent_by: r.get(5),
        lent_at: r.get(6),
        due_at: r.get(7),
        returned_at: r.get(8),
        returned_complete: r.get(9),
        checked_by: r.get(10),
        return_note: r.get(11),
        grant_id: r.get(12),
    }
}

/// Advances the period's counter by `n` and returns the first of the `n` new values.
async fn reserve_numbers(c: &impl GenericClient, period: &str, n: i64) -> Result<u64> {
    let row = c
        .query_one(
            "INSERT INTO number_counters (period, last_value) VALUES ($1, $2)
             ON CONFLICT (period) DO UPDATE SET last_value = number_counters.last_value + EXCLUDED.last_value RETURNING last_value",
            &[&period, &n],
        )
        .await?;
    Ok((row.get::<_, i64>(0) - n + 1) as u64)
}

async fn insert_archive(c: &impl GenericClient, archive_no: &str, data: &ArchiveData, actor: UserId, at: DateTime<Utc>) -> Result<i64> {
    let col = ArchiveColumns::of(data);
    let row = c
        .query_one(
            "INSERT INTO archives (archive_no, kind, name, grade, credit_grade, blacklisted, status, industry, province, city,
                owner_id, dept_id, tier, secrecy, mobile, uscc, id_hash, version, version_by, version_at, created_by, created_at, updated_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $19, 1, $17, $18, $17, $18, $17, $18) RETURNING id",
            &[
                &archive_no, &col.kind, &col.name, &col.grade, &col.credit_grade, &col.blacklisted, &col.status, &col.industry, &col.province, &col.city,
                &col.owner_id, &col.dept_id, &col.tier, &col.secrecy, &col.mobile, &col.uscc, &actor, &at, &col.id_hash,
            ],
        )
        .await?;
    let id: i64 = row.get(0);
    c.execute("INSERT INTO archive_documents (archive_id, data) VALUES ($1, $2)", &[&id, &Json(data)]).await?;
    Ok(id)
}

async fn get_archive_where(c: &impl GenericClient, cond: &str, p: &(dyn ToSql + Sync)) -> Result<Option<Archive>> {
    let st = c.prepare_cached(&format!("SELECT {ARCHIVE_COLUMNS} FROM {ARCHIVE_FROM} WHERE {cond}")).await?;
    Ok(c.query_opt(&st, &[p]).await?.map(|r| archive_from_row(&r)))
}

/// Writes an archive's search terms under a new activity sequence (replacing what it had), in
/// the caller's transaction. Empty terms (绝密) leave it out of the text index.
async fn index_archive(c: &impl GenericClient, archive_id: i64, terms: &str) -> Result<()> {
    c.execute("DELETE FROM search_docs WHERE archive_id = $1", &[&archive_id]).await?;
    if !terms.is_empty() {
        c.execute("INSERT INTO search_docs (archive_id, tsv) VALUES ($1, array_to_tsvector(string_to_array($2, ' ')))", &[&archive_id, &terms]).await?;
    }
    Ok(())
}

/// Recomputes an archive's search terms and duplicate-check keys from what is stored (document,
/// ID hash, contacts) and writes them. A tombstone (merged) has neither.
async fn reindex_archive(c: &impl GenericClient, archive_id: i64) -> Result<()> {
    let row = c
        .query_one("SELECT d.data, a.id_hash, COALESCE(a.merged_into, a.destruction_id) FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.id = $1", &[&archive_id])
        .await?;
    if row.get::<_, Option<i64>>(2).is_some() {
        index_archive(c, archive_id, "").await?;
        dates::write_dates(c, archive_id, None, &[]).await?;
        return write_keys(c, archive_id, &[]).await;
    }
    let data = row.get::<_, Json<ArchiveData>>(0).0;
    let id_hash: Option<String> = row.get(1);
    let contacts: Vec<ContactData> =
        c.query("SELECT data FROM contacts WHERE archive_id = $1 ORDER BY id", &[&archive_id]).await?.iter().map(|r| r.get::<_, Json<ContactData>>(0).0).collect();
    index_archive(c, archive_id, &dangan_core::search::archive_terms(&data, &contacts)).await?;
    dates::write_dates(c, archive_id, Some(&data), &contacts).await?;
    write_keys(c, archive_id, &dangan_core::dedup::archive_keys(&data, id_hash.as_deref(), &contacts)).await
}

/// Replaces an archive's duplicate-check keys.
async fn write_keys(c: &impl GenericClient, archive_id: i64, keys: &[String]) -> Result<()> {
    c.execute("DELETE FROM dedup_keys WHERE archive_id = $1", &[&archive_id]).await?;
    insert_keys(c, &[archive_id], &[keys.to_vec()]).await
}

/// Inserts the keys of several archives in one statement.
async fn insert_keys(c: &impl GenericClient, ids: &[i64], keys: &[Vec<String>]) -> Result<()> {
    let (mut a, mut k): (Vec<i64>, Vec<&str>) = (Vec::new(), Vec::new());
    for (id, ks) in ids.iter().zip(keys) {
        for key in ks {
            a.push(*id);
            k.push(key);
        }
    }
    if !a.is_empty() {
        c.execute("INSERT INTO dedup_keys (archive_id, key) SELECT * FROM unnest($1::bigint[], $2::text[])", &[&a, &k]).await?;
    }
    Ok(())
}

/// Keeps the current version in `archive_versions` and writes `data` as version `current + 1`.
async fn write_version(tx: &impl GenericClient, id: i64, current: i64, data: &ArchiveData, reason: Option<&str>, actor: UserId, now: DateTime<Utc>) -> Result<()> {
    let col = ArchiveColumns::of(data);
    let next = current + 1;
    // Keep the version being replaced: originals are never overwritten.
    tx.execute(
        "INSERT INTO archive_versions (archive_id, version, data, changed_by, changed_at, reason)
         SELECT a.id, a.version, d.data, a.version_by, a.version_at, a.change_reason FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.id = $1",
        &[&id],
    )
    .await?;
    tx.execute(
        "UPDATE archives SET kind = $2, name = $3, grade = $4, credit_grade = $5, blacklisted = $6, status = $7, industry = $8, province = $9,
            city = $10, owner_id = $11, dept_id = $12, tier = $13, secrecy = $14, mobile = $15, uscc = $16, id_hash = $21, version = $17,
            updated_by = $18, updated_at = $19, version_by = $18, version_at = $19, change_reason = $20 WHERE id = $1",
        &[
            &id, &col.kind, &col.name, &col.grade, &col.credit_grade, &col.blacklisted, &col.status, &col.industry, &col.province, &col.city,
            &col.owner_id, &col.dept_id, &col.tier, &col.secrecy, &col.mobile, &col.uscc, &next, &actor, &now, &reason, &col.id_hash,
        ],
    )
    .await?;
    tx.execute("UPDATE archive_documents SET data = $2 WHERE archive_id = $1", &[&id, &Json(data)]).await?;
    Ok(())
}

/// Inserts the search documents of new archives in one statement.
async fn insert_search_docs(c: &impl GenericClient, ids: &[i64], terms: &[&str]) -> Result<()> {
    c.execute(
        "INSERT INTO search_docs (archive_id, tsv) SELECT a, array_to_tsvector(string_to_array(t, ' ')) FROM unnest($1::bigint[], $2::text[]) AS u(a, t) WHERE t <> ''",
        &[&ids, &terms],
    )
    .await?;
    Ok(())
}

/// Marks the archive as changed now and returns its number (for the audit record).
async fn touch_archive(c: &impl GenericClient, archive_id: i64, actor: UserId, at: DateTime<Utc>) -> Result<String> {
    let row = c.query_opt("UPDATE archives SET updated_by = $2, updated_at = $3 WHERE id = $1 RETURNING archive_no", &[&archive_id, &actor, &at]).await?;
    Ok(row.ok_or(StoreError::NotFound)?.get(0))
}

/// A grant from its eight columns (id, user_id, archive_id, actions, request_id, granted_at,
/// expires_at, revoked_at), first in the row.
fn grant_from_row(r: &Row) -> Grant {
    Grant {
        id: r.get(0),
        user_id: r.get(1),
        archive_id: r.get(2),
        actions: parse_actions(r.get(3)),
        request_id: r.get(4),
        granted_at: r.get(5),
        expires_at: r.get(6),
        revoked_at: r.get(7),
    }
}

async fn archive_no_of(c: &impl GenericClient, archive_id: i64) -> Result<String> {
    Ok(c.query_opt("SELECT archive_no FROM archives WHERE id = $1", &[&archive_id]).await?.ok_or(StoreError::NotFound)?.get(0))
}

const AUDIT_COLUMNS: &str = "seq, at, user_id, username, roles, dept_id, client_addr, user_agent, action, archive_id, archive_no, fields, basis, outcome, detail, prev_hash, hash";

/// Appends events to the hash chain inside the caller's transaction. The advisory lock (held
/// until commit) makes appends from every server take turns, so the head read here is the head.
/// Taken last in every transaction, after any row locks, so it cannot close a lock cycle.

const IMPORT_COLUMNS: &str = "id, file_name, file_sha256, file_size, format, user_id, status, options, total_rows, processed, imported, merged, skipped, failed, cancel_requested, message, created_at, updated_at, finished_at";

fn import_from_row(r: &Row) -> ImportJob {
    let status: String = r.get(6);
    let options: Json<serde_json::Value> = r.get(7);
    ImportJob {
        id: r.get(0),
        file_name: r.get(1),
        file_sha256: r.get(2),
        file_size: r.get(3),
        format: r.get(4),
        user_id: r.get(5),
        status: ImportStatus::parse(&status).unwrap_or(ImportStatus::Failed),
        options: options.0,
        counts: ImportCounts { total: r.get(8), processed: r.get(9), imported: r.get(10), merged: r.get(11), skipped: r.get(12), failed: r.get(13) },
        cancel_requested: r.get(14),
        message: r.get(15),
        created_at: r.get(16),
        updated_at: r.get(17),
        finished_at: r.get(18),
    }
}

/// For the rest of a transaction that writes many archives' text-index rows: GIN's pending list
/// may grow to 16 MB before it is merged, and the merge sorts in 16 MB. The defaults (4 MB each)
/// merge every few hundred archives, each merge a walk of the index: measured here with 100,000
/// demo archives' terms in batches of 2,000, 19.7 s with the defaults, 11.6 s with these (64 MB:
/// 11.0 s but a larger list left over; dropping the index and building it after the load: 11.9 s).
/// Searches read the pending list sequentially, so it is not left large: `finish_import` merges
/// what an import leaves, the bulk load's VACUUM what a demo load leaves. The cost falls on other
/// writers during a large import: an archive saved meanwhile under the default limit may do a
/// merge of up to 16 MB in its own request (under 4 MB before). A server configured higher keeps
/// its own values (only raised, never lowered; both settings are in kB).
const BULK_TEXT_INDEX_SETTINGS: &str = "SELECT set_config(name, GREATEST(setting::bigint, 16384)::text || 'kB', true) FROM pg_settings WHERE name IN ('gin_pending_list_limit', 'work_mem')";

/// Merges GIN's pending list of the text index into the index (after writes under
/// `BULK_TEXT_INDEX_SETTINGS`), so searches do not read it and the next user's insert does not
/// do the merge. Best effort: the writes are committed, and a failure (not the index's owner, a
/// standby) only leaves the list for that later merge.
async fn merge_text_index_pending_list(c: &impl GenericClient) {
    if let Err(e) = c.execute("SELECT gin_clean_pending_list('search_docs_tsv'::regclass)", &[]).await {
        tracing::warn!(error = %e, "cannot merge the text index's pending list");
    }
}

/// Copies archives with their contacts, entries and search terms, numbering each by its creation
/// date (one number block reserved per period); returns (id, number) in order. Shared by demo
/// loads and imports.
async fn copy_bulk(tx: &deadpool_postgres::Transaction<'_>, batch: &[&BulkArchive], scheme: &NumberScheme, dept_code: &str, actor: UserId) -> Result<Vec<(i64, String)>> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    tx.batch_execute(BULK_TEXT_INDEX_SETTINGS).await?;
    let mut created = Vec::with_capacity(batch.len());
    let n = batch.len() as i64;
    let ids: Vec<i64> = tx
        .query("SELECT nextval(pg_get_serial_sequence('archives', 'id')) FROM generate_series(1, $1::bigint)", &[&n])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Numbers: count per period, reserve each period's block once.
    let periods: Vec<(String, NaiveDate)> = batch.iter().map(|a| (scheme.period_key(a.created_at.date_naive(), dept_code), a.created_at.date_naive())).collect();
    let mut per_period: HashMap<&str, i64> = HashMap::new();
    for (p, _) in &periods {
        *per_period.entry(p.as_str()).or_default() += 1;
    }
    let mut next_seq: HashMap<&str, u64> = HashMap::new();
    for (p, count) in &per_period {
        next_seq.insert(p, reserve_numbers(tx, p, *count).await?);
    }

    let sink = tx
        .copy_in(
            "COPY archives (id, archive_no, kind, name, grade, credit_grade, blacklisted, status, industry, province, city, owner_id, dept_id, tier, secrecy,
             mobile, uscc, id_hash, version, version_by, version_at, created_by, created_at, updated_by, updated_at) FROM STDIN BINARY",
        )
        .await?;
    let types = [
        Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::BOOL, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8,
        Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT, Type::INT8, Type::INT8, Type::TIMESTAMPTZ, Type::INT8,
        Type::TIMESTAMPTZ, Type::INT8, Type::TIMESTAMPTZ,
    ];
    let w = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(w);
    let one: i64 = 1;
    for (i, a) in batch.iter().enumerate() {
        let (period, date) = &periods[i];
        let seq = next_seq.get_mut(period.as_str()).expect("reserved");
        let no = scheme.render(*date, dept_code, *seq);
        *seq += 1;
        created.push((ids[i], no.clone()));
        let col = ArchiveColumns::of(&a.data);
        w.as_mut()
            .write(&[
                &ids[i], &no, &col.kind, &col.name, &col.grade, &col.credit_grade, &col.blacklisted, &col.status, &col.industry, &col.province, &col.city,
                &col.owner_id, &col.dept_id, &col.tier, &col.secrecy, &col.mobile, &col.uscc, &col.id_hash, &one, &actor, &a.created_at, &actor,
                &a.created_at, &actor, &a.created_at,
            ])
            .await?;
    }
    w.finish().await?;

    let sink = tx.copy_in("COPY archive_documents (archive_id, data) FROM STDIN BINARY").await?;
    let w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::JSONB]);
    pin_mut!(w);
    for (i, a) in batch.iter().enumerate() {
        w.as_mut().write(&[&ids[i], &Json(&a.data)]).await?;
    }
    w.finish().await?;

    let sink = tx.copy_in("COPY contacts (archive_id, name, mobile, data, updated_by, updated_at) FROM STDIN BINARY").await?;
    let w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT, Type::TEXT, Type::JSONB, Type::INT8, Type::TIMESTAMPTZ]);
    pin_mut!(w);
    for (i, a) in batch.iter().enumerate() {
        for ct in &a.contacts {
            w.as_mut().write(&[&ids[i], &ct.name, &ct.mobile, &Json(ct), &actor, &a.created_at]).await?;
        }
    }
    w.finish().await?;

    let sink = tx.copy_in("COPY timeline_entries (archive_id, kind, occurred_on, data, created_by, created_at) FROM STDIN BINARY").await?;
    let w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::TEXT, Type::DATE, Type::JSONB, Type::INT8, Type::TIMESTAMPTZ]);
    pin_mut!(w);
    for (i, a) in batch.iter().enumerate() {
        for e in &a.entries {
            w.as_mut().write(&[&ids[i], &e.kind.as_str(), &e.occurred_on, &Json(e), &actor, &a.created_at]).await?;
        }
    }
    w.finish().await?;
    let terms: Vec<&str> = batch.iter().map(|a| a.json.terms.as_str()).collect();
    insert_search_docs(tx, &ids, &terms).await?;
    let dates: Vec<&[dangan_core::lifecycle::ArchiveDate]> = batch.iter().map(|a| a.json.dates.as_slice()).collect();
    dates::insert_dates(tx, &ids, &dates).await?;
    let follow_ups: Vec<Option<NaiveDate>> = batch.iter().map(|a| a.json.last_follow_up).collect();
    dates::set_follow_ups(tx, &ids, &follow_ups).await?;
    // Closed when they arrive: their retention period counts from their creation here (the
    // archivist can record the paper file's real closing date).
    let (mut closed_ids, mut closed_at, mut due_on) = (Vec::new(), Vec::new(), Vec::new());
    for (i, a) in batch.iter().enumerate() {
        if let Some((closed, due)) = crate::retention::bulk_retention(a, a.created_at) {
            closed_ids.push(ids[i]);
            closed_at.push(closed);
            due_on.push(due);
        }
    }
    if !closed_ids.is_empty() {
        tx.execute(
            "UPDATE archives SET closed_at = u.c, retention_due = u.d FROM unnest($1::bigint[], $2::timestamptz[], $3::date[]) AS u(id, c, d) WHERE archives.id = u.id",
            &[&closed_ids, &closed_at, &due_on],
        )
        .await?;
    }
    let sink = tx.copy_in("COPY dedup_keys (key, archive_id) FROM STDIN BINARY").await?;
    let w = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::INT8]);
    pin_mut!(w);
    for (i, a) in batch.iter().enumerate() {
        for k in &a.json.keys {
            w.as_mut().write(&[k, &ids[i]]).await?;
        }
    }
    w.finish().await?;
    Ok(created)
}

async fn append_chained(tx: &impl GenericClient, events: Vec<AuditEvent>) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    // Prepared once per connection: each statement is then one round trip (the group-commit
    // writer runs these for every batch of audited reads). The lock and the head read stay two
    // statements: under READ COMMITTED a statement's snapshot is taken before a lock it waits for.
    let lock = tx.prepare_cached("SELECT pg_advisory_xact_lock($1)").await?;
    tx.execute(&lock, &[&AUDIT_LOCK]).await?;
    let head_st = tx.prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").await?;
    let head = tx.query_opt(&head_st, &[]).await?;
    let (seq, hash): (i64, String) = head.map(|r| (r.get(0), r.get(1))).unwrap_or_else(|| (0, GENESIS_HASH.to_string()));
    let records = chain(seq, &hash, events);
    // One statement for the whole batch: columns as arrays, unnested into rows.
    let mut cols: (Vec<i64>, Vec<DateTime<Utc>>, Vec<Option<i64>>, Vec<&str>, Vec<&str>, Vec<Option<i64>>, Vec<&str>, Vec<&str>) = Default::default();
    let mut cols2: (Vec<&str>, Vec<Option<i64>>, Vec<&str>, Vec<&str>, Vec<&str>, Vec<&str>, Vec<&str>, Vec<&str>, Vec<&str>) = Default::default();
    for r in &records {
        let e = &r.event;
        cols.0.push(r.seq);
        cols.1.push(e.at);
        cols.2.push(e.user_id);
        cols.3.push(&e.username);
        cols.4.push(&e.roles);
        cols.5.push(e.dept_id);
        cols.6.push(&e.client_addr);
        cols.7.push(&e.user_agent);
        cols2.0.push(e.action.code());
        cols2.1.push(e.archive_id);
        cols2.2.push(&e.archive_no);
        cols2.3.push(&e.fields);
        cols2.4.push(&e.basis);
        cols2.5.push(e.outcome.as_str());
        cols2.6.push(&e.detail);
        cols2.7.push(&r.prev_hash);
        cols2.8.push(&r.hash);
    }
    let insert = tx
        .prepare_cached(&format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS}) SELECT * FROM UNNEST($1::bigint[], $2::timestamptz[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::text[],
             $8::text[], $9::text[], $10::bigint[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[])"
        ))
        .await?;
    tx.execute(
        &insert,
        &[&cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &cols.5, &cols.6, &cols.7, &cols2.0, &cols2.1, &cols2.2, &cols2.3, &cols2.4, &cols2.5, &cols2.6, &cols2.7, &cols2.8],
    )
    .await?;
    Ok(())
}

fn audit_from_row(r: &Row) -> Result<AuditRecord> {
    let action: String = r.get(8);
    let outcome: String = r.get(13);
    Ok(AuditRecord {
        seq: r.get(0),
        event: AuditEvent {
            at: r.get(1),
            user_id: r.get(2),
            username: r.get(3),
            roles: r.get(4),
            dept_id: r.get(5),
            client_addr: r.get(6),
            user_agent: r.get(7),
            action: AuditAction::parse(&action).ok_or_else(|| StoreError::Db(format!("unknown audit action {action:?}")))?,
            archive_id: r.get(9),
            archive_no: r.get(10),
            fields: r.get(11),
            basis: r.get(12),
            outcome: Outcome::parse(&outcome).ok_or_else(|| StoreError::Db(format!("unknown audit outcome {outcome:?}")))?,
            detail: r.get(14),
        },
        prev_hash: r.get(15),
        hash: r.get(16),
    })
}

/// Settings an administrator changes are one versioned JSON row (`id = 1`) in their own table
/// (`policy_settings`, `checklist_settings`): read it, or replace it based on a version.
impl PgStore {
    async fn settings_row(&self, table: &'static str) -> Result<Option<StoredPolicy>> {
        let c = self.pool.get().await?;
        let st = c.prepare_cached(&format!("SELECT version, data, updated_at, updated_by FROM {table} WHERE id = 1")).await?;
        Ok(c.query_opt(&st, &[]).await?.map(|r| StoredPolicy { version: r.get(0), data: r.get(1), updated_at: r.get(2), updated_by: r.get(3) }))
    }

    async fn put_settings_row(&self, table: &'static str, expected_version: i64, data: &str, updated_by: UserId, audit: &AuditEvent) -> Result<i64> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // Two servers saving at once: the row lock (or, before the first save, the primary key)
        // serializes them, and the second finds the version moved on.
        let current: i64 = tx.query_opt(&format!("SELECT version FROM {table} WHERE id = 1 FOR UPDATE"), &[]).await?.map_or(0, |r| r.get(0));
        if current != expected_version {
            return Err(StoreError::Conflict { current });
        }
        let version = current + 1;
        let n = tx
            .execute(
                &format!(
                    "INSERT INTO {table} (id, version, data, updated_at, updated_by) VALUES (1, $1, $2, $3, $4)
                     ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, data = EXCLUDED.data, updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
                     WHERE {table}.version = $5"
                ),
                &[&version, &data, &audit.at, &updated_by, &current],
            )
            .await?;
        if n != 1 {
            // Another server inserted the first row meanwhile.
            let now: i64 = tx.query_one(&format!("SELECT version FROM {table} WHERE id = 1"), &[]).await?.get(0);
            return Err(StoreError::Conflict { current: now });
        }
        append_chained(&tx, vec![audit.clone()]).await?;
        tx.commit().await?;
        Ok(version)
    }
}

#[async_trait]
impl Store for PgStore {
    fn engine(&self) -> Engine {
        Engine::Postgres
    }

    async fn migrate(&self) -> Result<()> {
        let mut c = self.pool.get().await?;
        c.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
        let result = async {
            c.batch_execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)").await?;
            for (version, script) in MIGRATIONS {
                let tx = c.transaction().await?;
                let done: bool = tx.query_one("SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = $1)", &[version]).await?.get(0);
                if !done {
                    tx.batch_execute(script).await?;
                    if *version == 15 {
                        retention::backfill_retention(&tx).await?;
                    }
                    tx.execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())", &[version]).await?;
                }
                tx.commit().await?;
            }
            Ok::<_, StoreError>(())
        }
        .await;
        c.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await?;
        result?;
        // A database from before the search index, the duplicate keys or the index's current
        // terms (`SEARCH_TERMS_STATE`): build them once. An empty one has the current terms.
        let unindexed: bool = c
            .query_one(sql::SEARCH_INDEX_STALE, &[&SEARCH_TERMS_STATE])
            .await?
            .get(0);
        if unindexed {
            drop(c);
            tracing::info!("rebuilding the search index for this version's terms");
            self.reindex().await?;
        } else {
            c.execute(sql::MARK_DERIVED, &[&SEARCH_TERMS_STATE]).await?;
            drop(c);
        }
        // A database from before the archive dates (reminders): derive them once, under the
        // migration lock's protection of one server doing it (the insert of the marker is idempotent).
        let mut c = self.pool.get().await?;
        if !dates::dates_built(&c).await? {
            let tx = c.transaction().await?;
            let n = dates::rebuild_dates(&tx).await?;
            tx.commit().await?;
            // Statistics for the planner now, not at autovacuum's convenience (it may be off).
            c.batch_execute("ANALYZE archive_dates").await?;
            tracing::info!("derived the reminder dates of {n} archives");
        } else {
            c.execute(sql::MARK_DERIVED, &[&"archive_dates"]).await?;
        }
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        self.pool.get().await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn create_department(&self, name: &str, code: &str, parent_id: Option<DeptId>, audit: &AuditEvent) -> Result<Department> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let row = tx.query_one("INSERT INTO departments (name, code, parent_id) VALUES ($1, $2, $3) RETURNING id", &[&name, &code, &parent_id]).await?;
        let d = Department { id: row.get(0), name: name.into(), code: code.into(), parent_id };
        append_chained(&tx, vec![audit.clone().with_detail(serde_json::json!({ "department_id": d.id, "name": d.name, "code": d.code, "parent_id": d.parent_id }))]).await?;
        tx.commit().await?;
        Ok(d)
    }

    async fn list_departments(&self) -> Result<Vec<Department>> {
        let c = self.pool.get().await?;
        Ok(c.query("SELECT id, name, code, parent_id FROM departments ORDER BY id", &[])
            .await?
            .iter()
            .map(|r| Department { id: r.get(0), name: r.get(1), code: r.get(2), parent_id: r.get(3) })
            .collect())
    }

    async fn create_user(&self, u: &NewUser, audit: &AuditEvent) -> Result<User> {
        let now = audit.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_one(
                &format!("INSERT INTO users (username, display_name, password_hash, dept_id, roles, active, created_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6) RETURNING {USER_COLUMNS}"),
                &[&u.username, &u.display_name, &u.password_hash, &u.dept_id, &roles_text(&u.roles), &now],
            )
            .await?;
        let user = user_from_row(&row);
        append_chained(&tx, vec![audit.clone().with_detail(serde_json::json!({ "new_user_id": user.id, "username": user.username, "roles": roles_text(&user.roles), "dept_id": user.dept_id }))])
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn get_user(&self, id: UserId) -> Result<Option<User>> {
        let c = self.pool.get().await?;
        let st = c.prepare_cached(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1")).await?;
        Ok(c.query_opt(&st, &[&id]).await?.map(|r| user_from_row(&r)))
    }

    async fn list_users(&self) -> Result<Vec<User>> {
        let c = self.pool.get().await?;
        Ok(c.query(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"), &[]).await?.iter().map(user_from_row).collect())
    }

    async fn count_users(&self) -> Result<i64> {
        let c = self.pool.get().await?;
        Ok(c.query_one("SELECT COUNT(*) FROM users", &[]).await?.get(0))
    }

    async fn find_login(&self, username: &str) -> Result<Option<UserLogin>> {
        let c = self.pool.get().await?;
        let st = c.prepare_cached(&format!("SELECT {USER_COLUMNS}, password_hash, failed_logins, locked_until FROM users WHERE username = $1")).await?;
        Ok(c.query_opt(&st, &[&username]).await?.map(|r| UserLogin {
            user: user_from_row(&r),
            password_hash: r.get("password_hash"),
            failed_logins: r.get("failed_logins"),
            locked_until: r.get("locked_until"),
        }))
    }

    async fn record_login(&self, user_id: UserId, success: bool, locked_until: Option<DateTime<Utc>>) -> Result<()> {
        let c = self.pool.get().await?;
        if success {
            c.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1", &[&user_id]).await?;
        } else {
            c.execute("UPDATE users SET failed_logins = failed_logins + 1, locked_until = $2 WHERE id = $1", &[&user_id, &locked_until]).await?;
        }
        Ok(())
    }

    async fn set_password(&self, user_id: UserId, password_hash: &str, audit: &AuditEvent) -> Result<()> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.execute("UPDATE users SET password_hash = $2, failed_logins = 0, locked_until = NULL WHERE id = $1", &[&user_id, &password_hash]).await?;
        append_chained(&tx, vec![audit.clone().with_detail(serde_json::json!({ "target_user_id": user_id }))]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn update_user(&self, user_id: UserId, u: &UserUpdate, audit: &AuditEvent) -> Result<User> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let before = tx.query_opt(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1 FOR UPDATE"), &[&user_id]).await?.map(|r| user_from_row(&r)).ok_or(StoreError::NotFound)?;
        let row = tx
            .query_one(
                &format!("UPDATE users SET display_name = $2, dept_id = $3, roles = $4, active = $5 WHERE id = $1 RETURNING {USER_COLUMNS}"),
                &[&user_id, &u.display_name, &u.dept_id, &roles_text(&u.roles), &u.active],
            )
            .await?;
        let after = user_from_row(&row);
        append_chained(&tx, vec![audit.clone().with_detail(user_change_detail(&before, &after))]).await?;
        tx.commit().await?;
        Ok(after)
    }

    async fn create_session(&self, token_hash: &str, user_id: UserId, kind: SessionKind, name: Option<&str>, now: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute(
            "INSERT INTO sessions (token_hash, user_id, kind, name, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            &[&token_hash, &user_id, &kind.as_str(), &name, &now, &expires_at],
        )
        .await?;
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let c = self.pool.get().await?;
        let cols = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
        let st = c
            .prepare_cached(&format!(
                "SELECT {cols} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND (s.expires_at IS NULL OR s.expires_at > $2) AND u.active"
            ))
            .await?;
        Ok(c.query_opt(&st, &[&token_hash, &now]).await?.map(|r| user_from_row(&r)))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let c = self.pool.get().await?;
        c.execute("DELETE FROM sessions WHERE token_hash = $1", &[&token_hash]).await?;
        Ok(())
    }

    async fn create_archive(&self, data: &ArchiveData, numbering: &Numbering, audit: &AuditEvent) -> Result<Archive> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let seq = reserve_numbers(&tx, &numbering.scheme.period_key(numbering.date, &numbering.dept_code), 1).await?;
        let no = numbering.scheme.render(numbering.date, &numbering.dept_code, seq);
        let id = insert_archive(&tx, &no, data, audit.actor_id(), audit.at).await?;
        retention::refresh_retention(&tx, id, audit.at).await?;
        index_archive(&tx, id, &dangan_core::search::archive_terms(data, &[])).await?;
        insert_keys(&tx, &[id], &[dangan_core::dedup::archive_keys(data, ArchiveColumns::of(data).id_hash, &[])]).await?;
        let archive = get_archive_where(&tx, "a.id = $1", &id).await?.ok_or(StoreError::NotFound)?;
        append_chained(&tx, vec![audit.clone().with_archive(id, &no)]).await?;
        tx.commit().await?;
        Ok(archive)
    }

    async fn get_archive(&self, id: ArchiveId) -> Result<Option<Archive>> {
        let c = self.pool.get().await?;
        get_archive_where(&c, "a.id = $1", &id).await
    }

    async fn get_archive_by_no(&self, archive_no: &str) -> Result<Option<Archive>> {
        let c = self.pool.get().await?;
        get_archive_where(&c, "a.archive_no = $1", &archive_no).await
    }

    async fn update_archive(&self, id: ArchiveId, expected_version: i64, data: &ArchiveData, reason: Option<&str>, audit: &AuditEvent) -> Result<Archive> {
        let (actor, now) = (audit.actor_id(), audit.at);
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let current: i64 = tx.query_opt("SELECT version FROM archives WHERE id = $1 FOR UPDATE", &[&id]).await?.ok_or(StoreError::NotFound)?.get(0);
        if current != expected_version {
            return Err(StoreError::Conflict { current });
        }
        write_version(&tx, id, current, data, reason, actor, now).await?;
        retention::refresh_retention(&tx, id, now).await?;
        reindex_archive(&tx, id).await?;
        let archive = get_archive_where(&tx, "a.id = $1", &id).await?.ok_or(StoreError::NotFound)?;
        append_chained(&tx, vec![audit.clone().with_archive(id, &archive.archive_no)]).await?;
        tx.commit().await?;
        Ok(archive)
    }

    async fn list_archives(&self, query: &ArchiveQuery) -> Result<Vec<ArchiveSummary>> {
        let (text, params) = sql::list_query(Dialect::Postgres, query);
        self.query_built(&text, &params).await?.iter().map(summary_from_row).collect()
    }

    async fn count_archives(&self, filter: &ArchiveFilter) -> Result<i64> {
        let (text, params) = sql::count_query(Dialect::Postgres, filter);
        Ok(self.query_built_one(&text, &params).await?.get(0))
    }

    async fn count_archives_upto(&self, filter: &ArchiveFilter, cap: i64) -> Result<i64> {
        let (text, params) = sql::count_upto_query(Dialect::Postgres, filter, cap);
        Ok(self.query_built_one(&text, &params).await?.get(0))
    }

    async fn list_versions(&self, id: ArchiveId) -> Result<Vec<VersionRecord>> {
        let c = self.pool.get().await?;
        Ok(c.query(
            "SELECT version, data, changed_by, changed_at, reason FROM archive_versions WHERE archive_id = $1
             UNION ALL SELECT a.version, d.data, a.version_by, a.version_at, a.change_reason FROM archives a JOIN archive_documents d ON d.archive_id = a.id
             WHERE a.id = $1 ORDER BY 1",
            &[&id],
        )
            .await?
            .iter()
            .map(|r| VersionRecord {
                archive_id: id,
                version: r.get(0),
                data: r.get::<_, Json<ArchiveData>>(1).0,
                changed_by: r.get(2),
                changed_at: r.get(3),
                reason: r.get(4),
            })
            .collect())
    }

    async fn add_contact(&self, archive_id: ArchiveId, contact: &ContactData, audit: &AuditEvent) -> Result<Contact> {
        let (actor, now) = (audit.actor_id(), audit.at);
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let no = touch_archive(&tx, archive_id, actor, now).await?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO contacts (archive_id, name, mobile, data, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[&archive_id, &contact.name, &contact.mobile, &Json(contact), &actor, &now],
            )
            .await?
            .get(0);
        reindex_archive(&tx, archive_id).await?;
        append_chained(&tx, vec![audit.clone().with_archive(archive_id, &no).with_detail(serde_json::json!({ "contact_id": id }))]).await?;
        tx.commit().await?;
        Ok(Contact { id, archive_id, data: contact.clone() })
    }

    async fn update_contact(&self, archive_id: ArchiveId, contact_id: i64, contact: &ContactData, audit: &AuditEvent) -> Result<Contact> {
        let (actor, now) = (audit.actor_id(), audit.at);
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let n = tx
            .execute(
                "UPDATE contacts SET name = $3, mobile = $4, data = $5, updated_by = $6, updated_at = $7 WHERE id = $1 AND archive_id = $2",
                &[&contact_id, &archive_id, &contact.name, &contact.mobile, &Json(contact), &actor, &now],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let no = touch_archive(&tx, archive_id, actor, now).await?;
        reindex_archive(&tx, archive_id).await?;
        append_chained(&tx, vec![audit.clone().with_archive(archive_id, &no).with_detail(serde_json::json!({ "contact_id": contact_id }))]).await?;
        tx.commit().await?;
        Ok(Contact { id: contact_id, archive_id, data: contact.clone() })
    }

    async fn list_contacts(&self, archive_id: ArchiveId) -> Result<Vec<Contact>> {
        let c = self.pool.get().await?;
        let st = c.prepare_cached("SELECT id, archive_id, data FROM contacts WHERE archive_id = $1 ORDER BY id").await?;
        Ok(c.query(&st, &[&archive_id])
            .await?
            .iter()
            .map(|r| Contact { id: r.get(0), archive_id: r.get(1), data: r.get::<_, Json<ContactData>>(2).0 })
            .collect())
    }

    async fn add_entry(&self, archive_id: ArchiveId, entry: &EntryData, audit: &AuditEvent) -> Result<TimelineEntry> {
        let (actor, now) = (audit.actor_id(), audit.at);
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        if let Some(old) = entry.supersedes {
            let owner: Option<i64> = tx.query_opt("SELECT archive_id FROM timeline_entries WHERE id = $1", &[&old]).await?.map(|r| r.get(0));
            if owner != Some(archive_id) {
                return Err(StoreError::NotFound);
            }
        }
        let no = touch_archive(&tx, archive_id, actor, now).await?;
        // The stored created_at (microseconds), not `now` (nanoseconds), so the answer equals later reads.
        let row = tx
            .query_one(
                "INSERT INTO timeline_entries (archive_id, kind, occurred_on, supersedes, data, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at",
                &[&archive_id, &entry.kind.as_str(), &entry.occurred_on, &entry.supersedes, &Json(entry), &actor, &now],
            )
            .await?;
        let entry_id: i64 = row.get(0);
        dates::refresh_dates(&tx, archive_id).await?;
        retention::refresh_retention(&tx, archive_id, now).await?;
        append_chained(&tx, vec![audit.clone().with_archive(archive_id, &no).with_detail(serde_json::json!({ "entry_id": entry_id, "supersedes": entry.supersedes }))]).await?;
        tx.commit().await?;
        Ok(TimelineEntry { id: row.get(0), archive_id, data: entry.clone(), superseded_by: None, created_by: actor, created_at: row.get(1) })
    }

    async fn list_entries(&self, archive_id: ArchiveId) -> Result<Vec<TimelineEntry>> {
        let c = self.pool.get().await?;
        let st = c
            .prepare_cached("SELECT id, archive_id, data, created_by, created_at FROM timeline_entries WHERE archive_id = $1 ORDER BY occurred_on DESC, id DESC")
            .await?;
        let mut out: Vec<TimelineEntry> = c
            .query(&st, &[&archive_id])
            .await?
            .iter()
            .map(|r| TimelineEntry {
                id: r.get(0),
                archive_id: r.get(1),
                data: r.get::<_, Json<EntryData>>(2).0,
                superseded_by: None,
                created_by: r.get(3),
                created_at: r.get(4),
            })
            .collect();
        link_superseded(&mut out);
        Ok(out)
    }

    async fn add_attachment(&self, a: &NewAttachment, audit: &AuditEvent) -> Result<Attachment> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let no = touch_archive(&tx, a.archive_id, a.created_by, a.created_at).await?;
        let row = tx
            .query_one(
                &format!("INSERT INTO attachments (archive_id, sha256, filename, content_type, size, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {ATTACHMENT_COLUMNS}"),
                &[&a.archive_id, &a.sha256, &a.filename, &a.content_type, &a.size, &a.created_by, &a.created_at],
            )
            .await?;
        let att = attachment_from_row(&row);
        append_chained(
            &tx,
            vec![audit.clone().with_archive(a.archive_id, &no).with_detail(serde_json::json!({ "attachment_id": att.id, "sha256": att.sha256, "filename": att.filename, "size": att.size }))],
        )
        .await?;
        tx.commit().await?;
        Ok(att)
    }

    async fn list_attachments(&self, archive_id: ArchiveId) -> Result<Vec<Attachment>> {
        let c = self.pool.get().await?;
        Ok(c.query(&format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE archive_id = $1 ORDER BY id"), &[&archive_id])
            .await?
            .iter()
            .map(attachment_from_row)
            .collect())
    }

    async fn get_attachment(&self, id: i64) -> Result<Option<Attachment>> {
        let c = self.pool.get().await?;
        Ok(c.query_opt(&format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1"), &[&id]).await?.map(|r| attachment_from_row(&r)))
    }

    async fn create_access_request(&self, r: &NewAccessRequest, audit: &AuditEvent) -> Result<AccessRequest> {
        let now = audit.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO access_requests (archive_id, requester_id, purpose, sections, actions, hours, chain, step, status, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 'pending', $8) RETURNING {REQUEST_COLUMNS}"
                ),
                &[&r.archive_id, &r.requester_id, &r.purpose, &r.sections.join(","), &actions_text(&r.actions), &r.hours, &chain_text(&r.chain), &now],
            )
            .await?;
        let req = request_from_row(&row);
        let no = archive_no_of(&tx, req.archive_id).await?;
        append_chained(&tx, vec![audit.clone().with_archive(req.archive_id, &no).with_detail(request_detail(&req))]).await?;
        tx.commit().await?;
        Ok(req)
    }

    async fn get_access_request(&self, id: i64) -> Result<Option<AccessRequest>> {
        let c = self.pool.get().await?;
        Ok(c.query_opt(&format!("SELECT {REQUEST_COLUMNS} FROM access_requests WHERE id = $1"), &[&id]).await?.map(|r| request_from_row(&r)))
    }

    async fn list_access_requests(&self, q: &RequestQuery) -> Result<Vec<AccessRequest>> {
        let c = self.pool.get().await?;
        let limit = q.limit.clamp(1, 1000) as i64;
        Ok(c.query(
            &format!(
                "SELECT {REQUEST_COLUMNS} FROM access_requests WHERE ($1::BIGINT IS NULL OR requester_id = $1) AND ($2::BIGINT IS NULL OR archive_id = $2)
                 AND ($3::TEXT IS NULL OR status = $3) ORDER BY id DESC LIMIT $4"
            ),
            &[&q.requester_id, &q.archive_id, &q.status.map(|s| s.as_str()), &limit],
        )
        .await?
        .iter()
        .map(request_from_row)
        .collect())
    }

    async fn list_decisions(&self, request_id: i64) -> Result<Vec<ApprovalRecord>> {
        let c = self.pool.get().await?;
        Ok(c.query("SELECT request_id, step, step_kind, approver_id, approved, comment, decided_at FROM approval_decisions WHERE request_id = $1 ORDER BY step", &[&request_id])
            .await?
            .iter()
            .map(|r| ApprovalRecord {
                request_id: r.get(0),
                step: r.get(1),
                step_kind: ApprovalStep::parse(r.get(2)).unwrap_or(ApprovalStep::GeneralManager),
                approver_id: r.get(3),
                approved: r.get(4),
                comment: r.get(5),
                decided_at: r.get(6),
            })
            .collect())
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
        let now = audit.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let req = tx
            .query_opt(&format!("SELECT {REQUEST_COLUMNS} FROM access_requests WHERE id = $1 FOR UPDATE"), &[&request_id])
            .await?
            .map(|r| request_from_row(&r))
            .ok_or(StoreError::NotFound)?;
        if req.status != RequestStatus::Pending || req.step != step {
            return Err(StoreError::Conflict { current: req.step });
        }
        let kind = req.chain.get(step as usize).copied().ok_or(StoreError::Conflict { current: req.step })?;
        tx.execute(
            "INSERT INTO approval_decisions (request_id, step, step_kind, approver_id, approved, comment, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&request_id, &step, &kind.as_str(), &approver_id, &approved, &comment, &now],
        )
        .await?;
        let (status, next_step, grant) = next_state(&req, approved);
        let closed = (status != RequestStatus::Pending).then_some(now);
        let row = tx
            .query_one(
                &format!("UPDATE access_requests SET status = $2, step = $3, closed_at = $4 WHERE id = $1 RETURNING {REQUEST_COLUMNS}"),
                &[&request_id, &status.as_str(), &next_step, &closed],
            )
            .await?;
        let mut detail = serde_json::json!({ "request_id": request_id, "step": step, "step_kind": kind.as_str(), "approved": approved, "comment": comment });
        if grant {
            let grant_id: i64 = tx
                .query_one(
                    "INSERT INTO grants (user_id, archive_id, actions, request_id, granted_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                    &[&req.requester_id, &req.archive_id, &actions_text(&req.actions), &request_id, &now, &grant_expires_at],
                )
                .await?
                .get(0);
            detail["grant_id"] = grant_id.into();
            detail["grant_expires_at"] = serde_json::json!(grant_expires_at);
        }
        let no = archive_no_of(&tx, req.archive_id).await?;
        append_chained(&tx, vec![audit.clone().with_archive(req.archive_id, &no).with_detail(detail)]).await?;
        tx.commit().await?;
        Ok(request_from_row(&row))
    }

    async fn cancel_access_request(&self, request_id: i64, requester_id: UserId, audit: &AuditEvent) -> Result<AccessRequest> {
        let now = audit.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(
                &format!("UPDATE access_requests SET status = 'cancelled', closed_at = $3 WHERE id = $1 AND requester_id = $2 AND status = 'pending' RETURNING {REQUEST_COLUMNS}"),
                &[&request_id, &requester_id, &now],
            )
            .await?;
        match row {
            Some(r) => {
                let req = request_from_row(&r);
                let no = archive_no_of(&tx, req.archive_id).await?;
                append_chained(&tx, vec![audit.clone().with_archive(req.archive_id, &no).with_detail(serde_json::json!({ "request_id": request_id }))]).await?;
                tx.commit().await?;
                Ok(req)
            }
            None => match self.get_access_request(request_id).await? {
                Some(r) if r.requester_id == requester_id => Err(StoreError::Conflict { current: r.step }),
                _ => Err(StoreError::NotFound),
            },
        }
    }

    async fn active_grants(&self, user_id: UserId, archive_id: Option<ArchiveId>, now: DateTime<Utc>) -> Result<Vec<Grant>> {
        let c = self.pool.get().await?;
        let st = c
            .prepare_cached(
                "SELECT id, user_id, archive_id, actions, request_id, granted_at, expires_at, revoked_at FROM grants
                 WHERE user_id = $1 AND ($2::BIGINT IS NULL OR archive_id = $2) AND expires_at > $3 AND revoked_at IS NULL ORDER BY expires_at",
            )
            .await?;
        Ok(c.query(&st, &[&user_id, &archive_id, &now])
            .await?
            .iter()
            .map(grant_from_row)
            .collect())
    }

    /// COPY-based: ids are reserved from the identity sequence first, so contacts and entries can
    /// reference their archive without a round trip per row.
    async fn create_loan(&self, l: &NewLoan, audit: &AuditEvent) -> Result<Loan> {
        let now = audit.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO loans (archive_id, borrower_id, kind, purpose, lent_by, lent_at, due_at, grant_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {LOAN_COLUMNS}"
                ),
                &[&l.archive_id, &l.borrower_id, &l.kind.as_str(), &l.purpose, &l.lent_by, &now, &l.due_at, &l.grant_id],
            )
            .await?;
        let loan = loan_from_row(&row);
        let no = archive_no_of(&tx, loan.archive_id).await?;
        append_chained(&tx, vec![audit.clone().with_archive(loan.archive_id, &no).with_detail(loan_detail(&loan))]).await?;
        tx.commit().await?;
        Ok(loan)
    }

    async fn return_loan(&self, id: i64, complete: bool, note: &str, audit: &AuditEvent) -> Result<Loan> {
        let (checked_by, now) = (audit.actor_id(), audit.at);
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(
                &format!(
                    "UPDATE loans SET returned_at = $2, returned_complete = $3, checked_by = $4, return_note = $5 WHERE id = $1 AND returned_at IS NULL RETURNING {LOAN_COLUMNS}"
                ),
                &[&id, &now, &complete, &checked_by, &note],
            )
            .await?;
        match row {
            Some(r) => {
                let loan = loan_from_row(&r);
                let no = archive_no_of(&tx, loan.archive_id).await?;
                append_chained(&tx, vec![audit.clone().with_archive(loan.archive_id, &no).with_detail(loan_detail(&loan))]).await?;
                tx.commit().await?;
                Ok(loan)
            }
            None => match self.get_loan(id).await? {
                Some(_) => Err(StoreError::Conflict { current: 1 }),
                None => Err(StoreError::NotFound),
            },
        }
    }

    async fn list_loans(&self, q: &LoanQuery) -> Result<Vec<Loan>> {
        let c = self.pool.get().await?;
        let limit = q.limit.clamp(1, 1000) as i64;
        Ok(c.query(
            &format!(
                "SELECT {LOAN_COLUMNS} FROM loans WHERE ($1::BIGINT IS NULL OR borrower_id = $1) AND (NOT $2 OR returned_at IS NULL)
                 AND ($3::TIMESTAMPTZ IS NULL OR (returned_at IS NULL AND due_at < $3)) ORDER BY due_at, id LIMIT $4"
            ),
            &[&q.borrower_id, &q.open_only, &q.overdue_at, &limit],
        )
        .await?
        .iter()
        .map(loan_from_row)
        .collect())
    }

    async fn get_loan(&self, id: i64) -> Result<Option<Loan>> {
        let c = self.pool.get().await?;
        Ok(c.query_opt(&format!("SELECT {LOAN_COLUMNS} FROM loans WHERE id = $1"), &[&id]).await?.map(|r| loan_from_row(&r)))
    }

    async fn search(&self, req: &SearchRequest) -> Result<Vec<SearchHit>> {
        let (text, params) = sql::search_query(req, self.text_index(req).await?);
        self.query_built(&text, &params).await?.iter().map(|r| Ok(SearchHit { key: r.get(17), summary: summary_from_row(r)? })).collect()
    }

    async fn count_search(&self, req: &SearchRequest, cap: i64) -> Result<i64> {
        let (text, params) = sql::search_count_query(req, self.text_index(req).await?, cap);
        Ok(self.query_built_one(&text, &params).await?.get(0))
    }

    /// Everything anew, in one transaction, in order of last activity (so the sequence keeps
    /// meaning "most recently changed first"), in chunks.
    async fn reindex(&self) -> Result<u64> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.batch_execute("DELETE FROM search_docs; DELETE FROM dedup_keys").await?;
        tx.batch_execute(BULK_TEXT_INDEX_SETTINGS).await?;
        let mut after: Option<(DateTime<Utc>, i64)> = None;
        let mut n = 0u64;
        loop {
            let (t, i) = after.unwrap_or((DateTime::from_timestamp(-4_000_000_000, 0).unwrap_or_default(), i64::MIN));
            let rows = tx
                .query(
                    "SELECT a.id, a.updated_at, d.data,
                        COALESCE((SELECT jsonb_agg(c.data ORDER BY c.id) FROM contacts c WHERE c.archive_id = a.id), '[]'::jsonb), a.id_hash, COALESCE(a.merged_into, a.destruction_id)
                     FROM archives a JOIN archive_documents d ON d.archive_id = a.id
                     WHERE (a.updated_at, a.id) > ($1, $2) ORDER BY a.updated_at, a.id LIMIT 5000",
                    &[&t, &i],
                )
                .await?;
            if rows.is_empty() {
                break;
            }
            let mut ids = Vec::with_capacity(rows.len());
            let mut terms = Vec::with_capacity(rows.len());
            let mut keys = Vec::with_capacity(rows.len());
            for r in rows.iter().filter(|r| r.get::<_, Option<i64>>(5).is_none()) {
                let data = r.get::<_, Json<ArchiveData>>(2).0;
                let contacts = r.get::<_, Json<Vec<ContactData>>>(3).0;
                let id_hash: Option<String> = r.get(4);
                ids.push(r.get::<_, i64>(0));
                terms.push(dangan_core::search::archive_terms(&data, &contacts));
                keys.push(dangan_core::dedup::archive_keys(&data, id_hash.as_deref(), &contacts));
            }
            let refs: Vec<&str> = terms.iter().map(String::as_str).collect();
            insert_search_docs(&tx, &ids, &refs).await?;
            insert_keys(&tx, &ids, &keys).await?;
            n += rows.len() as u64;
            let last = rows.last().expect("non-empty");
            after = Some((last.get(1), last.get(0)));
        }
        tx.execute(sql::MARK_DERIVED, &[&SEARCH_TERMS_STATE]).await?;
        tx.commit().await?;
        merge_text_index_pending_list(&c).await;
        c.batch_execute("ANALYZE search_docs").await?;
        Ok(n)
    }

    async fn search_index_bytes(&self) -> Result<i64> {
        let c = self.pool.get().await?;
        Ok(c.query_one("SELECT pg_total_relation_size('search_docs')", &[]).await?.get(0))
    }

    async fn duplicate_candidates_batch(&self, probes: &[Vec<String>]) -> Result<Vec<Vec<DuplicateCandidate>>> {
        let keys = distinct_keys(probes);
        if keys.is_empty() {
            return Ok(vec![Vec::new(); probes.len()]);
        }
        let c = self.pool.get().await?;
        let st = c.prepare_cached(&sql::candidates_query("key = ANY($1::text[])")).await?;
        let mut hits = Vec::new();
        for r in c.query(&st, &[&keys]).await? {
            hits.push((r.get::<_, String>(17), summary_from_row(&r)?));
        }
        Ok(candidates_for(probes, hits))
    }

    async fn duplicate_pairs(&self, after: Option<PairCursor>, limit: u32) -> Result<Vec<DuplicatePair>> {
        let (text, params) = sql::duplicate_pairs_query(after, limit);
        let c = self.pool.get().await?;
        let st = c.prepare_cached(&text).await?;
        let b = boxed(&params);
        let raw: Vec<(i64, i64, i64)> = c.query(&st, &refs(&b)).await?.iter().map(|r| (r.get::<_, i64>(0), r.get(1), r.get(2))).collect();
        let mut ids: Vec<i64> = raw.iter().flat_map(|(_, a, b)| [*a, *b]).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (rows_sql, keys_sql) = sql::pair_rows_queries(&ids);
        let summaries = c.query(&rows_sql, &[]).await?.iter().map(summary_from_row).collect::<Result<Vec<_>>>()?;
        let keys: Vec<(i64, String)> = c.query(&keys_sql, &[]).await?.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok(pairs_from(raw, summaries, keys))
    }

    async fn dedup_keys(&self, archive_id: ArchiveId) -> Result<Vec<String>> {
        let c = self.pool.get().await?;
        Ok(c.query("SELECT key FROM dedup_keys WHERE archive_id = $1 ORDER BY key COLLATE \"C\"", &[&archive_id]).await?.iter().map(|r| r.get(0)).collect())
    }

    async fn merge_archives(&self, m: &MergeRequest, audit: &AuditEvent) -> Result<MergeOutcome> {
        let (actor, now) = (audit.actor_id(), audit.at);
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // Both rows locked in id order (two merges of the same pair in opposite directions wait
        // rather than deadlock).
        let rows = tx
            .query("SELECT id, version, merged_into, archive_no FROM archives WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&vec![m.survivor_id, m.merged_id]])
            .await?;
        let state = |id: i64| rows.iter().find(|r| r.get::<_, i64>(0) == id).map(|r| (r.get::<_, i64>(1), r.get::<_, Option<i64>>(2), r.get::<_, String>(3)));
        let (sv, s_merged, _) = state(m.survivor_id).ok_or(StoreError::NotFound)?;
        let (mv, m_merged, merged_no) = state(m.merged_id).ok_or(StoreError::NotFound)?;
        if m.survivor_id == m.merged_id || s_merged.is_some() || sv != m.survivor_version {
            return Err(StoreError::Conflict { current: sv });
        }
        if m_merged.is_some() || mv != m.merged_version {
            return Err(StoreError::Conflict { current: mv });
        }
        write_version(&tx, m.survivor_id, sv, &m.data, Some(&m.reason), actor, now).await?;
        tx.execute("UPDATE archives SET merged_into = $2, updated_by = $3, updated_at = $4 WHERE id = $1", &[&m.merged_id, &m.survivor_id, &actor, &now]).await?;
        tx.execute("UPDATE archives SET merged_into = $2 WHERE merged_into = $1", &[&m.merged_id, &m.survivor_id]).await?;
        let mut moved = [0u64; 3];
        for (i, table) in ["contacts", "timeline_entries", "attachments"].iter().enumerate() {
            moved[i] = tx
                .execute(&format!("UPDATE {table} SET archive_id = $2, origin_archive_id = COALESCE(origin_archive_id, $1) WHERE archive_id = $1"), &[&m.merged_id, &m.survivor_id])
                .await?;
        }
        reindex_archive(&tx, m.merged_id).await?;
        reindex_archive(&tx, m.survivor_id).await?;
        retention::refresh_retention(&tx, m.survivor_id, now).await?;
        let archive = get_archive_where(&tx, "a.id = $1", &m.survivor_id).await?.ok_or(StoreError::NotFound)?;
        let mut detail: serde_json::Value = serde_json::from_str(&audit.detail).unwrap_or_else(|_| serde_json::json!({}));
        detail["merged_id"] = m.merged_id.into();
        detail["merged_no"] = merged_no.clone().into();
        detail["moved"] = serde_json::json!({ "contacts": moved[0], "entries": moved[1], "attachments": moved[2] });
        append_chained(&tx, vec![audit.clone().with_archive(m.survivor_id, &archive.archive_no).with_detail(detail)]).await?;
        tx.commit().await?;
        Ok(MergeOutcome { archive, merged_no, moved_contacts: moved[0], moved_entries: moved[1], moved_attachments: moved[2] })
    }

    async fn moved_parts(&self, archive_id: ArchiveId) -> Result<Vec<MovedPart>> {
        let c = self.pool.get().await?;
        let mut out = Vec::new();
        for (kind, table) in [("contact", "contacts"), ("entry", "timeline_entries"), ("attachment", "attachments")] {
            let rows = c.query(&format!("SELECT id, origin_archive_id FROM {table} WHERE archive_id = $1 AND origin_archive_id IS NOT NULL ORDER BY id"), &[&archive_id]).await?;
            out.extend(rows.iter().map(|r| MovedPart { kind, id: r.get(0), origin_archive_id: r.get(1) }));
        }
        Ok(out)
    }

    async fn bulk_load(&self, batch: Vec<BulkArchive>, scheme: &NumberScheme, dept_code: &str, audit: &AuditEvent) -> Result<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let refs: Vec<&BulkArchive> = batch.iter().collect();
        let created = copy_bulk(&tx, &refs, scheme, dept_code, audit.actor_id()).await?;
        let first = created.first().map(|c| c.1.clone()).unwrap_or_default();
        let last = created.last().map(|c| c.1.clone()).unwrap_or_default();
        append_chained(&tx, vec![audit.clone().with_detail(serde_json::json!({ "count": created.len(), "first_no": first, "last_no": last }))]).await?;
        tx.commit().await?;
        Ok(created.len())
    }

    async fn create_import(&self, job: &NewImport, audit: &AuditEvent) -> Result<ImportJob> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let k = job.counts;
        let finished = job.status.is_finished().then_some(job.now);
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO imports (file_name, file_sha256, file_size, format, user_id, status, options, total_rows, processed, imported, merged, skipped, failed, message, created_at, updated_at, finished_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16) RETURNING {IMPORT_COLUMNS}"
                ),
                &[&job.file_name, &job.file_sha256, &job.file_size, &job.format, &job.user_id, &job.status.as_str(), &Json(&job.options), &k.total, &k.processed, &k.imported, &k.merged, &k.skipped, &k.failed, &job.message, &job.now, &finished],
            )
            .await?;
        let created = import_from_row(&row);
        append_chained(&tx, vec![audit.clone().with_detail(serde_json::json!({ "import_id": created.id, "file": job.file_name, "sha256": job.file_sha256, "size": job.file_size, "status": job.status.as_str(), "counts": k }))]).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn get_import(&self, id: i64) -> Result<Option<ImportJob>> {
        let c = self.pool.get().await?;
        Ok(c.query_opt(&format!("SELECT {IMPORT_COLUMNS} FROM imports WHERE id = $1"), &[&id]).await?.as_ref().map(import_from_row))
    }

    async fn list_imports(&self, user_id: Option<UserId>, limit: u32) -> Result<Vec<ImportJob>> {
        let c = self.pool.get().await?;
        let limit = limit as i64;
        Ok(c.query(&format!("SELECT {IMPORT_COLUMNS} FROM imports WHERE ($1::bigint IS NULL OR user_id = $1) ORDER BY id DESC LIMIT $2"), &[&user_id, &limit]).await?.iter().map(import_from_row).collect())
    }

    async fn set_import_status(&self, id: i64, status: ImportStatus, counts: Option<ImportCounts>, message: &str, now: DateTime<Utc>) -> Result<ImportJob> {
        let c = self.pool.get().await?;
        let row = match counts {
            Some(k) => c
                .query_opt(
                    &format!("UPDATE imports SET status = $2, message = $3, updated_at = $4, cancel_requested = (cancel_requested AND $2 <> 'running'), total_rows = $5, processed = $6, imported = $7, merged = $8, skipped = $9, failed = $10 WHERE id = $1 RETURNING {IMPORT_COLUMNS}"),
                    &[&id, &status.as_str(), &message, &now, &k.total, &k.processed, &k.imported, &k.merged, &k.skipped, &k.failed],
                )
                .await?,
            None => c.query_opt(&format!("UPDATE imports SET status = $2, message = $3, updated_at = $4, cancel_requested = (cancel_requested AND $2 <> 'running') WHERE id = $1 RETURNING {IMPORT_COLUMNS}"), &[&id, &status.as_str(), &message, &now]).await?,
        };
        row.as_ref().map(import_from_row).ok_or(StoreError::NotFound)
    }

    async fn finish_import(&self, id: i64, status: ImportStatus, message: &str, audit: &AuditEvent) -> Result<ImportJob> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let row = tx
            .query_opt(&format!("UPDATE imports SET status = $2, message = $3, updated_at = $4, finished_at = $4 WHERE id = $1 RETURNING {IMPORT_COLUMNS}"), &[&id, &status.as_str(), &message, &audit.at])
            .await?;
        let job = row.as_ref().map(import_from_row).ok_or(StoreError::NotFound)?;
        append_chained(&tx, vec![audit.clone().with_detail(import_detail(&job))]).await?;
        tx.commit().await?;
        // What the import's batches left in the pending list (`BULK_TEXT_INDEX_SETTINGS`).
        merge_text_index_pending_list(&c).await;
        Ok(job)
    }

    async fn request_import_cancel(&self, id: i64) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.execute("UPDATE imports SET cancel_requested = TRUE WHERE id = $1 AND status IN ('running', 'analyzed')", &[&id]).await? > 0)
    }

    async fn imported_fingerprints(&self, fingerprints: Vec<Fingerprint>, except_import: Option<i64>) -> Result<Vec<Fingerprint>> {
        if fingerprints.is_empty() {
            return Ok(Vec::new());
        }
        let c = self.pool.get().await?;
        let list: Vec<&[u8]> = fingerprints.iter().map(|f| &f[..]).collect();
        let rows = c.query("SELECT fingerprint FROM import_rows WHERE fingerprint = ANY($1) AND import_id IS DISTINCT FROM $2", &[&list, &except_import]).await?;
        Ok(rows.iter().filter_map(|r| <[u8; 32]>::try_from(r.get::<_, &[u8]>(0)).ok()).collect())
    }

    async fn import_batch(&self, import_id: i64, rows: Vec<ImportRow>, counts: BatchCounts, scheme: &NumberScheme, dept_code: &str, audit: &AuditEvent) -> Result<Vec<ImportedRow>> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // A row imported before (by any import) is not imported again. Two servers running the
        // same file at once: the second's insert of the fingerprint fails and its batch rolls back.
        let list: Vec<&[u8]> = rows.iter().map(|r| &r.fingerprint[..]).collect();
        let known: std::collections::HashSet<Vec<u8>> = tx.query("SELECT fingerprint FROM import_rows WHERE fingerprint = ANY($1)", &[&list]).await?.iter().map(|r| r.get::<_, Vec<u8>>(0)).collect();
        let mut batch_prints = std::collections::HashSet::new();
        let fresh: Vec<&ImportRow> = rows.iter().filter(|r| !known.contains(&r.fingerprint[..]) && batch_prints.insert(r.fingerprint)).collect();
        let skipped_again = (rows.len() - fresh.len()) as i64;
        let archives: Vec<&BulkArchive> = fresh.iter().map(|r| &r.archive).collect();
        let created = copy_bulk(&tx, &archives, scheme, dept_code, audit.actor_id()).await?;
        let prints: Vec<&[u8]> = fresh.iter().map(|r| &r.fingerprint[..]).collect();
        let row_nos: Vec<i32> = fresh.iter().map(|r| r.row as i32).collect();
        let ids: Vec<i64> = created.iter().map(|c| c.0).collect();
        tx.execute("INSERT INTO import_rows (fingerprint, import_id, row_no, archive_id) SELECT f, $2, r, a FROM UNNEST($1::bytea[], $3::int[], $4::bigint[]) AS t(f, r, a)", &[&prints, &import_id, &row_nos, &ids]).await?;
        let out: Vec<ImportedRow> = fresh.iter().zip(created).map(|(r, (id, no))| ImportedRow { row: r.row, archive_id: id, archive_no: no }).collect();
        let n = tx
            .execute(
                "UPDATE imports SET processed = processed + $2, imported = imported + $3, merged = merged + $4, skipped = skipped + $5, failed = failed + $6, updated_at = $7 WHERE id = $1",
                &[&import_id, &counts.processed, &(out.len() as i64), &counts.merged, &(counts.skipped + skipped_again), &counts.failed, &audit.at],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        if !out.is_empty() {
            let first = out.first().map(|c| c.archive_no.clone()).unwrap_or_default();
            let last = out.last().map(|c| c.archive_no.clone()).unwrap_or_default();
            append_chained(&tx, vec![audit.clone().with_detail(serde_json::json!({ "import_id": import_id, "count": out.len(), "first_no": first, "last_no": last }))]).await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn restore_archive(&self, a: &ArrivingArchive, audit: &AuditEvent) -> Result<Archive> {
        let actor = audit.actor_id();
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let taken: bool = tx.query_one("SELECT EXISTS(SELECT 1 FROM archives WHERE archive_no = $1)", &[&a.archive_no]).await?.get(0);
        if taken {
            return Err(StoreError::Duplicate(format!("archive number {} exists", a.archive_no)));
        }
        let id = insert_archive(&tx, &a.archive_no, &a.data, actor, a.created_at).await?;
        for ct in &a.contacts {
            tx.execute("INSERT INTO contacts (archive_id, name, mobile, data, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6)", &[&id, &ct.name, &ct.mobile, &Json(ct), &actor, &a.created_at]).await?;
        }
        let mut ids: HashMap<i64, i64> = HashMap::new();
        for (old, e, when) in &a.entries {
            let mut e = e.clone();
            e.supersedes = e.supersedes.and_then(|s| ids.get(&s).copied());
            let new: i64 = tx
                .query_one(
                    "INSERT INTO timeline_entries (archive_id, kind, occurred_on, supersedes, data, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                    &[&id, &e.kind.as_str(), &e.occurred_on, &e.supersedes, &Json(&e), &actor, when],
                )
                .await?
                .get(0);
            ids.insert(*old, new);
        }
        for m in &a.attachments {
            tx.execute(
                "INSERT INTO attachments (archive_id, sha256, filename, content_type, size, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&id, &m.sha256, &m.filename, &m.content_type, &m.size, &actor, &m.created_at],
            )
            .await?;
        }
        index_archive(&tx, id, &dangan_core::search::archive_terms(&a.data, &a.contacts)).await?;
        insert_keys(&tx, &[id], &[dangan_core::dedup::archive_keys(&a.data, ArchiveColumns::of(&a.data).id_hash, &a.contacts)]).await?;
        if let Some((period, seq)) = &a.period {
            let seq = *seq as i64;
            tx.execute("INSERT INTO number_counters (period, last_value) VALUES ($1, $2) ON CONFLICT (period) DO UPDATE SET last_value = GREATEST(number_counters.last_value, excluded.last_value)", &[period, &seq]).await?;
        }
        append_chained(&tx, vec![audit.clone().with_archive(id, &a.archive_no)]).await?;
        let archive = get_archive_where(&tx, "a.id = $1", &id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(archive)
    }

    async fn append_audit(&self, events: Vec<AuditEvent>) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        append_chained(&tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>> {
        let (text, params) = sql::audit_list(q, AUDIT_COLUMNS);
        self.query_built(&text, &params).await?.iter().map(audit_from_row).collect()
    }

    async fn audit_chain(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditRecord>> {
        let c = self.pool.get().await?;
        let limit = limit as i64;
        c.query(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"), &[&from_seq, &limit]).await?.iter().map(audit_from_row).collect()
    }

    async fn audit_head(&self) -> Result<Option<AuditRecord>> {
        let c = self.pool.get().await?;
        c.query_opt(&format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1"), &[]).await?.map(|r| audit_from_row(&r)).transpose()
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
        self.settings_row("policy_settings").await
    }

    async fn policy_version(&self) -> Result<i64> {
        let c = self.pool.get().await?;
        let st = c.prepare_cached("SELECT version FROM policy_settings WHERE id = 1").await?;
        Ok(c.query_opt(&st, &[]).await?.map_or(0, |r| r.get(0)))
    }

    async fn put_policy_settings(&self, expected_version: i64, data: &str, updated_by: UserId, audit: &AuditEvent) -> Result<i64> {
        self.put_settings_row("policy_settings", expected_version, data, updated_by, audit).await
    }

    async fn checklist_settings(&self) -> Result<Option<StoredPolicy>> {
        self.settings_row("checklist_settings").await
    }

    async fn put_checklist_settings(&self, expected_version: i64, data: &str, updated_by: UserId, audit: &AuditEvent) -> Result<i64> {
        self.put_settings_row("checklist_settings", expected_version, data, updated_by, audit).await
    }

    async fn add_checklist_mark(&self, m: &NewMark, audit: &AuditEvent) -> Result<dangan_core::checklist::Mark> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let no: String = tx.query_opt("SELECT archive_no FROM archives WHERE id = $1", &[&m.archive_id]).await?.ok_or(StoreError::NotFound)?.get(0);
        let row = tx
            .query_one(
                &format!(
                    "INSERT INTO checklist_marks (archive_id, checklist, item, action, attachment_id, note, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {}",
                    crate::checklists::MARK_COLUMNS
                ),
                &[&m.archive_id, &m.checklist, &m.item, &m.action.as_str(), &m.attachment_id, &m.note, &m.created_by, &m.created_at],
            )
            .await?;
        let mark = mark_from_row(&row);
        append_chained(&tx, vec![audit.clone().with_archive(m.archive_id, &no)]).await?;
        tx.commit().await?;
        Ok(mark)
    }

    async fn checklist_marks(&self, archive_ids: &[ArchiveId]) -> Result<Vec<dangan_core::checklist::Mark>> {
        let c = self.pool.get().await?;
        let st = c.prepare_cached(&format!("SELECT {} FROM checklist_marks WHERE archive_id = ANY($1) ORDER BY id", crate::checklists::MARK_COLUMNS)).await?;
        Ok(c.query(&st, &[&archive_ids]).await?.iter().map(mark_from_row).collect())
    }

    async fn checklist_archives(&self, scope: Option<&ListScope>, since: DateTime<Utc>, limit: u32) -> Result<Vec<Archive>> {
        let (text, params) = crate::checklists::candidates_query(Dialect::Postgres, ARCHIVE_COLUMNS, ARCHIVE_FROM, scope, since, limit);
        Ok(self.query_built(&text, &params).await?.iter().map(archive_from_row).collect())
    }

    async fn sweep_expired_grants(&self, now: DateTime<Utc>) -> Result<Vec<Grant>> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        // SKIP LOCKED: two servers sweeping at once record each expiry once.
        let rows = tx
            .query(
                "SELECT g.id, g.user_id, g.archive_id, g.actions, g.request_id, g.granted_at, g.expires_at, g.revoked_at, a.archive_no
                 FROM grants g JOIN archives a ON a.id = g.archive_id WHERE NOT g.expiry_audited AND g.expires_at <= $1 ORDER BY g.expires_at, g.id
                 FOR UPDATE OF g SKIP LOCKED",
                &[&now],
            )
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let expired: Vec<(Grant, String)> = rows
            .iter()
            .map(|r| (grant_from_row(r), r.get(8)))
            .collect();
        let ids: Vec<i64> = expired.iter().map(|(g, _)| g.id).collect();
        tx.execute("UPDATE grants SET expiry_audited = TRUE WHERE id = ANY($1)", &[&ids]).await?;
        append_chained(&tx, expired.iter().map(|(g, no)| grant_expired_event(g, no, now)).collect()).await?;
        tx.commit().await?;
        Ok(expired.into_iter().map(|(g, _)| g).collect())
    }

    /// Statistics right after the load: autovacuum would get there later, and until it does the
    /// planner has no idea of the new rows and picks poor plans for combined filters.
    async fn snapshot(&self, dest: &std::path::Path, _method: SnapshotMethod) -> Result<Snapshot> {
        let mut client = self.pool.get().await?;
        // One REPEATABLE READ transaction exports its snapshot; the counts and attachment list
        // are read in it and pg_dump dumps exactly it (`--snapshot`), so all three agree.
        let tx = client.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).read_only(true).start().await?;
        let snapshot_id: String = tx.query_one("SELECT pg_export_snapshot()", &[]).await?.get(0);
        let r = tx.query_one(SNAPSHOT_STATS_SQL, &[]).await?;
        let stats = SnapshotStats {
            archives: r.get(0),
            versions: r.get(1),
            contacts: r.get(2),
            entries: r.get(3),
            attachments: r.get(4),
            users: r.get(5),
            audit_head_seq: r.get(6),
            audit_head_hash: r.get(7),
        };
        let attachments = tx.query("SELECT DISTINCT sha256 FROM attachments ORDER BY sha256", &[]).await?.iter().map(|r| r.get::<_, String>(0)).collect();
        let out = tokio::process::Command::new("pg_dump")
            .arg("--format=custom")
            .arg("--no-owner")
            .arg("--no-privileges")
            .arg("--snapshot")
            .arg(&snapshot_id)
            .arg("--file")
            .arg(dest)
            .arg("--dbname")
            .arg(&self.url)
            .output()
            .await
            .map_err(|e| StoreError::Db(format!("cannot run pg_dump (is the PostgreSQL client installed?): {e}")))?;
        tx.commit().await?;
        if !out.status.success() {
            return Err(StoreError::Db(format!("pg_dump failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim())));
        }
        Ok(Snapshot { attachments, stats })
    }

    async fn try_job_lock(&self, key: i64) -> Result<Option<JobLock>> {
        let client = self.pool.get().await?;
        let got: bool = client.query_one("SELECT pg_try_advisory_lock($1)", &[&key]).await?.get(0);
        if !got {
            return Ok(None);
        }
        // A session lock on a connection taken out of the pool (so the lock cannot pass to
        // another user of it): `release` unlocks; if the guard is dropped instead, the
        // connection closes and the lock goes with it.
        let client = deadpool_postgres::Object::take(client);
        Ok(Some(JobLock::with_release(async move {
            let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&key]).await;
        })))
    }

    async fn begin_bulk_import(&self) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.query_one("SELECT NOT EXISTS (SELECT 1 FROM archives)", &[]).await?.get(0))
    }

    async fn end_bulk_load(&self) -> Result<()> {
        let c = self.pool.get().await?;
        // VACUUM, not only ANALYZE: it sets the visibility map of the freshly written pages, without
        // which no index-only scan is possible (the planner then counts a heap fetch per index
        // entry) — a salesperson's filtered list walked the primary key instead of the scope's
        // covering index: 37 ms instead of 2 ms at 1M. Autovacuum would get there, later (or never
        // where it is off). One statement each: VACUUM cannot run in a transaction block.
        for table in ["archives", "archive_documents", "contacts", "timeline_entries", "search_docs", "dedup_keys", "archive_dates"] {
            c.batch_execute(&format!("VACUUM (ANALYZE) {table}")).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A salesperson's list page in id order (their department's archives, their own, their
    /// grants) can come from the scope indexes alone, merged as the parts come: each tier part an
    /// index-only scan (the indexes carry every column the page returns, migration 0023) under a
    /// `Merge Append` (issue 3's p99 target), in the generic plan these pages run. An empty
    /// base's statistics make the planner prefer other plans, so they are priced out here: this
    /// checks that the plan exists, which a summary column added without its index column, or a
    /// query that loses the parts' order, would break.
    #[tokio::test]
    async fn a_scoped_page_reads_its_rows_from_the_scope_indexes() {
        let Some(db) = crate::testing::TestDb::create().await else { return };
        let store = PgStore::connect(&db.url).await.unwrap();
        store.migrate().await.unwrap();
        // On a connection that runs generic plans, as these pages are run (`plan_fixed_by_shape`).
        let c = store.generic_pool.get().await.unwrap();
        assert_eq!(c.query_one("SHOW plan_cache_mode", &[]).await.unwrap().get::<_, String>(0), "force_generic_plan");
        c.batch_execute("SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off; SET enable_hashagg = off").await.unwrap();
        for q in sql::salesperson_pages() {
            let (text, params) = sql::list_query(sql::Dialect::Postgres, &q);
            assert!(sql::plan_fixed_by_shape(&text), "{text}");
            let b = boxed(&params);
            let plan: Vec<String> = c.query(&format!("EXPLAIN {text}"), &refs(&b)).await.unwrap().iter().map(|r| r.get::<_, String>(0)).collect();
            let plan = plan.join("\n");
            for index in ["archives_department_tier", "archives_personal_owner"] {
                assert!(plan.contains(&format!("Index Only Scan Backward using {index} on archives")) || plan.contains(&format!("Index Only Scan using {index} on archives")), "{index}: {plan}");
            }
            assert!(plan.contains("Merge Append"), "the parts merged as they come: {plan}");
            assert!(plan.matches("using archives_pkey").count() <= 1, "no row looked up by id but the granted ones: {plan}");
        }
    }
}
