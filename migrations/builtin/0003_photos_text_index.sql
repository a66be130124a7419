-- Keyword search on the photos (TextSearch / HybridSearch): one searchable text column, filled by
-- the server from the descriptions, keywords and places (DEFAULT: rows inserted without it get it;
-- folder ingestion sends its own, with the file's name words), and an FTS index on it with MyScale's
-- default tokenizer. On ClickHouse the index becomes a stored token column (search_text__tokens)
-- plus a text index; `migrate up` materializes both for the rows already there.

-- +up
ALTER TABLE photos ADD COLUMN IF NOT EXISTS search_text String DEFAULT arrayStringConcat(arrayFilter(x -> x != '', [photo_description, ai_description, arrayStringConcat(keywords, ' '), photo_location_name, photo_location_city, photo_location_country]), ' ');
ALTER TABLE photos MATERIALIZE COLUMN search_text;
ALTER TABLE photos ADD INDEX IF NOT EXISTS photos_text_index search_text TYPE fts GRANULARITY 1;
ALTER TABLE photos MATERIALIZE INDEX photos_text_index;

-- +down
ALTER TABLE photos DROP INDEX IF EXISTS photos_text_index;
ALTER TABLE photos DROP COLUMN IF EXISTS search_text__tokens;
ALTER TABLE photos DROP COLUMN IF EXISTS search_text;
