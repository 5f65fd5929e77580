//! Duplicate check (查重), pure: how names compare, the keys an archive is found by, why two
//! archives look like the same customer, and what a merge keeps.
//!
//! Every archive has a handful of *keys* (`archive_keys`), strings with a one-letter kind prefix,
//! kept by the store in `dedup_keys` in the same transaction as the archive and its contacts:
//!
//! | prefix | key | kind | reason |
//! |---|---|---|---|
//! | `u:` | unified social credit code | exact | 统一社会信用代码相同 (100) |
//! | `i:` | keyed hash of the ID number (`archives.id_hash`) | exact | 身份证号相同 (100) |
//! | `m:` | the archive's own mobile | exact | 手机号相同 (90) |
//! | `c:` | city + normalized name | likely | 同城同名 (80) |
//! | `n:` | normalized name (organizations only) | likely | 名称近似 (70) |
//! | `p:` | every phone of the archive and its contacts (mobiles, landlines) | likely | 联系电话相同 (60) |
//!
//! Two archives sharing a key are candidates; the reasons are the kinds of the keys they share,
//! the score the best reason's. A person's name alone is not a key (张伟 is thousands of people):
//! persons match on name only within a city.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{ArchiveData, ContactData, CustomerKind};

/// Why two archives may be the same customer. Ordered from the strongest reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// 统一社会信用代码相同
    SameUscc,
    /// 身份证号相同
    SameIdNumber,
    /// 手机号相同 (the archives' own mobiles)
    SameMobile,
    /// 同城同名
    SameNameSameCity,
    /// 名称近似 (equal after normalization)
    SimilarName,
    /// 联系电话相同 (a phone of one archive or its contacts is a phone of the other)
    SameContactPhone,
}

impl Reason {
    pub const ALL: &'static [Reason] = &[Reason::SameUscc, Reason::SameIdNumber, Reason::SameMobile, Reason::SameNameSameCity, Reason::SimilarName, Reason::SameContactPhone];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SameUscc => "same_uscc",
            Reason::SameIdNumber => "same_id_number",
            Reason::SameMobile => "same_mobile",
            Reason::SameNameSameCity => "same_name_same_city",
            Reason::SimilarName => "similar_name",
            Reason::SameContactPhone => "same_contact_phone",
        }
    }

    /// The key prefix (one letter) of the keys that give this reason.
    pub fn prefix(self) -> char {
        match self {
            Reason::SameUscc => 'u',
            Reason::SameIdNumber => 'i',
            Reason::SameMobile => 'm',
            Reason::SameNameSameCity => 'c',
            Reason::SimilarName => 'n',
            Reason::SameContactPhone => 'p',
        }
    }

    pub fn of_key(key: &str) -> Option<Reason> {
        let p = key.chars().next()?;
        Reason::ALL.iter().copied().find(|r| r.prefix() == p)
    }

    /// Exact keys identify a customer; likely keys only suggest one.
    pub fn exact(self) -> bool {
        matches!(self, Reason::SameUscc | Reason::SameIdNumber | Reason::SameMobile)
    }

    /// 0–100: how sure the reason alone makes a duplicate.
    pub fn score(self) -> u8 {
        match self {
            Reason::SameUscc | Reason::SameIdNumber => 100,
            Reason::SameMobile => 90,
            Reason::SameNameSameCity => 80,
            Reason::SimilarName => 70,
            Reason::SameContactPhone => 60,
        }
    }

    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (Reason::SameUscc, "en") => "same unified social credit code",
            (Reason::SameUscc, _) => "统一社会信用代码相同",
            (Reason::SameIdNumber, "en") => "same ID number",
            (Reason::SameIdNumber, "zh-TW") => "身分證號相同",
            (Reason::SameIdNumber, _) => "身份证号相同",
            (Reason::SameMobile, "en") => "same mobile phone",
            (Reason::SameMobile, "zh-TW") => "手機號相同",
            (Reason::SameMobile, _) => "手机号相同",
            (Reason::SameNameSameCity, "en") => "same name in the same city",
            (Reason::SameNameSameCity, _) => "同城同名",
            (Reason::SimilarName, "en") => "similar name",
            (Reason::SimilarName, _) => "名称近似",
            (Reason::SameContactPhone, "en") => "same contact phone",
            (Reason::SameContactPhone, "zh-TW") => "聯絡電話相同",
            (Reason::SameContactPhone, _) => "联系电话相同",
        }
    }
}

