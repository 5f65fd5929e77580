//! Header recognition and the column mapping.
//!
//! A `Target` says where a column's values go: an archive field (`organization.uscc`), a
//! contact field (`contacts[0].mobile`), a template field (`custom.vin`), or nowhere. It is
//! serialized as that dotted path, the same path `FieldError`s use, so a saved `ColumnMapping`
//! is plain JSON the UI can show and edit, and a validation error finds its column by path.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use dangan_core::model::CustomerKind;
use serde::{Deserialize, Serialize};

/// Archive-level fields a column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Kind,
    Name,
    Mobile,
    Landline,
    /// "电话"/"联系电话": a mobile number goes to `mobile`, anything else to `landline`.
    Phone,
    Email,
    Address,
    PostalCode,
    /// "地区" such as `浙江省杭州市西湖区` or `浙江 杭州`: split into province, city and district.
    Region,
    Status,
    Template,
    /// All custom (template) fields as one JSON object, for lossless exports.
    CustomJson,
    OwnerId,
    DeptId,
    Tier,
    Secrecy,
    RetentionClass,
    Gender,
    BirthDate,
    IdType,
    IdNumber,
    Occupation,
    Employer,
    Uscc,
    LegalRepresentative,
    RegisteredCapital,
    FoundedOn,
    OrganizationForm,
    Employees,
    AnnualSales,
    BusinessScope,
    Industry,
    Province,
    City,
    District,
    Nature,
    SourceChannel,
    Grade,
    Tags,
    CreditGrade,
    CreditLimit,
    PaymentTermDays,
    DiscountPercent,
    Blacklisted,
    BlacklistReason,
    AssessedOn,
    ValidUntil,
    ServiceArea,
    SalesAbility,
    DevelopmentPotential,
    BusinessPolicy,
    CooperationAttitude,
    BusinessStatus,
    Notes,
}

/// Contact fields a column can feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContactField {
    Name,
    Title,
    Mobile,
    Landline,
    Phone,
    Email,
    Wechat,
    Birthday,
    Preferences,
    IsPrimary,
}

/// Where a column goes. Serialized as a dotted path: `name`, `organization.uscc`,
/// `contacts[1].mobile`, `custom.vin`, `ignore`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    Field(Field),
    /// Contact number (0-based) and field.
    Contact(u8, ContactField),
    /// A field of the industry template (`custom.<key>`).
    Custom(String),
    /// Known but not imported (序号, the error column of an error report, …).
    Ignore,
}

/// How many contacts one row can carry (联系人, 联系人2, … 联系人5).
pub const MAX_CONTACTS: u8 = 5;

