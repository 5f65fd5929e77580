//! Document checklists (材料清单) as services: an archive's checklists (completeness, missing
//! items, due date), ticking paper originals and tagging scans, the overdue report per
//! responsible person, and the settings (checklists, default deadline, holiday calendar).
//!
//! **Who may do what.**
//! - See an archive's checklists: whoever may read the archive, and the archivist (who keeps
//!   the paper files) for every archive they may see listed. Item names and dates show nothing
//!   of the archive's content.
//! - Tick / untick a paper original as received: the archivist (客户档案管理员在收到档案后进行
//!   检查), for archives they may see listed.
//! - Tag / untag a scan (an attachment of the archive) for an item: whoever may edit the
//!   archive (the same right as uploading it), and the archivist.
//! - Overdue report: everyone, over the archives their list scope admits (a salesperson sees
//!   their own, a manager their department's, the archivist all).
//! - Settings: viewed by the system administrator, auditor, general manager and archivist;
//!   changed by the system administrator only (`checklist.settings` audit record with before
//!   and after, in the same transaction as the change).
//!
//! Every mark is one `checklist.mark` audit record in the transaction that appends it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use dangan_core::audit::AuditAction;
use dangan_core::checklist::{self, ArchiveFacts, ChecklistSettings, ChecklistStatus, Mark, MarkAction};
use dangan_core::policy::Action;
use dangan_core::{Archive, ArchiveId, Role, Secrecy, UserId};
use dangan_store::NewMark;
use serde::Serialize;

use crate::{App, AppError, Principal, Result};

/// The report looks at archives created within this many days before its date unless told otherwise.
pub const REPORT_DEFAULT_DAYS: i64 = 365;
/// At most this many archives are evaluated for one report (the newest; the report says so).
pub const REPORT_SCAN_LIMIT: u32 = 5000;
/// Longest note on a mark.
pub const MAX_NOTE_CHARS: usize = 200;

/// The checklist settings in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EffectiveChecklists {
    /// 0 for the defaults (nothing stored yet); every change adds one.
    pub version: i64,
    pub settings: ChecklistSettings,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<UserId>,
}

/// An archive's checklists as of `today`, with what the viewer may do.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ArchiveChecklists {
    pub archive_id: ArchiveId,
    pub archive_no: String,
    /// The archive's name; empty for 绝密 archives (known by number only).
    pub archive_name: String,
    /// The archive's industry template, if any.
    pub template: Option<String>,
    pub today: NaiveDate,
    pub checklists: Vec<ChecklistStatus>,
    /// Every mark, oldest first (who ticked, unticked, tagged what, when).
    pub marks: Vec<Mark>,
    /// File names of the attachments the marks name (id → name).
    pub attachment_names: BTreeMap<i64, String>,
    /// May tick paper originals (the archivist).
    pub can_tick: bool,
    /// May tag attachments.
    pub can_tag: bool,
    /// May upload a scan for an item (the right to edit the archive).
    pub can_upload: bool,
}

/// A missing item in the overdue report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MissingItem {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
}

/// One archive's overdue checklist.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverdueRow {
    pub archive_id: ArchiveId,
    pub archive_no: String,
    /// Empty for 绝密 archives (listed by number only).
    pub name: String,
    pub checklist: String,
    pub checklist_label_zh: String,
    pub checklist_label_en: String,
    pub due_on: NaiveDate,
    pub overdue_days: u32,
    pub percent: u32,
    pub missing: Vec<MissingItem>,
}

/// The overdue checklists of one responsible person (the archive's owner).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverdueGroup {
    pub owner_id: Option<UserId>,
    /// The owner's display name, or "" when the archive has no owner.
    pub owner_name: String,
    pub missing_items: usize,
    pub rows: Vec<OverdueRow>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OverdueReport {
    /// The date the report is for.
    pub as_of: NaiveDate,
    /// Archives created on or after this date were looked at.
    pub since: NaiveDate,
    pub scanned: usize,
    /// More archives matched than `REPORT_SCAN_LIMIT`: the oldest were not looked at.
    pub truncated: bool,
    pub groups: Vec<OverdueGroup>,
}

