"""Server-side query parameters (`{name:Type}`) set with `SET param_name = '…'` earlier in the
session, and given per call with `params=`: they reach every statement that names them, through
every API, and the planner's own count queries, on the embedded engine and over HTTP.

ClickHouse is the oracle: the same SET and SELECT sent straight to the engine (no embedsql)."""
import pytest

import sqlext
from benchmarks.floor import raw_client
from sqlext.errors import ServerError, UsageError

from tests.chserver import ChServer

TABLE = """CREATE TABLE t (id UInt32, cat String, v Array(Float32),
    INDEX vi v TYPE vector_similarity('hnsw', 'cosineDistance', 3)) ENGINE = MergeTree ORDER BY id"""
ROWS = "INSERT INTO t SELECT number, if(number % 10 = 0, 'rare', 'common'), [number % 17, 1, 0] FROM numbers(2000)"
# a statement that makes embedsql read the catalog and the planner count rows (its own queries,
# with their own parameters, run on the engine in between)
SEARCH = "SELECT id FROM t WHERE cat = 'rare' ORDER BY cosineDistance(v, [1., 1, 0]) LIMIT 3"


@pytest.fixture
def session(tmp_path):
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    s.command(TABLE)
    s.command(ROWS)
    yield s
    s.close()


def _oracle(session, set_sql: str, select: str) -> bytes | str:
    """The engine's own answer to `set_sql` then `select` (TabSeparated), or its error code."""
    with raw_client(session) as c:
        c.command(set_sql)
        try:
            return c.raw_query(select, fmt="TabSeparated")
        except Exception as exc:  # the driver's error: compare its ClickHouse code
            return str(exc).split("Code: ")[1].split(".")[0]


def _ours(session, set_sql: str, select: str) -> bytes | str:
    session.command(set_sql)
    session.query(SEARCH)  # the catalog and the planner query the engine in between
    try:
        return session.raw_query(select, fmt="TabSeparated")
    except ServerError as exc:
        return str(exc).split("Code: ")[1].split(".")[0]


@pytest.mark.parametrize("typ, literal", [
    ("Array(Float32)", "'[1,2.5,0]'"),
    ("Array(String)", r"'[''a'',''it\\''s'']'"),  # quotes inside an array's text
    ("String", r"'it''s a\\ttab'"),                # an escape the parameter's text form decodes
    ("String", r"'x\ty'"),                          # a real tab: ClickHouse rejects it (code 457)
    ("String", r"'a\x41\nb'"),                      # \x41 and \n decoded by the SQL lexer
    ("String", r"'back\\\\slash'"),
    ("Date", "'2024-01-02'"),
    ("UInt8", "3"),
])
def test_a_set_parameter_binds_as_the_engine_binds_it(session, typ, literal):
    select = f"SELECT {{x:{typ}}} AS x"
    want = _oracle(session, f"SET param_x = {literal}", select)
    got = _ours(session, f"SET param_x = {literal}", select)
    assert got == want


def test_a_set_parameter_outlives_catalog_reads_in_every_api(session):
    """After `SET param_n = 7`, a statement naming `{n:UInt32}` gets 7 whichever way it is sent,
    even right after statements whose catalog reads and planning queries send other
    parameters (on the embedded engine each query's parameters replace the session's)."""
    session.command("SET param_n = 7")
    session.command("SET param_q = '[1,1,0]'")
    where = "SELECT id FROM t WHERE id < {n:UInt32} ORDER BY id"
    session.query(SEARCH)
    assert session.query(where).rows == [(i,) for i in range(7)]
    session.query(SEARCH)
    assert session.query_arrow(where).column("id").to_pylist() == list(range(7))
    session.query(SEARCH)
    with session.query_arrow_stream(where) as stream:
        assert [i for b in stream for i in b.column("id").to_pylist()] == list(range(7))
    session.query(SEARCH)
    assert session.raw_query(where, fmt="CSV") == b"".join(f"{i}\n".encode() for i in range(7))
    session.query(SEARCH)
    with session.raw_stream(where, fmt="CSV") as chunks:
        assert b"".join(chunks).count(b"\n") == 7
    session.query(SEARCH)
    assert session.columns_of("SELECT {n:UInt32} AS n, {q:Array(Float32)} AS q") == [
        ("n", "UInt32"), ("q", "Array(Float32)")]
    session.query(SEARCH)
    empty = session.query("SELECT id, {n:UInt32} AS n FROM t WHERE id > 5000")  # header asked apart
    assert empty.rows == [] and empty.columns == ["id", "n"]
    session.query(SEARCH)
    session.command("CREATE TABLE u (id UInt32) ENGINE = MergeTree ORDER BY id")
    session.command("INSERT INTO u SELECT number FROM numbers({n:UInt32})")
    assert session.query("SELECT count() FROM u").rows == [(7,)]
    session.query(SEARCH)
    q = session.query("SELECT id FROM t ORDER BY L2Distance(v, {q:Array(Float32)}), id LIMIT 2")
    assert q.rows == [(1,), (18,)]  # v = [1, 1, 0] at id 1 and 18 (id % 17 = 1)


