"""The Embedder: EMBED queries in, unit-norm float32 vectors out, cache first, one batch per modality.

It owns one model runtime (embed.choice.make_runtime: the ONNX fast path or torch) and one vector
cache (embed.cache). Vectors are keyed in the cache by (model name, `<digest>+<runtime>`, kind,
payload), so two models, or two runtimes of one model, never share vectors."""
from __future__ import annotations

import hashlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .choice import make_runtime
from .errors import InputError
from .fetch import FetchOptions, decode_image, fetch_bytes, for_model
from .modality import resolve_kind
from .runtime import ModelRuntime
from .types import EmbedQuery, Term

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from .cache import VectorCache
    from .identity import ModelIdentity

IMAGE_BATCH = 32
TEXT_BATCH = 256  # ingestion only; EMBED queries send all missing texts in one batch
FETCH_WORKERS = 8


@dataclass
class EmbedStats:
    """Counters of `.embed` calls. `Embedder.stats` adds up every call; `last_stats()` is the last one."""

    hits: int = 0  # distinct inputs found in the cache
    misses: int = 0  # distinct inputs that went to the model
    model_ms: float = 0.0  # time in the model (load excluded)
    load_ms: float = 0.0  # time loading the model (first use only)
    fetch_ms: float = 0.0  # wall time fetching image bytes (concurrent fetches overlap)
    total_ms: float = 0.0  # whole `.embed` call
    texts_encoded: int = 0
    images_encoded: int = 0
    model_batches: int = 0

    def add(self, other: "EmbedStats") -> None:
        """Add another call's counters to these."""
        for f in ("hits", "misses", "model_ms", "load_ms", "fetch_ms", "total_ms",
                  "texts_encoded", "images_encoded", "model_batches"):
            setattr(self, f, getattr(self, f) + getattr(other, f))


@dataclass
class _Input:
    kind: str  # "text" | "image"
    value: str  # the text, or the image reference as written
    payload: str = ""  # cache payload: the text, or sha256 of the image bytes
    data: bytes | None = None
    vector: "np.ndarray | None" = None


