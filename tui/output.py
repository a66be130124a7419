"""Rendering of query results for the command line: rich table, CSV, TSV, JSON."""
from __future__ import annotations

import csv
import datetime as _dt
import decimal
import io
import json
import uuid

VECTOR_MIN_LEN = 16


def is_vector(value) -> bool:
    return isinstance(value, (list, tuple)) and len(value) >= VECTOR_MIN_LEN and all(
        isinstance(x, float) for x in value[:4])


def elide(value, type_name: str = "") -> str:
    elem = "Float32"
    if "Float64" in type_name:
        elem = "Float64"
    return f"[{len(value)} x {elem}]"


def cell_text(value, type_name: str = "", full_vectors: bool = False, compact: bool = False) -> str:
    """Text of one cell. compact (tables on screen): floats to 6 significant digits."""
    if value is None:
        return "NULL"
    if is_vector(value) and not full_vectors:
        return elide(value, type_name)
    if isinstance(value, float):
        if compact:
            return f"{value:.6g}"
        if "Float32" in type_name:
            return repr(float(_f32(value)))
        return repr(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, (list, tuple)) and "Float32" in type_name:
        value = _f32_deep(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_jsonable(value, full_vectors), ensure_ascii=False)
    return str(value)


def _f32(value: float):
    import numpy as np

    return float(str(np.float32(value)))


def _f32_deep(value):
    if isinstance(value, float):
        return _f32(value)
    if isinstance(value, (list, tuple)):
        return [_f32_deep(v) for v in value]
    return value


def _jsonable(value, full_vectors: bool):
    if is_vector(value) and not full_vectors:
        return elide(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, full_vectors) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v, full_vectors) for k, v in value.items()}
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    return value


def render(result, fmt: str, *, full_vectors: bool = False, console=None) -> str | None:
    """Return text for csv/tsv/json; print a rich table for `table` (returns None)."""
    cols, types = result.columns, result.types or [""] * len(result.columns)
    if fmt == "json":
        rows = [{c: _jsonable(_f32_deep(v) if "Float32" in t else v, full_vectors)
                 for c, t, v in zip(cols, types, r)} for r in result.rows]
        return json.dumps(rows, ensure_ascii=False, indent=None) + "\n"
    if fmt in ("csv", "tsv"):
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        w.writerow(cols)
        for r in result.rows:
            w.writerow([cell_text(v, t, full_vectors) for v, t in zip(r, types)])
        return buf.getvalue()
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", show_lines=False)
    for c, t in zip(cols, types):
        table.add_column(f"{c}\n[dim]{t}[/dim]" if t else c, overflow="fold")
    for r in result.rows:
        table.add_row(*[_escape(cell_text(v, t, full_vectors, compact=True)) for v, t in zip(r, types)])
    console.print(table)
    n = len(result.rows)
    console.print(f"[dim]{n} row{'s' if n != 1 else ''}[/dim]")
    return None


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
