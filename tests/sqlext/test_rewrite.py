"""EMBED rewrite: tables of SQL in -> SQL out, in the style of sqlglot's validate_identity / validate_all.

The fake embedder is deterministic and 4-d so expected outputs stay readable: a query with n terms
whose first value is v becomes [len(v), n, first weight, 0.5] (all exactly representable)."""
from __future__ import annotations

import numpy as np
import pytest
import sqlglot
from sqlglot import exp

from sqlext.errors import RewriteError, SQLSyntaxError
from sqlext.text.rewrite import EmbedCall, find_embeds, format_vector, rewrite, splice
from tests.sqlext.text_support import assert_syntax_error

try:
    from embed import EmbedQuery, Term
except ImportError:
    from embed.types import EmbedQuery, Term


class FakeEmbedder:
    def __init__(self):
        self.calls: list[list[EmbedQuery]] = []

    def __call__(self, queries):
        self.calls.append(list(queries))
        return [np.array([len(q.terms[0].value), len(q.terms), q.terms[0].weight, 0.5], np.float32)
                for q in queries]


def vec(value: str, n_terms: int = 1, weight: float = 1.0) -> str:
    return format_vector(np.array([len(value), n_terms, weight, 0.5], np.float32))


def validate_identity(sql: str) -> None:
    """SQL without (real) EMBED calls comes back unchanged."""
    fake = FakeEmbedder()
    out, calls = rewrite(sql, fake)
    assert out == sql
    assert calls == []
    assert fake.calls == []


def validate_rewrite(sql: str, expected: str) -> list[EmbedCall]:
    fake = FakeEmbedder()
    out, calls = rewrite(sql, fake)
    assert out == expected
    assert len(fake.calls) == 1
    return calls


CAR = vec("a red car")

REWRITES = [
    # SELECT list
    ("SELECT EMBED('a red car')", f"SELECT {CAR}"),
    ("SELECT id, distance(v, EMBED('a red car')) AS d FROM t ORDER BY d LIMIT 3",
     f"SELECT id, distance(v, {CAR}) AS d FROM t ORDER BY d LIMIT 3"),
    # any case, whitespace and comments between EMBED and its parenthesis
    ("select embed('a red car')", f"select {CAR}"),
    ("select Embed ( 'a red car' )", f"select {CAR}"),
    ("select eMbEd /* why */ ('a red car')", f"select {CAR}"),
    # WHERE
    ("SELECT id FROM t WHERE L2Distance(v, EMBED('a red car')) < 0.5",
     f"SELECT id FROM t WHERE L2Distance(v, {CAR}) < 0.5"),
    # ORDER BY, MyScale parametric distance
    ("SELECT id FROM t ORDER BY distance('ef_s=64')(v, EMBED('a red car')) ASC LIMIT 10",
     f"SELECT id FROM t ORDER BY distance('ef_s=64')(v, {CAR}) ASC LIMIT 10"),
    # subquery
    ("SELECT * FROM (SELECT id, cosineDistance(v, EMBED('a red car')) AS d FROM t) WHERE d < 1",
     f"SELECT * FROM (SELECT id, cosineDistance(v, {CAR}) AS d FROM t) WHERE d < 1"),
    # CTE (ClickHouse `WITH expr AS name` and `WITH name AS (query)`)
    ("WITH EMBED('a red car') AS q SELECT id FROM t ORDER BY L2Distance(v, q) LIMIT 1",
     f"WITH {CAR} AS q SELECT id FROM t ORDER BY L2Distance(v, q) LIMIT 1"),
    ("WITH c AS (SELECT id, dotProduct(v, EMBED('a red car')) AS s FROM t) SELECT * FROM c",
     f"WITH c AS (SELECT id, dotProduct(v, {CAR}) AS s FROM t) SELECT * FROM c"),
    # INSERT ... SELECT and INSERT ... VALUES
    ("INSERT INTO q (name, v) SELECT 'car', EMBED('a red car')",
     f"INSERT INTO q (name, v) SELECT 'car', {CAR}"),
    ("INSERT INTO q VALUES ('car', EMBED('a red car'))", f"INSERT INTO q VALUES ('car', {CAR})"),
    # arrays, nested
    ("SELECT [EMBED('a red car'), [EMBED('a red car')]]", f"SELECT [{CAR}, [{CAR}]]"),
    # two statements in one script
    ("SELECT EMBED('a red car');\nSELECT EMBED('dog')", f"SELECT {CAR};\nSELECT {vec('dog')}"),
    # terms: weights, signs, explicit kinds, several inputs (values of the fake: first term only)
    ("SELECT EMBED('https://x/y.jpg', 'a man standing on the beach')",
     f"SELECT {vec('https://x/y.jpg', 2)}"),
    ("SELECT EMBED(2 * 'cat', './x.jpg', -'dog')", f"SELECT {vec('cat', 3, 2.0)}"),
    ("SELECT EMBED(-0.5 * text('snow'))", f"SELECT {vec('snow', 1, -0.5)}"),
    # text outside the calls is kept byte for byte: odd spacing, comments, strings mentioning embed
    ("SELECT  /* EMBED('no') */ EMBED('a red car') , 'EMBED(''x'')'  -- embed('y')\n FROM  t",
     f"SELECT  /* EMBED('no') */ {CAR} , 'EMBED(''x'')'  -- embed('y')\n FROM  t"),
    ("SELECT embed_col, myembed('x'), \"embed\"('x'), `EMBED`('x'), EMBED('a red car') FROM t",
     f"SELECT embed_col, myembed('x'), \"embed\"('x'), `EMBED`('x'), {CAR} FROM t"),
    # unicode before the call: offsets are in characters
    ("SELECT 'żółw 🐢', EMBED('a red car')", f"SELECT 'żółw 🐢', {CAR}"),
]

