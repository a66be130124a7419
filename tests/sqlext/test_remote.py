"""The remote (HTTP) path for real: sqlext sessions against tests/chserver.py, a stand-in that
serves ClickHouse's HTTP interface on 127.0.0.1 over chdb in its own process (loopback only)."""
from __future__ import annotations

import secrets

import numpy as np
import pytest

import sqlext
from benchmarks.floor import raw_client
from sqlext.errors import ConnectionFailed, ServerError

from tests.chserver import ChServer

USER = "alice"
PASSWORD = "pw-" + secrets.token_hex(12)  # distinctive: any leak is easy to spot


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with ChServer(tmp_path_factory.mktemp("ch") / "db", user=USER, password=PASSWORD) as srv:
        yield srv


@pytest.fixture(scope="module")
def myscale_server(tmp_path_factory):
    with ChServer(tmp_path_factory.mktemp("ms") / "db", user=USER, password=PASSWORD, myscale=True) as srv:
        yield srv


@pytest.fixture()
def session(server):
    s = sqlext.connect(server.dsn(), password=PASSWORD)
    yield s
    s.close()


def _unique(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(4)}"


def test_select_over_http(session, server):
    r = session.query("SELECT 1 AS one, 'x' AS s, [1.5, 2]::Array(Float32) AS v")
    assert r.columns == ["one", "s", "v"]
    assert r.types == ["UInt8", "String", "Array(Float32)"]
    assert r.rows == [(1, "x", [1.5, 2.0])]
    assert session.dialect == "clickhouse"
    # it went over the wire, to the stand-in, as the configured user
    entries = [e for e in server.log() if "AS one" in e["query"]]
    assert entries and entries[-1]["user"] == USER


def test_summary_reaches_stats(session):
    r = session.query("SELECT number FROM numbers(1000) WHERE number % 100 = 0")
    assert len(r.rows) == 10
    assert r.stats.rows_read == 1000
    assert r.stats.server_ms is not None and r.stats.server_ms > 0


def test_password_from_environment(server, monkeypatch):
    monkeypatch.setenv("EMBEDSQL_PASSWORD", PASSWORD)
    with sqlext.connect(server.dsn()) as s:
        assert s.query("SELECT 42").rows == [(42,)]


def test_query_parameters(session):
    r = session.query("SELECT {n:UInt32} * 2 AS twice, {s:String} AS s", params={"n": 21, "s": "it's"})
    assert r.rows == [(42, "it's")]


def test_create_insert_rows_and_columns_with_512d_vectors(session, server):
    t = _unique("vec")
    session.command(f"CREATE TABLE {t} (id UInt32, name String, v Array(Float32), "
                    f"CONSTRAINT dim CHECK length(v) = 512) ENGINE = MergeTree ORDER BY id")
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((6, 512)).astype(np.float32)
    # row oriented, vectors as lists
    session.insert(t, [[i, f"r{i}", vecs[i].tolist()] for i in range(3)], ["id", "name", "v"])
    # column oriented, vectors as numpy arrays
    session.insert(t, [[3, 4, 5], ["c3", "c4", "c5"], [vecs[3], vecs[4], vecs[5]]], ["id", "name", "v"],
                   column_oriented=True)
    r = session.query(f"SELECT id, name, v FROM {t} ORDER BY id")
    assert [row[0] for row in r.rows] == [0, 1, 2, 3, 4, 5]
    assert [row[1] for row in r.rows] == ["r0", "r1", "r2", "c3", "c4", "c5"]
    got = np.array([row[2] for row in r.rows], dtype=np.float32)
    assert np.array_equal(got, vecs)  # Float32 over Native: bit-exact
    # the inserts really used the client's default wire format: compressed Native
    inserts = [e for e in server.log() if e["query"].startswith(f"INSERT INTO `{t}`")]
    assert len(inserts) == 2
    assert all(e["content_encoding"] == "lz4" and "FORMAT Native" in e["query"] for e in inserts)


def test_insert_violating_constraint_is_a_server_error(session):
    t = _unique("dimcheck")
    session.command(f"CREATE TABLE {t} (id UInt32, v Array(Float32), CONSTRAINT dim CHECK length(v) = 4) "
                    f"ENGINE = MergeTree ORDER BY id")
    with pytest.raises(ServerError) as ei:
        session.insert(t, [[1, [1.0, 2.0]]], ["id", "v"])
    assert ei.value.code == 469  # VIOLATED_CONSTRAINT
    assert PASSWORD not in str(ei.value)
    assert session.query(f"SELECT count() FROM {t}").rows == [(0,)]


