"""Ctrl-C in `embedsql migrate up/down`, a real subprocess and real SIGINT: the first Ctrl-C lets
the running statement finish, records it, starts nothing more, releases the lock and exits 130;
a second exits at once. The statement is held inside chdb by a loopback HTTP server that `url()`
reads from, so the test knows it is running. While it waits for the database another process
holds, the first Ctrl-C ends the wait."""
from __future__ import annotations

import signal
import subprocess

import sqlext
from migrations import Runner, load
from migrations.runner import Db
from migrations.state import MigrationLock
from tui.commands.migrate import MIGRATE_STOP_NOTICE
from tui.interrupts import EXIT_NOW

from tests.migrations.migration_support import REPO, cli_env, write
from tests.sqlext.engine_support import let_go, start
from tests.tui.interrupt_support import as_typed, read_line, read_until


def _migration(mdir, slow):
    write(mdir, "0001_k.sql",
          "CREATE TABLE k1 (x UInt64) ENGINE = MergeTree ORDER BY x;\n"
          f"INSERT INTO k1 SELECT x FROM url('{slow.url}', CSV, 'x UInt64');\n"
          "CREATE TABLE k2 (x UInt8) ENGINE = MergeTree ORDER BY x;",
          "DROP TABLE IF EXISTS k2;\nDROP TABLE IF EXISTS k1;")


def _argv(dsn, mdir, action, *extra):
    return as_typed("migrate", action, "--dsn", dsn, "--dir", str(mdir), "--no-builtin", *extra)


def _start(tmp_path, dsn, mdir, action="up", *extra):
    return subprocess.Popen(_argv(dsn, mdir, action, *extra), cwd=REPO, env=cli_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _run(tmp_path, dsn, mdir, action, *extra) -> str:
    """Run `embedsql migrate ACTION` to its end; it must succeed. Returns its stderr."""
    r = subprocess.run(_argv(dsn, mdir, action, *extra), cwd=REPO, env=cli_env(tmp_path), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return r.stderr


def _state(dsn, mdir):
    s = sqlext.connect(dsn=dsn)
    try:
        st = Runner(s, load([mdir], builtin=False), lock_timeout=5).status()[0]
        claims = MigrationLock(Db(s)).live_claims()
        tables = {t for (t,) in s.query("SELECT name FROM system.tables WHERE database = currentDatabase()").rows}
        rows = s.query("SELECT sum(x), count() FROM k1").rows[0] if "k1" in tables else None
        return st, claims, tables, rows
    finally:
        s.close()


def _resumes_at(tmp_path, dsn, mdir, statement: int):
    """`migrate up` again resumes 0001_k at `statement` and applies it; no statement runs twice."""
    err = _run(tmp_path, dsn, mdir, "up", "--lock-timeout", "5")
    assert f"resuming 0001_k at statement {statement} of 3" in err, err
    st, claims, tables, rows = _state(dsn, mdir)
    assert st.state == "applied" and "k2" in tables and rows == (6, 3)


def _stop(p):
    if p.poll() is None:
        p.kill()
    p.wait()


def test_first_ctrl_c_finishes_the_statement_and_starts_no_other(tmp_path, dsn, mdir, slow):
    _migration(mdir, slow)
    p = _start(tmp_path, dsn, mdir)
    try:
        assert slow.started.wait(120), p.stderr.read()  # statement 2 runs in the engine
        p.send_signal(signal.SIGINT)
        read_until(p, MIGRATE_STOP_NOTICE)  # said at once, while the statement still runs
        assert p.poll() is None and not slow.release.is_set()
        slow.release.set()
        assert p.wait(timeout=120) == 130
        err = p.stderr.read()
    finally:
        _stop(p)
    assert "interrupted: 0001_k (up) stopped before statement 3 of 3; the statements before it ran and are " \
           "recorded, and the migration lock is released" in err, err
    assert f"hint: `embedsql migrate up --dir {mdir} --no-builtin --dsn {dsn}` resumes at statement 3" in err, err
    assert "Traceback" not in err and "error:" not in err
    st, claims, tables, rows = _state(dsn, mdir)
    assert st.state == "interrupted" and st.row.statements_done == 2, (st.state, st.note)
    assert st.note == "stopped at statement 3 of 3: interrupted (Ctrl-C)"
    assert claims == []  # the migration lock is released
    assert rows == (6, 3) and "k2" not in tables  # statement 2 finished; statement 3 never started

    _resumes_at(tmp_path, dsn, mdir, 3)  # and statement 2 does not run twice


def test_second_ctrl_c_exits_at_once_and_the_run_resumes(tmp_path, dsn, mdir, slow):
    _migration(mdir, slow)
    p = _start(tmp_path, dsn, mdir)
    try:
        assert slow.started.wait(120), p.stderr.read()
        p.send_signal(signal.SIGINT)
        read_until(p, MIGRATE_STOP_NOTICE)
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 130  # while the server still holds the statement's data
        assert not slow.release.is_set()
        assert EXIT_NOW in p.stderr.read()
    finally:
        _stop(p)
    slow.release.set()
    st, claims, tables, rows = _state(dsn, mdir)
    # statement 2 was abandoned: the run shows as interrupted there (its dead process's lock is
    # cleared by the next run at once)
    assert st.state == "interrupted" and st.row.statements_done == 1, (st.state, st.note)
    assert rows == (0, 0)
    _resumes_at(tmp_path, dsn, mdir, 2)


def test_first_ctrl_c_during_down_stops_the_revert_between_statements(tmp_path, dsn, mdir, slow):
    """down: the statement running finishes, the next does not start; `down` again finishes it."""
    write(mdir, "0001_d.sql",
          "CREATE TABLE d1 (x UInt64) ENGINE = MergeTree ORDER BY x;\n"
          "CREATE TABLE d2 (x UInt64) ENGINE = MergeTree ORDER BY x;",
          f"INSERT INTO d2 SELECT x FROM url('{slow.url}', CSV, 'x UInt64');\nDROP TABLE d1;\nDROP TABLE d2;")
    _run(tmp_path, dsn, mdir, "up")
    p = _start(tmp_path, dsn, mdir, "down", "--yes")
    try:
        assert slow.started.wait(120), p.stderr.read()
        p.send_signal(signal.SIGINT)
        read_until(p, MIGRATE_STOP_NOTICE)
        slow.release.set()
        assert p.wait(timeout=120) == 130
        err = p.stderr.read()
    finally:
        _stop(p)
    assert "interrupted: 0001_d (down) stopped before statement 2 of 3" in err, err
    assert "resumes the revert at statement 2" in err and "Traceback" not in err
    s = sqlext.connect(dsn=dsn)
    try:
        tables = {t for (t,) in s.query("SELECT name FROM system.tables WHERE database = currentDatabase()").rows}
        assert {"d1", "d2"} <= tables and s.query("SELECT count() FROM d2").rows == [(3,)]
        st = Runner(s, load([mdir], builtin=False), lock_timeout=5).status()[0]
        assert st.state == "revert_failed" and "down stopped at statement 2 of 3" in st.note
    finally:
        s.close()
    err = _run(tmp_path, dsn, mdir, "down", "--yes")
    assert "resuming the revert of 0001_d at statement 2" in err


def test_first_ctrl_c_while_waiting_for_the_engine_ends_the_wait(tmp_path, dsn, mdir):
    """Another process holds the embedded database: the first Ctrl-C ends `up`'s wait at once (it
    would last --lock-timeout, 600 s), with one line naming the holder; nothing was run."""
    write(mdir, "0001_w.sql", "CREATE TABLE w (x UInt8) ENGINE = MergeTree ORDER BY x;", "DROP TABLE w;")
    holder = start(dsn, "hold", -1)
    p = _start(tmp_path, dsn, mdir, "up", "--lock-timeout", "600")
    try:
        assert read_line(p.stderr).startswith(f"waiting for the embedded database at {tmp_path / 'db'}, "
                                              f"held by pid {holder.pid} (")
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=120) == 130  # (the bound of a hang: the wait itself lasts 600 s)
        assert holder.poll() is None  # the holder still has the database: the wait was cut
        err = p.stderr.read()
    finally:
        let_go(holder)
        _stop(p)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"interrupted while waiting for the embedded database at {tmp_path / 'db'}, held by pid {holder.pid} ("), err
    assert lines[0].endswith("holder-tag): nothing was run"), err
    s = sqlext.connect(dsn=dsn)
    try:
        st = Runner(s, load([mdir], builtin=False), lock_timeout=5).status()[0]
        tables = {t for (t,) in s.query("SELECT name FROM system.tables WHERE database = currentDatabase()").rows}
    finally:
        s.close()
    assert st.state == "pending" and "w" not in tables  # nothing ran, nothing is recorded


