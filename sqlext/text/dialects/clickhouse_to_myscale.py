"""ClickHouse vector SQL -> MyScale (the reverse bridge; MyScale syntax from MYSCALE.md).

Translated (everything else is left byte for byte):
- `INDEX name col TYPE vector_similarity('hnsw', 'cosineDistance', N[, q, m, ef_c]) [GRANULARITY g]`
  (inline in CREATE TABLE, or `ALTER TABLE t ADD INDEX ...`) -> `VECTOR INDEX name col TYPE
  HNSWFLAT('metric_type=Cosine'[, 'm=..', 'ef_c=..'])`. HNSWFLAT because ClickHouse's index is
  HNSW and HNSWFLAT exists on both open-source MyScaleDB and MyScale Cloud (MSTG is Cloud-only).
  GRANULARITY and the quantization are dropped (MyScale manages its own).
- `CREATE INDEX name ON t (col) TYPE vector_similarity(...)` -> `ALTER TABLE t ADD VECTOR INDEX ...`.
- `ALTER TABLE t MATERIALIZE INDEX name` of a vector index -> no statement (MyScale builds
  vector indexes by itself), with a note.
- `cosineDistance(col, q)` / `L2Distance(col, q)` / `dotProduct(col, q)` -> `distance(col, q)` when
  col's MyScale vector index has that metric (so the index is used). When it has another metric
  the function is left as is (MyScale is ClickHouse-based and computes it by brute force) with
  a warning; without a vector index it is left alone.
- Text indexes (`sqlext.text.dialects.fulltext.reverse_statement`): the bridge's token column and
  `text(tokenizer = array)` index, or a native text index on a column -> `INDEX i col TYPE fts`.
- `SETTINGS hnsw_candidate_list_size_for_search = N` -> `distance('ef_s=N')(...)` on the
  translated distance calls; other ClickHouse-only vector search settings are removed (MyScale
  would reject them as unknown) with a note.
"""
from __future__ import annotations

from sqlext.text.ddl import parse_vector_similarity
from sqlext.text.dialects._common import (
    Tokens, TokenType, apply_edits, call_alias, alias_uses, distance_use, drop_settings_edits, error, index_keyword_before, is_name,
    match_close, read_name, resolve_column, settings_clause, split_args, table_refs, tokenize,
)
from sqlext.text.dialects import fulltext
from sqlext.text.dialects.myscale_to_clickhouse import StatementTranslation

FUNCTION_METRIC = {"cosinedistance": "Cosine", "l2distance": "L2", "dotproduct": "IP"}
CH_ONLY_SETTINGS = {
    "vector_search_filter_strategy", "vector_search_index_fetch_multiplier",
    "vector_search_postfilter_multiplier", "max_limit_for_vector_search_queries",
    "vector_search_with_rescoring", "allow_experimental_vector_similarity_index",
    "enable_vector_similarity_index", "query_plan_try_use_vector_search",
    "vector_search_use_quantized_codes",
}
EF_S_SETTING = "hnsw_candidate_list_size_for_search"


class _Ctx:
    def __init__(self, text, toks, catalog, state):
        self.text, self.toks, self.catalog, self.state = text, toks, catalog, state
        self.edits: list[tuple[int, int, str]] = []
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.replace_with: list[str] | None = None
        self.distance_calls: list[int] = []     # offsets where "('ef_s=N')" can be inserted
        self.refs = None

    def src(self, a, b):
        return self.text[self.toks[a].start:self.toks[b - 1].end]

    def table_refs(self):
        if self.refs is None:
            self.refs = table_refs(self.toks)
        return self.refs

    def has_column(self, table, column):
        return self.catalog is not None and self.catalog.vector_index(table, column) is not None


