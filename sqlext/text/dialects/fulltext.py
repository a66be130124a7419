"""MyScale full-text search on ClickHouse: FTS indexes, `TextSearch` (Okapi BM25) and
`HybridSearch` (keyword + vector fusion), written as plain ClickHouse SQL (26.x, chdb included).

ClickHouse has a `text` index and `hasAnyTokens`/`hasAllTokens`, but no BM25 and no fusion, so
the bridge writes them out. Sources for MyScale's behaviour are in MYSCALE.md (section 4) and in
MyScaleDB's code: `HybridSearchUtils.cpp` (fusion), the query analysis that reads the parameters
(defaults: `enable_nlq=true`, `operator=OR`, `num_candidates = 3 * LIMIT`), and
`myscale/tantivy-search` (the index's tokenizers).

Tokenization (MyScale's default FTS tokenizer, tantivy's `default`: SimpleTokenizer +
RemoveLongFilter(40) + LowerCaser), the same in the index, the documents and the query:
    split into maximal runs of Unicode letters and numbers (RE2 `[\\p{L}\\p{N}]+`), drop tokens of
    40 UTF-8 bytes or more, lower-case each token (`lowerUTF8`).
In SQL: `token_sql(x)`. In Python (for the query text): `query_tokens(text)`, `[^\\W_]+` and
`str.lower`, the same classes. Differences from tantivy: combining marks that Unicode counts as
`Alphabetic` (Devanagari vowel signs, ...) split a token here; characters assigned after the
Unicode versions of RE2/Python differ.

BM25 (tantivy's, which MyScale reports; checked against MyScale's published test output):
    score(d, q) = sum over query tokens t of  idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * dl / avgdl))
    idf(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5)),  k1 = 1.2, b = 0.75
N = rows of the table, df(t) = rows holding t, dl = tokens of the row, avgdl = tokens / N: over the
whole table, whatever the WHERE (as MyScale). Query tokens count as often as they are written.
Only rows holding a query token are returned (all of them with `'operator=AND'`). tantivy stores
document lengths above 40 tokens rounded (one byte per document); we use exact lengths, so such
rows score slightly differently from MyScale.

FTS index on ClickHouse: `INDEX i doc TYPE fts` becomes a stored token column
`doc__tokens Array(String) MATERIALIZED <token_sql(doc)>` and `INDEX i doc__tokens TYPE
text(tokenizer = array)`: the text index answers df and prefilters rows, the column gives tf and
document lengths without re-tokenizing (`doc__tokens.size0`). Without that column TextSearch
tokenizes `doc` on the fly (correct, but a full scan per query).

HybridSearch (`'fusion_type=RSF'|'RRF'`, `fusion_weight` (0.5), `fusion_k` (60), `num_candidates`
(3 * LIMIT, at least LIMIT), `dense_*`, `enable_nlq`, `operator`): two candidate lists, each with
the user's WHERE: the `num_candidates` nearest rows by the column's distance (a subquery of the
form `SELECT _part, _part_offset, <fn>(col, <vector>) AS __d FROM t WHERE <w> ORDER BY __d LIMIT n`,
the shape the vector planner recognises) and the `num_candidates` best by BM25. Then
    RSF: w * (s - min s)/(max s - min s) + (1 - w) * (1 - (d - min d)/(max d - min d))
         (a list whose min = max normalises to 1; inner product: d itself, not 1 - d)
    RRF: 1/(k + rank in the vector list) + 1/(k + rank in the BM25 list)   (ranks from 1)
A row in only one list gets only that part. MyScale's L2 is the squared distance; the fusion
uses it squared too. The score is Float32, as on MyScale.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from sqlglot.tokens import TokenType

from sqlext.text.ddl import parse_index_params
from sqlext.text.ddl import string_literal as _lit
from sqlext.text.dialects._common import (
    Tok, error, index_keyword_before, is_name, match_close, parametric_call, read_name, split_args,
)

__all__ = [
    "K1", "B", "LENGTH_LIMIT", "TOKEN_REGEX", "token_sql", "query_tokens", "tokens_column",
    "FtsResult", "is_fts_type", "translate_index_def", "translate_search_calls", "SEARCH_FUNCTIONS",
    "RSF", "RRF", "fusion_rsf", "fusion_rrf", "bm25",
]

K1 = 1.2
B = 0.75
LENGTH_LIMIT = 40
TOKEN_REGEX = r"[\p{L}\p{N}]+"
FTS_TYPES = {"fts", "tantivy"}
SEARCH_FUNCTIONS = {"textsearch", "hybridsearch"}
RSF, RRF = "RSF", "RRF"
DEFAULT_FUSION_WEIGHT = 0.5
DEFAULT_FUSION_K = 60
CANDIDATES_PER_LIMIT = 3
_NLQ_OPERATORS = {"AND", "OR", "NOT"}
_METRIC_FN = {"Cosine": "cosineDistance", "L2": "L2Distance", "IP": "dotProduct"}
_CLAUSES = {TokenType.WHERE, TokenType.PREWHERE, TokenType.GROUP_BY, TokenType.ORDER_BY,
            TokenType.LIMIT, TokenType.SETTINGS, TokenType.FORMAT, TokenType.HAVING,
            TokenType.WINDOW, TokenType.QUALIFY, TokenType.UNION, TokenType.EXCEPT,
            TokenType.INTERSECT, TokenType.SEMICOLON}


# ---------------------------------------------------------------- tokenization

def token_sql(expr: str) -> str:
    """ClickHouse SQL for the token array (Array(String)) of the String expression `expr`."""
    return (f"arrayMap(__t -> lowerUTF8(__t), arrayFilter(__t -> length(__t) < {LENGTH_LIMIT}, "
            f"extractAll({expr}, '[\\\\p{{L}}\\\\p{{N}}]+')))")


_WORD = re.compile(r"[^\W_]+")


def query_tokens(text: str) -> list[str]:
    """The query text's tokens, as `token_sql` would give them (see the module docstring)."""
    return [t.lower() for t in _WORD.findall(text) if len(t.encode("utf-8")) < LENGTH_LIMIT]


