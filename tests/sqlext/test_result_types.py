"""Result values that must match what ClickHouse itself returns (ClickHouse as the oracle: the same
statement's own text from `Session.raw_query`, chdb's bytes passed through): DateTime with a time
zone in `query` (the zone chdb leaves out of Native answers), Enum and wide integers in
`query_arrow` / `query_df`, `query_arrow_stream` of statements chdb cannot stream, and the error of
`Session.insert` for a value its column cannot take."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

import sqlext
from sqlext.errors import UsageError


@pytest.fixture
def session(tmp_path):
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    yield s
    s.close()


def _clickhouse_text(session, sql: str) -> tuple[list[str], list[str]]:
    """(types, first row's fields) as ClickHouse writes them in TabSeparatedWithNamesAndTypes."""
    lines = session.raw_query(sql, fmt="TabSeparatedWithNamesAndTypes").decode().split("\n")
    return lines[1].replace("\\'", "'").split("\t"), lines[2].split("\t")


ZONED = ("SELECT toDateTime('2024-01-01 00:00:00', 'Asia/Tokyo') AS t, "
         "CAST(toDateTime('2024-06-01 12:30:00', 'America/New_York'), 'Nullable(DateTime(\\'America/New_York\\'))') AS n, "
         "[toDateTime('2024-01-01 00:00:00', 'Asia/Tokyo')] AS a, "
         "toDateTime64('2024-01-01 00:00:00', 3, 'America/New_York') AS d64, "
         "toDateTime('2024-01-01 00:00:00', 'UTC') AS u")


def test_datetime_with_a_time_zone_keeps_type_and_wall_clock_time(session):
    r = session.query(ZONED)
    types, fields = _clickhouse_text(session, ZONED)
    assert r.types == types
    assert r.types[0] == "DateTime('Asia/Tokyo')"
    t, n, a, d64, u = r.rows[0]
    assert t == dt.datetime(2024, 1, 1, tzinfo=ZoneInfo("Asia/Tokyo")) and t.utcoffset() == dt.timedelta(hours=9)
    assert t.strftime("%Y-%m-%d %H:%M:%S") == fields[0]
    assert n.tzinfo == ZoneInfo("America/New_York") and n.strftime("%Y-%m-%d %H:%M:%S") == fields[1]
    assert a[0] == t and a[0].tzinfo == ZoneInfo("Asia/Tokyo")
    assert d64.tzinfo == ZoneInfo("America/New_York")  # DateTime64 as before
    assert u == dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def test_datetime_without_zone_and_nulls_unchanged(session):
    sql = ("SELECT toDateTime('2024-01-01 00:00:00') AS plain, "
           "CAST(NULL, 'Nullable(DateTime(\\'Asia/Tokyo\\'))') AS nul")
    r = session.query(sql)
    assert r.types == _clickhouse_text(session, sql)[0]
    assert r.rows == [(dt.datetime(2024, 1, 1), None)]


def test_dbapi_sees_the_zone(tmp_path):
    from sqlext import dbapi

    conn = dbapi.connect(dsn=f"chdb://{tmp_path}/db")
    try:
        cur = conn.cursor()
        cur.execute("SELECT toDateTime('2024-01-01 00:00:00', 'Asia/Tokyo') AS t")
        (v,), = cur.fetchall()
        assert v.isoformat() == "2024-01-01T00:00:00+09:00"
        assert cur.description[0][1] == "DateTime('Asia/Tokyo')"
    finally:
        conn.close()


ENUM_WIDE = ("SELECT CAST('b', 'Enum8(\\'a\\' = 1, \\'b\\' = 2)') AS e, "
             "CAST('it''s', 'Enum16(\\'x\\' = -300, \\'it\\\\\\'s\\' = 7)') AS e16, "
             "toInt128(-1) AS i, toUInt256(5) AS u, "
             "toInt256('-57896044618658097711785492504343953926634992332820282019728792003956564819968') AS i256, "
             "CAST(NULL, 'Nullable(UInt128)') AS nu, toInt8(-3) AS small, toFixedString('abcdefghijklmnop', 16) AS fs")


def test_query_arrow_and_df_give_enum_labels_and_wide_integers_as_query_does(session):
    rows = session.query(ENUM_WIDE).rows
    assert rows[0][:6] == ("b", "it's", -1, 5, -2 ** 255, None)
    _, fields = _clickhouse_text(session, ENUM_WIDE)
    t = session.query_arrow(ENUM_WIDE)
    s = t.schema
    assert s.field("e").type == pa.dictionary(pa.int16(), pa.string())
    assert s.field("i").type == pa.string() and s.field("u").type == pa.string()
    assert s.field("i").metadata == {b"clickhouse_type": b"Int128"}
    assert s.field("small").type == pa.int8()  # a plain Int8 stays
    assert s.field("fs").type == pa.binary(16)  # a FixedString(16) stays bytes
    assert [t.column(i).to_pylist()[0] for i in range(6)] == ["b", "it's", "-1", "5", fields[4], None]
    df = session.query_df(ENUM_WIDE)
    assert df.iloc[0].tolist()[:5] == list(rows[0][:5])
    assert type(df["i256"][0]) is int and df["nu"][0] is None
    assert list(df["e"].cat.categories) == ["a", "b"]
    assert list(df["e16"].cat.categories) == ["x", "it's"]


def test_query_arrow_stream_fixes_enum_too(session):
    with session.query_arrow_stream(ENUM_WIDE) as st:
        b = next(st)
    assert b.column(0).to_pylist() == ["b"] and b.column(2).to_pylist() == ["-1"]


@pytest.mark.parametrize("sql", ["SHOW TABLES", "EXPLAIN SELECT 1", "DESCRIBE TABLE t", "SHOW DATABASES"])
def test_query_arrow_stream_reads_statements_chdb_does_not_stream(session, sql):
    session.command("CREATE TABLE t (a UInt8, b String) ENGINE = Memory")
    expected = session.query(sql).rows
    with session.query_arrow_stream(sql, batch_rows=2) as st:
        batches = list(st)
    assert all(b.num_rows <= 2 for b in batches)
    got = [tuple(r.values()) for b in batches for r in b.to_pylist()]
    assert [tuple(x) for x in got] == [tuple(x) for x in expected]


def test_insert_of_a_bad_value_is_a_usage_error_naming_the_column(session):
    session.command("CREATE TABLE t (a UInt8, b String, d Date) ENGINE = Memory")
    with pytest.raises(UsageError) as e:
        session.insert("t", [[1, "x", None], ["zz", "y", None]], ["a", "b", "d"])
    msg = str(e.value)
    assert "'a'" in msg and "UInt8" in msg and "'zz'" in msg and "row 2" in msg
    with pytest.raises(UsageError, match=r"column 'd' \(Date\).*'notadate'"):
        session.insert("t", [[1, "x", "notadate"]], ["a", "b", "d"])
    with pytest.raises(UsageError, match=r"column 'b' \(String\)"):
        session.insert("t", [[1], [2]], ["a", "b"], column_oriented=True)
    with pytest.raises(UsageError, match=r"column 'a' \(UInt8\).*300"):
        session.insert("t", [[300, "x", None]], ["a", "b", "d"])
    assert session.query("SELECT count() FROM t").rows == [(0,)]
    session.insert("t", [[1, "x", dt.date(2024, 1, 1)]], ["a", "b", "d"])
    assert session.query("SELECT count() FROM t").rows == [(1,)]
