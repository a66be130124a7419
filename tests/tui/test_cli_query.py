"""`embedsql query` as a user runs it: a real process, the embedded default, exit codes, formats."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sqlext

from tests.support import PHOTOS


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


@pytest.fixture(scope="module")
def photos_db(tmp_path_factory, tiny_clip):
    """(dsn, model) of the photos database, made once per module through the CLI (a process:
    import, model, three EMBEDs). The tests read it; one that changes a table makes its own."""
    tmp_path = tmp_path_factory.mktemp("photos")
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
    assert "L2Distance(photo_embed, CAST('[512 x Float32]', 'Array(Float64)')) AS dist" in out
    assert "-- translated:" in out and "-- embedding: 1 EMBED call(s)" in out
    assert "not run" in out


def test_explain_shows_the_vector_plan_and_why(photos_db):
    dsn, model = photos_db
    script = Path(dsn.removeprefix("chdb://")).parent / "indexed.sql"  # (the other tests read photos)
    script.write_text("CREATE TABLE IF NOT EXISTS photos_vi AS photos;\n"
                      "INSERT INTO photos_vi SELECT * FROM photos WHERE (SELECT count() FROM photos_vi) = 0;\n"
                      "ALTER TABLE photos_vi ADD INDEX IF NOT EXISTS vi photo_embed "
                      "TYPE vector_similarity('hnsw', 'cosineDistance', 512);\n")
    p = run("query", "-f", str(script), "--dsn", dsn, "--model", model)
    assert p.returncode == 0, p.stderr
    sql = ("SELECT photo_id, distance(photo_embed, EMBED('a red cup of coffee')) AS dist FROM photos_vi "
           "WHERE year > 2020 ORDER BY dist ASC LIMIT 2")
    p = run("query", sql, "--dsn", dsn, "--model", model, "--explain")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "cosineDistance(photo_embed, CAST('[512 x Float32]', 'Array(Float64)')) AS dist" in out  # the index's metric
    assert ("-- vector plan: photos_vi.photo_embed top 2: exact scan (vector index vi not used) — "
            "the filter keeps 2 of 3 rows") in out
    assert "not run (--explain); the planner's row count ran" in out


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


def test_a_model_that_cannot_load_says_which_setting_named_it(tmp_path):
    """EMBEDSQL_MODEL or the config file may name a model the user no longer has in mind: the
    error says which setting to change. A bare word (`--model my-clip`) is read as a hub id: the
    hint says to give a folder's path."""
    missing = tmp_path / "no-model"
    p = run("query", "SELECT EMBED('a cat')", env_extra={"EMBEDSQL_MODEL": str(missing)})
    assert_clean_error(p, 2)
    assert p.stderr.startswith(f"error: cannot load model '{missing}' (from EMBEDSQL_MODEL): directory not found")
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'model = "{missing}"\n')
    p = run("query", "SELECT EMBED('a cat')", env_extra={"EMBEDSQL_CONFIG": str(cfg)})
    assert_clean_error(p, 2)
    assert f"cannot load model '{missing}' (from the config file ({cfg})): directory not found" in p.stderr
    p = run("query", "SELECT EMBED('a cat')", "--model", str(missing), env_extra={"EMBEDSQL_MODEL": "x/y"})
    assert_clean_error(p, 2)
    assert f"cannot load model '{missing}': directory not found" in p.stderr  # typed on this very line
    p = run("model", "info", env_extra={"EMBEDSQL_MODEL": str(missing)})  # it said what it knew, and exit 0
    assert_clean_error(p, 2)
    assert "identity: unknown" in p.stdout and f"(from EMBEDSQL_MODEL): directory not found" in p.stderr
    p = run("query", "SELECT EMBED('a cat')", "--model", "my-clip", env_extra={"HF_HUB_OFFLINE": "1"})
    assert_clean_error(p, 2)
    assert "hint: if 'my-clip' is a folder, give its path (./my-clip, ~/models/my-clip): there is no 'my-clip' in " \
           f"the current directory ({Path.cwd()})" in p.stderr


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


# ---------------------------------------------------------------- every statement users write (issue 11)

