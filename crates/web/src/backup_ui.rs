//! 系统设置 → 备份与恢复: the backup sets for the system administrator (API and page). Making and
//! verifying a set go through `App::run_backup` / `App::verify_backup` (checked and audited
//! there). Restore is a command-line operation on a stopped system (`dangan restore`); the page
//! says so.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use dangan_app::backup::{BackupSetInfo, VerifyOutcome};
use dangan_app::AppError;
use dangan_core::Role;
use utoipa::OpenApi;

use crate::problem::{from_app_error, Problem};
use crate::ui::{error_page, fmt_time, render, Chrome, UiUser};
use crate::{ApiUser, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/backups", get(list).post(run))
        .route("/api/v1/backups/{id}/verify", post(verify))
        .route("/admin/backups", get(page))
        .route("/admin/backups/run", post(run_form))
        .route("/admin/backups/{id}/verify", post(verify_form))
}

#[derive(OpenApi)]
#[openapi(paths(list, run, verify), components(schemas(BackupSetInfo, VerifyOutcome)))]
pub struct BackupApiDoc;

/// The backup sets, newest first (system administrators).
#[utoipa::path(get, path = "/api/v1/backups", responses((status = 200, body = Vec<BackupSetInfo>), (status = 403, body = Problem)))]
async fn list(State(s): State<AppState>, u: ApiUser) -> Result<Json<Vec<BackupSetInfo>>, Response> {
    s.app.list_backups(&u.user).await.map(Json).map_err(|e| from_app_error(e, u.lang))
}

/// Makes a backup set now (encrypted, online); answers when it is written. Audited (`system.backup`).
#[utoipa::path(post, path = "/api/v1/backups", responses((status = 201, body = BackupSetInfo), (status = 400, body = Problem, description = "no backup key configured"), (status = 403, body = Problem)))]
async fn run(State(s): State<AppState>, u: ApiUser) -> Result<(StatusCode, Json<BackupSetInfo>), Response> {
    s.app.run_backup(&u.user).await.map(|x| (StatusCode::CREATED, Json(x))).map_err(|e| from_app_error(e, u.lang))
}

/// Verifies a set without restoring it: key, manifest, every file's authentication and SHA-256.
/// A damaged set is `ok: false` with the problem named. Audited (`system.backup_verify`).
#[utoipa::path(post, path = "/api/v1/backups/{id}/verify", params(("id" = String, Path, description = "set id")), responses((status = 200, body = VerifyOutcome), (status = 400, body = Problem), (status = 403, body = Problem)))]
async fn verify(State(s): State<AppState>, u: ApiUser, Path(id): Path<String>) -> Result<Json<VerifyOutcome>, Response> {
    s.app.verify_backup(&u.user, &id).await.map(Json).map_err(|e| from_app_error(e, u.lang))
}

pub struct SetRow {
    pub id: String,
    pub kind: &'static str,
    pub created: String,
    pub engine: String,
    pub size: String,
    pub files: usize,
    /// `ok`, `bad` or `none`.
    pub verified: &'static str,
    pub problem: String,
}

#[derive(Template)]
#[template(path = "admin_backups.html")]
struct BackupsPage {
    c: Chrome,
    rows: Vec<SetRow>,
    dir: String,
    has_key: bool,
    hour: u32,
    keep: String,
    message: Option<String>,
    error: Option<String>,
}

fn size(n: u64) -> String {
    let mb = n as f64 / (1024.0 * 1024.0);
    if mb >= 1024.0 {
        format!("{:.2} GB", mb / 1024.0)
    } else if mb >= 0.1 {
        format!("{mb:.1} MB")
    } else {
        format!("{:.1} KB", n as f64 / 1024.0)
    }
}

/// The page; `damaged` names a set whose verification just failed (its problem is shown).
async fn show(s: &AppState, u: &UiUser, message: Option<String>, mut error: Option<String>, damaged: Option<&str>) -> Response {
    let tr = u.tr;
    if !u.user.has_role(Role::SystemAdmin) {
        return error_page(tr, AppError::Forbidden);
    }
    let sets = match s.app.list_backups(&u.user).await {
        Ok(x) => x,
        Err(e) => return error_page(tr, e),
    };
    if let Some(set) = damaged.and_then(|id| sets.iter().find(|x| x.id == id)) {
        error = Some(format!("{}：{}：{}", tr.t("backup.damaged"), set.id, set.problem.clone().unwrap_or_default()));
    }
    let rows = sets
        .into_iter()
        .map(|x| SetRow {
            kind: x.kind.label(tr.lang),
            created: fmt_time(x.created_at),
            engine: if x.engine == "postgres" { "PostgreSQL".into() } else { "SQLite".into() },
            size: size(x.stored_bytes),
            files: x.files,
            verified: match x.verified {
                Some(true) => "ok",
                Some(false) => "bad",
                None => "none",
            },
            problem: x.problem.unwrap_or_default(),
            id: x.id,
        })
        .collect();
    let b = &s.app.settings.backup;
    let mut c = Chrome::of(s, u).await;
    c.menu = "admin";
    let status = if error.is_some() && damaged.is_none() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let keep = format!("{} / {} / {}", b.retention.daily, b.retention.monthly, b.retention.manual);
    (status, render(&BackupsPage { c, rows, dir: b.dir.display().to_string(), has_key: b.key.is_some(), hour: b.hour, keep, message, error })).into_response()
}

async fn page(State(s): State<AppState>, u: UiUser, axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>) -> Response {
    let message = q.get("made").map(|id| format!("{}：{id}", u.tr.t("backup.made"))).or_else(|| q.get("verified").map(|id| format!("{}：{id}", u.tr.t("backup.verified_ok"))));
    show(&s, &u, message, None, q.get("damaged").map(String::as_str)).await
}

fn error_text(tr: crate::i18n::Tr, e: AppError) -> String {
    match e {
        AppError::BadRequest(m) => m,
        AppError::Forbidden => tr.t("err.forbidden").to_string(),
        other => format!("{}：{other}", tr.t("err.internal")),
    }
}

async fn run_form(State(s): State<AppState>, u: UiUser, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    match s.app.run_backup(&u.user).await {
        Ok(set) => Redirect::to(&format!("/admin/backups?made={}", set.id)).into_response(),
        Err(AppError::Forbidden) => error_page(u.tr, AppError::Forbidden),
        Err(e) => show(&s, &u, None, Some(error_text(u.tr, e)), None).await,
    }
}

async fn verify_form(State(s): State<AppState>, u: UiUser, Path(id): Path<String>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    match s.app.verify_backup(&u.user, &id).await {
        Ok(v) if v.ok => Redirect::to(&format!("/admin/backups?verified={id}")).into_response(),
        // Back to the page's own address (reloading or switching language must not re-post);
        // the page names the damage from the set's recorded verification.
        Ok(_) => Redirect::to(&format!("/admin/backups?damaged={id}")).into_response(),
        Err(AppError::Forbidden) => error_page(u.tr, AppError::Forbidden),
        Err(e) => show(&s, &u, None, Some(error_text(u.tr, e)), None).await,
    }
}
