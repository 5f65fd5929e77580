//! Document checklists (材料清单): which papers an archive of a kind must hold, when they are due
//! and which are missing.
//!
//! - A **checklist** (`ChecklistDef`) names its items (key, zh/en label, required or not), the
//!   archives it applies to (industry templates, or `person` / `organization` for archives
//!   without one), the start event its deadline counts from (the first present of some date
//!   custom fields — e.g. the vehicle's 交车日期 — else the archive's creation) and the deadline
//!   in **working days** (default 3: 新车档案由销售部在销售车3个工作日内交于客户档案管理员).
//! - The **working-day calendar** (`WorkCalendar`): Monday to Friday, minus the configured
//!   public holidays, plus the configured adjusted working days (调休: a Saturday or Sunday that
//!   is worked). Day *n* of a deadline is the *n*-th working day after the start day.
//! - An item is **satisfied** by a scan tagged with its key (an attachment) or by the archivist
//!   ticking it as received on paper. The marks are append-only events (`Mark`); the item's state
//!   is their fold, so every tick and untick stays on record.
//! - **Completeness** counts required items only: `done / required` as a whole percentage
//!   (100 when nothing is required). **Overdue**: a required item still missing after the due
//!   date (the local date, UTC+8, is past it).
//!
//! Settings (`ChecklistSettings`: the checklists, the default deadline, holidays and 调休 days)
//! are data an administrator changes; `ChecklistSettings::default()` is the seeds' set with the
//! 2026 public holidays of the State Council's notice.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::model::{CustomerKind, UserId};

/// Longest deadline a checklist may have, in working days.
pub const MAX_DEADLINE_DAYS: u32 = 60;
/// Longest single holiday/workday range, in days.
pub const MAX_RANGE_DAYS: i64 = 31;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChecklistItem {
    /// Stable key, e.g. `invoice`; attachments are tagged with it.
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    /// Counts towards completeness and the deadline (optional items are shown, not chased).
    #[serde(default = "yes")]
    pub required: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChecklistDef {
    /// Stable key, e.g. `vehicle_new`.
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    /// Template names (`vehicle`, `hotel_guest` …) or `person` / `organization` (archives
    /// without a template).
    pub applies_to: Vec<String>,
    /// Working days to hand the papers in; absent: the default deadline.
    #[serde(default)]
    pub deadline_days: Option<u32>,
    /// Date custom fields the deadline counts from, the first present wins; none present (or
    /// none listed): the archive's creation date.
    #[serde(default)]
    pub start_fields: Vec<String>,
    /// The checklist applies only once one of `start_fields` has a date (e.g. the after-sales
    /// file exists only after a service).
    #[serde(default)]
    pub requires_start_field: bool,
    pub items: Vec<ChecklistItem>,
}

/// Consecutive days with a name (春节, 国庆节调休上班 …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayRange {
    pub from: NaiveDate,
    /// Last day, inclusive; absent: one day.
    #[serde(default)]
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub name: String,
}

impl DayRange {
    pub fn last(&self) -> NaiveDate {
        self.to.unwrap_or(self.from)
    }
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        let last = self.last();
        self.from.iter_days().take_while(move |d| *d <= last)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChecklistSettings {
    /// Deadline of checklists that name none, in working days (the seeds: 3).
    pub default_deadline_days: u32,
    /// Public holidays (no work, also on weekdays).
    pub holidays: Vec<DayRange>,
    /// Adjusted working days (调休): weekend days that are worked.
    pub workdays: Vec<DayRange>,
    pub checklists: Vec<ChecklistDef>,
}

/// A problem in settings sent for saving, said in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingsError {
    pub field: String,
    pub zh: String,
    pub en: String,
}

fn err(field: impl Into<String>, zh: impl Into<String>, en: impl Into<String>) -> SettingsError {
    SettingsError { field: field.into(), zh: zh.into(), en: en.into() }
}