@pytest.mark.parametrize("sql, expected", [
    ("SELECT 1 AS x FORMAT JSONEachRow", '{"x":1}\n'),
    ("SELECT number FROM numbers(3) FORMAT CSV", "0\n1\n2\n"),
    ("SELECT 1 AS x FORMAT Null", ""),
    ("SELECT 1 AS x FORMAT Vertical", "Row 1:\n──────\nx: 1\n"),
])
def test_a_statements_own_format_prints_the_servers_bytes(tmp_path, sql, expected):
    p = run("query", sql, "--format", "csv")  # the statement's FORMAT wins
    assert p.returncode == 0, p.stderr
    assert p.stdout == expected and p.stderr == ""


def test_from_first_select_prints_its_rows(tmp_path):
    p = run("query", "FROM system.numbers SELECT number LIMIT 2", "--format", "csv")
    assert p.returncode == 0, p.stderr
    assert p.stdout == '"number"\n0\n1\n'  # ClickHouse's CSVWithNames quotes the header


def test_explain_of_an_embed_query(photos_db):
    dsn, model = photos_db
    sql = "EXPLAIN indexes = 1 SELECT id FROM photos ORDER BY distance(photo_embed, EMBED('a cat')) LIMIT 1"
    p = run("query", sql, "--dsn", dsn, "--model", model, "--format", "csv")
    assert p.returncode == 0, p.stderr
    assert "ReadFromMergeTree" in p.stdout
    e = run("query", sql, "--dsn", dsn, "--model", model, "--explain")
    assert "-- embedding: 1 EMBED call(s)" in e.stdout and "L2Distance(photo_embed, CAST('[512 x Float32]', 'Array(Float64)'))" in e.stdout
    assert "-- statement: explain of select, returns rows" in e.stdout


