//! `dangan` — the one binary: web server, CLI and benchmark.
//!
//! Every setting is a flag and a `DANGAN_*` environment variable (`dangan --help`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use dangan_app::{App, AppError, Settings};
use dangan_core::numbering::NumberScheme;
use dangan_core::Role;

mod bench;
mod bench_import;
mod bench_search;
mod import_cmd;

#[derive(Parser)]
#[command(name = "dangan", version, about = "Dangan 档案 — customer archive management (客户档案管理系统)",
    long_about = "Dangan 档案 — customer archive management (客户档案管理系统).\n\n\
    Runs on embedded SQLite under the data directory by default; set a PostgreSQL URL to run \
    several servers on one database. Every option is also an environment variable (shown as [env: …]).",
    after_help = "Environment (each also a flag; `dangan serve --help` for the server's):\n  \
    DANGAN_DATA_DIR        data directory (default ./dangan-data)\n  \
    DANGAN_DATABASE_URL    empty = embedded SQLite in the data dir; postgres://user@host/db = PostgreSQL\n  \
    DANGAN_LISTEN          serve: address:port (default 127.0.0.1:8080)\n  \
    DANGAN_ADMIN_PASSWORD  serve: the first admin's password (default: random, printed once)\n  \
    DANGAN_DEMO            serve: demo archives to load on first start (default 0)\n  \
    DANGAN_NUMBER_PATTERN  archive number pattern (default KH-{YYYY}-{SEQ:6})\n  \
    DANGAN_ARCHIVE_ROOM_NETWORKS  CIDRs of the archive room (机密 archives are read only there)\n  \
    DANGAN_ENCRYPTION_KEY  key for ID numbers and health data at rest (default: dangan.key in the data dir)\n  \
    DANGAN_BACKUP_KEY, DANGAN_BACKUP_KEY_FILE, DANGAN_BACKUP_DIR  backups (daily at DANGAN_BACKUP_HOUR, monthly on the 1st)\n  \
    DANGAN_MAX_ATTACHMENT_MB, DANGAN_LOG")]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Global {
    /// Directory for the embedded database, attachments and backups.
    #[arg(long, env = "DANGAN_DATA_DIR", default_value = "./dangan-data", global = true)]
    data_dir: PathBuf,
    /// Database: empty for embedded SQLite in the data dir, or postgres://user@host/db.
    #[arg(long, env = "DANGAN_DATABASE_URL", default_value = "", global = true, hide_default_value = true)]
    database_url: String,
    /// Archive number pattern: {YYYY} {YY} {MM} {DEPT} {SEQ:n}, e.g. KH-{YYYY}-{SEQ:6}.
    #[arg(long, env = "DANGAN_NUMBER_PATTERN", default_value = dangan_core::numbering::DEFAULT_PATTERN, global = true)]
    number_pattern: String,
    /// Largest attachment accepted, in MiB.
    #[arg(long, env = "DANGAN_MAX_ATTACHMENT_MB", default_value_t = 20, global = true)]
    max_attachment_mb: usize,
    /// Networks designated as the archive room, comma-separated CIDRs (e.g. 10.8.1.0/24):
    /// 机密 archives are read only from these addresses.
    #[arg(long, env = "DANGAN_ARCHIVE_ROOM_NETWORKS", default_value = "", global = true, hide_default_value = true)]
    archive_room_networks: String,
    /// Key (64 hex digits) that encrypts ID numbers and health data at rest. Without it, a key
    /// file `dangan.key` in the data dir is used (created on first start). Servers sharing a
    /// PostgreSQL database must all be given the same key.
    #[arg(long, env = "DANGAN_ENCRYPTION_KEY", hide_env_values = true, global = true)]
    encryption_key: Option<String>,
    /// SQLite: MiB of the database file each reader connection maps into memory (0: none; at
    /// most 2047). Speeds up large scans; mapped pages are the OS page cache read in place, but
    /// they count in the process's RSS once per reader.
    #[arg(long, env = "DANGAN_SQLITE_MMAP_MIB", default_value_t = 0, global = true)]
    sqlite_mmap_mib: u64,
    /// Where backup sets are written (default: backups/ in the data dir; better on another disk).
    #[arg(long, env = "DANGAN_BACKUP_DIR", global = true)]
    backup_dir: Option<PathBuf>,
    /// Key (64 hex digits) that backups are encrypted with (`dangan backup keygen` makes one).
    /// Keep it apart from the backups: with it, a backup set holds all the data.
    #[arg(long, env = "DANGAN_BACKUP_KEY", hide_env_values = true, global = true)]
    backup_key: Option<String>,
    /// A file holding the backup key (instead of --backup-key).
    #[arg(long, env = "DANGAN_BACKUP_KEY_FILE", global = true)]
    backup_key_file: Option<PathBuf>,
    /// serve: the hour (server local time, 0-23) from which the daily backup runs; the backup of
    /// the 1st of each month is kept as the monthly one.
    #[arg(long, env = "DANGAN_BACKUP_HOUR", default_value_t = 2, value_parser = clap::value_parser!(u32).range(0..24), global = true)]
    backup_hour: u32,
    /// Daily backup sets kept.
    #[arg(long, env = "DANGAN_BACKUP_KEEP_DAILY", default_value_t = 7, global = true)]
    backup_keep_daily: usize,
    /// Monthly backup sets kept.
    #[arg(long, env = "DANGAN_BACKUP_KEEP_MONTHLY", default_value_t = 12, global = true)]
    backup_keep_monthly: usize,
    /// Manual backup sets kept (pruned when a scheduled backup runs).
    #[arg(long, env = "DANGAN_BACKUP_KEEP_MANUAL", default_value_t = 10, global = true)]
    backup_keep_manual: usize,
    /// How SQLite is copied: backup-api (page copy in one read transaction) or vacuum-into.
    #[arg(long, env = "DANGAN_BACKUP_SQLITE_METHOD", default_value = "backup-api", value_parser = parse_sqlite_method, global = true)]
    backup_sqlite_method: dangan_store::SnapshotMethod,
    /// Log filter (e.g. info, dangan=debug).
    #[arg(long, env = "DANGAN_LOG", default_value = "info", global = true)]
    log: String,
}

