mod common;

// End-to-end tests of the JSON API, through HTTP only (zero2prod style): every scenario runs on
// SQLite and, where reachable (required in CI), PostgreSQL.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Datelike, Utc};
use common::{send, Resp, TestServer, PNG_1X1};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::{Client, RequestBuilder};
use serde_json::{json, Value};

/// A valid unified social credit code (GB 32100 example) and the same with a wrong check character.
const GOOD_USCC: &str = "91350100M000100Y43";
const BAD_USCC: &str = "91350100M000100Y44";
/// GB 11643 sample with its last character changed: a wrong check digit.
const BAD_RESIDENT_ID: &str = "110105194912310021";


// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------


/// The engine, for assertion messages.
fn eng(s: &TestServer) -> String {
    format!("{:?}", s.engine)
}

struct Api<'a> {
    s: &'a TestServer,
    c: Client,
    token: String,
}

impl<'a> Api<'a> {
    async fn admin(s: &'a TestServer) -> Api<'a> {
        Api { s, c: Client::new(), token: s.admin_token().await }
    }
    fn with_token(s: &'a TestServer, token: String) -> Api<'a> {
        Api { s, c: Client::new(), token }
    }
    fn get(&self, path: &str) -> RequestBuilder {
        self.c.get(self.s.url(path)).bearer_auth(&self.token)
    }
    fn post(&self, path: &str) -> RequestBuilder {
        self.c.post(self.s.url(path)).bearer_auth(&self.token)
    }
    fn put(&self, path: &str) -> RequestBuilder {
        self.c.put(self.s.url(path)).bearer_auth(&self.token)
    }
    async fn get_json(&self, path: &str) -> Value {
        let r = send(self.get(path)).await;
        assert_eq!(r.status, 200, "[{}] GET {path}: {}", eng(self.s), r.text());
        r.json
    }
    /// Creates an archive. These tests make several archives from one template (same phone,
    /// same credit code) on purpose, so they confirm the duplicate check (tests/dedup.rs tests it).
    async fn create_archive(&self, body: &Value) -> Value {
        let mut body = body.clone();
        body["confirm_duplicates"] = Value::Bool(true);
        let r = send(self.post("/api/v1/archives").json(&body)).await;
        assert_eq!(r.status, 201, "[{}] create archive: {}", eng(self.s), r.text());
        r.json
    }
    async fn total(&self, query: &str) -> i64 {
        let sep = if query.is_empty() { "" } else { "&" };
        self.get_json(&format!("/api/v1/archives?count=true&limit=1{sep}{query}")).await["total"].as_i64().expect("total")
    }
    /// Walks every page of a list, asserting each page's size and that every cursor is used once.
    async fn walk(&self, query: &str, limit: u32) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursors = HashSet::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/archives?limit={limit}");
            if !query.is_empty() {
                path.push('&');
                path.push_str(query);
            }
            if let Some(c) = &cursor {
                path.push_str("&cursor=");
                path.push_str(&urlencode(c));
            }
            let page = self.get_json(&path).await;
            let items = page["items"].as_array().expect("items").clone();
            assert!(items.len() <= limit as usize, "[{}] page larger than limit for {query}", eng(self.s));
            let next = page["next_cursor"].as_str().map(str::to_string);
            if next.is_some() {
                assert_eq!(items.len(), limit as usize, "[{}] non-final page must be full for {query}", eng(self.s));
            }
            out.extend(items);
            match next {
                Some(c) => {
                    assert!(cursors.insert(c.clone()), "[{}] cursor {c} repeated for {query}", eng(self.s));
                    cursor = Some(c);
                }
                None => break,
            }
            assert!(out.len() <= 100_000, "runaway pagination");
        }
        out
    }
}

/// A client-side predicate equivalent to a list query's filters.
type RowFilter = Box<dyn Fn(&Value) -> bool>;

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().map(|i| i["id"].as_i64().expect("id")).collect()
}

