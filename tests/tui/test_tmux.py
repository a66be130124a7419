"""The real app in a real terminal: tmux runs `embedsql`, keys are typed with send-keys, and the
screen is read back with capture-pane."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import pytest

from tests.support import REPO
from tests.tmux_support import capture, wait_screen

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")




@contextlib.contextmanager
def _app_in_tmux(session, tiny_clip, tmp_path, *, dsn: str | None = None, keep: bool = False):
    """Run `embedsql` on the test's database (or on `dsn`) in a detached 120x40 tmux session;
    yields the socket name. keep=True: once the app has exited, the pane stays with what the
    program wrote last and `exit=<status>`. The session is killed on the way out."""
    if dsn is None:
        dsn = f"chdb://{tmp_path}/db"
        session.release_engine()  # hand the embedded engine back now: the app's process takes it
    sock = f"embedsql-test-{uuid.uuid4().hex[:8]}"
    env = {k: os.environ[k] for k in ("EMBEDSQL_DATA_DIR", "EMBEDSQL_CONFIG", "EMBEDSQL_CACHE_DIR")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO), TERM="xterm-256color")
    if not dsn.startswith("chdb:"):
        env["EMBEDSQL_PASSWORD"] = ""  # the server's user has none: no prompt for one
    # -u COLUMNS/LINES: the shell tmux starts may set them to the size the pane had at that moment
    # (80x24 before the -x/-y size applies), and Python's terminal size prefers them to the pty's
    cmd = ["env", "-u", "COLUMNS", "-u", "LINES", *[f"{k}={v}" for k, v in env.items()],
           sys.executable, "-m", "tui.cli", "--dsn", dsn, "--model", str(tiny_clip)]
    line = " ".join(f"'{c}'" for c in cmd)
    if keep:
        line = f"{line}; echo exit=$?; sleep 600"
    subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", "120", "-y", "40",
                    line], check=True)
    try:
        yield sock
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)


def _keys(sock: str, *keys: str, literal: bool = False) -> None:
    """Type keys as a terminal sends them (tmux key names, or literal text with literal=True)."""
    subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "app", *(["-l"] if literal else []), *keys], check=True)


def test_real_app_in_tmux(session, tiny_clip, tmp_path):
    with _app_in_tmux(session, tiny_clip, tmp_path) as sock:
        wait_screen(sock, "F5 runs the statement", "photo_embed Array")  # first screen + the catalog's column
        _keys(sock, "SELECT photo_id, cosineDistance(photo_embed, EMBED('a cat')) AS distance "
                    "FROM photos ORDER BY photo_id", literal=True)
        _keys(sock, "F5")
        screen = wait_screen(sock, "5 rows", "astronaut", "rocket")
        assert "photo_id" in screen and "distance" in screen
        # typed after the run and never run: a real ctrl+q keeps it too
        _keys(sock, "C-a")
        _keys(sock, "SELECT 'typed, never run'", literal=True)
        wait_screen(sock, "SELECT 'typed, never run'")
        _keys(sock, "C-q")
        end = time.monotonic() + 10
        while time.monotonic() < end:
            r = subprocess.run(["tmux", "-L", sock, "has-session", "-t", "app"], capture_output=True)
            if r.returncode != 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the app did not quit on ctrl+q")
    buffer = (tmp_path / "data" / "buffer.sql").read_text()
    assert buffer == "SELECT 'typed, never run'"  # kept for the next start


@pytest.mark.parametrize("how", ["SIGTERM", "terminal closed"])
def test_text_typed_just_before_a_kill_or_a_hangup_is_kept(session, tiny_clip, tmp_path, how):
    """The editor text is saved 2 s after typing stops; `kill` (SIGTERM) or closing the terminal
    (SIGHUP: tmux kill-server) within those 2 s lost it. Both now save it on the way out."""
    buffer = tmp_path / "data" / "buffer.sql"
    with _app_in_tmux(session, tiny_clip, tmp_path) as sock:
        wait_screen(sock, "F5 runs the statement")
        pid = int(subprocess.run(["tmux", "-L", sock, "list-panes", "-t", "app", "-F", "#{pane_pid}"],
                                 capture_output=True, text=True, check=True).stdout.split()[0])
        _keys(sock, "C-a")
        _keys(sock, "SELECT 'typed just before the end'", literal=True)
        wait_screen(sock, "typed just before the end")
        if how == "SIGTERM":
            os.kill(pid, signal.SIGTERM)
            _wait_gone(sock, 30)
        else:
            subprocess.run(["tmux", "-L", sock, "kill-server"], check=True)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the app did not exit on {how}")
    assert buffer.read_text() == "SELECT 'typed just before the end'"


def test_keys_as_a_terminal_sends_them(session, tiny_clip, tmp_path):
    """C-Space and C-@ (both NUL on the wire), Tab after a word, C-a, F6 and Enter, typed through
    tmux: what Pilot's key names would not catch."""
    with _app_in_tmux(session, tiny_clip, tmp_path) as sock:
        wait_screen(sock, "F5 runs the statement", "photo_embed Array")
        _keys(sock, "C-a")  # select all: what is typed next replaces the whole default text
        _keys(sock, "SELECT count() FROM phot", literal=True)
        screen = wait_screen(sock, "SELECT count() FROM phot")
        assert "F5 runs the statement" not in screen, screen
        _keys(sock, "C-Space")  # a list: photos first
        _keys(sock, "Enter")  # takes it (without the list, Enter would start a new line)
        wait_screen(sock, "SELECT count() FROM photos")
        _keys(sock, " WHERE length(photo_em", literal=True)
        _keys(sock, "C-@")  # one candidate: inserted at once
        wait_screen(sock, "length(photo_embed")
        _keys(sock, ") = 512 AND photo_ima", literal=True)
        _keys(sock, "Tab")  # after a word, tab completes
        wait_screen(sock, "AND photo_image_url")
        _keys(sock, " != ''", literal=True)
        _keys(sock, "F5")
        wait_screen(sock, "1 row in")
        _keys(sock, "F6", "Enter")  # F6 focuses the grid: Enter opens the row at once
        screen = wait_screen(sock, "row 1 of 1")
        assert "UInt64" in screen and "5" in screen
        _keys(sock, "Escape")


