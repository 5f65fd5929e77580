//! The access rules file (`policy_matrix.txt`) — its vocabulary, parser and matching — shared
//! by the in-memory matrix test (`policy_matrix.rs`, `policy::decide`) and the HTTP matrix test
//! (`crates/cli/tests/policy_matrix_http.rs`, every path of a running server on both engines),
//! which includes this file with `#[path]`.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};

use dangan_core::model::{Role, Secrecy, Tier};
use dangan_core::policy::{Action, Decision};

pub const MATRIX: &str = include_str!("../policy_matrix.txt");

/// The actions the matrix covers, with their Chinese names: all but Create (which is not about one archive).
pub const ACTIONS: [(Action, &str); 11] = [
    (Action::List, "列表"),
    (Action::Read, "查阅"),
    (Action::ReadUnmasked, "查看明文"),
    (Action::Edit, "编辑"),
    (Action::AddEntry, "添加记录"),
    (Action::Export, "导出"),
    (Action::Print, "打印"),
    (Action::DownloadAttachment, "下载附件"),
    (Action::TransferOwner, "移交"),
    (Action::RequestDestruction, "申请销毁"),
    (Action::Approve, "审批"),
];

/// What an approved grant carries in this test.
pub const GRANTED: [Action; 5] = [Action::Read, Action::ReadUnmasked, Action::Print, Action::Export, Action::DownloadAttachment];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Owner,
    Member,
    Above,
    Other,
}

pub const RELATIONS: [(Relation, &str); 4] =
    [(Relation::Owner, "本人"), (Relation::Member, "本部门"), (Relation::Above, "上级主管"), (Relation::Other, "其他部门")];
pub const PLACES: [(bool, &str); 2] = [(true, "档案室"), (false, "办公室")];
pub const GRANTS: [(bool, &str); 2] = [(false, "无"), (true, "已批准")];

/// Condition keys, in the order of the table columns.
pub const KEYS: [&str; 7] = ["role", "relation", "tier", "secrecy", "action", "place", "grant"];
pub const KEY_HEADERS: [&str; 7] = ["角色", "关系", "级别", "密级", "操作", "地点", "批准"];

pub fn zh(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "允许",
        Decision::Deny => "拒绝",
        Decision::NeedsApproval => "需审批",
    }
}

pub fn relation_zh(r: Relation) -> &'static str {
    RELATIONS.iter().find(|(x, _)| *x == r).unwrap().1
}

pub fn action_zh(a: Action) -> &'static str {
    ACTIONS.iter().find(|(x, _)| *x == a).unwrap().1
}

// ---------------------------------------------------------------------------------------------
// The matrix file.

#[derive(Debug)]
pub struct Rule {
    pub line: usize,
    pub text: String,
    /// Per key (index into KEYS): the admitted values, or None for any.
    pub conds: [Option<HashSet<&'static str>>; 7],
    pub outcome: Decision,
}

impl Rule {
    pub fn matches(&self, values: &[&str; 7]) -> bool {
        self.conds.iter().enumerate().all(|(k, cond)| match cond {
            None => true,
            Some(vals) => vals.contains(values[k]),
        })
    }
}

/// Canonical spelling of `v` for key `key`, or None if it is not a valid value.
pub fn canonical(key: &str, v: &str) -> Option<&'static str> {
    match key {
        "secrecy" => v.parse::<Secrecy>().ok().map(|s| s.label("zh-CN")),
        "tier" => v.parse::<Tier>().ok().map(|t| t.label("zh-CN")),
        "role" => v.parse::<Role>().ok().map(|r| r.label("zh-CN")),
        "relation" => RELATIONS.iter().find(|(_, s)| *s == v).map(|(_, s)| *s),
        "action" => ACTIONS.iter().find(|(_, s)| *s == v).map(|(_, s)| *s),
        "place" => PLACES.iter().find(|(_, s)| *s == v).map(|(_, s)| *s),
        "grant" => GRANTS.iter().find(|(_, s)| *s == v).map(|(_, s)| *s),
        _ => None,
    }
}

