//! Import and export over HTTP: upload a file for a dry run, run it as a background job, follow
//! and cancel it, download the error report; export the current list or search to xlsx/CSV.
//! Rules (authorization, masking, audit) live in `dangan_app::import` / `dangan_app::export`.

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dangan_app::export::{ExportFormat, ExportRequest};
use dangan_app::import::{ImportAnalysis, ImportOptions, StagedFile};
use dangan_app::store::ImportJob;
use dangan_app::{App, AppError};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::api::ListParams;
use crate::problem::{from_app_error, Problem};
use crate::{ApiUser, AppState};

type ApiResult<T> = Result<T, Response>;

/// Largest file an import accepts over HTTP (the CLI has no limit).
pub const MAX_IMPORT_BYTES: usize = 512 * 1024 * 1024;

fn fail(lang: &str) -> impl Fn(AppError) -> Response + '_ {
    move |e| from_app_error(e, lang)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/imports", get(list_imports).post(upload_import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)))
        .route("/api/v1/imports/{id}", get(get_import))
        .route("/api/v1/imports/{id}/run", post(run_import))
        .route("/api/v1/imports/{id}/cancel", post(cancel_import))
        .route("/api/v1/imports/{id}/errors.xlsx", get(error_report))
        .route("/api/v1/archives/export", get(export_archives))
        .route("/api/v1/archives/{id}/contacts.vcf", get(export_vcards))
        .route("/api/v1/archives/{id}/package.zip", get(export_one_package))
        .route("/api/v1/packages", get(export_package).post(import_package))
}

#[derive(OpenApi)]
#[openapi(paths(upload_import, list_imports, get_import, run_import, cancel_import, error_report, export_archives, export_vcards, export_one_package, export_package, import_package), components(schemas(ImportJob, ImportAnalysis, ImportOptions, dangan_app::package::PackageImportResult)))]
pub struct ImportDoc;

/// Streams the multipart body's `file` field to the import staging area (never whole in
/// memory); an optional `options` field carries `ImportOptions` as JSON, other text fields are
/// returned as they are. With `csrf` (the UI), a `_csrf` field with that value must come before
/// the file.
pub async fn stage_upload(app: &App, mut multipart: Multipart, csrf: Option<&str>) -> Result<(StagedFile, ImportOptions, std::collections::HashMap<String, String>), AppError> {
    let mut staged = None;
    let mut options = ImportOptions::default();
    let mut fields = std::collections::HashMap::new();
    let bad = |e: axum::extract::multipart::MultipartError| AppError::Invalid { zh: format!("上传失败：{e}"), en: format!("upload failed: {e}") };
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("file") => {
                if let Some(expected) = csrf {
                    if fields.get("_csrf").map(String::as_str) != Some(expected) {
                        return Err(AppError::Forbidden);
                    }
                }
                if field.file_name().is_none_or(str::is_empty) {
                    continue;
                }
                let name = field.file_name().unwrap_or("import").to_string();
                // Spool to a temporary file, then stage it (hash, keep) on a blocking thread.
                let tmp = tempfile::NamedTempFile::new().map_err(|e| AppError::Internal(e.to_string()))?;
                let mut out = tokio::fs::File::from_std(tmp.reopen().map_err(|e| AppError::Internal(e.to_string()))?);
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    tokio::io::AsyncWriteExt::write_all(&mut out, &chunk).await.map_err(|e| AppError::Internal(e.to_string()))?;
                }
                tokio::io::AsyncWriteExt::flush(&mut out).await.map_err(|e| AppError::Internal(e.to_string()))?;
                let app = app.clone();
                staged = Some(
                    tokio::task::spawn_blocking(move || {
                        let f = tmp.reopen().map_err(|e| AppError::Internal(e.to_string()))?;
                        app.stage_import_file(&name, f)
                    })
                    .await
                    .map_err(|e| AppError::Internal(e.to_string()))??,
                );
            }
            Some("options") => {
                let text = field.text().await.map_err(bad)?;
                if !text.trim().is_empty() {
                    options = serde_json::from_str(&text).map_err(|e| AppError::Invalid { zh: format!("导入选项格式错误：{e}"), en: format!("bad import options: {e}") })?;
                }
            }
            Some(other) => {
                let other = other.to_string();
                fields.insert(other, field.text().await.map_err(bad)?);
            }
            None => {}
        }
    }
    let staged = staged.ok_or_else(|| AppError::Invalid { zh: "请选择要导入的文件".into(), en: "multipart field `file` is missing".into() })?;
    Ok((staged, options, fields))
}