def to_myscale(tokens: Tokens, catalog, state: dict) -> StatementTranslation:
    """Translate one statement (its tokens) from ClickHouse to MyScale. `state` carries what
    earlier statements of the same script created (vector index names)."""
    text, toks = tokens.text, tokens.tokens
    ctx = _Ctx(text, toks, catalog, state)
    n = len(toks)
    low = text.lower()
    if "text" in low or "__tokens" in low:
        fres, drop = fulltext.reverse_statement(text, toks)
        if drop:
            return StatementTranslation([], fres.notes, fres.warnings, True)
        ctx.edits.extend(fres.edits)
        ctx.notes.extend(fres.notes)
        ctx.warnings.extend(fres.warnings)
    if n >= 2 and toks[0].type == TokenType.CREATE and toks[1].type == TokenType.INDEX:
        _create_index(ctx)
    elif n >= 3 and toks[0].type == TokenType.ALTER and _materialize_vector_index(ctx):
        pass
    else:
        i = 0
        while i < n:
            t = toks[i]
            if t.low == "vector_similarity" and i + 1 < n and toks[i + 1].type == TokenType.L_PAREN:
                i = _index_def(ctx, i)
                continue
            if t.low in FUNCTION_METRIC and i + 1 < n and toks[i + 1].type == TokenType.L_PAREN \
                    and not (i > 0 and toks[i - 1].type == TokenType.DOT):
                i = _distance_fn(ctx, i)
                continue
            i += 1
        _settings(ctx)
    if ctx.replace_with is not None:
        origin = toks[0].origin if toks else 0   # written statements stand for the user's statement
        return StatementTranslation(ctx.replace_with, ctx.notes, ctx.warnings, True,
                      [tokenize(st).with_origin(origin) for st in ctx.replace_with])
    if ctx.edits:
        out = apply_edits(tokens, ctx.edits)
        return StatementTranslation([out.text], ctx.notes, ctx.warnings, True, [out])
    return StatementTranslation([text], ctx.notes, ctx.warnings, False, [tokens])


def _hnswflat(ctx: _Ctx, vs_i: int) -> tuple[str, int, str]:
    """`vector_similarity(...)` at vs_i -> (MyScale type text, index after the call, metric)."""
    toks = ctx.toks
    close = match_close(toks, vs_i + 1)
    call = ctx.src(vs_i, close + 1)
    info = parse_vector_similarity(call)
    if info is None:
        raise error(ctx.text, toks[vs_i], f"cannot read {call!r}",
                    hint="expected vector_similarity('hnsw', 'cosineDistance'|'L2Distance', <dim>, …)")
    if info.metric not in ("Cosine", "L2"):
        raise error(ctx.text, toks[vs_i], f"{call}: distance function {info.metric!r} has no MyScale "
                                          f"metric_type", hint="use cosineDistance or L2Distance")
    params = [f"'metric_type={info.metric}'"]
    for key in ("m", "ef_c"):
        if key in info.params:
            params.append(f"'{key}={_in_range(ctx, key, info.params[key], f'{call}: {key}')}'")
    q = info.params.get("quantization")
    note = (f"{call} -> HNSWFLAT({', '.join(params)}) (HNSWFLAT: HNSW on open-source MyScaleDB "
            f"and MyScale Cloud")
    note += f"; quantization {q} dropped, HNSWFLAT keeps Float32)" if q else ")"
    ctx.notes.append(note)
    return f"HNSWFLAT({', '.join(params)})", close + 1, info.metric


#: HNSWFLAT's parameter ranges on MyScale (MYSCALE.md §2: m 8-128, ef_c 16-1024, ef_s 16-1024);
#: a value outside is refused by the server
MYSCALE_HNSW_RANGES = {"m": (8, 128), "ef_c": (16, 1024), "ef_s": (16, 1024)}


def _in_range(ctx: _Ctx, key: str, value, what: str) -> str:
    """`value` of HNSWFLAT parameter `key` as MyScale accepts it: a whole number outside
    MYSCALE_HNSW_RANGES becomes the nearest bound, with a warning; anything else as written."""
    text = str(value).strip()
    low, high = MYSCALE_HNSW_RANGES[key]
    if not text.isdigit() or low <= int(text) <= high:
        return text
    near = str(min(max(int(text), low), high))
    ctx.warnings.append(f"{what}: MyScale's HNSWFLAT takes {key} from {low} to {high} (it refuses {text}); "
                        f"sent as {key}={near}")
    return near


def _granularity_end(toks, k) -> int:
    if k + 1 < len(toks) and toks[k].up == "GRANULARITY" and toks[k + 1].type == TokenType.NUMBER:
        return k + 2
    return k