IDENTITIES = [
    "SELECT 1",
    "SELECT embedding, photo_embed, embed_col FROM t",
    "SELECT 'EMBED(''a'')'",
    "SELECT \"EMBED\"('a'), `embed`('b')",
    "SELECT 1 -- EMBED('x')",
    "SELECT 1 # EMBED('x')",
    "SELECT /* EMBED('x') /* nested EMBED('y') */ */ 1",
    "SELECT myembed('x'), embed2('x'), my_embed('x'), x.embed('y')",
    "SELECT embed FROM t",
    "SELECT $$EMBED('x')$$",
    "SELECT id, distance(v, [0.1, 0.2]) AS d FROM t ORDER BY d",
]


@pytest.mark.parametrize("sql, expected", REWRITES)
def test_rewrite(sql, expected):
    validate_rewrite(sql, expected)


@pytest.mark.parametrize("sql", IDENTITIES)
def test_identity(sql):
    validate_identity(sql)


def test_unchanged_statement_is_the_same_object():
    sql = "SELECT embedding FROM t WHERE x = 'embed'"
    out, calls = rewrite(sql, FakeEmbedder())
    assert out is sql and calls == []


def test_distinct_queries_are_embedded_once_in_one_call():
    fake = FakeEmbedder()
    sql = ("SELECT EMBED('cat'), embed('cat'), EMBED(1 * 'cat'), EMBED('dog'), EMBED(text('cat')); "
           "SELECT EMBED('dog')")
    out, calls = rewrite(sql, fake)
    assert len(calls) == 6
    assert fake.calls == [[EmbedQuery((Term("auto", "cat"),)), EmbedQuery((Term("auto", "dog"),)),
                           EmbedQuery((Term("text", "cat"),))]]
    cat, dog = vec("cat"), vec("dog")
    assert out == f"SELECT {cat}, {cat}, {cat}, {dog}, {cat}; SELECT {dog}"


def test_call_positions():
    sql = "SELECT 1,\n  -- EMBED('no')\n  distance(v,  EMBED('a'))\nFROM t;\nSELECT Embed('b')"
    first, second = find_embeds(sql)
    assert (first.line, first.col, first.text) == (3, 16, "EMBED('a')")
    assert sql[first.start:first.end] == first.text
    assert (second.line, second.col, second.text) == (5, 8, "Embed('b')")
    assert sql[second.start:second.end] == "Embed('b')"


