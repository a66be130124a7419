"""embedsql as a DB-API 2.0 (PEP 249) driver: EMBED in SQL for any tool that takes a DB-API
connection (`pandas.read_sql`, SQL notebooks, ORMs' raw connections).

    from sqlext import dbapi
    conn = dbapi.connect()                        # embedded ClickHouse, or dsn="https://user@host/db"
    cur = conn.cursor()
    cur.execute("SELECT photo_id, cosineDistance(photo_embed, EMBED(%(q)s)) AS d "
                "FROM photos WHERE year >= %(y)s ORDER BY d LIMIT 5", {"q": "a cat", "y": 2020})
    cur.fetchall(); cur.description

    import pandas as pd
    pd.read_sql("SELECT ... EMBED('a cat') ...", conn)

A facade over `sqlext.Session` (its public API only): statements run exactly as `Session.execute`
runs them (EMBED resolved, dialect translated, linted).

Parameters (`paramstyle = "pyformat"`): `%(name)s` with a mapping, or `%s` with a sequence; with
parameters, a literal `%` is written `%%` (without parameters the text is sent as is). Each
placeholder becomes a ClickHouse server-side parameter `{name:Type}`, its type inferred from the
Python value (`param_type`), so no value is ever quoted into the SQL text. One exception: a
placeholder inside `EMBED(...)` is the text or image to embed, resolved on the client (the call
becomes a vector before anything is sent): `EMBED(%(q)s)` works with a `str` (text, a path or an
URL) and numbers (weights).

ClickHouse has no transactions: every statement applies when it runs, `commit()` does nothing
and `rollback()` raises `NotSupportedError`. `Cursor.rowcount` is the number of rows of a query
and -1 for other statements. `Cursor.description` gives ClickHouse type names as type codes
(`"Nullable(Int32)"`, `"Array(Float32)"`), which compare equal to the type objects `NUMBER`,
`STRING`, `DATETIME`. Lint warnings of a statement are in `Cursor.messages` as `(Warning, Warning(text))`.
"""
from __future__ import annotations

import datetime as _dt
import decimal
import ipaddress
import numbers
import re
import uuid
from collections.abc import Mapping
from typing import Any, Sequence

from embed.errors import InputError, ModelLoadError, UserFacingError

from .errors import ConfigError, ConnectionFailed, EmbedSQLError, EngineBusy, ServerError, UsageError

apilevel = "2.0"
threadsafety = 1  # threads may share the module, not connections
paramstyle = "pyformat"

__all__ = [
    "apilevel", "threadsafety", "paramstyle", "connect", "Connection", "Cursor",
    "Warning", "Error", "InterfaceError", "DatabaseError", "DataError", "OperationalError",
    "IntegrityError", "InternalError", "ProgrammingError", "NotSupportedError",
    "Date", "Time", "Timestamp", "DateFromTicks", "TimeFromTicks", "TimestampFromTicks", "Binary",
    "STRING", "BINARY", "NUMBER", "DATETIME", "ROWID", "param_type",
]


# ------------------------------------------------------------------------------------ errors
class Warning(Exception):  # noqa: A001 - the name PEP 249 requires
    """An important warning (a lint of the statement); reported in `Cursor.messages`, not raised."""


class Error(Exception):
    """Base of every error this module raises. `hint` (what to do) and `code` (ClickHouse's error
    code, or None) come from the embedsql error it wraps, which is `__cause__`."""

    def __init__(self, message: str = "", *, hint: str | None = None, code: int | None = None):
        super().__init__(message)
        self.hint = hint
        self.code = code


class InterfaceError(Error):
    """A misuse of this module: a closed connection or cursor, a DSN that cannot be used."""


class DatabaseError(Error):
    """An error reported by, or about, the database."""


class DataError(DatabaseError):
    """A value the statement cannot use: a text that does not parse as the column type, an image
    EMBED cannot read, a number out of range."""


class OperationalError(DatabaseError):
    """The database cannot be reached, is busy, ran out of time or memory, or the model cannot be
    loaded."""


class IntegrityError(DatabaseError):
    """A table constraint refused the data (CHECK length(vector) = N, ...)."""


