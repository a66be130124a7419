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

from sqlext.text.ddl import (
    IndexInfo, StaticCatalog, normalize_metric, parse_length_constraints, parse_model_comment,
)
from sqlext.text.ddl import split_table_name as split_name
from sqlext.text.ddl import unquote_identifier as unquote
from sqlext.errors import TranslationError

_IDENT = r'(?:`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_$]*)'
_NAME = rf"{_IDENT}(?:\s*\.\s*{_IDENT})?"
_LEADING = re.compile(r"^(?:\s+|--[^\n]*(?:\n|$)|#[ !][^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)

CREATE_RE = re.compile(
    rf"^CREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?(?P<name>{_NAME})"
    rf"(?P<oc>\s+ON\s+CLUSTER\s+{_IDENT})?\s*(?=\()", re.I | re.S)
ALTER_RE = re.compile(
    rf"^ALTER\s+TABLE\s+(?P<name>{_NAME})(?P<oc>\s+ON\s+CLUSTER\s+{_IDENT})?\s+(?P<rest>.*)$", re.I | re.S)
DROP_RE = re.compile(
    rf"^DROP\s+TABLE\s+(?P<ie>IF\s+EXISTS\s+)?(?P<name>{_NAME})(?P<oc>\s+ON\s+CLUSTER\s+{_IDENT})?"
    rf"(?P<rest>.*)$", re.I | re.S)
OTHER_DDL_RE = re.compile(
    rf"^(?P<head>(?:CREATE|DROP)\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?"
    rf"(?:TABLE|VIEW|MATERIALIZED\s+VIEW|DICTIONARY|DATABASE|FUNCTION)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
    rf"{_NAME}|TRUNCATE\s+(?:TABLE\s+)?(?:IF\s+EXISTS\s+)?{_NAME}|RENAME\s+TABLE\s+.*?)"
    rf"(?P<oc>\s+ON\s+CLUSTER\s+{_IDENT})?(?=\s|\(|$)", re.I | re.S)
ENGINE_RE = re.compile(r"\s*ENGINE\s*=\s*(?P<engine>[A-Za-z][A-Za-z0-9_]*)\s*", re.I)
ORDER_BY_RE = re.compile(r"\bORDER\s+BY\s+(?P<expr>\(.*?\)|[^\s,]+)", re.I | re.S)

_COLUMN_CMD = re.compile(r"^\s*(?:ADD|DROP|MODIFY|RENAME|COMMENT|CLEAR)\s+COLUMN\b", re.I)
_INDEX_CMD = re.compile(
    r"^\s*(?:(?:ADD|DROP|MATERIALIZE|CLEAR)\s+(?:VECTOR\s+)?INDEX|UPDATE|DELETE|MATERIALIZE\s+COLUMN|"
    r"(?:ADD|DROP|MATERIALIZE|CLEAR)\s+PROJECTION|(?:ADD|DROP)\s+CONSTRAINT|MODIFY\s+(?:TTL|SETTING|ORDER\s+BY)|"
    r"FREEZE|DETACH|ATTACH|DROP\s+PARTITION|DROP\s+PART)\b", re.I)

# vector indexes a statement creates: (table, index name)
_ADD_VINDEX = re.compile(
    rf"\bADD\s+(?:VECTOR\s+)?INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<index>{_IDENT})\s+(?P<body>.*?)(?=,\s*(?:ADD|DROP|MODIFY)\b|$)",
    re.I | re.S)
_CREATE_VINDEX = re.compile(
    rf"^CREATE\s+VECTOR\s+INDEX\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<index>{_IDENT})\s+ON\s+(?P<name>{_NAME})", re.I | re.S)


def strip_leading_comments(sql: str) -> str:
    return sql[_LEADING.match(sql).end():]


def quote(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else "`" + name.replace("`", "\\`") + "`"


def _table_key(name: str) -> str:
    return split_name(name)[1]


def match_paren(text: str, open_at: int) -> int:
    """Index of the `)` closing the `(` at open_at; strings, quoted names and comments skipped."""
    depth = 0
    i = open_at
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            j = i + 1
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            continue
        if text.startswith("--", i):
            e = text.find("\n", i)
            i = n if e < 0 else e + 1
            continue
        if text.startswith("/*", i):
            e = text.find("*/", i + 2)
            i = n if e < 0 else e + 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise TranslationError("unbalanced parentheses", hint="check the statement's ( and )")


def split_top(text: str) -> list[str]:
    """Split on commas outside parentheses, strings and quoted names."""
    parts, depth, start, i, n = [], 0, 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


@dataclass
class CreateTable:
    name: str             # as written
    body: str             # between the parentheses
    head: str             # "CREATE TABLE [IF NOT EXISTS] "
    tail: str             # after the closing parenthesis
    engine: str | None
    engine_args: str      # inside ENGINE = X(...), "" if none
    after_engine: str     # text after the ENGINE clause


def parse_create(sql: str) -> CreateTable | None:
    body_sql = strip_leading_comments(sql)
    m = CREATE_RE.match(body_sql)
    if not m:
        return None
    open_at = m.end()
    close = match_paren(body_sql, open_at)
    tail = body_sql[close + 1:]
    engine, args, after = None, "", tail
    em = ENGINE_RE.match(tail)
    if em:
        engine = em.group("engine")
        rest = tail[em.end():]
        if rest.startswith("("):
            c2 = match_paren(rest, 0)
            args, after = rest[1:c2], rest[c2 + 1:]
        else:
            after = rest
    head = "CREATE TABLE " + ("IF NOT EXISTS " if m.group("ine") else "")
    return CreateTable(m.group("name"), body_sql[open_at + 1:close], head, tail, engine, args.strip(), after)


# ---------------------------------------------------------------- what a migration creates

def created_tables(sql: str) -> list[str]:
    ct = parse_create(sql)
    return [ct.name] if ct else []


def vector_indexes(sql: str) -> list[tuple[str, str]]:
    """(table, index) of every vector index a (MyScale or ClickHouse) statement adds."""
    text = strip_leading_comments(sql)
    out = []
    m = _CREATE_VINDEX.match(text)
    if m:
        return [(m.group("name"), unquote(m.group("index")))]
    am = ALTER_RE.match(text)
    if am:
        for im in _ADD_VINDEX.finditer(am.group("rest")):
            whole = im.group(0)
            if re.search(r"\bADD\s+VECTOR\s+INDEX\b", whole, re.I) or re.search(r"vector_similarity", whole, re.I):
                out.append((am.group("name"), unquote(im.group("index"))))
        return out
    ct = parse_create(text)
    if ct:
        for item in split_top(ct.body):
            vm = re.match(rf"^VECTOR\s+INDEX\s+({_IDENT})", item, re.I)
            im = re.match(rf"^INDEX\s+({_IDENT})\s+.*\bTYPE\s+vector_similarity\b", item, re.I | re.S)
            if vm or im:
                out.append((ct.name, unquote((vm or im).group(1))))
    return out


def learn(catalog: StaticCatalog, sql: str) -> None:
    """Teach a StaticCatalog what a MyScale statement creates: vector column dimensions (from
    `CHECK length(col) = N`), models (from `COMMENT 'embedsql:model=...'`), vector indexes."""
    text = strip_leading_comments(sql)
    ct = parse_create(text)
    if ct:
        for col, dim in parse_length_constraints(ct.body).items():
            catalog.set_dim(ct.name, col, dim)
        for item in split_top(ct.body):
            cm = re.match(rf"^({_IDENT})\s+.*?\bCOMMENT\s+'((?:[^'\\]|\\.)*)'", item, re.I | re.S)
            if cm:
                meta = parse_model_comment(cm.group(2))
                if meta.get("model"):
                    catalog.set_model(ct.name, unquote(cm.group(1)), meta["model"])
                if meta.get("dim", "").isdigit() and catalog.column_dim(ct.name, unquote(cm.group(1))) is None:
                    catalog.set_dim(ct.name, unquote(cm.group(1)), int(meta["dim"]))
    dm = DROP_RE.match(text)
    if dm:
        pass  # a later CREATE re-teaches; dims of a dropped table do no harm in a plan
    am = ALTER_RE.match(text)
    for table, index in vector_indexes(text):
        col, metric, typ = None, "L2", "DEFAULT"
        src = am.group("rest") if am else text
        m = re.search(rf"\b{re.escape(index)}`?\s+({_IDENT})\s+TYPE\s+([A-Za-z_][A-Za-z0-9_]*)(.*)", src, re.I | re.S)
        if m:
            col, typ = unquote(m.group(1)), m.group(2).upper()
            mt = re.search(r"metric_type\s*=\s*([A-Za-z0-9]+)", m.group(3), re.I)
            if mt:
                metric = normalize_metric(mt.group(1)) or metric
        if col:
            catalog.add_index(table, col, IndexInfo(index, typ, metric, catalog.column_dim(table, col)))
    if am:
        for dmi in re.finditer(rf"\bDROP\s+(?:VECTOR\s+)?INDEX\s+(?:IF\s+EXISTS\s+)?({_IDENT})", am.group("rest"), re.I):
            catalog.drop_index(am.group("name"), unquote(dmi.group(1)))


# ---------------------------------------------------------------- dialect bridge

def translate(sql: str, dialect: str, catalog) -> tuple[list[str], list[str], list[str]]:
    """The bridge: (statements, notes, warnings)."""
    from sqlext.text import dialects

    tr = dialects.translate(sql, target=dialect, catalog=catalog)
    stmts = getattr(tr, "statements", None)
    if stmts is None:
        stmts = tr.sql if isinstance(tr.sql, list) else [tr.sql]
    out = [s.strip().rstrip(";").rstrip() for s in stmts]
    return [s for s in out if s], list(tr.notes), list(tr.warnings)


# ---------------------------------------------------------------- cluster layout

@dataclass
class Cluster:
    name: str
    database: str = "default"
    sharded: set = field(default_factory=set)   # bare table names created by the migrations
    local_suffix: str = "_local"

    @property
    def on(self) -> str:
        return f" ON CLUSTER {quote(self.name)}"

    def local(self, name: str) -> str:
        db, t = split_name(name)
        return (quote(db) + "." if db else "") + quote(t + self.local_suffix)

    def is_sharded(self, name: str) -> bool:
        return _table_key(name) in self.sharded


REPLICA_PATH = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"


def replicated_engine(engine: str | None, args: str, path_args: str = REPLICA_PATH) -> str:
    engine = engine or "MergeTree"
    if engine.startswith("Replicated"):
        return f"{engine}({args})" if args else engine
    if not engine.endswith("MergeTree"):
        raise TranslationError(f"--cluster: cannot replicate a table with ENGINE = {engine}",
                               hint="use a *MergeTree engine, or create that table outside migrations")
    inner = path_args + (f", {args}" if args else "")
    return f"Replicated{engine}({inner})"


def _sharding_key(after_engine: str) -> str:
    m = ORDER_BY_RE.search(after_engine)
    if not m:
        return "rand()"
    expr = m.group("expr").strip()
    if expr.startswith("("):
        items = split_top(expr[1:-1])
        expr = items[0] if items else ""
    if not expr or expr.lower() == "tuple()":
        return "rand()"
    return f"cityHash64({expr})"


def cluster_statements(sql: str, cluster: Cluster) -> list[str]:
    """One rendered (already translated) statement -> the statements to run on the cluster."""
    text = strip_leading_comments(sql).strip()
    ct = parse_create(text)
    if ct:
        if not cluster.is_sharded(ct.name):
            return [f"{ct.head}{ct.name}{cluster.on}\n({ct.body}){ct.tail}"]
        engine = replicated_engine(ct.engine, ct.engine_args)
        local = (f"{ct.head}{cluster.local(ct.name)}{cluster.on}\n({ct.body})\n"
                 f"ENGINE = {engine}{_norm_after(ct.after_engine)}")
        cols = [c for c in split_top(ct.body)
                if not re.match(r"^(?:VECTOR\s+)?INDEX\b|^PROJECTION\b", c, re.I)]
        db, t = split_name(ct.name)
        dist = (f"{ct.head}{ct.name}{cluster.on}\n(\n    " + ",\n    ".join(cols) + "\n)\n"
                f"ENGINE = Distributed({quote(cluster.name)}, {quote(db or cluster.database)}, "
                f"{quote(t + cluster.local_suffix)}, {_sharding_key(ct.after_engine)})")
        return [local, dist]
    am = ALTER_RE.match(text)
    if am:
        name, rest = am.group("name"), am.group("rest")
        if not cluster.is_sharded(name):
            return [f"ALTER TABLE {name}{cluster.on} {rest}"]
        cmds = split_top(rest)
        col = [bool(_COLUMN_CMD.match(c)) for c in cmds]
        if all(col):
            return [f"ALTER TABLE {cluster.local(name)}{cluster.on} {rest}",
                    f"ALTER TABLE {name}{cluster.on} {rest}"]
        if any(col):
            raise TranslationError(
                f"--cluster: ALTER TABLE {name} mixes column commands with other commands",
                hint="write column changes and index/data changes as separate ALTER statements")
        return [f"ALTER TABLE {cluster.local(name)}{cluster.on} {rest}"]
    dm = DROP_RE.match(text)
    if dm:
        name = dm.group("name")
        rest = dm.group("rest").strip()
        ie = "IF EXISTS " if dm.group("ie") else ""
        sync = "" if re.search(r"\bSYNC\b", rest, re.I) else " SYNC"
        tail = (" " + rest if rest else "") + sync
        if not cluster.is_sharded(name):
            return [f"DROP TABLE {ie}{name}{cluster.on}{tail}"]
        return [f"DROP TABLE {ie}{name}{cluster.on}{tail}",
                f"DROP TABLE {ie}{cluster.local(name)}{cluster.on}{tail}"]
    if _CREATE_VINDEX.match(text) or re.match(r"^DROP\s+VECTOR\s+INDEX\b", text, re.I):
        raise TranslationError(
            "--cluster: CREATE/DROP VECTOR INDEX ... ON t is not rendered for clusters",
            hint="write ALTER TABLE t ADD VECTOR INDEX / DROP VECTOR INDEX instead")
    om = OTHER_DDL_RE.match(text)
    if om and not om.group("oc"):
        return [text[:om.end("head")] + cluster.on + text[om.end("head"):]]
    return [text]


def _norm_after(after: str) -> str:
    after = after.rstrip()
    if not after:
        return ""
    return after if after.startswith("\n") else "\n" + after.lstrip()
