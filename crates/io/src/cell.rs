//! The values a reader hands out: one `RawRow` per spreadsheet row, cells typed as the file had
//! them (text, number, date cell, …), before any mapping.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One cell as read from the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A cell Excel formats as a date (the time of day, if any, is dropped: Dangan keeps dates).
    Date(NaiveDate),
    /// An Excel error value (`#N/A`, `#REF!` …).
    Error(String),
}

impl Cell {
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            _ => false,
        }
    }

    /// The text a user sees in the cell: numbers without a trailing `.0` (a phone number stored as
    /// a number reads `13800138000`), dates as `2023-03-04`.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => format_number(*n),
            Cell::Bool(b) => if *b { "TRUE".into() } else { "FALSE".into() },
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
            Cell::Error(e) => e.clone(),
        }
    }

    /// The text of a text cell without copying; `None` for other kinds.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// `13800138000.0` → `13800138000`, `1.5` → `1.5`; integral values up to 2^53 print without exponent.
pub fn format_number(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// One row of a table with its row number as the user sees it (1-based, the spreadsheet's row
/// number, or the record number of a CSV file counting the header lines).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawRow {
    pub row: u32,
    pub cells: Vec<Cell>,
}

impl RawRow {
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(Cell::is_empty)
    }
    pub fn get(&self, col: usize) -> &Cell {
        self.cells.get(col).unwrap_or(&Cell::Empty)
    }
}
