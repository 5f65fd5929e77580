-- Document checklists (材料清单). Marks: every tick (paper original received), untick, and
-- attachment tag of a checklist item, append-only: an item's state is the fold of its marks,
-- so a tick taken back stays on record with who and when. Triggers refuse UPDATE and DELETE.
CREATE TABLE checklist_marks (
    id            BIGSERIAL PRIMARY KEY,
    archive_id    BIGINT NOT NULL REFERENCES archives(id),
    checklist     TEXT NOT NULL,
    item          TEXT NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('received', 'withdrawn', 'attached', 'detached')),
    attachment_id BIGINT REFERENCES attachments(id),
    note          TEXT NOT NULL DEFAULT '',
    created_by    BIGINT NOT NULL REFERENCES users(id),
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX checklist_marks_archive ON checklist_marks(archive_id, id);
CREATE FUNCTION checklist_marks_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'checklist marks are append-only';
END;
$$;
CREATE TRIGGER checklist_marks_no_change BEFORE UPDATE OR DELETE ON checklist_marks
    FOR EACH ROW EXECUTE FUNCTION checklist_marks_append_only();
CREATE TRIGGER checklist_marks_no_truncate BEFORE TRUNCATE ON checklist_marks
    FOR EACH STATEMENT EXECUTE FUNCTION checklist_marks_append_only();

-- The checklists, default deadline and holiday calendar (节假日与调休) as one versioned JSON
-- document, like policy_settings. No row: the built-in defaults.
CREATE TABLE checklist_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL,
    data TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by BIGINT REFERENCES users(id)
);

-- The overdue report reads archives created since a date.
CREATE INDEX archives_created ON archives(created_at);
