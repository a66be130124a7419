"""Fixtures for the embed tests: an Embedder on the tiny CLIP, and a direct transformers pipeline."""
from __future__ import annotations

import pytest

from tests.embed.embed_support import Direct


@pytest.fixture
def embedder(tiny_clip, tmp_path):
    from embed import Embedder

    e = Embedder(str(tiny_clip), device="cpu", cache_dir=tmp_path / "vec-cache", runtime="torch")
    yield e
    e.close()


@pytest.fixture(scope="session")
def direct(tiny_clip) -> Direct:
    return Direct(tiny_clip)
