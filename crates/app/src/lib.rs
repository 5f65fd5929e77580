//! Application services: each public method is one use case (create an archive, log in, …) that
//! checks the core rules, asks the policy, and calls the store. The HTTP API, the web UI and
//! the CLI are thin shells over these methods, so they behave the same.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use dangan_core::audit::AuditAction;
use dangan_core::history::{self, FieldChange};
use dangan_core::numbering::NumberScheme;
use dangan_core::policy::{Action, Protection};
use dangan_core::validate::{self, FieldError};
use dangan_core::*;
use dangan_store::{ArchiveFilter, ArchiveQuery, Cursor, Numbering, SortOrder, Store, StoreError, VersionRecord};
use serde::Serialize;

pub mod access;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod checklists;
pub mod crypto;
pub mod dedup;
pub mod demo;
pub mod export;
pub mod import;
pub mod lifecycle;
pub mod loans;
pub mod package;
pub mod policy;
pub mod print;
pub mod retention;
pub mod search;

pub use dangan_store as store;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("not found")]
    NotFound,
    /// The archive changed since the client read it.
    #[error("version conflict: current version is {current}")]
    Conflict { current: i64 },
    #[error("not logged in")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    /// The user may file a request to view this archive (查阅申请).
    #[error("approval needed")]
    NeedsApproval { archive_id: ArchiveId, archive_no: String },
    #[error("too many failed logins; locked until {until}")]
    LockedOut { until: DateTime<Utc> },
    #[error("{0}")]
    BadRequest(String),
    /// Input that cannot be used as a whole (an unreadable file, …), said in Chinese and English.
    #[error("{en}")]
    Invalid { zh: String, en: String },
    #[error("already exists: {0}")]
    Duplicate(String),
    #[error("file too large (max {max} bytes)")]
    TooLarge { max: usize },
    #[error("unsupported file type")]
    UnsupportedType,
    #[error("internal error: {0}")]
    Internal(String),
    /// The archive may already exist (查重): nothing was saved; send the request again with the
    /// confirmation to save anyway.
    #[error("possible duplicates")]
    Duplicates(dedup::DuplicateCheck),
    /// A rule refuses the step in the state things are in (a legal hold, a request already
    /// decided, …): `code` names the rule (HTTP 409 `/problems/<code>`).
    #[error("{en}")]
    Refused { code: &'static str, zh: String, en: String },
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Conflict { current } => AppError::Conflict { current },
            StoreError::Duplicate(s) => AppError::Duplicate(s),
            StoreError::Db(s) => AppError::Internal(s),
        }
    }
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub number_scheme: NumberScheme,
    /// Largest attachment accepted, in bytes.
    pub max_attachment_bytes: usize,
    pub session_hours: i64,
    /// Failed logins before the account is locked for `lockout_minutes`.
    pub max_failed_logins: i64,
    pub lockout_minutes: i64,
    /// Networks designated as the archive room (机密 archives are read only from there), from
    /// configuration: in force until an administrator saves the policy settings (`policy.rs`).
    pub archive_room_networks: Vec<ipnet::IpNet>,
    /// The policy defaults (the seeds'); the settings in force are `App::policy()`.
    pub policy: dangan_core::policy::PolicySettings,
    /// Encrypts ID numbers and health data at rest; the key comes from configuration.
    pub crypto: Arc<crypto::FieldCrypto>,
    /// Record allowed archive reads in the audit trail. Always on in service; the benchmark
    /// turns it off once to measure what auditing costs.
    pub audit_reads: bool,
    /// Backups: directory, key, schedule, retention.
    pub backup: backup::BackupSettings,
    /// How reminders are read for large books (not configuration: tests lower the figures to
    /// take the large-book path on a small base).
    pub reminder_reads: lifecycle::ReminderReads,
}

impl Settings {
    pub fn new(data_dir: PathBuf) -> Self {
        let data_dir_backups = data_dir.join("backups");
        Settings {
            data_dir,
            number_scheme: NumberScheme::default(),
            max_attachment_bytes: 20 * 1024 * 1024,
            session_hours: 12,
            max_failed_logins: 5,
            lockout_minutes: 15,
            archive_room_networks: Vec::new(),
            policy: Default::default(),
            // A fresh key: right for tests and throwaway data; the binary loads the configured one.
            crypto: Arc::new(crypto::FieldCrypto::from_key_hex(&crypto::FieldCrypto::generate_key_hex()).expect("generated key")),
            audit_reads: true,
            backup: backup::BackupSettings::new(data_dir_backups),
            reminder_reads: Default::default(),
        }
    }
}

