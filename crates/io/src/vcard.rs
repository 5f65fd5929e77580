//! vCard 2.1 / 3.0 / 4.0 reader and a 3.0 writer (RFC 2426 / RFC 6350), for contacts exported
//! from phones. Handles line folding, QUOTED-PRINTABLE values with soft line breaks (Android's
//! 2.1 export), `CHARSET=` parameters (UTF-8, GBK …), bare 2.1 types (`TEL;CELL:`), groups
//! (`item1.TEL`), escaped text and structured values (`N`, `ADR`, `ORG`).
//!
//! `VCard::to_contact` and `VCard::to_person_archive` turn a card into Dangan data;
//! `write_contact` writes a `ContactData` so that reading it back gives the same contact.

use chrono::NaiveDate;
use dangan_core::model::{ArchiveData, ContactData, CustomerKind, PersonInfo};
use dangan_core::validate::check_mobile;
use serde::{Deserialize, Serialize};

use crate::error::ReadError;

/// Largest vCard file read (a phone book with photos is a few MB).
pub const MAX_VCARD_BYTES: usize = 64 * 1024 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Typed {
    pub value: String,
    /// Lower-case types (`cell`, `work`, `voice`, `home`, `pref` …).
    pub types: Vec<String>,
}

impl Typed {
    fn has(&self, t: &str) -> bool {
        self.types.iter().any(|x| x == t)
    }
}

/// One card, with the properties Dangan uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VCard {
    pub version: String,
    /// FN
    pub formatted_name: Option<String>,
    /// N: family, given, additional, prefixes, suffixes.
    pub name_parts: Vec<String>,
    pub org: Option<String>,
    pub title: Option<String>,
    pub tels: Vec<Typed>,
    pub emails: Vec<Typed>,
    /// ADR, formatted as one line (country, region, locality, street; Chinese order).
    pub addresses: Vec<Typed>,
    pub birthday: Option<NaiveDate>,
    pub note: Option<String>,
    /// X-WECHAT / X-WEIXIN / IMPP:weixin:…
    pub wechat: Option<String>,
    /// X-DANGAN-PRIMARY (written by Dangan).
    pub primary: bool,
}

fn qp_decode(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'=' {
            let hex = |b: u8| (b as char).to_digit(16);
            match (v.get(i + 1).copied().and_then(hex), v.get(i + 2).copied().and_then(hex)) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => {
                    // A stray '=' (or a soft break already joined): drop it.
                    i += 1;
                    continue;
                }
            }
        }
        out.push(v[i]);
        i += 1;
    }
    out
}

fn decode_charset(bytes: &[u8], charset: Option<&str>) -> String {
    if let Some(enc) = charset.and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes())) {
        return enc.decode_without_bom_handling(bytes).0.into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        // Old phones write GBK without saying so.
        Err(_) => encoding_rs::GB18030.decode_without_bom_handling(bytes).0.into_owned(),
    }
}

/// Splits on unescaped `sep`, then unescapes (`\n`, `\,`, `\;`, `\\`).
fn split_unescape(s: &str, sep: char, escaped: bool) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') | Some('N') if escaped => parts.last_mut().map(|p| p.push('\n')).unwrap_or(()),
                Some(x) if escaped || x == sep => parts.last_mut().map(|p| p.push(x)).unwrap_or(()),
                Some(x) => {
                    if let Some(p) = parts.last_mut() {
                        p.push('\\');
                        p.push(x);
                    }
                }
                None => parts.last_mut().map(|p| p.push('\\')).unwrap_or(()),
            }
        } else if c == sep {
            parts.push(String::new());
        } else if let Some(p) = parts.last_mut() {
            p.push(c);
        }
    }
    parts
}

fn parse_bday(s: &str) -> Option<NaiveDate> {
    let t = s.trim();
    let t = t.split('T').next().unwrap_or(t);
    dangan_core::validate::parse_date(t).ok()
}

struct Prop {
    name: String,
    params: Vec<(String, String)>,
    value: String,
}

impl Prop {
    fn types(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (k, val) in &self.params {
            if k == "type" || k.is_empty() {
                v.extend(val.split(',').map(|t| t.trim().trim_matches('"').to_ascii_lowercase()).filter(|t| !t.is_empty()));
            } else if k == "pref" {
                v.push("pref".into());
            }
        }
        v
    }
}