def test_a_call_parameter_wins_over_a_set_one(session):
    session.command("SET param_n = 7")
    r = session.query("SELECT count() FROM t WHERE id < {n:UInt32}", params={"n": 3})
    assert r.rows == [(3,)]
    assert session.query("SELECT count() FROM t WHERE id < {n:UInt32}").rows == [(7,)]


def test_a_statement_without_placeholders_keeps_its_percent_signs(session):
    """SET parameters are only added for placeholders the statement has: a `%` in a statement
    without one must not start clickhouse-connect's client-side `%` formatting."""
    session.command("SET param_n = 7")
    r = session.query("SELECT count() FROM t WHERE toString(id) LIKE '%99%'")
    with raw_client(session) as c:
        want = c.query("SELECT count() FROM t WHERE toString(id) LIKE '%99%'").result_rows
    assert r.rows == want and want[0][0] > 0


@pytest.mark.parametrize("how", ["set", "call"])
def test_the_planner_counts_a_filter_with_parameters(session, how):
    """The planner's count under the statement's WHERE gets the same parameters as the
    statement; its cached count is keyed by them (another value, another count)."""
    sql = "SELECT id FROM t WHERE id < {n:UInt32} ORDER BY cosineDistance(v, [1., 1, 0]) LIMIT 3"
    for n in (7, 1500):
        if how == "set":
            session.command(f"SET param_n = {n}")
            r = session.query(sql)
        else:
            r = session.query(sql, params={"n": n})
        search = r.stats.plan.searches[0]
        assert search.matching == n, search.reason
        ids = [row[0] for row in r.rows]
        # v = [id % 17, 1, 0]: the nearest are id 1, then 2 and 3 under id < 7; ties at distance 0
        # (id % 17 = 1) under id < 1500
        assert ids == [1, 2, 3] if n == 7 else (len(ids) == 3 and all(i % 17 == 1 and i < n for i in ids))


def test_parameter_names_keep_their_case(session):
    session.command("SET param_Q = 'upper'")
    session.command("SET param_q = 'lower'")
    session.query(SEARCH)
    assert session.query("SELECT {Q:String}, {q:String}").rows == [("upper", "lower")]


def test_over_http_a_set_parameter_binds_and_the_planner_counts_with_it(tmp_path):
    """Over HTTP a SET parameter used to be replayed as a setting, which clickhouse-connect
    refuses: every later statement of the session failed."""
    with ChServer(tmp_path / "srv", user="u", password="pw") as srv:
        with sqlext.connect(srv.dsn(), password="pw") as s:
            s.command(TABLE)
            s.command(ROWS)
            s.command("SET param_n = 40")
            assert s.query("SELECT count() FROM t").rows == [(2000,)]
            assert s.query("SELECT count() FROM t WHERE id < {n:UInt32}").rows == [(40,)]
            r = s.query("SELECT id FROM t WHERE id < {n:UInt32} ORDER BY cosineDistance(v, [1., 1, 0]) LIMIT 3")
            assert r.stats.plan.searches[0].matching == 40, r.stats.plan.searches[0].reason
            assert sorted(row[0] for row in r.rows) == [1, 18, 35]  # distance 0 under id < 40


@pytest.mark.parametrize("how", ["call", "set"])
def test_the_planners_count_gets_only_the_parameters_it_names(session, how):
    """A parameter outside the filter must not reach the count query: with no placeholder of its
    own, clickhouse-connect would `%`-format the count's text (`LIKE 'com%'` broke it, and
    `'%(beta)%'` raised a KeyError)."""
    if how == "set":
        session.command("SET param_tag = 'x'")
    params = {"tag": "x"} if how == "call" else None
    for like, matching in (("com%", 1800), ("%(beta)%", 0)):
        r = session.query("SELECT id, {tag:String} AS tag FROM t WHERE cat LIKE '" + like + "' "
                          "ORDER BY cosineDistance(v, [1., 1, 0]) LIMIT 3", params=params)
        sp = r.stats.plan.searches[0]
        assert sp.matching == matching, sp.reason
        assert len(r.rows) == min(3, matching) and all(row[1] == "x" for row in r.rows)


def test_positional_parameters_with_a_planned_search(session):
    r = session.query("SELECT id FROM t WHERE id < %s ORDER BY cosineDistance(v, [1., 1, 0]) LIMIT 2", params=[50])
    ids = [row[0] for row in r.rows]
    assert len(ids) == 2 and all(i % 17 == 1 and i < 50 for i in ids)  # v = [1, 1, 0]: distance 0
    assert "could not be counted" in r.stats.plan.searches[0].reason  # its `%s` is the statement's


