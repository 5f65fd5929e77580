//! Importing customer lists (导入): a file is staged (kept under the data dir by its SHA-256),
//! analyzed in a dry run (per-row errors, duplicate candidates, rows imported before), then run,
//! in the foreground (CLI) or as a background job (UI/API) that any server can cancel.
//!
//! The pipeline streams: a blocking thread reads, converts and validates rows (`dangan-io`),
//! computes each row's fingerprint, encrypts what is kept encrypted and renders the JSON, and
//! hands batches over a bounded channel to the writer, which checks duplicates per batch and
//! stores the batch in one transaction (`Store::import_batch`). Memory stays flat whatever the
//! file's size.
//!
//! Guarantees: a batch is whole or absent, and the job's counters are committed with it, so what
//! an import reports as imported is stored; a row is imported once (its fingerprint is kept), so
//! re-importing a file — or running an interrupted import again — creates nothing twice.
//! All-or-nothing mode validates the whole file first and writes nothing if any row is bad.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;
use dangan_core::audit::AuditAction;
use dangan_core::policy::Action;
use dangan_core::{ArchiveData, ArchiveId, ContactData};
use dangan_io::export::ErrorReport;
use dangan_io::{open_table, ColumnMapping, Converter, FileKind, ImportRecord, RawRow, ReadOptions, RowError};
use dangan_store::{BatchCounts, BulkArchive, Fingerprint, ImportCounts, ImportJob, ImportRow, ImportStatus, NewImport};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{App, AppError, Principal, Result};

/// Rows per transaction.
const BATCH_ROWS: usize = 2_000;
/// Row errors kept in the analysis answer (all of them go to the error report).
const MAX_ERRORS_SHOWN: usize = 500;
/// Rows with duplicate candidates kept in the analysis answer.
const MAX_DUPLICATES_SHOWN: usize = 500;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportMode {
    /// Import the good rows and report the bad ones (default).
    #[default]
    GoodRows,
    /// Import nothing if any row is bad.
    AllOrNothing,
}

/// What to do with a row that has duplicate candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum RowDecision {
    /// Leave the row out (default: one archive per customer).
    Skip,
    /// Create a new archive anyway.
    Create,
    /// Fill the existing archive's empty fields from the row and add its new contacts.
    Merge { into: ArchiveId },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportOptions {
    #[serde(default)]
    pub mode: ImportMode,
    /// The column mapping (as analyzed and corrected by the user); detected when absent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub mapping: Option<ColumnMapping>,
    /// Industry template whose fields count as known headers.
    #[serde(default)]
    pub template: Option<String>,
    /// Decision for rows with duplicate candidates that `decisions` does not name (default: skip
    /// rows matching on an exact key, create rows with only likely matches).
    #[serde(default)]
    pub duplicates: Option<RowDecision>,
    /// Per-row decisions, by the row number the file shows.
    #[serde(default)]
    pub decisions: BTreeMap<u32, RowDecision>,
}

impl ImportOptions {
    /// What happens to a row with duplicate candidates: the user's choice for the row, else the
    /// default for such rows, else skip when a candidate matched on an exact key (credit code, ID
    /// number, mobile) and create when only likely keys matched (a similar name says less).
    pub fn decision_for(&self, row: u32, exact: bool) -> RowDecision {
        self.decisions.get(&row).copied().or(self.duplicates).unwrap_or(if exact { RowDecision::Skip } else { RowDecision::Create })
    }
}

/// A file kept for import under `<data dir>/imports/<sha256>.<ext>`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StagedFile {
    pub path: PathBuf,
    pub file_name: String,
    pub sha256: String,
    pub size: i64,
    pub kind: FileKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DuplicateCandidate {
    pub archive_id: Option<ArchiveId>,
    pub archive_no: String,
    pub name: String,
    /// Why it is a candidate, in Chinese and English.
    pub reason_zh: String,
    pub reason_en: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowDuplicates {
    pub row: u32,
    pub name: String,
    pub candidates: Vec<DuplicateCandidate>,
    /// Candidates the user may not see (counted, not shown).
    pub hidden: u32,
    /// A candidate matched on an exact key (credit code, ID number, mobile): skipped by default.
    pub exact: bool,
    /// What the import will do with the row unless told otherwise.
    pub decision: RowDecision,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AnalysisCounts {
    pub rows: u64,
    pub valid: u64,
    pub invalid: u64,
    /// Valid rows with duplicate candidates.
    pub duplicates: u64,
    /// Valid rows imported before (skipped by a run).
    pub already_imported: u64,
    /// Valid rows a run would create (no candidate, or decided "create").
    pub would_create: u64,
}

/// The dry run's answer.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportAnalysis {
    pub import: ImportJob,
    pub headers: Vec<String>,
    #[schema(value_type = Object)]
    pub mapping: ColumnMapping,
    /// Problems of the mapping as a whole (Chinese, English).
    pub mapping_problems: Vec<(String, String)>,
    pub counts: AnalysisCounts,
    /// The first row errors (all are in the error report): row, column, field, value, message_zh, message_en.
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<RowError>,
    pub duplicates: Vec<RowDuplicates>,
    /// An error report (xlsx with an error column) can be downloaded.
    pub has_error_report: bool,
}

/// Progress of a run, after each batch.
#[derive(Debug, Clone, Copy)]
pub struct ImportProgress {
    pub counts: ImportCounts,
    pub elapsed_secs: f64,
}

/// One row out of the reader thread.
struct Prepared {
    row: u32,
    name: String,
    fingerprint: Fingerprint,
    /// Duplicate-check keys (`App::duplicate_keys`).
    keys: Vec<String>,
    /// Present on a run (not on a dry run): the row ready for the store.
    bulk: Option<BulkArchive>,
    record: Option<ImportRecord>,
}

/// What the reader thread sends.
enum Batch {
    Rows { rows: Vec<Prepared>, failed: u64, errors: Vec<RowError> },
}

/// What the reader thread returns at the end.
struct ReadSummary {
    headers: Vec<String>,
    mapping: ColumnMapping,
    rows: u64,
    error_report: Option<Vec<u8>>,
}

/// What a run with no dry run before it (`import_in_one_pass`) gathers as it reads: the answer
/// the dry run would have given for the same file and options.
#[derive(Default)]
struct RunReport {
    counts: AnalysisCounts,
    errors: Vec<RowError>,
    duplicates: Vec<RowDuplicates>,
    summary: Option<ReadSummary>,
}

impl RunReport {
    fn rows_read(&mut self, valid: usize, failed: u64, errors: Vec<RowError>) {
        self.counts.valid += valid as u64;
        self.counts.invalid += failed;
        let room = MAX_ERRORS_SHOWN.saturating_sub(self.errors.len());
        self.errors.extend(errors.into_iter().take(room));
    }
}

fn bad_file(zh: String, en: String) -> AppError {
    AppError::Invalid { zh, en }
}

fn read_error(e: dangan_io::ReadError) -> AppError {
    bad_file(e.message_zh(), e.message_en())
}

/// The fingerprint of a converted row: same content, same fingerprint (owner and department are
/// not part of it, so another user re-importing the file creates nothing either).
pub fn fingerprint(archive: &ArchiveData, contacts: &[ContactData]) -> Fingerprint {
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(&(archive, contacts)).unwrap_or_default());
    h.finalize().into()
}

