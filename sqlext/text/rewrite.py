"""The EMBED macro: find `EMBED(...)` calls in SQL text and splice literal vectors in their place.

EMBED is resolved on the client, before the statement is sent: each call becomes one Float32
array literal (`[0.0123, -0.5, ...]`, a unit CLIP vector). Nothing else in the statement changes:
the text outside the calls is sent byte for byte as written (no SQL is regenerated).

Syntax
------
    EMBED(term [, term ...])

    term   := [sign] [number '*'] atom        -- EMBED(2 * 'cat'), EMBED(-'dog'), EMBED(-0.5 * text('snow'))
            | [sign] atom '*' number          -- EMBED('cat' * 2)
    atom   := 'string literal'                -- kind decided by the embedder: an http(s):// or file:// URL,
                                              --   an existing path or an image-like path is an image, else text
            | text('string literal')          -- always text, even if it looks like a path
            | image('string literal')         -- always an image (URL or local path)
    sign   := '+' | '-'

- `EMBED` and `text`/`image` are matched in any case (`embed`, `Embed`, `TEXT`, ...).
- Several terms are combined: each term's unit vector times its weight (default 1.0), summed and
  normalised: `EMBED('https://x/y.jpg', 'a man standing on the beach')` averages an image and a
  text; `EMBED('king', -'man', 'woman')` does vector arithmetic.
- Strings are ClickHouse single-quoted literals: `''` and backslash escapes (`\\'`, `\\n`, `\\t`,
  `\\xHH`, ...) are decoded; `$$heredoc$$` strings work too. An empty or blank string is an error.
- EMBED is found only where ClickHouse would see a function call: not inside strings, comments or
  quoted identifiers (`"embed"(x)` and `` `EMBED`(x) `` are left alone), not as part of a longer
  name (`photo_embed`, `myembed(...)`), not qualified (`db.embed(...)`).
- Arguments must be literals. `EMBED(some_column)`, `EMBED(concat(...))`, `EMBED('a' || 'b')`,
  `EMBED()` raise `RewriteError` with the line and column of the call: the vector is computed once,
  before the query runs, so it cannot depend on row values. For one vector per row, embed at
  ingestion (`embedsql ingest`) into an `Array(Float32)` column and compare with
  `distance(that_column, EMBED('...'))`.

API
---
- `find_embeds(sql) -> list[EmbedCall]` (calls in text order; `[]` without tokenizing when the word
  "embed" does not occur at all).
- `splice(sql, calls, vectors) -> str`, `format_vector(vec) -> str`.
- `rewrite(sql, embed_fn) -> (new_sql, calls)`: `embed_fn(list[EmbedQuery]) -> list[np.ndarray]`
  is called once with the distinct queries.

Vector literals
---------------
`format_vector` writes each float32 with 9 significant digits (`'%.9g'`, one `%` format call for
the whole vector), which is enough to read back the identical float32 (IEEE 754: 9 digits
round-trip binary32), and appends `.0` to integer-looking values so the server never infers an
integer array type (MyScale requires `[3.0, ...]` style). 512 values take ~0.08 ms; the shortest
round-tripping form (numpy `str(np.float32)`) was 3x slower and `repr` of the exact float64 2.7x
slower and 60% longer.
"""
from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from sqlext.errors import RewriteError
from sqlext.text.tokens import (
    CAST_HEAD, CAST_TAIL, CLOSE, OPEN, Token, Tokens, TokenType, match_close, position, tokenize, vector_tokens,
)

try:
    from embed import EmbedQuery, Term
except ImportError:  # embed/__init__ may not re-export them yet
    from embed.types import EmbedQuery, Term

__all__ = ["EmbedCall", "find_embeds", "has_embed_word", "splice", "splice_text", "splice_tokens", "format_vector",
           "cast_vector", "plain_vector", "literals_only", "elided_vector", "rewrite",
           "DISTANCE_FUNCTIONS"]

# The cheap pre-check: the word "embed" standing alone (not photo_embed, not embedding).
_EMBED_WORD = re.compile(r"(?<![\w$])embed(?![\w$])", re.IGNORECASE)

#: Functions (lower-cased) whose EMBED argument is compared with a vector column.
DISTANCE_FUNCTIONS = frozenset({
    "distance", "batch_distance", "hybridsearch",
    "cosinedistance", "l1distance", "l2distance", "l2squareddistance", "linfdistance", "lpdistance",
    "l2distancetransposed", "dotproduct", "innerproduct", "scalarproduct", "cosinesimilarity",
})

