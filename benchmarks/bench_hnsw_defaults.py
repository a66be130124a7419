"""Check the shipped vector-search defaults at a larger size: ClickHouse's HNSW construction
defaults (m=32, ef_construction=128, bf16) with embedsql's hnsw_candidate_list_size_for_search=64,
against ClickHouse's search default 256, on N clustered 512-d unit vectors (default 200,000).
Prints build time, p50 and recall@10 vs exact numpy; `--json PATH` writes them. Not a test.

    python -m benchmarks.bench_hnsw_defaults [--rows N] [--queries Q] [--json PATH]
"""
from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    import numpy as np
    import pyarrow as pa

    import clickhouse_connect

    from benchmarks.run import make_vectors, numpy_topk, recall

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="embedsql-hnsw-"))
    out = {"rows": args.rows, "queries": args.queries}
    try:
        X, centers = make_vectors(args.rows, seed=7)
        rng = np.random.default_rng(8)
        Q = X[rng.integers(0, args.rows, args.queries)] + rng.standard_normal((args.queries, 512)).astype(np.float32) * 0.02
        Q /= np.linalg.norm(Q, axis=1, keepdims=True)
        c = clickhouse_connect.get_client(dsn=f"chdb://{tmp}/db")  # raw chdb: no embedsql in between
        try:
            c.command("CREATE TABLE v (id UInt32, vec Array(Float32), "
                      "INDEX i vec TYPE vector_similarity('hnsw', 'cosineDistance', 512)) "
                      "ENGINE = MergeTree ORDER BY id")
            t = time.perf_counter()
            for lo in range(0, args.rows, 50_000):
                hi = min(args.rows, lo + 50_000)
                tbl = pa.table({"id": pa.array(np.arange(lo, hi, dtype=np.uint32)),
                                "vec": pa.FixedSizeListArray.from_arrays(pa.array(X[lo:hi].reshape(-1)), 512)})
                sink = io.BytesIO()
                with pa.ipc.new_stream(sink, tbl.schema) as w:
                    w.write_table(tbl)
                c.raw_insert("v", ["id", "vec"], insert_block=sink.getvalue(), fmt="ArrowStream")
            c.command("OPTIMIZE TABLE v FINAL")
            out["build_s"] = round(time.perf_counter() - t, 1)
            print(f"{args.rows:,} rows inserted, index built and merged in {out['build_s']} s", flush=True)
            truth = [numpy_topk(X, q) for q in Q]
            for ef in (64, 256):
                ms, rec = [], []
                for q, tr in zip(Q, truth):
                    lit = "[" + ",".join(f"{x:.9g}" for x in q) + "]"
                    sql = (f"SELECT id FROM v ORDER BY cosineDistance(vec, {lit}) LIMIT 10 "
                           f"SETTINGS hnsw_candidate_list_size_for_search = {ef}")
                    t = time.perf_counter()
                    rows = c.query(sql).result_rows
                    ms.append((time.perf_counter() - t) * 1000)
                    rec.append(recall([r[0] for r in rows], tr))
                out[f"ef_s_{ef}"] = {"p50_ms": round(statistics.median(ms), 2), "recall_at_10": round(float(np.mean(rec)), 3)}
                print(f"ef_s={ef}: p50 {out[f'ef_s_{ef}']['p50_ms']} ms, recall@10 {out[f'ef_s_{ef}']['recall_at_10']}",
                      flush=True)
            plan = "\n".join(r[0] for r in c.query(f"EXPLAIN indexes = 1 SELECT id FROM v ORDER BY cosineDistance(vec, {lit}) LIMIT 10").result_rows)
            out["index_used"] = "vector_similarity" in plan or " i" in plan
        finally:
            c.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
