//! The customer archive (一户一档) and everything hanging off it.
//!
//! `ArchiveData` is what a user edits; `Archive` adds what the system assigns (id, number,
//! version, timestamps). Storage keeps `ArchiveData` as one JSON document plus a few copied
//! columns for filtering, so a field added here needs no migration unless it must be filtered.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub type ArchiveId = i64;
pub type UserId = i64;
pub type DeptId = i64;

/// Declares a string-backed enum with its wire name and Chinese label in one place.
macro_rules! labelled_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $wire:literal, $zh:literal, $tw:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant,)+
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            /// Display label in the given UI language (`zh-CN`, `zh-TW`, `en`).
            pub fn label(self, lang: &str) -> &'static str {
                match (self, lang) {
                    $(($name::$variant, "en") => $en,
                      ($name::$variant, "zh-TW") => $tw,
                      ($name::$variant, _) => $zh,)+
                }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => {
                        // Also accept the Chinese and English labels, as people type them in forms and imports.
                        $(if s == $zh || s == $tw || s.eq_ignore_ascii_case($en) { return Ok($name::$variant); })+
                        Err(UnknownValue { kind: stringify!($name), value: s.to_string() })
                    }
                }
            }
        }
    };
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} value: {value}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

labelled_enum!(
    /// Person (个人) or organization (单位/企业).
    CustomerKind {
        Person = "person", "个人", "個人", "Person";
        Organization = "organization", "单位", "單位", "Organization";
    }
);

labelled_enum!(
    /// Customer grade and credit grade, A best.
    Grade {
        A = "A", "A级", "A級", "A";
        B = "B", "B级", "B級", "B";
        C = "C", "C级", "C級", "C";
        D = "D", "D级", "D級", "D";
    }
);

labelled_enum!(
    ArchiveStatus {
        Prospect = "prospect", "准客户", "準客戶", "Prospect";
        Active = "active", "活跃", "活躍", "Active";
        Dormant = "dormant", "休眠", "休眠", "Dormant";
        Lost = "lost", "流失", "流失", "Lost";
        Closed = "closed", "结档", "結檔", "Closed";
    }
);

labelled_enum!(
    /// Who manages the archive (分级管理).
    Tier {
        Company = "company", "公司级", "公司級", "Company";
        Department = "department", "部门级", "部門級", "Department";
        Personal = "personal", "个人级", "個人級", "Personal";
    }
);

labelled_enum!(
    /// Secrecy level (密级).
    Secrecy {
        Normal = "normal", "普通", "普通", "Normal";
        Secret = "secret", "秘密", "秘密", "Secret";
        Confidential = "confidential", "机密", "機密", "Confidential";
        TopSecret = "top_secret", "绝密", "絕密", "Top secret";
    }
);

labelled_enum!(
    /// Retention period class (保管期限).
    RetentionClass {
        Permanent = "permanent", "永久", "永久", "Permanent";
        Y30 = "30y", "30年", "30年", "30 years";
        Y10 = "10y", "10年", "10年", "10 years";
    }
);

labelled_enum!(
    Gender {
        Male = "male", "男", "男", "Male";
        Female = "female", "女", "女", "Female";
    }
);

labelled_enum!(
    IdType {
        ResidentId = "resident_id", "居民身份证", "居民身分證", "Resident ID";
        Passport = "passport", "护照", "護照", "Passport";
        HkMacauPermit = "hk_macau_permit", "港澳居民来往内地通行证", "港澳居民來往內地通行證", "HK/Macau permit";
        TaiwanPermit = "taiwan_permit", "台湾居民来往大陆通行证", "台灣居民來往大陸通行證", "Taiwan permit";
        Other = "other", "其他", "其他", "Other";
    }
);

labelled_enum!(
    /// Kinds of timeline entries (往来记录).
    EntryKind {
        Visit = "visit", "拜访记录", "拜訪記錄", "Visit";
        Complaint = "complaint", "投诉", "投訴", "Complaint";
        Service = "service", "服务/维修", "服務/維修", "Service";
        Transaction = "transaction", "交易", "交易", "Transaction";
        Payment = "payment", "回款", "回款", "Payment";
        Contract = "contract", "合同", "合約", "Contract";
        Communication = "communication", "沟通", "溝通", "Communication";
    }
);

labelled_enum!(
    ComplaintStatus {
        Open = "open", "待处理", "待處理", "Open";
        InProgress = "in_progress", "处理中", "處理中", "In progress";
        Resolved = "resolved", "已解决", "已解決", "Resolved";
        Closed = "closed", "已关闭", "已關閉", "Closed";
    }
);

