"""Import precomputed embeddings, streamed in chunks and inserted columnar (ArrowStream).

Layouts:
- clip-retrieval output: DIR/embeddings/img_emb/img_emb_<n>.npy beside DIR/metadata/metadata_<n>.parquet
  (row i of the .npy is row i of the parquet: url or image_path, caption, ...);
- one .npy file, with `metadata=` a parquet file of the same length (or no metadata);
- parquet file(s) holding a vector column (`vector_column=`; default: the first of
  embedding / vector / photo_embed / emb / image_embedding / clip_embedding present).

Vectors are stored as given (cast to Float32; not re-normalised); their dimension must match the
vector column's `CHECK length(col) = N`. Rows are keyed for resumability by `id_column` (default:
the first of photo_id / image_path / url / key present); without one, a row's id is its vector's
content (`ingest.ids.vector_ids`) and its photo_id says where it came from ("<file>#<row>").
"""
from __future__ import annotations

import queue
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlext.errors import UsageError
from .ids import stable_ids, vector_ids
from .progress import NoProgress
from .report import FailureLog, IngestReport
from .target import Target, parse_column_map

VECTOR_CANDIDATES = ("embedding", "vector", "photo_embed", "emb", "image_embedding", "clip_embedding", "img_emb")
KEY_CANDIDATES = ("photo_id", "image_path", "url", "key")
# clip-retrieval / img2dataset metadata names -> the built-in table's names
DEFAULT_MAP = {"url": "photo_image_url", "image_path": "photo_image_url", "caption": "photo_description",
               "width": "photo_width", "height": "photo_height"}
CHUNK_ROWS = 65536


@dataclass
class _Part:
    name: str  # shown in errors and in fallback keys
    npy: Path | None
    parquet: Path | None


def _num(p: Path) -> int:
    m = re.search(r"(\d+)(?=\.[^.]+$)", p.name)
    return int(m.group(1)) if m else -1


def find_parts(source: str | Path, metadata: str | Path | None = None) -> list[_Part]:
    """The parts of a precomputed-embedding source, in order: a .npy file (with `metadata`, a
    parquet of its rows, when given), a .parquet file (vectors in a column), or a clip-retrieval
    output folder (img_emb/img_emb_N.npy paired with metadata/metadata_N.parquet by N; else its
    parquet files). Raises UsageError when the path does not exist, is another kind of file,
    holds none of these, or an .npy has no metadata file of its number."""
    src = Path(source).expanduser()
    if not src.exists():
        raise UsageError(f"{src}: no such file or directory")
    if src.is_file():
        if src.suffix == ".npy":
            return [_Part(src.name, src, Path(metadata).expanduser() if metadata else None)]
        if src.suffix == ".parquet":
            return [_Part(src.name, None, src)]
        raise UsageError(f"{src}: expected a .npy or .parquet file, or a clip-retrieval output folder")
    npys = sorted((p for p in src.rglob("*.npy") if "text_emb" not in p.parts), key=lambda p: (_num(p), str(p)))
    parquets = sorted(src.rglob("*.parquet"), key=lambda p: (_num(p), str(p)))
    if npys:
        img = [p for p in npys if "img_emb" in p.parts or p.name.startswith("img_emb")] or npys
        meta = {_num(p): p for p in parquets if "metadata" in p.parts or p.name.startswith("metadata")}
        parts = []
        for p in img:
            m = meta.get(_num(p))
            if m is None and meta:
                raise UsageError(f"{p}: no metadata parquet with the same number under {src}/metadata",
                                 hint="clip-retrieval writes img_emb_N.npy beside metadata_N.parquet")
            parts.append(_Part(str(p.relative_to(src)), p, m))
        return parts
    if parquets:
        return [_Part(str(p.relative_to(src)), None, p) for p in parquets]
    raise UsageError(f"{src}: no .npy or .parquet files found")


