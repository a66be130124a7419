"""CLIP backends: turn lists of texts / images into unit-norm float32 rows.

`TorchClipBackend` runs Hugging Face transformers (CLIPModel + CLIPProcessor). A faster backend
(ONNX, say) only needs the same small surface: `load()`, `dim`, `encode_text`, `encode_images`.
torch and transformers are imported inside methods so that `import embed` stays cheap.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Sequence

from .errors import ModelLoadError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

DEFAULT_MODEL = "openai/clip-vit-base-patch32"
TEXT_MAX_TOKENS = 77
_HEX40 = re.compile(r"^[0-9a-f]{40}$")


class ClipBackend(Protocol):
    model_id: str

    def load(self) -> None: ...

    @property
    def loaded(self) -> bool: ...

    @property
    def dim(self) -> int: ...

    def encode_text(self, texts: Sequence[str]) -> "np.ndarray": ...

    def encode_images(self, images: Sequence["Image.Image"]) -> "np.ndarray": ...


def default_model() -> str:
    return os.environ.get("EMBEDSQL_MODEL") or DEFAULT_MODEL


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~", ".\\", "..\\")) or os.path.isabs(model) or (
        os.sep in model and model.count("/") != 1
    )


def resolve_model(model: str | None) -> tuple[str, Path | None, ModelLoadError | None]:
    """(model_id, local_dir, error): a local directory becomes its absolute path; anything else is a
    hub id; a path that names no directory gives the error to raise when the model is needed."""
    model = (model or default_model()).strip()
    path = Path(model).expanduser()
    if path.is_dir():
        return str(path.resolve()), path.resolve(), None
    if _looks_like_path(model):
        what = "not a directory" if path.exists() else "directory not found"
        return model, None, ModelLoadError(f"cannot load CLIP model {model!r}: {what}", hint=_how_to_supply(model))
    return model, None, None


def _how_to_supply(model: str) -> str:
    hub = model if not _looks_like_path(model) else DEFAULT_MODEL
    return (
        "on a machine with internet, save the model to a directory: python -c \"from transformers import "
        f"CLIPModel, CLIPProcessor; CLIPModel.from_pretrained('{hub}').save_pretrained('clip'); "
        f"CLIPProcessor.from_pretrained('{hub}').save_pretrained('clip')\"; copy that directory here and pass "
        "--model /path/to/clip or set EMBEDSQL_MODEL=/path/to/clip"
    )


def local_revision(directory: Path) -> str:
    """A cache key for a model directory: its config.json contents plus name, size and mtime of each file."""
    h = hashlib.sha256()
    snapshot = directory.name if directory.parent.name == "snapshots" and _HEX40.match(directory.name) else None
    if snapshot:
        return snapshot  # a Hugging Face cache snapshot: the commit hash itself
    try:
        config = (directory / "config.json").read_bytes()
    except OSError:
        config = b""
    h.update(config)
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        entries = []
    for e in entries:
        if e.name.startswith(".") or not e.is_file():
            continue
        st = e.stat()
        h.update(f"\0{e.name}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return "local-" + h.hexdigest()[:16]


def hub_revision(model_id: str) -> str | None:
    """The commit hash of a hub model already in the local Hugging Face cache, without loading it."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover
        return None
    try:
        path = try_to_load_from_cache(model_id, "config.json")
    except Exception:  # an invalid repo id and the like: let the load report it
        return None
    if isinstance(path, str):
        commit = Path(path).parent.name
        return commit if _HEX40.match(commit) else local_revision(Path(path).parent)
    return None


@contextlib.contextmanager
def _quiet_transformers():
    """No progress bars or fallback warnings on the user's terminal while loading."""
    from transformers.utils import logging as tlog

    verbosity = tlog.get_verbosity()
    bars = tlog.is_progress_bar_enabled()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        yield
    finally:
        tlog.set_verbosity(verbosity)
        if bars:
            tlog.enable_progress_bar()


