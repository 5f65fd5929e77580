//! PostgreSQL: retention, destruction and personal-information requests (see `crate::retention`).
//! Rows that decide (archives, the request) are locked `FOR UPDATE` first, so a legal hold set
//! on another server, or a second request for the same archive, waits for this one and then
//! sees it.

use chrono::Datelike;
use dangan_core::retention::{ConsentData, DestructionEvent, DestructionStatus, DestructionStep, PiplKind, PiplStatus};

use super::*;
use crate::retention::{chain_text, latest_contract_end, parse_chain, tombstone_document};

/// Recomputes `closed_at` and `retention_due` (see the SQLite twin), in the caller's transaction.
pub(super) async fn refresh_retention(c: &impl GenericClient, archive_id: i64, at: DateTime<Utc>) -> Result<()> {
    let Some(row) = c
        .query_opt("SELECT d.data, a.closed_at, a.destroyed_at FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.id = $1", &[&archive_id])
        .await?
    else {
        return Ok(());
    };
    if row.get::<_, Option<DateTime<Utc>>>(2).is_some() {
        return Ok(());
    }
    let data = row.get::<_, Json<ArchiveData>>(0).0;
    let closed_at = (data.status == ArchiveStatus::Closed).then(|| row.get::<_, Option<DateTime<Utc>>>(1).unwrap_or(at));
    let entries: Vec<(i64, Option<i64>, NaiveDate, EntryData)> = c
        .query("SELECT id, supersedes, occurred_on, data FROM timeline_entries WHERE archive_id = $1 AND kind = 'contract'", &[&archive_id])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get::<_, Json<EntryData>>(3).0))
        .collect();
    let due = dangan_core::retention::due_date(&data, closed_at.map(crate::retention::china_date), latest_contract_end(&entries));
    c.execute("UPDATE archives SET closed_at = $2, retention_due = $3 WHERE id = $1", &[&archive_id, &closed_at, &due]).await?;
    Ok(())
}

pub(super) async fn backfill_retention(c: &impl GenericClient) -> Result<()> {
    for r in c.query("SELECT id FROM archives WHERE status = 'closed' AND destroyed_at IS NULL", &[]).await? {
        refresh_retention(c, r.get(0), Utc::now()).await?;
    }
    Ok(())
}

const OPEN_REQUEST_OF: &str = "(SELECT MAX(i.request_id) FROM destruction_items i JOIN destruction_requests r ON r.id = i.request_id \
     WHERE i.archive_id = archives.id AND r.status IN ('pending', 'approved'))";

async fn retention_info(c: &impl GenericClient, archive_id: i64) -> Result<RetentionInfo> {
    let sql = format!(
        "SELECT closed_at, retention_due, legal_hold, legal_hold_by, legal_hold_at, destroyed_at, destruction_id,
                (SELECT register_no FROM destruction_requests WHERE id = archives.destruction_id), {OPEN_REQUEST_OF}
         FROM archives WHERE id = $1"
    );
    let r = c.query_opt(&sql, &[&archive_id]).await?.ok_or(StoreError::NotFound)?;
    let hold: Option<String> = r.get(2);
    Ok(RetentionInfo {
        archive_id,
        closed_at: r.get(0),
        due_on: r.get(1),
        legal_hold: hold.map(|reason| LegalHold { reason, by: r.get::<_, Option<i64>>(3).unwrap_or(0), at: r.get::<_, Option<DateTime<Utc>>>(4).unwrap_or_default() }),
        destroyed_at: r.get(5),
        destruction_id: r.get(6),
        register_no: r.get(7),
        open_destruction_id: r.get(8),
    })
}

const DESTRUCTION_COLUMNS: &str = "id, requester_id, reason, appraisal, method, witness_id, chain, step, status, pipl_request_id, created_at, closed_at, destroyed_at, register_no";

