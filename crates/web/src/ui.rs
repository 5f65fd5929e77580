//! The web UI, rendered on the server (askama templates, no JavaScript build). Forms post
//! urlencoded fields named like the JSON paths (`organization.uscc`), so validation errors from
//! the core land under the right input.
//!
//! Every page except `/login` needs a session; every POST carries a CSRF token derived from the
//! session token.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, FixedOffset, Utc};
use dangan_app::store::{SessionKind, SortOrder};
use dangan_app::{AppError, ArchiveView};
use dangan_core::validate::{self, ErrorCode, FieldError};
use dangan_core::*;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::api::ListParams;
use crate::i18n::{Tr, LANGS};
use crate::{request_lang, request_token, AppState, LANG_COOKIE, SESSION_COOKIE};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/archives") }))
        .route("/static/app.css", get(css))
        .route("/login", get(login_page).post(login_submit))
        .route("/logout", post(logout))
        .route("/lang", get(set_lang))
        .route("/archives", get(list_page).post(create_submit))
        .route("/archives/new", get(new_page))
        .route("/archives/{id}", get(view_page))
        .route("/archives/{id}/edit", get(edit_page).post(edit_submit))
        .route("/archives/{id}/contacts", post(contact_submit))
        .route("/archives/{id}/entries", post(entry_submit))
        .route("/archives/{id}/attachments", post(attachment_submit))
        .route("/attachments/{id}", get(attachment_download))
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], include_str!("../static/app.css")).into_response()
}

/// China Standard Time, for display: the users read local office time.
pub(crate) fn cst(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("valid offset"))
}

pub fn fmt_time(t: DateTime<Utc>) -> String {
    cst(t).format("%Y-%m-%d %H:%M").to_string()
}

pub(crate) fn group_thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn csrf_for(token: &str) -> String {
    hex::encode(&Sha256::digest(format!("dangan-csrf:{token}").as_bytes())[..16])
}

/// The logged-in user of a page; redirects to the login page otherwise.
pub struct UiUser {
    pub user: dangan_app::Principal,
    pub tr: Tr,
    pub csrf: String,
    pub path: String,
}

impl FromRequestParts<AppState> for UiUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let tr = Tr { lang: request_lang(&parts.headers) };
        let path = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        let login = || Redirect::to(&format!("/login?next={}", urlencoding::encode(&path))).into_response();
        let Some(token) = request_token(&parts.headers) else { return Err(login()) };
        match state.app.authenticate(&token).await {
            Ok(Some(user)) => Ok(UiUser { user: crate::principal(state, parts, user).await, tr, csrf: csrf_for(&token), path }),
            Ok(None) => Err(login()),
            Err(e) => Err(error_page(tr, e)),
        }
    }
}

impl UiUser {
    pub(crate) fn check_csrf(&self, form: &HashMap<String, String>) -> Result<(), Response> {
        if form.get("_csrf").map(String::as_str) == Some(self.csrf.as_str()) {
            Ok(())
        } else {
            Err(error_page(self.tr, AppError::BadRequest("CSRF token mismatch; reload the page / 页面已过期，请刷新后重试".into())))
        }
    }
}

/// What every page's frame needs.
pub struct Chrome {
    pub tr: Tr,
    pub user_name: String,
    pub dept_name: String,
    pub csrf: String,
    pub path: String,
    pub langs: Vec<(&'static str, &'static str, bool)>,
    pub search: String,
    /// The left-menu item to mark active: `archives`, `access`, `loans` or `audit`.
    pub menu: &'static str,
    /// The user may read the audit trail (the menu shows 审计日志).
    pub can_audit: bool,
    /// A system administrator (the menu opens 系统设置).
    pub is_admin: bool,
    /// The user may run the duplicate scan (the menu shows 查重).
    pub can_dedup: bool,
    /// May see the policy settings (系统设置 → 策略设置): administrator, auditor, general manager.
    pub can_view_policy: bool,
    /// May hand over a leaving employee's archives or file the lists (离职交接).
    pub can_handover: bool,
    /// The menu shows 保管与销毁 (register readers, personal-information request handlers).
    pub can_retention: bool,
}

impl Chrome {
    pub(crate) async fn of(s: &AppState, u: &UiUser) -> Chrome {
        let dept_name = match u.user.dept_id {
            Some(id) => s.app.departments().await.ok().and_then(|ds| ds.into_iter().find(|d| d.id == id)).map(|d| d.name).unwrap_or_default(),
            None => String::new(),
        };
        Chrome {
            tr: u.tr,
            user_name: u.user.display_name.clone(),
            dept_name,
            csrf: u.csrf.clone(),
            path: u.path.clone(),
            langs: LANGS.iter().map(|(code, name)| (*code, *name, *code == u.tr.lang)).collect(),
            search: String::new(),
            menu: "archives",
            can_audit: dangan_app::audit::may_read_audit(&u.user.user),
            is_admin: u.user.has_role(Role::SystemAdmin),
            can_dedup: u.user.active && u.user.roles.iter().any(|r| dangan_app::dedup::SCAN_ROLES.contains(r)),
            can_view_policy: dangan_app::policy::may_view(&u.user),
            can_handover: u.user.active && u.user.roles.iter().any(|r| dangan_app::lifecycle::HANDOVER_ROLES.contains(r)),
            can_retention: u.user.active && crate::retention_ui::may_see_menu(&u.user.roles),
        }
    }
    pub fn path_enc(&self) -> String {
        urlencoding::encode(&self.path).into_owned()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    tr: Tr,
    status: u16,
    message: String,
}

pub(crate) fn error_page(tr: Tr, e: AppError) -> Response {
    let (status, key) = match &e {
        AppError::NotFound => (StatusCode::NOT_FOUND, "err.not_found"),
        AppError::Forbidden => (StatusCode::FORBIDDEN, "err.forbidden"),
        AppError::NeedsApproval { .. } => (StatusCode::FORBIDDEN, "err.needs_approval"),
        AppError::Unauthenticated => (StatusCode::UNAUTHORIZED, "err.unauthenticated"),
        AppError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "err.too_large"),
        AppError::UnsupportedType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "err.unsupported_type"),
        AppError::BadRequest(_) | AppError::Validation(_) | AppError::Invalid { .. } => (StatusCode::BAD_REQUEST, "err.bad_request"),
        AppError::Conflict { .. } | AppError::Duplicate(_) => (StatusCode::CONFLICT, "err.conflict"),
        AppError::Duplicates(_) => (StatusCode::CONFLICT, "dedup.err"),
        AppError::Refused { .. } => (StatusCode::CONFLICT, "err.refused"),
        AppError::LockedOut { .. } => (StatusCode::TOO_MANY_REQUESTS, "err.locked"),
        AppError::Internal(d) => {
            tracing::error!("internal error: {d}");
            (StatusCode::INTERNAL_SERVER_ERROR, "err.internal")
        }
    };
    let mut message = tr.t(key).to_string();
    if let AppError::BadRequest(d) = &e {
        message = format!("{message}：{d}");
    }
    if let AppError::Invalid { zh, en } | AppError::Refused { zh, en, .. } = &e {
        message = format!("{message}：{}", if tr.lang == "en" { en } else { zh });
    }
    (status, render(&ErrorPage { tr, status: status.as_u16(), message })).into_response()
}

pub(crate) fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("template error: {e}")).into_response(),
    }
}

// ---------------------------------------------------------------- login

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    tr: Tr,
    next: String,
    username: String,
    error: Option<String>,
    langs: Vec<(&'static str, &'static str, bool)>,
}

#[derive(Deserialize)]
struct NextParam {
    next: Option<String>,
}

/// Only same-site paths are followed after login (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n.to_string(),
        _ => "/archives".into(),
    }
}

fn lang_choices(tr: Tr) -> Vec<(&'static str, &'static str, bool)> {
    LANGS.iter().map(|(c, n)| (*c, *n, *c == tr.lang)).collect()
}

