//! The audit trail and version history over HTTP: the trail (filtered, exported as CSV or
//! xlsx), an archive's consultations, its change history, diffs between versions and restore.
//! Who may read the trail is decided in `dangan_app::audit`; reading and exporting are audited.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use dangan_app::store::AuditQuery;
use dangan_core::audit::{AuditHead, AuditRecord, Outcome};
use dangan_core::history::FieldChange;
use dangan_core::Archive;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::problem::{from_app_error, Problem};
use crate::{ApiUser, AppState};

type ApiResult<T> = Result<T, Response>;

fn fail(lang: &str) -> impl Fn(dangan_app::AppError) -> Response + '_ {
    move |e| from_app_error(e, lang)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/audit", get(list_audit))
        .route("/api/v1/audit/export", get(export_audit))
        .route("/api/v1/audit/head", get(audit_head))
        .route("/api/v1/archives/{id}/consultations", get(consultations))
        .route("/api/v1/archives/{id}/history", get(history))
        .route("/api/v1/archives/{id}/diff", get(diff))
        .route("/api/v1/archives/{id}/restore", post(restore))
        .route("/api/v1/archives/{id}/card.pdf", get(print_card))
        .route("/api/v1/archives/{id}/visits.pdf", get(print_visits))
        .route("/api/v1/loans/{id}/slip.pdf", get(print_slip))
}

#[derive(OpenApi)]
#[openapi(
    paths(list_audit, export_audit, audit_head, consultations, history, diff, restore, print_card, print_visits, print_slip),
    components(schemas(AuditRecord, AuditHead, Outcome, FieldChange, VersionSummaryView, RestoreBody))
)]
pub struct AuditDoc;

/// Filters of the audit trail (all optional).
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct AuditParams {
    pub user_id: Option<i64>,
    pub archive_id: Option<i64>,
    /// Action code, e.g. `archive.read`, `archive.read_unmasked`, `auth.login_failed`.
    pub action: Option<String>,
    /// `allowed`, `denied`, `needs_approval` or `failed`.
    pub outcome: Option<String>,
    /// From this instant (RFC 3339) or day (YYYY-MM-DD).
    pub from: Option<String>,
    /// Before this instant (RFC 3339) or up to and including this day (YYYY-MM-DD).
    pub to: Option<String>,
    /// Keyset paging: records numbered below this.
    pub before_seq: Option<i64>,
    pub limit: Option<u32>,
    /// Export format: `csv` (UTF-8 with BOM, for Excel) or `xlsx`.
    pub format: Option<String>,
}

/// A time bound from `2026-11-30T08:00:00Z` or `2026-11-30` (a day counts whole, China time).
pub(crate) fn parse_bound(s: Option<&str>, end: bool) -> Result<Option<DateTime<Utc>>, String> {
    let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    let day = dangan_core::validate::parse_date(s).map_err(|_| format!("not a date or time: {s} / 不是有效的日期或时间"))?;
    let day = if end { day.succ_opt().unwrap_or(day) } else { day };
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    Ok(day.and_hms_opt(0, 0, 0).and_then(|t| t.and_local_timezone(china).single()).map(|t| t.with_timezone(&Utc)))
}

impl AuditParams {
    pub(crate) fn query(&self) -> Result<AuditQuery, String> {
        Ok(AuditQuery {
            user_id: self.user_id,
            archive_id: self.archive_id,
            action: self.action.clone().filter(|s| !s.is_empty()),
            outcome: self.outcome.clone().filter(|s| !s.is_empty()),
            from: parse_bound(self.from.as_deref(), false)?,
            to: parse_bound(self.to.as_deref(), true)?,
            before_seq: self.before_seq,
            limit: self.limit.unwrap_or(100),
        })
    }
}

fn bad_request(lang: &str) -> impl Fn(String) -> Response + '_ {
    move |m| from_app_error(dangan_app::AppError::BadRequest(m), lang)
}

/// The audit trail, newest first (auditor, general manager, archivist). Reading it is audited.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditParams), responses((status = 200, body = [AuditRecord]), (status = 403, body = Problem)))]
async fn list_audit(State(s): State<AppState>, u: ApiUser, Query(p): Query<AuditParams>) -> ApiResult<Json<Vec<AuditRecord>>> {
    let q = p.query().map_err(bad_request(u.lang))?;
    Ok(Json(s.app.audit_log(&u.user, &q).await.map_err(fail(u.lang))?))
}

