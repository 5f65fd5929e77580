//! Imports files written by other tools (openpyxl, xlwt, Python's codecs; see
//! fixtures/make_fixtures.py) and checks every row: the good ones become the right archives,
//! the bad ones are reported with the row number Excel shows and Chinese messages.

use std::fs::File;

use chrono::NaiveDate;
use dangan_core::model::{CustomerKind, Grade, Money};
use dangan_io::vcard::read_vcards;
use dangan_io::{open_table, Converter, FileKind, ImportRecord, ReadOptions, RowError};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, dd).unwrap()
}

struct Outcome {
    header_rows: Vec<u32>,
    paths: Vec<String>,
    good: Vec<ImportRecord>,
    bad: Vec<(u32, Vec<RowError>)>,
}

fn import(name: &str) -> Outcome {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let kind = FileKind::sniff(&bytes, Some(name));
    let table = open_table(File::open(fixture(name)).unwrap(), kind, &ReadOptions::default()).unwrap();
    let mapping = table.detect_mapping(None);
    assert!(mapping.problems().is_empty(), "{:?}", mapping.problems());
    let conv = Converter::new(&mapping);
    let header_rows = table.header().rows.clone();
    let paths = mapping.columns.iter().map(|c| c.target.as_ref().map(|t| t.path()).unwrap_or_else(|| "?".into())).collect();
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for r in table {
        let r = r.unwrap();
        match conv.convert(&r) {
            Ok(rec) => good.push(rec),
            Err(e) => bad.push((r.row, e)),
        }
    }
    Outcome { header_rows, paths, good, bad }
}

fn msgs(errs: &[RowError]) -> Vec<(&str, &str)> {
    errs.iter().map(|e| (e.column.as_str(), e.message_zh.as_str())).collect()
}

#[test]
fn xlsx_with_title_rows_merged_two_level_header_dates_and_bad_rows() {
    let o = import("summary_title_merged.xlsx");
    assert_eq!(o.header_rows, vec![3, 4]);
    assert_eq!(
        o.paths,
        [
            "ignore", "name", "kind", "contacts[0].name", "contacts[0].title", "contacts[0].mobile", "phone", "email", "address", "region",
            "organization.uscc", "person.id_number", "classification.grade", "credit.grade", "credit.limit", "person.birth_date",
            "organization.founded_on", "characteristics.notes"
        ]
    );
    let rows: Vec<u32> = o.good.iter().map(|r| r.row).collect();
    assert_eq!(rows, vec![5, 6, 7, 8, 9]);

    let hx = &o.good[0];
    assert_eq!(hx.archive.kind, CustomerKind::Organization);
    assert_eq!(hx.archive.name, "杭州华星建材有限公司");
    assert_eq!(hx.contacts[0].name, "张伟");
    assert_eq!(hx.contacts[0].title.as_deref(), Some("采购经理"));
    assert_eq!(hx.contacts[0].mobile.as_deref(), Some("13800138000"));
    assert_eq!(hx.archive.landline.as_deref(), Some("0571-88886666"));
    assert_eq!(hx.archive.email.as_deref(), Some("info@hxjc.com"));
    assert_eq!(hx.archive.classification.province.as_deref(), Some("浙江省"));
    assert_eq!(hx.archive.classification.city.as_deref(), Some("杭州市"));
    assert_eq!(hx.archive.classification.grade, Some(Grade::A));
    assert_eq!(hx.archive.credit.grade, Some(Grade::B));
    assert_eq!(hx.archive.credit.limit, Some(Money(123450)));
    assert_eq!(hx.archive.organization.as_ref().unwrap().founded_on, Some(d(2015, 6, 1)), "an Excel date cell");
    assert_eq!(hx.archive.characteristics.notes.as_deref(), Some("老客户，\n重点维护"));

    let wf = &o.good[1];
    assert_eq!(wf.archive.kind, CustomerKind::Person);
    assert_eq!(wf.archive.mobile.as_deref(), Some("13900001111"), "电话 with dashes is a mobile");
    assert_eq!(wf.archive.person.as_ref().unwrap().birth_date, Some(d(1990, 3, 7)));
    assert_eq!(wf.archive.classification.grade, Some(Grade::B));
    assert_eq!(wf.archive.credit.limit, Some(Money(5_000_000)), "a number cell is yuan");
    assert!(wf.contacts.is_empty());

    let mx = &o.good[2];
    assert_eq!(mx.archive.landline.as_deref(), Some("(0591)87654321"));
    assert_eq!(mx.archive.classification.grade, Some(Grade::C), "丙");
    assert_eq!(mx.archive.credit.limit, Some(Money(1_200_000)), "1.2万");
    assert_eq!(mx.archive.organization.as_ref().unwrap().founded_on, Some(d(2010, 5, 8)), "2010年5月8日 typed as text");

    let td = &o.good[3];
    assert_eq!(td.archive.kind, CustomerKind::Organization, "企业");
    assert_eq!(td.archive.credit.limit, Some(Money(5_000_000)), "50,000.00元");
    assert_eq!(td.archive.organization.as_ref().unwrap().founded_on, Some(d(2009, 7, 6)), "serial 40000 in a General cell");

    let lj = &o.good[4];
    assert_eq!(lj.archive.landline.as_deref(), Some("010-62345678"));
    assert_eq!(lj.archive.person.as_ref().unwrap().birth_date, Some(d(1949, 12, 31)));
    assert_eq!(lj.archive.classification.city.as_deref(), Some("北京市"));
    assert_eq!(lj.archive.classification.district.as_deref(), Some("朝阳区"));

    let bad: Vec<u32> = o.bad.iter().map(|b| b.0).collect();
    assert_eq!(bad, vec![10, 11, 12, 14, 15]);
    assert_eq!(
        msgs(&o.bad[0].1),
        vec![
            ("客户等级", "客户等级应为A、B、C、D之一（也可写A级或甲、乙、丙、丁）"),
            ("联系人/手机", "联系人 手机号码格式不正确，应为11位大陆手机号"),
            ("统一社会信用代码", "统一社会信用代码校验位错误"),
        ]
    );
    assert_eq!(o.bad[0].1[1].value, "1380013800");
    assert_eq!(
        msgs(&o.bad[1].1),
        vec![
            ("生日", "生日不是有效日期，请按2023-03-04的格式填写"),
            ("联系方式/邮箱", "电子邮箱格式不正确，如name@example.com"),
            ("身份证号", "身份证号码校验位错误"),
        ]
    );
    assert_eq!(msgs(&o.bad[2].1), vec![("客户名称", "名称不能为空")]);
    assert_eq!(msgs(&o.bad[3].1), vec![("信用额度（元）", "信用额度（元）不是有效金额，应填写如1234.50、¥1,234.50或1.2万")]);
    assert!(o.bad[4].1[0].message_zh.contains("被Excel存成了数字"), "{:?}", o.bad[4].1);
    for (_, errs) in &o.bad {
        for e in errs {
            assert!(!e.message_en.is_empty() && e.message_en != e.message_zh, "{e:?}");
            assert!(e.message_zh.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)), "{e:?}");
        }
    }
}

