"""Rendering migration statements for a target: the dialect bridge, then (with --cluster) the
cluster layout. Pure functions over text; nothing here talks to a database.

Cluster layout (`--cluster NAME`), for each table a migration creates (a "sharded" table T):
- `CREATE TABLE T (...) ENGINE = <X>MergeTree(args) ...` becomes
  `CREATE TABLE T_local ON CLUSTER NAME (...) ENGINE = Replicated<X>MergeTree(
  '/clickhouse/tables/{shard}/{database}/{table}', '{replica}', args) ...` and
  `CREATE TABLE T ON CLUSTER NAME (<the columns and constraints>) ENGINE = Distributed(NAME, db,
  T_local, cityHash64(<first ORDER BY column>))`; queries and inserts use T, as on one server.
- `ALTER TABLE T` index commands (ADD/DROP/MATERIALIZE [VECTOR] INDEX) and mutations go to
  `T_local ON CLUSTER NAME`; column commands go to both (T_local first).
- `DROP TABLE T` drops T and T_local ON CLUSTER (SYNC).
- Other DDL (CREATE/ALTER/DROP of tables no migration created) gets `ON CLUSTER NAME`; SELECT,
  INSERT, SET and SYSTEM statements are left as written.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlext.errors import TranslationError
from sqlext.text.ddl import (
    IndexInfo, StaticCatalog, normalize_metric, parse_length_constraints, parse_model_comment,
    parse_vector_similarity, quote_identifier,
)
from sqlext.text.ddl import split_table_name as split_name
from sqlext.text.tokens import Token, Tokens, TokenType, is_name, match_close, read_name, split_args, tokenize

# Statements are read from their tokens (sqlext.text.tokens, the one lexer): commas, parentheses
# and keywords inside strings or comments never count.


def _lex(sql: "str | Tokens") -> Tokens:
    return sql if isinstance(sql, Tokens) else tokenize(sql)


def strip_leading_comments(sql: "str | Tokens") -> str:
    """The statement text from its first token on (comments and whitespace before it removed)."""
    t = _lex(sql)
    return t.text[t[0].start:] if len(t) else ""


def _table_key(name: str) -> str:
    return split_name(name)[1]


def _words(toks: list[Token], i: int, *words: str) -> bool:
    """Whether toks[i:] starts with these words (upper case; quoted identifiers never match)."""
    if i + len(words) > len(toks):
        return False
    return all(toks[i + k].type != TokenType.IDENTIFIER and toks[i + k].up == w for k, w in enumerate(words))


def _skip(toks: list[Token], i: int, *words: str) -> int:
    """i moved past these words when they come next."""
    return i + len(words) if _words(toks, i, *words) else i


@dataclass
class _Name:
    """A table name in a statement: its text as written and the token range [a, b)."""

    text: str
    a: int
    b: int


def _name_at(t: Tokens, i: int) -> _Name | None:
    parts, j = read_name(t.tokens, i)
    if not parts:
        return None
    return _Name(t.src(i, j), i, j)


def _on_cluster(toks: list[Token], i: int) -> int:
    """Index after `ON CLUSTER name` when it comes next at i, else i."""
    if _words(toks, i, "ON", "CLUSTER") and i + 2 < len(toks) and is_name(toks[i + 2]):
        return i + 3
    return i


@dataclass
class CreateTable:
    """A CREATE TABLE statement cut into the pieces the cluster rewrite needs, each as written:
    `name`, `head` (up to the name), `body` (between the parentheses) and its column list
    `items`, `engine` and `engine_args` (ENGINE = X(args); None and '' when absent),
    `after_engine` (ORDER BY, SETTINGS, ...), `tail` (everything after the closing parenthesis),
    and `spans`: the items' token ranges [a, b) in the statement's tokens (the `Tokens` given to
    `parse_create`, or the ones it lexed from the text)."""

    name: str             # as written
    body: str             # between the parentheses
    head: str             # "CREATE TABLE [IF NOT EXISTS] "
    tail: str             # after the closing parenthesis
    engine: str | None
    engine_args: str      # inside ENGINE = X(...), "" if none
    after_engine: str     # text after the ENGINE clause
    items: list[str] = field(default_factory=list)   # the column list's items, as written
    spans: list[tuple[int, int]] = field(default_factory=list)  # their token ranges


def parse_create(sql: "str | Tokens") -> CreateTable | None:
    """`CREATE [OR REPLACE] TABLE [IF NOT EXISTS] name [ON CLUSTER c] (...) [ENGINE = X(...)] ...`;
    None for any other statement (CREATE TABLE ... AS ... included)."""
    t = _lex(sql)
    toks, text = t.tokens, t.text
    if not _words(toks, 0, "CREATE"):
        return None
    i = _skip(toks, 1, "OR", "REPLACE")
    if not _words(toks, i, "TABLE"):
        return None
    i += 1
    ine = _words(toks, i, "IF", "NOT", "EXISTS")
    i = _skip(toks, i, "IF", "NOT", "EXISTS")
    name = _name_at(t, i)
    if name is None:
        return None
    i = _on_cluster(toks, name.b)
    if i >= len(toks) or toks[i].type != TokenType.L_PAREN:
        return None
    close = match_close(toks, i)
    if close < 0:
        raise TranslationError("unbalanced parentheses", hint="check the statement's ( and )")
    body = text[toks[i].end:toks[close].start]
    spans = [(a, b) for a, b in split_args(toks, i, close) if b > a]
    items = [t.src(a, b) for a, b in spans]
    tail = text[toks[close].end:]
    engine, args, after = None, "", tail
    k = close + 1
    if _words(toks, k, "ENGINE") and k + 2 < len(toks) and toks[k + 1].type == TokenType.EQ \
            and is_name(toks[k + 2]):
        engine = toks[k + 2].text
        if k + 3 < len(toks) and toks[k + 3].type == TokenType.L_PAREN:
            c2 = match_close(toks, k + 3)
            if c2 < 0:
                raise TranslationError("unbalanced parentheses", hint="check the statement's ( and )")
            args, after = text[toks[k + 3].end:toks[c2].start], text[toks[c2].end:]
        else:
            after = text[toks[k + 2].end:]
    head = "CREATE TABLE " + ("IF NOT EXISTS " if ine else "")
    return CreateTable(name.text, body, head, tail, engine, args.strip(), after, items, spans)


@dataclass
class _Alter:
    name: _Name
    rest: str                           # the commands as written
    commands: list[tuple[int, int]]     # token ranges of the comma-separated commands


def _parse_alter(t: Tokens) -> _Alter | None:
    toks = t.tokens
    if not _words(toks, 0, "ALTER", "TABLE"):
        return None
    name = _name_at(t, 2)
    if name is None:
        return None
    i = _on_cluster(toks, name.b)
    if i >= len(toks):
        return None
    cmds, a = [], i
    for k in range(i, len(toks)):
        if toks[k].type == TokenType.COMMA and toks[k].depth == 0:
            cmds.append((a, k))
            a = k + 1
    cmds.append((a, len(toks)))
    return _Alter(name, t.text[toks[i].start:], [(x, y) for x, y in cmds if y > x])


# ---------------------------------------------------------------- what a migration creates

def created_tables(sql: "str | Tokens") -> list[str]:
    """The table a statement creates ([name as written] for CREATE TABLE with a column list), else
    []."""
    ct = parse_create(sql)
    return [ct.name] if ct else []


def _index_name(toks: list[Token], i: int) -> tuple[str | None, int]:
    """`[IF NOT EXISTS] name` at i -> (name unquoted, index after it)."""
    i = _skip(toks, i, "IF", "NOT", "EXISTS")
    if i < len(toks) and is_name(toks[i]):
        return toks[i].text, i + 1
    return None, i


def _vector_item(toks: list[Token], a: int, b: int) -> str | None:
    """The index name when tokens [a, b) are `VECTOR INDEX i ...`, or `INDEX i ...` whose TYPE is
    vector_similarity (a column-list item, or an ALTER command after its ADD); else None."""
    vector = _words(toks, a, "VECTOR", "INDEX")
    if not (vector or _words(toks, a, "INDEX")):
        return None
    idx, _ = _index_name(toks, a + (2 if vector else 1))
    return idx if idx and (vector or any(x.low == "vector_similarity" for x in toks[a:b])) else None


def _fts_item(toks: list[Token], a: int, b: int) -> str | None:
    """The column when tokens [a, b) are `INDEX [IF NOT EXISTS] i col TYPE fts ...` (a column-list
    item, or an ALTER command after its ADD); else None."""
    if not _words(toks, a, "INDEX"):
        return None
    _, j = _index_name(toks, a + 1)
    if j + 2 < b and is_name(toks[j]) and _words(toks, j + 1, "TYPE") and toks[j + 2].low == "fts":
        return toks[j].text
    return None


def _vector_index_defs(t: Tokens) -> list[tuple[str, str, int, int]]:
    """(table as written, index name, first token, end token) of every vector index a (MyScale or
    ClickHouse) statement adds: CREATE VECTOR INDEX, ALTER TABLE ... ADD [VECTOR] INDEX, and
    [VECTOR] INDEX items of CREATE TABLE (a ClickHouse INDEX counts when its TYPE is
    vector_similarity)."""
    toks = t.tokens
    if _words(toks, 0, "CREATE", "VECTOR", "INDEX"):
        idx, j = _index_name(toks, 3)
        if idx and _words(toks, j, "ON"):
            name = _name_at(t, j + 1)
            if name is not None:
                return [(name.text, idx, 0, len(toks))]
        return []
    alter = _parse_alter(t)
    if alter is not None:
        return [(alter.name.text, idx, a, b) for a, b in alter.commands
                if _words(toks, a, "ADD") and (idx := _vector_item(toks, a + 1, b))]
    ct = parse_create(t)
    if ct is None:
        return []
    return [(ct.name, idx, a, b) for a, b in ct.spans if (idx := _vector_item(toks, a, b))]


def _fts_columns(t: Tokens) -> list[tuple[str, str]]:
    """(table as written, column) of every full-text index (`INDEX i col TYPE fts`) a MyScale
    CREATE TABLE or ALTER TABLE ... ADD INDEX defines."""
    toks = t.tokens
    alter = _parse_alter(t)
    if alter is not None:
        return [(alter.name.text, col) for a, b in alter.commands
                if _words(toks, a, "ADD") and (col := _fts_item(toks, a + 1, b))]
    ct = parse_create(t)
    if ct is None:
        return []
    return [(ct.name, col) for a, b in ct.spans if (col := _fts_item(toks, a, b))]


def vector_indexes(sql: "str | Tokens") -> list[tuple[str, str]]:
    """(table, index) of every vector index a (MyScale or ClickHouse) statement adds."""
    return [(table, idx) for table, idx, _, _ in _vector_index_defs(_lex(sql))]


def _index_info(t: Tokens, index: str, a: int, b: int, catalog: StaticCatalog, table: str
                ) -> tuple[str | None, IndexInfo | None]:
    """The column and IndexInfo of `[VECTOR] INDEX index col TYPE X(params)` within tokens [a, b)."""
    toks = t.tokens
    for k in range(a, b - 2):
        if toks[k].text == index and is_name(toks[k]) and toks[k + 2].up == "TYPE" and is_name(toks[k + 1]):
            col = toks[k + 1].text
            typ = toks[k + 3].up if k + 3 < b else "DEFAULT"
            if typ == "VECTOR_SIMILARITY":
                close = match_close(toks, k + 4) if k + 4 < b and toks[k + 4].type == TokenType.L_PAREN else -1
                vs = parse_vector_similarity(t.src(k + 3, close + 1), index) if close > 0 else None
                if vs is not None:
                    return col, vs
            metric = "L2"
            for x in toks[k + 3:b]:
                if x.type == TokenType.STRING and x.text.replace(" ", "").lower().startswith("metric_type="):
                    metric = normalize_metric(x.text.split("=", 1)[1]) or metric
            return col, IndexInfo(index, typ, metric, catalog.column_dim(table, col))
    return None, None


def _learn_comment(catalog: StaticCatalog, table: str, toks: list[Token], a: int, b: int) -> None:
    """The model and dimension a column definition's `COMMENT 'embedsql:model=...'` (tokens
    [a, b), the column's name at a) records; the dimension only where none is known yet."""
    for k in range(a + 1, b - 1):
        if toks[k].up == "COMMENT" and toks[k + 1].type == TokenType.STRING:
            col = toks[a].text
            meta = parse_model_comment(toks[k + 1].text)
            if meta.get("model"):
                catalog.set_model(table, col, meta["model"])
            if meta.get("dim", "").isdigit() and catalog.column_dim(table, col) is None:
                catalog.set_dim(table, col, int(meta["dim"]))
            return