/// Largest export, in rows.
const EXPORT_MAX_ROWS: usize = 200_000;

pub(crate) const EXPORT_HEADERS: &[&str] =
    &["序号", "时间", "用户ID", "用户", "角色", "部门ID", "来源地址", "客户端", "操作代码", "操作", "档案ID", "档号", "字段", "依据", "结果", "详情", "前一哈希", "哈希"];

pub(crate) fn export_row(r: &AuditRecord) -> Vec<String> {
    let e = &r.event;
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    vec![
        r.seq.to_string(),
        e.at.with_timezone(&china).format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
        e.user_id.map(|v| v.to_string()).unwrap_or_default(),
        e.username.clone(),
        e.roles.clone(),
        e.dept_id.map(|v| v.to_string()).unwrap_or_default(),
        e.client_addr.clone(),
        e.user_agent.clone(),
        e.action.code().to_string(),
        e.action.label("zh-CN").to_string(),
        e.archive_id.map(|v| v.to_string()).unwrap_or_default(),
        e.archive_no.clone(),
        e.fields.clone(),
        e.basis.clone(),
        e.outcome.label("zh-CN").to_string(),
        e.detail.clone(),
        r.prev_hash.clone(),
        r.hash.clone(),
    ]
}

/// The trail as a file for inspections: `csv` (UTF-8 with BOM) or `xlsx`.
pub(crate) fn export_file(records: &[AuditRecord], format: &str) -> Result<(Vec<u8>, &'static str, &'static str), String> {
    match format {
        "xlsx" => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let sheet = book.add_worksheet();
            let _ = sheet.set_name("审计日志");
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (c, h) in EXPORT_HEADERS.iter().enumerate() {
                sheet.write_string_with_format(0, c as u16, *h, &bold).map_err(|e| e.to_string())?;
            }
            for (i, r) in records.iter().enumerate() {
                for (c, v) in export_row(r).iter().enumerate() {
                    sheet.write_string(i as u32 + 1, c as u16, v).map_err(|e| e.to_string())?;
                }
            }
            let bytes = book.save_to_buffer().map_err(|e| e.to_string())?;
            Ok((bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"))
        }
        _ => {
            let mut out = Vec::from("\u{feff}".as_bytes());
            let mut w = csv::Writer::from_writer(&mut out);
            w.write_record(EXPORT_HEADERS).map_err(|e| e.to_string())?;
            for r in records {
                w.write_record(export_row(r)).map_err(|e| e.to_string())?;
            }
            w.flush().map_err(|e| e.to_string())?;
            drop(w);
            Ok((out, "text/csv; charset=utf-8", "csv"))
        }
    }
}

/// Exports the filtered trail (`format=csv` or `xlsx`); audited with the row count.
#[utoipa::path(get, path = "/api/v1/audit/export", params(AuditParams), responses((status = 200, description = "CSV or xlsx file"), (status = 403, body = Problem)))]
async fn export_audit(State(s): State<AppState>, u: ApiUser, Query(p): Query<AuditParams>) -> ApiResult<Response> {
    let q = p.query().map_err(bad_request(u.lang))?;
    let records = s.app.audit_export(&u.user, &q, EXPORT_MAX_ROWS).await.map_err(fail(u.lang))?;
    let (bytes, mime, ext) = export_file(&records, p.format.as_deref().unwrap_or("csv")).map_err(|e| from_app_error(dangan_app::AppError::Internal(e), u.lang))?;
    let name = format!("audit-{}.{ext}", Utc::now().format("%Y%m%d-%H%M%S"));
    Ok(([(header::CONTENT_TYPE, mime.to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\""))], bytes).into_response())
}

