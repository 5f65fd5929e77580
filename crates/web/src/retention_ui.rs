//! Screens for retention, destruction and personal-information requests (保管期限与销毁、个人信息):
//! 到期待处置 (disposal-due list, appraisal and request form), 销毁申请 (requests with their
//! approve / reject / witness steps), 销毁清册 (destroyed ones, printable), the archive's
//! 保管与个人信息 page (legal hold, closing date, consents, its requests; the tombstone of a
//! destroyed archive) and 个人信息请求 (requests with due dates). Handlers call
//! `dangan_app::retention`; a refusal comes back on the page as one line in the user's language.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use dangan_app::retention::{may_handle_pipl, DestructionInput, PiplInput};
use dangan_app::store::{Consent, DestructionRequest, PiplRequest, RetentionInfo};
use dangan_app::AppError;
use dangan_core::retention::{self as rules, ConsentData, DestructionStatus, PiplKind, PiplStatus};
use serde::Deserialize;

use crate::ui::{error_page, fmt_time, render, Chrome, UiUser};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/retention", get(due_page))
        .route("/retention/destructions", post(file_submit))
        .route("/destructions", get(list_page))
        .route("/destructions/{id}", get(detail_page))
        .route("/destructions/{id}/decide", post(decide_submit))
        .route("/destructions/{id}/cancel", post(cancel_submit))
        .route("/destructions/{id}/witness", post(witness_submit))
        .route("/archives/{id}/retention", get(archive_page))
        .route("/archives/{id}/legal-hold", post(hold_submit))
        .route("/archives/{id}/closed-on", post(closed_on_submit))
        .route("/archives/{id}/consents", post(consent_submit))
        .route("/consents/{id}/withdraw", post(withdraw_submit))
        .route("/pipl", get(pipl_page).post(pipl_submit))
        .route("/pipl/{id}/answer", post(pipl_answer_submit))
        .route("/pipl/{id}/keep", post(pipl_keep_submit))
        .route("/pipl/{id}/delete", post(pipl_delete_submit))
}

/// The menu shows 保管与销毁 to those who keep or read the register or handle requests.
pub fn may_see_menu(roles: &[dangan_core::Role]) -> bool {
    rules::may_view_register(roles) || may_handle_pipl(roles)
}

/// A refusal as one line in the user's language.
fn error_text(tr: crate::i18n::Tr, e: AppError) -> String {
    match e {
        AppError::Validation(errors) => errors.iter().map(|e| e.message(tr.lang)).collect::<Vec<_>>().join("；"),
        AppError::Invalid { zh, en } | AppError::Refused { zh, en, .. } => {
            if tr.lang == "en" {
                en
            } else {
                zh
            }
        }
        AppError::NotFound => tr.t("err.not_found").to_string(),
        AppError::Forbidden => tr.t("err.forbidden").to_string(),
        AppError::BadRequest(m) => m,
        other => format!("{}：{other}", tr.t("err.internal")),
    }
}

/// Back to `to` with the refusal shown there.
fn back_with(to: &str, tr: crate::i18n::Tr, e: AppError) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}err={}", urlencoding::encode(&error_text(tr, e)))).into_response()
}

fn form_map(f: &[(String, String)]) -> HashMap<String, String> {
    f.iter().cloned().collect()
}

#[derive(Deserialize, Default)]
struct ErrQuery {
    err: Option<String>,
    today: Option<String>,
    status: Option<String>,
    open: Option<String>,
}

async fn names(s: &AppState) -> HashMap<i64, String> {
    s.app.users().await.unwrap_or_default().into_iter().map(|u| (u.id, u.display_name)).collect()
}

async fn witnesses(s: &AppState, except: i64) -> Vec<(i64, String)> {
    s.app.users().await.unwrap_or_default().into_iter().filter(|x| x.active && x.id != except).map(|x| (x.id, format!("{}（{}）", x.display_name, x.username))).collect()
}

fn status_class(st: DestructionStatus) -> &'static str {
    match st {
        DestructionStatus::Pending => "tag-cyan",
        DestructionStatus::Approved => "tag-orange",
        DestructionStatus::Rejected | DestructionStatus::Cancelled => "tag-grey",
        DestructionStatus::Destroyed => "tag-red",
    }
}

// --- 到期待处置 ---

pub struct DueRow {
    pub id: i64,
    pub archive_no: String,
    pub name: String,
    pub status: String,
    pub due_on: String,
    pub open_request: Option<i64>,
}

