"""Fixtures for the app tests: a real embedded database with a `photos` table whose rows point at
the loopback image server, embedded with the tiny random CLIP."""
from __future__ import annotations

import asyncio
import inspect

import pytest

from tests.support import PHOTOS


PHOTO_NAMES = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "horse.jpg", "rocket.jpg"]
PHOTOS_DDL = ("CREATE TABLE photos(id UInt64, photo_id String, photo_image_url String, photo_embed Array(Float32), "
              "CONSTRAINT c CHECK length(photo_embed)=512) ENGINE=MergeTree ORDER BY id")


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests (Textual's Pilot) on a fresh asyncio loop; no plugin needed."""
    if inspect.iscoroutinefunction(pyfuncitem.obj):
        args = {a: pyfuncitem.funcargs[a] for a in pyfuncitem._fixtureinfo.argnames}
        asyncio.run(pyfuncitem.obj(**args))
        return True
    return None


@pytest.fixture(scope="session")
def embedder(tiny_clip, tmp_path_factory):
    from embed import Embedder

    return Embedder(str(tiny_clip), cache_dir=tmp_path_factory.mktemp("vec-cache"))


@pytest.fixture(scope="session")
def photo_vectors(embedder):
    from PIL import Image

    imgs = [Image.open(PHOTOS / n).convert("RGB") for n in PHOTO_NAMES]
    return [[float(x) for x in v] for v in embedder.embed_images(imgs)]


@pytest.fixture
def empty_session(tmp_path, embedder):
    import sqlext

    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db", embedder=embedder)
    yield s
    s.close()


@pytest.fixture
def session(empty_session, image_server, photo_vectors):
    s = empty_session
    s.command(PHOTOS_DDL)
    rows = [(i + 1, n[:-4], image_server.url(f"/photos/{n}"), v)
            for i, (n, v) in enumerate(zip(PHOTO_NAMES, photo_vectors))]
    s.insert("photos", rows, ["id", "photo_id", "photo_image_url", "photo_embed"])
    return s
