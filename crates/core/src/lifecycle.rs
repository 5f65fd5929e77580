//! Keeping archives alive (动态管理): the dates an archive carries that someone must act on
//! (birthdays, credit valid-until, renewals, membership expiry, contract ends, planned visits,
//! remaining sessions), review cycles per grade, stale archives, and the customer pool (公海).
//!
//! The store keeps each archive's dates in a table written in the same transaction as the
//! archive (`archive_dates`), computed here by `archive_dates` from the document, its contacts
//! and its timeline, so that "what is due this month" is an index range scan, not a pass over
//! every document. Reminders are not stored: they are these dates (plus review and follow-up
//! times kept on the archive row) seen through a window relative to today.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::UnknownValue;

use crate::model::{ArchiveData, ContactData, EntryData, EntryKind, Grade};
use crate::templates::custom_date;

labelled_enum!(
    /// What an indexed archive date is.
    DateKind {
        Birthday = "birthday", "客户生日", "客戶生日", "Birthday";
        ContactBirthday = "contact_birthday", "联系人生日", "聯絡人生日", "Contact's birthday";
        CreditValidUntil = "credit_valid_until", "信用评估到期", "信用評估到期", "Credit assessment valid until";
        Renewal = "renewal", "续保/续约", "續保/續約", "Renewal";
        MembershipExpiry = "membership_expiry", "会员到期", "會員到期", "Membership expiry";
        ContractEnd = "contract_end", "合同到期", "合約到期", "Contract ends";
        PlannedVisit = "planned_visit", "计划回访", "計劃回訪", "Planned visit";
        RemainingSessions = "remaining_sessions", "剩余次数", "剩餘次數", "Remaining sessions";
    }
);

/// One indexed date (or, for remaining sessions, a number) of an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveDate {
    pub kind: DateKind,
    pub on: Option<NaiveDate>,
    /// The count, for `RemainingSessions`.
    pub num: Option<i64>,
    /// What the date belongs to: the contact's name, the contract number, the planned action.
    pub label: String,
}

impl ArchiveDate {
    fn date(kind: DateKind, on: NaiveDate, label: impl Into<String>) -> Self {
        ArchiveDate { kind, on: Some(on), num: None, label: label.into() }
    }

    /// Month × 100 + day, the key birthdays are looked up by (the year does not matter).
    pub fn month_day(&self) -> i64 {
        self.on.map(|d| i64::from(d.month()) * 100 + i64::from(d.day())).unwrap_or(0)
    }
}

/// Timeline entries still in force: those no later entry supersedes (corrections replace them).
pub fn effective_entries(entries: &[EntryData], ids: &[i64]) -> Vec<usize> {
    let superseded: std::collections::HashSet<i64> = entries.iter().filter_map(|e| e.supersedes).collect();
    (0..entries.len()).filter(|&i| !superseded.contains(&ids[i])).collect()
}

/// Every date of the archive someone may have to act on. `entries` are the effective timeline
/// entries (see `effective_entries`), in any order.
pub fn archive_dates(data: &ArchiveData, contacts: &[ContactData], entries: &[&EntryData]) -> Vec<ArchiveDate> {
    let mut out = Vec::new();
    if let Some(b) = data.person.as_ref().and_then(|p| p.birth_date) {
        out.push(ArchiveDate::date(DateKind::Birthday, b, ""));
    }
    for c in contacts {
        if let Some(b) = c.birthday {
            out.push(ArchiveDate::date(DateKind::ContactBirthday, b, c.name.clone()));
        }
    }
    if let Some(v) = data.credit.valid_until {
        out.push(ArchiveDate::date(DateKind::CreditValidUntil, v, ""));
    }
    match data.template.as_deref() {
        Some("insurance") => {
            if let Some(d) = custom_date(&data.custom, "renewal_on") {
                let label = data.custom.get("policy_no").and_then(|v| v.as_str()).unwrap_or_default();
                out.push(ArchiveDate::date(DateKind::Renewal, d, label));
            }
        }
        Some("vehicle") => {
            if let Some(d) = custom_date(&data.custom, "insurance_until") {
                let label = data.custom.get("plate_no").and_then(|v| v.as_str()).unwrap_or_default();
                out.push(ArchiveDate::date(DateKind::Renewal, d, label));
            }
        }
        Some("membership") => {
            let card = data.custom.get("card_no").and_then(|v| v.as_str()).unwrap_or_default().to_string();
            if let Some(d) = custom_date(&data.custom, "valid_until") {
                out.push(ArchiveDate::date(DateKind::MembershipExpiry, d, card.clone()));
            }
            let sessions = data.custom.get("remaining_sessions").and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())));
            if let Some(n) = sessions {
                out.push(ArchiveDate { kind: DateKind::RemainingSessions, on: None, num: Some(n), label: card });
            }
        }
        _ => {}
    }
    for e in entries {
        if e.kind == EntryKind::Contract {
            if let Some(end) = e.details.end_date {
                out.push(ArchiveDate::date(DateKind::ContractEnd, end, e.details.contract_no.clone().unwrap_or_else(|| e.summary.clone())));
            }
        }
    }
    // Only the latest entry's next step is still planned: a later entry means it happened or was replanned.
    if let Some(latest) = entries.iter().max_by_key(|e| e.occurred_on) {
        if let Some(on) = latest.details.next_action_on {
            out.push(ArchiveDate::date(DateKind::PlannedVisit, on, latest.details.next_action.clone().unwrap_or_else(|| latest.summary.clone())));
        }
    }
    out
}

