//! The one access decision: (who, action, archive) → allow / deny / needs approval, and the
//! same rules as a *list scope* that storage turns into a WHERE clause, so lists, counts and
//! search never include what the user may not see.
//!
//! The rules are the seeds' (分级管理 + 密级), with the defaults in `PolicySettings`:
//! - **Tier** decides who may read and who manages:
//!   - company (公司级): managed by the sales director; director, VP and general manager read;
//!   - department (部门级): managed by the department's managers; members of the department read;
//!   - personal (个人级): managed by the owner; the managers of the owner's department subtree read.
//!   Managers (general manager, VP, sales director, department manager) see their whole
//!   department subtree. Everyone else needs an approved grant (查阅审批).
//! - **Secrecy** on top of the tier: 秘密 needs an approved grant even for tier readers; 机密 is
//!   read only from the archive room and never exported, printed or downloaded; 绝密 is opened by
//!   no one (the archivist sees that it exists and its number).
//! - A system administrator manages users and settings, and reads no archive by virtue of that role.
//!
//! Everything here is pure: the caller passes the actor's departments, whether the request comes
//! from the archive room, and the grant the actor holds on the archive, if any.

use serde::{Deserialize, Serialize};

use crate::model::{ArchiveId, DeptId, Role, Secrecy, Tier, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// See the archive in lists, counts and search results.
    List,
    Read,
    /// See ID numbers, phones, addresses… unmasked.
    ReadUnmasked,
    Create,
    Edit,
    AddEntry,
    Export,
    Print,
    DownloadAttachment,
    TransferOwner,
    RequestDestruction,
    /// Approve another user's request to view this archive.
    Approve,
}

impl Action {
    pub const ALL: &'static [Action] = &[
        Action::List,
        Action::Read,
        Action::ReadUnmasked,
        Action::Create,
        Action::Edit,
        Action::AddEntry,
        Action::Export,
        Action::Print,
        Action::DownloadAttachment,
        Action::TransferOwner,
        Action::RequestDestruction,
        Action::Approve,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Read => "read",
            Action::ReadUnmasked => "read_unmasked",
            Action::Create => "create",
            Action::Edit => "edit",
            Action::AddEntry => "add_entry",
            Action::Export => "export",
            Action::Print => "print",
            Action::DownloadAttachment => "download_attachment",
            Action::TransferOwner => "transfer_owner",
            Action::RequestDestruction => "request_destruction",
            Action::Approve => "approve",
        }
    }
    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.as_str() == s)
    }
    /// Actions a view grant can carry (reading, never managing).
    pub fn grantable(self) -> bool {
        matches!(self, Action::Read | Action::ReadUnmasked | Action::Print | Action::Export | Action::DownloadAttachment)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    Deny,
    /// Not now, but an approved request (查阅审批) can allow it.
    NeedsApproval,
}

/// Who is asking, as far as the policy needs to know.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: UserId,
    pub dept_id: Option<DeptId>,
    pub roles: Vec<Role>,
    pub active: bool,
    /// For managers: their department and every department below it. Empty for others.
    pub managed_depts: Vec<DeptId>,
    /// The request comes from a network designated as the archive room.
    pub in_archive_room: bool,
}

impl Actor {
    pub fn has(&self, r: Role) -> bool {
        self.roles.contains(&r)
    }
    fn is_executive(&self) -> bool {
        self.has(Role::GeneralManager) || self.has(Role::SalesVp) || self.has(Role::SalesDirector)
    }
    fn manages(&self, dept: Option<DeptId>) -> bool {
        dept.is_some_and(|d| self.managed_depts.contains(&d))
    }
}

/// The roles whose holders manage their department subtree.
pub fn is_manager_role(r: Role) -> bool {
    matches!(r, Role::GeneralManager | Role::SalesVp | Role::SalesDirector | Role::DeptManager)
}

/// The protection-relevant facts of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protection {
    pub owner_id: Option<UserId>,
    /// The archive's department; for personal archives, the owner's department.
    pub dept_id: Option<DeptId>,
    pub tier: Tier,
    pub secrecy: Secrecy,
}

/// An approved, unexpired grant the actor holds on this archive, and what it allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantScope {
    pub actions: Vec<Action>,
}

impl GrantScope {
    pub fn allows(&self, a: Action) -> bool {
        // A grant to read also lets the archive appear in the grantee's lists.
        self.actions.contains(&a) || (a == Action::List && self.actions.contains(&Action::Read))
    }
}

/// Settings an administrator can change. Defaults are the seeds'.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PolicySettings {
    /// Longest grant for a 秘密 archive, in hours.
    pub secret_grant_max_hours: i64,
    /// Longest grant for any other archive, in hours.
    pub grant_max_hours: i64,
}

impl Default for PolicySettings {
    fn default() -> Self {
        PolicySettings { secret_grant_max_hours: 4, grant_max_hours: 72 }
    }
}