/// The score of a set of reasons: the best reason's, plus 5 for each further reason (≤ 100).
pub fn score(reasons: &[Reason]) -> u8 {
    let best = reasons.iter().map(|r| r.score()).max().unwrap_or(0);
    (best as usize + 5 * reasons.len().saturating_sub(1)).min(100) as u8
}

/// Company-form suffixes, longest first (after normalization: simplified, half-width, lowercase,
/// no spaces or punctuation).
const COMPANY_FORMS: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "集团股份公司",
    "有限公司",
    "股份公司",
    "责任公司",
    "集团公司",
    "分公司",
    "总公司",
    "公司",
    "集团",
    "limitedliabilitycompany",
    "corporation",
    "colimited",
    "coltd",
    "limited",
    "company",
    "corp",
    "ltd",
    "inc",
    "llc",
    "co",
];

/// Provinces and cities as they appear in company names (杭州华星…, 华星…（杭州）).
const REGIONS: &[&str] = &[
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南",
    "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门", "石家庄", "唐山", "保定", "太原", "大同",
    "沈阳", "大连", "长春", "吉林", "哈尔滨", "大庆", "南京", "无锡", "徐州", "常州", "苏州", "南通", "扬州", "镇江", "泰州", "盐城", "连云港", "淮安", "宿迁", "杭州",
    "宁波", "温州", "嘉兴", "湖州", "绍兴", "金华", "衢州", "舟山", "台州", "丽水", "义乌", "合肥", "芜湖", "蚌埠", "福州", "厦门", "泉州", "漳州", "莆田", "南昌",
    "赣州", "九江", "济南", "青岛", "烟台", "潍坊", "淄博", "临沂", "济宁", "威海", "郑州", "洛阳", "开封", "武汉", "宜昌", "襄阳", "长沙", "株洲", "湘潭", "岳阳",
    "广州", "深圳", "珠海", "汕头", "佛山", "东莞", "中山", "惠州", "江门", "湛江", "海口", "三亚", "成都", "绵阳", "贵阳", "遵义", "昆明", "大理", "西安", "咸阳",
    "兰州", "西宁", "南宁", "桂林", "柳州", "拉萨", "银川", "乌鲁木齐", "呼和浩特", "包头",
];

const REGION_SUFFIXES: &[char] = &['省', '市', '区', '县'];

/// Is `s` a region name, with or without 省/市/区/县 (浙江, 杭州市, 西湖区)?
fn is_region(s: &str) -> bool {
    let t = s.trim_end_matches(REGION_SUFFIXES);
    !t.is_empty() && (REGIONS.contains(&t) || (s.ends_with(REGION_SUFFIXES) && t.chars().count() <= 4 && t.chars().all(crate::search::is_han)))
}

/// The leading region of a name (杭州 in 杭州华星建材, 浙江 in 浙江省杭州…), longest first.
fn leading_region(s: &str) -> Option<&str> {
    let chars: Vec<(usize, char)> = s.char_indices().collect();
    for n in (2..=5.min(chars.len())).rev() {
        let end = chars.get(n).map(|(i, _)| *i).unwrap_or(s.len());
        let head = &s[..end];
        let bare = head.trim_end_matches(REGION_SUFFIXES);
        if REGIONS.contains(&bare) && (bare.len() == head.len() || head.ends_with(['省', '市'])) {
            return Some(head);
        }
    }
    None
}

fn is_open(c: char) -> bool {
    matches!(c, '(' | '[' | '{' | '（' | '【' | '〔' | '［' | '《' | '<')
}

fn is_close(c: char) -> bool {
    matches!(c, ')' | ']' | '}' | '）' | '】' | '〕' | '］' | '》' | '>')
}

