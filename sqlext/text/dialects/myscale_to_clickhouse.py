"""MyScale vector SQL -> ClickHouse (26.x; the embedded chdb engine included).

Translated (everything else is left byte for byte):
- `distance(col, q)` -> the ClickHouse function of the metric of col's vector index
  (Cosine: cosineDistance, L2: L2Distance, IP: dotProduct); without an index, the table
  setting float_vector_search_metric_type, else MyScale's default L2.
  MyScale's L2 is the *squared* distance; L2Distance is its square root: same order, other
  values. For IP, MyScale orders DESC by the inner product; dotProduct keeps that (the user's
  `ORDER BY d DESC` works as written), but ClickHouse's vector index has no inner-product
  metric, so the query is a full scan.
- `distance('ef_s=N')(col, q)` -> the query setting hnsw_candidate_list_size_for_search = N
  (merged into the statement's SETTINGS); alpha / nprobe / others: a warning, dropped.
- `batch_distance(col, [[..], [..]])` -> `arrayJoin(arrayMap((q, i) -> (toUInt32(i - 1),
  toFloat32(<metric fn>(col, q))), <queries> AS __embedsql_bqN, arrayEnumerate(__embedsql_bqN)))`:
  one row per (row, query), a Tuple(UInt32, Float32) with the 0-based query index first, as
  MyScale returns it (`ORDER BY dist.1, dist.2 LIMIT k BY dist.1` works unchanged). Full scan.
- Vector index DDL (ALTER ... ADD/DROP VECTOR INDEX, CREATE/DROP VECTOR INDEX ... ON t, inline
  `VECTOR INDEX` in CREATE TABLE) -> `vector_similarity('hnsw', <fn>, <dim>[, 'bf16', m, ef_c])`
  skip indexes; an added index is followed by `ALTER TABLE t MATERIALIZE INDEX name` (a second
  statement) because ClickHouse only indexes new parts by itself.
- `FROM system.vector_indices` -> a subquery over ClickHouse's system tables with MyScale's columns.
- Full-text search (`sqlext.text.dialects.fulltext`): `INDEX i col TYPE fts` -> a stored token
  column plus a ClickHouse `text` index; `TextSearch(col, 'q')` -> Okapi BM25 in SQL;
  `HybridSearch('fusion_type=RSF|RRF')(vec, col, q_vec, 'q')` -> the fusion of the two candidate lists.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from sqlext.text.ddl import IndexInfo, normalize_metric, parse_index_params
from sqlext.text.dialects import fulltext
from sqlext.text.dialects._common import (
    Tok, Tokens, TokenType, apply_edits, distance_use, drop_settings_edits, error, is_cast_vector, is_name,
    match_close, parametric_call, read_name, resolve_column, settings_clause, settings_edits, split_args, table_refs,
    tokenize,
)
from sqlext.errors import TranslationError

METRIC_FUNCTION = {"Cosine": "cosineDistance", "L2": "L2Distance", "IP": "dotProduct"}
HNSW_TYPES = {"HNSWFLAT", "HNSWSQ", "HNSWPQ", "HNSW"}
VECTOR_INDEX_TYPES = {"MSTG", "SCANN", "HNSWFLAT", "HNSWSQ", "HNSWPQ", "FLAT", "IVFFLAT", "IVFPQ",
                      "IVFSQ", "DEFAULT"}
BINARY_INDEX_TYPES = {"BINARYFLAT", "BINARYMSTG", "BINARYIVF", "BINARYHNSW"}
SEARCH_SETTING = {"ef_s": "hnsw_candidate_list_size_for_search"}

VECTOR_INDICES_SUBQUERY = (
    "SELECT i.database AS database, i.table AS `table`, i.name AS name, "
    "upper(extract(i.type_full, '^vector_similarity\\\\(\\\\s*''([A-Za-z0-9_]+)''')) AS type, "
    "concat(i.name, ' ', i.expr, ' TYPE ', i.type_full) AS expr, "
    "toUInt64(ifNull(p.total_parts, 0)) AS total_parts, "
    "toUInt64(greatest(toInt64(ifNull(p.total_parts, 0)) - toInt64(ifNull(m.parts_to_do, 0)), 0)) "
    "AS parts_with_vector_index, "
    "toUInt64(0) AS small_parts, "
    "multiIf(ifNull(m.latest_fail_reason, '') != '', 'Error', ifNull(m.pending, 0) > 0, 'InProgress', "
    "'Built') AS status, "
    "hostName() AS host_name, "
    "ifNull(m.latest_failed_part, '') AS latest_failed_part, "
    "ifNull(m.latest_fail_reason, '') AS latest_fail_reason "
    "FROM system.data_skipping_indices AS i "
    "LEFT JOIN (SELECT database, table, count() AS total_parts FROM system.parts WHERE active "
    "GROUP BY database, table) AS p ON p.database = i.database AND p.table = i.table "
    "LEFT JOIN (SELECT database, table, index_name, countIf(NOT is_done) AS pending, "
    "sumIf(parts_to_do, NOT is_done) AS parts_to_do, "
    "argMaxIf(latest_failed_part, latest_fail_time, NOT is_done) AS latest_failed_part, "
    "argMaxIf(latest_fail_reason, latest_fail_time, NOT is_done) AS latest_fail_reason "
    "FROM system.mutations "
    "ARRAY JOIN extractAll(command, 'MATERIALIZE INDEX `?([A-Za-z0-9_]+)') AS index_name "
    "GROUP BY database, table, index_name) AS m "
    "ON m.database = i.database AND m.table = i.table AND m.index_name = i.name "
    "WHERE i.type = 'vector_similarity'"
)


@dataclass
class StatementTranslation:
    """What one statement became: the statements to run (text, and their tokens), notes on what
    was translated, warnings on what could not be carried over."""

    statements: list[str]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    changed: bool = False
    tokens: list[Tokens] = field(default_factory=list)


class _Ctx:
    def __init__(self, text: str, toks: list[Tok], catalog):
        self.text = text
        self.toks = toks
        self.catalog = catalog
        self.edits: list[tuple[int, int, str]] = []
        self.extra: list[str] = []          # statements to run after this one
        self.before: list[str] = []         # statements to run before this one
        self.replace_with: list[str] | None = None   # the statement replaced wholesale
        self.settings: dict[str, str] = {}
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.refs = None
        self.batch_n = 0

    def src(self, a: int, b: int) -> str:
        """Original text of tokens [a, b)."""
        return self.text[self.toks[a].start:self.toks[b - 1].end]

    def table_refs(self):
        if self.refs is None:
            self.refs = table_refs(self.toks)
        return self.refs

    def has_column(self, table, column) -> bool:
        c = self.catalog
        return c is not None and (c.vector_index(table, column) is not None
                                  or c.column_dim(table, column) is not None)


def to_clickhouse(tokens: Tokens, catalog) -> StatementTranslation:
    """Translate one statement (its tokens) from MyScale to ClickHouse."""
    text, toks = tokens.text, tokens.tokens
    ctx = _Ctx(text, toks, catalog)
    n = len(toks)
    low_text = text.lower()
    if "textsearch" in low_text or "hybridsearch" in low_text:
        _fts_merge(ctx, fulltext.translate_search_calls(
            text, toks, catalog, lambda table, column: _metric_for(ctx, table, column)))
    if n >= 6 and toks[0].up == "SYSTEM" and [x.up for x in toks[1:6]] == ["WAIT", "BUILDING", "VECTOR",
                                                                          "INDICES", toks[5].up]:
        ctx.replace_with = []  # nothing to wait on: say where the build shows instead
        ctx.notes.append(f"{ctx.src(0, n)} dropped: ClickHouse has no wait for a vector index build; "
                         f"watch system.vector_indices (translated: its status is 'Built' when done), "
                         f"or let `embedsql migrate` wait for the indexes its migrations create")
    i = 0
    while i < n:
        t = toks[i]
        low = t.text.lower() if len(t.text) in (6, 8, 14) else ""  # vector, system, (batch_)distance
        nxt = toks[i + 1] if i + 1 < n else None
        if fulltext.is_fts_type(toks, i):
            alt = _alter_table(ctx) if toks[0].type == TokenType.ALTER else None
            res, i = fulltext.translate_index_def(text, toks, i, alter_table=alt[1] if alt else None)
            _fts_merge(ctx, res)
            continue
        if low == "vector" and nxt is not None and nxt.type is TokenType.INDEX:
            i = _vector_index(ctx, i)
            continue
        if low in ("distance", "batch_distance") and nxt is not None and nxt.type is TokenType.L_PAREN \
                and not (i > 0 and toks[i - 1].type is TokenType.DOT):
            i = _distance(ctx, i)
            continue
        if low == "system" and i + 2 < n and toks[i + 1].type == TokenType.DOT \
                and toks[i + 2].low == "vector_indices" and i > 0 \
                and toks[i - 1].type in (TokenType.FROM, TokenType.JOIN):
            _vector_indices(ctx, i)
            i += 3
            continue
        if low == "system" and i + 2 < n and toks[i + 1].type == TokenType.DOT \
                and toks[i + 2].low == "vector_index_segments":
            raise error(text, toks[i], "system.vector_index_segments is MyScale's (one row per part's index "
                                       "segment); ClickHouse has no such table",
                        hint="read system.vector_indices instead: the bridge translates it (one row per index, "
                             "with its build status and parts built)")
        i += 1
    _myscale_settings(ctx)
    if ctx.settings:
        edits, skipped = settings_edits(toks, text, ctx.settings)
        ctx.edits.extend(edits)
        for key in skipped:
            ctx.notes.append(f"kept your own SETTINGS {key}; the search parameter for it was not added")
    origin = toks[0].origin if toks else 0   # written statements stand for the user's statement
    if ctx.replace_with is not None:
        toks_out = [tokenize(st).with_origin(origin) for st in ctx.replace_with]
    elif ctx.edits:
        toks_out = [apply_edits(tokens, ctx.edits)]
    else:
        toks_out = [tokens]
    toks_out = ([tokenize(st).with_origin(origin) for st in ctx.before] + toks_out
                + [tokenize(st).with_origin(origin) for st in ctx.extra])
    changed = bool(ctx.edits or ctx.extra or ctx.before or ctx.replace_with is not None)
    return StatementTranslation([t.text for t in toks_out], ctx.notes, ctx.warnings, changed, toks_out)


#: MyScale's own query settings (MYSCALE.md §4), unknown to ClickHouse, which refuses them:
#: dropped, each with why (a prefix ending in `_` names a family)
MYSCALE_ONLY_SETTINGS = {
    "enable_brute_force_vector_search": "ClickHouse always scans the parts without a vector index exactly",
    "two_stage_search_option": "ClickHouse's HNSW search has one stage",
    "optimize_move_to_prewhere_for_vector_search": "ClickHouse moves conditions to PREWHERE by itself",
    "hybrid_search_fusion_": None,  # a default of HybridSearch's own parameter: said as a warning
}


def _myscale_settings(ctx: _Ctx) -> None:
    """Drop MyScale-only query settings (MYSCALE_ONLY_SETTINGS) from the statement's SETTINGS."""
    s_i, items = settings_clause(ctx.toks, ctx.text)
    drop = []
    for first, last, name, value in items:
        key = next((k for k in MYSCALE_ONLY_SETTINGS if name == k or (k.endswith("_") and name.startswith(k))),
                   None)
        if key is None:
            continue
        written = ctx.src(first, first + 1)
        why = MYSCALE_ONLY_SETTINGS[key]
        if why is None:  # hybrid_search_fusion_weight / _k: HybridSearch's defaults
            param = name.removeprefix("hybrid_search_")
            ctx.warnings.append(f"SETTINGS {written} = {value} dropped: ClickHouse does not know it; the "
                                f"bridge's HybridSearch reads its fusion from the call: write "
                                f"'{param}={value.strip()}' among HybridSearch's parameters")
        else:
            ctx.notes.append(f"SETTINGS {written} = {value} dropped: a MyScale setting ClickHouse does not "
                             f"know ({why})")
        drop.append((first, last))
    if drop and len(drop) == len(items) and ctx.settings:  # the clause stays, with the settings added
        added = ", ".join(f"{k} = {v}" for k, v in ctx.settings.items())
        ctx.edits.append((ctx.toks[items[0][0]].start, ctx.toks[items[-1][1]].end, added))
        ctx.settings = {}
        return
    ctx.edits.extend(drop_settings_edits(ctx.toks, ctx.text, s_i, items, drop))


