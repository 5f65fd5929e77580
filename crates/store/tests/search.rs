//! The search index on both engines: every behaviour of issue 5's search, at the store level.
//! The index is written by the store's own write paths (create/update archive, add/update
//! contact, bulk load) and queried with the expressions `dangan_core::search` builds, ranked the
//! way `App::search` ranks (exact, prefix, fragment; then most recent change).
//!
//! Like `contract.rs`, each scenario runs on SQLite and on PostgreSQL (`<scenario>::sqlite`,
//! `<scenario>::postgres`); PostgreSQL is required in CI.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use dangan_core::numbering::NumberScheme;
use dangan_core::policy::ListScope;
use dangan_core::search::{facet_term, parse_query, Expr, Facet, MatchClass, ParsedQuery};
use dangan_core::{ArchiveData, ContactData, CustomerKind, Grade, OrganizationInfo, PersonInfo, Secrecy, Tier};
use dangan_store::{ArchiveFilter, BulkArchive, Numbering, SearchMatch, SearchRequest, Store};

macro_rules! scenarios {
    ($($scenario:ident),+ $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("temporary directory");
                let store = dangan_store::sqlite::SqliteStore::open(&dir.path().join("dangan.db")).expect("open SQLite");
                let store: std::sync::Arc<dyn dangan_store::Store> = std::sync::Arc::new(store);
                store.migrate().await.expect("migrate");
                super::$scenario(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = dangan_store::testing::TestDb::create().await else { return };
                let store = dangan_store::open(&db.url, std::path::Path::new("unused.db")).await.expect("connect to the test database");
                store.migrate().await.expect("migrate");
                super::$scenario(store).await;
                drop(db);
            }

            /// PostgreSQL with every text search walking the activity sequence (the form used for
            /// frequent terms; the small databases here otherwise always take the GIN-first form).
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_walk() {
                let Some(db) = dangan_store::testing::TestDb::create().await else { return };
                let store = dangan_store::postgres::PgStore::connect(&db.url).await.expect("connect to the test database").with_gin_first_below(0);
                let store: std::sync::Arc<dyn dangan_store::Store> = std::sync::Arc::new(store);
                store.migrate().await.expect("migrate");
                super::$scenario(store).await;
                drop(db);
            }
        }
    )+};
}

scenarios!(
    names_companies_contacts,
    pinyin_and_polyphonic_surnames,
    scripts_widths_phones,
    ranking_and_recency,
    writes_keep_the_index_current,
    filters_scope_counts_pages,
    exact_codes,
    bulk_load_and_reindex,
    facets_follow_the_filter_columns,
);

fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap() + Duration::seconds(secs)
}

fn numbering() -> Numbering {
    Numbering { scheme: NumberScheme::default(), dept_code: String::new(), date: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap() }
}

fn person(name: &str) -> ArchiveData {
    ArchiveData::new(CustomerKind::Person, name)
}

fn org(name: &str) -> ArchiveData {
    ArchiveData::new(CustomerKind::Organization, name)
}

fn contact(name: &str, mobile: Option<&str>) -> ContactData {
    ContactData { name: name.into(), title: None, mobile: mobile.map(Into::into), landline: None, email: None, wechat: None, birthday: None, preferences: None, is_primary: false }
}

/// Creates archives one second apart (so later ones are more recent); returns their ids.
async fn create(store: &Arc<dyn Store>, items: Vec<ArchiveData>) -> Vec<i64> {
    let mut ids = Vec::new();
    for (i, d) in items.into_iter().enumerate() {
        ids.push(store.create_archive(&d, &numbering(), &ev(1, at(i as i64))).await.expect("create").id);
    }
    ids
}

