"""Results of every ClickHouse type, shown and exported as ClickHouse writes them (issue 12).

ClickHouse is the oracle: each test runs the same query on chdb directly (`Session.raw_query`,
which passes the server's bytes through) and compares embedsql's output with it, byte for byte.
The table `alltypes` (tests/alltypes.py) has a column of every type, NULLs, extremes and hostile
strings."""
from __future__ import annotations

import json
import os

import pytest

from tests import alltypes
from tests.alltypes import HOSTILE
from tui import chtext
from tui.export import ExportError, export_result

Q = "SELECT * FROM alltypes ORDER BY id"
Q_EMPTY = "SELECT * FROM alltypes WHERE id > 1000 ORDER BY id"
# Python's datetime holds microseconds: a DateTime64(9) value keeps 6 of its 9 decimals
NS_COLUMNS = {"dt9"}


@pytest.fixture
def db(tmp_path, embedder):
    import sqlext

    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db", embedder=embedder)
    alltypes.create(s)
    yield s
    s.close()


# -- the Python values written as ClickHouse writes them ------------------------------------------------
def test_text_of_every_value_is_clickhouses_own(db):
    r = db.query(Q)
    names, types, rows = chtext.parse_tsv(db.raw_query(Q, fmt="TSVWithNamesAndTypes"))
    assert names == r.columns and len(rows) == len(r.rows) == 5 + len(HOSTILE)
    checked = 0
    for prow, want_row in zip(r.rows, rows):
        for name, t, v, want in zip(names, r.types, prow, want_row):
            got = chtext.text(v, t)
            if name in NS_COLUMNS:
                assert want.startswith(got) and len(want) == len(got) + 3, (name, got, want)
            else:
                assert got == want, (prow[0], name, t, got, want)
            checked += 1
    assert checked == len(names) * len(rows)


def test_float_text_follows_clickhouse(db):
    values = [1, -0.0, 1e300, 0.1, 1e-7, 1e-6, 1e20, 1e21, 1e16, 123456789.123, 1 / 3, 5e-324,
              1.7976931348623157e308, 100, 1e15, 123e-10, 2.5e-5, 1234.5e10]
    lit = ", ".join(repr(v) for v in values)
    got64 = db.raw_query(f"SELECT toFloat64(x) FROM (SELECT arrayJoin([{lit}]) AS x)", fmt="TSV").decode().split()
    got32 = db.raw_query(f"SELECT toFloat32(x) FROM (SELECT arrayJoin([{lit}]) AS x)", fmt="TSV").decode().split()
    assert [chtext.float_text(v) for v in values] == got64
    import numpy as np

    with np.errstate(over="ignore"):  # 1e300 as Float32 is inf, in ClickHouse too
        assert [chtext.float_text(float(np.float32(v)), f32=True) for v in values] == got32


def test_csv_and_json_exports_are_clickhouses_bytes(db, tmp_path):
    q = "SELECT * EXCEPT dt9 FROM alltypes ORDER BY id"
    r = db.query(q)
    csv_path = export_result(r, tmp_path / "out.csv")
    assert csv_path.read_bytes() == db.raw_query(q, fmt="CSVWithNames")
    jl = export_result(r, tmp_path / "out.jsonl")
    want = db.raw_query(q + " SETTINGS output_format_json_quote_64bit_integers = 0, "
                            "output_format_json_quote_denormals = 1", fmt="JSONEachRow")
    assert jl.read_bytes() == want
    js = export_result(r, tmp_path / "out.json")
    assert js.read_bytes() == b"[\n" + want.rstrip(b"\n").replace(b"\n", b",\n") + b"\n]\n"
    assert len(json.loads(js.read_bytes().decode("utf-8", "surrogateescape"))) == len(r.rows)


def _structure(db) -> str:
    return ", ".join(f"`{n}` {t}" for n, t, *_ in db.query("DESCRIBE TABLE alltypes").rows)


