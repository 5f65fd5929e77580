//! Printable forms of Dangan as A4 PDFs: the archive card (客户资料卡), the visit record
//! (客户拜访档案记录), the borrowing slip (借阅单), the handover list (交接清单) and the
//! destruction register (销毁清册).
//!
//! Pure functions: plain input structs in, PDF bytes out. No database, no HTTP, no clock, no
//! system fonts: the Chinese font (a subset of Noto Sans CJK SC, OFL) is compiled into the
//! binary and embedded (subset again) in every PDF. Layout is done by Typst used as a library
//! (`src/form.typ` is the one template; `src/forms.rs` turns each input into its data).
//!
//! Whoever calls these decides what may be printed (authorization, masking of ID numbers and
//! phones) and records the print in the audit log: the renderer prints what it is given. Every
//! page carries the [`Watermark`] (viewer and time) so that a leaked copy can be traced.
//!
//! Rendering is synchronous and CPU-bound (tens of milliseconds): call it from
//! `tokio::task::spawn_blocking` in async code.

mod forms;
mod world;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use dangan_core::model::{Archive, ContactData, EntryKind, RetentionClass, Secrecy, TimelineEntry};

/// Who printed the copy and when. Printed diagonally, light grey and repeated on every page,
/// and in the footer. All other times on the form are printed in `at`'s UTC offset.
#[derive(Debug, Clone, PartialEq)]
pub struct Watermark {
    /// The viewer as people know them, e.g. `张三 (zhangsan)`.
    pub viewer: String,
    /// When the copy was made, in the office's local offset (e.g. +08:00).
    pub at: DateTime<FixedOffset>,
    /// Optional trace reference printed with it, e.g. the audit record's number.
    pub reference: Option<String>,
}

/// A rendered form.
#[derive(Debug, Clone)]
pub struct Pdf {
    pub bytes: Vec<u8>,
    pub pages: usize,
    /// Characters of the input the embedded font cannot show (rare characters outside GB 2312
    /// and Big5 level 1); they print as empty boxes. Empty for almost every input; callers may
    /// warn the user.
    pub missing_chars: Vec<char>,
}

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("layout failed: {0}")]
    Layout(String),
    #[error("form data: {0}")]
    Data(String),
}

pub type Result<T> = std::result::Result<T, PdfError>;

/// The archive card (客户资料卡): basic data, contacts, classification, credit,
/// characteristics and management data of one archive.
#[derive(Debug, Clone)]
pub struct CardInput {
    /// The archive as the caller may show it (already masked where the viewer may not see clear values).
    pub archive: Archive,
    pub contacts: Vec<ContactData>,
    /// Display name of the owner (负责人), resolved by the caller from `archive.data.owner_id`.
    pub owner_name: Option<String>,
    /// Display name of the department (所属部门).
    pub department_name: Option<String>,
}

/// The visit record form (客户拜访档案记录) of one archive.
#[derive(Debug, Clone)]
pub struct VisitRecordInput {
    pub archive_no: String,
    pub customer_name: String,
    pub owner_name: Option<String>,
    pub rows: Vec<VisitRow>,
}

/// One line of the visit record.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    pub date: NaiveDate,
    pub kind: EntryKind,
    /// 拜访人: who visited / recorded it.
    pub visitor: String,
    /// 接待人 / 拜访对象.
    pub counterpart: Option<String>,
    /// 拜访内容及结果.
    pub summary: String,
    pub next_action: Option<String>,
    pub next_action_on: Option<NaiveDate>,
    /// A later entry corrects this one (printed as 已更正; both stay on the record).
    pub superseded: bool,
}

impl VisitRow {
    /// The row for a timeline entry; `visitor` is the display name of its author.
    pub fn from_entry(entry: &TimelineEntry, visitor: impl Into<String>) -> Self {
        let d = &entry.data;
        VisitRow {
            date: d.occurred_on,
            kind: d.kind,
            visitor: visitor.into(),
            counterpart: d.details.counterpart.clone(),
            summary: d.summary.clone(),
            next_action: d.details.next_action.clone(),
            next_action_on: d.details.next_action_on,
            superseded: entry.superseded_by.is_some(),
        }
    }
}

/// What is lent: the paper original (原件) or electronic access (电子查阅).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoanMedium {
    Paper,
    Electronic,
}

impl LoanMedium {
    pub fn label(self) -> &'static str {
        match self {
            LoanMedium::Paper => "原件借阅",
            LoanMedium::Electronic => "电子查阅",
        }
    }
}

