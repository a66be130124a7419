"""The migration runner: status, up, down, plan. See the package docstring for the behaviour."""
from __future__ import annotations

import contextlib
import re
import shlex
import time
from dataclasses import dataclass, field

from sqlext.errors import EmbedSQLError, ServerError, UsageError
from sqlext.text.ddl import StaticCatalog

from . import render
from .files import Migration
from .state import LockLost, LockWaitStopped, MigrationLock, StateRow, StateStore, state_ddl


class MigrationError(ServerError):
    """A migration statement failed (the message names file, line and statement number)."""


class IndexBuildError(ServerError):
    """A vector index build failed or did not finish in time."""


class MigrationInterrupted(EmbedSQLError):
    """The run stopped at a safe point because `Runner.stop` was set (Ctrl-C): between two
    statements, with the progress so far recorded, or while waiting for an index build. The
    message says where; the hint says which command resumes. Exit status 130."""

    exit_code = 130


#: The settings of the state and lock tables' reads and writes on a cluster (see Runner).
CLUSTER_CONSISTENCY = {"insert_quorum": "auto", "insert_quorum_parallel": 0, "select_sequential_consistency": 1}


class Db:
    """The runner's access to the database: SQL that is already rendered for the target, sent
    verbatim (no EMBED, no translation) through the session's public API, values bound as
    server-side parameters. Failures arrive as `sqlext.errors.ServerError`."""

    def __init__(self, session, settings: dict | None = None):
        """`settings`: sent with `query` and `command` (the state and lock tables' reads and
        writes), not with `execute` (the migrations' own statements)."""
        self.session = session
        self.settings = dict(settings or {})

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        """Rows of a query."""
        return self.session.query(sql, params=params, verbatim=True, settings=self.settings or None).rows

    def command(self, sql: str, params: dict | None = None):
        """Run a statement that returns no rows."""
        return self.session.command(sql, params=params, verbatim=True, settings=self.settings or None)

    def execute(self, sql: str):
        """Run a rendered migration statement (a query or a command, by its kind)."""
        return self.session.execute(sql, verbatim=True)


@dataclass
class Status:
    """Where one migration stands: `version`, `name`, its parsed file (`migration`, None when the
    file is missing) and latest state-table row (`row`, None when never run), `state` (pending |
    applied | failed | interrupted | running | reverting | revert_failed), `changed` (the file
    differs from what was applied) and a `note` for the user. `for_model`: a built-in migration
    applied, unchanged, for another model than the one this run's files are filled in for (the
    ModelIdentity the database records); `migration` is then the file filled in for that model,
    the one the database was migrated with, and `changed` is False."""

    version: int
    name: str
    migration: Migration | None
    row: StateRow | None
    state: str          # pending | applied | failed | interrupted | running | reverting | revert_failed | reverted (file missing)
    changed: bool = False
    note: str = ""
    for_model: object | None = None

    @property
    def label(self) -> str:
        """`<version>_<name>` with the version in four digits."""
        return f"{self.version:04d}_{self.name}"

    @property
    def is_applied(self) -> bool:
        """Counts as (at least partly) applied: `down` has something to revert."""
        return self.state not in ("pending", "reverted")


@dataclass
class Report:
    """What one `up` or `down` did: labels of the migrations `applied` and `reverted`, in order, and
    `warnings` (files missing for recorded runs, migrations applied out of order)."""

    applied: list[str] = field(default_factory=list)
    reverted: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)   # --allow-changed: new checksums recorded
    warnings: list[str] = field(default_factory=list)


def _noop(kind: str, text: str):
    pass


def resume_point(s: Status, direction: str) -> tuple[int, int]:
    """Where `up` (direction 'up') or `down` starts in `s`'s part: (statement index, rendered
    part within it), both 0-based. A failed or interrupted `up` resumes at the statement it
    stopped at, a half-done revert (`revert_failed`) likewise; anything else starts at (0, 0)."""
    resumes = ("failed", "interrupted") if direction == "up" else ("revert_failed",)
    if s.state in resumes and s.row is not None:
        return s.row.statements_done, s.row.part
    return 0, 0


def resumed(targets: list[Status], direction: str) -> tuple[list[Migration], dict[int, tuple[int, int]]]:
    """What `plan` takes to show a run over `targets` (what `up` / `down` would run: see
    Runner._up_targets / _down_targets): their migrations (those with a file), and version ->
    where each resumes (`resume_point`), for the ones that do not start at the beginning."""
    chosen, starts = [], {}
    for s in targets:
        if s.migration is None:
            continue
        chosen.append(s.migration)
        at = resume_point(s, direction)
        if at != (0, 0):
            starts[s.version] = at
    return chosen, starts


def reverts_best_effort(s: Status) -> bool:
    """`down` of a partly applied migration runs its whole down part, ignoring errors."""
    return s.state in ("failed", "interrupted", "running")