/// A name as names are compared: simplified, half-width, lowercase, bracketed regions
/// (（杭州）) dropped but other bracketed text kept, spaces and punctuation removed.
fn comparable(name: &str) -> (String, Option<String>) {
    let s = crate::search::normalize(name);
    let mut out = String::with_capacity(s.len());
    let mut region = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if is_open(c) {
            let mut inner = String::new();
            for d in chars.by_ref() {
                if is_close(d) {
                    break;
                }
                inner.push(d);
            }
            let inner = inner.trim().to_string();
            if is_region(&inner) {
                region.get_or_insert(inner.trim_end_matches(REGION_SUFFIXES).to_string());
            } else {
                out.push_str(&inner);
            }
            continue;
        }
        out.push(c);
    }
    let cleaned: String = out.chars().filter(|c| c.is_alphanumeric()).collect();
    (cleaned, region)
}

/// The name of a customer as the duplicate check compares names: 杭州华星建材有限公司,
/// 華星建材（杭州）有限責任公司 and 杭州华星建材股份有限公司 all become 华星建材. For
/// organizations the company form (有限公司, 有限责任公司, 股份有限公司, Co., Ltd. …) and a
/// leading or bracketed region are dropped (as long as something is left); for persons only
/// width, script, case, spaces and punctuation are.
pub fn normalize_name(kind: CustomerKind, name: &str) -> String {
    normalize_name_region(kind, name).0
}

/// As `normalize_name`, also returning the region the name carried (杭州), if any.
pub fn normalize_name_region(kind: CustomerKind, name: &str) -> (String, Option<String>) {
    let (mut s, mut region) = comparable(name);
    if kind == CustomerKind::Person {
        return (s, None);
    }
    // Form suffixes may repeat after a bracket was dropped (华星（杭州）有限公司 → 华星有限公司).
    while let Some(form) = COMPANY_FORMS.iter().find(|f| s.ends_with(*f) && s.len() > f.len()) {
        s.truncate(s.len() - form.len());
    }
    while let Some(head) = leading_region(&s) {
        if s[head.len()..].chars().count() < 2 {
            break;
        }
        // The most specific region wins (杭州 in 浙江省杭州市…).
        if region.as_deref().is_none_or(is_province) {
            region = Some(head.trim_end_matches(REGION_SUFFIXES).to_string());
        }
        s = s[head.len()..].to_string();
    }
    (s, region)
}

/// Digits of a phone number as compared: `+86 138-0000-1111` → `13800001111`; too short to
/// identify anyone (< 7 digits) → None.
pub fn normalize_phone(p: &str) -> Option<String> {
    let half = crate::search::normalize(p);
    let mut d: String = half.chars().filter(|c| c.is_ascii_digit()).collect();
    if d.len() == 13 && d.starts_with("86") && d[2..].starts_with('1') {
        d.drain(..2);
    } else if d.len() == 15 && d.starts_with("0086") {
        d.drain(..4);
    }
    (d.len() >= 7).then_some(d)
}

fn city_of(d: &ArchiveData, name_region: Option<&str>) -> Option<String> {
    let c = d.classification.city.as_deref().map(crate::search::normalize).map(|c| c.trim().trim_end_matches(REGION_SUFFIXES).to_string()).filter(|c| !c.is_empty());
    c.or_else(|| name_region.filter(|r| !is_province(r)).map(str::to_string))
}

fn is_province(r: &str) -> bool {
    REGIONS.iter().position(|x| *x == r).is_some_and(|i| i < 34) && !matches!(r, "北京" | "天津" | "上海" | "重庆")
}

/// The keys of an archive (see the module table), deduplicated and sorted. `id_hash` is the
/// keyed hash of the ID number (`ArchiveData.person.id_number_index` at write time); the store
/// passes the stored one.
pub fn archive_keys<'a>(data: &ArchiveData, id_hash: Option<&str>, contacts: impl IntoIterator<Item = &'a ContactData>) -> Vec<String> {
    let mut keys = BTreeSet::new();
    if let Some(u) = data.uscc().map(|u| crate::search::normalize(u).to_ascii_uppercase()).filter(|u| !u.trim().is_empty()) {
        keys.insert(format!("u:{}", u.trim()));
    }
    if let Some(h) = id_hash.filter(|h| !h.is_empty()) {
        keys.insert(format!("i:{h}"));
    }
    if let Some(m) = data.mobile.as_deref().and_then(normalize_phone) {
        keys.insert(format!("m:{m}"));
        keys.insert(format!("p:{m}"));
    }
    if let Some(l) = data.landline.as_deref().and_then(normalize_phone) {
        keys.insert(format!("p:{l}"));
    }
    for c in contacts {
        for p in [c.mobile.as_deref(), c.landline.as_deref()].into_iter().flatten() {
            if let Some(p) = normalize_phone(p) {
                keys.insert(format!("p:{p}"));
            }
        }
    }
    let (name, region) = normalize_name_region(data.kind, &data.name);
    if name.chars().count() >= 2 {
        if data.kind == CustomerKind::Organization {
            keys.insert(format!("n:{name}"));
        }
        if let Some(city) = city_of(data, region.as_deref()) {
            keys.insert(format!("c:{city}|{name}"));
        }
    }
    keys.into_iter().collect()
}

