-- Reminders for large books (review due): see the SQLite migration of the same number. Each
-- grade's archives in review order (last review or creation), ties by id.
CREATE INDEX archives_review_due ON archives(grade, (COALESCE(reviewed_at, created_at)), id);