def tokens_column(column: str) -> str:
    """Name of the stored token column the FTS index of `column` uses on ClickHouse."""
    return f"{column}__tokens"


def _arr(items: list[str]) -> str:
    return "[" + ", ".join(_lit(t) for t in items) + "]"


# ---------------------------------------------------------------- reference formulas (numpy-free)

def bm25(tf: int, dl: int, df: int, n: int, avgdl: float) -> float:
    """One query token's BM25 contribution (see the module docstring). Pure Python, for tests
    and documentation; the SQL computes the same."""
    idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
    return idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * dl / avgdl))


def _minmax(xs):
    lo, hi = min(xs), max(xs)
    return [1.0 if hi == lo else (x - lo) / (hi - lo) for x in xs]


def fusion_rsf(vector: list[tuple[object, float]], text: list[tuple[object, float]], weight: float,
               ascending: bool = True) -> dict:
    """MyScale's relative score fusion of two candidate lists [(key, value)] -> {key: score}."""
    out: dict = {}
    if text:
        for (k, _), nv in zip(text, _minmax([v for _, v in text])):
            out[k] = nv * weight
    if vector:
        for (k, _), nv in zip(vector, _minmax([v for _, v in vector])):
            out[k] = out.get(k, 0.0) + (1 - weight) * ((1 - nv) if ascending else nv)
    return out


def fusion_rrf(vector_keys: list, text_keys: list, k: int) -> dict:
    """MyScale's reciprocal rank fusion of two ranked key lists -> {key: score}."""
    out: dict = {}
    for keys in (vector_keys, text_keys):
        for rank, key in enumerate(keys, start=1):
            out[key] = out.get(key, 0.0) + 1.0 / (k + rank)
    return out


# ---------------------------------------------------------------- FTS index DDL

@dataclass
class FtsResult:
    """What a translation step produced: splice edits of the statement, statements to run
    before/after it, notes, warnings, and settings to merge into the statement's SETTINGS."""

    edits: list[tuple[int, int, str]] = field(default_factory=list)
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    settings: dict[str, str] = field(default_factory=dict)


def is_fts_type(toks: list[Tok], i: int) -> bool:
    """Is toks[i] the TYPE keyword of a MyScale FTS index (`TYPE fts` / `TYPE tantivy`)?"""
    return toks[i].up == "TYPE" and i + 1 < len(toks) and toks[i + 1].low in FTS_TYPES \
        and (i + 2 >= len(toks) or toks[i + 2].type != TokenType.DOT)


def _tokenizer_check(text: str, toks: list[Tok], type_i: int, params: list[str], column: str) -> None:
    """Only MyScale's default tokenizer (and `simple` with its defaults, the same analyzer) has a
    ClickHouse form; anything else is refused with what would be needed."""
    if not params:
        return
    import json

    raw = params[0] if len(params) == 1 else None
    try:
        cfg = json.loads(raw) if raw else None
    except ValueError:
        cfg = None
    if not isinstance(cfg, dict):
        raise error(text, toks[type_i], f"FTS index on {column}: cannot read the parameters {params!r}",
                    hint="MyScale's FTS index takes one JSON string, e.g. "
                         "'{\"doc\":{\"tokenizer\":{\"type\":\"default\"}}}'")
    for col, spec in cfg.items():
        tk = (spec or {}).get("tokenizer", {}) if isinstance(spec, dict) else {}
        typ = tk.get("type", "default")
        extra = {k: v for k, v in tk.items() if k != "type"}
        simple_defaults = typ == "simple" and all(
            (k, v) in (("stop_word_filters", []), ("store_doc", False), ("store_doc", True),
                       ("length_limit", LENGTH_LIMIT), ("case_sensitive", False)) for k, v in extra.items())
        if typ == "default" and set(extra) <= {"store_doc"} or simple_defaults:
            continue
        raise error(text, toks[type_i],
                    f"FTS index on {col}: tokenizer {json.dumps(tk)} has no ClickHouse equivalent "
                    f"(stop words, stemming, n-grams, case-sensitive or Chinese tokenizers)",
                    hint="embedsql translates MyScale's default tokenizer (TYPE fts without "
                         "parameters): Unicode letters/digits, lower-cased, tokens under 40 bytes")


