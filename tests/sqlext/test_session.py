"""The Python API end to end on the embedded engine with a real (tiny, random) CLIP."""
import numpy as np
import pytest

import sqlext
from embed import EmbedQuery, Term
from sqlext.errors import RewriteError, ServerError

from tests.support import PHOTOS

DDL = """CREATE TABLE photos (
    id UInt64, photo_id String, photo_image_url String, photo_description String, year UInt16,
    photo_embed Array(Float32),
    CONSTRAINT photo_embed_len CHECK length(photo_embed) = 512
) ENGINE = MergeTree ORDER BY id"""

TEXTS = ["a tabby cat with green eyes", "a red cup of coffee", "a rocket on the launch pad at night",
         "an astronaut in an orange suit", "galaxies on a black sky"]


@pytest.fixture
def session(tmp_path, tiny_clip):
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db", model=str(tiny_clip))
    s.command(DDL)
    vecs = s.embedder.embed_texts(TEXTS)
    img = s.embedder.embed([EmbedQuery((Term("image", str(PHOTOS / "chelsea.jpg")),))])[0]
    rows = [[i, f"p{i}", f"u{i}", t, 2000 + i, v.tolist()] for i, (t, v) in enumerate(zip(TEXTS, vecs))]
    rows.append([99, "cat-photo", str(PHOTOS / "chelsea.jpg"), "photo", 2099, img.tolist()])
    s.insert("photos", rows, ["id", "photo_id", "photo_image_url", "photo_description", "year", "photo_embed"])
    yield s
    s.close()


def test_query_returns_rows_names_and_types(session):
    r = session.query("SELECT id, photo_id FROM photos WHERE id < 2 ORDER BY id")
    assert r.columns == ["id", "photo_id"]
    assert r.types == ["UInt64", "String"]
    assert r.rows == [(0, "p0"), (1, "p1")]
    assert r.stats.server_ms is not None and r.stats.rows_read >= 2


def test_rows_read_counts_the_rows_read_not_the_rows_returned(session):
    """As a server's summary (tests/sqlext/test_remote.py: the same query over HTTP): the
    embedded engine's driver reported the result's rows (1 here, 10 below)."""
    assert session.query("SELECT sum(number) FROM numbers(100000)").stats.rows_read == 100000
    r = session.query("SELECT number FROM numbers(1000) WHERE number % 100 = 0")
    assert len(r.rows) == 10 and r.stats.rows_read == 1000


@pytest.mark.parametrize("i", range(len(TEXTS)))
def test_hybrid_query_finds_the_row_inserted_from_the_same_input(session, i):
    sql = f"""SELECT photo_id, cosineDistance(photo_embed, EMBED('{TEXTS[i]}')) AS dist
              FROM photos WHERE year >= 2000 ORDER BY dist ASC LIMIT 3"""
    r = session.query(sql)
    assert r.rows[0][0] == f"p{i}"
    assert r.rows[0][1] == pytest.approx(0.0, abs=1e-5)


def test_image_path_embed_finds_its_photo_with_myscale_distance(session):
    sql = f"SELECT photo_id, distance(photo_embed, EMBED('{PHOTOS / 'chelsea.jpg'}')) AS dist FROM photos ORDER BY dist ASC LIMIT 1"
    r = session.query(sql)
    assert r.rows[0][0] == "cat-photo"
    assert any("distance" in n for n in r.stats.translations)


def test_weights_that_cancel_name_the_call_as_written(session):
    """EMBED('cat'*0): the error quotes the call as the user wrote it, at its position, not a
    normalised form of it."""
    with pytest.raises(RewriteError) as e:
        session.query("SELECT id FROM photos\nORDER BY cosineDistance(photo_embed, EMBED('cat'*0)) LIMIT 1")
    assert "cannot embed EMBED('cat'*0): the combined vector is zero" in e.value.message
    assert (e.value.line, e.value.col) == (2, 38)
    assert "weights cancel" in e.value.hint