/// The reasons behind a set of shared keys, strongest first, each once.
pub fn reasons_of<'a>(shared_keys: impl IntoIterator<Item = &'a str>) -> Vec<Reason> {
    let set: BTreeSet<Reason> = shared_keys.into_iter().filter_map(Reason::of_key).collect();
    set.into_iter().collect()
}

/// Duplicates among rows not yet stored (one import batch): for each pair of rows sharing a key,
/// `(earlier row, later row, reasons)`. Keys shared by more than `max_group` rows are skipped
/// (a common name says nothing).
pub fn pairs_within(rows: &[Vec<String>], max_group: usize) -> Vec<(usize, usize, Vec<Reason>)> {
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, keys) in rows.iter().enumerate() {
        for k in keys {
            by_key.entry(k.as_str()).or_default().push(i);
        }
    }
    let mut pairs: BTreeMap<(usize, usize), BTreeSet<Reason>> = BTreeMap::new();
    for (k, rows) in by_key {
        if rows.len() < 2 || rows.len() > max_group {
            continue;
        }
        let Some(reason) = Reason::of_key(k) else { continue };
        for (x, &a) in rows.iter().enumerate() {
            for &b in &rows[x + 1..] {
                pairs.entry((a, b)).or_default().insert(reason);
            }
        }
    }
    pairs.into_iter().map(|((a, b), r)| (a, b, r.into_iter().collect())).collect()
}

/// The document of the survivor of a merge: the survivor's values win; a field the survivor
/// left empty (absent, blank, `false`, an empty list) takes the other's value; tags are the union;
/// custom fields the survivor lacks are added. Protection never goes down: the stricter secrecy
/// (秘密 over 普通 …), the narrower tier (个人级 over 部门级 over 公司级) and the longer retention
/// are kept, whichever archive they came from. Owner and department stay the survivor's. Returns
/// the document and the paths of the fields that came from the other archive.
pub fn merge_documents(survivor: &ArchiveData, other: &ArchiveData) -> (ArchiveData, Vec<String>) {
    let mut taken = Vec::new();
    let mut s = serde_json::to_value(survivor).unwrap_or_default();
    let o = serde_json::to_value(other).unwrap_or_default();
    fill(&mut s, &o, "", &mut taken);
    let mut merged: ArchiveData = serde_json::from_value(s).unwrap_or_else(|_| survivor.clone());
    merged.kind = survivor.kind;
    merged.owner_id = survivor.owner_id;
    merged.dept_id = survivor.dept_id;
    merged.secrecy = survivor.secrecy.max(other.secrecy);
    merged.tier = survivor.tier.max(other.tier);
    merged.retention_class = survivor.retention_class.min(other.retention_class);
    if merged.secrecy != survivor.secrecy {
        taken.push("secrecy".into());
    }
    if merged.tier != survivor.tier {
        taken.push("tier".into());
    }
    if merged.retention_class != survivor.retention_class {
        taken.push("retention_class".into());
    }
    if let (Some(p), Some(op)) = (merged.person.as_mut(), other.person.as_ref()) {
        if survivor.person.as_ref().and_then(|x| x.id_number.as_ref()).is_none() {
            p.id_number_index = op.id_number_index.clone();
        }
    }
    let mut tags = survivor.classification.tags.clone();
    for t in &other.classification.tags {
        if !tags.contains(t) {
            tags.push(t.clone());
            if !taken.iter().any(|x| x == "classification.tags") {
                taken.push("classification.tags".into());
            }
        }
    }
    merged.classification.tags = tags;
    taken.retain(|p| !matches!(p.as_str(), "kind" | "owner_id" | "dept_id"));
    taken.sort();
    taken.dedup();
    (merged, taken)
}