#[derive(Template)]
#[template(path = "retention_due.html")]
struct DuePage {
    c: Chrome,
    tab_key: &'static str,
    rows: Vec<DueRow>,
    today: String,
    can_file: bool,
    witnesses: Vec<(i64, String)>,
    error: Option<String>,
}

async fn due_page(State(s): State<AppState>, u: UiUser, Query(q): Query<ErrQuery>) -> Response {
    let today = q.today.as_deref().and_then(|t| t.parse::<NaiveDate>().ok()).unwrap_or_else(dangan_app::retention::today);
    let items = match s.app.disposal_due(&u.user, today, None, 500).await {
        Ok(i) => i,
        Err(e) => return error_page(u.tr, e),
    };
    let rows = items
        .into_iter()
        .map(|d| DueRow {
            id: d.archive.id,
            archive_no: d.archive.archive_no,
            name: d.archive.name,
            status: d.archive.status.label(u.tr.lang).to_string(),
            due_on: d.due_on.to_string(),
            open_request: d.open_destruction_id,
        })
        .collect();
    let mut c = Chrome::of(&s, &u).await;
    c.menu = "retention";
    let can_file = rules::may_file_destruction(&u.user.roles);
    render(&DuePage { c, tab_key: "due", rows, today: today.to_string(), can_file, witnesses: witnesses(&s, u.user.id).await, error: q.err })
}

/// 鉴定并提出销毁: the checked archives, reason, appraisal, method and witness.
async fn file_submit(State(s): State<AppState>, u: UiUser, Form(f): Form<Vec<(String, String)>>) -> Response {
    let m = form_map(&f);
    if let Err(r) = u.check_csrf(&m) {
        return r;
    }
    let get = |k: &str| m.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let archive_ids: Vec<i64> = f.iter().filter(|(k, _)| k == "archive_id").filter_map(|(_, v)| v.parse().ok()).collect();
    let input = DestructionInput { archive_ids, reason: get("reason"), appraisal: get("appraisal"), method: get("method"), witness_id: get("witness_id").parse().unwrap_or(0) };
    match s.app.request_destruction(&u.user, input).await {
        Ok(r) => Redirect::to(&format!("/destructions/{}", r.id)).into_response(),
        Err(e) => back_with("/retention", u.tr, e),
    }
}

// --- 销毁申请 / 销毁清册 ---

pub struct RequestRow {
    pub id: i64,
    pub register_no: String,
    pub archives: String,
    pub requester: String,
    pub witness: String,
    pub status: String,
    pub status_class: &'static str,
    pub waiting: String,
    pub created_at: String,
    pub destroyed_at: String,
}

#[derive(Template)]
#[template(path = "destructions.html")]
struct ListPage {
    c: Chrome,
    tab_key: &'static str,
    tab: String,
    rows: Vec<RequestRow>,
}

fn row(tr: crate::i18n::Tr, r: &DestructionRequest, names: &HashMap<i64, String>) -> RequestRow {
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    RequestRow {
        id: r.id,
        register_no: r.register_no.clone().unwrap_or_default(),
        archives: r.items.iter().map(|i| i.archive_no.as_str()).collect::<Vec<_>>().join("、"),
        requester: name(r.requester_id),
        witness: name(r.witness_id),
        status: r.status.label(tr.lang).to_string(),
        status_class: status_class(r.status),
        waiting: match r.status {
            DestructionStatus::Pending => r.current_step().map(|s| s.label(tr.lang).to_string()).unwrap_or_default(),
            DestructionStatus::Approved => format!("{}：{}", tr.t("ret.witness"), name(r.witness_id)),
            _ => String::new(),
        },
        created_at: fmt_time(r.created_at),
        destroyed_at: r.destroyed_at.map(fmt_time).unwrap_or_default(),
    }
}

async fn list_page(State(s): State<AppState>, u: UiUser, Query(q): Query<ErrQuery>) -> Response {
    let tab = q.status.clone().unwrap_or_default();
    let status = DestructionStatus::parse(&tab);
    let list = match s.app.destructions(&u.user, status).await {
        Ok(l) => l,
        Err(e) => return error_page(u.tr, e),
    };
    let names = names(&s).await;
    let rows = list.iter().map(|r| row(u.tr, r, &names)).collect();
    let mut c = Chrome::of(&s, &u).await;
    c.menu = "retention";
    let tab_key = if tab == "destroyed" { "register" } else { "requests" };
    render(&ListPage { c, tab_key, tab, rows })
}

pub struct ItemRow {
    pub archive_id: i64,
    pub archive_no: String,
    pub name: String,
    pub retention: String,
    pub filed_on: String,
    pub due_on: String,
}

