-- Borrowing register (借阅登记): each lending of an archive — the paper original or an
-- electronic grant — to one borrower (never transferred: 不得转借), and its return.

CREATE TABLE loans (
    id                INTEGER PRIMARY KEY,
    archive_id        INTEGER NOT NULL REFERENCES archives(id),
    borrower_id       INTEGER NOT NULL REFERENCES users(id),
    kind              TEXT NOT NULL CHECK (kind IN ('paper', 'electronic')),
    purpose           TEXT NOT NULL,
    lent_by           INTEGER NOT NULL REFERENCES users(id),
    lent_at           INTEGER NOT NULL,
    due_at            INTEGER NOT NULL,
    returned_at       INTEGER,
    returned_complete INTEGER,
    checked_by        INTEGER REFERENCES users(id),
    return_note       TEXT NOT NULL DEFAULT '',
    grant_id          INTEGER REFERENCES grants(id)
);
CREATE INDEX loans_open_due ON loans(due_at) WHERE returned_at IS NULL;
CREATE INDEX loans_borrower ON loans(borrower_id, id);
