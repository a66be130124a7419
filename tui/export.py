"""Export a query result (the rows the app holds, every one, vectors in full) to a file.

Formats, by the file's extension:
- `.csv`: ClickHouse's CSVWithNames, as ClickHouse writes it: a header of quoted names, NULL as
  `\\N`, numbers and Bool bare, other values quoted in ClickHouse's text (`"[1,NULL]"`,
  `"{'k':1}"`, `"2024-01-02 03:04:05"`), a Tuple one field per element (`t.1`, `t.2`);
- `.json`: a JSON array of objects, each one line of ClickHouse's JSONEachRow (integers as exact
  numbers, NaN and infinities as "nan"/"inf"/"-inf", dates and times as strings, a named Tuple
  as an object, a Map as an object, JSON as itself);
- `.jsonl` / `.ndjson`: the same objects, one per line;
- `.parquet`: each column with its natural Arrow type (integers, floats, bool, decimal128/256,
  string, fixed_size_binary for FixedString, date32, timestamp with the column's unit and time
  zone, duration for Time/Time64, uuid, list for Array, struct for Tuple, map for Map,
  dictionary-encoded strings for Enum and LowCardinality(String)). Types without one are
  written as ClickHouse's text in a string column: Int128/UInt128/Int256/UInt256, IPv4, IPv6,
  JSON, Dynamic, Variant. Each field's metadata keeps its ClickHouse type (`clickhouse_type`).

Writing is atomic: the file is written under a temporary name in the target directory and renamed
over the target only when complete. On any failure nothing is left behind and one `ExportError`
says which file and why.
"""
from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

from embed.errors import UserFacingError

from . import chtext

EXPORT_FORMATS = ("csv", "json", "jsonl", "parquet")
_ALIASES = {"ndjson": "jsonl", "pq": "parquet"}


class ExportError(UserFacingError):
    """An export that could not be written (nothing was left on disk)."""


def default_dir() -> Path:
    """Where the TUI offers to save exports: `exports` in embedsql's data directory (not created
    here)."""
    from sqlext.db.paths import data_dir

    return data_dir() / "exports"


def format_for(path: Path, fmt: str | None = None) -> str:
    """The export format for `path`: `fmt` when given, else the extension (csv by default).
    Raises ExportError for anything else."""
    fmt = (fmt or Path(path).suffix.lstrip(".") or "csv").lower()
    fmt = _ALIASES.get(fmt, fmt)
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"cannot export to {str(path)!r}: {fmt!r} is not a format embedsql writes",
                          hint="end the file name with .csv, .json, .jsonl or .parquet")
    return fmt


def export_path(text: str | Path) -> Path:
    """The file an export named `text` goes to: `~` expanded, absolute (relative to the current
    directory), `.csv` added when the name has no extension (the status line then names the
    file as written)."""
    path = Path(text).expanduser().absolute()
    return path if path.suffix else path.with_name(path.name + ".csv")