def test_embed_query_over_http(server, tiny_clip):
    t = _unique("photos")
    names = ["a cat", "the sea", "on the moon"]
    with sqlext.connect(server.dsn(), password=PASSWORD, model=str(tiny_clip)) as s:
        s.command(f"CREATE TABLE {t} (name String, v Array(Float32), CONSTRAINT dim CHECK length(v) = 512) "
                  f"ENGINE = MergeTree ORDER BY name")
        s.insert(t, [names, list(s.embedder.embed_texts(names))], ["name", "v"], column_oriented=True)
        for name in names:
            r = s.query(f"SELECT name, cosineDistance(v, EMBED('{name}')) AS d FROM {t} ORDER BY d LIMIT 1")
            assert r.rows[0][0] == name
            assert r.rows[0][1] == pytest.approx(0.0, abs=1e-5)
            assert r.stats.embed_calls == 1
    # the server saw the vector (in its wire form, a string cast to Array(Float64)), never EMBED
    sent = [e["query"] for e in server.log() if f"FROM {t}" in e["query"] and "cosineDistance" in e["query"]]
    assert len(sent) == 3
    assert all("EMBED" not in q and q.count(",") >= 511 and "CAST('[" in q for q in sent)


def test_myscale_distance_translated_for_clickhouse_server(server, tiny_clip):
    t = _unique("docs")
    names = ["a cat", "the sea"]
    with sqlext.connect(server.dsn(), password=PASSWORD, model=str(tiny_clip)) as s:
        s.command(f"CREATE TABLE {t} (name String, v Array(Float32), CONSTRAINT dim CHECK length(v) = 512) "
                  f"ENGINE = MergeTree ORDER BY name")
        s.insert(t, [names, list(s.embedder.embed_texts(names))], ["name", "v"], column_oriented=True)
        r = s.query(f"SELECT name, distance(v, EMBED('the sea')) AS d FROM {t} ORDER BY d LIMIT 1")
        assert r.rows[0][0] == "the sea"
        assert r.stats.translations  # a note says what was translated
    sent = [e["query"] for e in server.log() if f"FROM {t}" in e["query"] and " AS d " in e["query"]]
    assert sent and "distance(" not in sent[-1].replace("Distance(", "")


def test_dialect_detected_myscale(myscale_server):
    with sqlext.connect(myscale_server.dsn(), password=PASSWORD) as s:
        assert s.dialect == "myscale"
    probes = [e for e in myscale_server.log() if "MYSCALE_VERSION" in e["query"]]
    assert probes, "the dialect was not detected by asking the server"


def test_myscale_gets_the_array_literal_itself(myscale_server, tiny_clip):
    """The wire form of a vector (`CAST('[…]', 'Array(Float64)')`) is for ClickHouse, where it was
    measured; MyScale's vector search gets the array literal, as its documentation writes it."""
    sql = "SELECT EMBED('a cat') AS v"
    with sqlext.connect(myscale_server.dsn(), password=PASSWORD, model=str(tiny_clip)) as s:
        sent = s.prepare(sql).statements[0]
        assert s.dialect == "myscale" and sent.startswith("SELECT [") and "CAST(" not in sent
    with sqlext.connect(myscale_server.dsn(), password=PASSWORD, model=str(tiny_clip), dialect="clickhouse") as s:
        assert s.prepare(sql).statements[0].startswith("SELECT CAST('[")


