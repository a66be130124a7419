"""Pilot-driven tests of the app's flows on a real embedded database, tiny CLIP and loopback images."""
from __future__ import annotations

import json
import os

import pytest

from tui.app import EmbedSQLApp, more_like_this_sql

from tests.support import REPO
from tests.tui.pilot_support import Q_EMBED, SIZE, make_app, run_sql, wait_for



def cell(app, row, col) -> str:
    return str(app.table.get_row_at(row)[col])


async def test_query_with_embed_shows_rows_vectors_and_details(session):
    app = make_app(session, Q_EMBED)
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        assert app.last_error is None
        assert app.table.row_count == 5
        assert cell(app, 0, 3) == "[512 x Float32]"
        dist = cell(app, 0, 4)
        assert len(dist.split(".")[1]) == 4  # readable fixed decimals
        assert "5 rows" in app.status.message
        body = app.query_one("#details").text
        assert "EMBED call" in body and "[512 x Float32]" in body and "cosineDistance" in body
        # the vector plan and why (photos has no vector index here: ClickHouse scans every row)
        assert "vector plan: none (no vector index on the column" in body


async def test_statement_under_cursor_and_run_all(session):
    text = "SELECT 'first' AS which;\n\nSELECT photo_id FROM photos ORDER BY id;\n"
    app = make_app(session, text)
    async with app.run_test(size=SIZE) as pilot:
        app.editor.focus()
        app.editor.cursor_location = (0, 3)
        await run_sql(app, pilot)
        assert app.result.columns == ["which"]
        app.editor.cursor_location = (2, 5)
        await run_sql(app, pilot, key="ctrl+r")
        assert app.result.columns == ["photo_id"] and app.table.row_count == 5
        await run_sql(app, pilot, key="f9")
        assert app.result.columns == ["photo_id"]
        assert "2 statements" in app.status.message
    # the buffer is kept between runs
    assert (app.buffer_path.read_text() == text)
    app2 = EmbedSQLApp(session=session, warm_model=False, syntax=False)
    async with app2.run_test(size=SIZE):
        assert app2.editor.text == text


@pytest.mark.parametrize("sql, expect", [
    ("SELECT FROM WHERE", "Syntax error"),
    ("SELECT * FROM no_such_table", "no_such_table"),
    ("SELECT cosineDistance(photo_embed, EMBED('{url}')) FROM photos", "cannot embed"),
])
async def test_errors_are_shown_and_app_keeps_running(session, image_server, sql, expect):
    sql = sql.format(url=image_server.url("/notimage.jpg"))
    app = make_app(session, sql)
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        assert app.last_error and expect.lower() in app.last_error.lower()
        assert app.query_one("#error").display
        await run_sql(app, pilot, "SELECT 42 AS answer")
        assert app.last_error is None and not app.query_one("#error").display
        assert cell(app, 0, 0) == "42"


async def test_preview_gallery_and_thumbnail_cache(session, tmp_path):
    app = make_app(session, "SELECT id, photo_id, photo_image_url FROM photos ORDER BY id")
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        assert app.image_col == 2
        preview = app.query_one("#preview")
        await wait_for(pilot, lambda: preview.state == "image")
        assert preview.ref.endswith("/photos/astronaut.jpg")
        app.table.focus()
        await pilot.press("down")
        await wait_for(pilot, lambda: preview.state == "image" and preview.ref.endswith("chelsea.jpg"))
        await pilot.press("f7")
        gallery = app.query_one("#gallery")
        await wait_for(pilot, lambda: len(gallery.tiles) == 5 and all(t.state == "image" for t in gallery.tiles))
        fetched = app.thumbs.fetches
        assert fetched == 5
        thumbs_dir = tmp_path / "cache" / "thumbs"
        assert len(list(thumbs_dir.glob("*.png"))) == 5
        await run_sql(app, pilot)  # same images again: memory cache, no new fetch
        await wait_for(pilot, lambda: all(t.state == "image" for t in app.query_one("#gallery").tiles))
        assert app.thumbs.fetches == fetched
    # a new app (new memory cache) reads the disk thumbnails
    from tui.thumbs import ThumbCache

    tc = ThumbCache()
    img = tc.get(session.query("SELECT photo_image_url FROM photos WHERE id = 1").rows[0][0])
    assert tc.fetches == 0 and max(img.size) <= 320


