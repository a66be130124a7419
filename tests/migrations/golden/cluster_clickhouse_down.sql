-- embedsql migrate plan (down): dialect clickhouse, cluster prod; golden

-- 0003_photos_text_index (down): 3 statements from 0003_photos_text_index.sql
-- statement 1 (line 14)
ALTER TABLE photos_local ON CLUSTER prod DROP INDEX IF EXISTS photos_text_index;
-- statement 2 (line 15)
ALTER TABLE photos_local ON CLUSTER prod DROP COLUMN IF EXISTS search_text__tokens;
ALTER TABLE photos ON CLUSTER prod DROP COLUMN IF EXISTS search_text__tokens;
-- statement 3 (line 16)
ALTER TABLE photos_local ON CLUSTER prod DROP COLUMN IF EXISTS search_text;
ALTER TABLE photos ON CLUSTER prod DROP COLUMN IF EXISTS search_text;

-- 0002_photo_embed_index (down): 1 statement from 0002_photo_embed_index.sql
-- statement 1 (line 9)
-- translated: DROP VECTOR INDEX -> DROP INDEX
ALTER TABLE photos_local ON CLUSTER prod DROP INDEX photo_embed_index;

-- 0001_photos_table (down): 1 statement from 0001_photos_table.sql
-- statement 1 (line 48)
DROP TABLE IF EXISTS photos ON CLUSTER prod SYNC;
DROP TABLE IF EXISTS photos_local ON CLUSTER prod SYNC;
