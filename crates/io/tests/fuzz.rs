//! No panic on any input: arbitrary bytes, and mutations of real files (which get much further
//! into the parsers than random noise does), through every reader and the converter.

use std::io::Cursor;

use dangan_io::package::read_package;
use dangan_io::vcard::read_vcards;
use dangan_io::{open_table, Converter, FileKind, ReadOptions};
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

/// Reads a file as `kind` to the end, converting every row; errors are fine, panics are not.
fn drive(bytes: Vec<u8>, kind: FileKind) {
    if let Ok(table) = open_table(Cursor::new(bytes), kind, &ReadOptions::default()) {
        let conv = Converter::new(&table.detect_mapping(None));
        for r in table.take(10_000).flatten() {
            let _ = conv.convert(&r);
        }
    }
}

fn mutate(mut base: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    if base.is_empty() {
        return base;
    }
    for &(pos, b) in edits {
        let n = base.len();
        base[pos % n] = b;
    }
    if let Some(c) = cut {
        let n = base.len();
        base.truncate(c % (n + 1));
    }
    base
}

/// Byte offset of the first record of type `typ` and length `len` in a workbook file.
fn record_at(bytes: &[u8], typ: u16, len: u16) -> usize {
    let head = [typ.to_le_bytes(), len.to_le_bytes()].concat();
    bytes.windows(4).position(|w| w == head.as_slice()).expect("record in the fixture")
}

/// Found by the fuzzer below (CI, 2026-11): a DIMENSIONS record damaged into billions of rows made
/// calamine reserve hundreds of gigabytes, and the failed allocation aborted the test process.
/// Such workbooks are refused with a clear error instead.
#[test]
fn xls_with_absurd_dimensions_is_refused_not_aborted() {
    let good = fixture("legacy.xls");
    let at = record_at(&good, 0x0200, 14) + 4;
    for (offset, value) in [(4usize, 0xFFFF_FFF0u32), (0, 0x0000_FFFF)] {
        let mut bad = good.clone();
        bad[at + offset..at + offset + 4].copy_from_slice(&value.to_le_bytes());
        let err = open_table(Cursor::new(bad), FileKind::Xls, &ReadOptions::default()).expect_err("a damaged workbook");
        assert!(err.message_zh().contains("Excel文件无法读取"), "{}", err.message_zh());
    }
    let mut bad = good.clone();
    let cell = record_at(&good, 0x00FD, 10) + 4;
    bad[cell + 2..cell + 4].copy_from_slice(&60_000u16.to_le_bytes());
    assert!(open_table(Cursor::new(bad), FileKind::Xls, &ReadOptions::default()).is_err(), "a cell beyond column IV");
    assert!(open_table(Cursor::new(good), FileKind::Xls, &ReadOptions::default()).is_ok(), "the undamaged workbook still reads");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn csv_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        drive(bytes, FileKind::Csv);
    }

    #[test]
    fn csv_reader_never_panics_on_texty_input(s in "[客户名称手机电话,\"\r\n;\t0-9a-zA-Z年月日\\-/.¥万]{0,600}") {
        drive(s.into_bytes(), FileKind::Csv);
    }

    #[test]
    fn xlsx_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        drive(bytes, FileKind::Xlsx);
    }

    #[test]
    fn xlsx_reader_never_panics_on_damaged_workbooks(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in proptest::option::of(any::<usize>())) {
        drive(mutate(fixture("summary_title_merged.xlsx"), &edits, cut), FileKind::Xlsx);
    }

    #[test]
    fn xls_reader_never_panics_on_damaged_workbooks(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in proptest::option::of(any::<usize>())) {
        drive(mutate(fixture("legacy.xls"), &edits, cut), FileKind::Xls);
    }

    #[test]
    fn vcard_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        if let Ok(cards) = read_vcards(&bytes) {
            for c in cards { let _ = c.to_contact(); let _ = c.to_person_archive(); }
        }
    }

    #[test]
    fn vcard_reader_never_panics_on_damaged_cards(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..12), cut in proptest::option::of(any::<usize>()), which in 0usize..3) {
        let name = ["android_v21.vcf", "iphone_v30.vcf", "contact_v40.vcf"][which];
        if let Ok(cards) = read_vcards(&mutate(fixture(name), &edits, cut)) {
            for c in cards { let _ = c.to_contact(); let _ = c.to_person_archive(); }
        }
    }

    #[test]
    fn package_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = read_package(&bytes);
    }
}

/// Mutations of a real package (built once).
#[test]
fn package_reader_never_panics_on_damaged_packages() {
    use chrono::{NaiveDate, TimeZone, Utc};
    use dangan_core::model::Archive;
    let g = dangan_core::demo::DemoGenerator::new(1, NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), vec![]);
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let archives: Vec<_> = g
        .archives(0..3)
        .enumerate()
        .map(|(i, d)| dangan_io::package::PackageArchive {
            archive: Archive { id: i as i64, archive_no: format!("N{i}"), data: d.data, version: 1, created_by: 1, created_at: t, updated_by: 1, updated_at: t, merged_into: None, destroyed_at: None },
            contacts: vec![],
            timeline: vec![],
            attachments: vec![],
        })
        .collect();
    let good = dangan_io::package::write_package(&archives, t, None).unwrap();
    assert!(read_package(&good).is_ok());
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig { cases: 512, ..ProptestConfig::default() });
    runner
        .run(&(proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), proptest::option::of(any::<usize>())), |(edits, cut)| {
            let _ = read_package(&mutate(good.clone(), &edits, cut));
            Ok(())
        })
        .unwrap();
}
