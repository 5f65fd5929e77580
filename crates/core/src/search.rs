//! Search terms and queries (pure; no I/O).
//!
//! The index holds terms the application computes, the same on both engines:
//! - fragments: CJK unigrams and bigrams of names (archive name, contact names, legal
//!   representative); pinyin *windows* — from every character, the initials of up to 8 characters
//!   (`hxjcyxgs`) and the full pinyin of up to 3 (`huaxingjian`) — every reading of polyphonic
//!   characters (bounded) plus an override table for surnames; ASCII words; every 4-digit piece of
//!   every phone number;
//! - anchored terms for ranking: `_p` + the start of a name (its first 6 characters, initials,
//!   full pinyin of its first 3 characters) and `_e` + the whole name (and its pinyin when short);
//! - `_t` + a tag, for the tag filter;
//! - `_f` + a field letter + a value: filter facets (grade, credit grade, blacklist, status, kind,
//!   industry, province, city, owner, department), so that a text search with filters lets the
//!   index drop the archives the filters reject before any archive row is read.
//!
//! A query becomes up to three expressions over these terms — exact, prefix, fragment — so that
//! the store can return exact matches first, then names starting with the query, then the rest.
//! Text is normalized first (full-width → half-width, traditional → simplified, ASCII lowercase),
//! character for character, so positions in a normalized name are positions in the original.

use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

use pinyin::ToPinyinMulti;

use crate::model::{ArchiveData, ContactData, Secrecy};

/// Anchored `_p` terms: the first 1..=3 characters / initials, the first 1..=2 syllables. Exact
/// terms, so that ranking never scans a range of terms.
const ANCHOR_CHARS: usize = 3;
const ANCHOR_SYLLABLES: usize = 2;
/// Names up to this many characters also get whole-name pinyin `_e` terms.
const EXACT_PINYIN_CHARS: usize = 6;
/// Initials window length (characters).
const INITIALS_WINDOW: usize = 8;
/// Full-pinyin window length (syllables).
const FULL_WINDOW: usize = 3;
/// Pinyin variants kept per window when polyphonic characters multiply them.
const MAX_VARIANTS: usize = 6;
/// Longest whole-name `_e` term.
const MAX_EXACT_CHARS: usize = 40;

/// Full-width → half-width, traditional → simplified, ASCII lowercase; one char for one char.
pub fn normalize(s: &str) -> String {
    let half: String = s
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect();
    let simplified = fast2s::convert(&half);
    simplified.chars().map(|c| c.to_ascii_lowercase()).collect()
}

pub fn is_han(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Whether a term is one token, unchanged, for the text index's tokenizer: lowercase ASCII
/// letters, digits, `_` and Han characters only. Every term `archive_terms` writes and every
/// term a query names is such a run, which is why SQLite's index can use FTS5's `ascii`
/// tokenizer (`tokenchars '_'`: non-ASCII characters are token characters, ASCII punctuation and
/// spaces separate) instead of `unicode61`, which looks each character up in Unicode tables
/// only to find what we already guaranteed (a tenth of an import's CPU).
pub fn is_index_token(term: &str) -> bool {
    !term.is_empty() && term.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || is_han(c))
}

/// Readings that the pinyin tables rank low or miss but that names use (surnames, places).
const EXTRA_READINGS: &[(char, &[&str])] = &[
    ('曾', &["zeng", "ceng"]),
    ('单', &["shan", "dan"]),
    ('解', &["xie", "jie"]),
    ('仇', &["qiu", "chou"]),
    ('区', &["ou", "qu"]),
    ('朴', &["piao", "pu"]),
    ('查', &["zha", "cha"]),
    ('盖', &["ge", "gai"]),
    ('尉', &["yu", "wei"]),
    ('翟', &["zhai", "di"]),
    ('召', &["shao", "zhao"]),
    ('缪', &["miao", "mou"]),
    ('乐', &["yue", "le"]),
    ('种', &["chong", "zhong"]),
    ('繁', &["po", "fan"]),
    ('覃', &["qin", "tan"]),
    ('员', &["yun", "yuan"]),
    ('万', &["wan", "mo"]),
    ('重', &["chong", "zhong"]),
    ('长', &["chang", "zhang"]),
    ('行', &["hang", "xing"]),
    ('厦', &["xia", "sha"]),
    ('蚌', &["beng", "bang"]),
];

/// Every plain (toneless) reading of a character, most common first, overrides first of all.
pub fn readings(c: char) -> &'static [&'static str] {
    table(c).map(|e| e.0.as_slice()).unwrap_or(&[])
}

/// The distinct first letters of a character's readings.
fn initials(c: char) -> &'static [&'static str] {
    table(c).map(|e| e.1.as_slice()).unwrap_or(&[])
}

const TABLE_START: u32 = 0x3400;
const TABLE_END: u32 = 0x9FFF;

type Entry = (Vec<&'static str>, Vec<&'static str>);

/// Readings and initials of every character in the main CJK blocks, computed once.
fn table(c: char) -> Option<&'static Entry> {
    static TABLE: OnceLock<Vec<Entry>> = OnceLock::new();
    let cp = c as u32;
    if !(TABLE_START..=TABLE_END).contains(&cp) {
        return None;
    }
    let t = TABLE.get_or_init(|| (TABLE_START..=TABLE_END).map(|cp| char::from_u32(cp).map(compute_readings).unwrap_or_default()).collect());
    t.get((cp - TABLE_START) as usize)
}

