//! Field validation (pure). Each failure names the field and says what is wrong in zh-CN,
//! zh-TW and English.
//!
//! The checks follow the national standards the data comes from:
//! - 居民身份证号码: GB 11643-1999 (18 characters, ISO 7064 MOD 11-2 check character) and the
//!   legacy 15-digit form;
//! - 统一社会信用代码: GB 32100-2015 (18 characters over a 31-symbol alphabet, MOD 31 check);
//! - phone numbers by the mainland numbering plan (11-digit mobiles; 3-digit area codes only
//!   for 010 and 02X, 4-digit ones elsewhere; 400/800 service numbers).
//!
//! Validators report every problem they find, not just the first, so a form can mark all bad
//! fields at once. A blank optional value counts as absent (`ArchiveData::normalize` turns it into
//! `None` anyway). Nothing here reads the clock.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use crate::model::{ArchiveData, ContactData, EntryData, IdType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Required,
    TooLong,
    IdNumberFormat,
    IdNumberBirthDate,
    IdNumberCheckDigit,
    UsccFormat,
    UsccCheckDigit,
    Mobile,
    Landline,
    PostalCode,
    Email,
    Date,
    DateRange,
    Number,
    Amount,
    Template,
    CorrectionReasonRequired,
    /// A key field (name, credit code, ID number) that had a value was changed without a reason.
    KeyFieldReasonRequired,
    /// `person.birth_date` differs from the birth date encoded in a valid resident ID number.
    /// Kept apart from `IdNumberBirthDate` (an impossible date inside the ID itself) because the
    /// fix is different: one of two otherwise valid fields was typed wrong.
    BirthDateMismatch,
    /// Not a network in CIDR form (`archive_room_networks[i]`).
    Network,
    /// An approval chain that is empty, too long or names an approver twice.
    ApprovalChain,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path of the field, as in the JSON body (`organization.uscc`, `contacts[0].mobile`).
    pub field: String,
    pub code: ErrorCode,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: ErrorCode) -> Self {
        FieldError { field: field.into(), code }
    }

    /// The message in `lang` (`zh-CN`, `zh-TW`, `en`; anything else gets zh-CN), naming the field.
    pub fn message(&self, lang: &str) -> String {
        let lang = Lang::of(lang);
        let label = label_in(&self.field, lang);
        let leaf = leaf(&self.field);
        // The ID-number codes only arise for resident IDs, so the message says "身份证号码" even
        // though the field itself (which may hold a passport number) is labelled "证件号码".
        let subject = match self.code {
            ErrorCode::IdNumberFormat | ErrorCode::IdNumberBirthDate | ErrorCode::IdNumberCheckDigit if leaf == "id_number" => {
                lang.pick("身份证号码", "身分證號碼", "Resident ID number").to_string()
            }
            _ => label,
        };
        let s = subject.as_str();
        use ErrorCode::*;
        match (self.code, lang) {
            (Required, Lang::Cn) => format!("{s}不能为空"),
            (Required, Lang::Tw) => format!("{s}不能為空"),
            (Required, Lang::En) => format!("{s} is required"),

            (TooLong, l) => match max_len(&self.field) {
                Some(n) => match l {
                    Lang::Cn => format!("{s}不能超过{n}个字"),
                    Lang::Tw => format!("{s}不能超過{n}個字"),
                    Lang::En => format!("{s} must be at most {n} characters"),
                },
                None => l.pick3(format!("{s}内容过长"), format!("{s}內容過長"), format!("{s} is too long")),
            },

            (IdNumberFormat, Lang::Cn) => format!("{s}格式不正确，应为18位（最后一位可为X）"),
            (IdNumberFormat, Lang::Tw) => format!("{s}格式不正確，應為18位（最後一位可為X）"),
            (IdNumberFormat, Lang::En) => format!("{s} must be 17 digits followed by a digit or X"),

            (IdNumberBirthDate, Lang::Cn) => format!("{s}中的出生日期无效"),
            (IdNumberBirthDate, Lang::Tw) => format!("{s}中的出生日期無效"),
            (IdNumberBirthDate, Lang::En) => format!("{s} contains an invalid birth date"),

            (IdNumberCheckDigit | UsccCheckDigit, Lang::Cn) => format!("{s}校验位错误"),
            (IdNumberCheckDigit | UsccCheckDigit, Lang::Tw) => format!("{s}檢查碼錯誤"),
            (IdNumberCheckDigit | UsccCheckDigit, Lang::En) => format!("{s} has a wrong check character; please look for a typo"),

            (UsccFormat, Lang::Cn) => format!("{s}格式不正确，应为18位数字或大写字母（不含I、O、S、V、Z）"),
            (UsccFormat, Lang::Tw) => format!("{s}格式不正確，應為18位數字或大寫字母（不含I、O、S、V、Z）"),
            (UsccFormat, Lang::En) => format!("{s} must be 18 digits or capital letters (I, O, S, V and Z are not used)"),

            (Mobile, Lang::Cn) => format!("{s}格式不正确，应为11位大陆手机号"),
            (Mobile, Lang::Tw) => format!("{s}格式不正確，應為11位大陸手機號碼"),
            (Mobile, Lang::En) => format!("{s} must be an 11-digit mainland China mobile number"),

            (Landline, Lang::Cn) => format!("{s}格式不正确，应为区号加号码，如0571-88886666"),
            (Landline, Lang::Tw) => format!("{s}格式不正確，應為區號加號碼，如0571-88886666"),
            (Landline, Lang::En) => format!("{s} must include the area code, e.g. 0571-88886666"),

            (PostalCode, Lang::Cn) => format!("{s}格式不正确，应为6位数字"),
            (PostalCode, Lang::Tw) => format!("{s}格式不正確，應為6位數字"),
            (PostalCode, Lang::En) => format!("{s} must be 6 digits"),

            (Email, Lang::Cn) => format!("{s}格式不正确，如name@example.com"),
            (Email, Lang::Tw) => format!("{s}格式不正確，如name@example.com"),
            (Email, Lang::En) => format!("{s} is not a valid email address"),

            (Date, Lang::Cn) => format!("{s}不是有效日期，请按2023-03-04的格式填写"),
            (Date, Lang::Tw) => format!("{s}不是有效日期，請按2023-03-04的格式填寫"),
            (Date, Lang::En) => format!("{s} is not a valid date; use the form 2023-03-04"),

            (DateRange, l) => {
                let start = range_start(&self.field).map(|f| label_in(&f, l));
                match (l, start) {
                    (Lang::Cn, Some(st)) => format!("{s}不能早于{st}"),
                    (Lang::Tw, Some(st)) => format!("{s}不能早於{st}"),
                    (Lang::En, Some(st)) => format!("{s} cannot be earlier than {}", lower_first(&st)),
                    (Lang::Cn, None) => format!("{s}不能早于开始日期"),
                    (Lang::Tw, None) => format!("{s}不能早於開始日期"),
                    (Lang::En, None) => format!("{s} cannot be earlier than the start date"),
                }
            }

            (Number, l) => {
                let hint = match leaf {
                    "discount_percent" => l.pick("应在1到100之间", "應在1到100之間", " must be between 1 and 100"),
                    "payment_term_days" => l.pick("应在0到3650天之间", "應在0到3650天之間", " must be between 0 and 3650 days"),
                    "employees" | "quantity" => l.pick("不能为负数", "不能為負數", " must not be negative"),
                    "grant_max_hours" | "secret_grant_max_hours" => l.pick("应在1到720小时之间", "應在1到720小時之間", " must be between 1 and 720 hours"),
                    _ => l.pick("超出允许范围", "超出允許範圍", " is out of range"),
                };
                format!("{s}{hint}")
            }

            (Amount, Lang::Cn) => format!("{s}不能为负数"),
            (Amount, Lang::Tw) => format!("{s}不能為負數"),
            (Amount, Lang::En) => format!("{s} must not be negative"),

            (Template, Lang::Cn) => format!("{s}不符合行业模板的要求"),
            (Template, Lang::Tw) => format!("{s}不符合行業模板的要求"),
            (Template, Lang::En) => format!("{s} does not match the industry template"),

            (CorrectionReasonRequired, Lang::Cn) => format!("更正记录时必须填写{s}"),
            (CorrectionReasonRequired, Lang::Tw) => format!("更正記錄時必須填寫{s}"),
            (CorrectionReasonRequired, Lang::En) => format!("{s} is required when correcting an entry"),

            (KeyFieldReasonRequired, Lang::Cn) => format!("更正关键字段（名称、统一社会信用代码、证件号码）时必须填写{s}"),
            (KeyFieldReasonRequired, Lang::Tw) => format!("更正關鍵欄位（名稱、統一社會信用代碼、證件號碼）時必須填寫{s}"),
            (KeyFieldReasonRequired, Lang::En) => format!("{s} is required when correcting a key field (name, credit code, ID number)"),

            (BirthDateMismatch, Lang::Cn) => format!("{s}与身份证号码中的出生日期不一致"),
            (BirthDateMismatch, Lang::Tw) => format!("{s}與身分證號碼中的出生日期不一致"),
            (BirthDateMismatch, Lang::En) => format!("{s} does not match the birth date in the resident ID number"),

            (Network, l) => {
                let n = item_number(&self.field);
                l.pick3(
                    format!("{s}第{n}项不是有效的网络地址，请写成 CIDR 形式，如 10.8.1.0/24 或单个地址 10.8.1.15"),
                    format!("{s}第{n}項不是有效的網路位址，請寫成 CIDR 形式，如 10.8.1.0/24 或單一位址 10.8.1.15"),
                    format!("{s}, item {n}, is not a network; write it in CIDR form, e.g. 10.8.1.0/24, or as one address, e.g. 10.8.1.15"),
                )
            }

            (ApprovalChain, l) => l.pick3(
                format!("{s}至少要有一步，最多6步，同一审批人不能出现两次"),
                format!("{s}至少要有一步，最多6步，同一審批人不能出現兩次"),
                format!("{s} needs 1 to 6 steps, each approver at most once"),
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Languages and field labels
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Cn,
    Tw,
    En,
}

impl Lang {
    /// `en`, `en-US` → English; `zh-TW`, `zh-HK`, `zh-MO`, `zh-Hant…` → traditional; anything
    /// else (including unknown tags) → simplified Chinese, the house language.
    fn of(tag: &str) -> Lang {
        let t = tag.trim().to_ascii_lowercase().replace('_', "-");
        if t == "en" || t.starts_with("en-") {
            Lang::En
        } else if matches!(t.as_str(), "zh-tw" | "zh-hk" | "zh-mo") || t.starts_with("zh-hant") {
            Lang::Tw
        } else {
            Lang::Cn
        }
    }
    fn pick(self, cn: &'static str, tw: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Cn => cn,
            Lang::Tw => tw,
            Lang::En => en,
        }
    }
    fn pick3(self, cn: String, tw: String, en: String) -> String {
        match self {
            Lang::Cn => cn,
            Lang::Tw => tw,
            Lang::En => en,
        }
    }
}

/// (path, zh-CN, zh-TW, en) for archive and entry fields.
const FIELD_LABELS: &[(&str, &str, &str, &str)] = &[
    // `name` is shared by archives and by contacts validated without a prefix, so it stays
    // generic ("名称") rather than "客户名称".
    ("name", "名称", "名稱", "Name"),
    ("reason", "变更原因", "變更原因", "Reason for the change"),
    ("due_at", "应还日期", "應還日期", "Due date"),
    ("kind", "客户类型", "客戶類型", "Customer type"),
    ("mobile", "手机号码", "手機號碼", "Mobile number"),
    ("landline", "固定电话", "固定電話", "Landline"),
    ("email", "电子邮箱", "電子郵件", "Email"),
    ("address", "地址", "地址", "Address"),
    ("postal_code", "邮政编码", "郵遞區號", "Postal code"),
    ("status", "客户状态", "客戶狀態", "Status"),
    ("template", "行业模板", "行業模板", "Industry template"),
    ("custom", "行业扩展信息", "行業擴充資訊", "Industry-specific fields"),
    ("owner_id", "负责人", "負責人", "Owner"),
    ("dept_id", "所属部门", "所屬部門", "Department"),
    ("tier", "管理级别", "管理級別", "Management tier"),
    ("secrecy", "密级", "密級", "Secrecy level"),
    ("retention_class", "保管期限", "保管期限", "Retention period"),
    ("retention_years", "自定义保管年限（1–100 年，永久保管除外）", "自訂保管年限（1–100 年，永久保管除外）", "Custom retention years (1–100, not for permanent)"),
    ("person.gender", "性别", "性別", "Gender"),
    ("person.birth_date", "出生日期", "出生日期", "Date of birth"),
    ("person.id_type", "证件类型", "證件類型", "ID type"),
    ("person.id_number", "证件号码", "證件號碼", "ID number"),
    ("person.occupation", "职业", "職業", "Occupation"),
    ("person.employer", "工作单位", "工作單位", "Employer"),
    ("organization.uscc", "统一社会信用代码", "統一社會信用代碼", "Unified social credit code"),
    ("organization.legal_representative", "法定代表人", "法定代表人", "Legal representative"),
    ("organization.registered_capital", "注册资本", "註冊資本", "Registered capital"),
    ("organization.founded_on", "成立日期", "成立日期", "Date founded"),
    ("organization.organization_form", "组织形式", "組織形式", "Organization form"),
    ("organization.employees", "员工人数", "員工人數", "Number of employees"),
    ("organization.annual_sales", "年销售额", "年銷售額", "Annual sales"),
    ("organization.business_scope", "经营范围", "經營範圍", "Business scope"),
    ("classification.industry", "所属行业", "所屬行業", "Industry"),
    ("classification.province", "省份", "省份", "Province"),
    ("classification.city", "城市", "城市", "City"),
    ("classification.district", "区县", "區縣", "District"),
    ("classification.nature", "客户性质", "客戶性質", "Customer nature"),
    ("classification.source_channel", "来源渠道", "來源管道", "Source channel"),
    ("classification.grade", "客户等级", "客戶等級", "Customer grade"),
    ("classification.tags", "标签", "標籤", "Tags"),
    ("credit.grade", "信用等级", "信用等級", "Credit grade"),
    ("credit.limit", "信用额度", "信用額度", "Credit limit"),
    ("credit.payment_term_days", "账期天数", "帳期天數", "Payment term (days)"),
    ("credit.discount_percent", "折扣率", "折扣率", "Discount (%)"),
    ("credit.blacklisted", "黑名单", "黑名單", "Blacklisted"),
    ("credit.blacklist_reason", "列入黑名单原因", "列入黑名單原因", "Blacklist reason"),
    ("credit.assessed_on", "信用评定日期", "信用評定日期", "Credit assessment date"),
    ("credit.valid_until", "信用有效期至", "信用有效期至", "Credit valid until"),
    ("characteristics.service_area", "服务区域", "服務區域", "Service area"),
    ("characteristics.sales_ability", "销售能力", "銷售能力", "Sales ability"),
    ("characteristics.development_potential", "发展潜力", "發展潛力", "Development potential"),
    ("characteristics.business_policy", "经营方针", "經營方針", "Business policy"),
    ("characteristics.cooperation_attitude", "合作态度", "合作態度", "Attitude to cooperation"),
    ("characteristics.business_status", "业务状况", "業務狀況", "Business status"),
    ("characteristics.notes", "备注", "備註", "Notes"),
    // Timeline entries (往来记录).
    ("occurred_on", "发生日期", "發生日期", "Date"),
    ("summary", "摘要", "摘要", "Summary"),
    ("supersedes", "被更正的记录", "被更正的記錄", "Corrected entry"),
    ("correction_reason", "更正原因", "更正原因", "Correction reason"),
    ("details.product", "产品", "產品", "Product"),
    ("details.quantity", "数量", "數量", "Quantity"),
    ("details.amount", "金额", "金額", "Amount"),
    ("details.contract_no", "合同编号", "合約編號", "Contract number"),
    ("details.start_date", "开始日期", "開始日期", "Start date"),
    ("details.end_date", "结束日期", "結束日期", "End date"),
    ("details.complaint_status", "投诉处理状态", "投訴處理狀態", "Complaint status"),
    ("details.counterpart", "接洽人", "接洽人", "Counterpart"),
    ("details.next_action", "下一步行动", "下一步行動", "Next action"),
    ("details.next_action_on", "下次跟进日期", "下次跟進日期", "Next follow-up date"),
];

/// (field inside a contact, zh-CN, zh-TW, en as it reads after "Contact ").
const CONTACT_LABELS: &[(&str, &str, &str, &str)] = &[
    ("name", "姓名", "姓名", "name"),
    ("title", "职务", "職務", "job title"),
    ("mobile", "手机号码", "手機號碼", "mobile number"),
    ("landline", "固定电话", "固定電話", "landline"),
    ("email", "电子邮箱", "電子郵件", "email"),
    ("wechat", "微信号", "微信號", "WeChat ID"),
    ("birthday", "生日", "生日", "birthday"),
    ("preferences", "个人喜好", "個人喜好", "preferences"),
    ("is_primary", "是否主要联系人", "是否主要聯絡人", "primary flag"),
];

/// The display name of a field path in `lang` (`zh-CN`, `zh-TW`, `en`). `contacts[N].mobile`
/// becomes "联系人 手机号码" / "聯絡人 手機號碼" / "Contact mobile number"; an unknown path is
/// returned unchanged so the message still points somewhere.
pub fn field_label(field: &str, lang: &str) -> String {
    label_in(field, Lang::of(lang))
}

fn label_in(field: &str, lang: Lang) -> String {
    if let Some(label) = policy_label(field, lang) {
        return label;
    }
    if let Some(sub) = strip_contact_prefix(field) {
        if let Some(&(_, cn, tw, en)) = CONTACT_LABELS.iter().find(|(k, ..)| *k == sub) {
            return match lang {
                Lang::Cn => format!("联系人 {cn}"),
                Lang::Tw => format!("聯絡人 {tw}"),
                Lang::En => format!("Contact {en}"),
            };
        }
        return field.to_string();
    }
    match FIELD_LABELS.iter().find(|(k, ..)| *k == field) {
        Some(&(_, cn, tw, en)) => lang.pick(cn, tw, en).to_string(),
        None => field.to_string(),
    }
}

/// Labels of the policy settings' fields (策略设置): `archive_room_networks[2]`,
/// `chains[4].steps` (the chain's tier × secrecy is not known here, so its position is named).
fn policy_label(field: &str, lang: Lang) -> Option<String> {
    let base = field.split('[').next().unwrap_or(field);
    Some(match base {
        "grant_max_hours" => lang.pick("普通授权最长时限", "普通授權最長時限", "Longest grant").to_string(),
        "secret_grant_max_hours" => lang.pick("秘密级授权最长时限", "秘密級授權最長時限", "Longest grant for 秘密 archives").to_string(),
        "archive_room_networks" => lang.pick("档案室网络", "檔案室網路", "Archive-room networks").to_string(),
        "chains.company.normal" | "chains.company.secret" | "chains.company.confidential" | "chains.department.normal" | "chains.department.secret"
        | "chains.department.confidential" | "chains.personal.normal" | "chains.personal.secret" | "chains.personal.confidential" => {
            let mut parts = base.split('.').skip(1);
            let tier = parts.next().and_then(|t| t.parse::<crate::model::Tier>().ok())?;
            let secrecy = parts.next().and_then(|t| t.parse::<crate::model::Secrecy>().ok())?;
            let l = match lang {
                Lang::Cn => "zh-CN",
                Lang::Tw => "zh-TW",
                Lang::En => "en",
            };
            match lang {
                Lang::En => format!("The approval chain for {} {} archives", tier.label(l).to_lowercase(), secrecy.label(l).to_lowercase()),
                _ => format!("{}·{}{}", tier.label(l), secrecy.label(l), lang.pick("档案的审批流程", "檔案的審批流程", "")),
            }
        }
        _ => return None,
    })
}

/// `x[2]…` → 3 (people count from one); 1 when there is no index.
fn item_number(field: &str) -> usize {
    field.split_once('[').and_then(|(_, r)| r.split(']').next()).and_then(|i| i.parse::<usize>().ok()).map_or(1, |i| i + 1)
}

/// `contacts[3].mobile` → `mobile`; `None` for anything else.
fn strip_contact_prefix(field: &str) -> Option<&str> {
    let rest = field.strip_prefix("contacts[")?;
    let close = rest.find("].")?;
    if close == 0 || !rest[..close].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(&rest[close + 2..])
}

/// Last segment of a dotted path (`credit.valid_until` → `valid_until`).
fn leaf(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}

/// For a DateRange error on an end date, the path of the start date it was compared with.
fn range_start(field: &str) -> Option<String> {
    let start = match leaf(field) {
        "valid_until" => "assessed_on",
        "end_date" => "start_date",
        _ => return None,
    };
    Some(format!("{}{start}", &field[..field.len() - leaf(field).len()]))
}

/// Length limits in characters, shared by the checks and the TooLong message.
fn max_len(field: &str) -> Option<usize> {
    match leaf(field) {
        "name" => Some(MAX_NAME),
        "summary" => Some(MAX_SUMMARY),
        "id_number" => Some(MAX_ID_NUMBER),
        _ => None,
    }
}

const MAX_NAME: usize = 200;
const MAX_SUMMARY: usize = 2000;
/// Passport and permit numbers are short; this only stops pasted garbage.
const MAX_ID_NUMBER: usize = 64;

fn lower_first(s: &str) -> String {
    let mut cs = s.chars();
    match (cs.next(), s.chars().nth(1)) {
        // Keep acronyms ("ID type") as they are.
        (Some(c), Some(n)) if c.is_ascii_uppercase() && !n.is_ascii_uppercase() => c.to_ascii_lowercase().to_string() + cs.as_str(),
        _ => s.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Character helpers
// ---------------------------------------------------------------------------------------------

/// Maps full-width forms (全角, what a Chinese IME types: `１２３`, `－`, `（`) to ASCII, the
/// ideographic space to a space and the usual dash look-alikes to `-`.
fn to_halfwidth(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
        _ => c,
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `Some(trimmed)` for a present, non-blank value.
fn present(o: &Option<String>) -> Option<&str> {
    o.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Resident ID (GB 11643-1999)
// ---------------------------------------------------------------------------------------------

/// What an 18- or 15-digit resident ID number encodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResidentIdInfo {
    pub birth_date: NaiveDate,
    /// The sequence number's last digit is odd for men, even for women.
    pub male: bool,
    /// 6-digit administrative division code where the number was issued (not checked against
    /// the division list: codes change and old numbers keep their old codes).
    pub region_code: String,
}

/// W_i = 2^(17-i) mod 11 (ISO 7064 MOD 11-2).
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character indexed by the weighted sum mod 11.
const ID_CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// The check character for the first 17 digits of a resident ID (`'0'..='9'` or `'X'`).
/// Only the first 17 characters are read, so a full 18-character number may be passed; a
/// non-digit counts as 0 (the result is then meaningless, but this never panics).
pub fn resident_id_check_char(first17: &str) -> char {
    let sum: u32 = first17.chars().take(17).zip(ID_WEIGHTS).map(|(c, w)| c.to_digit(10).unwrap_or(0) * w).sum();
    ID_CHECK_CHARS[(sum % 11) as usize] as char
}

/// Checks an 18-character resident ID number (lowercase `x` accepted) or a legacy 15-digit one
/// (birth date YYMMDD in the 1900s, no check character). The birth year must be 1900..=2100:
/// without a clock "not in the future" cannot be checked here.
///
/// An impossible birth date is reported before a wrong check character, because a typo in the
/// date usually breaks both and the date is the more specific hint.
pub fn check_resident_id(s: &str) -> Result<ResidentIdInfo, ErrorCode> {
    let s = s.trim();
    let b = s.as_bytes();
    let (birth_date, sex_digit) = match b.len() {
        18 => {
            // Byte checks first: slicing `s` is only safe once it is known to be ASCII.
            let last_ok = b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x';
            if !b[..17].iter().all(u8::is_ascii_digit) || !last_ok {
                return Err(ErrorCode::IdNumberFormat);
            }
            let date = ymd(&s[6..10], &s[10..12], &s[12..14])
                .filter(|d| (1900..=2100).contains(&d.year()))
                .ok_or(ErrorCode::IdNumberBirthDate)?;
            if resident_id_check_char(&s[..17]) != (b[17] as char).to_ascii_uppercase() {
                return Err(ErrorCode::IdNumberCheckDigit);
            }
            (date, b[16])
        }
        15 => {
            if !all_digits(s) {
                return Err(ErrorCode::IdNumberFormat);
            }
            let year = 1900 + s[6..8].parse::<i32>().map_err(|_| ErrorCode::IdNumberFormat)?;
            let date = ymd(&year.to_string(), &s[8..10], &s[10..12]).ok_or(ErrorCode::IdNumberBirthDate)?;
            (date, b[14])
        }
        _ => return Err(ErrorCode::IdNumberFormat),
    };
    Ok(ResidentIdInfo { birth_date, male: (sex_digit - b'0') % 2 == 1, region_code: s[..6].to_string() })
}

fn ymd(y: &str, m: &str, d: &str) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

// ---------------------------------------------------------------------------------------------
// Unified social credit code (GB 32100-2015)
// ---------------------------------------------------------------------------------------------

/// The 31 symbols of GB 32100: digits and capitals without I, O, Z, S, V (easily misread).
const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// W_i = 3^i mod 31.
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

fn uscc_value(c: char) -> Option<u32> {
    let c = c.to_ascii_uppercase();
    USCC_CHARSET.iter().position(|&b| b as char == c).map(|i| i as u32)
}

/// The check character for the first 17 characters of a USCC: C18 = 31 - (Σ v_i·W_i mod 31),
/// with 31 written as `0`. Only the first 17 characters are read; a character outside the
/// charset counts as 0 (meaningless result, no panic).
pub fn uscc_check_char(first17: &str) -> char {
    let sum: u32 = first17.chars().take(17).zip(USCC_WEIGHTS).map(|(c, w)| uscc_value(c).unwrap_or(0) * w).sum();
    USCC_CHARSET[((31 - sum % 31) % 31) as usize] as char
}

/// Checks a unified social credit code: 18 characters from the GB 32100 charset (lowercase is
/// accepted; callers store it uppercased) with a correct check character. The registration
/// authority / organization type / region parts are not checked further, the check character
/// already catches every single-character typo.
pub fn check_uscc(s: &str) -> Result<(), ErrorCode> {
    let s = s.trim();
    if s.chars().count() != 18 || !s.chars().all(|c| uscc_value(c).is_some()) {
        return Err(ErrorCode::UsccFormat);
    }
    let last = s.chars().last().map(|c| c.to_ascii_uppercase());
    if last != Some(uscc_check_char(s)) {
        return Err(ErrorCode::UsccCheckDigit);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Phones, postal codes, email
// ---------------------------------------------------------------------------------------------

/// Puts a mobile number into its stored form: full-width characters made ASCII, spaces,
/// dashes and parentheses removed, and a leading `+86` / `0086` / `86` dropped when what
/// remains is an 11-digit number starting with 1. Other characters (letters, `+` of a foreign
/// number) are kept on purpose so that `check_mobile` rejects the value instead of this
/// function silently turning garbage into digits. Idempotent.
pub fn normalize_mobile(s: &str) -> String {
    let t: String = s
        .chars()
        .map(to_halfwidth)
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '(' | ')')))
        .collect();
    for prefix in ["+86", "0086", "86"] {
        if let Some(rest) = t.strip_prefix(prefix) {
            if rest.len() == 11 && all_digits(rest) && rest.starts_with('1') {
                return rest.to_string();
            }
        }
    }
    t
}

/// A mainland mobile number: after `normalize_mobile`, `^1[3-9]\d{9}$`.
pub fn check_mobile(s: &str) -> Result<(), ErrorCode> {
    let n = normalize_mobile(s);
    let b = n.as_bytes();
    if b.len() == 11 && all_digits(&n) && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) {
        Ok(())
    } else {
        Err(ErrorCode::Mobile)
    }
}

/// A fixed-line number with area code, or a 400/800 service number.
///
/// Accepted: `0571-88886666`, `010-62345678`, `(0571)88886666`, `（0571）8888 6666`,
/// `057188886666`, `+86-571-88886666`, `400-123-4567`, `8008208820`, each optionally followed by
/// an extension `-123`, `转123` (轉, 分机, ext). Full-width characters are accepted.
///
/// Area codes follow the numbering plan: 3 digits for 010 and 020-029, 4 digits for every
/// other code (03xx-09xx). That rule also splits an undelimited `057188886666` unambiguously.
/// Local numbers are 7-8 digits not starting with 0 or 1 (those are trunk and special-service
/// prefixes). Numbers without an area code are refused: the archive is shared across cities.
pub fn check_landline(s: &str) -> Result<(), ErrorCode> {
    parse_landline(s).ok_or(ErrorCode::Landline)
}

fn parse_landline(s: &str) -> Option<()> {
    let t: String = s.trim().chars().map(to_halfwidth).collect();
    let (main, ext) = split_extension(&t)?;
    let main = international_to_domestic(main);
    let is_sep = |c: char| c == '-' || c == ' ';
    let split = |s: &str| -> Vec<String> { s.split(is_sep).filter(|g| !g.is_empty()).map(str::to_string).collect() };

    // The area code and the digit groups after it.
    let (area, groups) = if let Some(r) = main.strip_prefix('(') {
        let (area, rest) = r.split_once(')')?;
        (area.trim().to_string(), split(rest))
    } else {
        let mut groups = split(&main);
        let g0 = groups.first()?.clone();
        if !groups.iter().all(|g| all_digits(g)) {
            return None;
        }
        if g0.starts_with("400") || g0.starts_with("800") {
            // Service numbers: 10 digits however they are grouped.
            let (digits, rest) = take_digits(&groups, 10)?;
            return if digits.len() == 10 { finish_ext(rest, ext) } else { None };
        }
        if !g0.starts_with('0') || g0.len() < 3 {
            return None;
        }
        // The numbering plan fixes the area code's length, which also splits `057188886666`.
        let area_len = if matches!(g0.as_bytes()[1], b'1' | b'2') { 3 } else { 4 };
        if g0.len() < area_len {
            return None;
        }
        if g0.len() == area_len {
            groups.remove(0);
        } else {
            groups[0] = g0[area_len..].to_string();
        }
        (g0[..area_len].to_string(), groups)
    };
    if !valid_area_code(&area) || !groups.iter().all(|g| all_digits(g)) {
        return None;
    }
    let (local, rest) = take_digits(&groups, 7)?;
    if !valid_local(&local) {
        return None;
    }
    finish_ext(rest, ext)
}

/// Splits `0571-88886666转123` into the number and a validated extension (1-6 digits).
fn split_extension(t: &str) -> Option<(&str, Option<&str>)> {
    for marker in ["转", "轉", "分机", "分機", "ext.", "ext", "EXT", "Ext"] {
        if let Some((m, e)) = t.split_once(marker) {
            let e = e.trim_start_matches([' ', ':', '.', '-']).trim();
            if !(1..=6).contains(&e.len()) || !all_digits(e) {
                return None;
            }
            return Some((m.trim_end_matches([' ', '-']), Some(e)));
        }
    }
    Some((t, None))
}

/// `+86-571-88886666` → `0571-88886666`: the international form drops the trunk `0` of the
/// area code (but 400/800 numbers have none).
fn international_to_domestic(main: &str) -> String {
    let main = main.trim();
    for prefix in ["+86", "0086"] {
        if let Some(rest) = main.strip_prefix(prefix) {
            let rest = rest.trim_start_matches([' ', '-']);
            return if rest.starts_with("400") || rest.starts_with("800") {
                rest.to_string()
            } else if let Some(r) = rest.strip_prefix('(') {
                format!("(0{r}")
            } else {
                format!("0{rest}")
            };
        }
    }
    main.to_string()
}

/// 3 digits for 010 / 02X, otherwise 4 digits; never `00` (the international prefix).
fn valid_area_code(a: &str) -> bool {
    let b = a.as_bytes();
    all_digits(a)
        && b.len() >= 3
        && b[0] == b'0'
        && b[1] != b'0'
        && b.len() == if matches!(b[1], b'1' | b'2') { 3 } else { 4 }
}

fn valid_local(n: &str) -> bool {
    (7..=8).contains(&n.len()) && all_digits(n) && !n.starts_with(['0', '1'])
}

/// Joins leading groups until they hold at least `at_least` digits (a local number may be
/// written `8888-6666`); returns the joined digits and the groups left over (an extension).
fn take_digits(groups: &[String], at_least: usize) -> Option<(String, &[String])> {
    let mut digits = String::new();
    for (i, g) in groups.iter().enumerate() {
        digits.push_str(g);
        if digits.len() >= at_least {
            return Some((digits, &groups[i + 1..]));
        }
    }
    None
}

/// At most one extension: either a trailing `-123` group or an explicit `转123`, not both.
fn finish_ext(leftover: &[String], explicit: Option<&str>) -> Option<()> {
    match (leftover, explicit) {
        ([], _) => Some(()),
        ([e], None) if (1..=6).contains(&e.len()) => Some(()),
        _ => None,
    }
}

/// Six digits; mainland postal codes start with 0-8.
pub fn check_postal_code(s: &str) -> Result<(), ErrorCode> {
    let s = s.trim();
    if s.len() == 6 && all_digits(s) && s.as_bytes()[0] != b'9' {
        Ok(())
    } else {
        Err(ErrorCode::PostalCode)
    }
}

/// A pragmatic email check, meant to catch typos (`zhang@qq,com`, `zhang@qq`, `zhang qq.com`),
/// not to implement RFC 5322: one `@`, a non-empty local part without spaces or `..`, a domain
/// of at least two non-empty labels made of letters (any script), digits and inner hyphens,
/// with a non-numeric top-level label of two or more characters.
pub fn check_email(s: &str) -> Result<(), ErrorCode> {
    email_ok(s.trim()).then_some(()).ok_or(ErrorCode::Email)
}

fn email_ok(s: &str) -> bool {
    if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else { return false };
    if domain.contains('@') || local.is_empty() || local.chars().count() > 64 {
        return false;
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return false;
    }
    if local.chars().any(|c| matches!(c, '(' | ')' | '<' | '>' | ',' | ';' | ':' | '\\' | '"' | '[' | ']')) {
        return false;
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.chars().count() <= 63
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let tld = labels[labels.len() - 1];
    labels.iter().all(label_ok) && tld.chars().count() >= 2 && !tld.chars().all(|c| c.is_ascii_digit())
}

// ---------------------------------------------------------------------------------------------
// Dates
// ---------------------------------------------------------------------------------------------

/// Parses the ways dates are written on Chinese forms and spreadsheets: `2023-03-04`,
/// `2023-3-4`, `2023/3/4`, `2023.3.4`, `2023年3月4日` (also `号`/`號`, with spaces),
/// `20230304`, and any of these in full-width characters (`２０２３－０３－０４`). The year must
/// have four digits; the same separator must be used twice. An impossible date is an error.
pub fn parse_date(s: &str) -> Result<NaiveDate, ErrorCode> {
    parse_date_opt(s).ok_or(ErrorCode::Date)
}

fn parse_date_opt(s: &str) -> Option<NaiveDate> {
    let t: String = s.chars().map(to_halfwidth).filter(|c| !c.is_whitespace()).collect();
    let (y, m, d) = if let Some((y, rest)) = t.split_once('年') {
        let (m, d) = rest.split_once('月')?;
        (y, m, d.strip_suffix(['日', '号', '號']).unwrap_or(d))
    } else if t.len() == 8 && all_digits(&t) {
        (&t[..4], &t[4..6], &t[6..])
    } else {
        let sep = t.chars().find(|c| !c.is_ascii_digit())?;
        if !matches!(sep, '-' | '/' | '.') {
            return None;
        }
        let mut parts = t.split(sep);
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        (y, m, d)
    };
    let ok = y.len() == 4 && all_digits(y) && (1..=2).contains(&m.len()) && all_digits(m) && (1..=2).contains(&d.len()) && all_digits(d);
    if !ok {
        return None;
    }
    ymd(y, m, d)
}

/// A date from an Excel serial number (1900 date system): 1 = 1900-01-01. Excel counts a
/// 1900-02-29 that never existed (serial 60, kept for Lotus 1-2-3 compatibility), so serials
/// from 61 on are one day ahead of a plain count; serial 60 itself has no real date and gives
/// `None`, as do serials below 1, beyond 9999-12-31 (2958465) and non-finite numbers. A
/// fractional part (time of day) is ignored.
pub fn parse_excel_serial(n: f64) -> Option<NaiveDate> {
    if !n.is_finite() || !(1.0..2_958_466.0).contains(&n) {
        return None;
    }
    let days = n.floor() as i64;
    let base = match days {
        60 => return None,
        // Before the phantom day a serial counts from 1899-12-31 (serial 0, "1900-01-00").
        1..=59 => NaiveDate::from_ymd_opt(1899, 12, 31)?,
        _ => NaiveDate::from_ymd_opt(1899, 12, 30)?,
    };
    base.checked_add_signed(chrono::Duration::days(days))
}

// ---------------------------------------------------------------------------------------------
// Record validators
// ---------------------------------------------------------------------------------------------

fn check_text(errs: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    let v = value.trim();
    if v.is_empty() {
        errs.push(FieldError::new(field, ErrorCode::Required));
    } else if v.chars().count() > max {
        errs.push(FieldError::new(field, ErrorCode::TooLong));
    }
}

/// Mobile, landline and email, shared by archives and contacts.
fn check_contact_channels(errs: &mut Vec<FieldError>, prefix: &str, mobile: &Option<String>, landline: &Option<String>, email: &Option<String>) {
    if let Some(m) = present(mobile) {
        if let Err(code) = check_mobile(m) {
            errs.push(FieldError::new(format!("{prefix}mobile"), code));
        }
    }
    if let Some(l) = present(landline) {
        if let Err(code) = check_landline(l) {
            errs.push(FieldError::new(format!("{prefix}landline"), code));
        }
    }
    if let Some(e) = present(email) {
        if let Err(code) = check_email(e) {
            errs.push(FieldError::new(format!("{prefix}email"), code));
        }
    }
}

/// Every problem in an archive, in field order. Assumes nothing about normalization (blank
/// optional values are skipped), but `ArchiveData::normalize` is normally applied first.
///
/// A birth date that disagrees with a valid resident ID number is reported on
/// `person.birth_date` as `BirthDateMismatch`: the ID has a check character, the date does not,
/// so the date is the likelier typo.
pub fn validate_archive(a: &ArchiveData) -> Vec<FieldError> {
    let mut errs = Vec::new();
    check_text(&mut errs, "name", &a.name, MAX_NAME);
    if crate::retention::check_custom_years(a.retention_class, a.retention_years).is_err() {
        errs.push(FieldError::new("retention_years", ErrorCode::Number));
    }
    check_contact_channels(&mut errs, "", &a.mobile, &a.landline, &a.email);
    if let Some(p) = present(&a.postal_code) {
        if let Err(code) = check_postal_code(p) {
            errs.push(FieldError::new("postal_code", code));
        }
    }

    if let Some(person) = &a.person {
        if let Some(id) = present(&person.id_number) {
            if id.chars().count() > MAX_ID_NUMBER {
                errs.push(FieldError::new("person.id_number", ErrorCode::TooLong));
            } else if matches!(person.id_type, None | Some(IdType::ResidentId)) {
                match check_resident_id(id) {
                    Ok(info) => {
                        if person.birth_date.is_some_and(|b| b != info.birth_date) {
                            errs.push(FieldError::new("person.birth_date", ErrorCode::BirthDateMismatch));
                        }
                    }
                    Err(code) => errs.push(FieldError::new("person.id_number", code)),
                }
            }
        }
    }

    if let Some(org) = &a.organization {
        if let Some(code) = present(&org.uscc) {
            if let Err(e) = check_uscc(code) {
                errs.push(FieldError::new("organization.uscc", e));
            }
        }
        if org.registered_capital.is_some_and(|m| m.0 < 0) {
            errs.push(FieldError::new("organization.registered_capital", ErrorCode::Amount));
        }
        if org.employees.is_some_and(|n| n < 0) {
            errs.push(FieldError::new("organization.employees", ErrorCode::Number));
        }
        if org.annual_sales.is_some_and(|m| m.0 < 0) {
            errs.push(FieldError::new("organization.annual_sales", ErrorCode::Amount));
        }
    }

    let c = &a.credit;
    if c.limit.is_some_and(|m| m.0 < 0) {
        errs.push(FieldError::new("credit.limit", ErrorCode::Amount));
    }
    if c.payment_term_days.is_some_and(|d| !(0..=3650).contains(&d)) {
        errs.push(FieldError::new("credit.payment_term_days", ErrorCode::Number));
    }
    if c.discount_percent.is_some_and(|d| !(1..=100).contains(&d)) {
        errs.push(FieldError::new("credit.discount_percent", ErrorCode::Number));
    }
    if let (Some(from), Some(until)) = (c.assessed_on, c.valid_until) {
        if until < from {
            errs.push(FieldError::new("credit.valid_until", ErrorCode::DateRange));
        }
    }
    errs.extend(crate::templates::validate_custom(a.template.as_deref(), &a.custom));
    errs
}

/// Every problem in a contact; fields are named `{prefix}name`, `{prefix}mobile`, … so that
/// `prefix = "contacts[0]."` matches the archive form and `""` a standalone contact form.
pub fn validate_contact(c: &ContactData, prefix: &str) -> Vec<FieldError> {
    let mut errs = Vec::new();
    check_text(&mut errs, &format!("{prefix}name"), &c.name, MAX_NAME);
    check_contact_channels(&mut errs, prefix, &c.mobile, &c.landline, &c.email);
    errs
}

/// Every problem in a timeline entry.
pub fn validate_entry(e: &EntryData) -> Vec<FieldError> {
    let mut errs = Vec::new();
    check_text(&mut errs, "summary", &e.summary, MAX_SUMMARY);
    // A correction must say why: the old entry stays visible and readers need the reason.
    if e.supersedes.is_some() && present(&e.correction_reason).is_none() {
        errs.push(FieldError::new("correction_reason", ErrorCode::CorrectionReasonRequired));
    }
    let d = &e.details;
    if d.quantity.is_some_and(|q| q < 0) {
        errs.push(FieldError::new("details.quantity", ErrorCode::Number));
    }
    if let (Some(start), Some(end)) = (d.start_date, d.end_date) {
        if end < start {
            errs.push(FieldError::new("details.end_date", ErrorCode::DateRange));
        }
    }
    errs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CustomerKind, EntryDetails, EntryKind, Money, OrganizationInfo, PersonInfo};
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// Published codes (GB 32100 example, Beijing, Tencent, Huawei) plus the benchmark's code.
    const GOOD_USCC: &[&str] = &["91350100M000100Y43", "91110000600037341L", "9144030071526726XG", "914403001922038216", "91330100MA2H3K7Q42"];
    /// GB 11643 sample 11010519491231002X and two computed with the same algorithm.
    const GOOD_IDS: &[&str] = &["11010519491231002X", "110101199003074477", "330106200002290010"];

    // ---- resident ID ------------------------------------------------------------------------

    #[test]
    fn resident_id_standard_example() {
        assert_eq!(resident_id_check_char("11010519491231002"), 'X');
        let info = check_resident_id("11010519491231002X").unwrap();
        assert_eq!(info, ResidentIdInfo { birth_date: d(1949, 12, 31), male: false, region_code: "110105".into() });
        // Lowercase x and surrounding spaces are tolerated.
        assert_eq!(check_resident_id(" 11010519491231002x ").unwrap().birth_date, d(1949, 12, 31));
    }

    #[test]
    fn resident_id_valid_numbers() {
        for id in GOOD_IDS {
            assert!(check_resident_id(id).is_ok(), "{id}");
            assert_eq!(resident_id_check_char(id), id.chars().last().unwrap(), "{id}");
        }
        let info = check_resident_id("110101199003074477").unwrap();
        assert_eq!(info.birth_date, d(1990, 3, 7));
        assert!(info.male);
        // A leap day.
        assert_eq!(check_resident_id("330106200002290010").unwrap().birth_date, d(2000, 2, 29));
    }

    #[test]
    fn resident_id_legacy_15_digits() {
        let info = check_resident_id("110105491231002").unwrap();
        assert_eq!(info.birth_date, d(1949, 12, 31));
        assert!(!info.male);
        assert!(check_resident_id("330106850101123").unwrap().male);
        assert_eq!(check_resident_id("110105490231002"), Err(ErrorCode::IdNumberBirthDate));
        assert_eq!(check_resident_id("11010549123100X"), Err(ErrorCode::IdNumberFormat));
    }

    #[test]
    fn resident_id_errors() {
        use ErrorCode::*;
        assert_eq!(check_resident_id(""), Err(IdNumberFormat));
        assert_eq!(check_resident_id("11010519491231002"), Err(IdNumberFormat));
        assert_eq!(check_resident_id("11010519491231002XX"), Err(IdNumberFormat));
        assert_eq!(check_resident_id("11010519491231002Y"), Err(IdNumberFormat));
        assert_eq!(check_resident_id("1101051949123100X2"), Err(IdNumberFormat));
        assert_eq!(check_resident_id("１１０１０５１９４９１２３１００２X"), Err(IdNumberFormat));
        assert_eq!(check_resident_id("110105 19491231 002X"), Err(IdNumberFormat));
        assert_eq!(check_resident_id("110105194912310021"), Err(IdNumberCheckDigit));
        // Impossible dates, and years outside 1900..=2100 (the standard's own 1880 sample included).
        assert_eq!(check_resident_id("110105194913310020"), Err(IdNumberBirthDate));
        assert_eq!(check_resident_id("110105199902290020"), Err(IdNumberBirthDate));
        assert_eq!(check_resident_id("440524188001010014"), Err(IdNumberBirthDate));
        let first17 = "11010521010101001";
        let id = format!("{first17}{}", resident_id_check_char(first17));
        assert_eq!(check_resident_id(&id), Err(IdNumberBirthDate));
    }

    #[test]
    fn resident_id_check_char_is_total() {
        // Garbage in never panics.
        let _ = resident_id_check_char("");
        let _ = resident_id_check_char("身份证");
    }

    // ---- USCC -------------------------------------------------------------------------------

    #[test]
    fn uscc_published_codes() {
        for code in GOOD_USCC {
            assert_eq!(check_uscc(code), Ok(()), "{code}");
            assert_eq!(uscc_check_char(&code[..17]), code.chars().last().unwrap(), "{code}");
        }
        assert_eq!(check_uscc("91350100m000100y43"), Ok(()));
    }

    #[test]
    fn uscc_check_value_31_is_written_0() {
        // Σ = 0 gives 31 - 0 = 31, which the standard writes as 0.
        assert_eq!(uscc_check_char("00000000000000000"), '0');
        assert_eq!(check_uscc("000000000000000000"), Ok(()));
    }

    #[test]
    fn uscc_errors() {
        use ErrorCode::*;
        assert_eq!(check_uscc("91350100M000100Y44"), Err(UsccCheckDigit));
        assert_eq!(check_uscc("91110000600037341K"), Err(UsccCheckDigit));
        assert_eq!(check_uscc("91350100M000100Y4"), Err(UsccFormat));
        assert_eq!(check_uscc("91350100M000100Y433"), Err(UsccFormat));
        // O, I, Z, S, V are not in the charset even though they look like valid letters.
        assert_eq!(check_uscc("91350100MO00100Y43"), Err(UsccFormat));
        assert_eq!(check_uscc("91350100M000100I43"), Err(UsccFormat));
        assert_eq!(check_uscc("9135010OM000100Y4S"), Err(UsccFormat));
        assert_eq!(check_uscc("91350100M000100Y4３"), Err(UsccFormat));
        assert_eq!(check_uscc(""), Err(UsccFormat));
    }

    #[test]
    fn single_substitutions_are_all_detected_exhaustively() {
        for code in GOOD_USCC {
            for pos in 0..18 {
                for &r in USCC_CHARSET.iter() {
                    let mut b = code.as_bytes().to_vec();
                    if b[pos] == r {
                        continue;
                    }
                    b[pos] = r;
                    assert_eq!(check_uscc(std::str::from_utf8(&b).unwrap()), Err(ErrorCode::UsccCheckDigit));
                }
            }
        }
        for id in GOOD_IDS {
            for pos in 0..18 {
                for r in b"0123456789X" {
                    let mut b = id.as_bytes().to_vec();
                    if b[pos] == *r {
                        continue;
                    }
                    b[pos] = *r;
                    assert!(check_resident_id(std::str::from_utf8(&b).unwrap()).is_err(), "{}", String::from_utf8_lossy(&b));
                }
            }
        }
    }

    // ---- phones -----------------------------------------------------------------------------

    #[test]
    fn mobile_normalization() {
        for raw in ["13800138000", "138 0013 8000", "138-0013-8000", "+86 138 0013 8000", "+86-13800138000", "(+86)13800138000", "0086 13800138000", "8613800138000", "１３８００１３８０００", "＋86　138－0013－8000"] {
            assert_eq!(normalize_mobile(raw), "13800138000", "{raw}");
        }
        // Not a mainland number: the prefix stays, the value is rejected rather than rewritten.
        assert_eq!(normalize_mobile("+1 650-555-1234"), "+16505551234");
        assert_eq!(normalize_mobile("138OO138000"), "138OO138000");
        // 86 followed by something that is not a mobile is left alone.
        assert_eq!(normalize_mobile("8657188886666"), "8657188886666");
    }

    #[test]
    fn mobile_check() {
        for ok in ["13800138000", "19912345678", "15057123456", "+86 166 0000 1111", "17012345678"] {
            assert_eq!(check_mobile(ok), Ok(()), "{ok}");
        }
        for bad in ["", "12800138000", "11012345678", "23800138000", "1380013800", "138001380001", "138OO138000", "+16505551234", "0571-88886666"] {
            assert_eq!(check_mobile(bad), Err(ErrorCode::Mobile), "{bad}");
        }
    }

    #[test]
    fn landline_accepts_common_forms() {
        for ok in [
            "0571-88886666",
            "010-62345678",
            "020-3888-6666",
            "021 5888 6666",
            "(0571)88886666",
            "(0571) 8888-6666",
            "(010)62345678",
            "（0571）88886666",
            "０５７１－８８８８６６６６",
            "057188886666",
            "01062345678",
            "0571-8888666",
            "0571-88886666-123",
            "0571-88886666转123",
            "0571-88886666 转 8001",
            "010-62345678 ext. 12",
            "057188886666-6",
            "+86-571-88886666",
            "+86 10 62345678",
            "0086 (571) 88886666",
            "400-123-4567",
            "400 123 4567",
            "4001234567",
            "800-820-8820",
            "400-123-4567转8",
            "+86 400-123-4567",
        ] {
            assert_eq!(check_landline(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn landline_rejects() {
        for bad in [
            "",
            "88886666",
            "13800138000",
            "571-88886666",
            "057-88886666",
            "0571-08886666",
            "010-12345678",
            "0571-888866661",
            "0571-888866",
            "0010-62345678",
            "(0571 88886666",
            "0571-88886666-1234567",
            "0571-88886666-123转5",
            "0571-88886666转",
            "0571-88886666-12-34",
            "0101-62345678",
            "01-62345678",
            "400-123-456",
            "400-123-45678",
            "0571-8888a666",
            "电话0571-88886666",
        ] {
            assert_eq!(check_landline(bad), Err(ErrorCode::Landline), "{bad}");
        }
    }

    #[test]
    fn postal_codes() {
        for ok in ["310000", "100101", "010010", "830000", " 518000 "] {
            assert_eq!(check_postal_code(ok), Ok(()), "{ok}");
        }
        for bad in ["", "910000", "31000", "3100000", "31000a", "310 000"] {
            assert_eq!(check_postal_code(bad), Err(ErrorCode::PostalCode), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for ok in ["zhang.san@example.com", "sales@hzhx-jc.com.cn", "12345678@qq.com", "li_si+crm@163.com", "王五@例子.中国", "a@b.co"] {
            assert_eq!(check_email(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "zhang@qq",
            "zhang@qq,com",
            "zhang san@qq.com",
            "zhang@@qq.com",
            "zhang@qq@163.com",
            "@qq.com",
            "zhang@",
            "zhang@.com",
            "zhang@qq.com.",
            "zhang@qq..com",
            "zhang@-qq.com",
            "zhang..san@qq.com",
            ".zhang@qq.com",
            "zhang@qq.c",
            "zhang@1.2.3.4",
            "zhang＠qq.com",
            "<zhang@qq.com>",
        ] {
            assert_eq!(check_email(bad), Err(ErrorCode::Email), "{bad}");
        }
    }

    // ---- dates ------------------------------------------------------------------------------

    #[test]
    fn dates_in_every_form() {
        let want = d(2023, 3, 4);
        for s in [
            "2023-03-04",
            "2023-3-4",
            "2023/3/4",
            "2023/03/04",
            "2023.3.4",
            "2023年3月4日",
            "2023年03月04号",
            "2023年3月4號",
            "2023 年 3 月 4 日",
            "2023年3月4",
            "20230304",
            "２０２３－０３－０４",
            "２０２３年３月４日",
            " 2023-03-04 ",
        ] {
            assert_eq!(parse_date(s), Ok(want), "{s}");
        }
    }

    #[test]
    fn bad_dates() {
        for s in [
            "",
            "2023-02-29",
            "2023-13-01",
            "2023-04-31",
            "2023-3",
            "23-3-4",
            "2023-3/4",
            "2023-03-04-05",
            "2023年13月1日",
            "2023年3月",
            "202303041",
            "2023304",
            "2023-003-04",
            "2023-03-04日",
            "abc",
            "2023_03_04",
        ] {
            assert_eq!(parse_date(s), Err(ErrorCode::Date), "{s}");
        }
        assert_eq!(parse_date("2024-02-29"), Ok(d(2024, 2, 29)));
    }

    #[test]
    fn excel_serials() {
        assert_eq!(parse_excel_serial(1.0), Some(d(1900, 1, 1)));
        assert_eq!(parse_excel_serial(59.0), Some(d(1900, 2, 28)));
        // Excel's phantom 1900-02-29.
        assert_eq!(parse_excel_serial(60.0), None);
        assert_eq!(parse_excel_serial(61.0), Some(d(1900, 3, 1)));
        assert_eq!(parse_excel_serial(25569.0), Some(d(1970, 1, 1)));
        assert_eq!(parse_excel_serial(45000.0), Some(d(2023, 3, 15)));
        assert_eq!(parse_excel_serial(45000.75), Some(d(2023, 3, 15)));
        assert_eq!(parse_excel_serial(2_958_465.0), Some(d(9999, 12, 31)));
        for bad in [0.0, 0.5, -1.0, 2_958_466.0, f64::NAN, f64::INFINITY] {
            assert_eq!(parse_excel_serial(bad), None, "{bad}");
        }
    }

    // ---- record validators ------------------------------------------------------------------

    fn codes(errs: &[FieldError]) -> Vec<(&str, ErrorCode)> {
        errs.iter().map(|e| (e.field.as_str(), e.code)).collect()
    }

    fn good_org() -> ArchiveData {
        let mut a = ArchiveData::new(CustomerKind::Organization, "杭州华星建材有限公司");
        a.mobile = Some("13857112345".into());
        a.landline = Some("0571-88886666".into());
        a.email = Some("purchase@hzhx-jc.com".into());
        a.postal_code = Some("310012".into());
        a.organization = Some(OrganizationInfo {
            uscc: Some("91330100MA2H3K7Q42".into()),
            registered_capital: Some(Money::from_yuan(5_000_000)),
            employees: Some(120),
            ..Default::default()
        });
        a.credit.limit = Some(Money::from_yuan(500_000));
        a.credit.payment_term_days = Some(60);
        a.credit.discount_percent = Some(95);
        a.credit.assessed_on = Some(d(2024, 1, 1));
        a.credit.valid_until = Some(d(2024, 12, 31));
        a
    }

    #[test]
    fn valid_archives_pass() {
        assert_eq!(validate_archive(&good_org()), vec![]);
        let mut p = ArchiveData::new(CustomerKind::Person, "张三");
        p.person = Some(PersonInfo { birth_date: Some(d(1949, 12, 31)), id_number: Some("11010519491231002X".into()), ..Default::default() });
        assert_eq!(validate_archive(&p), vec![]);
        // A passport number is not checked as a resident ID.
        p.person = Some(PersonInfo { id_type: Some(IdType::Passport), id_number: Some("E12345678".into()), ..Default::default() });
        assert_eq!(validate_archive(&p), vec![]);
        // Blank optional values count as absent.
        p.mobile = Some("  ".into());
        p.email = Some(String::new());
        assert_eq!(validate_archive(&p), vec![]);
    }

    #[test]
    fn archive_reports_every_error() {
        let mut a = good_org();
        a.name = "   ".into();
        a.mobile = Some("1380013800".into());
        a.landline = Some("88886666".into());
        a.email = Some("zhang@qq,com".into());
        a.postal_code = Some("31001".into());
        let org = a.organization.as_mut().unwrap();
        org.uscc = Some("91330100MA2H3K7Q43".into());
        org.employees = Some(-1);
        org.registered_capital = Some(Money(-1));
        a.credit.limit = Some(Money(-100));
        a.credit.payment_term_days = Some(3651);
        a.credit.discount_percent = Some(0);
        a.credit.valid_until = Some(d(2023, 12, 31));
        use ErrorCode::*;
        assert_eq!(
            codes(&validate_archive(&a)),
            vec![
                ("name", Required),
                ("mobile", Mobile),
                ("landline", Landline),
                ("email", Email),
                ("postal_code", PostalCode),
                ("organization.uscc", UsccCheckDigit),
                ("organization.registered_capital", Amount),
                ("organization.employees", Number),
                ("credit.limit", Amount),
                ("credit.payment_term_days", Number),
                ("credit.discount_percent", Number),
                ("credit.valid_until", DateRange),
            ]
        );
    }

    #[test]
    fn archive_limits() {
        let mut a = ArchiveData::new(CustomerKind::Organization, "华".repeat(200));
        assert_eq!(validate_archive(&a), vec![]);
        a.name.push('星');
        assert_eq!(codes(&validate_archive(&a)), vec![("name", ErrorCode::TooLong)]);
        let mut a = ArchiveData::new(CustomerKind::Organization, "华星");
        a.credit.discount_percent = Some(100);
        a.credit.payment_term_days = Some(0);
        a.credit.limit = Some(Money(0));
        a.credit.assessed_on = Some(d(2024, 1, 1));
        a.credit.valid_until = Some(d(2024, 1, 1));
        assert_eq!(validate_archive(&a), vec![]);
        a.credit.discount_percent = Some(101);
        a.credit.payment_term_days = Some(-1);
        assert_eq!(codes(&validate_archive(&a)), vec![("credit.payment_term_days", ErrorCode::Number), ("credit.discount_percent", ErrorCode::Number)]);
    }

    #[test]
    fn person_id_and_birth_date() {
        let mut a = ArchiveData::new(CustomerKind::Person, "李四");
        a.person = Some(PersonInfo { id_type: Some(IdType::ResidentId), id_number: Some("110105194912310021".into()), ..Default::default() });
        assert_eq!(codes(&validate_archive(&a)), vec![("person.id_number", ErrorCode::IdNumberCheckDigit)]);
        a.person = Some(PersonInfo { id_number: Some("11010519491231002X".into()), birth_date: Some(d(1949, 12, 30)), ..Default::default() });
        assert_eq!(codes(&validate_archive(&a)), vec![("person.birth_date", ErrorCode::BirthDateMismatch)]);
        a.person = Some(PersonInfo { id_number: Some("张三的身份证".into()), ..Default::default() });
        assert_eq!(codes(&validate_archive(&a)), vec![("person.id_number", ErrorCode::IdNumberFormat)]);
        a.person = Some(PersonInfo { id_type: Some(IdType::Other), id_number: Some("9".repeat(65)), ..Default::default() });
        assert_eq!(codes(&validate_archive(&a)), vec![("person.id_number", ErrorCode::TooLong)]);
    }

    #[test]
    fn contacts() {
        let mut c = ContactData {
            name: "王经理".into(),
            title: Some("采购部经理".into()),
            mobile: Some("+86 139 0571 2345".into()),
            landline: Some("0571-88886666转801".into()),
            email: Some("wang@hzhx-jc.com".into()),
            wechat: None,
            birthday: None,
            preferences: None,
            is_primary: true,
        };
        assert_eq!(validate_contact(&c, "contacts[0]."), vec![]);
        c.name = String::new();
        c.mobile = Some("0571-88886666".into());
        c.landline = Some("88886666".into());
        c.email = Some("wang@hzhx-jc".into());
        use ErrorCode::*;
        assert_eq!(
            codes(&validate_contact(&c, "contacts[2].")),
            vec![("contacts[2].name", Required), ("contacts[2].mobile", Mobile), ("contacts[2].landline", Landline), ("contacts[2].email", Email)]
        );
        assert_eq!(codes(&validate_contact(&c, ""))[0], ("name", Required));
    }

    fn entry() -> EntryData {
        EntryData {
            kind: EntryKind::Contract,
            occurred_on: d(2024, 3, 1),
            summary: "签订2024年度钢材供货合同".into(),
            details: EntryDetails { quantity: Some(200), start_date: Some(d(2024, 3, 1)), end_date: Some(d(2025, 2, 28)), ..Default::default() },
            supersedes: None,
            correction_reason: None,
        }
    }

    #[test]
    fn entries() {
        assert_eq!(validate_entry(&entry()), vec![]);
        let mut e = entry();
        e.summary = " ".into();
        e.supersedes = Some(7);
        e.correction_reason = Some("  ".into());
        e.details.quantity = Some(-5);
        e.details.end_date = Some(d(2024, 2, 29));
        use ErrorCode::*;
        assert_eq!(
            codes(&validate_entry(&e)),
            vec![("summary", Required), ("correction_reason", CorrectionReasonRequired), ("details.quantity", Number), ("details.end_date", DateRange)]
        );
        let mut e = entry();
        e.supersedes = Some(7);
        e.correction_reason = Some("金额录入错误".into());
        e.summary = "字".repeat(2000);
        e.details.quantity = Some(0);
        assert_eq!(validate_entry(&e), vec![]);
        e.summary.push('多');
        assert_eq!(codes(&validate_entry(&e)), vec![("summary", TooLong)]);
    }

    // ---- messages ---------------------------------------------------------------------------

    const ALL_CODES: &[ErrorCode] = &[
        ErrorCode::Required,
        ErrorCode::TooLong,
        ErrorCode::IdNumberFormat,
        ErrorCode::IdNumberBirthDate,
        ErrorCode::IdNumberCheckDigit,
        ErrorCode::UsccFormat,
        ErrorCode::UsccCheckDigit,
        ErrorCode::Mobile,
        ErrorCode::Landline,
        ErrorCode::PostalCode,
        ErrorCode::Email,
        ErrorCode::Date,
        ErrorCode::DateRange,
        ErrorCode::Number,
        ErrorCode::Amount,
        ErrorCode::Template,
        ErrorCode::CorrectionReasonRequired,
        ErrorCode::KeyFieldReasonRequired,
        ErrorCode::BirthDateMismatch,
    ];

    #[test]
    fn messages_match_the_house_wording() {
        let m = |f: &str, c, l| FieldError::new(f, c).message(l);
        assert_eq!(m("organization.uscc", ErrorCode::UsccCheckDigit, "zh-CN"), "统一社会信用代码校验位错误");
        assert_eq!(m("mobile", ErrorCode::Mobile, "zh-CN"), "手机号码格式不正确，应为11位大陆手机号");
        assert_eq!(m("person.id_number", ErrorCode::IdNumberCheckDigit, "zh-CN"), "身份证号码校验位错误");
        assert_eq!(m("person.id_number", ErrorCode::IdNumberCheckDigit, "zh-TW"), "身分證號碼檢查碼錯誤");
        assert_eq!(m("person.id_number", ErrorCode::IdNumberCheckDigit, "en"), "Resident ID number has a wrong check character; please look for a typo");
        assert_eq!(m("name", ErrorCode::Required, "zh-CN"), "名称不能为空");
        assert_eq!(m("name", ErrorCode::TooLong, "zh-CN"), "名称不能超过200个字");
        assert_eq!(m("summary", ErrorCode::TooLong, "en"), "Summary must be at most 2000 characters");
        assert_eq!(m("contacts[0].mobile", ErrorCode::Mobile, "zh-CN"), "联系人 手机号码格式不正确，应为11位大陆手机号");
        assert_eq!(m("contacts[1].name", ErrorCode::Required, "en"), "Contact name is required");
        assert_eq!(m("credit.valid_until", ErrorCode::DateRange, "zh-CN"), "信用有效期至不能早于信用评定日期");
        assert_eq!(m("details.end_date", ErrorCode::DateRange, "zh-TW"), "結束日期不能早於開始日期");
        assert_eq!(m("details.end_date", ErrorCode::DateRange, "en"), "End date cannot be earlier than start date");
        assert_eq!(m("credit.discount_percent", ErrorCode::Number, "zh-CN"), "折扣率应在1到100之间");
        assert_eq!(m("credit.payment_term_days", ErrorCode::Number, "en"), "Payment term (days) must be between 0 and 3650 days");
        assert_eq!(m("correction_reason", ErrorCode::CorrectionReasonRequired, "zh-CN"), "更正记录时必须填写更正原因");
        assert_eq!(m("person.birth_date", ErrorCode::BirthDateMismatch, "zh-CN"), "出生日期与身份证号码中的出生日期不一致");
        assert_eq!(m("postal_code", ErrorCode::PostalCode, "zh-TW"), "郵遞區號格式不正確，應為6位數字");
        // Unknown languages fall back to zh-CN; regional tags are understood.
        assert_eq!(m("mobile", ErrorCode::Mobile, "fr"), m("mobile", ErrorCode::Mobile, "zh-CN"));
        assert_eq!(m("mobile", ErrorCode::Mobile, "zh-Hant-HK"), m("mobile", ErrorCode::Mobile, "zh-TW"));
        assert_eq!(m("mobile", ErrorCode::Mobile, "en-US"), m("mobile", ErrorCode::Mobile, "en"));
    }

    #[test]
    fn every_code_has_a_message_in_every_language() {
        for lang in ["zh-CN", "zh-TW", "en"] {
            let mut seen = std::collections::BTreeSet::new();
            for &code in ALL_CODES {
                seen.insert(FieldError::new("mobile", code).message(lang));
            }
            // Only the two check-digit codes share a wording.
            assert_eq!(seen.len(), ALL_CODES.len() - 1, "{lang}: {seen:?}");
        }
        for &code in ALL_CODES {
            for lang in ["zh-CN", "zh-TW", "en"] {
                let msg = FieldError::new("mobile", code).message(lang);
                assert!(!msg.is_empty() && !msg.contains("mobile:"), "{code:?} {lang}: {msg}");
                let named = ["手机号码", "手機號碼", "Mobile number"];
                assert!(named.iter().any(|l| msg.contains(l)), "{code:?} {lang} does not name the field: {msg}");
                if lang == "zh-TW" {
                    // Simplified-only characters that would betray an untranslated message.
                    assert!(!msg.chars().any(|c| "为确应号码须应误错项数额于与设证码".contains(c)), "{lang}: {msg}");
                }
            }
        }
    }

    #[test]
    fn every_validated_field_has_a_label() {
        let fields = [
            "name",
            "mobile",
            "landline",
            "email",
            "postal_code",
            "person.id_number",
            "person.birth_date",
            "organization.uscc",
            "organization.employees",
            "organization.registered_capital",
            "organization.annual_sales",
            "credit.limit",
            "credit.payment_term_days",
            "credit.discount_percent",
            "credit.assessed_on",
            "credit.valid_until",
            "summary",
            "correction_reason",
            "details.quantity",
            "details.start_date",
            "details.end_date",
            "contacts[0].name",
            "contacts[12].mobile",
            "contacts[3].landline",
            "contacts[3].email",
        ];
        for f in fields {
            for lang in ["zh-CN", "zh-TW", "en"] {
                assert_ne!(field_label(f, lang), f, "{f} has no {lang} label");
            }
        }
        assert_eq!(field_label("contacts[0].mobile", "zh-CN"), "联系人 手机号码");
        assert_eq!(field_label("contacts[0].mobile", "zh-TW"), "聯絡人 手機號碼");
        assert_eq!(field_label("contacts[0].mobile", "en"), "Contact mobile number");
        assert_eq!(field_label("organization.uscc", "zh-TW"), "統一社會信用代碼");
        // Unknown paths come back unchanged.
        assert_eq!(field_label("custom.room_no", "zh-CN"), "custom.room_no");
        assert_eq!(field_label("contacts[x].mobile", "en"), "contacts[x].mobile");
        assert_eq!(field_label("contacts[0].shoe_size", "en"), "contacts[0].shoe_size");
    }

    #[test]
    fn error_codes_serialize_in_snake_case() {
        let e = FieldError::new("person.birth_date", ErrorCode::BirthDateMismatch);
        assert_eq!(serde_json::to_string(&e).unwrap(), r#"{"field":"person.birth_date","code":"birth_date_mismatch"}"#);
        assert_eq!(serde_json::to_string(&ErrorCode::UsccCheckDigit).unwrap(), r#""uscc_check_digit""#);
    }

    // ---- properties -------------------------------------------------------------------------

    fn arb_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..=d(2100, 12, 31).signed_duration_since(d(1900, 1, 1)).num_days()).prop_map(|n| d(1900, 1, 1) + chrono::Duration::days(n))
    }

    /// First 17 digits of a resident ID: region, birth date, sequence.
    fn arb_id17() -> impl Strategy<Value = (String, NaiveDate)> {
        ("[0-9]{6}", arb_date(), "[0-9]{3}").prop_map(|(region, date, seq)| (format!("{region}{}{seq}", date.format("%Y%m%d")), date))
    }

    fn arb_uscc17() -> impl Strategy<Value = String> {
        proptest::collection::vec(0usize..31, 17).prop_map(|v| v.into_iter().map(|i| USCC_CHARSET[i] as char).collect())
    }

    fn arb_mobile() -> impl Strategy<Value = String> {
        "1[3-9][0-9]{9}"
    }

    proptest! {
        #[test]
        fn prop_generated_ids_are_valid((first17, date) in arb_id17()) {
            let check = resident_id_check_char(&first17);
            let id = format!("{first17}{check}");
            let info = check_resident_id(&id).unwrap();
            prop_assert_eq!(info.birth_date, date);
            prop_assert_eq!(info.male, first17.as_bytes()[16] % 2 == 1);
            prop_assert_eq!(&info.region_code, &first17[..6]);
            for other in "0123456789X".chars().filter(|c| *c != check) {
                prop_assert_eq!(check_resident_id(&format!("{first17}{other}")), Err(ErrorCode::IdNumberCheckDigit));
            }
        }

        #[test]
        fn prop_generated_usccs_are_valid(first17 in arb_uscc17()) {
            let check = uscc_check_char(&first17);
            prop_assert_eq!(check_uscc(&format!("{first17}{check}")), Ok(()));
            for &other in USCC_CHARSET.iter().filter(|&&c| c as char != check) {
                prop_assert_eq!(check_uscc(&format!("{first17}{}", other as char)), Err(ErrorCode::UsccCheckDigit));
            }
        }

        /// MOD 11 with weights that are all non-zero mod 11 (a prime) catches every single
        /// substitution: the sum changes by (a - b)·w ≢ 0. A substitution inside the date may
        /// instead make the date impossible, which is caught earlier.
        #[test]
        fn prop_id_single_substitution_detected((first17, _) in arb_id17(), pos in 0usize..18, r in 0usize..11) {
            let id = format!("{first17}{}", resident_id_check_char(&first17));
            let new = b"0123456789X"[r];
            prop_assume!(id.as_bytes()[pos] != new);
            let mut b = id.into_bytes();
            b[pos] = new;
            let changed = String::from_utf8(b).unwrap();
            let res = check_resident_id(&changed);
            prop_assert!(res.is_err(), "{} accepted", changed);
            if pos < 17 && new != b'X' {
                prop_assert!(matches!(res, Err(ErrorCode::IdNumberCheckDigit | ErrorCode::IdNumberBirthDate)));
            }
        }

        /// Same for MOD 31 (prime) with weights 3^i mod 31, all non-zero.
        #[test]
        fn prop_uscc_single_substitution_detected(first17 in arb_uscc17(), pos in 0usize..18, r in 0usize..31) {
            let code = format!("{first17}{}", uscc_check_char(&first17));
            let new = USCC_CHARSET[r];
            prop_assume!(code.as_bytes()[pos] != new);
            let mut b = code.into_bytes();
            b[pos] = new;
            prop_assert_eq!(check_uscc(std::str::from_utf8(&b).unwrap()), Err(ErrorCode::UsccCheckDigit));
        }

        /// Adjacent weights differ mod 31, so swapping two different neighbours among the first
        /// 17 characters is caught as well.
        #[test]
        fn prop_uscc_adjacent_transposition_detected(first17 in arb_uscc17(), pos in 0usize..16) {
            prop_assume!(first17.as_bytes()[pos] != first17.as_bytes()[pos + 1]);
            let mut b = format!("{first17}{}", uscc_check_char(&first17)).into_bytes();
            b.swap(pos, pos + 1);
            prop_assert_eq!(check_uscc(std::str::from_utf8(&b).unwrap()), Err(ErrorCode::UsccCheckDigit));
        }

        #[test]
        fn prop_parse_date_round_trips(date in (1000i64..=3_000_000).prop_map(|n| d(1, 1, 1) + chrono::Duration::days(n)).prop_filter("4-digit year", |d| d.year() >= 1000 && d.year() <= 9999), form in 0usize..10) {
            let (y, m, dd) = (date.year(), date.month(), date.day());
            let fullwidth = |s: String| -> String {
                s.chars().map(|c| match c {
                    '0'..='9' | '-' | '/' | '.' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
                    _ => c,
                }).collect()
            };
            let s = match form {
                0 => format!("{y:04}-{m:02}-{dd:02}"),
                1 => format!("{y}-{m}-{dd}"),
                2 => format!("{y}/{m}/{dd}"),
                3 => format!("{y}.{m}.{dd}"),
                4 => format!("{y}年{m}月{dd}日"),
                5 => format!("{y}年{m:02}月{dd:02}号"),
                6 => format!("{y} 年 {m} 月 {dd} 日"),
                7 => format!("{y:04}{m:02}{dd:02}"),
                8 => fullwidth(format!("{y:04}-{m:02}-{dd:02}")),
                _ => fullwidth(format!("{y}年{m}月{dd}日")),
            };
            prop_assert_eq!(parse_date(&s), Ok(date), "{}", s);
        }

        #[test]
        fn prop_normalize_mobile_is_idempotent(s in "[0-9 +()\\-８６（）－　a]{0,20}|\\PC{0,20}") {
            let once = normalize_mobile(&s);
            prop_assert_eq!(normalize_mobile(&once), once.clone());
        }

        #[test]
        fn prop_decorated_mobiles_normalize_back(m in arb_mobile(), style in 0usize..6) {
            let s = match style {
                0 => format!("+86 {} {} {}", &m[..3], &m[3..7], &m[7..]),
                1 => format!("0086-{m}"),
                2 => format!("86{m}"),
                3 => format!("({}){}-{}", &m[..3], &m[3..7], &m[7..]),
                4 => m.chars().map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap()).collect(),
                _ => format!(" {m} "),
            };
            prop_assert_eq!(normalize_mobile(&s), m.clone());
            prop_assert_eq!(check_mobile(&s), Ok(()));
        }

        /// Nothing panics on arbitrary input (multi-byte text of the right byte length used to
        /// be sliced mid-character).
        #[test]
        fn prop_checks_never_panic(s in "\\PC{0,24}|[0-9Xx（）()+\\- 转年月日号]{0,24}", f in "\\PC{0,16}|contacts\\[[0-9]{0,3}\\]\\.?[a-z]{0,8}") {
            let _ = check_resident_id(&s);
            let _ = check_uscc(&s);
            let _ = check_mobile(&s);
            let _ = check_landline(&s);
            let _ = check_postal_code(&s);
            let _ = check_email(&s);
            let _ = parse_date(&s);
            let _ = resident_id_check_char(&s);
            let _ = uscc_check_char(&s);
            for &code in ALL_CODES {
                let _ = FieldError::new(f.clone(), code).message("en");
            }
        }

        #[test]
        fn prop_excel_serial_is_monotonic(n in 61u32..2_958_465) {
            let a = parse_excel_serial(n as f64).unwrap();
            let b = parse_excel_serial(n as f64 + 1.0).unwrap();
            prop_assert_eq!(b.signed_duration_since(a).num_days(), 1);
        }
    }
}
