"""Model inputs without transformers: the fast path's tokenizer and image preprocessing.

Both are read from the files the ONNX export writes (embed.onnx_export), which were taken from the
family's own loaded processor, so they do what it does:

- `TextEncoder`: the processor's tokenizer as a `tokenizers.Tokenizer` (tokenizer.json), with the
  family's padding (to the longest, or to max_length), side, pad id and truncation.
- `ImagePreprocessor`: Pillow resize (shortest edge or fixed size, the processor's resampling
  filter), centre crop (zero padding when the image is smaller, as transformers does), rescale,
  normalise, channels first, float32; the steps and numbers of the processor's config.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image


@dataclass(frozen=True)
class TextSpec:
    """How a family tokenizes: `max_tokens` (truncation length), `padding` ("longest" |
    "max_length"), `pad_id`, `pad_token`, `pad_side` ("right" | "left"), `inputs` (names the text
    graph takes: input_ids, attention_mask, token_type_ids)."""

    max_tokens: int
    padding: str
    pad_id: int
    pad_token: str
    pad_side: str
    inputs: tuple[str, ...]

    def to_json(self) -> dict:
        """As stored in embed.json."""
        return {"max_tokens": self.max_tokens, "padding": self.padding, "pad_id": self.pad_id,
                "pad_token": self.pad_token, "pad_side": self.pad_side, "inputs": list(self.inputs)}

    @classmethod
    def from_json(cls, d: dict) -> "TextSpec":
        """From embed.json's "text" entry (KeyError / ValueError when malformed)."""
        return cls(int(d["max_tokens"]), str(d["padding"]), int(d["pad_id"]), str(d["pad_token"]),
                   str(d["pad_side"]), tuple(d["inputs"]))


class TextEncoder:
    """tokenizer.json + TextSpec -> the text graph's int64 inputs, shapes (batch, seq)."""

    def __init__(self, tokenizer_json: str, spec: TextSpec):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(tokenizer_json)
        tok.no_padding()
        tok.no_truncation()
        tok.enable_truncation(max_length=spec.max_tokens)
        tok.enable_padding(direction=spec.pad_side, pad_id=spec.pad_id, pad_token=spec.pad_token,
                           length=spec.max_tokens if spec.padding == "max_length" else None)
        self.tokenizer = tok
        self.spec = spec

    def __call__(self, texts: Sequence[str]) -> dict:
        import numpy as np

        encs = self.tokenizer.encode_batch(list(texts))
        out = {}
        if "input_ids" in self.spec.inputs:
            out["input_ids"] = np.array([e.ids for e in encs], dtype=np.int64)
        if "attention_mask" in self.spec.inputs:
            out["attention_mask"] = np.array([e.attention_mask for e in encs], dtype=np.int64)
        if "token_type_ids" in self.spec.inputs:
            out["token_type_ids"] = np.array([e.type_ids for e in encs], dtype=np.int64)
        return out


