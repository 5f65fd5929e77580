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

use chrono::{DateTime, Utc};
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

/// Settings an administrator can change (策略设置), stored in the database and changed only by
/// the system administrator. Defaults are the seeds': a fresh database behaves as these say.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct PolicySettings {
    /// Longest grant for a 秘密 archive, in hours (the seeds: at most 4).
    pub secret_grant_max_hours: i64,
    /// Longest grant for any other archive, in hours.
    pub grant_max_hours: i64,
    /// The approval chain per tier × secrecy (普通, 秘密, 机密; 绝密 is never opened, so it has
    /// none). A missing pair uses the default chain.
    #[serde(default)]
    pub chains: Vec<ChainSetting>,
    /// Networks designated as the archive room (CIDR, e.g. 10.8.1.0/24): 机密 archives are read
    /// only from these addresses.
    #[serde(default)]
    pub archive_room_networks: Vec<String>,
    /// Review cycles, stale and expiry warnings, the customer pool (see `lifecycle`).
    #[serde(default)]
    pub lifecycle: crate::lifecycle::LifecycleSettings,
}

/// The approval chain for one tier × secrecy: the approvers, in order.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ChainSetting {
    pub tier: Tier,
    pub secrecy: Secrecy,
    pub steps: Vec<ApprovalStep>,
}

/// Longest grant an administrator may allow, in hours (30 days).
pub const MAX_GRANT_HOURS: i64 = 720;
/// Longest approval chain.
pub const MAX_CHAIN_STEPS: usize = 6;

/// The secrecy levels a request can be filed for (绝密 is opened by no one).
pub const REQUESTABLE_SECRECY: [Secrecy; 3] = [Secrecy::Normal, Secrecy::Secret, Secrecy::Confidential];

impl Default for PolicySettings {
    fn default() -> Self {
        let mut chains = Vec::new();
        for &tier in Tier::ALL {
            for secrecy in REQUESTABLE_SECRECY {
                chains.push(ChainSetting { tier, secrecy, steps: DEFAULT_CHAIN.to_vec() });
            }
        }
        PolicySettings { secret_grant_max_hours: 4, grant_max_hours: 72, chains, archive_room_networks: Vec::new(), lifecycle: Default::default() }
    }
}

/// The seeds' chain (查阅档案审批表): the responsible manager signs, the general manager approves.
pub const DEFAULT_CHAIN: [ApprovalStep; 2] = [ApprovalStep::ArchiveManager, ApprovalStep::GeneralManager];

impl PolicySettings {
    /// The configured chain for a tier × secrecy (the default chain when none is configured).
    pub fn chain_for(&self, tier: Tier, secrecy: Secrecy) -> Vec<ApprovalStep> {
        self.chains.iter().find(|c| c.tier == tier && c.secrecy == secrecy).map(|c| c.steps.clone()).unwrap_or_else(|| DEFAULT_CHAIN.to_vec())
    }

    /// Longest grant for an archive of this secrecy, in hours.
    pub fn max_grant_hours(&self, secrecy: Secrecy) -> i64 {
        if secrecy == Secrecy::Secret {
            self.secret_grant_max_hours
        } else {
            self.grant_max_hours
        }
    }

    /// Puts the chains in canonical form: one per requestable tier × secrecy, in table order
    /// (missing pairs get the default chain, 绝密 and duplicates are dropped).
    pub fn normalized(mut self) -> Self {
        let mut chains = Vec::new();
        for &tier in Tier::ALL {
            for secrecy in REQUESTABLE_SECRECY {
                chains.push(ChainSetting { tier, secrecy, steps: self.chain_for(tier, secrecy) });
            }
        }
        self.chains = chains;
        self.archive_room_networks = self.archive_room_networks.iter().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
        self
    }