fn key_ok(k: &str) -> bool {
    !k.is_empty() && k.len() <= 40 && k.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl ChecklistSettings {
    pub fn find(&self, key: &str) -> Option<&ChecklistDef> {
        self.checklists.iter().find(|c| c.key == key)
    }

    pub fn calendar(&self) -> WorkCalendar {
        WorkCalendar::new(&self.holidays, &self.workdays)
    }

    pub fn deadline_of(&self, c: &ChecklistDef) -> u32 {
        c.deadline_days.unwrap_or(self.default_deadline_days)
    }

    /// Trims labels and names, sorts the calendar ranges.
    pub fn normalized(mut self) -> Self {
        for r in self.holidays.iter_mut().chain(self.workdays.iter_mut()) {
            r.name = r.name.trim().to_string();
            if r.to == Some(r.from) {
                r.to = None;
            }
        }
        self.holidays.sort_by_key(|r| r.from);
        self.workdays.sort_by_key(|r| r.from);
        for c in &mut self.checklists {
            c.key = c.key.trim().to_string();
            c.label_zh = c.label_zh.trim().to_string();
            c.label_en = c.label_en.trim().to_string();
            c.applies_to = c.applies_to.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
            c.start_fields = c.start_fields.iter().map(|a| a.trim().to_string()).filter(|a| !a.is_empty()).collect();
            for i in &mut c.items {
                i.key = i.key.trim().to_string();
                i.label_zh = i.label_zh.trim().to_string();
                i.label_en = i.label_en.trim().to_string();
            }
        }
        self
    }

    /// Every problem, each naming its field (`holidays[2]`, `checklists[0].items[3].key` …).
    pub fn validate(&self) -> Vec<SettingsError> {
        let mut errors = Vec::new();
        if !(1..=MAX_DEADLINE_DAYS).contains(&self.default_deadline_days) {
            errors.push(err("default_deadline_days", format!("默认期限须为1到{MAX_DEADLINE_DAYS}个工作日"), format!("The default deadline must be 1 to {MAX_DEADLINE_DAYS} working days")));
        }
        let mut holiday_days = BTreeSet::new();
        for (list, name, zh) in [(&self.holidays, "holidays", "节假日"), (&self.workdays, "workdays", "调休上班日")] {
            if list.len() > 500 {
                errors.push(err(name, format!("{zh}最多500条"), format!("At most 500 {name}")));
            }
            for (i, r) in list.iter().enumerate() {
                let span = (r.last() - r.from).num_days();
                if span < 0 {
                    errors.push(err(format!("{name}[{i}]"), format!("{zh}第{}条：结束日期早于开始日期", i + 1), format!("{name} line {}: ends before it starts", i + 1)));
                } else if span >= MAX_RANGE_DAYS {
                    errors.push(err(format!("{name}[{i}]"), format!("{zh}第{}条：一段最长{MAX_RANGE_DAYS}天", i + 1), format!("{name} line {}: at most {MAX_RANGE_DAYS} days in one range", i + 1)));
                } else if name == "holidays" {
                    holiday_days.extend(r.days());
                } else if let Some(d) = r.days().find(|d| holiday_days.contains(d)) {
                    errors.push(err(format!("{name}[{i}]"), format!("{d}既是节假日又是调休上班日"), format!("{d} is both a holiday and an adjusted working day")));
                } else if let Some(d) = r.days().find(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)) {
                    errors.push(err(format!("{name}[{i}]"), format!("{d}是工作日，无需调休"), format!("{d} is a weekday already; adjusted working days are weekend days")));
                }
            }
        }
        let mut keys = BTreeSet::new();
        for (ci, c) in self.checklists.iter().enumerate() {
            let at = format!("checklists[{ci}]");
            if !key_ok(&c.key) || !keys.insert(c.key.as_str()) {
                errors.push(err(format!("{at}.key"), format!("清单代码“{}”无效或重复（小写字母、数字、下划线）", c.key), format!("Checklist key {:?} is invalid or repeated (a-z, 0-9, _)", c.key)));
            }
            if c.label_zh.is_empty() || c.label_en.is_empty() {
                errors.push(err(format!("{at}.label"), format!("清单“{}”缺少名称", c.key), format!("Checklist {:?} needs both names", c.key)));
            }
            for a in &c.applies_to {
                if a != "person" && a != "organization" && crate::templates::find(a).is_none() {
                    errors.push(err(format!("{at}.applies_to"), format!("清单“{}”：未知的档案类型“{a}”", c.key), format!("Checklist {:?}: unknown archive type {a:?}", c.key)));
                }
            }
            if let Some(d) = c.deadline_days {
                if d > MAX_DEADLINE_DAYS {
                    errors.push(err(format!("{at}.deadline_days"), format!("清单“{}”：期限最长{MAX_DEADLINE_DAYS}个工作日", c.key), format!("Checklist {:?}: at most {MAX_DEADLINE_DAYS} working days", c.key)));
                }
            }
            if c.requires_start_field && c.start_fields.is_empty() {
                errors.push(err(format!("{at}.start_fields"), format!("清单“{}”：须指定起算日期字段", c.key), format!("Checklist {:?}: name the date field it starts from", c.key)));
            }
            if c.items.is_empty() || c.items.len() > 50 {
                errors.push(err(format!("{at}.items"), format!("清单“{}”须有1到50项", c.key), format!("Checklist {:?} needs 1 to 50 items", c.key)));
            }
            let mut item_keys = BTreeSet::new();
            for (ii, item) in c.items.iter().enumerate() {
                if !key_ok(&item.key) || !item_keys.insert(item.key.as_str()) {
                    errors.push(err(format!("{at}.items[{ii}].key"), format!("清单“{}”：项目代码“{}”无效或重复", c.key, item.key), format!("Checklist {:?}: item key {:?} is invalid or repeated", c.key, item.key)));
                }
                if item.label_zh.is_empty() || item.label_en.is_empty() {
                    errors.push(err(format!("{at}.items[{ii}].label"), format!("清单“{}”：项目“{}”缺少名称", c.key, item.key), format!("Checklist {:?}: item {:?} needs both names", c.key, item.key)));
                }
            }
        }
        errors
    }
}

