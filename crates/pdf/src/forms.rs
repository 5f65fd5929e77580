//! Each form as data for `form.typ`: the title, the number, the watermark and a list of blocks
//! (label/value grids, tables with a header row that repeats on every page, text, signature
//! lines). Everything is formatted to strings here, with zh-CN labels.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use dangan_core::model::{CustomerKind, Money, Secrecy};
use serde::Serialize;

use crate::*;

const LANG: &str = "zh-CN";

#[derive(Debug, Serialize)]
pub(crate) struct Doc {
    title: String,
    subtitle: Option<String>,
    no_label: String,
    no: String,
    secrecy: Option<String>,
    viewer: String,
    printed_at: String,
    watermark: String,
    blocks: Vec<Block>,
    #[serde(skip)]
    at: DateTime<FixedOffset>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    /// Label/value pairs, two per row; a wide pair takes a whole row.
    Kv { title: Option<String>, rows: Vec<Vec<Kv>> },
    /// `tall`: rows high enough to sign in by hand.
    Table { title: Option<String>, columns: Vec<Column>, rows: Vec<Vec<String>>, empty: String, tall: bool },
    Text { title: Option<String>, body: String },
    Signatures { title: Option<String>, lines: Vec<SignLine> },
}

#[derive(Debug, Serialize)]
struct Kv {
    label: String,
    value: String,
}

#[derive(Debug, Serialize)]
struct Column {
    label: String,
    /// Relative width; 0 for as wide as the content.
    width: f64,
    align: &'static str,
}

#[derive(Debug, Serialize)]
struct SignLine {
    label: String,
    name: String,
}

fn col(label: &str, width: f64, align: &'static str) -> Column {
    Column { label: label.into(), width, align }
}

fn sign(label: &str, name: &str) -> SignLine {
    SignLine { label: label.into(), name: name.into() }
}

/// Packs label/value pairs into rows of two; `wide` pairs get a row of their own.
#[derive(Default)]
struct KvBuilder {
    rows: Vec<Vec<Kv>>,
    pending: Option<Kv>,
}

impl KvBuilder {
    fn pair(&mut self, label: &str, value: impl Into<String>) -> &mut Self {
        let kv = Kv { label: label.into(), value: value.into() };
        match self.pending.take() {
            Some(first) => self.rows.push(vec![first, kv]),
            None => self.pending = Some(kv),
        }
        self
    }
    fn wide(&mut self, label: &str, value: impl Into<String>) -> &mut Self {
        self.flush();
        self.rows.push(vec![Kv { label: label.into(), value: value.into() }]);
        self
    }
    fn flush(&mut self) {
        if let Some(first) = self.pending.take() {
            self.rows.push(vec![first, Kv { label: String::new(), value: String::new() }]);
        }
    }
    fn block(mut self, title: &str) -> Block {
        self.flush();
        Block::Kv { title: Some(title.into()), rows: self.rows }
    }
}

fn s(o: &Option<String>) -> String {
    o.clone().unwrap_or_default()
}

fn date(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default()
}

fn local(t: DateTime<Utc>, at: &DateTime<FixedOffset>) -> String {
    t.with_timezone(at.offset()).format("%Y-%m-%d %H:%M").to_string()
}

fn money(m: Option<Money>) -> String {
    m.map(|m| m.display_cny()).unwrap_or_default()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "是"
    } else {
        "否"
    }
}

fn doc(title: &str, no_label: &str, no: &str, subtitle: Option<String>, secrecy: Option<Secrecy>, wm: &Watermark, blocks: Vec<Block>) -> Doc {
    let printed_at = wm.at.format("%Y-%m-%d %H:%M").to_string();
    let mut watermark = format!("{}  {}", wm.viewer, printed_at);
    if let Some(r) = &wm.reference {
        watermark.push_str("  ");
        watermark.push_str(r);
    }
    Doc {
        title: title.into(),
        subtitle,
        no_label: no_label.into(),
        no: no.into(),
        secrecy: secrecy.filter(|s| *s != Secrecy::Normal).map(|s| s.label(LANG).to_string()),
        viewer: wm.viewer.clone(),
        printed_at,
        watermark,
        blocks,
        at: wm.at,
    }
}

