"""The embedded engine is shared between processes: held only for a unit of work, a waiting
process gets a clear message naming the holder."""
import os
import subprocess
import sys
import threading
import time

import pytest

import sqlext
from sqlext.db.engine import EMBEDDED
from sqlext.errors import EngineBusy
from tests.sqlext.engine_support import let_go, start


def test_busy_engine_names_the_holder(tmp_path, monkeypatch):
    dsn = f"chdb://{tmp_path}/db"
    monkeypatch.setenv("EMBEDSQL_LOCK_TIMEOUT", "0.5")
    p = start(dsn, "hold", 30)
    try:
        s = sqlext.connect(dsn=dsn)
        t0 = time.monotonic()
        with pytest.raises(EngineBusy) as err:
            s.query("SELECT 1")
        assert time.monotonic() - t0 >= 0.4  # it waited before giving up
        msg = str(err.value)
        assert f"embedsql process {p.pid}" in msg
        assert "holder-tag" in msg  # the holder's command line
        assert str(tmp_path / "db") in msg
    finally:
        p.kill()
        p.wait()
    # the holder died: its lock went with it
    s = sqlext.connect(dsn=dsn)
    assert s.query("SELECT count() FROM t").rows == [(0,)]
    s.close()


def test_idle_process_does_not_lock_others_out(tmp_path, monkeypatch):
    dsn = f"chdb://{tmp_path}/db"
    monkeypatch.setenv("EMBEDSQL_LOCK_TIMEOUT", "5")
    p = start(dsn, "idle", 30)
    try:
        s = sqlext.connect(dsn=dsn)
        assert s.query("SELECT count() FROM t").rows == [(1,)]
        s.command("INSERT INTO t VALUES (2)")
        s.close()
        assert p.poll() is None  # the other process is still running, idle
    finally:
        p.kill()
        p.wait()


def test_waiter_gets_the_engine_when_holder_finishes(tmp_path, monkeypatch):
    dsn = f"chdb://{tmp_path}/db"
    monkeypatch.setenv("EMBEDSQL_LOCK_TIMEOUT", "20")
    p = start(dsn, "hold", 1.5)
    try:
        s = sqlext.connect(dsn=dsn)
        assert s.query("SELECT count() FROM t").rows == [(0,)]
        s.close()
    finally:
        p.wait(timeout=30)


def test_one_process_switches_between_databases(tmp_path):
    a = sqlext.connect(dsn=f"chdb://{tmp_path}/a")
    b = sqlext.connect(dsn=f"chdb://{tmp_path}/b")
    a.command("CREATE TABLE ta (x Int32) ENGINE = MergeTree ORDER BY x")
    b.command("CREATE TABLE tb (x Int32) ENGINE = MergeTree ORDER BY x")
    assert a.query("EXISTS TABLE ta").rows == [(1,)]
    assert b.query("EXISTS TABLE ta").rows == [(0,)]
    with a.unit_of_work():
        with pytest.raises(EngineBusy, match="one embedded database at a time"):
            b.query("SELECT 1")
    a.close()
    b.close()


def test_idle_release_closes_the_engine(tmp_path, monkeypatch):
    """Nobody asks for the engine: it is closed IDLE_KEEP_S after the last unit of work."""
    from sqlext.db import engine

    monkeypatch.setattr(engine, "IDLE_KEEP_S", 1.0)
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    s.query("SELECT 1")
    deadline = time.monotonic() + 30  # the release comes IDLE_KEEP_S after the query; this bounds a hang
    while EMBEDDED.client is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert EMBEDDED.client is None
    lock = (tmp_path / "db.lock").read_text()
    assert lock == ""  # released locks hold no holder info
    s.close()


def native_threads() -> int:
    """How many threads of this process Python did not start: chdb's (and other C libraries').
    The Python threads that other tests leave running, or start and end meanwhile (servers,
    workers, the engine's release thread), do not count."""
    python = {t.native_id for t in threading.enumerate()}
    tasks = {int(tid) for tid in os.listdir("/proc/self/task")}
    python |= {t.native_id for t in threading.enumerate()}  # (one started during the listing)
    return len(tasks - python)


