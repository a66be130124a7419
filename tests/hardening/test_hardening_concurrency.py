"""Real processes sharing the embedded default (one chdb data dir): ingest + ingest, ingest +
migrate up, an idle session + ingest + queries, the real TUI open in tmux + ingest + query, and a
holder past EMBEDSQL_LOCK_TIMEOUT. Every subprocess has a timeout; after each pairing the table is
checked (exact count, no duplicate ids, CHECK TABLE). The ingest+migrate and TUI pairings are
marked slow (named *load*, run by `make load`) to keep `make test` short."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from tests.support import PHOTOS


ROOT = Path(__file__).resolve().parents[2]
N_PHOTOS = len(list(PHOTOS.glob("*.jpg")))


def _env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def rows(stdout: str) -> list[list[str]]:
    """TSV output without its header line."""
    return [line.split("\t") for line in stdout.splitlines()[1:] if line]


def cli(*args, timeout=180, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=_env(**env), cwd=ROOT)


def start(*args, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tui.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(**env), cwd=ROOT)


def finish(p: subprocess.Popen, timeout=240) -> tuple[int, str, str]:
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"process hung: {p.args}\n{err[-2000:]}")
    return p.returncode, out, err


def _migrated(tmp_path, tiny_clip) -> str:
    """The built-in schema, applied in this process (the engine is released when the session
    closes, so the subprocesses get it)."""
    import sqlext
    from embed.identity import identify
    from migrations import files, runner

    dsn = f"chdb://{tmp_path}/db"
    with sqlext.connect(dsn=dsn) as s:
        runner.Runner(s, files.load([], model=identify(str(tiny_clip)))).up()  # photo_embed records the tiny model
    return dsn


def _check_table(dsn: str, expected: int) -> None:
    """Exact count, no duplicate ids or inputs, CHECK TABLE passes (through the API, in this process)."""
    import sqlext

    with sqlext.connect(dsn=dsn) as s:
        counts = s.query("SELECT count(), uniqExact(id), uniqExact(photo_image_url) FROM photos").rows
        check = s.query("CHECK TABLE photos SETTINGS check_query_single_value_result = 1").rows
    assert [tuple(int(x) for x in counts[0])] == [(expected,) * 3], counts
    assert str(check[0][0]) in ("1", "True"), check


def _ingest(dsn, tiny_clip):
    # the photo folder holds SOURCES.md, listed as skipped: the report goes beside the database,
    # not into the working directory (the repository)
    report = Path(dsn.removeprefix("chdb://")).parent / f"failures-{uuid.uuid4().hex}.tsv"
    return start("ingest", "images", str(PHOTOS), "--dsn", dsn, "--model", str(tiny_clip), "--batch-size", "4",
                 "--report", str(report),
                 EMBEDSQL_LOCK_TIMEOUT="60")


def test_two_ingests_at_once(tmp_path, tiny_clip):
    dsn = _migrated(tmp_path, tiny_clip)
    a, b = _ingest(dsn, tiny_clip), _ingest(dsn, tiny_clip)
    for p in (a, b):
        code, out, err = finish(p)
        assert code == 0, err[-2000:]
        assert "Traceback" not in err
    _check_table(dsn, N_PHOTOS)


@pytest.mark.slow
def test_concurrent_load_ingest_and_migrate_up_at_once(tmp_path, tiny_clip):
    dsn = _migrated(tmp_path, tiny_clip)
    d = tmp_path / "migs"
    d.mkdir()
    (d / "0100_add_tags.sql").write_text("-- +up\nALTER TABLE photos ADD COLUMN tags2 Array(String);\n"
                                         "-- +down\nALTER TABLE photos DROP COLUMN tags2;\n")
    a = _ingest(dsn, tiny_clip)
    m = start("migrate", "up", "--dir", str(d), "--dsn", dsn, EMBEDSQL_LOCK_TIMEOUT="60", EMBEDSQL_MODEL=str(tiny_clip))
    for p in (a, m):
        code, out, err = finish(p)
        assert code == 0, err[-2000:]
        assert "Traceback" not in err
    _check_table(dsn, N_PHOTOS)
    r = cli("migrate", "status", "--dir", str(d), "--dsn", dsn, EMBEDSQL_MODEL=str(tiny_clip))
    assert r.returncode == 0 and "0100" in r.stdout, r.stdout + r.stderr


IDLE = textwrap.dedent("""
    import sys, time, sqlext
    s = sqlext.connect(dsn=sys.argv[1])
    s.query("SELECT count() FROM photos")
    print("idle", flush=True)
    time.sleep(120)