pub struct StepRow {
    pub label: String,
    pub state: String,
    pub state_class: &'static str,
    pub who: String,
    pub comment: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "destruction.html")]
struct DetailPage {
    c: Chrome,
    r: RequestRow,
    reason: String,
    appraisal: String,
    method: String,
    items: Vec<ItemRow>,
    steps: Vec<StepRow>,
    can_decide: bool,
    can_cancel: bool,
    can_witness: bool,
    /// The confirmation asked before the witness's click (it carries the destruction out).
    witness_question: String,
    pipl_request_id: Option<i64>,
    error: Option<String>,
}

async fn detail_page(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Query(q): Query<ErrQuery>) -> Response {
    let r = match s.app.destruction(&u.user, id).await {
        Ok(r) => r,
        Err(e) => return error_page(u.tr, e),
    };
    let tr = u.tr;
    let names = names(&s).await;
    let name = |id: i64| names.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    let items = r
        .items
        .iter()
        .map(|i| ItemRow {
            archive_id: i.archive_id,
            archive_no: i.archive_no.clone(),
            name: if i.name.is_empty() { tr.t("ret.purged").to_string() } else { i.name.clone() },
            retention: i.retention_class.label(tr.lang).to_string(),
            filed_on: i.filed_on.to_string(),
            due_on: i.due_on.map(|d| d.to_string()).unwrap_or_default(),
        })
        .collect();
    let mut steps: Vec<StepRow> = r
        .chain
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let d = r.decisions.iter().find(|d| d.step == i as i64);
            let (state, state_class) = match d {
                Some(d) if d.approved => (tr.t("ret.approved"), "tag-green"),
                Some(_) => (tr.t("ret.rejected"), "tag-red"),
                None if r.status == DestructionStatus::Pending && r.step == i as i64 => (tr.t("ret.waiting"), "tag-cyan"),
                None => ("", ""),
            };
            StepRow {
                label: step.label(tr.lang).to_string(),
                state: state.to_string(),
                state_class,
                who: d.map(|d| name(d.approver_id)).unwrap_or_default(),
                comment: d.map(|d| d.comment.clone()).unwrap_or_default(),
                at: d.map(|d| fmt_time(d.decided_at)).unwrap_or_default(),
            }
        })
        .collect();
    steps.push(StepRow {
        label: format!("{}（{}）", tr.t("ret.witness"), name(r.witness_id)),
        state: match r.status {
            DestructionStatus::Destroyed => tr.t("ret.confirmed").to_string(),
            DestructionStatus::Approved => tr.t("ret.waiting").to_string(),
            _ => String::new(),
        },
        state_class: if r.status == DestructionStatus::Destroyed { "tag-green" } else { "tag-cyan" },
        who: if r.status == DestructionStatus::Destroyed { name(r.witness_id) } else { String::new() },
        comment: String::new(),
        at: r.destroyed_at.map(fmt_time).unwrap_or_default(),
    });
    let me = &u.user;
    let can_decide = r.current_step().is_some_and(|st| rules::can_decide(st, me.id, &me.roles, r.requester_id));
    let can_cancel = r.requester_id == me.id && r.status.is_open();
    let can_witness = r.witness_id == me.id && r.status == DestructionStatus::Approved;
    let mut c = Chrome::of(&s, &u).await;
    c.menu = "retention";
    render(&DetailPage {
        c,
        r: row(tr, &r, &names),
        reason: r.reason.clone(),
        appraisal: r.appraisal.clone(),
        method: r.method.clone(),
        items,
        steps,
        can_decide,
        can_cancel,
        can_witness,
        witness_question: tr.f("ret.witness_question", "nos", &r.items.iter().map(|i| i.archive_no.as_str()).collect::<Vec<_>>().join("、")),
        pipl_request_id: r.pipl_request_id,
        error: q.err,
    })
}

async fn decide_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let approved = f.get("approved").map(String::as_str) == Some("1");
    let back = format!("/destructions/{id}");
    match s.app.decide_destruction(&u.user, id, approved, f.get("comment").map(String::as_str).unwrap_or("")).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => back_with(&back, u.tr, e),
    }
}

async fn cancel_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let back = format!("/destructions/{id}");
    match s.app.cancel_destruction(&u.user, id).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => back_with(&back, u.tr, e),
    }
}

async fn witness_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let back = format!("/destructions/{id}");
    match s.app.witness_destruction(&u.user, id).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => back_with(&back, u.tr, e),
    }
}

