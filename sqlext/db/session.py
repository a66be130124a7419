"""Session: the public face of the SQL layer, and the only way the rest of embedsql (migrations,
ingestion, the TUI, the CLI) reaches a database.

    import sqlext
    s = sqlext.connect()                       # embedded default, or dsn="https://user@host/db"
    r = s.query("SELECT photo_id, cosineDistance(photo_embed, EMBED('a cat')) AS d "
                "FROM photos ORDER BY d LIMIT 5")
    r.columns, r.types, r.rows, r.stats
    s.raw_query("SELECT photo_id FROM photos LIMIT 3 FORMAT JSONEachRow")   # the server's bytes

Pipeline per statement: lex (once: `sqlext.text.tokens`; a `Statement` from
`sqlext.text.split.split_statements` brings its tokens) -> find EMBED calls -> embed (cache, else
one model batch) -> splice float literals at the calls' spans -> translate for the target
dialect -> lint -> read the statement's kind (`sqlext.text.kinds`: rows, no rows, or its own
FORMAT) -> send. Nothing is sent unless every step succeeded: no partially rewritten statement
ever reaches the server. Server errors and result column names come back in the user's terms
(`sqlext.db.sent`): positions in the text as written, EMBED calls instead of vectors.

The public API (everything else is private):
- statements: `query`, `command`, `execute`, `run_script`; `verbatim=True` sends SQL that is
  already final (rendered migrations, embedsql's own lookups) exactly as given;
- values: `params={"name": value}` binds ClickHouse server-side parameters (`{name:String}` in
  the SQL), so no value is ever quoted by hand;
- `prepare` / `explain` / `rewrite`: what would be sent, sending nothing;
- `insert`, `insert_arrow`: columnar data in; `query_arrow`, `query_df`, `query_np`,
  `query_arrow_stream`: columnar results (Arrow, pandas, numpy), named as clickhouse-connect names
  them, EMBED resolved as in `query`; `columns_of`: a query's columns without running it;
- `raw_query`, `raw_stream`: a result as the bytes of a ClickHouse output format;
- `unit_of_work()`: hold the embedded engine across several calls; `release_engine()` hands it
  back to other processes now;
- `catalog`: the one reader of tables, columns, vector indexes and the model on a column;
- `dialect`, `embedded`, `database`, `describe()`, `secrets`, `cancel()`, `close()`.
Every database or network failure reaches the caller as a `sqlext.errors.ServerError` (or a
subclass), mapped in one place (`sqlext.db.engine.map_error`).
"""
from __future__ import annotations

import contextlib
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Iterator

from .config import ConnectionSpec, resolve
from .engine import EMBEDDED, Backend, is_driver_error, map_error
from .sent import SentText, elide_vectors
from ..errors import EmbedSQLError, RewriteError, ServerError, SQLSyntaxError, UsageError
from ..text.kinds import Kind, kind_of, statement_kind, table_refs
from ..text.topk import may_search, parse_use
from ..text.split import LEADING, Statement, statement
from ..text.tokens import Tokens, tokenize


def is_query(sql: str) -> bool:
    """Does the statement return rows to read (SELECT, SHOW, CHECK TABLE, EXPLAIN ...)? Read
    from its tokens by ClickHouse's grammar (`sqlext.text.kinds`); a statement that cannot be
    lexed is not a query."""
    try:
        return statement_kind(tokenize(sql)).returns_rows
    except SQLSyntaxError:
        return False


@dataclass
class Stats:
    """What one statement cost and became: `sent_sql` (the text sent, vectors included),
    `embed_calls` (EMBED calls in it), `embed_ms` (milliseconds embedding them, model load
    included), `cache_hits` / `cache_misses` (distinct EMBED inputs found in / missing from the
    vector cache), `server_ms` (the server's own elapsed time in milliseconds, summed over the
    statements sent; None when it did not say), `rows_read` (rows the server read; None when
    unknown), `total_ms` (wall milliseconds, embedding included), `translations` (notes on what
    the MyScale/ClickHouse bridge rewrote), `warnings` (lints: full scans, post-filtering, metric
    mismatches), `plan` (the vector planner's `VectorPlan` for a top-k statement, or None)."""

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
    """What a statement returned: `columns` (names; an EMBED expression without an alias is named
    with the call as written, never its vector), `types` (ClickHouse type names), `rows` (tuples),
    `stats`; `message` for a statement without rows (what the server answered); `raw`, for a
    statement with its own FORMAT (or INTO OUTFILE) clause, the server's bytes as sent."""

    columns: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    rows: list[tuple] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    message: str = ""  # for commands: what the server answered
    raw: bytes | None = None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    def dicts(self) -> list[dict]:
        """The rows as dicts (column name -> value), in row order. Two columns of one name keep the
        later value."""
        return [dict(zip(self.columns, r)) for r in self.rows]


@dataclass
class Prepared:
    """A statement ready to send: `original` (the text as written), `statements` (what will be
    sent, in order: the bridge may turn one statement into two), `stats`; `kinds` (the kind of
    each statement sent, `sqlext.text.kinds.Kind`), `tokens` (their tokens) and `sent` (how to
    read the server's answers in the user's terms, `sqlext.db.sent.SentText`); `verbatim` marks
    text sent exactly as given (no EMBED, translation, lints or default settings)."""

    original: str
    statements: list[str]  # what will be sent, in order
    stats: Stats
    kinds: list[Kind] = field(default_factory=list)
    tokens: list[Tokens] = field(default_factory=list, repr=False)
    sent: SentText | None = field(default=None, repr=False)
    verbatim: bool = False
    # for the vector query planner: each statement as recognized, its top-k searches
    # (sqlext.text.topk.TopK) and, when the statements hold short placeholders for the query
    # vectors, the placeholder -> literal map (empty: the statements hold the literals)
    recognized: list[str] = field(default_factory=list)
    searches: list[list] = field(default_factory=list)
    literals: dict = field(default_factory=dict)

    @property
    def sql(self) -> str:
        """The statements that will be sent, joined by ';' and a newline (one statement: itself)."""
        return ";\n".join(self.statements)

    def fill(self, text: str) -> str:
        """`text` (from a recognized statement) with the query vectors' literals in place."""
        if not self.literals or "__embedsql_vec_" not in text:
            return text
        pattern = re.compile("|".join(re.escape(p) for p in self.literals))
        return pattern.sub(lambda m: self.literals[m.group(0)], text)


_UNKNOWN_TABLE = 60  # ClickHouse's error code for a table that does not exist
_BUILTIN_TABLE = "photos"  # the table the built-in migrations create (migrations.model.BUILTIN_TABLE)
# `… identifier 'photos'. In scope SELECT … . (UNKNOWN_TABLE)`: the scope, up to the code's name
_IN_SCOPE = re.compile(r"\.?\s+In scope\s.*?(?=\.?\s*\(UNKNOWN_TABLE\)\s*$)", re.S)
_MISSING_TABLE = re.compile(r"identifier '([^']+)'|Table (\S+?) does not exist")