async fn login_page(headers: HeaderMap, Query(q): Query<NextParam>) -> Response {
    let tr = Tr { lang: request_lang(&headers) };
    render(&LoginPage { tr, next: safe_next(q.next.as_deref()), username: String::new(), error: None, langs: lang_choices(tr) })
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

async fn login_submit(State(s): State<AppState>, headers: HeaderMap, client: crate::Client, Form(f): Form<LoginForm>) -> Response {
    let tr = Tr { lang: request_lang(&headers) };
    match s.app.login(&f.username, &f.password, SessionKind::Browser, &client.0).await {
        Ok(ok) => {
            let cookie = format!("{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}", ok.token, s.app.settings.session_hours * 3600);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&safe_next(f.next.as_deref()))).into_response()
        }
        Err(e) => {
            let error = match e {
                AppError::LockedOut { until } => format!("{} {}", tr.t("login.locked"), fmt_time(until)),
                AppError::Unauthenticated => tr.t("login.failed").to_string(),
                other => return error_page(tr, other),
            };
            let page = LoginPage { tr, next: safe_next(f.next.as_deref()), username: f.username, error: Some(error), langs: lang_choices(tr) };
            (StatusCode::UNAUTHORIZED, render(&page)).into_response()
        }
    }
}

async fn logout(State(s): State<AppState>, u: UiUser, headers: HeaderMap, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    if let Some(t) = request_token(&headers) {
        let _ = s.app.logout(&t, &u.user.client).await;
    }
    ([(header::SET_COOKIE, format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"))], Redirect::to("/login")).into_response()
}

#[derive(Deserialize)]
struct LangParam {
    to: String,
    back: Option<String>,
}

async fn set_lang(Query(q): Query<LangParam>) -> Response {
    let lang = crate::i18n::normalize_lang(&q.to);
    let cookie = format!("{LANG_COOKIE}={lang}; Path=/; SameSite=Lax; Max-Age=31536000");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&safe_next(q.back.as_deref()))).into_response()
}

// ---------------------------------------------------------------- list

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub(crate) fn choices<T: Copy>(all: &[T], current: Option<&str>, value: impl Fn(T) -> &'static str, label: impl Fn(T) -> &'static str) -> Vec<Choice> {
    all.iter().map(|x| Choice { value: value(*x).to_string(), label: label(*x).to_string(), selected: current == Some(value(*x)) }).collect()
}

pub struct Row {
    pub id: i64,
    pub archive_no: String,
    pub name: String,
    pub kind: String,
    pub grade: String,
    pub grade_class: String,
    pub credit_grade: String,
    pub blacklisted: bool,
    pub status: String,
    pub status_class: String,
    pub industry: String,
    pub region: String,
    pub owner: String,
    pub secrecy: String,
    pub secrecy_class: String,
    pub updated_at: String,
}

#[derive(Template)]
#[template(path = "list.html")]
struct ListPage {
    c: Chrome,
    rows: Vec<Row>,
    total: String,
    next_url: Option<String>,
    first_url: Option<String>,
    /// The same list as an Excel file (导出本列表).
    export_url: String,
    grades: Vec<Choice>,
    credit_grades: Vec<Choice>,
    statuses: Vec<Choice>,
    kinds: Vec<Choice>,
    sorts: Vec<Choice>,
    sizes: Vec<Choice>,
    q: String,
    industry: String,
    province: String,
    has_filter: bool,
}

pub(crate) fn status_class(s: ArchiveStatus) -> &'static str {
    match s {
        ArchiveStatus::Active => "tag-green",
        ArchiveStatus::Prospect => "tag-blue",
        ArchiveStatus::Dormant => "tag-orange",
        ArchiveStatus::Lost => "tag-red",
        ArchiveStatus::Closed => "tag-grey",
    }
}

pub(crate) fn grade_class(g: Option<Grade>) -> &'static str {
    match g {
        Some(Grade::A) => "tag-gold",
        Some(Grade::B) => "tag-blue",
        Some(Grade::C) => "tag-cyan",
        Some(Grade::D) => "tag-grey",
        None => "",
    }
}

pub(crate) fn secrecy_class(s: Secrecy) -> &'static str {
    match s {
        Secrecy::Normal => "",
        Secrecy::Secret => "tag-orange",
        Secrecy::Confidential => "tag-red",
        Secrecy::TopSecret => "tag-black",
    }
}

fn list_url(p: &ListParams, cursor: Option<&str>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            parts.push(format!("{k}={}", urlencoding::encode(&v)));
        }
    };
    push("q", p.q.clone());
    push("kind", p.kind.map(|v| v.as_str().into()));
    push("grade", p.grade.map(|v| v.as_str().into()));
    push("credit_grade", p.credit_grade.map(|v| v.as_str().into()));
    push("status", p.status.map(|v| v.as_str().into()));
    push("industry", p.industry.clone());
    push("province", p.province.clone());
    push("sort", p.sort.clone());
    push("limit", p.limit.map(|l| l.to_string()));
    push("cursor", cursor.map(str::to_string));
    format!("/archives?{}", parts.join("&"))
}

/// Filter values from a query string where empty selects mean "all".
#[derive(Deserialize, Default)]
struct RawListParams {
    q: Option<String>,
    kind: Option<String>,
    grade: Option<String>,
    credit_grade: Option<String>,
    status: Option<String>,
    industry: Option<String>,
    province: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    limit: Option<String>,
    /// The first page's count, carried by the 下一页 link: later pages do not count again (at
    /// 1M archives a filtered count reads 34–127 ms; the page's rows under 1 ms).
    total: Option<String>,
}

pub(crate) fn opt_parse<T: std::str::FromStr>(s: &Option<String>) -> Option<T> {
    s.as_deref().filter(|v| !v.is_empty()).and_then(|v| v.parse().ok())
}

async fn list_page(State(s): State<AppState>, u: UiUser, Query(raw): Query<RawListParams>) -> Response {
    let p = ListParams {
        kind: opt_parse(&raw.kind),
        grade: opt_parse(&raw.grade),
        credit_grade: opt_parse(&raw.credit_grade),
        status: opt_parse(&raw.status),
        industry: raw.industry.clone(),
        province: raw.province.clone(),
        q: raw.q.clone(),
        sort: raw.sort.clone().filter(|v| !v.is_empty()),
        cursor: raw.cursor.clone(),
        limit: opt_parse::<u32>(&raw.limit).map(|l| l.clamp(10, 200)),
        ..Default::default()
    };
    let sort = p.sort().unwrap_or(SortOrder::CreatedDesc);
    let limit = p.limit.unwrap_or(50);
    let carried_total = opt_parse::<i64>(&raw.total).filter(|t| *t >= 0 && p.cursor.as_deref().is_some_and(|c| !c.is_empty()));
    let page = match s.app.list_archives(&u.user, p.filter(), sort, p.cursor.as_deref(), limit, carried_total.is_none()).await {
        Ok(page) => page,
        Err(e) => return error_page(u.tr, e),
    };
    let users: HashMap<i64, String> = s.app.users().await.unwrap_or_default().into_iter().map(|u| (u.id, u.display_name)).collect();
    let tr = u.tr;
    let lang = tr.lang;
    let rows = page
        .items
        .iter()
        .map(|a| Row {
            id: a.id,
            archive_no: a.archive_no.clone(),
            name: a.name.clone(),
            kind: a.kind.label(lang).into(),
            grade: a.grade.map(|g| g.as_str()).unwrap_or("").into(),
            grade_class: grade_class(a.grade).into(),
            credit_grade: a.credit_grade.map(|g| g.as_str()).unwrap_or("").into(),
            blacklisted: a.blacklisted,
            status: a.status.label(lang).into(),
            status_class: status_class(a.status).into(),
            industry: a.industry.clone().unwrap_or_default(),
            region: [a.province.as_deref(), a.city.as_deref()].iter().flatten().copied().collect::<Vec<_>>().join(" "),
            owner: a.owner_id.and_then(|id| users.get(&id).cloned()).unwrap_or_default(),
            secrecy: if a.secrecy == Secrecy::Normal { String::new() } else { a.secrecy.label(lang).into() },
            secrecy_class: secrecy_class(a.secrecy).into(),
            updated_at: fmt_time(a.updated_at),
        })
        .collect();
    let total = page.total.or(carried_total).unwrap_or(0);
    let mut chrome = Chrome::of(&s, &u).await;
    chrome.search = p.q.clone().unwrap_or_default();
    let sort_value = p.sort.clone().unwrap_or_else(|| "created_desc".into());
    let page_view = ListPage {
        rows,
        total: tr.f("list.total", "n", &group_thousands(total)),
        next_url: page.next_cursor.as_deref().map(|c| format!("{}&total={total}", list_url(&p, Some(c)))),
        first_url: p.cursor.as_ref().filter(|c| !c.is_empty()).map(|_| list_url(&p, None)),
        export_url: list_url(&ListParams { limit: None, sort: None, ..p.clone() }, None).replacen("/archives?", "/export?format=xlsx&", 1),
        grades: choices(Grade::ALL, raw.grade.as_deref(), Grade::as_str, |g| g.label(lang)),
        credit_grades: choices(Grade::ALL, raw.credit_grade.as_deref(), Grade::as_str, |g| g.label(lang)),
        statuses: choices(ArchiveStatus::ALL, raw.status.as_deref(), ArchiveStatus::as_str, |v| v.label(lang)),
        kinds: choices(CustomerKind::ALL, raw.kind.as_deref(), CustomerKind::as_str, |v| v.label(lang)),
        sorts: ["created_desc", "created_asc", "updated_desc", "updated_asc"]
            .iter()
            .map(|v| Choice { value: v.to_string(), label: tr.t(&format!("sort.{v}")).to_string(), selected: *v == sort_value })
            .collect(),
        sizes: [20u32, 50, 100, 200].iter().map(|n| Choice { value: n.to_string(), label: n.to_string(), selected: *n == limit }).collect(),
        has_filter: p.q.is_some() || p.kind.is_some() || p.grade.is_some() || p.credit_grade.is_some() || p.status.is_some() || p.industry.as_deref().is_some_and(|v| !v.is_empty()) || p.province.as_deref().is_some_and(|v| !v.is_empty()),
        q: p.q.clone().unwrap_or_default(),
        industry: p.industry.clone().unwrap_or_default(),
        province: p.province.clone().unwrap_or_default(),
        c: chrome,
    };
    render(&page_view)
}

