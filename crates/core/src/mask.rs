//! Masking of sensitive personal data for display (脱敏显示): ID numbers, phones, e-mails,
//! detailed addresses, bank accounts and health data are shown masked by default
//! (`138****1234`, `110105********123X`) and unmasked only for a user with the right permission
//! or a grant. Deciding *whether* to mask is the caller's job (the policy); this module only
//! knows *how*.
//!
//! Every function is pure, works on `char`s (never byte offsets, so Chinese text cannot make it
//! panic), trims its input, returns an empty string for a blank input, and otherwise always
//! returns something containing `*`. When a value does not have the expected shape (a foreign
//! phone number in the mobile field, a passport number as ID) the fallback hides more, not less.
//!
//! What is deliberately *not* masked: the customer's name, and an organization's 统一社会信用代码
//! and registration data, which are public (国家企业信用信息公示系统).

use serde_json::Value;

use crate::model::{ArchiveData, ContactData};

/// Custom keys holding bank account or card numbers, masked as bank accounts (last 4 kept)
/// whatever the template. Matched after trimming, ASCII case-insensitively. The Chinese names
/// cover free-form custom fields of archives without a template, entered from paper files.
pub const BANK_CUSTOM_KEYS: &[&str] = &["bank_account", "bank_card", "银行账号", "银行卡号", "开户账号"];

/// Custom keys holding health data (医疗健康信息, sensitive personal information under the
/// PIPL): masked on display whatever the template, and encrypted at rest by the application's
/// field encryption (`dangan_app::crypto::FieldCrypto::seal_archive`). Matched like
/// [`BANK_CUSTOM_KEYS`].
pub const HEALTH_CUSTOM_KEYS: &[&str] = &["health_notes", "allergies", "medical_history", "健康状况", "过敏史", "病史", "既往病史"];

/// Further sensitive custom keys of particular templates, on top of the bank and health keys
/// that are sensitive in every template. `membership`: `guardian` names the guardian of a child
/// under 14, whose data the PIPL treats as sensitive; the health and bank keys are repeated here
/// because membership files (gyms, salons, training) are where they usually appear.
pub const TEMPLATE_SENSITIVE_KEYS: &[(&str, &[&str])] =
    &[("membership", &["guardian", "health_notes", "allergies", "medical_history", "bank_account", "bank_card"])];

fn key_in(key: &str, list: &[&str]) -> bool {
    let k = key.trim();
    list.iter().any(|l| l.eq_ignore_ascii_case(k))
}

/// Is `key` a health-data custom key (masked and encrypted at rest)?
pub fn is_health_key(key: &str) -> bool {
    key_in(key, HEALTH_CUSTOM_KEYS)
}

/// Is `key` a bank account custom key?
pub fn is_bank_key(key: &str) -> bool {
    key_in(key, BANK_CUSTOM_KEYS)
}

/// Is the custom field `key` sensitive in an archive of `template`?
pub fn is_sensitive_custom_key(template: Option<&str>, key: &str) -> bool {
    is_health_key(key)
        || is_bank_key(key)
        || template.is_some_and(|t| TEMPLATE_SENSITIVE_KEYS.iter().any(|(name, keys)| *name == t && key_in(key, keys)))
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// Full-width forms (what a Chinese IME types: `１３８`, `－`) to ASCII, the ideographic space
/// to a space.
fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            _ => c,
        })
        .collect()
}

fn stars(n: usize) -> String {
    "*".repeat(n)
}

