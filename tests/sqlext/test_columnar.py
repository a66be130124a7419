"""Columnar results (Session.query_arrow / query_df / query_np / query_arrow_stream) on the
embedded engine, and the stream over HTTP (tests/chserver.py): types, NULLs, vectors, empty
results, EMBED, errors, and streaming that never materializes the whole result."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import sqlext
from tests.photo_tables import create_photos, hybrid_sql
from sqlext.errors import RewriteError, ServerError, UsageError


@pytest.fixture(scope="module")
def embedder(tiny_clip, tmp_path_factory):
    from embed import Embedder

    return Embedder(str(tiny_clip), cache_dir=tmp_path_factory.mktemp("vec-cache"))


@pytest.fixture
def session(tmp_path, embedder):
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db", embedder=embedder)
    s.photo_rows = create_photos(s)  # the rows as inserted, vectors included
    yield s
    s.close()


def _stored_vector(session, i: int) -> np.ndarray:
    return np.asarray(session.photo_rows[i][-1], dtype=np.float32)


def test_query_arrow_types_nulls_and_fixed_size_vectors(session):
    t = session.query_arrow("SELECT id, photo_id, year, taken_at, rating, photo_embed FROM photos ORDER BY id")
    assert isinstance(t, pa.Table)
    s = t.schema
    assert s.field("id").type == pa.uint64() and s.field("year").type == pa.uint16()
    assert s.field("photo_id").type == pa.string()
    assert s.field("taken_at").type == pa.timestamp("s", tz="UTC")  # ClickHouse sends uint32 seconds
    assert s.field("rating").type == pa.float32() and s.field("rating").nullable
    assert s.field("photo_embed").type == pa.list_(pa.float32(), 512)  # fixed_size_list<float>[512]
    assert t.column("rating").to_pylist() == [0.0, None, 2.0, None, 4.0, 5.0]
    assert t.column("taken_at")[1].as_py() == dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.timezone.utc)
    row0 = np.asarray(t.column("photo_embed")[0].values.to_numpy())
    np.testing.assert_array_equal(row0, _stored_vector(session, 0))


def test_datetime_keeps_its_time_zone_and_other_uint32_stay(session):
    t = session.query_arrow("SELECT toDateTime('2024-01-02 03:04:05', 'Asia/Tokyo') AS tk, "
                            "toUInt32(7) AS n, toDateTime64('2024-01-02 03:04:05.5', 3, 'UTC') AS t64")
    assert t.schema.field("tk").type == pa.timestamp("s", tz="Asia/Tokyo")
    assert t.column("tk")[0].as_py().isoformat() == "2024-01-02T03:04:05+09:00"
    assert t.schema.field("n").type == pa.uint32() and t.column("n")[0].as_py() == 7
    assert t.schema.field("t64").type == pa.timestamp("ms", tz="UTC")


def test_ragged_arrays_stay_lists_and_fixed_vectors_can_be_turned_off(session):
    t = session.query_arrow("SELECT arrayMap(x -> toFloat32(x), range(number)) AS a FROM numbers(1, 3)")
    a_type = t.schema.field("a").type
    assert pa.types.is_list(a_type) and a_type.value_type == pa.float32()  # 1, 2, 3 elements: no matrix
    assert t.column("a").to_pylist() == [[0.0], [0.0, 1.0], [0.0, 1.0, 2.0]]
    t = session.query_arrow("SELECT photo_embed FROM photos", fixed_vectors=False)
    assert pa.types.is_list(t.schema.field("photo_embed").type)


def test_hybrid_query_with_embed_and_params(session):
    t = session.query_arrow(hybrid_sql(2))
    assert t.column("photo_id")[0].as_py() == "p2"
    assert t.column("dist")[0].as_py() == pytest.approx(0.0, abs=1e-5)
    t = session.query_arrow("SELECT photo_id FROM photos WHERE year >= {y:UInt16} "
                            "ORDER BY cosineDistance(photo_embed, EMBED('a red cup of coffee')) LIMIT 1",
                            params={"y": 2001})
    assert t.column("photo_id").to_pylist() == ["p1"]


def test_empty_result_keeps_columns(session):
    t = session.query_arrow("SELECT id, photo_id, photo_embed FROM photos WHERE id > 1000")
    assert t.num_rows == 0 and t.column_names == ["id", "photo_id", "photo_embed"]
    df = session.query_df("SELECT id, photo_id FROM photos WHERE id > 1000")
    assert list(df.columns) == ["id", "photo_id"] and len(df) == 0
    a = session.query_np("SELECT id, photo_id FROM photos WHERE id > 1000")
    assert a.shape == (0,) and a.dtype.names == ("id", "photo_id")


def test_query_df_vectors_are_float32_arrays_and_nullable_ints(session):
    df = session.query_df("SELECT id, photo_id, taken_at, CAST(rating AS Nullable(Int32)) AS r, photo_embed "
                          "FROM photos ORDER BY id")
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["id", "photo_id", "taken_at", "r", "photo_embed"]
    assert str(df["id"].dtype) == "uint64"
    assert str(df["r"].dtype) == "Int32" and df["r"].isna().tolist() == [False, True, False, True, False, False]
    assert str(df["taken_at"].dtype) == "datetime64[s, UTC]"
    cell = df["photo_embed"].iloc[0]
    assert isinstance(cell, np.ndarray) and cell.dtype == np.float32 and cell.shape == (512,)
    np.testing.assert_array_equal(cell, _stored_vector(session, 0))
    top = session.query_df(hybrid_sql(3))
    assert top["photo_id"].iloc[0] == "p3"


def test_query_np_shapes(session):
    m = session.query_np("SELECT photo_embed FROM photos ORDER BY id")
    assert m.dtype == np.float32 and m.shape == (6, 512)
    np.testing.assert_array_equal(m[4], _stored_vector(session, 4))
    a = session.query_np("SELECT id, photo_id, photo_embed FROM photos ORDER BY id")
    assert a.dtype.names == ("id", "photo_id", "photo_embed")
    assert a["photo_embed"].shape == (6, 512) and a["photo_embed"].dtype == np.float32
    assert a["photo_id"].tolist() == ["p0", "p1", "p2", "p3", "p4", "cat-photo"]
    same = session.query_np("SELECT id, toUInt64(year) AS y FROM photos ORDER BY id")
    assert same.shape == (6, 2) and same.dtype == np.uint64 and same[1].tolist() == [1, 2001]
    nulls = session.query_np("SELECT CAST(rating AS Nullable(Int32)) AS r FROM photos ORDER BY id")
    assert np.isnan(nulls[1, 0]) and nulls[2, 0] == 2
    # no rows: the vector column's length comes from the table (it was a (0, 1) object array)
    none = session.query_np("SELECT photo_embed FROM photos WHERE id > 1000")
    assert none.shape == (0, 512) and none.dtype == np.float32
    assert np.vstack([m, none]).shape == (6, 512)
    rows = session.query_np("SELECT id, photo_embed FROM photos WHERE id > 1000")
    assert rows.shape == (0,) and rows["photo_embed"].shape == (0, 512)


def test_embed_columns_are_named_as_written(session):
    """An EMBED expression without an alias is named with the call as written, as in query()."""
    sql = "SELECT photo_id, cosineDistance(photo_embed, EMBED('a cat')) FROM photos ORDER BY id LIMIT 2"
    names = session.query(sql).columns
    assert "EMBED('a cat')" in names[1]
    assert session.query_arrow(sql).column_names == names
    assert list(session.query_df(sql).columns) == names
    assert session.query_arrow_stream(sql).read_all().column_names == names
    assert [n for n, _ in session.columns_of(sql)] == names


def test_errors_are_ours(session):
    with pytest.raises(ServerError, match="UNKNOWN_TABLE|Unknown table"):
        session.query_arrow("SELECT * FROM no_such_table")
    with pytest.raises(UsageError, match="one statement; this text holds 2"):
        session.query_arrow("SELECT 1; SELECT 2")
    # query / command / execute too (the text went as one: the rows were the last statement's
    # bytes in one string, unplanned; `SELECT 1; <a top-k>` raised a bare IndexError)
    for call in (session.query, session.command, session.execute, session.raw_query, session.raw_stream):
        with pytest.raises(UsageError, match=r"\(\) runs one statement; this text holds 2") as e:
            call("SET max_threads = 1; SELECT number FROM numbers(3)")
        assert "run_script" in e.value.hint
    assert session.query("SELECT 'a;b' AS s;").rows == [("a;b",)]  # a ';' in a string, a trailing one
    session.execute("CREATE TABLE semi (a String) ENGINE = MergeTree ORDER BY a")
    session.execute("INSERT INTO semi FORMAT TSV\nx;y\n")  # one statement: its data holds the ';'
    assert session.query("SELECT a FROM semi").rows == [("x;y",)]
    for text in ("INSERT INTO semi SELECT 'a' /* FORMAT x */; DROP TABLE semi",  # FORMAT, not a clause
                 "INSERT INTO semi SELECT format FROM (SELECT 'csv' AS format); SELECT 42"):
        with pytest.raises(UsageError, match="this text holds 2"):
            session.query(text)
    session.execute("INSERT INTO semi SELECT '" + "x" * 5000 + "'")  # a string across the 4 KB looked at
    session.query("INSERT INTO semi SELECT 'once'")  # run once (the empty result's header is not asked)
    assert session.query("SELECT count() FROM semi WHERE a = 'once'").rows == [(1,)]
    with pytest.raises(RewriteError):
        session.query_df("SELECT EMBED(photo_id) FROM photos")
    with pytest.raises(UsageError, match="own FORMAT clause"):
        session.query_arrow("SELECT 1 FORMAT JSON")
    with pytest.raises(ServerError) as err:  # the defaults embedsql adds do not show as the user's
        session.query_arrow("SELECT cosineDistance(photo_embed, [1.0]) FROM no_such_table")
    assert "hnsw_candidate" not in str(err.value)


def test_columns_of_describes_without_running(session):
    sql = "SELECT photo_id, cosineDistance(photo_embed, EMBED('a cat')) AS d, {x:String} AS x FROM photos"
    cols = session.columns_of(sql, params={"x": "v"})
    ran = session.query(sql, params={"x": "v"})  # the oracle: what running it reports
    assert cols == list(zip(ran.columns, ran.types))
    assert [c[0] for c in cols] == ["photo_id", "d", "x"]
    assert session.columns_of("SELECT id FROM photos WHERE 0") == [("id", "UInt64")]


def test_stream_batches_and_corrections(session):
    sql = ("SELECT number AS n, [toFloat32(number), toFloat32(1)] AS v, toDateTime(number, 'UTC') AS t "
           "FROM numbers(50000)")
    seen = 0
    with session.query_arrow_stream(sql, batch_rows=8000) as stream:
        for batch in stream:
            assert isinstance(batch, pa.RecordBatch) and 0 < batch.num_rows <= 8000
            assert batch.schema.field("v").type == pa.list_(pa.float32(), 2)
            assert batch.schema.field("t").type == pa.timestamp("s", tz="UTC")
            assert batch.column("n")[0].as_py() == batch.column("v")[0].as_py()[0]
            seen += batch.num_rows
    assert seen == 50000
    table = session.query_arrow_stream(hybrid_sql(4)).read_all()
    assert table.column("photo_id")[0].as_py() == "p4"


def test_stream_never_materializes_and_closing_releases_the_engine(session):
    from sqlext.db.engine import EMBEDDED

    # ten billion rows: only a stream that reads as it goes returns a first batch
    stream = session.query_arrow_stream("SELECT number FROM numbers(10000000000)", batch_rows=1000)
    first = next(stream)
    assert first.num_rows == 1000 and first.column(0)[0].as_py() == 0
    assert EMBEDDED.depth == 1  # held while the stream is open
    stream.close()
    assert EMBEDDED.depth == 0
    assert session.query("SELECT count() FROM photos").rows == [(6,)]


def test_stream_errors(session):
    with pytest.raises(ServerError, match="UNKNOWN_TABLE|Unknown table") as err:
        for _ in session.query_arrow_stream("SELECT * FROM no_such_table"):
            pass
    assert "Streaming query failed" not in str(err.value)
    rows = 0
    with pytest.raises(ServerError, match="FUNCTION_THROW_IF_VALUE_IS_NON_ZERO|throwIf"):
        # one thread, small blocks: the failing block comes well after the first ones
        for batch in session.query_arrow_stream("SELECT throwIf(number > 200000) AS x FROM numbers(300000)",
                                                batch_rows=1000, settings={"max_threads": 1, "max_block_size": 1000}):
            rows += batch.num_rows
    assert rows > 0  # the failure came mid-stream, after batches were delivered
    with pytest.raises(UsageError, match="batch_rows"):
        session.query_arrow_stream("SELECT 1", batch_rows=0)
    with pytest.raises(UsageError, match="not a ClickHouse setting name"):
        next(session.query_arrow_stream("SELECT 1", settings={"bad name": 1}))


def test_stream_over_http_kills_the_query_when_closed_early(tmp_path):
    from tests.chserver import ChServer

    with ChServer(tmp_path / "srv", user="u", password="pw") as srv:
        s = sqlext.connect(srv.dsn(), password="pw")
        t = s.query_arrow("SELECT number, [toFloat32(number), 2] AS v, toDateTime(number) AS t FROM numbers(3)")
        assert t.schema.field("v").type == pa.list_(pa.float32(), 2)
        assert t.schema.field("t").type == pa.timestamp("s", tz="UTC")
        total = sum(b.num_rows for b in s.query_arrow_stream("SELECT number FROM numbers(200000)"))
        assert total == 200000
        # (the stand-in answers with the whole result at once, so this cannot show streaming
        # itself: clickhouse-connect's ArrowStream reads a real server's response as it comes)
        stream = s.query_arrow_stream("SELECT number FROM numbers(2000000)")
        assert next(stream).num_rows < 2000000
        stream.close()
        assert any(e["query"].startswith("KILL QUERY") for e in srv.log())
        s.close()