/// (field, path, export label zh, export label en, further synonyms).
pub(crate) const FIELDS: &[(Field, &str, &str, &str, &[&str])] = &[
    (Field::Kind, "kind", "客户类型", "Customer type", &["类型", "客户类别", "类别", "客户种类", "个人/单位", "type", "kind", "customertype"]),
    (Field::Name, "name", "客户名称", "Customer name", &["名称", "客户", "客户名", "客户全称", "单位名称", "单位全称", "公司名称", "公司全称", "企业名称", "姓名", "客户姓名", "户名", "会员姓名", "名字", "name", "customer", "company", "companyname", "fullname"]),
    (Field::Mobile, "mobile", "手机", "Mobile", &["手机号", "手机号码", "移动电话", "客户手机", "mobile", "mobilephone", "cell", "cellphone", "cellular"]),
    (Field::Landline, "landline", "固定电话", "Landline", &["座机", "固话", "办公电话", "公司电话", "单位电话", "家庭电话", "landline", "officephone", "workphone"]),
    (Field::Phone, "phone", "电话", "Phone", &["联系电话", "电话号码", "联系方式", "客户电话", "phone", "tel", "telephone", "phonenumber"]),
    (Field::Email, "email", "电子邮箱", "Email", &["邮箱", "电子邮件", "邮件", "邮箱地址", "email", "mail", "emailaddress"]),
    (Field::Address, "address", "地址", "Address", &["联系地址", "通讯地址", "通信地址", "详细地址", "公司地址", "单位地址", "住址", "家庭住址", "家庭地址", "经营地址", "注册地址", "办公地址", "address"]),
    (Field::PostalCode, "postal_code", "邮政编码", "Postal code", &["邮编", "postalcode", "postcode", "zip", "zipcode"]),
    (Field::Region, "region", "地区", "Region", &["区域", "所在地区", "所属地区", "所在地", "省市", "省市区", "所在省市", "region", "area", "location"]),
    (Field::Status, "status", "客户状态", "Status", &["状态", "status"]),
    (Field::Template, "template", "行业模板", "Industry template", &["template"]),
    (Field::CustomJson, "custom", "扩展信息(JSON)", "Custom fields (JSON)", &["扩展信息", "customfields", "custom"]),
    (Field::OwnerId, "owner_id", "负责人ID", "Owner ID", &["ownerid"]),
    (Field::DeptId, "dept_id", "部门ID", "Department ID", &["deptid", "departmentid"]),
    (Field::Tier, "tier", "管理级别", "Management tier", &["tier"]),
    (Field::Secrecy, "secrecy", "密级", "Secrecy level", &["保密级别", "secrecy"]),
    (Field::RetentionClass, "retention_class", "保管期限", "Retention period", &["保存期限", "retention"]),
    (Field::Gender, "person.gender", "性别", "Gender", &["gender", "sex"]),
    (Field::BirthDate, "person.birth_date", "出生日期", "Date of birth", &["生日", "出生年月日", "出生年月", "客户生日", "birthday", "birthdate", "dateofbirth", "dob"]),
    (Field::IdType, "person.id_type", "证件类型", "ID type", &["idtype"]),
    (Field::IdNumber, "person.id_number", "身份证号", "ID number", &["身份证", "身份证号码", "证件号码", "证件号", "公民身份号码", "idnumber", "idno", "idcard"]),
    (Field::Occupation, "person.occupation", "职业", "Occupation", &["occupation", "profession"]),
    (Field::Employer, "person.employer", "工作单位", "Employer", &["任职单位", "employer"]),
    (Field::Uscc, "organization.uscc", "统一社会信用代码", "Unified social credit code", &["信用代码", "社会信用代码", "统一信用代码", "统一代码", "税号", "纳税人识别号", "uscc", "unifiedsocialcreditcode", "taxid"]),
    (Field::LegalRepresentative, "organization.legal_representative", "法定代表人", "Legal representative", &["法人", "法人代表", "法定代表", "legalrepresentative"]),
    (Field::RegisteredCapital, "organization.registered_capital", "注册资本", "Registered capital", &["注册资金", "registeredcapital"]),
    (Field::FoundedOn, "organization.founded_on", "成立日期", "Date founded", &["成立时间", "注册日期", "成立年月", "founded", "foundedon", "datefounded"]),
    (Field::OrganizationForm, "organization.organization_form", "组织形式", "Organization form", &["企业类型", "公司类型", "企业性质", "organizationform"]),
    (Field::Employees, "organization.employees", "员工人数", "Employees", &["人数", "职工人数", "员工数", "从业人数", "employees", "staff"]),
    (Field::AnnualSales, "organization.annual_sales", "年销售额", "Annual sales", &["年营业额", "销售额", "年营业收入", "annualsales", "revenue"]),
    (Field::BusinessScope, "organization.business_scope", "经营范围", "Business scope", &["主营业务", "业务范围", "businessscope"]),
    (Field::Industry, "classification.industry", "行业", "Industry", &["所属行业", "行业分类", "行业类别", "industry"]),
    (Field::Province, "classification.province", "省份", "Province", &["省", "所在省份", "省/直辖市", "province"]),
    (Field::City, "classification.city", "城市", "City", &["市", "所在城市", "地市", "city"]),
    (Field::District, "classification.district", "区县", "District", &["区", "县", "区/县", "所在区县", "district", "county"]),
    (Field::Nature, "classification.nature", "客户性质", "Customer nature", &["性质", "nature"]),
    (Field::SourceChannel, "classification.source_channel", "来源渠道", "Source channel", &["来源", "客户来源", "渠道", "获客渠道", "source", "channel"]),
    (Field::Grade, "classification.grade", "客户等级", "Customer grade", &["等级", "客户级别", "级别", "客户分级", "客户分类等级", "grade", "level", "customergrade"]),
    (Field::Tags, "classification.tags", "标签", "Tags", &["客户标签", "tags", "tag"]),
    (Field::CreditGrade, "credit.grade", "信用等级", "Credit grade", &["信用级别", "信用评级", "资信等级", "信誉等级", "creditgrade", "creditrating"]),
    (Field::CreditLimit, "credit.limit", "信用额度", "Credit limit", &["授信额度", "额度", "赊销额度", "信用限额", "creditlimit"]),
    (Field::PaymentTermDays, "credit.payment_term_days", "账期天数", "Payment term (days)", &["账期", "帐期", "付款期限", "信用期限", "paymentterm", "paymenttermdays"]),
    (Field::DiscountPercent, "credit.discount_percent", "折扣率", "Discount (%)", &["折扣", "discount"]),
    (Field::Blacklisted, "credit.blacklisted", "黑名单", "Blacklisted", &["是否黑名单", "列入黑名单", "blacklisted", "blacklist"]),
    (Field::BlacklistReason, "credit.blacklist_reason", "列入黑名单原因", "Blacklist reason", &["黑名单原因", "blacklistreason"]),
    (Field::AssessedOn, "credit.assessed_on", "信用评定日期", "Credit assessment date", &["评定日期", "信用评估日期", "assessedon"]),
    (Field::ValidUntil, "credit.valid_until", "信用有效期至", "Credit valid until", &["信用有效期", "validuntil"]),
    (Field::ServiceArea, "characteristics.service_area", "服务区域", "Service area", &["servicearea"]),
    (Field::SalesAbility, "characteristics.sales_ability", "销售能力", "Sales ability", &["salesability"]),
    (Field::DevelopmentPotential, "characteristics.development_potential", "发展潜力", "Development potential", &["developmentpotential"]),
    (Field::BusinessPolicy, "characteristics.business_policy", "经营方针", "Business policy", &["经营观念", "经营理念", "businesspolicy"]),
    (Field::CooperationAttitude, "characteristics.cooperation_attitude", "合作态度", "Attitude to cooperation", &["与本公司合作态度", "cooperationattitude"]),
    (Field::BusinessStatus, "characteristics.business_status", "业务状况", "Business status", &["经营状况", "businessstatus"]),
    (Field::Notes, "characteristics.notes", "备注", "Notes", &["说明", "备注信息", "其他", "remark", "remarks", "note", "notes", "comment", "comments", "memo"]),
];

