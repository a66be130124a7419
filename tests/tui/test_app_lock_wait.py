"""The app while another process holds the embedded database: the status line says who holds it
(the CLI says it on stderr), the statement runs when the holder lets go, and the app hands the
engine's lock-wait hook back when it exits. The holder is a real second process (engine_support)."""
from __future__ import annotations

import contextlib

import sqlext
from sqlext.db.engine import EMBEDDED

from tests.sqlext.engine_support import let_go, start
from tests.tui.pilot_support import SIZE, make_app, run_sql, wait_for


def status_text(app) -> str:
    """The status line as drawn (not only the app's `message` attribute)."""
    return str(app.query_one("#status-text").render())


@contextlib.contextmanager
def held_elsewhere(tmp_path, monkeypatch):
    """(holder, session): a session on a new embedded database that a second process holds until
    `let_go(holder)`; both ended after the block."""
    dsn = f"chdb://{tmp_path}/db"
    monkeypatch.setenv("EMBEDSQL_LOCK_TIMEOUT", "120")  # the holder lets go when told; no hang past that
    holder = start(dsn, "hold", -1)  # until told, on stdin
    s = sqlext.connect(dsn=dsn)
    try:
        yield holder, s
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        s.close()
        EMBEDDED.release_now()


async def test_the_status_line_names_the_holder_while_a_query_waits(tmp_path, monkeypatch):
    previous = []  # a hook of the program around the app (the CLI's prints on stderr)

    def hook(message, info):
        previous.append(message)

    monkeypatch.setattr(EMBEDDED, "on_lock_wait", hook)
    with held_elsewhere(tmp_path, monkeypatch) as (holder, s):
        app = make_app(s, "SELECT count() AS n FROM t")
        async with app.run_test(size=SIZE) as pilot:
            app.editor.focus()
            await pilot.press("f5")
            who = f"held by pid {holder.pid} ("
            await wait_for(pilot, lambda: who in status_text(app), timeout=120)
            line = status_text(app)
            assert line.startswith(f"waiting for the embedded database at {tmp_path / 'db'}, {who}")
            assert "holder-tag" in line  # the holder's command line
            assert app.running and app.lock_notice is not None
            # the catalog read waits too: background work says so in a notification
            await wait_for(pilot, lambda: any(who in n.message for n in app._notifications), timeout=120)
            assert EMBEDDED.on_lock_wait is not hook  # the app's own hook while it runs
            assert let_go(holder) == 0
            await wait_for(pilot, lambda: not app.running, timeout=120)
            await pilot.pause()
            assert app.last_error is None
            assert [list(r) for r in app.result.rows] == [[0]]  # the table the holder made, empty
            assert status_text(app).startswith("1 row in")  # the notice is gone
            assert "waiting" not in status_text(app) and app.lock_notice is None
            await run_sql(app, pilot, "SELECT 2")  # and the engine is ours as usual
            assert [list(r) for r in app.result.rows] == [[2]]
        assert previous == []  # the app's waits went to the app, not to stderr
        assert EMBEDDED.on_lock_wait is hook  # the previous hook is back


async def test_the_notice_ends_when_the_wait_ends(tmp_path, monkeypatch, slow):
    """The holder lets go while the statement still has its work ahead (it reads from a server that
    holds its answer back): the status line stops naming the holder as soon as the wait is over,
    not when the statement ends."""
    with held_elsewhere(tmp_path, monkeypatch) as (holder, s):
        app = make_app(s, f"SELECT sum(x) AS n FROM url('{slow.url}', CSV, 'x UInt64')")
        async with app.run_test(size=SIZE) as pilot:
            app.editor.focus()
            await pilot.press("f5")
            await wait_for(pilot, lambda: app.lock_notice is not None, timeout=120)
            assert let_go(holder) == 0
            await wait_for(pilot, slow.started.is_set, timeout=120)  # the statement runs in the engine
            await wait_for(pilot, lambda: app.lock_notice is None, timeout=120)
            assert app.running and not slow.release.is_set()  # still running: the wait is what ended
            assert status_text(app).startswith("running…") and "held by" not in status_text(app)
            slow.release.set()
            await wait_for(pilot, lambda: not app.running, timeout=120)
            assert [list(r) for r in app.result.rows] == [[6]]


async def test_escape_while_waiting_cuts_the_wait_and_nothing_runs(tmp_path, monkeypatch):
    """Escape while the statement waits for the holder ends the wait at once: the worker ends while
    the holder still holds the database, the status line names the holder and says nothing was run,
    and the CREATE TABLE never runs, also after the holder lets go. The next statement waits and
    runs as usual."""
    with held_elsewhere(tmp_path, monkeypatch) as (holder, s):
        app = make_app(s, "CREATE TABLE cut (a Int32) ENGINE = MergeTree ORDER BY a")
        async with app.run_test(size=SIZE) as pilot:
            app.editor.focus()
            await pilot.press("f5")
            await wait_for(pilot, lambda: app.lock_notice is not None, timeout=120)
            await pilot.press("escape")
            note = (f"cancelled while waiting for the embedded database at {tmp_path / 'db'}, "
                    f"held by pid {holder.pid} (")
            assert app.status.message.startswith(note), app.status.message
            assert app.status.message.endswith("holder-tag): nothing was run")
            assert app.lock_notice is None and not app.running and app.cancelled_running == 0
            await wait_for(pilot, lambda: all(w.is_finished for w in app.workers if w.group == "query"),
                           timeout=120)
            assert holder.poll() is None  # the wait ended, not the hold: the holder still has it
            await pilot.pause()
            assert status_text(app).startswith(note)  # the worker's end did not change the line
            assert app.last_error is None  # no error panel: the cancel was asked for
            assert let_go(holder) == 0
            await run_sql(app, pilot, "SELECT count() FROM system.tables WHERE name = 'cut'")
            assert [list(r) for r in app.result.rows] == [[0]]  # the CREATE TABLE never ran
            await run_sql(app, pilot, "SELECT count() FROM system.tables WHERE name = 't'")
            assert [list(r) for r in app.result.rows] == [[1]]  # (the holder's table: the same database)


async def test_the_app_puts_back_no_hook_when_there_was_none(tmp_path, monkeypatch):
    """With no lock-wait hook before it (a program that is not the CLI), the app installs its own
    while it runs and leaves none behind: None is a hook value it saves, not "nothing saved"."""
    monkeypatch.setattr(EMBEDDED, "on_lock_wait", None)
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    try:
        app = make_app(s)
        async with app.run_test(size=SIZE) as pilot:
            await wait_for(pilot, lambda: EMBEDDED.on_lock_wait is not None)
            assert EMBEDDED.on_lock_wait == app._lock_wait_hook
        assert EMBEDDED.on_lock_wait is None
    finally:
        s.close()
        EMBEDDED.release_now()
