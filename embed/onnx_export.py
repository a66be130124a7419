"""Export a model's towers to ONNX for the fast path (embed.onnx_runtime). Needs torch, transformers
and the `onnx` package; runs once per model digest.

What one export directory (`<cache dir>/onnx/<digest>-v<FORMAT>/`) holds:
- `text.onnx`: the text tower and its projection; inputs as the family's tokenizer gives them
  (input_ids, attention_mask[, token_type_ids]), int64 (batch, seq); output `embeds` (batch, dim).
- `vision.onnx`: the vision tower and its projection; input `pixel_values` float32
  (batch, 3, H, W); output `embeds` (batch, dim). Families with variable image patches (SigLIP 2
  NaFlex) have no fast path and no export.
- `tokenizer.json`: the family's tokenizer as the `tokenizers` library saves it.
- `embed.json`: family, name, digest, dim, the text spec and the image spec (embed.preprocess).
Both graphs come from `torch.onnx.export(..., dynamo=False)` (the TorchScript exporter: no
onnxscript needed) with dynamic batch and sequence axes, opset 17. The directory is written
under a temporary name and renamed, so a crash never leaves a half export in place.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from .errors import ModelLoadError
from .preprocess import ImageSpec, TextSpec

FORMAT = 2  # bump when the exported files change
OPSET = 17


def export(torch_runtime, target: Path) -> None:
    """Export the (loaded or loadable) TorchRuntime's towers into `target`. Raises
    ModelLoadError naming the model and what failed."""
    try:
        import onnx  # noqa: F401  (the TorchScript exporter serialises through it)
        import torch
    except ImportError as e:
        raise ModelLoadError(f"exporting to ONNX needs onnx and onnxruntime ({e.name} is missing)",
                             hint="pip install 'embedsql[onnx]'") from None
    rt = torch_runtime
    rt.load()
    if not rt.family.fast_images:
        raise ModelLoadError(f"model {rt.model_ref!r} ({rt.family.name}) has no ONNX fast path: its image "
                             "inputs vary per image", hint="it runs on the torch runtime (the default picks it)")
    model = rt.model
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    try:
        tok = getattr(rt.processor, "tokenizer", None)
        text_spec = TextSpec(
            max_tokens=rt.max_tokens, padding=rt.family.padding,
            pad_id=int(tok.pad_token_id if tok.pad_token_id is not None else 0),
            pad_token=str(tok.pad_token or ""), pad_side=str(getattr(tok, "padding_side", "right") or "right"),
            inputs=tuple(k for k in rt._text_keys if k in ("input_ids", "attention_mask", "token_type_ids")
                         and (k == "input_ids" or k in getattr(tok, "model_input_names", ()))),
        )
        _save_tokenizer(tok, tmp / "tokenizer.json", rt.model_ref)
        image_spec = ImageSpec.from_processor(rt.processor.image_processor)
        text, vision = _towers(model, text_spec.inputs)
        n = 7
        sample = tuple(torch.ones((2, n), dtype=torch.long) if k != "token_type_ids"
                       else torch.zeros((2, n), dtype=torch.long) for k in text_spec.inputs)
        size = _pixel_size(image_spec, model)
        pixels = torch.zeros((2, 3, size[0], size[1]), dtype=torch.float32)
        cpu = next(model.parameters()).device.type == "cpu"
        if not cpu:
            model.to("cpu")
        with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            axes = {k: {0: "batch", 1: "seq"} for k in text_spec.inputs}
            torch.onnx.export(text, sample, str(tmp / "text.onnx"), dynamo=False, opset_version=OPSET,
                              input_names=list(text_spec.inputs), output_names=["embeds"],
                              dynamic_axes={**axes, "embeds": {0: "batch"}})
            torch.onnx.export(vision, (pixels,), str(tmp / "vision.onnx"), dynamo=False, opset_version=OPSET,
                              input_names=["pixel_values"], output_names=["embeds"],
                              dynamic_axes={"pixel_values": {0: "batch"}, "embeds": {0: "batch"}})
        if not cpu:
            model.to(rt.device)
        ident = rt.identity
        meta = {"format": FORMAT, "family": rt.family.name, "name": ident.name, "digest": ident.digest,
                "dim": ident.dim, "text": text_spec.to_json(), "image": image_spec.to_json(),
                "torch": torch.__version__, "opset": OPSET}
        (tmp / "embed.json").write_text(json.dumps(meta, indent=1))
        try:
            os.replace(tmp, target)  # an empty leftover target is replaced; a complete one wins
        except OSError:
            if not (target / "embed.json").is_file():
                raise
    except ModelLoadError:
        raise
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelLoadError(f"cannot export model {rt.model_ref!r} to ONNX: {first}",
                             hint="use the torch runtime (--runtime torch or EMBEDSQL_RUNTIME=torch)") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _save_tokenizer(tok, path: Path, ref: str) -> None:
    fast = getattr(tok, "backend_tokenizer", None) or getattr(tok, "_tokenizer", None)
    if fast is None:  # a SentencePiece-only tokenizer: convert it the way transformers does
        try:
            from transformers.convert_slow_tokenizer import convert_slow_tokenizer

            fast = convert_slow_tokenizer(tok)
        except Exception:  # noqa: BLE001 - transformers has no converter for it
            raise ModelLoadError(f"cannot export model {ref!r} to ONNX: its tokenizer ({type(tok).__name__}) "
                                 "has no `tokenizers` form", hint="it runs on the torch runtime "
                                 "(the default picks it)") from None
    from tokenizers import Tokenizer

    copy = Tokenizer.from_str(fast.to_str())
    copy.no_padding()
    copy.no_truncation()
    copy.save(str(path))


def _pixel_size(spec: ImageSpec, model) -> tuple[int, int]:
    if spec.crop:
        return spec.crop["height"], spec.crop["width"]
    if spec.resize and "height" in spec.resize:
        return spec.resize["height"], spec.resize["width"]
    size = int(model.config.vision_config.image_size)
    return size, size


def _towers(model, text_inputs: tuple[str, ...]):
    import torch

    from .torch_runtime import pooled

    class Text(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *args):
            return pooled(self.m.get_text_features(**dict(zip(text_inputs, args))))

    class Vision(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, pixel_values):
            return pooled(self.m.get_image_features(pixel_values=pixel_values))

    return Text(model).eval(), Vision(model).eval()


def quantize(src: Path, dst: Path) -> None:
    """Dynamic int8 quantisation of the MatMul weights (onnxruntime.quantization), atomically."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # "consider pre-processing" advice on the root logger
    tmp = dst.with_name(f".{dst.name}.{os.getpid()}")
    try:
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        os.replace(tmp, dst)
    finally:
        root.setLevel(level)
        tmp.unlink(missing_ok=True)