/// Money in fen (分); serialized as a decimal string of yuan ("12345.60"), read from a string or a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, ToSchema)]
#[schema(value_type = String, example = "500000.00")]
pub struct Money(pub i64);

impl Money {
    pub fn from_yuan(yuan: i64) -> Money {
        Money(yuan * 100)
    }
    pub fn fen(self) -> i64 {
        self.0
    }
    /// `¥1,234,567.80` for display.
    pub fn display_cny(self) -> String {
        let neg = self.0 < 0;
        let abs = self.0.unsigned_abs();
        let yuan = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in yuan.chars().enumerate() {
            if i > 0 && (yuan.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        format!("{}¥{}.{:02}", if neg { "-" } else { "" }, grouped, abs % 100)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{}{}.{:02}", sign, abs / 100, abs % 100)
    }
}

impl FromStr for Money {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t: String = s.trim().trim_start_matches(['¥', '￥']).chars().filter(|c| *c != ',' && *c != '，').collect();
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest.to_string()),
            None => (false, t),
        };
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) => (i, f),
            None => (t.as_str(), ""),
        };
        if int.is_empty() && frac.is_empty() || !int.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) || frac.len() > 2 || int.len() > 15 {
            return Err(format!("not an amount: {s}"));
        }
        let i: i64 = if int.is_empty() { 0 } else { int.parse().map_err(|_| format!("not an amount: {s}"))? };
        let f: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().unwrap() * 10,
            _ => frac.parse().unwrap(),
        };
        let v = i * 100 + f;
        Ok(Money(if neg { -v } else { v }))
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
            F(f64),
        }
        match Raw::deserialize(d)? {
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::I(i) => Ok(Money(i * 100)),
            Raw::F(f) => Ok(Money((f * 100.0).round() as i64)),
        }
    }
}

/// Basic data of a person customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct PersonInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_type: Option<IdType>,
    /// ID number: shown masked, encrypted at rest (`enc:v1:…` in the stored document).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    /// Keyed hash of the ID number for exact lookup, set by the server when it encrypts the ID
    /// and kept only in the `archives.id_hash` column: never read from clients, never written
    /// into documents or responses.
    #[serde(skip)]
    pub id_number_index: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub occupation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
}

/// Basic data of an organization customer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct OrganizationInfo {
    /// 统一社会信用代码 (GB 32100).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uscc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_representative: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_capital: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub founded_on: Option<NaiveDate>,
    /// 组织形式, e.g. 有限责任公司.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_form: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employees: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_sales: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_scope: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Classification {
    /// Industry (国民经济行业分类 section name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub industry: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub province: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// 客户性质/类型, e.g. 经销商, 终端客户.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nature: Option<String>,
    /// 来源渠道.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_channel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<Grade>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Credit {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<Grade>,
    /// Forced to zero while blacklisted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment_term_days: Option<i32>,
    /// Discount in percent (e.g. 95 = 95折).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount_percent: Option<i32>,
    pub blacklisted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blacklist_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessed_on: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<NaiveDate>,
}

/// Characteristics and business status (客户特征、业务状况) named by the seeds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct Characteristics {
    /// 服务区域
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_area: Option<String>,
    /// 销售能力
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sales_ability: Option<String>,
    /// 发展潜力
    #[serde(skip_serializing_if = "Option::is_none")]
    pub development_potential: Option<String>,
    /// 经营观念/经营方针
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_policy: Option<String>,
    /// 与本公司合作态度
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooperation_attitude: Option<String>,
    /// 主要竞争对手/业务状况 free text
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// What a user edits. Everything optional beyond kind and name so that paper archives with gaps can be entered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ArchiveData {
    pub kind: CustomerKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<PersonInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrganizationInfo>,
    #[serde(default)]
    pub classification: Classification,
    #[serde(default = "default_status")]
    pub status: ArchiveStatus,
    #[serde(default)]
    pub credit: Credit,
    #[serde(default)]
    pub characteristics: Characteristics,
    /// Industry template name (e.g. `hotel_guest`, `vehicle`) whose schema validates `custom`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = Object)]
    pub custom: BTreeMap<String, serde_json::Value>,
    /// Owner user; defaults to the creator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    /// Department; defaults to the owner's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dept_id: Option<DeptId>,
    #[serde(default = "default_tier")]
    pub tier: Tier,
    #[serde(default = "default_secrecy")]
    pub secrecy: Secrecy,
    #[serde(default = "default_retention")]
    pub retention_class: RetentionClass,
    /// A custom retention period in years (自定义保管期限), replacing the class's years; not for
    /// permanent archives (`retention::check_custom_years`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_years: Option<u16>,
}

