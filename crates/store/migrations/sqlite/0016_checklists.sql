-- Document checklists (材料清单). Marks: every tick (paper original received), untick, and
-- attachment tag of a checklist item, append-only: an item's state is the fold of its marks,
-- so a tick taken back stays on record with who and when. Triggers refuse UPDATE and DELETE.
CREATE TABLE checklist_marks (
    id            INTEGER PRIMARY KEY,
    archive_id    INTEGER NOT NULL REFERENCES archives(id),
    checklist     TEXT NOT NULL,
    item          TEXT NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('received', 'withdrawn', 'attached', 'detached')),
    attachment_id INTEGER REFERENCES attachments(id),
    note          TEXT NOT NULL DEFAULT '',
    created_by    INTEGER NOT NULL REFERENCES users(id),
    created_at    INTEGER NOT NULL
);
CREATE INDEX checklist_marks_archive ON checklist_marks(archive_id, id);
CREATE TRIGGER checklist_marks_no_update BEFORE UPDATE ON checklist_marks
BEGIN SELECT RAISE(ABORT, 'checklist marks are append-only'); END;
CREATE TRIGGER checklist_marks_no_delete BEFORE DELETE ON checklist_marks
BEGIN SELECT RAISE(ABORT, 'checklist marks are append-only'); END;

-- The checklists, default deadline and holiday calendar (节假日与调休) as one versioned JSON
-- document, like policy_settings. No row: the built-in defaults.
CREATE TABLE checklist_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users(id)
);

-- The overdue report reads archives created since a date.
CREATE INDEX archives_created ON archives(created_at);
