"""`embedsql migrate ...` through tui.cli.main, and real concurrent / killed processes."""
import os
import re
import shlex
import signal
import subprocess
import time

import pytest

import sqlext
from tui.cli import main

from tests.migrations.migration_support import PY, REPO, cli_env, write


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
    code, out, err = run(capsys, "migrate", "down", "--dsn", dsn, "--yes")  # it drops columns
    assert code == 0 and "reverted 0003_photos_text_index" in err
    code, out, err = run(capsys, "migrate", "down", "--dsn", dsn)  # drops an index only: no question
    assert code == 0 and "reverted 0002_photo_embed_index" in err
    code, out, err = run(capsys, "migrate", "down", "--dsn", dsn, "--to", "0", "--yes")
    assert code == 0 and "reverted 0001_photos_table" in err
    code, out, err = run(capsys, "migrate", "plan", "--dsn", dsn)
    assert code == 0 and "pending on embedded ClickHouse" in out
    assert "CREATE TABLE IF NOT EXISTS photos\n" in out and "vector_similarity('hnsw', 'cosineDistance', 512)" in out


def test_options_the_hints_repeat_are_accepted(capsys, dsn, mdir):
    """A --cluster run's hints say `migrate status --cluster NAME`, and `plan` is documented to
    take up's options: status refused --cluster and plan refused --allow-changed."""
    p = write(mdir, "0100_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;", "DROP TABLE a;")
    mine = ["--dsn", dsn, "--dir", str(mdir), "--no-builtin"]
    code, out, err = run(capsys, "migrate", "status", "--cluster", "prod", *mine)
    assert code == 0 and "0 applied or started, 1 pending" in out, err
    assert run(capsys, "migrate", "up", *mine)[0] == 0
    p.write_text(p.read_text() + "-- edited\n")
    code, out, err = run(capsys, "migrate", "plan", *mine)
    assert code == 0 and "`up` refuses: 0100_a changed since applied" in out, out
    code, out, err = run(capsys, "migrate", "plan", "--allow-changed", *mine)
    assert code == 0 and "`up --allow-changed` records the edits to 0100_a" in out and "refuses" not in out, out


def test_a_cluster_the_server_does_not_know_is_named_before_anything_runs(capsys, dsn, mdir):
    """`up --cluster prod` on the embedded engine (no clusters there) gave ClickHouse's bare
    `Requested cluster 'prod' not found`."""
    write(mdir, "0100_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;", "DROP TABLE a;")
    code, out, err = run(capsys, "migrate", "up", "--cluster", "prod", "--dsn", dsn, "--dir", str(mdir), "--no-builtin")
    assert code == 2, err
    assert err.startswith(f"error: cluster 'prod' is not one embedded ClickHouse at {dsn[len('chdb://'):]} knows "
                          "(system.clusters: none); nothing was run"), err
    assert "leave out --cluster" in err
    with sqlext.connect(dsn=dsn) as s:
        assert s.query("EXISTS TABLE embedsql_migrations").rows == [(0,)]  # not even the state table


def test_plan_with_dialect_needs_no_database(capsys, tmp_path):
    code, out, err = run(capsys, "migrate", "plan", "--dialect", "myscale")
    assert code == 0, err
    assert "TYPE MSTG('metric_type=Cosine');" in out and "no database consulted" in out
    # --down plans what `down` would do with the same options, from a fully migrated database:
    # without --to the latest migration only, --to 0 all of them
    code, out, err = run(capsys, "migrate", "plan", "--dialect", "clickhouse", "--cluster", "prod", "--down")
    assert code == 0 and "as if every migration were applied" in out
    assert re.findall(r"^-- (\d{4}_\w+) \(down\)", out, re.M) == ["0003_photos_text_index"]
    code, out, err = run(capsys, "migrate", "plan", "--dialect", "clickhouse", "--cluster", "prod", "--down",
                         "--to", "0")
    assert code == 0 and "DROP TABLE IF EXISTS photos_local ON CLUSTER prod SYNC;" in out
    assert re.findall(r"^-- (\d{4}_\w+) \(down\)", out, re.M) == [
        "0003_photos_text_index", "0002_photo_embed_index", "0001_photos_table"]
    assert not (tmp_path / "data").exists()     # the default embedded database was never opened