def test_rewrite_shows_the_exact_sql_sent(session):
    sql = "SELECT id FROM photos ORDER BY cosineDistance(photo_embed, EMBED('a red cup of coffee')) LIMIT 1 -- EMBED('x')"
    out = session.rewrite(sql)
    head, tail = sql.split("EMBED('a red cup of coffee')")
    assert out.startswith(head) and out.endswith(tail)
    literal = out[len(head):len(out) - len(tail)]
    # sent to ClickHouse in its wire form: the array literal in a string, cast to Array(Float64)
    assert literal.startswith("CAST('[") and literal.endswith("]', 'Array(Float64)')")
    vec = np.array([float(x) for x in literal[6:-20].strip("[]").split(",")], dtype=np.float32)
    assert vec.shape == (512,) and abs(np.linalg.norm(vec) - 1) < 1e-5
    # statements without EMBED are sent byte for byte
    plain = "SELECT  id\n FROM photos   WHERE photo_description = 'EMBED(''x'')'"
    assert session.rewrite(plain) == plain


def test_embed_is_sent_in_its_wire_form_with_the_array_literals_answer(session):
    """On ClickHouse an EMBED vector travels as `CAST('[…]', 'Array(Float64)')` (parsed faster than
    an array literal): chdb, run directly with the array literal instead, gives the same rows,
    distances and types, and the column is still named after the EMBED call written."""
    from benchmarks.floor import raw_client
    from sqlext.text.rewrite import format_vector

    call = "EMBED('a red cup of coffee')"
    sql = f"SELECT id, cosineDistance(photo_embed, {call}), photo_id FROM photos ORDER BY 2, id LIMIT 4"
    r = session.query(sql)
    assert "CAST('[512 x Float32]', 'Array(Float64)')" in r.stats.sent_sql
    assert r.columns == ["id", f"cosineDistance(photo_embed, {call})", "photo_id"]
    vector = session.embedder.embed([EmbedQuery((Term("auto", "a red cup of coffee"),))])[0]
    with raw_client(session) as c:
        want = c.query(sql.replace(call, format_vector(vector)))
    assert r.rows == want.result_rows and len(r.rows) == 4
    assert r.types == [t.name for t in want.column_types] and r.types[1] == "Float64"


def test_an_unaliased_distance_column_is_named_as_written(session):
    """MyScale's `distance()` goes to ClickHouse as the index's function: an unaliased column came
    back named `cosineDistance(photo_embed, EMBED(...))`, a function the user did not write."""
    session.command("ALTER TABLE photos ADD INDEX vi photo_embed TYPE vector_similarity('hnsw', 'cosineDistance', 512)")
    call = "EMBED('a red cup of coffee')"
    r = session.query(f"SELECT photo_id, distance(photo_embed, {call}) FROM photos ORDER BY 2 LIMIT 3")
    assert "cosineDistance(photo_embed" in r.stats.sent_sql
    assert r.columns == ["photo_id", f"distance(photo_embed, {call})"]
    # the user wrote cosineDistance too: which is which cannot be told, the server's names stay
    both = session.query(f"SELECT distance(photo_embed, {call}), cosineDistance(photo_embed, {call}) "
                         "FROM photos ORDER BY 1 LIMIT 1").columns
    assert both == [f"cosineDistance(photo_embed, {call})"] * 2


def test_embed_in_batch_distance_and_in_set_after_the_wire_form(session):
    """Where the wire form cannot go or was not expected, EMBED still works: in MyScale's
    batch_distance list (translated for ClickHouse, same rows as with the array literals) and as a
    `SET param_… = EMBED(…)` value (SET takes literals only: the array literal is sent there)."""
    from sqlext.text.rewrite import format_vector

    texts = ["a tabby cat", "a red cup of coffee"]
    vectors = session.embedder.embed([EmbedQuery((Term("auto", t),)) for t in texts])
    sql = "SELECT id, batch_distance(photo_embed, [{a}, {b}]) AS d FROM photos ORDER BY id, d.1 LIMIT 6"
    r = session.query(sql.format(a=f"EMBED('{texts[0]}')", b=f"EMBED('{texts[1]}')"))
    want = session.query(sql.format(a=format_vector(vectors[0]), b=format_vector(vectors[1])))
    assert r.rows == want.rows and len(r.rows) == 6
    assert session.execute("SET param_q = EMBED('a red cup of coffee')").stats.sent_sql == \
        "SET param_q = [512 x Float32]"
    r = session.query("SELECT {q:Array(Float32)} AS q")
    assert np.array_equal(np.array(r.rows[0][0], dtype=np.float32), vectors[1])


