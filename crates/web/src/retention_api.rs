//! Retention, destruction and personal-information requests over HTTP (issue 7). Rules, who
//! may do what and the audit records are `dangan_app::retention`'s; a refusal by a rule (legal
//! hold, not due, decided meanwhile) is 409 with a problem type naming it.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use dangan_app::retention::{DestructionInput, PiplInput};
use dangan_app::store::{Consent, DestructionDecision, DestructionItem, DestructionRequest, DueArchive, LegalHold, PiplRequest, RetentionInfo};
use dangan_core::retention::{ConsentData, DestructionStatus, DestructionStep, PiplKind, PiplStatus};
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
        .route("/api/v1/retention/due", get(due_list))
        .route("/api/v1/archives/{id}/retention", get(retention_info))
        .route("/api/v1/archives/{id}/legal-hold", post(legal_hold))
        .route("/api/v1/archives/{id}/closed-on", post(closed_on))
        .route("/api/v1/destructions", get(list_destructions).post(request_destruction))
        .route("/api/v1/destructions/{id}", get(get_destruction))
        .route("/api/v1/destructions/{id}/decision", post(decide))
        .route("/api/v1/destructions/{id}/cancel", post(cancel))
        .route("/api/v1/destructions/{id}/witness", post(witness))
        .route("/api/v1/destructions/{id}/register.pdf", get(register_pdf))
        .route("/api/v1/archives/{id}/consents", get(list_consents).post(add_consent))
        .route("/api/v1/consents/{id}/withdraw", post(withdraw_consent))
        .route("/api/v1/pipl-requests", get(list_pipl).post(create_pipl))
        .route("/api/v1/pipl-requests/{id}", get(get_pipl))
        .route("/api/v1/pipl-requests/{id}/answer", post(answer_pipl))
        .route("/api/v1/pipl-requests/{id}/keep", post(keep_pipl))
        .route("/api/v1/pipl-requests/{id}/delete", post(delete_pipl))
        .route("/api/v1/pipl-requests/{id}/copy", get(copy_pipl))
}

#[derive(OpenApi)]
#[openapi(
    paths(due_list, retention_info, legal_hold, closed_on, list_destructions, request_destruction, get_destruction, decide, cancel, witness, register_pdf,
        list_consents, add_consent, withdraw_consent, list_pipl, create_pipl, get_pipl, answer_pipl, keep_pipl, delete_pipl, copy_pipl),
    components(schemas(DuePage, DueArchive, RetentionInfo, LegalHold, HoldBody, ClosedOnBody, DestructionInput, DestructionRequest, DestructionItem, DestructionDecision,
        DestructionStatus, DestructionStep, DecisionBody, ConsentData, Consent, WithdrawBody, PiplInput, PiplRequest, PiplKind, PiplStatus, AnswerBody, KeepBody, WitnessBody))
)]
pub struct RetentionApiDoc;

#[derive(Debug, Deserialize, IntoParams)]
pub struct DueParams {
    /// The day to judge by (default today, China time): a later day previews what falls due.
    pub today: Option<NaiveDate>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: Option<u32>,
}

/// One page of the disposal-due list.
#[derive(Debug, Serialize, ToSchema)]
pub struct DuePage {
    pub items: Vec<DueArchive>,
    pub next_cursor: Option<String>,
}

fn decode_cursor(s: &str) -> Option<(NaiveDate, i64)> {
    let (d, id) = s.split_once('.')?;
    Some((d.parse().ok()?, id.parse().ok()?))
}

/// 到期待处置: closed archives past their retention, not permanent, not on hold, earliest due
/// first (archivist, general manager, auditor; viewing is audited).
#[utoipa::path(get, path = "/api/v1/retention/due", params(DueParams),
    responses((status = 200, body = DuePage), (status = 403, body = Problem)))]
