"""The server password never shows: not in the CLI's stdout/stderr (success, --explain, --debug,
every failure), not in files under the data/cache/config dirs, not in error objects, and not on
the command line of a running embedsql process when it comes from EMBEDSQL_PASSWORD.

Runs real processes against tests/chserver.py on 127.0.0.1."""
from __future__ import annotations

import base64
import secrets
import time
from pathlib import Path

import pytest

import sqlext
from sqlext.errors import EmbedSQLError

from tests.chserver import ChServer, closed_port, run_cli

USER = "alice"
PASSWORD = "pw-" + secrets.token_hex(12)
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()  # the Authorization header value


def _leaks(text: str, pw: str = PASSWORD) -> list[str]:
    basic = base64.b64encode(f"{USER}:{pw}".encode()).decode()
    return [s for s in (pw, basic) if s in text]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ChServer(tmp_path_factory.mktemp("secrets") / "db", user=USER, password=PASSWORD) as srv:
        yield srv


def _scan_files(root: Path, pw: str = PASSWORD) -> list[str]:
    found = []
    needles = [pw.encode(), base64.b64encode(f"{USER}:{pw}".encode())]
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if any(n in data for n in needles):
                found.append(str(path))
    return found


def _cases(server):
    ok = server.dsn()
    refused = f"http://{USER}@127.0.0.1:{closed_port()}/default"
    return {
        "select": (["query", "SELECT 1 AS one", "--dsn", ok], 0, None),
        "json": (["query", "SELECT 'x' AS s", "--dsn", ok, "--format", "json"], 0, None),
        "explain": (["query", "SELECT 1", "--dsn", ok, "--explain"], 0, None),
        "server_error": (["query", "SELECT * FROM missing_tbl", "--dsn", ok], 1, None),
        "refused": (["query", "SELECT 1", "--dsn", refused], 1, None),
        "dns": (["query", "SELECT 1", "--dsn", f"http://{USER}@nonexistent.invalid:8123/default"], 1, None),
        "tls": (["query", "SELECT 1", "--dsn", ok.replace("http://", "https://")], 1, None),
        "timeout": (["query", "SELECT 'secret_timeout_marker'", "--dsn", server.dsn(query="timeout=1")], 1,
                    ("sleep", "secret_timeout_marker", 3)),
        "drop": (["query", "SELECT 'secret_drop_marker'", "--dsn", ok], 1, ("drop", "secret_drop_marker", 0)),
        "cut": (["query", "SELECT 'secret_cut_marker', number FROM numbers(10000)", "--dsn", ok], 1,
                ("cut", "secret_cut_marker", 0)),
    }


CASES = ["select", "json", "explain", "server_error", "refused", "dns", "tls", "timeout", "drop", "cut"]


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("name", CASES)
def test_cli_output_never_shows_the_password(name, debug, server, tmp_path):
    args, code, fault = _cases(server)[name]
    if debug:
        args = args + ["--debug"]
    if fault:
        server.fault(fault[0], match=fault[1], seconds=fault[2])
    try:
        p = run_cli(args, password=PASSWORD)
    finally:
        if fault:
            server.fault("none")
    assert p.returncode == code, p.stderr
    assert _leaks(p.stdout) == [] and _leaks(p.stderr) == []
    # nothing written under the user dirs (data, cache, config: all inside tmp_path) holds it
    assert _scan_files(tmp_path) == []


def test_wrong_password_is_not_echoed(server, tmp_path):
    wrong = "wrong-" + secrets.token_hex(10)
    for extra in ([], ["--debug"]):
        p = run_cli(["query", "SELECT 1", "--dsn", server.dsn(), *extra], password=wrong)
        assert p.returncode == 1
        assert _leaks(p.stdout + p.stderr, wrong) == []
    assert _scan_files(tmp_path, wrong) == []


@pytest.mark.parametrize("where", ["ok", "refused", "wrong_server_password"])
def test_password_written_in_the_dsn_is_never_printed(where, server, tmp_path):
    """`--dsn http://alice:PW@host` works, and no output repeats it. (It is still visible in the
    process list while the command runs: use EMBEDSQL_PASSWORD.)"""
    pw = PASSWORD if where != "wrong_server_password" else "dsnpw-" + secrets.token_hex(8)
    port = server.port if where != "refused" else closed_port()
    dsn = f"http://{USER}:{pw}@127.0.0.1:{port}/default"
    for extra in ([], ["--debug"], ["--explain"]):
        p = run_cli(["query", "SELECT 1", "--dsn", dsn, *extra], password=None)
        # (--explain asks the server for the dialect, so it fails where the server does)
        assert p.returncode == (0 if where == "ok" else 1), p.stderr
        assert _leaks(p.stdout + p.stderr, pw) == []
    assert _scan_files(tmp_path, pw) == []


def test_error_objects_never_hold_the_password(server):
    faults = [("drop", "obj_drop_marker"), ("cut", "obj_cut_marker")]
    errors = []
    for dsn, pw in ((server.dsn(), "bad-" + PASSWORD), (f"http://{USER}@127.0.0.1:{closed_port()}/default", PASSWORD),
                    (server.dsn(), PASSWORD)):
        s = sqlext.connect(dsn, password=pw)
        try:
            s.query("SELECT * FROM no_table_obj")
        except EmbedSQLError as exc:
            errors.append(exc)
        s.close()
    with sqlext.connect(server.dsn(), password=PASSWORD) as s:
        for mode, marker in faults:
            server.fault(mode, match=marker)
            try:
                s.query(f"SELECT '{marker}', number FROM numbers(10000)")
            except EmbedSQLError as exc:
                errors.append(exc)
            finally:
                server.fault("none")
    assert len(errors) == 5
    for exc in errors:
        chain, e = [], exc
        while e is not None and len(chain) < 10:  # the suppressed __context__ too
            chain.append(e)
            e = e.__cause__ or e.__context__
        text = " ".join(f"{e!s} {e!r} {e.args!r}" for e in chain)
        assert _leaks(text) == [] and "bad-" + PASSWORD not in text


def test_password_not_on_the_command_line_of_a_running_process(server):
    server.fault("sleep", match="proc_marker", seconds=4)
    proc = run_cli(["query", "SELECT 'proc_marker'", "--dsn", server.dsn()], password=PASSWORD, popen=True)
    try:
        deadline = time.monotonic() + 30
        while not any("proc_marker" in e["query"] for e in server.log()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the query never reached the server"
            time.sleep(0.05)
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        assert "tui.cli" in cmdline and "proc_marker" in cmdline  # it is the right process
        assert _leaks(cmdline) == []
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert _leaks(out + err) == []
    finally:
        server.fault("none")
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
