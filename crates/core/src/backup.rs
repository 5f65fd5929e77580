//! Backup sets: their kinds, when a scheduled backup is due (daily, and monthly on the 1st —
//! 每月1日备份) and which sets retention removes. Pure: callers pass the time and the sets.

use chrono::{Datelike, NaiveDateTime, Timelike};
use serde::{Deserialize, Serialize};

/// Why a backup set was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetKind {
    /// The scheduled daily backup.
    Daily,
    /// The scheduled backup of the 1st of the month (or the first scheduled one of a month whose
    /// 1st was missed), kept longer.
    Monthly,
    /// Run by hand (CLI, API, UI).
    Manual,
}

impl SetKind {
    pub const ALL: [SetKind; 3] = [SetKind::Daily, SetKind::Monthly, SetKind::Manual];

    pub fn as_str(self) -> &'static str {
        match self {
            SetKind::Daily => "daily",
            SetKind::Monthly => "monthly",
            SetKind::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self, lang: &str) -> &'static str {
        match (self, lang) {
            (SetKind::Daily, "en") => "daily",
            (SetKind::Monthly, "en") => "monthly",
            (SetKind::Manual, "en") => "manual",
            (SetKind::Daily, "zh-TW") => "每日",
            (SetKind::Monthly, "zh-TW") => "每月",
            (SetKind::Manual, "zh-TW") => "手動",
            (SetKind::Daily, _) => "每日",
            (SetKind::Monthly, _) => "每月",
            (SetKind::Manual, _) => "手动",
        }
    }
}

/// How many sets of each kind are kept (the newest ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    pub daily: usize,
    pub monthly: usize,
    pub manual: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { daily: 7, monthly: 12, manual: 10 }
    }
}

/// A set as the schedule sees it: its id, kind and when it was taken (server local time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetRef {
    pub id: String,
    pub kind: SetKind,
    pub taken: NaiveDateTime,
}

/// The scheduled backup due at `now` (local time), if any: one a day from `hour` on; it is
/// monthly when no monthly set was taken this month yet (so on the 1st, or on the first day after
/// a missed 1st), daily otherwise. Manual sets do not count as the day's backup.
pub fn due(now: NaiveDateTime, hour: u32, sets: &[SetRef]) -> Option<SetKind> {
    if now.hour() < hour {
        return None;
    }
    let today = now.date();
    if sets.iter().any(|s| s.kind != SetKind::Manual && s.taken.date() == today) {
        return None;
    }
    let month_done = sets.iter().any(|s| s.kind == SetKind::Monthly && s.taken.year() == now.year() && s.taken.month() == now.month());
    Some(if month_done { SetKind::Daily } else { SetKind::Monthly })
}

/// The sets retention removes: of each kind, all but the newest `keep` of that kind.
pub fn expired(sets: &[SetRef], keep: &Retention) -> Vec<String> {
    let mut out = Vec::new();
    for kind in SetKind::ALL {
        let n = match kind {
            SetKind::Daily => keep.daily,
            SetKind::Monthly => keep.monthly,
            SetKind::Manual => keep.manual,
        };
        let mut of_kind: Vec<&SetRef> = sets.iter().filter(|s| s.kind == kind).collect();
        of_kind.sort_by(|a, b| b.taken.cmp(&a.taken).then_with(|| b.id.cmp(&a.id)));
        out.extend(of_kind.into_iter().skip(n).map(|s| s.id.clone()));
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, NaiveDate};

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }

    #[test]
    fn daily_from_the_hour_once_a_day_monthly_on_the_first() {
        let mut sets = vec![SetRef { id: "m".into(), kind: SetKind::Monthly, taken: at(2026, 11, 1, 2) }];
        assert_eq!(due(at(2026, 11, 5, 1), 2, &sets), None, "before the hour");
        assert_eq!(due(at(2026, 11, 5, 2), 2, &sets), Some(SetKind::Daily));
        sets.push(SetRef { id: "d".into(), kind: SetKind::Daily, taken: at(2026, 11, 5, 2) });
        assert_eq!(due(at(2026, 11, 5, 23), 2, &sets), None, "already taken today");
        sets.push(SetRef { id: "x".into(), kind: SetKind::Manual, taken: at(2026, 11, 6, 1) });
        assert_eq!(due(at(2026, 11, 6, 3), 2, &sets), Some(SetKind::Daily), "a manual set is not the day's backup");
        assert_eq!(due(at(2026, 12, 1, 2), 2, &sets), Some(SetKind::Monthly), "每月1日备份");
        assert_eq!(due(at(2026, 12, 3, 9), 2, &sets), Some(SetKind::Monthly), "the 1st was missed: the first of the month is monthly");
    }

    #[test]
    fn retention_keeps_the_newest_of_each_kind() {
        let start = at(2026, 1, 1, 2);
        let mut sets = Vec::new();
        for d in 0..400 {
            let now = start + Duration::days(d);
            if let Some(kind) = due(now, 2, &sets) {
                sets.push(SetRef { id: format!("{d:03}"), kind, taken: now });
            }
            let gone = expired(&sets, &Retention::default());
            sets.retain(|s| !gone.contains(&s.id));
        }
        let daily: Vec<_> = sets.iter().filter(|s| s.kind == SetKind::Daily).collect();
        let monthly: Vec<_> = sets.iter().filter(|s| s.kind == SetKind::Monthly).collect();
        assert_eq!(daily.len(), 7);
        assert_eq!(monthly.len(), 12);
        assert!(monthly.iter().all(|s| s.taken.day() == 1));
        let newest = sets.iter().map(|s| s.taken).max().unwrap();
        assert_eq!(newest, start + Duration::days(399));
        assert!(daily.iter().all(|s| newest - s.taken < Duration::days(8)));
    }
}
