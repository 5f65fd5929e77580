//! The audit trail's record format and its hash chain (tamper evidence).
//!
//! Every record carries the hash of the record before it and the hash of its own canonical
//! content, `hash = SHA-256(prev_hash ‖ "|" ‖ canonical(seq, event))`. Records are numbered
//! `1, 2, 3, …` without gaps. Walking the chain in order therefore finds:
//! - a record whose content was altered (its hash no longer matches its content),
//! - a record deleted (a gap in the numbering, or a broken link if the rest was renumbered),
//! - a record inserted out of order (a gap or a broken link),
//! and an exported head digest (`AuditHead`, written daily) makes a rewrite of the whole chain
//! detectable too: the rewritten chain no longer holds the exported hash at that position.
//!
//! Pure: the store persists records, the application builds events, `dangan audit verify` walks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{ArchiveId, DeptId, UserId};

/// The `prev_hash` of record 1.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The outcome of what was attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allowed,
    Denied,
    NeedsApproval,
    /// Attempted and allowed, but it did not succeed (e.g. a wrong password).
    Failed,
}

impl Outcome {
    pub const ALL: &'static [Outcome] = &[Outcome::Allowed, Outcome::Denied, Outcome::NeedsApproval, Outcome::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::NeedsApproval => "needs_approval",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Outcome::ALL.iter().copied().find(|o| o.as_str() == s)
    }

    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Outcome::Allowed, "en") => "allowed",
            (Outcome::Denied, "en") => "denied",
            (Outcome::NeedsApproval, "en") => "needs approval",
            (Outcome::Failed, "en") => "failed",
            (Outcome::Allowed, _) => "允许",
            (Outcome::Denied, "zh-TW") => "拒絕",
            (Outcome::Denied, _) => "拒绝",
            (Outcome::NeedsApproval, "zh-TW") => "需審批",
            (Outcome::NeedsApproval, _) => "需审批",
            (Outcome::Failed, _) => "失败",
        }
    }
}

macro_rules! audit_actions {
    ($($variant:ident = $code:literal, $zh:literal, $tw:literal, $en:literal;)*) => {
        /// What an audit record is about. The code (`archive.read`) is what is stored, hashed
        /// and sent in JSON.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction { $($variant,)* }

        impl Serialize for AuditAction {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for AuditAction {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = String::deserialize(d)?;
                AuditAction::parse(&code).ok_or_else(|| serde::de::Error::custom(format!("unknown audit action {code:?}")))
            }
        }

        impl AuditAction {
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            pub fn code(self) -> &'static str {
                match self { $(AuditAction::$variant => $code,)* }
            }

            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some(AuditAction::$variant),)* _ => None }
            }

            pub fn label(self, lang: &str) -> &'static str {
                match (self, lang) {
                    $((AuditAction::$variant, "en") => $en, (AuditAction::$variant, "zh-TW") => $tw, (AuditAction::$variant, _) => $zh,)*
                }
            }
        }
    };
}

