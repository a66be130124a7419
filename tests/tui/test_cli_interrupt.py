"""Ctrl-C in `embedsql query` on the embedded engine, which cannot stop a running statement: the
first Ctrl-C says so at once, a second exits at once. The statement is held inside chdb by a
loopback HTTP server that `url()` reads from, so the test knows the statement is running. While
it waits for the database another process holds, the first Ctrl-C ends the wait."""
import json
import os
import signal
import subprocess
import sys


from tests.sqlext.engine_support import let_go, start
from tests.tui.interrupt_support import read_line
from tui.interrupts import EXIT_NOW, FIRST_NOTICE


def start_query(tmp_path, sql, lock_timeout=60):
    env = {**os.environ, "EMBEDSQL_LOCK_TIMEOUT": str(lock_timeout)}
    return subprocess.Popen([sys.executable, "-m", "tui.cli", "query", "--dsn", f"chdb://{tmp_path}/db", sql],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_second_ctrl_c_exits_at_once_while_the_engine_runs(tmp_path, slow):
    p = start_query(tmp_path, f"SELECT sum(x) FROM url('{slow.url}', CSV, 'x UInt64')")
    try:
        assert slow.started.wait(120), p.stderr.read()
        p.send_signal(signal.SIGINT)
        assert read_line(p.stderr) == FIRST_NOTICE  # said before the statement finished
        assert p.poll() is None  # the statement is still held by the server
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 130  # exited while the server still holds the answer
        assert not slow.release.is_set()
        assert read_line(p.stderr) == EXIT_NOW
        assert p.stdout.read() == ""
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_one_ctrl_c_lets_the_statement_finish_then_exits(tmp_path, slow):
    p = start_query(tmp_path, "CREATE TABLE t ENGINE = MergeTree ORDER BY x AS "
                              f"SELECT x FROM url('{slow.url}', CSV, 'x UInt64')")
    try:
        assert slow.started.wait(120), p.stderr.read()
        p.send_signal(signal.SIGINT)
        assert read_line(p.stderr) == FIRST_NOTICE
        slow.release.set()
        assert p.wait(timeout=120) == 130
        assert "Traceback" not in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    # the statement finished in the background: its table and rows are there
    r = subprocess.run([sys.executable, "-m", "tui.cli", "query", "--dsn", f"chdb://{tmp_path}/db",
                        "SELECT sum(x) FROM t", "--format", "tsv"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "6"


def test_ctrl_c_while_waiting_for_the_engine_ends_the_wait(tmp_path):
    """Waiting for the embedded database another process holds, the first Ctrl-C ends the wait at
    once (the wait would last 600 s), with one line naming the holder; nothing was run."""
    holder = start(f"chdb://{tmp_path}/db", "hold", -1)
    p = start_query(tmp_path, "CREATE TABLE made (x Int8) ENGINE = MergeTree ORDER BY x", lock_timeout=600)
    try:
        assert read_line(p.stderr).startswith("waiting for the embedded database")
        record = json.loads((tmp_path / "db.lock").read_text())  # the holder's, as the lock file has it
        assert record["pid"] == holder.pid and "holder-tag" in record["command"]
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=120) == 130  # (the bound of a hang: the wait itself lasts 600 s)
        assert holder.poll() is None  # the holder still has the database: the wait was cut
        err = p.stderr.read()
        assert err.splitlines() == [
            f"interrupted while waiting for the embedded database at {tmp_path / 'db'}, held by pid "
            f"{holder.pid} ({record['command']}): nothing was run"], err
        assert p.stdout.read() == ""
    finally:
        let_go(holder)
        if p.poll() is None:
            p.kill()
        p.wait()
    r = subprocess.run([sys.executable, "-m", "tui.cli", "query", "--dsn", f"chdb://{tmp_path}/db",
                        "EXISTS TABLE made", "--format", "tsv"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1] == "0"  # the statement never ran
