mod common;

// Search (issue 5) end to end through HTTP, on SQLite and (where reachable, required in CI)
// PostgreSQL: `GET /api/v1/search`, `GET /api/v1/search/suggest` and the `/search` page, with
// the demo company's staff (xiaoshou1/xiaoshou2 业务员 in 销售一部, xiaoshou3 in 销售二部,
// zongjingli 总经理; admin is 系统管理员 + 总经理).

use common::{send, Resp, TestServer};
use dangan_core::validate::{resident_id_check_char, uscc_check_char};
use reqwest::Client;
use serde_json::{json, Value};

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

struct Session<'a> {
    s: &'a TestServer,
    token: String,
    c: Client,
}

impl<'a> Session<'a> {
    async fn new(s: &'a TestServer, who: &str) -> Session<'a> {
        Session { s, token: s.token(who, common::ADMIN_PASSWORD).await, c: Client::new() }
    }
    async fn get(&self, path: &str) -> Resp {
        send(self.c.get(self.s.url(path)).bearer_auth(&self.token)).await
    }
    async fn create(&self, body: Value) -> Value {
        let r = send(self.c.post(self.s.url("/api/v1/archives")).bearer_auth(&self.token).json(&body)).await;
        assert_eq!(r.status, 201, "[{:?}] create {body}: {}", self.s.engine, r.text());
        r.json
    }
    async fn add_contact(&self, id: i64, body: Value) {
        let r = send(self.c.post(self.s.url(&format!("/api/v1/archives/{id}/contacts"))).bearer_auth(&self.token).json(&body)).await;
        assert_eq!(r.status, 201, "[{:?}] contact: {}", self.s.engine, r.text());
    }
    /// The search page as JSON (asserting 200).
    async fn search(&self, query: &str) -> Value {
        let r = self.get(&format!("/api/v1/search?{query}")).await;
        assert_eq!(r.status, 200, "[{:?}] search {query}: {}", self.s.engine, r.text());
        r.json
    }
    /// Names found for `q` (in result order).
    async fn names(&self, q: &str) -> Vec<String> {
        let v = self.search(&format!("q={}&limit=100", enc(q))).await;
        v["items"].as_array().expect("items").iter().map(|i| i["name"].as_str().unwrap_or("").to_string()).collect()
    }
}

/// A valid unified social credit code / resident ID number ending in the right check character.
fn uscc(first17: &str) -> String {
    format!("{first17}{}", uscc_check_char(first17))
}
fn resident_id(first17: &str) -> String {
    format!("{first17}{}", resident_id_check_char(first17))
}

async fn world() -> Vec<TestServer> {
    let servers = common::servers(0).await;
    for s in &servers {
        s.app.ensure_demo_company(Some(common::ADMIN_PASSWORD)).await.expect("demo company");
    }
    servers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn finds_by_names_pinyin_scripts_phones_numbers_and_codes() {
    for s in world().await {
        let e = s.engine;
        let admin = Session::new(&s, "admin").await;
        let code = uscc("91330106MA2H0XXX1");
        let id_no = resident_id("11010519491231002");
        let zw = admin.create(json!({"kind": "person", "name": "张伟", "mobile": "13812345678", "person": {"id_number": id_no}, "tier": "company"})).await;
        let hx = admin.create(json!({"kind": "organization", "name": "杭州华星建材有限公司", "organization": {"uscc": code}})).await;
        admin.create(json!({"kind": "person", "name": "陳建國", "landline": "0571-88886666", "tier": "company"})).await;
        admin.create(json!({"kind": "organization", "name": "ABC贸易有限公司", "tier": "company"})).await;
        admin.create(json!({"kind": "person", "name": "曾华", "tier": "company"})).await;
        admin.add_contact(hx["id"].as_i64().unwrap(), json!({"name": "王芳", "mobile": "13998887777"})).await;

        for (q, want) in [
            ("张伟", "张伟"),
            ("華星建材", "杭州华星建材有限公司"),
            ("华星建材", "杭州华星建材有限公司"),
            ("王芳", "杭州华星建材有限公司"),
            ("zw", "张伟"),
            ("zhangwei", "张伟"),
            ("张wei", "张伟"),
            ("hxjc", "杭州华星建材有限公司"),
            ("陈建国", "陳建國"),
            ("ＡＢＣ", "ABC贸易有限公司"),
            ("1381", "张伟"),
            ("5678", "张伟"),
            ("8887", "杭州华星建材有限公司"),
            ("8888", "陳建國"),
            ("zenghua", "曾华"),
            ("cenghua", "曾华"),
        ] {
            let got = admin.names(q).await;
            assert_eq!(got, vec![want.to_string()], "[{e:?}] {q}");
        }
        // Archive number (prefix), credit code and ID number (exact, through the keyed hash).
        let no = zw["archive_no"].as_str().unwrap();
        assert_eq!(admin.names(no).await, vec!["张伟".to_string()], "[{e:?}] archive number");
        assert_eq!(admin.names(&no.to_lowercase()).await, vec!["张伟".to_string()], "[{e:?}] archive number, any case");
        assert_eq!(admin.names(&no[..7]).await.len(), 5, "[{e:?}] archive number prefix {}", &no[..7]);
        assert_eq!(admin.names(&code).await, vec!["杭州华星建材有限公司".to_string()], "[{e:?}] USCC");
        assert_eq!(admin.names(&id_no).await, vec!["张伟".to_string()], "[{e:?}] ID number");
        assert!(admin.names(&resident_id("11010519491231003")).await.is_empty(), "[{e:?}] another ID number finds nothing");
        // Highlights, match class, masked phone.
        let v = admin.search(&format!("q={}", enc("华星建材"))).await;
        assert_eq!(v["items"][0]["highlights"], json!([[2, 6]]), "[{e:?}] {v}");
        assert_eq!(v["items"][0]["match_class"], "fragment");
        let v = admin.search("q=zw").await;
        assert_eq!(v["items"][0]["match_class"], "exact");
        assert_eq!(v["items"][0]["highlights"], json!([[0, 2]]));
        assert_eq!(v["items"][0]["mobile"], "138****5678", "[{e:?}] phones are masked in results");
        // Suggestions.
        let r = admin.get(&format!("/api/v1/search/suggest?q={}", enc("华星"))).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["items"][0]["name"], "杭州华星建材有限公司");
        let r = admin.get("/api/v1/search/suggest?q=").await;
        assert_eq!(r.json["items"], json!([]));
        // The results page: the top bar's box submits here; matches are marked.
        let r = admin.get(&format!("/search?q={}", enc("华星建材"))).await;
        assert_eq!(r.status, 200);
        let html = r.text();
        assert!(html.contains("<mark>华星建材</mark>"), "[{e:?}] {html}");
        assert!(html.contains("action=\"/search\""), "the top bar search box submits to /search");
        // The OpenAPI document lists the endpoints.
        let doc = admin.get("/api/openapi.json").await;
        assert!(doc.json["paths"]["/api/v1/search"].is_object() && doc.json["paths"]["/api/v1/search/suggest"].is_object());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ranking_pages_counts_and_filters() {
    for s in world().await {
        let e = s.engine;
        let admin = Session::new(&s, "admin").await;
        for (name, grade, province, tags) in [
            ("张伟", "A", "浙江省", json!(["重点"])),
            ("李张伟", "B", "江苏省", json!([])),
            ("张伟国", "A", "江苏省", json!(["重点", "经销商"])),
            ("张伟", "B", "浙江省", json!([])),
            ("王芳", "A", "浙江省", json!([])),
        ] {
            admin.create(json!({"kind": "person", "name": name, "tier": "company", "classification": {"grade": grade, "province": province, "tags": tags}})).await;
        }
        let v = admin.search(&format!("q={}&count=true", enc("张伟"))).await;
        let got: Vec<(String, String)> = v["items"].as_array().unwrap().iter().map(|i| (i["name"].as_str().unwrap().into(), i["match_class"].as_str().unwrap().into())).collect();
        let want: Vec<(String, String)> =
            [("张伟", "exact"), ("张伟", "exact"), ("张伟国", "prefix"), ("李张伟", "fragment")].iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, want, "[{e:?}] exact > prefix > fragment");
        assert_eq!(v["total"], 4);
        assert_eq!(v["total_capped"], false);
        // The most recently created 张伟 (grade B) comes first among the exact matches.
        assert_eq!(v["items"][0]["grade"], "B", "[{e:?}] recent activity first within a class");
        // Keyset pages of one: the same four, in the same order, then no cursor.
        let mut paged = Vec::new();
        let mut cursor = String::new();
        loop {
            let v = admin.search(&format!("q={}&limit=1&cursor={}", enc("张伟"), enc(&cursor))).await;
            paged.extend(v["items"].as_array().unwrap().iter().map(|i| (i["name"].as_str().unwrap().to_string(), i["match_class"].as_str().unwrap().to_string())));
            match v["next_cursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => break,
            }
            assert!(paged.len() <= 4, "[{e:?}] pages never end: {paged:?}");
        }
        assert_eq!(paged, want, "[{e:?}] pages");
        // Filters with text, filters alone, tags, created range.
        assert_eq!(admin.search(&format!("q={}&grade=A&count=true", enc("张伟"))).await["total"], 2);
        assert_eq!(admin.search(&format!("q={}&grade=A&region={}", enc("张伟"), enc("浙江省"))).await["items"].as_array().unwrap().len(), 1);
        let only = admin.search(&format!("grade=A&region={}&count=true", enc("浙江省"))).await;
        assert_eq!(only["total"], 2, "[{e:?}] filters only: {only}");
        assert_eq!(only["items"][0]["name"], "王芳", "newest first");
        assert_eq!(admin.search(&format!("q={}&tags={}&count=true", enc("张"), enc("重点"))).await["total"], 2);
        // A filter value the tokenizer would split (the index holds it hashed), with a second filter.
        let it = "信息传输、软件和信息技术服务业";
        admin.create(json!({"kind": "organization", "name": "张记信息科技有限公司", "tier": "company", "classification": {"industry": it}, "credit": {"grade": "A"}})).await;
        admin.create(json!({"kind": "organization", "name": "张氏软件有限公司", "tier": "company", "classification": {"industry": "制造业"}, "credit": {"grade": "A"}})).await;
        assert_eq!(admin.search(&format!("q={}&industry={}&credit_grade=A&count=true", enc("张"), enc(it))).await["total"], 1, "[{e:?}] text + industry + credit grade");
        assert_eq!(admin.search(&format!("q={}&industry={}&credit_grade=B&count=true", enc("张"), enc(it))).await["total"], 0);
        assert_eq!(admin.search(&format!("q={}&credit_grade=A&blacklisted=false&count=true", enc("张"))).await["total"], 2);
        assert_eq!(admin.search(&format!("tags={},{}&count=true", enc("重点"), enc("经销商"))).await["total"], 1);
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        assert_eq!(admin.search(&format!("q={}&created_from={today}&count=true", enc("张伟"))).await["total"], 4);
        assert_eq!(admin.search(&format!("q={}&created_to=2020-01-01&count=true", enc("张伟"))).await["total"], 0);
        // Bad input is a 400 problem, not a 500.
        assert_eq!(admin.get("/api/v1/search?q=x&cursor=garbage").await.status, 400);
        assert_eq!(admin.get("/api/v1/search?grade=Z").await.status, 400);
        assert_eq!(admin.get("/api/v1/search?created_from=notadate").await.status, 400);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn results_counts_and_suggestions_stay_in_scope() {
    for s in world().await {
        let e = s.engine;
        let mine = Session::new(&s, "xiaoshou1").await;
        let other = Session::new(&s, "xiaoshou3").await;
        let colleague = Session::new(&s, "xiaoshou2").await;
        let admin = Session::new(&s, "admin").await;
        mine.create(json!({"kind": "person", "name": "张敏甲", "mobile": "13611112222"})).await;
        other.create(json!({"kind": "person", "name": "张敏乙", "mobile": "13611113333"})).await;
        colleague.create(json!({"kind": "person", "name": "张敏丙"})).await;
        admin.create(json!({"kind": "person", "name": "张敏丁", "secrecy": "top_secret", "tier": "company"})).await;
        // A salesperson sees their own personal archives only: in results, counts, suggestions.
        let v = mine.search(&format!("q={}&count=true", enc("张敏"))).await;
        let names: Vec<&str> = v["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
        assert_eq!(names, vec!["张敏甲"], "[{e:?}] {v}");
        assert_eq!(v["total"], 1, "[{e:?}] the count holds only what the user may see");
        assert_eq!(mine.names("1361").await, vec!["张敏甲".to_string()], "[{e:?}] phone fragments too");
        assert_eq!(mine.names("zm").await, vec!["张敏甲".to_string()]);
        let sug = mine.get(&format!("/api/v1/search/suggest?q={}", enc("张敏"))).await;
        let sug: Vec<&str> = sug.json["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
        assert_eq!(sug, vec!["张敏甲"], "[{e:?}] suggestions in scope");
        assert_eq!(other.names("张敏").await, vec!["张敏乙".to_string()]);
        let filters_only = mine.search("count=true").await;
        assert_eq!(filters_only["total"], 1, "[{e:?}] filters-only search is scoped too: {filters_only}");
        // The general manager sees the three personal archives; 绝密 content is never searchable.
        let gm = Session::new(&s, "zongjingli").await;
        let mut all = gm.names("张敏").await;
        all.sort();
        assert_eq!(all, vec!["张敏丙".to_string(), "张敏乙".to_string(), "张敏甲".to_string()], "[{e:?}]");
    }
}