def _fts_merge(ctx: _Ctx, res) -> None:
    """Fold a full-text translation step (sqlext.text.dialects.fulltext) into the statement."""
    ctx.edits.extend(res.edits)
    ctx.before.extend(res.before)
    ctx.extra.extend(res.after)
    ctx.notes.extend(res.notes)
    ctx.warnings.extend(res.warnings)
    ctx.settings.update(res.settings)


# ---------------------------------------------------------------- distance / batch_distance

def _distance(ctx: _Ctx, i: int) -> int:
    toks, text = ctx.toks, ctx.text
    fname = toks[i].text
    batch = toks[i].low == "batch_distance"
    call = parametric_call(toks, i)
    if call is None:
        return i + 1
    params, args_open, args_close = call
    args = split_args(toks, args_open, args_close)
    if len(args) != 2:
        raise error(text, toks[i], f"{fname}() takes 2 arguments (column, query vector), got {len(args)}",
                    hint=f"write {fname}(vector_column, [0.1, 0.2, ...])")
    (a0, b0), (a1, b1) = args
    parts, after = read_name(toks, a0)
    if not parts or after != b0:
        raise error(text, toks[a0], f"{fname}(): the first argument must be a vector column, "
                                    f"got {ctx.src(a0, b0)!r}",
                    hint="MyScale's distance() searches a column: put the column first")
    table, column = resolve_column(parts, ctx.table_refs(), ctx.has_column)
    metric, source = _metric_for(ctx, table, column)
    func = METRIC_FUNCTION[metric]
    where = f"{table}.{column}" if table else column

    # search parameters
    kv = parse_index_params(params)
    for key, val in kv.items():
        setting = SEARCH_SETTING.get(key.lower())
        if setting and not batch:
            ctx.settings[setting] = val
            ctx.notes.append(f"{fname}('{key}={val}') -> SETTINGS {setting} = {val}")
        elif key.lower() == "topk" and batch:
            ctx.warnings.append(
                f"batch_distance('topK={val}') on {where}: ClickHouse has no per-query top-k "
                f"parameter; the parameter was dropped: add `LIMIT {val} BY <alias>.1` to keep "
                f"{val} rows per query")
        else:
            ctx.warnings.append(
                f"{fname}('{key}={val}') on {where}: search parameter '{key}' has no ClickHouse "
                f"equivalent and was dropped (ClickHouse's HNSW index knows only ef_s, as the "
                f"setting hnsw_candidate_list_size_for_search)")

    if not batch:
        # MyScale's L2 is squared: a bound it is compared with follows (a number: its square root;
        # anything else: the distance squared, pow(L2Distance(…), 2))
        use, k, root = distance_use(toks, i, args_close, math.sqrt) if metric == "L2" else ("plain", None, None)
        squared = use == "other"
        ctx.edits.append((toks[i].start, toks[args_open].start, f"pow({func}" if squared else func))
        if squared:
            ctx.edits.append((toks[args_close].end, toks[args_close].end, ", 2)"))
        note = f"distance({ctx.src(a0, b0)}, …) -> {func}: metric {metric} {source}"
        if metric == "L2":
            note += ("; MyScale reports the squared L2 distance, L2Distance its square root "
                     "(same order, other values)")
            if squared:
                note += ("; compared with a bound (or computed with, or through its alias), so squared as "
                         "MyScale's is: pow(L2Distance(…), 2)")
            elif use == "number":
                ctx.edits.append((toks[k].start, toks[k].end, root))
                note += f"; the bound {toks[k].text} it is compared with becomes its square root, {root}"
        if metric == "IP":
            note += ("; MyScale orders IP by the larger inner product (ORDER BY … DESC), "
                     "dotProduct keeps that order; ClickHouse's vector index has no inner-product "
                     "metric, so this is a full scan")
        ctx.notes.append(note)
        return args_close + 1

    # batch_distance: the query list must be an array of vectors
    if toks[a1].type == TokenType.L_BRACKET:
        first_inner = a1 + 1
        # a vector: an array literal, or the session's wire form of an EMBED vector (CAST('[…]', …))
        if first_inner < b1 and toks[first_inner].type != TokenType.L_BRACKET and \
                toks[first_inner].type != TokenType.R_BRACKET and not is_cast_vector(toks, first_inner):
            raise error(text, toks[a1], f"batch_distance on {where}: only a list of Float32 "
                                        f"vectors ([[…], […]]) can be translated for ClickHouse",
                        hint="binary vectors (unbin/char/unhex) have no ClickHouse vector search")
    alias = f"__embedsql_bq{ctx.batch_n}"
    ctx.batch_n += 1
    col_src = ctx.src(a0, b0)
    queries_src = ctx.src(a1, b1)
    rep = (f"arrayJoin(arrayMap((__q, __i) -> (toUInt32(__i - 1), toFloat32({func}({col_src}, __q))), "
           f"{queries_src} AS {alias}, arrayEnumerate({alias})))")
    ctx.edits.append((toks[i].start, toks[args_close].end, rep))
    ctx.notes.append(
        f"batch_distance({col_src}, …) -> arrayJoin over the query list: one row per (row, query), "
        f"Tuple(query index from 0, {func}) as MyScale returns; metric {metric} {source}; "
        f"ClickHouse's vector index does not serve this form (full scan)")
    return args_close + 1


