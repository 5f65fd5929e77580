//! Renders every form from realistic input and checks the PDF the way a reader would: the text
//! extracted back with poppler's `pdftotext` contains the input (Chinese included), every page
//! carries the watermark and "第 i 页 / 共 n 页", long tables repeat their header on every page,
//! the fonts are embedded (`pdffonts`). Page images go to `<workspace>/test-artifacts/pdf/`
//! (`pdftoppm`) for a person to look at.
//!
//! poppler-utils is required under CI (`CI` set): a missing tool fails the test. Elsewhere the
//! extraction checks print SKIPPED and the rest runs.

use std::path::PathBuf;
use std::process::Command;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use dangan_core::model::*;
use dangan_pdf::*;

fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-artifacts/pdf");
    std::fs::create_dir_all(&dir).expect("create test-artifacts/pdf");
    dir
}

fn have(tool: &str) -> bool {
    let ok = Command::new(tool).arg("-v").output().is_ok();
    if !ok && std::env::var_os("CI").is_some() {
        panic!("{tool} (Debian package poppler-utils) is required under CI: apt-get install -y poppler-utils");
    }
    if !ok {
        eprintln!("SKIPPED: {tool} not installed (apt-get install -y poppler-utils); text checks not run");
    }
    ok
}

fn wm() -> Watermark {
    Watermark { viewer: "王晓燕 (wangxy)".into(), at: FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(2026, 11, 30, 14, 5, 9).unwrap(), reference: Some("审计#000123".into()) }
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn t(y: i32, m: u32, day: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, day, h, 0, 0).unwrap()
}

/// Writes the PDF and page images; returns the text of each page, whitespace removed.
fn check_pdf(name: &str, pdf: &Pdf) -> Option<Vec<String>> {
    assert!(pdf.bytes.starts_with(b"%PDF-"), "{name}: not a PDF");
    assert!(pdf.pages >= 1);
    let dir = artifacts();
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, &pdf.bytes).unwrap();
    if !have("pdftotext") {
        return None;
    }
    // Fonts: every font embedded, and it is ours.
    let fonts = Command::new("pdffonts").arg(&path).output().expect("pdffonts");
    let fonts = String::from_utf8_lossy(&fonts.stdout).to_string();
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{name}: no fonts\n{fonts}");
    for r in &rows {
        assert!(r.contains("NotoSansCJK"), "{name}: unexpected font: {r}");
        let cols: Vec<&str> = r.split_whitespace().collect();
        // name type [encoding] emb sub uni object ID: emb is the 5th column from the end.
        assert_eq!(cols[cols.len() - 5], "yes", "{name}: font not embedded: {r}");
    }
    // Page 1 (and the last page of a long one) as PNG.
    let out = dir.join(name);
    let st = Command::new("pdftoppm").args(["-png", "-r", "70", "-f", "1", "-l", "1"]).arg(&path).arg(&out).status().expect("pdftoppm");
    assert!(st.success());
    if pdf.pages > 1 {
        let st = Command::new("pdftoppm").args(["-png", "-r", "70", "-f"]).arg(pdf.pages.to_string()).arg("-l").arg(pdf.pages.to_string()).arg(&path).arg(&out).status().unwrap();
        assert!(st.success());
    }
    let text = Command::new("pdftotext").args(["-raw", "-enc", "UTF-8"]).arg(&path).arg("-").output().expect("pdftotext");
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).expect("utf-8 text");
    let mut pages: Vec<String> = text.split('\u{c}').map(squeeze).collect();
    if pages.last().is_some_and(|p| p.is_empty()) {
        pages.pop();
    }
    assert_eq!(pages.len(), pdf.pages, "{name}: page count");
    for (i, p) in pages.iter().enumerate() {
        let n = format!("第{}页/共{}页", i + 1, pdf.pages);
        assert!(p.contains(&n), "{name}: page {} lacks «{n}»", i + 1);
        // The watermark is repeated many times over each page (the footer names the viewer once).
        let marks = p.matches(&squeeze("王晓燕 (wangxy) 2026-11-30 14:05 审计#000123")).count();
        assert!(marks >= 12, "{name}: page {} has the watermark {marks} times", i + 1);
        assert!(p.contains(&squeeze("打印人：王晓燕 (wangxy)")), "{name}: page {} footer", i + 1);
    }
    Some(pages)
}

