//! The access-control screens (查阅审批): the restricted archive page with its request form
//! (申请查阅), the approvals page with its tabs (待我审批 / 我的申请 / 我的授权) and one request's
//! page. The rules live in `dangan_app::access`; these handlers only show them and post back.
//! Every POST checks the CSRF token and ends in a redirect (Post/Redirect/Get), except when the
//! input is refused: then the same page comes back with the error under the field (422).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use dangan_app::access::{step_label, RequestView};
use dangan_app::store::{Grant, RequestStatus};
use dangan_app::AppError;
use dangan_core::policy::Action;
use dangan_core::validate::{ErrorCode, FieldError};
use serde::Deserialize;

use crate::i18n::{self, Tr};
use crate::ui::{error_page, fmt_time, render, Choice, Chrome, UiUser};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/archives/{id}/access-requests", post(request_submit))
        .route("/access", get(access_page))
        .route("/access/requests/{id}", get(request_page))
        .route("/access/requests/{id}/decision", post(decide_submit))
        .route("/access/requests/{id}/cancel", post(cancel_submit))
}

/// Sections one may ask for, by their i18n key. On the wire a section is its zh-CN name
/// (基本信息, 联系人, …), as the API documents.
const SECTIONS: &[&str] = &["sec.basic", "sec.contacts", "sec.credit", "sec.timeline", "sec.attachments"];
/// What a request may add to reading.
const EXTRA_ACTIONS: &[Action] = &[Action::ReadUnmasked, Action::Print, Action::Export, Action::DownloadAttachment];
const HOURS: &[i64] = &[1, 2, 4, 8, 24, 72];
const DEFAULT_HOURS: i64 = 4;

fn section_value(key: &str) -> &'static str {
    i18n::t("zh-CN", SECTIONS.iter().copied().find(|k| *k == key).unwrap_or("sec.basic"))
}

/// A stored section in the reader's language: zh-CN names and bare keys (`contacts`) are known.
fn section_label(tr: Tr, s: &str) -> String {
    SECTIONS.iter().find(|k| section_value(k) == s || k.strip_prefix("sec.") == Some(s)).map(|k| tr.t(k).to_string()).unwrap_or_else(|| s.to_string())
}

fn action_label(tr: Tr, a: Action) -> String {
    let key = format!("access.action.{}", a.as_str());
    match tr.t(&key) {
        k if k == key => a.as_str().to_string(),
        label => label.to_string(),
    }
}

/// Joins a list the way the language does: 基本信息、往来记录 / Basic data, Timeline.
fn join_list(tr: Tr, items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(if tr.lang == "en" { ", " } else { "、" })
}

fn status_label(tr: Tr, s: RequestStatus) -> String {
    tr.t(&format!("access.status.{}", s.as_str())).to_string()
}

fn status_class(s: RequestStatus) -> &'static str {
    match s {
        RequestStatus::Pending => "tag-blue",
        RequestStatus::Approved => "tag-green",
        RequestStatus::Rejected => "tag-red",
        RequestStatus::Cancelled => "tag-grey",
    }
}

fn hours_label(tr: Tr, h: i64) -> String {
    tr.f("access.hours_n", "n", &h.to_string())
}

/// "剩余 3小时12分", rounded down to the minute.
fn time_left(tr: Tr, expires: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (expires - now).num_minutes().max(0);
    let (h, m) = (minutes / 60, minutes % 60);
    if h == 0 {
        tr.f("access.left_m", "m", &m.to_string())
    } else {
        tr.fs("access.left_hm", &[("h", &h.to_string()), ("m", &m.to_string())])
    }
}

/// A message after a redirect (`?msg=approved`); only known messages are shown.
pub struct Flash {
    pub text: String,
    pub class: &'static str,
}

fn flash(tr: Tr, msg: Option<&str>) -> Option<Flash> {
    let m = msg?;
    let class = match m {
        "submitted" | "approved" | "rejected" | "cancelled" => "alert-success",
        "stale" => "alert-warn",
        _ => return None,
    };
    Some(Flash { text: tr.t(&format!("access.msg.{m}")).to_string(), class })
}

