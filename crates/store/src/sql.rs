//! SQL text shared by both engines: the archive list query is built once here and each engine
//! binds the parameters its own way (`?N` for SQLite, `$N` for PostgreSQL).

use chrono::{DateTime, NaiveDate, Utc};

use dangan_core::policy::ListScope;

use crate::{ArchiveFilter, ArchiveQuery, SortOrder};

#[derive(Debug, Clone)]
pub(crate) enum Param {
    Text(String),
    Int(i64),
    Bool(bool),
    Time(DateTime<Utc>),
    Date(NaiveDate),
}

/// The engine a query is built for, where the shared text must differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

/// A query's parameters as they are added, and the engine the text is for.
pub(crate) struct Params {
    pub dialect: Dialect,
    pub list: Vec<Param>,
}

impl Params {
    pub fn new(dialect: Dialect) -> Self {
        Params { dialect, list: Vec::new() }
    }
}

impl std::ops::Deref for Params {
    type Target = Vec<Param>;
    fn deref(&self) -> &Vec<Param> {
        &self.list
    }
}

impl std::ops::DerefMut for Params {
    fn deref_mut(&mut self) -> &mut Vec<Param> {
        &mut self.list
    }
}

pub(crate) const SUMMARY_COLUMNS: &str =
    "id, archive_no, kind, name, grade, credit_grade, blacklisted, status, industry, province, city, owner_id, dept_id, tier, secrecy, mobile, updated_at";

/// `SUMMARY_COLUMNS` of the archives table under `alias`, for a query that joins it.
fn summary_columns_of(alias: &str) -> String {
    SUMMARY_COLUMNS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Builds `WHERE …` (or an empty string) for the filter, pushing parameters.
pub(crate) fn filter_clause(f: &ArchiveFilter, params: &mut Params, extra: Vec<String>) -> String {
    let mut conds = extra;
    // Merged archives are tombstones: their number resolves to the survivor, lists skip them.
    conds.push("merged_into IS NULL".to_string());
    // Destroyed archives are tombstones too (number and dates only).
    conds.push("destroyed_at IS NULL".to_string());
    let mut eq = |col: &str, p: Param, params: &mut Vec<Param>| {
        params.push(p);
        conds.push(format!("{col} = ${}", params.len()));
    };
    if let Some(v) = f.kind {
        eq("kind", Param::Text(v.as_str().into()), params);
    }
    if let Some(v) = f.grade {
        eq("grade", Param::Text(v.as_str().into()), params);
    }
    if let Some(v) = f.credit_grade {
        eq("credit_grade", Param::Text(v.as_str().into()), params);
    }
    if let Some(v) = f.blacklisted {
        eq("blacklisted", Param::Bool(v), params);
    }
    if let Some(v) = f.status {
        eq("status", Param::Text(v.as_str().into()), params);
    }
    if let Some(v) = &f.industry {
        eq("industry", Param::Text(v.clone()), params);
    }
    if let Some(v) = &f.province {
        eq("province", Param::Text(v.clone()), params);
    }
    if let Some(v) = &f.city {
        eq("city", Param::Text(v.clone()), params);
    }
    if let Some(v) = f.owner_id {
        eq("owner_id", Param::Int(v), params);
    }
    if let Some(v) = f.dept_id {
        eq("dept_id", Param::Int(v), params);
    }
    if let Some(v) = f.tier {
        eq("tier", Param::Text(v.as_str().into()), params);
    }
    if let Some(v) = f.secrecy {
        eq("secrecy", Param::Text(v.as_str().into()), params);
    }
    if let Some(v) = &f.number_prefix {
        // A case-sensitive prefix LIKE uses an index on both engines (SQLite: BINARY column with
        // case_sensitive_like; PostgreSQL: text_pattern_ops) whatever the database's collation.
        params.push(Param::Text(format!("{}%", like_escape(v))));
        conds.push(format!("archive_no LIKE ${} ESCAPE '\\'", params.len()));
    }
    if let Some(v) = &f.name_contains {
        params.push(Param::Text(format!("%{}%", like_escape(v))));
        conds.push(format!("name LIKE ${} ESCAPE '\\'", params.len()));
    }
    if let Some(v) = f.updated_from {
        params.push(Param::Time(v));
        conds.push(format!("updated_at >= ${}", params.len()));
    }
    if let Some(v) = f.updated_to {
        params.push(Param::Time(v));
        conds.push(format!("updated_at < ${}", params.len()));
    }
    if !f.dept_ids.is_empty() {
        conds.push(format!("dept_id IN ({})", id_list(&f.dept_ids)));
    }
    if f.unowned {
        conds.push("owner_id IS NULL".to_string());
    }
    if let Some(scope) = &f.scope {
        conds.extend(scope_conditions(scope, params));
    }
    if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    }
}