/// Keeps `head` characters at the start and `tail` at the end and replaces the middle with as
/// many stars. When the value is too short for that to hide anything worth hiding, keeps less:
/// at most a quarter at the start and a third at the end, so at least one character is masked.
fn keep_ends(chars: &[char], head: usize, tail: usize) -> String {
    let n = chars.len();
    if n == 0 {
        return String::new();
    }
    let (head, tail) = if n >= head + tail + 4 { (head, tail) } else { (head.min(n / 4), tail.min(n / 3)) };
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&stars(n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

/// Keeps up to `k` leading characters (at most half of them) followed by `****`, which hides
/// the length too.
fn keep_head(s: &str, k: usize) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let keep = k.min(chars.len() / 2);
    let mut out: String = chars[..keep].iter().collect();
    out.push_str("****");
    out
}

fn is_mobile_shape(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() == 11 && b.iter().all(u8::is_ascii_digit) && b[0] == b'1'
}

// ---------------------------------------------------------------------------------------------
// Field maskers

/// `13812341234` → `138****1234`. `+86 138 1234 1234`, `0086-13812341234` and full-width digits
/// give the same (the country code is dropped, as `normalize_mobile` does on save). Anything
/// else keeps at most its first 3 and last 4 characters.
pub fn mask_mobile(s: &str) -> String {
    let t = s.trim();
    if t.is_empty() {
        return String::new();
    }
    let n = crate::validate::normalize_mobile(t);
    if is_mobile_shape(&n) {
        return format!("{}****{}", &n[..3], &n[7..]);
    }
    let chars: Vec<char> = halfwidth(t).chars().filter(|c| !c.is_whitespace()).collect();
    keep_ends(&chars, 3, 4)
}

/// 18-character resident ID: first 6 (the issuing region) + 8 stars + last 4
/// (`110105********123X`); 15-digit old ID: first 6 + 6 stars + last 3; any other ID (passport,
/// permits): first 2 and last 2 kept.
pub fn mask_id_number(s: &str) -> String {
    let chars: Vec<char> = halfwidth(s.trim()).chars().filter(|c| !c.is_whitespace()).collect();
    let digits = |cs: &[char]| cs.iter().all(char::is_ascii_digit);
    match chars.len() {
        18 if digits(&chars[..17]) && (chars[17].is_ascii_digit() || chars[17] == 'X' || chars[17] == 'x') => {
            let mut out: String = chars[..6].iter().collect();
            out.push_str(&stars(8));
            out.extend(chars[14..].iter().map(char::to_ascii_uppercase));
            out
        }
        15 if digits(&chars) => {
            let mut out: String = chars[..6].iter().collect();
            out.push_str(&stars(6));
            out.extend(&chars[12..]);
            out
        }
        _ => keep_ends(&chars, 2, 2),
    }
}

/// Splits a landline after its area code, keeping the separator with the area code:
/// `0571-88886666` → (`0571-`, `88886666`), `(010)12345678` → (`(010)`, `12345678`),
/// `057188886666` → (`0571`, `88886666`), `400-800-8888` → (`400-`, `800-8888`).
fn split_area(t: &str) -> (&str, &str) {
    if t.starts_with('(') {
        if let Some(i) = t.find(')') {
            let j = i + 1;
            let j = j + t[j..].len() - t[j..].trim_start_matches([' ', '-']).len();
            return t.split_at(j);
        }
        return ("", t);
    }
    let run = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let g0 = &t[..run];
    if g0.starts_with("400") || g0.starts_with("800") {
        let j = 3 + t[3..].len() - t[3..].trim_start_matches([' ', '-']).len();
        return t.split_at(j);
    }
    if !g0.starts_with('0') || g0.len() < 3 {
        return ("", t);
    }
    let area_len = if matches!(g0.as_bytes()[1], b'1' | b'2') { 3 } else { 4 };
    if g0.len() <= 4 && t[run..].starts_with([' ', '-']) {
        // Delimited: the whole first group is the area code.
        let j = run + t[run..].len() - t[run..].trim_start_matches([' ', '-']).len();
        return t.split_at(j);
    }
    if g0.len() > area_len {
        return t.split_at(area_len);
    }
    ("", t)
}

/// Splits the extension off a local number: `88886666转801`, `88886666#801`,
/// `88886666 ext 801`, `88886666-801` (a trailing dash group of at most 5 digits after at least
/// 7 digits).
fn split_extension(local: &str) -> (&str, &str) {
    if let Some(i) = local.find(['转', '#', ',', '，', 'x', 'X', 'e', 'E', '分']) {
        return local.split_at(i);
    }
    if let Some(i) = local.rfind('-') {
        let before = local[..i].chars().filter(char::is_ascii_digit).count();
        let after = &local[i + 1..];
        if before >= 7 && (1..=5).contains(&after.len()) && after.bytes().all(|b| b.is_ascii_digit()) {
            return local.split_at(i);
        }
    }
    (local, "")
}

/// `0571-88886666` → `0571-****6666`: the area code (and an extension) stay, the local number
/// keeps its last 4 digits. A mobile number in the landline field is masked as a mobile.
pub fn mask_landline(s: &str) -> String {
    let t = halfwidth(s.trim());
    if t.is_empty() {
        return String::new();
    }
    if is_mobile_shape(&crate::validate::normalize_mobile(&t)) {
        return mask_mobile(&t);
    }
    let (intl, rest) = match ["+86", "0086"].iter().find_map(|p| t.strip_prefix(p).map(|r| (*p, r))) {
        Some((p, r)) => {
            let r2 = r.trim_start_matches([' ', '-']);
            (&t[..p.len() + r.len() - r2.len()], r2)
        }
        None => ("", t.as_str()),
    };
    // After a country code the trunk 0 is dropped: `+86 571 8888 6666`.
    let (area, local) = if !intl.is_empty() && !rest.starts_with(['0', '(']) {
        let run = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if (2..=3).contains(&run) && rest[run..].starts_with([' ', '-']) {
            let j = run + rest[run..].len() - rest[run..].trim_start_matches([' ', '-']).len();
            rest.split_at(j)
        } else {
            ("", rest)
        }
    } else {
        split_area(rest)
    };
    let (main, ext) = split_extension(local);
    let is_sep = |c: &char| *c == '-' || *c == ' ';
    let maskable = main.chars().filter(|c| !is_sep(c)).count();
    let mut out = format!("{intl}{area}");
    if maskable <= 4 {
        // Nothing left worth showing: hide it all.
        out.push_str("****");
    } else {
        let mut seen = 0;
        for c in main.chars() {
            if is_sep(&c) {
                out.push(c);
            } else {
                seen += 1;
                out.push(if seen > maskable - 4 { c } else { '*' });
            }
        }
    }
    out.push_str(ext);
    out
}

/// `zhangwei@example.com` → `z***@example.com`: the domain stays (it is a provider or an
/// employer), the mailbox name keeps its first character (none when it has only one).
pub fn mask_email(s: &str) -> String {
    let t = s.trim();
    let Some((local, domain)) = t.rsplit_once('@') else {
        return mask_text(t);
    };
    let mut it = local.chars();
    match (it.next(), it.next()) {
        (Some(first), Some(_)) => format!("{first}***@{domain}"),
        _ => format!("***@{domain}"),
    }
}

/// Administrative suffixes ending the part of an address that is kept.
fn ends_district(prefix: &[char], c: char) -> bool {
    match c {
        // 新疆维吾尔自治区, 香港特别行政区 are provinces: the district comes later. 社区, 小区,
        // 园区, 景区, 街区, 校区, 厂区, 营区, 片区, 矿区 name places below the district.
        '区' => {
            !(prefix.ends_with(&['自', '治'])
                || prefix.ends_with(&['行', '政'])
                || prefix.last().is_some_and(|p| matches!(p, '社' | '小' | '园' | '景' | '街' | '校' | '厂' | '营' | '片' | '矿')))
        }
        '县' | '旗' => true,
        _ => false,
    }
}

/// Keeps the administrative prefix, province, city and district, up to and including the first
/// 区/县/旗 (`北京市朝阳区建国路88号` → `北京市朝阳区****`; the 区 of 自治区, 特别行政区, 社区,
/// 小区 and the like does not count), or the first 6 characters when there is none; the street and number become `****`.
/// A district suffix further than 16 characters in is taken to be part of a street or an estate
/// (小区) name, so the 6-character rule applies.
pub fn mask_address(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    let district_end = chars.iter().enumerate().find(|(i, c)| ends_district(&chars[..*i], **c)).map(|(i, _)| i + 1).filter(|&e| e <= 16);
    let keep = match district_end {
        Some(e) => e,
        None if chars.len() > 6 => 6,
        // A short address without a district: keeping 6 would show it all.
        None => chars.len() / 2,
    };
    let mut out: String = chars[..keep].iter().collect();
    out.push_str("****");
    out
}

/// `6222 0212 3456 7890` → `************7890`: only the last 4 kept, spaces and dashes dropped.
pub fn mask_bank_account(s: &str) -> String {
    let chars: Vec<char> = halfwidth(s.trim()).chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    let n = chars.len();
    if n == 0 {
        return if s.trim().is_empty() { String::new() } else { "****".to_string() };
    }
    keep_ends(&chars, 0, 4)
}

/// Generic text: first character and stars (`张伟` → `张*`, `青霉素过敏，高血压` → `青******`);
/// at most 6 stars, so a long note does not become a line of stars. A single character becomes
/// `*`.
pub fn mask_text(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        n => {
            let mut out = chars[0].to_string();
            out.push_str(&stars((n - 1).min(6)));
            out
        }
    }
}

