//! Duplicate check (查重) and merge: candidates for what is being created or edited (within the
//! caller's list scope; the rest only counted), the scan over the whole base for the archivist,
//! and merging two archives into one.

use dangan_core::audit::AuditAction;
use dangan_core::dedup::{self, Reason};
use dangan_core::policy::{Action, ListScope};
use dangan_core::validate::{self, FieldError};
use dangan_core::{ArchiveData, ArchiveId, ArchiveSummary, ContactData, Role};
use dangan_store::{DuplicateCandidate, DuplicatePair, MergeOutcome, MergeRequest, PairCursor};
use serde::Serialize;

use crate::{protection_of, redact_top_secret, App, AppError, Principal, Result};

/// Who may run the duplicate scan over the whole base.
pub const SCAN_ROLES: &[Role] = &[Role::Archivist, Role::GeneralManager];

/// One candidate as shown to a user: the list row (mobile masked, 绝密 reduced to its number),
/// why, and how sure.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub archive: ArchiveSummary,
    /// Strongest first.
    pub reasons: Vec<Reason>,
    /// 0–100.
    pub score: u8,
}

/// What the duplicate check found for one would-be archive.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct DuplicateCheck {
    /// Candidates the user may see, strongest first.
    pub candidates: Vec<Candidate>,
    /// Candidates outside the user's scope: counted, never shown.
    pub hidden: usize,
}

impl DuplicateCheck {
    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty() && self.hidden == 0
    }
}

/// A page of the duplicate scan.
#[derive(Debug, Clone, Serialize)]
pub struct PairPage {
    pub items: Vec<DuplicatePair>,
    pub next_cursor: Option<String>,
}

fn shown(mut s: ArchiveSummary) -> ArchiveSummary {
    redact_top_secret(&mut s);
    dangan_core::mask::mask_summary_mobile(&mut s.mobile);
    s
}

fn admits(scope: &ListScope, s: &ArchiveSummary) -> bool {
    scope.admits(s.id, &dangan_core::policy::Protection { owner_id: s.owner_id, dept_id: s.dept_id, tier: s.tier, secrecy: s.secrecy })
}

fn split(scope: &ListScope, found: Vec<DuplicateCandidate>) -> DuplicateCheck {
    let mut out = DuplicateCheck::default();
    for c in found {
        if admits(scope, &c.archive) {
            out.candidates.push(Candidate { archive: shown(c.archive), reasons: c.reasons, score: c.score });
        } else {
            out.hidden += 1;
        }
    }
    out
}

impl App {
    /// The duplicate-check keys of a would-be archive (`dangan_core::dedup::archive_keys`): the
    /// document normalized as it would be stored, the ID number's keyed hash.
    pub fn duplicate_keys(&self, data: &ArchiveData, contacts: &[ContactData]) -> Vec<String> {
        let mut d = data.clone();
        d.normalize();
        let id_hash = d.id_number().filter(|id| !crate::crypto::FieldCrypto::is_encrypted(id)).map(|id| self.settings.crypto.id_number_index(id));
        let contacts: Vec<ContactData> = contacts
            .iter()
            .map(|c| {
                let mut c = c.clone();
                c.normalize();
                c
            })
            .collect();
        dedup::archive_keys(&d, id_hash.as_deref(), &contacts)
    }

    /// Stored archives that may be the same customer as `data` (+ `contacts`), other than
    /// `exclude` (the archive being edited): those in the caller's list scope (the same
    /// `policy::list_scope` rules as lists) with reasons and score, the others only counted.
    pub async fn check_duplicates(&self, p: &Principal, data: &ArchiveData, contacts: &[ContactData], exclude: Option<ArchiveId>) -> Result<DuplicateCheck> {
        let keys = self.duplicate_keys(data, contacts);
        let found = self.store.duplicate_candidates(&keys, exclude).await?;
        let scope = self.list_scope(p).await?;
        Ok(split(&scope, found))
    }

