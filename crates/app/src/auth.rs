//! Identity: password login (argon2id), browser sessions and API tokens, failed-login lockout,
//! the first administrator.
//!
//! Tokens are random 32-byte values shown to the client once; the database keeps only their
//! SHA-256, so a copy of the database does not let anyone log in.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{Duration, Utc};
use dangan_core::{DeptId, Role, User, UserId};
use dangan_store::{NewUser, SessionKind};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{App, AppError, Result};

pub const ADMIN_USERNAME: &str = "admin";

/// How long a looked-up session is trusted without asking the database again. Every request
/// authenticates, so this saves a query per request; the price is that a token revoked on
/// another server (PostgreSQL mode) keeps working for at most this long. On the server that
/// revokes it, it stops at once.
const SESSION_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
const SESSION_CACHE_MAX: usize = 10_000;

#[derive(Default)]
pub(crate) struct SessionCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (User, std::time::Instant)>>,
}

impl SessionCache {
    fn get(&self, hash: &str) -> Option<User> {
        let entries = self.entries.lock().expect("session cache");
        entries.get(hash).filter(|(_, at)| at.elapsed() < SESSION_CACHE_TTL).map(|(u, _)| u.clone())
    }
    fn put(&self, hash: String, user: User) {
        let mut entries = self.entries.lock().expect("session cache");
        if entries.len() >= SESSION_CACHE_MAX {
            entries.clear();
        }
        entries.insert(hash, (user, std::time::Instant::now()));
    }
    fn remove(&self, hash: &str) {
        self.entries.lock().expect("session cache").remove(hash);
    }
    /// After a change to any user (password, roles, disabling): forget everything.
    pub(crate) fn clear(&self) {
        self.entries.lock().expect("session cache").clear();
    }
}

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// A password people can type from a printout: 16 characters, no look-alikes.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    b.iter().map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char).collect()
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub async fn hash_password(password: &str) -> Result<String> {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(pw.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| AppError::Internal(e.to_string()))
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

async fn verify_password(password: &str, hash: Option<String>) -> bool {
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || {
        // Without a stored hash, still spend the time of a verification so that response times
        // do not tell which usernames exist.
        let dummy;
        let stored = match &hash {
            Some(h) => h.as_str(),
            None => {
                dummy = Argon2::default().hash_password(b"dummy", &SaltString::generate(&mut OsRng)).map(|h| h.to_string()).unwrap_or_default();
                dummy.as_str()
            }
        };
        let ok = PasswordHash::new(stored).map(|h| Argon2::default().verify_password(pw.as_bytes(), &h).is_ok()).unwrap_or(false);
        ok && hash.is_some()
    })
    .await
    .unwrap_or(false)
}