/// From this many rows an import ends like a bulk load: the writer's page cache back to normal
/// and fresh planner statistics.
const LARGE_IMPORT_ROWS: i64 = 10_000;

impl App {
    fn imports_dir(&self) -> PathBuf {
        self.settings.data_dir.join("imports")
    }

    /// Keeps an uploaded or named file for import (by its SHA-256; the same file twice is one file).
    pub fn stage_import_file(&self, file_name: &str, mut input: impl Read) -> Result<StagedFile> {
        let dir = self.imports_dir();
        std::fs::create_dir_all(&dir).map_err(|e| AppError::Internal(format!("cannot create {}: {e}", dir.display())))?;
        let tmp = dir.join(format!(".upload-{}-{}", std::process::id(), rand::random::<u64>()));
        let mut out = std::fs::File::create(&tmp).map_err(|e| AppError::Internal(format!("cannot write {}: {e}", tmp.display())))?;
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0i64;
        let mut head = Vec::new();
        loop {
            let n = input.read(&mut buf).map_err(|e| bad_file(format!("读取上传文件失败：{e}"), format!("cannot read the uploaded file: {e}")))?;
            if n == 0 {
                break;
            }
            if head.len() < 4096 {
                head.extend_from_slice(&buf[..n.min(4096 - head.len())]);
            }
            h.update(&buf[..n]);
            std::io::Write::write_all(&mut out, &buf[..n]).map_err(|e| AppError::Internal(format!("cannot write {}: {e}", tmp.display())))?;
            size += n as i64;
        }
        out.sync_all().map_err(|e| AppError::Internal(e.to_string()))?;
        if size == 0 {
            let _ = std::fs::remove_file(&tmp);
            return Err(bad_file("文件是空的".into(), "the file is empty".into()));
        }
        let sha256 = hex::encode(h.finalize());
        let kind = FileKind::sniff(&head, Some(file_name));
        let ext = match kind {
            FileKind::Csv => "csv",
            FileKind::Xlsx => "xlsx",
            FileKind::Xls => "xls",
            FileKind::VCard => "vcf",
        };
        let path = dir.join(format!("{sha256}.{ext}"));
        std::fs::rename(&tmp, &path).map_err(|e| AppError::Internal(format!("cannot keep {}: {e}", path.display())))?;
        Ok(StagedFile { path, file_name: file_name.to_string(), sha256, size, kind })
    }

    fn staged_of(&self, job: &ImportJob) -> Result<StagedFile> {
        let kind = match job.format.as_str() {
            "xlsx" => FileKind::Xlsx,
            "xls" => FileKind::Xls,
            "vcard" => FileKind::VCard,
            _ => FileKind::Csv,
        };
        let ext = if kind == FileKind::VCard { "vcf" } else { job.format.as_str() };
        let path = self.imports_dir().join(format!("{}.{ext}", job.file_sha256));
        if !path.exists() {
            return Err(AppError::BadRequest(format!("the imported file is no longer kept ({})", path.display())));
        }
        Ok(StagedFile { path, file_name: job.file_name.clone(), sha256: job.file_sha256.clone(), size: job.file_size, kind })
    }

    fn error_report_path(&self, import_id: i64) -> PathBuf {
        self.imports_dir().join(format!("{import_id}-errors.xlsx"))
    }

    /// Who may see an import: the user who ran it, the archivist and the system administrator.
    fn may_see_import(p: &Principal, job: &ImportJob) -> bool {
        job.user_id == p.id || p.user.has_role(dangan_core::Role::Archivist) || p.user.has_role(dangan_core::Role::SystemAdmin)
    }

    pub async fn import_job(&self, p: &Principal, id: i64) -> Result<ImportJob> {
        let job = self.store.get_import(id).await?.ok_or(AppError::NotFound)?;
        if !Self::may_see_import(p, &job) {
            return Err(AppError::NotFound);
        }
        Ok(job)
    }

    pub async fn import_jobs(&self, p: &Principal, limit: u32) -> Result<Vec<ImportJob>> {
        let all = p.user.has_role(dangan_core::Role::Archivist) || p.user.has_role(dangan_core::Role::SystemAdmin);
        Ok(self.store.list_imports(if all { None } else { Some(p.id) }, limit).await?)
    }

    /// The dry run's error report (the file's rows with an error column), if it had bad rows.
    pub async fn import_error_report(&self, p: &Principal, id: i64) -> Result<Vec<u8>> {
        self.import_job(p, id).await?;
        std::fs::read(self.error_report_path(id)).map_err(|_| AppError::NotFound)
    }

    /// Asks a running import to stop after its current batch.
    pub async fn cancel_import(&self, p: &Principal, id: i64) -> Result<ImportJob> {
        self.import_job(p, id).await?;
        self.store.request_import_cancel(id).await?;
        self.import_job(p, id).await
    }

