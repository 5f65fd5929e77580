//! Import benchmark of the file-format layer: writes a 1,000,000-row CSV and a 200,000-row xlsx
//! from the demo generator, then reads + maps + validates them, printing rows/s and peak RSS.
//!
//!     cargo run --release -p dangan-io --example import_bench [-- --csv-rows N --xlsx-rows N --dir DIR]
//!
//! Peak RSS is VmHWM from /proc/self/status, reset before each phase through
//! /proc/self/clear_refs (so each phase's peak is its own). This is the parse/validate share
//! only; duplicate checks, index terms and the database come on top in the app.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use chrono::NaiveDate;
use dangan_core::demo::DemoGenerator;
use dangan_io::export::{ColumnSet, CsvEncoding, CsvExporter, XlsxExporter};
use dangan_io::mapping::{ContactField, Field, Target};
use dangan_io::{open_table, Converter, FileKind, ReadOptions};

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

struct Line {
    phase: String,
    rows: u64,
    secs: f64,
    peak_mb: f64,
    note: String,
}

fn columns() -> ColumnSet {
    use Field::*;
    let mut t: Vec<Target> = [Name, Kind, Mobile, Landline, Email, Address, PostalCode, Province, City, District, Industry, Uscc, IdNumber, Gender, BirthDate, Grade, CreditGrade, CreditLimit, Status, Tags, Notes].into_iter().map(Target::Field).collect();
    t.extend([ContactField::Name, ContactField::Title, ContactField::Mobile].into_iter().map(|f| Target::Contact(0, f)));
    ColumnSet::from_targets(t)
}

fn import(path: &str, kind: FileKind) -> (u64, u64, u64) {
    let table = open_table(File::open(path).expect("open"), kind, &ReadOptions::default()).expect("header");
    let mapping = table.detect_mapping(None);
    assert!(mapping.problems().is_empty(), "{:?}", mapping.problems());
    let conv = Converter::new(&mapping);
    let (mut ok, mut bad, mut contacts) = (0u64, 0u64, 0u64);
    for r in table {
        match conv.convert(&r.expect("row")) {
            Ok(rec) => {
                ok += 1;
                contacts += rec.contacts.len() as u64;
            }
            Err(_) => bad += 1,
        }
    }
    (ok, bad, contacts)
}

