//! `dangan bench`: loads N demo archives into a fresh database, starts `dangan serve` as a child
//! process on loopback and measures it from this process over HTTP. Prints figures; asserts
//! nothing (targets live in the issues).

use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use hdrhistogram::Histogram;
use rand::Rng;

use crate::{load_demo, open_app, CliResult, Global};

#[derive(Args, Clone)]
pub struct BenchArgs {
    /// Archives to load.
    #[arg(long, default_value_t = 100_000)]
    count: u64,
    /// Engine: sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    engine: String,
    /// PostgreSQL server URL (a fresh database is created on it) for --engine postgres.
    #[arg(long, env = "DANGAN_BENCH_PG", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg: String,
    /// Seconds per HTTP measurement.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Concurrent HTTP connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Reuse the data loaded by an earlier run in --data-dir instead of loading anew.
    #[arg(long)]
    reuse: bool,
    /// Rounds of the whole-request comparison (admin against salesperson, one request at a time).
    #[arg(long, default_value_t = 2_000)]
    rounds: usize,
}

fn status_kib(pid: u32, names: [&str; 2]) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0);
    (field(names[0]), field(names[1]))
}

/// (RSS, its peak), KiB.
fn rss_kib(pid: u32) -> (u64, u64) {
    status_kib(pid, ["VmRSS:", "VmHWM:"])
}

#[derive(Clone)]
struct Figures {
    label: String,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    errors: u64,
}

impl Figures {
    fn row(&self) -> String {
        format!("| {:<28} | {:>9.0} | {:>8.2} | {:>8.2} | {:>8.2} | {:>6} |", self.label, self.rps, self.p50_ms, self.p99_ms, self.max_ms, self.errors)
    }
}

/// What one measured request class asks for: a fixed path, or a path built from a random id.
#[derive(Clone)]
enum Target {
    Fixed(String),
    /// `prefix{id}suffix` with id uniform in `lo..=hi`.
    RandomId { prefix: String, suffix: String, lo: i64, hi: i64 },
    /// `prefix{id}` with id drawn from a list.
    AnyOf { prefix: String, ids: Arc<Vec<i64>> },
}

impl Target {
    fn pick(&self, r: &mut rand::rngs::ThreadRng) -> String {
        match self {
            Target::Fixed(p) => p.clone(),
            Target::RandomId { prefix, suffix, lo, hi } => format!("{prefix}{}{suffix}", r.gen_range(*lo..=*hi)),
            Target::AnyOf { prefix, ids } => format!("{prefix}{}", ids[r.gen_range(0..ids.len())]),
        }
    }
    fn lua(&self) -> String {
        match self {
            Target::Fixed(p) => format!("request = function() return wrk.format(\"GET\", \"{p}\") end\n"),
            Target::RandomId { prefix, suffix, lo, hi } => format!(
                "math.randomseed(os.time())\nrequest = function() return wrk.format(\"GET\", \"{prefix}\" .. math.random({lo}, {hi}) .. \"{suffix}\") end\n"
            ),
            Target::AnyOf { prefix, ids } => format!(
                "math.randomseed(os.time())\nids = {{{}}}\nrequest = function() return wrk.format(\"GET\", \"{prefix}\" .. ids[math.random(#ids)]) end\n",
                ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
            ),
        }
    }
}

/// Measures with wrk (the load generator the published floors used), when it is installed.
fn wrk_available() -> bool {
    std::process::Command::new("wrk").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

fn parse_wrk_duration(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, unit) = s.find(|c: char| c.is_ascii_alphabetic()).map(|i| s.split_at(i))?;
    let v: f64 = num.parse().ok()?;
    Some(match unit {
        "us" => v / 1000.0,
        "ms" => v,
        "s" => v * 1000.0,
        "m" => v * 60_000.0,
        _ => return None,
    })
}

