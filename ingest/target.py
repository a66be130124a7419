"""The table rows go into: its columns and types, the vector column's dimension, the ids already
present, and columnar batched inserts.

Sources produce rows keyed by *logical* names: the built-in photo table's column names
(`id`, `photo_id`, `photo_image_url`, `photo_embed`, `photo_description`, `photo_width`, ...).
A column map (`{"photo_description": "caption", "photo_location_city": ""}`) renames them for
another table or drops them (empty target). Logical columns the table lacks are left out, so one
reader serves any table that has at least an id column and a vector column.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from sqlext.errors import UsageError
from sqlext.text.ddl import qualified_name, quote_identifier

DEFAULT_TABLE = "photos"
#: the command that creates the built-in table, as error hints name it (`Target.open(migrate_up=...)`)
MIGRATE_UP = "embedsql migrate up"
ID, KEY, URL, VECTOR = "id", "photo_id", "photo_image_url", "photo_embed"


def parse_column_map(pairs: Iterable[str] | Mapping[str, str] | None) -> dict[str, str]:
    """["src=dst", "dropme="] -> {"src": "dst", "dropme": ""}."""
    if pairs is None:
        return {}
    if isinstance(pairs, Mapping):
        return {str(k): str(v) for k, v in pairs.items()}
    out = {}
    for p in pairs:
        if "=" not in p:
            raise UsageError(f"--column-map {p!r}: expected SOURCE=COLUMN (or SOURCE= to drop it)")
        k, v = p.split("=", 1)
        if not k.strip():
            raise UsageError(f"--column-map {p!r}: the source name is empty")
        out[k.strip()] = v.strip()
    return out


def _ident(name: str) -> str:
    return quote_identifier(name, always=True)


# ------------------------------------------------------------------ value conversion (pure)

_WRAPPERS = re.compile(r"^(Nullable|LowCardinality)\((.*)\)$")


def _unwrap(ch_type: str) -> tuple[str, bool]:
    nullable = False
    t = ch_type.strip()
    while True:
        m = _WRAPPERS.match(t)
        if not m:
            return t, nullable
        nullable = nullable or m.group(1) == "Nullable"
        t = m.group(2).strip()


def _parse_datetime(value) -> _dt.datetime | None:
    if isinstance(value, _dt.datetime):
        return value
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day)
    text = str(value).strip()
    if not text:
        return None
    if re.match(r"^\d{4}:\d{2}:\d{2} ", text):  # EXIF: 2020:05:17 12:30:00
        text = text[:4] + "-" + text[5:7] + "-" + text[8:]
    text = text.replace("Z", "+00:00")
    try:
        d = _dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if d.tzinfo is not None:  # stored as UTC wall time
        d = d.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return d


_INT_TEXT = re.compile(r"^[+-]?\d+$")
_FLOAT32_MAX = 3.4028234663852886e38
_DATE_MIN, _DATE_MAX = _dt.date(1970, 1, 1), _dt.date(2149, 6, 6)
_DATETIME_MAX = _dt.datetime(2106, 2, 7, 6, 28, 15)


def _parse_int(value) -> int | None:
    """An integer, exactly: ints as they are, integer text with int(), other numbers (1e3, 3.0)
    only when integral; None otherwise."""
    if isinstance(value, int):
        return int(value)
    text = str(value).strip()
    if _INT_TEXT.match(text):
        return int(text)
    f = float(text)
    return int(f) if f.is_integer() else None


def _int_bounds(base: str) -> tuple[int, int]:
    bits = int(re.sub(r"\D", "", base))
    if base.startswith("U"):
        return 0, 2 ** bits - 1
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def _in_range(n: int | None, lo: int, hi: int) -> int | None:
    return n if n is not None and lo <= n <= hi else None


def _parse_decimal(value, base: str):
    """A decimal.Decimal for Decimal(P, S) / DecimalN(S), or None when it is not a finite number
    or its integer part has more than P - S digits."""
    import decimal

    d = decimal.Decimal(str(value).strip())  # InvalidOperation is an ArithmeticError
    if not d.is_finite():
        return None
    nums = [int(a) for a in re.findall(r"\d+", base)]
    if base.startswith("Decimal("):  # Decimal(P, S)
        precision, scale = nums[0], (nums[1] if len(nums) > 1 else 0)
    else:  # Decimal32(S), Decimal64(S), Decimal128(S), Decimal256(S)
        precision, scale = {32: 9, 64: 18, 128: 38, 256: 76}[nums[0]], (nums[1] if len(nums) > 1 else 0)
    if abs(d) >= decimal.Decimal(10) ** (precision - scale):
        return None
    return d


def convert_value(value: Any, ch_type: str) -> Any:
    """A source value (often text) as the Python value clickhouse-connect wants for `ch_type`.
    Integers are parsed exactly (integer text as is; a number in float notation only when it is
    integral) and Decimals without going through float. Empty or unparseable values, and values
    outside the type's range (UInt8..UInt256, Int8..Int256, Float32, Decimal(P, S), Date,
    DateTime), become NULL for Nullable columns and the type's zero otherwise: a bad metadata field
    never costs the row."""
    base, nullable = _unwrap(ch_type)
    empty = value is None or (isinstance(value, str) and value.strip() == "")
    if base.startswith("Array("):
        inner = base[6:-1]
        if empty:
            return []
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return [convert_value(v, inner) for v in value]
    result = None
    if not empty:
        try:
            if base in ("String",) or base.startswith(("FixedString", "Enum")):
                result = str(value)
            elif re.match(r"^U?Int\d+$", base):
                result = _in_range(_parse_int(value), *_int_bounds(base))
            elif base.startswith("Float"):
                result = float(value)
                if base == "Float32" and math.isfinite(result) and abs(result) > _FLOAT32_MAX:
                    result = None
            elif base.startswith("Decimal"):
                result = _parse_decimal(value, base)
            elif base == "Bool":
                result = value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "t", "yes", "y")
            elif base.startswith("DateTime"):
                result = _parse_datetime(value)
                if result is not None and (result.year < 1970 or (base == "DateTime" and result > _DATETIME_MAX)):
                    result = None
            elif base.startswith("Date"):
                d = _parse_datetime(value)
                result = d.date() if d is not None else None
                if result is not None and base == "Date" and not _DATE_MIN <= result <= _DATE_MAX:
                    result = None
            else:
                result = value
        except (ValueError, TypeError, KeyError, IndexError, ArithmeticError):
            result = None
    if result is None and not nullable:
        return _zero(base)
    return result


def _zero(base: str):
    if base.startswith(("String", "FixedString", "Enum")):
        return ""
    if re.match(r"^U?Int\d+$", base):
        return 0
    if base.startswith(("Float", "Decimal")):
        return 0.0
    if base == "Bool":
        return False
    if base.startswith("DateTime"):
        return _dt.datetime(1970, 1, 1)
    if base.startswith("Date"):
        return _dt.date(1970, 1, 1)
    if base.startswith(("Array", "Map")):
        return [] if base.startswith("Array") else {}
    return None


# ------------------------------------------------------------------ the target table

@dataclass
class Target:
    """A table to ingest into, looked up once per run."""

    session: Any
    table: str = DEFAULT_TABLE
    column_map: dict[str, str] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)  # actual column -> ClickHouse type
    comments: dict[str, str] = field(default_factory=dict)
    dim: int | None = None
    release_engine: bool = True  # embedded: let a waiting process in between batches
    migrate_up: str = MIGRATE_UP  # the command that creates the built-in table, as hints name it
    _pause: bool = False

    @classmethod
    def open(cls, session, table: str | None = None, column_map=None, *, release_engine: bool = True,
             default_map: Mapping[str, str] | None = None, migrate_up: str | None = None) -> "Target":
        """The table ingestion writes to (`table`, default `photos`; `column_map` as for --column-
        map), described from the session's catalog. `default_map`: further mappings, for the fields
        `column_map` does not name, not checked (a column the table lacks drops the field). Raises
        UsageError when the table does not exist, has no id or vector column (after mapping), its
        vector column is not Array(Float*), a `column_map` entry names a column the table lacks,
        or two entries (or one and the id or vector column) name the same column. `migrate_up`:
        the command those errors' hints suggest for creating the built-in table (default `embedsql
        migrate up`; the command line passes one that repeats its --dsn, -c, --model ...)."""
        t = cls(session, table or DEFAULT_TABLE, parse_column_map(column_map), release_engine=release_engine,
                migrate_up=migrate_up or MIGRATE_UP)
        t._describe()
        for k, v in (default_map or {}).items():
            t.column_map.setdefault(k, v)
        return t

    # -- names --------------------------------------------------------------------------------
    def col(self, logical: str) -> str | None:
        """The table column a logical name goes to, or None when the table has no such column."""
        name = self.column_map.get(logical, logical)
        return name if name and name in self.columns else None

    def _required(self, logical: str, what: str) -> str:
        name = self.col(logical)
        if name is None:
            wanted = self.column_map.get(logical, logical) or logical
            raise UsageError(
                f"table {self.table} has no column {wanted!r} for the {what}",
                hint=f"map it with --column-map {logical}=COLUMN (columns: {', '.join(self.columns)})")
        return name

    @property
    def id_col(self) -> str:
        """The table column holding the row id (UInt64). Raises UsageError, with the columns there
        are, when the table has none."""
        return self._required(ID, "row id")

    @property
    def vector_col(self) -> str:
        """The table column holding the embedding vector. Raises UsageError, with the columns there
        are, when the table has none."""
        return self._required(VECTOR, "embedding vector")

    @property
    def sql_table(self) -> str:
        """The table's name quoted for SQL text."""
        return qualified_name(self.table, always=True)

    # -- lookups ------------------------------------------------------------------------------
    def _describe(self) -> None:
        catalog = self.session.catalog
        catalog.invalidate(self.table)
        info = catalog.table_info(self.table)
        if not info.exists:
            hint = (f"run `{self.migrate_up}` to create the built-in photos table"
                    if info.name == DEFAULT_TABLE else "create it first, or pick another with --table")
            raise UsageError(f"table {self.table} does not exist in database {info.database!r} of "
                             f"{self.session.describe()}", hint=hint)
        self.columns = dict(info.columns)
        self.comments = {c: info.comments.get(c, "") for c in info.columns}
        vec = self.vector_col
        idc = self.id_col
        if _unwrap(self.columns[idc])[0] != "UInt64":
            raise UsageError(
                f"column {self.table}.{idc} is {self.columns[idc]}, not UInt64: embedsql's row ids are "
                f"64-bit hashes, which it would change on insert, so a rerun would insert every row "
                f"again and two inputs could share an id",
                hint=f"give the table a UInt64 id column (`ALTER TABLE {self.sql_table} ADD COLUMN "
                     f"row_id UInt64`, then --column-map {ID}=row_id), or ingest into a table made for it "
                     f"(`{self.migrate_up}` creates photos)")
        ctype, _ = _unwrap(self.columns[vec])
        if not ctype.startswith("Array(Float"):
            raise UsageError(f"column {self.table}.{vec} is {self.columns[vec]}, not an Array(Float32) vector column",
                             hint="pick the vector column with --column-map photo_embed=COLUMN")
        self.dim = info.dims.get(vec)
        self._check_map()

    def _check_map(self) -> None:
        """Every mapping names a column of the table, and no column is the target of two."""
        cols = ", ".join(self.columns)
        owner = {self.id_col: f"the row id ({ID})", self.vector_col: f"the embedding vector ({VECTOR})"}
        for logical, name in self.column_map.items():
            if not name or logical in (ID, VECTOR):
                continue
            if name not in self.columns:
                raise UsageError(f"table {self.table} has no column {name!r} for --column-map {logical}={name}",
                                 hint=f"name one of its columns (columns: {cols}), or drop the field with "
                                      f"--column-map {logical}=")
            if name in owner:
                raise UsageError(f"--column-map {logical}={name} and {owner[name]} both write column "
                                 f"{self.table}.{name}", hint="map each field to a column of its own")
            owner[name] = f"--column-map {logical}={name}"

    def column_model(self) -> str | None:
        """The model name the vector column's comment records, or None."""
        return self.column_model_record().get("model")

    def column_model_record(self) -> dict:
        """What the vector column's comment records about its model (model, family, dim, digest)."""
        from sqlext.text.ddl import parse_model_comment

        return parse_model_comment(self.comments.get(self.vector_col))

    def count_rows(self) -> int:
        """The number of rows in the table."""
        return self.session.count_rows(self.table)

    def check_dim(self, got: int, source: str) -> None:
        """Raise UsageError when `got`-element vectors (from `source`, named in the message) do not
        fit the vector column's length; nothing when they do or the length is unknown."""
        if self.dim is not None and got != self.dim:
            raise UsageError(
                f"{source} gives {got}-d vectors but {self.table}.{self.vector_col} holds {self.dim}-d vectors "
                f"(CHECK length({self.vector_col}) = {self.dim})",
                hint="use vectors of the column's dimension (the same model), or a table made for them")

    def existing_ids(self):
        """Sorted numpy uint64 array of every id in the table (one columnar read)."""
        import numpy as np

        tbl = self.session.query_arrow(f"SELECT {_ident(self.id_col)} FROM {self.sql_table}", verbatim=True)
        if tbl.num_rows == 0:
            return np.zeros(0, dtype=np.uint64)
        arr = tbl.column(0).to_numpy().astype(np.uint64, copy=False)
        return np.unique(arr)

    # -- inserts ------------------------------------------------------------------------------
    def insert_rows(self, rows: list[dict], vectors) -> int:
        """Insert rows (logical name -> value) with their vectors as one INSERT. Rows whose id is
        already present (another run got there first) are dropped just before inserting, under the
        same engine hold, so the table never gets a duplicate id. Each column is written once: a
        field mapped onto it (--column-map photo_id=sku) wins over a source field of the column's
        own name (sku). Returns the rows inserted."""
        if not rows:
            return 0
        id_col, vec_col = self.id_col, self.vector_col
        logical = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in (ID, VECTOR)]
        chosen: dict[str, str] = {}  # column -> the field written there; a mapped field wins over a same-named one
        for k in logical:
            name = self.col(k)
            if name and name not in (id_col, vec_col) and (name not in chosen or k in self.column_map):
                chosen[name] = k
        cols = [(k, name) for name, k in chosen.items()]
        self._yield_gap()
        with self.session.unit_of_work():
            ids = [int(r[ID]) for r in rows]
            present = {int(x[0]) for x in self.session.query(
                f"SELECT {_ident(id_col)} FROM {self.sql_table} WHERE {_ident(id_col)} IN {{ids:Array(UInt64)}}",
                params={"ids": ids}, verbatim=True).rows}
            keep = [i for i, x in enumerate(ids) if x not in present]
            if keep:
                data = [[ids[i] for i in keep], [vectors[i] for i in keep]]
                for k, name in cols:
                    t = self.columns[name]
                    data.append([convert_value(rows[i].get(k), t) for i in keep])
                names = [id_col, vec_col] + [name for _, name in cols]
                self.session.insert(self.sql_table, data, names, column_oriented=True,
                                    column_types=[self.columns[n] for n in names])
        self._maybe_release()
        return len(keep)

    def insert_arrow(self, table) -> int:
        """Insert a pyarrow Table (actual column names) as one ArrowStream INSERT."""
        self._yield_gap()
        n = self.session.insert_arrow(self.sql_table, table)
        self._maybe_release()
        return n

    def _maybe_release(self) -> None:
        """On the embedded engine, when another process waits for it (a TUI or a query in another
        terminal: `Session.engine_wanted`), close it between batches and pause briefly before the
        next batch, so that process gets its turn. Nobody waiting, the engine stays open: chdb
        leaves threads and file descriptors behind at each reopen (sqlext.db.engine)."""
        if not self.release_engine or not self.session.embedded:
            return
        if self.session.engine_wanted():
            self.session.release_engine()
            self._pause = True

    def _yield_gap(self) -> None:
        if self._pause:
            self._pause = False
            time.sleep(0.15)  # the other process polls the lock every 50 ms