/// Uploads a file (.xlsx, .xls, .csv in UTF-8 or GBK, .vcf) as multipart field `file`, with
/// optional `options` (JSON: mode, mapping, duplicates, decisions), and answers the dry run:
/// per-row errors, duplicate candidates, rows imported before, the column mapping. Nothing is
/// imported until `POST /api/v1/imports/{id}/run`.
#[utoipa::path(post, path = "/api/v1/imports", request_body(content_type = "multipart/form-data"),
    responses((status = 201, body = ImportAnalysis), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn upload_import(State(s): State<AppState>, u: ApiUser, multipart: Multipart) -> ApiResult<(StatusCode, Json<ImportAnalysis>)> {
    let (staged, options, _) = stage_upload(&s.app, multipart, None).await.map_err(fail(u.lang))?;
    Ok((StatusCode::CREATED, Json(s.app.analyze_import(&u.user, &staged, &options).await.map_err(fail(u.lang))?)))
}

/// The user's imports, newest first (the archivist and the administrator see everyone's).
#[utoipa::path(get, path = "/api/v1/imports", responses((status = 200, body = [ImportJob])))]
async fn list_imports(State(s): State<AppState>, u: ApiUser) -> ApiResult<Json<Vec<ImportJob>>> {
    Ok(Json(s.app.import_jobs(&u.user, 100).await.map_err(fail(u.lang))?))
}

/// One import: status and counts (poll it while it runs).
#[utoipa::path(get, path = "/api/v1/imports/{id}", params(("id" = i64, Path)), responses((status = 200, body = ImportJob), (status = 404, body = Problem)))]
async fn get_import(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<ImportJob>> {
    Ok(Json(s.app.import_job(&u.user, id).await.map_err(fail(u.lang))?))
}

/// Starts the import in the background (202). The body may replace the analyzed options (e.g.
/// per-row duplicate decisions); without a body the dry run's options are used. Running an
/// interrupted or canceled import again skips the rows already imported.
#[utoipa::path(post, path = "/api/v1/imports/{id}/run", params(("id" = i64, Path)), request_body(content = Option<ImportOptions>),
    responses((status = 202, body = ImportJob), (status = 400, body = Problem), (status = 404, body = Problem)))]
