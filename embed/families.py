"""The model families embedsql runs, and what differs between them.

Every family is a two-tower image-text model that transformers loads with `AutoModel` /
`AutoProcessor` and that has `get_text_features` / `get_image_features`. What differs:

| family | model_type | text padding (as trained) | text tokens | dim from | score |
|---|---|---|---|---|---|
| clip | clip | to the longest in the batch | 77 | projection_dim | softmax over cosine |
| siglip | siglip (SigLIP, SigLIP 2 fixed-resolution) | to max_length (64) | 64 | text hidden size | sigmoid |
| siglip2 | siglip2 (SigLIP 2 NaFlex) | to max_length (64) | 64 | text hidden size | sigmoid |
| chinese_clip | chinese_clip | to the longest | 52 | projection_dim | softmax over cosine |
| altclip | altclip | to the longest | 77 | projection_dim | softmax over cosine |

All of them compare by cosine: embedsql stores unit vectors, and `cosineDistance` = 1 - cosine.
SigLIP models are trained with a sigmoid loss: their probability that a text matches an image is
`sigmoid(logit_scale * cosine + logit_bias)`, a monotone function of the cosine, so ranking by
`cosineDistance` ranks by that probability; but the distances themselves sit in another range
than CLIP's (a matching pair has a cosine near 0.1-0.2, not 0.3), so thresholds do not carry over.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import ModelLoadError


@dataclass(frozen=True)
class Family:
    """One family. `padding`: "longest" or "max_length" (SigLIP's text tower pools the last
    token, so it must see the padding it was trained with); `max_tokens`: the text limit used
    when neither config nor tokenizer gives a smaller one; `dim_key`: where the dimension is read."""

    name: str
    model_types: tuple[str, ...]
    padding: str
    max_tokens: int
    dim_key: str  # "projection_dim" | "text_hidden"
    default_dim: int
    fast_images: bool = True  # fixed-size image preprocessing (the ONNX fast path can run it)

    def dim(self, config: dict) -> int:
        """The embedding dimension from a config.json dict (defaults filled in as transformers does).
        Raises ModelLoadError when the value is not a positive integer."""
        if self.dim_key == "projection_dim":
            value = config.get("projection_dim", self.default_dim)
        else:
            text = config.get("text_config") or {}
            value = text.get("projection_size") or text.get("hidden_size") or self.default_dim
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ModelLoadError(f"config.json gives the embedding dimension as {value!r}, not a positive integer")
        return value


FAMILIES = (
    Family("clip", ("clip",), "longest", 77, "projection_dim", 512),
    Family("siglip", ("siglip",), "max_length", 64, "text_hidden", 768),
    Family("siglip2", ("siglip2",), "max_length", 64, "text_hidden", 768, fast_images=False),
    Family("chinese_clip", ("chinese_clip",), "longest", 52, "projection_dim", 512),
    Family("altclip", ("altclip",), "longest", 77, "projection_dim", 768),
)
_BY_TYPE = {t: f for f in FAMILIES for t in f.model_types}


def family_of(config: dict, ref: str = "") -> Family:
    """The Family of a config.json dict; ModelLoadError naming the model type otherwise."""
    mt = config.get("model_type")
    fam = _BY_TYPE.get(mt) if isinstance(mt, str) else None
    if fam is None:
        known = ", ".join(sorted(_BY_TYPE))
        raise ModelLoadError(f"cannot use model {ref!r}: model_type {mt!r} is not an image-text model embedsql runs",
                             hint=f"use a model of type {known} (see README, Models)")
    fam.dim(config)  # validate early
    return fam


def by_name(name: str) -> Family:
    """The Family called `name` (KeyError otherwise)."""
    for f in FAMILIES:
        if f.name == name:
            return f
    raise KeyError(name)
