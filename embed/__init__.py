"""embed: vectors of image-text models for EMBED(...) inputs (texts, image URLs, image files), cached.

Modules: `embedder` (the Embedder: queries in, vectors out), `identity` (which model: resolution
and content digest), `families` (CLIP, SigLIP, SigLIP 2, Chinese CLIP, AltCLIP), `runtime` (the
ModelRuntime base), `torch_runtime` and `onnx_runtime` (+ `onnx_export`, `preprocess`),
`choice` (which runtime), `cache`, `combining`, `fetch`, `modality`, `types`, `errors`, `paths`.

Importing this package is cheap: torch, transformers, numpy and Pillow load on first use.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import EmbedError, InputError, ModelLoadError
from .types import EmbedQuery, Term

if TYPE_CHECKING:
    from .choice import make_runtime
    from .embedder import Embedder, EmbedStats
    from .identity import DEFAULT_MODEL, ModelIdentity, default_model, identify
    from .onnx_runtime import OnnxRuntime
    from .runtime import ModelRuntime
    from .torch_runtime import TorchRuntime
    from .fetch import FetchOptions, decode_image, fetch_bytes, fetch_image
    from .modality import resolve_kind
    from .paths import cache_dir

_LAZY = {
    "Embedder": "embedder",
    "EmbedStats": "embedder",
    "ModelRuntime": "runtime",
    "TorchRuntime": "torch_runtime",
    "OnnxRuntime": "onnx_runtime",
    "make_runtime": "choice",
    "ModelIdentity": "identity",
    "identify": "identity",
    "default_model": "identity",
    "DEFAULT_MODEL": "identity",
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
