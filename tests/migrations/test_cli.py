"""`embedsql migrate ...` through tui.cli.main, and real concurrent / killed processes."""
import os
import signal
import subprocess
import time

import pytest

import sqlext
from conftest import PY, REPO, cli_env, write
from tui.cli import main


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")   # no wrapping in rich tables


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_status_up_status_down(capsys, dsn):
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn)
    assert code == 0 and "0001" in out and "pending" in out and "0 applied or started, 3 pending" in out
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn)
    assert code == 0, err
    assert "applying 0001_photos_table" in err and "vector index photo_embed_index on photos: Built" in err
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn)
    assert code == 0 and out.count("applied") >= 2 and "3 applied or started, 0 pending" in out
    code, out, err = run(capsys, "migrate", "down", "--dsn", dsn)
    assert code == 0 and "reverted 0003_photos_text_index" in err
    code, out, err = run(capsys, "migrate", "down", "--dsn", dsn)
    assert code == 0 and "reverted 0002_photo_embed_index" in err
    code, out, err = run(capsys, "migrate", "down", "--dsn", dsn, "--to", "0")
    assert code == 0 and "reverted 0001_photos_table" in err
    code, out, err = run(capsys, "migrate", "plan", "--dsn", dsn)
    assert code == 0 and "pending on embedded ClickHouse" in out
    assert "CREATE TABLE IF NOT EXISTS photos\n" in out and "vector_similarity('hnsw', 'cosineDistance', 512)" in out


def test_plan_with_dialect_needs_no_database(capsys, tmp_path):
    code, out, err = run(capsys, "migrate", "plan", "--dialect", "myscale")
    assert code == 0, err
    assert "TYPE MSTG('metric_type=Cosine');" in out and "no database consulted" in out
    code, out, err = run(capsys, "migrate", "plan", "--dialect", "clickhouse", "--cluster", "prod", "--down")
    assert code == 0 and "DROP TABLE IF EXISTS photos_local ON CLUSTER prod SYNC;" in out
    assert not (tmp_path / "data").exists()     # the default embedded database was never opened


def test_failure_exit_code_status_and_resume(capsys, dsn, mdir):
    p = write(mdir, "0100_x.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;\nSELECT * FROM nope;")
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn, "--dir", str(mdir))
    assert code == 1
    assert "0100_x (up) statement 2 of 2 (0100_x.sql:4) failed" in err and "nope" in err
    assert "Traceback" not in err
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn, "--dir", str(mdir))
    assert code == 1 and "failed" in out and "stopped at statement 2 of 2" in out
    p.write_text(p.read_text().replace("nope", "a"))
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn, "--dir", str(mdir))
    assert code == 0 and "resuming 0100_x at statement 2 of 2" in err
    p.write_text(p.read_text() + "-- an edit\n")
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn, "--dir", str(mdir))
    assert code == 1 and "applied (changed)" in out
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn, "--dir", str(mdir))
    assert code == 2 and "--allow-changed" in err


def test_new_and_usage(capsys, tmp_path):
    d = tmp_path / "mine"
    code, out, err = run(capsys, "migrate", "new", "add tags", "--dir", str(d))
    assert code == 0 and out.strip().endswith("0100_add_tags.sql") and (d / "0100_add_tags.sql").exists()
    code, out, err = run(capsys, "migrate")
    assert code == 2 and "choose one of status, up, down, plan, new" in err
    code, out, err = run(capsys, "migrate", "up", "--dir", str(tmp_path / "missing"), "--dsn", f"chdb://{tmp_path}/db")
    assert code == 2 and "does not exist" in err


def _cli(args, tmp_path, **kw):
    return subprocess.Popen([PY, "-m", "tui.cli", *args], cwd=REPO, env=cli_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def test_two_processes_exactly_one_applies(tmp_path, dsn, mdir):
    write(mdir, "0001_slow.sql", "CREATE TABLE runs (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
                                 "SELECT sleep(1);\nINSERT INTO runs VALUES (1);", "DROP TABLE runs;")
    args = ["migrate", "up", "--dsn", dsn, "--dir", str(mdir), "--no-builtin", "--lock-timeout", "60"]
    procs = [_cli(args, tmp_path) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], results
    errs = [e for _, e in results]
    assert sum("applying 0001_slow" in e for e in errs) == 1, errs
    assert sum("nothing to apply" in e for e in errs) == 1, errs
    s = sqlext.connect(dsn=dsn)
    try:
        assert s.query("SELECT count() FROM runs").rows == [(1,)]
        assert s.query("SELECT count() FROM embedsql_migrations WHERE status = 'applied'").rows == [(1,)]
    finally:
        s.close()


def test_second_process_gives_up_with_a_clear_message(tmp_path, dsn, mdir):
    write(mdir, "0001_slow.sql", "SELECT sleep(2);\nSELECT sleep(2);")
    first = _cli(["migrate", "up", "--dsn", dsn, "--dir", str(mdir), "--no-builtin"], tmp_path)
    _wait_for_line(first, "applying")
    second = _cli(["migrate", "up", "--dsn", dsn, "--dir", str(mdir), "--no-builtin", "--lock-timeout", "0.5"],
                  tmp_path)
    _, err2 = second.communicate(timeout=60)
    first.communicate(timeout=60)
    assert first.returncode == 0
    assert second.returncode == 1 and "in use by embedsql process" in err2 and "migrate up" in err2, err2


def _wait_for_line(proc, needle, timeout=60):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen.append(line)
        if needle in line:
            return seen
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"{needle!r} never appeared: {seen}")


def test_killed_run_is_interrupted_then_resumed(tmp_path, dsn, mdir):
    write(mdir, "0001_k.sql", "CREATE TABLE k1 (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
                              "SELECT sleep(3);\n"
                              "CREATE TABLE k2 (x UInt8) ENGINE = MergeTree ORDER BY x;",
          "DROP TABLE IF EXISTS k2;\nDROP TABLE IF EXISTS k1;")
    proc = _cli(["migrate", "up", "--dsn", dsn, "--dir", str(mdir), "--no-builtin"], tmp_path)
    _wait_for_line(proc, "[1/3]")
    time.sleep(0.3)          # inside the sleep(3) statement
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    from migrations import Runner, load
    s = sqlext.connect(dsn=dsn)
    try:
        r = Runner(s, load([mdir], builtin=False), lock_timeout=5)
        st = r.status()[0]
        assert st.state == "interrupted" and st.row.statements_done == 1
        assert "stopped at statement 2 of 3" in st.note
        # its lock row names a dead process on this host: cleared at once, no 60 s wait
        r.up()
        assert r.status()[0].state == "applied"
        tables = {t for (t,) in s.query("SELECT name FROM system.tables WHERE database = currentDatabase()").rows}
        assert {"k1", "k2"} <= tables
    finally:
        s.close()