class InternalError(DatabaseError):
    """The database is in an inconsistent state."""


class ProgrammingError(DatabaseError):
    """An error in the SQL or its parameters: syntax, unknown table or column, a bad EMBED call,
    a missing parameter."""


class NotSupportedError(DatabaseError):
    """Something ClickHouse does not have (transactions), or a parameter type with no ClickHouse
    equivalent."""


_ERRORS = (Warning, Error, InterfaceError, DatabaseError, DataError, OperationalError, IntegrityError,
           InternalError, ProgrammingError, NotSupportedError)

# ClickHouse error codes by the PEP 249 class they belong to (other server errors: DatabaseError)
_PROGRAMMING_CODES = {16, 36, 42, 43, 44, 46, 47, 57, 60, 62, 81, 184, 215, 456, 457, 497}
_DATA_CODES = {6, 26, 27, 38, 41, 53, 69, 70, 72, 130, 153, 190, 321, 395, 407}
_OPERATIONAL_CODES = {159, 160, 164, 202, 209, 210, 241, 242, 394}
_INTEGRITY_CODES = {469}


def _wrap(exc: UserFacingError) -> Error:
    """The PEP 249 error for one of embedsql's errors (message and hint kept, `__cause__` set by
    the caller)."""
    code = getattr(exc, "code", None)
    if isinstance(exc, ConfigError):
        cls = InterfaceError
    elif isinstance(exc, (ConnectionFailed, EngineBusy, ModelLoadError)):
        cls = OperationalError
    elif isinstance(exc, InputError):
        cls = DataError
    elif isinstance(exc, UsageError):  # SQL syntax, EMBED rewrite, translation, usage
        cls = ProgrammingError
    elif isinstance(exc, ServerError):
        cls = (IntegrityError if code in _INTEGRITY_CODES else DataError if code in _DATA_CODES
               else OperationalError if code in _OPERATIONAL_CODES
               else ProgrammingError if code in _PROGRAMMING_CODES else DatabaseError)
    else:
        cls = DatabaseError
    return cls(str(exc), hint=exc.hint, code=code)


class _mapped:
    """Context manager: embedsql's errors leave as PEP 249 errors."""

    def __enter__(self):
        return self

    def __exit__(self, typ, exc, tb):
        if exc is not None and isinstance(exc, UserFacingError) and not isinstance(exc, Error):
            raise _wrap(exc) from exc
        return False


# ------------------------------------------------------------------------ types and values
Date = _dt.date
Time = _dt.time
Timestamp = _dt.datetime
Binary = bytes


def DateFromTicks(ticks: float) -> _dt.date:  # noqa: N802 - PEP 249 names
    """The local date of a Unix time."""
    return _dt.date.fromtimestamp(ticks)


def TimeFromTicks(ticks: float) -> _dt.time:  # noqa: N802
    """The local time of day of a Unix time."""
    return _dt.datetime.fromtimestamp(ticks).time()


def TimestampFromTicks(ticks: float) -> _dt.datetime:  # noqa: N802
    """The local date and time of a Unix time."""
    return _dt.datetime.fromtimestamp(ticks)


def _base_type(ch_type: str) -> str:
    """'Nullable(LowCardinality(String))' -> 'String'; 'Decimal(10, 2)' -> 'Decimal'."""
    t = ch_type.strip()
    for wrapper in ("Nullable(", "LowCardinality("):
        while t.startswith(wrapper) and t.endswith(")"):
            t = t[len(wrapper):-1].strip()
    return t.split("(", 1)[0]


class _TypeObject:
    """A PEP 249 type object: equal to every ClickHouse type name of its group."""

    def __init__(self, name: str, pattern: str):
        self.name = name
        self._re = re.compile(pattern)

    def __eq__(self, other):
        if isinstance(other, str):
            return bool(self._re.fullmatch(_base_type(other)))
        return other is self

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f"<dbapi type {self.name}>"


STRING = _TypeObject("STRING", r"String|FixedString|Enum8|Enum16|Enum|UUID|IPv4|IPv6")
BINARY = _TypeObject("BINARY", r"(?!)")  # ClickHouse has no separate binary type: String holds bytes
NUMBER = _TypeObject("NUMBER", r"U?Int\d+|Float\d+|BFloat16|Decimal\d*|Bool")
DATETIME = _TypeObject("DATETIME", r"Date|Date32|DateTime|DateTime64|Time|Time64")
ROWID = _TypeObject("ROWID", r"(?!)")

