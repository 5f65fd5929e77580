//! A table = a row source whose header has been found. The header detector skips title rows
//! (`客户归类汇总表`, `制表日期：…`) and understands two-level headers whose upper cells are
//! merged over several columns (`联系方式` over `手机 | 电话`, `联系人` over `姓名 | 手机`): a
//! merged cell's value sits in its first column only, so the upper row is filled rightwards
//! over the columns that have a lower header.

use std::collections::{HashSet, VecDeque};
use std::io::{Read, Seek};

use crate::cell::{Cell, RawRow};
use crate::csv_read::{read_csv, CsvOptions};
use crate::error::ReadError;
use crate::excel::{read_xls, read_xlsx};
use crate::mapping::{recognize, ColumnMapping};

/// Any row stream: CSV, xlsx, xls.
pub type RowSource = Box<dyn Iterator<Item = Result<RawRow, ReadError>> + Send>;

/// How many non-blank rows are searched for the header.
pub const HEADER_SCAN_ROWS: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Csv,
    Xlsx,
    Xls,
    VCard,
}

impl FileKind {
    /// From the first bytes of the file (magic numbers), falling back to the file name's
    /// extension; anything else is taken for CSV.
    pub fn sniff(first_bytes: &[u8], file_name: Option<&str>) -> FileKind {
        if first_bytes.starts_with(b"PK\x03\x04") {
            return FileKind::Xlsx;
        }
        if first_bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            return FileKind::Xls;
        }
        let t = first_bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(first_bytes);
        let start = t.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(t.len());
        if t[start..].len() >= 11 && t[start..start + 11].eq_ignore_ascii_case(b"BEGIN:VCARD") {
            return FileKind::VCard;
        }
        let ext = file_name.and_then(|n| n.rsplit_once('.')).map(|(_, e)| e.to_ascii_lowercase());
        match ext.as_deref() {
            Some("vcf") | Some("vcard") => FileKind::VCard,
            _ => FileKind::Csv,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    pub csv: CsvOptions,
    /// Worksheet name (first sheet if `None`).
    pub sheet: Option<String>,
    /// Force the header row (1-based); detected if `None`.
    pub header_row: Option<u32>,
    /// Industry template whose field labels count as known headers.
    pub template: Option<String>,
}

/// Opens a tabular file (CSV, xlsx, xls) as a row stream. vCards are not tables: see `vcard`.
pub fn open_rows<R: Read + Seek + Send + 'static>(input: R, kind: FileKind, opts: &ReadOptions) -> Result<RowSource, ReadError> {
    Ok(match kind {
        FileKind::Csv => Box::new(read_csv(input, &opts.csv)?),
        FileKind::Xlsx => Box::new(read_xlsx(input, opts.sheet.as_deref())?),
        FileKind::Xls => Box::new(read_xls(input, opts.sheet.as_deref())?),
        FileKind::VCard => return Err(ReadError::UnknownFormat),
    })
}

/// About how many rows a file holds, cheaply, before it is read: the lines of a CSV (a quoted
/// cell spanning lines counts more than once), the rows an xlsx sheet declares (at most one per 8
/// bytes of the file); `None` for `.xls`
/// and vCards (read whole anyway, and small by format or in practice). For sizing and a progress
/// bar's length only; the import counts the rows it reads.
pub fn row_count_hint<R: Read + Seek>(mut input: R, kind: FileKind, opts: &ReadOptions) -> Result<Option<u64>, ReadError> {
    match kind {
        FileKind::Csv => {
            let mut buf = vec![0u8; 1 << 20];
            let (mut lines, mut last) = (0u64, b'\n');
            loop {
                let n = input.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
                last = buf[n - 1];
            }
            Ok(Some(lines + u64::from(last != b'\n')))
        }
        FileKind::Xlsx => {
            // A sheet may declare far more rows than it holds (formatting applied down to row
            // 1,048,576); no row of a real xlsx takes fewer than a few bytes compressed.
            let size = input.seek(std::io::SeekFrom::End(0))?;
            input.seek(std::io::SeekFrom::Start(0))?;
            Ok(crate::excel::xlsx_declared_rows(input, opts.sheet.as_deref())?.map(|rows| rows.min(size / 8)))
        }
        FileKind::Xls | FileKind::VCard => Ok(None),
    }
}

/// Opens a tabular file and finds its header: `open_rows` + `Table::new`.
pub fn open_table<R: Read + Seek + Send + 'static>(input: R, kind: FileKind, opts: &ReadOptions) -> Result<Table, ReadError> {
    Table::new(open_rows(input, kind, opts)?, opts)
}

