//! Retention, destruction and personal-information requests (保管期限、销毁、个人信息权利请求).
//! Pure rules: when an archive's retention period ends, who approves a destruction, what each
//! step of a destruction does, consent rules (guardians for children under 14, explicit consent
//! for health data) and request due dates. Callers pass dates; nothing here reads a clock.
//!
//! - **Due.** An archive is due for disposal (到期待处置) when it is closed (结档) and its
//!   retention years have passed since its *trigger*: the later of the day it was closed and the
//!   end date of its latest contract (合同到期). Permanent (永久) archives are never due; a legal
//!   hold (诉讼保全/法律冻结) keeps an archive off the list and blocks its destruction.
//! - **Chain.** Appraisal (鉴定) is filed with the request; then the archivist (档案管理员) and
//!   the general manager (总经理) approve in turn. No one approves their own request: a step the
//!   requester holds goes up (archivist → general manager; the general manager's own request to
//!   the VP of sales, the seeds' deputy), and repeated steps collapse.
//! - **Witness (监销人).** Named when the request is filed, someone other than the requester. After
//!   the last approval the witness confirms the destruction *before it executes*: the witness's
//!   confirmation is what carries it out, so no destruction happens without the witness present.

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{ArchiveData, ArchiveStatus, RetentionClass, Role, UserId};

/// The longest custom retention period, in years.
pub const MAX_CUSTOM_YEARS: u16 = 100;
/// Days to answer a personal-information request (GB/T 35273-2020 §8.7: no more than 30 days).
pub const PIPL_RESPONSE_DAYS: i64 = 30;
/// Under this age a child's personal information needs a guardian's consent (PIPL art. 31).
pub const GUARDIAN_AGE: u32 = 14;

/// Retention years of a class, or of the archive's custom period (`retention_years`), `None` for
/// permanent. A custom period replaces the class's years (not for permanent archives).
pub fn retention_years(class: RetentionClass, custom: Option<u16>) -> Option<u32> {
    match (class, custom) {
        (RetentionClass::Permanent, _) => None,
        (_, Some(y)) => Some(y as u32),
        (RetentionClass::Y30, None) => Some(30),
        (RetentionClass::Y10, None) => Some(10),
    }
}

/// The day retention counts from: the later of closing and the latest contract's end. Only
/// closed archives have one.
pub fn trigger_date(status: ArchiveStatus, closed_on: Option<NaiveDate>, contract_end: Option<NaiveDate>) -> Option<NaiveDate> {
    if status != ArchiveStatus::Closed {
        return None;
    }
    let closed = closed_on?;
    Some(contract_end.map_or(closed, |c| c.max(closed)))
}

/// The first day the archive may be destroyed: trigger + retention years (29 February → 28
/// February in a common year). `None` for permanent or open archives.
pub fn due_date(data: &ArchiveData, closed_on: Option<NaiveDate>, contract_end: Option<NaiveDate>) -> Option<NaiveDate> {
    let years = retention_years(data.retention_class, data.retention_years)?;
    let trigger = trigger_date(data.status, closed_on, contract_end)?;
    trigger.checked_add_months(Months::new(years * 12))
}

/// Is the archive due for disposal on `today`? Never under a legal hold.
pub fn is_due(due: Option<NaiveDate>, legal_hold: bool, today: NaiveDate) -> bool {
    !legal_hold && due.is_some_and(|d| d <= today)
}

/// A refusal of a rule, in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub zh: String,
    pub en: String,
}

impl Refusal {
    fn new(code: &'static str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Refusal { code, zh: zh.into(), en: en.into() }
    }
}

/// Checks a custom retention period (`retention_years`) against the class.
pub fn check_custom_years(class: RetentionClass, custom: Option<u16>) -> Result<(), Refusal> {
    match custom {
        None => Ok(()),
        Some(_) if class == RetentionClass::Permanent => Err(Refusal::new("retention_years", "永久保管的档案不能设置自定义年限", "a permanent archive has no custom period")),
        Some(y) if y == 0 || y > MAX_CUSTOM_YEARS => {
            Err(Refusal::new("retention_years", format!("自定义保管年限须在 1 到 {MAX_CUSTOM_YEARS} 年之间"), format!("a custom period is 1 to {MAX_CUSTOM_YEARS} years")))
        }
        Some(_) => Ok(()),
    }
}

