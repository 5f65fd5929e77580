//! Archive packages (档案包): one archive or a selection as a zip with a sha256 manifest
//! (`dangan_io::package`), to hand a person's data over (the right to portability) or to move
//! archives to another Dangan, on either engine.
//!
//! Export needs the export right and the right to unmask on every archive (a package carries the
//! values in clear: masked values would not import back); one refused archive refuses the
//! package. Import re-creates each archive under its own number (refused when the number is
//! taken here), its contacts, its timeline (corrections still point at what they correct) and
//! its attachments (bytes checked against their sha256), owned by the importer. Both are audited.

use chrono::Utc;
use dangan_core::audit::AuditAction;
use dangan_core::policy::Action;
use dangan_core::ArchiveId;
use dangan_io::package::{read_package, write_package, PackageArchive, PackageAttachment};
use dangan_store::{ArrivingArchive, NewAttachment};
use serde::Serialize;

use crate::{App, AppError, Principal, Result};

/// Most archives one package holds.
pub const MAX_PACKAGE_ARCHIVES: usize = 1_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackageImportResult {
    /// (number, new id) of each archive created.
    pub created: Vec<(String, ArchiveId)>,
    /// (number, why) of each archive refused (e.g. its number is taken here).
    pub refused: Vec<(String, String)>,
}

fn package_error(e: dangan_io::package::PackageError) -> AppError {
    AppError::Invalid { zh: e.message_zh(), en: e.to_string() }
}

impl App {
    /// The archives as a package (zip bytes) and a file name.
    pub async fn export_package(&self, p: &Principal, ids: &[ArchiveId]) -> Result<(Vec<u8>, String)> {
        if ids.is_empty() || ids.len() > MAX_PACKAGE_ARCHIVES {
            return Err(AppError::Invalid { zh: format!("请选择 1 到 {MAX_PACKAGE_ARCHIVES} 份档案"), en: format!("choose 1 to {MAX_PACKAGE_ARCHIVES} archives") });
        }
        let mut archives = Vec::with_capacity(ids.len());
        for &id in ids {
            // The one choke point: export, then unmask (both recorded when allowed).
            self.archive_for(p, id, Action::Export).await?;
            let archive = self.archive_for(p, id, Action::ReadUnmasked).await?;
            let contacts = self.store.list_contacts(id).await?;
            let mut timeline = self.store.list_entries(id).await?;
            timeline.sort_by_key(|e| e.id);
            let mut attachments = Vec::new();
            for meta in self.store.list_attachments(id).await? {
                let bytes = tokio::fs::read(self.attachment_path(&meta.sha256)).await.map_err(|e| AppError::Internal(format!("attachment {} missing: {e}", meta.sha256)))?;
                attachments.push(PackageAttachment { meta, bytes });
            }
            archives.push(PackageArchive { archive, contacts, timeline, attachments });
        }
        let numbers: Vec<&str> = archives.iter().map(|a| a.archive.archive_no.as_str()).collect();
        let file_name = if archives.len() == 1 { format!("档案包-{}.zip", numbers[0]) } else { format!("档案包-{}份.zip", archives.len()) };
        let bytes = write_package(&archives, Utc::now(), Some(p.display_name.clone())).map_err(|e| AppError::Internal(e.to_string()))?;
        let detail = serde_json::json!({ "format": "package", "archives": numbers, "bytes": bytes.len() });
        self.record(self.event(p, AuditAction::ArchiveExport).with_fields(&["package"]).with_detail(detail)).await?;
        Ok((bytes, file_name))
    }

    /// Re-creates the package's archives here; each archive is one transaction.
    pub async fn import_package(&self, p: &Principal, bytes: &[u8]) -> Result<PackageImportResult> {
        self.authorize_general(p, Action::Create).await?;
        let package = read_package(bytes).map_err(package_error)?;
        let mut result = PackageImportResult { created: Vec::new(), refused: Vec::new() };
        for pa in package.archives {
            let no = pa.archive.archive_no.clone();
            match self.import_packaged(p, pa).await {
                Ok(id) => result.created.push((no, id)),
                Err(AppError::Duplicate(_)) => result.refused.push((no.clone(), format!("档号 {no} 在本系统已存在 / the number exists here"))),
                Err(e) => return Err(e),
            }
        }
        Ok(result)
    }

    async fn import_packaged(&self, p: &Principal, pa: PackageArchive) -> Result<ArchiveId> {
        let mut data = pa.archive.data.clone();
        // The archive now belongs here: to the importer and their department.
        data.owner_id = Some(p.id);
        data.dept_id = p.dept_id;
        crate::check(dangan_core::validate::validate_archive(&data))?;
        self.seal(&mut data);
        let mut attachments = Vec::with_capacity(pa.attachments.len());
        for att in &pa.attachments {
            self.keep_attachment_bytes(&att.meta.sha256, &att.bytes).await?;
            attachments.push(NewAttachment {
                archive_id: 0,
                sha256: att.meta.sha256.clone(),
                filename: att.meta.filename.clone(),
                content_type: att.meta.content_type.clone(),
                size: att.meta.size,
                created_by: p.id,
                created_at: att.meta.created_at,
            });
        }
        let mut entries: Vec<_> = pa.timeline.iter().map(|e| (e.id, e.data.clone(), e.created_at)).collect();
        entries.sort_by_key(|e| e.0);
        let arriving = ArrivingArchive {
            archive_no: pa.archive.archive_no.clone(),
            period: self.settings.number_scheme.split(&pa.archive.archive_no),
            data,
            created_at: pa.archive.created_at,
            contacts: pa.contacts.iter().map(|c| c.data.clone()).collect(),
            entries,
            attachments,
        };
        let detail = serde_json::json!({ "format": "package", "archive_no": pa.archive.archive_no, "contacts": pa.contacts.len(), "entries": pa.timeline.len(), "attachments": pa.attachments.len() });
        let created = self.store.restore_archive(&arriving, &self.event(p, AuditAction::ArchiveImport).with_detail(detail)).await?;
        Ok(created.id)
    }

    /// Writes bytes to content-addressed attachment storage (temporary name, then rename).
    pub(crate) async fn keep_attachment_bytes(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        use sha2::Digest;
        if hex::encode(sha2::Sha256::digest(bytes)) != sha256 || sha256.len() != 64 {
            return Err(AppError::Invalid { zh: format!("附件内容与其校验值不符：{sha256}"), en: format!("attachment bytes do not match their sha256 {sha256}") });
        }
        let path = self.attachment_path(sha256);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(());
        }
        let dir = path.parent().expect("has parent").to_path_buf();
        tokio::fs::create_dir_all(&dir).await.map_err(|e| AppError::Internal(e.to_string()))?;
        let tmp = dir.join(format!(".{sha256}.{}", crate::auth::random_token()));
        tokio::fs::write(&tmp, bytes).await.map_err(|e| AppError::Internal(e.to_string()))?;
        tokio::fs::rename(&tmp, &path).await.map_err(|e| AppError::Internal(e.to_string()))?;
        Ok(())
    }
}