/// The header: the row(s) it spans and the text of each column.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Header {
    /// 1-based row numbers (one, or two for a two-level header).
    pub rows: Vec<u32>,
    /// Column texts; for a two-level header `upper/lower` (`联系方式/手机`).
    pub texts: Vec<String>,
}

/// A row source positioned after its header; iterating yields the data rows (blank rows skipped).
pub struct Table {
    header: Header,
    /// Rows before the header (title rows), kept for an error report that reproduces the file.
    preamble: Vec<RawRow>,
    header_rows: Vec<RawRow>,
    pending: VecDeque<RawRow>,
    source: RowSource,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table").field("header", &self.header).finish()
    }
}

fn header_text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.trim().replace(['\r', '\n'], ""),
        _ => String::new(),
    }
}

fn single_texts(r: &RawRow) -> Vec<String> {
    r.cells.iter().map(header_text).collect()
}

/// Combines an upper (group) row with a lower row, filling merged group cells rightwards.
fn pair_texts(upper: &RawRow, lower: &RawRow) -> Vec<String> {
    let n = upper.cells.len().max(lower.cells.len());
    let mut out = Vec::with_capacity(n);
    let mut group = String::new();
    for c in 0..n {
        let u = header_text(upper.get(c));
        let l = header_text(lower.get(c));
        if !u.is_empty() {
            group = u.clone();
        } else if l.is_empty() {
            group.clear();
        }
        let up = if u.is_empty() { group.clone() } else { u };
        out.push(match (up.is_empty(), l.is_empty()) {
            (_, true) => up,
            (true, false) => l,
            (false, false) => format!("{up}/{l}"),
        });
    }
    out
}

/// Recognizes a (possibly combined) header text: the whole, then the lower part, then the upper.
pub(crate) fn recognize_combined(text: &str, template: Option<&str>) -> Option<crate::mapping::Target> {
    if let Some((u, l)) = text.split_once('/') {
        let whole = format!("{u}{l}");
        recognize(&whole, template).or_else(|| recognize(l, template)).or_else(|| recognize(u, template)).or_else(|| recognize(text, template))
    } else {
        recognize(text, template)
    }
}

fn score(texts: &[String], template: Option<&str>) -> usize {
    let set: HashSet<_> = texts.iter().filter(|t| !t.is_empty()).filter_map(|t| recognize_combined(t, template)).collect();
    set.len()
}

impl Table {
    /// Reads rows until the header is found (at most `HEADER_SCAN_ROWS` non-blank rows).
    pub fn new(mut source: RowSource, opts: &ReadOptions) -> Result<Table, ReadError> {
        let template = opts.template.as_deref();
        let mut buf: Vec<RawRow> = Vec::new();
        while buf.len() < HEADER_SCAN_ROWS + 1 {
            match source.next() {
                None => break,
                Some(Err(e)) => return Err(e),
                Some(Ok(r)) => {
                    if opts.header_row.is_some_and(|h| r.row > h) && buf.iter().any(|b| Some(b.row) == opts.header_row) {
                        buf.push(r);
                        break;
                    }
                    if !r.is_blank() {
                        buf.push(r);
                    }
                }
            }
        }
        let (first, count, texts) = match opts.header_row {
            Some(h) => {
                let i = buf.iter().position(|r| r.row == h).ok_or(ReadError::HeaderNotFound(h as usize))?;
                (i, 1, single_texts(&buf[i]))
            }
            None => Self::find_header(&buf, template).ok_or(ReadError::HeaderNotFound(HEADER_SCAN_ROWS))?,
        };
        let mut rest: VecDeque<RawRow> = buf.into_iter().collect();
        let preamble: Vec<RawRow> = rest.drain(..first).collect();
        let header_rows: Vec<RawRow> = rest.drain(..count).collect();
        let header = Header { rows: header_rows.iter().map(|r| r.row).collect(), texts };
        Ok(Table { header, preamble, header_rows, pending: rest, source })
    }

    fn find_header(buf: &[RawRow], template: Option<&str>) -> Option<(usize, usize, Vec<String>)> {
        let singles: Vec<usize> = buf.iter().take(HEADER_SCAN_ROWS).map(|r| score(&single_texts(r), template)).collect();
        for i in 0..singles.len() {
            let s1 = singles[i];
            let pair = buf.get(i + 1).filter(|n| n.row == buf[i].row + 1).map(|n| pair_texts(&buf[i], n));
            let s2 = pair.as_ref().map_or(0, |p| score(p, template));
            let next = singles.get(i + 1).copied().unwrap_or(0);
            if s2 >= 2 && s2 > s1 && s2 > next {
                return pair.map(|p| (i, 2, p));
            }
            if s1 >= 2 {
                return Some((i, 1, single_texts(&buf[i])));
            }
        }
        // A one-column file ("客户名称" and names below it).
        singles.iter().position(|&s| s == 1).map(|i| (i, 1, single_texts(&buf[i])))
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The header's rows as read (for an error report that reproduces the file's top).
    pub fn header_rows(&self) -> &[RawRow] {
        &self.header_rows
    }

