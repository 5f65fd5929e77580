-- Retention, destruction and personal-information requests (issue 7).
-- When an archive was closed (结档; set by the store when the status becomes closed) and the first
-- day it may be destroyed (dangan_core::retention::due_date, recomputed by the store on every
-- archive update and timeline entry); a legal hold (法律冻结) keeps it off the disposal-due list
-- and blocks destruction. A destroyed archive keeps its row as a tombstone: number, dates and the
-- destruction request (register entry); everything else is purged.
ALTER TABLE archives ADD COLUMN closed_at INTEGER;
ALTER TABLE archives ADD COLUMN retention_due TEXT;
ALTER TABLE archives ADD COLUMN legal_hold TEXT;
ALTER TABLE archives ADD COLUMN legal_hold_by INTEGER REFERENCES users(id);
ALTER TABLE archives ADD COLUMN legal_hold_at INTEGER;
ALTER TABLE archives ADD COLUMN destroyed_at INTEGER;
ALTER TABLE archives ADD COLUMN destruction_id INTEGER;
-- Archives closed before this migration count from their last change.
UPDATE archives SET closed_at = version_at WHERE status = 'closed';
CREATE INDEX archives_retention_due ON archives(retention_due, id) WHERE retention_due IS NOT NULL;

-- 销毁鉴定 / 审批 / 监销: one request covers one or more archives.
CREATE TABLE destruction_requests (
    id            INTEGER PRIMARY KEY,
    requester_id  INTEGER NOT NULL REFERENCES users(id),
    reason        TEXT NOT NULL,
    appraisal     TEXT NOT NULL,
    method        TEXT NOT NULL,
    witness_id    INTEGER NOT NULL REFERENCES users(id),
    chain         TEXT NOT NULL,
    step          INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL,
    pipl_request_id INTEGER,
    created_at    INTEGER NOT NULL,
    closed_at     INTEGER,
    destroyed_at  INTEGER,
    register_no   TEXT UNIQUE
);
CREATE INDEX destruction_requests_status ON destruction_requests(status, id);

-- The archives of a request as appraised. The customer's name is kept while the request is open
-- (for the approvers) and blanked when the destruction is carried out.
CREATE TABLE destruction_items (
    request_id      INTEGER NOT NULL REFERENCES destruction_requests(id),
    archive_id      INTEGER NOT NULL REFERENCES archives(id),
    archive_no      TEXT NOT NULL,
    name            TEXT NOT NULL,
    retention_class TEXT NOT NULL,
    filed_on        TEXT NOT NULL,
    due_on          TEXT,
    PRIMARY KEY (request_id, archive_id)
) WITHOUT ROWID;
CREATE INDEX destruction_items_archive ON destruction_items(archive_id);

CREATE TABLE destruction_decisions (
    request_id  INTEGER NOT NULL REFERENCES destruction_requests(id),
    step        INTEGER NOT NULL,
    step_kind   TEXT NOT NULL,
    approver_id INTEGER NOT NULL REFERENCES users(id),
    approved    INTEGER NOT NULL,
    comment     TEXT NOT NULL,
    decided_at  INTEGER NOT NULL,
    PRIMARY KEY (request_id, step)
) WITHOUT ROWID;

-- 个人信息处理同意 (PIPL): per archive (the person it is about, or a child in it).
CREATE TABLE pipl_consents (
    id           INTEGER PRIMARY KEY,
    archive_id   INTEGER NOT NULL REFERENCES archives(id),
    data         TEXT NOT NULL,
    recorded_by  INTEGER NOT NULL REFERENCES users(id),
    recorded_at  INTEGER NOT NULL,
    withdrawn_on TEXT,
    withdrawn_by INTEGER REFERENCES users(id)
);
CREATE INDEX pipl_consents_archive ON pipl_consents(archive_id);

-- 个人信息权利请求: see, copy, correct, delete; answered by due_on.
CREATE TABLE pipl_requests (
    id             INTEGER PRIMARY KEY,
    archive_id     INTEGER NOT NULL REFERENCES archives(id),
    kind           TEXT NOT NULL,
    subject_name   TEXT NOT NULL,
    detail         TEXT NOT NULL,
    received_on    TEXT NOT NULL,
    due_on         TEXT NOT NULL,
    status         TEXT NOT NULL,
    resolution     TEXT NOT NULL DEFAULT '',
    legal_basis    TEXT NOT NULL DEFAULT '',
    destruction_id INTEGER REFERENCES destruction_requests(id),
    recorded_by    INTEGER NOT NULL REFERENCES users(id),
    created_at     INTEGER NOT NULL,
    closed_by      INTEGER REFERENCES users(id),
    closed_at      INTEGER
);
CREATE INDEX pipl_requests_status ON pipl_requests(status, due_on);
