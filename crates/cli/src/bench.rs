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
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0);
    (field("VmRSS:"), field("VmHWM:"))
}

struct Figures {
    label: String,
    requests: u64,
    errors: u64,
    secs: f64,
    hist: Histogram<u64>,
}

impl Figures {
    fn row(&self) -> String {
        let ms = |q: f64| self.hist.value_at_quantile(q) as f64 / 1000.0;
        format!(
            "| {:<28} | {:>9.0} | {:>8.2} | {:>8.2} | {:>8.2} | {:>6} |",
            self.label,
            self.requests as f64 / self.secs,
            ms(0.5),
            ms(0.99),
            self.hist.max() as f64 / 1000.0,
            self.errors
        )
    }
}

/// Runs `connections` loops for `seconds`, each picking a URL with `pick` and timing the GET.
async fn load(label: &str, base: &str, token: &str, connections: usize, seconds: u64, pick: Arc<dyn Fn(&mut rand::rngs::ThreadRng) -> String + Send + Sync>) -> Figures {
    let client = reqwest::Client::builder().pool_max_idle_per_host(connections).build().expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (client, stop, pick, base, token) = (client.clone(), stop.clone(), pick.clone(), base.to_string(), token.to_string());
        tasks.push(tokio::spawn(async move {
            let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram");
            let (mut n, mut errors) = (0u64, 0u64);
            while !stop.load(Ordering::Relaxed) {
                let path = pick(&mut rand::thread_rng());
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
    Figures { label: label.into(), requests, errors, secs: started.elapsed().as_secs_f64(), hist }
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
                client.batch_execute(&format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}")).await?;
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
    drop(app);

    // Start the server as its own process so its memory is measured alone.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(exe)
        .arg("serve")
        .env("DANGAN_DATA_DIR", &g.data_dir)
        .env("DANGAN_DATABASE_URL", &g.database_url)
        .env("DANGAN_LISTEN", format!("127.0.0.1:{port}"))
        .env("DANGAN_LOG", "warn")
        .env("DANGAN_DEMO", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().unwrap_or(0);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if client.get(format!("{base}/healthz")).send().await.map(|r| r.status().is_success()).unwrap_or(false) {
            break;
        }
        if Instant::now() > deadline {
            return Err("server did not become healthy within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let login: serde_json::Value = client.post(format!("{base}/api/v1/auth/login")).json(&serde_json::json!({"username": "admin", "password": password})).send().await?.json().await?;
    let token = login["token"].as_str().ok_or("login failed")?.to_string();
    let (rss_idle, _) = rss_kib(pid);

    let (c, s) = (args.connections, args.seconds);
    let mut rows = Vec::new();
    rows.push(load("GET /archives/{id}", &base, &token, c, s, Arc::new(move |r| format!("/api/v1/archives/{}", r.gen_range(min_id..=max_id)))).await);
    rows.push(load("list first page (50)", &base, &token, c, s, Arc::new(|_| "/api/v1/archives?limit=50".to_string())).await);
    rows.push(load("list deep page (keyset, 50)", &base, &token, c, s, Arc::new(move |r| format!("/api/v1/archives?limit=50&cursor=i{}", r.gen_range(min_id..=mid)))).await);
    rows.push(load("list filtered grade=A", &base, &token, c, s, Arc::new(|_| "/api/v1/archives?limit=50&grade=A".to_string())).await);
    rows.push(load("GET /healthz (floor)", &base, &token, c, s, Arc::new(|_| "/healthz".to_string())).await);
    let (rss, hwm) = rss_kib(pid);
    let _ = child.kill().await;

    println!();
    println!("## dangan bench — engine {}, {} archives, {} connections × {} s", args.engine, total, c, s);
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
    println!("server RSS: {:.1} MiB idle after start, {:.1} MiB after the runs, peak {:.1} MiB", rss_idle as f64 / 1024.0, rss as f64 / 1024.0, hwm as f64 / 1024.0);
    if let Some(name) = pg_db.filter(|_| !args.reuse) {
        let (client, conn) = tokio_postgres_connect(&args.pg).await?;
        tokio::spawn(conn);
        let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
    }
    Ok(())
}

async fn tokio_postgres_connect(url: &str) -> CliResult<(tokio_postgres::Client, impl std::future::Future<Output = Result<(), tokio_postgres::Error>>)> {
    Ok(tokio_postgres::connect(url, tokio_postgres::NoTls).await?)
}
