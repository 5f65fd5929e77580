//! `dangan bench-import`: writes a CSV and an xlsx of N generated customers (with the demo
//! generator, through the same exporters users get), then imports each into a fresh database
//! twice — as the UI does (dry run, then run) and as `dangan import` does (one pass) — reading,
//! mapping, validation, duplicate check, fingerprints, encryption, search index terms, numbering
//! and the audit trail included, and prints rows/s, wall time and the peak RSS of this process
//! during each import. Asserts nothing. `--flows` picks one of the two (a clean peak RSS).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use clap::Args;
use dangan_app::import::{ImportOptions, RowDecision};
use dangan_app::Principal;
use dangan_core::demo::DemoGenerator;
use dangan_io::export::{ColumnSet, CsvEncoding, CsvExporter, XlsxExporter};
use dangan_io::mapping::{ContactField, Field, Target};

use crate::{open_app, CliResult, Global};

#[derive(Args, Clone)]
pub struct BenchImportArgs {
    /// Rows in the CSV file.
    #[arg(long, default_value_t = 1_000_000)]
    csv_rows: u64,
    /// Rows in the xlsx file (0 to skip).
    #[arg(long, default_value_t = 200_000)]
    xlsx_rows: u64,
    /// Which ways of importing to time: `both`, `ui` (dry run, then run) or `one-pass`.
    #[arg(long, default_value = "both", value_parser = ["both", "ui", "one-pass"])]
    flows: String,
    /// Create the rows that have duplicate candidates instead of skipping them: every row of the
    /// file becomes an archive, as in a move-in of distinct customers (the demo data repeats
    /// names, so by default about half of a 1M file is skipped as duplicates).
    #[arg(long)]
    create_duplicates: bool,
    /// Engine: sqlite or postgres.
    #[arg(long, default_value = "sqlite")]
    engine: String,
    /// PostgreSQL server URL (a fresh database is created on it) for --engine postgres.
    #[arg(long, env = "DANGAN_BENCH_PG", default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg: String,
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status").ok().and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok())).unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux), so each phase's peak is its own.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn columns() -> ColumnSet {
    use Field::*;
    let mut t: Vec<Target> =
        [Name, Kind, Mobile, Landline, Email, Address, Province, City, District, Industry, Uscc, IdNumber, Gender, BirthDate, Grade, CreditGrade, CreditLimit, Status, Tags, Notes].into_iter().map(Target::Field).collect();
    t.extend([ContactField::Name, ContactField::Title, ContactField::Mobile].into_iter().map(|f| Target::Contact(0, f)));
    let mut set = ColumnSet::from_targets(t);
    set.archive_no = false;
    set
}

