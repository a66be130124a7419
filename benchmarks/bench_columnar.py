"""Columnar results benchmark (not a test): `Session.query_arrow` / `query_np` / `query_df` /
`query_arrow_stream` on the embedded engine, each beside a floor measured in the same run, as
ratios (the two alternate iteration by iteration: noise on a shared machine hits both alike).

1. `Session.query_arrow` of N rows (id, a string, a 512-d vector), floor: clickhouse-connect's own
   `client.query_arrow` of the same SQL on the same engine (no embedsql: no prepare step, lists
   of floats). Target <= 1.3x: the prepare step and the fixed-size-list conversion cost little.
2. `Session.query_np` of the vectors as an (N, 512) float32 matrix, same floor. Target <= 1.3x.
3. `Session.query_df`, same floor. Target <= 2x.
4. `Session.query` (rows of Python tuples, vectors as lists of floats) against `query_arrow`:
   why the columnar methods exist (a ratio, no target).
5. Peak memory (resident memory sampled every 5 ms, over a process that has opened the engine and
   imported everything) of reading
   N rows with `query_arrow_stream` (batches of 8192 rows, dropped as read), floor: the same rows
   with `query_arrow` (the whole table held). Each in a new process. Target: <= 0.5x.

Vectors are clustered unit vectors (`benchmarks.run.make_vectors`: one center per 250 rows,
cosine to the center ~0.6), as CLIP's are.

    python -m benchmarks.bench_columnar [--smoke] [--rows N] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQL = "SELECT id, photo_id, photo_embed FROM photos"


def _fill(dsn: str, n: int) -> None:
    import sqlext
    from benchmarks.run import make_vectors

    s = sqlext.connect(dsn)
    s.command("CREATE TABLE photos (id UInt64, photo_id String, photo_embed Array(Float32), "
              "CONSTRAINT c CHECK length(photo_embed) = 512) ENGINE = MergeTree ORDER BY id")
    X, _ = make_vectors(n)
    import pyarrow as pa

    vectors = pa.FixedSizeListArray.from_arrays(pa.array(X.reshape(-1)), 512).cast(pa.list_(pa.float32()))
    s.insert_arrow("photos", pa.table({"id": pa.array(range(n), pa.uint64()),
                                       "photo_id": [f"photo-{i}" for i in range(n)],
                                       "photo_embed": vectors}))
    s.close()


def _p50(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def _ab(fa, fb, n):
    """p50 ms of `fa` and of `fb`, timed alternately `n` times (benchmarks.floor.ab)."""
    from benchmarks.floor import ab

    ta, tb = ab(fa, fb, n)
    return _p50(ta), _p50(tb)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child(dsn: str, mode: str) -> dict:
    """Runs in a new process: the growth of resident memory (sampled every 5 ms) while reading
    the table one way, over the process with the engine open and everything imported."""
    import threading

    import pyarrow  # noqa: F401

    import sqlext

    s = sqlext.connect(dsn)
    with s.unit_of_work():
        s.query_arrow("SELECT 1")
        base = _rss_mb()
        peak = [base]
        done = threading.Event()

        def sample():
            while not done.wait(0.005):
                peak[0] = max(peak[0], _rss_mb())

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        rows = 0
        if mode == "stream":
            with s.query_arrow_stream(SQL, batch_rows=8192) as stream:
                for batch in stream:
                    rows += batch.num_rows
        else:
            table = s.query_arrow(SQL)
            rows = table.num_rows
        done.set()
        t.join()
        peak[0] = max(peak[0], _rss_mb())
    s.close()
    return {"rows": rows, "extra_mb": peak[0] - base}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true", help="small sizes: proves it runs, numbers mean nothing")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--child", nargs=2, metavar=("DSN", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(_child(*args.child)))
        return 0
    n = args.rows or (2_000 if args.smoke else 100_000)
    iters = 3 if args.smoke else 7
    tmp = Path(tempfile.mkdtemp(prefix="embedsql-bench-columnar-"))
    os.environ.setdefault("EMBEDSQL_DATA_DIR", str(tmp / "data"))
    os.environ.setdefault("EMBEDSQL_CACHE_DIR", str(tmp / "cache"))
    dsn = f"chdb://{tmp}/db"
    _fill(dsn, n)

    import clickhouse_connect

    import sqlext

    figs = []

    def fig(fid, name, value, floor_name, floor, target, met):
        f = {"id": fid, "name": name, "value_ms": round(value, 2), "floor": floor_name,
             "floor_ms": round(floor, 2), "ratio": round(value / floor, 3), "target": target, "met": met}
        figs.append(f)
        print(f"[{fid}] {name}: {f['value_ms']} ms | floor {floor_name} {f['floor_ms']} ms | ratio {f['ratio']} "
              f"| target {target} | {'MET' if met else 'not met' if met is False else '-'}", flush=True)

    s = sqlext.connect(dsn)
    with s.unit_of_work():  # the engine stays open: the floor's client shares it
        raw = clickhouse_connect.get_client(dsn=f"chdb://{tmp}/db")
        floor = lambda: raw.query_arrow(SQL)  # noqa: E731
        a, f = _ab(lambda: s.query_arrow(SQL), floor, iters)
        fig("c1", f"Session.query_arrow, {n} rows x 512-d", a, "client.query_arrow", f, "<= 1.3x", a / f <= 1.3)
        m, f = _ab(lambda: s.query_np("SELECT photo_embed FROM photos"), floor, iters)
        fig("c2", f"Session.query_np -> ({n}, 512) float32", m, "client.query_arrow", f, "<= 1.3x", m / f <= 1.3)
        d, f = _ab(lambda: s.query_df(SQL), floor, iters)
        fig("c3", "Session.query_df", d, "client.query_arrow", f, "<= 2x", d / f <= 2)
        rows, a = _ab(lambda: s.query(SQL), lambda: s.query_arrow(SQL), max(2, iters // 2))
        fig("c4", "Session.query (Python rows)", rows, "Session.query_arrow", a, "(no target)", None)
        raw.close()
    s.close()

    def child(mode):
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_columnar", "--child", dsn, mode],
                             capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        if out.returncode:
            raise RuntimeError(out.stderr[-2000:])
        return json.loads(out.stdout.strip().splitlines()[-1])

    st, tb = child("stream"), child("table")
    ratio = st["extra_mb"] / tb["extra_mb"] if tb["extra_mb"] else None
    figs.append({"id": "c5", "name": f"query_arrow_stream peak memory, {n} rows", "value_mb": round(st["extra_mb"], 1),
                 "floor": "query_arrow (whole table)", "floor_mb": round(tb["extra_mb"], 1),
                 "ratio": round(ratio, 3) if ratio else None, "target": "<= 0.5x",
                 "met": ratio is not None and ratio <= 0.5, "rows": [st["rows"], tb["rows"]]})
    print(f"[c5] stream peak +{st['extra_mb']:.1f} MB | floor query_arrow +{tb['extra_mb']:.1f} MB | "
          f"ratio {ratio if ratio is None else round(ratio, 3)} | target <= 0.5x", flush=True)
    result = {"smoke": args.smoke, "rows": n, "figures": figs, "loadavg": list(os.getloadavg())}
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
