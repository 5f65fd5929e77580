//! Streaming CSV reader: UTF-8 with or without BOM, UTF-16 with BOM ("Unicode text" from
//! Excel) and GBK/GB18030 (what Chinese Excel writes by default) detected from the first 64 KiB;
//! comma, tab or semicolon delimiters sniffed from the first line; CRLF and quoted fields
//! (including line breaks inside quotes). Rows come out one at a time: memory does not grow with
//! the file.

use std::io::{Cursor, Read};

use encoding_rs::Encoding;

use crate::cell::{Cell, RawRow};
use crate::error::ReadError;

/// How much is looked at to guess the encoding and the delimiter.
const SNIFF_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Force an encoding (e.g. `encoding_rs::GB18030`) instead of detecting it.
    pub encoding: Option<&'static Encoding>,
    /// Force a delimiter instead of sniffing it.
    pub delimiter: Option<u8>,
}

/// What was detected about a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvFormat {
    pub encoding: &'static Encoding,
    pub had_bom: bool,
    pub delimiter: u8,
}

/// Rows of a CSV file; see the module docs.
pub struct CsvRows {
    reader: csv::Reader<Box<dyn Read + Send>>,
    record: csv::ByteRecord,
    records: u32,
    format: CsvFormat,
    done: bool,
}

impl std::fmt::Debug for CsvRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CsvRows").field("format", &self.format).field("records", &self.records).finish()
    }
}

/// Reads up to `SNIFF_BYTES` (fewer only at end of input).
fn read_prefix<R: Read>(r: &mut R) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; SNIFF_BYTES];
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(n);
    Ok(buf)
}

/// Guesses the encoding of a file from its first bytes. `complete` says the prefix is the whole
/// file (so a multi-byte sequence cut at its end is an error, not a truncation).
pub fn detect_encoding(prefix: &[u8], complete: bool) -> (&'static Encoding, bool) {
    if let Some((enc, _bom_len)) = Encoding::for_bom(prefix) {
        return (enc, true);
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => return (encoding_rs::UTF_8, false),
        // Cut in the middle of a character at the end of the sniffed block: still UTF-8.
        Err(e) if e.error_len().is_none() && !complete => return (encoding_rs::UTF_8, false),
        Err(_) => {}
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(prefix, complete);
    let enc = det.guess(None, chardetng::Utf8Detection::Deny);
    // GB18030 is a superset of GBK (and of GB2312): decode with it, whatever the guess called it.
    if enc == encoding_rs::GBK {
        (encoding_rs::GB18030, false)
    } else {
        (enc, false)
    }
}

/// Picks the delimiter that occurs most often outside quotes in the first line.
fn sniff_delimiter(first_text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    for c in first_text.chars() {
        match c {
            '"' => in_quotes = !in_quotes,
            '\n' | '\r' if !in_quotes => break,
            ',' if !in_quotes => counts[0] += 1,
            '\t' if !in_quotes => counts[1] += 1,
            ';' if !in_quotes => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).max_by_key(|&i| (counts[i], usize::from(i == 0))).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b'\t', b';'][best]
    }
}

/// Opens a CSV stream. Only the first 64 KiB are read before the first row is returned.
pub fn read_csv<R: Read + Send + 'static>(mut input: R, opts: &CsvOptions) -> Result<CsvRows, ReadError> {
    let prefix = read_prefix(&mut input)?;
    let complete = prefix.len() < SNIFF_BYTES;
    let (encoding, had_bom) = match opts.encoding {
        Some(e) => (e, Encoding::for_bom(&prefix).is_some_and(|(b, _)| b == e)),
        None => detect_encoding(&prefix, complete),
    };
    let bom_len = if had_bom { Encoding::for_bom(&prefix).map_or(0, |(_, n)| n) } else { 0 };
    let delimiter = opts.delimiter.unwrap_or_else(|| {
        let head = &prefix[bom_len..prefix.len().min(bom_len + 8192)];
        let (text, _) = encoding.decode_without_bom_handling(head);
        sniff_delimiter(&text)
    });
    let chained = Cursor::new(prefix).chain(input);
    let source: Box<dyn Read + Send> = if encoding == encoding_rs::UTF_8 {
        // Pass UTF-8 through untouched (fields are checked one by one); just skip the BOM.
        let mut c = chained;
        let mut skip = vec![0u8; bom_len];
        c.read_exact(&mut skip)?;
        Box::new(c)
    } else {
        Box::new(encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(encoding)).build(chained))
    };
    let reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).delimiter(delimiter).buffer_capacity(256 * 1024).from_reader(source);
    Ok(CsvRows { reader, record: csv::ByteRecord::new(), records: 0, format: CsvFormat { encoding, had_bom, delimiter }, done: false })
}