# Dynamic and Variant values are written as ClickHouse writes them, without their type: read back,
# their type is inferred again ('42' may come back as [42]). The rest must come back as it was.
ROUND_TRIP = "* EXCEPT (dt9, dyn, var)"


@pytest.mark.parametrize("ext, ch_format, settings", [
    ("csv", "CSVWithNames", " SETTINGS input_format_with_names_use_header = 0"),  # tuples are t.1, t.2
    ("json", "JSONEachRow", ""),
    ("jsonl", "JSONEachRow", ""),
    ("parquet", "Parquet", ""),
])
def test_every_export_format_round_trips_through_clickhouse(db, tmp_path, ext, ch_format, settings):
    from sqlext.text.ddl import string_literal

    r = db.query(Q)
    out = export_result(r, tmp_path / f"all.{ext}")
    assert out.exists() and not [p for p in os.listdir(tmp_path) if p.endswith(".part")]
    cols = ROUND_TRIP if ext != "parquet" else ROUND_TRIP.replace(")", ", tm6)")  # see below
    back = db.raw_query(f"SELECT {cols} FROM file({string_literal(str(out))}, '{ch_format}', "
                        f"{string_literal(_structure(db))}){settings}", fmt="TSV")
    assert back == db.raw_query(f"SELECT {cols} FROM alltypes ORDER BY id", fmt="TSV")


def test_parquet_has_natural_arrow_types_and_the_values(db, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    r = db.query(Q)
    t = pq.read_table(export_result(r, tmp_path / "all.parquet"))
    types = {f.name: f.type for f in t.schema}
    assert types["u64"] == pa.uint64() and types["f32"] == pa.float32() and types["b"] == pa.bool_()
    assert types["d"] == pa.decimal128(9, 3) and types["d76"] == pa.decimal256(76, 30)
    assert types["fs"] == pa.binary(4) and types["day32"] == pa.date32()
    assert types["dt3"] == pa.timestamp("ms", tz="Asia/Tokyo") and types["dt9"] == pa.timestamp("ns", tz="UTC")
    assert types["tm"] == pa.duration("s") and types["tm6"] == pa.duration("us")
    assert types["uid"] == pa.uuid() and types["arr"] == pa.list_(pa.int32())
    assert types["ntup"] == pa.struct([("a", pa.int32()), ("b", pa.string())])
    assert types["mp"] == pa.map_(pa.string(), pa.uint64()) and types["vec"] == pa.list_(pa.float32())
    for documented_string in ("i128", "u256", "i256", "ip4", "ip6", "js", "dyn", "var"):
        assert types[documented_string] == pa.string(), documented_string
    assert t.schema.field("e8").metadata[b"clickhouse_type"].startswith(b"Enum8(")
    # every value read back with pyarrow is the value the query returned (the string columns:
    # ClickHouse's text of it); ClickHouse itself reads Parquet durations as seconds, so Time64
    # is checked here rather than in the round trip above
    for i, name in enumerate(r.columns):
        got = t.column(name).to_pylist()
        for row, g in zip(r.rows, got):
            v = row[i]
            if types[name] == pa.string():
                assert g == chtext.text(v, r.types[i]), name
            elif name in ("tup", "ntup"):
                assert (None if v is None else list(v.values() if isinstance(v, dict) else v)) == list(g.values())
            elif name == "mp":
                assert g == list(v.items())
            elif name in ("e8", "e16", "fs", "dt3", "dt9", "dt", "dtl", "tm", "tm6", "d", "d38", "d76",
                          "f32", "f64", "nf64", "vec"):
                assert chtext.text(g, r.types[i]) == chtext.text(v, r.types[i]), name
            else:
                assert g == v, name


def test_a_failing_export_leaves_nothing_and_says_why(db, tmp_path):
    r = db.query(Q)
    target = tmp_path / "taken.csv"
    target.mkdir()  # the name the user typed is a directory
    with pytest.raises(ExportError) as e:
        export_result(r, target)
    assert str(target) in str(e.value) and "directory" in str(e.value)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError) as e:
        export_result(r, tmp_path / "file" / "out.parquet")  # its parent is a file
    assert "out.parquet" in str(e.value) and f"{tmp_path / 'file'} is a file, not a folder" in str(e.value)
    with pytest.raises(ExportError) as e:  # a folder that does not exist is not made up
        export_result(r, tmp_path / "no" / "such" / "out.csv")
    assert f"the folder {tmp_path / 'no' / 'such'} does not exist" in str(e.value)
    assert not (tmp_path / "no").exists()
    from sqlext import Result

    bad = Result(columns=["n"], types=["UInt8"], rows=[(1,), ("not a number",)])
    with pytest.raises(ExportError) as e:
        export_result(bad, tmp_path / "bad.parquet")  # fails half-way through the conversion
    assert "bad.parquet" in str(e.value)
    with pytest.raises(ExportError) as e:
        export_result(r, tmp_path / "out.xlsx")
    assert ".parquet" in str(e.value)
    # (config.toml: the tests' isolated, empty config file)
    assert sorted(p for p in os.listdir(tmp_path) if not p.startswith("db") and p != "config.toml") == [
        "file", "taken.csv"]
    assert list(target.iterdir()) == [] and (tmp_path / "file").read_text() == "x"