class Runner:
    """Runs migrations against one session's database.

    on_event(kind, text): kind is "info" | "step" | "wait" | "warn" | "done".
    options: the command-line options the run was given (e.g. ("--dir", "db/migrations")), repeated
    in every hint that names a command to run next, so it acts on the same files and database.
    """

    def __init__(self, session, migrations: list[Migration], *, cluster: str | None = None,
                 on_event=None, lock_timeout: float = 30.0, lock_ttl: float = 60.0,
                 index_timeout: float = 600.0, wait_index: bool = True, settle_s: float | None = None,
                 options: tuple[str, ...] | list[str] = (), stop=None):
        """`stop`: a threading.Event; once set (Ctrl-C), the run stops at its next safe point (no
        further statement starts; the one running finishes and is recorded) and raises
        `MigrationInterrupted`, releasing the migration lock."""
        self.session = session
        self.stop = stop
        self.options = tuple(options)
        # on a cluster the state and lock tables are one table replicated on every node: a write
        # is acknowledged by a majority of them and a read sees every acknowledged write, so two
        # runs through different nodes cannot both take the lock during replication lag
        self.db = Db(session, CLUSTER_CONSISTENCY if cluster else None)
        self.migrations = migrations
        self.cluster_name = cluster
        self.on_event = on_event or _noop
        self.lock_timeout = lock_timeout
        self.lock_ttl = lock_ttl
        self.index_timeout = index_timeout
        self.wait_index = wait_index
        embedded = session.embedded
        self.settle_s = settle_s if settle_s is not None else (0.05 if embedded else (3.0 if cluster else 1.0))
        self.state = StateStore(self.db)
        self._cluster = None
        self._lock: MigrationLock | None = None

    # -- helpers -------------------------------------------------------------------------------
    def how(self, action: str, *extra: str) -> str:
        """The command line to run `action` on the same files and database, in backquotes:
        "`embedsql migrate up --dir D --allow-changed`"."""
        return "`" + " ".join(["embedsql", "migrate", action, *map(shlex.quote, self.options),
                               *extra]) + "`"

    def check_to(self, to: int | None, direction: str) -> None:
        """Refuse (UsageError) a `--to` that is no migration version: versions are 0 or more
        (--to 0: `up` applies none, `down` reverts all). None (no --to) passes."""
        if to is None or to >= 0:
            return
        meaning = ("applies the migrations up to and including V; --to 0 applies none" if direction == "up"
                   else "reverts every migration above V; --to 0 reverts all")
        raise UsageError(f"--to {to} is not a migration version: V must be 0 or more "
                         f"(`migrate {direction} --to V` {meaning}); nothing was run",
                         hint=f"{self.how('status')} lists the versions")

    @property
    def dialect(self) -> str:
        """The session's SQL dialect, 'myscale' or 'clickhouse' (detected on first use; may query
        the server)."""
        return self.session.dialect

    @property
    def cluster(self) -> render.Cluster | None:
        """The cluster layout for --cluster (the current database read from the server on first
        use), or None without --cluster."""
        if self.cluster_name and self._cluster is None:
            db = self.db.query("SELECT currentDatabase()")[0][0]
            self._cluster = render.Cluster(self.cluster_name, db, sharded_tables(self.migrations))
        return self._cluster

    @contextlib.contextmanager
    def _engine(self):
        """Embedded: hold the engine for the whole run (another process waits --lock-timeout)."""
        with self.session.unit_of_work(timeout=self.lock_timeout):
            yield

    def statuses(self, rows: dict[int, StateRow] | None = None, *, lock_live: bool | None = None) -> list[Status]:
        """The status of every migration known from the files or the state table (`rows`; read from
        the database when None), by version. `lock_live`: whether a run holds the lock, so that a
        'running' or 'reverting' row is still in progress rather than interrupted or revert_failed
        (None: look it up). Database errors propagate."""
        rows = self.state.read() if rows is None else rows
        files = {m.version: m for m in self.migrations}
        recorded: list = []   # the built-in column's recorded model, read once when needed
        out = []
        for v in sorted(set(files) | set(rows)):
            mig, row = files.get(v), rows.get(v)
            name = mig.name if mig else row.name
            st = Status(v, name, mig, row, "pending")
            if row is not None and row.status == "reverted" and mig is None:
                # reverted earlier, and its file is not in this set: nothing `up` could apply
                st.state, st.note = "reverted", "file missing; reverted earlier (nothing to apply)"
            elif row is not None and row.status != "reverted":
                st.state = row.status
                if row.status == "running":
                    if lock_live is None:
                        lock_live = self._lock_live()
                    st.state = "running" if lock_live else "interrupted"
                if st.state == "reverting" and not (lock_live if lock_live is not None else self._lock_live()):
                    st.state = "revert_failed"
                if mig is not None:
                    if st.state == "applied":
                        st.changed = not mig.same_checksum(row.checksum)
                    elif st.state in ("failed", "interrupted"):
                        st.changed = mig.prefix_checksum(row.statements_done) != row.prefix_checksum
                    if st.changed and mig.model is not None:
                        self._for_recorded_model(st, recorded)
                if st.state in ("failed", "interrupted"):
                    st.note = (f"stopped at statement {row.statements_done + 1} of {row.statements_total}"
                               + (f": {row.error}" if row.error else ""))
                elif st.state == "revert_failed":
                    st.note = (f"down stopped at statement {row.statements_done + 1} of {row.statements_total}"
                               + (f": {row.error}" if row.error else ""))
                elif st.state == "applied" and row.error:
                    st.note = row.error
                if st.for_model is not None:
                    st.note = (self._model_note(st, mig.model) + (f"; {st.note}" if st.note else ""))
                if mig is None:
                    st.note = ("file missing; " + st.note).rstrip("; ")
            out.append(st)
        return out

    def _recorded_model(self) -> dict:
        """What the built-in vector column records about its model ({} when nothing, or no table)."""
        from .model import BUILTIN_COLUMN, BUILTIN_TABLE

        try:
            self.session.catalog.invalidate(BUILTIN_TABLE)
            return self.session.catalog.column_model_record(BUILTIN_TABLE, BUILTIN_COLUMN) or {}
        except EmbedSQLError:
            return {}

    def _for_recorded_model(self, st: Status, cache: list) -> None:
        """A built-in migration whose checksum differs for this run's model: when the database
        records another model, and the file filled in for that model has the recorded checksum,
        the file did not change; the model did. Then `st` keeps state, `changed` is False,
        `for_model` names the recorded model and `migration` is the file filled in for it."""
        from embed.identity import ModelIdentity

        from .files import refill

        if not cache:
            cache.append(self._recorded_model())
        recorded, mig, row = cache[0], st.migration, st.row
        dim = recorded.get("dim", "")
        if not recorded.get("model") or not dim.isdigit() or mig.model.matches(recorded):
            return
        other = ModelIdentity(recorded.get("family", ""), recorded["model"], int(dim), recorded.get("digest") or None)
        alt = refill(mig, other)
        if alt is None:
            return
        same = (alt.same_checksum(row.checksum) if st.state == "applied"
                else alt.prefix_checksum(row.statements_done) == row.prefix_checksum)
        if same:
            st.migration, st.changed, st.for_model = alt, False, other

    def _model_note(self, st: Status, current) -> str:
        """What `status` says of a migration applied for another model: which model, which this
        run uses, and the ways to agree (--model; `embedsql model stamp`)."""
        from .model import BUILTIN_COLUMN, BUILTIN_TABLE

        rec = st.for_model
        keep = []
        words = list(self.options)
        for i, w in enumerate(words[:-1]):
            if w in ("--dsn", "-c", "--model"):
                keep += [w, words[i + 1]]
        stamp = " ".join(["embedsql", "model", "stamp", f"{BUILTIN_TABLE}.{BUILTIN_COLUMN}",
                          *map(shlex.quote, keep)])
        return (f"for model {rec.describe()}, but this run uses {current.describe()}: the file is unchanged, "
                f"the model differs. Pass --model with a local copy of {rec.name!r} (or set EMBEDSQL_MODEL), "
                f"or, if the table is empty, re-stamp it for the model in use with "
                f"`{stamp}` (see `embedsql model --help`)")

    def _lock_live(self) -> bool:
        try:
            lk = MigrationLock(self.db)
            return any(not lk.is_dead_local(c) for c in lk.live_claims())
        except EmbedSQLError:
            return False

    def status(self) -> list[Status]:
        """`statuses()` with the embedded engine held for the read (EngineBusy after the lock
        timeout when another process holds it)."""
        with self._engine():
            return self.statuses()

    # -- running ------------------------------------------------------------------------------
    def _prepare_tables(self):
        for sql in state_ddl(self.cluster):
            self.db.command(sql)

    def _render(self, step_text: str) -> tuple[list[str], list[str]]:
        catalog = self.session.catalog
        catalog.invalidate()
        stmts, notes, warnings = render.translate_step(step_text, self.dialect, catalog)
        if self.cluster:
            out = []
            for s in stmts:
                out += render.cluster_statements(s, self.cluster)
            stmts = out
        return stmts, warnings

    def _run_steps(self, mig: Migration, direction: str, start: int, part: int, *, best_effort: bool,
                   report: Report) -> tuple[int, int]:
        steps = mig.steps(direction)
        total = len(steps)
        running = "running" if direction == "up" else "reverting"
        failed = "failed" if direction == "up" else "revert_failed"
        for i in range(start, total):
            step = steps[i]
            sqls, warnings = self._render(step.text)
            for w in warnings:
                report.warnings.append(f"{mig.label} statement {i + 1}: {w}")
                self.on_event("warn", f"{mig.label} statement {i + 1}: {w}")
            first = part if i == start else 0
            for j in range(first, len(sqls)):
                if self._stopping():  # progress so far is recorded: a safe point to stop at
                    self.state.write(mig, running, done=i, total=total, part=j, error="interrupted (Ctrl-C)",
                                     prefix_checksum=mig.prefix_checksum(i) if direction == "up" else "")
                    how = self.how(direction)
                    raise MigrationInterrupted(
                        f"interrupted: {mig.label} ({direction}) stopped before statement {i + 1} of {total}"
                        + (f" (part {j + 1} of {len(sqls)})" if len(sqls) > 1 else "")
                        + "; the statements before it ran and are recorded, and the migration lock is released",
                        hint=(f"{how} resumes at statement {i + 1}" if direction == "up" else
                              f"{how} resumes the revert at statement {i + 1}"))
                self._heartbeat()   # progress so far is recorded: losing the lock here loses nothing
                t0 = time.perf_counter()
                try:
                    self.db.execute(sqls[j])
                except EmbedSQLError as exc:
                    where = f"{mig.path.name}:{step.line}"
                    msg = f"{mig.label} ({direction}) statement {i + 1} of {total} ({where}) failed: {exc.message}"
                    self.session.catalog.invalidate()
                    if best_effort:
                        report.warnings.append(msg)
                        self.on_event("warn", msg + " (ignored: reverting a partly applied migration)")
                        continue
                    self.state.write(mig, failed, done=i, total=total, part=j, error=exc.message,
                                     prefix_checksum=mig.prefix_checksum(i) if direction == "up" else "")
                    raise MigrationError(
                        msg, code=getattr(exc, "code", None),
                        hint=(f"fix the cause (or the file), then {self.how(direction)} resumes at "
                              f"statement {i + 1}" + (f"; {self.how('down')} reverts what ran"
                                                      if direction == "up" else "")),
                    ) from None
                ms = (time.perf_counter() - t0) * 1000
                self.on_event("step", f"  [{i + 1}/{total}] line {step.line}"
                              + (f" ({j + 1}/{len(sqls)})" if len(sqls) > 1 else "") + f" ok, {ms:.0f} ms")
                if j + 1 < len(sqls):
                    self.state.write(mig, running, done=i, total=total, part=j + 1,
                                     prefix_checksum=mig.prefix_checksum(i) if direction == "up" else "")
            self.session.catalog.invalidate()
            self.state.write(mig, running, done=i + 1, total=total, part=0,
                             prefix_checksum=mig.prefix_checksum(i + 1) if direction == "up" else "")
        return total, 0

    def _stopping(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def _interrupted_between(self, done: list[str], direction: str):
        """Raise `MigrationInterrupted` before the next migration starts (Ctrl-C)."""
        what = ", ".join(done) or "none"
        raise MigrationInterrupted(
            f"interrupted: no further migration was started ({'applied' if direction == 'up' else 'reverted'} "
            f"in this run: {what}); the migration lock is released",
            hint=f"{self.how(direction)} continues with the next one")

    def _heartbeat(self):
        if self._lock is not None:
            try:
                self._lock.renew()
            except LockLost as exc:
                exc.hint = f"run {self.how('status')}, then {self.how('up')} again to resume"
                raise

    @contextlib.contextmanager
    def _locked(self):
        with self._engine():
            self._check_cluster()
            self._prepare_tables()
            lock = MigrationLock(self.db, ttl_s=self.lock_ttl, timeout_s=self.lock_timeout,
                                 settle_s=self.settle_s, on_wait=lambda t: self.on_event("wait", t),
                                 stop=self.stop)
            try:
                lock.acquire()
            except LockWaitStopped as exc:  # Ctrl-C while another run holds the lock
                raise MigrationInterrupted(exc.message, hint=f"run the same command again when that run is "
                                           f"done ({self.how('status')} shows it)") from None
            self._lock = lock
            try:
                yield
            finally:
                self._lock = None
                lock.release()

    def _check_cluster(self) -> None:
        """`--cluster NAME`: the server knows NAME (system.clusters), else UsageError naming the
        clusters it knows (none on the embedded engine), before anything is created; the
        server's own error was `Requested cluster 'NAME' not found`, with no way on."""
        if not self.cluster:
            return
        known = [r[0] for r in self.db.query("SELECT DISTINCT cluster FROM system.clusters ORDER BY cluster")]
        if self.cluster.name in known:
            return
        where = self.session.describe()
        raise UsageError(
            f"cluster {self.cluster.name!r} is not one {where} knows (system.clusters: "
            f"{', '.join(known) if known else 'none'}); nothing was run",
            hint=("name one of them with --cluster" if known else
                  "a --cluster run needs a ClickHouse server whose <remote_servers> config defines the "
                  "cluster; on one machine, leave out --cluster"))

    def up(self, to: int | None = None, *, allow_changed: bool = False) -> Report:
        """Apply every pending, failed or interrupted migration up to version `to` (None: all), in
        version order, under the migration lock; a failed or interrupted one resumes at the
        statement it stopped at; vector indexes are waited for unless wait_index=False. Returns a
        Report. Raises UsageError when an applied file changed (unless `allow_changed`) or a
        migration is half reverted, MigrationError when a statement fails (recorded as failed),
        IndexBuildError when an index did not build (the migration stays applied), LockTimeout /
        LockLost for the lock, and UsageError for a negative `to` (`check_to`)."""
        self.check_to(to, "up")
        report = Report()
        with self._locked():
            statuses = self.statuses(lock_live=False)
            changed = [s for s in statuses if s.changed and (to is None or s.version <= to)]
            if changed and not allow_changed:
                names = ", ".join(s.label for s in changed)
                raise UsageError(
                    f"migration file(s) changed since they were applied: {names}",
                    hint=f"restore the file(s), or run {self.how('up', '--allow-changed')} to accept the "
                         "edits (the applied statements are not rerun; the new checksums are recorded)")
            broken = [s for s in statuses if s.state == "revert_failed"]
            if broken:
                raise UsageError(
                    f"{broken[0].label} is half reverted ({broken[0].note})",
                    hint=f"fix the cause and run {self.how('down')} again to finish reverting it")
            for s in changed:
                self._accept_edits(s, report)
            for s in statuses:
                if s.migration is None and s.state not in ("pending", "reverted"):
                    report.warnings.append(f"{s.label} is recorded as {s.state} but its file is missing")
            todo = self._up_targets(statuses, to)
            other = next((s for s in statuses if s.for_model is not None), None)
            mine = next((s.migration.model for s in todo if s.migration.model is not None), None)
            if other is not None and mine is not None:   # one table, two models: refuse
                raise UsageError(
                    f"{other.label} was applied for model {other.for_model.describe()}, but these built-in "
                    f"migrations are for {mine.describe()}; nothing was applied",
                    hint=f"{self.how('status')} says how to use one model for both")
            self._refuse_adopting_tables(todo)
            top = max((s.version for s in statuses if s.state == "applied"), default=0)
            if not todo and to is not None and top > to:
                self.on_event("info", f"nothing to apply: the database is already past version {to:04d} "
                                      f"({top:04d} is applied); to go back, run {self.how('down', f'--to {to}')}")
            elif not todo:
                self.on_event("info", "nothing to apply: the database is up to date")
            for s in todo:
                if self._stopping():
                    self._interrupted_between(report.applied, "up")
                if s.version < top and s.state == "pending":
                    report.warnings.append(f"{s.label} is applied out of order (after {top:04d})")
                self._apply(s, report)
        return report

    def _refuse_adopting_tables(self, todo: list[Status]) -> None:
        """A built-in migration not yet started whose `CREATE TABLE IF NOT EXISTS t` finds `t`
        already there (the tutorial's own photos table, made by hand): it would do nothing,
        record itself as applied, let the next migrations fail on columns the table lacks, and
        its `down` would drop a table no migration created, with its rows. Raise UsageError,
        naming the table and the ways on; nothing is applied."""
        for s in todo:
            if s.state != "pending" or s.migration.model is None:  # your own files: as written
                continue
            for step in s.migration.up:
                if not _IF_NOT_EXISTS.match(step.text.lstrip()):
                    continue
                for name in render.created_tables(step.text):
                    info = self.session.catalog.table_info(name)
                    if not info.exists:
                        continue
                    raise UsageError(
                        f"table {name} already exists in database {info.database!r}, and no migration created it: "
                        f"{s.label} would leave it as it is (columns: {', '.join(info.columns)}) but record "
                        f"itself as applied, and `migrate down` would then drop it with its rows; nothing was "
                        f"applied",
                        hint=f"keep it under another name and let {self.how('up')} create the built-in table "
                             f"(`RENAME TABLE {name} TO {name}_mine`, then copy the rows over), or use it as it "
                             f"is without the built-in migrations: `embedsql migrate up --no-builtin`, and "
                             f"`embedsql ingest ... --table {name} --column-map ...`")

    @staticmethod
    def _up_targets(statuses: list[Status], to: int | None) -> list[Status]:
        """What `up(to)` applies, in order: every migration with a file that is not applied (a
        failed or interrupted one resumes where it stopped: `resume_point`), up to version `to`."""
        return [s for s in statuses if s.migration is not None and s.state != "applied"
                and (to is None or s.version <= to)]

    def _accept_edits(self, s: Status, report: Report):
        """--allow-changed: record the edited file's checksum for an applied migration (so later
        runs see it unchanged; when it was applied and how long it took stay as they were) and say
        so; a failed one records its new prefix when it resumes."""
        if s.state != "applied":
            return
        row, mig = s.row, s.migration
        self.state.write(mig, "applied", done=row.statements_done, total=row.statements_total,
                         part=row.part, error=row.error, duration_ms=row.duration_ms, keep_applied_at=True)
        s.changed = False
        text = (f"accepted the edits to {mig.label}: recorded its new checksum; its statements were "
                f"not rerun")
        report.accepted.append(mig.label)
        self.on_event("info", text)

    def _apply(self, s: Status, report: Report):
        mig = s.migration
        start, part = resume_point(s, "up")
        if s.state in ("failed", "interrupted"):
            self.on_event("info", f"resuming {mig.label} at statement {start + 1} of {len(mig.up)}")
        else:
            self.on_event("info", f"applying {mig.label} ({len(mig.up)} statement{'s' * (len(mig.up) != 1)})")
        t0 = time.perf_counter()
        self.state.write(mig, "running", done=start, total=len(mig.up), part=part)
        self._run_steps(mig, "up", start, part, best_effort=False, report=report)
        note = ""
        if self.wait_index:
            note = self._wait_indexes(mig)
        ms = int((time.perf_counter() - t0) * 1000)
        self.state.write(mig, "applied", done=len(mig.up), total=len(mig.up), duration_ms=ms, error=note)
        report.applied.append(mig.label)
        self.on_event("done", f"applied {mig.label} in {ms} ms")
        if note:
            raise IndexBuildError(f"{mig.label} was applied, but {note}",
                                  hint=f"see {self.how('status')}; fix the data and rebuild the index")

    @staticmethod
    def _down_targets(statuses: list[Status], to: int | None) -> list[Status]:
        applied = [s for s in statuses if s.is_applied]
        return applied[-1:] if to is None else [s for s in applied if s.version > to]

    def down_targets(self, to: int | None = None) -> list[Status]:
        """What `down(to)` would revert, latest last (read now, without the migration lock).
        UsageError for a negative `to` (`check_to`)."""
        self.check_to(to, "down")
        with self._engine():
            return self._down_targets(self.statuses(), to)

    def down(self, to: int | None = None, *, allow_changed: bool = False,
             expect: list[str] | None = None) -> Report:
        """Revert the latest applied migration (to=None), or every one above version `to`.
        `expect`: the labels the caller confirmed (from `down_targets`); when the targets found
        under the lock differ (another run moved the state meanwhile), nothing is reverted and
        `UsageError` says so (as it does for a negative `to`: `check_to`)."""
        self.check_to(to, "down")
        report = Report()
        with self._locked():
            targets = self._down_targets(self.statuses(lock_live=False), to)
            if expect is not None and [s.label for s in targets] != list(expect):
                raise UsageError(
                    "the migrations to revert changed while waiting for confirmation "
                    f"(now: {', '.join(s.label for s in targets) or 'none'}); nothing was reverted",
                    hint=f"check {self.how('status')} and run the command again")
            if not targets:
                self.on_event("info", "nothing to revert")
            for s in reversed(targets):
                if self._stopping():
                    self._interrupted_between(report.reverted, "down")
                if s.migration is None:
                    raise UsageError(f"cannot revert {s.label}: its file is missing",
                                     hint="restore the file (its down part is needed)")
                if s.migration.down is None:
                    raise UsageError(f"cannot revert {s.label}: the file has no '-- +down' part",
                                     hint="add a '-- +down' part that undoes the up part")
                if s.changed and not allow_changed:
                    raise UsageError(f"{s.label} changed since it was applied; its down part may not match",
                                     hint=f"restore the file, or run {self.how('down', '--allow-changed')}")
                self._revert(s, report)
        return report

    def _revert(self, s: Status, report: Report):
        mig = s.migration
        best_effort = reverts_best_effort(s)
        start, part = resume_point(s, "down")
        if s.state == "revert_failed":
            self.on_event("info", f"resuming the revert of {mig.label} at statement {start + 1}")
        else:
            self.on_event("info", f"reverting {mig.label}" + (" (partly applied: errors are ignored)"
                                                               if best_effort else ""))
        t0 = time.perf_counter()
        total = len(mig.down or [])
        self.state.write(mig, "reverting", done=start, total=total, part=part, prefix_checksum="")
        self._run_steps(mig, "down", start, part, best_effort=best_effort, report=report)
        ms = int((time.perf_counter() - t0) * 1000)
        self.state.write(mig, "reverted", done=0, total=total, duration_ms=ms, prefix_checksum="")
        report.reverted.append(mig.label)
        self.on_event("done", f"reverted {mig.label} in {ms} ms")

    # -- index builds -------------------------------------------------------------------------
    def _wait_indexes(self, mig: Migration) -> str:
        """Wait for the vector indexes the migration created; '' when built, else the problem."""
        targets = []
        for step in mig.up:
            for table, index in render.vector_indexes(step.text):
                if self.cluster and self.cluster.is_sharded(table):
                    table = self.cluster.local(table)
                targets.append((table, index))
        for table, index in targets:
            problem = self.wait_for_index(table, index)
            if problem:
                return problem
        return ""

    def wait_for_index(self, table: str, index: str) -> str:
        """Poll system.vector_indices for index `index` on `table` until it is Built; the wait
        doubles from 0.1 s to 2 s between reads and ends after `index_timeout` seconds. Returns
        '' when built, else the problem in words (missing, failed with its reason, or timed out
        with its parts done); database errors propagate."""
        db, t = render.split_name(table)
        where = ("database = {db:String}" if db else "database = currentDatabase()") + \
            " AND table = {t:String} AND name = {index:String}"
        sql = ("SELECT status, latest_fail_reason, total_parts, parts_with_vector_index "
               f"FROM system.vector_indices WHERE {where}")
        stmts, _, _ = render.translate_step(sql, self.dialect, self.session.catalog)
        sql = stmts[-1]
        params = {"t": t, "index": index, **({"db": db} if db else {})}
        deadline = time.monotonic() + self.index_timeout
        delay = 0.1
        last = None
        while True:
            rows = self.db.query(sql, params)
            if not rows:
                return f"vector index {index} on {table} does not exist after the migration"
            status, reason, total, done = rows[0][:4]
            note = ""
            if status == "Built" and self.cluster and self.dialect == "clickhouse":
                status, note = self._cluster_build(db, t, index)  # the node asked is one of many
                reason = note if status == "Error" else reason
            if status == "Built":
                self.on_event("done", f"vector index {index} on {table}: Built")
                return ""
            if status == "Error":
                return f"building vector index {index} on {table} failed: {reason or 'no reason given'}"
            shown = f"vector index {index} on {table}: {status}, " + (note or f"{done}/{total} parts")
            if shown != last:
                self.on_event("wait", shown)
                last = shown
            if time.monotonic() >= deadline:
                return (f"vector index {index} on {table} was not built after {self.index_timeout:g} s "
                        f"(still {status}, " + (note or f"{done}/{total} parts") + ")")
            if self._stopping():
                raise MigrationInterrupted(
                    f"interrupted while waiting for vector index {index} on {table} to build; the "
                    f"migration's statements all ran and are recorded, and the migration lock is released",
                    hint=f"{self.how('up')} waits for the index again and then records the migration as applied")
            self._heartbeat()
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


    def _cluster_build(self, db: str | None, table: str, index: str) -> tuple[str, str]:
        """On a cluster, ClickHouse builds a vector index on each node (`MATERIALIZE INDEX` is a
        mutation per replica): ('Built', '') once every node's `MATERIALIZE INDEX index` of
        `table` is done, ('Error', the reason) when one failed, else ('InProgress', a note). A
        replica of a Replicated table loads the mutation from Keeper some time after the
        replica that ran the ALTER, and until then shows none: while some of the cluster's
        replicas show the mutation and others do not, the build is in progress (`build_state`).
        Read through clusterAllReplicas(cluster, system.mutations) (`cluster_build_sql`)."""
        rows = self.db.query(cluster_build_sql(bool(db)), {"cluster": self.cluster.name, "t": table,
                                                          "index": index, **({"db": db} if db else {})})
        return build_state(*(rows[0] if rows else (0, "", 0, 0)))


def build_state(running: int, reason: str, nodes_with: int, nodes: int) -> tuple[str, str]:
    """(status, note) of an index build on a cluster from `cluster_build_sql`'s row: `running`
    MATERIALIZE INDEX mutations not done, the failure `reason` of one ('' if none), how many
    replicas show the mutation (`nodes_with`) of the cluster's `nodes`. 'Error' with the reason;
    'InProgress' while one runs or some replicas do not show it yet; else 'Built' (also when no
    replica shows one: an index declared in CREATE TABLE is built with each insert)."""
    if reason:
        return "Error", f"{reason} (on one of the cluster's nodes)"
    if running:
        return "InProgress", ""
    if 0 < nodes_with < nodes:
        return "InProgress", f"{nodes_with} of {nodes} replicas have the build"
    return "Built", ""


_IF_NOT_EXISTS = re.compile(r"CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\b", re.I)


def cluster_build_sql(named_db: bool) -> str:
    """The query `Runner._cluster_build` sends: how many `MATERIALIZE INDEX {index:String}`
    mutations of table `{t:String}` (in `{db:String}` when `named_db`, else the current database)
    are not done on the nodes of cluster `{cluster:String}`, the failure reason of one (the same
    mutations system.vector_indices reads on one node; other mutations do not count), how many
    replicas (host and port) show such a mutation, and how many replicas the cluster has
    (system.clusters). One row; `build_state` reads it."""
    return ("SELECT countIf(NOT is_done), anyIf(latest_fail_reason, NOT is_done AND latest_fail_reason != ''), "
            "uniqExact(node), (SELECT count() FROM system.clusters WHERE cluster = {cluster:String}) "
            "FROM (SELECT is_done, latest_fail_reason, concat(hostName(), ':', toString(tcpPort())) AS node "
            "FROM clusterAllReplicas({cluster:String}, system.mutations) "
            "WHERE database = " + ("{db:String}" if named_db else "currentDatabase()") + " AND table = {t:String} "
            "AND has(extractAll(command, 'MATERIALIZE INDEX `?([A-Za-z0-9_]+)'), {index:String}))")


# ---------------------------------------------------------------- plan (no database needed)

def sharded_tables(migrations: list[Migration]) -> set[str]:
    """Bare names of the tables the migrations' up parts create: those a --cluster run shards."""
    out = set()
    for m in migrations:
        for step in m.up:
            for name in render.created_tables(step.text):
                out.add(render.split_name(name)[1])
    return out


@dataclass
class PlannedStep:
    """One statement of a plan (`plan`): its `migration`, `index` (0-based) in the part and `line`
    in the file, the `source` as written, the `sql` statements it renders to for the dialect (in
    order), and the bridge's `notes` and `warnings`."""

    migration: Migration
    index: int          # 0-based statement number in the part
    line: int
    source: str
    sql: list[str]
    notes: list[str]
    warnings: list[str]
    part: int = 0       # a resumed statement: how many of its rendered statements ran before (not in `sql`)


def plan(migrations: list[Migration], dialect: str, *, direction: str = "up", cluster: str | None = None,
         database: str = "default", catalog=None, include_state: bool = True,
         starts: dict[int, tuple[int, int]] | None = None, learn_from: list[Migration] | None = None):
    """Render migrations for a dialect without a database. Returns (state DDL, list of PlannedStep).

    The catalog (vector dimensions, models, indexes) is learned from the files' own statements in
    version order (those of `learn_from` when given, e.g. the whole set; `catalog` may give more,
    e.g. a live one). `starts`: version -> (statement index, rendered part) where a run resumes
    (`resume_point`): the statements before it are left out, as the run leaves them out."""
    learned = StaticCatalog(database=database)
    every = learn_from if learn_from is not None else migrations
    for m in every:
        for step in m.up:
            render.learn(learned, step.text)
    cat = _Chain(learned, catalog) if catalog is not None else learned
    cl = render.Cluster(cluster, database, sharded_tables(every)) if cluster else None
    out = []
    order = migrations if direction == "up" else list(reversed(migrations))
    for m in order:
        start, part = (starts or {}).get(m.version, (0, 0))
        for i, step in enumerate(m.steps(direction)):
            if i < start:
                continue
            stmts, notes, warnings = render.translate_step(step.text, dialect, cat)
            if cl:
                stmts = [x for s in stmts for x in render.cluster_statements(s, cl)]
            skip = part if i == start else 0
            out.append(PlannedStep(m, i, step.line, step.text, stmts[skip:], notes, warnings, part=skip))
    return (state_ddl(cl) if include_state else []), out


class _Chain:
    """First catalog that knows wins."""

    def __init__(self, *cats):
        self.cats = cats

    def _first(self, name, *args):
        for c in self.cats:
            try:
                v = getattr(c, name)(*args)
            except EmbedSQLError:
                v = None
            if v is not None:
                return v
        return None

    def vector_index(self, table, column):
        return self._first("vector_index", table, column)

    def column_dim(self, table, column):
        return self._first("column_dim", table, column)

    def column_model(self, table, column):
        return self._first("column_model", table, column)

    def table_setting(self, table, name):
        return self._first("table_setting", table, name)

    def invalidate(self, table=None):
        for c in self.cats:
            if hasattr(c, "invalidate"):
                c.invalidate(table)


def _losses_of(text: str) -> list[str]:
    """The data-loss phrases of one statement, read from its tokens (comments and string literals
    are not words, so `SELECT 'DROP COLUMN x'` loses nothing)."""
    from sqlext.errors import EmbedSQLError
    from sqlext.text.tokens import read_name, tokenize

    from .render import _skip, _words

    try:
        toks = tokenize(text)
    except EmbedSQLError:
        return []

    def name_at(i: int) -> str | None:
        """The (dotted) name at i, as written; None when there is none."""
        parts, j = read_name(toks, i)
        return toks.src(i, j) if parts else None

    out: list[str] = []
    if _words(toks, 0, "DROP"):
        i = _skip(toks, 1, "TEMPORARY")
        for what in ("TABLE", "DATABASE", "DICTIONARY"):
            if _words(toks, i, what):
                name = name_at(_skip(toks, i + 1, "IF", "EXISTS"))
                if name:
                    out.append(f"drops {what.lower()} {name}")
    elif _words(toks, 0, "TRUNCATE"):
        name = name_at(_skip(toks, _skip(toks, 1, "TABLE"), "IF", "EXISTS"))
        if name:
            out.append(f"empties table {name}")
    elif _words(toks, 0, "DELETE", "FROM"):
        name = name_at(2)
        if name:
            out.append(f"deletes rows of table {name}")
    elif _words(toks, 0, "ALTER", "TABLE"):
        table = name_at(2)
        for i in range(3, len(toks)):
            if toks[i].depth:
                continue
            if _words(toks, i, "DROP", "COLUMN"):
                col = name_at(_skip(toks, i + 2, "IF", "EXISTS"))
                if col:
                    out.append(f"drops column {col}")
            elif _words(toks, i, "DELETE", "WHERE") and table:
                out.append(f"deletes rows of table {table}")
    return out


def data_losses(migration: Migration) -> list[str]:
    """What reverting `migration` throws away, one phrase per statement of its down part that
    drops or empties a table, database, dictionary or column, or deletes rows ("drops table
    photos"). Read from the statements' tokens (sqlext.text.tokens: comments and string
    literals are not read as words); [] when the down part loses no stored data."""
    out = []
    for step in migration.steps("down"):
        out += _losses_of(step.text)
    return out