def test_a_server_before_vector_search_settings_gets_no_plan_and_the_array_literal(tmp_path, tiny_clip):
    """A ClickHouse server whose system.settings lacks the vector search settings (before 25.8;
    the stand-in hides them): the planner says why it does not act, EMBED goes as the array
    literal (the wire form is used where its index use was tested), and the answer is right."""
    from tests.sqlext.planner_support import make_table, small_clip_like, vec

    from sqlext.db.planner import NEEDED_SETTINGS

    vs = small_clip_like(500, 512, seed=3)
    with ChServer(tmp_path / "old", user=USER, password=PASSWORD, before_vector_search=True) as srv:
        with sqlext.connect(srv.dsn(), password=PASSWORD, model=str(tiny_clip)) as s:
            assert s.query(f"SELECT count() FROM system.settings WHERE name = '{NEEDED_SETTINGS[0]}'").rows == [(0,)]
            with raw_client(s) as c:
                make_table(c, "vt", vs, index=True)
            sent = s.prepare("SELECT id FROM vt ORDER BY cosineDistance(vec, EMBED('a cat')) LIMIT 3").statements[0]
            assert "cosineDistance(vec, [" in sent and "CAST(" not in sent
            r = s.query(f"SELECT id FROM vt WHERE {vs.where('uniform', 0.5)} ORDER BY cosineDistance(vec, "
                        f"{vec(vs.queries[0])}) LIMIT 3")
            assert r.stats.plan.kind == "none" and "25.8" in r.stats.plan.reason
            assert s.planner.config.no_index_settings == {}


def test_dialect_override_skips_detection(myscale_server):
    before = sum("MYSCALE_VERSION" in e["query"] for e in myscale_server.log())
    with sqlext.connect(myscale_server.dsn(), password=PASSWORD, dialect="clickhouse") as s:
        assert s.dialect == "clickhouse"
        assert s.query("SELECT 1").rows == [(1,)]
    with sqlext.connect(myscale_server.dsn(query="dialect=clickhouse"), password=PASSWORD) as s:
        assert s.dialect == "clickhouse"
    assert sum("MYSCALE_VERSION" in e["query"] for e in myscale_server.log()) == before


def test_dialect_from_dsn_on_plain_server(server):
    with sqlext.connect(server.dsn(query="dialect=myscale"), password=PASSWORD) as s:
        assert s.dialect == "myscale"


def test_unknown_table_is_a_server_error_with_code(session):
    with pytest.raises(ServerError) as ei:
        session.query("SELECT * FROM no_such_table_here")
    err = ei.value
    assert not isinstance(err, ConnectionFailed)
    assert err.code == 60
    assert "no_such_table_here" in str(err)
    assert PASSWORD not in str(err)


def test_syntax_error_from_server(session):
    with pytest.raises(ServerError) as ei:
        session.command("CREATE TABLE (")
    assert ei.value.code == 62


def test_server_error_message_is_clean(session):
    with pytest.raises(ServerError) as ei:
        session.query("SELECT * FROM no_such_table_here")
    msg = str(ei.value)
    assert msg.startswith("Code: 60.") or msg.startswith("Unknown table"), msg
    assert "for url" not in msg and "server response" not in msg


def test_wrong_password_names_the_user(server):
    with pytest.raises(ConnectionFailed) as ei:
        sqlext.connect(server.dsn(), password="not-" + PASSWORD).query("SELECT 1")
    msg = str(ei.value)
    assert repr(USER) in msg or f"user {USER}" in msg
    assert "not-" + PASSWORD not in msg and PASSWORD not in msg
    assert ei.value.code == 516


def test_unknown_user(server):
    with pytest.raises(ConnectionFailed) as ei:
        sqlext.connect(server.dsn(user="mallory"), password=PASSWORD).query("SELECT 1")
    assert "mallory" in str(ei.value)


def test_connection_dropped_before_answer(session, server):
    marker = _unique("dropme")
    server.fault("drop", match=marker)
    try:
        with pytest.raises(ConnectionFailed) as ei:
            session.query(f"SELECT '{marker}'")
        assert "closed the connection" in str(ei.value) or "reset" in str(ei.value)
    finally:
        server.fault("none")
    assert session.query("SELECT 2").rows == [(2,)]  # the session recovers


def test_connection_cut_mid_response(session, server):
    marker = _unique("cutme")
    server.fault("cut", match=marker)
    try:
        with pytest.raises(ServerError) as ei:
            session.query(f"SELECT '{marker}', number FROM numbers(10000)")
        assert PASSWORD not in str(ei.value)
    finally:
        server.fault("none")
    assert session.query("SELECT 3").rows == [(3,)]


def test_connection_cut_mid_response_is_connection_failed(session, server):
    marker = _unique("cutme2")
    server.fault("cut", match=marker)
    try:
        with pytest.raises(ConnectionFailed) as ei:
            session.query(f"SELECT '{marker}', number FROM numbers(10000)")
        assert server.dsn() in str(ei.value) or "127.0.0.1" in str(ei.value)
    finally:
        server.fault("none")