def test_positions_and_names_in_the_users_terms(photos_db):
    dsn, model = photos_db
    typo = "SELECT photo_id, cosineDistance(photo_embed, EMBED('a cat')) AS d FROM photos ORDR BY d"
    p = run("query", typo, "--dsn", dsn, "--model", model)
    assert_clean_error(p, 1)
    assert f"failed at line 1, column {typo.index('BY d') + 1}" in p.stderr
    assert "FORMAT Native" not in p.stderr and "0.0" not in p.stderr.split("Expected")[0]
    sql = "SELECT id, cosineDistance(photo_embed, EMBED('a cat')) FROM photos ORDER BY 2 LIMIT 1"
    csv_out = run("query", sql, "--dsn", dsn, "--model", model, "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "\"id\",\"cosineDistance(photo_embed, EMBED('a cat'))\""
    js = json.loads(run("query", sql, "--dsn", dsn, "--model", model, "--format", "json").stdout)
    assert [c["name"] for c in js["meta"]] == ["id", "cosineDistance(photo_embed, EMBED('a cat'))"]
    assert list(js["data"][0]) == ["id", "cosineDistance(photo_embed, EMBED('a cat'))"]


def test_the_same_embed_twice_is_named_and_elided_as_written(photos_db):
    # two columns with one server name (the same vector spliced in twice): they were printed
    # under the vector's 7 KB of digits, and a vector column whole
    dsn, model = photos_db
    sql = "SELECT length(EMBED('a cat')), length(EMBED('a cat')), EMBED('a cat'), EMBED('a cat'), 7 AS n"
    csv_out = run("query", sql, "--dsn", dsn, "--model", model, "--format", "csv").stdout
    head = "\"length(EMBED('a cat'))\""
    embed = "\"EMBED('a cat')\""
    assert csv_out == f"{head},{head},{embed},{embed},\"n\"\n512,512,\"[512 x Float64]\",\"[512 x Float64]\",7\n"
    js = json.loads(run("query", sql, "--dsn", dsn, "--model", model, "--format", "json").stdout)
    assert [(c["name"], c["type"]) for c in js["meta"]] == [
        ("length(EMBED('a cat'))", "UInt64"), ("length(EMBED('a cat'))", "UInt64"),
        ("EMBED('a cat')", "String"), ("EMBED('a cat')", "String"), ("n", "UInt8")]
    table = run("query", sql, "--dsn", dsn, "--model", model).stdout
    assert "[512 x Float64]" in table and len(table) < 2000
    # written two ways, one vector (one server name): each column is named as written, so a
    # JSON line keeps both (it had the first call's name twice, and a reader kept one)
    sql = "SELECT length(EMBED('a cat')), length(EMBED(text('a cat'))), 7 AS n"
    line = run("query", sql, "--dsn", dsn, "--model", model, "--format", "jsonl").stdout
    assert json.loads(line) == {"length(EMBED('a cat'))": 512, "length(EMBED(text('a cat')))": 512, "n": 7}
    csv_out = run("query", sql, "--dsn", dsn, "--model", model, "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "\"length(EMBED('a cat'))\",\"length(EMBED(text('a cat')))\",\"n\""
    with sqlext.connect(dsn=dsn, model=model) as s:
        assert s.query(sql).columns == ["length(EMBED('a cat'))", "length(EMBED(text('a cat')))", "n"]
        # the vector also in the filter: which column is which cannot be told, so the first call names both
        both = s.query("SELECT length(EMBED('a cat')), length(EMBED(text('a cat'))) "
                       "WHERE length(EMBED(text('a cat'))) > 0").columns
        assert both == ["length(EMBED('a cat'))"] * 2


def test_a_statement_is_named_by_the_line_of_its_first_word(tmp_path):
    # the comment after `;` on line 3 begins the third statement's text: it was named "line 3"
    script = tmp_path / "s.sql"
    script.write_text("-- a script\nSELECT 1 AS x;\nSELECT 'a;b' AS y; -- a note\n/* more */\nSELECT nosuchcol;\n")
    p = run("query", "-f", str(script), "--format", "csv")
    assert_clean_error(p, 1)
    assert p.stderr.startswith("error: statement 3 of 3 (line 5): ") and "nosuchcol" in p.stderr


def test_ignore_error_reports_each_failure_and_goes_on(tmp_path):
    script = tmp_path / "s.sql"
    script.write_text("SELECT 1 AS a;\nSELECT nope;\nSELECT 2 AS b FORMAT CSV;\n  SELECT 3 ORDR BY x;\nSELECT 'z' AS c;\n")
    p = run("query", "-f", str(script), "--format", "csv", "--ignore-error")
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert p.stdout == '"a"\n1\n2\n"c"\n"z"\n'  # ClickHouse's CSVWithNames, and the CSV written
    errors = p.stderr.splitlines()
    assert errors[0].startswith("error: statement 2 of 5 (line 2): ") and "nope" in errors[0]
    assert errors[1].startswith("error: statement 4 of 5 (line 4): ") and "failed at line 4, column 17" in errors[1]
    assert errors[2] == "error: 2 of 5 statements failed"
    ok = tmp_path / "ok.sql"
    ok.write_text("SELECT 1 AS a;\nSELECT 2 AS b;\n")
    p = run("query", "-f", str(ok), "--format", "csv", "--ignore-error")
    assert p.returncode == 0 and p.stdout == '"a"\n1\n"b"\n2\n'


def test_output_to_a_pipe_is_not_wrapped_to_80_columns(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    p = subprocess.run([sys.executable, "-m", "tui.cli", "query",
                        "SELECT repeat('a', 60) AS a, repeat('b', 60) AS b, 7 AS n"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    row = [line for line in p.stdout.splitlines() if "aaa" in line]
    assert len(row) == 1 and "a" * 60 in row[0] and "b" * 60 in row[0] and "7" in row[0]
    # with COLUMNS set, that width is kept (a table fitted to it)
    p = run("query", "SELECT repeat('a', 60) AS a, repeat('b', 60) AS b", env_extra={"COLUMNS": "80"})
    assert max(len(line) for line in p.stdout.splitlines()) <= 80


def test_embed_errors_point_into_the_statement_as_written(photos_db):
    """An EMBED error is reported where the user wrote the call, in every --format (the server
    formats wrap the statement to describe its columns: not in what the user sees)."""
    dsn, model = photos_db
    for fmt in ("table", "csv", "json"):
        p = run("query", "SELECT EMBED(photo_id) FROM photos", "--dsn", dsn, "--model", model, "--format", fmt)
        assert p.returncode == 2 and "(at line 1, column 8)" in p.stderr, (fmt, p.stderr)


def test_sql_and_a_script_together_is_a_usage_error(tmp_path):
    script = tmp_path / "s.sql"
    script.write_text("SELECT 2;\n")
    p = run("query", "SELECT 1", "-f", str(script))
    assert p.returncode == 2 and "not both" in p.stderr and p.stdout == ""