/// The date of the most recent follow-up (跟进) among the entries: the pool's clock.
pub fn last_follow_up(entries: &[&EntryData]) -> Option<NaiveDate> {
    entries.iter().map(|e| e.occurred_on).max()
}

/// Days per grade (A, B, C, D, then archives without a grade).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PerGrade {
    pub a: i64,
    pub b: i64,
    pub c: i64,
    pub d: i64,
    pub ungraded: i64,
}

impl PerGrade {
    pub fn get(&self, grade: Option<Grade>) -> i64 {
        match grade {
            Some(Grade::A) => self.a,
            Some(Grade::B) => self.b,
            Some(Grade::C) => self.c,
            Some(Grade::D) => self.d,
            None => self.ungraded,
        }
    }

    pub fn all(&self) -> [(Option<Grade>, i64); 5] {
        [(Some(Grade::A), self.a), (Some(Grade::B), self.b), (Some(Grade::C), self.c), (Some(Grade::D), self.d), (None, self.ungraded)]
    }
}

/// The rules of keeping archives alive, changed by the administrator with the other policy
/// settings. Defaults from the seeds: A monthly, B quarterly, C/D yearly reviews; an archive not
/// updated for 30 days is stale (每月最少完善一次); birthdays of next month (the insurance
/// agent's monthly service list); fewer than 12 remaining sessions is low; the pool is off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct LifecycleSettings {
    /// Review cycle in days per grade (定期审查).
    pub review_days: PerGrade,
    /// Days without an update after which an archive is flagged stale.
    pub stale_days: i64,
    /// Credit assessments, renewals, memberships and contracts ending within this many days are listed.
    pub expiry_warning_days: i64,
    /// Planned visits within this many days (and overdue ones) are listed.
    pub visit_warning_days: i64,
    /// Remaining sessions below this are listed.
    pub low_sessions_below: i64,
    /// The customer pool (公海): on or off. Off by default: turning it on is the company's
    /// decision (the first sweep takes every long-neglected archive from its owner at once).
    pub pool_enabled: bool,
    /// Days without a follow-up after which a personal archive returns to the pool, per grade.
    pub pool_days: PerGrade,
    /// Archives one user may claim from the pool per day (每日领取上限).
    pub pool_claims_per_day: i64,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        LifecycleSettings {
            review_days: PerGrade { a: 30, b: 90, c: 365, d: 365, ungraded: 365 },
            stale_days: 30,
            expiry_warning_days: 30,
            visit_warning_days: 7,
            low_sessions_below: 12,
            pool_enabled: false,
            pool_days: PerGrade { a: 180, b: 90, c: 60, d: 30, ungraded: 60 },
            pool_claims_per_day: 10,
        }
    }
}

/// Longest period any of the day settings may have (10 years).
pub const MAX_DAYS: i64 = 3660;

