//! Access control in the application: building the policy's `Actor` (departments managed,
//! archive room), the one `authorize` call every service makes, list scopes, and the approval
//! workflow (查阅审批) that creates time-limited grants.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use dangan_core::audit::AuditAction;
use dangan_core::policy::{self, Action, Actor, ApprovalStep, Decision, GrantHolder, GrantScope, ListScope, Protection};
use dangan_core::validate::{ErrorCode, FieldError};
use dangan_core::{Archive, ArchiveId, DeptId, Role, Secrecy};
use dangan_store::{AccessRequest, ApprovalRecord, Grant, NewAccessRequest, RequestQuery, RequestStatus};
use serde::Serialize;

use crate::{protection_of, App, AppError, Principal, Result};

/// Departments change rarely and every decision needs the tree; keep it for a short while.
const DEPARTMENT_CACHE_TTL: Duration = Duration::from_secs(30);

#[derive(Default)]
pub(crate) struct DepartmentCache {
    tree: Mutex<Option<(Instant, Vec<(DeptId, Option<DeptId>)>)>>,
}

impl DepartmentCache {
    pub(crate) fn clear(&self) {
        *self.tree.lock().expect("department cache") = None;
    }
}

/// Is `ip` in one of the networks designated as the archive room?
pub fn in_networks(ip: IpAddr, networks: &[ipnet::IpNet]) -> bool {
    networks.iter().any(|n| n.contains(&ip))
}

/// A request, its decisions so far, and what the viewer may do with it.
#[derive(Debug, Clone, Serialize)]
pub struct RequestView {
    #[serde(flatten)]
    pub request: AccessRequest,
    pub archive_no: String,
    pub decisions: Vec<ApprovalRecord>,
    /// The viewer may decide the current step.
    pub can_decide: bool,
}

impl App {
    async fn department_tree(&self) -> Result<Vec<(DeptId, Option<DeptId>)>> {
        if let Some((at, tree)) = self.departments.tree.lock().expect("department cache").as_ref() {
            if at.elapsed() < DEPARTMENT_CACHE_TTL {
                return Ok(tree.clone());
            }
        }
        let tree: Vec<_> = self.store.list_departments().await?.into_iter().map(|d| (d.id, d.parent_id)).collect();
        *self.departments.tree.lock().expect("department cache") = Some((Instant::now(), tree.clone()));
        Ok(tree)
    }

    /// The policy's view of the principal.
    pub async fn actor(&self, p: &Principal) -> Result<Actor> {
        let managed_depts = match p.user.dept_id {
            Some(d) if p.user.roles.iter().any(|r| policy::is_manager_role(*r)) => policy::subtree(d, &self.department_tree().await?),
            _ => Vec::new(),
        };
        Ok(Actor {
            user_id: p.user.id,
            dept_id: p.user.dept_id,
            roles: p.user.roles.clone(),
            active: p.user.active,
            managed_depts,
            in_archive_room: p.in_archive_room,
        })
    }

    /// The one choke point for one archive: the policy's decision, with the principal's active
    /// grants when the tier alone does not allow it. A user who may not even see the archive
    /// listed gets NotFound, so a refusal reveals nothing.
    pub async fn authorize(&self, p: &Principal, action: Action, archive: &Archive) -> Result<()> {
        self.authorize_basis(p, action, archive).await.map(|_| ())
    }

    /// As `authorize`, saying what allowed it: "" for the principal's own rights, or
    /// `grant:<id>,…` for the grants it took (recorded in the audit trail).
    pub async fn authorize_basis(&self, p: &Principal, action: Action, archive: &Archive) -> Result<String> {
        let actor = self.actor(p).await?;
        let prot = protection_of(&archive.data);
        let mut grant = None;
        let mut basis = String::new();
        let mut decision = policy::decide(&actor, action, Some(&prot), None);
        if decision != Decision::Allow {
            let grants = self.store.active_grants(p.user.id, Some(archive.id), Utc::now()).await?;
            if !grants.is_empty() {
                let scope = GrantScope { actions: grants.iter().flat_map(|g| g.actions.iter().copied()).collect() };
                decision = policy::decide(&actor, action, Some(&prot), Some(&scope));
                grant = Some(scope);
                basis = grants.iter().filter(|g| g.actions.contains(&action)).map(|g| format!("grant:{}", g.id)).collect::<Vec<_>>().join(",");
            }
        }
        match decision {
            Decision::Allow => Ok(basis),
            Decision::NeedsApproval => Err(AppError::NeedsApproval { archive_id: archive.id, archive_no: archive.archive_no.clone() }),
            Decision::Deny => {
                let listed = policy::decide(&actor, Action::List, Some(&prot), grant.as_ref()) == Decision::Allow;
                Err(if listed && action != Action::List { AppError::Forbidden } else { AppError::NotFound })
            }
        }
    }