// ---------------------------------------------------------------- archive form

pub struct FieldView {
    pub name: &'static str,
    pub label: String,
    pub value: String,
    pub error: Option<String>,
    /// text | textarea | select | checkbox
    pub input: &'static str,
    pub required: bool,
    pub hint: String,
    pub options: Vec<Choice>,
    pub wide: bool,
    /// After an edit conflict: what someone else saved in this field meanwhile.
    pub note: Option<String>,
}

pub struct SectionView {
    pub title: String,
    /// CSS class: `person-only`, `org-only` or empty.
    pub class: &'static str,
    pub fields: Vec<FieldView>,
}

#[derive(Template)]
#[template(path = "form.html")]
struct FormPage {
    c: Chrome,
    title: String,
    action: String,
    cancel_url: String,
    archive_no: Option<String>,
    version: Option<i64>,
    kinds: Vec<Choice>,
    sections: Vec<SectionView>,
    banner: Option<String>,
    has_errors: bool,
    /// The reason typed for the change (kept when the form comes back with errors).
    reason: String,
    reason_error: Option<String>,
    /// Possible duplicates found on submit (查重): shown above the form with a confirmation.
    duplicates: Option<DuplicatesView>,
}

/// The duplicate warning on the archive form.
pub struct DuplicatesView {
    pub items: Vec<DuplicateItem>,
    /// "另有 n 份您无权查看的疑似重复档案", or empty.
    pub hidden: String,
    /// 仍然创建 / 仍然保存
    pub confirm_label: String,
}

pub struct DuplicateItem {
    pub id: i64,
    pub archive_no: String,
    pub name: String,
    pub reasons: String,
    pub score: u8,
}

impl DuplicatesView {
    fn of(tr: Tr, check: &dangan_app::dedup::DuplicateCheck, editing: bool) -> Self {
        DuplicatesView {
            items: check
                .candidates
                .iter()
                .map(|c| DuplicateItem {
                    id: c.archive.id,
                    archive_no: c.archive.archive_no.clone(),
                    name: c.archive.name.clone(),
                    reasons: c.reasons.iter().map(|r| r.label(tr.lang)).collect::<Vec<_>>().join("、"),
                    score: c.score,
                })
                .collect(),
            hidden: if check.hidden > 0 { tr.f("dedup.hidden", "n", &check.hidden.to_string()) } else { String::new() },
            confirm_label: tr.t(if editing { "dedup.confirm_save" } else { "dedup.confirm_create" }).to_string(),
        }
    }
}

type FormMap = HashMap<String, String>;

fn field<'a>(m: &'a FormMap, k: &str) -> &'a str {
    m.get(k).map(|s| s.trim()).unwrap_or("")
}

fn opt_text(m: &FormMap, k: &str) -> Option<String> {
    Some(field(m, k).to_string()).filter(|s| !s.is_empty())
}

/// Reads the archive form into `ArchiveData`; values that do not parse (dates, amounts, numbers)
/// become field errors, and the rest is still read so validation can report everything at once.
fn data_from_form(m: &FormMap) -> (ArchiveData, Vec<FieldError>) {
    let mut errors = Vec::new();
    let kind = field(m, "kind").parse().unwrap_or(CustomerKind::Person);
    let mut d = ArchiveData::new(kind, field(m, "name"));
    let date = |k: &str, errors: &mut Vec<FieldError>| -> Option<chrono::NaiveDate> {
        let v = field(m, k);
        if v.is_empty() {
            return None;
        }
        validate::parse_date(v).map_err(|c| errors.push(FieldError::new(k, c))).ok()
    };
    let money = |k: &str, errors: &mut Vec<FieldError>| -> Option<Money> {
        let v = field(m, k);
        if v.is_empty() {
            return None;
        }
        v.parse::<Money>().map_err(|_| errors.push(FieldError::new(k, ErrorCode::Amount))).ok()
    };
    let int = |k: &str, errors: &mut Vec<FieldError>| -> Option<i64> {
        let v = field(m, k);
        if v.is_empty() {
            return None;
        }
        v.replace([',', '，'], "").parse::<i64>().map_err(|_| errors.push(FieldError::new(k, ErrorCode::Number))).ok()
    };
    d.mobile = opt_text(m, "mobile");
    d.landline = opt_text(m, "landline");
    d.email = opt_text(m, "email");
    d.address = opt_text(m, "address");
    d.postal_code = opt_text(m, "postal_code");
    match kind {
        CustomerKind::Person => {
            d.person = Some(PersonInfo {
                gender: opt_parse(&opt_text(m, "person.gender")),
                birth_date: date("person.birth_date", &mut errors),
                id_type: opt_parse(&opt_text(m, "person.id_type")),
                id_number: opt_text(m, "person.id_number"),
                occupation: opt_text(m, "person.occupation"),
                employer: opt_text(m, "person.employer"),
                id_number_index: None,
            })
        }
        CustomerKind::Organization => {
            d.organization = Some(OrganizationInfo {
                uscc: opt_text(m, "organization.uscc"),
                legal_representative: opt_text(m, "organization.legal_representative"),
                registered_capital: money("organization.registered_capital", &mut errors),
                founded_on: date("organization.founded_on", &mut errors),
                organization_form: opt_text(m, "organization.organization_form"),
                employees: int("organization.employees", &mut errors),
                annual_sales: money("organization.annual_sales", &mut errors),
                business_scope: opt_text(m, "organization.business_scope"),
            })
        }
    }
    d.classification = Classification {
        industry: opt_text(m, "classification.industry"),
        province: opt_text(m, "classification.province"),
        city: opt_text(m, "classification.city"),
        district: opt_text(m, "classification.district"),
        nature: opt_text(m, "classification.nature"),
        source_channel: opt_text(m, "classification.source_channel"),
        grade: opt_parse(&opt_text(m, "classification.grade")),
        tags: field(m, "classification.tags").split([',', '，', ' ', '、']).map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect(),
    };
    if let Some(s) = opt_parse(&opt_text(m, "status")) {
        d.status = s;
    }
    d.credit = Credit {
        grade: opt_parse(&opt_text(m, "credit.grade")),
        limit: money("credit.limit", &mut errors),
        payment_term_days: int("credit.payment_term_days", &mut errors).map(|v| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32),
        discount_percent: int("credit.discount_percent", &mut errors).map(|v| v.clamp(i32::MIN as i64, i32::MAX as i64) as i32),
        blacklisted: matches!(field(m, "credit.blacklisted"), "on" | "true" | "1"),
        blacklist_reason: opt_text(m, "credit.blacklist_reason"),
        assessed_on: date("credit.assessed_on", &mut errors),
        valid_until: date("credit.valid_until", &mut errors),
    };
    d.characteristics = Characteristics {
        service_area: opt_text(m, "characteristics.service_area"),
        sales_ability: opt_text(m, "characteristics.sales_ability"),
        development_potential: opt_text(m, "characteristics.development_potential"),
        business_policy: opt_text(m, "characteristics.business_policy"),
        cooperation_attitude: opt_text(m, "characteristics.cooperation_attitude"),
        business_status: opt_text(m, "characteristics.business_status"),
        notes: opt_text(m, "characteristics.notes"),
    };
    if let Some(t) = opt_parse(&opt_text(m, "tier")) {
        d.tier = t;
    }
    if let Some(t) = opt_parse(&opt_text(m, "secrecy")) {
        d.secrecy = t;
    }
    if let Some(t) = opt_parse(&opt_text(m, "retention_class")) {
        d.retention_class = t;
    }
    d.retention_years = opt_parse(&opt_text(m, "retention_years"));
    d.owner_id = opt_parse(&opt_text(m, "owner_id"));
    d.dept_id = opt_parse(&opt_text(m, "dept_id"));
    (d, errors)
}

