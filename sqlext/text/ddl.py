"""What the dialect bridge and the lints need to know about tables: vector indexes (type,
metric, dimension, parameters), vector column dimensions (from the `length(col) = N`
constraint), the embedding model a column was filled with, and table settings.

- `Catalog`: the protocol the bridge reads.
- `StaticCatalog`: dict-based, for tests and `migrate plan` (it can also `learn` from DDL text).
- The live catalog over a server is `sqlext.db.catalog.LiveCatalog`; it uses these parsers.

Table names are "db.t" or "t" (the current database); backquotes and double quotes around
either part are ignored.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Iterable, Protocol, runtime_checkable

from sqlext.errors import EmbedSQLError
from sqlext.text.tokens import Tokens, TokenType, is_name, match_close, read_name, split_args, tokenize

__all__ = [
    "IndexInfo", "Catalog", "StaticCatalog", "EmptyCatalog",
    "parse_vector_similarity", "parse_myscale_index", "parse_length_constraints",
    "parse_model_comment", "parse_table_settings", "parse_column_codecs", "split_table_name",
    "normalize_metric", "MODEL_COMMENT_PREFIX", "length_constraint_names", "quote_identifier", "qualified_name", "string_literal",
    "unquote_identifier", "parse_engine_target",
]

MODEL_COMMENT_PREFIX = "embedsql:"

_METRICS = {"COSINE": "Cosine", "L2": "L2", "IP": "IP", "HAMMING": "Hamming", "JACCARD": "Jaccard"}
_CH_FUNC_METRIC = {"cosinedistance": "Cosine", "l2distance": "L2", "l2squareddistance": "L2",
                   "dotproduct": "IP"}


def normalize_metric(value: str | None) -> str | None:
    """'cosine' / 'COSINE' / ' Cosine ' -> 'Cosine'; 'l2' -> 'L2'; 'ip' -> 'IP'; ClickHouse
    function names (cosineDistance, L2Distance) are accepted too. Unknown -> None."""
    if value is None:
        return None
    v = value.strip().strip("'\"").strip()
    if v.lower() in _CH_FUNC_METRIC:
        return _CH_FUNC_METRIC[v.lower()]
    return _METRICS.get(v.upper())


@dataclass(frozen=True)
class IndexInfo:
    """One vector index. `type`: MyScale's type name upper-cased (MSTG, HNSWFLAT, ...) or
    'HNSW' for a ClickHouse vector_similarity index; `metric`: 'Cosine' | 'L2' | 'IP'
    (MyScale's spelling); `dim`: the dimension when known; `params`: the other
    parameters as strings (MyScale's keys, e.g. {'m': '16'}; for ClickHouse the
    vector_similarity keys 'quantization', 'm', 'ef_c')."""

    name: str
    type: str
    metric: str
    dim: int | None = None
    params: dict = field(default_factory=dict)


@runtime_checkable
class Catalog(Protocol):
    """What the SQL text layer may ask about a database's tables (the live catalog on the db side
    and `StaticCatalog` both provide it). `table` is 'db.t' or 't' (the current database); each
    method returns None for what is not known."""

    def vector_index(self, table: str, column: str) -> IndexInfo | None:
        """The vector index on `table`.`column`, or None."""

    def column_dim(self, table: str, column: str) -> int | None:
        """The vector length (elements) of `table`.`column`, from its CHECK constraint or its index;
        None when unknown."""

    def column_model(self, table: str, column: str) -> str | None:
        """The model identity recorded for `table`.`column` (column comment), or None."""

    def table_setting(self, table: str, name: str) -> str | None:
        """The value of table setting `name` on `table` as text, or None when unset."""


def unquote_identifier(part: str) -> str:
    """`x` or "x" -> x; anything else unchanged (stripped)."""
    part = part.strip()
    if len(part) >= 2 and part[0] == part[-1] and part[0] in "`\"":
        return part[1:-1]
    return part


_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def quote_identifier(name: str, *, always: bool = False) -> str:
    """An identifier for SQL text: `name` as it is when it is a plain name (letters, digits, _),
    else (or with `always`) in backquotes with `\\` and `` ` `` escaped, as ClickHouse's own
    lexer reads them. The one identifier quoter; values are bound as server-side parameters."""
    if not always and _PLAIN_NAME.fullmatch(name):
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def qualified_name(table: str, *, always: bool = False) -> str:
    """'db.t' / 't' (quotes allowed) -> the same name quoted for SQL text (`quote_identifier`)."""
    db, t = split_table_name(table)
    return (quote_identifier(db, always=always) + "." if db else "") + quote_identifier(t, always=always)


def string_literal(value: str) -> str:
    """A ClickHouse string literal for SQL text people see and edit (the TUI writes EMBED('...')
    into the editor): single quotes, with `\\` and `'` escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@functools.lru_cache(maxsize=1024)
