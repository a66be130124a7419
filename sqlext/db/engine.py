"""Connections: the embedded ClickHouse (chdb) and ClickHouse/MyScale servers over HTTP(S),
both through clickhouse-connect.

The embedded engine admits one process per data directory, and one data directory per process.
People keep the TUI open in one terminal and run queries, ingest or migrations in another, so an
embedsql process holds the engine only for a unit of work: an advisory lock file beside the data
directory (`<dir>.lock`, holding the holder's pid and command) is taken, the engine opened, and the
work done. A process that finds the lock held waits up to `EMBEDSQL_LOCK_TIMEOUT` seconds (default
10), then fails with a message naming the holder; after `LOCK_WAIT_NOTICE_S` (1 s) of waiting it
tells its user so (`EMBEDDED.on_lock_wait`).

While it waits, it touches the lock file (its modification time) to ask for a turn. The holder
hands the engine back `IDLE_RELEASE_S` after its last unit of work once someone has asked, and
after `IDLE_KEEP_S` of idleness in any case (for programs that are not embedsql and cannot ask).
It does not close the engine after every pause: chdb 4.4 leaves about 5 threads and 9 file
descriptors behind each time an engine with MergeTree tables is closed and opened again (measured:
200 reopens, 1,020 threads and 1,779 descriptors), which a long TUI or notebook session would
otherwise pile up until it hit the process's limits.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import logging
import os
import re
import sys
import threading
import time
from pathlib import Path

from .config import ConnectionSpec
from ..errors import ConnectionFailed, EngineBusy, LockWaitInterrupted, ServerError, UsageError

# clickhouse-connect logs a driver failure ("Unexpected Http Driver Exception") before raising
# it, and embedsql raises it again as one message of its own: without a handler, logging's
# last-resort handler would print that line on stderr of every program using the library. An
# application that configures logging still gets the record (it propagates to the root logger).
logging.getLogger("clickhouse_connect").addHandler(logging.NullHandler())

DEFAULT_LOCK_TIMEOUT = 10.0
#: seconds of idleness after which the engine is handed to another process that asked for it
IDLE_RELEASE_S = 0.5
#: seconds of idleness after which the engine is closed even though nobody asked
IDLE_KEEP_S = 300.0
#: how often an idle holder looks whether someone asked, and a waiter asks again (seconds)
DEMAND_POLL_S = 0.1


class EngineWaitTimeout(float):
    """Seconds to wait for the embedded database held by another process, knowing what set them,
    so that the wait's messages name it: `setting` (what the user changes: 'EMBEDSQL_LOCK_TIMEOUT',
    '--lock-timeout'), `default` (True: the setting was not given and this is its default). A
    float everywhere else (`EMBEDDED.use(path, EngineWaitTimeout(30, "--lock-timeout"))`); a plain float
    timeout is named by no setting."""

    setting: str
    default: bool

    def __new__(cls, seconds: float, setting: str, *, default: bool = False):
        obj = super().__new__(cls, seconds)
        obj.setting, obj.default = setting, default
        return obj

    def __repr__(self) -> str:
        return f"EngineWaitTimeout({float(self)!r}, {self.setting!r}, default={self.default})"


def timeout_source(timeout: float) -> str:
    """What set `timeout`, in the words of the lock-wait line: 'EMBEDSQL_LOCK_TIMEOUT', 'the default
    of --lock-timeout', or '' for a plain float (a library caller's own value)."""
    if not isinstance(timeout, EngineWaitTimeout):
        return ""
    return f"the default of {timeout.setting}" if timeout.default else timeout.setting


def lock_timeout() -> EngineWaitTimeout:
    """Seconds to wait for the embedded database held by another process: $EMBEDSQL_LOCK_TIMEOUT, or
    10 when unset or not a number (a `EngineWaitTimeout` naming EMBEDSQL_LOCK_TIMEOUT)."""
    raw = os.environ.get("EMBEDSQL_LOCK_TIMEOUT")
    if raw is not None:
        try:
            return EngineWaitTimeout(float(raw), "EMBEDSQL_LOCK_TIMEOUT")
        except ValueError:
            pass
    return EngineWaitTimeout(DEFAULT_LOCK_TIMEOUT, "EMBEDSQL_LOCK_TIMEOUT", default=True)


def command_line() -> str:
    """This process's command line, shortened: how a lock holder is named to whoever waits."""
    orig = list(getattr(sys, "orig_argv", []) or [])
    python = os.path.basename(orig[0]) if orig else "python"
    args = sys.argv[1:]
    if sys.argv and sys.argv[0] == "-c":  # `python -c CODE args`: the code is left out
        argv = [python, "-c", "…"] + args
    elif "-m" in orig[:-1]:  # `python -m module args` (sys.argv[0] is the module's file)
        argv = [python, "-m", orig[orig.index("-m") + 1]] + args
    else:
        argv = [os.path.basename(sys.argv[0]) if sys.argv else python] + args
    text = " ".join(" ".join(argv).split())  # one line, whatever a -c program holds
    return text if len(text) <= 200 else text[:197] + "..."


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists on this machine (a process we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


LOCK_WAIT_NOTICE_S = 1.0


def held_by(info: dict | None) -> str:
    """'held by pid N (its command line)' from a lock record (`info`: {"pid", "command"}), or 'held
    by another process' when it is None (unreadable): who holds the embedded database, in the
    words of the lock-wait messages."""
    if info and info.get("pid"):
        return f"held by pid {info['pid']} ({info.get('command', '?')})"
    return "held by another process"


def lock_wait_message(path: Path, info: dict | None, timeout: float) -> str:
    """The line shown while this process waits for the embedded database at `path`; `info` is
    the holder's lock record ({"pid", "command"}) or None when it cannot be read; `timeout`: how
    long the wait lasts in all (seconds), named by what set it when it is a `EngineWaitTimeout`
    ('up to 30 s (--lock-timeout)')."""
    source = timeout_source(timeout)
    return (f"waiting for the embedded database at {path}, {held_by(info)}; "
            f"up to {float(timeout):g} s" + (f" ({source})" if source else ""))


def lock_wait_interrupted_message(path: Path, info: dict | None, ran_before: bool) -> str:
    """The line shown when Ctrl-C ends a wait for the embedded database at `path` (`info`: the
    holder's lock record or None): who held it, and that nothing was run, or, when this process
    had the database open before (`ran_before`), that what waited did not run."""
    done = ("what was waiting for it did not run (what ran before it stays)" if ran_before
            else "nothing was run")
    return f"interrupted while waiting for the embedded database at {path}, {held_by(info)}: {done}"


class _EmbeddedManager:
    """Process-wide owner of the one chdb engine this process may have open.

    Two locks: `mutex` (in-process: one thread uses the engine at a time) and the advisory file
    lock `<dir>.lock` (between processes). A thread waits for another process's file lock
    without holding `mutex`, so the other threads of this process are not blocked by a wait that
    is not theirs, and each waiter's error names the process it actually waited for.

    `on_lock_wait`: called once per wait, from the waiting thread, when the file lock has been
    held by another process for `LOCK_WAIT_NOTICE_S` seconds, as `on_lock_wait(message, info)`
    (`lock_wait_message`; `info` the holder's record or None). The CLI prints the message on
    stderr; the TUI shows it in its status line. When it returns a callable, that is called with
    no arguments, from the waiting thread, as soon as this wait ends (the lock taken, the wait
    given up or interrupted): the TUI takes its notice down then. Exceptions either raises are
    ignored.

    `holds()` and `waiting()` say whether this process has the engine, or waits for it;
    `interrupt_wait()` ends a thread's wait for another process. A KeyboardInterrupt (Ctrl-C) in a
    thread's wait ends it the same way: `LockWaitInterrupted`, saying what it waited for."""

    def __init__(self):
        self.mutex = threading.RLock()
        self.path: Path | None = None
        self.client = None
        self.lock_fd: int | None = None
        self.depth = 0
        self.last_used = 0.0
        # the idle release: one long-lived thread waits for `_release_due` (a monotonic time, or
        # None). A thread started per unit of work cost a thread start per query, and under load
        # a start could wait long for the new thread to be scheduled.
        self._release_due: float | None = None
        self._stamped_ns = 0
        self._wake = threading.Condition(threading.Lock())
        self._releaser: threading.Thread | None = None
        self.on_lock_wait = None
        # the threads waiting for another process's file lock: ident -> the Event that ends the
        # wait. No lock around it (dict operations are atomic): `interrupt_wait` runs in signal
        # handlers, which could interrupt this thread inside one.
        self._waiters: dict[int, threading.Event] = {}
        self._opened: set[Path] = set()  # the data directories this process has had open

    # -- who has the engine --------------------------------------------------------------------
    def holds(self, path: Path | None = None) -> bool:
        """Does this process hold the embedded engine (its lock file locked and the engine open),
        on the data directory `path` when given? True also between units of work while it keeps
        the engine open (see the module docstring), False while it waits for another process."""
        return self.lock_fd is not None and (path is None or self.path == path)

    def waiting(self, thread: int | None = None) -> bool:
        """Is a thread of this process waiting for the embedded engine held by another process
        (the thread with ident `thread`, as `threading.get_ident()` gives it, when given)? A thread
        queued behind another thread of this process (the in-process mutex) does not count."""
        return bool(self._waiters) if thread is None else thread in self._waiters

    def interrupt_wait(self, thread: int) -> bool:
        """End the wait of the thread with ident `thread` for the engine held by another process:
        within 0.05 s it raises `LockWaitInterrupted`, having run nothing. Returns True when that
        thread was waiting (it then raises even if the lock comes free meanwhile), False when it
        was not (nothing changes). Safe from any thread, and from a signal handler."""
        cut = self._waiters.get(thread)
        if cut is None:
            return False
        cut.set()
        return True

    # -- lock file ---------------------------------------------------------------------------
    @staticmethod
    def lock_path(path: Path) -> Path:
        return path.with_name(path.name + ".lock")

    def holder(self, path: Path) -> dict | None:
        try:
            info = json.loads(self.lock_path(path).read_text() or "{}")
        except (OSError, ValueError):
            return None
        return info if info.get("pid") else None

    def _open_lock_fd(self, path: Path) -> int:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.lock_path(path), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise unusable_data_dir(path, exc) from None

    @staticmethod
    def _try_flock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _stamp(self, fd: int):
        info = json.dumps({"pid": os.getpid(), "command": command_line(), "since": time.time()})
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
        self._stamped_ns = os.fstat(fd).st_mtime_ns

    def _demanded(self) -> bool:
        """Has another process asked for the engine (touched the lock file) since it was taken?"""
        fd = self.lock_fd
        if fd is None:
            return False
        try:
            return os.fstat(fd).st_mtime_ns != self._stamped_ns
        except OSError:
            return False

    @staticmethod
    def _ask(fd: int) -> None:
        """Ask the holder of the lock file `fd` for a turn: touch it (its modification time)."""
        with contextlib.suppress(OSError):
            os.utime(fd)

    def _notify_wait(self, path: Path, timeout: float):
        """Call `on_lock_wait`; returns what it returned when that is callable (called when the
        wait ends), else None."""
        hook = self.on_lock_wait
        if hook is None:
            return None
        info = self.holder(path)
        try:
            end = hook(lock_wait_message(path, info, timeout), info)
        except Exception:  # noqa: BLE001 - a notice must not break the wait
            return None
        return end if callable(end) else None

    def _wait_for_file_lock(self, path: Path, deadline: float, timeout: float) -> int | None:
        """Wait (not holding `mutex`) until the file lock of `path` is ours: returns its fd, or
        None when another thread of this process opened the engine on `path` meanwhile (the
        caller then queues on `mutex`). Raises `EngineBusy` naming the holder at the deadline."""
        fd = self._open_lock_fd(path)
        started = time.monotonic()
        asked = started - DEMAND_POLL_S
        noticed = False
        end_notice = None
        me = threading.get_ident()
        cut = threading.Event()
        self._waiters[me] = cut
        try:
            while True:
                if cut.is_set():
                    raise self._interrupted(path)
                taken = self._try_flock(fd)
                if taken or (self.path == path and self.lock_fd is not None):
                    self._waiters.pop(me, None)
                    if cut.is_set():  # interrupted as the engine came free: the interrupt wins
                        raise self._interrupted(path)
                    if taken:
                        return fd
                    os.close(fd)  # another thread of this process opened it meanwhile
                    return None
                now = time.monotonic()
                if now >= deadline:
                    raise self._busy(path, timeout)
                if not noticed and now - started >= LOCK_WAIT_NOTICE_S:
                    noticed = True
                    end_notice = self._notify_wait(path, timeout)
                if now - asked >= DEMAND_POLL_S:
                    self._ask(fd)
                    asked = now
                time.sleep(0.05)
        except KeyboardInterrupt as exc:  # Ctrl-C while waiting: say what it was waiting for
            with contextlib.suppress(OSError):
                os.close(fd)  # (and with it the file lock, if it was just taken)
            if isinstance(exc, LockWaitInterrupted):
                raise
            raise self._interrupted(path) from None
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        finally:
            self._waiters.pop(me, None)
            if end_notice is not None:
                with contextlib.suppress(Exception):
                    end_notice()

    def _interrupted(self, path: Path) -> LockWaitInterrupted:
        info = self.holder(path)
        ran_before = path in self._opened
        return LockWaitInterrupted(lock_wait_interrupted_message(path, info, ran_before),
                                   path=path, holder=info, ran_before=ran_before)

    def _busy(self, path: Path, waited: float) -> EngineBusy:
        info = self.holder(path)
        if info and int(info["pid"]) == os.getpid():
            who = "another thread of this process"
        elif info and pid_alive(int(info["pid"])):
            who = f"embedsql process {info['pid']} ({info.get('command', '?')})"
        else:
            who = "another process"
        setting = waited.setting if isinstance(waited, EngineWaitTimeout) else None
        longer = ("" if setting is None else f", or set {setting} to wait longer" if setting.isupper()
                  else f", or raise {setting} to wait longer")  # an environment variable, or an option
        return EngineBusy(
            f"the embedded database at {path} is in use by {who}; waited {float(waited):g} s",
            hint=f"finish or close that program and retry{longer}",
        )

    def _release_file_lock(self):
        if self.lock_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.lock_fd, 0)
                fcntl.flock(self.lock_fd, fcntl.LOCK_UN)
            os.close(self.lock_fd)
            self.lock_fd = None

    # -- engine --------------------------------------------------------------------------------
    def _open(self, path: Path, fd: int):
        """Open chdb on `path`, this process holding the file lock on `fd` (called under `mutex`)."""
        import clickhouse_connect

        _read_counts_from_storage()
        self._stamp(fd)
        try:
            client = clickhouse_connect.get_client(dsn=f"chdb://{path}")
        except Exception as exc:  # chdb raises plain RuntimeError / DatabaseError
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            msg = str(exc)
            if "Cannot lock file" in msg or "status" in msg and "lock" in msg.lower():
                raise EngineBusy(
                    f"the embedded database at {path} is open in a program that is not embedsql",
                    hint="close the other program (chdb / clickhouse-local) using that directory",
                ) from None
            if path.exists() and not path.is_dir():
                raise unusable_data_dir(path, NotADirectoryError(errno.ENOTDIR, "Not a directory", str(path)))
            raise ServerError(f"cannot open the embedded database at {path}: "
                              f"{first_line(_STACK_RE.sub('', msg))}") from None
        self.path, self.client, self.lock_fd = path, client, fd
        self._opened.add(path)

    def _close(self):
        if self.client is not None:
            with contextlib.suppress(Exception):
                self.client.close()
        self.client = None
        self.path = None
        self._release_file_lock()

    def _acquire(self, path: Path, timeout: float):
        """Return holding `mutex` with the engine open on `path`; raise `EngineBusy` after
        `timeout` seconds. The wait for another process's file lock happens outside `mutex`."""
        deadline = time.monotonic() + timeout
        fd: int | None = None  # a file lock taken while waiting outside the mutex
        try:
            while True:
                remaining = deadline - time.monotonic()
                if not self.mutex.acquire(timeout=max(remaining, 0.001)):
                    raise EngineBusy(
                        f"the embedded database at {path} is busy in this process (another statement "
                        f"is running); waited {timeout:g} s",
                        hint="wait for the running statement to finish",
                    )
                try:
                    self._release_due = None
                    if self.client is not None and self.path != path:
                        if self.depth:
                            raise EngineBusy(
                                f"this process already has the embedded database at {self.path} open; "
                                f"one process can open one embedded database at a time",
                                hint="close the other session first",
                            )
                        self._close()
                    if self.client is None:
                        if fd is None:
                            probe = self._open_lock_fd(path)
                            if self._try_flock(probe):
                                fd = probe
                            else:
                                os.close(probe)
                        if fd is not None:
                            fd, taken = None, fd
                            self._open(path, taken)
                    if self.client is not None:
                        if fd is not None:  # cannot happen (the file lock was ours); never leak it
                            os.close(fd)
                            fd = None
                        return
                except BaseException:
                    self.mutex.release()
                    raise
                # another process holds the file lock: wait for it without blocking this process
                self.mutex.release()
                fd = self._wait_for_file_lock(path, deadline, timeout)
        except BaseException:
            if fd is not None:
                with contextlib.suppress(OSError):
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    os.close(fd)
            raise

    @contextlib.contextmanager
    def use(self, path: Path, timeout: float):
        """Hold the engine on `path` for a unit of work (re-entrant in one thread); yields the
        clickhouse-connect client. Waits up to `timeout` seconds for another thread or process,
        then raises `EngineBusy` naming who holds it."""
        self._acquire(path, timeout)
        try:
            self.depth += 1
            try:
                yield self.client
            finally:
                self.depth -= 1
                self.last_used = time.monotonic()
                if self.depth == 0:
                    self._schedule_release()
        finally:
            self.mutex.release()

    def _schedule_release(self):
        """Close the engine after this unit of work, unless another begins: IDLE_RELEASE_S after
        it once another process has asked for the engine, IDLE_KEEP_S after it in any case
        (called holding `mutex`, at depth 0)."""
        if IDLE_RELEASE_S <= 0:
            self._close()
            return
        with self._wake:
            self._release_due = time.monotonic() + IDLE_RELEASE_S
            if self._releaser is not None and self._releaser.is_alive():
                self._wake.notify()
                return
        # the first release of this process (or of a forked child, where the thread is gone)
        t = threading.Thread(target=self._release_loop, name="embedsql-engine-release", daemon=True)
        self._releaser = t
        t.start()

    def _release_loop(self):
        while True:
            with self._wake:
                due = self._release_due
                if due is None:
                    self._wake.wait()
                    continue
                now = time.monotonic()
                if now < due:
                    self._wake.wait(due - now)
                    continue
                if now < due - IDLE_RELEASE_S + IDLE_KEEP_S and not self._demanded():
                    self._wake.wait(DEMAND_POLL_S)  # idle, and nobody asked yet: look again
                    continue
                self._release_due = None
            self._release_if_idle()

    def _release_if_idle(self):
        if not self.mutex.acquire(blocking=False):
            return  # in use right now: the end of that unit of work schedules another release
        try:
            if self.depth == 0 and time.monotonic() - self.last_used >= IDLE_RELEASE_S * 0.9:
                self._close()
        finally:
            self.mutex.release()

    def wanted(self, path: Path) -> bool:
        """Is the engine open on `path` here while another process waits for it (has touched the
        lock file since this process took it)? A long job checks between steps and hands the
        engine over (`release_now`) only when someone waits."""
        return self.path == path and self._demanded()

    def release_now(self, path: Path | None = None):
        with self.mutex:
            if self.depth == 0 and (path is None or self.path == path):
                self._release_due = None
                self._close()


