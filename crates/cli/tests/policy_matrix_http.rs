mod common;
#[path = "../../core/tests/policy_rules/mod.rs"]
mod policy_rules;

// The access rules file (crates/core/tests/policy_matrix.txt, the seeds' rules as a table) checked
// against a running server over HTTP, on SQLite and PostgreSQL: every default role × relation ×
// tier × secrecy × place × grant, and for each the paths to data —
//
//   列表      GET /api/v1/archives (the items and the count), GET /api/v1/search by content (items,
//             count; 绝密 content is never indexed, so content search never finds 绝密 archives)
//             and by archive number (a 绝密 archive is found by its number exactly when listed)
//   查阅      GET /api/v1/archives/{id} (masked) and the archive page GET /archives/{id}
//   查看明文  GET /api/v1/archives/{id}?unmasked=true
//   下载附件  GET /api/v1/attachments/{id}/content
//   打印      GET /api/v1/archives/{id}/card.pdf
//   导出      GET /api/v1/archives/{id}/contacts.vcf (the one-archive export; list exports leave
//             out what this refuses, see `crates/cli/tests/import.rs`)
//
// each answer classified as allow / deny / needs-approval and compared with the rule file.
//
// The world (built once per engine, in the server's own store for speed; every assertion goes
// through HTTP): 总公司 HQ → 营销中心 YX → 销售一部 XS1, 销售二部 XS2. For every role and both
// grant states there are four users — 本人 (XS1, owns 12 archives: 3 tiers × 4 secrecy levels, each
// with an attachment), 本部门 (XS1), 上级主管 (YX), 其他部门 (XS2). The "已批准" users hold an
// approved grant (read, unmask, print, export, download) on the archives they are checked against:
// the 本人 user on their own 12, the others on the 12 of the reference owner (the 业务员 without
// grants). Grants are created even for 绝密 archives (which no request can reach), to prove a grant
// does not open them. The archive room is 127.0.0.2/32, set through PUT /api/v1/policy; requests
// "from the archive room" leave from that address, the others from 127.0.0.1.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use chrono::Utc;
use common::{send, Engine, Resp, TestServer, PNG_1X1};
use dangan_app::auth::token_hash;
use dangan_core::audit::{AuditAction, AuditEvent};
use dangan_core::policy::{Action, ApprovalStep, Decision};
use dangan_core::{ArchiveData, ArchiveSummary, Role, Secrecy, Tier};
use dangan_store::{ArchiveQuery, BulkArchive, NewAccessRequest, NewAttachment, NewUser, Numbering, SessionKind};
use futures::StreamExt;
use policy_rules::*;
use reqwest::Client;
use serde_json::json;

/// Requests in flight at once.
const CONCURRENCY: usize = 24;
const ROOM_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

#[derive(Debug, Clone)]
struct Person {
    role: Role,
    relation: Relation,
    granted: bool,
    id: i64,
    dept: &'static str,
    token: String,
}

#[derive(Debug, Clone)]
struct Arch {
    id: i64,
    owner: i64,
    tier: Tier,
    secrecy: Secrecy,
    attachment: i64,
    no: String,
    name: String,
    mobile: String,
}

struct World {
    s: TestServer,
    people: Vec<Person>,
    archives: Vec<Arch>,
    /// (user, archive) pairs holding a grant.
    grants: HashSet<(i64, i64)>,
    /// The archives each person is checked against one by one.
    checked: HashMap<i64, Vec<i64>>,
    office: Client,
    room: Client,
}

fn event(action: AuditAction) -> AuditEvent {
    let mut e = AuditEvent::new(action, Utc::now());
    e.username = "matrix-test".into();
    e
}