fn opt_date(d: Option<chrono::NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn opt_money(m: Option<Money>) -> String {
    m.map(|m| m.to_string()).unwrap_or_default()
}

/// The form's field values from an existing archive.
fn form_from_data(d: &ArchiveData) -> FormMap {
    let mut m = FormMap::new();
    let mut put = |k: &str, v: String| {
        m.insert(k.to_string(), v);
    };
    put("kind", d.kind.as_str().into());
    put("name", d.name.clone());
    put("mobile", d.mobile.clone().unwrap_or_default());
    put("landline", d.landline.clone().unwrap_or_default());
    put("email", d.email.clone().unwrap_or_default());
    put("address", d.address.clone().unwrap_or_default());
    put("postal_code", d.postal_code.clone().unwrap_or_default());
    if let Some(p) = &d.person {
        put("person.gender", p.gender.map(|v| v.as_str().to_string()).unwrap_or_default());
        put("person.birth_date", opt_date(p.birth_date));
        put("person.id_type", p.id_type.map(|v| v.as_str().to_string()).unwrap_or_default());
        put("person.id_number", p.id_number.clone().unwrap_or_default());
        put("person.occupation", p.occupation.clone().unwrap_or_default());
        put("person.employer", p.employer.clone().unwrap_or_default());
    }
    if let Some(o) = &d.organization {
        put("organization.uscc", o.uscc.clone().unwrap_or_default());
        put("organization.legal_representative", o.legal_representative.clone().unwrap_or_default());
        put("organization.registered_capital", opt_money(o.registered_capital));
        put("organization.founded_on", opt_date(o.founded_on));
        put("organization.organization_form", o.organization_form.clone().unwrap_or_default());
        put("organization.employees", o.employees.map(|v| v.to_string()).unwrap_or_default());
        put("organization.annual_sales", opt_money(o.annual_sales));
        put("organization.business_scope", o.business_scope.clone().unwrap_or_default());
    }
    let c = &d.classification;
    put("classification.industry", c.industry.clone().unwrap_or_default());
    put("classification.province", c.province.clone().unwrap_or_default());
    put("classification.city", c.city.clone().unwrap_or_default());
    put("classification.district", c.district.clone().unwrap_or_default());
    put("classification.nature", c.nature.clone().unwrap_or_default());
    put("classification.source_channel", c.source_channel.clone().unwrap_or_default());
    put("classification.grade", c.grade.map(|v| v.as_str().to_string()).unwrap_or_default());
    put("classification.tags", c.tags.join("，"));
    put("status", d.status.as_str().into());
    let cr = &d.credit;
    put("credit.grade", cr.grade.map(|v| v.as_str().to_string()).unwrap_or_default());
    put("credit.limit", opt_money(cr.limit));
    put("credit.payment_term_days", cr.payment_term_days.map(|v| v.to_string()).unwrap_or_default());
    put("credit.discount_percent", cr.discount_percent.map(|v| v.to_string()).unwrap_or_default());
    put("credit.blacklisted", if cr.blacklisted { "on".into() } else { String::new() });
    put("credit.blacklist_reason", cr.blacklist_reason.clone().unwrap_or_default());
    put("credit.assessed_on", opt_date(cr.assessed_on));
    put("credit.valid_until", opt_date(cr.valid_until));
    let ch = &d.characteristics;
    for (k, v) in [
        ("characteristics.service_area", &ch.service_area),
        ("characteristics.sales_ability", &ch.sales_ability),
        ("characteristics.development_potential", &ch.development_potential),
        ("characteristics.business_policy", &ch.business_policy),
        ("characteristics.cooperation_attitude", &ch.cooperation_attitude),
        ("characteristics.business_status", &ch.business_status),
        ("characteristics.notes", &ch.notes),
    ] {
        put(k, v.clone().unwrap_or_default());
    }
    put("tier", d.tier.as_str().into());
    put("secrecy", d.secrecy.as_str().into());
    put("retention_class", d.retention_class.as_str().into());
    put("retention_years", d.retention_years.map(|v| v.to_string()).unwrap_or_default());
    put("owner_id", d.owner_id.map(|v| v.to_string()).unwrap_or_default());
    put("dept_id", d.dept_id.map(|v| v.to_string()).unwrap_or_default());
    m
}

struct FormBuilder<'a> {
    tr: Tr,
    values: &'a FormMap,
    errors: &'a HashMap<String, String>,
    notes: &'a HashMap<String, String>,
}

impl FormBuilder<'_> {
    fn field(&self, name: &'static str, label_key: &str, input: &'static str) -> FieldView {
        FieldView {
            name,
            label: self.tr.t(label_key).to_string(),
            value: field(self.values, name).to_string(),
            error: self.errors.get(name).cloned(),
            input,
            required: false,
            hint: String::new(),
            options: Vec::new(),
            wide: input == "textarea",
            note: self.notes.get(name).cloned(),
        }
    }
    fn text(&self, name: &'static str, key: &str) -> FieldView {
        self.field(name, key, "text")
    }
    fn date(&self, name: &'static str, key: &str) -> FieldView {
        let mut f = self.field(name, key, "text");
        f.hint = self.tr.t("form.date_hint").to_string();
        f
    }
    fn area(&self, name: &'static str, key: &str) -> FieldView {
        self.field(name, key, "textarea")
    }
    fn select(&self, name: &'static str, key: &str, options: Vec<(String, String)>, allow_empty: bool) -> FieldView {
        let mut f = self.field(name, key, "select");
        let current = f.value.clone();
        if allow_empty {
            f.options.push(Choice { value: String::new(), label: "—".into(), selected: current.is_empty() });
        }
        f.options.extend(options.into_iter().map(|(v, l)| Choice { selected: v == current, value: v, label: l }));
        f
    }
    fn enum_select<T: Copy>(&self, name: &'static str, key: &str, all: &[T], wire: impl Fn(T) -> &'static str, label: impl Fn(T) -> &'static str, allow_empty: bool) -> FieldView {
        self.select(name, key, all.iter().map(|v| (wire(*v).to_string(), label(*v).to_string())).collect(), allow_empty)
    }
}

