-- embedsql migrate plan (up): dialect clickhouse, cluster prod; golden

-- state and lock tables (created if missing)
CREATE TABLE IF NOT EXISTS embedsql_migrations ON CLUSTER prod
(
    version UInt64,
    name String,
    checksum String,
    prefix_checksum String,
    status LowCardinality(String),
    statements_done UInt32,
    statements_total UInt32,
    part UInt32,
    error String,
    applied_at DateTime64(3),
    duration_ms UInt64,
    run_id String,
    host String,
    seq UInt64
)
ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/embedsql/{database}/embedsql_migrations', '{shard}-{replica}', seq)
ORDER BY version;
CREATE TABLE IF NOT EXISTS embedsql_migration_lock ON CLUSTER prod
(
    owner String,
    host String,
    pid UInt32,
    command String,
    acquired_at DateTime64(6),
    expires_at DateTime64(6),
    released UInt8,
    seq UInt64
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/embedsql/{database}/embedsql_migration_lock', '{shard}-{replica}')
ORDER BY (owner, seq)
TTL toDateTime(expires_at) + INTERVAL 1 DAY;

-- 0001_photos_table (up): 1 statement from 0001_photos_table.sql
-- statement 1 (line 19)
CREATE TABLE IF NOT EXISTS photos_local ON CLUSTER prod
(
    id UInt64,
    photo_id String,
    photo_url String,
    photo_image_url String,
    photo_embed Array(Float32) COMMENT 'embedsql:model=openai/clip-vit-base-patch32;family=clip;dim=512' CODEC(NONE),
    photo_description String,
    ai_description String,
    photo_width UInt32,
    photo_height UInt32,
    photo_aspect_ratio Float32,
    photographer_username String,
    photographer_first_name String,
    photographer_last_name String,
    photo_location_name String,
    photo_location_city String,
    photo_location_country String,
    photo_submitted_at Nullable(DateTime64(3)),
    keywords Array(String),
    source String,
    ingested_at DateTime DEFAULT now(),
    CONSTRAINT photo_embed_len CHECK length(photo_embed) = 512
)
ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')
ORDER BY id
SETTINGS index_granularity = 32;
CREATE TABLE IF NOT EXISTS photos ON CLUSTER prod
(
    id UInt64,
    photo_id String,
    photo_url String,
    photo_image_url String,
    photo_embed Array(Float32) COMMENT 'embedsql:model=openai/clip-vit-base-patch32;family=clip;dim=512' CODEC(NONE),
    photo_description String,
    ai_description String,
    photo_width UInt32,
    photo_height UInt32,
    photo_aspect_ratio Float32,
    photographer_username String,
    photographer_first_name String,
    photographer_last_name String,
    photo_location_name String,
    photo_location_city String,
    photo_location_country String,
    photo_submitted_at Nullable(DateTime64(3)),
    keywords Array(String),
    source String,
    ingested_at DateTime DEFAULT now(),
    CONSTRAINT photo_embed_len CHECK length(photo_embed) = 512
)
ENGINE = Distributed(prod, photos_db, photos_local, cityHash64(id));

-- 0002_photo_embed_index (up): 1 statement from 0002_photo_embed_index.sql
-- statement 1 (line 6)
-- translated: VECTOR INDEX photo_embed_index TYPE MSTG -> vector_similarity(HNSW, cosineDistance (Cosine, from metric_type), dim 512); ClickHouse offers only HNSW, so MSTG becomes HNSW
-- translated: ADD VECTOR INDEX photo_embed_index -> ADD INDEX, then ALTER TABLE photos MATERIALIZE INDEX photo_embed_index to index the existing rows
ALTER TABLE photos_local ON CLUSTER prod ADD INDEX photo_embed_index photo_embed TYPE vector_similarity('hnsw', 'cosineDistance', 512);
ALTER TABLE photos_local ON CLUSTER prod MATERIALIZE INDEX photo_embed_index;

-- 0003_photos_text_index (up): 4 statements from 0003_photos_text_index.sql
-- statement 1 (line 8)
ALTER TABLE photos_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS search_text String DEFAULT arrayStringConcat(arrayFilter(x -> x != '', [photo_description, ai_description, arrayStringConcat(keywords, ' '), photo_location_name, photo_location_city, photo_location_country]), ' ');
ALTER TABLE photos ON CLUSTER prod ADD COLUMN IF NOT EXISTS search_text String DEFAULT arrayStringConcat(arrayFilter(x -> x != '', [photo_description, ai_description, arrayStringConcat(keywords, ' '), photo_location_name, photo_location_city, photo_location_country]), ' ');
-- statement 2 (line 9)
ALTER TABLE photos_local ON CLUSTER prod MATERIALIZE COLUMN search_text;
-- statement 3 (line 10)
-- translated: FTS index photos_text_index on search_text -> stored token column search_text__tokens (MyScale's default tokenizer: Unicode letters/digits, lower-cased, under 40 bytes) and a ClickHouse text index on it (tokenizer = array); TextSearch/HybridSearch read both
ALTER TABLE photos_local ON CLUSTER prod ADD COLUMN IF NOT EXISTS search_text__tokens Array(String) MATERIALIZED arrayMap(__t -> lowerUTF8(__t), arrayFilter(__t -> length(__t) < 40, extractAll(search_text, '[\\p{L}\\p{N}]+')));
ALTER TABLE photos ON CLUSTER prod ADD COLUMN IF NOT EXISTS search_text__tokens Array(String) MATERIALIZED arrayMap(__t -> lowerUTF8(__t), arrayFilter(__t -> length(__t) < 40, extractAll(search_text, '[\\p{L}\\p{N}]+')));
ALTER TABLE photos_local ON CLUSTER prod MATERIALIZE COLUMN search_text__tokens;
ALTER TABLE photos_local ON CLUSTER prod ADD INDEX IF NOT EXISTS photos_text_index search_text__tokens TYPE text(tokenizer = array);
-- statement 4 (line 11)
ALTER TABLE photos_local ON CLUSTER prod MATERIALIZE INDEX photos_text_index;
