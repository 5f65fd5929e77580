//! 材料清单 in the UI: the checklist section of the archive page (completeness, missing items,
//! due date, tick / untick with confirmation, tag a scan), the overdue page per responsible
//! person (逾期材料), and 系统设置 → 材料清单与节假日 (default deadline, holidays, 调休 days, the
//! checklists). Everything goes through `dangan_app::checklists` (rights and audit there).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use dangan_app::checklists::{may_edit_settings, may_view_settings, ArchiveChecklists, EffectiveChecklists};
use dangan_app::AppError;
use dangan_core::checklist::{ChecklistDef, ChecklistSettings, DayRange, MarkAction};
use dangan_core::Archive;

use crate::i18n::Tr;
use crate::ui::{error_page, fmt_time, render, Chrome, UiUser};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/archives/{id}/checklist", get(checklist_page))
        .route("/archives/{id}/checklist/mark", post(mark))
        .route("/archives/{id}/checklist/upload", post(upload))
        .route("/checklists/overdue", get(overdue_page))
        .route("/checklists/open", get(open_by_number))
        .route("/admin/checklists", get(settings_page))
        .route("/admin/checklists/save", post(save_settings))
}

// --- the archive page's section --------------------------------------------------------------

pub struct ItemView {
    pub key: String,
    pub label: String,
    pub required: bool,
    pub satisfied: bool,
    pub received: bool,
    /// "王芳 · 2026-10-09 10:12" for a paper original.
    pub received_by: String,
    /// (attachment id, filename) tagged for the item.
    pub scans: Vec<(i64, String)>,
}

pub struct ListView {
    pub key: String,
    pub label: String,
    pub percent: u32,
    pub done: String,
    pub start: String,
    pub due_on: String,
    pub deadline: String,
    pub state: String,
    pub state_class: &'static str,
    pub missing: String,
    pub items: Vec<ItemView>,
}

pub struct HistoryRow {
    pub at: String,
    pub by: String,
    pub action: &'static str,
    pub item: String,
    pub note: String,
}

/// The checklist section of the archive page.
pub struct Section {
    pub archive_id: i64,
    /// Where the forms return: `archive` (the archive page) or `checklist` (the checklist page).
    pub back: &'static str,
    pub lists: Vec<ListView>,
    pub can_tick: bool,
    pub can_tag: bool,
    pub can_upload: bool,
    /// The archive's attachments, for tagging: (id, filename).
    pub attachments: Vec<(i64, String)>,
    pub history: Vec<HistoryRow>,
}

/// The list separator of the language: 、 in Chinese, ", " in English.
fn sep(tr: Tr) -> &'static str {
    if tr.lang == "en" {
        ", "
    } else {
        "、"
    }
}

fn start_label(tr: Tr, template: Option<&str>, source: &str) -> String {
    if source == "created" {
        return tr.t("cl.start_created").to_string();
    }
    template
        .and_then(dangan_core::templates::find)
        .and_then(|t| t.fields.iter().find(|f| f.key == source))
        .map(|f| if tr.lang == "en" { f.label_en } else { f.label_zh }.to_string())
        .unwrap_or_else(|| source.to_string())
}

pub fn state_of(tr: Tr, complete: bool, overdue: bool, overdue_days: u32) -> (String, &'static str) {
    if complete {
        (tr.t("cl.complete").to_string(), "tag-green")
    } else if overdue {
        (tr.f("cl.overdue_days", "n", &overdue_days.to_string()), "tag-red")
    } else {
        (tr.t("cl.incomplete").to_string(), "tag-orange")
    }
}

/// Builds the section for an archive the page is showing (None when the viewer may not see
/// its checklists or it has none).
pub async fn section(s: &AppState, u: &UiUser, archive: &Archive, attachments: &[dangan_core::Attachment], users: &HashMap<i64, String>) -> Option<Section> {
    let a: ArchiveChecklists = s.app.archive_checklists(&u.user, archive.id, None).await.ok()?;
    section_of(u.tr, &a, attachments, users, "archive")
}

