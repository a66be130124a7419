"""Vector-query lints: warnings about queries that run but do not do what people expect.

    lint(sql, catalog=None, *, dialect="clickhouse") -> list[str]

Run on the statement as sent (after the EMBED rewrite and the dialect bridge). Each warning
names the function/column and says what to do:
1. a distance in WHERE (`WHERE cosineDistance(v, …) < 0.3`, or `WHERE dist < 0.3` on its alias):
   the vector index only serves `ORDER BY <distance> LIMIT k`, so this scans everything;
2. (ClickHouse) a distance function that does not match the column's index metric (e.g.
   L2Distance on a cosine index): ClickHouse silently scans everything;
3. (ClickHouse) WHERE + ORDER BY <distance> LIMIT k on an indexed column in a shape the
   session's vector query planner cannot check (a JOIN, several ORDER BY keys, LIMIT BY…): the
   index may be post-filtered and return fewer than k rows. The shapes it does check
   (sqlext.text.topk.find_topk) get no warning: the planner picks the plan and reruns exactly when
   rows are missing, so nobody has to set vector_search_filter_strategy by hand;
4. an integer literal query vector (`[1, 2, 3]`): MyScale rejects it (Array(UInt8/UInt64)),
   write it with a decimal point.
"""
from __future__ import annotations

from sqlglot.tokens import TokenType

from sqlext.text.dialects._tokens import (
    Tok, match_close, read_name, resolve_column, split_args, statements, table_refs, tokenize,
)

__all__ = ["lint"]

_CH_FUNCS = {"cosinedistance": "Cosine", "l2distance": "L2", "l2squareddistance": "L2",
             "dotproduct": "IP", "l1distance": None, "linfdistance": None, "lpdistance": None}
_MS_FUNCS = {"distance", "batch_distance"}
_METRIC_FN = {"Cosine": "cosineDistance", "L2": "L2Distance", "IP": "dotProduct"}
_CLAUSE_END = {TokenType.GROUP_BY, TokenType.ORDER_BY, TokenType.LIMIT, TokenType.HAVING,
               TokenType.SETTINGS, TokenType.FORMAT, TokenType.WINDOW, TokenType.QUALIFY,
               TokenType.UNION, TokenType.SEMICOLON, TokenType.EXCEPT, TokenType.INTERSECT}


class _Call:
    def __init__(self, name, i, close, col_src, table, column, alias, vec):
        self.name, self.i, self.close = name, i, close
        self.col_src, self.table, self.column, self.alias, self.vec = col_src, table, column, alias, vec


def lint(sql: str, catalog=None, *, dialect: str = "clickhouse") -> list[str]:
    low = sql.lower()
    if "distance" not in low and "dotproduct" not in low:
        return []
    toks = tokenize(sql)
    if not toks:
        return []
    out: list[str] = []
    for st in statements(sql, toks):
        for w in _lint_statement(st.text, st.toks, catalog, dialect):
            if w not in out:
                out.append(w)
    return out


def _calls(text: str, toks: list[Tok], catalog, dialect: str) -> list[_Call]:
    refs = table_refs(toks)

    def has_column(t, c):
        return catalog is not None and (catalog.vector_index(t, c) is not None
                                        or catalog.column_dim(t, c) is not None)

    names = set(_CH_FUNCS) | _MS_FUNCS
    out = []
    for i, t in enumerate(toks):
        if t.low not in names or i + 1 >= len(toks) or toks[i + 1].type != TokenType.L_PAREN:
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
        if len(args) != 2:
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
        out.append(_Call(t.text, i, close, text[toks[a0].start:toks[b0 - 1].end], table, column,
                         alias, vec))
    return out


def _regions(toks: list[Tok], starts: set) -> list[tuple[int, int]]:
    """Token ranges of WHERE/PREWHERE clauses: from the keyword to the next clause at its depth."""
    out = []
    for k, t in enumerate(toks):
        if t.type not in starts:
            continue
        d = t.depth
        j = k + 1
        while j < len(toks) and toks[j].depth >= d and not (toks[j].depth == d and toks[j].type in _CLAUSE_END):
            j += 1
        out.append((k, j))
    return out


def _lint_statement(text: str, toks: list[Tok], catalog, dialect: str) -> list[str]:
    calls = _calls(text, toks, catalog, dialect)
    if not calls:
        return []
    planned = None  # (table, column) of the top-k searches the planner checks
    out = []
    wheres = _regions(toks, {TokenType.WHERE, TokenType.PREWHERE})
    orders = _regions(toks, {TokenType.ORDER_BY})

    def info_for(c):
        if catalog is None or c.table is None:
            return None
        return catalog.vector_index(c.table, c.column)

    def in_region(c, regions, use_alias=True):
        for a, b in regions:
            if a < c.i < b:
                return True
            # the alias counts in a clause of its own SELECT (not in an enclosing query's WHERE,
            # which filters the k results: what lint 1 recommends)
            if use_alias and c.alias and toks[a].depth == toks[c.i].depth and any(
                    toks[k].text == c.alias and toks[k].type in (TokenType.VAR, TokenType.IDENTIFIER)
                    for k in range(a + 1, b)):
                return True
        return False

    for c in calls:
        desc = f"{c.name}({c.col_src}, …)" + (f" AS {c.alias}" if c.alias else "")
        # 1. distance threshold in WHERE
        if in_region(c, wheres):
            out.append(
                f"{desc} is used in WHERE: a distance threshold keeps the vector index from being "
                f"used (it only serves ORDER BY <distance> LIMIT k), so every row is scanned. "
                f"Order by the distance with a LIMIT instead, and filter the k results in an outer query.")
        info = info_for(c)
        # 2. metric mismatch (ClickHouse functions only: MyScale's distance() follows the index)
        if dialect == "clickhouse" and info is not None and c.name.lower() in _CH_FUNCS:
            fn_metric = _CH_FUNCS[c.name.lower()]
            if fn_metric != info.metric or c.name.lower() == "l2squareddistance":
                out.append(
                    f"{c.name} on {c.table}.{c.column} does not match its vector index {info.name} "
                    f"(metric {info.metric}): ClickHouse silently scans every row. Use "
                    f"{_METRIC_FN.get(info.metric, 'the index metric')}({c.col_src}, …) to use the index.")
        # 3. post-filtering with WHERE + ORDER BY distance LIMIT k, in a shape the planner cannot check
        if dialect == "clickhouse" and info is not None and wheres and in_region(c, orders) \
                and not in_region(c, wheres) and any(t.type == TokenType.LIMIT for t in toks):
            if planned is None:
                from sqlext.text.topk import find_topk

                planned = {(t.table, t.column) for t in find_topk(text)}
            if (c.table, c.column) not in planned:
                out.append(
                    f"WHERE with ORDER BY {desc} LIMIT k on {c.table}.{c.column}: ClickHouse may apply "
                    f"the filter after the vector index search (post-filtering) and return fewer than k "
                    f"rows, and embedsql's planner checks only a top-k over one table (`SELECT … FROM t "
                    f"WHERE … ORDER BY <distance>(col, <vector>) LIMIT k`, alone or as a subquery). "
                    f"Write it in that shape, or add SETTINGS vector_search_filter_strategy = 'prefilter' "
                    f"for an exact answer.")
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
                out.append(
                    f"{c.name}({c.col_src}, {lit}): the query vector has only integer literals, so it "
                    f"is an integer array, not Array(Float32); MyScale rejects it. Write at least one "
                    f"element with a decimal point, e.g. [1.0, 2, 3].")
    return out
