"""The floor's path: the clickhouse-connect client under an embedded session, for figures that
time raw chdb beside embedsql in the same process (one process may open one embedded database,
so both must share it). Benchmarks only: embedsql's own code reaches the database through the
session's public API."""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def raw_client(session):
    """Hold the session's embedded engine and yield its clickhouse-connect client (statements
    sent to it skip embedsql entirely: no EMBED, no translation, no planner)."""
    from sqlext.db.engine import EMBEDDED, lock_timeout

    if not session.embedded:
        raise ValueError("raw_client needs an embedded (chdb://) session")
    with session.unit_of_work(), EMBEDDED.use(session.spec.path, lock_timeout()) as client:
        yield client
