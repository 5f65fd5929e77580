-- Policy settings an administrator changes (策略设置): one row, the whole settings document as
-- JSON, and a version every change increments. Servers compare the version to their cached copy
-- (a primary-key lookup) to pick up a change made through another server. No row: the defaults.
CREATE TABLE policy_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users(id)
);