// --- the archive's 保管与个人信息 page ---

pub struct ConsentRow {
    pub id: i64,
    pub subject: String,
    pub purpose: String,
    pub scope: String,
    pub guardian: String,
    pub flags: String,
    pub given_on: String,
    pub withdrawn_on: String,
}

fn consent_row(tr: crate::i18n::Tr, c: &Consent) -> ConsentRow {
    let d = &c.data;
    let mut flags = Vec::new();
    if d.sensitive {
        flags.push(tr.t("ret.c_sensitive"));
    }
    if d.explicit {
        flags.push(tr.t("ret.c_explicit"));
    }
    ConsentRow {
        id: c.id,
        subject: d.subject_name.clone(),
        purpose: d.purpose.clone(),
        scope: d.scope.clone(),
        guardian: d.guardian_name.as_ref().map(|g| format!("{g}{}", d.guardian_relation.as_ref().map(|r| format!("（{r}）")).unwrap_or_default())).unwrap_or_default(),
        flags: flags.join("、"),
        given_on: d.given_on.to_string(),
        withdrawn_on: c.withdrawn_on.map(|x| x.to_string()).unwrap_or_default(),
    }
}

pub struct PiplRow {
    pub id: i64,
    pub archive_id: i64,
    pub archive_no: String,
    pub kind: String,
    pub kind_code: &'static str,
    pub subject: String,
    pub detail: String,
    pub received_on: String,
    pub due_on: String,
    pub status: String,
    pub open: bool,
    pub overdue: bool,
    pub resolution: String,
    pub legal_basis: String,
    pub destruction_id: Option<i64>,
}

fn pipl_row(tr: crate::i18n::Tr, r: &PiplRequest, today: NaiveDate) -> PiplRow {
    PiplRow {
        id: r.id,
        archive_id: r.archive_id,
        archive_no: format!("#{}", r.archive_id),
        kind: r.kind.label(tr.lang).to_string(),
        kind_code: r.kind.as_str(),
        subject: r.subject_name.clone(),
        detail: r.detail.clone(),
        received_on: r.received_on.to_string(),
        due_on: r.due_on.to_string(),
        status: r.status.label(tr.lang).to_string(),
        open: r.status == PiplStatus::Open,
        overdue: rules::pipl_overdue(r.status, r.due_on, today),
        resolution: r.resolution.clone(),
        legal_basis: r.legal_basis.clone(),
        destruction_id: r.destruction_id,
    }
}

#[derive(Template)]
#[template(path = "archive_retention.html")]
struct ArchivePage {
    c: Chrome,
    id: i64,
    archive_no: String,
    name: String,
    destroyed: bool,
    destroyed_at: String,
    kinds: Vec<(&'static str, &'static str)>,
    info: RetentionInfo,
    retention: String,
    hold_by: String,
    closed_on: String,
    can_hold: bool,
    can_pipl: bool,
    consents: Vec<ConsentRow>,
    requests: Vec<PiplRow>,
    today: String,
    error: Option<String>,
}

async fn archive_page(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Query(q): Query<ErrQuery>) -> Response {
    let tr = u.tr;
    let info = match s.app.retention_info(&u.user, id).await {
        Ok(i) => i,
        Err(e) => return error_page(tr, e),
    };
    let destroyed = info.destroyed_at.is_some();
    let Ok(Some(archive)) = s.app.store.get_archive(id).await else { return error_page(tr, AppError::NotFound) };
    let (name, consents) = if destroyed {
        (String::new(), Vec::new())
    } else {
        let consents = match s.app.consents(&u.user, id).await {
            Ok(c) => c,
            Err(e) => return error_page(tr, e),
        };
        let name = if archive.data.secrecy == dangan_core::Secrecy::TopSecret { String::new() } else { archive.data.name.clone() };
        (name, consents)
    };
    let can_pipl = may_handle_pipl(&u.user.roles);
    let today = dangan_app::retention::today();
    let requests = if can_pipl || rules::may_view_register(&u.user.roles) { s.app.pipl_requests(&u.user, false, Some(id)).await.unwrap_or_default() } else { Vec::new() };
    let names = names(&s).await;
    let d = &archive.data;
    let years = rules::retention_years(d.retention_class, d.retention_years);
    let retention = match (d.retention_years, years) {
        (Some(y), Some(_)) => tr.f("ret.custom_years", "n", &y.to_string()),
        _ => d.retention_class.label(tr.lang).to_string(),
    };
    let mut c = Chrome::of(&s, &u).await;
    c.menu = "archives";
    render(&ArchivePage {
        c,
        id,
        archive_no: archive.archive_no.clone(),
        name,
        destroyed,
        destroyed_at: info.destroyed_at.map(fmt_time).unwrap_or_default(),
        kinds: PiplKind::ALL.iter().map(|k| (k.as_str(), k.label(tr.lang))).collect(),
        hold_by: info.legal_hold.as_ref().map(|h| format!("{} · {}", names.get(&h.by).cloned().unwrap_or_default(), fmt_time(h.at))).unwrap_or_default(),
        closed_on: info.closed_at.map(dangan_app::store::retention::china_date).map(|d| d.to_string()).unwrap_or_default(),
        info,
        retention,
        can_hold: rules::may_hold(&u.user.roles),
        can_pipl,
        consents: consents.iter().map(|x| consent_row(tr, x)).collect(),
        requests: requests.iter().map(|r| pipl_row(tr, r, today)).collect(),
        today: today.to_string(),
        error: q.err,
    })
}

