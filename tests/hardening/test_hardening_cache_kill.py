"""SIGKILL while the vector cache is being written: the next Embedder on the same cache dir works,
hits what was committed and recomputes the rest. (A truncated or garbage cache file is covered by
tests/embed/test_embed_cache.py::test_corrupt_cache_file_is_rebuilt and
test_wrong_blob_length_is_a_miss: not repeated here.)"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from embed import Embedder, EmbedQuery

ROOT = Path(__file__).resolve().parents[2]

WRITER = r"""
import sys
from pathlib import Path
from embed import Embedder, EmbedQuery
e = Embedder(sys.argv[1], cache_dir=Path(sys.argv[2]))
batch = int(sys.argv[3])
i = 0
while True:
    qs = [EmbedQuery.of(f"kill test text {i + k}") for k in range(batch)]
    e.embed(qs)               # returns after the cache rows are committed
    i += batch
    print(i, flush=True)      # texts 0..i-1 are committed
"""


def _run_and_kill(tiny_clip, cache: Path, batch: int, after_lines: int, extra_delay: float) -> int:
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(tiny_clip), str(cache), str(batch)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    committed = 0
    try:
        deadline = time.monotonic() + 120
        while committed < after_lines * batch and time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                raise AssertionError("writer died: " + p.stderr.read())
            committed = int(line)
        time.sleep(extra_delay)   # land somewhere inside a later embed + cache write
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
    assert committed >= after_lines * batch
    return committed


def test_kill_9_during_cache_writes_then_reuse(tiny_clip, tmp_path):
    cache = tmp_path / "cache"
    committed = 0
    # two kills at different points (small and large write batches), same cache dir
    for batch, lines, delay in ((1, 30, 0.013), (200, 1, 0.0)):
        committed = max(committed, _run_and_kill(tiny_clip, cache, batch, lines, delay))
    assert committed >= 200
    # the WAL/SHM left by the killed process are there; a new process-equivalent reader works
    e = Embedder(str(tiny_clip), cache_dir=cache)
    total = committed + 300
    queries = [EmbedQuery.of(f"kill test text {i}") for i in range(total)]
    vecs = e.embed(queries)
    st = e.last_stats()
    assert st.hits >= committed, (st.hits, committed)       # everything committed is a hit
    assert st.hits + st.misses == total and st.misses >= 300  # the rest is recomputed
    # hits are the right vectors: equal to a fresh computation without any cache
    fresh = Embedder(str(tiny_clip), cache_dir=tmp_path / "fresh")
    sample = [0, committed // 2, committed - 1, total - 1]
    again = fresh.embed([queries[i] for i in sample])
    for i, v in zip(sample, again):
        assert float(np.dot(vecs[i], v)) > 0.9999
    # and the cache keeps working for writes after the kills
    e.close()
    e2 = Embedder(str(tiny_clip), cache_dir=cache)
    e2.embed(queries[-10:])
    assert e2.last_stats().hits == 10
    e2.close()