/// Monday–Friday, minus holidays, plus adjusted working days (调休).
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

impl WorkCalendar {
    pub fn new(holidays: &[DayRange], workdays: &[DayRange]) -> Self {
        WorkCalendar { holidays: holidays.iter().flat_map(|r| r.days()).collect(), workdays: workdays.iter().flat_map(|r| r.days()).collect() }
    }

    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.workdays.contains(&d) {
            return true;
        }
        if self.holidays.contains(&d) {
            return false;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The `n`-th working day after `start` (`start` itself for 0).
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut d = start;
        let mut left = n;
        // A calendar cannot hold more than 500 × 31 holidays, so this ends.
        while left > 0 {
            d = d.succ_opt().expect("date in range");
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        d
    }

    /// Working days after `from` up to and including `to` (0 when `to <= from`).
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        if to <= from {
            return 0;
        }
        let days = (to - from).num_days().min(3660);
        (1..=days).filter(|i| self.is_working_day(from + Duration::days(*i))).count() as u32
    }
}

/// What a mark records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MarkAction {
    /// The paper original was handed in (the archivist ticks it).
    Received,
    /// A tick taken back (handed in by mistake, taken out again).
    Withdrawn,
    /// An attachment (a scan) counts for the item.
    Attached,
    /// An attachment no longer counts for it.
    Detached,
}

impl MarkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            MarkAction::Received => "received",
            MarkAction::Withdrawn => "withdrawn",
            MarkAction::Attached => "attached",
            MarkAction::Detached => "detached",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [MarkAction::Received, MarkAction::Withdrawn, MarkAction::Attached, MarkAction::Detached].into_iter().find(|a| a.as_str() == s)
    }
    pub fn label(self, lang: &str) -> &'static str {
        let (zh, tw, en) = match self {
            MarkAction::Received => ("收到原件", "收到原件", "original received"),
            MarkAction::Withdrawn => ("撤销收到", "撤銷收到", "receipt withdrawn"),
            MarkAction::Attached => ("关联扫描件", "關聯掃描件", "scan attached"),
            MarkAction::Detached => ("取消关联扫描件", "取消關聯掃描件", "scan detached"),
        };
        match lang {
            "en" => en,
            "zh-TW" => tw,
            _ => zh,
        }
    }
}

/// One recorded tick, untick or attachment tag (append-only; the latest per item decides).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Mark {
    pub id: i64,
    pub archive_id: i64,
    pub checklist: String,
    pub item: String,
    pub action: MarkAction,
    pub attachment_id: Option<i64>,
    pub note: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// The paper original's receipt: who ticked it and when.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Receipt {
    pub by: UserId,
    pub at: DateTime<Utc>,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ItemStatus {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    pub required: bool,
    pub satisfied: bool,
    /// The paper original, if ticked as received.
    pub received: Option<Receipt>,
    /// Attachments tagged with the item.
    pub attachment_ids: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ChecklistStatus {
    pub key: String,
    pub label_zh: String,
    pub label_en: String,
    /// The day the deadline counts from.
    pub start_on: NaiveDate,
    /// The custom field it came from, or `created` (the archive's creation).
    pub start_source: String,
    pub deadline_days: u32,
    pub due_on: NaiveDate,
    pub required_total: u32,
    pub required_done: u32,
    /// Whole percent of required items present (100 when none is required).
    pub percent: u32,
    pub complete: bool,
    /// Keys of required items still missing.
    pub missing: Vec<String>,
    /// Missing items after the due date.
    pub overdue: bool,
    /// Working days past the due date (0 when not overdue).
    pub overdue_days: u32,
    pub items: Vec<ItemStatus>,
}

impl ChecklistStatus {
    pub fn label(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.label_en
        } else {
            &self.label_zh
        }
    }
}

