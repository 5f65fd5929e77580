//! Row conversion: a raw row + a mapping → an `ArchiveData` with its `ContactData`s, or every
//! problem of the row as `RowError`s (row number as the user sees it, the column's header, the
//! value, a Chinese and an English message). Parsing accepts what people type; the rules
//! afterwards are `dangan_core::validate`'s, so an imported archive passes the same checks as one
//! typed into the form.

use chrono::NaiveDate;
use dangan_core::model::{ArchiveData, ArchiveStatus, ContactData, CustomerKind, Gender, Grade, IdType, Money, OrganizationInfo, PersonInfo, RetentionClass, Secrecy, Tier};
use dangan_core::templates::FieldType;
use dangan_core::validate::{normalize_mobile, parse_date, parse_excel_serial, validate_archive, validate_contact};
use serde::{Deserialize, Serialize};

use crate::cell::{format_number, Cell, RawRow};
use crate::mapping::{ColumnMapping, ContactField, Field, Target, MAX_CONTACTS};

/// One problem in one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// Row number as the user sees it in Excel (1-based, header and title rows counted).
    pub row: u32,
    /// Header text of the column ("" when the problem is not tied to one column).
    pub column: String,
    /// Field path (`mobile`, `contacts[0].email`, …), "" when none.
    pub field: String,
    /// The value as it was in the file.
    pub value: String,
    pub message_zh: String,
    pub message_en: String,
}

/// A converted row, ready for duplicate checks and storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub row: u32,
    pub archive: ArchiveData,
    pub contacts: Vec<ContactData>,
}

/// Converts rows with a fixed mapping. Cheap to share between threads (`&self`).
#[derive(Debug, Clone)]
pub struct Converter {
    cols: Vec<(usize, Target, String)>,
    template: Option<String>,
    default_kind: Option<CustomerKind>,
}

struct Ctx<'a> {
    row: u32,
    errors: Vec<RowError>,
    /// Every field a column fed and that column's header, to place validation errors.
    fed: Vec<(Fed, &'a str)>,
}

/// A fed field, kept without allocating (the path string is only built when an error needs it).
enum Fed {
    Path(&'static str),
    Contact(u8, &'static str),
    Custom(String),
}

impl Fed {
    fn matches(&self, field: &str) -> bool {
        match self {
            Fed::Path(p) => *p == field,
            Fed::Contact(n, leaf) => format!("contacts[{n}].{leaf}") == field,
            Fed::Custom(k) => field.strip_prefix("custom.") == Some(k.as_str()),
        }
    }
}

impl<'a> Ctx<'a> {
    fn err(&mut self, header: &str, field: &str, value: String, zh: String, en: String) {
        self.errors.push(RowError { row: self.row, column: header.to_string(), field: field.to_string(), value, message_zh: zh, message_en: en });
    }
}

type Bad = (String, String);

fn text_of(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.trim().to_string(),
        other => other.display(),
    }
}

fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// A date from a date cell, an Excel serial number, or text in any of the forms `parse_date`
/// knows (plus a trailing time `2023-03-04 00:00:00` and serials typed as text).
pub fn parse_date_cell(c: &Cell) -> Option<NaiveDate> {
    match c {
        Cell::Date(d) => Some(*d),
        Cell::Number(n) => parse_excel_serial(*n),
        Cell::Text(s) => {
            let t = halfwidth(s.trim());
            if let Ok(d) = parse_date(&t) {
                return Some(d);
            }
            if let Some((d, time)) = t.split_once([' ', 'T']) {
                if time.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '.') {
                    if let Ok(d) = parse_date(d) {
                        return Some(d);
                    }
                }
            }
            // A serial pasted as text (5 digits: 1927-05-18 to 2173-10-14).
            if t.len() == 5 && t.bytes().all(|b| b.is_ascii_digit()) {
                return t.parse::<f64>().ok().and_then(parse_excel_serial);
            }
            None
        }
        _ => None,
    }
}

/// Money as people type it: `1234.5`, `¥1,234.50`, `1.2万`, `3亿元`, `500元`, `RMB 800`; cells
/// holding numbers are yuan. Rounded to the fen.
pub fn parse_money_cell(c: &Cell) -> Option<Money> {
    match c {
        Cell::Number(n) if n.is_finite() && n.abs() < 1e13 => Some(Money((n * 100.0).round() as i64)),
        Cell::Text(s) => parse_money(s),
        _ => None,
    }
}

