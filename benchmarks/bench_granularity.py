"""How a vector table's storage changes what ClickHouse reads: its index_granularity and the
compression codec of its vector column (why the built-in photos table is created with
`SETTINGS index_granularity = 32` and `photo_embed ... CODEC(NONE)`). Not a test.

    python -m benchmarks.bench_granularity [--rows 25000] [--storages 8192,32,32:NONE]
        [--queries 10] [--no-index] [--json PATH]

One chdb database holds the same CLIP-like rows (benchmarks/clipdata.py, 512-d, seed 1) once per
storage `G[:CODEC]`: (id, u, c, vec Array(Float32) [CODEC(CODEC)]) ENGINE = MergeTree ORDER BY id
SETTINGS index_granularity = G (no codec: ClickHouse's default, LZ4), with a cosine HNSW index
(ClickHouse's defaults; `--no-index`: none). Each statement runs on every table in turn, query by
query, so load hits them alike; p50 over the queries:
- exact top-10 (`ignore_data_skipping_indices = 'vi'`) under uniform filters keeping 0.1 %, 1 %,
  10 % and 100 % of the rows: ClickHouse reads (and decompresses) the vectors of every granule
  that holds a matching row;
- with the index: `SELECT *, distance` of the index's top-10, without and with a 50 % filter
  (post-filtered, fetch multiplier 10): the rows found are read with their granules.
The statements are sent as written through clickhouse-connect on the embedded engine (no planner):
the figure is ClickHouse's storage, the same for every client.
"""
from __future__ import annotations

import argparse
import json
import re
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
    ap.add_argument("--storages", default="8192,32,32:NONE",
                    help="comma list of index_granularity[:vector codec] (no codec: LZ4, the default)")
    ap.add_argument("--queries", type=int, default=10)
    ap.add_argument("--no-index", action="store_true", help="no vector index (exact scans only; faster to build)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    storages = []  # (label, granularity, codec)
    for item in re.split(r",\s*(?=\d)", args.storages):  # (a codec chain keeps its commas)
        g, _, codec = item.strip().partition(":")
        storages.append((item.strip(), int(g), codec or None))
    index = not args.no_index
    vs = make_clip_like(args.rows, args.queries, dim=512, seed=1)
    lits = [format_vector(q) for q in vs.queries]
    out = {"rows": args.rows, "data": vs.source, "storages": [label for label, _, _ in storages], "build_s": {},
           "cells": []}
    names = {label: f"t{i}" for i, (label, _, _) in enumerate(storages)}
    with tempfile.TemporaryDirectory(prefix="embedsql-gran-") as tmp:
        s = sqlext.connect(dsn=f"chdb://{tmp}/db")
        with raw_client(s) as c:
            spec = "vector_similarity('hnsw', 'cosineDistance', 512)" if index else None
            for label, g, codec in storages:
                out["build_s"][label] = round(create_vector_table(c, names[label], vs, spec, granularity=g,
                                                                  codec=codec), 1)
                print(f"{_describe(label)}: built in {out['build_s'][label]} s", flush=True)
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
                times = {label: [] for label in names}
                for label in names:  # warm
                    c.query(sql.format(t=names[label], v=lits[0]), settings=settings)
                for lit in lits:
                    for label in names:
                        t = time.perf_counter()
                        c.query(sql.format(t=names[label], v=lit), settings=settings)
                        times[label].append((time.perf_counter() - t) * 1000)
                p50 = {label: round(statistics.median(v), 2) for label, v in times.items()}
                base = p50[storages[0][0]]
                out["cells"].append({"cell": name, "p50_ms": p50})
                print(f"{name}: " + ", ".join(f"{_describe(label)} {p50[label]} ms ({p50[label] / base:.2f}x)"
                                              for label in names), flush=True)
        s.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


def _describe(label: str) -> str:
    g, _, codec = label.partition(":")
    return f"granularity {g}, {codec or 'LZ4'}"


if __name__ == "__main__":
    sys.exit(main())