def test_export_replaces_an_existing_file_whole(db, tmp_path):
    out = tmp_path / "r.csv"
    out.write_text("old content that is longer than the new one " * 100)
    export_result(db.query("SELECT 1 AS a"), out)
    assert out.read_bytes() == b'"a"\n1\n'


# -- empty results ---------------------------------------------------------------------------------
def test_empty_result_keeps_columns_and_types_in_the_python_api(db):
    r = db.query(Q_EMPTY)
    described = db.query("DESCRIBE TABLE alltypes")
    assert r.rows == [] and r.columns == [row[0] for row in described.rows]
    assert len(r.types) == len(r.columns) and r.types[r.columns.index("arr")] == "Array(Nullable(Int32))"
    shown = db.query("SHOW TABLES LIKE 'nothing_like_this%'")
    assert shown.rows == [] and shown.columns == ["name"] and shown.types == ["String"]


@pytest.mark.parametrize("ext", ["csv", "json", "jsonl", "parquet"])
def test_empty_result_exports(db, tmp_path, ext):
    r = db.query(Q_EMPTY)
    out = export_result(r, tmp_path / f"empty.{ext}")
    if ext == "csv":
        assert out.read_bytes() == db.raw_query(Q_EMPTY, fmt="CSVWithNames")
    elif ext == "json":
        assert json.loads(out.read_text()) == []
    elif ext == "jsonl":
        assert out.read_bytes() == b""
    else:
        import pyarrow.parquet as pq

        t = pq.read_table(out)
        assert t.num_rows == 0 and t.column_names == r.columns


# -- the session's raw results -----------------------------------------------------------------------
def test_raw_query_and_stream(db):
    from sqlext.errors import ServerError

    assert db.raw_query("SELECT 1 AS a, 'x' AS b", fmt="CSVWithNames") == b'"a","b"\n1,"x"\n'
    assert db.raw_query("SELECT 1 AS a FORMAT JSONEachRow") == b'{"a":1}\n'  # fmt=None: its own
    assert db.raw_query("SELECT {n:UInt8} + 1 AS a", fmt="TSV", params={"n": 41}) == b"42\n"
    with db.raw_stream("SELECT number FROM numbers(3)", fmt="TSV") as chunks:
        assert b"".join(chunks) == b"0\n1\n2\n"
        assert chunks.stats.sent_sql == "SELECT number FROM numbers(3)"
    with pytest.raises(ServerError) as e:
        db.raw_query("SELECT * FROM nowhere", fmt="CSV")
    assert "nowhere" in str(e.value)
    # EMBED-aware like query(): the vector is spliced in before the statement is sent
    with db.raw_stream("SELECT length(EMBED('a red bicycle')) AS n", fmt="TSV") as chunks:
        assert b"".join(chunks) == b"512\n"
        assert chunks.stats.embed_calls == 1 and "[512 x Float32]" in chunks.stats.sent_sql


