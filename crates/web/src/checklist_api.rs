//! Document checklists over HTTP (材料清单): an archive's checklists, marking items, the overdue
//! report and the settings (checklists, deadline, holiday calendar). Rules, rights and audit
//! records are `dangan_app::checklists`'s.

use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use dangan_app::checklists::{ArchiveChecklists, EffectiveChecklists, MissingItem, OverdueGroup, OverdueReport, OverdueRow};
use dangan_core::checklist::{ChecklistDef, ChecklistItem, ChecklistSettings, ChecklistStatus, DayRange, ItemStatus, Mark, MarkAction, Receipt};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::problem::{from_app_error, Problem};
use crate::{ApiUser, AppState};

type ApiResult<T> = Result<T, axum::response::Response>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/archives/{id}/checklists", get(get_checklists))
        .route("/api/v1/archives/{id}/checklists/{checklist}/items/{item}/marks", post(mark_item))
        .route("/api/v1/archives/{id}/checklists/{checklist}/items/{item}/attachments", post(upload_item))
        .route("/api/v1/checklists/overdue", get(overdue))
        .route("/api/v1/checklists/settings", get(get_settings).put(put_settings))
}

#[derive(OpenApi)]
#[openapi(
    paths(get_checklists, mark_item, upload_item, overdue, get_settings, put_settings),
    components(schemas(
        ArchiveChecklists, ChecklistStatus, ItemStatus, Receipt, Mark, MarkAction, MarkBody, OverdueReport, OverdueGroup, OverdueRow, MissingItem,
        SettingsDocument, SettingsUpdate, ChecklistSettings, ChecklistDef, ChecklistItem, DayRange
    ))
)]
pub struct ChecklistDoc;

#[derive(Debug, Deserialize, IntoParams)]
pub struct AsOf {
    /// Evaluate as of this date (default: today, UTC+8).
    pub as_of: Option<NaiveDate>,
}

/// An archive's checklists: completeness (required items present, in percent), missing items,
/// the due date in working days from the start event, overdue state, and every mark made.
#[utoipa::path(get, path = "/api/v1/archives/{id}/checklists", params(("id" = i64, Path), AsOf),
    responses((status = 200, body = ArchiveChecklists), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_checklists(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Query(q): Query<AsOf>) -> ApiResult<Json<ArchiveChecklists>> {
    Ok(Json(s.app.archive_checklists(&u.user, id, q.as_of).await.map_err(|e| from_app_error(e, u.lang))?))
}

/// A mark on one checklist item.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MarkBody {
    /// `received` / `withdrawn` (the paper original; archivist), `attached` / `detached` (a scan
    /// already uploaded to the archive; who may edit the archive, and the archivist).
    pub action: MarkAction,
    /// The attachment, for `attached` / `detached`.
    #[serde(default)]
    pub attachment_id: Option<i64>,
    #[serde(default)]
    pub note: String,
}

