//! JSON REST API under `/api/v1`, and its OpenAPI 3 document at `/api/openapi.json`,
//! generated from these handlers and the core types.

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use dangan_app::store::{ArchiveFilter, SessionKind, SortOrder};
use dangan_app::AppError;
use dangan_core::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::problem::{from_app_error, Problem};
use crate::{ApiUser, AppState};

type ApiResult<T> = Result<T, Response>;

fn fail(lang: &str) -> impl Fn(AppError) -> Response + '_ {
    move |e| from_app_error(e, lang)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi_json))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/me", get(me))
        .route("/api/v1/tokens", post(create_token))
        .route("/api/v1/archives", get(list_archives).post(create_archive))
        .route("/api/v1/archives/by-number/{archive_no}", get(get_archive_by_no))
        .route("/api/v1/archives/{id}", get(get_archive).put(update_archive))
        .route("/api/v1/archives/{id}/versions", get(list_versions))
        .route("/api/v1/archives/{id}/merge", post(merge_archive))
        .route("/api/v1/duplicates", get(duplicate_scan))
        .route("/api/v1/duplicates/check", post(check_duplicates))
        .route("/api/v1/archives/{id}/contacts", get(list_contacts).post(add_contact))
        .route("/api/v1/archives/{id}/contacts/{contact_id}", put(update_contact))
        .route("/api/v1/archives/{id}/entries", get(list_entries).post(add_entry))
        .route("/api/v1/archives/{id}/attachments", get(list_attachments).post(upload_attachment))
        .route("/api/v1/attachments/{id}/content", get(download_attachment))
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{id}", put(update_user))
        .route("/api/v1/departments", get(list_departments).post(create_department))
        .route("/api/v1/templates", get(list_templates))
        .route("/api/v1/archives/{id}/access-requests", post(request_access))
        .route("/api/v1/access-requests", get(list_requests))
        .route("/api/v1/access-requests/{id}", get(get_request))
        .route("/api/v1/access-requests/{id}/decision", post(decide_request))
        .route("/api/v1/access-requests/{id}/cancel", post(cancel_request))
        .route("/api/v1/grants", get(my_grants))
        .route("/api/v1/loans", get(list_loans).post(lend))
        .route("/api/v1/loans/{id}", get(get_loan))
        .route("/api/v1/loans/{id}/return", post(return_loan))
        .route("/api/v1/reminders/overdue-loans", get(overdue_loans))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Dangan API", description = "客户档案管理系统 — customer archive management. Authenticate with `POST /api/v1/auth/login` and send the token as `Authorization: Bearer <token>`. Errors are RFC 9457 problem documents."),
    paths(
        login, logout, me, create_token, list_archives, create_archive, get_archive, get_archive_by_no, update_archive, list_versions,
        list_contacts, add_contact, update_contact, list_entries, add_entry, list_attachments, upload_attachment, download_attachment,
        list_users, create_user, update_user, list_departments, create_department, list_templates,
        request_access, list_requests, get_request, decide_request, cancel_request, my_grants,
        lend, list_loans, get_loan, return_loan, overdue_loans, merge_archive, duplicate_scan, check_duplicates
    ),
    components(schemas(
        Problem, crate::problem::FieldProblem, LoginRequest, LoginResponse, TokenRequest, ArchivePage, UpdateArchive, Archive, ArchiveData, ArchiveSummary,
        Contact, ContactData, TimelineEntry, EntryData, EntryDetails, Attachment, User, Department, NewUserRequest, NewDepartmentRequest, VersionView,
        AccessRequestBody, DecisionBody, LendBody, ReturnBody, UpdateUserRequest, CreateArchive, MergeBody, MergeResult, PairPageView, PairView,
        CheckBody, dangan_app::dedup::DuplicateCheck, dangan_app::dedup::Candidate, crate::problem::CandidateProblem, dangan_core::dedup::Reason
    )),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;
impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// The OpenAPI document, for logged-in users (only the login page and /healthz are public).
/// Built once: it does not change while the server runs.
async fn openapi_json(_u: ApiUser) -> impl IntoResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.merge(crate::audit_api::AuditDoc::openapi());
        doc.merge(crate::import_api::ImportDoc::openapi());
        doc.merge(crate::search_ui::SearchApiDoc::openapi());
        doc.merge(crate::policy_api::PolicyDoc::openapi());
        doc.merge(crate::lifecycle_ui::LifecycleDoc::openapi());
        doc.merge(crate::backup_ui::BackupApiDoc::openapi());
        doc.merge(crate::checklist_api::ChecklistDoc::openapi());
        doc.merge(crate::retention_api::RetentionApiDoc::openapi());
        doc.to_json().expect("OpenAPI document serializes")
    });
    ([(header::CONTENT_TYPE, "application/json")], doc.as_str())
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    pub user: User,
}

/// Logs in and returns a bearer token.
#[utoipa::path(post, path = "/api/v1/auth/login", request_body = LoginRequest, security(),
    responses((status = 200, body = LoginResponse), (status = 401, body = Problem), (status = 429, body = Problem, description = "locked after repeated failures")))]
async fn login(State(s): State<AppState>, headers: HeaderMap, client: crate::Client, Json(req): Json<LoginRequest>) -> ApiResult<Json<LoginResponse>> {
    let lang = crate::request_lang(&headers);
    let ok = s.app.login(&req.username, &req.password, SessionKind::ApiToken, &client.0).await.map_err(fail(lang))?;
    Ok(Json(LoginResponse { token: ok.token, user: ok.user }))
}

