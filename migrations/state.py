"""The state table and the lock, both in the target database (so they work across machines).

State: `embedsql_migrations`, one row per event, `ReplacingMergeTree(seq)` ordered by version.
ClickHouse has no transactions, so every change is a new row and the row with the highest `seq`
of a version is the truth (read with argMax in Python, correct before and after merges). A run
writes `running` before a migration's first statement and after each statement (statements_done,
and `part` for the statements one file statement was translated into), then `applied`, or
`failed` with the error. `down` writes `reverting` / `revert_failed` / `reverted` the same way.

Lock: `embedsql_migration_lock`. Each run claims with a row (owner id, host, pid, command,
acquired_at and expires_at from the *server's* clock), waits a short settle time (longer than an
insert takes to become visible), then reads every live claim (not released, not expired): the
earliest (acquired_at, owner) holds the lock; the others withdraw their claim and wait. A holder
renews its claim (heartbeat) between statements and while waiting for index builds; a renewal
finds its claim expired and aborts rather than reviving it. A killed run's claim expires after
the TTL (default 60 s), or at once when the next run is on the same host and sees its pid gone.
"""
from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

from sqlext.db.engine import command_line, pid_alive
from sqlext.errors import EmbedSQLError, ServerError

STATE_TABLE = "embedsql_migrations"
LOCK_TABLE = "embedsql_migration_lock"


class LockTimeout(ServerError):
    """Another run holds the migration lock."""


class LockWaitStopped(EmbedSQLError):
    """The wait for the migration lock ended because the run was asked to stop (`stop`, the first
    Ctrl-C): this run holds no claim and ran nothing. `holder`: the claim it waited for (or None)."""

    def __init__(self, message: str, *, holder=None, **kw):
        super().__init__(message, **kw)
        self.holder = holder


class LockLost(ServerError):
    """This run's lock expired (it could not renew in time)."""


def state_ddl(cluster=None) -> list[str]:
    """CREATE statements of the state and lock tables (ON CLUSTER + one replicated copy shared by
    all shards when a cluster is given)."""
    on = cluster.on if cluster else ""

    def engine(kind: str, table: str, args: str = "") -> str:
        if not cluster:
            return f"{kind}({args})" if args else kind
        # one table replicated on every node of every shard: each node's replica name must be
        # unique in the whole cluster, and {replica} alone is often reused in each shard
        path = f"'/clickhouse/tables/embedsql/{{database}}/{table}', '{{shard}}-{{replica}}'"
        return f"Replicated{kind}({path}{', ' + args if args else ''})"

    return [
        f"CREATE TABLE IF NOT EXISTS {STATE_TABLE}{on}\n(\n"
        "    version UInt64,\n    name String,\n    checksum String,\n    prefix_checksum String,\n"
        "    status LowCardinality(String),\n    statements_done UInt32,\n    statements_total UInt32,\n"
        "    part UInt32,\n    error String,\n    applied_at DateTime64(3),\n    duration_ms UInt64,\n"
        "    run_id String,\n    host String,\n    seq UInt64\n)\n"
        f"ENGINE = {engine('ReplacingMergeTree', STATE_TABLE, 'seq')}\nORDER BY version",
        f"CREATE TABLE IF NOT EXISTS {LOCK_TABLE}{on}\n(\n"
        "    owner String,\n    host String,\n    pid UInt32,\n    command String,\n"
        "    acquired_at DateTime64(6),\n    expires_at DateTime64(6),\n    released UInt8,\n    seq UInt64\n)\n"
        f"ENGINE = {engine('MergeTree', LOCK_TABLE)}\nORDER BY (owner, seq)\n"
        "TTL toDateTime(expires_at) + INTERVAL 1 DAY",
    ]


@dataclass
class StateRow:
    """One row of the state table embedsql_migrations (the latest per version is the migration's
    state): `version`, `name`, file `checksum` and `prefix_checksum` (of the statements done),
    `status`, `statements_done` of `statements_total` in `part`, `error` text, `applied_at`
    (DateTime64), `duration_ms`, the `run_id` and `host` that wrote it, and `seq` (ordering;
    nanoseconds since the epoch or later)."""

    version: int
    name: str
    checksum: str
    prefix_checksum: str
    status: str
    statements_done: int
    statements_total: int
    part: int
    error: str
    applied_at: object
    duration_ms: int
    run_id: str
    host: str
    seq: int


_STATE_COLS = ("version, name, checksum, prefix_checksum, status, statements_done, statements_total, part, "
               "error, applied_at, duration_ms, run_id, host, seq")


