"""How a vector table's index_granularity changes what ClickHouse reads (why the built-in photos
table is created with `SETTINGS index_granularity = 32`). Not a test.

    python -m benchmarks.bench_granularity [--rows 25000] [--granularities 8192,32]
        [--queries 10] [--no-index] [--json PATH]

One chdb database holds the same CLIP-like rows (benchmarks/clipdata.py, 512-d, seed 1) once per
granularity: `g<N>` (id, u, c, vec) ENGINE = MergeTree ORDER BY id SETTINGS index_granularity = N,
with a cosine HNSW index (ClickHouse's defaults; `--no-index`: none). Each statement runs on every table
in turn, query by query, so load hits them alike; p50 over the queries:
- exact top-10 (`ignore_data_skipping_indices = 'vi'`) under uniform filters keeping 0.1 %, 1 %,
  10 % and 100 % of the rows: ClickHouse reads the vectors of every granule that holds a matching
  row;
- with the index: `SELECT *, distance` of the index's top-10, without and with a 50 % filter
  (post-filtered, fetch multiplier 10): the rows found are read with their granules.
The statements are sent as written through clickhouse-connect on the embedded engine (no planner):
the figure is ClickHouse's storage, the same for every client.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time


def main(argv=None) -> int:
    import sqlext
    from benchmarks.bench_hnsw_defaults import create_vector_table
    from benchmarks.clipdata import make_clip_like
    from benchmarks.floor import raw_client
    from sqlext.text.rewrite import format_vector

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=25_000)
    ap.add_argument("--granularities", default="8192,32")
    ap.add_argument("--queries", type=int, default=10)
    ap.add_argument("--no-index", action="store_true", help="no vector index (exact scans only; faster to build)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    grans = [int(g) for g in args.granularities.split(",")]
    index = not args.no_index
    vs = make_clip_like(args.rows, args.queries, dim=512, seed=1)
    lits = [format_vector(q) for q in vs.queries]
    out = {"rows": args.rows, "data": vs.source, "granularities": grans, "build_s": {}, "cells": []}
    with tempfile.TemporaryDirectory(prefix="embedsql-gran-") as tmp:
        s = sqlext.connect(dsn=f"chdb://{tmp}/db")
        with raw_client(s) as c:
            spec = "vector_similarity('hnsw', 'cosineDistance', 512)" if index else None
            for g in grans:
                out["build_s"][g] = round(create_vector_table(c, f"g{g}", vs, spec, granularity=g), 1)
                print(f"g{g}: built in {out['build_s'][g]} s", flush=True)
            cells = [(f"exact, uniform {100 * sel:g} %", "id, cosineDistance(vec, {v}) AS d",
                      f"WHERE {vs.where('uniform', sel)}" if sel < 1 else "",
                      {"ignore_data_skipping_indices": "vi"} if index else {})
                     for sel in (0.001, 0.01, 0.1, 1.0)]
            if index:
                post = {"vector_search_filter_strategy": "postfilter", "vector_search_index_fetch_multiplier": 10}
                cells += [("index, SELECT *, no filter", "*, cosineDistance(vec, {v}) AS d", "", {}),
                          ("index, SELECT *, uniform 50 %", "*, cosineDistance(vec, {v}) AS d",
                           f"WHERE {vs.where('uniform', 0.5)}", post)]
            for name, cols, where, settings in cells:
                sql = f"SELECT {cols} FROM {{t}} {where} ORDER BY d LIMIT 10"
                times = {g: [] for g in grans}
                for g in grans:  # warm
                    c.query(sql.format(t=f"g{g}", v=lits[0]), settings=settings)
                for lit in lits:
                    for g in grans:
                        t = time.perf_counter()
                        c.query(sql.format(t=f"g{g}", v=lit), settings=settings)
                        times[g].append((time.perf_counter() - t) * 1000)
                p50 = {g: round(statistics.median(v), 2) for g, v in times.items()}
                base = p50[grans[0]]
                out["cells"].append({"cell": name, "p50_ms": p50})
                print(f"{name}: " + ", ".join(f"granularity {g} {p50[g]} ms ({p50[g] / base:.2f}x)" for g in grans),
                      flush=True)
        s.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