async fn build(engine: Engine) -> Option<World> {
    let t = Instant::now();
    let s = TestServer::start(engine, 0).await?;
    if let Some(url) = s.database_url() {
        // A throwaway database: commits need not wait for the disk while the world is built
        // (new connections pick this up; it changes nothing that is under test).
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect to the test database");
        let task = tokio::spawn(conn);
        let db: String = client.query_one("SELECT current_database()", &[]).await.unwrap().get(0);
        client.batch_execute(&format!("ALTER DATABASE \"{db}\" SET synchronous_commit = off")).await.expect("synchronous_commit");
        drop(client);
        let _ = task.await;
    }
    let store = s.app.store.clone();
    let hq = match store.list_departments().await.unwrap().into_iter().find(|d| d.code == "HQ") {
        Some(d) => d,
        None => store.create_department("总公司", "HQ", None, &event(AuditAction::DepartmentCreate)).await.unwrap(),
    };
    let yx = store.create_department("营销中心", "YX", Some(hq.id), &event(AuditAction::DepartmentCreate)).await.unwrap();
    let xs1 = store.create_department("销售一部", "XS1", Some(yx.id), &event(AuditAction::DepartmentCreate)).await.unwrap();
    let xs2 = store.create_department("销售二部", "XS2", Some(yx.id), &event(AuditAction::DepartmentCreate)).await.unwrap();
    let dept_of = |r: Relation| match r {
        Relation::Owner | Relation::Member => ("XS1", xs1.id),
        Relation::Above => ("YX", yx.id),
        Relation::Other => ("XS2", xs2.id),
    };

    // People: every role × relation × grant state, each with an API token. (Setup runs a few
    // writes at once: PostgreSQL commits them together.)
    let mut specs = Vec::new();
    for &role in Role::ALL {
        for &(relation, _) in &RELATIONS {
            for granted in [false, true] {
                specs.push((role, relation, granted));
            }
        }
    }
    let people: Vec<Person> = futures::stream::iter(specs)
        .map(|(role, relation, granted)| {
            let store = store.clone();
            let (code, dept) = dept_of(relation);
            async move {
                let username = format!("m-{}-{relation:?}-{granted}", role.as_str()).to_lowercase();
                let u = store
                    .create_user(&NewUser { username: username.clone(), display_name: username, password_hash: None, dept_id: Some(dept), roles: vec![role] }, &event(AuditAction::UserCreate))
                    .await
                    .unwrap();
                let token = format!("matrix-{}-{}", u.id, dangan_app::crypto::FieldCrypto::generate_key_hex());
                store.create_session(&token_hash(&token), u.id, SessionKind::ApiToken, Some("matrix"), Utc::now(), None).await.unwrap();
                Person { role, relation, granted, id: u.id, dept: code, token }
            }
        })
        .buffered(8)
        .collect()
        .await;

    eprintln!("[{engine:?}] people at {:.1?}", t.elapsed());
    // Archives: 12 per owner, each with an attachment (one blob, content-addressed).
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(PNG_1X1));
    let blob = s.data_dir.join("attachments").join(&sha[..2]).join(&sha);
    std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
    std::fs::write(&blob, PNG_1X1).unwrap();
    let numbering = Numbering { scheme: s.app.settings.number_scheme.clone(), dept_code: "XS1".into(), date: Utc::now().date_naive() };
    let mut specs = Vec::new();
    for owner in people.iter().filter(|p| p.relation == Relation::Owner) {
        for &tier in Tier::ALL {
            for &secrecy in Secrecy::ALL {
                specs.push((specs.len() as u32 + 1, owner.id, tier, secrecy));
            }
        }
    }
    // One bulk load (as the demo loader does), then an attachment each.
    let batch: Vec<BulkArchive> = specs
        .iter()
        .map(|&(n, owner, tier, secrecy)| {
            let mut data: ArchiveData = serde_json::from_value(json!({
                "kind": "organization",
                "name": format!("矩阵档案{n:04}号有限公司"),
                "mobile": format!("1390{n:07}"),
                "address": format!("浙江省杭州市西湖区文三路{n}号"),
                "status": "active",
                "tier": tier,
                "secrecy": secrecy,
            }))
            .unwrap();
            data.owner_id = Some(owner);
            data.dept_id = Some(xs1.id);
            BulkArchive::new(data, Utc::now(), vec![], vec![]).unwrap()
        })
        .collect();
    assert_eq!(store.bulk_load(batch, &numbering.scheme, "XS1", &event(AuditAction::ArchiveCreate)).await.unwrap(), specs.len());
    let loaded = store.list_archives(&ArchiveQuery { limit: 10_000, ..Default::default() }).await.unwrap();
    let by_name: HashMap<String, ArchiveSummary> = loaded.into_iter().map(|a| (a.name.clone(), a)).collect();
    let archives: Vec<Arch> = futures::stream::iter(specs)
        .map(|(n, owner, tier, secrecy)| {
            let (store, sha) = (store.clone(), sha.clone());
            let name = format!("矩阵档案{n:04}号有限公司");
            let a = by_name.get(&name).unwrap_or_else(|| panic!("{name} was not loaded")).clone();
            async move {
                assert_eq!((a.owner_id, a.tier, a.secrecy), (Some(owner), tier, secrecy), "{name}");
                let att = store
                    .add_attachment(
                        &NewAttachment { archive_id: a.id, sha256: sha, filename: "名片.png".into(), content_type: "image/png".into(), size: PNG_1X1.len() as i64, created_by: owner, created_at: Utc::now() },
                        &event(AuditAction::AttachmentAdd),
                    )
                    .await
                    .unwrap();
                Arch { id: a.id, owner, tier, secrecy, attachment: att.id, no: a.archive_no, name, mobile: format!("1390{n:07}") }
            }
        })
        .buffered(8)
        .collect()
        .await;
    eprintln!("[{engine:?}] archives at {:.1?}", t.elapsed());
    // Who is checked against which archives, and the grants.
    let reference_owner = people.iter().find(|p| p.relation == Relation::Owner && p.role == Role::Salesperson && !p.granted).unwrap().id;
    let owned = |owner: i64| archives.iter().filter(|a| a.owner == owner).map(|a| a.id).collect::<Vec<_>>();
    let checked: HashMap<i64, Vec<i64>> = people.iter().map(|p| (p.id, if p.relation == Relation::Owner { owned(p.id) } else { owned(reference_owner) })).collect();
    let approver = people.iter().find(|p| p.role == Role::GeneralManager).unwrap().id;
    let wanted: Vec<(i64, i64)> = people.iter().filter(|p| p.granted).flat_map(|p| checked[&p.id].iter().map(move |a| (p.id, *a))).collect();
    let grants: HashSet<(i64, i64)> = futures::stream::iter(wanted)
        .map(|(user, a)| {
            let store = store.clone();
            async move {
                let req = NewAccessRequest { archive_id: a, requester_id: user, purpose: "矩阵测试".into(), sections: vec![], actions: GRANTED.to_vec(), hours: 72, chain: vec![ApprovalStep::GeneralManager] };
                let r = store.create_access_request(&req, &event(AuditAction::AccessRequest)).await.unwrap();
                store.decide_access_request(r.id, 0, approver, true, "同意", Utc::now() + chrono::Duration::hours(72), &event(AuditAction::AccessApprove)).await.unwrap();
                (user, a)
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;

    eprintln!("[{engine:?}] grants at {:.1?}", t.elapsed());
    let office = Client::builder().local_address(IpAddr::V4(Ipv4Addr::LOCALHOST)).build().unwrap();
    let room = Client::builder().local_address(IpAddr::V4(ROOM_IP)).build().unwrap();
    // The archive room, through the API like an administrator would.
    let admin = s.admin_token().await;
    let cur = send(office.get(s.url("/api/v1/policy")).bearer_auth(&admin)).await;
    assert_eq!(cur.status, 200, "{}", cur.text());
    let mut doc = cur.json.clone();
    doc["archive_room_networks"] = json!([format!("{ROOM_IP}/32")]);
    let r = send(office.put(s.url("/api/v1/policy")).bearer_auth(&admin).json(&doc)).await;
    assert_eq!(r.status, 200, "set the archive room: {}", r.text());
    Some(World { s, people, archives, grants, checked, office, room })
}

fn relation_of(p: &Person, a: &Arch) -> Relation {
    if a.owner == p.id {
        return Relation::Owner;
    }
    match p.dept {
        "XS1" => Relation::Member,
        "YX" => Relation::Above,
        _ => Relation::Other,
    }
}

/// The rule file's values for this person, archive, action and place.
fn values(w: &World, p: &Person, a: &Arch, action: Action, in_room: bool) -> [&'static str; 7] {
    [
        p.role.label("zh-CN"),
        relation_zh(relation_of(p, a)),
        a.tier.label("zh-CN"),
        a.secrecy.label("zh-CN"),
        action_zh(action),
        PLACES.iter().find(|(x, _)| *x == in_room).unwrap().1,
        GRANTS.iter().find(|(x, _)| *x == w.grants.contains(&(p.id, a.id))).unwrap().1,
    ]
}

/// A JSON API answer: 2xx allow, 403 needs-approval problem, 403/404 other problems deny.
fn classify_api(r: &Resp) -> Result<Decision, String> {
    match r.status {
        200 => Ok(Decision::Allow),
        403 if r.is_problem() && r.problem_type().ends_with("/needs-approval") => Ok(Decision::NeedsApproval),
        403 | 404 if r.is_problem() => Ok(Decision::Deny),
        s => Err(format!("unexpected answer {s} {}: {}", r.content_type(), r.text().chars().take(200).collect::<String>())),
    }
}

/// The archive page: 200 the archive, 403 the restricted page offering a request, 403/404 an error page.
fn classify_ui(r: &Resp) -> Result<Decision, String> {
    let html = r.text();
    match r.status {
        200 => Ok(Decision::Allow),
        403 if html.contains("id=\"restricted\"") => Ok(Decision::NeedsApproval),
        403 | 404 => Ok(Decision::Deny),
        s => Err(format!("unexpected page {s}: {}", html.chars().take(200).collect::<String>())),
    }
}

/// What the answer must and must not contain, given the decision.
fn content_check(path: &str, r: &Resp, a: &Arch, d: Decision) -> Option<String> {
    let text = r.text();
    let masked = format!("{}****{}", &a.mobile[..3], &a.mobile[7..]);
    match (path, d) {
        (_, Decision::Deny | Decision::NeedsApproval) => (text.contains(&a.name) || text.contains(&a.mobile) || text.contains(&masked)).then(|| "a refusal reveals content".into()),
        ("api", Decision::Allow) => (!(text.contains(&a.name) && text.contains(&masked) && !text.contains(&a.mobile))).then(|| "an allowed read shows the name and the masked phone only".into()),
        ("unmasked", Decision::Allow) => (!text.contains(&a.mobile)).then(|| "an allowed unmasked read shows the phone".into()),
        ("ui", Decision::Allow) => (!text.contains(&a.name) || text.contains(&a.mobile)).then(|| "the page shows the name, the phone masked".into()),
        ("download", Decision::Allow) => (r.bytes != PNG_1X1).then(|| "the download is the file".into()),
        ("print", Decision::Allow) => (!r.bytes.starts_with(b"%PDF")).then(|| "the print is a PDF".into()),
        ("export", Decision::Allow) => (!r.content_type().starts_with("text/vcard")).then(|| "the export is a vCard file".into()),
        _ => None,
    }
}

/// The export path (导出) for one archive: its contacts as vCard, which the policy decides as
/// `Action::Export` (list and search exports withhold exactly the archives this refuses).
fn export_probe(c: &Client, w: &World, p: &Person, a: &Arch) -> Option<reqwest::RequestBuilder> {
    Some(c.get(w.s.url(&format!("/api/v1/archives/{}/contacts.vcf", a.id))).bearer_auth(&p.token))
}

struct Probe {
    person: usize,
    archive: usize,
    in_room: bool,
    path: &'static str,
    action: Action,
}

#[derive(Default)]
struct Report {
    checked: usize,
    rows: Vec<Vec<String>>,
    /// (path, rule line, expected, actual) → count.
    classes: BTreeMap<(String, usize, &'static str, String), usize>,
}

impl Report {
    fn fail(&mut self, p: &Person, values: &[&'static str; 7], path: &str, rule: &Rule, actual: String) {
        *self.classes.entry((path.to_string(), rule.line, zh(rule.outcome), actual.clone())).or_default() += 1;
        let mut row: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        row.push(path.to_string());
        row.push(format!("user {}", p.id));
        row.push(zh(rule.outcome).to_string());
        row.push(actual);
        row.push(rule.line.to_string());
        self.rows.push(row);
    }
}

async fn run_matrix(w: &World, rules: &[Rule]) -> Report {
    let mut report = Report::default();
    let by_id: HashMap<i64, usize> = w.archives.iter().enumerate().map(|(i, a)| (a.id, i)).collect();

    // One archive at a time: every path for every person × checked archive × place.
    let mut probes = Vec::new();
    for (pi, p) in w.people.iter().enumerate() {
        for a in &w.checked[&p.id] {
            for in_room in [false, true] {
                for (path, action) in [("api", Action::Read), ("ui", Action::Read), ("unmasked", Action::ReadUnmasked), ("download", Action::DownloadAttachment), ("print", Action::Print), ("export", Action::Export)] {
                    probes.push(Probe { person: pi, archive: by_id[a], in_room, path, action });
                }
            }
        }
    }
    let answers: Vec<(Probe, Option<Resp>)> = futures::stream::iter(probes)
        .map(|probe| async move {
            let p = &w.people[probe.person];
            let a = &w.archives[probe.archive];
            let c = if probe.in_room { &w.room } else { &w.office };
            let rb = match probe.path {
                "api" => Some(c.get(w.s.url(&format!("/api/v1/archives/{}", a.id))).bearer_auth(&p.token)),
                "unmasked" => Some(c.get(w.s.url(&format!("/api/v1/archives/{}?unmasked=true", a.id))).bearer_auth(&p.token)),
                "ui" => Some(c.get(w.s.url(&format!("/archives/{}", a.id))).header("cookie", format!("{}={}", dangan_web::SESSION_COOKIE, p.token))),
                "download" => Some(c.get(w.s.url(&format!("/api/v1/attachments/{}/content", a.attachment))).bearer_auth(&p.token)),
                "print" => Some(c.get(w.s.url(&format!("/api/v1/archives/{}/card.pdf", a.id))).bearer_auth(&p.token)),
                "export" => export_probe(c, w, p, a),
                _ => unreachable!(),
            };
            let resp = match rb {
                Some(rb) => Some(send(rb).await),
                None => None,
            };
            (probe, resp)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for (probe, resp) in answers {
        let Some(r) = resp else { continue };
        let p = &w.people[probe.person];
        let a = &w.archives[probe.archive];
        let vals = values(w, p, a, probe.action, probe.in_room);
        let rule = first_match(rules, &vals).unwrap_or_else(|| panic!("no rule for {vals:?}"));
        report.checked += 1;
        let got = if probe.path == "ui" { classify_ui(&r) } else { classify_api(&r) };
        match got {
            Ok(d) if d == rule.outcome => {
                if let Some(why) = content_check(probe.path, &r, a, d) {
                    report.fail(p, &vals, probe.path, rule, format!("{}（{why}）", zh(d)));
                }
            }
            Ok(d) => report.fail(p, &vals, probe.path, rule, zh(d).to_string()),
            Err(e) => report.fail(p, &vals, probe.path, rule, e),
        }
    }

    // Lists, counts and search: per person and place, exactly the archives the rules list.
    let lists = futures::stream::iter(w.people.iter().flat_map(|p| [(p, false), (p, true)]))
        .map(|(p, in_room)| async move {
            let c = if in_room { &w.room } else { &w.office };
            let walk = |base: String| async move {
                let mut ids = Vec::new();
                let mut total = None;
                let mut cursor: Option<String> = None;
                loop {
                    let url = match &cursor {
                        Some(cur) => format!("{base}&cursor={cur}"),
                        None => base.clone(),
                    };
                    let r = send(c.get(w.s.url(&url)).bearer_auth(&p.token)).await;
                    assert_eq!(r.status, 200, "[{:?}] {url}: {}", w.s.engine, r.text());
                    total = total.or(r.json["total"].as_i64());
                    ids.extend(r.json["items"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()));
                    match r.json["next_cursor"].as_str() {
                        Some(next) => cursor = Some(next.to_string()),
                        None => break,
                    }
                }
                (ids, total)
            };
            let list = walk("/api/v1/archives?limit=200&count=true".to_string()).await;
            let search = walk(format!("/api/v1/search?q={}&limit=200&count=true", urlencode("矩阵档案"))).await;
            // 绝密 content is not indexed: found by its number only (the archivist's register).
            let top = w.archives.iter().find(|a| a.secrecy == Secrecy::TopSecret && a.owner == w.checked[&p.id][0]).or_else(|| w.archives.iter().find(|a| a.secrecy == Secrecy::TopSecret)).unwrap();
            let by_no = walk(format!("/api/v1/search?q={}&limit=200&count=true", urlencode(&top.no))).await;
            (p, in_room, list, search, (top, by_no))
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    for (p, in_room, list, search, (top, by_no)) in lists {
        let mut expected = BTreeSet::new();
        for a in &w.archives {
            let vals = values(w, p, a, Action::List, in_room);
            let rule = first_match(rules, &vals).unwrap_or_else(|| panic!("no rule for {vals:?}"));
            if rule.outcome == Decision::Allow {
                expected.insert(a.id);
            }
        }
        // The number search: the 绝密 archive, exactly when the rules list it.
        report.checked += 1;
        let vals = values(w, p, top, Action::List, in_room);
        let rule = first_match(rules, &vals).unwrap();
        let found = by_no.0.contains(&top.id);
        if found != (rule.outcome == Decision::Allow) {
            report.fail(p, &vals, "search-number", rule, if found { "允许".into() } else { "拒绝".into() });
        }
        for (path, (ids, total)) in [("list", list), ("search", search)] {
            report.checked += 1;
            // Searching by content never finds 绝密 archives (their content is not indexed).
            let expected: BTreeSet<i64> = if path == "search" { expected.iter().copied().filter(|id| w.archives.iter().any(|a| a.id == *id && a.secrecy != Secrecy::TopSecret)).collect() } else { expected.clone() };
            let got: BTreeSet<i64> = ids.iter().copied().collect();
            let mut problems = Vec::new();
            if got.len() != ids.len() {
                problems.push("an archive listed twice".to_string());
            }
            if total != Some(expected.len() as i64) {
                problems.push(format!("count {total:?}, rules {}", expected.len()));
            }
            for a in &w.archives {
                let (want, have) = (expected.contains(&a.id), got.contains(&a.id));
                if want != have {
                    let vals = values(w, p, a, Action::List, in_room);
                    let rule = first_match(rules, &vals).unwrap();
                    report.fail(p, &vals, path, rule, format!("{}（{}）", if have { "允许" } else { "拒绝" }, if want { "应列出" } else { "不应列出" }));
                }
            }
            if !problems.is_empty() {
                report.rows.push(vec![p.role.label("zh-CN").into(), format!("{:?}", p.relation), String::new(), String::new(), "列表".into(), if in_room { "档案室" } else { "办公室" }.into(), String::new(), path.into(), format!("user {}", p.id), String::new(), problems.join("; "), String::new()]);
            }
        }
    }
    report
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// One engine: build the world, check every path; the disagreements as a printable report.
async fn check_engine(engine: Engine, rules: &[Rule]) -> String {
    let started = Instant::now();
    let Some(w) = build(engine).await else {
        eprintln!("SKIPPED: PostgreSQL part of the HTTP policy matrix (no server)");
        return String::new();
    };
    let built = started.elapsed();
    let report = run_matrix(&w, rules).await;
    eprintln!(
        "policy matrix over HTTP on {engine:?}: {} people, {} archives, {} checks; world built in {built:.1?}, checked in {:.1?}",
        w.people.len(),
        w.archives.len(),
        report.checked,
        started.elapsed() - built
    );
    let mut failures = String::new();
    if !report.rows.is_empty() {
        let mut header = KEY_HEADERS.to_vec();
        header.extend(["路径", "用户", "规则表", "服务器", "规则行"]);
        failures.push_str(&format!("[{engine:?}] {} of {} checks disagree with policy_matrix.txt (first 60):\n", report.rows.len(), report.checked));
        failures.push_str(&table(&header, &report.rows[..report.rows.len().min(60)]));
        failures.push_str("By path and rule (path, line: expected → server: count):\n");
        for ((path, line, want, got), n) in &report.classes {
            failures.push_str(&format!("  {path}, line {line}: {want} → {got}: {n}\n"));
        }
    }
    assert!(report.checked > 9_000, "[{engine:?}] the matrix must not be trivially small: {}", report.checked);
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_path_agrees_with_the_rules_file() {
    let rules = parse_matrix(MATRIX);
    // Both engines at once: the suite's time is the slower engine's.
    let (sqlite, postgres) = tokio::join!(check_engine(Engine::Sqlite, &rules), check_engine(Engine::Postgres, &rules));
    let failures = sqlite + &postgres;
    assert!(failures.is_empty(), "{failures}");
}
