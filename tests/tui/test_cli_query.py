"""`embedsql query` as a user runs it: a real process, the embedded default, exit codes, formats."""
import json
import os
import subprocess
import sys

import pytest

from support import PHOTOS


def run(*args, env_extra=None, input=None, timeout=120):
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True,
                          env=env, input=input, timeout=timeout)


def assert_clean_error(p, code):
    assert p.returncode == code, (p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    assert p.stderr.startswith("error: ")


def test_select_1_with_nothing_configured(tmp_path):
    p = run("query", "SELECT 1 AS one", "--format", "csv")
    assert p.returncode == 0, p.stderr
    assert p.stdout == '"one"\n1\n'  # ClickHouse's CSVWithNames
    assert (tmp_path / "data" / "db").is_dir()  # the embedded default lives in the user data dir


def test_formats_and_vector_elision(tmp_path):
    sql = "SELECT 1 AS n, 'x' AS s, arrayMap(i -> toFloat32(i / 10), range(20)) AS v"
    j = json.loads(run("query", sql, "--format", "json").stdout)  # ClickHouse's JSON document
    assert j["data"] == [{"n": 1, "s": "x", "v": "[20 x Float32]"}] and j["rows"] == 1
    assert j["meta"][2] == {"name": "v", "type": "String"}  # the server wrote the elided vector
    full = json.loads(run("query", sql, "--format", "json", "--full-vectors").stdout)
    assert full["data"][0]["v"][:3] == [0, 0.1, 0.2]
    assert run("query", sql, "--format", "tsv").stdout.splitlines()[1] == "1\tx\t[20 x Float32]"
    table = run("query", sql).stdout
    assert "[20 x Float32]" in table and "1 row" in table


@pytest.fixture
def photos_db(tmp_path, tiny_clip):
    dsn = f"chdb://{tmp_path}/photos"
    script = tmp_path / "setup.sql"
    script.write_text(f"""
        CREATE TABLE photos (id UInt64, photo_id String, year UInt16, photo_embed Array(Float32),
                             CONSTRAINT len CHECK length(photo_embed) = 512) ENGINE = MergeTree ORDER BY id;
        INSERT INTO photos SELECT 1, 'cat', 2020, EMBED('{PHOTOS / 'chelsea.jpg'}');
        INSERT INTO photos SELECT 2, 'coffee', 2021, EMBED('a red cup of coffee');
        INSERT INTO photos SELECT 3, 'rocket', 2022, EMBED('a rocket at night');
    """)
    p = run("query", "-f", str(script), "--dsn", dsn, "--model", str(tiny_clip))
    assert p.returncode == 0, p.stderr
    return dsn, str(tiny_clip)


def test_hybrid_query_from_the_command_line(photos_db):
    dsn, model = photos_db
    sql = ("SELECT photo_id, distance(photo_embed, EMBED('a red cup of coffee')) AS dist FROM photos "
           "WHERE year > 2000 ORDER BY dist ASC LIMIT 2")
    p = run("query", sql, "--dsn", dsn, "--model", model, "--format", "csv")
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[1].startswith('"coffee",')


def test_explain_shows_rewritten_hybrid_query_and_runs_nothing(photos_db):
    dsn, model = photos_db
    sql = ("SELECT photo_id, distance(photo_embed, EMBED('a cat', 'a red cup of coffee')) AS dist FROM photos "
           "WHERE year > 2000 ORDER BY dist ASC LIMIT 2")
    p = run("query", sql, "--dsn", dsn, "--model", model, "--explain")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    # no vector index on the column: MyScale's default metric (L2) decides the function
    assert "L2Distance(photo_embed, [512 x Float32]) AS dist" in out
    assert "-- translated:" in out and "-- embedding: 1 EMBED call(s)" in out
    assert "not run" in out


@pytest.mark.parametrize("args, code, needle", [
    (["query", "SELECT embed(photo_id) FROM photos"], 2, "EMBED"),
    (["query", "SELECT EMBED('/no/such/file.jpg')"], 2, "/no/such/file.jpg"),
    (["query", "SELECT * FROM nowhere"], 1, "nowhere"),
    (["query", "SELECT 'unterminated"], 2, "line 1"),
    (["query"], 2, "give the SQL"),
    (["query", "SELECT 1", "--dsn", "ftp://x"], 2, "ftp"),
    (["query", "-f", "/no/such/script.sql"], 2, "/no/such/script.sql"),
    (["query", "SELECT 1", "--format", "xml"], 2, "xml"),
])
def test_errors_are_one_message_and_an_exit_code(tmp_path, tiny_clip, args, code, needle):
    p = run(*args, "--model", str(tiny_clip))
    assert_clean_error(p, code)
    assert needle in p.stderr


def test_missing_model_offline_is_one_clear_error(tmp_path):
    p = run("query", "SELECT EMBED('a cat')", "--model", "nobody/no-such-clip",
            env_extra={"HF_HUB_OFFLINE": "1"})
    assert_clean_error(p, 2)
    assert "nobody/no-such-clip" in p.stderr


def test_debug_shows_the_traceback(tmp_path):
    p = run("query", "SELECT * FROM nowhere", "--debug")
    assert p.returncode != 0 and "Traceback" in p.stderr


def test_script_error_names_the_statement_and_line(tmp_path):
    script = tmp_path / "s.sql"
    script.write_text("CREATE TABLE t (a Int32) ENGINE = MergeTree ORDER BY a;\n"
                      "INSERT INTO t VALUES (1);\n\nSELECT * FROM nowhere;\nSELECT 2;\n")
    p = run("query", "-f", str(script), "--format", "csv")
    assert_clean_error(p, 1)
    assert "statement 3 of 4 (line 4)" in p.stderr and "nowhere" in p.stderr
    again = run("query", "SELECT count() FROM t", "--format", "csv")
    assert again.stdout == '"count()"\n1\n'  # the statements before it ran


def test_tui_without_a_terminal_says_so_instead_of_hanging(tmp_path):
    p = run(input="", timeout=60)
    assert_clean_error(p, 2)
    assert "needs a terminal" in p.stderr and "embedsql query" in p.stderr
