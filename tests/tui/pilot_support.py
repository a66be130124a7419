"""Helpers for the app tests (Textual's Pilot): wait for a condition, run SQL from the editor."""
from __future__ import annotations

import asyncio


async def wait_for(pilot, cond, timeout: float = 60.0, step: float = 0.05):
    """Let the app run until cond() is true (workers finish on their own time). The timeout only
    bounds a hang: on a loaded 2-core machine a worker that takes 0.5 s alone can take 20 s."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if cond():
            return True
        await pilot.pause(step)
    raise AssertionError(f"condition not met in {timeout} s; the app: {describe(pilot.app)}\n{thread_stacks()}")


def thread_stacks() -> str:
    """Where every other thread is (for a timeout's message: a worker stuck shows here)."""
    import sys
    import threading
    import traceback

    names = {t.ident: t.name for t in threading.enumerate()}
    out = []
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue
        stack = traceback.extract_stack(frame)[-6:]
        out.append(f"thread {names.get(ident, ident)}:\n" + "".join(traceback.format_list(stack)))
    return "\n".join(out)


def describe(app) -> str:
    """What the app shows: status line, error, preview, notifications (for failure messages)."""
    bits = []
    for name, get in (("status", lambda: app.status.message), ("error", lambda: app.last_error),
                      ("preview", lambda: (app.query_one("#preview").state, app.query_one("#preview").ref)),
                      ("toasts", lambda: [n.message for n in app._notifications])):
        try:
            bits.append(f"{name}={get()!r}")
        except Exception:
            pass
    return ", ".join(bits)


async def run_sql(app, pilot, sql: str | None = None, key: str = "f5"):
    """Put sql in the editor (when given), press key (F5: the statement at the cursor) and wait
    until that query has finished."""
    if sql is not None:
        app.editor.load_text(sql)
        app.editor.move_cursor(app.editor.document.end)
    app.editor.focus()
    before = app.queries_started
    await pilot.press(key)
    await wait_for(pilot, lambda: app.queries_started > before and not app.running)
    await pilot.pause()


SIZE = (150, 45)  # the terminal size of the Pilot tests (columns, lines)
Q_EMBED = ("SELECT id, photo_id, photo_image_url, photo_embed, "
           "cosineDistance(photo_embed, EMBED('a cat')) AS distance FROM photos ORDER BY distance LIMIT 5")


def make_app(session, sql="SELECT 1", **kw):
    """The app on `session` with `sql` in the editor; no model warm-up and no syntax highlighting
    unless asked (they cost seconds and are tested on their own)."""
    from tui.app import EmbedSQLApp

    kw.setdefault("warm_model", False)
    kw.setdefault("syntax", False)
    return EmbedSQLApp(session=session, initial_sql=sql, **kw)