async def test_preview_of_a_bad_image_says_why(session, image_server):
    sql = (f"SELECT 1 AS id, '{image_server.url('/notimage.jpg')}' AS image_url UNION ALL "
           f"SELECT 2, '{image_server.url('/bomb.png')}'")
    app = make_app(session, f"SELECT * FROM ({sql}) ORDER BY id")
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        preview = app.query_one("#preview")
        await wait_for(pilot, lambda: preview.state == "error")
        app.table.focus()
        await pilot.press("down")
        await wait_for(pilot, lambda: preview.state == "error" and preview.ref.endswith("bomb.png"))
        caption = str(preview.query_one("#preview-caption").render())
        assert "no image" in caption


async def test_more_like_this_searches_by_the_row_image(session):
    app = make_app(session, Q_EMBED)
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        app.table.focus()
        app.table.move_cursor(row=2)
        await pilot.pause()
        ref = app.result.rows[2][2]
        await pilot.press("m")
        await wait_for(pilot, lambda: not app.running and f"EMBED('{ref}')" in app.last_sql)
        assert f"EMBED('{ref}')" in app.editor.text
        assert app.last_error is None
        # the image is its own nearest neighbour
        assert app.result.rows[0][2] == ref and app.result.rows[0][4] < 1e-4


async def test_more_like_this_without_an_image_it_can_open_leaves_the_query_alone(session):
    # photo_id holds bare file names (as folder ingestion writes them): "m" put EMBED('astronaut.jpg')
    # in the editor in place of the user's EMBED, and the run failed with "write text('...')"
    sql = ("SELECT concat(photo_id, '.jpg') AS photo_id, cosineDistance(photo_embed, EMBED('a red bicycle')) AS d "
           "FROM photos ORDER BY d LIMIT 5")
    app = make_app(session, sql)
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        assert app.image_col == 0
        preview = app.query_one("#preview")
        await wait_for(pilot, lambda: preview.state == "error")
        caption = str(preview.query_one("#preview-caption").render())
        assert "file not found" in caption and "text(" not in caption
        ran = app.last_sql
        app.table.focus()
        await pilot.press("m")
        await wait_for(pilot, lambda: any("needs an image it can open" in n.message for n in app._notifications))
        note = next(n.message for n in app._notifications if "needs an image" in n.message)
        assert "photo_image_url" in note and repr(app.result.rows[0][0]) in note
        assert app.editor.text == sql and app.last_sql == ran and app.last_error is None


async def test_more_like_this_with_text_and_fresh_query(session):
    app = make_app(session, "SELECT id, photo_id, photo_image_url FROM photos ORDER BY id")
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        app.table.focus()
        ref = app.result.rows[0][2]
        await pilot.press("M")
        await wait_for(pilot, lambda: app.screen.id == "mlt-prompt")
        await pilot.press(*"red", "enter")
        await wait_for(pilot, lambda: not app.running and "EMBED(" in app.last_sql)
        assert f"cosineDistance(photo_embed, EMBED('{ref}', 'red')) AS distance" in app.last_sql
        assert "FROM photos" in app.last_sql and app.last_error is None
        assert app.result.columns == ["id", "photo_id", "photo_image_url", "distance"]


def test_more_like_this_sql_replaces_every_embed():
    sql = "SELECT id FROM t ORDER BY cosineDistance(v, EMBED('a dog', 'it''s')) LIMIT 3"
    out = more_like_this_sql(sql, "http://x/it's.jpg", "at night")
    assert out == r"SELECT id FROM t ORDER BY cosineDistance(v, EMBED('http://x/it\'s.jpg', 'at night')) LIMIT 3"
    with pytest.raises(ValueError):
        more_like_this_sql("SELECT 1", "http://x/a.jpg")


async def test_completion_of_tables_columns_and_embed(session):
    app = make_app(session, "")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.catalog_data is not None)
        app.editor.focus()
        await pilot.press(*"SELECT count() FROM phot")
        await pilot.press("ctrl+space")
        popup = app.query_one("#completion")
        assert popup.display
        names = [popup.get_option_at_index(i).prompt for i in range(popup.option_count)]
        assert {"photos", "photo_id", "photo_embed"} <= set(names)
        assert names[0] == "photos"
        await pilot.press("enter")
        assert app.editor.text == "SELECT count() FROM photos" and not popup.display
        await pilot.press(*" WHERE length(photo_em")
        await pilot.press("ctrl+space")  # one candidate: inserted directly
        assert app.editor.text.endswith("length(photo_embed")
        await pilot.press(*") = 512 AND cosineDistance(photo_embed, EMBE")
        await pilot.press("ctrl+space")
        assert popup.display
        names = [popup.get_option_at_index(i).prompt for i in range(popup.option_count)]
        assert names[0] == "EMBED"
        await pilot.press("down", "enter")
        assert app.editor.text.endswith("EMBED('')")
        await pilot.press(*"a cat")
        await pilot.press("end", *") < 2")
        await run_sql(app, pilot)
        assert app.last_error is None and app.result.rows == [(5,)]


