//! Retention, legal hold, destruction and personal-information requests (issue 7). The rules are
//! `dangan_core::retention`; every change is audited in its store transaction.
//!
//! Destruction: the archivist (or general manager) appraises due archives and files a request
//! naming a witness (监销人) → the chain approves in turn (nobody their own request) → the
//! witness confirms, which carries it out: the store purges the content in one transaction and
//! returns the attachment files no other row uses, which are then deleted here. A legal hold
//! refuses filing and execution.

use chrono::{NaiveDate, Utc};
use dangan_core::audit::AuditAction;
use dangan_core::policy::Action;
use dangan_core::retention::{self as rules, ConsentData, DestructionStatus, PiplKind, PiplStatus, Refusal};
use dangan_core::{ArchiveId, Role, UserId};
use dangan_store::{Consent, DestructionRequest, DueArchive, DueCursor, NewDestruction, NewPiplRequest, PiplClose, PiplRequest, RetentionInfo, StoreError};
use serde::Deserialize;

use crate::{App, AppError, Principal, Result};

fn refused(r: Refusal) -> AppError {
    AppError::Refused { code: r.code, zh: r.zh, en: r.en }
}

fn refuse(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> AppError {
    AppError::Refused { code, zh: zh.into(), en: en.into() }
}

/// A store conflict in a destruction step: someone else moved the request first, or a hold
/// came in between.
fn moved_on(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict { .. } => refuse("state-changed", "该申请或档案的状态已变化（他人已处理或已设置法律冻结），请刷新后重试", "the request or an archive changed (decided by someone else, or put on hold); reload"),
        e => e.into(),
    }
}

/// What the archivist files after appraisal (鉴定).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DestructionInput {
    pub archive_ids: Vec<ArchiveId>,
    /// 销毁依据, e.g. 保管期限已满
    pub reason: String,
    /// 鉴定意见, e.g. 经鉴定无继续保存价值
    pub appraisal: String,
    /// 销毁方式; default 电子数据删除
    #[serde(default)]
    pub method: String,
    /// 监销人
    pub witness_id: UserId,
}

/// A personal-information request as received.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PiplInput {
    pub archive_id: ArchiveId,
    pub kind: PiplKind,
    pub subject_name: String,
    #[serde(default)]
    pub detail: String,
    /// Default: today.
    #[serde(default)]
    pub received_on: Option<NaiveDate>,
}

/// Who records and answers personal-information requests: the archivist, the general manager
/// and service staff (客服, who meet the customers).
pub fn may_handle_pipl(roles: &[Role]) -> bool {
    roles.iter().any(|r| matches!(r, Role::Archivist | Role::GeneralManager | Role::ServiceStaff))
}

pub fn today() -> NaiveDate {
    dangan_store::retention::china_date(Utc::now())
}

impl App {
    /// Those who keep the register or handle personal-information requests see every archive's
    /// retention state and consents (not its content) and record consents.
    fn keeps_records(&self, p: &Principal) -> bool {
        p.active && (rules::may_view_register(&p.roles) || may_handle_pipl(&p.roles))
    }

