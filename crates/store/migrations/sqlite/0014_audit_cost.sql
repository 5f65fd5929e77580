-- PostgreSQL's 0014 makes its audit guard per statement and its time index BRIN. SQLite keeps
-- its row trigger (an in-process check of the last row) and B-tree: nothing to change here; the
-- number is kept so that both engines count migrations alike.
SELECT 1;