EMBEDDED = _EmbeddedManager()


def _read_counts_from_storage() -> None:
    """clickhouse-connect 1.12's chdb backend reports a query's `read_rows` / `read_bytes` as
    chdb's `rows_read()` / `bytes_read()`, which count the rows of the result (1 for `SELECT
    sum(number) FROM numbers(100000)`); a server's summary counts the rows read from tables
    (100,000), and so do chdb's `storage_rows_read()` / `storage_bytes_read()`. Wrap the
    backend's summary (once, where both exist) so `Result.stats.rows_read` means on the
    embedded engine what it means on a server; left as it is when a later version differs."""
    try:
        from clickhouse_connect.driver._backend.chdb_backend import ChdbBackend
    except ImportError:
        return
    original = ChdbBackend.__dict__.get("_summary")
    if not isinstance(original, staticmethod) or getattr(original.__func__, "_embedsql", False):
        return

    def summary(result):
        out = original.__func__(result)
        try:
            if out and callable(getattr(result, "storage_rows_read", None)):
                out["read_rows"] = str(result.storage_rows_read())
                out["read_bytes"] = str(result.storage_bytes_read())
        except Exception:  # noqa: BLE001 - statistics only: keep what the driver said
            pass
        return out

    summary._embedsql = True
    ChdbBackend._summary = staticmethod(summary)


