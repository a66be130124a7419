"""The live catalog: what the dialect bridge, the lints, the EMBED checks and the vector query
planner need to know about a table, read from a server's system tables (`system.tables`,
`system.columns`, `system.data_skipping_indices` on ClickHouse, `system.vector_indices` on MyScale)
and cached per table until `invalidate()`. The DDL parsers it uses live on the text side
(`sqlext.text.ddl`).

A table that holds no rows itself but reads other tables is followed to them: a `Distributed`
table (what `migrate --cluster` creates over `<table>_local`) to its local table, a `Merge` table
to the tables its regular expression matches. Their vector indexes, vector dimensions, embedding
models and settings are the Distributed/Merge table's own: `distance(col, …)` on a Merge table
over `photos` takes the metric of `photos`' index, and the planner finds the index it can use."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlext.text.ddl import (
    IndexInfo, parse_engine_target, parse_length_constraints, parse_model_comment, parse_myscale_index,
    parse_table_settings, parse_vector_similarity, split_table_name, unquote_identifier,
)

#: How many Distributed/Merge hops are followed (a Distributed table over a Merge table is two).
MAX_FOLLOW = 3

__all__ = ["LiveCatalog"]


def _lit(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class _TableInfo:
    exists: bool = False
    dims: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)
    indexes: dict = field(default_factory=dict)   # column -> IndexInfo
    engine: str = ""
    total_rows: int | None = None
    base: list = field(default_factory=list)      # "db.t" of the tables holding the rows


class LiveCatalog:
    """Catalog over a live server. `run_query(sql) -> list[tuple]` is given by the session.

    `dialect`: "clickhouse" reads system.data_skipping_indices (vector_similarity);
    "myscale" reads system.vector_indices; a callable returning one of those is asked when
    needed; None detects it on first use (a server with a
    system.vector_indices table is MyScale). Everything about one table is read in one go and
    cached until `invalidate(table)` / `invalidate()`; a missing table gives None everywhere.
    """

    def __init__(self, run_query: Callable[[str], list], *,
                 dialect: str | Callable[[], str] | None = None,
                 database: str | None = None):
        self._run = run_query
        self._dialect = dialect
        self._database = database
        self._cache: dict[str, _TableInfo] = {}

    @property
    def dialect(self) -> str:
        if callable(self._dialect):   # e.g. the session's own (lazy) detection
            return self._dialect()
        if self._dialect is None:
            rows = self._run("SELECT count() FROM system.tables WHERE database = 'system' "
                             "AND name = 'vector_indices'")
            self._dialect = "myscale" if rows and int(rows[0][0]) > 0 else "clickhouse"
        return self._dialect

    @property
    def database(self) -> str:
        if self._database is None:
            rows = self._run("SELECT currentDatabase()")
            self._database = rows[0][0] if rows else "default"
        return self._database

    def invalidate(self, table: str | None = None) -> None:
        if table is None:
            self._cache.clear()
        else:
            self._cache.pop(self._key(table), None)

    def _key(self, table: str) -> str:
        db, t = split_table_name(table)
        return f"{db or self.database}.{t}"

    def _info(self, table: str, depth: int = 0) -> _TableInfo:
        key = self._key(table)
        if key in self._cache:
            return self._cache[key]
        db, t = key.split(".", 1)
        info = _TableInfo()
        self._cache[key] = info   # a Merge table matching itself, or a cycle, stops here
        rows = self._run(f"SELECT create_table_query, engine, engine_full, total_rows FROM system.tables "
                         f"WHERE database = {_lit(db)} AND name = {_lit(t)}")
        if rows:
            info.exists = True
            ddl, info.engine, engine_full, total = rows[0]
            ddl = ddl or ""
            info.total_rows = int(total) if total is not None else None
            info.dims = parse_length_constraints(ddl)
            info.settings = parse_table_settings(ddl)
            for name, comment in self._run(
                    f"SELECT name, comment FROM system.columns WHERE database = {_lit(db)} "
                    f"AND table = {_lit(t)}"):
                if comment:
                    info.comments[name] = comment
            if self.dialect == "myscale":
                default_metric = info.settings.get("float_vector_search_metric_type", "L2")
                for name, type_, expr in self._run(
                        f"SELECT name, type, expr FROM system.vector_indices "
                        f"WHERE database = {_lit(db)} AND table = {_lit(t)}"):
                    column, idx = parse_myscale_index(name, type_, expr, default_metric)
                    if column:
                        dim = info.dims.get(column)
                        info.indexes[column] = IndexInfo(idx.name, idx.type, idx.metric, dim, idx.params)
            else:
                for name, type_full, expr in self._run(
                        f"SELECT name, type_full, expr FROM system.data_skipping_indices "
                        f"WHERE database = {_lit(db)} AND table = {_lit(t)} "
                        f"AND type = 'vector_similarity'"):
                    idx = parse_vector_similarity(type_full, name)
                    if idx is not None:
                        info.indexes[unquote_identifier(expr)] = idx
            target = parse_engine_target(engine_full)
            if target is not None and depth < MAX_FOLLOW:
                self._follow(info, key, target, depth)
        return info

    def _follow(self, info: _TableInfo, key: str, target, depth: int) -> None:
        """Take the indexes (and what the table itself lacks) from the tables it reads."""
        engine, where = target
        if engine == "Distributed":
            names = [f"{where['database']}.{where['table']}"]
        else:
            db_cond = (f"match(database, {_lit(where['database_regexp'])})" if "database_regexp" in where
                       else f"database = {_lit(where['database'])}")
            names = [f"{d}.{n}" for d, n in self._run(
                f"SELECT database, name FROM system.tables WHERE {db_cond} "
                f"AND match(name, {_lit(where['table_regexp'])}) ORDER BY database, name")
                if f"{d}.{n}" != key]
        for name in names:
            base = self._info(f"`{name.split('.', 1)[0]}`.`{name.split('.', 1)[1]}`", depth + 1)
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

    def vector_index(self, table: str, column: str) -> IndexInfo | None:
        return self._info(table).indexes.get(column)

    def vector_indexes(self, table: str) -> dict[str, IndexInfo]:
        return dict(self._info(table).indexes)

    def column_dim(self, table: str, column: str) -> int | None:
        info = self._info(table)
        dim = info.dims.get(column)
        if dim is None and column in info.indexes:
            dim = info.indexes[column].dim
        if dim is None:
            meta = parse_model_comment(info.comments.get(column))
            if meta.get("dim", "").isdigit():
                dim = int(meta["dim"])
        return dim

    def column_model(self, table: str, column: str) -> str | None:
        return parse_model_comment(self._info(table).comments.get(column)).get("model")

    def table_setting(self, table: str, name: str) -> str | None:
        return self._info(table).settings.get(name)

    def table_exists(self, table: str) -> bool:
        return self._info(table).exists

    def base_tables(self, table: str) -> list[str]:
        """"db.t" of the tables holding the rows: the table itself, or for a Distributed / Merge
        table the tables it reads (followed through up to MAX_FOLLOW such tables)."""
        info = self._info(table)
        return list(info.base) if info.base else [self._key(table)]

    def vector_indexes_behind(self, table: str, column: str) -> list[IndexInfo]:
        """The vector index on `column` of each table holding the rows (several for a Merge table
        over tables with differently named indexes); [] when none has one."""
        out = []
        for name in self.base_tables(table):
            db, t = name.split(".", 1)
            idx = self._info(f"`{db}`.`{t}`").indexes.get(column)
            if idx is not None and idx not in out:
                out.append(idx)
        return out

    def total_rows(self, table: str) -> int | None:
        """Rows in the table as system.tables last said (cached like the rest; None when the
        server does not know, as for a Distributed table whose shards are elsewhere)."""
        info = self._info(table)
        if not info.base:
            return info.total_rows
        counts = [self._info(f"`{n.split('.', 1)[0]}`.`{n.split('.', 1)[1]}`").total_rows for n in info.base]
        return None if info.engine == "Distributed" or any(c is None for c in counts) else sum(counts)
