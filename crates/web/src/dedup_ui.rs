//! Duplicate screens (查重): the scan over the whole base (archivist, general manager), the merge
//! confirmation and the merge itself. The warning on the archive form lives in `ui.rs`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dangan_app::AppError;
use serde::Deserialize;

use crate::ui::{error_page, render, Chrome, UiUser};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/duplicates", get(scan_page)).route("/duplicates/merge", get(merge_page)).route("/archives/{id}/merge", post(merge_submit))
}

pub struct Side {
    pub id: i64,
    pub archive_no: String,
    pub name: String,
    pub city: String,
}

pub struct PairRow {
    pub score: u8,
    pub left: Side,
    pub right: Side,
    pub reasons: String,
}

#[derive(Template)]
#[template(path = "duplicates.html")]
struct ScanPage {
    c: Chrome,
    rows: Vec<PairRow>,
    next_cursor: Option<String>,
}

#[derive(Deserialize, Default)]
struct ScanQuery {
    cursor: Option<String>,
}

fn side(s: &dangan_core::ArchiveSummary) -> Side {
    Side { id: s.id, archive_no: s.archive_no.clone(), name: s.name.clone(), city: s.city.clone().unwrap_or_default() }
}

async fn scan_page(State(s): State<AppState>, u: UiUser, Query(q): Query<ScanQuery>) -> Response {
    let page = match s.app.duplicate_scan(&u.user, q.cursor.as_deref(), 50).await {
        Ok(p) => p,
        Err(e) => return error_page(u.tr, e),
    };
    let rows = page
        .items
        .iter()
        .map(|p| PairRow { score: p.score, left: side(&p.left), right: side(&p.right), reasons: p.reasons.iter().map(|r| r.label(u.tr.lang)).collect::<Vec<_>>().join("、") })
        .collect();
    let mut c = Chrome::of(&s, &u).await;
    c.menu = "dedup";
    render(&ScanPage { c, rows, next_cursor: page.next_cursor })
}

#[derive(Template)]
#[template(path = "merge.html")]
struct MergePage {
    c: Chrome,
    survivor: Side,
    merged: Side,
    reason: String,
    error: Option<String>,
    question: String,
}

#[derive(Deserialize, Default)]
struct MergeQuery {
    survivor: i64,
    merged: Option<i64>,
    /// The other archive by number (from the archive page).
    merged_no: Option<String>,
}

async fn merge_form(s: &AppState, u: &UiUser, survivor_id: i64, merged_id: i64, reason: String, error: Option<String>) -> Response {
    let (a, b) = match tokio::try_join!(s.app.get_archive(&u.user, survivor_id), s.app.get_archive(&u.user, merged_id)) {
        Ok(x) => x,
        Err(e) => return error_page(u.tr, e),
    };
    let survivor = Side { id: a.id, archive_no: a.archive_no.clone(), name: a.data.name.clone(), city: a.data.classification.city.clone().unwrap_or_default() };
    let merged = Side { id: b.id, archive_no: b.archive_no.clone(), name: b.data.name.clone(), city: b.data.classification.city.clone().unwrap_or_default() };
    let question = u.tr.fs("dedup.merge_confirm", &[("merged", &merged.archive_no), ("survivor", &survivor.archive_no)]);
    let mut c = Chrome::of(s, u).await;
    c.menu = "dedup";
    let status = if error.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    (status, render(&MergePage { c, survivor, merged, reason, error, question })).into_response()
}

async fn merge_page(State(s): State<AppState>, u: UiUser, Query(q): Query<MergeQuery>) -> Response {
    let merged = match (q.merged, q.merged_no.as_deref().map(str::trim).filter(|n| !n.is_empty())) {
        (Some(id), _) => id,
        (None, Some(no)) => match s.app.get_archive_by_no(&u.user, no).await {
            Ok(a) => a.id,
            Err(e) => return error_page(u.tr, e),
        },
        (None, None) => return error_page(u.tr, AppError::BadRequest("merged archive missing / 请填写要并入的档号".into())),
    };
    merge_form(&s, &u, q.survivor, merged, String::new(), None).await
}

async fn merge_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let Ok(merged) = get("merged_id").parse::<i64>() else {
        return error_page(u.tr, AppError::BadRequest("merged_id".into()));
    };
    let reason = get("reason");
    match s.app.merge_archives(&u.user, id, merged, &reason).await {
        Ok(m) => Redirect::to(&format!("/archives/{id}?merged_from={}", urlencoding::encode(&m.merged_no))).into_response(),
        Err(AppError::Validation(errors)) => {
            let msg = errors.iter().map(|e| e.message(u.tr.lang)).collect::<Vec<_>>().join("；");
            merge_form(&s, &u, id, merged, reason, Some(format!("{}：{msg}", u.tr.t("dedup.merge_reason")))).await
        }
        Err(AppError::BadRequest(m)) => merge_form(&s, &u, id, merged, reason, Some(m)).await,
        Err(e) => error_page(u.tr, e),
    }
}
