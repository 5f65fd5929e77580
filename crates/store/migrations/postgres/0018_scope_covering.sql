-- Scoped lists with filters (issue 3): see the SQLite migration of the same number. The scope's
-- partial indexes carry the columns the list filters test (INCLUDE), so each part of a scope can
-- be answered from its index, in id order, and only the page's rows are read.
DROP INDEX IF EXISTS archives_department_tier;
DROP INDEX IF EXISTS archives_personal_owner;
DROP INDEX IF EXISTS archives_personal_dept;
CREATE INDEX archives_department_tier ON archives(dept_id, id) INCLUDE (grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, merged_into, destroyed_at, updated_at) WHERE tier = 'department';
CREATE INDEX archives_personal_owner ON archives(owner_id, id) INCLUDE (grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, dept_id, merged_into, destroyed_at, updated_at) WHERE tier = 'personal';
CREATE INDEX archives_personal_dept ON archives(dept_id, id) INCLUDE (grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, merged_into, destroyed_at, updated_at) WHERE tier = 'personal';
CREATE INDEX archives_company_tier ON archives(id) INCLUDE (grade, province, city, industry, status, credit_grade, kind, blacklisted, secrecy, owner_id, dept_id, merged_into, destroyed_at, updated_at) WHERE tier = 'company';
