"""Session.raw_query / raw_stream: the server's bytes as they are (clickhouse-client's way), EMBED
and the bridge applied; a statement's own FORMAT clause wins over `fmt`."""
from __future__ import annotations

import pytest

import sqlext
from sqlext.errors import UsageError


@pytest.fixture(scope="module")
def s(tmp_path_factory, tiny_clip):
    s = sqlext.connect(dsn=f"chdb://{tmp_path_factory.mktemp('raw')}/db", model=str(tiny_clip))
    s.command("CREATE TABLE photos (id UInt64, photo_embed Array(Float32), "
              "CONSTRAINT len CHECK length(photo_embed) = 512) ENGINE = MergeTree ORDER BY id")
    s.command("INSERT INTO photos SELECT 1, EMBED('a cat')")
    s.command("INSERT INTO photos SELECT 2, EMBED('a dog')")
    with s.unit_of_work():
        yield s
    s.close()


def test_fmt_is_the_output_format(s):
    assert s.raw_query("SELECT id FROM photos ORDER BY id", fmt="CSVWithNames") == b'"id"\n1\n2\n'
    assert s.raw_query("SELECT id FROM photos ORDER BY id") == b"1\n2\n"  # the server's default: TSV


def test_the_statements_own_format_wins(s):
    sql = "SELECT id FROM photos ORDER BY id FORMAT JSONEachRow"
    assert s.raw_query(sql) == s.raw_query(sql, fmt="CSV") == b'{"id":1}\n{"id":2}\n'


def test_embed_is_rewritten_and_the_stream_is_the_same_bytes(s):
    sql = "SELECT id FROM photos ORDER BY cosineDistance(photo_embed, EMBED('a dog')) LIMIT 1"
    assert s.raw_query(sql, fmt="TSV") == b"2\n"
    assert b"".join(s.raw_stream(sql, fmt="TSV")) == b"2\n"
    chunks = list(s.raw_stream("SELECT number FROM numbers(100000)", fmt="TSV"))
    assert b"".join(chunks) == "".join(f"{i}\n" for i in range(100000)).encode()


def test_a_statement_without_rows_returns_nothing(s):
    assert s.raw_query("CREATE TABLE t (a UInt8) ENGINE = Memory", fmt="CSV") == b""
    assert s.raw_query("INSERT INTO t VALUES (7)") == b""
    assert s.raw_query("SELECT a FROM t", fmt="CSV") == b"7\n"


def test_explain_ast_is_explained_as_written(s):
    out = s.raw_query("EXPLAIN AST SELECT 1", fmt="JSONEachRow")
    assert out.startswith(b"SelectWithUnionQuery (children 1)") and b"Identifier" not in out


def test_query_refuses_a_format_clause_and_execute_returns_its_bytes(s):
    with pytest.raises(UsageError) as info:
        s.query("SELECT 1 FORMAT CSV")
    assert "raw_query" in str(info.value)
    r = s.execute("SELECT 1 FORMAT CSV")
    assert r.raw == b"1\n" and r.columns == []


def test_a_bad_format_name_is_a_usage_error(s):
    with pytest.raises(UsageError):
        s.raw_query("SELECT 1", fmt="CSV; DROP TABLE photos")


def test_a_large_insert_is_sent_as_written_without_lexing_its_data(s):
    rows = ", ".join(f"({i}, 'it''s row {i}; not a split')" for i in range(3000))
    sql = "INSERT INTO big VALUES " + rows
    assert len(sql) > 64 * 1024
    s.command("CREATE TABLE big (id UInt64, name String) ENGINE = MergeTree ORDER BY id")
    p = s.prepare(sql)
    assert p.statements == [sql] and p.kinds[0].name == "insert" and p.tokens == []
    s.execute(sql)
    assert s.query("SELECT count(), argMax(name, id) FROM big").rows == [(3000, "it's row 2999; not a split")]
    bad = sql.replace("VALUES (0,", "VALUES (0 0,", 1)
    with pytest.raises(sqlext.ServerError):
        s.execute(bad)


def test_column_names_keep_arrays_written_in_the_sql(s):
    r = s.query("SELECT [1, 2, 3, 4, 5, 6, 7, 8, 9], cosineDistance(photo_embed, EMBED('a cat')) "
                "FROM photos ORDER BY id LIMIT 1")
    assert r.columns == ["[1, 2, 3, 4, 5, 6, 7, 8, 9]", "cosineDistance(photo_embed, EMBED('a cat'))"]
