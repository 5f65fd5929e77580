//! Writers for archive lists: CSV (UTF-8 with BOM, or GB18030/GBK for old Excel) and xlsx
//! (rust_xlsxwriter in constant-memory mode: rows go to a temporary file as they come, so a
//! million-row export does not sit in memory), with the columns chosen by a `ColumnSet`.
//! The headers written are the ones the importer recognizes, so an export imports back.
//!
//! Also the error report: the rows of a dry run that failed, as they were in the file, plus an
//! error column with the Chinese messages and the original row number. The user fixes the
//! cells and imports the report itself; the importer ignores the two extra columns.

use std::io::Write;

use chrono::NaiveDate;
use dangan_core::model::{ArchiveData, ContactData, Money};
use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, XlsxError};
use serde::{Deserialize, Serialize};

use crate::cell::{Cell, RawRow};
use crate::convert::RowError;
use crate::mapping::{ContactField, Field, Target, MAX_CONTACTS};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("xlsx error: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("more rows than an Excel worksheet holds (1,048,576)")]
    TooManyRows,
}

/// One exported column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportColumn {
    pub target: Target,
    pub header_zh: String,
    pub header_en: String,
}

/// The columns of an export, in order; serializable so a user's choice can be saved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnSet {
    /// Write the archive number (档号) as the first column.
    #[serde(default)]
    pub archive_no: bool,
    pub columns: Vec<ExportColumn>,
    /// `zh` (default) or `en`: header language and enum labels.
    #[serde(default = "default_lang")]
    pub lang: String,
}

fn default_lang() -> String {
    "zh".into()
}

impl ColumnSet {
    pub fn from_targets(targets: impl IntoIterator<Item = Target>) -> ColumnSet {
        let columns = targets.into_iter().map(|t| ExportColumn { header_zh: t.label("zh"), header_en: t.label("en"), target: t }).collect();
        ColumnSet { archive_no: true, columns, lang: default_lang() }
    }

    /// The columns of the 客户归类汇总表 and the usual list: name, type, contact, phones,
    /// address, region, industry, grades, credit limit, notes.
    pub fn standard() -> ColumnSet {
        use Field::*;
        let mut t: Vec<Target> = [Name, Kind, Mobile, Landline, Email, Address, Province, City, Industry, Grade, CreditGrade, CreditLimit, Status, Notes].into_iter().map(Target::Field).collect();
        t.insert(2, Target::Contact(0, ContactField::Name));
        ColumnSet::from_targets(t)
    }

    /// Every field Dangan stores on an archive and `contacts` contacts: a lossless export.
    pub fn full(contacts: u8) -> ColumnSet {
        let mut t: Vec<Target> = Field::all().filter(|f| !matches!(f, Field::Phone | Field::Region)).map(Target::Field).collect();
        for n in 0..contacts.min(MAX_CONTACTS) {
            t.extend(ContactField::all().filter(|f| *f != ContactField::Phone).map(|f| Target::Contact(n, f)));
        }
        ColumnSet::from_targets(t)
    }

    pub fn headers(&self) -> Vec<String> {
        let en = self.lang.starts_with("en");
        let mut v = Vec::with_capacity(self.columns.len() + 1);
        if self.archive_no {
            v.push(if en { "Archive no." } else { "档号" }.to_string());
        }
        v.extend(self.columns.iter().map(|c| if en { c.header_en.clone() } else { c.header_zh.clone() }));
        v
    }

    /// The values of one archive in column order.
    pub fn values(&self, archive_no: Option<&str>, a: &ArchiveData, contacts: &[ContactData]) -> Vec<Value> {
        let en = self.lang.starts_with("en");
        let mut v = Vec::with_capacity(self.columns.len() + 1);
        if self.archive_no {
            v.push(archive_no.map(|s| Value::Text(s.to_string())).unwrap_or(Value::Empty));
        }
        v.extend(self.columns.iter().map(|c| value_of(&c.target, a, contacts, en)));
        v
    }
}

/// A typed export value (xlsx keeps numbers, money and dates typed; CSV writes them as text).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Empty,
    Text(String),
    Int(i64),
    Money(Money),
    Date(NaiveDate),
}

