-- Search index (issue 5). The application computes each archive's terms
-- (dangan_core::search::archive_terms: CJK unigrams and bigrams, pinyin windows, phone 4-grams,
-- anchored terms for ranking) and writes them in the same transaction as the archive or contact.
-- The FTS rowid is an activity sequence: a change re-indexes the archive under a new, higher
-- sequence, so `ORDER BY rowid DESC` lists the most recently changed first without a sort.
CREATE TABLE search_docs (
    seq        INTEGER PRIMARY KEY,
    archive_id INTEGER NOT NULL UNIQUE REFERENCES archives(id)
);
CREATE VIRTUAL TABLE search_fts USING fts5(
    terms,
    content = '',
    contentless_delete = 1,
    detail = none,
    prefix = '2',
    tokenize = "unicode61 remove_diacritics 0 tokenchars '_'"
);