def learn(catalog: StaticCatalog, sql: "str | Tokens") -> None:
    """Teach a StaticCatalog what a MyScale statement creates: vector column dimensions (from
    `CHECK length(col) = N`), models (from `COMMENT 'embedsql:model=...'`), vector indexes, and
    full-text indexes (on ClickHouse the bridge stores their tokens in `<col>__tokens`, which
    TextSearch in a later migration then reads)."""
    t = _lex(sql)
    toks = t.tokens
    ct = parse_create(t)
    if ct:
        # one pass over the column list: models and dimensions from column comments, and the
        # indexes (learned after it, so that an index sees every column's dimension)
        for col, dim in parse_length_constraints(t).items():
            catalog.set_dim(ct.name, col, dim)
        vector_defs = []
        for a, b in ct.spans:
            if idx := _vector_item(toks, a, b):
                vector_defs.append((ct.name, idx, a, b))
            elif col := _fts_item(toks, a, b):
                catalog.add_text_tokens(ct.name, col)
            elif is_name(toks[a]):
                _learn_comment(catalog, ct.name, toks, a, b)
    else:
        vector_defs = _vector_index_defs(t)
        for table, col in _fts_columns(t):
            catalog.add_text_tokens(table, col)
    for table, index, a, b in vector_defs:
        col, info = _index_info(t, index, a, b, catalog, table)
        if col and info is not None:
            catalog.add_index(table, col, info)
    alter = _parse_alter(t)
    if alter is not None:
        for a, b in alter.commands:
            vector = _words(toks, a, "DROP", "VECTOR", "INDEX")
            if vector or _words(toks, a, "DROP", "INDEX"):
                j = _skip(toks, a + (3 if vector else 2), "IF", "EXISTS")
                if j < b and is_name(toks[j]):
                    catalog.drop_index(alter.name.text, toks[j].text)