    /// The decision alone (no error), e.g. to choose between masked and unmasked display.
    pub async fn allows(&self, p: &Principal, action: Action, archive: &Archive) -> Result<bool> {
        match self.authorize(p, action, archive).await {
            Ok(()) => Ok(true),
            Err(AppError::NeedsApproval { .. } | AppError::Forbidden | AppError::NotFound) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Actions not about one archive (create, list).
    pub async fn authorize_general(&self, p: &Principal, action: Action) -> Result<()> {
        match policy::decide(&self.actor(p).await?, action, None, None) {
            Decision::Allow => Ok(()),
            _ => Err(AppError::Forbidden),
        }
    }

    /// What the principal may see, for a query: lists, counts, search, exports, reports. The
    /// principal's grants are looked up by storage inside that query (`ListScope::grants_of`),
    /// so a list costs one trip to the database, and a grant revoked a moment ago no longer counts.
    pub async fn query_scope(&self, p: &Principal) -> Result<ListScope> {
        let actor = self.actor(p).await?;
        let mut scope = policy::list_scope(&actor, Vec::new());
        // A scope that already admits every archive needs no grants; nor does an inactive user.
        if actor.active && !scope.all {
            scope.grants_of = Some(GrantHolder { user_id: p.user.id, at: Utc::now() });
        }
        self.widen_to_all(&mut scope).await?;
        Ok(scope)
    }

    /// What the principal may see, with the grants read into the scope, for a decision in
    /// memory (`ListScope::admits`: which duplicate candidates to show, say).
    pub async fn list_scope(&self, p: &Principal) -> Result<ListScope> {
        let actor = self.actor(p).await?;
        let granted: Vec<ArchiveId> = self
            .store
            .active_grants(p.user.id, None, Utc::now())
            .await?
            .into_iter()
            .filter(|g| g.actions.contains(&Action::Read))
            .map(|g| g.archive_id)
            .collect();
        let mut scope = policy::list_scope(&actor, granted);
        self.widen_to_all(&mut scope).await?;
        Ok(scope)
    }

    /// An executive managing every department sees every tier: say so plainly, so the query is
    /// a plain scan rather than a long OR.
    async fn widen_to_all(&self, scope: &mut ListScope) -> Result<()> {
        if scope.company && !scope.all {
            let all: Vec<DeptId> = self.department_tree().await?.into_iter().map(|(id, _)| id).collect();
            if all.iter().all(|d| scope.dept_tier_depts.contains(d) && scope.personal_tier_depts.contains(d)) {
                scope.all = true;
                scope.grants_of = None;
            }
        }
        Ok(())
    }

    /// Files a request to view an archive (查阅申请): purpose, sections, actions, and how long.
    pub async fn request_access(&self, p: &Principal, archive_id: ArchiveId, purpose: &str, sections: Vec<String>, actions: Vec<Action>, hours: i64) -> Result<AccessRequest> {
        let archive = self.store.get_archive(archive_id).await?.ok_or(AppError::NotFound)?;
        let prot = protection_of(&archive.data);
        // Only an archive the policy would open after approval can be asked for (judged as if
        // from the archive room, where 机密 archives are read); anything else stays unknown.
        let mut in_room = self.actor(p).await?;
        in_room.in_archive_room = true;
        if policy::decide(&in_room, Action::Read, Some(&prot), None) == Decision::Deny {
            return Err(AppError::NotFound);
        }
        if prot.secrecy == Secrecy::TopSecret {
            // 绝密 archives are not opened through the system, so there is nothing to grant.
            return Err(AppError::Forbidden);
        }
        let purpose = purpose.trim();
        if purpose.is_empty() {
            return Err(AppError::Validation(vec![FieldError::new("purpose", ErrorCode::Required)]));
        }
        let mut actions: Vec<Action> = actions.into_iter().filter(|a| a.grantable()).collect();
        if !actions.contains(&Action::Read) {
            actions.insert(0, Action::Read);
        }
        actions.dedup();
        let requester = self.actor(p).await?;
        let settings = self.policy().await?;
        let hours = hours.clamp(1, settings.settings.max_grant_hours(prot.secrecy));
        let req = NewAccessRequest {
            archive_id,
            requester_id: p.user.id,
            purpose: purpose.to_string(),
            sections: sections.into_iter().map(|s| s.trim().replace(',', "，")).filter(|s| !s.is_empty()).collect(),
            actions,
            hours,
            chain: policy::approval_chain(&settings.settings, &prot, &requester),
        };
        Ok(self.store.create_access_request(&req, &self.event(p, AuditAction::AccessRequest)).await?)
    }

    async fn max_grant_hours(&self, prot: &Protection) -> Result<i64> {
        Ok(self.policy().await?.settings.max_grant_hours(prot.secrecy))
    }

    /// The department of a request's requester (the `RequesterDeptManager` step is theirs).
    async fn requester_dept(&self, req: &AccessRequest) -> Result<Option<DeptId>> {
        Ok(self.store.get_user(req.requester_id).await?.and_then(|u| u.dept_id))
    }

    /// Can the principal decide the request's current step?
    async fn can_decide(&self, p: &Principal, req: &AccessRequest, prot: &Protection) -> Result<bool> {
        if req.status != RequestStatus::Pending || req.requester_id == p.user.id {
            return Ok(false);
        }
        let Some(step) = req.chain.get(req.step as usize) else { return Ok(false) };
        Ok(step.decided_by(&self.actor(p).await?, prot, self.requester_dept(req).await?))
    }

    /// Approves or rejects the current step; the last approval creates the grant.
    pub async fn decide_request(&self, p: &Principal, request_id: i64, approve: bool, comment: &str) -> Result<AccessRequest> {
        let req = self.store.get_access_request(request_id).await?.ok_or(AppError::NotFound)?;
        let archive = self.store.get_archive(req.archive_id).await?.ok_or(AppError::NotFound)?;
        let prot = protection_of(&archive.data);
        if !self.can_decide(p, &req, &prot).await? {
            return Err(AppError::Forbidden);
        }
        if !approve && comment.trim().is_empty() {
            // A rejection says why, so the requester knows what to change.
            return Err(AppError::Validation(vec![FieldError::new("comment", ErrorCode::Required)]));
        }
        let event = self.event(p, if approve { AuditAction::AccessApprove } else { AuditAction::AccessReject });
        let expires = event.at + chrono::Duration::hours(req.hours.clamp(1, self.max_grant_hours(&prot).await?));
        Ok(self.store.decide_access_request(request_id, req.step, p.user.id, approve, comment.trim(), expires, &event).await?)
    }

    pub async fn cancel_request(&self, p: &Principal, request_id: i64) -> Result<AccessRequest> {
        Ok(self.store.cancel_access_request(request_id, p.user.id, &self.event(p, AuditAction::AccessCancel)).await?)
    }

    async fn request_view(&self, p: &Principal, req: AccessRequest) -> Result<RequestView> {
        let archive = self.store.get_archive(req.archive_id).await?.ok_or(AppError::NotFound)?;
        let prot = protection_of(&archive.data);
        let can_decide = self.can_decide(p, &req, &prot).await?;
        let decisions = self.store.list_decisions(req.id).await?;
        Ok(RequestView { request: req, archive_no: archive.archive_no, decisions, can_decide })
    }

    /// One request, for its requester, anyone who can approve a step of it, and the archivist.
    pub async fn get_request(&self, p: &Principal, request_id: i64) -> Result<RequestView> {
        let req = self.store.get_access_request(request_id).await?.ok_or(AppError::NotFound)?;
        let archive = self.store.get_archive(req.archive_id).await?.ok_or(AppError::NotFound)?;
        let prot = protection_of(&archive.data);
        let actor = self.actor(p).await?;
        let requester_dept = self.requester_dept(&req).await?;
        let involved = req.requester_id == p.user.id || p.user.has_role(Role::Archivist) || req.chain.iter().any(|s| s.decided_by(&actor, &prot, requester_dept));
        if !involved {
            return Err(AppError::NotFound);
        }
        self.request_view(p, req).await
    }

    /// The principal's own requests, newest first.
    pub async fn my_requests(&self, p: &Principal) -> Result<Vec<RequestView>> {
        let reqs = self.store.list_access_requests(&RequestQuery { requester_id: Some(p.user.id), limit: 200, ..Default::default() }).await?;
        let mut out = Vec::with_capacity(reqs.len());
        for r in reqs {
            out.push(self.request_view(p, r).await?);
        }
        Ok(out)
    }

    /// Pending requests whose current step the principal may decide (审批待办).
    pub async fn approval_inbox(&self, p: &Principal) -> Result<Vec<RequestView>> {
        let pending = self.store.list_access_requests(&RequestQuery { status: Some(RequestStatus::Pending), limit: 1000, ..Default::default() }).await?;
        // Who the principal is and where requesters sit are read once for the whole inbox, not
        // per request; only the requests they may decide load their decisions.
        let actor = self.actor(p).await?;
        let depts: std::collections::HashMap<dangan_core::UserId, Option<DeptId>> = self.store.list_users().await?.into_iter().map(|u| (u.id, u.dept_id)).collect();
        let mut out = Vec::new();
        for req in pending {
            if req.requester_id == p.user.id {
                continue;
            }
            let Some(step) = req.chain.get(req.step as usize) else { continue };
            let Some(archive) = self.store.get_archive(req.archive_id).await? else { continue };
            let prot = protection_of(&archive.data);
            if !step.decided_by(&actor, &prot, depts.get(&req.requester_id).copied().flatten()) {
                continue;
            }
            let decisions = self.store.list_decisions(req.id).await?;
            out.push(RequestView { request: req, archive_no: archive.archive_no, decisions, can_decide: true });
        }
        Ok(out)
    }

    /// The principal's active grants, soonest to expire first.
    pub async fn my_grants(&self, p: &Principal) -> Result<Vec<Grant>> {
        Ok(self.store.active_grants(p.user.id, None, Utc::now()).await?)
    }
}

/// The approval steps in order, for display.
pub fn step_label(step: ApprovalStep, lang: &str) -> &'static str {
    step.label(lang)
}
