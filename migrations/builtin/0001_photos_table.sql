-- The photos table of the CLIP photo-search tutorial (Unsplash Lite metadata + a 512-d CLIP vector).
-- Written in MyScale syntax; embedsql translates it for ClickHouse.
-- photo_embed's COMMENT records the embedding model and dimension: EMBED() against this column
-- refuses to run with another model.

-- +up
CREATE TABLE IF NOT EXISTS photos
(
    id UInt64,
    photo_id String,
    photo_url String,
    photo_image_url String,
    photo_embed Array(Float32) COMMENT 'embedsql:model=openai/clip-vit-base-patch32;dim=512',
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
ENGINE = MergeTree
ORDER BY id;

-- +down
DROP TABLE IF EXISTS photos;