class Session:
    """One connection target (the embedded engine or a server) plus the embedder that resolves
    EMBED. Thread-safe for one statement at a time per thread; the TUI runs statements from worker
    threads. Build it with `sqlext.connect()`.

    `spec`: the resolved connection (`sqlext.db.config.ConnectionSpec`); `model`: a hub id or a
    local model directory (None: the configured default); `embedder`: an `embed.Embedder` to
    reuse instead of building one on the first EMBED.

    `migrate_up`: the command an error about a missing table suggests for creating the built-in
    `photos` table (the command line sets one that repeats its --dsn, -c, --model ...)."""

    migrate_up = "embedsql migrate up"

    def __init__(self, spec: ConnectionSpec, *, model: str | None = None, embedder=None):
        self.spec = spec
        self.backend = Backend(spec)
        self._model = model
        self._embedder = embedder
        self._dialect = spec.dialect
        self._catalog = None
        self._lock = threading.RLock()
        # thread ident -> the query ids of the statements that thread is sending (a server only):
        # the TUI loads its catalog on one thread while a statement runs on another, and one
        # thread may have two streams open
        self._running: dict[int, list[str]] = {}
        self._hnsw_setting: bool | None = None
        self._literals: dict = {}  # EmbedQuery -> (vector, its literal): a warm query formats nothing
        self._user_settings: dict[str, str] = {}   # what the user SET in this session
        self._user_params: dict[str, str] = {}     # name -> text of `SET param_name = '…'`
        self._database: str | None = None          # the database of the user's last `USE`
        self._planner = None
        self._known_settings: set | None = None     # the planner's settings the server has (_server_settings)
        self._native_drops_tz: bool | None = None   # _drops_datetime_zone

    # -- lazily built parts -------------------------------------------------------------------
    @property
    def embedder(self):
        """The session's Embedder (built on first use): the model is `model=`, else
        $EMBEDSQL_MODEL, else the config file's (sqlext.db.config.model_setting)."""
        if self._embedder is None:
            from embed import Embedder

            from .config import model_setting

            self._embedder = Embedder(model_setting(self._model, self.spec))
        return self._embedder

    @property
    def dialect(self) -> str:
        """"myscale" or "clickhouse": as configured, else detected once from the server
        (`system.build_options` has MYSCALE_VERSION on MyScale); the embedded engine is ClickHouse."""
        if self._dialect is None:
            if self.backend.embedded:
                self._dialect = "clickhouse"
            else:
                rows = self._raw_query("SELECT value FROM system.build_options WHERE name = 'MYSCALE_VERSION'")
                self._dialect = "myscale" if rows else "clickhouse"
        return self._dialect

    @property
    def catalog(self):
        """The live catalog (`sqlext.db.catalog.LiveCatalog`): tables, columns, vector indexes and
        the model recorded on a vector column, read from the server's system tables and cached
        per table until the session runs DDL."""
        if self._catalog is None:
            from .catalog import LiveCatalog

            self._catalog = LiveCatalog(self._raw_query, dialect=lambda: self.dialect)
        return self._catalog

    @property
    def embedded(self) -> bool:
        """True on the embedded engine (chdb), False on a server."""
        return self.backend.embedded

    @property
    def database(self) -> str:
        """The current database (what unqualified table names mean)."""
        return self.catalog.database

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never be shown (the password): for redacting logs and history."""
        return (self.spec.password,) if self.spec.password else ()

    def describe(self) -> str:
        """The target as people should see it, password left out: `embedded ClickHouse at
        /path` or `http://user@host:8123/db`."""
        return self.spec.display()

    # -- engine access ------------------------------------------------------------------------
    @contextlib.contextmanager
    def unit_of_work(self, timeout: float | None = None):
        """Hold the database for several calls (a script, an insert batch, a migration run).

        On the embedded engine the engine is opened once and kept, so no other process can take it
        in between; another embedsql process waits (`EMBEDSQL_LOCK_TIMEOUT`, or `timeout`
        seconds) and then fails with `EngineBusy` naming the holder. Nested units reuse the outer
        one. On a server this only groups the calls (nothing is held)."""
        with self._client(timeout=timeout):
            yield self

    def engine_wanted(self) -> bool:
        """Embedded: is another process waiting for the engine this session holds open? (False on
        a server.) Long jobs call `release_engine` between steps when it is."""
        return self.backend.embedded and EMBEDDED.wanted(self.spec.path)

    def release_engine(self) -> None:
        """Hand the embedded engine back now (when no unit of work is open), so a process in
        another terminal gets a turn; the next call reopens it (~0.1 s). No-op on a server."""
        if self.backend.embedded:
            self.backend.close()

    @contextlib.contextmanager
    def _client(self, timeout: float | None = None):
        """The backend's client for the calls inside; driver errors become embedsql's."""
        try:
            with self.backend.client(timeout=timeout) as c:
                # the session's database for each statement: its USE, else the DSN's (the
                # embedded engine's one client is every session's of the process: each names its own)
                db = self._database or (self.spec.database or "default" if self.backend.embedded else None)
                if db is None:
                    yield c
                else:
                    before = c.database
                    c.database = db
                    try:
                        yield c
                    finally:
                        c.database = before
        except EmbedSQLError:
            raise
        except Exception as exc:
            if is_driver_error(exc):
                raise map_error(exc, self.spec) from None
            raise

    def _raw_query(self, sql: str, params: dict | None = None) -> list[tuple]:
        with self._client() as c:
            return list(c.query(sql, parameters=params).result_rows)

    def _params(self, statement: str, params):
        """The query parameters to send with `statement`: the call's `params`, plus the value of
        each `SET param_name = '…'` from earlier in the session whose `{name:Type}` placeholder
        `statement` has and `params` does not bind (the value as ClickHouse stored it, sent
        unchanged: `_ParamText`).

        Why not replay them as settings, as other SETs are: over HTTP clickhouse-connect refuses
        a `param_` setting (a name it reserves for its own parameters), and on the embedded engine
        its chdb client hands every query its own parameters, which replace the engine
        session's (the catalog's `{db:String}` would leave `{q:…}` unset), while a `param_` name
        in a SETTINGS clause is ignored. The planner's count queries need them too.
        Placeholders are matched as clickhouse-connect matches them (`{name:Type}`, no spaces), so
        a statement without one keeps its text as it is (no client-side `%` formatting). `params`
        given as a sequence is returned as it is."""
        if params is not None and not isinstance(params, dict):
            return params
        known = self._user_params
        if not known or "{" not in statement:
            return params
        from .planner import PLACEHOLDER

        extra = {n: _ParamText(known[n]) for n in set(PLACEHOLDER.findall(statement))
                 if n in known and n not in (params or {})}
        return {**(params or {}), **extra} if extra else params

    # -- the pipeline -------------------------------------------------------------------------
    def prepare(self, sql: "str | Statement", *, settings: dict | None = None) -> Prepared:
        """Rewrite EMBED, translate, lint, read each statement's kind. Returns what would be sent;
        sends nothing. `sql`: text, or a `Statement` of a script (`split_statements`: its tokens
        are used and positions in errors are the script's); `settings`: the settings it will be
        sent with (the lints respect them).

        Raises `RewriteError` (a bad EMBED argument, a vector of the wrong dimension or model for
        the column it is compared with), `TranslationError` (no equivalent in the target
        dialect), `SQLSyntaxError` (an unterminated string or comment), each with line and
        column, `embed.InputError` (an image that cannot be read) and `embed.ModelLoadError`."""
        src = statement(sql)
        try:
            return self._prepare(src, settings)
        except SQLSyntaxError as exc:
            _to_script_position(exc, src)
            raise

    def _prepare(self, src: Statement, settings: dict | None) -> Prepared:
        from ..text import dialects
        from ..text import rewrite as rw

        stats = Stats()
        quick = self._prepare_large(src)
        if quick is not None:
            return quick
        tokens = src.tokens
        calls = rw.find_embeds(tokens)
        literals: list[str] = []
        vectors: list = []
        if calls:
            stats.embed_calls = len(calls)
            queries = list(dict.fromkeys(c.query for c in calls))
            refs = self._column_refs(tokens, calls)
            self._check_models(refs)
            t0 = time.perf_counter()
            embedded = self._embed(queries, calls)
            stats.embed_ms = (time.perf_counter() - t0) * 1000
            ls = self.embedder.last_stats()
            stats.cache_hits, stats.cache_misses = ls.hits, ls.misses
            by_query = dict(zip(queries, embedded))
            vectors = [by_query[c.query] for c in calls]
            self._check_dims(refs, calls, vectors)
            literal_of = {q: self._literal(q, by_query[q]) for q in queries}
            literals = [rw.plain_vector(literal_of[c.query]) if plain else literal_of[c.query]
                        for c, plain in zip(calls, rw.literals_only(tokens, calls))]
            tokens = rw.splice_tokens(tokens, calls, literals)
        tr = dialects.translate(tokens, target=self.dialect, catalog=self.catalog)
        sent_tokens = list(tr.tokens)
        statements = [t.text for t in sent_tokens]
        sent = SentText(src, calls, literals, vectors, sent_tokens)
        stats.translations = [sent.readable(n) for n in tr.notes]
        stats.warnings = [sent.readable(w) for w in tr.warnings]
        for st in sent_tokens:
            for w in dialects.lint(st, self.catalog, dialect=self.dialect, settings=settings):
                w = sent.readable(w)
                if w not in stats.warnings:
                    stats.warnings.append(w)
        kinds = [statement_kind(t) for t in sent_tokens]
        shown = ";\n".join(statements)
        for lit in dict.fromkeys(literals):  # our vectors elided without scanning their digits
            shown = shown.replace(lit, rw.elided_vector(lit))
        stats.sent_sql = elide_vectors(shown)
        searches = _recognize(sent_tokens, kinds, self.dialect)
        return Prepared(src.text, statements, stats, kinds, sent_tokens, sent,
                        recognized=list(statements), searches=searches)

    def _embed(self, queries, calls):
        """The embedder's vectors for `queries`; an input error about one EMBED call as a whole
        (weights that cancel) names that call as written, at its line and column."""
        from embed.errors import InputError

        try:
            return self.embedder.embed(queries)
        except InputError as exc:
            call = next((c for c in calls if c.query.describe() == exc.input), None)
            if call is None:
                raise
            raise RewriteError(f"cannot embed {call.text}: {exc.reason}", line=call.line, col=call.col,
                               hint=exc.hint) from None

    def _prepare_large(self, src: Statement) -> Prepared | None:
        """A large statement (a data dump's INSERT) with nothing for embedsql to do in it (no
        EMBED, nothing the bridge or the lints look at) and a head that says it returns no rows
        is sent as written without being lexed into tokens (the fast pass still checks its
        quoting). None for any other statement."""
        from ..text import dialects
        from ..text import rewrite as rw
        from ..text.kinds import LARGE, head_kind

        text = src.text
        if len(text) <= LARGE or rw.has_embed_word(text) or dialects.may_change(text, self.dialect):
            return None
        kind = head_kind(text)
        if kind is None:
            return None
        stats = Stats(sent_sql=elide_vectors(text))
        return Prepared(text, [text], stats, [kind], [], SentText(src, [], [], [], []))

    def _literal(self, query, vector) -> str:
        """The vector literal of an EMBED query, formatted once per distinct vector: in its wire
        form (`sqlext.text.rewrite.cast_vector`: parsed faster, same type and values) on the
        embedded engine and on ClickHouse servers with the vector search settings the planner
        uses (25.8 and later: the versions whose index use of it matches chdb's, where it was
        tested); elsewhere (MyScale, older servers) the array literal itself."""
        from ..text import rewrite as rw

        hit = self._literals.get(query)
        if hit is not None and hit[0].shape == vector.shape and (hit[0] is vector or (hit[0] == vector).all()):
            return hit[1]
        literal = rw.format_vector(vector)
        if self.dialect == "clickhouse" and (self.backend.embedded or self._planner_available()):
            literal = rw.cast_vector(literal)
        if len(self._literals) >= 256:
            self._literals.clear()
        self._literals[query] = (vector, literal)
        return literal

    def _column_refs(self, tokens: Tokens, calls) -> list[tuple]:
        """(call, table, column) for each EMBED compared with a column of a table the statement
        names (table aliases followed)."""
        out = []
        tables = None
        for c in calls:
            col = getattr(c, "compared_column", None)
            if not col:
                continue
            col = col.strip("`\"")
            qual, _, bare = col.rpartition(".")
            if tables is None:
                tables = []
                for ref in table_refs(tokens):
                    pair = (ref.name, ref.alias or ref.name.rpartition(".")[2])
                    if pair not in tables:
                        tables.append(pair)
            for name, alias in tables:
                if qual and qual not in (name, name.rpartition(".")[2], alias):
                    continue
                out.append((c, name, bare))
                break
        return out

    def _check_models(self, refs):
        """EMBED compared with a column that records another model: ModelMismatch (see
        sqlext.db.model_check), positioned at the EMBED call."""
        from .model_check import ModelMismatch, check_column_model

        for call, table, col in refs:
            try:
                recorded = self.catalog.column_model_record(table, col)
            except EmbedSQLError:
                return
            if not recorded.get("model"):
                continue
            try:
                check_column_model(table, col, recorded, self.embedder.identity,
                                   lambda: self.count_rows(table), model_ref=self.embedder.runtime.model_ref)
            except ModelMismatch as exc:
                where = f"{exc.table}.{exc.column}"
                msg = exc.message.replace(f"{where} is for model", f"{where}, which is for model", 1)
                raise RewriteError(f"EMBED is compared with {msg}", line=call.line, col=call.col,
                                   hint=exc.hint) from None

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

    def count_rows(self, table: str) -> int:
        """The number of rows in `table` ('t' or 'db.t', quoted or not; the session's database
        when none is named): `SELECT count() FROM` it, sent verbatim. Raises `ServerError` (no
        such table, or the server refuses) and the connection errors of `query`."""
        from ..text import ddl

        return int(self.query(f"SELECT count() FROM {ddl.qualified_name(table, always=True)}",
                              verbatim=True).rows[0][0])

    def rewrite(self, sql: "str | Statement") -> str:
        """The exact SQL that would be sent (several statements joined by ';\\n')."""
        return self.prepare(sql).sql

    def explain(self, sql: "str | Statement", *, settings: dict | None = None) -> Prepared:
        """What `query` would send (the SQL, translations, lints, embedding stats), and the vector
        plan it would start with (the planner's row counts run; the statement does not).
        `stats.plan` holds the plan of the last statement with a top-k search; the check after
        the run may still switch it to an exact scan."""
        p = self.prepare(sql, settings=settings)
        for i in range(len(p.statements)):
            if p.kinds[i].is_query:
                with self._client():
                    plan = self._plan(p, i, settings)
                if plan is not None:
                    p.stats.plan = plan
        return p

    def cancel(self, thread: int | None = None) -> bool:
        """Ask the server to kill the statements this session is running (call it from another
        thread): the one thread `thread` (a `threading.get_ident()`) is sending, or with None
        every one. True when a KILL QUERY was sent; False when none runs, and on the embedded
        engine, which cannot interrupt a statement. Raises ConnectionFailed / ServerError when
        the server cannot be asked."""
        running = {t: list(q) for t, q in list(self._running.items())}
        qids = [q for t, ids in running.items() if thread is None or t == thread for q in ids]
        return self._kill(qids)

    def _kill(self, qids: list[str]) -> bool:
        """KILL QUERY (ASYNC) each of these query ids, over a connection of its own."""
        if not qids or self.backend.embedded:
            return False
        killer = self.backend.new_http_client(timeout=30)
        try:
            for qid in qids:  # our uuid hex
                killer.command(f"KILL QUERY WHERE query_id = '{qid}' ASYNC")
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
        embedsql's own defaults and plans never override them. Query parameters
        (`SET param_name = '…'`) are not among them: they are sent as parameters, to each
        statement with a `{name:Type}` placeholder (`_params`)."""
        return dict(self._user_settings)

    def _use_statement(self, c, prepared: Prepared, i: int, st: str, params, settings) -> None:
        """Statement i of `prepared`, a USE: its database (a `{name:Identifier}` placeholder bound
        from `params`) becomes the session's (`_use`). Raises UsageError for a USE it cannot read
        or an unbound placeholder, and the engine's error, mapped, for a missing database."""
        name = parse_use(st)
        if name and name.startswith("{"):
            value = (params or {}).get(name[1:]) if isinstance(params, dict) else None
            name = str(value) if value is not None else ""
        if not name:
            raise UsageError(f"embedsql cannot read this USE: {st.strip()[:80]}",
                             hint="write USE name (a placeholder needs its value in params=)")
        with self._sending(prepared, {}, settings, {}, i):
            self._use(c, name)

    def _use(self, c, database: str) -> None:
        """Run a `USE database` the way clickhouse-connect does: as the client's database, which
        it sends with every statement (over HTTP, where each request is its own session) or binds
        the embedded engine's handle to before each one (the handle is every session's of the
        process, and reopens after an idle pause: a USE sent as a statement was lost, or leaked
        into another session). A probe statement makes the engine say whether the database
        exists. From then on the session's statements, its catalog and its planner read
        unqualified names there. Raises the driver's error (UNKNOWN_DATABASE) unmapped, or
        ServerError (code 81) for a database dropped since the handle was bound to it."""
        before = c.database
        c.database = database
        try:
            # (clickhouse-connect skips its own USE when its handle was bound to that name before:
            # a database dropped since would pass the probe alone)
            if not int(str(c.command("SELECT count() FROM system.databases WHERE name = {d:String}",
                                     parameters={"d": database}))):
                raise ServerError(f"Code: 81. DB::Exception: Database {database} does not exist. "
                                  f"(UNKNOWN_DATABASE)", code=81)
        except BaseException:
            c.database = before
            raise
        self._database = database
        if self._catalog is not None:
            self._catalog.use(database)
        if self._planner is not None:
            self._planner.invalidate()

    def _statement_settings(self, statement: str, settings: dict | None, ours: dict) -> dict:
        """The settings `statement` is sent with: what the user SET earlier in the session, the
        call's `settings`, then `ours` (the plan's). A `SET` goes without the earlier values of the
        settings it names: sent beside `SET a = DEFAULT`, `a`'s old value would be what it
        restores."""
        from ..text.topk import parse_set

        mine = self._user_settings
        named = parse_set(statement) if mine else None
        if named:
            mine = {k: v for k, v in mine.items() if k not in named}
        return {**mine, **(settings or {}), **ours}

    def _track_set(self, statement: str) -> None:
        """After `statement` ran: remember the settings of a `SET a = 1, …`, and apart from them
        its query parameters (`param_name`). `SET a = DEFAULT` forgets `a` (ClickHouse's default
        applies again; sent with later statements, the word would be read as a value)."""
        from ..text.topk import parse_set

        for k, v in (parse_set(statement) or {}).items():
            kept, name = ((self._user_params, k.removeprefix("param_")) if k.startswith("param_")
                          else (self._user_settings, k))
            if v.strip().upper() == "DEFAULT":
                kept.pop(name, None)
            else:
                kept[name] = _setting_value(v)

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
        cost model (`exact_settings` = PARALLEL_SCAN_SETTINGS, plus EMBEDDED_EXACT_SETTINGS on the
        embedded engine: a config set in its place without them reads exact plans the default
        way; `no_index_settings` = NO_VECTOR_SEARCH wherever the engine has that setting)."""
        if self._planner is None:
            from .planner import (EMBEDDED_EXACT_SETTINGS, NO_VECTOR_SEARCH, PARALLEL_SCAN_SETTINGS, Planner,
                                  PlannerConfig)

            def run(sql, settings, params=None):
                with self._client() as c:
                    return list(c.query(sql, parameters=params, settings=settings or None).result_rows)

            known = self._server_settings()
            config = PlannerConfig(
                exact_settings={**PARALLEL_SCAN_SETTINGS, **(EMBEDDED_EXACT_SETTINGS if self.backend.embedded else {})},
                no_index_settings={k: v for k, v in NO_VECTOR_SEARCH.items() if known is None or k in known})
            self._planner = Planner(run, self.catalog, config)
        return self._planner

    def _server_settings(self) -> set | None:
        """The names, among those the planner sends (NEEDED_SETTINGS, NO_VECTOR_SEARCH), that the
        server's system.settings lists; None on the embedded engine (its ClickHouse is the one
        embedsql is built against). An empty set for MyScale (no planner there) and when the
        server cannot say."""
        if self.backend.embedded:
            return None
        if self.dialect != "clickhouse":
            return set()
        if self._known_settings is None:
            from .planner import NEEDED_SETTINGS, NO_VECTOR_SEARCH

            names = ", ".join(f"'{n}'" for n in (*NEEDED_SETTINGS, *NO_VECTOR_SEARCH))
            try:
                self._known_settings = {r[0] for r in self._raw_query(
                    f"SELECT name FROM system.settings WHERE name IN ({names})")}
            except EmbedSQLError:
                self._known_settings = set()
        return self._known_settings

    def _planner_available(self) -> bool:
        """Whether plans can be sent: the embedded engine, or a ClickHouse server listing every
        NEEDED_SETTINGS (25.8 and later); never MyScale."""
        from .planner import NEEDED_SETTINGS

        if self.dialect != "clickhouse":
            return False
        known = self._server_settings()
        return known is None or set(NEEDED_SETTINGS) <= known

    def _plan(self, prepared: Prepared, i: int, settings: dict | None, params: dict | None = None):
        """The planner's plan for statement i of `prepared`, or None when it has no top-k search
        (or the server lacks the settings plans need). `params`: the statement's query parameters
        as `_params` completes them (its planning queries need them too)."""
        from .planner import VectorPlan

        if not prepared.searches or not prepared.searches[i]:
            return self._unrecognized_plan(prepared, i, settings)
        if self.dialect != "clickhouse":
            return VectorPlan("none", "MyScale filters inside its vector index search: the planner does not act")
        if not self._planner_available():
            return VectorPlan("none", "this server lacks the vector search settings the planner uses "
                                      "(ClickHouse 25.8 or later has them)")
        from ..text.topk import only_search

        rec = prepared.recognized[i]
        bound = self._params(rec, params)
        # a LIMIT / OFFSET placeholder takes the value the statement is sent with
        searches = [t.with_params(bound if isinstance(bound, dict) else None) for t in prepared.searches[i]]
        if any(t is None for t in searches):  # unbound, or not a count: not planned
            return self._unrecognized_plan(prepared, i, settings)
        toks = prepared.tokens[i] if i < len(prepared.tokens) and prepared.tokens[i].text == rec else None
        return self.planner.plan(rec, searches, fill=prepared.fill,
                                 user=self._given_settings(rec, settings), dialect=self.dialect,
                                 sole=None if toks is None else only_search(toks, searches),
                                 params=bound)

    def _unrecognized_plan(self, prepared: Prepared, i: int, settings: dict | None, *, writes: bool = False):
        """For statement i, which orders by a vector distance with a LIMIT in a form the planner
        does not read (`FETCH FIRST`, a `dotProduct … DESC` search, a cast it does not know, a
        LIMIT placeholder without a value…): a plan that turns ClickHouse's vector search off for
        the statement (`no_index_settings`; `use_skip_indexes = 0` where the server lacks it), so the
        rows are exact rather than post-filtered by an index nobody checks. `writes`: also for
        an INSERT … SELECT or CREATE … AS SELECT (its rows are stored: the planner does not plan
        them, so any search in them runs exactly). None for any other
        statement, on MyScale, on servers without the planner's settings, and when the user set
        a setting that chooses the plan (`planner._pins`; any query_plan_try_use_vector_search or
        force_data_skipping_indices): theirs decides."""
        from .planner import NO_SEARCH_KEY, PLAN_KEYS, VectorPlan, _pins

        kind = prepared.kinds[i]
        if self.dialect != "clickhouse" or kind.name == "explain" or not (
                kind.is_query or (writes and kind.name in ("insert", "create"))):
            return None  # (EXPLAIN shows what ClickHouse would do with the statement as written)
        text = prepared.recognized[i] if prepared.recognized else prepared.statements[i]
        if writes and (len(text) > _GUARD_MAX or _inline_data_insert(text)):
            return None  # data, not a query
        toks = prepared.tokens[i] if i < len(prepared.tokens) else None
        if not (_maybe_search(text) or (toks is not None and may_search(toks))) or not self._planner_available():
            return None
        user = self._given_settings(text, settings)
        # the user's choice about the index decides (a candidate list, use_skip_indexes = 1 or
        # another index ignored decide nothing: the index stays off); their forcing an index could
        # not be met with vector search off
        if any(k in (NO_SEARCH_KEY, "force_data_skipping_indices") or (k in PLAN_KEYS and _pins(k, v, set()))
               for k, v in user.items()):
            return None
        off = dict(self.planner.config.no_index_settings) or {"use_skip_indexes": 0}
        if any(k in user for k in off):
            return None  # (use_skip_indexes given, where that is the only way to turn the index off)
        return VectorPlan("exact", "the statement orders by a vector distance with a LIMIT in a form the "
                          "planner does not read: ClickHouse's vector search is off for it, so its "
                          "rows are exact (see README, Hybrid search)", settings=off, fallback=dict(off))

    def _our_settings(self, prepared: Prepared, i: int, st: str, plan, settings: dict | None, *,
                      checked: bool = True) -> dict:
        """Settings embedsql adds to query statement i: the plan's, else the shipped defaults;
        never a key the user gave. `checked=False`: the rows cannot be counted after the run (a
        statement with its own FORMAT returns bytes), so a post-filtered index plan is replaced
        by its exact fallback rather than risk a short answer."""
        rec = prepared.recognized[i] if prepared.recognized else st
        user = self._given_settings(rec, settings)
        if plan is not None and plan.kind != "yours" and (plan.kind != "none" or plan.settings):
            ours = dict(plan.settings)
            if not checked and any(sp.choice == "index" and sp.filtered for sp in plan.searches):
                ours = dict(plan.fallback)
                plan.settings = ours
                plan.checked = ("not checked (the statement's own FORMAT returns bytes): ran as an "
                                "exact scan")
        else:
            ours = self._default_settings(st if len(st) < 20_000 else rec, user)
        merged = plan.merged if plan is not None else ()
        return {k: v for k, v in ours.items() if k.lower() not in user or k in merged}

    def _send(self, prepared: Prepared, *, as_query: bool | None, params=None, settings=None) -> Result:
        t0 = time.perf_counter()
        result = Result(stats=prepared.stats)
        with self._client() as c:
            for i, st in enumerate(prepared.statements):
                last = i == len(prepared.statements) - 1
                mode = _mode(prepared.kinds[i], as_query, last)
                planned = mode != "command" and not prepared.verbatim
                bound = self._params(st, params)
                if prepared.kinds[i].name == "use":
                    self._use_statement(c, prepared, i, st, bound, settings)
                    continue
                if planned:
                    plan = self._plan(prepared, i, settings, bound)
                    ours = self._our_settings(prepared, i, st, plan, settings, checked=mode == "rows")
                elif not prepared.verbatim:  # INSERT … SELECT, CREATE … AS SELECT over a search
                    plan = self._unrecognized_plan(prepared, i, settings, writes=True)
                    ours = {} if plan is None else self._our_settings(prepared, i, st, plan, settings)
                else:
                    plan, ours = None, {}
                st_settings = self._statement_settings(st, settings, ours)
                if plan is not None:
                    result.stats.plan = plan
                if mode == "rows":
                    with self._sending(prepared, st_settings, settings, ours, i) as sent:
                        summ = self._read_rows(c, st, prepared, i, bound, sent, result)
                    if plan is not None and plan.needs_exact_rerun(len(result.rows)):
                        # a post-filtered index search gave too few rows: the plan's exact fallback
                        exact = {**{k: v for k, v in st_settings.items() if k not in ours}, **plan.fallback}
                        with self._sending(prepared, exact, settings, plan.fallback, i) as sent:
                            summ = self._read_rows(c, st, prepared, i, bound, sent, result)
                        plan.rows = len(result.rows)
                elif mode == "raw":
                    with self._sending(prepared, st_settings, settings, ours, i) as sent:
                        result.raw = c.raw_query(st, parameters=bound, settings=sent)
                    summ = {}
                else:
                    with self._sending(prepared, st_settings, settings, ours, i) as sent:
                        r = c.command(st, parameters=bound, settings=sent)
                    summ = getattr(r, "summary", None) or {}
                    if not hasattr(r, "summary") and r is not None:
                        result.message = str(r)
                    elif isinstance(summ, dict) and summ.get("written_rows"):
                        result.message = f"{summ['written_rows']} rows written"
                self._track_set(st)  # whichever way it was sent
                if isinstance(summ, dict):
                    if summ.get("elapsed_ns"):
                        result.stats.server_ms = (result.stats.server_ms or 0) + int(summ["elapsed_ns"]) / 1e6
                    if summ.get("read_rows"):
                        result.stats.rows_read = (result.stats.rows_read or 0) + int(summ["read_rows"])
        self._after_send(prepared)
        result.stats.total_ms = (time.perf_counter() - t0) * 1000 + prepared.stats.embed_ms
        return result

    def _read_rows(self, c, st: str, prepared: Prepared, i: int, params, st_settings, result: Result) -> dict:
        """Run statement i of `prepared` as a query and put its columns (named in the user's
        terms), types and rows in `result`. Returns the server's summary."""
        kind = prepared.kinds[i]
        if not kind.format_appendable:
            # EXPLAIN AST: a FORMAT appended by the driver would be explained too; its output is
            # one String column `explain`, in TabSeparated
            body = c.raw_query(st, parameters=params, settings=st_settings or None)
            columns, types, rows = _rows_from_tsv(body, columns=["explain"], types=["String"])
            summ = {}
        elif kind.name in _DRIVER_COMMANDS:
            # clickhouse-connect sends CHECK / KILL as commands (untyped text): read their rows
            # from TabSeparatedWithNamesAndTypes instead
            body = c.raw_query(st, parameters=params, settings=st_settings or None,
                               fmt="TabSeparatedWithNamesAndTypes")
            columns, types, rows = _rows_from_tsv(body)
            summ = {}
        else:
            r = c.query(st, parameters=params, settings=st_settings or None)
            columns, types, rows = list(r.column_names), [t.name for t in r.column_types], list(r.result_rows)
            summ = getattr(r, "summary", None) or {}
            if not columns:  # an empty result carries no header: ask for it
                columns, types = _empty_result_columns(c, st, kind, params, st_settings)
            elif kind.name == "select" and any(_BARE_DATETIME.search(t) for t in types) \
                    and self._drops_datetime_zone(c):
                types, rows = _datetime_zones(c, st, params, st_settings, types, rows)
        result.columns = prepared.sent.column_names(columns) if prepared.sent is not None else columns
        result.types = types
        result.rows = rows
        return summ

    def _drops_datetime_zone(self, c) -> bool:
        """Whether the database leaves the time zone out of a `DateTime('tz')` column's type in
        its Native answers (chdb does; `DateTime64('tz')` keeps it), so that clickhouse-connect
        reads such a column as a plain DateTime in UTC. Asked once per session."""
        if self._native_drops_tz is None:
            try:
                r = c.query("SELECT toDateTime(0, 'Asia/Tokyo') AS t")
                self._native_drops_tz = "Asia/Tokyo" not in r.column_types[0].name
            except Exception:  # noqa: BLE001 - unknown: assume it may, and DESCRIBE when in doubt
                self._native_drops_tz = True
        return self._native_drops_tz

    def _server_error(self, exc: Exception, prepared: Prepared, i: int, st_settings, settings,
                      ours: dict | None = None) -> EmbedSQLError:
        """A driver error of statement i as one of ours, in the user's terms: line and column in
        the text as written, EMBED calls instead of vectors, settings embedsql added left out."""
        text, line, col = str(exc), None, None
        if 0 <= i < len(prepared.statements):
            text = self._parse_error_alone(text, prepared.statements[i]) or text
        if prepared.sent is not None:  # before map_error cuts a long message
            text, line, col = prepared.sent.map_message(text, i)
        err = map_error(exc, self.spec, text)
        if line is not None:
            err.line, err.col = line, col
        err.message = _strip_settings(err.message, ours or {})
        if getattr(err, "code", None) == _UNKNOWN_TABLE:
            self._missing_table(err)
        if len(prepared.statements) > 1:
            err.message = f"statement {i + 1} of {len(prepared.statements)} failed: {err.message}"
        return err

    def _missing_table(self, err: ServerError) -> None:
        """A table that does not exist (ClickHouse code 60): the analyzer's `In scope <the whole
        statement, as it rewrote it>` left out (it shows what the server made of the text, not
        the text written, and the table's name says what is missing), and a hint: for the
        built-in `photos` table, the migration that creates it; else how to list the tables."""
        err.message = _IN_SCOPE.sub("", err.message)
        m = _MISSING_TABLE.search(err.message)
        name = (m.group(1) or m.group(2)) if m else ""
        if err.hint:
            return
        if name.rsplit(".", 1)[-1].strip("`\"") == _BUILTIN_TABLE:
            err.hint = (f"`{self.migrate_up}` creates the built-in {_BUILTIN_TABLE} table; `embedsql ingest` "
                        f"or `embedsql demo` fills it")
        else:
            err.hint = (f"`SHOW TABLES` lists the tables of this database; `{self.migrate_up}` creates the "
                        f"built-in {_BUILTIN_TABLE} table")

    def _parse_error_alone(self, message: str, statement: str) -> str | None:
        """The server's parser error for `statement` alone, where the driver's error `message`
        came from the text clickhouse-connect appends (`FORMAT Native`): a statement cut short
        (`… WHERE`, `SELECT 1 +`) reads on into it, and ClickHouse then reports a syntax error in
        `Native` or an unknown identifier `FORMAT`. Asked with `formatQuery` (ClickHouse 23.10+;
        it parses and runs nothing), whose positions are the statement's own. None when the
        message is not such an error, the statement parses alone, or the server cannot say."""
        from .sent import _POSITION_RE

        m = _POSITION_RE.search(message)
        past_end = m is not None and int(m.group(1)) > len(statement.encode("utf-8"))
        if not (past_end or "`FORMAT`" in message) or len(statement) > 1_000_000:
            return None
        literal = "'" + statement.replace("\\", "\\\\").replace("'", "\\'") + "'"
        try:
            self._raw_query(f"SELECT formatQuery({literal})")
        except Exception as err:  # noqa: BLE001 - a better message only; the driver's own errors
            text = str(getattr(err, "message", err))
            if "Syntax error" not in text:
                return None
            # what the server says of our formatQuery call after the parser's message (26.x: `In
            # scope SELECT formatQuery(...)`; older: `While processing formatQuery(...)`) goes,
            # the statement it quotes with it
            at = text.find("formatQuery(")
            if at < 0:
                return text
            head = re.sub(r"[\s:.]*(?:In scope|While processing)?\s*(?:SELECT\s*)?$", "", text[:at])
            return head + ". (SYNTAX_ERROR)"
        return None

    def _after_send(self, prepared: Prepared) -> None:
        if self._catalog is not None and not all(k.is_query for k in prepared.kinds):
            self._catalog.invalidate()
            if self._planner is not None:
                self._planner.invalidate()

    @staticmethod
    def _one_statement(sql, what: str) -> None:
        """Raise UsageError when the text `sql` holds several statements (`a; b`): sent as one,
        the engine ran them all and the rows were the last one's bytes, unplanned. (An INSERT
        with its data after FORMAT, and any text over `LARGE`, is not split: data may hold `;`.)"""
        from ..text.kinds import LARGE
        from ..text.split import split_statements

        if not isinstance(sql, str) or ";" not in sql or len(sql) > LARGE or _inline_data_insert(sql):
            return
        count = len(split_statements(sql))
        if count > 1:
            raise UsageError(f"{what} runs one statement; this text holds {count}",
                             hint="send them one at a time, or run the text as a script: "
                                  "Session.run_script(text) (`embedsql query -f FILE`)")

    def _prepared(self, sql: "str | Statement | Prepared", verbatim: bool, settings: dict | None) -> Prepared:
        """`prepare`, or for `verbatim` text the statement exactly as given (its kind read); a
        `Prepared` (from `prepare`) as it is: EMBED is not resolved again."""
        if isinstance(sql, Prepared):
            return sql
        if not verbatim:
            return self.prepare(sql, settings=settings)
        text = sql.text if isinstance(sql, Statement) else sql
        return Prepared(text, [text], Stats(sent_sql=elide_vectors(text)), kinds=[kind_of(text)],
                        verbatim=True)

    def query(self, sql: "str | Statement", *, params: dict | None = None, settings: dict | None = None,
              verbatim: bool = False) -> Result:
        """Run a statement that returns rows; `Result.columns` / `types` / `rows` (columns and
        types even for an empty result). A statement of several (a translation may make two)
        runs the earlier ones as commands.

        `params` binds server-side parameters (`{name:Type}` placeholders in `sql`); `settings`
        are ClickHouse settings for this statement. `verbatim=True` sends `sql` exactly as given:
        no EMBED, no dialect translation, no lints, no default settings. Raises the errors of
        `prepare`; `UsageError` for a statement with its own FORMAT clause (use `raw_query`);
        `ServerError` (or `ConnectionFailed` / `EngineBusy`) when the database refuses the
        statement or cannot be reached, with positions in the text as written."""
        self._one_statement(sql, "query()")
        return self._send(self._prepared(sql, verbatim, settings), as_query=True, params=params, settings=settings)

    def command(self, sql: "str | Statement", *, params: dict | None = None, settings: dict | None = None,
                verbatim: bool = False) -> Result:
        """Run a statement for its effect (DDL, INSERT, SET ...); `Result.message` holds what the
        server answered. Arguments and errors as `query`."""
        self._one_statement(sql, "command()")
        return self._send(self._prepared(sql, verbatim, settings), as_query=False, params=params, settings=settings)

    def execute(self, sql: "str | Statement", *, params: dict | None = None, settings: dict | None = None,
                verbatim: bool = False) -> Result:
        """Run any statement, the way its kind says (`sqlext.text.kinds`): rows for a query
        (`Result.columns/types/rows`), the server's answer for a command (`Result.message`), the
        server's bytes for a statement with its own FORMAT or INTO OUTFILE clause (`Result.raw`).
        Arguments and errors as `query`."""
        self._one_statement(sql, "execute()")
        return self._send(self._prepared(sql, verbatim, settings), as_query=None, params=params, settings=settings)

    # -- columnar results: Arrow, pandas, numpy ------------------------------------------------
    def _prepare_one(self, sql: "str | Prepared", *, verbatim: bool, settings: dict | None, what: str,
                     checked: bool = True, params: dict | None = None) -> tuple[Prepared, str, dict, dict, object]:
        """The one statement `sql` holds, prepared as `query` prepares it (EMBED, translation,
        lints, the planner's plan; as given with `verbatim`). Returns (prepared, the statement to
        send (a trailing `;` dropped: it is wrapped in DESCRIBE or gets a FORMAT), the settings to
        send it with (SET, the call's, then embedsql's), embedsql's own among them, the plan or
        None). `checked=False`: the rows cannot be counted before they are handed out (a stream),
        so a post-filtered index plan runs as its exact fallback. The step every columnar method
        shares. `sql` may be a `Prepared` from `prepare` (used as it is). Raises the errors of
        `prepare`, and `UsageError` for several statements or a statement with its own FORMAT
        clause."""
        from ..text.split import split_statements

        if isinstance(sql, Prepared):
            prepared = sql
        else:
            count = len(split_statements(sql))
            prepared = self._prepared(sql, verbatim, settings) if count == 1 else None
        if prepared is None or len(prepared.statements) != 1:
            count = count if prepared is None else len(prepared.statements)
            raise UsageError(f"{what} runs one statement; this text holds {count}",
                             hint="run the others with execute() or run_script() first")
        kind = prepared.kinds[0]
        if kind.format is not None:
            raise UsageError(f"{what} reads the result as Arrow, but the statement has its own FORMAT clause",
                             hint="remove the FORMAT clause, or use raw_query() for the server's bytes")
        st = prepared.statements[0]
        parts = split_statements(st)
        if len(parts) == 1:
            st = parts[0].text
        planned = kind.is_query and not prepared.verbatim
        plan = self._plan(prepared, 0, settings, params) if planned else None
        ours = self._our_settings(prepared, 0, st, plan, settings, checked=checked) if planned else {}
        if plan is not None:
            prepared.stats.plan = plan
        return prepared, st, self._statement_settings(st, settings, ours), ours, plan

    @contextlib.contextmanager
    def _sending(self, prepared: Prepared, st_settings: dict, settings: dict | None, ours: dict, index: int = 0):
        """Around one driver call that sends the statement of `prepared`: yields the settings to
        send (a query id added on a server, so `cancel` can stop it); Ctrl-C kills the query on a
        server; driver errors become ours as `query` reports them (`_server_error`)."""
        sent = dict(st_settings)
        me, qid = threading.get_ident(), None
        if not self.backend.embedded:
            qid = sent["query_id"] = uuid.uuid4().hex
            self._running.setdefault(me, []).append(qid)
        try:
            yield sent or None
        except EmbedSQLError:
            raise
        except KeyboardInterrupt:
            if qid:
                with contextlib.suppress(Exception):
                    self._kill([qid])
            raise
        except Exception as exc:
            if not is_driver_error(exc):
                raise
            raise self._server_error(exc, prepared, index, sent, settings, ours) from None
        finally:
            if qid:
                mine = self._running.get(me, [])
                if qid in mine:
                    mine.remove(qid)
                if not mine:
                    self._running.pop(me, None)

    @staticmethod
    def _user_names(prepared: Prepared, names: list[str]) -> list[str]:
        """Result column names in the user's terms (EMBED calls instead of vectors)."""
        return prepared.sent.column_names(names) if prepared.sent is not None else list(names)

    def _describe(self, statement: str, params: dict | None) -> list[tuple[str, str]]:
        """(name, ClickHouse type) of each column `statement` returns, asked with DESCRIBE (the
        server analyses the query without running it)."""
        with self._client() as c:
            return _describe_query(c, statement, self._params(statement, params))

    def columns_of(self, sql: "str | Prepared", *, params: dict | None = None, verbatim: bool = False) -> list[tuple[str, str]]:
        """The columns a query would return, as [(name, ClickHouse type)], without running it
        (EMBED is resolved, from the cache when it can be; the statement is analysed with
        DESCRIBE). For the header of an empty result. Arguments and errors as `query`; `sql`
        may be what `prepare` returned, as for `query_arrow`."""
        prepared, st, _, _, _ = self._prepare_one(sql, verbatim=verbatim, settings=None, what="columns_of")
        with self._client():
            described = self._describe(st, params)
        return list(zip(self._user_names(prepared, [n for n, _ in described]), [t for _, t in described]))

    def query_arrow(self, sql: "str | Prepared", *, params: dict | None = None, settings: dict | None = None,
                    verbatim: bool = False, fixed_vectors: bool = True):
        """Run one query and return a `pyarrow.Table` (columnar: no Python object per value).

        Types are ClickHouse's Arrow types, with these corrections (`sqlext.db.columnar`): a vector
        column whose arrays all have one length N is `fixed_size_list<float>[N]` (unless
        `fixed_vectors=False`; ragged arrays stay lists); a `DateTime` column is
        `timestamp[s, tz]` instead of ClickHouse's uint32 seconds; an `Enum8`/`Enum16` column is
        `dictionary<int16, string>` of its labels instead of the codes; an
        `Int128`/`UInt128`/`Int256`/`UInt256` column is `string` (the number's decimal digits, as
        the TUI's Parquet export writes it; field metadata `clickhouse_type` names the type)
        instead of raw bytes. An empty result keeps its
        columns. Arguments and errors as `query`; `UsageError` when the text holds several
        statements. `sql` may also be what `prepare` returned: it is sent as prepared (EMBED is
        not resolved again, so its `stats` say what that one preparation found in the cache)."""
        from .columnar import BatchFixer, fix_table

        prepared, st, st_settings, ours, plan = self._prepare_one(
            sql, verbatim=verbatim, settings=settings, what="query_arrow", params=params)
        params = self._params(st, params)
        with self._client() as c:
            with self._sending(prepared, st_settings, settings, ours) as sent:
                table = c.query_arrow(st, parameters=params, settings=sent)
            if plan is not None and plan.needs_exact_rerun(table.num_rows):
                # a post-filtered index search gave too few rows: the plan's exact fallback
                exact = {**{k: v for k, v in st_settings.items() if k not in ours}, **plan.fallback}
                with self._sending(prepared, exact, settings, plan.fallback) as sent:
                    table = c.query_arrow(st, parameters=params, settings=sent)
                plan.rows = table.num_rows
        table = fix_table(table, BatchFixer(lambda: self._describe(st, params), fixed_vectors))
        return table.rename_columns(self._user_names(prepared, table.column_names))

    def query_df(self, sql: str, *, params: dict | None = None, settings: dict | None = None,
                 verbatim: bool = False):
        """Run one query and return a pandas DataFrame (through Arrow). A vector column holds one
        numpy float32 array per row (views of one (rows, N) matrix); integer columns with NULLs use
        pandas' nullable dtypes (Int32, UInt64, ...); Int128/UInt128/Int256/UInt256 columns hold
        Python ints (object dtype); Enum columns are Categoricals of their labels; DateTime
        columns are tz-aware datetimes.
        Needs pandas (`pip install 'embedsql[pandas]'`). Arguments and errors as `query_arrow`."""
        try:
            import pandas  # noqa: F401
        except ImportError:
            raise UsageError("query_df needs pandas, which is not installed",
                             hint="pip install 'embedsql[pandas]'") from None
        from .columnar import to_pandas

        return to_pandas(self.query_arrow(sql, params=params, settings=settings, verbatim=verbatim))

    def query_np(self, sql: str, *, params: dict | None = None, settings: dict | None = None,
                 verbatim: bool = False):
        """Run one query and return numpy, shaped as clickhouse-connect's `query_np`: a 2-D array
        (rows, columns) when all columns share one dtype, else a structured array with a field per
        column. A vector column is an (N,)-shaped float32 field (`a["emb"]` is a (rows, N)
        matrix); a query of one vector column returns that (rows, N) matrix. Strings are Python
        objects; integer NULLs become NaN floats. Arguments and errors as `query_arrow`."""
        from .columnar import to_numpy

        table = self.query_arrow(sql, params=params, settings=settings, verbatim=verbatim)
        if table.num_rows == 0:
            table = self._sized_empty_vectors(sql, table)
        return to_numpy(table)

    def _sized_empty_vectors(self, sql, table):
        """An empty result has no arrays to read a vector column's length from: a column named
        as a vector column of a table the statement reads, whose length the catalog knows
        (`CHECK length(col) = N`, its index, its model comment), is typed
        fixed_size_list<float>[N], so `query_np` returns a (0, N) matrix that stacks with the
        full ones (it was (0, 1) of objects)."""
        import pyarrow as pa

        from ..text.tokens import tokenize

        lists = [i for i, f in enumerate(table.schema) if pa.types.is_list(f.type)
                 and pa.types.is_floating(f.type.value_type)]
        if not lists:
            return table
        try:
            text = sql.original if isinstance(sql, Prepared) else getattr(sql, "text", sql)
            refs = table_refs(tokenize(text))
        except Exception:  # noqa: BLE001 - sizing is a nicety: an unlexable text keeps the shape
            return table
        for i in lists:
            name = table.schema.field(i).name
            try:
                dims = {self.catalog.column_dim(r.name, name) for r in refs
                        if name in self.catalog.table_info(r.name).columns}
            except EmbedSQLError:
                continue
            dims.discard(None)
            if len(dims) == 1:
                f = table.schema.field(i)
                typ = pa.list_(f.type.value_field, dims.pop())
                table = table.set_column(i, f.with_type(typ), table.column(i).cast(typ))
        return table

    def query_arrow_stream(self, sql: "str | Prepared", *, params: dict | None = None, settings: dict | None = None,
                           verbatim: bool = False, fixed_vectors: bool = True, batch_rows: int = 65536):
        """Run one query and read its result as `pyarrow.RecordBatch` objects while they arrive,
        never holding the whole result: for results larger than memory.

            with session.query_arrow_stream("SELECT id, photo_embed FROM photos") as stream:
                for batch in stream:        # pyarrow.RecordBatch, same corrections as query_arrow
                    ...

        On a server, one batch per block the server sends; on the embedded engine, batches of
        `batch_rows` rows. EMBED is resolved (and `prepare`'s errors raised) before this returns;
        database errors arrive while iterating. The database is held (the embedded engine kept
        from other processes) until the stream is exhausted or closed; closing early on a server
        kills the query there. A vector column's dimension is fixed by the first batch with rows:
        a later batch whose arrays have another length raises `UsageError` (pass
        `fixed_vectors=False` for variable-length lists). Iterate it in one thread. `sql` may be
        what `prepare` returned, as for `query_arrow`. Returns a `sqlext.db.columnar.ArrowStream`."""
        from .columnar import ArrowStream, BatchFixer, fix_batch

        if not isinstance(batch_rows, int) or batch_rows < 1:
            raise UsageError(f"batch_rows must be a positive number of rows, not {batch_rows!r}")
        prepared, st, st_settings, ours, _ = self._prepare_one(
            sql, verbatim=verbatim, settings=settings, what="query_arrow_stream", checked=False,
            params=params)
        params = self._params(st, params)

        def batches():
            fixer = BatchFixer(lambda: self._describe(st, params), fixed_vectors)
            names = None
            finished = False
            with self._client() as c, self._sending(prepared, st_settings, settings, ours) as sent:
                try:
                    for batch in self.backend.arrow_batches(c, st, params, sent, batch_rows):
                        batch = fix_batch(batch, fixer)
                        names = names or self._user_names(prepared, batch.schema.names)
                        yield batch.rename_columns(names)
                    finished = True
                finally:
                    if not finished and sent and sent.get("query_id"):
                        with contextlib.suppress(EmbedSQLError):
                            self._kill([sent["query_id"]])  # stopped early: the server would go on computing

        return ArrowStream(batches())

    def raw_query(self, sql: "str | Statement", *, fmt: str | None = None, params=None,
                  settings=None) -> bytes:
        """Run one statement (EMBED and the dialect bridge applied, like `query`) and return the
        server's bytes as they are, the way clickhouse-client prints them.

        `fmt`: the output format (`"CSV"`, `"JSONEachRow"`, ...) for a statement that returns rows
        and has no FORMAT clause of its own; None: the statement's own FORMAT clause decides, and
        without one the server's default (TabSeparated) applies. A statement's own FORMAT always
        wins over `fmt` (as with clickhouse-client's --format); a statement without rows ignores
        `fmt` and returns b"". EXPLAIN AST is always answered in TabSeparated: a FORMAT after it,
        written or appended, would be part of the query it explains. `params`: server-side parameters (`{name:Type}`); `settings`: query
        settings. Raises UsageError for a bad `fmt`, and the errors `query` raises."""
        _check_format(fmt)
        self._one_statement(sql, "raw_query()")
        prepared = self.prepare(sql, settings=settings)
        return b"".join(self._raw(prepared, fmt, params, settings, stream=False))

    def raw_stream(self, sql: "str | Statement", *, fmt: str | None = None, params=None,
                   settings=None) -> "RawStream":
        """`raw_query`, as an iterator of byte chunks (in the order the server sends them): a
        `RawStream`, whose `stats` say what was sent (SQL with vectors elided, translations,
        lints, embedding time). The statement is prepared (EMBED resolved) at once and sent on
        the first `next()`; the embedded engine is held until the stream is exhausted or closed
        (`with session.raw_stream(...) as chunks:`). On the embedded engine, formats with a header
        or footer (JSON, CSVWithNames, Parquet, ...) and statements sent with settings come in one
        chunk (clickhouse-connect's chdb client reads them whole: per-block chunks would not
        concatenate into a valid document)."""
        _check_format(fmt)
        self._one_statement(sql, "raw_stream()")
        prepared = self.prepare(sql, settings=settings)
        return RawStream(self._raw(prepared, fmt, params, settings, stream=True), prepared.stats)

    def _raw(self, prepared: Prepared, fmt, params, settings, stream: bool) -> Iterator[bytes]:
        with self._client() as c:
            n = len(prepared.statements)
            for i, st in enumerate(prepared.statements):
                kind = prepared.kinds[i]
                ours = {}
                bound = self._params(st, params)
                if kind.name == "use":  # (no bytes: a USE answers nothing)
                    self._use_statement(c, prepared, i, st, bound, settings)
                    continue
                if kind.is_query:  # rows in bytes cannot be counted: a filtered index plan runs exactly
                    plan = self._plan(prepared, i, settings, bound)
                    ours = self._our_settings(prepared, i, st, plan, settings, checked=False)
                    if plan is not None:
                        prepared.stats.plan = plan
                st_settings = self._statement_settings(st, settings, ours)
                use_fmt = fmt if (fmt and kind.format is None and kind.format_appendable
                                  and (kind.returns_rows or kind.into_outfile)) else None
                with self._sending(prepared, st_settings, settings, ours, i) as sent:
                    if i < n - 1:
                        c.command(st, parameters=bound, settings=sent)
                    elif not stream:
                        yield c.raw_query(st, parameters=bound, settings=sent, fmt=use_fmt)
                    else:
                        source = c.raw_stream(st, parameters=bound, settings=sent, fmt=use_fmt)
                        try:
                            while True:
                                chunk = source.read(_CHUNK)
                                if not chunk:
                                    break
                                yield chunk
                        finally:
                            with contextlib.suppress(Exception):
                                source.close()
                self._track_set(st)
        self._after_send(prepared)

    def insert(self, table: str, data, column_names: list[str], *, column_types: list[str] | None = None,
               column_oriented: bool = False, settings: dict | None = None):
        """Insert Python values: `data` is a list of rows (or of columns with
        `column_oriented=True`) in `column_names` order. `column_types` (ClickHouse type names)
        spares the driver a DESCRIBE. `table` is "t" or "db.t". Raises `UsageError` for a value
        its column's type cannot take (the message names the column, its type, the value, its
        row and the problem; nothing is inserted), and `ServerError` when the database refuses
        the insert or cannot be reached."""
        with self._client() as c:  # _client maps driver errors raised inside it
            ctx = c.create_insert_context(table, column_names, column_type_names=column_types,
                                          column_oriented=column_oriented, settings=settings)
            try:
                return c.insert(data=data, context=ctx)
            except Exception as exc:
                from clickhouse_connect.driver.exceptions import DataError

                # a Python value the driver could not serialize: builtin errors, or its DataError
                # ("Unable to create native array for column `a`")
                if isinstance(exc, DataError) or (isinstance(exc, _VALUE_ERRORS) and not is_driver_error(exc)):
                    raise _bad_value(exc, table, ctx, data, column_oriented) from None
                raise

    def insert_arrow(self, table: str, arrow_table, *, settings: dict | None = None) -> int:
        """Insert a `pyarrow.Table` whose column names are the table's, as one ArrowStream
        INSERT. Returns the number of rows sent. Raises `ServerError`."""
        import io

        import pyarrow.ipc as ipc

        sink = io.BytesIO()
        with ipc.new_stream(sink, arrow_table.schema) as w:
            w.write_table(arrow_table)
        with self._client() as c:
            c.raw_insert(table, list(arrow_table.column_names), sink.getvalue(), fmt="ArrowStream",
                         settings=settings)
        return arrow_table.num_rows

    def run_script(self, text: "str | list[Statement]") -> list[Result]:
        """Run the statements of a script in order (each with `execute`); stops at the first
        error, which names the statement and its line (positions in it are the script's).
        `text`: the script, or its statements from `split_statements`."""
        from ..text.split import split_statements

        results = []
        stmts = split_statements(text) if isinstance(text, str) else list(text)
        with self.unit_of_work():
            for st in stmts:
                try:
                    results.append(self.execute(st))
                except EmbedSQLError as exc:
                    exc.message = f"statement {len(results) + 1} (line {st.head_line}): {exc.message}"
                    raise
        return results

    def close(self):
        """End the session: a server's HTTP connection is closed; the embedded engine is handed
        over at once if another process has asked for it, else it stays open, idle, under the
        same rule as between statements (handed over within half a second of a request, closed
        after `IDLE_KEEP_S` (5 minutes) of idleness; `release_engine` closes it now). Closing it
        here each time leaked chdb's threads and file descriptors on every reopen: a program
        that opened and closed a session per request failed after a few dozen. The session can
        be used again afterwards (a closed engine reopens on the next call)."""
        if self.backend.embedded:
            if EMBEDDED.wanted(self.spec.path):
                self.backend.close()
            return
        self.backend.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class RawStream:
    """The byte chunks of one statement's result in a ClickHouse output format (from
    `Session.raw_stream`). Iterate it; `stats` (`Stats`) says what was sent. `close()` (or leaving
    a `with` block) stops early and hands the database back."""

    def __init__(self, chunks, stats: Stats):
        self._chunks = chunks
        self.stats = stats

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        """Stop reading: the rest of the server's answer is discarded and the database is handed
        back. Safe to call twice."""
        self._chunks.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


#: what clickhouse-connect raises (unwrapped) for a Python value it cannot serialize
_VALUE_ERRORS = (ValueError, TypeError, AttributeError, OverflowError, ArithmeticError, LookupError)


def _bad_value(exc: Exception, table: str, ctx, data, column_oriented: bool) -> UsageError:
    """`Session.insert`'s error for a value the driver could not serialize (`exc`): the column
    the driver was writing (`ctx.column_name`), its type, and the first value of it that fails
    alone (best effort: without it, the driver's reason only)."""
    name = getattr(ctx, "column_name", None)
    names = list(getattr(ctx, "column_names", None) or [])
    types = list(getattr(ctx, "column_types", None) or [])
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if name is None or name not in names:
        return UsageError(f"cannot insert into {table}: a value does not fit its column ({reason})",
                          hint="check the values against the table's column types (DESCRIBE TABLE)")
    i = names.index(name)
    col_type = types[i] if i < len(types) else None
    type_name = getattr(col_type, "name", "?")
    where = ""
    try:
        values = data[i] if column_oriented else [r[i] for r in data]
        for row, v in enumerate(values):
            if row >= 100_000:
                break
            try:
                col_type.write_column([v], bytearray(), ctx)
            except Exception as one:  # noqa: BLE001 - this value is the one that fails
                text = repr(v)
                where = f" value {text[:80] + '…' if len(text) > 80 else text} (row {row + 1})"
                reason = f"{type(one).__name__}: {one}" if str(one) else type(one).__name__
                break
    except Exception:  # noqa: BLE001 - best effort: the column and the reason still say enough
        pass
    return UsageError(f"cannot insert into {table}: column {name!r} ({type_name}) cannot take the"
                      f"{where or ' value given'}: {reason}",
                      hint=f"give column {name!r} values of its type {type_name}")


def _describe_query(client, statement: str, params=None, settings=None) -> list[tuple[str, str]]:
    """(name, ClickHouse type) of each column the query `statement` returns, asked with
    `DESCRIBE TABLE (query)`: the server analyses the query without running it (a few ms).
    Errors are the driver's."""
    rows = client.query(f"DESCRIBE TABLE (\n{statement}\n)", parameters=params, settings=settings).result_rows
    return [(r[0], r[1]) for r in rows]


def _empty_result_columns(client, statement: str, kind: Kind, params, settings) -> tuple[list[str], list[str]]:
    """Names and types of a query whose result came back empty (ClickHouse sends no header
    with zero rows in Native). A SELECT is described without running it again
    (`DESCRIBE TABLE (query)`, a few ms); another statement that returns rows (SHOW ... on an
    empty database) is run again in JSONCompact for its `meta`; one that returns none (an INSERT
    sent through `query`) is not run again. ([], []) when neither works: the empty result itself
    stands."""
    import json

    settings = {k: v for k, v in (settings or {}).items() if k != "query_id"} or None
    try:
        if kind.name == "select":
            described = _describe_query(client, statement, params, settings)
            return [n for n, _ in described], [t for _, t in described]
        if not kind.returns_rows:  # (an INSERT sent through query(): running it again inserts twice)
            return [], []
        meta = json.loads(client.raw_query(statement, parameters=params, settings=settings,
                                           fmt="JSONCompact"))["meta"]
        return [m["name"] for m in meta], [m["type"] for m in meta]
    except Exception:  # best effort: the query itself succeeded
        return [], []


#: a DateTime type without its time zone, alone or inside Nullable / LowCardinality / Array
_BARE_DATETIME = re.compile(r"(?:^|\()DateTime(?:$|\))")
_TZ_DATETIME = re.compile(r"DateTime\('((?:[^'\\]|\\.)*)'\)")


def _zone_converter(described: str):
    """For a described type holding `DateTime('tz')` (alone, or in Nullable, LowCardinality or
    Array): a function turning the value clickhouse-connect read for it without the zone (a
    naive UTC datetime, or an aware one in another zone) into an aware datetime in `tz`; None for
    any other type or an unknown zone."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    t = described.replace(" ", "")
    depth_array = 0
    while True:
        m = re.match(r"^(Nullable|LowCardinality|Array)\((.*)\)$", t)
        if not m:
            break
        depth_array += m.group(1) == "Array"
        t = m.group(2)
    m = _TZ_DATETIME.fullmatch(t)
    if not m:
        return None
    try:
        zone = ZoneInfo(m.group(1))
    except Exception:  # noqa: BLE001 - an unknown zone: leave the values as read
        return None

    def one(v):
        if not isinstance(v, dt.datetime):
            return v
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.timezone.utc)
        return v.astimezone(zone)

    def conv(v, depth=depth_array):
        if depth and isinstance(v, (list, tuple)):
            return type(v)(conv(x, depth - 1) for x in v)
        return one(v)
    return conv


def _datetime_zones(client, statement: str, params, settings, types: list[str],
                    rows: list[tuple]) -> tuple[list[str], list[tuple]]:
    """Types and rows of a SELECT whose DateTime columns came back without their time zone
    (`Session._drops_datetime_zone`): the types as DESCRIBE gives them (`DateTime('Asia/Tokyo')`)
    and those columns' values as aware datetimes in their zone, as for DateTime64. Unchanged when
    DESCRIBE fails or disagrees on the columns."""
    settings = {k: v for k, v in (settings or {}).items() if k != "query_id"} or None
    try:
        described = [t for _, t in _describe_query(client, statement, params, settings)]
    except Exception:  # noqa: BLE001 - best effort: the query itself succeeded
        return types, rows
    if len(described) != len(types):
        return types, rows
    convs = {}
    for i, (got, full) in enumerate(zip(types, described)):
        if got != full and _TZ_DATETIME.sub("DateTime", full.replace(", ", ",")) == got.replace(", ", ","):
            conv = _zone_converter(full)
            if conv is not None:
                convs[i] = (conv, full)
    if not convs:
        return types, rows
    types = [convs[i][1] if i in convs else t for i, t in enumerate(types)]
    rows = [tuple(convs[i][0](v) if i in convs and v is not None else v for i, v in enumerate(r)) for r in rows]
    return types, rows


_VECTOR_FN = re.compile(r"(?:cosinedistance|l2distance)\s*\(")
#: a writing statement longer than this is data, not a search (`Session._unrecognized_plan`)
_GUARD_MAX = 1 << 20
_INSERT_HEAD = re.compile(LEADING.pattern + r"INSERT\b", re.I | re.S)
_FORMAT_WORD = re.compile(r"\bformat\b", re.I)


def _inline_data_insert(text: str) -> bool:
    """Whether `text` is an INSERT whose data follows its FORMAT clause (`INSERT INTO t FORMAT
    TSV` and the rows): FORMAT as a keyword of the statement's head, before any SELECT, VALUES or
    WITH (the word in a comment, a string or a column name does not count). Looks at the FORMAT
    words of the first 4 KB, lexing the text up to each (never the data after it)."""
    if not _INSERT_HEAD.match(text):
        return False
    from ..text.topk import tokens_or_none

    for m in _FORMAT_WORD.finditer(text, 0, 4096):
        toks = tokens_or_none(text[:m.end()])  # None: the word is inside a string or comment
        if not toks or toks[-1].up != "FORMAT" or toks[-1].depth != 0:
            continue
        return not any(tok.depth == 0 and (tok.up in ("SELECT", "VALUES", "WITH") or tok.text == ";")
                       for tok in toks[:-1])
    return False


#: In lower-case text, all three (each search linear in the text: no repeat of word characters
#: before a literal): a call of a function ClickHouse's vector index may serve
#: (cosineDistance, L2Distance, dotProduct, their aliases such as distanceCosine and
#: scalarProduct), an ORDER BY and a LIMIT, FETCH or TOP: a statement the index may answer
#: (`_maybe_search`).
_SEARCH_FN = re.compile(r"distance(?:cosine|l2|l2squared|l1|linf|lp)?\s*+\(|dotproduct\s*+\(|scalarproduct\s*+\(")
_ORDER_BY = re.compile(r"\border\s++by\b")
_LIMIT = re.compile(r"\b(?:limit|fetch|top)\b")


def _maybe_search(text: str) -> bool:
    """Whether a statement may be answered by a vector index search (`_SEARCH_FN`, `_ORDER_BY`,
    `_LIMIT` all found; strings and comments are not told apart: a false match only turns the
    index off for a statement that does not use it)."""
    low = text.lower()
    return bool(_SEARCH_FN.search(low) and _ORDER_BY.search(low) and _LIMIT.search(low))


class _ParamText:
    """A query parameter's value in ClickHouse's own text form, as `SET param_name = '…'` stored
    it (for example `[1,2.5]` or `it\\'s`): sent to the engine unchanged. clickhouse-connect
    escapes a Python str again for the parameter's escaped-text form (`['a']` would reach the
    engine as `[\\'a\\']`, which an Array(String) parameter rejects), and sends `str()` of a value
    of any other type as it is (`binding.format_bind_value`, checked by
    tests/sqlext/test_session_params.py)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"_ParamText({self.text!r})"