/// Display names and department names of users, for requesters and approvers.
struct People {
    users: HashMap<i64, (String, Option<i64>)>,
    depts: HashMap<i64, String>,
}

impl People {
    async fn load(s: &AppState) -> People {
        let users = s.app.users().await.unwrap_or_default().into_iter().map(|u| (u.id, (u.display_name, u.dept_id))).collect();
        let depts = s.app.departments().await.unwrap_or_default().into_iter().map(|d| (d.id, d.name)).collect();
        People { users, depts }
    }
    fn name(&self, id: i64) -> String {
        self.users.get(&id).map(|u| u.0.clone()).unwrap_or_else(|| format!("#{id}"))
    }
    fn dept(&self, id: i64) -> String {
        self.users.get(&id).and_then(|u| u.1).and_then(|d| self.depts.get(&d)).cloned().unwrap_or_default()
    }
}

/// The message under a refused field.
fn field_error(tr: Tr, errors: &[FieldError], field: &str) -> Option<String> {
    let e = errors.iter().find(|e| e.field == field)?;
    Some(match (field, e.code) {
        ("purpose", ErrorCode::Required) => tr.t("access.err.purpose_required").to_string(),
        ("comment", ErrorCode::Required) => tr.t("access.err.comment_required").to_string(),
        _ => e.message(tr.lang),
    })
}

fn csrf_only(f: &[(String, String)]) -> HashMap<String, String> {
    f.iter().filter(|(k, _)| k == "_csrf").cloned().collect()
}

// ---------------------------------------------------------------- one request, as a row

pub struct ReqRow {
    pub id: i64,
    pub archive_id: i64,
    pub archive_no: String,
    pub requester: String,
    pub requester_dept: String,
    pub purpose: String,
    pub hours: String,
    pub status: String,
    pub status_class: &'static str,
    pub pending: bool,
    /// The step waiting for a decision (pending requests only).
    pub step: String,
    pub created_at: String,
    pub can_decide: bool,
    /// The decide form after a refused decision: what was typed and why it was refused.
    pub comment: String,
    pub error: Option<String>,
    pub withdraw_confirm: String,
}

fn req_row(tr: Tr, v: &RequestView, people: &People) -> ReqRow {
    let r = &v.request;
    let pending = r.status == RequestStatus::Pending;
    ReqRow {
        id: r.id,
        archive_id: r.archive_id,
        archive_no: v.archive_no.clone(),
        requester: people.name(r.requester_id),
        requester_dept: people.dept(r.requester_id),
        purpose: r.purpose.clone(),
        hours: hours_label(tr, r.hours),
        status: status_label(tr, r.status),
        status_class: status_class(r.status),
        pending,
        step: if pending { r.chain.get(r.step as usize).map(|s| step_label(*s, tr.lang).to_string()).unwrap_or_default() } else { String::new() },
        created_at: fmt_time(r.created_at),
        can_decide: v.can_decide,
        comment: String::new(),
        error: None,
        withdraw_confirm: tr.f("access.withdraw_confirm", "no", &v.archive_no),
    }
}

/// A refused decision, shown again on the row (or page) it came from.
struct Refused {
    request_id: i64,
    comment: String,
    error: String,
}

fn apply_refused(row: &mut ReqRow, refused: Option<&Refused>) {
    if let Some(x) = refused.filter(|x| x.request_id == row.id) {
        row.comment = x.comment.clone();
        row.error = Some(x.error.clone());
    }
}

// ---------------------------------------------------------------- the restricted archive page

#[derive(Template)]
#[template(path = "restricted.html")]
struct RestrictedPage {
    c: Chrome,
    archive_id: i64,
    archive_no: String,
    /// The user's pending request for this archive: shown instead of the form.
    pending: Option<ReqRow>,
    /// Why the user's latest request for it was rejected.
    last_rejected: Option<String>,
    purpose: String,
    purpose_error: Option<String>,
    sections: Vec<Choice>,
    actions: Vec<Choice>,
    hours: Vec<Choice>,
    hours_hint: String,
}

