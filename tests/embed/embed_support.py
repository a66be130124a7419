"""Helpers for the embed tests: the reference CLIP pipeline straight from transformers."""
from __future__ import annotations

import numpy as np

from tests.models_support import Reference


class Direct(Reference):
    """The reference: CLIPProcessor + CLIPModel straight from transformers, as the tutorial does it
    (the shared `Reference` pipeline with CLIP's own classes: padding=True, truncation at 77
    tokens), one text or image at a time; each a unit vector, shape (dim,), float64."""

    def __init__(self, directory):
        from transformers import CLIPModel, CLIPProcessor

        super().__init__("clip", directory, model_class=CLIPModel, processor_class=CLIPProcessor)

    def text(self, text: str) -> np.ndarray:
        return self.texts([text])[0]

    def image(self, img) -> np.ndarray:
        return self.images([img])[0]