async fn hold_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let hold = f.get("hold").map(String::as_str) == Some("1");
    let back = format!("/archives/{id}/retention");
    match s.app.set_legal_hold(&u.user, id, hold, f.get("reason").map(String::as_str).unwrap_or("")).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => back_with(&back, u.tr, e),
    }
}

async fn closed_on_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let back = format!("/archives/{id}/retention");
    let Ok(day) = dangan_core::validate::parse_date(f.get("closed_on").map(String::as_str).unwrap_or("")) else {
        return back_with(&back, u.tr, AppError::Invalid { zh: "日期格式不正确".into(), en: "not a date".into() });
    };
    match s.app.set_closed_on(&u.user, id, day).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => back_with(&back, u.tr, e),
    }
}

fn opt(f: &HashMap<String, String>, k: &str) -> Option<String> {
    f.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

async fn consent_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let back = format!("/archives/{id}/retention");
    let date = |k: &str| opt(&f, k).map(|v| dangan_core::validate::parse_date(&v)).transpose();
    let (Ok(birth), Ok(given)) = (date("subject_birth_date"), date("given_on")) else {
        return back_with(&back, u.tr, AppError::Invalid { zh: "日期格式不正确".into(), en: "not a date".into() });
    };
    let c = ConsentData {
        subject_name: opt(&f, "subject_name").unwrap_or_default(),
        purpose: opt(&f, "purpose").unwrap_or_default(),
        scope: opt(&f, "scope").unwrap_or_default(),
        subject_birth_date: birth,
        guardian_name: opt(&f, "guardian_name"),
        guardian_relation: opt(&f, "guardian_relation"),
        sensitive: f.contains_key("sensitive"),
        explicit: f.contains_key("explicit"),
        given_on: given.unwrap_or_else(dangan_app::retention::today),
    };
    match s.app.add_consent(&u.user, id, c).await {
        Ok(_) => Redirect::to(&format!("{back}#consents")).into_response(),
        Err(e) => back_with(&back, u.tr, e),
    }
}

async fn withdraw_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let back = f.get("back").filter(|b| b.starts_with('/')).cloned().unwrap_or_else(|| "/pipl".into());
    match s.app.withdraw_consent(&u.user, id, None).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => back_with(&back, u.tr, e),
    }
}

// --- 个人信息请求 ---

