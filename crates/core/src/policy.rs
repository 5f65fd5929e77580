//! The one access decision: (who, action, archive) → allow / deny / needs approval.
//!
//! Every path that reaches archive data (API, UI, search, export, print, attachments, audit
//! views) asks `decide` and nothing else. The foundation lets every active user do everything
//! but enforces that inactive users do nothing; the access-control issue replaces the body with
//! the tier × secrecy × role rules from the seeds without touching the callers.

use crate::model::{DeptId, Role, Secrecy, Tier, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    List,
    Read,
    ReadUnmasked,
    Create,
    Edit,
    AddEntry,
    Export,
    Print,
    DownloadAttachment,
    TransferOwner,
    RequestDestruction,
    Approve,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    NeedsApproval,
}

/// Who is asking, as far as the policy needs to know.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: UserId,
    pub dept_id: Option<DeptId>,
    pub roles: Vec<Role>,
    pub active: bool,
}

/// The protection-relevant facts of an archive.
#[derive(Debug, Clone, Copy)]
pub struct Protection {
    pub owner_id: Option<UserId>,
    pub dept_id: Option<DeptId>,
    pub tier: Tier,
    pub secrecy: Secrecy,
}

pub fn decide(actor: &Actor, _action: Action, _archive: Option<&Protection>) -> Decision {
    if !actor.active {
        return Decision::Deny;
    }
    Decision::Allow
}
