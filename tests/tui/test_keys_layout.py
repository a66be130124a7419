"""Keys, focus and layout of the app (issue 14), driven by Pilot on a real embedded database. The
same keys as a terminal sends them are typed through tmux in test_tmux.py."""
from __future__ import annotations

import pytest

from tui.components.editor import name_insertion
from tui.components.results import MIN_COLLAPSED, collapsed_widths

from tests.tui.pilot_support import Q_EMBED, SIZE, make_app, run_sql, wait_for



# -- completion on the keys a terminal sends ------------------------------------------------------
@pytest.mark.parametrize("key", ["ctrl+@", "tab"])
async def test_completion_on_ctrl_at_and_tab_after_a_word(session, key):
    app = make_app(session, "")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.catalog_data is not None)
        app.editor.focus()
        await pilot.press(*"SELECT count() FROM phot")
        await pilot.press(key)
        popup = app.query_one("#completion")
        assert popup.display and app.focused is app.editor
        assert popup.get_option_at_index(0).prompt == "photos"
        await pilot.press("enter")
        assert app.editor.text == "SELECT count() FROM photos"


async def test_tab_after_a_space_moves_the_focus(session):
    app = make_app(session, "")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.catalog_data is not None)
        app.editor.focus()
        await pilot.press(*"SELECT ")
        await pilot.press("tab")
        assert app.focused is not app.editor and not app.query_one("#completion").display
        assert app.editor.text == "SELECT "


def test_name_insertion_adds_the_separator_the_cursor_needs():
    assert name_insertion("SELECT * FROM photos LIMIT 5", "", "photo_image_url") == " photo_image_url"
    assert name_insertion("SELECT ", "", "id") == "id"
    assert name_insertion("SELECT a,", "", "id") == " id"
    assert name_insertion("count(", ")", "id") == "id"
    assert name_insertion("photos.", "", "id") == "id"
    assert name_insertion("SELECT ", "FROM t", "id") == "id "
    assert name_insertion("", "", "photos") == "photos"


# -- select all, home ---------------------------------------------------------------------------
async def test_ctrl_a_selects_all_and_home_goes_to_line_start(session):
    app = make_app(session, "SELECT 1;\nSELECT 2;")
    async with app.run_test(size=SIZE) as pilot:
        ed = app.editor
        ed.focus()
        ed.cursor_location = (1, 5)
        await pilot.press("home")
        assert ed.cursor_location == (1, 0) and ed.selected_text == ""
        await pilot.press("ctrl+a")
        assert ed.selected_text == "SELECT 1;\nSELECT 2;"
        await pilot.press("backspace")
        assert ed.text == ""


# -- views focus their widget -----------------------------------------------------------------------
async def test_view_keys_focus_the_view_and_its_keys_work_at_once(session):
    app = make_app(session, Q_EMBED)
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        await pilot.press("f7")
        assert app.focused is app.query_one("#gallery")
        await pilot.press("f8")
        assert app.focused is app.query_one("#details")
        await pilot.press("f6")
        assert app.focused is app.table
        await pilot.press("down")
        ref = app.result.rows[1][2]
        await pilot.press("m")  # no Tab needed: the grid has the focus
        await wait_for(pilot, lambda: not app.running and f"EMBED('{ref}')" in app.last_sql)
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.focused is app.query_one("#catalog"))


async def test_focus_is_visible_and_shift_tab_skips_the_tab_bar(session):
    app = make_app(session, "SELECT 1")
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        table = app.table
        unfocused = table.styles.border_left
        table.focus()
        await pilot.pause()
        assert table.styles.border_left != unfocused  # the :focus style (app.tcss) differs
        app.editor.focus()
        for _ in range(4):  # whatever shift+tab reaches, it is never the tab bar
            await pilot.press("shift+tab")
            assert type(app.focused).__name__ not in ("Tabs", "ContentTabs")


# -- catalog ----------------------------------------------------------------------------------------
async def test_catalog_enter_inserts_with_a_separator_and_shows_vector_facts_on_lines(session):
    app = make_app(session, "SELECT * FROM photos LIMIT 5")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.catalog_data is not None)
        app.editor.move_cursor(app.editor.document.end)
        await pilot.press("f2")
        tree = app.query_one("#catalog")
        await wait_for(pilot, lambda: app.focused is tree and any(
            n.data == ("column", "photo_image_url") for n in _nodes(tree.root)))
        node = next(n for n in _nodes(tree.root) if n.data == ("column", "photo_embed"))
        facts = [str(c.label) for c in node.children]
        assert facts[0] == "dim 512" and facts[-1] == "no index"
        assert node.is_expanded
        # the sidebar widens while the catalog has the focus
        sidebar = app.query_one("#sidebar")
        await wait_for(pilot, lambda: sidebar.outer_size.width > 30)
        url = next(n for n in _nodes(tree.root) if n.data == ("column", "photo_image_url"))
        tree.move_cursor(url)
        await pilot.press("enter")
        assert app.editor.text == "SELECT * FROM photos LIMIT 5 photo_image_url"
        app.editor.focus()
        await wait_for(pilot, lambda: sidebar.outer_size.width == 30)


