//! Archive numbers (档号) from a configurable scheme.
//!
//! A pattern mixes literal text with tokens: `{YYYY}` year, `{YY}` two-digit year, `{MM}` month,
//! `{DEPT}` the department's code and `{SEQ:n}` the sequence zero-padded to `n` digits
//! (exactly one SEQ token). The default `KH-{YYYY}-{SEQ:6}` gives `KH-2026-000123`; the seeds'
//! `HZJC{YYYY}-{MM}{SEQ:3}` gives `HZJC2013-11001`.
//!
//! The *period* of a number is the pattern with every token but SEQ filled in. Storage keeps one
//! counter per period and advances it in the same transaction as the archive insert, so numbers
//! are unique, never reused and gapless within a period.

use chrono::{Datelike, NaiveDate};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Year4,
    Year2,
    Month,
    Dept,
    Seq(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberScheme {
    pattern: String,
    parts: Vec<Part>,
}

pub const DEFAULT_PATTERN: &str = "KH-{YYYY}-{SEQ:6}";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    #[error("unknown token {{{0}}} in number pattern")]
    UnknownToken(String),
    #[error("number pattern needs exactly one {{SEQ:n}} token")]
    SeqCount,
    #[error("unclosed {{ in number pattern")]
    Unclosed,
    #[error("sequence width must be 1..=12")]
    SeqWidth,
}

impl NumberScheme {
    pub fn parse(pattern: &str) -> Result<Self, SchemeError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            lit.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or(SchemeError::Unclosed)?;
            let token = &after[..close];
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(match token {
                "YYYY" => Part::Year4,
                "YY" => Part::Year2,
                "MM" => Part::Month,
                "DEPT" => Part::Dept,
                t if t.starts_with("SEQ") => {
                    let width = match t.strip_prefix("SEQ:") {
                        Some(w) => w.parse::<usize>().map_err(|_| SchemeError::UnknownToken(t.into()))?,
                        None if t == "SEQ" => 4,
                        None => return Err(SchemeError::UnknownToken(t.into())),
                    };
                    if !(1..=12).contains(&width) {
                        return Err(SchemeError::SeqWidth);
                    }
                    Part::Seq(width)
                }
                t => return Err(SchemeError::UnknownToken(t.into())),
            });
            rest = &after[close + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        if parts.iter().filter(|p| matches!(p, Part::Seq(_))).count() != 1 {
            return Err(SchemeError::SeqCount);
        }
        Ok(NumberScheme { pattern: pattern.to_string(), parts })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    fn render_with(&self, date: NaiveDate, dept_code: &str, seq: Option<u64>) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Year4 => out.push_str(&format!("{:04}", date.year())),
                Part::Year2 => out.push_str(&format!("{:02}", date.year() % 100)),
                Part::Month => out.push_str(&format!("{:02}", date.month())),
                Part::Dept => out.push_str(dept_code),
                Part::Seq(w) => match seq {
                    Some(n) => out.push_str(&format!("{:0w$}", n, w = *w)),
                    None => out.push_str(&format!("{{SEQ:{w}}}")),
                },
            }
        }
        out
    }

    /// The counter key: the number with everything filled in except the sequence.
    pub fn period_key(&self, date: NaiveDate, dept_code: &str) -> String {
        self.render_with(date, dept_code, None)
    }

    /// The archive number for sequence `seq` (1-based) in the period of `date` and `dept_code`.
    pub fn render(&self, date: NaiveDate, dept_code: &str, seq: u64) -> String {
        self.render_with(date, dept_code, Some(seq))
    }

    /// The period key and sequence of a number this scheme could have made (`KH-2026-000123` →
    /// (`KH-2026-{SEQ:6}`, 123)); `None` for a number of another shape. Used when an archive
    /// arrives with its number (an archive package), so that the counter moves past it.
    pub fn split(&self, number: &str) -> Option<(String, u64)> {
        let mut rest = number;
        let mut key = String::new();
        let mut seq = None;
        for (i, p) in self.parts.iter().enumerate() {
            let digits = |rest: &str, n: usize| rest.len() >= n && rest.as_bytes()[..n].iter().all(u8::is_ascii_digit);
            match p {
                Part::Lit(l) => {
                    rest = rest.strip_prefix(l.as_str())?;
                    key.push_str(l);
                }
                Part::Year4 | Part::Year2 | Part::Month | Part::Seq(_) => {
                    let n = match p {
                        Part::Year4 => 4,
                        Part::Seq(w) => *w,
                        _ => 2,
                    };
                    if !digits(rest, n) {
                        return None;
                    }
                    if let Part::Seq(w) = p {
                        seq = Some(rest[..n].parse().ok()?);
                        key.push_str(&format!("{{SEQ:{w}}}"));
                    } else {
                        key.push_str(&rest[..n]);
                    }
                    rest = &rest[n..];
                }
                Part::Dept => {
                    // Up to the next literal, or what the fixed-width parts after it leave.
                    let end = match self.parts.get(i + 1) {
                        Some(Part::Lit(l)) => rest.find(l.as_str())?,
                        _ => {
                            let fixed: usize = self.parts[i + 1..]
                                .iter()
                                .map(|p| match p {
                                    Part::Year4 => Some(4),
                                    Part::Year2 | Part::Month => Some(2),
                                    Part::Seq(w) => Some(*w),
                                    Part::Lit(l) => Some(l.len()),
                                    Part::Dept => None,
                                })
                                .sum::<Option<usize>>()?;
                            rest.len().checked_sub(fixed)?
                        }
                    };
                    key.push_str(&rest[..end]);
                    rest = &rest[end..];
                }
            }
        }
        if !rest.is_empty() {
            return None;
        }
        Some((key, seq?))
    }
}