/// Revokes the token used for this request.
#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)))]
async fn logout(State(s): State<AppState>, u: ApiUser, headers: HeaderMap) -> ApiResult<StatusCode> {
    if let Some(t) = crate::request_token(&headers) {
        s.app.logout(&t, &u.user.client).await.map_err(fail(u.lang))?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The current user.
#[utoipa::path(get, path = "/api/v1/me", responses((status = 200, body = User), (status = 401, body = Problem)))]
async fn me(u: ApiUser) -> Json<User> {
    Json(u.user.user)
}

#[derive(Deserialize, ToSchema)]
pub struct TokenRequest {
    /// What the token is for, e.g. "nightly export".
    pub name: String,
}

/// Issues a named bearer token for scripts.
#[utoipa::path(post, path = "/api/v1/tokens", request_body = TokenRequest, responses((status = 201, body = LoginResponse)))]
async fn create_token(State(s): State<AppState>, u: ApiUser, Json(req): Json<TokenRequest>) -> ApiResult<(StatusCode, Json<LoginResponse>)> {
    let token = s.app.create_api_token(&u.user, &req.name).await.map_err(fail(u.lang))?;
    Ok((StatusCode::CREATED, Json(LoginResponse { token, user: u.user.user })))
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    pub kind: Option<CustomerKind>,
    pub grade: Option<Grade>,
    pub credit_grade: Option<Grade>,
    pub blacklisted: Option<bool>,
    pub status: Option<ArchiveStatus>,
    pub industry: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub owner_id: Option<i64>,
    pub dept_id: Option<i64>,
    pub tier: Option<Tier>,
    pub secrecy: Option<Secrecy>,
    /// Archive number prefix.
    pub number: Option<String>,
    /// Name fragment.
    pub q: Option<String>,
    /// `created_desc` (default), `created_asc`, `updated_desc`, `updated_asc` (longest unchanged first).
    pub sort: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
    /// Also return the total count of matching archives.
    pub count: Option<bool>,
}

impl ListParams {
    pub fn filter(&self) -> ArchiveFilter {
        let nonempty = |s: &Option<String>| s.as_ref().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        ArchiveFilter {
            kind: self.kind,
            grade: self.grade,
            credit_grade: self.credit_grade,
            blacklisted: self.blacklisted,
            status: self.status,
            industry: nonempty(&self.industry),
            province: nonempty(&self.province),
            city: nonempty(&self.city),
            owner_id: self.owner_id,
            dept_id: self.dept_id,
            tier: self.tier,
            secrecy: self.secrecy,
            number_prefix: nonempty(&self.number),
            name_contains: nonempty(&self.q),
            updated_from: None,
            updated_to: None,
            dept_ids: Vec::new(),
            unowned: false,
            scope: None,
        }
    }
    pub fn sort(&self) -> Result<SortOrder, AppError> {
        match self.sort.as_deref().unwrap_or("") {
            "" | "created_desc" => Ok(SortOrder::CreatedDesc),
            "created_asc" => Ok(SortOrder::CreatedAsc),
            "updated_desc" => Ok(SortOrder::UpdatedDesc),
            "updated_asc" => Ok(SortOrder::UpdatedAsc),
            other => Err(AppError::BadRequest(format!("unknown sort {other:?}"))),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ArchivePage {
    pub items: Vec<ArchiveSummary>,
    pub next_cursor: Option<String>,
    pub total: Option<i64>,
}

/// Lists archives with filters and keyset pagination.
#[utoipa::path(get, path = "/api/v1/archives", params(ListParams), responses((status = 200, body = ArchivePage), (status = 400, body = Problem)))]
async fn list_archives(State(s): State<AppState>, u: ApiUser, Query(p): Query<ListParams>) -> ApiResult<Json<ArchivePage>> {
    let sort = p.sort().map_err(fail(u.lang))?;
    let page = s.app.list_archives(&u.user, p.filter(), sort, p.cursor.as_deref(), p.limit.unwrap_or(50), p.count.unwrap_or(false)).await.map_err(fail(u.lang))?;
    Ok(Json(ArchivePage { items: page.items, next_cursor: page.next_cursor, total: page.total }))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateArchive {
    #[serde(flatten)]
    pub data: ArchiveData,
    /// Create even though the duplicate check (查重) found candidates (recorded in the audit trail).
    #[serde(default)]
    pub confirm_duplicates: bool,
}

/// Creates an archive; its number is assigned from the numbering scheme. The duplicate check
/// runs first: with candidates and without `confirm_duplicates: true` nothing is saved and the
/// answer is 409 `possible-duplicates` with the candidates the user may see (and a count of the others).
#[utoipa::path(post, path = "/api/v1/archives", request_body = CreateArchive,
    responses((status = 201, body = Archive), (status = 409, body = Problem, description = "possible duplicates; nothing was saved"), (status = 422, body = Problem, description = "validation errors per field")))]
async fn create_archive(State(s): State<AppState>, u: ApiUser, Json(req): Json<CreateArchive>) -> ApiResult<Response> {
    let a = s.app.create_archive_checked(&u.user, req.data, req.confirm_duplicates).await.map_err(fail(u.lang))?;
    Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/archives/{}", a.id))], Json(a)).into_response())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UnmaskParam {
    /// Show ID numbers, phones, emails and addresses in clear (needs the permission or a grant;
    /// recorded). Masked (138****1234) by default.
    pub unmasked: Option<bool>,
}

/// One archive; sensitive fields masked unless `unmasked=true` is asked for and allowed.
#[utoipa::path(get, path = "/api/v1/archives/{id}", params(("id" = i64, Path), UnmaskParam), responses((status = 200, body = Archive), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_archive(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Query(q): Query<UnmaskParam>) -> ApiResult<Json<Archive>> {
    let a = if q.unmasked.unwrap_or(false) { s.app.get_archive_unmasked(&u.user, id).await } else { s.app.get_archive(&u.user, id).await };
    Ok(Json(a.map_err(fail(u.lang))?))
}

/// One archive by its number (档号).
#[utoipa::path(get, path = "/api/v1/archives/by-number/{archive_no}", params(("archive_no" = String, Path)), responses((status = 200, body = Archive), (status = 404, body = Problem)))]
async fn get_archive_by_no(State(s): State<AppState>, u: ApiUser, Path(no): Path<String>) -> ApiResult<Json<Archive>> {
    Ok(Json(s.app.get_archive_by_no(&u.user, &no).await.map_err(fail(u.lang))?))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateArchive {
    /// The version the change is based on; a stale version is refused with 409.
    pub version: i64,
    /// Why (kept in the version history).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(flatten)]
    pub data: ArchiveData,
    /// Save even though the edit makes the archive look like others (duplicate check).
    #[serde(default)]
    pub confirm_duplicates: bool,
}

/// Replaces the archive's data as a new version.
#[utoipa::path(put, path = "/api/v1/archives/{id}", params(("id" = i64, Path)), request_body = UpdateArchive,
    responses((status = 200, body = Archive), (status = 409, body = Problem, description = "stale version, or possible duplicates (`possible-duplicates`); nothing was written"), (status = 422, body = Problem)))]
async fn update_archive(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(req): Json<UpdateArchive>) -> ApiResult<Json<Archive>> {
    Ok(Json(s.app.update_archive_checked(&u.user, id, req.version, req.data, req.reason, req.confirm_duplicates).await.map_err(fail(u.lang))?))
}

#[derive(Deserialize, ToSchema)]
pub struct CheckBody {
    #[serde(flatten)]
    pub data: ArchiveData,
    #[serde(default)]
    pub contacts: Vec<ContactData>,
    /// The archive being edited (left out of the candidates).
    #[serde(default)]
    pub exclude: Option<i64>,
}

/// The duplicate check alone (nothing is saved): candidates the user may see, with reasons, and
/// how many others there are.
#[utoipa::path(post, path = "/api/v1/duplicates/check", request_body = CheckBody, responses((status = 200, body = dangan_app::dedup::DuplicateCheck)))]
async fn check_duplicates(State(s): State<AppState>, u: ApiUser, Json(req): Json<CheckBody>) -> ApiResult<Json<dangan_app::dedup::DuplicateCheck>> {
    Ok(Json(s.app.check_duplicates(&u.user, &req.data, &req.contacts, req.exclude).await.map_err(fail(u.lang))?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PairParams {
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct PairView {
    pub left: ArchiveSummary,
    pub right: ArchiveSummary,
    pub score: u8,
    pub reasons: Vec<dangan_core::dedup::Reason>,
    /// The reasons in the request's language.
    pub reason_labels: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PairPageView {
    pub items: Vec<PairView>,
    pub next_cursor: Option<String>,
}

/// The duplicate scan (查重) over the whole base, for the archivist and the general manager:
/// pairs of archives that may be the same customer, highest score first, keyset-paged.
#[utoipa::path(get, path = "/api/v1/duplicates", params(PairParams), responses((status = 200, body = PairPageView), (status = 403, body = Problem)))]
async fn duplicate_scan(State(s): State<AppState>, u: ApiUser, Query(p): Query<PairParams>) -> ApiResult<Json<PairPageView>> {
    let page = s.app.duplicate_scan(&u.user, p.cursor.as_deref(), p.limit.unwrap_or(50)).await.map_err(fail(u.lang))?;
    Ok(Json(PairPageView {
        items: page
            .items
            .into_iter()
            .map(|x| PairView { reason_labels: x.reasons.iter().map(|r| r.label(u.lang).to_string()).collect(), left: x.left, right: x.right, score: x.score, reasons: x.reasons })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct MergeBody {
    /// The archive merged into this one (it becomes a tombstone; its number resolves here).
    pub merged_id: i64,
    /// Why (kept in the version history and the audit trail).
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct MergeResult {
    /// The survivor at its new version.
    pub archive: Archive,
    pub merged_no: String,
    pub moved_contacts: u64,
    pub moved_entries: u64,
    pub moved_attachments: u64,
}

/// Merges another archive into this one (合并): the survivor keeps its number and gets a new
/// version (its own values, empty fields filled from the other, the stricter secrecy and tier);
/// the other's contacts, timeline and attachments move over; the other becomes a tombstone whose
/// number resolves to the survivor. Needs the right to edit both.
#[utoipa::path(post, path = "/api/v1/archives/{id}/merge", params(("id" = i64, Path)), request_body = MergeBody,
    responses((status = 200, body = MergeResult), (status = 400, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn merge_archive(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(req): Json<MergeBody>) -> ApiResult<Json<MergeResult>> {
    let m = s.app.merge_archives(&u.user, id, req.merged_id, &req.reason).await.map_err(fail(u.lang))?;
    Ok(Json(MergeResult { archive: m.archive, merged_no: m.merged_no, moved_contacts: m.moved_contacts, moved_entries: m.moved_entries, moved_attachments: m.moved_attachments }))
}

#[derive(Serialize, ToSchema)]
pub struct VersionView {
    pub version: i64,
    pub data: ArchiveData,
    pub changed_by: i64,
    pub changed_at: chrono::DateTime<chrono::Utc>,
    pub reason: Option<String>,
}

/// Every version of the archive, oldest first.
#[utoipa::path(get, path = "/api/v1/archives/{id}/versions", params(("id" = i64, Path)), responses((status = 200, body = [VersionView])))]
async fn list_versions(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<Vec<VersionView>>> {
    let v = s.app.versions(&u.user, id).await.map_err(fail(u.lang))?;
    Ok(Json(v.into_iter().map(|r| VersionView { version: r.version, data: r.data, changed_by: r.changed_by, changed_at: r.changed_at, reason: r.reason }).collect()))
}

/// The archive's contacts (masked unless `unmasked=true` is asked for and allowed).
#[utoipa::path(get, path = "/api/v1/archives/{id}/contacts", params(("id" = i64, Path), UnmaskParam), responses((status = 200, body = [Contact])))]
async fn list_contacts(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Query(q): Query<UnmaskParam>) -> ApiResult<Json<Vec<Contact>>> {
    Ok(Json(s.app.view_archive(&u.user, id, q.unmasked.unwrap_or(false)).await.map_err(fail(u.lang))?.contacts))
}

/// Adds a contact.
#[utoipa::path(post, path = "/api/v1/archives/{id}/contacts", params(("id" = i64, Path)), request_body = ContactData, responses((status = 201, body = Contact), (status = 422, body = Problem)))]
async fn add_contact(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(c): Json<ContactData>) -> ApiResult<(StatusCode, Json<Contact>)> {
    Ok((StatusCode::CREATED, Json(s.app.add_contact(&u.user, id, c).await.map_err(fail(u.lang))?)))
}

/// Changes a contact.
#[utoipa::path(put, path = "/api/v1/archives/{id}/contacts/{contact_id}", params(("id" = i64, Path), ("contact_id" = i64, Path)), request_body = ContactData,
    responses((status = 200, body = Contact), (status = 422, body = Problem)))]
async fn update_contact(State(s): State<AppState>, u: ApiUser, Path((id, cid)): Path<(i64, i64)>, Json(c): Json<ContactData>) -> ApiResult<Json<Contact>> {
    Ok(Json(s.app.update_contact(&u.user, id, cid, c).await.map_err(fail(u.lang))?))
}

/// The timeline, newest first; corrected entries carry `superseded_by`.
#[utoipa::path(get, path = "/api/v1/archives/{id}/entries", params(("id" = i64, Path)), responses((status = 200, body = [TimelineEntry])))]
async fn list_entries(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<Vec<TimelineEntry>>> {
    Ok(Json(s.app.view_archive(&u.user, id, false).await.map_err(fail(u.lang))?.entries))
}

/// Appends a timeline entry. To correct an entry, name it in `supersedes` and give a `correction_reason`.
#[utoipa::path(post, path = "/api/v1/archives/{id}/entries", params(("id" = i64, Path)), request_body = EntryData,
    responses((status = 201, body = TimelineEntry), (status = 422, body = Problem)))]
async fn add_entry(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(e): Json<EntryData>) -> ApiResult<(StatusCode, Json<TimelineEntry>)> {
    Ok((StatusCode::CREATED, Json(s.app.add_entry(&u.user, id, e).await.map_err(fail(u.lang))?)))
}

/// The archive's attachments (metadata).
#[utoipa::path(get, path = "/api/v1/archives/{id}/attachments", params(("id" = i64, Path)), responses((status = 200, body = [Attachment])))]
async fn list_attachments(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<Vec<Attachment>>> {
    Ok(Json(s.app.view_archive(&u.user, id, false).await.map_err(fail(u.lang))?.attachments))
}

/// Uploads an attachment as multipart field `file`.
#[utoipa::path(post, path = "/api/v1/archives/{id}/attachments", params(("id" = i64, Path)), request_body(content_type = "multipart/form-data"),
    responses((status = 201, body = Attachment), (status = 413, body = Problem), (status = 415, body = Problem)))]
async fn upload_attachment(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, multipart: Multipart) -> ApiResult<(StatusCode, Json<Attachment>)> {
    let (name, bytes) = read_file_field(multipart).await.map_err(fail(u.lang))?;
    Ok((StatusCode::CREATED, Json(s.app.add_attachment(&u.user, id, &name, bytes.to_vec()).await.map_err(fail(u.lang))?)))
}

/// The `file` field of a multipart body: (filename, bytes).
pub async fn read_file_field(mut multipart: Multipart) -> Result<(String, Bytes), AppError> {
    while let Some(field) = multipart.next_field().await.map_err(|e| AppError::BadRequest(e.to_string()))? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("attachment").to_string();
            let bytes = field.bytes().await.map_err(|e| AppError::BadRequest(e.to_string()))?;
            return Ok((name, bytes));
        }
    }
    Err(AppError::BadRequest("multipart field `file` is missing".into()))
}

/// Downloads an attachment's content.
#[utoipa::path(get, path = "/api/v1/attachments/{id}/content", params(("id" = i64, Path)), responses((status = 200, content_type = "application/octet-stream"), (status = 404, body = Problem)))]
async fn download_attachment(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Response> {
    let (att, bytes) = s.app.open_attachment(&u.user, id).await.map_err(fail(u.lang))?;
    Ok(attachment_response(&att, bytes))
}

pub fn attachment_response(att: &Attachment, bytes: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"download\"; filename*=UTF-8''{}", urlencoding::encode(&att.filename));
    ([(header::CONTENT_TYPE, att.content_type.clone()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response()
}

/// All users.
#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = [User])))]
async fn list_users(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(s.app.users().await.map_err(fail(u.lang))?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewUserRequest {
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    pub password: Option<String>,
    pub dept_id: Option<i64>,
    #[serde(default)]
    pub roles: Vec<Role>,
}

/// Creates a user (system administrators only).
#[utoipa::path(post, path = "/api/v1/users", request_body = NewUserRequest, responses((status = 201, body = User), (status = 403, body = Problem)))]
async fn create_user(State(s): State<AppState>, u: ApiUser, Json(req): Json<NewUserRequest>) -> ApiResult<(StatusCode, Json<User>)> {
    if !u.user.has_role(Role::SystemAdmin) {
        return Err(from_app_error(AppError::Forbidden, u.lang));
    }
    let user = s.app.add_user(Some(&u.user), &req.username, &req.display_name, req.password.as_deref(), req.dept_id, req.roles).await.map_err(fail(u.lang))?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateUserRequest {
    pub display_name: String,
    pub dept_id: Option<i64>,
    pub roles: Vec<Role>,
    pub active: bool,
}

/// Changes a user's name, department, roles and active flag (system administrators only;
/// audited with before and after; a disabled user's sessions stop at once).
#[utoipa::path(put, path = "/api/v1/users/{id}", params(("id" = i64, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = User), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn update_user(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(req): Json<UpdateUserRequest>) -> ApiResult<Json<User>> {
    let update = dangan_app::store::UserUpdate { display_name: req.display_name, dept_id: req.dept_id, roles: req.roles, active: req.active };
    Ok(Json(s.app.update_user(&u.user, id, update).await.map_err(fail(u.lang))?))
}

/// The department tree as a flat list (parent ids).
#[utoipa::path(get, path = "/api/v1/departments", responses((status = 200, body = [Department])))]
async fn list_departments(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<Department>>> {
    Ok(Json(s.app.departments().await.map_err(fail(u.lang))?))
}

#[derive(Deserialize, ToSchema)]
pub struct NewDepartmentRequest {
    pub name: String,
    /// Short code used in archive numbers.
    pub code: String,
    pub parent_id: Option<i64>,
}

/// Creates a department (system administrators only).
#[utoipa::path(post, path = "/api/v1/departments", request_body = NewDepartmentRequest, responses((status = 201, body = Department), (status = 403, body = Problem)))]
async fn create_department(State(s): State<AppState>, u: ApiUser, Json(req): Json<NewDepartmentRequest>) -> ApiResult<(StatusCode, Json<Department>)> {
    if !u.user.has_role(Role::SystemAdmin) {
        return Err(from_app_error(AppError::Forbidden, u.lang));
    }
    let d = s.app.add_department(Some(&u.user), &req.name, &req.code, req.parent_id).await.map_err(fail(u.lang))?;
    Ok((StatusCode::CREATED, Json(d)))
}

/// Industry templates: the typed custom fields an archive may carry when it names a template.
#[utoipa::path(get, path = "/api/v1/templates", responses((status = 200, description = "templates with their fields (key, labels, type, required)")))]
async fn list_templates(_u: ApiUser) -> Json<&'static [dangan_core::templates::IndustryTemplate]> {
    Json(dangan_core::templates::TEMPLATES)
}

#[derive(Deserialize, ToSchema)]
pub struct AccessRequestBody {
    /// 查阅用途 — required.
    pub purpose: String,
    /// Sections wanted (基本信息, 联系人, 信用, 往来记录, 附件); empty for all.
    #[serde(default)]
    pub sections: Vec<String>,
    /// Actions wanted besides reading: read_unmasked, print, export, download_attachment.
    #[serde(default)]
    pub actions: Vec<String>,
    /// How long, in hours (capped: 4 h for 秘密 archives by default).
    #[serde(default = "default_hours")]
    pub hours: i64,
}

fn default_hours() -> i64 {
    4
}

/// Files a request to view an archive (查阅申请); it goes through the approval chain.
#[utoipa::path(post, path = "/api/v1/archives/{id}/access-requests", params(("id" = i64, Path)), request_body = AccessRequestBody,
    responses((status = 201, description = "the request, pending at its first approval step"), (status = 422, body = Problem)))]
async fn request_access(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<AccessRequestBody>) -> ApiResult<(StatusCode, Json<dangan_app::store::AccessRequest>)> {
    let mut actions = Vec::new();
    for a in &b.actions {
        actions.push(dangan_core::policy::Action::parse(a).ok_or_else(|| from_app_error(AppError::BadRequest(format!("unknown action {a:?}")), u.lang))?);
    }
    let r = s.app.request_access(&u.user, id, &b.purpose, b.sections, actions, b.hours).await.map_err(fail(u.lang))?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Deserialize, IntoParams)]
pub struct RequestListParams {
    /// `mine` (default): my requests; `inbox`: requests waiting for my decision.
    pub view: Option<String>,
}

/// My requests, or my approval inbox (审批待办).
#[utoipa::path(get, path = "/api/v1/access-requests", params(RequestListParams), responses((status = 200, description = "requests with their decisions")))]
async fn list_requests(State(s): State<AppState>, u: ApiUser, Query(q): Query<RequestListParams>) -> ApiResult<Json<Vec<dangan_app::access::RequestView>>> {
    let list = match q.view.as_deref().unwrap_or("mine") {
        "inbox" => s.app.approval_inbox(&u.user).await,
        "mine" => s.app.my_requests(&u.user).await,
        other => Err(AppError::BadRequest(format!("unknown view {other:?} (mine or inbox)"))),
    };
    Ok(Json(list.map_err(fail(u.lang))?))
}

/// One request with its decisions (requester, approvers and the archivist).
#[utoipa::path(get, path = "/api/v1/access-requests/{id}", params(("id" = i64, Path)), responses((status = 200, description = "the request"), (status = 404, body = Problem)))]
async fn get_request(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<dangan_app::access::RequestView>> {
    Ok(Json(s.app.get_request(&u.user, id).await.map_err(fail(u.lang))?))
}

#[derive(Deserialize, ToSchema)]
pub struct DecisionBody {
    pub approve: bool,
    /// Required when rejecting.
    #[serde(default)]
    pub comment: String,
}

/// Approves or rejects the request's current step; the last approval creates the grant.
#[utoipa::path(post, path = "/api/v1/access-requests/{id}/decision", params(("id" = i64, Path)), request_body = DecisionBody,
    responses((status = 200, description = "the request after the decision"), (status = 403, body = Problem), (status = 409, body = Problem, description = "someone decided this step first")))]
async fn decide_request(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<DecisionBody>) -> ApiResult<Json<dangan_app::store::AccessRequest>> {
    Ok(Json(s.app.decide_request(&u.user, id, b.approve, &b.comment).await.map_err(fail(u.lang))?))
}

/// Withdraws my pending request.
#[utoipa::path(post, path = "/api/v1/access-requests/{id}/cancel", params(("id" = i64, Path)), responses((status = 200, description = "the cancelled request")))]
async fn cancel_request(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<dangan_app::store::AccessRequest>> {
    Ok(Json(s.app.cancel_request(&u.user, id).await.map_err(fail(u.lang))?))
}

/// My active grants (time-limited, not transferable), soonest to expire first.
#[utoipa::path(get, path = "/api/v1/grants", responses((status = 200, description = "active grants")))]
async fn my_grants(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<dangan_app::store::Grant>>> {
    Ok(Json(s.app.my_grants(&u.user).await.map_err(fail(u.lang))?))
}

#[derive(Deserialize, ToSchema)]
pub struct LendBody {
    pub archive_id: i64,
    /// The borrower (an active user); fixed for the life of the loan (不得转借).
    pub borrower_id: i64,
    /// `paper` (原件) or `electronic` (电子授权).
    pub kind: String,
    /// 借阅用途
    pub purpose: String,
    /// 应还日期
    pub due_at: chrono::DateTime<chrono::Utc>,
    /// For an electronic loan: the borrower's active grant on the archive, if any.
    #[serde(default)]
    pub grant_id: Option<i64>,
}

/// Records a loan in the borrowing register (借阅登记); archivist only.
#[utoipa::path(post, path = "/api/v1/loans", request_body = LendBody,
    responses((status = 201, description = "the loan"), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn lend(State(s): State<AppState>, u: ApiUser, Json(b): Json<LendBody>) -> ApiResult<(StatusCode, Json<dangan_app::loans::LoanView>)> {
    let kind = dangan_app::store::LoanKind::parse(&b.kind)
        .ok_or_else(|| from_app_error(AppError::BadRequest(format!("unknown loan kind {:?} (paper or electronic)", b.kind)), u.lang))?;
    let loan = s.app.lend(&u.user, b.archive_id, b.borrower_id, kind, &b.purpose, b.due_at, b.grant_id).await.map_err(fail(u.lang))?;
    Ok((StatusCode::CREATED, Json(loan)))
}

#[derive(Deserialize, IntoParams)]
pub struct LoanListParams {
    /// Only loans not yet returned.
    #[serde(default)]
    pub open: bool,
}

/// The borrowing register: all loans for the archivist, one's own for anyone else; soonest due first.
#[utoipa::path(get, path = "/api/v1/loans", params(LoanListParams), responses((status = 200, description = "loans, each with `overdue` and `flag_incomplete`")))]
async fn list_loans(State(s): State<AppState>, u: ApiUser, Query(q): Query<LoanListParams>) -> ApiResult<Json<Vec<dangan_app::loans::LoanView>>> {
    Ok(Json(s.app.loans(&u.user, q.open).await.map_err(fail(u.lang))?))
}

/// One loan (its borrower and the archivist).
#[utoipa::path(get, path = "/api/v1/loans/{id}", params(("id" = i64, Path)), responses((status = 200, description = "the loan"), (status = 404, body = Problem)))]
async fn get_loan(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<dangan_app::loans::LoanView>> {
    Ok(Json(s.app.get_loan(&u.user, id).await.map_err(fail(u.lang))?))
}

#[derive(Deserialize, ToSchema)]
pub struct ReturnBody {
    /// Returned complete (完好归还); an incomplete return is flagged.
    pub complete: bool,
    #[serde(default)]
    pub note: String,
}

/// Checks a loan back in (archivist only).
#[utoipa::path(post, path = "/api/v1/loans/{id}/return", params(("id" = i64, Path)), request_body = ReturnBody,
    responses((status = 200, description = "the returned loan"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem, description = "already returned")))]
async fn return_loan(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, Json(b): Json<ReturnBody>) -> ApiResult<Json<dangan_app::loans::LoanView>> {
    Ok(Json(s.app.return_loan(&u.user, id, b.complete, &b.note).await.map_err(fail(u.lang))?))
}

/// Reminders of overdue loans (催还) for me: level 1 to the borrower; level 2 (over 3 days) also to the archivist and the borrower's department managers.
#[utoipa::path(get, path = "/api/v1/reminders/overdue-loans", responses((status = 200, description = "reminders: `loan`, `level`, `days_overdue`")))]
async fn overdue_loans(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<dangan_app::loans::LoanReminder>>> {
    Ok(Json(s.app.overdue_reminders(&u.user, chrono::Utc::now()).await.map_err(fail(u.lang))?))
}