/// The application: settings plus a store. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub(crate) sessions: Arc<auth::SessionCache>,
    pub(crate) departments: Arc<access::DepartmentCache>,
    pub(crate) policy_cache: Arc<policy::PolicyCache>,
    pub(crate) audit_queue: Arc<audit::AuditQueue>,
    /// One backup at a time in this process (several servers: the store's job lock).
    pub(crate) backup_running: Arc<tokio::sync::Mutex<()>>,
}

/// An archive with everything shown on its page.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveView {
    pub archive: Archive,
    pub contacts: Vec<Contact>,
    pub entries: Vec<TimelineEntry>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// Total matching rows, when asked for.
    pub total: Option<i64>,
}

/// Who is asking and from where: the user, whether the request comes from the archive room,
/// and the client (address, user agent) for the audit trail. Every service takes one; it derefs
/// to the `User`.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub in_archive_room: bool,
    pub client: audit::ClientInfo,
}

impl Principal {
    pub fn new(user: User, in_archive_room: bool) -> Self {
        Principal { user, in_archive_room, client: Default::default() }
    }

    pub fn with_client(mut self, client: audit::ClientInfo) -> Self {
        self.client = client;
        self
    }
}

impl std::ops::Deref for Principal {
    type Target = User;
    fn deref(&self) -> &User {
        &self.user
    }
}

pub fn protection_of(d: &ArchiveData) -> Protection {
    Protection { owner_id: d.owner_id, dept_id: d.dept_id, tier: d.tier, secrecy: d.secrecy }
}

fn masked(mut a: Archive) -> Archive {
    dangan_core::mask::mask_archive(&mut a.data);
    a
}

fn masked_contact(mut c: Contact) -> Contact {
    dangan_core::mask::mask_contact(&mut c.data);
    c
}

/// 绝密 archives are listed (to the archivist, who keeps the register) by number only: the
/// summary keeps what identifies the file — id, number, tier, secrecy, custody — and drops its
/// content (name, phone, classification).
pub(crate) fn redact_top_secret(s: &mut ArchiveSummary) {
    if s.secrecy == Secrecy::TopSecret {
        s.name = String::new();
        s.mobile = None;
        s.grade = None;
        s.credit_grade = None;
        s.industry = None;
        s.province = None;
        s.city = None;
    }
}

/// What changed between two documents, with sensitive values masked for display.
fn masked_changes(before: &ArchiveData, after: &ArchiveData) -> Vec<FieldChange> {
    let template = after.template.as_deref().or(before.template.as_deref());
    let mask = |path: &str, v: Option<String>| v.map(|v| dangan_core::mask::mask_path_value(path, template, &v).unwrap_or(v));
    history::diff(before, after)
        .into_iter()
        .map(|c| FieldChange { before: mask(&c.path, c.before), after: mask(&c.path, c.after), path: c.path })
        .collect()
}

/// One version in the history: who, when, why, and what changed from the version before.
#[derive(Debug, Clone, Serialize)]
pub struct VersionSummary {
    pub version: i64,
    pub changed_by: UserId,
    pub changed_at: DateTime<Utc>,
    pub reason: Option<String>,
    pub changes: Vec<FieldChange>,
}

pub(crate) fn check(errors: Vec<FieldError>) -> Result<()> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}

impl App {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        App {
            store,
            settings: Arc::new(settings),
            sessions: Arc::new(auth::SessionCache::default()),
            departments: Arc::new(access::DepartmentCache::default()),
            policy_cache: Arc::new(policy::PolicyCache::default()),
            audit_queue: Arc::new(audit::AuditQueue::default()),
            backup_running: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc::now()
    }

    /// Encrypts what is kept encrypted at rest and records the ID number's lookup hash.
    pub fn seal(&self, data: &mut ArchiveData) {
        let index = self.settings.crypto.seal_archive(data);
        if let Some(p) = data.person.as_mut() {
            p.id_number_index = index;
        }
    }

    /// Decrypts a stored document; the lookup hash is not for clients.
    pub(crate) fn open(&self, data: &mut ArchiveData) -> Result<()> {
        self.settings.crypto.open_archive(data).map_err(|e| AppError::Internal(format!("cannot decrypt a stored archive (wrong encryption key?): {e}")))?;
        if let Some(p) = data.person.as_mut() {
            p.id_number_index = None;
        }
        Ok(())
    }

