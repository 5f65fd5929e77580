-- Search index (issue 5). The application computes each archive's terms
-- (dangan_core::search::archive_terms) and writes them in the same transaction as the archive or
-- contact, as a tsvector of exactly those lexemes (array_to_tsvector: no parser, no stemming).
-- `seq` is an activity sequence: a change re-indexes the archive under a new, higher sequence,
-- so text results come most recently changed first.
CREATE SEQUENCE search_seq;
CREATE TABLE search_docs (
    seq        BIGINT PRIMARY KEY DEFAULT nextval('search_seq'),
    archive_id BIGINT NOT NULL UNIQUE REFERENCES archives(id),
    tsv        tsvector NOT NULL
);
CREATE INDEX search_docs_tsv ON search_docs USING gin (tsv);