/// The page query for a list. Placeholders are `$N`; SQLite accepts them as numbered parameters too.
pub(crate) fn list_query(dialect: Dialect, q: &ArchiveQuery) -> (String, Vec<Param>) {
    let mut params = Params::new(dialect);
    let mut extra = Vec::new();
    if let Some(c) = q.after {
        match q.sort {
            SortOrder::CreatedDesc => {
                params.push(Param::Int(c.id));
                extra.push(format!("id < ${}", params.len()));
            }
            SortOrder::CreatedAsc => {
                params.push(Param::Int(c.id));
                extra.push(format!("id > ${}", params.len()));
            }
            SortOrder::UpdatedDesc | SortOrder::UpdatedAsc => {
                let (op, unknown) = if matches!(q.sort, SortOrder::UpdatedDesc) { ("<", i64::MAX) } else { (">", i64::MIN) };
                params.push(Param::Time(DateTime::from_timestamp_micros(c.updated_micros.unwrap_or(unknown)).unwrap_or_default()));
                let t = params.len();
                params.push(Param::Int(c.id));
                // A row value, which both engines can take as the start of a range on an index
                // ending in (updated_at, id); the equivalent OR is only a filter on the walk.
                extra.push(format!("(updated_at, id) {op} (${t}, ${})", params.len()));
            }
        }
    }
    let order = match q.sort {
        SortOrder::CreatedDesc => "id DESC",
        SortOrder::CreatedAsc => "id ASC",
        SortOrder::UpdatedDesc => "updated_at DESC, id DESC",
        SortOrder::UpdatedAsc => "updated_at, id",
    };
    let limit = q.limit.clamp(1, 1000);
    let by_update = matches!(q.sort, SortOrder::UpdatedDesc | SortOrder::UpdatedAsc);
    if let Some(branches) = several_scope_parts(&q.filter, &mut params, by_update) {
        let page = scoped_page(&q.filter, &branches, extra, &mut params, order, limit, false);
        return (page, params.list);
    }
    let where_ = filter_clause(&q.filter, &mut params, extra);
    (format!("SELECT {SUMMARY_COLUMNS} FROM archives{where_} ORDER BY {order} LIMIT {limit}"), params.list)
}

/// The scope's parts when it has more than one (for `scope_parts_page`); otherwise `None`, with
/// nothing added to `params` (a parameter the text does not use is an error on PostgreSQL).
/// `one_dept_per_part`: see `scope_branches`.
fn several_scope_parts(filter: &ArchiveFilter, params: &mut Params, one_dept_per_part: bool) -> Option<Vec<String>> {
    let scope = filter.scope.as_ref()?;
    let mark = params.len();
    let branches = scope_branches(scope, params, one_dept_per_part);
    if branches.len() > 1 {
        Some(branches)
    } else {
        params.truncate(mark);
        None
    }
}

/// A page over a scope of several parts in `order` (one of `list_query`'s), with the summary
/// columns and, `with_key`, the id as `skey` (a search page): in id order, merged as the parts
/// come from their covering indexes (SQLite: `merged_parts_page`, when each part comes in id
/// order; PostgreSQL: `covered_parts_page`), else `scope_parts_page`.
#[allow(clippy::too_many_arguments)]
fn scoped_page(filter: &ArchiveFilter, branches: &[String], conds: Vec<String>, params: &mut Params, order: &str, limit: u32, with_key: bool) -> String {
    let by_id = order.starts_with("id ");
    let key = if with_key { ", id AS skey" } else { "" };
    if params.dialect == Dialect::Sqlite && by_id && parts_come_in_id_order(filter.scope.as_ref()) {
        return merged_parts_page(filter, branches, conds, params, order, limit, key);
    }
    if params.dialect == Dialect::Postgres && by_id {
        return covered_parts_page(filter, branches, conds, params, order, limit, key);
    }
    let keys = if by_id { "id" } else { "id, updated_at" };
    scope_parts_page(filter, branches, conds, params, keys, order, limit, &format!("{SUMMARY_COLUMNS}{key}"))
}

/// The conditions every part of a scope shares (the filter, the page's cursor, the secrecy
/// rule), ending so that a part's own condition can follow: ` WHERE … AND` or ` WHERE`.
fn shared_part_conditions(filter: &ArchiveFilter, params: &mut Params, conds: Vec<String>) -> String {
    let mut rest = filter.clone();
    if let Some(scope) = rest.scope.as_mut() {
        scope.all = true;
    }
    let where_ = filter_clause(&rest, params, conds);
    if where_.is_empty() {
        " WHERE".to_string()
    } else {
        format!("{where_} AND")
    }
}

/// A page over a scope of several parts ("my department's archives OR the ones I own OR …"): one
/// ordered, limited key query per part, each answered from its own scope index (which carries the
/// filter columns, migration 0018), merged with `UNION` (an archive in two parts comes once), and
/// the page's rows read once. A single query with the OR would make the planners collect every
/// visible row and sort them. `keys` are the columns `order` needs; `columns` what the page returns.
#[allow(clippy::too_many_arguments)]
fn scope_parts_page(filter: &ArchiveFilter, branches: &[String], conds: Vec<String>, params: &mut Params, keys: &str, order: &str, limit: u32, columns: &str) -> String {
    let parts = limited_parts(filter, branches, conds, params, keys, order, limit);
    format!("SELECT {columns} FROM archives WHERE id IN (SELECT id FROM ({}) AS visible ORDER BY {order} LIMIT {limit}) ORDER BY {order}", parts.join(" UNION "))
}

/// Each part of a scope as a query of `columns` in `order`, at most `limit` rows, ready to be
/// joined by a UNION.
fn limited_parts(filter: &ArchiveFilter, branches: &[String], conds: Vec<String>, params: &mut Params, columns: &str, order: &str, limit: u32) -> Vec<String> {
    let shared = shared_part_conditions(filter, params, conds);
    branches
        .iter()
        .enumerate()
        .map(|(i, b)| format!("SELECT * FROM (SELECT {columns} FROM archives{shared} {b} ORDER BY {order} LIMIT {limit}) AS part{i}"))
        .collect()
}

