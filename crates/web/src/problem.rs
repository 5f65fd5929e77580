//! RFC 9457 problem documents for every API error, with per-field errors for validation.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use dangan_app::AppError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::i18n;

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// Dotted path of the field in the request body.
    pub field: String,
    /// Machine-readable reason, e.g. `uscc_check_digit`.
    pub code: String,
    /// The message in the request's language.
    pub message: String,
    pub message_zh: String,
    pub message_en: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
    /// With 409: the archive's version now; re-read it and re-apply the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
    /// With needs-approval: the archive to file an access request for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_id: Option<i64>,
    /// With `possible-duplicates` (409): the archives this may duplicate that the user may see,
    /// strongest first, each with its reasons. Send again with `confirm_duplicates: true` to save anyway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<CandidateProblem>>,
    /// With `possible-duplicates`: how many further candidates the user may not see.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_candidates: Option<usize>,
}

/// One possible duplicate in a 409 answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateProblem {
    pub archive_id: i64,
    pub archive_no: String,
    pub name: String,
    pub kind: dangan_core::CustomerKind,
    pub city: Option<String>,
    /// 0–100.
    pub score: u8,
    /// Reason codes, strongest first (`same_uscc`, `same_id_number`, `same_mobile`,
    /// `same_name_same_city`, `similar_name`, `same_contact_phone`).
    pub reasons: Vec<dangan_core::dedup::Reason>,
    /// The reasons in the request's language (统一社会信用代码相同 …).
    pub reason_labels: Vec<String>,
}

impl CandidateProblem {
    pub fn of(c: &dangan_app::dedup::Candidate, lang: &str) -> Self {
        CandidateProblem {
            archive_id: c.archive.id,
            archive_no: c.archive.archive_no.clone(),
            name: c.archive.name.clone(),
            kind: c.archive.kind,
            city: c.archive.city.clone(),
            score: c.score,
            reasons: c.reasons.clone(),
            reason_labels: c.reasons.iter().map(|r| r.label(lang).to_string()).collect(),
        }
    }
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: &str) -> Self {
        Problem { type_: format!("https://dangan.dev/problems/{kind}"), title: title.into(), status: status.as_u16(), detail: None, errors: Vec::new(), current_version: None, archive_id: None, candidates: None, hidden_candidates: None }
    }
    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response()
    }
}

pub fn from_app_error(e: AppError, lang: &str) -> Response {
    let t = |k: &'static str| i18n::t(lang, k);
    let p = match e {
        AppError::Validation(errors) => {
            let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation", t("err.validation"));
            p.errors = errors
                .iter()
                .map(|fe| FieldProblem {
                    field: fe.field.clone(),
                    code: serde_json::to_value(fe.code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
                    message: fe.message(lang),
                    message_zh: fe.message("zh-CN"),
                    message_en: fe.message("en"),
                })
                .collect();
            p
        }
        AppError::NotFound => Problem::new(StatusCode::NOT_FOUND, "not-found", t("err.not_found")),
        AppError::Conflict { current } => {
            let mut p = Problem::new(StatusCode::CONFLICT, "version-conflict", t("err.conflict"));
            p.current_version = Some(current);
            p
        }
        AppError::Unauthenticated => Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", t("err.unauthenticated")),
        AppError::Forbidden => Problem::new(StatusCode::FORBIDDEN, "forbidden", t("err.forbidden")),
        AppError::NeedsApproval { archive_id, archive_no } => {
            let mut p = Problem::new(StatusCode::FORBIDDEN, "needs-approval", t("err.needs_approval"));
            p.detail = Some(format!("{archive_no}: POST /api/v1/archives/{archive_id}/access-requests"));
            p.archive_id = Some(archive_id);
            p
        }
        AppError::LockedOut { until } => Problem::new(StatusCode::TOO_MANY_REQUESTS, "locked-out", t("err.locked")).detail(until.to_rfc3339()),
        AppError::BadRequest(d) => Problem::new(StatusCode::BAD_REQUEST, "bad-request", t("err.bad_request")).detail(d),
        AppError::Invalid { zh, en } => Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", t("err.bad_request")).detail(if lang.starts_with("en") { en } else { zh }),
        AppError::Duplicate(d) => Problem::new(StatusCode::CONFLICT, "duplicate", t("err.duplicate")).detail(d),
        AppError::Refused { code, zh, en } => Problem::new(StatusCode::CONFLICT, code, t("err.refused")).detail(if lang.starts_with("en") { en } else { zh }),
        AppError::TooLarge { max } => Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", t("err.too_large")).detail(format!("max {max} bytes")),
        AppError::UnsupportedType => Problem::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-type", t("err.unsupported_type")),
        AppError::Internal(d) => {
            tracing::error!("internal error: {d}");
            Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", t("err.internal"))
        }
        AppError::Duplicates(check) => {
            let mut p = Problem::new(StatusCode::CONFLICT, "possible-duplicates", t("dedup.err"));
            if check.hidden > 0 {
                p.detail = Some(t("dedup.hidden").replace("{n}", &check.hidden.to_string()));
            }
            p.candidates = Some(check.candidates.iter().map(|c| CandidateProblem::of(c, lang)).collect());
            p.hidden_candidates = Some(check.hidden);
            p
        }
    };
    p.into_response()
}
