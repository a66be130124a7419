"""Keyword and hybrid search benchmark (issue 16): TextSearch (BM25) and HybridSearch (RRF) through
`sqlext.Session` on the embedded engine, beside DuckDB's fts `match_bm25` and LanceDB's full-text
and hybrid search on the same corpus, in the same run (iterations alternate).

    python -m benchmarks.bench_fts [--smoke] [--sizes 25000,200000] [--json out.json]

Corpus: `tests/fts_support.corpus` descriptions (4-40 words, stop words, case, punctuation,
unicode), 512-d CLIP-like vectors (clustered, narrow cone). No vector index on either side (both
scan exactly), so the hybrid figure compares fusion + BM25 + an exact scan on each; then, up to
`--hnsw-upto` rows, HybridSearch again with an HNSW index on the vector column (the photos table's
setup) beside the same LanceDB hybrid search. Needs the
`bench` extra (duckdb, duckdb-extension-fts, lancedb). Not a test: figures go to RESULTS.md."""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = ["red tram", "ancient cathedral in Kraków", "misty lake at dusk", "fox", "golden harbour boat"]
DIM = 512



def _rounds(fns, iters: int) -> None:
    """Each (function, list) pair: one untimed call, then `iters` rounds calling every function
    once per round (the load hits all alike), appending each call's milliseconds to its list."""
    for f, _ in fns:
        f()
    for _ in range(iters):
        for f, acc in fns:
            t0 = time.perf_counter()
            f()
            acc.append((time.perf_counter() - t0) * 1000)

def p50(xs):
    return statistics.median(xs)


def vectors(n, d=DIM, seed=0):
    from tests.fts_support import clustered_vectors

    return clustered_vectors(n, d, seed)


def setup_chdb(tmp: Path, docs, vecs):
    import pyarrow as pa

    import sqlext

    s = sqlext.connect(dsn=f"chdb://{tmp}/chdb")
    s.command(f"CREATE TABLE descs (id UInt32, v Array(Float32), d String, "
              f"CONSTRAINT v_len CHECK length(v) = {DIM}, INDEX d_idx d TYPE fts) "
              f"ENGINE = MergeTree ORDER BY id")
    t0 = time.perf_counter()
    step = 50_000
    for a in range(0, len(docs), step):
        b = min(len(docs), a + step)
        flat = pa.array(vecs[a:b].reshape(-1), pa.float32())
        s.insert_arrow("descs", pa.table({
            "id": pa.array(np.arange(a, b, dtype=np.uint32)),
            "v": pa.ListArray.from_arrays(pa.array(np.arange(0, (b - a + 1) * DIM, DIM, dtype=np.int32)), flat),
            "d": pa.array(docs[a:b])}))
    s.command("OPTIMIZE TABLE descs FINAL")
    return s, time.perf_counter() - t0


def setup_duckdb(docs):
    import duckdb
    import pyarrow as pa
    from duckdb_extensions import import_extension

    c = duckdb.connect()
    import_extension("fts", con=c)
    tbl = pa.table({"id": pa.array(np.arange(len(docs), dtype=np.int32)), "d": pa.array(docs)})
    c.register("src", tbl)
    c.execute("CREATE TABLE descs AS SELECT * FROM src")
    t0 = time.perf_counter()
    c.execute("PRAGMA create_fts_index('descs', 'id', 'd', stemmer = 'none', stopwords = 'none', "
              "ignore = '(\\.|[^a-z0-9])+', strip_accents = 0, lower = 1)")
    return c, time.perf_counter() - t0


def setup_lance(tmp: Path, docs, vecs):
    import lancedb
    import pyarrow as pa

    db = lancedb.connect(str(tmp / "lance"))
    flat = pa.array(vecs.reshape(-1), pa.float32())
    tbl = db.create_table("descs", data=pa.table({
        "id": pa.array(np.arange(len(docs), dtype=np.int32)),
        "vector": pa.FixedSizeListArray.from_arrays(flat, DIM),
        "d": pa.array(docs)}))
    t0 = time.perf_counter()
    from lancedb.index import FTS

    tbl.create_index("d", config=FTS(with_position=False))
    return tbl, time.perf_counter() - t0


def vec_sql(v) -> str:
    return "[" + ", ".join(f"{x:.9g}" for x in v) + "]"