/// What the principal may do with an archive's checklists.
#[derive(Debug, Clone, Copy)]
struct Rights {
    tick: bool,
    tag: bool,
    upload: bool,
}

pub fn may_view_settings(p: &Principal) -> bool {
    p.user.active && [Role::SystemAdmin, Role::Auditor, Role::GeneralManager, Role::Archivist].iter().any(|r| p.user.has_role(*r))
}

pub fn may_edit_settings(p: &Principal) -> bool {
    p.user.active && p.user.has_role(Role::SystemAdmin)
}

fn invalid(errors: &[checklist::SettingsError]) -> AppError {
    AppError::Invalid { zh: errors.iter().map(|e| e.zh.as_str()).collect::<Vec<_>>().join("；"), en: errors.iter().map(|e| e.en.as_str()).collect::<Vec<_>>().join("; ") }
}

fn facts(a: &Archive) -> ArchiveFacts<'_> {
    ArchiveFacts { kind: a.data.kind, template: a.data.template.as_deref(), custom: &a.data.custom, created_on: checklist::local_date(a.created_at) }
}

/// Today in the companies' time zone (UTC+8).
pub fn today_local() -> NaiveDate {
    checklist::local_date(Utc::now())
}

impl App {
    /// The settings in force (read from the database: a primary-key lookup).
    pub async fn checklist_settings(&self) -> Result<EffectiveChecklists> {
        Ok(match self.store.checklist_settings().await? {
            None => EffectiveChecklists { version: 0, settings: ChecklistSettings::default(), updated_at: None, updated_by: None },
            Some(row) => EffectiveChecklists {
                version: row.version,
                settings: serde_json::from_str(&row.data).map_err(|e| AppError::Internal(format!("stored checklist settings: {e}")))?,
                updated_at: Some(row.updated_at),
                updated_by: row.updated_by,
            },
        })
    }

    /// The settings, for those who may see them.
    pub async fn checklist_settings_view(&self, p: &Principal) -> Result<EffectiveChecklists> {
        if !may_view_settings(p) {
            return Err(AppError::Forbidden);
        }
        self.checklist_settings().await
    }

    /// Replaces the settings (system administrator only), based on `expected_version`.
    pub async fn update_checklist_settings(&self, p: &Principal, expected_version: i64, new: ChecklistSettings) -> Result<EffectiveChecklists> {
        if !may_edit_settings(p) {
            return Err(AppError::Forbidden);
        }
        let new = new.normalized();
        let errors = new.validate();
        if !errors.is_empty() {
            return Err(invalid(&errors));
        }
        let before = self.checklist_settings().await?;
        if before.version != expected_version {
            return Err(AppError::Conflict { current: before.version });
        }
        let mut changed = Vec::new();
        if before.settings.default_deadline_days != new.default_deadline_days {
            changed.push("default_deadline_days");
        }
        if before.settings.holidays != new.holidays {
            changed.push("holidays");
        }
        if before.settings.workdays != new.workdays {
            changed.push("workdays");
        }
        if before.settings.checklists != new.checklists {
            changed.push("checklists");
        }
        let event = self.event(p, AuditAction::ChecklistSettingsChange).with_detail(serde_json::json!({
            "version_before": before.version,
            "version_after": before.version + 1,
            "changed": changed,
            "before": before.settings,
            "after": new,
        }));
        let data = serde_json::to_string(&new).map_err(|e| AppError::Internal(e.to_string()))?;
        self.store.put_checklist_settings(expected_version, &data, p.user.id, &event).await?;
        self.checklist_settings().await
    }

