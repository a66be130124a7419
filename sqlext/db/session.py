"""Session: the public face of the SQL layer, and the only way the rest of embedsql (migrations,
ingestion, the TUI, the CLI) reaches a database.

    import sqlext
    s = sqlext.connect()                       # embedded default, or dsn="https://user@host/db"
    r = s.query("SELECT photo_id, cosineDistance(photo_embed, EMBED('a cat')) AS d "
                "FROM photos ORDER BY d LIMIT 5")
    r.columns, r.types, r.rows, r.stats

Pipeline per statement: find EMBED calls -> embed (cache, else one model batch) -> splice float
literals at the calls' spans -> translate for the target dialect -> lint -> send. Nothing is sent
unless every step succeeded: no partially rewritten statement ever reaches the server.

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

from .config import ConnectionSpec, resolve
from .engine import Backend, is_driver_error, map_error
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
    """What `prepare` made of a text: `statements` are sent in order (vectors spliced in);
    `original` is the text as given; `verbatim` marks text sent exactly as given (no defaults)."""

    original: str
    statements: list[str]  # what will be sent, in order
    stats: Stats
    verbatim: bool = False

    @property
    def sql(self) -> str:
        return ";\n".join(self.statements)


class Session:
    """One connection target (the embedded engine or a server) plus the embedder that resolves
    EMBED. Thread-safe for one statement at a time per thread; the TUI runs statements from worker
    threads. Build it with `sqlext.connect()`.

    `spec`: the resolved connection (`sqlext.db.config.ConnectionSpec`); `model`: a hub id or a
    local model directory (None: the configured default); `embedder`: an `embed.Embedder` to
    reuse instead of building one on the first EMBED."""

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

    # -- lazily built parts -------------------------------------------------------------------
    @property
    def embedder(self):
        if self._embedder is None:
            from embed import Embedder

            self._embedder = Embedder(self._model)
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
        try:
            with self.backend.client(timeout=timeout):
                yield self
        except EmbedSQLError:
            raise
        except Exception as exc:
            if is_driver_error(exc):
                raise map_error(exc, self.spec) from None
            raise

    def release_engine(self) -> None:
        """Hand the embedded engine back now (when no unit of work is open), so a process in
        another terminal gets a turn; the next call reopens it (~0.1 s). No-op on a server."""
        if self.backend.embedded:
            self.backend.close()

    @contextlib.contextmanager
    def _client(self):
        try:
            with self.backend.client() as c:
                yield c
        except EmbedSQLError:
            raise
        except Exception as exc:
            if is_driver_error(exc):
                raise map_error(exc, self.spec) from None
            raise

    def _raw_query(self, sql: str, params: dict | None = None) -> list[tuple]:
        with self._client() as c:
            return list(c.query(sql, parameters=params).result_rows)

    # -- the pipeline -------------------------------------------------------------------------
    def prepare(self, sql: str) -> Prepared:
        """Rewrite EMBED, translate, lint. Returns what would be sent; sends nothing.

        Raises `RewriteError` (a bad EMBED argument, a vector of the wrong dimension or model for
        the column it is compared with), `TranslationError` (no equivalent in the target
        dialect), `SQLSyntaxError` (an unterminated string or comment), `embed.InputError` (an
        image that cannot be read) and `embed.ModelLoadError`."""
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
        if literals:
            pattern = re.compile("|".join(re.escape(p) for p in literals))
            statements = [pattern.sub(lambda m: literals[m.group(0)], st) for st in statements]
            stats.translations = [n.replace(tag, "vector_") for n in stats.translations]
            stats.warnings = [w.replace(tag, "vector_") for w in stats.warnings]
        stats.sent_sql = elide_vectors(";\n".join(statements))
        return Prepared(sql, statements, stats)

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
        """What `--explain` shows: the statements that would be sent, the translations, lints,
        embedding time and cache hits (`Prepared.stats`). Sends nothing."""
        return self.prepare(sql)

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

    def _default_settings(self, statement: str) -> dict:
        """Query defaults embedsql ships for ClickHouse vector search (see README, Performance):
        HNSW candidate list 64 (ClickHouse's default 256 is ~3x slower at the same recall@10 on
        25k rows). Only where the server knows the setting and the statement does not set it."""
        low = statement.lower()
        if (self.dialect != "clickhouse" or "hnsw_candidate_list_size_for_search" in low
                or not _VECTOR_FN.search(low)):
            return {}
        if self._hnsw_setting is None:
            if self.backend.embedded:
                self._hnsw_setting = True
            else:
                try:
                    self._hnsw_setting = bool(self._raw_query(
                        "SELECT count() FROM system.settings WHERE name = 'hnsw_candidate_list_size_for_search'"
                    )[0][0])
                except EmbedSQLError:
                    self._hnsw_setting = False
        return {"hnsw_candidate_list_size_for_search": HNSW_EF_SEARCH} if self._hnsw_setting else {}

    def _send(self, prepared: Prepared, *, as_query: bool | None, params=None, settings=None) -> Result:
        t0 = time.perf_counter()
        result = Result(stats=prepared.stats)
        with self._client() as c:
            for i, st in enumerate(prepared.statements):
                last = i == len(prepared.statements) - 1
                q = is_query(st) if as_query is None else (as_query and last)
                st_settings = ({**self._default_settings(st), **(settings or {})}
                               if q and not prepared.verbatim else settings)
                if not self.backend.embedded:
                    self._running_qid = uuid.uuid4().hex
                    st_settings = {**(st_settings or {}), "query_id": self._running_qid}
                try:
                    if q:
                        r = c.query(st, parameters=params, settings=st_settings or None)
                        result.columns = list(r.column_names)
                        result.types = [t.name for t in r.column_types]
                        result.rows = list(r.result_rows)
                        summ = getattr(r, "summary", None) or {}
                        if not result.columns:  # an empty result carries no header: ask for it
                            result.columns, result.types = _empty_result_columns(c, st, params, st_settings)
                    else:
                        r = c.command(st, parameters=params, settings=st_settings or None)
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
                    if is_driver_error(exc):
                        err = map_error(exc, self.spec)
                        if st_settings and "hnsw_candidate_list_size_for_search" in st_settings \
                                and not (settings or {}).get("hnsw_candidate_list_size_for_search"):
                            err.message = _OUR_SETTINGS.sub("", err.message)
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
        result.stats.total_ms = (time.perf_counter() - t0) * 1000 + prepared.stats.embed_ms
        return result

    def _prepared(self, sql: str, verbatim: bool) -> Prepared:
        if verbatim:
            return Prepared(sql, [sql], Stats(sent_sql=elide_vectors(sql)), verbatim=True)
        return self.prepare(sql)

    def query(self, sql: str, *, params: dict | None = None, settings: dict | None = None,
              verbatim: bool = False) -> Result:
        """Run a statement that returns rows; `Result.columns` / `types` / `rows`.

        `params` binds server-side parameters (`{name:Type}` placeholders in `sql`); `settings`
        are ClickHouse settings for this statement. `verbatim=True` sends `sql` exactly as given:
        no EMBED, no dialect translation, no lints, no default settings. Raises the errors of
        `prepare`, and `ServerError` (or `ConnectionFailed` / `EngineBusy`) when the database
        refuses the statement or cannot be reached."""
        return self._send(self._prepared(sql, verbatim), as_query=True, params=params, settings=settings)

    def command(self, sql: str, *, params: dict | None = None, settings: dict | None = None,
                verbatim: bool = False) -> Result:
        """Run a statement that returns no rows (DDL, INSERT, SET ...); `Result.message` holds
        what the server answered. Arguments and errors as `query`."""
        return self._send(self._prepared(sql, verbatim), as_query=False, params=params, settings=settings)

    def execute(self, sql: str, *, params: dict | None = None, settings: dict | None = None,
                verbatim: bool = False) -> Result:
        """Run one statement, as a query when it returns rows and as a command otherwise.
        Arguments and errors as `query`."""
        return self._send(self._prepared(sql, verbatim), as_query=None, params=params, settings=settings)

    # -- columnar results: Arrow, pandas, numpy ------------------------------------------------
    def _prepare_one(self, sql: str, *, verbatim: bool, settings: dict | None,
                     what: str) -> tuple[Prepared, str, dict]:
        """The one statement `sql` holds, prepared as `query` prepares it (EMBED, translation,
        lints; as given with `verbatim`), and the settings it is sent with (embedsql's query
        defaults under the caller's). The step every columnar method shares; raises the errors of
        `prepare`, and `UsageError` when the text holds several statements."""
        from ..text.split import split_statements

        count = len(split_statements(sql))
        prepared = self._prepared(sql, verbatim) if count == 1 else None
        if prepared is None or len(prepared.statements) != 1:
            count = count if prepared is None else len(prepared.statements)
            raise UsageError(f"{what} runs one statement; this text holds {count}",
                             hint="run the others with execute() or run_script() first")
        st = prepared.statements[0]
        parts = split_statements(st)  # without a trailing `;` (and comments after it): the
        if len(parts) == 1:           # statement is wrapped (DESCRIBE (...)) or gets a FORMAT
            st = parts[0].text
        st_settings = dict(settings or {}) if verbatim else {**self._default_settings(st), **(settings or {})}
        return prepared, st, st_settings

    @contextlib.contextmanager
    def _sending(self, prepared: Prepared, st: str, st_settings: dict, settings: dict | None):
        """Around one driver call that sends `st`: yields the settings to send (a query id added on
        a server, so `cancel` can stop it); Ctrl-C kills the query on a server; driver errors
        become ours with the same cleanup as `query` (our own settings taken out of the message,
        line:column in the user's text)."""
        sent = dict(st_settings)
        if not self.backend.embedded:
            self._running_qid = uuid.uuid4().hex
            sent["query_id"] = self._running_qid
        try:
            yield sent or None
        except EmbedSQLError:
            raise
        except KeyboardInterrupt:
            if not self.backend.embedded and self._running_qid:
                with contextlib.suppress(Exception):
                    self.cancel()
            raise
        except Exception as exc:
            if not is_driver_error(exc):
                raise
            err = map_error(exc, self.spec)
            if "hnsw_candidate_list_size_for_search" in st_settings \
                    and not (settings or {}).get("hnsw_candidate_list_size_for_search"):
                err.message = _OUR_SETTINGS.sub("", err.message)
            _add_position(err, st, prepared.original)
            raise err from None
        finally:
            self._running_qid = None

    def _describe(self, statement: str, params: dict | None) -> list[tuple[str, str]]:
        """(name, ClickHouse type) of each column `statement` returns, asked with DESCRIBE (the
        server analyses the query without running it)."""
        rows = self._raw_query(f"DESCRIBE TABLE (\n{statement}\n)", params)
        return [(r[0], r[1]) for r in rows]

    def columns_of(self, sql: str, *, params: dict | None = None, verbatim: bool = False) -> list[tuple[str, str]]:
        """The columns a query would return, as [(name, ClickHouse type)], without running it
        (EMBED is resolved, from the cache when it can be; the statement is analysed with
        DESCRIBE). For the header of an empty result. Arguments and errors as `query`."""
        _, st, _ = self._prepare_one(sql, verbatim=verbatim, settings=None, what="columns_of")
        with self._client():
            return self._describe(st, params)

    def query_arrow(self, sql: str, *, params: dict | None = None, settings: dict | None = None,
                    verbatim: bool = False, fixed_vectors: bool = True):
        """Run one query and return a `pyarrow.Table` (columnar: no Python object per value).

        Types are ClickHouse's Arrow types, with two corrections (`sqlext.db.columnar`): a vector
        column whose arrays all have one length N is `fixed_size_list<float>[N]` (unless
        `fixed_vectors=False`; ragged arrays stay lists), and a `DateTime` column is
        `timestamp[s, tz]` instead of ClickHouse's uint32 seconds. An empty result keeps its
        columns. Arguments and errors as `query`; `UsageError` when the text holds several
        statements."""
        from .columnar import BatchFixer, fix_table

        prepared, st, st_settings = self._prepare_one(sql, verbatim=verbatim, settings=settings,
                                                      what="query_arrow")
        with self._client() as c, self._sending(prepared, st, st_settings, settings) as sent:
            table = c.query_arrow(st, parameters=params, settings=sent)
        return fix_table(table, BatchFixer(lambda: self._describe(st, params), fixed_vectors))

    def query_df(self, sql: str, *, params: dict | None = None, settings: dict | None = None,
                 verbatim: bool = False):
        """Run one query and return a pandas DataFrame (through Arrow). A vector column holds one
        numpy float32 array per row (views of one (rows, N) matrix); integer columns with NULLs use
        pandas' nullable dtypes (Int32, UInt64, ...); DateTime columns are tz-aware datetimes.
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

        return to_numpy(self.query_arrow(sql, params=params, settings=settings, verbatim=verbatim))

    def query_arrow_stream(self, sql: str, *, params: dict | None = None, settings: dict | None = None,
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
        `fixed_vectors=False` for variable-length lists). Iterate it in one thread.
        Returns a `sqlext.db.columnar.ArrowStream`."""
        from .columnar import ArrowStream, BatchFixer, fix_batch

        if not isinstance(batch_rows, int) or batch_rows < 1:
            raise UsageError(f"batch_rows must be a positive number of rows, not {batch_rows!r}")
        prepared, st, st_settings = self._prepare_one(sql, verbatim=verbatim, settings=settings,
                                                      what="query_arrow_stream")

        def batches():
            fixer = BatchFixer(lambda: self._describe(st, params), fixed_vectors)
            finished = False
            with self._client() as c, self._sending(prepared, st, st_settings, settings) as sent:
                try:
                    for batch in self.backend.arrow_batches(c, st, params, sent, batch_rows):
                        yield fix_batch(batch, fixer)
                    finished = True
                finally:
                    if not finished and not self.backend.embedded:
                        with contextlib.suppress(EmbedSQLError):
                            self.cancel()  # stopped early: the server would go on computing

        return ArrowStream(batches())

    # == raw results (issue 12; issue 11 adds the same two methods: keep one) ====================
    # `raw_query` / `raw_stream` return a statement's result as the bytes of a ClickHouse output
    # format, EMBED-aware like `query`. The command line prints them as they come.
    def raw_query(self, sql: str, *, fmt: str | None = None, params: dict | None = None,
                  settings: dict | None = None) -> bytes:
        """Run one statement and return its result in ClickHouse output format `fmt` (a name
        ClickHouse knows: "CSVWithNames", "JSON", "Parquet", ...), as the server wrote it.
        `fmt=None`: the statement's own FORMAT clause (TabSeparated without one). The statement
        goes through the pipeline of `query` (EMBED, translation, lints, default settings);
        `params` / `settings` as there. Raises the errors of `prepare`, `UsageError` for a text
        holding several statements, and `ServerError` (or a subclass) when the database refuses it."""
        prepared = self.prepare(sql)
        if len(prepared.statements) != 1:
            raise UsageError(f"raw_query runs one statement; this text holds {len(prepared.statements)}")
        return b"".join(self._raw_chunks(prepared, fmt, params, settings, stream=False))

    def raw_stream(self, sql: str, *, fmt: str | None = None, params: dict | None = None,
                   settings: dict | None = None) -> "RawStream":
        """`raw_query` as an iterator of byte chunks (a `RawStream`: its `stats` say what was sent:
        SQL with vectors elided, translations, lints, embedding time). The statement is prepared
        (EMBED resolved) at once and sent on the first `next()`; the database is held until the
        stream is exhausted or closed (`with session.raw_stream(...) as chunks:`). Errors as
        `raw_query`; a server that fails mid-result raises from `next()`."""
        prepared = self.prepare(sql)
        if len(prepared.statements) != 1:
            raise UsageError(f"raw_stream runs one statement; this text holds {len(prepared.statements)}")
        return RawStream(self._raw_chunks(prepared, fmt, params, settings), prepared.stats)

    def _raw_chunks(self, prepared: Prepared, fmt, params, settings, *, stream: bool = True,
                    chunk_size: int = 1 << 16):
        st = prepared.statements[0]
        st_settings = {**self._default_settings(st), **(settings or {})}
        with self._client() as c:
            if not self.backend.embedded:
                self._running_qid = uuid.uuid4().hex
                st_settings["query_id"] = self._running_qid
            try:
                # the embedded engine streams SELECTs only (DESCRIBE, SHOW...: "Streaming query is
                # not supported"); what it cannot stream comes in one piece
                if not stream or (self.backend.embedded and not _SELECT_LIKE.match(_skip_comments(st))):
                    yield c.raw_query(st, parameters=params, settings=st_settings or None, fmt=fmt)
                    return
                body = c.raw_stream(st, parameters=params, settings=st_settings or None, fmt=fmt)
                try:
                    while True:
                        chunk = body.read(chunk_size)
                        if not chunk:
                            break
                        yield chunk
                finally:
                    with contextlib.suppress(Exception):
                        body.close()
            except EmbedSQLError:
                raise
            except KeyboardInterrupt:
                if not self.backend.embedded and self._running_qid:
                    with contextlib.suppress(Exception):
                        self.cancel()
                raise
            except Exception as exc:
                if is_driver_error(exc):
                    err = map_error(exc, self.spec)
                    if "hnsw_candidate_list_size_for_search" not in (settings or {}):
                        err.message = _OUR_SETTINGS.sub("", err.message)
                    _add_position(err, st, prepared.original)
                    raise err from None
                raise
            finally:
                self._running_qid = None
    # == end of raw results ======================================================================

    def insert(self, table: str, data, column_names: list[str], *, column_types: list[str] | None = None,
               column_oriented: bool = False, settings: dict | None = None):
        """Insert Python values: `data` is a list of rows (or of columns with
        `column_oriented=True`) in `column_names` order. `column_types` (ClickHouse type names)
        spares the driver a DESCRIBE. `table` is "t" or "db.t". Raises `ServerError`."""
        with self._client() as c:  # _client maps driver errors raised inside it
            return c.insert(table, data, column_names=column_names, column_oriented=column_oriented,
                            column_type_names=column_types, settings=settings)

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

    def run_script(self, text: str) -> list[Result]:
        """Run every statement of a script in order, holding the database for the whole script.
        Stops at the first failure, whose message names the statement number and line."""
        from ..text.split import split_statements

        results = []
        stmts = split_statements(text)
        with self.unit_of_work():
            for st in stmts:
                try:
                    results.append(self.execute(st.text))
                except EmbedSQLError as exc:
                    exc.message = f"statement {len(results) + 1} (line {st.line}): {exc.message}"
                    raise
        return results

    def close(self):
        """Release the engine (embedded) or close the HTTP connection. The session can be used
        again afterwards: the next call reopens."""
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
        self._chunks.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_SELECT_LIKE = re.compile(r"^\s*(?:\(\s*)*(?:SELECT|WITH)\b", re.I)


def _empty_result_columns(client, statement: str, params, settings) -> tuple[list[str], list[str]]:
    """Names and types of a query whose result came back empty (ClickHouse sends no header
    with zero rows in Native). A SELECT is described without running it again
    (`DESCRIBE TABLE (query)`, a few ms); another statement (SHOW ... on an empty database) is
    run again in JSONCompact for its `meta`. ([], []) when neither works: the empty result itself
    stands."""
    import json

    settings = {k: v for k, v in (settings or {}).items() if k != "query_id"} or None
    try:
        if _SELECT_LIKE.match(statement) or _SELECT_LIKE.match(_skip_comments(statement)):
            rows = client.query(f"DESCRIBE TABLE (\n{statement}\n)", parameters=params,
                                settings=settings).result_rows
            return [r[0] for r in rows], [r[1] for r in rows]
        meta = json.loads(client.raw_query(statement, parameters=params, settings=settings,
                                           fmt="JSONCompact"))["meta"]
        return [m["name"] for m in meta], [m["type"] for m in meta]
    except Exception:  # best effort: the query itself succeeded
        return [], []


def _skip_comments(sql: str) -> str:
    from ..text.split import lexing_copy

    try:
        return lexing_copy(sql)
    except SQLSyntaxError:
        return sql


def same_model(recorded: str, current: str) -> bool:
    """A column records the model id it was filled with. A local directory holding a copy of a hub
    model counts as that model when it is named after it (…/clip-vit-base-patch32)."""
    if recorded == current:
        return True
    tail = lambda m: m.rstrip("/").rsplit("/", 1)[-1]  # noqa: E731
    return tail(recorded) == tail(current)


HNSW_EF_SEARCH = 64
_VECTOR_FN = re.compile(r"(?:cosinedistance|l2distance)\s*\(")
# the embedded engine echoes settings we add into its error messages: take ours out again
_OUR_SETTINGS = re.compile(r",? ?(?:SETTINGS )?hnsw_candidate_list_size_for_search = '?%d'?" % HNSW_EF_SEARCH)

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
