"""Hybrid vector search side by side: embedsql, raw chdb, DuckDB + vss, LanceDB and numpy, on the
same CLIP-like data and the same text queries, in one run (issue 10, item 5). Not a test.

    python -m benchmarks.bench_peers [--rows 25000,200000] [--queries 30] [--k 10]
        [--vectors PATH [--query-vectors PATH] [--vector-column NAME]]
        [--systems embedsql,embedsql-fresh,chdb-exact,chdb-hnsw,duckdb,lancedb,numpy] [--dim 512] [--smoke]
        [--granularity N] [--codec C] [--keep DIR] [--json PATH] [--md PATH]

For each table size, each filter (none; `u < N` uniform and `c < N` cluster-correlated, keeping
0.1 %, 1 %, 10 %, 50 % of the rows; see benchmarks/clipdata.py) and each system: p50 latency over
the queries, recall@10 against numpy's exact answer (for fewer than k matching rows, of those),
rows returned (mean and minimum against min(k, matching rows)), and the index build time. Queries
alternate between systems one by one, each system first in turn (what runs just before a query
warms or cools the caches it finds), so load from other processes hits them alike; every ratio
quoted compares figures of the same run.

Systems:
- embedsql: `Session.query` of the statement with `EMBED('qN')` (statement in, rows out: EMBED
  found, the vector spliced, the dialect bridge, lints, the planner's row count, the query, the
  check). The embedder hands back the benchmark's query vectors (the model's own time is figure 1
  of benchmarks/run.py), so the figure is everything embedsql adds around the engine; the
  session's formatted vectors are forgotten before each query, as for a text never seen. The
  planner reuses a filter's row count for a minute, as when someone tries texts under one
  filter; `embedsql-fresh` clears it before every query (a new filter each time).
- chdb exact: the same SQL with the vector as a literal, `use_skip_indexes = 0`.
  The chdb table (one table for embedsql and raw chdb) is stored as the built-in photos table is:
  `index_granularity` and the vector column's codec from migrations/builtin/0001_photos_table.sql
  (`--granularity N` and `--codec C` to try others; `--codec default` for LZ4).
- chdb HNSW: the same SQL on the vector index as ClickHouse runs it by itself (its defaults:
  post-filtering, `hnsw_candidate_list_size_for_search` 256; no planner).
- DuckDB + vss (the wheels `duckdb` and `duckdb-extension-vss`, same version; the extension file
  the wheel ships is LOADed): HNSW index, metric cosine, vss defaults; `array_cosine_distance`.
- LanceDB: IVF-HNSW-SQ index (HnswSq), cosine, defaults; `where(…, prefilter=True)`.
- numpy: the exact floor: `X_f @ q` + argpartition over the filtered rows only (X_f materialized
  before timing), with one BLAS thread (`OPENBLAS_NUM_THREADS=1`, set before numpy loads unless
  the environment sets it): OpenBLAS keeps its threads spinning for a while after each call, and
  on 2 cores that took the second core from the next system's query. embedsql's exact scans read
  with every thread: 25k rows under a 10 % filter took 14.4 ms after numpy's floor in rotation
  and 10.1 ms with one BLAS thread. The floor is a matrix-vector product, bound by memory.
`--keep DIR` keeps the built tables and indexes in DIR (one folder per data set: rows, dimension,
seed, queries, source) and reuses them in a later run: an index over 200k rows takes minutes to
tens of minutes to build per system on 2 cores, and the queries can then be rerun alone. A reused
index reports the build time measured when it was built (`build_reused` in the JSON says which).
The chdb table is kept once per storage (`chdb-g<N>[-<codec>]/`; `chdb/` for 8192 and LZ4).

DuckDB and LanceDB come from the `bench` extra (`pip install -e '.[bench]'`); a system whose
package is missing is reported as not installed.
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.floor import raw_client

SYSTEMS = ("embedsql", "embedsql-fresh", "chdb-exact", "chdb-hnsw", "duckdb", "lancedb", "numpy")
LABELS = {"embedsql": "embedsql (Session.query, planner)",
          "embedsql-fresh": "embedsql, filter counted every query", "chdb-exact": "chdb exact scan",
          "chdb-hnsw": "chdb HNSW as is (post-filter)", "duckdb": "DuckDB + vss HNSW",
          "lancedb": "LanceDB IVF-HNSW-SQ (prefilter)", "numpy": "numpy exact, filtered rows (floor)"}


class QueryVectors:
    """An embedder for the benchmark: EMBED('qN') is query vector N (what Session needs of an
    embedder: embed(), last_stats(), model_id)."""

    def __init__(self, Q):
        from embed.embedder import EmbedStats

        self.Q = Q
        self._stats = EmbedStats()
        self.model_id = "benchmark-query-vectors"

    def embed(self, queries):
        from embed.embedder import EmbedStats

        out = []
        for q in queries:
            text = q.terms[0].value
            out.append(self.Q[int(text[1:])])
        self._stats = EmbedStats(hits=len(out))
        return out

    def last_stats(self):
        return self._stats


@dataclass
class Cell:
    kind: str      # "none" | "uniform" | "correlated"
    sel: float

    @property
    def name(self) -> str:
        return "no filter (100 %)" if self.kind == "none" else f"{self.kind} {self.sel * 100:g} %"


def _p50(xs):
    return statistics.median(xs) if xs else None


def _installed(mod: str) -> bool:
    try:
        __import__(mod)
        return True
    except ImportError:
        return False


# ---------------------------------------------------------------------------------------------
# systems: each has build(vs) -> seconds, and query(i, where) -> list of ids

def _built(tmp: Path, system: str) -> float | None:
    """The build seconds recorded for `system` in a kept folder, or None when it is not built."""
    f = tmp / f"built-{system}.json"
    return json.loads(f.read_text())["build_s"] if f.exists() else None


def _mark_built(tmp: Path, system: str, seconds: float) -> None:
    (tmp / f"built-{system}.json").write_text(json.dumps({"build_s": seconds, "at": time.strftime("%Y-%m-%d %H:%M"),
                                                          "loadavg": list(os.getloadavg())}))


def data_dir(tmp: Path, vs, seed: int, queries: int) -> Path:
    """The folder of one data set under a `--keep` folder `tmp` (made if missing), named by rows,
    dimension, seed, queries and a hash of the data's source and parameters, so that a later run
    (or another benchmark, benchmarks/bench_plan_settings.py) finds the same built tables."""
    key = hashlib.sha1((vs.source + json.dumps(vs.params, sort_keys=True, default=str)).encode()).hexdigest()[:8]
    d = tmp / f"n{len(vs.images)}-d{vs.images.shape[1]}-seed{seed}-q{queries}-{key}"
    d.mkdir(exist_ok=True)
    return d


@contextlib.contextmanager
def builtin_table(vs, seed: int, queries: int, keep: str | None, prefix: str):
    """This benchmark's chdb table of `vs` (table `v`, cosine HNSW index), stored as the built-in
    photos table is (`builtin_storage()`), for another benchmark's queries: yields (Session, the
    facts a report names: data, granularity, vector_codec, build_s, build_reused). `keep`: a
    `--keep` folder reused (or filled); None: a temporary folder named `prefix…`, removed after
    the block. `queries`: the data set's query count (part of its folder's name)."""
    from benchmarks.bench_hnsw_defaults import builtin_storage

    tmp = Path(keep) if keep else Path(tempfile.mkdtemp(prefix=prefix))
    tmp.mkdir(parents=True, exist_ok=True)
    granularity, codec = builtin_storage()
    info = {"data": vs.source, "granularity": granularity, "vector_codec": codec or "LZ4"}
    try:
        s, info["build_s"], info["build_reused"] = build_chdb(
            data_dir(tmp, vs, seed, queries), vs, "vector_similarity('hnsw', 'cosineDistance', 512)",
            granularity, codec)
        try:
            yield s, info
        finally:
            s.close()
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def build_chdb(tmp: Path, vs, index_spec: str, granularity: int, codec: str | None = None):
    """The chdb table `v` (id, u, c, vec) with its HNSW index, in tmp/chdb..., stored in granules of
    `granularity` rows with vec's `codec` (the built-in table's; None: LZ4): (Session, build
    seconds, reused?)."""
    import sqlext
    from benchmarks.bench_hnsw_defaults import create_vector_table

    name = "chdb"  # kept per storage: chdb/ for ClickHouse's defaults (8192, LZ4)
    if granularity != 8192 or codec:
        name += f"-g{granularity}" + ("-" + re.sub(r"[^a-z0-9]+", "", codec.lower()) if codec else "")
    s = sqlext.connect(dsn=f"chdb://{tmp}/{name}", embedder=QueryVectors(vs.queries))
    t = _built(tmp, name)
    if t is not None:
        with raw_client(s) as c:
            if c.command("SELECT count() FROM v") == len(vs.images):
                return s, t, True
    with raw_client(s) as c:
        t = create_vector_table(c, "v", vs, index_spec, granularity=granularity, codec=codec)
    _mark_built(tmp, name, t)
    return s, t, False


def build_duckdb(tmp: Path, vs):
    """DuckDB table `v` with a vss HNSW index (cosine), in the file tmp/duck.db (vss's experimental
    persistence, so a kept folder can be reused): (connection, build seconds, reused?)."""
    import duckdb
    import duckdb_extension_vss
    import pyarrow as pa

    ext = glob.glob(os.path.join(os.path.dirname(duckdb_extension_vss.__file__), "extensions", "*",
                                 "vss.duckdb_extension"))
    if not ext:
        raise RuntimeError("duckdb-extension-vss ships no vss.duckdb_extension file")
    t = _built(tmp, "duckdb")
    path = tmp / "duck.db"
    if t is None and path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    con.execute(f"LOAD '{ext[0]}'")
    con.execute("SET hnsw_enable_experimental_persistence = true")
    if t is not None:
        return con, t, True
    d = vs.images.shape[1]
    tbl = pa.table({"id": pa.array(range(len(vs.images)), pa.int32()), "u": pa.array(vs.u.astype("int16")),
                    "c": pa.array(vs.c.astype("int16")),
                    "vec": pa.FixedSizeListArray.from_arrays(pa.array(vs.images.reshape(-1)), d)})
    con.register("src", tbl)
    con.execute(f"CREATE TABLE v AS SELECT id, u, c, vec::FLOAT[{d}] AS vec FROM src")
    con.unregister("src")
    t = time.perf_counter()
    con.execute("CREATE INDEX vi ON v USING HNSW (vec) WITH (metric = 'cosine')")
    t = time.perf_counter() - t
    con.execute("CHECKPOINT")
    _mark_built(tmp, "duckdb", t)
    return con, t, False


def build_lancedb(tmp: Path, vs):
    """LanceDB table `v` with an IVF-HNSW-SQ index (cosine), in tmp/lance: (table, build seconds,
    reused?)."""
    import lancedb
    import pyarrow as pa
    from lancedb.index import HnswSq

    d = vs.images.shape[1]
    tbl = pa.table({"id": pa.array(range(len(vs.images)), pa.int32()), "u": pa.array(vs.u.astype("int16")),
                    "c": pa.array(vs.c.astype("int16")),
                    "vec": pa.FixedSizeListArray.from_arrays(pa.array(vs.images.reshape(-1)), d)})
    db = lancedb.connect(str(tmp / "lance"))
    t = _built(tmp, "lancedb")
    if t is not None:
        return db.open_table("v"), t, True
    table = db.create_table("v", data=tbl, mode="overwrite")
    t = time.perf_counter()
    table.create_index("vec", config=HnswSq(distance_type="cosine"))  # new API: the column comes first
    t = time.perf_counter() - t
    _mark_built(tmp, "lancedb", t)
    return table, t, False


# ---------------------------------------------------------------------------------------------

def _report_build(out: dict, system: str, reused: bool) -> None:
    if reused:
        out["build_reused"].append(system)
    print(f"  {system}: table + index {'reused, built' if reused else 'built'} in {out['build_s'][system]:.0f} s",
          flush=True)


def run_size(vs, args, tmp: Path, systems: list[str], notes: list[str]) -> dict:
    import numpy as np

    from benchmarks.clipdata import SELECTIVITIES, exact_topk
    from sqlext.text.rewrite import format_vector

    n, d = vs.images.shape
    k = args.k
    nq = len(vs.queries)
    out = {"rows": n, "dim": d, "queries": nq, "build_s": {}, "build_reused": [], "cells": []}
    lits = [format_vector(q) for q in vs.queries]
    index_spec = f"vector_similarity('hnsw', 'cosineDistance', {d})"
    session = con = lance = None
    if {"embedsql", "embedsql-fresh", "chdb-exact", "chdb-hnsw"} & set(systems):
        session, out["build_s"]["chdb"], reused = build_chdb(tmp, vs, index_spec, args.granularity, args.codec)
        out["granularity"] = args.granularity
        out["vector_codec"] = args.codec or "LZ4"
        _report_build(out, "chdb", reused)
    if "duckdb" in systems:
        con, out["build_s"]["duckdb"], reused = build_duckdb(tmp, vs)
        _report_build(out, "duckdb", reused)
    if "lancedb" in systems:
        lance, out["build_s"]["lancedb"], reused = build_lancedb(tmp, vs)
        _report_build(out, "lancedb", reused)
    if args.build_only:
        for h in (session, con):
            if h is not None:
                h.close()
        return out
    cells = [Cell("none", 1.0)] + [Cell(kd, s) for kd in ("uniform", "correlated") for s in SELECTIVITIES if s < 1]
    hold = raw_client(session) if session is not None else None
    c = hold.__enter__() if hold is not None else None
    try:
        for cell in cells:
            where = None if cell.kind == "none" else vs.where(cell.kind, cell.sel)
            mask = None if cell.kind == "none" else vs.mask(cell.kind, cell.sel)
            matching = n if mask is None else int(mask.sum())
            truth = [exact_topk(vs.images, q, k, mask).tolist() for q in vs.queries]
            Xf = vs.images if mask is None else vs.images[mask]
            idf = None if mask is None else np.flatnonzero(mask)
            w_sql = f" WHERE {where}" if where else ""
            sql = "SELECT id, cosineDistance(vec, {v}) AS d FROM v" + w_sql + " ORDER BY d LIMIT " + str(k)
            plans = []

            def q_embedsql(i):
                session._literals.clear()  # a new text: its vector is formatted, as the first time
                r = session.query(sql.format(v=f"EMBED('q{i}')"))
                plans.append(r.stats.plan)
                return [x[0] for x in r.rows]

            def q_embedsql_fresh(i):
                session.planner.invalidate()
                session._literals.clear()
                return [x[0] for x in session.query(sql.format(v=f"EMBED('q{i}')")).rows]

            def q_exact(i):
                return [x[0] for x in c.query(sql.format(v=lits[i]), settings={"use_skip_indexes": 0}).result_rows]

            def q_hnsw(i):  # ClickHouse's own defaults (hnsw_candidate_list_size_for_search 256)
                return [x[0] for x in c.query(sql.format(v=lits[i])).result_rows]

            dsql = (f"SELECT id FROM v{w_sql} ORDER BY array_cosine_distance(vec, ?::FLOAT[{d}]) LIMIT {k}")

            def q_duck(i):
                return [x[0] for x in con.execute(dsql, [vs.queries[i].tolist()]).fetchall()]

            def q_lance(i):
                s = lance.search(vs.queries[i], vector_column_name="vec").distance_type("cosine")
                if where:
                    s = s.where(where, prefilter=True)
                # `_distance` named: LanceDB 0.40 returns it with any select (and logs a deprecation
                # warning per query when it is not asked for); naming it keeps the same output
                return s.limit(k).select(["id", "_distance"]).to_arrow()["id"].to_pylist()

            def q_numpy(i):
                s = Xf @ vs.queries[i]
                kk = min(k, len(s))
                if kk == 0:
                    return []
                top = np.argpartition(-s, kk - 1)[:kk]
                top = top[np.argsort(-s[top])]
                return (top if idf is None else idf[top]).tolist()

            fns = {"embedsql": q_embedsql, "embedsql-fresh": q_embedsql_fresh, "chdb-exact": q_exact, "chdb-hnsw": q_hnsw, "duckdb": q_duck,
                   "lancedb": q_lance, "numpy": q_numpy}
            active = [s for s in systems if s in fns]
            times = {s: [] for s in active}
            got = {s: [] for s in active}
            for s in active:  # warm each once
                fns[s](0)
            plans.clear()
            for i in range(nq):
                for s in active[i % len(active):] + active[:i % len(active)]:  # each first in turn
                    t = time.perf_counter()
                    ids = fns[s](i)
                    times[s].append((time.perf_counter() - t) * 1000)
                    got[s].append(ids)
            want = min(k, matching)
            row = {"cell": cell.name, "kind": cell.kind, "selectivity": cell.sel, "matching": matching, "systems": {}}
            for s in active:
                rec = [len(set(g) & set(t)) / max(1, len(t)) for g, t in zip(got[s], truth)]
                nrows = [len(g) for g in got[s]]
                row["systems"][s] = {"p50_ms": round(_p50(times[s]), 2), "recall10": round(float(np.mean(rec)), 3),
                                     "rows_mean": round(float(np.mean(nrows)), 1), "rows_min": int(min(nrows)),
                                     "rows_right": all(x == want for x in nrows)}
            if plans:
                kinds = {}
                for p in plans:
                    if p is None:
                        continue
                    key = p.searches[0].choice + (" then exact" if p.reran else "") if p.searches else p.kind
                    kinds[key] = kinds.get(key, 0) + 1
                row["embedsql_plans"] = kinds
            out["cells"].append(row)
            print("  " + cell.name + ": " + "; ".join(
                f"{s} {v['p50_ms']} ms r{v['recall10']} rows {v['rows_mean']}" for s, v in row["systems"].items())
                + (f"; plans {row.get('embedsql_plans')}" if plans else ""), flush=True)
    finally:
        if hold is not None:
            hold.__exit__(None, None, None)
        if session is not None:
            session.close()
        if con is not None:
            con.close()
    return out


def markdown(result: dict) -> str:
    """The results as Markdown tables (one per table size)."""
    L = []
    for size in result["sizes"]:
        n = size["rows"]
        L += [f"### {n:,} rows x {size['dim']}, {size['queries']} text queries, top-{result['k']}", ""]
        b = size["build_s"]
        reused = size.get("build_reused", [])
        L.append("Index build: " + ", ".join(f"{k} {v:.0f} s" + (" (kept from an earlier run)" if k in reused else "")
                                              for k, v in b.items()) + "." if b else "")
        if size.get("granularity"):
            L.append(f"The chdb table (embedsql's and raw chdb's): index_granularity {size['granularity']}, "
                     f"vectors stored with {size.get('vector_codec', 'LZ4')}.")
        L.append("")
        systems = [s for s in SYSTEMS if any(s in c["systems"] for c in size["cells"])]
        L.append("| filter (rows kept) | " + " | ".join(LABELS[s] for s in systems) + " |")
        L.append("|---|" + "---|" * len(systems))
        for c in size["cells"]:
            want = min(result["k"], c["matching"])
            cells = []
            for s in systems:
                v = c["systems"].get(s)
                if v is None:
                    cells.append("")
                    continue
                rows = f"{v['rows_mean']:g} rows" + ("" if v["rows_right"] else f" (min {v['rows_min']}) ✘")
                cells.append(f"{v['p50_ms']:.1f} ms, r {v['recall10']:.2f}, {rows}")
            L.append(f"| {c['cell']} ({c['matching']:,}; answer {want}) | " + " | ".join(cells) + " |")
        L.append("")
        # the targets, for embedsql, as ratios of the same run
        if any("embedsql" in c["systems"] for c in size["cells"]):
            L += ["| filter | embedsql plans | embedsql p50 / faster of (chdb exact, chdb HNSW) | "
                  "the same, filter counted every query | recall@10 >= 0.95 | rows = min(k, matching) |",
                  "|---|---|---|---|---|---|"]
            for c in size["cells"]:
                e = c["systems"].get("embedsql")
                if e is None:
                    continue
                fresh = c["systems"].get("embedsql-fresh")
                base = [x["p50_ms"] for s, x in c["systems"].items() if s in ("chdb-exact", "chdb-hnsw")]
                floor = min(base) if base else None

                def ratio(v):
                    return f"{v['p50_ms'] / floor:.2f}x" if v and floor else "n/a"

                ok = [v for v in (e, fresh) if v]
                plans = ", ".join(f"{k} {v}" for k, v in c.get("embedsql_plans", {}).items())
                rec = min(v["recall10"] for v in ok)
                L.append(f"| {c['cell']} | {plans} | {ratio(e)} | {ratio(fresh)} | "
                         f"{'yes' if rec >= 0.95 else '**no**'} ({rec:.3f}) | "
                         f"{'yes' if all(v['rows_right'] for v in ok) else '**no**'} |")
            L.append("")
    return "\n".join(L)


def main(argv=None) -> int:
    # the numpy floor runs with one BLAS thread (module docstring); set before numpy loads, so this
    # holds when the benchmark runs as a program (python -m benchmarks.bench_peers)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from benchmarks.clipdata import clip_stats, load_vectors, make_clip_like

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="25000,200000")
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--vectors")
    ap.add_argument("--query-vectors")
    ap.add_argument("--vector-column")
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dim", type=int, default=512, help="dimension of the synthetic vectors")
    ap.add_argument("--smoke", action="store_true", help="2,000 rows of 64-d, 5 queries: proves it runs")
    ap.add_argument("--keep", metavar="DIR", help="keep built tables and indexes in DIR and reuse them")
    ap.add_argument("--build-only", action="store_true", help="build (or check) the tables and indexes, run no query")
    ap.add_argument("--granularity", type=int, default=None,
                    help="index_granularity of the chdb table (default: the built-in photos table's)")
    ap.add_argument("--codec", default=None,
                    help="the chdb table's vector codec, e.g. NONE, ZSTD(1); 'default' for LZ4 "
                         "(default: the built-in photos table's)")
    ap.add_argument("--json")
    ap.add_argument("--md")
    args = ap.parse_args(argv)
    from benchmarks.bench_hnsw_defaults import builtin_storage

    granularity, codec = builtin_storage()
    if args.granularity is None:
        args.granularity = granularity
    if args.codec is None:
        args.codec = codec
    elif args.codec.lower() == "default":
        args.codec = None
    sizes = [2000] if args.smoke else [int(x) for x in args.rows.split(",")]
    if args.smoke:
        args.queries, args.dim = 5, 64
    wanted = [s for s in args.systems.split(",") if s]
    unknown = [s for s in wanted if s not in SYSTEMS]
    if unknown:
        ap.error(f"unknown systems {unknown}; choose from {', '.join(SYSTEMS)}")
    notes, systems = [], []
    for s in wanted:
        need = {"duckdb": ("duckdb", "duckdb_extension_vss"), "lancedb": ("lancedb",)}.get(s, ())
        missing = [m for m in need if not _installed(m)]
        if missing:
            notes.append(f"{s}: not installed ({', '.join(missing)}; pip install -e '.[bench]')")
        else:
            systems.append(s)
    versions = {}
    for mod in ("chdb", "clickhouse_connect", "duckdb", "lancedb", "numpy"):
        try:
            m = __import__(mod)
            versions[mod] = getattr(m, "__version__", "?")
        except ImportError:
            versions[mod] = None
    result = {"smoke": args.smoke, "k": args.k, "systems": systems, "notes": notes, "versions": versions,
              "cores": os.cpu_count(), "loadavg_start": list(os.getloadavg()), "sizes": []}
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="embedsql-peers-"))
    tmp.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        full = None
        if args.vectors:
            full = load_vectors(args.vectors, queries=args.query_vectors, n=max(sizes), n_queries=args.queries,
                                column=args.vector_column, seed=args.seed)
        for n in sizes:
            print(f"{n:,} rows", flush=True)
            if full is not None:
                from benchmarks.clipdata import VectorSet

                vs = VectorSet(full.images[:n], full.queries, full.u[:n], full.c[:n], full.cluster[:n], full.source)
            else:
                vs = make_clip_like(n, args.queries, dim=args.dim, seed=args.seed)
            size_dir = data_dir(tmp, vs, args.seed, args.queries)
            res = run_size(vs, args, size_dir, systems, notes)
            res["data"] = vs.source
            res["geometry"] = clip_stats(vs)
            result["sizes"].append(res)
            if not args.keep:
                shutil.rmtree(size_dir, ignore_errors=True)
            if args.json:
                Path(args.json).write_text(json.dumps(result, indent=1))
            del vs
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    result["loadavg_end"] = list(os.getloadavg())
    result["total_s"] = round(time.perf_counter() - t0, 1)
    md = markdown(result)
    result["markdown"] = md
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    if args.md:
        Path(args.md).write_text(md)
    print(md)
    for n in notes:
        print("note:", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
