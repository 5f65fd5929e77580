//! Storage for Dangan: one narrow interface (`Store`) and one implementation per engine.
//!
//! - `sqlite::SqliteStore` — the embedded default: one file under the data dir, WAL, one writer
//!   connection and a pool of readers.
//! - `postgres::PgStore` — for deployments with several stateless servers.
//!
//! Both run the same contract tests (`tests/contract.rs`). Invariants every engine keeps:
//! - an archive number is allocated in the same transaction as the archive row, from a counter
//!   per number period, so numbers are unique, never reused and gapless per period;
//! - an update names the version it was based on and is refused (`StoreError::Conflict`) if the
//!   archive has moved on; nothing is written then;
//! - every version's full document is kept: the current one in `archives`, each replaced one
//!   copied to `archive_versions` in the same transaction as the update, so nothing is overwritten;
//! - timeline entries are append-only: a correction is a new row pointing at the one it supersedes.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use dangan_core::audit::{AuditEvent, AuditRecord};
use dangan_core::dedup::Reason;
use dangan_core::numbering::NumberScheme;
use dangan_core::policy::{Action, ApprovalStep, ListScope};
use dangan_core::{
    Archive, ArchiveData, ArchiveId, ArchiveStatus, ArchiveSummary, Attachment, Contact, ContactData, CustomerKind, Department, DeptId, EntryData, Grade, Role, Secrecy,
    Tier, TimelineEntry, User, UserId,
};
use serde::{Deserialize, Serialize};

pub mod checklists;
pub mod imports;
pub mod postgres;
pub mod retention;
pub mod sqlite;
mod sql;
pub mod testing;

pub mod lifecycle;
pub use checklists::NewMark;
pub use retention::{Consent, DestructionDecision, DestructionItem, DestructionOutcome, DestructionRequest, DueArchive, DueCursor, LegalHold, NewDestruction, NewPiplRequest, PiplClose, PiplRequest, RetentionInfo};
pub use imports::{ArrivingArchive, BatchCounts, Fingerprint, ImportCounts, ImportJob, ImportRow, ImportStatus, ImportedRow, NewImport};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// The record changed since the caller read it; `current` is its version now.
    #[error("version conflict: the record is at version {current}")]
    Conflict { current: i64 },
    /// A uniqueness rule was broken (e.g. a username that exists).
    #[error("already exists: {0}")]
    Duplicate(String),
    #[error("database error: {0}")]
    Db(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(f, msg) = &e {
            // Only uniqueness is a duplicate (as on PostgreSQL); NOT NULL / foreign key / CHECK
            // failures are database errors, not "already exists".
            if f.code == rusqlite::ErrorCode::ConstraintViolation
                && matches!(f.extended_code, rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
            {
                return StoreError::Duplicate(msg.clone().unwrap_or_else(|| e.to_string()));
            }
        }
        StoreError::Db(e.to_string())
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            if db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION {
                return StoreError::Duplicate(db.message().to_string());
            }
        }
        StoreError::Db(format!("{e:?}"))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Db(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Db(format!("stored document does not parse: {e}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// How to number a new archive: the scheme and the values of its tokens.
#[derive(Debug, Clone)]
pub struct Numbering {
    pub scheme: NumberScheme,
    pub dept_code: String,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ArchiveFilter {
    pub kind: Option<CustomerKind>,
    pub grade: Option<Grade>,
    pub credit_grade: Option<Grade>,
    pub blacklisted: Option<bool>,
    pub status: Option<ArchiveStatus>,
    pub industry: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub owner_id: Option<UserId>,
    pub dept_id: Option<DeptId>,
    pub tier: Option<Tier>,
    pub secrecy: Option<Secrecy>,
    /// Archive number prefix.
    pub number_prefix: Option<String>,
    /// Name fragment (a plain substring match until the search index lands).
    pub name_contains: Option<String>,
    pub updated_from: Option<DateTime<Utc>>,
    pub updated_to: Option<DateTime<Utc>>,
    /// Archives of any of these departments (a manager's subtree); empty = no such condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dept_ids: Vec<DeptId>,
    /// Only archives nobody is responsible for: the customer pool (公海).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unowned: bool,
    /// What the user may see (from the access policy); `None` only for system tasks.
    #[serde(skip)]
    pub scope: Option<ListScope>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Newest archives first (by id, which follows creation).
    #[default]
    CreatedDesc,
    CreatedAsc,
    /// Most recently changed first.
    UpdatedDesc,
    /// Longest unchanged first (stale archives).
    UpdatedAsc,
}

/// Position after the last row of a page. Opaque to clients (`encode`/`decode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub id: ArchiveId,
    /// Only for `UpdatedDesc`: the last row's updated_at in microseconds.
    pub updated_micros: Option<i64>,
}

impl Cursor {
    pub fn encode(&self) -> String {
        match self.updated_micros {
            Some(u) => format!("u{u}.{}", self.id),
            None => format!("i{}", self.id),
        }
    }
    pub fn decode(s: &str) -> Option<Cursor> {
        if let Some(rest) = s.strip_prefix('i') {
            return Some(Cursor { id: rest.parse().ok()?, updated_micros: None });
        }
        let rest = s.strip_prefix('u')?;
        let (u, id) = rest.split_once('.')?;
        Some(Cursor { id: id.parse().ok()?, updated_micros: Some(u.parse().ok()?) })
    }
    pub fn after(row: &ArchiveSummary, sort: SortOrder) -> Cursor {
        match sort {
            SortOrder::UpdatedDesc | SortOrder::UpdatedAsc => Cursor { id: row.id, updated_micros: Some(row.updated_at.timestamp_micros()) },
            _ => Cursor { id: row.id, updated_micros: None },
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ArchiveQuery {
    pub filter: ArchiveFilter,
    pub sort: SortOrder,
    pub after: Option<Cursor>,
    pub limit: u32,
}

/// What a search matches (see `dangan_core::search`).
#[derive(Debug, Clone, PartialEq)]
pub enum SearchMatch {
    /// The text index, with the query already rendered for this engine (`Store::render_search`).
    Text(String),
    /// Unified social credit code, exact.
    Uscc(String),
    /// The keyed hash of an ID number, exact.
    IdHash(String),
    /// Archive numbers starting so (through the `archive_no` index, whatever the scope).
    NumberPrefix(String),
    /// Filters only.
    All,
}

/// One page of a search: text (or an exact key) plus the list filters, in the access scope the
/// filter carries. Text results come most recent activity first (the index's sequence), archive
/// numbers in number order (descending), others newest first (by id); `after` is the last key
/// of the previous page.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub matcher: SearchMatch,
    pub filter: ArchiveFilter,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub after: Option<i64>,
    pub limit: u32,
}

/// A search result: the key it is ordered by, and the list row.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub key: i64,
    pub summary: ArchiveSummary,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: Option<String>,
    pub dept_id: Option<DeptId>,
    pub roles: Vec<Role>,
}

/// What login needs beyond the public user record.
#[derive(Debug, Clone)]
pub struct UserLogin {
    pub user: User,
    pub password_hash: Option<String>,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Browser session (cookie).
    Browser,
    /// Bearer token for scripts.
    ApiToken,
}

impl SessionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionKind::Browser => "browser",
            SessionKind::ApiToken => "api",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub archive_id: ArchiveId,
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// One archive with its parts, for bulk loading (demo data, benchmarks, imports).
#[derive(Debug, Clone)]
pub struct BulkArchive {
    pub data: ArchiveData,
    pub created_at: DateTime<Utc>,
    pub contacts: Vec<ContactData>,
    pub entries: Vec<EntryData>,
    /// The documents as JSON, rendered by `new` on the producer's thread so that the single
    /// writer only writes.
    pub(crate) json: BulkJson,
}

#[derive(Debug, Clone)]
pub(crate) struct BulkJson {
    pub data: String,
    pub contacts: Vec<String>,
    pub entries: Vec<String>,
    /// Search index terms (`dangan_core::search::archive_terms`).
    pub terms: String,
    /// Duplicate-check keys (`dangan_core::dedup::archive_keys`).
    pub keys: Vec<String>,
    /// Reminder dates (`dangan_core::lifecycle::archive_dates`) and the last follow-up.
    pub dates: Vec<dangan_core::lifecycle::ArchiveDate>,
    pub last_follow_up: Option<NaiveDate>,
}

impl BulkArchive {
    pub fn new(data: ArchiveData, created_at: DateTime<Utc>, contacts: Vec<ContactData>, entries: Vec<EntryData>) -> Result<Self> {
        let json = BulkJson {
            data: serde_json::to_string(&data)?,
            contacts: contacts.iter().map(serde_json::to_string).collect::<Result<_, _>>()?,
            entries: entries.iter().map(serde_json::to_string).collect::<Result<_, _>>()?,
            terms: dangan_core::search::archive_terms(&data, &contacts),
            keys: dangan_core::dedup::archive_keys(&data, data.person.as_ref().and_then(|p| p.id_number_index.as_deref()), &contacts),
            dates: {
                let refs: Vec<&EntryData> = entries.iter().collect();
                dangan_core::lifecycle::archive_dates(&data, &contacts, &refs)
            },
            last_follow_up: dangan_core::lifecycle::last_follow_up(&entries.iter().collect::<Vec<_>>()),
        };
        Ok(BulkArchive { data, created_at, contacts, entries, json })
    }

    /// The duplicate-check keys the store will keep for this archive.
    pub fn keys(&self) -> &[String] {
        &self.json.keys
    }
}

/// A stored archive that shares duplicate-check keys (`dangan_core::dedup`) with what was asked
/// about: its list row (for the access scope and the display), why, and how sure.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateCandidate {
    pub archive: ArchiveSummary,
    /// Strongest first.
    pub reasons: Vec<Reason>,
    /// 0–100 (`dangan_core::dedup::score`).
    pub score: u8,
}

/// Two stored archives that share keys (the duplicate scan); `left.id < right.id`.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicatePair {
    pub left: ArchiveSummary,
    pub right: ArchiveSummary,
    pub reasons: Vec<Reason>,
    pub score: u8,
    /// Position of this pair in the scan's order (pass the last one back as `after`).
    #[serde(skip)]
    pub cursor: PairCursor,
}

/// Keyset position in the duplicate scan: (raw score, left id, right id), highest score first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairCursor {
    pub score: i64,
    pub left: ArchiveId,
    pub right: ArchiveId,
}

impl PairCursor {
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.score, self.left, self.right)
    }
    pub fn decode(s: &str) -> Option<PairCursor> {
        let mut it = s.split('.');
        let c = PairCursor { score: it.next()?.parse().ok()?, left: it.next()?.parse().ok()?, right: it.next()?.parse().ok()? };
        it.next().is_none().then_some(c)
    }
}