/// (field, path suffix, export label zh, export label en, synonyms after the "联系人N" prefix).
pub(crate) const CONTACT_FIELDS: &[(ContactField, &str, &str, &str, &[&str])] = &[
    (ContactField::Name, "name", "", "", &["姓名", "名称", "名字", "name"]),
    (ContactField::Title, "title", "职务", "title", &["职位", "岗位", "jobtitle", "position"]),
    (ContactField::Mobile, "mobile", "手机", "mobile", &["手机号", "手机号码", "cell"]),
    (ContactField::Landline, "landline", "座机", "landline", &["固定电话", "固话", "办公电话"]),
    (ContactField::Phone, "phone", "电话", "phone", &["联系电话", "电话号码", "联系方式", "tel"]),
    (ContactField::Email, "email", "邮箱", "email", &["电子邮箱", "电子邮件", "mail"]),
    (ContactField::Wechat, "wechat", "微信", "wechat", &["微信号", "weixin"]),
    (ContactField::Birthday, "birthday", "生日", "birthday", &["出生日期"]),
    (ContactField::Preferences, "preferences", "喜好", "preferences", &["个人喜好", "爱好", "兴趣爱好"]),
    (ContactField::IsPrimary, "is_primary", "是否主要联系人", "primary", &["主要联系人标记", "是否主要"]),
];

/// Headers that are recognized and deliberately not imported.
const IGNORED: &[&str] = &["序号", "编号", "行号", "no", "index", "#", "档号", "客户编号", "客户代码", "错误说明", "错误信息", "原行号", "errors", "sourcerow"];

impl Field {
    pub fn path(self) -> &'static str {
        FIELDS.iter().find(|f| f.0 == self).map(|f| f.1).unwrap_or("ignore")
    }
    pub fn label_zh(self) -> &'static str {
        FIELDS.iter().find(|f| f.0 == self).map(|f| f.2).unwrap_or("")
    }
    pub fn label_en(self) -> &'static str {
        FIELDS.iter().find(|f| f.0 == self).map(|f| f.3).unwrap_or("")
    }
    pub fn all() -> impl Iterator<Item = Field> {
        FIELDS.iter().map(|f| f.0)
    }
}

impl ContactField {
    pub fn path(self) -> &'static str {
        CONTACT_FIELDS.iter().find(|f| f.0 == self).map(|f| f.1).unwrap_or("name")
    }
    pub fn all() -> impl Iterator<Item = ContactField> {
        CONTACT_FIELDS.iter().map(|f| f.0)
    }
}

