"""Vector-query lints: warnings about queries that run but do not do what people expect.

    lint(sql, catalog=None, *, dialect="clickhouse", settings=None) -> list[str]

Run on the statement as sent (after the EMBED rewrite and the dialect bridge; text or its
tokens). Each warning names the function/column and says what to do. A rule looks at the query
level that holds the distance (a subquery, a UNION branch), never at the queries around it:
1. a distance in WHERE (`WHERE cosineDistance(v, …) < 0.3`, or `WHERE dist < 0.3` on its alias
   in the same query): the vector index only serves `ORDER BY <distance> LIMIT k`, so this scans
   everything. Filtering the k results in an outer query is what this lint recommends: no warning;
2. (ClickHouse) a distance function that does not match the column's index metric (e.g.
   L2Distance on a cosine index): ClickHouse silently scans everything;
3. (ClickHouse) WHERE + ORDER BY <distance> LIMIT k on an indexed column, in one query, in a
   shape the session's vector query planner cannot check (a JOIN, several ORDER BY keys, LIMIT
   BY, FETCH FIRST…): alone in its statement it runs with vector search off (exact, a full
   scan: `Session._unrecognized_plan`); beside a search the planner reads, the index may be
   post-filtered and return fewer than k rows. The shapes it does check
   (sqlext.text.topk.find_topk) get no warning: the planner picks the plan and reruns exactly when
   rows are missing. Not when that query (or the statement, or `settings`, the settings the
   statement is sent with) sets vector_search_filter_strategy = 'prefilter';
4. an integer literal query vector (`[1, 2, 3]`): MyScale rejects it (Array(UInt8/UInt64)),
   write it with a decimal point.

The wording of each warning is one function below (`threshold_in_where`, `metric_mismatch`,
`post_filtering`, `integer_vector`), apart from the rules that decide when it applies.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlext.errors import EmbedSQLError
from sqlext.text.dialects._common import (
    Tok, Tokens, TokenType, match_close, read_name, resolve_column, split_args, statement_pieces,
    table_refs, tokenize,
)
from sqlext.text.kinds import Scopes, query_scopes, settings_of

__all__ = ["lint", "threshold_in_where", "metric_mismatch", "post_filtering", "integer_vector"]

_CH_FUNCS = {"cosinedistance": "Cosine", "l2distance": "L2", "l2squareddistance": "L2",
             "dotproduct": "IP", "l1distance": None, "linfdistance": None, "lpdistance": None}
_MS_FUNCS = {"distance", "batch_distance"}
_METRIC_FN = {"Cosine": "cosineDistance", "L2": "L2Distance", "IP": "dotProduct"}
_FILTERS = ("WHERE", "PREWHERE")


@dataclass
class DistanceCall:
    """A distance function call in a statement: `name` as written, token index `i`, index of its
    closing parenthesis `close`, the column argument as written (`col_src`) and resolved
    (`table`, `column`), its alias, the token range of a literal query vector (`vec`), and the
    query level (`scope`) and clause it is in."""

    name: str
    i: int
    close: int
    col_src: str
    table: str | None
    column: str | None
    alias: str | None
    vec: tuple[int, int] | None
    scope: int = 0
    clause: str = ""

    @property
    def desc(self) -> str:
        """The call as a warning names it: `name(column, …)`, with ` AS alias` when it has one."""
        return f"{self.name}({self.col_src}, …)" + (f" AS {self.alias}" if self.alias else "")


# ---------------------------------------------------------------- the warnings' wording

def threshold_in_where(c: DistanceCall) -> str:
    """The warning for a distance function used in WHERE (a threshold: the vector index is not used,
    every row is scanned)."""
    return (f"{c.desc} is used in WHERE: a distance threshold keeps the vector index from being "
            f"used (it only serves ORDER BY <distance> LIMIT k), so every row is scanned. "
            f"Order by the distance with a LIMIT instead, and filter the k results in an outer query.")


def metric_mismatch(c: DistanceCall, info) -> str:
    """The warning for a distance function whose metric differs from the column's vector index
    `info` (the index is not used; names the function that would use it)."""
    return (f"{c.name} on {c.table}.{c.column} does not match its vector index {info.name} "
            f"(metric {info.metric}): ClickHouse silently scans every row. Use "
            f"{_METRIC_FN.get(info.metric, 'the index metric')}({c.col_src}, …) to use the index.")


def post_filtering(c: DistanceCall, info) -> str:
    """The warning for a filtered top-k the planner cannot check: ClickHouse may post-filter and
    return fewer than k rows; says the shape the planner handles and the prefilter setting."""
    return (f"WHERE with ORDER BY {c.desc} LIMIT k on {c.table}.{c.column}, in a shape embedsql's "
            f"planner does not read (it reads a top-k over one table, `SELECT … FROM t WHERE … "
            f"ORDER BY <distance>(col, <vector>) LIMIT k` with a number or a parameter for k, alone or as a "
            f"subquery). Alone in its statement it runs with ClickHouse's vector search off: exact "
            f"rows, every row scanned. Beside a search the planner reads, ClickHouse may apply the "
            f"filter after the vector index search (post-filtering) and return fewer than k rows. "
            f"Write it in that shape, or add SETTINGS vector_search_filter_strategy = 'prefilter' "
            f"for an exact answer.")


def integer_vector(c: DistanceCall, literal: str) -> str:
    """The warning for a query vector `literal` of integers only (an integer array, which MyScale
    rejects; write one element with a decimal point)."""
    return (f"{c.name}({c.col_src}, {literal}): the query vector has only integer literals, so it "
            f"is an integer array, not Array(Float32); MyScale rejects it. Write at least one "
            f"element with a decimal point, e.g. [1.0, 2, 3].")


# ---------------------------------------------------------------- when they apply

def lint(sql: "str | Tokens", catalog=None, *, dialect: str = "clickhouse",
         settings: dict | None = None) -> list[str]:
    """Warnings for `sql` (text or tokens; one statement or several). `catalog` gives vector
    indexes (rules 2 and 3 need it); `settings`: the settings the statement is sent with."""
    text = sql.text if isinstance(sql, Tokens) else sql
    low = text.lower()
    if "distance" not in low and "dotproduct" not in low:
        return []
    if isinstance(sql, Tokens):
        toks = sql
    else:
        try:
            toks = tokenize(sql)
        except EmbedSQLError:
            return []
    out: list[str] = []
    extra = {str(k).lower(): str(v) for k, v in (settings or {}).items()}
    for st in statement_pieces(toks):
        for w in _lint_statement(st, catalog, dialect, extra):
            if w not in out:
                out.append(w)
    return out


def _calls(tokens: Tokens, catalog, scopes: Scopes) -> list[DistanceCall]:
    toks, text = tokens.tokens, tokens.text
    refs = table_refs(toks)

    def has_column(t, c):
        return catalog is not None and (catalog.vector_index(t, c) is not None
                                        or catalog.column_dim(t, c) is not None)

    names = set(_CH_FUNCS) | _MS_FUNCS
    out = []
    n = len(toks)
    for i, t in enumerate(toks):
        if i + 1 >= n or toks[i + 1].type is not TokenType.L_PAREN or t.text.lower() not in names:
            continue
        if i > 0 and toks[i - 1].type == TokenType.DOT:
            continue
        close = match_close(toks, i + 1)
        if close < 0:
            continue
        args_open = i + 1
        if t.low in _MS_FUNCS and close + 1 < len(toks) and toks[close + 1].type == TokenType.L_PAREN \
                and all(x.type in (TokenType.STRING, TokenType.COMMA) for x in toks[i + 2:close]):
            args_open = close + 1
            close = match_close(toks, args_open)
            if close < 0:
                continue
        args = split_args(toks, args_open, close)
        if len(args) != 2 or any(a >= b for a, b in args):
            continue
        (a0, b0), (a1, b1) = args
        parts, after = read_name(toks, a0)
        table = column = None
        if parts and after == b0:
            table, column = resolve_column(parts, refs, has_column)
        vec = None
        if toks[a1].type == TokenType.L_BRACKET and match_close(toks, a1) == b1 - 1:
            vec = (a1, b1)
        alias = None
        if close + 2 < len(toks) and toks[close + 1].type == TokenType.ALIAS:
            alias = toks[close + 2].text
        out.append(DistanceCall(t.text, i, close, text[toks[a0].start:toks[b0 - 1].end], table, column,
                                alias, vec, scopes.scope[i], scopes.clause[i]))
    return out


def _alias_in(toks: list[Tok], scopes: Scopes, c: DistanceCall, clauses) -> bool:
    """Whether the call's alias is used in one of these clauses of the call's own query level."""
    if not c.alias:
        return False
    for k, t in enumerate(toks):
        if (t.text == c.alias and t.type in (TokenType.VAR, TokenType.IDENTIFIER)
                and scopes.scope[k] == c.scope and scopes.clause[k] in clauses
                and k != c.close + 2):
            return True
    return False


def _has_clause(scopes: Scopes, scope: int, clauses) -> bool:
    return any(kw and sc == scope and cl in clauses
               for kw, sc, cl in zip(scopes.keyword, scopes.scope, scopes.clause))


def _lint_statement(tokens: Tokens, catalog, dialect: str, extra_settings: dict) -> list[str]:
    toks, text = tokens.tokens, tokens.text
    scopes = query_scopes(toks)
    calls = _calls(tokens, catalog, scopes)
    if not calls:
        return []
    out = []
    planned = None  # (table, column) of the top-k searches the planner checks, read when needed
    # a mutation's own WHERE (ALTER TABLE ... DELETE/UPDATE ... WHERE, DELETE FROM ... WHERE) picks
    # the rows to change: a threshold is what it means there, not a missed top-k
    mutation = bool(toks) and toks[0].up in ("ALTER", "DELETE", "UPDATE")
    for c in calls:
        in_where = c.clause in _FILTERS or _alias_in(toks, scopes, c, _FILTERS)
        # 1. distance threshold in WHERE
        if in_where and not (mutation and c.scope == 0):
            out.append(threshold_in_where(c))
        info = None
        if catalog is not None and c.table is not None:
            info = catalog.vector_index(c.table, c.column)
        # 2. metric mismatch (ClickHouse functions only: MyScale's distance() follows the index)
        if dialect == "clickhouse" and info is not None and c.name.lower() in _CH_FUNCS:
            fn_metric = _CH_FUNCS[c.name.lower()]
            if fn_metric != info.metric or c.name.lower() == "l2squareddistance":
                out.append(metric_mismatch(c, info))
        # 3. post-filtering: WHERE + ORDER BY distance LIMIT k in the same query, in a shape the
        #    planner does not check
        if dialect == "clickhouse" and info is not None and not in_where \
                and (c.clause == "ORDER BY" or _alias_in(toks, scopes, c, ("ORDER BY",))) \
                and _has_clause(scopes, c.scope, _FILTERS) and _has_clause(scopes, c.scope, ("LIMIT",)) \
                and not _prefiltered(toks, scopes, c.scope, extra_settings):
            if planned is None:  # what the session's planner checks: SELECTs (not EXPLAIN)
                from sqlext.text.kinds import statement_kind
                from sqlext.text.topk import find_topk

                planned = ({(t.table, t.column) for t in find_topk(tokens)}
                           if statement_kind(tokens).name == "select" else set())
            if (c.table, c.column) not in planned:
                out.append(post_filtering(c, info))
        # 4. integer literal vector
        if c.vec is not None:
            a, b = c.vec
            inner = toks[a + 1:b - 1]
            nums = [t for t in inner if t.type == TokenType.NUMBER]
            if nums and all(t.type in (TokenType.NUMBER, TokenType.COMMA, TokenType.DASH) for t in inner) \
                    and not any(ch in t.text for t in nums for ch in ".eE"):
                lit = text[toks[a].start:toks[b - 1].end]
                if len(lit) > 40:
                    lit = lit[:37] + "…]"
                out.append(integer_vector(c, lit))
    return out


def _prefiltered(toks: list[Tok], scopes: Scopes, scope: int, extra_settings: dict) -> bool:
    given = {**extra_settings, **settings_of(toks, scopes, scope)}
    return given.get("vector_search_filter_strategy", "").strip("'\" ").lower() == "prefilter"
