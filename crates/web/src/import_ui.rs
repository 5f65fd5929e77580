//! The import/export screens (导入导出): upload a file, read the dry run (bad rows, duplicate
//! candidates with a choice per row, the column mapping the user may correct), start the import
//! as a background job, follow its progress (refreshes itself while it runs) and cancel it;
//! export the current list with chosen columns. Same app services as the API.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dangan_app::import::{ImportAnalysis, ImportMode, ImportOptions, RowDecision};
use dangan_app::store::{ImportJob, ImportStatus};
use dangan_app::AppError;
use dangan_io::mapping::Target;

use crate::api::ListParams;
use crate::import_api::{export_request, file_response, stage_upload, ExportParams};
use crate::i18n::Tr;
use crate::ui::{error_page, fmt_time, render, Chrome, UiUser};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/import", get(import_page).post(upload_submit))
        .route("/import/{id}", get(job_page))
        .route("/import/{id}/run", post(run_submit))
        .route("/import/{id}/cancel", post(cancel_submit))
        .route("/import/{id}/errors.xlsx", get(error_report))
        .route("/export", get(export_download))
}

pub struct JobRow {
    pub id: i64,
    pub file_name: String,
    pub status: String,
    pub status_class: &'static str,
    pub created_at: String,
    pub rows: i64,
    pub imported: i64,
    pub skipped: i64,
    pub failed: i64,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    c: Chrome,
    jobs: Vec<JobRow>,
    error: Option<String>,
    /// What a package import did.
    notice: Option<String>,
    /// The columns an export may have: (path, label).
    columns: Vec<(String, String)>,
}

pub struct MapRow {
    pub index: usize,
    pub header: String,
    pub target: String,
}

pub struct DupRow {
    pub row: u32,
    pub name: String,
    /// (archive id, number, name, reason)
    pub candidates: Vec<(Option<i64>, String, String, String)>,
    pub hidden: u32,
    pub decision: String,
}

#[derive(Template)]
#[template(path = "import_job.html")]
struct JobPage {
    c: Chrome,
    job: ImportJob,
    status: String,
    status_class: &'static str,
    running: bool,
    analyzed: bool,
    percent: i64,
    rate: String,
    eta: String,
    /// From the dry run.
    counts: Option<dangan_app::import::AnalysisCounts>,
    mapping: Vec<MapRow>,
    mapping_problems: Vec<String>,
    targets: Vec<(String, String)>,
    errors: Vec<(u32, String, String, String)>,
    more_errors: u64,
    has_error_report: bool,
    dups: Vec<DupRow>,
    mode_all: bool,
    error: Option<String>,
}

fn status_label(tr: Tr, s: ImportStatus) -> (String, &'static str) {
    let key = match s {
        ImportStatus::Analyzed => "imp.st_analyzed",
        ImportStatus::Running => "imp.st_running",
        ImportStatus::Done => "imp.st_done",
        ImportStatus::Failed => "imp.st_failed",
        ImportStatus::Canceled => "imp.st_canceled",
        ImportStatus::Rejected => "imp.st_rejected",
    };
    let class = match s {
        ImportStatus::Done => "tag-green",
        ImportStatus::Running | ImportStatus::Analyzed => "tag-blue",
        _ => "tag-orange",
    };
    (tr.t(key).to_string(), class)
}

fn app_error_text(tr: Tr, e: AppError) -> String {
    match e {
        AppError::Invalid { zh, en } => {
            if tr.lang == "en" {
                en
            } else {
                zh
            }
        }
        AppError::Validation(errs) => errs.iter().map(|e| e.message(tr.lang)).collect::<Vec<_>>().join("；"),
        AppError::Forbidden => tr.t("err.forbidden").to_string(),
        AppError::NotFound => tr.t("err.not_found").to_string(),
        other => other.to_string(),
    }
}

async fn import_page(State(s): State<AppState>, u: UiUser) -> Response {
    page(&s, &u, None).await
}

async fn page(s: &AppState, u: &UiUser, error: Option<String>) -> Response {
    page_with(s, u, error, None).await
}

async fn page_with(s: &AppState, u: &UiUser, error: Option<String>, notice: Option<String>) -> Response {
    let tr = u.tr;
    let jobs = match s.app.import_jobs(&u.user, 50).await {
        Ok(j) => j,
        Err(e) => return error_page(tr, e),
    };
    let jobs = jobs
        .into_iter()
        .map(|j| {
            let (status, status_class) = status_label(tr, j.status);
            JobRow { id: j.id, file_name: j.file_name, status, status_class, created_at: fmt_time(j.created_at), rows: j.counts.total, imported: j.counts.imported, skipped: j.counts.skipped, failed: j.counts.failed }
        })
        .collect();
    let mut c = Chrome::of(s, u).await;
    c.menu = "import";
    let columns = dangan_app::export::export_columns().into_iter().map(|(p, zh, en)| (p, if tr.lang == "en" { en } else { zh })).collect();
    let status = if error.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    (status, render(&ImportPage { c, jobs, error, notice, columns })).into_response()
}