impl Target {
    /// The dotted path, as in `FieldError::field`.
    pub fn path(&self) -> String {
        match self {
            Target::Field(f) => f.path().to_string(),
            Target::Contact(n, f) => format!("contacts[{n}].{}", f.path()),
            Target::Custom(k) => format!("custom.{k}"),
            Target::Ignore => "ignore".into(),
        }
    }

    /// The column header an export writes for this target (`zh` or `en`).
    pub fn label(&self, lang: &str) -> String {
        let en = lang.starts_with("en");
        match self {
            Target::Field(f) => (if en { f.label_en() } else { f.label_zh() }).to_string(),
            Target::Contact(n, f) => {
                let (_, _, zh, e, _) = CONTACT_FIELDS.iter().find(|c| c.0 == *f).copied().unwrap_or(CONTACT_FIELDS[0]);
                let num = if *n == 0 { String::new() } else { (n + 1).to_string() };
                if en {
                    let sep = if num.is_empty() { "" } else { " " };
                    if e.is_empty() { format!("Contact{sep}{num}") } else { format!("Contact{sep}{num} {e}") }
                } else {
                    format!("联系人{num}{zh}")
                }
            }
            Target::Custom(k) => dangan_core::templates::TEMPLATES
                .iter()
                .flat_map(|t| t.fields.iter())
                .find(|f| f.key == k)
                .map(|f| (if en { f.label_en } else { f.label_zh }).to_string())
                .unwrap_or_else(|| k.clone()),
            Target::Ignore => String::new(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown column target: {0}")]
pub struct UnknownTarget(pub String);

impl FromStr for Target {
    type Err = UnknownTarget;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "ignore" {
            return Ok(Target::Ignore);
        }
        if let Some(k) = s.strip_prefix("custom.") {
            if !k.is_empty() {
                return Ok(Target::Custom(k.to_string()));
            }
        }
        if let Some(rest) = s.strip_prefix("contacts[") {
            if let Some((n, f)) = rest.split_once("].") {
                if let (Ok(n), Some(cf)) = (n.parse::<u8>(), CONTACT_FIELDS.iter().find(|c| c.1 == f)) {
                    if n < MAX_CONTACTS {
                        return Ok(Target::Contact(n, cf.0));
                    }
                }
            }
        }
        FIELDS.iter().find(|f| f.1 == s).map(|f| Target::Field(f.0)).ok_or_else(|| UnknownTarget(s.to_string()))
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.path())
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Recognition
// ---------------------------------------------------------------------------------------------

/// Folds a header for lookup: full-width to ASCII, lowercase, bracketed remarks dropped
/// (`信用额度（元）`, `客户名称*(必填)`), spaces and punctuation removed.
pub fn normalize_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '【' | '〔' => '(',
            '】' | '〕' => ')',
            _ => c,
        };
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c.is_alphanumeric() || c == '#' => out.extend(c.to_lowercase()),
            _ => {}
        }
    }
    if out.is_empty() {
        // A header that is only a bracketed remark: keep its content.
        return s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    }
    out
}

fn contact_prefixes(n: u8) -> Vec<String> {
    let k = n + 1;
    let cn = ["一", "二", "三", "四", "五"][n as usize % 5];
    let mut v = vec![format!("联系人{k}"), format!("第{k}联系人"), format!("联系人{cn}"), format!("第{cn}联系人"), format!("contact{k}")];
    if n == 0 {
        v.extend(["联系人".to_string(), "contact".to_string(), "主要联系人".to_string()]);
    }
    v
}