impl LifecycleSettings {
    /// Every out-of-range value, each naming its field (`lifecycle.<field>`).
    pub fn validate(&self) -> Vec<crate::validate::FieldError> {
        use crate::validate::{ErrorCode, FieldError};
        let mut errors = Vec::new();
        let mut days = |name: &str, v: i64| {
            if !(1..=MAX_DAYS).contains(&v) {
                errors.push(FieldError::new(format!("lifecycle.{name}"), ErrorCode::Number));
            }
        };
        for (g, v) in self.review_days.all() {
            days(&format!("review_days.{}", g.map_or("ungraded", |g| g.as_str())), v);
        }
        for (g, v) in self.pool_days.all() {
            days(&format!("pool_days.{}", g.map_or("ungraded", |g| g.as_str())), v);
        }
        days("stale_days", self.stale_days);
        days("expiry_warning_days", self.expiry_warning_days);
        days("visit_warning_days", self.visit_warning_days);
        if !(0..=10_000).contains(&self.low_sessions_below) {
            errors.push(FieldError::new("lifecycle.low_sessions_below", ErrorCode::Number));
        }
        if !(0..=10_000).contains(&self.pool_claims_per_day) {
            errors.push(FieldError::new("lifecycle.pool_claims_per_day", ErrorCode::Number));
        }
        errors
    }
}

labelled_enum!(
    /// What a reminder (提醒) is about.
    ReminderKind {
        ReviewDue = "review_due", "定期审查到期", "定期審查到期", "Review due";
        Stale = "stale", "久未更新", "久未更新", "Not updated for long";
        CreditExpired = "credit_expired", "信用评估已过期", "信用評估已過期", "Credit assessment expired";
        CreditExpiring = "credit_expiring", "信用评估即将到期", "信用評估即將到期", "Credit assessment expiring";
        Birthday = "birthday", "生日", "生日", "Birthday";
        Renewal = "renewal", "续保/续约", "續保/續約", "Renewal";
        MembershipExpiry = "membership_expiry", "会员到期", "會員到期", "Membership expiry";
        ContractEnd = "contract_end", "合同到期", "合約到期", "Contract ends";
        LowSessions = "low_sessions", "剩余次数不足", "剩餘次數不足", "Few sessions left";
        PlannedVisit = "planned_visit", "计划回访", "計劃回訪", "Planned visit";
        LoanOverdue = "loan_overdue", "借阅逾期催还", "借閱逾期催還", "Overdue loan";
    }
);

/// The windows a reminder list looks through, relative to `today`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Windows {
    pub today: NaiveDate,
    /// Dates in [today, until] for expiries and renewals (and anything already past for credit).
    pub expiry_until: NaiveDate,
    pub visit_until: NaiveDate,
    /// Birthdays from today to the end of next month, as month-day ranges (the year wraps in December).
    pub birthday_ranges: Vec<(i64, i64)>,
    pub birthday_until: NaiveDate,
}

fn end_of_next_month(today: NaiveDate) -> NaiveDate {
    let (y, m) = if today.month() >= 11 { (today.year() + 1, today.month() - 10) } else { (today.year(), today.month() + 2) };
    NaiveDate::from_ymd_opt(y, m, 1).expect("first of month").pred_opt().expect("day before")
}

pub fn windows(settings: &LifecycleSettings, today: NaiveDate) -> Windows {
    let birthday_until = end_of_next_month(today);
    let md = |d: NaiveDate| i64::from(d.month()) * 100 + i64::from(d.day());
    let birthday_ranges = if birthday_until.year() == today.year() { vec![(md(today), md(birthday_until))] } else { vec![(md(today), 1231), (101, md(birthday_until))] };
    Windows {
        today,
        expiry_until: today + chrono::Duration::days(settings.expiry_warning_days),
        visit_until: today + chrono::Duration::days(settings.visit_warning_days),
        birthday_ranges,
        birthday_until,
    }
}

/// The next time a yearly date (a birthday) falls on or after `today`. 29 February is kept on
/// 28 February in common years.
pub fn next_anniversary(date: NaiveDate, today: NaiveDate) -> NaiveDate {
    let in_year = |y: i32| NaiveDate::from_ymd_opt(y, date.month(), date.day()).or_else(|| NaiveDate::from_ymd_opt(y, date.month(), date.day() - 1)).expect("valid day");
    let this = in_year(today.year());
    if this >= today {
        this
    } else {
        in_year(today.year() + 1)
    }
}

