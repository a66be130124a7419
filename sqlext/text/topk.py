"""Recognize vector top-k searches in a statement, and the settings a statement or a SET names.
Pure text in, facts out: nothing is sent, nothing is rewritten (the planner on the db side,
`sqlext.db.planner`, decides what to do with them).

    find_topk(sql) -> list[TopK]          every `SELECT … ORDER BY <distance>(col, <vector>) LIMIT k`
    statement_settings(sql) -> dict       keys/values of every SETTINGS clause in the statement
    parse_set(sql) -> dict | None         `SET a = 1, b = 'x'` -> {"a": "1", "b": "'x'"}; else None

A top-k search is one SELECT (at any depth: the statement itself, a subquery, a CTE body, a
branch of a UNION) that
- reads one table (`FROM [db.]t [[AS] alias] [FINAL] [SAMPLE …]`; no JOIN, ARRAY JOIN, comma
  join, table function or subquery in its FROM),
- has no GROUP BY / HAVING / DISTINCT / WINDOW / QUALIFY,
- orders by one key: `cosineDistance(col, v)` or `L2Distance(col, v)` (either argument order),
  written in ORDER BY or as an alias of the SELECT list, ascending,
- with `LIMIT k`, `LIMIT k OFFSET o` or `LIMIT o, k` (not `LIMIT … BY`, not `WITH TIES`),
- where `v` is a constant vector: an array literal (`[0.1, …]`, or the session's short
  placeholder `[__embedsql_vec_…]` for an EMBED result), the same in a string cast to
  `Array(Float32|Float64)` (`CAST('[0.1, …]', 'Array(Float64)')`: how the session sends EMBED
  results to ClickHouse, `sqlext.text.rewrite.cast_vector`) or the name of one given in a WITH
  clause (`WITH [0.1, …] AS q`).
MyScale's `distance()` is recognized after the dialect bridge has translated it to one of these.

The recognition sits behind these three functions so that it can move onto another token layer
without changing its callers. Offsets are character offsets into `sql`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlext.errors import SQLSyntaxError
from sqlext.text.split import LEADING as _LEADING
from sqlext.text.tokens import Token as Tok
from sqlext.text.tokens import Tokens, TokenType, is_cast_vector, is_name, match_close, read_name, split_args
from sqlext.text.tokens import tokenize as _lex


def tokens_or_none(sql: str) -> list[Tok] | None:
    """The statement's tokens (`sqlext.text.tokens`), or None when it cannot be lexed (an
    unterminated string: the server will say so)."""
    try:
        return _lex(sql).tokens
    except SQLSyntaxError:
        return None

__all__ = ["TopK", "find_topk", "only_search", "statement_settings", "parse_set", "DISTANCE_METRIC"]

#: ClickHouse distance functions a vector_similarity index serves, and the index metric each needs.
DISTANCE_METRIC = {"cosinedistance": "Cosine", "l2distance": "L2"}

_CLAUSES = {TokenType.FROM, TokenType.PREWHERE, TokenType.WHERE, TokenType.GROUP_BY, TokenType.HAVING,
            TokenType.ORDER_BY, TokenType.LIMIT, TokenType.SETTINGS, TokenType.FORMAT, TokenType.WINDOW,
            TokenType.QUALIFY, TokenType.OFFSET, TokenType.INTO}
_SET_OPS = {TokenType.UNION, TokenType.EXCEPT, TokenType.INTERSECT}
_JOINISH = {TokenType.JOIN, TokenType.ARRAY, TokenType.COMMA, TokenType.L_PAREN, TokenType.LEFT,
            TokenType.RIGHT, TokenType.INNER, TokenType.FULL, TokenType.CROSS, TokenType.OUTER,
            TokenType.GLOBAL, TokenType.ASOF, TokenType.SEMI, TokenType.ANTI, TokenType.PASTE}
_NOT_ALIAS = {"FINAL", "SAMPLE", "PREWHERE", "WHERE", "ORDER", "LIMIT", "SETTINGS", "FORMAT", "GROUP"}


@dataclass(frozen=True)
class TopK:
    """One recognized top-k vector search.

    start/end: the span of the whole query it belongs to (its WITH clause included) in the
    statement; outermost: its rows are the statement's rows (no enclosing query, UNION or CTE use).
    table: as written, unquoted (`db.t` or `t`); from_text: the FROM item as written (table, alias,
    FINAL, SAMPLE); function: the distance function as written; metric: "Cosine" | "L2";
    column: the vector column (unqualified); vector: the vector argument's text (a literal, a
    placeholder or a WITH name); where/prewhere: the condition texts or None; k, offset: LIMIT;
    settings: its own SETTINGS clause (lower-case keys); with_clause: the statement's top-level
    `WITH …` text (without the SELECT), for a check query that needs its names; None when none."""

    start: int
    end: int
    outermost: bool
    table: str
    from_text: str
    function: str
    metric: str
    column: str
    vector: str
    where: str | None
    prewhere: str | None
    k: int
    offset: int = 0
    settings: dict = field(default_factory=dict)
    with_clause: str | None = None
    #: a query parameter's name where LIMIT or OFFSET is a placeholder (`LIMIT {k:UInt32}`): k or
    #: offset is then 0 until the session puts in the value it sends (`with_params`)
    k_param: str | None = None
    offset_param: str | None = None

    def with_params(self, params: dict | None) -> "TopK | None":
        """This search with the values of its LIMIT / OFFSET placeholders from `params` (the
        statement's query parameters); None when one is unbound or not a count (k > 0, offset
        >= 0). Itself when it has none."""
        if self.k_param is None and self.offset_param is None:
            return self
        try:
            k = int(str((params or {})[self.k_param])) if self.k_param else self.k
            off = int(str((params or {})[self.offset_param])) if self.offset_param else self.offset
        except (KeyError, TypeError, ValueError):
            return None
        if k <= 0 or off < 0:
            return None
        return replace(self, k=k, offset=off, k_param=None, offset_param=None)

    @property
    def filtered(self) -> bool:
        """True when the search has a WHERE or PREWHERE condition (a filtered top-k, which may be
        post-filtered)."""
        return bool(self.where or self.prewhere)

    def query_text(self, sql: str) -> str:
        """The text of the query this search belongs to (`start`..`end`, its WITH clause included),
        cut from `sql`, the statement it was found in."""
        return sql[self.start:self.end]


def _src(sql: str, toks: list[Tok], a: int, b: int) -> str:
    return sql[toks[a].start:toks[b - 1].end] if b > a else ""


def _scope_end(toks: list[Tok], i: int) -> int:
    """Index just past the query the SELECT at i belongs to: the closing bracket of its group, a
    set operator or `;` at its depth, or the end."""
    d = toks[i].depth
    j = i + 1
    while j < len(toks):
        t = toks[j]
        if t.depth < d or (t.depth == d and (t.type in _SET_OPS or t.type == TokenType.SEMICOLON)):
            break
        j += 1
    return j


def _query_start(toks: list[Tok], i: int) -> int:
    """Index where the query of the SELECT at i begins: its own WITH clause when it has one."""
    d = toks[i].depth
    j = i - 1
    while j >= 0 and toks[j].depth >= d:
        if toks[j].depth == d and (toks[j].type in _SET_OPS or toks[j].type in (TokenType.SELECT,
                                                                                   TokenType.SEMICOLON)):
            return i  # ours follows a set operator: it has no WITH of its own
        j -= 1
    k = j + 1
    return k if k < i and toks[k].type == TokenType.WITH else i


def _is_outermost(toks: list[Tok], qstart: int, qend: int) -> bool:
    """The query [qstart, qend) is the whole statement (a trailing `;` aside)."""
    return qstart == 0 and all(t.type == TokenType.SEMICOLON for t in toks[qend:])


def _with_vectors(sql: str, toks: list[Tok]) -> dict[str, str]:
    """Names given to array literals in WITH clauses: `WITH [..] AS q` -> {"q": "[..]"}."""
    out = {}
    for k, t in enumerate(toks):
        if k and toks[k - 1].type not in (TokenType.WITH, TokenType.COMMA):
            continue
        if t.up == "CAST" and is_cast_vector(toks, k):
            if k + 7 < len(toks) and toks[k + 6].type == TokenType.ALIAS:
                out[toks[k + 7].text] = _src(sql, toks, k, k + 6)
            continue
        if t.type != TokenType.L_BRACKET:
            continue
        close = match_close(toks, k)
        if close < 0 or close + 2 >= len(toks) or toks[close + 1].type != TokenType.ALIAS:
            continue
        if not _is_vector_literal(toks, k, close + 1):
            continue  # an array of arrays, or of expressions, is not a query vector
        out[toks[close + 2].text] = _src(sql, toks, k, close + 1)
    return out


def _is_vector_literal(toks: list[Tok], a: int, b: int) -> bool:
    if b - a == 6 and toks[a].up == "CAST" and is_cast_vector(toks, a):
        return True
    if b - a < 2 or toks[a].type != TokenType.L_BRACKET or match_close(toks, a) != b - 1:
        return False
    inner = toks[a + 1:b - 1]
    if len(inner) == 1 and inner[0].text.startswith("__embedsql_vec_"):
        return True
    return bool(inner) and all(t.type in (TokenType.NUMBER, TokenType.COMMA, TokenType.DASH, TokenType.PLUS)
                               for t in inner)


def _distance_call(sql: str, toks: list[Tok], a: int, b: int, vectors: dict) -> tuple | None:
    """tokens [a, b) are exactly `fn(col, vec)` or `fn(vec, col)` -> (fn, metric, column parts, vector text)."""
    if b - a < 4 or toks[a].low not in DISTANCE_METRIC or toks[a + 1].type != TokenType.L_PAREN:
        return None
    if a and toks[a - 1].type == TokenType.DOT:
        return None
    close = match_close(toks, a + 1)
    if close != b - 1:
        return None
    args = split_args(toks, a + 1, close)
    if len(args) != 2:
        return None
    for (ca, cb), (va, vb) in (args, args[::-1]):
        parts, after = read_name(toks, ca)
        if not parts or after != cb:
            continue
        if _is_vector_literal(toks, va, vb):
            return toks[a].text, DISTANCE_METRIC[toks[a].low], parts, _src(sql, toks, va, vb)
        if vb == va + 1 and toks[va].text in vectors and toks[va].type in (TokenType.VAR, TokenType.IDENTIFIER):
            return toks[a].text, DISTANCE_METRIC[toks[a].low], parts, toks[va].text
    return None


def _settings_at(sql: str, toks: list[Tok], k: int) -> dict[str, str]:
    """The `key = value, …` list after the SETTINGS token at k (at its depth): lower-case keys
    (a query parameter's `param_name` keeps its case: ClickHouse's names are case-sensitive),
    values as written."""
    out = {}
    d = toks[k].depth
    j = k + 1
    while j + 2 < len(toks) and toks[j].depth == d and is_name(toks[j]) and toks[j + 1].type == TokenType.EQ:
        v = e = j + 2
        while e < len(toks) and toks[e].depth >= d and not (
                toks[e].depth == d and toks[e].type in (TokenType.COMMA, TokenType.FORMAT, TokenType.SEMICOLON)):
            e += 1
        if e == v:
            break
        out[toks[j].text if toks[j].text.startswith("param_") else toks[j].low] = _src(sql, toks, v, e)
        if e < len(toks) and toks[e].type == TokenType.COMMA and toks[e].depth == d:
            j = e + 1
        else:
            break
    return out


def statement_settings(sql: str, toks: list[Tok] | None = None) -> dict[str, str]:
    """Every `SETTINGS k = v, …` clause in the statement, merged (lower-case keys; values as
    written, strings re-quoted). {} when none or when the text cannot be tokenized."""
    if "settings" not in sql.lower():
        return {}
    toks = tokens_or_none(sql) if toks is None else toks
    out: dict[str, str] = {}
    for k, t in enumerate(toks or []):
        if t.type == TokenType.SETTINGS:
            out.update(_settings_at(sql, toks, k))
    return out


#: whitespace and comments at the start of a statement


def parse_set(sql: str) -> dict[str, str] | None:
    """`SET a = 1, b = 'x'` -> {"a": "1", "b": "'x'"} (lower-case keys but `param_name`'s, values
    as written);
    None for any other statement (SET ROLE, SET DEFAULT ROLE and the like included)."""
    head = sql.lstrip()
    if not head[:3].upper() == "SET" or (len(head) > 3 and not head[3].isspace()):
        return None
    toks = tokens_or_none(sql)
    if not toks or toks[0].up != "SET":
        return None
    if len(toks) > 1 and toks[1].up in ("ROLE", "DEFAULT", "TRANSACTION"):
        return None
    # the first statement only: `SET a = 1; SELECT 1` sets a to 1, not to `1; SELECT 1`
    end = next((k for k, t in enumerate(toks) if t.type == TokenType.SEMICOLON), len(toks))
    out = _settings_at(sql, toks[:end], 0)
    return out or None


def may_search(toks: list[Tok]) -> bool:
    """Whether a statement's tokens hold what a vector index search needs: a call of a distance
    function (a name ending or starting with `distance`, `dotProduct`, `scalarProduct`; quoted or
    not), an ORDER BY and a LIMIT, FETCH or TOP (comments anywhere between)."""
    fn = order = limit = False
    for j, t in enumerate(toks):
        if not fn and t.type in (TokenType.VAR, TokenType.IDENTIFIER) and j + 1 < len(toks) \
                and toks[j + 1].type == TokenType.L_PAREN:
            low = t.text.lower()
            fn = low.endswith("distance") or low.startswith("distance") or low in ("dotproduct", "scalarproduct")
        elif t.type == TokenType.ORDER_BY:
            order = True
        elif t.type in (TokenType.LIMIT, TokenType.FETCH) or t.up == "TOP":
            limit = True
    return fn and order and limit


def parse_use(sql: str) -> str | None:
    """The database of `USE [DATABASE] db` (comments before it allowed; a quoted name decoded as
    ClickHouse reads it: `` `we``ird` `` -> we`ird); `{name` for a query parameter's placeholder
    (`USE {d:Identifier}`), which the caller binds; "" for a USE it cannot read; None for any
    other statement."""
    head = sql[_LEADING.match(sql).end():]
    if not head[:3].upper() == "USE" or (len(head) > 3 and not (head[3].isspace() or head[3] in "`\"{/-")):
        return None
    toks = tokens_or_none(sql)
    if not toks or toks[0].up != "USE":
        return None
    rest = [t for t in toks[1:] if t.type != TokenType.SEMICOLON]
    if len(rest) > 1 and rest[0].up == "DATABASE":
        rest = rest[1:]
    if len(rest) == 1:
        return _identifier_value(sql[rest[0].start:rest[0].end])
    if (len(rest) >= 5 and rest[0].type == TokenType.L_BRACE and rest[-1].type == TokenType.R_BRACE
            and rest[2].type == TokenType.COLON):
        return "{" + rest[1].text
    return ""