/// What the tier alone gives the actor on the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TierRight {
    None,
    Read,
    Manage,
}

/// Roles that work with customers. A user whose only roles are system administrator or
/// auditor gets no archive rights from the tier (not even by department membership).
fn works_with_customers(actor: &Actor) -> bool {
    actor.roles.iter().any(|r| !matches!(r, Role::SystemAdmin | Role::Auditor))
}

fn tier_right(actor: &Actor, p: &Protection) -> TierRight {
    if !works_with_customers(actor) {
        return TierRight::None;
    }
    match p.tier {
        Tier::Company => {
            if actor.has(Role::SalesDirector) {
                TierRight::Manage
            } else if actor.is_executive() {
                TierRight::Read
            } else {
                TierRight::None
            }
        }
        Tier::Department => {
            if actor.manages(p.dept_id) {
                TierRight::Manage
            } else if p.dept_id.is_some() && actor.dept_id == p.dept_id {
                TierRight::Read
            } else {
                TierRight::None
            }
        }
        Tier::Personal => {
            if p.owner_id == Some(actor.user_id) {
                TierRight::Manage
            } else if actor.manages(p.dept_id) {
                TierRight::Read
            } else {
                TierRight::None
            }
        }
    }
}

/// May the actor create archives at all (each archive created is then theirs, personal tier by default)?
fn may_create(actor: &Actor) -> bool {
    works_with_customers(actor)
}

pub fn decide(actor: &Actor, action: Action, archive: Option<&Protection>, grant: Option<&GrantScope>) -> Decision {
    use Decision::*;
    if !actor.active {
        return Deny;
    }
    let Some(p) = archive else {
        // Actions not about one archive.
        return match action {
            Action::Create if may_create(actor) => Allow,
            // Listing is allowed; what is listed is decided per archive (see `scope`).
            Action::List => Allow,
            _ => Deny,
        };
    };
    let granted = |a: Action| grant.is_some_and(|g| g.allows(a));

    if p.secrecy == Secrecy::TopSecret {
        // 绝密: no one opens it through the system; the archivist may see it exists.
        return if action == Action::List && actor.has(Role::Archivist) { Allow } else { Deny };
    }
    if p.secrecy == Secrecy::Confidential {
        // 机密: viewing only, in the archive room.
        if matches!(action, Action::Export | Action::Print | Action::DownloadAttachment) {
            return Deny;
        }
    }

    let right = tier_right(actor, p);
    let reader = right >= TierRight::Read;
    let manager = right == TierRight::Manage;

    let base = match action {
        Action::List => {
            if reader || granted(Action::List) || (actor.has(Role::Archivist)) {
                Allow
            } else {
                Deny
            }
        }
        Action::Read | Action::Print | Action::Export | Action::DownloadAttachment => {
            if reader || granted(action) {
                Allow
            } else {
                NeedsApproval
            }
        }
        Action::ReadUnmasked => {
            if manager || granted(Action::ReadUnmasked) {
                Allow
            } else {
                NeedsApproval
            }
        }
        Action::Edit | Action::TransferOwner => {
            if manager {
                Allow
            } else {
                Deny
            }
        }
        Action::AddEntry => {
            // People who work with the customer record visits: managers, and members of a
            // department archive's department.
            if manager || (p.tier == Tier::Department && reader) {
                Allow
            } else {
                Deny
            }
        }
        Action::RequestDestruction => {
            if manager || actor.has(Role::Archivist) {
                Allow
            } else {
                Deny
            }
        }
        Action::Approve => {
            if approves(actor, p) {
                Allow
            } else {
                Deny
            }
        }
        Action::Create => Deny,
    };

    // Secrecy on top of the tier. 秘密 and 机密 need an approved grant for everything that shows
    // the content — reading, and also editing, which shows it — even for the tier's own readers
    // and managers; 机密 in addition only from the archive room. Transferring the owner does not
    // open the content (a handover must work for every archive).
    let shows_content = matches!(action, Action::Read | Action::ReadUnmasked | Action::Print | Action::Export | Action::DownloadAttachment);
    let opens_content = shows_content || action == Action::Edit;
    let grant_needed = if shows_content { action } else { Action::Read };
    match p.secrecy {
        Secrecy::Secret | Secrecy::Confidential if opens_content => {
            if p.secrecy == Secrecy::Confidential && !actor.in_archive_room {
                Deny
            } else if base == Allow && !granted(grant_needed) {
                NeedsApproval
            } else {
                base
            }
        }
        Secrecy::Confidential if matches!(action, Action::AddEntry | Action::TransferOwner) && !actor.in_archive_room => Deny,
        _ => base,
    }
}