    /// Checks everything but the network syntax (the caller parses networks): hours in range,
    /// every chain non-empty, not too long and without a repeated approver. Errors name the field.
    pub fn validate(&self) -> Vec<crate::validate::FieldError> {
        use crate::validate::{ErrorCode, FieldError};
        let mut errors = Vec::new();
        if !(1..=MAX_GRANT_HOURS).contains(&self.grant_max_hours) {
            errors.push(FieldError::new("grant_max_hours", ErrorCode::Number));
        }
        if !(1..=MAX_GRANT_HOURS).contains(&self.secret_grant_max_hours) {
            errors.push(FieldError::new("secret_grant_max_hours", ErrorCode::Number));
        }
        for c in &self.chains {
            let mut seen = Vec::new();
            let repeated = c.steps.iter().any(|s| {
                let dup = seen.contains(s);
                seen.push(*s);
                dup
            });
            if c.steps.is_empty() || c.steps.len() > MAX_CHAIN_STEPS || repeated {
                errors.push(FieldError::new(format!("chains.{}.{}", c.tier.as_str(), c.secrecy.as_str()), ErrorCode::ApprovalChain));
            }
        }
        errors.extend(self.lifecycle.validate());
        errors
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

/// One step of an approval chain (查阅审批流程): the kind of approver who decides it. The kinds
/// are the approvers the seeds name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalStep {
    /// The manager of the archive's tier (分级管理): the sales director for company archives, a
    /// manager of the archive's department otherwise.
    ArchiveManager,
    /// A manager of the requester's department (“经本部门经理签字”).
    RequesterDeptManager,
    /// A manager of the archive's department (for a personal archive, the owner's department:
    /// “他人查阅需部门经理批准”).
    ArchiveDeptManager,
    /// The sales director (营销总监).
    SalesDirector,
    /// The VP of sales (营销副总, “分管副总经理”).
    SalesVp,
    /// The general manager (总经理).
    GeneralManager,
}

impl ApprovalStep {
    pub const ALL: [ApprovalStep; 6] = [
        ApprovalStep::ArchiveManager,
        ApprovalStep::RequesterDeptManager,
        ApprovalStep::ArchiveDeptManager,
        ApprovalStep::SalesDirector,
        ApprovalStep::SalesVp,
        ApprovalStep::GeneralManager,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStep::ArchiveManager => "archive_manager",
            ApprovalStep::RequesterDeptManager => "requester_dept_manager",
            ApprovalStep::ArchiveDeptManager => "archive_dept_manager",
            ApprovalStep::SalesDirector => "sales_director",
            ApprovalStep::SalesVp => "sales_vp",
            ApprovalStep::GeneralManager => "general_manager",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.as_str() == s)
    }
    /// The approver's name in `lang` (zh-CN, zh-TW, en).
    pub fn label(self, lang: &str) -> &'static str {
        let (cn, tw, en) = match self {
            ApprovalStep::ArchiveManager => ("主管经理", "主管經理", "Responsible manager"),
            ApprovalStep::RequesterDeptManager => ("申请人部门经理", "申請人部門經理", "Requester's department manager"),
            ApprovalStep::ArchiveDeptManager => ("档案所属部门经理", "檔案所屬部門經理", "Archive's department manager"),
            ApprovalStep::SalesDirector => ("营销总监", "營銷總監", "Sales director"),
            ApprovalStep::SalesVp => ("营销副总", "營銷副總", "VP of sales"),
            ApprovalStep::GeneralManager => ("总经理", "總經理", "General manager"),
        };
        match lang {
            "en" => en,
            "zh-TW" => tw,
            _ => cn,
        }
    }

    /// Where the step stands in the company's hierarchy: department managers 1, sales director
    /// 2, VP of sales 3, general manager 4. The tier manager of a company archive is the director.
    fn rank(self, p: &Protection) -> u8 {
        match self {
            ApprovalStep::ArchiveManager if p.tier == Tier::Company => 2,
            ApprovalStep::ArchiveManager | ApprovalStep::RequesterDeptManager | ApprovalStep::ArchiveDeptManager => 1,
            ApprovalStep::SalesDirector => 2,
            ApprovalStep::SalesVp => 3,
            ApprovalStep::GeneralManager => 4,
        }
    }

    /// May `actor` decide this step of a request for an archive with protection `p`, filed by
    /// someone of department `requester_dept`? The holder of the position, and the general
    /// manager, who may decide every step. (Never the requester: the caller checks that.)
    pub fn decided_by(self, actor: &Actor, p: &Protection, requester_dept: Option<DeptId>) -> bool {
        actor.active && (actor.has(Role::GeneralManager) || self.held_by(actor, p, requester_dept))
    }

    /// Does `actor` hold this step's position (without the general manager's reach over all)?
    fn held_by(self, actor: &Actor, p: &Protection, requester_dept: Option<DeptId>) -> bool {
        let manages = |dept: Option<DeptId>| actor.manages(dept) && actor.roles.iter().any(|r| is_manager_role(*r));
        match self {
            ApprovalStep::GeneralManager => actor.has(Role::GeneralManager),
            ApprovalStep::SalesVp => actor.has(Role::SalesVp),
            ApprovalStep::SalesDirector => actor.has(Role::SalesDirector),
            ApprovalStep::ArchiveManager => match p.tier {
                Tier::Company => actor.has(Role::SalesDirector),
                Tier::Department | Tier::Personal => manages(p.dept_id),
            },
            ApprovalStep::ArchiveDeptManager => manages(p.dept_id),
            ApprovalStep::RequesterDeptManager => manages(requester_dept),
        }
    }
}

