"""sqlext.dbapi, the DB-API 2.0 (PEP 249) driver, on the embedded engine: the classic compliance
suite (dbapi20.py from the `dbapi-compliance` package), EMBED with parameters, pandas.read_sql,
parameter types checked against ClickHouse's own toTypeName, and the PEP 249 error classes."""
from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import uuid
import warnings

import numpy as np
import pytest

from tests.photo_tables import IMAGE, TEXTS, create_photos, hybrid_sql
from sqlext import dbapi

dbapi20 = pytest.importorskip("dbapi20")


# --------------------------------------------------------------------- the compliance suite
class TestDBAPI20Compliance(dbapi20.DatabaseAPI20Test):
    """Stuart Bishop's DB-API 2.0 test suite. Each test connects to the embedded database of the
    test's own data directory (the autouse fixture in conftest.py sets EMBEDSQL_DATA_DIR)."""

    driver = dbapi
    connect_args = ()
    connect_kw_args = {}
    # ClickHouse tables need an engine; NULL needs Nullable
    ddl1 = "create table %sbooze (name String) ENGINE = MergeTree ORDER BY tuple()" % dbapi20.DatabaseAPI20Test.table_prefix
    ddl2 = ("create table %sbarflys (name String, drink Nullable(String)) ENGINE = MergeTree ORDER BY tuple()"
            % dbapi20.DatabaseAPI20Test.table_prefix)

    def test_nextset(self):
        # nextset is optional; this driver returns one result set per execute and has none
        con = self._connect()
        try:
            self.assertFalse(hasattr(con.cursor(), "nextset"))
        finally:
            con.close()

    def test_setoutputsize(self):
        con = self._connect()
        try:
            cur = con.cursor()
            cur.setoutputsize(1000)  # a no-op, as PEP 249 allows
            cur.execute("select 1")
            self.assertEqual(cur.fetchall(), [(1,)])
        finally:
            con.close()

    def test_non_idempotent_close(self):
        # dbapi20 asks a second close() to raise; like sqlite3 and psycopg, close() here is
        # idempotent ("reasonable persons differ", says the suite). Any other use raises.
        con = self._connect()
        con.close()
        con.close()
        self.assertRaises(dbapi.InterfaceError, con.cursor)


# --------------------------------------------------------------------------- with EMBED
@pytest.fixture(scope="module")
def embedder(tiny_clip, tmp_path_factory):
    from embed import Embedder

    return Embedder(str(tiny_clip), cache_dir=tmp_path_factory.mktemp("vec-cache"))


@pytest.fixture
def conn(tmp_path, embedder):
    c = dbapi.connect(f"chdb://{tmp_path}/db", embedder=embedder)
    c.photo_rows = create_photos(c.session)
    yield c
    c.close()


@pytest.mark.parametrize("i", [0, 3])
def test_embed_argument_as_a_parameter(conn, i):
    cur = conn.cursor()
    cur.execute(hybrid_sql(i, placeholder="%(q)s"), {"q": TEXTS[i]})
    rows = cur.fetchall()
    assert rows[0][0] == f"p{i}" and rows[0][1] == pytest.approx(0.0, abs=1e-5)
    assert [d[0] for d in cur.description] == ["photo_id", "dist"]
    # the metadata filter as a server-side parameter, the EMBED argument positional
    cur.execute("SELECT photo_id FROM photos WHERE year >= %s "
                "ORDER BY cosineDistance(photo_embed, EMBED(%s)) LIMIT 1", (2000, TEXTS[i]))
    assert cur.fetchone() == (f"p{i}",)
    # an image path as the parameter
    cur.execute("SELECT photo_id FROM photos ORDER BY cosineDistance(photo_embed, EMBED(%(img)s)) LIMIT 1",
                {"img": str(IMAGE)})
    assert cur.fetchone() == ("cat-photo",)


def test_embed_parameter_never_reaches_sql_text_unquoted(conn):
    cur = conn.cursor()
    nasty = "it's a cat'); DROP TABLE photos; --"
    cur.execute("SELECT photo_id FROM photos ORDER BY cosineDistance(photo_embed, EMBED(%(q)s)) LIMIT 1",
                {"q": nasty})
    assert len(cur.fetchall()) == 1
    cur.execute("SELECT count() FROM photos WHERE photo_description = %(d)s", {"d": nasty})
    assert cur.fetchone() == (0,)
    cur.execute("SELECT count() FROM photos")
    assert cur.fetchone() == (6,)
    with pytest.raises(dbapi.ProgrammingError, match="EMBED argument"):
        cur.execute("SELECT EMBED(%(q)s)", {"q": [1, 2]})


def test_lint_warnings_reach_messages(conn):
    cur = conn.cursor()
    # a distance threshold in WHERE: the index cannot serve it (lint 1)
    cur.execute("SELECT photo_id FROM photos WHERE cosineDistance(photo_embed, EMBED(%(q)s)) < 0.5",
                {"q": TEXTS[1]})
    assert cur.messages and all(cls is dbapi.Warning for cls, _ in cur.messages)
    assert any("WHERE" in str(w) for _, w in cur.messages)
    cur.execute("SELECT 1")
    assert cur.messages == []


