//! Types of the lifecycle queries and changes (reminders, reviews, the customer pool, handovers).
//! The rules are in `dangan_core::lifecycle`; this is what crosses the `Store` boundary.

use chrono::{DateTime, NaiveDate, Utc};
use dangan_core::audit::AuditEvent;
use dangan_core::lifecycle::{ArchiveDate, DateKind};
use dangan_core::{ArchiveData, ArchiveId, ArchiveSummary, Grade, UserId};
use serde::{Deserialize, Serialize};

use crate::ArchiveFilter;

/// Which indexed dates to return: archives in `filter` (scope included) whose dates fall in
/// one of the windows.
#[derive(Debug, Clone, Default)]
pub struct DueDatesQuery {
    pub filter: ArchiveFilter,
    /// (kind, from, to): `on_date` within [from, to]; `from: None` = anything up to `to`.
    pub date_ranges: Vec<(DateKind, Option<NaiveDate>, NaiveDate)>,
    /// (kind, from, to) on month × 100 + day, inclusive (birthdays).
    pub month_day_ranges: Vec<(DateKind, i64, i64)>,
    /// (kind, below): `num < below` (remaining sessions).
    pub num_below: Vec<(DateKind, i64)>,
    /// Which rows come first when there are more than `limit`.
    pub order: DueOrder,
    pub limit: u32,
    /// Walk the windows' date index first, in its order, and test each date's archive against
    /// the filter; for a large book (an owner's or department's archives are a good share of
    /// the base), asked one window at a time, so that a page stops after about `limit` ÷ that
    /// share dates. Otherwise a filter by owner or department walks those archives first.
    pub from_dates: bool,
    /// `count_due_dates` counts each window on its own and stops at this many (a walk that
    /// reaches it ends there): a count equal to the cap means "at least".
    pub count_cap: Option<i64>,
}

/// The order of `due_dates`: it is the order of the reminders the dates become, so that the
/// first `limit` rows are the soonest reminders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DueOrder {
    /// By `on_date` (expiries, renewals, planned visits: the date is the reminder's day).
    #[default]
    OnDate,
    /// By the next anniversary of `md` counted from this month-day (birthdays: today's first,
    /// then the rest of the year, then from January).
    NextAnniversaryFrom(i64),
}

/// How many dates of a kind the windows of a `DueDatesQuery` hold, split at a day (credit
/// assessments expired before it, and valid from it on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueCount {
    pub kind: DateKind,
    pub before_day: bool,
    pub count: i64,
}

#[derive(Debug, Clone)]
pub struct DueDate {
    pub archive: ArchiveSummary,
    pub date: ArchiveDate,
}

/// An archive whose periodic review is due: the last review (or, never reviewed, the creation).
#[derive(Debug, Clone)]
pub struct ReviewDue {
    pub archive: ArchiveSummary,
    pub since: DateTime<Utc>,
}

/// A personal archive past its follow-up period (for the customer pool sweep).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowUpOverdue {
    pub id: ArchiveId,
    pub version: i64,
}

/// A change of one archive's document as part of a `Transfer`, based on `expected_version`.
#[derive(Debug, Clone)]
pub struct ArchiveChange {
    pub id: ArchiveId,
    pub expected_version: i64,
    pub data: ArchiveData,
    pub reason: Option<String>,
    pub audit: AuditEvent,
}

/// An open loan handed to another borrower when its borrower leaves: the loan is closed as
/// returned (by the handover) and a new loan to `to_user` records the same item and due date.
/// A loan itself never changes borrower (不得转借).
#[derive(Debug, Clone)]
pub struct LoanHandover {
    pub loan_id: i64,
    /// `None`: the loan only ends (an electronic loan: its grant was the leaver's own).
    pub to_user: Option<UserId>,
    pub note: String,
    pub return_audit: AuditEvent,
    pub lend_audit: AuditEvent,
}

/// One line of a handover list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HandoverItem {
    /// `archive` or `loan`.
    pub kind: String,
    /// The archive's or the loan's id.
    pub id: i64,
    pub archive_no: String,
    pub name: String,
    pub to_user: UserId,
    /// For a loan: the new loan's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_id: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HandoverRecord {
    pub id: i64,
    pub from_user: UserId,
    pub by_user: UserId,
    pub at: DateTime<Utc>,
    pub note: String,
    pub items: Vec<HandoverItem>,
}

/// Several changes in one transaction, all or nothing: documents (each a new version, with its
/// audit record), loans handed over, a user disabled and a handover recorded. Used by the pool
/// sweep, a claim from the pool and the handover when an employee leaves.
#[derive(Debug, Clone, Default)]
pub struct Transfer {
    pub changes: Vec<ArchiveChange>,
    pub loans: Vec<LoanHandover>,
    /// Disable this account (and end its sessions) in the same transaction.
    pub disable_user: Option<UserId>,
    /// Record a handover list (`from_user`, `by_user`, `at`, `note`; items are filled in).
    pub handover: Option<(UserId, UserId, DateTime<Utc>, String)>,
    /// Audit records of the whole change (besides each archive's and loan's own).
    pub audit: Vec<AuditEvent>,
}

#[derive(Debug, Clone, Default)]
pub struct TransferResult {
    /// The handover record's id, when one was recorded.
    pub handover_id: Option<i64>,
    /// New loan ids, in the order of `Transfer::loans` (`None` for a loan that only ended).
    pub new_loans: Vec<Option<i64>>,
}

/// Review cutoffs per grade: an archive last reviewed (or created) before its grade's cutoff is due.
pub type GradeCutoffs = Vec<(Option<Grade>, DateTime<Utc>)>;
/// Follow-up cutoffs per grade (dates: the last follow-up is a day).
pub type GradeDateCutoffs = Vec<(Option<Grade>, NaiveDate)>;

/// Adds the handover's id to an event's (JSON) detail.
pub(crate) fn with_handover_id(detail: &str, id: i64) -> String {
    let mut v: serde_json::Value = serde_json::from_str(detail).unwrap_or_else(|_| serde_json::json!({}));
    if let Some(m) = v.as_object_mut() {
        m.insert("handover_id".into(), id.into());
    }
    v.to_string()
}

