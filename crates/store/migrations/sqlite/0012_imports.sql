-- Imported files (导入记录): who imported which file (by its SHA-256), with which options, and
-- how many rows it created, merged, skipped and refused. Dry runs are recorded too.
CREATE TABLE imports (
    id               INTEGER PRIMARY KEY,
    file_name        TEXT NOT NULL,
    file_sha256      TEXT NOT NULL,
    file_size        INTEGER NOT NULL,
    format           TEXT NOT NULL,
    user_id          INTEGER NOT NULL REFERENCES users(id),
    status           TEXT NOT NULL CHECK (status IN ('analyzed', 'running', 'done', 'failed', 'canceled', 'rejected')),
    options          TEXT NOT NULL,
    total_rows       INTEGER NOT NULL DEFAULT 0,
    processed        INTEGER NOT NULL DEFAULT 0,
    imported         INTEGER NOT NULL DEFAULT 0,
    merged           INTEGER NOT NULL DEFAULT 0,
    skipped          INTEGER NOT NULL DEFAULT 0,
    failed           INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    message          TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER
);
CREATE INDEX imports_user ON imports(user_id, id);
CREATE INDEX imports_sha ON imports(file_sha256);

-- Every archive an import created, keyed by the row's fingerprint (SHA-256 of the converted
-- row): a row is imported once, whichever file brings it again.
CREATE TABLE import_rows (
    fingerprint BLOB PRIMARY KEY,
    import_id   INTEGER NOT NULL REFERENCES imports(id),
    row_no      INTEGER NOT NULL,
    archive_id  INTEGER NOT NULL REFERENCES archives(id)
) WITHOUT ROWID;