# ---------------------------------------------------------------- dialect bridge

def translate_step(sql: "str | Tokens", dialect: str, catalog) -> tuple[list[str], list[str], list[str]]:
    """The bridge: (statements, notes, warnings)."""
    from sqlext.text import dialects

    tr = dialects.translate(sql, target=dialect, catalog=catalog)
    out = [s.strip().rstrip(";").rstrip() for s in tr.statements]
    return [s for s in out if s], list(tr.notes), list(tr.warnings)


# ---------------------------------------------------------------- cluster layout

@dataclass
class Cluster:
    """The layout `migrate --cluster NAME` renders for: the cluster `name`, the `database` the
    tables live in, the `sharded` tables (bare names of the tables the migrations create: each
    becomes a replicated `<name><local_suffix>` table on every shard plus a Distributed table of
    the name)."""

    name: str
    database: str = "default"
    sharded: set = field(default_factory=set)   # bare table names created by the migrations
    local_suffix: str = "_local"

    @property
    def on(self) -> str:
        """` ON CLUSTER <name>` (with a leading space) for DDL run on every node."""
        return f" ON CLUSTER {quote_identifier(self.name)}"

    def local(self, name: str) -> str:
        """The per-shard table of a sharded table `name` ('db.t' or 't'), quoted: `t_local` by
        default."""
        db, t = split_name(name)
        return (quote_identifier(db) + "." if db else "") + quote_identifier(t + self.local_suffix)

    def is_sharded(self, name: str) -> bool:
        """Whether table `name` ('db.t' or 't') is one the migrations create (and so sharded)."""
        return _table_key(name) in self.sharded