def split_table_name(table: str) -> tuple[str | None, str]:
    """'db.t' -> ('db', 't'); 't' -> (None, 't'); quotes removed. Text that is not a (dotted)
    name comes back as the table name, unquoted."""
    try:
        toks = tokenize(table).tokens
    except EmbedSQLError:
        toks = []
    parts, j = read_name(toks, 0) if toks else ([], 0)
    if parts and j == len(toks) and len(parts) <= 2:
        return (parts[0], parts[1]) if len(parts) == 2 else (None, parts[0])
    return None, unquote_identifier(table)


# ---------------------------------------------------------------- parsers (pure functions, over tokens)

def _lex(text: "str | Tokens | None") -> Tokens | None:
    if isinstance(text, Tokens):
        return text
    try:
        return tokenize(text or "")
    except EmbedSQLError:
        return None


def _length_checks(t: Tokens) -> list[tuple[str | None, str, int]]:
    """(constraint name or None, column, N) of each `[CONSTRAINT name] CHECK length(col) = N`."""
    out = []
    toks = t.tokens
    n = len(toks)
    for k, tok in enumerate(toks):
        if tok.up != "CHECK" or tok.type == TokenType.IDENTIFIER:
            continue
        j = k + 1
        while j < n and toks[j].type == TokenType.L_PAREN:
            j += 1
        if (j + 5 < n and toks[j].low == "length" and toks[j + 1].type == TokenType.L_PAREN
                and is_name(toks[j + 2]) and toks[j + 3].type == TokenType.R_PAREN
                and toks[j + 4].text in ("=", "==") and toks[j + 5].type == TokenType.NUMBER
                and toks[j + 5].text.isdigit()):
            named = k >= 2 and toks[k - 2].up == "CONSTRAINT" and is_name(toks[k - 1])
            out.append((toks[k - 1].text if named else None, toks[j + 2].text, int(toks[j + 5].text)))
    return out


def parse_length_constraints(create_table_query: "str | Tokens") -> dict[str, int]:
    """`CONSTRAINT x CHECK length(col) = N` clauses of a CREATE TABLE text -> {col: N}."""
    t = _lex(create_table_query)
    return {} if t is None else {col: dim for _, col, dim in _length_checks(t)}


def length_constraint_names(create_table_query: "str | Tokens", column: str) -> list[str]:
    """Names (unquoted) of the `CONSTRAINT name CHECK length(column) = N` clauses on `column` in a
    CREATE TABLE text, in order ([] when there is none or the text does not lex)."""
    t = _lex(create_table_query)
    return [] if t is None else [name for name, col, _ in _length_checks(t) if name and col == column]


def _value(t: Tokens, a: int, b: int) -> str:
    """A setting or argument value: a lone string literal's value, else the text as written."""
    if b == a + 1 and t[a].type in (TokenType.STRING, TokenType.HEREDOC_STRING):
        return t[a].text
    return t.src(a, b)