pub fn parse_money(s: &str) -> Option<Money> {
    let mut t: String = halfwidth(s).chars().filter(|c| !c.is_whitespace() && *c != ',' && *c != '，').collect();
    for p in ["¥", "￥", "RMB", "rmb", "CNY", "cny", "人民币"] {
        if let Some(r) = t.strip_prefix(p) {
            t = r.to_string();
        }
    }
    let t = t.strip_suffix("元").unwrap_or(&t);
    let (t, mult): (&str, i128) = if let Some(r) = t.strip_suffix("万") {
        (r, 10_000)
    } else if let Some(r) = t.strip_suffix("亿") {
        (r, 100_000_000)
    } else if let Some(r) = t.strip_suffix("千") {
        (r, 1_000)
    } else {
        (t, 1)
    };
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if (int.is_empty() && frac.is_empty()) || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) || int.len() + frac.len() > 18 {
        return None;
    }
    let digits: i128 = format!("{int}{frac}").parse().ok()?;
    let scale = 10i128.checked_pow(frac.len() as u32)?;
    // fen = digits / 10^frac · mult · 100, rounded half up.
    let num = digits.checked_mul(mult)?.checked_mul(100)?;
    let fen = (num + scale / 2) / scale;
    let fen = i64::try_from(fen).ok()?;
    Some(Money(if neg { -fen } else { fen }))
}

fn parse_int(c: &Cell, suffixes: &[&str]) -> Option<i64> {
    match c {
        Cell::Number(n) if n.fract() == 0.0 && n.abs() < 9e15 => Some(*n as i64),
        Cell::Text(s) => {
            let mut t = halfwidth(s.trim()).replace(',', "");
            for suf in suffixes {
                if let Some(r) = t.strip_suffix(suf) {
                    t = r.trim().to_string();
                }
            }
            t.parse().ok()
        }
        _ => None,
    }
}

fn parse_discount(c: &Cell) -> Option<i32> {
    let v = match c {
        Cell::Number(n) => *n,
        Cell::Text(s) => {
            let t = halfwidth(s.trim());
            if let Some(z) = t.strip_suffix('折') {
                // 95折 → 95, 9.5折 → 95, 8折 → 80.
                let x: f64 = z.trim().parse().ok()?;
                return Some(if x < 10.0 { (x * 10.0).round() as i32 } else { x.round() as i32 });
            }
            t.strip_suffix('%').unwrap_or(&t).trim().parse().ok()?
        }
        _ => return None,
    };
    Some(if v > 0.0 && v < 1.0 { (v * 100.0).round() as i32 } else if v.fract() == 0.0 { v as i32 } else { return None })
}

pub fn parse_grade(s: &str) -> Option<Grade> {
    let t = halfwidth(s.trim()).to_uppercase();
    let t = t.trim_end_matches(['级', '級', '类', '類', '等']).trim();
    match t {
        "A" | "甲" => Some(Grade::A),
        "B" | "乙" => Some(Grade::B),
        "C" | "丙" => Some(Grade::C),
        "D" | "丁" => Some(Grade::D),
        _ => s.trim().parse().ok(),
    }
}

pub fn parse_kind(s: &str) -> Option<CustomerKind> {
    let t = s.trim();
    match t.to_lowercase().as_str() {
        "个人" | "個人" | "自然人" | "个人客户" | "person" | "individual" | "private" => Some(CustomerKind::Person),
        "单位" | "單位" | "企业" | "企業" | "公司" | "机构" | "組織" | "组织" | "法人" | "单位客户" | "企业客户" | "organization" | "organisation" | "company" | "business" => Some(CustomerKind::Organization),
        _ => t.parse().ok(),
    }
}