impl Value {
    pub fn to_text(&self) -> String {
        match self {
            Value::Empty => String::new(),
            Value::Text(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Money(m) => m.to_string(),
            Value::Date(d) => d.format("%Y-%m-%d").to_string(),
        }
    }
}

fn t(o: &Option<String>) -> Value {
    o.as_ref().map(|s| Value::Text(s.clone())).unwrap_or(Value::Empty)
}
fn d(o: Option<NaiveDate>) -> Value {
    o.map(Value::Date).unwrap_or(Value::Empty)
}
fn m(o: Option<Money>) -> Value {
    o.map(Value::Money).unwrap_or(Value::Empty)
}
fn i(o: Option<i64>) -> Value {
    o.map(Value::Int).unwrap_or(Value::Empty)
}
fn yes_no(b: bool, en: bool) -> Value {
    Value::Text(match (b, en) {
        (true, false) => "是",
        (false, false) => "否",
        (true, true) => "Yes",
        (false, true) => "No",
    }
    .into())
}

fn value_of(target: &Target, a: &ArchiveData, contacts: &[ContactData], en: bool) -> Value {
    let lang = if en { "en" } else { "zh-CN" };
    let p = a.person.as_ref();
    let o = a.organization.as_ref();
    let c = &a.classification;
    let cr = &a.credit;
    let ch = &a.characteristics;
    match target {
        Target::Field(f) => match f {
            Field::Kind => Value::Text(a.kind.label(lang).into()),
            Field::Name => Value::Text(a.name.clone()),
            Field::Mobile => t(&a.mobile),
            Field::Landline => t(&a.landline),
            Field::Phone => t(if a.mobile.is_some() { &a.mobile } else { &a.landline }),
            Field::Email => t(&a.email),
            Field::Address => t(&a.address),
            Field::PostalCode => t(&a.postal_code),
            Field::Region => {
                // 北京市 is province and city at once: write it once.
                let city = c.city.as_deref().filter(|ct| Some(*ct) != c.province.as_deref());
                let parts: Vec<&str> = [c.province.as_deref(), city, c.district.as_deref()].into_iter().flatten().collect();
                if parts.is_empty() {
                    Value::Empty
                } else {
                    Value::Text(parts.join(" "))
                }
            }
            Field::Status => Value::Text(a.status.label(lang).into()),
            Field::Template => t(&a.template),
            Field::CustomJson => {
                if a.custom.is_empty() {
                    Value::Empty
                } else {
                    Value::Text(serde_json::to_string(&a.custom).unwrap_or_default())
                }
            }
            Field::OwnerId => i(a.owner_id),
            Field::DeptId => i(a.dept_id),
            Field::Tier => Value::Text(a.tier.label(lang).into()),
            Field::Secrecy => Value::Text(a.secrecy.label(lang).into()),
            Field::RetentionClass => Value::Text(a.retention_class.label(lang).into()),
            Field::Gender => p.and_then(|p| p.gender).map(|g| Value::Text(g.label(lang).into())).unwrap_or(Value::Empty),
            Field::BirthDate => d(p.and_then(|p| p.birth_date)),
            Field::IdType => p.and_then(|p| p.id_type).map(|g| Value::Text(g.label(lang).into())).unwrap_or(Value::Empty),
            Field::IdNumber => p.map(|p| t(&p.id_number)).unwrap_or(Value::Empty),
            Field::Occupation => p.map(|p| t(&p.occupation)).unwrap_or(Value::Empty),
            Field::Employer => p.map(|p| t(&p.employer)).unwrap_or(Value::Empty),
            Field::Uscc => o.map(|o| t(&o.uscc)).unwrap_or(Value::Empty),
            Field::LegalRepresentative => o.map(|o| t(&o.legal_representative)).unwrap_or(Value::Empty),
            Field::RegisteredCapital => m(o.and_then(|o| o.registered_capital)),
            Field::FoundedOn => d(o.and_then(|o| o.founded_on)),
            Field::OrganizationForm => o.map(|o| t(&o.organization_form)).unwrap_or(Value::Empty),
            Field::Employees => i(o.and_then(|o| o.employees)),
            Field::AnnualSales => m(o.and_then(|o| o.annual_sales)),
            Field::BusinessScope => o.map(|o| t(&o.business_scope)).unwrap_or(Value::Empty),
            Field::Industry => t(&c.industry),
            Field::Province => t(&c.province),
            Field::City => t(&c.city),
            Field::District => t(&c.district),
            Field::Nature => t(&c.nature),
            Field::SourceChannel => t(&c.source_channel),
            Field::Grade => c.grade.map(|g| Value::Text(g.as_str().into())).unwrap_or(Value::Empty),
            Field::Tags => {
                if c.tags.is_empty() {
                    Value::Empty
                } else {
                    Value::Text(c.tags.join("、"))
                }
            }
            Field::CreditGrade => cr.grade.map(|g| Value::Text(g.as_str().into())).unwrap_or(Value::Empty),
            Field::CreditLimit => m(cr.limit),
            Field::PaymentTermDays => i(cr.payment_term_days.map(i64::from)),
            Field::DiscountPercent => i(cr.discount_percent.map(i64::from)),
            Field::Blacklisted => yes_no(cr.blacklisted, en),
            Field::BlacklistReason => t(&cr.blacklist_reason),
            Field::AssessedOn => d(cr.assessed_on),
            Field::ValidUntil => d(cr.valid_until),
            Field::ServiceArea => t(&ch.service_area),
            Field::SalesAbility => t(&ch.sales_ability),
            Field::DevelopmentPotential => t(&ch.development_potential),
            Field::BusinessPolicy => t(&ch.business_policy),
            Field::CooperationAttitude => t(&ch.cooperation_attitude),
            Field::BusinessStatus => t(&ch.business_status),
            Field::Notes => t(&ch.notes),
        },
        Target::Contact(n, cf) => match contacts.get(*n as usize) {
            None => Value::Empty,
            Some(k) => match cf {
                ContactField::Name => Value::Text(k.name.clone()),
                ContactField::Title => t(&k.title),
                ContactField::Mobile => t(&k.mobile),
                ContactField::Landline => t(&k.landline),
                ContactField::Phone => t(if k.mobile.is_some() { &k.mobile } else { &k.landline }),
                ContactField::Email => t(&k.email),
                ContactField::Wechat => t(&k.wechat),
                ContactField::Birthday => d(k.birthday),
                ContactField::Preferences => t(&k.preferences),
                ContactField::IsPrimary => yes_no(k.is_primary, en),
            },
        },
        Target::Custom(key) => match a.custom.get(key) {
            None | Some(serde_json::Value::Null) => Value::Empty,
            Some(serde_json::Value::String(s)) => Value::Text(s.clone()),
            Some(serde_json::Value::Number(n)) => n.as_i64().map(Value::Int).unwrap_or_else(|| Value::Text(n.to_string())),
            Some(other) => Value::Text(other.to_string()),
        },
        Target::Ignore => Value::Empty,
    }
}

// ---------------------------------------------------------------------------------------------
// CSV
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsvEncoding {
    /// UTF-8 with a BOM, so Excel recognizes it.
    Utf8Bom,
    /// GB18030, byte-identical to GBK for every GBK character (what "ANSI" Excel on a Chinese
    /// Windows reads); characters outside GBK are kept rather than lost.
    Gbk,
}

/// Streams archives into CSV, one record at a time (RFC 4180 quoting, CRLF line ends).
pub struct CsvExporter<W: Write> {
    out: W,
    line: String,
    encoding: CsvEncoding,
    columns: ColumnSet,
    rows: u64,
}

fn push_csv_field(line: &mut String, f: &str) {
    if f.contains([',', '"', '\r', '\n']) || f.starts_with(' ') || f.ends_with(' ') {
        line.push('"');
        line.push_str(&f.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(f);
    }
}

impl<W: Write> CsvExporter<W> {
    pub fn new(mut out: W, columns: ColumnSet, encoding: CsvEncoding) -> Result<Self, WriteError> {
        if encoding == CsvEncoding::Utf8Bom {
            out.write_all(b"\xEF\xBB\xBF")?;
        }
        let mut e = CsvExporter { out, line: String::with_capacity(1024), encoding, columns, rows: 0 };
        let h = e.columns.headers();
        e.write_fields(h.iter().map(String::as_str))?;
        Ok(e)
    }

    fn write_fields<'a>(&mut self, fields: impl Iterator<Item = &'a str>) -> Result<(), WriteError> {
        self.line.clear();
        for (i, f) in fields.enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            push_csv_field(&mut self.line, f);
        }
        self.line.push_str("\r\n");
        match self.encoding {
            CsvEncoding::Utf8Bom => self.out.write_all(self.line.as_bytes())?,
            CsvEncoding::Gbk => {
                let (enc, _, _) = encoding_rs::GB18030.encode(&self.line);
                self.out.write_all(&enc)?;
            }
        }
        Ok(())
    }