async fn due_list(State(s): State<AppState>, u: ApiUser, Query(q): Query<DueParams>) -> ApiResult<Json<DuePage>> {
    let limit = q.limit.unwrap_or(100).clamp(1, 500);
    let today = q.today.unwrap_or_else(dangan_app::retention::today);
    let items = s.app.disposal_due(&u.user, today, q.cursor.as_deref().and_then(decode_cursor), limit).await.map_err(fail(u.lang))?;
    let next_cursor = (items.len() as u32 == limit).then(|| items.last().map(|l| format!("{}.{}", l.due_on, l.archive.id))).flatten();
    Ok(Json(DuePage { items, next_cursor }))
}

/// An archive's closing date, due date, legal hold and destruction (tombstone).
#[utoipa::path(get, path = "/api/v1/archives/{id}/retention", params(("id" = i64, Path)),
    responses((status = 200, body = RetentionInfo), (status = 404, body = Problem)))]
async fn retention_info(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<RetentionInfo>> {
    Ok(Json(s.app.retention_info(&u.user, id).await.map_err(fail(u.lang))?))
}

/// Set (`hold: true`) or clear a legal hold (法律冻结), with a reason.
#[derive(Debug, Deserialize, ToSchema)]
pub struct HoldBody {
    pub hold: bool,
    pub reason: String,
}

/// Sets or clears a legal hold (archivist, general manager); audited with the reason. A held
/// archive is off the disposal-due list and cannot be destroyed.
#[utoipa::path(post, path = "/api/v1/archives/{id}/legal-hold", params(("id" = i64, Path)), request_body = HoldBody,
    responses((status = 200, body = RetentionInfo), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn legal_hold(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<HoldBody>) -> ApiResult<Json<RetentionInfo>> {
    Ok(Json(s.app.set_legal_hold(&u.user, id, b.hold, &b.reason).await.map_err(fail(u.lang))?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ClosedOnBody {
    pub closed_on: NaiveDate,
}

/// Records when a closed archive was actually closed (结档日期; archivist, general manager):
/// retention counts from it.
#[utoipa::path(post, path = "/api/v1/archives/{id}/closed-on", params(("id" = i64, Path)), request_body = ClosedOnBody,
    responses((status = 200, body = RetentionInfo), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn closed_on(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<ClosedOnBody>) -> ApiResult<Json<RetentionInfo>> {
    Ok(Json(s.app.set_closed_on(&u.user, id, b.closed_on).await.map_err(fail(u.lang))?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ListParams {
    pub status: Option<DestructionStatus>,
}

/// Destruction requests, newest first (all for archivist, general manager, auditor; the ones
/// naming the caller otherwise). Destroyed ones are the register (销毁清册).
#[utoipa::path(get, path = "/api/v1/destructions", params(ListParams), responses((status = 200, body = [DestructionRequest])))]
async fn list_destructions(State(s): State<AppState>, u: ApiUser, Query(q): Query<ListParams>) -> ApiResult<Json<Vec<DestructionRequest>>> {
    Ok(Json(s.app.destructions(&u.user, q.status).await.map_err(fail(u.lang))?))
}

/// Appraisal and destruction request (鉴定 → 销毁申请) for due archives, naming the witness
/// (监销人, not the requester). The approval chain is resolved for the requester.
#[utoipa::path(post, path = "/api/v1/destructions", request_body = DestructionInput,
    responses((status = 201, body = DestructionRequest), (status = 403, body = Problem), (status = 409, body = Problem, description = "legal hold, not due, already in a request, destroyed"), (status = 422, body = Problem)))]
async fn request_destruction(State(s): State<AppState>, u: ApiUser, Json(b): Json<DestructionInput>) -> ApiResult<(StatusCode, Json<DestructionRequest>)> {
    Ok((StatusCode::CREATED, Json(s.app.request_destruction(&u.user, b).await.map_err(fail(u.lang))?)))
}

#[utoipa::path(get, path = "/api/v1/destructions/{id}", params(("id" = i64, Path)), responses((status = 200, body = DestructionRequest), (status = 404, body = Problem)))]
async fn get_destruction(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<DestructionRequest>> {
    Ok(Json(s.app.destruction(&u.user, id).await.map_err(fail(u.lang))?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DecisionBody {
    pub approved: bool,
    #[serde(default)]
    pub comment: String,
}

/// The current step's decision (archivist, then general manager; never one's own request).
#[utoipa::path(post, path = "/api/v1/destructions/{id}/decision", params(("id" = i64, Path)), request_body = DecisionBody,
    responses((status = 200, body = DestructionRequest), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn decide(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<DecisionBody>) -> ApiResult<Json<DestructionRequest>> {
    Ok(Json(s.app.decide_destruction(&u.user, id, b.approved, &b.comment).await.map_err(fail(u.lang))?))
}

/// The requester withdraws an open request.
#[utoipa::path(post, path = "/api/v1/destructions/{id}/cancel", params(("id" = i64, Path)),
    responses((status = 200, body = DestructionRequest), (status = 403, body = Problem), (status = 409, body = Problem)))]
async fn cancel(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<DestructionRequest>> {
    Ok(Json(s.app.cancel_destruction(&u.user, id).await.map_err(fail(u.lang))?))
}

/// The named witness (监销人) confirms after the last approval, which carries the destruction
/// out: content purged (database, search index, attachment files), tombstones and the register
/// entry kept, audit trail appended.
#[utoipa::path(post, path = "/api/v1/destructions/{id}/witness", params(("id" = i64, Path)),
    responses((status = 200, body = DestructionRequest), (status = 409, body = Problem, description = "not the witness, not approved, legal hold")))]
async fn witness(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<DestructionRequest>> {
    Ok(Json(s.app.witness_destruction(&u.user, id).await.map_err(fail(u.lang))?))
}

/// The destruction register form (销毁清册) as an A4 PDF: audited, watermarked.
#[utoipa::path(get, path = "/api/v1/destructions/{id}/register.pdf", params(("id" = i64, Path)),
    responses((status = 200, description = "application/pdf"), (status = 404, body = Problem)))]
async fn register_pdf(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Response> {
    let bytes = s.app.print_destruction_register(&u.user, id).await.map_err(fail(u.lang))?;
    Ok(([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, format!("inline; filename=\"destruction-register-{id}.pdf\""))], bytes).into_response())
}

/// An archive's consent records (个人信息处理同意).
#[utoipa::path(get, path = "/api/v1/archives/{id}/consents", params(("id" = i64, Path)), responses((status = 200, body = [Consent]), (status = 404, body = Problem)))]
async fn list_consents(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<Vec<Consent>>> {
    Ok(Json(s.app.consents(&u.user, id).await.map_err(fail(u.lang))?))
}

/// Records a consent (who may edit the archive). A child under 14 needs a guardian's consent,
/// sensitive (health) data explicit consent: refused with 422 otherwise.
#[utoipa::path(post, path = "/api/v1/archives/{id}/consents", params(("id" = i64, Path)), request_body = ConsentData,
    responses((status = 201, body = Consent), (status = 422, body = Problem)))]
async fn add_consent(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<ConsentData>) -> ApiResult<(StatusCode, Json<Consent>)> {
    Ok((StatusCode::CREATED, Json(s.app.add_consent(&u.user, id, b).await.map_err(fail(u.lang))?)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct WithdrawBody {
    /// Default: today.
    pub on: Option<NaiveDate>,
}

/// Marks a consent withdrawn (the record stays).
#[utoipa::path(post, path = "/api/v1/consents/{id}/withdraw", params(("id" = i64, Path)), request_body = WithdrawBody,
    responses((status = 200, body = Consent), (status = 409, body = Problem)))]
async fn withdraw_consent(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<WithdrawBody>) -> ApiResult<Json<Consent>> {
    Ok(Json(s.app.withdraw_consent(&u.user, id, b.on).await.map_err(fail(u.lang))?))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PiplParams {
    #[serde(default)]
    pub open: bool,
    pub archive_id: Option<i64>,
}

/// Personal-information requests, soonest due first (archivist, general manager, service staff,
/// auditor).
#[utoipa::path(get, path = "/api/v1/pipl-requests", params(PiplParams), responses((status = 200, body = [PiplRequest]), (status = 403, body = Problem)))]
async fn list_pipl(State(s): State<AppState>, u: ApiUser, Query(q): Query<PiplParams>) -> ApiResult<Json<Vec<PiplRequest>>> {
    Ok(Json(s.app.pipl_requests(&u.user, q.open, q.archive_id).await.map_err(fail(u.lang))?))
}

/// Records a request by the person to see, copy, correct or delete their data; due in 30 days.
#[utoipa::path(post, path = "/api/v1/pipl-requests", request_body = PiplInput,
    responses((status = 201, body = PiplRequest), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_pipl(State(s): State<AppState>, u: ApiUser, Json(b): Json<PiplInput>) -> ApiResult<(StatusCode, Json<PiplRequest>)> {
    Ok((StatusCode::CREATED, Json(s.app.create_pipl_request(&u.user, b).await.map_err(fail(u.lang))?)))
}

#[utoipa::path(get, path = "/api/v1/pipl-requests/{id}", params(("id" = i64, Path)), responses((status = 200, body = PiplRequest), (status = 404, body = Problem)))]
async fn get_pipl(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<PiplRequest>> {
    Ok(Json(s.app.pipl_request(&u.user, id).await.map_err(fail(u.lang))?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnswerBody {
    pub resolution: String,
}

/// Closes a see / copy / correct request with how it was answered.
#[utoipa::path(post, path = "/api/v1/pipl-requests/{id}/answer", params(("id" = i64, Path)), request_body = AnswerBody,
    responses((status = 200, body = PiplRequest), (status = 409, body = Problem)))]
async fn answer_pipl(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<AnswerBody>) -> ApiResult<Json<PiplRequest>> {
    Ok(Json(s.app.answer_pipl_request(&u.user, id, &b.resolution).await.map_err(fail(u.lang))?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct KeepBody {
    pub legal_basis: String,
}

/// Refuses a deletion because a legal basis to keep the data applies (recorded).
#[utoipa::path(post, path = "/api/v1/pipl-requests/{id}/keep", params(("id" = i64, Path)), request_body = KeepBody,
    responses((status = 200, body = PiplRequest), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn keep_pipl(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<KeepBody>) -> ApiResult<Json<PiplRequest>> {
    Ok(Json(s.app.keep_pipl_request(&u.user, id, &b.legal_basis).await.map_err(fail(u.lang))?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct WitnessBody {
    pub witness_id: i64,
}

/// Carries a deletion out through the destruction machinery: files a destruction request
/// (approval chain, witness) whatever the retention period.
#[utoipa::path(post, path = "/api/v1/pipl-requests/{id}/delete", params(("id" = i64, Path)), request_body = WitnessBody,
    responses((status = 201, body = DestructionRequest), (status = 409, body = Problem)))]
async fn delete_pipl(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<WitnessBody>) -> ApiResult<(StatusCode, Json<DestructionRequest>)> {
    Ok((StatusCode::CREATED, Json(s.app.delete_for_pipl(&u.user, id, b.witness_id).await.map_err(fail(u.lang))?)))
}

/// The copy for the person: the archive package (zip), audited as an export.
#[utoipa::path(get, path = "/api/v1/pipl-requests/{id}/copy", params(("id" = i64, Path)),
    responses((status = 200, description = "application/zip"), (status = 403, body = Problem)))]
async fn copy_pipl(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Response> {
    let (bytes, name) = s.app.pipl_copy(&u.user, id).await.map_err(fail(u.lang))?;
    let disposition = format!("attachment; filename=\"package-{id}.zip\"; filename*=UTF-8''{}", urlencoding::encode(&name));
    Ok(([(header::CONTENT_TYPE, "application/zip".to_string()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}
