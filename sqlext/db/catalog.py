"""The live catalog: the one reader of what a server knows about its tables.

Everything embedsql needs to know about a table (its columns and their types and comments, the
`CHECK length(col) = N` dimensions, table settings, vector indexes, the model recorded on a vector
column) is read from the server's system tables (`system.tables`, `system.columns`,
`system.data_skipping_indices` on ClickHouse, `system.vector_indices` on MyScale) in one go and
cached per table until `invalidate()`. The session, the dialect bridge, the lints, the vector
query planner, ingestion, migrations and the TUI all read through it. Values are bound as
server-side parameters; the DDL parsers it uses live on the text side (`sqlext.text.ddl`).

A table that holds no rows itself but reads other tables is followed to them: a `Distributed`
table (what `migrate --cluster` creates over `<table>_local`) to its local table, a `Merge` table
to the tables its regular expression matches. Their vector indexes, vector dimensions, embedding
models and settings are the Distributed/Merge table's own: `distance(col, …)` on a Merge table
over `photos` takes the metric of `photos`' index, and the planner finds the index it can use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlext.text.ddl import (
    IndexInfo, parse_engine_target, parse_length_constraints, parse_model_comment, parse_myscale_index,
    parse_column_codecs, parse_table_settings, parse_vector_similarity, quote_identifier, split_table_name,
    unquote_identifier,
)

__all__ = ["LiveCatalog", "TableInfo", "SYSTEM_DATABASES", "MAX_FOLLOW"]

#: How many Distributed/Merge hops are followed (a Distributed table over a Merge table is two).
MAX_FOLLOW = 3

#: Databases that hold no user tables (left out of `load_all`).
SYSTEM_DATABASES = ("system", "INFORMATION_SCHEMA", "information_schema")

RunQuery = Callable[[str, dict], list]


@dataclass
class TableInfo:
    """What the catalog knows about one table.

    `exists`: False for a missing table (every other field empty). `columns`: name -> ClickHouse
    type, in table order. `comments`: name -> column comment (only non-empty ones). `dims`:
    vector column -> N from `CHECK length(col) = N`. `settings`: table settings from the CREATE
    statement (strings as written). `codecs`: column -> its `CODEC(...)` text as written (only
    columns that declare one). `indexes`: vector column -> `IndexInfo`. `create_query`: the
    server's CREATE TABLE text. `engine`: its engine name; `total_rows`: rows as system.tables
    says (None when unknown). `base`: "db.t" of the tables holding the rows for a Distributed or
    Merge table (whose indexes, dims, comments and settings are taken from them), else []."""

    database: str
    name: str
    exists: bool = False
    columns: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)
    dims: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    codecs: dict = field(default_factory=dict)
    indexes: dict = field(default_factory=dict)
    create_query: str = ""
    engine: str = ""
    total_rows: int | None = None
    base: list = field(default_factory=list)

    def model_meta(self, column: str) -> dict[str, str]:
        """The `embedsql:model=...;dim=...` metadata recorded in `column`'s comment ({} if none)."""
        return parse_model_comment(self.comments.get(column))


# the vector indexes of a table, by dialect (True: MyScale); a WHERE clause follows
_INDEX_QUERIES = {
    False: "SELECT name, type_full, expr FROM system.data_skipping_indices WHERE type = 'vector_similarity'",
    True: "SELECT name, type, expr FROM system.vector_indices WHERE 1",
}


def _fill_table(info: TableInfo, ddl, engine, engine_full, total):
    """Fill `info` from its system.tables row; returns the Distributed/Merge target to follow
    (`parse_engine_target`) or None."""
    info.exists = True
    info.engine = engine
    info.create_query = ddl = ddl or ""
    info.total_rows = int(total) if total is not None else None
    info.dims = parse_length_constraints(ddl)
    info.settings = parse_table_settings(ddl)
    info.codecs = parse_column_codecs(ddl)
    return parse_engine_target(engine_full)


def _add_column(info: TableInfo, name: str, type_: str, comment: str) -> None:
    info.columns[name] = type_
    if comment:
        info.comments[name] = comment


def _add_index(info: TableInfo, myscale: bool, name: str, type_: str, expr: str) -> None:
    """Add one row of system.vector_indices (MyScale) or system.data_skipping_indices."""
    if myscale:
        default_metric = info.settings.get("float_vector_search_metric_type", "L2")
        column, idx = parse_myscale_index(name, type_, expr, default_metric)
        if column:
            info.indexes[column] = IndexInfo(idx.name, idx.type, idx.metric, info.dims.get(column), idx.params)
    else:
        idx = parse_vector_similarity(type_, name)
        if idx is not None:
            info.indexes[unquote_identifier(expr)] = idx


def _qualified(db: str, table: str) -> str:
    """The catalog's key and `base_tables` name for a table: "db.t", each part backquoted only
    when it is not a plain name (a database "my.db" is `my.db`.t, one name again when read back)."""
    return f"{quote_identifier(db)}.{quote_identifier(table)}"