# -- the command line ----------------------------------------------------------------------------------
CLI_FORMATS = {"csv": "CSVWithNames", "tsv": "TSVWithNames", "json": "JSON", "jsoneachrow": "JSONEachRow",
               "vertical": "Vertical", "markdown": "Markdown"}
NO_STATS = " SETTINGS output_format_write_statistics = 0"  # JSON's elapsed time differs run to run


_MANY = """
import io, json, sys
from tui.cli import main
runs = json.loads(sys.argv[1])
for n, args in enumerate(runs):
    with open(f"{sys.argv[2]}/out{n}", "wb") as raw:
        sys.stdout = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
        code = main(["query", *args])
        sys.stdout.flush()
    with open(f"{sys.argv[2]}/code{n}", "w") as f:
        f.write(str(code))
"""


def _cli_many(tmp_path, runs):
    """Several `embedsql query` command lines run by `tui.cli.main` in one process (one start-up):
    [(exit code, stdout bytes)]."""
    import subprocess
    import sys

    outdir = tmp_path / "cli-out"
    outdir.mkdir()
    runs = [[*a, "--dsn", f"chdb://{tmp_path}/db"] for a in runs]
    p = subprocess.run([sys.executable, "-c", _MANY, json.dumps(runs), str(outdir)], capture_output=True,
                       text=True, timeout=300, env={**os.environ, "COLUMNS": "1000"})  # the table's width
    assert p.returncode == 0, p.stderr
    return [(int((outdir / f"code{n}").read_text()), (outdir / f"out{n}").read_bytes()) for n in range(len(runs))]


def test_each_text_format_is_clickhouses_output_byte_for_byte(db, tmp_path):
    script = tmp_path / "q.sql"
    script.write_text(f"{Q}{NO_STATS};\n{Q_EMPTY}{NO_STATS};\n")
    want = {f: db.raw_query(Q + NO_STATS, fmt=ch) + db.raw_query(Q_EMPTY + NO_STATS, fmt=ch)
            for f, ch in CLI_FORMATS.items()}
    db.release_engine()
    runs = _cli_many(tmp_path, [["-f", str(script), "--format", f, "--full-vectors"] for f in CLI_FORMATS])
    for f, (code, out) in zip(CLI_FORMATS, runs):
        assert code == 0, f
        assert out == want[f], f
    empty_json = db.raw_query(Q_EMPTY + NO_STATS, fmt="JSON")
    assert json.loads(empty_json)["rows"] == 0 and len(json.loads(empty_json)["meta"]) == 42


def test_vectors_are_elided_on_the_server(db, tmp_path):
    q = "SELECT id, vec, s FROM alltypes WHERE id IN (1, 4) ORDER BY id"
    elided = ("SELECT * REPLACE (concat('[', toString(length(`vec`)), ' x Float32]') AS `vec`) "
              f"FROM (\n{q}\n)")
    want = db.raw_query(elided, fmt="CSVWithNames")
    assert want == b'"id","vec","s"\n1,"[20 x Float32]","hello"\n4,"[16 x Float32]","x"\n'
    want_json = db.raw_query(elided, fmt="JSONEachRow")
    db.release_engine()
    (c1, csv), (c2, jsonl), (c3, own) = _cli_many(tmp_path, [[q, "--format", "csv"], [q, "--format", "jsonl"],
                                                             [q + " FORMAT TSV"]])
    assert c1 == c2 == c3 == 0
    assert csv == want and jsonl == want_json
    own = own.decode()  # its own FORMAT clause: as written, vectors too
    assert own.startswith("1\t[0,0.1,0.2,") and own.count("\n") == 2