fn compute_readings(c: char) -> Entry {
    let mut out: Vec<&'static str> = Vec::new();
    if let Some((_, extra)) = EXTRA_READINGS.iter().find(|(k, _)| *k == c) {
        out.extend(extra.iter().copied());
    }
    if let Some(multi) = c.to_pinyin_multi() {
        for p in multi {
            let s = p.plain();
            // ü is written v on keyboards.
            let s: &'static str = if s.contains('ü') { leak_v(s) } else { s };
            // Interjection readings written with other letters (ê, ń, m̄) are not typed as pinyin.
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase()) && !out.contains(&s) {
                out.push(s);
            }
        }
    }
    let mut ini: Vec<&'static str> = Vec::new();
    for r in &out {
        if !ini.contains(&&r[..1]) {
            ini.push(&r[..1]);
        }
    }
    (out, ini)
}

/// `lü` → `lv`, interned once per distinct reading.
fn leak_v(s: &'static str) -> &'static str {
    static CACHE: OnceLock<std::sync::Mutex<Vec<(&'static str, &'static str)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut g = cache.lock().expect("pinyin cache");
    if let Some((_, v)) = g.iter().find(|(k, _)| *k == s) {
        return v;
    }
    let v: &'static str = Box::leak(s.replace('ü', "v").into_boxed_str());
    g.push((s, v));
    v
}

/// Every pinyin syllable (toneless), for splitting typed pinyin.
fn syllables() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = HashSet::new();
        for cp in 0x4E00u32..=0x9FFF {
            if let Some(c) = char::from_u32(cp) {
                for r in readings(c) {
                    set.insert(*r);
                }
            }
        }
        set
    })
}

fn is_syllable_prefix(s: &str) -> bool {
    syllables().iter().any(|y| y.starts_with(s))
}

/// Splits typed pinyin into syllables, the last possibly incomplete (`zhangw` → zhang, w).
/// Longest syllables first, backtracking when the rest does not split.
pub fn split_pinyin(s: &str) -> Option<Vec<String>> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    fn go(s: &str, out: &mut Vec<String>) -> bool {
        if s.is_empty() {
            return true;
        }
        for len in (1..=s.len().min(6)).rev() {
            let head = &s[..len];
            if syllables().contains(head) {
                out.push(head.to_string());
                if go(&s[len..], out) {
                    return true;
                }
                out.pop();
            }
        }
        if is_syllable_prefix(s) {
            out.push(s.to_string());
            return true;
        }
        false
    }
    let mut out = Vec::new();
    go(s, &mut out).then_some(out)
}

/// Readings of a window: the most common reading of every character, then each other reading
/// of each character in turn (the surname first) with the rest at their most common; at most
/// `MAX_VARIANTS`. So every reading of every character is indexed, without the product of all.
fn variants<'a, S: AsRef<[&'a str]>>(choices: &[S]) -> Vec<String> {
    let mut out = Vec::new();
    variants_into(choices, "", |v| out.push(v.to_string()));
    out
}

/// `variants`, each with `prefix` in front, handed to `emit` as a borrowed string (one buffer,
/// no allocation per variant: the index terms of a name are many).
fn variants_into<'a, S: AsRef<[&'a str]>>(choices: &[S], prefix: &str, mut emit: impl FnMut(&str)) {
    let mut buf = String::with_capacity(64);
    buf.push_str(prefix);
    for o in choices {
        buf.push_str(o.as_ref()[0]);
    }
    emit(&buf);
    // Variants emitted so far (prefix included), to leave out repeats as `variants` always did.
    let mut seen: Vec<String> = Vec::new();
    let mut n = 1;
    'outer: for (i, opts) in choices.iter().enumerate() {
        for alt in &opts.as_ref()[1..] {
            if n >= MAX_VARIANTS {
                break 'outer;
            }
            let mut v = String::with_capacity(buf.len() + 8);
            v.push_str(prefix);
            for (j, o) in choices.iter().enumerate() {
                v.push_str(if j == i { alt } else { o.as_ref()[0] });
            }
            if v != buf && !seen.contains(&v) {
                emit(&v);
                seen.push(v);
                n += 1;
            }
        }
    }
}

/// A character's readings (or initials); a character without any reads as "".
fn han_choices(chars: &[char], initial: bool) -> Vec<&'static [&'static str]> {
    chars.iter().map(|c| han_choice(*c, initial)).collect()
}

fn han_choice(c: char, initial: bool) -> &'static [&'static str] {
    const NONE: &[&str] = &[""];
    let r = if initial { initials(c) } else { readings(c) };
    if r.is_empty() {
        NONE
    } else {
        r
    }
}

/// The index terms of one archive as they are produced: every term is appended to one buffer
/// and remembered by its span, so the hundred-odd short terms of a name cost no allocation
/// each (the import's reader and the reindex compute them for every archive).
struct Terms {
    buf: String,
    spans: Vec<(u32, u32)>,
}

impl Terms {
    fn new() -> Self {
        Terms { buf: String::with_capacity(2048), spans: Vec::with_capacity(256) }
    }

    fn push(&mut self, term: &str) {
        self.push_with(|b| b.push_str(term));
    }

    /// A term written by `write` straight into the buffer.
    fn push_with(&mut self, write: impl FnOnce(&mut String)) {
        let start = self.buf.len();
        write(&mut self.buf);
        self.spans.push((start as u32, self.buf.len() as u32));
    }

    fn push_chars(&mut self, chars: &[char]) {
        self.push_with(|b| b.extend(chars));
    }

