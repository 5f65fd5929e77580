//! PostgreSQL: archive dates, reviews, the pool sweep's query, transfers (pool, handover) and
//! calendar-feed tokens. The twin of `sqlite/dates.rs`; rules in `dangan_core::lifecycle`.

use chrono::{NaiveDate, Utc};
use dangan_core::lifecycle::{self, ArchiveDate, DateKind};
use dangan_core::{ArchiveData, ArchiveId, ContactData, EntryData, UserId};
use deadpool_postgres::GenericClient;
use tokio_postgres::types::Json;
use tokio_postgres::Row;

use super::*;
use crate::lifecycle::*;

async fn effective_entries(c: &impl GenericClient, archive_id: i64) -> Result<Vec<EntryData>> {
    let rows = c.query("SELECT id, data FROM timeline_entries WHERE archive_id = $1", &[&archive_id]).await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    let entries: Vec<EntryData> = rows.iter().map(|r| r.get::<_, Json<EntryData>>(1).0).collect();
    let keep = lifecycle::effective_entries(&entries, &ids);
    Ok(keep.into_iter().map(|i| entries[i].clone()).collect())
}

/// Inserts the dates of several archives in one statement.
pub(super) async fn insert_dates(c: &impl GenericClient, ids: &[i64], dates: &[&[ArchiveDate]]) -> Result<()> {
    let (mut a, mut k, mut on, mut md, mut num, mut label): (Vec<i64>, Vec<&str>, Vec<Option<NaiveDate>>, Vec<i32>, Vec<Option<i64>>, Vec<&str>) = Default::default();
    for (id, ds) in ids.iter().zip(dates) {
        for d in ds.iter() {
            a.push(*id);
            k.push(d.kind.as_str());
            on.push(d.on);
            md.push(d.month_day() as i32);
            num.push(d.num);
            label.push(&d.label);
        }
    }
    if !a.is_empty() {
        let st = c
            .prepare_cached("INSERT INTO archive_dates (archive_id, date_kind, on_date, md, num, label) SELECT * FROM unnest($1::bigint[], $2::text[], $3::date[], $4::int[], $5::bigint[], $6::text[])")
            .await?;
        c.execute(&st, &[&a, &k, &on, &md, &num, &label]).await?;
    }
    Ok(())
}

/// Sets the last follow-up of several archives in one statement (`None`s are skipped).
pub(super) async fn set_follow_ups(c: &impl GenericClient, ids: &[i64], days: &[Option<NaiveDate>]) -> Result<()> {
    let (a, d): (Vec<i64>, Vec<NaiveDate>) = ids.iter().zip(days).filter_map(|(id, d)| d.map(|d| (*id, d))).unzip();
    if !a.is_empty() {
        c.execute("UPDATE archives SET last_follow_up = u.d FROM unnest($1::bigint[], $2::date[]) AS u(id, d) WHERE archives.id = u.id", &[&a, &d]).await?;
    }
    Ok(())
}

pub(super) async fn write_dates(c: &impl GenericClient, archive_id: i64, data: Option<&ArchiveData>, contacts: &[ContactData]) -> Result<()> {
    c.execute("DELETE FROM archive_dates WHERE archive_id = $1", &[&archive_id]).await?;
    let Some(data) = data else { return Ok(()) };
    let entries = effective_entries(c, archive_id).await?;
    let refs: Vec<&EntryData> = entries.iter().collect();
    c.execute("UPDATE archives SET last_follow_up = $2 WHERE id = $1", &[&archive_id, &lifecycle::last_follow_up(&refs)]).await?;
    let dates = lifecycle::archive_dates(data, contacts, &refs);
    insert_dates(c, &[archive_id], &[&dates]).await
}

pub(super) async fn refresh_dates(c: &impl GenericClient, archive_id: i64) -> Result<()> {
    let row = c.query_one("SELECT d.data, a.merged_into FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.id = $1", &[&archive_id]).await?;
    if row.get::<_, Option<i64>>(1).is_some() {
        return write_dates(c, archive_id, None, &[]).await;
    }
    let data = row.get::<_, Json<ArchiveData>>(0).0;
    let contacts: Vec<ContactData> =
        c.query("SELECT data FROM contacts WHERE archive_id = $1 ORDER BY id", &[&archive_id]).await?.iter().map(|r| r.get::<_, Json<ContactData>>(0).0).collect();
    write_dates(c, archive_id, Some(&data), &contacts).await
}