    pub fn write(&mut self, archive_no: Option<&str>, a: &ArchiveData, contacts: &[ContactData]) -> Result<(), WriteError> {
        let vals: Vec<String> = self.columns.values(archive_no, a, contacts).iter().map(Value::to_text).collect();
        self.write_fields(vals.iter().map(String::as_str))?;
        self.rows += 1;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn finish(mut self) -> Result<W, WriteError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

// ---------------------------------------------------------------------------------------------
// XLSX
// ---------------------------------------------------------------------------------------------

const EXCEL_MAX_ROWS: u32 = 1_048_576;

/// Excel's serial number for a date (1900 date system); `None` before 1900-03-01, where the
/// phantom 1900-02-29 makes serials ambiguous (such dates are written as text).
pub fn excel_serial(d: NaiveDate) -> Option<f64> {
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?;
    let first = NaiveDate::from_ymd_opt(1900, 3, 1)?;
    (d >= first).then(|| (d - base).num_days() as f64)
}

struct Formats {
    header: Format,
    date: Format,
    money: Format,
    text: Format,
}

fn formats() -> Formats {
    Formats {
        header: Format::new().set_bold().set_background_color(Color::RGB(0xDDEBF7)).set_border(FormatBorder::Thin),
        date: Format::new().set_num_format("yyyy-mm-dd"),
        money: Format::new().set_num_format("#,##0.00"),
        // Text format ("@") so that a user typing into the cell keeps digits as text.
        text: Format::new().set_num_format("@"),
    }
}

/// Streams archives into an xlsx workbook (one worksheet, constant memory).
pub struct XlsxExporter {
    wb: Workbook,
    f: Formats,
    row: u32,
    columns: ColumnSet,
}

impl XlsxExporter {
    pub fn new(columns: ColumnSet, sheet_name: &str) -> Result<Self, WriteError> {
        let mut wb = Workbook::new();
        let f = formats();
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(sheet_name)?;
        let headers = columns.headers();
        for (c, h) in headers.iter().enumerate() {
            let width = (h.chars().map(|ch| if ch.is_ascii() { 1.1 } else { 2.1 }).sum::<f64>() + 2.0).clamp(8.0, 40.0);
            ws.set_column_width(c as u16, width)?;
        }
        ws.set_freeze_panes(1, 0)?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, h, &f.header)?;
        }
        Ok(XlsxExporter { wb, f, row: 1, columns })
    }

