"""The Harlequin adapter, loaded through Harlequin's own plugin discovery (the `harlequin.adapter`
entry point) and driven through Harlequin's headless query core (`harlequin.statements.split`,
`harlequin.query.execute` / `fetch`, what both of Harlequin's front ends run): EMBED hybrid
queries on the embedded engine and on a server, the catalog with the vector column and its
index, completions, limits, statement order and errors. Plus `harlequin -a embedsql` in tmux."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.photo_tables import create_photos, hybrid_sql
from tests.tmux_support import capture, wait_screen

pytest.importorskip("harlequin")

from harlequin import query as hq  # noqa: E402
from harlequin.exception import HarlequinConfigError, HarlequinConnectionError, HarlequinQueryError  # noqa: E402
from harlequin.plugins import adapter_names, load_adapter  # noqa: E402
from harlequin.statements import split  # noqa: E402


@pytest.fixture(scope="module")
def embedder(tiny_clip, tmp_path_factory):
    from embed import Embedder

    return Embedder(str(tiny_clip), cache_dir=tmp_path_factory.mktemp("vec-cache"))


@pytest.fixture
def dsn(tmp_path, embedder):
    import sqlext

    dsn = f"chdb://{tmp_path}/db"
    s = sqlext.connect(dsn, embedder=embedder)
    create_photos(s)
    s.close()
    return dsn


@pytest.fixture
def adapter_class():
    return load_adapter("embedsql")  # what `harlequin -a embedsql` loads


@pytest.fixture
def conn(adapter_class, dsn, tiny_clip):
    c = adapter_class((dsn,), model=str(tiny_clip)).connect()
    yield c
    c.close()


def _run(conn, script: str, max_rows: int | None = 500):
    """Run a script the way Harlequin does: split, execute every statement, then fetch each."""
    limit = hq.RowLimit(max_rows=max_rows, detect_overflow=max_rows is not None)
    executed = list(hq.execute(conn, split(script), limit=limit))
    out = []
    for ex in executed:
        if ex.error is not None:
            out.append(ex.error)
        elif ex.has_result_set:
            out.append(hq.fetch(ex, limit=limit))
        else:
            out.append(None)
    return out


def test_discovered_through_harlequins_entry_points(adapter_class):
    from harlequin.adapter import HarlequinAdapter

    from harlequin_embedsql import EmbedSQLAdapter

    assert "embedsql" in adapter_names()
    assert adapter_class is EmbedSQLAdapter and issubclass(adapter_class, HarlequinAdapter)
    assert [o.name for o in adapter_class.ADAPTER_OPTIONS] == ["dsn", "connection", "dialect", "model"]


@pytest.mark.parametrize("i", [1, 4])
def test_embed_hybrid_query_returns_the_expected_top_row(conn, i):
    (result,) = _run(conn, hybrid_sql(i) + ";")
    table = result.arrow_table()
    assert table.column("photo_id")[0].as_py() == f"p{i}"
    assert table.column("dist")[0].as_py() == pytest.approx(0.0, abs=1e-5)
    assert result.columns == [("photo_id", "s"), ("dist", "#.#")]


def test_catalog_lists_the_vector_column_and_its_index(conn):
    catalog = conn.get_catalog()
    (default,) = [d for d in catalog.items if d.label == "default"]
    (photos,) = [t for t in default.children if t.label == "photos"]
    cols = {c.label: c for c in photos.children}
    assert list(cols)[:3] == ["id", "photo_id", "photo_image_url"]
    vec = cols["photo_embed"]
    assert vec.type_label == "vec"
    assert vec.type_name.startswith("Array(Float32): 512-d") and "HNSW Cosine index photo_embed_index" in vec.type_name
    (index,) = vec.children
    assert index.label == "photo_embed_index (HNSW, Cosine)" and index.type_label == "idx"
    assert cols["taken_at"].type_label == "ts" and cols["rating"].type_label == "#.#"
    assert photos.query_name == "default.photos" and vec.query_name == "photo_embed"
    assert all(d.label not in ("system", "INFORMATION_SCHEMA", "information_schema") for d in catalog.items)


def test_embed_is_resolved_once_and_the_cursor_reports_the_real_cache_outcome(conn, monkeypatch):
    """The adapter prepares a query once, in execute: the first run of an EMBED query reports a
    cache miss (a second preparation would have found the vector the first cached and said hit),
    the second run a hit; the model is asked once in all."""
    text = f"a photo of {uuid.uuid4().hex}"  # never embedded before, whatever ran first
    sql = f"SELECT photo_id, cosineDistance(photo_embed, EMBED('{text}')) AS dist FROM photos ORDER BY dist LIMIT 3"
    embedder = conn.session.embedder
    calls = []
    real_embed = embedder.embed
    monkeypatch.setattr(embedder, "embed", lambda queries, *a, **kw: calls.append(queries) or real_embed(queries, *a, **kw))
    limit = hq.RowLimit(max_rows=500, detect_overflow=True)
    outcomes, rows = [], []
    for _ in range(2):
        (ex,) = hq.execute(conn, split(sql), limit=limit)
        rows.append(hq.fetch(ex, limit=limit).arrow_table().column("photo_id").to_pylist())
        outcomes.append((ex.cursor.stats.cache_misses, ex.cursor.stats.cache_hits))
    assert outcomes == [(1, 0), (0, 1)]
    assert len(calls) == 2  # one preparation per run
    assert rows[0] == rows[1] and len(rows[0]) == 3


class _CountingClient:
    """A clickhouse-connect client that logs every statement sent through it."""

    SENDS = ("query", "command", "query_arrow", "query_arrow_stream", "raw_query", "raw_stream", "query_df",
             "query_np", "insert", "raw_insert")

    def __init__(self, client, log: list):
        self._client, self._log = client, log

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name not in self.SENDS:
            return attr

        def send(*args, **kw):
            self._log.append(args[0] if args else kw)
            return attr(*args, **kw)

        return send


def _count_sent(monkeypatch, session) -> list:
    """Route the session's driver calls through _CountingClient; returns the log it fills."""
    import contextlib

    log: list = []
    real = session.backend.client

    @contextlib.contextmanager
    def client(*a, **kw):
        with real(*a, **kw) as c:
            yield _CountingClient(c, log)

    monkeypatch.setattr(session.backend, "client", client)
    return log