/// Parses one logical (unfolded) line.
fn parse_line(line: &[u8]) -> Option<Prop> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (head, raw) = (&line[..colon], &line[colon + 1..]);
    let head = String::from_utf8_lossy(head);
    let mut parts = head.split(';');
    let name = parts.next()?.trim();
    let name = name.rsplit('.').next().unwrap_or(name).to_ascii_uppercase();
    let mut params = Vec::new();
    for p in parts {
        match p.split_once('=') {
            Some((k, v)) => params.push((k.trim().to_ascii_lowercase(), v.trim().to_string())),
            // vCard 2.1 bare parameters: TEL;CELL;PREF, NOTE;QUOTED-PRINTABLE.
            None => {
                let bare = p.trim().to_ascii_lowercase();
                match bare.as_str() {
                    "quoted-printable" | "base64" | "b" | "8bit" | "7bit" => params.push(("encoding".into(), bare)),
                    _ => params.push((String::new(), bare)),
                }
            }
        }
    }
    let encoding = params.iter().find(|(k, _)| k == "encoding").map(|(_, v)| v.to_ascii_lowercase());
    let charset = params.iter().find(|(k, _)| k == "charset").map(|(_, v)| v.clone());
    let value = match encoding.as_deref() {
        Some("quoted-printable") => decode_charset(&qp_decode(raw), charset.as_deref()),
        // Photos and other binary data are not used.
        Some("b") | Some("base64") => String::new(),
        _ => decode_charset(raw, charset.as_deref()),
    };
    Some(Prop { name, params, value })
}

/// Unfolds the raw lines of a file into logical lines (folding by leading whitespace; QP soft
/// breaks by a trailing `=`).
fn logical_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut qp_continues = false;
    for raw in bytes.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if qp_continues {
            if let Some(last) = out.last_mut() {
                last.pop(); // the soft-break '='
                last.extend_from_slice(line);
                qp_continues = is_qp(last) && last.ends_with(b"=");
                continue;
            }
        }
        if (line.starts_with(b" ") || line.starts_with(b"\t")) && !out.is_empty() {
            if let Some(last) = out.last_mut() {
                last.extend_from_slice(&line[1..]);
            }
        } else if !line.is_empty() {
            out.push(line.to_vec());
        }
        qp_continues = out.last().is_some_and(|l| is_qp(l) && l.ends_with(b"="));
    }
    out
}

fn is_qp(line: &[u8]) -> bool {
    let colon = line.iter().position(|&b| b == b':').unwrap_or(line.len());
    line[..colon].to_ascii_uppercase().windows(16).any(|w| w == b"QUOTED-PRINTABLE")
}

