-- The text index reads its terms with FTS5's `ascii` tokenizer instead of `unicode61`. Every
-- term the application writes or queries is already one token of lowercase ASCII letters,
-- digits, `_` or Han characters (dangan_core::search::is_index_token), so both tokenizers split
-- them alike; `ascii` does it without a Unicode table lookup per character (unicode61 was a
-- tenth of an import's CPU). The index is contentless: it is recreated empty, and emptying
-- `search_docs` makes the start that applies this migration rebuild it (`SEARCH_INDEX_STALE`).
DROP TABLE search_fts;
DELETE FROM search_docs;
CREATE VIRTUAL TABLE search_fts USING fts5(
    terms,
    content = '',
    contentless_delete = 1,
    detail = none,
    prefix = '2',
    tokenize = "ascii tokenchars '_'"
);