def _iter_part(part: _Part, vector_column: str | None, chunk: int) -> Iterator[tuple[int, "object", "object"]]:
    """(first row, metadata RecordBatch or None, float32 (n, d) array) per chunk."""
    import numpy as np
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(part.parquet) if part.parquet else None
    if part.npy is not None:
        try:
            arr = np.load(part.npy, mmap_mode="r")
        except (OSError, ValueError) as e:
            raise UsageError(f"cannot read {part.npy}: {e}") from None
        if arr.ndim != 2:
            raise UsageError(f"{part.npy}: expected a 2-d array (rows x dimensions), got shape {arr.shape}")
        if pf is not None and pf.metadata.num_rows != arr.shape[0]:
            raise UsageError(f"{part.npy} has {arr.shape[0]} rows but {part.parquet} has {pf.metadata.num_rows}",
                             hint="row i of the .npy must describe row i of the parquet")
        batches = pf.iter_batches(batch_size=chunk) if pf is not None else None
        start = 0
        while start < arr.shape[0]:
            meta = next(batches) if batches is not None else None
            n = meta.num_rows if meta is not None else min(chunk, arr.shape[0] - start)
            yield start, meta, np.ascontiguousarray(arr[start:start + n], dtype=np.float32)
            start += n
        return
    names = pf.schema_arrow.names
    col = vector_column or next((c for c in VECTOR_CANDIDATES if c in names), None)
    if col is None or col not in names:
        raise UsageError(f"{part.parquet} has no vector column {vector_column or ''}".rstrip()
                         + f" (columns: {', '.join(names)})", hint="name it with --vector-column")
    start = 0
    for batch in pf.iter_batches(batch_size=chunk):
        v = batch.column(names.index(col))
        vecs = _list_to_numpy(v, part.parquet, col)
        meta = batch.drop_columns([col]) if hasattr(batch, "drop_columns") else batch
        yield start, meta, vecs
        start += batch.num_rows


def _list_to_numpy(arr, path, col):
    import numpy as np
    import pyarrow as pa

    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if not (pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t)):
        raise UsageError(f"{path}: column {col!r} is {t}, not a list of floats")
    n = len(arr)
    if n == 0:
        return np.zeros((0, 0), dtype=np.float32)
    if arr.null_count:
        raise UsageError(f"{path}: column {col!r} has {arr.null_count} null vectors")
    if pa.types.is_fixed_size_list(t):
        d = t.list_size
    else:
        offs = np.asarray(arr.offsets)
        lens = np.diff(offs)
        if lens.min() != lens.max():
            raise UsageError(f"{path}: column {col!r} has vectors of different lengths ({lens.min()}..{lens.max()})")
        d = int(lens[0])
    flat = arr.flatten().to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(flat.reshape(n, d), dtype=np.float32)


