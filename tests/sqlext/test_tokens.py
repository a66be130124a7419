"""The one lexer (sqlext.text.tokens): ClickHouse's lexical rules on sqlglot's tokenizer."""
from __future__ import annotations

import numpy as np
import pytest
from sqlglot.tokens import TokenType

from sqlext.text.tokens import match_close, read_name, split_args, tokenize, vector_tokens
from tests.sqlext.text_support import assert_syntax_error


def words(sql):
    t = tokenize(sql)
    return [sql[x.start:x.end] for x in t]


@pytest.mark.parametrize("sql, expected", [
    # commands are lexed like any statement (sqlglot would swallow their text as one string)
    ("EXPLAIN indexes = 1 SELECT EMBED('x')", ["EXPLAIN", "indexes", "=", "1", "SELECT", "EMBED", "(", "'x'", ")"]),
    ("SHOW TABLES LIKE 'p%'", ["SHOW", "TABLES", "LIKE", "'p%'"]),
    ("RENAME TABLE a TO b", ["RENAME", "TABLE", "a", "TO", "b"]),
    # ClickHouse's comments: --, //, '# ', '#!' to the end of the line; /* */ nest
    ("SELECT 1 // EMBED('x')\n, 2", ["SELECT", "1", ",", "2"]),
    ("SELECT 1 # EMBED('x')\n, 2", ["SELECT", "1", ",", "2"]),
    ("SELECT 1 #! x\n, 2", ["SELECT", "1", ",", "2"]),
    ("SELECT 1 /* a /* b */ EMBED('x') */, 2", ["SELECT", "1", ",", "2"]),
    ("SELECT 1 -- c\n, 2", ["SELECT", "1", ",", "2"]),
    # '#' not followed by a space or '!' is not a comment: a token of its own
    ("SELECT a #b", ["SELECT", "a", "#", "b"]),
    # '$' belongs to words; $tag$...$tag$ is a heredoc
    ("SELECT x$y, $z, a$", ["SELECT", "x$y", ",", "$z", ",", "a$"]),
    ("SELECT $$a;b$$, $t$c$$d$t$", ["SELECT", "$$a;b$$", ",", "$t$c$$d$t$"]),
    ("SELECT $a b$", ["SELECT", "$a", "b$"]),
    # query parameters, lambdas, multi-word keywords
    ("SELECT {x:Array(String)}", ["SELECT", "{", "x", ":", "Array", "(", "String", ")", "}"]),
    ("SELECT arrayMap(x -> x + 1, [1])", ["SELECT", "arrayMap", "(", "x", "->", "x", "+", "1", ",", "[", "1", "]", ")"]),
    ("SELECT 1 ORDER   BY 1", ["SELECT", "1", "ORDER   BY", "1"]),
    # a byte order mark is whitespace
    ("\ufeffSELECT 1", ["SELECT", "1"]),
])
def test_clickhouse_lexing(sql, expected):
    assert words(sql) == expected


def test_values_offsets_and_depth():
    sql = "SELECT f(x$y, 'it''s', `a b`), [1, (2)]"
    t = tokenize(sql)
    assert [x.text for x in t][:8] == ["SELECT", "f", "(", "x$y", ",", "it's", ",", "a b"]
    assert all(sql[x.start:x.end] for x in t)
    assert [x.depth for x in t] == [0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 2, 1, 0]
    assert t[t.tokens.index(next(x for x in t if x.text == "it's"))].type == TokenType.STRING
    assert all(x.origin == x.start for x in t)


@pytest.mark.parametrize("sql, line, col, what", [
    ("SELECT 1;\nSELECT 'abc", 2, 8, "unterminated string literal"),
    ("SELECT `abc", 1, 8, "unterminated quoted identifier"),
    ("SELECT 1 /* a /* b */", 1, 10, "unterminated /* comment"),
    ("SELECT 'x'y'", 1, 12, "unterminated string literal"),
])
def test_unterminated(sql, line, col, what):
    assert_syntax_error(tokenize, sql, line, col, what)