/// WeChat ID: first 2 characters (at most half) and `****`.
pub fn mask_wechat(s: &str) -> String {
    keep_head(s, 2)
}

fn mask_opt(o: &mut Option<String>, f: fn(&str) -> String) {
    if let Some(s) = o {
        *s = f(s);
    }
}

/// Masks one custom value with `f`; numbers and booleans become masked strings, arrays and
/// objects are masked element by element, null stays null.
fn mask_value(v: &mut Value, f: fn(&str) -> String) {
    match v {
        Value::Null => {}
        Value::String(s) => *s = f(s),
        Value::Number(n) => *v = Value::String(f(&n.to_string())),
        Value::Bool(b) => *v = Value::String(f(&b.to_string())),
        Value::Array(items) => items.iter_mut().for_each(|i| mask_value(i, f)),
        Value::Object(map) => map.values_mut().for_each(|i| mask_value(i, f)),
    }
}

/// Masks an archive for a reader without the permission to see sensitive data: mobile,
/// landline, e-mail, address, the person's ID number, and the sensitive custom fields
/// ([`is_sensitive_custom_key`]; bank keys as bank accounts, the rest as text). The name and
/// the organization's registration data (USCC, legal representative) stay, being public.
pub fn mask_archive(d: &mut ArchiveData) {
    mask_opt(&mut d.mobile, mask_mobile);
    mask_opt(&mut d.landline, mask_landline);
    mask_opt(&mut d.email, mask_email);
    mask_opt(&mut d.address, mask_address);
    if let Some(p) = &mut d.person {
        mask_opt(&mut p.id_number, mask_id_number);
    }
    let template = d.template.as_deref();
    for (key, value) in d.custom.iter_mut() {
        if is_bank_key(key) {
            mask_value(value, mask_bank_account);
        } else if is_sensitive_custom_key(template, key) {
            mask_value(value, mask_text);
        }
    }
}