    async fn dept_code(&self, dept_id: Option<DeptId>) -> Result<String> {
        let Some(id) = dept_id else { return Ok(String::new()) };
        Ok(self.store.list_departments().await?.into_iter().find(|d| d.id == id).map(|d| d.code).unwrap_or_default())
    }

    /// Fills defaults (owner = creator, department = owner's), normalizes and validates.
    fn prepare(&self, user: &Principal, mut data: ArchiveData) -> Result<ArchiveData> {
        data.normalize();
        if data.owner_id.is_none() {
            data.owner_id = Some(user.id);
        }
        if data.dept_id.is_none() {
            data.dept_id = user.dept_id;
        }
        check(validate::validate_archive(&data))?;
        Ok(data)
    }

    /// Creates an archive without the duplicate check (demo data, tools); the API and the UI
    /// use `create_archive_checked`.
    pub async fn create_archive(&self, user: &Principal, data: ArchiveData) -> Result<Archive> {
        self.create_archive_with(user, data, None).await
    }

    /// Creates an archive; `detail` goes into its audit record.
    pub(crate) async fn create_archive_with(&self, user: &Principal, data: ArchiveData, detail: Option<serde_json::Value>) -> Result<Archive> {
        self.authorize_general(user, Action::Create).await?;
        let mut data = self.prepare(user, data)?;
        self.seal(&mut data);
        let now = Self::now();
        let numbering = Numbering { scheme: self.settings.number_scheme.clone(), dept_code: self.dept_code(data.dept_id).await?, date: now.date_naive() };
        let mut event = self.event(user, AuditAction::ArchiveCreate);
        if let Some(d) = detail {
            event = event.with_detail(d);
        }
        let mut created = self.store.create_archive(&data, &numbering, &event).await?;
        self.open(&mut created.data)?;
        Ok(masked(created))
    }

    /// The archive alone, after the policy allowed `action` on it. A refusal is recorded in the
    /// audit trail; so is an allowed read-type action (read, unmask, export, print, download),
    /// before the content is returned. Allowed changes are recorded by the write itself.
    pub async fn archive_for(&self, user: &Principal, id: ArchiveId, action: Action) -> Result<Archive> {
        let archive = self.store.get_archive(id).await?.ok_or(AppError::NotFound)?;
        self.archive_checked(user, archive, action, None).await
    }

    /// As `archive_for`, for an archive already loaded; `fields` names what a read exposes.
    pub(crate) async fn archive_checked(&self, user: &Principal, mut archive: Archive, action: Action, fields: Option<&[&str]>) -> Result<Archive> {
        if archive.destroyed_at.is_some() {
            // A destroyed archive is a tombstone: its number, dates and register entry only
            // (`retention_info`, the register), never its (purged) content.
            let no = &archive.archive_no;
            return Err(AppError::Refused { code: "destroyed", zh: format!("档案 {no} 已销毁，仅保留档号与销毁记录"), en: format!("archive {no} was destroyed; only its number and the destruction record remain") });
        }
        if let Some(survivor) = archive.merged_into {
            // A merged archive is a tombstone: it is read (and resolves to its survivor), never changed.
            if matches!(action, Action::Edit | Action::AddEntry | Action::TransferOwner) {
                let no = self.store.get_archive(survivor).await?.map(|a| a.archive_no).unwrap_or_default();
                return Err(AppError::BadRequest(format!("archive {} was merged into {no}; change that one / 档案 {} 已合并到 {no}，请在该档案上操作", archive.archive_no, archive.archive_no)));
            }
        }
        let basis = match self.authorize_basis(user, action, &archive).await {
            Ok(basis) => basis,
            Err(e) => {
                self.record_refusal(user, action, &archive, &e).await?;
                return Err(e);
            }
        };
        if matches!(action, Action::Read | Action::ReadUnmasked | Action::Export | Action::Print | Action::DownloadAttachment) {
            let mut e = self.event(user, audit::action_event(action)).with_archive(archive.id, &archive.archive_no);
            e.basis = basis;
            if let Some(f) = fields {
                e = e.with_fields(f);
            }
            self.record(e).await?;
        }
        self.open(&mut archive.data)?;
        Ok(archive)
    }

    /// The archive as shown by default: sensitive fields masked (138****1234).
    pub async fn get_archive(&self, user: &Principal, id: ArchiveId) -> Result<Archive> {
        Ok(masked(self.archive_for(user, id, Action::Read).await?))
    }

