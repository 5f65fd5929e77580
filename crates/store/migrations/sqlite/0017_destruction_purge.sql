-- Destruction purges an archive's checklist marks too (a mark's note may name the customer, and a
-- mark referring to an attachment would keep the attachment row alive). Marks stay append-only
-- while the archive exists; once it is destroyed (archives.destroyed_at, set in the destruction's
-- transaction before the purge) they may be deleted, never changed.
DROP TRIGGER checklist_marks_no_delete;
CREATE TRIGGER checklist_marks_no_delete BEFORE DELETE ON checklist_marks
WHEN (SELECT destroyed_at FROM archives WHERE id = OLD.archive_id) IS NULL
BEGIN SELECT RAISE(ABORT, 'checklist marks are append-only'); END;