TERMS = [
    ("EMBED('a red car')", [Term("auto", "a red car")]),
    ("EMBED('https://x/y.jpg', 'a man standing on the beach')",
     [Term("auto", "https://x/y.jpg"), Term("auto", "a man standing on the beach")]),
    ("EMBED(2 * 'cat', './x.jpg', -'dog')",
     [Term("auto", "cat", 2.0), Term("auto", "./x.jpg"), Term("auto", "dog", -1.0)]),
    ("EMBED(-0.5 * text('snow'))", [Term("text", "snow", -0.5)]),
    ("EMBED(text('./looks/like/a/path.jpg'))", [Term("text", "./looks/like/a/path.jpg")]),
    ("EMBED(image('photo'))", [Term("image", "photo")]),
    ("EMBED(IMAGE('a'), Text('b'), TEXT ( 'c' ))", [Term("image", "a"), Term("text", "b"), Term("text", "c")]),
    ("EMBED('cat' * 3, image('x.png') * 0.25, - 'y' * 2)",
     [Term("auto", "cat", 3.0), Term("image", "x.png", 0.25), Term("auto", "y", -2.0)]),
    ("EMBED(+1.5e1 * 'a', .5 * 'b', 'c' * .25)",
     [Term("auto", "a", 15.0), Term("auto", "b", 0.5), Term("auto", "c", 0.25)]),
    ("EMBED(0 * 'cat', 'dog')", [Term("auto", "cat", 0.0), Term("auto", "dog")]),
    # string literals are decoded the way ClickHouse reads them
    (r"EMBED('it''s a \'dog\'')", [Term("auto", "it's a 'dog'")]),
    (r"EMBED('line\nbreak\ttab \\ back \x41')", [Term("auto", "line\nbreak\ttab \\ back A")]),
    ("EMBED($$it's here$$)", [Term("auto", "it's here")]),
    ("EMBED('  padded  ')", [Term("auto", "  padded  ")]),
    ("EMBED('żółw 🐢')", [Term("auto", "żółw 🐢")]),
]


@pytest.mark.parametrize("call, terms", TERMS)
def test_terms(call, terms):
    (found,) = find_embeds(f"SELECT {call}")
    assert found.query == EmbedQuery(tuple(terms))
    assert found.text == call


COMPARED = [
    ("SELECT distance(photo_embed, EMBED('x'))", "photo_embed"),
    ("SELECT DISTANCE(EMBED('x'), photo_embed)", "photo_embed"),
    ("SELECT distance('ef_s=50')(t.photo_embed, EMBED('x'))", "t.photo_embed"),
    ("SELECT distance('alpha=3', 'x=1')(db.t.v, EMBED('x'))", "db.t.v"),
    ("SELECT cosineDistance(`my vec`, EMBED('x'))", "my vec"),
    ("SELECT L2Distance(\"t\".\"v\", EMBED('x'))", "t.v"),
    ("SELECT l2squareddistance(v, EMBED('x')), dotProduct(w, EMBED('y'))", "v"),
    ("SELECT hybridsearch('fusion_type=rsf')(vec, doc, EMBED('x'), 'x')", "vec"),
    ("SELECT EMBED('x')", None),
    ("SELECT has(v, EMBED('x'))", None),
    ("SELECT distance(v, -EMBED('x'))", None),  # not a bare argument (and not a call we rewrite as such)
    ("SELECT distance(v + w, EMBED('x'))", None),
    ("SELECT distance(arrayMap(x -> x, v), EMBED('x'))", None),
]


@pytest.mark.parametrize("sql, column", COMPARED)
def test_compared_column(sql, column):
    assert find_embeds(sql)[0].compared_column == column
    assert find_embeds(sql)[0].column == column


def test_compared_column_second_call():
    calls = find_embeds("SELECT l2squareddistance(v, EMBED('x')), dotProduct(w, EMBED('y'))")
    assert [c.compared_column for c in calls] == ["v", "w"]


