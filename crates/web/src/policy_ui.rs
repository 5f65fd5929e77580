//! 系统设置 → 策略设置: the access rules in force (read-only table), the grant durations, the
//! approval chains per tier × secrecy and the archive-room networks. The system administrator
//! changes them; the auditor and the general manager see them. Everything goes through
//! `App::policy_view` / `App::update_policy` (checked and audited there).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use dangan_app::policy::{may_edit, EffectivePolicy};
use dangan_app::AppError;
use dangan_core::lifecycle::{LifecycleSettings, PerGrade};
use dangan_core::policy::{ApprovalStep, ChainSetting, PolicySettings, MAX_CHAIN_STEPS, REQUESTABLE_SECRECY};
use dangan_core::{Secrecy, Tier};

use crate::i18n::Tr;
use crate::ui::{error_page, render, Chrome, UiUser};
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/admin/policy", get(policy_page)).route("/admin/policy/save", post(save_policy))
}

/// One select of a chain step: its form name and the chosen kind ("" for none).
pub struct StepSelect {
    pub name: String,
    pub chosen: &'static str,
}

pub struct ChainCell {
    pub id: String,
    pub secrecy: &'static str,
    pub steps: Vec<StepSelect>,
    /// The chain as read aloud: 主管经理 → 总经理.
    pub summary: String,
    pub error: Option<String>,
}

pub struct ChainRow {
    pub tier: &'static str,
    pub cells: Vec<ChainCell>,
}

/// A row of the read-only rules table.
pub struct RuleRow {
    pub what: &'static str,
    pub managed_by: &'static str,
    pub readers: &'static str,
    pub others: &'static str,
}

#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage {
    c: Chrome,
    editable: bool,
    version: i64,
    updated: String,
    grant_max_hours: String,
    secret_grant_max_hours: String,
    networks: String,
    kinds: Vec<(&'static str, &'static str)>,
    secrecy_heads: Vec<&'static str>,
    chains: Vec<ChainRow>,
    tier_rules: Vec<RuleRow>,
    secrecy_rules: Vec<(&'static str, &'static str)>,
    lc: LifecycleForm,
    errors: Vec<String>,
    field_errors: HashMap<String, String>,
    saved: bool,
}

