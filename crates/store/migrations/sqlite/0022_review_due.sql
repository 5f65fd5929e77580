-- Reminders for large books (review due, 定期审查): an archive is due when its last review (or
-- creation) is older than its grade's cycle, and the list is soonest due first. For an owner or a
-- department holding a good share of the base, walking all their archives and sorting took
-- 170-310 ms at 1M archives (167k archives for one salesperson). This index gives each grade's
-- archives in review order, so a large book's page reads each grade until it has its rows
-- (sql::review_due_query with `large_book`: 4 ms). A small book keeps walking its own archives
-- (the grade terms are written `+grade` there so that this index does not tempt the planner).
CREATE INDEX archives_review_due ON archives(grade, COALESCE(reviewed_at, created_at));
ANALYZE archives_review_due;