/// Whether every part of the scope can be walked in id order from its index: one department
/// per tier part (an index range per department is in id order only within it), an owner, the
/// company tier, grants (ids).
fn parts_come_in_id_order(scope: Option<&ListScope>) -> bool {
    scope.is_some_and(|s| s.dept_tier_depts.len() <= 1 && s.personal_tier_depts.len() <= 1)
}

/// SQLite, for a scope whose parts each come in id order (a salesperson: their department's
/// archives, their own, their grants): the parts' rows merged as they come (`MERGE (UNION)`, no
/// temporary tables, stopping at the page's end). Each part's rows come from its scope index,
/// which carries every summary column (migration 0023), so the page reads no table rows except a
/// granted archive's: a salesperson's newest 50 would otherwise be 50 lookups on as many table
/// pages, read again after every commit (an audited read is one), where an unrestricted page
/// reads the 4-5 pages its rows share. The general form sorts each part's page and their union.
/// (PostgreSQL: `covered_parts_page`.) `extra_columns` follow the summary
/// columns (`, id AS skey` for a search page).
fn merged_parts_page(filter: &ArchiveFilter, branches: &[String], conds: Vec<String>, params: &mut Params, order: &str, limit: u32, extra_columns: &str) -> String {
    let shared = shared_part_conditions(filter, params, conds);
    let parts: Vec<String> = branches.iter().map(|b| format!("SELECT {SUMMARY_COLUMNS}{extra_columns} FROM archives{shared} {b}")).collect();
    let direction = if order.ends_with("DESC") { "DESC" } else { "ASC" };
    format!("{} ORDER BY 1 {direction} LIMIT {limit}", parts.join(" UNION "))
}

/// PostgreSQL, a page in id order: each part's rows, not only its ids, from its scope index (an
/// index-only scan: the indexes carry every summary column, migration 0023), merged in id order
/// as they come (`Merge Append`, then `Unique` on the id: an archive in two parts comes once), so
/// the page reads about its own rows from the indexes and no table rows except a granted
/// archive's. The general form read each part's whole page of ids, hashed their union and looked
/// the rows up by id: 51 visits to as many table pages for a salesperson, whose scope is one
/// archive in six, where an unrestricted page's rows share a few. (PostgreSQL 15 plans a UNION,
/// or a DISTINCT over all columns, as a hash of every part's rows, so the parts come as UNION ALL
/// and the duplicates go by `DISTINCT ON (id)`.)
fn covered_parts_page(filter: &ArchiveFilter, branches: &[String], conds: Vec<String>, params: &mut Params, order: &str, limit: u32, extra_columns: &str) -> String {
    let parts = limited_parts(filter, branches, conds, params, &format!("{SUMMARY_COLUMNS}{extra_columns}"), order, limit);
    format!("{COVERED_PAGE_HEAD}{}) AS visible ORDER BY {order} LIMIT {limit}", parts.join(" UNION ALL "))
}

const COVERED_PAGE_HEAD: &str = "SELECT DISTINCT ON (id) * FROM (";

/// Whether the best plan of this query is the same whatever its values: `covered_parts_page`'s
/// parts walk their scope indexes and are merged, whatever the filter. PostgreSQL may run such a
/// query's generic plan instead of planning it at every call.
pub(crate) fn plan_fixed_by_shape(text: &str) -> bool {
    text.starts_with(COVERED_PAGE_HEAD)
}

/// The list pages the plan tests check on each engine: a salesperson's scope (their department's
/// archives, their own, their grants), first page, filtered (grade A, 浙江省) and ascending.
#[cfg(test)]
pub(crate) fn salesperson_pages() -> Vec<crate::ArchiveQuery> {
    let scope = ListScope {
        dept_tier_depts: vec![3],
        owner: Some(7),
        grants_of: Some(dangan_core::policy::GrantHolder { user_id: 7, at: chrono::Utc::now() }),
        ..ListScope::nothing()
    };
    let filtered = ArchiveFilter { grade: Some(dangan_core::Grade::A), province: Some("浙江省".into()), ..Default::default() };
    [(ArchiveFilter::default(), SortOrder::CreatedDesc), (filtered, SortOrder::CreatedDesc), (ArchiveFilter::default(), SortOrder::CreatedAsc)]
        .into_iter()
        .map(|(filter, sort)| crate::ArchiveQuery { filter: ArchiveFilter { scope: Some(scope.clone()), ..filter }, sort, after: None, limit: 51 })
        .collect()
}

pub(crate) fn count_query(dialect: Dialect, f: &ArchiveFilter) -> (String, Vec<Param>) {
    let mut params = Params::new(dialect);
    let where_ = filter_clause(f, &mut params, Vec::new());
    (format!("SELECT COUNT(*) FROM archives{where_}"), params.list)
}

/// `count_query` that stops at `cap` rows (the walk ends there, however many there are).
pub(crate) fn count_upto_query(dialect: Dialect, f: &ArchiveFilter, cap: i64) -> (String, Vec<Param>) {
    let mut params = Params::new(dialect);
    let where_ = filter_clause(f, &mut params, Vec::new());
    (format!("SELECT COUNT(*) FROM (SELECT 1 FROM archives{where_} LIMIT {}) AS capped", cap.max(1)), params.list)
}

