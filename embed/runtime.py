"""Model runtimes: what turns lists of texts / images into unit-norm float32 rows.

`ModelRuntime` is the base both runtimes share (model resolution, identity, counters, row
normalisation); `TorchRuntime` (embed.torch_runtime) runs transformers on torch,
`OnnxRuntime` (embed.onnx_runtime) runs an ONNX export of the same towers on ONNX Runtime
without importing torch or transformers. `embed.choice.make_runtime` picks one:

- "torch": transformers `AutoModel` + `AutoProcessor`, fp32, any family.
- "onnx" / "onnx-fp32": the fast path; "onnx-int8": dynamically quantised MatMuls (opt-in).
- "auto" (the default, `$EMBEDSQL_RUNTIME` or the older `$EMBEDSQL_BACKEND`): "onnx" when
  onnxruntime and tokenizers are installed and an export of this exact model (by digest) exists
  in the cache; "torch" otherwise. `choice_reason` says which and why (`query --explain` shows it).

Neither this module nor `import embed` imports torch, transformers or numpy.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING, Sequence

from .errors import ModelLoadError
from .identity import ModelIdentity, ModelRef, identify, resolve_model

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

RUNTIMES = ("auto", "torch", "onnx", "onnx-fp32", "onnx-int8")


class ModelRuntime:
    """Base of the runtimes. Subclasses set `kind` and implement `_load`, `_encode_text`,
    `_encode_images`; they are built lazily: nothing heavy happens before `load()`.

    Attributes: `model_ref` (as written), `ref` (ModelRef), `model_id` (its name: hub id or
    folder name), `texts_encoded` / `images_encoded` (counters), `choice_reason` (why this
    runtime was picked, for --explain)."""

    kind = "base"

    def __init__(self, model: str | ModelRef | None = None):
        self.ref: ModelRef = model if isinstance(model, ModelRef) else resolve_model(model)
        self.model_ref = self.ref.ref
        self.model_id = self.ref.name
        self._identity: ModelIdentity | None = None
        self._loaded = False
        self.texts_encoded = 0
        self.images_encoded = 0
        self.choice_reason = ""

    # -- identity --------------------------------------------------------------------------------
    @property
    def identity(self) -> ModelIdentity:
        """The model's identity (family, name, dim, digest) from its files, without loading it.
        Raises ModelLoadError when the files are not here (see embed.identity.identify)."""
        if self._identity is None or self._identity.digest is None:
            self._identity = identify(self.ref)
        return self._identity

    def known_revision(self) -> str | None:
        """The vector-cache revision (`<digest>+<kind>`) when known without loading; None for a
        model whose files are not on this machine."""
        if self.ref.error is not None:
            raise self.ref.error
        if self.ref.directory is None:
            return None
        return f"{self.identity.digest}+{self.kind}"

    @property
    def revision(self) -> str | None:
        """Like known_revision, also after a load that downloaded the files."""
        try:
            return self.known_revision()
        except ModelLoadError:
            return None

    # -- loading -----------------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        """True once load() has succeeded."""
        return self._loaded

    def load(self) -> None:
        """Load the model (once). Raises ModelLoadError with the input and a way out."""
        if self._loaded:
            return
        if self.ref.error is not None:
            raise self.ref.error
        self._load()
        self._loaded = True

    @property
    def dim(self) -> int:
        """The embedding dimension (loads the model's identity, not its weights, when possible)."""
        try:
            return self.identity.dim
        except ModelLoadError:
            self.load()
            return self.identity.dim

    def _load(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- encoding ---------------------------------------------------------------------------------
    def encode_text(self, texts: Sequence[str]) -> "np.ndarray":
        """(len(texts), dim) float32 unit rows, one model batch. Texts longer than the model's
        token limit are truncated, as the family's own processor does."""
        self.load()
        if not texts:
            return empty_rows(self.dim)
        out = unit_rows(self._encode_text(list(texts)))
        self.texts_encoded += len(texts)
        return out

    def encode_images(self, images: Sequence["Image.Image"]) -> "np.ndarray":
        """(len(images), dim) float32 unit rows for RGB PIL images, one model batch."""
        self.load()
        if not images:
            return empty_rows(self.dim)
        out = unit_rows(self._encode_images(list(images)))
        self.images_encoded += len(images)
        return out

    def _encode_text(self, texts: list[str]):  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_images(self, images: list):  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:
        """`onnx-fp32 (ONNX Runtime) for 'clip' (clip, 512-d, digest ...)` for --explain."""
        try:
            who = self.identity.describe()
        except ModelLoadError:
            who = repr(self.model_id)
        return f"{self.kind} for {who}"


def unit_rows(arr) -> "np.ndarray":
    """Rows scaled to length 1 as float32 (a zero row stays zero). `arr`: (n, dim) array-like."""
    import numpy as np

    arr = np.asarray(arr, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (arr / norms).astype(np.float32)


def empty_rows(dim: int) -> "np.ndarray":
    """A (0, dim) float32 array."""
    import numpy as np

    return np.zeros((0, dim), dtype=np.float32)


def runtime_setting(kind: str | None = None) -> str:
    """The runtime asked for: `kind`, else $EMBEDSQL_RUNTIME, else $EMBEDSQL_BACKEND, else "auto".
    ModelLoadError for an unknown name."""
    name = (kind or os.environ.get("EMBEDSQL_RUNTIME") or os.environ.get("EMBEDSQL_BACKEND") or "auto")
    name = name.strip().lower()
    if name == "torch-fp32":
        name = "torch"
    if name not in RUNTIMES:
        raise ModelLoadError(f"unknown model runtime {name!r}",
                             hint="use auto (the default), torch, onnx, onnx-fp32 or onnx-int8 "
                                  "(--runtime, EMBEDSQL_RUNTIME)")
    return name