REPLICA_PATH = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"


def replicated_engine(engine: str | None, args: str, path_args: str = REPLICA_PATH) -> str:
    """The Replicated form of a *MergeTree engine, as text: `Replicated<engine>(<path_args>[,
    <args>])` (engine None: MergeTree; an engine already Replicated is kept). Raises
    TranslationError for an engine that is not a MergeTree."""
    engine = engine or "MergeTree"
    if engine.startswith("Replicated"):
        return f"{engine}({args})" if args else engine
    if not engine.endswith("MergeTree"):
        raise TranslationError(f"--cluster: cannot replicate a table with ENGINE = {engine}",
                               hint="use a *MergeTree engine, or create that table outside migrations")
    inner = path_args + (f", {args}" if args else "")
    return f"Replicated{engine}({inner})"


def _sharding_key(after_engine: str) -> str:
    """cityHash64 of the first ORDER BY column (an expression as written), rand() without one."""
    t = tokenize(after_engine)
    toks = t.tokens
    k = next((k for k, x in enumerate(toks) if x.type == TokenType.ORDER_BY and x.depth == 0), None)
    if k is None or k + 1 >= len(toks):
        return "rand()"
    a = k + 1
    if toks[a].type == TokenType.L_PAREN:
        close = match_close(toks, a)
        args = split_args(toks, a, close) if close > 0 else []
        if not args or args[0][1] <= args[0][0]:
            return "rand()"
        expr = t.src(*args[0])
    else:
        parts, b = read_name(toks, a)
        if not parts:
            return "rand()"
        if b < len(toks) and toks[b].type == TokenType.L_PAREN:
            b = match_close(toks, b) + 1
            if b <= 0:
                return "rand()"
        expr = t.src(a, b)
    if not expr or expr.replace(" ", "").lower() == "tuple()":
        return "rand()"
    return f"cityHash64({expr})"