/// Keys shared by more archives than this say nothing (张伟 in 北京): the lookups return at most
/// this many archives per key and the scan skips such keys.
pub const DEDUP_MAX_GROUP: i64 = 20;

/// The `derived_state` marker of a search index built with this version's terms
/// (`dangan_core::search::archive_terms`; `_f` filter facets since this marker). `migrate`
/// rebuilds an index without it, since the application's queries rely on the terms it names.
pub(crate) const SEARCH_TERMS_STATE: &str = "search_terms_facets";

/// Merging `merged_id` into `survivor_id` (查重合并), both at the versions the caller read;
/// `data` is the survivor's next document (already merged and sealed by the caller).
#[derive(Debug, Clone)]
pub struct MergeRequest {
    pub survivor_id: ArchiveId,
    pub survivor_version: i64,
    pub merged_id: ArchiveId,
    pub merged_version: i64,
    pub data: ArchiveData,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MergeOutcome {
    /// The survivor at its new version.
    pub archive: Archive,
    pub merged_no: String,
    pub moved_contacts: u64,
    pub moved_entries: u64,
    pub moved_attachments: u64,
}

/// A contact, timeline entry or attachment that a merge moved onto this archive, and the
/// archive it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MovedPart {
    /// `contact`, `entry` or `attachment`.
    pub kind: &'static str,
    pub id: i64,
    pub origin_archive_id: ArchiveId,
}

