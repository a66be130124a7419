"""Fixtures for the embed tests: an Embedder on the tiny CLIP, and a direct transformers pipeline."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def embedder(tiny_clip, tmp_path):
    from embed import Embedder

    e = Embedder(str(tiny_clip), device="cpu", cache_dir=tmp_path / "vec-cache", runtime="torch")
    yield e
    e.close()


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


@pytest.fixture(scope="session")
def direct(tiny_clip) -> Direct:
    return Direct(tiny_clip)


def cos(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)