class LiveCatalog:
    """Catalog over a live server (the `sqlext.text.ddl.Catalog` protocol, plus table info).

    `run_query(sql, params) -> list[tuple]` runs one statement with server-side parameters (the
    session gives its own). `dialect`: "clickhouse" reads system.data_skipping_indices
    (vector_similarity indexes), "myscale" reads system.vector_indices; a callable returning one
    of those is asked when needed (the session passes its own detection, so MyScale is detected in
    one place). A missing table gives None everywhere. Errors from the server propagate as the
    session's `ServerError`s."""

    def __init__(self, run_query: RunQuery, *, dialect: str | Callable[[], str] = "clickhouse",
                 database: str | None = None):
        self._run = run_query
        self._dialect = dialect
        self._database = database
        self._cache: dict[str, TableInfo] = {}
        # tables read by load_all whose Distributed/Merge target is followed when first asked for
        self._unfollowed: dict[str, tuple] = {}

    @property
    def dialect(self) -> str:
        """"clickhouse" or "myscale"."""
        return self._dialect() if callable(self._dialect) else self._dialect

    @property
    def database(self) -> str:
        """The server's current database (what an unqualified table name means)."""
        if self._database is None:
            rows = self._run("SELECT currentDatabase()", {})
            self._database = rows[0][0] if rows else "default"
        return self._database

    def use(self, database: str) -> None:
        """The session's current database changed (`USE`): unqualified names are read there now."""
        self._database = database
        self.invalidate()

    def invalidate(self, table: str | None = None) -> None:
        """Forget what was read about `table` (all tables when None): call after DDL."""
        if table is None:
            self._cache.clear()
            self._unfollowed.clear()
        else:
            self._cache.pop(self._key(table), None)
            self._unfollowed.pop(self._key(table), None)

    def _key(self, table: str) -> str:
        db, t = split_table_name(table)
        return _qualified(db or self.database, t)

    def table_info(self, table: str) -> TableInfo:
        """Everything about `table` ("t" or "db.t", quotes allowed), read in one go (four small
        queries at most, more for a Distributed/Merge table) and cached until `invalidate`."""
        return self._info(self._key(table), 0)

    def _info(self, key: str, depth: int) -> TableInfo:
        if key in self._cache:
            target = self._unfollowed.pop(key, None)  # popped first: a cycle stops here
            if target is not None and depth < MAX_FOLLOW:
                self._follow(self._cache[key], key, target, depth)
            return self._cache[key]
        db, t = split_table_name(key)
        info = TableInfo(db or self.database, t)
        self._cache[key] = info   # a Merge table matching itself, or a cycle, stops here
        where = {"db": db, "t": t}
        rows = self._run("SELECT create_table_query, engine, engine_full, total_rows FROM system.tables "
                         "WHERE database = {db:String} AND name = {t:String}", where)
        if rows:
            target = _fill_table(info, *rows[0])
            for name, type_, comment in self._run(
                    "SELECT name, type, comment FROM system.columns WHERE database = {db:String} "
                    "AND table = {t:String} ORDER BY position", where):
                _add_column(info, name, type_, comment)
            myscale = self.dialect == "myscale"
            for row in self._run(_INDEX_QUERIES[myscale] + " AND database = {db:String} AND table = {t:String}",
                                 where):
                _add_index(info, myscale, *row)
            if target is not None and depth < MAX_FOLLOW:
                self._follow(info, key, target, depth)
        return info

    def load_all(self, skip_databases=SYSTEM_DATABASES) -> tuple[list[str], list[TableInfo]]:
        """Every user database and the `TableInfo` of every table in them, read in four queries
        whatever the number of tables (system.databases, system.tables, system.columns, and
        system.data_skipping_indices or MyScale's system.vector_indices; asking the dialect may
        cost one more, once per session) and cached as `table_info` caches them, so that
        `column_dim`, `vector_index` ... ask nothing more. A Distributed or Merge table is followed
        to the tables it reads when it is first asked for (a Merge table's regular expression
        costs one query then). Returns (databases in name order, TableInfo list in (database,
        name) order, columns in table order). For browsing: a refresh that calls `invalidate()`
        first reads what is there now."""
        skip = {"skip": list(skip_databases)}
        dbs = [r[0] for r in self._run(
            "SELECT name FROM system.databases WHERE name NOT IN {skip:Array(String)} ORDER BY name", skip)]
        infos: dict[tuple[str, str], TableInfo] = {}
        targets: dict[str, tuple] = {}
        for db, t, *row in self._run(
                "SELECT database, name, create_table_query, engine, engine_full, total_rows FROM system.tables "
                "WHERE database NOT IN {skip:Array(String)} AND NOT is_temporary ORDER BY database, name", skip):
            info = infos[(db, t)] = TableInfo(db, t)
            target = _fill_table(info, *row)
            if target is not None:
                targets[_qualified(db, t)] = target
        for db, t, name, type_, comment in self._run(
                "SELECT database, table, name, type, comment FROM system.columns "
                "WHERE database NOT IN {skip:Array(String)} ORDER BY database, table, position", skip):
            if (db, t) in infos:
                _add_column(infos[(db, t)], name, type_, comment)
        myscale = self.dialect == "myscale"
        for db, t, *row in self._run(
                _INDEX_QUERIES[myscale].replace("SELECT ", "SELECT database, table, ", 1)
                + " AND database NOT IN {skip:Array(String)}", skip):
            if (db, t) in infos:
                _add_index(infos[(db, t)], myscale, *row)
        for (db, t), info in infos.items():
            self._cache[_qualified(db, t)] = info
        self._unfollowed.update(targets)
        return dbs, list(infos.values())

    def _follow(self, info: TableInfo, key: str, target, depth: int) -> None:
        """Take the indexes (and what the table itself lacks) from the tables it reads."""
        engine, where = target
        if engine == "Distributed":
            names = [_qualified(where['database'], where['table'])]
        else:
            if "database_regexp" in where:
                cond, params = "match(database, {dbre:String})", {"dbre": where["database_regexp"]}
            else:
                cond, params = "database = {db:String}", {"db": where["database"]}
            params["tre"] = where["table_regexp"]
            names = [_qualified(d, n) for d, n in self._run(
                f"SELECT database, name FROM system.tables WHERE {cond} "
                "AND match(name, {tre:String}) ORDER BY database, name", params)
                if _qualified(d, n) != key]
        for name in names:
            base = self._info(name, depth + 1)
            if not base.exists:
                continue
            info.base.extend(base.base or [name])
            for col, idx in base.indexes.items():
                info.indexes.setdefault(col, idx)
            for col, dim in base.dims.items():
                info.dims.setdefault(col, dim)
            for col, comment in base.comments.items():
                info.comments.setdefault(col, comment)
            for k, v in base.settings.items():
                info.settings.setdefault(k, v)

    # -- the Catalog protocol ----------------------------------------------------------------
    def vector_index(self, table: str, column: str) -> IndexInfo | None:
        """The vector index on `table.column`, or None."""
        return self.table_info(table).indexes.get(column)

    def vector_indexes(self, table: str) -> dict[str, IndexInfo]:
        """Vector column -> its index, for every indexed column of `table`."""
        return dict(self.table_info(table).indexes)

    def column_dim(self, table: str, column: str) -> int | None:
        """The vector dimension of `table.column`: its length constraint, else its index's
        dimension, else the `dim=` recorded in its comment; None when unknown."""
        info = self.table_info(table)
        dim = info.dims.get(column)
        if dim is None and column in info.indexes:
            dim = info.indexes[column].dim
        if dim is None:
            meta = info.model_meta(column)
            if meta.get("dim", "").isdigit():
                dim = int(meta["dim"])
        return dim

    def column_model(self, table: str, column: str) -> str | None:
        """The embedding model recorded on `table.column` (`embedsql:model=...`), or None."""
        return self.table_info(table).model_meta(column).get("model")

    def column_model_record(self, table: str, column: str) -> dict:
        """What the column's comment records about its model (`parse_model_comment`: model,
        family, dim, digest); {} when nothing is recorded or the table does not exist."""
        return self.table_info(table).model_meta(column)

    def table_setting(self, table: str, name: str) -> str | None:
        """A table setting as written in the CREATE statement, or None."""
        return self.table_info(table).settings.get(name)

    def column_codec(self, table: str, column: str) -> str | None:
        """The compression codec `column` declares, as written inside `CODEC(...)` ('NONE',
        'ZSTD(3)', ...), or None when it declares none (the server's default, LZ4) or the table
        does not exist."""
        return self.table_info(table).codecs.get(column)

    def text_tokens_column(self, table: str, column: str) -> str | None:
        """The stored token column of `column`'s FTS index on ClickHouse (`<column>__tokens`,
        Array(String), written by the dialect bridge for `TYPE fts`), or None when the table has
        none (TextSearch then tokenizes on the fly)."""
        name = f"{column}__tokens"
        return name if self.table_info(table).columns.get(name) == "Array(String)" else None

    def table_exists(self, table: str) -> bool:
        """Does `table` exist?"""
        return self.table_info(table).exists

    def base_tables(self, table: str) -> list[str]:
        """"db.t" of the tables holding the rows: the table itself, or for a Distributed / Merge
        table the tables it reads (followed through up to MAX_FOLLOW such tables)."""
        info = self.table_info(table)
        return list(info.base) if info.base else [self._key(table)]

    def vector_indexes_behind(self, table: str, column: str) -> list[IndexInfo]:
        """The vector index on `column` of each table holding the rows (several for a Merge table
        over tables with differently named indexes); [] when none has one."""
        out = []
        for name in self.base_tables(table):
            idx = self._info(name, 0).indexes.get(column)
            if idx is not None and idx not in out:
                out.append(idx)
        return out

    def total_rows(self, table: str) -> int | None:
        """Rows in the table as system.tables last said (cached like the rest; None when the
        server does not know, as for a Distributed table whose shards are elsewhere)."""
        info = self.table_info(table)
        if not info.base:
            return info.total_rows
        counts = [self._info(n, 0).total_rows for n in info.base]
        return None if info.engine == "Distributed" or any(c is None for c in counts) else sum(counts)