def _env_offline() -> bool:
    """HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE as set now (huggingface_hub reads them only at import)."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on")
               for v in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def _probe_hub(model_ref: str, timeout: float = 3.0) -> None:
    """Fail fast when the hub is unreachable, instead of waiting out the download retries."""
    if any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return  # the proxy decides; let huggingface_hub try
    import socket
    import urllib.parse

    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    parts = urllib.parse.urlsplit(endpoint)
    host = parts.hostname or "huggingface.co"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        raise ModelLoadError(
            f"cannot load CLIP model {model_ref!r}: not in the local Hugging Face cache, and {host} "
            f"cannot be reached to download it ({e.strerror or e})", hint=_how_to_supply(model_ref)) from None


def _pick_device(device: str | None) -> str:
    if device:
        return device
    env = os.environ.get("EMBEDSQL_DEVICE")
    if env:
        return env
    import torch

    if torch.cuda.is_available():
        return "cuda"
    return "cpu"


def make_backend(kind: str | None, model: str | None = None, *, device: str | None = None) -> ClipBackend:
    """The backend named by `kind` or $EMBEDSQL_BACKEND: "torch" (default, fp32), "onnx" (ONNX Runtime,
    fp32), "onnx-int8", "onnx-fp32". The ONNX one lives in embed.onnx_backend (optional extra)."""
    name = (kind or os.environ.get("EMBEDSQL_BACKEND") or "torch").strip().lower()
    if name in ("torch", "torch-fp32"):
        return TorchClipBackend(model, device=device)
    if name in ("onnx", "onnx-int8", "onnx-fp32"):
        from .onnx_backend import OnnxClipBackend

        return OnnxClipBackend(model, precision=name.partition("-")[2] or None, device=device)
    raise ModelLoadError(f"unknown embedding backend {name!r}",
                         hint="use torch (the default), onnx, onnx-int8 or onnx-fp32 (EMBEDSQL_BACKEND)")


class TorchClipBackend:
    """CLIPModel + CLIPProcessor from transformers, in eval mode under torch.inference_mode()."""

    def __init__(self, model: str | None = None, *, device: str | None = None):
        self.model_ref = (model or default_model()).strip()
        self.model_id, self.local_dir, self._resolve_error = resolve_model(self.model_ref)
        self._device = device
        self.device: str | None = None
        self.model = None
        self.processor = None
        self.revision: str | None = None
        self._max_tokens = TEXT_MAX_TOKENS
        self.texts_encoded = 0
        self.images_encoded = 0

    @property
    def loaded(self) -> bool:
        return self.model is not None

    def known_revision(self) -> str | None:
        """The revision if it can be known without loading the weights."""
        if self.revision:
            return self.revision
        if self._resolve_error is not None:
            raise self._resolve_error
        if self.local_dir is not None:
            return local_revision(self.local_dir)
        return hub_revision(self.model_id)

    def load(self) -> None:
        if self.model is not None:
            return
        if self._resolve_error is not None:
            raise self._resolve_error
        try:
            import torch
            from transformers import CLIPModel, CLIPProcessor
        except ImportError as e:  # pragma: no cover - dependencies are declared
            raise ModelLoadError(f"cannot load CLIP model {self.model_ref!r}: {e}",
                                 hint="pip install torch transformers") from None
        source = str(self.local_dir) if self.local_dir is not None else self.model_id
        local_only = self.local_dir is not None or self.known_revision() is not None or _env_offline()
        if not local_only:
            _probe_hub(self.model_ref)
        if self.local_dir is not None and not (self.local_dir / "config.json").is_file():
            raise ModelLoadError(
                f"cannot load CLIP model {self.model_ref!r}: {self.local_dir} is not a saved model "
                "(no config.json)", hint=_how_to_supply(self.model_ref))
        try:
            with _quiet_transformers():
                model = CLIPModel.from_pretrained(source, local_files_only=local_only)
                processor = CLIPProcessor.from_pretrained(source, local_files_only=local_only)
            if getattr(model.config, "model_type", None) != "clip":
                raise ValueError(f"model_type is {model.config.model_type!r}, not 'clip'")
            device = _pick_device(self._device)
            model = model.to(device=device, dtype=torch.float32).eval()
        except ModelLoadError:
            raise
        except Exception as e:  # OSError offline / missing files, ValueError wrong config, ...
            offline = _env_offline() or "connect" in str(e).lower()
            where = ("not in the local Hugging Face cache and cannot be downloaded"
                     + (" (offline)" if offline else "")) if self.local_dir is None else "not a usable CLIP model directory"
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelLoadError(f"cannot load CLIP model {self.model_ref!r}: {where}: {first_line}",
                                 hint=_how_to_supply(self.model_ref)) from None
        tokenizer = getattr(processor, "tokenizer", None)
        limits = [TEXT_MAX_TOKENS, getattr(model.config.text_config, "max_position_embeddings", TEXT_MAX_TOKENS)]
        tok_max = getattr(tokenizer, "model_max_length", None)
        if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
            limits.append(tok_max)
        self._max_tokens = min(limits)
        self.processor = processor
        self.device = device
        self.revision = self.known_revision() or getattr(model.config, "_commit_hash", None) or "unknown"
        self.model = model

    @property
    def dim(self) -> int:
        self.load()
        return int(self.model.config.projection_dim)

    def encode_text(self, texts: Sequence[str]) -> "np.ndarray":
        import torch

        self.load()
        if not texts:
            return _empty(self.dim)
        inputs = self.processor(text=list(texts), padding=True, truncation=True,
                                max_length=self._max_tokens, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in inputs.items() if k in ("input_ids", "attention_mask")}
        with torch.inference_mode():
            feats = _pooled(self.model.get_text_features(**inputs))
        self.texts_encoded += len(texts)
        return _unit_rows(feats)

    def encode_images(self, images: Sequence["Image.Image"]) -> "np.ndarray":
        import torch

        self.load()
        if not images:
            return _empty(self.dim)
        inputs = self.processor(images=list(images), return_tensors="pt")
        pixels = inputs["pixel_values"].to(device=self.device, dtype=torch.float32)
        with torch.inference_mode():
            feats = _pooled(self.model.get_image_features(pixel_values=pixels))
        self.images_encoded += len(images)
        return _unit_rows(feats)


def _pooled(out):
    """transformers 5 returns an output object (pooler_output is the projected feature); 4.x a tensor."""
    if hasattr(out, "pooler_output") and out.pooler_output is not None:
        return out.pooler_output
    if isinstance(out, (tuple, list)):
        return out[0]
    return out


def _unit_rows(feats) -> "np.ndarray":
    import numpy as np

    arr = feats.detach().to("cpu").float().numpy().astype(np.float32, copy=False)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (arr / norms).astype(np.float32)


def _empty(dim: int) -> "np.ndarray":
    import numpy as np

    return np.zeros((0, dim), dtype=np.float32)
