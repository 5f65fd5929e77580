//! Screens for the audit trail (审计日志: filters, paging, export) and the version history
//! (差异 between two versions, restoring an older one). Thin: the rules are in the app.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dangan_app::AppError;
use dangan_core::audit::{AuditAction, AuditRecord, Outcome};
use serde::Deserialize;

use crate::audit_api::AuditParams;
use crate::i18n::Tr;
use crate::ui::{error_page, fmt_time, render, Chrome, UiUser};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(audit_page))
        .route("/audit/export", get(audit_export))
        .route("/archives/{id}/diff", get(diff_page))
        .route("/archives/{id}/restore", post(restore_submit))
}

/// One audit record as a table row.
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub user: String,
    pub action: String,
    pub archive_id: Option<i64>,
    pub archive_no: String,
    pub fields: String,
    pub basis: String,
    pub outcome: String,
    pub outcome_class: &'static str,
    pub client: String,
    pub detail: String,
}

impl AuditRow {
    pub fn of(tr: Tr, r: &AuditRecord) -> AuditRow {
        let e = &r.event;
        AuditRow {
            seq: r.seq,
            at: fmt_time(e.at),
            user: if e.username.is_empty() { "—".into() } else { e.username.clone() },
            action: e.action.label(tr.lang).to_string(),
            archive_id: e.archive_id,
            archive_no: e.archive_no.clone(),
            fields: e.fields.clone(),
            basis: e.basis.clone(),
            outcome: e.outcome.label(tr.lang).to_string(),
            outcome_class: match e.outcome {
                Outcome::Allowed => "tag-green",
                Outcome::NeedsApproval => "tag-orange",
                Outcome::Denied | Outcome::Failed => "tag-red",
            },
            client: e.client_addr.clone(),
            detail: e.detail.chars().take(160).collect(),
        }
    }
}

pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    rows: Vec<AuditRow>,
    users: Vec<Opt>,
    actions: Vec<Opt>,
    outcomes: Vec<Opt>,
    archive_id: String,
    from: String,
    to: String,
    /// The query string of the filter (for export links and the next page).
    filter_qs: String,
    next_qs: Option<String>,
    error: Option<String>,
}

fn filter_query_string(p: &AuditParams) -> String {
    let mut parts = Vec::new();
    let mut add = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", urlencoding::encode(&v)));
        }
    };
    add("user_id", p.user_id.map(|v| v.to_string()));
    add("archive_id", p.archive_id.map(|v| v.to_string()));
    add("action", p.action.clone());
    add("outcome", p.outcome.clone());
    add("from", p.from.clone());
    add("to", p.to.clone());
    parts.join("&")
}

/// Query values that an HTML form sends empty ("user_id=") parse as absent.
#[derive(Deserialize, Default)]
struct RawAuditParams {
    user_id: Option<String>,
    archive_id: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before_seq: Option<String>,
    format: Option<String>,
}

impl RawAuditParams {
    fn params(self) -> AuditParams {
        let int = |v: Option<String>| v.and_then(|s| s.trim().parse::<i64>().ok());
        AuditParams {
            user_id: int(self.user_id),
            archive_id: int(self.archive_id),
            action: self.action,
            outcome: self.outcome,
            from: self.from,
            to: self.to,
            before_seq: int(self.before_seq),
            limit: Some(PAGE),
            format: self.format,
        }
    }
}

const PAGE: u32 = 50;

