"""Session: the public face of the SQL layer.

    import sqlext
    s = sqlext.connect()                       # embedded default, or dsn="https://user@host/db"
    r = s.query("SELECT photo_id, cosineDistance(photo_embed, EMBED('a cat')) AS d "
                "FROM photos ORDER BY d LIMIT 5")
    r.columns, r.types, r.rows, r.stats

Pipeline per statement: find EMBED calls -> embed (cache, else one model batch) -> splice float
literals at the calls' spans -> translate for the target dialect -> lint -> send. Nothing is sent
unless every step succeeded: no partially rewritten statement ever reaches the server.
"""
from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from dataclasses import dataclass, field

from .config import ConnectionSpec, resolve
from .engine import Backend, map_error
from ..errors import EmbedSQLError, RewriteError, SQLSyntaxError, UsageError

_QUERY_START = re.compile(r"^\s*(?:\(\s*)*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|EXISTS|VALUES|CHECK)\b", re.I)
_VECTOR_RE = re.compile(r"\[(?:\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*,){7,}\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*\]")


def elide_vectors(sql: str) -> str:
    """Show long numeric array literals as `[N x Float32]` (for display only)."""
    return _VECTOR_RE.sub(lambda m: f"[{m.group(0).count(',') + 1} x Float32]", sql)


def is_query(sql: str) -> bool:
    """Does the statement return rows (SELECT, SHOW, CHECK TABLE...)? Leading comments (nested
    block comments and `//` included) are skipped with the splitter's own scanner."""
    from ..text.split import scan

    body = sql.lstrip("\ufeff")
    try:
        _, comments = scan(body)
    except SQLSyntaxError:
        comments = []
    pos = 0
    for a, b in comments:
        if body[pos:a].strip():
            break
        pos = b
    return bool(_QUERY_START.match(body[pos:]))


@dataclass
class Stats:
    sent_sql: str = ""
    embed_calls: int = 0
    embed_ms: float = 0.0
    cache_hits: int = 0
    cache_misses: int = 0
    server_ms: float | None = None
    rows_read: int | None = None
    total_ms: float = 0.0
    translations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    plan: object = None  # sqlext.db.planner.VectorPlan of the last top-k statement, or None


@dataclass
class Result:
    columns: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    message: str = ""  # for commands: what the server answered

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def dicts(self) -> list[dict]:
        return [dict(zip(self.columns, r)) for r in self.rows]


@dataclass
class Prepared:
    original: str
    statements: list[str]  # what will be sent, in order
    stats: Stats
    # for the vector query planner: each statement as recognized (query vectors still short
    # placeholders), its top-k searches (sqlext.text.topk.TopK) and the placeholder -> literal map
    recognized: list[str] = field(default_factory=list)
    searches: list[list] = field(default_factory=list)
    literals: dict = field(default_factory=dict)

    @property
    def sql(self) -> str:
        return ";\n".join(self.statements)

    def fill(self, text: str) -> str:
        """`text` (from a recognized statement) with the query vectors' literals in place."""
        if not self.literals or "__embedsql_vec_" not in text:
            return text
        pattern = re.compile("|".join(re.escape(p) for p in self.literals))
        return pattern.sub(lambda m: self.literals[m.group(0)], text)