/// Reads every card of a .vcf file (the whole file is read: see `MAX_VCARD_BYTES`).
pub fn read_vcards(bytes: &[u8]) -> Result<Vec<VCard>, ReadError> {
    if bytes.len() > MAX_VCARD_BYTES {
        return Err(ReadError::VCard(format!("file larger than {} MiB", MAX_VCARD_BYTES >> 20)));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut cards = Vec::new();
    let mut cur: Option<VCard> = None;
    for line in logical_lines(bytes) {
        let upper_head: Vec<u8> = line.iter().take(16).map(u8::to_ascii_uppercase).collect();
        if upper_head.starts_with(b"BEGIN:VCARD") {
            cur = Some(VCard::default());
            continue;
        }
        if upper_head.starts_with(b"END:VCARD") {
            if let Some(c) = cur.take() {
                cards.push(c);
            }
            continue;
        }
        let Some(card) = cur.as_mut() else { continue };
        let v3 = card.version != "2.1";
        let Some(p) = parse_line(&line) else { continue };
        let text = |s: &str| split_unescape(s, '\u{0}', v3).concat().trim().to_string();
        let nonempty = |s: String| if s.is_empty() { None } else { Some(s) };
        match p.name.as_str() {
            "VERSION" => card.version = p.value.trim().to_string(),
            "FN" => card.formatted_name = nonempty(text(&p.value)),
            "N" => card.name_parts = split_unescape(&p.value, ';', v3).into_iter().map(|s| s.trim().to_string()).collect(),
            "ORG" => card.org = nonempty(split_unescape(&p.value, ';', v3).into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" ")),
            "TITLE" => card.title = nonempty(text(&p.value)),
            "TEL" => {
                let v = p.value.trim().trim_start_matches("tel:").to_string();
                if !v.is_empty() {
                    card.tels.push(Typed { value: v, types: p.types() });
                }
            }
            "EMAIL" => {
                let v = text(&p.value);
                if !v.is_empty() {
                    card.emails.push(Typed { value: v, types: p.types() });
                }
            }
            "ADR" => {
                let parts = split_unescape(&p.value, ';', v3);
                // pobox; ext; street; locality; region; code; country → 中国 浙江 杭州 文三路1号
                let order = [6, 4, 3, 2, 1, 0];
                let s: Vec<String> = order.iter().filter_map(|&i| parts.get(i)).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
                if !s.is_empty() {
                    card.addresses.push(Typed { value: s.join(""), types: p.types() });
                }
            }
            "BDAY" => card.birthday = parse_bday(&p.value),
            "NOTE" => card.note = nonempty(text(&p.value)),
            "X-WECHAT" | "X-WEIXIN" => card.wechat = nonempty(text(&p.value)),
            "IMPP" => {
                let v = p.value.trim();
                if let Some(id) = v.strip_prefix("weixin:").or_else(|| v.strip_prefix("wechat:")) {
                    card.wechat = nonempty(id.to_string());
                }
            }
            "X-DANGAN-PRIMARY" => card.primary = matches!(p.value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"),
            _ => {}
        }
    }
    if cards.is_empty() && !bytes.iter().any(|b| !b.is_ascii_whitespace()) {
        return Ok(cards);
    }
    if cards.is_empty() {
        return Err(ReadError::VCard("no BEGIN:VCARD … END:VCARD block found".into()));
    }
    Ok(cards)
}

impl VCard {
    /// The display name: FN, else N (family name first, no space between CJK parts).
    pub fn display_name(&self) -> String {
        if let Some(f) = &self.formatted_name {
            return f.clone();
        }
        let family = self.name_parts.first().map(String::as_str).unwrap_or("");
        let given = self.name_parts.get(1).map(String::as_str).unwrap_or("");
        let cjk = |s: &str| s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c));
        if cjk(family) || cjk(given) {
            format!("{family}{given}")
        } else {
            format!("{given} {family}").trim().to_string()
        }
    }

    fn mobile(&self) -> Option<String> {
        let typed = self.tels.iter().find(|t| t.has("cell") || t.has("mobile") || t.has("iphone"));
        typed.or_else(|| self.tels.iter().find(|t| check_mobile(&t.value).is_ok())).map(|t| t.value.clone())
    }

    fn landline(&self, mobile: Option<&str>) -> Option<String> {
        self.tels.iter().find(|t| Some(t.value.as_str()) != mobile && !t.has("cell") && !t.has("fax") && check_mobile(&t.value).is_err()).map(|t| t.value.clone())
    }

    pub fn to_contact(&self) -> ContactData {
        let mobile = self.mobile();
        let mut c = ContactData {
            name: self.display_name(),
            title: self.title.clone(),
            landline: self.landline(mobile.as_deref()),
            mobile,
            email: self.emails.first().map(|e| e.value.clone()),
            wechat: self.wechat.clone(),
            birthday: self.birthday,
            preferences: self.note.clone(),
            is_primary: self.primary,
        };
        c.normalize();
        c
    }

    /// A person archive (通讯录 → 个人客户): name, phones, email, first address, birthday,
    /// employer (ORG) and occupation (TITLE); note and WeChat go to the notes.
    pub fn to_person_archive(&self) -> ArchiveData {
        let c = self.to_contact();
        let mut a = ArchiveData::new(CustomerKind::Person, c.name);
        a.mobile = c.mobile;
        a.landline = c.landline;
        a.email = c.email;
        a.address = self.addresses.first().map(|x| x.value.clone());
        let p = PersonInfo { birth_date: self.birthday, employer: self.org.clone(), occupation: self.title.clone(), ..Default::default() };
        if p != PersonInfo::default() {
            a.person = Some(p);
        }
        let mut notes: Vec<String> = self.note.iter().cloned().collect();
        if let Some(w) = &self.wechat {
            notes.push(format!("微信：{w}"));
        }
        if !notes.is_empty() {
            a.characteristics.notes = Some(notes.join("\n"));
        }
        a.normalize();
        a
    }
}

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            ',' => o.push_str("\\,"),
            ';' => o.push_str("\\;"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c => o.push(c),
        }
    }
    o
}