    /// Loads the archive and decides what the principal may do with its checklists: (may
    /// view, may tick paper, may tag scans). Refusals are recorded like other refusals.
    async fn checklist_rights(&self, p: &Principal, archive: &Archive) -> Result<Rights> {
        let archivist = p.user.has_role(Role::Archivist) && self.allows(p, Action::List, archive).await?;
        let reader = archivist || self.allows(p, Action::Read, archive).await?;
        if !reader {
            // Say it the way the archive itself would (not found / forbidden / needs approval).
            let err = self.authorize(p, Action::Read, archive).await.err().unwrap_or(AppError::Forbidden);
            self.record_refusal(p, Action::Read, archive, &err).await?;
            return Err(err);
        }
        let open = archive.merged_into.is_none();
        let upload = open && self.allows(p, Action::Edit, archive).await?;
        Ok(Rights { tick: open && archivist, tag: open && (archivist || upload), upload })
    }

    async fn evaluate_archive(&self, archive: &Archive, today: NaiveDate, rights: Rights) -> Result<ArchiveChecklists> {
        let settings = self.checklist_settings().await?.settings;
        let marks = self.store.checklist_marks(&[archive.id]).await?;
        let checklists = checklist::evaluate(&settings, &settings.calendar(), facts(archive), &marks, today);
        let attachment_names = if marks.iter().any(|m| m.attachment_id.is_some()) {
            self.store.list_attachments(archive.id).await?.into_iter().map(|a| (a.id, a.filename)).collect()
        } else {
            BTreeMap::new()
        };
        Ok(ArchiveChecklists {
            archive_id: archive.id,
            archive_no: archive.archive_no.clone(),
            archive_name: if archive.data.secrecy == Secrecy::TopSecret { String::new() } else { archive.data.name.clone() },
            template: archive.data.template.clone(),
            today,
            checklists,
            marks,
            attachment_names,
            can_tick: rights.tick,
            can_tag: rights.tag,
            can_upload: rights.upload,
        })
    }

    /// The checklists of one archive, as of `today` (default: today in UTC+8).
    pub async fn archive_checklists(&self, p: &Principal, archive_id: ArchiveId, today: Option<NaiveDate>) -> Result<ArchiveChecklists> {
        let archive = self.store.get_archive(archive_id).await?.ok_or(AppError::NotFound)?;
        let rights = self.checklist_rights(p, &archive).await?;
        self.evaluate_archive(&archive, today.unwrap_or_else(today_local), rights).await
    }

    /// The archive with this number (a merged number resolves to the survivor), if the principal
    /// may see its checklists: how the archivist opens a file handed in on paper.
    pub async fn checklist_archive_by_no(&self, p: &Principal, archive_no: &str) -> Result<ArchiveId> {
        let archive = self.store.get_archive_by_no(archive_no.trim()).await?.ok_or(AppError::NotFound)?;
        self.checklist_rights(p, &archive).await?;
        Ok(archive.id)
    }