def ingest_vectors(session, source, *, metadata=None, vector_column: str | None = None, id_column: str | None = None,
                   table: str | None = None, column_map=None, limit: int | None = None,
                   chunk_rows: int = CHUNK_ROWS, report_path=None, progress=None,
                   release_engine: bool = True, stop=None, migrate_up: str | None = None) -> IngestReport:
    """Import precomputed vectors (see the module doc). Returns the report. `stop`: a
    threading.Event; once set (Ctrl-C), no further chunk is read, the chunk being inserted is
    finished, chunks read but not yet inserted are dropped (a rerun reads them again), and the
    report comes back with `interrupted` set. `migrate_up`: the command a
    missing-table hint suggests (default `embedsql migrate up`)."""
    import numpy as np
    import pyarrow as pa

    t0 = time.monotonic()
    report = IngestReport()
    log = FailureLog(report, report_path)
    progress = progress or NoProgress()
    parts = find_parts(source, metadata)
    target = Target.open(session, table, parse_column_map(column_map), release_engine=release_engine,
                         default_map=DEFAULT_MAP, migrate_up=migrate_up)
    id_col, vec_col = target.id_col, target.vector_col
    existing = target.existing_ids()
    seen: set[int] = set()
    total = 0
    for p in parts:
        if p.npy is not None:
            total += int(np.load(p.npy, mmap_mode="r").shape[0])
        elif p.parquet is not None:
            import pyarrow.parquet as pq

            total += pq.ParquetFile(p.parquet).metadata.num_rows
    if limit is not None:
        total = min(total, limit)

    writes: queue.Queue = queue.Queue(maxsize=2)
    writer_error: list[BaseException] = []
    lock = threading.Lock()

    def show():
        with lock:
            progress.update(report.ingested + report.failed + report.skipped_existing + report.repeated,
                            report.ingested, report.failed, report.skipped_existing)

    def write():
        while True:
            job = writes.get()
            if job is None:
                return
            if writer_error:
                continue
            if stop is not None and stop.is_set():
                # Ctrl-C: a chunk read but not yet written is dropped (a rerun reads it again);
                # one being inserted is finished. (Writing the queued ones took minutes.)
                report.interrupted = True
                continue
            try:
                report.ingested += target.insert_arrow(job)
            except BaseException as e:  # noqa: BLE001
                writer_error.append(e)
            show()

    writer = threading.Thread(target=write, name="ingest-vectors-write", daemon=True)
    progress.start(total, "import vectors")
    writer.start()
    try:
        remaining = limit
        for part in parts:
            key_col = None
            checked = False
            if stop is not None and stop.is_set():
                report.interrupted = True
                break
            for start, meta, vecs in _iter_part(part, vector_column, chunk_rows):
                if writer_error:
                    break
                if stop is not None and stop.is_set():
                    report.interrupted = True
                    break
                if remaining is not None:
                    if remaining <= 0:
                        break
                    if len(vecs) > remaining:
                        vecs = vecs[:remaining]
                        meta = meta.slice(0, remaining) if meta is not None else None
                    remaining -= len(vecs)
                n = len(vecs)
                report.inputs += n
                if not checked:
                    target.check_dim(vecs.shape[1] if vecs.ndim == 2 else 0, str(part.npy or part.parquet))
                    checked = True
                names = meta.schema.names if meta is not None else []
                if key_col is None:
                    if id_column:
                        if id_column not in names:
                            raise UsageError(f"{part.parquet or part.npy} has no column {id_column!r} (--id-column); "
                                             f"columns: {', '.join(names) or 'none'}")
                        key_col = id_column
                    else:
                        key_col = next((c for c in KEY_CANDIDATES if c in names), "")
                if key_col:
                    keys = [("" if k is None else str(k)) for k in meta.column(names.index(key_col)).to_pylist()]
                    ids = stable_ids(keys)
                else:
                    keys = [f"{part.name}#{start + i}" for i in range(n)]  # photo_id: where it came from
                    ids = vector_ids(vecs)
                good = np.isfinite(vecs).all(axis=1)
                empty = np.fromiter((not k for k in keys), dtype=bool, count=n)
                for i in np.flatnonzero(~good | empty):
                    label = keys[i] or f"{part.name}#{start + i}"
                    log.add(label, "empty key" if empty[i] else "vector has NaN or infinite values")
                usable = good & ~empty
                present = usable & np.isin(ids, existing, assume_unique=False)
                # the first occurrence of an id wins, within the chunk and across chunks; the
                # others repeat an earlier input of this run (as `run_items` counts them)
                _, first = np.unique(ids, return_index=True)
                firsts = np.zeros(n, dtype=bool)
                firsts[first] = True
                if seen:
                    firsts &= np.fromiter((int(x) not in seen for x in ids), dtype=bool, count=n)
                keep = usable & ~present & firsts
                for i in np.flatnonzero(usable & ~present & ~firsts):
                    what = f"the key {keys[i]!r}" if key_col else "the vector"
                    log.add(keys[i], f"repeats {what} of an earlier input: ingested once", repeated=True)
                idx = np.flatnonzero(keep)
                report.skipped_existing += int(present.sum())
                if len(idx) == 0:
                    show()
                    continue
                seen.update(ids[idx].tolist())
                v = vecs[idx] if len(idx) != n else vecs
                d = v.shape[1]
                offsets = pa.array(np.arange(0, (len(idx) + 1) * d, d, dtype=np.int32))
                cols = {id_col: pa.array(ids[idx]), vec_col: pa.ListArray.from_arrays(offsets, pa.array(v.ravel()))}
                key_target = target.col("photo_id")
                if key_target and key_target not in cols:
                    cols[key_target] = pa.array([keys[i] for i in idx], type=pa.string())
                src_col = target.col("source")
                if src_col and src_col not in cols and not (meta is not None and "source" in names):
                    cols[src_col] = pa.array(["vectors"] * len(idx), type=pa.string())
                if meta is not None:
                    sel = pa.array(idx) if len(idx) != n else None
                    for name in names:
                        dst = target.col(name)
                        if not dst or dst in cols:
                            continue
                        col = meta.column(names.index(name))
                        cols[dst] = col.take(sel) if sel is not None else col
                tbl = pa.table(cols)
                while True:
                    try:
                        writes.put(tbl, timeout=0.2)
                        break
                    except queue.Full:
                        if writer_error:
                            break
                show()
    except KeyboardInterrupt:
        report.interrupted = True
    finally:
        writes.put(None)
        writer.join()
        if stop is not None and stop.is_set():  # also when every chunk had been read by then
            report.interrupted = True
        log.close()
        report.seconds = time.monotonic() - t0
        show()
        progress.finish()
    if writer_error:
        raise writer_error[0]
    return report
