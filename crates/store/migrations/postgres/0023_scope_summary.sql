-- Scoped list pages read no table rows (issue 3: "authorization adds ≤ 10% to p99"); see the
-- SQLite migration of the same number. The scope's partial indexes (0018) gave each part's ids,
-- and the page's 51 rows were then looked up in the table one by one: a salesperson's newest
-- archives lie on as many table pages as rows (their scope is one archive in six), where an
-- unrestricted list reads the few pages its newest rows share. These indexes also carry the rest
-- of the list's summary columns (sql::SUMMARY_COLUMNS: number, name, mobile, tier), so each part
-- returns its rows from an index-only scan. Same names and keys as before.
DROP INDEX IF EXISTS archives_department_tier;
DROP INDEX IF EXISTS archives_personal_owner;
DROP INDEX IF EXISTS archives_personal_dept;
DROP INDEX IF EXISTS archives_company_tier;
CREATE INDEX archives_department_tier ON archives(dept_id, id) INCLUDE (grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, merged_into, destroyed_at, updated_at, archive_no, name, mobile, tier) WHERE tier = 'department';
CREATE INDEX archives_personal_owner ON archives(owner_id, id) INCLUDE (grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, dept_id, merged_into, destroyed_at, updated_at, archive_no, name, mobile, tier) WHERE tier = 'personal';
CREATE INDEX archives_personal_dept ON archives(dept_id, id) INCLUDE (grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, merged_into, destroyed_at, updated_at, archive_no, name, mobile, tier) WHERE tier = 'personal';
CREATE INDEX archives_company_tier ON archives(id) INCLUDE (grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, dept_id, merged_into, destroyed_at, updated_at, archive_no, name, mobile, tier) WHERE tier = 'company';