pub(crate) fn id_list(ids: &[i64]) -> String {
    ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

/// The parts of a scope that admit archives, each a condition (empty when the scope is `all`).
/// Ids are integers formatted into the text, so nothing user-typed reaches the SQL here; the
/// instant the grants are judged at is a parameter. `one_dept_per_part` (the update-time sorts):
/// a part per department instead of one per tier, because an index on (dept_id, updated_at)
/// yields one department's archives in update order but several departments' only unsorted (a
/// manager's subtree page sorted 265 ms at 1M; migration 0020).
fn scope_branches(scope: &ListScope, params: &mut Params, one_dept_per_part: bool) -> Vec<String> {
    let mut any = Vec::new();
    if scope.all {
        return any;
    }
    let by_depts = |any: &mut Vec<String>, tier: &str, depts: &[i64]| {
        if one_dept_per_part {
            any.extend(depts.iter().map(|d| format!("(tier = '{tier}' AND dept_id = {d})")));
        } else if !depts.is_empty() {
            any.push(format!("(tier = '{tier}' AND dept_id IN ({}))", id_list(depts)));
        }
    };
    if scope.company {
        any.push("tier = 'company'".to_string());
    }
    by_depts(&mut any, "department", &scope.dept_tier_depts);
    if let Some(owner) = scope.owner {
        any.push(format!("(tier = 'personal' AND owner_id = {owner})"));
    }
    by_depts(&mut any, "personal", &scope.personal_tier_depts);
    if !scope.granted.is_empty() {
        any.push(format!("id IN ({})", id_list(&scope.granted)));
    }
    if let Some(h) = scope.grants_of {
        // The twin of `active_grants(user, None, at)` keeping the grants that allow reading.
        params.push(Param::Time(h.at));
        let held = format!(
            "SELECT g.archive_id FROM grants g WHERE g.user_id = {} AND g.expires_at > ${} AND g.revoked_at IS NULL AND ',' || g.actions || ',' LIKE '%,{},%'",
            h.user_id,
            params.len(),
            dangan_core::policy::Action::Read.as_str()
        );
        any.push(match params.dialect {
            // SQLite answers `rowid IN (subquery)` from the primary key, also as one arm of an OR.
            Dialect::Sqlite => format!("id IN ({held})"),
            // PostgreSQL cannot use an index for `IN (subquery)` inside an OR (it filters every
            // row: an owner's count went 10 → 107 ms at 1M); an array computed once can.
            Dialect::Postgres => format!("id = ANY(ARRAY({held}))"),
        });
    }
    any
}

/// The access policy's list scope as SQL conditions (the twin of `ListScope::admits`).
pub(crate) fn scope_conditions(scope: &ListScope, params: &mut Params) -> Vec<String> {
    let mut conds = Vec::new();
    if !scope.all {
        let any = scope_branches(scope, params, false);
        conds.push(if any.is_empty() { "1 = 0".to_string() } else { format!("({})", any.join(" OR ")) });
    }
    if !scope.top_secret {
        conds.push("secrecy <> 'top_secret'".to_string());
    }
    conds
}

/// The audit viewer's query: newest first, filtered, keyset by `seq`.
pub(crate) fn audit_list(q: &crate::AuditQuery, columns: &str) -> (String, Vec<Param>) {
    let mut params = Vec::new();
    let mut conds: Vec<String> = Vec::new();
    let mut push = |cond: &str, p: Param, params: &mut Vec<Param>| {
        params.push(p);
        conds.push(cond.replace('#', &format!("${}", params.len())));
    };
    if let Some(v) = q.user_id {
        push("user_id = #", Param::Int(v), &mut params);
    }
    if let Some(v) = q.archive_id {
        push("archive_id = #", Param::Int(v), &mut params);
    }
    if let Some(v) = q.action.as_ref().filter(|s| !s.is_empty()) {
        push("action = #", Param::Text(v.clone()), &mut params);
    }
    if let Some(v) = q.outcome.as_ref().filter(|s| !s.is_empty()) {
        push("outcome = #", Param::Text(v.clone()), &mut params);
    }
    if let Some(v) = q.from {
        push("at >= #", Param::Time(v), &mut params);
    }
    if let Some(v) = q.to {
        push("at < #", Param::Time(v), &mut params);
    }
    if let Some(v) = q.before_seq {
        push("seq < #", Param::Int(v), &mut params);
    }
    let wh = if conds.is_empty() { String::new() } else { format!("WHERE {}", conds.join(" AND ")) };
    let limit = q.limit.clamp(1, 1000);
    (format!("SELECT {columns} FROM audit_log {wh} ORDER BY seq DESC LIMIT {limit}"), params)
}

/// Records that a derived state (a row of `derived_state`, `$1` its name) is built; idempotent.
pub(crate) const MARK_DERIVED: &str = "INSERT INTO derived_state (name) VALUES ($1) ON CONFLICT DO NOTHING";

/// Whether `migrate` must build the search index: there are archives, and the index, the
/// duplicate keys or the marker of this version's terms (`$1`, `SEARCH_TERMS_STATE`) is missing.
pub(crate) const SEARCH_INDEX_STALE: &str = "SELECT EXISTS (SELECT 1 FROM archives) AND (NOT EXISTS (SELECT 1 FROM search_docs) OR NOT EXISTS (SELECT 1 FROM dedup_keys) \
     OR NOT EXISTS (SELECT 1 FROM derived_state WHERE name = $1))";

/// How the search SQL reaches the text index on each engine.
pub(crate) struct TextIndex {
    /// FROM clause joining the index to `archives`.
    pub from: &'static str,
    /// Condition with `{}` for the placeholder number of the engine's query text.
    pub cond: &'static str,
    /// The activity sequence column that orders text results.
    pub key: &'static str,
    /// Keeps a subquery from being merged into the outer query (SQLite `LIMIT -1`, PostgreSQL
    /// `OFFSET 0`).
    pub fence: &'static str,
    pub dialect: Dialect,
}

pub(crate) const SQLITE_TEXT: TextIndex = TextIndex {
    from: "search_fts f JOIN search_docs m ON m.seq = f.rowid JOIN archives ON archives.id = m.archive_id",
    cond: "search_fts MATCH ${}",
    key: "f.rowid",
    fence: " LIMIT -1",
    dialect: Dialect::Sqlite,
};

/// PostgreSQL, for a query that matches few archives: the matches come from the GIN index and
/// are sorted by sequence first (the fence keeps them apart), then joined. The planner's guess
/// for any tsquery is a flat fraction of the rows, so with `PG_TEXT` it walks the sequence index
/// backwards testing every row — the whole table for a rare term (783 ms at 1M for no hit, where
/// the GIN index answers in 0.5 ms). `PgStore::search` asks the GIN index how many there are
/// (up to a cap) and picks this form below it.
pub(crate) const PG_TEXT_FEW: TextIndex = TextIndex {
    from: "(SELECT seq, archive_id FROM search_docs WHERE tsv @@ ${}::text::tsquery ORDER BY seq DESC OFFSET 0) m JOIN archives ON archives.id = m.archive_id",
    cond: "",
    key: "m.seq",
    fence: " OFFSET 0",
    dialect: Dialect::Postgres,
};

pub(crate) const PG_TEXT: TextIndex =
    TextIndex { from: "search_docs m JOIN archives ON archives.id = m.archive_id", cond: "m.tsv @@ ${}::text::tsquery", key: "m.seq", fence: " OFFSET 0", dialect: Dialect::Postgres };

/// The conditions of a search besides its cursor; returns (FROM, key column, conditions).
fn search_parts(req: &crate::SearchRequest, text: &TextIndex, params: &mut Vec<Param>) -> (String, &'static str, Vec<String>) {
    let mut conds = Vec::new();
    let (from, key) = match &req.matcher {
        crate::SearchMatch::Text(rendered) => {
            params.push(Param::Text(rendered.clone()));
            let n = params.len().to_string();
            if !text.cond.is_empty() {
                conds.push(text.cond.replace("{}", &n));
            }
            (text.from.replace("{}", &n), text.key)
        }
        crate::SearchMatch::Uscc(v) => {
            params.push(Param::Text(v.clone()));
            conds.push(format!("uscc = ${}", params.len()));
            ("archives".to_string(), "id")
        }
        crate::SearchMatch::IdHash(v) => {
            params.push(Param::Text(v.clone()));
            conds.push(format!("id_hash = ${}", params.len()));
            ("archives".to_string(), "id")
        }
        crate::SearchMatch::NumberPrefix(v) => {
            params.push(Param::Text(format!("{}%", like_escape(v))));
            conds.push(format!("archive_no LIKE ${} ESCAPE '\\'", params.len()));
            ("archives".to_string(), "id")
        }
        crate::SearchMatch::All => ("archives".to_string(), "id"),
    };
    if let Some(v) = req.created_from {
        params.push(Param::Time(v));
        conds.push(format!("created_at >= ${}", params.len()));
    }
    if let Some(v) = req.created_to {
        params.push(Param::Time(v));
        conds.push(format!("created_at < ${}", params.len()));
    }
    (from, key, conds)
}

/// One page of a search, ordered by its key (activity sequence for text, id otherwise), newest
/// first. Columns: the summary columns, then the key.
pub(crate) fn search_query(req: &crate::SearchRequest, text: &TextIndex) -> (String, Vec<Param>) {
    let mut params = Params::new(text.dialect);
    let (from, key, mut conds) = search_parts(req, text, &mut params);
    let limit = req.limit.clamp(1, 1000);
    if let crate::SearchMatch::NumberPrefix(_) = req.matcher {
        // Numbers in number order (newest number first), straight along the archive_no index
        // whether the prefix is narrow or broad; the key is the id, the cursor its number.
        if let Some(after) = req.after {
            params.push(Param::Int(after));
            conds.push(format!("archive_no < (SELECT archive_no FROM archives WHERE id = ${})", params.len()));
        }
        // The scope is applied outside, behind a fence: otherwise the planners answer the
        // scope's OR from its own indexes and sort every visible row (a salesperson: 0.9 s at 1M).
        let mut inner = req.filter.clone();
        let scope = inner.scope.take();
        let where_ = filter_clause(&inner, &mut params, conds);
        let outer = scope.as_ref().map(|s| scope_conditions(s, &mut params)).unwrap_or_default();
        let outer = if outer.is_empty() { String::new() } else { format!(" WHERE {}", outer.join(" AND ")) };
        return (
            format!("SELECT * FROM (SELECT {SUMMARY_COLUMNS}, id AS skey FROM archives{where_} ORDER BY archive_no DESC{}) AS numbered{outer} LIMIT {limit}", text.fence),
            params.list,
        );
    }
    if let Some(after) = req.after {
        params.push(Param::Int(after));
        conds.push(format!("{key} < ${}", params.len()));
    }
    let parts = if from == "archives" { several_scope_parts(&req.filter, &mut params, false) } else { None };
    if let Some(branches) = parts {
        let page = scoped_page(&req.filter, &branches, conds, &mut params, "id DESC", limit, true);
        return (page, params.list);
    }
    let where_ = filter_clause(&req.filter, &mut params, conds);
    (format!("SELECT {SUMMARY_COLUMNS}, {key} AS skey FROM {from}{where_} ORDER BY {key} DESC LIMIT {limit}"), params.list)
}

/// How many archives a search finds, counting at most `cap`.
pub(crate) fn search_count_query(req: &crate::SearchRequest, text: &TextIndex, cap: i64) -> (String, Vec<Param>) {
    let mut params = Params::new(text.dialect);
    let (from, _, conds) = search_parts(req, text, &mut params);
    let where_ = filter_clause(&req.filter, &mut params, conds);
    (format!("SELECT COUNT(*) FROM (SELECT 1 FROM {from}{where_} LIMIT {}) AS capped", cap.max(1)), params.list)
}

/// The score of a key's kind in SQL (the twin of `dangan_core::dedup::Reason::score`).
fn key_score_case(col: &str) -> String {
    let arms: Vec<String> = dangan_core::dedup::Reason::ALL.iter().map(|r| format!("WHEN '{}' THEN {}", r.prefix(), r.score())).collect();
    format!("CASE substr({col}, 1, 1) {} ELSE 0 END", arms.join(" "))
}

/// The duplicate scan's page: pairs (left < right) sharing keys held by 2..=DEDUP_MAX_GROUP
/// archives, with a raw score (best kind + 5 per further kind), highest first, keyset after
/// `after`. Columns: score, left, right.
pub(crate) fn duplicate_pairs_query(after: Option<crate::PairCursor>, limit: u32) -> (String, Vec<Param>) {
    let mut params = Vec::new();
    let cond = match after {
        Some(c) => {
            params.extend([Param::Int(c.score), Param::Int(c.left), Param::Int(c.right)]);
            " WHERE (score < $1 OR (score = $1 AND (a > $2 OR (a = $2 AND b > $3))))"
        }
        None => "",
    };
    let limit = limit.clamp(1, 1000);
    let sql = format!(
        "SELECT score, a, b FROM (
            SELECT k1.archive_id AS a, k2.archive_id AS b,
                   MAX({}) + 5 * (COUNT(DISTINCT substr(k1.key, 1, 1)) - 1) AS score
            FROM (SELECT key FROM dedup_keys GROUP BY key HAVING COUNT(*) BETWEEN 2 AND {}) g
            JOIN dedup_keys k1 ON k1.key = g.key
            JOIN dedup_keys k2 ON k2.key = g.key AND k2.archive_id > k1.archive_id
            GROUP BY k1.archive_id, k2.archive_id
         ) AS pairs{cond} ORDER BY score DESC, a, b LIMIT {limit}",
        key_score_case("k1.key"),
        crate::DEDUP_MAX_GROUP
    );
    (sql, params)
}

