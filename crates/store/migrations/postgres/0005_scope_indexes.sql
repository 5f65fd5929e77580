-- Access scopes list "department-tier archives of these departments" and "personal archives
-- of this owner / these departments" newest first: partial indexes answer each part in order
-- without reading rows of the other tiers.
CREATE INDEX archives_department_tier ON archives(dept_id, id) WHERE tier = 'department';
CREATE INDEX archives_personal_owner ON archives(owner_id, id) WHERE tier = 'personal';
CREATE INDEX archives_personal_dept ON archives(dept_id, id) WHERE tier = 'personal';