/// Runs a query the way `App::search` does (every class, best first, whole result), returning
/// (name, class) pairs.
async fn find_in(store: &Arc<dyn Store>, q: &str, filter: ArchiveFilter) -> Vec<(String, MatchClass)> {
    let ParsedQuery::Text(t) = parse_query(q) else { panic!("{q:?} is not a text query: {:?}", parse_query(q)) };
    let mut out = Vec::new();
    for class in [MatchClass::Exact, MatchClass::Prefix, MatchClass::Fragment] {
        let Some(e) = t.tier(class) else { continue };
        let req = SearchRequest { matcher: SearchMatch::Text(store.render_search(&e)), filter: filter.clone(), created_from: None, created_to: None, after: None, limit: 1000 };
        out.extend(store.search(&req).await.unwrap_or_else(|e| panic!("search {q:?} on {:?}: {e}", store.engine())).into_iter().map(|h| (h.summary.name, class)));
    }
    out
}

async fn names(store: &Arc<dyn Store>, q: &str) -> Vec<String> {
    let mut v: Vec<String> = find_in(store, q, ArchiveFilter::default()).await.into_iter().map(|(n, _)| n).collect();
    v.sort();
    v
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

async fn names_companies_contacts(store: Arc<dyn Store>) {
    let ids = create(&store, vec![person("张伟"), person("张伟国"), person("李张伟"), person("张大伟"), org("杭州华星建材有限公司"), org("宁波华星装饰有限公司"), org("杭州云帆科技有限公司")]).await;
    assert_eq!(names(&store, "张伟").await, sorted(&["张伟", "张伟国", "李张伟"]), "2-character name: in any position, not split (张大伟)");
    assert_eq!(names(&store, "华星建材").await, sorted(&["杭州华星建材有限公司"]), "company name fragment");
    assert_eq!(names(&store, "科技有限公司").await, sorted(&["杭州云帆科技有限公司"]));
    assert_eq!(names(&store, "华星").await, sorted(&["杭州华星建材有限公司", "宁波华星装饰有限公司"]));
    assert!(names(&store, "王芳").await.is_empty());
    // A contact's name finds the archive.
    store.add_contact(ids[5], &contact("王芳", Some("13912345678")), &ev(1, at(100))).await.expect("add contact");
    assert_eq!(names(&store, "王芳").await, sorted(&["宁波华星装饰有限公司"]), "contact name");
    assert_eq!(names(&store, "wangfang").await, sorted(&["宁波华星装饰有限公司"]), "contact name in pinyin");
    // The legal representative too.
    let mut d = org("温州大成鞋业有限公司");
    d.organization = Some(OrganizationInfo { legal_representative: Some("欧阳建国".into()), ..Default::default() });
    create(&store, vec![d]).await;
    assert_eq!(names(&store, "欧阳建国").await, sorted(&["温州大成鞋业有限公司"]));
}

async fn pinyin_and_polyphonic_surnames(store: Arc<dyn Store>) {
    create(&store, vec![person("张伟"), person("王芳"), org("杭州华星建材有限公司"), person("曾华"), person("单田芳"), person("解晓东"), person("仇敏"), person("区志强"), person("朴正浩")]).await;
    assert_eq!(names(&store, "zw").await, sorted(&["张伟"]), "initials");
    assert_eq!(names(&store, "hxjc").await, sorted(&["杭州华星建材有限公司"]), "initials of a company fragment");
    assert_eq!(names(&store, "zhangwei").await, sorted(&["张伟"]), "full pinyin");
    assert_eq!(names(&store, "zhangw").await, sorted(&["张伟"]), "full pinyin as it is typed");
    assert_eq!(names(&store, "huaxingjiancai").await, sorted(&["杭州华星建材有限公司"]), "full pinyin of four characters");
    assert_eq!(names(&store, "张wei").await, sorted(&["张伟"]), "characters mixed with pinyin");
    assert_eq!(names(&store, "wf").await, sorted(&["王芳"]));
    for (q, name) in [
        ("zenghua", "曾华"),
        ("cenghua", "曾华"),
        ("zh", "曾华"),
        ("shantianfang", "单田芳"),
        ("dantianfang", "单田芳"),
        ("stf", "单田芳"),
        ("xiexiaodong", "解晓东"),
        ("jiexiaodong", "解晓东"),
        ("qiumin", "仇敏"),
        ("ouzhiqiang", "区志强"),
        ("piaozhenghao", "朴正浩"),
    ] {
        assert!(names(&store, q).await.contains(&name.to_string()), "{q} finds {name} (every reading of a polyphonic surname)");
    }
}

async fn scripts_widths_phones(store: Arc<dyn Store>) {
    let mut a = org("ABC贸易有限公司");
    a.mobile = Some("13812345678".into());
    let mut b = person("陈建国");
    b.landline = Some("0571-88886666".into());
    let ids = create(&store, vec![a, b, person("張偉"), person("刘洋")]).await;
    store.add_contact(ids[3], &contact("赵敏", Some("13698761381")), &ev(1, at(50))).await.unwrap();
    assert_eq!(names(&store, "陳建國").await, sorted(&["陈建国"]), "traditional finds simplified");
    assert_eq!(names(&store, "张伟").await, sorted(&["張偉"]), "simplified finds traditional");
    assert_eq!(names(&store, "ＡＢＣ").await, sorted(&["ABC贸易有限公司"]), "full-width finds half-width");
    assert_eq!(names(&store, "abc").await, sorted(&["ABC贸易有限公司"]), "case does not matter");
    assert_eq!(names(&store, "1381").await, sorted(&["ABC贸易有限公司", "刘洋"]), "phone fragment anywhere, contact phones too");
    assert_eq!(names(&store, "5678").await, sorted(&["ABC贸易有限公司"]));
    assert_eq!(names(&store, "8888").await, sorted(&["陈建国"]), "landline");
    assert_eq!(names(&store, "138 1234 5678").await, sorted(&["ABC贸易有限公司"]), "a whole number typed with spaces");
    assert_eq!(find_in(&store, "13812345678", ArchiveFilter::default()).await, vec![("ABC贸易有限公司".to_string(), MatchClass::Exact)]);
    assert!(names(&store, "9999").await.is_empty());
}

async fn ranking_and_recency(store: Arc<dyn Store>) {
    let ids = create(&store, vec![person("张伟"), person("李张伟"), person("张伟国"), person("张伟")]).await;
    let got = find_in(&store, "张伟", ArchiveFilter::default()).await;
    let classes: Vec<MatchClass> = got.iter().map(|(_, c)| *c).collect();
    assert_eq!(classes, vec![MatchClass::Exact, MatchClass::Exact, MatchClass::Prefix, MatchClass::Fragment], "{got:?}");
    assert_eq!(got[2].0, "张伟国");
    assert_eq!(got[3].0, "李张伟");
    // Within a class, the most recently changed first: the first 张伟 changes now.
    let req = |after| SearchRequest {
        matcher: SearchMatch::Text(store.render_search(&match parse_query("张伟") {
            ParsedQuery::Text(t) => t.tier(MatchClass::Exact).unwrap(),
            _ => unreachable!(),
        })),
        filter: ArchiveFilter::default(),
        created_from: None,
        created_to: None,
        after,
        limit: 10,
    };
    let before: Vec<i64> = store.search(&req(None)).await.unwrap().iter().map(|h| h.summary.id).collect();
    assert_eq!(before, vec![ids[3], ids[0]], "newest first");
    let a = store.get_archive(ids[0]).await.unwrap().unwrap();
    let mut d = a.data.clone();
    d.classification.grade = Some(Grade::A);
    store.update_archive(ids[0], a.version, &d, None, &ev(1, at(1000))).await.unwrap();
    let after: Vec<i64> = store.search(&req(None)).await.unwrap().iter().map(|h| h.summary.id).collect();
    assert_eq!(after, vec![ids[0], ids[3]], "the archive changed last comes first");
}

async fn writes_keep_the_index_current(store: Arc<dyn Store>) {
    let ids = create(&store, vec![org("杭州华星建材有限公司")]).await;
    let a = store.get_archive(ids[0]).await.unwrap().unwrap();
    let mut d = a.data.clone();
    d.name = "杭州星辰建材有限公司".into();
    store.update_archive(ids[0], a.version, &d, None, &ev(1, at(10))).await.unwrap();
    assert!(names(&store, "华星").await.is_empty(), "the old name is gone from the index");
    assert_eq!(names(&store, "星辰").await, sorted(&["杭州星辰建材有限公司"]));
    let c = store.add_contact(ids[0], &contact("刘洋", None), &ev(1, at(20))).await.unwrap();
    assert_eq!(names(&store, "刘洋").await.len(), 1);
    store.update_contact(ids[0], c.id, &contact("孙丽", None), &ev(1, at(30))).await.unwrap();
    assert!(names(&store, "刘洋").await.is_empty(), "a renamed contact is found by the new name only");
    assert_eq!(names(&store, "孙丽").await.len(), 1);
    // A stale update changes nothing, in the index either.
    let stale = store.update_archive(ids[0], 1, &org("别的名字"), None, &ev(1, at(40))).await;
    assert!(stale.is_err());
    assert!(names(&store, "别的").await.is_empty());
    // 绝密 content is not searchable.
    let a = store.get_archive(ids[0]).await.unwrap().unwrap();
    let mut d = a.data.clone();
    d.secrecy = Secrecy::TopSecret;
    store.update_archive(ids[0], a.version, &d, None, &ev(1, at(50))).await.unwrap();
    assert!(names(&store, "星辰").await.is_empty(), "绝密 archives are not found by their content");
}

async fn filters_scope_counts_pages(store: Arc<dyn Store>) {
    // Seven 张 archives: owner 10 (personal tier) ×4, owner 20 ×3; grades alternate.
    let mut items = Vec::new();
    for i in 0..7 {
        let mut d = person(&format!("张{}", ["伟", "磊", "敏", "静", "丽", "强", "洋"][i]));
        d.owner_id = Some(if i < 4 { 10 } else { 20 });
        d.dept_id = Some(1);
        d.tier = Tier::Personal;
        d.classification.grade = Some(if i % 2 == 0 { Grade::A } else { Grade::B });
        d.classification.province = Some(if i < 2 { "浙江省".into() } else { "江苏省".into() });
        items.push(d);
    }
    create(&store, items).await;
    let all = find_in(&store, "张", ArchiveFilter::default()).await;
    assert_eq!(all.len(), 7);
    let grade_a = find_in(&store, "张", ArchiveFilter { grade: Some(Grade::A), ..Default::default() }).await;
    assert_eq!(grade_a.len(), 4, "filter with text");
    let zj = find_in(&store, "张", ArchiveFilter { grade: Some(Grade::A), province: Some("浙江省".into()), ..Default::default() }).await;
    assert_eq!(zj.len(), 1);
    // A salesperson's scope: their own personal archives only — in results and in counts.
    let own = ListScope { owner: Some(10), ..ListScope::nothing() };
    let scoped = ArchiveFilter { scope: Some(own.clone()), ..Default::default() };
    assert_eq!(find_in(&store, "张", scoped.clone()).await.len(), 4);
    let ParsedQuery::Text(t) = parse_query("张") else { unreachable!() };
    let matcher = SearchMatch::Text(store.render_search(&t.fragment));
    let req = SearchRequest { matcher: matcher.clone(), filter: scoped.clone(), created_from: None, created_to: None, after: None, limit: 2 };
    assert_eq!(store.count_search(&req, 1000).await.unwrap(), 4, "count within the scope");
    assert_eq!(store.count_search(&SearchRequest { filter: ArchiveFilter::default(), ..req.clone() }, 1000).await.unwrap(), 7);
    assert_eq!(store.count_search(&SearchRequest { filter: ArchiveFilter::default(), ..req.clone() }, 5).await.unwrap(), 5, "capped count");
    assert_eq!(store.count_search(&SearchRequest { filter: ArchiveFilter { scope: Some(ListScope::nothing()), ..Default::default() }, ..req.clone() }, 1000).await.unwrap(), 0);
    // Keyset pages of 2 within the scope: every row once, in order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.search(&SearchRequest { after, ..req.clone() }).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        assert!(page.iter().all(|h| h.summary.owner_id == Some(10)), "never another's personal archive");
        seen.extend(page.iter().map(|h| h.key));
        after = page.last().map(|h| h.key);
    }
    assert_eq!(seen.len(), 4);
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "descending keys, no repeats: {seen:?}");
    // Created range.
    let ranged = store.search(&SearchRequest { created_from: Some(at(2)), created_to: Some(at(4)), filter: ArchiveFilter::default(), limit: 100, ..req.clone() }).await.unwrap();
    assert_eq!(ranged.len(), 2);
    // Filters only (no text), newest first.
    let only = store.search(&SearchRequest { matcher: SearchMatch::All, filter: ArchiveFilter { grade: Some(Grade::B), ..Default::default() }, limit: 100, ..req.clone() }).await.unwrap();
    assert_eq!(only.len(), 3);
    // Filters only, in a scope of two parts (owner 10's personal archives, or owner 20's through
    // the department's personal tier — merged part by part): pages of 2, newest first, each once.
    let two = ListScope { owner: Some(10), personal_tier_depts: vec![1], granted: vec![1], ..ListScope::nothing() };
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .search(&SearchRequest { matcher: SearchMatch::All, filter: ArchiveFilter { grade: Some(Grade::A), scope: Some(two.clone()), ..Default::default() }, limit: 2, after, ..req.clone() })
            .await
            .unwrap();
        assert!(page.len() <= 2);
        seen.extend(page.iter().map(|h| (h.key, h.summary.grade)));
        if page.len() < 2 {
            break;
        }
        after = page.last().map(|h| h.key);
    }
    assert_eq!(seen.len(), 4, "the four grade-A archives, each once: {seen:?}");
    assert!(seen.iter().all(|(_, g)| *g == Some(Grade::A)));
    assert!(seen.windows(2).all(|w| w[0].0 > w[1].0), "descending keys, no repeats: {seen:?}");
}