def test_explain_has_timings_and_cache(session):
    sql = "SELECT id FROM photos ORDER BY cosineDistance(photo_embed, EMBED('a never seen text')) LIMIT 1"
    p1 = session.explain(sql)
    assert p1.stats.cache_misses == 1 and p1.stats.cache_hits == 0
    assert "CAST('[512 x Float32]', 'Array(Float64)')" in p1.stats.sent_sql
    p2 = session.explain(sql)
    assert p2.stats.cache_hits == 1 and p2.stats.cache_misses == 0


def test_dimension_checked_against_the_column_constraint(tmp_path, tiny_clip):
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db2", model=str(tiny_clip))
    s.command("CREATE TABLE small (id UInt64, v Array(Float32), CONSTRAINT c CHECK length(v) = 16) "
              "ENGINE = MergeTree ORDER BY id")
    with pytest.raises(RewriteError, match=r"512-d vectors but small.v holds 16-d") as err:
        s.query("SELECT id FROM small\nORDER BY cosineDistance(v, EMBED('cat')) LIMIT 1")
    assert err.value.line == 2
    with pytest.raises(RewriteError, match=r"small.v holds 16-d"):  # through a table alias
        s.query("SELECT s.id FROM small AS s ORDER BY cosineDistance(s.v, EMBED('cat')) LIMIT 1")
    s.close()


def test_model_recorded_on_the_column_must_match(tmp_path, tiny_clip):
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db3", model=str(tiny_clip))
    s.command("CREATE TABLE m (id UInt64, v Array(Float32) COMMENT 'embedsql:model=some/other-model;dim=512', "
              "CONSTRAINT c CHECK length(v) = 512) ENGINE = MergeTree ORDER BY id")
    with pytest.raises(RewriteError, match="some/other-model"):
        s.query("SELECT id FROM m ORDER BY cosineDistance(v, EMBED('cat')) LIMIT 1")
    s.close()


def test_server_error_is_one_of_ours(session):
    with pytest.raises(ServerError, match="UNKNOWN_TABLE|Unknown table"):
        session.query("SELECT * FROM no_such_table")


def test_a_missing_table_says_which_and_how_to_create_the_builtin_one(tmp_path):
    """A table that does not exist: the table's name, not the statement as the server rewrote it
    (`distance` as L2Distance, `[1., 2.]`); the hint names the migration that creates the built-in
    photos table (with the session's `migrate_up`, which the command line fills with its options),
    or how to list the tables there are."""
    cases = [
        ("SELECT photo_id, distance(photo_embed, [1.0, 2.0]) AS d FROM photos ORDER BY d LIMIT 5", "'photos'"),
        ("SELECT * FROM (SELECT 1 AS x) AS a JOIN default.photos AS p ON a.x = p.x", "'default.photos'"),
        ("SELECT photo_id FROM photoz WHERE photo_id != ''", "'photoz'"),
        ("INSERT INTO nope VALUES (1)", "default.nope"),
    ]
    with sqlext.connect(dsn=f"chdb://{tmp_path}/empty") as session:
        session.migrate_up = "embedsql migrate up --dsn chdb:///somewhere"
        for sql, table in cases:
            with pytest.raises(ServerError) as ei:
                session.query(sql)
            msg = ei.value.message
            assert msg.endswith("(UNKNOWN_TABLE)") and table in msg, msg
            assert "In scope" not in msg and "L2Distance" not in msg and "SELECT" not in msg, msg
            if table.endswith("photos'"):
                assert ei.value.hint.startswith(
                    "`embedsql migrate up --dsn chdb:///somewhere` creates the built-in photos table"), ei.value.hint
            else:
                assert ei.value.hint.startswith("`SHOW TABLES` lists the tables"), ei.value.hint
    # the settings embedsql adds never show in the message as if the user had written them
    with pytest.raises(ServerError) as err:
        session.query("SELECT cosineDistance(v, [1.0]) FROM no_such_table")
    assert "hnsw_candidate" not in str(err.value)


