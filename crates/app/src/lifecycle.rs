//! Keeping archives alive (动态管理): reminders (提醒) on the dashboard and in a calendar feed,
//! periodic reviews, the customer pool (公海) and the handover when an employee leaves (离职交接).
//! Rules and windows are in `dangan_core::lifecycle`; the settings are part of the policy
//! settings (`PolicySettings::lifecycle`), so an administrator changes them on the same page.
//!
//! Every list here is a list of archives: it goes through the same list scope as the archive
//! list (`App::list_scope`), so a reminder never names an archive its reader may not see, and
//! reading it is recorded (`reminder.list`, `calendar.feed`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use dangan_core::audit::AuditAction;
use dangan_core::lifecycle::{self, DateKind, LifecycleSettings, ReminderKind};
use dangan_core::policy::Action;
use dangan_core::{ArchiveId, ArchiveSummary, Role, Tier, UserId};
use dangan_store::lifecycle::{ArchiveChange, DueDatesQuery, DueOrder, HandoverRecord, LoanHandover, Transfer};
use dangan_store::{ArchiveFilter, LoanKind, LoanQuery};
use serde::{Deserialize, Serialize};

use crate::{redact_top_secret, App, AppError, Principal, Result};

/// The most overdue loans a reminder list shows (a person has a handful).
const LIST_LIMIT: u32 = 500;
/// Archives the pool sweep moves per transaction.
const SWEEP_BATCH: usize = 200;

/// Whose reminders: the user's own archives and loans, or (a manager) the departments they manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReminderScope {
    Mine,
    Department,
}

/// The most reminders one page shows (the default is `DEFAULT_PAGE`); also the calendar feed's
/// most events (the soonest). An archive list page holds at most 1,000, which bounds the stale part.
pub const MAX_PAGE: usize = 1_000;
pub const DEFAULT_PAGE: usize = 300;

/// How reminders are read for a large book (the archives of an owner or a department subtree).
/// A book of more than `large_book` archives is read from the date indexes one window at a time
/// (each page stops after about its limit ÷ the book's share of the base), and its counts stop at
/// `count_cap` per window, shown as "at least" (1000+): counting every reminder of a book of
/// 150,000 archives walked all of them, several times, on every visit to the page (1.7–2.9 s at
/// 1M archives). A smaller book is walked whole: exact counts, at most `large_book` archives.
#[derive(Debug, Clone, Copy)]
pub struct ReminderReads {
    pub large_book: i64,
    pub count_cap: i64,
}

impl Default for ReminderReads {
    fn default() -> Self {
        ReminderReads { large_book: 20_000, count_cap: 1_000 }
    }
}

/// A page of reminders: the soonest first, how many there are in all, and per kind.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReminderPage {
    pub items: Vec<Reminder>,
    /// Reminders of the asked kind (or of all kinds) in all, of which `items` are the first.
    pub total: usize,
    /// `total` is a lower bound: a count of a large book stopped at its cap (shown as 1000+).
    pub total_at_least: bool,
    /// Reminders per kind, of all kinds.
    pub counts: Vec<KindCount>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KindCount {
    #[schema(value_type = String)]
    pub kind: ReminderKind,
    pub count: usize,
    /// `count` is a lower bound: counting stopped at the cap (a large book; see `ReminderReads`).
    pub at_least: bool,
}

/// One reminder (提醒): what, when, about which archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Reminder {
    #[schema(value_type = String)]
    pub kind: ReminderKind,
    /// The day it is about (the birthday this year, the expiry, the planned visit, the loan's due date).
    pub due_on: NaiveDate,
    pub archive_id: ArchiveId,
    pub archive_no: String,
    /// Empty for a 绝密 archive (its number only, as everywhere).
    pub name: String,
    pub owner_id: Option<UserId>,
    /// The contact, contract number, card or planned action it concerns; for a loan, its id.
    pub detail: String,
    /// A stable identifier (the calendar feed's UID).
    pub uid: String,
}

/// What `collect_reminders` found: a page and the counts per kind.
struct Collected {
    items: Vec<Reminder>,
    counts: Vec<KindCount>,
}