    /// The archive with sensitive fields in clear, for those the policy allows (查看明文). The
    /// audit record names the sensitive fields that were shown.
    pub async fn get_archive_unmasked(&self, user: &Principal, id: ArchiveId) -> Result<Archive> {
        let archive = self.store.get_archive(id).await?.ok_or(AppError::NotFound)?;
        let mut probe = archive.data.clone();
        self.open(&mut probe)?;
        let fields = dangan_core::mask::sensitive_fields_present(&probe);
        self.archive_checked(user, archive, Action::ReadUnmasked, Some(&fields)).await
    }

    /// The archive with this number; the number of a merged archive resolves to its survivor.
    pub async fn get_archive_by_no(&self, user: &Principal, archive_no: &str) -> Result<Archive> {
        let mut archive = self.store.get_archive_by_no(archive_no).await?.ok_or(AppError::NotFound)?;
        if let Some(survivor) = archive.merged_into {
            archive = self.store.get_archive(survivor).await?.ok_or(AppError::NotFound)?;
        }
        Ok(masked(self.archive_checked(user, archive, Action::Read, None).await?))
    }

    /// The archive page's data; masked unless `unmasked` is asked for and allowed.
    pub async fn view_archive(&self, user: &Principal, id: ArchiveId, unmasked: bool) -> Result<ArchiveView> {
        let archive = if unmasked { self.get_archive_unmasked(user, id).await? } else { self.get_archive(user, id).await? };
        let (mut contacts, entries, attachments) = tokio::try_join!(self.store.list_contacts(id), self.store.list_entries(id), self.store.list_attachments(id))?;
        if !unmasked {
            contacts.iter_mut().for_each(|c| dangan_core::mask::mask_contact(&mut c.data));
        }
        Ok(ArchiveView { archive, contacts, entries, attachments })
    }

    /// The archive page: the archive (one audited read) and its version history, which comes with
    /// the page rather than as a second read.
    pub async fn view_archive_with_history(&self, user: &Principal, id: ArchiveId, unmasked: bool) -> Result<(ArchiveView, Vec<VersionRecord>)> {
        let view = self.view_archive(user, id, unmasked).await?;
        let mut versions = self.store.list_versions(id).await?;
        for v in versions.iter_mut() {
            self.open(&mut v.data)?;
            dangan_core::mask::mask_archive(&mut v.data);
        }
        Ok((view, versions))
    }

    /// Saves `data` as the next version; refused with `Conflict` when `version` is stale. A
    /// correction of a key field (name, credit code, ID number) needs a reason.
    pub async fn update_archive(&self, user: &Principal, id: ArchiveId, version: i64, data: ArchiveData, reason: Option<String>) -> Result<Archive> {
        self.save_version(user, id, version, data, reason, AuditAction::ArchiveUpdate).await
    }

    async fn save_version(&self, user: &Principal, id: ArchiveId, version: i64, data: ArchiveData, reason: Option<String>, action: AuditAction) -> Result<Archive> {
        self.save_version_with(user, id, version, data, reason, action, None).await
    }