def test_a_set_is_remembered_whichever_call_sends_it(session):
    session.execute("SET param_a = 'first';")  # the SET's value ends at its `;`
    session.query("SET param_b = 'q'")
    session.raw_query("SET param_c = 'r'")
    with session.raw_stream("SET param_d = 's'") as chunks:
        b"".join(chunks)
    session.query(SEARCH)
    assert session.query("SELECT {a:String}, {b:String}, {c:String}, {d:String}").rows == [("first", "q", "r", "s")]


# -- USE ----------------------------------------------------------------------------------------
def _use_case(s):
    """default.t without an index and db2.t with one, 1,000 rows each, and a filtered top-k that
    the index alone, post-filtered, would answer short."""
    s.execute("CREATE DATABASE db2")
    s.execute("CREATE TABLE db2.t AS t")
    s.execute("INSERT INTO db2.t SELECT id + 100000, cat, v FROM t")
    s.execute("ALTER TABLE t DROP INDEX vi")
    s.query(SEARCH)  # the catalog reads default.t: no index
    s.execute("USE db2")


def _assert_db2_answer(rows):
    """SEARCH's answer on db2.t: 3 rare rows at distance 0 ([1, 1, 0]: number % 17 = 1), ties
    in any order."""
    ids = [x[0] for x in rows]
    assert len(ids) == 3 and all(i >= 100000 and i % 10 == 0 and (i - 100000) % 17 == 1 for i in ids), ids


def test_use_holds_after_the_embedded_engine_reopens_and_the_catalog_follows_it(session):
    _use_case(session)
    session.release_engine()  # reopened by the next statement: chdb's own USE is gone with it
    assert session.query("SELECT currentDatabase()").rows == [("db2",)]
    r = session.query(SEARCH)
    _assert_db2_answer(r.rows)
    assert r.stats.plan.searches[0].indexes == ["vi"]  # db2.t's index, not default.t's lack of one
    assert session.query("SELECT count() FROM default.t").rows == [(2000,)]


def test_use_holds_over_http(tmp_path):
    """Each request is its own session on a server: the USE is sent again as the request's
    database (the stand-in forgets a USE at the end of its request, as a server does)."""
    with ChServer(tmp_path / "srv", user="u", password="p") as srv:
        with sqlext.connect(srv.dsn(), password="p") as s:
            s.command(TABLE)
            s.command(ROWS)
            _use_case(s)
            assert s.query("SELECT currentDatabase()").rows == [("db2",)]
            r = s.query(SEARCH)
            _assert_db2_answer(r.rows)
            assert r.stats.plan.searches[0].indexes == ["vi"]


def test_use_is_each_sessions_own_and_reaches_every_api(tmp_path):
    """Two sessions on one embedded database in one process share the engine's handle: a USE in
    one leaked into the other (and the other's USE back into the first), and the Arrow stream's
    own handle ignored it."""
    a = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    b = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    try:
        a.execute("CREATE DATABASE d2")
        for db in ("default", "d2"):
            a.execute(f"CREATE TABLE {db}.x (v String) ENGINE = MergeTree ORDER BY v")
            a.execute(f"INSERT INTO {db}.x VALUES ('{db}')")
        a.execute("-- a comment first\nUSE d2")
        assert a.database == "d2"
        assert b.query("SELECT v FROM x").rows == [("default",)] and b.database == "default"
        assert a.query("SELECT v FROM x").rows == [("d2",)]
        assert [v for batch in a.query_arrow_stream("SELECT v FROM x") for v in batch.column(0).to_pylist()] == ["d2"]
        assert a.raw_query("SELECT v FROM x") == b"d2\n"
        b.execute("USE default")
        assert a.query("SELECT v FROM x").rows == [("d2",)]
        with pytest.raises(ServerError, match="UNKNOWN_DATABASE|does not exist"):
            a.execute("USE nosuch")
        assert a.database == "d2" and a.query("SELECT v FROM x").rows == [("d2",)]
    finally:
        a.close()
        b.close()


def test_every_form_of_use(tmp_path):
    """USE DATABASE x and USE {d:Identifier} were sent as statements (leaking into another session
    of the process); a backquoted name with an escaped quote was not decoded; a database dropped
    since the handle was bound to it passed the probe."""
    a = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    b = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    try:
        a.execute("CREATE DATABASE db1")
        a.execute("CREATE DATABASE `we``ird db`")
        a.execute("USE DATABASE db1")
        assert a.database == "db1" and b.query("SELECT currentDatabase()").rows == [("default",)]
        a.execute("USE {d:Identifier}", params={"d": "default"})
        assert a.query("SELECT currentDatabase()").rows == [("default",)]
        a.execute("USE `we``ird db`")
        assert a.query("SELECT currentDatabase()").rows == [("we`ird db",)]
        a.execute("USE db1")
        a.execute("USE default")
        a.execute("DROP DATABASE db1")
        with pytest.raises(ServerError, match="db1 does not exist"):
            a.execute("USE db1")
        with pytest.raises(UsageError, match="cannot read this USE"):
            a.execute("USE {q:Identifier}")
        assert a.database == "default"
    finally:
        a.close()
        b.close()