async fn exact_codes(store: Arc<dyn Store>) {
    let mut a = org("杭州华星建材有限公司");
    a.organization = Some(OrganizationInfo { uscc: Some("91330106MA2H0XXX1K".into()), ..Default::default() });
    let mut b = person("张伟");
    b.person = Some(PersonInfo { id_number: Some("enc:v1:opaque".into()), id_number_index: Some("abc123hash".into()), ..Default::default() });
    create(&store, vec![a, b]).await;
    let req = |m| SearchRequest { matcher: m, filter: ArchiveFilter::default(), created_from: None, created_to: None, after: None, limit: 10 };
    let hits = store.search(&req(SearchMatch::Uscc("91330106MA2H0XXX1K".into()))).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].summary.name, "杭州华星建材有限公司");
    assert!(store.search(&req(SearchMatch::Uscc("91330106MA2H0XXX2K".into()))).await.unwrap().is_empty());
    let hits = store.search(&req(SearchMatch::IdHash("abc123hash".into()))).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].summary.name, "张伟");
    // Archive numbers go through the number filter.
    let all = store.search(&SearchRequest { filter: ArchiveFilter { number_prefix: Some("KH-2026-00000".into()), ..Default::default() }, ..req(SearchMatch::All) }).await.unwrap();
    assert_eq!(all.len(), 2);
    let own = ArchiveFilter { scope: Some(ListScope { owner: Some(1), ..ListScope::nothing() }), ..Default::default() };
    let by_no = store.search(&SearchRequest { filter: own, ..req(SearchMatch::NumberPrefix("KH-2026-000002".into())) }).await.unwrap();
    assert!(by_no.is_empty(), "number search keeps to the scope (these are not personal archives of user 1)");
    let by_no = store.search(&req(SearchMatch::NumberPrefix("KH-2026-000002".into()))).await.unwrap();
    assert_eq!(by_no.len(), 1);
    assert_eq!(by_no[0].summary.name, "张伟");
    // Broad prefix: number order, paged by the id of the last row.
    let first = store.search(&SearchRequest { limit: 1, ..req(SearchMatch::NumberPrefix("KH-".into())) }).await.unwrap();
    assert_eq!(first[0].summary.archive_no, "KH-2026-000002");
    let next = store.search(&SearchRequest { limit: 1, after: Some(first[0].key), ..req(SearchMatch::NumberPrefix("KH-".into())) }).await.unwrap();
    assert_eq!(next[0].summary.archive_no, "KH-2026-000001");
}

