-- Scoped lists with filters (issue 3). The scope's partial indexes held (dept_id | owner_id, id)
-- only, so a salesperson's "grade A in 浙江省" read a table row for every archive of the scope it
-- walked (≈ 7,000 rows at 1M for 50 hits). These carry the columns the list filters and the list
-- conditions test, so each part of a scope is answered from its index alone, in id order, and
-- only the page's rows are read (sql::list_query). Same names, same leading columns: every query
-- that used the old ones can use these.
-- (A bulk load interrupted before this migration kept the old definitions to restore: not any more.)
DELETE FROM deferred_indexes WHERE name IN ('archives_department_tier', 'archives_personal_owner', 'archives_personal_dept');
DROP INDEX IF EXISTS archives_department_tier;
DROP INDEX IF EXISTS archives_personal_owner;
DROP INDEX IF EXISTS archives_personal_dept;
CREATE INDEX archives_department_tier ON archives(dept_id, id, grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, merged_into, destroyed_at, updated_at) WHERE tier = 'department';
CREATE INDEX archives_personal_owner ON archives(owner_id, id, grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, dept_id, merged_into, destroyed_at, updated_at) WHERE tier = 'personal';
CREATE INDEX archives_personal_dept ON archives(dept_id, id, grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, merged_into, destroyed_at, updated_at) WHERE tier = 'personal';
-- The company tier's part (sales director, VP, general manager with a scope) had no index.
CREATE INDEX archives_company_tier ON archives(id, grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, dept_id, merged_into, destroyed_at, updated_at) WHERE tier = 'company';