pub(crate) fn render(doc: Doc) -> Result<Pdf> {
    let value = serde_json::to_value(&doc).map_err(|e| PdfError::Data(e.to_string()))?;
    let mut all_text = String::new();
    collect_strings(&value, &mut all_text);
    let json = serde_json::to_vec(&value).map_err(|e| PdfError::Data(e.to_string()))?;
    let missing_chars = unsupported_chars(&all_text);
    let (bytes, pages) = world::compile(json, doc.at)?;
    Ok(Pdf { bytes, pages, missing_chars })
}

fn collect_strings(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::String(s) => out.push_str(s),
        serde_json::Value::Array(a) => a.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(o) => o.values().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

pub(crate) fn archive_card(input: &CardInput, wm: &Watermark) -> Doc {
    let a = &input.archive;
    let d = &a.data;
    let mut blocks = Vec::new();

    let mut basic = KvBuilder::default();
    basic.wide("客户名称", &d.name);
    basic.pair("客户类别", d.kind.label(LANG)).pair("客户状态", d.status.label(LANG));
    basic.pair("手机", s(&d.mobile)).pair("固定电话", s(&d.landline));
    basic.pair("电子邮箱", s(&d.email)).pair("邮政编码", s(&d.postal_code));
    basic.wide("地址", s(&d.address));
    match d.kind {
        CustomerKind::Organization => {
            let o = d.organization.clone().unwrap_or_default();
            basic.wide("统一社会信用代码", s(&o.uscc));
            basic.pair("法定代表人", s(&o.legal_representative)).pair("成立日期", date(o.founded_on));
            basic.pair("注册资本", money(o.registered_capital)).pair("组织形式", s(&o.organization_form));
            basic.pair("员工人数", o.employees.map(|n| n.to_string()).unwrap_or_default()).pair("年销售额", money(o.annual_sales));
            basic.wide("经营范围", s(&o.business_scope));
        }
        CustomerKind::Person => {
            let p = d.person.clone().unwrap_or_default();
            basic.pair("性别", p.gender.map(|g| g.label(LANG)).unwrap_or_default()).pair("出生日期", date(p.birth_date));
            basic.pair("证件类型", p.id_type.map(|t| t.label(LANG)).unwrap_or_default()).pair("证件号码", s(&p.id_number));
            basic.pair("职业", s(&p.occupation)).pair("工作单位", s(&p.employer));
        }
    }
    blocks.push(basic.block("一、基本资料"));

    let contacts = input
        .contacts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            vec![
                (i + 1).to_string(),
                c.name.clone(),
                s(&c.title),
                s(&c.mobile),
                s(&c.landline),
                s(&c.email),
                s(&c.wechat),
                date(c.birthday),
                if c.is_primary { "主要".to_string() } else { String::new() },
            ]
        })
        .collect();
    blocks.push(Block::Table {
        title: Some("二、联系人".into()),
        columns: vec![
            col("序号", 0.0, "center"),
            col("姓名", 1.3, "left"),
            col("职务", 1.3, "left"),
            col("手机", 1.8, "left"),
            col("固定电话", 1.9, "left"),
            col("电子邮箱", 2.4, "left"),
            col("微信", 1.6, "left"),
            col("生日", 0.0, "center"),
            col("主要", 0.0, "center"),
        ],
        rows: contacts,
        empty: "（无联系人）".into(),
        tall: false,
    });

    let c = &d.classification;
    let region: Vec<&str> = [&c.province, &c.city, &c.district].into_iter().filter_map(|x| x.as_deref()).collect();
    let mut class = KvBuilder::default();
    class.pair("客户等级", c.grade.map(|g| g.label(LANG)).unwrap_or_default()).pair("所属行业", s(&c.industry));
    class.pair("所在地区", region.join(" ")).pair("客户性质", s(&c.nature));
    class.pair("来源渠道", s(&c.source_channel)).pair("标签", c.tags.join("、"));
    blocks.push(class.block("三、客户分类"));

    let cr = &d.credit;
    let mut credit = KvBuilder::default();
    credit.pair("信用等级", cr.grade.map(|g| g.label(LANG)).unwrap_or_default()).pair("信用额度", money(cr.limit));
    credit.pair("账期（天）", cr.payment_term_days.map(|n| n.to_string()).unwrap_or_default()).pair("折扣", cr.discount_percent.map(|n| format!("{n}%")).unwrap_or_default());
    credit.pair("评定日期", date(cr.assessed_on)).pair("有效期至", date(cr.valid_until));
    credit.pair("黑名单", yes_no(cr.blacklisted)).pair("列入原因", s(&cr.blacklist_reason));
    blocks.push(credit.block("四、信用状况"));

    let ch = &d.characteristics;
    let mut chars = KvBuilder::default();
    chars.pair("服务区域", s(&ch.service_area)).pair("销售能力", s(&ch.sales_ability));
    chars.pair("发展潜力", s(&ch.development_potential)).pair("合作态度", s(&ch.cooperation_attitude));
    chars.wide("经营观念", s(&ch.business_policy));
    chars.wide("业务状况", s(&ch.business_status));
    chars.wide("备注", s(&ch.notes));
    blocks.push(chars.block("五、客户特征与业务状况"));

    let mut mgmt = KvBuilder::default();
    mgmt.pair("管理级别", d.tier.label(LANG)).pair("密级", d.secrecy.label(LANG));
    mgmt.pair("保管期限", d.retention_class.label(LANG)).pair("版本", a.version.to_string());
    mgmt.pair("负责人", s(&input.owner_name)).pair("所属部门", s(&input.department_name));
    mgmt.pair("建档时间", local(a.created_at, &wm.at)).pair("最后更新", local(a.updated_at, &wm.at));
    blocks.push(mgmt.block("六、档案管理"));

    blocks.push(Block::Signatures { title: None, lines: vec![sign("填表人", ""), sign("审核人", "")] });

    doc("客户资料卡", "档号", &a.archive_no, Some(d.name.clone()), Some(d.secrecy), wm, blocks)
}

