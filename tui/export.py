"""Export a query result to CSV, JSON or Parquet. Vectors are written in full (an export is data)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from .output import _jsonable, cell_text

FORMATS = ("csv", "json", "parquet")


def default_dir() -> Path:
    from sqlext.db.paths import data_dir

    return data_dir() / "exports"


def format_for(path: Path, fmt: str | None = None) -> str:
    if fmt:
        fmt = fmt.lower()
    else:
        fmt = Path(path).suffix.lower().lstrip(".") or "csv"
    if fmt == "jsonl":
        fmt = "json"
    if fmt not in FORMATS:
        raise ValueError(f"cannot export to {fmt!r}: choose one of {', '.join(FORMATS)} (by file extension)")
    return fmt


def export_result(result, path: str | Path, fmt: str | None = None) -> Path:
    """Write `result` (columns, types, rows) to `path`; the format comes from `fmt` or the extension."""
    path = Path(path).expanduser()
    fmt = format_for(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = list(result.columns)
    types = list(result.types or [""] * len(cols))
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(cols)
            for r in result.rows:
                w.writerow([cell_text(v, t, full_vectors=True) for v, t in zip(r, types)])
    elif fmt == "json":
        rows = [{c: _jsonable(v, True) for c, v in zip(cols, r)} for r in result.rows]
        with open(path, "w", encoding="utf-8") as f:
            json.dump(rows, f, ensure_ascii=False)
            f.write("\n")
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrays = []
        for i, c in enumerate(cols):
            values = [r[i] for r in result.rows]
            try:
                arr = pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
                arr = pa.array([None if v is None else cell_text(v, types[i], full_vectors=True) for v in values],
                               type=pa.string())
            arrays.append(arr)
        pq.write_table(pa.Table.from_arrays(arrays, names=cols), path)
    return path