async fn load_wrk(label: &str, base: &str, token: &str, connections: usize, seconds: u64, target: &Target) -> CliResult<Figures> {
    let script = std::env::temp_dir().join(format!("dangan-bench-{}.lua", std::process::id()));
    std::fs::write(&script, target.lua())?;
    let out = tokio::process::Command::new("wrk")
        // A 10 s timeout (wrk's default is 2 s): a slow endpoint is measured, not silently dropped.
        .args(["-t2", &format!("-c{connections}"), &format!("-d{seconds}s"), "--timeout", "10s", "--latency", "-s"])
        .arg(&script)
        .args(["-H", &format!("Authorization: Bearer {token}"), base])
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let find = |prefix: &str| text.lines().map(str::trim).find(|l| l.starts_with(prefix)).map(|l| l[prefix.len()..].trim().to_string());
    let rps: f64 = find("Requests/sec:").and_then(|v| v.parse().ok()).ok_or_else(|| format!("wrk output not understood:\n{text}"))?;
    let p50 = find("50%").and_then(|v| parse_wrk_duration(&v)).unwrap_or(f64::NAN);
    let p99 = find("99%").and_then(|v| parse_wrk_duration(&v)).unwrap_or(f64::NAN);
    let max = find("Latency").and_then(|v| v.split_whitespace().nth(2).and_then(parse_wrk_duration)).unwrap_or(f64::NAN);
    // Errors: non-2xx answers and socket errors ("connect 0, read 0, write 0, timeout 12").
    let socket: u64 = find("Socket errors:").map(|v| v.split(',').filter_map(|p| p.split_whitespace().nth(1)?.parse::<u64>().ok()).sum()).unwrap_or(0);
    let errors = find("Non-2xx or 3xx responses:").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0) + socket;
    Ok(Figures { label: label.into(), rps, p50_ms: p50, p99_ms: p99, max_ms: max, errors })
}

/// Runs `connections` loops for `seconds`, each timing GETs of `target` (the built-in client,
/// used when wrk is not installed; it costs more CPU than wrk, so its figures are pessimistic).
async fn load_builtin(label: &str, base: &str, token: &str, connections: usize, seconds: u64, target: &Target) -> Figures {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, stop, target, base, token) = (client.clone(), stop.clone(), target.clone(), base.to_string(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let (mut n, mut errors) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let path = target.pick(&mut rand::thread_rng());
                let t = Instant::now();
                let ok = match client.get(format!("{base}{path}")).bearer_auth(&token).send().await {
                    Ok(r) => {
                        let ok = r.status().is_success();
                        let _ = r.bytes().await;
                        ok
                    }
                    Err(_) => false,
                };
                hist.saturating_record(t.elapsed().as_micros() as u64);
                n += 1;
                if !ok {
                    errors += 1;
                }
            }
            (hist, n, errors)
        }));
    }
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
    let (mut requests, mut errors) = (0, 0);
    for t in tasks {
        let (h, n, e) = t.await.expect("load task");
        hist.add(h).expect("same bounds");
        requests += n;
        errors += e;
    }
    let ms = |q: f64| hist.value_at_quantile(q) as f64 / 1000.0;
    Figures { label: label.into(), rps: requests as f64 / started.elapsed().as_secs_f64(), p50_ms: ms(0.5), p99_ms: ms(0.99), max_ms: hist.max() as f64 / 1000.0, errors }
}

async fn load(label: &str, base: &str, token: &str, connections: usize, seconds: u64, target: Target, use_wrk: bool) -> CliResult<Figures> {
    if use_wrk {
        load_wrk(label, base, token, connections, seconds, &target).await
    } else {
        Ok(load_builtin(label, base, token, connections, seconds, &target).await)
    }
}

