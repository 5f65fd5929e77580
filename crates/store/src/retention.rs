//! Storage types for retention, destruction and personal-information requests (issue 7); the
//! rules are in `dangan_core::retention`, the SQL in `sqlite/retention.rs` and
//! `postgres/retention.rs`.

use chrono::{DateTime, NaiveDate, Utc};
use dangan_core::retention::{ConsentData, DestructionStatus, DestructionStep, PiplKind, PiplStatus};
use dangan_core::{ArchiveData, ArchiveId, ArchiveSummary, RetentionClass, UserId};
use serde::Serialize;

/// An archive's retention state: closing, disposal due date, legal hold, destruction.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RetentionInfo {
    pub archive_id: ArchiveId,
    pub closed_at: Option<DateTime<Utc>>,
    /// First day it may be destroyed (`None`: permanent, open, or destroyed).
    pub due_on: Option<NaiveDate>,
    pub legal_hold: Option<LegalHold>,
    pub destroyed_at: Option<DateTime<Utc>>,
    /// The destruction request that destroyed it (the register entry / certificate).
    pub destruction_id: Option<i64>,
    /// Its register number (销毁清册编号).
    pub register_no: Option<String>,
    /// An open (pending or approved) destruction request naming it.
    pub open_destruction_id: Option<i64>,
}

/// 法律冻结: why, by whom, since when.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LegalHold {
    pub reason: String,
    pub by: UserId,
    pub at: DateTime<Utc>,
}

/// One row of the disposal-due list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DueArchive {
    pub archive: ArchiveSummary,
    pub due_on: NaiveDate,
    /// An open destruction request already naming it.
    pub open_destruction_id: Option<i64>,
}

/// Keyset position in the disposal-due list: (due day, id).
pub type DueCursor = (NaiveDate, ArchiveId);

#[derive(Debug, Clone)]
pub struct NewDestruction {
    pub requester_id: UserId,
    /// 销毁依据
    pub reason: String,
    /// 鉴定意见
    pub appraisal: String,
    /// 销毁方式
    pub method: String,
    pub witness_id: UserId,
    pub chain: Vec<DestructionStep>,
    pub archive_ids: Vec<ArchiveId>,
    /// The personal-information deletion request this carries out, if any.
    pub pipl_request_id: Option<i64>,
}

/// One archive of a destruction request, as appraised.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DestructionItem {
    pub archive_id: ArchiveId,
    pub archive_no: String,
    /// The customer's name while the request is open; blank once destroyed.
    pub name: String,
    pub retention_class: RetentionClass,
    pub filed_on: NaiveDate,
    pub due_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DestructionDecision {
    pub step: i64,
    pub step_kind: DestructionStep,
    pub approver_id: UserId,
    pub approved: bool,
    pub comment: String,
    pub decided_at: DateTime<Utc>,
}

/// A destruction request (销毁申请) and, once carried out, its register entry (销毁清册).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DestructionRequest {
    pub id: i64,
    pub requester_id: UserId,
    pub reason: String,
    pub appraisal: String,
    pub method: String,
    /// 监销人
    pub witness_id: UserId,
    pub chain: Vec<DestructionStep>,
    /// Index into `chain` of the step waiting for a decision.
    pub step: i64,
    pub status: DestructionStatus,
    pub pipl_request_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub destroyed_at: Option<DateTime<Utc>>,
    pub register_no: Option<String>,
    pub items: Vec<DestructionItem>,
    pub decisions: Vec<DestructionDecision>,
}

impl DestructionRequest {
    /// The step waiting for a decision, while pending.
    pub fn current_step(&self) -> Option<DestructionStep> {
        (self.status == DestructionStatus::Pending).then(|| self.chain.get(self.step as usize).copied()).flatten()
    }
}

/// What carrying out a destruction left to do outside the database: attachment files no row
/// references any more (content-addressed, by SHA-256).
#[derive(Debug, Clone)]
pub struct DestructionOutcome {
    pub request: DestructionRequest,
    pub orphaned_files: Vec<String>,
}

