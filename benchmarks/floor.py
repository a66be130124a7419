"""The floor's path: the clickhouse-connect client under an embedded session, for figures that
time raw chdb beside embedsql in the same process (one process may open one embedded database,
so both must share it). Benchmarks only: embedsql's own code reaches the database through the
session's public API."""
from __future__ import annotations

import contextlib


@contextlib.contextmanager
def raw_client(session):
    """A clickhouse-connect client on the session's database (statements sent to it skip embedsql
    entirely: no EMBED, no translation, no planner). Embedded: the session's own engine, held for
    the block. Server: a second connection, closed after the block."""
    from sqlext.db.engine import EMBEDDED, lock_timeout

    if not session.embedded:
        client = session.backend.new_http_client()
        try:
            yield client
        finally:
            client.close()
        return
    with session.unit_of_work(), EMBEDDED.use(session.spec.path, lock_timeout()) as client:
        yield client


def ab(fa, fb, n: int, warm: int = 1) -> tuple[list[float], list[float]]:
    """Time `fa` and `fb` alternately, `n` times each after `warm` untimed rounds (noise on a
    shared machine hits both alike): two lists of milliseconds."""
    import time

    for _ in range(warm):
        fa()
        fb()
    ta, tb = [], []
    for _ in range(n):
        t = time.perf_counter()
        fa()
        ta.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        fb()
        tb.append((time.perf_counter() - t) * 1000)
    return ta, tb