/// What the request form was filled with.
struct RequestInput {
    purpose: String,
    sections: Vec<String>,
    actions: Vec<Action>,
    hours: i64,
}

impl Default for RequestInput {
    fn default() -> Self {
        RequestInput { purpose: String::new(), sections: Vec::new(), actions: Vec::new(), hours: DEFAULT_HOURS }
    }
}

/// The archive page of a user who needs approval to read it: the number and the reason, no
/// content, and the request form, or the pending request when there is one (HTTP 403).
pub(crate) async fn restricted_page(s: &AppState, u: &UiUser, archive_id: i64, archive_no: String) -> Response {
    restricted(s, u, archive_id, archive_no, RequestInput::default(), Vec::new()).await
}

async fn restricted(s: &AppState, u: &UiUser, archive_id: i64, archive_no: String, input: RequestInput, errors: Vec<FieldError>) -> Response {
    let tr = u.tr;
    let mine: Vec<RequestView> = match s.app.my_requests(&u.user).await {
        Ok(v) => v.into_iter().filter(|v| v.request.archive_id == archive_id).collect(),
        Err(e) => return error_page(tr, e),
    };
    let people = People::load(s).await;
    let pending = mine.iter().find(|v| v.request.status == RequestStatus::Pending).map(|v| req_row(tr, v, &people));
    // Newest first: the latest request, if it was rejected, says why.
    let last_rejected = mine
        .first()
        .filter(|v| v.request.status == RequestStatus::Rejected)
        .map(|v| v.decisions.iter().rev().find(|d| !d.approved).map(|d| d.comment.clone()).unwrap_or_default())
        .map(|c| tr.f("access.last_rejected", "c", &c));
    let policy = match s.app.policy().await {
        Ok(p) => p.settings.clone(),
        Err(e) => return error_page(tr, e),
    };
    let mut hour_choices: Vec<i64> = HOURS.iter().copied().filter(|h| *h <= policy.grant_max_hours).collect();
    if hour_choices.is_empty() {
        hour_choices.push(policy.grant_max_hours.max(1));
    }
    let chosen_hours = if hour_choices.contains(&input.hours) { input.hours } else { *hour_choices.iter().rfind(|h| **h <= input.hours).unwrap_or(&hour_choices[0]) };
    let mut c = Chrome::of(s, u).await;
    c.menu = "archives";
    let page = RestrictedPage {
        c,
        archive_id,
        archive_no,
        pending,
        last_rejected,
        purpose_error: field_error(tr, &errors, "purpose"),
        purpose: input.purpose,
        sections: SECTIONS
            .iter()
            .map(|k| Choice { value: section_value(k).to_string(), label: tr.t(k).to_string(), selected: input.sections.iter().any(|s| s == section_value(k)) })
            .collect(),
        actions: EXTRA_ACTIONS.iter().map(|a| Choice { value: a.as_str().to_string(), label: action_label(tr, *a), selected: input.actions.contains(a) }).collect(),
        hours: hour_choices.iter().map(|h| Choice { value: h.to_string(), label: hours_label(tr, *h), selected: *h == chosen_hours }).collect(),
        hours_hint: tr.f("access.hours_hint", "n", &policy.secret_grant_max_hours.to_string()),
    };
    let status = if errors.is_empty() { StatusCode::FORBIDDEN } else { StatusCode::UNPROCESSABLE_ENTITY };
    (status, render(&page)).into_response()
}

