//! 系统设置 → 用户与角色: the system administrator lists users, changes their roles, department
//! and whether the account is active, and adds users. Every change goes through
//! `App::update_user` / `App::add_user` (checked and audited there).

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dangan_app::AppError;
use dangan_core::Role;

use crate::ui::{error_page, render, Chrome, UiUser};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/users", get(users_page)).route("/admin/users/save", post(save_user)).route("/admin/users/add", post(add_user))
}

pub struct RoleBox {
    pub code: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub active: bool,
    pub roles: Vec<RoleBox>,
    pub depts: Vec<(i64, String, bool)>,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    c: Chrome,
    rows: Vec<UserRow>,
    all_roles: Vec<RoleBox>,
    depts: Vec<(i64, String, bool)>,
    error: Option<String>,
    saved: bool,
}

async fn page(s: &AppState, u: &UiUser, error: Option<String>, saved: bool) -> Response {
    let tr = u.tr;
    if !u.user.has_role(Role::SystemAdmin) {
        return error_page(tr, AppError::Forbidden);
    }
    let users = s.app.users().await.unwrap_or_default();
    let depts = s.app.departments().await.unwrap_or_default();
    let dept_opts = |sel: Option<i64>| depts.iter().map(|d| (d.id, d.name.clone(), Some(d.id) == sel)).collect::<Vec<_>>();
    let boxes = |have: &[Role]| Role::ALL.iter().map(|r| RoleBox { code: r.as_str(), label: r.label(tr.lang), checked: have.contains(r) }).collect::<Vec<_>>();
    let rows = users
        .iter()
        .map(|x| UserRow { id: x.id, username: x.username.clone(), display_name: x.display_name.clone(), active: x.active, roles: boxes(&x.roles), depts: dept_opts(x.dept_id) })
        .collect();
    let mut c = Chrome::of(s, u).await;
    c.menu = "admin";
    let status = if error.is_some() { axum::http::StatusCode::UNPROCESSABLE_ENTITY } else { axum::http::StatusCode::OK };
    (status, render(&UsersPage { c, rows, all_roles: boxes(&[]), depts: dept_opts(None), error, saved })).into_response()
}

async fn users_page(State(s): State<AppState>, u: UiUser, axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>) -> Response {
    page(&s, &u, None, q.contains_key("saved")).await
}

/// The form's roles: every checked `role_<code>` box.
fn roles_of(f: &[(String, String)]) -> Vec<Role> {
    f.iter().filter_map(|(k, _)| k.strip_prefix("role_")).filter_map(|code| Role::ALL.iter().copied().find(|r| r.as_str() == code)).collect()
}

fn one<'a>(f: &'a [(String, String)], key: &str) -> &'a str {
    f.iter().find(|(k, _)| k == key).map(|(_, v)| v.trim()).unwrap_or("")
}

fn error_text(tr: crate::i18n::Tr, e: AppError) -> String {
    match e {
        AppError::Validation(errors) => errors.iter().map(|e| e.message(tr.lang)).collect::<Vec<_>>().join("；"),
        AppError::BadRequest(m) => m,
        AppError::Duplicate(_) => tr.t("admin.duplicate").to_string(),
        AppError::Forbidden => tr.t("err.forbidden").to_string(),
        other => format!("{}：{other}", tr.t("err.internal")),
    }
}

async fn save_user(State(s): State<AppState>, u: UiUser, Form(f): Form<Vec<(String, String)>>) -> Response {
    let map: HashMap<String, String> = f.iter().cloned().collect();
    if let Err(r) = u.check_csrf(&map) {
        return r;
    }
    let Ok(id) = one(&f, "id").parse::<i64>() else { return page(&s, &u, Some("id".into()), false).await };
    let update = dangan_app::store::UserUpdate {
        display_name: one(&f, "display_name").to_string(),
        dept_id: one(&f, "dept_id").parse().ok(),
        roles: roles_of(&f),
        active: !one(&f, "active").is_empty(),
    };
    match s.app.update_user(&u.user, id, update).await {
        Ok(_) => Redirect::to(&format!("/admin/users?saved=1#user-{id}")).into_response(),
        Err(e) => page(&s, &u, Some(error_text(u.tr, e)), false).await,
    }
}

async fn add_user(State(s): State<AppState>, u: UiUser, Form(f): Form<Vec<(String, String)>>) -> Response {
    let map: HashMap<String, String> = f.iter().cloned().collect();
    if let Err(r) = u.check_csrf(&map) {
        return r;
    }
    if !u.user.has_role(Role::SystemAdmin) {
        return error_page(u.tr, AppError::Forbidden);
    }
    let password = one(&f, "password");
    match s.app.add_user(Some(&u.user), one(&f, "username"), one(&f, "display_name"), Some(password), one(&f, "dept_id").parse().ok(), roles_of(&f)).await {
        Ok(x) => Redirect::to(&format!("/admin/users?saved=1#user-{}", x.id)).into_response(),
        Err(e) => page(&s, &u, Some(error_text(u.tr, e)), false).await,
    }
}
