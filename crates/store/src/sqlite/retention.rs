//! SQLite: retention, destruction and personal-information requests (see `crate::retention`).

use chrono::Datelike;
use dangan_core::retention::{ConsentData, DestructionEvent, DestructionStatus, PiplKind, PiplStatus};

use super::*;
use crate::retention::{chain_text, latest_contract_end, parse_chain, tombstone_document};

fn date_text(d: NaiveDate) -> String {
    d.to_string()
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    s.parse().map_err(|_| StoreError::Db(format!("unexpected stored date {s:?}")))
}

fn opt_date(s: Option<String>) -> Result<Option<NaiveDate>> {
    s.as_deref().map(parse_date).transpose()
}

/// Recomputes `closed_at` (set when the status is closed, kept while it stays so, cleared
/// otherwise) and `retention_due` from the stored document and contract entries, in the
/// caller's transaction. Destroyed archives are left alone.
pub(super) fn refresh_retention(tx: &Connection, archive_id: i64, at: i64) -> Result<()> {
    let row: Option<(String, Option<i64>, Option<i64>)> = tx
        .prepare_cached("SELECT d.data, a.closed_at, a.destroyed_at FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.id = ?1")?
        .query_row([archive_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((data, closed_at, destroyed)) = row else { return Ok(()) };
    if destroyed.is_some() {
        return Ok(());
    }
    let data: ArchiveData = serde_json::from_str(&data)?;
    let closed_at = (data.status == ArchiveStatus::Closed).then(|| closed_at.unwrap_or(at));
    let mut st = tx.prepare_cached("SELECT id, supersedes, occurred_on, data FROM timeline_entries WHERE archive_id = ?1 AND kind = 'contract'")?;
    let mut rows = st.query([archive_id])?;
    let mut entries = Vec::new();
    while let Some(r) = rows.next()? {
        entries.push((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?, parse_date(&r.get::<_, String>(2)?)?, serde_json::from_str::<EntryData>(&r.get::<_, String>(3)?)?));
    }
    let due = dangan_core::retention::due_date(&data, closed_at.map(|m| crate::retention::china_date(from_micros(m))), latest_contract_end(&entries));
    tx.prepare_cached("UPDATE archives SET closed_at = ?2, retention_due = ?3 WHERE id = ?1")?.execute(params![archive_id, closed_at, due.map(date_text)])?;
    Ok(())
}

/// Recomputes the retention of every archive closed before the due dates were kept (migration 15).
pub(super) fn backfill_retention(tx: &Transaction) -> Result<()> {
    let ids: Vec<i64> = tx.prepare("SELECT id FROM archives WHERE status = 'closed' AND destroyed_at IS NULL")?.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?;
    for id in ids {
        refresh_retention(tx, id, 0)?;
    }
    Ok(())
}

const OPEN_REQUEST_OF: &str = "(SELECT MAX(i.request_id) FROM destruction_items i JOIN destruction_requests r ON r.id = i.request_id \
     WHERE i.archive_id = archives.id AND r.status IN ('pending', 'approved'))";

fn retention_info(c: &Connection, archive_id: i64) -> Result<RetentionInfo> {
    let sql = format!(
        "SELECT closed_at, retention_due, legal_hold, legal_hold_by, legal_hold_at, destroyed_at, destruction_id,
                (SELECT register_no FROM destruction_requests WHERE id = archives.destruction_id), {OPEN_REQUEST_OF}
         FROM archives WHERE id = ?1"
    );
    let info = c
        .prepare_cached(&sql)?
        .query_row([archive_id], |r| {
            let hold: Option<String> = r.get(2)?;
            Ok((
                r.get::<_, Option<i64>>(0)?,
                r.get::<_, Option<String>>(1)?,
                hold,
                r.get::<_, Option<i64>>(3)?,
                r.get::<_, Option<i64>>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, Option<i64>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<i64>>(8)?,
            ))
        })
        .optional()?
        .ok_or(StoreError::NotFound)?;
    Ok(RetentionInfo {
        archive_id,
        closed_at: info.0.map(from_micros),
        due_on: opt_date(info.1)?,
        legal_hold: info.2.map(|reason| LegalHold { reason, by: info.3.unwrap_or(0), at: from_micros(info.4.unwrap_or(0)) }),
        destroyed_at: info.5.map(from_micros),
        destruction_id: info.6,
        register_no: info.7,
        open_destruction_id: info.8,
    })
}

const DESTRUCTION_COLUMNS: &str = "id, requester_id, reason, appraisal, method, witness_id, chain, step, status, pipl_request_id, created_at, closed_at, destroyed_at, register_no";

fn destruction_by_id(c: &Connection, id: i64) -> Result<Option<DestructionRequest>> {
    let head = c
        .prepare_cached(&format!("SELECT {DESTRUCTION_COLUMNS} FROM destruction_requests WHERE id = ?1"))?
        .query_row([id], |r| {
            Ok(DestructionRequest {
                id: r.get(0)?,
                requester_id: r.get(1)?,
                reason: r.get(2)?,
                appraisal: r.get(3)?,
                method: r.get(4)?,
                witness_id: r.get(5)?,
                chain: parse_chain(&r.get::<_, String>(6)?),
                step: r.get(7)?,
                status: DestructionStatus::parse(&r.get::<_, String>(8)?).unwrap_or(DestructionStatus::Pending),
                pipl_request_id: r.get(9)?,
                created_at: from_micros(r.get(10)?),
                closed_at: r.get::<_, Option<i64>>(11)?.map(from_micros),
                destroyed_at: r.get::<_, Option<i64>>(12)?.map(from_micros),
                register_no: r.get(13)?,
                items: Vec::new(),
                decisions: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut req) = head else { return Ok(None) };
    let mut st = c.prepare_cached("SELECT archive_id, archive_no, name, retention_class, filed_on, due_on FROM destruction_items WHERE request_id = ?1 ORDER BY archive_no")?;
    let mut rows = st.query([id])?;
    while let Some(r) = rows.next()? {
        req.items.push(DestructionItem {
            archive_id: r.get(0)?,
            archive_no: r.get(1)?,
            name: r.get(2)?,
            retention_class: parse_enum(&r.get::<_, String>(3)?)?,
            filed_on: parse_date(&r.get::<_, String>(4)?)?,
            due_on: opt_date(r.get(5)?)?,
        });
    }
    let mut st = c.prepare_cached("SELECT step, step_kind, approver_id, approved, comment, decided_at FROM destruction_decisions WHERE request_id = ?1 ORDER BY step")?;
    let mut rows = st.query([id])?;
    while let Some(r) = rows.next()? {
        req.decisions.push(DestructionDecision {
            step: r.get(0)?,
            step_kind: dangan_core::retention::DestructionStep::parse(&r.get::<_, String>(1)?).ok_or_else(|| StoreError::Db("unexpected step".into()))?,
            approver_id: r.get(2)?,
            approved: r.get(3)?,
            comment: r.get(4)?,
            decided_at: from_micros(r.get(5)?),
        });
    }
    Ok(Some(req))
}

fn consent_from_row(r: &Row) -> Result<Consent> {
    Ok(Consent {
        id: r.get(0)?,
        archive_id: r.get(1)?,
        data: serde_json::from_str::<ConsentData>(&r.get::<_, String>(2)?)?,
        recorded_by: r.get(3)?,
        recorded_at: from_micros(r.get(4)?),
        withdrawn_on: opt_date(r.get(5)?)?,
        withdrawn_by: r.get(6)?,
    })
}

const CONSENT_COLUMNS: &str = "id, archive_id, data, recorded_by, recorded_at, withdrawn_on, withdrawn_by";

fn consent_by_id(c: &Connection, id: i64) -> Result<Option<Consent>> {
    let mut st = c.prepare_cached(&format!("SELECT {CONSENT_COLUMNS} FROM pipl_consents WHERE id = ?1"))?;
    let mut rows = st.query([id])?;
    rows.next()?.map(consent_from_row).transpose()
}

const PIPL_COLUMNS: &str =
    "id, archive_id, kind, subject_name, detail, received_on, due_on, status, resolution, legal_basis, destruction_id, recorded_by, created_at, closed_by, closed_at";

fn pipl_from_row(r: &Row) -> Result<PiplRequest> {
    Ok(PiplRequest {
        id: r.get(0)?,
        archive_id: r.get(1)?,
        kind: PiplKind::parse(&r.get::<_, String>(2)?).ok_or_else(|| StoreError::Db("unexpected request kind".into()))?,
        subject_name: r.get(3)?,
        detail: r.get(4)?,
        received_on: parse_date(&r.get::<_, String>(5)?)?,
        due_on: parse_date(&r.get::<_, String>(6)?)?,
        status: PiplStatus::parse(&r.get::<_, String>(7)?).ok_or_else(|| StoreError::Db("unexpected request status".into()))?,
        resolution: r.get(8)?,
        legal_basis: r.get(9)?,
        destruction_id: r.get(10)?,
        recorded_by: r.get(11)?,
        created_at: from_micros(r.get(12)?),
        closed_by: r.get(13)?,
        closed_at: r.get::<_, Option<i64>>(14)?.map(from_micros),
    })
}

fn pipl_by_id(c: &Connection, id: i64) -> Result<Option<PiplRequest>> {
    let mut st = c.prepare_cached(&format!("SELECT {PIPL_COLUMNS} FROM pipl_requests WHERE id = ?1"))?;
    let mut rows = st.query([id])?;
    rows.next()?.map(pipl_from_row).transpose()
}

/// What filing reads of an archive: number, name, created_at, retention_due, legal_hold,
/// destroyed_at, merged_into, document.
type ItemSource = (String, String, i64, Option<String>, Option<String>, Option<i64>, Option<i64>, String);

/// Blanks a destroyed archive's name in the handover lists that name it (the list keeps its
/// number, like the register). A handover's items are a small JSON list; few lists name one archive.
fn purge_handover_names(tx: &Connection, archive_id: i64) -> Result<()> {
    let no: String = tx.query_row("SELECT archive_no FROM archives WHERE id = ?1", [archive_id], |r| r.get(0))?;
    let pattern = format!("%{}%", serde_json::to_string(&no)?);
    let lists: Vec<(i64, String)> =
        tx.prepare_cached("SELECT id, items FROM handovers WHERE items LIKE ?1")?.query_map([&pattern], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<rusqlite::Result<_>>()?;
    for (id, items) in lists {
        let purged = crate::retention::blank_names_of(&serde_json::from_str(&items)?, &no);
        tx.prepare_cached("UPDATE handovers SET items = ?2 WHERE id = ?1")?.execute(params![id, serde_json::to_string(&purged)?])?;
    }
    Ok(())
}

fn conflict() -> StoreError {
    StoreError::Conflict { current: 0 }
}

impl SqliteStore {
    pub(super) async fn r_retention_info(&self, archive_id: ArchiveId) -> Result<RetentionInfo> {
        self.read(move |c| retention_info(c, archive_id)).await
    }

    pub(super) async fn r_disposal_due(&self, today: NaiveDate, after: Option<DueCursor>, limit: u32) -> Result<Vec<DueArchive>> {
        self.read(move |c| {
            let (ad, ai) = after.map(|(d, i)| (date_text(d), i)).unwrap_or_else(|| (String::new(), 0));
            let sql = format!(
                "SELECT {}, retention_due, {OPEN_REQUEST_OF} FROM archives
                 WHERE retention_due IS NOT NULL AND retention_due <= ?1 AND (retention_due, id) > (?2, ?3)
                   AND legal_hold IS NULL AND destroyed_at IS NULL AND merged_into IS NULL
                 ORDER BY retention_due, id LIMIT ?4",
                sql::SUMMARY_COLUMNS
            );
            let mut st = c.prepare_cached(&sql)?;
            let mut rows = st.query(params![date_text(today), ad, ai, limit as i64])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(DueArchive { archive: summary_from_row(r)?, due_on: parse_date(&r.get::<_, String>(17)?)?, open_destruction_id: r.get(18)? });
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn r_set_legal_hold(&self, archive_id: ArchiveId, reason: Option<&str>, audit: &AuditEvent) -> Result<RetentionInfo> {
        let (reason, audit) = (reason.map(str::to_string), audit.clone());
        let (actor, at) = (audit.actor_id(), micros(audit.at));
        self.write(move |tx| {
            let (no, destroyed): (String, Option<i64>) =
                tx.query_row("SELECT archive_no, destroyed_at FROM archives WHERE id = ?1", [archive_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()?.ok_or(StoreError::NotFound)?;
            if destroyed.is_some() {
                return Err(conflict());
            }
            match &reason {
                Some(r) => tx.execute("UPDATE archives SET legal_hold = ?2, legal_hold_by = ?3, legal_hold_at = ?4 WHERE id = ?1", params![archive_id, r, actor, at])?,
                None => tx.execute("UPDATE archives SET legal_hold = NULL, legal_hold_by = NULL, legal_hold_at = NULL WHERE id = ?1", [archive_id])?,
            };
            append_chained(tx, vec![audit.with_archive(archive_id, &no)])?;
            retention_info(tx, archive_id)
        })
        .await
    }

    pub(super) async fn r_set_closed_on(&self, archive_id: ArchiveId, closed_at: DateTime<Utc>, audit: &AuditEvent) -> Result<RetentionInfo> {
        let audit = audit.clone();
        self.write(move |tx| {
            let no = archive_no_of(tx, archive_id)?;
            let n = tx.execute("UPDATE archives SET closed_at = ?2 WHERE id = ?1 AND status = 'closed' AND destroyed_at IS NULL", params![archive_id, micros(closed_at)])?;
            if n == 0 {
                return Err(conflict());
            }
            refresh_retention(tx, archive_id, micros(closed_at))?;
            append_chained(tx, vec![audit.with_archive(archive_id, &no)])?;
            retention_info(tx, archive_id)
        })
        .await
    }

    pub(super) async fn r_create_destruction(&self, r: &NewDestruction, audit: &AuditEvent) -> Result<DestructionRequest> {
        let (r, audit) = (r.clone(), audit.clone());
        let at = micros(audit.at);
        self.write(move |tx| {
            tx.execute(
                "INSERT INTO destruction_requests (requester_id, reason, appraisal, method, witness_id, chain, step, status, pipl_request_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 'pending', ?7, ?8)",
                params![r.requester_id, r.reason, r.appraisal, r.method, r.witness_id, chain_text(&r.chain), r.pipl_request_id, at],
            )?;
            let id = tx.last_insert_rowid();
            let mut events = Vec::new();
            for aid in &r.archive_ids {
                let row: Option<ItemSource> = tx
                    .prepare_cached(
                        "SELECT a.archive_no, a.name, a.created_at, a.retention_due, a.legal_hold, a.destroyed_at, a.merged_into, d.data
                         FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.id = ?1",
                    )?
                    .query_row([aid], |x| Ok((x.get(0)?, x.get(1)?, x.get(2)?, x.get(3)?, x.get(4)?, x.get(5)?, x.get(6)?, x.get(7)?)))
                    .optional()?;
                let (no, name, created, due, hold, destroyed, merged, data) = row.ok_or(StoreError::NotFound)?;
                let open: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM destruction_items i JOIN destruction_requests q ON q.id = i.request_id WHERE i.archive_id = ?1 AND q.status IN ('pending', 'approved'))",
                    [aid],
                    |x| x.get(0),
                )?;
                if hold.is_some() || destroyed.is_some() || merged.is_some() || open {
                    return Err(conflict());
                }
                let data: ArchiveData = serde_json::from_str(&data)?;
                tx.execute(
                    "INSERT INTO destruction_items (request_id, archive_id, archive_no, name, retention_class, filed_on, due_on) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, aid, no, name, data.retention_class.as_str(), date_text(crate::retention::china_date(from_micros(created))), due],
                )?;
                events.push(audit.clone().with_archive(*aid, &no).with_detail(serde_json::json!({ "destruction_id": id })));
            }
            if let Some(p) = r.pipl_request_id {
                let n = tx.execute("UPDATE pipl_requests SET status = 'deleting', destruction_id = ?2 WHERE id = ?1 AND status = 'open'", params![p, id])?;
                if n == 0 {
                    return Err(conflict());
                }
            }
            append_chained(tx, events)?;
            destruction_by_id(tx, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    pub(super) async fn r_get_destruction(&self, id: i64) -> Result<Option<DestructionRequest>> {
        self.read(move |c| destruction_by_id(c, id)).await
    }

    pub(super) async fn r_list_destructions(&self, status: Option<DestructionStatus>, limit: u32) -> Result<Vec<DestructionRequest>> {
        self.read(move |c| {
            let ids: Vec<i64> = match status {
                Some(s) => c
                    .prepare_cached("SELECT id FROM destruction_requests WHERE status = ?1 ORDER BY id DESC LIMIT ?2")?
                    .query_map(params![s.as_str(), limit as i64], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?,
                None => c.prepare_cached("SELECT id FROM destruction_requests ORDER BY id DESC LIMIT ?1")?.query_map([limit as i64], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?,
            };
            ids.into_iter().filter_map(|id| destruction_by_id(c, id).transpose()).collect()
        })
        .await
    }

    pub(super) async fn r_decide_destruction(&self, id: i64, step: i64, approver_id: UserId, approved: bool, comment: &str, audit: &AuditEvent) -> Result<DestructionRequest> {
        let (comment, audit) = (comment.to_string(), audit.clone());
        let at = micros(audit.at);
        self.write(move |tx| {
            let req = destruction_by_id(tx, id)?.ok_or(StoreError::NotFound)?;
            if req.status != DestructionStatus::Pending || req.step != step {
                return Err(conflict());
            }
            let (status, next) = dangan_core::retention::transition(req.status, step as usize, req.chain.len(), DestructionEvent::Decide { approved }).map_err(|_| conflict())?;
            let kind = req.chain.get(step as usize).copied().ok_or_else(conflict)?;
            tx.execute(
                "INSERT INTO destruction_decisions (request_id, step, step_kind, approver_id, approved, comment, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, step, kind.as_str(), approver_id, approved, comment, at],
            )?;
            let closed = (status == DestructionStatus::Rejected).then_some(at);
            tx.execute("UPDATE destruction_requests SET status = ?2, step = ?3, closed_at = ?4 WHERE id = ?1", params![id, status.as_str(), next as i64, closed])?;
            if status == DestructionStatus::Rejected {
                tx.execute("UPDATE pipl_requests SET status = 'open' WHERE destruction_id = ?1 AND status = 'deleting'", [id])?;
            }
            let events = req.items.iter().map(|i| audit.clone().with_archive(i.archive_id, &i.archive_no).with_detail(serde_json::json!({ "destruction_id": id, "step": kind.as_str(), "comment": comment }))).collect();
            append_chained(tx, events)?;
            destruction_by_id(tx, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    pub(super) async fn r_cancel_destruction(&self, id: i64, audit: &AuditEvent) -> Result<DestructionRequest> {
        let audit = audit.clone();
        let at = micros(audit.at);
        self.write(move |tx| {
            let req = destruction_by_id(tx, id)?.ok_or(StoreError::NotFound)?;
            let (status, _) = dangan_core::retention::transition(req.status, req.step as usize, req.chain.len(), DestructionEvent::Cancel).map_err(|_| conflict())?;
            tx.execute("UPDATE destruction_requests SET status = ?2, closed_at = ?3 WHERE id = ?1", params![id, status.as_str(), at])?;
            tx.execute("UPDATE pipl_requests SET status = 'open' WHERE destruction_id = ?1 AND status = 'deleting'", [id])?;
            append_chained(tx, vec![audit.with_detail(serde_json::json!({ "destruction_id": id }))])?;
            destruction_by_id(tx, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    pub(super) async fn r_execute_destruction(&self, id: i64, witness_id: UserId, audit: &AuditEvent) -> Result<DestructionOutcome> {
        let audit = audit.clone();
        let at = micros(audit.at);
        self.write(move |tx| {
            let req = destruction_by_id(tx, id)?.ok_or(StoreError::NotFound)?;
            if req.witness_id != witness_id {
                return Err(conflict());
            }
            dangan_core::retention::transition(req.status, req.step as usize, req.chain.len(), DestructionEvent::Witness).map_err(|_| conflict())?;
            let register_no = dangan_core::retention::register_no(crate::retention::china_date(audit.at).year(), id);
            let mut shas: Vec<String> = Vec::new();
            let mut events = Vec::new();
            let mut purged_ids: Vec<i64> = Vec::new();
            for item in &req.items {
                let (hold, destroyed): (Option<String>, Option<i64>) =
                    tx.query_row("SELECT legal_hold, destroyed_at FROM archives WHERE id = ?1", [item.archive_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if hold.is_some() || destroyed.is_some() {
                    return Err(conflict());
                }
                // The archive and the tombstones merged into it (the same customer's data).
                let mut ids = vec![item.archive_id];
                ids.extend(tx.prepare_cached("SELECT id FROM archives WHERE merged_into = ?1")?.query_map([item.archive_id], |r| r.get::<_, i64>(0))?.collect::<rusqlite::Result<Vec<_>>>()?);
                for aid in &ids {
                    // Marked destroyed first: from then on its checklist marks may be deleted (0017).
                    tx.prepare_cached(
                        "UPDATE archives SET name = '', mobile = NULL, uscc = NULL, id_hash = NULL, grade = NULL, credit_grade = NULL, industry = NULL,
                            province = NULL, city = NULL, blacklisted = 0, status = 'closed', change_reason = NULL, retention_due = NULL,
                            destroyed_at = ?2, destruction_id = ?3, updated_by = ?4, updated_at = ?2 WHERE id = ?1",
                    )?
                    .execute(params![aid, at, id, witness_id])?;
                    shas.extend(tx.prepare_cached("SELECT sha256 FROM attachments WHERE archive_id = ?1")?.query_map([aid], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?);
                    for table in ["checklist_marks", "archive_versions", "contacts", "attachments", "dedup_keys", "pipl_consents", "archive_dates"] {
                        tx.prepare_cached(&format!("DELETE FROM {table} WHERE archive_id = ?1"))?.execute([aid])?;
                    }
                    // Corrections point at the entries they supersede: drop those links first.
                    tx.prepare_cached("UPDATE timeline_entries SET supersedes = NULL WHERE archive_id = ?1")?.execute([aid])?;
                    tx.prepare_cached("DELETE FROM timeline_entries WHERE archive_id = ?1")?.execute([aid])?;
                    index_archive(tx, *aid, "")?;
                    tx.prepare_cached("UPDATE pipl_requests SET subject_name = '', detail = '' WHERE archive_id = ?1")?.execute([aid])?;
                    let data: String = tx.query_row("SELECT data FROM archive_documents WHERE archive_id = ?1", [aid], |r| r.get(0))?;
                    let tomb = tombstone_document(&serde_json::from_str::<ArchiveData>(&data)?);
                    tx.prepare_cached("UPDATE archive_documents SET data = ?2 WHERE archive_id = ?1")?.execute(params![aid, serde_json::to_string(&tomb)?])?;
                    purge_handover_names(tx, *aid)?;
                    purged_ids.push(*aid);
                }
                let mut e = audit.clone().with_archive(item.archive_id, &item.archive_no).with_detail(serde_json::json!({ "destruction_id": id, "register_no": register_no, "purged_archives": ids }));
                e.action = AuditAction::ArchiveDestroy;
                events.push(e);
            }
            // Import fingerprints (hashes of the imported rows) go too; one pass, no index needed.
            tx.execute(&format!("DELETE FROM import_rows WHERE archive_id IN ({})", crate::sql::id_list(&purged_ids)), [])?;
            tx.execute("UPDATE destruction_items SET name = '' WHERE request_id = ?1", [id])?;
            tx.execute("UPDATE destruction_requests SET status = 'destroyed', destroyed_at = ?2, closed_at = ?2, register_no = ?3 WHERE id = ?1", params![id, at, register_no])?;
            if let Some(p) = req.pipl_request_id {
                tx.execute(
                    "UPDATE pipl_requests SET status = 'done', resolution = ?2, closed_by = ?3, closed_at = ?4 WHERE id = ?1 AND status = 'deleting'",
                    params![p, format!("已销毁，销毁清册 {register_no} / destroyed, register {register_no}"), witness_id, at],
                )?;
            }
            events.insert(0, audit.with_detail(serde_json::json!({ "destruction_id": id, "register_no": register_no, "archives": req.items.len(), "purged_archives": purged_ids.len() })));
            append_chained(tx, events)?;
            shas.sort();
            shas.dedup();
            let mut orphaned = Vec::new();
            for sha in shas {
                let used: bool = tx.query_row("SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = ?1)", [&sha], |r| r.get(0))?;
                if !used {
                    orphaned.push(sha);
                }
            }
            Ok(DestructionOutcome { request: destruction_by_id(tx, id)?.ok_or(StoreError::NotFound)?, orphaned_files: orphaned })
        })
        .await
    }

    pub(super) async fn r_attachment_referenced(&self, sha256: &str) -> Result<bool> {
        let sha = sha256.to_string();
        self.read(move |c| Ok(c.query_row("SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = ?1)", [&sha], |r| r.get(0))?)).await
    }

    pub(super) async fn r_add_consent(&self, archive_id: ArchiveId, c: &ConsentData, recorded_by: UserId, audit: &AuditEvent) -> Result<Consent> {
        let (c, audit) = (c.clone(), audit.clone());
        let at = micros(audit.at);
        self.write(move |tx| {
            let no = archive_no_of(tx, archive_id)?;
            tx.execute(
                "INSERT INTO pipl_consents (archive_id, data, recorded_by, recorded_at) VALUES (?1, ?2, ?3, ?4)",
                params![archive_id, serde_json::to_string(&c)?, recorded_by, at],
            )?;
            let id = tx.last_insert_rowid();
            append_chained(tx, vec![audit.with_archive(archive_id, &no).with_detail(serde_json::json!({ "consent_id": id, "purpose": c.purpose, "guardian": c.guardian_name.is_some(), "explicit": c.explicit }))])?;
            consent_by_id(tx, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    pub(super) async fn r_withdraw_consent(&self, id: i64, on: NaiveDate, by: UserId, audit: &AuditEvent) -> Result<Consent> {
        let audit = audit.clone();
        self.write(move |tx| {
            let c = consent_by_id(tx, id)?.ok_or(StoreError::NotFound)?;
            if c.withdrawn_on.is_some() {
                return Err(conflict());
            }
            tx.execute("UPDATE pipl_consents SET withdrawn_on = ?2, withdrawn_by = ?3 WHERE id = ?1", params![id, date_text(on), by])?;
            let no = archive_no_of(tx, c.archive_id)?;
            append_chained(tx, vec![audit.with_archive(c.archive_id, &no).with_detail(serde_json::json!({ "consent_id": id, "withdrawn_on": on }))])?;
            consent_by_id(tx, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    pub(super) async fn r_list_consents(&self, archive_id: ArchiveId) -> Result<Vec<Consent>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(&format!("SELECT {CONSENT_COLUMNS} FROM pipl_consents WHERE archive_id = ?1 ORDER BY id"))?;
            let mut rows = st.query([archive_id])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(consent_from_row(r)?);
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn r_get_consent(&self, id: i64) -> Result<Option<Consent>> {
        self.read(move |c| consent_by_id(c, id)).await
    }

    pub(super) async fn r_create_pipl_request(&self, r: &NewPiplRequest, audit: &AuditEvent) -> Result<PiplRequest> {
        let (r, audit) = (r.clone(), audit.clone());
        let at = micros(audit.at);
        self.write(move |tx| {
            let no = archive_no_of(tx, r.archive_id)?;
            tx.execute(
                "INSERT INTO pipl_requests (archive_id, kind, subject_name, detail, received_on, due_on, status, recorded_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8)",
                params![r.archive_id, r.kind.as_str(), r.subject_name, r.detail, date_text(r.received_on), date_text(r.due_on), r.recorded_by, at],
            )?;
            let id = tx.last_insert_rowid();
            append_chained(tx, vec![audit.with_archive(r.archive_id, &no).with_detail(serde_json::json!({ "pipl_request_id": id, "kind": r.kind.as_str(), "due_on": r.due_on }))])?;
            pipl_by_id(tx, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }

    pub(super) async fn r_get_pipl_request(&self, id: i64) -> Result<Option<PiplRequest>> {
        self.read(move |c| pipl_by_id(c, id)).await
    }

    pub(super) async fn r_list_pipl_requests(&self, open_only: bool, archive_id: Option<ArchiveId>, limit: u32) -> Result<Vec<PiplRequest>> {
        self.read(move |c| {
            let sql = format!(
                "SELECT {PIPL_COLUMNS} FROM pipl_requests WHERE (?1 = 0 OR status IN ('open', 'deleting')) AND (?2 IS NULL OR archive_id = ?2) ORDER BY due_on, id LIMIT ?3"
            );
            let mut st = c.prepare_cached(&sql)?;
            let mut rows = st.query(params![open_only, archive_id, limit as i64])?;
            let mut out = Vec::new();
            while let Some(r) = rows.next()? {
                out.push(pipl_from_row(r)?);
            }
            Ok(out)
        })
        .await
    }

    pub(super) async fn r_close_pipl_request(&self, id: i64, close: &PiplClose, audit: &AuditEvent) -> Result<PiplRequest> {
        let (close, audit) = (close.clone(), audit.clone());
        let at = micros(audit.at);
        self.write(move |tx| {
            let r = pipl_by_id(tx, id)?.ok_or(StoreError::NotFound)?;
            if r.status != PiplStatus::Open {
                return Err(conflict());
            }
            tx.execute(
                "UPDATE pipl_requests SET status = ?2, resolution = ?3, legal_basis = ?4, closed_by = ?5, closed_at = ?6 WHERE id = ?1",
                params![id, close.status.as_str(), close.resolution, close.legal_basis, close.closed_by, at],
            )?;
            let no = archive_no_of(tx, r.archive_id)?;
            append_chained(
                tx,
                vec![audit.with_archive(r.archive_id, &no).with_detail(serde_json::json!({ "pipl_request_id": id, "kind": r.kind.as_str(), "status": close.status.as_str(), "legal_basis": close.legal_basis }))],
            )?;
            pipl_by_id(tx, id)?.ok_or(StoreError::NotFound)
        })
        .await
    }
}