fn default_status() -> ArchiveStatus {
    ArchiveStatus::Prospect
}
fn default_tier() -> Tier {
    Tier::Personal
}
fn default_secrecy() -> Secrecy {
    Secrecy::Normal
}
fn default_retention() -> RetentionClass {
    RetentionClass::Y30
}

impl ArchiveData {
    pub fn new(kind: CustomerKind, name: impl Into<String>) -> Self {
        ArchiveData {
            kind,
            name: name.into(),
            mobile: None,
            landline: None,
            email: None,
            address: None,
            postal_code: None,
            person: None,
            organization: None,
            classification: Classification::default(),
            status: default_status(),
            credit: Credit::default(),
            characteristics: Characteristics::default(),
            template: None,
            custom: BTreeMap::new(),
            owner_id: None,
            dept_id: None,
            tier: default_tier(),
            secrecy: default_secrecy(),
            retention_class: default_retention(),
            retention_years: None,
        }
    }

    /// The rules that hold whatever the input: trimmed text, empty strings as absent, a blacklisted
    /// customer has no credit limit. Called before validation and before every write.
    pub fn normalize(&mut self) {
        fn clean(o: &mut Option<String>) {
            if let Some(s) = o {
                let t = s.trim();
                if t.is_empty() {
                    *o = None;
                } else if t.len() != s.len() {
                    *o = Some(t.to_string());
                }
            }
        }
        self.name = self.name.trim().to_string();
        for f in [&mut self.mobile, &mut self.landline, &mut self.email, &mut self.address, &mut self.postal_code, &mut self.template] {
            clean(f);
        }
        if let Some(m) = &mut self.mobile {
            *m = crate::validate::normalize_mobile(m);
        }
        if let Some(p) = &mut self.person {
            for f in [&mut p.id_number, &mut p.occupation, &mut p.employer] {
                clean(f);
            }
            if let Some(id) = &mut p.id_number {
                *id = id.to_ascii_uppercase();
            }
        }
        if let Some(o) = &mut self.organization {
            for f in [&mut o.uscc, &mut o.legal_representative, &mut o.organization_form, &mut o.business_scope] {
                clean(f);
            }
            if let Some(c) = &mut o.uscc {
                *c = c.to_ascii_uppercase();
            }
        }
        let c = &mut self.classification;
        for f in [&mut c.industry, &mut c.province, &mut c.city, &mut c.district, &mut c.nature, &mut c.source_channel] {
            clean(f);
        }
        c.tags.iter_mut().for_each(|t| *t = t.trim().to_string());
        c.tags.retain(|t| !t.is_empty());
        c.tags.dedup();
        let ch = &mut self.characteristics;
        for f in [&mut ch.service_area, &mut ch.sales_ability, &mut ch.development_potential, &mut ch.business_policy, &mut ch.cooperation_attitude, &mut ch.business_status, &mut ch.notes] {
            clean(f);
        }
        clean(&mut self.credit.blacklist_reason);
        if self.credit.blacklisted {
            self.credit.limit = Some(Money(0));
        }
        match self.kind {
            CustomerKind::Person => self.organization = None,
            CustomerKind::Organization => self.person = None,
        }
    }

    pub fn uscc(&self) -> Option<&str> {
        self.organization.as_ref().and_then(|o| o.uscc.as_deref())
    }

    pub fn id_number(&self) -> Option<&str> {
        self.person.as_ref().and_then(|p| p.id_number.as_deref())
    }
}

/// An archive as stored: the edited data plus what the system assigns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Archive {
    pub id: ArchiveId,
    /// 档号, assigned at creation, never reused.
    pub archive_no: String,
    #[serde(flatten)]
    pub data: ArchiveData,
    /// Incremented by every change; an update carrying an older version is refused.
    pub version: i64,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_by: UserId,
    pub updated_at: DateTime<Utc>,
    /// Set when the archive was merged into another (查重合并): this one is then a tombstone and
    /// its number resolves to the survivor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<ArchiveId>,
    /// Set when the archive was destroyed (销毁): only its number, dates and the register entry
    /// remain (`retention.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroyed_at: Option<DateTime<Utc>>,
}

/// One row of an archive list: enough for the table without loading the whole document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ArchiveSummary {
    pub id: ArchiveId,
    pub archive_no: String,
    pub kind: CustomerKind,
    pub name: String,
    pub grade: Option<Grade>,
    pub credit_grade: Option<Grade>,
    pub blacklisted: bool,
    pub status: ArchiveStatus,
    pub industry: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub owner_id: Option<UserId>,
    pub dept_id: Option<DeptId>,
    pub tier: Tier,
    pub secrecy: Secrecy,
    pub mobile: Option<String>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ContactData {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wechat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<String>,
    #[serde(default)]
    pub is_primary: bool,
}

