-- Dangan schema, SQLite. Timestamps are INTEGER microseconds since the Unix epoch (UTC);
-- dates are TEXT 'YYYY-MM-DD'; documents are JSON TEXT.

CREATE TABLE departments (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,
    code      TEXT NOT NULL UNIQUE,
    parent_id INTEGER REFERENCES departments(id)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT,
    dept_id       INTEGER REFERENCES departments(id),
    roles         TEXT NOT NULL DEFAULT '',
    active        INTEGER NOT NULL DEFAULT 1,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until  INTEGER,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    kind       TEXT NOT NULL,
    name       TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE INDEX sessions_user ON sessions(user_id);

-- One counter per number period (the number pattern with everything but the sequence filled in).
CREATE TABLE number_counters (
    period     TEXT PRIMARY KEY,
    last_value INTEGER NOT NULL
);

CREATE TABLE archives (
    id           INTEGER PRIMARY KEY,
    archive_no   TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    grade        TEXT,
    credit_grade TEXT,
    blacklisted  INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL,
    industry     TEXT,
    province     TEXT,
    city         TEXT,
    owner_id     INTEGER,
    dept_id      INTEGER,
    tier         TEXT NOT NULL,
    secrecy      TEXT NOT NULL,
    mobile       TEXT,
    uscc         TEXT,
    version      INTEGER NOT NULL,
    -- Who made the current version, when and why (activity on contacts or the timeline moves
    -- updated_at, not these).
    version_by   INTEGER NOT NULL,
    version_at   INTEGER NOT NULL,
    change_reason TEXT,
    created_by   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_by   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX archives_grade ON archives(grade, id);
CREATE INDEX archives_province ON archives(province, id);
CREATE INDEX archives_status ON archives(status, id);
CREATE INDEX archives_industry ON archives(industry, id);
CREATE INDEX archives_owner ON archives(owner_id, id);
CREATE INDEX archives_dept ON archives(dept_id, id);
CREATE INDEX archives_updated ON archives(updated_at, id);
CREATE INDEX archives_uscc ON archives(uscc) WHERE uscc IS NOT NULL;

-- The archive document (ArchiveData as JSON), apart from the narrow `archives` row so that list
-- and filter scans read small rows.
CREATE TABLE archive_documents (
    archive_id INTEGER PRIMARY KEY REFERENCES archives(id),
    data       TEXT NOT NULL
);

-- Superseded versions: before an archive changes, its current document is copied here, so with
-- the row in `archives` every version is kept. Never updated or deleted.
CREATE TABLE archive_versions (
    archive_id INTEGER NOT NULL REFERENCES archives(id),
    version    INTEGER NOT NULL,
    data       TEXT NOT NULL,
    changed_by INTEGER NOT NULL,
    changed_at INTEGER NOT NULL,
    reason     TEXT,
    PRIMARY KEY (archive_id, version)
) WITHOUT ROWID;

CREATE TABLE contacts (
    id         INTEGER PRIMARY KEY,
    archive_id INTEGER NOT NULL REFERENCES archives(id),
    name       TEXT NOT NULL,
    mobile     TEXT,
    data       TEXT NOT NULL,
    updated_by INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX contacts_archive ON contacts(archive_id);

-- Append-only: a correction is a new row naming the row it supersedes.
CREATE TABLE timeline_entries (
    id          INTEGER PRIMARY KEY,
    archive_id  INTEGER NOT NULL REFERENCES archives(id),
    kind        TEXT NOT NULL,
    occurred_on TEXT NOT NULL,
    supersedes  INTEGER REFERENCES timeline_entries(id),
    data        TEXT NOT NULL,
    created_by  INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX timeline_archive ON timeline_entries(archive_id, occurred_on);

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY,
    archive_id   INTEGER NOT NULL REFERENCES archives(id),
    sha256       TEXT NOT NULL,
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    created_by   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX attachments_archive ON attachments(archive_id);