/// The section from an archive's checklists; `back` says which page the forms return to.
fn section_of(tr: Tr, a: &ArchiveChecklists, attachments: &[dangan_core::Attachment], users: &HashMap<i64, String>, back: &'static str) -> Option<Section> {
    if a.checklists.is_empty() {
        return None;
    }
    let who = |id: i64| users.get(&id).cloned().unwrap_or_else(|| format!("#{id}"));
    let mut files: HashMap<i64, String> = a.attachment_names.iter().map(|(k, v)| (*k, v.clone())).collect();
    files.extend(attachments.iter().map(|x| (x.id, x.filename.clone())));
    let mut labels: HashMap<(String, String), String> = HashMap::new();
    let lists = a
        .checklists
        .iter()
        .map(|c| {
            let (state, state_class) = state_of(tr, c.complete, c.overdue, c.overdue_days);
            let items: Vec<ItemView> = c
                .items
                .iter()
                .map(|i| {
                    labels.insert((c.key.clone(), i.key.clone()), format!("{} · {}", c.label(tr.lang), i.label(tr.lang)));
                    ItemView {
                        key: i.key.clone(),
                        label: i.label(tr.lang).to_string(),
                        required: i.required,
                        satisfied: i.satisfied,
                        received: i.received.is_some(),
                        received_by: i.received.as_ref().map(|r| format!("{} · {}", who(r.by), fmt_time(r.at))).unwrap_or_default(),
                        scans: i.attachment_ids.iter().map(|id| (*id, files.get(id).cloned().unwrap_or_else(|| format!("#{id}")))).collect(),
                    }
                })
                .collect();
            let missing = c.items.iter().filter(|i| c.missing.contains(&i.key)).map(|i| i.label(tr.lang)).collect::<Vec<_>>().join(sep(tr));
            ListView {
                key: c.key.clone(),
                label: c.label(tr.lang).to_string(),
                percent: c.percent,
                done: format!("{}/{}", c.required_done, c.required_total),
                start: format!("{} {}", start_label(tr, a.template.as_deref(), &c.start_source), c.start_on),
                due_on: c.due_on.to_string(),
                deadline: tr.f("cl.working_days", "n", &c.deadline_days.to_string()),
                state,
                state_class,
                missing,
                items,
            }
        })
        .collect();
    let history = a
        .marks
        .iter()
        .rev()
        .map(|m| HistoryRow {
            at: fmt_time(m.created_at),
            by: who(m.created_by),
            action: m.action.label(tr.lang),
            item: {
                let base = labels.get(&(m.checklist.clone(), m.item.clone())).cloned().unwrap_or_else(|| format!("{}.{}", m.checklist, m.item));
                match m.attachment_id {
                    Some(id) => format!("{base} · {}", files.get(&id).cloned().unwrap_or_else(|| format!("#{id}"))),
                    None => base,
                }
            },
            note: m.note.clone(),
        })
        .collect();
    Some(Section { archive_id: a.archive_id, back, lists, can_tick: a.can_tick, can_tag: a.can_tag, can_upload: a.can_upload, attachments: attachments.iter().map(|x| (x.id, x.filename.clone())).collect(), history })
}

async fn mark(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let Some(action) = MarkAction::parse(&get("action")) else {
        return error_page(u.tr, AppError::BadRequest("action".into()));
    };
    let attachment_id = get("attachment_id").parse().ok();
    match s.app.mark_checklist_item(&u.user, id, &get("checklist"), &get("item"), action, attachment_id, &get("note")).await {
        Ok(_) if get("back") == "checklist" => Redirect::to(&format!("/archives/{id}/checklist")).into_response(),
        Ok(_) => Redirect::to(&format!("/archives/{id}#checklists")).into_response(),
        Err(e) => error_page(u.tr, e),
    }
}

