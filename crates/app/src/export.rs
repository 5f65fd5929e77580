//! Exporting the current list (any filter or search) to xlsx or CSV (UTF-8 or GBK), with the
//! columns chosen. Each archive passes the one access decision for `Action::Export` (机密 never
//! leaves the archive room as a file, 秘密 needs a grant …); archives the user may list but not
//! export are left out and counted. Sensitive fields stay masked unless the user asked for clear
//! values and the policy allows `ReadUnmasked` on that archive. One audit record per export:
//! filter, columns, rows written, rows withheld, whether values were unmasked.

use dangan_core::audit::AuditAction;
use dangan_core::policy::Action;
use dangan_core::ArchiveId;
use dangan_io::export::{ColumnSet, CsvEncoding, CsvExporter, XlsxExporter};
use dangan_io::mapping::Target;
use dangan_store::{ArchiveFilter, ArchiveQuery, Cursor, SortOrder};
use serde::{Deserialize, Serialize};

use crate::search::SearchQuery;
use crate::{App, AppError, Principal, Result};

/// Most rows one export writes (an Excel sheet holds 1,048,576).
pub const EXPORT_MAX_ROWS: usize = 1_000_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    #[default]
    Xlsx,
    /// UTF-8 with BOM (Excel opens it as Unicode).
    Csv,
    /// GBK/GB18030 for old Excel versions.
    CsvGbk,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "xlsx" | "" => ExportFormat::Xlsx,
            "csv" | "csv_utf8" => ExportFormat::Csv,
            "csv_gbk" | "gbk" => ExportFormat::CsvGbk,
            _ => return None,
        })
    }
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            _ => "csv",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::CsvGbk => "text/csv; charset=gbk",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ExportRequest {
    /// The list's filters (ignored parts: scope, which the policy sets).
    pub filter: ArchiveFilter,
    /// Search text, as typed in the search box; empty = the filtered list.
    pub q: String,
    /// Column paths (`name`, `mobile`, `organization.uscc`, `contacts[0].name`, …); empty = the
    /// standard set (客户归类汇总表).
    pub columns: Vec<String>,
    pub format: ExportFormat,
    /// Header language: `zh` or `en`.
    pub lang: String,
    /// Ask for clear values of sensitive fields (granted per archive by the policy).
    pub unmasked: bool,
}

/// The exported file and what went into it.
#[derive(Debug, Clone)]
pub struct ExportFile {
    pub bytes: Vec<u8>,
    pub file_name: String,
    pub content_type: &'static str,
    pub rows: u64,
    /// Archives in the list that the user may not export (left out).
    pub withheld: u64,
}

/// The columns a user may pick, as (path, Chinese label, English label).
pub fn export_columns() -> Vec<(String, String, String)> {
    ColumnSet::full(3).columns.into_iter().map(|c| (c.target.path(), c.header_zh, c.header_en)).collect()
}

/// Every field an import column may feed, as (path, Chinese label, English label): all fields
/// (phone and region included, which exports split) and every contact field of up to five contacts.
pub fn import_targets() -> Vec<(String, String, String)> {
    use dangan_io::mapping::{ContactField, Field, MAX_CONTACTS};
    let mut t: Vec<Target> = Field::all().map(Target::Field).collect();
    for n in 0..MAX_CONTACTS {
        t.extend(ContactField::all().map(|f| Target::Contact(n, f)));
    }
    t.into_iter().map(|t| (t.path(), t.label("zh"), t.label("en"))).collect()
}

fn column_set(paths: &[String], lang: &str) -> Result<ColumnSet> {
    let mut set = if paths.is_empty() {
        ColumnSet::standard()
    } else {
        let targets = paths
            .iter()
            .filter(|p| !p.trim().is_empty() && p.as_str() != "archive_no")
            .map(|p| p.trim().parse::<Target>().map_err(|_| AppError::Invalid { zh: format!("未知的导出列：{p}"), en: format!("unknown export column: {p}") }))
            .collect::<Result<Vec<_>>>()?;
        ColumnSet::from_targets(targets)
    };
    set.lang = if lang.starts_with("en") { "en".into() } else { "zh".into() };
    Ok(set)
}

enum Writer {
    Csv(CsvExporter<Vec<u8>>),
    Xlsx(XlsxExporter),
}

