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

/// The last row number a worksheet declares (its `<dimension>`), without reading its cells; `None`
/// when the sheet declares none. A hint for sizing and progress, not a count: blank and title rows
/// are included, and a writer may declare a larger range than it filled.
pub fn xlsx_declared_rows<R: Read + Seek>(input: R, sheet: Option<&str>) -> Result<Option<u64>, ReadError> {
    catch_unwind(AssertUnwindSafe(|| -> Result<Option<u64>, ReadError> {
        let mut wb: Xlsx<R> = Xlsx::new(input)?;
        let name = pick_sheet(&wb.sheet_names(), sheet)?;
        let cells = wb.worksheet_cells_reader(&name)?;
        let d = cells.dimensions();
        Ok((d.end.0 > 0 || d.end.1 > 0).then_some(d.end.0 as u64 + 1))
    }))
    .map_err(|p| ReadError::Excel(panic_message(p)))?
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
pub fn read_xls<R: Read + Seek>(mut input: R, sheet: Option<&str>) -> Result<SheetRows, ReadError> {
    let mut bytes = Vec::new();
    input.read_to_end(&mut bytes)?;
    check_xls_extent(&bytes)?;
    let res = catch_unwind(AssertUnwindSafe(|| -> Result<SheetRows, ReadError> {
        let mut wb = Xls::new(std::io::Cursor::new(bytes))?;
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

/// The most rows and columns a BIFF8 worksheet holds.
const XLS_MAX_ROWS: u32 = 65_536;
const XLS_MAX_COLUMNS: u32 = 256;

/// Refuses a legacy workbook whose records place cells beyond what the format holds.
///
/// calamine reserves room for a sheet's declared dimensions (DIMENSIONS record) and lays the
/// cells out densely between the extreme positions it meets, so one damaged record (rows up to
/// 4 billion, a column of 60,000, a last row before the first) makes it ask for hundreds of
/// gigabytes; the allocator then aborts the whole process, which no `catch_unwind` can stop.
/// So the workbook stream is walked once before calamine sees it: DIMENSIONS must stay within
/// 65,536 × 256 with its ends in order, and every cell record's column below 256.
fn check_xls_extent(bytes: &[u8]) -> Result<(), ReadError> {
    let damaged = |why: &str| ReadError::Excel(format!("damaged .xls workbook: {why}"));
    let mut file = cfb::CompoundFile::open(std::io::Cursor::new(bytes)).map_err(|e| damaged(&e.to_string()))?;
    let name = ["/Workbook", "/Book"].into_iter().find(|n| file.is_stream(n)).ok_or_else(|| damaged("no workbook stream"))?;
    let mut stream = Vec::new();
    // A stream can't hold more than the file does; `take` keeps a damaged length from mattering.
    file.open_stream(name).map_err(|e| damaged(&e.to_string()))?.take(bytes.len() as u64).read_to_end(&mut stream).map_err(|e| damaged(&e.to_string()))?;
    let u16_at = |d: &[u8], i: usize| d.get(i..i + 2).map(|b| u16::from_le_bytes([b[0], b[1]]) as u32);
    let u32_at = |d: &[u8], i: usize| d.get(i..i + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut at = 0;
    while let (Some(typ), Some(len)) = (u16_at(&stream, at), u16_at(&stream, at + 2)) {
        let start = at + 4;
        let data = &stream[start.min(stream.len())..(start + len as usize).min(stream.len())];
        at = start + len as usize;
        match typ {
            // DIMENSIONS (MS-XLS 2.4.90): first row, last row + 1, first column, last column + 1.
            0x0200 => {
                let (first_row, end_row, end_col) = match data.len() {
                    10 => (u16_at(data, 0), u16_at(data, 2), u16_at(data, 6)),
                    14 | 16 => (u32_at(data, 0), u32_at(data, 4), u16_at(data, 10)),
                    _ => continue, // calamine refuses these itself
                };
                let (Some(first_row), Some(end_row), Some(end_col)) = (first_row, end_row, end_col) else { continue };
                if end_row > XLS_MAX_ROWS || end_col > XLS_MAX_COLUMNS || (end_row >= 1 && end_row - 1 < first_row) {
                    return Err(damaged("sheet dimensions out of range"));
                }
            }
            // Cell records that start with (row, column): NUMBER, LABEL, RSTRING, LABELSST, RK,
            // BOOLERR, FORMULA, BLANK, MULBLANK; MULRK also ends with its last column.
            0x0203 | 0x0204 | 0x00D6 | 0x00FD | 0x027E | 0x0205 | 0x0006 | 0x0201 | 0x00BE | 0x00BD => {
                let last_col = if typ == 0x00BD || typ == 0x00BE { data.len().checked_sub(2).and_then(|i| u16_at(data, i)) } else { None };
                if [u16_at(data, 2), last_col].into_iter().flatten().any(|c| c >= XLS_MAX_COLUMNS) {
                    return Err(damaged("cell beyond column IV"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}