""")

HOLDER = textwrap.dedent("""
    import sys, time, sqlext
    s = sqlext.connect(dsn=sys.argv[1])
    with s.unit_of_work():
        s.query("SELECT 1")
        print("held", flush=True)
        time.sleep(120)
""")


def _py(script: str, dsn: str, tag: str) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", script, dsn, tag], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
    line = p.stdout.readline().strip()
    assert line in ("idle", "held"), p.stderr.read()
    return p


def test_idle_session_plus_ingest_plus_queries(tmp_path, tiny_clip):
    dsn = _migrated(tmp_path, tiny_clip)
    idle = _py(IDLE, dsn, "idle-tui-stand-in")
    try:
        code, _, err = finish(_ingest(dsn, tiny_clip))
        assert code == 0, err[-2000:]
        r = cli("query", "--dsn", dsn, "--model", str(tiny_clip), "--format", "tsv",
                "SELECT id FROM photos ORDER BY cosineDistance(photo_embed, EMBED('a cat')) LIMIT 3")
        assert r.returncode == 0 and len(rows(r.stdout)) == 3, r.stderr
        assert idle.poll() is None  # still alive and idle
    finally:
        idle.kill()
        idle.wait(30)
    _check_table(dsn, N_PHOTOS)


def test_holder_past_the_timeout_gets_a_clear_message(tmp_path, tiny_clip):
    dsn = _migrated(tmp_path, tiny_clip)
    holder = _py(HOLDER, dsn, "holder-tag-xyz")
    try:
        t0 = time.monotonic()
        r = cli("query", "--dsn", dsn, "SELECT count() FROM photos", timeout=60, EMBEDSQL_LOCK_TIMEOUT="1")
        assert time.monotonic() - t0 < 60
        assert r.returncode == 1, (r.returncode, r.stderr)
        assert "Traceback" not in r.stderr and r.stdout == ""
        msg = r.stderr.strip()
        assert msg.startswith("error: ") and f"process {holder.pid}" in msg and "holder-tag-xyz" in msg, msg
        assert "EMBEDSQL_LOCK_TIMEOUT" in msg
    finally:
        holder.kill()
        holder.wait(30)
    _check_table(dsn, 0)  # the holder died: the database opens again, intact


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_concurrent_load_tui_open_in_tmux_while_ingest_and_query_run(tmp_path, tiny_clip):
    dsn = _migrated(tmp_path, tiny_clip)
    sock = f"embedsql-hard-{uuid.uuid4().hex[:8]}"
    keep = ("EMBEDSQL_DATA_DIR", "EMBEDSQL_CONFIG", "EMBEDSQL_CACHE_DIR")
    env = [f"{k}={os.environ[k]}" for k in keep] + ["HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1",
                                                    f"PYTHONPATH={ROOT}", "TERM=xterm-256color"]
    cmd = ["env", "-u", "COLUMNS", "-u", "LINES", *env, sys.executable, "-m", "tui.cli", "--dsn", dsn,
           "--model", str(tiny_clip)]  # -u: see test_two_tuis_and_a_migration
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "120", "-y", "40", "-s", "app",
                    " ".join(f"'{c}'" for c in cmd)], check=True, timeout=30, cwd=ROOT)
    try:
        end = time.monotonic() + 60
        screen = ""
        while time.monotonic() < end:  # wait until the app has drawn (and used the engine once)
            screen = subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t", "app"],
                                    capture_output=True, text=True).stdout
            if "photos" in screen or "Catalog" in screen or "catalog" in screen:
                break
            time.sleep(0.3)
        time.sleep(2)
        code, _, err = finish(_ingest(dsn, tiny_clip))
        assert code == 0, err[-2000:]
        r = cli("query", "--dsn", dsn, "--model", str(tiny_clip), "--format", "tsv",
                "SELECT count() FROM photos WHERE cosineDistance(photo_embed, EMBED('a dog')) < 2")
        assert r.returncode == 0 and rows(r.stdout) == [[str(N_PHOTOS)]], r.stderr
        alive = subprocess.run(["tmux", "-L", sock, "has-session", "-t", "app"], capture_output=True)
        assert alive.returncode == 0, "the TUI exited while the others ran:\n" + screen
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, timeout=30)
    _check_table(dsn, N_PHOTOS)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_two_tuis_and_a_migration(tmp_path, tiny_clip):
    """Two TUIs open on one embedded database each run a query while `migrate up` applies a
    migration in a third process: all succeed, the TUIs stay up, the table is intact."""
    dsn = _migrated(tmp_path, tiny_clip)
    code, _, err = finish(_ingest(dsn, tiny_clip))
    assert code == 0, err[-2000:]
    mig = tmp_path / "mig"
    mig.mkdir()
    (mig / "0100_tags.sql").write_text("-- +up\nALTER TABLE photos ADD COLUMN tags Array(String);\n"
                                       "-- +down\nALTER TABLE photos DROP COLUMN tags;\n")
    sock = f"embedsql-two-{uuid.uuid4().hex[:8]}"
    keep = ("EMBEDSQL_DATA_DIR", "EMBEDSQL_CONFIG", "EMBEDSQL_CACHE_DIR")
    # three processes take turns on the engine: what is checked is that all succeed, not how long
    # each waits (on a loaded machine a turn can pass the 10 s default), so they may wait long
    env = [f"{k}={os.environ[k]}" for k in keep] + ["HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1",
                                                    f"PYTHONPATH={ROOT}", "TERM=xterm-256color",
                                                    "EMBEDSQL_LOCK_TIMEOUT=120"]
    # -u COLUMNS/LINES: the shell tmux starts may set them to the pane's size before -x/-y applies
    # (80x24), and Python's terminal size prefers them to the pty's (see tests/tui/test_tmux.py)
    cmd = " ".join(f"'{c}'" for c in ["env", "-u", "COLUMNS", "-u", "LINES", *env, sys.executable, "-m", "tui.cli", "--dsn", dsn,
                                       "--model", str(tiny_clip)])

    def screen(name):
        return subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t", name],
                              capture_output=True, text=True).stdout

    def wait(name, needle, timeout=180):  # bounds a hang
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in screen(name):
                return
            time.sleep(0.3)
        raise AssertionError(f"{needle!r} not on {name}'s screen:\n{screen(name)}")

    try:
        for name in ("a", "b"):
            subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-x", "120", "-y", "40", "-s", name, cmd],
                           check=True, timeout=30, cwd=ROOT)
        for name in ("a", "b"):
            wait(name, "photo_embed Array")  # first screen and catalog read (the sidebar's column)
        m = start("migrate", "up", "--dir", str(mig), "--dsn", dsn, EMBEDSQL_MODEL=str(tiny_clip),
                  EMBEDSQL_LOCK_TIMEOUT="120")
        for name, word in (("a", "alpha"), ("b", "beta")):
            subprocess.run(["tmux", "-L", sock, "send-keys", "-t", name, "-l",
                            f"\nSELECT count() AS {word} FROM photos;"], check=True)
            subprocess.run(["tmux", "-L", sock, "send-keys", "-t", name, "F5"], check=True)
        for name in ("a", "b"):
            wait(name, "1 row")
        code, _, err = finish(m)
        assert code == 0, err[-2000:]
        for name in ("a", "b"):
            r = subprocess.run(["tmux", "-L", sock, "has-session", "-t", name], capture_output=True)
            assert r.returncode == 0, f"TUI {name} exited:\n{screen(name)}"
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True, timeout=30)
    _check_table(dsn, N_PHOTOS)
    r = cli("query", "--dsn", dsn, "--format", "tsv", "SELECT count() FROM system.columns "
            "WHERE table = 'photos' AND name = 'tags'")
    assert rows(r.stdout) == [["1"]], r.stderr
