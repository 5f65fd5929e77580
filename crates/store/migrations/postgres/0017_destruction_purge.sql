-- Destruction purges an archive's checklist marks too (a mark's note may name the customer, and a
-- mark referring to an attachment would keep the attachment row alive). Marks stay append-only
-- while the archive exists; once it is destroyed (archives.destroyed_at, set in the destruction's
-- transaction before the purge) they may be deleted, never changed or truncated.
CREATE OR REPLACE FUNCTION checklist_marks_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM archives WHERE id = OLD.archive_id AND destroyed_at IS NOT NULL) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'checklist marks are append-only';
END;
$$;