/// Who approves requests to view an archive: its tier's manager — the sales director for
/// company archives, the managers of the archive's department otherwise — and the general
/// manager (the seeds' second step).
pub fn approves(actor: &Actor, p: &Protection) -> bool {
    if actor.has(Role::GeneralManager) {
        return true;
    }
    match p.tier {
        Tier::Company => actor.has(Role::SalesDirector),
        Tier::Department | Tier::Personal => actor.manages(p.dept_id) && actor.roles.iter().any(|r| is_manager_role(*r)),
    }
}

/// The approval chain for a request (查阅审批流程): who must approve, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStep {
    /// The manager of the archive's tier (sales director for company archives, a manager of the
    /// archive's department otherwise).
    ArchiveManager,
    GeneralManager,
}

impl ApprovalStep {
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStep::ArchiveManager => "archive_manager",
            ApprovalStep::GeneralManager => "general_manager",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "archive_manager" => Some(ApprovalStep::ArchiveManager),
            "general_manager" => Some(ApprovalStep::GeneralManager),
            _ => None,
        }
    }
    /// May `actor` decide this step for an archive with protection `p`?
    pub fn decided_by(self, actor: &Actor, p: &Protection) -> bool {
        if !actor.active {
            return false;
        }
        match self {
            ApprovalStep::GeneralManager => actor.has(Role::GeneralManager),
            ApprovalStep::ArchiveManager => match p.tier {
                Tier::Company => actor.has(Role::SalesDirector) || actor.has(Role::GeneralManager),
                Tier::Department | Tier::Personal => (actor.manages(p.dept_id) && actor.roles.iter().any(|r| is_manager_role(*r))) || actor.has(Role::GeneralManager),
            },
        }
    }
}

/// The default chain (from the seeds: the responsible manager, then the general manager).
pub fn approval_chain(_p: &Protection) -> Vec<ApprovalStep> {
    vec![ApprovalStep::ArchiveManager, ApprovalStep::GeneralManager]
}

/// The rules of `decide(…, List, …)` as data, for storage to turn into a WHERE clause.
/// An archive is in scope when any part admits it and it is not 绝密 (unless `top_secret`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListScope {
    /// Everything (the archivist's register view).
    pub all: bool,
    /// Company-tier archives.
    pub company: bool,
    /// Department-tier archives of these departments.
    pub dept_tier_depts: Vec<DeptId>,
    /// Personal-tier archives of these departments (the owner's department).
    pub personal_tier_depts: Vec<DeptId>,
    /// Personal-tier archives owned by this user.
    pub owner: Option<UserId>,
    /// Archives the user holds an active read grant on.
    pub granted: Vec<ArchiveId>,
    /// Include 绝密 archives (number only; the archivist).
    pub top_secret: bool,
}

impl ListScope {
    pub fn nothing() -> Self {
        ListScope::default()
    }

    /// Does the scope admit an archive? The pure twin of the SQL storage builds from the scope.
    pub fn admits(&self, id: ArchiveId, p: &Protection) -> bool {
        if p.secrecy == Secrecy::TopSecret && !self.top_secret {
            return false;
        }
        self.all
            || self.granted.contains(&id)
            || match p.tier {
                Tier::Company => self.company,
                Tier::Department => p.dept_id.is_some_and(|d| self.dept_tier_depts.contains(&d)),
                Tier::Personal => p.owner_id.is_some() && p.owner_id == self.owner || p.dept_id.is_some_and(|d| self.personal_tier_depts.contains(&d)),
            }
    }
}

/// The list scope of an actor, given the archives they hold read grants on.
pub fn list_scope(actor: &Actor, granted: Vec<ArchiveId>) -> ListScope {
    if !actor.active {
        return ListScope::nothing();
    }
    if !works_with_customers(actor) {
        return ListScope { granted, ..ListScope::nothing() };
    }
    if actor.has(Role::Archivist) {
        // The archivist keeps the register: every archive is listed (绝密 by number only).
        return ListScope { all: true, top_secret: true, granted, ..ListScope::default() };
    }
    let mut dept_tier: Vec<DeptId> = actor.managed_depts.clone();
    if let Some(d) = actor.dept_id {
        if !dept_tier.contains(&d) {
            dept_tier.push(d);
        }
    }
    ListScope {
        all: false,
        company: actor.is_executive(),
        dept_tier_depts: dept_tier,
        personal_tier_depts: actor.managed_depts.clone(),
        owner: Some(actor.user_id),
        granted,
        top_secret: false,
    }
}

/// The departments a manager manages: their own and every one below it, from (id, parent) pairs.
pub fn subtree(root: DeptId, depts: &[(DeptId, Option<DeptId>)]) -> Vec<DeptId> {
    let mut out = vec![root];
    let mut i = 0;
    while i < out.len() {
        let parent = out[i];
        for (id, p) in depts {
            if *p == Some(parent) && !out.contains(id) {
                out.push(*id);
            }
        }
        i += 1;
    }
    out
}