def test_pauses_do_not_reopen_the_engine(tmp_path):
    """Pauses longer than IDLE_RELEASE_S, with nobody else asking, keep the engine open: chdb
    leaves threads and file descriptors behind each time an engine with MergeTree tables is
    closed and opened again, and a long session would pile them up."""
    from sqlext.db.engine import IDLE_RELEASE_S

    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    s.command("CREATE TABLE t (x Int32) ENGINE = MergeTree ORDER BY x")
    s.query("SELECT count() FROM t")
    time.sleep(IDLE_RELEASE_S * 2.5)  # one pause and query first: the threads they start are counted
    s.query("SELECT count() FROM t")
    client = EMBEDDED.client
    threads = native_threads()
    for _ in range(4):
        time.sleep(IDLE_RELEASE_S * 2.5)
        assert s.query("SELECT count() FROM t").rows == [(0,)]
        assert EMBEDDED.client is client  # the same engine: a reopen makes a new client
    # a reopen leaves about 5 chdb threads behind (chdb 4.4: 22 after 4 reopens): one at each
    # pause would add about 20
    assert native_threads() < threads + 5
    s.close()
    assert EMBEDDED.client is client  # nobody asked: closing the session is being idle
    s.release_engine()
    assert EMBEDDED.client is None  # handed back at once when asked to


def test_a_session_per_request_does_not_reopen_the_engine(tmp_path):
    """`with sqlext.connect() as s:` once per request (a web handler, a notebook cell): closing
    the session closed the engine, and each reopen left chdb's threads and descriptors behind
    (5 threads and ~8 descriptors each; a process under `ulimit -n 256` failed at the 28th)."""
    dsn = f"chdb://{tmp_path}/db"
    with sqlext.connect(dsn=dsn) as s:
        s.command("CREATE TABLE t (x Int32) ENGINE = MergeTree ORDER BY x")
        s.query("SELECT count() FROM t")
    client, threads, fds = EMBEDDED.client, native_threads(), len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        with sqlext.connect(dsn=dsn) as s:
            assert s.query("SELECT count() FROM t").rows == [(0,)]
        assert EMBEDDED.client is client
    assert native_threads() < threads + 5 and len(os.listdir("/proc/self/fd")) < fds + 5
    s.release_engine()


def test_closing_a_session_hands_the_engine_over_at_once_when_asked(tmp_path):
    """Another process waiting for the engine (it touched the lock file) gets it at close(), not
    half a second later."""
    dsn = f"chdb://{tmp_path}/db"
    s = sqlext.connect(dsn=dsn)
    s.query("SELECT 1")
    os.utime(tmp_path / "db.lock")  # what a waiting process does to ask
    deadline = time.monotonic() + 5
    while not EMBEDDED.wanted(tmp_path / "db") and time.monotonic() < deadline:
        time.sleep(0.01)  # (the lock file's mtime granularity)
        os.utime(tmp_path / "db.lock")
    with EMBEDDED.mutex:  # the idle release cannot run meanwhile: only close() can hand it over
        s.close()
        assert EMBEDDED.client is None


