"""Property tests of Session.prepare over every statement kind that can hold an expression:
- the text sent is the input with only the EMBED spans replaced (by the vectors' literals);
- positions in the text sent map back to the same place in the input (vectors to their call);
- a syntax error after an EMBED call is reported by the server at its line and column in the
  input (chdb, through the session).
Statements are generated from kind templates, with EMBED calls in expression places and
look-alikes in comments and strings, which must be left alone."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings, example
from hypothesis import strategies as st

import sqlext
from embed import EmbedQuery, Term
from sqlext.errors import ServerError
from sqlext.text.rewrite import cast_vector, format_vector

TEXTS = ["a cat", "a red bicycle", "rocket at night", "it''s a dog", "café"]

# {e}: an expression place; kinds as ClickHouse users write them
TEMPLATES = [
    "SELECT {e} AS a FROM photos",
    "SELECT id, {e} FROM photos ORDER BY 2 LIMIT 3",
    "FROM photos SELECT {e} LIMIT 1",
    "WITH {e} AS q SELECT q",
    "WITH near AS (SELECT id, {e} AS d FROM photos ORDER BY d LIMIT 2) SELECT * FROM near",
    "(SELECT {e}) UNION ALL (SELECT {e})",
    "SELECT {e} EXCEPT SELECT {e}",
    "EXPLAIN SELECT {e} FROM photos",
    "EXPLAIN indexes = 1 SELECT id FROM photos ORDER BY {e} LIMIT 3",
    "EXPLAIN AST SELECT {e}",
    "EXPLAIN SYNTAX SELECT {e} FROM photos WHERE id > 1",
    "EXPLAIN PLAN actions = 1 SELECT {e}",
    "EXPLAIN PIPELINE SELECT {e} FROM photos",
    "DESCRIBE (SELECT {e} AS x)",
    "INSERT INTO photos (id, photo_embed) SELECT 7, {v}",
    "INSERT INTO photos (id, photo_embed) VALUES (8, {v})",
    "CREATE VIEW v AS SELECT {e} AS d FROM photos",
    "CREATE TABLE t ENGINE = Memory AS SELECT {e} AS d FROM photos",
    "ALTER TABLE photos DELETE WHERE {e} > 2",
    "SELECT {e} FORMAT JSONEachRow",
    "SELECT {e} SETTINGS max_threads = 1",
    "SELECT arrayMap(x -> x * 2, {v}) AS m",
    "SELECT count() FROM photos WHERE {e} < 1 GROUP BY id WITH TOTALS",
    "SELECT id, {e} AS d FROM photos ORDER BY d LIMIT 1 BY id",
    "SELECT sum(id) OVER (ORDER BY {e}) FROM photos",
]
EXPRESSIONS = [
    "cosineDistance(photo_embed, {v})",
    "L2Distance(photo_embed, {v})",
    "cosineDistance({v}, {v})",
    "dotProduct(photo_embed, {v})",
    "length({v})",
]
NOISE = ["", " ", "\n", " /* EMBED('not me') */ ", " -- EMBED('nor me')\n", " // EMBED(x)\n",
         " # EMBED(x)\n", " /* a /* nested EMBED('x') */ */ "]


@st.composite
def statements(draw):
    """(sql, [(start, end, text)] of the EMBED calls written)."""
    template = draw(st.sampled_from(TEMPLATES))
    parts, calls, pos = [], [], 0

    def emit(s):
        nonlocal pos
        parts.append(s)
        pos += len(s)

    def vector():
        text = draw(st.sampled_from(TEXTS))
        word = draw(st.sampled_from(["EMBED", "embed", "Embed"]))
        call = f"{word}({draw(st.sampled_from(['', ' ']))}'{text}')"
        calls.append((pos, pos + len(call), text.replace("''", "'")))
        emit(call)

    i = 0
    while i < len(template):
        if template.startswith("{e}", i):
            expr = draw(st.sampled_from(EXPRESSIONS))
            j = 0
            while j < len(expr):
                if expr.startswith("{v}", j):
                    vector()
                    j += 3
                else:
                    emit(expr[j])
                    j += 1
            i += 3
        elif template.startswith("{v}", i):
            vector()
            i += 3
        elif template[i] == " ":
            emit(draw(st.sampled_from(NOISE)) or " ")
            i += 1
        else:
            emit(template[i])
            i += 1
    if draw(st.booleans()):
        emit(" -- " + "EMBED('a trailing comment')")
    return "".join(parts), calls


@pytest.fixture(scope="module")
def session(tmp_path_factory, tiny_clip):
    s = sqlext.connect(dsn=f"chdb://{tmp_path_factory.mktemp('props')}/db", model=str(tiny_clip))
    s.command("CREATE TABLE photos (id UInt64, photo_embed Array(Float32), "
              "CONSTRAINT len CHECK length(photo_embed) = 512) ENGINE = MergeTree ORDER BY id")
    for t in TEXTS:  # each vector computed once and cached: prepare and the tests read the same one
        s.embedder.embed([_query(t.replace("''", "'"))])
    with s.unit_of_work():  # one engine for the module (not reopened between examples)
        yield s
    s.close()


def _query(text):
    return EmbedQuery((Term("auto", text),))


def literal(session, text):
    """The text EMBED('text') becomes: its cached vector, formatted, in its wire form on ClickHouse
    (cast_vector)."""
    lit = format_vector(session.embedder.embed([_query(text)])[0])
    return cast_vector(lit) if session.dialect == "clickhouse" else lit


SETTINGS = settings(max_examples=150, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@SETTINGS
@given(case=statements())
def test_sent_text_is_the_input_with_only_embed_spans_replaced(session, case):
    sql, calls = case
    p = session.prepare(sql)
    expected, pos = [], 0
    for start, end, text in calls:
        expected += [sql[pos:start], literal(session, text)]
        pos = end
    expected.append(sql[pos:])
    assert p.statements == ["".join(expected)]
    assert p.stats.embed_calls == len(calls)


@SETTINGS
@given(case=statements())
def test_positions_in_the_text_sent_map_back_to_the_input(session, case):
    sql, calls = case
    p = session.prepare(sql)
    sent = p.tokens[0]
    spans = []  # where each call's literal lies in the text sent
    shift = 0
    for start, end, text in calls:
        lit = literal(session, text)
        spans.append((start + shift, start + shift + len(lit), start))
        shift += len(lit) - (end - start)
    for t in sent:
        uo = p.sent.user_offset(0, t.start)
        inside = [call_start for a, b, call_start in spans if a <= t.start < b]
        if inside:
            assert uo == inside[0]
        else:
            written = sent.text[t.start:t.end]
            assert sql[uo:uo + len(written)] == written


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=statements().filter(lambda c: "VALUES" not in c[0]), newlines=st.integers(0, 2))
@example(  # the server's echo of the statement is cut inside a setting embedsql added: `... = '10...`
    case=("SELECT cosineDistance(photo_embed, EMBED('a cat')) AS /* EMBED('not me') */ a /* EMBED('not me') */ "
          "FROM # EMBED(x)\nphotos -- EMBED('a trailing comment')", [(35, 49, "a cat")]), newlines=0)
def test_a_syntax_error_after_embed_is_reported_where_the_user_wrote_it(session, case, newlines):
    # (INSERT ... VALUES data is read by the Values format, whose errors name no position)
    sql, calls = case
    # a character ClickHouse cannot read (`#` not starting a comment) after the statement's last
    # EMBED call: the server stops there
    at = calls[-1][1]
    bad = sql[:at] + "\n" * newlines + " #oops " + sql[at:]
    offset = at + newlines + 1
    with pytest.raises(ServerError) as info:
        session.execute(bad)
    line = bad.count("\n", 0, offset) + 1
    col = offset - bad.rfind("\n", 0, offset)
    err = info.value
    assert "SYNTAX_ERROR" in err.message or "Syntax error" in err.message, err.message
    assert (err.line, err.col) == (line, col), (bad, err.message)
    assert f"failed at line {line}, column {col}" in err.message
    assert "FORMAT Native" not in err.message and "0." not in err.message.split("Expected")[0]


CUT_SHORT = ["SELECT * FROM system.one WHERE", "SELECT 1 +", "SELECT 1 FROM system.one ORDER BY",
             "SELECT\n  1,\n  (2", "SELECT dummy FROM system.one WHERE dummy IN ("]


def test_a_statement_cut_short_fails_where_clickhouse_says_not_in_the_drivers_format(session, tmp_path):
    """The driver appends `FORMAT Native`, and a statement cut short reads on into it (`WHERE
    FORMAT`, `1 + FORMAT AS Native`): the error is the one ClickHouse gives for the statement as
    written (chdb run directly is the oracle), at its end, with nothing of the appended text."""
    from tests.sqlext.chdb_oracle import run_on_chdb

    oracle = run_on_chdb([{"sql": sql} for sql in CUT_SHORT], tmp_path / "oracle")
    for sql, want in zip(CUT_SHORT, oracle):
        assert not want["ok"]
        pos = int(re.search(r"failed at position (\d+)", want["err"]).group(1))
        line = sql.count("\n", 0, pos - 1) + 1
        col = pos - 1 - sql.rfind("\n", 0, pos - 1)
        for run in (session.query, session.execute):
            with pytest.raises(ServerError) as info:
                run(sql)
            err = info.value
            assert (err.line, err.col) == (line, col), (sql, err.message, want["err"])
            assert err.code == 62 and "(end of query)" in err.message, err.message
            assert "Native" not in err.message and "FORMAT" not in err.message, err.message
            assert "(line " not in err.message, err.message  # a position said once, in the user's terms