def parse_table_settings(create_table_query: "str | Tokens") -> dict[str, str]:
    """The table-level `SETTINGS a = 1, b = 'x'` of a CREATE TABLE text -> {'a': '1', 'b': 'x'}."""
    t = _lex(create_table_query)
    out: dict[str, str] = {}
    if t is None:
        return out
    toks = t.tokens
    n = len(toks)
    for k, tok in enumerate(toks):
        if tok.type != TokenType.SETTINGS or tok.depth != 0:
            continue
        j = k + 1
        while j + 2 < n and is_name(toks[j]) and toks[j + 1].type == TokenType.EQ:
            e = j + 2
            while e < n and not (toks[e].depth == 0 and toks[e].type in (TokenType.COMMA, TokenType.COMMENT)):
                e += 1
            out[toks[j].text] = _value(t, j + 2, e)
            if e < n and toks[e].type == TokenType.COMMA:
                j = e + 1
            else:
                break
    return out


_NOT_COLUMNS = frozenset({"INDEX", "CONSTRAINT", "PROJECTION", "PRIMARY", "STATISTICS"})


def parse_column_codecs(create_table_query: "str | Tokens") -> dict[str, str]:
    """The compression codecs declared in a CREATE TABLE's column list -> {column: codec text as
    written inside `CODEC(...)`}, e.g. {'v': 'NONE', 'w': 'Delta, ZSTD(3)'}. Columns without a
    CODEC clause (the server's default compression, LZ4 unless configured) are left out; {} when
    the text does not lex or has no column list."""
    t = _lex(create_table_query)
    out: dict[str, str] = {}
    if t is None:
        return out
    toks = t.tokens
    n = len(toks)
    start = next((k for k, tok in enumerate(toks) if tok.type == TokenType.L_PAREN and tok.depth == 0), None)
    if start is None:
        return out
    column, first = None, True
    for k in range(start + 1, n):
        tok = toks[k]
        if tok.depth == 0:
            break
        if tok.depth != 1:
            continue
        if first:
            column = (tok.text if is_name(tok) and (tok.type == TokenType.IDENTIFIER or tok.up not in _NOT_COLUMNS)
                      else None)  # (a quoted `index` is a column; a bare INDEX starts an index)
            first = False
        elif tok.type == TokenType.COMMA:
            first = True
        elif column and tok.up == "CODEC" and k + 1 < n and toks[k + 1].type == TokenType.L_PAREN:
            close = match_close(toks, k + 1)
            if close > k + 1:
                out[column] = t.src(k + 2, close).strip()
    return out


def _call_args(t: Tokens, name_i: int) -> list[str] | None:
    """The arguments of the call whose name is at name_i, as values (see `_value`)."""
    toks = t.tokens
    if name_i + 1 >= len(toks) or toks[name_i + 1].type != TokenType.L_PAREN:
        return None
    close = match_close(toks, name_i + 1)
    if close < 0:
        return None
    return [_value(t, a, b) for a, b in split_args(toks, name_i + 1, close) if b > a]


def parse_vector_similarity(type_full: str, name: str = "") -> IndexInfo | None:
    """ClickHouse `vector_similarity('hnsw', 'cosineDistance', 512[, 'bf16', 16, 100])` -> IndexInfo."""
    t = _lex(type_full)
    if t is None:
        return None
    k = next((k for k, x in enumerate(t.tokens) if x.low == "vector_similarity"), None)
    args = _call_args(t, k) if k is not None else None
    if not args or len(args) < 3:
        return None
    metric = normalize_metric(args[1]) or args[1]
    try:
        dim = int(args[2])
    except ValueError:
        dim = None
    params: dict[str, str] = {"method": args[0]}
    for key, val in zip(("quantization", "m", "ef_c"), args[3:]):
        params[key] = val
    return IndexInfo(name=name, type=args[0].upper(), metric=metric, dim=dim, params=params)


