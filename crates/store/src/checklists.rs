//! Document checklists (材料清单) in the store: the append-only marks (`checklist_marks`), the
//! settings document (`checklist_settings`, like `policy_settings`), and the archives the
//! overdue report looks at. The rules (which items, deadlines, the calendar) are
//! `dangan_core::checklist`'s; the store only keeps what was recorded.

use chrono::{DateTime, Utc};
use dangan_core::checklist::MarkAction;
use dangan_core::policy::ListScope;
use dangan_core::{ArchiveId, UserId};

use crate::sql::{scope_conditions, Dialect, Param, Params};

/// A mark to append: a tick, an untick or an attachment tag of one item.
#[derive(Debug, Clone)]
pub struct NewMark {
    pub archive_id: ArchiveId,
    pub checklist: String,
    pub item: String,
    pub action: MarkAction,
    pub attachment_id: Option<i64>,
    pub note: String,
    pub created_by: UserId,
    pub created_at: DateTime<Utc>,
}

pub(crate) const MARK_COLUMNS: &str = "id, archive_id, checklist, item, action, attachment_id, note, created_by, created_at";

/// The report's archives: created at or after `since`, not merged, within the scope, newest
/// first, at most `limit`. Placeholders are `$N` (SQLite takes them as numbered parameters).
pub(crate) fn candidates_query(dialect: Dialect, columns: &str, from: &str, scope: Option<&ListScope>, since: DateTime<Utc>, limit: u32) -> (String, Vec<Param>) {
    let mut params = Params::new(dialect);
    params.push(Param::Time(since));
    let mut conds = vec!["a.created_at >= $1".to_string(), "a.merged_into IS NULL".to_string()];
    if let Some(scope) = scope {
        conds.extend(scope_conditions(scope, &mut params));
    }
    (format!("SELECT {columns} FROM {from} WHERE {} ORDER BY a.id DESC LIMIT {}", conds.join(" AND "), limit.clamp(1, 100_000)), params.list)
}