fn assert_no_duplicates(ids: &[i64], what: &str) {
    let set: HashSet<_> = ids.iter().collect();
    assert_eq!(set.len(), ids.len(), "{what}: duplicate rows in the walk");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A multipart/form-data body with one file field: (content type header, body).
fn multipart(field: &str, filename: &str, part_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----dangan-test-boundary-7d1f3a";
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n").as_bytes());
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\nContent-Type: {part_type}\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(api: &Api<'_>, archive_id: i64, filename: &str, part_type: &str, bytes: &[u8]) -> Resp {
    let (ct, body) = multipart("file", filename, part_type, bytes);
    send(api.post(&format!("/api/v1/archives/{archive_id}/attachments")).header(CONTENT_TYPE, ct).body(body)).await
}

fn org_archive(name: &str) -> Value {
    json!({
        "kind": "organization",
        "name": name,
        "mobile": "13812345678",
        "email": "info@example.com",
        "address": "福建省福州市鼓楼区五四路100号",
        "organization": {
            "uscc": GOOD_USCC,
            "legal_representative": "张三",
            "registered_capital": "5000000.00",
            "organization_form": "有限责任公司"
        },
        "classification": {"province": "福建省", "city": "福州市", "industry": "制造业", "grade": "A"},
        "status": "active"
    })
}

fn contains_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// Every file (not directory) under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// 1. Authentication
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_is_required_and_lockout_and_tokens_work() {
    for s in common::servers(0).await {
        let e = eng(&s);
        let c = Client::new();

        // Only the health check is public; the OpenAPI document needs a login like the rest.
        let r = send(c.get(s.url("/healthz"))).await;
        assert_eq!(r.status, 200, "[{e}] healthz");
        let r = send(c.get(s.url("/api/openapi.json"))).await;
        assert_eq!(r.status, 401, "[{e}] openapi without a token");
        let r = send(c.get(s.url("/api/openapi.json")).bearer_auth(s.admin_token().await)).await;
        assert_eq!(r.status, 200, "[{e}] openapi");
        assert!(r.content_type().starts_with("application/json"), "[{e}] openapi content type {}", r.content_type());
        assert!(r.json["openapi"].as_str().unwrap_or("").starts_with("3."), "[{e}] openapi version {}", r.json["openapi"]);
        for p in ["/api/v1/archives", "/api/v1/archives/{id}", "/api/v1/auth/login", "/api/v1/archives/{id}/attachments"] {
            assert!(r.json["paths"].get(p).is_some(), "[{e}] openapi lacks path {p}");
        }

        // Every /api/v1 route except login: 401 problem without a token and with a bogus one.
        let routes: &[(&str, &str)] = &[
            ("POST", "/api/v1/auth/logout"),
            ("GET", "/api/v1/me"),
            ("POST", "/api/v1/tokens"),
            ("GET", "/api/v1/archives"),
            ("POST", "/api/v1/archives"),
            ("GET", "/api/v1/archives/by-number/KH-2026-000001"),
            ("GET", "/api/v1/archives/1"),
            ("PUT", "/api/v1/archives/1"),
            ("GET", "/api/v1/archives/1/versions"),
            ("GET", "/api/v1/archives/1/contacts"),
            ("POST", "/api/v1/archives/1/contacts"),
            ("PUT", "/api/v1/archives/1/contacts/1"),
            ("GET", "/api/v1/archives/1/entries"),
            ("POST", "/api/v1/archives/1/entries"),
            ("GET", "/api/v1/archives/1/attachments"),
            ("POST", "/api/v1/archives/1/attachments"),
            ("GET", "/api/v1/attachments/1/content"),
            ("GET", "/api/v1/users"),
            ("POST", "/api/v1/users"),
            ("GET", "/api/v1/departments"),
            ("POST", "/api/v1/departments"),
        ];
        for (method, path) in routes {
            for bogus in [None, Some("not-a-real-token"), Some("")] {
                let mut rb = c.request(method.parse().unwrap(), s.url(path));
                if *method != "GET" {
                    rb = rb.json(&json!({}));
                }
                if let Some(t) = bogus {
                    rb = rb.header("authorization", format!("Bearer {t}"));
                }
                let r = send(rb).await;
                assert_eq!(r.status, 401, "[{e}] {method} {path} token={bogus:?}: {}", r.text());
                assert!(r.is_problem(), "[{e}] {method} {path}: content type {}", r.content_type());
                assert_eq!(r.json["status"], 401, "[{e}] {method} {path}");
                assert!(r.problem_type().ends_with("/unauthenticated"), "[{e}] {method} {path}: {}", r.problem_type());
            }
        }

        // Wrong password for the admin: 401 problem (one failure, then reset by a good login).
        let r = send(c.post(s.url("/api/v1/auth/login")).json(&json!({"username": "admin", "password": "wrong-password"}))).await;
        assert_eq!(r.status, 401, "[{e}] wrong password");
        assert!(r.is_problem(), "[{e}] wrong password content type");
        let r = send(c.post(s.url("/api/v1/auth/login")).json(&json!({"username": "nobody", "password": "whatever-123"}))).await;
        assert_eq!(r.status, 401, "[{e}] unknown user");

        let admin = Api::admin(&s).await;
        let me = admin.get_json("/api/v1/me").await;
        assert_eq!(me["username"], "admin", "[{e}]");

        // Lockout, on a separate account so the admin stays usable.
        let r = send(admin.post("/api/v1/users").json(&json!({"username": "locky", "password": "locky-pass-123", "roles": ["service_staff"]}))).await;
        assert_eq!(r.status, 201, "[{e}] create locky: {}", r.text());
        let locky_id = r.json["id"].as_i64().unwrap();
        let login = |pw: &str| c.post(s.url("/api/v1/auth/login")).json(&json!({"username": "locky", "password": pw}));
        for i in 1..=4 {
            let r = send(login("bad-password")).await;
            assert_eq!(r.status, 401, "[{e}] failure {i} should be 401: {}", r.text());
        }
        let r = send(login("bad-password")).await;
        assert_eq!(r.status, 429, "[{e}] 5th failure locks: {}", r.text());
        assert!(r.is_problem(), "[{e}] locked content type");
        assert!(r.problem_type().ends_with("/locked-out"), "[{e}] locked type {}", r.problem_type());
        let until: DateTime<Utc> = r.json["detail"].as_str().expect("detail").parse().expect("rfc3339 until");
        assert!(until > Utc::now(), "[{e}] lock must be in the future");
        let r = send(login("locky-pass-123")).await;
        assert_eq!(r.status, 429, "[{e}] right password refused while locked: {}", r.text());
        assert!(r.problem_type().ends_with("/locked-out"), "[{e}]");
        // Unlock the way an administrator does (`dangan user passwd`; there is no HTTP endpoint).
        s.app.set_password(None, locky_id, "locky-pass-456").await.expect("unlock");
        let r = send(login("locky-pass-456")).await;
        assert_eq!(r.status, 200, "[{e}] login after unlock: {}", r.text());

        // Logout revokes exactly the token used.
        let token2 = s.admin_token().await;
        let second = Api::with_token(&s, token2.clone());
        assert_eq!(send(second.get("/api/v1/me")).await.status, 200, "[{e}]");
        let r = send(second.post("/api/v1/auth/logout")).await;
        assert_eq!(r.status, 204, "[{e}] logout: {}", r.text());
        let r = send(second.get("/api/v1/me")).await;
        assert_eq!(r.status, 401, "[{e}] revoked token still works");
        assert!(r.is_problem(), "[{e}]");
        assert_eq!(send(admin.get("/api/v1/me")).await.status, 200, "[{e}] logout revoked another token");

        // A named token works on its own and survives the login token's logout.
        let r = send(admin.post("/api/v1/tokens").json(&json!({"name": "nightly export"}))).await;
        assert_eq!(r.status, 201, "[{e}] create token: {}", r.text());
        let named = r.json["token"].as_str().expect("token").to_string();
        assert_ne!(named, admin.token, "[{e}]");
        assert_eq!(r.json["user"]["username"], "admin", "[{e}]");
        let script = Api::with_token(&s, named);
        assert_eq!(script.get_json("/api/v1/me").await["username"], "admin", "[{e}]");
        assert_eq!(send(admin.post("/api/v1/auth/logout")).await.status, 204, "[{e}]");
        assert_eq!(send(admin.get("/api/v1/me")).await.status, 401, "[{e}]");
        assert_eq!(send(script.get("/api/v1/archives")).await.status, 200, "[{e}] named token must survive another token's logout");
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Create and read
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_organization_archive_and_read_it_back() {
    for s in common::servers(0).await {
        let e = eng(&s);
        let api = Api::admin(&s).await;
        let me = api.get_json("/api/v1/me").await;

        let mut body = org_archive("  福州闽江测试科技有限公司 ");
        body["mobile"] = json!("+86 138-1234-5678");
        body["organization"]["uscc"] = json!(GOOD_USCC.to_lowercase());
        let r = send(api.post("/api/v1/archives").json(&body)).await;
        assert_eq!(r.status, 201, "[{e}] create: {}", r.text());
        let a = r.json.clone();
        let id = a["id"].as_i64().expect("id");
        let location = r.headers.get(LOCATION).and_then(|v| v.to_str().ok()).expect("Location header");
        assert_eq!(location, format!("/api/v1/archives/{id}"), "[{e}] Location");

        let no = a["archive_no"].as_str().expect("archive_no");
        let year = Utc::now().year();
        let prefix = format!("KH-{year}-");
        assert!(no.starts_with(&prefix), "[{e}] archive_no {no}");
        let seq = &no[prefix.len()..];
        assert!(seq.len() == 6 && seq.bytes().all(|b| b.is_ascii_digit()), "[{e}] archive_no {no}");
        assert_eq!(a["version"], 1, "[{e}]");
        // Normalized as stored.
        assert_eq!(a["name"], "福州闽江测试科技有限公司", "[{e}]");
        // Sensitive fields are shown masked by default; in clear only when asked for and allowed
        // (the creator owns the archive).
        assert_eq!(a["mobile"], "138****5678", "[{e}] masked by default");
        let clear = api.get_json(&format!("/api/v1/archives/{id}?unmasked=true")).await;
        assert_eq!(clear["mobile"], "13812345678", "[{e}] normalized as stored, in clear for the owner");
        assert_eq!(clear["email"], "info@example.com", "[{e}]");
        assert_eq!(a["organization"]["uscc"], GOOD_USCC, "[{e}] the credit code is public registration data, not masked");
        assert_eq!(a["organization"]["registered_capital"], "5000000.00", "[{e}]");
        assert_eq!(a["kind"], "organization", "[{e}]");
        assert_eq!(a["classification"]["grade"], "A", "[{e}]");
        assert_eq!(a["status"], "active", "[{e}]");
        assert_eq!(a["owner_id"], me["id"], "[{e}] owner defaults to creator");
        assert_eq!(a["dept_id"], me["dept_id"], "[{e}] department defaults to the owner's");
        assert_eq!(a["created_by"], me["id"], "[{e}]");

        let by_id = api.get_json(location).await;
        assert_eq!(by_id, a, "[{e}] GET by id differs from the created archive");
        let by_no = api.get_json(&format!("/api/v1/archives/by-number/{no}")).await;
        assert_eq!(by_no, a, "[{e}] GET by number differs");

        // A second archive gets the next number.
        let b = api.create_archive(&org_archive("厦门第二测试有限公司")).await;
        let next: u32 = seq.parse::<u32>().unwrap() + 1;
        assert_eq!(b["archive_no"], format!("{prefix}{next:06}"), "[{e}] numbers are sequential");

        // Missing ones are 404 problems.
        for path in ["/api/v1/archives/999999", "/api/v1/archives/by-number/KH-1999-999999"] {
            let r = send(api.get(path)).await;
            assert_eq!(r.status, 404, "[{e}] {path}");
            assert!(r.is_problem() && r.problem_type().ends_with("/not-found"), "[{e}] {path}");
        }
        let page = api.get_json("/api/v1/archives?count=true").await;
        assert_eq!(page["total"], 2, "[{e}]");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Validation
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_archives_are_refused_with_bilingual_field_errors() {
    for s in common::servers(5).await {
        let e = eng(&s);
        let api = Api::admin(&s).await;
        let before = api.total("").await;
        assert_eq!(before, 5, "[{e}]");

        let mut bad = org_archive("");
        bad["organization"]["uscc"] = json!(BAD_USCC);
        bad["mobile"] = json!("12345");
        bad["email"] = json!("not-an-email@");

        // Default language (zh-CN) and English.
        for lang in [None, Some("en-US,en;q=0.9")] {
            let mut rb = api.post("/api/v1/archives").json(&bad);
            if let Some(l) = lang {
                rb = rb.header("accept-language", l);
            }
            let r = send(rb).await;
            assert_eq!(r.status, 422, "[{e}] lang {lang:?}: {}", r.text());
            assert!(r.is_problem(), "[{e}] content type {}", r.content_type());
            assert!(r.problem_type().ends_with("/validation"), "[{e}] {}", r.problem_type());
            assert_eq!(r.json["status"], 422, "[{e}]");
            let errors = r.json["errors"].as_array().expect("errors[]");
            let fields: BTreeSet<&str> = errors.iter().map(|x| x["field"].as_str().unwrap()).collect();
            for f in ["organization.uscc", "mobile", "email", "name"] {
                assert!(fields.contains(f), "[{e}] no error on {f}: {}", r.text());
            }
            for err in errors {
                let f = err["field"].as_str().unwrap();
                let zh = err["message_zh"].as_str().unwrap_or("");
                let en = err["message_en"].as_str().unwrap_or("");
                let msg = err["message"].as_str().unwrap_or("");
                assert!(contains_cjk(zh), "[{e}] {f}: message_zh not Chinese: {zh:?}");
                assert!(!en.is_empty() && !contains_cjk(en), "[{e}] {f}: message_en not English: {en:?}");
                assert!(!err["code"].as_str().unwrap_or("").is_empty(), "[{e}] {f}: code");
                match lang {
                    None => assert_eq!(msg, zh, "[{e}] {f}: default message should be zh-CN"),
                    Some(_) => assert_eq!(msg, en, "[{e}] {f}: Accept-Language en should give English"),
                }
            }
            let uscc = errors.iter().find(|x| x["field"] == "organization.uscc").unwrap();
            assert_eq!(uscc["code"], "uscc_check_digit", "[{e}]");
        }
        assert_eq!(api.total("").await, before, "[{e}] a refused archive was created");

        // Person with an 18-digit ID whose check digit is wrong.
        let person = json!({"kind": "person", "name": "李四", "mobile": "13912345678",
            "person": {"gender": "female", "id_type": "resident_id", "id_number": BAD_RESIDENT_ID}});
        let r = send(api.post("/api/v1/archives").json(&person)).await;
        assert_eq!(r.status, 422, "[{e}] bad ID: {}", r.text());
        let errors = r.json["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "[{e}] only the ID is wrong: {}", r.text());
        assert_eq!(errors[0]["field"], "person.id_number", "[{e}]");
        assert_eq!(errors[0]["code"], "id_number_check_digit", "[{e}]");
        // The same person with the correct check character is accepted.
        let mut good = person.clone();
        good["person"]["id_number"] = json!("11010519491231002x");
        let created = api.create_archive(&good).await;
        assert_eq!(created["person"]["id_number"], "110105********002X", "[{e}] ID numbers are shown masked");
        let clear = api.get_json(&format!("/api/v1/archives/{}?unmasked=true", created["id"])).await;
        assert_eq!(clear["person"]["id_number"], "11010519491231002X", "[{e}] stored normalized (upper-case X)");

        // Malformed or mistyped JSON: a client error, never 500, and nothing is created.
        let cases: &[(&str, &str)] = &[
            ("truncated", r#"{"kind": "organization", "name": "#),
            ("not json", "kind=organization&name=x"),
            ("unknown kind", r#"{"kind": "alien", "name": "x"}"#),
            ("missing name", r#"{"kind": "person"}"#),
            ("wrong type", r#"{"kind": "person", "name": 42}"#),
            ("array", "[]"),
        ];
        for (what, raw) in cases {
            let r = send(api.post("/api/v1/archives").header(CONTENT_TYPE, "application/json").body(raw.to_string())).await;
            assert!((400..500).contains(&r.status), "[{e}] {what}: status {} {}", r.status, r.text());
        }
        let r = send(api.post("/api/v1/archives").header(CONTENT_TYPE, "text/plain").body(r#"{"kind":"person","name":"x"}"#)).await;
        assert!((400..500).contains(&r.status), "[{e}] wrong content type: {}", r.status);
        assert_eq!(api.total("").await, before + 1, "[{e}] only the valid person was created");
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Update with optimistic concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_are_versioned_and_stale_versions_are_refused() {
    for s in common::servers(0).await {
        let e = eng(&s);
        let api = Api::admin(&s).await;
        let a = api.create_archive(&org_archive("泉州版本测试有限公司")).await;
        let id = a["id"].as_i64().unwrap();
        let path = format!("/api/v1/archives/{id}");

        // v1 → v2.
        let mut v2 = a.clone();
        v2["name"] = json!("泉州版本测试集团有限公司");
        v2["classification"]["grade"] = json!("B");
        v2["version"] = json!(1);
        v2["reason"] = json!("工商变更：更名");
        let r = send(api.put(&path).json(&v2)).await;
        assert_eq!(r.status, 200, "[{e}] update: {}", r.text());
        assert_eq!(r.json["version"], 2, "[{e}]");
        assert_eq!(r.json["name"], "泉州版本测试集团有限公司", "[{e}]");
        assert_eq!(r.json["archive_no"], a["archive_no"], "[{e}] number must not change");
        assert_eq!(r.json["created_at"], a["created_at"], "[{e}] created_at must not change");
        let after_v2 = r.json.clone();

        // A stale writer (still on v1) is refused and writes nothing.
        let mut stale = a.clone();
        stale["name"] = json!("被覆盖的名称");
        stale["version"] = json!(1);
        let r = send(api.put(&path).json(&stale)).await;
        assert_eq!(r.status, 409, "[{e}] stale update: {}", r.text());
        assert!(r.is_problem() && r.problem_type().ends_with("/version-conflict"), "[{e}] {}", r.text());
        assert_eq!(r.json["current_version"], 2, "[{e}]");
        let now = api.get_json(&path).await;
        assert_eq!(now, after_v2, "[{e}] the stale update changed the archive");
        assert_eq!(now["classification"]["grade"], "B", "[{e}]");

        // A stale and invalid update is still refused as stale, not written.
        let mut stale_bad = stale.clone();
        stale_bad["mobile"] = json!("123");
        assert_eq!(send(api.put(&path).json(&stale_bad)).await.status, 409, "[{e}]");
        // A current but invalid update is refused with 422 and writes nothing.
        let mut bad = after_v2.clone();
        bad["mobile"] = json!("123");
        let r = send(api.put(&path).json(&bad)).await;
        assert_eq!(r.status, 422, "[{e}] {}", r.text());
        assert_eq!(api.get_json(&path).await, after_v2, "[{e}] an invalid update changed the archive");

        // History: v1 as created, v2 with the reason.
        let versions = api.get_json(&format!("{path}/versions")).await;
        let versions = versions.as_array().expect("versions array");
        assert_eq!(versions.len(), 2, "[{e}] {versions:?}");
        assert_eq!(versions[0]["version"], 1, "[{e}]");
        assert_eq!(versions[0]["data"]["name"], "泉州版本测试有限公司", "[{e}] v1 data must be the original");
        assert_eq!(versions[0]["data"]["classification"]["grade"], "A", "[{e}]");
        assert_eq!(versions[1]["version"], 2, "[{e}]");
        assert_eq!(versions[1]["data"]["name"], "泉州版本测试集团有限公司", "[{e}]");
        assert_eq!(versions[1]["reason"], "工商变更：更名", "[{e}]");

        // Concurrent writers on the same version: exactly one wins, no update is lost silently.
        let mut handles = Vec::new();
        for i in 0..6 {
            let mut body = after_v2.clone();
            body["version"] = json!(2);
            body["name"] = json!(format!("并发写入{i}有限公司"));
            body["reason"] = json!(format!("并发更名 {i}"));
            let rb = api.put(&path).json(&body);
            handles.push(tokio::spawn(async move { (i, send(rb).await) }));
        }
        let mut winners = Vec::new();
        for h in handles {
            let (i, r) = h.await.unwrap();
            match r.status {
                200 => winners.push(i),
                409 => assert_eq!(r.json["current_version"], 3, "[{e}] loser {i}: {}", r.text()),
                other => panic!("[{e}] concurrent writer {i}: unexpected {other} {}", r.text()),
            }
        }
        assert_eq!(winners.len(), 1, "[{e}] exactly one concurrent writer must win: {winners:?}");
        let now = api.get_json(&path).await;
        assert_eq!(now["version"], 3, "[{e}]");
        assert_eq!(now["name"], format!("并发写入{}有限公司", winners[0]), "[{e}] the winner's data must be stored");
        assert_eq!(api.get_json(&format!("{path}/versions")).await.as_array().unwrap().len(), 3, "[{e}]");

        // Unknown archive.
        let mut body = after_v2.clone();
        body["version"] = json!(1);
        assert_eq!(send(api.put("/api/v1/archives/987654").json(&body)).await.status, 404, "[{e}]");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Listing: keyset pagination, filters, sorts
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_pages_filters_and_sorts() {
    const N: i64 = 300;
    let mut per_engine: Vec<(String, Vec<(String, i64)>)> = Vec::new();
    for s in common::servers(N as u64).await {
        let e = eng(&s);
        let api = Api::admin(&s).await;
        let mut totals = Vec::new();

        // Default sort (created_desc), 50 per page: every archive exactly once.
        let all = api.walk("", 50).await;
        let all_ids = ids(&all);
        assert_no_duplicates(&all_ids, &format!("[{e}] created_desc"));
        assert_eq!(all.len() as i64, N, "[{e}] walk length");
        assert_eq!(api.total("").await, N, "[{e}] count=true total");
        assert!(all_ids.windows(2).all(|w| w[0] > w[1]), "[{e}] created_desc must be by id descending");
        let first = api.get_json("/api/v1/archives?limit=50&count=true").await;
        assert_eq!(first["total"], N, "[{e}]");
        assert_eq!(first["items"].as_array().unwrap().len(), 50, "[{e}]");
        let no_count = api.get_json("/api/v1/archives?limit=5").await;
        assert!(no_count["total"].is_null(), "[{e}] total only when asked for");

        // created_asc with an odd page size is the exact reverse.
        let asc = api.walk("sort=created_asc", 37).await;
        let mut rev = ids(&asc);
        rev.reverse();
        assert_eq!(rev, all_ids, "[{e}] created_asc is not the reverse of created_desc");

        // Touch a few archives so updated_desc differs from creation order, then walk it.
        // Three archives of normal secrecy (secret ones need an approved grant even to edit).
        let normal: Vec<i64> = asc.iter().filter(|i| i["secrecy"] == "normal").map(|i| i["id"].as_i64().unwrap()).collect();
        let touched: Vec<i64> = vec![normal[normal.len() / 2], normal[7], normal[normal.len() - 1]];
        let t0 = Utc::now();
        // Personal archives are edited by their owners (the general manager may only read them),
        // so each archive is touched by its owner; demo staff share the admin's password.
        let users = api.get_json("/api/v1/users").await;
        for id in &touched {
            let row = asc.iter().find(|i| i["id"].as_i64() == Some(*id)).expect("touched archive in the walk");
            let owner = row["owner_id"].as_i64().expect("owner");
            let username = users.as_array().unwrap().iter().find(|u| u["id"].as_i64() == Some(owner)).expect("owner user")["username"].as_str().unwrap().to_string();
            // Personal archives are managed by their owner, department archives by the department's
            // managers, company archives by the sales director: try them in that order.
            let mut done = None;
            for who in [username.as_str(), "jingli1", "jingli2", "zongjian"] {
                let as_who = Api::with_token(&s, s.token(who, common::ADMIN_PASSWORD).await);
                let r = send(as_who.post(&format!("/api/v1/archives/{id}/contacts")).json(&json!({"name": "排序测试", "mobile": "13700000000"}))).await;
                if r.status == 201 {
                    done = Some(who.to_string());
                    break;
                }
                assert!(r.status == 403 || r.status == 404, "[{e}] touch {id} as {who}: {}", r.text());
            }
            assert!(done.is_some(), "[{e}] no manager could touch archive {id}");
        }
        let upd = api.walk("sort=updated_desc", 23).await;
        let upd_ids = ids(&upd);
        assert_no_duplicates(&upd_ids, &format!("[{e}] updated_desc"));
        assert_eq!(upd_ids.iter().collect::<BTreeSet<_>>(), all_ids.iter().collect::<BTreeSet<_>>(), "[{e}] updated_desc walk is not the same set");
        let keys: Vec<(DateTime<Utc>, i64)> = upd.iter().map(|i| (i["updated_at"].as_str().unwrap().parse().unwrap(), i["id"].as_i64().unwrap())).collect();
        assert!(keys.windows(2).all(|w| w[0] > w[1]), "[{e}] updated_desc order broken");
        // The touched archives come before every untouched one (demo archives dated today may carry
        // a later time of day than now, so they can legitimately precede them) and newest first.
        let pos = |id: i64| upd_ids.iter().position(|x| *x == id).unwrap();
        let touched_pos: Vec<usize> = touched.iter().map(|id| pos(*id)).collect();
        assert!(touched_pos[2] < touched_pos[1] && touched_pos[1] < touched_pos[0], "[{e}] touched archives not newest first: {touched_pos:?}");
        let last_touched = touched_pos[0];
        for (i, (at, id)) in keys.iter().enumerate() {
            if i > last_touched {
                continue;
            }
            assert!(touched.contains(id) || *at > t0, "[{e}] untouched archive {id} (updated {at}) sorts before a touched one");
        }

        // Filters: each filtered walk equals the client-side filter of the full walk, totals agree.
        let pick = |key: &str| -> String {
            all.iter().filter_map(|i| i[key].as_str()).next().unwrap_or_else(|| panic!("[{e}] no {key} in demo data")).to_string()
        };
        let province = pick("province");
        let some_name: Vec<char> = all.iter().filter(|i| i["kind"] == "organization").map(|i| i["name"].as_str().unwrap()).next().expect("an organization").chars().collect();
        let fragment: String = some_name[2..4.min(some_name.len())].iter().collect();
        let status = pick("status");
        let filters: Vec<(String, RowFilter)> = vec![
            ("grade=A".into(), Box::new(|i: &Value| i["grade"] == "A")),
            (format!("status={status}"), Box::new({
                let st = status.clone();
                move |i: &Value| i["status"] == st.as_str()
            })),
            ("status=active".into(), Box::new(|i: &Value| i["status"] == "active")),
            ("kind=person".into(), Box::new(|i: &Value| i["kind"] == "person")),
            ("kind=organization".into(), Box::new(|i: &Value| i["kind"] == "organization")),
            (format!("province={}", urlencode(&province)), Box::new({
                let p = province.clone();
                move |i: &Value| i["province"] == p.as_str()
            })),
            (format!("q={}", urlencode(&fragment)), Box::new({
                let f = fragment.clone();
                move |i: &Value| i["name"].as_str().unwrap().contains(f.as_str())
            })),
            (format!("kind=organization&grade=A&province={}", urlencode(&province)), Box::new({
                let p = province.clone();
                move |i: &Value| i["kind"] == "organization" && i["grade"] == "A" && i["province"] == p.as_str()
            })),
        ];
        for (query, keep) in &filters {
            let expected: Vec<i64> = all.iter().filter(|i| keep(i)).map(|i| i["id"].as_i64().unwrap()).collect();
            assert!(!expected.is_empty() || query.contains('&'), "[{e}] demo data has nothing for {query}; pick another value");
            let got = api.walk(query, 20).await;
            assert!(got.iter().all(keep), "[{e}] {query} returned a non-matching row");
            assert_eq!(ids(&got), expected, "[{e}] {query}: filtered walk differs from the filtered full list");
            let total = api.total(query).await;
            assert_eq!(total, expected.len() as i64, "[{e}] {query}: total");
            totals.push((query.clone(), total));
            // Filter + another sort.
            let got_upd = api.walk(&format!("{query}&sort=updated_desc"), 11).await;
            assert_eq!(ids(&got_upd).iter().collect::<BTreeSet<_>>(), expected.iter().collect::<BTreeSet<_>>(), "[{e}] {query} + updated_desc");
        }
        assert!(filters.iter().any(|(q, _)| q == "grade=A"), "sanity");

        // Garbage cursors, sorts and limits.
        for bad in ["cursor=garbage", "cursor=i12abc", "cursor=u123", "cursor=u12.x", "sort=random", "grade=Z", "limit=-1", "kind=alien"] {
            let r = send(api.get(&format!("/api/v1/archives?{bad}"))).await;
            assert_eq!(r.status, 400, "[{e}] {bad}: {} {}", r.status, r.text());
            if bad.starts_with("cursor") || bad.starts_with("sort") {
                assert!(r.is_problem() && r.problem_type().ends_with("/bad-request"), "[{e}] {bad}: {}", r.text());
            }
        }
        // Out-of-range limits are clamped.
        let r = api.get_json("/api/v1/archives?limit=0").await;
        assert_eq!(r["items"].as_array().unwrap().len(), 1, "[{e}] limit=0 is clamped to 1");
        let r = api.get_json("/api/v1/archives?limit=100000").await;
        assert_eq!(r["items"].as_array().unwrap().len(), 200, "[{e}] limit is clamped to 200");

        per_engine.push((e, totals));
    }
    // Same demo data, same answers on both engines.
    if per_engine.len() == 2 {
        assert_eq!(per_engine[0].1, per_engine[1].1, "filter totals differ between engines");
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Contacts and timeline
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contacts_and_timeline_corrections() {
    for s in common::servers(0).await {
        let e = eng(&s);
        let api = Api::admin(&s).await;
        let a = api.create_archive(&org_archive("莆田往来测试有限公司")).await;
        let id = a["id"].as_i64().unwrap();

        // Contacts.
        let contact = json!({"name": "王经理", "title": "采购经理", "mobile": "139 0000 1111", "email": "wang@example.com", "is_primary": true});
        let r = send(api.post(&format!("/api/v1/archives/{id}/contacts")).json(&contact)).await;
        assert_eq!(r.status, 201, "[{e}] add contact: {}", r.text());
        let c1 = r.json.clone();
        assert_eq!(c1["archive_id"], id, "[{e}]");
        assert_eq!(c1["mobile"], "139****1111", "[{e}] contact phones are shown masked");
        let clear = api.get_json(&format!("/api/v1/archives/{id}/contacts?unmasked=true")).await;
        assert_eq!(clear[0]["mobile"], "13900001111", "[{e}] mobile normalized as stored");
        assert_eq!(clear[0]["email"], "wang@example.com", "[{e}]");
        let r = send(api.post(&format!("/api/v1/archives/{id}/contacts")).json(&json!({"name": "李会计", "mobile": "1390000"}))).await;
        assert_eq!(r.status, 422, "[{e}] bad contact mobile: {}", r.text());
        assert!(r.is_problem(), "[{e}]");
        let fields: Vec<&str> = r.json["errors"].as_array().unwrap().iter().map(|x| x["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["mobile"], "[{e}]");
        let r = send(api.post(&format!("/api/v1/archives/{id}/contacts")).json(&json!({"name": "  "}))).await;
        assert_eq!(r.status, 422, "[{e}] blank contact name");
        let contacts = api.get_json(&format!("/api/v1/archives/{id}/contacts")).await;
        assert_eq!(contacts.as_array().unwrap().len(), 1, "[{e}] refused contacts were stored: {contacts}");
        assert_eq!(contacts[0], c1, "[{e}]");
        // Change the contact.
        let cid = c1["id"].as_i64().unwrap();
        let mut changed = contact.clone();
        changed["title"] = json!("采购总监");
        let r = send(api.put(&format!("/api/v1/archives/{id}/contacts/{cid}")).json(&changed)).await;
        assert_eq!(r.status, 200, "[{e}] update contact: {}", r.text());
        assert_eq!(api.get_json(&format!("/api/v1/archives/{id}/contacts")).await[0]["title"], "采购总监", "[{e}]");
        let r = send(api.put(&format!("/api/v1/archives/{id}/contacts/{cid}")).json(&json!({"name": "王经理", "email": "nope"}))).await;
        assert_eq!(r.status, 422, "[{e}] invalid contact update");

        // Timeline: an entry and its correction.
        let entry = json!({"kind": "visit", "occurred_on": "2025-03-14", "summary": "拜访采购部，洽谈年度框架协议",
            "details": {"counterpart": "王经理", "next_action": "发送报价", "next_action_on": "2025-03-20"}});
        let r = send(api.post(&format!("/api/v1/archives/{id}/entries")).json(&entry)).await;
        assert_eq!(r.status, 201, "[{e}] add entry: {}", r.text());
        let old = r.json.clone();
        let old_id = old["id"].as_i64().unwrap();
        assert!(old["superseded_by"].is_null(), "[{e}]");

        let no_reason = json!({"kind": "visit", "occurred_on": "2025-03-15", "summary": "更正日期", "supersedes": old_id});
        let r = send(api.post(&format!("/api/v1/archives/{id}/entries")).json(&no_reason)).await;
        assert_eq!(r.status, 422, "[{e}] correction without reason: {}", r.text());
        let fields: Vec<&str> = r.json["errors"].as_array().unwrap().iter().map(|x| x["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["correction_reason"], "[{e}]");
        let mut blank_reason = no_reason.clone();
        blank_reason["correction_reason"] = json!("   ");
        assert_eq!(send(api.post(&format!("/api/v1/archives/{id}/entries")).json(&blank_reason)).await.status, 422, "[{e}] blank reason");

        let correction = json!({"kind": "visit", "occurred_on": "2025-03-15", "summary": "拜访采购部，洽谈年度框架协议（日期更正）",
            "supersedes": old_id, "correction_reason": "日期录入错误"});
        let r = send(api.post(&format!("/api/v1/archives/{id}/entries")).json(&correction)).await;
        assert_eq!(r.status, 201, "[{e}] correction: {}", r.text());
        let new = r.json.clone();
        let new_id = new["id"].as_i64().unwrap();
        assert_eq!(new["supersedes"], old_id, "[{e}]");
        assert_eq!(new["correction_reason"], "日期录入错误", "[{e}]");

        let entries = api.get_json(&format!("/api/v1/archives/{id}/entries")).await;
        let entries = entries.as_array().unwrap();
        assert_eq!(entries.len(), 2, "[{e}] both entries stay visible: {entries:?}");
        let got_old = entries.iter().find(|x| x["id"] == old_id).expect("old entry");
        let got_new = entries.iter().find(|x| x["id"] == new_id).expect("new entry");
        assert_eq!(got_old["superseded_by"], new_id, "[{e}]");
        assert_eq!(got_old["summary"], old["summary"], "[{e}] the original must not change");
        assert_eq!(got_old["occurred_on"], "2025-03-14", "[{e}]");
        assert!(got_new["superseded_by"].is_null(), "[{e}]");
        let mut expected_old = old.clone();
        expected_old["superseded_by"] = json!(new_id);
        assert_eq!(got_old, &expected_old, "[{e}] GET old entry differs from what POST returned");
        assert_eq!(got_new, &new, "[{e}] GET new entry differs from what POST returned");

        // A correction must name an entry of the same archive.
        let other = api.create_archive(&org_archive("宁德另一家有限公司")).await;
        let other_id = other["id"].as_i64().unwrap();
        let r = send(api.post(&format!("/api/v1/archives/{other_id}/entries")).json(&correction)).await;
        assert_eq!(r.status, 404, "[{e}] correcting another archive's entry: {}", r.text());
        assert_eq!(api.get_json(&format!("/api/v1/archives/{other_id}/entries")).await.as_array().unwrap().len(), 0, "[{e}]");
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Attachments
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_typed_by_content_and_stored_once() {
    for s in common::servers(0).await {
        let e = eng(&s);
        let api = Api::admin(&s).await;
        let a = api.create_archive(&org_archive("漳州附件测试有限公司")).await;
        let id = a["id"].as_i64().unwrap();
        let sha = sha256_hex(PNG_1X1);
        let stored = s.data_dir.join("attachments").join(&sha[..2]).join(&sha);

        // The client's name and type are not trusted: a PNG sent as "scan.pdf" octet-stream is a PNG.
        let r = upload(&api, id, "营业执照扫描件.png", "application/octet-stream", PNG_1X1).await;
        assert_eq!(r.status, 201, "[{e}] upload: {}", r.text());
        let att = r.json.clone();
        assert_eq!(att["sha256"], sha.as_str(), "[{e}] sha256");
        assert_eq!(att["content_type"], "image/png", "[{e}]");
        assert_eq!(att["size"], PNG_1X1.len(), "[{e}]");
        assert_eq!(att["archive_id"], id, "[{e}]");
        assert_eq!(att["filename"], "营业执照扫描件.png", "[{e}]");
        assert!(stored.is_file(), "[{e}] not stored at {}", stored.display());
        assert_eq!(std::fs::read(&stored).unwrap(), PNG_1X1, "[{e}] stored bytes differ");

        let att_id = att["id"].as_i64().unwrap();
        let r = send(api.get(&format!("/api/v1/attachments/{att_id}/content"))).await;
        assert_eq!(r.status, 200, "[{e}] download");
        assert_eq!(r.bytes, PNG_1X1, "[{e}] downloaded bytes differ");
        assert_eq!(r.content_type(), "image/png", "[{e}]");
        let disposition = r.headers.get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(disposition.starts_with("attachment"), "[{e}] disposition {disposition}");
        assert_eq!(r.headers.get("x-content-type-options").and_then(|v| v.to_str().ok()), Some("nosniff"), "[{e}]");

        // Same content again (different name): a second record, one file.
        let r = upload(&api, id, "copy.png", "image/png", PNG_1X1).await;
        assert_eq!(r.status, 201, "[{e}] second upload: {}", r.text());
        assert_eq!(r.json["sha256"], sha.as_str(), "[{e}]");
        assert_ne!(r.json["id"], att["id"], "[{e}]");
        let files = files_under(&s.data_dir.join("attachments"));
        assert_eq!(files, vec![stored.clone()], "[{e}] same content must be stored once, no temporary files left");
        let list = api.get_json(&format!("/api/v1/archives/{id}/attachments")).await;
        assert_eq!(list.as_array().unwrap().len(), 2, "[{e}]");

        // Not an accepted type: refused with 415, nothing stored.
        let cases: &[(&str, &[u8])] = &[
            ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"),
            ("readme.txt", "就是一段纯文本 plain text".as_bytes()),
            ("fake.png", b"<html><script>alert(1)</script></html>"),
        ];
        for (name, bytes) in cases {
            let r = upload(&api, id, name, "image/png", bytes).await;
            assert_eq!(r.status, 415, "[{e}] {name}: {}", r.text());
            assert!(r.is_problem() && r.problem_type().ends_with("/unsupported-type"), "[{e}] {name}: {}", r.text());
        }
        assert_eq!(files_under(&s.data_dir.join("attachments")).len(), 1, "[{e}] a refused upload left a file");
        assert_eq!(api.get_json(&format!("/api/v1/archives/{id}/attachments")).await.as_array().unwrap().len(), 2, "[{e}]");

        // Multipart without a `file` field, an empty file, an unknown archive.
        let (ct, body) = multipart("document", "x.png", "image/png", PNG_1X1);
        let r = send(api.post(&format!("/api/v1/archives/{id}/attachments")).header(CONTENT_TYPE, ct).body(body)).await;
        assert_eq!(r.status, 400, "[{e}] missing file field: {}", r.text());
        let r = upload(&api, id, "empty.png", "image/png", b"").await;
        assert_eq!(r.status, 400, "[{e}] empty file: {}", r.text());
        let r = upload(&api, 424242, "x.png", "image/png", PNG_1X1).await;
        assert_eq!(r.status, 404, "[{e}] unknown archive: {}", r.text());
        assert_eq!(send(api.get("/api/v1/attachments/424242/content")).await.status, 404, "[{e}]");
    }
}

// ---------------------------------------------------------------------------------------------
// 8. Users and departments
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_manages_users_and_departments() {
    for s in common::servers(0).await {
        let e = eng(&s);
        let admin = Api::admin(&s).await;

        let r = send(admin.post("/api/v1/departments").json(&json!({"name": "华东销售部", "code": "HD"}))).await;
        assert_eq!(r.status, 201, "[{e}] create department: {}", r.text());
        let dept = r.json.clone();
        let dept_id = dept["id"].as_i64().unwrap();
        assert_eq!(dept["code"], "HD", "[{e}]");
        let r = send(admin.post("/api/v1/departments").json(&json!({"name": "华东一组", "code": "HD1", "parent_id": dept_id}))).await;
        assert_eq!(r.status, 201, "[{e}] child department: {}", r.text());
        assert_eq!(r.json["parent_id"], dept_id, "[{e}]");
        let r = send(admin.post("/api/v1/departments").json(&json!({"name": "重复", "code": "HD"}))).await;
        assert_eq!(r.status, 409, "[{e}] duplicate department code: {}", r.text());
        let depts = admin.get_json("/api/v1/departments").await;
        assert!(depts.as_array().unwrap().iter().any(|d| d["id"] == dept_id && d["name"] == "华东销售部"), "[{e}] {depts}");

        let new_user = json!({"username": "xiaoshou_hd", "display_name": "钱多多", "password": "sales-pass-123", "dept_id": dept_id, "roles": ["salesperson"]});
        let r = send(admin.post("/api/v1/users").json(&new_user)).await;
        assert_eq!(r.status, 201, "[{e}] create user: {}", r.text());
        let user = r.json.clone();
        assert_eq!(user["username"], "xiaoshou_hd", "[{e}]");
        assert_eq!(user["display_name"], "钱多多", "[{e}]");
        assert_eq!(user["roles"], json!(["salesperson"]), "[{e}]");
        assert_eq!(user["dept_id"], dept_id, "[{e}]");
        assert_eq!(user["active"], true, "[{e}]");
        assert!(user.get("password").is_none() && user.get("password_hash").is_none(), "[{e}] password leaked: {user}");
        let users = admin.get_json("/api/v1/users").await;
        assert!(users.as_array().unwrap().iter().any(|u| u["username"] == "xiaoshou_hd"), "[{e}]");
        assert!(!users.to_string().contains("argon2"), "[{e}] a password hash leaked in the user list");

        let r = send(admin.post("/api/v1/users").json(&new_user)).await;
        assert_eq!(r.status, 409, "[{e}] duplicate username: {}", r.text());
        let r = send(admin.post("/api/v1/users").json(&json!({"username": "weak", "password": "short", "roles": ["salesperson"]}))).await;
        assert_eq!(r.status, 400, "[{e}] weak password: {}", r.text());
        let r = send(admin.post("/api/v1/users").json(&json!({"username": "has space", "password": "long-enough-1"}))).await;
        assert_eq!(r.status, 400, "[{e}] username with a space: {}", r.text());
        // References to departments that do not exist: a client error (not "already exists", not 500).
        let r = send(admin.post("/api/v1/users").json(&json!({"username": "orphan", "password": "orphan-pass-1", "dept_id": 987654, "roles": ["salesperson"]}))).await;
        assert!(r.status == 400 || r.status == 422, "[{e}] user in a missing department: {} {}", r.status, r.text());
        assert!(r.is_problem(), "[{e}]");
        let r = send(admin.post("/api/v1/departments").json(&json!({"name": "孤儿部门", "code": "GE", "parent_id": 987654}))).await;
        assert!(r.status == 400 || r.status == 422, "[{e}] department under a missing parent: {} {}", r.status, r.text());
        assert!(r.is_problem(), "[{e}]");
        assert!(!admin.get_json("/api/v1/users").await.as_array().unwrap().iter().any(|u| u["username"] == "orphan"), "[{e}] orphan user was created");
        assert!(!admin.get_json("/api/v1/departments").await.as_array().unwrap().iter().any(|d| d["code"] == "GE"), "[{e}] orphan department was created");

        // The new user logs in and works in their department.
        let token = s.token("xiaoshou_hd", "sales-pass-123").await;
        let sales = Api::with_token(&s, token);
        let me = sales.get_json("/api/v1/me").await;
        assert_eq!(me["id"], user["id"], "[{e}]");
        let a = sales.create_archive(&org_archive("温州业务员客户有限公司")).await;
        assert_eq!(a["owner_id"], user["id"], "[{e}]");
        assert_eq!(a["dept_id"], dept_id, "[{e}]");
        assert_eq!(a["created_by"], user["id"], "[{e}]");

        // …but is not an administrator.
        let r = send(sales.post("/api/v1/users").json(&json!({"username": "sneaky", "password": "sneaky-pass-1", "roles": ["system_admin"]}))).await;
        assert_eq!(r.status, 403, "[{e}] salesperson creating a user: {}", r.text());
        assert!(r.is_problem() && r.problem_type().ends_with("/forbidden"), "[{e}] {}", r.text());
        let r = send(sales.post("/api/v1/departments").json(&json!({"name": "私设部门", "code": "XX"}))).await;
        assert_eq!(r.status, 403, "[{e}] salesperson creating a department: {}", r.text());
        let users = admin.get_json("/api/v1/users").await;
        assert!(!users.as_array().unwrap().iter().any(|u| u["username"] == "sneaky"), "[{e}] the refused user exists");
        let r = send(Client::new().post(s.url("/api/v1/auth/login")).json(&json!({"username": "sneaky", "password": "sneaky-pass-1"}))).await;
        assert_eq!(r.status, 401, "[{e}]");
        assert!(!admin.get_json("/api/v1/departments").await.as_array().unwrap().iter().any(|d| d["code"] == "XX"), "[{e}]");
    }
}