/// The masked form of one field's value (by its path in the document, as in
/// `history::FieldChange`), or `None` when the field is not sensitive.
pub fn mask_path_value(path: &str, template: Option<&str>, value: &str) -> Option<String> {
    Some(match path {
        "mobile" => mask_mobile(value),
        "landline" => mask_landline(value),
        "email" => mask_email(value),
        "address" => mask_address(value),
        "person.id_number" => mask_id_number(value),
        _ => {
            let key = path.strip_prefix("custom.")?;
            let key = key.split('.').next().unwrap_or(key);
            if is_bank_key(key) {
                mask_bank_account(value)
            } else if is_sensitive_custom_key(template, key) {
                mask_text(value)
            } else {
                return None;
            }
        }
    })
}

/// The sensitive fields the archive holds (what unmasking it shows), for the audit record.
pub fn sensitive_fields_present(d: &ArchiveData) -> Vec<&str> {
    let mut out = Vec::new();
    let mut has = |present: bool, name: &'static str| {
        if present {
            out.push(name);
        }
    };
    has(d.mobile.is_some(), "mobile");
    has(d.landline.is_some(), "landline");
    has(d.email.is_some(), "email");
    has(d.address.is_some(), "address");
    has(d.person.as_ref().is_some_and(|p| p.id_number.is_some()), "person.id_number");
    let template = d.template.as_deref();
    for key in d.custom.keys() {
        if is_bank_key(key) || is_sensitive_custom_key(template, key) {
            out.push(key.as_str());
        }
    }
    out
}

/// Masks a contact person's mobile, landline, e-mail and WeChat ID.
pub fn mask_contact(c: &mut ContactData) {
    mask_opt(&mut c.mobile, mask_mobile);
    mask_opt(&mut c.landline, mask_landline);
    mask_opt(&mut c.email, mask_email);
    mask_opt(&mut c.wechat, mask_wechat);
}