class Embedder:
    """Embeddings for EMBED queries and ingestion. Lazy: the model loads on first use (or `.load()`).

    `model`: hub id or local directory (None: $EMBEDSQL_MODEL, else openai/clip-vit-base-patch32);
    `runtime`: a ModelRuntime, or a name ("auto" | "torch" | "onnx" | "onnx-fp32" | "onnx-int8";
    None: $EMBEDSQL_RUNTIME, else "auto"); `cache_dir`: the vector cache's directory (default
    embed.paths.cache_dir()); `cache=False`: memory only. Errors: ModelLoadError (model or runtime
    unusable), InputError (an input that cannot be read or embedded).

    Thread-safe: model load and inference are guarded by one lock; the cache has its own.
    """

    def __init__(self, model: str | None = None, *, device: str | None = None, cache_dir: Path | None = None,
                 fetch: FetchOptions | None = None, runtime: ModelRuntime | str | None = None, cache: bool = True):
        self.runtime: ModelRuntime = (runtime if isinstance(runtime, ModelRuntime)
                                      else make_runtime(runtime, model, device=device))
        self.fetch_options = fetch or FetchOptions()
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._use_disk_cache = cache
        self._cache: VectorCache | None = None
        self._model_lock = threading.RLock()
        self._stats_lock = threading.Lock()
        self._revision: str | None = None
        self.stats = EmbedStats()
        self._last = EmbedStats()

    # --- identity -------------------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        """The model's name: its hub id, or the folder name of a local directory."""
        return self.runtime.model_id

    @property
    def identity(self) -> "ModelIdentity":
        """Family, name, dimension and content digest (embed.identity); reads files, loads nothing.
        ModelLoadError when the model's files are not here and it is not a well-known hub id."""
        return self.runtime.identity

    @property
    def revision(self) -> str:
        """The vector-cache revision: `<content digest>+<runtime>`. Loads the model only when it
        cannot be known otherwise (a hub id not yet in the local cache)."""
        if self._revision is None:
            rev = self.runtime.known_revision()
            if not rev:
                self.load()
                rev = self.runtime.revision or "unknown"
            self._revision = rev
        return self._revision

    @property
    def model_loaded(self) -> bool:
        """True once the weights are loaded."""
        return self.runtime.loaded

    def load(self) -> "Embedder":
        """Load the model now (it loads on first use otherwise). ModelLoadError when it cannot."""
        with self._model_lock:
            self.runtime.load()
        return self

    def prepare_fast_path(self, cache_dir: Path | None = None) -> str | None:
        """Export the model for the ONNX fast path when it runs on torch now, the fast path's
        libraries are installed, the family has one and no export exists yet; reuses the loaded
        torch weights. Returns the export directory made, or None when nothing was to do.
        ModelLoadError when the export fails."""
        from .choice import fast_path_available
        from .torch_runtime import TorchRuntime

        rt = self.runtime
        if not isinstance(rt, TorchRuntime) or fast_path_available() is not None:
            return None
        from .onnx_export import export
        from .onnx_runtime import export_dir_for, export_status

        reason = export_status(rt.ref, cache_dir=cache_dir)
        if reason is None or "no ONNX export" not in reason:
            return None
        target = export_dir_for(rt.identity.digest, cache_dir)
        with self._model_lock:
            export(rt, target)
        from .onnx_runtime import OnnxRuntime

        OnnxRuntime(rt.ref, cache_dir=cache_dir).prepare()
        return str(target)

    @property
    def dim(self) -> int:
        """The embedding dimension, from the model's config when possible (no weights loaded)."""
        return self.runtime.dim

    # --- ingestion (no cache) ------------------------------------------------------------------

    def embed_texts(self, texts: Sequence[str], *, batch_size: int = TEXT_BATCH) -> "np.ndarray":
        """(n, dim) unit-norm float32 rows, in batches of `batch_size`; no cache."""
        import numpy as np

        texts = list(texts)
        with self._model_lock:
            self.load()
            if len(texts) <= batch_size:
                return self.runtime.encode_text(texts)
            parts = [self.runtime.encode_text(texts[i:i + batch_size]) for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts, axis=0)

    def embed_images(self, images: Sequence["Image.Image"], *, batch_size: int = IMAGE_BATCH) -> "np.ndarray":
        """(n, dim) unit-norm float32 rows for RGB PIL images, in batches of `batch_size`; no cache."""
        import numpy as np

        from .fetch import to_rgb

        images = [for_model(to_rgb(im)) for im in images]
        with self._model_lock:
            self.load()
            if not images:
                return np.zeros((0, self.runtime.dim), dtype=np.float32)
            parts = [self.runtime.encode_images(images[i:i + batch_size]) for i in range(0, len(images), batch_size)]
        return np.concatenate(parts, axis=0)

    # --- queries --------------------------------------------------------------------------------

    def embed_one(self, *values: str | Term) -> "np.ndarray":
        """Shorthand for one EMBED: embed_one("a cat", "./cat.jpg")."""
        return self.embed([EmbedQuery.of(*values)])[0]

    def embed(self, queries: Sequence[EmbedQuery]) -> list["np.ndarray"]:
        """One unit-norm float32 vector per query. Distinct inputs across all queries are looked up
        in the cache, and the missing ones embedded in one model batch per modality."""
        from .combining import combine

        if not queries:
            return []
        t_start = time.perf_counter()
        st = EmbedStats()
        inputs: dict[tuple[str, str], _Input] = {}
        plan: list[list[tuple[_Input, float]]] = []
        for q in queries:
            if not q.terms:
                raise InputError("EMBED()", "no inputs", hint="write EMBED('some text') or EMBED('https://.../x.jpg')")
            row = []
            for t in q.terms:
                kind = resolve_kind(t.value) if t.kind == "auto" else t.kind
                if kind == "text" and not t.value.strip():
                    raise InputError(t.value, "empty text")
                item = inputs.setdefault((kind, t.value), _Input(kind, t.value))
                row.append((item, float(t.weight)))
            plan.append(row)

        images = [i for i in inputs.values() if i.kind == "image"]
        texts = [i for i in inputs.values() if i.kind == "text"]
        if images:
            t0 = time.perf_counter()
            self._fetch_all(images)
            st.fetch_ms = (time.perf_counter() - t0) * 1000
        for i in texts:
            i.payload = i.value

        model_id, revision = self.model_id, self.revision
        groups: dict[tuple, list[_Input]] = {}
        for i in inputs.values():  # two references to the same bytes share one key
            groups.setdefault((model_id, revision, i.kind, i.payload), []).append(i)
        cache = self._get_cache()
        vectors = cache.get_many(groups)
        missing = [(k, items[0]) for k, items in groups.items() if k not in vectors]
        st.hits = len(groups) - len(missing)
        st.misses = len(missing)
        if missing:
            new = self._encode_missing(missing, st)
            cache.put_many(new)
            vectors.update(new)
        for k, items in groups.items():
            for i in items:
                i.vector = vectors[k]

        out = []
        for q, row in zip(queries, plan):
            try:
                out.append(combine([i.vector for i, _ in row], [w for _, w in row]))
            except ValueError as e:
                raise InputError(q.describe(), f"the combined vector is zero ({e})",
                                 hint="the weights cancel each other: change a weight or drop a term") from None
        st.total_ms = (time.perf_counter() - t_start) * 1000
        with self._stats_lock:
            self._last = st
            self.stats.add(st)
        return out

    def last_stats(self) -> EmbedStats:
        """A copy of the counters of the last `.embed` call (hits, misses, times in ms)."""
        with self._stats_lock:
            return replace(self._last)

    # --- internals ------------------------------------------------------------------------------

    def _fetch_all(self, images: list[_Input]) -> None:
        opts = self.fetch_options

        def one(item: _Input) -> None:
            item.data = fetch_bytes(item.value, opts)
            item.payload = "sha256:" + hashlib.sha256(item.data).hexdigest()

        if len(images) == 1:
            one(images[0])
            return
        ex = ThreadPoolExecutor(max_workers=min(FETCH_WORKERS, len(images)), thread_name_prefix="embed-fetch")
        try:
            for f in [ex.submit(one, i) for i in images]:
                f.result()  # the first failure (an InputError) propagates
        except BaseException:
            ex.shutdown(wait=False, cancel_futures=True)  # don't wait for the other downloads
            raise
        ex.shutdown()

    def _encode_missing(self, missing: list[tuple[tuple, _Input]], st: EmbedStats) -> dict[tuple, "np.ndarray"]:
        import numpy as np

        result: dict[tuple, np.ndarray] = {}
        texts = [(k, i) for k, i in missing if i.kind == "text"]
        images = [(k, i) for k, i in missing if i.kind == "image"]
        decoded = [(k, decode_image(i.data, i.value, self.fetch_options)) for k, i in images]
        with self._model_lock:
            was_loaded = self.runtime.loaded
            t0 = time.perf_counter()
            self.runtime.load()
            if not was_loaded:
                st.load_ms = (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            if texts:
                vecs = self.runtime.encode_text([i.value for _, i in texts])
                st.model_batches += 1
                st.texts_encoded += len(texts)
                for (k, _), v in zip(texts, vecs):
                    result[k] = np.ascontiguousarray(v, dtype=np.float32)
            for s in range(0, len(decoded), IMAGE_BATCH):
                chunk = decoded[s:s + IMAGE_BATCH]
                vecs = self.runtime.encode_images([for_model(im) for _, im in chunk])
                st.model_batches += 1
                st.images_encoded += len(chunk)
                for (k, _), v in zip(chunk, vecs):
                    result[k] = np.ascontiguousarray(v, dtype=np.float32)
            st.model_ms = (time.perf_counter() - t0) * 1000
        return result

    def _get_cache(self) -> "VectorCache":
        with self._stats_lock:
            return self._make_cache()

    def _make_cache(self) -> "VectorCache":
        if self._cache is None:
            from .cache import VectorCache
            from .paths import cache_dir

            directory = (self._cache_dir or cache_dir()) if self._use_disk_cache else None
            self._cache = VectorCache(directory)
        return self._cache

    def close(self) -> None:
        """Close the vector cache's file."""
        if self._cache is not None:
            self._cache.close()

    def __enter__(self) -> "Embedder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