class StateStore:
    """The migration state table through `db` (the runner's Db): rows are appended, never updated;
    the row with the highest seq per version is the state."""

    def __init__(self, db):
        self.db = db
        self.seq = 0
        self.run_id = uuid.uuid4().hex[:12]
        self.host = socket.gethostname()

    def exists(self) -> bool:
        """Whether the state table exists in the current database. Database errors propagate."""
        rows = self.db.query("SELECT count() FROM system.tables WHERE database = currentDatabase() "
                             "AND name = {t:String}", {"t": STATE_TABLE})
        return bool(rows and int(rows[0][0]))

    def read(self) -> dict[int, StateRow]:
        """Latest row per version (highest seq)."""
        if not self.exists():
            return {}
        latest: dict[int, StateRow] = {}
        for r in self.db.query(f"SELECT {_STATE_COLS} FROM {STATE_TABLE} ORDER BY version, seq"):
            row = StateRow(*r)
            latest[row.version] = row
            self.seq = max(self.seq, row.seq)
        return latest

    def write(self, mig, status: str, *, done: int, total: int, part: int = 0, error: str = "",
              duration_ms: int = 0, prefix_checksum: str | None = None, keep_applied_at: bool = False):
        """Append a state row for `mig`: `status`, `done` of `total` statements of `part`, `error`
        (cut to 4000 characters), `duration_ms`, `prefix_checksum` (None: of the first `done` up
        statements), and `applied_at` now, or with `keep_applied_at` the version's latest row's
        (recording a new checksum does not move when it was applied). Sent with server-side
        parameters; database errors propagate."""
        self.seq = max(self.seq + 1, time.time_ns())
        pc = prefix_checksum if prefix_checksum is not None else mig.prefix_checksum(done)
        at = (f"(SELECT argMax(applied_at, seq) FROM {STATE_TABLE} WHERE version = {{version:UInt64}})"
              if keep_applied_at else "now64(3)")
        self.db.command(
            f"INSERT INTO {STATE_TABLE} ({_STATE_COLS}) SELECT {{version:UInt64}}, {{name:String}}, "
            "{checksum:String}, {pc:String}, {status:String}, {done:UInt32}, {total:UInt32}, {part:UInt32}, "
            f"{{error:String}}, {at}, {{ms:UInt64}}, {{run:String}}, {{host:String}}, {{seq:UInt64}}",
            {"version": mig.version, "name": mig.name, "checksum": mig.checksum, "pc": pc, "status": status,
             "done": done, "total": total, "part": part, "error": error[:4000], "ms": int(duration_ms),
             "run": self.run_id, "host": self.host, "seq": self.seq})


@dataclass
class Claim:
    """One live claim on the migration lock: the run's `owner` id, `host`, `pid`, `command`,
    `acquired_at` (DateTime64) and `remaining_ms` before it expires."""

    owner: str
    host: str
    pid: int
    command: str
    acquired_at: object
    remaining_ms: int

    def describe(self) -> str:
        """`pid N on HOST (COMMAND), since TIME`: how a waiting run names the holder."""
        return f"pid {self.pid} on {self.host} ({self.command}), since {self.acquired_at}"


