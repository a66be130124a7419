"""Ctrl-C while the embedded engine runs a statement, and two-stage Ctrl-C for ingest and migrations.

chdb runs a statement in C++ on the calling thread: Python's SIGINT handler (KeyboardInterrupt)
only runs once the statement has finished, and ClickHouse offers no way to stop it from the same
process. So `embedded_ctrl_c` watches SIGINT from a thread of its own (through the interpreter's
wakeup fd, which the C-level handler writes at once): the first Ctrl-C says that the statement
finishes in the background and embedsql exits when it is done; a second Ctrl-C exits at once.
`two_stage_ctrl_c` is the same watch for work with safe stopping points (`embedsql ingest`,
`embedsql migrate up/down`): the first Ctrl-C says how the work winds down and asks it to stop
there; a second exits at once.

Under both, a first Ctrl-C while the main thread waits for the embedded database held by another
process ends that wait at once instead (nothing of it has run): `LockWaitInterrupted` rises from
the wait, and `embedsql` prints its one line (who held the database, nothing was run) and exits 130.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading

FIRST_NOTICE = ("interrupted: the embedded engine cannot stop a running statement; it finishes in "
                "the background and embedsql exits when it is done (its result is not shown). "
                "Press Ctrl-C again to exit now (the statement is abandoned; an INSERT it was "
                "writing is lost).")
EXIT_NOW = "interrupted: exiting now"
READ_ONLY_EXIT = ("interrupted: exiting now: the statement running on the embedded engine only reads "
                  "(nothing it does is lost), and the engine cannot stop it")
EXIT_CODE = 130
# how long the main thread has to react to Ctrl-C itself (it does, unless a statement is running
# in the engine) before the notice is printed
REACT_S = 0.25


@contextlib.contextmanager
def embedded_ctrl_c(write=None, reading=None):
    """Within this block (entered on the main thread), a Ctrl-C the main thread cannot act on
    because a statement is running in the embedded engine prints `FIRST_NOTICE` at once; a
    second Ctrl-C prints `EXIT_NOW` and ends the process with status 130 (`os._exit`: the engine
    is abandoned; committed data stays, the running statement's writes do not). The first
    Ctrl-C still raises KeyboardInterrupt in the main thread when the statement returns.
    `reading()`: True while the statement running only reads (a query: nothing of it can be
    lost): the first Ctrl-C then prints `READ_ONLY_EXIT` and ends the process at once.
    `write(text)`: where the notices go (default: stderr). Off the main thread it does nothing."""
    with two_stage_ctrl_c(FIRST_NOTICE, write=write, only_when_blocked=True, reading=reading):
        yield


def ctrl_c_for(session, write=None, reading=None):
    """The Ctrl-C watch for work on `session` (sqlext Session), entered on the main thread:
    `embedded_ctrl_c` on the embedded engine (a statement there cannot be stopped; a wait for the
    database held by another process ends at once; `reading` as there), nothing on a server
    (KeyboardInterrupt as usual; the session sends KILL QUERY). The one choice `query`,
    `migrate status` and `model stamp` share."""
    return embedded_ctrl_c(write, reading) if session.embedded else contextlib.nullcontext()


def only_reads(kind) -> bool:
    """Whether a statement of `kind` (`sqlext.text.kinds.Kind`) only reads: a query (SELECT,
    SHOW, DESCRIBE, EXPLAIN ...) that writes no file (no INTO OUTFILE)."""
    return kind is not None and kind.is_query and not kind.into_outfile


@contextlib.contextmanager
def two_stage_ctrl_c(first_notice: str, *, write=None, stop: threading.Event | None = None,
                     only_when_blocked: bool = False, reading=None):
    """Two-stage Ctrl-C for work that must not be cut at an arbitrary point (ingest batches,
    migration statements), entered on the main thread.

    The first Ctrl-C prints `first_notice` at once (from a thread of its own: the main thread may
    be inside the engine, which holds it until its statement ends). With `stop`, it sets `stop`
    and raises nothing: the work checks `stop` at its safe points and winds down. Without it,
    KeyboardInterrupt is raised in the main thread as usual; `only_when_blocked` then prints the
    notice only when the main thread has not reacted within `REACT_S` (0.25 s).
    A second Ctrl-C prints `EXIT_NOW` and ends the process at once with status 130 (`os._exit`:
    what is written stays; a statement or INSERT under way is abandoned). So does the first,
    with `READ_ONLY_EXIT`, when `reading()` says the statement the main thread is held in only
    reads.
    A first Ctrl-C while the main thread waits for the embedded database held by another process
    ends that wait instead (`EMBEDDED.interrupt_wait`: it raises `LockWaitInterrupted`, having
    run nothing), with no notice and without setting `stop`.
    `write(text)`: where the notices go (default: stderr). Off the main thread it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from sqlext.db.engine import EMBEDDED

    write = write or _stderr
    main = threading.get_ident()
    r, w = os.pipe()
    os.set_blocking(w, False)
    handled = threading.Event()
    decided = threading.Event()  # the handler has run for the first Ctrl-C
    cut = threading.Event()  # ... and ended the main thread's wait for the engine
    done = threading.Event()

    def on_sigint(signum, frame):
        # Runs in the main thread, between two of its steps: what it sees of the wait is current.
        # It must not set `stop`: the main thread may be inside `stop.wait()` holding the Event's
        # lock, and setting it here would wait for that lock forever. The watcher sets it. (The
        # Events set here are ones the main thread never waits on.)
        first = not decided.is_set()
        if first and EMBEDDED.interrupt_wait(main):
            cut.set()
            decided.set()
            return  # the wait raises LockWaitInterrupted: no notice, no stop
        decided.set()
        if stop is not None:
            return  # the watcher sets `stop` and says so, and exits on the second
        handled.set()
        raise KeyboardInterrupt

    def watch():
        seen = 0
        while True:
            try:
                data = os.read(r, 64)
            except OSError:
                return
            if done.is_set() or not data:
                return
            for sig in data:
                if sig != signal.SIGINT:
                    continue
                seen += 1
                if seen == 1:
                    if EMBEDDED.waiting(main) or cut.is_set():
                        decided.wait(1.0)  # the handler ends that wait, in the main thread
                        if cut.is_set():
                            continue  # LockWaitInterrupted says what happened
                    if only_when_blocked and stop is None and (handled.wait(REACT_S) or done.is_set()):
                        continue  # the main thread took it: KeyboardInterrupt is on its way
                    if reading is not None and reading():
                        write(READ_ONLY_EXIT)  # nothing to finish: a query writes nothing
                        os._exit(EXIT_CODE)
                    if stop is not None:
                        stop.set()
                    write(first_notice)
                else:
                    write(EXIT_NOW)
                    os._exit(EXIT_CODE)

    previous_handler = signal.signal(signal.SIGINT, on_sigint)
    previous_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="embedsql-ctrl-c", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous_handler)
        done.set()
        with contextlib.suppress(OSError):
            os.write(w, b"\0")  # wake the watcher so it ends
        watcher.join(timeout=1)
        os.close(w)
        if not watcher.is_alive():
            os.close(r)


QUIT_WAIT_NOTICE = ("embedsql: waiting for the statement still running on the embedded engine to "
                    "finish (the engine cannot interrupt it; its result is discarded). Press Ctrl-C "
                    "to exit now (the statement is abandoned; an INSERT it was writing is lost).")


def wait_after_quit(pending, notice: str = QUIT_WAIT_NOTICE, *, write=None, poll: float = 0.1) -> None:
    """On the main thread once the terminal UI has closed: wait until every `pending` event (the
    ends of statements still running in worker threads) is set, having said so with `notice`;
    Ctrl-C prints `EXIT_NOW` and ends the process at once with status 130 (`os._exit`: the engine
    cannot be stopped and would hold the exit until the statement ends). Returns at once when
    nothing is pending. `write(text)`: where the notices go (default: stderr)."""
    pending = [e for e in pending if not e.is_set()]
    if not pending:
        return
    write = write or _stderr
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        write(notice)
        for ended in pending:
            while not ended.wait(poll):
                pass
    except KeyboardInterrupt:
        write(EXIT_NOW)
        os._exit(EXIT_CODE)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _stderr(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()