pub(crate) fn visit_record(input: &VisitRecordInput, wm: &Watermark) -> Doc {
    let mut head = KvBuilder::default();
    head.pair("客户名称", &input.customer_name).pair("档号", &input.archive_no);
    head.pair("负责人", s(&input.owner_name)).pair("记录条数", input.rows.len().to_string());
    let rows = input
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut summary = r.summary.clone();
            if r.superseded {
                summary.push_str("（已更正）");
            }
            let mut next = s(&r.next_action);
            if let Some(on) = r.next_action_on {
                if !next.is_empty() {
                    next.push(' ');
                }
                next.push_str(&format!("（{}）", on.format("%Y-%m-%d")));
            }
            vec![(i + 1).to_string(), date(Some(r.date)), r.kind.label(LANG).to_string(), r.visitor.clone(), s(&r.counterpart), summary, next]
        })
        .collect();
    let blocks = vec![
        head.block("客户信息"),
        Block::Table {
            title: Some("拜访记录".into()),
            columns: vec![
                col("序号", 0.0, "center"),
                col("日期", 0.0, "center"),
                col("类型", 0.0, "center"),
                col("拜访人", 1.1, "left"),
                col("接待人", 1.1, "left"),
                col("拜访内容及结果", 4.6, "left"),
                col("下一步计划", 2.2, "left"),
            ],
            rows,
            empty: "（无拜访记录）".into(),
            tall: false,
        },
        Block::Signatures { title: None, lines: vec![sign("业务员", ""), sign("部门经理", "")] },
    ];
    doc("客户拜访档案记录", "档号", &input.archive_no, Some(input.customer_name.clone()), None, wm, blocks)
}

