//! Excel readers (calamine). `.xlsx` is streamed: a worker thread walks the sheet XML cell by
//! cell and hands rows over in batches through a bounded channel, so memory stays flat however
//! long the sheet is and parsing overlaps with the caller's validation. `.xls` (at most 65,536
//! rows by format) is read whole by calamine and then handed out row by row.
//!
//! Cells formatted as dates become `Cell::Date`; merged cells keep their value in the top-left
//! cell and leave the others empty, which the header detector (`table.rs`) takes into account.

use std::io::{Read, Seek};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread::JoinHandle;

use calamine::{Data, DataRef, Reader, Xls, Xlsx};

use crate::cell::{Cell, RawRow};
use crate::csv_read::MAX_COLUMNS;
use crate::error::ReadError;

const BATCH: usize = 512;

/// Rows of one worksheet.
pub struct SheetRows {
    inner: Inner,
    sheet: String,
}

enum Inner {
    Threaded { rx: Receiver<Result<Vec<RawRow>, ReadError>>, buf: std::vec::IntoIter<RawRow>, handle: Option<JoinHandle<()>> },
    Buffered(std::vec::IntoIter<RawRow>),
}

impl std::fmt::Debug for SheetRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SheetRows").field("sheet", &self.sheet).finish()
    }
}

impl SheetRows {
    /// The name of the worksheet being read.
    pub fn sheet(&self) -> &str {
        &self.sheet
    }
}

impl Iterator for SheetRows {
    type Item = Result<RawRow, ReadError>;
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Buffered(it) => it.next().map(Ok),
            Inner::Threaded { rx, buf, handle } => loop {
                if let Some(r) = buf.next() {
                    return Some(Ok(r));
                }
                match rx.recv() {
                    Ok(Ok(batch)) => *buf = batch.into_iter(),
                    Ok(Err(e)) => return Some(Err(e)),
                    Err(_) => {
                        if let Some(h) = handle.take() {
                            let _ = h.join();
                        }
                        return None;
                    }
                }
            },
        }
    }
}

impl Drop for SheetRows {
    fn drop(&mut self) {
        if let Inner::Threaded { rx, handle, .. } = &mut self.inner {
            // Dropping the receiver makes the worker's next send fail, so it stops promptly.
            let (_tx, dummy) = sync_channel(0);
            drop(std::mem::replace(rx, dummy));
            if let Some(h) = handle.take() {
                let _ = h.join();
            }
        }
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "unexpected internal error".into())
}

fn datetime_cell(dt: &calamine::ExcelDateTime) -> Cell {
    if dt.is_datetime() {
        match dt.as_datetime() {
            Some(d) if dt.as_f64() >= 1.0 => Cell::Date(d.date()),
            // A time of day or an out-of-range serial: keep the number.
            _ => Cell::Number(dt.as_f64()),
        }
    } else {
        Cell::Number(dt.as_f64())
    }
}

fn iso_cell(s: &str) -> Cell {
    s.get(..10).and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()).map(Cell::Date).unwrap_or_else(|| Cell::Text(s.to_string()))
}

