"""Vector cache: an in-memory LRU in front of a sqlite file shared by every process.

Keys are (model_id, revision, kind, payload): payload is the exact text, or the sha256 of an
image's bytes. The sqlite file (WAL, busy timeout) holds one row per key: a float32 blob.
The cache is best effort: a corrupt file is moved aside and rebuilt with one warning; a locked
or unwritable file is skipped. It never raises.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

log = logging.getLogger("embed.cache")

CacheKey = tuple[str, str, str, str]  # model_id, revision, kind, payload
FILE_NAME = "vectors.sqlite3"
SCHEMA_VERSION = 1
_BUSY_TIMEOUT_S = 5.0


def _setup(conn: sqlite3.Connection) -> None:
    """WAL mode and the table, on a file several processes may be creating at the same moment
    (the first embedsql runs of a user: a TUI and a query). SQLite answers "database is locked"
    at once, without waiting out the busy timeout, where waiting could deadlock: two connections
    that both read the new file in rollback mode and then both ask to switch it to WAL, or a
    CREATE TABLE whose snapshot another process's CREATE made stale. Each step is retried until
    `_BUSY_TIMEOUT_S`; the CREATE takes the write lock first (BEGIN IMMEDIATE), which waits."""
    deadline = time.monotonic() + _BUSY_TIMEOUT_S
    delay = 0.005
    while True:
        try:
            if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vectors'").fetchone() is None:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, dim INTEGER NOT NULL, "
                                 "vec BLOB NOT NULL, created REAL NOT NULL) WITHOUT ROWID")
                    conn.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                    raise
            return
        except sqlite3.OperationalError as e:
            msg = str(e).lower()
            if ("locked" not in msg and "busy" not in msg) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _digest(key: CacheKey) -> bytes:
    return hashlib.sha256("\0".join(key).encode("utf-8", "surrogatepass")).digest()


def _valid(vec: np.ndarray) -> bool:
    if vec.ndim != 1 or vec.size == 0 or not np.isfinite(vec).all():
        return False
    return abs(float(np.dot(vec, vec)) - 1.0) < 1e-3


class VectorCache:
    """`get_many(keys) -> {key: vector}`, `put_many({key: vector})`. Thread-safe."""

    def __init__(self, directory: Path | None, *, memory_items: int = 4096):
        self.path = Path(directory) / FILE_NAME if directory is not None else None
        self.memory_items = memory_items
        self._mem: OrderedDict[CacheKey, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._disk_ok = self.path is not None
        self._warned_locked = False

    # --- public ---------------------------------------------------------------------------------

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, np.ndarray]:
        """{key: vector} for the keys found (memory first, then the sqlite file); missing keys are absent.

        Keys are (model name, revision, kind, payload); vectors are read-only float32 (dim,) arrays.
        Never raises: a damaged entry is dropped and recomputed by the caller."""
        found: dict[CacheKey, np.ndarray] = {}
        with self._lock:
            missing = []
            for k in keys:
                v = self._mem.get(k)
                if v is not None:
                    self._mem.move_to_end(k)
                    found[k] = v
                else:
                    missing.append(k)
            if missing and self._disk_ok:
                for k, v in self._disk_get(missing).items():
                    found[k] = v
                    self._remember(k, v)
        return found

    def put_many(self, items: dict[CacheKey, np.ndarray]) -> None:
        """Remember vectors in memory and (best effort) in the sqlite file. Never raises."""
        if not items:
            return
        with self._lock:
            for k, v in items.items():
                self._remember(k, v)
            if self._disk_ok:
                self._disk_put(items)

    def clear_memory(self) -> None:
        """Forget the in-memory entries (the file keeps them)."""
        with self._lock:
            self._mem.clear()

    def close(self) -> None:
        """Close the sqlite connection (reopened on the next use)."""
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except sqlite3.Error:
                    pass
                self._conn = None

    def __len__(self) -> int:
        return len(self._mem)

    # --- memory ---------------------------------------------------------------------------------

    def _remember(self, key: CacheKey, vec: np.ndarray) -> None:
        vec = np.asarray(vec, dtype=np.float32)
        vec.flags.writeable = False
        self._mem[key] = vec
        self._mem.move_to_end(key)
        while len(self._mem) > self.memory_items:
            self._mem.popitem(last=False)

    # --- disk -----------------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is not None:
            return self._conn
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
        try:
            _setup(conn)
            conn.execute("SELECT key, dim, vec FROM vectors LIMIT 1").fetchall()
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _disk_get(self, keys: Sequence[CacheKey]) -> dict[CacheKey, np.ndarray]:
        by_digest = {_digest(k): k for k in keys}
        out: dict[CacheKey, np.ndarray] = {}
        bad: list[bytes] = []

        def run(conn: sqlite3.Connection) -> None:
            digests = list(by_digest)
            for i in range(0, len(digests), 500):
                part = digests[i:i + 500]
                sql = f"SELECT key, dim, vec FROM vectors WHERE key IN ({','.join('?' * len(part))})"
                for d, dim, blob in conn.execute(sql, part):
                    k = by_digest.get(d)
                    if k is None:
                        continue
                    if not isinstance(blob, bytes) or not isinstance(dim, int) or dim <= 0 or len(blob) != 4 * dim:
                        bad.append(d)
                        continue
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if not _valid(vec):
                        bad.append(d)
                        continue
                    out[k] = vec

        self._with_disk(run, "read")
        if bad:
            log.warning("vector cache %s: %d damaged entr%s ignored (will be recomputed)",
                        self.path, len(bad), "y" if len(bad) == 1 else "ies")
            self._with_disk(lambda c: c.executemany("DELETE FROM vectors WHERE key = ?", [(d,) for d in bad]),
                            "repair")
        return out

    def _disk_put(self, items: dict[CacheKey, np.ndarray]) -> None:
        now = time.time()
        rows = []
        for k, v in items.items():
            arr = np.ascontiguousarray(v, dtype=np.float32)
            rows.append((_digest(k), int(arr.size), arr.tobytes(), now))

        def run(conn: sqlite3.Connection) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany("INSERT OR REPLACE INTO vectors (key, dim, vec, created) VALUES (?, ?, ?, ?)", rows)
                conn.execute("COMMIT")
            except BaseException:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                raise

        self._with_disk(run, "write")

    def _with_disk(self, fn, what: str) -> None:
        """Run fn(conn); on a corrupt file rebuild once and retry; on other errors skip the disk."""
        for attempt in (1, 2):
            try:
                fn(self._connect())
                return
            except sqlite3.OperationalError as e:
                msg = str(e).lower()
                if "locked" in msg or "busy" in msg:
                    if not self._warned_locked:
                        log.warning("vector cache %s is busy (another process?): %s skipped", self.path, what)
                        self._warned_locked = True
                    return
                if "malformed" in msg or "not a database" in msg or "no such table" in msg or "no such column" in msg:
                    if attempt == 1 and self._rebuild(e):
                        continue
                self._give_up(e)
                return
            except sqlite3.DatabaseError as e:  # "file is not a database", "database disk image is malformed"
                if attempt == 1 and self._rebuild(e):
                    continue
                self._give_up(e)
                return
            except (sqlite3.Error, OSError) as e:
                self._give_up(e)
                return

    def _rebuild(self, err: Exception) -> bool:
        assert self.path is not None
        self._drop_connection()
        aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}-{os.getpid()}")
        try:
            for old in self.path.parent.glob(self.path.name + ".corrupt-*"):
                old.unlink(missing_ok=True)  # keep only the latest damaged file, for a post-mortem
            if self.path.exists():
                os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    side.unlink()
        except OSError as e:
            self._give_up(e)
            return False
        log.warning("vector cache %s was unreadable (%s): moved to %s and rebuilt", self.path, err, aside.name)
        return True

    def _give_up(self, err: Exception) -> None:
        self._drop_connection()
        self._disk_ok = False
        log.warning("vector cache %s unusable (%s): caching in memory only", self.path, err)

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass
            self._conn = None
