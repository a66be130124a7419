"""Stable row ids: the first 8 bytes of SHA-1 of a key, as an unsigned 64-bit integer.

The key is what identifies an input across runs: an Unsplash `photo_id`, the absolute path of a
local image, the value of a CSV/parquet id column. Reruns compute the same id for the same input,
which is what makes ingestion resumable (inputs whose id is already in the table are skipped)."""
from __future__ import annotations

import hashlib
from typing import Iterable


def stable_id(key: str) -> int:
    """The row id of an input `key`: the first 8 bytes of SHA-1 of its UTF-8 text, big-endian, as an
    int in [0, 2**64). The same key always gives the same id."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big")


def stable_ids(keys: Iterable[str]):
    """numpy uint64 array of `stable_id` for many keys."""
    return _ids(k.encode("utf-8") for k in keys)


def vector_ids(vectors):
    """Row ids of vectors that come without a key (`ingest vectors` with no key column): of each
    row of `vectors` (rows x dim), its float32 bytes hashed as `stable_id` hashes a key, behind
    the prefix `vector:`, so one vector is one row wherever its file lies or whatever it is named.
    numpy uint64, one per row."""
    import numpy as np

    return _ids(b"vector:" + r.tobytes() for r in np.ascontiguousarray(vectors, dtype=np.float32))


def _ids(blobs: Iterable[bytes]):
    import numpy as np

    sha1 = hashlib.sha1
    buf = b"".join(sha1(b).digest()[:8] for b in blobs)
    return np.frombuffer(buf, dtype=">u8").astype(np.uint64)
