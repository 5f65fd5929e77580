-- Imported files (导入记录): who imported which file (by its SHA-256), with which options, and
-- how many rows it created, merged, skipped and refused. Dry runs are recorded too.
CREATE TABLE imports (
    id               BIGSERIAL PRIMARY KEY,
    file_name        TEXT NOT NULL,
    file_sha256      TEXT NOT NULL,
    file_size        BIGINT NOT NULL,
    format           TEXT NOT NULL,
    user_id          BIGINT NOT NULL REFERENCES users(id),
    status           TEXT NOT NULL CHECK (status IN ('analyzed', 'running', 'done', 'failed', 'canceled', 'rejected')),
    options          JSONB NOT NULL,
    total_rows       BIGINT NOT NULL DEFAULT 0,
    processed        BIGINT NOT NULL DEFAULT 0,
    imported         BIGINT NOT NULL DEFAULT 0,
    merged           BIGINT NOT NULL DEFAULT 0,
    skipped          BIGINT NOT NULL DEFAULT 0,
    failed           BIGINT NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    message          TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ
);
CREATE INDEX imports_user ON imports(user_id, id);
CREATE INDEX imports_sha ON imports(file_sha256);

-- Every archive an import created, keyed by the row's fingerprint (SHA-256 of the converted
-- row): a row is imported once, whichever file brings it again.
CREATE TABLE import_rows (
    fingerprint BYTEA PRIMARY KEY,
    import_id   BIGINT NOT NULL REFERENCES imports(id),
    row_no      INTEGER NOT NULL,
    archive_id  BIGINT NOT NULL REFERENCES archives(id)
);
