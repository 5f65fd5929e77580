-- Scoped lists sorted by update time (最近更新, issue 3): see the SQLite migration of the same
-- number. Each scope part (one department of a tier, one owner, the company tier) in update order.
CREATE INDEX archives_department_tier_updated ON archives(dept_id, updated_at, id) WHERE tier = 'department';
CREATE INDEX archives_personal_owner_updated ON archives(owner_id, updated_at, id) WHERE tier = 'personal';
CREATE INDEX archives_personal_dept_updated ON archives(dept_id, updated_at, id) WHERE tier = 'personal';
CREATE INDEX archives_company_tier_updated ON archives(updated_at, id) WHERE tier = 'company';
