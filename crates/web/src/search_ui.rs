//! Search over HTTP: `GET /api/v1/search`, `GET /api/v1/search/suggest` (JSON, in the OpenAPI
//! document through `SearchApiDoc`) and the results page `/search` that the top bar's search box
//! submits to.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use dangan_app::search::{SearchItem, SearchPage, SearchQuery};
use dangan_app::store::ArchiveFilter;
use dangan_app::AppError;
use dangan_core::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::problem::{from_app_error, Problem};
use crate::ui::{choices, error_page, fmt_time, grade_class, group_thousands, opt_parse, render, secrecy_class, status_class, Chrome, Choice, UiUser};
use crate::{ApiUser, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/search", get(search)).route("/api/v1/search/suggest", get(suggest)).route("/search", get(search_page))
}

#[derive(OpenApi)]
#[openapi(paths(search, suggest), components(schemas(SearchPage, SearchItem, SuggestResponse)))]
pub struct SearchApiDoc;

/// Search parameters. Every filter is optional; `q` may be empty (filters only).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// What was typed: name or fragment (张伟, 华星建材), pinyin (zw, zhangwei, 张wei), phone
    /// fragment (1381), archive number (KH-2026-0001), credit code or ID number (exact).
    pub q: Option<String>,
    pub grade: Option<String>,
    pub credit_grade: Option<String>,
    pub blacklisted: Option<bool>,
    pub industry: Option<String>,
    /// Province (地区).
    pub region: Option<String>,
    pub city: Option<String>,
    pub status: Option<String>,
    pub owner_id: Option<i64>,
    pub dept_id: Option<i64>,
    /// Comma-separated tags; every one must be present.
    pub tags: Option<String>,
    /// Dates (2026-01-31 or 2026年1月31日), inclusive.
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub updated_from: Option<String>,
    pub updated_to: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size, 1–200 (default 20).
    pub limit: Option<u32>,
    /// Also count the matches (up to 10,000).
    pub count: Option<bool>,
}

fn nonempty(s: &Option<String>) -> Option<String> {
    s.as_ref().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

fn parse_opt<T: std::str::FromStr>(field: &str, s: &Option<String>) -> Result<Option<T>, AppError> {
    match nonempty(s) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| AppError::BadRequest(format!("{field}: unknown value {v:?}"))),
    }
}

fn day_start(field: &str, s: &Option<String>, plus_days: i64) -> Result<Option<DateTime<Utc>>, AppError> {
    match nonempty(s) {
        None => Ok(None),
        Some(v) => {
            let d = validate::parse_date(&v).map_err(|_| AppError::BadRequest(format!("{field}: not a date {v:?}")))?;
            // Office days are in China Standard Time.
            Ok(Some(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - Duration::hours(8) + Duration::days(plus_days)))
        }
    }
}

impl SearchParams {
    pub fn query(&self) -> Result<SearchQuery, AppError> {
        let filter = ArchiveFilter {
            grade: parse_opt("grade", &self.grade)?,
            credit_grade: parse_opt("credit_grade", &self.credit_grade)?,
            blacklisted: self.blacklisted,
            status: parse_opt("status", &self.status)?,
            industry: nonempty(&self.industry),
            province: nonempty(&self.region),
            city: nonempty(&self.city),
            owner_id: self.owner_id,
            dept_id: self.dept_id,
            updated_from: day_start("updated_from", &self.updated_from, 0)?,
            updated_to: day_start("updated_to", &self.updated_to, 1)?,
            ..Default::default()
        };
        Ok(SearchQuery {
            q: self.q.clone().unwrap_or_default(),
            filter,
            tags: self.tags.as_deref().unwrap_or("").split([',', '，']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string).collect(),
            created_from: day_start("created_from", &self.created_from, 0)?,
            created_to: day_start("created_to", &self.created_to, 1)?,
            cursor: nonempty(&self.cursor),
            limit: self.limit.unwrap_or(20),
            with_total: self.count.unwrap_or(false),
        })
    }
}