/// Masks the mobile column of a list row (`ArchiveSummary::mobile`).
pub fn mask_summary_mobile(m: &mut Option<String>) {
    mask_opt(m, mask_mobile);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CustomerKind, OrganizationInfo, PersonInfo};
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn mobiles() {
        assert_eq!(mask_mobile("13812341234"), "138****1234");
        assert_eq!(mask_mobile(" +86 138 1234 1234 "), "138****1234");
        assert_eq!(mask_mobile("+8613812341234"), "138****1234");
        assert_eq!(mask_mobile("0086-138-1234-1234"), "138****1234");
        assert_eq!(mask_mobile("１３８１２３４１２３４"), "138****1234");
        assert_eq!(mask_mobile(""), "");
        // Not a mainland mobile: still hidden, never shown whole.
        assert_eq!(mask_mobile("+852 9123 4567"), "+85*****4567");
        assert_eq!(mask_mobile("1381234"), "1****34");
        assert_eq!(mask_mobile("1"), "*");
    }

    #[test]
    fn id_numbers() {
        assert_eq!(mask_id_number("11010519491231002X"), "110105********002X");
        assert_eq!(mask_id_number("110105194912310021"), "110105********0021");
        assert_eq!(mask_id_number("11010519491231002x"), "110105********002X");
        assert_eq!(mask_id_number("110105 19491231 002X"), "110105********002X");
        assert_eq!(mask_id_number("110105491231002"), "110105******002");
        // Passport, HK/Macau permit: first 2 and last 2.
        assert_eq!(mask_id_number("E12345678"), "E1*****78");
        assert_eq!(mask_id_number("H1234567801"), "H1*******01");
        assert_eq!(mask_id_number("AB1"), "**1");
        assert_eq!(mask_id_number("  "), "");
    }

    #[test]
    fn landlines() {
        assert_eq!(mask_landline("0571-88886666"), "0571-****6666");
        assert_eq!(mask_landline("010-12345678"), "010-****5678");
        assert_eq!(mask_landline("(0571)88886666"), "(0571)****6666");
        assert_eq!(mask_landline("（０５７１）８８８８６６６６"), "(0571)****6666");
        assert_eq!(mask_landline("057188886666"), "0571****6666");
        assert_eq!(mask_landline("0571 8888 6666"), "0571 **** 6666");
        assert_eq!(mask_landline("0571-88886666-801"), "0571-****6666-801");
        assert_eq!(mask_landline("0571-88886666转801"), "0571-****6666转801");
        assert_eq!(mask_landline("0755-2345678"), "0755-***5678");
        assert_eq!(mask_landline("+86 571 8888 6666"), "+86 571 **** 6666");
        assert_eq!(mask_landline("400-800-8888"), "400-***-8888");
        assert_eq!(mask_landline("88886666"), "****6666");
        assert_eq!(mask_landline("13812341234"), "138****1234");
        assert_eq!(mask_landline("0571-"), "0571-****");
        assert_eq!(mask_landline("-"), "****");
    }

    #[test]
    fn emails() {
        assert_eq!(mask_email("zhangwei@example.com"), "z***@example.com");
        assert_eq!(mask_email("王芳@公司.中国"), "王***@公司.中国");
        assert_eq!(mask_email("a@qq.com"), "***@qq.com");
        assert_eq!(mask_email("not-an-email"), "n******");
        assert_eq!(mask_email("我@"), "***@");
    }

    #[test]
    fn addresses() {
        assert_eq!(mask_address("北京市朝阳区建国路88号SOHO现代城A座1203"), "北京市朝阳区****");
        assert_eq!(mask_address("浙江省杭州市西湖区文三路398号"), "浙江省杭州市西湖区****");
        assert_eq!(mask_address("上海市浦东新区世纪大道100号"), "上海市浦东新区****");
        assert_eq!(mask_address("新疆维吾尔自治区乌鲁木齐市天山区解放北路1号"), "新疆维吾尔自治区乌鲁木齐市天山区****");
        assert_eq!(mask_address("云南省大理白族自治州宾川县金牛镇"), "云南省大理白族自治州宾川县****");
        assert_eq!(mask_address("内蒙古自治区鄂尔多斯市伊金霍洛旗阿镇"), "内蒙古自治区鄂尔多斯市伊金霍洛旗****");
        // County-level city, no 区/县: first 6 characters.
        assert_eq!(mask_address("江苏省昆山市花桥镇徐公桥路8号"), "江苏省昆山市****");
        // 区 far in is an estate name, not a district.
        assert_eq!(mask_address("广东省东莞市长安镇乌沙社区兴发南路碧水蓝天花园小区3栋"), "广东省东莞市****");
        assert_eq!(mask_address("浙江省杭州市余杭区良渚街道玉鸟社区"), "浙江省杭州市余杭区****");
        assert_eq!(mask_address("北京市朝阳区"), "北京市朝阳区****");
        assert_eq!(mask_address("Room 1203, 88 Jianguo Road"), "Room 1****");
        assert_eq!(mask_address("幸福里3号"), "幸福****");
    }

    #[test]
    fn bank_text_wechat() {
        assert_eq!(mask_bank_account("6222 0212 3456 7890"), "************7890");
        assert_eq!(mask_bank_account("6217-0000-1234-5678-901"), "***************8901");
        assert_eq!(mask_bank_account("12345"), "****5");
        assert_eq!(mask_bank_account("-"), "****");
        assert_eq!(mask_text("张伟"), "张*");
        assert_eq!(mask_text("欧阳娜娜"), "欧***");
        assert_eq!(mask_text("青霉素过敏，有高血压病史"), "青******");
        assert_eq!(mask_text("X"), "*");
        assert_eq!(mask_wechat("wxid_zhangwei88"), "wx****");
        assert_eq!(mask_wechat("张伟"), "张****");
        assert_eq!(mask_wechat("a"), "****");
    }

    fn person() -> ArchiveData {
        let mut d = ArchiveData::new(CustomerKind::Person, "王秀英");
        d.mobile = Some("13912345678".into());
        d.landline = Some("0571-88886666".into());
        d.email = Some("wangxiuying@163.com".into());
        d.address = Some("浙江省杭州市拱墅区湖墅南路186号".into());
        d.person = Some(PersonInfo { id_number: Some("330105198506151228".into()), occupation: Some("教师".into()), ..Default::default() });
        d
    }

    #[test]
    fn archive_is_masked() {
        let mut d = person();
        d.template = Some("membership".into());
        d.custom.insert("card_no".into(), json!("M20240001"));
        d.custom.insert("guardian".into(), json!("李建国"));
        d.custom.insert("allergies".into(), json!(["青霉素", "花粉"]));
        d.custom.insert("Health_Notes".into(), json!("高血压，每日服药"));
        d.custom.insert("bank_card".into(), json!("6222021234567890123"));
        d.custom.insert("balance".into(), json!("1280.00"));
        mask_archive(&mut d);
        assert_eq!(d.name, "王秀英");
        assert_eq!(d.mobile.as_deref(), Some("139****5678"));
        assert_eq!(d.landline.as_deref(), Some("0571-****6666"));
        assert_eq!(d.email.as_deref(), Some("w***@163.com"));
        assert_eq!(d.address.as_deref(), Some("浙江省杭州市拱墅区****"));
        let p = d.person.as_ref().unwrap();
        assert_eq!(p.id_number.as_deref(), Some("330105********1228"));
        assert_eq!(p.occupation.as_deref(), Some("教师"));
        assert_eq!(d.custom["card_no"], json!("M20240001"));
        assert_eq!(d.custom["balance"], json!("1280.00"));
        assert_eq!(d.custom["guardian"], json!("李**"));
        assert_eq!(d.custom["allergies"], json!(["青**", "花*"]));
        assert_eq!(d.custom["Health_Notes"], json!("高******"));
        assert_eq!(d.custom["bank_card"], json!("***************0123"));
    }

    #[test]
    fn sensitive_keys_per_template() {
        assert!(is_sensitive_custom_key(None, "medical_history"));
        assert!(is_sensitive_custom_key(Some("vehicle"), "bank_account"));
        assert!(is_sensitive_custom_key(None, "过敏史"));
        assert!(is_sensitive_custom_key(Some("membership"), "guardian"));
        assert!(!is_sensitive_custom_key(Some("hotel_guest"), "guardian"));
        assert!(!is_sensitive_custom_key(Some("vehicle"), "vin"));
        assert!(is_health_key(" Allergies "));
        assert!(!is_health_key("bank_account"));
        let mut d = ArchiveData::new(CustomerKind::Person, "赵敏");
        d.custom.insert("medical_history".into(), json!(3));
        d.custom.insert("bank_account".into(), json!(6222021234567890_i64));
        d.custom.insert("guardian".into(), json!("赵强"));
        d.custom.insert("allergies".into(), Value::Null);
        mask_archive(&mut d);
        assert_eq!(d.custom["medical_history"], json!("*"));
        assert_eq!(d.custom["bank_account"], json!("************7890"));
        assert_eq!(d.custom["guardian"], json!("赵强"), "guardian is sensitive only in membership files");
        assert_eq!(d.custom["allergies"], Value::Null);
    }

    #[test]
    fn organization_registration_data_stays() {
        let mut d = ArchiveData::new(CustomerKind::Organization, "杭州华星建材有限公司");
        d.organization = Some(OrganizationInfo { uscc: Some("91330106MA2B0XXX1K".into()), legal_representative: Some("陈立新".into()), ..Default::default() });
        d.landline = Some("0571-86001234".into());
        d.address = Some("浙江省杭州市余杭区五常街道文一西路998号".into());
        mask_archive(&mut d);
        let o = d.organization.as_ref().unwrap();
        assert_eq!(o.uscc.as_deref(), Some("91330106MA2B0XXX1K"));
        assert_eq!(o.legal_representative.as_deref(), Some("陈立新"));
        assert_eq!(d.landline.as_deref(), Some("0571-****1234"));
        assert_eq!(d.address.as_deref(), Some("浙江省杭州市余杭区****"));
    }

    #[test]
    fn contacts_and_summaries() {
        let mut c = ContactData {
            name: "刘洋".into(),
            title: Some("采购经理".into()),
            mobile: Some("+86 186 0571 2345".into()),
            landline: Some("0571-87651234-8008".into()),
            email: Some("liuyang@huaxing.com.cn".into()),
            wechat: Some("liuyang_hz".into()),
            birthday: None,
            preferences: Some("喜欢龙井茶".into()),
            is_primary: true,
        };
        mask_contact(&mut c);
        assert_eq!(c.name, "刘洋");
        assert_eq!(c.mobile.as_deref(), Some("186****2345"));
        assert_eq!(c.landline.as_deref(), Some("0571-****1234-8008"));
        assert_eq!(c.email.as_deref(), Some("l***@huaxing.com.cn"));
        assert_eq!(c.wechat.as_deref(), Some("li****"));
        assert_eq!(c.preferences.as_deref(), Some("喜欢龙井茶"));
        let mut m = Some("15067891234".to_string());
        mask_summary_mobile(&mut m);
        assert_eq!(m.as_deref(), Some("150****1234"));
        let mut none: Option<String> = None;
        mask_summary_mobile(&mut none);
        assert_eq!(none, None);
    }

    type Masker = fn(&str) -> String;

    fn all_maskers() -> [(&'static str, Masker); 8] {
        [
            ("mobile", mask_mobile),
            ("id", mask_id_number),
            ("landline", mask_landline),
            ("email", mask_email),
            ("address", mask_address),
            ("bank", mask_bank_account),
            ("text", mask_text),
            ("wechat", mask_wechat),
        ]
    }

    proptest! {
        #[test]
        fn never_panics_and_always_masks(s in "\\PC{0,40}|[0-9０-９+()（） \\-]{0,20}|[北京市朝阳区县旗自治行政省a-z@.0-9]{0,30}") {
            for (name, f) in all_maskers() {
                let out = f(&s);
                if s.trim().is_empty() {
                    prop_assert_eq!(&out, "", "{} of blank", name);
                } else {
                    prop_assert!(out.contains('*'), "{}({:?}) = {:?} shows everything", name, s, out);
                }
            }
        }

        #[test]
        fn mobile_middle_digits_never_shown(m in "1[3-9][0-9]{9}", prefix in "|\\+86|\\+86 |0086|86", spaced in any::<bool>()) {
            let typed = if spaced { format!("{prefix}{} {} {}", &m[..3], &m[3..7], &m[7..]) } else { format!("{prefix}{m}") };
            for out in [mask_mobile(&typed), mask_landline(&typed)] {
                prop_assert_eq!(&out, &format!("{}****{}", &m[..3], &m[7..]));
                prop_assert_eq!(out.chars().filter(char::is_ascii_digit).count(), 7);
            }
        }

        #[test]
        fn id_middle_digits_never_shown(id in "[1-9][0-9]{16}[0-9Xx]") {
            let out = mask_id_number(&id);
            prop_assert_eq!(&out[..6], &id[..6]);
            prop_assert_eq!(&out[6..14], "********");
            prop_assert_eq!(&out[14..], id[14..].to_ascii_uppercase());
            // The birth date (positions 7-14) never appears.
            prop_assert!(out.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 10);
            let old = &id[..15];
            if old.bytes().all(|b| b.is_ascii_digit()) {
                let out = mask_id_number(old);
                prop_assert_eq!(out, format!("{}******{}", &old[..6], &old[12..]));
            }
        }

        #[test]
        fn landline_keeps_only_area_and_last_four(area in "0[3-9][0-9]{2}|01[0]|02[0-9]", local in "[2-8][0-9]{6,7}", sep in "-| |") {
            let out = mask_landline(&format!("{area}{sep}{local}"));
            let n = local.len();
            prop_assert_eq!(out, format!("{area}{sep}{}{}", "*".repeat(n - 4), &local[n - 4..]));
        }
    }
}