def test_an_idle_holder_hands_over_when_asked(tmp_path, monkeypatch):
    """A process that used the engine and went idle keeps it open, until a process waiting for
    it touches the lock file: then it hands it over within about IDLE_RELEASE_S."""
    dsn = f"chdb://{tmp_path}/db"
    monkeypatch.setenv("EMBEDSQL_LOCK_TIMEOUT", "20")
    s = sqlext.connect(dsn=dsn)
    s.command("CREATE TABLE t (a Int32) ENGINE = MergeTree ORDER BY a")
    s.command("INSERT INTO t VALUES (7)")
    time.sleep(1.0)
    assert EMBEDDED.client is not None  # idle, nobody asked: still open
    r = subprocess.run([sys.executable, "-m", "tui.cli", "query", "--dsn", dsn, "SELECT sum(a) FROM t",
                        "--format", "tsv"], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "EMBEDSQL_LOCK_TIMEOUT": "20"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "7"
    assert EMBEDDED.client is None  # handed over
    assert s.query("SELECT count() FROM t").rows == [(1,)]  # and taken back when needed
    s.close()


def test_units_of_work_share_one_release_thread(tmp_path, monkeypatch):
    """Each unit of work schedules the idle release; one thread serves them all (a thread started
    per query cost a thread start per query), and the engine still closes once they stop."""
    import threading

    from sqlext.db import engine

    monkeypatch.setattr(engine, "IDLE_KEEP_S", 1.0)
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    for _ in range(20):
        s.query("SELECT 1")
    releasers = [t for t in threading.enumerate() if t.name == "embedsql-engine-release"]
    assert len(releasers) == 1
    deadline = time.monotonic() + 30
    while EMBEDDED.client is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert EMBEDDED.client is None
    assert [t for t in threading.enumerate() if t.name == "embedsql-engine-release"] == releasers
    s.close()


def test_threads_waiting_for_another_process_do_not_block_each_other(tmp_path, monkeypatch):
    """A thread waiting for another process's file lock does not hold the in-process mutex: a
    second thread with a shorter patience fails naming that process (not "busy in this
    process"), and a third thread that waits long enough gets the engine with the first."""
    dsn = f"chdb://{tmp_path}/db"
    path = tmp_path / "db"
    p = start(dsn, "hold", -1)  # until told
    results = {}

    def run(name, timeout, ready):
        ready.set()
        try:
            with EMBEDDED.use(path, timeout) as c:
                results[name] = c.query("SELECT count() FROM t").result_rows
        except EngineBusy as exc:
            results[name] = exc

    try:
        a_ready, b_ready, c_ready = threading.Event(), threading.Event(), threading.Event()
        a = threading.Thread(target=run, args=("a", 60, a_ready))
        a.start()
        a_ready.wait()
        b = threading.Thread(target=run, args=("b", 0.5, b_ready))
        c = threading.Thread(target=run, args=("c", 60, c_ready))
        b.start()
        c.start()
        b.join(timeout=60)
        assert not b.is_alive() and p.poll() is None  # b gave up while the other process holds it
        p.stdin.write("go\n")
        p.stdin.flush()
        a.join(timeout=60)
        c.join(timeout=60)
    finally:
        p.wait(timeout=60)
    assert results["a"] == [(0,)] and results["c"] == [(0,)]
    msg = str(results["b"])
    assert isinstance(results["b"], EngineBusy), results["b"]
    assert f"embedsql process {p.pid}" in msg and "in this process" not in msg
    EMBEDDED.release_now(path)


def test_lock_wait_is_announced_with_the_holder(tmp_path, monkeypatch):
    dsn = f"chdb://{tmp_path}/db"
    path = tmp_path / "db"
    heard = []
    monkeypatch.setattr(EMBEDDED, "on_lock_wait", lambda message, info: heard.append((message, info)))
    p = start(dsn, "hold", 3)
    try:
        with EMBEDDED.use(path, 60) as c:
            assert c.query("SELECT count() FROM t").result_rows == [(0,)]
    finally:
        p.wait(timeout=60)
    EMBEDDED.release_now(path)
    assert len(heard) == 1  # once per wait
    message, info = heard[0]
    assert info["pid"] == p.pid
    assert message.startswith(f"waiting for the embedded database at {path}, held by pid {p.pid} (")
    assert "holder-tag" in message


def test_a_wait_is_public_and_its_end_is_announced(tmp_path):
    """`waiting(thread)` is true while that thread waits for another process's lock, `holds(path)`
    once the engine is this process's; what `on_lock_wait` returns is called when the wait ends,
    before the unit of work that waited runs (the TUI takes its notice down then)."""
    dsn = f"chdb://{tmp_path}/db"
    path = tmp_path / "db"
    events = []
    heard = threading.Event()

    def on_wait(message, info):
        events.append("wait")
        heard.set()
        return lambda: events.append("over")

    def work():
        with EMBEDDED.use(path, 120) as c:
            events.append(("runs", EMBEDDED.holds(path), EMBEDDED.waiting(threading.get_ident())))
            c.query("SELECT 1")

    p = start(dsn, "hold", -1)
    saved = EMBEDDED.on_lock_wait
    EMBEDDED.on_lock_wait = on_wait
    t = threading.Thread(target=work)
    try:
        t.start()
        assert heard.wait(120)
        assert EMBEDDED.waiting(t.ident) and EMBEDDED.waiting()
        assert not EMBEDDED.waiting(threading.get_ident())  # another thread's wait is not ours
        assert not EMBEDDED.holds(path) and events == ["wait"]
        let_go(p)
        t.join(120)
    finally:
        EMBEDDED.on_lock_wait = saved
        if p.poll() is None:
            p.kill()
        p.wait()
    assert not t.is_alive()
    assert events == ["wait", "over", ("runs", True, False)], events  # the end came once, before the work
    assert not EMBEDDED.waiting()
    EMBEDDED.release_now(path)
    assert not EMBEDDED.holds()


def test_interrupting_a_wait_ends_it_and_says_for_what(tmp_path):
    """`interrupt_wait(thread)` ends that thread's wait for another process: it raises
    LockWaitInterrupted (a KeyboardInterrupt) naming the holder, having opened nothing; a thread
    that does not wait is left alone. The file it waited on is free again once the holder goes."""
    from sqlext.errors import LockWaitInterrupted

    dsn = f"chdb://{tmp_path}/db"
    path = tmp_path / "db"
    got = []

    def work():
        try:
            with EMBEDDED.use(path, 600):
                got.append("ran")
        except BaseException as exc:  # noqa: BLE001 - the test looks at what it was
            got.append(exc)

    p = start(dsn, "hold", -1)
    t = threading.Thread(target=work)
    try:
        t.start()
        deadline = time.monotonic() + 120  # bounds a hang
        while not EMBEDDED.waiting(t.ident) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not EMBEDDED.interrupt_wait(threading.get_ident())  # this thread does not wait
        assert EMBEDDED.interrupt_wait(t.ident)
        t.join(120)
        assert not t.is_alive() and p.poll() is None  # it ended while the holder still holds
    finally:
        let_go(p)
    [exc] = got
    assert isinstance(exc, LockWaitInterrupted) and isinstance(exc, KeyboardInterrupt)
    assert str(exc) == (f"interrupted while waiting for the embedded database at {path}, held by pid "
                        f"{p.pid} ({exc.holder['command']}): nothing was run")
    assert exc.holder["pid"] == p.pid and "holder-tag" in exc.holder["command"] and not exc.ran_before
    assert not EMBEDDED.waiting() and not EMBEDDED.holds()
    with EMBEDDED.use(path, 60) as c:  # the wait left no lock behind
        assert c.query("SELECT count() FROM t").result_rows == [(0,)]
    EMBEDDED.release_now(path)


def test_cli_prints_the_lock_wait_on_stderr(tmp_path):
    dsn = f"chdb://{tmp_path}/db"
    p = start(dsn, "hold", 3)
    try:
        r = subprocess.run([sys.executable, "-m", "tui.cli", "query", "--dsn", dsn, "SELECT count() FROM t"],
                           capture_output=True, text=True, timeout=120,
                           env={**os.environ, "EMBEDSQL_LOCK_TIMEOUT": "60"})
    finally:
        p.wait(timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"held by pid {p.pid} (" in r.stderr and "holder-tag" in r.stderr
    assert r.stderr.startswith("waiting for the embedded database")
    assert "0" in r.stdout


def test_the_holder_is_named_by_its_command_line():
    """How a lock holder is named: `python -m module args` and `python -c … args` (the code left
    out) rather than the module's file path or a bare "-c"."""
    import subprocess
    import sys

    code = "from sqlext.db.engine import command_line; print(command_line())"
    out = subprocess.run([sys.executable, "-c", code, "tag-1"], capture_output=True, text=True, timeout=60).stdout
    assert out.strip().endswith("-c … tag-1"), out
    out = subprocess.run([sys.executable, "-m", "timeit", "-n", "1", "-s",
                          "from sqlext.db.engine import command_line; print(command_line())", "pass"],
                         capture_output=True, text=True, timeout=60).stdout
    assert out.splitlines()[0].split(" -m ")[1].startswith("timeit -n 1 -s"), out


def test_a_data_directory_that_cannot_be_used_is_one_usage_error(tmp_path):
    """A file where the data directory (or its database) should be: one message naming the path,
    where it came from and what to do; exit 2, no traceback, from the API and the command line."""
    from sqlext.errors import UsageError

    (tmp_path / "file").write_text("not a folder")
    for dsn, blocker in ((f"chdb://{tmp_path}/file/db", tmp_path / "file"),
                         (f"chdb://{tmp_path}/file", tmp_path / "file")):
        with sqlext.connect(dsn=dsn) as s, pytest.raises(UsageError) as ei:
            s.query("SELECT 1")
        assert str(ei.value).startswith(f"cannot use the embedded database at {dsn[len('chdb://'):]} (from the DSN)")
        assert f"{blocker} is a file, not a directory" in str(ei.value)
        assert "--dsn chdb:///DIR" in ei.value.hint
    env = {**os.environ, "EMBEDSQL_DATA_DIR": str(tmp_path / "file" / "embedsql")}
    r = subprocess.run([sys.executable, "-m", "tui.cli", "query", "SELECT 1"], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: cannot use the embedded database at {tmp_path}/file/embedsql/db "
                               f"(from EMBEDSQL_DATA_DIR): {tmp_path}/file is a file, not a directory")
    assert "set EMBEDSQL_DATA_DIR to a directory you can write" in r.stderr and "Traceback" not in r.stderr