    /// A term made of a marker (`_e`, `_p`…) and a body.
    fn push_prefixed(&mut self, prefix: &str, body: &str) {
        self.push_with(|b| {
            b.push_str(prefix);
            b.push_str(body);
        });
    }

    /// The distinct terms, sorted, space-separated.
    fn joined(mut self) -> String {
        let buf = &self.buf;
        let term = |&(s, e): &(u32, u32)| &buf[s as usize..e as usize];
        self.spans.sort_unstable_by(|a, b| term(a).cmp(term(b)));
        self.spans.dedup_by(|a, b| term(a) == term(b));
        let mut out = String::with_capacity(buf.len() + self.spans.len());
        for (i, span) in self.spans.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(term(span));
        }
        out
    }
}

/// Adds the terms of one name (already normalized) to `out`; `anchored`: also the terms that
/// rank "starts with" (the archive's own name; contacts rank as exact or fragment).
fn name_terms(name: &str, anchored: bool, out: &mut Terms) {
    let chars: Vec<char> = name.chars().collect();
    let compact: String = chars.iter().filter(|c| is_han(**c) || is_word_char(**c)).collect();
    if compact.is_empty() {
        return;
    }
    // Runs of Han characters and ASCII words.
    let mut i = 0;
    while i < chars.len() {
        if is_han(chars[i]) {
            let start = i;
            while i < chars.len() && is_han(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            let ini: Vec<&'static [&'static str]> = han_choices(run, true);
            let full: Vec<&'static [&'static str]> = han_choices(run, false);
            for k in 0..run.len() {
                out.push_chars(&run[k..k + 1]);
                if k + 1 < run.len() {
                    out.push_chars(&run[k..k + 2]);
                }
                let end = (k + INITIALS_WINDOW).min(run.len());
                variants_into(&ini[k..end], "", |v| out.push(v));
                let end = (k + FULL_WINDOW).min(run.len());
                variants_into(&full[k..end], "", |v| out.push(v));
            }
        } else if is_word_char(chars[i]) {
            let start = i;
            while i < chars.len() && is_word_char(chars[i]) {
                i += 1;
            }
            out.push_chars(&chars[start..i]);
        } else {
            i += 1;
        }
    }
    // Anchored and whole-name terms, for ranking.
    let c: Vec<char> = compact.chars().collect();
    if anchored {
        for k in 1..=c.len().min(ANCHOR_CHARS) {
            out.push_with(|b| {
                b.push_str("_p");
                b.extend(&c[..k]);
            });
        }
    }
    if c.len() <= MAX_EXACT_CHARS {
        out.push_prefixed("_e", &compact);
    }
    let lead: Vec<char> = c.iter().copied().take_while(|x| is_han(*x)).collect();
    if !lead.is_empty() {
        // Initials from two letters: one letter alone would be in most names' terms.
        for k in (2..=lead.len().min(ANCHOR_CHARS)).filter(|_| anchored) {
            variants_into(&han_choices(&lead[..k], true), "_p", |v| out.push(v));
        }
        for k in (1..=lead.len().min(ANCHOR_SYLLABLES)).filter(|_| anchored) {
            variants_into(&han_choices(&lead[..k], false), "_p", |v| out.push(v));
        }
        if lead.len() == c.len() && c.len() <= EXACT_PINYIN_CHARS {
            variants_into(&han_choices(&c, true), "_e", |v| out.push(v));
            variants_into(&han_choices(&c, false), "_e", |v| out.push(v));
        }
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_digit()).collect()
}

fn phone_terms(phone: &str, out: &mut Terms) {
    let d = digits(&normalize(phone));
    if d.len() < 4 {
        return;
    }
    // ASCII digits: every 4-byte window is a whole string slice.
    for k in 0..=d.len() - 4 {
        out.push(&d[k..k + 4]);
    }
    out.push_prefixed("_e", &d);
}

fn compact_tag(tag: &str) -> String {
    normalize(tag).chars().filter(|c| is_han(*c) || is_word_char(*c)).collect()
}

/// The term for a tag (filter).
pub fn tag_term(tag: &str) -> String {
    format!("_t{}", compact_tag(tag))
}

/// The index terms of an archive and its contacts, space-separated (empty: not indexed).
/// 绝密 archives are listed by number only, so nothing of their content is indexed.
/// The ID number is not indexed (it is encrypted; exact lookup uses its keyed hash).
pub fn archive_terms<'a>(data: &ArchiveData, contacts: impl IntoIterator<Item = &'a ContactData>) -> String {
    if data.secrecy == Secrecy::TopSecret {
        return String::new();
    }
    // Collected, then sorted and deduplicated once (what a set would give, cheaper per term).
    let mut out = Terms::new();
    name_terms(&normalize(&data.name), true, &mut out);
    if let Some(r) = data.organization.as_ref().and_then(|o| o.legal_representative.as_deref()) {
        name_terms(&normalize(r), false, &mut out);
    }
    for p in [&data.mobile, &data.landline].into_iter().flatten() {
        phone_terms(p, &mut out);
    }
    for c in contacts {
        name_terms(&normalize(&c.name), false, &mut out);
        for p in [&c.mobile, &c.landline].into_iter().flatten() {
            phone_terms(p, &mut out);
        }
    }
    for t in &data.classification.tags {
        if !compact_tag(t).is_empty() {
            out.push(&tag_term(t));
        }
    }
    facet_terms(data, &mut out);
    out.joined()
}