fn squeeze(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn assert_has(name: &str, text: &str, expected: &[&str]) {
    for e in expected {
        let e = squeeze(e);
        if e.is_empty() {
            continue;
        }
        assert!(text.contains(&e), "{name}: «{e}» not found in the extracted text");
    }
}

fn card_input() -> CardInput {
    let mut data = ArchiveData::new(CustomerKind::Organization, "杭州华星建材有限公司");
    data.mobile = Some("13800138000".into());
    data.landline = Some("0571-88886666".into());
    data.email = Some("info@huaxing-jc.cn".into());
    data.address = Some("浙江省杭州市西湖区文三路 478 号华星时代广场 A 座 1203 室".into());
    data.postal_code = Some("310012".into());
    data.organization = Some(OrganizationInfo {
        uscc: Some("91330106MA2B1C3D4E".into()),
        legal_representative: Some("赵建国".into()),
        registered_capital: Some(Money::from_yuan(5_000_000)),
        founded_on: Some(d(2012, 3, 18)),
        organization_form: Some("有限责任公司".into()),
        employees: Some(236),
        annual_sales: Some(Money(8_765_432_10)),
        business_scope: Some("建筑材料、装饰材料、五金交电的批发与零售；建材技术咨询服务。（依法须经批准的项目，经相关部门批准后方可开展经营活动）".into()),
    });
    data.classification = Classification {
        industry: Some("批发和零售业".into()),
        province: Some("浙江省".into()),
        city: Some("杭州市".into()),
        district: Some("西湖区".into()),
        nature: Some("经销商".into()),
        source_channel: Some("展会".into()),
        grade: Some(Grade::A),
        tags: vec!["重点客户".into(), "华东".into()],
    };
    data.status = ArchiveStatus::Active;
    data.credit = Credit {
        grade: Some(Grade::B),
        limit: Some(Money::from_yuan(800_000)),
        payment_term_days: Some(60),
        discount_percent: Some(95),
        blacklisted: false,
        blacklist_reason: None,
        assessed_on: Some(d(2026, 1, 15)),
        valid_until: Some(d(2026, 12, 31)),
    };
    data.characteristics = Characteristics {
        service_area: Some("杭州及周边县市".into()),
        sales_ability: Some("较强".into()),
        development_potential: Some("大".into()),
        business_policy: Some("稳健经营，注重回款".into()),
        cooperation_attitude: Some("积极".into()),
        business_status: Some("主营瓷砖与卫浴，年增长约 15%；主要竞争对手为东鹏、马可波罗的本地代理。".into()),
        notes: Some("財務聯絡人習慣用繁體字回覆郵件。".into()),
    };
    data.tier = Tier::Department;
    data.secrecy = Secrecy::Secret;
    data.retention_class = RetentionClass::Y30;
    let contact = |name: &str, title: &str, mobile: &str, primary: bool| ContactData {
        name: name.into(),
        title: Some(title.into()),
        mobile: Some(mobile.into()),
        landline: Some("0571-88886666".into()),
        email: None,
        wechat: Some(format!("wx_{mobile}")),
        birthday: Some(d(1980, 5, 20)),
        preferences: None,
        is_primary: primary,
    };
    CardInput {
        archive: Archive {
            id: 42,
            archive_no: "KH-XS-2026-000042".into(),
            data,
            version: 7,
            created_by: 1,
            created_at: t(2024, 3, 1, 1),
            updated_by: 1,
            updated_at: t(2026, 11, 2, 6),
            merged_into: None,
            destroyed_at: None,
        },
        contacts: vec![contact("赵建国", "总经理", "13900001111", true), contact("钱丽", "采购经理", "13900002222", false), contact("孫志偉", "財務", "13900003333", false)],
        owner_name: Some("李明".into()),
        department_name: Some("销售一部".into()),
    }
}

#[test]
fn archive_card_round_trips_chinese_text() {
    let input = card_input();
    let pdf = render_archive_card(&input, &wm()).expect("render");
    assert!(pdf.missing_chars.is_empty(), "{:?}", pdf.missing_chars);
    let Some(pages) = check_pdf("archive-card", &pdf) else { return };
    let all = pages.concat();
    let a = &input.archive.data;
    let o = a.organization.as_ref().unwrap();
    assert_has(
        "archive-card",
        &all,
        &[
            "客户资料卡",
            "档号：KH-XS-2026-000042",
            "密级：秘密",
            &a.name,
            a.address.as_deref().unwrap(),
            o.uscc.as_deref().unwrap(),
            o.business_scope.as_deref().unwrap(),
            "¥5,000,000.00",
            "¥8,765,432.10",
            "A级",
            "B级",
            "批发和零售业",
            "浙江省 杭州市 西湖区",
            "经销商",
            "¥800,000.00",
            "2026-12-31",
            "重点客户、华东",
            a.characteristics.business_status.as_deref().unwrap(),
            a.characteristics.notes.as_deref().unwrap(),
            "部门级",
            "李明",
            "销售一部",
            "2024-03-01 09:00", // created_at in the watermark's offset (+08:00)
        ],
    );
    for c in &input.contacts {
        assert_has("archive-card", &all, &[&c.name, c.title.as_deref().unwrap(), c.mobile.as_deref().unwrap(), c.wechat.as_deref().unwrap()]);
    }
    for label in ["一、基本资料", "二、联系人", "三、客户分类", "四、信用状况", "信用等级", "信用额度", "有效期至", "所属行业", "所在地区"] {
        assert_has("archive-card", &all, &[label]);
    }
}

#[test]
fn person_card_prints_person_fields() {
    let mut data = ArchiveData::new(CustomerKind::Person, "欧阳娜娜");
    data.person = Some(PersonInfo {
        gender: Some(Gender::Female),
        birth_date: Some(d(1990, 2, 14)),
        id_type: Some(IdType::ResidentId),
        id_number: Some("3301**********1234".into()),
        id_number_index: None,
        occupation: Some("教师".into()),
        employer: Some("杭州市第二中学".into()),
    });
    let input = CardInput {
        archive: Archive { id: 1, archive_no: "GR-2026-0001".into(), data, version: 1, created_by: 1, created_at: t(2026, 1, 1, 0), updated_by: 1, updated_at: t(2026, 1, 1, 0), merged_into: None, destroyed_at: None },
        contacts: vec![],
        owner_name: None,
        department_name: None,
    };
    let pdf = render_archive_card(&input, &wm()).unwrap();
    let Some(pages) = check_pdf("archive-card-person", &pdf) else { return };
    assert_has("person", &pages.concat(), &["欧阳娜娜", "女", "1990-02-14", "居民身份证", "3301**********1234", "教师", "杭州市第二中学", "（无联系人）"]);
    // Normal secrecy is not shouted at the top.
    assert!(!pages[0].contains("密级：普通"));
}

fn visit_rows(n: usize) -> Vec<VisitRow> {
    (0..n)
        .map(|i| VisitRow {
            date: d(2026, 1, 1) + chrono::Days::new(i as u64 * 3),
            kind: if i % 5 == 4 { EntryKind::Complaint } else { EntryKind::Visit },
            visitor: ["李明", "张伟", "陈静"][i % 3].into(),
            counterpart: Some(["赵建国", "钱丽"][i % 2].into()),
            summary: format!("第{}次拜访：了解第四季度瓷砖备货计划，客户反馈物流时效偏慢，希望增加周末配送；已答复将与仓储部协调。", i + 1),
            next_action: Some("报价并安排样品".into()),
            next_action_on: Some(d(2026, 2, 1) + chrono::Days::new(i as u64)),
            superseded: i == 2,
        })
        .collect()
}

#[test]
fn visit_record_flows_onto_more_pages_with_repeated_header() {
    let input = VisitRecordInput { archive_no: "KH-XS-2026-000042".into(), customer_name: "杭州华星建材有限公司".into(), owner_name: Some("李明".into()), rows: visit_rows(60) };
    let pdf = render_visit_record(&input, &wm()).unwrap();
    assert!(pdf.pages >= 3, "60 visits should take several pages, got {}", pdf.pages);
    let Some(pages) = check_pdf("visit-record", &pdf) else { return };
    for (i, p) in pages.iter().enumerate() {
        assert!(p.contains("拜访内容及结果"), "page {}: table header not repeated", i + 1);
        assert!(p.contains("档号：KH-XS-2026-000042"), "page {}: running header", i + 1);
    }
    let all = pages.concat();
    for r in &input.rows {
        assert_has("visit-record", &all, &[&r.summary]);
    }
    assert_has("visit-record", &all, &["（已更正）", "投诉", "拜访记录", "报价并安排样品（2026-02-01）"]);
}

fn slip(returned: bool) -> BorrowingSlipInput {
    BorrowingSlipInput {
        slip_no: "JY-2026-0158".into(),
        borrower: "张伟".into(),
        borrower_department: Some("销售二部".into()),
        purpose: "核对合同履约情况，准备年度续签谈判".into(),
        medium: LoanMedium::Paper,
        lent_at: t(2026, 11, 20, 2),
        due_at: t(2026, 11, 27, 9),
        lent_by: "周档案".into(),
        approved_by: Some("刘部长".into()),
        items: vec![
            LoanItem { archive_no: "KH-XS-2026-000042".into(), customer_name: "杭州华星建材有限公司".into(), secrecy: Secrecy::Secret, note: Some("含合同原件 3 份".into()) },
            LoanItem { archive_no: "KH-XS-2025-000917".into(), customer_name: "宁波海曙區東方貿易行".into(), secrecy: Secrecy::Normal, note: None },
        ],
        returned: returned.then(|| ReturnInfo { returned_at: t(2026, 11, 26, 7), complete: false, checked_by: "周档案".into(), note: Some("缺第 12 页，已报部门经理".into()) }),
    }
}

#[test]
fn borrowing_slip_prints_loan_and_return() {
    let input = slip(true);
    let pdf = render_borrowing_slip(&input, &wm()).unwrap();
    let Some(pages) = check_pdf("borrowing-slip", &pdf) else { return };
    let all = pages.concat();
    assert_has(
        "borrowing-slip",
        &all,
        &["档案借阅单", "借阅单号：JY-2026-0158", "张伟", "销售二部", &input.purpose, "原件借阅", "2026-11-20 10:00", "2026-11-27 17:00", "刘部长", "周档案", "密级：秘密", "宁波海曙區東方貿易行", "含合同原件 3 份", "2026-11-26 15:00", "不完整", "缺第 12 页，已报部门经理", "不得转借"],
    );
    let open = render_borrowing_slip(&slip(false), &wm()).unwrap();
    let Some(pages) = check_pdf("borrowing-slip-open", &open) else { return };
    assert!(!pages.concat().contains("不完整"));
}

#[test]
fn handover_list_with_many_items() {
    let items: Vec<HandoverItem> = (1..=80)
        .map(|i| HandoverItem {
            archive_no: format!("KH-XS-2026-{i:06}"),
            customer_name: format!("{}市{}商贸有限公司", ["杭州", "温州", "台州", "嘉兴"][i % 4], ["恒通", "瑞丰", "金鼎", "华美", "永兴"][i % 5]),
            secrecy: if i == 7 { Secrecy::Confidential } else { Secrecy::Normal },
            retention: RetentionClass::Y30,
            pieces: Some((i % 9 + 1) as u32),
            note: (i % 10 == 0).then(|| "附光盘一张".to_string()),
        })
        .collect();
    let input = HandoverListInput {
        list_no: "JJ-2026-007".into(),
        handed_over_on: d(2026, 11, 30),
        from_party: "张伟（销售二部，离职）".into(),
        to_party: "陈静（销售二部）".into(),
        supervisor: Some("刘部长".into()),
        reason: Some("业务员离职，客户档案整体移交".into()),
        items,
    };
    let pdf = render_handover_list(&input, &wm()).unwrap();
    assert!(pdf.pages >= 2);
    let Some(pages) = check_pdf("handover-list", &pdf) else { return };
    for (i, p) in pages.iter().enumerate().take(pdf.pages - 1) {
        assert!(p.contains("保管期限") && p.contains("件/页数"), "page {}: header not repeated", i + 1);
    }
    let all = pages.concat();
    for it in &input.items {
        assert_has("handover-list", &all, &[&it.archive_no, &it.customer_name]);
    }
    let total: u32 = input.items.iter().filter_map(|i| i.pieces).sum();
    assert_has("handover-list", &all, &["档案交接清单", "密级：机密", "业务员离职，客户档案整体移交", &format!("共移交档案 80 卷，{total} 件/页"), "移交人", "接收人", "监交人"]);
}

#[test]
fn destruction_register_names_approvers_and_witnesses() {
    let input = DestructionRegisterInput {
        register_no: "XH-2026-002".into(),
        basis: "保管期限已满，经档案鉴定小组鉴定无继续保存价值".into(),
        method: "碎纸机粉碎，电子数据删除".into(),
        place: Some("公司档案室".into()),
        destroyed_on: Some(d(2026, 12, 15)),
        items: (1..=12)
            .map(|i| DestructionItem {
                archive_no: format!("KH-1996-{i:04}"),
                customer_name: format!("已注销客户{i}号"),
                retention: RetentionClass::Y10,
                filed_on: Some(d(1996, 1, i)),
                expired_on: Some(d(2006, 12, 31)),
                pieces: Some(i),
                note: None,
            })
            .collect(),
        approvals: vec![
            Approval { role: "档案管理员".into(), name: "周档案".into(), opinion: Some("已核对清册，同意销毁".into()), decided_on: Some(d(2026, 12, 1)) },
            Approval { role: "分管副总".into(), name: "孙副总".into(), opinion: Some("同意".into()), decided_on: Some(d(2026, 12, 3)) },
        ],
        executors: vec!["周档案".into()],
        witnesses: vec!["吴监察".into(), "郑审计".into()],
    };
    let pdf = render_destruction_register(&input, &wm()).unwrap();
    let Some(pages) = check_pdf("destruction-register", &pdf) else { return };
    let all = pages.concat();
    assert_has("destruction-register", &all, &["档案销毁清册", "清册编号：XH-2026-002", &input.basis, &input.method, "公司档案室", "2026-12-15", "12 卷", "已核对清册，同意销毁", "孙副总", "分管副总", "销毁人：周档案", "监销人：吴监察", "监销人：郑审计"]);
    for it in &input.items {
        assert_has("destruction-register", &all, &[&it.archive_no, &it.customer_name]);
    }
}

#[test]
fn user_text_is_printed_verbatim_never_evaluated() {
    let mut input = card_input();
    let nasty = r#"#set page(paper: "a5") *粗体* _斜体_ $x^2$ [链接](http://x) \ // 注释 #read("/etc/passwd") <lbl> @ref"#;
    input.archive.data.name = nasty.into();
    let pdf = render_archive_card(&input, &wm()).unwrap();
    let Some(pages) = check_pdf("archive-card-verbatim", &pdf) else { return };
    assert_has("verbatim", &pages.concat(), &[nasty]);
}

#[test]
fn rare_characters_are_reported() {
    let mut input = card_input();
    input.archive.data.name = "𠮷野家（上海）餐饮有限公司".into();
    let pdf = render_archive_card(&input, &wm()).unwrap();
    assert_eq!(pdf.missing_chars, vec!['𠮷']);
    assert_eq!(unsupported_chars("张三 李四 堃 喆 镕 孫偉 ABC ¥"), Vec::<char>::new());
}

#[test]
fn render_time_and_size() {
    let mut input = card_input();
    let w = wm();
    let start = std::time::Instant::now();
    render_archive_card(&input, &w).unwrap(); // the first one parses the fonts and builds the library
    let first_ms = start.elapsed().as_secs_f64() * 1000.0;
    // Typst memoizes layout: every card differs (number, name, a contact), as in real use.
    let n = 20;
    let start = std::time::Instant::now();
    let mut size = 0;
    for i in 0..n {
        input.archive.archive_no = format!("KH-XS-2026-{:06}", 100 + i);
        input.archive.data.name = format!("杭州华星建材第{i}分公司");
        input.contacts[0].mobile = Some(format!("139{:08}", i));
        size = render_archive_card(&input, &w).unwrap().bytes.len();
    }
    let ms = start.elapsed().as_secs_f64() * 1000.0 / n as f64;
    let visits = VisitRecordInput { archive_no: "X".into(), customer_name: "Y".into(), owner_name: None, rows: visit_rows(200) };
    let start = std::time::Instant::now();
    let long = render_visit_record(&visits, &w).unwrap();
    let long_ms = start.elapsed().as_secs_f64() * 1000.0;
    println!("archive card: first {first_ms:.0} ms, then {ms:.1} ms per render, {size} bytes; visit record with 200 rows: {} pages, {long_ms:.0} ms, {} bytes", long.pages, long.bytes.len());
    assert!(size < 400_000, "a card should stay small (font subset embedded), got {size} bytes");
}
