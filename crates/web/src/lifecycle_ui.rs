//! 提醒 / 公海 / 离职交接: reminders (with the calendar feed), periodic reviews, the customer
//! pool and the handover of a leaving employee — API and pages over `App`'s lifecycle services
//! (`crates/app/src/lifecycle.rs`), which decide and audit.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::Utc;
use dangan_app::lifecycle::{KindCount, Reminder, ReminderPage, ReminderScope, SweepResult, DEFAULT_PAGE};
use dangan_core::lifecycle::ReminderKind;
use dangan_app::AppError;
use dangan_core::ArchiveSummary;
use dangan_store::lifecycle::{HandoverItem, HandoverRecord};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::problem::{from_app_error, Problem};
use crate::ui::{error_page, fmt_time, render, Chrome, UiUser};
use crate::{ApiUser, AppState, Client};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reminders", get(api_reminders))
        .route("/api/v1/archives/{id}/review", post(api_review))
        .route("/api/v1/calendar/token", post(api_calendar_token))
        .route("/calendar/{file}", get(calendar_feed))
        .route("/api/v1/pool", get(api_pool))
        .route("/api/v1/pool/{id}/claim", post(api_claim))
        .route("/api/v1/pool/sweep", post(api_sweep))
        .route("/api/v1/users/{id}/handover", post(api_handover))
        .route("/api/v1/handovers", get(api_handovers))
        .route("/api/v1/handovers/{id}", get(api_get_handover))
        .route("/api/v1/handovers/{id}/list.pdf", get(api_handover_pdf))
        .route("/reminders", get(reminders_page))
        .route("/reminders/calendar", post(calendar_form))
        .route("/archives/{id}/review", post(review_form))
        .route("/pool", get(pool_page))
        .route("/pool/{id}/claim", post(claim_form))
        .route("/handover", get(handover_page).post(handover_form))
}

#[derive(OpenApi)]
#[openapi(
    paths(api_reminders, api_review, api_calendar_token, api_pool, api_claim, api_sweep, api_handover, api_handovers, api_get_handover, api_handover_pdf),
    components(schemas(Reminder, ReminderPage, KindCount, ReminderScope, CalendarToken, HandoverRequest, HandoverRecord, HandoverItem, SweepResult, PoolPage))
)]
pub struct LifecycleDoc;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct RemindersQuery {
    /// `mine` (default): the user's own archives and loans; `department`: the departments the user manages.
    pub scope: Option<ReminderScope>,
    /// Only this kind (`birthday`, `review_due`, `stale`, …).
    pub kind: Option<String>,
    /// The first N (default 300, at most 1,000).
    pub limit: Option<usize>,
}

/// The reminders (提醒) of the user or of the departments they manage, soonest first: review
/// due, stale, credit expired/expiring, birthdays to the end of next month, renewals, memberships
/// and contracts ending, low remaining sessions, planned visits, overdue loans. Audited (`reminder.list`).
#[utoipa::path(get, path = "/api/v1/reminders", params(RemindersQuery), responses((status = 200, body = ReminderPage), (status = 403, body = Problem, description = "department scope for a non-manager")))]
async fn api_reminders(State(s): State<AppState>, u: ApiUser, Query(q): Query<RemindersQuery>) -> Result<Json<ReminderPage>, Response> {
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => Some(k.parse::<ReminderKind>().map_err(|_| from_app_error(AppError::BadRequest(format!("unknown reminder kind {k:?} / 未知的提醒类型")), u.lang))?),
        None => None,
    };
    s.app
        .reminders(&u.user, q.scope.unwrap_or(ReminderScope::Mine), Utc::now(), kind, q.limit.unwrap_or(DEFAULT_PAGE))
        .await
        .map(Json)
        .map_err(|e| from_app_error(e, u.lang))
}