def export_result(result, path: str | Path, fmt: str | None = None) -> Path:
    """Write `result` (`columns`, `types`, `rows`, as `sqlext.Result`) to `path` in `fmt` (or the
    format its extension names). Returns the path written. Atomic; raises ExportError (nothing
    written) when the folder does not exist (only `default_dir()` is created), a file stands
    where a folder of the path should be, the folder cannot be written, the path is a
    directory, or a value cannot be converted."""
    path = Path(path).expanduser()
    fmt = format_for(path, fmt)
    cols = list(result.columns)
    types = list(result.types or [""] * len(cols))
    tmp = None
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ExportError(f"cannot export to {str(path)!r}: {blocker} is a file, not a folder",
                          hint="choose a file in a folder you can write to")
    if not path.parent.is_dir() and path.parent.absolute() != default_dir().absolute():
        # a typo (or text typed in front of the default path) would otherwise make folders
        raise ExportError(f"cannot export to {str(path)!r}: the folder {path.parent} does not exist",
                          hint="create it first, or choose a file in an existing folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.part"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            if fmt == "csv":
                _write_csv(f, cols, types, result.rows)
            elif fmt in ("json", "jsonl"):
                _write_json(f, cols, types, result.rows, lines=fmt == "jsonl")
            else:
                _write_parquet(f, cols, types, result.rows)
            f.flush()
            os.fsync(f.fileno())
        if path.is_dir():
            raise IsADirectoryError(21, "is a directory")
        os.replace(tmp, path)
        tmp = None
    except ExportError:
        raise
    except OSError as exc:
        raise ExportError(f"cannot export to {str(path)!r}: {exc.strerror or exc}",
                          hint="choose a file in a directory you can write to") from None
    except Exception as exc:  # a value the writer could not convert
        raise ExportError(f"cannot export to {str(path)!r} as {fmt}: {type(exc).__name__}: {exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return path


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")  # FixedString bytes that are not UTF-8, as they were


def _write_csv(f, cols, types, rows) -> None:
    parsed = [chtext.parse_type(t) for t in types]
    names = [n for c, t in zip(cols, types) for n in chtext.csv_names(c, t)]
    f.write(_encode(",".join('"' + n.replace('"', '""') + '"' for n in names) + "\n"))
    for r in rows:
        f.write(_encode(",".join(x for v, t in zip(r, parsed) for x in chtext.csv_fields(v, t)) + "\n"))


def _write_json(f, cols, types, rows, *, lines: bool) -> None:
    parsed = [chtext.parse_type(t) for t in types]
    keys = [chtext.json_string(c) for c in cols]
    sep = b"\n" if lines else b",\n"
    if not lines:
        f.write(b"[" if not rows else b"[\n")
    for i, r in enumerate(rows):
        if i:
            f.write(sep)
        f.write(_encode("{" + ",".join(f"{k}:{chtext.json_value(v, t)}" for k, v, t in zip(keys, r, parsed)) + "}"))
    if lines:
        f.write(b"\n" if rows else b"")
    else:
        f.write(b"\n]\n" if rows else b"]\n")


# -- Parquet -----------------------------------------------------------------------------------------

def _arrow(t: chtext.CHType):
    """(Arrow type, converter from the Python value or None when the value goes as it is)."""
    import pyarrow as pa

    n = t.name
    simple = {"Int8": pa.int8(), "Int16": pa.int16(), "Int32": pa.int32(), "Int64": pa.int64(),
              "UInt8": pa.uint8(), "UInt16": pa.uint16(), "UInt32": pa.uint32(), "UInt64": pa.uint64(),
              "Float32": pa.float32(), "BFloat16": pa.float32(), "Float64": pa.float64(), "Bool": pa.bool_(),
              "String": pa.string(), "Date": pa.date32(), "Date32": pa.date32(), "Nothing": pa.null()}
    if n in simple:
        return simple[n], None
    if n.startswith("Interval"):
        return pa.int64(), None
    if n.startswith("Decimal"):
        p, s = _decimal_ps(t)
        return (pa.decimal128(p, s) if p <= 38 else pa.decimal256(p, s)), None
    if n == "FixedString":
        return pa.binary(int(str(t.args[0]))), None
    if n in ("Enum8", "Enum16"):
        return pa.dictionary(pa.int16(), pa.string()), None
    if n in ("DateTime", "DateTime64"):
        args = [str(a).strip("'") for a in t.args]
        if n == "DateTime":
            unit, tz = "s", (args[0] if args else None)
        else:
            p = int(args[0]) if args else 3
            unit = "s" if p == 0 else "ms" if p <= 3 else "us" if p <= 6 else "ns"
            tz = args[1] if len(args) > 1 else None
        return pa.timestamp(unit, tz=tz), None
    if n in ("Time", "Time64"):
        p = int(str(t.args[0])) if n == "Time64" and t.args else 0
        return pa.duration("s" if p == 0 else "ms" if p <= 3 else "us" if p <= 6 else "ns"), None
    if n == "UUID":
        return pa.uuid(), lambda v: v.bytes
    if n == "Array":
        et, conv = _arrow(t.arg(0))
        return pa.list_(et), (None if conv is None else lambda v: [None if x is None else conv(x) for x in v])
    if n == "Tuple":
        names = [f or str(i) for i, f in enumerate(t.fields or [""] * len(t.args), 1)]
        parts = [_arrow(a) for a in t.args]
        typ = pa.struct([pa.field(nm, at) for nm, (at, _) in zip(names, parts)])

        def tup(v, names=names, parts=parts):
            vals = list(v.values()) if isinstance(v, dict) else list(v)
            return {nm: (None if x is None or c is None else c(x)) if c else x
                    for nm, x, (_, c) in zip(names, vals, parts)}
        return typ, tup
    if n == "Map":
        (kt, kc), (vt, vc) = _arrow(t.arg(0)), _arrow(t.arg(1))
        if kt == pa.null() or pa.types.is_dictionary(kt):
            kt, kc = pa.string(), lambda v, kt=t.arg(0): chtext.text(v, kt)

        def mp(v, kc=kc, vc=vc):
            items = v.items() if isinstance(v, dict) else v
            return [(kc(k) if kc else k, (vc(x) if vc and x is not None else x)) for k, x in items]
        return pa.map_(kt, vt), mp
    # no natural Arrow type: ClickHouse's text (Int128/256, IPv4/IPv6, JSON, Dynamic, Variant, ...)
    return pa.string(), lambda v, t=t: chtext.text(v, t)


def _decimal_ps(t: chtext.CHType) -> tuple[int, int]:
    args = [int(str(a)) for a in t.args]
    fixed = {"Decimal32": 9, "Decimal64": 18, "Decimal128": 38, "Decimal256": 76}
    if t.name in fixed:
        return fixed[t.name], args[0] if args else 0
    return (args[0], args[1]) if len(args) == 2 else (args[0] if args else 10, 0)


def _write_parquet(f, cols, types, rows) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields, arrays = [], []
    for i, (c, tn) in enumerate(zip(cols, types)):
        t = chtext.parse_type(tn)
        at, conv = _arrow(t)
        values = [r[i] for r in rows]
        if conv is not None:
            values = [None if v is None else conv(v) for v in values]
        arrays.append(pa.array(values, type=at))
        fields.append(pa.field(c, at, metadata={"clickhouse_type": tn}))
    pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), f)