/// For each probe (the keys of one would-be archive), the stored archives sharing keys with it,
/// strongest first, from `(matched key, archive)` rows.
pub(crate) fn candidates_for(probes: &[Vec<String>], hits: Vec<(String, ArchiveSummary)>) -> Vec<Vec<DuplicateCandidate>> {
    let mut by_key: std::collections::HashMap<String, Vec<usize>> = std::collections::HashMap::new();
    let mut summaries: Vec<ArchiveSummary> = Vec::new();
    let mut index: std::collections::HashMap<ArchiveId, usize> = std::collections::HashMap::new();
    for (key, s) in hits {
        let i = *index.entry(s.id).or_insert_with(|| {
            summaries.push(s);
            summaries.len() - 1
        });
        by_key.entry(key).or_default().push(i);
    }
    probes
        .iter()
        .map(|keys| {
            let mut found: std::collections::BTreeMap<usize, Vec<&str>> = std::collections::BTreeMap::new();
            for k in keys {
                for &i in by_key.get(k).map(Vec::as_slice).unwrap_or_default() {
                    found.entry(i).or_default().push(k);
                }
            }
            let mut out: Vec<DuplicateCandidate> = found
                .into_iter()
                .map(|(i, ks)| {
                    let reasons = dangan_core::dedup::reasons_of(ks);
                    DuplicateCandidate { archive: summaries[i].clone(), score: dangan_core::dedup::score(&reasons), reasons }
                })
                .collect();
            out.sort_by(|a, b| b.score.cmp(&a.score).then(b.archive.id.cmp(&a.archive.id)));
            out
        })
        .collect()
}

/// The distinct keys of many probes.
pub(crate) fn distinct_keys(probes: &[Vec<String>]) -> Vec<String> {
    let set: std::collections::BTreeSet<&String> = probes.iter().flatten().collect();
    set.into_iter().cloned().collect()
}

/// The pairs of a scan page, with both sides' rows and the reasons (keys both hold).
pub(crate) fn pairs_from(raw: Vec<(i64, ArchiveId, ArchiveId)>, summaries: Vec<ArchiveSummary>, keys: Vec<(ArchiveId, String)>) -> Vec<DuplicatePair> {
    let rows: std::collections::HashMap<ArchiveId, ArchiveSummary> = summaries.into_iter().map(|s| (s.id, s)).collect();
    let mut held: std::collections::HashMap<ArchiveId, std::collections::BTreeSet<String>> = std::collections::HashMap::new();
    for (id, k) in keys {
        held.entry(id).or_default().insert(k);
    }
    let empty = std::collections::BTreeSet::new();
    raw.into_iter()
        .filter_map(|(score, l, r)| {
            let (lk, rk) = (held.get(&l).unwrap_or(&empty), held.get(&r).unwrap_or(&empty));
            let reasons = dangan_core::dedup::reasons_of(lk.intersection(rk).map(String::as_str));
            Some(DuplicatePair {
                left: rows.get(&l)?.clone(),
                right: rows.get(&r)?.clone(),
                reasons,
                score: score.clamp(0, 100) as u8,
                cursor: PairCursor { score, left: l, right: r },
            })
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
    Cancelled,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Approved => "approved",
            RequestStatus::Rejected => "rejected",
            RequestStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [RequestStatus::Pending, RequestStatus::Approved, RequestStatus::Rejected, RequestStatus::Cancelled].into_iter().find(|x| x.as_str() == s)
    }
}

/// A request to view an archive (查阅申请) and where it stands in its approval chain.
#[derive(Debug, Clone, Serialize)]
pub struct AccessRequest {
    pub id: i64,
    pub archive_id: ArchiveId,
    pub requester_id: UserId,
    /// 查阅用途
    pub purpose: String,
    /// The archive sections asked for (基本信息, 联系人, …); empty for all.
    pub sections: Vec<String>,
    pub actions: Vec<Action>,
    /// How long the grant should last, in hours.
    pub hours: i64,
    pub chain: Vec<ApprovalStep>,
    /// Index into `chain` of the step waiting for a decision.
    pub step: i64,
    pub status: RequestStatus,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewAccessRequest {
    pub archive_id: ArchiveId,
    pub requester_id: UserId,
    pub purpose: String,
    pub sections: Vec<String>,
    pub actions: Vec<Action>,
    pub hours: i64,
    pub chain: Vec<ApprovalStep>,
}

#[derive(Debug, Clone, Default)]
pub struct RequestQuery {
    pub requester_id: Option<UserId>,
    pub archive_id: Option<ArchiveId>,
    pub status: Option<RequestStatus>,
    pub limit: u32,
}

/// One approver's decision on one step.
#[derive(Debug, Clone, Serialize)]
pub struct ApprovalRecord {
    pub request_id: i64,
    pub step: i64,
    pub step_kind: ApprovalStep,
    pub approver_id: UserId,
    pub approved: bool,
    pub comment: String,
    pub decided_at: DateTime<Utc>,
}

/// A time-limited permission of one user on one archive (never transferable).
#[derive(Debug, Clone, Serialize)]
pub struct Grant {
    pub id: i64,
    pub user_id: UserId,
    pub archive_id: ArchiveId,
    pub actions: Vec<Action>,
    pub request_id: Option<i64>,
    pub granted_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub(crate) fn actions_text(actions: &[Action]) -> String {
    actions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",")
}

pub(crate) fn parse_actions(s: &str) -> Vec<Action> {
    s.split(',').filter_map(Action::parse).collect()
}

pub(crate) fn chain_text(chain: &[ApprovalStep]) -> String {
    chain.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(",")
}

pub(crate) fn parse_chain(s: &str) -> Vec<ApprovalStep> {
    s.split(',').filter_map(ApprovalStep::parse).collect()
}

pub(crate) fn split_list(s: &str) -> Vec<String> {
    s.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect()
}

/// What a decision does to a request: the next state, and the grant to create if it was the last approval.
pub(crate) fn next_state(req: &AccessRequest, approved: bool) -> (RequestStatus, i64, bool) {
    if !approved {
        (RequestStatus::Rejected, req.step, false)
    } else if req.step + 1 >= req.chain.len() as i64 {
        (RequestStatus::Approved, req.step, true)
    } else {
        (RequestStatus::Pending, req.step + 1, false)
    }
}

/// What is lent: the paper original (原件) or electronic access (an approved grant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoanKind {
    Paper,
    Electronic,
}

impl LoanKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LoanKind::Paper => "paper",
            LoanKind::Electronic => "electronic",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [LoanKind::Paper, LoanKind::Electronic].into_iter().find(|x| x.as_str() == s)
    }
}