    fn require(&self, ok: bool) -> Result<()> {
        if ok {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// An archive's retention state, for anyone who may read the archive (checked without a
    /// second read record: the page that shows it records the read).
    pub async fn retention_info(&self, p: &Principal, id: ArchiveId) -> Result<RetentionInfo> {
        let archive = self.store.get_archive(id).await?.ok_or(AppError::NotFound)?;
        if archive.destroyed_at.is_some() {
            self.require(rules::may_view_register(&p.roles))?;
        } else if !self.keeps_records(p) {
            self.authorize(p, Action::Read, &archive).await?;
        }
        Ok(self.store.retention_info(id).await?)
    }

    /// 到期待处置: archives due for disposal on `today` (archivist, general manager, auditor).
    /// Viewing is audited.
    pub async fn disposal_due(&self, p: &Principal, today: NaiveDate, after: Option<DueCursor>, limit: u32) -> Result<Vec<DueArchive>> {
        self.require(rules::may_view_register(&p.roles))?;
        let mut rows = self.store.disposal_due(today, after, limit.clamp(1, 500)).await?;
        rows.iter_mut().for_each(|r| crate::redact_top_secret(&mut r.archive));
        self.record(self.event(p, AuditAction::DisposalList).with_detail(serde_json::json!({ "today": today, "rows": rows.len() }))).await?;
        Ok(rows)
    }

    /// Sets (with a reason) or clears (with a reason too, recorded) a legal hold.
    pub async fn set_legal_hold(&self, p: &Principal, id: ArchiveId, hold: bool, reason: &str) -> Result<RetentionInfo> {
        self.require(rules::may_hold(&p.roles))?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Invalid { zh: "请写明设置或解除法律冻结的原因".into(), en: "say why the hold is set or cleared".into() });
        }
        let archive = self.store.get_archive(id).await?.ok_or(AppError::NotFound)?;
        if archive.destroyed_at.is_some() {
            return Err(refuse("destroyed", "档案已销毁", "the archive was destroyed"));
        }
        let info = self.store.retention_info(id).await?;
        if hold == info.legal_hold.is_some() {
            return Err(if hold { refuse("already-held", "档案已处于法律冻结", "the archive is already on hold") } else { refuse("not-held", "档案未被冻结", "the archive is not on hold") });
        }
        let action = if hold { AuditAction::LegalHoldSet } else { AuditAction::LegalHoldClear };
        let e = self.event(p, action).with_detail(serde_json::json!({ "reason": reason }));
        Ok(self.store.set_legal_hold(id, hold.then_some(reason), &e).await?)
    }

    /// Records the day a closed archive was actually closed (结档日期; a paper file closed
    /// before it was entered), which its retention counts from. Archivist or general manager.
    pub async fn set_closed_on(&self, p: &Principal, id: ArchiveId, closed_on: NaiveDate) -> Result<RetentionInfo> {
        self.require(rules::may_hold(&p.roles))?;
        if closed_on > today() {
            return Err(AppError::Invalid { zh: "结档日期不能晚于今天".into(), en: "the closing date cannot be in the future".into() });
        }
        let at = closed_on.and_hms_opt(12, 0, 0).expect("noon").and_utc() - chrono::Duration::hours(8);
        let e = self.event(p, AuditAction::ClosedOnSet).with_detail(serde_json::json!({ "closed_on": closed_on }));
        self.store.set_closed_on(id, at, &e).await.map_err(|e| match e {
            StoreError::Conflict { .. } => refuse("not-closed", "只有已结档（未销毁）的档案可以登记结档日期", "only a closed (not destroyed) archive has a closing date"),
            e => e.into(),
        })
    }

    /// 鉴定 + 销毁申请: for archives past their retention (a personal-information deletion goes
    /// through `delete_for_pipl`).
    pub async fn request_destruction(&self, p: &Principal, input: DestructionInput) -> Result<DestructionRequest> {
        self.require(rules::may_file_destruction(&p.roles))?;
        self.file_destruction(p, input, None).await
    }

