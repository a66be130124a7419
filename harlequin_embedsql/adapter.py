"""The adapter, its connection and cursor (Harlequin's adapter API, `harlequin.adapter`).

- `execute` prepares a query at once (EMBED resolved, so a bad EMBED argument or an unreadable
  image is reported on the statement), and runs that preparation when Harlequin fetches (EMBED is
  not resolved twice: the cursor's `stats` say what the one preparation found in the vector
  cache), reading only the rows Harlequin's limit asks for (`Session.query_arrow_stream`, closed
  early: the query stops). A statement that returns no rows runs at once, after every query
  before it has been read.
- The catalog: databases, tables and columns; a vector column shows as `vec` with its dimension,
  the model recorded on it and its vector index as a child item. A refresh reads it in four
  queries whatever the number of tables (`LiveCatalog.load_all`).
- Completions: `EMBED`, ClickHouse's functions (`system.functions`) and the vector-search settings.
- Errors: `HarlequinQueryError` / `HarlequinConnectionError` / `HarlequinConfigError` carrying
  embedsql's message and hint.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Sequence

from harlequin.adapter import HarlequinAdapter, HarlequinConnection, HarlequinCursor
from harlequin.autocomplete.completion import HarlequinCompletion
from harlequin.catalog import Catalog, CatalogItem
from harlequin.exception import HarlequinConfigError, HarlequinConnectionError, HarlequinQueryError

from harlequin_embedsql.cli_options import EMBEDSQL_OPTIONS

if TYPE_CHECKING:
    import pyarrow as pa

_QUERY_TITLE = "embedsql could not run your query"
_BATCH_ROWS = 65536


def _user_error():
    from embed.errors import UserFacingError

    return UserFacingError


# ------------------------------------------------------------------------------ type labels
_CH_LABELS = {
    "Bool": "t/f", "String": "s", "FixedString": "s", "UUID": "uid", "Date": "d", "Date32": "d",
    "DateTime": "ts", "DateTime64": "ts", "Time": "t", "Time64": "t", "Enum8": "enm", "Enum16": "enm",
    "IPv4": "ip", "IPv6": "ip", "JSON": "{}", "Object": "{}", "Map": "{m}", "Tuple": "()", "Nothing": "∅",
    "Dynamic": "?", "Variant": "?",
}


def ch_type_label(ch_type: str) -> str:
    """A 1-3 character label for a ClickHouse type, as Harlequin shows beside a column:
    `#` integers, `#.#` floats and decimals, `s` strings, `ts` date-times, `vec` vectors
    (arrays of floats), `[x]` other arrays (x: the element's label's first character)."""
    t = (ch_type or "").strip()
    for wrapper in ("Nullable(", "LowCardinality("):
        while t.startswith(wrapper) and t.endswith(")"):
            t = t[len(wrapper):-1].strip()
    if t.startswith("Array(") and t.endswith(")"):
        inner = t[6:-1].strip()
        if inner in ("Float32", "Float64", "BFloat16"):
            return "vec"
        return "[" + ch_type_label(inner)[:1] + "]"
    base = t.split("(", 1)[0]
    if base.startswith(("Int", "UInt")):
        return "#"
    if base.startswith(("Float", "BFloat", "Decimal")):
        return "#.#"
    return _CH_LABELS.get(base, "?")


def arrow_type_label(t: "pa.DataType") -> str:
    """The same labels for an Arrow type (the columns of a result)."""
    import pyarrow as pa

    if pa.types.is_boolean(t):
        return "t/f"
    if pa.types.is_integer(t):
        return "#"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "#.#"
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_fixed_size_binary(t):
        return "s"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return "b"
    if pa.types.is_timestamp(t):
        return "ts"
    if pa.types.is_date(t):
        return "d"
    if pa.types.is_time(t):
        return "t"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        if pa.types.is_floating(t.value_type):
            return "vec"
        return "[" + arrow_type_label(t.value_type)[:1] + "]"
    if pa.types.is_map(t):
        return "{m}"
    if pa.types.is_struct(t):
        return "()"
    if isinstance(t, pa.ExtensionType) and "uuid" in str(t):
        return "uid"
    return "?"


# ---------------------------------------------------------------------------------- cursor
class EmbedSQLCursor(HarlequinCursor):
    """The result of one query: run on the first `fetchall()` (or `columns()`), reading at most
    the limit Harlequin set. `fetchall()` returns a `pyarrow.Table`, or None for no rows.
    `prepared`: the `sqlext.db.session.Prepared` that `execute` made (EMBED resolved once)."""

    def __init__(self, connection: "EmbedSQLConnection", sql: str, prepared=None) -> None:
        self.connection = connection
        self.sql = sql
        self.prepared = prepared
        self._limit: int | None = None
        self._table = None
        self._columns: list[tuple[str, str]] | None = None
        self._done = False
        self._error: Exception | None = None

    def set_limit(self, limit: int) -> "EmbedSQLCursor":
        self._limit = max(int(limit), 0)
        return self

    @property
    def stats(self):
        """What the query cost and became (`sqlext.db.session.Stats`): `cache_hits` /
        `cache_misses` of its EMBED inputs as its one preparation found them, `embed_ms`,
        `sent_sql` (vectors elided), translations and lints; the plan once it has run."""
        return self.prepared.stats

    def columns(self) -> list[tuple[str, str]]:
        self._run()
        return list(self._columns or [])

    def fetchall(self):
        self._run()
        return self._table

    def _run(self) -> None:
        with self.connection._lock:
            if not self._done:
                self.connection._pending_remove(self)
                self._fetch()
        if self._error is not None:
            raise self._error

    def _fetch(self) -> None:
        """Read the result (called with the connection's lock held, once)."""
        import pyarrow as pa

        session = self.connection.session
        query = self.prepared if self.prepared is not None else self.sql  # prepared once, in execute
        self._done = True
        try:
            if self._limit is None:
                table = session.query_arrow(query)
            else:
                want = max(self._limit, 1)  # 0 rows asked: one read to learn the columns
                batches, n = [], 0
                with session.query_arrow_stream(query, batch_rows=min(want, _BATCH_ROWS)) as stream:
                    for batch in stream:
                        batches.append(batch)
                        n += batch.num_rows
                        if n >= want:
                            break  # closing the stream stops the query
                table = pa.Table.from_batches(batches).slice(0, self._limit) if batches else None
            if table is None or table.num_columns == 0:  # no rows and no header: ask DESCRIBE
                self._columns = [(name, ch_type_label(t)) for name, t in session.columns_of(query)]
            else:
                self._columns = [(f.name, arrow_type_label(f.type)) for f in table.schema]
            self._table = table if table is not None and table.num_rows else None  # None: no rows
        except _user_error() as exc:
            self._error = HarlequinQueryError(msg=str(exc), title=_QUERY_TITLE)
            self._error.__cause__ = exc


# ------------------------------------------------------------------------------ connection
class EmbedSQLConnection(HarlequinConnection):
    """One `sqlext.Session` (`session`), shared by Harlequin's worker threads."""

    def __init__(self, session, *, init_message: str = "") -> None:
        self.session = session
        self.init_message = init_message
        self._lock = threading.RLock()
        self._pending: list[EmbedSQLCursor] = []

    def _pending_remove(self, cursor: EmbedSQLCursor) -> None:
        if cursor in self._pending:
            self._pending.remove(cursor)

    def _drain(self) -> None:
        """Read every query executed but not fetched yet, in order: a later statement that
        changes data must not change what an earlier query shows."""
        while self._pending:
            self._pending.pop(0)._fetch()

    def execute(self, query: str) -> EmbedSQLCursor | None:
        from sqlext.db.session import is_query

        try:
            if is_query(query):
                # EMBED and translation errors belong to this statement; the cursor runs this
                # preparation (a second one would find the vectors the first put in the cache)
                prepared = self.session.prepare(query)
                cursor = EmbedSQLCursor(self, query, prepared)
                with self._lock:
                    self._pending.append(cursor)
                return cursor
            with self._lock:
                self._drain()
                self.session.execute(query)
            return None
        except _user_error() as exc:
            raise HarlequinQueryError(msg=str(exc), title=_QUERY_TITLE) from exc

    def cancel(self) -> None:
        """Stop the query running on a server (KILL QUERY); the embedded engine cannot be
        interrupted."""
        try:
            self.session.cancel()
        except _user_error():
            pass

    def close(self) -> None:
        with self._lock:
            self._pending.clear()
        self.session.close()

    def get_catalog(self) -> Catalog:
        """Databases > tables > columns of the server (system databases left out). A vector
        column (an array of floats) has the label `vec`, its type name says its dimension and
        model, and its vector index is a child item. Read fresh in four queries, however many
        tables there are (`LiveCatalog.load_all`)."""
        from sqlext.text.ddl import quote_identifier as q

        try:
            catalog = self.session.catalog
            catalog.invalidate()  # a refresh shows what is there now
            dbs, infos = catalog.load_all()
            db_items = []
            for db in dbs:
                table_items = []
                for info in infos:
                    if info.database != db:
                        continue
                    qualified = f"{q(db)}.{q(info.name)}"
                    table_items.append(CatalogItem(
                        qualified_identifier=qualified, query_name=qualified, label=info.name, type_label="t",
                        children=[_column_item(qualified, name, type_, catalog, info)
                                  for name, type_ in info.columns.items()]))
                db_items.append(CatalogItem(qualified_identifier=q(db), query_name=q(db), label=db,
                                            type_label="db", type_name="database", children=table_items))
            return Catalog(items=db_items)
        except _user_error() as exc:
            raise HarlequinQueryError(msg=str(exc), title="embedsql could not read the catalog") from exc

    def get_completions(self) -> list[HarlequinCompletion]:
        """EMBED first, then the vector-distance functions and settings, then every function the
        server knows (`system.functions`)."""
        from harlequin_embedsql.completions import completions

        return completions(self.session)


def _column_item(qualified_table: str, name: str, type_: str, catalog, info) -> CatalogItem:
    """The catalog item of column `name` (ClickHouse type `type_`) of the table `info`
    (sqlext.db.catalog.TableInfo); a vector column's facts come from `catalog`, cached."""
    from sqlext.text.ddl import quote_identifier as q

    label = ch_type_label(type_)
    type_name = type_
    children = []
    if label == "vec":
        notes = []
        table = f"{q(info.database, always=True)}.{q(info.name, always=True)}"
        dim = catalog.column_dim(table, name)  # cached by load_all: no query
        if dim:
            notes.append(f"{dim}-d")
        model = catalog.column_model(table, name)
        if model:
            notes.append(f"model {model}")
        idx = catalog.vector_index(table, name)
        if idx is not None:
            notes.append(f"{idx.type} {idx.metric or ''} index {idx.name}".replace("  ", " "))
            children.append(CatalogItem(
                qualified_identifier=f"{qualified_table}.{q(idx.name)}", query_name=q(idx.name),
                label=f"{idx.name} ({idx.type}{', ' + idx.metric if idx.metric else ''})",
                type_label="idx", type_name=f"vector index {idx.type} {idx.metric or ''}".strip()))
        if notes:
            type_name = f"{type_}: " + ", ".join(notes)
    return CatalogItem(qualified_identifier=f"{qualified_table}.{q(name)}", query_name=q(name),
                       label=name, type_label=label, type_name=type_name, children=children)


# --------------------------------------------------------------------------------- adapter
class EmbedSQLAdapter(HarlequinAdapter):
    """`harlequin -a embedsql [DSN] [--model M] [--dialect D] [--connection NAME]`: the DSN forms
    of `embedsql --dsn` (none: EMBEDSQL_DSN, the config file, then the embedded database)."""

    ADAPTER_OPTIONS = EMBEDSQL_OPTIONS
    IMPLEMENTS_CANCEL = True
    ADAPTER_DETAILS = (
        "embedsql: SQL with `EMBED('text' | 'image URL' | 'path')` on the embedded ClickHouse "
        "(chdb) or a ClickHouse/MyScale server. Each EMBED becomes a CLIP vector before the "
        "statement is sent."
    )

    def __init__(self, conn_str: Sequence[str], read_only: bool = False, **options: Any) -> None:
        positional = [str(c) for c in conn_str if str(c).strip()]
        dsn = options.get("dsn")
        if len(positional) > 1 or (positional and dsn):
            raise HarlequinConfigError(
                msg="give one DSN: either as the argument or with --dsn",
                title="Harlequin could not initialize the embedsql adapter.")
        for name in ("dsn", "model", "dialect", "connection"):
            value = options.get(name)
            if value is not None and not isinstance(value, str):
                raise HarlequinConfigError(msg=f"--{name} must be text, not {type(value).__name__}",
                                           title="Harlequin could not initialize the embedsql adapter.")
        self.dsn = positional[0] if positional else dsn
        self.model = options.get("model")
        self.dialect = options.get("dialect")
        self.connection_name = options.get("connection")
        try:
            import sqlext

            # nothing is contacted yet: this only resolves the DSN, config file and environment
            self._session = sqlext.connect(self.dsn, model=self.model, dialect=self.dialect,
                                           connection=self.connection_name)
        except _user_error() as exc:
            raise HarlequinConfigError(msg=str(exc), title="Harlequin could not initialize the embedsql adapter.") from exc

    @property
    def connection_id(self) -> str | None:
        return self._session.describe()

    def connect(self) -> EmbedSQLConnection:
        session = self._session
        try:
            session.query("SELECT 1", verbatim=True)  # reachable, credentials accepted, engine free
        except _user_error() as exc:
            raise HarlequinConnectionError(msg=str(exc), title="Harlequin could not connect with embedsql.") from exc
        return EmbedSQLConnection(
            session, init_message=f"embedsql: connected to {session.describe()}. EMBED('...') works in your SQL.")