fn form_sections(tr: Tr, values: &FormMap, errors: &HashMap<String, String>, notes: &HashMap<String, String>, users: &[User], depts: &[Department]) -> Vec<SectionView> {
    let b = FormBuilder { tr, values, errors, notes };
    let lang = tr.lang;
    let mut name = b.text("name", "f.name");
    name.required = true;
    let section = |key: &str, class: &'static str, fields: Vec<FieldView>| SectionView { title: tr.t(key).to_string(), class, fields };
    vec![
        section(
            "sec.basic",
            "",
            vec![
                name,
                b.text("mobile", "f.mobile"),
                b.text("landline", "f.landline"),
                b.text("email", "f.email"),
                {
                    let mut a = b.text("address", "f.address");
                    a.wide = true;
                    a
                },
                b.text("postal_code", "f.postal_code"),
                b.enum_select("status", "f.status", ArchiveStatus::ALL, ArchiveStatus::as_str, |v| v.label(lang), false),
            ],
        ),
        section(
            "sec.person",
            "person-only",
            vec![
                b.enum_select("person.gender", "f.gender", Gender::ALL, Gender::as_str, |v| v.label(lang), true),
                b.date("person.birth_date", "f.birth_date"),
                b.enum_select("person.id_type", "f.id_type", IdType::ALL, IdType::as_str, |v| v.label(lang), true),
                b.text("person.id_number", "f.id_number"),
                b.text("person.occupation", "f.occupation"),
                b.text("person.employer", "f.employer"),
            ],
        ),
        section(
            "sec.organization",
            "org-only",
            vec![
                b.text("organization.uscc", "f.uscc"),
                b.text("organization.legal_representative", "f.legal_representative"),
                b.text("organization.registered_capital", "f.registered_capital"),
                b.date("organization.founded_on", "f.founded_on"),
                b.text("organization.organization_form", "f.organization_form"),
                b.text("organization.employees", "f.employees"),
                b.text("organization.annual_sales", "f.annual_sales"),
                b.area("organization.business_scope", "f.business_scope"),
            ],
        ),
        section(
            "sec.classification",
            "",
            vec![
                b.text("classification.industry", "f.industry"),
                b.text("classification.province", "f.province"),
                b.text("classification.city", "f.city"),
                b.text("classification.district", "f.district"),
                b.text("classification.nature", "f.nature"),
                b.text("classification.source_channel", "f.source_channel"),
                b.enum_select("classification.grade", "f.grade", Grade::ALL, Grade::as_str, |v| v.label(lang), true),
                b.text("classification.tags", "f.tags"),
            ],
        ),
        section(
            "sec.credit",
            "",
            vec![
                b.enum_select("credit.grade", "f.credit_grade", Grade::ALL, Grade::as_str, |v| v.label(lang), true),
                b.text("credit.limit", "f.credit_limit"),
                b.text("credit.payment_term_days", "f.payment_term_days"),
                b.text("credit.discount_percent", "f.discount_percent"),
                b.date("credit.assessed_on", "f.assessed_on"),
                b.date("credit.valid_until", "f.valid_until"),
                b.field("credit.blacklisted", "f.blacklisted", "checkbox"),
                b.text("credit.blacklist_reason", "f.blacklist_reason"),
            ],
        ),
        section(
            "sec.characteristics",
            "",
            vec![
                b.text("characteristics.service_area", "f.service_area"),
                b.text("characteristics.sales_ability", "f.sales_ability"),
                b.text("characteristics.development_potential", "f.development_potential"),
                b.text("characteristics.business_policy", "f.business_policy"),
                b.text("characteristics.cooperation_attitude", "f.cooperation_attitude"),
                b.area("characteristics.business_status", "f.business_status"),
                b.area("characteristics.notes", "f.notes"),
            ],
        ),
        section(
            "sec.protection",
            "",
            vec![
                b.select("owner_id", "f.owner", users.iter().filter(|u| u.active).map(|u| (u.id.to_string(), u.display_name.clone())).collect(), true),
                b.select("dept_id", "f.department", depts.iter().map(|d| (d.id.to_string(), d.name.clone())).collect(), true),
                b.enum_select("tier", "f.tier", Tier::ALL, Tier::as_str, |v| v.label(lang), false),
                b.enum_select("secrecy", "f.secrecy", Secrecy::ALL, Secrecy::as_str, |v| v.label(lang), false),
                b.enum_select("retention_class", "f.retention", RetentionClass::ALL, RetentionClass::as_str, |v| v.label(lang), false),
                b.text("retention_years", "f.retention_years"),
            ],
        ),
    ]
}

fn error_map(tr: Tr, errors: &[FieldError]) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for e in errors {
        m.entry(e.field.clone()).or_insert_with(|| e.message(tr.lang));
    }
    m
}

#[allow(clippy::too_many_arguments)]
struct FormState {
    values: FormMap,
    errors: Vec<FieldError>,
    notes: HashMap<String, String>,
    banner: Option<String>,
    duplicates: Option<DuplicatesView>,
}

impl FormState {
    fn clean(values: FormMap) -> Self {
        FormState { values, errors: Vec::new(), notes: HashMap::new(), banner: None, duplicates: None }
    }
    fn with_errors(tr: Tr, values: FormMap, errors: Vec<FieldError>) -> Self {
        FormState { values, errors, notes: HashMap::new(), banner: Some(tr.t("form.has_errors").into()), duplicates: None }
    }
    /// The user's input back, with the possible duplicates and the confirmation (nothing saved).
    fn with_duplicates(tr: Tr, mut values: FormMap, check: &dangan_app::dedup::DuplicateCheck, editing: bool) -> Self {
        values.remove("_confirm_duplicates");
        FormState { values, errors: Vec::new(), notes: HashMap::new(), banner: Some(tr.t("dedup.err").into()), duplicates: Some(DuplicatesView::of(tr, check, editing)) }
    }
}

async fn form_page(s: &AppState, u: &UiUser, title: String, action: String, cancel_url: String, archive_no: Option<String>, version: Option<i64>, state: FormState) -> Response {
    let FormState { values, errors, notes, banner, duplicates } = state;
    let errors = &errors[..];
    let users = s.app.users().await.unwrap_or_default();
    let depts = s.app.departments().await.unwrap_or_default();
    let emap = error_map(u.tr, errors);
    let lang = u.tr.lang;
    let kind = field(&values, "kind").parse().unwrap_or(CustomerKind::Person).as_str().to_string();
    let page = FormPage {
        c: Chrome::of(s, u).await,
        title,
        action,
        cancel_url,
        archive_no,
        version,
        kinds: choices(CustomerKind::ALL, Some(kind.as_str()), CustomerKind::as_str, |v| v.label(lang)),
        sections: form_sections(u.tr, &values, &emap, &notes, &users, &depts),
        banner,
        has_errors: !errors.is_empty(),
        reason: values.get("_reason").cloned().unwrap_or_default(),
        reason_error: emap.get("reason").cloned(),
        duplicates,
    };
    let status = if errors.is_empty() && page.banner.is_none() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    (status, render(&page)).into_response()
}

async fn new_page(State(s): State<AppState>, u: UiUser) -> Response {
    let mut values = FormMap::new();
    values.insert("kind".into(), "organization".into());
    values.insert("status".into(), ArchiveStatus::Prospect.as_str().into());
    values.insert("tier".into(), Tier::Personal.as_str().into());
    values.insert("secrecy".into(), Secrecy::Normal.as_str().into());
    values.insert("retention_class".into(), RetentionClass::Y30.as_str().into());
    values.insert("owner_id".into(), u.user.id.to_string());
    values.insert("dept_id".into(), u.user.dept_id.map(|d| d.to_string()).unwrap_or_default());
    form_page(&s, &u, u.tr.t("form.new_title").into(), "/archives".into(), "/archives".into(), None, None, FormState::clean(values)).await
}