#[derive(Subcommand)]
enum Command {
    /// Start the web UI and API. On first start, creates the admin and prints the login.
    Serve(ServeArgs),
    /// Load N generated demo archives (deterministic, realistic Chinese data), with a progress bar.
    Demo {
        /// How many archives to add.
        #[arg(long, default_value_t = 1000)]
        count: u64,
    },
    /// Apply database migrations and exit (serve also does this at start).
    Migrate,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Measure load rate, GET and list latency over HTTP, and server memory; prints a table.
    Bench(bench::BenchArgs),
    /// Search benchmark (issue 5): the published query set at N demo archives.
    BenchSearch(bench_search::BenchSearchArgs),
    /// Import benchmark (issue 6): a CSV and an xlsx of N customers imported into a fresh database.
    BenchImport(bench_import::BenchImportArgs),
    /// Rebuilds the search index from the archives and contacts.
    Reindex,
    /// Import customers from .xlsx, .xls, .csv (UTF-8 or GBK) or .vcf: checks the file first
    /// (bad rows, duplicates), then imports with a progress bar. Re-importing creates nothing twice.
    Import(import_cmd::ImportArgs),
    /// The audit trail: verify its hash chain, export its head digest.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Make an encrypted backup set while the server runs (database, attachments, configuration);
    /// `backup verify SET` checks one, `backup list` lists them, `backup keygen` makes a key.
    Backup(BackupCommand),
    /// Restore a backup set into an empty data dir (--data-dir) and, for a PostgreSQL set, into an
    /// empty database (--database-url). Stop the servers first. Everything is verified before
    /// anything is written; a damaged set leaves the target untouched.
    Restore {
        /// The set: its directory, or its id in the backup dir.
        set: String,
    },
    /// Run a scheduled job now (the server runs them by itself): `pool` returns archives without
    /// a follow-up to the customer pool, `grants` records expired grants, `all` runs both.
    Jobs {
        #[command(subcommand)]
        sub: JobsSub,
    },
}

