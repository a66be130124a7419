"""`embedsql query` against a server over HTTP (tests/chserver.py on 127.0.0.1), and every way
reaching it can fail: each gives exit 1 and one clear `error:` line (plus a hint), no traceback."""
from __future__ import annotations

import secrets

import pytest

from chserver import ChServer, closed_port, run_cli

USER = "alice"
PASSWORD = "pw-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ChServer(tmp_path_factory.mktemp("cli") / "db", user=USER, password=PASSWORD) as srv:
        yield srv


def _error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, stderr
    return lines[0]


def test_cli_query_over_http(server):
    p = run_cli(["query", "SELECT 6 * 7 AS answer", "--dsn", server.dsn(), "--format", "csv"], password=PASSWORD)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines() == ['"answer"', "42"]  # ClickHouse's CSVWithNames, from the server
    assert "Traceback" not in p.stderr


def test_cli_script_over_http(server, tmp_path):
    script = tmp_path / "s.sql"
    script.write_text("CREATE TABLE cli_t (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
                      "INSERT INTO cli_t VALUES (1), (2);\n"
                      "SELECT sum(x) AS s FROM cli_t;\n")
    p = run_cli(["query", "-f", str(script), "--dsn", server.dsn(), "--format", "csv"], password=PASSWORD)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-2:] == ['"s"', "3"]


def test_cli_server_error(server):
    p = run_cli(["query", "SELECT * FROM no_such_table_cli", "--dsn", server.dsn()], password=PASSWORD)
    assert p.returncode == 1
    assert "no_such_table_cli" in _error_line(p.stderr)
    assert "Traceback" not in p.stderr


def _case(name, server):
    """(dsn, sql, password, fault) for one failure case."""
    sql = f"SELECT '{name}_marker'"
    if name == "refused":
        return f"http://{USER}@127.0.0.1:{closed_port()}/default", sql, PASSWORD, None
    if name == "dns":
        return f"http://{USER}@nonexistent.invalid:8123/default", sql, PASSWORD, None
    if name == "tls":
        return server.dsn().replace("http://", "https://"), sql, PASSWORD, None
    if name == "password":
        return server.dsn(), sql, "wrong-" + PASSWORD, None
    if name == "timeout":
        return server.dsn(query="timeout=1"), sql, PASSWORD, ("sleep", 3)
    if name == "cut":
        return server.dsn(), sql + ", number FROM numbers(10000)", PASSWORD, ("cut", 0)
    if name == "drop":
        return server.dsn(), sql, PASSWORD, ("drop", 0)
    raise AssertionError(name)


EXPECTED = {
    "refused": ("cannot reach", "connection refused"),
    "dns": ("cannot reach", "host name not found"),
    "tls": ("cannot reach", "TLS"),
    "password": ("refused the credentials", f"user '{USER}'"),
    "timeout": ("cannot reach", "timed out"),
    "cut": ("closed the connection",),
    "drop": ("cannot reach", "closed the connection"),
}


def dsn_host(argv) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(argv[argv.index("--dsn") + 1])
    return f"{parts.hostname}:{parts.port}"


def _run_case(name, server):
    dsn, sql, pw, fault = _case(name, server)
    if fault:
        server.fault(fault[0], match=f"{name}_marker", seconds=fault[1])
    try:
        return run_cli(["query", sql, "--dsn", dsn], password=pw)
    finally:
        if fault:
            server.fault("none")


@pytest.mark.parametrize("name", list(EXPECTED))
def test_cli_failure_is_one_clear_message(name, server):
    p = _run_case(name, server)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    line = _error_line(p.stderr)
    for needle in EXPECTED[name]:
        assert needle in line, line
    host = dsn_host(p.args)
    assert host in line, line  # it names the server it could not use
    assert "  hint: " in p.stderr
    assert PASSWORD not in p.stdout + p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize("name", list(EXPECTED))
def test_cli_failure_stderr_has_nothing_else(name, server):
    p = _run_case(name, server)
    assert p.returncode == 1
    others = [ln for ln in p.stderr.splitlines() if not ln.startswith(("error: ", "  hint: "))]
    assert others == []


def test_cli_server_killed_mid_query(tmp_path):
    with ChServer(tmp_path / "db", user=USER, password=PASSWORD) as srv:
        srv.fault("exit", match="crash_marker")
        p = run_cli(["query", "SELECT 'crash_marker'", "--dsn", srv.dsn()], password=PASSWORD)
        srv.proc.wait(timeout=10)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert "cannot reach" in _error_line(p.stderr)
    assert PASSWORD not in p.stdout + p.stderr


def test_cli_no_password_and_no_terminal(server):
    """No EMBEDSQL_PASSWORD and stdin is not a terminal: no prompt, the empty password is refused."""
    p = run_cli(["query", "SELECT 1", "--dsn", server.dsn()], password=None)
    assert p.returncode == 1
    assert f"user '{USER}'" in _error_line(p.stderr)


def test_ctrl_c_kills_the_query_on_the_server_too(server):
    """A server keeps running a query whose client went away: Ctrl-C sends KILL QUERY for it."""
    import signal
    import time

    marker = "ctrlc_" + secrets.token_hex(4)
    server.fault("sleep", match=marker, seconds=30)
    try:
        p = run_cli(["query", f"SELECT '{marker}'", "--dsn", server.dsn()], password=PASSWORD, popen=True)
        deadline = time.monotonic() + 30
        while not any(marker in e["query"] for e in server.log()) and time.monotonic() < deadline:
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=20)
        assert p.returncode == 130, err
        assert "Traceback" not in err and PASSWORD not in out + err
        slow = [e for e in server.log() if marker in e["query"] and "KILL" not in e["query"]]
        kills = [e for e in server.log() if e["query"].lstrip().upper().startswith("KILL QUERY")]
        assert any(slow[-1]["params"]["query_id"] in k["query"] for k in kills)
    finally:
        server.fault("none")
