//! Attachments (scans of contracts, ID copies, photos): content-addressed files on local disk.
//!
//! A file lives at `<data dir>/attachments/<first 2 hex>/<sha256>`; the same content uploaded
//! twice is stored once. The type is decided by the file's leading bytes, never by the name the
//! client sent, so a renamed executable is refused.

use std::path::PathBuf;

use chrono::Utc;
use dangan_core::policy::Action;
use dangan_core::{ArchiveId, Attachment};
use dangan_store::NewAttachment;
use sha2::{Digest, Sha256};

use crate::{App, AppError, Result};

/// Content types accepted, recognised by their magic bytes.
pub fn sniff_content_type(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"%PDF-", "application/pdf"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"II*\x00", "image/tiff"),
        (b"MM\x00*", "image/tiff"),
        (b"BM", "image/bmp"),
        // Office Open XML (docx/xlsx) and OpenDocument are zip files.
        (b"PK\x03\x04", "application/zip"),
        // Legacy .doc/.xls (OLE compound file).
        (b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", "application/x-ole-storage"),
    ];
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("image/webp");
    }
    SIGNATURES.iter().find(|(sig, _)| bytes.starts_with(sig)).map(|(_, ct)| *ct)
}

/// Keeps a filename displayable and safe to put in a header: no path, no control characters.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control() && *c != '"').take(200).collect();
    if cleaned.trim().is_empty() {
        "attachment".into()
    } else {
        cleaned.trim().to_string()
    }
}

impl App {
    pub fn attachment_path(&self, sha256: &str) -> PathBuf {
        self.settings.data_dir.join("attachments").join(&sha256[..2]).join(sha256)
    }

    pub async fn add_attachment(&self, user: &crate::Principal, archive_id: ArchiveId, filename: &str, bytes: Vec<u8>) -> Result<Attachment> {
        self.archive_for(user, archive_id, Action::Edit).await?;
        let max = self.settings.max_attachment_bytes;
        if bytes.len() > max {
            return Err(AppError::TooLarge { max });
        }
        if bytes.is_empty() {
            return Err(AppError::BadRequest("empty file / 文件为空".into()));
        }
        let content_type = sniff_content_type(&bytes).ok_or(AppError::UnsupportedType)?;
        let sha = hex::encode(Sha256::digest(&bytes));
        let path = self.attachment_path(&sha);
        let size = bytes.len() as i64;
        if !tokio::fs::try_exists(&path).await.unwrap_or(false) {
            let dir = path.parent().expect("has parent").to_path_buf();
            tokio::fs::create_dir_all(&dir).await.map_err(|e| AppError::Internal(e.to_string()))?;
            // Write to a temporary name and rename, so a crash never leaves a partial file under the hash.
            let tmp = dir.join(format!(".{sha}.{}", crate::auth::random_token()));
            tokio::fs::write(&tmp, &bytes).await.map_err(|e| AppError::Internal(e.to_string()))?;
            tokio::fs::rename(&tmp, &path).await.map_err(|e| AppError::Internal(e.to_string()))?;
        }
        let meta = NewAttachment {
            archive_id,
            sha256: sha,
            filename: clean_filename(filename),
            content_type: content_type.into(),
            size,
            created_by: user.id,
            created_at: Utc::now(),
        };
        Ok(self.store.add_attachment(&meta, &self.event(user, dangan_core::audit::AuditAction::AttachmentAdd)).await?)
    }

    /// The attachment's record and content, after the policy allowed the download.
    pub async fn open_attachment(&self, user: &crate::Principal, attachment_id: i64) -> Result<(Attachment, Vec<u8>)> {
        let att = self.store.get_attachment(attachment_id).await?.ok_or(AppError::NotFound)?;
        let archive = self.store.get_archive(att.archive_id).await?.ok_or(AppError::NotFound)?;
        let what = format!("attachment:{}:{}", att.id, att.filename);
        self.archive_checked(user, archive, Action::DownloadAttachment, Some(&[what.as_str()])).await?;
        let bytes = tokio::fs::read(self.attachment_path(&att.sha256)).await.map_err(|e| AppError::Internal(format!("attachment file missing: {e}")))?;
        Ok((att, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content_not_name() {
        assert_eq!(sniff_content_type(b"%PDF-1.7\n..."), Some("application/pdf"));
        assert_eq!(sniff_content_type(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff_content_type(b"MZ\x90\x00"), None);
        assert_eq!(sniff_content_type(b"<html>"), None);
    }

    #[test]
    fn filenames_are_cleaned() {
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("C:\\scan\\合同.pdf"), "合同.pdf");
        assert_eq!(clean_filename("a\"b\n.pdf"), "ab.pdf");
        assert_eq!(clean_filename(""), "attachment");
    }
}