async def test_cancel_a_running_query(session, image_server, tmp_path):
    # The statement reads a loopback URL that answers only when the test opens the gate: it is
    # still running when escape is pressed, however slow the machine (a fixed sleep could end first).
    route = f"/gate/{tmp_path.name}"
    gate = image_server.gate(route, b"a\nb\n")
    app = make_app(session, f"SELECT count() AS n FROM url('{image_server.url(route)}', 'LineAsString')")
    try:
        async with app.run_test(size=SIZE) as pilot:
            app.editor.focus()
            await pilot.press("f5")
            await wait_for(pilot, lambda: image_server.hits.get(route))  # the engine is reading the URL
            assert app.running and app.status.busy
            await pilot.press("escape")
            assert not app.running and not app.status.busy
            assert "cancelled" in app.status.message and "embedded" in app.status.message
            assert "finishes in the background" in app.status.message
            # the next statement says that it waits for the cancelled one (still at the gate)
            app.editor.load_text("SELECT 7 AS seven")
            before = app.queries_started
            await pilot.press("f5")
            await wait_for(pilot, lambda: app.queries_started > before)
            assert app.running and "waiting for the cancelled statement" in app.status.message
            gate.set()  # the statement finishes in the background; its result is discarded
            await wait_for(pilot, lambda: not app.running and not app.cancelled_running)
            assert app.result.columns == ["seven"]  # the cancelled result never shows
    finally:
        gate.set()


@pytest.mark.parametrize("ext", ["csv", "json", "parquet"])
async def test_export(session, tmp_path, ext):
    app = make_app(session, "SELECT id, photo_id, photo_embed FROM photos ORDER BY id")
    out = tmp_path / f"out.{ext}"
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        app.table.focus()
        await pilot.press("e")
        await wait_for(pilot, lambda: app.screen.id == "export-prompt")
        inp = app.screen.query_one("#prompt-input")
        assert inp.value.startswith(str(tmp_path / "data" / "exports"))
        inp.value = str(out)
        await pilot.press("enter")
        await wait_for(pilot, lambda: out.exists() and "exported" in app.status.message)
    if ext == "csv":
        lines = out.read_text().splitlines()
        assert lines[0] == '"id","photo_id","photo_embed"' and len(lines) == 6  # ClickHouse's CSVWithNames
        assert lines[1].startswith('1,"astronaut","[') and lines[1].count(",") > 500  # vectors in full
    elif ext == "json":
        data = json.loads(out.read_text())
        assert data[0]["photo_id"] == "astronaut" and len(data[0]["photo_embed"]) == 512
    else:
        import pyarrow.parquet as pq

        t = pq.read_table(out)
        assert t.column_names == ["id", "photo_id", "photo_embed"] and t.num_rows == 5
        assert len(t.column("photo_embed")[0].as_py()) == 512


async def test_export_asks_before_replacing_a_file_and_names_what_it_wrote(session, tmp_path, monkeypatch):
    """An existing file is replaced only when confirmed; a name without extension is written as
    .csv under that name; the status line names the absolute path."""
    monkeypatch.chdir(tmp_path)
    app = make_app(session, "SELECT id FROM photos ORDER BY id")
    kept = tmp_path / "kept.csv"
    kept.write_text("precious")

    async def export(name: str) -> None:
        app.table.focus()
        await pilot.press("e")
        await wait_for(pilot, lambda: app.screen.id == "export-prompt")
        app.screen.query_one("#prompt-input").value = name
        await pilot.press("enter")

    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        await export("kept.csv")
        await wait_for(pilot, lambda: app.screen.id == "confirm-overwrite")
        await pilot.press("n")
        await wait_for(pilot, lambda: "export cancelled" in app.status.message)
        assert kept.read_text() == "precious"
        await export("kept.csv")
        await wait_for(pilot, lambda: app.screen.id == "confirm-overwrite")
        await pilot.press("y")
        await wait_for(pilot, lambda: "exported" in app.status.message)
        assert kept.read_text().splitlines()[0] == '"id"'
        assert app.status.message == f"exported 5 rows to {kept}"
        await export("plain")  # relative, no extension
        await wait_for(pilot, lambda: str(tmp_path / "plain.csv") in app.status.message)
        assert (tmp_path / "plain.csv").read_text().splitlines()[0] == '"id"'


