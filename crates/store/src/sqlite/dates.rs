//! SQLite: archive dates, reviews, the pool sweep's query, transfers (pool, handover) and
//! calendar-feed tokens. See `dangan_core::lifecycle` for the rules.

use chrono::{NaiveDate, Utc};
use dangan_core::lifecycle::{self, ArchiveDate, DateKind};
use dangan_core::{ArchiveData, ArchiveId, ContactData, EntryData, UserId};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::*;
use crate::lifecycle::*;

/// The effective timeline entries of an archive (corrections replace what they supersede).
fn effective_entries(c: &Connection, archive_id: i64) -> Result<Vec<EntryData>> {
    let mut st = c.prepare_cached("SELECT id, data FROM timeline_entries WHERE archive_id = ?1")?;
    let rows = st.query_map([archive_id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    let (mut ids, mut entries) = (Vec::new(), Vec::new());
    for r in rows {
        let (id, json) = r?;
        ids.push(id);
        entries.push(serde_json::from_str::<EntryData>(&json)?);
    }
    let keep = lifecycle::effective_entries(&entries, &ids);
    Ok(keep.into_iter().map(|i| entries[i].clone()).collect())
}

pub(super) fn insert_dates(tx: &Connection, archive_id: i64, dates: &[ArchiveDate], follow_up: Option<NaiveDate>) -> Result<()> {
    let mut st = tx.prepare_cached("INSERT INTO archive_dates (archive_id, date_kind, on_date, md, num, label) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    for d in dates {
        st.execute(params![archive_id, d.kind.as_str(), d.on.map(|x| x.to_string()), d.month_day(), d.num, d.label])?;
    }
    if follow_up.is_some() {
        tx.prepare_cached("UPDATE archives SET last_follow_up = ?2 WHERE id = ?1")?.execute(params![archive_id, follow_up.map(|d| d.to_string())])?;
    }
    Ok(())
}

/// Rewrites an archive's dates and last follow-up from what is stored; `data: None` (a
/// tombstone) removes them.
pub(super) fn write_dates(tx: &Connection, archive_id: i64, data: Option<&ArchiveData>, contacts: &[ContactData]) -> Result<()> {
    tx.prepare_cached("DELETE FROM archive_dates WHERE archive_id = ?1")?.execute([archive_id])?;
    let Some(data) = data else { return Ok(()) };
    let entries = effective_entries(tx, archive_id)?;
    let refs: Vec<&EntryData> = entries.iter().collect();
    tx.prepare_cached("UPDATE archives SET last_follow_up = ?2 WHERE id = ?1")?.execute(params![archive_id, lifecycle::last_follow_up(&refs).map(|d| d.to_string())])?;
    insert_dates(tx, archive_id, &lifecycle::archive_dates(data, contacts, &refs), None)
}

/// As `write_dates`, reading the document and contacts (after a timeline change).
pub(super) fn refresh_dates(tx: &Connection, archive_id: i64) -> Result<()> {
    let (json, merged): (String, Option<i64>) = tx
        .prepare_cached("SELECT d.data, a.merged_into FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.id = ?1")?
        .query_row([archive_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if merged.is_some() {
        return write_dates(tx, archive_id, None, &[]);
    }
    let data: ArchiveData = serde_json::from_str(&json)?;
    let contacts = stored_contacts(tx, archive_id)?;
    write_dates(tx, archive_id, Some(&data), &contacts)
}

/// Builds every archive's dates anew (after `reindex`, or once for a database from before them).
pub(super) fn rebuild_dates(tx: &Connection) -> Result<u64> {
    tx.execute_batch("DELETE FROM archive_dates")?;
    let ids: Vec<i64> = tx.prepare("SELECT id FROM archives WHERE merged_into IS NULL ORDER BY id")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    for id in &ids {
        refresh_dates(tx, *id)?;
    }
    tx.execute(&super::sqlite_placeholders(crate::sql::MARK_DERIVED), ["archive_dates"])?;
    Ok(ids.len() as u64)
}

pub(super) fn dates_built(c: &Connection) -> Result<bool> {
    Ok(c.query_row("SELECT EXISTS (SELECT 1 FROM derived_state WHERE name = 'archive_dates') OR NOT EXISTS (SELECT 1 FROM archives)", [], |r| r.get(0))?)
}

fn date_from_row(r: &Row, first: usize) -> Result<ArchiveDate> {
    let kind: String = r.get(first)?;
    let on: Option<String> = r.get(first + 1)?;
    Ok(ArchiveDate {
        kind: kind.parse::<DateKind>().map_err(|e| StoreError::Db(e.to_string()))?,
        on: on.map(|s| s.parse::<NaiveDate>()).transpose().map_err(|e| StoreError::Db(format!("archive_dates.on_date: {e}")))?,
        num: r.get(first + 2)?,
        label: r.get(first + 3)?,
    })
}

pub(super) async fn due_dates(s: &SqliteStore, q: &DueDatesQuery) -> Result<Vec<DueDate>> {
    let (text, params) = sql::due_dates_query(Dialect::Sqlite, q);
    s.query_rows(text, params, |r| Ok(DueDate { archive: summary_from_row(r)?, date: date_from_row(r, 17)? })).await
}

pub(super) async fn count_due_dates(s: &SqliteStore, q: &DueDatesQuery, day: NaiveDate) -> Result<Vec<DueCount>> {
    let (text, params) = sql::due_counts_query(Dialect::Sqlite, q, day);
    s.query_rows(text, params, |r| {
        let kind: String = r.get(0)?;
        Ok(DueCount { kind: kind.parse::<DateKind>().map_err(|e| StoreError::Db(e.to_string()))?, before_day: r.get::<_, i64>(1)? == 1, count: r.get(2)? })
    })
    .await
}

pub(super) async fn count_review_due(s: &SqliteStore, filter: &ArchiveFilter, cutoffs: &GradeCutoffs, cap: Option<i64>) -> Result<i64> {
    let (text, params) = sql::review_due_count_query(Dialect::Sqlite, filter, cutoffs, cap);
    Ok(s.query_rows(text, params, |r| Ok(r.get::<_, i64>(0)?)).await?.into_iter().next().unwrap_or(0))
}

pub(super) async fn review_due(s: &SqliteStore, filter: &ArchiveFilter, cutoffs: &GradeCutoffs, limit: u32, large_book: bool) -> Result<Vec<ReviewDue>> {
    // The large book's query names its index (`INDEXED BY`). A move-in into an empty base sets the
    // secondary indexes aside until it ends (`deferred_indexes`): the book's own walk answers then.
    let large_book = large_book && {
        let text = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'archives_review_due'".to_string();
        s.query_rows(text, Vec::new(), |r| Ok(r.get::<_, i64>(0)?)).await?.first() == Some(&1)
    };
    let (text, params) = sql::review_due_query(Dialect::Sqlite, filter, cutoffs, limit, large_book);
    s.query_rows(text, params, |r| Ok(ReviewDue { archive: summary_from_row(r)?, since: from_micros(r.get(17)?) })).await
}

pub(super) async fn mark_reviewed(s: &SqliteStore, id: ArchiveId, audit: &AuditEvent) -> Result<()> {
    let audit = audit.clone();
    s.write(move |tx| {
        let n = tx.execute("UPDATE archives SET reviewed_at = ?2 WHERE id = ?1 AND merged_into IS NULL", params![id, micros(audit.at)])?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let no = archive_no_of(tx, id)?;
        append_chained(tx, vec![audit.with_archive(id, &no)])?;
        Ok(())
    })
    .await
}

pub(super) async fn follow_up_overdue(s: &SqliteStore, cutoffs: &GradeDateCutoffs, limit: u32) -> Result<Vec<FollowUpOverdue>> {
    let (text, params) = sql::follow_up_overdue_query(cutoffs, limit);
    s.query_rows(text, params, |r| Ok(FollowUpOverdue { id: r.get(0)?, version: r.get(1)? })).await
}

pub(super) async fn transfer(s: &SqliteStore, t: &Transfer) -> Result<TransferResult> {
    let t = t.clone();
    s.write(move |tx| {
        let mut items = Vec::new();
        for ch in &t.changes {
            let current: i64 = tx.query_row("SELECT version FROM archives WHERE id = ?1", [ch.id], |r| r.get(0)).optional()?.ok_or(StoreError::NotFound)?;
            if current != ch.expected_version {
                return Err(StoreError::Conflict { current });
            }
            let actor = ch.audit.actor_id();
            write_version(tx, ch.id, current, &ch.data, ch.reason.as_deref(), actor, micros(ch.audit.at))?;
            reindex_archive(tx, ch.id)?;
            let no = archive_no_of(tx, ch.id)?;
            append_chained(tx, vec![ch.audit.clone().with_archive(ch.id, &no)])?;
            if let Some(to) = ch.data.owner_id {
                items.push(HandoverItem { kind: "archive".into(), id: ch.id, archive_no: no, name: ch.data.name.clone(), to_user: to, new_id: None });
            }
        }
        let mut new_loans = Vec::new();
        for l in &t.loans {
            let loan = loan_by_id(tx, l.loan_id)?.ok_or(StoreError::NotFound)?;
            if loan.returned_at.is_some() {
                return Err(StoreError::Conflict { current: 1 });
            }
            let (by, at) = (l.return_audit.actor_id(), micros(l.return_audit.at));
            tx.execute(
                "UPDATE loans SET returned_at = ?2, returned_complete = 1, checked_by = ?3, return_note = ?4 WHERE id = ?1",
                params![loan.id, at, by, l.note],
            )?;
            let no = archive_no_of(tx, loan.archive_id)?;
            let closed = loan_by_id(tx, loan.id)?.ok_or(StoreError::NotFound)?;
            append_chained(tx, vec![l.return_audit.clone().with_archive(loan.archive_id, &no).with_detail(loan_detail(&closed))])?;
            let new_id = match l.to_user {
                Some(to) => {
                    tx.execute(
                        "INSERT INTO loans (archive_id, borrower_id, kind, purpose, lent_by, lent_at, due_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![loan.archive_id, to, loan.kind.as_str(), format!("{}（{}）", loan.purpose, l.note), by, at, micros(loan.due_at)],
                    )?;
                    let id = tx.last_insert_rowid();
                    let lent = loan_by_id(tx, id)?.ok_or(StoreError::NotFound)?;
                    append_chained(tx, vec![l.lend_audit.clone().with_archive(loan.archive_id, &no).with_detail(loan_detail(&lent))])?;
                    let name: String = tx.query_row("SELECT name FROM archives WHERE id = ?1", [loan.archive_id], |r| r.get(0))?;
                    items.push(HandoverItem { kind: "loan".into(), id: loan.id, archive_no: no, name, to_user: to, new_id: Some(id) });
                    Some(id)
                }
                None => None,
            };
            new_loans.push(new_id);
        }
        if let Some(user) = t.disable_user {
            tx.execute("UPDATE users SET active = 0 WHERE id = ?1", [user])?;
            tx.execute("DELETE FROM sessions WHERE user_id = ?1", [user])?;
            tx.execute("DELETE FROM calendar_feeds WHERE user_id = ?1", [user])?;
        }
        let handover_id = match &t.handover {
            Some((from, by, at, note)) => {
                tx.execute("INSERT INTO handovers (from_user, by_user, at, note, items) VALUES (?1, ?2, ?3, ?4, ?5)", params![from, by, micros(*at), note, serde_json::to_string(&items)?])?;
                Some(tx.last_insert_rowid())
            }
            None => None,
        };
        let events = t.audit.iter().map(|e| match handover_id {
            Some(h) => {
                let mut e = e.clone();
                e.detail = crate::lifecycle::with_handover_id(&e.detail, h);
                e
            }
            None => e.clone(),
        });
        append_chained(tx, events.collect())?;
        Ok(TransferResult { handover_id, new_loans })
    })
    .await
}

fn handover_from_row(r: &Row) -> Result<HandoverRecord> {
    Ok(HandoverRecord { id: r.get(0)?, from_user: r.get(1)?, by_user: r.get(2)?, at: from_micros(r.get(3)?), note: r.get(4)?, items: serde_json::from_str(&r.get::<_, String>(5)?)? })
}

pub(super) async fn get_handover(s: &SqliteStore, id: i64) -> Result<Option<HandoverRecord>> {
    s.read(move |c| {
        let mut st = c.prepare_cached("SELECT id, from_user, by_user, at, note, items FROM handovers WHERE id = ?1")?;
        let mut rows = st.query([id])?;
        match rows.next()? {
            Some(r) => Ok(Some(handover_from_row(r)?)),
            None => Ok(None),
        }
    })
    .await
}

pub(super) async fn list_handovers(s: &SqliteStore, limit: u32) -> Result<Vec<HandoverRecord>> {
    s.read(move |c| {
        let mut st = c.prepare_cached("SELECT id, from_user, by_user, at, note, items FROM handovers ORDER BY id DESC LIMIT ?1")?;
        let mut rows = st.query([limit])?;
        let mut out = Vec::new();
        while let Some(r) = rows.next()? {
            out.push(handover_from_row(r)?);
        }
        Ok(out)
    })
    .await
}

pub(super) async fn set_calendar_token(s: &SqliteStore, user_id: UserId, token_hash: &str, audit: &AuditEvent) -> Result<()> {
    let (hash, audit) = (token_hash.to_string(), audit.clone());
    s.write(move |tx| {
        tx.execute(
            "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
            params![user_id, hash, micros(Utc::now())],
        )?;
        append_chained(tx, vec![audit])?;
        Ok(())
    })
    .await
}

pub(super) async fn calendar_user(s: &SqliteStore, token_hash: &str) -> Result<Option<User>> {
    let hash = token_hash.to_string();
    s.read(move |c| {
        Ok(c.prepare_cached(&format!("SELECT {} FROM users u JOIN calendar_feeds f ON f.user_id = u.id WHERE f.token_hash = ?1 AND u.active = 1", USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ")))?
            .query_row([hash], user_from_row)
            .optional()?)
    })
    .await
}

pub(super) async fn has_calendar_token(s: &SqliteStore, user_id: UserId) -> Result<bool> {
    s.read(move |c| Ok(c.query_row("SELECT EXISTS (SELECT 1 FROM calendar_feeds WHERE user_id = ?1)", [user_id], |r| r.get(0))?)).await
}