    async fn file_destruction(&self, p: &Principal, mut input: DestructionInput, pipl: Option<i64>) -> Result<DestructionRequest> {
        input.archive_ids.sort_unstable();
        input.archive_ids.dedup();
        if input.archive_ids.is_empty() || input.archive_ids.len() > 500 {
            return Err(AppError::Invalid { zh: "请选择 1 到 500 份档案".into(), en: "choose 1 to 500 archives".into() });
        }
        let (reason, appraisal) = (input.reason.trim().to_string(), input.appraisal.trim().to_string());
        if reason.is_empty() || appraisal.is_empty() {
            return Err(AppError::Invalid { zh: "请填写销毁依据和鉴定意见".into(), en: "give the reason and the appraisal".into() });
        }
        rules::check_witness(p.id, input.witness_id).map_err(refused)?;
        let witness = self.store.get_user(input.witness_id).await?.filter(|u| u.active).ok_or_else(|| AppError::Invalid { zh: "监销人不存在或已停用".into(), en: "the witness is not an active user".into() })?;
        let today = today();
        for &id in &input.archive_ids {
            let archive = self.store.get_archive(id).await?.ok_or(AppError::NotFound)?;
            let no = &archive.archive_no;
            if archive.destroyed_at.is_some() {
                return Err(refuse("destroyed", format!("档案 {no} 已销毁"), format!("archive {no} was destroyed")));
            }
            if archive.merged_into.is_some() {
                return Err(refuse("merged", format!("档案 {no} 已合并到其他档案"), format!("archive {no} was merged into another")));
            }
            let info = self.store.retention_info(id).await?;
            if let Some(h) = &info.legal_hold {
                return Err(refuse("legal-hold", format!("档案 {no} 处于法律冻结（{}），不能销毁", h.reason), format!("archive {no} is on legal hold ({}) and cannot be destroyed", h.reason)));
            }
            if let Some(r) = info.open_destruction_id {
                return Err(refuse("in-request", format!("档案 {no} 已在销毁申请 #{r} 中"), format!("archive {no} is already in destruction request #{r}")));
            }
            if pipl.is_none() && !rules::is_due(info.due_on, false, today) {
                let when = info.due_on.map(|d| d.to_string());
                return Err(refuse(
                    "not-due",
                    format!("档案 {no} 未到保管期限（{}）", when.clone().unwrap_or_else(|| "永久或未结档".into())),
                    format!("archive {no} is not past its retention ({})", when.unwrap_or_else(|| "permanent or not closed".into())),
                ));
            }
        }
        let method = if input.method.trim().is_empty() { "电子数据删除".to_string() } else { input.method.trim().to_string() };
        let new = NewDestruction {
            requester_id: p.id,
            reason,
            appraisal,
            method,
            witness_id: witness.id,
            chain: rules::destruction_chain(&p.roles),
            archive_ids: input.archive_ids,
            pipl_request_id: pipl,
        };
        let e = self.event(p, AuditAction::DestructionRequest);
        self.store.create_destruction(&new, &e).await.map_err(moved_on)
    }

    /// One request, for the register's readers and everyone named on it.
    pub async fn destruction(&self, p: &Principal, id: i64) -> Result<DestructionRequest> {
        let r = self.store.get_destruction(id).await?.ok_or(AppError::NotFound)?;
        if rules::may_view_register(&p.roles) || self.involved(p, &r) {
            Ok(r)
        } else {
            Err(AppError::NotFound)
        }
    }

    fn involved(&self, p: &Principal, r: &DestructionRequest) -> bool {
        r.requester_id == p.id || r.witness_id == p.id || r.decisions.iter().any(|d| d.approver_id == p.id) || r.current_step().is_some_and(|s| rules::can_decide(s, p.id, &p.roles, r.requester_id))
    }

    /// Requests newest first: all for the register's readers, the ones naming the user otherwise.
    pub async fn destructions(&self, p: &Principal, status: Option<DestructionStatus>) -> Result<Vec<DestructionRequest>> {
        let all = self.store.list_destructions(status, 200).await?;
        Ok(if rules::may_view_register(&p.roles) { all } else { all.into_iter().filter(|r| self.involved(p, r)).collect() })
    }