_INT_TYPES = [("Int64", -2**63, 2**63), ("UInt64", 0, 2**64), ("Int128", -2**127, 2**127),
              ("UInt128", 0, 2**128), ("Int256", -2**255, 2**255), ("UInt256", 0, 2**256)]


def param_type(value: Any) -> str:
    """The ClickHouse type a Python value is bound as (`{name:Type}`):

    None -> Nullable(Nothing); bool -> Bool; int -> Int64 (UInt64, Int128 ... when out of range);
    float -> Float64 (numpy float32 -> Float32); Decimal -> Decimal(P, S); str -> String;
    bytes -> String (sent hex-encoded, decoded by the server); datetime -> DateTime64(6), or
    DateTime64(6, 'UTC') when it has a time zone; date -> Date32; time -> String (HH:MM:SS[.ffffff]);
    UUID -> UUID; IPv4Address / IPv6Address -> IPv4 / IPv6; list, tuple, set and numpy arrays ->
    Array(T) of their elements' common type (Nullable(T) when some are None; `x IN %(ids)s` works
    with an Array). Raises `NotSupportedError` for anything else (dict, mixed element types)."""
    import numpy as np

    if value is None:
        return "Nullable(Nothing)"
    if isinstance(value, (bool, np.bool_)):
        return "Bool"
    if isinstance(value, numbers.Integral):
        v = int(value)
        for name, lo, hi in _INT_TYPES:
            if lo <= v < hi:
                return name
        raise NotSupportedError(f"the integer {v} is too large for any ClickHouse integer type")
    if isinstance(value, np.floating):
        return "Float32" if value.dtype == np.float32 else "Float64"
    if isinstance(value, float):
        return "Float64"
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise NotSupportedError(f"ClickHouse Decimal has no {value}", hint="pass a float instead")
        sign, digits, exp = value.as_tuple()
        scale = max(0, -exp)
        precision = max(len(digits) + max(0, exp), scale + 1, 1)
        if precision > 76:
            raise NotSupportedError(f"{value} needs {precision} digits; ClickHouse Decimal holds 76")
        return f"Decimal({precision}, {scale})"
    if isinstance(value, str):
        return "String"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "String"
    if isinstance(value, _dt.datetime):
        return "DateTime64(6, 'UTC')" if value.tzinfo is not None else "DateTime64(6)"
    if isinstance(value, _dt.date):
        return "Date32"
    if isinstance(value, _dt.time):
        return "String"
    if isinstance(value, uuid.UUID):
        return "UUID"
    if isinstance(value, ipaddress.IPv4Address):
        return "IPv4"
    if isinstance(value, ipaddress.IPv6Address):
        return "IPv6"
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return param_type(value.item())
        kinds = {"f": "Float32" if value.dtype == np.float32 else "Float64", "b": "Bool",
                 "i": f"Int{value.dtype.itemsize * 8}", "u": f"UInt{value.dtype.itemsize * 8}"}
        if value.dtype.kind not in kinds:
            raise NotSupportedError(f"cannot pass a numpy array of {value.dtype} as a parameter",
                                    hint="use numbers or booleans, or a Python list")
        return "Array(" * value.ndim + kinds[value.dtype.kind] + ")" * value.ndim
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"Array({_element_type(list(value))})"
    if isinstance(value, Mapping):
        raise NotSupportedError("cannot pass a dict as a parameter (ClickHouse Map parameters are not supported)",
                                hint="pass keys and values as two lists and use mapFromArrays(%(keys)s, %(values)s)")
    raise NotSupportedError(f"cannot pass a {type(value).__name__} as a parameter",
                            hint="pass str, int, float, Decimal, bool, bytes, date/time, UUID, None or a list")


