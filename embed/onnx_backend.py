"""A faster CPU backend: the same CLIP exported to ONNX and run with ONNX Runtime.

Opt in with `Embedder(model, backend="onnx")` or `EMBEDSQL_BACKEND=onnx` (needs the optional extra:
`pip install 'embedsql[onnx]'`). The default backend stays torch fp32.

- `precision="fp32"` (the default for "onnx"): the exported graphs as they are; same vectors as
  torch (cosine 1.0, same top-10), 1.5-3x faster on 2 cores (`make bench`, benchmarks/RESULTS.md).
  `precision="int8"` ("onnx-int8"): dynamic int8 quantization of the MatMul weights
  (`onnxruntime.quantization.quantize_dynamic`): 8-28x faster for text, 8x for images on AVX512-VNNI,
  cosine >= 0.998 to fp32, but on the benchmark's random-weight model only 55% of queries kept
  exactly the same top-10 (overlap@10 0.94): opt in knowingly.
- The text tower (+ projection) and the vision tower (+ projection) are exported separately with
  `torch.onnx.export(..., dynamo=False)` (the TorchScript exporter: no onnxscript needed), dynamic
  batch and sequence axes. The export runs once per model revision and is cached under
  `<cache dir>/onnx/<model>/<revision>/`; later loads read only the ONNX files and the processor.
- Vectors are unit-norm float32 rows like the torch backend's; they differ from fp32 torch by a
  cosine of >= 0.99 (measured by `make bench`), so the vector cache keys them under their own
  revision (`<revision>+onnx-fp32` / `+onnx-int8`): vectors of the two backends are never mixed.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .backend import TorchClipBackend, _empty, _quiet_transformers, default_model
from .errors import ModelLoadError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

PRECISIONS = ("int8", "fp32")
DEFAULT_PRECISION = "fp32"
OPSET = 17
_FORMAT = 1  # bump when the exported graphs change
_export_lock = threading.Lock()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[-80:] or "model"


class OnnxClipBackend:
    """CLIP on ONNX Runtime (CPU). Same surface as TorchClipBackend: load, dim, encode_text, encode_images."""

    def __init__(self, model: str | None = None, *, precision: str | None = None, threads: int | None = None,
                 cache_dir: Path | None = None, device: str | None = None):
        precision = (precision or os.environ.get("EMBEDSQL_ONNX_PRECISION") or DEFAULT_PRECISION).lower()
        if precision not in PRECISIONS:
            raise ModelLoadError(f"unknown ONNX precision {precision!r}",
                                 hint="use one of: " + ", ".join(PRECISIONS))
        if device not in (None, "cpu"):
            raise ModelLoadError(f"the ONNX backend runs on the CPU only, not {device!r}",
                                 hint="drop --device / EMBEDSQL_DEVICE, or use the torch backend")
        self.precision = precision
        self.threads = threads
        self._torch = TorchClipBackend(model or default_model(), device="cpu")  # resolution + export source
        self.model_ref = self._torch.model_ref
        self.model_id = self._torch.model_id
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._text = None
        self._vision = None
        self.processor = None
        self._dim: int | None = None
        self._max_tokens = 77
        self.revision: str | None = None
        self.export_dir: Path | None = None
        self.exported_now = False
        self.texts_encoded = 0
        self.images_encoded = 0

    @property
    def loaded(self) -> bool:
        return self._text is not None

    def known_revision(self) -> str | None:
        base = self._torch.known_revision()
        return f"{base}+onnx-{self.precision}" if base else None

    # -- export ----------------------------------------------------------------------------------
    def _root(self) -> Path:
        if self._cache_dir is not None:
            return self._cache_dir
        from .paths import cache_dir

        return cache_dir() / "onnx"

    def _export(self, target: Path) -> None:
        """Export both towers from the torch model into `target` (atomically: a temp dir, then rename)."""
        try:
            import onnx  # noqa: F401  (the TorchScript exporter serialises through it)
            import torch
        except ImportError as e:
            raise ModelLoadError(f"the ONNX backend needs onnx and onnxruntime ({e.name} is missing)",
                                 hint="pip install 'embedsql[onnx]'") from None
        tb = self._torch
        tb.load()
        model = tb.model
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
        try:
            text, vision = _towers(model)
            ids = torch.ones((2, 7), dtype=torch.long)
            mask = torch.ones((2, 7), dtype=torch.long)
            size = int(model.config.vision_config.image_size)
            pixels = torch.zeros((2, 3, size, size), dtype=torch.float32)
            with torch.inference_mode(False), torch.no_grad(), _quiet_export():
                torch.onnx.export(text, (ids, mask), str(tmp / "text.onnx"), dynamo=False, opset_version=OPSET,
                                  input_names=["input_ids", "attention_mask"], output_names=["embeds"],
                                  dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                                "attention_mask": {0: "batch", 1: "seq"}, "embeds": {0: "batch"}})
                torch.onnx.export(vision, (pixels,), str(tmp / "vision.onnx"), dynamo=False, opset_version=OPSET,
                                  input_names=["pixel_values"], output_names=["embeds"],
                                  dynamic_axes={"pixel_values": {0: "batch"}, "embeds": {0: "batch"}})
            for name in ("text", "vision"):
                _quantize(tmp / f"{name}.onnx", tmp / f"{name}.int8.onnx")
            tb.processor.save_pretrained(tmp / "processor")
            meta = {"format": _FORMAT, "model": self.model_id, "revision": tb.revision,
                    "dim": int(model.config.projection_dim), "max_tokens": tb._max_tokens,
                    "torch": torch.__version__, "opset": OPSET}
            (tmp / "meta.json").write_text(json.dumps(meta))
            try:
                os.replace(tmp, target)  # an empty leftover target is replaced; a complete one wins
            except OSError:
                if not (target / "meta.json").is_file():
                    raise
        except ModelLoadError:
            raise
        except Exception as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelLoadError(f"cannot export CLIP model {self.model_ref!r} to ONNX: {first}",
                                 hint="use the default torch backend (unset EMBEDSQL_BACKEND)") from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            tb.model = None  # the torch weights are not needed any more
            tb.processor = None

    # -- load --------------------------------------------------------------------------------
    def load(self) -> None:
        if self._text is not None:
            return
        try:
            import onnxruntime as ort
        except ImportError:
            raise ModelLoadError("the ONNX backend needs onnxruntime, which is not installed",
                                 hint="pip install 'embedsql[onnx]', or unset EMBEDSQL_BACKEND for torch") from None
        base = self._torch.known_revision()
        if base is None:  # a hub model not downloaded yet: loading it finds the revision
            self._torch.load()
            base = self._torch.revision
        target = self._root() / _safe(self.model_id) / f"{_safe(base)}-v{_FORMAT}"
        with _export_lock:
            if not (target / "meta.json").is_file():
                self._export(target)
                self.exported_now = True
        meta = json.loads((target / "meta.json").read_text())
        suffix = ".int8.onnx" if self.precision == "int8" else ".onnx"
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        threads = self.threads or _torch_threads()
        if threads:
            opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # no busy-waiting between runs: the embedded ClickHouse scan (and torch, if loaded) runs right
        # after an embed on the same few cores, and spinning ORT threads would steal them
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            from transformers import CLIPProcessor

            with _quiet_transformers():
                processor = CLIPProcessor.from_pretrained(str(target / "processor"), local_files_only=True)
            text = ort.InferenceSession(str(target / f"text{suffix}"), opts, providers=["CPUExecutionProvider"])
            vision = ort.InferenceSession(str(target / f"vision{suffix}"), opts, providers=["CPUExecutionProvider"])
        except Exception as e:
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelLoadError(f"cannot load the ONNX export of {self.model_ref!r} from {target}: {first}",
                                 hint=f"delete {target} to export it again") from None
        self.processor = processor
        self._dim = int(meta["dim"])
        self._max_tokens = int(meta.get("max_tokens") or 77)
        self.revision = f"{meta['revision']}+onnx-{self.precision}"
        self.export_dir = target
        self._vision = vision
        self._text = text

    @property
    def dim(self) -> int:
        self.load()
        return self._dim

    # -- encode ------------------------------------------------------------------------------
    def encode_text(self, texts: Sequence[str]) -> "np.ndarray":
        import numpy as np

        self.load()
        if not texts:
            return _empty(self._dim)
        enc = self.processor.tokenizer(list(texts), padding=True, truncation=True, max_length=self._max_tokens,
                                       return_tensors="np")
        feeds = {"input_ids": enc["input_ids"].astype(np.int64),
                 "attention_mask": enc["attention_mask"].astype(np.int64)}
        out = self._text.run(None, feeds)[0]
        self.texts_encoded += len(texts)
        return _unit(out)

    def encode_images(self, images: Sequence["Image.Image"]) -> "np.ndarray":
        import numpy as np

        self.load()
        if not images:
            return _empty(self._dim)
        pixels = self.processor(images=list(images), return_tensors="np")["pixel_values"].astype(np.float32)
        out = self._vision.run(None, {"pixel_values": pixels})[0]
        self.images_encoded += len(images)
        return _unit(out)


def _unit(arr) -> "np.ndarray":
    import numpy as np

    arr = np.asarray(arr, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (arr / norms).astype(np.float32)


def _torch_threads() -> int | None:
    try:
        import torch

        return int(torch.get_num_threads())
    except Exception:  # pragma: no cover
        return None


def _towers(model):
    import torch

    from .backend import _pooled

    class Text(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask):
            return _pooled(self.m.get_text_features(input_ids=input_ids, attention_mask=attention_mask))

    class Vision(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            return _pooled(self.m.get_image_features(pixel_values=pixel_values))

    return Text(model).eval(), Vision(model).eval()


def _quantize(src: Path, dst: Path) -> None:
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "consider pre-processing" advice on the root logger
    try:
        quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
    finally:
        root.setLevel(level)


class _quiet_export:
    """The TorchScript exporter warns about tracing and deprecation on stderr: keep the terminal clean."""

    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")
        return self

    def __exit__(self, *exc):
        self._w.__exit__(*exc)