/// 上传并检查: stage the file and show the dry run.
async fn upload_submit(State(s): State<AppState>, u: UiUser, multipart: Multipart) -> Response {
    let tr = u.tr;
    let (staged, mut options, fields) = match stage_upload(&s.app, multipart, Some(&u.csrf)).await {
        Ok(x) => x,
        Err(e) => return page(&s, &u, Some(app_error_text(tr, e))).await,
    };
    apply_form_options(&mut options, &fields);
    if staged.file_name.to_lowercase().ends_with(".zip") {
        // An archive package (档案包), not a table.
        let bytes = match tokio::fs::read(&staged.path).await {
            Ok(b) => b,
            Err(e) => return page(&s, &u, Some(e.to_string())).await,
        };
        return match s.app.import_package(&u.user, &bytes).await {
            Ok(r) => {
                let mut msg = tr.f("imp.package_done", "n", &r.created.len().to_string());
                for (no, why) in &r.refused {
                    msg.push_str(&format!("；{no}：{why}"));
                }
                page_with(&s, &u, None, Some(msg)).await
            }
            Err(e) => page(&s, &u, Some(app_error_text(tr, e))).await,
        };
    }
    match s.app.analyze_import(&u.user, &staged, &options).await {
        Ok(a) => Redirect::to(&format!("/import/{}", a.import.id)).into_response(),
        Err(e) => page(&s, &u, Some(app_error_text(tr, e))).await,
    }
}

fn apply_form_options(options: &mut ImportOptions, f: &HashMap<String, String>) {
    if let Some(m) = f.get("mode") {
        options.mode = if m == "all_or_nothing" { ImportMode::AllOrNothing } else { ImportMode::GoodRows };
    }
    if let Some(d) = f.get("duplicates") {
        options.duplicates = Some(if d == "create" { RowDecision::Create } else { RowDecision::Skip });
    }
    let mut decisions = BTreeMap::new();
    for (k, v) in f {
        let Some(row) = k.strip_prefix("decision_").and_then(|r| r.parse::<u32>().ok()) else { continue };
        let d = match v.as_str() {
            "create" => RowDecision::Create,
            "skip" => RowDecision::Skip,
            other => match other.strip_prefix("merge:").and_then(|id| id.parse().ok()) {
                Some(into) => RowDecision::Merge { into },
                None => continue,
            },
        };
        decisions.insert(row, d);
    }
    if !decisions.is_empty() {
        options.decisions = decisions;
    }
}

async fn job_page(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>) -> Response {
    job_view(&s, &u, id, None).await
}

async fn job_view(s: &AppState, u: &UiUser, id: i64, error: Option<String>) -> Response {
    let tr = u.tr;
    let job = match s.app.import_job(&u.user, id).await {
        Ok(j) => j,
        Err(e) => return error_page(tr, e),
    };
    let analysis: Option<ImportAnalysis> = s.app.import_analysis(&u.user, id).await.ok();
    let (status, status_class) = status_label(tr, job.status);
    let running = job.status == ImportStatus::Running && !s.app.import_is_stale(&job);
    let k = job.counts;
    let total = k.total.max(1);
    let percent = if job.status == ImportStatus::Done { 100 } else { (k.processed * 100 / total).clamp(0, 100) };
    let secs = (job.updated_at - job.created_at).num_milliseconds().max(1) as f64 / 1000.0;
    let (rate, eta) = if job.status == ImportStatus::Running && k.processed > 0 {
        let since = (chrono::Utc::now() - job.updated_at).num_seconds().max(0) as f64;
        let rate = k.processed as f64 / (secs + since).max(0.001);
        let left = (k.total - k.processed).max(0) as f64 / rate.max(0.001);
        (format!("{rate:.0}"), format!("{left:.0}"))
    } else {
        (String::new(), String::new())
    };
    let options: ImportOptions = serde_json::from_value(job.options.clone()).unwrap_or_default();
    let mut targets = {
        let mut t = vec![("".to_string(), tr.t("imp.unmapped").to_string()), ("ignore".to_string(), tr.t("imp.ignore").to_string())];
        t.extend(dangan_app::export::import_targets().into_iter().map(|(p, zh, en)| (p, if tr.lang == "en" { en } else { zh })));
        t
    };
    let (counts, mapping, mapping_problems, errors, more_errors, has_error_report, dups) = match &analysis {
        Some(a) => {
            let mapping: Vec<MapRow> = a.mapping.columns.iter().map(|b| MapRow { index: b.index, header: b.header.clone(), target: b.target.as_ref().map(Target::path).unwrap_or_default() }).collect();
            // A target the list lacks (an industry template's custom field) is offered as it is.
            for m in &mapping {
                if !targets.iter().any(|(p, _)| *p == m.target) {
                    targets.push((m.target.clone(), m.target.clone()));
                }
            }
            let problems = a.mapping_problems.iter().map(|(zh, en)| if tr.lang == "en" { en.clone() } else { zh.clone() }).collect();
            let errors: Vec<_> = a.errors.iter().map(|e| (e.row, e.column.clone(), e.value.clone(), if tr.lang == "en" { e.message_en.clone() } else { e.message_zh.clone() })).collect();
            let more = a.counts.invalid.saturating_sub(errors.iter().map(|e| e.0).collect::<std::collections::BTreeSet<_>>().len() as u64);
            let dups = a
                .duplicates
                .iter()
                .map(|d| DupRow {
                    row: d.row,
                    name: d.name.clone(),
                    candidates: d.candidates.iter().map(|c| (c.archive_id, c.archive_no.clone(), c.name.clone(), if tr.lang == "en" { c.reason_en.clone() } else { c.reason_zh.clone() })).collect(),
                    hidden: d.hidden,
                    decision: match options.decision_for(d.row, d.exact) {
                        RowDecision::Skip => "skip".into(),
                        RowDecision::Create => "create".into(),
                        RowDecision::Merge { into } => format!("merge:{into}"),
                    },
                })
                .collect();
            (Some(a.counts.clone()), mapping, problems, errors, more, a.has_error_report, dups)
        }
        None => (None, Vec::new(), Vec::new(), Vec::new(), 0, false, Vec::new()),
    };
    let mut c = Chrome::of(s, u).await;
    c.menu = "import";
    let analyzed = job.status == ImportStatus::Analyzed;
    let page = JobPage {
        c,
        status,
        status_class,
        running,
        analyzed,
        percent,
        rate,
        eta,
        counts,
        mapping,
        mapping_problems,
        targets,
        errors,
        more_errors,
        has_error_report,
        dups,
        mode_all: options.mode == ImportMode::AllOrNothing,
        error,
        job,
    };
    render(&page).into_response()
}