/// Finds archives: exact matches first, then names starting with the query, then fragments;
/// within each, the most recently changed first. Only archives the user may list are found or
/// counted; phones are masked.
#[utoipa::path(get, path = "/api/v1/search", params(SearchParams), responses((status = 200, body = SearchPage), (status = 400, body = Problem)))]
async fn search(State(s): State<AppState>, u: ApiUser, Query(p): Query<SearchParams>) -> Result<Json<SearchPage>, Response> {
    let q = p.query().map_err(|e| from_app_error(e, u.lang))?;
    Ok(Json(s.app.search(&u.user, q).await.map_err(|e| from_app_error(e, u.lang))?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestParams {
    /// What has been typed so far.
    pub q: Option<String>,
    /// How many (1–20, default 8).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct SuggestResponse {
    pub items: Vec<SearchItem>,
}

/// A few archives for the search box as the user types (same ranking and access rules).
#[utoipa::path(get, path = "/api/v1/search/suggest", params(SuggestParams), responses((status = 200, body = SuggestResponse)))]
async fn suggest(State(s): State<AppState>, u: ApiUser, Query(p): Query<SuggestParams>) -> Result<Json<SuggestResponse>, Response> {
    let items = s.app.suggest(&u.user, p.q.as_deref().unwrap_or(""), p.limit.unwrap_or(8)).await.map_err(|e| from_app_error(e, u.lang))?;
    Ok(Json(SuggestResponse { items }))
}

// ---------------------------------------------------------------- results page

/// A name cut into pieces, the matched ones marked.
pub struct NamePiece {
    pub text: String,
    pub hit: bool,
}

pub struct ResultRow {
    pub id: i64,
    pub archive_no: String,
    pub name: Vec<NamePiece>,
    pub class: String,
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
#[template(path = "search.html")]
struct SearchResultsPage {
    c: Chrome,
    q: String,
    rows: Vec<ResultRow>,
    total: String,
    next_url: Option<String>,
    first_url: Option<String>,
    grades: Vec<Choice>,
    credit_grades: Vec<Choice>,
    statuses: Vec<Choice>,
    industry: String,
    region: String,
    tags: String,
    owner: Vec<Choice>,
    blacklisted: Vec<Choice>,
    created_from: String,
    created_to: String,
    updated_from: String,
    updated_to: String,
}

fn pieces(name: &str, highlights: &[[usize; 2]]) -> Vec<NamePiece> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    for [a, b] in highlights {
        let (a, b) = ((*a).min(chars.len()), (*b).min(chars.len()));
        if a > at {
            out.push(NamePiece { text: chars[at..a].iter().collect(), hit: false });
        }
        if b > a.max(at) {
            out.push(NamePiece { text: chars[a.max(at)..b].iter().collect(), hit: true });
        }
        at = at.max(b);
    }
    if at < chars.len() {
        out.push(NamePiece { text: chars[at..].iter().collect(), hit: false });
    }
    out
}

/// Raw page parameters (empty selects mean "all").
#[derive(Deserialize, Default)]
struct RawSearch {
    q: Option<String>,
    grade: Option<String>,
    credit_grade: Option<String>,
    blacklisted: Option<String>,
    industry: Option<String>,
    region: Option<String>,
    status: Option<String>,
    owner_id: Option<String>,
    tags: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    updated_from: Option<String>,
    updated_to: Option<String>,
    cursor: Option<String>,
}

impl RawSearch {
    fn url(&self, cursor: Option<&str>) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("grade", &self.grade),
            ("credit_grade", &self.credit_grade),
            ("blacklisted", &self.blacklisted),
            ("industry", &self.industry),
            ("region", &self.region),
            ("status", &self.status),
            ("owner_id", &self.owner_id),
            ("tags", &self.tags),
            ("created_from", &self.created_from),
            ("created_to", &self.created_to),
            ("updated_from", &self.updated_from),
            ("updated_to", &self.updated_to),
        ] {
            if let Some(v) = nonempty(v) {
                parts.push(format!("{k}={}", urlencoding::encode(&v)));
            }
        }
        if let Some(c) = cursor {
            parts.push(format!("cursor={}", urlencoding::encode(c)));
        }
        format!("/search?{}", parts.join("&"))
    }
}

async fn search_page(State(s): State<AppState>, u: UiUser, Query(raw): Query<RawSearch>) -> Response {
    let params = SearchParams {
        q: raw.q.clone(),
        grade: raw.grade.clone(),
        credit_grade: raw.credit_grade.clone(),
        blacklisted: opt_parse(&raw.blacklisted),
        industry: raw.industry.clone(),
        region: raw.region.clone(),
        status: raw.status.clone(),
        owner_id: opt_parse(&raw.owner_id),
        tags: raw.tags.clone(),
        created_from: raw.created_from.clone(),
        created_to: raw.created_to.clone(),
        updated_from: raw.updated_from.clone(),
        updated_to: raw.updated_to.clone(),
        cursor: raw.cursor.clone(),
        limit: Some(20),
        count: Some(true),
        ..Default::default()
    };
    let page = match params.query() {
        Ok(q) => s.app.search(&u.user, q).await,
        Err(e) => Err(e),
    };
    let page = match page {
        Ok(p) => p,
        Err(e) => return error_page(u.tr, e),
    };
    let users = s.app.users().await.unwrap_or_default();
    let names: HashMap<i64, String> = users.iter().map(|u| (u.id, u.display_name.clone())).collect();
    let tr = u.tr;
    let lang = tr.lang;
    let rows = page
        .items
        .iter()
        .map(|i| {
            let a = &i.summary;
            ResultRow {
                id: a.id,
                archive_no: a.archive_no.clone(),
                name: pieces(&a.name, &i.highlights),
                class: tr.t(&format!("search.class_{}", i.match_class)).to_string(),
                kind: a.kind.label(lang).into(),
                grade: a.grade.map(|g| g.as_str()).unwrap_or("").into(),
                grade_class: grade_class(a.grade).into(),
                credit_grade: a.credit_grade.map(|g| g.as_str()).unwrap_or("").into(),
                blacklisted: a.blacklisted,
                status: a.status.label(lang).into(),
                status_class: status_class(a.status).into(),
                industry: a.industry.clone().unwrap_or_default(),
                region: [a.province.as_deref(), a.city.as_deref()].iter().flatten().copied().collect::<Vec<_>>().join(" "),
                owner: a.owner_id.and_then(|id| names.get(&id).cloned()).unwrap_or_default(),
                secrecy: if a.secrecy == Secrecy::Normal { String::new() } else { a.secrecy.label(lang).into() },
                secrecy_class: secrecy_class(a.secrecy).into(),
                updated_at: fmt_time(a.updated_at),
            }
        })
        .collect();
    let total = page.total.unwrap_or(0);
    let total = if page.total_capped { tr.f("search.total_more", "n", &group_thousands(total)) } else { tr.f("list.total", "n", &group_thousands(total)) };
    let mut chrome = Chrome::of(&s, &u).await;
    chrome.search = raw.q.clone().unwrap_or_default();
    let owner_sel = nonempty(&raw.owner_id);
    let bl = nonempty(&raw.blacklisted);
    let view = SearchResultsPage {
        q: raw.q.clone().unwrap_or_default(),
        rows,
        total,
        next_url: page.next_cursor.as_deref().map(|c| raw.url(Some(c))),
        first_url: nonempty(&raw.cursor).map(|_| raw.url(None)),
        grades: choices(Grade::ALL, raw.grade.as_deref(), Grade::as_str, |g| g.label(lang)),
        credit_grades: choices(Grade::ALL, raw.credit_grade.as_deref(), Grade::as_str, |g| g.label(lang)),
        statuses: choices(ArchiveStatus::ALL, raw.status.as_deref(), ArchiveStatus::as_str, |v| v.label(lang)),
        industry: raw.industry.clone().unwrap_or_default(),
        region: raw.region.clone().unwrap_or_default(),
        tags: raw.tags.clone().unwrap_or_default(),
        owner: users.iter().map(|x| Choice { value: x.id.to_string(), label: x.display_name.clone(), selected: owner_sel.as_deref() == Some(x.id.to_string().as_str()) }).collect(),
        blacklisted: [("true", "search.blacklisted_yes"), ("false", "search.blacklisted_no")]
            .iter()
            .map(|(v, k)| Choice { value: v.to_string(), label: tr.t(k).to_string(), selected: bl.as_deref() == Some(*v) })
            .collect(),
        created_from: raw.created_from.clone().unwrap_or_default(),
        created_to: raw.created_to.clone().unwrap_or_default(),
        updated_from: raw.updated_from.clone().unwrap_or_default(),
        updated_to: raw.updated_to.clone().unwrap_or_default(),
        c: chrome,
    };
    render(&view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_pieces_mark_the_matches() {
        let p = pieces("杭州华星建材有限公司", &[[2, 6]]);
        let text: Vec<(String, bool)> = p.into_iter().map(|x| (x.text, x.hit)).collect();
        assert_eq!(text, vec![("杭州".into(), false), ("华星建材".into(), true), ("有限公司".into(), false)]);
        assert_eq!(pieces("张伟", &[]).len(), 1);
    }
}
