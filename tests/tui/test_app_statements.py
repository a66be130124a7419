"""The app with the statements of issue 11: a FORMAT clause is refused with a clear message,
errors point into the editor's text and show EMBED calls (never floats), an unaliased EMBED
expression is a readable grid column, EXPLAIN and FROM-first statements show their rows."""
from __future__ import annotations

from tests.tui.pilot_support import run_sql
from tui.app import EmbedSQLApp

SIZE = (150, 45)


def make_app(session, sql):
    return EmbedSQLApp(session=session, initial_sql=sql, warm_model=False, syntax=False)


async def test_a_format_clause_is_refused_with_a_clear_message(session):
    # throwIf(1) would fail on the server: the message below shows nothing was sent
    app = make_app(session, "SELECT 1;\nSELECT throwIf(1) FROM photos\nFORMAT JSONEachRow;")
    async with app.run_test(size=SIZE) as pilot:
        app.editor.cursor_location = (1, 3)
        await run_sql(app, pilot)
        msg = app.last_error
        assert "FORMAT JSONEachRow" in msg and "embedsql query" in msg and "(line 3, column 1)" in msg  # the editor's line
        assert "throwIf" not in msg
        assert app.query_one("#error").display
        assert app.editor.cursor_location == (2, 0)  # on the FORMAT clause
        await run_sql(app, pilot, key="f9")  # the whole buffer: refused too, naming the statement
        assert "statement 2 has its own FORMAT JSONEachRow" in app.last_error
        await run_sql(app, pilot, "SELECT 42 AS answer")
        assert app.result.columns == ["answer"]


async def test_a_syntax_error_after_embed_points_into_the_editor_without_floats(session):
    sql = "SELECT photo_id,\n  cosineDistance(photo_embed, EMBED('a cat')) AS d\nFROM photos ORDR BY d"
    app = make_app(session, sql)
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        msg = app.last_error
        assert "failed at line 3, column 18" in msg, msg
        assert "0." not in msg.split("Expected")[0] and "FORMAT Native" not in msg
        assert app.editor.cursor_location == (2, 17)


async def test_a_server_error_quoting_embed_shows_the_call(session):
    app = make_app(session, "SELECT cosineDistance(photo_id, EMBED('a cat')) FROM photos")
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        assert "EMBED('a cat')" in app.last_error and "0.0" not in app.last_error


async def test_unaliased_embed_column_and_from_first_and_explain(session):
    app = make_app(session, "FROM photos SELECT photo_id, cosineDistance(photo_embed, EMBED('a cat')) "
                            "ORDER BY 2 LIMIT 2")
    async with app.run_test(size=SIZE) as pilot:
        await run_sql(app, pilot)
        assert app.result.columns == ["photo_id", "cosineDistance(photo_embed, EMBED('a cat'))"]
        assert app.table.row_count == 2
        header = str(app.table.columns[list(app.table.columns)[1]].label)
        assert "EMBED('a cat')" in header
        await run_sql(app, pilot, "EXPLAIN indexes = 1 SELECT id FROM photos "
                                  "ORDER BY cosineDistance(photo_embed, EMBED('a cat')) LIMIT 3")
        assert app.result.columns == ["explain"] and app.table.row_count > 0


async def test_f5_errors_name_the_editors_line_not_the_statements(session):
    """F5 on a statement below others: the error's line and column are the editor's (README: "A
    position is given as line and column in the editor's text"), as F9 gives them, and the cursor
    goes there; the FORMAT refusal too."""
    app = make_app(session, "SELECT 1;\n\nSELECT 2 ORDER BY BY 1")
    async with app.run_test(size=SIZE) as pilot:
        app.editor.cursor_location = (2, 3)
        await run_sql(app, pilot)
        assert "failed at line 3, column 22" in app.last_error, app.last_error
        assert app.editor.cursor_location == (2, 21)
        await run_sql(app, pilot, key="f9")
        assert "line 3, column 22" in app.last_error, app.last_error
        # a statement that starts mid-line: its first line's columns are shifted too
        await run_sql(app, pilot, "SELECT 1;  SELECT 2 ORDER BY BY 1")
        assert "failed at line 1, column 33" in app.last_error, app.last_error
        await run_sql(app, pilot, "SELECT 1;\n\nSELECT 2 FORMAT JSON")
        assert "(line 3, column 10)" in app.last_error, app.last_error
        assert app.editor.cursor_location == (2, 9)
