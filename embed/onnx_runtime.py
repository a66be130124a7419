"""The fast path: a model's towers on ONNX Runtime, with neither torch nor transformers imported.

A query in a new process needs onnxruntime, tokenizers, numpy and the export of this model
(`embed.onnx_export`, made once per model digest under `<cache dir>/onnx/`). The text graph is
opened on the first text, the vision graph on the first image, so a text query never pays for
the vision tower.

- `precision="fp32"` (runtime "onnx" / "onnx-fp32"): the exported graphs as they are; the same
  vectors as torch (cosine >= 0.9999, tested per family).
- `precision="int8"` (runtime "onnx-int8"): dynamic int8 quantisation of the MatMul weights,
  made on first use beside the fp32 files: several times faster, cosine >= 0.99 to fp32; on the
  benchmark's random-weight model only part of the top-10 stayed the same (see benchmarks).
- Vectors are unit-norm float32 rows; the vector cache keys them under `<digest>+onnx-<precision>`
  so vectors of different runtimes are never mixed.
- Explicitly asked for ("onnx"), a missing export is made on `load()` (needs torch once);
  "auto" picks this runtime only when the export exists (embed.runtime.make_runtime).
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from .errors import ModelLoadError
from .identity import ModelRef, identify, resolve_model
from .onnx_export import FORMAT
from .runtime import ModelRuntime

PRECISIONS = ("fp32", "int8")
DEFAULT_PRECISION = "fp32"
_export_lock = threading.Lock()


def export_root(cache_dir: Path | None = None) -> Path:
    """Where exports live: `cache_dir`, else `<embed cache dir>/onnx`."""
    if cache_dir is not None:
        return Path(cache_dir)
    from .paths import cache_dir as default_cache

    return default_cache() / "onnx"


def export_dir_for(digest: str, cache_dir: Path | None = None) -> Path:
    """The export directory of a model digest."""
    return export_root(cache_dir) / f"{digest}-v{FORMAT}"


def export_status(ref: ModelRef | str | None, *, cache_dir: Path | None = None) -> str | None:
    """None when the fast path can run this model now (an export exists), else why not, as a
    clause for `--explain` ("no ONNX export of ... yet (run `embedsql model export`)")."""
    from .families import by_name

    mref = ref if isinstance(ref, ModelRef) else resolve_model(ref)
    if mref.error is not None or mref.directory is None:
        return f"model {mref.ref!r} is not on this machine"
    try:
        ident = identify(mref)
    except ModelLoadError as e:
        return e.message
    if not by_name(ident.family).fast_images:
        return f"{ident.family} models take variable image patches, which the ONNX export does not cover"
    if _sentencepiece_only(mref.directory):
        return ("its tokenizer is SentencePiece-only (SiglipTokenizer), which has no `tokenizers` form "
                "for the fast path")
    target = export_dir_for(ident.digest, cache_dir)
    if not (target / "embed.json").is_file():
        return (f"there is no ONNX export of {ident.name!r} yet (make it once with `embedsql model export`; "
                "`embedsql ingest` and `demo` make it too)")
    return None


_SPM_ONLY = ("SiglipTokenizer",)


def _sentencepiece_only(directory: Path) -> bool:
    if (directory / "tokenizer.json").is_file():
        return False
    try:
        cfg = json.loads((directory / "tokenizer_config.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(cfg, dict) and cfg.get("tokenizer_class") in _SPM_ONLY


class OnnxRuntime(ModelRuntime):
    """A model on ONNX Runtime (CPU). `precision`: "fp32" (default; $EMBEDSQL_ONNX_PRECISION) or
    "int8"; `threads`: intra-op threads (default: ONNX Runtime's, one per core); `cache_dir`: the
    export root (default `<cache dir>/onnx`)."""

    def __init__(self, model=None, *, precision: str | None = None, threads: int | None = None,
                 cache_dir: Path | None = None, device: str | None = None):
        precision = (precision or os.environ.get("EMBEDSQL_ONNX_PRECISION") or DEFAULT_PRECISION).lower()
        if precision not in PRECISIONS:
            raise ModelLoadError(f"unknown ONNX precision {precision!r}", hint="use one of: " + ", ".join(PRECISIONS))
        if device not in (None, "cpu"):
            raise ModelLoadError(f"the ONNX runtime runs on the CPU only, not {device!r}",
                                 hint="drop --device / EMBEDSQL_DEVICE, or use the torch runtime")
        super().__init__(model)
        self.precision = precision
        self.kind = f"onnx-{precision}"
        self.threads = threads
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self.export_dir: Path | None = None
        self.exported_now = False
        self.meta: dict = {}
        self._text = None
        self._vision = None
        self._tokenizer = None
        self._pixels = None
        self._lock = threading.Lock()

    # -- loading ------------------------------------------------------------------------------------
    def _load(self) -> None:
        try:
            import onnxruntime  # noqa: F401
            import tokenizers  # noqa: F401
        except ImportError as e:
            raise ModelLoadError(f"the ONNX runtime needs {e.name}, which is not installed",
                                 hint="pip install 'embedsql[onnx]', or use --runtime torch") from None
        if self.ref.directory is None:  # a hub model not downloaded yet: torch fetches it
            from .torch_runtime import TorchRuntime

            tr = TorchRuntime(self.ref, device="cpu")
            tr.load()
            self.ref = tr.ref
            self._identity = None
        target = export_dir_for(self.identity.digest, self._cache_dir)
        with _export_lock:
            if not (target / "embed.json").is_file():
                from .onnx_export import export
                from .torch_runtime import TorchRuntime

                export(TorchRuntime(self.ref, device="cpu"), target)
                self.exported_now = True
        try:
            self.meta = json.loads((target / "embed.json").read_text())
        except (OSError, ValueError) as e:
            raise ModelLoadError(f"cannot read the ONNX export of {self.model_ref!r} in {target}: {e}",
                                 hint=f"delete {target} to export it again") from None
        self.export_dir = target
        if self.precision == "int8":  # make sure both quantised graphs exist before any encode
            for name in ("text", "vision"):
                self._graph_path(name)

    def prepare(self) -> None:
        """Load, and write both graphs' optimised forms now (export time), so the first query in a
        new process only reads files."""
        self.load()
        for name in ("text", "vision"):
            self._optimized(name)

    def _graph_path(self, name: str) -> Path:
        assert self.export_dir is not None
        fp32 = self.export_dir / f"{name}.onnx"
        if self.precision == "fp32":
            return fp32
        q = self.export_dir / f"{name}.int8.onnx"
        if not q.is_file():
            from .onnx_export import quantize

            with _export_lock:
                if not q.is_file():
                    quantize(fp32, q)
        return q

    def _optimized(self, name: str) -> Path:
        """The graph after ONNX Runtime's extended (hardware-neutral) optimisations, saved once per
        ONNX Runtime version beside the export, its weights in a separate data file: loading it
        skips the optimiser and the protobuf copy of the weights (a ViT-B/32 text tower opens in
        about a third of the time). Falls back to the plain graph if it cannot be written."""
        import onnxruntime as ort

        src = self._graph_path(name)
        dst = src.with_name(f"{src.stem}.opt-ort{ort.__version__}.onnx")
        data = dst.with_name(dst.name + ".data")
        if dst.is_file() and data.is_file():
            return dst
        tag = f"{os.getpid()}.{threading.get_ident()}"
        tmp = dst.with_name(f".{dst.stem}.{tag}.onnx")
        tmp_data = f"{tmp.name}.data"
        try:
            opts = ort.SessionOptions()
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
            opts.optimized_model_filepath = str(tmp)
            opts.add_session_config_entry("session.optimized_model_external_initializers_file_name", tmp_data)
            opts.add_session_config_entry("session.optimized_model_external_initializers_min_size_in_bytes",
                                          "1024")
            opts.log_severity_level = 3
            ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])
            # the graph names its data file: rewrite that name to the final one, then move both in place
            import onnx

            model = onnx.load(str(tmp), load_external_data=False)
            for t in model.graph.initializer:
                for entry in t.external_data:
                    if entry.key == "location":
                        entry.value = data.name
            os.replace(tmp.with_name(tmp_data), data)
            onnx.save(model, str(tmp))
            os.replace(tmp, dst)
            return dst
        except Exception:  # noqa: BLE001 - a read-only cache, a full disk: run the plain graph
            return src
        finally:
            tmp.unlink(missing_ok=True)
            tmp.with_name(tmp_data).unlink(missing_ok=True)

    def _session(self, name: str):
        import onnxruntime as ort

        path = self._graph_path(name)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            opt = self._optimized(name)
        except Exception:  # noqa: BLE001 - a damaged file: reported by the session below
            opt = path
        if opt != path:
            path = opt
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if self.threads:
            opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # no busy-waiting between runs: the embedded ClickHouse scan runs right after an embed on the
        # same few cores, and spinning ORT threads would steal them
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - a damaged file
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelLoadError(f"cannot load the ONNX export of {self.model_ref!r} from {path}: {first}",
                                 hint=f"delete {self.export_dir} to export it again") from None

    def _text_parts(self):
        with self._lock:
            if self._text is None:
                from .preprocess import TextEncoder, TextSpec

                self._tokenizer = TextEncoder(str(self.export_dir / "tokenizer.json"),
                                              TextSpec.from_json(self.meta["text"]))
                self._text = self._session("text")
            return self._tokenizer, self._text

    def _vision_parts(self):
        with self._lock:
            if self._vision is None:
                from .preprocess import ImagePreprocessor, ImageSpec

                self._pixels = ImagePreprocessor(ImageSpec.from_json(self.meta["image"]))
                self._vision = self._session("vision")
            return self._pixels, self._vision

    @property
    def max_tokens(self) -> int:
        """The text token limit of the export."""
        self.load()
        return int(self.meta["text"]["max_tokens"])

    # -- encoding -----------------------------------------------------------------------------------
    def text_inputs(self, texts: list[str]) -> dict:
        """The int64 (batch, seq) arrays the text graph takes."""
        tok, _ = self._text_parts()
        return tok(texts)

    def _encode_text(self, texts: list[str]):
        tok, sess = self._text_parts()
        return sess.run(None, tok(texts))[0]

    def _encode_images(self, images: list):
        pre, sess = self._vision_parts()
        return sess.run(None, {"pixel_values": pre(images)})[0]


__all__ = ["OnnxRuntime", "export_status", "export_dir_for", "export_root", "PRECISIONS"]