pub fn parse_bool(c: &Cell) -> Option<bool> {
    match c {
        Cell::Bool(b) => Some(*b),
        Cell::Number(n) if *n == 0.0 || *n == 1.0 => Some(*n == 1.0),
        Cell::Text(s) => match halfwidth(s.trim()).to_lowercase().as_str() {
            "是" | "y" | "yes" | "true" | "1" | "√" | "✓" | "对" | "有" => Some(true),
            "否" | "n" | "no" | "false" | "0" | "×" | "x" | "无" | "不是" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn parse_gender(s: &str) -> Option<Gender> {
    match halfwidth(s.trim()).to_lowercase().as_str() {
        "男" | "男性" | "m" | "male" => Some(Gender::Male),
        "女" | "女性" | "f" | "female" => Some(Gender::Female),
        _ => s.trim().parse().ok(),
    }
}

const PROVINCES: &[(&str, &str)] = &[
    ("北京市", "北京"), ("天津市", "天津"), ("上海市", "上海"), ("重庆市", "重庆"), ("河北省", "河北"), ("山西省", "山西"), ("辽宁省", "辽宁"), ("吉林省", "吉林"),
    ("黑龙江省", "黑龙江"), ("江苏省", "江苏"), ("浙江省", "浙江"), ("安徽省", "安徽"), ("福建省", "福建"), ("江西省", "江西"), ("山东省", "山东"), ("河南省", "河南"),
    ("湖北省", "湖北"), ("湖南省", "湖南"), ("广东省", "广东"), ("海南省", "海南"), ("四川省", "四川"), ("贵州省", "贵州"), ("云南省", "云南"), ("陕西省", "陕西"),
    ("甘肃省", "甘肃"), ("青海省", "青海"), ("台湾省", "台湾"), ("内蒙古自治区", "内蒙古"), ("广西壮族自治区", "广西"), ("西藏自治区", "西藏"), ("宁夏回族自治区", "宁夏"),
    ("新疆维吾尔自治区", "新疆"), ("香港特别行政区", "香港"), ("澳门特别行政区", "澳门"),
];

/// `浙江省杭州市西湖区`, `浙江 杭州`, `北京市朝阳区`, `杭州市` → (province, city, district).
pub fn split_region(s: &str) -> (Option<String>, Option<String>, Option<String>) {
    let t: String = halfwidth(s.trim());
    let mut rest = t.as_str();
    let mut province = None;
    let mut city = None;
    for &(full, short) in PROVINCES {
        if let Some(r) = rest.strip_prefix(full).or_else(|| rest.strip_prefix(short)) {
            province = Some(full.to_string());
            rest = r;
            if full.ends_with('市') {
                city = Some(full.to_string());
            }
            break;
        }
    }
    let rest = rest.trim_matches(|c: char| c.is_whitespace() || "-/,，、".contains(c));
    let mut district = None;
    if !rest.is_empty() {
        let parts: Vec<&str> = rest.split(|c: char| c.is_whitespace() || "-/,，、".contains(c)).filter(|p| !p.is_empty()).collect();
        let (c_part, d_part): (Option<String>, Option<String>) = if parts.len() >= 2 {
            (Some(parts[0].to_string()), Some(parts[1..].join("")))
        } else {
            let p = parts.first().copied().unwrap_or("");
            let cut = ["自治州", "地区", "市", "盟"].iter().find_map(|m| p.find(m).map(|i| i + m.len()));
            match cut {
                Some(i) if i < p.len() => (Some(p[..i].to_string()), Some(p[i..].to_string())),
                _ => (Some(p.to_string()), None),
            }
        };
        if city.is_some() {
            // A municipality: what follows is the district.
            district = [c_part, d_part].into_iter().flatten().reduce(|a, b| a + &b);
        } else {
            city = c_part.map(|c| if c.ends_with(['市', '盟', '区', '县']) || c.ends_with("地区") || c.ends_with("自治州") { c } else { format!("{c}市") });
            district = d_part;
        }
    }
    (province, city, district)
}

fn org_name_heuristic(name: &str) -> bool {
    const SUFFIXES: &[&str] = &["公司", "厂", "店", "中心", "集团", "协会", "学校", "医院", "银行", "合作社", "事务所", "商行", "研究所", "工作室", "有限合伙", "部", "局", "院", "馆"];
    let n = name.trim();
    SUFFIXES.iter().any(|s| n.ends_with(s) && n.chars().count() > s.chars().count() + 1) || n.chars().count() > 6
}

impl Converter {
    pub fn new(mapping: &ColumnMapping) -> Converter {
        let cols = mapping
            .columns
            .iter()
            .filter_map(|c| match &c.target {
                Some(Target::Ignore) | None => None,
                Some(t) => Some((c.index, t.clone(), c.header.clone())),
            })
            .collect();
        Converter { cols, template: mapping.template.clone(), default_kind: mapping.default_kind }
    }

    /// Converts one row. Blank rows should be skipped before (tables do).
    pub fn convert(&self, raw: &RawRow) -> Result<ImportRecord, Vec<RowError>> {
        let mut cx = Ctx { row: raw.row, errors: Vec::new(), fed: Vec::new() };
        let mut a = ArchiveData::new(CustomerKind::Person, "");
        let mut p = PersonInfo::default();
        let mut o = OrganizationInfo::default();
        let mut person_cols: Vec<&str> = Vec::new();
        let mut org_cols: Vec<&str> = Vec::new();
        let mut kind: Option<CustomerKind> = None;
        let mut contacts: Vec<Option<ContactData>> = vec![None; MAX_CONTACTS as usize];
        let mut region: Option<(String, &str)> = None;

        for (idx, target, header) in &self.cols {
            let cell = raw.get(*idx);
            if cell.is_empty() {
                continue;
            }
            let h = header.as_str();
            if let Cell::Error(e) = cell {
                cx.err(h, &target.path(), e.clone(), format!("{h}单元格是Excel错误值{e}，请改为实际内容"), format!("{h} holds the Excel error {e}"));
                continue;
            }
            let text = text_of(cell);
            let r: Result<(), Bad> = match target {
                Target::Field(f) => self.apply_field(&mut cx, &mut a, &mut p, &mut o, &mut kind, &mut region, &mut person_cols, &mut org_cols, *f, cell, text, h),
                Target::Contact(n, cf) => {
                    let c = contacts[*n as usize].get_or_insert_with(|| ContactData { name: String::new(), title: None, mobile: None, landline: None, email: None, wechat: None, birthday: None, preferences: None, is_primary: false });
                    apply_contact(&mut cx, c, *n, *cf, cell, text, h)
                }
                Target::Custom(key) => self.apply_custom(&mut cx, &mut a, key, cell, text, h),
                Target::Ignore => Ok(()),
            };
            if let Err((zh, en)) = r {
                cx.err(h, &target.path(), text_of(cell), zh, en);
            }
        }

        if let Some((r, h)) = region {
            let (pv, ct, ds) = split_region(&r);
            let c = &mut a.classification;
            if c.province.is_none() {
                c.province = pv;
            }
            if c.city.is_none() {
                c.city = ct;
            }
            if c.district.is_none() {
                c.district = ds;
            }
            for f in ["classification.province", "classification.city", "classification.district"] {
                cx.fed.push((Fed::Path(f), h));
            }
        }

        let kind = kind.or(self.default_kind).unwrap_or_else(|| {
            if o.uscc.is_some() || (!org_cols.is_empty() && person_cols.is_empty()) {
                CustomerKind::Organization
            } else if p.id_number.is_some() || !person_cols.is_empty() {
                CustomerKind::Person
            } else if org_name_heuristic(&a.name) {
                CustomerKind::Organization
            } else {
                CustomerKind::Person
            }
        });
        a.kind = kind;
        match kind {
            CustomerKind::Person => {
                for h in &org_cols {
                    cx.err(h, "", String::new(), format!("个人客户不能填写“{h}”（该列只适用于单位客户）"), format!("\"{h}\" applies to organizations only, this row is a person"));
                }
                if p != PersonInfo::default() {
                    a.person = Some(p);
                }
            }
            CustomerKind::Organization => {
                for h in &person_cols {
                    cx.err(h, "", String::new(), format!("单位客户不能填写“{h}”（该列只适用于个人客户）"), format!("\"{h}\" applies to persons only, this row is an organization"));
                }
                if o != OrganizationInfo::default() {
                    a.organization = Some(o);
                }
            }
        }
        a.normalize();

        let mut out_contacts = Vec::new();
        for (slot, c) in contacts.into_iter().enumerate() {
            if let Some(mut c) = c {
                c.normalize();
                for e in validate_contact(&c, &format!("contacts[{slot}].")) {
                    self.push_field_error(&mut cx, raw, &e);
                }
                out_contacts.push(c);
            }
        }
        for e in validate_archive(&a) {
            self.push_field_error(&mut cx, raw, &e);
        }
        if cx.errors.is_empty() {
            Ok(ImportRecord { row: raw.row, archive: a, contacts: out_contacts })
        } else {
            Err(cx.errors)
        }
    }

    fn push_field_error(&self, cx: &mut Ctx<'_>, raw: &RawRow, e: &dangan_core::validate::FieldError) {
        let (column, value) = match cx.fed.iter().find(|(f, _)| f.matches(&e.field)) {
            Some((_, h)) => {
                let v = self.cols.iter().find(|(_, _, hh)| hh == h).map(|(i, ..)| text_of(raw.get(*i))).unwrap_or_default();
                (h.to_string(), v)
            }
            // Not fed (an empty cell): the column mapped to the field, if any.
            None => match self.cols.iter().find(|(_, t, _)| t.path() == e.field) {
                Some((i, _, h)) => (h.clone(), text_of(raw.get(*i))),
                None => (String::new(), String::new()),
            },
        };
        let (zh, en) = (e.message("zh-CN"), e.message("en"));
        cx.err(&column, &e.field, value, zh, en);
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_field<'a>(
        &self,
        cx: &mut Ctx<'a>,
        a: &mut ArchiveData,
        p: &mut PersonInfo,
        o: &mut OrganizationInfo,
        kind: &mut Option<CustomerKind>,
        region: &mut Option<(String, &'a str)>,
        person_cols: &mut Vec<&'a str>,
        org_cols: &mut Vec<&'a str>,
        f: Field,
        cell: &Cell,
        text: String,
        h: &'a str,
    ) -> Result<(), Bad> {
        let path = f.path();
        let fed = |cx: &mut Ctx<'a>, path: &'static str| cx.fed.push((Fed::Path(path), h));
        let date = |c: &Cell| parse_date_cell(c).ok_or_else(|| bad_date(h));
        let money = |c: &Cell| parse_money_cell(c).ok_or_else(|| (format!("{h}不是有效金额，应填写如1234.50、¥1,234.50或1.2万"), format!("{h} is not an amount (e.g. 1234.50, ¥1,234.50, 1.2万)")));
        let int = |c: &Cell, suf: &[&str]| parse_int(c, suf).ok_or_else(|| (format!("{h}应为整数"), format!("{h} must be a whole number")));
        let append = |o: &mut Option<String>, t: String| match o {
            Some(s) => {
                s.push('；');
                s.push_str(&t);
            }
            None => *o = Some(t),
        };
        match f {
            Field::Kind => *kind = Some(parse_kind(&text).ok_or_else(|| (format!("{h}应为“个人”或“单位”"), format!("{h} must be 个人 (person) or 单位 (organization)")))?),
            Field::Name => a.name = text,
            Field::Mobile => a.mobile = Some(text),
            Field::Landline => a.landline = Some(text),
            Field::Phone => {
                let is_mobile = dangan_core::validate::check_mobile(&text).is_ok();
                if is_mobile && a.mobile.is_none() {
                    a.mobile = Some(normalize_mobile(&text));
                    fed(cx, "mobile");
                } else if a.landline.is_none() {
                    a.landline = Some(text);
                    fed(cx, "landline");
                } else {
                    append(&mut a.characteristics.notes, format!("{h}：{text}"));
                }
                return Ok(());
            }
            Field::Email => a.email = Some(text),
            Field::Address => append(&mut a.address, text),
            Field::PostalCode => a.postal_code = Some(text),
            Field::Region => {
                *region = Some((text, h));
                return Ok(());
            }
            Field::Status => a.status = parse_enum::<ArchiveStatus>(&text, h)?,
            Field::Template => a.template = Some(text),
            Field::CustomJson => match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(m)) => a.custom.extend(m),
                _ => return Err((format!("{h}应为JSON对象，如{{\"vin\":\"…\"}}"), format!("{h} must be a JSON object"))),
            },
            Field::OwnerId => a.owner_id = Some(int(cell, &[])?),
            Field::DeptId => a.dept_id = Some(int(cell, &[])?),
            Field::Tier => a.tier = parse_enum::<Tier>(&text, h)?,
            Field::Secrecy => a.secrecy = parse_enum::<Secrecy>(&text, h)?,
            Field::RetentionClass => a.retention_class = parse_enum::<RetentionClass>(&text, h)?,
            Field::Gender => {
                person_cols.push(h);
                p.gender = Some(parse_gender(&text).ok_or_else(|| (format!("{h}应为“男”或“女”"), format!("{h} must be 男 (male) or 女 (female)")))?);
            }
            Field::BirthDate => {
                person_cols.push(h);
                p.birth_date = Some(date(cell)?);
            }
            Field::IdType => {
                person_cols.push(h);
                p.id_type = Some(parse_enum::<IdType>(&text, h)?);
            }
            Field::IdNumber => {
                person_cols.push(h);
                p.id_number = Some(id_like(cell, h)?);
            }
            Field::Occupation => {
                person_cols.push(h);
                p.occupation = Some(text);
            }
            Field::Employer => {
                person_cols.push(h);
                p.employer = Some(text);
            }
            Field::Uscc => {
                org_cols.push(h);
                o.uscc = Some(id_like(cell, h)?);
            }
            Field::LegalRepresentative => {
                org_cols.push(h);
                o.legal_representative = Some(text);
            }
            Field::RegisteredCapital => {
                org_cols.push(h);
                o.registered_capital = Some(money(cell)?);
            }
            Field::FoundedOn => {
                org_cols.push(h);
                o.founded_on = Some(date(cell)?);
            }
            Field::OrganizationForm => {
                org_cols.push(h);
                o.organization_form = Some(text);
            }
            Field::Employees => {
                org_cols.push(h);
                o.employees = Some(int(cell, &["人", "名"])?);
            }
            Field::AnnualSales => {
                org_cols.push(h);
                o.annual_sales = Some(money(cell)?);
            }
            Field::BusinessScope => {
                org_cols.push(h);
                o.business_scope = Some(text);
            }
            Field::Industry => a.classification.industry = Some(text),
            Field::Province => a.classification.province = Some(text),
            Field::City => a.classification.city = Some(text),
            Field::District => a.classification.district = Some(text),
            Field::Nature => a.classification.nature = Some(text),
            Field::SourceChannel => a.classification.source_channel = Some(text),
            Field::Grade => a.classification.grade = Some(grade(&text, h)?),
            Field::Tags => a.classification.tags.extend(text.split([',', '，', '、', ';', '；', '|', '/', ' ', '\n']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)),
            Field::CreditGrade => a.credit.grade = Some(grade(&text, h)?),
            Field::CreditLimit => a.credit.limit = Some(money(cell)?),
            Field::PaymentTermDays => a.credit.payment_term_days = Some(i32::try_from(int(cell, &["天", "日"])?).map_err(|_| (format!("{h}超出允许范围"), format!("{h} is out of range")))?),
            Field::DiscountPercent => a.credit.discount_percent = Some(parse_discount(cell).ok_or_else(|| (format!("{h}应为1到100之间的整数，如95、95%或9.5折"), format!("{h} must be a percentage such as 95 or 95%")))?),
            Field::Blacklisted => a.credit.blacklisted = parse_bool(cell).ok_or_else(|| bad_bool(h))?,
            Field::BlacklistReason => a.credit.blacklist_reason = Some(text),
            Field::AssessedOn => a.credit.assessed_on = Some(date(cell)?),
            Field::ValidUntil => a.credit.valid_until = Some(date(cell)?),
            Field::ServiceArea => a.characteristics.service_area = Some(text),
            Field::SalesAbility => a.characteristics.sales_ability = Some(text),
            Field::DevelopmentPotential => a.characteristics.development_potential = Some(text),
            Field::BusinessPolicy => a.characteristics.business_policy = Some(text),
            Field::CooperationAttitude => a.characteristics.cooperation_attitude = Some(text),
            Field::BusinessStatus => a.characteristics.business_status = Some(text),
            Field::Notes => append(&mut a.characteristics.notes, text),
        }
        fed(cx, path);
        Ok(())
    }

    fn apply_custom<'a>(&self, cx: &mut Ctx<'a>, a: &mut ArchiveData, key: &str, cell: &Cell, text: String, h: &'a str) -> Result<(), Bad> {
        use serde_json::Value;
        let ty = self.template.as_deref().and_then(dangan_core::templates::find).and_then(|t| t.fields.iter().find(|f| f.key == key)).map(|f| f.ty);
        let v = match ty {
            Some(FieldType::Date) => Value::String(parse_date_cell(cell).ok_or_else(|| bad_date(h))?.format("%Y-%m-%d").to_string()),
            Some(FieldType::Integer) => Value::from(parse_int(cell, &[]).ok_or_else(|| (format!("{h}应为整数"), format!("{h} must be a whole number")))?),
            Some(FieldType::Money) => Value::String(parse_money_cell(cell).ok_or_else(|| (format!("{h}不是有效金额"), format!("{h} is not an amount")))?.to_string()),
            _ => Value::String(text),
        };
        a.custom.insert(key.to_string(), v);
        cx.fed.push((Fed::Custom(key.to_string()), h));
        Ok(())
    }
}

fn apply_contact<'a>(cx: &mut Ctx<'a>, c: &mut ContactData, n: u8, cf: ContactField, cell: &Cell, text: String, h: &'a str) -> Result<(), Bad> {
    let path = match cf {
        ContactField::Name => {
            c.name = text;
            "name"
        }
        ContactField::Title => {
            c.title = Some(text);
            "title"
        }
        ContactField::Mobile => {
            c.mobile = Some(text);
            "mobile"
        }
        ContactField::Landline => {
            c.landline = Some(text);
            "landline"
        }
        ContactField::Phone => {
            if dangan_core::validate::check_mobile(&text).is_ok() && c.mobile.is_none() {
                c.mobile = Some(text);
                "mobile"
            } else {
                c.landline = Some(text);
                "landline"
            }
        }
        ContactField::Email => {
            c.email = Some(text);
            "email"
        }
        ContactField::Wechat => {
            c.wechat = Some(text);
            "wechat"
        }
        ContactField::Birthday => {
            c.birthday = Some(parse_date_cell(cell).ok_or_else(|| bad_date(h))?);
            "birthday"
        }
        ContactField::Preferences => {
            c.preferences = Some(text);
            "preferences"
        }
        ContactField::IsPrimary => {
            c.is_primary = parse_bool(cell).ok_or_else(|| bad_bool(h))?;
            "is_primary"
        }
    };
    cx.fed.push((Fed::Contact(n, path), h));
    Ok(())
}

