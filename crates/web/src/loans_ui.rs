//! The borrowing register screen (借阅登记): the archivist sees the whole register, anyone else
//! their own loans; overdue rows are highlighted and incomplete returns flagged. Read-only: loans
//! are recorded and checked back in through the API (`/api/v1/loans`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dangan_core::Role;
use dangan_app::loans::LoanView;
use dangan_app::store::LoanKind;
use serde::Deserialize;

use crate::ui::{error_page, fmt_time, render, Chrome, UiUser};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/loans", get(loans_page).post(lend_submit)).route("/loans/{id}/return", post(return_submit))
}

pub struct LoanRow {
    pub id: i64,
    pub archive_id: i64,
    pub archive_no: String,
    pub borrower: String,
    pub kind: String,
    pub purpose: String,
    pub lent_at: String,
    pub due_at: String,
    pub returned_at: String,
    pub status: String,
    pub status_class: &'static str,
    /// `overdue` for open loans past due (highlighted), `incomplete` for flagged returns.
    pub row_class: &'static str,
    pub note: String,
}

#[derive(Template)]
#[template(path = "loans.html")]
struct LoansPage {
    c: Chrome,
    open_only: bool,
    rows: Vec<LoanRow>,
    overdue: usize,
    /// The archivist records loans and returns here.
    is_archivist: bool,
    borrowers: Vec<(i64, String)>,
    default_due: String,
    error: Option<String>,
}

#[derive(Deserialize)]
struct LoansQuery {
    #[serde(default)]
    open: bool,
}

async fn loans_page(State(s): State<AppState>, u: UiUser, Query(q): Query<LoansQuery>) -> Response {
    page(&s, &u, q.open, None).await
}

async fn page(s: &AppState, u: &UiUser, open_only: bool, error: Option<String>) -> Response {
    let q = LoansQuery { open: open_only };
    let tr = u.tr;
    let loans = match s.app.loans(&u.user, q.open).await {
        Ok(l) => l,
        Err(e) => return error_page(tr, e),
    };
    let names: HashMap<i64, String> = s.app.users().await.unwrap_or_default().into_iter().map(|u| (u.id, u.display_name)).collect();
    let mut archive_nos: HashMap<i64, String> = HashMap::new();
    let mut rows = Vec::with_capacity(loans.len());
    for v in &loans {
        let l = &v.loan;
        if !archive_nos.contains_key(&l.archive_id) {
            // The number comes through the policy, like everywhere else.
            let no = match s.app.get_archive(&u.user, l.archive_id).await {
                Ok(a) => a.archive_no,
                Err(_) => format!("#{}", l.archive_id),
            };
            archive_nos.insert(l.archive_id, no);
        }
        rows.push(row(u, v, &names, &archive_nos));
    }
    let overdue = loans.iter().filter(|v| v.overdue).count();
    let mut c = Chrome::of(s, u).await;
    c.menu = "loans";
    let is_archivist = u.user.has_role(Role::Archivist);
    let borrowers = if is_archivist {
        s.app.users().await.unwrap_or_default().into_iter().filter(|x| x.active).map(|x| (x.id, format!("{}（{}）", x.display_name, x.username))).collect()
    } else {
        Vec::new()
    };
    let default_due = (crate::ui::cst(chrono::Utc::now()) + chrono::Duration::days(7)).date_naive().to_string();
    let status = if error.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    (status, render(&LoansPage { c, open_only: q.open, rows, overdue, is_archivist, borrowers, default_due, error })).into_response()
}

/// 登记借出: the archivist records a loan by archive number; due at the end of the due day.
async fn lend_submit(State(s): State<AppState>, u: UiUser, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let tr = u.tr;
    let get = |k: &str| f.get(k).map(|v| v.trim()).unwrap_or("");
    let due = match dangan_core::validate::parse_date(get("due")) {
        Ok(d) => d,
        Err(c) => return page(&s, &u, false, Some(dangan_core::validate::FieldError::new("due_at", c).message(tr.lang))).await,
    };
    let china = chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8");
    let due_at = due.and_hms_opt(23, 59, 59).and_then(|t| t.and_local_timezone(china).single()).map(|t| t.with_timezone(&chrono::Utc)).unwrap_or_else(chrono::Utc::now);
    let kind = if get("kind") == "electronic" { LoanKind::Electronic } else { LoanKind::Paper };
    let Ok(borrower) = get("borrower_id").parse::<i64>() else {
        return page(&s, &u, false, Some(tr.t("loans.borrower").to_string())).await;
    };
    match s.app.lend_by_number(&u.user, get("archive_no"), borrower, kind, get("purpose"), due_at).await {
        Ok(_) => Redirect::to("/loans?open=true").into_response(),
        Err(e) => page(&s, &u, false, Some(app_error_text(tr, e))).await,
    }
}

/// 归还登记: checked back complete or not, with a note.
async fn return_submit(State(s): State<AppState>, u: UiUser, Path(id): Path<i64>, Form(f): Form<HashMap<String, String>>) -> Response {
    if let Err(r) = u.check_csrf(&f) {
        return r;
    }
    let complete = f.get("complete").is_some_and(|v| !v.is_empty());
    match s.app.return_loan(&u.user, id, complete, f.get("note").map(String::as_str).unwrap_or("")).await {
        Ok(_) => Redirect::to("/loans").into_response(),
        Err(e) => page(&s, &u, false, Some(app_error_text(u.tr, e))).await,
    }
}

/// A refusal as one line in the user's language.
fn app_error_text(tr: crate::i18n::Tr, e: dangan_app::AppError) -> String {
    use dangan_app::AppError::*;
    match e {
        Validation(errors) => errors.iter().map(|e| e.message(tr.lang)).collect::<Vec<_>>().join("；"),
        NotFound => tr.t("err.not_found").to_string(),
        Forbidden => tr.t("err.forbidden").to_string(),
        Conflict { .. } => tr.t("loans.already_returned").to_string(),
        BadRequest(m) => m,
        other => format!("{}：{other}", tr.t("err.internal")),
    }
}

fn row(u: &UiUser, v: &LoanView, names: &HashMap<i64, String>, archive_nos: &HashMap<i64, String>) -> LoanRow {
    let tr = u.tr;
    let l = &v.loan;
    let (status, status_class) = if v.overdue {
        (tr.t("loans.status_overdue"), "tag-red")
    } else if l.returned_at.is_none() {
        (tr.t("loans.status_open"), "tag-cyan")
    } else if v.flag_incomplete {
        (tr.t("loans.status_incomplete"), "tag-orange")
    } else {
        (tr.t("loans.status_returned"), "tag-green")
    };
    LoanRow {
        id: l.id,
        archive_id: l.archive_id,
        archive_no: archive_nos.get(&l.archive_id).cloned().unwrap_or_default(),
        borrower: names.get(&l.borrower_id).cloned().unwrap_or_else(|| format!("#{}", l.borrower_id)),
        kind: tr.t(if l.kind == LoanKind::Paper { "loans.kind_paper" } else { "loans.kind_electronic" }).to_string(),
        purpose: l.purpose.clone(),
        lent_at: fmt_time(l.lent_at),
        due_at: fmt_time(l.due_at),
        returned_at: l.returned_at.map(fmt_time).unwrap_or_default(),
        status: status.to_string(),
        status_class,
        row_class: if v.overdue {
            "overdue"
        } else if v.flag_incomplete {
            "incomplete"
        } else {
            ""
        },
        note: l.return_note.clone(),
    }
}