async def test_history_is_recorded_and_searchable(session):
    app = make_app(session, "SELECT 'apple' AS fruit")
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        await run_sql(app, pilot, "SELECT 'banana' AS fruit")
        await run_sql(app, pilot, "SELEC oops")
        lines = [json.loads(x) for x in app.history.path.read_text().splitlines()]
        assert [x["ok"] for x in lines] == [True, True, False]
        assert lines[0]["sql"] == "SELECT 'apple' AS fruit" and lines[0]["rows"] == 1
        assert set(lines[0]) == {"sql", "ts", "duration", "rows", "ok"}
        await pilot.press("f3")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HistoryScreen")
        assert len(app.screen.entries) == 3
        await pilot.press(*"apple")
        assert [e.sql for e in app.screen.entries] == ["SELECT 'apple' AS fruit"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ != "HistoryScreen")
        assert app.editor.text.rstrip().endswith("SELECT 'apple' AS fruit;")
        await run_sql(app, pilot)
        assert app.result.rows == [("apple",)]


def test_history_scrubs_credentials(tmp_path):
    from tui.history import History

    h = History(tmp_path / "h.jsonl", secrets=("s3cr3t-pw",))
    h.add("SELECT * FROM url('https://bob:hunter2@example.com/x.csv') -- s3cr3t-pw", duration=0.1, rows=1, ok=True)
    h.add("CREATE USER u IDENTIFIED WITH sha256_password BY 'topsecret'", duration=0.1, rows=None, ok=True)
    text = (tmp_path / "h.jsonl").read_text()
    for secret in ("hunter2", "s3cr3t-pw", "topsecret"):
        assert secret not in text
    assert "bob:***@example.com" in text
    assert [e.ok for e in h.search("")] == [True, True] and len(h.search("user")) == 1


async def test_catalog_sidebar_shows_vector_columns(session):
    session.command("ALTER TABLE photos ADD INDEX vidx photo_embed TYPE vector_similarity('hnsw', 'cosineDistance', 512)")
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.catalog_data is not None)
        tree = app.query_one("#catalog")
        labels = []

        def walk(node):
            for ch in node.children:
                labels.append(str(ch.label))
                walk(ch)
        walk(tree.root)
        assert "default" in labels and "photos" in labels
        at = next(i for i, x in enumerate(labels) if x.startswith("photo_embed"))
        assert "Array(Float32)" in labels[at]
        # the vector facts, a line each under the column (readable in the sidebar's width)
        assert labels[at + 1:at + 3] == ["dim 512", "index HNSW Cosine (vidx, Built)"]
        assert any(x.startswith("photo_image_url String") for x in labels)
        # selecting a column inserts its name in the editor
        app.editor.load_text("")
        node = next(n for n in tree._tree_nodes.values() if str(n.label).startswith("photo_id"))
        tree.select_node(node)
        await wait_for(pilot, lambda: app.editor.text == "photo_id")


async def test_large_results_are_capped(session):
    app = make_app(session, "SELECT number, toString(number) AS s FROM numbers(25000)")
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        assert len(app.result.rows) == 25000
        assert app.table.row_count <= 10000
        app.table.fill_all()
        assert app.table.row_count == 10000
        assert "showing the first 10000" in app.status.message


async def test_help_screen_lists_bindings(session):
    app = make_app(session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
        from tui.components.help_screen import KEYS

        from tui.app import Sidebar

        keys = {k for _, rows in KEYS for k, _ in rows}
        chars = {"question_mark": "?", "left_square_bracket": "[", "right_square_bracket": "]",
                 "minus": "-", "plus": "+", "equals_sign": "="}
        for b in [*EmbedSQLApp.BINDINGS, *Sidebar.BINDINGS]:
            for k in b.key.split(","):
                k = chars.get(k, k).upper() if k.startswith("f") else chars.get(k, k)
                assert any(k.lower() in x.lower() for x in keys), k
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ != "HelpScreen")


