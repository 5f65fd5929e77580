-- Exact lookup of encrypted ID numbers: the keyed hash (blind index) of the ID number.
ALTER TABLE archives ADD COLUMN id_hash TEXT;
CREATE INDEX archives_id_hash ON archives(id_hash) WHERE id_hash IS NOT NULL;
