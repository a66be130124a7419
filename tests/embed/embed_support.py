"""Helpers for the embed tests: the reference CLIP pipeline straight from transformers."""
from __future__ import annotations

import numpy as np


class Direct:
    """The reference: CLIPProcessor + CLIPModel straight from transformers, as the tutorial does it."""

    def __init__(self, directory):
        import torch
        from transformers import CLIPModel, CLIPProcessor

        self.torch = torch
        self.model = CLIPModel.from_pretrained(directory).eval()
        self.processor = CLIPProcessor.from_pretrained(directory)

    @staticmethod
    def _pooled(out):
        return out.pooler_output if hasattr(out, "pooler_output") else out

    def text(self, text: str) -> np.ndarray:
        inputs = self.processor(text=[text], return_tensors="pt", padding=True, truncation=True, max_length=77)
        with self.torch.no_grad():
            v = self._pooled(self.model.get_text_features(**inputs))[0].numpy().astype(np.float64)
        return v / np.linalg.norm(v)

    def image(self, img) -> np.ndarray:
        inputs = self.processor(images=[img.convert("RGB")], return_tensors="pt")
        with self.torch.no_grad():
            v = self._pooled(self.model.get_image_features(**inputs))[0].numpy().astype(np.float64)
        return v / np.linalg.norm(v)