def test_failure_exit_code_status_and_resume(capsys, dsn, mdir):
    p = write(mdir, "0100_x.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;\nSELECT * FROM nope;")
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn, "--dir", str(mdir))
    assert code == 1
    assert "0100_x (up) statement 2 of 2 (0100_x.sql:4) failed" in err and "nope" in err
    assert "Traceback" not in err
    # the hint names the command with this run's options: run as written, it resumes
    hint = re.search(r"then `(embedsql migrate up [^`]*)` resumes at statement 2", err)
    assert hint, err
    argv = shlex.split(hint.group(1))
    assert argv == ["embedsql", "migrate", "up", "--dir", str(mdir), "--dsn", dsn]
    assert f"`embedsql migrate down --dir {shlex.quote(str(mdir))} --dsn {dsn}` reverts what ran" in err
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn, "--dir", str(mdir))
    assert code == 1 and "failed" in out and "stopped at statement 2 of 2" in out
    p.write_text(p.read_text().replace("nope", "a"))
    code, out, err = run(capsys, *argv[1:])
    assert code == 0 and "resuming 0100_x at statement 2 of 2" in err
    p.write_text(p.read_text() + "-- an edit\n")
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn, "--dir", str(mdir))
    assert code == 1 and "applied (changed)" in out
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn, "--dir", str(mdir))
    assert code == 2
    assert f"`embedsql migrate up --dir {shlex.quote(str(mdir))} --dsn {dsn} --allow-changed`" in err
    # --allow-changed accepts the edit once: it records the new checksum and says so
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn, "--dir", str(mdir), "--allow-changed")
    assert code == 0, err
    assert "accepted the edits to 0100_x: recorded its new checksum; its statements were not rerun" in err
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn, "--dir", str(mdir))
    assert code == 0 and "(changed)" not in out and "need attention" not in out
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn, "--dir", str(mdir))
    assert code == 0 and "nothing to apply" in err
    assert sqlext.connect(dsn=dsn).query("SELECT count() FROM system.tables WHERE name = 'a'").rows == [(1,)]


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


def _run_cli(tmp_path, *argv, stdin=subprocess.DEVNULL):
    return subprocess.run([PY, "-m", "tui.cli", *argv], cwd=REPO, env=cli_env(tmp_path), stdin=stdin,
                          capture_output=True, text=True, timeout=300)


def _table_exists(dsn, name) -> bool:
    s = sqlext.connect(dsn=dsn)
    try:
        return s.query(f"EXISTS TABLE {name}").rows == [(1,)]
    finally:
        s.close()


def test_down_that_drops_a_table_needs_yes_without_a_terminal(tmp_path, dsn, mdir):
    write(mdir, "0100_t.sql", "CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x;",
          "-- DROP TABLE commented_out;\nDROP TABLE IF EXISTS t;")
    r = _run_cli(tmp_path, "migrate", "up", "--dsn", dsn, "--dir", str(mdir), "--no-builtin")
    assert r.returncode == 0, r.stderr
    r = _run_cli(tmp_path, "migrate", "down", "--dsn", dsn, "--dir", str(mdir), "--no-builtin")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("error: this revert deletes data (0100_t drops table t) and there is no terminal")
    assert "commented_out" not in r.stderr
    assert f"run `embedsql migrate down --dir {mdir} --no-builtin --dsn {dsn} --yes`" in r.stderr
    assert _table_exists(dsn, "t")
    r = _run_cli(tmp_path, "migrate", "down", "--dsn", dsn, "--dir", str(mdir), "--no-builtin", "--yes")
    assert r.returncode == 0 and "reverted 0100_t" in r.stderr
    assert not _table_exists(dsn, "t")


