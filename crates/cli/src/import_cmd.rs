//! `dangan import FILE`: the import with a progress bar (rate and ETA), then what a dry run
//! would have reported (bad rows, duplicate candidates) — one reading of the file; `--dry-run`
//! checks and reports without importing.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use dangan_app::import::{ImportMode, ImportOptions, RowDecision};
use dangan_app::{App, Principal};
use dangan_store::ImportStatus;

use crate::{open_app, CliResult, Global};

#[derive(Clone, Copy, ValueEnum)]
pub enum ModeArg {
    /// Import the good rows and report the bad ones.
    GoodRows,
    /// Import nothing if any row is bad.
    AllOrNothing,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DuplicatesArg {
    /// Leave rows with duplicate candidates out (default).
    Skip,
    /// Create archives for them anyway.
    Create,
}

#[derive(Args)]
pub struct ImportArgs {
    /// The file: .xlsx, .xls, .csv (UTF-8 or GBK, detected) or .vcf.
    pub file: PathBuf,
    /// The user who imports (owner of the new archives; needs the right to create archives).
    #[arg(long = "as", env = "DANGAN_IMPORT_USER")]
    pub user: String,
    /// Check the file and report, import nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, value_enum, default_value = "good-rows")]
    pub mode: ModeArg,
    /// Rows with duplicate candidates (same credit code or ID number).
    #[arg(long, value_enum, default_value = "skip")]
    pub duplicates: DuplicatesArg,
    /// A saved column mapping (JSON, as written by --save-mapping or the UI).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Write the detected (or given) column mapping to this file.
    #[arg(long)]
    pub save_mapping: Option<PathBuf>,
    /// Write the error report (the bad rows with an error column, xlsx) to this file.
    #[arg(long)]
    pub error_report: Option<PathBuf>,
    /// Industry template whose fields count as known headers (e.g. car_dealer).
    #[arg(long)]
    pub template: Option<String>,
}

pub async fn run(g: &Global, args: ImportArgs) -> CliResult {
    let app = open_app(g).await?;
    let login = app.store.find_login(&args.user).await?.ok_or_else(|| format!("no user {:?}", args.user))?;
    let principal = Principal::new(login.user, false).with_client(dangan_app::audit::ClientInfo::new(None, "dangan import (CLI)"));
    let mapping = match &args.mapping {
        Some(p) => Some(serde_json::from_slice(&std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?).map_err(|e| format!("{}: not a column mapping: {e}", p.display()))?),
        None => None,
    };
    let options = ImportOptions {
        mode: match args.mode {
            ModeArg::GoodRows => ImportMode::GoodRows,
            ModeArg::AllOrNothing => ImportMode::AllOrNothing,
        },
        mapping,
        template: args.template.clone(),
        duplicates: Some(match args.duplicates {
            DuplicatesArg::Skip => RowDecision::Skip,
            DuplicatesArg::Create => RowDecision::Create,
        }),
        decisions: Default::default(),
    };
    let t = Instant::now();
    let name = args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let file = std::fs::File::open(&args.file).map_err(|e| format!("无法打开 cannot open {}: {e}", args.file.display()))?;
    let staged = app.stage_import_file(&name, file).map_err(|e| user_error(&e))?;
    let (analysis, job) = if args.dry_run {
        eprintln!("检查文件 Checking {} …", args.file.display());
        (app.analyze_import(&principal, &staged, &options).await.map_err(|e| user_error(&e))?, None)
    } else {
        let (analysis, job) = import_with_progress(&app, &principal, &staged, &options).await?;
        (analysis, Some(job))
    };
    let c = &analysis.counts;
    println!("文件 File: {} ({} bytes, sha256 {})", staged.file_name, staged.size, &staged.sha256[..16]);
    println!("表头 Columns: {}", analysis.mapping.columns.iter().map(|b| format!("{}→{}", b.header, b.target.as_ref().map(|t| t.path()).unwrap_or_else(|| "?".into()))).collect::<Vec<_>>().join(", "));
    for (zh, en) in &analysis.mapping_problems {
        println!("  注意 {zh} ({en})");
    }
    println!(
        "数据行 Rows: {}  有效 valid: {}  有错误 bad: {}  疑似重复 duplicates: {}  已导入过 imported before: {}  {} {}",
        c.rows,
        c.valid,
        c.invalid,
        c.duplicates,
        c.already_imported,
        if job.is_some() { "新建 created:" } else { "将新建 would create:" },
        c.would_create,
    );
    for e in analysis.errors.iter().take(20) {
        println!("  第{}行 row {} [{}] {} — {}", e.row, e.row, e.column, e.message_zh, e.message_en);
    }
    if analysis.errors.len() > 20 || c.invalid > 20 {
        println!("  … 共 {} 行有错误 {} bad rows in all (see --error-report)", c.invalid, c.invalid);
    }
    for d in analysis.duplicates.iter().take(10) {
        let names: Vec<String> = d.candidates.iter().map(|c| format!("{} {}（{}）", c.archive_no, c.name, c.reason_zh)).collect();
        println!("  第{}行 {} 疑似重复 duplicate of: {}{}", d.row, d.name, names.join("; "), if d.hidden > 0 { format!(" +{} 无权查看 not visible", d.hidden) } else { String::new() });
    }
    if let Some(path) = args.save_mapping.as_ref().filter(|_| !analysis.headers.is_empty()) {
        std::fs::write(path, serde_json::to_vec_pretty(&analysis.mapping)?)?;
        println!("列映射已保存 mapping saved: {}", path.display());
    }
    if let Some(path) = &args.error_report {
        if analysis.has_error_report {
            std::fs::write(path, app.import_error_report(&principal, analysis.import.id).await?)?;
            println!("错误报告 error report: {} (修改后可重新导入 fix and re-import it)", path.display());
        }
    }
    let Some(job) = job else {
        println!("试运行，未导入任何数据 Dry run: nothing imported (import #{}; {:.1} s)", analysis.import.id, t.elapsed().as_secs_f64());
        return Ok(());
    };
    let k = job.counts;
    println!(
        "导入 #{}：{} — 新建 created {}，合并 merged {}，跳过 skipped {}，错误 bad {}；{:.1} s（{:.0} 行/秒 rows/s）",
        job.id,
        status_zh(job.status),
        k.imported,
        k.merged,
        k.skipped,
        k.failed,
        t.elapsed().as_secs_f64(),
        k.processed as f64 / t.elapsed().as_secs_f64().max(1e-9)
    );
    if !job.message.is_empty() {
        println!("  {}", job.message);
    }
    match job.status {
        ImportStatus::Done => Ok(()),
        _ => Err(format!("import ended {}", job.status.as_str()).into()),
    }
}

async fn import_with_progress(app: &App, p: &Principal, staged: &dangan_app::import::StagedFile, options: &ImportOptions) -> CliResult<(dangan_app::import::ImportAnalysis, dangan_store::ImportJob)> {
    let pb = indicatif::ProgressBar::new(0);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} 行 rows ({per_sec}, ETA {eta}) {msg}").expect("valid template").progress_chars("=> "),
    );
    let result = app
        .import_in_one_pass(p, staged, options, |pr| {
            // The length is the file's estimated rows (lines of a CSV, declared rows of a sheet).
            pb.set_length(pr.counts.total.max(pr.counts.processed) as u64);
            pb.set_position(pr.counts.processed as u64);
            pb.set_message(format!("新建 {} 跳过 {} 错误 {}", pr.counts.imported, pr.counts.skipped, pr.counts.failed));
        })
        .await;
    pb.finish_and_clear();
    result.map_err(|e| user_error(&e).into())
}

fn status_zh(s: ImportStatus) -> &'static str {
    match s {
        ImportStatus::Analyzed => "已检查 analyzed",
        ImportStatus::Running => "进行中 running",
        ImportStatus::Done => "完成 done",
        ImportStatus::Failed => "失败 failed",
        ImportStatus::Canceled => "已取消 canceled",
        ImportStatus::Rejected => "未导入（有错误行，全部或全不模式）rejected",
    }
}

fn user_error(e: &dangan_app::AppError) -> String {
    match e {
        dangan_app::AppError::Invalid { zh, en } => format!("{zh} ({en})"),
        other => other.to_string(),
    }
}