pub(crate) fn borrowing_slip(input: &BorrowingSlipInput, wm: &Watermark) -> Doc {
    let at = &wm.at;
    let highest = input.items.iter().map(|i| i.secrecy).max();
    let mut head = KvBuilder::default();
    head.pair("借阅人", &input.borrower).pair("所在部门", s(&input.borrower_department));
    head.pair("借阅方式", input.medium.label()).pair("借阅份数", input.items.len().to_string());
    head.pair("借出时间", local(input.lent_at, at)).pair("应还时间", local(input.due_at, at));
    head.pair("经办档案员", &input.lent_by).pair("审批人", s(&input.approved_by));
    head.wide("借阅用途", &input.purpose);
    let rows = input
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| vec![(i + 1).to_string(), it.archive_no.clone(), it.customer_name.clone(), it.secrecy.label(LANG).to_string(), s(&it.note)])
        .collect();
    let mut ret = KvBuilder::default();
    match &input.returned {
        Some(r) => {
            ret.pair("归还时间", local(r.returned_at, at)).pair("是否完好", if r.complete { "完好" } else { "不完整" });
            ret.pair("验收人", &r.checked_by).pair("", "");
            ret.wide("归还说明", s(&r.note));
        }
        None => {
            ret.pair("归还时间", "").pair("是否完好", "");
            ret.pair("验收人", "").pair("", "");
            ret.wide("归还说明", "");
        }
    }
    let blocks = vec![
        head.block("借阅登记"),
        Block::Table {
            title: Some("借阅档案".into()),
            columns: vec![col("序号", 0.0, "center"), col("档号", 2.4, "left"), col("客户名称", 3.6, "left"), col("密级", 0.0, "center"), col("备注", 2.2, "left")],
            rows,
            empty: "（无）".into(),
            tall: false,
        },
        ret.block("归还登记"),
        Block::Text {
            title: Some("借阅须知".into()),
            body: "借阅档案只限本人使用，不得转借、拆开、调换、涂改或污损；未经批准不得复印、抄写；应在借阅期限内归还，归还时由档案管理员当面核对。".into(),
        },
        Block::Signatures { title: None, lines: vec![sign("借阅人", &input.borrower), sign("审批人", &s(&input.approved_by)), sign("档案管理员", &input.lent_by)] },
    ];
    doc("档案借阅单", "借阅单号", &input.slip_no, None, highest, wm, blocks)
}

pub(crate) fn handover_list(input: &HandoverListInput, wm: &Watermark) -> Doc {
    let highest = input.items.iter().map(|i| i.secrecy).max();
    let mut head = KvBuilder::default();
    head.pair("移交方", &input.from_party).pair("接收方", &input.to_party);
    head.pair("交接日期", date(Some(input.handed_over_on))).pair("监交人", s(&input.supervisor));
    head.wide("交接事由", s(&input.reason));
    let total_pieces: u32 = input.items.iter().filter_map(|i| i.pieces).sum();
    let rows = input
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            vec![
                (i + 1).to_string(),
                it.archive_no.clone(),
                it.customer_name.clone(),
                it.secrecy.label(LANG).to_string(),
                it.retention.label(LANG).to_string(),
                it.pieces.map(|n| n.to_string()).unwrap_or_default(),
                s(&it.note),
            ]
        })
        .collect();
    let blocks = vec![
        head.block("交接信息"),
        Block::Table {
            title: Some("交接档案明细".into()),
            columns: vec![
                col("序号", 0.0, "center"),
                col("档号", 2.3, "left"),
                col("客户名称", 3.4, "left"),
                col("密级", 0.0, "center"),
                col("保管期限", 0.0, "center"),
                col("件/页数", 0.0, "center"),
                col("备注", 1.8, "left"),
            ],
            rows,
            empty: "（无）".into(),
            tall: false,
        },
        Block::Text { title: None, body: format!("本清单共移交档案 {} 卷，{} 件/页。交接双方已当面清点核对，无误。", input.items.len(), total_pieces) },
        Block::Signatures {
            title: None,
            lines: vec![sign("移交人", &input.from_party), sign("接收人", &input.to_party), sign("监交人", &s(&input.supervisor))],
        },
    ];
    doc("档案交接清单", "清单编号", &input.list_no, None, highest, wm, blocks)
}

