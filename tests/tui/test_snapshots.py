"""SVG snapshots of the main screens (deterministic content: fixed label, no model warm-up,
no syntax highlighting, no EMBED distances). Update with `pytest tests/tui --snapshot-update`."""
from __future__ import annotations

from conftest import wait_for
from tui.app import EmbedSQLApp

SIZE = (130, 36)


async def settle(pilot):
    """Let lazy mounts and the tab underline animation finish before the picture is taken; stop
    the editor's cursor blink (its phase would differ between runs)."""
    pilot.app.editor.cursor_blink = False
    await pilot.pause(0.3)
    await pilot.wait_for_animation()
    await pilot.pause()


def app_for(session, sql):
    return EmbedSQLApp(session=session, initial_sql=sql, syntax=False, warm_model=False, label="embedded ClickHouse")


def test_main_screen_with_results(session, snap_compare):
    app = app_for(session, "SELECT id, photo_id, length(photo_embed) AS dim, photo_embed\nFROM photos ORDER BY id")

    async def run_before(pilot):
        await wait_for(pilot, lambda: app.catalog_data is not None)
        before = app.queries_started
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.queries_started > before and not app.running)
        app.status.message = "5 rows"  # the timing varies
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(session, snap_compare):
    app = app_for(session, "SELECT 1")

    async def run_before(pilot):
        await wait_for(pilot, lambda: app.catalog_data is not None)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_error_panel(session, snap_compare):
    app = app_for(session, "SELECT * FROM no_such_table")

    async def run_before(pilot):
        await wait_for(pilot, lambda: app.catalog_data is not None)
        before = app.queries_started
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.queries_started > before and not app.running)
        app.status.message = "error"
        app.clear_notifications()
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