/// Records a periodic review (定期审查) of the archive: the review cycle starts again. Whoever may edit it.
#[utoipa::path(post, path = "/api/v1/archives/{id}/review", params(("id" = i64, Path)), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn api_review(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<StatusCode, Response> {
    s.app.mark_reviewed(&u.user, id).await.map(|_| StatusCode::NO_CONTENT).map_err(|e| from_app_error(e, u.lang))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarToken {
    /// The secret feed address (path); shown once. Issuing a new one ends the old one.
    pub path: String,
}

/// Issues a new secret calendar-feed address for the user (the old one stops working).
/// Subscribe to it from a phone or Outlook: an iCalendar feed of the user's own reminders.
#[utoipa::path(post, path = "/api/v1/calendar/token", responses((status = 201, body = CalendarToken)))]
async fn api_calendar_token(State(s): State<AppState>, u: ApiUser) -> Result<(StatusCode, Json<CalendarToken>), Response> {
    let token = s.app.issue_calendar_token(&u.user).await.map_err(|e| from_app_error(e, u.lang))?;
    Ok((StatusCode::CREATED, Json(CalendarToken { path: format!("/calendar/{token}.ics") })))
}

/// The iCalendar feed: no login (calendar apps cannot log in); the secret address is the key.
async fn calendar_feed(State(s): State<AppState>, Client(client): Client, Path(file): Path<String>) -> Response {
    let Some(token) = file.strip_suffix(".ics") else { return StatusCode::NOT_FOUND.into_response() };
    match s.app.calendar_feed(token, client, Utc::now()).await {
        Ok(body) => ([(header::CONTENT_TYPE, "text/calendar; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body).into_response(),
        Err(AppError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => from_app_error(e, "zh-CN"),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PoolQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PoolPage {
    pub items: Vec<ArchiveSummary>,
    pub next_cursor: Option<String>,
    pub total: Option<i64>,
}

/// The customer pool (公海): archives nobody is responsible for, that the user may see.
#[utoipa::path(get, path = "/api/v1/pool", params(PoolQuery), responses((status = 200, body = PoolPage)))]
async fn api_pool(State(s): State<AppState>, u: ApiUser, Query(q): Query<PoolQuery>) -> Result<Json<PoolPage>, Response> {
    let page = s.app.pool(&u.user, q.cursor.as_deref(), q.limit.unwrap_or(50)).await.map_err(|e| from_app_error(e, u.lang))?;
    Ok(Json(PoolPage { items: page.items, next_cursor: page.next_cursor, total: page.total }))
}

/// Claims an archive from the pool (领取): it becomes the user's personal archive. Within the
/// daily limit (策略设置); audited (`pool.claim`).
#[utoipa::path(post, path = "/api/v1/pool/{id}/claim", params(("id" = i64, Path)),
    responses((status = 200, body = dangan_core::Archive), (status = 403, body = Problem), (status = 409, body = Problem, description = "claimed by someone else meanwhile"), (status = 422, body = Problem, description = "not in the pool, or the daily limit is reached")))]
async fn api_claim(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<Json<dangan_core::Archive>, Response> {
    s.app.claim(&u.user, id).await.map(Json).map_err(|e| from_app_error(e, u.lang))
}

/// Runs the pool sweep now (the server runs it every hour): archives without a follow-up for
/// their grade's period go back to the pool. System administrator only.
#[utoipa::path(post, path = "/api/v1/pool/sweep", responses((status = 200, body = SweepResult), (status = 403, body = Problem)))]
async fn api_sweep(State(s): State<AppState>, u: ApiUser) -> Result<Json<SweepResult>, Response> {
    if !u.user.user.has_role(dangan_core::Role::SystemAdmin) {
        return Err(from_app_error(AppError::Forbidden, u.lang));
    }
    s.app.sweep_pool(Utc::now()).await.map(Json).map_err(|e| from_app_error(e, u.lang))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct HandoverRequest {
    /// Colleagues who receive the archives, in turn (one or more).
    pub recipients: Vec<i64>,
    #[serde(default)]
    pub note: String,
}

/// Hands over everything of a leaving employee (离职交接) in one transaction: archives shared out
/// among the recipients, open paper loans re-lent to them, electronic loans ended, the account
/// disabled. Managers of the leaver's department (or director, VP, general manager). Audited.
#[utoipa::path(post, path = "/api/v1/users/{id}/handover", params(("id" = i64, Path, description = "the leaving user")), request_body = HandoverRequest,
    responses((status = 201, body = HandoverRecord), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn api_handover(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<HandoverRequest>) -> Result<(StatusCode, Json<HandoverRecord>), Response> {
    s.app.hand_over(&u.user, id, &b.recipients, &b.note).await.map(|h| (StatusCode::CREATED, Json(h))).map_err(|e| from_app_error(e, u.lang))
}

/// Handover records, newest first (managers and the archivist).
#[utoipa::path(get, path = "/api/v1/handovers", responses((status = 200, body = Vec<HandoverRecord>), (status = 403, body = Problem)))]
async fn api_handovers(State(s): State<AppState>, u: ApiUser) -> Result<Json<Vec<HandoverRecord>>, Response> {
    s.app.handovers(&u.user).await.map(Json).map_err(|e| from_app_error(e, u.lang))
}

#[utoipa::path(get, path = "/api/v1/handovers/{id}", params(("id" = i64, Path)), responses((status = 200, body = HandoverRecord), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn api_get_handover(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<Json<HandoverRecord>, Response> {
    s.app.handover(&u.user, id).await.map(Json).map_err(|e| from_app_error(e, u.lang))
}

/// The printable handover list (移交清单), A4 PDF, watermarked; printing is audited.
#[utoipa::path(get, path = "/api/v1/handovers/{id}/list.pdf", params(("id" = i64, Path)), responses((status = 200, description = "application/pdf"), (status = 403, body = Problem)))]
async fn api_handover_pdf(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> Result<Response, Response> {
    let bytes = s.app.print_handover_list(&u.user, id).await.map_err(|e| from_app_error(e, u.lang))?;
    Ok(crate::audit_api::pdf_response(bytes, &format!("handover-{id}.pdf")))
}

// --- pages ---

pub struct ReminderRow {
    pub kind: &'static str,
    pub kind_code: &'static str,
    pub due: String,
    pub overdue: bool,
    pub archive_id: i64,
    pub archive_no: String,
    pub name: String,
    pub detail: String,
    pub is_loan: bool,
}

#[derive(Template)]
#[template(path = "reminders.html")]
struct RemindersPage {
    c: Chrome,
    scope: &'static str,
    is_manager: bool,
    rows: Vec<ReminderRow>,
    /// (kind code, label, count as shown — "1000+" when counting stopped at the cap — the current filter)
    counts: Vec<(&'static str, &'static str, String, bool)>,
    kind: String,
    total: usize,
    /// `total` as shown ("1000+" for a lower bound).
    total_shown: String,
    shown: usize,
    calendar: Option<String>,
    has_calendar: bool,
}

async fn chrome(s: &AppState, u: &UiUser, menu: &'static str) -> Chrome {
    let mut c = Chrome::of(s, u).await;
    c.menu = menu;
    c
}

async fn reminders_page(State(s): State<AppState>, u: UiUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let tr = u.tr;
    let is_manager = s.app.actor(&u.user).await.map(|a| !a.managed_depts.is_empty()).unwrap_or(false);
    let scope = if q.get("scope").map(String::as_str) == Some("department") && is_manager { ReminderScope::Department } else { ReminderScope::Mine };
    let kind = q.get("kind").and_then(|k| k.parse::<ReminderKind>().ok());
    let page = match s.app.reminders(&u.user, scope, Utc::now(), kind, DEFAULT_PAGE).await {
        Ok(l) => l,
        Err(e) => return error_page(tr, e),
    };
    let today = dangan_app::lifecycle::today_in_china(Utc::now());
    let at_least = |n: usize, more: bool| if more { format!("{n}+") } else { n.to_string() };
    let counts: Vec<(&'static str, &'static str, String, bool)> = page.counts.iter().map(|c| (c.kind.as_str(), c.kind.label(tr.lang), at_least(c.count, c.at_least), Some(c.kind) == kind)).collect();
    let (total, shown) = (page.total, page.items.len());
    let total_shown = at_least(page.total, page.total_at_least);
    let list = page.items;
    let rows = list
        .into_iter()
        .map(|r| ReminderRow {
            kind: r.kind.label(tr.lang),
            kind_code: r.kind.as_str(),
            due: r.due_on.format("%Y-%m-%d").to_string(),
            overdue: r.due_on < today,
            archive_id: r.archive_id,
            archive_no: r.archive_no,
            name: r.name,
            is_loan: r.kind == dangan_core::lifecycle::ReminderKind::LoanOverdue,
            detail: match r.kind {
                dangan_core::lifecycle::ReminderKind::Stale => format!("{}：{}", tr.t("pool.since"), r.detail),
                dangan_core::lifecycle::ReminderKind::LowSessions => format!("{}：{}", tr.t("rem.sessions_left"), r.detail),
                _ => r.detail,
            },
        })
        .collect();
    let has_calendar = s.app.has_calendar_token(&u.user).await.unwrap_or(false);
    let c = chrome(&s, &u, "reminders").await;
    let calendar = q.get("calendar").cloned();
    render(&RemindersPage {
        c,
        scope: if scope == ReminderScope::Department { "department" } else { "mine" },
        is_manager,
        rows,
        counts,
        kind: kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        total,
        total_shown,
        shown,
        calendar,
        has_calendar,
    }).into_response()
}

async fn calendar_form(State(s): State<AppState>, u: UiUser, headers: axum::http::HeaderMap, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    match s.app.issue_calendar_token(&u.user).await {
        Ok(token) => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:8080");
            let url = format!("http://{host}/calendar/{token}.ics");
            Redirect::to(&format!("/reminders?calendar={}", urlencoding::encode(&url))).into_response()
        }
        Err(e) => error_page(u.tr, e),
    }
}

async fn review_form(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    match s.app.mark_reviewed(&u.user, id).await {
        Ok(()) => Redirect::to(&format!("/archives/{id}?reviewed=1")).into_response(),
        Err(e) => error_page(u.tr, e),
    }
}

pub struct PoolRow {
    pub id: i64,
    pub archive_no: String,
    pub name: String,
    pub grade: String,
    pub city: String,
    pub industry: String,
    pub since: String,
}

#[derive(Template)]
#[template(path = "pool.html")]
struct PoolPageT {
    c: Chrome,
    rows: Vec<PoolRow>,
    total: i64,
    next: Option<String>,
    message: Option<String>,
    error: Option<String>,
    limit_per_day: i64,
    enabled: bool,
}

async fn pool_view(s: &AppState, u: &UiUser, cursor: Option<&str>, message: Option<String>, error: Option<String>) -> Response {
    let tr = u.tr;
    let page = match s.app.pool(&u.user, cursor, 50).await {
        Ok(p) => p,
        Err(e) => return error_page(tr, e),
    };
    let settings = match s.app.policy().await {
        Ok(p) => p.settings.lifecycle.clone(),
        Err(e) => return error_page(tr, e),
    };
    let rows = page
        .items
        .into_iter()
        .map(|a| PoolRow {
            id: a.id,
            archive_no: a.archive_no,
            name: a.name,
            grade: a.grade.map(|g| g.label(tr.lang).to_string()).unwrap_or_default(),
            city: a.city.unwrap_or_default(),
            industry: a.industry.unwrap_or_default(),
            since: fmt_time(a.updated_at),
        })
        .collect();
    let c = chrome(s, u, "pool").await;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, render(&PoolPageT { c, rows, total: page.total.unwrap_or(0), next: page.next_cursor, message, error, limit_per_day: settings.pool_claims_per_day, enabled: settings.pool_enabled })).into_response()
}

async fn pool_page(State(s): State<AppState>, u: UiUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let message = q.get("claimed").map(|no| u.tr.f("pool.claimed", "no", no));
    pool_view(&s, &u, q.get("cursor").map(String::as_str), message, None).await
}

fn error_text(tr: crate::i18n::Tr, e: &AppError) -> String {
    match e {
        AppError::Invalid { zh, en } => if tr.lang == "en" { en.clone() } else { zh.clone() },
        AppError::Conflict { .. } => tr.t("pool.conflict").to_string(),
        AppError::Forbidden => tr.t("err.forbidden").to_string(),
        other => format!("{}：{other}", tr.t("err.internal")),
    }
}

async fn claim_form(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    match s.app.claim(&u.user, id).await {
        Ok(a) => Redirect::to(&format!("/pool?claimed={}", urlencoding::encode(&a.archive_no))).into_response(),
        Err(AppError::NeedsApproval { .. }) | Err(AppError::NotFound) => error_page(u.tr, AppError::NotFound),
        Err(e) => {
            let text = error_text(u.tr, &e);
            pool_view(&s, &u, None, None, Some(text)).await
        }
    }
}

pub struct HandoverRow {
    pub id: i64,
    pub at: String,
    pub from: String,
    pub by: String,
    pub archives: usize,
    pub loans: usize,
    pub note: String,
}

#[derive(Template)]
#[template(path = "handover.html")]
struct HandoverPage {
    c: Chrome,
    users: Vec<(i64, String, bool)>,
    rows: Vec<HandoverRow>,
    message: Option<String>,
    error: Option<String>,
}

async fn handover_view(s: &AppState, u: &UiUser, message: Option<String>, error: Option<String>) -> Response {
    let tr = u.tr;
    let records = match s.app.handovers(&u.user).await {
        Ok(r) => r,
        Err(e) => return error_page(tr, e),
    };
    let all = s.app.users().await.unwrap_or_default();
    let name = |id: i64| all.iter().find(|x| x.id == id).map(|x| x.display_name.clone()).unwrap_or_else(|| id.to_string());
    let rows = records
        .iter()
        .map(|h| HandoverRow {
            id: h.id,
            at: fmt_time(h.at),
            from: name(h.from_user),
            by: name(h.by_user),
            archives: h.items.iter().filter(|i| i.kind == "archive").count(),
            loans: h.items.iter().filter(|i| i.kind == "loan").count(),
            note: h.note.clone(),
        })
        .collect();
    let users = all.iter().map(|x| (x.id, format!("{}（{}）", x.display_name, x.username), x.active)).collect();
    let c = chrome(s, u, "handover").await;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, render(&HandoverPage { c, users, rows, message, error })).into_response()
}

async fn handover_page(State(s): State<AppState>, u: UiUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let message = q.get("done").map(|id| u.tr.f("handover.done", "id", id));
    handover_view(&s, &u, message, None).await
}

async fn handover_form(State(s): State<AppState>, u: UiUser, Form(f): Form<Vec<(String, String)>>) -> Response {
    let map: HashMap<String, String> = f.iter().cloned().collect();
    if let Err(r) = u.check_csrf(&map) {
        return r;
    }
    let leaver: i64 = map.get("leaver").and_then(|v| v.parse().ok()).unwrap_or(0);
    let recipients: Vec<i64> = f.iter().filter(|(k, _)| k == "recipient").filter_map(|(_, v)| v.parse().ok()).collect();
    let note = map.get("note").cloned().unwrap_or_default();
    match s.app.hand_over(&u.user, leaver, &recipients, &note).await {
        Ok(h) => Redirect::to(&format!("/handover?done={}", h.id)).into_response(),
        Err(AppError::Forbidden) => error_page(u.tr, AppError::Forbidden),
        Err(AppError::NotFound) => handover_view(&s, &u, None, Some(u.tr.t("handover.choose_leaver").to_string())).await,
        Err(e) => {
            let text = error_text(u.tr, &e);
            handover_view(&s, &u, None, Some(text)).await
        }
    }
}