ERRORS = [
    # (sql, line, col, text in message)
    ("SELECT EMBED(some_column) FROM t", 1, 8, "`some_column` is not a literal"),
    ("SELECT id,\n       EMBED() FROM t", 2, 8, "needs at least one input"),
    ("SELECT EMBED('a' || 'b')", 1, 8, "`'a' || 'b'` is not a literal"),
    ("SELECT EMBED(1+2)", 1, 8, "not a literal"),
    ("SELECT EMBED(concat('a', 'b'))", 1, 8, "not a literal"),
    ("SELECT EMBED('a' 'b')", 1, 8, "a comma is missing after 'a'"),
    ("SELECT EMBED('cat', 2 * 'a' -'b')", 1, 8, "a comma is missing after 2 * 'a'"),
    ("SELECT EMBED('a' 0.5 * 'b')", 1, 8, "a comma is missing after 'a'"),
    ("SELECT EMBED('a' kind)", 1, 8, "`'a' kind` is not a literal"),
    ("SELECT EMBED(t.col)", 1, 8, "not a literal"),
    ("SELECT EMBED(EMBED('x'))", 1, 8, "not a literal"),
    ("SELECT EMBED(2 * -'x')", 1, 8, "not a literal"),
    ("SELECT EMBED('x' * 'y')", 1, 8, "not a literal"),
    ("SELECT EMBED(x'ab')", 1, 8, "not a literal"),
    ("SELECT EMBED(\"a red car\")", 1, 8, "quoted identifier"),
    ("SELECT EMBED(text(col))", 1, 8, "text(...) takes one string literal"),
    ("SELECT EMBED(image('a', 'b'))", 1, 8, "image(...) takes one string literal"),
    ("SELECT EMBED('')", 1, 8, "EMBED input is empty"),
    ("SELECT EMBED('a', '  ')", 1, 8, "EMBED input is empty"),
    ("SELECT EMBED('a',)", 1, 8, "an argument is empty"),
    ("SELECT EMBED(1e999 * 'a')", 1, 8, "not a finite number"),
    ("SELECT 1;\n\n  SELECT EMBED('a'", 3, 10, "never closed"),
    ("SELECT EMBED('a']", 1, 8, "never closed"),
    ("SELECT [EMBED('a')", 1, 9, None),  # unbalanced outside the call: not our business, rewritten
]


@pytest.mark.parametrize("sql, line, col, message", ERRORS)
def test_errors(sql, line, col, message):
    if message is None:
        assert find_embeds(sql)[0].col == col
        return
    with pytest.raises(RewriteError) as info:
        find_embeds(sql)
    err = info.value
    assert (err.line, err.col) == (line, col)
    assert message in err.message
    assert f"line {line}, column {col}" in str(err)
    assert isinstance(err, SQLSyntaxError)


def test_error_hint_points_to_ingestion():
    with pytest.raises(RewriteError) as info:
        find_embeds("SELECT EMBED(caption) FROM t")
    assert "embedsql ingest" in info.value.hint
    assert "before the query runs" in info.value.hint


def test_rewrite_never_returns_partial_output():
    fake = FakeEmbedder()
    with pytest.raises(RewriteError):
        rewrite("SELECT EMBED('ok'), EMBED(col)", fake)
    assert fake.calls == []  # nothing embedded when the statement is wrong

    with pytest.raises(RewriteError, match="returned 1 vectors for 2"):
        rewrite("SELECT EMBED('a'), EMBED('b')", lambda qs: [np.ones(4, np.float32)])

    with pytest.raises(RuntimeError, match="model down"):
        rewrite("SELECT EMBED('a')", lambda qs: (_ for _ in ()).throw(RuntimeError("model down")))


@pytest.mark.parametrize("sql, line, col", [
    ("SELECT EMBED('a') , 'unterminated", 1, 21),
    ("SELECT EMBED('a')\n /* open comment", 2, 2),
    ("SELECT EMBED('a'), \"open", 1, 20),
])
def test_lexical_errors_are_syntax_errors_with_position(sql, line, col):
    assert_syntax_error(find_embeds, sql, line, col)


def test_tokenizer_failure_is_a_syntax_error():
    # `$` inside a name is valid ClickHouse that sqlglot's tokenizer rejects: it is now made
    # readable for sqlglot (sqlext.text.split.lexing_copy) and the call is found
    [call] = find_embeds("SELECT x$y, EMBED('a')")
    assert call.text == "EMBED('a')"
    # text the lexer cannot read is reported with its position, not crashed
    with pytest.raises(SQLSyntaxError) as info:
        find_embeds("SELECT EMBED('a'),\n 'unterminated")
    assert info.value.line == 2


# ---------------------------------------------------------------------------------------------
# format_vector / splice

def test_format_vector_is_never_integer_like():
    out = format_vector(np.array([0.0, 1.0, -0.0, -3.0, 123456789.0, 1e20, 1e-8, 0.1], np.float32))
    assert out == "[0.0, 1.0, -0.0, -3.0, 123456792.0, 1.00000002e+20, 9.99999994e-09, 0.100000001]"
    for item in out[1:-1].split(", "):
        assert "." in item or "e" in item