    /// Dry run: reads the whole file, reports each bad row, the duplicate candidates and the rows
    /// imported before, writes the error report, records the file. Nothing else is written.
    pub async fn analyze_import(&self, p: &Principal, staged: &StagedFile, options: &ImportOptions) -> Result<ImportAnalysis> {
        self.authorize_general(p, Action::Create).await?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
        let reader = self.spawn_reader(p, staged, options, false, true, tx);
        let mut counts = AnalysisCounts::default();
        let mut errors = Vec::new();
        let mut duplicates = Vec::new();
        let mut seen = InFileKeys::default();
        while let Some(Batch::Rows { rows, failed, errors: errs }) = rx.recv().await {
            counts.invalid += failed;
            for e in errs {
                if errors.len() < MAX_ERRORS_SHOWN {
                    errors.push(e);
                }
            }
            counts.valid += rows.len() as u64;
            let known = self.store.imported_fingerprints(rows.iter().map(|r| r.fingerprint).collect(), None).await?;
            let dups = self.batch_duplicates(p, &rows, &mut seen, true).await?;
            for r in &rows {
                if known.contains(&r.fingerprint) {
                    counts.already_imported += 1;
                    continue;
                }
                match dups.get(&r.row) {
                    Some(d) => {
                        counts.duplicates += 1;
                        let decision = options.decision_for(r.row, d.exact);
                        if decision == RowDecision::Create {
                            counts.would_create += 1;
                        }
                        if duplicates.len() < MAX_DUPLICATES_SHOWN {
                            duplicates.push(RowDuplicates { row: r.row, name: r.name.clone(), candidates: d.candidates.clone(), hidden: d.hidden, exact: d.exact, decision });
                        }
                    }
                    None => counts.would_create += 1,
                }
            }
        }
        let summary = reader.await.map_err(|e| AppError::Internal(e.to_string()))??;
        counts.rows = summary.rows;
        let mut stored_options = options.clone();
        stored_options.mapping = Some(summary.mapping.clone());
        let counts_then = ImportCounts { total: counts.rows as i64, failed: counts.invalid as i64, ..Default::default() };
        let job = self.record_import(p, staged, ImportStatus::Analyzed, &stored_options, counts_then).await?;
        let has_error_report = self.keep_error_report(job.id, summary.error_report.as_deref())?;
        let mapping_problems = summary.mapping.problems().into_iter().map(|m| (m.message_zh, m.message_en)).collect();
        let analysis = ImportAnalysis { import: job, headers: summary.headers, mapping: summary.mapping, mapping_problems, counts, errors, duplicates, has_error_report };
        self.keep_analysis(&analysis)?;
        Ok(analysis)
    }

    /// The import's record (audited `archive.import`): the file, who, the options, the counts so far.
    async fn record_import(&self, p: &Principal, staged: &StagedFile, status: ImportStatus, options: &ImportOptions, counts: ImportCounts) -> Result<ImportJob> {
        let new = NewImport {
            file_name: staged.file_name.clone(),
            file_sha256: staged.sha256.clone(),
            file_size: staged.size,
            format: format_name(staged.kind).into(),
            user_id: p.id,
            status,
            options: serde_json::to_value(options).unwrap_or_default(),
            counts,
            message: String::new(),
            now: Utc::now(),
        };
        Ok(self.store.create_import(&new, &self.event(p, AuditAction::ArchiveImport)).await?)
    }

    /// Keeps the error report of an import (the file's bad rows with an error column), if it had bad rows.
    fn keep_error_report(&self, import_id: i64, report: Option<&[u8]>) -> Result<bool> {
        let Some(bytes) = report else { return Ok(false) };
        std::fs::write(self.error_report_path(import_id), bytes).map_err(|e| AppError::Internal(format!("cannot write the error report: {e}")))?;
        Ok(true)
    }

    /// Keeps an analysis beside the staged file, for `import_analysis`.
    fn keep_analysis(&self, analysis: &ImportAnalysis) -> Result<()> {
        let path = self.imports_dir().join(format!("{}-analysis.json", analysis.import.id));
        std::fs::write(&path, serde_json::to_vec(analysis).unwrap_or_default()).map_err(|e| AppError::Internal(format!("cannot write {}: {e}", path.display())))
    }

    /// The dry run's answer as it was given (kept beside the staged file), with the job as it is now.
    pub async fn import_analysis(&self, p: &Principal, id: i64) -> Result<ImportAnalysis> {
        let job = self.import_job(p, id).await?;
        let path = self.imports_dir().join(format!("{id}-analysis.json"));
        let bytes = std::fs::read(&path).map_err(|_| AppError::NotFound)?;
        let mut analysis: ImportAnalysis = serde_json::from_slice(&bytes).map_err(|e| AppError::Internal(format!("{}: {e}", path.display())))?;
        analysis.import = job;
        Ok(analysis)
    }

    /// Analyzes the file of an earlier import again with other options (a corrected mapping):
    /// a new dry run, a new import record.
    pub async fn reanalyze_import(&self, p: &Principal, id: i64, options: &ImportOptions) -> Result<ImportAnalysis> {
        let job = self.import_job(p, id).await?;
        let staged = self.staged_of(&job)?;
        self.analyze_import(p, &staged, options).await
    }

    /// Starts a run of an analyzed (or interrupted) import in the background and returns at once;
    /// follow it with `import_job`, stop it with `cancel_import`.
    pub async fn start_import(&self, p: &Principal, id: i64, options: Option<ImportOptions>) -> Result<ImportJob> {
        let job = self.import_job(p, id).await?;
        if job.status == ImportStatus::Running && !self.import_is_stale(&job) {
            return Err(AppError::BadRequest("this import is already running".into()));
        }
        if matches!(job.status, ImportStatus::Done | ImportStatus::Rejected) {
            return Err(AppError::BadRequest("this import has ended; analyze the file again to import it again".into()));
        }
        let options = match options {
            Some(o) => o,
            None => serde_json::from_value(job.options.clone()).unwrap_or_default(),
        };
        self.authorize_general(p, Action::Create).await?;
        // A run counts afresh (rows imported by an earlier, interrupted run count as skipped).
        let fresh = ImportCounts { total: job.counts.total, ..Default::default() };
        let running = self.store.set_import_status(id, ImportStatus::Running, Some(fresh), "", Utc::now()).await?;
        let app = self.clone();
        let p = p.clone();
        tokio::spawn(async move {
            if let Err(e) = app.run_import(&p, id, &options, |_| {}).await {
                tracing::warn!(import = id, error = %e, "import failed");
            }
        });
        Ok(running)
    }