def parse_engine_target(engine_full: "str | None") -> tuple[str, dict] | None:
    """Where a table that reads other tables gets its rows, from system.tables.engine_full:
    `Distributed('c', 'db', 'local'[, key])` -> ("Distributed", {"database": "db", "table": "local"});
    `Merge('db', '^re')` -> ("Merge", {"database": "db", "table_regexp": "^re"}), or with
    `REGEXP('^d')` as the database -> {"database_regexp": "^d", ...}. None for other engines or
    arguments that are not literals (the server writes them as literals in engine_full)."""
    t = _lex(engine_full or "")
    if t is None or not t.tokens or t.tokens[0].up not in ("DISTRIBUTED", "MERGE"):
        return None
    toks = t.tokens
    engine = "Distributed" if toks[0].up == "DISTRIBUTED" else "Merge"
    if len(toks) < 2 or toks[1].type != TokenType.L_PAREN:
        return None
    close = match_close(toks, 1)
    if close < 0:
        return None
    spans = [(a, b) for a, b in split_args(toks, 1, close) if b > a]
    args = [_value(t, a, b) for a, b in spans]
    if engine == "Distributed":
        if len(args) < 3:
            return None
        return engine, {"database": unquote_identifier(args[1]), "table": unquote_identifier(args[2])}
    if len(args) != 2:
        return None
    a, b = spans[0]
    if toks[a].up == "REGEXP" and b - a >= 3:
        inner = _call_args(t, a)
        if not inner:
            return None
        db = {"database_regexp": inner[0]}
    else:
        db = {"database": unquote_identifier(args[0])}
    return engine, {**db, "table_regexp": args[1]}


def parse_index_params(args: Iterable[str]) -> dict[str, str]:
    """MyScale index/search parameters ('k=v' strings, or one JSON object) -> {k: v}."""
    args = list(args)
    out: dict[str, str] = {}
    if len(args) == 1 and "=" not in args[0] and args[0].strip().startswith("{"):
        try:
            obj = json.loads(args[0])
            return {str(k): str(v) for k, v in obj.items()}
        except (ValueError, AttributeError):
            return out
    for a in args:
        if "=" in a:
            k, v = a.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def parse_myscale_index(name: str, type_: str, expr: str,
                        default_metric: str = "L2") -> tuple[str | None, IndexInfo]:
    """A row of MyScale's system.vector_indices -> (column, IndexInfo). `expr` echoes the DDL
    (`[name] col TYPE hnswflat('metric_type=Cosine', 'm=16')`), or is just the column."""
    column = None
    params: dict[str, str] = {}
    t = _lex(expr)
    toks = t.tokens if t is not None else []
    type_at = next((k for k, x in enumerate(toks) if x.depth == 0 and x.up == "TYPE"), None)
    if type_at is not None and type_at >= 1 and is_name(toks[type_at - 1]) and type_at + 1 < len(toks):
        column = toks[type_at - 1].text
        type_ = type_ or toks[type_at + 1].text
        args = _call_args(t, type_at + 1)
        if args:
            params = parse_index_params(args)
    elif toks and len(toks) == 1 and is_name(toks[0]):
        column = toks[0].text
    lowered = {k.lower(): v for k, v in params.items()}
    metric = normalize_metric(lowered.get("metric_type")) or normalize_metric(default_metric) or "L2"
    params = {k: v for k, v in params.items() if k.lower() != "metric_type"}
    return column, IndexInfo(name=name, type=(type_ or "DEFAULT").upper(), metric=metric, params=params)


def parse_model_comment(comment: str | None) -> dict[str, str]:
    """`embedsql:model=openai/clip-vit-base-patch32;dim=512` (anywhere in the comment) -> dict."""
    if not comment:
        return {}
    idx = comment.find(MODEL_COMMENT_PREFIX)
    if idx < 0:
        return {}
    body = comment[idx + len(MODEL_COMMENT_PREFIX):].split()[0] if comment[idx + len(MODEL_COMMENT_PREFIX):].strip() else ""
    out = {}
    for part in body.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