async fn bulk_load_and_reindex(store: Arc<dyn Store>) {
    let scheme = NumberScheme::default();
    let batch: Vec<BulkArchive> = (0..50)
        .map(|i| {
            let mut d = if i % 2 == 0 { person(&format!("陈{}", ["建国", "秀英"][i % 2 / 1])) } else { org("温州华星鞋业有限公司") };
            d.mobile = Some(format!("1390000{:04}", i));
            BulkArchive::new(d, at(i as i64), vec![contact("李娜", None)], vec![]).unwrap()
        })
        .collect();
    store.begin_bulk_load().await.unwrap();
    store.bulk_load(batch, &scheme, "", &ev(1, at(0))).await.unwrap();
    store.end_bulk_load().await.unwrap();
    assert_eq!(names(&store, "陈建国").await.len(), 25, "bulk-loaded archives are indexed");
    assert_eq!(names(&store, "李娜").await.len(), 50);
    assert_eq!(names(&store, "0007").await.len(), 1);
    let before = store.search_index_bytes().await.unwrap();
    assert!(before > 0);
    assert_eq!(store.reindex().await.unwrap(), 50);
    assert_eq!(names(&store, "陈建国").await.len(), 25, "same results after a rebuild");
    assert_eq!(names(&store, "hxxy").await.len(), 25);
}