/// One line of the borrowing register (借阅登记). The borrower is fixed at lending: a loan is
/// never transferred to another person (不得转借).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loan {
    pub id: i64,
    pub archive_id: ArchiveId,
    pub borrower_id: UserId,
    pub kind: LoanKind,
    /// 借阅用途
    pub purpose: String,
    /// The archivist who recorded the loan.
    pub lent_by: UserId,
    pub lent_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub returned_at: Option<DateTime<Utc>>,
    /// Checked back complete (完好归还) or not; `None` while open.
    pub returned_complete: Option<bool>,
    /// The archivist who checked it back.
    pub checked_by: Option<UserId>,
    pub return_note: String,
    /// For an electronic loan, the grant (from an approved request) it records.
    pub grant_id: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewLoan {
    pub archive_id: ArchiveId,
    pub borrower_id: UserId,
    pub kind: LoanKind,
    pub purpose: String,
    pub lent_by: UserId,
    pub due_at: DateTime<Utc>,
    pub grant_id: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct LoanQuery {
    pub borrower_id: Option<UserId>,
    /// Only loans not yet returned.
    pub open_only: bool,
    /// Only open loans due before this instant (overdue then).
    pub overdue_at: Option<DateTime<Utc>>,
    pub limit: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionRecord {
    pub archive_id: ArchiveId,
    pub version: i64,
    pub data: ArchiveData,
    pub changed_by: UserId,
    pub changed_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// The storage interface. Kept narrow: application services compose these calls; each call is
/// one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn engine(&self) -> Engine;

    /// Applies pending migrations. Safe to call from several servers at once.
    async fn migrate(&self) -> Result<()>;
    async fn ping(&self) -> Result<()>;

    // --- identity ---
    async fn create_department(&self, name: &str, code: &str, parent_id: Option<DeptId>, audit: &AuditEvent) -> Result<Department>;
    async fn list_departments(&self) -> Result<Vec<Department>>;
    async fn create_user(&self, user: &NewUser, audit: &AuditEvent) -> Result<User>;
    async fn get_user(&self, id: UserId) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    async fn count_users(&self) -> Result<i64>;
    async fn find_login(&self, username: &str) -> Result<Option<UserLogin>>;
    /// Records a login attempt: success clears the failure count, failure increments it and may lock.
    async fn record_login(&self, user_id: UserId, success: bool, locked_until: Option<DateTime<Utc>>) -> Result<()>;
    async fn set_password(&self, user_id: UserId, password_hash: &str, audit: &AuditEvent) -> Result<()>;
    /// Changes a user's name, department, roles and whether the account is active.
    async fn update_user(&self, user_id: UserId, u: &UserUpdate, audit: &AuditEvent) -> Result<User>;
    async fn create_session(&self, token_hash: &str, user_id: UserId, kind: SessionKind, name: Option<&str>, now: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) -> Result<()>;
    /// The active user behind an unexpired session or token.
    async fn session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;

    // --- archives ---
    async fn create_archive(&self, data: &ArchiveData, numbering: &Numbering, audit: &AuditEvent) -> Result<Archive>;
    async fn get_archive(&self, id: ArchiveId) -> Result<Option<Archive>>;
    async fn get_archive_by_no(&self, archive_no: &str) -> Result<Option<Archive>>;
    /// Writes `data` as version `expected_version + 1`, or refuses with `Conflict`.
    async fn update_archive(&self, id: ArchiveId, expected_version: i64, data: &ArchiveData, reason: Option<&str>, audit: &AuditEvent) -> Result<Archive>;
    /// One page (at most `limit` rows) in the query's order after its cursor.
    async fn list_archives(&self, query: &ArchiveQuery) -> Result<Vec<ArchiveSummary>>;
    async fn count_archives(&self, filter: &ArchiveFilter) -> Result<i64>;
    /// `count_archives`, stopping at `cap`: how big a book is, without walking all of a large one.
    async fn count_archives_upto(&self, filter: &ArchiveFilter, cap: i64) -> Result<i64>;
    async fn list_versions(&self, id: ArchiveId) -> Result<Vec<VersionRecord>>;

    // --- parts of an archive ---
    async fn add_contact(&self, archive_id: ArchiveId, contact: &ContactData, audit: &AuditEvent) -> Result<Contact>;
    async fn update_contact(&self, archive_id: ArchiveId, contact_id: i64, contact: &ContactData, audit: &AuditEvent) -> Result<Contact>;
    async fn list_contacts(&self, archive_id: ArchiveId) -> Result<Vec<Contact>>;
    /// Appends an entry; with `supersedes`, the old entry must belong to the same archive.
    async fn add_entry(&self, archive_id: ArchiveId, entry: &EntryData, audit: &AuditEvent) -> Result<TimelineEntry>;
    /// Newest first (by occurred_on, then id).
    async fn list_entries(&self, archive_id: ArchiveId) -> Result<Vec<TimelineEntry>>;
    async fn add_attachment(&self, att: &NewAttachment, audit: &AuditEvent) -> Result<Attachment>;
    async fn list_attachments(&self, archive_id: ArchiveId) -> Result<Vec<Attachment>>;
    async fn get_attachment(&self, id: i64) -> Result<Option<Attachment>>;

    // --- access control ---
    async fn create_access_request(&self, r: &NewAccessRequest, audit: &AuditEvent) -> Result<AccessRequest>;
    async fn get_access_request(&self, id: i64) -> Result<Option<AccessRequest>>;
    /// Newest first.
    async fn list_access_requests(&self, q: &RequestQuery) -> Result<Vec<AccessRequest>>;
    async fn list_decisions(&self, request_id: i64) -> Result<Vec<ApprovalRecord>>;
    /// Records a decision on the request's current step, in one transaction with what follows
    /// from it: the next step, a rejection, or — after the last approval — the grant, which
    /// expires at `grant_expires_at`. Refused with `Conflict` when the request is no longer
    /// pending at `step` (someone else decided first).
    async fn decide_access_request(
        &self,
        request_id: i64,
        step: i64,
        approver_id: UserId,
        approved: bool,
        comment: &str,
        grant_expires_at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<AccessRequest>;
    async fn cancel_access_request(&self, request_id: i64, requester_id: UserId, audit: &AuditEvent) -> Result<AccessRequest>;
    /// Unexpired, unrevoked grants of a user (on one archive, or on all).
    async fn active_grants(&self, user_id: UserId, archive_id: Option<ArchiveId>, now: DateTime<Utc>) -> Result<Vec<Grant>>;

    // --- borrowing register (借阅登记) ---
    async fn create_loan(&self, l: &NewLoan, audit: &AuditEvent) -> Result<Loan>;
    /// Checks a loan back in; refused with `Conflict` when it was already returned.
    async fn return_loan(&self, id: i64, complete: bool, note: &str, audit: &AuditEvent) -> Result<Loan>;
    /// Soonest due first, then by id.
    async fn list_loans(&self, q: &LoanQuery) -> Result<Vec<Loan>>;
    async fn get_loan(&self, id: i64) -> Result<Option<Loan>>;

    // --- search (the index is written in the same transaction as the archive and contacts) ---
    /// The text index's query syntax for this engine.
    fn render_search(&self, expr: &dangan_core::search::Expr) -> String {
        match self.engine() {
            Engine::Sqlite => expr.fts5(),
            Engine::Postgres => expr.tsquery(),
        }
    }
    async fn search(&self, req: &SearchRequest) -> Result<Vec<SearchHit>>;
    /// How many archives the search finds, counting no further than `cap`.
    async fn count_search(&self, req: &SearchRequest, cap: i64) -> Result<i64>;
    /// Rebuilds the search index from the archives and contacts; returns archives indexed.
    async fn reindex(&self) -> Result<u64>;
    /// Bytes the search index takes on disk.
    async fn search_index_bytes(&self) -> Result<i64>;

    // --- duplicate check (查重; keys written in the same transaction as archives and contacts) ---
    /// The stored archives (tombstones excluded) sharing at least one key with `keys`
    /// (`dangan_core::dedup::archive_keys`), strongest first, without `exclude` (the archive
    /// being edited). Index-driven; at most `DEDUP_MAX_GROUP` archives per key. No access
    /// scope: the caller filters (`App::check_duplicates`).
    async fn duplicate_candidates(&self, keys: &[String], exclude: Option<ArchiveId>) -> Result<Vec<DuplicateCandidate>> {
        let mut out = self.duplicate_candidates_batch(&[keys.to_vec()]).await?.pop().unwrap_or_default();
        out.retain(|c| Some(c.archive.id) != exclude);
        Ok(out)
    }
    /// `duplicate_candidates` for many probes at once (e.g. one import batch), in one query:
    /// the answer has one list per probe, in the probes' order.
    async fn duplicate_candidates_batch(&self, probes: &[Vec<String>]) -> Result<Vec<Vec<DuplicateCandidate>>>;
    /// The duplicate scan: pairs of archives sharing keys (keys held by more than
    /// `DEDUP_MAX_GROUP` archives skipped), highest score first, after `after`.
    async fn duplicate_pairs(&self, after: Option<PairCursor>, limit: u32) -> Result<Vec<DuplicatePair>>;
    /// An archive's stored keys, sorted.
    async fn dedup_keys(&self, archive_id: ArchiveId) -> Result<Vec<String>>;
    /// Merges one archive into another in one transaction: the survivor gets `data` as its next
    /// version (reason recorded); the merged one becomes a tombstone (`merged_into`); its
    /// contacts, timeline entries and attachments move to the survivor, each recording where it
    /// came from; search and duplicate keys follow; `audit` (with the counts added to its detail)
    /// is appended. Stale versions, or an archive already merged, are refused with `Conflict`.
    async fn merge_archives(&self, m: &MergeRequest, audit: &AuditEvent) -> Result<MergeOutcome>;
    /// What merges moved onto this archive, and from where.
    async fn moved_parts(&self, archive_id: ArchiveId) -> Result<Vec<MovedPart>>;

    // --- bulk ---
    /// Loads many archives in one transaction, numbering each by its creation date.
    /// One audit record per batch (count and number range).
    async fn bulk_load(&self, batch: Vec<BulkArchive>, scheme: &NumberScheme, dept_code: &str, audit: &AuditEvent) -> Result<usize>;
    /// Called once before a series of `bulk_load`s (an engine may prepare, e.g. defer indexes
    /// while the archive table is empty).
    async fn begin_bulk_load(&self) -> Result<()> {
        Ok(())
    }
    /// Called before a large import's first batch: whether the archive table is empty (then the
    /// import's duplicate lookups could find only its own earlier rows, which the importer's
    /// in-file key map finds). An engine may also defer index upkeep while it is empty (SQLite:
    /// the archive, contact, timeline, duplicate-key and date indexes, rebuilt by `end_bulk_load`,
    /// or by `migrate` after a crash). Writes stay as durable as ever.
    async fn begin_bulk_import(&self) -> Result<bool>;
    /// Merges the text index after a load of the whole base (the demo load; `reindex` does it
    /// itself): SQLite's FTS5 index is left in many segments, and a query that ANDs frequent
    /// terms seeks through each. Not after imports: on a large base it rewrites the whole index
    /// (FTS5's automatic merges keep it in shape). PostgreSQL's GIN index has no segments.
    async fn compact_search_index(&self) -> Result<()> {
        Ok(())
    }
    /// Called once after the last `bulk_load` of a series, to return resources it kept and bring
    /// the planner's statistics (PostgreSQL: and the visibility map) up to date.
    async fn end_bulk_load(&self) -> Result<()> {
        Ok(())
    }

    // --- imports (导入) ---
    /// Records an imported file (dry run or run). The audit event is appended with it.
    async fn create_import(&self, job: &NewImport, audit: &AuditEvent) -> Result<ImportJob>;
    async fn get_import(&self, id: i64) -> Result<Option<ImportJob>>;
    /// Newest first; `user_id` limits to one user's imports.
    async fn list_imports(&self, user_id: Option<UserId>, limit: u32) -> Result<Vec<ImportJob>>;
    /// Sets status, totals and message (progress between batches; no audit record).
    async fn set_import_status(&self, id: i64, status: ImportStatus, counts: Option<ImportCounts>, message: &str, now: DateTime<Utc>) -> Result<ImportJob>;
    /// Ends an import: final status and counts, and its audit record, in one transaction.
    async fn finish_import(&self, id: i64, status: ImportStatus, message: &str, audit: &AuditEvent) -> Result<ImportJob>;
    /// Asks a running import to stop after its current batch (any server may be running it).
    async fn request_import_cancel(&self, id: i64) -> Result<bool>;
    /// Which of these fingerprints were imported before, by an import other than `except_import`
    /// (a run asking about its own file: its own earlier rows are not "imported before").
    async fn imported_fingerprints(&self, fingerprints: Vec<Fingerprint>, except_import: Option<i64>) -> Result<Vec<Fingerprint>>;
    /// Creates the archives of one batch of an import, numbered like `bulk_load`, records each
    /// row's fingerprint and adds the batch to the job's counters, all in one transaction. Rows
    /// whose fingerprint is already recorded are skipped (counted as skipped), so running an
    /// import twice creates nothing twice. One audit record per batch.
    async fn import_batch(&self, import_id: i64, rows: Vec<ImportRow>, counts: BatchCounts, scheme: &NumberScheme, dept_code: &str, audit: &AuditEvent) -> Result<Vec<ImportedRow>>;
    /// Stores an archive from a package with its number, contacts, timeline and attachment
    /// records in one transaction (`Duplicate` when the number is taken here).
    async fn restore_archive(&self, a: &ArrivingArchive, audit: &AuditEvent) -> Result<Archive>;

    // --- audit trail (审计日志) ---
    /// Appends events to the chain in one transaction (reads are audited in batches this way;
    /// changes pass their event to the write method, which appends it in its own transaction).
    async fn append_audit(&self, events: Vec<AuditEvent>) -> Result<()>;
    /// Newest first, filtered, paged by `before_seq`.
    async fn list_audit(&self, q: &AuditQuery) -> Result<Vec<AuditRecord>>;
    /// The chain in order from `from_seq`, for verification.
    async fn audit_chain(&self, from_seq: i64, limit: u32) -> Result<Vec<AuditRecord>>;
    /// The last record, if any.
    async fn audit_head(&self) -> Result<Option<AuditRecord>>;
    /// Marks grants that expired by `now` and records each expiry in the trail (once).
    async fn sweep_expired_grants(&self, now: DateTime<Utc>) -> Result<Vec<Grant>>;

    // --- backups ---
    /// Writes a consistent copy of the whole database to `dest` while writers go on — SQLite: a
    /// database file (`method`: page copy by the online backup API, or `VACUUM INTO`);
    /// PostgreSQL: a `pg_dump` custom-format archive — and returns what that copy holds (the
    /// attachment files it references, counts, the audit head), read from the same snapshot.
    async fn snapshot(&self, dest: &std::path::Path, method: SnapshotMethod) -> Result<Snapshot>;
    /// Takes the lock of a job that only one server may run at a time (PostgreSQL: a session
    /// advisory lock, held until the returned guard is dropped). `None` when another holds it.
    async fn try_job_lock(&self, key: i64) -> Result<Option<JobLock>>;
    // --- keeping archives alive (动态管理: reminders, reviews, the pool, handovers) ---
    /// Indexed archive dates in the query's windows, within the filter (and its scope), ordered
    /// by date; at most `limit`.
    async fn due_dates(&self, q: &lifecycle::DueDatesQuery) -> Result<Vec<lifecycle::DueDate>>;
    /// How many dates `due_dates` would return without a limit, per kind and whether before `day`.
    async fn count_due_dates(&self, q: &lifecycle::DueDatesQuery, day: NaiveDate) -> Result<Vec<lifecycle::DueCount>>;
    /// Archives in the filter whose last review (or creation) is before their grade's cutoff,
    /// soonest due first (last review − the grade's cutoff). `large_book`: the filter admits a
    /// good share of the base, so walk each grade in review order and test the filter on the way
    /// (a page reads about its rows ÷ that share) instead of the filter's archives and a sort.
    async fn review_due(&self, filter: &ArchiveFilter, cutoffs: &lifecycle::GradeCutoffs, limit: u32, large_book: bool) -> Result<Vec<lifecycle::ReviewDue>>;
    /// How many archives `review_due` would return without a limit; at most `cap` when given.
    async fn count_review_due(&self, filter: &ArchiveFilter, cutoffs: &lifecycle::GradeCutoffs, cap: Option<i64>) -> Result<i64>;
    /// Records a periodic review (定期审查) of an archive.
    async fn mark_reviewed(&self, id: ArchiveId, audit: &AuditEvent) -> Result<()>;
    /// Personal archives with an owner, open (not closed, lost or merged), whose last follow-up
    /// (or, without one, creation day) is before their grade's cutoff: the pool sweep's work.
    async fn follow_up_overdue(&self, cutoffs: &lifecycle::GradeDateCutoffs, limit: u32) -> Result<Vec<lifecycle::FollowUpOverdue>>;
    /// Applies several changes in one transaction (see `Transfer`); a stale version fails it all
    /// with `Conflict`.
    async fn transfer(&self, t: &lifecycle::Transfer) -> Result<lifecycle::TransferResult>;
    async fn get_handover(&self, id: i64) -> Result<Option<lifecycle::HandoverRecord>>;
    async fn list_handovers(&self, limit: u32) -> Result<Vec<lifecycle::HandoverRecord>>;
    /// Sets (replacing any earlier) the SHA-256 of a user's calendar-feed token.
    async fn set_calendar_token(&self, user_id: UserId, token_hash: &str, audit: &AuditEvent) -> Result<()>;
    /// The active user a calendar-feed token belongs to.
    async fn calendar_user(&self, token_hash: &str) -> Result<Option<User>>;
    async fn has_calendar_token(&self, user_id: UserId) -> Result<bool>;
    // --- retention, destruction, personal-information requests (保管期限、销毁、个人信息) ---
    /// An archive's closing date, disposal due date, legal hold and destruction.
    async fn retention_info(&self, archive_id: ArchiveId) -> Result<RetentionInfo>;
    /// Archives due for disposal on `today` (closed, past their retention, not permanent, not
    /// held, not destroyed or merged), earliest due first, after `after`.
    async fn disposal_due(&self, today: NaiveDate, after: Option<DueCursor>, limit: u32) -> Result<Vec<DueArchive>>;
    /// Sets (`Some(reason)`) or clears a legal hold; `audit` appended in the same transaction.
    async fn set_legal_hold(&self, archive_id: ArchiveId, reason: Option<&str>, audit: &AuditEvent) -> Result<RetentionInfo>;
    /// Records the day a closed archive was actually closed (结档日期, e.g. a paper file closed
    /// before it was entered) and recomputes its due date; `Conflict` unless closed and not
    /// destroyed.
    async fn set_closed_on(&self, archive_id: ArchiveId, closed_at: DateTime<Utc>, audit: &AuditEvent) -> Result<RetentionInfo>;
    /// Files a destruction request for archives that exist, are not destroyed, merged, held or
    /// in another open request (`Conflict` otherwise); a deletion request it carries out moves to
    /// `deleting`.
    async fn create_destruction(&self, r: &NewDestruction, audit: &AuditEvent) -> Result<DestructionRequest>;
    async fn get_destruction(&self, id: i64) -> Result<Option<DestructionRequest>>;
    /// Newest first; `status` filters.
    async fn list_destructions(&self, status: Option<dangan_core::retention::DestructionStatus>, limit: u32) -> Result<Vec<DestructionRequest>>;
    /// Records the decision on step `step` and what follows (`dangan_core::retention::transition`);
    /// `Conflict` when the request is no longer pending at that step.
    async fn decide_destruction(&self, id: i64, step: i64, approver_id: UserId, approved: bool, comment: &str, audit: &AuditEvent) -> Result<DestructionRequest>;
    /// Withdraws an open request (a deletion request it carried goes back to open).
    async fn cancel_destruction(&self, id: i64, audit: &AuditEvent) -> Result<DestructionRequest>;
    /// The witness's confirmation carries the destruction out, in one transaction: for every
    /// archive (and tombstones merged into it) the document, versions, contacts, timeline,
    /// attachment rows, search index rows, duplicate keys and consents are deleted; the archives
    /// row stays as a tombstone (number, dates, `destruction_id`) with name, phone, credit code and
    /// ID hash blanked; the register number is assigned; `audit` (destruction.execute) and one
    /// `archive.destroy` per archive are appended. `Conflict` unless approved, named witness, and
    /// no archive held or already destroyed. Returns attachment files no row references any more.
    async fn execute_destruction(&self, id: i64, witness_id: UserId, audit: &AuditEvent) -> Result<DestructionOutcome>;
    /// Does any attachment row reference this content?
    async fn attachment_referenced(&self, sha256: &str) -> Result<bool>;
    async fn add_consent(&self, archive_id: ArchiveId, c: &dangan_core::retention::ConsentData, recorded_by: UserId, audit: &AuditEvent) -> Result<Consent>;
    /// Marks a consent withdrawn on `on`; `Conflict` when it already was.
    async fn withdraw_consent(&self, id: i64, on: NaiveDate, by: UserId, audit: &AuditEvent) -> Result<Consent>;
    async fn list_consents(&self, archive_id: ArchiveId) -> Result<Vec<Consent>>;
    async fn get_consent(&self, id: i64) -> Result<Option<Consent>>;
    async fn create_pipl_request(&self, r: &NewPiplRequest, audit: &AuditEvent) -> Result<PiplRequest>;
    async fn get_pipl_request(&self, id: i64) -> Result<Option<PiplRequest>>;
    /// Soonest due first; `open_only` for open and deleting ones.
    async fn list_pipl_requests(&self, open_only: bool, archive_id: Option<ArchiveId>, limit: u32) -> Result<Vec<PiplRequest>>;
    /// Closes an open request (done, or kept with a legal basis); `Conflict` when not open.
    async fn close_pipl_request(&self, id: i64, close: &PiplClose, audit: &AuditEvent) -> Result<PiplRequest>;

    // --- policy settings (策略设置) ---
    /// The stored settings document and its version; `None` until the first change (defaults).
    async fn policy_settings(&self) -> Result<Option<StoredPolicy>>;
    /// The settings' version alone (0 when none stored): a primary-key lookup, cheap enough
    /// for servers to check often.
    async fn policy_version(&self) -> Result<i64>;
    /// Replaces the settings if their version is still `expected_version` (0: none stored yet)
    /// and appends `audit` in the same transaction; returns the new version. A stale version is
    /// refused with `Conflict` and nothing is written.
    async fn put_policy_settings(&self, expected_version: i64, data: &str, updated_by: UserId, audit: &AuditEvent) -> Result<i64>;
    // --- document checklists (材料清单, checklists.rs) ---
    /// The stored checklist settings (checklists, deadline, holiday calendar); `None`: defaults.
    async fn checklist_settings(&self) -> Result<Option<StoredPolicy>>;
    /// As `put_policy_settings`, for the checklist settings.
    async fn put_checklist_settings(&self, expected_version: i64, data: &str, updated_by: UserId, audit: &AuditEvent) -> Result<i64>;
    /// Appends a mark and its audit record (given the archive's number) in one transaction.
    async fn add_checklist_mark(&self, m: &NewMark, audit: &AuditEvent) -> Result<dangan_core::checklist::Mark>;
    /// The marks of these archives, in the order they were made.
    async fn checklist_marks(&self, archive_ids: &[ArchiveId]) -> Result<Vec<dangan_core::checklist::Mark>>;
    /// Archives created at or after `since` within `scope` (None: all), newest first.
    async fn checklist_archives(&self, scope: Option<&ListScope>, since: DateTime<Utc>, limit: u32) -> Result<Vec<Archive>>;
}

/// The policy settings as stored: the JSON document, its version, who changed it and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPolicy {
    pub version: i64,
    pub data: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<UserId>,
}

/// How SQLite copies itself for a backup (PostgreSQL always uses `pg_dump`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotMethod {
    /// The online backup API in one step: a page copy inside one read transaction (WAL: writers
    /// are not blocked).
    #[default]
    BackupApi,
    /// `VACUUM INTO`: a compacted copy, rebuilt row by row (slower, smaller).
    VacuumInto,
}

/// What a database snapshot holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// SHA-256 of every attachment file the snapshot references (sorted, distinct).
    pub attachments: Vec<String>,
    pub stats: SnapshotStats,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotStats {
    pub archives: i64,
    pub versions: i64,
    pub contacts: i64,
    pub entries: i64,
    pub attachments: i64,
    pub users: i64,
    pub audit_head_seq: i64,
    pub audit_head_hash: String,
}

/// The counts a snapshot reports, one query shared by both engines.
pub(crate) const SNAPSHOT_STATS_SQL: &str = "SELECT (SELECT COUNT(*) FROM archives), (SELECT COUNT(*) FROM archive_versions), (SELECT COUNT(*) FROM contacts), \
     (SELECT COUNT(*) FROM timeline_entries), (SELECT COUNT(*) FROM attachments), (SELECT COUNT(*) FROM users), \
     COALESCE((SELECT MAX(seq) FROM audit_log), 0), COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), '')";

/// A job lock. `release` gives it back at once; dropped without it, it is released when its
/// connection closes.
pub struct JobLock {
    release: Option<futures::future::BoxFuture<'static, ()>>,
}

impl JobLock {
    /// A lock with nothing to release (an engine where one process owns the database).
    pub fn local() -> Self {
        JobLock { release: None }
    }
    pub(crate) fn with_release(f: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        JobLock { release: Some(Box::pin(f)) }
    }
    pub async fn release(mut self) {
        if let Some(f) = self.release.take() {
            f.await
        }
    }
}


/// What an administrator changes about a user.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserUpdate {
    pub display_name: String,
    pub dept_id: Option<DeptId>,
    pub roles: Vec<Role>,
    pub active: bool,
}