def _identifier_value(text: str) -> str:
    """An identifier as ClickHouse reads it: a quoted one (`` ` `` or `"`) without its quotes, a
    doubled quote and backslash escapes decoded."""
    if len(text) < 2 or text[0] != text[-1] or text[0] not in "`\"":
        return text
    q, body, out, i = text[0], text[1:-1], [], 0
    escapes = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], body[i + 1]))
            i += 2
        elif ch == q and i + 1 < len(body) and body[i + 1] == q:
            out.append(q)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def only_search(sql: "str | Tokens", topks: list[TopK]) -> bool:
    """Whether `topks` (find_topk of `sql`, the statement's text or tokens) is the statement's one
    vector search: a single search, outermost, and every distance function call in the statement
    (a function named `…distance` or `dotProduct`) at the outermost query's own level (bracket
    depth 0), so no other search hides in a subquery, a CTE, a UNION branch or a function's
    arguments. Settings that hold for the whole statement may then be chosen for that search
    alone (the planner's `NO_VECTOR_SEARCH`)."""
    if len(topks) != 1 or not topks[0].outermost:
        return False
    toks = sql.tokens if isinstance(sql, Tokens) else tokens_or_none(sql)
    if not toks:
        return False
    for k, t in enumerate(toks[:-1]):
        if t.depth and toks[k + 1].type == TokenType.L_PAREN and (t.low.endswith("distance") or t.low == "dotproduct"):
            return False
    return True


