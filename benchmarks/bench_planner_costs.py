"""Does the vector query planner pick the faster plan? Its cost model's estimates beside the
measured time of both plans, on the path users run (`Session.query`, statement in, rows out). Not
a test.

    python -m benchmarks.bench_planner_costs [--rows 25000] [--queries 16]
        [--selectivities 0.005,0.01,0.02,0.05,0.1,0.2,0.5] [--keep DIR] [--json PATH]

The data and the table are benchmarks/bench_peers.py's: CLIP-like rows (benchmarks/clipdata.py,
512-d, seed 1) in chdb table `v` stored as the built-in photos table is (`builtin_storage()`), with
a cosine HNSW index; `--keep DIR` reuses (or fills) a `bench_peers --keep` folder.

For each uniform filter `u < N` keeping the given share of rows (and no filter), the statement
`SELECT id, cosineDistance(vec, EMBED('qN')) AS d FROM v WHERE … ORDER BY d LIMIT 10` runs through
`Session.query` with the planner as shipped and with its cost model pinned to each plan (the
index with post-filtering, sized as the planner sizes it, checked and rerun exactly when short;
or the exact scan), query by query, each first in turn, after an untimed run. Reported: the
model's estimates (`Planner.index_cost`, `Planner.scan_cost`), p50 of each plan, the planner's
choice, and the shipped plan's p50 relative to the faster plan's. The filter's count is cached by
the planner, so each figure is the statement itself. These are the measurements the defaults of
`sqlext.db.planner.PlannerConfig` were fitted to.
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
    from benchmarks.clipdata import make_clip_like

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=25_000)
    ap.add_argument("--queries", type=int, default=16)
    ap.add_argument("--selectivities", default="0.005,0.01,0.02,0.05,0.1,0.2,0.5,1")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", metavar="DIR", help="a bench_peers --keep folder to reuse (or fill)")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    sels = [float(x) for x in args.selectivities.split(",")]
    vs = make_clip_like(args.rows, max(args.queries, 30), dim=512, seed=args.seed)
    with builtin_table(vs, args.seed, max(args.queries, 30), args.keep, "embedsql-planner-costs-") as (s, info):
        out = {"rows": args.rows, "queries": args.queries, **info, "cells": []}
        shipped = s.planner.config
        variants = {"shipped": shipped,
                    "index": replace(shipped, index_fixed=-1e12),   # the index whenever it may
                    "exact": replace(shipped, index_fixed=1e12)}
        for sel in sels:
            where = f" WHERE {vs.where('uniform', sel)}" if sel < 1 else ""
            sql = "SELECT id, cosineDistance(vec, EMBED('q{i}')) AS d FROM v" + where + " ORDER BY d LIMIT 10"
            times = {v: [] for v in variants}
            plans = {v: set() for v in variants}
            estimate = reason = None
            names = list(variants)
            for i in range(args.queries):
                s.query(sql.format(i=i))  # the vector's text and the filter's count, once
                for name in names[i % len(names):] + names[:i % len(names)]:
                    s.planner.config = variants[name]
                    t = time.perf_counter()
                    r = s.query(sql.format(i=i))
                    times[name].append(time.perf_counter() - t)
                    sp = r.stats.plan.searches[0]
                    plans[name].add(sp.choice + (" then exact" if r.stats.plan.reran else ""))
                    if name == "shipped" and estimate is None:
                        reason = sp.reason
                        estimate = {"index": _ms(sp.index_ms), "exact": _ms(sp.scan_ms)}
            s.planner.config = shipped
            p50 = {v: round(statistics.median(ts) * 1000, 2) for v, ts in times.items()}
            faster = min(p50["index"], p50["exact"])
            cell = {"filter": "no filter" if sel >= 1 else f"uniform {sel * 100:g} %",
                    "estimate_ms": estimate, "p50_ms": p50, "plans": {v: sorted(p) for v, p in plans.items()},
                    "shipped_to_faster": round(p50["shipped"] / faster, 3), "reason": reason}
            out["cells"].append(cell)
            print(json.dumps(cell), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


def _ms(x: float | None) -> float | None:
    return None if x is None else round(x, 2)


if __name__ == "__main__":
    raise SystemExit(main())