fn reminder(kind: ReminderKind, due_on: NaiveDate, a: &ArchiveSummary, detail: String) -> Reminder {
    let uid = format!("{}-{}-{}-{}@dangan", kind.as_str(), a.id, due_on, detail.chars().filter(|c| c.is_alphanumeric()).take(24).collect::<String>());
    Reminder { kind, due_on, archive_id: a.id, archive_no: a.archive_no.clone(), name: a.name.clone(), owner_id: a.owner_id, detail, uid }
}

/// The day in China (the seeds' offices), which is what "today" means for reminders.
pub fn today_in_china(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&crate::print::china()).date_naive()
}

/// Roles that see the handover page: managers of the sales line (who hand over) and the archivist (who files the lists).
pub const HANDOVER_ROLES: [Role; 5] = [Role::DeptManager, Role::SalesDirector, Role::SalesVp, Role::GeneralManager, Role::Archivist];

/// Who may hand over someone's archives: a manager of the leaver's department (or above in the
/// sales line: director, VP, general manager).
fn may_hand_over(actor: &dangan_core::policy::Actor, leaver: &dangan_core::User) -> bool {
    let senior = [Role::SalesDirector, Role::SalesVp, Role::GeneralManager].iter().any(|r| actor.roles.contains(r));
    senior || leaver.dept_id.is_some_and(|d| actor.managed_depts.contains(&d))
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct SweepResult {
    /// Archives returned to the pool.
    pub returned: usize,
    /// Archives skipped because they changed meanwhile (the next sweep looks again).
    pub skipped: usize,
}

impl App {
    async fn lifecycle_settings(&self) -> Result<LifecycleSettings> {
        Ok(self.policy().await?.settings.lifecycle.clone())
    }

    /// The filter of a reminder list: the user's own archives, or the departments they manage;
    /// always within what they may see.
    async fn reminder_filter(&self, p: &Principal, scope: ReminderScope) -> Result<ArchiveFilter> {
        let mut filter = ArchiveFilter { scope: Some(self.query_scope(p).await?), ..Default::default() };
        match scope {
            ReminderScope::Mine => filter.owner_id = Some(p.user.id),
            ReminderScope::Department => {
                let managed = self.actor(p).await?.managed_depts;
                if managed.is_empty() {
                    return Err(AppError::Forbidden);
                }
                filter.dept_ids = managed;
            }
        }
        Ok(filter)
    }

    /// Reminders at `now`, soonest first: review due, stale archives, expired or expiring credit,
    /// birthdays to the end of next month, renewals, memberships and contracts ending, low
    /// remaining sessions, planned visits, and (for one's own list) overdue loans.
    /// One page of them: of `kind` only if given, the first `limit` (soonest first), with the
    /// total and the count per kind of everything there is.
    pub async fn reminders(&self, p: &Principal, scope: ReminderScope, now: DateTime<Utc>, kind: Option<ReminderKind>, limit: usize) -> Result<ReminderPage> {
        let page = limit.clamp(1, MAX_PAGE);
        let found = self.collect_reminders(p, scope, now, &|k| kind.is_none_or(|x| x == k), page, true).await?;
        let counted = found.counts.iter().filter(|c| kind.is_none_or(|k| k == c.kind));
        let (total, total_at_least) = counted.fold((0, false), |(n, more), c| (n + c.count, more || c.at_least));
        let items = found.items;
        let detail = serde_json::json!({ "scope": scope, "kind": kind, "rows": items.len(), "total": total, "total_at_least": total_at_least });
        self.record(self.event(p, AuditAction::ReminderList).with_detail(detail)).await?;
        Ok(ReminderPage { items, total, total_at_least, counts: found.counts })
    }

    /// The first `page` reminders of the kinds `wants`, soonest first, and (`with_counts`) how
    /// many there are of every kind. Each source is asked for its own first `page` in the
    /// reminders' order (dates by day, birthdays by next anniversary, reviews by the last review
    /// less the grade's cycle, stale archives by the last change), so their merge holds the first
    /// `page` overall however many archives the reader has; the database counts the rest.
    async fn collect_reminders(&self, p: &Principal, scope: ReminderScope, now: DateTime<Utc>, wants: &(dyn Fn(ReminderKind) -> bool + Sync), page: usize, with_counts: bool) -> Result<Collected> {
        if !p.user.active {
            return Err(AppError::Forbidden);
        }
        let settings = self.lifecycle_settings().await?;
        let today = today_in_china(now);
        let w = lifecycle::windows(&settings, today);
        let filter = self.reminder_filter(p, scope).await?;
        let limit = page.clamp(1, MAX_PAGE) as u32;
        let mut out = Vec::new();
        let mut counts: HashMap<ReminderKind, usize> = HashMap::new();

        // Indexed dates. Credit: expired (before today) and expiring are two kinds of one date.
        let yesterday = today.pred_opt().unwrap_or(today);
        let credit = match (wants(ReminderKind::CreditExpired), wants(ReminderKind::CreditExpiring)) {
            (true, true) => Some((DateKind::CreditValidUntil, None, w.expiry_until)),
            (true, false) => Some((DateKind::CreditValidUntil, None, yesterday)),
            (false, true) => Some((DateKind::CreditValidUntil, Some(today), w.expiry_until)),
            (false, false) => None,
        };
        let dated = [
            (DateKind::Renewal, Some(today), w.expiry_until),
            (DateKind::MembershipExpiry, Some(today), w.expiry_until),
            (DateKind::ContractEnd, Some(today), w.expiry_until),
            (DateKind::PlannedVisit, None, w.visit_until),
        ];
        let birthdays: Vec<(DateKind, i64, i64)> = w.birthday_ranges.iter().flat_map(|&(a, b)| [(DateKind::Birthday, a, b), (DateKind::ContactBirthday, a, b)]).collect();
        let sessions = vec![(DateKind::RemainingSessions, settings.low_sessions_below)];
        // A large book is read from the date indexes, a window per query, and counted up to a
        // cap (`ReminderReads`); a small one is walked whole, its counts exact.
        let reads = self.settings.reminder_reads;
        let large = self.store.count_archives_upto(&filter, reads.large_book + 1).await? > reads.large_book;
        let cap = large.then_some(reads.count_cap.max(1));
        let none = DueDatesQuery { filter: filter.clone(), limit, from_dates: large, ..Default::default() };
        let all_dates = DueDatesQuery {
            date_ranges: std::iter::once((DateKind::CreditValidUntil, None, w.expiry_until)).chain(dated).collect(),
            month_day_ranges: birthdays.clone(),
            num_below: sessions.clone(),
            count_cap: cap,
            ..none.clone()
        };
        let date_ranges: Vec<_> = credit.into_iter().chain(dated.into_iter().filter(|(k, ..)| wants(lifecycle::reminder_kind_of(*k, false)))).collect();
        let from_today = w.birthday_ranges.first().map_or(0, |r| r.0);
        let birthday = DueDatesQuery { order: DueOrder::NextAnniversaryFrom(from_today), ..none.clone() };
        let mut date_pages: Vec<DueDatesQuery> = Vec::new();
        if large {
            // One window per query, so that each walks its index in the reminders' order.
            date_pages.extend(date_ranges.into_iter().map(|r| DueDatesQuery { date_ranges: vec![r], ..none.clone() }));
            if wants(ReminderKind::Birthday) {
                date_pages.extend(birthdays.into_iter().map(|r| DueDatesQuery { month_day_ranges: vec![r], ..birthday.clone() }));
            }
        } else {
            date_pages.extend((!date_ranges.is_empty()).then(|| DueDatesQuery { date_ranges, ..none.clone() }));
            date_pages.extend(wants(ReminderKind::Birthday).then(|| DueDatesQuery { month_day_ranges: birthdays, ..birthday.clone() }));
        }
        date_pages.extend(wants(ReminderKind::LowSessions).then(|| DueDatesQuery { num_below: sessions, ..none.clone() }));
        // Reviews: due = last review (or creation) + the grade's cycle (the query orders by it).
        let cutoffs: dangan_store::lifecycle::GradeCutoffs = settings.review_days.all().iter().map(|(g, days)| (*g, now - Duration::days(*days))).collect();
        // Stale archives: longest unchanged first.
        let stale = ArchiveFilter { updated_to: Some(now - Duration::days(settings.stale_days)), ..filter.clone() };
        let stale_q = wants(ReminderKind::Stale).then(|| dangan_store::ArchiveQuery { filter: stale.clone(), sort: dangan_store::SortOrder::UpdatedAsc, after: None, limit });

        // The sources and their counts are independent reads: one round of concurrent queries
        // (separate pooled connections on PostgreSQL, the reader pool on SQLite).
        let store = &self.store;
        let (date_counts, review_count, stale_count, date_rows, review_rows, stale_rows) = tokio::try_join!(
            async { Ok::<_, AppError>(if with_counts { store.count_due_dates(&all_dates, today).await? } else { Vec::new() }) },
            async { Ok::<_, AppError>(if with_counts { Some(store.count_review_due(&filter, &cutoffs, cap).await?) } else { None }) },
            async {
                Ok::<_, AppError>(match (with_counts, cap) {
                    (false, _) => None,
                    (true, Some(cap)) => Some(store.count_archives_upto(&stale, cap).await?),
                    (true, None) => Some(store.count_archives(&stale).await?),
                })
            },
            async {
                let mut rows = Vec::new();
                for q in &date_pages {
                    rows.extend(store.due_dates(q).await?);
                }
                Ok::<_, AppError>(rows)
            },
            async { Ok::<_, AppError>(if wants(ReminderKind::ReviewDue) { store.review_due(&filter, &cutoffs, limit, large).await? } else { Vec::new() }) },
            async { Ok::<_, AppError>(match &stale_q { Some(q) => store.list_archives(q).await?, None => Vec::new() }) },
        )?;
        // A count that reached the cap is a lower bound.
        let reached = |n: i64| cap.is_some_and(|c| n >= c);
        let mut at_least: std::collections::HashSet<ReminderKind> = Default::default();
        for c in date_counts {
            let kind = lifecycle::reminder_kind_of(c.kind, c.before_day);
            *counts.entry(kind).or_default() += c.count as usize;
            if reached(c.count) {
                at_least.insert(kind);
            }
        }
        if let Some(n) = review_count {
            counts.insert(ReminderKind::ReviewDue, n as usize);
            if reached(n) {
                at_least.insert(ReminderKind::ReviewDue);
            }
        }
        if let Some(n) = stale_count {
            counts.insert(ReminderKind::Stale, n as usize);
            if reached(n) {
                at_least.insert(ReminderKind::Stale);
            }
        }
        for mut d in date_rows {
            redact_top_secret(&mut d.archive);
            if let Some((kind, due_on)) = lifecycle::reminder_for(&d.date, &settings, &w).filter(|(k, _)| wants(*k)) {
                let detail = match d.date.kind {
                    DateKind::RemainingSessions => format!("{} {}", d.date.label, d.date.num.unwrap_or_default()).trim().to_string(),
                    _ => d.date.label.clone(),
                };
                out.push(reminder(kind, due_on, &d.archive, detail));
            }
        }
        for mut r in review_rows {
            redact_top_secret(&mut r.archive);
            let days = settings.review_days.get(r.archive.grade);
            let due = today_in_china(r.since + Duration::days(days));
            out.push(reminder(ReminderKind::ReviewDue, due, &r.archive, String::new()));
        }
        for mut a in stale_rows {
            redact_top_secret(&mut a);
            let since = today_in_china(a.updated_at);
            out.push(reminder(ReminderKind::Stale, since + Duration::days(settings.stale_days), &a, since.to_string()));
        }

        if scope == ReminderScope::Mine {
            let loans = self.store.list_loans(&LoanQuery { borrower_id: Some(p.user.id), open_only: true, overdue_at: Some(now), limit: LIST_LIMIT }).await?;
            counts.insert(ReminderKind::LoanOverdue, loans.len());
            if wants(ReminderKind::LoanOverdue) {
                for loan in loans {
                    let archive = self.store.get_archive(loan.archive_id).await?.ok_or(AppError::NotFound)?;
                    let mut s = summary_of(&archive);
                    redact_top_secret(&mut s);
                    out.push(reminder(ReminderKind::LoanOverdue, today_in_china(loan.due_at), &s, format!("JY-{:06}", loan.id)));
                }
            }
        }
        // Fully ordered (the detail tells a customer's birthday from a contact's on the same day),
        // so that a page is the head of the list however the sources were read.
        out.sort_by(|a, b| a.due_on.cmp(&b.due_on).then(a.archive_id.cmp(&b.archive_id)).then(a.kind.cmp(&b.kind)).then_with(|| a.detail.cmp(&b.detail)));
        out.truncate(page);
        let mut counts: Vec<KindCount> = counts.into_iter().filter(|(_, n)| *n > 0).map(|(kind, count)| KindCount { kind, count, at_least: at_least.contains(&kind) }).collect();
        counts.sort_by_key(|c| c.kind);
        Ok(Collected { items: out, counts })
    }

    /// Records a periodic review (定期审查) of an archive: whoever may edit it.
    pub async fn mark_reviewed(&self, p: &Principal, id: ArchiveId) -> Result<()> {
        self.archive_for(p, id, Action::Edit).await?;
        Ok(self.store.mark_reviewed(id, &self.event(p, AuditAction::ArchiveReview)).await?)
    }

    // --- the calendar feed ---

    /// Issues (or replaces) the user's secret calendar-feed token; the URL is shown once.
    pub async fn issue_calendar_token(&self, p: &Principal) -> Result<String> {
        if !p.user.active {
            return Err(AppError::Forbidden);
        }
        let token = crate::auth::random_token();
        self.store.set_calendar_token(p.user.id, &crate::auth::token_hash(&token), &self.event(p, AuditAction::CalendarToken)).await?;
        Ok(token)
    }

    pub async fn has_calendar_token(&self, p: &Principal) -> Result<bool> {
        Ok(self.store.has_calendar_token(p.user.id).await?)
    }

    /// The iCalendar feed behind a token: the user's own reminders as all-day events. An unknown
    /// token (or a disabled user's) is `NotFound`.
    pub async fn calendar_feed(&self, token: &str, client: crate::audit::ClientInfo, now: DateTime<Utc>) -> Result<String> {
        let user = self.store.calendar_user(&crate::auth::token_hash(token)).await?.ok_or(AppError::NotFound)?;
        let p = Principal::new(user, false).with_client(client);
        // Events on a day: review-due and stale archives are lists to work through, not dates.
        let dated = |k: ReminderKind| !matches!(k, ReminderKind::ReviewDue | ReminderKind::Stale);
        let reminders = self.collect_reminders(&p, ReminderScope::Mine, now, &dated, MAX_PAGE, false).await?.items;
        self.record(self.event(&p, AuditAction::CalendarFeed).with_detail(serde_json::json!({ "rows": reminders.len() }))).await?;
        Ok(ics(&reminders, &p.user.display_name, now))
    }

    // --- the customer pool (公海) ---

    /// The pool as the user sees it: archives nobody is responsible for, within their scope.
    pub async fn pool(&self, p: &Principal, cursor: Option<&str>, limit: u32) -> Result<crate::Page<ArchiveSummary>> {
        let filter = ArchiveFilter { unowned: true, ..Default::default() };
        self.list_archives(p, filter, dangan_store::SortOrder::UpdatedDesc, cursor, limit, true).await
    }

    /// How many archives the user claimed today (China time), from the audit trail.
    async fn claims_today(&self, user_id: UserId, now: DateTime<Utc>) -> Result<usize> {
        let start = today_in_china(now).and_hms_opt(0, 0, 0).expect("midnight").and_local_timezone(crate::print::china()).single().expect("fixed offset").with_timezone(&Utc);
        let q = dangan_store::AuditQuery { user_id: Some(user_id), action: Some(AuditAction::PoolClaim.code().to_string()), from: Some(start), limit: 10_000, ..Default::default() };
        Ok(self.store.list_audit(&q).await?.len())
    }

    /// Claims an archive from the pool (领取): it becomes the user's personal archive. Within the
    /// daily limit; an archive someone else claimed first is a `Conflict`.
    pub async fn claim(&self, p: &Principal, id: ArchiveId) -> Result<dangan_core::Archive> {
        let settings = self.lifecycle_settings().await?;
        if !settings.pool_enabled {
            return Err(AppError::Invalid { zh: "公海未启用".into(), en: "the customer pool is off".into() });
        }
        self.archive_for(p, id, Action::Read).await?;
        let stored = self.store.get_archive(id).await?.ok_or(AppError::NotFound)?;
        if stored.data.owner_id.is_some() {
            return Err(AppError::Invalid { zh: "该档案不在公海中（已有负责人）".into(), en: "this archive is not in the pool (it has an owner)".into() });
        }
        let now = Utc::now();
        let limit = settings.pool_claims_per_day as usize;
        if self.claims_today(p.user.id, now).await? >= limit {
            return Err(AppError::Invalid { zh: format!("今日领取已达上限（{limit} 份）"), en: format!("today's claim limit ({limit}) is reached") });
        }
        let mut data = stored.data.clone();
        data.owner_id = Some(p.user.id);
        data.dept_id = p.user.dept_id.or(data.dept_id);
        data.tier = Tier::Personal;
        let change = ArchiveChange { id, expected_version: stored.version, data, reason: Some("从公海领取".into()), audit: self.event(p, AuditAction::PoolClaim) };
        self.store.transfer(&Transfer { changes: vec![change], ..Default::default() }).await?;
        self.archive_for(p, id, Action::Read).await
    }

    /// Returns personal archives without a follow-up for their grade's period to the pool: the
    /// owner is cleared and the archive becomes a department archive (its department's staff
    /// see it and may claim it). Run by the server's schedule and `dangan jobs run pool`.
    pub async fn sweep_pool(&self, now: DateTime<Utc>) -> Result<SweepResult> {
        let settings = self.lifecycle_settings().await?;
        let mut result = SweepResult::default();
        if !settings.pool_enabled {
            return Ok(result);
        }
        let today = today_in_china(now);
        let cutoffs = settings.pool_days.all().iter().map(|(g, d)| (*g, today - Duration::days(*d))).collect();
        loop {
            let due = self.store.follow_up_overdue(&cutoffs, SWEEP_BATCH as u32).await?;
            if due.is_empty() {
                break;
            }
            let mut changes = Vec::new();
            for d in &due {
                let Some(a) = self.store.get_archive(d.id).await? else { continue };
                if a.version != d.version {
                    result.skipped += 1;
                    continue;
                }
                let mut data = a.data.clone();
                let from = data.owner_id.take();
                data.tier = Tier::Department;
                let days = settings.pool_days.get(data.classification.grade);
                let audit = self.system_event(AuditAction::PoolReturn, "scheduler").with_detail(serde_json::json!({ "from_owner": from, "days_without_follow_up": days }));
                changes.push(ArchiveChange { id: a.id, expected_version: a.version, data, reason: Some(format!("{days} 天未跟进，退回公海")), audit });
            }
            let n = changes.len();
            match self.store.transfer(&Transfer { changes, ..Default::default() }).await {
                Ok(_) => result.returned += n,
                // Someone changed one meanwhile: leave this batch to the next sweep.
                Err(dangan_store::StoreError::Conflict { .. }) => {
                    result.skipped += n;
                    break;
                }
                Err(e) => return Err(e.into()),
            }
            if due.len() < SWEEP_BATCH || n == 0 {
                break;
            }
        }
        Ok(result)
    }

    // --- handover (离职交接) ---

    /// Hands over everything of a leaving employee in one transaction: their archives (shared
    /// out in turn among `recipients`), their open paper loans (each to a recipient, recorded as
    /// returned and lent anew: a loan never changes borrower), and their open reminders (which
    /// follow the archives). Their electronic loans end; their account is disabled.
    pub async fn hand_over(&self, p: &Principal, leaver_id: UserId, recipients: &[UserId], note: &str) -> Result<HandoverRecord> {
        let actor = self.actor(p).await?;
        let leaver = self.store.get_user(leaver_id).await?.ok_or(AppError::NotFound)?;
        if !p.user.active || !may_hand_over(&actor, &leaver) {
            return Err(AppError::Forbidden);
        }
        if leaver_id == p.user.id {
            return Err(AppError::Invalid { zh: "不能为自己办理离职交接".into(), en: "you cannot hand over your own archives".into() });
        }
        if recipients.is_empty() {
            return Err(AppError::Invalid { zh: "请至少选择一名接收人".into(), en: "choose at least one recipient".into() });
        }
        let mut to = Vec::new();
        for r in recipients {
            match self.store.get_user(*r).await? {
                Some(u) if u.active && u.id != leaver_id => to.push(u),
                _ => return Err(AppError::Invalid { zh: format!("接收人 {r} 不存在、已停用或就是离职人员"), en: format!("recipient {r} is unknown, disabled or the leaver") }),
            }
        }
        let filter = ArchiveFilter { owner_id: Some(leaver_id), ..Default::default() };
        let mut owned = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.list_archives(&dangan_store::ArchiveQuery { filter: filter.clone(), sort: dangan_store::SortOrder::CreatedAsc, after, limit: 1000 }).await?;
            let done = page.len() < 1000;
            after = page.last().map(|a| dangan_store::Cursor { id: a.id, updated_micros: None });
            owned.extend(page);
            if done {
                break;
            }
        }
        let reason = format!("离职交接：{}", leaver.display_name);
        let mut changes = Vec::new();
        for (i, s) in owned.iter().enumerate() {
            let a = self.store.get_archive(s.id).await?.ok_or(AppError::NotFound)?;
            let r = &to[i % to.len()];
            let mut data = a.data.clone();
            data.owner_id = Some(r.id);
            if data.tier == Tier::Personal {
                data.dept_id = r.dept_id.or(data.dept_id);
            }
            let audit = self.event(p, AuditAction::ArchiveTransfer).with_detail(serde_json::json!({ "handover_from": leaver_id, "to": r.id }));
            changes.push(ArchiveChange { id: a.id, expected_version: a.version, data, reason: Some(reason.clone()), audit });
        }
        let open = self.store.list_loans(&LoanQuery { borrower_id: Some(leaver_id), open_only: true, overdue_at: None, limit: 10_000 }).await?;
        let loans = open
            .iter()
            .enumerate()
            .map(|(i, l)| LoanHandover {
                loan_id: l.id,
                to_user: (l.kind == LoanKind::Paper).then(|| to[i % to.len()].id),
                note: reason.clone(),
                return_audit: self.event(p, AuditAction::LoanReturn),
                lend_audit: self.event(p, AuditAction::LoanLend),
            })
            .collect();
        let note = note.trim().to_string();
        let summary = self.event(p, AuditAction::UserHandover).with_detail(serde_json::json!({
            "leaver": leaver_id, "recipients": recipients, "archives": changes.len(), "loans": open.len(), "note": note,
        }));
        let t = Transfer { changes, loans, disable_user: Some(leaver_id), handover: Some((leaver_id, p.user.id, Utc::now(), note)), audit: vec![summary] };
        let result = self.store.transfer(&t).await?;
        // The leaver's sessions are gone from the database: forget the cached ones too.
        self.sessions.clear();
        let id = result.handover_id.ok_or_else(|| AppError::Internal("handover not recorded".into()))?;
        self.store.get_handover(id).await?.ok_or(AppError::NotFound)
    }

    /// Who may see handover lists: whoever may hand over (managers of the sales line) and the
    /// archivist, who files them.
    fn may_view_handovers(actor: &dangan_core::policy::Actor) -> bool {
        HANDOVER_ROLES.iter().any(|r| actor.roles.contains(r))
    }

    pub async fn handovers(&self, p: &Principal) -> Result<Vec<HandoverRecord>> {
        let actor = self.actor(p).await?;
        if !Self::may_view_handovers(&actor) {
            return Err(AppError::Forbidden);
        }
        Ok(self.store.list_handovers(200).await?)
    }

    pub async fn handover(&self, p: &Principal, id: i64) -> Result<HandoverRecord> {
        let actor = self.actor(p).await?;
        if !Self::may_view_handovers(&actor) {
            return Err(AppError::Forbidden);
        }
        self.store.get_handover(id).await?.ok_or(AppError::NotFound)
    }

    /// The printable handover list (移交清单), watermarked and audited like every print.
    pub async fn print_handover_list(&self, p: &Principal, id: i64) -> Result<Vec<u8>> {
        let h = self.handover(p, id).await?;
        let users: HashMap<i64, dangan_core::User> = self.store.list_users().await?.into_iter().map(|u| (u.id, u)).collect();
        let name = |id: i64| users.get(&id).map(|u| u.display_name.clone()).unwrap_or_else(|| id.to_string());
        let mut to_names: Vec<String> = Vec::new();
        for i in &h.items {
            let n = name(i.to_user);
            if !to_names.contains(&n) {
                to_names.push(n);
            }
        }
        let mut items = Vec::new();
        for i in &h.items {
            let a = self.store.get_archive_by_no(&i.archive_no).await?;
            let (secrecy, retention) = a.as_ref().map(|a| (a.data.secrecy, a.data.retention_class)).unwrap_or((dangan_core::Secrecy::Normal, dangan_core::RetentionClass::Y30));
            let customer_name = if secrecy == dangan_core::Secrecy::TopSecret { String::new() } else { i.name.clone() };
            let what = if i.kind == "loan" { format!("借阅中的纸质档案 → {}", name(i.to_user)) } else { format!("接收人：{}", name(i.to_user)) };
            items.push(dangan_pdf::HandoverItem { archive_no: i.archive_no.clone(), customer_name, secrecy, retention, pieces: None, note: Some(what) });
        }
        let input = dangan_pdf::HandoverListInput {
            list_no: format!("YJ-{:06}", h.id),
            handed_over_on: today_in_china(h.at),
            from_party: name(h.from_user),
            to_party: to_names.join("、"),
            supervisor: Some(name(h.by_user)),
            reason: Some(if h.note.is_empty() { "业务员离职交接".to_string() } else { format!("业务员离职交接：{}", h.note) }),
            items,
        };
        let e = self.event(p, AuditAction::ArchivePrint).with_fields(&["handover_list"]).with_detail(serde_json::json!({ "handover_id": h.id }));
        self.record(e).await?;
        let wm = self.watermark(p, Some(input.list_no.clone()));
        Self::render(move || dangan_pdf::render_handover_list(&input, &wm)).await
    }
}