def test_a_source_the_engine_cannot_reach_is_the_engines_error_not_ours(session):
    """A remote() source (or a Distributed table's shard) nothing answers at: ClickHouse's own
    error, naming that address; not "cannot reach embedded ClickHouse", which answered."""
    from sqlext.errors import ConnectionFailed
    from tests.chserver import closed_port

    port = closed_port()
    with pytest.raises(ServerError) as info:
        session.query(f"SELECT * FROM remote('127.0.0.1:{port}', system.one) "
                      "SETTINGS connect_timeout_with_failover_ms = 200, connections_with_failover_max_tries = 1")
    err = info.value
    assert not isinstance(err, ConnectionFailed), err
    assert f"127.0.0.1:{port}" in err.message and err.code in (279, 519), err.message


def test_run_script_and_command(session):
    results = session.run_script("""
        CREATE TABLE s2 (x Int32) ENGINE = MergeTree ORDER BY x; -- a comment; with semicolon
        INSERT INTO s2 VALUES (1), (2);
        SELECT sum(x) FROM s2;
    """)
    assert results[-1].rows == [(3,)]


@pytest.mark.parametrize("sql, expected", [
    ("SELECT 1", True), ("  (SELECT 1)", True), ("WITH a AS (SELECT 1) SELECT * FROM a", True),
    ("CHECK TABLE photos", True), ("-- c\nSELECT 1", True), ("// c\nSELECT 1", True),
    ("/* a /* nested */ b */ SELECT 1", True), ("\ufeffSELECT 1", True), ("# c\nSHOW TABLES", True),
    ("INSERT INTO t SELECT 1", False), ("CREATE TABLE t (a Int8) ENGINE = Memory", False),
    ("/* SELECT */ DROP TABLE t", False), ("ALTER TABLE t DELETE WHERE 1", False),
])
def test_is_query_decides_rows_or_command(sql, expected):
    from sqlext.db.session import is_query

    assert is_query(sql) is expected


def test_hnsw_search_default_is_shipped_unless_the_statement_sets_it(session):
    from sqlext.db.planner import HNSW_EF_SEARCH

    # (the name is split so that the statement itself does not mention the setting)
    get = "getSetting(concat('hnsw_candidate_list_', 'size_for_search'))"
    assert session.query(f"SELECT {get}, cosineDistance([1.0], [1.0])").rows[0][0] == HNSW_EF_SEARCH
    assert session.query(f"SELECT {get}").rows == [(256,)]  # not a vector query: ClickHouse's own
    r = session.query("SELECT getSetting('hnsw_candidate_list_size_for_search') "
                      "SETTINGS hnsw_candidate_list_size_for_search = 200")
    assert r.rows == [(200,)]


def test_a_set_wins_over_the_shipped_default_and_outlives_the_engine(session):
    from sqlext.db.engine import EMBEDDED

    get = "getSetting(concat('hnsw_candidate_list_', 'size_for_search'))"
    session.execute("SET hnsw_candidate_list_size_for_search = 333, vector_search_filter_strategy = 'prefilter'")
    assert session.user_settings == {"hnsw_candidate_list_size_for_search": "333",
                                     "vector_search_filter_strategy": "prefilter"}
    assert session.query(f"SELECT {get}, cosineDistance([1.0], [1.0])").rows[0][0] == 333
    # the embedded engine closes when idle, and a SET on it dies with it: the session sends it again
    EMBEDDED.release_now()
    r = session.query(f"SELECT {get}, getSetting('vector_search_filter_strategy'), cosineDistance([1.0], [1.0])")
    assert r.rows[0][:2] == (333, "prefilter")
    # a statement's own SETTINGS still beats the SET
    r = session.query(f"SELECT {get}, cosineDistance([1.0], [1.0]) SETTINGS hnsw_candidate_list_size_for_search = 77")
    assert r.rows[0][0] == 77
    # and settings passed to the call beat the SET
    assert session.query(f"SELECT {get}", settings={"hnsw_candidate_list_size_for_search": 99}).rows == [(99,)]