/// Filters for the audit viewer. All optional; `limit` is clamped by callers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditQuery {
    pub user_id: Option<UserId>,
    pub archive_id: Option<ArchiveId>,
    /// Action code, e.g. `archive.read`.
    pub action: Option<String>,
    /// `allowed`, `denied`, `needs_approval`, `failed`.
    pub outcome: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Keyset: records with a smaller number than this.
    pub before_seq: Option<i64>,
    #[serde(default)]
    pub limit: u32,
}

pub(crate) fn user_change_detail(before: &User, after: &User) -> serde_json::Value {
    let side = |u: &User| serde_json::json!({ "display_name": u.display_name, "dept_id": u.dept_id, "roles": roles_text(&u.roles), "active": u.active });
    serde_json::json!({ "target_user_id": after.id, "username": after.username, "before": side(before), "after": side(after) })
}

pub(crate) fn import_detail(j: &ImportJob) -> serde_json::Value {
    serde_json::json!({ "import_id": j.id, "file": j.file_name, "sha256": j.file_sha256, "size": j.file_size, "format": j.format, "status": j.status.as_str(), "counts": j.counts, "message": j.message })
}

pub(crate) fn request_detail(r: &AccessRequest) -> serde_json::Value {
    serde_json::json!({ "request_id": r.id, "purpose": r.purpose, "sections": r.sections, "actions": actions_text(&r.actions), "hours": r.hours })
}