def test_statements_keep_comments_before_and_drop_empty_ones():
    t = tokenize("-- head\nSELECT 1;; /* only */ ;\n  SELECT 2 ;")
    pieces = t.statements()
    assert [(start, p.text) for start, p in pieces] == [(0, "-- head\nSELECT 1"), (34, "SELECT 2")]
    assert [x.text for x in pieces[1][1]] == ["SELECT", "2"]
    assert pieces[1][1][0].start == 0 and pieces[1][1][0].origin == 34
    assert t.statements(rebase_origins=True)[1][1][0].origin == 0


def test_one_statement_comes_back_as_the_same_tokens():
    t = tokenize("SELECT 1")
    assert t.statements() == [(0, t)] and t.statements()[0][1] is t


def test_splice_lexes_only_the_new_text_and_keeps_origins():
    sql = "SELECT distance(v, EMBED('a cat')) AS d FROM t ORDER BY d"
    t = tokenize(sql)
    embed = next(i for i, x in enumerate(t) if x.text == "EMBED")
    close = match_close(t.tokens, embed + 1)
    lit = "[0.5, 0.25, 1.0]"
    out = t.splice([(t[embed].start, t[close].end, lit, vector_tokens(lit)),
                    (t[1].start, t[1].end, "cosineDistance")])
    assert out.text == "SELECT cosineDistance(v, [0.5, 0.25, 1.0]) AS d FROM t ORDER BY d"
    assert [out.text[x.start:x.end] for x in out] == [
        "SELECT", "cosineDistance", "(", "v", ",", "[", "0.5, 0.25, 1.0", "]", ")", "AS", "d", "FROM", "t",
        "ORDER BY", "d"]
    assert [x.depth for x in out][5:9] == [1, 2, 1, 0]
    # kept tokens keep where they came from; inserted ones stand where they were inserted
    assert {x.text: x.origin for x in out}["FROM"] == sql.index("FROM")
    assert out[6].origin == sql.index("EMBED") and out[1].origin == sql.index("distance")


def test_the_wire_form_of_a_vector_gets_the_tokens_the_lexer_would_give():
    """vector_tokens of `CAST('[…]', 'Array(Float64)')` (how the session sends a vector to
    ClickHouse) are the lexer's own tokens, without lexing the digits; spliced, depths follow."""
    from sqlext.text.rewrite import cast_vector, elided_vector, format_vector

    lit = cast_vector(format_vector(np.array([0.5, -0.25, 1e-05, 3.0], dtype=np.float32)))
    assert lit == "CAST('[0.5, -0.25, 9.99999975e-06, 3.0]', 'Array(Float64)')"
    want = [(x.type, x.text, x.start, x.end) for x in tokenize(lit)]
    assert [(x.type, x.text, x.start, x.end) for x in vector_tokens(lit)] == want
    assert elided_vector(lit) == "CAST('[4 x Float32]', 'Array(Float64)')"
    sql = "SELECT cosineDistance(v, EMBED('a cat')) AS d FROM t"
    t = tokenize(sql)
    embed = next(i for i, x in enumerate(t) if x.text == "EMBED")
    out = t.splice([(t[embed].start, t[match_close(t.tokens, embed + 1)].end, lit, vector_tokens(lit))])
    again = tokenize(out.text)
    assert [(x.type, x.text, x.start, x.end, x.depth) for x in out] == \
        [(x.type, x.text, x.start, x.end, x.depth) for x in again]


def test_splice_refuses_an_edit_that_cuts_a_token():
    t = tokenize("SELECT abc")
    with pytest.raises(ValueError):
        t.splice([(8, 9, "x")])


def test_helpers():
    t = tokenize("f(a, g(b, c), [d, e]) AS db.`t x`")
    assert match_close(t.tokens, 1) == 16
    assert split_args(t.tokens, 1, 16) == [(2, 3), (4, 10), (11, 16)]
    assert read_name(t.tokens, 18) == (["db", "t x"], 21)
    bad = tokenize("(a]")
    assert match_close(bad.tokens, 0) == -1