impl CsvRows {
    pub fn format(&self) -> CsvFormat {
        self.format
    }
}

/// Longest row kept; more columns than this are dropped (protects against hostile files).
pub(crate) const MAX_COLUMNS: usize = 1024;

impl Iterator for CsvRows {
    type Item = Result<RawRow, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Ok(true) => {
                self.records += 1;
                let cells = self
                    .record
                    .iter()
                    .take(MAX_COLUMNS)
                    .map(|f| {
                        if f.is_empty() {
                            Cell::Empty
                        } else {
                            Cell::Text(match std::str::from_utf8(f) {
                                Ok(s) => s.to_owned(),
                                Err(_) => String::from_utf8_lossy(f).into_owned(),
                            })
                        }
                    })
                    .collect();
                Some(Ok(RawRow { row: self.records, cells }))
            }
            Err(e) => {
                // An I/O error ends the stream; a malformed record is reported and skipped over.
                let io = matches!(e.kind(), csv::ErrorKind::Io(_));
                if io {
                    self.done = true;
                }
                self.records += 1;
                Some(Err(ReadError::Csv { record: u64::from(self.records), message: e.to_string() }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(bytes: &[u8]) -> (CsvFormat, Vec<Vec<String>>) {
        let r = read_csv(Cursor::new(bytes.to_vec()), &CsvOptions::default()).unwrap();
        let f = r.format();
        (f, r.map(|r| r.unwrap().cells.iter().map(Cell::display).collect()).collect())
    }

    #[test]
    fn utf8_with_and_without_bom() {
        let (f, r) = rows("客户名称,手机\r\n杭州华星,13800138000\r\n".as_bytes());
        assert_eq!((f.encoding, f.had_bom), (encoding_rs::UTF_8, false));
        assert_eq!(r, vec![vec!["客户名称", "手机"], vec!["杭州华星", "13800138000"]]);
        let mut b = b"\xEF\xBB\xBF".to_vec();
        b.extend_from_slice("客户名称;手机\n\"张,三\";1\n".as_bytes());
        let (f, r) = rows(&b);
        assert_eq!((f.encoding, f.had_bom, f.delimiter), (encoding_rs::UTF_8, true, b';'));
        assert_eq!(r, vec![vec!["客户名称", "手机"], vec!["张,三", "1"]]);
    }

    #[test]
    fn gbk_is_detected() {
        let text = "客户名称,联系人,地址\r\n杭州华星建材有限公司,张伟,\"浙江省杭州市西湖区文三路1号\r\n2楼\"\r\n";
        let (bytes, _, _) = encoding_rs::GBK.encode(text);
        let (f, r) = rows(&bytes);
        assert_eq!(f.encoding, encoding_rs::GB18030);
        assert_eq!(r[1], vec!["杭州华星建材有限公司", "张伟", "浙江省杭州市西湖区文三路1号\r\n2楼"]);
    }

    #[test]
    fn utf16_tab_separated() {
        let text = "客户名称\t手机\r\n王芳\t13900000000\r\n";
        let mut b = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            b.extend_from_slice(&u.to_le_bytes());
        }
        let (f, r) = rows(&b);
        assert_eq!(f.delimiter, b'\t');
        assert_eq!(r[1], vec!["王芳", "13900000000"]);
    }
}