fn from_data_ref(v: &DataRef<'_>) -> Cell {
    match v {
        DataRef::Empty => Cell::Empty,
        DataRef::Int(i) => Cell::Number(*i as f64),
        DataRef::Float(f) => Cell::Number(*f),
        DataRef::String(s) => Cell::Text(s.clone()),
        DataRef::SharedString(s) => Cell::Text((*s).to_string()),
        DataRef::Bool(b) => Cell::Bool(*b),
        DataRef::DateTime(dt) => datetime_cell(dt),
        DataRef::DateTimeIso(s) => iso_cell(s),
        DataRef::DurationIso(s) => Cell::Text(s.clone()),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

fn from_data(v: &Data) -> Cell {
    match v {
        Data::Empty => Cell::Empty,
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::String(s) => Cell::Text(s.clone()),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => datetime_cell(dt),
        Data::DateTimeIso(s) => iso_cell(s),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

fn pick_sheet(names: &[String], wanted: Option<&str>) -> Result<String, ReadError> {
    match wanted {
        Some(w) => names.iter().find(|n| *n == w).cloned().ok_or_else(|| ReadError::NoSuchSheet(w.to_string())),
        None => names.first().cloned().ok_or(ReadError::NoSheet),
    }
}

/// Worksheet names of an `.xlsx` workbook.
pub fn xlsx_sheet_names<R: Read + Seek>(input: R) -> Result<Vec<String>, ReadError> {
    catch_unwind(AssertUnwindSafe(|| Xlsx::new(input).map(|wb| wb.sheet_names()))).map_err(|p| ReadError::Excel(panic_message(p)))?.map_err(Into::into)
}

/// Streams the rows of a worksheet (the first one unless `sheet` names another).
pub fn read_xlsx<R: Read + Seek + Send + 'static>(input: R, sheet: Option<&str>) -> Result<SheetRows, ReadError> {
    let mut wb: Xlsx<R> = catch_unwind(AssertUnwindSafe(|| Xlsx::new(input))).map_err(|p| ReadError::Excel(panic_message(p)))??;
    let name = pick_sheet(&wb.sheet_names(), sheet)?;
    let (tx, rx) = sync_channel::<Result<Vec<RawRow>, ReadError>>(4);
    let sheet_name = name.clone();
    let handle = std::thread::Builder::new().name("xlsx-reader".into()).spawn(move || {
        let tx2 = tx.clone();
        let result = catch_unwind(AssertUnwindSafe(move || -> Result<(), ReadError> {
            let mut cells = wb.worksheet_cells_reader(&sheet_name)?;
            let mut batch: Vec<RawRow> = Vec::with_capacity(BATCH);
            let mut current: Option<RawRow> = None;
            loop {
                let cell = match cells.next_cell() {
                    Ok(Some(c)) => c,
                    Ok(None) => break,
                    Err(e) => {
                        // Hand over the rows read so far, then the error.
                        batch.extend(current.take());
                        if !batch.is_empty() {
                            let _ = tx.send(Ok(std::mem::take(&mut batch)));
                        }
                        return Err(e.into());
                    }
                };
                let (r, c) = cell.get_position();
                let c = c as usize;
                if current.as_ref().is_some_and(|cur| cur.row != r + 1) {
                    batch.push(current.take().unwrap_or_else(|| RawRow { row: 0, cells: vec![] }));
                    if batch.len() >= BATCH && tx.send(Ok(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))).is_err() {
                        return Ok(());
                    }
                }
                let row = current.get_or_insert_with(|| RawRow { row: r.saturating_add(1), cells: Vec::new() });
                if c >= MAX_COLUMNS {
                    continue;
                }
                let v = from_data_ref(cell.get_value());
                if v == Cell::Empty {
                    continue;
                }
                if row.cells.len() <= c {
                    row.cells.resize(c + 1, Cell::Empty);
                }
                row.cells[c] = v;
            }
            batch.extend(current);
            if !batch.is_empty() {
                let _ = tx.send(Ok(batch));
            }
            Ok(())
        }));
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                let _ = tx2.send(Err(e));
            }
            Err(p) => {
                let _ = tx2.send(Err(ReadError::Excel(panic_message(p))));
            }
        }
    })?;
    Ok(SheetRows { inner: Inner::Threaded { rx, buf: Vec::new().into_iter(), handle: Some(handle) }, sheet: name })
}

/// Reads a worksheet of a legacy `.xls` workbook.
pub fn read_xls<R: Read + Seek>(input: R, sheet: Option<&str>) -> Result<SheetRows, ReadError> {
    let res = catch_unwind(AssertUnwindSafe(|| -> Result<SheetRows, ReadError> {
        let mut wb: Xls<R> = Xls::new(input)?;
        let name = pick_sheet(&wb.sheet_names(), sheet)?;
        let range = wb.worksheet_range(&name)?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let mut rows = Vec::new();
        for (i, r) in range.rows().enumerate() {
            let mut cells: Vec<Cell> = Vec::with_capacity(c0 as usize + r.len());
            cells.resize(c0 as usize, Cell::Empty);
            cells.extend(r.iter().map(from_data));
            cells.truncate(MAX_COLUMNS);
            while cells.last() == Some(&Cell::Empty) {
                cells.pop();
            }
            if !cells.is_empty() {
                rows.push(RawRow { row: r0 + i as u32 + 1, cells });
            }
        }
        Ok(SheetRows { inner: Inner::Buffered(rows.into_iter()), sheet: name })
    }));
    res.map_err(|p| ReadError::Excel(panic_message(p)))?
}