def translate_index_def(text: str, toks: list[Tok], type_i: int, *, alter_table: str | None) -> tuple[FtsResult, int]:
    """`INDEX name col TYPE fts[(...)] [GRANULARITY g]` with TYPE at `type_i`, inline in CREATE
    TABLE (`alter_table` None) or after `ALTER TABLE <alter_table> ADD`. Returns the result and
    the token index after the definition."""
    res = FtsResult()
    n = len(toks)
    # walk back to INDEX: INDEX [IF NOT EXISTS] name expr TYPE
    idx_i = index_keyword_before(toks, type_i - 1, toks[type_i].depth)
    if idx_i is None:          # not an index definition (a column named `type`...): leave it
        return res, type_i + 1
    name_i = idx_i + 1
    ine = ""
    if toks[name_i].up == "IF" and name_i + 2 < n and toks[name_i + 1].up == "NOT":
        ine = " IF NOT EXISTS"
        name_i += 3
    name = toks[name_i].text
    name_src = text[toks[name_i].start:toks[name_i].end]
    col_a, col_b = name_i + 1, type_i
    if col_b - col_a == 3 and toks[col_a].type == TokenType.L_PAREN and toks[col_b - 1].type == TokenType.R_PAREN:
        col_a, col_b = col_a + 1, col_b - 1
    if col_b - col_a != 1 or not is_name(toks[col_a]):
        raise error(text, toks[type_i], f"FTS index {name}: only a column can be indexed on ClickHouse, got "
                                        f"{text[toks[name_i + 1].start:toks[type_i - 1].end]!r}",
                    hint="index a String column (put an expression into a MATERIALIZED column first)")
    column = toks[col_a].text
    col_src = text[toks[col_a].start:toks[col_a].end]
    end = type_i + 2
    params: list[str] = []
    if end < n and toks[end].type == TokenType.L_PAREN:
        close = match_close(toks, end)
        params = [t.text for t in toks[end + 1:close] if t.type == TokenType.STRING]
        end = close + 1
    if end + 1 < n and toks[end].up == "GRANULARITY" and toks[end + 1].type == TokenType.NUMBER:
        end += 2
    _tokenizer_check(text, toks, type_i, params, column)
    tcol = tokens_column(column)
    tcol_def = f"{tcol} Array(String) MATERIALIZED {token_sql(col_src)}"
    index_def = f"INDEX{ine} {name_src} {tcol} TYPE text(tokenizer = array)"
    if alter_table is None:
        res.edits.append((toks[idx_i].start, toks[end - 1].end, f"{tcol_def}, {index_def}"))
    else:
        res.before.append(f"ALTER TABLE {alter_table} ADD COLUMN IF NOT EXISTS {tcol_def}")
        res.before.append(f"ALTER TABLE {alter_table} MATERIALIZE COLUMN {tcol}")
        res.edits.append((toks[idx_i].start, toks[end - 1].end, index_def))
    res.notes.append(
        f"FTS index {name} on {column} -> stored token column {tcol} (MyScale's default tokenizer: "
        f"Unicode letters/digits, lower-cased, under {LENGTH_LIMIT} bytes) and a ClickHouse text "
        f"index on it (tokenizer = array); TextSearch/HybridSearch read both")
    return res, end


# ---------------------------------------------------------------- SELECT scope helpers

@dataclass
class _Scope:
    select_i: int
    depth: int
    with_i: int | None
    from_i: int
    from_end: int          # exclusive token index of the FROM clause
    table: str
    table_src: str         # FROM clause text after FROM (table [AS alias])
    where: tuple[int, int] | None    # (WHERE token, end) exclusive
    prewhere: tuple[int, int] | None
    limit: int | None


def _clause_end(toks, k, d):
    j = k + 1
    while j < len(toks) and not (toks[j].depth < d or (toks[j].depth == d and toks[j].type in _CLAUSES)):
        j += 1
    return j


