-- embedsql migrate plan (down): dialect clickhouse; golden

-- 0002_photo_embed_index (down): 1 statement from 0002_photo_embed_index.sql
-- statement 1 (line 9)
-- translated: DROP VECTOR INDEX -> DROP INDEX
ALTER TABLE photos DROP INDEX photo_embed_index;

-- 0001_photos_table (down): 1 statement from 0001_photos_table.sql
-- statement 1 (line 36)
DROP TABLE IF EXISTS photos;