class Session:
    def __init__(self, spec: ConnectionSpec, *, model: str | None = None, embedder=None):
        self.spec = spec
        self.backend = Backend(spec)
        self._model = model
        self._embedder = embedder
        self._dialect = spec.dialect
        self._catalog = None
        self._lock = threading.RLock()
        self._running_qid: str | None = None
        self._hnsw_setting: bool | None = None
        self._user_settings: dict[str, str] = {}   # what the user SET in this session
        self._planner = None
        self._planner_ok: bool | None = None       # the server has the settings plans use

    # -- lazily built parts -------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from embed import Embedder

            self._embedder = Embedder(self._model)
        return self._embedder

    @property
    def dialect(self) -> str:
        if self._dialect is None:
            if self.backend.embedded:
                self._dialect = "clickhouse"
            else:
                rows = self._raw_query("SELECT value FROM system.build_options WHERE name = 'MYSCALE_VERSION'")
                self._dialect = "myscale" if rows else "clickhouse"
        return self._dialect

    @property
    def catalog(self):
        if self._catalog is None:
            from .catalog import LiveCatalog

            self._catalog = LiveCatalog(self._raw_query, dialect=lambda: self.dialect)
        return self._catalog

    def describe(self) -> str:
        return self.spec.display()

    # -- engine access ------------------------------------------------------------------------
    @contextlib.contextmanager
    def hold(self):
        """Keep the engine open for several calls (one unit of work)."""
        with self._client() as c:
            yield c

    @contextlib.contextmanager
    def _client(self):
        try:
            with self.backend.client() as c:
                yield c
        except EmbedSQLError:
            raise
        except Exception as exc:
            if _is_client_error(exc):
                raise map_error(exc, self.spec) from None
            raise

    def _raw_query(self, sql: str) -> list[tuple]:
        with self._client() as c:
            return list(c.query(sql).result_rows)

    # -- the pipeline -------------------------------------------------------------------------
    def prepare(self, sql: str) -> Prepared:
        """Rewrite EMBED, translate, lint. Returns what would be sent; sends nothing."""
        from ..text import rewrite as rw

        stats = Stats()
        text = sql
        calls = rw.find_embeds(text)
        literals: dict[str, str] = {}
        if calls:
            stats.embed_calls = len(calls)
            queries = list(dict.fromkeys(c.query for c in calls))
            refs = self._column_refs(text, calls)
            self._check_models(refs)
            t0 = time.perf_counter()
            vectors = self.embedder.embed(queries)
            stats.embed_ms = (time.perf_counter() - t0) * 1000
            ls = self.embedder.last_stats()
            stats.cache_hits, stats.cache_misses = ls.hits, ls.misses
            by_query = dict(zip(queries, vectors))
            self._check_dims(refs, calls, [by_query[c.query] for c in calls])
            # Translate and lint a statement holding short placeholders, then put the vectors in:
            # tokenizing thousands of digits per query would cost more than the rest together.
            tag = f"__embedsql_vec_{uuid.uuid4().hex[:12]}_"
            for n, q in enumerate(queries):
                literals[f"[{tag}{n}]"] = rw.format_vector(by_query[q])
            index = {q: f"[{tag}{n}]" for n, q in enumerate(queries)}
            text = rw.splice_text(text, calls, [index[c.query] for c in calls])
        from ..text import dialects

        tr = dialects.translate(text, target=self.dialect, catalog=self.catalog)
        statements = list(tr.statements)
        stats.translations = list(tr.notes)
        stats.warnings = list(tr.warnings)
        for st in statements:
            for w in dialects.lint(st, self.catalog, dialect=self.dialect):
                if w not in stats.warnings:
                    stats.warnings.append(w)
        recognized = list(statements)
        searches = _recognize(statements, self.dialect)
        if literals:
            pattern = re.compile("|".join(re.escape(p) for p in literals))
            statements = [pattern.sub(lambda m: literals[m.group(0)], st) for st in statements]
            stats.translations = [n.replace(tag, "vector_") for n in stats.translations]
            stats.warnings = [w.replace(tag, "vector_") for w in stats.warnings]
        stats.sent_sql = elide_vectors(";\n".join(statements))
        return Prepared(sql, statements, stats, recognized, searches, literals)

    def _tables_of(self, sql: str) -> list[tuple[str, str]]:
        """(table as written, its alias or name) for each table of the statement; [] when
        sqlglot cannot parse it (the checks below are best effort)."""
        try:
            import sqlglot
            from sqlglot import exp

            tree = sqlglot.parse_one(sql, read="clickhouse")
        except Exception:
            return []
        out = []
        for t in tree.find_all(exp.Table):
            name = f"{t.db}.{t.name}" if t.db else t.name
            if name and (name, t.alias_or_name) not in out:
                out.append((name, t.alias_or_name))
        return out

    def _column_refs(self, sql: str, calls) -> list[tuple]:
        """(call, table, column) for each EMBED compared with a column of a known table."""
        out = []
        tables = None
        for c in calls:
            col = getattr(c, "compared_column", None)
            if not col:
                continue
            col = col.strip("`\"")
            qual, _, bare = col.rpartition(".")
            if tables is None:
                tables = self._tables_of(sql)
            for name, alias in tables:
                if qual and qual not in (name, name.rpartition(".")[2], alias):
                    continue
                out.append((c, name, bare))
                break
        return out

    def _check_models(self, refs):
        for call, table, col in refs:
            try:
                model = self.catalog.column_model(table, col)
            except EmbedSQLError:
                return
            mine = self.embedder.model_id
            if model and mine and not same_model(model, mine):
                raise RewriteError(
                    f"EMBED is compared with {table}.{col}, which holds vectors of model {model!r}, "
                    f"but embedsql is using {mine!r}",
                    line=call.line, col=call.col,
                    hint=f"run with --model {model} (or EMBEDSQL_MODEL) so the vectors are comparable",
                )

    def _check_dims(self, refs, calls, vecs):
        index = {id(c): v for c, v in zip(calls, vecs)}
        for call, table, col in refs:
            try:
                dim = self.catalog.column_dim(table, col)
            except EmbedSQLError:
                return
            got = len(index[id(call)])
            if dim and dim != got:
                raise RewriteError(
                    f"EMBED gives {got}-d vectors but {table}.{col} holds {dim}-d vectors",
                    line=call.line, col=call.col,
                    hint="use the model the column was filled with (--model / EMBEDSQL_MODEL)",
                )

    def rewrite(self, sql: str) -> str:
        """The exact SQL that would be sent (several statements joined by ';\\n')."""
        return self.prepare(sql).sql

    def explain(self, sql: str) -> Prepared:
        """What `query` would send, and the vector plan it would start with (the planner's row
        counts run; the statement does not). `stats.plan` holds the plan of the last statement
        with a top-k search; the check after the run may still switch it to an exact scan."""
        p = self.prepare(sql)
        for i in range(len(p.statements)):
            if p.searches and p.searches[i]:
                with self._client():
                    plan = self._plan(p, i, None)
                if plan is not None:
                    p.stats.plan = plan
        return p

    def cancel(self) -> bool:
        """Ask the server to kill the statement now running in this session (from another thread).
        True when a KILL QUERY was sent. The embedded engine cannot interrupt a statement: False."""
        qid = self._running_qid
        if not qid or self.backend.embedded:
            return False
        killer = self.backend.new_http_client(timeout=30)
        try:
            killer.command(f"KILL QUERY WHERE query_id = '{qid}' ASYNC")  # qid: our uuid hex
        except Exception as exc:
            raise map_error(exc, self.spec) from None
        finally:
            killer.close()
        return True

    def _default_settings(self, statement: str, user: dict) -> dict:
        """Query defaults embedsql ships for ClickHouse vector search (see README, Performance):
        the HNSW candidate list size tuned on CLIP-like data. Only where the server knows the
        setting and the user did not give it (statement SETTINGS, SET, call settings)."""
        from .planner import EF_KEY, HNSW_EF_SEARCH

        low = statement.lower()
        if (self.dialect != "clickhouse" or EF_KEY in low or EF_KEY in user
                or not _VECTOR_FN.search(low)):
            return {}
        if self._hnsw_setting is None:
            if self.backend.embedded:
                self._hnsw_setting = True
            else:
                try:
                    self._hnsw_setting = bool(self._raw_query(
                        f"SELECT count() FROM system.settings WHERE name = '{EF_KEY}'")[0][0])
                except EmbedSQLError:
                    self._hnsw_setting = False
        return {EF_KEY: HNSW_EF_SEARCH} if self._hnsw_setting else {}

    # -- what the user set --------------------------------------------------------------------
    @property
    def user_settings(self) -> dict[str, str]:
        """Settings the user gave with SET in this session (lower-case names; values as a client
        passes them: a string's quotes removed).
        They are sent with every later statement, so they hold on the embedded engine (which is
        reopened after an idle pause) and over HTTP (where each request is its own session), and
        embedsql's own defaults and plans never override them."""
        return dict(self._user_settings)

    def _track_set(self, statement: str) -> None:
        """After `statement` ran: remember the settings of a `SET a = 1, …`."""
        from ..text.topk import parse_set

        got = parse_set(statement)
        if got:
            self._user_settings.update({k: _setting_value(v) for k, v in got.items()})

    def _given_settings(self, recognized: str, settings: dict | None) -> dict:
        """Every setting the user gave for one statement: SET earlier, the call's `settings=`,
        the statement's SETTINGS clauses (lower-case keys)."""
        from ..text.topk import statement_settings

        out = dict(self._user_settings)
        out.update({k.lower(): v for k, v in (settings or {}).items()})
        out.update(statement_settings(recognized))
        return out

    # -- the vector query planner -------------------------------------------------------------
    @property
    def planner(self):
        """The session's vector query planner (sqlext.db.planner.Planner); its `config` is the
        cost model."""
        if self._planner is None:
            from .planner import Planner

            def run(sql, settings):
                with self._client() as c:
                    return list(c.query(sql, settings=settings or None).result_rows)

            self._planner = Planner(run, self.catalog)
        return self._planner

    def _planner_available(self) -> bool:
        if self._planner_ok is None:
            if self.dialect != "clickhouse":
                self._planner_ok = False
            elif self.backend.embedded:
                self._planner_ok = True
            else:
                from .planner import NEEDED_SETTINGS

                names = ", ".join(f"'{n}'" for n in NEEDED_SETTINGS)
                try:
                    self._planner_ok = int(self._raw_query(
                        f"SELECT count() FROM system.settings WHERE name IN ({names})")[0][0]) == len(NEEDED_SETTINGS)
                except EmbedSQLError:
                    self._planner_ok = False
        return self._planner_ok

    def _plan(self, prepared: Prepared, i: int, settings: dict | None):
        """The planner's plan for statement i of `prepared`, or None when it has no top-k search
        (or the server lacks the settings plans need)."""
        from .planner import VectorPlan

        if not prepared.searches or not prepared.searches[i]:
            return None
        if self.dialect != "clickhouse":
            return VectorPlan("none", "MyScale filters inside its vector index search: the planner does not act")
        if not self._planner_available():
            return VectorPlan("none", "this server lacks the vector search settings the planner uses "
                                      "(ClickHouse 25.8 or later has them)")
        rec = prepared.recognized[i]
        return self.planner.plan(rec, prepared.searches[i], fill=prepared.fill,
                                 user=self._given_settings(rec, settings), dialect=self.dialect)

    def _our_settings(self, prepared: Prepared, i: int, st: str, plan, settings: dict | None) -> dict:
        """Settings embedsql adds to query statement i: the plan's, else the shipped defaults;
        never a key the user gave."""
        rec = prepared.recognized[i] if prepared.recognized else st
        user = self._given_settings(rec, settings)
        if plan is not None and plan.kind not in ("none", "yours"):
            ours = dict(plan.settings)
        else:
            ours = self._default_settings(st if len(st) < 20_000 else rec, user)
        return {k: v for k, v in ours.items() if k.lower() not in user}

    def _send(self, prepared: Prepared, *, as_query: bool | None, params=None, settings=None) -> Result:
        t0 = time.perf_counter()
        result = Result(stats=prepared.stats)
        with self._client() as c:
            for i, st in enumerate(prepared.statements):
                last = i == len(prepared.statements) - 1
                q = is_query(st) if as_query is None else (as_query and last)
                plan = self._plan(prepared, i, settings) if q else None
                ours = self._our_settings(prepared, i, st, plan, settings) if q else {}
                st_settings = {**self._user_settings, **(settings or {}), **ours}
                if plan is not None:
                    result.stats.plan = plan
                if not self.backend.embedded:
                    self._running_qid = uuid.uuid4().hex
                    st_settings = {**(st_settings or {}), "query_id": self._running_qid}
                try:
                    if q:
                        r = c.query(st, parameters=params, settings=st_settings or None)
                        if plan is not None and plan.needs_exact_rerun(len(r.result_rows)):
                            exact = {**{k: v for k, v in st_settings.items() if k not in ours},
                                     **plan.fallback}
                            if not self.backend.embedded:  # a query id names one query
                                self._running_qid = exact["query_id"] = uuid.uuid4().hex
                            r = c.query(st, parameters=params, settings=exact)
                            plan.rows = len(r.result_rows)
                        result.columns = list(r.column_names)
                        result.types = [t.name for t in r.column_types]
                        result.rows = list(r.result_rows)
                        summ = getattr(r, "summary", None) or {}
                    else:
                        r = c.command(st, parameters=params, settings=st_settings or None)
                        self._track_set(st)
                        summ = getattr(r, "summary", None) or {}
                        if not hasattr(r, "summary") and r is not None:
                            result.message = str(r)
                        elif isinstance(summ, dict) and summ.get("written_rows"):
                            result.message = f"{summ['written_rows']} rows written"
                except EmbedSQLError:
                    raise
                except KeyboardInterrupt:
                    # Ctrl-C: a server goes on running a query whose client went away; stop it too
                    if not self.backend.embedded and self._running_qid:
                        with contextlib.suppress(Exception):
                            self.cancel()
                    raise
                except Exception as exc:
                    if _is_client_error(exc):
                        err = map_error(exc, self.spec)
                        err.message = _strip_settings(err.message, ours)
                        _add_position(err, st, prepared.original)
                        if len(prepared.statements) > 1:
                            err.message = f"statement {i + 1} of {len(prepared.statements)} failed: {err.message}"
                        raise err from None
                    raise
                finally:
                    self._running_qid = None
                if isinstance(summ, dict):
                    if summ.get("elapsed_ns"):
                        result.stats.server_ms = (result.stats.server_ms or 0) + int(summ["elapsed_ns"]) / 1e6
                    if summ.get("read_rows"):
                        result.stats.rows_read = (result.stats.rows_read or 0) + int(summ["read_rows"])
        if self._catalog is not None and not all(is_query(s) for s in prepared.statements):
            self._catalog.invalidate()
            if self._planner is not None:
                self._planner.invalidate()
        result.stats.total_ms = (time.perf_counter() - t0) * 1000 + prepared.stats.embed_ms
        return result

    def query(self, sql: str, *, params=None, settings=None) -> Result:
        return self._send(self.prepare(sql), as_query=True, params=params, settings=settings)

    def command(self, sql: str, *, params=None, settings=None) -> Result:
        return self._send(self.prepare(sql), as_query=False, params=params, settings=settings)

    def execute(self, sql: str, *, params=None, settings=None) -> Result:
        return self._send(self.prepare(sql), as_query=None, params=params, settings=settings)

    def run_script(self, text: str) -> list[Result]:
        from ..text.split import split_statements

        results = []
        stmts = split_statements(text)
        with self.hold():
            for st in stmts:
                try:
                    results.append(self.execute(st.text))
                except EmbedSQLError as exc:
                    exc.message = f"statement {len(results) + 1} (line {st.line}): {exc.message}"
                    raise
        return results

    def insert(self, table: str, data, column_names, *, column_oriented: bool = False, settings=None):
        with self._client() as c:  # _client maps driver errors raised inside it
            return c.insert(table, data, column_names=column_names, column_oriented=column_oriented,
                            settings=settings)

    def close(self):
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def same_model(recorded: str, current: str) -> bool:
    """A column records the model id it was filled with. A local directory holding a copy of a hub
    model counts as that model when it is named after it (…/clip-vit-base-patch32)."""
    if recorded == current:
        return True
    tail = lambda m: m.rstrip("/").rsplit("/", 1)[-1]  # noqa: E731
    return tail(recorded) == tail(current)


