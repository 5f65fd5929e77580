//! Printing (打印): the policy decides (机密 archives are never printed), the print is recorded in
//! the audit trail before anything is rendered, and every page carries the viewer's name and the
//! time as a watermark, so a leaked copy can be traced. Sensitive fields print masked.

use chrono::{FixedOffset, Utc};
use dangan_core::policy::Action;
use dangan_core::ArchiveId;

use crate::{App, AppError, Principal, Result};

/// China time, as printed on the forms.
fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8")
}

impl App {
    /// The archive card (客户资料卡) as an A4 PDF.
    pub async fn print_archive_card(&self, p: &Principal, id: ArchiveId) -> Result<Vec<u8>> {
        let archive = self.store.get_archive(id).await?.ok_or(AppError::NotFound)?;
        let mut archive = self.archive_checked(p, archive, Action::Print, None).await?;
        dangan_core::mask::mask_archive(&mut archive.data);
        let mut contacts: Vec<_> = self.store.list_contacts(id).await?.into_iter().map(|c| c.data).collect();
        contacts.iter_mut().for_each(dangan_core::mask::mask_contact);
        let owner_name = match archive.data.owner_id {
            Some(uid) => self.store.get_user(uid).await?.map(|u| u.display_name),
            None => None,
        };
        let department_name = match archive.data.dept_id {
            Some(d) => self.store.list_departments().await?.into_iter().find(|x| x.id == d).map(|x| x.name),
            None => None,
        };
        let watermark = dangan_pdf::Watermark {
            viewer: format!("{} ({})", p.user.display_name, p.user.username),
            at: Utc::now().with_timezone(&china()),
            reference: Some(archive.archive_no.clone()),
        };
        let input = dangan_pdf::CardInput { archive, contacts, owner_name, department_name };
        // Layout is CPU work (tens of milliseconds): off the async threads.
        let pdf = tokio::task::spawn_blocking(move || dangan_pdf::render_archive_card(&input, &watermark))
            .await
            .map_err(|e| AppError::Internal(format!("print worker failed: {e}")))?
            .map_err(|e| AppError::Internal(format!("cannot lay out the archive card: {e}")))?;
        Ok(pdf.bytes)
    }
}
