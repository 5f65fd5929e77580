-- The audit trail only grows at its end: a record must carry the next number (rows of one
-- multi-row INSERT see the rows before them), and TRUNCATE (which row triggers do not see) is
-- refused too. Verification finds all of it anyway; this refuses it first.
CREATE FUNCTION audit_log_in_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.seq <> COALESCE((SELECT max(seq) FROM audit_log), 0) + 1 THEN
        RAISE EXCEPTION 'audit records are appended in order';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER audit_log_order BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_in_order();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