    /// A running import that has not moved for five minutes lost its server (crash, restart); it
    /// can be run again, and rows already imported are skipped.
    pub fn import_is_stale(&self, job: &ImportJob) -> bool {
        job.status == ImportStatus::Running && Utc::now() - job.updated_at > chrono::Duration::minutes(5)
    }

    /// Runs an import to its end in this task, calling `progress` after each batch. The job ends
    /// done, rejected (all-or-nothing with bad rows), canceled or failed; its audit record says so.
    pub async fn run_import(&self, p: &Principal, id: i64, options: &ImportOptions, mut progress: impl FnMut(&ImportProgress)) -> Result<ImportJob> {
        let job = self.import_job(p, id).await?;
        let staged = self.staged_of(&job)?;
        self.authorize_general(p, Action::Create).await?;
        if job.status != ImportStatus::Running {
            let fresh = ImportCounts { total: job.counts.total, ..Default::default() };
            self.store.set_import_status(id, ImportStatus::Running, Some(fresh), "", Utc::now()).await?;
        }
        self.run_to_end(p, &job, &staged, options, &mut progress, None, false).await
    }

    /// Runs an import whose job is marked running, and ends the job; `report` gathers the dry
    /// run's answer on the way (a run without one before it).
    /// `validated`: an all-or-nothing run whose file was just analyzed with no bad row (the one
    /// pass) skips its own validation pass.
    #[allow(clippy::too_many_arguments)]
    async fn run_to_end(
        &self,
        p: &Principal,
        job: &ImportJob,
        staged: &StagedFile,
        options: &ImportOptions,
        progress: &mut impl FnMut(&ImportProgress),
        mut report: Option<&mut RunReport>,
        validated: bool,
    ) -> Result<ImportJob> {
        let id = job.id;
        let mut bulk = false;
        let outcome = self.run_import_inner(p, job, staged, options, progress, report.as_deref_mut(), validated, &mut bulk).await;
        if let Some(rows) = report.and_then(|r| r.summary.as_ref()).map(|s| s.rows as i64) {
            // The job was opened with an estimate of the rows (`row_count_hint`); now they are
            // counted. Not worth failing the import over: it would keep the estimate.
            if let Ok(Some(current)) = self.store.get_import(id).await {
                if current.counts.total != rows {
                    if let Err(e) = self.store.set_import_status(id, current.status, Some(ImportCounts { total: rows, ..current.counts }), &current.message, Utc::now()).await {
                        tracing::warn!(import = id, error = %e, "cannot record the counted rows");
                    }
                }
            }
        }
        let (status, message) = match &outcome {
            Ok(Some((status, message))) => (*status, message.clone()),
            Ok(None) => (ImportStatus::Done, String::new()),
            Err(e) => (ImportStatus::Failed, e.to_string()),
        };
        let mut event = self.event(p, AuditAction::ArchiveImport);
        if status != ImportStatus::Done {
            event.outcome = dangan_core::audit::Outcome::Failed;
        }
        let finished = self.store.finish_import(id, status, &message, &event).await;
        if bulk || finished.as_ref().is_ok_and(|f| f.counts.processed >= LARGE_IMPORT_ROWS) {
            // Whatever the outcome: build the indexes a move-in deferred, give the writer back
            // its normal settings, and refresh the planner's statistics after this many new rows
            // (as after a demo load).
            self.store.end_bulk_load().await?;
        }
        let finished = finished?;
        outcome?;
        Ok(finished)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_import_inner(
        &self,
        p: &Principal,
        job: &ImportJob,
        staged: &StagedFile,
        options: &ImportOptions,
        progress: &mut impl FnMut(&ImportProgress),
        mut report: Option<&mut RunReport>,
        validated: bool,
        bulk: &mut bool,
    ) -> Result<Option<(ImportStatus, String)>> {
        let started = Instant::now();
        let mut counts = job.counts;
        counts.processed = 0;
        counts.imported = 0;
        counts.merged = 0;
        counts.skipped = 0;
        counts.failed = 0;
        if options.mode == ImportMode::AllOrNothing && !validated {
            // First pass: validation only. One bad row and nothing is written.
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
            let reader = self.spawn_reader(p, staged, options, false, false, tx);
            let mut bad = 0u64;
            while let Some(Batch::Rows { failed, .. }) = rx.recv().await {
                bad += failed;
            }
            reader.await.map_err(|e| AppError::Internal(e.to_string()))??;
            if bad > 0 {
                return Ok(Some((ImportStatus::Rejected, all_or_nothing_rejected(bad))));
            }
        }
        let scheme = self.settings.number_scheme.clone();
        let dept_code = self.dept_code(p.dept_id).await?;
        // A large import into an empty base (moving into Dangan): the store may defer its index
        // upkeep, and looking up duplicates in the store is skipped — it could only find this
        // file's earlier rows, which the in-file key map (`seen`) finds, as the dry run did.
        let base_was_empty = job.counts.total >= LARGE_IMPORT_ROWS && self.store.begin_bulk_import().await?;
        // Whatever happens next, the indexes this set aside are built again (`run_to_end`).
        *bulk = base_was_empty;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Batch>(2);
        let reader = self.spawn_reader(p, staged, options, true, report.is_some(), tx);
        let mut seen = InFileKeys::for_rows(job.counts.total.max(0) as u64);
        let mut canceled = false;
        // Two batches in flight: while the store writes one (a single writer on SQLite), the next
        // is checked for cancellation and duplicates and its merges are done. A row of the batch
        // being written cannot be found by the next batch's duplicate lookup yet; the in-file key
        // map (`seen`) finds it instead, as it finds every earlier row of this file.
        let (scheme, dept_code) = (&scheme, &dept_code);
        let mut writing: Option<std::pin::Pin<Box<dyn std::future::Future<Output = Result<(BatchCounts, usize, usize)>> + Send + '_>>> = None;
        loop {
            let prepare = async {
                let Some(Batch::Rows { rows, failed, errors }) = rx.recv().await else { return Ok(None) };
                if self.store.get_import(job.id).await?.is_some_and(|j| j.cancel_requested) {
                    return Ok(Some(None));
                }
                let dups = self.batch_duplicates(p, &rows, &mut seen, !base_was_empty).await?;
                let mut batch = BatchCounts { processed: rows.len() as i64 + failed as i64, failed: failed as i64, ..Default::default() };
                // Reporting as a dry run would: rows imported before are told apart from
                // duplicates (the store would refuse them anyway; here they are not offered).
                let mut known = std::collections::HashSet::new();
                if let Some(rep) = report.as_deref_mut() {
                    rep.rows_read(rows.len(), failed, errors);
                    if !base_was_empty {
                        // This run's own earlier rows are not "imported before" (an identical
                        // row later in the file is a duplicate of that row, as in the dry run).
                        known.extend(self.store.imported_fingerprints(rows.iter().map(|r| r.fingerprint).collect(), Some(job.id)).await?);
                    }
                }
                let mut to_store = Vec::with_capacity(rows.len());
                let mut merges = Vec::new();
                for r in rows {
                    let found = dups.get(&r.row);
                    let decision = found.map_or(RowDecision::Create, |d| options.decision_for(r.row, d.exact));
                    if let Some(rep) = report.as_deref_mut() {
                        if known.contains(&r.fingerprint) {
                            rep.counts.already_imported += 1;
                            batch.skipped += 1;
                            continue;
                        }
                        if let Some(d) = found {
                            rep.counts.duplicates += 1;
                            if rep.duplicates.len() < MAX_DUPLICATES_SHOWN {
                                rep.duplicates.push(RowDuplicates { row: r.row, name: r.name.clone(), candidates: d.candidates.clone(), hidden: d.hidden, exact: d.exact, decision });
                            }
                        }
                    }
                    match decision {
                        RowDecision::Skip => batch.skipped += 1,
                        RowDecision::Merge { into } => merges.push((r, into)),
                        RowDecision::Create => {
                            if let Some(bulk) = r.bulk {
                                to_store.push(ImportRow { row: r.row, fingerprint: r.fingerprint, archive: bulk });
                            }
                        }
                    }
                }
                for (r, into) in merges {
                    match self.merge_row(p, into, r.record, &staged.file_name, r.row).await {
                        Ok(()) => batch.merged += 1,
                        Err(_) => batch.failed += 1,
                    }
                }
                Ok::<_, AppError>(Some(Some((to_store, batch))))
            };
            let (prepared, written) = match writing.take() {
                Some(w) => {
                    let (prepared, written) = tokio::join!(prepare, w);
                    (prepared, Some(written))
                }
                None => (prepare.await, None),
            };
            if let Some(written) = written {
                let (batch, offered, created) = written?;
                counts.processed += batch.processed;
                counts.imported += created as i64;
                counts.merged += batch.merged;
                counts.failed += batch.failed;
                counts.skipped += batch.skipped + (offered - created) as i64;
                if let Some(rep) = report.as_deref_mut() {
                    // What was created. A row offered and refused is a copy of an earlier row of
                    // this file (rows imported before were not offered): a duplicate already.
                    rep.counts.would_create += created as u64;
                }
                progress(&ImportProgress { counts, elapsed_secs: started.elapsed().as_secs_f64() });
            }
            match prepared? {
                None => break,
                Some(None) => {
                    canceled = true;
                    break;
                }
                Some(Some((to_store, batch))) => {
                    // The store fills in the detail (import id, count, number range).
                    let event = self.event(p, AuditAction::ArchiveBulkCreate);
                    let offered = to_store.len();
                    let store = &self.store;
                    writing = Some(Box::pin(async move {
                        let created = store.import_batch(job.id, to_store, batch, scheme, dept_code, &event).await?;
                        Ok((batch, offered, created.len()))
                    }));
                }
            }
        }
        drop(rx);
        let summary = reader.await.map_err(|e| AppError::Internal(e.to_string()));
        if canceled {
            return Ok(Some((ImportStatus::Canceled, format!("canceled after {} rows", counts.processed))));
        }
        let summary = summary??;
        if let Some(r) = report {
            r.summary = Some(summary);
        }
        Ok(None)
    }

    /// Fills the existing archive's empty fields from an imported row and adds the row's contacts
    /// that the archive does not have (by mobile, else by name). A new version, audited.
    async fn merge_row(&self, p: &Principal, into: ArchiveId, record: Option<ImportRecord>, file: &str, row: u32) -> Result<()> {
        let Some(record) = record else { return Ok(()) };
        let existing = self.archive_for(p, into, Action::Edit).await?;
        let mut data = existing.data.clone();
        let before = serde_json::to_value(&data).unwrap_or_default();
        fill_empty(&mut data, &record.archive);
        if serde_json::to_value(&data).unwrap_or_default() != before {
            self.update_archive(p, into, existing.version, data, Some(format!("导入合并：{file} 第 {row} 行"))).await?;
        }
        let contacts = self.store.list_contacts(into).await?;
        for c in record.contacts {
            let present = contacts.iter().any(|k| match (&k.data.mobile, &c.mobile) {
                (Some(a), Some(b)) => a == b,
                _ => k.data.name == c.name,
            });
            if !present {
                self.add_contact(p, into, c).await?;
            }
        }
        Ok(())
    }

    /// Duplicate candidates of a batch's rows (查重, `App::check_duplicates_batch`: the same
    /// credit code, ID number or mobile, a similar name, the same name in the same city, a shared
    /// contact phone), and rows of the same file met earlier with one of those keys. Candidates
    /// outside the user's list scope are counted, not shown. `exact` says whether a candidate
    /// matched on an exact key (only those are skipped by default). `in_store`: false skips the
    /// store's lookup (a move-in into an empty base), leaving the in-file keys.
    async fn batch_duplicates(&self, p: &Principal, rows: &[Prepared], seen: &mut InFileKeys, in_store: bool) -> Result<HashMap<u32, RowCandidates>> {
        let found = if in_store {
            let keys: Vec<Vec<String>> = rows.iter().map(|r| r.keys.clone()).collect();
            self.store.duplicate_candidates_batch(&keys).await?
        } else {
            vec![Vec::new(); rows.len()]
        };
        let scope = if found.iter().any(|f| !f.is_empty()) { Some(self.list_scope(p).await?) } else { None };
        let mut out: HashMap<u32, RowCandidates> = HashMap::new();
        for (r, cands) in rows.iter().zip(found) {
            for c in cands {
                let e = out.entry(r.row).or_default();
                e.exact |= c.reasons.iter().any(|x| x.exact());
                let protection = dangan_core::policy::Protection { owner_id: c.archive.owner_id, dept_id: c.archive.dept_id, tier: c.archive.tier, secrecy: c.archive.secrecy };
                if scope.as_ref().is_some_and(|s| s.admits(c.archive.id, &protection)) {
                    let zh = c.reasons.iter().map(|x| x.label("zh-CN")).collect::<Vec<_>>().join("、");
                    let en = c.reasons.iter().map(|x| x.label("en")).collect::<Vec<_>>().join(", ");
                    let name = if c.archive.secrecy == dangan_core::Secrecy::TopSecret { String::new() } else { c.archive.name.clone() };
                    e.candidates.push(DuplicateCandidate { archive_id: Some(c.archive.id), archive_no: c.archive.archive_no.clone(), name, reason_zh: zh, reason_en: en });
                } else {
                    e.hidden += 1;
                }
            }
        }
        for r in rows {
            // Within the file: the first row that had one of this row's keys.
            let mut earlier: Option<(u32, dangan_core::dedup::Reason)> = None;
            for k in &r.keys {
                if let Some(row) = seen.earlier_row(k, r.row) {
                    if let Some(reason) = dangan_core::dedup::Reason::of_key(k) {
                        if earlier.is_none_or(|(_, best)| reason.score() > best.score()) {
                            earlier = Some((row, reason));
                        }
                    }
                }
            }
            if let Some((row, reason)) = earlier {
                let e = out.entry(r.row).or_default();
                e.exact |= reason.exact();
                e.candidates.push(DuplicateCandidate {
                    archive_id: None,
                    archive_no: String::new(),
                    name: String::new(),
                    reason_zh: format!("与本文件第 {row} 行{}", reason.label("zh-CN")),
                    reason_en: format!("{} as row {row} of this file", reason.label("en")),
                });
            }
        }
        Ok(out)
    }

    /// Reads the staged file on a blocking thread: converts, validates, fingerprints; on a run
    /// (`for_store`) also fills defaults, encrypts and renders each row for the store; on a dry
    /// run (`report`) writes the error report.
    fn spawn_reader(&self, p: &Principal, staged: &StagedFile, options: &ImportOptions, for_store: bool, report: bool, tx: tokio::sync::mpsc::Sender<Batch>) -> tokio::task::JoinHandle<Result<ReadSummary>> {
        let app = self.clone();
        let p = p.clone();
        let staged = staged.clone();
        let options = options.clone();
        tokio::task::spawn_blocking(move || {
            let now = Utc::now();
            let file = std::fs::File::open(&staged.path).map_err(|e| AppError::Internal(format!("cannot open {}: {e}", staged.path.display())))?;
            let mut sender = BatchSender { tx, rows: Vec::with_capacity(BATCH_ROWS), failed: 0, errors: Vec::new(), keep_errors: report };
            // The converted row is kept only when a decision may merge it into an existing archive.
            let may_merge = for_store && options.duplicates.iter().chain(options.decisions.values()).any(|d| matches!(d, RowDecision::Merge { .. }));
            let prepare = |rec: ImportRecord| -> Result<Prepared> {
                let fp = fingerprint(&rec.archive, &rec.contacts);
                let record = may_merge.then(|| rec.clone());
                let ImportRecord { row, archive: mut data, contacts } = rec;
                if data.owner_id.is_none() {
                    data.owner_id = Some(p.id);
                }
                if data.dept_id.is_none() {
                    data.dept_id = p.dept_id;
                }
                data.normalize();
                if !for_store {
                    // Dry run: the keys only (nothing is encrypted or rendered for the store).
                    let keys = app.duplicate_keys(&data, &contacts);
                    return Ok(Prepared { row, name: data.name, fingerprint: fp, keys, bulk: None, record });
                }
                app.seal(&mut data);
                // The keys the store will keep for this archive are the keys it is checked by
                // (computed once: `BulkArchive::new` derives them from the sealed document, with
                // the ID number's keyed hash that `duplicate_keys` would compute).
                let bulk = BulkArchive::new(data, now, contacts, Vec::new())?;
                let keys = bulk.keys().to_vec();
                let name = bulk.data.name.clone();
                Ok(Prepared { row, name, fingerprint: fp, keys, bulk: Some(bulk), record })
            };
            if staged.kind == FileKind::VCard {
                let mut bytes = Vec::new();
                let mut f = file;
                f.read_to_end(&mut bytes).map_err(|e| AppError::Internal(e.to_string()))?;
                let cards = dangan_io::vcard::read_vcards(&bytes).map_err(read_error)?;
                let rows = cards.len() as u64;
                for (i, card) in cards.iter().enumerate() {
                    // A card becomes a person archive with the person as its contact, so that
                    // the archive's vCard export gives the card back.
                    let archive = card.to_person_archive();
                    let contact = card.to_contact();
                    let row = i as u32 + 1;
                    let mut problems = dangan_core::validate::validate_archive(&archive);
                    problems.extend(dangan_core::validate::validate_contact(&contact, "contacts[0]."));
                    let errors: Vec<RowError> = problems
                        .iter()
                        .map(|e| RowError { row, column: String::new(), field: e.field.clone(), value: String::new(), message_zh: e.message("zh-CN"), message_en: e.message("en") })
                        .collect();
                    if errors.is_empty() {
                        sender.ok(prepare(ImportRecord { row, archive, contacts: vec![contact] })?)?;
                    } else {
                        sender.bad(errors)?;
                    }
                }
                sender.flush()?;
                let mapping = ColumnMapping { columns: Vec::new(), template: None, default_kind: None };
                return Ok(ReadSummary { headers: vec!["vCard".into()], mapping, rows, error_report: None });
            }
            let read_opts = ReadOptions { template: options.template.clone(), ..Default::default() };
            let table = open_table(std::io::BufReader::with_capacity(1 << 20, file), staged.kind, &read_opts).map_err(read_error)?;
            let headers = table.header().texts.clone();
            let mapping = match &options.mapping {
                Some(m) => ColumnMapping::reapply(m, &headers),
                None => table.detect_mapping(options.template.as_deref()),
            };
            let mut error_report = if report { Some(ErrorReport::new(table.preamble(), table.header_rows(), &headers).map_err(|e| AppError::Internal(e.to_string()))?) } else { None };
            let mut bad_rows = 0u64;
            let conv = Converter::new(&mapping);
            let mut rows = 0u64;
            for raw in table {
                let raw: RawRow = raw.map_err(read_error)?;
                rows += 1;
                match conv.convert(&raw) {
                    Ok(rec) => sender.ok(prepare(rec)?)?,
                    Err(errors) => {
                        bad_rows += 1;
                        if let Some(r) = error_report.as_mut() {
                            r.add(&raw, &errors).map_err(|e| AppError::Internal(e.to_string()))?;
                        }
                        sender.bad(errors)?;
                    }
                }
            }
            sender.flush()?;
            let error_report = match error_report {
                Some(r) if bad_rows > 0 => Some(r.finish().map_err(|e| AppError::Internal(e.to_string()))?),
                _ => None,
            };
            Ok(ReadSummary { headers, mapping, rows, error_report })
        })
    }

    /// Imports a staged file without a dry run before it — where the options are given up front
    /// and nobody reads an analysis before the run (`dangan import`): the file is read once
    /// instead of twice. The answer holds what the dry run would have said (counts, the first
    /// errors and duplicate candidates, the error report with every bad row), gathered as the
    /// run read, and is kept like a dry run's (`import_analysis`). Where the two can differ: a
    /// row identical to an earlier row of the file and decided "create" is counted as created by
    /// the dry run and refused by the store here (the run reports what it did); a stored
    /// candidate may be an archive this run created from an earlier row. All-or-nothing reads
    /// the file twice — the dry run, then the run — since nothing may be written before every
    /// row is known to be good.
    pub async fn import_in_one_pass(&self, p: &Principal, staged: &StagedFile, options: &ImportOptions, mut progress: impl FnMut(&ImportProgress)) -> Result<(ImportAnalysis, ImportJob)> {
        self.authorize_general(p, Action::Create).await?;
        if options.mode == ImportMode::AllOrNothing {
            // Nothing may be written before every row is known to be good: the dry run first
            // (its answer is the report), then the run without a validation pass of its own.
            let mut analysis = self.analyze_import(p, staged, options).await?;
            let id = analysis.import.id;
            let finished = if analysis.counts.invalid > 0 {
                let mut event = self.event(p, AuditAction::ArchiveImport);
                event.outcome = dangan_core::audit::Outcome::Failed;
                self.store.finish_import(id, ImportStatus::Rejected, &all_or_nothing_rejected(analysis.counts.invalid), &event).await?
            } else {
                let job = self.store.set_import_status(id, ImportStatus::Running, None, "", Utc::now()).await?;
                let run_options = ImportOptions { mapping: Some(analysis.mapping.clone()), ..options.clone() };
                self.run_to_end(p, &job, staged, &run_options, &mut progress, None, true).await?
            };
            analysis.import = finished.clone();
            return Ok((analysis, finished));
        }
        let expected = {
            let (path, kind) = (staged.path.clone(), staged.kind);
            let opts = ReadOptions { template: options.template.clone(), ..Default::default() };
            // An estimate (lines of a CSV, declared rows of a sheet) sizes the in-file key map,
            // decides whether the run is a bulk load, and gives the progress bar its length.
            tokio::task::spawn_blocking(move || std::fs::File::open(&path).ok().and_then(|f| dangan_io::row_count_hint(f, kind, &opts).ok().flatten()))
                .await
                .ok()
                .flatten()
                .unwrap_or(0)
        };
        let job = self.record_import(p, staged, ImportStatus::Running, options, ImportCounts { total: expected as i64, ..Default::default() }).await?;
        let mut report = RunReport::default();
        // On an error (a database failure, a file damaged part-way) the rows imported until then
        // stay imported, and the job says failed: the error is the answer.
        let finished = self.run_to_end(p, &job, staged, options, &mut progress, Some(&mut report), false).await?;
        let RunReport { mut counts, errors, duplicates, summary } = report;
        let (headers, mapping, error_report) = match summary {
            Some(s) => {
                counts.rows = s.rows;
                (s.headers, s.mapping, s.error_report)
            }
            // Canceled before the end: the rows read so far.
            None => {
                counts.rows = counts.valid + counts.invalid;
                (Vec::new(), options.mapping.clone().unwrap_or(ColumnMapping { columns: Vec::new(), template: None, default_kind: None }), None)
            }
        };
        let has_error_report = self.keep_error_report(job.id, error_report.as_deref())?;
        // Canceled before the end, the reader's mapping is not known: no warnings about it.
        let mapping_problems = if headers.is_empty() { Vec::new() } else { mapping.problems().into_iter().map(|m| (m.message_zh, m.message_en)).collect() };
        let analysis = ImportAnalysis { import: finished.clone(), headers, mapping, mapping_problems, counts, errors, duplicates, has_error_report };
        self.keep_analysis(&analysis)?;
        Ok((analysis, finished))
    }
}

/// Duplicate-check keys met earlier in the same file: a 64-bit hash of the key → the first row
/// that had it (hashes, not strings, so that a million-row file stays within memory; a hash
/// collision at worst flags a row for the user to look at). A slot is the hash as two u32 and
/// the row, 12 bytes rather than the 16 of `(u64, u32)`; the hash is used as it is (it is
/// already uniform); and when the file's row count is known the table is sized once, so it is
/// not held twice while it grows (1M rows ≈ 5M keys: 104 MB instead of up to 204 MB). The key's
/// hash is SipHash with this map's own random key (`RandomState`), not SHA-256: the map lives for
/// one run and needs no stable digest, only a uniform one that a crafted file cannot aim at.
#[derive(Default)]
struct InFileKeys {
    keys: HashMap<[u32; 2], u32, std::hash::BuildHasherDefault<KeyHashHasher>>,
    key_hash: std::hash::RandomState,
}

/// Keys a row leaves on average (name, similar name, name + city, phones, ID or credit code):
/// 4.95 per archive in a 1M demo base.
const KEYS_PER_ROW: u64 = 5;

impl InFileKeys {
    fn for_rows(rows: u64) -> Self {
        let slots = rows.min(20_000_000) * KEYS_PER_ROW;
        InFileKeys { keys: HashMap::with_capacity_and_hasher(slots as usize, Default::default()), key_hash: Default::default() }
    }

