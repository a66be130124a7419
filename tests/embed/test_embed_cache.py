"""The vector cache: memory + sqlite, shared across instances/processes, robust to damage."""
from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from embed import EmbedQuery, Embedder, Term
from embed.cache import FILE_NAME, VectorCache

from tests.support import PHOTOS, build_tiny_clip, cos

PHOTO = sorted(PHOTOS.glob("*.jpg"))[2]
QUERIES = [EmbedQuery.of("the cat"), EmbedQuery.of("a dog on the beach", str(PHOTO))]


def _fresh(tiny_clip, cache_dir) -> Embedder:
    return Embedder(str(tiny_clip), device="cpu", cache_dir=cache_dir)


def test_second_instance_hits_without_loading_the_model(tiny_clip, tmp_path, image_server):
    first = _fresh(tiny_clip, tmp_path)
    route = f"/cache-test/{tmp_path.name}/{PHOTO.name}"  # this test's own, so its hit count is too
    image_server.routes[route] = (200, "image/jpeg", PHOTO.read_bytes())
    url = image_server.url(route)
    queries = QUERIES + [EmbedQuery.of(url)]
    v1 = first.embed(queries)
    s = first.last_stats()
    assert (s.hits, s.misses, s.texts_encoded, s.images_encoded) == (0, 3, 2, 1)  # url and path: same bytes
    first.close()

    second = _fresh(tiny_clip, tmp_path)  # a new process, as far as the cache can tell
    v2 = second.embed(queries)
    s = second.last_stats()
    assert (s.hits, s.misses, s.model_batches) == (3, 0, 0)
    assert not second.model_loaded
    for a, b in zip(v1, v2):
        np.testing.assert_array_equal(a, b)
    assert image_server.hits[route] == 2  # image URLs are fetched to hash their bytes
    assert second.stats.hits == 3


def test_repeat_in_one_instance_is_a_memory_hit(embedder):
    embedder.embed(QUERIES)
    before = embedder.runtime.texts_encoded
    embedder.embed(QUERIES)
    assert embedder.last_stats().hits == 3 and embedder.runtime.texts_encoded == before
    assert embedder.stats.hits == 3 and embedder.stats.misses == 3


def test_different_revision_misses(tmp_path):
    model_dir = build_tiny_clip(tmp_path / "model", seed=1)
    e1 = _fresh(model_dir, tmp_path / "cache")
    [old] = e1.embed([EmbedQuery.of("the cat")])
    rev1 = e1.revision
    e1.close()
    build_tiny_clip(model_dir, seed=2)  # the model directory is replaced by other weights
    e2 = _fresh(model_dir, tmp_path / "cache")
    assert e2.revision != rev1
    [new] = e2.embed([EmbedQuery.of("the cat")])
    assert e2.last_stats().misses == 1 and e2.model_loaded
    assert cos(old, new) < 0.99  # stale vectors from the old weights were not served


def test_different_model_misses(tiny_clip, tmp_path):
    other = build_tiny_clip(tmp_path / "other", seed=3)
    _fresh(tiny_clip, tmp_path / "c").embed([EmbedQuery.of("the cat")])
    e = _fresh(other, tmp_path / "c")
    e.embed([EmbedQuery.of("the cat")])
    assert e.last_stats().misses == 1


def _damage_garbage(path: Path) -> None:
    path.write_bytes(b"this is not a sqlite file " * 200)


def _damage_truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 100])


@pytest.mark.parametrize("damage", [_damage_garbage, _damage_truncate])
def test_corrupt_cache_file_is_rebuilt(tiny_clip, tmp_path, caplog, damage):
    texts = [EmbedQuery.of(f"the cat {i}") for i in range(60)]  # a few pages, so truncation bites
    e = _fresh(tiny_clip, tmp_path)
    good = e.embed(texts)
    e.close()  # checkpoints the WAL into the main file
    path = tmp_path / FILE_NAME
    for side in ("-wal", "-shm"):
        Path(str(path) + side).unlink(missing_ok=True)
    damage(path)

    caplog.set_level(logging.WARNING, logger="embed.cache")
    e2 = _fresh(tiny_clip, tmp_path)
    again = e2.embed(texts)
    for a, b in zip(good, again):
        assert cos(a, b) >= 0.9999
    assert any("rebuilt" in r.getMessage() for r in caplog.records)
    assert list(tmp_path.glob(FILE_NAME + ".corrupt-*"))  # the damaged file is kept aside, not reused
    e2.close()
    e3 = _fresh(tiny_clip, tmp_path)  # the rebuilt file serves hits
    e3.embed(texts)
    assert e3.last_stats().hits == len(texts) and not e3.model_loaded


