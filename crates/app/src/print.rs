//! Printing (打印): the policy decides (机密 archives are never printed), the print is recorded in
//! the audit trail before anything is rendered, and every page carries the viewer's name and the
//! time as a watermark, so a leaked copy can be traced. Sensitive fields print masked.

use chrono::{FixedOffset, Utc};
use dangan_core::policy::Action;
use dangan_core::ArchiveId;

use crate::{App, AppError, Principal, Result};

/// China time, as printed on the forms.
pub(crate) fn china() -> FixedOffset {
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

    /// The visit record form (客户拜访档案记录): the archive's timeline, oldest first; corrected
    /// entries stay on the form marked 已更正. Authorized and audited as a print.
    pub async fn print_visit_record(&self, p: &Principal, id: ArchiveId) -> Result<Vec<u8>> {
        let archive = self.store.get_archive(id).await?.ok_or(AppError::NotFound)?;
        let archive = self.archive_checked(p, archive, Action::Print, Some(&["timeline"])).await?;
        let mut entries = self.store.list_entries(id).await?;
        entries.sort_by_key(|e| (e.data.occurred_on, e.id));
        let names: std::collections::HashMap<i64, String> = self.store.list_users().await?.into_iter().map(|u| (u.id, u.display_name)).collect();
        let rows = entries.iter().map(|e| dangan_pdf::VisitRow::from_entry(e, names.get(&e.created_by).cloned().unwrap_or_default())).collect();
        let owner_name = archive.data.owner_id.and_then(|u| names.get(&u).cloned());
        let input = dangan_pdf::VisitRecordInput { archive_no: archive.archive_no.clone(), customer_name: archive.data.name.clone(), owner_name, rows };
        let wm = self.watermark(p, Some(archive.archive_no.clone()));
        Self::render(move || dangan_pdf::render_visit_record(&input, &wm)).await
    }

    /// The borrowing slip (借阅单) of one loan, for the borrower or the archivist to sign; a
    /// returned loan prints its return too. Audited as a print of the archive.
    pub async fn print_borrowing_slip(&self, p: &Principal, loan_id: i64) -> Result<Vec<u8>> {
        let view = self.get_loan(p, loan_id).await?;
        let loan = view.loan;
        let archive = self.store.get_archive(loan.archive_id).await?.ok_or(AppError::NotFound)?;
        // The slip names the archive; the register is the archivist's and the borrower's.
        let mut e = self.event(p, dangan_core::audit::AuditAction::ArchivePrint).with_archive(archive.id, &archive.archive_no).with_fields(&["borrowing_slip"]);
        e = e.with_detail(serde_json::json!({ "loan_id": loan.id }));
        self.record(e).await?;
        let users: std::collections::HashMap<i64, dangan_core::User> = self.store.list_users().await?.into_iter().map(|u| (u.id, u)).collect();
        let name = |id: i64| users.get(&id).map(|u| u.display_name.clone()).unwrap_or_default();
        let depts = self.store.list_departments().await?;
        let borrower_department = users.get(&loan.borrower_id).and_then(|u| u.dept_id).and_then(|d| depts.iter().find(|x| x.id == d)).map(|d| d.name.clone());
        // 绝密 archives show their number only, as everywhere.
        let customer_name = if archive.data.secrecy == dangan_core::Secrecy::TopSecret { String::new() } else { archive.data.name.clone() };
        let input = dangan_pdf::BorrowingSlipInput {
            slip_no: format!("JY-{:06}", loan.id),
            borrower: name(loan.borrower_id),
            borrower_department,
            purpose: loan.purpose.clone(),
            medium: match loan.kind {
                dangan_store::LoanKind::Paper => dangan_pdf::LoanMedium::Paper,
                dangan_store::LoanKind::Electronic => dangan_pdf::LoanMedium::Electronic,
            },
            lent_at: loan.lent_at,
            due_at: loan.due_at,
            lent_by: name(loan.lent_by),
            approved_by: None,
            items: vec![dangan_pdf::LoanItem { archive_no: archive.archive_no.clone(), customer_name, secrecy: archive.data.secrecy, note: None }],
            returned: loan.returned_at.map(|at| dangan_pdf::ReturnInfo {
                returned_at: at,
                complete: loan.returned_complete.unwrap_or(false),
                checked_by: loan.checked_by.map(name).unwrap_or_default(),
                note: Some(loan.return_note.clone()).filter(|n| !n.is_empty()),
            }),
        };
        let wm = self.watermark(p, Some(input.slip_no.clone()));
        Self::render(move || dangan_pdf::render_borrowing_slip(&input, &wm)).await
    }

    pub(crate) fn watermark(&self, p: &Principal, reference: Option<String>) -> dangan_pdf::Watermark {
        dangan_pdf::Watermark { viewer: format!("{} ({})", p.user.display_name, p.user.username), at: Utc::now().with_timezone(&china()), reference }
    }

    /// Layout is CPU work (tens of milliseconds): off the async threads.
    pub(crate) async fn render(f: impl FnOnce() -> dangan_pdf::Result<dangan_pdf::Pdf> + Send + 'static) -> Result<Vec<u8>> {
        let pdf = tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| AppError::Internal(format!("print worker failed: {e}")))?
            .map_err(|e| AppError::Internal(format!("cannot lay out the form: {e}")))?;
        Ok(pdf.bytes)
    }
}
