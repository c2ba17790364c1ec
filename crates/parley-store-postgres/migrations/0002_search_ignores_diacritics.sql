-- Search ignores diacritics, as the SQLite store's full-text search does: "cafe" finds "café",
-- "zurich" finds "Zürich". The `unaccent` dictionary ships with PostgreSQL (a trusted extension).
-- An extension is installed once per database, in one schema: `parley_ext` unless the database
-- has it already; each Parley schema of the database has its own configuration over it.
DO $$
DECLARE
    home name;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'unaccent') THEN
        CREATE SCHEMA IF NOT EXISTS parley_ext;
        CREATE EXTENSION unaccent SCHEMA parley_ext;
    END IF;
    SELECT n.nspname INTO home FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'unaccent';
    CREATE TEXT SEARCH CONFIGURATION parley_search (COPY = simple);
    -- Words with letters outside ASCII lose their diacritics, then are lower-cased as before.
    EXECUTE format('ALTER TEXT SEARCH CONFIGURATION parley_search ALTER MAPPING FOR word, numword, hword,
                    numhword, hword_part, hword_numpart WITH %I.unaccent, simple', home);
END $$;

CREATE OR REPLACE FUNCTION search_words(text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN to_tsvector('parley_search', regexp_replace($1, '[^[:alnum:]]+', ' ', 'g'));

-- What was stored and indexed under the old reading is read again.
ALTER TABLE messages DROP COLUMN body_search;
ALTER TABLE messages ADD COLUMN body_search tsvector GENERATED ALWAYS AS (search_words(body)) STORED;
CREATE INDEX messages_search ON messages USING GIN (body_search);
REINDEX INDEX conversations_search;
REINDEX INDEX items_search;
REINDEX INDEX customers_search;