def find_topk(sql: "str | Tokens") -> list[TopK]:
    """Every top-k vector search in one statement (see the module docstring), in text order.
    `sql`: the statement's text, or its tokens (`sqlext.text.tokens.Tokens`: not lexed again;
    the session hands on the tokens of what it sends, vector literals included). [] when there is
    none or the text cannot be tokenized."""
    given = sql if isinstance(sql, Tokens) else None
    sql = given.text if given is not None else sql
    low = sql.lower()
    if "limit" not in low or not any(f in low for f in DISTANCE_METRIC):
        return []
    toks = given.tokens if given is not None else tokens_or_none(sql)
    if not toks:
        return []
    vectors = _with_vectors(sql, toks)
    top_with = None
    if toks[0].type == TokenType.WITH:
        sel = next((k for k, t in enumerate(toks) if t.type == TokenType.SELECT and t.depth == 0), None)
        if sel is not None:
            top_with = _src(sql, toks, 0, sel)
    out = []
    for i, t in enumerate(toks):
        if t.type != TokenType.SELECT:
            continue
        r = _topk_at(sql, toks, i, vectors, top_with)
        if r is not None:
            out.append(r)
    return out


def _topk_at(sql: str, toks: list[Tok], i: int, vectors: dict, top_with: str | None) -> TopK | None:
    d = toks[i].depth
    end = _scope_end(toks, i)
    clauses: dict = {}
    for j in range(i + 1, end):
        t = toks[j]
        if t.depth != d:
            continue
        if t.type in (TokenType.GROUP_BY, TokenType.HAVING, TokenType.WINDOW, TokenType.QUALIFY, TokenType.DISTINCT,
                      TokenType.INTO):
            return None
        if t.type in _CLAUSES and t.type not in clauses:
            clauses[t.type] = j
        elif t.type in _CLAUSES and t.type in (TokenType.WHERE, TokenType.FROM, TokenType.ORDER_BY, TokenType.LIMIT):
            return None  # a second one at this level: not a plain SELECT
    if i + 1 < end and toks[i + 1].type == TokenType.DISTINCT:
        return None
    need = (TokenType.FROM, TokenType.ORDER_BY, TokenType.LIMIT)
    if any(c not in clauses for c in need):
        return None
    marks = sorted(clauses.values())

    def region(tt):
        a = clauses.get(tt)
        if a is None:
            return None
        b = next((m for m in marks if m > a), end)
        return a + 1, b

    # FROM: one table
    fa, fb = region(TokenType.FROM)
    parts, after = read_name(toks, fa)
    if not parts or (after < fb and toks[after].type == TokenType.L_PAREN):
        return None
    j = after
    if j < fb and toks[j].type == TokenType.ALIAS:
        j += 2
    elif j < fb and toks[j].type in (TokenType.VAR, TokenType.IDENTIFIER) and toks[j].up not in _NOT_ALIAS:
        j += 1
    for t in toks[j:fb]:
        if t.depth == d and (t.type in _JOINISH or t.up in ("JOIN", "ARRAY")):
            return None
    from_text = _src(sql, toks, fa, fb)
    # ORDER BY one ascending key
    oa, ob = region(TokenType.ORDER_BY)
    items = split_level(toks, oa, ob, d)
    if len(items) != 1:
        return None
    ka, kb = items[0]
    if kb - ka >= 1 and toks[kb - 1].type in (TokenType.ASC, TokenType.DESC):
        if toks[kb - 1].type == TokenType.DESC:
            return None
        kb -= 1
    if any(t.up in ("NULLS", "COLLATE", "WITH") for t in toks[ka:kb] if t.depth == d):
        return None
    call = _distance_call(sql, toks, ka, kb, vectors)
    if call is None and kb == ka + 1 and toks[ka].type in (TokenType.VAR, TokenType.IDENTIFIER):
        call = _aliased_call(sql, toks, i + 1, fa - 1, d, toks[ka].text, vectors)
    if call is None:
        return None
    fn, metric, col_parts, vector = call
    # LIMIT k [OFFSET o] | LIMIT o, k
    la = clauses[TokenType.LIMIT] + 1
    lb = next((m for m in marks if m > clauses[TokenType.LIMIT]), end)
    items = split_level(toks, la, lb, d)
    k = offset = None
    if len(items) == 1:
        k = _count_at(toks, *items[0])
    elif len(items) == 2:
        offset, k = _count_at(toks, *items[0]), _count_at(toks, *items[1])
    if k is None or (len(items) == 2 and offset is None):
        return None
    if TokenType.OFFSET in clauses:
        if offset is not None:
            return None
        offset = _count_at(toks, *region(TokenType.OFFSET))
        if offset is None:
            return None
    k_param = k[1:] if k.startswith("{") else None
    off_param = offset[1:] if offset is not None and offset.startswith("{") else None
    try:
        k_i = 0 if k_param else int(k)
        off_i = 0 if off_param or offset is None else int(offset)
    except ValueError:
        return None
    if k_i <= 0 and not k_param:
        return None
    where = region(TokenType.WHERE)
    prewhere = region(TokenType.PREWHERE)
    settings = _settings_at(sql, toks, clauses[TokenType.SETTINGS]) if TokenType.SETTINGS in clauses else {}
    qstart = _query_start(toks, i)
    # the query's text ends before FORMAT / INTO OUTFILE (a check query wraps it)
    qend = clauses.get(TokenType.FORMAT, end)
    return TopK(
        start=toks[qstart].start, end=toks[qend - 1].end,
        outermost=_is_outermost(toks, qstart, end),
        table=".".join(parts), from_text=from_text, function=fn, metric=metric, column=col_parts[-1],
        vector=vector,
        where=_src(sql, toks, *where) if where else None,
        prewhere=_src(sql, toks, *prewhere) if prewhere else None,
        k=k_i, offset=off_i, settings=settings, with_clause=top_with, k_param=k_param, offset_param=off_param,
    )