# ---------------------------------------------------------------- static catalog

class StaticCatalog:
    """Dict-based catalog. Keys are (table, column) with table "db.t" or "t"; a lookup of
    "t" also finds "<database>.t" and the other way round.

        StaticCatalog(indexes={("photos", "v"): IndexInfo("i", "MSTG", "Cosine", 512)},
                      dims={("photos", "v"): 512}, models={("photos", "v"): "openai/clip..."},
                      settings={("photos", "float_vector_search_metric_type"): "Cosine"})
    """

    def __init__(self, indexes=None, dims=None, models=None, settings=None, *, database: str = "default"):
        self.database = database
        self._indexes: dict = {}
        self._dims: dict = {}
        self._models: dict = {}
        self._settings: dict = {}
        self._text: set = set()
        for src, dst in ((indexes, self._indexes), (dims, self._dims), (models, self._models),
                         (settings, self._settings)):
            for (t, c), v in (src or {}).items():
                dst[(self._key(t), c)] = v

    def _key(self, table: str) -> str:
        db, t = split_table_name(table)
        return f"{db or self.database}.{t}"

    def add_index(self, table: str, column: str, info: IndexInfo) -> None:
        """Record vector index `info` on `table`.`column` (replacing one there)."""
        self._indexes[(self._key(table), column)] = info

    def drop_index(self, table: str, name: str) -> None:
        """Forget the index named `name` on `table` (nothing when there is none)."""
        key = self._key(table)
        for k, v in list(self._indexes.items()):
            if k[0] == key and v.name == name:
                del self._indexes[k]

    def set_dim(self, table: str, column: str, dim: int) -> None:
        """Record that `table`.`column` holds vectors of `dim` elements."""
        self._dims[(self._key(table), column)] = dim

    def set_model(self, table: str, column: str, model: str) -> None:
        """Record model identity `model` for `table`.`column`."""
        self._models[(self._key(table), column)] = model

    def set_setting(self, table: str, name: str, value: str) -> None:
        """Record table setting `name` = `value` (text) on `table`."""
        self._settings[(self._key(table), name)] = value

    def vector_index(self, table: str, column: str) -> IndexInfo | None:
        """The index recorded on `table`.`column`, or None."""
        return self._indexes.get((self._key(table), column))

    def vector_indexes(self, table: str) -> dict[str, IndexInfo]:
        """Every index recorded on `table`: column -> IndexInfo ({} when none)."""
        key = self._key(table)
        return {c: v for (t, c), v in self._indexes.items() if t == key}

    def column_dim(self, table: str, column: str) -> int | None:
        """The recorded vector length of `table`.`column`, else its index's `dim`, else None."""
        dim = self._dims.get((self._key(table), column))
        if dim is None:
            info = self.vector_index(table, column)
            dim = info.dim if info else None
        return dim

    def column_model(self, table: str, column: str) -> str | None:
        """The recorded model identity of `table`.`column`, or None."""
        return self._models.get((self._key(table), column))

    def table_setting(self, table: str, name: str) -> str | None:
        """The recorded value of table setting `name` on `table`, or None."""
        return self._settings.get((self._key(table), name))

    def add_text_tokens(self, table: str, column: str) -> None:
        """Record that `column` has a stored FTS token column (`<column>__tokens`)."""
        self._text.add((self._key(table), column))

    def text_tokens_column(self, table: str, column: str) -> str | None:
        """`<column>__tokens` when recorded with `add_text_tokens`, else None."""
        return f"{column}__tokens" if (self._key(table), column) in self._text else None

    def invalidate(self, table: str | None = None) -> None:
        """Nothing cached: a no-op, so code can call it on any catalog."""


class EmptyCatalog(StaticCatalog):
    """Knows nothing: every lookup returns None."""

    def __init__(self):
        super().__init__()