#[derive(Subcommand)]
enum JobsSub {
    /// Run one job (or `all`) and print what it did.
    Run {
        #[arg(value_parser = ["pool", "grants", "all"])]
        job: String,
    },
}

/// The key of the pool sweep's job lock: one server sweeps at a time.
const POOL_JOB_LOCK: i64 = 0x7015_0001;

async fn run_pool_sweep(app: &App) -> CliResult<Option<dangan_app::lifecycle::SweepResult>> {
    let Some(_lock) = app.store.try_job_lock(POOL_JOB_LOCK).await? else { return Ok(None) };
    Ok(Some(app.sweep_pool(chrono::Utc::now()).await?))
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
struct BackupCommand {
    #[command(subcommand)]
    sub: Option<BackupSub>,
    /// Write the set here instead of the backup dir.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Verify the set after writing it.
    #[arg(long)]
    verify: bool,
}

#[derive(Subcommand)]
enum BackupSub {
    /// Check a set without restoring: the key, the manifest, and every file's authentication,
    /// size and SHA-256. Exits with status 2 when the set is damaged.
    Verify {
        /// The set: its directory, or its id in the backup dir.
        set: String,
    },
    /// List the sets in the backup dir.
    List,
    /// Print a new random backup key (64 hex digits).
    Keygen,
}

fn parse_sqlite_method(s: &str) -> Result<dangan_store::SnapshotMethod, String> {
    match s {
        "backup-api" | "backup_api" => Ok(dangan_store::SnapshotMethod::BackupApi),
        "vacuum-into" | "vacuum_into" | "vacuum" => Ok(dangan_store::SnapshotMethod::VacuumInto),
        _ => Err(format!("unknown method {s:?} (backup-api or vacuum-into)")),
    }
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the whole hash chain and report the first record that was modified, deleted or
    /// inserted out of order; also compare every exported head digest (audit-heads/ in the
    /// data dir, and --head files) with the chain, which detects a rewrite of the whole chain.
    /// Exits with status 2 when the chain is broken.
    Verify {
        /// More exported head files (lines `seq hash time`) to compare.
        #[arg(long = "head")]
        heads: Vec<PathBuf>,
    },
    /// Print the chain's head digest (`seq hash time`) and append it to audit-heads/ in the data
    /// dir; keep a copy elsewhere (the server also exports one every day).
    Head,
}

#[derive(Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "DANGAN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Password for the first admin (instead of printing a random one). Used only on first start.
    #[arg(long, env = "DANGAN_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Demo archives to load on first start (0 for none).
    #[arg(long, env = "DANGAN_DEMO", default_value_t = 0)]
    demo: u64,
    /// Benchmark only: do not record allowed archive reads in the audit trail, to measure what
    /// auditing costs. Never use in service.
    #[arg(long, hide = true)]
    bench_without_read_audit: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user. Without --password a random one is printed.
    Add {
        username: String,
        /// Display name (e.g. 张明).
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, env = "DANGAN_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Department code (e.g. XS1).
        #[arg(long)]
        dept: Option<String>,
        /// Role(s): general_manager, sales_vp, sales_director, dept_manager, salesperson, service_staff, finance, archivist, auditor, system_admin.
        #[arg(long = "role", value_parser = parse_role)]
        roles: Vec<Role>,
    },
    /// List users.
    List,
    /// Set a user's password (also unlocks the account).
    Passwd {
        username: String,
        #[arg(long, env = "DANGAN_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse().map_err(|_| format!("unknown role {s:?}"))
}

type CliResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

pub(crate) async fn open_app(g: &Global) -> CliResult<App> {
    let scheme = NumberScheme::parse(&g.number_pattern).map_err(|e| format!("--number-pattern: {e}"))?;
    std::fs::create_dir_all(&g.data_dir).map_err(|e| format!("cannot create data dir {}: {e}", g.data_dir.display()))?;
    let options = dangan_store::OpenOptions { sqlite_mmap_bytes: g.sqlite_mmap_mib.saturating_mul(1024 * 1024) };
    let store = dangan_store::open_with(&g.database_url, &g.data_dir.join("dangan.db"), options).await.map_err(|e| format!("cannot open database: {e}"))?;
    store.migrate().await.map_err(|e| format!("migration failed: {e}"))?;
    let mut settings = Settings::new(g.data_dir.clone());
    settings.number_scheme = scheme;
    settings.max_attachment_bytes = g.max_attachment_mb * 1024 * 1024;
    settings.archive_room_networks = g
        .archive_room_networks
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.parse::<ipnet::IpNet>().or_else(|_| n.parse::<std::net::IpAddr>().map(ipnet::IpNet::from)).map_err(|_| format!("--archive-room-networks: not a network: {n}")))
        .collect::<Result<_, _>>()?;
    let key = match g.encryption_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => k.to_string(),
        None => {
            if !g.database_url.trim().is_empty() {
                tracing::warn!("no DANGAN_ENCRYPTION_KEY: using the key file in the data dir; every server sharing this database needs the same key");
            }
            key_file(&g.data_dir.join("dangan.key"))?
        }
    };
    settings.crypto = std::sync::Arc::new(dangan_app::crypto::FieldCrypto::from_key_hex(&key).map_err(|e| format!("encryption key: {e}"))?);
    settings.backup = backup_settings(g)?;
    Ok(App::new(store, settings))
}