    /// As `save_version`; `extra` is merged into the audit record's detail.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn save_version_with(
        &self,
        user: &Principal,
        id: ArchiveId,
        version: i64,
        data: ArchiveData,
        reason: Option<String>,
        action: AuditAction,
        extra: Option<serde_json::Value>,
    ) -> Result<Archive> {
        let current = self.archive_for(user, id, Action::Edit).await?;
        if current.version != version {
            return Err(AppError::Conflict { current: current.version });
        }
        let mut data = data;
        dangan_core::mask::restore_masked(&mut data, &current.data);
        // A document without owner or department keeps the archive's, rather than passing it to
        // whoever saved it.
        if data.owner_id.is_none() {
            data.owner_id = current.data.owner_id;
        }
        if data.dept_id.is_none() {
            data.dept_id = current.data.dept_id;
        }
        // Who holds an archive and how it is protected is not an ordinary edit: changing the
        // owner, department, tier or secrecy needs the right to transfer it.
        let mut action = action;
        if protection_of(&data) != protection_of(&current.data) {
            if let Err(e) = self.authorize(user, Action::TransferOwner, &current).await {
                self.record_refusal(user, Action::TransferOwner, &current, &e).await?;
                return Err(e);
            }
            if action == AuditAction::ArchiveUpdate {
                action = AuditAction::ArchiveTransfer;
            }
        }
        let data = self.prepare(user, data)?;
        let reason = reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        let changes = history::diff(&current.data, &data);
        let corrected = history::corrected_key_fields(&changes);
        if !corrected.is_empty() && reason.is_none() {
            return Err(AppError::Validation(vec![FieldError::new("reason", validate::ErrorCode::KeyFieldReasonRequired)]));
        }
        let mut data = data;
        self.seal(&mut data);
        let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        // The trail names the changed fields; their values stay in the versions (the trail is
        // readable by more people than the archive, and holds no sensitive values).
        let mut detail = serde_json::json!({ "from_version": version, "reason": reason });
        if let (Some(d), Some(serde_json::Value::Object(extra))) = (detail.as_object_mut(), extra) {
            d.extend(extra);
        }
        let event = self.event(user, action).with_fields(&paths).with_detail(detail);
        let mut updated = self.store.update_archive(id, version, &data, reason.as_deref(), &event).await?;
        self.open(&mut updated.data)?;
        Ok(masked(updated))
    }

    /// The change history (变更历史): each version with who, when, why and what changed from the
    /// one before; sensitive values in the changes are masked. Viewing it is audited.
    pub async fn history(&self, user: &Principal, id: ArchiveId) -> Result<Vec<VersionSummary>> {
        let archive = self.store.get_archive(id).await?.ok_or(AppError::NotFound)?;
        let mut versions = self.checked_versions(user, archive).await?;
        versions.reverse();
        let mut out = Vec::with_capacity(versions.len());
        for (i, v) in versions.iter().enumerate() {
            let changes = match versions.get(i + 1) {
                Some(prev) => masked_changes(&prev.data, &v.data),
                None => Vec::new(),
            };
            out.push(VersionSummary { version: v.version, changed_by: v.changed_by, changed_at: v.changed_at, reason: v.reason.clone(), changes });
        }
        Ok(out)
    }

    /// Field-level differences between two versions (in either order), sensitive values masked.
    pub async fn compare_versions(&self, user: &Principal, id: ArchiveId, from: i64, to: i64) -> Result<Vec<FieldChange>> {
        let archive = self.store.get_archive(id).await?.ok_or(AppError::NotFound)?;
        let versions = self.checked_versions(user, archive).await?;
        let find = |n: i64| versions.iter().find(|v| v.version == n).ok_or(AppError::NotFound);
        Ok(masked_changes(&find(from)?.data, &find(to)?.data))
    }

    /// Restores an older version as a new version (nothing is overwritten); needs the right to
    /// edit and a reason, and is audited as a restore.
    pub async fn restore_version(&self, user: &Principal, id: ArchiveId, version: i64, reason: &str) -> Result<Archive> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Validation(vec![FieldError::new("reason", validate::ErrorCode::Required)]));
        }
        let current = self.archive_for(user, id, Action::Edit).await?;
        let mut versions = self.store.list_versions(id).await?;
        let old = versions.iter_mut().find(|v| v.version == version).ok_or(AppError::NotFound)?;
        self.open(&mut old.data)?;
        let data = old.data.clone();
        let reason = format!("恢复到版本 {version}：{reason}");
        self.save_version(user, id, current.version, data, Some(reason), AuditAction::ArchiveRestore).await
    }

    /// Every version in clear, after the policy allowed reading the archive (audited).
    async fn checked_versions(&self, user: &Principal, archive: Archive) -> Result<Vec<VersionRecord>> {
        if let Err(e) = self.authorize(user, Action::Read, &archive).await {
            self.record_refusal(user, Action::Read, &archive, &e).await?;
            return Err(e);
        }
        self.record(self.event(user, AuditAction::VersionsRead).with_archive(archive.id, &archive.archive_no)).await?;
        let mut versions = self.store.list_versions(archive.id).await?;
        for v in versions.iter_mut() {
            self.open(&mut v.data)?;
        }
        Ok(versions)
    }

    pub async fn versions(&self, user: &Principal, id: ArchiveId) -> Result<Vec<VersionRecord>> {
        self.archive_for(user, id, Action::Read).await?;
        let mut versions = self.store.list_versions(id).await?;
        for v in versions.iter_mut() {
            self.open(&mut v.data)?;
            dangan_core::mask::mask_archive(&mut v.data);
        }
        Ok(versions)
    }

    /// Every version in clear, for the editor (merging after an edit conflict needs the values).
    pub async fn versions_for_edit(&self, user: &Principal, id: ArchiveId) -> Result<Vec<VersionRecord>> {
        self.archive_for(user, id, Action::Edit).await?;
        let mut versions = self.store.list_versions(id).await?;
        for v in versions.iter_mut() {
            self.open(&mut v.data)?;
        }
        Ok(versions)
    }

    pub async fn list_archives(&self, user: &Principal, filter: ArchiveFilter, sort: SortOrder, cursor: Option<&str>, limit: u32, with_total: bool) -> Result<Page<ArchiveSummary>> {
        self.authorize_general(user, Action::List).await?;
        let mut filter = filter;
        filter.scope = Some(self.query_scope(user).await?);
        let after = match cursor.filter(|c| !c.is_empty()) {
            Some(c) => Some(Cursor::decode(c).ok_or_else(|| AppError::BadRequest("invalid cursor".into()))?),
            None => None,
        };
        let limit = limit.clamp(1, 200);
        let query = ArchiveQuery { filter: filter.clone(), sort, after, limit: limit + 1 };
        let mut items = self.store.list_archives(&query).await?;
        items.iter_mut().for_each(redact_top_secret);
        items.iter_mut().for_each(|a| dangan_core::mask::mask_summary_mobile(&mut a.mobile));
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|r| Cursor::after(r, sort).encode())
        } else {
            None
        };
        let total = if with_total { Some(self.store.count_archives(&filter).await?) } else { None };
        // Who looked at which lists: the filter (the query) and how many rows were shown.
        let mut shown = serde_json::to_value(&filter).unwrap_or_default();
        if let Some(m) = shown.as_object_mut() {
            m.retain(|_, v| !v.is_null());
        }
        let detail = serde_json::json!({ "filter": shown, "rows": items.len(), "total": total, "page": cursor.is_some_and(|c| !c.is_empty()) });
        self.record(self.event(user, AuditAction::ArchiveList).with_detail(detail)).await?;
        Ok(Page { items, next_cursor, total })
    }

    pub async fn add_contact(&self, user: &Principal, archive_id: ArchiveId, mut contact: ContactData) -> Result<Contact> {
        self.archive_for(user, archive_id, Action::Edit).await?;
        contact.normalize();
        check(validate::validate_contact(&contact, ""))?;
        Ok(masked_contact(self.store.add_contact(archive_id, &contact, &self.event(user, AuditAction::ContactAdd)).await?))
    }

    pub async fn update_contact(&self, user: &Principal, archive_id: ArchiveId, contact_id: i64, mut contact: ContactData) -> Result<Contact> {
        self.archive_for(user, archive_id, Action::Edit).await?;
        if let Some(current) = self.store.list_contacts(archive_id).await?.into_iter().find(|c| c.id == contact_id) {
            dangan_core::mask::restore_masked_contact(&mut contact, &current.data);
        }
        contact.normalize();
        check(validate::validate_contact(&contact, ""))?;
        Ok(masked_contact(self.store.update_contact(archive_id, contact_id, &contact, &self.event(user, AuditAction::ContactUpdate)).await?))
    }

    pub async fn add_entry(&self, user: &Principal, archive_id: ArchiveId, mut entry: EntryData) -> Result<TimelineEntry> {
        self.archive_for(user, archive_id, Action::AddEntry).await?;
        entry.summary = entry.summary.trim().to_string();
        entry.correction_reason = entry.correction_reason.map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
        check(validate::validate_entry(&entry))?;
        let action = if entry.supersedes.is_some() { AuditAction::EntryCorrect } else { AuditAction::EntryAdd };
        Ok(self.store.add_entry(archive_id, &entry, &self.event(user, action)).await?)
    }

    /// Creates a department; a named parent must exist (refused as a bad request, not left to
    /// the foreign key, which each engine reports differently).
    pub async fn add_department(&self, by: Option<&Principal>, name: &str, code: &str, parent_id: Option<DeptId>) -> Result<Department> {
        if let Some(p) = parent_id {
            if !self.store.list_departments().await?.iter().any(|d| d.id == p) {
                return Err(AppError::BadRequest(format!("unknown parent department {p} / 上级部门不存在")));
            }
        }
        let d = self.store.create_department(name.trim(), code.trim(), parent_id, &self.event_by(by, AuditAction::DepartmentCreate)).await?;
        self.departments.clear();
        Ok(d)
    }

    pub async fn departments(&self) -> Result<Vec<Department>> {
        Ok(self.store.list_departments().await?)
    }

    pub async fn users(&self) -> Result<Vec<User>> {
        Ok(self.store.list_users().await?)
    }
}