/// Files a request (申请查阅) from the restricted page, then shows it.
async fn request_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<Vec<(String, String)>>) -> Response {
    if let Err(r) = u.check_csrf(&csrf_only(&f)) {
        return r;
    }
    // Only for an archive that needs approval: one already readable opens, one the user may not
    // know of stays unknown.
    let archive_no = match s.app.archive_for(&u.user, id, Action::Read).await {
        Ok(_) => return Redirect::to(&format!("/archives/{id}")).into_response(),
        Err(AppError::NeedsApproval { archive_no, .. }) => archive_no,
        Err(e) => return error_page(u.tr, e),
    };
    let values = |name: &'static str| f.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.trim().to_string());
    let input = RequestInput {
        purpose: values("purpose").next().unwrap_or_default(),
        sections: values("sections").filter(|v| SECTIONS.iter().any(|k| section_value(k) == v)).collect(),
        actions: values("actions").filter_map(|v| Action::parse(&v)).filter(|a| EXTRA_ACTIONS.contains(a)).collect(),
        hours: values("hours").next().and_then(|h| h.parse().ok()).unwrap_or(DEFAULT_HOURS),
    };
    // A second submit (back button, double click) leads to the request already filed.
    if let Ok(mine) = s.app.my_requests(&u.user).await {
        if let Some(p) = mine.iter().find(|v| v.request.archive_id == id && v.request.status == RequestStatus::Pending) {
            return Redirect::to(&format!("/access/requests/{}", p.request.id)).into_response();
        }
    }
    match s.app.request_access(&u.user, id, &input.purpose, input.sections.clone(), input.actions.clone(), input.hours).await {
        Ok(r) => Redirect::to(&format!("/access/requests/{}?msg=submitted", r.id)).into_response(),
        Err(AppError::Validation(errors)) => restricted(&s, &u, id, archive_no, input, errors).await,
        Err(e) => error_page(u.tr, e),
    }
}

// ---------------------------------------------------------------- the approvals page

pub struct GrantRow {
    pub archive_id: i64,
    pub archive_no: String,
    pub name: String,
    pub actions: String,
    pub granted_at: String,
    pub expires_at: String,
    pub left: String,
    /// Orange when less than an hour is left.
    pub left_class: &'static str,
    pub request_id: Option<i64>,
}

#[derive(Template)]
#[template(path = "access.html")]
struct AccessPage {
    c: Chrome,
    /// inbox | mine | grants
    tab: &'static str,
    inbox: Vec<ReqRow>,
    mine: Vec<ReqRow>,
    grants: Vec<GrantRow>,
    flash: Option<Flash>,
}

#[derive(Deserialize)]
struct AccessQuery {
    tab: Option<String>,
    msg: Option<String>,
}

async fn access_page(State(s): State<AppState>, u: UiUser, Query(q): Query<AccessQuery>) -> Response {
    let f = flash(u.tr, q.msg.as_deref());
    access_view(&s, &u, q.tab.as_deref(), f, None).await
}

async fn access_view(s: &AppState, u: &UiUser, tab: Option<&str>, flash: Option<Flash>, refused: Option<Refused>) -> Response {
    let tr = u.tr;
    let (inbox, mine, grants) = match tokio::try_join!(s.app.approval_inbox(&u.user), s.app.my_requests(&u.user), s.app.my_grants(&u.user)) {
        Ok(x) => x,
        Err(e) => return error_page(tr, e),
    };
    let people = People::load(s).await;
    let tab = match tab {
        Some("inbox") => "inbox",
        Some("mine") => "mine",
        Some("grants") => "grants",
        // Work waiting comes first; otherwise the user's own requests.
        _ if !inbox.is_empty() => "inbox",
        _ => "mine",
    };
    let inbox = inbox
        .iter()
        .map(|v| {
            let mut row = req_row(tr, v, &people);
            apply_refused(&mut row, refused.as_ref());
            row
        })
        .collect();
    let mine = mine.iter().map(|v| req_row(tr, v, &people)).collect();
    let now = Utc::now();
    let mut grant_rows = Vec::with_capacity(grants.len());
    for g in &grants {
        grant_rows.push(grant_row(s, u, g, now).await);
    }
    let mut c = Chrome::of(s, u).await;
    c.menu = "access";
    let page = AccessPage { c, tab, inbox, mine, grants: grant_rows, flash };
    let status = if refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, render(&page)).into_response()
}