/// The backup key, if one is configured.
fn backup_key(g: &Global) -> CliResult<Option<dangan_app::backup::BackupKey>> {
    use dangan_app::backup::BackupKey;
    Ok(match (g.backup_key.as_deref().map(str::trim).filter(|k| !k.is_empty()), &g.backup_key_file) {
        (Some(k), _) => Some(BackupKey::from_hex(k).map_err(|e| format!("--backup-key: {e}"))?),
        (None, Some(f)) => Some(BackupKey::from_file(f)?),
        (None, None) => None,
    })
}

fn backup_settings(g: &Global) -> CliResult<dangan_app::backup::BackupSettings> {
    use chrono::Offset;
    let mut b = dangan_app::backup::BackupSettings::new(g.backup_dir.clone().unwrap_or_else(|| g.data_dir.join("backups")));
    b.key = backup_key(g)?;
    b.hour = g.backup_hour;
    b.retention = dangan_core::backup::Retention { daily: g.backup_keep_daily, monthly: g.backup_keep_monthly, manual: g.backup_keep_manual };
    b.utc_offset = chrono::Local::now().offset().fix();
    b.sqlite_method = g.backup_sqlite_method;
    Ok(b)
}

/// A set named on the command line: a directory, or an id in the backup dir.
fn set_path(g: &Global, set: &str) -> PathBuf {
    let p = PathBuf::from(set);
    if p.join("set.json").exists() {
        return p;
    }
    g.backup_dir.clone().unwrap_or_else(|| g.data_dir.join("backups")).join(set)
}

fn human_bytes(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 { format!("{n} B") } else { format!("{v:.1} {}", U[i]) }
}