    /// Records a tick (`Received`), untick (`Withdrawn`), or a scan tagged (`Attached`) or
    /// untagged (`Detached`) for one item. A mark that changes nothing (ticking a ticked item)
    /// is refused, so the record holds only real changes.
    #[allow(clippy::too_many_arguments)]
    pub async fn mark_checklist_item(
        &self,
        p: &Principal,
        archive_id: ArchiveId,
        checklist_key: &str,
        item_key: &str,
        action: MarkAction,
        attachment_id: Option<i64>,
        note: &str,
    ) -> Result<ArchiveChecklists> {
        let archive = self.store.get_archive(archive_id).await?.ok_or(AppError::NotFound)?;
        let rights = self.checklist_rights(p, &archive).await?;
        let paper = matches!(action, MarkAction::Received | MarkAction::Withdrawn);
        if (paper && !rights.tick) || (!paper && !rights.tag) {
            if archive.merged_into.is_some() {
                return Err(AppError::BadRequest(format!("archive {} was merged; mark the surviving archive / 档案 {} 已合并，请在合并后的档案上登记", archive.archive_no, archive.archive_no)));
            }
            return Err(AppError::Forbidden);
        }
        let note = note.trim();
        if note.chars().count() > MAX_NOTE_CHARS {
            return Err(AppError::Invalid { zh: format!("备注最多{MAX_NOTE_CHARS}字"), en: format!("The note is limited to {MAX_NOTE_CHARS} characters") });
        }
        let today = today_local();
        let current = self.evaluate_archive(&archive, today, rights).await?;
        let Some(list) = current.checklists.iter().find(|c| c.key == checklist_key) else {
            return Err(AppError::Invalid { zh: format!("本档案没有材料清单“{checklist_key}”"), en: format!("This archive has no checklist {checklist_key:?}") });
        };
        let Some(item) = list.items.iter().find(|i| i.key == item_key) else {
            return Err(AppError::Invalid { zh: format!("清单“{}”中没有项目“{item_key}”", list.label_zh), en: format!("Checklist {:?} has no item {item_key:?}", list.label_en) });
        };
        if !paper {
            let Some(att_id) = attachment_id else {
                return Err(AppError::Invalid { zh: "请选择附件".into(), en: "Choose an attachment".into() });
            };
            let att = self.store.get_attachment(att_id).await?;
            if att.is_none_or(|a| a.archive_id != archive.id) {
                return Err(AppError::Invalid { zh: "该附件不属于本档案".into(), en: "The attachment does not belong to this archive".into() });
            }
        }
        let attachment_id = if paper { None } else { attachment_id };
        if !checklist::changes(item, action, attachment_id) {
            let (zh, en) = match action {
                MarkAction::Received => ("该项已登记为收到", "The item is already marked as received"),
                MarkAction::Withdrawn => ("该项尚未登记收到", "The item is not marked as received"),
                MarkAction::Attached => ("该附件已关联到此项", "The attachment is already tagged for this item"),
                MarkAction::Detached => ("该附件未关联到此项", "The attachment is not tagged for this item"),
            };
            return Err(AppError::Invalid { zh: zh.into(), en: en.into() });
        }
        let now = Utc::now();
        let mark = NewMark {
            archive_id: archive.id,
            checklist: checklist_key.to_string(),
            item: item_key.to_string(),
            action,
            attachment_id,
            note: note.to_string(),
            created_by: p.user.id,
            created_at: now,
        };
        let event = self.event(p, AuditAction::ChecklistMark).with_fields(&[&format!("{checklist_key}.{item_key}")]).with_detail(serde_json::json!({
            "checklist": checklist_key,
            "item": item_key,
            "label": item.label_zh,
            "action": action.as_str(),
            "attachment_id": attachment_id,
            "note": note,
        }));
        self.store.add_checklist_mark(&mark, &event).await?;
        self.evaluate_archive(&archive, today, rights).await
    }