/// A scan uploaded from an item's row: stored as an attachment and tagged for the item.
async fn upload(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, mut multipart: Multipart) -> Response {
    let mut form: HashMap<String, String> = HashMap::new();
    let mut file = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        let Some(name) = field.name().map(str::to_string) else { continue };
        if name == "file" {
            let filename = field.file_name().unwrap_or("attachment").to_string();
            match field.bytes().await {
                Ok(b) => file = Some((filename, b)),
                Err(e) => return error_page(u.tr, AppError::BadRequest(e.to_string())),
            }
        } else if let Ok(text) = field.text().await {
            form.insert(name, text);
        }
    }
    if let Err(r) = u.check_csrf(&form) {
        return r;
    }
    let Some((filename, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return error_page(u.tr, AppError::BadRequest("no file chosen / 未选择文件".into()));
    };
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    match s.app.upload_for_checklist_item(&u.user, id, &get("checklist"), &get("item"), &filename, bytes.to_vec()).await {
        Ok(_) if get("back") == "checklist" => Redirect::to(&format!("/archives/{id}/checklist")).into_response(),
        Ok(_) => Redirect::to(&format!("/archives/{id}#checklists")).into_response(),
        Err(e) => error_page(u.tr, e),
    }
}

// --- the checklist page (for the archivist, who may not read every archive) ----------------

#[derive(Template)]
#[template(path = "checklist_page.html")]
struct ChecklistPage {
    c: Chrome,
    archive_id: i64,
    archive_no: String,
    name: String,
    checklists: Option<Section>,
}

async fn checklist_page(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>) -> Response {
    let a = match s.app.archive_checklists(&u.user, id, None).await {
        Ok(a) => a,
        Err(e) => return error_page(u.tr, e),
    };
    let users: HashMap<i64, String> = s.app.users().await.unwrap_or_default().into_iter().map(|u| (u.id, u.display_name)).collect();
    let mut c = Chrome::of(&s, &u).await;
    c.menu = "checklists";
    render(&ChecklistPage { archive_id: a.archive_id, archive_no: a.archive_no.clone(), name: a.archive_name.clone(), checklists: section_of(u.tr, &a, &[], &users, "checklist"), c })
}

#[derive(serde::Deserialize)]
struct OpenParams {
    no: Option<String>,
}

/// 登记材料 by archive number (the paper file in hand): to the archive's checklist page.
async fn open_by_number(State(s): State<AppState>, u: UiUser, Query(q): Query<OpenParams>) -> Response {
    match s.app.checklist_archive_by_no(&u.user, q.no.as_deref().unwrap_or_default()).await {
        Ok(id) => Redirect::to(&format!("/archives/{id}/checklist")).into_response(),
        Err(e) => error_page(u.tr, e),
    }
}

// --- overdue page ----------------------------------------------------------------------------

pub struct OverdueRowView {
    pub archive_id: i64,
    pub archive_no: String,
    pub name: String,
    pub checklist: String,
    pub due_on: String,
    pub overdue: String,
    pub percent: u32,
    pub missing: String,
}

pub struct OverdueGroupView {
    pub owner: String,
    pub archives: usize,
    pub missing_items: usize,
    pub counts: String,
    pub rows: Vec<OverdueRowView>,
}

#[derive(Template)]
#[template(path = "checklist_overdue.html")]
struct OverduePage {
    c: Chrome,
    as_of: String,
    since: String,
    summary: String,
    truncated: bool,
    groups: Vec<OverdueGroupView>,
    can_settings: bool,
}

#[derive(serde::Deserialize)]
struct OverdueParams {
    as_of: Option<String>,
    since: Option<String>,
}

fn date_param(v: &Option<String>) -> Option<NaiveDate> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).and_then(|s| dangan_core::validate::parse_date(s).ok())
}

