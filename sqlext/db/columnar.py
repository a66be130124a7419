"""Columnar results: what `Session.query_arrow` / `query_df` / `query_np` / `query_arrow_stream`
make of the Arrow data the database sends.

ClickHouse's Arrow output is kept as it is, with these corrections:
- a vector column (`Array(Float32)`, `Array(Float64)`, `Array(BFloat16)`: an Arrow list of floats)
  whose arrays all have one length N becomes `fixed_size_list<float>[N]`, so it converts to an
  (rows, N) numpy matrix without a Python object per value (`vector_matrix`);
- `DateTime` columns, which ClickHouse writes as uint32 seconds, become `timestamp[s, tz]`
  (the column's time zone, UTC when it has none);
- `Enum8` / `Enum16` columns, which ClickHouse writes as their int8 / int16 codes, become
  `dictionary<int16, string>` holding the labels (as the TUI's Parquet export writes them; a
  pandas Categorical in `to_pandas`);
- `Int128` / `UInt128` / `Int256` / `UInt256` columns, which ClickHouse writes as raw
  little-endian `fixed_size_binary[16/32]`, become `string` columns of the decimal digits (as the
  Parquet export writes them: Arrow has no integer that wide), their field metadata keeping the
  ClickHouse type (`clickhouse_type`); `to_pandas` turns them into Python ints.
Which columns these are is asked of the database (`DESCRIBE`) only when the result holds a
column of an Arrow type one of them arrives as (uint32, int8, int16, fixed_size_binary[16/32]).
Inside Array, Tuple or Map they stay as ClickHouse sends them.

Pure data handling: nothing here talks to a database.
"""
from __future__ import annotations

import re
from typing import Callable, Iterator

from ..errors import UsageError

__all__ = ["fix_table", "fix_batch", "vector_matrix", "to_pandas", "to_numpy", "is_arrow_vector_type",
           "BatchFixer", "ArrowStream"]

_DATETIME = re.compile(r"^(?:Nullable\()?(?:LowCardinality\()?DateTime(?:\('([^']*)'\))?\)?\)?$")


def is_arrow_vector_type(t) -> bool:
    """Is the Arrow type a list (or fixed-size list) of floats: a vector column?"""
    import pyarrow as pa

    return ((pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))
            and pa.types.is_floating(t.value_type))