fn summary_of(a: &dangan_core::Archive) -> ArchiveSummary {
    ArchiveSummary {
        id: a.id,
        archive_no: a.archive_no.clone(),
        kind: a.data.kind,
        name: a.data.name.clone(),
        grade: a.data.classification.grade,
        credit_grade: a.data.credit.grade,
        blacklisted: a.data.credit.blacklisted,
        status: a.data.status,
        industry: a.data.classification.industry.clone(),
        province: a.data.classification.province.clone(),
        city: a.data.classification.city.clone(),
        owner_id: a.data.owner_id,
        dept_id: a.data.dept_id,
        tier: a.data.tier,
        secrecy: a.data.secrecy,
        mobile: None,
        updated_at: a.updated_at,
    }
}

/// The reminders as an iCalendar (RFC 5545) document: one all-day event each, with a stable UID
/// so that a subscribed calendar updates rather than duplicates.
pub fn ics(reminders: &[Reminder], who: &str, now: DateTime<Utc>) -> String {
    use icalendar::{Calendar, Component, Event, EventLike};
    let mut cal = Calendar::new();
    cal.name(&format!("档案提醒 · {who}"));
    for r in reminders {
        let title = if r.name.is_empty() { r.archive_no.clone() } else { r.name.clone() };
        let summary = format!("{}：{}", r.kind.label("zh-CN"), title);
        let mut description = format!("档号 {}", r.archive_no);
        if !r.detail.is_empty() {
            description.push_str(&format!("\n{}", r.detail));
        }
        let event = Event::new().uid(&r.uid).summary(&summary).description(&description).all_day(r.due_on).timestamp(now).done();
        cal.push(event);
    }
    cal.done().to_string()
}