def _scope(text: str, toks: list[Tok], i: int, fname: str) -> _Scope:
    d = toks[i].depth
    s = i - 1
    while s >= 0 and not (toks[s].type == TokenType.SELECT and toks[s].depth == d):
        if toks[s].depth < d:
            s = -1
            break
        s -= 1
    if s < 0:
        raise error(text, toks[i], f"{fname} must be in a SELECT list (with FROM <table>)")
    w = s - 1
    with_i = None
    while w >= 0 and toks[w].depth >= d:
        if toks[w].depth == d and toks[w].type == TokenType.WITH:
            with_i = w
            break
        w -= 1
    f = s
    while f < len(toks) and not (toks[f].depth == d and toks[f].type == TokenType.FROM):
        if toks[f].depth < d:
            f = len(toks)
            break
        f += 1
    if f >= len(toks):
        raise error(text, toks[i], f"{fname}: the query has no FROM <table>")
    fe = _clause_end(toks, f, d)
    parts, after = read_name(toks, f + 1)
    body = toks[f + 1:fe]
    if not parts or any(t.depth == d and t.type in (TokenType.JOIN, TokenType.COMMA) for t in body) \
            or toks[f + 1].type == TokenType.L_PAREN:
        raise error(text, toks[f], f"{fname} needs FROM <one table> (no joins or subqueries), as on MyScale")
    where = prewhere = None
    limit = None
    k = fe
    while k < len(toks) and toks[k].depth >= d:
        t = toks[k]
        if t.depth == d and t.type in (TokenType.WHERE, TokenType.PREWHERE):
            e = _clause_end(toks, k, d)
            if t.type == TokenType.WHERE:
                where = (k, e)
            else:
                prewhere = (k, e)
            k = e
            continue
        if t.depth == d and t.type == TokenType.LIMIT and k + 1 < len(toks) and toks[k + 1].type == TokenType.NUMBER:
            # LIMIT n or LIMIT offset, n
            if k + 3 < len(toks) and toks[k + 2].type == TokenType.COMMA and toks[k + 3].type == TokenType.NUMBER:
                limit = int(toks[k + 3].text)
            else:
                limit = int(toks[k + 1].text)
        if t.depth == d and t.type in (TokenType.UNION, TokenType.EXCEPT, TokenType.INTERSECT):
            break
        k += 1
    return _Scope(s, d, with_i, f, fe, ".".join(parts), text[toks[f + 1].start:toks[fe - 1].end],
                  where, prewhere, limit)


def _src(text, toks, a, b):
    return text[toks[a].start:toks[b - 1].end]


# ---------------------------------------------------------------- TextSearch / HybridSearch

@dataclass
class _Call:
    name: str            # textsearch | hybridsearch
    i: int
    end: int             # token index after the call
    params: list[str]
    args: list[tuple[int, int]]


def _read_call(toks, i) -> _Call | None:
    call = parametric_call(toks, i)
    if call is None:
        return None
    params, args_open, close = call
    return _Call(toks[i].low, i, close + 1, params, split_args(toks, args_open, close))


def _bool(v: str) -> bool | None:
    return {"1": True, "0": False, "true": True, "false": False}.get(v.strip().lower())


@dataclass
class _TextOpts:
    operator: str = "OR"
    nlq: bool = True


def _text_param(text, tok, fname, key, val, opts: _TextOpts):
    if key == "enable_nlq":
        b = _bool(val)
        if b is None:
            raise error(text, tok, f"{fname} parameter enable_nlq={val!r}: expected a bool (0/1, true/false)")
        opts.nlq = b
    elif key == "operator":
        if val not in ("OR", "AND"):
            raise error(text, tok, f"{fname} parameter operator={val!r}: expected OR or AND (as MyScale, "
                                   f"upper case)")
        opts.operator = val
    else:
        return False
    return True