/// Archives per round of `rebuild_dates`: three reads and two writes per round instead of five
/// round trips per archive (100k archives: minutes → seconds on an upgrade).
const REBUILD_CHUNK: i64 = 2_000;

pub(super) async fn rebuild_dates(c: &impl GenericClient) -> Result<u64> {
    c.batch_execute("DELETE FROM archive_dates").await?;
    let (mut after, mut total) = (0i64, 0u64);
    loop {
        let docs = c
            .query(
                "SELECT a.id, d.data FROM archives a JOIN archive_documents d ON d.archive_id = a.id
                 WHERE a.merged_into IS NULL AND a.id > $1 ORDER BY a.id LIMIT $2",
                &[&after, &REBUILD_CHUNK],
            )
            .await?;
        let (Some(first), Some(last)) = (docs.first(), docs.last()) else { break };
        let (lo, hi): (i64, i64) = (first.get(0), last.get(0));
        let mut contacts: HashMap<i64, Vec<ContactData>> = HashMap::new();
        for r in c.query("SELECT archive_id, data FROM contacts WHERE archive_id BETWEEN $1 AND $2 ORDER BY archive_id, id", &[&lo, &hi]).await? {
            contacts.entry(r.get(0)).or_default().push(r.get::<_, Json<ContactData>>(1).0);
        }
        let mut entries: HashMap<i64, (Vec<i64>, Vec<EntryData>)> = HashMap::new();
        for r in c.query("SELECT archive_id, id, data FROM timeline_entries WHERE archive_id BETWEEN $1 AND $2 ORDER BY archive_id, id", &[&lo, &hi]).await? {
            let e = entries.entry(r.get(0)).or_default();
            e.0.push(r.get(1));
            e.1.push(r.get::<_, Json<EntryData>>(2).0);
        }
        let (mut ids, mut all_dates, mut follow_ups) = (Vec::new(), Vec::new(), Vec::new());
        for r in &docs {
            let id: i64 = r.get(0);
            let data = r.get::<_, Json<ArchiveData>>(1).0;
            let (entry_ids, list) = entries.remove(&id).unwrap_or_default();
            let effective: Vec<&EntryData> = lifecycle::effective_entries(&list, &entry_ids).into_iter().map(|i| &list[i]).collect();
            follow_ups.push(lifecycle::last_follow_up(&effective));
            all_dates.push(lifecycle::archive_dates(&data, contacts.get(&id).map(Vec::as_slice).unwrap_or_default(), &effective));
            ids.push(id);
        }
        let refs: Vec<&[ArchiveDate]> = all_dates.iter().map(Vec::as_slice).collect();
        insert_dates(c, &ids, &refs).await?;
        c.execute("UPDATE archives SET last_follow_up = u.d FROM unnest($1::bigint[], $2::date[]) AS u(id, d) WHERE archives.id = u.id", &[&ids, &follow_ups]).await?;
        total += ids.len() as u64;
        after = hi;
    }
    c.execute(crate::sql::MARK_DERIVED, &[&"archive_dates"]).await?;
    Ok(total)
}

pub(super) async fn dates_built(c: &impl GenericClient) -> Result<bool> {
    Ok(c.query_one("SELECT EXISTS (SELECT 1 FROM derived_state WHERE name = 'archive_dates') OR NOT EXISTS (SELECT 1 FROM archives)", &[]).await?.get(0))
}

fn date_from_row(r: &Row, first: usize) -> Result<ArchiveDate> {
    let kind: String = r.get(first);
    Ok(ArchiveDate { kind: kind.parse::<DateKind>().map_err(|e| StoreError::Db(e.to_string()))?, on: r.get(first + 1), num: r.get(first + 2), label: r.get(first + 3) })
}

pub(super) async fn due_dates(s: &PgStore, q: &DueDatesQuery) -> Result<Vec<DueDate>> {
    let (text, params) = sql::due_dates_query(Dialect::Postgres, q);
    s.query_built(&text, &params).await?.iter().map(|r| Ok(DueDate { archive: summary_from_row(r)?, date: date_from_row(r, 17)? })).collect()
}

