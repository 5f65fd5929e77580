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
