"""Tune the shipped vector index defaults on CLIP-like data (issue 10, item 4): ClickHouse's
vector_similarity HNSW index built with (m, ef_construction, quantization), searched with
`hnsw_candidate_list_size_for_search` = ef_s, with and without rescoring; recall@10 of text queries
against numpy's exact top-10, unfiltered. Not a test.

    python -m benchmarks.bench_hnsw_defaults [--rows N] [--queries Q] [--configs 32:128:bf16,...]
        [--ef 64,128,256,512] [--vectors PATH [--query-vectors PATH]] [--json PATH]

Data: benchmarks/clipdata.py (clustered, narrow cone, text queries across a modality gap), or real
vectors (`--vectors`: .npy, parquet, or a clip-retrieval output directory). Each configuration is
built once (insert, then OPTIMIZE ... FINAL so the table is one part, as a settled table is); the
figures of one run are measured in the same process, queries alternating between settings.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.floor import raw_client


def insert_arrow(c, table: str, vs, lo: int, hi: int) -> None:
    """Insert rows lo..hi of a VectorSet (id, u, c, vec) through ArrowStream (the fastest path)."""
    import io

    import numpy as np
    import pyarrow as pa

    d = vs.images.shape[1]
    tbl = pa.table({"id": pa.array(np.arange(lo, hi, dtype=np.uint32)), "u": pa.array(vs.u[lo:hi]),
                    "c": pa.array(vs.c[lo:hi]),
                    "vec": pa.FixedSizeListArray.from_arrays(pa.array(vs.images[lo:hi].reshape(-1)), d)})
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, tbl.schema) as w:
        w.write_table(tbl)
    c.raw_insert(table, ["id", "u", "c", "vec"], insert_block=sink.getvalue(), fmt="ArrowStream")


def builtin_storage() -> tuple[int, str | None]:
    """How embedsql's built-in photos table is stored (migrations/builtin/0001_photos_table.sql),
    read from the file with the DDL parsers the catalog uses, so benchmark tables are stored as
    embedsql's own table is: (index_granularity, rows per granule, 8192 when the file sets none;
    photo_embed's codec as written inside CODEC(...), e.g. 'NONE', None when it declares none:
    ClickHouse's default, LZ4)."""
    from migrations.files import load_builtin
    from sqlext.text.ddl import parse_column_codecs, parse_table_settings

    create = load_builtin()[0].up[0].text
    return (int(parse_table_settings(create).get("index_granularity", 8192)),
            parse_column_codecs(create).get("photo_embed"))


def create_vector_table(c, table: str, vs, index: str | None, *, chunk: int = 50_000,
                        granularity: int | None = None, codec: str | None = None) -> float:
    """CREATE TABLE (id, u, c, vec) with `index` (a vector_similarity(...) text, or None), insert all
    rows, OPTIMIZE FINAL. `granularity`: the table's index_granularity, `codec`: vec's CODEC(...)
    text (None: ClickHouse's defaults, 8192 and LZ4; the benchmarks pass the built-in table's,
    `builtin_storage()`). Returns seconds from the first insert
    to the merged, indexed table."""
    d = vs.images.shape[1]
    idx = f", INDEX vi vec TYPE {index}" if index else ""
    st = f" SETTINGS index_granularity = {int(granularity)}" if granularity else ""
    codec_sql = f" CODEC({codec})" if codec else ""
    c.command(f"DROP TABLE IF EXISTS {table}")
    c.command(f"CREATE TABLE {table} (id UInt32, u UInt16, c UInt16, vec Array(Float32){codec_sql}, "
              f"CONSTRAINT vec_len CHECK length(vec) = {d}{idx}) ENGINE = MergeTree ORDER BY id{st}")
    t = time.perf_counter()
    for lo in range(0, len(vs.images), chunk):
        insert_arrow(c, table, vs, lo, min(len(vs.images), lo + chunk))
    c.command(f"OPTIMIZE TABLE {table} FINAL")
    return time.perf_counter() - t