/// The rows and keys of the archives of a scan page (ids are integers formatted in).
pub(crate) fn pair_rows_queries(ids: &[i64]) -> (String, String) {
    let list = id_list(ids);
    (format!("SELECT {SUMMARY_COLUMNS} FROM archives WHERE id IN ({list})"), format!("SELECT archive_id, key FROM dedup_keys WHERE archive_id IN ({list})"))
}

/// The candidates query: `(SUMMARY_COLUMNS…, matched key)` for the archives holding any of the
/// keys `keys_cond` selects, at most DEDUP_MAX_GROUP per key, tombstones excluded.
pub(crate) fn candidates_query(keys_cond: &str) -> String {
    format!(
        "SELECT {}, k.key FROM (SELECT key, archive_id, row_number() OVER (PARTITION BY key ORDER BY archive_id DESC) AS rn FROM dedup_keys WHERE {keys_cond}) k
         JOIN archives a ON a.id = k.archive_id WHERE k.rn <= {} AND a.merged_into IS NULL",
        summary_columns_of("a"),
        crate::DEDUP_MAX_GROUP
    )
}

/// The FROM … WHERE part of the dates queries: indexed dates in the windows, joined to the
/// archives the filter admits. The filter's columns are the archives' (`archive_dates` shares no
/// column name with `archives`).
fn due_dates_from(q: &crate::lifecycle::DueDatesQuery, params: &mut Params) -> String {
    let mut windows = Vec::new();
    for (kind, from, to) in &q.date_ranges {
        params.push(Param::Text(kind.as_str().into()));
        let k = params.len();
        params.push(Param::Date(*to));
        let t = params.len();
        match from {
            Some(f) => {
                params.push(Param::Date(*f));
                windows.push(format!("(date_kind = ${k} AND on_date BETWEEN ${} AND ${t})", params.len()));
            }
            None => windows.push(format!("(date_kind = ${k} AND on_date <= ${t})")),
        }
    }
    for (kind, from, to) in &q.month_day_ranges {
        params.push(Param::Text(kind.as_str().into()));
        windows.push(format!("(date_kind = ${} AND md BETWEEN {from} AND {to})", params.len()));
    }
    for (kind, below) in &q.num_below {
        params.push(Param::Text(kind.as_str().into()));
        windows.push(format!("(date_kind = ${} AND num < {below})", params.len()));
    }
    if windows.is_empty() {
        windows.push("1 = 0".into());
    }
    let where_ = filter_clause(&q.filter, params, vec![format!("({})", windows.join(" OR "))]);
    // A reminder list is someone's archives (an owner, a department subtree): walk those archives
    // through their index and look up each one's dates, rather than every date in the window over
    // the whole base and then the owner (SQLite keeps a CROSS JOIN's order; PostgreSQL plans it
    // as an inner join by its statistics). Without such a filter, or when the caller knows the
    // book is large and asks for one window at a time (`from_dates`), start from the dates: the
    // window's index in its order, stopping at the limit.
    if q.from_dates {
        format!(" FROM archive_dates CROSS JOIN archives a{}", where_.replacen(" WHERE ", " WHERE a.id = archive_dates.archive_id AND ", 1))
    } else if q.filter.owner_id.is_some() || !q.filter.dept_ids.is_empty() {
        format!(" FROM archives a CROSS JOIN archive_dates{}", where_.replacen(" WHERE ", " WHERE archive_dates.archive_id = a.id AND ", 1))
    } else {
        format!(" FROM archive_dates JOIN archives a ON a.id = archive_dates.archive_id{where_}")
    }
}