async fn backup_command(g: &Global, cmd: BackupCommand) -> CliResult {
    use dangan_app::backup;
    match cmd.sub {
        Some(BackupSub::Keygen) => {
            println!("{}", backup::BackupKey::generate_hex());
        }
        Some(BackupSub::List) => {
            let dir = g.backup_dir.clone().unwrap_or_else(|| g.data_dir.join("backups"));
            let sets = backup::list_sets(&dir);
            if sets.is_empty() {
                println!("no backup sets in {}", dir.display());
            }
            for s in sets {
                let v = match s.verified {
                    Some(true) => "verified",
                    Some(false) => "DAMAGED",
                    None => "not verified",
                };
                println!("{:<36} {:<8} {:<9} {:>10}  {}", s.id, s.kind.as_str(), s.engine, human_bytes(s.stored_bytes), v);
            }
        }
        Some(BackupSub::Verify { set }) => {
            let key = backup_key(g)?.ok_or("no backup key: give --backup-key, DANGAN_BACKUP_KEY or DANGAN_BACKUP_KEY_FILE / 未配置备份密钥")?;
            let path = set_path(g, &set);
            let out = tokio::task::spawn_blocking(move || backup::verify_path(&path, &key)).await?;
            match &out.problem {
                None => println!("备份完好 backup set {} verified: {} files, {} in {:.1} s", out.id, out.files, human_bytes(out.bytes), out.seconds),
                Some(p) => {
                    eprintln!("备份已损坏 THE BACKUP SET {} IS DAMAGED: {p}", out.id);
                    std::process::exit(2);
                }
            }
        }
        None => {
            let app = open_app(g).await?;
            let t = Instant::now();
            let set = app.create_backup(None, "cli", dangan_core::backup::SetKind::Manual, cmd.out.as_deref(), chrono::Utc::now()).await?;
            println!(
                "backup set {} written to {}: {} files, {} ({} stored) in {:.1} s",
                set.id,
                cmd.out.as_deref().unwrap_or(app.backup_dir()).display(),
                set.files,
                human_bytes(set.bytes),
                human_bytes(set.stored_bytes),
                t.elapsed().as_secs_f64()
            );
            if cmd.verify {
                let dir = cmd.out.clone().unwrap_or_else(|| app.backup_dir().to_path_buf());
                let v = app.verify_backup_at(&dir, &set.id).await?;
                match v.problem {
                    None => println!("verified in {:.1} s", v.seconds),
                    Some(p) => {
                        eprintln!("备份已损坏 THE NEW SET DOES NOT VERIFY: {p}");
                        std::process::exit(2);
                    }
                }
            }
        }
    }
    Ok(())
}

async fn restore_command(g: &Global, set: &str) -> CliResult {
    let key = backup_key(g)?.ok_or("no backup key: give --backup-key, DANGAN_BACKUP_KEY or DANGAN_BACKUP_KEY_FILE / 未配置备份密钥")?;
    let path = set_path(g, set);
    let url = g.database_url.trim();
    match dangan_app::backup::restore(&path, &key, &g.data_dir, (!url.is_empty()).then_some(url)).await {
        Ok(r) => {
            println!(
                "已恢复 restored set {} into {}{}: {} files, {}, {} archives, audit trail up to record {} (+ the restore record) in {:.1} s",
                r.id,
                g.data_dir.display(),
                if url.is_empty() { String::new() } else { " and the database".to_string() },
                r.files,
                human_bytes(r.bytes),
                r.stats.archives,
                r.stats.audit_head_seq,
                r.seconds
            );
            println!("the field-encryption key was restored as dangan.key in the data dir; run `dangan audit verify` to check the trail");
            Ok(())
        }
        Err(e) => {
            eprintln!("恢复失败，目标未改动 RESTORE FAILED, the target was not changed: {e}");
            std::process::exit(2);
        }
    }
}

/// The key in `path`, created (readable by the owner only) when missing.
fn key_file(path: &std::path::Path) -> CliResult<String> {
    if let Ok(k) = std::fs::read_to_string(path) {
        return Ok(k.trim().to_string());
    }
    let key = dangan_app::crypto::FieldCrypto::generate_key_hex();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    use std::io::Write;
    let mut f = options.open(path).map_err(|e| format!("cannot create key file {}: {e}", path.display()))?;
    f.write_all(key.as_bytes())?;
    f.sync_all()?;
    Ok(key)
}