impl Default for NumberScheme {
    fn default() -> Self {
        NumberScheme::parse(DEFAULT_PATTERN).expect("default pattern parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, 5).unwrap()
    }

    #[test]
    fn split_finds_the_period_and_sequence_of_a_number() {
        let s = NumberScheme::default();
        assert_eq!(s.split("KH-2026-000123"), Some(("KH-2026-{SEQ:6}".into(), 123)));
        assert_eq!(s.split("KH-2026-12"), None);
        assert_eq!(s.split("HZJC2013-11001"), None);
        let seeds = NumberScheme::parse("HZJC{YYYY}-{MM}{SEQ:3}").unwrap();
        assert_eq!(seeds.split("HZJC2013-11001"), Some(("HZJC2013-11{SEQ:3}".into(), 1)));
        let dept = NumberScheme::parse("{DEPT}-{YY}{SEQ:4}").unwrap();
        assert_eq!(dept.split("XS1-260042"), Some(("XS1-26{SEQ:4}".into(), 42)));
        assert_eq!(dept.split(&dept.render(d(2026, 1), "XS1", 42)).map(|x| x.0), Some(dept.period_key(d(2026, 1), "XS1")));
        let tail = NumberScheme::parse("{SEQ:5}{DEPT}").unwrap();
        assert_eq!(tail.split("00007XS"), Some(("{SEQ:5}XS".into(), 7)));
    }

    #[test]
    fn default_scheme() {
        let s = NumberScheme::default();
        assert_eq!(s.render(d(2026, 11), "", 123), "KH-2026-000123");
        assert_eq!(s.period_key(d(2026, 11), ""), "KH-2026-{SEQ:6}");
    }

    #[test]
    fn seed_examples() {
        let s = NumberScheme::parse("HZJC{YYYY}-{MM}{SEQ:3}").unwrap();
        assert_eq!(s.render(d(2013, 11), "", 1), "HZJC2013-11001");
        let s = NumberScheme::parse("WJ{YYYY}-{MM}{SEQ:2}").unwrap();
        assert_eq!(s.render(d(2013, 11), "", 1), "WJ2013-1101");
        let s = NumberScheme::parse("{DEPT}-{YYYY}-{SEQ:3}").unwrap();
        assert_eq!(s.render(d(2021, 1), "MK", 1), "MK-2021-001");
        assert_ne!(s.period_key(d(2021, 1), "MK"), s.period_key(d(2021, 1), "XS"));
    }

    #[test]
    fn bad_patterns() {
        assert_eq!(NumberScheme::parse("KH-{YYYY}"), Err(SchemeError::SeqCount));
        assert_eq!(NumberScheme::parse("{SEQ:3}{SEQ:3}"), Err(SchemeError::SeqCount));
        assert!(matches!(NumberScheme::parse("{FOO}{SEQ}"), Err(SchemeError::UnknownToken(_))));
        assert_eq!(NumberScheme::parse("{SEQ:3"), Err(SchemeError::Unclosed));
    }
}