/// The archives one filter value selects, twice: by the SQL column (`SearchMatch::All` with the
/// filter) and by the index's facet term alone. `App::search` adds the facet to text queries with
/// filters and relies on the index never missing an archive the column selects.
async fn facet_pairs(store: &Arc<dyn Store>, filter: ArchiveFilter, expr: Expr) -> (Vec<i64>, Vec<i64>) {
    let req = |matcher, filter| SearchRequest { matcher, filter, created_from: None, created_to: None, after: None, limit: 1000 };
    let ids = |hits: Vec<dangan_store::SearchHit>| {
        let mut v: Vec<i64> = hits.into_iter().map(|h| h.summary.id).collect();
        v.sort();
        v
    };
    let by_column = ids(store.search(&req(SearchMatch::All, filter)).await.expect("search by column"));
    let by_facet = ids(store.search(&req(SearchMatch::Text(store.render_search(&expr)), ArchiveFilter::default())).await.expect("search by facet"));
    (by_column, by_facet)
}

/// Every filter value of the archives present (and one that none has) selects the same archives
/// through its facet term as through its column.
async fn check_facets(store: &Arc<dyn Store>, ids: &[i64], when: &str) {
    let mut probes: Vec<(ArchiveFilter, Facet, String)> = Vec::new();
    for id in ids {
        let d = store.get_archive(*id).await.unwrap().unwrap().data;
        let c = &d.classification;
        let f = ArchiveFilter::default;
        probes.push((ArchiveFilter { kind: Some(d.kind), ..f() }, Facet::Kind, d.kind.as_str().into()));
        if let Some(g) = c.grade {
            probes.push((ArchiveFilter { grade: Some(g), ..f() }, Facet::Grade, g.as_str().into()));
        }
        if let Some(g) = d.credit.grade {
            probes.push((ArchiveFilter { credit_grade: Some(g), ..f() }, Facet::CreditGrade, g.as_str().into()));
        }
        let b = d.credit.blacklisted;
        probes.push((ArchiveFilter { blacklisted: Some(b), ..f() }, Facet::Blacklisted, if b { "1" } else { "0" }.into()));
        probes.push((ArchiveFilter { status: Some(d.status), ..f() }, Facet::Status, d.status.as_str().into()));
        for (v, filter, facet) in [
            (c.industry.clone(), ArchiveFilter { industry: c.industry.clone(), ..f() }, Facet::Industry),
            (c.province.clone(), ArchiveFilter { province: c.province.clone(), ..f() }, Facet::Province),
            (c.city.clone(), ArchiveFilter { city: c.city.clone(), ..f() }, Facet::City),
            (d.owner_id.map(|v| v.to_string()), ArchiveFilter { owner_id: d.owner_id, ..f() }, Facet::Owner),
            (d.dept_id.map(|v| v.to_string()), ArchiveFilter { dept_id: d.dept_id, ..f() }, Facet::Dept),
        ] {
            if let Some(v) = v {
                probes.push((filter, facet, v));
            }
        }
    }
    probes.push((ArchiveFilter { industry: Some("无此行业".into()), ..ArchiveFilter::default() }, Facet::Industry, "无此行业".into()));
    probes.sort_by(|a, b| (format!("{:?}", a.1), &a.2).cmp(&(format!("{:?}", b.1), &b.2)));
    probes.dedup_by(|a, b| a.1 == b.1 && a.2 == b.2);
    let kinds: std::collections::BTreeSet<String> = probes.iter().map(|p| format!("{:?}", p.1)).collect();
    assert_eq!(kinds.len(), 10, "[{when}] every facet is probed: {kinds:?}");
    for (filter, facet, value) in probes {
        let (by_column, by_facet) = facet_pairs(store, filter, Expr::Term(facet_term(facet, &value))).await;
        assert_eq!(by_facet, by_column, "[{:?} {when}] {facet:?} = {value:?}: the index's facet selects what the column selects", store.engine());
    }
}

