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

mod policy_rules;
use policy_rules::*;

const DEPTS: [(DeptId, Option<DeptId>); 4] = [(1, None), (2, Some(1)), (3, Some(2)), (4, Some(2))];
const ARCHIVE_ID: ArchiveId = 7;
const ARCHIVE_DEPT: DeptId = 3;
const OWNER: UserId = 100;

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
    fn values(&self) -> [&'static str; 7] {
        std::array::from_fn(|k| self.value(k))
    }

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
        match rules.iter().position(|r| r.matches(&c.values())) {
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
        let Some(rule) = rules.iter().find(|r| r.matches(&c.values())) else { continue }; // reported by the coverage test
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
