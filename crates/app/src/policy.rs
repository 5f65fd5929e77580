//! Policy settings an administrator changes (策略设置): grant durations, the approval chains per
//! tier × secrecy, and the archive-room networks. Stored in the database (`policy_settings`, one
//! versioned row); until the first change the defaults apply — the seeds' (`PolicySettings::
//! default`), with the archive-room networks given in configuration (`--archive-room-networks`).
//!
//! **Several servers.** Each server keeps the settings it last read with their version, and
//! compares that version with the database's at most once every `REFRESH` (one primary-key
//! lookup, shared by all requests in that interval); a changed version is reloaded before the
//! request is decided. So a change made through one server applies on that server at once, and
//! on every other server sharing the database within `REFRESH` (1 s). A failed check keeps the
//! settings last read and retries on the next request.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dangan_core::audit::{AuditAction, AuditEvent};
use dangan_core::policy::PolicySettings;
use dangan_core::validate::{ErrorCode, FieldError};
use dangan_core::{Role, UserId};
use serde::Serialize;

use crate::{App, AppError, Principal, Result};

/// How long a server uses its copy of the settings before checking the stored version again:
/// the bound on how late another server's change applies here.
pub const REFRESH: Duration = Duration::from_secs(1);

/// The settings in force, as a server uses them.
#[derive(Debug, Clone, Serialize)]
pub struct EffectivePolicy {
    /// 0 for the defaults (nothing stored yet); every change adds one.
    pub version: i64,
    #[serde(flatten)]
    pub settings: PolicySettings,
    #[serde(skip)]
    pub networks: Vec<ipnet::IpNet>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<UserId>,
}

#[derive(Default)]
pub(crate) struct PolicyCache {
    current: Mutex<Option<Arc<EffectivePolicy>>>,
    checked: Mutex<Option<Instant>>,
    /// One version check at a time; the others use the copy they have.
    refreshing: tokio::sync::Mutex<()>,
}