def run(sizes, smoke: bool, iters: int = 9, json_path: Path | None = None, hnsw_upto: int = 0) -> dict:
    from tests.fts_support import corpus

    out = {"sizes": {}, "queries": QUERIES, "versions": {}}
    import duckdb
    import lancedb

    import chdb
    out["versions"] = {"chdb": chdb.__version__, "duckdb": duckdb.__version__, "lancedb": lancedb.__version__}
    iters = 3 if smoke else iters
    qv = vectors(len(QUERIES), seed=42)
    for n in sizes:
        tmp = Path(tempfile.mkdtemp(prefix="bench-fts-"))
        try:
            docs = corpus(n, seed=11)
            vecs = vectors(n)
            s, ch_load = setup_chdb(tmp, docs, vecs)
            duck, duck_idx = setup_duckdb(docs)
            lance, lance_idx = setup_lance(tmp, docs, vecs)
            res = {"load_s": {"chdb_insert_and_index": round(ch_load, 2), "duckdb_index": round(duck_idx, 2),
                              "lance_fts_index": round(lance_idx, 2)}}

            def ts(q):
                return lambda: s.query(f"SELECT id, TextSearch(d, '{q}') AS s FROM descs ORDER BY s DESC LIMIT 10").rows

            def duck_q(q):
                return lambda: duck.execute(
                    "SELECT id, score FROM (SELECT id, fts_main_descs.match_bm25(id, ?) AS score FROM descs) "
                    "WHERE score IS NOT NULL ORDER BY score DESC LIMIT 10", [q]).fetchall()

            def lance_q(q):
                return lambda: lance.search(q, query_type="fts").limit(10).to_arrow()

            def hs(q, v):
                sql = (f"SELECT id, HybridSearch('fusion_type=RRF', 'num_candidates=30')(v, d, {vec_sql(v)}, '{q}') "
                       f"AS score FROM descs ORDER BY score DESC LIMIT 10")
                return lambda: s.query(sql).rows

            def hs_raw(q, v):   # the translated SQL sent verbatim: the bridge's own cost left out
                sql = s.prepare(f"SELECT id, HybridSearch('fusion_type=RRF', 'num_candidates=30')(v, d, "
                                f"{vec_sql(v)}, '{q}') AS score FROM descs ORDER BY score DESC LIMIT 10").statements[0]
                return lambda: s.query(sql, verbatim=True).rows

            def lance_h(q, v):
                return lambda: (lance.search(query_type="hybrid").vector(v.tolist()).text(q).limit(10).to_arrow())

            hold = s.unit_of_work()      # as a TUI or script session: the embedded engine stays open
            hold.__enter__()
            t_ts, t_duck, t_lance, t_hs, t_lh, t_raw = [], [], [], [], [], []
            for q, v in zip(QUERIES, qv):
                fns = [(ts(q), t_ts), (duck_q(q), t_duck), (lance_q(q), t_lance), (hs(q, v), t_hs),
                       (lance_h(q, v), t_lh), (hs_raw(q, v), t_raw)]
                _rounds(fns, iters)
            # agreement: the same top-10 as DuckDB's BM25 (same tokens for ASCII queries)?
            agree = []
            for q in QUERIES:
                a = [r[0] for r in ts(q)()]
                b = [r[0] for r in duck_q(q)()]
                agree.append(len(set(a) & set(b)) / 10)
            res.update({
                "textsearch_ms_p50": round(p50(t_ts), 2), "duckdb_match_bm25_ms_p50": round(p50(t_duck), 2),
                "lance_fts_ms_p50": round(p50(t_lance), 2), "hybridsearch_rrf_ms_p50": round(p50(t_hs), 2),
                "lance_hybrid_ms_p50": round(p50(t_lh), 2),
                "hybridsearch_rrf_sql_only_ms_p50": round(p50(t_raw), 2),
                "textsearch_vs_duckdb": round(p50(t_ts) / p50(t_duck), 2),
                "textsearch_vs_lance_fts": round(p50(t_ts) / p50(t_lance), 2),
                "hybrid_vs_lance_hybrid": round(p50(t_hs) / p50(t_lh), 2),
                "top10_overlap_with_duckdb": round(float(np.mean(agree)), 3),
            })
            if hnsw_upto and n <= hnsw_upto:
                # the production setup: an HNSW index on the vector column (MyScale DDL, translated)
                t0 = time.perf_counter()
                s.command("ALTER TABLE descs ADD VECTOR INDEX v_idx v TYPE HNSWFLAT('metric_type=L2')")
                while s.query("SELECT count() FROM system.mutations WHERE table = 'descs' AND NOT is_done",
                              verbatim=True).rows[0][0]:
                    time.sleep(0.5)
                res["load_s"]["chdb_hnsw_build"] = round(time.perf_counter() - t0, 2)
                t_hh, t_lh2 = [], []
                for q, v in zip(QUERIES, qv):
                    fns = [(hs(q, v), t_hh), (lance_h(q, v), t_lh2)]
                    _rounds(fns, iters)
                res.update({"hybridsearch_rrf_hnsw_ms_p50": round(p50(t_hh), 2),
                            "lance_hybrid_same_rounds_ms_p50": round(p50(t_lh2), 2),
                            "hybrid_hnsw_vs_lance_hybrid": round(p50(t_hh) / p50(t_lh2), 2)})
            hold.__exit__(None, None, None)
            out["sizes"][n] = res
            print(json.dumps({n: res}), flush=True)
            if json_path:                      # after each size: a long run keeps what it measured
                json_path.write_text(json.dumps(out, indent=2))
            s.close()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--sizes", default="25000,200000")
    ap.add_argument("--iters", type=int, default=9, help="timed rounds per query (each method per round)")
    ap.add_argument("--hnsw-upto", type=int, default=25000,
                    help="also time HybridSearch with an HNSW index on the vector column at sizes up to N")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    sizes = [2000] if a.smoke else [int(x) for x in a.sizes.split(",")]
    run(sizes, a.smoke, a.iters, a.json, 2000 if a.smoke else a.hnsw_upto)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
