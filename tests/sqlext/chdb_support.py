"""Shared helpers for the sqlext tests that run on the embedded engine (chdb) through a
clickhouse-connect client: a client on a data directory of their own, a live catalog over it, and
MyScale SQL translated for ClickHouse and run statement by statement."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from sqlext.db.catalog import LiveCatalog
from sqlext.db.engine import EMBEDDED
from sqlext.text.dialects import translate

__all__ = ["embedded_client", "live_catalog", "run_translated"]


@contextmanager
def embedded_client(path: Path, timeout: float = 30):
    """A clickhouse-connect client on the embedded engine at `path` (waiting up to `timeout`
    seconds for it); the engine is released when the block ends, so the next module's data
    directory can open."""
    with EMBEDDED.use(path, timeout) as client:
        yield client
    EMBEDDED.release_now(path)


def live_catalog(client, dialect: str = "clickhouse") -> LiveCatalog:
    """A LiveCatalog reading the server behind `client`."""
    return LiveCatalog(lambda sql, params: list(client.query(sql, parameters=params).result_rows), dialect=dialect)


def run_translated(client, catalog: LiveCatalog, sql: str, **settings):
    """`sql` (MyScale) translated for ClickHouse and each statement run in order (with `settings`,
    if any); the catalog is then invalidated, since the statements may have changed the schema.
    Returns (the Translation, the query results in order)."""
    tr = translate(sql, target="clickhouse", catalog=catalog)
    results = [client.query(st, settings=settings or None) for st in tr.sql]
    catalog.invalidate()
    return tr, results