_HINT = ("EMBED is resolved once, before the query runs, so its arguments must be literals: "
         "EMBED('text' | 'https://.../img.jpg' | './img.jpg' | text('...') | image('...')), "
         "optionally weighted: EMBED(2 * 'cat', -'dog'). For a vector per row, embed the column at "
         "ingestion (`embedsql ingest`) into an Array(Float32) column and compare with "
         "distance(that_column, EMBED('...')).")

_OPEN = OPEN
_CLOSE = CLOSE
_STRINGS = frozenset({TokenType.STRING, TokenType.HEREDOC_STRING})
_SIGNS = {TokenType.DASH: -1.0, TokenType.PLUS: 1.0}
_NOT_NAMES = frozenset({TokenType.STRING, TokenType.HEREDOC_STRING, TokenType.NUMBER,
                        TokenType.NATIONAL_STRING, TokenType.HEX_STRING, TokenType.BIT_STRING,
                        TokenType.BYTE_STRING, TokenType.RAW_STRING})
_NAME_RE = re.compile(r"[A-Za-z_][\w$]*\Z")


@dataclass(frozen=True)
class EmbedCall:
    """One EMBED(...) call: `sql[start:end] == text` (the whole call, parentheses included);
    `line`/`col` (1-based) of the EMBED word; `compared_column` is the column it is compared with
    when the call is an argument of a distance function (`distance(t.v, EMBED(...))` -> "t.v")."""

    start: int
    end: int
    query: EmbedQuery
    line: int
    col: int
    text: str
    compared_column: str | None = None

    @property
    def column(self) -> str | None:
        """Alias of `compared_column` (the name used in CONTRACT.md)."""
        return self.compared_column


# ----------------------------------------------------------------------------------------------
# Finding calls

def _position(sql: str, offset: int) -> tuple[int, int]:
    return position(sql, offset)


def has_embed_word(sql: str) -> bool:
    """Whether the word EMBED occurs at all (in any case, not inside a longer name): without it
    there is no call to find."""
    return _EMBED_WORD.search(sql) is not None


def find_embeds(sql: "str | Tokens") -> list[EmbedCall]:
    """Every EMBED(...) call in `sql` (one statement or a script, as text or as its tokens from
    `sqlext.text.tokens.tokenize`), in text order. Text without the word "embed" is not lexed."""
    if isinstance(sql, Tokens):
        if not _EMBED_WORD.search(sql.text):
            return []
        return _find(sql.text, sql.tokens)
    if not _EMBED_WORD.search(sql):
        return []
    return _find(sql, tokenize(sql).tokens)


def _find(sql: str, tokens: list[Token]) -> list[EmbedCall]:
    calls: list[EmbedCall] = []
    n = len(tokens)
    i = 0
    while i < n:
        tok = tokens[i]
        if (len(tok.text) != 5 or tok.text.upper() != "EMBED" or tok.type == TokenType.IDENTIFIER
                or i + 1 >= n or tokens[i + 1].type != TokenType.L_PAREN
                or (i and tokens[i - 1].type == TokenType.DOT)):
            i += 1
            continue
        close = _matching(tokens, i + 1)
        if close is None:
            line, col = _position(sql, tok.start)
            raise RewriteError(f"EMBED( at {_snippet(sql[tok.start:])} is never closed",
                               line=line, col=col, hint="add the missing ')'")
        start, end = tok.start, tokens[close].end
        text = sql[start:end]
        query = _parse_args(sql, tokens, i, close, text)
        line, col = _position(sql, start)
        calls.append(EmbedCall(start, end, query, line, col, text, _compared_column(tokens, i, close)))
        i = close + 1
    return calls


def _matching(tokens: list[Token], open_index: int) -> int | None:
    """Index of the bracket closing tokens[open_index]; None if unclosed or closed by another kind."""
    j = match_close(tokens, open_index)
    return None if j < 0 else j


def _split_args(tokens: list[Token], lo: int, hi: int) -> list[list[Token]]:
    """Top-level comma-separated groups of tokens[lo:hi] (brackets balanced inside)."""
    args: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens[lo:hi]:
        tt = tok.type
        if tt in _OPEN:
            depth += 1
        elif tt in _CLOSE:
            depth -= 1
        elif tt == TokenType.COMMA and depth == 0:
            args.append([])
            continue
        args[-1].append(tok)
    return args


