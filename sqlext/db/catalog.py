"""The live catalog: what the dialect bridge, the lints and the EMBED checks need to know about
a table, read from a server's system tables (`system.tables`, `system.columns`,
`system.data_skipping_indices` on ClickHouse, `system.vector_indices` on MyScale) and cached per
table until `invalidate()`. The DDL parsers it uses live on the text side
(`sqlext.text.ddl`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlext.text.ddl import (
    IndexInfo, parse_length_constraints, parse_model_comment, parse_myscale_index,
    parse_table_settings, parse_vector_similarity, split_table_name, unquote_identifier,
)

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

    def _info(self, table: str) -> _TableInfo:
        key = self._key(table)
        if key in self._cache:
            return self._cache[key]
        db, t = key.split(".", 1)
        info = _TableInfo()
        rows = self._run(f"SELECT create_table_query FROM system.tables "
                         f"WHERE database = {_lit(db)} AND name = {_lit(t)}")
        if rows:
            info.exists = True
            ddl = rows[0][0] or ""
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
        self._cache[key] = info
        return info

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

    def column_model_record(self, table: str, column: str) -> dict:
        """What the column's comment records about its model (`parse_model_comment`: model,
        family, dim, digest); {} when nothing is recorded or the table does not exist."""
        return parse_model_comment(self._info(table).comments.get(column))

    def table_setting(self, table: str, name: str) -> str | None:
        return self._info(table).settings.get(name)

    def table_exists(self, table: str) -> bool:
        return self._info(table).exists