def test_a_catalog_refresh_sends_four_queries_whatever_the_number_of_vector_tables(conn, monkeypatch):
    def vector_table(name: str, dim: int, metric: str) -> None:
        conn.execute(f"CREATE TABLE {name} (id UInt64, title String, v Array(Float32), "
                     f"INDEX {name}_idx v TYPE vector_similarity('hnsw', '{metric}', {dim}), "
                     f"CONSTRAINT {name}_len CHECK length(v) = {dim}) ENGINE = MergeTree ORDER BY id")

    vector_table("clips", 8, "L2Distance")  # with photos: two vector tables
    log = _count_sent(monkeypatch, conn.session)
    catalog = conn.get_catalog()
    sent_for_two = list(log)
    (default,) = [d for d in catalog.items if d.label == "default"]
    tables = {t.label: {c.label: c for c in t.children} for t in default.children}
    assert tables["photos"]["photo_embed"].type_name.startswith("Array(Float32): 512-d")
    assert tables["photos"]["photo_embed"].children[0].label == "photo_embed_index (HNSW, Cosine)"
    assert tables["clips"]["v"].type_name.startswith("Array(Float32): 8-d")
    assert tables["clips"]["v"].children[0].label == "clips_idx (HNSW, L2)"
    assert len(sent_for_two) == 4, sent_for_two
    assert [s.split(" FROM ")[1].split()[0] for s in sent_for_two] == [
        "system.databases", "system.tables", "system.columns", "system.data_skipping_indices"]

    log.clear()
    monkeypatch.undo()
    vector_table("clips2", 16, "cosineDistance")
    vector_table("clips3", 4, "L2Distance")
    log = _count_sent(monkeypatch, conn.session)
    catalog = conn.get_catalog()  # four vector tables now: the same four queries
    assert len(log) == 4, log
    (default,) = [d for d in catalog.items if d.label == "default"]
    assert {t.label for t in default.children} == {"photos", "clips", "clips2", "clips3"}


def test_completions_offer_embed_first(conn):
    comps = sorted(conn.get_completions())
    assert comps[0].label == "EMBED"
    labels = {c.label for c in comps}
    assert {"cosineDistance", "L2Distance", "hnsw_candidate_list_size_for_search", "arrayJoin", "count"} <= labels
    assert next(c for c in comps if c.label == "count").type_label == "agg"


def test_limits_and_empty_results(conn):
    (r,) = _run(conn, "SELECT number FROM numbers(100000)", max_rows=7)
    assert r.truncated and r.fetched_row_count == 7
    cur = conn.execute("SELECT photo_id, photo_embed FROM photos ORDER BY id")
    assert cur.set_limit(0).fetchall() is None
    assert cur.columns() == [("photo_id", "s"), ("photo_embed", "vec")]
    cur = conn.execute("SELECT photo_id, photo_embed FROM photos WHERE year > 3000")
    assert cur.set_limit(10).fetchall() is None
    assert cur.columns() == [("photo_id", "s"), ("photo_embed", "vec")]
    (r,) = _run(conn, "SELECT photo_id FROM photos WHERE year > 3000")
    assert r.row_count == 0 and [c for c, _ in r.columns] == ["photo_id"]
    cur = conn.execute("SELECT photo_embed FROM photos ORDER BY id")
    table = cur.fetchall()  # no limit set: the whole result
    assert table.num_rows == 6 and table.schema.field("photo_embed").type.list_size == 512