fn progress_bar(total: u64) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(total);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} 档案 ({per_sec}, ETA {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb
}

/// Loads `count` demo archives after the existing ones, showing progress on the terminal.
pub(crate) async fn load_demo(app: &App, count: u64, password: Option<&str>) -> CliResult<(u64, f64)> {
    let owners = app.ensure_demo_company(password).await?;
    let admin = app.store.find_login(dangan_app::auth::ADMIN_USERNAME).await?.map(|l| l.user.id).unwrap_or(1);
    let start = app.store.count_archives(&Default::default()).await? as u64;
    let pb = progress_bar(count);
    let t = Instant::now();
    let n = app.load_demo(start, count, owners, admin, |done| pb.set_position(done)).await?;
    pb.finish_and_clear();
    Ok((n, t.elapsed().as_secs_f64()))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Where exported audit head digests are kept (one file per day).
fn heads_dir(g: &Global) -> PathBuf {
    g.data_dir.join("audit-heads")
}

/// Appends the chain's current head to today's file in `audit-heads/`.
async fn export_head(app: &App, g: &Global) -> CliResult<Option<dangan_core::audit::AuditHead>> {
    let Some(head) = app.audit_head().await? else { return Ok(None) };
    let dir = heads_dir(g);
    std::fs::create_dir_all(&dir)?;
    let file = dir.join(format!("{}.txt", head.at.format("%Y-%m-%d")));
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&file)?;
    writeln!(f, "{}", head.to_line())?;
    f.sync_all()?;
    Ok(Some(head))
}

fn read_heads(paths: &[PathBuf]) -> CliResult<Vec<dangan_core::audit::AuditHead>> {
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            out.push(dangan_core::audit::AuditHead::parse_line(line).ok_or_else(|| format!("{}:{}: not a head line (seq hash time)", p.display(), i + 1))?);
        }
    }
    Ok(out)
}

async fn audit_command(g: &Global, cmd: AuditCommand) -> CliResult {
    let app = open_app(g).await?;
    match cmd {
        AuditCommand::Head => match export_head(&app, g).await? {
            Some(h) => println!("{}", h.to_line()),
            None => println!("the audit trail is empty"),
        },
        AuditCommand::Verify { heads } => {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(heads_dir(g)) {
                Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "txt")).collect(),
                Err(_) => Vec::new(),
            };
            files.sort();
            files.extend(heads);
            let heads = read_heads(&files)?;
            let t = Instant::now();
            let report = app.verify_audit(&heads).await?;
            println!("checked {} records and {} exported heads in {:.2} s; head {} {}", report.checked, report.heads_checked, t.elapsed().as_secs_f64(), report.head_seq, report.head_hash);
            if let Some(problem) = report.problem {
                eprintln!("审计日志链条已损坏 THE AUDIT TRAIL IS BROKEN: {problem}");
                std::process::exit(2);
            }
            println!("审计日志完整 the audit trail is intact");
        }
    }
    Ok(())
}

/// Jobs a server runs beside requests: recording grant expiries (every minute), exporting
/// the audit chain's head (at start and every day) and the scheduled backups (checked every
/// minute; `App::scheduled_backup` decides whether one is due and takes the backup lock).
fn spawn_background_jobs(app: App, g: Global) {
    if app.settings.backup.key.is_some() {
        let backups = app.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
            loop {
                tick.tick().await;
                match backups.scheduled_backup(chrono::Utc::now()).await {
                    Ok(Some(set)) => tracing::info!(id = %set.id, kind = set.kind.as_str(), bytes = set.stored_bytes, "scheduled backup written"),
                    Ok(None) => {}
                    Err(e) => tracing::error!("scheduled backup failed: {e}"),
                }
            }
        });
    } else {
        tracing::warn!("no backup key (DANGAN_BACKUP_KEY / DANGAN_BACKUP_KEY_FILE): scheduled backups are off");
    }
    let pool = app.clone();
    tokio::spawn(async move {
        // The customer pool sweep: hourly (follow-up periods are counted in days).
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match run_pool_sweep(&pool).await {
                Ok(Some(r)) if r.returned > 0 => tracing::info!(returned = r.returned, skipped = r.skipped, "archives returned to the customer pool"),
                Ok(_) => {}
                Err(e) => tracing::warn!("pool sweep failed: {e}"),
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        let mut last_export: Option<chrono::NaiveDate> = None;
        loop {
            tick.tick().await;
            if let Err(e) = app.sweep_expired_grants().await {
                tracing::warn!("recording grant expiries failed: {e}");
            }
            let today = chrono::Utc::now().date_naive();
            if last_export != Some(today) {
                match export_head(&app, &g).await {
                    Ok(_) => last_export = Some(today),
                    Err(e) => tracing::warn!("exporting the audit head failed: {e}"),
                }
            }
        }
    });
}