#[derive(Template)]
#[template(path = "pipl.html")]
struct PiplPage {
    c: Chrome,
    tab_key: &'static str,
    open_only: bool,
    rows: Vec<PiplRow>,
    can_handle: bool,
    witnesses: Vec<(i64, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    today: String,
    overdue: usize,
    error: Option<String>,
}

async fn pipl_page(State(s): State<AppState>, u: UiUser, Query(q): Query<ErrQuery>) -> Response {
    let open_only = q.open.as_deref() == Some("1");
    let list = match s.app.pipl_requests(&u.user, open_only, None).await {
        Ok(l) => l,
        Err(e) => return error_page(u.tr, e),
    };
    let today = dangan_app::retention::today();
    let mut nos = HashMap::new();
    for r in &list {
        if let Ok(Some(a)) = s.app.store.get_archive(r.archive_id).await {
            nos.insert(r.archive_id, a.archive_no);
        }
    }
    let mut rows: Vec<PiplRow> = list.iter().map(|r| pipl_row(u.tr, r, today)).collect();
    for r in rows.iter_mut() {
        if let Some(no) = nos.get(&r.archive_id) {
            r.archive_no = no.clone();
        }
    }
    let overdue = rows.iter().filter(|r| r.overdue).count();
    let mut c = Chrome::of(&s, &u).await;
    c.menu = "retention";
    render(&PiplPage {
        c,
        tab_key: "pipl",
        open_only,
        rows,
        can_handle: may_handle_pipl(&u.user.roles),
        witnesses: witnesses(&s, u.user.id).await,
        kinds: PiplKind::ALL.iter().map(|k| (k.as_str(), k.label(u.tr.lang))).collect(),
        today: today.to_string(),
        overdue,
        error: q.err,
    })
}

/// 登记请求: by archive number.
async fn pipl_submit(State(s): State<AppState>, u: UiUser, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let back = f.get("back").filter(|b| b.starts_with('/')).cloned().unwrap_or_else(|| "/pipl".into());
    let archive_id = match opt(&f, "archive_id").and_then(|v| v.parse::<i64>().ok()) {
        Some(id) => id,
        None => match s.app.store.get_archive_by_no(&opt(&f, "archive_no").unwrap_or_default()).await {
            Ok(Some(a)) => a.id,
            _ => return back_with(&back, u.tr, AppError::NotFound),
        },
    };
    let Some(kind) = opt(&f, "kind").as_deref().and_then(PiplKind::parse) else {
        return back_with(&back, u.tr, AppError::Invalid { zh: "请选择请求类型".into(), en: "choose what is asked".into() });
    };
    let received_on = match opt(&f, "received_on").map(|v| dangan_core::validate::parse_date(&v)).transpose() {
        Ok(d) => d,
        Err(_) => return back_with(&back, u.tr, AppError::Invalid { zh: "日期格式不正确".into(), en: "not a date".into() }),
    };
    let input = PiplInput { archive_id, kind, subject_name: opt(&f, "subject_name").unwrap_or_default(), detail: opt(&f, "detail").unwrap_or_default(), received_on };
    match s.app.create_pipl_request(&u.user, input).await {
        Ok(_) => Redirect::to(&back).into_response(),
        Err(e) => back_with(&back, u.tr, e),
    }
}

async fn pipl_answer_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    match s.app.answer_pipl_request(&u.user, id, f.get("resolution").map(String::as_str).unwrap_or("")).await {
        Ok(_) => Redirect::to("/pipl").into_response(),
        Err(e) => back_with("/pipl", u.tr, e),
    }
}

async fn pipl_keep_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    match s.app.keep_pipl_request(&u.user, id, f.get("legal_basis").map(String::as_str).unwrap_or("")).await {
        Ok(_) => Redirect::to("/pipl").into_response(),
        Err(e) => back_with("/pipl", u.tr, e),
    }
}

async fn pipl_delete_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let witness = f.get("witness_id").and_then(|v| v.parse().ok()).unwrap_or(0);
    match s.app.delete_for_pipl(&u.user, id, witness).await {
        Ok(r) => Redirect::to(&format!("/destructions/{}", r.id)).into_response(),
        Err(e) => back_with("/pipl", u.tr, e),
    }
}