async fn destruction_by_id(c: &impl GenericClient, id: i64) -> Result<Option<DestructionRequest>> {
    let Some(r) = c.query_opt(&format!("SELECT {DESTRUCTION_COLUMNS} FROM destruction_requests WHERE id = $1"), &[&id]).await? else {
        return Ok(None);
    };
    let mut req = DestructionRequest {
        id: r.get(0),
        requester_id: r.get(1),
        reason: r.get(2),
        appraisal: r.get(3),
        method: r.get(4),
        witness_id: r.get(5),
        chain: parse_chain(r.get(6)),
        step: r.get(7),
        status: DestructionStatus::parse(r.get(8)).unwrap_or(DestructionStatus::Pending),
        pipl_request_id: r.get(9),
        created_at: r.get(10),
        closed_at: r.get(11),
        destroyed_at: r.get(12),
        register_no: r.get(13),
        items: Vec::new(),
        decisions: Vec::new(),
    };
    for r in c.query("SELECT archive_id, archive_no, name, retention_class, filed_on, due_on FROM destruction_items WHERE request_id = $1 ORDER BY archive_no", &[&id]).await? {
        req.items.push(DestructionItem {
            archive_id: r.get(0),
            archive_no: r.get(1),
            name: r.get(2),
            retention_class: parse_enum(r.get(3))?,
            filed_on: r.get(4),
            due_on: r.get(5),
        });
    }
    for r in c.query("SELECT step, step_kind, approver_id, approved, comment, decided_at FROM destruction_decisions WHERE request_id = $1 ORDER BY step", &[&id]).await? {
        req.decisions.push(DestructionDecision {
            step: r.get(0),
            step_kind: DestructionStep::parse(r.get(1)).ok_or_else(|| StoreError::Db("unexpected step".into()))?,
            approver_id: r.get(2),
            approved: r.get(3),
            comment: r.get(4),
            decided_at: r.get(5),
        });
    }
    Ok(Some(req))
}

const CONSENT_COLUMNS: &str = "id, archive_id, data, recorded_by, recorded_at, withdrawn_on, withdrawn_by";

fn consent_from_row(r: &Row) -> Consent {
    Consent {
        id: r.get(0),
        archive_id: r.get(1),
        data: r.get::<_, Json<ConsentData>>(2).0,
        recorded_by: r.get(3),
        recorded_at: r.get(4),
        withdrawn_on: r.get(5),
        withdrawn_by: r.get(6),
    }
}

async fn consent_by_id(c: &impl GenericClient, id: i64) -> Result<Option<Consent>> {
    Ok(c.query_opt(&format!("SELECT {CONSENT_COLUMNS} FROM pipl_consents WHERE id = $1"), &[&id]).await?.map(|r| consent_from_row(&r)))
}

const PIPL_COLUMNS: &str =
    "id, archive_id, kind, subject_name, detail, received_on, due_on, status, resolution, legal_basis, destruction_id, recorded_by, created_at, closed_by, closed_at";

fn pipl_from_row(r: &Row) -> Result<PiplRequest> {
    Ok(PiplRequest {
        id: r.get(0),
        archive_id: r.get(1),
        kind: PiplKind::parse(r.get(2)).ok_or_else(|| StoreError::Db("unexpected request kind".into()))?,
        subject_name: r.get(3),
        detail: r.get(4),
        received_on: r.get(5),
        due_on: r.get(6),
        status: PiplStatus::parse(r.get(7)).ok_or_else(|| StoreError::Db("unexpected request status".into()))?,
        resolution: r.get(8),
        legal_basis: r.get(9),
        destruction_id: r.get(10),
        recorded_by: r.get(11),
        created_at: r.get(12),
        closed_by: r.get(13),
        closed_at: r.get(14),
    })
}

async fn pipl_by_id(c: &impl GenericClient, id: i64) -> Result<Option<PiplRequest>> {
    c.query_opt(&format!("SELECT {PIPL_COLUMNS} FROM pipl_requests WHERE id = $1"), &[&id]).await?.map(|r| pipl_from_row(&r)).transpose()
}