async def test_migrations_screen_status_plan_apply(empty_session):
    app = make_app(empty_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MigrationsScreen")
        scr = app.screen
        await wait_for(pilot, lambda: scr.statuses and not scr.busy)
        assert all(s.state == "pending" for s in scr.statuses)
        await pilot.press("p")
        await wait_for(pilot, lambda: not scr.busy)
        log = "\n".join(str(line.text) for line in scr.log_widget.lines)
        assert "CREATE TABLE" in log and "photos" in log
        # `a` asks first, listing what it would apply: `n` runs nothing, `y` applies
        await pilot.press("a")
        await wait_for(pilot, lambda: app.screen.id == "confirm-apply")
        text = str(app.screen.query_one("#confirm-text").render())
        assert "Apply 3 migration(s)" in text and "0001" in text and "0003" in text, text
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is scr)
        assert all(s.state == "pending" for s in scr.statuses)
        assert "apply cancelled: nothing was run" in str(scr.log_widget.lines[-1].text)
        await pilot.press("a")
        await wait_for(pilot, lambda: app.screen.id == "confirm-apply")
        await pilot.press("y")
        await wait_for(pilot, lambda: not scr.busy and scr.statuses and
                       all(s.state == "applied" for s in scr.statuses), timeout=60)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.catalog_data is not None and "photos" in app.catalog_data.databases.get("default", {}))
    # the built-in table records the model this session embeds with (its digest), as `migrate up` does
    empty_session.catalog.invalidate()
    recorded = empty_session.catalog.column_model_record("photos", "photo_embed")
    assert recorded.get("digest") and empty_session.embedder.identity.matches(recorded), recorded


async def test_migrations_screen_plans_a_failed_migration_from_where_up_resumes(empty_session, tmp_path):
    """F4's plan is what `up` runs, as `embedsql migrate plan` shows it: a migration that failed
    at its second statement is planned from there, the first (already run) left out."""
    import migrations
    from textual.widgets import Input

    mine = tmp_path / "mig"
    mine.mkdir()
    (mine / "0100_t.sql").write_text("-- +up\nCREATE TABLE t100 (a UInt8) ENGINE = MergeTree ORDER BY a;\n"
                                     "INSERT INTO nowhere_t VALUES (1);\n-- +down\nDROP TABLE t100;\n")
    migs = migrations.load([mine], builtin=True, model=empty_session.embedder.identity)
    with pytest.raises(migrations.MigrationError):
        migrations.Runner(empty_session, migs).up()
    app = make_app(empty_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MigrationsScreen")
        scr = app.screen
        await wait_for(pilot, lambda: not scr.busy)
        # typed into the directory field, letters are text, not the screen's keys (`a` would
        # apply): enter there shows the status with that directory
        scr.query_one("#migrations-dir", Input).focus()
        await pilot.press(*"abc", "backspace", "backspace", "backspace")
        assert app.screen is scr and not scr.busy
        scr.query_one("#migrations-dir", Input).value = str(mine)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not scr.busy and any(s.label.startswith("0100") for s in scr.statuses))
        scr.query_one("#migrations-table").focus()
        await pilot.press("p")
        await wait_for(pilot, lambda: not scr.busy and len(scr.log_widget.lines) > 1)
        log = "\n".join(str(line.text) for line in scr.log_widget.lines)
        assert "resuming at statement 2 of 2: statement 1 ran before" in log, log
        assert "INSERT INTO nowhere_t" in log and "CREATE TABLE t100" not in log, log


async def test_model_warms_in_the_background(session):
    app = EmbedSQLApp(session=session, initial_sql="SELECT 1", syntax=False, warm_model=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.model_state in ("ready", "failed"))
        assert app.model_state == "ready" and app.status.model.startswith("model: ")