impl ItemStatus {
    pub fn label(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.label_en
        } else {
            &self.label_zh
        }
    }
}

/// The archive facts a checklist needs.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveFacts<'a> {
    pub kind: CustomerKind,
    pub template: Option<&'a str>,
    pub custom: &'a BTreeMap<String, Value>,
    /// The creation date (local).
    pub created_on: NaiveDate,
}

/// Does `c` apply to an archive of this template (or, without one, this kind)?
pub fn applies(c: &ChecklistDef, kind: CustomerKind, template: Option<&str>) -> bool {
    let t = template.filter(|t| !t.is_empty()).unwrap_or(kind.as_str());
    c.applies_to.iter().any(|a| a == t)
}

/// The local date (UTC+8, the seeds' companies are in China) of an instant.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    (t + Duration::hours(8)).date_naive()
}

/// The state of every checklist that applies to the archive, as of the local date `today`.
/// `marks` are the archive's marks in the order they were made (by id).
pub fn evaluate(settings: &ChecklistSettings, cal: &WorkCalendar, a: ArchiveFacts<'_>, marks: &[Mark], today: NaiveDate) -> Vec<ChecklistStatus> {
    settings
        .checklists
        .iter()
        .filter(|c| applies(c, a.kind, a.template))
        .filter_map(|c| {
            let from_field = c.start_fields.iter().find_map(|f| crate::templates::custom_date(a.custom, f).map(|d| (d, f.clone())));
            let (start_on, start_source) = match from_field {
                Some(x) => x,
                None if c.requires_start_field => return None,
                None => (a.created_on, "created".to_string()),
            };
            let deadline_days = settings.deadline_of(c);
            let due_on = cal.add_working_days(start_on, deadline_days);
            let items: Vec<ItemStatus> = c.items.iter().map(|item| fold_item(c, item, marks)).collect();
            let required_total = items.iter().filter(|i| i.required).count() as u32;
            let required_done = items.iter().filter(|i| i.required && i.satisfied).count() as u32;
            let missing: Vec<String> = items.iter().filter(|i| i.required && !i.satisfied).map(|i| i.key.clone()).collect();
            let complete = missing.is_empty();
            let overdue = !complete && today > due_on;
            Some(ChecklistStatus {
                key: c.key.clone(),
                label_zh: c.label_zh.clone(),
                label_en: c.label_en.clone(),
                start_on,
                start_source,
                deadline_days,
                due_on,
                required_total,
                required_done,
                percent: if required_total == 0 { 100 } else { required_done * 100 / required_total },
                complete,
                missing,
                overdue,
                overdue_days: if overdue { cal.working_days_between(due_on, today) } else { 0 },
                items,
            })
        })
        .collect()
}

fn fold_item(c: &ChecklistDef, item: &ChecklistItem, marks: &[Mark]) -> ItemStatus {
    let mut received = None;
    let mut attachments: Vec<i64> = Vec::new();
    for m in marks.iter().filter(|m| m.checklist == c.key && m.item == item.key) {
        match m.action {
            MarkAction::Received => received = Some(Receipt { by: m.created_by, at: m.created_at, note: m.note.clone() }),
            MarkAction::Withdrawn => received = None,
            MarkAction::Attached => {
                if let Some(id) = m.attachment_id.filter(|id| !attachments.contains(id)) {
                    attachments.push(id);
                }
            }
            MarkAction::Detached => attachments.retain(|id| Some(*id) != m.attachment_id),
        }
    }
    ItemStatus {
        key: item.key.clone(),
        label_zh: item.label_zh.clone(),
        label_en: item.label_en.clone(),
        required: item.required,
        satisfied: received.is_some() || !attachments.is_empty(),
        received,
        attachment_ids: attachments,
    }
}

/// The mark an action would add is a change (ticking a received item again is not).
pub fn changes(status: &ItemStatus, action: MarkAction, attachment_id: Option<i64>) -> bool {
    match action {
        MarkAction::Received => status.received.is_none(),
        MarkAction::Withdrawn => status.received.is_some(),
        MarkAction::Attached => attachment_id.is_some_and(|id| !status.attachment_ids.contains(&id)),
        MarkAction::Detached => attachment_id.is_some_and(|id| status.attachment_ids.contains(&id)),
    }
}

// --- defaults -------------------------------------------------------------------------------

fn item(key: &str, label_zh: &str, label_en: &str, required: bool) -> ChecklistItem {
    ChecklistItem { key: key.into(), label_zh: label_zh.into(), label_en: label_en.into(), required }
}

