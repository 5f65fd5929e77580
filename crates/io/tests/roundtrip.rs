//! Round trips: export → import gives the same archives (xlsx and both CSV encodings), package
//! write → read gives identical data and refuses altered packages, the error report imports
//! back, vCard → contact → vCard keeps every field.

use std::io::{Cursor, Read, Write};

use chrono::{NaiveDate, TimeZone, Utc};
use dangan_core::demo::DemoGenerator;
use dangan_core::model::{Archive, ArchiveData, Attachment, Contact, ContactData, TimelineEntry};
use dangan_io::export::{ColumnSet, CsvEncoding, CsvExporter, ErrorReport, XlsxExporter, ERROR_COLUMN};
use dangan_io::package::{read_package, write_package, PackageArchive, PackageAttachment, PackageError};
use dangan_io::vcard::{read_vcards, write_contact};
use dangan_io::{open_table, Cell, Converter, FileKind, ReadOptions, Target};

fn demo(n: u64) -> Vec<(ArchiveData, Vec<ContactData>)> {
    let g = DemoGenerator::new(7, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(), vec![(3, 1), (4, 2)]);
    g.archives(0..n)
        .map(|d| {
            let mut a = d.data;
            a.normalize();
            let contacts = d
                .contacts
                .into_iter()
                .map(|mut c| {
                    c.normalize();
                    c
                })
                .collect();
            (a, contacts)
        })
        .collect()
}

fn import_all(bytes: Vec<u8>, kind: FileKind) -> Vec<(ArchiveData, Vec<ContactData>)> {
    let table = open_table(Cursor::new(bytes), kind, &ReadOptions::default()).unwrap();
    let mapping = table.detect_mapping(None);
    assert!(mapping.problems().is_empty(), "{:?}", mapping.problems());
    assert_eq!(mapping.unmapped().count(), 0, "{:?}", mapping.unmapped().collect::<Vec<_>>());
    let conv = Converter::new(&mapping);
    table
        .map(|r| {
            let r = r.unwrap();
            let rec = conv.convert(&r).unwrap_or_else(|e| panic!("row {}: {e:?}", r.row));
            (rec.archive, rec.contacts)
        })
        .collect()
}

fn assert_same(original: &[(ArchiveData, Vec<ContactData>)], back: &[(ArchiveData, Vec<ContactData>)]) {
    assert_eq!(original.len(), back.len());
    for (i, (o, b)) in original.iter().zip(back).enumerate() {
        assert_eq!(o.0, b.0, "archive {i}");
        assert_eq!(o.1, b.1, "contacts of archive {i}");
    }
}

#[test]
fn xlsx_export_then_import_gives_the_same_archives() {
    let data = demo(1500);
    let mut x = XlsxExporter::new(ColumnSet::full(3), "客户档案").unwrap();
    for (i, (a, c)) in data.iter().enumerate() {
        x.write(Some(&format!("KH-2026-{i:06}")), a, c).unwrap();
    }
    let bytes = x.finish().unwrap();
    assert_same(&data, &import_all(bytes, FileKind::Xlsx));
}

#[test]
fn csv_export_then_import_in_both_encodings() {
    let data = demo(1500);
    for enc in [CsvEncoding::Utf8Bom, CsvEncoding::Gbk] {
        let mut w = CsvExporter::new(Vec::new(), ColumnSet::full(3), enc).unwrap();
        for (a, c) in &data {
            w.write(None, a, c).unwrap();
        }
        let bytes = w.finish().unwrap();
        assert_eq!(bytes.starts_with(b"\xEF\xBB\xBF"), enc == CsvEncoding::Utf8Bom);
        if enc == CsvEncoding::Gbk {
            assert!(std::str::from_utf8(&bytes).is_err(), "GBK output is not UTF-8");
        }
        assert_same(&data, &import_all(bytes, FileKind::Csv));
    }
}

