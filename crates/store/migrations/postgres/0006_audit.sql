-- Audit trail (审计日志): one row per audited event, numbered 1, 2, 3… without gaps and
-- hash-chained (see dangan_core::audit). Writers serialize on an advisory lock while they
-- append, so the chain stays one line across several servers. The trigger refuses UPDATE and
-- DELETE. Same table as migrations/sqlite.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    user_id     BIGINT,
    username    TEXT NOT NULL,
    roles       TEXT NOT NULL,
    dept_id     BIGINT,
    client_addr TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    action      TEXT NOT NULL,
    archive_id  BIGINT,
    archive_no  TEXT NOT NULL,
    fields      TEXT NOT NULL,
    basis       TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE INDEX audit_by_archive ON audit_log(archive_id, seq) WHERE archive_id IS NOT NULL;
CREATE INDEX audit_by_user ON audit_log(user_id, seq);
CREATE INDEX audit_by_action ON audit_log(action, seq);
CREATE INDEX audit_by_at ON audit_log(at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only';
END $$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

ALTER TABLE grants ADD COLUMN expiry_audited BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX grants_expiry_pending ON grants(expires_at) WHERE NOT expiry_audited;
