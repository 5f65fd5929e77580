//! The policy settings over HTTP (策略设置): `GET /api/v1/policy` for the system administrator,
//! the auditor and the general manager; `PUT /api/v1/policy` for the system administrator only.
//! Who may do what, validation and the audit record are `dangan_app::policy`'s.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use dangan_app::policy::EffectivePolicy;
use dangan_core::lifecycle::{LifecycleSettings, PerGrade};
use dangan_core::policy::{ApprovalStep, ChainSetting, PolicySettings};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::problem::{from_app_error, Problem};
use crate::{ApiUser, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/policy", get(get_policy).put(put_policy))
}

#[derive(OpenApi)]
#[openapi(paths(get_policy, put_policy), components(schemas(PolicyDocument, PolicyUpdate, LifecycleSettings, PerGrade, ApproverKind, ChainSetting, ApprovalStep)))]
pub struct PolicyDoc;

/// An approver kind a chain step may name, with its label in the request's language.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApproverKind {
    pub code: ApprovalStep,
    pub label: &'static str,
}

/// The policy settings in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyDocument {
    /// Send back with a change; 0 while the defaults apply.
    pub version: i64,
    /// Longest grant, in hours.
    pub grant_max_hours: i64,
    /// Longest grant for a 秘密 archive, in hours.
    pub secret_grant_max_hours: i64,
    /// The approval chain per tier × secrecy (普通, 秘密, 机密).
    pub chains: Vec<ChainSetting>,
    /// Networks designated as the archive room (CIDR).
    pub archive_room_networks: Vec<String>,
    /// Review cycles, stale and expiry warnings, the customer pool (公海).
    pub lifecycle: LifecycleSettings,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<i64>,
    /// The approvers a chain step may name.
    pub approver_kinds: Vec<ApproverKind>,
    /// Whether the caller may change the settings (the system administrator).
    pub editable: bool,
}

/// A change of the policy settings: all of them, based on `version`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct PolicyUpdate {
    /// The version the change is based on (from `GET`); a stale version is refused with 409.
    pub version: i64,
    pub grant_max_hours: i64,
    pub secret_grant_max_hours: i64,
    /// Chains not given keep the default chain.
    #[serde(default)]
    pub chains: Vec<ChainSetting>,
    #[serde(default)]
    pub archive_room_networks: Vec<String>,
    /// Omitted: the lifecycle settings in force stay as they are.
    #[serde(default)]
    pub lifecycle: Option<LifecycleSettings>,
}

pub fn document(p: &EffectivePolicy, lang: &str, editable: bool) -> PolicyDocument {
    PolicyDocument {
        version: p.version,
        grant_max_hours: p.settings.grant_max_hours,
        secret_grant_max_hours: p.settings.secret_grant_max_hours,
        chains: p.settings.chains.clone(),
        archive_room_networks: p.settings.archive_room_networks.clone(),
        lifecycle: p.settings.lifecycle.clone(),
        updated_at: p.updated_at,
        updated_by: p.updated_by,
        approver_kinds: ApprovalStep::ALL.iter().map(|k| ApproverKind { code: *k, label: k.label(lang) }).collect(),
        editable,
    }
}

/// The policy settings: grant durations, approval chains, archive-room networks.
#[utoipa::path(get, path = "/api/v1/policy",
    responses((status = 200, body = PolicyDocument), (status = 403, body = Problem, description = "only the system administrator, auditor and general manager")))]
async fn get_policy(State(s): State<AppState>, u: ApiUser) -> Result<Json<PolicyDocument>, Response> {
    let p = s.app.policy_view(&u.user).await.map_err(|e| from_app_error(e, u.lang))?;
    Ok(Json(document(&p, u.lang, dangan_app::policy::may_edit(&u.user))))
}

/// Changes the policy settings (system administrator only). Every change is one `policy.change`
/// record in the audit trail with the settings before and after; all servers apply it within a
/// second.
#[utoipa::path(put, path = "/api/v1/policy", request_body = PolicyUpdate,
    responses((status = 200, body = PolicyDocument), (status = 403, body = Problem), (status = 409, body = Problem, description = "changed meanwhile: reload"),
        (status = 422, body = Problem, description = "invalid hours, chain or network, per field")))]
async fn put_policy(State(s): State<AppState>, u: ApiUser, Json(b): Json<PolicyUpdate>) -> Result<Json<PolicyDocument>, Response> {
    let lifecycle = match b.lifecycle {
        Some(l) => l,
        None => s.app.policy().await.map_err(|e| from_app_error(e, u.lang))?.settings.lifecycle.clone(),
    };
    let new = PolicySettings { grant_max_hours: b.grant_max_hours, secret_grant_max_hours: b.secret_grant_max_hours, chains: b.chains, archive_room_networks: b.archive_room_networks, lifecycle };
    let p = s.app.update_policy(&u.user, b.version, new).await.map_err(|e| from_app_error(e, u.lang))?;
    Ok(Json(document(&p, u.lang, true)))
}