/// Blanks a destroyed archive's name in the handover lists that name it (see the SQLite twin).
async fn purge_handover_names(tx: &impl GenericClient, archive_id: i64) -> Result<()> {
    let no: String = tx.query_one("SELECT archive_no FROM archives WHERE id = $1", &[&archive_id]).await?.get(0);
    let pattern = format!("%{}%", serde_json::to_string(&no)?);
    for r in tx.query("SELECT id, items FROM handovers WHERE items LIKE $1", &[&pattern]).await? {
        let (id, items): (i64, String) = (r.get(0), r.get(1));
        let purged = crate::retention::blank_names_of(&serde_json::from_str(&items)?, &no);
        tx.execute("UPDATE handovers SET items = $2 WHERE id = $1", &[&id, &serde_json::to_string(&purged)?]).await?;
    }
    Ok(())
}

fn conflict() -> StoreError {
    StoreError::Conflict { current: 0 }
}

impl PgStore {
    pub(super) async fn r_retention_info(&self, archive_id: ArchiveId) -> Result<RetentionInfo> {
        let c = self.pool.get().await?;
        retention_info(&c, archive_id).await
    }

    pub(super) async fn r_disposal_due(&self, today: NaiveDate, after: Option<DueCursor>, limit: u32) -> Result<Vec<DueArchive>> {
        let c = self.pool.get().await?;
        let (ad, ai) = after.unwrap_or((NaiveDate::from_ymd_opt(1, 1, 1).expect("a date"), 0));
        let sql = format!(
            "SELECT {}, retention_due, {OPEN_REQUEST_OF} FROM archives
             WHERE retention_due IS NOT NULL AND retention_due <= $1 AND (retention_due, id) > ($2, $3)
               AND legal_hold IS NULL AND destroyed_at IS NULL AND merged_into IS NULL
             ORDER BY retention_due, id LIMIT $4",
            sql::SUMMARY_COLUMNS
        );
        let rows = c.query(&sql, &[&today, &ad, &ai, &(limit as i64)]).await?;
        rows.iter().map(|r| Ok(DueArchive { archive: summary_from_row(r)?, due_on: r.get(17), open_destruction_id: r.get(18) })).collect()
    }

    pub(super) async fn r_set_legal_hold(&self, archive_id: ArchiveId, reason: Option<&str>, audit: &AuditEvent) -> Result<RetentionInfo> {
        let (actor, at) = (audit.actor_id(), audit.at);
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let row = tx.query_opt("SELECT archive_no, destroyed_at FROM archives WHERE id = $1 FOR UPDATE", &[&archive_id]).await?.ok_or(StoreError::NotFound)?;
        let no: String = row.get(0);
        if row.get::<_, Option<DateTime<Utc>>>(1).is_some() {
            return Err(conflict());
        }
        match reason {
            Some(r) => tx.execute("UPDATE archives SET legal_hold = $2, legal_hold_by = $3, legal_hold_at = $4 WHERE id = $1", &[&archive_id, &r, &actor, &at]).await?,
            None => tx.execute("UPDATE archives SET legal_hold = NULL, legal_hold_by = NULL, legal_hold_at = NULL WHERE id = $1", &[&archive_id]).await?,
        };
        append_chained(&tx, vec![audit.clone().with_archive(archive_id, &no)]).await?;
        let info = retention_info(&tx, archive_id).await?;
        tx.commit().await?;
        Ok(info)
    }

