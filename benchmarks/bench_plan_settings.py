"""What each setting the vector query planner adds on the embedded engine, and the wire form of
EMBED's vectors, buy, timed on the path users run (`Session.query`, statement in, rows out). Not a
test.

    python -m benchmarks.bench_plan_settings [--rows 25000] [--queries 30] [--keep DIR] [--json PATH]

The data and the table are benchmarks/bench_peers.py's: CLIP-like rows (benchmarks/clipdata.py,
512-d, seed 1) in chdb table `v` (id, u, c, vec) stored as the built-in photos table is
(`builtin_storage()`), with a cosine HNSW index (ClickHouse's defaults). `--keep DIR` reuses (or
fills) a `bench_peers --keep DIR` folder; an index over 200k rows takes minutes to build.

Each statement is `SELECT id, cosineDistance(vec, EMBED('qN')) AS d FROM v [WHERE <filter>]
ORDER BY d LIMIT 10` through `Session.query` (the embedder hands back the benchmark's query
vectors), with the planner's config switched query by query (after one untimed run of the
statement, which formats the query vector's literal once; each variant goes first in turn) among:
- shipped: what a session gets (`EMBEDDED_EXACT_SETTINGS`: mmap reads on exact plans;
  `PARALLEL_SCAN_SETTINGS`: every thread reads a part of the table on exact plans;
  `NO_VECTOR_SEARCH`: `query_plan_try_use_vector_search = 0` when no search uses the index);
- no mmap: `EMBEDDED_EXACT_SETTINGS` taken out of `exact_settings`;
- one reader: `PARALLEL_SCAN_SETTINGS` taken out of `exact_settings` (ClickHouse's own split);
- vector-search step on: `no_index_settings` emptied;
- none of them;
- array literal: as shipped, but EMBED spliced as the array literal `[…]` instead of its wire form
  `CAST('[…]', 'Array(Float64)')` (`sqlext.text.rewrite.cast_vector`).
Filters: none, and uniform / cluster-correlated ones keeping 0.1 %, 1 %, 10 % and 50 % of the rows.
For each: the plan chosen, p50 per variant, the median per-query ratio to `shipped`, and whether
every variant returned the same rows. The filter's row count is cached by the planner (as in
bench_peers' `embedsql` column), so each figure is the statement itself.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path


def main(argv=None) -> int:
    from benchmarks.bench_peers import builtin_table
    from benchmarks.clipdata import SELECTIVITIES, make_clip_like
    from sqlext.db.planner import EMBEDDED_EXACT_SETTINGS, PARALLEL_SCAN_SETTINGS
    from sqlext.text.rewrite import plain_vector

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=25_000)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR", help="a bench_peers --keep folder to reuse (or fill)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    vs = make_clip_like(args.rows, args.queries, dim=512, seed=args.seed)
    with builtin_table(vs, args.seed, args.queries, args.keep, "embedsql-plan-settings-") as (s, info):
        out = {"rows": args.rows, "queries": args.queries, **info, "cells": []}
        shipped = s.planner.config

        def without(names):
            return {k: v for k, v in shipped.exact_settings.items() if k not in names}

        variants = {"shipped": shipped,
                    "no mmap": replace(shipped, exact_settings=without(EMBEDDED_EXACT_SETTINGS)),
                    "one reader": replace(shipped, exact_settings=without(PARALLEL_SCAN_SETTINGS)),
                    "vector-search step on": replace(shipped, no_index_settings={}),
                    "none of them": replace(shipped, exact_settings={}, no_index_settings={}),
                    "array literal": shipped}
        wire = s._literal  # the session's own: formats each vector once, then its cache

        def array_literal(query, vector):  # the same cached text, without the CAST around it
            return plain_vector(wire(query, vector))

        cells = [("none", 1.0)] + [(kd, x) for kd in ("uniform", "correlated") for x in SELECTIVITIES if x < 1]
        for kind, sel in cells:
            where = f" WHERE {vs.where(kind, sel)}" if kind != "none" else ""
            sql = "SELECT id, cosineDistance(vec, EMBED('q{i}')) AS d FROM v" + where + " ORDER BY d LIMIT 10"
            times = {v: [] for v in variants}
            rows = {v: [] for v in variants}
            plans = set()
            names = list(variants)
            for i in range(args.queries):
                s.query(sql.format(i=i))  # EMBED's literal is formatted once, then cached: not a variant's cost
                for name in names[i % len(names):] + names[:i % len(names)]:  # each goes first in turn
                    s.planner.config = variants[name]
                    if name == "array literal":  # EMBED spliced as the array literal itself
                        s._literal = array_literal
                    t = time.perf_counter()
                    r = s.query(sql.format(i=i))
                    times[name].append(time.perf_counter() - t)
                    s.__dict__.pop("_literal", None)  # back to the session's own (the wire form)
                    rows[name].append([x[0] for x in r.rows])
                    if name == "shipped":
                        plans.add(r.stats.plan.kind + (" then exact" if r.stats.plan.reran else ""))
            s.planner.config = shipped
            base = times["shipped"]
            cell = {"filter": "no filter" if kind == "none" else f"{kind} {sel * 100:g} %",
                    "plans": sorted(plans),
                    "p50_ms": {v: round(statistics.median(ts) * 1000, 2) for v, ts in times.items()},
                    "ratio_to_shipped": {v: round(statistics.median(a / b for a, b in zip(ts, base)), 3)
                                         for v, ts in times.items() if v != "shipped"},
                    "same_rows": all(rows[v] == rows["shipped"] for v in variants)}
            out["cells"].append(cell)
            print(json.dumps(cell), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
