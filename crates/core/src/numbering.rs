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
