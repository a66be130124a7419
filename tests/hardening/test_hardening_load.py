"""Load: EMBED queries back to back (distinct texts, so the model runs every time) through the Python
API and through one CLI process running a script, with bounded memory and no descriptor leak.

Bounds (see RESULTS.md): RSS after all queries minus RSS after the first 10% < 150 MB. A leak of
one 512-d float32 vector literal per query (~6 KB of text) would add ~6 MB per 1,000 queries, so
150 MB only catches real leaks (a retained result, tensor or connection per query: a tiny-CLIP
forward pass allocates ~1-5 MB, a chdb client ~10 MB) while leaving room for allocator noise and
the growth of caches that are bounded by design (the 4,096-entry vector LRU = 8 MB). File
descriptors: at most 3 more at the end (the sqlite cache, the lock file, chdb's logs may open
once); fewer is no leak (other tests' leftovers in the same pytest worker close meanwhile)."""
from __future__ import annotations

import gc
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sqlext

ROOT = Path(__file__).resolve().parents[2]
SETUP = ["CREATE TABLE t (id UInt32, v Array(Float32)) ENGINE = MergeTree ORDER BY id",
         "INSERT INTO t SELECT number, arrayMap(i -> toFloat32(sin(number + i)), range(512)) FROM numbers(200)"]


def _status(pid: int | str = "self") -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) // 1024  # MB
    return out


def _fds(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def query_text(i: int) -> str:
    return (f"SELECT id, cosineDistance(v, EMBED('load test query number {i}, a red car')) AS d "
            f"FROM t ORDER BY d LIMIT 3")


def api_load(n: int, tiny_clip, tmp_path) -> dict:
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db", model=str(tiny_clip))
    for sql in SETUP:
        s.command(sql)
    marks = {}
    t0 = time.monotonic()
    with s.unit_of_work():
        for i in range(n):
            r = s.query(query_text(i))
            assert len(r.rows) == 3 and r.stats.cache_misses == 1
            if i + 1 == max(1, n // 10):
                gc.collect()  # files an earlier test left to the collector close now, not mid-count
                marks["rss_early"], marks["fds_early"] = _status()["VmRSS"], _fds()
    marks["seconds"] = time.monotonic() - t0
    gc.collect()
    marks["rss_end"], marks["fds_end"] = _status()["VmRSS"], _fds()
    marks["hwm"] = _status()["VmHWM"]
    s.close()
    return marks


def _check_api(m: dict):
    print(f"\nAPI load: {m}")
    assert m["rss_end"] - m["rss_early"] < 150, m
    # a leak grows the count. The count is the whole process's, and a pytest worker also holds
    # what earlier tests left (chdb's threads and files of engines they closed), some of which
    # closes while this test runs: in one CI run the count fell by 16 (878 -> 862). A fall is not
    # a leak of this test's queries.
    assert m["fds_end"] - m["fds_early"] <= 3, m


def test_load_api_100_queries(tiny_clip, tmp_path):
    _check_api(api_load(100, tiny_clip, tmp_path))


@pytest.mark.slow
def test_load_api_1000_queries(tiny_clip, tmp_path):
    _check_api(api_load(1000, tiny_clip, tmp_path))


def cli_load(n: int, tiny_clip, tmp_path) -> dict:
    dsn = f"chdb://{tmp_path}/db-cli"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    setup = subprocess.run([sys.executable, "-m", "tui.cli", "query", "--dsn", dsn, ";\n".join(SETUP)],
                           capture_output=True, text=True, timeout=120, env=env, cwd=ROOT)
    assert setup.returncode == 0, setup.stderr
    script = tmp_path / f"load{n}.sql"
    script.write_text(";\n".join(query_text(i) for i in range(n)) + ";\n")
    p = subprocess.Popen([sys.executable, "-m", "tui.cli", "query", "-f", str(script), "--dsn", dsn,
                          "--model", str(tiny_clip), "--format", "tsv"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
    samples = []  # (rss MB, fds) while it runs
    import threading

    out_chunks = []
    reader = threading.Thread(target=lambda: out_chunks.append(p.stdout.read()), daemon=True)
    reader.start()
    t0 = time.monotonic()
    while p.poll() is None and time.monotonic() - t0 < 900:
        try:
            samples.append((_status(p.pid)["VmRSS"], _fds(p.pid)))
        except (OSError, KeyError):
            pass
        time.sleep(0.1)
    if p.poll() is None:
        p.kill()
    err = p.stderr.read().decode()
    reader.join(10)
    seconds = time.monotonic() - t0
    assert p.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    rows = [line for line in b"".join(out_chunks).decode().splitlines() if line and line[0].isdigit()]
    assert len(rows) == 3 * n
    peak_child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    return {"seconds": seconds, "samples": samples, "peak_rss_children": peak_child,
            "rss_max": max(s[0] for s in samples) if samples else None,
            "fds_max": max(s[1] for s in samples) if samples else None}


def test_load_cli_100_statements(tiny_clip, tmp_path):
    m = cli_load(100, tiny_clip, tmp_path)
    print(f"\nCLI load 100: {m['seconds']:.1f} s, RSS max {m['rss_max']} MB, fds max {m['fds_max']}")
    assert m["rss_max"] is not None and m["rss_max"] < 2000


@pytest.mark.slow
def test_load_cli_1000_statements(tiny_clip, tmp_path):
    m = cli_load(1000, tiny_clip, tmp_path)
    s = m["samples"]
    # skip the start-up (imports, model load): compare the sample at 10% of the run with the end
    early = s[len(s) // 10]
    late = max(x[0] for x in s[-5:])
    # descriptors: the sqlite cache (db, -wal, -shm) and chdb open lazily in the first part of the
    # run; a per-query leak would add ~750 between the quarter mark and the end
    fds_quarter = max(x[1] for x in s[len(s) // 10:len(s) // 4])
    fds_series = [x[1] for x in s[:: max(1, len(s) // 12)]]
    print(f"\nCLI load 1000: {m['seconds']:.1f} s, RSS early {early[0]} MB, late {late} MB, "
          f"max {m['rss_max']} MB, fds at 10-25% {fds_quarter}, max {m['fds_max']}, series {fds_series}")
    assert late - early[0] < 150, m["rss_max"]
    assert m["fds_max"] - fds_quarter <= 5, fds_series
