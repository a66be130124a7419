"""Ctrl-C in `embedsql query` on the embedded engine, which cannot stop a running statement: the
first Ctrl-C says so at once, a second exits at once; a statement that only reads exits on the first. The statement is held inside chdb by a
loopback HTTP server that `url()` reads from, so the test knows the statement is running. While
it waits for the database another process holds, the first Ctrl-C ends the wait."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.sqlext.engine_support import let_go, start
from tests.tui.interrupt_support import as_typed, read_line
from tui.interrupts import EXIT_NOW, FIRST_NOTICE, READ_ONLY_EXIT


def start_query(tmp_path, sql, lock_timeout=60):
    env = {**os.environ, "EMBEDSQL_LOCK_TIMEOUT": str(lock_timeout)}
    return subprocess.Popen(as_typed("query", "--dsn", f"chdb://{tmp_path}/db", sql),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_a_query_that_only_reads_exits_on_the_first_ctrl_c(tmp_path, slow):
    """Nothing a SELECT does can be lost: the first Ctrl-C exits at once (it used to wait for the
    statement, which could run for many minutes, until a second Ctrl-C)."""
    p = start_query(tmp_path, f"SELECT sum(x) FROM url('{slow.url}', CSV, 'x UInt64')")
    try:
        assert slow.started.wait(120), p.stderr.read()
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 130  # exited while the server still holds the answer
        assert not slow.release.is_set()
        assert read_line(p.stderr) == READ_ONLY_EXIT
        assert p.stdout.read() == ""
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


def test_second_ctrl_c_exits_at_once_while_the_engine_runs(tmp_path, slow):
    p = start_query(tmp_path, "CREATE TABLE t ENGINE = MergeTree ORDER BY x AS "
                              f"SELECT x FROM url('{slow.url}', CSV, 'x UInt64')")
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


_STOP_WAIT_ROUNDS = r"""
import os, random, signal, sys, threading, time
from tui.interrupts import two_stage_ctrl_c
import sqlext.db.engine  # (imported by two_stage_ctrl_c: not under way when the signal comes)
for n in range(int(sys.argv[1])):
    stop, entered = threading.Event(), threading.Event()
    def kick():
        entered.wait()
        time.sleep(random.uniform(0.001, 0.02))
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=kick, daemon=True).start()
    with two_stage_ctrl_c("first", stop=stop, write=lambda text: None):
        entered.set()
        while not stop.wait(0):  # the main thread holds stop's lock most of the time
            pass
print("rounds", n + 1)
"""


def test_first_ctrl_c_sets_stop_while_the_main_thread_waits_on_it():
    """The migration lock's wait is `stop.wait(poll)` on the main thread. A first Ctrl-C that came
    while the main thread held the Event's lock used to set `stop` from the signal handler, on
    that thread, and wait for the lock forever (CI saw `migrate up` hang after Ctrl-C). Here the
    main thread does nothing but `stop.wait(0)`, and each of 40 rounds must end with `stop` set;
    with the handler setting it, 7 runs of 20 (each until its first round of 40) hung."""
    r = subprocess.run([sys.executable, "-c", _STOP_WAIT_ROUNDS, "40"], cwd=Path(__file__).resolve().parents[2],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "rounds 40" in r.stdout, r.stderr