class _Translator:
    """Translates every TextSearch/HybridSearch call of one statement (see translate_search_calls)."""

    def __init__(self, text, toks, catalog, metric_for):
        self.text, self.toks, self.catalog, self.metric_for = text, toks, catalog, metric_for
        self.res = FtsResult()
        self.with_items: dict[int, list[str]] = {}     # scope select index -> WITH items
        self.filters: dict[int, list[str]] = {}        # scope select index -> WHERE conditions
        self.scopes: dict[int, _Scope] = {}
        self.done: dict[str, str] = {}                 # call text -> alias
        self.n = 0

    # -- helpers
    def src(self, a, b):
        return _src(self.text, self.toks, a, b)

    def column_of(self, call: _Call, argn: int, fname: str, what: str) -> tuple[str, str]:
        a, b = call.args[argn]
        parts, after = read_name(self.toks, a)
        if not parts or after != b:
            raise error(self.text, self.toks[a], f"{fname}(): argument {argn + 1} must be the {what} column, "
                                                 f"got {self.src(a, b)!r}")
        return self.src(a, b), parts[-1]

    def string_arg(self, call: _Call, argn: int, fname: str) -> str:
        a, b = call.args[argn]
        if b - a != 1 or self.toks[a].type != TokenType.STRING:
            raise error(self.text, self.toks[a], f"{fname}(): the query text must be a string literal, "
                                                 f"got {self.src(a, b)!r}")
        return self.toks[a].text

    def tokens_of(self, table: str, column: str) -> tuple[str, bool]:
        """(SQL for the column's token array, stored?)."""
        fn = getattr(self.catalog, "text_tokens_column", None)
        stored = fn(table, column) if (fn is not None and self.catalog is not None) else None
        if stored:
            return stored, True
        return token_sql(column), False

    def query_terms(self, fname, q: str, opts: _TextOpts) -> list[str]:
        words = q
        if opts.nlq:
            ops = [w for w in re.findall(r"\S+", q) if w in _NLQ_OPERATORS]
            syntax = [c for c in '"+-:()[]{}^~*' if c in q]
            if ops:
                words = " ".join(w for w in re.findall(r"\S+", q) if w not in _NLQ_OPERATORS)
                self.res.warnings.append(
                    f"{fname}(…, {_lit(q)}): MyScale reads {'/'.join(sorted(set(ops)))} as query operators "
                    f"(enable_nlq=1); ClickHouse has no query parser, so they were dropped and the other "
                    f"words matched with operator={opts.operator}. "
                    + ("Use 'operator=AND' to require every word, or " if opts.operator != "AND" else "Use ")
                    + "'enable_nlq=0' to search the words as written")
            elif syntax:
                self.res.warnings.append(
                    f"{fname}(…, {_lit(q)}): phrase/boolean syntax ({' '.join(syntax)}) is MyScale's natural "
                    f"language query (enable_nlq=1); on ClickHouse the words are matched one by one")
        terms = query_tokens(words)
        if not terms:
            self.res.warnings.append(f"{fname}(…, {_lit(q)}): the query has no words to search (letters or "
                                     f"digits), so no row matches")
        return terms

    def scope(self, i, fname) -> _Scope:
        sc = _scope(self.text, self.toks, i, fname)
        self.scopes.setdefault(sc.select_i, sc)
        return self.scopes[sc.select_i]

    def user_where(self, sc: _Scope) -> str:
        parts = []
        if sc.prewhere:
            parts.append(f" PREWHERE {self.src(sc.prewhere[0] + 1, sc.prewhere[1])}")
        if sc.where:
            parts.append(f" WHERE {self.src(sc.where[0] + 1, sc.where[1])}")
        return "".join(parts)

    # -- BM25 pieces
    def bm25_parts(self, alias: str, table: str, col_src: str, column: str, terms: list[str],
                   opts: _TextOpts) -> tuple[list[str], str, str]:
        """(WITH items, per-row BM25 expression, row filter) for one column and query."""
        tok, stored = self.tokens_of(table, column)
        if stored:
            tok_row = tok if "." not in col_src else col_src.rsplit(".", 1)[0] + "." + tok
            dl_all = f"{tok}.size0"
            df = [f"assumeNotNull((SELECT count() FROM {table} WHERE hasAnyTokens({tok}, [{_lit(t)}])))"
                  for t in terms]
        else:
            tok_row = token_sql(col_src)
            dl_all = f"length({tok})"
            df = [f"countIf(has({tok}, {_lit(t)}))" for t in terms]
        items = []
        if stored:
            items.append(f"assumeNotNull((SELECT (count(), avg({dl_all})) FROM {table})) AS {alias}_stats")
            items.append(f"CAST([{', '.join(df)}], 'Array(UInt64)') AS {alias}_df")
        else:
            items.append(f"assumeNotNull((SELECT (count(), avg({dl_all}), CAST([{', '.join(df)}], 'Array(UInt64)')) "
                         f"FROM {table})) AS {alias}_stats")
            items.append(f"{alias}_stats.3 AS {alias}_df")
        expr = (f"toFloat32(arraySum(arrayMap((__q, __df) -> "
                f"log(1 + ({alias}_stats.1 - __df + 0.5) / (__df + 0.5)) * countEqual({tok_row}, __q) * {K1 + 1} "
                f"/ (countEqual({tok_row}, __q) + {K1} * ({1 - B} + {B} * length({tok_row}) / {alias}_stats.2)), "
                f"{_arr(terms)}, {alias}_df)))")
        if not terms:
            filt = "0"
        elif stored:
            fn = "hasAllTokens" if opts.operator == "AND" else "hasAnyTokens"
            filt = f"{fn}({tok_row}, {_arr(terms)})"
        else:
            fn = "arrayAll" if opts.operator == "AND" else "arrayExists"
            filt = f"{fn}(__w -> has({tok_row}, __w), {_arr(terms)})"
        if not stored:
            self.res.notes.append(
                f"no FTS index on {table}.{column}: every row is tokenized for each query (a full scan); "
                f"`ALTER TABLE {table} ADD INDEX {column}_fts {column} TYPE fts` then MATERIALIZE INDEX makes it fast")
        return items, expr, filt

    # -- the calls
    def textsearch(self, call: _Call, fname: str):
        if len(call.args) != 2:
            raise error(self.text, self.toks[call.i], f"{fname}() takes 2 arguments (text column, 'query'), "
                                                      f"got {len(call.args)}")
        sc = self.scope(call.i, fname)
        col_src, column = self.column_of(call, 0, fname, "text")
        q = self.string_arg(call, 1, fname)
        opts = _TextOpts()
        for key, val in parse_index_params(call.params).items():
            if not _text_param(self.text, self.toks[call.i], fname, key, val, opts):
                raise error(self.text, self.toks[call.i], f"unknown parameter {key!r} for {fname}",
                            hint="TextSearch takes 'enable_nlq=0|1' and 'operator=OR|AND'")
        terms = self.query_terms(fname, q, opts)
        alias = f"__embedsql_fts{self.n}"
        items, expr, filt = self.bm25_parts(alias, sc.table, col_src, column, terms, opts)
        self.with_items.setdefault(sc.select_i, []).extend(items + [f"{expr} AS {alias}"])
        self.filters.setdefault(sc.select_i, []).append(filt)
        self.res.notes.append(
            f"{fname}({col_src}, {_lit(q)}) -> Okapi BM25 (k1 {K1}, b {B}, as MyScale) over {sc.table}: "
            f"tokens {terms}, document frequencies and average length over the whole table; rows with "
            f"{'every' if opts.operator == 'AND' else 'any'} query token only")
        return alias

    def hybridsearch(self, call: _Call, fname: str):
        if len(call.args) != 4:
            raise error(self.text, self.toks[call.i],
                        f"{fname}() takes 4 arguments (vector column, text column, query vector, 'query text'), "
                        f"got {len(call.args)}")
        sc = self.scope(call.i, fname)
        vcol_src, vcol = self.column_of(call, 0, fname, "vector")
        tcol_src, tcol = self.column_of(call, 1, fname, "text")
        va, vb = call.args[2]
        vec_src = self.src(va, vb)
        q = self.string_arg(call, 3, fname)
        opts = _TextOpts()
        fusion = weight = fk = nc = None
        dense: dict[str, str] = {}
        seen = set()
        for p in call.params:
            if "=" not in p or p.startswith("=") or p.endswith("="):
                raise error(self.text, self.toks[call.i], f"{fname} parameter {p!r}: expected 'key=value'")
            key, val = (x.strip() for x in p.split("=", 1))
            if key in ("fusion_type", "fusion_weight", "fusion_k", "num_candidates"):
                if key in seen:
                    raise error(self.text, self.toks[call.i], f"{fname}: parameter {key} given twice")
                seen.add(key)
            if key == "fusion_type":
                fusion = val.upper()
            elif key == "fusion_weight":
                try:
                    weight = float(val)
                except ValueError:
                    weight = -1.0
                if not 0.0 <= weight <= 1.0:
                    raise error(self.text, self.toks[call.i], f"{fname}: fusion_weight={val!r} must be a number "
                                                              f"in [0, 1]")
            elif key == "fusion_k":
                if not val.isdigit():
                    raise error(self.text, self.toks[call.i], f"{fname}: fusion_k={val!r} must be an integer >= 0")
                fk = int(val)
            elif key == "num_candidates":
                try:
                    nc = int(val)
                except ValueError:
                    raise error(self.text, self.toks[call.i], f"{fname}: num_candidates={val!r} must be an integer") from None
            elif key.startswith("dense_"):
                dense[key[len("dense_"):]] = val
            elif not _text_param(self.text, self.toks[call.i], fname, key, val, opts):
                raise error(self.text, self.toks[call.i], f"unknown parameter {key!r} in {fname}",
                            hint="HybridSearch takes fusion_type, fusion_weight, fusion_k, num_candidates, "
                                 "enable_nlq, operator and dense_<vector search parameter>")
        if fusion not in (RSF, RRF):
            raise error(self.text, self.toks[call.i],
                        f"{fname}: fusion_type {'is missing' if fusion is None else repr(fusion) + ' is unknown'}",
                        hint="write HybridSearch('fusion_type=RSF')(…) or 'fusion_type=RRF'")
        if sc.limit is None and (nc is None or nc <= 0):
            raise error(self.text, self.toks[call.i], f"{fname} needs LIMIT k (the candidates per side are "
                                                      f"3 * k unless 'num_candidates=N' is given)")
        if nc is None or nc <= 0:
            nc = CANDIDATES_PER_LIMIT * sc.limit
        elif sc.limit is not None and nc < sc.limit:
            nc = sc.limit
        weight = DEFAULT_FUSION_WEIGHT if weight is None else weight
        fk = DEFAULT_FUSION_K if fk is None else fk
        for key, val in dense.items():
            if key.lower() == "ef_s":
                self.res.settings["hnsw_candidate_list_size_for_search"] = val
                self.res.notes.append(f"{fname}('dense_ef_s={val}') -> SETTINGS hnsw_candidate_list_size_for_search = {val}")
            else:
                self.res.warnings.append(f"{fname}('dense_{key}={val}'): vector search parameter '{key}' has no "
                                         f"ClickHouse equivalent and was dropped")
        metric, msource = self.metric_for(sc.table, vcol)
        fn = _METRIC_FN[metric]
        asc = metric != "IP"
        terms = self.query_terms(fname, q, opts)
        alias = f"__embedsql_hs{self.n}"
        items, bm25_expr, filt = self.bm25_parts(alias, sc.table, tcol_src, tcol, terms, opts)
        uw = self.user_where(sc)
        dist = f"{fn}({vcol_src}, {vec_src})"
        value = "__d * __d" if metric == "L2" else "__d"   # MyScale's L2 is squared
        where_text = f" WHERE {filt}" + (f" AND ({self.src(sc.where[0] + 1, sc.where[1])})" if sc.where else "")
        pre = f" PREWHERE {self.src(sc.prewhere[0] + 1, sc.prewhere[1])}" if sc.prewhere else ""
        vec_sub = (f"SELECT _part, _part_offset, {dist} AS __d FROM {sc.table_src}{uw} "
                   f"ORDER BY __d{' DESC' if not asc else ''} LIMIT {nc}")
        # the BM25 side is self-contained (its statistics in its own WITH): a subquery that reads
        # aliases of the outer WITH was ~2.5x slower on chdb 26.9
        txt_sub = (f"WITH {', '.join(items)} "
                   f"SELECT _part, _part_offset, {bm25_expr} AS __s FROM {sc.table_src}{pre}{where_text} "
                   f"ORDER BY __s DESC LIMIT {nc}")
        items = []
        order = "x.3" if asc else "-x.3"
        items.append(f"arraySort(x -> ({order}, x.1, x.2), (SELECT groupArray((_part, _part_offset, {value})) "
                     f"FROM ({vec_sub}))) AS {alias}_v")
        items.append(f"arraySort(x -> (-x.3, x.1, x.2), (SELECT groupArray((_part, _part_offset, __s)) "
                     f"FROM ({txt_sub}))) AS {alias}_t")
        items.append(f"indexOf(arrayMap(x -> (x.1, x.2), {alias}_v), (_part, _part_offset)) AS {alias}_vr")
        items.append(f"indexOf(arrayMap(x -> (x.1, x.2), {alias}_t), (_part, _part_offset)) AS {alias}_tr")
        if fusion == RSF:
            vnorm = (f"if(arrayMax(x -> x.3, {alias}_v) = arrayMin(x -> x.3, {alias}_v), 1, "
                     f"({alias}_v[{alias}_vr].3 - arrayMin(x -> x.3, {alias}_v)) / "
                     f"(arrayMax(x -> x.3, {alias}_v) - arrayMin(x -> x.3, {alias}_v)))")
            tnorm = (f"if(arrayMax(x -> x.3, {alias}_t) = arrayMin(x -> x.3, {alias}_t), 1, "
                     f"({alias}_t[{alias}_tr].3 - arrayMin(x -> x.3, {alias}_t)) / "
                     f"(arrayMax(x -> x.3, {alias}_t) - arrayMin(x -> x.3, {alias}_t)))")
            vpart = f"(1 - {vnorm})" if asc else vnorm
            expr = (f"toFloat32(if({alias}_tr > 0, {weight} * {tnorm}, 0) + "
                    f"if({alias}_vr > 0, {1 - weight} * {vpart}, 0))")
            how = (f"RSF: {weight} × min-max normalised BM25 + {round(1 - weight, 6)} × "
                   f"{'(1 − min-max normalised distance)' if asc else 'min-max normalised inner product'}")
        else:
            expr = (f"toFloat32(if({alias}_vr > 0, 1 / ({fk} + {alias}_vr), 0) + "
                    f"if({alias}_tr > 0, 1 / ({fk} + {alias}_tr), 0))")
            how = f"RRF: 1/({fk} + rank by distance) + 1/({fk} + rank by BM25), ranks from 1"
        items.append(f"{expr} AS {alias}")
        self.with_items.setdefault(sc.select_i, []).extend(items)
        self.filters.setdefault(sc.select_i, []).append(f"({alias}_vr > 0 OR {alias}_tr > 0)")
        self.res.notes.append(
            f"HybridSearch('fusion_type={fusion}') on {sc.table}: {how}; candidates: the {nc} nearest rows "
            f"by {fn}({vcol_src}, …) (metric {metric} {msource}) and the {nc} best by BM25 of {tcol_src} "
            f"for {terms}, each with your WHERE; a row found by one side only gets that side's part")
        return alias

    def run(self, calls: list[_Call]) -> FtsResult:
        toks = self.toks
        for call in calls:
            key = self.src(call.i, call.end)
            fname = toks[call.i].text
            if key in self.done:
                alias = self.done[key]
            else:
                alias = self.textsearch(call, fname) if call.name == "textsearch" else self.hybridsearch(call, fname)
                self.done[key] = alias
                self.n += 1
            self.res.edits.append((toks[call.i].start, toks[call.end - 1].end, alias))
        for s, items in self.with_items.items():
            sc = self.scopes[s]
            block = ",\n    ".join(items)
            if sc.with_i is not None:
                pos = toks[sc.with_i].end
                self.res.edits.append((pos, pos, f"\n    {block},\n   "))
            else:
                pos = toks[sc.select_i].start
                self.res.edits.append((pos, pos, f"WITH\n    {block}\n"))
        for s, conds in self.filters.items():
            sc = self.scopes[s]
            cond = " AND ".join(conds)
            if sc.where:
                a, b = sc.where
                self.res.edits.append((toks[a].end, toks[a + 1].start, f" {cond} AND ("))
                self.res.edits.append((toks[b - 1].end, toks[b - 1].end, ")"))
            else:
                last = sc.prewhere[1] - 1 if sc.prewhere else sc.from_end - 1
                self.res.edits.append((toks[last].end, toks[last].end, f" WHERE {cond}"))
        return self.res