/// A client that read a masked archive and sends it back unchanged must not overwrite the real
/// values with stars: every sensitive field of `new` that equals the masked form of `current`'s
/// value takes `current`'s value again. Fields the client really changed are kept.
pub fn restore_masked(new: &mut ArchiveData, current: &ArchiveData) {
    let mut masked = current.clone();
    mask_archive(&mut masked);
    fn restore(new: &mut Option<String>, masked: &Option<String>, current: &Option<String>) {
        if new.is_some() && new == masked && masked != current {
            *new = current.clone();
        }
    }
    restore(&mut new.mobile, &masked.mobile, &current.mobile);
    restore(&mut new.landline, &masked.landline, &current.landline);
    restore(&mut new.email, &masked.email, &current.email);
    restore(&mut new.address, &masked.address, &current.address);
    if let (Some(np), Some(mp), Some(cp)) = (new.person.as_mut(), masked.person.as_ref(), current.person.as_ref()) {
        restore(&mut np.id_number, &mp.id_number, &cp.id_number);
    }
    for (key, value) in new.custom.iter_mut() {
        if let (Some(m), Some(c)) = (masked.custom.get(key), current.custom.get(key)) {
            if value == m && m != c {
                *value = c.clone();
            }
        }
    }
}

/// The same for a contact.
pub fn restore_masked_contact(new: &mut ContactData, current: &ContactData) {
    let mut masked = current.clone();
    mask_contact(&mut masked);
    for (n, m, c) in [
        (&mut new.mobile, &masked.mobile, &current.mobile),
        (&mut new.landline, &masked.landline, &current.landline),
        (&mut new.email, &masked.email, &current.email),
        (&mut new.wechat, &masked.wechat, &current.wechat),
    ] {
        if n.is_some() && n == m && m != c {
            *n = c.clone();
        }
    }
}

#[cfg(test)]
mod restore_tests {
    use super::*;
    use crate::model::{CustomerKind, PersonInfo};

    #[test]
    fn masked_values_sent_back_do_not_overwrite() {
        let mut current = ArchiveData::new(CustomerKind::Person, "张伟");
        current.mobile = Some("13812341234".into());
        current.address = Some("北京市朝阳区建国路88号".into());
        current.person = Some(PersonInfo { id_number: Some("11010519491231002X".into()), ..Default::default() });
        let mut sent = current.clone();
        mask_archive(&mut sent);
        sent.address = Some("上海市浦东新区世纪大道1号".into()); // a real change
        restore_masked(&mut sent, &current);
        assert_eq!(sent.mobile.as_deref(), Some("13812341234"));
        assert_eq!(sent.person.unwrap().id_number.as_deref(), Some("11010519491231002X"));
        assert_eq!(sent.address.as_deref(), Some("上海市浦东新区世纪大道1号"));
    }
}