def test_ctrl_c_while_another_run_holds_the_migration_lock_ends_the_wait(tmp_path, dsn, mdir):
    """`migrate up` waiting for the migration lock (another run's live claim): the first Ctrl-C
    ends the wait at once, says whose lock it was and that nothing was run, exits 130; the
    migration is still pending and only the other run's claim is live."""
    write(mdir, "0001_k.sql", "CREATE TABLE k1 (x UInt64) ENGINE = MergeTree ORDER BY x;", "DROP TABLE k1;")
    _run(tmp_path, dsn, mdir, "up", "--to", "0")  # the state and lock tables
    s = sqlext.connect(dsn=dsn)
    try:
        s.command("INSERT INTO embedsql_migration_lock (owner, host, pid, command, acquired_at, expires_at, "
                  "released, seq) SELECT 'other-run', 'elsewhere', 4242, 'embedsql migrate up', now64(6), "
                  "now64(6) + toIntervalSecond(600), 0, 1")
    finally:
        s.close()
    p = _start(tmp_path, dsn, mdir, "up", "--lock-timeout", "600")
    try:
        while "waiting for the migration lock held by pid 4242 on elsewhere" not in read_line(p.stderr):
            pass
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        assert p.returncode == 130, err
        assert "interrupted while waiting for the migration lock held by pid 4242 on elsewhere" in err, err
        assert "nothing was run" in err and "Traceback" not in err
    finally:
        _stop(p)
    st, claims, tables, _ = _state(dsn, mdir)
    assert st.state == "pending" and "k1" not in tables
    assert [c.owner for c in claims] == ["other-run"]
