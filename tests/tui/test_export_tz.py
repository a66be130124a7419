"""Export of a DateTime with a time zone (chdb leaves the zone out of its Native answers): CSV as
ClickHouse's own CSVWithNames writes it (ClickHouse as the oracle, `Session.raw_query`), JSON with
the wall-clock time, Parquet as a timestamp with the column's zone."""
from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

import sqlext
from tui.export import export_result

SQL = ("SELECT 1 AS id, toDateTime('2024-01-01 00:00:00', 'Asia/Tokyo') AS t, "
       "CAST(NULL, 'Nullable(DateTime(\\'America/New_York\\'))') AS n, "
       "toDateTime64('2024-01-01 00:00:00.5', 3, 'America/New_York') AS d64")


@pytest.fixture
def session(tmp_path):
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    yield s
    s.close()


def test_csv_of_a_zoned_datetime_is_clickhouses(session, tmp_path):
    path = export_result(session.query(SQL), tmp_path / "x.csv")
    assert path.read_bytes() == session.raw_query(SQL, fmt="CSVWithNames")


def test_json_of_a_zoned_datetime_is_clickhouses(session, tmp_path):
    path = export_result(session.query(SQL), tmp_path / "x.jsonl")
    assert json.loads(path.read_text()) == json.loads(session.raw_query(SQL, fmt="JSONEachRow"))


def test_parquet_of_a_zoned_datetime_keeps_the_zone(session, tmp_path):
    path = export_result(session.query(SQL), tmp_path / "x.parquet")
    t = pq.read_table(path)
    f = t.schema.field("t")
    assert f.type.tz == "Asia/Tokyo"  # (Parquet has no seconds unit: pyarrow stores ms)
    assert f.metadata[b"clickhouse_type"] == b"DateTime('Asia/Tokyo')"
    assert t.column("t")[0].as_py().isoformat() == "2024-01-01T00:00:00+09:00"
    assert t.schema.field("n").type.tz == "America/New_York" and t.column("n")[0].as_py() is None
