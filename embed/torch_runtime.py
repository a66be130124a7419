"""The torch runtime: transformers' `AutoModel` + `AutoProcessor`, fp32, eval mode, under
`torch.inference_mode()`. It runs every family of `embed.families`, exactly as the family's own
processor and `get_text_features` / `get_image_features` do (the reference the tests compare
against), and it is the source of the ONNX export (embed.onnx_export)."""
from __future__ import annotations

import contextlib
import inspect
import os

from .errors import ModelLoadError
from .families import Family, family_of
from .identity import how_to_supply, read_config, resolve_model
from .runtime import ModelRuntime


class TorchRuntime(ModelRuntime):
    """A model on torch. `device`: "cpu", "cuda", ... (default: $EMBEDSQL_DEVICE, else cuda when
    available, else cpu). After `load()`: `model` (the transformers model), `processor`,
    `family` (embed.families.Family), `max_tokens` (text limit), `device`."""

    kind = "torch"

    def __init__(self, model=None, *, device: str | None = None):
        super().__init__(model)
        self._device = device
        self.device: str | None = None
        self.model = None
        self.processor = None
        self.family: Family | None = None
        self.max_tokens = 77
        self._text_keys: tuple[str, ...] = ("input_ids", "attention_mask")
        self._image_keys: tuple[str, ...] = ("pixel_values",)

    def _load(self) -> None:
        try:
            import torch
            from transformers import AutoModel, AutoProcessor
        except ImportError as e:  # pragma: no cover - dependencies are declared
            raise ModelLoadError(f"cannot load model {self.model_ref!r}: {e}",
                                 hint="pip install torch transformers") from None
        ref = self.ref
        source = str(ref.directory) if ref.directory is not None else ref.ref
        local_only = ref.directory is not None or _env_offline()
        if not local_only:
            _probe_hub(ref.ref)
        if ref.local:
            read_config(ref.directory, ref.ref)  # a clear error for a folder without config.json
        try:
            with _quiet_transformers():
                model = AutoModel.from_pretrained(source, local_files_only=local_only)
                processor = AutoProcessor.from_pretrained(source, local_files_only=local_only)
            family = family_of(model.config.to_dict(), ref.ref)
            device = _pick_device(self._device)
            model = model.to(device=device, dtype=torch.float32).eval()
        except ModelLoadError:
            raise
        except Exception as e:  # OSError offline / missing files, ValueError wrong config, ...
            offline = _env_offline() or "connect" in str(e).lower()
            where = ("not in the local Hugging Face cache and cannot be downloaded"
                     + (" (offline)" if offline else "")) if not ref.local else "not a usable model directory"
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelLoadError(f"cannot load model {ref.ref!r}: {where}: {first_line}",
                                 hint=how_to_supply(ref.ref)) from None
        if ref.directory is None:  # downloaded just now: identify it from the hub cache
            self.ref = resolve_model(ref.ref)
        self.family = family
        self.max_tokens = text_limit(family, model.config, getattr(processor, "tokenizer", None))
        self._text_keys = _accepted(model.get_text_features, ("input_ids", "attention_mask", "token_type_ids"))
        self._image_keys = _accepted(model.get_image_features,
                                     ("pixel_values", "pixel_attention_mask", "spatial_shapes"))
        self.processor = processor
        self.device = device
        self.model = model

    def text_inputs(self, texts: list[str], return_tensors: str = "pt") -> dict:
        """The family's own text preprocessing: the processor's tokenizer with the family's padding
        and the token limit. Returns the inputs `get_text_features` takes."""
        enc = self.processor(text=list(texts), padding=self.family.padding, truncation=True,
                             max_length=self.max_tokens, return_tensors=return_tensors)
        return {k: enc[k] for k in self._text_keys if k in enc}

    def image_inputs(self, images: list, return_tensors: str = "pt") -> dict:
        """The family's own image preprocessing (the processor's image processor)."""
        enc = self.processor(images=list(images), return_tensors=return_tensors)
        return {k: enc[k] for k in self._image_keys if k in enc}

    def _encode_text(self, texts: list[str]):
        import torch

        inputs = {k: v.to(self.device) for k, v in self.text_inputs(texts).items()}
        with torch.inference_mode():
            return pooled(self.model.get_text_features(**inputs)).float().cpu().numpy()

    def _encode_images(self, images: list):
        import torch

        inputs = self.image_inputs(images)
        inputs = {k: (v.to(device=self.device, dtype=torch.float32) if v.is_floating_point() else v.to(self.device))
                  for k, v in inputs.items()}
        with torch.inference_mode():
            return pooled(self.model.get_image_features(**inputs)).float().cpu().numpy()

    def release(self) -> None:
        """Drop the weights (after an export, say); the next encode loads them again."""
        self.model = None
        self.processor = None
        self._loaded = False


def text_limit(family: Family, config, tokenizer) -> int:
    """The text token limit: the smallest of the family's, the text tower's positions and the
    tokenizer's model_max_length (when that is a real number)."""
    limits = [family.max_tokens]
    text_cfg = getattr(config, "text_config", None)
    pos = getattr(text_cfg, "max_position_embeddings", None)
    if isinstance(pos, int) and pos > 0:
        limits.append(pos - 2 if family.name in ("altclip",) else pos)  # XLM-R reserves two positions
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 1_000_000:
        limits.append(tok_max)
    return min(limits)


def _accepted(fn, keys: tuple[str, ...]) -> tuple[str, ...]:
    params = inspect.signature(fn).parameters
    return tuple(k for k in keys if k in params)


def pooled(out):
    """transformers 5 returns an output object whose pooler_output is the projected feature;
    4.x returned the tensor itself."""
    if hasattr(out, "pooler_output") and out.pooler_output is not None:
        return out.pooler_output
    if isinstance(out, (tuple, list)):
        return out[0]
    return out


@contextlib.contextmanager
def _quiet_transformers():
    """No progress bars or fallback warnings on the user's terminal while loading."""
    import warnings

    from transformers.utils import logging as tlog

    verbosity = tlog.get_verbosity()
    bars = tlog.is_progress_bar_enabled()
    tlog.set_verbosity_error()
    tlog.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
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
            f"cannot load model {model_ref!r}: not in the local Hugging Face cache, and {host} "
            f"cannot be reached to download it ({e.strerror or e})", hint=how_to_supply(model_ref)) from None


def _pick_device(device: str | None) -> str:
    if device:
        return device
    env = os.environ.get("EMBEDSQL_DEVICE")
    if env:
        return env
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