audit_actions! {
    Login = "auth.login", "登录", "登入", "login";
    LoginFailed = "auth.login_failed", "登录失败", "登入失敗", "failed login";
    Logout = "auth.logout", "退出", "登出", "logout";
    TokenCreated = "auth.token_created", "创建 API 令牌", "建立 API 權杖", "API token created";
    PasswordSet = "auth.password_set", "设置密码", "設定密碼", "password set";
    ArchiveCreate = "archive.create", "新建档案", "新建檔案", "archive created";
    ArchiveBulkCreate = "archive.bulk_create", "批量建档", "批量建檔", "archives bulk-created";
    ArchiveRead = "archive.read", "查阅档案", "查閱檔案", "archive read";
    ArchiveReadUnmasked = "archive.read_unmasked", "查看明文", "查看明文", "sensitive fields unmasked";
    ArchiveUpdate = "archive.update", "修改档案", "修改檔案", "archive updated";
    ArchiveRestore = "archive.restore", "恢复历史版本", "恢復歷史版本", "version restored";
    ArchiveMerge = "archive.merge", "合并档案", "合併檔案", "archives merged";
    DuplicateScan = "archive.duplicates", "查重", "查重", "duplicate scan";
    ArchiveTransfer = "archive.transfer", "移交/变更密级", "移交/變更密級", "custody or protection changed";
    ArchiveList = "archive.list", "浏览列表", "瀏覽列表", "list viewed";
    ArchiveSearch = "archive.search", "检索", "檢索", "search";
    ArchiveExport = "archive.export", "导出", "匯出", "export";
    ArchiveImport = "archive.import", "导入", "匯入", "import";
    ArchivePrint = "archive.print", "打印", "列印", "print";
    VersionsRead = "archive.versions", "查看变更历史", "查看變更歷史", "history viewed";
    ContactAdd = "contact.add", "添加联系人", "新增聯絡人", "contact added";
    ContactUpdate = "contact.update", "修改联系人", "修改聯絡人", "contact updated";
    EntryAdd = "entry.add", "添加往来记录", "新增往來記錄", "timeline entry added";
    EntryCorrect = "entry.correct", "更正往来记录", "更正往來記錄", "timeline entry corrected";
    AttachmentAdd = "attachment.add", "上传附件", "上傳附件", "attachment uploaded";
    AttachmentDownload = "attachment.download", "下载附件", "下載附件", "attachment downloaded";
    AccessRequest = "access.request", "提交查阅申请", "提交查閱申請", "access requested";
    AccessApprove = "access.approve", "审批通过", "審批通過", "request approved";
    AccessReject = "access.reject", "审批驳回", "審批駁回", "request rejected";
    AccessCancel = "access.cancel", "撤回申请", "撤回申請", "request cancelled";
    GrantExpired = "grant.expired", "授权到期", "授權到期", "grant expired";
    LoanLend = "loan.lend", "借出登记", "借出登記", "archive lent";
    LoanReturn = "loan.return", "归还登记", "歸還登記", "archive returned";
    UserCreate = "user.create", "新建用户", "新建使用者", "user created";
    UserRoles = "user.roles", "变更角色", "變更角色", "roles changed";
    DepartmentCreate = "department.create", "新建部门", "新建部門", "department created";
    PolicyChange = "policy.change", "变更权限策略", "變更權限策略", "policy changed";
    Backup = "system.backup", "备份", "備份", "backup";
    Restore = "system.restore", "恢复备份", "恢復備份", "restore";
    BackupVerify = "system.backup_verify", "校验备份", "校驗備份", "backup verified";
    AuditView = "audit.view", "查看审计日志", "查看稽核日誌", "audit trail viewed";
    AuditExport = "audit.export", "导出审计日志", "匯出稽核日誌", "audit trail exported";
    ArchiveReview = "archive.review", "定期审查", "定期審查", "archive reviewed";
    ReminderList = "reminder.list", "查看提醒", "查看提醒", "reminders viewed";
    CalendarToken = "calendar.token", "生成日历订阅地址", "產生行事曆訂閱網址", "calendar feed address issued";
    CalendarFeed = "calendar.feed", "日历订阅读取", "行事曆訂閱讀取", "calendar feed read";
    PoolReturn = "pool.return", "退回公海", "退回公海", "returned to the customer pool";
    PoolClaim = "pool.claim", "从公海领取", "從公海領取", "claimed from the customer pool";
    UserHandover = "user.handover", "离职交接", "離職交接", "handover of a leaving employee";
    ChecklistMark = "checklist.mark", "登记档案材料", "登記檔案材料", "checklist item marked";
    ChecklistSettingsChange = "checklist.settings", "变更材料清单/节假日设置", "變更材料清單/節假日設定", "checklist settings changed";
    LegalHoldSet = "retention.hold", "设置法律冻结", "設定法律凍結", "legal hold set";
    ClosedOnSet = "retention.closed_on", "登记结档日期", "登記結檔日期", "closing date recorded";
    LegalHoldClear = "retention.release", "解除法律冻结", "解除法律凍結", "legal hold cleared";
    DisposalList = "retention.due_list", "查看到期待处置档案", "查看到期待處置檔案", "disposal-due list viewed";
    DestructionRequest = "destruction.request", "提交销毁鉴定", "提交銷毀鑑定", "destruction requested";
    DestructionApprove = "destruction.approve", "销毁审批通过", "銷毀審批通過", "destruction approved";
    DestructionReject = "destruction.reject", "销毁审批驳回", "銷毀審批駁回", "destruction rejected";
    DestructionCancel = "destruction.cancel", "撤回销毁申请", "撤回銷毀申請", "destruction cancelled";
    DestructionExecute = "destruction.execute", "监销并执行销毁", "監銷並執行銷毀", "destruction witnessed and carried out";
    ArchiveDestroy = "archive.destroy", "销毁档案", "銷毀檔案", "archive destroyed";
    ConsentRecord = "pipl.consent", "登记个人信息同意", "登記個人資訊同意", "consent recorded";
    ConsentWithdraw = "pipl.consent_withdraw", "撤回个人信息同意", "撤回個人資訊同意", "consent withdrawn";
    PiplRequest = "pipl.request", "登记个人信息权利请求", "登記個人資訊權利請求", "personal-information request recorded";
    PiplClose = "pipl.close", "办结个人信息权利请求", "辦結個人資訊權利請求", "personal-information request answered";
}