def _setting_value(text: str) -> str:
    """A setting's value as written in SQL -> as a client passes it: a string literal decoded as
    ClickHouse's lexer decodes it (`'it''s\\tx'` -> it's<tab>x: quotes removed, `''` and
    backslash escapes such as `\\t`, `\\\\`, `\\x41` decoded); numbers and words unchanged."""
    from ..text.tokens import TokenType
    from ..text.topk import tokens_or_none

    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] == "'":
        toks = tokens_or_none(t)
        if toks and len(toks) == 1 and toks[0].type == TokenType.STRING:
            return toks[0].text
    return t


def _strip_settings(message: str, ours: dict) -> str:
    """The embedded engine echoes the settings we add into its error messages: take ours out
    again, so that they do not read as if the user had written them."""
    for k, v in ours.items():
        message = re.sub(r",? ?(?:SETTINGS )?" + re.escape(k) + r" = '?" + re.escape(str(v)) + r"'?", "", message)
    if not ours:
        return message
    # the server cuts a long echo with "...", possibly inside one of ours: `SETTINGS hnsw_cand...`
    forms = [f for k, v in ours.items() for f in (f"{k} = '{v}'", f"{k} = {v}")]

    def cut(m: re.Match) -> str:
        part = m.group(1)
        return "..." if part and any(f.startswith(part) for f in forms) else m.group(0)

    return re.sub(r"(?:\s*SETTINGS\s+|,\s*)((?:(?!SETTINGS)[^,])*?)\.\.\.", cut, message)