#[test]
fn legacy_xls() {
    let o = import("legacy.xls");
    assert_eq!(o.header_rows, vec![2]);
    assert_eq!(o.good.len(), 2);
    assert_eq!(o.good[0].archive.name, "宁波海曙五金店");
    assert_eq!(o.good[0].archive.kind, CustomerKind::Organization);
    assert_eq!(o.good[0].contacts[0].name, "钱进");
    assert_eq!(o.good[0].archive.credit.limit, Some(Money(800_000)));
    assert_eq!(o.good[1].archive.mobile.as_deref(), Some("13500005678"));
    assert_eq!(o.good[1].archive.person.as_ref().unwrap().birth_date, Some(d(1982, 11, 3)), "an xls date cell");
    assert_eq!(o.bad.len(), 1);
    assert_eq!(o.bad[0].0, 5);
    assert_eq!(msgs(&o.bad[0].1), vec![("客户等级", "客户等级应为A、B、C、D之一（也可写A级或甲、乙、丙、丁）"), ("手机", "手机号码格式不正确，应为11位大陆手机号")]);
}

#[test]
fn gbk_csv_with_crlf_and_quoted_fields() {
    let o = import("customers_gbk.csv");
    assert_eq!(o.header_rows, vec![1]);
    assert_eq!(o.good.len(), 2);
    let hx = &o.good[0];
    assert_eq!(hx.archive.address.as_deref(), Some("浙江省杭州市西湖区文三路1号,2楼"));
    assert_eq!(hx.archive.credit.limit, Some(Money(120_000_000)));
    assert_eq!(hx.archive.classification.industry.as_deref(), Some("制造业"));
    assert_eq!(hx.archive.characteristics.notes.as_deref(), Some("老客户\r\n重点维护"));
    assert_eq!(o.good[1].archive.credit.limit, Some(Money(5_000_000)), "5万");
    assert_eq!(o.good[1].archive.person.as_ref().unwrap().birth_date, Some(d(1990, 3, 7)));
    // The quoted line break does not shift row numbers: the bad record is Excel's row 4.
    assert_eq!(o.bad.len(), 1);
    assert_eq!(o.bad[0].0, 4);
    assert_eq!(msgs(&o.bad[0].1), vec![("手机", "手机号码格式不正确，应为11位大陆手机号")]);
}