/// Indexed dates in the windows of archives the filter admits, in the reminders' order (`DueOrder`).
pub(crate) fn due_dates_query(dialect: Dialect, q: &crate::lifecycle::DueDatesQuery) -> (String, Vec<Param>) {
    let mut params = Params::new(dialect);
    let from = due_dates_from(q, &mut params);
    let limit = q.limit.clamp(1, 10_000);
    let columns = summary_columns_of("a");
    let order = match q.order {
        // One window from its index: in the index's order (a birthday window never crosses the
        // year's end, so month-day order is the anniversaries' order within it).
        crate::lifecycle::DueOrder::OnDate if q.from_dates => "on_date, a.id".to_string(),
        crate::lifecycle::DueOrder::NextAnniversaryFrom(_) if q.from_dates => "md, a.id".to_string(),
        crate::lifecycle::DueOrder::OnDate => "on_date, md, a.id".to_string(),
        // Month-days from today's on come first (this year), the ones before it after (next year).
        crate::lifecycle::DueOrder::NextAnniversaryFrom(today) => format!("CASE WHEN md >= {today} THEN md ELSE md + 10000 END, a.id"),
    };
    (format!("SELECT {columns}, date_kind, on_date, num, label{from} ORDER BY {order} LIMIT {limit}"), params.list)
}