fn range(from: (i32, u32, u32), to: Option<(i32, u32, u32)>, name: &str) -> DayRange {
    let d = |(y, m, dd): (i32, u32, u32)| NaiveDate::from_ymd_opt(y, m, dd).expect("valid date");
    DayRange { from: d(from), to: to.map(d), name: name.into() }
}

/// The 2026 public holidays (国务院办公厅关于2026年部分节假日安排的通知).
pub fn holidays_2026() -> Vec<DayRange> {
    vec![
        range((2026, 1, 1), Some((2026, 1, 3)), "元旦"),
        range((2026, 2, 15), Some((2026, 2, 23)), "春节"),
        range((2026, 4, 4), Some((2026, 4, 6)), "清明节"),
        range((2026, 5, 1), Some((2026, 5, 5)), "劳动节"),
        range((2026, 6, 19), Some((2026, 6, 21)), "端午节"),
        range((2026, 9, 25), Some((2026, 9, 27)), "中秋节"),
        range((2026, 10, 1), Some((2026, 10, 7)), "国庆节"),
    ]
}

/// The 2026 adjusted working days (调休上班).
pub fn workdays_2026() -> Vec<DayRange> {
    vec![
        range((2026, 1, 4), None, "元旦调休上班"),
        range((2026, 2, 14), None, "春节调休上班"),
        range((2026, 2, 28), None, "春节调休上班"),
        range((2026, 5, 9), None, "劳动节调休上班"),
        range((2026, 9, 20), None, "国庆节调休上班"),
        range((2026, 10, 10), None, "国庆节调休上班"),
    ]
}

/// The seeds' checklists: the car dealer's new-car and after-sales files (002), hotel guest
/// files (004, 酒店销售部 附表), membership files (000), insurance clients, the credit/contract
/// file of organizations (001) and the 客户资料卡 of plain person archives (000 附表四).
pub fn default_checklists() -> Vec<ChecklistDef> {
    vec![
        ChecklistDef {
            key: "vehicle_new".into(),
            label_zh: "新车档案".into(),
            label_en: "New-car file".into(),
            applies_to: vec!["vehicle".into()],
            deadline_days: Some(3),
            start_fields: vec!["delivered_on".into(), "purchased_on".into()],
            requires_start_field: false,
            items: vec![
                item("green_card", "绿卡（客户信息卡）", "Green card (customer details)", true),
                item("invoice", "购车发票复印件", "Purchase invoice (copy)", true),
                item("contract", "销售合同原件", "Sales contract (original)", true),
                item("id_copy", "身份证复印件（两面）或组织机构代码证复印件", "ID card copy (both sides) or organization code certificate", true),
                item("delivery_check", "交车检查表", "Delivery checklist", true),
                item("license_copy", "行驶证复印件", "Vehicle licence (copy)", true),
                item("insurance_copy", "保险单复印件", "Insurance policy (copy)", true),
                item("services_list", "衍生服务清单", "Add-on services list", true),
                item("certificate_copy", "车辆合格证复印件", "Vehicle conformity certificate (copy)", true),
                item("delivery_photo", "交车照片", "Delivery photo", true),
                item("pdi_check", "新车PDI检查表", "New-car PDI checklist", true),
                item("other_proof", "其它证明类文件（特定客户）", "Other certificates (certain customers)", false),
            ],
        },
        ChecklistDef {
            key: "vehicle_service".into(),
            label_zh: "售后档案（维修保养）".into(),
            label_en: "After-sales file (service)".into(),
            applies_to: vec!["vehicle".into()],
            deadline_days: Some(1),
            start_fields: vec!["serviced_on".into()],
            requires_start_field: true,
            items: vec![
                item("reception_sheet", "接车单", "Vehicle reception sheet", true),
                item("work_order", "任务委托书", "Work order", true),
                item("settlement", "结算单", "Settlement statement", true),
                item("free_check_12", "12项免费检查表", "12-point free inspection sheet", true),
                item("test_drive", "试车单", "Road-test sheet", false),
                item("estimate", "估算单", "Estimate", false),
                item("first_service_card", "首保卡复印件", "First-service card (copy)", false),
            ],
        },
        ChecklistDef {
            key: "hotel_guest".into(),
            label_zh: "客史档案材料".into(),
            label_en: "Guest history papers".into(),
            applies_to: vec!["hotel_guest".into()],
            deadline_days: None,
            start_fields: vec![],
            requires_start_field: false,
            items: vec![
                item("guest_form", "《顾客档案表》", "Guest record form", true),
                item("registration", "入住登记单", "Registration card", true),
                item("id_copy", "身份证件复印件", "ID document (copy)", true),
                item("agreement", "合同及其他合作文件（协议客户）", "Contract and cooperation papers (corporate guests)", false),
            ],
        },
        ChecklistDef {
            key: "membership".into(),
            label_zh: "会员档案材料".into(),
            label_en: "Membership papers".into(),
            applies_to: vec!["membership".into()],
            deadline_days: None,
            start_fields: vec![],
            requires_start_field: false,
            items: vec![
                item("member_form", "会员档案登记表（签字笔填写）", "Membership form (signed in ink)", true),
                item("id_copy", "身份证明复印件", "Proof of identity (copy)", true),
                item("card_agreement", "开卡协议（课程截止日期、请假延期须知）", "Card agreement (end date, leave and extension rules)", true),
                item("health_statement", "健康状况声明", "Health statement", false),
                item("guardian_consent", "监护人同意书（未满14岁）", "Guardian's consent (under 14)", false),
                item("assessment", "《考核表》（晋级时）", "Assessment form (on promotion)", false),
            ],
        },
        ChecklistDef {
            key: "insurance".into(),
            label_zh: "保险客户档案材料".into(),
            label_en: "Insurance client papers".into(),
            applies_to: vec!["insurance".into()],
            deadline_days: None,
            start_fields: vec![],
            requires_start_field: false,
            items: vec![
                item("application", "投保单", "Insurance application", true),
                item("policy_copy", "保单复印件", "Policy (copy)", true),
                item("id_copy", "身份证复印件", "ID card (copy)", true),
                item("payment_proof", "交费凭证", "Premium payment receipt", true),
                item("health_notice", "健康告知书", "Health declaration", false),
            ],
        },
        ChecklistDef {
            key: "organization_credit".into(),
            label_zh: "单位客户信用档案".into(),
            label_en: "Organization credit file".into(),
            applies_to: vec!["organization".into()],
            deadline_days: None,
            start_fields: vec![],
            requires_start_field: false,
            items: vec![
                item("business_license", "营业执照副本复印件", "Business licence (copy)", true),
                item("representative_id", "法定代表人或承办人身份证明、授权委托书", "Representative's ID and power of attorney", true),
                item("info_card", "客户资料卡", "Customer information card", true),
                item("credit_application", "客户信用申请表", "Credit application", true),
                item("credit_approval", "客户信用审批表", "Credit approval form", true),
                item("contract", "合同正本、副本", "Contract (original and copies)", false),
                item("performance_proof", "履约能力证明资料复印件", "Proof of ability to perform (copy)", false),
            ],
        },
        ChecklistDef {
            key: "person_basic".into(),
            label_zh: "个人客户基本材料".into(),
            label_en: "Person customer papers".into(),
            applies_to: vec!["person".into()],
            deadline_days: None,
            start_fields: vec![],
            requires_start_field: false,
            items: vec![item("info_card", "客户资料卡", "Customer information card", true), item("id_copy", "身份证复印件", "ID card (copy)", true)],
        },
    ]
}