pub(crate) fn loan_detail(l: &Loan) -> serde_json::Value {
    serde_json::json!({
        "loan_id": l.id, "borrower_id": l.borrower_id, "kind": l.kind.as_str(), "purpose": l.purpose, "due_at": l.due_at,
        "returned_at": l.returned_at, "returned_complete": l.returned_complete, "return_note": l.return_note,
    })
}

/// The event recorded for an expired grant (built by the stores' sweepers).
pub(crate) fn grant_expired_event(g: &Grant, archive_no: &str, now: DateTime<Utc>) -> AuditEvent {
    let mut e = AuditEvent::new(dangan_core::audit::AuditAction::GrantExpired, now).with_archive(g.archive_id, archive_no);
    e.user_id = Some(g.user_id);
    e.basis = format!("grant:{}", g.id);
    e.detail = serde_json::json!({ "expired_at": g.expires_at }).to_string();
    e
}

/// Copies of `ArchiveData` fields kept as columns for filtering and lists.
pub(crate) struct ArchiveColumns<'a> {
    pub kind: &'static str,
    pub name: &'a str,
    pub grade: Option<&'static str>,
    pub credit_grade: Option<&'static str>,
    pub blacklisted: bool,
    pub status: &'static str,
    pub industry: Option<&'a str>,
    pub province: Option<&'a str>,
    pub city: Option<&'a str>,
    pub owner_id: Option<UserId>,
    pub dept_id: Option<DeptId>,
    pub tier: &'static str,
    pub secrecy: &'static str,
    pub mobile: Option<&'a str>,
    pub uscc: Option<&'a str>,
    pub id_hash: Option<&'a str>,
}