def _nodes(node):
    for child in node.children:
        yield child
        yield from _nodes(child)


# -- more like this builds on the editor ----------------------------------------------------------
async def test_more_like_this_builds_on_the_editor_statement(session):
    app = make_app(session, "SELECT 0 AS other;\n\n" + Q_EMBED + ";\n")
    async with app.run_test(size=SIZE) as pilot:
        app.editor.cursor_location = (2, 3)
        await run_sql(app, pilot, key="f5")
        # edited after the run: LIMIT 3, not run yet
        edited = Q_EMBED.replace("LIMIT 5", "LIMIT 3")
        app.editor.load_text("SELECT 0 AS other;\n\n" + edited + ";\n")
        app.editor.cursor_location = (2, 3)
        ref = app.result.rows[0][2]
        await pilot.press("f6", "m")
        await wait_for(pilot, lambda: not app.running and f"EMBED('{ref}')" in app.last_sql)
        assert app.last_sql == edited.replace("EMBED('a cat')", f"EMBED('{ref}')")
        assert app.editor.text == "SELECT 0 AS other;\n\n" + app.last_sql + ";\n"
        assert len(app.result.rows) == 3


# -- layout at 80x24 -----------------------------------------------------------------------------------
def test_collapsed_widths_fit_the_width_and_keep_headers():
    assert collapsed_widths([5, 10], [2, 2], 40) == [None, None]
    natural, labels = [4, 60, 15, 80], [2, 15, 11, 3]
    out = collapsed_widths(natural, labels, 70)
    widths = [n if w is None else w for n, w in zip(natural, out)]
    assert sum(widths) + 2 * 4 <= 70 and sum(widths) + 2 * 4 >= 68  # fits, and uses the room
    assert out[0] is None and out[2] is None and out[1] == out[3] >= MIN_COLLAPSED
    # too narrow for even the floors: each long column keeps MIN_COLLAPSED (the grid scrolls)
    assert collapsed_widths(natural, labels, 30) == [None, MIN_COLLAPSED, None, MIN_COLLAPSED]
    # a header longer than the room (an unaliased distance call): its column collapses below it,
    # and its values stay on screen (it kept the header's 55 cells, its numbers past the edge)
    natural, labels = [10, 90, 55], [5, 15, 55]
    out = collapsed_widths(natural, labels, 80)
    widths = [n if w is None else w for n, w in zip(natural, out)]
    assert sum(widths) + 2 * 3 <= 80 and out[0] is None and MIN_COLLAPSED <= out[2] < 55


async def test_an_unaliased_distance_column_shows_its_values(session):
    # its 50-character header held the column that wide, its numbers past the grid's edge
    sql = ("SELECT photo_id, photo_image_url, photo_embed, cosineDistance(photo_embed, EMBED('a red bicycle')) "
           "FROM photos ORDER BY 4 LIMIT 5")
    app = make_app(session, sql)
    async with app.run_test(size=(160, 50)) as pilot:  # (the review's terminal)
        await run_sql(app, pilot)
        table = app.table
        await pilot.pause()
        total = sum(c.get_render_width(table) for c in table.columns.values())
        assert total <= table.scrollable_content_region.width, (total, table.scrollable_content_region.width)
        header = "".join(seg.text for seg in table.render_line(0))  # the header row, as drawn
        assert "cosineDistance(photo_em" in header and "…" in header, header


async def test_grid_at_80x24_shows_every_column_and_enter_shows_the_row(session):
    app = make_app(session, Q_EMBED)
    async with app.run_test(size=(80, 24)) as pilot:
        await run_sql(app, pilot)
        table = app.table
        await wait_for(pilot, lambda: table.size.width > 40)  # sidebar and preview give way
        await pilot.pause()
        assert not app.query_one("#preview").display or app.query_one("#preview").size.width == 0
        total = sum(c.get_render_width(table) for c in table.columns.values())
        assert total <= table.scrollable_content_region.width  # every column on screen
        assert str(table.get_row_at(0)[2]).startswith("http")  # the cell keeps its full value
        table.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.id == "row-screen")
        body = app.screen.query_one("#row-body")
        assert app.result.rows[0][2] in _shown(app.screen, body.size.width)  # the URL in full
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.id != "row-screen")
        # F2 shows the sidebar on a narrow screen while the catalog has the focus
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.query_one("#sidebar").size.width > 0)
        app.editor.focus()
        await wait_for(pilot, lambda: app.query_one("#sidebar").size.width == 0)