def test_wrong_blob_length_is_a_miss(tiny_clip, tmp_path, caplog):
    e = _fresh(tiny_clip, tmp_path)
    [good] = e.embed([EmbedQuery.of("the cat")])
    e.close()
    with sqlite3.connect(tmp_path / FILE_NAME) as db:
        db.execute("UPDATE vectors SET vec = substr(vec, 1, 100)")
    caplog.set_level(logging.WARNING, logger="embed.cache")
    e2 = _fresh(tiny_clip, tmp_path)
    [again] = e2.embed([EmbedQuery.of("the cat")])
    assert e2.last_stats().misses == 1 and cos(good, again) >= 0.9999
    assert any("damaged" in r.getMessage() for r in caplog.records)


def test_unwritable_cache_dir_falls_back_to_memory(tiny_clip, tmp_path, caplog):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    e = _fresh(tiny_clip, blocker / "cache")
    caplog.set_level(logging.WARNING, logger="embed.cache")
    e.embed(QUERIES)
    e.embed(QUERIES)
    assert e.last_stats().hits == 3
    assert any("memory only" in r.getMessage() for r in caplog.records)


def test_several_openers_of_a_new_cache_file_all_write(tmp_path, caplog):
    """The first runs of a user (a TUI and a query at once) create the cache file together: SQLite
    answered "database is locked" at once, without waiting, to connections that switched the new
    file to WAL or created the table at the same moment, and their writes were skipped (seen in
    CI). Four caches (each its own connection, like processes) open new files at one instant,
    200 times: every write lands, no busy warning."""
    caplog.set_level(logging.WARNING, logger="embed.cache")
    lost = 0
    for trial in range(200):
        d = tmp_path / str(trial)
        caches = [VectorCache(d) for _ in range(4)]
        start = threading.Barrier(4)

        def write(i):
            start.wait()
            caches[i].put_many({("m", "r", "text", str(i)): np.eye(4, dtype=np.float32)[i]})

        threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for c in caches:
            c.close()
        reader = VectorCache(d)
        lost += 4 - len(reader.get_many([("m", "r", "text", str(i)) for i in range(4)]))
        reader.close()
    assert lost == 0
    assert not [r.getMessage() for r in caplog.records if "busy" in r.getMessage()]


_WRITER = """
import sys, numpy as np
from embed.cache import VectorCache
c = VectorCache(sys.argv[1])
tag = sys.argv[2]
for i in range(0, 200, 10):
    c.put_many({("m", "r", "text", f"{tag}-{j}"): np.eye(4, dtype=np.float32)[j % 4] for j in range(i, i + 10)})
c.close()
"""


def test_concurrent_processes_share_the_file(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), tag], env=env, cwd=root,
                              stderr=subprocess.PIPE, text=True) for tag in "ab"]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert "busy" not in err and "unusable" not in err, err
    c = VectorCache(tmp_path)
    keys = [("m", "r", "text", f"{t}-{j}") for t in "ab" for j in range(200)]
    got = c.get_many(keys)
    assert len(got) == 400
    np.testing.assert_array_equal(got[("m", "r", "text", "b-5")], np.eye(4, dtype=np.float32)[1])


def test_threads_share_one_embedder(embedder):
    expected = embedder.embed_texts([f"the cat {i}" for i in range(8)])
    results: dict[int, np.ndarray] = {}
    errors = []

    def work(i):
        try:
            results[i] = embedder.embed([EmbedQuery.of(f"the cat {i}")])[0]
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(8):
        assert cos(results[i], expected[i]) >= 0.9999


def test_batching_embeds_each_distinct_input_once(embedder, image_server):
    calls = []
    runtime = embedder.runtime
    orig_text, orig_images = runtime.encode_text, runtime.encode_images
    runtime.encode_text = lambda texts: calls.append(("text", list(texts))) or orig_text(texts)
    runtime.encode_images = lambda imgs: calls.append(("image", len(imgs))) or orig_images(imgs)
    url = image_server.url("/red.jpg")
    queries = [EmbedQuery.of("the cat", "a dog"), EmbedQuery.of("the cat"),
               EmbedQuery.of(url, "the cat"), EmbedQuery.of(url), EmbedQuery((Term("image", url, 2.0),))]
    vecs = embedder.embed(queries)
    assert calls == [("text", ["the cat", "a dog"]), ("image", 1)]
    assert cos(vecs[3], vecs[4]) >= 0.9999
    s = embedder.last_stats()
    assert (s.misses, s.texts_encoded, s.images_encoded, s.model_batches) == (3, 2, 1, 2)


def test_images_are_chunked_by_32(embedder, tmp_path):
    from PIL import Image

    paths = []
    for i in range(33):
        p = tmp_path / f"img{i}.png"
        Image.new("RGB", (12, 12), (i * 7, 255 - i * 7, 100)).save(p)
        paths.append(str(p))
    vecs = embedder.embed([EmbedQuery.of(p) for p in paths])
    s = embedder.last_stats()
    assert len(vecs) == 33 and s.images_encoded == 33 and s.model_batches == 2