/// A handover list's items (JSON) with the name of archive `archive_no` blanked, in the archive's
/// own line and in the lines of its loans; everything else as it was.
pub fn blank_names_of(items: &serde_json::Value, archive_no: &str) -> serde_json::Value {
    let mut items = items.clone();
    if let Some(list) = items.as_array_mut() {
        for item in list.iter_mut().filter(|i| i.get("archive_no").and_then(|n| n.as_str()) == Some(archive_no)) {
            item["name"] = serde_json::Value::String(String::new());
        }
    }
    items
}

/// The tombstone document of a destroyed archive: kind, custody and protection only (who may see
/// the register line), no content.
pub fn tombstone_document(d: &ArchiveData) -> ArchiveData {
    let mut t = ArchiveData::new(d.kind, "");
    t.status = dangan_core::ArchiveStatus::Closed;
    t.owner_id = d.owner_id;
    t.dept_id = d.dept_id;
    t.tier = d.tier;
    t.secrecy = d.secrecy;
    t.retention_class = d.retention_class;
    t.retention_years = d.retention_years;
    t
}

/// A consent record.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Consent {
    pub id: i64,
    pub archive_id: ArchiveId,
    #[serde(flatten)]
    pub data: ConsentData,
    pub recorded_by: UserId,
    pub recorded_at: DateTime<Utc>,
    pub withdrawn_on: Option<NaiveDate>,
    pub withdrawn_by: Option<UserId>,
}

#[derive(Debug, Clone)]
pub struct NewPiplRequest {
    pub archive_id: ArchiveId,
    pub kind: PiplKind,
    pub subject_name: String,
    pub detail: String,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub recorded_by: UserId,
}

/// A personal-information request (个人信息权利请求).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PiplRequest {
    pub id: i64,
    pub archive_id: ArchiveId,
    pub kind: PiplKind,
    pub subject_name: String,
    pub detail: String,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub status: PiplStatus,
    pub resolution: String,
    /// For a deletion kept: the legal basis recorded (e.g. 税法要求保存会计凭证 10 年).
    pub legal_basis: String,
    pub destruction_id: Option<i64>,
    pub recorded_by: UserId,
    pub created_at: DateTime<Utc>,
    pub closed_by: Option<UserId>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// How a personal-information request is closed.
#[derive(Debug, Clone)]
pub struct PiplClose {
    pub status: PiplStatus,
    pub resolution: String,
    pub legal_basis: String,
    pub closed_by: UserId,
}

pub(crate) fn chain_text(chain: &[DestructionStep]) -> String {
    chain.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

pub(crate) fn parse_chain(s: &str) -> Vec<DestructionStep> {
    s.split(',').filter_map(DestructionStep::parse).collect()
}

/// The latest contract's end date among stored timeline entries `(id, supersedes, data)` of
/// kind contract: the newest entry (by date, then id) that no other entry supersedes.
pub(crate) fn latest_contract_end(entries: &[(i64, Option<i64>, NaiveDate, dangan_core::EntryData)]) -> Option<NaiveDate> {
    let superseded: std::collections::HashSet<i64> = entries.iter().filter_map(|e| e.1).collect();
    entries.iter().filter(|e| !superseded.contains(&e.0)).max_by_key(|e| (e.2, e.0)).and_then(|e| e.3.details.end_date)
}

/// The retention of an archive that arrives closed in a bulk load, from the batch alone (the
/// loader defers the timeline's indexes, so reading entries back would scan the table): closed
/// at `at`, due from that and its contract entries. `None` unless it is closed.
pub(crate) fn bulk_retention(a: &crate::BulkArchive, at: DateTime<Utc>) -> Option<(DateTime<Utc>, Option<NaiveDate>)> {
    if a.data.status != dangan_core::ArchiveStatus::Closed {
        return None;
    }
    let contracts: Vec<_> =
        a.entries.iter().enumerate().filter(|(_, e)| e.kind == dangan_core::EntryKind::Contract).map(|(i, e)| (i as i64, None, e.occurred_on, e.clone())).collect();
    Some((at, dangan_core::retention::due_date(&a.data, Some(china_date(at)), latest_contract_end(&contracts))))
}

/// The calendar day in China (UTC+8) of an instant: closing dates and register dates are days
/// there.
pub fn china_date(t: DateTime<Utc>) -> NaiveDate {
    (t + chrono::Duration::hours(8)).date_naive()
}
