-- PostgreSQL's 0014 makes its audit time index BRIN. SQLite keeps
-- its B-tree (inserts into an in-process B-tree are cheap): nothing to change here; the
-- number is kept so that both engines count migrations alike.
SELECT 1;