def _fixed_chunk(arr, dim: int | None):
    """A list-of-floats array as a fixed_size_list array (every element of length `dim`, or of
    the array's one common length when `dim` is None); None when the lengths differ, an element
    is NULL, or the arrays are empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_fixed_size_list(arr.type):
        return arr if dim in (None, arr.type.list_size) else None
    if arr.null_count or len(arr) == 0:
        return None
    lo, hi = (v.as_py() for v in pc.min_max(pc.list_value_length(arr)).values())
    if lo != hi or not lo or (dim is not None and lo != dim):
        return None
    return pa.FixedSizeListArray.from_arrays(arr.flatten(), lo)


_ENUM = re.compile(r"^(?:Nullable\()?(Enum(?:8|16))\((.*)\)\)?$", re.S)
_ENUM_ITEM = re.compile(r"'((?:[^'\\]|\\.|'')*)'\s*=\s*(-?\d+)")
_BIG_INT = re.compile(r"^(?:Nullable\()?(?:LowCardinality\()?(U?Int(?:128|256))\)?\)?$")
_ESCAPE = re.compile(r"\\(.)|''")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "0": "\0", "b": "\b", "f": "\f"}


def _enum_labels(ch_type: str) -> dict[int, str] | None:
    """code -> label of an Enum8/Enum16 type (or Nullable of one); None for any other type."""
    m = _ENUM.match((ch_type or "").strip())
    if not m:
        return None
    return {int(code): _ESCAPE.sub(lambda e: "'" if e.group(0) == "''" else _ESCAPES.get(e.group(1), e.group(1)), label)
            for label, code in _ENUM_ITEM.findall(m.group(2))}


def _big_int(ch_type: str) -> str | None:
    """'Int128' / 'UInt128' / 'Int256' / 'UInt256' for such a type (or Nullable of one), else None."""
    m = _BIG_INT.match((ch_type or "").replace(" ", ""))
    return m.group(1) if m else None


def _enum_array(col, labels: dict[int, str]):
    """An int8/int16 array (or chunked array) of Enum codes as dictionary<int16, string>: the
    dictionary is every label in code order, so a pandas Categorical lists them all."""
    import pyarrow as pa

    codes = sorted(labels)
    dictionary = pa.array([labels[c] for c in codes], pa.string())
    position = {c: i for i, c in enumerate(codes)}
    typ = pa.dictionary(pa.int16(), pa.string())

    def one(arr):
        idx = pa.array([None if v is None else position.get(v) for v in arr.to_pylist()], pa.int16())
        return pa.DictionaryArray.from_arrays(idx, dictionary)

    if isinstance(col, pa.ChunkedArray):
        return pa.chunked_array([one(c) for c in col.chunks], type=typ)
    return one(col)


def _big_int_array(col, name: str):
    """A fixed_size_binary[16/32] array of little-endian two's-complement integers as a string
    array of their decimal digits."""
    import pyarrow as pa

    signed = not name.startswith("U")

    def one(arr):
        return pa.array([None if v is None else str(int.from_bytes(v, "little", signed=signed))
                         for v in arr.to_pylist()], pa.string())

    if isinstance(col, pa.ChunkedArray):
        return pa.chunked_array([one(c) for c in col.chunks], type=pa.string())
    return one(col)


def _maybe_special(t) -> bool:
    """Could a column of Arrow type `t` be one the corrections retype (DateTime, Enum, wide ints)?"""
    import pyarrow as pa

    return (pa.types.is_uint32(t) or pa.types.is_int8(t) or pa.types.is_int16(t)
            or (pa.types.is_fixed_size_binary(t) and t.byte_width in (16, 32)))


def _datetime_tz(ch_type: str) -> str | None:
    """The Arrow time zone for a ClickHouse DateTime type ("UTC" when it names none); None when
    the type is not DateTime."""
    m = _DATETIME.match((ch_type or "").replace(" ", ""))
    if not m:
        return None
    return m.group(1) or "UTC"


class BatchFixer:
    """Applies the corrections to one result, table or batch after batch, keeping one schema:
    the vector dimension of a column is fixed by the first batch that has rows, and the DateTime
    columns are looked up once (`describe()` -> [(name, ClickHouse type)], called only when a
    uint32 column shows up; an error there leaves the columns as uint32).

    `fixed_vectors=False` leaves vector columns as variable-length lists."""

    def __init__(self, describe: Callable[[], list[tuple[str, str]]] | None, fixed_vectors: bool = True):
        self._describe = describe
        self._fixed_vectors = fixed_vectors
        self._dims: dict[str, int | None] = {}
        self._tz: dict[int, str] | None = None
        self._enums: dict[int, dict[int, str]] = {}
        self._big: dict[int, tuple[str, str]] = {}

    def _datetime_columns(self, schema) -> dict[int, str]:
        import pyarrow as pa

        if self._tz is None:
            self._tz = {}
            if self._describe is not None and any(_maybe_special(f.type) for f in schema):
                try:
                    described = self._describe()
                except Exception:  # an old server or an odd statement: keep the values as sent
                    described = []
                if len(described) == len(schema):
                    for i, (_, ch_type) in enumerate(described):
                        t = schema.field(i).type
                        tz = _datetime_tz(ch_type)
                        if tz and pa.types.is_uint32(t):
                            self._tz[i] = tz
                        labels = _enum_labels(ch_type)
                        if labels and (pa.types.is_int8(t) or pa.types.is_int16(t)):
                            self._enums[i] = labels
                        big = _big_int(ch_type)
                        if big and pa.types.is_fixed_size_binary(t):
                            self._big[i] = (big, ch_type)
        return self._tz

    def columns(self, names: list[str], columns: list, schema) -> tuple[list, list]:
        """Corrected (columns, fields) for one table/batch: `columns` are its arrays (or chunked
        arrays) in `schema` order."""
        import pyarrow as pa

        tz = self._datetime_columns(schema)
        out_cols, out_fields = [], []
        for i, (field, col) in enumerate(zip(schema, columns)):
            if i in tz:
                col = col.cast(pa.int64()).cast(pa.timestamp("s", tz=tz[i]))
                field = pa.field(field.name, col.type, field.nullable)
            elif i in self._enums and (pa.types.is_int8(field.type) or pa.types.is_int16(field.type)):
                col = _enum_array(col, self._enums[i])
                field = pa.field(field.name, col.type, field.nullable)
            elif i in self._big and pa.types.is_fixed_size_binary(field.type):
                name, ch_type = self._big[i]
                col = _big_int_array(col, name)
                field = pa.field(field.name, col.type, field.nullable, metadata={"clickhouse_type": ch_type})
            elif self._fixed_vectors and is_arrow_vector_type(field.type) and not pa.types.is_fixed_size_list(field.type):
                fixed = self._fix_vector(field.name, col)
                if fixed is not None:
                    col = fixed
                    field = pa.field(field.name, col.type, field.nullable)
            out_cols.append(col)
            out_fields.append(field)
        return out_cols, out_fields

    def _fix_vector(self, name: str, col):
        import pyarrow as pa

        chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
        if sum(len(c) for c in chunks) == 0:
            return None  # no rows: the dimension is unknown
        dim = self._dims.get(name)
        if name in self._dims and dim is None:
            return None  # an earlier batch had ragged arrays: keep lists throughout
        fixed = [_fixed_chunk(c, dim) for c in chunks if len(c)]
        if any(f is None for f in fixed):
            if name in self._dims:
                raise UsageError(
                    f"column {name!r} changed shape mid-stream: earlier rows held {dim}-element arrays, "
                    f"later rows arrays of other lengths",
                    hint="pass fixed_vectors=False to get variable-length lists")
            self._dims[name] = None
            return None
        dim = fixed[0].type.list_size
        if any(f.type.list_size != dim for f in fixed):
            self._dims[name] = None
            return None
        self._dims[name] = dim
        if isinstance(col, pa.ChunkedArray):
            return pa.chunked_array(fixed, type=fixed[0].type)
        return fixed[0]


def fix_table(table, fixer: BatchFixer):
    """`table` (pyarrow.Table) with the corrections applied."""
    import pyarrow as pa

    cols, fields = fixer.columns(table.column_names, table.columns, table.schema)
    return pa.Table.from_arrays(cols, schema=pa.schema(fields, metadata=table.schema.metadata))


def fix_batch(batch, fixer: BatchFixer):
    """`batch` (pyarrow.RecordBatch) with the corrections applied."""
    import pyarrow as pa

    cols, fields = fixer.columns(batch.schema.names, batch.columns, batch.schema)
    return pa.RecordBatch.from_arrays(cols, schema=pa.schema(fields, metadata=batch.schema.metadata))


def vector_matrix(column):
    """A fixed_size_list column (Array or ChunkedArray, no NULL rows) as a (rows, N) numpy array of
    its float type, without a Python object per value (zero-copy for a single chunk)."""
    import numpy as np
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    n, dim = len(column), column.type.list_size
    values = column.flatten()
    if len(values) != n * dim:  # pragma: no cover - fixed_size_list always holds n * dim values
        raise ValueError("vector column has NULL rows")
    return np.asarray(values.to_numpy(zero_copy_only=False)).reshape(n, dim)


def to_pandas(table):
    """A pandas DataFrame from a corrected table: one numpy float array per row in vector columns,
    pandas' nullable integer dtypes (Int32, UInt64, ...) for integer columns holding NULL, Python
    ints (object dtype) for Int128/UInt128/Int256/UInt256 columns, a Categorical of the labels
    for Enum columns, NaN/None elsewhere as pyarrow converts them."""
    import pandas as pd
    import pyarrow as pa

    nullable_ints = {
        pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(),
    }
    vectors = [i for i, f in enumerate(table.schema) if pa.types.is_fixed_size_list(f.type)]
    plain = table.drop_columns([table.column_names[i] for i in vectors]) if vectors else table
    df = plain.to_pandas()
    for i, name in enumerate(plain.column_names):
        col = plain.column(i)
        if pa.types.is_integer(col.type) and col.null_count:
            df.isetitem(i, col.to_pandas(types_mapper=nullable_ints.get))
        elif _big_int((plain.schema.field(i).metadata or {}).get(b"clickhouse_type", b"").decode()):
            df.isetitem(i, pd.Series([None if v is None else int(v) for v in col.to_pylist()], dtype=object))
    for i in vectors:  # in column order, so each goes back to its own position
        col = table.column(i)
        cells = col.to_pandas() if col.null_count else pd.Series(list(vector_matrix(col)), dtype=object)
        df.insert(i, table.column_names[i], cells)  # row views of one (rows, N) matrix
    return df


def to_numpy(table):
    """A numpy array from a corrected table, as clickhouse-connect's `query_np` shapes it: a 2-D
    array (rows, columns) when every column has one plain dtype, else a structured array with one
    field per column. A vector column is an (N,)-shaped float field, so `a['emb']` is a (rows, N)
    matrix; a result of one vector column is that (rows, N) matrix itself. Strings are objects;
    NULL integers become NaN floats (pyarrow's conversion)."""
    import numpy as np
    import pyarrow as pa

    n = table.num_rows
    fields, arrays = [], []
    for name, col in zip(table.column_names, table.columns):
        if pa.types.is_fixed_size_list(col.type) and not col.null_count:
            m = vector_matrix(col)
            fields.append((name, m.dtype, (m.shape[1],)))
            arrays.append(m)
        else:
            a = col.to_numpy()  # ChunkedArray.to_numpy copies as needed
            if a.dtype.kind in "OU":
                a = a.astype(object)
            fields.append((name, a.dtype))
            arrays.append(a)
    if len(arrays) == 1 and len(fields[0]) == 3:
        return arrays[0]
    if arrays and all(len(f) == 2 for f in fields) and len({f[1] for f in fields}) == 1:
        return np.column_stack(arrays) if n else np.empty((0, len(arrays)), dtype=fields[0][1])
    out = np.empty(n, dtype=[(f[0], f[1], f[2]) if len(f) == 3 else f for f in fields])
    for f, a in zip(fields, arrays):
        out[f[0]] = a
    return out


class ArrowStream:
    """The batches of one query, read as they arrive: iterate for `pyarrow.RecordBatch` objects
    (each holding at most `batch_rows` rows); use it in a `with` block, or call `close()`, so the
    query and the database are released when you stop early. `read_all()` gathers the rest into a
    `pyarrow.Table`. Iterate it in one thread."""

    def __init__(self, batches: Iterator):
        self._batches = batches
        self._closed = False

    def __iter__(self):
        return self

    def __next__(self):
        if self._closed:
            raise StopIteration
        return next(self._batches)

    def read_all(self):
        """The remaining batches as one `pyarrow.Table` (empty, with no columns, when none come)."""
        import pyarrow as pa

        batches = list(self)
        if not batches:
            return pa.table({})
        return pa.Table.from_batches(batches)

    def close(self) -> None:
        """Stop reading: the query ends and the database is released. Idempotent."""
        if not self._closed:
            self._closed = True
            close = getattr(self._batches, "close", None)
            if close is not None:
                close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