def _metric_for(ctx: _Ctx, table: str | None, column: str) -> tuple[str, str]:
    cat = ctx.catalog
    if table and cat is not None:
        info = cat.vector_index(table, column)
        behind = cat.vector_indexes_behind(table, column) if hasattr(cat, "vector_indexes_behind") else []
        if len({i.metric for i in behind}) > 1:  # a Merge table over tables indexed differently
            raise TranslationError(
                f"distance() on {table}.{column}: the tables {table} reads have vector indexes of different "
                f"metrics ({', '.join(f'{i.name}: {i.metric}' for i in behind)}), and distance() takes the "
                f"index's metric: it has no one meaning here",
                hint="write the distance function you mean: cosineDistance(...) or L2Distance(...)")
        if info is not None and info.metric in METRIC_FUNCTION:
            return info.metric, f"from vector index {info.name} on {table}.{column}"
        if info is not None:
            raise TranslationError(
                f"vector index {info.name} on {table}.{column} uses metric {info.metric}, which "
                f"ClickHouse cannot compute", hint="binary metrics have no ClickHouse equivalent")
        setting = cat.table_setting(table, "float_vector_search_metric_type")
        metric = normalize_metric(setting)
        if metric in METRIC_FUNCTION:
            return metric, f"from table setting float_vector_search_metric_type of {table} (no vector index)"
    return "L2", (f"(MyScale's default: no vector index known on "
                  f"{table + '.' if table else ''}{column})")