def first_line(msg: str) -> str:
    """The first non-empty line of an error message, stripped; 'unknown error' when there is none."""
    return (msg or "").strip().splitlines()[0] if (msg or "").strip() else "unknown error"


_STACK_RE = re.compile(r"\s*Stack trace.*", re.S)


def clean_server_message(msg: str, secrets: tuple[str, ...] = ()) -> str:
    """One readable line from a ClickHouse exception text, with secrets removed."""
    text = _STACK_RE.sub("", msg or "").strip()
    text = re.sub(r"^Streaming query failed:\s*", "", text)  # chdb's prefix for a streamed query
    text = re.sub(r"^(?:HTTPDriver for \S+ received ClickHouse error code \d+\s*)", "", text)
    text = re.sub(r"^(?:Received ClickHouse exception, code: \d+|HTTP driver received HTTP status \d+), "
                  r"server response:\s*", "", text)
    text = re.sub(r"\s*\(for url [^)]*\)", "", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s*\(version [\d.]+(?: \(official build\))?\)", "", text)
    # ClickHouse lists every token it would have accepted: keep the first few
    text = re.sub(r"(Expected one of: )((?:[^,.]+, ){6})[^()]*?(\. \(|\.$|$)",
                  lambda m: m.group(1) + m.group(2) + "…" + m.group(3), text)
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text[:2000]


_CODE_RE = re.compile(r"Code: (\d+)")


def unusable_data_dir(path: Path, exc: OSError) -> UsageError:
    """The error for an embedded database directory `path` that cannot be created or locked
    (read-only file system, no permission, a file in the way): what failed, on which path, where
    that path came from (EMBEDSQL_DATA_DIR, the platform default, or the DSN), and what to do."""
    from .paths import data_dir, default_db_path

    reason = exc.strerror or str(exc)
    failed = f" ({exc.filename})" if exc.filename else ""
    blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        reason, failed = f"{blocker} is a file, not a directory", ""
    if path == default_db_path():
        if os.environ.get("EMBEDSQL_DATA_DIR"):
            origin, fix = "EMBEDSQL_DATA_DIR", "set EMBEDSQL_DATA_DIR to a directory you can write"
        else:
            origin = f"the default: the user data directory {data_dir()}"
            fix = "make that directory writable, or set EMBEDSQL_DATA_DIR to a directory you can write"
    else:
        origin, fix = "the DSN", "name a directory you can write with --dsn chdb:///DIR"
    return UsageError(f"cannot use the embedded database at {path} (from {origin}): {reason}{failed}",
                      hint=f"embedsql keeps the database and its lock file ({path.name}.lock) there: {fix}, "
                           f"or connect to a server with --dsn")


def is_driver_error(exc: BaseException) -> bool:
    """Is `exc` raised by the database driver or the network under it (clickhouse-connect, chdb,
    urllib3, sockets, TLS)? Those are the exceptions `map_error` turns into ours; anything else
    is a bug and keeps its traceback. The one classification every caller uses."""
    mod = type(exc).__module__ or ""
    return (mod.startswith(("clickhouse_connect", "chdb", "urllib3", "requests", "socket", "ssl"))
            or isinstance(exc, (OSError, RuntimeError, TimeoutError)))


def map_error(exc: Exception, spec: ConnectionSpec, message: str | None = None) -> ServerError:
    """Turn a clickhouse-connect / chdb / socket exception into one of ours. `message`: the
    exception's text to use instead of str(exc) (the session's, in the user's terms)."""
    secrets = (spec.password,) if spec.password else ()
    if spec.kind == "http":
        foreign = _foreign_server_error(str(exc) if message is None else message, spec)
        if foreign is not None:
            return foreign
    msg = clean_server_message(str(exc) if message is None else message, secrets)
    m = _CODE_RE.search(msg)
    code = int(m.group(1)) if m else None
    name = type(exc).__name__
    if "Stream failed" in msg or "IncompleteRead" in msg:
        return ConnectionFailed(
            f"lost the connection to {spec.display()} while reading the result: the server closed the connection",
            hint="retry; if it keeps happening, check the server (memory limits, restarts)")
    if code in (516, 192, 193) or "Authentication failed" in msg:
        return ConnectionFailed(
            f"{spec.display()} refused the credentials for user {spec.username!r}",
            code=code, hint="check the user name and EMBEDSQL_PASSWORD",
        )
    # a ClickHouse error (`Code: N. DB::Exception`) comes from the server or the engine, which
    # answered: words like "Connection refused" in it are about a server it asked in turn (a
    # Distributed table's shard, a remote() or url() source), not about reaching it
    answered = code is not None and re.search(r"DB::\w*Exception", msg) is not None
    if not answered and (name in ("OperationalError",) or any(s in msg for s in (
            "Connection refused", "Name or service not known", "Failed to resolve", "timed out",
            "Max retries exceeded", "SSL", "CERTIFICATE", "Temporary failure in name resolution",
            "Connection reset", "RemoteDisconnected", "Connection aborted"))):
        reason = _network_reason(msg)
        return ConnectionFailed(f"cannot reach {spec.display()}: {reason}", hint=_network_hint(reason))
    return ServerError(msg, code=code)


_HTTP_STATUS_RE = re.compile(r"HTTP driver received HTTP status (\d{3})")


def _looks_foreign(text: str) -> bool:
    """Is this driver error the answer of an HTTP server that is not ClickHouse (a web page, a
    proxy's error page)? ClickHouse's own errors carry `Code: N` / `DB::Exception`."""
    if "DB::Exception" in text or _CODE_RE.search(text):
        return False
    if "Unexpected response to server version query" in text:
        return True
    # ClickHouse answers every HTTP error with a `Code: N.` body: a status without one is not it
    return bool(_HTTP_STATUS_RE.search(text) or re.search(r"<(?:!doctype|html|head|body)\b", text, re.I))


def page_text(body: str, limit: int = 100) -> str:
    """The first readable text of an HTTP answer body: an HTML page's tags, scripts and styles
    removed, entities decoded, whitespace collapsed; at most `limit` characters (cut with …)."""
    import html

    text = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", body or "", flags=re.S | re.I)
    text = re.sub(r"<!--.*?-->|<[^>]*>", " ", text, flags=re.S)
    text = re.sub(r"\s+", " ", html.unescape(text)).strip()
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _probe(spec: ConnectionSpec) -> tuple[int, str, str] | None:
    """(status, content type, body) of the server's answer to a query sent as clickhouse-connect
    sends it (POST / with the SQL as the body), or None when it cannot be asked."""
    import urllib3

    url = f"{'https' if spec.secure else 'http'}://{spec.host}:{spec.port}/"
    try:
        pool = urllib3.PoolManager(cert_reqs="CERT_REQUIRED" if spec.verify else "CERT_NONE",
                                   timeout=urllib3.Timeout(connect=min(spec.connect_timeout, 5), read=5),
                                   retries=False)
        r = pool.request("POST", url, body=b"SELECT 1", preload_content=False)
        try:
            body = r.read(65536, decode_content=True)
        finally:
            r.release_conn()
        return r.status, r.headers.get("Content-Type", ""), body.decode("utf-8", "replace")
    except Exception:  # noqa: BLE001 - the probe only adds detail to an error being reported
        return None


def _foreign_server_error(text: str, spec: ConnectionSpec) -> "ConnectionFailed | None":
    """When the server at `spec` answered like something other than ClickHouse: one line with
    its HTTP status, content type and the first text of its answer (asked again with `_probe`
    for the status and content type); else None."""
    if not _looks_foreign(text):
        return None
    probe = _probe(spec)
    if probe is not None:
        status, ctype, body = probe
    else:
        m = _HTTP_STATUS_RE.search(text)
        status = int(m.group(1)) if m else None
        ctype = ""
        body = re.sub(r"^.*?(?:server response:|server version query:)\s*", "", text, flags=re.S).strip("'\" ")
    parts = [f"HTTP {status}" if status else "an answer", ctype.split(";")[0].strip() or None]
    first = page_text(body)
    summary = ", ".join(p for p in parts if p) + (f": {first!r}" if first else "")
    return ConnectionFailed(
        f"{spec.display()} does not answer like a ClickHouse server ({summary})",
        hint="check the host and port in the DSN: ClickHouse's HTTP interface is usually on port 8123 "
             "(8443 with TLS), MyScale Cloud's on 443 with https://")


def _network_reason(msg: str) -> str:
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("Name or service not known", "host name not found (DNS)"),
        ("Temporary failure in name resolution", "host name not found (DNS)"),
        ("Failed to resolve", "host name not found (DNS)"),
        ("CERTIFICATE_VERIFY_FAILED", "TLS certificate verification failed"),
        ("WRONG_VERSION_NUMBER", "TLS handshake failed (is the port plain HTTP?)"),
        ("SSL", "TLS error"),
        ("timed out", "timed out"),
        ("Connection reset", "connection reset by the server"),
        ("RemoteDisconnected", "the server closed the connection"),
        ("Connection aborted", "the server closed the connection"),
    ):
        if needle in msg:
            return reason
    return msg


