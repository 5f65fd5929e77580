//! The access rules as data (`policy_matrix.txt`, readable by an archivist) checked against
//! `policy::decide` and `policy::list_scope` for every default role × relation × tier × secrecy ×
//! action × place × grant.
//!
//! The organisation used: HQ(1) → 营销中心(2) → 销售一部(3), 销售二部(4). The archive (id 7)
//! belongs to 销售一部 and is owned by user 100 of 销售一部. Each user has exactly one role; a
//! user with a manager role (`policy::is_manager_role`) manages the subtree of their own
//! department, as the app does (`access.rs`), everyone else manages nothing.
//! - 本人: user 100 in dept 3 (the owner);
//! - 本部门: user 101 in dept 3;
//! - 上级主管: user 102 in dept 2 (manages 2, 3, 4 only if the role is a manager role);
//! - 其他部门: user 103 in dept 4.

use std::collections::{BTreeMap, HashMap, HashSet};

use dangan_core::model::{ArchiveId, DeptId, Role, Secrecy, Tier, UserId};
use dangan_core::policy::{self, Action, Actor, Decision, GrantScope, Protection};

const MATRIX: &str = include_str!("policy_matrix.txt");

const DEPTS: [(DeptId, Option<DeptId>); 4] = [(1, None), (2, Some(1)), (3, Some(2)), (4, Some(2))];
const ARCHIVE_ID: ArchiveId = 7;
const ARCHIVE_DEPT: DeptId = 3;
const OWNER: UserId = 100;

/// The actions the matrix covers, with their Chinese names: all but Create (which is not about one archive).
const ACTIONS: [(Action, &str); 11] = [
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
const GRANTED: [Action; 5] = [Action::Read, Action::ReadUnmasked, Action::Print, Action::Export, Action::DownloadAttachment];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    Owner,
    Member,
    Above,
    Other,
}

const RELATIONS: [(Relation, &str); 4] =
    [(Relation::Owner, "本人"), (Relation::Member, "本部门"), (Relation::Above, "上级主管"), (Relation::Other, "其他部门")];
const PLACES: [(bool, &str); 2] = [(true, "档案室"), (false, "办公室")];
const GRANTS: [(bool, &str); 2] = [(false, "无"), (true, "已批准")];

/// Condition keys, in the order of the table columns.
const KEYS: [&str; 7] = ["role", "relation", "tier", "secrecy", "action", "place", "grant"];
const KEY_HEADERS: [&str; 7] = ["角色", "关系", "级别", "密级", "操作", "地点", "批准"];

fn zh(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "允许",
        Decision::Deny => "拒绝",
        Decision::NeedsApproval => "需审批",
    }
}

fn relation_zh(r: Relation) -> &'static str {
    RELATIONS.iter().find(|(x, _)| *x == r).unwrap().1
}

fn action_zh(a: Action) -> &'static str {
    ACTIONS.iter().find(|(x, _)| *x == a).unwrap().1
}

#[derive(Debug, Clone, Copy)]
struct Combo {
    role: Role,
    relation: Relation,
    tier: Tier,
    secrecy: Secrecy,
    action: Action,
    in_archive_room: bool,
    granted: bool,
}

impl Combo {
    /// The combination's value for a key, as the matrix file spells it.
    fn value(&self, key: usize) -> &'static str {
        match KEYS[key] {
            "role" => self.role.label("zh-CN"),
            "relation" => relation_zh(self.relation),
            "tier" => self.tier.label("zh-CN"),
            "secrecy" => self.secrecy.label("zh-CN"),
            "action" => action_zh(self.action),
            "place" => PLACES.iter().find(|(x, _)| *x == self.in_archive_room).unwrap().1,
            "grant" => GRANTS.iter().find(|(x, _)| *x == self.granted).unwrap().1,
            _ => unreachable!(),
        }
    }

    fn actor(&self) -> Actor {
        let (user_id, dept) = match self.relation {
            Relation::Owner => (OWNER, 3),
            Relation::Member => (101, 3),
            Relation::Above => (102, 2),
            Relation::Other => (103, 4),
        };
        Actor {
            user_id,
            dept_id: Some(dept),
            roles: vec![self.role],
            active: true,
            managed_depts: if policy::is_manager_role(self.role) { policy::subtree(dept, &DEPTS) } else { Vec::new() },
            in_archive_room: self.in_archive_room,
        }
    }

    fn protection(&self) -> Protection {
        Protection { owner_id: Some(OWNER), dept_id: Some(ARCHIVE_DEPT), tier: self.tier, secrecy: self.secrecy }
    }

    fn grant(&self) -> Option<GrantScope> {
        self.granted.then(|| GrantScope { actions: GRANTED.to_vec() })
    }
}