# ---------------------------------------------------------------- vector index DDL

@dataclass
class _IndexDef:
    name_i: int
    col_a: int
    col_b: int
    type_a: int | None      # TYPE token index, None when omitted
    end: int                # index after the definition
    type_name: str
    params: list[str]
    if_not_exists: str      # '' or the original ' IF NOT EXISTS' text


def _read_index_def(ctx: _Ctx, k: int, *, on_table: bool = False):
    """Parse `[IF NOT EXISTS] name [ON t] col [TYPE X[(params)]]` starting at k. Returns
    (_IndexDef, table_parts or None)."""
    toks, n = ctx.toks, len(ctx.toks)
    ine = ""
    if k + 2 < n and toks[k].up == "IF" and toks[k + 1].up == "NOT" and toks[k + 2].up == "EXISTS":
        ine = " " + ctx.src(k, k + 3)
        k += 3
    if k >= n or not is_name(toks[k]):
        raise error(ctx.text, toks[min(k, n - 1)], "expected the vector index name")
    name_i = k
    k += 1
    table_parts = None
    if on_table:
        if k >= n or toks[k].type != TokenType.ON:
            raise error(ctx.text, toks[min(k, n - 1)], "expected ON <table> after the index name")
        table_parts, k2 = read_name(toks, k + 1)
        table_parts = (k + 1, k2)
        k = k2
    col_a = k
    d = toks[col_a].depth if col_a < n else 0
    while k < n and not (toks[k].depth == d and (toks[k].up == "TYPE" or toks[k].type in (
            TokenType.COMMA, TokenType.R_PAREN, TokenType.SEMICOLON, TokenType.SETTINGS))):
        k += 1
    col_b = k
    if col_b == col_a:
        raise error(ctx.text, toks[min(k, n - 1)], "expected the vector column after the index name")
    type_a, type_name, params = None, "DEFAULT", []
    if k < n and toks[k].up == "TYPE":
        type_a = k
        if k + 1 >= n or not is_name(toks[k + 1]):
            raise error(ctx.text, toks[k], "expected an index type after TYPE")
        type_name = toks[k + 1].up
        k += 2
        if k < n and toks[k].type == TokenType.L_PAREN:
            close = match_close(toks, k)
            for t in toks[k + 1:close]:
                if t.type == TokenType.STRING:
                    params.append(t.text)
                elif t.type != TokenType.COMMA:
                    raise error(ctx.text, t, f"vector index parameters must be 'key=value' strings, "
                                             f"got {t.text!r}")
            k = close + 1
    return _IndexDef(name_i, col_a, col_b, type_a, k, type_name, params, ine), table_parts