pub async fn run(g: &Global, args: BenchArgs) -> CliResult {
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
            let name = if args.reuse { "dangan_bench".to_string() } else { format!("dangan_bench_{}", std::process::id()) };
            if !args.reuse {
                let (client, conn) = tokio_postgres_connect(&args.pg).await?;
                tokio::spawn(conn);
                // One statement per call: CREATE DATABASE cannot run inside a transaction block.
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).await.map_err(|e| format!("{e:?}"))?;
                client.batch_execute(&format!("CREATE DATABASE {name}")).await.map_err(|e| format!("{e:?}"))?;
            }
            let base = args.pg.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap_or(args.pg.clone());
            g.database_url = format!("{base}/{name}");
            pg_db = Some(name);
        }
        other => return Err(format!("unknown engine {other:?} (sqlite or postgres)").into()),
    }
    let password = "bench-password-1";
    let app = open_app(&g).await?;
    let _ = app.ensure_admin(Some(password)).await?;
    let existing = app.store.count_archives(&Default::default()).await? as u64;
    let (load_secs, loaded) = if existing < args.count {
        eprintln!("loading {} archives into {}…", args.count - existing, args.engine);
        let (n, secs) = load_demo(&app, args.count - existing, Some(password)).await?;
        (Some(secs), n)
    } else {
        (None, 0)
    };
    let total = app.store.count_archives(&Default::default()).await? as u64;
    // The id in the middle, for a deep keyset page.
    let mid = app
        .store
        .list_archives(&dangan_store::ArchiveQuery { sort: dangan_store::SortOrder::CreatedAsc, after: None, limit: 1, ..Default::default() })
        .await?
        .first()
        .map(|a| a.id)
        .unwrap_or(1)
        + (total as i64) / 2;
    let max_id = mid + (total as i64) / 2;
    let min_id = (max_id - total as i64 + 1).max(1);
    // Archives the measured users may read (普通 secrecy), spread over the whole id range.
    let readable_gm = sample_ids(&app, min_id, max_id, dangan_store::ArchiveFilter { secrecy: Some(dangan_core::Secrecy::Normal), ..Default::default() }).await?;
    let sales = app.store.find_login("xiaoshou1").await?.ok_or("demo salesperson xiaoshou1 missing")?.user;
    let readable_sales = sample_ids(
        &app,
        min_id,
        max_id,
        dangan_store::ArchiveFilter { secrecy: Some(dangan_core::Secrecy::Normal), tier: Some(dangan_core::Tier::Personal), owner_id: Some(sales.id), ..Default::default() },
    )
    .await?;
    let authz = authorize_cost(&app, &sales, &readable_sales).await?;
    let mut share = authorization_share(&app, &sales, &readable_sales).await?;
    let manager = app.store.find_login("jingli1").await?.ok_or("demo department manager jingli1 missing")?.user;
    share.extend(update_sorted_pages(&app, &[("list by update time (50), salesperson", &sales), ("list by update time (50), dept manager", &manager)]).await?);
    drop(app);

    // Start the server as its own process so its memory is measured alone.
    let (mut child, base) = start_server(&g, &[]).await?;
    let pid = child.id().unwrap_or(0);
    let client = reqwest::Client::new();
    let login = |user: &'static str| {
        let client = client.clone();
        let url = format!("{base}/api/v1/auth/login");
        async move {
            let v: serde_json::Value = client.post(url).json(&serde_json::json!({"username": user, "password": password})).send().await?.json().await?;
            v["token"].as_str().map(str::to_string).ok_or_else(|| format!("login as {user} failed").into())
        }
    };
    let token: String = login("admin").await.map_err(|e: Box<dyn std::error::Error + Send + Sync>| e)?;
    let sales_token: String = login("xiaoshou1").await.map_err(|e: Box<dyn std::error::Error + Send + Sync>| e)?;
    let (rss_idle, _) = rss_kib(pid);

    let (c, s) = (args.connections, args.seconds);
    let use_wrk = wrk_available();
    let random = |prefix: &str, suffix: &str, lo: i64, hi: i64| Target::RandomId { prefix: prefix.into(), suffix: suffix.into(), lo, hi };
    let any_of = |ids: &Vec<i64>| Target::AnyOf { prefix: "/api/v1/archives/".into(), ids: Arc::new(ids.clone()) };
    let plan = [
        ("GET /archives/{id}", any_of(&readable_gm)),
        ("list first page (50)", Target::Fixed("/api/v1/archives?limit=50".into())),
        ("list deep page (keyset, 50)", random("/api/v1/archives?limit=50&cursor=i", "", min_id, mid)),
        ("list filtered grade=A", Target::Fixed("/api/v1/archives?limit=50&grade=A".into())),
        ("list grade=A, province", Target::Fixed(format!("/api/v1/archives?limit=50&grade=A&province={}", urlencode("浙江省")))),
        ("GET /healthz (floor)", Target::Fixed("/healthz".into())),
    ];
    let mut rows = Vec::new();
    for (label, target) in plan {
        rows.push(load(label, &base, &token, c, s, target, use_wrk).await?);
    }
    // The same as a salesperson, whose every request goes through the full tier check and whose
    // lists carry the access scope in their WHERE clause.
    rows.push(load("GET as salesperson (own)", &base, &sales_token, c, s, any_of(&readable_sales), use_wrk).await?);
    rows.push(load("list as salesperson (scoped)", &base, &sales_token, c, s, Target::Fixed("/api/v1/archives?limit=50".into()), use_wrk).await?);
    // The reminders dashboard (提醒): one indexed date query, the review and stale lists and the
    // loans, in the reader's scope — for a salesperson's own archives and a manager's department.
    rows.push(load("reminders, salesperson (mine)", &base, &sales_token, c, s, Target::Fixed("/api/v1/reminders".into()), use_wrk).await?);
    let manager_token: String = login("jingli1").await.map_err(|e: Box<dyn std::error::Error + Send + Sync>| e)?;
    rows.push(load("reminders, manager (dept)", &base, &manager_token, c, s, Target::Fixed("/api/v1/reminders?scope=department".into()), use_wrk).await?);
    // Whole requests, one at a time: lists as the archivist (every archive is listed, so the
    // query carries no scope) against the salesperson; a GET as the general manager (whose tier
    // check allows the whole company) against the salesperson reading their own archives.
    let archivist_token: String = login("dangan1").await.map_err(|e: Box<dyn std::error::Error + Send + Sync>| e)?;
    let gm_token: String = login("zongjingli").await.map_err(|e: Box<dyn std::error::Error + Send + Sync>| e)?;
    let first_page = || Target::Fixed("/api/v1/archives?limit=50".into());
    let filtered = || Target::Fixed(format!("/api/v1/archives?limit=50&grade=A&province={}", urlencode("浙江省")));
    let whole_requests = request_share(
        &base,
        args.rounds,
        vec![
            ("GET one archive", (&gm_token, any_of(&readable_gm)), (&sales_token, any_of(&readable_sales))),
            ("list first page (50)", (&archivist_token, first_page()), (&sales_token, first_page())),
            ("list grade=A, province (50)", (&archivist_token, filtered()), (&sales_token, filtered())),
        ],
    )
    .await?;
    let (rss, hwm) = rss_kib(pid);
    // The RSS counts the database pages the readers mapped (once per reader): split it.
    let (rss_anon, rss_file) = status_kib(pid, ["RssAnon:", "RssFile:"]);
    let _ = child.kill().await;
    let _ = child.wait().await;

    // What auditing reads costs: the same GET on a server that does not record allowed reads
    // (a benchmark-only switch), then the trail's size and how fast it verifies.
    let audit_rows_before = open_app(&g).await?.store.audit_head().await?.map(|r| r.seq).unwrap_or(0);
    let (mut bare, bare_base) = start_server(&g, &["--bench-without-read-audit"]).await?;
    let bare_token: String = {
        let v: serde_json::Value =
            client.post(format!("{bare_base}/api/v1/auth/login")).json(&serde_json::json!({"username": "admin", "password": password})).send().await?.json().await?;
        v["token"].as_str().map(str::to_string).ok_or("login failed")?
    };
    let without = load("GET /archives/{id}, reads not audited", &bare_base, &bare_token, c, s, any_of(&readable_gm), use_wrk).await?;
    let list_without = load("list first page, not audited", &bare_base, &bare_token, c, s, Target::Fixed("/api/v1/archives?limit=50".into()), use_wrk).await?;
    let _ = bare.kill().await;
    let _ = bare.wait().await;
    let with = rows[0].clone();
    rows.push(without.clone());
    rows.push(list_without);
    let app = open_app(&g).await?;
    let t = Instant::now();
    let report = dangan_app::audit::verify_chain(app.store.as_ref(), &[]).await?;
    let verify_secs = t.elapsed().as_secs_f64();

    println!();
    println!("## dangan bench — engine {}, {} archives, {} connections × {} s, load from {}", args.engine, total, c, s, if use_wrk { "wrk" } else { "the built-in client (wrk not installed)" });
    println!();
    match load_secs {
        Some(secs) => println!("demo load: {loaded} archives in {secs:.1} s = {:.0} archives/s (with contacts, timeline entries and version rows)", loaded as f64 / secs.max(1e-9)),
        None => println!("demo load: reused existing data"),
    }
    println!();
    println!("| {:<28} | {:>9} | {:>8} | {:>8} | {:>8} | {:>6} |", "request (HTTP loopback)", "req/s", "p50 ms", "p99 ms", "max ms", "errors");
    println!("|{}|{}|{}|{}|{}|{}|", "-".repeat(30), "-".repeat(11), "-".repeat(10), "-".repeat(10), "-".repeat(10), "-".repeat(8));
    for r in &rows {
        println!("{}", r.row());
    }
    println!();
    println!(
        "authorization in-process (salesperson, own archive): authorize() mean {:.2} µs, p99 {:.2} µs; query_scope() mean {:.2} µs",
        authz.0, authz.1, authz.2
    );
    println!();
    println!("authorization's share of the request (salesperson xiaoshou1, in process, the same work with and without the access decision, alternating):");
    println!();
    Share::print_table("operation", &share);
    println!();
    println!("authorization's share of whole requests (HTTP, one connection, one request at a time, {} rounds alternating): \"bare\" = a list as the archivist (every archive listed: no scope in the query), a GET as the general manager; \"auth\" = the same as salesperson xiaoshou1 (tier check on their own archives; the scope in the list's WHERE clause); both with token check, masking, the audit record and JSON:", args.rounds);
    println!();
    Share::print_table("request", &whole_requests);
    println!();
    println!(
        "server RSS: {:.1} MiB idle after start, {:.1} MiB after the runs ({:.1} MiB the process's own memory, {:.1} MiB mapped file pages: the database read in place), peak {:.1} MiB",
        rss_idle as f64 / 1024.0,
        rss as f64 / 1024.0,
        rss_anon as f64 / 1024.0,
        rss_file as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
    println!();
    println!(
        "audit: GET with every read audited {:.0} req/s (p99 {:.2} ms) vs reads not audited {:.0} req/s (p99 {:.2} ms) = {:.0}% of the throughput kept",
        with.rps,
        with.p99_ms,
        without.rps,
        without.p99_ms,
        100.0 * with.rps / without.rps.max(1e-9)
    );
    println!(
        "audit trail: {} records (after the audited runs: {}); `audit verify` walked them in {:.2} s ({:.0} records/s){}",
        report.checked,
        audit_rows_before,
        verify_secs,
        report.checked as f64 / verify_secs.max(1e-9),
        match &report.problem {
            Some(p) => format!(" — BROKEN: {p}"),
            None => ", intact".to_string(),
        }
    );
    if let Some(name) = pg_db.filter(|_| !args.reuse) {
        let (client, conn) = tokio_postgres_connect(&args.pg).await?;
        tokio::spawn(conn);
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    }
    Ok(())
}