def _snippet(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_args(sql: str, tokens: list[Token], name: int, close: int, call_text: str) -> EmbedQuery:
    line, col = _position(sql, tokens[name].start)

    def fail(reason: str, extra_hint: str | None = None) -> RewriteError:
        hint = _HINT if extra_hint is None else f"{extra_hint}. {_HINT}"
        return RewriteError(f"cannot resolve {_snippet(call_text)}: {reason}", line=line, col=col, hint=hint)

    if close == name + 2:
        raise fail("EMBED() needs at least one input (text, an image URL or a file path)")
    terms = []
    for arg in _split_args(tokens, name + 2, close):
        terms.append(_parse_term(sql, arg, fail))
    return EmbedQuery(tuple(terms))


def _parse_term(sql: str, arg: list[Token], fail) -> Term:
    if not arg:
        raise fail("an argument is empty (a stray comma?)")
    arg_text = sql[arg[0].start:arg[-1].end]
    toks = list(arg)
    sign = 1.0
    weight: float | None = None
    if toks[0].type in _SIGNS:
        sign = _SIGNS[toks.pop(0).type]
    if len(toks) >= 2 and toks[0].type == TokenType.NUMBER and toks[1].type == TokenType.STAR:
        weight, toks = _number(toks[:1], arg_text, fail), toks[2:]
    elif len(toks) >= 3 and toks[0].type == TokenType.DOT and toks[2].type == TokenType.STAR:
        weight, toks = _number(toks[:2], arg_text, fail), toks[3:]
    atom, rest = _atom(toks, arg_text, fail)
    if rest:
        if weight is None and len(rest) in (2, 3) and rest[0].type == TokenType.STAR:
            weight = _number(rest[1:], arg_text, fail)
        elif rest[0].type in (TokenType.STRING, TokenType.NUMBER) or rest[0].type in _SIGNS:
            # 'cat' 'dog', 'cat' 2 * 'dog', 'cat' -'dog': two inputs with no comma between them
            before = sql[arg[0].start:rest[0].start].rstrip()
            raise fail(f"a comma is missing after {before} (each input is its own argument)",
                       f"put a comma between {before} and {sql[rest[0].start:arg[-1].end]}")
        else:
            raise _not_literal(arg_text, fail)
    kind, value = atom
    if not value.strip():
        raise fail("EMBED input is empty", "put the text, image URL or path between the quotes")
    return Term(kind, value, sign * (1.0 if weight is None else weight))


def _number(toks: list[Token], arg_text: str, fail) -> float:
    text = "".join(t.text if t.type != TokenType.DOT else "." for t in toks)
    if toks[-1].type != TokenType.NUMBER or (len(toks) == 2 and toks[0].type != TokenType.DOT):
        raise _not_literal(arg_text, fail)
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise fail(f"weight {text} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise fail(f"weight {text} is not a finite number")
    return value


def _atom(toks: list[Token], arg_text: str, fail) -> tuple[tuple[str, str], list[Token]]:
    if not toks:
        raise _not_literal(arg_text, fail)
    first = toks[0]
    if first.type in _STRINGS:
        return ("auto", first.text), toks[1:]
    if (first.type != TokenType.IDENTIFIER and first.text.lower() in ("text", "image")
            and len(toks) >= 4 and toks[1].type == TokenType.L_PAREN
            and toks[2].type in _STRINGS and toks[3].type == TokenType.R_PAREN):
        return (first.text.lower(), toks[2].text), toks[4:]
    if first.type == TokenType.IDENTIFIER and len(toks) == 1 and arg_text.startswith('"'):
        raise fail(f"{arg_text} is a quoted identifier, not text",
                   f"write text in single quotes: '{first.text}'")
    if first.text.lower() in ("text", "image") and len(toks) > 1 and toks[1].type == TokenType.L_PAREN:
        raise fail(f"{first.text.lower()}(...) takes one string literal, got {_snippet(arg_text)}")
    raise _not_literal(arg_text, fail)


def _not_literal(arg_text: str, fail) -> RewriteError:
    if re.fullmatch(r"\{\s*\w+\s*:[^{}]*\}", arg_text.strip()):  # a server-side parameter {q:String}
        return fail(f"`{_snippet(arg_text)}` is a server-side parameter: EMBED is resolved before the "
                    f"statement is sent, so the server cannot fill it in",
                    "put the text in the SQL as a string literal (quote it with "
                    "sqlext.text.ddl.string_literal), or use sqlext.dbapi, whose %(name)s parameters "
                    "inside EMBED are bound before embedding")
    return fail(f"`{_snippet(arg_text)}` is not a literal; EMBED cannot read columns or expressions")


def _compared_column(tokens: list[Token], name: int, close: int) -> str | None:
    """Column compared with the call in distance(col, EMBED(...)) / distance('p=v')(col, EMBED(...))."""
    depth = 0
    o = name - 1
    while o >= 0:  # the bracket enclosing the call
        tt = tokens[o].type
        if tt in _CLOSE:
            depth += 1
        elif tt in _OPEN:
            if depth == 0:
                break
            depth -= 1
        o -= 1
    if o < 1 or tokens[o].type != TokenType.L_PAREN:
        return None
    fn = o - 1
    if tokens[fn].type == TokenType.R_PAREN:  # parametric: distance('ef_s=50')(col, EMBED(...))
        depth, j = 0, fn
        while j >= 0:
            tt = tokens[j].type
            if tt in _CLOSE:
                depth += 1
            elif tt in _OPEN:
                depth -= 1
                if depth == 0:
                    break
            j -= 1
        fn = j - 1
    if fn < 0 or tokens[fn].text.lower() not in DISTANCE_FUNCTIONS or tokens[fn].type in _NOT_NAMES:
        return None
    group_close = _matching(tokens, o)
    if group_close is None:
        return None
    args = _split_args(tokens, o + 1, group_close)
    if not any(a and a[0] is tokens[name] and a[-1] is tokens[close] for a in args):
        return None  # EMBED is part of a larger argument expression
    for arg in args:
        if arg and arg[0] is tokens[name]:
            continue
        column = _column_name(arg)
        if column is not None:
            return column
    return None


def _column_name(arg: list[Token]) -> str | None:
    if not arg or len(arg) % 2 == 0:
        return None
    parts = []
    for k, tok in enumerate(arg):
        if k % 2:
            if tok.type != TokenType.DOT:
                return None
        elif tok.type == TokenType.IDENTIFIER or (
                tok.type not in _NOT_NAMES and _NAME_RE.match(tok.text)):
            parts.append(tok.text)
        else:
            return None
    return ".".join(parts)


# ----------------------------------------------------------------------------------------------
# Vectors and splicing

@functools.lru_cache(maxsize=16)
def _template(n: int) -> str:
    return "[" + ", ".join(["%.9g"] * n) + "]"


def format_vector(vec: np.ndarray) -> str:
    """A Float32 array literal: 9 significant digits (reads back the same float32), every value
    with a decimal point or exponent (`1.0`, never `1`)."""
    v = np.asarray(vec, dtype=np.float32)
    if v.ndim != 1 or v.size == 0:
        raise RewriteError(f"expected a non-empty 1-d vector, got shape {v.shape}")
    if not np.isfinite(v).all():
        raise RewriteError("the vector holds NaN or infinity", hint="the embedding model returned invalid values")
    values = v.tolist()
    integral = np.flatnonzero(v == np.trunc(v))
    if integral.size == 0:
        return _template(len(values)) % tuple(values)
    parts = ["%.9g" % x for x in values]
    for k in integral.tolist():
        s = parts[k]
        if "." not in s and "e" not in s:
            parts[k] = s + ".0"
    return "[" + ", ".join(parts) + "]"


def cast_vector(literal: str) -> str:
    """The form in which the session sends a vector to ClickHouse: `CAST('<literal>',
    'Array(Float64)')`, the array literal `format_vector` made, in a string cast to the literal's
    own type (so every value, type and result is the same as the literal's, and the vector index
    is used alike). ClickHouse's SQL parser builds a syntax-tree node per element of an array
    literal; the string is read by the type's text parser instead. On chdb 26.9, with a 512-d
    query vector as the array literal, top-10 searches through `Session.query` took 1.12-1.26x as
    long over 25k CLIP-like rows and 1.04-1.11x over 200k (benchmarks/bench_plan_settings.py,
    benchmarks/RESULTS.md). Not for MyScale, whose vector search is not measured with it, nor for
    a `SET` or `SETTINGS` value (`literals_only`). `literal` must be `format_vector`'s
    (digits, signs, points, exponents: nothing to escape in a string)."""
    return CAST_HEAD + literal + CAST_TAIL


def plain_vector(literal: str) -> str:
    """The array literal inside a `cast_vector` form (any other text as it is)."""
    if literal.startswith(CAST_HEAD) and literal.endswith(CAST_TAIL):
        return literal[len(CAST_HEAD):-len(CAST_TAIL)]
    return literal


def literals_only(tokens: Tokens, calls: Sequence[EmbedCall]) -> list[bool]:
    """For each EMBED call found in `tokens` (one statement): whether it is a value of a `SET`
    statement or of a `SETTINGS` clause (`SET param_q = EMBED('…')`). Those take literals, not
    expressions, so such a call is sent as the array literal itself rather than its `cast_vector`
    form. Read with the statement kind and the clause of each token that the lints use
    (`sqlext.text.kinds`); an `UPDATE … SET` is an expression and takes either form."""
    from sqlext.text.kinds import query_scopes, statement_kind

    if not calls:
        return []
    if statement_kind(tokens).name == "set":
        return [True] * len(calls)
    clause = query_scopes(tokens).clause
    starts = [t.start for t in tokens.tokens]
    out = []
    for c in calls:
        k = bisect.bisect_left(starts, c.start)
        out.append(k < len(clause) and clause[k] == "SETTINGS")
    return out


def elided_vector(literal: str) -> str:
    """A vector literal from `format_vector` (or its `cast_vector` form) as shown to people:
    `[512 x Float32]` (`CAST('[512 x Float32]', 'Array(Float64)')`), counted without reading
    the digits."""
    plain = plain_vector(literal)
    shown = f"[{plain.count(',') + 1} x Float32]"
    return shown if plain is literal else CAST_HEAD + shown + CAST_TAIL


def splice(sql: str, calls: Sequence[EmbedCall], vectors: Sequence[np.ndarray]) -> str:
    """Replace each call's span with its vector literal; all other text is kept byte for byte."""
    if len(calls) != len(vectors):
        raise ValueError(f"{len(calls)} EMBED calls but {len(vectors)} vectors")
    return splice_text(sql, calls, [format_vector(v) for v in vectors])


def splice_text(sql: str, calls: Sequence[EmbedCall], replacements: Sequence[str]) -> str:
    """Replace each call's span with the given text; all other text is kept byte for byte."""
    if len(calls) != len(replacements):
        raise ValueError(f"{len(calls)} EMBED calls but {len(replacements)} replacements")
    if not calls:
        return sql
    parts: list[str] = []
    pos = 0
    for call, rep in sorted(zip(calls, replacements), key=lambda cr: cr[0].start):
        if call.start < pos or sql[call.start:call.end] != call.text:
            raise ValueError(f"EMBED call at {call.start}..{call.end} does not match this SQL text")
        parts.append(sql[pos:call.start])
        parts.append(rep)
        pos = call.end
    parts.append(sql[pos:])
    return "".join(parts)


def splice_tokens(tokens: Tokens, calls: Sequence[EmbedCall], literals: Sequence[str]) -> Tokens:
    """`splice_text` on tokens: each call's span replaced by its vector literal, the literal's
    tokens made without lexing its digits (`sqlext.text.tokens.vector_tokens`); every other token
    is kept (offsets shifted). `tokens` must be those the calls were found in."""
    if len(calls) != len(literals):
        raise ValueError(f"{len(calls)} EMBED calls but {len(literals)} literals")
    for call in calls:
        if tokens.text[call.start:call.end] != call.text:
            raise ValueError(f"EMBED call at {call.start}..{call.end} does not match this SQL text")
    return tokens.splice([(c.start, c.end, lit, vector_tokens(lit)) for c, lit in zip(calls, literals)])


def rewrite(sql: str, embed_fn: Callable[[list[EmbedQuery]], Sequence[np.ndarray]]
            ) -> tuple[str, list[EmbedCall]]:
    """Find the calls, embed the distinct queries in one `embed_fn` call, splice. Raises rather
    than returning a partly rewritten statement."""
    calls = find_embeds(sql)
    if not calls:
        return sql, calls
    distinct = list(dict.fromkeys(c.query for c in calls))
    vectors = list(embed_fn(distinct))
    if len(vectors) != len(distinct):
        raise RewriteError(f"the embedder returned {len(vectors)} vectors for {len(distinct)} EMBED inputs")
    by_query = dict(zip(distinct, vectors))
    return splice(sql, calls, [by_query[c.query] for c in calls]), calls
