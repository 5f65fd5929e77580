//! The borrowing register (借阅登记): the archivist records each lending of an archive — the
//! paper original or an electronic grant — to one borrower, and checks it back in (complete or
//! not). Overdue loans raise reminders (催还): to the borrower at once, and after
//! `ESCALATE_AFTER_DAYS` also to the archivist and the borrower's department managers.
//!
//! A loan's borrower is fixed when it is recorded: there is no way to change it (不得转借).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use dangan_core::validate::{ErrorCode, FieldError};
use dangan_core::{ArchiveId, DeptId, Role, UserId};
use dangan_store::{Loan, LoanKind, LoanQuery, NewLoan};
use serde::Serialize;

use crate::{App, AppError, Principal, Result};

/// Days overdue after which a reminder also goes to the archivist and the borrower's managers.
pub const ESCALATE_AFTER_DAYS: i64 = 3;

/// The most rows one register listing returns.
const LIST_LIMIT: u32 = 1000;

/// A register line as shown: the loan and what stands out about it.
#[derive(Debug, Clone, Serialize)]
pub struct LoanView {
    #[serde(flatten)]
    pub loan: Loan,
    /// Open and past its due date.
    pub overdue: bool,
    /// Checked back in, but not complete (归还不完整): needs follow-up.
    pub flag_incomplete: bool,
}

impl LoanView {
    pub fn of(loan: Loan, now: DateTime<Utc>) -> Self {
        let overdue = loan.returned_at.is_none() && loan.due_at < now;
        let flag_incomplete = loan.returned_complete == Some(false);
        LoanView { loan, overdue, flag_incomplete }
    }
}

/// A reminder to return an overdue loan (催还).
#[derive(Debug, Clone, Serialize)]
pub struct LoanReminder {
    pub loan: LoanView,
    /// 1: to the borrower; 2: overdue more than `ESCALATE_AFTER_DAYS` days, also to the
    /// archivist and the borrower's department managers.
    pub level: u8,
    /// Whole days past the due date.
    pub days_overdue: i64,
}

/// The reminder level of an open loan at `now`, or `None` when it is not overdue.
pub fn reminder_level(loan: &Loan, now: DateTime<Utc>) -> Option<u8> {
    if loan.returned_at.is_some() || loan.due_at >= now {
        return None;
    }
    Some(if now - loan.due_at > chrono::Duration::days(ESCALATE_AFTER_DAYS) { 2 } else { 1 })
}