/// Ticks or unticks an item as received on paper, or tags / untags a scan for it. Marks are
/// appended (never changed), each with one `checklist.mark` audit record; a mark that changes
/// nothing is refused (422). Answers with the archive's checklists after the change.
#[utoipa::path(post, path = "/api/v1/archives/{id}/checklists/{checklist}/items/{item}/marks", request_body = MarkBody,
    params(("id" = i64, Path), ("checklist" = String, Path), ("item" = String, Path)),
    responses((status = 201, body = ArchiveChecklists), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn mark_item(State(s): State<AppState>, u: ApiUser, Path((id, checklist, item)): Path<(i64, String, String)>, Json(b): Json<MarkBody>) -> ApiResult<(StatusCode, Json<ArchiveChecklists>)> {
    let out = s.app.mark_checklist_item(&u.user, id, &checklist, &item, b.action, b.attachment_id, &b.note).await.map_err(|e| from_app_error(e, u.lang))?;
    Ok((StatusCode::CREATED, Json(out)))
}

/// Uploads a scan (multipart field `file`, like any attachment) and tags it for the item in one
/// step. Needs the right to edit the archive. Answers with the archive's checklists.
#[utoipa::path(post, path = "/api/v1/archives/{id}/checklists/{checklist}/items/{item}/attachments", request_body(content_type = "multipart/form-data"),
    params(("id" = i64, Path), ("checklist" = String, Path), ("item" = String, Path)),
    responses((status = 201, body = ArchiveChecklists), (status = 403, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn upload_item(State(s): State<AppState>, u: ApiUser, Path((id, checklist, item)): Path<(i64, String, String)>, multipart: Multipart) -> ApiResult<(StatusCode, Json<ArchiveChecklists>)> {
    let (name, bytes) = crate::api::read_file_field(multipart).await.map_err(|e| from_app_error(e, u.lang))?;
    let out = s.app.upload_for_checklist_item(&u.user, id, &checklist, &item, &name, bytes.to_vec()).await.map_err(|e| from_app_error(e, u.lang))?;
    Ok((StatusCode::CREATED, Json(out)))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OverdueQuery {
    /// The report's date (default: today, UTC+8).
    pub as_of: Option<NaiveDate>,
    /// Look at archives created on or after this date (default: a year before `as_of`).
    pub since: Option<NaiveDate>,
}

/// Overdue checklist items per responsible person (the archive's owner), over the archives the
/// caller may see listed.
#[utoipa::path(get, path = "/api/v1/checklists/overdue", params(OverdueQuery), responses((status = 200, body = OverdueReport)))]
async fn overdue(State(s): State<AppState>, u: ApiUser, Query(q): Query<OverdueQuery>) -> ApiResult<Json<OverdueReport>> {
    Ok(Json(s.app.checklist_overdue(&u.user, q.as_of, q.since).await.map_err(|e| from_app_error(e, u.lang))?))
}

/// The checklist settings in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct SettingsDocument {
    /// Send back with a change; 0 while the defaults apply.
    pub version: i64,
    #[serde(flatten)]
    pub settings: ChecklistSettings,
    pub updated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub updated_by: Option<i64>,
    /// Whether the caller may change them (the system administrator).
    pub editable: bool,
}

/// A change: the whole settings document, based on `version`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SettingsUpdate {
    pub version: i64,
    #[serde(flatten)]
    pub settings: ChecklistSettings,
}

fn document(e: EffectiveChecklists, editable: bool) -> SettingsDocument {
    SettingsDocument { version: e.version, settings: e.settings, updated_at: e.updated_at, updated_by: e.updated_by, editable }
}

/// The checklists, the default deadline (working days) and the holiday calendar (holidays and
/// adjusted working days, 调休). System administrator, auditor, general manager, archivist.
#[utoipa::path(get, path = "/api/v1/checklists/settings", responses((status = 200, body = SettingsDocument), (status = 403, body = Problem)))]
async fn get_settings(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<SettingsDocument>> {
    let e = s.app.checklist_settings_view(&u.user).await.map_err(|e| from_app_error(e, u.lang))?;
    Ok(Json(document(e, dangan_app::checklists::may_edit_settings(&u.user))))
}

/// Replaces the checklist settings (system administrator only); one `checklist.settings` audit
/// record with before and after.
#[utoipa::path(put, path = "/api/v1/checklists/settings", request_body = SettingsUpdate,
    responses((status = 200, body = SettingsDocument), (status = 403, body = Problem), (status = 409, body = Problem, description = "changed meanwhile: reload"), (status = 422, body = Problem)))]
async fn put_settings(State(s): State<AppState>, u: ApiUser, Json(b): Json<SettingsUpdate>) -> ApiResult<Json<SettingsDocument>> {
    let e = s.app.update_checklist_settings(&u.user, b.version, b.settings).await.map_err(|e| from_app_error(e, u.lang))?;
    Ok(Json(document(e, true)))
}
