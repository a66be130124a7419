"""`embedsql migrate` waiting for the embedded database that another process holds (a real second
process, engine_support): the wait's line and the give-up error name what set the wait,
--lock-timeout (given or its default) for up/down, EMBEDSQL_LOCK_TIMEOUT for the other actions,
never EMBEDSQL_LOCK_TIMEOUT when --lock-timeout decided it."""
from __future__ import annotations

import signal
import subprocess

import pytest

from tests.migrations.migration_support import REPO, cli_env, write
from tests.sqlext.engine_support import let_go, start
from tests.tui.interrupt_support import as_typed, read_line


def _migrate(tmp_path, dsn, mdir, *args, env=None, builtin: str | None = None):
    """`embedsql migrate ARGS` on `dsn` with one migration of its own; `builtin`: a model
    directory to run the built-in migrations for too (else --no-builtin)."""
    write(mdir, "0101_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;", "DROP TABLE a;")
    which = ["--model", builtin] if builtin else ["--no-builtin"]
    argv = as_typed("migrate", *args, "--dsn", dsn, "--dir", str(mdir), *which)
    return subprocess.Popen(argv, cwd=REPO, env={**cli_env(tmp_path), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("args, env, said", [
    (["up", "--lock-timeout", "600"], {"EMBEDSQL_LOCK_TIMEOUT": "7"}, "up to 600 s (--lock-timeout)"),
    (["down", "--yes", "--lock-timeout", "450"], {}, "up to 450 s (--lock-timeout)"),
    (["up"], {"EMBEDSQL_LOCK_TIMEOUT": "600"}, "up to 30 s (the default of --lock-timeout)"),
    (["status"], {"EMBEDSQL_LOCK_TIMEOUT": "600"}, "up to 600 s (EMBEDSQL_LOCK_TIMEOUT)"),
])
def test_the_wait_line_names_what_set_the_wait(tmp_path, dsn, mdir, args, env, said):
    holder = start(dsn, "hold", -1)
    p = _migrate(tmp_path, dsn, mdir, *args, env=env)
    try:
        line = read_line(p.stderr)
        assert line == (f"waiting for the embedded database at {tmp_path / 'db'}, held by pid "
                        f"{holder.pid} ({line.split(' (', 1)[1].split(')')[0]}); {said}"), line
        assert "holder-tag" in line
        p.send_signal(signal.SIGINT)  # (ends the wait at once: no test waits out a timeout)
        assert p.wait(timeout=120) == 130
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        let_go(holder)


@pytest.mark.parametrize("builtin", [False, True])
def test_giving_up_says_to_raise_lock_timeout(tmp_path, dsn, mdir, tiny_clip, builtin):
    """With the built-in migrations, `up` first checks the table's model: that first touch of the
    database waited EMBEDSQL_LOCK_TIMEOUT whatever --lock-timeout said, and said to raise it."""
    holder = start(dsn, "hold", -1)
    p = _migrate(tmp_path, dsn, mdir, "up", "--lock-timeout", "2", env={"EMBEDSQL_LOCK_TIMEOUT": "600"},
                 builtin=str(tiny_clip) if builtin else None)
    try:
        assert p.wait(timeout=300) == 1  # (the holder never lets go: the 2 s are what end the run)
        err = p.stderr.read()
        assert (f"the embedded database at {tmp_path / 'db'} is in use by embedsql process {holder.pid} ("
                in err), err
        assert "waited 2 s" in err
        assert "hint: finish or close that program and retry, or raise --lock-timeout to wait longer" in err, err
        assert "EMBEDSQL_LOCK_TIMEOUT" not in err and "Traceback" not in err, err
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
        let_go(holder)

