-- Duplicate check (查重, issue 5). Each archive's keys (dangan_core::dedup::archive_keys: credit
-- code, ID-number hash, mobile, normalized name, city + name, phones of the archive and its
-- contacts — one-letter kind prefix) are written by the store in the same transaction as the
-- archive, its contacts and bulk loads. A rowid table with secondary indexes, so that a bulk load
-- into an empty database appends and builds the indexes once at the end (deferred_indexes).
CREATE TABLE dedup_keys (
    key        TEXT NOT NULL,
    archive_id INTEGER NOT NULL REFERENCES archives(id)
);
CREATE INDEX dedup_keys_key ON dedup_keys(key, archive_id);
CREATE INDEX dedup_keys_archive ON dedup_keys(archive_id);

-- Merge: the merged archive stays as a tombstone naming its survivor (its number resolves to the
-- survivor); contacts, timeline entries and attachments moved to the survivor keep the archive
-- they came from.
ALTER TABLE archives ADD COLUMN merged_into INTEGER REFERENCES archives(id);
ALTER TABLE contacts ADD COLUMN origin_archive_id INTEGER REFERENCES archives(id);
ALTER TABLE timeline_entries ADD COLUMN origin_archive_id INTEGER REFERENCES archives(id);
ALTER TABLE attachments ADD COLUMN origin_archive_id INTEGER REFERENCES archives(id);
