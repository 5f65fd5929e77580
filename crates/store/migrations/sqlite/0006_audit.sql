-- Audit trail (审计日志): one row per audited event, numbered 1, 2, 3… without gaps and
-- hash-chained (see dangan_core::audit). Rows are only ever inserted: the triggers refuse
-- UPDATE and DELETE, so a change to the trail needs someone to drop them first — which the
-- hash chain then shows.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    user_id     INTEGER,
    username    TEXT NOT NULL,
    roles       TEXT NOT NULL,
    dept_id     INTEGER,
    client_addr TEXT NOT NULL,
    user_agent  TEXT NOT NULL,
    action      TEXT NOT NULL,
    archive_id  INTEGER,
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

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;

-- A grant's expiry is recorded once, by the sweeper, after it has passed.
ALTER TABLE grants ADD COLUMN expiry_audited INTEGER NOT NULL DEFAULT 0;
CREATE INDEX grants_expiry_pending ON grants(expires_at) WHERE expiry_audited = 0;