    /// Title rows above the header.
    pub fn preamble(&self) -> &[RawRow] {
        &self.preamble
    }

    /// The mapping recognized from the header.
    pub fn detect_mapping(&self, template: Option<&str>) -> ColumnMapping {
        let mut m = ColumnMapping::detect(&self.header.texts, template);
        // Two-level headers: recognize on the combined text.
        for c in &mut m.columns {
            if c.target.is_none() && c.header.contains('/') {
                c.target = recognize_combined(&c.header, template);
            }
        }
        m
    }
}

impl Iterator for Table {
    type Item = Result<RawRow, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let r = match self.pending.pop_front() {
                Some(r) => Ok(r),
                None => self.source.next()?,
            };
            match r {
                Ok(r) if r.is_blank() => continue,
                other => return Some(other),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u32, cells: &[&str]) -> RawRow {
        RawRow { row: n, cells: cells.iter().map(|s| if s.is_empty() { Cell::Empty } else { Cell::Text(s.to_string()) }).collect() }
    }

    fn table(rows: Vec<RawRow>) -> Table {
        Table::new(Box::new(rows.into_iter().map(Ok)), &ReadOptions::default()).unwrap()
    }

    #[test]
    fn skips_title_rows() {
        let t = table(vec![
            row(1, &["客户归类汇总表"]),
            row(2, &["制表单位：销售部", "", "制表日期：2024-01-05"]),
            row(4, &["序号", "客户名称", "联系人", "手机"]),
            row(5, &["1", "杭州华星建材有限公司", "张伟", "13800138000"]),
        ]);
        assert_eq!(t.header().rows, vec![4]);
        assert_eq!(t.preamble().len(), 2);
        let rows: Vec<_> = t.map(|r| r.unwrap().row).collect();
        assert_eq!(rows, vec![5]);
    }

    #[test]
    fn two_level_header_with_merged_groups() {
        let t = table(vec![
            row(1, &["客户资料"]),
            row(2, &["客户名称", "联系人", "", "联系方式", "", "地址"]),
            row(3, &["", "姓名", "职务", "手机", "电话", ""]),
            row(4, &["杭州华星建材有限公司", "张伟", "经理", "13800138000", "0571-88886666", "杭州"]),
        ]);
        assert_eq!(t.header().rows, vec![2, 3]);
        let m = t.detect_mapping(None);
        let paths: Vec<String> = m.columns.iter().map(|c| c.target.as_ref().map(|t| t.path()).unwrap_or_default()).collect();
        assert_eq!(paths, vec!["name", "contacts[0].name", "contacts[0].title", "mobile", "phone", "address"]);
        assert_eq!(m.columns[3].header, "联系方式/手机");
    }

    #[test]
    fn forced_header_row() {
        let rows = vec![row(1, &["客户名称", "手机"]), row(2, &["名称", "电话"]), row(3, &["张伟", "13800138000"])];
        let opts = ReadOptions { header_row: Some(2), ..Default::default() };
        let t = Table::new(Box::new(rows.into_iter().map(Ok)), &opts).unwrap();
        assert_eq!(t.header().rows, vec![2]);
        assert_eq!(t.header().texts, vec!["名称", "电话"]);
        assert_eq!(t.map(|r| r.unwrap().row).collect::<Vec<_>>(), vec![3]);
        let rows = vec![row(1, &["客户归类汇总表"]), row(2, &["张伟"])];
        assert!(matches!(Table::new(Box::new(rows.into_iter().map(Ok)), &ReadOptions::default()), Err(ReadError::HeaderNotFound(_))));
    }

    #[test]
    fn sniffs_kinds() {
        assert_eq!(FileKind::sniff(b"PK\x03\x04....", None), FileKind::Xlsx);
        assert_eq!(FileKind::sniff(b"\xEF\xBB\xBF\r\nbegin:vcard\r\n", None), FileKind::VCard);
        assert_eq!(FileKind::sniff("客户名称,手机".as_bytes(), Some("a.csv")), FileKind::Csv);
    }
}
