"""A small `photos` table for the integration tests (Arrow/pandas/numpy, DB-API, Harlequin, the
notebook magic): five rows embedded from texts and one from a real photo, with the tiny random
CLIP, a 512-d vector column with a length constraint and an HNSW index, a DateTime and a Nullable
column. A hybrid query `EMBED(TEXTS[i])` finds row `p{i}` first (the same input gives the same
vector)."""
from __future__ import annotations

from tests.support import PHOTOS

TEXTS = ["a tabby cat with green eyes", "a red cup of coffee", "a rocket on the launch pad at night",
         "an astronaut in an orange suit", "galaxies on a black sky"]
IMAGE = PHOTOS / "chelsea.jpg"

DDL = """CREATE TABLE photos (
    id UInt64, photo_id String, photo_image_url String, photo_description String, year UInt16,
    taken_at DateTime('UTC'), rating Nullable(Float32),
    photo_embed Array(Float32),
    INDEX photo_embed_index photo_embed TYPE vector_similarity('hnsw', 'cosineDistance', 512),
    CONSTRAINT photo_embed_len CHECK length(photo_embed) = 512
) ENGINE = MergeTree ORDER BY id"""

COLUMNS = ["id", "photo_id", "photo_image_url", "photo_description", "year", "taken_at", "rating", "photo_embed"]


def create_photos(session, image_url: str | None = None, urls: list[str] | None = None) -> list[list]:
    """Create and fill `photos` through `session` (its embedder gives the vectors); returns the
    rows inserted. Row i (0..4): photo_id p{i}, description TEXTS[i], photo_image_url urls[i]
    (default https://img.invalid/p{i}.jpg), year 2000+i, rating NULL for odd i. Row 99: photo_id
    cat-photo, the vector of IMAGE, photo_image_url `image_url` (default the local path of IMAGE)."""
    import datetime as dt

    from embed import EmbedQuery, Term

    session.command(DDL)
    vecs = session.embedder.embed_texts(TEXTS)
    img = session.embedder.embed([EmbedQuery((Term("image", str(IMAGE)),))])[0]
    taken = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
    urls = urls or [f"https://img.invalid/p{i}.jpg" for i in range(len(TEXTS))]
    rows = [[i, f"p{i}", urls[i], t, 2000 + i, taken + dt.timedelta(days=i),
             None if i % 2 else float(i), v.tolist()]
            for i, (t, v) in enumerate(zip(TEXTS, vecs))]
    rows.append([99, "cat-photo", image_url or str(IMAGE), "photo", 2099, taken, 5.0, img.tolist()])
    session.insert("photos", rows, COLUMNS)
    return rows


def hybrid_sql(i: int, placeholder: str | None = None) -> str:
    """The hybrid query whose top row is p{i}: a metadata filter plus the cosine distance to
    EMBED(TEXTS[i]) (or EMBED(<placeholder>) when given)."""
    arg = placeholder or "'" + TEXTS[i].replace("'", "''") + "'"
    return (f"SELECT photo_id, cosineDistance(photo_embed, EMBED({arg})) AS dist FROM photos "
            f"WHERE year >= 2000 ORDER BY dist ASC LIMIT 3")