    /// Uploads a scan and tags it for an item in one step (the right to edit the archive, as
    /// for any upload). The item is checked first, so a wrong item uploads nothing.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_for_checklist_item(&self, p: &Principal, archive_id: ArchiveId, checklist_key: &str, item_key: &str, filename: &str, bytes: Vec<u8>) -> Result<ArchiveChecklists> {
        let current = self.archive_checklists(p, archive_id, None).await?;
        let known = current.checklists.iter().find(|c| c.key == checklist_key).is_some_and(|c| c.items.iter().any(|i| i.key == item_key));
        if !known {
            return Err(AppError::Invalid { zh: format!("本档案的材料清单中没有“{checklist_key}.{item_key}”"), en: format!("This archive's checklists have no item {checklist_key}.{item_key}") });
        }
        let att = self.add_attachment(p, archive_id, filename, bytes).await?;
        self.mark_checklist_item(p, archive_id, checklist_key, item_key, MarkAction::Attached, Some(att.id), "").await
    }

    /// Overdue checklists of the archives the principal may see listed, created on or after
    /// `since` (default: a year before `as_of`), grouped by the archive's owner (the
    /// responsible person), most overdue first. Recorded as a list view.
    pub async fn checklist_overdue(&self, p: &Principal, as_of: Option<NaiveDate>, since: Option<NaiveDate>) -> Result<OverdueReport> {
        self.authorize_general(p, Action::List).await?;
        let as_of = as_of.unwrap_or_else(today_local);
        let since = since.unwrap_or(as_of - Duration::days(REPORT_DEFAULT_DAYS));
        let scope = self.query_scope(p).await?;
        // Local midnight (UTC+8) of `since`, as an instant.
        let since_at = since.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - Duration::hours(8);
        let archives = self.store.checklist_archives(Some(&scope), since_at, REPORT_SCAN_LIMIT).await?;
        let settings = self.checklist_settings().await?.settings;
        let cal = settings.calendar();
        let ids: Vec<ArchiveId> = archives.iter().map(|a| a.id).collect();
        let mut marks_by: HashMap<ArchiveId, Vec<Mark>> = HashMap::new();
        for chunk in ids.chunks(1000) {
            for m in self.store.checklist_marks(chunk).await? {
                marks_by.entry(m.archive_id).or_default().push(m);
            }
        }
        let names: HashMap<UserId, String> = self.store.list_users().await?.into_iter().map(|u| (u.id, u.display_name)).collect();
        let mut groups: BTreeMap<Option<UserId>, Vec<OverdueRow>> = BTreeMap::new();
        for a in &archives {
            let marks = marks_by.get(&a.id).map(Vec::as_slice).unwrap_or(&[]);
            for st in checklist::evaluate(&settings, &cal, facts(a), marks, as_of).into_iter().filter(|s| s.overdue) {
                let missing = st
                    .items
                    .iter()
                    .filter(|i| st.missing.contains(&i.key))
                    .map(|i| MissingItem { key: i.key.clone(), label_zh: i.label_zh.clone(), label_en: i.label_en.clone() })
                    .collect();
                groups.entry(a.data.owner_id).or_default().push(OverdueRow {
                    archive_id: a.id,
                    archive_no: a.archive_no.clone(),
                    name: if a.data.secrecy == Secrecy::TopSecret { String::new() } else { a.data.name.clone() },
                    checklist: st.key.clone(),
                    checklist_label_zh: st.label_zh.clone(),
                    checklist_label_en: st.label_en.clone(),
                    due_on: st.due_on,
                    overdue_days: st.overdue_days,
                    percent: st.percent,
                    missing,
                });
            }
        }
        let mut groups: Vec<OverdueGroup> = groups
            .into_iter()
            .map(|(owner_id, mut rows)| {
                rows.sort_by(|a, b| b.overdue_days.cmp(&a.overdue_days).then(a.archive_no.cmp(&b.archive_no)));
                OverdueGroup {
                    owner_name: owner_id.and_then(|id| names.get(&id).cloned()).unwrap_or_default(),
                    missing_items: rows.iter().map(|r| r.missing.len()).sum(),
                    owner_id,
                    rows,
                }
            })
            .collect();
        groups.sort_by(|a, b| b.missing_items.cmp(&a.missing_items).then(a.owner_name.cmp(&b.owner_name)));
        let scanned = archives.len();
        let rows: usize = groups.iter().map(|g| g.rows.len()).sum();
        self.record(self.event(p, AuditAction::ArchiveList).with_detail(serde_json::json!({ "report": "checklist_overdue", "as_of": as_of, "since": since, "scanned": scanned, "rows": rows })))
            .await?;
        Ok(OverdueReport { as_of, since, scanned, truncated: scanned as u32 >= REPORT_SCAN_LIMIT, groups })
    }
}