impl Default for ChecklistSettings {
    fn default() -> Self {
        ChecklistSettings { default_deadline_days: 3, holidays: holidays_2026(), workdays: workdays_2026(), checklists: default_checklists() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn cal() -> WorkCalendar {
        ChecklistSettings::default().calendar()
    }

    #[test]
    fn defaults_are_valid_and_the_2026_calendar_is_right() {
        let s = ChecklistSettings::default();
        assert_eq!(s.validate(), Vec::<SettingsError>::new());
        // Every 调休 day is a weekend day, every holiday range starts where the notice says.
        for r in workdays_2026() {
            assert!(matches!(r.from.weekday(), Weekday::Sat | Weekday::Sun), "{r:?}");
        }
        assert_eq!(d("2026-01-01").weekday(), Weekday::Thu);
        assert_eq!(d("2026-10-01").weekday(), Weekday::Thu);
        let c = cal();
        assert!(!c.is_working_day(d("2026-10-05")), "Monday in 国庆");
        assert!(c.is_working_day(d("2026-10-10")), "Saturday worked (调休)");
        assert!(c.is_working_day(d("2026-09-20")), "Sunday worked (调休)");
        assert!(!c.is_working_day(d("2026-11-28")), "ordinary Saturday");
        assert!(c.is_working_day(d("2026-11-30")), "ordinary Monday");
        let days: usize = s.holidays.iter().map(|r| r.days().count()).sum();
        assert_eq!(days, 3 + 9 + 3 + 5 + 3 + 3 + 7);
    }

    #[test]
    fn working_days_skip_weekends() {
        let c = WorkCalendar::default();
        // Friday + 3 working days = Wednesday.
        assert_eq!(c.add_working_days(d("2026-11-27"), 3), d("2026-12-02"));
        // Saturday start: Mon, Tue, Wed.
        assert_eq!(c.add_working_days(d("2026-11-28"), 3), d("2026-12-02"));
        assert_eq!(c.add_working_days(d("2026-11-30"), 0), d("2026-11-30"));
        assert_eq!(c.add_working_days(d("2026-11-30"), 1), d("2026-12-01"));
        assert_eq!(c.working_days_between(d("2026-11-27"), d("2026-11-30")), 1);
        assert_eq!(c.working_days_between(d("2026-11-30"), d("2026-11-27")), 0);
    }

    #[test]
    fn working_days_skip_holidays_and_count_adjusted_days() {
        let c = cal();
        // Delivered Wednesday 30 Sep 2026: 国庆 1–7 Oct off, Sat 10 Oct worked.
        // Working days after: Thu 8, Fri 9, Sat 10 (调休) → due Sat 10 Oct.
        assert_eq!(c.add_working_days(d("2026-09-30"), 3), d("2026-10-10"));
        // Without the 调休 day it would be Mon 12 Oct.
        let no_adjust = WorkCalendar::new(&holidays_2026(), &[]);
        assert_eq!(no_adjust.add_working_days(d("2026-09-30"), 3), d("2026-10-12"));
        // Spring festival: delivered Fri 13 Feb; Sat 14 worked, 15–23 off → 14, 24, 25.
        assert_eq!(c.add_working_days(d("2026-02-13"), 3), d("2026-02-25"));
        // After-sales: 1 working day from Thu 31 Dec 2025 → Mon 5 Jan? No: Sun 4 Jan is worked.
        assert_eq!(c.add_working_days(d("2025-12-31"), 1), d("2026-01-04"));
        // Overdue by working days: due Sat 10 Oct, today Wed 14 Oct → 12, 13, 14.
        assert_eq!(c.working_days_between(d("2026-10-10"), d("2026-10-14")), 3);
    }

    fn mark(id: i64, checklist: &str, item: &str, action: MarkAction, att: Option<i64>) -> Mark {
        Mark { id, archive_id: 1, checklist: checklist.into(), item: item.into(), action, attachment_id: att, note: String::new(), created_by: 7, created_at: DateTime::from_timestamp(1_780_000_000 + id, 0).unwrap() }
    }

    fn vehicle(custom: serde_json::Value) -> BTreeMap<String, Value> {
        serde_json::from_value(custom).unwrap()
    }

    #[test]
    fn completeness_missing_due_and_overdue() {
        let s = ChecklistSettings::default();
        let c = s.calendar();
        let custom = vehicle(json!({"vin": "LSVAM4187C2184847", "model": "朗逸", "delivered_on": "2026-09-30", "purchased_on": "2026-09-20"}));
        let facts = ArchiveFacts { kind: CustomerKind::Person, template: Some("vehicle"), custom: &custom, created_on: d("2026-10-08") };
        let marks = vec![
            mark(1, "vehicle_new", "invoice", MarkAction::Received, None),
            mark(2, "vehicle_new", "contract", MarkAction::Attached, Some(10)),
            mark(3, "vehicle_new", "green_card", MarkAction::Received, None),
            mark(4, "vehicle_new", "green_card", MarkAction::Withdrawn, None),
            mark(5, "vehicle_new", "other_proof", MarkAction::Received, None),
        ];
        let out = evaluate(&s, &c, facts, &marks, d("2026-10-10"));
        // The after-sales file needs a service date: not applicable yet.
        assert_eq!(out.len(), 1);
        let st = &out[0];
        assert_eq!(st.key, "vehicle_new");
        assert_eq!((st.start_on, st.start_source.as_str()), (d("2026-09-30"), "delivered_on"));
        assert_eq!(st.due_on, d("2026-10-10"));
        assert_eq!((st.required_done, st.required_total), (2, 11));
        assert_eq!(st.percent, 18);
        assert!(st.missing.contains(&"green_card".to_string()), "a withdrawn tick is missing again");
        assert!(!st.missing.contains(&"other_proof".to_string()), "optional items are not missing");
        assert!(!st.overdue, "due today is not overdue");
        let late = evaluate(&s, &c, facts, &marks, d("2026-10-13"));
        assert!(late[0].overdue);
        assert_eq!(late[0].overdue_days, 2, "Mon 12 and Tue 13 Oct (Sun 11 is off)");
    }

    #[test]
    fn attachments_and_ticks_combine_and_complete() {
        let s = ChecklistSettings::default();
        let custom = BTreeMap::new();
        let facts = ArchiveFacts { kind: CustomerKind::Person, template: None, custom: &custom, created_on: d("2026-11-27") };
        let mut marks = vec![mark(1, "person_basic", "info_card", MarkAction::Attached, Some(5)), mark(2, "person_basic", "info_card", MarkAction::Attached, Some(6))];
        let st = &evaluate(&s, &s.calendar(), facts, &marks, d("2026-11-30"))[0];
        assert_eq!(st.key, "person_basic");
        assert_eq!(st.due_on, d("2026-12-02"));
        assert_eq!(st.percent, 50);
        assert_eq!(st.items[0].attachment_ids, vec![5, 6]);
        marks.push(mark(3, "person_basic", "info_card", MarkAction::Detached, Some(5)));
        marks.push(mark(4, "person_basic", "id_copy", MarkAction::Received, None));
        marks.push(mark(5, "other", "id_copy", MarkAction::Withdrawn, None));
        let st = &evaluate(&s, &s.calendar(), facts, &marks, d("2026-12-10"))[0];
        assert_eq!(st.items[0].attachment_ids, vec![6]);
        assert!(st.complete && !st.overdue && st.percent == 100);
        assert!(st.items[1].received.as_ref().is_some_and(|r| r.by == 7));
        // Detaching the last scan makes the item missing again.
        marks.push(mark(6, "person_basic", "info_card", MarkAction::Detached, Some(6)));
        let st = &evaluate(&s, &s.calendar(), facts, &marks, d("2026-12-10"))[0];
        assert_eq!(st.missing, vec!["info_card".to_string()]);
        assert!(st.overdue);
        assert!(changes(&st.items[1], MarkAction::Withdrawn, None));
        assert!(!changes(&st.items[1], MarkAction::Received, None));
        // Organizations get the credit file instead.
        let org = ArchiveFacts { kind: CustomerKind::Organization, ..facts };
        assert_eq!(evaluate(&s, &s.calendar(), org, &[], d("2026-12-10"))[0].key, "organization_credit");
    }

    #[test]
    fn service_checklist_starts_at_the_service_date() {
        let s = ChecklistSettings::default();
        let custom = vehicle(json!({"vin": "LSVAM4187C2184847", "model": "朗逸", "serviced_on": "2026-10-09"}));
        let facts = ArchiveFacts { kind: CustomerKind::Person, template: Some("vehicle"), custom: &custom, created_on: d("2026-01-05") };
        let out = evaluate(&s, &s.calendar(), facts, &[], d("2026-10-09"));
        assert_eq!(out.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), vec!["vehicle_new", "vehicle_service"]);
        assert_eq!((out[0].start_source.as_str(), out[0].start_on), ("created", d("2026-01-05")));
        assert_eq!(out[1].due_on, d("2026-10-10"), "Fri 9 Oct + 1 working day = Sat 10 Oct (调休)");
    }

    #[test]
    fn validation_names_the_problem() {
        let mut s = ChecklistSettings::default();
        s.default_deadline_days = 0;
        s.holidays.push(range((2026, 10, 10), None, "x"));
        s.workdays.push(range((2026, 11, 30), None, "周一"));
        s.holidays.push(range((2026, 12, 5), Some((2026, 12, 1)), "倒序"));
        s.checklists[0].items[1].key = "green_card".into();
        s.checklists[1].applies_to.push("spaceship".into());
        let errs = s.normalized().validate();
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert!(fields.contains(&"default_deadline_days"), "{fields:?}");
        assert!(fields.iter().any(|f| f.starts_with("workdays[")), "2026-10-10 is both; 2026-11-30 a weekday: {fields:?}");
        assert_eq!(fields.iter().filter(|f| f.starts_with("workdays[")).count(), 2);
        assert!(fields.iter().any(|f| f.starts_with("holidays[")));
        assert!(fields.contains(&"checklists[0].items[1].key"));
        assert!(fields.contains(&"checklists[1].applies_to"));
        assert!(errs.iter().all(|e| !e.zh.is_empty() && !e.en.is_empty()));
    }

    #[test]
    fn settings_round_trip_as_json() {
        let s = ChecklistSettings::default();
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<ChecklistSettings>(&text).unwrap(), s);
        // Items default to required; ranges to one day.
        let c: ChecklistItem = serde_json::from_value(json!({"key": "a", "label_zh": "甲", "label_en": "A"})).unwrap();
        assert!(c.required);
        let r: DayRange = serde_json::from_value(json!({"from": "2026-12-31"})).unwrap();
        assert_eq!(r.days().count(), 1);
    }
}