async fn facets_follow_the_filter_columns(store: Arc<dyn Store>) {
    use dangan_core::demo::DemoGenerator;
    let gen = DemoGenerator::new(7, NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(), vec![(10, 1), (11, 1), (12, 2)]);
    // 绝密 archives are not in the text index at all (tested above): not here.
    let demo: Vec<_> = gen
        .archives(0..120)
        .map(|mut a| {
            if a.data.secrecy == Secrecy::TopSecret {
                a.data.secrecy = Secrecy::Normal;
            }
            a
        })
        .collect();
    // Half through the bulk loader (demo loads, imports), half one by one.
    let batch: Vec<BulkArchive> = demo[..60].iter().map(|a| BulkArchive::new(a.data.clone(), at(0), a.contacts.clone(), vec![]).unwrap()).collect();
    store.bulk_load(batch, &NumberScheme::default(), "", &ev(1, at(0))).await.unwrap();
    create(&store, demo[60..].iter().map(|a| a.data.clone()).collect()).await;
    let ids: Vec<i64> = store.search(&SearchRequest { matcher: SearchMatch::All, filter: ArchiveFilter::default(), created_from: None, created_to: None, after: None, limit: 1000 }).await.unwrap().into_iter().map(|h| h.summary.id).collect();
    assert_eq!(ids.len(), 120);
    check_facets(&store, &ids, "created").await;
    // Edits move an archive from one value to another (the old facet must let go of it).
    for (i, id) in ids.iter().take(30).enumerate() {
        let a = store.get_archive(*id).await.unwrap().unwrap();
        let mut d = a.data.clone();
        d.classification.grade = [Some(Grade::A), None, Some(Grade::D)][i % 3];
        d.credit.blacklisted = !d.credit.blacklisted;
        d.classification.industry = Some("信息传输、软件和信息技术服务业".into());
        d.classification.city = if i % 2 == 0 { None } else { Some("温州市".into()) };
        d.owner_id = Some(12);
        d.dept_id = Some(3);
        d.tier = [Tier::Company, Tier::Department, Tier::Personal][i % 3];
        store.update_archive(*id, a.version, &d, None, &ev(1, at(200 + i as i64))).await.unwrap();
    }
    check_facets(&store, &ids, "edited").await;
    store.reindex().await.unwrap();
    check_facets(&store, &ids, "rebuilt").await;
}

/// The audit event a write carries (appended to the trail in the same transaction).
fn ev(actor: i64, at: chrono::DateTime<chrono::Utc>) -> dangan_core::audit::AuditEvent {
    let mut e = dangan_core::audit::AuditEvent::new(dangan_core::audit::AuditAction::ArchiveUpdate, at);
    e.user_id = Some(actor);
    e
}

#[allow(dead_code)]
fn ev0() -> dangan_core::audit::AuditEvent {
    ev(0, chrono::Utc::now())
}