/// The screens' strings (zh-CN, zh-TW, en), merged into the UI table (`i18n::t`).
pub const STRINGS: &[(&str, &str, &str, &str)] = &[
    ("f.retention_years", "自定义保管年限（选填，替代上面的期限）", "自訂保管年限（選填，取代上面的期限）", "Custom retention years (optional, replaces the class)"),
    ("err.refused", "操作被拒绝", "操作被拒絕", "Not allowed now"),
    ("ret.menu", "保管与销毁", "保管與銷毀", "Retention"),
    ("ret.due_title", "到期待处置", "到期待處置", "Due for disposal"),
    ("ret.requests", "销毁申请", "銷毀申請", "Destruction requests"),
    ("ret.register", "销毁清册", "銷毀清冊", "Destruction register"),
    ("ret.pipl", "个人信息请求", "個人資訊請求", "Personal-information requests"),
    ("ret.as_of", "判定日期", "判定日期", "As of"),
    ("ret.show", "查看", "查看", "Show"),
    ("ret.due_on", "到期日", "到期日", "Due on"),
    ("ret.due_empty", "没有到期待处置的档案", "沒有到期待處置的檔案", "No archive is due for disposal"),
    ("ret.due_hint", "已结档、保管期限已满、非永久保管且未被法律冻结的档案。勾选后填写鉴定意见，提交销毁申请。", "已結檔、保管期限已滿、非永久保管且未被法律凍結的檔案。勾選後填寫鑑定意見，提交銷毀申請。", "Closed archives past their retention, not permanent and not on legal hold. Tick them, give the appraisal and file a destruction request."),
    ("ret.in_request", "已在申请 #{n} 中", "已在申請 #{n} 中", "In request #{n}"),
    ("ret.appraise", "鉴定并申请销毁", "鑑定並申請銷毀", "Appraise and request destruction"),
    ("ret.reason", "销毁依据", "銷毀依據", "Reason"),
    ("ret.reason_default", "保管期限已满", "保管期限已滿", "Retention period ended"),
    ("ret.appraisal", "鉴定意见", "鑑定意見", "Appraisal"),
    ("ret.appraisal_default", "经鉴定，无继续保存价值", "經鑑定，無繼續保存價值", "Appraised: no further value"),
    ("ret.method", "销毁方式", "銷毀方式", "Method"),
    ("ret.method_default", "电子数据删除", "電子資料刪除", "Electronic deletion"),
    ("ret.witness", "监销人", "監銷人", "Witness"),
    ("ret.submit", "提交销毁申请", "提交銷毀申請", "File the request"),
    ("ret.tab_all", "全部", "全部", "All"),
    ("ret.tab_pending", "审批中", "審批中", "Awaiting approval"),
    ("ret.tab_approved", "待监销", "待監銷", "Awaiting witness"),
    ("ret.no", "编号", "編號", "No."),
    ("ret.archives", "档案", "檔案", "Archives"),
    ("ret.requester", "申请人", "申請人", "Requester"),
    ("ret.waiting_for", "待办", "待辦", "Waiting for"),
    ("ret.created", "申请时间", "申請時間", "Filed"),
    ("ret.destroyed_at", "销毁时间", "銷毀時間", "Destroyed"),
    ("ret.empty", "没有销毁申请", "沒有銷毀申請", "No destruction requests"),
    ("ret.request_no", "销毁申请 #{n}", "銷毀申請 #{n}", "Destruction request #{n}"),
    ("ret.register_no", "清册编号", "清冊編號", "Register no."),
    ("ret.print", "打印销毁清册", "列印銷毀清冊", "Print the register"),
    ("ret.chain", "审批与监销", "審批與監銷", "Approvals and witness"),
    ("ret.approved", "同意", "同意", "Approved"),
    ("ret.rejected", "驳回", "駁回", "Rejected"),
    ("ret.waiting", "待处理", "待處理", "Waiting"),
    ("ret.confirmed", "已确认销毁", "已確認銷毀", "Confirmed"),
    ("ret.destroyed", "已销毁", "已銷毀", "Destroyed"),
    ("ret.purged", "（已销毁）", "（已銷毀）", "(destroyed)"),
    ("ret.filed_on", "建档日期", "建檔日期", "Filed on"),
    ("ret.retention", "保管期限", "保管期限", "Retention"),
    ("ret.comment", "意见", "意見", "Comment"),
    ("ret.approve", "同意", "同意", "Approve"),
    ("ret.reject", "驳回", "駁回", "Reject"),
    ("ret.cancel", "撤回申请", "撤回申請", "Withdraw"),
    ("ret.witness_confirm", "我已到场监督，确认销毁", "我已到場監督，確認銷毀", "I witnessed it: carry out the destruction"),
    ("ret.witness_warn", "确认后立即执行：档案内容、历史版本、联系人、往来记录、附件和检索索引将被永久删除，仅保留档号、日期和本销毁记录。", "確認後立即執行：檔案內容、歷史版本、聯絡人、往來記錄、附件和檢索索引將被永久刪除，僅保留檔號、日期和本銷毀記錄。", "Carried out at once: content, versions, contacts, timeline, attachments and search entries are deleted for good; only the number, dates and this record remain."),
    ("ret.witness_question", "确认销毁档案 {nos}？销毁后内容不可恢复。", "確認銷毀檔案 {nos}？銷毀後內容不可恢復。", "Destroy archives {nos}? Their content cannot be recovered."),
    ("ret.for_pipl", "执行个人信息删除请求 #{n}", "執行個人資訊刪除請求 #{n}", "Carries out deletion request #{n}"),
    ("ret.page", "保管与个人信息", "保管與個人資訊", "Retention & personal information"),
    ("ret.tombstone", "该档案已销毁：内容已永久删除，仅保留档号、日期和销毁记录。", "該檔案已銷毀：內容已永久刪除，僅保留檔號、日期和銷毀記錄。", "This archive was destroyed: its content is gone; only the number, dates and the destruction record remain."),
    ("ret.closed_on", "结档日期", "結檔日期", "Closed on"),
    ("ret.set_closed_on", "登记结档日期", "登記結檔日期", "Record closing date"),
    ("ret.not_due", "未到期（永久、未结档或期限未满）", "未到期（永久、未結檔或期限未滿）", "Not due (permanent, open or within retention)"),
    ("ret.custom_years", "自定义 {n} 年", "自訂 {n} 年", "Custom: {n} years"),
    ("ret.hold", "法律冻结", "法律凍結", "Legal hold"),
    ("ret.held", "已冻结：{r}", "已凍結：{r}", "On hold: {r}"),
    ("ret.not_held", "未冻结", "未凍結", "Not on hold"),
    ("ret.hold_reason", "原因", "原因", "Reason"),
    ("ret.hold_set", "设置法律冻结", "設定法律凍結", "Put on hold"),
    ("ret.hold_clear", "解除冻结", "解除凍結", "Clear the hold"),
    ("ret.hold_banner", "本档案处于法律冻结，不能销毁：{r}", "本檔案處於法律凍結，不能銷毀：{r}", "This archive is on legal hold and cannot be destroyed: {r}"),
    ("ret.consents", "个人信息处理同意", "個人資訊處理同意", "Consents"),
    ("ret.c_subject", "个人", "個人", "Person"),
    ("ret.c_purpose", "处理目的", "處理目的", "Purpose"),
    ("ret.c_scope", "处理范围", "處理範圍", "Scope"),
    ("ret.c_birth", "出生日期（未满14周岁须监护人同意）", "出生日期（未滿14週歲須監護人同意）", "Date of birth (under 14: guardian consents)"),
    ("ret.c_guardian", "监护人", "監護人", "Guardian"),
    ("ret.c_relation", "关系", "關係", "Relation"),
    ("ret.c_sensitive", "含健康等敏感信息", "含健康等敏感資訊", "Includes health / sensitive data"),
    ("ret.c_explicit", "已取得单独同意", "已取得單獨同意", "Separate explicit consent given"),
    ("ret.c_given", "同意日期", "同意日期", "Given on"),
    ("ret.c_withdrawn", "撤回日期", "撤回日期", "Withdrawn on"),
    ("ret.c_add", "登记同意", "登記同意", "Record consent"),
    ("ret.c_withdraw", "撤回", "撤回", "Withdraw"),
    ("ret.c_none", "暂无同意记录", "暫無同意記錄", "No consent recorded"),
    ("ret.p_kind", "请求类型", "請求類型", "Request"),
    ("ret.p_subject", "提出人", "提出人", "Person"),
    ("ret.p_detail", "请求内容", "請求內容", "Details"),
    ("ret.p_received", "收到日期", "收到日期", "Received"),
    ("ret.p_due", "答复期限", "答覆期限", "Answer by"),
    ("ret.p_status", "状态", "狀態", "Status"),
    ("ret.p_add", "登记请求", "登記請求", "Record a request"),
    ("ret.p_none", "暂无个人信息请求", "暫無個人資訊請求", "No personal-information requests"),
    ("ret.p_open", "待处理", "待處理", "Open"),
    ("ret.p_overdue", "{n} 件请求已超过答复期限", "{n} 件請求已超過答覆期限", "{n} requests are past their answer date"),
    ("ret.p_resolution", "办理结果", "辦理結果", "Answer"),
    ("ret.p_answer", "办结", "辦結", "Close as answered"),
    ("ret.p_legal_basis", "保留的法律依据", "保留的法律依據", "Legal basis to keep"),
    ("ret.p_keep", "依法保留", "依法保留", "Keep (legal basis)"),
    ("ret.p_delete", "执行删除（走销毁审批）", "執行刪除（走銷毀審批）", "Delete (through destruction approval)"),
    ("ret.p_copy", "下载档案包（复制件）", "下載檔案包（複製件）", "Download the package (copy)"),
    ("ret.p_due_hint", "个人信息权利请求应在收到后 30 日内答复（GB/T 35273）。", "個人資訊權利請求應在收到後 30 日內答覆（GB/T 35273）。", "Answer personal-information requests within 30 days of receipt (GB/T 35273)."),
];

#[cfg(test)]
mod tests {
    #[test]
    fn strings_are_unique_and_translated() {
        let mut seen = std::collections::HashSet::new();
        for (k, a, b, c) in super::STRINGS {
            assert!(seen.insert(*k), "duplicate key {k}");
            assert!(!a.is_empty() && !b.is_empty() && !c.is_empty(), "missing translation for {k}");
        }
    }
}