def _network_hint(reason: str) -> str:
    if "DNS" in reason:
        return "check the host name in the DSN"
    if "TLS" in reason:
        return "check https:// vs http:// and the port; add ?verify=false only for a trusted self-signed server"
    if "refused" in reason:
        return "check the host and port, and that the server is running"
    return "check the network and the server, then retry"


class Backend:
    """One target database. `client()` is a context manager yielding a clickhouse-connect client
    for a unit of work."""

    def __init__(self, spec: ConnectionSpec):
        self.spec = spec
        self._http_client = None
        self._http_lock = threading.Lock()

    @property
    def embedded(self) -> bool:
        """True when this is the embedded engine (chdb), False for a server over HTTP."""
        return self.spec.kind == "embedded"

    @contextlib.contextmanager
    def client(self, timeout: float | None = None):
        """Context manager yielding a clickhouse-connect client for one unit of work. Embedded: the
        process's one chdb client for the data directory, held for the block (waits up to
        `timeout` seconds, default `lock_timeout()`, for the directory another thread or process
        holds, then raises EngineBusy; also EngineBusy when this process has another directory
        open). Server: the backend's shared HTTP client, created on first use (a failure to
        create it is raised mapped by `map_error`: ConnectionFailed or ServerError)."""
        if self.embedded:
            with EMBEDDED.use(self.spec.path, lock_timeout() if timeout is None else timeout) as c:
                yield c
        else:
            yield self._http()

    def new_http_client(self, *, timeout: float | None = None):
        """A new clickhouse-connect client for the server (the session's own, or a second one to
        cancel a running query)."""
        import clickhouse_connect

        s = self.spec
        try:
            return clickhouse_connect.get_client(
                host=s.host, port=s.port, username=s.username, password=s.password or "",
                database=s.database, secure=s.secure, verify=s.verify,
                connect_timeout=s.connect_timeout, send_receive_timeout=timeout or s.timeout,
                autogenerate_session_id=False,
            )
        except Exception as exc:
            raise map_error(exc, s) from None

    def arrow_batches(self, client, sql: str, params: dict | None, settings: dict | None,
                      batch_rows: int):
        """Iterate the result of one query as `pyarrow.RecordBatch` objects as they arrive, never
        holding the whole result. `client` is the one `client()` yielded (held for the whole
        iteration). On a server this is clickhouse-connect's ArrowStream over HTTP (one batch per
        server block); on the embedded engine, whose clickhouse-connect path materializes Arrow
        results, chdb's own streaming reader (`send_query(..., "Arrow").record_batch`) on a
        handle of its own, closed with the iteration (batches of `batch_rows` rows); a statement
        chdb does not stream (SHOW, EXPLAIN, DESCRIBE ...) is read whole on that handle and
        handed out in the same batches.
        Driver errors propagate unmapped (the caller maps them)."""
        if not self.embedded:
            with client.query_arrow_stream(sql, parameters=params, settings=settings) as stream:
                yield from stream
            return
        import chdb
        from clickhouse_connect.driver.binding import bind_query

        query, bound = bind_query(sql, params, None)
        conn = chdb.connect(os.path.realpath(str(self.spec.path)))
        try:
            if client.database:  # the session's database (its USE), on this handle too
                from ..text.ddl import quote_identifier

                conn.query(f"USE {quote_identifier(client.database)}")
            for name, value in (settings or {}).items():  # this handle's own session state
                if not _SETTING_NAME.match(name):
                    raise UsageError(f"{name!r} is not a ClickHouse setting name",
                                     hint="setting names are letters, digits and underscores")
                conn.query(f"SET {name} = {_setting_literal(value)}")
            chdb_params = {k.removeprefix("param_"): v for k, v in bound.items()}
            try:
                result = conn.send_query(query, "Arrow", params=chdb_params)
            except Exception as exc:
                if not _NOT_STREAMABLE.search(str(exc)):
                    raise
                # chdb streams SELECTs only (SHOW, EXPLAIN, DESCRIBE ... are refused): read the
                # whole answer at once (such results are small) and hand it out in the same batches
                yield from _sliced(conn.query(query, "Arrow", params=chdb_params), batch_rows)
                return
            try:
                for batch in result.record_batch(rows_per_batch=batch_rows):
                    # the reader joins small blocks up to batch_rows; a larger block is sliced
                    for offset in range(0, batch.num_rows, batch_rows):
                        yield batch.slice(offset, batch_rows)
            finally:
                result.close()
        finally:
            conn.close()

    def _http(self):
        with self._http_lock:
            if self._http_client is None:
                self._http_client = self.new_http_client()
            return self._http_client

    def close(self):
        """Release the database: the embedded engine's directory is handed back at once, a server's
        HTTP client is closed (errors while closing are ignored). Safe to call twice."""
        if self.embedded:
            EMBEDDED.release_now(self.spec.path)
        elif self._http_client is not None:
            with contextlib.suppress(Exception):
                self._http_client.close()
            self._http_client = None


_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: chdb's answer to `send_query` for a statement it cannot stream (SHOW, EXPLAIN, DESCRIBE, ...)
_NOT_STREAMABLE = re.compile(r"Streaming query is not supported")


def _sliced(result, batch_rows: int):
    """The record batches of a chdb result in Arrow (IPC file) format, each of at most
    `batch_rows` rows."""
    import pyarrow as pa

    data = result.bytes() or b""
    if not data:
        return
    table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
    for batch in table.to_batches(max_chunksize=batch_rows):
        yield batch


def _setting_literal(value) -> str:
    """A setting value for `SET name = '...'`, as a string literal (ClickHouse converts the quoted
    text to the setting's type)."""
    from ..text.ddl import string_literal

    return string_literal(str(int(value) if isinstance(value, bool) else value))