impl ContactData {
    pub fn normalize(&mut self) {
        self.name = self.name.trim().to_string();
        for f in [&mut self.title, &mut self.mobile, &mut self.landline, &mut self.email, &mut self.wechat, &mut self.preferences] {
            if let Some(s) = f {
                let t = s.trim();
                *f = if t.is_empty() { None } else { Some(t.to_string()) };
            }
        }
        if let Some(m) = &mut self.mobile {
            *m = crate::validate::normalize_mobile(m);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Contact {
    pub id: i64,
    pub archive_id: ArchiveId,
    #[serde(flatten)]
    pub data: ContactData,
}

/// Kind-specific fields of a timeline entry. Unused fields stay empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct EntryDetails {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complaint_status: Option<ComplaintStatus>,
    /// Who was met / contacted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counterpart: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_action: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_action_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntryData {
    pub kind: EntryKind,
    /// When it happened (may differ from when it was recorded).
    pub occurred_on: NaiveDate,
    pub summary: String,
    #[serde(default)]
    pub details: EntryDetails,
    /// The entry this one corrects; the old one stays visible, marked as superseded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<i64>,
    /// Why the correction was made (required with `supersedes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TimelineEntry {
    pub id: i64,
    pub archive_id: ArchiveId,
    #[serde(flatten)]
    pub data: EntryData,
    /// Set when a later entry corrects this one.
    pub superseded_by: Option<i64>,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Attachment {
    pub id: i64,
    pub archive_id: ArchiveId,
    pub sha256: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

/// Roles from the seeds. A user may hold several.
macro_rules! roles {
    ($($variant:ident = $wire:literal, $zh:literal, $tw:literal, $en:literal;)+) => {
        labelled_enum!(Role { $($variant = $wire, $zh, $tw, $en;)+ });
    };
}
roles!(
    GeneralManager = "general_manager", "总经理", "總經理", "General manager";
    SalesVp = "sales_vp", "营销副总", "營銷副總", "VP of sales";
    SalesDirector = "sales_director", "营销总监", "營銷總監", "Sales director";
    DeptManager = "dept_manager", "部门经理", "部門經理", "Department manager";
    Salesperson = "salesperson", "业务员", "業務員", "Salesperson";
    ServiceStaff = "service_staff", "客服", "客服", "Service staff";
    Finance = "finance", "财务", "財務", "Finance";
    Archivist = "archivist", "档案管理员", "檔案管理員", "Archivist";
    Auditor = "auditor", "审计员", "審計員", "Auditor";
    SystemAdmin = "system_admin", "系统管理员", "系統管理員", "System administrator";
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub dept_id: Option<DeptId>,
    pub roles: Vec<Role>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl User {
    pub fn has_role(&self, r: Role) -> bool {
        self.roles.contains(&r)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Department {
    pub id: DeptId,
    pub name: String,
    /// Short code used in archive numbers ({DEPT}).
    pub code: String,
    pub parent_id: Option<DeptId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_and_prints() {
        assert_eq!("12.3".parse::<Money>().unwrap(), Money(1230));
        assert_eq!("¥1,234,567.80".parse::<Money>().unwrap(), Money(123456780));
        assert_eq!(Money(123456780).display_cny(), "¥1,234,567.80");
        assert_eq!(Money(5).to_string(), "0.05");
        assert!("1.234".parse::<Money>().is_err());
        assert!("abc".parse::<Money>().is_err());
        let m: Money = serde_json::from_str("100").unwrap();
        assert_eq!(m, Money(10000));
    }

    #[test]
    fn enums_accept_labels() {
        assert_eq!("准客户".parse::<ArchiveStatus>().unwrap(), ArchiveStatus::Prospect);
        assert_eq!("機密".parse::<Secrecy>().unwrap(), Secrecy::Confidential);
        assert_eq!("top_secret".parse::<Secrecy>().unwrap(), Secrecy::TopSecret);
        assert!("Z".parse::<Grade>().is_err());
    }

    #[test]
    fn blacklist_forces_zero_limit() {
        let mut a = ArchiveData::new(CustomerKind::Organization, "  杭州华星建材有限公司 ");
        a.credit.limit = Some(Money::from_yuan(100_000));
        a.credit.blacklisted = true;
        a.person = Some(PersonInfo::default());
        a.normalize();
        assert_eq!(a.name, "杭州华星建材有限公司");
        assert_eq!(a.credit.limit, Some(Money(0)));
        assert!(a.person.is_none());
    }
}