async fn overdue_page(State(s): State<AppState>, u: UiUser, Query(q): Query<OverdueParams>) -> Response {
    let tr = u.tr;
    let report = match s.app.checklist_overdue(&u.user, date_param(&q.as_of), date_param(&q.since)).await {
        Ok(r) => r,
        Err(e) => return error_page(tr, e),
    };
    let groups: Vec<OverdueGroupView> = report
        .groups
        .iter()
        .map(|g| OverdueGroupView {
            owner: if g.owner_name.is_empty() { tr.t("cl.no_owner").to_string() } else { g.owner_name.clone() },
            archives: g.rows.len(),
            missing_items: g.missing_items,
            counts: tr.fs("cl.group_counts", &[("a", &g.rows.len().to_string()), ("i", &g.missing_items.to_string())]),
            rows: g
                .rows
                .iter()
                .map(|r| OverdueRowView {
                    archive_id: r.archive_id,
                    archive_no: r.archive_no.clone(),
                    name: r.name.clone(),
                    checklist: if tr.lang == "en" { r.checklist_label_en.clone() } else { r.checklist_label_zh.clone() },
                    due_on: r.due_on.to_string(),
                    overdue: tr.f("cl.working_days", "n", &r.overdue_days.to_string()),
                    percent: r.percent,
                    missing: r.missing.iter().map(|m| if tr.lang == "en" { m.label_en.as_str() } else { m.label_zh.as_str() }).collect::<Vec<_>>().join(sep(tr)),
                })
                .collect(),
        })
        .collect();
    let mut c = Chrome::of(&s, &u).await;
    c.menu = "checklists";
    let page = OverduePage {
        c,
        as_of: report.as_of.to_string(),
        since: report.since.to_string(),
        summary: tr.fs(
            "cl.overdue_summary",
            &[
                ("a", &groups.iter().map(|g| g.archives).sum::<usize>().to_string()),
                ("i", &groups.iter().map(|g| g.missing_items).sum::<usize>().to_string()),
                ("s", &report.scanned.to_string()),
            ],
        ),
        truncated: report.truncated,
        groups,
        can_settings: may_view_settings(&u.user),
    };
    render(&page)
}

// --- settings page ---------------------------------------------------------------------------

pub struct ChecklistRow {
    pub label: String,
    pub applies: String,
    pub start: String,
    pub deadline: String,
    pub items: String,
}

#[derive(Template)]
#[template(path = "admin_checklists.html")]
struct SettingsPage {
    c: Chrome,
    editable: bool,
    version: i64,
    updated: String,
    default_deadline_days: String,
    holidays: String,
    workdays: String,
    checklists_json: String,
    rows: Vec<ChecklistRow>,
    errors: Vec<String>,
    saved: bool,
    /// "2027年的节假日尚未设置" near the end of the last configured year.
    calendar_warning: Option<String>,
}

/// Warns from November on when next year has no holidays configured (the State Council
/// publishes them late in the year; until they are entered, next year counts weekends only).
fn calendar_warning(tr: Tr, s: &ChecklistSettings, today: NaiveDate) -> Option<String> {
    use chrono::Datelike;
    let next = today.year() + 1;
    let has_next = s.holidays.iter().any(|r| r.last().year() >= next);
    (today.month() >= 11 && !has_next).then(|| tr.f("cl.calendar_warning", "y", &next.to_string()))
}

fn range_line(r: &DayRange) -> String {
    let dates = match r.to {
        Some(to) if to != r.from => format!("{}..{}", r.from, to),
        _ => r.from.to_string(),
    };
    if r.name.is_empty() {
        dates
    } else {
        format!("{dates} {}", r.name)
    }
}

