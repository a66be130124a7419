"""SVG snapshots of the main screens. Everything in the picture is fixed: terminal size, theme,
no animations, no Textual environment switches (NO_COLOR, TEXTUAL_FILTERS), fixed connection label,
no model warm-up, no syntax highlighting, no timings, no blinking cursor (headless: see
SqlEditor.on_mount). Update with `pytest tests/tui/test_snapshots.py --snapshot-update`; a mismatch
report goes to the temp dir (tests/conftest.py), not the repo."""
from __future__ import annotations

import pytest
from textual.lazy import Lazy

from tui.app import EmbedSQLApp
from tui.components.results import ResultsTable

from tests.tui.pilot_support import wait_for

SIZE = (130, 36)
THEME = "textual-dark"


@pytest.fixture(autouse=True)
def _fixed_look(monkeypatch):
    import textual.constants

    monkeypatch.delenv("NO_COLOR", raising=False)  # read by App.__init__
    monkeypatch.setattr(textual.constants, "FILTERS", "")  # TEXTUAL_FILTERS, read by App.__init__


async def settle(pilot):
    """Wait until the lazy widgets are mounted and nothing is animating, then one more frame."""
    app = pilot.app
    assert not app.editor.cursor_blink and app.theme == THEME
    await wait_for(pilot, lambda: not app.query(Lazy))
    await pilot.wait_for_animation()
    await pilot.pause()
    # DataTable measures new rows' cell widths when it next goes idle: until then an auto-width
    # column is as wide as its header (under load the screenshot could come first)
    await wait_for(pilot, lambda: all(not t._new_rows and not t._require_update_dimensions
                                      for t in app.query(ResultsTable)))
    await pilot.pause()


def app_for(session, sql):
    app = EmbedSQLApp(session=session, initial_sql=sql, syntax=False, warm_model=False, label="embedded ClickHouse")
    app.theme = THEME  # not TEXTUAL_THEME's
    app.animation_level = "none"  # not TEXTUAL_ANIMATIONS's
    return app


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


def test_main_screen_at_80x24(session, snap_compare):
    """A small terminal: the grid gets the width (no sidebar, no preview) and the long column
    collapses so that every column shows; the editor is shorter. (No image URLs: the loopback
    server's port would change the picture.)"""
    app = app_for(session, "SELECT id, photo_id, concat(photo_id, ': ', repeat('a long description ', 4))"
                           " AS description,\n photo_embed, length(photo_embed) AS dim FROM photos ORDER BY id")

    async def run_before(pilot):
        await wait_for(pilot, lambda: app.catalog_data is not None)
        before = app.queries_started
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.queries_started > before and not app.running)
        app.status.message = "5 rows"  # the timing varies
        await pilot.press("f6")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