/// One approval step of a destruction (销毁审批).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DestructionStep {
    /// 档案管理员
    Archivist,
    /// 总经理
    GeneralManager,
    /// 营销副总, deputy of the general manager when the general manager filed the request.
    SalesVp,
}

impl DestructionStep {
    pub const ALL: [DestructionStep; 3] = [DestructionStep::Archivist, DestructionStep::GeneralManager, DestructionStep::SalesVp];
    pub fn as_str(self) -> &'static str {
        match self {
            DestructionStep::Archivist => "archivist",
            DestructionStep::GeneralManager => "general_manager",
            DestructionStep::SalesVp => "sales_vp",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn role(self) -> Role {
        match self {
            DestructionStep::Archivist => Role::Archivist,
            DestructionStep::GeneralManager => Role::GeneralManager,
            DestructionStep::SalesVp => Role::SalesVp,
        }
    }
    pub fn label(self, lang: &str) -> &'static str {
        self.role().label(lang)
    }
}

/// The default chain: archivist, then general manager.
pub const DEFAULT_DESTRUCTION_CHAIN: [DestructionStep; 2] = [DestructionStep::Archivist, DestructionStep::GeneralManager];

/// The chain for a request filed by someone with `requester_roles`: a step the requester holds
/// goes up (archivist → general manager → VP of sales as the general manager's deputy), repeated
/// steps collapse. Never empty, never containing a step the requester holds (unless the requester
/// holds all three — then another holder decides, `can_decide` never lets the requester).
pub fn destruction_chain(requester_roles: &[Role]) -> Vec<DestructionStep> {
    let holds = |s: DestructionStep| requester_roles.contains(&s.role());
    let mut out = Vec::new();
    for step in DEFAULT_DESTRUCTION_CHAIN {
        let ladder: &[DestructionStep] = match step {
            DestructionStep::Archivist => &[DestructionStep::Archivist, DestructionStep::GeneralManager, DestructionStep::SalesVp],
            _ => &[DestructionStep::GeneralManager, DestructionStep::SalesVp],
        };
        let chosen = ladder.iter().copied().find(|s| !holds(*s)).unwrap_or(step);
        if !out.contains(&chosen) {
            out.push(chosen);
        }
    }
    out
}

/// May this user decide `step` of a request filed by `requester`? Holders of the step's role,
/// never the requester.
pub fn can_decide(step: DestructionStep, actor_id: UserId, actor_roles: &[Role], requester: UserId) -> bool {
    actor_id != requester && actor_roles.contains(&step.role())
}

/// Who may file a destruction request (鉴定并提出销毁) and keep the register: the archivist and
/// the general manager.
pub fn may_file_destruction(roles: &[Role]) -> bool {
    roles.iter().any(|r| matches!(r, Role::Archivist | Role::GeneralManager))
}

/// Who may set or clear a legal hold: the archivist and the general manager.
pub fn may_hold(roles: &[Role]) -> bool {
    may_file_destruction(roles)
}

/// Who may see the disposal-due list, the requests and the register: archivist, general manager,
/// auditor (everyone named on a request sees that request too).
pub fn may_view_register(roles: &[Role]) -> bool {
    roles.iter().any(|r| matches!(r, Role::Archivist | Role::GeneralManager | Role::Auditor))
}

/// Where a destruction request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DestructionStatus {
    /// Waiting for the decision of step `step`.
    Pending,
    /// Every step approved; waiting for the witness.
    Approved,
    Rejected,
    Cancelled,
    /// Carried out: content purged, register entry made.
    Destroyed,
}