/// Starts `dangan serve` on a free port over the bench's data and waits until it is healthy.
async fn start_server(g: &Global, extra: &[&str]) -> CliResult<(tokio::process::Child, String)> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let exe = std::env::current_exe()?;
    let child = tokio::process::Command::new(exe)
        .arg("serve")
        .args(extra)
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
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if client.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).unwrap_or(false) {
            return Ok((child, base));
        }
        if Instant::now() > deadline {
            return Err("server did not become healthy within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn tokio_postgres_connect(url: &str) -> CliResult<(tokio_postgres::Client, impl std::future::Future<Output = Result<(), tokio_postgres::Error>>)> {
    Ok(tokio_postgres::connect(url, tokio_postgres::NoTls).await?)
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Up to ~20,000 ids matching `filter`, taken as pages from 200 random points of the id range.
async fn sample_ids(app: &dangan_app::App, min_id: i64, max_id: i64, filter: dangan_store::ArchiveFilter) -> CliResult<Vec<i64>> {
    let mut ids = Vec::new();
    let mut r = rand::thread_rng();
    for _ in 0..200 {
        let after = dangan_store::Cursor { id: r.gen_range(min_id..=max_id + 1), updated_micros: None };
        let q = dangan_store::ArchiveQuery { filter: filter.clone(), sort: dangan_store::SortOrder::CreatedDesc, after: Some(after), limit: 100 };
        ids.extend(app.store.list_archives(&q).await?.iter().map(|a| a.id));
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err("no readable archives to measure".into());
    }
    Ok(ids)
}

/// The cost of the access decision itself, measured in-process: (authorize mean µs, p99 µs,
/// query_scope mean µs) for a salesperson on archives they own.
async fn authorize_cost(app: &dangan_app::App, user: &dangan_core::User, ids: &[i64]) -> CliResult<(f64, f64, f64)> {
    let p = dangan_app::Principal::new(user.clone(), false);
    let mut archives = Vec::new();
    for id in ids.iter().take(200) {
        archives.push(app.store.get_archive(*id).await?.ok_or("archive vanished")?);
    }
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram");
    let started = Instant::now();
    let n = 20_000;
    for i in 0..n {
        let t = Instant::now();
        app.authorize(&p, dangan_core::policy::Action::Read, &archives[i % archives.len()]).await?;
        hist.saturating_record(t.elapsed().as_nanos() as u64);
    }
    let mean = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    let p99 = hist.value_at_quantile(0.99) as f64 / 1000.0;
    let t = Instant::now();
    for _ in 0..1000 {
        app.query_scope(&p).await?;
    }
    let scope = t.elapsed().as_secs_f64() * 1e6 / 1000.0;
    Ok((mean, p99, scope))
}

/// One line of the authorization-share table: the same operation timed bare and with the access
/// decision (µs histograms).
struct Share {
    label: &'static str,
    bare: Histogram<u64>,
    auth: Histogram<u64>,
}

impl Share {
    /// The figures as a Markdown table, `what` heading the first column.
    fn print_table(what: &str, rows: &[Share]) {
        println!("| {:<44} | {:>8} | {:>8} | {:>8} | {:>8} | {:>9} |", what, "bare p50", "bare p99", "auth p50", "auth p99", "p99 added");
        println!("|{}|{}|{}|{}|{}|{}|", "-".repeat(46), "-".repeat(10), "-".repeat(10), "-".repeat(10), "-".repeat(10), "-".repeat(11));
        for r in rows {
            println!("{}", r.row());
        }
    }

    fn new(label: &'static str) -> Self {
        let h = || Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("histogram");
        Share { label, bare: h(), auth: h() }
    }

    fn row(&self) -> String {
        let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1e6;
        let added = 100.0 * (ms(&self.auth, 0.99) / ms(&self.bare, 0.99).max(1e-9) - 1.0);
        format!("| {:<44} | {:>8.3} | {:>8.3} | {:>8.3} | {:>8.3} | {:>8.1}% |", self.label, ms(&self.bare, 0.5), ms(&self.bare, 0.99), ms(&self.auth, 0.5), ms(&self.auth, 0.99), added)
    }
}

/// What authorization adds to a GET and to a list (issue 3: "authorization adds ≤ 10% to p99").
/// GET: reading the archive, against reading it and taking the policy decision (the actor, the
/// decision, the grants when the tier alone does not allow). List: the first page of 50 of the
/// whole base (as the general manager's unrestricted query runs), against the salesperson's page:
/// the scope computed (actor, grants, department tree) and put into the query's WHERE clause. The
/// two run alternately so the cache treats them alike. Auditing is left out of both (measured on
/// its own, over HTTP).
async fn authorization_share(app: &dangan_app::App, user: &dangan_core::User, ids: &[i64]) -> CliResult<Vec<Share>> {
    use dangan_store::{ArchiveFilter, ArchiveQuery, SortOrder};
    let p = dangan_app::Principal::new(user.clone(), false);
    let ns = |t: Instant| t.elapsed().as_nanos() as u64;
    let mut get = Share::new("GET one archive");
    let mut r = rand::thread_rng();
    for i in 0..20_000usize {
        // Two different archives, the order swapped every round: neither side reads what the
        // other just brought into the cache.
        let (x, y) = (ids[r.gen_range(0..ids.len())], ids[r.gen_range(0..ids.len())]);
        let (bare_id, auth_id) = if i % 2 == 0 { (x, y) } else { (y, x) };
        let bare_first = i % 4 < 2;
        for side in [bare_first, !bare_first] {
            let t = Instant::now();
            if side {
                std::hint::black_box(app.store.get_archive(bare_id).await?.ok_or("archive vanished")?);
                get.bare.saturating_record(ns(t));
            } else {
                let a = app.store.get_archive(auth_id).await?.ok_or("archive vanished")?;
                app.authorize(&p, dangan_core::policy::Action::Read, &a).await?;
                std::hint::black_box(a);
                get.auth.saturating_record(ns(t));
            }
        }
    }
    let mut out = vec![get];
    let filters: [(&'static str, ArchiveFilter); 2] = [
        ("list first page (50)", ArchiveFilter::default()),
        ("list grade=A, province (50)", ArchiveFilter { grade: Some(dangan_core::Grade::A), province: Some("浙江省".into()), ..Default::default() }),
    ];
    // The scope as lists take it (grants looked up inside the query), and, for comparison, with
    // the grants read first in a trip of their own (as lists did before, and as the duplicate
    // check still does to judge candidates in memory).
    for (label, filter) in filters {
        for grants_first in [false, true] {
            let mut share = Share::new(if grants_first { "  the same, grants read first" } else { label });
            for _ in 0..2_000 {
                let t = Instant::now();
                let q = ArchiveQuery { filter: filter.clone(), sort: SortOrder::CreatedDesc, after: None, limit: 51 };
                std::hint::black_box(app.store.list_archives(&q).await?);
                share.bare.saturating_record(ns(t));
                let t = Instant::now();
                app.authorize_general(&p, dangan_core::policy::Action::List).await?;
                let scope = if grants_first { app.list_scope(&p).await? } else { app.query_scope(&p).await? };
                let q = ArchiveQuery { filter: ArchiveFilter { scope: Some(scope), ..filter.clone() }, sort: SortOrder::CreatedDesc, after: None, limit: 51 };
                std::hint::black_box(app.store.list_archives(&q).await?);
                share.auth.saturating_record(ns(t));
            }
            out.push(share);
        }
    }
    Ok(out)
}

/// Authorization's share of whole requests as a client sees them: for each `(label, (token,
/// target) unrestricted, (token, target) scoped)`, one connection per side and one request at a
/// time (no queueing behind other requests), the order swapped every round so neither side
/// always runs on a cache the other warmed. A failed request is an error: a figure for a refusal
/// would measure the wrong thing.
async fn request_share(base: &str, rounds: usize, pairs: Vec<(&'static str, (&str, Target), (&str, Target))>) -> CliResult<Vec<Share>> {
    let client = || reqwest::Client::builder().pool_max_idle_per_host(1).build();
    let (bare_client, auth_client) = (client()?, client()?);
    let mut r = rand::thread_rng();
    let mut out = Vec::new();
    for (label, bare, auth) in pairs {
        let mut share = Share::new(label);
        for i in 0..rounds {
            let bare_first = i % 2 == 0;
            for side in [bare_first, !bare_first] {
                let (c, (token, target)) = if side { (&bare_client, &bare) } else { (&auth_client, &auth) };
                let path = target.pick(&mut r);
                let t = Instant::now();
                let resp = c.get(format!("{base}{path}")).bearer_auth(token).send().await?;
                let status = resp.status();
                std::hint::black_box(resp.bytes().await?);
                let ns = t.elapsed().as_nanos() as u64;
                if !status.is_success() {
                    return Err(format!("{label}: GET {path} answered {status}").into());
                }
                if side {
                    share.bare.saturating_record(ns);
                } else {
                    share.auth.saturating_record(ns);
                }
            }
        }
        out.push(share);
    }
    Ok(out)
}

/// The first page sorted by update time (最近更新), the whole base's against a user's scoped one:
/// each scope part then has to come in update order (migration 0020, a part per department).
/// Fewer rounds than `authorization_share`: before those indexes a scoped page took 50–300 ms.
async fn update_sorted_pages(app: &dangan_app::App, users: &[(&'static str, &dangan_core::User)]) -> CliResult<Vec<Share>> {
    use dangan_store::{ArchiveFilter, ArchiveQuery, SortOrder};
    let ns = |t: Instant| t.elapsed().as_nanos() as u64;
    let mut out = Vec::new();
    for (label, user) in users {
        let p = dangan_app::Principal::new((*user).clone(), false);
        let mut share = Share::new(label);
        for _ in 0..300 {
            let t = Instant::now();
            let q = ArchiveQuery { filter: ArchiveFilter::default(), sort: SortOrder::UpdatedDesc, after: None, limit: 51 };
            std::hint::black_box(app.store.list_archives(&q).await?);
            share.bare.saturating_record(ns(t));
            let t = Instant::now();
            app.authorize_general(&p, dangan_core::policy::Action::List).await?;
            let scope = app.query_scope(&p).await?;
            let q = ArchiveQuery { filter: ArchiveFilter { scope: Some(scope), ..Default::default() }, sort: SortOrder::UpdatedDesc, after: None, limit: 51 };
            std::hint::black_box(app.store.list_archives(&q).await?);
            share.auth.saturating_record(ns(t));
        }
        out.push(share);
    }
    Ok(out)
}