/// A filter field that is also in the index (`_f` terms). The store's SQL conditions stay the
/// authority for every filter: a facet only narrows what the index hands to them, so a
/// collision of two values' terms can add a candidate that SQL then drops, never lose one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    Kind,
    Grade,
    CreditGrade,
    Blacklisted,
    Status,
    Industry,
    Province,
    City,
    Owner,
    Dept,
}

impl Facet {
    fn letter(self) -> char {
        match self {
            Facet::Kind => 'k',
            Facet::Grade => 'g',
            Facet::CreditGrade => 'c',
            Facet::Blacklisted => 'b',
            Facet::Status => 's',
            Facet::Industry => 'i',
            Facet::Province => 'p',
            Facet::City => 'y',
            Facet::Owner => 'o',
            Facet::Dept => 'd',
        }
    }
}

/// The index term of a filter value: `_f`, the field's letter, then the value itself when it
/// is a plain ASCII word (enum values, ids), otherwise a 64-bit FNV-1a hash of it in hex (an
/// industry such as 信息传输、软件和信息技术服务业 would not survive the tokenizer whole).
pub fn facet_term(facet: Facet, value: &str) -> String {
    let mut term = String::with_capacity(20);
    write_facet_term(&mut term, facet, value);
    term
}

fn write_facet_term(out: &mut String, facet: Facet, value: &str) {
    use std::fmt::Write;
    out.push_str("_f");
    out.push(facet.letter());
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        out.extend(value.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        let hash = value.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
        let _ = write!(out, "{hash:016x}");
    }
}

/// The facet terms of an archive: one per filter field that has a value (the same values the
/// store writes to the archive's filter columns).
fn facet_terms(data: &ArchiveData, out: &mut Terms) {
    let c = &data.classification;
    let mut push = |f: Facet, v: Option<&str>| {
        if let Some(v) = v {
            out.push_with(|b| write_facet_term(b, f, v));
        }
    };
    push(Facet::Kind, Some(data.kind.as_str()));
    push(Facet::Grade, c.grade.map(|g| g.as_str()));
    push(Facet::CreditGrade, data.credit.grade.map(|g| g.as_str()));
    push(Facet::Blacklisted, Some(if data.credit.blacklisted { "1" } else { "0" }));
    push(Facet::Status, Some(data.status.as_str()));
    push(Facet::Industry, c.industry.as_deref());
    push(Facet::Province, c.province.as_deref());
    push(Facet::City, c.city.as_deref());
    push(Facet::Owner, data.owner_id.map(|v| v.to_string()).as_deref());
    push(Facet::Dept, data.dept_id.map(|v| v.to_string()).as_deref());
}

/// A boolean expression over index terms; each engine renders it in its own syntax.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Expr {
    Term(String),
    Prefix(String),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// Left, but not right.
    AndNot(Box<Expr>, Box<Expr>),
}

impl Expr {
    fn and(mut v: Vec<Expr>) -> Expr {
        if v.len() == 1 {
            v.pop().unwrap()
        } else {
            Expr::And(v)
        }
    }
    fn or(mut v: Vec<Expr>) -> Expr {
        v.dedup();
        if v.len() == 1 {
            v.pop().unwrap()
        } else {
            Expr::Or(v)
        }
    }
    /// SQLite FTS5 query syntax (terms quoted, so nothing typed is an operator).
    pub fn fts5(&self) -> String {
        match self {
            Expr::Term(t) => format!("\"{t}\""),
            Expr::Prefix(t) => format!("\"{t}\"*"),
            Expr::And(v) => format!("({})", v.iter().map(Expr::fts5).collect::<Vec<_>>().join(" AND ")),
            Expr::Or(v) => format!("({})", v.iter().map(Expr::fts5).collect::<Vec<_>>().join(" OR ")),
            Expr::AndNot(a, b) => format!("({} NOT {})", a.fts5(), b.fts5()),
        }
    }
    /// PostgreSQL `tsquery` input syntax (lexemes quoted, taken literally).
    pub fn tsquery(&self) -> String {
        match self {
            Expr::Term(t) => format!("'{t}'"),
            Expr::Prefix(t) => format!("'{t}':*"),
            Expr::And(v) => format!("({})", v.iter().map(Expr::tsquery).collect::<Vec<_>>().join(" & ")),
            Expr::Or(v) => format!("({})", v.iter().map(Expr::tsquery).collect::<Vec<_>>().join(" | ")),
            Expr::AndNot(a, b) => format!("({} & !{})", a.tsquery(), b.tsquery()),
        }
    }
}

/// One unit of typed text: a Han character or a run of ASCII letters/digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    Han(char),
    Ascii(String),
}

/// What a search box input asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedQuery {
    Empty,
    /// An archive number or its beginning (`KH-2026-0001`), upper-cased.
    ArchiveNo(String),
    /// A unified social credit code, exact.
    Uscc(String),
    /// An ID number, exact (looked up through its keyed hash).
    IdNumber(String),
    Text(TextQuery),
}

/// Match class of a result, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchClass {
    Exact = 0,
    Prefix = 1,
    Fragment = 2,
}

impl MatchClass {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchClass::Exact => "exact",
            MatchClass::Prefix => "prefix",
            MatchClass::Fragment => "fragment",
        }
    }
    pub fn from_index(i: u8) -> Option<MatchClass> {
        [MatchClass::Exact, MatchClass::Prefix, MatchClass::Fragment].get(i as usize).copied()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    /// The typed segments (whitespace-separated), as units, for highlighting.
    pub segments: Vec<Vec<Unit>>,
    pub exact: Option<Expr>,
    pub prefix: Option<Expr>,
    pub fragment: Expr,
}