def test_app_module_imports_no_heavy_libraries():
    import subprocess
    import sys

    code = ("import sys, tui.app; bad = [m for m in ('torch', 'transformers', 'sqlglot', 'clickhouse_connect', "
            "'chdb', 'textual_image') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "[]"


async def test_cursor_stays_at_the_end_when_highlighting_switches_on(session):
    """Typing right after start goes after the buffer, not before it: switching on SQL
    highlighting (after the first paint) must not move the cursor back to the top."""
    from tui.components.editor import sql_highlighting_available

    if not sql_highlighting_available():
        pytest.skip("tree-sitter SQL grammar not installed")
    app = make_app(session, "SELECT 1;\n", syntax=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.editor.language == "sql")
        assert app.editor.cursor_location == app.editor.document.end


async def test_quit_keeps_text_typed_since_the_last_run(session, tmp_path):
    """ctrl+q (the app's quit key) saves the editor's text, also what was typed and never run
    (the widgets are gone by the time the app unmounts: the text must be saved before)."""
    buf = tmp_path / "kept" / "buffer.sql"
    app = make_app(session, "SELECT 1", buffer_path=buf)
    async with app.run_test(size=SIZE) as pilot:
        app.editor.focus()
        await pilot.press("ctrl+a", *"SELECT 42")
        await pilot.pause()
        assert app.editor.text == "SELECT 42"
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert buf.read_text() == "SELECT 42"


async def test_opening_with_a_statement_keeps_the_saved_editor_text(session, tmp_path):
    """`embedsql demo` and `embedsql tui --sql` open with their statement in the editor, which is
    then saved over buffer.sql: the text saved there first goes to a file beside it, and the start
    says which. Opening with that same statement again copies nothing more."""
    from textual.widgets._toast import Toast, ToastRack

    buf = tmp_path / "buffer.sql"
    buf.write_text("SELECT 'my work, never run'")
    for run in range(2):
        app = make_app(session, "SELECT 1", buffer_path=buf)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await pilot.pause()
            assert app.editor.text == "SELECT 1"
            notes = [n.message for n in app._notifications]
            if run == 0:
                # the notification stands above the status bar (its lint line included) and the
                # footer: the status line it may repeat (an export's path) stays whole beside it
                rack = app.screen.get_child_by_type(ToastRack)
                await wait_for(pilot, lambda: len(rack.query(Toast)) == 1)
                await pilot.pause()
                toast, status = rack.query_one(Toast), app.query_one("#status")
                assert toast.region.bottom <= status.region.y, (toast.region, status.region)
                assert status.region.bottom <= app.query_one("Footer").region.y
            await pilot.press("ctrl+q")
            await pilot.pause()
        kept = sorted(tmp_path.glob("buffer-*.sql"))
        assert buf.read_text() == "SELECT 1"
        assert len(kept) == 1 and kept[0].read_text() == "SELECT 'my work, never run'"
        if run == 0:
            assert app.previous_buffer == kept[0] and any(str(kept[0]) in n for n in notes), notes
        else:
            assert app.previous_buffer is None and not any("kept in" in n for n in notes)


def test_no_free_backup_name_refuses_to_save_over_the_buffer(session, tmp_path, monkeypatch):
    """When every backup name for this second is taken (buffer-<stamp>.sql and its 99 numbered
    siblings), the saved text is not copied, so the app must not save over it: it says why."""
    import tui.app as app_module

    monkeypatch.setattr(app_module.time, "strftime", lambda fmt: "20261202-101010")
    buf = tmp_path / "buffer.sql"
    buf.write_text("SELECT 'my work'")
    for n in range(100):
        (tmp_path / f"buffer-20261202-101010{f'-{n}' if n else ''}.sql").write_text("old")
    app = make_app(session, "SELECT 1", buffer_path=buf)
    assert app.previous_buffer is None
    assert app.previous_buffer_error and "already exist" in app.previous_buffer_error
    assert app.save_buffer() is False and buf.read_text() == "SELECT 'my work'"


async def test_a_buffer_that_cannot_be_saved_is_said_on_exit(session, tmp_path):
    """A failure to save the editor's text at exit is not swallowed: it is printed after the app's
    screen is gone (a notification would never be seen)."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    app = make_app(session, "SELECT 1", buffer_path=blocker / "buffer.sql")  # parent is a file
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+a", *"SELECT 7")
        await pilot.press("ctrl+q")
        await pilot.pause()
    said = app.buffer_save_error  # (and printed on stderr by Textual once the screen is restored)
    assert said and "cannot save the editor text" in said and str(blocker) in said


async def test_history_recall_after_a_line_comment_keeps_both_statements(session):
    """F3 after a line ending in a `--` comment: the `;` that ends the editor's statement goes
    on a line of its own, not into the comment; a recalled query ending in a comment too."""
    app = make_app(session, "SELECT 42 AS answer -- the answer")
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        app.editor.load_text("SELECT 'a' AS a -- note")
        app.editor.move_cursor(app.editor.document.end)
        await pilot.press("f3")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HistoryScreen")
        await pilot.press(*"answer", "enter")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ != "HistoryScreen")
        text = app.editor.text
        assert text == "SELECT 'a' AS a -- note\n;\n\nSELECT 42 AS answer -- the answer\n;\n", text
        await run_sql(app, pilot)  # the recalled one, under the cursor
        assert app.last_error is None and app.result.rows == [(42,)]
        app.editor.cursor_location = (0, 3)
        await run_sql(app, pilot)
        assert app.last_error is None and app.result.rows == [("a",)]


@pytest.mark.parametrize("text, ended", [
    ("SELECT 1", "SELECT 1;"),
    ("SELECT 1;  \n", "SELECT 1;"),
    ("SELECT 1 -- note", "SELECT 1 -- note\n;"),
    ("SELECT 1 -- note;", "SELECT 1 -- note;\n;"),  # that `;` is in the comment
    ("SELECT 1 /* note */", "SELECT 1 /* note */;"),
    ("SELECT 1; -- note", "SELECT 1; -- note"),  # nothing after the `;` to end
    ("-- only a comment", "-- only a comment"),
    ("SELECT ';'", "SELECT ';';"),
    ("", ""),
])
def test_end_statement(text, ended):
    from tui.app import end_statement

    assert end_statement(text) == ended


async def _cancel_then_run(app, pilot, image_server, route) -> None:
    """Run the editor's statement (held at `route` of the image server), escape it, and run
    `SELECT 7 AS seven` at once: returns when the second has started (waiting for the first)."""
    app.editor.focus()
    await pilot.press("f5")
    await wait_for(pilot, lambda: image_server.hits.get(route))
    await pilot.press("escape")
    app.editor.load_text("SELECT 7 AS seven")
    before = app.queries_started
    await pilot.press("f5")
    await wait_for(pilot, lambda: app.queries_started > before)


async def test_a_statement_run_after_a_cancel_waits_for_it_past_the_lock_timeout(session, image_server,
                                                                                   tmp_path, monkeypatch):
    """Embedded engine: escape a statement, run another at once: the status line says it waits for
    the cancelled one, and it does, however long (not EMBEDSQL_LOCK_TIMEOUT: that bounds waits
    for another process); the history says the first was cancelled."""
    monkeypatch.setenv("EMBEDSQL_LOCK_TIMEOUT", "1")
    route = f"/gate/{tmp_path.name}"
    gate = image_server.gate(route, b"a\nb\n")
    slow = f"SELECT count() AS n FROM url('{image_server.url(route)}', 'LineAsString')"
    app = make_app(session, slow)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _cancel_then_run(app, pilot, image_server, route)
            assert "waiting for the cancelled statement" in app.status.message
            await pilot.pause(2.5)  # past EMBEDSQL_LOCK_TIMEOUT
            assert app.running and app.last_error is None, app.last_error
            assert "waiting for the cancelled statement" in app.status.message
            gate.set()
            await wait_for(pilot, lambda: not app.running and not app.cancelled_running)
            assert app.last_error is None, app.last_error
            assert app.result.columns == ["seven"]
            entries = app.history.load()
            assert [(e.sql, e.ok, e.cancelled) for e in entries] == [(slow, False, True),
                                                                     ("SELECT 7 AS seven", True, False)]
            await pilot.press("f3")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HistoryScreen")
            shown = [str(o.prompt) for o in app.screen.query_one("OptionList")._options]
            assert any("cancelled" in p and "url(" in p for p in shown), shown
    finally:
        gate.set()


async def test_escape_while_waiting_for_a_cancelled_statement_runs_nothing(session, image_server, tmp_path):
    route = f"/gate/{tmp_path.name}"
    gate = image_server.gate(route, b"a\nb\n")
    app = make_app(session, f"SELECT count() AS n FROM url('{image_server.url(route)}', 'LineAsString')")
    try:
        async with app.run_test(size=SIZE) as pilot:
            await _cancel_then_run(app, pilot, image_server, route)
            await pilot.pause(0.3)
            await pilot.press("escape")
            assert not app.running and "nothing was run" in app.status.message, app.status.message
            gate.set()
            await wait_for(pilot, lambda: not app.cancelled_running)
            await run_sql(app, pilot, "SELECT 8 AS eight")
            assert app.last_error is None and app.result.columns == ["eight"]
            assert [e.cancelled for e in app.history.load()] == [True, True, False]
    finally:
        gate.set()
