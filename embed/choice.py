"""Picking the model runtime: `make_runtime(kind, model)`.

- "torch": transformers on torch, any family (embed.torch_runtime).
- "onnx" / "onnx-fp32" / "onnx-int8": ONNX Runtime (embed.onnx_runtime); a missing export is
  made on load.
- "auto" (the default): the ONNX fast path when onnxruntime and tokenizers are installed and an
  export of this exact model (by digest) is cached, torch otherwise. The runtime's
  `choice_reason` says which and why; `embedsql query --explain` prints it.
"""
from __future__ import annotations

import importlib.util

from .identity import resolve_model
from .runtime import ModelRuntime, runtime_setting


def fast_path_available() -> str | None:
    """None when the ONNX fast path's libraries are installed, else what is missing."""
    missing = [m for m in ("onnxruntime", "tokenizers", "numpy") if importlib.util.find_spec(m) is None]
    if missing:
        return f"{', '.join(missing)} not installed (pip install 'embedsql[onnx]')"
    return None


def make_runtime(kind: str | None = None, model: str | None = None, *, device: str | None = None,
                 cache_dir=None) -> ModelRuntime:
    """The runtime named by `kind` (see the module docstring). "auto" never raises for a missing
    export: it falls back to torch and records why in `choice_reason`."""
    name = runtime_setting(kind)
    ref = resolve_model(model)
    if name == "torch":
        from .torch_runtime import TorchRuntime

        rt = TorchRuntime(ref, device=device)
        rt.choice_reason = "torch: asked for (runtime=torch)"
        return rt
    if name in ("onnx", "onnx-fp32", "onnx-int8"):
        from .onnx_runtime import OnnxRuntime

        rt = OnnxRuntime(ref, precision=name.partition("-")[2] or None, device=device, cache_dir=cache_dir)
        rt.choice_reason = f"{rt.kind}: asked for (runtime={name})"
        return rt
    # auto
    reason = fast_path_available()
    if reason is None and device not in (None, "cpu"):
        reason = f"the ONNX fast path runs on the CPU, and device {device!r} was asked for"
    if reason is None:
        from .onnx_runtime import OnnxRuntime, export_status

        reason = export_status(ref, cache_dir=cache_dir)
        if reason is None:
            rt = OnnxRuntime(ref, device=device, cache_dir=cache_dir)
            rt.choice_reason = f"{rt.kind} (fast path): an ONNX export of this model is cached"
            return rt
    from .torch_runtime import TorchRuntime

    rt = TorchRuntime(ref, device=device)
    rt.choice_reason = f"torch: no fast path, because {reason}"
    return rt
