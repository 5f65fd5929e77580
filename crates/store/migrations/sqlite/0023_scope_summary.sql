-- Scoped list pages read no table rows (issue 3: "authorization adds ≤ 10% to p99"). The scope's
-- partial indexes (0018) gave each part's ids in id order, and the page's rows were then read from
-- the table one by one: a salesperson's 50 newest archives lie on about 50 different table pages
-- (their scope is one archive in six), where an unrestricted list reads the 4-5 pages its 50
-- newest rows share. Every committed write (an audited read is one) makes SQLite's readers drop
-- their page cache, so those pages are read again for each request. These indexes also carry the
-- rest of the list's summary columns (sql::SUMMARY_COLUMNS: number, name, mobile), so a part's
-- rows come from its index, in id order, and the page reads as few pages as the unrestricted one.
-- Same names and leading columns as before: every query that used the old ones can use these.
-- (tier is not stored: each index holds one tier, and SQLite takes it from the index's WHERE.)
DELETE FROM deferred_indexes WHERE name IN ('archives_department_tier', 'archives_personal_owner', 'archives_personal_dept', 'archives_company_tier');
DROP INDEX IF EXISTS archives_department_tier;
DROP INDEX IF EXISTS archives_personal_owner;
DROP INDEX IF EXISTS archives_personal_dept;
DROP INDEX IF EXISTS archives_company_tier;
CREATE INDEX archives_department_tier ON archives(dept_id, id, grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, merged_into, destroyed_at, updated_at, archive_no, name, mobile) WHERE tier = 'department';
CREATE INDEX archives_personal_owner ON archives(owner_id, id, grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, dept_id, merged_into, destroyed_at, updated_at, archive_no, name, mobile) WHERE tier = 'personal';
CREATE INDEX archives_personal_dept ON archives(dept_id, id, grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, merged_into, destroyed_at, updated_at, archive_no, name, mobile) WHERE tier = 'personal';
CREATE INDEX archives_company_tier ON archives(id, grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, dept_id, merged_into, destroyed_at, updated_at, archive_no, name, mobile) WHERE tier = 'company';
-- Statistics for the new indexes now, sampled as a bulk load's end samples them: without any,
-- the planner took these wider ones for a page sorted by update time and sorted a whole part
-- (a salesperson's page 0.4 → 60 ms at 1M) instead of walking the update-order indexes (0020).
PRAGMA analysis_limit = 1000;
ANALYZE archives_department_tier;
ANALYZE archives_personal_owner;
ANALYZE archives_personal_dept;
ANALYZE archives_company_tier;
PRAGMA analysis_limit = 0;
