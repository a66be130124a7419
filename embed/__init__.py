"""embed: CLIP vectors for EMBED(...) inputs (texts, image URLs, image files), cached.

Importing this package is cheap: torch, transformers, numpy and Pillow load on first use.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import EmbedError, InputError, ModelLoadError
from .types import EmbedQuery, Term

if TYPE_CHECKING:
    from .backend import TorchClipBackend
    from .embedder import Embedder, Stats
    from .fetch import FetchOptions, decode_image, fetch_bytes, fetch_image
    from .modality import resolve_kind
    from .paths import cache_dir

_LAZY = {
    "Embedder": "embedder",
    "Stats": "embedder",
    "TorchClipBackend": "backend",
    "DEFAULT_MODEL": "backend",
    "FetchOptions": "fetch",
    "fetch_image": "fetch",
    "fetch_bytes": "fetch",
    "decode_image": "fetch",
    "resolve_kind": "modality",
    "cache_dir": "paths",
    "combine": "combining",
}

__all__ = ["EmbedError", "InputError", "ModelLoadError", "EmbedQuery", "Term", *_LAZY]


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'embed' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value