async fn create_submit(State(s): State<AppState>, u: UiUser, Form(f): Form<FormMap>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let (data, mut errors) = data_from_form(&f);
    let confirm = !field(&f, "_confirm_duplicates").is_empty();
    if errors.is_empty() {
        match s.app.create_archive_checked(&u.user, data, confirm).await {
            Ok(a) => return Redirect::to(&format!("/archives/{}", a.id)).into_response(),
            Err(AppError::Validation(e)) => errors = e,
            Err(AppError::Duplicates(check)) => {
                let state = FormState::with_duplicates(u.tr, f, &check, false);
                return form_page(&s, &u, u.tr.t("form.new_title").into(), "/archives".into(), "/archives".into(), None, None, state).await;
            }
            Err(e) => return error_page(u.tr, e),
        }
    } else {
        // Report parse errors together with the rule checks on what could be read.
        let mut d = data;
        d.normalize();
        errors.extend(validate::validate_archive(&d).into_iter().filter(|e| !errors.iter().any(|x| x.field == e.field)).collect::<Vec<_>>());
    }
    form_page(&s, &u, u.tr.t("form.new_title").into(), "/archives".into(), "/archives".into(), None, None, FormState::with_errors(u.tr, f, errors)).await
}

async fn edit_page(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>) -> Response {
    let a = match s.app.archive_for(&u.user, id, dangan_core::policy::Action::Edit).await {
        Ok(a) => a,
        Err(e) => return error_page(u.tr, e),
    };
    form_page(&s, &u, u.tr.t("form.edit_title").into(), format!("/archives/{id}/edit"), format!("/archives/{id}"), Some(a.archive_no), Some(a.version), FormState::clean(form_from_data(&a.data))).await
}

async fn edit_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<FormMap>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let version: i64 = field(&f, "_version").parse().unwrap_or(0);
    let archive_no = field(&f, "_archive_no").to_string();
    let (data, errors) = data_from_form(&f);
    let title = u.tr.t("form.edit_title").to_string();
    let (action, cancel) = (format!("/archives/{id}/edit"), format!("/archives/{id}"));
    if !errors.is_empty() {
        return form_page(&s, &u, title, action, cancel, Some(archive_no), Some(version), FormState::with_errors(u.tr, f, errors)).await;
    }
    let confirm = !field(&f, "_confirm_duplicates").is_empty();
    match s.app.update_archive_checked(&u.user, id, version, data, opt_text(&f, "_reason"), confirm).await {
        Ok(_) => Redirect::to(&format!("/archives/{id}")).into_response(),
        Err(AppError::Validation(e)) => form_page(&s, &u, title, action, cancel, Some(archive_no), Some(version), FormState::with_errors(u.tr, f, e)).await,
        Err(AppError::Duplicates(check)) => {
            let state = FormState::with_duplicates(u.tr, f, &check, true);
            form_page(&s, &u, title, action, cancel, Some(archive_no), Some(version), state).await
        }
        Err(AppError::Conflict { current }) => {
            let state = match merge_after_conflict(&s, &u, id, version, f).await {
                Ok(state) => state,
                Err(e) => return error_page(u.tr, e),
            };
            form_page(&s, &u, title, action, cancel, Some(archive_no), Some(current), state).await
        }
        Err(e) => error_page(u.tr, e),
    }
}

/// After a stale save: a three-way merge of what the user started from (`base_version`), what
/// they typed and what is saved now. Fields only they changed keep their input; fields only the
/// other person changed take the saved value; fields both changed keep the user's input with a
/// note showing the saved value. Nothing is saved until the user saves again, so nobody's change
/// is lost silently.
async fn merge_after_conflict(s: &AppState, u: &UiUser, id: i64, base_version: i64, typed: FormMap) -> Result<FormState, AppError> {
    let versions = s.app.versions_for_edit(&u.user, id).await?;
    let current = versions.last().ok_or(AppError::NotFound)?;
    let base = versions.iter().find(|v| v.version == base_version).unwrap_or(current);
    let (base_form, current_form) = (form_from_data(&base.data), form_from_data(&current.data));
    let mut merged = typed.clone();
    let mut notes = HashMap::new();
    let keys: std::collections::BTreeSet<&String> = base_form.keys().chain(current_form.keys()).filter(|k| !k.starts_with('_')).collect();
    for key in keys {
        let (b, c, t) = (field(&base_form, key), field(&current_form, key), field(&typed, key));
        if t == b && c != b {
            merged.insert(key.clone(), c.to_string());
        } else if t != b && c != b && t != c {
            let shown = if c.is_empty() { u.tr.t("form.none").to_string() } else { c.to_string() };
            notes.insert(key.clone(), u.tr.f("form.conflict_note", "v", &shown));
        }
    }
    let banner = u.tr.f("form.conflict", "v", &current.version.to_string());
    Ok(FormState { values: merged, errors: Vec::new(), notes, banner: Some(banner), duplicates: None })
}

// ---------------------------------------------------------------- archive page

pub struct Pair {
    pub label: String,
    pub value: String,
}

pub struct EntryView {
    pub id: i64,
    pub kind: String,
    pub occurred_on: String,
    pub summary: String,
    pub details: Vec<Pair>,
    pub superseded_by: Option<i64>,
    pub supersedes: Option<i64>,
    pub correction_reason: String,
    pub by: String,
    pub at: String,
}

pub struct VersionRow {
    pub version: i64,
    pub by: String,
    pub at: String,
    pub reason: String,
    pub changed: String,
}

#[derive(Template)]
#[template(path = "view.html")]
struct ViewPage {
    c: Chrome,
    unmasked: bool,
    can_unmask: bool,
    v: ArchiveView,
    kind: String,
    grade: String,
    grade_class: String,
    status: String,
    status_class: String,
    secrecy: String,
    secrecy_class: String,
    basic: Vec<Pair>,
    credit: Vec<Pair>,
    characteristics: Vec<Pair>,
    protection: Vec<Pair>,
    template_label: String,
    custom: Vec<Pair>,
    contacts: Vec<Vec<String>>,
    entries: Vec<EntryView>,
    attachments: Vec<Vec<String>>,
    versions: Vec<VersionRow>,
    /// May edit (and so restore an older version).
    can_edit: bool,
    /// May print the archive card (never for 机密).
    can_print: bool,
    /// The export right (vCard of the contacts).
    can_export: bool,
    /// Export and unmask: the archive package (档案包) carries clear values.
    can_package: bool,
    /// Closing, due date, legal hold (the 保管与个人信息 block).
    retention: Option<dangan_app::store::RetentionInfo>,
    current_version: i64,
    /// Who consulted the archive (查阅记录), for those who may read the audit trail.
    consultations: Option<Vec<crate::audit_ui::AuditRow>>,
    entry_kinds: Vec<Choice>,
    complaint_statuses: Vec<Choice>,
    max_mb: usize,
    today: String,
    /// "档案 X 已合并到本档案" after a merge or when the merged number was opened.
    merged_notice: Option<String>,
    /// 材料清单 (checklist_ui.rs): completeness, missing items, due date, tick/untick.
    checklists: Option<crate::checklist_ui::Section>,
}

fn pair(tr: Tr, key: &str, v: Option<String>) -> Pair {
    Pair { label: tr.t(key).to_string(), value: v.filter(|s| !s.is_empty()).unwrap_or_else(|| "—".into()) }
}

fn yes_no(tr: Tr, b: bool) -> String {
    tr.t(if b { "form.yes" } else { "form.no" }).to_string()
}

/// Names of the top-level sections whose values differ between two versions.
fn changed_fields(tr: Tr, old: &ArchiveData, new: &ArchiveData) -> String {
    let (a, b) = (serde_json::to_value(old).unwrap_or_default(), serde_json::to_value(new).unwrap_or_default());
    let mut keys: Vec<String> = Vec::new();
    if let (Some(a), Some(b)) = (a.as_object(), b.as_object()) {
        for (k, va) in a {
            if b.get(k) != Some(va) {
                keys.push(k.clone());
            }
        }
        for k in b.keys() {
            if !a.contains_key(k) {
                keys.push(k.clone());
            }
        }
    }
    keys.iter().map(|k| validate::field_label(k, tr.lang)).collect::<Vec<_>>().join("、")
}