/// 开始导入 (or 重新检查 with a corrected mapping).
async fn run_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let tr = u.tr;
    let analysis = match s.app.import_analysis(&u.user, id).await {
        Ok(a) => a,
        Err(e) => return error_page(tr, e),
    };
    let mut options: ImportOptions = serde_json::from_value(analysis.import.options.clone()).unwrap_or_default();
    apply_form_options(&mut options, &f);
    let mut mapping = analysis.mapping.clone();
    let mut changed = false;
    for b in mapping.columns.iter_mut() {
        let Some(v) = f.get(&format!("map_{}", b.index)) else { continue };
        let target = if v.is_empty() { None } else { v.parse::<Target>().ok() };
        if target != b.target {
            b.target = target;
            changed = true;
        }
    }
    options.mapping = Some(mapping);
    if changed || f.get("action").map(String::as_str) == Some("reanalyze") {
        return match s.app.reanalyze_import(&u.user, id, &options).await {
            Ok(a) => Redirect::to(&format!("/import/{}", a.import.id)).into_response(),
            Err(e) => job_view(&s, &u, id, Some(app_error_text(tr, e))).await,
        };
    }
    match s.app.start_import(&u.user, id, Some(options)).await {
        Ok(_) => Redirect::to(&format!("/import/{id}")).into_response(),
        Err(e) => job_view(&s, &u, id, Some(app_error_text(tr, e))).await,
    }
}

async fn cancel_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    match s.app.cancel_import(&u.user, id).await {
        Ok(_) => Redirect::to(&format!("/import/{id}")).into_response(),
        Err(e) => error_page(u.tr, e),
    }
}

async fn error_report(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>) -> Response {
    match s.app.import_error_report(&u.user, id).await {
        Ok(bytes) => file_response(bytes, &format!("导入错误报告-{id}.xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        Err(e) => error_page(u.tr, e),
    }
}

/// 导出: the list with its filters (or a search), as chosen on the list or import page.
async fn export_download(State(s): State<AppState>, u: UiUser, Query(list): Query<ListParams>, Query(p): Query<ExportParams>, Query(raw): Query<Vec<(String, String)>>) -> Response {
    let tr = u.tr;
    let mut p = p;
    // Checkboxes arrive as repeated `col=` fields.
    let cols: Vec<String> = raw.iter().filter(|(k, _)| k == "col").map(|(_, v)| v.clone()).collect();
    if !cols.is_empty() {
        p.columns = Some(cols.join(","));
    }
    let req = match export_request(&list, &p, tr.lang) {
        Ok(r) => r,
        Err(e) => return page(&s, &u, Some(app_error_text(tr, e))).await,
    };
    match s.app.export_archives(&u.user, &req).await {
        Ok(f) => file_response(f.bytes, &f.file_name, f.content_type),
        Err(e) => page(&s, &u, Some(app_error_text(tr, e))).await,
    }
}