/// Folds a content line at 75 octets without splitting a UTF-8 character (RFC 6350 3.2).
fn fold(line: &str, out: &mut String) {
    let mut len = 0;
    for c in line.chars() {
        if len + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            len = 1;
        }
        out.push(c);
        len += c.len_utf8();
    }
    out.push_str("\r\n");
}

const COMPOUND_SURNAMES: &[&str] = &["欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "司徒", "夏侯"];

fn split_chinese_name(name: &str) -> (String, String) {
    let n: Vec<char> = name.chars().collect();
    let all_cjk = !n.is_empty() && n.iter().all(|c| ('\u{4E00}'..='\u{9FFF}').contains(c));
    if all_cjk && (2..=4).contains(&n.len()) {
        let k = if COMPOUND_SURNAMES.iter().any(|s| name.starts_with(s)) && n.len() > 2 { 2 } else { 1 };
        (n[..k].iter().collect(), n[k..].iter().collect())
    } else {
        (String::new(), name.to_string())
    }
}

/// One vCard 3.0 for a contact; `org` (the customer's name) goes to ORG.
pub fn write_contact(c: &ContactData, org: Option<&str>) -> String {
    let mut out = String::with_capacity(256);
    let mut line = |s: String| fold(&s, &mut out);
    line("BEGIN:VCARD".into());
    line("VERSION:3.0".into());
    line(format!("FN:{}", escape(&c.name)));
    let (family, given) = split_chinese_name(&c.name);
    line(format!("N:{};{};;;", escape(&family), escape(&given)));
    if let Some(o) = org {
        line(format!("ORG:{}", escape(o)));
    }
    if let Some(t) = &c.title {
        line(format!("TITLE:{}", escape(t)));
    }
    if let Some(m) = &c.mobile {
        line(format!("TEL;TYPE=CELL:{}", escape(m)));
    }
    if let Some(l) = &c.landline {
        line(format!("TEL;TYPE=WORK,VOICE:{}", escape(l)));
    }
    if let Some(e) = &c.email {
        line(format!("EMAIL;TYPE=INTERNET:{}", escape(e)));
    }
    if let Some(w) = &c.wechat {
        line(format!("X-WECHAT:{}", escape(w)));
    }
    if let Some(b) = c.birthday {
        line(format!("BDAY:{}", b.format("%Y-%m-%d")));
    }
    if let Some(p) = &c.preferences {
        line(format!("NOTE:{}", escape(p)));
    }
    if c.is_primary {
        line("X-DANGAN-PRIMARY:TRUE".into());
    }
    line("END:VCARD".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn android_21_quoted_printable() {
        let f = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0;=E4=BC=9F;;;\r\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=E5=BC=A0=E4=BC=9F\r\nTEL;CELL:138-0013-8000\r\nTEL;WORK:0571-88886666\r\nNOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:=E5=96=9C=E6=AC=A2=E5=96=9D=E8=8C=B6=0A=\r\n=E7=AC=AC=E4=BA=8C=E8=A1=8C\r\nBDAY:1985-06-15\r\nEND:VCARD\r\n";
        let cards = read_vcards(f.as_bytes()).unwrap();
        let c = cards[0].to_contact();
        assert_eq!(c.name, "张伟");
        assert_eq!(c.mobile.as_deref(), Some("13800138000"));
        assert_eq!(c.landline.as_deref(), Some("0571-88886666"));
        assert_eq!(c.preferences.as_deref(), Some("喜欢喝茶\n第二行"));
        assert_eq!(c.birthday, NaiveDate::from_ymd_opt(1985, 6, 15));
    }

    #[test]
    fn contact_round_trip() {
        let c = ContactData {
            name: "欧阳建国".into(),
            title: Some("采购部经理, 总监; 助理".into()),
            mobile: Some("13912345678".into()),
            landline: Some("0571-88886666转123".into()),
            email: Some("oy@example.com".into()),
            wechat: Some("oyjg_1975".into()),
            birthday: NaiveDate::from_ymd_opt(1975, 2, 28),
            preferences: Some("喜欢龙井茶\n不抽烟\\不喝酒，周末钓鱼。这一行很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长很长".into()),
            is_primary: true,
        };
        let text = write_contact(&c, Some("杭州华星建材有限公司"));
        assert!(text.lines().all(|l| l.len() <= 75), "{text}");
        assert!(text.contains("N:欧阳;建国;;;"));
        let back = read_vcards(text.as_bytes()).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].to_contact(), c);
        assert_eq!(back[0].org.as_deref(), Some("杭州华星建材有限公司"));
    }
}