/// Counts of `due_dates_query`'s rows (without its limit) per kind and whether before `day`.
pub(crate) fn due_counts_query(dialect: Dialect, q: &crate::lifecycle::DueDatesQuery, day: NaiveDate) -> (String, Vec<Param>) {
    if let Some(cap) = q.count_cap {
        return due_counts_capped_query(dialect, q, day, cap);
    }
    let mut params = Params::new(dialect);
    let from = due_dates_from(q, &mut params);
    params.push(Param::Date(day));
    let d = params.len();
    (format!("SELECT date_kind, CASE WHEN on_date < ${d} THEN 1 ELSE 0 END AS before_day, COUNT(*){from} GROUP BY 1, 2"), params.list)
}

/// `due_counts_query` with every window counted on its own up to `cap` (each walk stops there).
/// A date range is split at `day` first, so that "before" and "from" each get their own count
/// (credit expired and expiring are one range).
fn due_counts_capped_query(dialect: Dialect, q: &crate::lifecycle::DueDatesQuery, day: NaiveDate, cap: i64) -> (String, Vec<Param>) {
    use crate::lifecycle::DueDatesQuery;
    let mut params = Params::new(dialect);
    let one = |q: &DueDatesQuery| DueDatesQuery { date_ranges: Vec::new(), month_day_ranges: Vec::new(), num_below: Vec::new(), count_cap: None, ..q.clone() };
    let mut windows: Vec<DueDatesQuery> = Vec::new();
    let before = day.pred_opt().unwrap_or(day);
    for &(kind, from, to) in &q.date_ranges {
        if from.is_none_or(|f| f < day) {
            windows.push(DueDatesQuery { date_ranges: vec![(kind, from, to.min(before))], ..one(q) });
        }
        if to >= day {
            windows.push(DueDatesQuery { date_ranges: vec![(kind, Some(from.map_or(day, |f| f.max(day))), to)], ..one(q) });
        }
    }
    windows.extend(q.month_day_ranges.iter().map(|&w| DueDatesQuery { month_day_ranges: vec![w], ..one(q) }));
    windows.extend(q.num_below.iter().map(|&w| DueDatesQuery { num_below: vec![w], ..one(q) }));
    let mut parts = Vec::new();
    for w in &windows {
        let from = due_dates_from(w, &mut params);
        params.push(Param::Date(day));
        let d = params.len();
        parts.push(format!(
            "SELECT date_kind, before_day, COUNT(*) AS n FROM (SELECT date_kind, CASE WHEN on_date < ${d} THEN 1 ELSE 0 END AS before_day{from} LIMIT {}) AS w GROUP BY 1, 2",
            cap.max(1)
        ));
    }
    if parts.is_empty() {
        return ("SELECT date_kind, 0, COUNT(*) FROM archive_dates WHERE 1 = 0 GROUP BY 1".to_string(), params.list);
    }
    (parts.join(" UNION ALL "), params.list)
}

/// The WHERE part of the review queries (archives in the filter whose last review, or creation, is
/// before their grade's cutoff) and the `CASE` giving each row its grade's cutoff.
fn review_due_where(filter: &ArchiveFilter, cutoffs: &crate::lifecycle::GradeCutoffs, params: &mut Params) -> (String, String) {
    let mut per_grade = Vec::new();
    let mut cutoff_of = Vec::new();
    // SQLite: `+grade` keeps the grade-and-review index (migration 0022, for large books) out of
    // this walk of the filter's own archives; offered it, the planner read whole grades through
    // it (MULTI-INDEX OR: 700-860 ms for a salesperson at 1M against 170 ms).
    let grade_term = match params.dialect {
        Dialect::Sqlite => "+grade",
        Dialect::Postgres => "grade",
    };
    for (grade, cutoff) in cutoffs {
        params.push(Param::Time(*cutoff));
        let t = params.len();
        per_grade.push(due_in_grade(grade_term, *grade, t));
        cutoff_of.push(format!("WHEN {} THEN ${t}", grade_condition("grade", *grade)));
    }
    if per_grade.is_empty() {
        per_grade.push("1 = 0".into());
        cutoff_of.push("WHEN 1 = 0 THEN created_at".into());
    }
    let where_ = filter_clause(filter, params, vec![format!("({})", per_grade.join(" OR ")), UNDER_REVIEW.into()]);
    (where_, format!("CASE {} END", cutoff_of.join(" ")))
}