async fn audit_page(State(s): State<AppState>, u: UiUser, Query(raw): Query<RawAuditParams>) -> Response {
    let tr = u.tr;
    let p = raw.params();
    let (records, error) = match p.query() {
        Ok(q) => match s.app.audit_log(&u.user, &q).await {
            Ok(r) => (r, None),
            Err(e) => return error_page(tr, e),
        },
        Err(m) => (Vec::new(), Some(m)),
    };
    let filter_qs = filter_query_string(&p);
    let next_qs = (records.len() as u32 >= PAGE).then(|| {
        let last = records.last().map(|r| r.seq).unwrap_or_default();
        if filter_qs.is_empty() {
            format!("before_seq={last}")
        } else {
            format!("{filter_qs}&before_seq={last}")
        }
    });
    let users = s.app.users().await.unwrap_or_default();
    let mut c = Chrome::of(&s, &u).await;
    c.menu = "audit";
    let any = |selected: bool| Opt { value: String::new(), label: tr.t("audit.any").into(), selected };
    let page = AuditPage {
        c,
        rows: records.iter().map(|r| AuditRow::of(tr, r)).collect(),
        users: std::iter::once(any(p.user_id.is_none()))
            .chain(users.iter().map(|x| Opt { value: x.id.to_string(), label: format!("{}（{}）", x.display_name, x.username), selected: p.user_id == Some(x.id) }))
            .collect(),
        actions: std::iter::once(any(p.action.as_deref().unwrap_or("").is_empty()))
            .chain(AuditAction::ALL.iter().map(|a| Opt { value: a.code().into(), label: a.label(tr.lang).into(), selected: p.action.as_deref() == Some(a.code()) }))
            .collect(),
        outcomes: std::iter::once(any(p.outcome.as_deref().unwrap_or("").is_empty()))
            .chain(Outcome::ALL.iter().map(|o| Opt { value: o.as_str().into(), label: o.label(tr.lang).into(), selected: p.outcome.as_deref() == Some(o.as_str()) }))
            .collect(),
        archive_id: p.archive_id.map(|v| v.to_string()).unwrap_or_default(),
        from: p.from.clone().unwrap_or_default(),
        to: p.to.clone().unwrap_or_default(),
        filter_qs,
        next_qs,
        error,
    };
    render(&page)
}

async fn audit_export(State(s): State<AppState>, u: UiUser, Query(raw): Query<RawAuditParams>) -> Response {
    let p = raw.params();
    let q = match p.query() {
        Ok(q) => q,
        Err(m) => return error_page(u.tr, AppError::BadRequest(m)),
    };
    let records = match s.app.audit_export(&u.user, &q, 200_000).await {
        Ok(r) => r,
        Err(e) => return error_page(u.tr, e),
    };
    match crate::audit_api::export_file(&records, p.format.as_deref().unwrap_or("csv")) {
        Ok((bytes, mime, ext)) => {
            let name = format!("audit-{}.{ext}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
            ([(header::CONTENT_TYPE, mime.to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))], bytes).into_response()
        }
        Err(e) => error_page(u.tr, AppError::Internal(e)),
    }
}

pub struct DiffRow {
    pub field: String,
    pub before: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "diff.html")]
struct DiffPage {
    c: Chrome,
    archive_id: i64,
    from: i64,
    to: i64,
    rows: Vec<DiffRow>,
}

#[derive(Deserialize)]
struct DiffQuery {
    from: i64,
    to: i64,
}

/// A readable label for a document path: the form's label when there is one.
fn field_label(tr: Tr, path: &str) -> String {
    let label = dangan_core::validate::field_label(path, tr.lang);
    if label == path {
        path.to_string()
    } else {
        format!("{label}（{path}）")
    }
}

async fn diff_page(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Query(q): Query<DiffQuery>) -> Response {
    let tr = u.tr;
    let changes = match s.app.compare_versions(&u.user, id, q.from, q.to).await {
        Ok(c) => c,
        Err(e) => return error_page(tr, e),
    };
    let page = DiffPage {
        c: Chrome::of(&s, &u).await,
        archive_id: id,
        from: q.from,
        to: q.to,
        rows: changes
            .into_iter()
            .map(|c| DiffRow { field: field_label(tr, &c.path), before: c.before.unwrap_or_else(|| "—".into()), after: c.after.unwrap_or_else(|| "—".into()) })
            .collect(),
    };
    render(&page)
}

async fn restore_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let Some(version) = f.get("version").and_then(|v| v.parse::<i64>().ok()) else {
        return error_page(u.tr, AppError::BadRequest("version".into()));
    };
    match s.app.restore_version(&u.user, id, version, f.get("reason").map(String::as_str).unwrap_or("")).await {
        Ok(_) => Redirect::to(&format!("/archives/{id}#history")).into_response(),
        Err(AppError::Validation(errors)) => {
            let message = errors.iter().map(|e| e.message(u.tr.lang)).collect::<Vec<_>>().join("；");
            error_page(u.tr, AppError::BadRequest(message))
        }
        Err(e) => error_page(u.tr, e),
    }
}