def test_table_format_shows_every_type_readably(db, tmp_path):
    db.release_engine()
    (code, out), (code_empty, empty) = _cli_many(tmp_path, [
        ["SELECT id, s, ns, fs, f64, d, ip6, arrs, vec FROM alltypes ORDER BY id"], [Q_EMPTY]])
    assert code == code_empty == 0
    out = out.decode()
    assert "24 rows" in out and "Array(Float32)" in out and "Nullable(String)" in out
    for shown in ("x[/]y", "[bold]red[/bold]", "[explored] sunset", "a[b]c", "مرحبا بالعالم", "emoji 🙂👍🏽",
                  "tab␉here", "new␊line", "it's \"quoted\"", "back\\slash \\n", "FR\\x00\\x00",
                  "\\xff\\x00\\xaba", "1e300", "-999999.999", "::ffff:1.2.3.4", "[20 x Float32]",
                  "['a','it\\'s','b\\\\s','x[/]y','NULL']", "x" * 79 + "…", "NULL", "ᴺᵁᴸᴸ"):
        assert shown in out, shown
    empty = empty.decode()
    assert "0 rows" in empty and "Array(Nullable(Int32))" in empty  # the header, with no rows


# -- the terminal UI -----------------------------------------------------------------------------------
async def test_grid_renders_every_type_and_hostile_strings_verbatim(db, tmp_path):
    from tests.tui.pilot_support import run_sql, wait_for
    from tui.app import EmbedSQLApp

    app = EmbedSQLApp(session=db, initial_sql=Q, warm_model=False, syntax=False)
    async with app.run_test(size=(200, 50)) as pilot:
        await run_sql(app, pilot)
        assert app.last_error is None and app.table.row_count == len(app.result.rows) == 24
        r = app.result
        for i, row in enumerate(r.rows):
            cells = app.table.get_row_at(i)
            for v, t, cell in zip(row, r.types, cells):
                if chtext.is_vector_type(t):
                    assert cell.plain == f"[{len(v)} x Float32]"
                else:
                    assert cell.plain == chtext.display_plain(chtext.text(v, t), t)
        s_col = r.columns.index("s")
        shown = [app.table.get_row_at(i)[s_col].plain for i in range(len(r.rows))]
        for h in HOSTILE:
            if h.isprintable() and len(h) < 200:
                assert h in shown, h  # as written: no markup, no escaping
        assert "x" * 199 + "…" in shown and "tab␉here" in shown
        ns_col = r.columns.index("ns")
        assert app.table.get_row_at(1)[ns_col].plain == "ᴺᵁᴸᴸ" and app.table.get_row_at(0)[ns_col].plain == "NULL"
        svg = app.export_screenshot().replace("&#160;", " ")
        for h in ("x[/]y", "[bold]red[/bold]", "[explored] sunset", "tags: [bold]", "a[b]c"):
            assert h in svg, h
        for _ in range(3):  # scroll through the columns and rows: every cell renders
            await pilot.press("end", "right", "right", "right", "right", "right")
            app.export_screenshot()
        # the same result exports in every format
        app.table.focus()
        await pilot.press("e")
        await wait_for(pilot, lambda: app.screen.id == "export-prompt")
        out = tmp_path / "grid.parquet"
        app.screen.query_one("#prompt-input").value = str(out)
        await pilot.press("enter")
        await wait_for(pilot, lambda: out.exists() and "exported 24 rows" in app.status.message)
        # an empty result: the columns, no rows
        await run_sql(app, pilot, Q_EMPTY)
        assert app.last_error is None and app.table.row_count == 0
        assert len(app.table.columns) == 42 and "0 rows" in app.status.message