impl App {
    /// Writes the list or search result the user sees to a file; see the module documentation.
    pub async fn export_archives(&self, p: &Principal, req: &ExportRequest) -> Result<ExportFile> {
        self.authorize_general(p, Action::List).await?;
        let columns = column_set(&req.columns, &req.lang)?;
        let column_paths: Vec<String> = columns.columns.iter().map(|c| c.target.path()).collect();
        let ids = self.export_ids(p, req).await?;
        let io = |e: dangan_io::export::WriteError| AppError::Internal(e.to_string());
        let mut writer = match req.format {
            ExportFormat::Xlsx => Writer::Xlsx(XlsxExporter::new(columns.clone(), "客户档案").map_err(io)?),
            ExportFormat::Csv => Writer::Csv(CsvExporter::new(Vec::new(), columns.clone(), CsvEncoding::Utf8Bom).map_err(io)?),
            ExportFormat::CsvGbk => Writer::Csv(CsvExporter::new(Vec::new(), columns.clone(), CsvEncoding::Gbk).map_err(io)?),
        };
        let (mut rows, mut withheld, mut unmasked_rows) = (0u64, 0u64, 0u64);
        for id in ids {
            let Some(mut archive) = self.store.get_archive(id).await? else { continue };
            // The one access decision, per archive.
            if !self.allows(p, Action::Export, &archive).await? {
                withheld += 1;
                continue;
            }
            let clear = req.unmasked && self.allows(p, Action::ReadUnmasked, &archive).await?;
            self.open(&mut archive.data)?;
            let mut contacts: Vec<_> = self.store.list_contacts(id).await?.into_iter().map(|c| c.data).collect();
            if clear {
                unmasked_rows += 1;
            } else {
                dangan_core::mask::mask_archive(&mut archive.data);
                contacts.iter_mut().for_each(dangan_core::mask::mask_contact);
            }
            match &mut writer {
                Writer::Csv(w) => w.write(Some(&archive.archive_no), &archive.data, &contacts).map_err(io)?,
                Writer::Xlsx(w) => w.write(Some(&archive.archive_no), &archive.data, &contacts).map_err(io)?,
            }
            rows += 1;
        }
        let bytes = match writer {
            Writer::Csv(w) => w.finish().map_err(io)?,
            Writer::Xlsx(w) => w.finish().map_err(io)?,
        };
        let mut shown = serde_json::to_value(&req.filter).unwrap_or_default();
        if let Some(m) = shown.as_object_mut() {
            m.retain(|_, v| !v.is_null());
        }
        let detail = serde_json::json!({
            "filter": shown, "q": req.q, "format": req.format, "columns": column_paths,
            "rows": rows, "withheld": withheld, "unmasked_rows": unmasked_rows,
        });
        self.record(self.event(p, AuditAction::ArchiveExport).with_fields(&column_paths.iter().map(String::as_str).collect::<Vec<_>>()).with_detail(detail)).await?;
        let stamp = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("UTC+8")).format("%Y%m%d-%H%M%S");
        Ok(ExportFile { bytes, file_name: format!("客户档案-{stamp}.{}", req.format.extension()), content_type: req.format.content_type(), rows, withheld })
    }

    /// The ids of the list or search result, in its order, within the user's list scope.
    async fn export_ids(&self, p: &Principal, req: &ExportRequest) -> Result<Vec<ArchiveId>> {
        let mut ids = Vec::new();
        if !req.q.trim().is_empty() {
            let mut cursor = None;
            loop {
                let page = self.search(p, SearchQuery { q: req.q.clone(), filter: req.filter.clone(), cursor, limit: 200, ..Default::default() }).await?;
                ids.extend(page.items.iter().map(|i| i.summary.id));
                match page.next_cursor {
                    Some(c) if ids.len() < EXPORT_MAX_ROWS => cursor = Some(c),
                    _ => break,
                }
            }
            return Ok(ids);
        }
        let mut filter = req.filter.clone();
        filter.scope = Some(self.query_scope(p).await?);
        let mut after: Option<Cursor> = None;
        loop {
            let page = self.store.list_archives(&ArchiveQuery { filter: filter.clone(), sort: SortOrder::CreatedDesc, after, limit: 1000 }).await?;
            ids.extend(page.iter().map(|a| a.id));
            match page.last() {
                Some(last) if page.len() == 1000 && ids.len() < EXPORT_MAX_ROWS => after = Some(Cursor::after(last, SortOrder::CreatedDesc)),
                _ => break,
            }
        }
        Ok(ids)
    }

    /// The archive's contacts as vCard 3.0 (for phones and Outlook): authorized as an export;
    /// values in clear only where the policy allows unmasking. Audited with the contact count.
    pub async fn export_vcards(&self, p: &Principal, archive_id: ArchiveId) -> Result<(String, String)> {
        let archive = self.archive_for(p, archive_id, Action::Export).await?;
        let clear = self.allows(p, Action::ReadUnmasked, &archive).await?;
        let mut out = String::new();
        let contacts = self.store.list_contacts(archive_id).await?;
        for c in &contacts {
            let mut data = c.data.clone();
            if !clear {
                dangan_core::mask::mask_contact(&mut data);
            }
            out.push_str(&dangan_io::vcard::write_contact(&data, Some(&archive.data.name)));
        }
        let detail = serde_json::json!({ "format": "vcard", "rows": contacts.len(), "unmasked": clear });
        self.record(self.event(p, AuditAction::ArchiveExport).with_archive(archive.id, &archive.archive_no).with_fields(&["contacts"]).with_detail(detail)).await?;
        Ok((out, format!("{}-联系人.vcf", archive.archive_no)))
    }
}