def test_description_types_and_rowcount(conn):
    cur = conn.cursor()
    cur.execute("SELECT id, photo_id, taken_at, rating, photo_embed, toDecimal64(1.5, 3) AS price "
                "FROM photos ORDER BY id")
    desc = {d[0]: d for d in cur.description}
    assert desc["id"][1] == "UInt64" and desc["id"][1] == dbapi.NUMBER
    assert desc["photo_id"][1] == dbapi.STRING and desc["photo_id"][1] != dbapi.NUMBER
    assert desc["taken_at"][1].startswith("DateTime") and desc["taken_at"][1] == dbapi.DATETIME
    assert desc["rating"][1] == "Nullable(Float32)" and desc["rating"][6] is True
    assert desc["photo_embed"][1] == "Array(Float32)" and desc["id"][6] is False
    assert desc["price"][1] == "Decimal(18, 3)" and desc["price"][4:6] == (18, 3)
    assert cur.rowcount == 6
    row = cur.fetchone()
    assert row[3] == 0.0 and len(row[4]) == 512
    assert cur.fetchone()[3] is None  # NULL is None
    assert len(cur.fetchmany(2)) == 2 and len(cur.fetchall()) == 2 and cur.fetchone() is None
    cur.execute("INSERT INTO photos (id, photo_id, photo_embed) VALUES (%(id)s, 'x', %(v)s)",
                {"id": 500, "v": np.ones(512, dtype=np.float32) / np.sqrt(512)})
    assert cur.description is None and cur.rowcount == -1
    with pytest.raises(dbapi.ProgrammingError, match="no result"):
        cur.fetchall()


def test_empty_result_has_a_description(conn):
    cur = conn.cursor()
    cur.execute("SELECT id, photo_id FROM photos WHERE year > %(y)s", {"y": 3000})
    assert [(d[0], d[1]) for d in cur.description] == [("id", "UInt64"), ("photo_id", "String")]
    assert cur.fetchall() == [] and cur.rowcount == 0