    pub fn write(&mut self, archive_no: Option<&str>, a: &ArchiveData, contacts: &[ContactData]) -> Result<(), WriteError> {
        if self.row >= EXCEL_MAX_ROWS {
            return Err(WriteError::TooManyRows);
        }
        let vals = self.columns.values(archive_no, a, contacts);
        let ws = self.wb.worksheet_from_index(0)?;
        for (c, v) in vals.iter().enumerate() {
            let c = c as u16;
            match v {
                Value::Empty => {}
                Value::Text(s) => {
                    ws.write_string_with_format(self.row, c, s, &self.f.text)?;
                }
                Value::Int(n) => {
                    ws.write_number(self.row, c, *n as f64)?;
                }
                Value::Money(m) => {
                    ws.write_number_with_format(self.row, c, m.0 as f64 / 100.0, &self.f.money)?;
                }
                Value::Date(d) => match excel_serial(*d) {
                    Some(n) => {
                        ws.write_number_with_format(self.row, c, n, &self.f.date)?;
                    }
                    None => {
                        ws.write_string(self.row, c, d.format("%Y-%m-%d").to_string())?;
                    }
                },
            }
        }
        self.row += 1;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        u64::from(self.row - 1)
    }

    /// The finished workbook's bytes.
    pub fn finish(mut self) -> Result<Vec<u8>, WriteError> {
        Ok(self.wb.save_to_buffer()?)
    }

    /// Writes the finished workbook to a file or any seekable writer.
    pub fn finish_to<W: Write + std::io::Seek + Send>(mut self, out: W) -> Result<(), WriteError> {
        Ok(self.wb.save_to_writer(out)?)
    }
}

// ---------------------------------------------------------------------------------------------
// Error report
// ---------------------------------------------------------------------------------------------

/// Header of the error column; the importer maps it to `Target::Ignore`.
pub const ERROR_COLUMN: &str = "错误说明";
/// Header of the original row number column; also ignored on import.
pub const SOURCE_ROW_COLUMN: &str = "原行号";

/// The rows that failed, as they were, plus what is wrong with them. See the module docs.
pub struct ErrorReport {
    wb: Workbook,
    f: Formats,
    bad: Format,
    note: Format,
    row: u32,
    headers: Vec<String>,
    err_col: u16,
}