async fn run_import(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>, body: Option<Json<ImportOptions>>) -> ApiResult<(StatusCode, Json<ImportJob>)> {
    let job = s.app.start_import(&u.user, id, body.map(|b| b.0)).await.map_err(fail(u.lang))?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// Asks a running import to stop after its current batch (what was imported stays).
#[utoipa::path(post, path = "/api/v1/imports/{id}/cancel", params(("id" = i64, Path)), responses((status = 200, body = ImportJob)))]
async fn cancel_import(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Json<ImportJob>> {
    Ok(Json(s.app.cancel_import(&u.user, id).await.map_err(fail(u.lang))?))
}

/// The dry run's error report: the file's bad rows with a 错误说明 column; fix and re-import it.
#[utoipa::path(get, path = "/api/v1/imports/{id}/errors.xlsx", params(("id" = i64, Path)), responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), (status = 404, body = Problem)))]
async fn error_report(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Response> {
    let bytes = s.app.import_error_report(&u.user, id).await.map_err(fail(u.lang))?;
    Ok(file_response(bytes, &format!("导入错误报告-{id}.xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))
}

/// What to export besides the list filters.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// `xlsx` (default), `csv` (UTF-8 with BOM) or `csv_gbk` (for old Excel).
    pub format: Option<String>,
    /// Column paths, comma-separated (`name,mobile,organization.uscc,contacts[0].name`); default: the standard set.
    pub columns: Option<String>,
    /// Search text (as in the search box); empty: the filtered list.
    pub search: Option<String>,
    /// Ask for sensitive fields in clear (only where the policy allows unmasking).
    pub unmasked: Option<bool>,
}

pub fn export_request(list: &ListParams, p: &ExportParams, lang: &str) -> Result<ExportRequest, AppError> {
    let format = ExportFormat::parse(p.format.as_deref().unwrap_or("").trim())
        .ok_or_else(|| AppError::Invalid { zh: "导出格式应为 xlsx、csv 或 csv_gbk".into(), en: "format must be xlsx, csv or csv_gbk".into() })?;
    Ok(ExportRequest {
        filter: list.filter(),
        q: p.search.clone().unwrap_or_default(),
        columns: p.columns.as_deref().unwrap_or("").split(',').map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect(),
        format,
        lang: lang.to_string(),
        unmasked: p.unmasked.unwrap_or(false),
    })
}

pub fn file_response(bytes: Vec<u8>, file_name: &str, content_type: &str) -> Response {
    let encoded = urlencoding::encode(file_name);
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"export.{}\"; filename*=UTF-8''{encoded}", file_name.rsplit('.').next().unwrap_or("bin"))),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// Exports the list (its filters) or a search (`search`) to xlsx or CSV with the chosen columns.
/// Archives the user may not export are left out (header `X-Dangan-Withheld` counts them);
/// sensitive fields stay masked unless `unmasked=true` and the policy allows it. Audited.
#[utoipa::path(get, path = "/api/v1/archives/export", params(ListParams, ExportParams), responses((status = 200, description = "the file"), (status = 422, body = Problem)))]
async fn export_archives(State(s): State<AppState>, u: ApiUser, Query(list): Query<ListParams>, Query(p): Query<ExportParams>) -> ApiResult<Response> {
    let req = export_request(&list, &p, u.lang).map_err(fail(u.lang))?;
    let file = s.app.export_archives(&u.user, &req).await.map_err(fail(u.lang))?;
    let mut res = file_response(file.bytes, &file.file_name, file.content_type);
    res.headers_mut().insert("x-dangan-rows", file.rows.into());
    res.headers_mut().insert("x-dangan-withheld", file.withheld.into());
    Ok(res)
}

/// The archive's contacts as vCard 3.0 (phones, Outlook). Needs the export right; values are in
/// clear only where the policy allows unmasking. Audited.
#[utoipa::path(get, path = "/api/v1/archives/{id}/contacts.vcf", params(("id" = i64, Path)), responses((status = 200, content_type = "text/vcard"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_vcards(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Response> {
    let (text, name) = s.app.export_vcards(&u.user, id).await.map_err(fail(u.lang))?;
    Ok(file_response(text.into_bytes(), &name, "text/vcard; charset=utf-8"))
}

/// One archive as an archive package (zip: archive, contacts, timeline, attachments, manifest
/// with sha256 of every file). Needs the export and unmask rights. Audited.
#[utoipa::path(get, path = "/api/v1/archives/{id}/package.zip", params(("id" = i64, Path)), responses((status = 200, content_type = "application/zip"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn export_one_package(State(s): State<AppState>, u: ApiUser, Path(id): Path<i64>) -> ApiResult<Response> {
    let (bytes, name) = s.app.export_package(&u.user, &[id]).await.map_err(fail(u.lang))?;
    Ok(file_response(bytes, &name, "application/zip"))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PackageParams {
    /// Archive ids, comma-separated (at most 1,000).
    pub ids: String,
}

/// A selection of archives as one archive package.
#[utoipa::path(get, path = "/api/v1/packages", params(PackageParams), responses((status = 200, content_type = "application/zip"), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn export_package(State(s): State<AppState>, u: ApiUser, Query(q): Query<PackageParams>) -> ApiResult<Response> {
    let ids: Vec<i64> = q.ids.split(',').map(str::trim).filter(|x| !x.is_empty()).map(|x| x.parse::<i64>()).collect::<Result<_, _>>().map_err(|_| fail(u.lang)(AppError::Invalid { zh: "ids 应为以逗号分隔的档案编号".into(), en: "ids must be comma-separated archive ids".into() }))?;
    let (bytes, name) = s.app.export_package(&u.user, &ids).await.map_err(fail(u.lang))?;
    Ok(file_response(bytes, &name, "application/zip"))
}

/// Imports an archive package (multipart field `file`): each archive is re-created under its
/// number with its contacts, timeline and attachments; archives whose number exists here are
/// refused and listed. Every file is checked against the manifest first.
#[utoipa::path(post, path = "/api/v1/packages", request_body(content_type = "multipart/form-data"), responses((status = 201, body = dangan_app::package::PackageImportResult), (status = 422, body = Problem)))]
async fn import_package(State(s): State<AppState>, u: ApiUser, multipart: Multipart) -> ApiResult<(StatusCode, Json<dangan_app::package::PackageImportResult>)> {
    let (staged, _, _) = stage_upload(&s.app, multipart, None).await.map_err(fail(u.lang))?;
    let bytes = tokio::fs::read(&staged.path).await.map_err(|e| fail(u.lang)(AppError::Internal(e.to_string())))?;
    Ok((StatusCode::CREATED, Json(s.app.import_package(&u.user, &bytes).await.map_err(fail(u.lang))?)))
}