/// One audited event, before it is numbered and chained. Text fields are empty rather than
/// absent so that the canonical form has one spelling for "nothing".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    /// When it happened (stored and hashed with microsecond precision).
    pub at: DateTime<Utc>,
    pub user_id: Option<UserId>,
    pub username: String,
    /// Role codes at the time, comma-separated.
    pub roles: String,
    pub dept_id: Option<DeptId>,
    /// Client address ("" for the command line).
    pub client_addr: String,
    pub user_agent: String,
    /// Action code, e.g. `archive.read`, `archive.read_unmasked`, `auth.login_failed`.
    #[schema(value_type = String)]
    pub action: AuditAction,
    pub archive_id: Option<ArchiveId>,
    pub archive_no: String,
    /// Fields concerned (unmasked, changed, exported), comma-separated.
    pub fields: String,
    /// What allowed it: `grant:<id>`, a purpose, or "" for the actor's own rights.
    pub basis: String,
    pub outcome: Outcome,
    /// Event-specific details as compact JSON (query and result count, row count, diff …), or "".
    pub detail: String,
}

impl AuditEvent {
    /// An event with no actor, target or detail yet; callers fill what applies.
    pub fn new(action: AuditAction, at: DateTime<Utc>) -> Self {
        AuditEvent {
            at: truncate_to_micros(at),
            user_id: None,
            username: String::new(),
            roles: String::new(),
            dept_id: None,
            client_addr: String::new(),
            user_agent: String::new(),
            action,
            archive_id: None,
            archive_no: String::new(),
            fields: String::new(),
            basis: String::new(),
            outcome: Outcome::Allowed,
            detail: String::new(),
        }
    }

    /// The user recorded as having made the change (0 for the system).
    pub fn actor_id(&self) -> UserId {
        self.user_id.unwrap_or(0)
    }

    pub fn with_archive(mut self, id: ArchiveId, no: &str) -> Self {
        self.archive_id = Some(id);
        self.archive_no = no.to_string();
        self
    }

    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail.to_string();
        self
    }

    pub fn with_fields<S: AsRef<str>>(mut self, fields: &[S]) -> Self {
        self.fields = fields.iter().map(|f| f.as_ref()).collect::<Vec<_>>().join(",");
        self
    }
}