pub fn check_password_strength(password: &str) -> Result<()> {
    if password.chars().count() < 8 {
        return Err(AppError::BadRequest("password must have at least 8 characters / 密码至少 8 位".into()));
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct LoginOk {
    pub user: User,
    /// The secret to hand to the client (cookie or bearer token).
    pub token: String,
}

impl App {
    /// On first start (no users): creates the administrator with `password` or a random one.
    /// Returns the credentials when it created them, so the caller can print them once.
    pub async fn ensure_admin(&self, password: Option<&str>) -> Result<Option<(String, String)>> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let password = match password.filter(|p| !p.is_empty()) {
            Some(p) => {
                check_password_strength(p)?;
                p.to_string()
            }
            None => random_password(),
        };
        let dept = self.store.create_department("总公司", "HQ", None, &self.system_event(dangan_core::audit::AuditAction::DepartmentCreate, "setup")).await?;
        let new = NewUser {
            username: ADMIN_USERNAME.into(),
            display_name: "系统管理员".into(),
            password_hash: Some(hash_password(&password).await?),
            dept_id: Some(dept.id),
            // Until the access-control issue separates duties, the first account can do everything.
            roles: vec![Role::SystemAdmin, Role::GeneralManager],
        };
        self.store.create_user(&new, &self.system_event(dangan_core::audit::AuditAction::UserCreate, "setup")).await?;
        Ok(Some((ADMIN_USERNAME.into(), password)))
    }

    /// Creates a user; `by` is the administrator doing it (None: the command line).
    pub async fn add_user(&self, by: Option<&crate::Principal>, username: &str, display_name: &str, password: Option<&str>, dept_id: Option<DeptId>, roles: Vec<Role>) -> Result<User> {
        let username = username.trim();
        if username.is_empty() || username.len() > 64 || username.chars().any(|c| c.is_whitespace()) {
            return Err(AppError::BadRequest("username must be 1–64 characters without spaces / 用户名须为1–64个字符且不含空格".into()));
        }
        if let Some(d) = dept_id {
            if !self.store.list_departments().await?.iter().any(|x| x.id == d) {
                return Err(AppError::BadRequest(format!("unknown department {d} / 部门不存在")));
            }
        }
        let password_hash = match password {
            Some(p) => {
                check_password_strength(p)?;
                Some(hash_password(p).await?)
            }
            None => None,
        };
        let new = NewUser { username: username.into(), display_name: if display_name.trim().is_empty() { username.into() } else { display_name.trim().into() }, password_hash, dept_id, roles };
        Ok(self.store.create_user(&new, &self.event_by(by, dangan_core::audit::AuditAction::UserCreate)).await?)
    }

    /// Changes a user's name, department, roles and active flag (system administrators only);
    /// audited with the before and after. A disabled user's sessions stop working at once.
    pub async fn update_user(&self, by: &crate::Principal, user_id: UserId, update: dangan_store::UserUpdate) -> Result<User> {
        if !by.user.has_role(Role::SystemAdmin) {
            self.record(self.event(by, dangan_core::audit::AuditAction::UserRoles).with_outcome(dangan_core::audit::Outcome::Denied)).await?;
            return Err(AppError::Forbidden);
        }
        let mut update = update;
        update.display_name = update.display_name.trim().to_string();
        if update.display_name.is_empty() {
            return Err(AppError::Validation(vec![dangan_core::validate::FieldError::new("display_name", dangan_core::validate::ErrorCode::Required)]));
        }
        if let Some(d) = update.dept_id {
            if !self.store.list_departments().await?.iter().any(|x| x.id == d) {
                return Err(AppError::BadRequest(format!("unknown department {d} / 部门不存在")));
            }
        }
        // An administrator cannot lock themselves out of administration.
        if user_id == by.user.id && (!update.active || !update.roles.contains(&Role::SystemAdmin)) {
            return Err(AppError::BadRequest("you cannot disable yourself or drop your own administrator role / 不能停用自己或取消自己的系统管理员角色".into()));
        }
        update.roles.sort_by_key(|r| r.as_str());
        update.roles.dedup();
        let user = self.store.update_user(user_id, &update, &self.event(by, dangan_core::audit::AuditAction::UserRoles)).await?;
        self.sessions.clear();
        Ok(user)
    }

    pub async fn set_password(&self, by: Option<&crate::Principal>, user_id: UserId, password: &str) -> Result<()> {
        check_password_strength(password)?;
        self.store.set_password(user_id, &hash_password(password).await?, &self.event_by(by, dangan_core::audit::AuditAction::PasswordSet)).await?;
        self.sessions.clear();
        Ok(())
    }

    /// Checks a password and opens a session (`SessionKind::Browser`) or issues a token.
    /// After `max_failed_logins` failures the account is locked for `lockout_minutes`.
    /// Every attempt is audited: a failure with the name typed (and why), a success as a login.
    pub async fn login(&self, username: &str, password: &str, kind: SessionKind, client: &crate::audit::ClientInfo) -> Result<LoginOk> {
        let now = Utc::now();
        let failed = |user: Option<&User>, why: &str| {
            let mut e = match user {
                Some(u) => self.event(&crate::Principal::new(u.clone(), false).with_client(client.clone()), dangan_core::audit::AuditAction::LoginFailed),
                None => {
                    let mut e = self.system_event(dangan_core::audit::AuditAction::LoginFailed, "");
                    e.client_addr = client.addr.map(|a| a.to_string()).unwrap_or_default();
                    e.user_agent = client.user_agent.clone();
                    e
                }
            };
            e.username = username.trim().chars().take(64).collect();
            e.outcome = dangan_core::audit::Outcome::Failed;
            e.detail = serde_json::json!({ "reason": why }).to_string();
            e
        };
        let found = self.store.find_login(username.trim()).await?;
        let Some(login) = found else {
            verify_password(password, None).await;
            self.record(failed(None, "unknown user")).await?;
            return Err(AppError::Unauthenticated);
        };
        if let Some(until) = login.locked_until {
            if until > now {
                self.record(failed(Some(&login.user), "locked")).await?;
                return Err(AppError::LockedOut { until });
            }
        }
        if !login.user.active || !verify_password(password, login.password_hash.clone()).await {
            let failures = login.failed_logins + 1;
            let lock = (failures >= self.settings.max_failed_logins).then(|| now + Duration::minutes(self.settings.lockout_minutes));
            self.store.record_login(login.user.id, false, lock).await?;
            self.record(failed(Some(&login.user), if login.user.active { "wrong password" } else { "inactive" })).await?;
            return Err(match lock {
                Some(until) => AppError::LockedOut { until },
                None => AppError::Unauthenticated,
            });
        }
        self.store.record_login(login.user.id, true, None).await?;
        let token = random_token();
        let expires = match kind {
            SessionKind::Browser => Some(now + Duration::hours(self.settings.session_hours)),
            SessionKind::ApiToken => None,
        };
        self.store.create_session(&token_hash(&token), login.user.id, kind, None, now, expires).await?;
        let p = crate::Principal::new(login.user.clone(), false).with_client(client.clone());
        self.record(self.event(&p, dangan_core::audit::AuditAction::Login).with_detail(serde_json::json!({ "kind": kind.as_str() }))).await?;
        Ok(LoginOk { user: login.user, token })
    }

    /// A named bearer token for scripts, for an already authenticated user.
    pub async fn create_api_token(&self, p: &crate::Principal, name: &str) -> Result<String> {
        let token = random_token();
        self.store.create_session(&token_hash(&token), p.user.id, SessionKind::ApiToken, Some(name), Utc::now(), None).await?;
        self.record(self.event(p, dangan_core::audit::AuditAction::TokenCreated).with_detail(serde_json::json!({ "name": name }))).await?;
        Ok(token)
    }

    /// The user behind a session cookie or bearer token, if it is valid.
    pub async fn authenticate(&self, token: &str) -> Result<Option<User>> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let hash = token_hash(token);
        if let Some(user) = self.sessions.get(&hash) {
            return Ok(Some(user));
        }
        let user = self.store.session_user(&hash, Utc::now()).await?;
        if let Some(u) = &user {
            self.sessions.put(hash, u.clone());
        }
        Ok(user)
    }

    pub async fn logout(&self, token: &str, client: &crate::audit::ClientInfo) -> Result<()> {
        let user = self.authenticate(token).await?;
        let hash = token_hash(token);
        self.sessions.remove(&hash);
        self.store.delete_session(&hash).await?;
        if let Some(u) = user {
            self.record(self.event(&crate::Principal::new(u, false).with_client(client.clone()), dangan_core::audit::AuditAction::Logout)).await?;
        }
        Ok(())
    }
}