/// The reminder an indexed date gives at `today` (inside the windows), if any, with its due day.
/// The kind of reminder a date in the windows becomes; `before_today`: the date is before today
/// (only a credit assessment's valid-until tells expired from expiring by it).
pub fn reminder_kind_of(kind: DateKind, before_today: bool) -> ReminderKind {
    match kind {
        DateKind::Birthday | DateKind::ContactBirthday => ReminderKind::Birthday,
        DateKind::CreditValidUntil if before_today => ReminderKind::CreditExpired,
        DateKind::CreditValidUntil => ReminderKind::CreditExpiring,
        DateKind::Renewal => ReminderKind::Renewal,
        DateKind::MembershipExpiry => ReminderKind::MembershipExpiry,
        DateKind::ContractEnd => ReminderKind::ContractEnd,
        DateKind::PlannedVisit => ReminderKind::PlannedVisit,
        DateKind::RemainingSessions => ReminderKind::LowSessions,
    }
}

pub fn reminder_for(date: &ArchiveDate, settings: &LifecycleSettings, w: &Windows) -> Option<(ReminderKind, NaiveDate)> {
    let within = |d: NaiveDate, until: NaiveDate| d >= w.today && d <= until;
    match date.kind {
        DateKind::Birthday | DateKind::ContactBirthday => {
            let next = next_anniversary(date.on?, w.today);
            (next <= w.birthday_until).then_some((ReminderKind::Birthday, next))
        }
        DateKind::CreditValidUntil => {
            let d = date.on?;
            if d < w.today {
                Some((ReminderKind::CreditExpired, d))
            } else {
                within(d, w.expiry_until).then_some((ReminderKind::CreditExpiring, d))
            }
        }
        DateKind::Renewal => within(date.on?, w.expiry_until).then_some((ReminderKind::Renewal, date.on?)),
        DateKind::MembershipExpiry => within(date.on?, w.expiry_until).then_some((ReminderKind::MembershipExpiry, date.on?)),
        DateKind::ContractEnd => within(date.on?, w.expiry_until).then_some((ReminderKind::ContractEnd, date.on?)),
        // Overdue plans stay listed until a later entry replaces them.
        DateKind::PlannedVisit => (date.on? <= w.visit_until).then_some((ReminderKind::PlannedVisit, date.on?)),
        DateKind::RemainingSessions => (date.num? < settings.low_sessions_below).then_some((ReminderKind::LowSessions, w.today)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CustomerKind, EntryDetails, PersonInfo};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn entry(kind: EntryKind, on: &str) -> EntryData {
        EntryData { kind, occurred_on: d(on), summary: "拜访".into(), details: EntryDetails::default(), supersedes: None, correction_reason: None }
    }

    #[test]
    fn dates_come_from_the_document_contacts_and_timeline() {
        let mut a = ArchiveData::new(CustomerKind::Person, "张伟");
        a.person = Some(PersonInfo { birth_date: Some(d("1990-12-05")), ..Default::default() });
        a.credit.valid_until = Some(d("2027-01-31"));
        a.template = Some("membership".into());
        a.custom.insert("card_no".into(), "M001".into());
        a.custom.insert("valid_until".into(), "2026年12月20日".into());
        a.custom.insert("remaining_sessions".into(), 5.into());
        let contact = ContactData { name: "李娜".into(), title: None, mobile: None, landline: None, email: None, wechat: None, birthday: Some(d("1985-01-10")), preferences: None, is_primary: false };
        let mut contract = entry(EntryKind::Contract, "2026-01-01");
        contract.details.contract_no = Some("HT-9".into());
        contract.details.end_date = Some(d("2026-12-31"));
        let mut older = entry(EntryKind::Visit, "2026-10-01");
        older.details.next_action_on = Some(d("2026-10-15"));
        let mut latest = entry(EntryKind::Visit, "2026-11-20");
        latest.details.next_action_on = Some(d("2026-12-01"));
        latest.details.next_action = Some("送样品".into());
        let dates = archive_dates(&a, &[contact], &[&contract, &older, &latest]);
        let kinds: Vec<_> = dates.iter().map(|x| (x.kind, x.on, x.num, x.label.as_str())).collect();
        assert!(kinds.contains(&(DateKind::Birthday, Some(d("1990-12-05")), None, "")));
        assert!(kinds.contains(&(DateKind::ContactBirthday, Some(d("1985-01-10")), None, "李娜")));
        assert!(kinds.contains(&(DateKind::CreditValidUntil, Some(d("2027-01-31")), None, "")));
        assert!(kinds.contains(&(DateKind::MembershipExpiry, Some(d("2026-12-20")), None, "M001")));
        assert!(kinds.contains(&(DateKind::RemainingSessions, None, Some(5), "M001")));
        assert!(kinds.contains(&(DateKind::ContractEnd, Some(d("2026-12-31")), None, "HT-9")));
        // Only the latest entry's plan counts.
        assert!(kinds.contains(&(DateKind::PlannedVisit, Some(d("2026-12-01")), None, "送样品")));
        assert_eq!(dates.iter().filter(|x| x.kind == DateKind::PlannedVisit).count(), 1);
        assert_eq!(last_follow_up(&[&contract, &older, &latest]), Some(d("2026-11-20")));
    }

    #[test]
    fn superseded_entries_do_not_count() {
        let mut a = entry(EntryKind::Visit, "2026-11-01");
        a.details.next_action_on = Some(d("2026-11-10"));
        let mut b = entry(EntryKind::Visit, "2026-10-01");
        b.supersedes = Some(1);
        let keep = effective_entries(&[a, b], &[1, 2]);
        assert_eq!(keep, vec![1]);
    }

    #[test]
    fn birthday_window_runs_to_the_end_of_next_month_and_wraps_the_year() {
        let s = LifecycleSettings::default();
        let w = windows(&s, d("2026-11-30"));
        assert_eq!(w.birthday_until, d("2026-12-31"));
        assert_eq!(w.birthday_ranges, vec![(1130, 1231)]);
        let w = windows(&s, d("2026-12-15"));
        assert_eq!(w.birthday_until, d("2027-01-31"));
        assert_eq!(w.birthday_ranges, vec![(1215, 1231), (101, 131)]);
        let born = ArchiveDate::date(DateKind::Birthday, d("1980-01-20"), "");
        assert_eq!(reminder_for(&born, &s, &w), Some((ReminderKind::Birthday, d("2027-01-20"))));
        let later = ArchiveDate::date(DateKind::Birthday, d("1980-02-01"), "");
        assert_eq!(reminder_for(&later, &s, &w), None);
        // 29 February in a common year.
        assert_eq!(next_anniversary(d("2000-02-29"), d("2027-01-01")), d("2027-02-28"));
    }

    #[test]
    fn expiries_credit_and_sessions() {
        let s = LifecycleSettings::default();
        let w = windows(&s, d("2026-11-30"));
        let credit = |on| ArchiveDate::date(DateKind::CreditValidUntil, d(on), "");
        assert_eq!(reminder_for(&credit("2026-11-01"), &s, &w), Some((ReminderKind::CreditExpired, d("2026-11-01"))));
        assert_eq!(reminder_for(&credit("2026-12-20"), &s, &w), Some((ReminderKind::CreditExpiring, d("2026-12-20"))));
        assert_eq!(reminder_for(&credit("2027-03-01"), &s, &w), None);
        let renewal = ArchiveDate::date(DateKind::Renewal, d("2026-11-29"), "");
        assert_eq!(reminder_for(&renewal, &s, &w), None, "a renewal date already past is no longer a reminder");
        let low = ArchiveDate { kind: DateKind::RemainingSessions, on: None, num: Some(11), label: String::new() };
        assert!(reminder_for(&low, &s, &w).is_some());
        let enough = ArchiveDate { kind: DateKind::RemainingSessions, on: None, num: Some(12), label: String::new() };
        assert!(reminder_for(&enough, &s, &w).is_none());
        let overdue_visit = ArchiveDate::date(DateKind::PlannedVisit, d("2026-11-01"), "");
        assert_eq!(reminder_for(&overdue_visit, &s, &w), Some((ReminderKind::PlannedVisit, d("2026-11-01"))));
    }

    #[test]
    fn settings_are_checked() {
        assert!(LifecycleSettings::default().validate().is_empty());
        let s = LifecycleSettings { stale_days: 0, pool_days: PerGrade { a: -1, ..LifecycleSettings::default().pool_days }, ..Default::default() };
        let fields: Vec<String> = s.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, vec!["lifecycle.pool_days.A", "lifecycle.stale_days"]);
    }
}