impl TextQuery {
    /// The expression for one match class, excluding the better classes.
    pub fn tier(&self, class: MatchClass) -> Option<Expr> {
        let better: Vec<Expr> = match class {
            MatchClass::Exact => return self.exact.clone(),
            MatchClass::Prefix => self.exact.iter().cloned().collect(),
            MatchClass::Fragment => self.exact.iter().chain(self.prefix.iter()).cloned().collect(),
        };
        let base = match class {
            MatchClass::Prefix => self.prefix.clone()?,
            _ => self.fragment.clone(),
        };
        Some(if better.is_empty() { base } else { Expr::AndNot(Box::new(base), Box::new(Expr::or(better))) })
    }
}

fn units(seg: &str) -> Vec<Unit> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in seg.chars() {
        if is_word_char(c) {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            out.push(Unit::Ascii(std::mem::take(&mut word)));
        }
        if is_han(c) {
            out.push(Unit::Han(c));
        }
    }
    if !word.is_empty() {
        out.push(Unit::Ascii(word));
    }
    out
}

fn looks_like_archive_no(seg: &str) -> bool {
    let first = seg.chars().next().unwrap_or(' ');
    first.is_ascii_alphabetic()
        && seg.chars().any(|c| c.is_ascii_digit())
        && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
        && (seg.contains('-') || seg.contains('/') || seg.chars().filter(|c| c.is_ascii_digit()).count() >= 4)
}

fn looks_like_id(seg: &str) -> bool {
    let b = seg.as_bytes();
    (b.len() == 18 && b[..17].iter().all(u8::is_ascii_digit) && (b[17].is_ascii_digit() || b[17] == b'x')) || (b.len() == 15 && b.iter().all(u8::is_ascii_digit))
}

fn looks_like_uscc(seg: &str) -> bool {
    seg.len() == 18 && seg.chars().all(|c| c.is_ascii_alphanumeric()) && seg.chars().any(|c| c.is_ascii_digit()) && seg.chars().any(|c| c.is_ascii_alphabetic())
}

fn is_phone_fragment(seg: &str) -> bool {
    let d = digits(seg);
    d.len() >= 4 && seg.chars().all(|c| c.is_ascii_digit() || c == '-' || c == ' ' || c == '+')
}

/// "Starts with" for typed letters (initials or pinyin, possibly incomplete), from the exact
/// anchored terms; longer input is the anchor plus the fragment match.
fn ascii_prefix(s: &str, fragment: &Expr) -> Expr {
    let anchored = |anchor: String| if anchor == s { Expr::Term(format!("_p{anchor}")) } else { Expr::And(vec![Expr::Term(format!("_p{anchor}")), fragment.clone()]) };
    let complete = split_pinyin(s).map(|syl| {
        let n = syl.iter().take_while(|y| syllables().contains(y.as_str())).count().min(ANCHOR_SYLLABLES);
        syl[..n].concat()
    });
    let mut alts = Vec::new();
    // As initials (hxjc); not for what reads as pinyin past three letters (zhang), whose
    // initials reading would cost a scan of every term starting so.
    if s.len() <= ANCHOR_CHARS || complete.as_deref().map_or(true, str::is_empty) {
        alts.push(anchored(s.chars().take(ANCHOR_CHARS).collect()));
    }
    if let Some(c) = complete.filter(|c| !c.is_empty()) {
        alts.push(anchored(c));
    }
    // The first one or two syllables with the last one as typed so far (zhan → zhan, zhang):
    // exact anchored terms, so "starts with" never scans a range of terms.
    if let Some(syl) = split_pinyin(s).filter(|v| v.len() <= ANCHOR_SYLLABLES) {
        let (last, head) = syl.split_last().expect("non-empty");
        let head = head.concat();
        let mut ends: Vec<&str> = syllables().iter().copied().filter(|y| y.starts_with(last.as_str())).collect();
        ends.sort_unstable();
        if !ends.is_empty() && ends.len() <= 24 {
            alts.push(Expr::or(ends.into_iter().map(|y| Expr::Term(format!("_p{head}{y}"))).collect()));
        }
    }
    Expr::or(alts)
}