def _pty_run(tmp_path, argv, answer: bytes) -> tuple[int, str]:
    """Run the CLI on a pseudo-terminal; answer the y/N question with `answer`. Returns (exit
    status, everything the terminal showed)."""
    import pty
    import selectors

    master, slave = pty.openpty()
    p = subprocess.Popen([PY, "-m", "tui.cli", *argv], cwd=REPO, env=cli_env(tmp_path),
                         stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen = b""
    answered = False
    deadline = time.monotonic() + 300  # bounds a hang; the test asserts on what was shown
    # a selector, not select.select: this process may already hold more than 1024 descriptors
    # (chdb keeps /proc task files of its finished threads open), which select() cannot watch
    sel = selectors.DefaultSelector()
    sel.register(master, selectors.EVENT_READ)
    try:
        while time.monotonic() < deadline:
            ready = sel.select(1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
                if not answered and b"revert? [y/N]" in seen:
                    os.write(master, answer)
                    answered = True
            elif p.poll() is not None:
                break
        return p.wait(timeout=60), seen.decode(errors="replace").replace("\r\n", "\n")
    finally:
        sel.close()
        if p.poll() is None:
            p.kill()
            p.wait()
        os.close(master)


def test_down_that_drops_a_table_asks_on_a_terminal(tmp_path, dsn, mdir):
    write(mdir, "0100_t.sql", "CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x;", "DROP TABLE t;")
    r = _run_cli(tmp_path, "migrate", "up", "--dsn", dsn, "--dir", str(mdir), "--no-builtin")
    assert r.returncode == 0, r.stderr
    argv = ["migrate", "down", "--dsn", dsn, "--dir", str(mdir), "--no-builtin"]
    code, shown = _pty_run(tmp_path, argv, b"n\n")
    assert "this revert deletes data:\n  0100_t drops table t\nrevert? [y/N]" in shown
    assert code == 1 and "nothing reverted" in shown
    assert _table_exists(dsn, "t")
    code, shown = _pty_run(tmp_path, argv, b"y\n")
    assert code == 0 and "reverted 0100_t" in shown, shown
    assert not _table_exists(dsn, "t")


def test_status_through_a_pipe_is_not_wrapped(tmp_path, dsn, mdir):
    name = "0100_add_a_tags_column_with_a_rather_long_descriptive_name_for_the_photo_table"
    write(mdir, name + ".sql", "CREATE TABLE t (x UInt8) ENGINE = MergeTree ORDER BY x;")
    env = {k: v for k, v in cli_env(tmp_path).items() if k != "COLUMNS"}
    r = subprocess.run([PY, "-m", "tui.cli", "migrate", "status", "--dsn", dsn, "--dir", str(mdir)],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    row = [line for line in r.stdout.splitlines() if "0100" in line]
    assert len(row) == 1 and name[5:] in row[0] and "pending" in row[0]
    assert len(row[0]) > 80


def test_a_reverted_migration_whose_file_is_gone_is_not_pending(capsys, dsn, mdir):
    """status and up agree: a migration reverted from --dir and then run without that directory
    is history (reverted, file missing), not pending work that `up` would then not do."""
    write(mdir, "0100_add_tags.sql", "ALTER TABLE photos ADD COLUMN tags Array(String);",
          "ALTER TABLE photos DROP COLUMN tags;")
    assert run(capsys, "migrate", "up", "--dsn", dsn, "--dir", str(mdir))[0] == 0
    assert run(capsys, "migrate", "down", "--dsn", dsn, "--dir", str(mdir), "--yes")[0] == 0
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn)
    assert code == 0 and "pending" not in out.replace("0 pending", ""), out + err
    assert "reverted" in out and "file missing" in out and "1 reverted (file not in this set)" in out
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn)
    assert code == 0 and "up to date" in err and "file is missing" not in err


def test_up_to_a_version_already_passed_says_so(capsys, dsn):
    assert run(capsys, "migrate", "up", "--dsn", dsn)[0] == 0
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn, "--to", "1")
    assert code == 0 and "already past version 0001 (0003 is applied)" in err
    assert f"embedsql migrate down --dsn {dsn} --to 1" in err


@pytest.mark.parametrize("action", ["up", "down"])
def test_a_negative_to_is_a_usage_error_and_changes_nothing(capsys, dsn, action):
    """`--to -1` is no version: refused (exit 2) naming the value and the valid range, before any
    migration is applied or reverted (`down --to -1 --yes` used to revert everything)."""
    assert run(capsys, "migrate", "up", "--dsn", dsn)[0] == 0
    extra = ["--yes"] if action == "down" else []
    code, out, err = run(capsys, "migrate", action, "--dsn", dsn, "--to", "-1", *extra)
    assert code == 2, out + err
    assert "--to -1" in err and "0 or more" in err and "already past" not in err
    code, out, err = run(capsys, "migrate", "plan", "--dsn", dsn, "--to", "-1", *(["--down"] if action == "down" else []))
    assert code == 2 and "0 or more" in err
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn)
    assert code == 0 and "3 applied or started, 0 pending" in out
    # --to 0 stays what it is documented to be: down reverts everything, up applies nothing
    assert run(capsys, "migrate", "down", "--dsn", dsn, "--to", "0", "--yes")[0] == 0
    code, out, err = run(capsys, "migrate", "status", "--dsn", dsn)
    assert code == 0 and "0 applied or started, 3 pending" in out
    code, out, err = run(capsys, "migrate", "up", "--dsn", dsn, "--to", "0")
    assert code == 0 and "nothing to apply" in err


def test_new_twice_numbers_on_while_the_first_file_is_still_a_template(capsys, tmp_path):
    """`new` numbers from the file names only: an unfilled template (no statements yet) in the
    directory does not stop the next `new`."""
    d = tmp_path / "mig"
    assert run(capsys, "migrate", "new", "add tags", "--dir", str(d))[0] == 0
    code, out, err = run(capsys, "migrate", "new", "add more", "--dir", str(d))
    assert code == 0, err
    assert out.strip().endswith("0101_add_more.sql")
    assert sorted(p.name for p in d.iterdir()) == ["0100_add_tags.sql", "0101_add_more.sql"]