def main(argv=None) -> int:
    import numpy as np

    import sqlext
    from benchmarks.clipdata import clip_stats, exact_topk, load_vectors, make_clip_like
    from sqlext.text.rewrite import format_vector

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--configs", default="32:128:bf16",
                    help="comma list of m:ef_construction:quantization (bf16, f32, f16, i8, b1)")
    ap.add_argument("--ef", default="64,128,256,512")
    ap.add_argument("--rescoring-mult", default="2", help="fetch multipliers tried with rescoring on")
    ap.add_argument("--vectors")
    ap.add_argument("--query-vectors")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if args.vectors:
        vs = load_vectors(args.vectors, queries=args.query_vectors, n=args.rows, n_queries=args.queries)
    else:
        vs = make_clip_like(args.rows, args.queries, seed=args.seed)
    n, d = vs.images.shape
    out = {"rows": n, "dim": d, "queries": len(vs.queries), "data": vs.source, "params": vs.params,
           "geometry": clip_stats(vs), "loadavg_start": list(os.getloadavg()), "cores": os.cpu_count(),
           "results": []}
    print(json.dumps({k: out[k] for k in ("rows", "data", "geometry")}), flush=True)
    truth = [exact_topk(vs.images, q).tolist() for q in vs.queries]
    lits = [format_vector(q) for q in vs.queries]
    tmp = Path(tempfile.mkdtemp(prefix="embedsql-hnsw-"))
    try:
        s = sqlext.connect(dsn=f"chdb://{tmp}/db")
        with raw_client(s) as c:
            # exact scan floor, same run
            create_vector_table(c, "v", vs, None)
            sql = "SELECT id FROM v ORDER BY cosineDistance(vec, {v}) LIMIT 10"
            ms = []
            for lit in lits[:10]:
                t = time.perf_counter()
                c.query(sql.format(v=lit))
                ms.append((time.perf_counter() - t) * 1000)
            out["exact_p50_ms"] = round(statistics.median(ms), 2)
            print(f"exact scan p50 {out['exact_p50_ms']} ms", flush=True)
            for cfg in args.configs.split(","):
                m, efc, quant = cfg.split(":")
                index = f"vector_similarity('hnsw', 'cosineDistance', {d}, '{quant}', {m}, {efc})"
                build_s = create_vector_table(c, "v", vs, index)
                print(f"m={m} ef_c={efc} {quant}: built in {build_s:.0f} s", flush=True)
                variants = [(int(ef), 1.0, 0) for ef in args.ef.split(",")]
                variants += [(int(ef), float(mu), 1) for ef in args.ef.split(",")
                             for mu in args.rescoring_mult.split(",") if mu]
                times = {v: [] for v in variants}
                recs = {v: [] for v in variants}
                for v in variants:  # warm
                    c.query(sql.format(v=lits[0]), settings=_settings(v))
                for i, lit in enumerate(lits):
                    for v in variants:  # alternate settings per query: load hits them alike
                        t = time.perf_counter()
                        rows = c.query(sql.format(v=lit), settings=_settings(v)).result_rows
                        times[v].append((time.perf_counter() - t) * 1000)
                        recs[v].append(len({r[0] for r in rows} & set(truth[i])) / 10)
                for v in variants:
                    r = {"m": int(m), "ef_construction": int(efc), "quantization": quant, "build_s": round(build_s, 1),
                         "ef_search": v[0], "fetch_multiplier": v[1], "rescoring": v[2],
                         "p50_ms": round(statistics.median(times[v]), 2),
                         "recall10": round(float(np.mean(recs[v])), 3),
                         "recall10_min": round(float(np.min(recs[v])), 2)}
                    out["results"].append(r)
                    print(json.dumps(r), flush=True)
                if args.json:  # partial results survive a long run being stopped
                    Path(args.json).write_text(json.dumps(out, indent=1))
        s.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["loadavg_end"] = list(os.getloadavg())
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


def _settings(v) -> dict:
    ef, mult, resc = v
    return {"hnsw_candidate_list_size_for_search": ef, "vector_search_index_fetch_multiplier": mult,
            "vector_search_with_rescoring": resc}


if __name__ == "__main__":
    raise SystemExit(main())