def _element_type(items: list) -> str:
    present = [x for x in items if x is not None]
    nullable = len(present) != len(items)
    if not present:
        return "Nullable(Nothing)" if nullable else "Nothing"
    types = {param_type(x) for x in present}
    if len(types) > 1:
        ints = [t for t, _, _ in _INT_TYPES]
        if types <= set(ints):
            t = max(types, key=ints.index)
        elif types <= set(ints) | {"Float64", "Float32"}:
            t = "Float64"
        elif all(t.startswith("Array(") for t in types):
            t = f"Array({_element_type([y for x in present for y in x])})"
        else:
            raise NotSupportedError(f"a list parameter mixes {', '.join(sorted(types))}",
                                    hint="pass values of one type in a list")
    else:
        t = types.pop()
    if nullable:
        if t.startswith(("Array(", "Nullable(")):
            raise NotSupportedError("a list of lists cannot hold None (ClickHouse has no Nullable(Array))")
        t = f"Nullable({t})"
    return t


def _value(value: Any) -> Any:
    """The value as clickhouse-connect formats it for the type `param_type` gave."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, _dt.datetime) and value.tzinfo is not None:
        return value.astimezone(_dt.timezone.utc)
    if isinstance(value, _dt.time):
        return value.isoformat()
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        value = list(value)
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?(?P<conv>.?)", re.S)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _bind(operation: str, parameters) -> tuple[str, dict | None]:
    """`operation` with pyformat placeholders -> (SQL with `{name:Type}` server-side parameters,
    their values). See the module docstring for the rules; raises ProgrammingError."""
    if parameters is None:
        return operation, None
    if isinstance(parameters, Mapping):
        named = True
    elif isinstance(parameters, (str, bytes)) or not isinstance(parameters, Sequence):
        raise ProgrammingError(f"parameters must be a mapping (for %(name)s) or a sequence (for %s), "
                               f"not {type(parameters).__name__}")
    else:
        named = False
    # placeholders: (start, end, key); a literal % is %%
    pieces: list = []
    pos = 0
    positional = 0
    for m in _PLACEHOLDER.finditer(operation):
        if m.group(0) == "%%":
            pieces.append(operation[pos:m.start()] + "%")
            pos = m.end()
            continue
        if m.group("conv") != "s":
            raise ProgrammingError(
                f"unsupported placeholder {m.group(0)!r} at offset {m.start()}",
                hint="use %(name)s or %s for parameters, and %% for a literal % when passing parameters")
        name = m.group("name")
        if named and name is None:
            raise ProgrammingError("the parameters are a mapping, but the SQL has a positional %s",
                                   hint="write %(name)s, or pass a sequence")
        if not named and name is not None:
            raise ProgrammingError(f"the parameters are a sequence, but the SQL has %({name})s",
                                   hint="pass a mapping, or write %s")
        if named:
            if name not in parameters:
                raise ProgrammingError(f"no value for the parameter %({name})s",
                                       hint=f"given: {', '.join(map(str, parameters)) or 'none'}")
            key = name
        else:
            if positional >= len(parameters):
                raise ProgrammingError(f"the SQL has more %s placeholders than the {len(parameters)} "
                                       f"parameter(s) given")
            key = positional
            positional += 1
        pieces.append(operation[pos:m.start()])
        pieces.append((key,))
        pos = m.end()
    pieces.append(operation[pos:])
    if not named and positional != len(parameters):
        raise ProgrammingError(f"{len(parameters)} parameters given for {positional} %s placeholder(s)")

    # Which placeholders are EMBED arguments: look for EMBED calls in the text with each
    # placeholder standing as a string literal.
    in_embed = _embed_placeholders(pieces)
    sql_parts: list[str] = []
    server: dict[str, Any] = {}
    names: dict = {}
    for i, piece in enumerate(pieces):
        if isinstance(piece, str):
            sql_parts.append(piece)
            continue
        key = piece[0]
        value = parameters[key]
        if i in in_embed:
            sql_parts.append(_embed_literal(key, value))
            continue
        if key not in names:
            names[key] = key if isinstance(key, str) and _IDENT.fullmatch(key) else f"p{len(names) + 1}_"
        pname = names[key]
        ch_type = param_type(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            server[pname] = bytes(value).hex()
            sql_parts.append(f"unhex({{{pname}:String}})")
        else:
            server[pname] = _value(value)
            sql_parts.append(f"{{{pname}:{ch_type}}}")
    return "".join(sql_parts), server or None


def _embed_placeholders(pieces: list) -> set[int]:
    from .text.rewrite import find_embeds

    if not any(isinstance(p, tuple) for p in pieces):
        return set()
    probe_parts, spans = [], {}
    offset = 0
    for i, piece in enumerate(pieces):
        text = piece if isinstance(piece, str) else f"'embedsql param {i}'"
        if not isinstance(piece, str):
            spans[i] = offset
        probe_parts.append(text)
        offset += len(text)
    try:
        calls = find_embeds("".join(probe_parts))
    except EmbedSQLError:
        return set()  # the statement itself is at fault: running it reports where
    return {i for i, at in spans.items() if any(c.start <= at < c.end for c in calls)}


def _embed_literal(key, value) -> str:
    """An EMBED argument bound on the client: a string literal (text, path or URL) or a number
    (a weight)."""
    import os

    from .text.ddl import string_literal

    label = f"%({key})s" if isinstance(key, str) else f"parameter {key + 1}"
    if isinstance(value, (str, os.PathLike)):
        return string_literal(os.fspath(value))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return repr(float(value))
    raise ProgrammingError(f"{label} is an EMBED argument, which must be a text, an image path or URL "
                           f"(a str) or a weight (a number), not {type(value).__name__}")


# ------------------------------------------------------------------------ connection, cursor
def connect(dsn: str | None = None, model: str | None = None, **options) -> "Connection":
    """Open a connection (nothing is contacted until the first statement). `dsn` and `model` as
    for `sqlext.connect` / the `embedsql` command (`dsn=None`: EMBEDSQL_DSN, the config file, then
    the embedded database); `options`: `dialect`, `password`, `connection` (a named connection of
    the config file), `config`, `embedder`. Raises `InterfaceError` for a DSN that cannot be used."""
    from .db.session import connect as _connect

    with _mapped():
        return Connection(_connect(dsn, model=model, **options))


class Connection:
    """A DB-API connection over one `sqlext.Session` (`session`, for the rest of embedsql's API).
    Closing it releases the database; using it afterwards raises `InterfaceError`. In a `with`
    block it is closed at the end."""

    Warning, Error, InterfaceError, DatabaseError, DataError = Warning, Error, InterfaceError, DatabaseError, DataError
    OperationalError, IntegrityError, InternalError = OperationalError, IntegrityError, InternalError
    ProgrammingError, NotSupportedError = ProgrammingError, NotSupportedError

    def __init__(self, session):
        self._session = session
        self._closed = False

    @property
    def session(self):
        """The `sqlext.Session` this connection runs statements on."""
        self._check()
        return self._session

    @property
    def closed(self) -> bool:
        """True once `close()` was called; every later call then raises InterfaceError."""
        return self._closed

    def _check(self):
        if self._closed:
            raise InterfaceError("the connection is closed")

    def cursor(self) -> "Cursor":
        """A new cursor on this connection."""
        self._check()
        return Cursor(self)

    def commit(self) -> None:
        """Nothing to do: ClickHouse applies each statement when it runs."""
        self._check()

    def rollback(self) -> None:
        """Always raises `NotSupportedError`: ClickHouse has no transactions to roll back."""
        self._check()
        raise NotSupportedError("ClickHouse has no transactions: every statement applied when it ran")

    def close(self) -> None:
        """Release the database (the embedded engine, or the HTTP connection). Idempotent."""
        if not self._closed:
            self._closed = True
            with _mapped():
                self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _refuse_own_format(sql: str) -> None:
    """A statement with its own FORMAT clause answers in bytes, not rows: refused before it runs."""
    from .errors import SQLSyntaxError
    from .text.kinds import kind_of

    try:
        kind = kind_of(sql)
    except SQLSyntaxError:
        return  # running it reports where
    if kind.format is not None and not kind.into_outfile:
        raise ProgrammingError(f"the statement has its own FORMAT clause ({kind.format}): its answer is "
                               f"bytes, not rows", hint="remove the FORMAT clause; for the bytes use "
                               "connection.session.raw_query()")


def _description(columns: list[tuple[str, str]]) -> list[tuple]:
    out = []
    for name, ch_type in columns:
        precision = scale = None
        m = re.fullmatch(r"Decimal\((\d+),\s*(\d+)\)", _strip_nullable(ch_type))
        if m:
            precision, scale = int(m.group(1)), int(m.group(2))
        out.append((name, ch_type, None, None, precision, scale, ch_type.startswith("Nullable(")))
    return out


def _strip_nullable(t: str) -> str:
    return t[len("Nullable("):-1] if t.startswith("Nullable(") and t.endswith(")") else t


class Cursor:
    """A DB-API cursor. `execute` runs one statement (EMBED resolved); the rows of a query are
    fetched all at once and handed out by `fetchone` / `fetchmany` / `fetchall` (for results
    larger than memory use `connection.session.query_arrow_stream`). `description`: one 7-tuple per
    column, (name, ClickHouse type, None, None, precision, scale, null_ok), precision and scale
    only for Decimal; None after a statement that returns no rows."""

    def __init__(self, connection: Connection):
        self.connection = connection
        self.arraysize = 1
        self.description: list[tuple] | None = None
        self.rowcount = -1
        self.lastrowid = None
        self.messages: list[tuple] = []
        self._rows: list[tuple] = []
        self._pos = 0
        self._closed = False

    def _check(self):
        if self._closed:
            raise InterfaceError("the cursor is closed")
        self.connection._check()

    def execute(self, operation: str, parameters=None) -> "Cursor":
        """Run one statement with optional parameters (see the module docstring). Returns the
        cursor. Raises the PEP 249 errors: `ProgrammingError` (SQL, EMBED or parameter mistakes),
        `DataError`, `IntegrityError`, `OperationalError` (unreachable, busy), `DatabaseError`."""
        self._check()
        from .db.session import is_query

        self.description, self.rowcount, self._rows, self._pos, self.messages = None, -1, [], 0, []
        sql, params = _bind(operation, parameters)
        _refuse_own_format(sql)
        session = self.connection.session
        with _mapped():
            result = session.execute(sql, params=params)
            self.messages = [(Warning, Warning(w)) for w in result.stats.warnings]
            if result.columns:
                columns = list(zip(result.columns, result.types))
            elif is_query(sql):  # an empty result: its columns, asked without running it again
                try:
                    columns = session.columns_of(sql, params=params)
                except UserFacingError:  # (several statements, a DESCRIBE the server refuses): it ran
                    columns = []
            else:
                return self
        self.description = _description(columns)
        self._rows = list(result.rows)
        self.rowcount = len(self._rows)
        return self

    def executemany(self, operation: str, seq_of_parameters) -> "Cursor":
        """Run `operation` once per parameter set (in order; stops at the first error). Use
        `connection.session.insert` / `insert_arrow` to load many rows in one INSERT."""
        self._check()
        for parameters in seq_of_parameters:
            self.execute(operation, parameters)
        self.description, self.rowcount = None, -1
        return self

    def _need_result(self):
        self._check()
        if self.description is None:
            raise ProgrammingError("no result to fetch: the last statement returned no rows, or none ran")

    def fetchone(self) -> tuple | None:
        """The next row, or None when no rows are left."""
        self._need_result()
        if self._pos >= len(self._rows):
            return None
        row = self._rows[self._pos]
        self._pos += 1
        return row

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        """The next `size` rows (default `arraysize`); fewer, or none, at the end."""
        self._need_result()
        n = self.arraysize if size is None else size
        rows = self._rows[self._pos:self._pos + max(n, 0)]
        self._pos += len(rows)
        return rows

    def fetchall(self) -> list[tuple]:
        """All remaining rows."""
        self._need_result()
        rows = self._rows[self._pos:]
        self._pos = len(self._rows)
        return rows

    def __iter__(self):
        return self

    def __next__(self):
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    def setinputsizes(self, sizes) -> None:
        """Does nothing (allowed by PEP 249)."""

    def setoutputsize(self, size, column=None) -> None:
        """Does nothing (allowed by PEP 249)."""

    def close(self) -> None:
        """Forget the result; using the cursor afterwards raises `InterfaceError`."""
        self._closed = True
        self._rows = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