def _shown(screen, width: int) -> str:
    """The row screen's table as the terminal shows it at `width` (wrapped lines joined)."""
    import io

    from rich.console import Console

    from tui.components.row_screen import row_text

    console = Console(width=width, file=io.StringIO(), record=True)
    console.print(row_text(screen.columns, screen.types, screen.row))
    return "".join(line.strip() for line in console.export_text().splitlines())


# -- lints on the status line, not a toast --------------------------------------------------------------
async def test_lint_shows_on_a_status_line_and_in_details_not_as_a_toast(session):
    sql = "SELECT id FROM photos WHERE cosineDistance(photo_embed, EMBED('a cat')) < 2 ORDER BY id"
    app = make_app(session, sql)
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        assert app.last_error is None
        lint = app.status.lint
        assert "is used in WHERE" in lint
        assert app.query_one("#lint-line").display
        assert f"warning: {lint}" in app.query_one("#details").text
        assert not [n for n in app._notifications if n.title == "lint"]
        await run_sql(app, pilot, "SELECT 1")
        assert app.status.lint == "" and not app.query_one("#lint-line").display


# -- the demo opens with its result --------------------------------------------------------------------
async def test_an_initial_result_is_in_the_grid_without_running_again(session):
    sql = "SELECT photo_id FROM photos ORDER BY id"
    app = make_app(session, sql, initial_result=session.query(sql))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.result is not None and app.table.row_count == 5)
        assert app.queries_started == 0
        assert "5 rows" in app.status.message and "already run" in app.status.message
        assert app.last_sql == sql


def test_catalog_refresh_sends_the_same_queries_for_one_or_three_vector_tables(empty_session, monkeypatch):
    """load_catalog reads every table's facts in one go (LiveCatalog.load_all): adding vector
    tables adds no query; each table's dim, model and index still show."""
    import contextlib

    from tui.components.catalog import load_catalog

    s = empty_session
    sent: list[str] = []
    real = s.backend.client

    class Logged:  # the real driver client, each statement it sends logged
        def __init__(self, c):
            self._c = c

        def __getattr__(self, name):
            attr = getattr(self._c, name)
            if name not in ("query", "command", "query_arrow", "raw_query"):
                return attr
            return lambda sql, *a, **kw: sent.append(sql) or attr(sql, *a, **kw)

    @contextlib.contextmanager
    def client(*a, **kw):
        with real(*a, **kw) as c:
            yield Logged(c)

    def table(name: str, dim: int) -> None:
        s.command(f"CREATE TABLE {name} (id UInt64, v Array(Float32) COMMENT 'embedsql:model=m/{name};dim={dim}', "
                  f"INDEX {name}_idx v TYPE vector_similarity('hnsw', 'cosineDistance', {dim}), "
                  f"CONSTRAINT {name}_len CHECK length(v) = {dim}) ENGINE = MergeTree ORDER BY id")

    counts = []
    for names in (["t1"], ["t2", "t3"]):
        for n in names:
            table(n, 4 + len(n))
        monkeypatch.setattr(s.backend, "client", client)
        sent.clear()
        data = load_catalog(s)
        monkeypatch.setattr(s.backend, "client", real)
        counts.append(len(sent))
    assert counts == [6, 6], sent  # 4 for the catalog, vector index statuses, functions (before: 3 more per table)
    col = data.databases["default"]["t3"][1]
    assert (col.dim, col.model, col.index) == (6, "m/t3", "HNSW Cosine (t3_idx, Built)")


# -- sidebar width and visibility from the keyboard -------------------------------------------------
def shown(sidebar) -> int:
    """The sidebar's width on screen, in columns (0 while it is not displayed)."""
    return sidebar.outer_size.width if sidebar.display else 0