class MigrationLock:
    """The database lock (see the module docstring). Use as a context manager, or acquire/release."""

    def __init__(self, db, *, ttl_s: float = 60.0, timeout_s: float = 30.0, settle_s: float = 0.3,
                 poll_s: float = 0.5, on_wait=None, stop=None):
        """`stop`: a threading.Event; once set (the first Ctrl-C), a wait in `acquire` for another
        run's lock ends at once (LockWaitStopped). A stop with nobody to wait for does not end
        `acquire`: the run stops at its first safe point instead."""
        self.db = db
        self.stop = stop
        self.ttl_ms = int(ttl_s * 1000)
        self.timeout_s = timeout_s
        self.settle_s = settle_s
        self.poll_s = poll_s
        self.on_wait = on_wait
        self.owner = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.command = command_line()
        self.held = False
        self._seq = 0
        self._renewed = 0.0

    # -- rows --------------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq = max(self._seq + 1, time.time_ns())
        return self._seq

    def live_claims(self) -> list[Claim]:
        """The claims not released and not expired, oldest first. Database errors propagate."""
        rows = self.db.query(
            f"SELECT owner, argMax(host, seq), argMax(pid, seq), argMax(command, seq), min(acquired_at) AS a, "
            f"dateDiff('millisecond', now64(6), max(expires_at)) AS left_ms, argMax(released, seq) AS r "
            f"FROM {LOCK_TABLE} GROUP BY owner HAVING r = 0 AND left_ms > 0 ORDER BY a, owner")
        return [Claim(o, h, int(p), c, a, int(left)) for o, h, p, c, a, left, _ in rows]

    def _insert_claim(self):
        self.db.command(
            f"INSERT INTO {LOCK_TABLE} (owner, host, pid, command, acquired_at, expires_at, released, seq) "
            "SELECT {owner:String}, {host:String}, {pid:UInt32}, {command:String}, now64(6), "
            "now64(6) + toIntervalMillisecond({ttl:UInt64}), 0, {seq:UInt64}",
            {"owner": self.owner, "host": self.host, "pid": self.pid, "command": self.command,
             "ttl": self.ttl_ms, "seq": self._next_seq()})
        self._renewed = time.monotonic()

    def _close_claim(self, owner: str):
        """Mark a claim released (ours, or a dead local process's)."""
        self.db.command(
            f"INSERT INTO {LOCK_TABLE} (owner, host, pid, command, acquired_at, expires_at, released, seq) "
            "SELECT owner, host, pid, command, acquired_at, now64(6), 1, {seq:UInt64} "
            f"FROM {LOCK_TABLE} WHERE owner = {{owner:String}} ORDER BY seq DESC LIMIT 1",
            {"seq": self._next_seq(), "owner": owner})

    def is_dead_local(self, c: Claim) -> bool:
        """A claim of a process on this machine that no longer exists."""
        return c.owner != self.owner and c.host == self.host and c.pid != self.pid and not pid_alive(c.pid)

    def _clear_dead_local(self, claims: list[Claim]) -> list[Claim]:
        out = []
        for c in claims:
            if self.is_dead_local(c):
                self._close_claim(c.owner)
                continue
            out.append(c)
        return out

    # -- protocol ----------------------------------------------------------------------------
    def acquire(self):
        """Take the lock: claim, wait `settle_s`, and hold it when no other live claim is older;
        otherwise step back and poll every `poll_s` (claims of dead processes on this host are
        released). Returns self. Raises LockTimeout, naming the holder, after `timeout_s`
        seconds, and LockWaitStopped as soon as `stop` is set while it waits."""
        deadline = time.monotonic() + self.timeout_s
        claimed = False
        told = False
        while True:
            claims = self._clear_dead_local(self.live_claims())
            others = [c for c in claims if c.owner != self.owner]
            if not claimed:
                if not others:
                    self._insert_claim()
                    claimed = True
                    time.sleep(self.settle_s)
                    continue
            else:
                mine = next((c for c in claims if c.owner == self.owner), None)
                if mine is not None and not any((c.acquired_at, c.owner) < (mine.acquired_at, mine.owner)
                                                for c in others):
                    self.held = True
                    return self
                self._close_claim(self.owner)   # someone claimed earlier: step back
                claimed = False
                self.owner = uuid.uuid4().hex
            # waiting (holding no claim: a new one was not made, or was withdrawn above)
            holder = others[0] if others else None
            who = holder.describe() if holder else "another run"
            if self.stop is not None and self.stop.is_set():
                raise LockWaitStopped(f"interrupted while waiting for the migration lock held by {who}: "
                                      f"nothing was run", holder=holder)
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"another `embedsql migrate` run holds the migration lock: {who}; waited {self.timeout_s:g} s",
                    hint="wait for it to finish and retry (or raise --lock-timeout); a killed run's lock "
                         "expires by itself")
            if holder is not None and self.on_wait and not told:
                self.on_wait(f"waiting for the migration lock held by {who}")
                told = True
            if self.stop is not None:
                self.stop.wait(self.poll_s)  # (a stop ends the wait at once)
            else:
                time.sleep(self.poll_s)

    def renew(self, force: bool = False):
        """Heartbeat: extend the claim if a quarter of the TTL has passed (or force)."""
        if not self.held:
            return
        if not force and time.monotonic() - self._renewed < self.ttl_ms / 4000:
            return
        rows = self.db.query(
            f"SELECT dateDiff('millisecond', now64(6), max(expires_at)), argMax(released, seq) "
            f"FROM {LOCK_TABLE} WHERE owner = {{owner:String}}", {"owner": self.owner})
        left = int(rows[0][0]) if rows and rows[0][0] is not None else 0
        if left <= 1000 or (rows and int(rows[0][1])):
            self.held = False
            raise LockLost(
                "this run's migration lock expired before it could be renewed; stopped to avoid running "
                "beside another run",
                hint="run `embedsql migrate status`, then `embedsql migrate up` again to resume")
        self.db.command(
            f"INSERT INTO {LOCK_TABLE} (owner, host, pid, command, acquired_at, expires_at, released, seq) "
            "SELECT owner, host, pid, command, acquired_at, now64(6) + toIntervalMillisecond({ttl:UInt64}), 0, "
            f"{{seq:UInt64}} FROM {LOCK_TABLE} WHERE owner = {{owner:String}} ORDER BY seq DESC LIMIT 1",
            {"ttl": self.ttl_ms, "seq": self._next_seq(), "owner": self.owner})
        self._renewed = time.monotonic()

    def release(self):
        """Release the lock if held (a failure to write the release is ignored: the claim expires
        after its TTL)."""
        if self.held:
            self.held = False
            try:
                self._close_claim(self.owner)
            except EmbedSQLError:
                pass  # it expires by itself

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