    /// The earlier row that had key `k`, if any; otherwise `row` becomes its first row.
    fn earlier_row(&mut self, k: &str, row: u32) -> Option<u32> {
        let d = std::hash::BuildHasher::hash_one(&self.key_hash, k);
        let h = [d as u32, (d >> 32) as u32];
        match self.keys.entry(h) {
            std::collections::hash_map::Entry::Occupied(e) => Some(*e.get()).filter(|&first| first != row),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(row);
                None
            }
        }
    }
}

/// The table's hasher: the key is already a hash, so its bytes are the hash.
#[derive(Default)]
struct KeyHashHasher(u64);

impl std::hash::Hasher for KeyHashHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    /// An array's length, written before its elements: the same for every key.
    fn write_usize(&mut self, _: usize) {}
}

/// The candidates of one row.
#[derive(Debug, Default)]
struct RowCandidates {
    candidates: Vec<DuplicateCandidate>,
    hidden: u32,
    /// A candidate matched on an exact key (credit code, ID number, mobile).
    exact: bool,
}

struct BatchSender {
    tx: tokio::sync::mpsc::Sender<Batch>,
    rows: Vec<Prepared>,
    failed: u64,
    errors: Vec<RowError>,
    keep_errors: bool,
}

impl BatchSender {
    fn ok(&mut self, row: Prepared) -> Result<()> {
        self.rows.push(row);
        if self.rows.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }
    fn bad(&mut self, errors: Vec<RowError>) -> Result<()> {
        self.failed += 1;
        if self.keep_errors {
            self.errors.extend(errors);
        }
        if self.failed as usize + self.rows.len() >= BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        if self.rows.is_empty() && self.failed == 0 {
            return Ok(());
        }
        let batch = Batch::Rows { rows: std::mem::take(&mut self.rows), failed: std::mem::take(&mut self.failed), errors: std::mem::take(&mut self.errors) };
        // The receiver stops listening when a run is canceled or fails: stop reading then.
        self.tx.blocking_send(batch).map_err(|_| AppError::BadRequest("import stopped".into()))
    }
}