/// Stored timestamps have microsecond precision on both engines; hash what is stored.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A record as stored: the event, its position in the chain, and the two hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub seq: i64,
    #[serde(flatten)]
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// The canonical bytes of a record's content: a JSON array in a fixed order, so the same content
/// always hashes the same on either engine.
pub fn canonical(seq: i64, e: &AuditEvent) -> String {
    serde_json::json!([
        seq,
        e.at.timestamp_micros(),
        e.user_id,
        e.username,
        e.roles,
        e.dept_id,
        e.client_addr,
        e.user_agent,
        e.action.code(),
        e.archive_id,
        e.archive_no,
        e.fields,
        e.basis,
        e.outcome.as_str(),
        e.detail,
    ])
    .to_string()
}

pub fn chain_hash(prev_hash: &str, seq: i64, e: &AuditEvent) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"|");
    h.update(canonical(seq, e).as_bytes());
    hex_lower(&h.finalize())
}

fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// Numbers and chains events after the head `(last_seq, last_hash)`.
pub fn chain(last_seq: i64, last_hash: &str, events: Vec<AuditEvent>) -> Vec<AuditRecord> {
    let mut prev = last_hash.to_string();
    let mut seq = last_seq;
    events
        .into_iter()
        .map(|mut event| {
            event.at = truncate_to_micros(event.at);
            seq += 1;
            let hash = chain_hash(&prev, seq, &event);
            let rec = AuditRecord { seq, event, prev_hash: std::mem::replace(&mut prev, hash.clone()), hash };
            rec
        })
        .collect()
}

/// The chain's head at some moment, exported (daily) outside the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
    pub at: DateTime<Utc>,
}

impl AuditHead {
    /// One line: `seq hash at`.
    pub fn to_line(&self) -> String {
        format!("{} {} {}", self.seq, self.hash, self.at.to_rfc3339())
    }

    pub fn parse_line(line: &str) -> Option<Self> {
        let mut parts = line.split_whitespace();
        let seq = parts.next()?.parse().ok()?;
        let hash = parts.next()?.to_string();
        let at = DateTime::parse_from_rfc3339(parts.next()?).ok()?.with_timezone(&Utc);
        Some(AuditHead { seq, hash, at })
    }
}

/// What is wrong with the chain, at the first record where it shows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
pub enum ChainBreak {
    /// The record's content does not match its hash: it was altered.
    #[error("record {seq} was modified: its content no longer matches its hash / 第 {seq} 条记录被篡改（内容与哈希不符）")]
    Modified { seq: i64 },
    /// Numbers jump: records were deleted (or one was inserted with a number out of order).
    #[error("record(s) missing before {found}: expected {expected} (deleted, or inserted out of order) / 第 {expected} 条起记录缺失（被删除或乱序插入），下一条为第 {found} 条")]
    Missing { expected: i64, found: i64 },
    /// The record does not follow the one before it: inserted, reordered or renumbered.
    #[error("record {seq} does not follow record {prev}: the chain was broken (inserted, reordered or renumbered) / 第 {seq} 条记录与前一条（第 {prev} 条）不衔接：链条被插入、重排或重新编号")]
    BrokenLink { seq: i64, prev: i64 },
    /// An exported head is not in the chain any more: the chain was truncated or rewritten.
    #[error("the head exported at {at} (record {seq}) is not in the chain: it was truncated or rewritten / {at} 导出的链头（第 {seq} 条）已不在链中：日志被截断或整体改写")]
    HeadMismatch { seq: i64, at: String },
}

/// Walks a chain in order, one record at a time (the store pages through it).
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    next_seq: i64,
    prev_hash: String,
    pub checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier { next_seq: 1, prev_hash: GENESIS_HASH.to_string(), checked: 0 }
    }
}

impl ChainVerifier {
    pub fn check(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        if r.seq != self.next_seq {
            return Err(ChainBreak::Missing { expected: self.next_seq, found: r.seq });
        }
        if r.prev_hash != self.prev_hash {
            return Err(ChainBreak::BrokenLink { seq: r.seq, prev: r.seq - 1 });
        }
        if chain_hash(&r.prev_hash, r.seq, &r.event) != r.hash {
            return Err(ChainBreak::Modified { seq: r.seq });
        }
        self.next_seq += 1;
        self.prev_hash = r.hash.clone();
        self.checked += 1;
        Ok(())
    }