    pub(super) async fn r_set_closed_on(&self, archive_id: ArchiveId, closed_at: DateTime<Utc>, audit: &AuditEvent) -> Result<RetentionInfo> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let no = archive_no_of(&tx, archive_id).await?;
        let n = tx.execute("UPDATE archives SET closed_at = $2 WHERE id = $1 AND status = 'closed' AND destroyed_at IS NULL", &[&archive_id, &closed_at]).await?;
        if n == 0 {
            return Err(conflict());
        }
        refresh_retention(&tx, archive_id, closed_at).await?;
        append_chained(&tx, vec![audit.clone().with_archive(archive_id, &no)]).await?;
        let info = retention_info(&tx, archive_id).await?;
        tx.commit().await?;
        Ok(info)
    }

    pub(super) async fn r_create_destruction(&self, r: &NewDestruction, audit: &AuditEvent) -> Result<DestructionRequest> {
        let at = audit.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let mut ids = r.archive_ids.clone();
        ids.sort_unstable();
        ids.dedup();
        let locked = tx.query("SELECT id FROM archives WHERE id = ANY($1) ORDER BY id FOR UPDATE", &[&ids]).await?;
        if locked.len() != ids.len() {
            return Err(StoreError::NotFound);
        }
        let id: i64 = tx
            .query_one(
                "INSERT INTO destruction_requests (requester_id, reason, appraisal, method, witness_id, chain, step, status, pipl_request_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, 'pending', $7, $8) RETURNING id",
                &[&r.requester_id, &r.reason, &r.appraisal, &r.method, &r.witness_id, &chain_text(&r.chain), &r.pipl_request_id, &at],
            )
            .await?
            .get(0);
        let mut events = Vec::new();
        for aid in &ids {
            let x = tx
                .query_one(
                    "SELECT a.archive_no, a.name, a.created_at, a.retention_due, a.legal_hold, a.destroyed_at, a.merged_into, d.data,
                            EXISTS (SELECT 1 FROM destruction_items i JOIN destruction_requests q ON q.id = i.request_id WHERE i.archive_id = a.id AND q.status IN ('pending', 'approved'))
                     FROM archives a JOIN archive_documents d ON d.archive_id = a.id WHERE a.id = $1",
                    &[aid],
                )
                .await?;
            let no: String = x.get(0);
            let created: DateTime<Utc> = x.get(2);
            let due: Option<NaiveDate> = x.get(3);
            if x.get::<_, Option<String>>(4).is_some() || x.get::<_, Option<DateTime<Utc>>>(5).is_some() || x.get::<_, Option<i64>>(6).is_some() || x.get::<_, bool>(8) {
                return Err(conflict());
            }
            let data = x.get::<_, Json<ArchiveData>>(7).0;
            tx.execute(
                "INSERT INTO destruction_items (request_id, archive_id, archive_no, name, retention_class, filed_on, due_on) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[&id, aid, &no, &x.get::<_, String>(1), &data.retention_class.as_str(), &crate::retention::china_date(created), &due],
            )
            .await?;
            events.push(audit.clone().with_archive(*aid, &no).with_detail(serde_json::json!({ "destruction_id": id })));
        }
        if let Some(p) = r.pipl_request_id {
            let n = tx.execute("UPDATE pipl_requests SET status = 'deleting', destruction_id = $2 WHERE id = $1 AND status = 'open'", &[&p, &id]).await?;
            if n == 0 {
                return Err(conflict());
            }
        }
        append_chained(&tx, events).await?;
        let out = destruction_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }

    pub(super) async fn r_get_destruction(&self, id: i64) -> Result<Option<DestructionRequest>> {
        let c = self.pool.get().await?;
        destruction_by_id(&c, id).await
    }

    pub(super) async fn r_list_destructions(&self, status: Option<DestructionStatus>, limit: u32) -> Result<Vec<DestructionRequest>> {
        let c = self.pool.get().await?;
        let st = status.map(|s| s.as_str());
        let rows = c.query("SELECT id FROM destruction_requests WHERE ($1::text IS NULL OR status = $1) ORDER BY id DESC LIMIT $2", &[&st, &(limit as i64)]).await?;
        let mut out = Vec::new();
        for r in rows {
            if let Some(d) = destruction_by_id(&c, r.get(0)).await? {
                out.push(d);
            }
        }
        Ok(out)
    }

    pub(super) async fn r_decide_destruction(&self, id: i64, step: i64, approver_id: UserId, approved: bool, comment: &str, audit: &AuditEvent) -> Result<DestructionRequest> {
        let at = audit.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.query_opt("SELECT id FROM destruction_requests WHERE id = $1 FOR UPDATE", &[&id]).await?.ok_or(StoreError::NotFound)?;
        let req = destruction_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        if req.status != DestructionStatus::Pending || req.step != step {
            return Err(conflict());
        }
        let (status, next) = dangan_core::retention::transition(req.status, step as usize, req.chain.len(), DestructionEvent::Decide { approved }).map_err(|_| conflict())?;
        let kind = req.chain.get(step as usize).copied().ok_or_else(conflict)?;
        tx.execute(
            "INSERT INTO destruction_decisions (request_id, step, step_kind, approver_id, approved, comment, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&id, &step, &kind.as_str(), &approver_id, &approved, &comment, &at],
        )
        .await?;
        let closed = (status == DestructionStatus::Rejected).then_some(at);
        tx.execute("UPDATE destruction_requests SET status = $2, step = $3, closed_at = $4 WHERE id = $1", &[&id, &status.as_str(), &(next as i64), &closed]).await?;
        if status == DestructionStatus::Rejected {
            tx.execute("UPDATE pipl_requests SET status = 'open' WHERE destruction_id = $1 AND status = 'deleting'", &[&id]).await?;
        }
        let events = req.items.iter().map(|i| audit.clone().with_archive(i.archive_id, &i.archive_no).with_detail(serde_json::json!({ "destruction_id": id, "step": kind.as_str(), "comment": comment }))).collect();
        append_chained(&tx, events).await?;
        let out = destruction_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }

    pub(super) async fn r_cancel_destruction(&self, id: i64, audit: &AuditEvent) -> Result<DestructionRequest> {
        let at = audit.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.query_opt("SELECT id FROM destruction_requests WHERE id = $1 FOR UPDATE", &[&id]).await?.ok_or(StoreError::NotFound)?;
        let req = destruction_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        let (status, _) = dangan_core::retention::transition(req.status, req.step as usize, req.chain.len(), DestructionEvent::Cancel).map_err(|_| conflict())?;
        tx.execute("UPDATE destruction_requests SET status = $2, closed_at = $3 WHERE id = $1", &[&id, &status.as_str(), &at]).await?;
        tx.execute("UPDATE pipl_requests SET status = 'open' WHERE destruction_id = $1 AND status = 'deleting'", &[&id]).await?;
        append_chained(&tx, vec![audit.clone().with_detail(serde_json::json!({ "destruction_id": id }))]).await?;
        let out = destruction_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }

    pub(super) async fn r_execute_destruction(&self, id: i64, witness_id: UserId, audit: &AuditEvent) -> Result<DestructionOutcome> {
        let at = audit.at;
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.query_opt("SELECT id FROM destruction_requests WHERE id = $1 FOR UPDATE", &[&id]).await?.ok_or(StoreError::NotFound)?;
        let req = destruction_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        if req.witness_id != witness_id {
            return Err(conflict());
        }
        dangan_core::retention::transition(req.status, req.step as usize, req.chain.len(), DestructionEvent::Witness).map_err(|_| conflict())?;
        let register_no = dangan_core::retention::register_no(crate::retention::china_date(at).year(), id);
        let item_ids: Vec<i64> = req.items.iter().map(|i| i.archive_id).collect();
        // The archives and the tombstones merged into them, locked in id order.
        let all: Vec<i64> = tx
            .query("SELECT id FROM archives WHERE id = ANY($1) OR merged_into = ANY($1) ORDER BY id FOR UPDATE", &[&item_ids])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut shas: Vec<String> = Vec::new();
        let mut events = Vec::new();
        for item in &req.items {
            let r = tx.query_one("SELECT legal_hold, destroyed_at FROM archives WHERE id = $1", &[&item.archive_id]).await?;
            if r.get::<_, Option<String>>(0).is_some() || r.get::<_, Option<DateTime<Utc>>>(1).is_some() {
                return Err(conflict());
            }
            let ids: Vec<i64> = std::iter::once(item.archive_id)
                .chain(tx.query("SELECT id FROM archives WHERE merged_into = $1", &[&item.archive_id]).await?.iter().map(|r| r.get::<_, i64>(0)))
                .collect();
            let mut e = audit.clone().with_archive(item.archive_id, &item.archive_no).with_detail(serde_json::json!({ "destruction_id": id, "register_no": register_no, "purged_archives": ids }));
            e.action = AuditAction::ArchiveDestroy;
            events.push(e);
        }
        for aid in &all {
            // Marked destroyed first: from then on its checklist marks may be deleted (0017).
            tx.execute(
                "UPDATE archives SET name = '', mobile = NULL, uscc = NULL, id_hash = NULL, grade = NULL, credit_grade = NULL, industry = NULL,
                    province = NULL, city = NULL, blacklisted = FALSE, status = 'closed', change_reason = NULL, retention_due = NULL,
                    destroyed_at = $2, destruction_id = $3, updated_by = $4, updated_at = $2 WHERE id = $1",
                &[aid, &at, &id, &witness_id],
            )
            .await?;
            shas.extend(tx.query("SELECT sha256 FROM attachments WHERE archive_id = $1", &[aid]).await?.iter().map(|r| r.get::<_, String>(0)));
            for table in ["checklist_marks", "archive_versions", "contacts", "attachments", "dedup_keys", "pipl_consents", "search_docs", "archive_dates"] {
                tx.execute(&format!("DELETE FROM {table} WHERE archive_id = $1"), &[aid]).await?;
            }
            tx.execute("UPDATE timeline_entries SET supersedes = NULL WHERE archive_id = $1", &[aid]).await?;
            tx.execute("DELETE FROM timeline_entries WHERE archive_id = $1", &[aid]).await?;
            tx.execute("UPDATE pipl_requests SET subject_name = '', detail = '' WHERE archive_id = $1", &[aid]).await?;
            let data = tx.query_one("SELECT data FROM archive_documents WHERE archive_id = $1", &[aid]).await?.get::<_, Json<ArchiveData>>(0).0;
            tx.execute("UPDATE archive_documents SET data = $2 WHERE archive_id = $1", &[aid, &Json(tombstone_document(&data))]).await?;
            purge_handover_names(&tx, *aid).await?;
        }
        // Import fingerprints (hashes of the imported rows) go too.
        tx.execute("DELETE FROM import_rows WHERE archive_id = ANY($1)", &[&all]).await?;
        tx.execute("UPDATE destruction_items SET name = '' WHERE request_id = $1", &[&id]).await?;
        tx.execute("UPDATE destruction_requests SET status = 'destroyed', destroyed_at = $2, closed_at = $2, register_no = $3 WHERE id = $1", &[&id, &at, &register_no]).await?;
        if let Some(p) = req.pipl_request_id {
            tx.execute(
                "UPDATE pipl_requests SET status = 'done', resolution = $2, closed_by = $3, closed_at = $4 WHERE id = $1 AND status = 'deleting'",
                &[&p, &format!("已销毁，销毁清册 {register_no} / destroyed, register {register_no}"), &witness_id, &at],
            )
            .await?;
        }
        events.insert(0, audit.clone().with_detail(serde_json::json!({ "destruction_id": id, "register_no": register_no, "archives": req.items.len(), "purged_archives": all.len() })));
        append_chained(&tx, events).await?;
        shas.sort();
        shas.dedup();
        let still: Vec<String> = tx.query("SELECT DISTINCT sha256 FROM attachments WHERE sha256 = ANY($1)", &[&shas]).await?.iter().map(|r| r.get(0)).collect();
        let orphaned = shas.into_iter().filter(|s| !still.contains(s)).collect();
        let request = destruction_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(DestructionOutcome { request, orphaned_files: orphaned })
    }

    pub(super) async fn r_attachment_referenced(&self, sha256: &str) -> Result<bool> {
        let c = self.pool.get().await?;
        Ok(c.query_one("SELECT EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1)", &[&sha256]).await?.get(0))
    }

    pub(super) async fn r_add_consent(&self, archive_id: ArchiveId, cd: &ConsentData, recorded_by: UserId, audit: &AuditEvent) -> Result<Consent> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let no = archive_no_of(&tx, archive_id).await?;
        let id: i64 = tx
            .query_one("INSERT INTO pipl_consents (archive_id, data, recorded_by, recorded_at) VALUES ($1, $2, $3, $4) RETURNING id", &[&archive_id, &Json(cd), &recorded_by, &audit.at])
            .await?
            .get(0);
        append_chained(&tx, vec![audit.clone().with_archive(archive_id, &no).with_detail(serde_json::json!({ "consent_id": id, "purpose": cd.purpose, "guardian": cd.guardian_name.is_some(), "explicit": cd.explicit }))]).await?;
        let out = consent_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }

    pub(super) async fn r_withdraw_consent(&self, id: i64, on: NaiveDate, by: UserId, audit: &AuditEvent) -> Result<Consent> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.query_opt("SELECT id FROM pipl_consents WHERE id = $1 FOR UPDATE", &[&id]).await?.ok_or(StoreError::NotFound)?;
        let cs = consent_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        if cs.withdrawn_on.is_some() {
            return Err(conflict());
        }
        tx.execute("UPDATE pipl_consents SET withdrawn_on = $2, withdrawn_by = $3 WHERE id = $1", &[&id, &on, &by]).await?;
        let no = archive_no_of(&tx, cs.archive_id).await?;
        append_chained(&tx, vec![audit.clone().with_archive(cs.archive_id, &no).with_detail(serde_json::json!({ "consent_id": id, "withdrawn_on": on }))]).await?;
        let out = consent_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }

    pub(super) async fn r_list_consents(&self, archive_id: ArchiveId) -> Result<Vec<Consent>> {
        let c = self.pool.get().await?;
        Ok(c.query(&format!("SELECT {CONSENT_COLUMNS} FROM pipl_consents WHERE archive_id = $1 ORDER BY id"), &[&archive_id]).await?.iter().map(consent_from_row).collect())
    }

    pub(super) async fn r_get_consent(&self, id: i64) -> Result<Option<Consent>> {
        let c = self.pool.get().await?;
        consent_by_id(&c, id).await
    }

    pub(super) async fn r_create_pipl_request(&self, r: &NewPiplRequest, audit: &AuditEvent) -> Result<PiplRequest> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        let no = archive_no_of(&tx, r.archive_id).await?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO pipl_requests (archive_id, kind, subject_name, detail, received_on, due_on, status, recorded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8) RETURNING id",
                &[&r.archive_id, &r.kind.as_str(), &r.subject_name, &r.detail, &r.received_on, &r.due_on, &r.recorded_by, &audit.at],
            )
            .await?
            .get(0);
        append_chained(&tx, vec![audit.clone().with_archive(r.archive_id, &no).with_detail(serde_json::json!({ "pipl_request_id": id, "kind": r.kind.as_str(), "due_on": r.due_on }))]).await?;
        let out = pipl_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }

    pub(super) async fn r_get_pipl_request(&self, id: i64) -> Result<Option<PiplRequest>> {
        let c = self.pool.get().await?;
        pipl_by_id(&c, id).await
    }

    pub(super) async fn r_list_pipl_requests(&self, open_only: bool, archive_id: Option<ArchiveId>, limit: u32) -> Result<Vec<PiplRequest>> {
        let c = self.pool.get().await?;
        let sql = format!(
            "SELECT {PIPL_COLUMNS} FROM pipl_requests WHERE (NOT $1 OR status IN ('open', 'deleting')) AND ($2::bigint IS NULL OR archive_id = $2) ORDER BY due_on, id LIMIT $3"
        );
        c.query(&sql, &[&open_only, &archive_id, &(limit as i64)]).await?.iter().map(pipl_from_row).collect()
    }

    pub(super) async fn r_close_pipl_request(&self, id: i64, close: &PiplClose, audit: &AuditEvent) -> Result<PiplRequest> {
        let mut c = self.pool.get().await?;
        let tx = c.transaction().await?;
        tx.query_opt("SELECT id FROM pipl_requests WHERE id = $1 FOR UPDATE", &[&id]).await?.ok_or(StoreError::NotFound)?;
        let r = pipl_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        if r.status != PiplStatus::Open {
            return Err(conflict());
        }
        tx.execute(
            "UPDATE pipl_requests SET status = $2, resolution = $3, legal_basis = $4, closed_by = $5, closed_at = $6 WHERE id = $1",
            &[&id, &close.status.as_str(), &close.resolution, &close.legal_basis, &close.closed_by, &audit.at],
        )
        .await?;
        let no = archive_no_of(&tx, r.archive_id).await?;
        append_chained(
            &tx,
            vec![audit.clone().with_archive(r.archive_id, &no).with_detail(serde_json::json!({ "pipl_request_id": id, "kind": r.kind.as_str(), "status": close.status.as_str(), "legal_basis": close.legal_basis }))],
        )
        .await?;
        let out = pipl_by_id(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(out)
    }
}