/// Closed and lost archives are not reviewed.
const UNDER_REVIEW: &str = "status NOT IN ('closed', 'lost')";

/// An archive of `grade` whose last review (or creation) is before the cutoff in parameter `t`.
fn due_in_grade(grade_column: &str, grade: Option<dangan_core::Grade>, t: usize) -> String {
    format!("({} AND COALESCE(reviewed_at, created_at) < ${t})", grade_condition(grade_column, grade))
}

fn grade_condition(column: &str, grade: Option<dangan_core::Grade>) -> String {
    match grade {
        Some(g) => format!("{column} = '{}'", g.as_str()),
        None => format!("{column} IS NULL"),
    }
}

/// Archives whose last review (or creation) is before their grade's cutoff, soonest due first:
/// due = last review + the grade's cycle, so the order is by (last review − the grade's cutoff).
/// `large_book`: each grade's first `limit` from its review-order index (the filter tested on the
/// way), merged; otherwise the filter's archives, all of them, sorted.
pub(crate) fn review_due_query(dialect: Dialect, filter: &ArchiveFilter, cutoffs: &crate::lifecycle::GradeCutoffs, limit: u32, large_book: bool) -> (String, Vec<Param>) {
    let mut params = Params::new(dialect);
    let limit = limit.clamp(1, 10_000);
    if large_book && !cutoffs.is_empty() {
        // SQLite is told the index: with the book's own index (owner, department) on offer it
        // might walk the book instead, which is what this path avoids.
        let indexed = match dialect {
            Dialect::Sqlite => " INDEXED BY archives_review_due",
            Dialect::Postgres => "",
        };
        let mut parts = Vec::new();
        for (i, (grade, cutoff)) in cutoffs.iter().enumerate() {
            params.push(Param::Time(*cutoff));
            let t = params.len();
            let where_ = filter_clause(filter, &mut params, vec![due_in_grade("grade", *grade, t), UNDER_REVIEW.into()]);
            parts.push(format!(
                "SELECT * FROM (SELECT {SUMMARY_COLUMNS}, COALESCE(reviewed_at, created_at) AS since, COALESCE(reviewed_at, created_at) - ${t} AS review_order FROM archives{indexed}{where_} ORDER BY COALESCE(reviewed_at, created_at), id LIMIT {limit}) AS grade{i}"
            ));
        }
        return (format!("SELECT * FROM ({}) AS due ORDER BY review_order, id LIMIT {limit}", parts.join(" UNION ALL ")), params.list);
    }
    let (where_, cutoff) = review_due_where(filter, cutoffs, &mut params);
    (format!("SELECT {SUMMARY_COLUMNS}, COALESCE(reviewed_at, created_at) FROM archives{where_} ORDER BY COALESCE(reviewed_at, created_at) - {cutoff}, id LIMIT {limit}"), params.list)
}

/// Counts the rows of `review_due_query` (without its limit), at most `cap` when given.
pub(crate) fn review_due_count_query(dialect: Dialect, filter: &ArchiveFilter, cutoffs: &crate::lifecycle::GradeCutoffs, cap: Option<i64>) -> (String, Vec<Param>) {
    let mut params = Params::new(dialect);
    let (where_, _) = review_due_where(filter, cutoffs, &mut params);
    match cap {
        Some(cap) => (format!("SELECT COUNT(*) FROM (SELECT 1 FROM archives{where_} LIMIT {}) AS capped", cap.max(1)), params.list),
        None => (format!("SELECT COUNT(*) FROM archives{where_}"), params.list),
    }
}

/// Personal, owned, open archives whose last follow-up (or creation day) is before their grade's cutoff.
pub(crate) fn follow_up_overdue_query(cutoffs: &crate::lifecycle::GradeDateCutoffs, limit: u32) -> (String, Vec<Param>) {
    let mut params = Vec::new();
    let mut per_grade = Vec::new();
    for (grade, cutoff) in cutoffs {
        params.push(Param::Date(*cutoff));
        let d = params.len();
        // The creation time compared as the start of the cutoff day (UTC).
        params.push(Param::Time(cutoff.and_hms_opt(0, 0, 0).expect("midnight").and_utc()));
        let t = params.len();
        let g = match grade {
            Some(g) => format!("grade = '{}'", g.as_str()),
            None => "grade IS NULL".into(),
        };
        per_grade.push(format!("({g} AND (last_follow_up < ${d} OR (last_follow_up IS NULL AND created_at < ${t})))"));
    }
    if per_grade.is_empty() {
        per_grade.push("1 = 0".into());
    }
    let limit = limit.clamp(1, 10_000);
    (
        format!(
            "SELECT id, version FROM archives WHERE tier = 'personal' AND owner_id IS NOT NULL AND merged_into IS NULL AND status NOT IN ('closed', 'lost') AND ({}) ORDER BY id LIMIT {limit}",
            per_grade.join(" OR ")
        ),
        params,
    )
}