pub(crate) fn destruction_register(input: &DestructionRegisterInput, wm: &Watermark) -> Doc {
    let mut head = KvBuilder::default();
    head.pair("销毁方式", &input.method).pair("销毁地点", s(&input.place));
    head.pair("销毁日期", date(input.destroyed_on)).pair("销毁数量", format!("{} 卷", input.items.len()));
    head.wide("销毁依据", &input.basis);
    let rows = input
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            vec![
                (i + 1).to_string(),
                it.archive_no.clone(),
                it.customer_name.clone(),
                it.retention.label(LANG).to_string(),
                date(it.filed_on),
                date(it.expired_on),
                it.pieces.map(|n| n.to_string()).unwrap_or_default(),
                s(&it.note),
            ]
        })
        .collect();
    let approvals = input
        .approvals
        .iter()
        .map(|a| vec![a.role.clone(), a.name.clone(), s(&a.opinion), String::new(), date(a.decided_on)])
        .collect();
    let mut lines: Vec<SignLine> = input.executors.iter().map(|n| sign("销毁人", n)).collect();
    if input.executors.is_empty() {
        lines.push(sign("销毁人", ""));
    }
    lines.extend(input.witnesses.iter().map(|n| sign("监销人", n)));
    if input.witnesses.is_empty() {
        lines.push(sign("监销人", ""));
        lines.push(sign("监销人", ""));
    }
    let blocks = vec![
        head.block("销毁信息"),
        Block::Table {
            title: Some("销毁档案明细".into()),
            columns: vec![
                col("序号", 0.0, "center"),
                col("档号", 2.2, "left"),
                col("客户名称", 3.0, "left"),
                col("保管期限", 0.0, "center"),
                col("建档日期", 0.0, "center"),
                col("期满日期", 0.0, "center"),
                col("件/页数", 0.0, "center"),
                col("备注", 1.5, "left"),
            ],
            rows,
            empty: "（无）".into(),
            tall: false,
        },
        Block::Table {
            title: Some("审批".into()),
            columns: vec![col("审批环节", 1.6, "left"), col("审批人", 1.3, "left"), col("审批意见", 3.4, "left"), col("签字", 1.4, "left"), col("日期", 1.3, "center")],
            rows: approvals,
            empty: "（待审批）".into(),
            tall: true,
        },
        Block::Signatures { title: Some("销毁执行与监销".into()), lines },
    ];
    doc("档案销毁清册", "清册编号", &input.register_no, None, None, wm, blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn kv_pairs_pack_two_per_row_and_wide_ones_alone() {
        let mut b = KvBuilder::default();
        b.pair("a", "1").wide("w", "x").pair("b", "2").pair("c", "3").pair("d", "4");
        let Block::Kv { rows, .. } = b.block("t") else { panic!() };
        let shape: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(|kv| kv.label.as_str()).collect()).collect();
        assert_eq!(shape, vec![vec!["a", ""], vec!["w"], vec!["b", "c"], vec!["d", ""]]);
    }

    #[test]
    fn times_print_in_the_watermark_offset() {
        let at = FixedOffset::east_opt(8 * 3600).unwrap().with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let t = Utc.with_ymd_and_hms(2025, 12, 31, 20, 30, 0).unwrap();
        assert_eq!(local(t, &at), "2026-01-01 04:30");
    }

    #[test]
    fn normal_secrecy_is_not_printed_but_others_are() {
        let wm = Watermark { viewer: "v".into(), at: FixedOffset::east_opt(0).unwrap().with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(), reference: None };
        assert_eq!(doc("t", "档号", "1", None, Some(Secrecy::Normal), &wm, vec![]).secrecy, None);
        assert_eq!(doc("t", "档号", "1", None, Some(Secrecy::TopSecret), &wm, vec![]).secrecy.as_deref(), Some("绝密"));
        assert_eq!(doc("t", "档号", "1", None, None, &wm, vec![]).watermark, "v  2026-01-01 00:00");
    }
}