#[test]
fn utf8_bom_csv_with_english_headers() {
    let o = import("customers_utf8_bom.csv");
    assert_eq!(o.paths, ["name", "kind", "mobile", "email", "person.birth_date", "classification.grade", "credit.limit", "region"]);
    assert_eq!(o.good.len(), 3);
    assert_eq!(o.good[0].archive.name, "Zhang Wei", "the BOM is not part of the first header or value");
    assert_eq!(o.good[0].archive.mobile.as_deref(), Some("13800138000"));
    for g in &o.good {
        assert_eq!(g.archive.person.as_ref().unwrap().birth_date, Some(d(2023, 3, 4)), "{}", g.archive.name);
    }
    assert_eq!(o.good[0].archive.classification.district.as_deref(), Some("西湖区"));
    assert_eq!(o.good[1].archive.classification.city.as_deref(), Some("苏州市"));
    assert_eq!(o.bad.len(), 1);
    assert_eq!(o.bad[0].0, 5);
    assert_eq!(msgs(&o.bad[0].1), vec![("Birthday", "Birthday不是有效日期，请按2023-03-04的格式填写")]);
}

#[test]
fn vcards_from_phones() {
    let a = read_vcards(&std::fs::read(fixture("android_v21.vcf")).unwrap()).unwrap();
    assert_eq!(a.len(), 2);
    let c = a[0].to_contact();
    assert_eq!(c.name, "张伟");
    assert_eq!(c.title.as_deref(), Some("采购经理"));
    assert_eq!(c.mobile.as_deref(), Some("13800138000"));
    assert_eq!(c.landline.as_deref(), Some("0571-88886666"));
    assert_eq!(c.email.as_deref(), Some("zhangwei@example.com"));
    assert_eq!(c.preferences.as_deref(), Some("喜欢喝龙井茶，周末打羽毛球。\n生日前一周提醒"));
    assert_eq!(c.birthday, Some(d(1985, 6, 15)));
    let p = a[0].to_person_archive();
    assert_eq!(p.person.as_ref().unwrap().employer.as_deref(), Some("杭州华星建材有限公司"));
    assert_eq!(a[1].to_contact().name, "欧阳娜娜");
    assert_eq!(a[1].to_contact().mobile.as_deref(), Some("13912345678"));

    let i = read_vcards(&std::fs::read(fixture("iphone_v30.vcf")).unwrap()).unwrap();
    let c = i[0].to_contact();
    assert_eq!((c.name.as_str(), c.mobile.as_deref(), c.landline.as_deref()), ("李娜", Some("13712345678"), Some("(0591) 8765 4321")));
    assert_eq!(c.wechat.as_deref(), Some("lina_fz"));
    assert_eq!(c.preferences.as_deref(), Some("喜欢茶, 不喝酒\n第二行"));
    assert_eq!(c.birthday, Some(d(1979, 10, 2)));
    assert_eq!(i[0].to_person_archive().address.as_deref(), Some("中国福建福州五四路2号"));

    let v = read_vcards(&std::fs::read(fixture("contact_v40.vcf")).unwrap()).unwrap();
    let c = v[0].to_contact();
    assert_eq!((c.mobile.as_deref(), c.wechat.as_deref(), c.birthday), (Some("13900001111"), Some("wangfang90"), Some(d(1990, 3, 7))));
    assert!(read_vcards(b"hello, not a card").is_err());
}

/// The estimate a one-pass import sizes itself by: a CSV's lines, the rows an xlsx sheet declares
/// (at least the rows there are, title and header rows included), nothing for `.xls`.
#[test]
fn row_count_hints() {
    use dangan_io::row_count_hint;
    for name in ["customers_gbk.csv", "customers_utf8_bom.csv", "summary_title_merged.xlsx"] {
        let kind = FileKind::sniff(&std::fs::read(fixture(name)).unwrap(), Some(name));
        let hint = row_count_hint(File::open(fixture(name)).unwrap(), kind, &ReadOptions::default()).unwrap().expect("a hint");
        let table = open_table(File::open(fixture(name)).unwrap(), kind, &ReadOptions::default()).unwrap();
        let above = (table.preamble().len() + table.header_rows().len()) as u64;
        let data = table.count() as u64;
        assert!(hint >= data + above && hint <= data + above + 3, "{name}: hint {hint}, {data} data rows below {above}");
    }
    assert_eq!(row_count_hint(File::open(fixture("legacy.xls")).unwrap(), FileKind::Xls, &ReadOptions::default()).unwrap(), None);
    // Without a final line break the last line counts too.
    assert_eq!(row_count_hint(std::io::Cursor::new(b"a,b\n1,2\n3,4".to_vec()), FileKind::Csv, &ReadOptions::default()).unwrap(), Some(3));
    assert_eq!(row_count_hint(std::io::Cursor::new(b"a,b\n1,2\n".to_vec()), FileKind::Csv, &ReadOptions::default()).unwrap(), Some(2));
}
