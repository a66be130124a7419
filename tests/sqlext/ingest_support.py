"""Helpers for the ingestion tests: the built-in photo table's DDL (plain ClickHouse) and a session."""
from __future__ import annotations

PHOTOS_DDL = """
CREATE TABLE {table}
(
    id UInt64,
    photo_id String,
    photo_url String,
    photo_image_url String,
    photo_embed Array(Float32){comment},
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
    CONSTRAINT photo_embed_len CHECK length(photo_embed) = {dim}
)
ENGINE = MergeTree
ORDER BY id
"""


def create_photos(session, table: str = "photos", dim: int = 512, model: str | None = None) -> None:
    comment = f" COMMENT 'embedsql:model={model};dim={dim}'" if model else ""
    with session.hold() as c:
        c.command(PHOTOS_DDL.format(table=table, dim=dim, comment=comment))


def count(session, table: str = "photos", where: str = "") -> int:
    with session.hold() as c:
        return int(c.query(f"SELECT count() FROM {table} {where}").result_rows[0][0])


def ids(session, table: str = "photos") -> list[int]:
    with session.hold() as c:
        return sorted(int(r[0]) for r in c.query(f"SELECT id FROM {table}").result_rows)
