mod common;

// Keeping archives alive (issue 7), end to end through HTTP on SQLite and PostgreSQL: reminders
// from an archive's dates, contacts and timeline (and the demo archives' age: review due and
// stale), the manager's department view and its scope, the periodic review, the iCalendar feed
// read back by an independent parser (the `ical` crate), the customer pool (sweep, claim, daily
// limit) and the handover of a leaving employee (archives, loans, account, printed list, audit).
//
// Demo company: jingli1 部门经理 (XS1), xiaoshou1 / xiaoshou2 业务员 (XS1), xiaoshou3 业务员
// (XS2), dangan1 档案管理员, shenji1 审计员, admin 系统管理员 + 总经理.

use std::collections::HashMap;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use common::{send, Resp, TestServer};
use reqwest::Client;
use serde_json::{json, Value};

const DEMO: u64 = 80;

struct W<'a> {
    s: &'a TestServer,
    c: Client,
    tokens: HashMap<&'static str, String>,
    ids: HashMap<String, i64>,
}

impl<'a> W<'a> {
    async fn new(s: &'a TestServer, who: &[&'static str]) -> W<'a> {
        let mut tokens = HashMap::new();
        for u in who {
            tokens.insert(*u, s.token(u, common::ADMIN_PASSWORD).await);
        }
        let c = Client::new();
        let users = send(c.get(s.url("/api/v1/users")).bearer_auth(&tokens["admin"])).await;
        let ids = users.json.as_array().unwrap().iter().map(|u| (u["username"].as_str().unwrap().to_string(), u["id"].as_i64().unwrap())).collect();
        W { s, c, tokens, ids }
    }
    fn e(&self) -> String {
        format!("{:?}", self.s.engine)
    }
    async fn get(&self, who: &str, path: &str) -> Resp {
        send(self.c.get(self.s.url(path)).bearer_auth(&self.tokens[who])).await
    }
    async fn post(&self, who: &str, path: &str, body: &Value) -> Resp {
        send(self.c.post(self.s.url(path)).bearer_auth(&self.tokens[who]).json(body)).await
    }
    async fn put(&self, who: &str, path: &str, body: &Value) -> Resp {
        send(self.c.put(self.s.url(path)).bearer_auth(&self.tokens[who]).json(body)).await
    }
    async fn create(&self, who: &str, body: Value) -> i64 {
        let r = self.post(who, "/api/v1/archives", &body).await;
        assert_eq!(r.status, 201, "[{}] {who} creates {}: {}", self.e(), body["name"], r.text());
        r.json["id"].as_i64().unwrap()
    }
    async fn reminders(&self, who: &str, scope: &str) -> Vec<Value> {
        let r = self.get(who, &format!("/api/v1/reminders?scope={scope}&limit=5000")).await;
        assert_eq!(r.status, 200, "[{}] {who} reminders: {}", self.e(), r.text());
        let items = r.json["items"].as_array().unwrap().clone();
        assert_eq!(r.json["total"].as_u64(), Some(items.len() as u64), "[{}] all of them fit", self.e());
        let counted: u64 = r.json["counts"].as_array().unwrap().iter().map(|c| c["count"].as_u64().unwrap()).sum();
        assert_eq!(counted, items.len() as u64, "[{}] counts per kind add up", self.e());
        assert_eq!(r.json["total_at_least"], false, "[{}] a small book's counts are exact", self.e());
        assert!(r.json["counts"].as_array().unwrap().iter().all(|c| c["at_least"] == false), "[{}] exact per kind", self.e());
        items
    }
    async fn audit_count(&self, action: &str) -> usize {
        let r = self.get("shenji1", &format!("/api/v1/audit?action={action}&limit=500")).await;
        assert_eq!(r.status, 200, "{}", r.text());
        r.json["items"].as_array().map(|a| a.len()).unwrap_or_else(|| r.json.as_array().map(|a| a.len()).unwrap_or(0))
    }
}

fn kinds_for(list: &[Value], archive: i64) -> Vec<String> {
    let mut k: Vec<String> = list.iter().filter(|r| r["archive_id"] == archive).map(|r| r["kind"].as_str().unwrap().to_string()).collect();
    k.sort();
    k
}