def translate_search_calls(text: str, toks: list[Tok], catalog, metric_for) -> FtsResult:
    """Every `TextSearch(...)` / `HybridSearch(...)(...)` call of one statement (any case, with or
    without parameters) as ClickHouse SQL. `metric_for(table, column) -> (metric, source)` gives
    the vector column's metric (Cosine | L2 | IP). Raises TranslationError for what cannot be
    translated (wrong arguments, unknown parameters, joins)."""
    calls = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.low in SEARCH_FUNCTIONS and i + 1 < len(toks) and toks[i + 1].type == TokenType.L_PAREN \
                and not (i > 0 and toks[i - 1].type == TokenType.DOT):
            c = _read_call(toks, i)
            if c is not None:
                calls.append(c)
                i = c.end
                continue
        i += 1
    if not calls:
        return FtsResult()
    return _Translator(text, toks, catalog, metric_for).run(calls)


# ---------------------------------------------------------------- ClickHouse -> MyScale

def reverse_statement(text: str, toks: list[Tok]) -> tuple[FtsResult, bool]:
    """ClickHouse text indexes -> MyScale FTS indexes. The bridge's own form (a `<col>__tokens`
    column and `INDEX i <col>__tokens TYPE text(tokenizer = array)`) becomes `INDEX i <col> TYPE
    fts GRANULARITY 1` and the column goes; a native text index on a column becomes the same with
    a warning (MyScale's default tokenizer splits and lower-cases differently). Returns (result,
    drop the whole statement?)."""
    res = FtsResult()
    n = len(toks)
    if n >= 4 and toks[0].type == TokenType.ALTER:
        for k in range(n - 1):
            if toks[k].up in ("ADD", "MATERIALIZE") and toks[k + 1].up == "COLUMN":
                j = k + 2
                if j + 2 < n and toks[j].up == "IF":
                    j += 3 if toks[j + 1].up == "NOT" else 2
                if j < n and toks[j].text.endswith("__tokens"):
                    res.notes.append(f"{toks[k].up} COLUMN {toks[j].text} dropped: MyScale's FTS index keeps "
                                     f"its own tokens")
                    return res, True
    i = 0
    while i < n:
        t = toks[i]
        if t.up == "TYPE" and i + 2 < n and toks[i + 1].low == "text" and toks[i + 2].type == TokenType.L_PAREN:
            k = i - 1
            idx_i = None
            while k >= 0:
                if toks[k].type == TokenType.INDEX:
                    idx_i = k
                    break
                if toks[k].type in (TokenType.COMMA, TokenType.SEMICOLON) and toks[k].depth <= t.depth:
                    break
                k -= 1
            close = match_close(toks, i + 2)
            if idx_i is None or close < 0:
                i += 1
                continue
            end = close + 1
            if end + 1 < n and toks[end].up == "GRANULARITY" and toks[end + 1].type == TokenType.NUMBER:
                end += 2
            name_i = idx_i + 1
            if toks[name_i].up == "IF":
                name_i += 3
            a, b = name_i + 1, i
            if b - a == 3 and toks[a].type == TokenType.L_PAREN:
                a, b = a + 1, b - 1
            expr = _src(text, toks, a, b)
            params = _src(text, toks, i + 3, close) if close > i + 3 else ""
            if b - a == 1 and expr.endswith("__tokens") and params.replace(" ", "") == "tokenizer=array":
                col = expr[:-len("__tokens")]
            elif b - a == 1 and is_name(toks[a]):
                col = expr
                res.warnings.append(
                    f"text index {toks[name_i].text} ({params}) -> MyScale FTS index with the default tokenizer, "
                    f"which splits on Unicode punctuation and lower-cases: matches can differ")
            else:
                raise error(text, toks[a], f"text index {toks[name_i].text} on the expression {expr!r} has no "
                                           f"MyScale FTS equivalent", hint="MyScale's FTS index takes a column")
            head = _src(text, toks, idx_i, name_i + 1)
            res.edits.append((toks[idx_i].start, toks[end - 1].end, f"{head} {col} TYPE fts GRANULARITY 1"))
            res.notes.append(f"text index {toks[name_i].text} -> MyScale FTS index on {col}")
            i = end
            continue
        # the bridge's token column inside CREATE TABLE: `<col>__tokens Array(String) MATERIALIZED ...,`
        if toks[0].type == TokenType.CREATE and t.depth == 1 and t.text.endswith("__tokens") and i > 0 \
                and toks[i - 1].type in (TokenType.COMMA, TokenType.L_PAREN) and i + 1 < n and toks[i + 1].low == "array":
            j = i + 1
            while j < n and not (toks[j].depth == 1 and toks[j].type in (TokenType.COMMA, TokenType.R_PAREN)):
                j += 1
            if j < n and toks[j].type == TokenType.COMMA:
                stop = toks[j + 1].start if j + 1 < n else toks[j].end
                res.edits.append((t.start, stop, ""))
            else:   # last element: remove the comma before it
                res.edits.append((toks[i - 1].start, toks[j - 1].end, ""))
            res.notes.append(f"column {t.text} dropped: MyScale's FTS index keeps its own tokens")
            i = j
            continue
        i += 1
    return res, False