fn bad_date(h: &str) -> Bad {
    (format!("{h}不是有效日期，请按2023-03-04的格式填写"), format!("{h} is not a valid date; use the form 2023-03-04"))
}

fn bad_bool(h: &str) -> Bad {
    (format!("{h}应填“是”或“否”"), format!("{h} must be 是 (yes) or 否 (no)"))
}

fn grade(t: &str, h: &str) -> Result<Grade, Bad> {
    parse_grade(t).ok_or_else(|| (format!("{h}应为A、B、C、D之一（也可写A级或甲、乙、丙、丁）"), format!("{h} must be one of A, B, C, D")))
}

/// Enums with labels (`准客户`, `Prospect`, `prospect`): the error lists the Chinese choices.
trait Labelled: Sized + Copy + std::str::FromStr + 'static {
    fn all() -> &'static [Self];
    fn zh(self) -> &'static str;
}
macro_rules! labelled {
    ($($t:ty),*) => {$(
        impl Labelled for $t {
            fn all() -> &'static [Self] { <$t>::ALL }
            fn zh(self) -> &'static str { self.label("zh-CN") }
        }
    )*};
}
labelled!(ArchiveStatus, Tier, Secrecy, RetentionClass, IdType);

fn parse_enum<T: Labelled>(text: &str, h: &str) -> Result<T, Bad> {
    let t = text.trim();
    if let Ok(v) = t.parse::<T>() {
        return Ok(v);
    }
    let choices: Vec<&str> = T::all().iter().map(|v| v.zh()).collect();
    Err((format!("{h}的值“{t}”无法识别，可选：{}", choices.join("、")), format!("{h}: unknown value \"{t}\"")))
}

