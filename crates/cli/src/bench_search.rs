//! `dangan bench-search`: the search benchmark of issue 5. Loads N demo archives (the index is
//! written by the bulk load), rebuilds the index once to time a full build, then runs every line
//! of the published query set (`bench/search-queries.tsv`, a copy of
//! `shared/bench/search-queries.tsv`; `--queries` to use another) and prints p50/p99 per query
//! class: in-process `App::search` (as the general manager and as a salesperson, whose scope is
//! in the query), the bare index query for the same terms, and over HTTP loopback; hit counts,
//! suggestion latency, index build time and size. Prints figures; asserts nothing.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use clap::Args;
use dangan_app::search::SearchQuery;
use dangan_app::{App, Principal};
use dangan_core::search::{parse_query, Expr, MatchClass, ParsedQuery};
use dangan_store::ArchiveFilter;
use hdrhistogram::Histogram;

use crate::{load_demo, open_app, CliResult, Global};

const PUBLISHED: &str = include_str!("../bench/search-queries.tsv");

#[derive(Args, Clone)]
pub struct BenchSearchArgs {
    /// Archives to load.
    #[arg(long, default_value_t = 100_000)]
    count: u64,
    /// Engine: sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    engine: String,
    /// PostgreSQL server URL (a database is created on it) for --engine postgres.
    #[arg(long, env = "DANGAN_BENCH_PG", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg: String,
    /// Times each query is run per measurement.
    #[arg(long, default_value_t = 30)]
    rounds: usize,
    /// Query set (TSV: class, query, filters); default: the published set built in.
    #[arg(long)]
    queries: Option<std::path::PathBuf>,
    /// Reuse the data loaded by an earlier run (SQLite: --data-dir; PostgreSQL: database dangan_bench_search).
    #[arg(long)]
    reuse: bool,
    /// Skip the full index rebuild (its time is then not reported).
    #[arg(long)]
    no_rebuild: bool,
    /// Page size asked for.
    #[arg(long, default_value_t = 20)]
    limit: u32,
}

struct QueryLine {
    class: String,
    q: String,
    filters: String,
}

fn parse_lines(text: &str) -> Vec<QueryLine> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut f = l.split('\t');
            QueryLine { class: f.next().unwrap_or("").to_string(), q: f.next().unwrap_or("").to_string(), filters: f.next().unwrap_or("").to_string() }
        })
        .collect()
}

/// The published filter keys as search parameters.
fn query_of(line: &QueryLine, limit: u32) -> CliResult<SearchQuery> {
    let mut q = SearchQuery { q: line.q.clone(), limit, ..Default::default() };
    let mut f = ArchiveFilter::default();
    for kv in line.filters.split(';').filter(|s| !s.trim().is_empty()) {
        let (k, v) = kv.split_once('=').ok_or_else(|| format!("bad filter {kv:?}"))?;
        match k.trim() {
            "grade" => f.grade = Some(v.parse().map_err(|_| format!("grade {v}"))?),
            "credit_grade" => f.credit_grade = Some(v.parse().map_err(|_| format!("credit_grade {v}"))?),
            "region" | "province" => f.province = Some(v.to_string()),
            "city" => f.city = Some(v.to_string()),
            "industry" => f.industry = Some(v.to_string()),
            "status" => f.status = Some(v.parse().map_err(|_| format!("status {v}"))?),
            "blacklisted" => f.blacklisted = Some(v == "true"),
            "tags" => q.tags = v.split(',').map(str::to_string).collect(),
            other => return Err(format!("unknown filter key {other:?}").into()),
        }
    }
    q.filter = f;
    Ok(q)
}

fn hist() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram")
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// The tier expressions of a text query (what App::search sends to the index).
fn tiers(q: &str) -> Vec<Expr> {
    match parse_query(q) {
        ParsedQuery::Text(t) => [MatchClass::Exact, MatchClass::Prefix, MatchClass::Fragment].into_iter().filter_map(|c| t.tier(c)).collect(),
        _ => Vec::new(),
    }
}

/// The bare index: the same tier queries straight on the index (no join, no filters, no scope).
enum Bare {
    Sqlite(rusqlite::Connection),
    Pg(tokio_postgres::Client, tokio_postgres::Statement),
}

impl Bare {
    async fn run(&self, exprs: &[Expr], limit: i64) -> CliResult<usize> {
        let mut n = 0usize;
        for e in exprs {
            let want = limit + 1 - n as i64;
            if want <= 0 {
                break;
            }
            n += match self {
                Bare::Sqlite(c) => {
                    let mut st = c.prepare_cached("SELECT rowid FROM search_fts WHERE search_fts MATCH ?1 ORDER BY rowid DESC LIMIT ?2")?;
                    let rows = st.query_map(rusqlite::params![e.fts5(), want], |r| r.get::<_, i64>(0))?;
                    rows.count()
                }
                Bare::Pg(c, st) => c.query(st, &[&e.tsquery(), &want]).await?.len(),
            };
        }
        Ok(n)
    }
}