impl<'a> ArchiveColumns<'a> {
    pub fn of(d: &'a ArchiveData) -> Self {
        ArchiveColumns {
            kind: d.kind.as_str(),
            name: &d.name,
            grade: d.classification.grade.map(|g| g.as_str()),
            credit_grade: d.credit.grade.map(|g| g.as_str()),
            blacklisted: d.credit.blacklisted,
            status: d.status.as_str(),
            industry: d.classification.industry.as_deref(),
            province: d.classification.province.as_deref(),
            city: d.classification.city.as_deref(),
            owner_id: d.owner_id,
            dept_id: d.dept_id,
            tier: d.tier.as_str(),
            secrecy: d.secrecy.as_str(),
            mobile: d.mobile.as_deref(),
            uscc: d.uscc(),
            id_hash: d.person.as_ref().and_then(|p| p.id_number_index.as_deref()),
        }
    }
}

pub(crate) fn parse_enum<T: std::str::FromStr>(s: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Db(format!("unexpected stored value {s:?}")))
}

pub(crate) fn parse_roles(s: &str) -> Vec<Role> {
    s.split(',').filter(|r| !r.is_empty()).filter_map(|r| r.parse().ok()).collect()
}

pub(crate) fn roles_text(roles: &[Role]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

/// Marks each entry that a later entry supersedes.
pub(crate) fn link_superseded(entries: &mut [TimelineEntry]) {
    let pairs: Vec<(i64, i64)> = entries.iter().filter_map(|e| e.data.supersedes.map(|old| (old, e.id))).collect();
    for (old, new) in pairs {
        if let Some(e) = entries.iter_mut().find(|e| e.id == old) {
            e.superseded_by = Some(new);
        }
    }
}

/// How a store is opened beyond its URL (operators' settings; the defaults suit tests and tools).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenOptions {
    /// SQLite: bytes of the database file each reader connection maps (`PRAGMA mmap_size`, at
    /// most `sqlite::MAX_READER_MMAP`); 0 (the default) reads through `read` into each
    /// connection's own cache instead.
    pub sqlite_mmap_bytes: u64,
}

/// Opens the store a database URL names: empty or `sqlite:PATH` → SQLite, `postgres://…` → PostgreSQL.
pub async fn open(database_url: &str, default_sqlite_path: &std::path::Path) -> Result<std::sync::Arc<dyn Store>> {
    open_with(database_url, default_sqlite_path, OpenOptions::default()).await
}

/// `open` with the operator's options.
pub async fn open_with(database_url: &str, default_sqlite_path: &std::path::Path, options: OpenOptions) -> Result<std::sync::Arc<dyn Store>> {
    let url = database_url.trim();
    if url.is_empty() {
        return Ok(std::sync::Arc::new(sqlite::SqliteStore::open_with(default_sqlite_path, options.sqlite_mmap_bytes)?));
    }
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        return Ok(std::sync::Arc::new(sqlite::SqliteStore::open_with(std::path::Path::new(path), options.sqlite_mmap_bytes)?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(std::sync::Arc::new(postgres::PgStore::connect(url).await?));
    }
    Err(StoreError::Db(format!("unsupported database URL (use empty, sqlite:PATH or postgres://…): {url}")))
}