fn main() {
    let mut csv_rows: u64 = 1_000_000;
    let mut xlsx_rows: u64 = 200_000;
    let mut dir = std::env::temp_dir().join("dangan-import-bench");
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--csv-rows" => csv_rows = args[i + 1].parse().expect("number"),
            "--xlsx-rows" => xlsx_rows = args[i + 1].parse().expect("number"),
            "--dir" => dir = args[i + 1].clone().into(),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    std::fs::create_dir_all(&dir).expect("dir");
    let csv_path = dir.join("bench.csv").to_string_lossy().into_owned();
    let gbk_path = dir.join("bench-gbk.csv").to_string_lossy().into_owned();
    let xlsx_path = dir.join("bench.xlsx").to_string_lossy().into_owned();
    let g = DemoGenerator::new(42, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(), vec![(1, 1), (2, 1), (3, 2)]);
    let can_reset = reset_peak();
    let mut lines = Vec::new();
    let mut phase = |name: &str, rows: u64, f: &mut dyn FnMut() -> String| {
        reset_peak();
        let t = Instant::now();
        let note = f();
        let secs = t.elapsed().as_secs_f64();
        let line = Line { phase: name.into(), rows, secs, peak_mb: status_kb("VmHWM:") as f64 / 1024.0, note };
        eprintln!("{:<34} {:>9} rows {:>8.2} s {:>10.0} rows/s  peak {:>6.1} MB  {}", line.phase, line.rows, line.secs, line.rows as f64 / line.secs, line.peak_mb, line.note);
        lines.push(line);
    };

    phase("write CSV (UTF-8+BOM) from demo", csv_rows, &mut || {
        let mut w = CsvExporter::new(BufWriter::with_capacity(1 << 20, File::create(&csv_path).unwrap()), columns(), CsvEncoding::Utf8Bom).unwrap();
        for (i, d) in g.archives(0..csv_rows).enumerate() {
            w.write(Some(&format!("KH{i:07}")), &d.data, &d.contacts).unwrap();
        }
        w.finish().unwrap().flush().unwrap();
        format!("{} MB", std::fs::metadata(&csv_path).unwrap().len() >> 20)
    });
    let gbk_rows = csv_rows.min(200_000);
    phase("write CSV (GBK) from demo", gbk_rows, &mut || {
        let mut w = CsvExporter::new(BufWriter::with_capacity(1 << 20, File::create(&gbk_path).unwrap()), columns(), CsvEncoding::Gbk).unwrap();
        for d in g.archives(0..gbk_rows) {
            w.write(None, &d.data, &d.contacts).unwrap();
        }
        w.finish().unwrap().flush().unwrap();
        format!("{} MB", std::fs::metadata(&gbk_path).unwrap().len() >> 20)
    });
    phase("write xlsx (constant memory)", xlsx_rows, &mut || {
        let mut x = XlsxExporter::new(columns(), "客户档案").unwrap();
        for (i, d) in g.archives(0..xlsx_rows).enumerate() {
            x.write(Some(&format!("KH{i:07}")), &d.data, &d.contacts).unwrap();
        }
        x.finish_to(File::create(&xlsx_path).unwrap()).unwrap();
        format!("{} MB", std::fs::metadata(&xlsx_path).unwrap().len() >> 20)
    });
    phase("read CSV UTF-8 only (no convert)", csv_rows, &mut || {
        let table = open_table(File::open(&csv_path).unwrap(), FileKind::Csv, &ReadOptions::default()).unwrap();
        let cells: usize = table.map(|r| r.unwrap().cells.len()).sum();
        format!("{cells} cells")
    });
    phase("import CSV UTF-8: read+map+validate", csv_rows, &mut || {
        let (ok, bad, c) = import(&csv_path, FileKind::Csv);
        assert_eq!(ok + bad, csv_rows);
        format!("{ok} ok, {bad} rejected, {c} contacts")
    });
    phase("import CSV GBK: read+map+validate", gbk_rows, &mut || {
        let (ok, bad, c) = import(&gbk_path, FileKind::Csv);
        assert_eq!(ok + bad, gbk_rows);
        format!("{ok} ok, {bad} rejected, {c} contacts")
    });
    phase("read xlsx only (no convert)", xlsx_rows, &mut || {
        let table = open_table(File::open(&xlsx_path).unwrap(), FileKind::Xlsx, &ReadOptions::default()).unwrap();
        let cells: usize = table.map(|r| r.unwrap().cells.len()).sum();
        format!("{cells} cells")
    });
    phase("import xlsx: read+map+validate", xlsx_rows, &mut || {
        let (ok, bad, c) = import(&xlsx_path, FileKind::Xlsx);
        assert_eq!(ok + bad, xlsx_rows);
        format!("{ok} ok, {bad} rejected, {c} contacts")
    });

    println!();
    println!("| phase | rows | seconds | rows/s | peak RSS (MB) | notes |");
    println!("|---|---:|---:|---:|---:|---|");
    for l in &lines {
        println!("| {} | {} | {:.2} | {:.0} | {:.1} | {} |", l.phase, l.rows, l.secs, l.rows as f64 / l.secs, l.peak_mb, l.note);
    }
    println!();
    if !can_reset {
        println!("(peak RSS could not be reset between phases: figures are the process peak so far)");
    }
    println!("targets for the whole import (parse+validate is only a share): CSV >= 50,000 rows/s, xlsx >= 20,000 rows/s, 1M CSV <= 30 s with peak RSS <= 300 MB");
}