def _index_def(ctx: _Ctx, vs_i: int) -> int:
    """`INDEX name col TYPE vector_similarity(...)` (inline or after ADD): VECTOR INDEX ... HNSWFLAT."""
    toks = ctx.toks
    # walk back: TYPE, column expression, name, [IF NOT EXISTS], INDEX
    if vs_i == 0 or toks[vs_i - 1].up != "TYPE":
        return vs_i + 1
    idx_i = index_keyword_before(toks, vs_i - 2, toks[vs_i].depth)
    if idx_i is None:
        return vs_i + 1
    rep, after, _metric = _hnswflat(ctx, vs_i)
    ctx.edits.append((toks[idx_i].start, toks[idx_i].start, "VECTOR "))
    ctx.edits.append((toks[vs_i].start, toks[after - 1].end, rep))
    g_end = _granularity_end(toks, after)
    if g_end > after:
        ctx.edits.append((toks[after - 1].end, toks[g_end - 1].end, ""))
        ctx.notes.append(f"GRANULARITY {toks[after + 1].text} dropped (MyScale vector indexes have none)")
    name_i = idx_i + 1
    if toks[name_i].up == "IF":
        name_i += 3
    ctx.state.setdefault("vector_indexes", set()).add(toks[name_i].text)
    return g_end


def _create_index(ctx: _Ctx) -> None:
    """ClickHouse `CREATE INDEX [IF NOT EXISTS] name ON t (col) TYPE vector_similarity(...)`."""
    toks = ctx.toks
    vs = next((k for k, t in enumerate(toks) if t.low == "vector_similarity"), None)
    if vs is None:
        return
    k = 2
    ine = ""
    if toks[k].up == "IF":
        ine = " " + ctx.src(k, k + 3)
        k += 3
    name_i = k
    if toks[k + 1].type != TokenType.ON:
        raise error(ctx.text, toks[k], "expected CREATE INDEX name ON table (column) TYPE …")
    parts, j = read_name(toks, k + 2)
    table_src = ctx.src(k + 2, j)
    type_i = vs - 1
    col_src = ctx.src(j, type_i)
    if col_src.startswith("(") and col_src.endswith(")"):
        col_src = col_src[1:-1].strip()
    rep, after, _ = _hnswflat(ctx, vs)
    ctx.replace_with = [f"ALTER TABLE {table_src} ADD VECTOR INDEX{ine} {ctx.src(name_i, name_i + 1)} "
                        f"{col_src} TYPE {rep}"]
    ctx.state.setdefault("vector_indexes", set()).add(toks[name_i].text)
    ctx.notes.append(f"CREATE INDEX {toks[name_i].text} … vector_similarity -> ALTER TABLE {table_src} "
                     f"ADD VECTOR INDEX")


def _materialize_vector_index(ctx: _Ctx) -> bool:
    toks = ctx.toks
    if toks[1].type != TokenType.TABLE:
        return False
    parts, j = read_name(toks, 2)
    k = j
    if k + 2 < len(toks) and toks[k].type == TokenType.ON and toks[k + 1].up == "CLUSTER":
        k += 3
    if not (k + 2 < len(toks) and toks[k].up == "MATERIALIZE" and toks[k + 1].type == TokenType.INDEX):
        return False
    rest = [t for t in toks[k + 3:] if t.type != TokenType.SEMICOLON]
    if rest:    # IN PARTITION ..., or several commands: leave it to the server
        return False
    name = toks[k + 2].text
    table = ".".join(parts)
    known = name in ctx.state.get("vector_indexes", set())
    if not known and ctx.catalog is not None and hasattr(ctx.catalog, "vector_indexes"):
        known = any(info.name == name for info in ctx.catalog.vector_indexes(table).values())
    if not known:
        return False
    ctx.replace_with = []
    ctx.notes.append(f"ALTER TABLE {table} MATERIALIZE INDEX {name} dropped: MyScale builds vector "
                     f"indexes by itself (watch system.vector_indices)")
    return True