impl ErrorReport {
    /// `top`: the title rows and header row(s) as read (`Table::preamble` + `Table::header_rows`);
    /// `headers`: the column texts (`Table::header().texts`) used to find the cells to mark.
    pub fn new(top: &[RawRow], header_rows: &[RawRow], headers: &[String]) -> Result<Self, WriteError> {
        let mut wb = Workbook::new();
        let f = formats();
        let bad = Format::new().set_background_color(Color::RGB(0xFFC7CE)).set_font_color(Color::RGB(0x9C0006));
        let note = Format::new().set_font_color(Color::RGB(0xC00000)).set_text_wrap();
        let width = top.iter().chain(header_rows).map(|r| r.cells.len()).max().unwrap_or(0).max(headers.len());
        let err_col = width.min(16_000) as u16;
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name("错误报告")?;
        ws.set_column_width(err_col, 60)?;
        let mut me = ErrorReport { wb, f, bad, note, row: 0, headers: headers.to_vec(), err_col };
        for r in top {
            me.write_cells(&r.cells, &[])?;
            me.row += 1;
        }
        for r in header_rows {
            let ws = me.wb.worksheet_from_index(0)?;
            for (c, cell) in r.cells.iter().enumerate().take(me.err_col as usize) {
                if !cell.is_empty() {
                    ws.write_string_with_format(me.row, c as u16, cell.display(), &me.f.header)?;
                }
            }
            ws.write_string_with_format(me.row, me.err_col, ERROR_COLUMN, &me.f.header)?;
            ws.write_string_with_format(me.row, me.err_col + 1, SOURCE_ROW_COLUMN, &me.f.header)?;
            me.row += 1;
        }
        Ok(me)
    }

    fn write_cells(&mut self, cells: &[Cell], bad_cols: &[usize]) -> Result<(), WriteError> {
        let ws = self.wb.worksheet_from_index(0)?;
        for (c, cell) in cells.iter().enumerate().take(self.err_col as usize) {
            let col = c as u16;
            let is_bad = bad_cols.contains(&c);
            let fmt = if is_bad { Some(&self.bad) } else { None };
            match cell {
                Cell::Empty => {
                    if let Some(fm) = fmt {
                        ws.write_blank(self.row, col, fm)?;
                    }
                }
                Cell::Text(s) | Cell::Error(s) => {
                    ws.write_string_with_format(self.row, col, s, fmt.unwrap_or(&self.f.text))?;
                }
                Cell::Number(n) => {
                    match fmt {
                        Some(fm) => ws.write_number_with_format(self.row, col, *n, fm)?,
                        None => ws.write_number(self.row, col, *n)?,
                    };
                }
                Cell::Bool(b) => {
                    ws.write_boolean(self.row, col, *b)?;
                }
                Cell::Date(d) => match excel_serial(*d) {
                    Some(n) => {
                        let fm = if is_bad { self.bad.clone().set_num_format("yyyy-mm-dd") } else { self.f.date.clone() };
                        ws.write_number_with_format(self.row, col, n, &fm)?;
                    }
                    None => {
                        ws.write_string(self.row, col, d.format("%Y-%m-%d").to_string())?;
                    }
                },
            }
        }
        for &c in bad_cols {
            if c >= cells.len() && c < self.err_col as usize {
                ws.write_blank(self.row, c as u16, &self.bad)?;
            }
        }
        Ok(())
    }

    /// Adds a failed row with its errors (messages in Chinese, joined with "；").
    pub fn add(&mut self, raw: &RawRow, errors: &[RowError]) -> Result<(), WriteError> {
        if self.row >= EXCEL_MAX_ROWS {
            return Err(WriteError::TooManyRows);
        }
        let bad_cols: Vec<usize> = errors.iter().filter_map(|e| self.headers.iter().position(|h| !e.column.is_empty() && *h == e.column)).collect();
        self.write_cells(&raw.cells, &bad_cols)?;
        let msg = errors.iter().map(|e| e.message_zh.as_str()).collect::<Vec<_>>().join("；");
        let ws = self.wb.worksheet_from_index(0)?;
        ws.write_string_with_format(self.row, self.err_col, msg, &self.note)?;
        ws.write_number(self.row, self.err_col + 1, f64::from(raw.row))?;
        self.row += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, WriteError> {
        Ok(self.wb.save_to_buffer()?)
    }
}