def _count_at(toks: list[Tok], a: int, b: int) -> str | None:
    """A LIMIT / OFFSET count in tokens [a, b): a number as written, `{name` for a query
    parameter's placeholder `{name:Type}`; None for anything else."""
    if b - a == 1 and toks[a].type == TokenType.NUMBER:
        return toks[a].text
    if (b - a >= 5 and toks[a].type == TokenType.L_BRACE and toks[b - 1].type == TokenType.R_BRACE
            and toks[a + 2].type == TokenType.COLON and toks[a + 1].type in (TokenType.VAR, TokenType.IDENTIFIER)):
        return "{" + toks[a + 1].text
    return None


def split_level(toks: list[Tok], a: int, b: int, d: int) -> list[tuple[int, int]]:
    """Comma-separated items of tokens [a, b) at depth d."""
    out, s = [], a
    for j in range(a, b):
        if toks[j].type == TokenType.COMMA and toks[j].depth == d:
            out.append((s, j))
            s = j + 1
    if s < b:
        out.append((s, b))
    return out


def _aliased_call(sql: str, toks: list[Tok], a: int, b: int, d: int, alias: str, vectors: dict):
    """In the SELECT list tokens [a, b): the distance call given `AS alias` (or a bare alias)."""
    for ia, ib in split_level(toks, a, b, d):
        if ib - ia >= 2 and toks[ib - 1].text == alias and toks[ib - 1].type in (TokenType.VAR, TokenType.IDENTIFIER):
            e = ib - 1
            if toks[e - 1].type == TokenType.ALIAS:
                e -= 1
            return _distance_call(sql, toks, ia, e, vectors)
    return None
