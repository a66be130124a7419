-- The photos table of the CLIP photo-search tutorial (Unsplash Lite metadata + the image's vector).
-- Written in MyScale syntax; embedsql translates it for ClickHouse.
-- The vector's dimension and the column comment are filled in from the configured model at
-- `migrate up` (`migrate plan` shows them): photo_embed's COMMENT records the model (family, name, dimension,
-- content digest), and EMBED() or ingestion with another model is refused.
-- index_granularity = 32: ClickHouse reads whole granules (8,192 rows by default, about 5,000 for
-- 512-d vectors), so a filter that keeps few rows, or a top-k the vector index found, read the
-- vectors and columns of thousands of neighbours. With 32-row granules, on 200k CLIP-like rows,
-- an exact scan under a 0.1 % filter took 24 ms instead of 334, `SELECT *` of an index top-10
-- 7.9 instead of 25.9 at 25k rows; a scan of every row 1.42x as long (bench_granularity).
-- CODEC(NONE) on the vector column: LZ4, ClickHouse's default, saves 8 % on CLIP vectors (float
-- noise barely compresses) and decompressing it was most of an exact scan's time. On 200k
-- CLIP-like rows in 32-row granules, an exact top-10 took 173 ms instead of 557 with no filter,
-- 56 instead of 163 under a 1 % filter, 14 instead of 25 under 0.1 %; at 25k rows about the
-- same either way (bench_granularity).
-- Tables migrated with the earlier revision (builtin/earlier/) keep their granularity and codec.

-- +up
CREATE TABLE IF NOT EXISTS photos
(
    id UInt64,
    photo_id String,
    photo_url String,
    photo_image_url String,
    photo_embed Array(Float32) COMMENT '{{embedding_model}}' CODEC(NONE),
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
    CONSTRAINT photo_embed_len CHECK length(photo_embed) = {{embedding_dim}}
)
ENGINE = MergeTree
ORDER BY id
SETTINGS index_granularity = 32;

-- +down
DROP TABLE IF EXISTS photos;