def test_format_vector_round_trips_float32_exactly():
    rng = np.random.default_rng(7)
    normal = rng.standard_normal(4096).astype(np.float32)
    unit = normal / np.linalg.norm(normal)
    raw_bits = np.frombuffer(rng.bytes(4 * 4096), np.uint32).view(np.float32)
    extremes = np.array([np.finfo(np.float32).max, np.finfo(np.float32).tiny, 1.4e-45, -1.4e-45,
                         np.nextafter(np.float32(1), np.float32(2)), 3.0, 0.5], np.float32)
    for v in (normal, unit, raw_bits[np.isfinite(raw_bits)], extremes):
        text = format_vector(v)
        back = np.array([float(x) for x in text[1:-1].split(", ")], np.float64).astype(np.float32)
        assert back.view(np.uint32).tolist() == v.view(np.uint32).tolist()


def test_format_vector_parses_as_float_array_in_clickhouse():
    v = np.array([0.0, 1.0, -0.25, 1e-8, 0.1, 2.0], np.float32)
    tree = sqlglot.parse_one(f"SELECT distance(x, {format_vector(v)})", read="clickhouse")
    arr = tree.find(exp.Array)
    values = [e for e in arr.expressions]
    assert len(values) == 6
    for e in values:
        lit = e.this if isinstance(e, exp.Neg) else e
        assert isinstance(lit, exp.Literal) and not lit.is_string
        assert "." in lit.this or "e" in lit.this


def test_format_vector_accepts_float64_and_rejects_bad_input():
    assert format_vector(np.array([0.5, 1.0])) == "[0.5, 1.0]"
    assert format_vector([0.1]) == "[0.100000001]"
    with pytest.raises(RewriteError):
        format_vector(np.array([1.0, np.nan], np.float32))
    with pytest.raises(RewriteError):
        format_vector(np.zeros((2, 2), np.float32))
    with pytest.raises(RewriteError):
        format_vector(np.zeros(0, np.float32))


def test_splice_replaces_only_the_spans():
    sql = "SELECT EMBED('a') AS x, 'EMBED(''z'')', embed('b')"
    calls = find_embeds(sql)
    out = splice(sql, calls, [np.array([1, 2], np.float32), np.array([0.5], np.float32)])
    assert out == "SELECT [1.0, 2.0] AS x, 'EMBED(''z'')', [0.5]"
    # vectors given in any call order
    out2 = splice(sql, calls[::-1], [np.array([0.5], np.float32), np.array([1, 2], np.float32)])
    assert out2 == out
    assert splice(sql, [], []) is sql


def test_splice_rejects_calls_from_other_text():
    calls = find_embeds("SELECT EMBED('a')")
    with pytest.raises(ValueError):
        splice("SELECT EMBED('b')", calls, [np.ones(2, np.float32)])
    with pytest.raises(ValueError):
        splice("SELECT EMBED('a')", calls, [])


def test_a_server_side_parameter_inside_embed_says_why_it_cannot_be_filled():
    with pytest.raises(RewriteError) as info:
        find_embeds("SELECT cosineDistance(v, EMBED({q:String})) FROM t")
    err = info.value
    assert "server-side parameter" in err.message and (err.line, err.col) == (1, 26)
    assert "sqlext.dbapi" in err.hint


@pytest.mark.parametrize("sql, want", [
    ("SET param_q = EMBED('a')", [True]),
    ("SELECT 1 SETTINGS param_q = EMBED('a')", [True]),
    ("SELECT cosineDistance(v, EMBED('a')) FROM t SETTINGS x = 1", [False]),
    ("UPDATE t SET v = EMBED('a') WHERE 1", [False]),
    ("ALTER TABLE t UPDATE v = EMBED('a') WHERE 1", [False]),
    ("SELECT 1 FROM t WHERE x IN (SELECT 1 SETTINGS a = 1) ORDER BY cosineDistance(v, EMBED('a')) LIMIT 1", [False]),
    ("INSERT INTO t VALUES (1, EMBED('a')), (2, EMBED('b'))", [False, False]),
])
def test_literals_only_marks_the_set_and_settings_values(sql, want):
    """EMBED in a SET statement or a SETTINGS clause takes a literal (sent as the array literal);
    anywhere else an expression (its CAST wire form)."""
    from sqlext.text.rewrite import literals_only
    from sqlext.text.tokens import tokenize

    t = tokenize(sql)
    assert literals_only(t, find_embeds(t)) == want
