//! The borrowing register screen (借阅登记): the archivist sees the whole register, anyone else
//! their own loans; overdue rows are highlighted and incomplete returns flagged. Read-only: loans
//! are recorded and checked back in through the API (`/api/v1/loans`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use dangan_app::loans::LoanView;
use dangan_app::store::LoanKind;
use serde::Deserialize;

use crate::ui::{error_page, fmt_time, render, Chrome, UiUser};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/loans", get(loans_page))
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
}

#[derive(Deserialize)]
struct LoansQuery {
    #[serde(default)]
    open: bool,
}

async fn loans_page(State(s): State<AppState>, u: UiUser, Query(q): Query<LoansQuery>) -> Response {
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
        rows.push(row(&u, v, &names, &archive_nos));
    }
    let overdue = loans.iter().filter(|v| v.overdue).count();
    let mut c = Chrome::of(&s, &u).await;
    c.menu = "loans";
    render(&LoansPage { c, open_only: q.open, rows, overdue })
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