@dataclass(frozen=True)
class ImageSpec:
    """An image processor's steps: `resize` ({"shortest_edge": n} or {"height": h, "width": w} or
    None), `resample` (a PIL filter number), `crop` ({"height", "width"} or None), `rescale`
    (factor or None), `mean` / `std` (per channel, or None), `convert_rgb`."""

    resize: dict | None
    resample: int
    crop: dict | None
    rescale: float | None
    mean: tuple[float, ...] | None
    std: tuple[float, ...] | None
    convert_rgb: bool = True

    def to_json(self) -> dict:
        """As stored in embed.json."""
        return {"resize": self.resize, "resample": self.resample, "crop": self.crop, "rescale": self.rescale,
                "mean": list(self.mean) if self.mean else None, "std": list(self.std) if self.std else None,
                "convert_rgb": self.convert_rgb}

    @classmethod
    def from_json(cls, d: dict) -> "ImageSpec":
        """From embed.json's "image" entry."""
        return cls(d.get("resize"), int(d.get("resample", 3)), d.get("crop"), d.get("rescale"),
                   tuple(d["mean"]) if d.get("mean") else None, tuple(d["std"]) if d.get("std") else None,
                   bool(d.get("convert_rgb", True)))

    @classmethod
    def from_processor(cls, ip) -> "ImageSpec":
        """From a loaded transformers image processor (its resolved settings). ValueError when it
        does something this class does not (variable patches, say)."""
        def plain(size):
            if size is None:
                return None
            items = dict(size.items()) if hasattr(size, "items") else dict(vars(size))
            return {k: int(v) for k, v in items.items() if v is not None and k in
                    ("shortest_edge", "height", "width", "longest_edge")}

        resize = plain(getattr(ip, "size", None)) if getattr(ip, "do_resize", True) else None
        if resize and "longest_edge" in resize:
            raise ValueError("resizing with a longest edge is not supported by the fast path")
        if resize and not ("shortest_edge" in resize or {"height", "width"} <= set(resize)):
            raise ValueError(f"unsupported resize {resize}")
        crop = plain(getattr(ip, "crop_size", None)) if getattr(ip, "do_center_crop", False) else None
        resample = getattr(ip, "resample", 3)
        resample = int(getattr(resample, "value", resample)) if resample is not None else 2
        rescale = float(ip.rescale_factor) if getattr(ip, "do_rescale", True) else None
        norm = getattr(ip, "do_normalize", True)
        mean = tuple(float(x) for x in _seq(ip.image_mean)) if norm else None
        std = tuple(float(x) for x in _seq(ip.image_std)) if norm else None
        return cls(resize, resample, crop, rescale, mean, std, bool(getattr(ip, "do_convert_rgb", True)))


def _seq(v):
    return v if isinstance(v, (list, tuple)) else [v, v, v]


class ImagePreprocessor:
    """PIL images -> (batch, 3, H, W) float32 pixel values, as the family's processor makes them."""

    def __init__(self, spec: ImageSpec):
        self.spec = spec

    def one(self, image: "Image.Image") -> "np.ndarray":
        """One PIL image -> (3, H, W) float32, as the family's processor makes it."""
        import numpy as np

        s = self.spec
        im = image.convert("RGB") if s.convert_rgb and image.mode != "RGB" else image
        if s.resize:
            w, h = im.size
            if "shortest_edge" in s.resize:
                short, long = (w, h) if w <= h else (h, w)
                new_short, new_long = s.resize["shortest_edge"], int(s.resize["shortest_edge"] * long / short)
                nw, nh = (new_short, new_long) if w <= h else (new_long, new_short)
            else:
                nw, nh = s.resize["width"], s.resize["height"]
            if (nw, nh) != (w, h):
                im = im.resize((nw, nh), resample=s.resample)
        arr = np.asarray(im, dtype=np.uint8)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        arr = arr.transpose(2, 0, 1)  # channels first, like transformers' PIL backend
        if s.crop:
            arr = _center_crop(arr, s.crop["height"], s.crop["width"])
        x = arr.astype(np.float32)
        if s.rescale is not None:
            x = x * np.float32(s.rescale)
        if s.mean is not None and s.std is not None:
            mean = np.asarray(s.mean, dtype=np.float32)[:, None, None]
            std = np.asarray(s.std, dtype=np.float32)[:, None, None]
            x = (x - mean) / std
        return x.astype(np.float32)

    def __call__(self, images: Sequence["Image.Image"]) -> "np.ndarray":
        import numpy as np

        return np.stack([self.one(im) for im in images]).astype(np.float32)


def _center_crop(arr, ch: int, cw: int):
    """transformers' center_crop: offsets (h - ch) // 2, zero padding when the image is smaller."""
    import numpy as np

    _, h, w = arr.shape
    top, left = (h - ch) // 2, (w - cw) // 2
    if top >= 0 and left >= 0:
        return arr[:, top:top + ch, left:left + cw]
    nh, nw = max(ch, h), max(cw, w)
    out = np.zeros((arr.shape[0], nh, nw), dtype=arr.dtype)
    tp, lp = -(-(nh - h) // 2), -(-(nw - w) // 2)
    out[:, tp:tp + h, lp:lp + w] = arr
    top, left = (nh - ch) // 2, (nw - cw) // 2
    return out[:, top:top + ch, left:left + cw]