impl DestructionStatus {
    pub const ALL: [DestructionStatus; 5] = [DestructionStatus::Pending, DestructionStatus::Approved, DestructionStatus::Rejected, DestructionStatus::Cancelled, DestructionStatus::Destroyed];
    pub fn as_str(self) -> &'static str {
        match self {
            DestructionStatus::Pending => "pending",
            DestructionStatus::Approved => "approved",
            DestructionStatus::Rejected => "rejected",
            DestructionStatus::Cancelled => "cancelled",
            DestructionStatus::Destroyed => "destroyed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Still open (pending or approved): its archives cannot be in another request.
    pub fn is_open(self) -> bool {
        matches!(self, DestructionStatus::Pending | DestructionStatus::Approved)
    }
    pub fn label(self, lang: &str) -> &'static str {
        let (cn, tw, en) = match self {
            DestructionStatus::Pending => ("审批中", "審批中", "Awaiting approval"),
            DestructionStatus::Approved => ("待监销", "待監銷", "Awaiting witness"),
            DestructionStatus::Rejected => ("已驳回", "已駁回", "Rejected"),
            DestructionStatus::Cancelled => ("已撤回", "已撤回", "Cancelled"),
            DestructionStatus::Destroyed => ("已销毁", "已銷毀", "Destroyed"),
        };
        match lang {
            "en" => en,
            "zh-TW" => tw,
            _ => cn,
        }
    }
}

/// What happens to a destruction request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DestructionEvent {
    /// The current step's approver decides.
    Decide { approved: bool },
    /// The requester withdraws it (before it is carried out).
    Cancel,
    /// The witness confirms and the destruction is carried out.
    Witness,
}

/// The state machine: from `(status, step)` of a chain of `chain_len` steps, the next
/// `(status, step)`, or a refusal.
pub fn transition(status: DestructionStatus, step: usize, chain_len: usize, ev: DestructionEvent) -> Result<(DestructionStatus, usize), Refusal> {
    use DestructionStatus::*;
    match (status, ev) {
        (Pending, DestructionEvent::Decide { approved: false }) => Ok((Rejected, step)),
        (Pending, DestructionEvent::Decide { approved: true }) if step + 1 >= chain_len => Ok((Approved, step)),
        (Pending, DestructionEvent::Decide { approved: true }) => Ok((Pending, step + 1)),
        (Pending | Approved, DestructionEvent::Cancel) => Ok((Cancelled, step)),
        (Approved, DestructionEvent::Witness) => Ok((Destroyed, step)),
        (Pending, DestructionEvent::Witness) => Err(Refusal::new("not-approved", "审批尚未完成，监销人不能确认销毁", "the approvals are not complete yet")),
        _ => Err(Refusal::new("closed", format!("该销毁申请已{}", status.label("zh-CN")), format!("the request is {}", status.label("en").to_lowercase()))),
    }
}

/// The witness is a named user other than the requester.
pub fn check_witness(requester: UserId, witness: UserId) -> Result<(), Refusal> {
    if requester == witness {
        return Err(Refusal::new("witness", "监销人不能是申请人本人", "the witness cannot be the requester"));
    }
    Ok(())
}

/// May an archive take part in a merge (查重合并)? Not while a destruction request names it (the
/// approvers appraised what it held, not what a merge would add or take away), and the merged
/// one not under a legal hold (its content would move and leave only a tombstone behind).
pub fn check_merge(archive_no: &str, merged_away: bool, open_destruction: Option<i64>, legal_hold: bool) -> Result<(), Refusal> {
    if let Some(id) = open_destruction {
        return Err(Refusal::new(
            "destruction-pending",
            format!("档案 {archive_no} 正在销毁审批中（销毁申请 #{id}），不能合并；请先撤销该申请"),
            format!("archive {archive_no} is named in destruction request #{id}; cancel it before merging"),
        ));
    }
    if merged_away && legal_hold {
        return Err(Refusal::new(
            "legal-hold",
            format!("档案 {archive_no} 处于法律冻结中，不能被合并到其他档案"),
            format!("archive {archive_no} is under a legal hold and cannot be merged into another"),
        ));
    }
    Ok(())
}

/// The register number (销毁清册编号) of an executed request.
pub fn register_no(year: i32, request_id: i64) -> String {
    format!("XH-{year}-{request_id:05}")
}

// --- personal information (个人信息保护法) ---

