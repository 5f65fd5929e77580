-- Scoped lists sorted by update time (最近更新, issue 3). The scope indexes (0018) are in id
-- order, so each part of a scope was read whole and sorted: a salesperson's page 54 ms, a
-- department manager's 265 ms at 1M archives. These give each part — one department's archives
-- of a tier, one owner's personal archives (sql::scope_branches, a part per department for these
-- sorts) or the company tier — in update order, so a page reads about its own rows (0.06 ms
-- per part at 1M). Not covering: a filtered page reads the rows it tests. ANALYZE gives the
-- planner their statistics now: without them it kept the covering id-order index and a sort
-- for the company part (12 ms at 1M; 0.06 ms with them).
CREATE INDEX archives_department_tier_updated ON archives(dept_id, updated_at, id) WHERE tier = 'department';
CREATE INDEX archives_personal_owner_updated ON archives(owner_id, updated_at, id) WHERE tier = 'personal';
CREATE INDEX archives_personal_dept_updated ON archives(dept_id, updated_at, id) WHERE tier = 'personal';
CREATE INDEX archives_company_tier_updated ON archives(updated_at, id) WHERE tier = 'company';
ANALYZE archives_department_tier_updated;
ANALYZE archives_personal_owner_updated;
ANALYZE archives_personal_dept_updated;
ANALYZE archives_company_tier_updated;