def test_statements_keep_their_order(conn):
    results = _run(conn, "SELECT count() AS n FROM photos;\n"
                         "INSERT INTO photos (id, photo_id, photo_embed) SELECT 7, 'p7', photo_embed FROM photos WHERE id = 0;\n"
                         "SELECT count() AS n FROM photos;")
    assert results[0].arrow_table().column("n")[0].as_py() == 6  # read before the INSERT ran
    assert results[1] is None
    assert results[2].arrow_table().column("n")[0].as_py() == 7


def test_errors_as_harlequin_expects(conn, adapter_class, tmp_path, tiny_clip):
    (err,) = _run(conn, f"SELECT EMBED('{tmp_path}/missing.jpg')")
    assert isinstance(err, HarlequinQueryError) and "file not found" in err.msg and "hint" in err.msg
    assert err.title == "embedsql could not run your query"
    cur = conn.execute("SELECT * FROM no_such_table")  # a query: runs when fetched
    with pytest.raises(HarlequinQueryError, match="UNKNOWN_TABLE|Unknown table"):
        cur.fetchall()
    with pytest.raises(HarlequinQueryError, match="SYNTAX_ERROR|Syntax error"):
        conn.execute("CREAT TABLE x (a Int32)")
    with pytest.raises(HarlequinConfigError, match="one DSN"):
        adapter_class(("chdb:///a",), dsn="chdb:///b")
    with pytest.raises(HarlequinConfigError, match="unsupported DSN scheme"):
        adapter_class(("ftp://host/db",))
    with pytest.raises(HarlequinConnectionError, match="cannot reach"):
        adapter_class(("http://127.0.0.1:9/default?connect_timeout=2",)).connect()


def test_on_a_server(tmp_path, tiny_clip, embedder, monkeypatch, adapter_class):
    import sqlext
    from tests.chserver import ChServer

    with ChServer(tmp_path / "srv", user="u", password="pw") as srv:
        monkeypatch.setenv("EMBEDSQL_PASSWORD", "pw")
        s = sqlext.connect(srv.dsn(), embedder=embedder)
        create_photos(s)
        s.close()
        adapter = adapter_class((), dsn=srv.dsn(), model=str(tiny_clip))
        assert adapter.connection_id == srv.dsn() and "pw" not in adapter.connection_id
        conn = adapter.connect()
        try:
            (r,) = _run(conn, hybrid_sql(0))
            assert r.arrow_table().column("photo_id")[0].as_py() == "p0"
            vec = next(c for d in conn.get_catalog().items for t in d.children for c in t.children
                       if c.label == "photo_embed")
            assert vec.type_label == "vec" and vec.children[0].type_label == "idx"
        finally:
            conn.close()


# ------------------------------------------------------------------------------ in tmux


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_harlequin_in_tmux_shows_an_embed_result(dsn, tiny_clip, tmp_path):
    harlequin = Path(sys.executable).with_name("harlequin")
    if not harlequin.exists():
        pytest.skip("the harlequin command is not installed in this environment")
    sock = f"embedsql-harlequin-{uuid.uuid4().hex[:8]}"
    env = {k: os.environ[k] for k in ("EMBEDSQL_DATA_DIR", "EMBEDSQL_CONFIG", "EMBEDSQL_CACHE_DIR")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TERM="xterm-256color",
               XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
               XDG_DATA_HOME=str(tmp_path / "xdg-data"))  # Harlequin's own config, cache, history
    cmd = ["env", *[f"{k}={v}" for k, v in env.items()], str(harlequin), "-a", "embedsql", dsn,
           "--model", str(tiny_clip)]
    subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", "160",
                    "-y", "45", " ".join(f"'{c}'" for c in cmd)], check=True)
    try:
        wait_screen(sock, "Query Editor", "default")  # started, catalog loaded
        sql = hybrid_sql(2)
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "app", "-l", sql], check=True)
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "app", "C-j"], check=True)  # run the query
        # Harlequin's "Database Connected." toast can still cover the results' right side: wait
        # for the header's columns, which the toast hides while it is up (it times out)
        screen = wait_screen(sock, "Query Results (3 Records)", "dist #.#")
        end = time.monotonic() + 30
        while "Database Connected." in screen and time.monotonic() < end:
            time.sleep(0.2)
            screen = capture(sock)
        lines = screen.splitlines()
        header = next(i for i, line in enumerate(lines) if "photo_id s" in line)
        assert "dist #.#" in lines[header]
        cells = [lines[header + k].split("││")[-1].split() for k in (1, 2, 3)]
        assert cells[0][0] == "p2", screen  # the top row: the photo embedded from the same text
        assert float(cells[0][1]) == pytest.approx(0.0, abs=1e-5)
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "app", "C-q"], check=True)
        end = time.monotonic() + 20
        while time.monotonic() < end and subprocess.run(
                ["tmux", "-L", sock, "has-session", "-t", "app"], capture_output=True).returncode == 0:
            time.sleep(0.2)
        assert subprocess.run(["tmux", "-L", sock, "has-session", "-t", "app"],
                              capture_output=True).returncode != 0, "ctrl+q did not quit Harlequin"
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