    /// `check_duplicates` for many rows at once (an import batch): one store query, one scope;
    /// the answer is in the rows' order. Duplicates among the rows themselves are
    /// `dangan_core::dedup::pairs_within` (on `duplicate_keys` of each row).
    pub async fn check_duplicates_batch(&self, p: &Principal, rows: &[(&ArchiveData, &[ContactData])]) -> Result<Vec<DuplicateCheck>> {
        let probes: Vec<Vec<String>> = rows.iter().map(|(d, c)| self.duplicate_keys(d, c)).collect();
        let found = self.store.duplicate_candidates_batch(&probes).await?;
        let scope = self.list_scope(p).await?;
        Ok(found.into_iter().map(|f| split(&scope, f)).collect())
    }

    /// Creates an archive after the duplicate check: with candidates (visible or not) and no
    /// `confirm_duplicates`, nothing is saved and `AppError::Duplicates` carries them; with the
    /// confirmation the archive is created and its audit record says which candidates were
    /// confirmed.
    pub async fn create_archive_checked(&self, user: &Principal, data: ArchiveData, confirm_duplicates: bool) -> Result<dangan_core::Archive> {
        self.authorize_general(user, Action::Create).await?;
        let check = self.check_duplicates(user, &data, &[], None).await?;
        if check.is_empty() {
            return self.create_archive(user, data).await;
        }
        if !confirm_duplicates {
            return Err(AppError::Duplicates(check));
        }
        self.create_archive_with(user, data, Some(confirmed_detail(&check))).await
    }

    /// Saves a new version after the duplicate check of what the edit adds (keys the archive
    /// did not have before): as `create_archive_checked`.
    pub async fn update_archive_checked(
        &self,
        user: &Principal,
        id: ArchiveId,
        version: i64,
        data: ArchiveData,
        reason: Option<String>,
        confirm_duplicates: bool,
    ) -> Result<dangan_core::Archive> {
        let current = self.archive_for(user, id, Action::Edit).await?;
        let mut probe = data.clone();
        dangan_core::mask::restore_masked(&mut probe, &current.data);
        let held = self.store.dedup_keys(id).await?;
        let contacts: Vec<ContactData> = self.store.list_contacts(id).await?.into_iter().map(|c| c.data).collect();
        let new_keys: Vec<String> = self.duplicate_keys(&probe, &contacts).into_iter().filter(|k| !held.contains(k)).collect();
        let check = if new_keys.is_empty() {
            DuplicateCheck::default()
        } else {
            let found = self.store.duplicate_candidates(&new_keys, Some(id)).await?;
            split(&self.list_scope(user).await?, found)
        };
        if !check.is_empty() && !confirm_duplicates {
            return Err(AppError::Duplicates(check));
        }
        let extra = (!check.is_empty()).then(|| confirmed_detail(&check));
        self.save_version_with(user, id, version, data, reason, AuditAction::ArchiveUpdate, extra).await
    }