fn dictionary() -> &'static HashMap<String, Target> {
    static D: OnceLock<HashMap<String, Target>> = OnceLock::new();
    D.get_or_init(|| {
        let mut d: HashMap<String, Target> = HashMap::new();
        let mut put = |k: &str, t: Target| {
            let k = normalize_header(k);
            if !k.is_empty() {
                d.entry(k).or_insert(t);
            }
        };
        // Contacts first where words collide on purpose ("联系人" alone is a contact's name).
        for n in 0..MAX_CONTACTS {
            for p in contact_prefixes(n) {
                for &(cf, path, zh, en, syn) in CONTACT_FIELDS {
                    let t = Target::Contact(n, cf);
                    put(&format!("{p}{zh}"), t.clone());
                    put(&format!("{p}{en}"), t.clone());
                    put(&format!("{p}{path}"), t.clone());
                    for s in syn {
                        put(&format!("{p}{s}"), t.clone());
                    }
                }
            }
            let t = Target::Contact(n, ContactField::Name);
            put(&t.label("en"), t.clone());
            for cf in ContactField::all() {
                let t = Target::Contact(n, cf);
                put(&t.label("zh"), t.clone());
                put(&t.label("en"), t.clone());
                put(&t.path(), t.clone());
            }
        }
        for &(f, path, zh, en, syn) in FIELDS {
            let t = Target::Field(f);
            put(zh, t.clone());
            put(en, t.clone());
            put(path, t.clone());
            for s in syn {
                put(s, t.clone());
            }
            for lang in ["zh-CN", "zh-TW", "en"] {
                let l = dangan_core::validate::field_label(path, lang);
                if l != path {
                    put(&l, t.clone());
                }
            }
        }
        // Bare contact words that only make sense for a contact.
        for (w, cf) in [("职务", ContactField::Title), ("职位", ContactField::Title), ("微信", ContactField::Wechat), ("微信号", ContactField::Wechat), ("对接人", ContactField::Name), ("个人喜好", ContactField::Preferences), ("爱好", ContactField::Preferences), ("title", ContactField::Title), ("jobtitle", ContactField::Title), ("wechat", ContactField::Wechat)] {
            put(w, Target::Contact(0, cf));
        }
        for w in IGNORED {
            put(w, Target::Ignore);
        }
        d
    })
}

/// Substring rules for headers the dictionary does not know (`客户手机号1`, `公司注册地址`).
const CONTAINS: &[(&str, Target)] = &[
    ("身份证", Target::Field(Field::IdNumber)),
    ("信用代码", Target::Field(Field::Uscc)),
    ("联系人", Target::Contact(0, ContactField::Name)),
    ("手机", Target::Field(Field::Mobile)),
    ("邮箱", Target::Field(Field::Email)),
    ("email", Target::Field(Field::Email)),
    ("地址", Target::Field(Field::Address)),
    ("电话", Target::Field(Field::Phone)),
    ("备注", Target::Field(Field::Notes)),
    ("信用等级", Target::Field(Field::CreditGrade)),
    ("信用额度", Target::Field(Field::CreditLimit)),
    ("等级", Target::Field(Field::Grade)),
    ("行业", Target::Field(Field::Industry)),
    ("生日", Target::Field(Field::BirthDate)),
    ("名称", Target::Field(Field::Name)),
];