/// What the person asks for (个人信息权利请求).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PiplKind {
    /// 查阅
    Access,
    /// 复制 (answered with the archive package)
    Copy,
    /// 更正
    Correct,
    /// 删除 (through the destruction machinery, unless a legal basis to keep applies)
    Delete,
}

impl PiplKind {
    pub const ALL: [PiplKind; 4] = [PiplKind::Access, PiplKind::Copy, PiplKind::Correct, PiplKind::Delete];
    pub fn as_str(self) -> &'static str {
        match self {
            PiplKind::Access => "access",
            PiplKind::Copy => "copy",
            PiplKind::Correct => "correct",
            PiplKind::Delete => "delete",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label(self, lang: &str) -> &'static str {
        let (cn, tw, en) = match self {
            PiplKind::Access => ("查阅", "查閱", "See"),
            PiplKind::Copy => ("复制", "複製", "Copy"),
            PiplKind::Correct => ("更正", "更正", "Correct"),
            PiplKind::Delete => ("删除", "刪除", "Delete"),
        };
        match lang {
            "en" => en,
            "zh-TW" => tw,
            _ => cn,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PiplStatus {
    Open,
    /// Answered (seen, copy handed over, corrected).
    Done,
    /// Deletion under way: a destruction request carries it out.
    Deleting,
    /// Deletion refused because a legal basis to keep the data applies (recorded).
    Kept,
}

impl PiplStatus {
    pub const ALL: [PiplStatus; 4] = [PiplStatus::Open, PiplStatus::Done, PiplStatus::Deleting, PiplStatus::Kept];
    pub fn as_str(self) -> &'static str {
        match self {
            PiplStatus::Open => "open",
            PiplStatus::Done => "done",
            PiplStatus::Deleting => "deleting",
            PiplStatus::Kept => "kept",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    pub fn label(self, lang: &str) -> &'static str {
        let (cn, tw, en) = match self {
            PiplStatus::Open => ("待处理", "待處理", "Open"),
            PiplStatus::Done => ("已办结", "已辦結", "Done"),
            PiplStatus::Deleting => ("删除中", "刪除中", "Deleting"),
            PiplStatus::Kept => ("依法保留", "依法保留", "Kept (legal basis)"),
        };
        match lang {
            "en" => en,
            "zh-TW" => tw,
            _ => cn,
        }
    }
}

/// The day a request received on `received` must be answered by.
pub fn pipl_due(received: NaiveDate) -> NaiveDate {
    received + chrono::Duration::days(PIPL_RESPONSE_DAYS)
}

/// Is an open request overdue on `today`?
pub fn pipl_overdue(status: PiplStatus, due: NaiveDate, today: NaiveDate) -> bool {
    status == PiplStatus::Open && today > due
}

/// Age in whole years on `on`.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> u32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age.max(0) as u32
}

/// A consent as recorded (个人信息处理同意记录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConsentData {
    /// Whose data: the person (the archive's person or a child the file is about).
    pub subject_name: String,
    /// 处理目的
    pub purpose: String,
    /// 处理范围 (which data)
    pub scope: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_birth_date: Option<NaiveDate>,
    /// Guardian (监护人) who consented for a child under 14.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian_relation: Option<String>,
    /// The scope includes sensitive data (health, 健康信息).
    #[serde(default)]
    pub sensitive: bool,
    /// Separate, explicit consent (单独同意) was given.
    #[serde(default)]
    pub explicit: bool,
    pub given_on: NaiveDate,
}

/// A child under 14 needs a guardian's consent; sensitive (health) data needs explicit consent.
pub fn check_consent(c: &ConsentData) -> Result<(), Refusal> {
    if c.subject_name.trim().is_empty() || c.purpose.trim().is_empty() || c.scope.trim().is_empty() {
        return Err(Refusal::new("required", "同意记录须写明个人、处理目的和范围", "a consent names the person, the purpose and the scope"));
    }
    if let Some(b) = c.subject_birth_date {
        if b > c.given_on {
            return Err(Refusal::new("birth_date", "出生日期晚于同意日期", "the birth date is after the consent date"));
        }
        if age_on(b, c.given_on) < GUARDIAN_AGE && c.guardian_name.as_deref().is_none_or(|g| g.trim().is_empty()) {
            return Err(Refusal::new("guardian", "不满十四周岁的未成年人，须由其父母或其他监护人同意（写明监护人）", "a child under 14 needs a guardian's consent (name the guardian)"));
        }
    }
    if c.sensitive && !c.explicit {
        return Err(Refusal::new("explicit", "处理健康等敏感个人信息须取得个人的单独同意", "sensitive data such as health data needs separate, explicit consent"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn merge_refused_while_destruction_is_open_or_the_merged_archive_is_held() {
        assert!(check_merge("KH-1", false, None, true).is_ok(), "a held survivor only gains content");
        assert!(check_merge("KH-1", true, None, false).is_ok());
        assert_eq!(check_merge("KH-1", false, Some(7), false).unwrap_err().code, "destruction-pending");
        assert_eq!(check_merge("KH-1", true, None, true).unwrap_err().code, "legal-hold");
        assert!(check_merge("KH-1", true, Some(7), true).unwrap_err().zh.contains("#7"));
    }

    use super::*;
    use crate::model::CustomerKind;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn closed(class: RetentionClass, custom: Option<u16>) -> ArchiveData {
        let mut a = ArchiveData::new(CustomerKind::Person, "张三");
        a.status = ArchiveStatus::Closed;
        a.retention_class = class;
        a.retention_years = custom;
        a
    }

    #[test]
    fn due_counts_from_the_later_trigger() {
        let a = closed(RetentionClass::Y10, None);
        assert_eq!(due_date(&a, Some(d("2010-03-01")), None), Some(d("2020-03-01")));
        assert_eq!(due_date(&a, Some(d("2010-03-01")), Some(d("2012-06-30"))), Some(d("2022-06-30")));
        assert_eq!(due_date(&a, Some(d("2013-01-01")), Some(d("2012-06-30"))), Some(d("2023-01-01")));
        assert_eq!(due_date(&closed(RetentionClass::Y30, None), Some(d("2000-01-01")), None), Some(d("2030-01-01")));
        // leap day
        assert_eq!(due_date(&a, Some(d("2016-02-29")), None), Some(d("2026-02-28")));
    }

    #[test]
    fn never_due_when_permanent_open_or_held() {
        assert_eq!(due_date(&closed(RetentionClass::Permanent, None), Some(d("1990-01-01")), None), None);
        let mut open = closed(RetentionClass::Y10, None);
        open.status = ArchiveStatus::Lost;
        assert_eq!(due_date(&open, Some(d("1990-01-01")), Some(d("1990-01-01"))), None);
        assert_eq!(due_date(&closed(RetentionClass::Y10, None), None, Some(d("1990-01-01"))), None, "no closing date, no trigger");
        let due = Some(d("2020-01-01"));
        assert!(is_due(due, false, d("2020-01-01")));
        assert!(!is_due(due, false, d("2019-12-31")));
        assert!(!is_due(due, true, d("2030-01-01")), "a legal hold keeps it off the list");
        assert!(!is_due(None, false, d("2030-01-01")));
    }

    #[test]
    fn custom_years_replace_the_class() {
        assert_eq!(due_date(&closed(RetentionClass::Y10, Some(3)), Some(d("2020-05-01")), None), Some(d("2023-05-01")));
        assert_eq!(retention_years(RetentionClass::Permanent, Some(3)), None);
        assert!(check_custom_years(RetentionClass::Permanent, Some(5)).is_err());
        assert!(check_custom_years(RetentionClass::Y30, Some(0)).is_err());
        assert!(check_custom_years(RetentionClass::Y30, Some(101)).is_err());
        assert!(check_custom_years(RetentionClass::Y30, Some(15)).is_ok());
        assert!(check_custom_years(RetentionClass::Permanent, None).is_ok());
    }

    #[test]
    fn chain_never_waits_on_its_requester() {
        use DestructionStep::*;
        assert_eq!(destruction_chain(&[Role::Salesperson]), vec![Archivist, GeneralManager]);
        assert_eq!(destruction_chain(&[Role::ServiceStaff]), vec![Archivist, GeneralManager]);
        // the archivist's own appraisal: the archivist step goes up and collapses with the GM's
        assert_eq!(destruction_chain(&[Role::Archivist]), vec![GeneralManager]);
        // the general manager's own request: the deputy signs for the GM
        assert_eq!(destruction_chain(&[Role::GeneralManager]), vec![Archivist, SalesVp]);
        assert_eq!(destruction_chain(&[Role::GeneralManager, Role::Archivist]), vec![SalesVp]);
        for roles in [vec![Role::Archivist], vec![Role::GeneralManager], vec![Role::Salesperson], vec![Role::Archivist, Role::GeneralManager]] {
            let chain = destruction_chain(&roles);
            assert!(!chain.is_empty());
            assert!(chain.iter().all(|s| !roles.contains(&s.role())), "{roles:?} → {chain:?}");
        }
        assert!(can_decide(GeneralManager, 2, &[Role::GeneralManager], 1));
        assert!(!can_decide(GeneralManager, 1, &[Role::GeneralManager], 1), "not one's own request");
        assert!(!can_decide(Archivist, 2, &[Role::GeneralManager], 1), "the GM does not sign the archivist's step");
    }

    #[test]
    fn state_machine() {
        use DestructionEvent::*;
        use DestructionStatus::*;
        assert_eq!(transition(Pending, 0, 2, Decide { approved: true }), Ok((Pending, 1)));
        assert_eq!(transition(Pending, 1, 2, Decide { approved: true }), Ok((Approved, 1)));
        assert_eq!(transition(Pending, 0, 2, Decide { approved: false }), Ok((Rejected, 0)));
        assert_eq!(transition(Approved, 1, 2, Witness), Ok((Destroyed, 1)));
        assert_eq!(transition(Approved, 1, 2, Cancel), Ok((Cancelled, 1)));
        assert_eq!(transition(Pending, 0, 2, Witness).unwrap_err().code, "not-approved");
        for s in [Rejected, Cancelled, Destroyed] {
            for ev in [Decide { approved: true }, Cancel, Witness] {
                assert!(transition(s, 0, 2, ev).is_err(), "{s:?} {ev:?}");
            }
        }
        assert!(transition(Approved, 1, 2, Decide { approved: true }).is_err(), "no decision after the last one");
        assert!(check_witness(1, 1).is_err());
        assert!(check_witness(1, 2).is_ok());
        assert_eq!(register_no(2026, 7), "XH-2026-00007");
    }

    #[test]
    fn consent_rules() {
        let base = ConsentData {
            subject_name: "小明".into(),
            purpose: "课程服务".into(),
            scope: "姓名、年龄、课程记录".into(),
            subject_birth_date: Some(d("2016-09-01")),
            guardian_name: None,
            guardian_relation: None,
            sensitive: false,
            explicit: false,
            given_on: d("2026-03-01"),
        };
        assert_eq!(check_consent(&base).unwrap_err().code, "guardian");
        let mut ok = base.clone();
        ok.guardian_name = Some("王芳".into());
        assert!(check_consent(&ok).is_ok());
        // 14 on the day: no guardian needed
        let mut teen = base.clone();
        teen.subject_birth_date = Some(d("2012-03-01"));
        assert!(check_consent(&teen).is_ok());
        teen.subject_birth_date = Some(d("2012-03-02"));
        assert_eq!(check_consent(&teen).unwrap_err().code, "guardian");
        let mut health = ok.clone();
        health.sensitive = true;
        assert_eq!(check_consent(&health).unwrap_err().code, "explicit");
        health.explicit = true;
        assert!(check_consent(&health).is_ok());
        assert_eq!(pipl_due(d("2026-01-10")), d("2026-02-09"));
        assert!(pipl_overdue(PiplStatus::Open, d("2026-02-09"), d("2026-02-10")));
        assert!(!pipl_overdue(PiplStatus::Done, d("2026-02-09"), d("2026-02-10")));
        assert_eq!(age_on(d("2012-03-02"), d("2026-03-01")), 13);
    }
}