pub(super) async fn count_due_dates(s: &PgStore, q: &DueDatesQuery, day: NaiveDate) -> Result<Vec<DueCount>> {
    let (text, params) = sql::due_counts_query(Dialect::Postgres, q, day);
    s.query_built(&text, &params)
        .await?
        .iter()
        .map(|r| {
            let kind: String = r.get(0);
            Ok(DueCount { kind: kind.parse::<DateKind>().map_err(|e| StoreError::Db(e.to_string()))?, before_day: r.get::<_, i32>(1) == 1, count: r.get(2) })
        })
        .collect()
}

pub(super) async fn count_review_due(s: &PgStore, filter: &ArchiveFilter, cutoffs: &GradeCutoffs, cap: Option<i64>) -> Result<i64> {
    let (text, params) = sql::review_due_count_query(Dialect::Postgres, filter, cutoffs, cap);
    Ok(s.query_built_one(&text, &params).await?.get(0))
}

pub(super) async fn review_due(s: &PgStore, filter: &ArchiveFilter, cutoffs: &GradeCutoffs, limit: u32, large_book: bool) -> Result<Vec<ReviewDue>> {
    let (text, params) = sql::review_due_query(Dialect::Postgres, filter, cutoffs, limit, large_book);
    s.query_built(&text, &params).await?.iter().map(|r| Ok(ReviewDue { archive: summary_from_row(r)?, since: r.get(17) })).collect()
}

pub(super) async fn mark_reviewed(s: &PgStore, id: ArchiveId, audit: &AuditEvent) -> Result<()> {
    let mut c = s.pool.get().await?;
    let tx = c.transaction().await?;
    let n = tx.execute("UPDATE archives SET reviewed_at = $2 WHERE id = $1 AND merged_into IS NULL", &[&id, &audit.at]).await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    let no = archive_no_of(&tx, id).await?;
    append_chained(&tx, vec![audit.clone().with_archive(id, &no)]).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn follow_up_overdue(s: &PgStore, cutoffs: &GradeDateCutoffs, limit: u32) -> Result<Vec<FollowUpOverdue>> {
    let (text, params) = sql::follow_up_overdue_query(cutoffs, limit);
    Ok(s.query_built(&text, &params).await?.iter().map(|r| FollowUpOverdue { id: r.get(0), version: r.get(1) }).collect())
}

pub(super) async fn transfer(s: &PgStore, t: &Transfer) -> Result<TransferResult> {
    let mut c = s.pool.get().await?;
    let tx = c.transaction().await?;
    let mut items = Vec::new();
    for ch in &t.changes {
        let current: i64 = tx.query_opt("SELECT version FROM archives WHERE id = $1 FOR UPDATE", &[&ch.id]).await?.ok_or(StoreError::NotFound)?.get(0);
        if current != ch.expected_version {
            return Err(StoreError::Conflict { current });
        }
        write_version(&tx, ch.id, current, &ch.data, ch.reason.as_deref(), ch.audit.actor_id(), ch.audit.at).await?;
        reindex_archive(&tx, ch.id).await?;
        let no = archive_no_of(&tx, ch.id).await?;
        append_chained(&tx, vec![ch.audit.clone().with_archive(ch.id, &no)]).await?;
        if let Some(to) = ch.data.owner_id {
            items.push(HandoverItem { kind: "archive".into(), id: ch.id, archive_no: no, name: ch.data.name.clone(), to_user: to, new_id: None });
        }
    }
    let mut new_loans = Vec::new();
    for l in &t.loans {
        let (by, at) = (l.return_audit.actor_id(), l.return_audit.at);
        let row = tx
            .query_opt(
                &format!("UPDATE loans SET returned_at = $2, returned_complete = TRUE, checked_by = $3, return_note = $4 WHERE id = $1 AND returned_at IS NULL RETURNING {LOAN_COLUMNS}"),
                &[&l.loan_id, &at, &by, &l.note],
            )
            .await?;
        let Some(row) = row else { return Err(StoreError::Conflict { current: 1 }) };
        let closed = loan_from_row(&row);
        let no = archive_no_of(&tx, closed.archive_id).await?;
        append_chained(&tx, vec![l.return_audit.clone().with_archive(closed.archive_id, &no).with_detail(loan_detail(&closed))]).await?;
        let new_id = match l.to_user {
            Some(to) => {
                let purpose = format!("{}（{}）", closed.purpose, l.note);
                let row = tx
                    .query_one(
                        &format!("INSERT INTO loans (archive_id, borrower_id, kind, purpose, lent_by, lent_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {LOAN_COLUMNS}"),
                        &[&closed.archive_id, &to, &closed.kind.as_str(), &purpose, &by, &at, &closed.due_at],
                    )
                    .await?;
                let lent = loan_from_row(&row);
                append_chained(&tx, vec![l.lend_audit.clone().with_archive(closed.archive_id, &no).with_detail(loan_detail(&lent))]).await?;
                let name: String = tx.query_one("SELECT name FROM archives WHERE id = $1", &[&closed.archive_id]).await?.get(0);
                items.push(HandoverItem { kind: "loan".into(), id: closed.id, archive_no: no, name, to_user: to, new_id: Some(lent.id) });
                Some(lent.id)
            }
            None => None,
        };
        new_loans.push(new_id);
    }
    if let Some(user) = t.disable_user {
        tx.execute("UPDATE users SET active = FALSE WHERE id = $1", &[&user]).await?;
        tx.execute("DELETE FROM sessions WHERE user_id = $1", &[&user]).await?;
        tx.execute("DELETE FROM calendar_feeds WHERE user_id = $1", &[&user]).await?;
    }
    let handover_id = match &t.handover {
        Some((from, by, at, note)) => {
            let items = serde_json::to_string(&items)?;
            Some(tx.query_one("INSERT INTO handovers (from_user, by_user, at, note, items) VALUES ($1, $2, $3, $4, $5) RETURNING id", &[from, by, at, note, &items]).await?.get::<_, i64>(0))
        }
        None => None,
    };
    let events = t
        .audit
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if let Some(h) = handover_id {
                e.detail = crate::lifecycle::with_handover_id(&e.detail, h);
            }
            e
        })
        .collect();
    append_chained(&tx, events).await?;
    tx.commit().await?;
    Ok(TransferResult { handover_id, new_loans })
}