async fn fresh_global(g: &Global, args: &BenchImportArgs, tag: &str) -> CliResult<Global> {
    let mut g = g.clone();
    g.data_dir = std::env::temp_dir().join(format!("dangan-bench-import-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&g.data_dir);
    std::fs::create_dir_all(&g.data_dir)?;
    if args.engine == "postgres" {
        let name = format!("dangan_bench_import_{tag}_{}", std::process::id());
        let (client, conn) = tokio_postgres::connect(&args.pg, tokio_postgres::NoTls).await?;
        tokio::spawn(conn);
        client.execute(&format!("DROP DATABASE IF EXISTS {name}"), &[]).await?;
        client.execute(&format!("CREATE DATABASE {name}"), &[]).await?;
        let base = args.pg.rsplit_once('/').map(|(b, _)| b).unwrap_or(&args.pg);
        g.database_url = format!("{base}/{name}");
    } else {
        g.database_url = String::new();
    }
    Ok(g)
}

pub async fn run(g: &Global, args: BenchImportArgs) -> CliResult {
    let dir = std::env::temp_dir().join("dangan-bench-import-files");
    std::fs::create_dir_all(&dir)?;
    let gen = DemoGenerator::new(7, chrono::Utc::now().date_naive(), vec![(1, 1)]);
    let csv_path = dir.join(format!("customers-{}.csv", args.csv_rows));
    let xlsx_path = dir.join(format!("customers-{}.xlsx", args.xlsx_rows));
    let t = Instant::now();
    if !csv_path.exists() {
        let mut w = CsvExporter::new(BufWriter::with_capacity(1 << 20, File::create(&csv_path)?), columns(), CsvEncoding::Utf8Bom)?;
        for d in gen.archives(0..args.csv_rows) {
            w.write(None, &d.data, &d.contacts)?;
        }
        w.finish()?.flush()?;
    }
    if args.xlsx_rows > 0 && !xlsx_path.exists() {
        let mut x = XlsxExporter::new(columns(), "客户档案")?;
        for d in gen.archives(1_000_000_000..1_000_000_000 + args.xlsx_rows) {
            x.write(None, &d.data, &d.contacts)?;
        }
        x.finish_to(File::create(&xlsx_path)?)?;
    }
    eprintln!("files ready in {:.1} s ({})", t.elapsed().as_secs_f64(), dir.display());

    let mut lines = Vec::new();
    let mut phases = vec![("CSV UTF-8", csv_path.clone(), args.csv_rows)];
    if args.xlsx_rows > 0 {
        phases.push(("xlsx", xlsx_path.clone(), args.xlsx_rows));
    }
    // Each file twice, each time into a fresh base: as the UI imports (a dry run the user reads,
    // then the run: the file is read twice) and as `dangan import` does (one pass that reports
    // what the dry run would have said).
    for (label, path, rows) in phases {
        let flows: &[bool] = match args.flows.as_str() {
            "ui" => &[false],
            "one-pass" => &[true],
            _ => &[false, true],
        };
        for &one_pass in flows {
            let tag = format!("{}{}", if label == "xlsx" { "x" } else { "c" }, if one_pass { "1" } else { "2" });
            let g2 = fresh_global(g, &args, &tag).await?;
            let app = open_app(&g2).await?;
            app.ensure_admin(Some("bench-admin-1")).await?;
            app.ensure_demo_company(Some("bench-admin-1")).await?;
            let user = app.store.find_login("xiaoshou1").await?.ok_or("no demo salesperson")?.user;
            let principal = Principal::new(user, false);
            let options = ImportOptions { duplicates: Some(if args.create_duplicates { RowDecision::Create } else { RowDecision::Skip }), ..Default::default() };
            let size = std::fs::metadata(&path)?.len();
            reset_peak();
            let rss_before = status_kb("VmRSS:");
            let t = Instant::now();
            let staged = app.stage_import_file(&path.file_name().unwrap_or_default().to_string_lossy(), File::open(&path)?)?;
            let (analysis, job, analyze_secs) = if one_pass {
                let (analysis, job) = app.import_in_one_pass(&principal, &staged, &options, |_| {}).await?;
                (analysis, job, None)
            } else {
                let analysis = app.analyze_import(&principal, &staged, &options).await?;
                let analyze_secs = t.elapsed().as_secs_f64();
                let run_options = ImportOptions { mapping: Some(analysis.mapping.clone()), ..options.clone() };
                let job = app.run_import(&principal, analysis.import.id, &run_options, |_| {}).await?;
                (analysis, job, Some(analyze_secs))
            };
            let secs = t.elapsed().as_secs_f64();
            let peak = status_kb("VmHWM:");
            let run_secs = secs - analyze_secs.unwrap_or(0.0);
            let flow = if one_pass { "one pass" } else { "dry+run" };
            lines.push(format!(
                "| {label:<10} | {flow:<8} | {:>9} | {:>6} MB | {:>7} | {:>7.1} | {:>7.1} | {:>10.0} | {:>10.0} | {:>6.0} MB | {:>6.0} MB | {:>9} | {:>7} |",
                rows,
                size >> 20,
                analyze_secs.map(|s| format!("{s:.1}")).unwrap_or_else(|| "—".into()),
                run_secs,
                secs,
                job.counts.imported as f64 / run_secs.max(1e-9),
                rows as f64 / secs.max(1e-9),
                rss_before as f64 / 1024.0,
                peak as f64 / 1024.0,
                job.counts.imported,
                analysis.counts.invalid,
            ));
            eprintln!("{}", lines.last().unwrap());
            drop(app);
            if args.engine != "postgres" {
                let _ = std::fs::remove_dir_all(&g2.data_dir);
            }
        }
    }
    println!();
    println!("Import benchmark — engine {}, {} cores", args.engine, std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    println!("(dry run = read+map+validate+duplicates+fingerprints; run = the same + encryption, JSON, index terms, storage, audit;");
    println!(" dry+run = the UI's flow, the file read twice; one pass = `dangan import`, the run reporting what the dry run would)");
    println!("| file       | flow     |      rows |   size    | dry s   | run s   | total s | run rows/s | all rows/s | RSS before | peak RSS | imported  | bad     |");
    println!("|------------|----------|----------:|----------:|--------:|--------:|--------:|-----------:|-----------:|-----------:|---------:|----------:|--------:|");
    for l in lines {
        println!("{l}");
    }
    Ok(())
}