_VECTOR_FN = re.compile(r"(?:cosinedistance|l2distance)\s*\(")


def _setting_value(text: str) -> str:
    """A setting's value as written in SQL -> as a client passes it: `'x'` -> x (quotes and
    escapes removed); numbers and words unchanged."""
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] == "'":
        return re.sub(r"\\(.)|''", lambda m: m.group(1) or "'", t[1:-1])
    return t


def _strip_settings(message: str, ours: dict) -> str:
    """The embedded engine echoes the settings we add into its error messages: take ours out
    again, so that they do not read as if the user had written them."""
    for k, v in ours.items():
        message = re.sub(r",? ?(?:SETTINGS )?" + re.escape(k) + r" = '?" + re.escape(str(v)) + r"'?", "", message)
    return message


def _recognize(statements: list[str], dialect: str) -> list[list]:
    """The top-k vector searches of each query statement, for the planner ([] for the others,
    and everywhere on MyScale, which filters natively)."""
    from ..text.topk import find_topk

    out = []
    for st in statements:
        out.append(find_topk(st) if dialect == "clickhouse" and is_query(st) else [])
    return out


_POS_RE = re.compile(r"failed at position (\d+)")


def _add_position(err, sent: str, original: str):
    """Syntax errors: say line:column in the user's own text when the sent text is the same."""
    m = _POS_RE.search(err.message)
    if not m or sent != original or "(line " in err.message[m.end():m.end() + 40]:
        return
    pos = int(m.group(1)) - 1
    before = original[:pos]
    line = before.count("\n") + 1
    col = pos - (before.rfind("\n") + 1) + 1
    err.message = err.message[:m.end()] + f" (line {line}, column {col})" + err.message[m.end():]


def _is_client_error(exc: Exception) -> bool:
    mod = type(exc).__module__ or ""
    return (mod.startswith(("clickhouse_connect", "chdb", "urllib3", "requests", "socket", "ssl"))
            or isinstance(exc, (OSError, RuntimeError, TimeoutError)))


def connect(dsn: str | None = None, *, model: str | None = None, dialect: str | None = None,
            password: str | None = None, config=None, connection: str | None = None,
            embedder=None) -> Session:
    """Open a session. Nothing configured: the embedded ClickHouse in the user data dir."""
    spec = resolve(dsn, connection=connection, dialect=dialect, config_path=config, password=password)
    return Session(spec, model=model, embedder=embedder)


__all__ = ["Session", "Result", "Stats", "Prepared", "connect", "elide_vectors", "UsageError"]
