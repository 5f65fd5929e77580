//! Records of imported files (`imports`) and of every row they created (`import_rows`).
//!
//! A row is identified by its fingerprint (SHA-256 of the converted archive and contacts), kept
//! under a primary key: a row that was imported once is never imported again, whichever file it
//! comes in. That makes a re-import of the same file create nothing, and makes an interrupted
//! import safe to run again: each batch (archives + their fingerprints + the job's counters) is
//! one transaction, so what was counted as imported is committed and the rest is redone.

use chrono::{DateTime, Utc};
use dangan_core::{ArchiveId, UserId};
use serde::{Deserialize, Serialize};

use crate::BulkArchive;

pub type Fingerprint = [u8; 32];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportStatus {
    /// Dry run done; nothing written.
    Analyzed,
    Running,
    Done,
    /// Stopped by an error; the batches committed before it stay (each is whole).
    Failed,
    Canceled,
    /// All-or-nothing import refused because of bad rows: nothing written.
    Rejected,
}

impl ImportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImportStatus::Analyzed => "analyzed",
            ImportStatus::Running => "running",
            ImportStatus::Done => "done",
            ImportStatus::Failed => "failed",
            ImportStatus::Canceled => "canceled",
            ImportStatus::Rejected => "rejected",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "analyzed" => ImportStatus::Analyzed,
            "running" => ImportStatus::Running,
            "done" => ImportStatus::Done,
            "failed" => ImportStatus::Failed,
            "canceled" => ImportStatus::Canceled,
            "rejected" => ImportStatus::Rejected,
            _ => return None,
        })
    }
    pub fn is_finished(self) -> bool {
        !matches!(self, ImportStatus::Analyzed | ImportStatus::Running)
    }
}

/// Row counts of an import, as committed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportCounts {
    /// Data rows in the file (header and title rows not counted).
    pub total: i64,
    /// Rows read so far.
    pub processed: i64,
    /// Archives created.
    pub imported: i64,
    /// Rows merged into an existing archive.
    pub merged: i64,
    /// Rows skipped as duplicates (by choice) or because they were imported before.
    pub skipped: i64,
    /// Rows with errors (not imported).
    pub failed: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportJob {
    pub id: i64,
    pub file_name: String,
    /// SHA-256 of the file, hex.
    pub file_sha256: String,
    pub file_size: i64,
    /// csv, xlsx, xls, vcard.
    pub format: String,
    pub user_id: UserId,
    pub status: ImportStatus,
    /// The options the import runs with (mode, mapping, decisions), as JSON.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    pub counts: ImportCounts,
    pub cancel_requested: bool,
    /// Why it failed, or a summary.
    pub message: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewImport {
    pub file_name: String,
    pub file_sha256: String,
    pub file_size: i64,
    pub format: String,
    pub user_id: UserId,
    pub status: ImportStatus,
    pub options: serde_json::Value,
    pub counts: ImportCounts,
    pub message: String,
    pub now: DateTime<Utc>,
}

/// One converted row on its way into the store.
#[derive(Debug, Clone)]
pub struct ImportRow {
    /// Row number as the user sees it in the file.
    pub row: u32,
    pub fingerprint: Fingerprint,
    pub archive: BulkArchive,
}

/// An archive an import created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportedRow {
    pub row: u32,
    pub archive_id: ArchiveId,
    pub archive_no: String,
}

/// Progress of one batch, added to the job's counters in the batch's transaction.
#[derive(Debug, Clone, Copy, Default)]
pub struct BatchCounts {
    pub processed: i64,
    pub merged: i64,
    pub skipped: i64,
    pub failed: i64,
}

/// An archive arriving whole from another installation (an archive package): kept under its own
/// number when that number is free here.
#[derive(Debug, Clone)]
pub struct ArrivingArchive {
    pub archive_no: String,
    /// The document, sealed (encrypted fields) for this installation.
    pub data: dangan_core::ArchiveData,
    pub created_at: DateTime<Utc>,
    pub contacts: Vec<dangan_core::ContactData>,
    /// (the entry's id in the package, the entry, when it was recorded), oldest first; an
    /// entry's `supersedes` names a package id, mapped to the new id.
    pub entries: Vec<(i64, dangan_core::EntryData, DateTime<Utc>)>,
    /// Attachment records (the bytes are already in attachment storage); `archive_id` is ignored.
    pub attachments: Vec<crate::NewAttachment>,
    /// The counter period and sequence of the number under this installation's scheme, if it
    /// has that shape: the counter is moved past it so that new numbers never collide.
    pub period: Option<(String, u64)>,
}