#[test]
fn english_standard_columns_import_back() {
    let data = demo(200);
    let mut cols = ColumnSet::standard();
    cols.lang = "en".into();
    let mut w = CsvExporter::new(Vec::new(), cols.clone(), CsvEncoding::Utf8Bom).unwrap();
    for (a, c) in &data {
        w.write(Some("X-1"), a, c).unwrap();
    }
    let table = open_table(Cursor::new(w.finish().unwrap()), FileKind::Csv, &ReadOptions::default()).unwrap();
    let m = table.detect_mapping(None);
    let targets: Vec<Target> = m.columns.iter().skip(1).map(|c| c.target.clone().unwrap()).collect();
    assert_eq!(targets, cols.columns.iter().map(|c| c.target.clone()).collect::<Vec<_>>());
    let conv = Converter::new(&m);
    for (r, (a, _)) in table.zip(&data) {
        let rec = conv.convert(&r.unwrap()).unwrap();
        assert_eq!((&rec.archive.name, rec.archive.kind, rec.archive.credit.limit), (&a.name, a.kind, a.credit.limit));
    }
}

#[test]
fn error_report_lists_bad_rows_and_imports_back_after_fixing() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/summary_title_merged.xlsx");
    let table = open_table(std::fs::File::open(&path).unwrap(), FileKind::Xlsx, &ReadOptions::default()).unwrap();
    let mapping = table.detect_mapping(None);
    let conv = Converter::new(&mapping);
    let mut report = ErrorReport::new(table.preamble(), table.header_rows(), &table.header().texts).unwrap();
    let mut bad_rows = Vec::new();
    let mut first_errors = Vec::new();
    for r in table {
        let r = r.unwrap();
        if let Err(e) = conv.convert(&r) {
            report.add(&r, &e).unwrap();
            bad_rows.push(r.row);
            first_errors.push(e);
        }
    }
    assert_eq!(bad_rows, vec![10, 11, 12, 14, 15]);
    let bytes = report.finish().unwrap();

    // Read the report back as a user's re-import would.
    let table = open_table(Cursor::new(bytes), FileKind::Xlsx, &ReadOptions::default()).unwrap();
    assert_eq!(table.header().rows, vec![3, 4], "title rows and the two-level header are reproduced");
    let m = table.detect_mapping(None);
    let err_col = m.columns.iter().find(|c| c.header.ends_with(ERROR_COLUMN)).expect("error column");
    assert_eq!(err_col.target, Some(Target::Ignore));
    assert_eq!(m.columns.iter().filter(|c| c.target == Some(Target::Ignore)).count(), 3, "序号, 错误说明, 原行号");
    let conv = Converter::new(&m);
    let rows: Vec<_> = table.map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 5);
    let idx = err_col.index;
    assert_eq!(rows[0].get(idx).display(), first_errors[0].iter().map(|e| e.message_zh.clone()).collect::<Vec<_>>().join("；"));
    assert_eq!(rows[0].get(idx + 1), &Cell::Number(10.0));
    // The same errors again (row numbers are now the report's).
    for (r, e) in rows.iter().zip(&first_errors) {
        let again = conv.convert(r).unwrap_err();
        let a: Vec<_> = again.iter().map(|x| (&x.column, &x.message_zh)).collect();
        let b: Vec<_> = e.iter().map(|x| (&x.column, &x.message_zh)).collect();
        assert_eq!(a, b);
    }
    // The user fixes row 10's cells; the row then imports, the error column is ignored.
    let mut fixed = rows[0].clone();
    let col = |h: &str| m.columns.iter().find(|c| c.header == h).unwrap().index;
    fixed.cells[col("联系人/手机")] = Cell::Text("13800138001".into());
    fixed.cells[col("统一社会信用代码")] = Cell::Text("91350100M000100Y43".into());
    fixed.cells[col("客户等级")] = Cell::Text("A".into());
    let rec = conv.convert(&fixed).unwrap();
    assert_eq!(rec.archive.name, "杭州错误建材有限公司");
    assert!(rec.archive.characteristics.notes.is_none(), "the error text did not leak into the archive");
}

#[test]
fn vcard_round_trip_keeps_every_contact_field() {
    let mut n = 0;
    for (a, contacts) in demo(400) {
        for c in contacts {
            let text = write_contact(&c, Some(&a.name));
            let back = read_vcards(text.as_bytes()).unwrap();
            assert_eq!(back.len(), 1);
            assert_eq!(back[0].to_contact(), c, "{text}");
            n += 1;
        }
    }
    assert!(n > 100);
}