_COLUMN_CMDS = ("ADD", "DROP", "MODIFY", "RENAME", "COMMENT", "CLEAR")
_OTHER_DDL = ("TABLE", "VIEW", "DICTIONARY", "DATABASE", "FUNCTION")


def _is_column_command(toks: list[Token], a: int) -> bool:
    return any(_words(toks, a, w, "COLUMN") for w in _COLUMN_CMDS)


def _other_ddl_head(toks: list[Token]) -> int | None:
    """For CREATE/DROP of a table, view, dictionary, database or function, and TRUNCATE: the
    index after the object's name, where ON CLUSTER goes. None for anything else."""
    i = 0
    if _words(toks, 0, "TRUNCATE"):
        i = _skip(toks, _skip(toks, 1, "TABLE"), "DATABASE")
        i = _skip(toks, i, "IF", "EXISTS")
    elif _words(toks, 0, "CREATE") or _words(toks, 0, "DROP"):
        i = _skip(toks, 1, "OR", "REPLACE")
        i = _skip(toks, i, "TEMPORARY")
        if _words(toks, i, "MATERIALIZED", "VIEW"):
            i += 2
        elif i < len(toks) and toks[i].up in _OTHER_DDL:
            i += 1
        else:
            return None
        i = _skip(toks, i, "IF", "NOT", "EXISTS")
        i = _skip(toks, i, "IF", "EXISTS")
    else:
        return None
    parts, j = read_name(toks, i)
    return j if parts else None


def cluster_statements(sql: "str | Tokens", cluster: Cluster) -> list[str]:
    """One rendered (already translated) statement -> the statements to run on the cluster."""
    text = strip_leading_comments(sql).strip()
    t = tokenize(text)
    toks = t.tokens
    ct = parse_create(t)
    if ct:
        if not cluster.is_sharded(ct.name):
            return [f"{ct.head}{ct.name}{cluster.on}\n({ct.body}){ct.tail}"]
        engine = replicated_engine(ct.engine, ct.engine_args)
        local = (f"{ct.head}{cluster.local(ct.name)}{cluster.on}\n({ct.body})\n"
                 f"ENGINE = {engine}{_norm_after(ct.after_engine)}")
        cols = [c for c in ct.items if not re.match(r"^(?:VECTOR\s+)?INDEX\b|^PROJECTION\b", c, re.I)]
        db, tb = split_name(ct.name)
        dist = (f"{ct.head}{ct.name}{cluster.on}\n(\n    " + ",\n    ".join(cols) + "\n)\n"
                f"ENGINE = Distributed({quote_identifier(cluster.name)}, {quote_identifier(db or cluster.database)}, "
                f"{quote_identifier(tb + cluster.local_suffix)}, {_sharding_key(ct.after_engine)})")
        return [local, dist]
    alter = _parse_alter(t)
    if alter is not None:
        name, rest = alter.name.text, alter.rest
        if not cluster.is_sharded(name):
            return [f"ALTER TABLE {name}{cluster.on} {rest}"]
        col = [_is_column_command(toks, a) for a, _ in alter.commands]
        if all(col):
            return [f"ALTER TABLE {cluster.local(name)}{cluster.on} {rest}",
                    f"ALTER TABLE {name}{cluster.on} {rest}"]
        if any(col):
            raise TranslationError(
                f"--cluster: ALTER TABLE {name} mixes column commands with other commands",
                hint="write column changes and index/data changes as separate ALTER statements")
        return [f"ALTER TABLE {cluster.local(name)}{cluster.on} {rest}"]
    if _words(toks, 0, "DROP", "TABLE"):
        ie = _words(toks, 2, "IF", "EXISTS")
        name = _name_at(t, _skip(toks, 2, "IF", "EXISTS"))
        if name is not None:
            after = _on_cluster(toks, name.b)
            rest = text[toks[after].start:].strip() if after < len(toks) else ""
            sync = "" if any(x.up == "SYNC" for x in toks[after:]) else " SYNC"
            tail = (" " + rest if rest else "") + sync
            ie_text = "IF EXISTS " if ie else ""
            if not cluster.is_sharded(name.text):
                return [f"DROP TABLE {ie_text}{name.text}{cluster.on}{tail}"]
            return [f"DROP TABLE {ie_text}{name.text}{cluster.on}{tail}",
                    f"DROP TABLE {ie_text}{cluster.local(name.text)}{cluster.on}{tail}"]
    if _words(toks, 0, "CREATE", "VECTOR", "INDEX") or _words(toks, 0, "DROP", "VECTOR", "INDEX"):
        raise TranslationError(
            "--cluster: CREATE/DROP VECTOR INDEX ... ON t is not rendered for clusters",
            hint="write ALTER TABLE t ADD VECTOR INDEX / DROP VECTOR INDEX instead")
    data = _data_statement(t, cluster)
    if data is not None:
        return data
    if _words(toks, 0, "RENAME", "TABLE") or _words(toks, 0, "EXCHANGE", "TABLES"):
        named = [x for x in (_name_at(t, k) for k in range(2, len(toks)) if k == 2 or toks[k - 1].up in ("TO", "AND", ","))
                 if x is not None]
        for x in named:
            if cluster.is_sharded(x.text):
                raise TranslationError(
                    f"--cluster: {' '.join(w.up for w in toks[:2])} of {x.text}, a sharded table, is not "
                    f"rendered: its Distributed table names {cluster.local(x.text)}, which would not follow",
                    hint="create the new table in a migration and copy the rows with INSERT … SELECT")
        if any(_words(toks, k, "ON", "CLUSTER") for k in range(len(toks))):
            return [text]
        return [_on_cluster_last(t, cluster)]
    head_end = _other_ddl_head(toks)
    if head_end is not None:
        if _on_cluster(toks, head_end) != head_end:
            return [text]
        at = toks[head_end - 1].end
        return [text[:at] + cluster.on + text[at:]]
    return [text]