async fn user(app: &App, name: &str) -> CliResult<Principal> {
    let u = app.store.find_login(name).await?.ok_or_else(|| format!("demo user {name} missing"))?.user;
    Ok(Principal::new(u, false))
}

fn search_url(line: &QueryLine, limit: u32) -> String {
    let mut parts = vec![format!("q={}", urlencoding(&line.q)), format!("limit={limit}")];
    for kv in line.filters.split(';').filter(|s| !s.trim().is_empty()) {
        if let Some((k, v)) = kv.split_once('=') {
            parts.push(format!("{}={}", k.trim(), urlencoding(v)));
        }
    }
    format!("/api/v1/search?{}", parts.join("&"))
}

fn urlencoding(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// What the user types on the way to a query: every prefix of at least two characters.
fn typed_prefixes(q: &str) -> Vec<String> {
    let chars: Vec<char> = q.chars().collect();
    (2.min(chars.len())..=chars.len()).filter(|n| *n > 0).map(|n| chars[..n].iter().collect()).collect()
}

pub async fn run(g: &Global, args: BenchSearchArgs) -> CliResult {
    let mut g = g.clone();
    let mut pg_db = None;
    match args.engine.as_str() {
        "sqlite" => {
            g.database_url = String::new();
            if !args.reuse {
                let _ = std::fs::remove_dir_all(&g.data_dir);
            }
        }
        "postgres" => {
            let name = "dangan_bench_search".to_string();
            let (client, conn) = tokio_postgres::connect(&args.pg, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            if !args.reuse {
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.map_err(|e| format!("{e:?}"))?;
                client.batch_execute(&format!("CREATE DATABASE {name}")).await.map_err(|e| format!("{e:?}"))?;
            }
            let base = args.pg.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(args.pg.clone());
            g.database_url = format!("{base}/{name}");
            pg_db = Some(name);
        }
        other => return Err(format!("unknown engine {other:?} (sqlite or postgres)").into()),
    }
    let lines = parse_lines(&match &args.queries {
        Some(p) => std::fs::read_to_string(p)?,
        None => PUBLISHED.to_string(),
    });
    let password = "bench-password-1";
    let app = open_app(&g).await?;
    let _ = app.ensure_admin(Some(password)).await?;
    let existing = app.store.count_archives(&Default::default()).await? as u64;
    let load = if existing < args.count {
        eprintln!("loading {} archives into {} (the search index is written by the load)…", args.count - existing, args.engine);
        Some(load_demo(&app, args.count - existing, Some(password)).await?)
    } else {
        None
    };
    let rebuild = if args.no_rebuild {
        None
    } else {
        eprintln!("rebuilding the search index…");
        let t = Instant::now();
        let n = app.reindex().await?;
        Some((n, t.elapsed().as_secs_f64()))
    };
    let total = app.store.count_archives(&Default::default()).await?;
    let index_bytes = app.store.search_index_bytes().await?;
    let gm = user(&app, "zongjingli").await?;
    let sales = user(&app, "xiaoshou1").await?;
    let bare = match app.store.engine() {
        dangan_store::Engine::Sqlite => Bare::Sqlite(rusqlite::Connection::open_with_flags(g.data_dir.join("dangan.db"), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?),
        dangan_store::Engine::Postgres => {
            let (client, conn) = tokio_postgres::connect(&g.database_url, tokio_postgres::NoTls).await?;
            tokio::spawn(conn);
            let st = client.prepare("SELECT seq FROM search_docs WHERE tsv @@ $1::text::tsquery ORDER BY seq DESC LIMIT $2").await?;
            Bare::Pg(client, st)
        }
    };

    // Hit counts (capped) and a warm-up pass.
    let mut hits = Vec::new();
    for l in &lines {
        let mut q = query_of(l, args.limit)?;
        q.with_total = true;
        let gm_page = app.search(&gm, q.clone()).await?;
        let sales_page = app.search(&sales, q).await?;
        hits.push((gm_page.total.unwrap_or(0), gm_page.total_capped, sales_page.total.unwrap_or(0), gm_page.items.first().map(|i| i.summary.name.clone()).unwrap_or_default()));
        bare.run(&tiers(&l.q), args.limit as i64).await?;
    }

    let classes: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for l in &lines {
            if !v.contains(&l.class) {
                v.push(l.class.clone());
            }
        }
        v
    };
    let mut by_class: BTreeMap<String, [Histogram<u64>; 5]> = classes.iter().map(|c| (c.clone(), [hist(), hist(), hist(), hist(), hist()])).collect();
    let mut all = [hist(), hist(), hist(), hist(), hist()];
    let mut has_bare: BTreeMap<String, bool> = BTreeMap::new();
    // Per query, as the salesperson (the scoped reader): which queries make a class's p99.
    let mut per_query: Vec<Histogram<u64>> = lines.iter().map(|_| hist()).collect();
    for _ in 0..args.rounds {
        for (li, l) in lines.iter().enumerate() {
            let q = query_of(l, args.limit)?;
            let h = by_class.get_mut(&l.class).expect("class");
            let t = Instant::now();
            app.search(&gm, q.clone()).await?;
            let us = t.elapsed().as_micros() as u64;
            h[0].saturating_record(us);
            all[0].saturating_record(us);
            let t = Instant::now();
            app.search(&sales, q).await?;
            let us = t.elapsed().as_micros() as u64;
            h[1].saturating_record(us);
            per_query[li].saturating_record(us);
            all[1].saturating_record(us);
            let exprs = tiers(&l.q);
            if !exprs.is_empty() {
                has_bare.insert(l.class.clone(), true);
                let t = Instant::now();
                bare.run(&exprs, args.limit as i64).await?;
                let us = t.elapsed().as_micros() as u64;
                h[2].saturating_record(us);
                all[2].saturating_record(us);
            }
        }
    }
    // Suggestions, as typed (every prefix of two characters or more of the text queries).
    let mut suggest_in = hist();
    let prefixes: Vec<String> = lines.iter().filter(|l| !l.q.is_empty()).flat_map(|l| typed_prefixes(&l.q)).collect();
    let mut slowest: BTreeMap<String, u64> = BTreeMap::new();
    for _ in 0..args.rounds.div_ceil(3) {
        for p in &prefixes {
            let t = Instant::now();
            app.suggest(&gm, p, 8).await?;
            let us = t.elapsed().as_micros() as u64;
            suggest_in.saturating_record(us);
            let e = slowest.entry(p.clone()).or_default();
            *e = (*e).max(us);
        }
    }
    let mut slowest: Vec<(String, u64)> = slowest.into_iter().collect();
    slowest.sort_by_key(|(_, us)| std::cmp::Reverse(*us));
    drop(app);

    // Over HTTP loopback: the server as its own process.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let mut child = tokio::process::Command::new(std::env::current_exe()?)
        .arg("serve")
        .env("DANGAN_DATA_DIR", &g.data_dir)
        .env("DANGAN_DATABASE_URL", &g.database_url)
        .env("DANGAN_SQLITE_MMAP_MIB", g.sqlite_mmap_mib.to_string())
        .env("DANGAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("DANGAN_LOG", "warn")
        .env("DANGAN_DEMO", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !client.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).unwrap_or(false) {
        if Instant::now() > deadline {
            return Err("server did not become healthy".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v: serde_json::Value = client.post(format!("{base}/api/v1/auth/login")).json(&serde_json::json!({"username": "zongjingli", "password": password})).send().await?.json().await?;
    let token = v["token"].as_str().ok_or("login failed")?.to_string();
    let mut http_errors = 0;
    for l in &lines {
        let _ = client.get(format!("{base}{}", search_url(l, args.limit))).bearer_auth(&token).send().await?.bytes().await?;
    }
    for _ in 0..args.rounds {
        for l in &lines {
            let t = Instant::now();
            let r = client.get(format!("{base}{}", search_url(l, args.limit))).bearer_auth(&token).send().await?;
            let ok = r.status().is_success();
            let _ = r.bytes().await?;
            let us = t.elapsed().as_micros() as u64;
            if !ok {
                http_errors += 1;
            }
            by_class.get_mut(&l.class).expect("class")[3].saturating_record(us);
            all[3].saturating_record(us);
        }
    }
    for _ in 0..args.rounds.div_ceil(3) {
        for p in &prefixes {
            let t = Instant::now();
            let r = client.get(format!("{base}/api/v1/search/suggest?q={}", urlencoding(p))).bearer_auth(&token).send().await?;
            let _ = r.bytes().await?;
            all[4].saturating_record(t.elapsed().as_micros() as u64);
        }
    }
    let _ = child.kill().await;

    println!();
    println!("## dangan bench-search — engine {}, {} archives, {} rounds per query, page of {}", args.engine, total, args.rounds, args.limit);
    println!();
    match load {
        Some((n, secs)) => println!("demo load (archives, contacts, timeline, versions and the search index): {n} in {secs:.1} s = {:.0}/s", n as f64 / secs.max(1e-9)),
        None => println!("demo load: reused existing data"),
    }
    match rebuild {
        Some((n, secs)) => println!("search index full rebuild (`dangan reindex`): {n} archives in {secs:.1} s"),
        None => println!("search index full rebuild: skipped"),
    }
    println!("search index size: {:.1} MiB", index_bytes as f64 / 1048576.0);
    println!();
    println!("| class | queries | hits (GM) | hits (salesperson) | in-process GM p50 / p99 ms | salesperson p50 / p99 ms | bare index p50 / p99 ms | ratio p50 | HTTP p50 / p99 ms |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for c in &classes {
        let h = &by_class[c];
        let n = lines.iter().filter(|l| &l.class == c).count();
        let idx: Vec<usize> = lines.iter().enumerate().filter(|(_, l)| &l.class == c).map(|(i, _)| i).collect();
        let fmt_hits = |gm: bool| {
            idx.iter()
                .map(|i| {
                    let (t, capped, s, _) = &hits[*i];
                    if gm {
                        format!("{}{}", t, if *capped { "+" } else { "" })
                    } else {
                        format!("{s}{}", if *s >= dangan_app::search::COUNT_CAP { "+" } else { "" })
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (bare_txt, ratio) = if has_bare.get(c).copied().unwrap_or(false) {
            (format!("{:.3} / {:.3}", ms(&h[2], 0.5), ms(&h[2], 0.99)), format!("{:.1}×", ms(&h[0], 0.5) / ms(&h[2], 0.5).max(0.001)))
        } else {
            ("n/a (not a text query)".into(), "—".into())
        };
        println!(
            "| {c} | {n} | {} | {} | {:.2} / {:.2} | {:.2} / {:.2} | {bare_txt} | {ratio} | {:.2} / {:.2} |",
            fmt_hits(true),
            fmt_hits(false),
            ms(&h[0], 0.5),
            ms(&h[0], 0.99),
            ms(&h[1], 0.5),
            ms(&h[1], 0.99),
            ms(&h[3], 0.5),
            ms(&h[3], 0.99)
        );
    }
    println!(
        "| **all** | {} | | | {:.2} / {:.2} | {:.2} / {:.2} | {:.3} / {:.3} | {:.1}× | {:.2} / {:.2} |",
        lines.len(),
        ms(&all[0], 0.5),
        ms(&all[0], 0.99),
        ms(&all[1], 0.5),
        ms(&all[1], 0.99),
        ms(&all[2], 0.5),
        ms(&all[2], 0.99),
        ms(&all[0], 0.5) / ms(&all[2], 0.5).max(0.001),
        ms(&all[3], 0.5),
        ms(&all[3], 0.99)
    );
    println!();
    println!(
        "suggestions ({} typed prefixes × {} rounds, 8 results): in-process p50 {:.2} ms, p99 {:.2} ms; HTTP p50 {:.2} ms, p99 {:.2} ms",
        prefixes.len(),
        args.rounds.div_ceil(3),
        ms(&suggest_in, 0.5),
        ms(&suggest_in, 0.99),
        ms(&all[4], 0.5),
        ms(&all[4], 0.99)
    );
    let mut by_p99: Vec<(String, f64, f64)> = lines
        .iter()
        .zip(&per_query)
        .map(|(l, h)| (format!("{} {}{}", l.class, l.q, if l.filters.is_empty() { String::new() } else { format!(" [{}]", l.filters) }), ms(h, 0.5), ms(h, 0.99)))
        .collect();
    by_p99.sort_by(|a, b| b.2.total_cmp(&a.2));
    println!(
        "slowest queries as the salesperson (p50 / p99 ms): {}",
        by_p99.iter().take(5).map(|(q, p50, p99)| format!("{q} {p50:.2} / {p99:.2}")).collect::<Vec<_>>().join(", ")
    );
    println!(
        "slowest suggestions (max of the rounds): {}",
        slowest.iter().take(5).map(|(p, us)| format!("{p} {:.2} ms", *us as f64 / 1000.0)).collect::<Vec<_>>().join(", ")
    );
    if http_errors > 0 {
        println!("HTTP errors: {http_errors}");
    }
    println!();
    println!("first result per query (GM):");
    for (l, h) in lines.iter().zip(&hits) {
        println!("  {:<16} {:<22} {:<40} → {}", l.class, l.q, l.filters, h.3);
    }
    if let Some(name) = pg_db {
        let _ = name; // kept for --reuse
    }
    Ok(())
}