def _bytes(sock: str, data: bytes) -> None:
    """Send these exact bytes, as the terminal would write them to the app (send-keys -H)."""
    subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "app", "-H", *(f"{b:02x}" for b in data)], check=True)


def _editor_column(sock: str) -> int:
    """The screen column of the editor's top-left corner: the sidebar's width (0 when hidden)."""
    for line in capture(sock).splitlines():
        if "╭" in line:
            return line.index("╭")
    raise AssertionError(f"no editor border on the screen:\n{capture(sock)}")


def _wait_column(sock: str, want: int, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if _editor_column(sock) == want:
            return
        time.sleep(0.2)
    raise AssertionError(f"editor at column {_editor_column(sock)}, not {want}:\n{capture(sock)}")


def test_sidebar_keys_as_the_terminal_sends_them(session, tiny_clip, tmp_path):
    """alt+right / alt+left as xterm's bytes (ESC [1;3C, ESC [1;3D) and as tmux's M-Right / M-Left,
    ctrl+t as its byte (0x14), typed while the editor has the focus: the sidebar's width changes
    on the screen, stops at its bounds (120 columns: 16..72), hides and shows again."""
    from tui.app import SIDEBAR_STEP, sidebar_bounds

    low, high = sidebar_bounds(120)
    with _app_in_tmux(session, tiny_clip, tmp_path) as sock:
        wait_screen(sock, "F5 runs the statement", "photo_embed Array", "^t Sidebar")
        _wait_column(sock, 30)  # the default width
        _bytes(sock, b"\x1b[1;3C")  # alt+right
        _wait_column(sock, 30 + SIDEBAR_STEP)
        _keys(sock, "M-Right")
        _wait_column(sock, 30 + 2 * SIDEBAR_STEP)
        for _ in range(20):
            _bytes(sock, b"\x1b[1;3C")
        _wait_column(sock, high)
        for _ in range(30):
            _keys(sock, "M-Left")
        _wait_column(sock, low)
        _bytes(sock, b"\x1b[1;3C")
        _wait_column(sock, low + SIDEBAR_STEP)
        _bytes(sock, b"\x14")  # ctrl+t: hidden, the editor takes the whole width
        _wait_column(sock, 0)
        _keys(sock, "C-t")  # shown again, at the width chosen
        _wait_column(sock, low + SIDEBAR_STEP)
        _keys(sock, "x", literal=True)  # the keys did not reach the editor; typing still does
        screen = wait_screen(sock, "x")
        assert "\x1b" not in screen and "[1;3C" not in screen, screen


def test_bracket_keys_resize_the_catalog_as_the_terminal_sends_them(session, tiny_clip, tmp_path):
    """`[` `]` `-` `+` as the single bytes every terminal sends for them (0x5b 0x5d 0x2d 0x2b), typed
    while the catalog has the focus (F2): the sidebar narrows and widens on the screen within its
    bounds (120 columns: 16..72), the footer shows the keys; with the editor focused the same bytes
    are text."""
    from tui.app import SIDEBAR_STEP, sidebar_bounds

    low, high = sidebar_bounds(120)
    with _app_in_tmux(session, tiny_clip, tmp_path) as sock:
        wait_screen(sock, "F5 runs the statement", "photo_embed Array")
        _keys(sock, "F2")  # the catalog takes the focus and widens (45 %)
        wait_screen(sock, "[ ] Width")
        _wait_column(sock, 54)
        _bytes(sock, b"]")
        _wait_column(sock, 54 + SIDEBAR_STEP)
        _bytes(sock, b"+")
        _wait_column(sock, 54 + 2 * SIDEBAR_STEP)
        for _ in range(10):
            _bytes(sock, b"]")
        _wait_column(sock, high)
        _bytes(sock, b"[")
        _wait_column(sock, high - SIDEBAR_STEP)
        for _ in range(20):
            _bytes(sock, b"-")
        _wait_column(sock, low)
        _bytes(sock, b"]")
        _wait_column(sock, low + SIDEBAR_STEP)
        wait_screen(sock, f"sidebar {low + SIDEBAR_STEP} columns")
        _bytes(sock, b"\x14")  # ctrl+t: hidden, the focus goes to the editor
        _wait_column(sock, 0)
        _bytes(sock, b"\x14")  # shown again at the width chosen; the editor keeps the focus
        _wait_column(sock, low + SIDEBAR_STEP)
        _bytes(sock, b"x[-+]")  # in the editor: text, not a resize
        screen = wait_screen(sock, "x[-+]")
        assert _editor_column(sock) == low + SIDEBAR_STEP, screen
        assert "[ ] Width" not in screen, screen  # the footer shows them only in the catalog


def _wait_gone(sock: str, timeout: float) -> float:
    """Seconds until the app's process has ended (its tmux session goes with it)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if subprocess.run(["tmux", "-L", sock, "has-session", "-t", "app"], capture_output=True).returncode != 0:
            return time.monotonic() - t0
        time.sleep(0.1)
    raise AssertionError(f"the app had not exited {timeout} s later:\n{capture(sock)}")


@pytest.mark.parametrize("then", ["ctrl-c", "statement ends"])
def test_quit_while_a_statement_runs_says_what_it_waits_for(session, tiny_clip, tmp_path, image_server, then):
    """ctrl+q while a statement runs on the embedded engine (which cannot interrupt it): the
    screen says that embedsql waits for it and that Ctrl-C exits now; Ctrl-C does, at once;
    else it exits when the statement ends. The editor text is saved either way."""
    route = f"/gate/{tmp_path.name}"
    gate = image_server.gate(route, b"a\nb\n")
    sql = f"SELECT count() AS n FROM url('{image_server.url(route)}', 'LineAsString')"
    try:
        with _app_in_tmux(session, tiny_clip, tmp_path) as sock:
            wait_screen(sock, "F5 runs the statement")
            _keys(sock, "C-a")
            _keys(sock, sql, literal=True)
            _keys(sock, "F5")
            end = time.monotonic() + 60
            while not image_server.hits.get(route) and time.monotonic() < end:
                time.sleep(0.1)
            assert image_server.hits.get(route), capture(sock)
            _keys(sock, "C-q")
            screen = wait_screen(sock, "waiting for the statement", "Ctrl-C", timeout=30)
            assert "embedded engine" in screen
            if then == "ctrl-c":
                _keys(sock, "C-c")
                assert _wait_gone(sock, 5) < 5
            else:
                gate.set()
                _wait_gone(sock, 30)
        assert (tmp_path / "data" / "buffer.sql").read_text() == sql
    finally:
        gate.set()


def test_escape_and_quit_while_a_statement_runs_on_a_server_kill_it(tiny_clip, tmp_path):
    """A statement running on a server (the loopback stand-in, sleeping 60 s on it) while the
    catalog loads beside it on the same session. Escape asks the server to stop it (KILL QUERY
    with its query_id) and the app takes the next statement at once. ctrl+q during the next run
    does the same (saying so after the screen is restored when the statement is still running)
    and exits as soon as the server has stopped it, long before the statement would have ended.
    The editor text is saved."""
    from tests.chserver import ChServer

    marker = f"quit_{uuid.uuid4().hex[:8]}"
    sql = f"SELECT '{marker}' AS m"

    def runs(n: int) -> None:  # until the server has the statement n times
        end = time.monotonic() + 60
        while sum(marker in e["query"] and "KILL" not in e["query"] for e in srv.log()) < n:
            assert time.monotonic() < end, capture(sock)
            time.sleep(0.1)

    def killed() -> set[str]:  # the query ids the server was asked to kill
        log = srv.log()
        ids = {e["params"]["query_id"] for e in log if marker in e["query"] and "KILL" not in e["query"]}
        return {i for i in ids if any(e["query"].lstrip().upper().startswith("KILL QUERY") and i in e["query"]
                                      for e in log)}

    with ChServer(tmp_path / "server") as srv:
        srv.fault("sleep", match=marker, seconds=60)
        with _app_in_tmux(None, tiny_clip, tmp_path, dsn=srv.dsn(), keep=True) as sock:
            wait_screen(sock, "F5 runs the statement")
            _keys(sock, "C-a")
            _keys(sock, sql, literal=True)
            _keys(sock, "F5")
            runs(1)
            _keys(sock, "Escape")
            wait_screen(sock, "asked the server to stop the query", timeout=30)
            end = time.monotonic() + 20
            while len(killed()) < 1:
                assert time.monotonic() < end, srv.log()[-3:]
                time.sleep(0.1)
            _keys(sock, "F5")
            runs(2)
            t0 = time.monotonic()
            _keys(sock, "C-q")
            try:
                screen = wait_screen(sock, "exit=", timeout=30)
            except AssertionError as exc:
                raise AssertionError(f"{exc}\nthe server's log: {[e['query'][:60] for e in srv.log()]}") from None
            assert time.monotonic() - t0 < 20, screen  # the 60 s sleep was cut short
            # (the app says it waits only when the statement is still running once the KILL was
            # answered: the stand-in often ends it first, so the notice may not be there)
            notice = "waiting for the server to stop the running query (asked with KILL QUERY)"
            assert notice in screen or screen.lstrip().startswith("exit="), screen
            assert "exit=0" in screen and "Traceback" not in screen, screen
        assert len(killed()) == 2, srv.log()[-5:]
    assert (tmp_path / "data" / "buffer.sql").read_text() == sql