/// ID numbers and credit codes: text as is; a number cell of 16+ digits has lost its last digits
/// to Excel's 15-digit precision, which no check can repair.
fn id_like(c: &Cell, h: &str) -> Result<String, Bad> {
    match c {
        Cell::Number(n) if n.abs() >= 1e15 => Err((
            format!("{h}被Excel存成了数字，后几位已丢失；请把该列设为文本格式后重新填写"),
            format!("{h} was stored by Excel as a number and lost its last digits; format the column as text and type it again"),
        )),
        Cell::Number(n) => Ok(format_number(*n)),
        other => Ok(text_of(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }

    #[test]
    fn dates_in_every_form() {
        for s in ["2023-03-04", "2023/3/4", "2023.3.4", "2023年3月4日", "2023-03-04 00:00:00", "20230304", "44989", "２０２３－０３－０４"] {
            assert_eq!(parse_date_cell(&Cell::Text(s.into())), Some(d(2023, 3, 4)), "{s}");
        }
        assert_eq!(parse_date_cell(&Cell::Number(44989.0)), Some(d(2023, 3, 4)));
        assert_eq!(parse_date_cell(&Cell::Text("2023-02-30".into())), None);
        assert_eq!(parse_date_cell(&Cell::Text("明天".into())), None);
    }

    #[test]
    fn money_as_typed() {
        let m = |s: &str| parse_money(s).map(|m| m.0);
        assert_eq!(m("¥1,234.50"), Some(123450));
        assert_eq!(m("1.2万"), Some(1_200_000));
        assert_eq!(m("1.2万元"), Some(1_200_000));
        assert_eq!(m("3亿"), Some(30_000_000_000));
        assert_eq!(m("500元"), Some(50_000));
        assert_eq!(m("RMB 800"), Some(80_000));
        assert_eq!(m("１２３"), Some(12_300));
        assert_eq!(m("0.125"), Some(13));
        assert_eq!(m("abc"), None);
        assert_eq!(m(""), None);
        assert_eq!(m("1.2.3"), None);
        assert_eq!(parse_money_cell(&Cell::Number(1234.5)), Some(Money(123450)));
    }

    #[test]
    fn grades_kinds_bools() {
        for (s, g) in [("A", Grade::A), ("a", Grade::A), ("A级", Grade::A), ("B類", Grade::B), ("丙", Grade::C), ("丁等", Grade::D), ("Ｃ", Grade::C)] {
            assert_eq!(parse_grade(s), Some(g), "{s}");
        }
        assert_eq!(parse_grade("E"), None);
        assert_eq!(parse_kind("企业"), Some(CustomerKind::Organization));
        assert_eq!(parse_kind("个人"), Some(CustomerKind::Person));
        assert_eq!(parse_bool(&Cell::Text("是".into())), Some(true));
        assert_eq!(parse_bool(&Cell::Text("否".into())), Some(false));
        assert_eq!(parse_discount(&Cell::Text("9.5折".into())), Some(95));
        assert_eq!(parse_discount(&Cell::Text("95%".into())), Some(95));
        assert_eq!(parse_discount(&Cell::Number(0.9)), Some(90));
    }

    #[test]
    fn regions() {
        let s = |x: &str| split_region(x);
        assert_eq!(s("浙江省杭州市西湖区"), (Some("浙江省".into()), Some("杭州市".into()), Some("西湖区".into())));
        assert_eq!(s("浙江 杭州"), (Some("浙江省".into()), Some("杭州市".into()), None));
        assert_eq!(s("北京市朝阳区"), (Some("北京市".into()), Some("北京市".into()), Some("朝阳区".into())));
        assert_eq!(s("广西南宁市"), (Some("广西壮族自治区".into()), Some("南宁市".into()), None));
        assert_eq!(s("杭州市"), (None, Some("杭州市".into()), None));
    }

    fn mapping(headers: &[&str]) -> ColumnMapping {
        ColumnMapping::detect(&headers.iter().map(|s| s.to_string()).collect::<Vec<_>>(), None)
    }

    fn row(n: u32, cells: &[&str]) -> RawRow {
        RawRow { row: n, cells: cells.iter().map(|s| if s.is_empty() { Cell::Empty } else { Cell::Text(s.to_string()) }).collect() }
    }

    #[test]
    fn converts_an_organization_row() {
        let m = mapping(&["客户名称", "统一社会信用代码", "联系人", "联系人手机", "电话", "地区", "客户等级", "信用额度", "成立日期"]);
        let conv = Converter::new(&m);
        let r = conv.convert(&row(3, &["杭州华星建材有限公司", "91330100MA2H3K7Q42", "张伟", "+86 138-0013-8000", "0571-88886666", "浙江杭州", "A级", "1.2万", "2015年6月1日"])).unwrap();
        assert_eq!(r.archive.kind, CustomerKind::Organization);
        assert_eq!(r.archive.uscc(), Some("91330100MA2H3K7Q42"));
        assert_eq!(r.archive.landline.as_deref(), Some("0571-88886666"));
        assert_eq!(r.archive.classification.city.as_deref(), Some("杭州市"));
        assert_eq!(r.archive.classification.grade, Some(Grade::A));
        assert_eq!(r.archive.credit.limit, Some(Money(1_200_000)));
        assert_eq!(r.archive.organization.as_ref().unwrap().founded_on, Some(d(2015, 6, 1)));
        assert_eq!(r.contacts.len(), 1);
        assert_eq!(r.contacts[0].mobile.as_deref(), Some("13800138000"));
    }

    #[test]
    fn reports_every_problem_with_row_and_column() {
        let m = mapping(&["客户名称", "身份证号", "手机", "生日", "客户等级", "邮箱"]);
        let conv = Converter::new(&m);
        let errs = conv.convert(&row(7, &["王芳", "110101199003074478", "1380013800", "2023-02-30", "E", "wang@qq"])).unwrap_err();
        let got: Vec<(u32, &str, &str)> = errs.iter().map(|e| (e.row, e.column.as_str(), e.message_zh.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (7, "生日", "生日不是有效日期，请按2023-03-04的格式填写"),
                (7, "客户等级", "客户等级应为A、B、C、D之一（也可写A级或甲、乙、丙、丁）"),
                (7, "手机", "手机号码格式不正确，应为11位大陆手机号"),
                (7, "邮箱", "电子邮箱格式不正确，如name@example.com"),
                (7, "身份证号", "身份证号码校验位错误"),
            ]
        );
        assert_eq!(errs[2].value, "1380013800");
        let errs = conv.convert(&row(8, &["", "", "13800138000"])).unwrap_err();
        assert_eq!((errs[0].column.as_str(), errs[0].message_zh.as_str()), ("客户名称", "名称不能为空"));
    }

    #[test]
    fn id_numbers_mangled_by_excel_are_caught() {
        let m = mapping(&["姓名", "身份证号"]);
        let r = RawRow { row: 2, cells: vec![Cell::Text("李娜".into()), Cell::Number(1.1010519491231e17)] };
        let errs = Converter::new(&m).convert(&r).unwrap_err();
        assert!(errs[0].message_zh.contains("存成了数字"), "{errs:?}");
    }

    #[test]
    fn kind_is_inferred() {
        let m = mapping(&["名称"]);
        let c = Converter::new(&m);
        assert_eq!(c.convert(&row(2, &["张伟"])).unwrap().archive.kind, CustomerKind::Person);
        assert_eq!(c.convert(&row(2, &["华星建材厂"])).unwrap().archive.kind, CustomerKind::Organization);
        let m = mapping(&["名称", "身份证号", "统一社会信用代码"]);
        let errs = Converter::new(&m).convert(&row(2, &["张伟", "", "91330100MA2H3K7Q42"])).unwrap();
        assert_eq!(errs.archive.kind, CustomerKind::Organization);
        let m = mapping(&["名称", "类型", "统一社会信用代码"]);
        let errs = Converter::new(&m).convert(&row(2, &["张伟", "个人", "91330100MA2H3K7Q42"])).unwrap_err();
        assert!(errs[0].message_zh.contains("只适用于单位客户"), "{errs:?}");
    }
}