fn is_empty(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Null => true,
        serde_json::Value::Bool(b) => !b,
        serde_json::Value::String(s) => s.trim().is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        serde_json::Value::Object(o) => o.is_empty(),
        serde_json::Value::Number(_) => false,
    }
}

const PROTECTION: &[&str] = &["secrecy", "tier", "retention_class", "status", "kind", "owner_id", "dept_id", "classification.tags"];

fn fill(s: &mut serde_json::Value, o: &serde_json::Value, path: &str, taken: &mut Vec<String>) {
    let (Some(sm), Some(om)) = (s.as_object_mut(), o.as_object()) else { return };
    for (k, ov) in om {
        let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
        if PROTECTION.contains(&p.as_str()) || is_empty(ov) {
            continue;
        }
        match sm.get_mut(k) {
            Some(sv) if sv.is_object() && ov.is_object() && !(path.is_empty() && k == "custom") => fill(sv, ov, &p, taken),
            Some(sv) if path.is_empty() && k == "custom" => {
                if let (Some(sc), Some(oc)) = (sv.as_object_mut(), ov.as_object()) {
                    for (ck, cv) in oc {
                        if sc.get(ck).is_none_or(is_empty) {
                            sc.insert(ck.clone(), cv.clone());
                            taken.push(format!("custom.{ck}"));
                        }
                    }
                }
            }
            Some(sv) if !is_empty(sv) => {}
            _ => {
                sm.insert(k.clone(), ov.clone());
                taken.push(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CustomerKind::*, OrganizationInfo, PersonInfo, Secrecy, Tier};

    #[test]
    fn company_names_compare_without_form_region_width_or_script() {
        let n = |s| normalize_name(Organization, s);
        let base = n("杭州华星建材有限公司");
        assert_eq!(base, "华星建材");
        for s in [
            "杭州华星建材有限责任公司",
            "杭州华星建材股份有限公司",
            "华星建材（杭州）有限公司",
            "华星建材(杭州市)有限公司",
            "杭州 华星建材 有限公司",
            "杭州華星建材有限公司",
            "浙江省杭州市华星建材有限公司",
            "华星建材",
        ] {
            assert_eq!(n(s), base, "{s}");
        }
        assert_eq!(n("华星（集团）建材有限公司"), "华星集团建材", "brackets that are not a region keep their text");
        assert_eq!(n("Ｈｕａｘｉｎｇ Co., Ltd."), "huaxing");
        assert_ne!(n("华星建材"), n("华兴建材"));
        assert!(!n("有限公司").is_empty(), "nothing is stripped down to nothing");
        assert_eq!(n("ＡＢＣ建材有限公司"), n("abc建材有限公司"));
        assert_eq!(normalize_name_region(Organization, "浙江省杭州市华星建材有限公司").1.as_deref(), Some("杭州"));
        assert_eq!(n("杭州公司"), "杭州", "a region alone stays");
        assert_eq!(normalize_name(Person, "陳 偉"), "陈伟");
        assert_eq!(normalize_name(Person, "张伟（杭州）"), "张伟");
    }

    #[test]
    fn regions_become_the_city_of_a_name() {
        assert_eq!(normalize_name_region(Organization, "华星建材（杭州）有限公司").1.as_deref(), Some("杭州"));
        assert_eq!(normalize_name_region(Organization, "杭州华星建材有限公司").1.as_deref(), Some("杭州"));
        let mut a = ArchiveData::new(Organization, "华星建材（杭州）有限公司");
        let k = archive_keys(&a, None, []);
        assert!(k.contains(&"c:杭州|华星建材".to_string()), "{k:?}");
        a.classification.city = Some("杭州市".into());
        a.name = "华星建材有限公司".into();
        assert!(archive_keys(&a, None, []).contains(&"c:杭州|华星建材".to_string()));
    }

    #[test]
    fn phones() {
        assert_eq!(normalize_phone("+86 138-0000-1111").as_deref(), Some("13800001111"));
        assert_eq!(normalize_phone("１３８００００１１１１").as_deref(), Some("13800001111"));
        assert_eq!(normalize_phone("0571-8888 1234").as_deref(), Some("057188881234"));
        assert_eq!(normalize_phone("123"), None);
    }

    #[test]
    fn keys_of_an_archive() {
        let mut a = ArchiveData::new(Organization, "杭州华星建材有限公司");
        a.organization = Some(OrganizationInfo { uscc: Some("91330100MA27XXXX0X".into()), ..Default::default() });
        a.mobile = Some("13800001111".into());
        let c = ContactData { name: "王五".into(), title: None, mobile: Some("13900002222".into()), landline: Some("0571-88881234".into()), email: None, wechat: None, birthday: None, preferences: None, is_primary: false };
        let k = archive_keys(&a, None, [&c]);
        assert_eq!(k, vec!["c:杭州|华星建材", "m:13800001111", "n:华星建材", "p:057188881234", "p:13800001111", "p:13900002222", "u:91330100MA27XXXX0X"]);
        let mut p = ArchiveData::new(Person, "张伟");
        p.person = Some(PersonInfo::default());
        assert!(archive_keys(&p, Some("abc"), []).contains(&"i:abc".to_string()));
        assert!(!archive_keys(&p, None, []).iter().any(|k| k.starts_with("n:")), "a person's name alone is no key");
    }

    #[test]
    fn reasons_and_scores() {
        assert_eq!(reasons_of(["p:1", "u:x", "m:1"]), vec![Reason::SameUscc, Reason::SameMobile, Reason::SameContactPhone]);
        assert_eq!(score(&[Reason::SimilarName]), 70);
        assert_eq!(score(&[Reason::SimilarName, Reason::SameNameSameCity]), 85);
        assert_eq!(score(&[Reason::SameUscc, Reason::SameMobile]), 100);
        assert_eq!(Reason::SameNameSameCity.label("zh-CN"), "同城同名");
        assert_eq!(Reason::SameIdNumber.label("zh-TW"), "身分證號相同");
        for r in Reason::ALL {
            assert_eq!(Reason::of_key(&format!("{}:x", r.prefix())), Some(*r));
        }
    }

    #[test]
    fn pairs_within_a_batch() {
        let rows = vec![vec!["n:a".to_string()], vec!["n:b".to_string()], vec!["n:a".to_string(), "m:1".to_string()], vec!["m:1".to_string()]];
        assert_eq!(pairs_within(&rows, 10), vec![(0, 2, vec![Reason::SimilarName]), (2, 3, vec![Reason::SameMobile])]);
        assert!(pairs_within(&rows, 1).is_empty());
    }

    #[test]
    fn merge_fills_empty_fields_and_keeps_the_stricter_protection() {
        let mut s = ArchiveData::new(Organization, "华星建材");
        s.mobile = Some("13800001111".into());
        s.classification.tags = vec!["老客户".into()];
        let mut o = ArchiveData::new(Organization, "杭州华星建材有限公司");
        o.mobile = Some("13900002222".into());
        o.email = Some("a@b.cn".into());
        o.organization = Some(OrganizationInfo { uscc: Some("91330100MA27XXXX0X".into()), ..Default::default() });
        o.classification.tags = vec!["经销商".into(), "老客户".into()];
        o.classification.city = Some("杭州市".into());
        o.secrecy = Secrecy::Secret;
        o.tier = Tier::Company;
        s.tier = Tier::Department;
        o.owner_id = Some(9);
        s.owner_id = Some(1);
        let (m, taken) = merge_documents(&s, &o);
        assert_eq!(m.name, "华星建材");
        assert_eq!(m.mobile.as_deref(), Some("13800001111"));
        assert_eq!(m.email.as_deref(), Some("a@b.cn"));
        assert_eq!(m.uscc(), Some("91330100MA27XXXX0X"));
        assert_eq!(m.classification.tags, vec!["老客户", "经销商"]);
        assert_eq!(m.classification.city.as_deref(), Some("杭州市"));
        assert_eq!(m.secrecy, Secrecy::Secret, "the stricter secrecy");
        assert_eq!(m.tier, Tier::Department, "the narrower tier");
        assert_eq!(m.owner_id, Some(1));
        assert_eq!(taken, vec!["classification.city", "classification.tags", "email", "organization", "secrecy"]);
    }
}