/// Parses the archive-room networks (CIDR or one address), each error naming its item.
pub fn parse_networks(items: &[String]) -> Result<Vec<ipnet::IpNet>, Vec<FieldError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, n) in items.iter().enumerate() {
        let n = n.trim();
        match n.parse::<ipnet::IpNet>().or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)) {
            Ok(net) => out.push(net.trunc()),
            Err(_) => errors.push(FieldError::new(format!("archive_room_networks[{i}]"), ErrorCode::Network)),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Who may see the settings: the system administrator (who changes them), the auditor and the
/// general manager.
pub fn may_view(p: &Principal) -> bool {
    p.user.active && [Role::SystemAdmin, Role::Auditor, Role::GeneralManager].iter().any(|r| p.user.has_role(*r))
}

/// Who may change them: the system administrator only.
pub fn may_edit(p: &Principal) -> bool {
    p.user.active && p.user.has_role(Role::SystemAdmin)
}

impl App {
    /// The defaults: the seeds' rules, with the networks from configuration.
    fn default_policy(&self) -> EffectivePolicy {
        let mut settings = self.settings.policy.clone();
        if settings.archive_room_networks.is_empty() {
            settings.archive_room_networks = self.settings.archive_room_networks.iter().map(|n| n.to_string()).collect();
        }
        let networks = parse_networks(&settings.archive_room_networks).unwrap_or_default();
        EffectivePolicy { version: 0, settings: settings.normalized(), networks, updated_at: None, updated_by: None }
    }

    async fn load_policy(&self) -> Result<Arc<EffectivePolicy>> {
        let loaded = match self.store.policy_settings().await? {
            None => self.default_policy(),
            Some(row) => {
                let settings: PolicySettings = serde_json::from_str(&row.data).map_err(|e| AppError::Internal(format!("stored policy settings: {e}")))?;
                let settings = settings.normalized();
                let networks = parse_networks(&settings.archive_room_networks).map_err(|_| AppError::Internal("stored archive-room networks do not parse".into()))?;
                EffectivePolicy { version: row.version, settings, networks, updated_at: Some(row.updated_at), updated_by: row.updated_by }
            }
        };
        let loaded = Arc::new(loaded);
        *self.policy_cache.current.lock().expect("policy cache") = Some(loaded.clone());
        *self.policy_cache.checked.lock().expect("policy cache") = Some(Instant::now());
        Ok(loaded)
    }

    /// The policy settings in force (see the module documentation for how fresh they are).
    pub async fn policy(&self) -> Result<Arc<EffectivePolicy>> {
        let cached = self.policy_cache.current.lock().expect("policy cache").clone();
        let fresh = self.policy_cache.checked.lock().expect("policy cache").is_some_and(|at| at.elapsed() < REFRESH);
        match cached {
            Some(c) if fresh => Ok(c),
            None => {
                let _one = self.policy_cache.refreshing.lock().await;
                let loaded = self.policy_cache.current.lock().expect("policy cache").clone();
                match loaded {
                    Some(c) => Ok(c),
                    None => self.load_policy().await,
                }
            }
            Some(c) => {
                // Someone else is checking: use the copy we have (at most one check's age older).
                let Ok(_one) = self.policy_cache.refreshing.try_lock() else { return Ok(c) };
                match self.store.policy_version().await {
                    Ok(v) if v == c.version => {
                        *self.policy_cache.checked.lock().expect("policy cache") = Some(Instant::now());
                        Ok(c)
                    }
                    Ok(_) => self.load_policy().await,
                    Err(e) => {
                        tracing::warn!("policy version check failed, keeping version {}: {e}", c.version);
                        Ok(c)
                    }
                }
            }
        }
    }

    /// Is this client address in the archive room?
    pub async fn in_archive_room(&self, ip: std::net::IpAddr) -> bool {
        match self.policy().await {
            Ok(p) => crate::access::in_networks(ip, &p.networks),
            Err(e) => {
                tracing::warn!("policy settings unavailable, treating {ip} as outside the archive room: {e}");
                false
            }
        }
    }

    /// The settings, for those who may see them.
    pub async fn policy_view(&self, p: &Principal) -> Result<Arc<EffectivePolicy>> {
        if !may_view(p) {
            return Err(AppError::Forbidden);
        }
        // Read the database, not the copy: the page must show what is stored now.
        self.load_policy().await
    }

    /// Changes the settings (system administrator only), based on version `expected_version`
    /// (a stale version is a `Conflict`). One `policy.change` audit record, with the settings
    /// before and after, is written in the same transaction.
    pub async fn update_policy(&self, p: &Principal, expected_version: i64, new: PolicySettings) -> Result<Arc<EffectivePolicy>> {
        if !may_edit(p) {
            return Err(AppError::Forbidden);
        }
        let new = new.normalized();
        let mut errors = new.validate();
        let networks = match parse_networks(&new.archive_room_networks) {
            Ok(n) => n,
            Err(e) => {
                errors.extend(e);
                Vec::new()
            }
        };
        if !errors.is_empty() {
            return Err(AppError::Validation(errors));
        }
        // Networks stored in their canonical spelling (10.8.1.7/24 → 10.8.1.0/24, one address → /32).
        let new = PolicySettings { archive_room_networks: networks.iter().map(|n| n.to_string()).collect(), ..new };
        let before = self.load_policy().await?;
        if before.version != expected_version {
            return Err(AppError::Conflict { current: before.version });
        }
        let event: AuditEvent = self.event(p, AuditAction::PolicyChange).with_detail(serde_json::json!({
            "version_before": before.version,
            "version_after": before.version + 1,
            "changed": changed_keys(&before.settings, &new),
            "before": before.settings,
            "after": new,
        }));
        let data = serde_json::to_string(&new).map_err(|e| AppError::Internal(e.to_string()))?;
        self.store.put_policy_settings(expected_version, &data, p.user.id, &event).await?;
        self.load_policy().await
    }
}

/// The top-level settings that differ, for the trail's summary.
fn changed_keys(a: &PolicySettings, b: &PolicySettings) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.grant_max_hours != b.grant_max_hours {
        out.push("grant_max_hours");
    }
    if a.secret_grant_max_hours != b.secret_grant_max_hours {
        out.push("secret_grant_max_hours");
    }
    if a.chains != b.chains {
        out.push("chains");
    }
    if a.archive_room_networks != b.archive_room_networks {
        out.push("archive_room_networks");
    }
    out
}