/// The chain's head digest now (keep a copy outside the database; `dangan audit verify --head`).
#[utoipa::path(get, path = "/api/v1/audit/head", responses((status = 200, body = AuditHead), (status = 403, body = Problem)))]
async fn audit_head(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Option<AuditHead>>> {
    if !dangan_app::audit::may_read_audit(&u.user.user) {
        return Err(from_app_error(dangan_app::AppError::Forbidden, u.lang));
    }
    Ok(Json(s.app.audit_head().await.map_err(fail(u.lang))?))
}

#[derive(Deserialize, IntoParams)]
pub struct LimitParam {
    pub limit: Option<u32>,
}

/// Who consulted or changed the archive, newest first (for those who may read the trail).
#[utoipa::path(get, path = "/api/v1/archives/{id}/consultations", params(("id" = i64, Path), LimitParam), responses((status = 200, body = [AuditRecord]), (status = 403, body = Problem)))]
async fn consultations(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Query(p): Query<LimitParam>) -> ApiResult<Json<Vec<AuditRecord>>> {
    Ok(Json(s.app.archive_consultations(&u.user, id, p.limit.unwrap_or(100)).await.map_err(fail(u.lang))?))
}

#[derive(Serialize, ToSchema)]
pub struct VersionSummaryView {
    pub version: i64,
    pub changed_by: i64,
    pub changed_at: DateTime<Utc>,
    pub reason: Option<String>,
    /// What changed from the version before (sensitive values masked).
    pub changes: Vec<FieldChange>,
}

/// The change history (变更历史), newest first: who, when, why and what changed.
#[utoipa::path(get, path = "/api/v1/archives/{id}/history", params(("id" = i64, Path)), responses((status = 200, body = [VersionSummaryView])))]
async fn history(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<Vec<VersionSummaryView>>> {
    let h = s.app.history(&u.user, id).await.map_err(fail(u.lang))?;
    Ok(Json(
        h.into_iter().map(|v| VersionSummaryView { version: v.version, changed_by: v.changed_by, changed_at: v.changed_at, reason: v.reason, changes: v.changes }).collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
pub struct DiffParams {
    pub from: i64,
    pub to: i64,
}

/// Field-level differences between two versions (sensitive values masked).
#[utoipa::path(get, path = "/api/v1/archives/{id}/diff", params(("id" = i64, Path), DiffParams), responses((status = 200, body = [FieldChange])))]
async fn diff(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Query(p): Query<DiffParams>) -> ApiResult<Json<Vec<FieldChange>>> {
    Ok(Json(s.app.compare_versions(&u.user, id, p.from, p.to).await.map_err(fail(u.lang))?))
}

#[derive(Deserialize, ToSchema)]
pub struct RestoreBody {
    /// The version whose content becomes the next version.
    pub version: i64,
    /// Why (required).
    pub reason: String,
}

/// Restores an older version as a new version (nothing is overwritten; audited).
#[utoipa::path(post, path = "/api/v1/archives/{id}/restore", params(("id" = i64, Path)), request_body = RestoreBody,
    responses((status = 200, body = Archive), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn restore(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<RestoreBody>) -> ApiResult<(StatusCode, Json<Archive>)> {
    Ok((StatusCode::OK, Json(s.app.restore_version(&u.user, id, b.version, &b.reason).await.map_err(fail(u.lang))?)))
}

/// The archive card (客户资料卡) as an A4 PDF with the viewer's name and the time on every page.
/// Printing is a policy action (never for 机密) and is audited; sensitive fields print masked.
#[utoipa::path(get, path = "/api/v1/archives/{id}/card.pdf", params(("id" = i64, Path)),
    responses((status = 200, description = "application/pdf"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn print_card(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Response> {
    let bytes = s.app.print_archive_card(&u.user, id).await.map_err(fail(u.lang))?;
    Ok(pdf_response(bytes, &format!("archive-card-{id}.pdf")))
}

pub(crate) fn pdf_response(bytes: Vec<u8>, name: &str) -> Response {
    ([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, format!("inline; filename=\"{name}\""))], bytes).into_response()
}

/// The visit record form (客户拜访档案记录): the archive's timeline as an A4 PDF, corrected
/// entries marked. A print: authorized and audited; watermarked.
#[utoipa::path(get, path = "/api/v1/archives/{id}/visits.pdf", params(("id" = i64, Path)),
    responses((status = 200, description = "application/pdf"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn print_visits(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Response> {
    let bytes = s.app.print_visit_record(&u.user, id).await.map_err(fail(u.lang))?;
    Ok(pdf_response(bytes, &format!("visit-record-{id}.pdf")))
}

/// The borrowing slip (借阅单) of a loan, for the borrower and the archivist (with the return
/// once checked back). Audited; watermarked.
#[utoipa::path(get, path = "/api/v1/loans/{id}/slip.pdf", params(("id" = i64, Path)),
    responses((status = 200, description = "application/pdf"), (status = 404, body = Problem)))]
async fn print_slip(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Response> {
    let bytes = s.app.print_borrowing_slip(&u.user, id).await.map_err(fail(u.lang))?;
    Ok(pdf_response(bytes, &format!("borrowing-slip-{id}.pdf")))
}