def test_read_timeout(server):
    marker = _unique("slow")
    server.fault("sleep", match=marker, seconds=3)
    try:
        with sqlext.connect(server.dsn(query="timeout=1"), password=PASSWORD) as s:
            with pytest.raises(ConnectionFailed) as ei:
                s.query(f"SELECT '{marker}'")
        assert "timed out" in str(ei.value)
    finally:
        server.fault("none")


def test_session_survives_server_restart(tmp_path):
    with ChServer(tmp_path / "db", user=USER, password=PASSWORD) as srv:
        with sqlext.connect(srv.dsn(), password=PASSWORD) as s:
            s.command("CREATE TABLE kept (x UInt8) ENGINE = MergeTree ORDER BY x")
            s.insert("kept", [[7]], ["x"])
            srv.restart()
            # the pooled keep-alive connection is dead; the data directory persisted
            assert s.query("SELECT x FROM kept").rows == [(7,)]


def test_server_crash_mid_query(tmp_path):
    with ChServer(tmp_path / "db", user=USER, password=PASSWORD) as srv:
        with sqlext.connect(srv.dsn(), password=PASSWORD) as s:
            assert s.query("SELECT 1").rows == [(1,)]
            srv.fault("exit", match="crash_here")
            with pytest.raises(ConnectionFailed) as ei:
                s.query("SELECT 'crash_here'")
            assert "cannot reach" in str(ei.value)
        srv.proc.wait(timeout=10)
        assert not srv.alive()


def test_two_sends_on_one_thread_ending_out_of_order_keep_the_running_one(session):
    """Two streams open on one thread (each a send in progress), the first closed first: the
    second is still the thread's running statement, and once it ends nothing is left."""
    import threading

    me = threading.get_ident()
    first, second = session._sending(None, {}, None, {}), session._sending(None, {}, None, {})
    a, b = first.__enter__(), second.__enter__()
    assert session._running[me] == [a["query_id"], b["query_id"]]
    first.__exit__(None, None, None)
    assert session._running[me] == [b["query_id"]]
    second.__exit__(None, None, None)
    assert me not in session._running and session.cancel(me) is False


def test_cancel_kills_the_running_query_on_the_server(session, server):
    """Session.cancel() from another thread sends KILL QUERY for the running statement's query_id;
    the server cancels it and the caller gets the server's QUERY_WAS_CANCELLED error at once."""
    import threading
    import time as _time

    marker = _unique("cancelme")
    server.fault("sleep", match=marker, seconds=20)
    try:
        errors = []

        def run():
            try:
                session.query(f"SELECT '{marker}'")
            except ServerError as exc:
                errors.append(exc)

        t = threading.Thread(target=run)
        t0 = _time.monotonic()
        t.start()
        while not session._running and _time.monotonic() - t0 < 10:
            _time.sleep(0.01)
        _time.sleep(0.2)
        # another statement of the same session meanwhile (the TUI loads its catalog so): its end
        # must not make the running one unreachable
        assert session.query("SELECT 2").rows == [(2,)]
        assert session.cancel(threading.get_ident()) is False  # this thread runs nothing now
        assert session.cancel(t.ident) is True
        t.join(15)
        assert not t.is_alive()
        assert _time.monotonic() - t0 < 10  # well before the 20 s sleep would end
        assert errors and errors[0].code == 394
        kills = [e for e in server.log() if e["query"].lstrip().upper().startswith("KILL QUERY")]
        slow = [e for e in server.log() if marker in e["query"]]
        assert kills and slow[-1]["params"]["query_id"] in kills[-1]["query"]
    finally:
        server.fault("none")
    assert session.cancel() is False  # nothing running now