def presses_across(low: int, high: int) -> int:
    """Key presses that cross the whole range low..high in SIDEBAR_STEP steps from anywhere in it,
    plus three more that must not move past the bound."""
    from tui.app import SIDEBAR_STEP

    return -(-(high - low) // SIDEBAR_STEP) + 3


@pytest.mark.parametrize("size", [(80, 24), (150, 45)])  # bound by the editor's 40 columns; by 60 % (200 wide: below)
async def test_sidebar_narrower_wider_and_hidden_from_the_keyboard_within_bounds(session, size):
    from tui.app import SIDEBAR_STEP, sidebar_bounds

    low, high = sidebar_bounds(size[0])
    app = make_app(session, "SELECT 1")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.catalog_data is not None)
        sidebar = app.query_one("#sidebar")
        app.editor.focus()
        await pilot.pause()
        narrow = size[0] < 110
        assert (shown(sidebar) == 0) == narrow  # under 110 columns it shows on F2 only
        await pilot.press("alt+right")  # shows it (narrow screens) and widens it, from the editor
        await pilot.pause()
        assert app.focused is app.editor
        assert shown(sidebar) == 30 + SIDEBAR_STEP
        widths = []
        for _ in range(presses_across(shown(sidebar), high)):
            await pilot.press("alt+right")
            await pilot.pause()
            widths.append(shown(sidebar))
        assert widths[-1] == high and max(widths) == high  # stops at the widest, never beyond
        assert app.editor.outer_size.width >= 40  # the editor keeps its room
        for _ in range(presses_across(low, high)):
            await pilot.press("alt+left")
            await pilot.pause()
            widths.append(shown(sidebar))
        assert widths[-1] == low and min(widths) == low
        await pilot.press("alt+right", "alt+right")
        await pilot.pause()
        chosen = low + 2 * SIDEBAR_STEP
        assert shown(sidebar) == chosen
        # kept when the catalog takes the focus and gives it back (no F2 widening over the choice)
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.focused is app.query_one("#catalog"))
        await pilot.pause()
        assert shown(sidebar) == chosen
        # ctrl+t hides it (the focus goes back to the editor) and shows it again at the same width
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert shown(sidebar) == 0 and app.focused is app.editor
        assert app.editor.outer_size.width == size[0]
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert shown(sidebar) == chosen and app.focused is app.editor
        await pilot.press("ctrl+t", "f2")  # F2 shows a hidden sidebar
        await wait_for(pilot, lambda: app.focused is app.query_one("#catalog"))
        await pilot.pause()
        assert shown(sidebar) == chosen


async def test_sidebar_width_stays_within_bounds_when_the_terminal_shrinks(session):
    from tui.app import sidebar_bounds

    app = make_app(session, "SELECT 1")
    async with app.run_test(size=(200, 45)) as pilot:
        await wait_for(pilot, lambda: app.catalog_data is not None)
        sidebar = app.query_one("#sidebar")
        for _ in range(40):
            await pilot.press("alt+right")
        await pilot.pause()
        assert shown(sidebar) == sidebar_bounds(200)[1] == 120
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await pilot.pause()
        assert shown(sidebar) == sidebar_bounds(120)[1] == 72
        assert app.editor.outer_size.width >= 40


@pytest.mark.parametrize("size", [(80, 24), (150, 45)])
async def test_bracket_keys_resize_the_focused_sidebar_within_bounds_and_type_in_the_editor(session, size):
    """`[` / `]` (and `-` / `+`, `=`) while the catalog has the focus: narrower / wider, within
    sidebar_bounds, the focus staying in the catalog; the footer shows them there. In the editor
    the same keys are text."""
    from tui.app import SIDEBAR_STEP, sidebar_bounds

    low, high = sidebar_bounds(size[0])
    app = make_app(session, "")
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.catalog_data is not None)
        sidebar = app.query_one("#sidebar")
        catalog = app.query_one("#catalog")
        app.editor.focus()
        await pilot.press("left_square_bracket", "right_square_bracket", "minus", "plus", "equals_sign")
        await pilot.pause()
        assert app.editor.text == "[]-+=" and app.sidebar_width is None  # text, not a resize
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.focused is catalog)
        await pilot.pause()
        start = shown(sidebar)  # the focused catalog's width (45 % or 60 %)
        footer = app.query_one("Footer")
        keys = [str(k.render()).strip() for k in footer.query("FooterKey")]
        labels = [str(lb.render()) for lb in footer.query("FooterLabel")]
        assert keys[:2] == ["[", "]"] and labels == ["Width"], (keys, labels)  # first: the catalog's own
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert shown(sidebar) == min(high, start + SIDEBAR_STEP) and app.focused is catalog
        widths = []
        for key in (["right_square_bracket", "plus", "equals_sign"] * high)[: presses_across(low, high)]:
            await pilot.press(key)
            await pilot.pause()
            widths.append(shown(sidebar))
        assert widths[-1] == high and max(widths) == high  # stops at the widest, never beyond
        assert app.status.message == f"sidebar {high} columns (widest)"
        for key in (["left_square_bracket", "minus"] * high)[: presses_across(low, high)]:
            await pilot.press(key)
            await pilot.pause()
            widths.append(shown(sidebar))
        assert widths[-1] == low and min(widths) == low
        assert app.status.message == f"sidebar {low} columns (narrowest)"
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert shown(sidebar) == low + SIDEBAR_STEP and app.focused is catalog
        assert app.editor.text == "[]-+="  # none of the keys reached the editor
