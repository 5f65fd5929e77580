-- Access control: requests to view (查阅审批), their approval decisions, the grants they
-- create.

CREATE TABLE access_requests (
    id           INTEGER PRIMARY KEY,
    archive_id   INTEGER NOT NULL REFERENCES archives(id),
    requester_id INTEGER NOT NULL REFERENCES users(id),
    purpose      TEXT NOT NULL,
    sections     TEXT NOT NULL,
    actions      TEXT NOT NULL,
    hours        INTEGER NOT NULL,
    chain        TEXT NOT NULL,
    step         INTEGER NOT NULL,
    status       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    closed_at    INTEGER
);
CREATE INDEX access_requests_requester ON access_requests(requester_id, id);
CREATE INDEX access_requests_status ON access_requests(status, id);
CREATE INDEX access_requests_archive ON access_requests(archive_id, id);

CREATE TABLE approval_decisions (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES access_requests(id),
    step        INTEGER NOT NULL,
    step_kind   TEXT NOT NULL,
    approver_id INTEGER NOT NULL REFERENCES users(id),
    approved    INTEGER NOT NULL,
    comment     TEXT NOT NULL,
    decided_at  INTEGER NOT NULL,
    UNIQUE (request_id, step)
);

-- A grant belongs to one user (不得转借) and expires by itself.
CREATE TABLE grants (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    archive_id INTEGER NOT NULL REFERENCES archives(id),
    actions    TEXT NOT NULL,
    request_id INTEGER REFERENCES access_requests(id),
    granted_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX grants_user ON grants(user_id, archive_id, expires_at);