fn all_combos() -> Vec<Combo> {
    let covered: HashSet<Action> = ACTIONS.iter().map(|(a, _)| *a).collect();
    for a in Action::ALL {
        assert!(covered.contains(a) || *a == Action::Create, "action {a:?} is missing from the matrix test");
    }
    let mut out = Vec::new();
    for &role in Role::ALL {
        for &(relation, _) in &RELATIONS {
            for &tier in Tier::ALL {
                for &secrecy in Secrecy::ALL {
                    for &(action, _) in &ACTIONS {
                        for &(in_archive_room, _) in &PLACES {
                            for &(granted, _) in &GRANTS {
                                out.push(Combo { role, relation, tier, secrecy, action, in_archive_room, granted });
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The matrix file.

#[derive(Debug)]
struct Rule {
    line: usize,
    text: String,
    /// Per key (index into KEYS): the admitted values, or None for any.
    conds: [Option<HashSet<&'static str>>; 7],
    outcome: Decision,
}

impl Rule {
    fn matches(&self, c: &Combo) -> bool {
        self.conds.iter().enumerate().all(|(k, cond)| match cond {
            None => true,
            Some(vals) => vals.contains(c.value(k)),
        })
    }
}

/// Canonical spelling of `v` for key `key`, or None if it is not a valid value.
fn canonical(key: &str, v: &str) -> Option<&'static str> {
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

fn parse_matrix(src: &str) -> Vec<Rule> {
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

fn width(s: &str) -> usize {
    s.chars().map(|c| if (c as u32) >= 0x1100 { 2 } else { 1 }).sum()
}

fn pad(s: &str, w: usize) -> String {
    let mut out = s.to_string();
    for _ in width(s)..w {
        out.push(' ');
    }
    out
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
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

fn combo_cells(c: &Combo) -> Vec<String> {
    (0..KEYS.len()).map(|k| c.value(k).to_string()).collect()
}

// ---------------------------------------------------------------------------------------------

#[test]
fn matrix_covers_every_combination_and_has_no_dead_rules() {
    let rules = parse_matrix(MATRIX);
    let combos = all_combos();
    assert_eq!(combos.len(), 10 * 4 * 3 * 4 * 11 * 2 * 2);
    let mut hits = vec![0usize; rules.len()];
    let mut unmatched = Vec::new();
    for c in &combos {
        match rules.iter().position(|r| r.matches(c)) {
            Some(i) => hits[i] += 1,
            None => unmatched.push(combo_cells(c)),
        }
    }
    let dead: Vec<String> = rules.iter().zip(&hits).filter(|(_, h)| **h == 0).map(|(r, _)| format!("  line {}: {}", r.line, r.text)).collect();
    let mut msg = String::new();
    if !unmatched.is_empty() {
        msg.push_str(&format!("{} of {} combinations match no rule (first 50):\n", unmatched.len(), combos.len()));
        msg.push_str(&table(&KEY_HEADERS, &unmatched[..unmatched.len().min(50)]));
    }
    if !dead.is_empty() {
        msg.push_str(&format!("{} rules match no combination (dead rules):\n{}\n", dead.len(), dead.join("\n")));
    }
    assert!(msg.is_empty(), "{msg}");
}

#[test]
fn decide_matches_the_matrix() {
    let rules = parse_matrix(MATRIX);
    let combos = all_combos();
    let mut rows = Vec::new();
    // (rule line, expected, actual) → count: one line per disagreement class.
    let mut classes: BTreeMap<(usize, &'static str, &'static str), usize> = BTreeMap::new();
    for c in &combos {
        let Some(rule) = rules.iter().find(|r| r.matches(c)) else { continue }; // reported by the coverage test
        let actual = policy::decide(&c.actor(), c.action, Some(&c.protection()), c.grant().as_ref());
        if actual != rule.outcome {
            *classes.entry((rule.line, zh(rule.outcome), zh(actual))).or_default() += 1;
            let mut row = combo_cells(c);
            row.push(zh(rule.outcome).to_string());
            row.push(zh(actual).to_string());
            row.push(rule.line.to_string());
            rows.push(row);
        }
    }
    if rows.is_empty() {
        return;
    }
    let mut header = KEY_HEADERS.to_vec();
    header.extend(["规则表", "decide", "规则行"]);
    let mut msg = format!(
        "policy::decide disagrees with policy_matrix.txt on {} of {} combinations (first {} shown):\n",
        rows.len(),
        combos.len(),
        rows.len().min(50)
    );
    msg.push_str(&table(&header, &rows[..rows.len().min(50)]));
    msg.push_str("\nBy rule (line: rule → policy::decide gives instead: count):\n");
    let by_line: HashMap<usize, &Rule> = rules.iter().map(|r| (r.line, r)).collect();
    for ((line, expected, actual), n) in &classes {
        msg.push_str(&format!("  line {line}: {}\n      expected {expected}, decide says {actual}: {n}\n", by_line[line].text));
    }
    panic!("{msg}");
}

#[test]
fn list_scope_agrees_with_decide() {
    let mut rows = Vec::new();
    let combos = all_combos();
    for c in combos.iter().filter(|c| c.action == Action::List) {
        let actor = c.actor();
        let p = c.protection();
        let decided = policy::decide(&actor, Action::List, Some(&p), c.grant().as_ref()) == Decision::Allow;
        let granted_ids = if c.granted { vec![ARCHIVE_ID] } else { Vec::new() };
        let admitted = policy::list_scope(&actor, granted_ids).admits(ARCHIVE_ID, &p);
        if decided != admitted {
            let mut row = combo_cells(c);
            row.push(decided.to_string());
            row.push(admitted.to_string());
            rows.push(row);
        }
    }
    if !rows.is_empty() {
        let mut header = KEY_HEADERS.to_vec();
        header.extend(["decide=Allow", "list_scope admits"]);
        panic!(
            "list_scope disagrees with decide(List) on {} of {} list combinations (first {} shown):\n{}",
            rows.len(),
            combos.iter().filter(|c| c.action == Action::List).count(),
            rows.len().min(50),
            table(&header, &rows[..rows.len().min(50)])
        );
    }
}