    /// The current step's decision (审批).
    pub async fn decide_destruction(&self, p: &Principal, id: i64, approved: bool, comment: &str) -> Result<DestructionRequest> {
        let r = self.destruction(p, id).await?;
        let step = r.current_step().ok_or_else(|| rules::transition(r.status, r.step as usize, r.chain.len(), rules::DestructionEvent::Decide { approved }).err().map(refused).unwrap_or(AppError::NotFound))?;
        if r.requester_id == p.id {
            return Err(refuse("own-request", "不能审批自己提交的申请", "you cannot decide your own request"));
        }
        self.require(rules::can_decide(step, p.id, &p.roles, r.requester_id))?;
        if !approved && comment.trim().is_empty() {
            return Err(AppError::Invalid { zh: "驳回时请写明理由".into(), en: "say why you reject it".into() });
        }
        let action = if approved { AuditAction::DestructionApprove } else { AuditAction::DestructionReject };
        self.store.decide_destruction(id, r.step, p.id, approved, comment.trim(), &self.event(p, action)).await.map_err(moved_on)
    }

    /// The requester withdraws an open request.
    pub async fn cancel_destruction(&self, p: &Principal, id: i64) -> Result<DestructionRequest> {
        let r = self.destruction(p, id).await?;
        if r.requester_id != p.id {
            return Err(AppError::Forbidden);
        }
        rules::transition(r.status, r.step as usize, r.chain.len(), rules::DestructionEvent::Cancel).map_err(refused)?;
        self.store.cancel_destruction(id, &self.event(p, AuditAction::DestructionCancel)).await.map_err(moved_on)
    }