/// Why an all-or-nothing import wrote nothing (the job's message).
fn all_or_nothing_rejected(bad_rows: u64) -> String {
    format!("{bad_rows} bad rows; nothing imported (all-or-nothing)")
}

fn format_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Csv => "csv",
        FileKind::Xlsx => "xlsx",
        FileKind::Xls => "xls",
        FileKind::VCard => "vcard",
    }
}

/// Fills what `target` lacks from `source` (merge of an imported row into an existing archive).
/// JSON-level: a null, empty string or empty list in the target takes the source's value; the
/// name and everything already filled stay.
fn fill_empty(target: &mut ArchiveData, source: &ArchiveData) {
    let (Ok(mut t), Ok(s)) = (serde_json::to_value(&*target), serde_json::to_value(source)) else { return };
    fn fill(t: &mut serde_json::Value, s: &serde_json::Value) {
        use serde_json::Value;
        match (t, s) {
            (Value::Object(t), Value::Object(s)) => {
                for (k, sv) in s {
                    match t.get_mut(k) {
                        Some(tv) => fill(tv, sv),
                        None => {
                            t.insert(k.clone(), sv.clone());
                        }
                    }
                }
            }
            (t @ Value::Null, s) => *t = s.clone(),
            (Value::String(ts), Value::String(ss)) if ts.is_empty() => *ts = ss.clone(),
            (Value::Array(ta), Value::Array(sa)) if ta.is_empty() => *ta = sa.clone(),
            _ => {}
        }
    }
    fill(&mut t, &s);
    if let Ok(merged) = serde_json::from_value::<ArchiveData>(t) {
        let (owner, dept, name) = (target.owner_id, target.dept_id, target.name.clone());
        *target = merged;
        target.owner_id = owner;
        target.dept_id = dept;
        target.name = name;
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    /// The in-file key map remembers the first row of each key, says nothing for that row
    /// itself, and keeps distinct keys apart (its slots are the hash's halves).
    #[test]
    fn the_in_file_key_map_remembers_the_first_row_of_each_key() {
        for mut seen in [InFileKeys::default(), InFileKeys::for_rows(1_000)] {
            assert_eq!(seen.earlier_row("m:13800138000", 2), None, "a new key");
            assert_eq!(seen.earlier_row("m:13800138000", 2), None, "the same row again");
            assert_eq!(seen.earlier_row("m:13800138000", 7), Some(2), "a later row");
            assert_eq!(seen.earlier_row("m:13800138000", 9), Some(2), "still the first row");
            for i in 0..5_000u32 {
                assert_eq!(seen.earlier_row(&format!("n:客户{i}"), 10 + i), None, "key {i} is new");
            }
            for i in 0..5_000u32 {
                assert_eq!(seen.earlier_row(&format!("n:客户{i}"), 1_000_000), Some(10 + i), "key {i}");
            }
            assert_eq!(seen.keys.len(), 5_001);
        }
        assert!(InFileKeys::for_rows(1_000).keys.capacity() >= 5_000, "sized for the file's rows");
    }

    /// A run checks each row by the keys `BulkArchive::new` derives for the store from the sealed
    /// document; they must be the keys `duplicate_keys` gives for the row before sealing (ID
    /// number by its keyed hash, contacts normalized), which the dry run and the 查重 form use.
    #[tokio::test]
    async fn a_sealed_rows_stored_keys_are_its_duplicate_keys() {
        let dir = std::env::temp_dir().join(format!("dangan-import-keys-{}", std::process::id()));
        let store = std::sync::Arc::new(dangan_store::sqlite::SqliteStore::open(&dir.join("t.db")).unwrap());
        let app = App::new(store, crate::Settings::new(dir.clone()));
        let gen = dangan_core::demo::DemoGenerator::new(3, chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), vec![(1, 1)]);
        let mut with_id = 0;
        for d in gen.archives(0..2_000) {
            let mut data = d.data.clone();
            data.normalize();
            let expected = app.duplicate_keys(&data, &d.contacts);
            with_id += usize::from(expected.iter().any(|k| k.starts_with("i:")));
            app.seal(&mut data);
            let bulk = BulkArchive::new(data, Utc::now(), d.contacts.clone(), Vec::new()).unwrap();
            assert_eq!(bulk.keys(), &expected[..], "{}", d.data.name);
        }
        assert!(with_id > 0, "some rows carry an ID number");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