def _recognize(tokens: list[Tokens], kinds: list[Kind], dialect: str) -> list[list]:
    """The top-k vector searches of each SELECT, for the planner ([] for other statements, and
    everywhere on MyScale, which filters natively). EXPLAIN shows ClickHouse's plan of the query as
    written: the planner leaves it alone (`--explain` shows embedsql's plan)."""
    from ..text.topk import find_topk

    return [find_topk(t) if dialect == "clickhouse" and k.name == "select" else []
            for t, k in zip(tokens, kinds)]


_FORMAT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_CHUNK = 1 << 16
# statements that return rows but that clickhouse-connect's query() sends as commands
_DRIVER_COMMANDS = ("check", "kill")


def _check_format(fmt: str | None) -> None:
    if fmt is not None and not _FORMAT_NAME.fullmatch(fmt):
        raise UsageError(f"{fmt!r} is not a ClickHouse format name",
                         hint="use a format such as CSV, TSV, JSONEachRow, Parquet or PrettyCompact")


def _mode(kind: Kind, as_query: bool | None, last: bool) -> str:
    """How to send a statement: "rows" (a result set to read), "raw" (the server's bytes, for a
    statement with its own FORMAT / INTO OUTFILE) or "command". `as_query`: True for `query`
    (the last statement's rows), False for `command`, None for `execute` (the kind decides)."""
    if as_query is False:
        return "command"
    if as_query is True and not last:
        return "command"
    if kind.raw_output:
        if as_query:
            what = f"FORMAT {kind.format}" if kind.format else "INTO OUTFILE"
            raise UsageError(f"this statement has its own {what} clause, so it returns the server's "
                             f"bytes, not rows",
                             hint="use Session.raw_query() / raw_stream() for the bytes, or remove the clause "
                                  "to get rows")
        return "raw"
    if as_query or kind.returns_rows:
        return "rows"
    return "command"


