"""Combining the terms of one EMBED: normalise each, weighted sum, normalise again."""
from __future__ import annotations

from typing import Sequence

import numpy as np

ZERO_NORM = 1e-6


def normalize(v: np.ndarray) -> np.ndarray:
    """v / |v| as float32; raises ValueError for a (near) zero vector."""
    v = np.asarray(v, dtype=np.float64)
    n = float(np.linalg.norm(v))
    if not np.isfinite(n) or n < ZERO_NORM:
        raise ValueError("zero vector")
    return (v / n).astype(np.float32)


def combine(vectors: Sequence[np.ndarray], weights: Sequence[float] | None = None) -> np.ndarray:
    """normalize(sum(w_i * normalize(v_i))). With all weights 1 this is the tutorial's
    "normalise each, average, normalise". Raises ValueError when the result is (near) zero."""
    if not len(vectors):
        raise ValueError("no vectors to combine")
    weights = [1.0] * len(vectors) if weights is None else list(weights)
    if len(weights) != len(vectors):
        raise ValueError("one weight per vector")
    if len(vectors) == 1 and weights[0] > 0:
        return normalize(vectors[0])
    acc = np.zeros(np.asarray(vectors[0]).shape, dtype=np.float64)
    for v, w in zip(vectors, weights):
        acc += float(w) * normalize(v).astype(np.float64)
    # Relative threshold: terms that cancel leave float noise of order 1e-7 per unit of weight.
    scale = max(sum(abs(float(w)) for w in weights), 1.0)
    if float(np.linalg.norm(acc)) < ZERO_NORM * scale * 10:
        raise ValueError("the weighted terms cancel out")
    return normalize(acc)