def _vector_similarity(ctx: _Ctx, d: _IndexDef, table: str | None, column: str, dim: int | None,
                       where_tok: Tok) -> str:
    """The ClickHouse `vector_similarity(...)` text for a MyScale index definition."""
    typ = d.type_name
    name = ctx.toks[d.name_i].text
    if typ in BINARY_INDEX_TYPES:
        raise error(ctx.text, where_tok, f"vector index {name}: binary index type {typ} has no "
                                         f"ClickHouse equivalent",
                    hint="ClickHouse's vector_similarity index works on Array(Float32) columns")
    if typ not in VECTOR_INDEX_TYPES:
        raise error(ctx.text, where_tok, f"vector index {name}: unknown MyScale index type {typ}",
                    hint="use one of " + ", ".join(sorted(VECTOR_INDEX_TYPES)))
    kv = parse_index_params(d.params)
    metric_raw = next((v for k, v in kv.items() if k.lower() == "metric_type"), None)
    if metric_raw is not None:
        metric = normalize_metric(metric_raw)
        if metric not in METRIC_FUNCTION:
            raise error(ctx.text, where_tok, f"vector index {name}: unknown metric_type {metric_raw!r}",
                        hint="metric_type is L2, Cosine or IP")
        source = "metric_type"
    else:
        setting = ctx.catalog.table_setting(table, "float_vector_search_metric_type") \
            if (table and ctx.catalog is not None) else None
        metric = normalize_metric(setting) or "L2"
        source = "table setting float_vector_search_metric_type" if setting else "MyScale's default metric"
    if metric == "IP":
        raise error(ctx.text, where_tok,
                    f"vector index {name} on {column}: metric_type=IP has no ClickHouse equivalent "
                    f"(vector_similarity supports only L2Distance and cosineDistance)",
                    hint="for unit-length vectors (CLIP embeddings, EMBED(...)) inner product and "
                         "Cosine give the same order: use 'metric_type=Cosine' and ORDER BY … ASC")
    if dim is None:
        raise error(ctx.text, where_tok,
                    f"vector index {name}: the dimension of column {column} is unknown "
                    f"(ClickHouse's vector_similarity index needs it)",
                    hint=f"add `CONSTRAINT {column}_len CHECK length({column}) = <dim>` to the "
                         f"table, as MyScale requires anyway")
    func = METRIC_FUNCTION[metric]
    args = ["'hnsw'", f"'{func}'", str(dim)]
    m = ef_c = None
    dropped = []
    for key, val in kv.items():
        lk = key.lower()
        if lk == "metric_type":
            continue
        if typ in HNSW_TYPES and lk == "m":
            m = val
        elif typ in HNSW_TYPES and lk == "ef_c":
            ef_c = val
        else:
            dropped.append(f"{key}={val}")
    if m is not None or ef_c is not None:
        # ClickHouse's defaults: quantization bf16, 32 connections per layer, 128 candidates
        args += ["'bf16'", m or "32", ef_c or "128"]
    if dropped:
        ctx.warnings.append(
            f"vector index {name}: parameter(s) {', '.join(dropped)} have no ClickHouse "
            f"equivalent and were dropped (vector_similarity takes only the HNSW m and ef_c)")
    ctx.notes.append(
        f"VECTOR INDEX {name} TYPE {typ} -> vector_similarity(HNSW, {func} ({metric}, from {source}), "
        f"dim {dim}{', m ' + m if m else ''}{', ef_c ' + ef_c if ef_c else ''})"
        + ("" if typ in HNSW_TYPES else f"; ClickHouse offers only HNSW, so {typ} becomes HNSW"))
    return "vector_similarity(" + ", ".join(args) + ")"


