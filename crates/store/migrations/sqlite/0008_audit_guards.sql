-- The audit trail only grows at its end: a record must carry the next number. This also refuses
-- INSERT OR REPLACE over an existing record (a REPLACE deletes without firing DELETE triggers)
-- and rows slipped in below record 1. Verification finds all of it anyway; this refuses it first.
CREATE TRIGGER audit_log_in_order BEFORE INSERT ON audit_log
WHEN NEW.seq <> COALESCE((SELECT MAX(seq) FROM audit_log), 0) + 1
BEGIN SELECT RAISE(ABORT, 'audit records are appended in order'); END;