/// The borrowing slip (借阅单 / 借阅登记表): one borrower, one purpose, one or more archives.
#[derive(Debug, Clone)]
pub struct BorrowingSlipInput {
    /// 借阅单号, e.g. the register line's number.
    pub slip_no: String,
    pub borrower: String,
    pub borrower_department: Option<String>,
    /// 借阅用途.
    pub purpose: String,
    pub medium: LoanMedium,
    pub lent_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// 经办档案员.
    pub lent_by: String,
    /// 审批人 (empty: signed by hand).
    pub approved_by: Option<String>,
    pub items: Vec<LoanItem>,
    /// Filled in once the archives came back (归还登记); `None` prints blank lines to fill by hand.
    pub returned: Option<ReturnInfo>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoanItem {
    pub archive_no: String,
    pub customer_name: String,
    pub secrecy: Secrecy,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReturnInfo {
    pub returned_at: DateTime<Utc>,
    /// 完好归还.
    pub complete: bool,
    /// 验收档案员.
    pub checked_by: String,
    pub note: Option<String>,
}

/// The handover list (交接清单): archives handed from one party to another, signed by both
/// and by the supervisor (监交人).
#[derive(Debug, Clone)]
pub struct HandoverListInput {
    pub list_no: String,
    pub handed_over_on: NaiveDate,
    /// 移交方 (department or person).
    pub from_party: String,
    /// 接收方.
    pub to_party: String,
    /// 监交人.
    pub supervisor: Option<String>,
    /// 交接事由, e.g. 业务员离职交接.
    pub reason: Option<String>,
    pub items: Vec<HandoverItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HandoverItem {
    pub archive_no: String,
    pub customer_name: String,
    pub secrecy: Secrecy,
    pub retention: RetentionClass,
    /// 件数/页数 of the paper file, if any.
    pub pieces: Option<u32>,
    pub note: Option<String>,
}

/// The destruction register (销毁清册): archives past their retention, the approvals, who
/// destroys them and the witnesses (监销人).
#[derive(Debug, Clone)]
pub struct DestructionRegisterInput {
    pub register_no: String,
    /// 销毁依据, e.g. 保管期限已满，经鉴定无保存价值.
    pub basis: String,
    /// 销毁方式, e.g. 碎纸机粉碎 / 电子数据删除.
    pub method: String,
    pub place: Option<String>,
    pub destroyed_on: Option<NaiveDate>,
    pub items: Vec<DestructionItem>,
    pub approvals: Vec<Approval>,
    /// 销毁人.
    pub executors: Vec<String>,
    /// 监销人 (at least one by the rules; the form prints blank lines when none is named).
    pub witnesses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DestructionItem {
    pub archive_no: String,
    pub customer_name: String,
    pub retention: RetentionClass,
    /// 建档日期.
    pub filed_on: Option<NaiveDate>,
    /// 保管期满日期.
    pub expired_on: Option<NaiveDate>,
    pub pieces: Option<u32>,
    pub note: Option<String>,
}

/// One step of an approval (审批): who, in what capacity, what they said.
#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// 审批环节, e.g. 部门负责人, 档案管理员, 分管副总.
    pub role: String,
    pub name: String,
    pub opinion: Option<String>,
    pub decided_on: Option<NaiveDate>,
}

pub fn render_archive_card(input: &CardInput, wm: &Watermark) -> Result<Pdf> {
    forms::render(forms::archive_card(input, wm))
}

pub fn render_visit_record(input: &VisitRecordInput, wm: &Watermark) -> Result<Pdf> {
    forms::render(forms::visit_record(input, wm))
}

pub fn render_borrowing_slip(input: &BorrowingSlipInput, wm: &Watermark) -> Result<Pdf> {
    forms::render(forms::borrowing_slip(input, wm))
}

pub fn render_handover_list(input: &HandoverListInput, wm: &Watermark) -> Result<Pdf> {
    forms::render(forms::handover_list(input, wm))
}

pub fn render_destruction_register(input: &DestructionRegisterInput, wm: &Watermark) -> Result<Pdf> {
    forms::render(forms::destruction_register(input, wm))
}

/// The characters of `text` the embedded font cannot print (for checking input before printing).
pub fn unsupported_chars(text: &str) -> Vec<char> {
    let font = &world::FONTS[0];
    let mut out: Vec<char> = text.chars().filter(|c| !c.is_control() && !c.is_whitespace() && !font.info().coverage.contains(*c as u32)).collect();
    out.sort_unstable();
    out.dedup();
    out
}