def _distance_fn(ctx: _Ctx, i: int) -> int:
    toks = ctx.toks
    close = match_close(toks, i + 1)
    if close < 0:
        return i + 1
    args = split_args(toks, i + 1, close)
    if len(args) != 2:
        return i + 1
    (a0, b0), _ = args
    parts, after = read_name(toks, a0)
    if not parts or after != b0:
        return i + 1
    fn_metric = FUNCTION_METRIC[toks[i].low]
    table, column = resolve_column(parts, ctx.table_refs(), ctx.has_column)
    info = ctx.catalog.vector_index(table, column) if (table and ctx.catalog is not None) else None
    if info is None:
        return i + 1
    call = f"{toks[i].text}({ctx.src(a0, b0)}, …)"
    if info.metric != fn_metric:
        ctx.warnings.append(
            f"{call}: the vector index {info.name} on {table}.{column} "
            f"uses metric {info.metric}, and MyScale's distance() always uses the index metric; "
            f"{toks[i].text} was left as is and runs as a full scan on MyScale")
        return close + 1
    if _ordered_descending(toks, i, close):
        ctx.warnings.append(
            f"{call} ordered DESC: MyScale's distance() orders {info.metric} only ascending (the "
            f"nearest first; DESC is refused with error 62), so {toks[i].text} was left as is and "
            f"runs as a full scan on MyScale")
        return close + 1
    use, k, squared = distance_use(toks, i, close, lambda v: v * v) if fn_metric == "L2" else ("plain", None, None)
    if use == "other":
        ctx.warnings.append(
            f"{call} is compared with a bound (or computed with, or through its alias): MyScale's L2 "
            f"distance() is the square of L2Distance, so the bound would mean another distance; "
            f"{toks[i].text} was left as is and runs as a full scan on MyScale (compare the call itself "
            f"with a number to have the number squared)")
        return close + 1
    ctx.edits.append((toks[i].start, toks[i].end, "distance"))
    ctx.distance_calls.append((toks[i].end, info))
    note = f"{call} -> distance(): index {info.name} has metric {info.metric}"
    if fn_metric == "L2":
        note += "; MyScale's L2 distance is the squared L2Distance (same order)"
    if use == "number":
        ctx.edits.append((toks[k].start, toks[k].end, squared))
        note += f"; the bound {toks[k].text} it is compared with becomes its square, {squared}"
    ctx.notes.append(note)
    return close + 1


def _ordered_descending(toks, i: int, close: int) -> bool:
    """Whether the distance call toks[i..close] is an ORDER BY item ordered DESC: written there
    (`ORDER BY cosineDistance(v, q) DESC`) or through its alias (`… AS d … ORDER BY d DESC`)."""
    after = close + 1
    if after < len(toks) and toks[after].up in ("DESC", "DESCENDING"):
        return True
    alias, depth = call_alias(toks, close), toks[i].depth
    for k in alias_uses(toks, alias, close) if alias else []:
        if (toks[k].depth == depth and k + 1 < len(toks) and toks[k + 1].up in ("DESC", "DESCENDING")
                and any(x.type == TokenType.ORDER_BY and x.depth == depth for x in toks[after:k])):
            return True
    return False


def _settings(ctx: _Ctx) -> None:
    toks = ctx.toks
    s_i, items = settings_clause(toks, ctx.text)
    if s_i is None:
        return
    drop = []
    for first, last, name, value in items:
        if name == EF_S_SETTING:
            hnsw = [(pos, info) for pos, info in ctx.distance_calls if info.type.startswith("HNSW")]
            for pos, info in ctx.distance_calls:
                if not info.type.startswith("HNSW"):
                    ctx.warnings.append(
                        f"SETTINGS {EF_S_SETTING} = {value}: vector index {info.name} is {info.type}, "
                        f"which has no 'ef_s' search parameter on MyScale; not carried over")
            if hnsw:
                ef = _in_range(ctx, "ef_s", value.strip(), f"SETTINGS {EF_S_SETTING} = {value.strip()}")
                for pos, _info in hnsw:
                    ctx.edits.append((pos, pos, f"('ef_s={ef}')"))
                ctx.notes.append(f"SETTINGS {EF_S_SETTING} = {value} -> distance('ef_s={ef}')")
            elif not ctx.distance_calls:
                ctx.warnings.append(
                    f"SETTINGS {EF_S_SETTING} = {value} dropped: no distance() on an HNSW-indexed "
                    f"column to carry it as 'ef_s' on MyScale")
            drop.append((first, last))
        elif name in CH_ONLY_SETTINGS:
            ctx.notes.append(f"SETTINGS {toks[first].text} dropped: a ClickHouse-only vector search "
                             f"setting that MyScale does not know")
            drop.append((first, last))
    ctx.edits.extend(drop_settings_edits(toks, ctx.text, s_i, items, drop))