/// Today in China (UTC+8), as the server counts reminders.
fn today() -> NaiveDate {
    (Utc::now() + Duration::hours(8)).date_naive()
}

/// A day in next month (the 15th), and a birth date on it years ago.
fn next_month_15th() -> NaiveDate {
    let t = today();
    let (y, m) = if t.month() == 12 { (t.year() + 1, 1) } else { (t.year(), t.month() + 1) };
    NaiveDate::from_ymd_opt(y, m, 15).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_reviews_and_the_calendar_feed() {
    for s in common::servers(DEMO).await {
        let w = W::new(&s, &["admin", "xiaoshou1", "xiaoshou3", "jingli1", "shenji1"]).await;
        let e = w.e();
        let t = today();
        let birthday = next_month_15th().with_year(1988).unwrap();
        let contact_birthday = next_month_15th().with_year(1990).unwrap();

        // A salon member: birthday next month, credit assessment expired yesterday, membership
        // ending in 10 days with 5 sessions left; a contact with a birthday next month.
        let id = w
            .create(
                "xiaoshou1",
                json!({
                    "kind": "person", "name": "欧阳娜娜", "mobile": "13700001111", "status": "active",
                    "person": {"birth_date": birthday.to_string()},
                    "credit": {"grade": "B", "valid_until": (t - Duration::days(1)).to_string()},
                    "template": "membership",
                    "custom": {"card_no": "VIP-0088", "card_type": "次卡", "valid_until": (t + Duration::days(10)).to_string(), "remaining_sessions": 5},
                    "confirm_duplicates": true
                }),
            )
            .await;
        let r = w.post("xiaoshou1", &format!("/api/v1/archives/{id}/contacts"), &json!({"name": "欧阳建国", "birthday": contact_birthday.to_string()})).await;
        assert_eq!(r.status, 201, "[{e}] contact: {}", r.text());
        // A contract ending in 20 days, and a visit with the next one planned in 3 days.
        let r = w
            .post("xiaoshou1", &format!("/api/v1/archives/{id}/entries"), &json!({"kind": "contract", "occurred_on": (t - Duration::days(30)).to_string(), "summary": "年卡合同", "details": {"contract_no": "HT-2026-77", "end_date": (t + Duration::days(20)).to_string()}}))
            .await;
        assert_eq!(r.status, 201, "[{e}] contract: {}", r.text());
        let r = w
            .post("xiaoshou1", &format!("/api/v1/archives/{id}/entries"), &json!({"kind": "visit", "occurred_on": t.to_string(), "summary": "到店护理", "details": {"next_action": "回访护理效果", "next_action_on": (t + Duration::days(3)).to_string()}}))
            .await;
        assert_eq!(r.status, 201, "[{e}] visit: {}", r.text());

        let mine = w.reminders("xiaoshou1", "mine").await;
        let k = kinds_for(&mine, id);
        for want in ["birthday", "credit_expired", "membership_expiry", "low_sessions", "contract_end", "planned_visit"] {
            assert!(k.contains(&want.to_string()), "[{e}] {want} in {k:?}");
        }
        assert_eq!(k.iter().filter(|x| *x == "birthday").count(), 2, "[{e}] the customer's and the contact's birthday: {k:?}");
        let visit = mine.iter().find(|r| r["archive_id"] == id && r["kind"] == "planned_visit").unwrap();
        assert_eq!(visit["due_on"], (t + Duration::days(3)).to_string(), "[{e}] {visit}");
        assert_eq!(visit["detail"], "回访护理效果", "[{e}]");
        let bday = mine.iter().find(|r| r["archive_id"] == id && r["kind"] == "birthday" && r["detail"] == "").unwrap();
        assert_eq!(bday["due_on"], next_month_15th().to_string(), "[{e}] this year's birthday: {bday}");
        let dues: Vec<&str> = mine.iter().map(|r| r["due_on"].as_str().unwrap()).collect();
        assert!(dues.windows(2).all(|p| p[0] <= p[1]), "[{e}] soonest first: {dues:?}");
        // One kind, and a short page with the total.
        let r = w.get("xiaoshou1", "/api/v1/reminders?kind=birthday").await;
        assert!(r.json["items"].as_array().unwrap().iter().all(|x| x["kind"] == "birthday"), "[{e}] {}", r.text());
        let r = w.get("xiaoshou1", "/api/v1/reminders?limit=2").await;
        assert_eq!((r.json["items"].as_array().unwrap().len(), r.json["total"].as_u64()), (2, Some(mine.len() as u64)), "[{e}] a page of 2 of all");
        // Every page is the head of the whole list (each source is asked for its own soonest),
        // of all kinds and of each kind, and the totals are the whole list's.
        let key = |r: &Value| (r["due_on"].as_str().unwrap().to_string(), r["archive_id"].as_i64().unwrap(), r["kind"].as_str().unwrap().to_string());
        let kinds: std::collections::BTreeSet<String> = mine.iter().map(|r| r["kind"].as_str().unwrap().to_string()).collect();
        assert!(kinds.len() >= 4, "[{e}] several kinds to page through: {kinds:?}");
        for kind in std::iter::once(None).chain(kinds.iter().map(Some)) {
            let whole: Vec<_> = mine.iter().filter(|r| kind.is_none_or(|k| r["kind"] == k.as_str())).map(key).collect();
            for limit in [1, 2, 3, 7] {
                let url = format!("/api/v1/reminders?limit={limit}{}", kind.map(|k| format!("&kind={k}")).unwrap_or_default());
                let r = w.get("xiaoshou1", &url).await;
                let got: Vec<_> = r.json["items"].as_array().unwrap().iter().map(key).collect();
                assert_eq!(got, whole[..limit.min(whole.len())].to_vec(), "[{e}] {url}: the head of the list");
                assert_eq!(r.json["total"].as_u64(), Some(whole.len() as u64), "[{e}] {url}: the total");
            }
        }
        assert_eq!(w.get("xiaoshou1", "/api/v1/reminders?kind=nonsense").await.status, 400, "[{e}]");

        // A large book (the read path for owners and departments of over 20,000 archives, taken
        // here for every book): the dates come from the date indexes a window at a time and the
        // counts stop at a cap (2 here). The same reminders in the same order; each count is the
        // exact one, or at least the cap and no more than the exact one, and says so.
        let large = s.variant(|st| st.reminder_reads = dangan_app::lifecycle::ReminderReads { large_book: 0, count_cap: 2 }).await;
        for (who, scope) in [("xiaoshou1", "mine"), ("jingli1", "department")] {
            let exact = w.get(who, &format!("/api/v1/reminders?scope={scope}&limit=5000")).await;
            let path = |limit: usize| format!("/api/v1/reminders?scope={scope}&limit={limit}");
            let r = send(w.c.get(large.url(&path(5000))).bearer_auth(&w.tokens[who])).await;
            assert_eq!(r.status, 200, "[{e}] {}", r.text());
            assert_eq!(r.json["items"], exact.json["items"], "[{e}] {who}: the same reminders, in the same order");
            let exact_counts: HashMap<String, u64> = exact.json["counts"].as_array().unwrap().iter().map(|c| (c["kind"].as_str().unwrap().to_string(), c["count"].as_u64().unwrap())).collect();
            let mut capped_any = false;
            for c in r.json["counts"].as_array().unwrap() {
                let (kind, n, at_least) = (c["kind"].as_str().unwrap(), c["count"].as_u64().unwrap(), c["at_least"].as_bool().unwrap());
                let exact_n = exact_counts[kind];
                if at_least {
                    capped_any = true;
                    assert!(n >= 2 && n <= exact_n, "[{e}] {who} {kind}: at least {n}, exactly {exact_n}");
                } else {
                    assert_eq!(n, exact_n, "[{e}] {who} {kind}: an exact count");
                }
            }
            assert!(capped_any, "[{e}] {who}: some count reached the cap of 2: {}", r.text());
            assert_eq!(r.json["total_at_least"], true, "[{e}]");
            let whole: Vec<Value> = exact.json["items"].as_array().unwrap().clone();
            for limit in [1, 3, 7] {
                let r = send(w.c.get(large.url(&path(limit))).bearer_auth(&w.tokens[who])).await;
                assert_eq!(r.json["items"].as_array().unwrap().as_slice(), &whole[..limit.min(whole.len())], "[{e}] {who} limit {limit}: the head of the list");
            }
        }
        drop(large);

        // The demo archives are old (created in the past, never reviewed): the owner's list has
        // review-due and stale ones, only their own.
        let me = w.ids["xiaoshou1"];
        let owned = w.get("admin", &format!("/api/v1/archives?owner_id={me}&limit=200")).await;
        let owned_ids: Vec<i64> = owned.json["items"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
        let stale: Vec<i64> = mine.iter().filter(|r| r["kind"] == "stale").map(|r| r["archive_id"].as_i64().unwrap()).collect();
        let review: Vec<i64> = mine.iter().filter(|r| r["kind"] == "review_due").map(|r| r["archive_id"].as_i64().unwrap()).collect();
        assert!(!stale.is_empty() && !review.is_empty(), "[{e}] old demo archives are stale and due for review: {mine:?}");
        assert!(stale.iter().chain(&review).all(|a| owned_ids.contains(a)), "[{e}] only xiaoshou1's own archives");
        assert!(mine.iter().all(|r| r["owner_id"] == me), "[{e}] mine = owned by me");

        // The review resets the cycle: the archive leaves the review-due list (and the trail has it).
        let reviewed = review[0];
        let r = w.post("xiaoshou1", &format!("/api/v1/archives/{reviewed}/review"), &json!({})).await;
        assert_eq!(r.status, 204, "[{e}] {}", r.text());
        let after = w.reminders("xiaoshou1", "mine").await;
        assert!(!after.iter().any(|r| r["archive_id"] == reviewed && r["kind"] == "review_due"), "[{e}] reviewed archive no longer due");
        let r = w.post("xiaoshou3", &format!("/api/v1/archives/{reviewed}/review"), &json!({})).await;
        assert!(r.status == 403 || r.status == 404, "[{e}] someone else's personal archive: {}", r.status);
        assert!(w.audit_count("archive.review").await >= 1, "[{e}] review audited");

        // The manager of XS1 sees the department's (xiaoshou1's among them); a salesperson has no
        // department view; the other department's salesperson never sees this archive.
        let dept = w.reminders("jingli1", "department").await;
        assert!(kinds_for(&dept, id).contains(&"low_sessions".to_string()), "[{e}] the manager sees it");
        let r = w.get("xiaoshou1", "/api/v1/reminders?scope=department").await;
        assert_eq!(r.status, 403, "[{e}] {}", r.text());
        let other = w.reminders("xiaoshou3", "mine").await;
        assert!(kinds_for(&other, id).is_empty(), "[{e}] not xiaoshou3's");
        assert!(w.audit_count("reminder.list").await >= 3, "[{e}] reading reminders is audited");

        // The calendar feed: a secret address, no login, parsed by an independent iCalendar parser.
        let r = w.post("xiaoshou1", "/api/v1/calendar/token", &json!({})).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let path = r.json["path"].as_str().unwrap().to_string();
        let feed = send(w.c.get(w.s.url(&path))).await;
        assert_eq!(feed.status, 200, "[{e}] feed: {}", feed.text());
        assert!(feed.content_type().starts_with("text/calendar"), "[{e}] {}", feed.content_type());
        let text = feed.text();
        let mut parser = ical::IcalParser::new(std::io::BufReader::new(text.as_bytes()));
        let cal = parser.next().expect("one calendar").expect("the feed parses");
        let now_list = w.reminders("xiaoshou1", "mine").await;
        let dated = now_list.iter().filter(|r| r["kind"] != "review_due" && r["kind"] != "stale").count();
        assert_eq!(cal.events.len(), dated, "[{e}] one event per dated reminder (review-due and stale lists are not events)");
        let prop = |ev: &ical::parser::ical::component::IcalEvent, name: &str| ev.properties.iter().find(|p| p.name == name).and_then(|p| p.value.clone()).unwrap_or_default();
        let planned = cal.events.iter().find(|ev| prop(ev, "SUMMARY").contains("欧阳娜娜") && prop(ev, "SUMMARY").contains("计划回访")).expect("the planned visit event");
        assert_eq!(prop(planned, "DTSTART"), (t + Duration::days(3)).format("%Y%m%d").to_string(), "[{e}] all-day on the planned day");
        let dtstart = planned.properties.iter().find(|p| p.name == "DTSTART").unwrap();
        assert!(dtstart.params.as_ref().is_some_and(|ps| ps.iter().any(|(k, v)| k == "VALUE" && v.contains(&"DATE".to_string()))), "[{e}] an all-day (DATE) event: {dtstart:?}");
        let uids: std::collections::HashSet<String> = cal.events.iter().map(|ev| prop(ev, "UID")).collect();
        assert_eq!(uids.len(), cal.events.len(), "[{e}] unique, stable UIDs");
        assert_eq!(send(w.c.get(w.s.url(&path))).await.text().matches("UID:").count(), cal.events.len(), "[{e}] the same events again");
        // A wrong token and a replaced one are 404.
        assert_eq!(send(w.c.get(w.s.url("/calendar/not-a-token.ics"))).await.status, 404, "[{e}]");
        let r = w.post("xiaoshou1", "/api/v1/calendar/token", &json!({})).await;
        assert_eq!(send(w.c.get(w.s.url(&path))).await.status, 404, "[{e}] the old address ends");
        assert_eq!(send(w.c.get(w.s.url(r.json["path"].as_str().unwrap()))).await.status, 200, "[{e}] the new one works");
        assert!(w.audit_count("calendar.feed").await >= 2, "[{e}] feed reads are audited");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customer_pool_and_handover() {
    for s in common::servers(DEMO).await {
        let w = W::new(&s, &["admin", "xiaoshou1", "xiaoshou2", "xiaoshou3", "jingli1", "dangan1", "shenji1"]).await;
        let e = w.e();
        let t = today();
        let (x1, x2) = (w.ids["xiaoshou1"], w.ids["xiaoshou2"]);

        // Grade D archives return after 30 days without a follow-up (the default); one was
        // followed up 40 days ago, one today.
        let old = w.create("xiaoshou1", json!({"kind": "organization", "name": "宁波久疏贸易有限公司", "classification": {"grade": "D"}, "status": "active", "confirm_duplicates": true})).await;
        let r = w.post("xiaoshou1", &format!("/api/v1/archives/{old}/entries"), &json!({"kind": "visit", "occurred_on": (t - Duration::days(40)).to_string(), "summary": "首次拜访"})).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());
        let fresh = w.create("xiaoshou1", json!({"kind": "organization", "name": "宁波常联贸易有限公司", "classification": {"grade": "D"}, "status": "active", "confirm_duplicates": true})).await;
        let r = w.post("xiaoshou1", &format!("/api/v1/archives/{fresh}/entries"), &json!({"kind": "visit", "occurred_on": t.to_string(), "summary": "回访"})).await;
        assert_eq!(r.status, 201, "[{e}] {}", r.text());

        assert_eq!(w.post("xiaoshou1", "/api/v1/pool/sweep", &json!({})).await.status, 403, "[{e}] only the administrator runs the sweep by hand");
        // The pool is off until the administrator turns it on: the sweep then does nothing.
        let r = w.post("admin", "/api/v1/pool/sweep", &json!({})).await;
        assert_eq!((r.status, r.json["returned"].as_u64()), (200, Some(0)), "[{e}] pool off: {}", r.text());
        let policy = w.get("admin", "/api/v1/policy").await.json;
        assert_eq!(policy["lifecycle"]["pool_enabled"], false, "[{e}] off by default");
        let mut lc = policy["lifecycle"].clone();
        lc["pool_enabled"] = json!(true);
        let body = json!({"version": policy["version"], "grant_max_hours": policy["grant_max_hours"], "secret_grant_max_hours": policy["secret_grant_max_hours"], "chains": policy["chains"], "archive_room_networks": policy["archive_room_networks"], "lifecycle": lc});
        assert_eq!(w.put("admin", "/api/v1/policy", &body).await.status, 200, "[{e}]");
        let r = w.post("admin", "/api/v1/pool/sweep", &json!({})).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        assert!(r.json["returned"].as_u64().unwrap() >= 1, "[{e}] {}", r.json);
        let a = w.get("admin", &format!("/api/v1/archives/{old}")).await;
        assert_eq!((a.json["owner_id"].clone(), a.json["tier"].as_str()), (Value::Null, Some("department")), "[{e}] in the pool: {}", a.text());
        let f = w.get("admin", &format!("/api/v1/archives/{fresh}")).await;
        assert_eq!(f.json["owner_id"], x1, "[{e}] followed up today: stays");
        assert!(w.audit_count("pool.return").await >= 1, "[{e}]");

        // The pool as XS1 sees it (the department's archive); XS2 does not see it.
        let pool = w.get("xiaoshou2", "/api/v1/pool?limit=200").await;
        assert_eq!(pool.status, 200, "[{e}] {}", pool.text());
        assert!(pool.json["items"].as_array().unwrap().iter().any(|a| a["id"] == old), "[{e}] XS1 sees its pool archive");
        let other = w.get("xiaoshou3", "/api/v1/pool?limit=200").await;
        assert!(!other.json["items"].as_array().unwrap().iter().any(|a| a["id"] == old), "[{e}] XS2 does not");

        // Claim with a daily limit of 1: the first claim works, the second is refused in Chinese.
        let policy = w.get("admin", "/api/v1/policy").await.json;
        let mut lc = policy["lifecycle"].clone();
        lc["pool_claims_per_day"] = json!(1);
        let body = json!({"version": policy["version"], "grant_max_hours": policy["grant_max_hours"], "secret_grant_max_hours": policy["secret_grant_max_hours"], "chains": policy["chains"], "archive_room_networks": policy["archive_room_networks"], "lifecycle": lc});
        let r = w.put("admin", "/api/v1/policy", &body).await;
        assert_eq!(r.status, 200, "[{e}] {}", r.text());
        let r = w.post("xiaoshou2", &format!("/api/v1/pool/{old}/claim"), &json!({})).await;
        assert_eq!(r.status, 200, "[{e}] claim: {}", r.text());
        assert_eq!((r.json["owner_id"].as_i64(), r.json["tier"].as_str()), (Some(x2), Some("personal")), "[{e}]");
        let r = w.post("jingli1", &format!("/api/v1/pool/{old}/claim"), &json!({})).await;
        assert_eq!(r.status, 422, "[{e}] no longer in the pool: {}", r.text());
        let r = w.post("xiaoshou1", &format!("/api/v1/pool/{old}/claim"), &json!({})).await;
        assert_eq!(r.status, 403, "[{e}] now xiaoshou2's personal archive: {}", r.text());
        // Return another archive to the pool by the sweep, then the limit refuses xiaoshou2's second claim.
        let second = w.create("xiaoshou1", json!({"kind": "organization", "name": "宁波再疏贸易有限公司", "classification": {"grade": "D"}, "status": "active", "confirm_duplicates": true})).await;
        w.post("xiaoshou1", &format!("/api/v1/archives/{second}/entries"), &json!({"kind": "visit", "occurred_on": (t - Duration::days(45)).to_string(), "summary": "拜访"})).await;
        assert_eq!(w.post("admin", "/api/v1/pool/sweep", &json!({})).await.status, 200);
        let r = send(w.c.post(w.s.url(&format!("/api/v1/pool/{second}/claim"))).bearer_auth(&w.tokens["xiaoshou2"]).header("Accept-Language", "zh-CN")).await;
        assert_eq!(r.status, 422, "[{e}] the daily limit: {}", r.text());
        assert!(r.text().contains("上限"), "[{e}] said in Chinese: {}", r.text());
        assert_eq!(w.audit_count("pool.claim").await, 1, "[{e}] one claim recorded");

        // Handover: xiaoshou1 leaves. A paper file is on loan to them.
        let owned_before = w.get("admin", &format!("/api/v1/archives?owner_id={x1}&count=true&limit=1")).await.json["total"].as_i64().unwrap();
        assert!(owned_before >= 2, "[{e}] xiaoshou1 owns archives: {owned_before}");
        let lend = w.post("dangan1", "/api/v1/loans", &json!({"archive_id": fresh, "borrower_id": x1, "kind": "paper", "purpose": "核对合同", "due_at": (Utc::now() + Duration::days(7)).to_rfc3339()})).await;
        assert_eq!(lend.status, 201, "[{e}] {}", lend.text());
        let loan_id = lend.json["id"].as_i64().unwrap();

        let r = w.post("xiaoshou2", &format!("/api/v1/users/{x1}/handover"), &json!({"recipients": [x2]})).await;
        assert_eq!(r.status, 403, "[{e}] a salesperson cannot hand over: {}", r.text());
        let r = w.post("jingli1", &format!("/api/v1/users/{x1}/handover"), &json!({"recipients": []})).await;
        assert_eq!(r.status, 422, "[{e}] recipients required: {}", r.text());
        let r = w.post("jingli1", &format!("/api/v1/users/{x1}/handover"), &json!({"recipients": [x2, w.ids["xiaoshou3"]], "note": "张明离职"})).await;
        assert_eq!(r.status, 201, "[{e}] handover: {}", r.text());
        let h = r.json.clone();
        let items = h["items"].as_array().unwrap();
        assert_eq!(items.iter().filter(|i| i["kind"] == "archive").count() as i64, owned_before, "[{e}] every archive handed over");
        assert!(items.iter().any(|i| i["kind"] == "loan" && i["id"] == loan_id), "[{e}] the loan too: {h}");

        // Nothing is orphaned: no archive is left with the leaver, shared among both recipients.
        let left = w.get("admin", &format!("/api/v1/archives?owner_id={x1}&count=true&limit=1")).await.json["total"].as_i64().unwrap();
        assert_eq!(left, 0, "[{e}]");
        let to2 = items.iter().filter(|i| i["kind"] == "archive" && i["to_user"] == x2).count();
        let to3 = items.iter().filter(|i| i["kind"] == "archive" && i["to_user"] == w.ids["xiaoshou3"]).count();
        assert!(to2 > 0 && to3 > 0 && (to2 as i64 - to3 as i64).abs() <= 1, "[{e}] shared in turn: {to2} / {to3}");
        // The old loan is closed, a new one records the recipient (a loan never changes borrower).
        let old_loan = w.get("dangan1", &format!("/api/v1/loans/{loan_id}")).await;
        assert!(old_loan.json["returned_at"].is_string(), "[{e}] {}", old_loan.text());
        assert_eq!(old_loan.json["borrower_id"], x1, "[{e}]");
        let new_loan_id = items.iter().find(|i| i["kind"] == "loan").unwrap()["new_id"].as_i64().unwrap();
        let new_loan = w.get("dangan1", &format!("/api/v1/loans/{new_loan_id}")).await;
        assert!(new_loan.json["returned_at"].is_null(), "[{e}] {}", new_loan.text());
        assert_ne!(new_loan.json["borrower_id"], x1, "[{e}]");
        // The account is disabled: its token no longer works.
        assert_eq!(w.get("xiaoshou1", "/api/v1/archives?limit=1").await.status, 401, "[{e}] the leaver's session ended");
        // The reminders followed the archives: the membership archive is in a recipient's list.
        let pdf = send(w.c.get(w.s.url(&format!("/api/v1/handovers/{}/list.pdf", h["id"]))).bearer_auth(&w.tokens["dangan1"])).await;
        assert_eq!(pdf.status, 200, "[{e}] {}", pdf.text());
        assert!(pdf.bytes.starts_with(b"%PDF"), "[{e}] a PDF");
        assert_eq!(w.get("xiaoshou2", "/api/v1/handovers").await.status, 403, "[{e}] lists are for managers and the archivist");
        assert_eq!(w.audit_count("user.handover").await, 1, "[{e}]");
        assert!(w.audit_count("archive.transfer").await as i64 >= owned_before, "[{e}] each archive's transfer is recorded");
    }
}