    /// The duplicate scan (查重) over the whole base: pairs of archives sharing keys, highest
    /// score first, for the archivist and the general manager; pairs with a side outside the
    /// caller's scope are left out. Audited.
    pub async fn duplicate_scan(&self, p: &Principal, cursor: Option<&str>, limit: u32) -> Result<PairPage> {
        if !p.user.active || !p.user.roles.iter().any(|r| SCAN_ROLES.contains(r)) {
            return Err(AppError::Forbidden);
        }
        let after = match cursor.filter(|c| !c.is_empty()) {
            Some(c) => Some(PairCursor::decode(c).ok_or_else(|| AppError::BadRequest("invalid cursor".into()))?),
            None => None,
        };
        let limit = limit.clamp(1, 200);
        let mut items = self.store.duplicate_pairs(after, limit + 1).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|x| x.cursor.encode())
        } else {
            None
        };
        let scope = self.list_scope(p).await?;
        let before = items.len();
        items.retain(|x| admits(&scope, &x.left) && admits(&scope, &x.right));
        let hidden = before - items.len();
        for x in items.iter_mut() {
            x.left = shown(x.left.clone());
            x.right = shown(x.right.clone());
        }
        let detail = serde_json::json!({ "scan": true, "rows": items.len(), "hidden": hidden, "page": after.is_some() });
        self.record(self.event(p, AuditAction::DuplicateScan).with_detail(detail)).await?;
        Ok(PairPage { items, next_cursor })
    }

    /// Merges `merged_id` into `survivor_id` (合并): who may edit both archives may merge them
    /// (`authorize(Edit)` on each); the survivor keeps its number and gets a new version whose
    /// fields are its own, with the empty ones filled from the other
    /// (`dangan_core::dedup::merge_documents`), and the stricter secrecy and narrower tier of
    /// the two — raising the survivor's protection also needs the right to transfer it, as an
    /// edit would. The other archive becomes a tombstone (its number resolves to the survivor);
    /// its contacts, timeline and attachments move over. One transaction, one `archive.merge`
    /// audit record.
    pub async fn merge_archives(&self, p: &Principal, survivor_id: ArchiveId, merged_id: ArchiveId, reason: &str) -> Result<MergeOutcome> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::Validation(vec![FieldError::new("reason", validate::ErrorCode::Required)]));
        }
        if survivor_id == merged_id {
            return Err(AppError::BadRequest("an archive cannot be merged into itself / 不能与自身合并".into()));
        }
        let survivor = self.archive_for(p, survivor_id, Action::Edit).await?;
        let merged = self.archive_for(p, merged_id, Action::Edit).await?;
        for (a, merged_away) in [(&survivor, false), (&merged, true)] {
            let info = self.store.retention_info(a.id).await?;
            dangan_core::retention::check_merge(&a.archive_no, merged_away, info.open_destruction_id, info.legal_hold.is_some())
                .map_err(|r| AppError::Refused { code: r.code, zh: r.zh, en: r.en })?;
        }
        if survivor.data.kind != merged.data.kind {
            return Err(AppError::BadRequest("a person and an organization cannot be merged / 个人档案与单位档案不能合并".into()));
        }
        let (mut data, taken) = dedup::merge_documents(&survivor.data, &merged.data);
        if protection_of(&data) != protection_of(&survivor.data) {
            if let Err(e) = self.authorize(p, Action::TransferOwner, &survivor).await {
                self.record_refusal(p, Action::TransferOwner, &survivor, &e).await?;
                return Err(e);
            }
        }
        data.normalize();
        crate::check(validate::validate_archive(&data))?;
        self.seal(&mut data);
        let reason_text = format!("合并档案 {}：{reason}", merged.archive_no);
        let detail = serde_json::json!({
            "reason": reason,
            "survivor_no": survivor.archive_no,
            "from_version": survivor.version,
            "fields_taken": taken,
            "rule": "survivor's values kept; empty fields filled from the merged archive; stricter secrecy/tier kept",
            "secrecy": data.secrecy.as_str(),
            "tier": data.tier.as_str(),
        });
        let event = self.event(p, AuditAction::ArchiveMerge).with_fields(&taken).with_detail(detail);
        let req = MergeRequest { survivor_id, survivor_version: survivor.version, merged_id, merged_version: merged.version, data, reason: reason_text };
        let mut out = self.store.merge_archives(&req, &event).await?;
        self.open(&mut out.archive.data)?;
        dangan_core::mask::mask_archive(&mut out.archive.data);
        Ok(out)
    }
}

fn confirmed_detail(check: &DuplicateCheck) -> serde_json::Value {
    serde_json::json!({
        "duplicates_confirmed": true,
        "candidates": check.candidates.iter().map(|c| serde_json::json!({ "archive_id": c.archive.id, "archive_no": c.archive.archive_no, "reasons": c.reasons, "score": c.score })).collect::<Vec<_>>(),
        "hidden_candidates": check.hidden,
    })
}