    /// 监销: the named witness confirms, and the destruction is carried out at once.
    pub async fn witness_destruction(&self, p: &Principal, id: i64) -> Result<DestructionRequest> {
        let r = self.destruction(p, id).await?;
        if r.witness_id != p.id {
            return Err(refuse("not-witness", "只有申请中指定的监销人可以确认销毁", "only the witness named on the request can confirm it"));
        }
        rules::transition(r.status, r.step as usize, r.chain.len(), rules::DestructionEvent::Witness).map_err(refused)?;
        let today = today();
        for item in &r.items {
            let info = self.store.retention_info(item.archive_id).await?;
            // An archive reopened (or made permanent) since the appraisal is no longer due.
            if r.pipl_request_id.is_none() && info.destroyed_at.is_none() && !rules::is_due(info.due_on, false, today) {
                return Err(refuse(
                    "not-due",
                    format!("档案 {} 已不在到期待处置之列（重新启用或改为永久保管），请撤回申请", item.archive_no),
                    format!("archive {} is no longer due (reopened or made permanent); withdraw the request", item.archive_no),
                ));
            }
            if let Some(h) = info.legal_hold {
                return Err(refuse(
                    "legal-hold",
                    format!("档案 {} 处于法律冻结（{}），不能销毁；解除冻结后再确认", item.archive_no, h.reason),
                    format!("archive {} is on legal hold ({}); clear the hold first", item.archive_no, h.reason),
                ));
            }
        }
        let outcome = self.store.execute_destruction(id, p.id, &self.event(p, AuditAction::DestructionExecute)).await.map_err(moved_on)?;
        // Attachment files no row references any more. Checked again one by one just before
        // deleting: an upload of the same content in between keeps its file.
        for sha in outcome.orphaned_files {
            if !self.store.attachment_referenced(&sha).await? {
                match tokio::fs::remove_file(self.attachment_path(&sha)).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!("destroyed attachment {sha} not deleted: {e}"),
                }
            }
        }
        Ok(outcome.request)
    }

    /// The destruction register form (销毁清册) of a request, as an A4 PDF: authorized like the
    /// register, audited as a print, watermarked.
    pub async fn print_destruction_register(&self, p: &Principal, id: i64) -> Result<Vec<u8>> {
        let r = self.destruction(p, id).await?;
        let names: std::collections::HashMap<i64, String> = self.store.list_users().await?.into_iter().map(|u| (u.id, u.display_name)).collect();
        let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
        let register_no = r.register_no.clone().unwrap_or_else(|| format!("XH-草稿-{:05}", r.id));
        let input = dangan_pdf::DestructionRegisterInput {
            register_no: register_no.clone(),
            basis: format!("{}；鉴定意见：{}", r.reason, r.appraisal),
            method: r.method.clone(),
            place: None,
            destroyed_on: r.destroyed_at.map(dangan_store::retention::china_date),
            items: r
                .items
                .iter()
                .map(|i| dangan_pdf::DestructionItem {
                    archive_no: i.archive_no.clone(),
                    customer_name: if i.name.is_empty() { "（已销毁）".into() } else { i.name.clone() },
                    retention: i.retention_class,
                    filed_on: Some(i.filed_on),
                    expired_on: i.due_on,
                    pieces: None,
                    note: None,
                })
                .collect(),
            approvals: r
                .decisions
                .iter()
                .map(|d| dangan_pdf::Approval {
                    role: d.step_kind.label("zh-CN").to_string(),
                    name: name(d.approver_id),
                    opinion: Some(format!("{}{}", if d.approved { "同意" } else { "不同意" }, if d.comment.is_empty() { String::new() } else { format!("：{}", d.comment) })),
                    decided_on: Some(dangan_store::retention::china_date(d.decided_at)),
                })
                .collect(),
            executors: vec![name(r.requester_id)],
            witnesses: vec![name(r.witness_id)],
        };
        let numbers: Vec<&str> = r.items.iter().map(|i| i.archive_no.as_str()).collect();
        let e = self.event(p, AuditAction::ArchivePrint).with_fields(&["destruction_register"]).with_detail(serde_json::json!({ "destruction_id": r.id, "register_no": register_no, "archives": numbers }));
        self.record(e).await?;
        let wm = dangan_pdf::Watermark {
            viewer: format!("{} ({})", p.user.display_name, p.user.username),
            at: Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")),
            reference: Some(register_no),
        };
        let pdf = tokio::task::spawn_blocking(move || dangan_pdf::render_destruction_register(&input, &wm))
            .await
            .map_err(|e| AppError::Internal(format!("print worker failed: {e}")))?
            .map_err(|e| AppError::Internal(format!("cannot lay out the form: {e}")))?;
        Ok(pdf.bytes)
    }

    // --- personal information (个人信息保护) ---

    /// Records a consent (who may edit the archive, or handles personal-information requests):
    /// a child under 14 needs a guardian, health data explicit consent.
    pub async fn add_consent(&self, p: &Principal, archive_id: ArchiveId, c: ConsentData) -> Result<Consent> {
        self.consent_writer(p, archive_id).await?;
        rules::check_consent(&c).map_err(|r| AppError::Invalid { zh: r.zh, en: r.en })?;
        let e = self.event(p, AuditAction::ConsentRecord);
        Ok(self.store.add_consent(archive_id, &c, p.id, &e).await?)
    }

    pub async fn withdraw_consent(&self, p: &Principal, consent_id: i64, on: Option<NaiveDate>) -> Result<Consent> {
        let c = self.store.get_consent(consent_id).await?.ok_or(AppError::NotFound)?;
        self.consent_writer(p, c.archive_id).await?;
        let e = self.event(p, AuditAction::ConsentWithdraw);
        self.store.withdraw_consent(consent_id, on.unwrap_or_else(today), p.id, &e).await.map_err(|e| match e {
            StoreError::Conflict { .. } => refuse("already-withdrawn", "该同意已撤回", "the consent was already withdrawn"),
            e => e.into(),
        })
    }

    async fn consent_writer(&self, p: &Principal, archive_id: ArchiveId) -> Result<()> {
        if may_handle_pipl(&p.roles) && p.active {
            let archive = self.store.get_archive(archive_id).await?.ok_or(AppError::NotFound)?;
            if archive.destroyed_at.is_some() {
                return Err(refuse("destroyed", "档案已销毁", "the archive was destroyed"));
            }
            return Ok(());
        }
        self.archive_for(p, archive_id, Action::Edit).await.map(|_| ())
    }

    /// An archive's consents (who may read it, and the record keepers).
    pub async fn consents(&self, p: &Principal, archive_id: ArchiveId) -> Result<Vec<Consent>> {
        let archive = self.store.get_archive(archive_id).await?.ok_or(AppError::NotFound)?;
        if !self.keeps_records(p) {
            self.authorize(p, Action::Read, &archive).await?;
        }
        Ok(self.store.list_consents(archive_id).await?)
    }

    pub async fn create_pipl_request(&self, p: &Principal, input: PiplInput) -> Result<PiplRequest> {
        self.require(may_handle_pipl(&p.roles))?;
        let archive = self.store.get_archive(input.archive_id).await?.ok_or(AppError::NotFound)?;
        if archive.destroyed_at.is_some() {
            return Err(refuse("destroyed", "档案已销毁", "the archive was destroyed"));
        }
        if input.subject_name.trim().is_empty() {
            return Err(AppError::Invalid { zh: "请填写提出请求的个人".into(), en: "name the person who asks".into() });
        }
        let received_on = input.received_on.unwrap_or_else(today);
        let new = NewPiplRequest {
            archive_id: input.archive_id,
            kind: input.kind,
            subject_name: input.subject_name.trim().to_string(),
            detail: input.detail.trim().to_string(),
            received_on,
            due_on: rules::pipl_due(received_on),
            recorded_by: p.id,
        };
        Ok(self.store.create_pipl_request(&new, &self.event(p, AuditAction::PiplRequest)).await?)
    }

    pub async fn pipl_requests(&self, p: &Principal, open_only: bool, archive_id: Option<ArchiveId>) -> Result<Vec<PiplRequest>> {
        self.require(may_handle_pipl(&p.roles) || rules::may_view_register(&p.roles))?;
        Ok(self.store.list_pipl_requests(open_only, archive_id, 500).await?)
    }

    pub async fn pipl_request(&self, p: &Principal, id: i64) -> Result<PiplRequest> {
        self.require(may_handle_pipl(&p.roles) || rules::may_view_register(&p.roles))?;
        self.store.get_pipl_request(id).await?.ok_or(AppError::NotFound)
    }

    async fn open_pipl(&self, p: &Principal, id: i64) -> Result<PiplRequest> {
        self.require(may_handle_pipl(&p.roles))?;
        let r = self.store.get_pipl_request(id).await?.ok_or(AppError::NotFound)?;
        if r.status != PiplStatus::Open {
            return Err(refuse("closed", format!("该请求已{}", r.status.label("zh-CN")), format!("the request is {}", r.status.label("en").to_lowercase())));
        }
        Ok(r)
    }

    fn pipl_closed(e: StoreError) -> AppError {
        match e {
            StoreError::Conflict { .. } => refuse("closed", "该请求已办结", "the request was already closed"),
            e => e.into(),
        }
    }

    /// Answers a request (seen, copy handed over, corrected): the resolution is recorded.
    pub async fn answer_pipl_request(&self, p: &Principal, id: i64, resolution: &str) -> Result<PiplRequest> {
        let r = self.open_pipl(p, id).await?;
        if r.kind == PiplKind::Delete {
            return Err(refuse("delete-needs-decision", "删除请求须执行销毁或写明依法保留的依据", "a deletion is carried out by destruction, or kept with a legal basis"));
        }
        if resolution.trim().is_empty() {
            return Err(AppError::Invalid { zh: "请写明办理结果".into(), en: "say how it was answered".into() });
        }
        let close = PiplClose { status: PiplStatus::Done, resolution: resolution.trim().into(), legal_basis: String::new(), closed_by: p.id };
        self.store.close_pipl_request(id, &close, &self.event(p, AuditAction::PiplClose)).await.map_err(Self::pipl_closed)
    }

    /// A deletion refused because a legal basis to keep the data applies (recorded).
    pub async fn keep_pipl_request(&self, p: &Principal, id: i64, legal_basis: &str) -> Result<PiplRequest> {
        let r = self.open_pipl(p, id).await?;
        if r.kind != PiplKind::Delete {
            return Err(AppError::Invalid { zh: "只有删除请求可以依法保留".into(), en: "only a deletion can be kept on a legal basis".into() });
        }
        if legal_basis.trim().is_empty() {
            return Err(AppError::Invalid { zh: "请写明保留的法律依据".into(), en: "give the legal basis for keeping the data".into() });
        }
        let close = PiplClose { status: PiplStatus::Kept, resolution: "依法保留 / kept on a legal basis".into(), legal_basis: legal_basis.trim().into(), closed_by: p.id };
        self.store.close_pipl_request(id, &close, &self.event(p, AuditAction::PiplClose)).await.map_err(Self::pipl_closed)
    }

    /// A deletion carried out by the destruction machinery (approval chain, witness), whatever
    /// the retention period; the request is closed when the destruction is carried out.
    pub async fn delete_for_pipl(&self, p: &Principal, id: i64, witness_id: UserId) -> Result<DestructionRequest> {
        let r = self.open_pipl(p, id).await?;
        if r.kind != PiplKind::Delete {
            return Err(AppError::Invalid { zh: "这不是删除请求".into(), en: "this is not a deletion request".into() });
        }
        let input = DestructionInput {
            archive_ids: vec![r.archive_id],
            reason: format!("个人信息删除请求 #{}（个人信息保护法第四十七条）", r.id),
            appraisal: "个人行使删除权，无法定保存义务".into(),
            method: String::new(),
            witness_id,
        };
        self.file_destruction(p, input, Some(r.id)).await
    }

    /// The copy a person asked for: the archive package, in clear (it is the person's own
    /// data). The handler of the request may produce it whatever their rights on the archive:
    /// the request is the basis, recorded as `pipl:<id>` on the export's audit record.
    pub async fn pipl_copy(&self, p: &Principal, id: i64) -> Result<(Vec<u8>, String)> {
        let r = self.pipl_request(p, id).await?;
        self.require(may_handle_pipl(&p.roles))?;
        if r.kind != PiplKind::Copy && r.kind != PiplKind::Access {
            return Err(AppError::Invalid { zh: "只有查阅或复制请求提供档案包".into(), en: "only a see or copy request gets the package".into() });
        }
        let mut archive = self.store.get_archive(r.archive_id).await?.ok_or(AppError::NotFound)?;
        if archive.destroyed_at.is_some() {
            return Err(refuse("destroyed", "档案已销毁", "the archive was destroyed"));
        }
        self.open(&mut archive.data)?;
        let contacts = self.store.list_contacts(archive.id).await?;
        let mut timeline = self.store.list_entries(archive.id).await?;
        timeline.sort_by_key(|e| e.id);
        let mut attachments = Vec::new();
        for meta in self.store.list_attachments(archive.id).await? {
            let bytes = tokio::fs::read(self.attachment_path(&meta.sha256)).await.map_err(|e| AppError::Internal(format!("attachment {} missing: {e}", meta.sha256)))?;
            attachments.push(dangan_io::package::PackageAttachment { meta, bytes });
        }
        let no = archive.archive_no.clone();
        let pkg = dangan_io::package::PackageArchive { archive, contacts, timeline, attachments };
        let bytes = dangan_io::package::write_package(std::slice::from_ref(&pkg), Utc::now(), Some(p.display_name.clone())).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut e = self.event(p, AuditAction::ArchiveExport).with_archive(pkg.archive.id, &no).with_fields(&["package"]);
        e.basis = format!("pipl:{}", r.id);
        self.record(e.with_detail(serde_json::json!({ "format": "package", "pipl_request_id": r.id, "bytes": bytes.len() }))).await?;
        Ok((bytes, format!("档案包-{no}.zip")))
    }
}
