import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import ImageServer, build_tiny_clip  # noqa: E402


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> Path:
    """Directory holding a tiny random CLIP (512-d projection) saved with save_pretrained.

    The directory is named like the default model, as a user's local copy of it would be; embedsql
    recognises a model by its weights, not its folder name (embed.identity)."""
    return build_tiny_clip(tmp_path_factory.mktemp("tiny-clip") / "clip-vit-base-patch32")


@pytest.fixture(scope="session")
def image_server():
    with ImageServer(slow_seconds=30) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    """Never touch the real ~/.local/share or ~/.config: each test gets its own."""
    monkeypatch.setenv("EMBEDSQL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMBEDSQL_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("EMBEDSQL_CACHE_DIR", str(tmp_path / "cache"))
    for var in ("EMBEDSQL_DSN", "EMBEDSQL_PASSWORD", "EMBEDSQL_MODEL", "EMBEDSQL_BACKEND", "EMBEDSQL_RUNTIME", "EMBEDSQL_LOCK_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