def _unescape_tsv(field: str) -> str:
    if "\\" not in field:
        return field
    return re.sub(r"\\(.)", lambda m: _TSV_ESCAPES.get(m.group(1), m.group(1)), field)


_TSV_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "0": "\0", "b": "\b", "f": "\f", "\\": "\\", "'": "'"}


def _tsv_value(field: str, type_name: str):
    if field == "\\N" and type_name.startswith("Nullable("):
        return None
    base = type_name[9:-1] if type_name.startswith("Nullable(") else type_name
    if re.fullmatch(r"U?Int\d+", base):
        return int(field)
    if re.fullmatch(r"Float\d+", base):
        return float(field)
    return _unescape_tsv(field)


def _rows_from_tsv(body: bytes, *, columns: list[str] | None = None,
                   types: list[str] | None = None) -> tuple[list[str], list[str], list[tuple]]:
    """Columns, types and rows of a TabSeparatedWithNamesAndTypes answer, or of a TabSeparated
    one whose `columns` and `types` are given (integers and floats typed, other values as
    strings)."""
    lines = body.decode("utf-8", errors="replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if columns is None:
        if len(lines) < 2:
            return [], [], []
        columns = [_unescape_tsv(x) for x in lines[0].split("\t")]
        types = lines[1].split("\t")
        lines = lines[2:]
    rows = [tuple(_tsv_value(f, t) for f, t in zip(line.split("\t"), types)) for line in lines]
    return columns, types, rows


def _to_script_position(exc: SQLSyntaxError, src: Statement) -> None:
    """An error found in a statement of a script: its line and column made the script's."""
    if exc.line is None or (src.line == 1 and src.col == 1):
        return
    line, col = src.position(exc.line, exc.col or 1)
    old = f"(at line {exc.line}, column {exc.col})"
    exc.message = exc.message.replace(old, f"(at line {line}, column {col})")
    exc.line, exc.col = line, col


def connect(dsn: str | None = None, *, model: str | None = None, dialect: str | None = None,
            password: str | None = None, config=None, connection: str | None = None,
            embedder=None) -> Session:
    """Open a session (nothing is contacted until the first statement).

    Precedence for the target: `dsn`, then EMBEDSQL_DSN, then the config file's `connection` (or
    its default), then the embedded ClickHouse in the user data dir. `model`: hub id or local
    model directory for EMBED. `dialect`: force "myscale" or "clickhouse". Raises `ConfigError`
    for a DSN or config file that cannot be used."""
    spec = resolve(dsn, connection=connection, dialect=dialect, config_path=config, password=password)
    return Session(spec, model=model, embedder=embedder)


__all__ = ["Session", "Result", "Stats", "Prepared", "RawStream", "connect", "elide_vectors", "UsageError"]