impl App {
    fn require_archivist(p: &Principal) -> Result<()> {
        if p.user.active && p.user.has_role(Role::Archivist) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// Records a loan (archivist only). For an electronic loan, `grant_id` may name the
    /// borrower's active grant on the archive (grants come from approved requests; none is
    /// created here).
    pub async fn lend(&self, p: &Principal, archive_id: ArchiveId, borrower_id: UserId, kind: LoanKind, purpose: &str, due_at: DateTime<Utc>, grant_id: Option<i64>) -> Result<LoanView> {
        Self::require_archivist(p)?;
        let purpose = purpose.trim();
        if purpose.is_empty() {
            return Err(AppError::Validation(vec![FieldError::new("purpose", ErrorCode::Required)]));
        }
        self.store.get_archive(archive_id).await?.ok_or(AppError::NotFound)?;
        match self.store.get_user(borrower_id).await? {
            Some(u) if u.active => {}
            _ => return Err(AppError::BadRequest(format!("unknown or inactive borrower {borrower_id} / 借阅人不存在或已停用"))),
        }
        if let Some(g) = grant_id {
            if kind != LoanKind::Electronic {
                return Err(AppError::BadRequest("only an electronic loan records a grant / 仅电子借阅可关联授权".into()));
            }
            // The grant must be the borrower's own, on this archive, and still active.
            let grants = self.store.active_grants(borrower_id, Some(archive_id), Utc::now()).await?;
            if !grants.iter().any(|x| x.id == g) {
                return Err(AppError::BadRequest(format!("grant {g} is not an active grant of the borrower on this archive / 授权不属于借阅人或已失效")));
            }
        }
        let loan = NewLoan { archive_id, borrower_id, kind, purpose: purpose.to_string(), lent_by: p.user.id, due_at, grant_id };
        let event = self.event(p, dangan_core::audit::AuditAction::LoanLend);
        let now = event.at;
        Ok(LoanView::of(self.store.create_loan(&loan, &event).await?, now))
    }

    /// As `lend`, naming the archive by its number (档号), as the paper register does.
    pub async fn lend_by_number(&self, p: &Principal, archive_no: &str, borrower_id: UserId, kind: LoanKind, purpose: &str, due_at: DateTime<Utc>) -> Result<LoanView> {
        Self::require_archivist(p)?;
        let archive = self.store.get_archive_by_no(archive_no.trim()).await?.ok_or(AppError::NotFound)?;
        self.lend(p, archive.id, borrower_id, kind, purpose, due_at, None).await
    }

    /// Checks a loan back in (archivist only): complete or not, with a note. A second return
    /// is refused (Conflict).
    pub async fn return_loan(&self, p: &Principal, id: i64, complete: bool, note: &str) -> Result<LoanView> {
        Self::require_archivist(p)?;
        let event = self.event(p, dangan_core::audit::AuditAction::LoanReturn);
        let now = event.at;
        Ok(LoanView::of(self.store.return_loan(id, complete, note.trim(), &event).await?, now))
    }

    /// One loan: its borrower or the archivist.
    pub async fn get_loan(&self, p: &Principal, id: i64) -> Result<LoanView> {
        let loan = self.store.get_loan(id).await?.ok_or(AppError::NotFound)?;
        if loan.borrower_id != p.user.id && !p.user.has_role(Role::Archivist) {
            return Err(AppError::NotFound);
        }
        Ok(LoanView::of(loan, Utc::now()))
    }

    /// The register: all of it for the archivist, one's own loans for anyone else.
    pub async fn loans(&self, p: &Principal, open_only: bool) -> Result<Vec<LoanView>> {
        let borrower_id = if p.user.has_role(Role::Archivist) { None } else { Some(p.user.id) };
        let now = Utc::now();
        let list = self.store.list_loans(&LoanQuery { borrower_id, open_only, overdue_at: None, limit: LIST_LIMIT }).await?;
        Ok(list.into_iter().map(|l| LoanView::of(l, now)).collect())
    }

    /// Reminders of overdue loans the principal receives: the borrower their own (any level);
    /// the archivist all of them; a department manager the escalated ones (level 2) of
    /// borrowers in the departments they manage.
    pub async fn overdue_reminders(&self, p: &Principal, now: DateTime<Utc>) -> Result<Vec<LoanReminder>> {
        let archivist = p.user.has_role(Role::Archivist);
        let managed: Vec<DeptId> = self.actor(p).await?.managed_depts;
        let overdue = self.store.list_loans(&LoanQuery { borrower_id: None, open_only: true, overdue_at: Some(now), limit: LIST_LIMIT }).await?;
        let mut depts: HashMap<UserId, Option<DeptId>> = HashMap::new();
        let mut out = Vec::new();
        for loan in overdue {
            let Some(level) = reminder_level(&loan, now) else { continue };
            let visible = if loan.borrower_id == p.user.id || archivist {
                true
            } else if level >= 2 && !managed.is_empty() {
                let dept = match depts.get(&loan.borrower_id) {
                    Some(d) => *d,
                    None => {
                        let d = self.store.get_user(loan.borrower_id).await?.and_then(|u| u.dept_id);
                        depts.insert(loan.borrower_id, d);
                        d
                    }
                };
                dept.is_some_and(|d| managed.contains(&d))
            } else {
                false
            };
            if visible {
                let days_overdue = (now - loan.due_at).num_days();
                out.push(LoanReminder { loan: LoanView::of(loan, now), level, days_overdue });
            }
        }
        Ok(out)
    }
}