def _length_constraint_dim(ctx: _Ctx, column: str) -> int | None:
    toks = ctx.toks
    for k in range(len(toks) - 5):
        if toks[k].low == "length" and toks[k + 1].type == TokenType.L_PAREN and \
                toks[k + 2].text == column and toks[k + 3].type == TokenType.R_PAREN and \
                toks[k + 4].text in ("=", "==") and toks[k + 5].type == TokenType.NUMBER:
            try:
                return int(toks[k + 5].text)
            except ValueError:
                return None
    return None


def _alter_table(ctx: _Ctx) -> tuple[str, str] | None:
    """For an ALTER TABLE statement: (table name, original text of `t [ON CLUSTER c]`)."""
    toks = ctx.toks
    if len(toks) < 3 or toks[0].type != TokenType.ALTER or toks[1].type != TokenType.TABLE:
        return None
    parts, j = read_name(toks, 2)
    if not parts:
        return None
    end = j
    if j + 2 < len(toks) and toks[j].type == TokenType.ON and toks[j + 1].up == "CLUSTER":
        end = j + 3
    return ".".join(parts), ctx.src(2, end)


def _vector_index(ctx: _Ctx, i: int) -> int:
    toks, text = ctx.toks, ctx.text
    prev = toks[i - 1] if i > 0 else None
    vec, idx_tok = toks[i], toks[i + 1]
    head = toks[0]
    # CREATE VECTOR INDEX [IF NOT EXISTS] name ON t col TYPE ...
    if prev is not None and prev.type == TokenType.CREATE and i == 1:
        d, (ta, tb) = _read_index_def(ctx, i + 2, on_table=True)
        table = ".".join(p for p in read_name(toks, ta)[0])
        column = toks[d.col_a].text if d.col_b == d.col_a + 1 else ctx.src(d.col_a, d.col_b)
        dim = ctx.catalog.column_dim(table, column) if ctx.catalog is not None else None
        vs = _vector_similarity(ctx, d, table, column, dim, vec)
        name_src = toks[d.name_i].text if toks[d.name_i].type != TokenType.IDENTIFIER else ctx.src(d.name_i, d.name_i + 1)
        ctx.replace_with = [f"ALTER TABLE {ctx.src(ta, tb)} ADD INDEX{d.if_not_exists} "
                            f"{name_src} {ctx.src(d.col_a, d.col_b)} TYPE {vs}"]
        ctx.extra.append(f"ALTER TABLE {ctx.src(ta, tb)} MATERIALIZE INDEX {name_src}")
        ctx.notes.append(f"CREATE VECTOR INDEX {name_src} ON {table} -> ALTER TABLE … ADD INDEX, "
                         f"then ALTER TABLE … MATERIALIZE INDEX {name_src} to index the existing rows")
        return len(toks)
    # DROP VECTOR INDEX [IF EXISTS] name ON t
    if prev is not None and prev.type == TokenType.DROP and i == 1:
        k = i + 2
        ie = ""
        if k + 1 < len(toks) and toks[k].up == "IF" and toks[k + 1].up == "EXISTS":
            ie = " " + ctx.src(k, k + 2)
            k += 2
        name_i = k
        if k + 1 >= len(toks) or toks[k + 1].type != TokenType.ON:
            raise error(text, vec, "expected DROP VECTOR INDEX [IF EXISTS] name ON table")
        parts, j = read_name(toks, k + 2)
        ctx.replace_with = [f"ALTER TABLE {ctx.src(k + 2, j)} DROP INDEX{ie} {ctx.src(name_i, name_i + 1)}"]
        ctx.notes.append(f"DROP VECTOR INDEX {toks[name_i].text} ON {'.'.join(parts)} -> "
                         f"ALTER TABLE … DROP INDEX")
        return len(toks)
    # ALTER TABLE t ... DROP VECTOR INDEX [IF EXISTS] name
    if prev is not None and prev.type == TokenType.DROP:
        ctx.edits.append((vec.start, idx_tok.start, ""))
        ctx.notes.append("DROP VECTOR INDEX -> DROP INDEX")
        return i + 2
    # ALTER TABLE t ... ADD VECTOR INDEX ...
    if prev is not None and prev.up == "ADD" and head.type == TokenType.ALTER:
        alt = _alter_table(ctx)
        if alt is None:
            raise error(text, vec, "ADD VECTOR INDEX outside ALTER TABLE")
        table, table_src = alt
        d, _ = _read_index_def(ctx, i + 2)
        column = ctx.src(d.col_a, d.col_b)
        col_name = toks[d.col_a].text if d.col_b == d.col_a + 1 else column
        dim = ctx.catalog.column_dim(table, col_name) if ctx.catalog is not None else None
        vs = _vector_similarity(ctx, d, table, col_name, dim, vec)
        ctx.edits.append((vec.start, idx_tok.start, ""))
        if d.type_a is not None:
            ctx.edits.append((toks[d.type_a].start, toks[d.end - 1].end, f"TYPE {vs}"))
        else:
            ctx.edits.append((toks[d.col_b - 1].end, toks[d.col_b - 1].end, f" TYPE {vs}"))
        name_src = ctx.src(d.name_i, d.name_i + 1)
        ctx.extra.append(f"ALTER TABLE {table_src} MATERIALIZE INDEX {name_src}")
        ctx.notes.append(f"ADD VECTOR INDEX {toks[d.name_i].text} -> ADD INDEX, then "
                         f"ALTER TABLE {table_src} MATERIALIZE INDEX {name_src} to index the existing rows")
        return d.end
    # inline in CREATE TABLE: ( ... , VECTOR INDEX name col TYPE X(...) )
    if prev is not None and prev.type in (TokenType.COMMA, TokenType.L_PAREN) and head.type == TokenType.CREATE:
        d, _ = _read_index_def(ctx, i + 2)
        col_name = toks[d.col_a].text if d.col_b == d.col_a + 1 else ctx.src(d.col_a, d.col_b)
        dim = _length_constraint_dim(ctx, col_name)
        vs = _vector_similarity(ctx, d, None, col_name, dim, vec)
        ctx.edits.append((vec.start, idx_tok.start, ""))
        if d.type_a is not None:
            ctx.edits.append((toks[d.type_a].start, toks[d.end - 1].end, f"TYPE {vs}"))
        else:
            ctx.edits.append((toks[d.col_b - 1].end, toks[d.col_b - 1].end, f" TYPE {vs}"))
        return d.end
    return i + 2


# ---------------------------------------------------------------- system.vector_indices

def _vector_indices(ctx: _Ctx, i: int) -> None:
    toks = ctx.toks
    j = i + 3
    has_alias = j < len(toks) and (toks[j].type == TokenType.ALIAS or (
        toks[j].type in (TokenType.VAR, TokenType.IDENTIFIER) and toks[j].up not in ("FINAL", "SAMPLE")))
    rep = f"({VECTOR_INDICES_SUBQUERY})" + ("" if has_alias else " AS vector_indices")
    ctx.edits.append((toks[i].start, toks[i + 2].end, rep))
    ctx.notes.append("system.vector_indices -> a subquery over system.data_skipping_indices "
                     "(vector_similarity), system.mutations (MATERIALIZE INDEX progress/failures) "
                     "and system.parts, with MyScale's columns (status Built/InProgress/Error)")


__all__ = ["to_clickhouse", "METRIC_FUNCTION", "VECTOR_INDICES_SUBQUERY", "IndexInfo"]