/// The target a header names, if any. `template` adds that template's field labels.
pub fn recognize(header: &str, template: Option<&str>) -> Option<Target> {
    let key = normalize_header(header);
    if key.is_empty() || key.chars().count() > 40 {
        return None;
    }
    if let Some(t) = template.and_then(dangan_core::templates::find) {
        for f in t.fields {
            if normalize_header(f.label_zh) == key || normalize_header(f.label_en) == key || f.key == key {
                return Some(Target::Custom(f.key.to_string()));
            }
        }
    }
    if let Some(t) = dictionary().get(&key) {
        return Some(t.clone());
    }
    if key.chars().count() <= 12 {
        for (w, t) in CONTAINS {
            if key.contains(w) {
                return Some(t.clone());
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// The mapping
// ---------------------------------------------------------------------------------------------

/// One column of the file and where it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnBinding {
    /// 0-based column index in the file.
    pub index: usize,
    /// The header text as shown in the file (two-level headers joined with `/`).
    pub header: String,
    /// `None`: not recognized (the user may pick a target); `Some(Target::Ignore)`: skipped on purpose.
    pub target: Option<Target>,
}

/// Which column feeds which field; detected from the header, corrected by the user, saved as JSON
/// and applied to the next file of the same shape (`ColumnMapping::reapply`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnMapping {
    pub columns: Vec<ColumnBinding>,
    /// Industry template whose fields are recognized and validated (`custom.<key>` targets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Customer kind when the file has no 类型 column and nothing in the row tells (USCC → 单位,
    /// ID number → 个人, a name ending in 公司/厂/店/… → 单位).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_kind: Option<CustomerKind>,
}

/// A problem with a mapping as a whole (shown before the import starts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingProblem {
    pub message_zh: String,
    pub message_en: String,
}

/// Targets that may feed from several columns (values are combined).
fn multi(t: &Target) -> bool {
    matches!(t, Target::Ignore | Target::Field(Field::Phone | Field::Notes | Field::Tags | Field::Address) | Target::Contact(_, ContactField::Phone))
}

impl ColumnMapping {
    /// Recognizes every header; a target already taken by an earlier column is not given twice
    /// (except phones, notes, tags and addresses, whose values are combined).
    pub fn detect(headers: &[String], template: Option<&str>) -> ColumnMapping {
        let mut taken = std::collections::HashSet::new();
        let columns = headers
            .iter()
            .enumerate()
            .map(|(index, h)| {
                let mut target = recognize(h, template);
                if let Some(t) = &target {
                    if !multi(t) && !taken.insert(t.clone()) {
                        target = None;
                    }
                }
                ColumnBinding { index, header: h.clone(), target }
            })
            .collect();
        ColumnMapping { columns, template: template.map(str::to_string), default_kind: None }
    }

    /// Applies a saved mapping to a new file's headers: columns are matched by header text (so a
    /// reordered file still maps right), headers the saved mapping does not know are recognized
    /// afresh.
    pub fn reapply(saved: &ColumnMapping, headers: &[String]) -> ColumnMapping {
        let mut m = ColumnMapping::detect(headers, saved.template.as_deref());
        m.default_kind = saved.default_kind;
        for col in &mut m.columns {
            let key = normalize_header(&col.header);
            if let Some(s) = saved.columns.iter().find(|s| normalize_header(&s.header) == key) {
                col.target = s.target.clone();
            }
        }
        m
    }

    /// The target of a column, if mapped and not ignored.
    pub fn target(&self, index: usize) -> Option<&Target> {
        self.columns.iter().find(|c| c.index == index).and_then(|c| c.target.as_ref()).filter(|t| **t != Target::Ignore)
    }

    /// The header of the column feeding `target` (for error messages), if any.
    pub fn header_of(&self, target: &Target) -> Option<&str> {
        self.columns.iter().find(|c| c.target.as_ref() == Some(target)).map(|c| c.header.as_str())
    }

    /// Headers nobody recognized: the UI asks the user about these.
    pub fn unmapped(&self) -> impl Iterator<Item = &ColumnBinding> {
        self.columns.iter().filter(|c| c.target.is_none() && !c.header.trim().is_empty())
    }

    /// What stops an import with this mapping: no name column, a target fed twice.
    pub fn problems(&self) -> Vec<MappingProblem> {
        let mut v = Vec::new();
        if !self.columns.iter().any(|c| c.target == Some(Target::Field(Field::Name))) {
            v.push(MappingProblem { message_zh: "没有对应“客户名称”的列，请指定哪一列是客户名称".into(), message_en: "No column is mapped to the customer name".into() });
        }
        let mut seen: HashMap<&Target, &str> = HashMap::new();
        for c in &self.columns {
            if let Some(t) = &c.target {
                if multi(t) {
                    continue;
                }
                if let Some(first) = seen.insert(t, &c.header) {
                    v.push(MappingProblem {
                        message_zh: format!("“{first}”和“{}”两列都对应{}，请只保留一列", c.header, t.label("zh")),
                        message_en: format!("Columns \"{first}\" and \"{}\" are both mapped to {}", c.header, t.label("en")),
                    });
                }
            }
        }
        if let Some(t) = &self.template {
            if dangan_core::templates::find(t).is_none() {
                v.push(MappingProblem { message_zh: format!("未知的行业模板：{t}"), message_en: format!("Unknown industry template: {t}") });
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(h: &str) -> Option<String> {
        recognize(h, None).map(|t| t.path())
    }

    #[test]
    fn usual_headers() {
        assert_eq!(r("客户名称").as_deref(), Some("name"));
        assert_eq!(r("单位名称").as_deref(), Some("name"));
        assert_eq!(r(" 公司名称* ").as_deref(), Some("name"));
        assert_eq!(r("客户名称（必填）").as_deref(), Some("name"));
        assert_eq!(r("联系人").as_deref(), Some("contacts[0].name"));
        assert_eq!(r("联系人2手机").as_deref(), Some("contacts[1].mobile"));
        assert_eq!(r("第二联系人").as_deref(), Some("contacts[1].name"));
        assert_eq!(r("联系人2").as_deref(), Some("contacts[1].name"));
        assert_eq!(r("手机").as_deref(), Some("mobile"));
        assert_eq!(r("手机号码").as_deref(), Some("mobile"));
        assert_eq!(r("电话").as_deref(), Some("phone"));
        assert_eq!(r("联系电话").as_deref(), Some("phone"));
        assert_eq!(r("地址").as_deref(), Some("address"));
        assert_eq!(r("统一社会信用代码").as_deref(), Some("organization.uscc"));
        assert_eq!(r("身份证号").as_deref(), Some("person.id_number"));
        assert_eq!(r("行业").as_deref(), Some("classification.industry"));
        assert_eq!(r("地区").as_deref(), Some("region"));
        assert_eq!(r("省").as_deref(), Some("classification.province"));
        assert_eq!(r("市").as_deref(), Some("classification.city"));
        assert_eq!(r("客户等级").as_deref(), Some("classification.grade"));
        assert_eq!(r("信用等级").as_deref(), Some("credit.grade"));
        assert_eq!(r("信用额度(元)").as_deref(), Some("credit.limit"));
        assert_eq!(r("生日").as_deref(), Some("person.birth_date"));
        assert_eq!(r("备注").as_deref(), Some("characteristics.notes"));
        assert_eq!(r("邮箱").as_deref(), Some("email"));
        assert_eq!(r("E-mail").as_deref(), Some("email"));
        assert_eq!(r("类型").as_deref(), Some("kind"));
        assert_eq!(r("Company Name").as_deref(), Some("name"));
        assert_eq!(r("Mobile Phone").as_deref(), Some("mobile"));
        assert_eq!(r("序号").as_deref(), Some("ignore"));
        assert_eq!(r("错误说明").as_deref(), Some("ignore"));
        assert_eq!(r("客户手机号1").as_deref(), Some("mobile"));
        assert_eq!(r("杭州华星建材有限公司"), None);
        assert_eq!(r("13800138000"), None);
        assert_eq!(r("张伟"), None);
    }

    #[test]
    fn every_export_label_is_recognized_back() {
        for f in Field::all() {
            for lang in ["zh", "en"] {
                let t = Target::Field(f);
                assert_eq!(recognize(&t.label(lang), None), Some(t.clone()), "{lang} {}", t.label(lang));
            }
        }
        for n in 0..MAX_CONTACTS {
            for cf in ContactField::all() {
                for lang in ["zh", "en"] {
                    let t = Target::Contact(n, cf);
                    assert_eq!(recognize(&t.label(lang), None), Some(t.clone()), "{lang} {}", t.label(lang));
                }
            }
        }
        assert_eq!(recognize("车架号（VIN）", Some("vehicle")), Some(Target::Custom("vin".into())));
    }

    #[test]
    fn targets_round_trip_as_paths() {
        for f in Field::all() {
            let t = Target::Field(f);
            assert_eq!(t.path().parse::<Target>().unwrap(), t);
        }
        let t = Target::Contact(2, ContactField::Wechat);
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"contacts[2].wechat\"");
        assert_eq!(serde_json::from_str::<Target>("\"custom.vin\"").unwrap(), Target::Custom("vin".into()));
        assert!("contacts[9].name".parse::<Target>().is_err());
        assert!("nonsense".parse::<Target>().is_err());
    }

    #[test]
    fn mapping_detects_and_reapplies() {
        let h: Vec<String> = ["序号", "客户名称", "手机", "手机号", "备注", "备注2"].iter().map(|s| s.to_string()).collect();
        let mut m = ColumnMapping::detect(&h, None);
        assert_eq!(m.columns[0].target, Some(Target::Ignore));
        assert_eq!(m.columns[2].target, Some(Target::Field(Field::Mobile)));
        assert_eq!(m.columns[3].target, None, "a second mobile column is left for the user");
        assert!(m.problems().is_empty());
        m.columns[3].target = Some(Target::Field(Field::Landline));
        let json = serde_json::to_string(&m).unwrap();
        let saved: ColumnMapping = serde_json::from_str(&json).unwrap();
        let reordered: Vec<String> = ["手机号", "客户名称"].iter().map(|s| s.to_string()).collect();
        let again = ColumnMapping::reapply(&saved, &reordered);
        assert_eq!(again.columns[0].target, Some(Target::Field(Field::Landline)));
        assert_eq!(again.columns[1].target, Some(Target::Field(Field::Name)));
        let none = ColumnMapping::detect(&["手机".to_string()], None);
        assert_eq!(none.problems().len(), 1);
    }
}