async fn serve(g: &Global, args: ServeArgs) -> CliResult {
    let mut app = open_app(g).await?;
    if args.bench_without_read_audit {
        let mut settings = (*app.settings).clone();
        settings.audit_reads = false;
        app = App::new(app.store.clone(), settings);
    }
    let created = match app.ensure_admin(args.admin_password.as_deref()).await {
        Ok(c) => c,
        // Another server sharing the database created the admin at the same moment.
        Err(AppError::Duplicate(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let first_start = created.is_some();
    if first_start && args.demo > 0 {
        let password = created.as_ref().map(|(_, p)| p.as_str());
        eprintln!("正在生成演示数据 Loading {} demo archives…", args.demo);
        let (n, secs) = load_demo(&app, args.demo, password).await?;
        eprintln!("已载入 {n} 份演示档案 Loaded {n} demo archives in {secs:.1} s");
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() { "127.0.0.1".to_string() } else { addr.ip().to_string() };
    let url = format!("http://{host}:{}", addr.port());
    let engine = match app.store.engine() {
        dangan_store::Engine::Sqlite => format!("SQLite {}", g.data_dir.join("dangan.db").display()),
        dangan_store::Engine::Postgres => "PostgreSQL".to_string(),
    };
    println!();
    println!("  Dangan 档案 已启动 is running: {url}");
    println!("  数据库 Database: {engine}");
    match &created {
        Some((user, pw)) => {
            println!("  登录 Login: {user} / {pw}");
            if args.admin_password.is_none() {
                println!("  （此密码只显示一次，请妥善保存 — this password is shown only once）");
            }
            if first_start && args.demo > 0 {
                println!("  演示账号 Demo staff (same password): zongjingli 总经理, zongjian 营销总监, jingli1 部门经理, xiaoshou1 业务员, dangan1 档案管理员");
            }
        }
        None => println!("  登录 Login: admin（密码见首次启动时的输出 — password as printed at first start）"),
    }
    println!();
    tracing::info!(%url, "listening");
    spawn_background_jobs(app.clone(), g.clone());
    axum::serve(listener, dangan_web::router(app).into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn user_command(g: &Global, cmd: UserCommand) -> CliResult {
    let app = open_app(g).await?;
    match cmd {
        UserCommand::Add { username, name, password, dept, roles } => {
            let dept_id = match dept {
                Some(code) => Some(app.departments().await?.into_iter().find(|d| d.code == code).ok_or_else(|| format!("no department with code {code:?}"))?.id),
                None => None,
            };
            let (password, printed) = match password {
                Some(p) => (p, false),
                None => (dangan_app::auth::random_password(), true),
            };
            let user = app.add_user(None, &username, &name, Some(&password), dept_id, roles).await?;
            println!("created user {} (id {})", user.username, user.id);
            if printed {
                println!("password: {password}");
            }
        }
        UserCommand::List => {
            for u in app.users().await? {
                let roles: Vec<&str> = u.roles.iter().map(|r| r.label("zh-CN")).collect();
                println!("{:>5}  {:<16} {:<10} {}{}", u.id, u.username, u.display_name, roles.join(","), if u.active { "" } else { "  (disabled)" });
            }
        }
        UserCommand::Passwd { username, password } => {
            let login = app.store.find_login(&username).await?.ok_or_else(|| format!("no user {username:?}"))?;
            let (password, printed) = match password {
                Some(p) => (p, false),
                None => (dangan_app::auth::random_password(), true),
            };
            app.set_password(None, login.user.id, &password).await?;
            println!("password changed for {username}");
            if printed {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// For what still uses glibc's allocator (SQLite's C code). glibc raises its mmap threshold each time a large block is freed; after that, blocks of up to
/// 32 MiB come from the heap and stay there when freed. Each password hash (Argon2, 19 MiB) then
/// left its block behind in its thread's heap: a fresh import process held 189 MB before reading
/// a row (18 MB with this). A fixed threshold keeps large blocks mapped, and returns them when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_large_allocations_mapped() {
    // SAFETY: mallopt only sets an allocator parameter; called first thing, on one thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 8 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_large_allocations_mapped() {}

/// mimalloc instead of glibc's allocator: an import builds its rows on the reader thread and
/// frees them on the writer, which glibc serves through locked arenas (malloc/free were ~20% of
/// an import's CPU). Measured on a 300k-row CSV import, alternating: process CPU −10%, wall
/// −10–15%; peak RSS +10% with immediate purging (below), +40% with mimalloc's 1 s default.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` (mimalloc.h, the same index in v2 and v3; libmimalloc-sys names
/// only the older options): freed memory goes back to the system at once. With the default
/// delay, each password hash's 19 MiB block stayed resident a while and an import's peak grew
/// by 60–80 MB, too close to the 300 MB budget of a 1M-row import.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn release_freed_memory_at_once() {
    // SAFETY: sets an allocator option; called first thing in main, before other threads exist.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) }
}

fn main() {
    release_freed_memory_at_once();
    keep_large_allocations_mapped();
    let cli = Cli::parse();
    init_logging(&cli.global.log);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result: CliResult = rt.block_on(async move {
        let g = cli.global.clone();
        match cli.command {
            Command::Serve(args) => serve(&g, args).await,
            Command::Demo { count } => {
                let app = open_app(&g).await?;
                let (n, secs) = load_demo(&app, count, None).await?;
                println!("loaded {n} demo archives in {secs:.1} s ({:.0} archives/s)", n as f64 / secs.max(1e-9));
                Ok(())
            }
            Command::Migrate => {
                let app = open_app(&g).await?;
                println!("migrations applied ({:?})", app.store.engine());
                Ok(())
            }
            Command::User(cmd) => user_command(&g, cmd).await,
            Command::Bench(args) => bench::run(&g, args).await,
            Command::Audit(cmd) => audit_command(&g, cmd).await,
            Command::BenchSearch(args) => bench_search::run(&g, args).await,
            Command::Import(args) => import_cmd::run(&g, args).await,
            Command::BenchImport(args) => bench_import::run(&g, args).await,
            Command::Backup(cmd) => backup_command(&g, cmd).await,
            Command::Restore { set } => restore_command(&g, &set).await,
            Command::Jobs { sub: JobsSub::Run { job } } => {
                let app = open_app(&g).await?;
                if job == "pool" || job == "all" {
                    match run_pool_sweep(&app).await? {
                        Some(r) => println!("pool: {} archives returned to the customer pool, {} skipped (changed meanwhile)", r.returned, r.skipped),
                        None => println!("pool: another server is sweeping now"),
                    }
                }
                if job == "grants" || job == "all" {
                    app.sweep_expired_grants().await?;
                    println!("grants: expiries recorded");
                }
                Ok(())
            }
            Command::Reindex => {
                let app = open_app(&g).await?;
                let t = Instant::now();
                let n = app.reindex().await?;
                println!("search index rebuilt: {n} archives in {:.1} s", t.elapsed().as_secs_f64());
                Ok(())
            }
        }
    });
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