fn handover_from_row(r: &Row) -> Result<HandoverRecord> {
    Ok(HandoverRecord { id: r.get(0), from_user: r.get(1), by_user: r.get(2), at: r.get(3), note: r.get(4), items: serde_json::from_str(r.get::<_, &str>(5))? })
}

pub(super) async fn get_handover(s: &PgStore, id: i64) -> Result<Option<HandoverRecord>> {
    let c = s.pool.get().await?;
    c.query_opt("SELECT id, from_user, by_user, at, note, items FROM handovers WHERE id = $1", &[&id]).await?.map(|r| handover_from_row(&r)).transpose()
}

pub(super) async fn list_handovers(s: &PgStore, limit: u32) -> Result<Vec<HandoverRecord>> {
    let c = s.pool.get().await?;
    c.query("SELECT id, from_user, by_user, at, note, items FROM handovers ORDER BY id DESC LIMIT $1", &[&i64::from(limit)]).await?.iter().map(handover_from_row).collect()
}

pub(super) async fn set_calendar_token(s: &PgStore, user_id: UserId, token_hash: &str, audit: &AuditEvent) -> Result<()> {
    let mut c = s.pool.get().await?;
    let tx = c.transaction().await?;
    tx.execute(
        "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
        &[&user_id, &token_hash, &Utc::now()],
    )
    .await?;
    append_chained(&tx, vec![audit.clone()]).await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn calendar_user(s: &PgStore, token_hash: &str) -> Result<Option<User>> {
    let c = s.pool.get().await?;
    let cols = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
    Ok(c.query_opt(&format!("SELECT {cols} FROM users u JOIN calendar_feeds f ON f.user_id = u.id WHERE f.token_hash = $1 AND u.active"), &[&token_hash]).await?.map(|r| user_from_row(&r)))
}

pub(super) async fn has_calendar_token(s: &PgStore, user_id: UserId) -> Result<bool> {
    let c = s.pool.get().await?;
    Ok(c.query_one("SELECT EXISTS (SELECT 1 FROM calendar_feeds WHERE user_id = $1)", &[&user_id]).await?.get(0))
}