/// Fragment, prefix and exact expressions for one segment of text.
fn text_segment(u: &[Unit]) -> (Option<Expr>, Option<Expr>, Expr) {
    let all_han = u.iter().all(|x| matches!(x, Unit::Han(_)));
    if all_han {
        let s: String = u.iter().map(|x| if let Unit::Han(c) = x { *c } else { ' ' }).collect();
        let chars: Vec<char> = s.chars().collect();
        let fragment = if chars.len() == 1 {
            Expr::Term(s.clone())
        } else {
            Expr::and(chars.windows(2).map(|w| Expr::Term(w.iter().collect())).collect())
        };
        let prefix = if chars.len() <= ANCHOR_CHARS {
            Expr::Term(format!("_p{s}"))
        } else {
            Expr::And(vec![Expr::Term(format!("_p{}", chars[..ANCHOR_CHARS].iter().collect::<String>())), fragment.clone()])
        };
        return (Some(Expr::Term(format!("_e{s}"))), Some(prefix), fragment);
    }
    if let [Unit::Ascii(s)] = u {
        let mut alts = vec![Expr::Prefix(s.clone())];
        if let Some(syl) = split_pinyin(s).filter(|v| v.len() > FULL_WINDOW) {
            alts.push(Expr::and(syl.windows(FULL_WINDOW).map(|w| Expr::Prefix(w.concat())).collect()));
        }
        let fragment = Expr::or(alts);
        let prefix = ascii_prefix(s, &fragment);
        return (Some(Expr::Term(format!("_e{s}"))), Some(prefix), fragment);
    }
    // Han characters mixed with pinyin (张wei): as full pinyin, and as initials (张w → zw).
    let full: Vec<Vec<&str>> = u
        .iter()
        .map(|x| match x {
            Unit::Han(c) => han_choice(*c, false).to_vec(),
            Unit::Ascii(s) => vec![s.as_str()],
        })
        .collect();
    let ini: Vec<Vec<&str>> = u
        .iter()
        .map(|x| match x {
            Unit::Han(c) => han_choice(*c, true).to_vec(),
            Unit::Ascii(s) => vec![s.as_str()],
        })
        .collect();
    let fv = variants(&full);
    let iv = variants(&ini);
    let fragment = Expr::or(fv.iter().chain(iv.iter()).map(|v| Expr::Prefix(v.clone())).collect());
    let prefix = Expr::or(fv.iter().chain(iv.iter()).map(|v| ascii_prefix(v, &fragment)).collect());
    let exact = Expr::or(fv.iter().map(|v| Expr::Term(format!("_e{v}"))).collect());
    (Some(exact), Some(prefix), fragment)
}

/// Parses what was typed in the search box.
pub fn parse_query(q: &str) -> ParsedQuery {
    let n = normalize(q);
    let segs: Vec<&str> = n.split_whitespace().collect();
    if segs.is_empty() {
        return ParsedQuery::Empty;
    }
    // A phone number typed with spaces (138 1234 5678) is one fragment.
    if segs.len() > 1 && is_phone_fragment(&segs.join("")) {
        return text_query(vec![segs.concat()]);
    }
    if segs.len() == 1 {
        let s = segs[0];
        if looks_like_id(s) {
            return ParsedQuery::IdNumber(s.to_ascii_uppercase());
        }
        if looks_like_uscc(s) && !looks_like_archive_no(s) {
            return ParsedQuery::Uscc(s.to_ascii_uppercase());
        }
        if looks_like_archive_no(s) {
            return ParsedQuery::ArchiveNo(s.to_ascii_uppercase());
        }
    }
    text_query(segs.into_iter().map(str::to_string).collect())
}

fn text_query(segs: Vec<String>) -> ParsedQuery {
    let mut fragments = Vec::new();
    let mut segments = Vec::new();
    let mut single = None;
    let one = segs.len() == 1;
    for s in &segs {
        if is_phone_fragment(s) {
            let d = digits(s);
            let b = d.as_bytes();
            let grams: Vec<Expr> = b.windows(4).map(|w| Expr::Term(String::from_utf8_lossy(w).into_owned())).collect::<BTreeSet<_>>().into_iter().collect();
            fragments.push(Expr::and(grams));
            if one {
                single = Some((Some(Expr::Term(format!("_e{d}"))), None));
            }
            segments.push(vec![Unit::Ascii(d)]);
            continue;
        }
        let u = units(s);
        if u.is_empty() {
            continue;
        }
        let (exact, prefix, fragment) = text_segment(&u);
        fragments.push(fragment);
        if one {
            single = Some((exact, prefix));
        }
        segments.push(u);
    }
    if fragments.is_empty() {
        return ParsedQuery::Empty;
    }
    let (exact, prefix) = single.unwrap_or((None, None));
    ParsedQuery::Text(TextQuery { segments, exact, prefix, fragment: Expr::and(fragments) })
}