pub fn parse_matrix(src: &str) -> Vec<Rule> {
    let mut groups: HashMap<String, Vec<&'static str>> = HashMap::new();
    let mut rules = Vec::new();
    for (i, raw) in src.lines().enumerate() {
        let line = i + 1;
        let text = raw.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        if let Some(def) = text.strip_prefix("分组") {
            let (name, members) =
                def.split_once('=').unwrap_or_else(|| panic!("policy_matrix.txt:{line}: a group is `分组 名称 = 角色|角色`: {text}"));
            let name = name.trim().to_string();
            assert!(!name.is_empty() && name.parse::<Role>().is_err(), "policy_matrix.txt:{line}: bad group name {name:?}");
            let roles = members
                .split('|')
                .map(|m| canonical("role", m.trim()).unwrap_or_else(|| panic!("policy_matrix.txt:{line}: unknown role {:?}", m.trim())))
                .collect();
            assert!(groups.insert(name.clone(), roles).is_none(), "policy_matrix.txt:{line}: group {name} defined twice");
            continue;
        }
        let (lhs, rhs) = text.split_once("=>").unwrap_or_else(|| panic!("policy_matrix.txt:{line}: a rule needs `=> 结论`: {text}"));
        let outcome = match rhs.trim() {
            "允许" => Decision::Allow,
            "拒绝" => Decision::Deny,
            "需审批" => Decision::NeedsApproval,
            other => panic!("policy_matrix.txt:{line}: unknown outcome {other:?} (允许 | 拒绝 | 需审批)"),
        };
        let mut conds: [Option<HashSet<&'static str>>; 7] = Default::default();
        let mut seen = HashSet::new();
        for token in lhs.split_whitespace() {
            let (key, value) = token.split_once('=').unwrap_or_else(|| panic!("policy_matrix.txt:{line}: expected key=value, got {token:?}"));
            let k = KEYS.iter().position(|x| *x == key).unwrap_or_else(|| panic!("policy_matrix.txt:{line}: unknown key {key:?} (keys: {KEYS:?})"));
            assert!(seen.insert(k), "policy_matrix.txt:{line}: key {key} given twice");
            if value == "*" {
                continue;
            }
            let mut vals = HashSet::new();
            for alt in value.split('|') {
                if key == "role" {
                    if let Some(members) = groups.get(alt) {
                        vals.extend(members.iter().copied());
                        continue;
                    }
                }
                let v = canonical(key, alt).unwrap_or_else(|| panic!("policy_matrix.txt:{line}: {alt:?} is not a value of {key}"));
                vals.insert(v);
            }
            conds[k] = Some(vals);
        }
        rules.push(Rule { line, text: text.to_string(), conds, outcome });
    }
    assert!(!rules.is_empty(), "policy_matrix.txt has no rules");
    rules
}

// ---------------------------------------------------------------------------------------------
// Table printing (CJK characters are two columns wide).

pub fn width(s: &str) -> usize {
    s.chars().map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 }).sum()
}

pub fn pad(s: &str, w: usize) -> String {
    let mut out = s.to_string();
    for _ in width(s)..w {
        out.push(' ');
    }
    out
}

pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, cell) in r.iter().enumerate() {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let fmt_row = |cells: Vec<String>| -> String {
        cells.iter().enumerate().map(|(i, c)| pad(c, widths[i])).collect::<Vec<_>>().join(" | ").trim_end().to_string()
    };
    let mut out = fmt_row(header.iter().map(|s| s.to_string()).collect());
    out.push('\n');
    out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-"));
    out.push('\n');
    for r in rows {
        out.push_str(&fmt_row(r.clone()));
        out.push('\n');
    }
    out
}

/// The first rule that matches `values` (in `KEYS` order), if any.
pub fn first_match<'r>(rules: &'r [Rule], values: &[&str; 7]) -> Option<&'r Rule> {
    rules.iter().find(|r| r.matches(values))
}