/// Parses one range per line: `2026-10-01..2026-10-07 国庆节`, `2026-10-01 至 2026-10-07 国庆节`,
/// `2026-10-10 国庆节调休上班`. Errors name the line.
pub fn parse_ranges(text: &str, what_zh: &str, what_en: &str) -> Result<Vec<DayRange>, Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let normalized = line.replace(['～', '~'], "..").replace(" 至 ", "..").replace("至", "..").replace(" .. ", "..");
        let mut parts = normalized.splitn(2, char::is_whitespace);
        let dates = parts.next().unwrap_or_default();
        let name = parts.next().unwrap_or_default().trim().to_string();
        let (from, to) = match dates.split_once("..") {
            Some((a, b)) => (a, Some(b)),
            None => (dates, None),
        };
        let parse = |s: &str| dangan_core::validate::parse_date(s.trim()).ok();
        match (parse(from), to.map(parse)) {
            (Some(from), None) => out.push(DayRange { from, to: None, name }),
            (Some(from), Some(Some(to))) => out.push(DayRange { from, to: Some(to), name }),
            _ => errors.push((format!("{what_zh}第{}行：日期无法识别：{line}", n + 1), format!("{what_en} line {}: unreadable date: {line}", n + 1))),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn rows(tr: Tr, s: &ChecklistSettings) -> Vec<ChecklistRow> {
    let applies = |c: &ChecklistDef| {
        c.applies_to
            .iter()
            .map(|a| match a.as_str() {
                "person" => dangan_core::CustomerKind::Person.label(tr.lang).to_string() + tr.t("cl.without_template"),
                "organization" => dangan_core::CustomerKind::Organization.label(tr.lang).to_string() + tr.t("cl.without_template"),
                t => dangan_core::templates::find(t).map(|x| if tr.lang == "en" { x.label_en } else { x.label_zh }.to_string()).unwrap_or_else(|| t.to_string()),
            })
            .collect::<Vec<_>>()
            .join(sep(tr))
    };
    s.checklists
        .iter()
        .map(|c| {
            let template = c.applies_to.first().map(String::as_str);
            let start = if c.start_fields.is_empty() {
                tr.t("cl.start_created").to_string()
            } else {
                let fields = c.start_fields.iter().map(|f| start_label(tr, template, f)).collect::<Vec<_>>().join(" / ");
                if c.requires_start_field {
                    tr.f("cl.start_only", "f", &fields)
                } else {
                    tr.f("cl.start_or_created", "f", &fields)
                }
            };
            ChecklistRow {
                label: if tr.lang == "en" { c.label_en.clone() } else { c.label_zh.clone() },
                applies: applies(c),
                start,
                deadline: tr.f("cl.working_days", "n", &s.deadline_of(c).to_string()),
                items: c
                    .items
                    .iter()
                    .map(|i| {
                        let l = if tr.lang == "en" { &i.label_en } else { &i.label_zh };
                        if i.required {
                            l.clone()
                        } else {
                            format!("{l}{}", tr.t("cl.optional_suffix"))
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(sep(tr)),
            }
        })
        .collect()
}

struct FormText {
    default_deadline_days: String,
    holidays: String,
    workdays: String,
    checklists_json: String,
}

fn settings_response(s: &AppState, u: &UiUser, c: Chrome, e: &EffectiveChecklists, form: Option<FormText>, errors: Vec<String>, saved: bool) -> Response {
    let _ = s;
    let tr = u.tr;
    let form = form.unwrap_or_else(|| FormText {
        default_deadline_days: e.settings.default_deadline_days.to_string(),
        holidays: e.settings.holidays.iter().map(range_line).collect::<Vec<_>>().join("\n"),
        workdays: e.settings.workdays.iter().map(range_line).collect::<Vec<_>>().join("\n"),
        checklists_json: serde_json::to_string_pretty(&e.settings.checklists).unwrap_or_default(),
    });
    let updated = match e.updated_at {
        Some(at) => tr.fs("policy.updated", &[("v", &e.version.to_string()), ("at", &fmt_time(at))]),
        None => tr.t("cl.defaults").to_string(),
    };
    let status = if errors.is_empty() { axum::http::StatusCode::OK } else { axum::http::StatusCode::UNPROCESSABLE_ENTITY };
    let page = SettingsPage {
        editable: may_edit_settings(&u.user),
        version: e.version,
        updated,
        default_deadline_days: form.default_deadline_days,
        holidays: form.holidays,
        workdays: form.workdays,
        checklists_json: form.checklists_json,
        rows: rows(tr, &e.settings),
        calendar_warning: calendar_warning(tr, &e.settings, dangan_app::checklists::today_local()),
        errors,
        saved,
        c,
    };
    (status, render(&page)).into_response()
}

async fn settings_chrome(s: &AppState, u: &UiUser) -> Chrome {
    let mut c = Chrome::of(s, u).await;
    c.menu = "admin";
    c
}

async fn settings_page(State(s): State<AppState>, u: UiUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let e = match s.app.checklist_settings_view(&u.user).await {
        Ok(e) => e,
        Err(e) => return error_page(u.tr, e),
    };
    let c = settings_chrome(&s, &u).await;
    settings_response(&s, &u, c, &e, None, Vec::new(), q.contains_key("saved"))
}

async fn save_settings(State(s): State<AppState>, u: UiUser, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let tr = u.tr;
    let en = tr.lang == "en";
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let form = FormText { default_deadline_days: get("default_deadline_days").trim().to_string(), holidays: get("holidays"), workdays: get("workdays"), checklists_json: get("checklists") };
    let mut errors: Vec<(String, String)> = Vec::new();
    let holidays = parse_ranges(&form.holidays, "节假日", "Holidays").unwrap_or_else(|e| {
        errors.extend(e);
        Vec::new()
    });
    let workdays = parse_ranges(&form.workdays, "调休上班日", "Adjusted working days").unwrap_or_else(|e| {
        errors.extend(e);
        Vec::new()
    });
    let checklists: Vec<ChecklistDef> = serde_json::from_str(&form.checklists_json).unwrap_or_else(|e| {
        errors.push((format!("材料清单定义（JSON）无法读取：{e}"), format!("The checklists (JSON) cannot be read: {e}")));
        Vec::new()
    });
    let default_deadline_days: u32 = form.default_deadline_days.parse().unwrap_or(0);
    let version: i64 = get("version").trim().parse().unwrap_or(-1);
    let pick = |errs: Vec<(String, String)>| errs.into_iter().map(|(zh, e)| if en { e } else { zh }).collect::<Vec<_>>();
    if !errors.is_empty() {
        return again(&s, &u, pick(errors), form).await;
    }
    let new = ChecklistSettings { default_deadline_days, holidays, workdays, checklists };
    match s.app.update_checklist_settings(&u.user, version, new).await {
        Ok(_) => Redirect::to("/admin/checklists?saved=1").into_response(),
        Err(AppError::Invalid { zh, en: e }) => again(&s, &u, vec![if en { e } else { zh }], form).await,
        Err(AppError::Conflict { .. }) => again(&s, &u, vec![tr.t("cl.conflict").to_string()], form).await,
        Err(e) => error_page(tr, e),
    }
}

/// The settings page again, with the user's text and what was wrong with it.
async fn again(s: &AppState, u: &UiUser, errors: Vec<String>, form: FormText) -> Response {
    let e = match s.app.checklist_settings_view(&u.user).await {
        Ok(e) => e,
        Err(e) => return error_page(u.tr, e),
    };
    let c = settings_chrome(s, u).await;
    settings_response(s, u, c, &e, Some(form), errors, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_in_the_forms_people_type() {
        let r = parse_ranges("2026-10-01..2026-10-07 国庆节\n\n2026-10-10 国庆节调休上班\n2026年2月15日 至 2026年2月23日 春节\n2026-05-01~2026-05-05", "节假日", "Holidays").unwrap();
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].to, Some("2026-10-07".parse().unwrap()));
        assert_eq!(r[0].name, "国庆节");
        assert_eq!(r[1].to, None);
        assert_eq!(r[2].from, "2026-02-15".parse::<NaiveDate>().unwrap());
        assert_eq!(r[2].name, "春节");
        assert_eq!(r[3].to, Some("2026-05-05".parse().unwrap()));
        let e = parse_ranges("2026-13-01 坏", "节假日", "Holidays").unwrap_err();
        assert!(e[0].0.contains("第1行"));
        assert_eq!(range_line(&r[0]), "2026-10-01..2026-10-07 国庆节");
        let tr = Tr { lang: "zh-CN" };
        let s = ChecklistSettings::default();
        assert!(calendar_warning(tr, &s, "2026-11-30".parse().unwrap()).unwrap().contains("2027"));
        assert!(calendar_warning(tr, &s, "2026-06-30".parse().unwrap()).is_none());
    }
}