def test_planner_and_set_over_http(server):
    """Over HTTP each request is its own session: a SET holds because the session sends it again;
    the planner's settings ride as URL parameters, and its answer is numpy's exact one."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tests.sqlext.planner_support import assert_answer, make_table, small_clip_like, vec
    from sqlext.db.planner import PARALLEL_SCAN_SETTINGS, PlannerConfig

    vs = small_clip_like(3000, 16, seed=7)
    t = _unique("vt")
    with sqlext.connect(server.dsn(), password=PASSWORD) as s:
        # every thread reads a part of the table; mmap reads are for the embedded engine's own files
        assert s.planner.config.exact_settings == PARALLEL_SCAN_SETTINGS
        # the server lists query_plan_try_use_vector_search in system.settings: exact plans send it
        assert s.planner.config.no_index_settings == {"query_plan_try_use_vector_search": 0}
        s.planner.config = PlannerConfig(index_fixed=0, list_cost=0.0, ef_search=1024)  # the index, even on 3k rows
        with raw_client(s) as c:
            make_table(c, t, vs, index=True)
        s.execute("SET max_threads = 1")
        assert s.query("SELECT getSetting('max_threads')").rows == [(1,)]
        q = vs.queries[0]
        r = s.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM {t} WHERE {vs.where('uniform', 0.5)} "
                    f"ORDER BY d LIMIT 10")
        assert_answer(r.rows, vs, q, vs.mask("uniform", 0.5), 10, plan=r.stats.plan)
        assert r.stats.plan.searches[0].choice == "index"
    sent = [e for e in server.log() if f"FROM {t} WHERE" in e["query"] and "ORDER BY d LIMIT 10" in e["query"]]
    assert sent and sent[-1]["params"].get("vector_search_filter_strategy") == "postfilter"
    assert sent[-1]["params"].get("max_threads") == "1"  # the SET, sent again
    counts = [e for e in server.log() if e["query"].startswith(f"SELECT count() FROM {t} WHERE")]
    assert len(counts) == 1


def test_an_unreachable_server_prints_nothing_from_the_library():
    """A program using the library gets the error, and nothing on stderr besides what it prints
    itself (clickhouse-connect logs the failure before raising it)."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = ("import sqlext\n"
            f"s = sqlext.connect(dsn='http://127.0.0.1:{port}/db')\n"
            "try:\n    s.query('SELECT 1')\nexcept sqlext.ConnectionFailed as e:\n    print('raised', type(e).__name__)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert p.stdout.strip() == "raised ConnectionFailed" and p.stderr == "", p.stderr


def _post(server, sql: str, **params) -> tuple[int, str]:
    """One HTTP request to the stand-in, as a client without a session sends it: (status, body)."""
    import base64
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"http://127.0.0.1:{server.port}/?" + urllib.parse.urlencode(params)
    req = urllib.request.Request(url, data=sql.encode(), method="POST")
    req.add_header("Authorization", "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_stand_in_forgets_a_set_at_the_end_of_a_request_without_a_session(server):
    """As a ClickHouse server does: what SET, USE or CREATE TEMPORARY TABLE left is gone at the
    next request unless both name the same session_id. (So the tests over HTTP catch a setting or
    parameter that embedsql does not send again.)"""
    assert _post(server, "SET param_x = '5'")[0] == 200
    status, body = _post(server, "SELECT {x:UInt8}")
    assert status != 200 and "UNKNOWN_QUERY_PARAMETER" in body
    assert _post(server, "SET max_threads = 1")[0] == 200
    assert _post(server, "SELECT getSetting('max_threads')")[1].strip() != "1"
    assert _post(server, "-- a comment first\nCREATE TEMPORARY TABLE tt (a UInt8)")[0] == 200
    status, body = _post(server, "SELECT * FROM tt")
    assert status != 200 and "UNKNOWN_TABLE" in body
    sid = secrets.token_hex(8)
    assert _post(server, "SET param_x = '5'", session_id=sid)[0] == 200
    assert _post(server, "SELECT {x:UInt8}", session_id=sid) == (200, "5\n")
    assert _post(server, "SELECT 1 + 1") == (200, "2\n")  # other statements keep the engine as it is


def test_datetime_with_a_time_zone_over_http(session):
    sql = "SELECT toDateTime('2024-01-01 00:00:00', 'Asia/Tokyo') AS t"
    r = session.query(sql)
    assert r.types == ["DateTime('Asia/Tokyo')"]
    assert r.rows[0][0].isoformat() == "2024-01-01T00:00:00+09:00"
    text = session.raw_query(sql, fmt="TabSeparatedWithNamesAndTypes").decode().split("\n")
    assert text[1].replace("\\'", "'") == r.types[0] and text[2] == "2024-01-01 00:00:00"
