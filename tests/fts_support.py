"""Shared helpers for the full-text (TextSearch / HybridSearch) tests and benchmark: a
deterministic corpus of photo descriptions written for the tests, and the reference tokenizer.

The corpus mixes what real descriptions hold: stop words, capitals, punctuation (ASCII and
typographic quotes, dashes, ellipses), accented Latin, Greek, Cyrillic, CJK, emoji, digits, and
the odd long token. `reference_tokens` is an independent Python statement of the tokenization
embedsql documents for MyScale's default FTS tokenizer (README, "Keywords and vectors").
"""
from __future__ import annotations

import re

import numpy as np

SUBJECTS = [
    "tram", "bicycle", "dog", "cat", "horse", "mountain", "lake", "bridge", "cathedral", "market",
    "beach", "forest", "river", "harbour", "lighthouse", "train", "station", "street", "garden",
    "waterfall", "desert", "glacier", "castle", "village", "skyline", "boat", "kite", "umbrella",
    "coffee", "croissant", "café", "plaza", "fjord", "volcano", "temple", "pagoda", "camel", "fox",
]
ADJECTIVES = [
    "red", "blue", "green", "yellow", "golden", "misty", "quiet", "busy", "old", "ancient", "modern",
    "tiny", "huge", "snowy", "rainy", "sunny", "dark", "bright", "wooden", "rusty", "naïve", "crème",
]
PLACES = [
    "Lisbon", "Zürich", "São Paulo", "Kraków", "Reykjavík", "Ελλάδα", "Москва", "東京", "Montréal",
    "İstanbul", "Düsseldorf", "Oslo", "Kyoto", "Marrakesh", "Cádiz", "Ljubljana", "Århus",
]
VERBS = ["crossing", "waiting near", "resting beside", "passing", "overlooking", "reflected in",
         "parked by", "climbing", "drifting past"]
EXTRAS = [
    "", "", "", " at dusk", " in the early morning", ", shot on film", " — a long exposure",
    " (2019)", "!", "…", " 🌅", " #travel", " with the “old” town behind", " l’été", " x2",
    " under a 3-star sky", " near gate 7B", " supercalifragilisticexpialidociouslyextraordinarily",
]
STOP = ["the", "a", "an", "of", "and", "in", "on", "with", "to", "is"]


def corpus(n: int, seed: int = 7) -> list[str]:
    """`n` photo descriptions (deterministic for a seed): 4-40 words each."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        parts = []
        for _ in range(int(rng.integers(1, 4))):
            adj = ADJECTIVES[rng.integers(len(ADJECTIVES))]
            subj = SUBJECTS[rng.integers(len(SUBJECTS))]
            if rng.random() < 0.15:
                adj = adj.upper()
            elif rng.random() < 0.3:
                adj = adj.capitalize()
            clause = f"{STOP[rng.integers(len(STOP))]} {adj} {subj} {VERBS[rng.integers(len(VERBS))]} " \
                     f"{STOP[rng.integers(len(STOP))]} {SUBJECTS[rng.integers(len(SUBJECTS))]}"
            if rng.random() < 0.5:
                clause += f" in {PLACES[rng.integers(len(PLACES))]}"
            clause += EXTRAS[rng.integers(len(EXTRAS))]
            parts.append(clause)
        sep = [". ", "; ", ", and ", " - ", "… "][rng.integers(5)]
        text = sep.join(parts)
        out.append(text[0].upper() + text[1:])
    return out


_WORD = re.compile(r"[^\W_]+")


def reference_tokens(text: str, length_limit: int = 40) -> list[str]:
    """The documented tokenization, written independently of the SQL: maximal runs of Unicode
    letters and digits (`str.isalnum`), tokens of `length_limit` UTF-8 bytes or more dropped,
    then each token lower-cased (Python's `str.lower`)."""
    return [t.lower() for t in _WORD.findall(text) if len(t.encode("utf-8")) < length_limit]


def clustered_vectors(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    """CLIP-like unit vectors: a narrow cone (shared mean direction), low-rank clustered
    structure plus noise. Float32, shape (n, d)."""
    rng = np.random.default_rng(seed)
    mean = rng.standard_normal(d).astype(np.float32)
    basis = rng.standard_normal((8, d)).astype(np.float32)
    k = max(4, n // 200)
    centers = rng.standard_normal((k, 8)).astype(np.float32) @ basis
    x = 2.5 * mean + centers[rng.integers(0, k, n)] + 0.6 * rng.standard_normal((n, d)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