/// The lifecycle section of the form, as typed (so a refused value is shown back).
#[derive(Clone)]
pub struct LifecycleForm {
    /// (form suffix, column head) per grade column.
    pub grades: Vec<(&'static str, String)>,
    pub review: Vec<String>,
    pub pool: Vec<String>,
    pub review_keys: Vec<String>,
    pub pool_keys: Vec<String>,
    /// (form name, label, value, error key)
    pub numbers: Vec<(&'static str, &'static str, String, String)>,
    pub pool_enabled: bool,
}

const GRADE_KEYS: [&str; 5] = ["A", "B", "C", "D", "ungraded"];
/// (form name, settings field, label key)
const LC_NUMBERS: [(&str, &str, &str); 5] = [
    ("lc_stale_days", "stale_days", "lc.stale_days"),
    ("lc_expiry_warning_days", "expiry_warning_days", "lc.expiry_warning_days"),
    ("lc_visit_warning_days", "visit_warning_days", "lc.visit_warning_days"),
    ("lc_low_sessions_below", "low_sessions_below", "lc.low_sessions_below"),
    ("lc_pool_claims_per_day", "pool_claims_per_day", "lc.pool_claims_per_day"),
];

impl LifecycleForm {
    fn of(tr: Tr, l: &LifecycleSettings, typed: Option<&HashMap<String, String>>) -> Self {
        let per = |g: &PerGrade| g.all().iter().map(|(_, d)| d.to_string()).collect::<Vec<_>>();
        let typed_or = |name: String, v: String| typed.and_then(|m| m.get(&name).cloned()).unwrap_or(v);
        let review = per(&l.review_days).into_iter().zip(GRADE_KEYS).map(|(v, g)| typed_or(format!("lc_review_{g}"), v)).collect();
        let pool = per(&l.pool_days).into_iter().zip(GRADE_KEYS).map(|(v, g)| typed_or(format!("lc_pool_{g}"), v)).collect();
        let values = [l.stale_days, l.expiry_warning_days, l.visit_warning_days, l.low_sessions_below, l.pool_claims_per_day];
        LifecycleForm {
            grades: GRADE_KEYS.iter().map(|g| (*g, if *g == "ungraded" { tr.t("lc.ungraded").to_string() } else { format!("{g}{}", tr.t("lc.grade_suffix")) })).collect(),
            review,
            pool,
            review_keys: GRADE_KEYS.iter().map(|g| format!("lifecycle.review_days.{g}")).collect(),
            pool_keys: GRADE_KEYS.iter().map(|g| format!("lifecycle.pool_days.{g}")).collect(),
            numbers: LC_NUMBERS.iter().zip(values).map(|((name, key, label), v)| (*name, tr.t(label), typed_or(name.to_string(), v.to_string()), format!("lifecycle.{key}"))).collect(),
            pool_enabled: l.pool_enabled,
        }
    }
}

/// Reads the lifecycle section of the form over the settings in force: a field the form does
/// not send keeps its value (a form without the section changes nothing there); an unreadable
/// number becomes -1, which validation refuses with the field's message.
fn lifecycle_from_form(map: &HashMap<String, String>, current: &LifecycleSettings) -> LifecycleSettings {
    let num = |k: &str, cur: i64| match map.get(k) {
        None => cur,
        Some(v) => v.trim().parse::<i64>().unwrap_or(-1),
    };
    let per = |prefix: &str, cur: &PerGrade| PerGrade {
        a: num(&format!("{prefix}A"), cur.a),
        b: num(&format!("{prefix}B"), cur.b),
        c: num(&format!("{prefix}C"), cur.c),
        d: num(&format!("{prefix}D"), cur.d),
        ungraded: num(&format!("{prefix}ungraded"), cur.ungraded),
    };
    LifecycleSettings {
        review_days: per("lc_review_", &current.review_days),
        pool_days: per("lc_pool_", &current.pool_days),
        stale_days: num("lc_stale_days", current.stale_days),
        expiry_warning_days: num("lc_expiry_warning_days", current.expiry_warning_days),
        visit_warning_days: num("lc_visit_warning_days", current.visit_warning_days),
        low_sessions_below: num("lc_low_sessions_below", current.low_sessions_below),
        pool_claims_per_day: num("lc_pool_claims_per_day", current.pool_claims_per_day),
        // An unticked checkbox sends nothing: the section's marker says the box was on the form.
        pool_enabled: if map.contains_key("lc_present") { map.get("lc_pool_enabled").is_some_and(|v| !v.is_empty()) } else { current.pool_enabled },
    }
}

impl PolicyPage {
    pub fn field_error(&self, key: &str) -> Option<&String> {
        self.field_errors.get(key)
    }
}

fn rules(tr: Tr) -> (Vec<RuleRow>, Vec<(&'static str, &'static str)>) {
    let tiers = vec![
        RuleRow { what: tr.t("policy.tier_company"), managed_by: tr.t("policy.tier_company_mgr"), readers: tr.t("policy.tier_company_read"), others: tr.t("policy.tier_company_others") },
        RuleRow { what: tr.t("policy.tier_dept"), managed_by: tr.t("policy.tier_dept_mgr"), readers: tr.t("policy.tier_dept_read"), others: tr.t("policy.tier_dept_others") },
        RuleRow { what: tr.t("policy.tier_personal"), managed_by: tr.t("policy.tier_personal_mgr"), readers: tr.t("policy.tier_personal_read"), others: tr.t("policy.tier_personal_others") },
    ];
    let secrecy = vec![
        (Secrecy::Normal.label(tr.lang), tr.t("policy.sec_normal")),
        (Secrecy::Secret.label(tr.lang), tr.t("policy.sec_secret")),
        (Secrecy::Confidential.label(tr.lang), tr.t("policy.sec_confidential")),
        (Secrecy::TopSecret.label(tr.lang), tr.t("policy.sec_top_secret")),
    ];
    (tiers, secrecy)
}

fn cell_id(tier: Tier, secrecy: Secrecy) -> String {
    format!("chain_{}_{}", tier.as_str(), secrecy.as_str())
}

fn chain_rows(tr: Tr, settings: &PolicySettings, field_errors: &HashMap<String, String>) -> Vec<ChainRow> {
    Tier::ALL
        .iter()
        .map(|&tier| ChainRow {
            tier: tier.label(tr.lang),
            cells: REQUESTABLE_SECRECY
                .iter()
                .map(|&secrecy| {
                    let chain = settings.chain_for(tier, secrecy);
                    let id = cell_id(tier, secrecy);
                    ChainCell {
                        // The chain's steps and one empty select to add a step (up to the limit).
                        steps: (0..(chain.len() + 1).min(MAX_CHAIN_STEPS)).map(|i| StepSelect { name: format!("{id}_{i}"), chosen: chain.get(i).map_or("", |s| s.as_str()) }).collect(),
                        summary: chain.iter().map(|s| s.label(tr.lang)).collect::<Vec<_>>().join(" → "),
                        error: field_errors.get(&format!("chains.{}.{}", tier.as_str(), secrecy.as_str())).cloned(),
                        id,
                        secrecy: secrecy.label(tr.lang),
                    }
                })
                .collect(),
        })
        .collect()
}

struct FormState {
    settings: PolicySettings,
    typed: Option<HashMap<String, String>>,
    grant_max_hours: String,
    secret_grant_max_hours: String,
    networks: String,
}

fn page(s: &AppState, u: &UiUser, c: Chrome, p: &EffectivePolicy, form: Option<FormState>, errors: Vec<(String, String)>, saved: bool) -> Response {
    let tr = u.tr;
    let field_errors: HashMap<String, String> = errors.iter().cloned().collect();
    let form = form.unwrap_or_else(|| FormState {
        grant_max_hours: p.settings.grant_max_hours.to_string(),
        secret_grant_max_hours: p.settings.secret_grant_max_hours.to_string(),
        networks: p.settings.archive_room_networks.join("\n"),
        settings: p.settings.clone(),
        typed: None,
    });
    let (tier_rules, secrecy_rules) = rules(tr);
    let updated = match p.updated_at {
        Some(at) => tr.fs("policy.updated", &[("v", &p.version.to_string()), ("at", &at.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M").to_string())]),
        None => tr.t("policy.defaults").to_string(),
    };
    let _ = s;
    let status = if errors.is_empty() { axum::http::StatusCode::OK } else { axum::http::StatusCode::UNPROCESSABLE_ENTITY };
    let page = PolicyPage {
        editable: may_edit(&u.user),
        version: p.version,
        updated,
        grant_max_hours: form.grant_max_hours,
        secret_grant_max_hours: form.secret_grant_max_hours,
        networks: form.networks,
        kinds: ApprovalStep::ALL.iter().map(|k| (k.as_str(), k.label(tr.lang))).collect(),
        secrecy_heads: REQUESTABLE_SECRECY.iter().map(|s| s.label(tr.lang)).collect(),
        chains: chain_rows(tr, &form.settings, &field_errors),
        lc: LifecycleForm::of(tr, &form.settings.lifecycle, form.typed.as_ref()),
        tier_rules,
        secrecy_rules,
        errors: errors.into_iter().map(|(_, m)| m).collect(),
        field_errors,
        saved,
        c,
    };
    (status, render(&page)).into_response()
}

async fn chrome(s: &AppState, u: &UiUser) -> Chrome {
    let mut c = Chrome::of(s, u).await;
    c.menu = "admin";
    c
}

async fn policy_page(State(s): State<AppState>, u: UiUser, Query(q): Query<HashMap<String, String>>) -> Response {
    let p = match s.app.policy_view(&u.user).await {
        Ok(p) => p,
        Err(e) => return error_page(u.tr, e),
    };
    let c = chrome(&s, &u).await;
    page(&s, &u, c, &p, None, Vec::new(), q.contains_key("saved"))
}

async fn save_policy(State(s): State<AppState>, u: UiUser, Form(f): Form<Vec<(String, String)>>) -> Response {
    let map: HashMap<String, String> = f.iter().cloned().collect();
    if let Err(r) = u.check_csrf(&map) {
        return r;
    }
    let tr = u.tr;
    let get = |k: &str| map.get(k).map(|v| v.trim().to_string()).unwrap_or_default();
    let mut chains = Vec::new();
    for &tier in Tier::ALL {
        for secrecy in REQUESTABLE_SECRECY {
            let id = cell_id(tier, secrecy);
            let steps = (0..MAX_CHAIN_STEPS).filter_map(|i| ApprovalStep::parse(&get(&format!("{id}_{i}")))).collect();
            chains.push(ChainSetting { tier, secrecy, steps });
        }
    }
    let networks_text = get("archive_room_networks");
    let current_lifecycle = match s.app.policy().await {
        Ok(p) => p.settings.lifecycle.clone(),
        Err(e) => return error_page(tr, e),
    };
    let form = FormState {
        settings: PolicySettings {
            // An unreadable number is refused by validation (0 is out of range), with the field's message.
            grant_max_hours: get("grant_max_hours").parse().unwrap_or(0),
            secret_grant_max_hours: get("secret_grant_max_hours").parse().unwrap_or(0),
            chains,
            archive_room_networks: networks_text.split(['\n', ',', '，', ';', '；']).map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect(),
            lifecycle: lifecycle_from_form(&map, &current_lifecycle),
        },
        typed: Some(map.clone()),
        grant_max_hours: get("grant_max_hours"),
        secret_grant_max_hours: get("secret_grant_max_hours"),
        networks: networks_text,
    };
    let version: i64 = get("version").parse().unwrap_or(-1);
    match s.app.update_policy(&u.user, version, form.settings.clone()).await {
        Ok(_) => Redirect::to("/admin/policy?saved=1").into_response(),
        Err(e) => {
            let errors: Vec<(String, String)> = match e {
                AppError::Validation(errs) => errs.iter().map(|e| (e.field.split('[').next().unwrap_or(&e.field).to_string(), e.message(tr.lang))).collect(),
                AppError::Conflict { .. } => vec![("version".into(), tr.t("policy.conflict").to_string())],
                other => return error_page(tr, other),
            };
            let p = match s.app.policy_view(&u.user).await {
                Ok(p) => p,
                Err(e) => return error_page(tr, e),
            };
            let c = chrome(&s, &u).await;
            page(&s, &u, c, &p, Some(form), errors, false)
        }
    }
}