#[derive(Deserialize, Default)]
struct ViewParams {
    /// `1`: show sensitive fields in clear (查看明文), if the policy allows it.
    unmasked: Option<String>,
    /// The number of an archive merged into this one (after a merge, or a redirect from it).
    merged_from: Option<String>,
}

async fn view_page(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Query(q): Query<ViewParams>) -> Response {
    let unmasked = q.unmasked.as_deref() == Some("1");
    let (v, versions) = match s.app.view_archive_with_history(&u.user, id, unmasked).await {
        Ok(v) => v,
        // Not readable without approval: the number, the reason and the request form (查阅申请).
        Err(AppError::NeedsApproval { archive_id, archive_no }) => return crate::access_ui::restricted_page(&s, &u, archive_id, archive_no).await,
        // A destroyed archive: its tombstone (number, dates, register entry).
        Err(AppError::Refused { code: "destroyed", .. }) => return Redirect::to(&format!("/archives/{id}/retention")).into_response(),
        Err(e) => return error_page(u.tr, e),
    };
    let retention = s.app.retention_info(&u.user, id).await.ok();
    // A merged archive is a tombstone: its page is the survivor's, saying so.
    if let Some(survivor) = v.archive.merged_into {
        return Redirect::to(&format!("/archives/{survivor}?merged_from={}", urlencoding::encode(&v.archive.archive_no))).into_response();
    }
    let merged_notice = q.merged_from.as_deref().filter(|n| !n.is_empty()).map(|n| u.tr.f("dedup.was_merged", "merged", n));
    let users: HashMap<i64, String> = s.app.users().await.unwrap_or_default().into_iter().map(|u| (u.id, u.display_name)).collect();
    let depts: HashMap<i64, String> = s.app.departments().await.unwrap_or_default().into_iter().map(|d| (d.id, d.name)).collect();
    let who = |id: i64| users.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    let tr = u.tr;
    let lang = tr.lang;
    let d = &v.archive.data;
    let mut basic = vec![
        pair(tr, "f.kind", Some(d.kind.label(lang).into())),
        pair(tr, "f.mobile", d.mobile.clone()),
        pair(tr, "f.landline", d.landline.clone()),
        pair(tr, "f.email", d.email.clone()),
        pair(tr, "f.address", d.address.clone()),
        pair(tr, "f.postal_code", d.postal_code.clone()),
    ];
    if let Some(p) = &d.person {
        basic.extend([
            pair(tr, "f.gender", p.gender.map(|g| g.label(lang).into())),
            pair(tr, "f.birth_date", p.birth_date.map(|x| x.to_string())),
            pair(tr, "f.id_type", p.id_type.map(|g| g.label(lang).into())),
            pair(tr, "f.id_number", p.id_number.clone()),
            pair(tr, "f.occupation", p.occupation.clone()),
            pair(tr, "f.employer", p.employer.clone()),
        ]);
    }
    if let Some(o) = &d.organization {
        basic.extend([
            pair(tr, "f.uscc", o.uscc.clone()),
            pair(tr, "f.legal_representative", o.legal_representative.clone()),
            pair(tr, "f.registered_capital", o.registered_capital.map(|m| m.display_cny())),
            pair(tr, "f.founded_on", o.founded_on.map(|x| x.to_string())),
            pair(tr, "f.organization_form", o.organization_form.clone()),
            pair(tr, "f.employees", o.employees.map(|x| group_thousands(x))),
            pair(tr, "f.annual_sales", o.annual_sales.map(|m| m.display_cny())),
            pair(tr, "f.business_scope", o.business_scope.clone()),
        ]);
    }
    let c = &d.classification;
    basic.extend([
        pair(tr, "f.industry", c.industry.clone()),
        pair(tr, "f.region", Some([c.province.as_deref(), c.city.as_deref(), c.district.as_deref()].iter().flatten().copied().collect::<Vec<_>>().join(" "))),
        pair(tr, "f.nature", c.nature.clone()),
        pair(tr, "f.source_channel", c.source_channel.clone()),
        pair(tr, "f.tags", Some(c.tags.join("、"))),
    ]);
    let cr = &d.credit;
    let credit = vec![
        pair(tr, "f.credit_grade", cr.grade.map(|g| g.label(lang).into())),
        pair(tr, "f.credit_limit", cr.limit.map(|m| m.display_cny())),
        pair(tr, "f.payment_term_days", cr.payment_term_days.map(|x| x.to_string())),
        pair(tr, "f.discount_percent", cr.discount_percent.map(|x| format!("{x}%"))),
        pair(tr, "f.blacklisted", Some(yes_no(tr, cr.blacklisted))),
        pair(tr, "f.blacklist_reason", cr.blacklist_reason.clone()),
        pair(tr, "f.assessed_on", cr.assessed_on.map(|x| x.to_string())),
        pair(tr, "f.valid_until", cr.valid_until.map(|x| x.to_string())),
    ];
    let ch = &d.characteristics;
    let characteristics = vec![
        pair(tr, "f.service_area", ch.service_area.clone()),
        pair(tr, "f.sales_ability", ch.sales_ability.clone()),
        pair(tr, "f.development_potential", ch.development_potential.clone()),
        pair(tr, "f.business_policy", ch.business_policy.clone()),
        pair(tr, "f.cooperation_attitude", ch.cooperation_attitude.clone()),
        pair(tr, "f.business_status", ch.business_status.clone()),
        pair(tr, "f.notes", ch.notes.clone()),
    ];
    let protection = vec![
        pair(tr, "f.owner", d.owner_id.map(who)),
        pair(tr, "f.department", d.dept_id.and_then(|id| depts.get(&id).cloned())),
        pair(tr, "f.tier", Some(d.tier.label(lang).into())),
        pair(tr, "f.secrecy", Some(d.secrecy.label(lang).into())),
        pair(tr, "f.retention", Some(d.retention_class.label(lang).into())),
        pair(tr, "f.created_at", Some(format!("{} · {}", fmt_time(v.archive.created_at), who(v.archive.created_by)))),
        pair(tr, "f.updated_at", Some(format!("{} · {}", fmt_time(v.archive.updated_at), who(v.archive.updated_by)))),
        pair(tr, "f.version", Some(v.archive.version.to_string())),
    ];
    // Industry-template fields, labelled from the template when the archive names one.
    let template = d.template.as_deref().and_then(dangan_core::templates::find);
    let template_label = template.map(|t| if lang == "en" { t.label_en } else { t.label_zh }.to_string()).unwrap_or_default();
    let custom = d
        .custom
        .iter()
        .map(|(k, val)| {
            let label = template
                .and_then(|t| t.fields.iter().find(|f| f.key == k))
                .map(|f| if lang == "en" { f.label_en } else { f.label_zh }.to_string())
                .unwrap_or_else(|| k.clone());
            let value = match val {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Pair { label, value }
        })
        .collect();
    let contacts = v
        .contacts
        .iter()
        .map(|c| {
            let d = &c.data;
            vec![
                format!("{}{}", d.name, if d.is_primary { " ★" } else { "" }),
                d.title.clone().unwrap_or_default(),
                d.mobile.clone().unwrap_or_default(),
                d.landline.clone().unwrap_or_default(),
                d.email.clone().unwrap_or_default(),
                d.wechat.clone().unwrap_or_default(),
                d.birthday.map(|b| b.to_string()).unwrap_or_default(),
                d.preferences.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let entries = v
        .entries
        .iter()
        .map(|e| {
            let x = &e.data.details;
            let mut details = Vec::new();
            let mut add = |k: &str, val: Option<String>| {
                if let Some(val) = val.filter(|s| !s.is_empty()) {
                    details.push(Pair { label: tr.t(k).into(), value: val });
                }
            };
            add("f.product", x.product.clone());
            add("f.quantity", x.quantity.map(|q| q.to_string()));
            add("f.amount", x.amount.map(|m| m.display_cny()));
            add("f.contract_no", x.contract_no.clone());
            add("f.start_date", x.start_date.map(|d| d.to_string()));
            add("f.end_date", x.end_date.map(|d| d.to_string()));
            add("f.complaint_status", x.complaint_status.map(|s| s.label(lang).to_string()));
            add("f.counterpart", x.counterpart.clone());
            add("f.next_action", x.next_action.clone());
            EntryView {
                id: e.id,
                kind: e.data.kind.label(lang).into(),
                occurred_on: e.data.occurred_on.to_string(),
                summary: e.data.summary.clone(),
                details,
                superseded_by: e.superseded_by,
                supersedes: e.data.supersedes,
                correction_reason: e.data.correction_reason.clone().unwrap_or_default(),
                by: who(e.created_by),
                at: fmt_time(e.created_at),
            }
        })
        .collect();
    let attachments = v
        .attachments
        .iter()
        .map(|a| vec![a.id.to_string(), a.filename.clone(), format!("{:.1} KB", a.size as f64 / 1024.0), fmt_time(a.created_at), who(a.created_by)])
        .collect();
    let mut version_rows = Vec::new();
    for (i, r) in versions.iter().enumerate().rev() {
        let changed = if i == 0 { tr.t("view.created_version").to_string() } else { changed_fields(tr, &versions[i - 1].data, &r.data) };
        version_rows.push(VersionRow { version: r.version, by: who(r.changed_by), at: fmt_time(r.changed_at), reason: r.reason.clone().unwrap_or_default(), changed });
    }
    // Offer 查看明文 only to those the policy lets see clear values.
    let can_unmask = !unmasked && s.app.allows(&u.user, dangan_core::policy::Action::ReadUnmasked, &v.archive).await.unwrap_or(false);
    let can_edit = s.app.allows(&u.user, dangan_core::policy::Action::Edit, &v.archive).await.unwrap_or(false);
    let can_print = s.app.allows(&u.user, dangan_core::policy::Action::Print, &v.archive).await.unwrap_or(false);
    let can_export = s.app.allows(&u.user, dangan_core::policy::Action::Export, &v.archive).await.unwrap_or(false);
    let can_package = can_export && s.app.allows(&u.user, dangan_core::policy::Action::ReadUnmasked, &v.archive).await.unwrap_or(false);
    let consultations = if dangan_app::audit::may_read_audit(&u.user.user) {
        s.app.archive_consultations(&u.user, id, 50).await.ok().map(|rs| rs.iter().map(|r| crate::audit_ui::AuditRow::of(tr, r)).collect())
    } else {
        None
    };
    let checklists = crate::checklist_ui::section(&s, &u, &v.archive, &v.attachments, &users).await;
    let page = ViewPage {
        checklists,
        c: Chrome::of(&s, &u).await,
        unmasked,
        can_unmask,
        kind: d.kind.label(lang).into(),
        grade: c.grade.map(|g| g.label(lang).to_string()).unwrap_or_default(),
        grade_class: grade_class(c.grade).into(),
        status: d.status.label(lang).into(),
        status_class: status_class(d.status).into(),
        secrecy: d.secrecy.label(lang).into(),
        secrecy_class: secrecy_class(d.secrecy).into(),
        basic,
        credit,
        characteristics,
        protection,
        template_label,
        custom,
        contacts,
        entries,
        attachments,
        versions: version_rows,
        can_edit,
        can_print,
        can_export,
        can_package,
        retention,
        current_version: v.archive.version,
        consultations,
        entry_kinds: choices(EntryKind::ALL, Some("visit"), EntryKind::as_str, |v| v.label(lang)),
        complaint_statuses: choices(ComplaintStatus::ALL, None, ComplaintStatus::as_str, |v| v.label(lang)),
        max_mb: s.app.settings.max_attachment_bytes / (1024 * 1024),
        today: cst(Utc::now()).date_naive().to_string(),
        merged_notice,
        v,
    };
    render(&page)
}

/// Redirects back to the archive page, to the section that changed; errors are shown there.
fn back_to(id: i64, anchor: &str) -> Response {
    Redirect::to(&format!("/archives/{id}#{anchor}")).into_response()
}

fn validation_page(tr: Tr, errors: Vec<FieldError>) -> Response {
    let message = errors.iter().map(|e| e.message(tr.lang)).collect::<Vec<_>>().join("；");
    (StatusCode::UNPROCESSABLE_ENTITY, render(&ErrorPage { tr, status: 422, message })).into_response()
}

async fn contact_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<FormMap>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let mut errors = Vec::new();
    let birthday = match field(&f, "birthday") {
        "" => None,
        v => validate::parse_date(v).map_err(|c| errors.push(FieldError::new("birthday", c))).ok(),
    };
    if !errors.is_empty() {
        return validation_page(u.tr, errors);
    }
    let c = ContactData {
        name: field(&f, "name").into(),
        title: opt_text(&f, "title"),
        mobile: opt_text(&f, "mobile"),
        landline: opt_text(&f, "landline"),
        email: opt_text(&f, "email"),
        wechat: opt_text(&f, "wechat"),
        birthday,
        preferences: opt_text(&f, "preferences"),
        is_primary: matches!(field(&f, "is_primary"), "on" | "true"),
    };
    match s.app.add_contact(&u.user, id, c).await {
        Ok(_) => back_to(id, "contacts"),
        Err(AppError::Validation(e)) => validation_page(u.tr, e),
        Err(e) => error_page(u.tr, e),
    }
}

async fn entry_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<FormMap>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let mut errors = Vec::new();
    let mut date = |k: &str| match field(&f, k) {
        "" => None,
        v => validate::parse_date(v).map_err(|c| errors.push(FieldError::new(k, c))).ok(),
    };
    let occurred_on = date("occurred_on").unwrap_or_else(|| cst(Utc::now()).date_naive());
    let (start_date, end_date) = (date("details.start_date"), date("details.end_date"));
    let amount = match field(&f, "details.amount") {
        "" => None,
        v => v.parse::<Money>().map_err(|_| errors.push(FieldError::new("details.amount", ErrorCode::Amount))).ok(),
    };
    let quantity = match field(&f, "details.quantity") {
        "" => None,
        v => v.parse::<i64>().map_err(|_| errors.push(FieldError::new("details.quantity", ErrorCode::Number))).ok(),
    };
    if !errors.is_empty() {
        return validation_page(u.tr, errors);
    }
    let e = EntryData {
        kind: field(&f, "kind").parse().unwrap_or(EntryKind::Visit),
        occurred_on,
        summary: field(&f, "summary").into(),
        details: EntryDetails {
            product: opt_text(&f, "details.product"),
            quantity,
            amount,
            contract_no: opt_text(&f, "details.contract_no"),
            start_date,
            end_date,
            complaint_status: opt_parse(&opt_text(&f, "details.complaint_status")),
            counterpart: opt_text(&f, "details.counterpart"),
            next_action: opt_text(&f, "details.next_action"),
            next_action_on: None,
        },
        supersedes: opt_parse(&opt_text(&f, "supersedes")),
        correction_reason: opt_text(&f, "correction_reason"),
    };
    match s.app.add_entry(&u.user, id, e).await {
        Ok(_) => back_to(id, "timeline"),
        Err(AppError::Validation(e)) => validation_page(u.tr, e),
        Err(e) => error_page(u.tr, e),
    }
}

async fn attachment_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, mut multipart: Multipart) -> Response {
    let mut csrf = None;
    let mut file = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        match field.name() {
            Some("_csrf") => csrf = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("attachment").to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b)),
                    Err(e) => return error_page(u.tr, AppError::BadRequest(e.to_string())),
                }
            }
            _ => {}
        }
    }
    let mut form = FormMap::new();
    form.insert("_csrf".into(), csrf.unwrap_or_default());
    if let Err(r) = u.check_csrf(&form) {
        return r;
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return error_page(u.tr, AppError::BadRequest("no file chosen / 未选择文件".into()));
    };
    match s.app.add_attachment(&u.user, id, &name, bytes.to_vec()).await {
        Ok(_) => back_to(id, "attachments"),
        Err(e) => error_page(u.tr, e),
    }
}

async fn attachment_download(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>) -> Response {
    match s.app.open_attachment(&u.user, id).await {
        Ok((att, bytes)) => crate::api::attachment_response(&att, bytes),
        Err(e) => error_page(u.tr, e),
    }
}