async fn grant_row(s: &AppState, u: &UiUser, g: &Grant, now: DateTime<Utc>) -> GrantRow {
    let tr = u.tr;
    // The grant lets its holder read the archive, so its number and name come through the policy.
    let (archive_no, name) = match s.app.get_archive(&u.user, g.archive_id).await {
        Ok(a) => (a.archive_no, a.data.name),
        Err(_) => (format!("#{}", g.archive_id), String::new()),
    };
    GrantRow {
        archive_id: g.archive_id,
        archive_no,
        name,
        actions: join_list(tr, g.actions.iter().map(|a| action_label(tr, *a))),
        granted_at: fmt_time(g.granted_at),
        expires_at: fmt_time(g.expires_at),
        left: time_left(tr, g.expires_at, now),
        left_class: if g.expires_at - now < chrono::Duration::hours(1) { "tag-orange" } else { "tag-green" },
        request_id: g.request_id,
    }
}

// ---------------------------------------------------------------- one request

pub struct StepView {
    pub no: usize,
    pub label: String,
    pub state: String,
    pub state_class: &'static str,
    /// done | current | waiting | rejected | skipped (for the marker's colour)
    pub css: &'static str,
    pub approver: String,
    pub comment: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "request.html")]
struct RequestPage {
    c: Chrome,
    title: String,
    r: ReqRow,
    sections: String,
    actions: String,
    closed_at: String,
    steps: Vec<StepView>,
    /// The viewer filed it and it is still pending.
    can_withdraw: bool,
    /// The viewer filed it and it was approved: the archive opens.
    can_open: bool,
    flash: Option<Flash>,
}

#[derive(Deserialize)]
struct MsgQuery {
    msg: Option<String>,
}

async fn request_page(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Query(q): Query<MsgQuery>) -> Response {
    let f = flash(u.tr, q.msg.as_deref());
    request_view_page(&s, &u, id, f, None).await
}

async fn request_view_page(s: &AppState, u: &UiUser, id: i64, flash: Option<Flash>, refused: Option<Refused>) -> Response {
    let tr = u.tr;
    let v = match s.app.get_request(&u.user, id).await {
        Ok(v) => v,
        Err(e) => return error_page(tr, e),
    };
    let people = People::load(s).await;
    let r = &v.request;
    let steps = r
        .chain
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let decision = v.decisions.iter().find(|d| d.step == i as i64);
            let (key, class, css) = match decision {
                Some(d) if d.approved => ("access.step.approved", "tag-green", "done"),
                Some(_) => ("access.step.rejected", "tag-red", "rejected"),
                None if r.status == RequestStatus::Pending && i as i64 == r.step => ("access.step.current", "tag-blue", "current"),
                None if r.status == RequestStatus::Pending => ("access.step.waiting", "tag-grey", "waiting"),
                None => ("access.step.skipped", "tag-grey", "skipped"),
            };
            StepView {
                no: i + 1,
                label: step_label(decision.map(|d| d.step_kind).unwrap_or(*step), tr.lang).to_string(),
                state: tr.t(key).to_string(),
                state_class: class,
                css,
                approver: decision.map(|d| people.name(d.approver_id)).unwrap_or_default(),
                comment: decision.map(|d| d.comment.clone()).unwrap_or_default(),
                at: decision.map(|d| fmt_time(d.decided_at)).unwrap_or_default(),
            }
        })
        .collect();
    let mine = r.requester_id == u.user.id;
    let mut row = req_row(tr, &v, &people);
    apply_refused(&mut row, refused.as_ref());
    let mut c = Chrome::of(s, u).await;
    c.menu = "access";
    let page = RequestPage {
        c,
        title: tr.f("access.request_title", "n", &format!("#{}", r.id)),
        sections: if r.sections.is_empty() { tr.t("access.all_sections").to_string() } else { join_list(tr, r.sections.iter().map(|x| section_label(tr, x))) },
        actions: join_list(tr, r.actions.iter().map(|a| action_label(tr, *a))),
        closed_at: r.closed_at.map(fmt_time).unwrap_or_else(|| "—".into()),
        steps,
        can_withdraw: mine && r.status == RequestStatus::Pending,
        can_open: mine && r.status == RequestStatus::Approved,
        flash,
        r: row,
    };
    let status = if refused.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    (status, render(&page)).into_response()
}