def _on_cluster_last(t: Tokens, cluster: Cluster) -> str:
    """The statement with ` ON CLUSTER name` after its last token: before a comment that ends it
    (`… -- note`), where it would be part of the comment."""
    toks = [x for x in t.tokens if x.type != TokenType.SEMICOLON]
    at = toks[-1].end if toks else len(t.text)
    return (t.text[:at] + cluster.on + t.text[at:]).strip()


def _data_statement(t: Tokens, cluster: Cluster) -> list[str] | None:
    """`TRUNCATE [TABLE] [IF EXISTS] T`, `DELETE FROM T …` and `OPTIMIZE TABLE T …` on the cluster:
    on a sharded table they go to `T_local ON CLUSTER` (the rows live there: through the
    Distributed table TRUNCATE leaves them, and DELETE and OPTIMIZE are refused); TRUNCATE also
    empties the Distributed table's queue of rows not yet sent, first. Other tables get ON CLUSTER.
    None for any other statement, or one that names its own cluster."""
    toks = t.tokens
    if _words(toks, 0, "TRUNCATE"):
        if _words(toks, 1, "ALL", "TABLES"):  # ON CLUSTER goes last
            on = any(_words(toks, k, "ON", "CLUSTER") for k in range(len(toks)))
            return [t.text.strip() if on else _on_cluster_last(t, cluster)]
        if _words(toks, 1, "TEMPORARY"):  # a session's own table: on this node only
            return [t.text.strip()]
        if _words(toks, 1, "DATABASE"):
            return None
        i = _skip(toks, 1, "TABLE")
        head = "TRUNCATE TABLE " + ("IF EXISTS " if _words(toks, i, "IF", "EXISTS") else "")
        i = _skip(toks, i, "IF", "EXISTS")
    elif _words(toks, 0, "DELETE", "FROM"):
        i, head = 2, "DELETE FROM "
    elif _words(toks, 0, "OPTIMIZE", "TABLE"):
        i, head = 2, "OPTIMIZE TABLE "
    else:
        return None
    name = _name_at(t, i)
    if name is None or _on_cluster(toks, name.b) != name.b:
        return None
    rest = (" " + t.text[toks[name.b].start:].strip()) if name.b < len(toks) else ""
    if not cluster.is_sharded(name.text):
        return [f"{head}{name.text}{cluster.on}{rest}"]
    local = [f"{head}{cluster.local(name.text)}{cluster.on}{rest}"]
    return ([f"{head}{name.text}{cluster.on}{rest}"] + local) if head.startswith("TRUNCATE") else local


def _norm_after(after: str) -> str:
    after = after.rstrip()
    if not after:
        return ""
    return after if after.startswith("\n") else "\n" + after.lstrip()
