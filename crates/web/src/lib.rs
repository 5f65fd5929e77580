//! The HTTP shell: JSON API under `/api/v1`, its OpenAPI document, the server-rendered web UI,
//! static files and `/healthz`. Handlers translate HTTP to `dangan_app::App` calls and back;
//! they hold no rules of their own.

use std::net::SocketAddr;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dangan_app::{App, AppError, Principal};
use dangan_core::User;

pub mod access_ui;
pub mod admin_ui;
pub mod api;
pub mod audit_api;
pub mod audit_ui;
pub mod dedup_ui;
pub mod backup_ui;
pub mod checklist_api;
pub mod checklist_ui;
pub mod i18n;
pub mod import_api;
pub mod import_ui;
pub mod lifecycle_ui;
pub mod loans_ui;
pub mod policy_api;
pub mod policy_ui;
pub mod problem;
pub mod retention_api;
pub mod retention_ui;
pub mod search_ui;
pub mod ui;

pub const SESSION_COOKIE: &str = "dangan_session";
pub const LANG_COOKIE: &str = "dangan_lang";

#[derive(Clone)]
pub struct AppState {
    pub app: App,
}

/// The whole HTTP surface.
pub fn router(app: App) -> Router {
    let state = AppState { app };
    // Imports take files up to MAX_IMPORT_BYTES (streamed to disk); everything else 64 MiB.
    let imports = Router::new()
        .merge(import_api::routes())
        .merge(import_ui::routes())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(import_api::MAX_IMPORT_BYTES));
    let rest = Router::new()
        .route("/healthz", get(healthz))
        .merge(api::routes())
        .merge(audit_api::routes())
        .merge(audit_ui::routes())
        .merge(ui::routes())
        .merge(access_ui::routes())
        .merge(loans_ui::routes())
        .merge(admin_ui::routes())
        .merge(policy_api::routes())
        .merge(policy_ui::routes())
        .merge(backup_ui::routes())
        .merge(search_ui::routes())
        .merge(dedup_ui::routes())
        .merge(lifecycle_ui::routes())
        .merge(checklist_api::routes())
        .merge(checklist_ui::routes())
        .merge(retention_api::routes())
        .merge(retention_ui::routes())
        .layer(tower_http::limit::RequestBodyLimitLayer::new(64 * 1024 * 1024));
    Router::new()
        .merge(rest)
        .merge(imports)
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

async fn healthz(axum::extract::State(s): axum::extract::State<AppState>) -> Response {
    match s.app.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("database unavailable: {e}")).into_response(),
    }
}

async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert("x-content-type-options", "nosniff".parse().unwrap());
    h.insert("x-frame-options", "DENY".parse().unwrap());
    h.insert("referrer-policy", "same-origin".parse().unwrap());
    res
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The session or bearer token a request carries.
pub fn request_token(headers: &HeaderMap) -> Option<String> {
    if let Some(auth) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        if let Some(t) = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer ")) {
            return Some(t.trim().to_string());
        }
    }
    cookie(headers, SESSION_COOKIE).map(str::to_string)
}

/// The UI language: cookie, then Accept-Language, then zh-CN.
pub fn request_lang(headers: &HeaderMap) -> &'static str {
    if let Some(l) = cookie(headers, LANG_COOKIE) {
        return i18n::normalize_lang(l);
    }
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or("");
    for part in accept.split(',') {
        let tag = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if tag.starts_with("zh-tw") || tag.starts_with("zh-hk") || tag.starts_with("zh-hant") {
            return "zh-TW";
        }
        if tag.starts_with("zh") {
            return "zh-CN";
        }
        if tag.starts_with("en") {
            return "en";
        }
    }
    "zh-CN"
}

/// The client's address: the TCP peer (the server must be served with connect info).
pub fn client_ip(parts: &Parts) -> Option<std::net::IpAddr> {
    parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// Where a request comes from, for the audit trail: peer address and user agent.
pub fn client_info(parts: &Parts) -> dangan_app::audit::ClientInfo {
    // Some clients send UTF-8 in the user agent: keep it readable rather than dropping it.
    let agent = parts.headers.get(axum::http::header::USER_AGENT).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).unwrap_or_default();
    dangan_app::audit::ClientInfo::new(client_ip(parts), &agent)
}

/// The client of a request that has no logged-in user yet (login).
pub struct Client(pub dangan_app::audit::ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Client(client_info(parts)))
    }
}

/// The principal of a request: its user, whether it comes from the archive room, and the client.
pub async fn principal(state: &AppState, parts: &Parts, user: User) -> Principal {
    let in_room = match client_ip(parts) {
        Some(ip) => state.app.in_archive_room(ip).await,
        None => false,
    };
    Principal::new(user, in_room).with_client(client_info(parts))
}

/// The logged-in user of an API request; rejects with a 401 problem document.
pub struct ApiUser {
    pub user: Principal,
    pub lang: &'static str,
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let lang = request_lang(&parts.headers);
        let token = request_token(&parts.headers).unwrap_or_default();
        match state.app.authenticate(&token).await {
            Ok(Some(user)) => Ok(ApiUser { user: principal(state, parts, user).await, lang }),
            Ok(None) => Err(problem::from_app_error(AppError::Unauthenticated, lang)),
            Err(e) => Err(problem::from_app_error(e, lang)),
        }
    }
}

pub async fn serve(app: App, addr: SocketAddr, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, router(app).into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown).await
}