    /// The last record checked, as `(seq, hash)`.
    pub fn head(&self) -> (i64, &str) {
        (self.next_seq - 1, &self.prev_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: i64) -> AuditEvent {
        let mut e = AuditEvent::new(AuditAction::ArchiveRead, DateTime::from_timestamp(1_700_000_000 + i, 123_456_789).unwrap());
        e.user_id = Some(i);
        e.username = format!("用户{i}");
        e.archive_id = Some(i * 10);
        e.archive_no = format!("KH-2026-{i:06}");
        e
    }

    fn sample(n: i64) -> Vec<AuditRecord> {
        chain(0, GENESIS_HASH, (1..=n).map(ev).collect())
    }

    fn verify(records: &[AuditRecord]) -> Result<(), ChainBreak> {
        let mut v = ChainVerifier::default();
        records.iter().try_for_each(|r| v.check(r))
    }

    #[test]
    fn an_untouched_chain_verifies_and_continues_from_its_head() {
        let mut records = sample(5);
        assert_eq!(verify(&records), Ok(()));
        let last = records.last().unwrap().clone();
        records.extend(chain(last.seq, &last.hash, vec![ev(6), ev(7)]));
        assert_eq!(verify(&records), Ok(()));
        assert_eq!(records[6].seq, 7);
        // Hashing sees microseconds, as stored.
        assert_eq!(records[0].event.at.timestamp_subsec_nanos(), 123_456_000);
    }

    #[test]
    fn altering_any_field_is_found_at_that_record() {
        let base = sample(5);
        let alterations: Vec<Box<dyn Fn(&mut AuditRecord)>> = vec![
            Box::new(|r| r.event.username = "别人".into()),
            Box::new(|r| r.event.outcome = Outcome::Denied),
            Box::new(|r| r.event.at += chrono::Duration::microseconds(1)),
            Box::new(|r| r.event.archive_id = None),
            Box::new(|r| r.event.detail = "{}".into()),
            Box::new(|r| r.event.action = AuditAction::ArchiveUpdate),
        ];
        for alter in alterations {
            let mut records = base.clone();
            alter(&mut records[2]);
            assert_eq!(verify(&records), Err(ChainBreak::Modified { seq: 3 }));
        }
    }

    #[test]
    fn deleting_or_inserting_is_found() {
        let mut deleted = sample(5);
        deleted.remove(1);
        assert_eq!(verify(&deleted), Err(ChainBreak::Missing { expected: 2, found: 3 }));

        // Deleted and the rest renumbered (hashes recomputed from the wrong predecessor).
        let mut renumbered = sample(5);
        renumbered.remove(1);
        for r in renumbered.iter_mut().skip(1) {
            r.seq -= 1;
            r.hash = chain_hash(&r.prev_hash, r.seq, &r.event);
        }
        assert_eq!(verify(&renumbered), Err(ChainBreak::BrokenLink { seq: 2, prev: 1 }));

        // A forged record slipped in the middle, with its own well-formed hash.
        let mut inserted = sample(5);
        let forged = chain(2, &inserted[1].hash, vec![ev(99)]).remove(0);
        inserted.insert(2, forged);
        for r in inserted.iter_mut().skip(3) {
            r.seq += 1;
        }
        assert!(matches!(verify(&inserted), Err(ChainBreak::BrokenLink { seq: 4, .. })));
    }

    #[test]
    fn head_lines_round_trip() {
        let h = AuditHead { seq: 42, hash: sample(1)[0].hash.clone(), at: DateTime::from_timestamp(1_700_000_000, 0).unwrap() };
        assert_eq!(AuditHead::parse_line(&h.to_line()), Some(h));
        assert_eq!(AuditHead::parse_line("garbage"), None);
    }

    #[test]
    fn every_action_code_parses_back() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.code()), Some(*a));
            assert!(!a.label("zh-CN").is_empty() && !a.label("en").is_empty());
        }
    }
}