/// The highest position the actor holds (see `ApprovalStep::rank`), 0 for non-managers.
fn actor_rank(actor: &Actor) -> u8 {
    actor
        .roles
        .iter()
        .map(|r| match r {
            Role::GeneralManager => 4,
            Role::SalesVp => 3,
            Role::SalesDirector => 2,
            Role::DeptManager => 1,
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// The approval chain for a request by `requester` (查阅审批流程): the configured chain for the
/// archive's tier × secrecy, with the steps the requester would decide themself passed upwards.
///
/// No one approves their own request (the seeds: a request is signed by the requester's manager
/// and approved above). A step the requester could decide goes to the next approver above both
/// the step and the requester — sales director, then VP of sales, then general manager. The
/// general manager's own request goes to the VP of sales, the seeds' deputy (“秘密级档案的借阅
/// 必须由总经理或分管副总经理批准”; “总经理因公外出时可委托副总经理…审批”), then the sales
/// director. A step that ends up the same as an earlier one is dropped (one approver does not
/// sign twice). So no chain waits on its own requester, and none is empty.
pub fn approval_chain(settings: &PolicySettings, p: &Protection, requester: &Actor) -> Vec<ApprovalStep> {
    let own_rank = actor_rank(requester);
    let mut out: Vec<ApprovalStep> = Vec::new();
    for step in settings.chain_for(p.tier, p.secrecy) {
        let mut chosen = step;
        if step.held_by(requester, p, requester.dept_id) {
            let floor = own_rank.max(step.rank(p));
            let above = [ApprovalStep::SalesDirector, ApprovalStep::SalesVp, ApprovalStep::GeneralManager].into_iter().filter(|s| s.rank(p) > floor);
            let deputies = [ApprovalStep::SalesVp, ApprovalStep::SalesDirector];
            if let Some(s) = above.chain(deputies).find(|s| !s.held_by(requester, p, requester.dept_id)) {
                chosen = s;
            }
            // Otherwise the requester holds every position: the step stays, and another holder
            // of it decides (the requester never decides their own request).
        }
        if !out.contains(&chosen) {
            out.push(chosen);
        }
    }
    out
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
    /// Also the archives this user holds an active read grant on at this instant, looked up by
    /// storage inside the query itself: a list then needs no separate trip for the grants, and a
    /// grant revoked through another server counts at once. `admits` cannot see these; a scope
    /// judged in memory lists its grants in `granted` instead.
    pub grants_of: Option<GrantHolder>,
    /// Include 绝密 archives (number only; the archivist).
    pub top_secret: bool,
}

/// Whose active read grants, valid at which instant (see `ListScope::grants_of`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantHolder {
    pub user_id: UserId,
    pub at: DateTime<Utc>,
}

impl ListScope {
    pub fn nothing() -> Self {
        ListScope::default()
    }

    /// Does the scope admit an archive? The pure twin of the SQL storage builds from the scope.
    /// Only for a scope whose grants are listed in `granted` (`grants_of` is for queries).
    pub fn admits(&self, id: ArchiveId, p: &Protection) -> bool {
        debug_assert!(self.grants_of.is_none(), "a scope judged in memory lists its grants in `granted`");
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
        grants_of: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use ApprovalStep::*;

    // HQ(1) → 营销中心(2) → 销售一部(3), 销售二部(4).
    const DEPTS: [(DeptId, Option<DeptId>); 4] = [(1, None), (2, Some(1)), (3, Some(2)), (4, Some(2))];

    fn actor(id: UserId, dept: DeptId, roles: &[Role]) -> Actor {
        let managed_depts = if roles.iter().any(|r| is_manager_role(*r)) { subtree(dept, &DEPTS) } else { Vec::new() };
        Actor { user_id: id, dept_id: Some(dept), roles: roles.to_vec(), active: true, managed_depts, in_archive_room: false }
    }

    fn archive(tier: Tier, secrecy: Secrecy) -> Protection {
        Protection { owner_id: Some(100), dept_id: Some(3), tier, secrecy }
    }

    #[test]
    fn the_default_chain_for_an_ordinary_requester_is_the_seeds() {
        let s = PolicySettings::default();
        let clerk = actor(103, 4, &[Role::Salesperson]);
        for &tier in Tier::ALL {
            for secrecy in REQUESTABLE_SECRECY {
                assert_eq!(approval_chain(&s, &archive(tier, secrecy), &clerk), vec![ArchiveManager, GeneralManager]);
            }
        }
    }

    #[test]
    fn no_one_is_a_step_of_their_own_request() {
        let s = PolicySettings::default();
        let gm = actor(1, 1, &[Role::GeneralManager]);
        let vp = actor(2, 2, &[Role::SalesVp]);
        let director = actor(3, 2, &[Role::SalesDirector]);
        let manager = actor(4, 3, &[Role::DeptManager]);
        let other_manager = actor(5, 4, &[Role::DeptManager]);
        let cases: &[(&Actor, Tier, &[ApprovalStep])] = &[
            // The department manager of the archive's department: the director signs instead.
            (&manager, Tier::Department, &[SalesDirector, GeneralManager]),
            (&manager, Tier::Personal, &[SalesDirector, GeneralManager]),
            // Not their department: the chain is the ordinary one.
            (&other_manager, Tier::Department, &[ArchiveManager, GeneralManager]),
            // The director on a company archive (they manage the tier): the VP signs instead.
            (&director, Tier::Company, &[SalesVp, GeneralManager]),
            // The director manages 营销中心's subtree, so department archives too.
            (&director, Tier::Department, &[SalesVp, GeneralManager]),
            // The VP: the step above the VP is the general manager, who then signs once.
            (&vp, Tier::Department, &[GeneralManager]),
            (&vp, Tier::Company, &[ArchiveManager, GeneralManager]),
            // The general manager: the VP of sales decides (the seeds' deputy).
            (&gm, Tier::Company, &[ArchiveManager, SalesVp]),
            (&gm, Tier::Department, &[SalesVp]),
        ];
        for (who, tier, want) in cases {
            let p = archive(*tier, Secrecy::Secret);
            let chain = approval_chain(&s, &p, who);
            assert_eq!(&chain, want, "{:?} asks for a {tier:?} archive", who.roles);
            for step in &chain {
                assert!(!step.held_by(who, &p, who.dept_id), "{:?}: {step:?} is the requester's own position", who.roles);
            }
        }
    }

    #[test]
    fn configured_chains_escalate_too() {
        let s = PolicySettings {
            chains: vec![ChainSetting { tier: Tier::Personal, secrecy: Secrecy::Normal, steps: vec![RequesterDeptManager, ArchiveDeptManager, SalesVp] }],
            ..Default::default()
        };
        let clerk = actor(103, 4, &[Role::Salesperson]);
        let p = archive(Tier::Personal, Secrecy::Normal);
        assert_eq!(approval_chain(&s, &p, &clerk), vec![RequesterDeptManager, ArchiveDeptManager, SalesVp]);
        // The manager of 销售二部 asking: their own step goes to the director.
        let m2 = actor(5, 4, &[Role::DeptManager]);
        assert_eq!(approval_chain(&s, &p, &m2), vec![SalesDirector, ArchiveDeptManager, SalesVp]);
        // The manager of 销售一部 holds both department steps: both go up, to the director once.
        let m1 = actor(4, 3, &[Role::DeptManager]);
        assert_eq!(approval_chain(&s, &p, &m1), vec![SalesDirector, SalesVp]);
        // Other pairs keep the default.
        assert_eq!(approval_chain(&s, &archive(Tier::Company, Secrecy::Secret), &clerk), DEFAULT_CHAIN.to_vec());
    }

    #[test]
    fn steps_are_decided_by_their_holders_and_the_general_manager() {
        let p = archive(Tier::Personal, Secrecy::Normal);
        let m1 = actor(4, 3, &[Role::DeptManager]);
        let m2 = actor(5, 4, &[Role::DeptManager]);
        let gm = actor(1, 1, &[Role::GeneralManager]);
        assert!(RequesterDeptManager.decided_by(&m2, &p, Some(4)) && !RequesterDeptManager.decided_by(&m1, &p, Some(4)));
        assert!(ArchiveDeptManager.decided_by(&m1, &p, Some(4)) && !ArchiveDeptManager.decided_by(&m2, &p, Some(4)));
        for k in ApprovalStep::ALL {
            assert!(k.decided_by(&gm, &p, Some(4)));
            assert_eq!(ApprovalStep::parse(k.as_str()), Some(k));
        }
    }

    #[test]
    fn settings_validate_and_normalize() {
        let s = PolicySettings::default();
        assert!(s.validate().is_empty());
        assert_eq!(s.clone().normalized(), s, "the defaults are already canonical");
        let bad = PolicySettings {
            grant_max_hours: 0,
            secret_grant_max_hours: 721,
            chains: vec![
                ChainSetting { tier: Tier::Company, secrecy: Secrecy::Secret, steps: vec![] },
                ChainSetting { tier: Tier::Personal, secrecy: Secrecy::Normal, steps: vec![GeneralManager, GeneralManager] },
            ],
            archive_room_networks: vec![],
            lifecycle: Default::default(),
        }
        .normalized();
        let fields: Vec<String> = bad.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["grant_max_hours", "secret_grant_max_hours", "chains.company.secret", "chains.personal.normal"]);
        let e = crate::validate::FieldError::new("chains.company.secret", crate::validate::ErrorCode::ApprovalChain);
        assert_eq!(e.message("zh-CN"), "公司级·秘密档案的审批流程至少要有一步，最多6步，同一审批人不能出现两次");
        let e = crate::validate::FieldError::new("archive_room_networks[1]", crate::validate::ErrorCode::Network);
        assert!(e.message("zh-CN").starts_with("档案室网络第2项不是有效的网络地址"), "{}", e.message("zh-CN"));
        assert!(e.message("en").starts_with("Archive-room networks, item 2, is not a network"), "{}", e.message("en"));
    }
}