/// Character ranges `[start, end)` of `name` that the query matched (for highlighting),
/// merged and sorted.
pub fn highlight(name: &str, q: &TextQuery) -> Vec<(usize, usize)> {
    let chars: Vec<char> = normalize(name).chars().collect();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for seg in &q.segments {
        for start in 0..chars.len() {
            if let Some(end) = match_units(&chars, start, seg, 0, "") {
                if end > start {
                    spans.push((start, end));
                }
            }
        }
    }
    spans.sort();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// Matches units `u[k..]` (with `pending` letters of the current ASCII unit still to consume)
/// against `chars[i..]`; returns the end position of the match.
fn match_units(chars: &[char], i: usize, u: &[Unit], k: usize, pending: &str) -> Option<usize> {
    if pending.is_empty() {
        if k == u.len() {
            return Some(i);
        }
        return match &u[k] {
            Unit::Han(c) => (chars.get(i) == Some(c)).then(|| match_units(chars, i + 1, u, k + 1, "")).flatten(),
            Unit::Ascii(s) => match_units(chars, i, u, k + 1, s),
        };
    }
    let c = *chars.get(i)?;
    if is_han(c) {
        for r in readings(c) {
            if let Some(rest) = pending.strip_prefix(*r) {
                if let Some(e) = match_units(chars, i + 1, u, k, rest) {
                    return Some(e);
                }
            }
            // The last letters typed may be the start of this reading (zhangw → 张伟).
            if k == u.len() && r.starts_with(pending) {
                return Some(i + 1);
            }
        }
        for f in initials(c) {
            if let Some(rest) = pending.strip_prefix(f) {
                if let Some(e) = match_units(chars, i + 1, u, k, rest) {
                    return Some(e);
                }
            }
        }
        None
    } else if c.is_ascii_alphanumeric() {
        let rest = pending.strip_prefix(c)?;
        match_units(chars, i + 1, u, k, rest)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ContactData, CustomerKind};

    fn terms_of(name: &str) -> Vec<String> {
        let d = ArchiveData::new(CustomerKind::Person, name);
        archive_terms(&d, []).split(' ').map(str::to_string).collect()
    }

    fn contact(name: &str, mobile: Option<&str>) -> ContactData {
        ContactData { name: name.into(), title: None, mobile: mobile.map(Into::into), landline: None, email: None, wechat: None, birthday: None, preferences: None, is_primary: false }
    }

    /// Does the expression match a document with these terms? (The engines' semantics.)
    fn matches(e: &Expr, terms: &[String]) -> bool {
        match e {
            Expr::Term(t) => terms.iter().any(|x| x == t),
            Expr::Prefix(t) => terms.iter().any(|x| x.starts_with(t.as_str())),
            Expr::And(v) => v.iter().all(|x| matches(x, terms)),
            Expr::Or(v) => v.iter().any(|x| matches(x, terms)),
            Expr::AndNot(a, b) => matches(a, terms) && !matches(b, terms),
        }
    }

    fn class(q: &str, name: &str) -> Option<MatchClass> {
        let ParsedQuery::Text(t) = parse_query(q) else { panic!("{q} is not text: {:?}", parse_query(q)) };
        let terms = terms_of(name);
        [MatchClass::Exact, MatchClass::Prefix, MatchClass::Fragment].into_iter().find(|c| t.tier(*c).is_some_and(|e| matches(&e, &terms)))
    }

    #[test]
    fn normalizes_width_case_and_script() {
        assert_eq!(normalize("ＡＢＣ１２３"), "abc123");
        assert_eq!(normalize("陳建國"), "陈建国");
        assert_eq!(normalize("張偉"), "张伟");
        assert_eq!(normalize("华星　建材"), "华星 建材");
    }

    #[test]
    fn names_two_and_three_characters() {
        assert_eq!(class("张伟", "张伟"), Some(MatchClass::Exact));
        assert_eq!(class("张伟", "张伟国"), Some(MatchClass::Prefix));
        assert_eq!(class("张伟", "李张伟"), Some(MatchClass::Fragment));
        assert_eq!(class("张伟", "张大伟"), None);
        assert_eq!(class("陈建国", "陈建国"), Some(MatchClass::Exact));
        assert_eq!(class("陳建國", "陈建国"), Some(MatchClass::Exact));
        assert_eq!(class("陈建国", "陳建國"), Some(MatchClass::Exact));
    }

    #[test]
    fn company_fragments() {
        assert_eq!(class("华星建材", "杭州华星建材有限公司"), Some(MatchClass::Fragment));
        assert_eq!(class("杭州华星", "杭州华星建材有限公司"), Some(MatchClass::Prefix));
        assert_eq!(class("华星建材", "杭州华星装饰有限公司"), None);
        assert_eq!(class("科技有限公司", "杭州云帆科技有限公司"), Some(MatchClass::Fragment));
    }

    #[test]
    fn pinyin_initials_full_and_mixed() {
        assert_eq!(class("zw", "张伟"), Some(MatchClass::Exact));
        assert_eq!(class("zw", "张伟国"), Some(MatchClass::Prefix));
        assert_eq!(class("hxjc", "杭州华星建材有限公司"), Some(MatchClass::Fragment));
        assert_eq!(class("hzhx", "杭州华星建材有限公司"), Some(MatchClass::Prefix));
        assert_eq!(class("zhangwei", "张伟"), Some(MatchClass::Exact));
        assert_eq!(class("zhangw", "张伟"), Some(MatchClass::Prefix));
        assert_eq!(class("zhan", "张伟"), Some(MatchClass::Prefix));
        assert_eq!(class("zh", "张伟"), Some(MatchClass::Prefix));
        assert_eq!(class("zhangwei", "王张伟"), Some(MatchClass::Fragment));
        assert_eq!(class("huaxingjiancai", "杭州华星建材有限公司"), Some(MatchClass::Fragment));
        assert_eq!(class("张wei", "张伟"), Some(MatchClass::Exact));
        assert_eq!(class("张w", "张伟"), Some(MatchClass::Prefix));
        assert_eq!(class("wangfang", "王芳"), Some(MatchClass::Exact));
        assert_eq!(class("zw", "王芳"), None);
    }

    #[test]
    fn polyphonic_surnames_every_reading() {
        for (name, q) in [("曾华", "zenghua"), ("曾华", "cenghua"), ("单田芳", "shantianfang"), ("单田芳", "dtf"), ("解晓东", "xiexiaodong"), ("仇敏", "qiumin"), ("区志强", "ouzhiqiang"), ("朴正", "piaozheng"), ("重庆银行", "chongqing")] {
            assert!(class(q, name).is_some(), "{q} finds {name}");
        }
    }

    #[test]
    fn phones_archive_numbers_codes() {
        let mut d = ArchiveData::new(CustomerKind::Organization, "杭州华星建材有限公司");
        d.mobile = Some("13812345678".into());
        let c = contact("李娜", Some("13998887777"));
        let terms: Vec<String> = archive_terms(&d, [&c]).split(' ').map(str::to_string).collect();
        for q in ["1381", "2345", "5678", "138 1234 5678", "8887", "李娜", "ln"] {
            let ParsedQuery::Text(t) = parse_query(q) else { panic!("{q}") };
            assert!(matches(&t.fragment, &terms), "{q}");
        }
        let ParsedQuery::Text(t) = parse_query("13812345678") else { panic!() };
        assert!(matches(&t.exact.unwrap(), &terms));
        assert_eq!(parse_query("KH-2026-0001"), ParsedQuery::ArchiveNo("KH-2026-0001".into()));
        assert_eq!(parse_query("kh-2026"), ParsedQuery::ArchiveNo("KH-2026".into()));
        assert_eq!(parse_query("91330100MA2H3K7Q42"), ParsedQuery::Uscc("91330100MA2H3K7Q42".into()));
        assert_eq!(parse_query("11010519491231002x"), ParsedQuery::IdNumber("11010519491231002X".into()));
        assert_eq!(parse_query("  "), ParsedQuery::Empty);
    }

    #[test]
    fn top_secret_is_not_indexed() {
        let mut d = ArchiveData::new(CustomerKind::Person, "张伟");
        d.secrecy = Secrecy::TopSecret;
        assert_eq!(archive_terms(&d, []), "");
    }

    #[test]
    fn highlights_matched_characters() {
        let ParsedQuery::Text(t) = parse_query("华星建材") else { panic!() };
        assert_eq!(highlight("杭州华星建材有限公司", &t), vec![(2, 6)]);
        let ParsedQuery::Text(t) = parse_query("hxjc") else { panic!() };
        assert_eq!(highlight("杭州华星建材有限公司", &t), vec![(2, 6)]);
        let ParsedQuery::Text(t) = parse_query("張偉") else { panic!() };
        assert_eq!(highlight("张伟", &t), vec![(0, 2)]);
        let ParsedQuery::Text(t) = parse_query("zhangw") else { panic!() };
        assert_eq!(highlight("张伟", &t), vec![(0, 2)]);
    }

    #[test]
    fn expressions_render_for_both_engines() {
        let e = Expr::AndNot(Box::new(Expr::And(vec![Expr::Term("华星".into()), Expr::Prefix("hx".into())])), Box::new(Expr::Term("_e华星".into())));
        assert_eq!(e.fts5(), "((\"华星\" AND \"hx\"*) NOT \"_e华星\")");
        assert_eq!(e.tsquery(), "(('华星' & 'hx':*) & !'_e华星')");
    }

    proptest::proptest! {
        /// Whatever is typed, normalization keeps one character per character, and a name is
        /// always found by itself (exactly) and by any 2+ character Han piece of it.
        #[test]
        fn a_name_finds_itself(name in "[张王李赵陈杨刘黄周吴华星建材科技有限公司伟芳娜]{2,10}", from in 0usize..8, len in 2usize..5) {
            proptest::prop_assert_eq!(normalize(&name).chars().count(), name.chars().count());
            proptest::prop_assert_eq!(class(&name, &name), Some(MatchClass::Exact));
            let chars: Vec<char> = name.chars().collect();
            if from + len <= chars.len() {
                let piece: String = chars[from..from + len].iter().collect();
                proptest::prop_assert!(class(&piece, &name).is_some());
            }
        }

        #[test]
        fn parsing_never_panics(q in "\\PC{0,30}") {
            let _ = parse_query(&q);
        }

        /// Whatever an archive holds, its index terms are single tokens for the text index's
        /// tokenizer (`is_index_token`), so FTS5 stores each as written.
        #[test]
        fn every_index_term_is_one_token(
            name in "\\PC{0,24}", rep in "\\PC{0,12}", phone in "\\PC{0,16}", contact_name in "\\PC{0,12}",
            tag in "\\PC{0,10}", industry in "\\PC{0,16}", city in "\\PC{0,8}",
        ) {
            let mut d = ArchiveData::new(CustomerKind::Organization, &name);
            d.organization = Some(crate::model::OrganizationInfo { legal_representative: Some(rep), ..Default::default() });
            d.mobile = Some(phone.clone());
            d.landline = Some(format!("0592-{phone}"));
            d.classification.tags = vec![tag, "VIP客户".into()];
            d.classification.industry = Some(industry);
            d.classification.city = Some(city);
            d.owner_id = Some(42);
            let contacts = [contact(&contact_name, Some(&phone)), contact("Zhang Wei 張偉", Some("+86 138 0013 8000"))];
            let terms = archive_terms(&d, &contacts);
            proptest::prop_assert!(!terms.is_empty());
            // Empty pieces (two spaces) are harmless: the tokenizer skips separators.
            for t in terms.split(' ').filter(|t| !t.is_empty()) {
                proptest::prop_assert!(is_index_token(t), "term {t:?} of {name:?} is not one token");
            }
        }

        /// Whatever is typed, the terms a query names are single tokens too, so FTS5 reads a
        /// quoted query term exactly as it indexed the archive's.
        #[test]
        fn every_query_term_is_one_token(q in "\\PC{0,30}") {
            fn check(e: &Expr) -> Result<(), String> {
                match e {
                    Expr::Term(t) | Expr::Prefix(t) => if is_index_token(t) { Ok(()) } else { Err(format!("{t:?}")) },
                    Expr::And(v) | Expr::Or(v) => v.iter().try_for_each(check),
                    Expr::AndNot(a, b) => check(a).and_then(|_| check(b)),
                }
            }
            if let ParsedQuery::Text(t) = parse_query(&q) {
                for class in [MatchClass::Exact, MatchClass::Prefix, MatchClass::Fragment] {
                    if let Some(e) = t.tier(class) {
                        proptest::prop_assert!(check(&e).is_ok(), "{q:?}: {:?}", check(&e));
                    }
                }
            }
        }
    }
}
