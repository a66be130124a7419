"""split_statements: ClickHouse-lexer-aware splitting on `;`."""
from __future__ import annotations

import pytest
from sqlglot.dialects.clickhouse import ClickHouse
from sqlglot.tokens import TokenType

from sqlext.text.split import Statement, split_statements
from tests.sqlext.text_support import assert_syntax_error

CASES = [
    ("SELECT 1", ["SELECT 1"]),
    ("SELECT 1;", ["SELECT 1"]),
    ("SELECT 1; SELECT 2;", ["SELECT 1", "SELECT 2"]),
    ("  \n SELECT 1 \n ; \n", ["SELECT 1"]),
    # empty and comment-only statements are dropped
    (";;  ; SELECT 1;;", ["SELECT 1"]),
    ("-- only a comment", []),
    ("SELECT 1; -- trailing comment", ["SELECT 1"]),
    ("SELECT 1; /* a; b */ ; # done;\n", ["SELECT 1"]),
    ("", []),
    ("  \n\t ", []),
    # semicolons inside strings, identifiers, comments, heredocs
    ("SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", "SELECT 2"]),
    ("SELECT \"a;b\", `c;d`; SELECT 2", ["SELECT \"a;b\", `c;d`", "SELECT 2"]),
    ("SELECT 1 -- x; y\n; SELECT 2", ["SELECT 1 -- x; y", "SELECT 2"]),
    ("SELECT 1 /* x; y */; SELECT 2", ["SELECT 1 /* x; y */", "SELECT 2"]),
    ("SELECT 1 /* a /* nested; */ still; */; SELECT 2", ["SELECT 1 /* a /* nested; */ still; */", "SELECT 2"]),
    ("SELECT 1 # x; y\n; SELECT 2", ["SELECT 1 # x; y", "SELECT 2"]),
    ("SELECT 1 #! x; y\n; SELECT 2", ["SELECT 1 #! x; y", "SELECT 2"]),
    ("SELECT 1 // x; y\n; SELECT 2", ["SELECT 1 // x; y", "SELECT 2"]),
    ("SELECT $$a;b$$; SELECT $tag$c;$$;d$tag$", ["SELECT $$a;b$$", "SELECT $tag$c;$$;d$tag$"]),
    ("SELECT x$y; SELECT $1", ["SELECT x$y", "SELECT $1"]),
    # escaped quotes
    ("SELECT 'it''s; fine'; SELECT 2", ["SELECT 'it''s; fine'", "SELECT 2"]),
    (r"SELECT 'it\'s; fine'; SELECT 2", [r"SELECT 'it\'s; fine'", "SELECT 2"]),
    (r"SELECT 'back\\'; SELECT 2", [r"SELECT 'back\\'", "SELECT 2"]),
    (r"SELECT `a\`;b`, 'x''', 'y\\\''; SELECT 2", [r"SELECT `a\`;b`, 'x''', 'y\\\''", "SELECT 2"]),
    # a leading comment stays with its statement
    ("-- first\nSELECT 1;\n/* second */ SELECT 2", ["-- first\nSELECT 1", "/* second */ SELECT 2"]),
    # ClickHouse: `#` not followed by space or ! is not a comment
    ("SELECT a #b; SELECT 2", ["SELECT a #b", "SELECT 2"]),
    ("SELECT 'EMBED(''x;y'')'; SELECT EMBED('a;b')", ["SELECT 'EMBED(''x;y'')'", "SELECT EMBED('a;b')"]),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_split(text, expected):
    statements = split_statements(text)
    assert [s.text for s in statements] == expected
    for s in statements:
        assert text[s.start:s.end] == s.text
        assert s.line == text.count("\n", 0, s.start) + 1


def test_offsets_and_lines():
    text = "\n\n  SELECT 1;\n-- note\nSELECT\n 2 ;;\n\n  INSERT INTO t VALUES (';')"
    assert split_statements(text) == [
        Statement("SELECT 1", 4, 3),
        Statement("-- note\nSELECT\n 2", 14, 4),
        Statement("INSERT INTO t VALUES (';')", 38, 8),
    ]


@pytest.mark.parametrize("text, line, col, what", [
    ("SELECT 1;\nSELECT 'abc", 2, 8, "unterminated string literal"),
    ("SELECT 'abc\\'", 1, 8, "unterminated string literal"),
    ("SELECT \"abc", 1, 8, "unterminated quoted identifier"),
    ("SELECT 1,\n  `abc;", 2, 3, "unterminated quoted identifier"),
    ("SELECT 1 /* a /* b */", 1, 10, "unterminated /* comment"),
    ("SELECT '\\", 1, 8, "unterminated string literal"),
])
def test_unterminated(text, line, col, what):
    assert_syntax_error(split_statements, text, line, col, what)


def test_unterminated_heredoc_is_not_an_error():
    assert [s.text for s in split_statements("SELECT $$a; SELECT 2")] == ["SELECT $$a", "SELECT 2"]


# Where sqlglot's ClickHouse tokenizer can read the script, both must split it the same way.
AGREE = [
    "SELECT 1; SELECT 2",
    "SELECT 'a;b', \"c;d\", `e;f`; SELECT 2;",
    "SELECT 'it''s;', 'x\\';y'; SELECT 3",
    "SELECT 1 -- a;b\n; SELECT 2 /* c; d */ ;",
    "CREATE TABLE t (id UInt32, v Array(Float32), CONSTRAINT c CHECK length(v) = 3) ENGINE = MergeTree ORDER BY id;\n"
    "INSERT INTO t VALUES (1, [0.1, 0.2, 0.3]);\n"
    "SELECT id, distance(v, EMBED('a; b')) AS d FROM t ORDER BY d LIMIT 3;",
    "SELECT 1 # x;\n; SELECT $$a;b$$;",
    ";;SELECT 1;;",
]


def _split_with_sqlglot(text: str) -> list[str]:
    out, start = [], 0
    tokens = ClickHouse().tokenize(text)
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            out.append(text[start:tok.start])
            start = tok.end + 1
    out.append(text[start:])
    # keep chunks that have tokens (not only comments/whitespace)
    return [c.strip() for c in out if ClickHouse().tokenize(c)]


@pytest.mark.parametrize("text", AGREE)
def test_agrees_with_sqlglot_tokenizer(text):
    assert [s.text for s in split_statements(text)] == _split_with_sqlglot(text)