/// Where a form on the approvals pages came from, to go back there.
fn back_url(f: &HashMap<String, String>, id: i64, tab: &str, msg: &str) -> String {
    if f.get("back").map(String::as_str) == Some("detail") {
        format!("/access/requests/{id}?msg={msg}")
    } else {
        format!("/access?tab={tab}&msg={msg}")
    }
}

/// 同意 / 驳回 on the current step (`approve=1|0`, `comment`; a rejection needs a comment).
async fn decide_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let approve = match f.get("approve").map(String::as_str) {
        Some("1") => true,
        Some("0") => false,
        _ => return error_page(u.tr, AppError::BadRequest("approve=1|0".into())),
    };
    let comment = f.get("comment").map(|c| c.trim().to_string()).unwrap_or_default();
    match s.app.decide_request(&u.user, id, approve, &comment).await {
        Ok(_) => Redirect::to(&back_url(&f, id, "inbox", if approve { "approved" } else { "rejected" })).into_response(),
        Err(AppError::Validation(errors)) => {
            let error = field_error(u.tr, &errors, "comment").unwrap_or_else(|| errors.iter().map(|e| e.message(u.tr.lang)).collect::<Vec<_>>().join("；"));
            let refused = Some(Refused { request_id: id, comment, error });
            if f.get("back").map(String::as_str) == Some("detail") {
                request_view_page(&s, &u, id, None, refused).await
            } else {
                access_view(&s, &u, Some("inbox"), None, refused).await
            }
        }
        // Someone decided this step first, or the requester withdrew it meanwhile.
        Err(AppError::Conflict { .. } | AppError::Forbidden) => Redirect::to(&back_url(&f, id, "inbox", "stale")).into_response(),
        Err(e) => error_page(u.tr, e),
    }
}

/// 撤回: the requester withdraws a pending request.
async fn cancel_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    match s.app.cancel_request(&u.user, id).await {
        Ok(_) => Redirect::to(&back_url(&f, id, "mine", "cancelled")).into_response(),
        Err(AppError::Conflict { .. }) => Redirect::to(&back_url(&f, id, "mine", "stale")).into_response(),
        Err(e) => error_page(u.tr, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_in_hours_and_minutes() {
        let now = Utc::now();
        let zh = Tr { lang: "zh-CN" };
        assert_eq!(time_left(zh, now + chrono::Duration::minutes(3 * 60 + 12) + chrono::Duration::seconds(30), now), "剩余 3小时12分");
        assert_eq!(time_left(zh, now + chrono::Duration::minutes(12), now), "剩余 12分");
        assert_eq!(time_left(Tr { lang: "en" }, now + chrono::Duration::minutes(71 * 60 + 59), now), "71 h 59 min left");
        assert_eq!(time_left(zh, now - chrono::Duration::minutes(5), now), "剩余 0分");
    }

    #[test]
    fn sections_travel_as_chinese_names_and_show_in_the_reader_language() {
        assert_eq!(section_value("sec.timeline"), "往来记录");
        assert_eq!(section_label(Tr { lang: "en" }, "往来记录"), "Timeline");
        assert_eq!(section_label(Tr { lang: "zh-TW" }, "contacts"), "聯絡人");
        assert_eq!(section_label(Tr { lang: "en" }, "其他"), "其他");
    }

    #[test]
    fn every_grantable_action_has_a_label() {
        for a in Action::ALL.iter().filter(|a| a.grantable()) {
            for lang in ["zh-CN", "zh-TW", "en"] {
                assert_ne!(action_label(Tr { lang }, *a), a.as_str(), "{a:?} in {lang}");
            }
        }
    }
}