def test_pandas_read_sql_with_embed(conn):
    pd = pytest.importorskip("pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pandas: "other DBAPI2 objects are not tested"
        df = pd.read_sql(hybrid_sql(2), conn)
        assert list(df.columns) == ["photo_id", "dist"] and df["photo_id"].iloc[0] == "p2"
        df = pd.read_sql(hybrid_sql(4, placeholder="%(q)s"), conn, params={"q": TEXTS[4]})
        assert df["photo_id"].iloc[0] == "p4"
        empty = pd.read_sql("SELECT photo_id, year FROM photos WHERE year < %(y)s", conn, params={"y": 1000})
        assert list(empty.columns) == ["photo_id", "year"] and len(empty) == 0


# ------------------------------------------------------------------- parameters and types
VALUES = [
    None, True, 7, -2**63, 2**64 - 1, 2**100, 1.5, np.float32(0.25), np.int16(-3),
    decimal.Decimal("12.340"), decimal.Decimal("-0.001"), decimal.Decimal("1E+3"),
    "it's a \\ back'slash %s {x:String} \n newline", "",
    dt.datetime(2024, 1, 2, 3, 4, 5, 123456), dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    dt.date(1950, 6, 1), uuid.UUID(int=12345), ipaddress.IPv4Address("10.1.2.3"),
    [1, 2, 3], (1.5, 2), ["a", None], [[1], [2, 3]], [], np.array([0.5, 1.5], dtype=np.float32),
    np.array([[1, 2], [3, 4]], dtype=np.int64), {1, 2},
]


def test_parameter_types_agree_with_clickhouse(tmp_path):
    """The type bound for each value is the one ClickHouse reports for it (toTypeName), and the
    value comes back as sent."""
    with dbapi.connect(f"chdb://{tmp_path}/db") as c:
        cur = c.cursor()
        for value in VALUES:
            cur.execute("SELECT %(v)s AS v, toTypeName(v)", {"v": value})
            got, ch_type = cur.fetchone()
            assert ch_type == dbapi.param_type(value), value
            expected = value
            if isinstance(value, np.ndarray):
                expected = value.tolist()
            elif isinstance(value, (tuple, set)):
                expected = sorted(value) if isinstance(value, set) else list(value)
                got = sorted(got) if isinstance(value, set) else got
            elif isinstance(value, dt.datetime) and value.tzinfo is not None:
                got = got if got.tzinfo else got.replace(tzinfo=dt.timezone.utc)
            elif isinstance(value, ipaddress.IPv4Address):
                got = ipaddress.IPv4Address(got)
            assert got == expected, value


def test_bytes_parameter_is_stored_raw(tmp_path):
    with dbapi.connect(f"chdb://{tmp_path}/db") as c:
        cur = c.cursor()
        raw = bytes(range(256))
        cur.execute("SELECT length(%(b)s), hex(%(b)s) = %(h)s", {"b": raw, "h": raw.hex().upper()})
        assert cur.fetchone() == (256, True)


def test_in_list_and_repeated_names(tmp_path):
    with dbapi.connect(f"chdb://{tmp_path}/db") as c:
        cur = c.cursor()
        cur.execute("SELECT number FROM numbers(10) WHERE number IN %(ids)s AND number != %(skip)s "
                    "AND number + %(skip)s > 0 ORDER BY number", {"ids": (2, 5, 7), "skip": 5})
        assert cur.fetchall() == [(2,), (7,)]


@pytest.mark.parametrize("sql, params, message", [
    ("SELECT %(a)s", {"b": 1}, "no value for the parameter %\\(a\\)s"),
    ("SELECT %s, %s", (1,), "more %s placeholders"),
    ("SELECT %s", (1, 2), "2 parameters given for 1"),
    ("SELECT %s", {"a": 1}, "positional %s"),
    ("SELECT %(a)s", (1,), "sequence"),
    ("SELECT %d", (1,), "unsupported placeholder '%d'"),
    ("SELECT 100 % 3 = %s", (1,), "unsupported placeholder"),
    ("SELECT %s", "abc", "mapping .* or a sequence"),
    ("SELECT %s AS x FORMAT JSON", (1,), "own FORMAT clause"),
])
def test_parameter_mistakes_are_programming_errors(tmp_path, sql, params, message):
    with dbapi.connect(f"chdb://{tmp_path}/db") as c:
        with pytest.raises(dbapi.ProgrammingError, match=message):
            c.cursor().execute(sql, params)


@pytest.mark.parametrize("value, message", [
    ({"a": 1}, "dict"), ([1, "x"], "mixes Int64, String"), (2**300, "too large"), (object(), "cannot pass a object"),
    ([[1], None], "Nullable"),
])
def test_values_without_a_clickhouse_type_are_not_supported(tmp_path, value, message):
    with dbapi.connect(f"chdb://{tmp_path}/db") as c:
        with pytest.raises(dbapi.NotSupportedError, match=message):
            c.cursor().execute("SELECT %(v)s", {"v": value})


def test_without_parameters_percent_is_literal(tmp_path):
    with dbapi.connect(f"chdb://{tmp_path}/db") as c:
        cur = c.cursor()
        cur.execute("SELECT 100 % 7, '%s'")
        assert cur.fetchone() == (2, "%s")
        cur.execute("SELECT 100 %% 7, '%%s', %(x)s", {"x": 1})
        assert cur.fetchone() == (2, "%s", 1)


# --------------------------------------------------------------------------------- errors
def test_errors_map_to_pep249_classes(conn, tmp_path):
    cur = conn.cursor()
    with pytest.raises(dbapi.ProgrammingError, match="UNKNOWN_TABLE|Unknown table") as err:
        cur.execute("SELECT * FROM no_such_table")
    assert err.value.code == 60 and isinstance(err.value.__cause__, Exception)
    with pytest.raises(dbapi.ProgrammingError, match="SYNTAX_ERROR|Syntax error"):
        cur.execute("SELEC 1")
    with pytest.raises(dbapi.ProgrammingError, match="EMBED"):
        cur.execute("SELECT EMBED(photo_id) FROM photos")  # not a literal: the rewrite refuses
    with pytest.raises(dbapi.IntegrityError, match="VIOLATED_CONSTRAINT|Constraint"):
        cur.execute("INSERT INTO photos (id, photo_embed) VALUES (%(id)s, %(v)s)", {"id": 1000, "v": [1.0, 2.0]})
    with pytest.raises(dbapi.DataError, match="cannot embed") as err:
        cur.execute("SELECT photo_id FROM photos ORDER BY cosineDistance(photo_embed, EMBED(%(p)s)) LIMIT 1",
                    {"p": str(tmp_path / "missing.jpg")})
    assert err.value.hint
    with pytest.raises(dbapi.DataError, match="CANNOT_PARSE|Cannot parse"):
        cur.execute("SELECT toInt32(%(s)s)", {"s": "not a number"})
    assert issubclass(dbapi.IntegrityError, dbapi.DatabaseError) and issubclass(dbapi.DatabaseError, dbapi.Error)
    with pytest.raises(dbapi.InterfaceError, match="unsupported DSN scheme"):
        dbapi.connect("ftp://host/db")
    with pytest.raises(dbapi.OperationalError, match="cannot reach"):
        bad = dbapi.connect("http://127.0.0.1:9/default?connect_timeout=2", password="")
        bad.cursor().execute("SELECT 1")
    cur.close()
    with pytest.raises(dbapi.InterfaceError, match="cursor is closed"):
        cur.execute("SELECT 1")
    with pytest.raises(dbapi.NotSupportedError, match="no transactions"):
        conn.rollback()
    conn.commit()  # nothing to commit, and no error