fn package_archives() -> Vec<PackageArchive> {
    let g = DemoGenerator::new(11, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(), vec![(3, 1)]);
    let t = Utc.with_ymd_and_hms(2026, 5, 1, 8, 30, 0).unwrap();
    g.archives(0..20)
        .enumerate()
        .map(|(i, d)| {
            let id = i as i64 + 1;
            let archive = Archive { id, archive_no: format!("KH-2026-{id:05}"), data: d.data, version: 3, created_by: 3, created_at: t, updated_by: 4, updated_at: t + chrono::Duration::hours(id), merged_into: None, destroyed_at: None };
            let contacts = d.contacts.into_iter().enumerate().map(|(k, data)| Contact { id: id * 10 + k as i64, archive_id: id, data }).collect();
            let timeline = d
                .entries
                .into_iter()
                .enumerate()
                .map(|(k, data)| TimelineEntry { id: id * 100 + k as i64, archive_id: id, data, superseded_by: None, created_by: 3, created_at: t })
                .collect();
            let attachments = (0..(i % 3))
                .map(|k| {
                    let bytes = format!("%PDF-1.4 scan {id}-{k} 客户资料卡").into_bytes();
                    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
                    PackageAttachment { meta: Attachment { id: id * 1000 + k as i64, archive_id: id, sha256: sha, filename: format!("资料卡{k}.pdf"), content_type: "application/pdf".into(), size: bytes.len() as i64, created_by: 3, created_at: t }, bytes }
                })
                .collect();
            PackageArchive { archive, contacts, timeline, attachments }
        })
        .collect()
}

/// Copies a zip, letting `edit` change (name, bytes) pairs or drop them, and optionally adds one.
fn rezip(bytes: &[u8], edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>, extra: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..z.len() {
        let mut f = z.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let mut b = Vec::new();
        f.read_to_end(&mut b).unwrap();
        if let Some(b) = edit(&name, b) {
            w.start_file(name.as_str(), zip::write::SimpleFileOptions::default()).unwrap();
            w.write_all(&b).unwrap();
        }
    }
    if let Some((n, b)) = extra {
        w.start_file(n, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn package_write_then_read_is_identical_and_verified() {
    let archives = package_archives();
    assert!(archives.iter().any(|a| !a.attachments.is_empty() && !a.timeline.is_empty()));
    let t = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
    let bytes = write_package(&archives, t, Some("档案管理员 李明".into())).unwrap();
    let p = read_package(&bytes).unwrap();
    assert_eq!(p.archives, archives);
    assert_eq!(p.manifest.archives.len(), 20);
    assert_eq!(p.manifest.created_by.as_deref(), Some("档案管理员 李明"));
    // Same data, same bytes.
    assert_eq!(write_package(&archives, t, Some("档案管理员 李明".into())).unwrap(), bytes);

    // One changed byte in one file.
    let tampered = rezip(&bytes, |n, mut b| {
        if n == "archives/000002/archive.json" {
            // Same size, one digit changed (e.g. a credit limit): only the hash can tell.
            let pos = b.iter().position(|c| c.is_ascii_digit()).unwrap();
            b[pos] = if b[pos] == b'9' { b'8' } else { b[pos] + 1 };
        }
        Some(b)
    }, None);
    match read_package(&tampered) {
        Err(PackageError::HashMismatch { path, .. }) => assert_eq!(path, "archives/000002/archive.json"),
        other => panic!("{other:?}"),
    }
    let e = read_package(&tampered).unwrap_err();
    assert_eq!(e.message_zh(), "文件archives/000002/archive.json的SHA-256校验值与清单不符，档案包已被改动或损坏");
    // A file removed, a file added, the manifest removed.
    let removed = rezip(&bytes, |n, b| (n != "archives/000003/timeline.json").then_some(b), None);
    assert!(matches!(read_package(&removed), Err(PackageError::Missing { .. })));
    let added = rezip(&bytes, |_, b| Some(b), Some(("archives/000001/evil.sh", b"rm -rf /")));
    assert!(matches!(read_package(&added), Err(PackageError::Unlisted { .. })));
    let no_manifest = rezip(&bytes, |n, b| (n != "manifest.json").then_some(b), None);
    assert!(matches!(read_package(&no_manifest), Err(PackageError::NoManifest)));
    assert!(matches!(read_package(b"not a zip"), Err(PackageError::Zip(_))));
}
