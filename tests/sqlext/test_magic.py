"""The `%%embedsql` notebook magic, run in a real IPython shell built here (InteractiveShell):
`%load_ext sqlext`, a cell with EMBED, the DataFrame it returns, and what the notebook would
display for it (IPython's own display formatter): thumbnails as data: URIs, vectors elided."""
from __future__ import annotations

import pytest

from tests.photo_tables import TEXTS, create_photos, hybrid_sql

pytest.importorskip("IPython")
pd = pytest.importorskip("pandas")

PHOTO_NAMES = ["astronaut.jpg", "coffee.jpg", "rocket.jpg", "horse.jpg"]


@pytest.fixture
def shell(tmp_path, monkeypatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))  # history and profile stay in tmp
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "sqlext")
    yield sh
    sh.run_line_magic("unload_ext", "sqlext")
    InteractiveShell.clear_instance()


@pytest.fixture(scope="module")
def embedder(tiny_clip, tmp_path_factory):
    from embed import Embedder

    return Embedder(str(tiny_clip), cache_dir=tmp_path_factory.mktemp("vec-cache"))


@pytest.fixture
def db(tmp_path, embedder, image_server):
    """A DSN whose photos table points at the loopback image server (row 4: a 404)."""
    import sqlext

    dsn = f"chdb://{tmp_path}/db"
    s = sqlext.connect(dsn, embedder=embedder)
    urls = [image_server.url(f"/photos/{n}") for n in PHOTO_NAMES] + [image_server.url("/404")]
    create_photos(s, urls=urls)
    s.close()
    return dsn


def _html(shell, value) -> str:
    data, _ = shell.display_formatter.format(value)
    return data["text/html"]


def test_cell_runs_embed_and_shows_thumbnails(shell, db, tiny_clip, image_server):
    cell = ("SELECT photo_id, photo_image_url, photo_embed, "
            f"cosineDistance(photo_embed, EMBED('{TEXTS[1]}')) AS dist FROM photos "
            "WHERE id < 10 ORDER BY dist LIMIT 5")
    result = shell.run_cell(f"%%embedsql {db} --model {tiny_clip}\n{cell}")
    assert result.error_in_exec is None
    df = result.result
    assert isinstance(df, pd.DataFrame) and df["photo_id"].iloc[0] == "p1"
    assert list(df.columns) == ["photo_id", "photo_image_url", "photo_embed", "dist"]
    assert df["photo_embed"].iloc[0].shape == (512,)
    page = _html(shell, df)
    # four photos load, the /404 row shows its (escaped) URL instead of an image
    assert page.count('<img src="data:image/jpeg;base64,') == 4
    assert image_server.url("/404") in page
    assert "[512 x float32]" in page and "0.0" in page  # vectors elided, other values shown
    assert shell.user_ns["_"] is df  # the cell's value, as in a notebook
    # a terminal IPython shows the text form: elided there too (it printed the floats)
    text = repr(df)
    assert text.count("[512 x float32]") == 5 and "p1" in text and len(text) < 2000, text


def test_out_variable_and_the_next_cell_reuses_the_connection(shell, db, tiny_clip):
    r = shell.run_cell(f"%%embedsql {db} --model {tiny_clip} --out top\n{hybrid_sql(3)}")
    assert r.error_in_exec is None and shell.user_ns["top"]["photo_id"].iloc[0] == "p3"
    r = shell.run_cell("%%embedsql\nSELECT count() AS n FROM photos")  # no DSN: the last one
    assert r.error_in_exec is None
    assert type(r.result) is pd.DataFrame and r.result["n"].iloc[0] == 6  # nothing to display specially


def test_several_statements_and_commands(shell, db, tiny_clip, capsys):
    r = shell.run_cell(f"%%embedsql {db} --model {tiny_clip}\n"
                       "CREATE TABLE notes (id UInt32, note String) ENGINE = MergeTree ORDER BY id;\n"
                       "INSERT INTO notes VALUES (1, 'a'), (2, 'b');\n"
                       "SELECT note FROM notes ORDER BY id")
    assert r.error_in_exec is None and r.result["note"].tolist() == ["a", "b"]
    r = shell.run_cell("%%embedsql\nINSERT INTO notes VALUES (3, 'c')")
    assert r.error_in_exec is None and r.result is None
    capsys.readouterr()
    r = shell.run_cell("%%embedsql\nSELECT note FROM notes ORDER BY id FORMAT CSV")  # the server's text
    assert r.error_in_exec is None and r.result is None
    assert capsys.readouterr().out == '"a"\n"b"\n"c"\n'


def test_errors_are_one_message_without_traceback(shell, db, tiny_clip, capsys):
    from IPython.core.error import UsageError

    r = shell.run_cell(f"%%embedsql {db} --model {tiny_clip}\nSELECT 1;\nSELECT * FROM no_such_table")
    assert isinstance(r.error_in_exec, UsageError)
    err = capsys.readouterr()
    text = err.out + err.err
    assert "statement 2 of 2 (line 2)" in text and ("UNKNOWN_TABLE" in text or "Unknown table" in text)
    assert "Traceback" not in text
    r = shell.run_cell("%%embedsql --bogus\nSELECT 1")
    assert isinstance(r.error_in_exec, UsageError) and "unrecognized arguments: --bogus" in str(r.error_in_exec)
    r = shell.run_cell("%%embedsql\n-- only a comment")
    assert isinstance(r.error_in_exec, UsageError) and "no SQL statement" in str(r.error_in_exec)


def test_no_thumbs(shell, db, tiny_clip):
    r = shell.run_cell(f"%%embedsql {db} --model {tiny_clip} --no-thumbs\n"
                       "SELECT photo_id, photo_image_url, photo_embed FROM photos ORDER BY id LIMIT 2")
    page = _html(shell, r.result)
    assert "<img" not in page and "[512 x float32]" in page


def test_error_positions_are_the_cells(shell, db, tiny_clip, capsys):
    """A failing statement's position is the cell's line and column (after the %%embedsql line),
    also when it is the last statement and returns rows, and when the cell starts with blank
    lines."""
    from IPython.core.error import UsageError

    for body, want in [("SELECT 1;\n\nSELECT 2 ORDER BY BY 1", "statement 2 of 2 (line 3): "),
                       ("\n\nSELECT 2 ORDER BY BY 1", ""),
                       ("SELECT 1;  SELECT 2 ORDER BY BY 1", "statement 2 of 2 (line 1): ")]:
        r = shell.run_cell(f"%%embedsql {db} --model {tiny_clip}\n{body}")
        assert isinstance(r.error_in_exec, UsageError), body
        err = capsys.readouterr()
        text = err.out + err.err
        line = body.count("\n") + 1
        col = len(body.rsplit("\n", 1)[-1])  # the error is at the last "1"
        assert want in text and f"failed at line {line}, column {col}" in text, (body, text)
