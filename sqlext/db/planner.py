"""The vector query planner: top-k searches with metadata filters that return the right rows on
ClickHouse (the embedded engine and servers).

ClickHouse's vector_similarity index finds the nearest rows first and applies the WHERE clause
afterwards (post-filtering): with a selective filter `… WHERE cat = 'rare' ORDER BY
cosineDistance(v, q) LIMIT 10` returns fewer than 10 rows, often none, although 31 rows match.
The planner knows the statement, the table and its index, so for each top-k search it

1. estimates how many rows the filter keeps: `SELECT count() FROM <table> WHERE <same filter>`
   (measured cheaper than `EXPLAIN ESTIMATE` on chdb, and exact; no query without a filter);
2. picks a plan: an **exact scan** (the vector index ignored through
   `ignore_data_skipping_indices`, so other skip indexes still help the filter) when the filter
   keeps few rows or the table is small, else the **index with post-filtering** and a fetch
   multiplier sized from the selectivity (`vector_search_index_fetch_multiplier` = 6 / s, so the
   index hands over about six times the candidates needed to find k rows passing the filter, and
   ClickHouse's candidate limit `max_limit_for_vector_search_queries` raised to match);
   the cost model (`PlannerConfig`, estimated milliseconds) weighs the rows an exact scan reads
   (every granule holding a matching row: `Planner.exact_scan_rows`, from the table's
   `index_granularity`; cheaper when the vector column is stored with CODEC(NONE)) and the runs
   of granules it seeks to, against the candidate list the index search walks (`list_size`);
3. checks the answer: when the index plan returns fewer than k rows, the statement runs again as
   an exact scan (the index plan is chosen only when many more than k rows match, so a short
   answer means rows were missed). It never returns fewer rows than the true answer has. A
   filter's count is reused for `Planner.COUNT_TTL` seconds (cleared when the session writes):
   a stale count can make a plan slower, never an answer shorter.
   A top-k inside a subquery, CTE or UNION is checked before the statement runs, with
   `SELECT count() FROM (<that query>)` under the same settings (an index search is deterministic).

Settings the user gives win: a key set in the statement (`SETTINGS …`, at any level), through
`SET` earlier in the session, or passed to `Session.query(settings=…)` is never overridden. When
the user sets one of the plan's own switches (`PLAN_KEYS`: the filter strategy, the fetch
multiplier, `use_skip_indexes`, `ignore_data_skipping_indices`, `force_data_skipping_indices`, or
`query_plan_try_use_vector_search = 0`),
the statement runs as written and is not checked: the user chose the plan. A user's
`hnsw_candidate_list_size_for_search` is kept, and the plan and its check still apply.

MyScale servers filter inside the index search themselves: the planner does not act there.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["PlannerConfig", "SearchPlan", "VectorPlan", "Planner", "PLAN_KEYS", "HNSW_EF_SEARCH", "ef_for_rows",
           "LIMIT_KEY", "filtered_ef_factor", "EMBEDDED_EXACT_SETTINGS", "PARALLEL_SCAN_SETTINGS", "LIST_MARGIN",
           "NO_VECTOR_SEARCH", "PLACEHOLDER", "named_params"]

#: A server-side query parameter's placeholder `{name:Type}`, as clickhouse-connect's binding finds
#: them (no space after `{` or before `:`).
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*):[^}]+\}")


def named_params(sql: str, params) -> dict | None:
    """The entries of `params` (a dict of query parameters) whose `{name:Type}` placeholder `sql`
    has; None when there are none, or when `params` is not a dict (positional values belong to
    the statement's own `%s` marks, which a planning query built from part of it does not share).
    A planning query gets only these: with other entries and no placeholder of its own,
    clickhouse-connect would `%`-format its text (a `LIKE 'a%'` breaks)."""
    if not isinstance(params, dict) or not params or "{" not in sql:
        return None
    names = set(PLACEHOLDER.findall(sql))
    return {k: v for k, v in params.items() if k in names} or None


#: The shipped `hnsw_candidate_list_size_for_search` for a vector query the planner does not plan
#: (ClickHouse's default is 256). On CLIP-like data with ClickHouse's index construction defaults
#: (m = 32, ef_construction = 128, bf16), unfiltered recall@10 of text queries was, at 25k rows,
#: 0.984 with 256 and 0.994 with 512; at 200k rows 0.856 with 256, 0.944 with 512 and 0.972 with
#: 1024 (benchmarks/bench_hnsw_defaults.py; benchmarks/RESULTS.md). 1024 is the smallest measured
#: value with recall >= 0.95 at 200k rows; a planned query uses `ef_for_rows` instead.
HNSW_EF_SEARCH = 1024

#: (rows up to, candidate list size): the smallest measured setting with recall@10 >= 0.95 at
#: that table size (see HNSW_EF_SEARCH); larger tables get the last. At 200k rows a list of 768
#: gave 0.963-0.967 on three builds of the index (1024: 0.967-0.970) at 0.82-0.85x the p50
#: (benchmarks/bench_peers.py data, 30 queries); 1M rows is not measured and gets 1024.
EF_BY_ROWS = ((50_000, 256), (100_000, 512), (250_000, 768))


def ef_for_rows(rows: int | None) -> int:
    """The candidate list size an unfiltered index plan uses on a table of `rows` rows (None:
    unknown size -> HNSW_EF_SEARCH). 256 up to 50k rows, 512 up to 100k (interpolated between the
    measured 25k and 200k), 768 up to 250k, 1024 beyond."""
    if rows is None:
        return HNSW_EF_SEARCH
    for limit, ef in EF_BY_ROWS:
        if rows <= limit:
            return ef
    return HNSW_EF_SEARCH


def filtered_ef_factor(selectivity: float) -> float:
    """How much larger the candidate list of a post-filtered index search is than an unfiltered
    one's (`ef_for_rows`): 0.4 / selectivity, between 1 and 4. A filter keeping a share s of the
    rows puts the answer at a depth of about k / s in the index's order, which a list sized for
    depth k searches less well. At 200k CLIP-like rows (base list 768), filters following the
    clusters gave recall@10 0.950 with 1536 and 0.973 with 2048-3072 at 10 %, 0.947 with 1037
    and 0.960 with 1536 at 20 %, 0.977 with 3072 at 5 %; 50 % filters 0.960-0.967 with 768
    (uniform filters did as well or better; benchmarks/bench_peers.py data, 30 queries). At
    10 % and below the list is 4x; the fetched candidates (k x the fetch multiplier,
    `LIST_MARGIN`) may ask for more."""
    if selectivity <= 0:
        return 4.0
    return min(4.0, max(1.0, 0.4 / selectivity))


#: A post-filtered index plan's candidate list is at least this many times the candidates it
#: fetches (k x the fetch multiplier): the deepest results of a list barely longer than the
#: results it returns are the least accurate. At 25k CLIP-like rows under a 10 % filter following
#: the clusters (600 candidates), recall@10 was 0.947 with a list of 512, 0.957 with 600, 0.970
#: with 750 and 0.983 with 900, at the same p50 (benchmarks/bench_peers.py data, 30 queries).
LIST_MARGIN = 1.5

#: Settings with which the user chooses the plan; when any is given the planner steps aside.
PLAN_KEYS = frozenset({
    "vector_search_filter_strategy", "vector_search_index_fetch_multiplier",
    "vector_search_postfilter_multiplier", "use_skip_indexes", "ignore_data_skipping_indices",
    "force_data_skipping_indices",
})
EF_KEY = "hnsw_candidate_list_size_for_search"
#: ClickHouse uses a vector index only while LIMIT x fetch multiplier stays within this setting
#: (default 1000): beyond it, the index hands over at most that many candidates. At 200k
#: CLIP-like rows and a 1 % filter (multiplier 313), that cap left 9.1 rows on average and
#: recall@10 0.78; with the limit raised to the candidates asked for, 10 rows and 0.96
#: (benchmarks/RESULTS.md). A filtered index plan raises it when it needs more.
LIMIT_KEY = "max_limit_for_vector_search_queries"
CLICKHOUSE_MAX_LIMIT = 1000
#: Settings the planner sends; a server that lacks any of them gets no plan (ClickHouse < 25.8).
NEEDED_SETTINGS = ("vector_search_filter_strategy", "vector_search_index_fetch_multiplier", EF_KEY,
                   "ignore_data_skipping_indices", LIMIT_KEY)


#: Settings an exact plan adds on the embedded engine (when the user has not set them): read the
#: table's files through mmap instead of pread. Exact top-10 scans of 200k CLIP-like rows stored
#: as the built-in table is (32-row granules, vectors uncompressed) took 0.70-0.86x the time
#: with them, across 0.1-100 % filters; index searches were unchanged (0.97-1.03x). The files
#: are local to the process; ClickHouse's MergeTree parts are immutable once written.
EMBEDDED_EXACT_SETTINGS = {"local_filesystem_read_method": "mmap", "min_bytes_to_use_mmap_io": 1}

#: Settings an exact plan adds on every ClickHouse engine (when the user has not set them): let
#: a table's rows be read by all of `max_threads` threads once it has 4,096 (128 granules of the
#: built-in table), where ClickHouse's defaults (163,840 rows and 240 MiB per thread) read a
#: table below those sizes times max_threads in one thread: 200k CLIP-like rows (400 MB of
#: vectors) were read by one thread of two. Exact top-10 scans at 200k rows took 0.53-0.59x the
#: time with them under 1-100 % filters, at 25k rows 0.6-0.8x under 1-100 % (two cores; 0.1 %
#: filters unchanged); `benchmarks/bench_plan_settings.py` measures them on `Session.query`.
PARALLEL_SCAN_SETTINGS = {"merge_tree_min_rows_for_concurrent_read": 4096,
                          "merge_tree_min_bytes_for_concurrent_read": 1}

IGNORE_KEY = "ignore_data_skipping_indices"


def _index_list(value) -> list[str]:
    """The index names of an ignore/force_data_skipping_indices value (`'a, b'` -> [a, b])."""
    text = str(value or "").strip().strip("'\"")
    return [n for n in (x.strip().strip("`\"'") for x in text.split(",")) if n]


def _pins(key: str, value, names: set) -> bool:
    """Whether the user's `key = value` chooses the plan, so the planner steps aside: any value of
    the vector search settings; `use_skip_indexes` when it turns skip indexes off;
    ignore/force_data_skipping_indices when they name one of the searched tables' vector indexes
    (`names`)."""
    if key == "use_skip_indexes":
        return str(value).strip().strip("'\"").lower() in ("0", "false")
    if key in (IGNORE_KEY, "force_data_skipping_indices"):
        return bool(set(_index_list(value)) & names)
    return True


#: FINAL after a table name (or the `final` setting): the index cannot serve the search
_FINAL = re.compile(r"\bFINAL\b", re.I)

#: Sent when no search in a statement uses a vector index (an exact plan, the exact fallback),
#: where the engine knows the setting: skip ClickHouse's vector-search planning step. It runs for
#: every `ORDER BY <distance> LIMIT k` on a table with a vector index, even one the statement
#: ignores through `ignore_data_skipping_indices`, and cost about 7-10 ms a statement: exact
#: top-10 over 200k CLIP-like rows stored as the built-in table is took 8.5 ms instead of 16.2 ms
#: under a 0.1 % filter and 37 ms instead of 47 ms under 1 %, on chdb 26.9 (mmap reads for both;
#: benchmarks/RESULTS.md). The answer is the same sort of the same rows. The setting holds for the
#: whole statement, so an exact plan sends it only when the planned search is the statement's one
#: vector search (`sqlext.text.topk.only_search`): another, unrecognized, would lose its index. A
#: plan with no usable index ("none") and a statement whose search the planner does not read
#: (`Session._unrecognized_plan`) send it always: there it keeps an index out that nothing checks.
NO_SEARCH_KEY = "query_plan_try_use_vector_search"
NO_VECTOR_SEARCH = {NO_SEARCH_KEY: 0}


@dataclass
class PlannerConfig:
    """The cost model: estimated milliseconds of engine work for each plan, as measured on chdb
    26.9 with 512-d CLIP-like vectors on two cores (benchmarks/bench_planner_costs.py; RESULTS.md,
    "Every thread on an exact scan, and a cost model in milliseconds"). Only the comparison of the two estimates decides, and both scale
    alike with a faster CPU. More cores make an exact scan faster (every thread reads a part of
    the table, `PARALLEL_SCAN_SETTINGS`) but not the index search (one thread per part), so on a
    larger machine the planner may choose the index where a scan would be a little faster; the
    answer is the same.

    An index plan costs `index_fixed + list_cost x L`, L the candidate list it searches
    (`Planner.list_size`: hnsw_candidate_list_size_for_search, which the plan sizes from the
    table, the filter and the candidates fetched), or the candidates it hands over (k x the
    fetch multiplier) when those are more. An exact scan costs `scan_fixed + row_cost x
    rows read + range_cost x runs of granules read + match_cost x rows passing the filter`
    (`Planner.exact_scan_rows`, `Planner.exact_scan_runs`).

    - index_fixed: 6 ms (fits at 200k rows gave 7.7, at 25k 4.3);
    - list_cost: 0.0067 ms per list entry (200k rows: lists of 768, 1,538, 3,072, 4,620 and 9,390
      took 12.9, 18.9, 28-31, 44 and 71 ms; at 25k the cost per entry falls for long lists, and
      the estimate is high there, where the scan wins anyway);
    - scan_fixed: 4.5 ms;
    - row_cost: 0.00038 ms per row whose vector is read from LZ4-compressed storage (ClickHouse's
      default), uncompressed_row_cost 0.00019 ms from CODEC(NONE) (the built-in table's): an exact
      top-10 over 200k rows stored so took 0.45x the time of LZ4 storage (bench_granularity);
    - range_cost: 0.0065 ms per run of consecutive granules read (each run is a seek and a read:
      200k rows under a 0.5 % filter read 895 granules in about 790 runs, 15.3 ms, against 8.5 ms
      for 25k rows under 10 %, 760 granules in about 26 runs);
    - match_cost: 0.00015 ms per row passing the filter (its distance computed and sorted: the
      same 200k-row scan took 49 ms under a 20 % filter and 61 ms under 50 %);
    - safety: candidates fetched per row needed, divided by the selectivity (6: the filter's
      expected share of the candidates is six times k). At 200k CLIP-like rows with a 1 % filter,
      3 gave recall@10 0.96 (uniform filter) and 0.89 with short answers to rerun (filter
      correlated with the clusters); 6 gave 0.99 and full answers for both, at 1.5x the time of
      3 and a sixth of an exact scan's (benchmarks/RESULTS.md). Above ~6 % selectivity the
      candidate list (ef) is the larger of the two, so 6 costs nothing more there;
    - max_multiplier: ClickHouse's upper bound for vector_search_index_fetch_multiplier;
    - ef_search: hnsw_candidate_list_size_for_search sent with an index plan the user did not
      tune, as it is; None: by table size (`ef_for_rows`), times `filtered_ef_factor` for a
      filter, and at least `LIST_MARGIN` times the candidates a post-filtered plan fetches;
    - exact_settings: sent with an exact plan and its fallback, each key unless the user set it
      (the session passes `PARALLEL_SCAN_SETTINGS`, and on the embedded engine
      `EMBEDDED_EXACT_SETTINGS` too);
    - no_index_settings: sent, unless the user set them, when no search in the statement uses a
      vector index (a statement whose plans are all exact, and every exact fallback) and the
      planned searches are the statement's only ones (`Planner.plan`'s `sole`); the session
      passes `NO_VECTOR_SEARCH` where the engine has that setting."""

    index_fixed: float = 6.0
    list_cost: float = 0.0067
    scan_fixed: float = 4.5
    row_cost: float = 0.00038
    uncompressed_row_cost: float = 0.00019
    range_cost: float = 0.0065
    match_cost: float = 0.00015
    safety: float = 6.0
    max_multiplier: int = 1000
    ef_search: int | None = None
    exact_settings: dict = field(default_factory=dict)
    no_index_settings: dict = field(default_factory=dict)


@dataclass
class SearchPlan:
    """The plan of one top-k search in a statement."""

    table: str
    column: str
    function: str
    k: int
    offset: int
    filtered: bool
    outermost: bool
    indexes: list[str] = field(default_factory=list)   # vector index names it could use
    choice: str = "exact"              # "index" | "exact"
    multiplier: int | None = None      # fetch multiplier of a filtered index plan
    matching: int | None = None        # rows passing the filter (count()), None: not counted
    total: int | None = None           # rows in the table (catalog), None: unknown
    reason: str = ""
    check: str = ""                    # outcome of a pre-run check (nested searches)
    index_ms: float | None = None      # the cost model's estimate of the index plan (PlannerConfig)
    scan_ms: float | None = None       # the same for the exact scan; None: not weighed

    @property
    def expected(self) -> int | None:
        """Rows a correct answer has: min(k, matching rows after the offset); None when unknown
        (no filter: k is required unless the table is smaller)."""
        if self.matching is None:
            return None
        return min(self.k, max(0, self.matching - self.offset))


@dataclass
class VectorPlan:
    """What the planner chose for one statement and why (Result.stats.plan; --explain; the TUI's
    details pane). `kind`: "index", "exact", "mixed" (several searches, some of each), "yours"
    (the user's settings choose; not checked) or "none" (no usable vector index: `reason` says
    why; `settings` turn ClickHouse's vector search off, so the scan it promises is what runs);
    "exact" without `searches` is a statement ordering by a distance with a LIMIT in a form the
    planner does not read, run with vector search off (`Session._unrecognized_plan`).
    `settings`: what the planner sent (never a key the user gave); `fallback`: the
    settings of the exact rerun; `rows`: rows the statement returned; `reran`: whether the check
    made it rerun exactly; `estimate_ms`: time spent counting and checking."""

    kind: str
    reason: str = ""
    searches: list[SearchPlan] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    fallback: dict = field(default_factory=dict)
    rows: int | None = None
    reran: bool = False
    checked: str = ""
    estimate_ms: float = 0.0
    #: keys of `settings` that extend a value the user gave (their ignore list plus the plan's
    #: vector indexes): sent although the user set them
    merged: tuple = ()

    def describe(self) -> list[str]:
        """Human-readable lines, most important first."""
        if self.kind in ("none", "yours") or not self.searches:
            head = {"yours": "as written"}.get(self.kind, self.kind)
            lines = [f"vector plan: {head} ({self.reason})"]
            if self.settings:
                lines.append("  settings: " + ", ".join(f"{k} = {v}" for k, v in self.settings.items()))
            return lines
        lines = []
        for s in self.searches:
            head = f"{s.table}.{s.column} top {s.k}" + (f" offset {s.offset}" if s.offset else "")
            if s.choice == "index":
                how = f"vector index {', '.join(s.indexes)}"
                if s.filtered:
                    how += f" with post-filtering, fetch multiplier {s.multiplier}"
            else:
                how = "exact scan" + (f" (vector index {', '.join(s.indexes)} not used)" if s.indexes else "")
            lines.append(f"vector plan: {head}: {how} — {s.reason}")
            if s.check:
                lines.append(f"  check: {s.check}")
        if self.settings:
            lines.append("  settings: " + ", ".join(f"{k} = {v}" for k, v in self.settings.items()))
        if self.checked:
            lines.append(f"  result: {self.checked}")
        if self.estimate_ms:
            lines.append(f"  planning queries: {self.estimate_ms:.1f} ms")
        return lines

    def needs_exact_rerun(self, rows: int) -> bool:
        """After the statement ran with `rows` rows: too few for the outermost search's answer?
        Records the outcome in `checked`/`rows`."""
        self.rows = rows
        outer = [s for s in self.searches if s.outermost and s.choice == "index"]
        if len(self.searches) != 1 or not outer:
            if self.searches and any(s.outermost for s in self.searches):
                self.checked = f"{rows} row(s)"
            return False
        s = outer[0]
        # k, not the count: a count reused from the cache may be stale (the index plan is only
        # chosen when many more than k rows match, so a short answer means missed rows)
        want = s.k
        if rows >= want:
            self.checked = f"{rows} row(s), as many as the answer has ({want})"
            return False
        self.checked = (f"the index returned {rows} row(s), fewer than the {want} the answer has: "
                        f"ran again as an exact scan")
        self.reran = True
        return True


class Planner:
    """Plans the top-k searches of one statement at a time.

    `run(sql, settings, params) -> list[tuple]` runs a planning query on the session's engine with
    the statement's query parameters (`{name:Type}` values; the caller maps its errors);
    `catalog` is the session's LiveCatalog; `config` the cost model."""

    #: seconds a filter's row count is reused (the session clears it when it writes). A stale
    #: count can only make a plan slower, never an answer shorter: the check compares the rows
    #: with k, not with the count.
    COUNT_TTL = 60.0

    def __init__(self, run: Callable[[str, dict | None, dict | None], list], catalog,
                 config: PlannerConfig | None = None):
        self._run = run
        self.catalog = catalog
        self.config = config or PlannerConfig()
        self._counts: dict[str, tuple[float, int]] = {}
        self._ignores_in_text = False  # the statement being planned lists ignored indexes in its SETTINGS

    def invalidate(self) -> None:
        """Forget the cached row counts (after a write)."""
        self._counts.clear()

    def _count(self, sql: str, params: dict | None) -> tuple[int, bool]:
        """(rows, from the cache?) of a `SELECT count()` planning query run with `params` (its
        query parameters: part of the cache key, as they change what the filter keeps)."""
        now = time.monotonic()
        params = named_params(sql, params)
        key = (sql, tuple(sorted((k, str(v)) for k, v in (params or {}).items())))
        hit = self._counts.get(key)
        if hit is not None and now - hit[0] < self.COUNT_TTL:
            return hit[1], True
        n = int(self._run(sql, None, params)[0][0])
        if len(self._counts) > 256:
            self._counts.clear()
        self._counts[key] = (now, n)
        return n, False

    def plan(self, statement: str, topks, *, fill: Callable[[str], str], user: dict, dialect: str,
             sole: bool | None = None, params: dict | None = None) -> VectorPlan:
        """The plan for `statement` (as recognized: vectors may still be placeholders, which
        `fill` turns into what is sent) whose top-k searches are `topks` (sqlext.text.topk.TopK).
        `user`: every setting the user gave (statement SETTINGS, SET, call settings), lower-case
        keys. `sole`: whether `topks` is the statement's only vector search
        (`sqlext.text.topk.only_search`; None: worked out from `statement`): only then does an
        exact plan send `no_index_settings`, which hold for the whole statement. `params`: the
        statement's query parameters (`{name:Type}` placeholders in its filter), sent with the
        planning queries. Runs count() queries, and check queries for nested searches, through
        `run`."""
        from ..errors import EmbedSQLError

        if dialect != "clickhouse":
            return VectorPlan("none", "MyScale filters inside its vector index search: no planning needed")
        found = []
        for t in topks:
            try:
                found.append(self.catalog.vector_indexes_behind(t.table, t.column))
            except EmbedSQLError:
                found.append([])
        names = {i.name for idx in found for i in idx}
        pinned = [k for k in sorted(user) if k in PLAN_KEYS and _pins(k, user[k], names)]
        if str(user.get(NO_SEARCH_KEY, "1")).strip("'\" ").lower() in ("0", "false"):
            pinned.append(NO_SEARCH_KEY)  # no index is used at all: the user chose exact scans
        if pinned:
            return VectorPlan("yours", "you set " + ", ".join(f"{k} = {user[k]}" for k in pinned)
                              + ": sent as written, its row count not checked")
        searches = []
        for t, idx in zip(topks, found):
            usable = [i for i in idx if i.metric == t.metric]
            sp = SearchPlan(t.table, t.column, t.function, t.k, t.offset, t.filtered, t.outermost,
                            [i.name for i in usable])
            if not usable:
                sp.reason = (f"{t.function} does not match the metric of vector index "
                             f"{', '.join(i.name for i in idx)} ({idx[0].metric}): ClickHouse scans every row"
                             if idx else "no vector index on the column: ClickHouse scans every row")
            searches.append((t, sp))
        if not any(sp.indexes for _, sp in searches):
            # ClickHouse's vector search turned off, so the scan the plan promises is what runs
            # even where the catalog is behind the server (an index another connection added, a
            # view over an indexed table)
            return VectorPlan("none", searches[0][1].reason if len(searches) == 1 else
                              "no usable vector index: ClickHouse scans every row", [sp for _, sp in searches],
                              {k: v for k, v in self.config.no_index_settings.items() if k not in user})
        if IGNORE_KEY in user:
            from ..text.topk import statement_settings

            self._ignores_in_text = IGNORE_KEY in statement_settings(statement)
        else:
            self._ignores_in_text = False
        t0 = time.perf_counter()
        final = str(user.get("final", "0")).strip("'\" ").lower() in ("1", "true")
        for t, sp in searches:
            if sp.indexes and (final or _FINAL.search(t.from_text)):
                sp.choice = "exact"
                sp.reason = ("FINAL: the vector index also holds the row versions FINAL replaces, so "
                             "only an exact scan returns FINAL's rows")
            elif sp.indexes and t.prewhere:
                sp.choice = "exact"
                sp.reason = ("PREWHERE: under PREWHERE, ClickHouse's vector index search returns the rows "
                             "of the nearest candidates' granules that pass it, not the nearest rows that "
                             "pass it, and no row count can tell: an exact scan (a filter in WHERE can "
                             "use the index)")
            elif sp.indexes:
                self._choose(t, sp, fill, params, user.get(EF_KEY))
        if sole is None:
            from ..text.topk import only_search

            sole = only_search(statement, topks)
        plan = self._settings(searches, user, sole)
        # nested searches on the index: check their row count before the statement runs
        for t, sp in searches:
            if sp.choice == "index" and not (sp.outermost and len(searches) == 1):
                self._check_nested(statement, t, sp, fill, plan, params)
        if any(sp.check.endswith("exact scan") for _, sp in searches):
            plan = self._settings(searches, user, sole)
        plan.estimate_ms = (time.perf_counter() - t0) * 1000
        return plan

    # -- choosing -----------------------------------------------------------------------------
    def _choose(self, t, sp: SearchPlan, fill, params: dict | None, user_list=None) -> None:
        from ..errors import EmbedSQLError

        cfg = self.config
        want = t.k + t.offset
        try:
            sp.total = self.catalog.total_rows(t.table)
        except EmbedSQLError:
            sp.total = None
        granularity, row_cost = self._storage(t.table, t.column)
        live = None
        if not t.filtered and sp.total:
            # rows removed by a lightweight DELETE stay in the index and are dropped after its
            # search, like a filter's: plan as for one (the count is read from the parts' masks)
            try:
                live, _ = self._count(fill(self._count_sql(t)), params)
            except (EmbedSQLError, IndexError, KeyError, TypeError, ValueError):
                live = None
            if live is not None and live < sp.total:
                sp.filtered = True
        if not sp.filtered:
            if sp.total is not None:
                scan = sp.scan_ms = self.scan_cost(sp.total, sp.total, granularity, row_cost)
                index = sp.index_ms = self.index_cost(max(want, self.list_size(sp.total, None, want, user_list)))
                if scan <= index:
                    sp.choice = "exact"
                    sp.reason = (f"no filter, {sp.total:,} rows: an exact scan (est. {scan:.1f} ms) costs "
                                 f"less than the index search (est. {index:.1f} ms)")
                    return
            sp.choice = "index"
            sp.reason = "no filter: the index search returns k rows" + (
                f" of {sp.total:,}" if sp.total is not None else "")
            return
        if t.filtered:
            sql = self._count_sql(t)
            try:
                sp.matching, cached = self._count(fill(sql), params)
            except (EmbedSQLError, IndexError, KeyError, TypeError, ValueError) as exc:
                sp.choice = "exact"
                sp.reason = f"the filter's rows could not be counted ({str(exc)[:120]}): exact scan"
                return
        else:
            sp.matching, cached = live, True
        total = max(sp.total or 0, sp.matching)
        sp.total = total
        if sp.matching == 0:
            sp.choice = "exact"
            sp.reason = "no row passes the filter"
            return
        s = sp.matching / total if total else 1.0
        mult = max(1, math.ceil(cfg.safety / s)) if s < 1 else 1
        exact_rows = self.exact_scan_rows(total, sp.matching, granularity)
        scan = sp.scan_ms = self.scan_cost(total, sp.matching, granularity, row_cost)
        listed = self.list_size(total, s, want * mult, user_list)
        # the search walks at least as many entries as it hands over candidates
        index = sp.index_ms = self.index_cost(max(listed, want * mult))
        pct = f"{100 * s:.3g} %"
        kept = (f"the filter keeps {sp.matching:,} of {total:,} rows ({pct}{', counted earlier' if cached else ''})"
                if t.filtered else
                f"{sp.matching:,} of {total:,} rows are left after a lightweight DELETE ({pct})")
        scanning = (f"scanning {exact_rows:,} rows"
                    + (" of uncompressed vectors" if row_cost == cfg.uncompressed_row_cost != cfg.row_cost else ""))
        searching = f"the index search for {want * mult:,} candidates in a list of {listed:,}"
        if mult > cfg.max_multiplier:
            sp.choice = "exact"
            sp.reason = (f"{kept}: the index would need over {cfg.max_multiplier}x the candidates "
                         f"(ClickHouse's limit) to find {want} of them: {scanning}")
        elif index < scan:
            sp.choice = "index"
            sp.multiplier = mult
            sp.reason = f"{kept}: {searching} (est. {index:.1f} ms) costs less than {scanning} (est. {scan:.1f} ms)"
        else:
            sp.choice = "exact"
            sp.reason = f"{kept}: {scanning} (est. {scan:.1f} ms) costs less than {searching} (est. {index:.1f} ms)"

    def list_size(self, total: int | None, selectivity: float | None, candidates: int, user=None) -> int:
        """The candidate list (hnsw_candidate_list_size_for_search) an index plan searches on a
        table of `total` rows (None: unknown): `user`'s own value when given (as the user wrote
        it), else `PlannerConfig.ef_search`, else `ef_for_rows(total)`; under a filter keeping a
        share `selectivity` (None: no filter) that times `filtered_ef_factor`, and at least
        `LIST_MARGIN` times the `candidates` fetched (k x the fetch multiplier)."""
        if user is not None:
            try:
                return max(1, int(str(user).strip("'\" ")))
            except ValueError:
                pass
        ef = self.config.ef_search
        if ef is not None:
            return ef
        ef = ef_for_rows(total)
        if selectivity is not None:
            ef = max(math.ceil(ef * filtered_ef_factor(selectivity)), math.ceil(LIST_MARGIN * candidates))
        return ef

    def index_cost(self, listed: int) -> float:
        """The cost model's estimate (ms) of an index search with a candidate list of `listed`."""
        return self.config.index_fixed + self.config.list_cost * listed

    def scan_cost(self, total: int, matching: int, granularity: int, row_cost: float) -> float:
        """The cost model's estimate (ms) of an exact scan of `total` rows stored in `granularity`-row
        granules, `matching` of them passing the filter, at `row_cost` per row read."""
        cfg = self.config
        return (cfg.scan_fixed + row_cost * self.exact_scan_rows(total, matching, granularity)
                + cfg.range_cost * self.exact_scan_runs(total, matching, granularity)
                + cfg.match_cost * matching)

    @staticmethod
    def exact_scan_rows(total: int, matching: int, granularity: int) -> int:
        """Rows an exact scan under a filter reads: ClickHouse reads the vectors of every granule
        (`granularity` rows) that holds a matching row. With the `matching` rows of `total` spread
        at random, a granule holds none with probability (1 - s) ** granularity, s the filter's
        share: total x (1 - (1 - s) ** granularity) rows, at least `matching`. A filter that
        follows the table's sort key reads fewer. 0.1 % of 200k rows reads 3 % of them in 32-row
        granules and all of them in 8,192-row ones."""
        if total <= 0:
            return 0
        s = min(1.0, matching / total)
        return max(matching, min(total, math.ceil(total * (1.0 - (1.0 - s) ** max(1, granularity)))))

    @staticmethod
    def exact_scan_runs(total: int, matching: int, granularity: int) -> float:
        """Runs of consecutive granules an exact scan under a filter reads (each a seek and a
        read): of the G = total / granularity granules each holds a matching row with probability
        p = 1 - (1 - s) ** granularity (as in `exact_scan_rows`), so p + (G - 1) p (1 - p) runs are
        expected. Few when the filter keeps few rows or nearly every granule; most in between:
        200k rows in 32-row granules under a 1 % filter, about 1,250."""
        if total <= 0 or matching <= 0:
            return 0.0
        s = min(1.0, matching / total)
        g = math.ceil(total / max(1, granularity))
        p = 1.0 - (1.0 - s) ** max(1, granularity)
        return p + (g - 1) * p * (1.0 - p)

    def _storage(self, table: str, column: str) -> tuple[int, float]:
        """How the rows of `table` are stored, for the cost of an exact scan: (rows per granule,
        the first holding table's `index_granularity`, 8192 when unknown; what reading one row's
        vector costs in the cost model's unit, a row of LZ4-compressed storage:
        `PlannerConfig.uncompressed_row_cost` when every table holding the rows stores `column`
        with CODEC(NONE), else 1). A hint for the cost model only: a catalog error gives the
        defaults."""
        granularity, cost = 8192, self.config.row_cost
        try:
            bases = self.catalog.base_tables(table)
            for base in bases:
                v = self.catalog.table_setting(base, "index_granularity")
                if v and str(v).isdigit():
                    granularity = int(v)
                    break
            if bases and all(str(self.catalog.column_codec(b, column) or "").upper() == "NONE" for b in bases):
                cost = self.config.uncompressed_row_cost
        except Exception:  # noqa: BLE001 - a hint for the cost model only
            pass
        return granularity, cost

    @staticmethod
    def _count_sql(t) -> str:
        parts = [t.with_clause or "", f"SELECT count() FROM {t.from_text}"]
        if t.prewhere:
            parts.append(f"PREWHERE {t.prewhere}")
        if t.where:
            parts.append(f"WHERE {t.where}")
        if t.settings:
            parts.append("SETTINGS " + ", ".join(f"{k} = {v}" for k, v in t.settings.items()))
        return " ".join(p for p in parts if p)

    # -- settings -----------------------------------------------------------------------------
    def _settings(self, searches, user: dict, sole: bool) -> VectorPlan:
        plans = [sp for _, sp in searches]
        # an index one exact search must not use cannot serve another search either
        exact_idx = {i for sp in plans if sp.choice == "exact" for i in sp.indexes}
        for sp in plans:
            if sp.choice == "index" and exact_idx & set(sp.indexes):
                sp.choice = "exact"
                sp.reason += "; exact like the other search on the same index (one setting serves both)"
        exact_idx = sorted({i for sp in plans if sp.choice == "exact" for i in sp.indexes})
        index_plans = [sp for sp in plans if sp.choice == "index"]
        settings: dict = {}
        if index_plans:
            mults = [sp.multiplier for sp in index_plans if sp.filtered and sp.multiplier]
            wanted = max((sp.k + sp.offset) * (sp.multiplier or 1) for sp in index_plans)  # candidates
            if EF_KEY not in user:
                sizes = [sp.total for sp in index_plans]
                sels = [sp.matching / sp.total for sp in index_plans
                        if sp.filtered and sp.matching and sp.total]
                settings[EF_KEY] = self.list_size(None if any(x is None for x in sizes) else max(sizes),
                                                  min(sels) if sels else (1.0 if mults else None), wanted)
            if mults:
                settings["vector_search_filter_strategy"] = "postfilter"
                settings["vector_search_index_fetch_multiplier"] = max(mults)
                # the candidates the multiplier asks for must be allowed through (LIMIT_KEY)
                if LIMIT_KEY not in user and wanted > CLICKHOUSE_MAX_LIMIT:
                    settings[LIMIT_KEY] = wanted
        read = {k: v for k, v in self.config.exact_settings.items() if k not in user}
        no_index = {k: v for k, v in self.config.no_index_settings.items() if k not in user} if sole else {}
        # indexes the user has ClickHouse ignore (none of the searched ones: that pins the plan),
        # extended with the exact plans' own; where the statement's SETTINGS give that list, a
        # setting sent beside it cannot extend it: vector search goes off for the statement
        theirs = _index_list(user.get(IGNORE_KEY, ""))
        if theirs and self._ignores_in_text:
            no_index = self.config.no_index_settings or {"use_skip_indexes": 0}
        if exact_idx:
            settings[IGNORE_KEY] = ",".join(dict.fromkeys(theirs + exact_idx))
            settings.update(read)
            if not index_plans or (theirs and self._ignores_in_text):
                settings.update(no_index)
        every_idx = sorted({i for sp in plans for i in sp.indexes})
        kinds = {sp.choice for sp in plans if sp.indexes}
        kind = kinds.pop() if len(kinds) == 1 else "mixed"
        plan = VectorPlan(kind, "", plans, settings,
                          {IGNORE_KEY: ",".join(dict.fromkeys(theirs + every_idx)), **read, **no_index}
                          if every_idx else {})
        if theirs:
            plan.merged = (IGNORE_KEY,)
        return plan

    def _check_nested(self, statement: str, t, sp: SearchPlan, fill, plan: VectorPlan,
                      params: dict | None) -> None:
        from ..errors import EmbedSQLError

        want = t.k  # as in VectorPlan.needs_exact_rerun
        # names from the statement's WITH clause (a query vector, the CTEs) stay visible
        prefix = (t.with_clause + " ") if t.with_clause and t.start > 0 else ""
        sql = f"{prefix}SELECT count() FROM ({t.query_text(statement)})"
        try:
            sql = fill(sql)
            got = int(self._run(sql, plan.settings, named_params(sql, params))[0][0])
        except (EmbedSQLError, IndexError, KeyError, TypeError, ValueError) as exc:
            sp.choice = "exact"
            sp.check = f"could not check the index's rows ({str(exc)[:120]}): exact scan"
            return
        if got >= want:
            sp.check = f"the index returns {got} row(s) of the {want} the answer has"
        else:
            sp.choice = "exact"
            sp.check = f"the index returns {got} row(s), fewer than the {want} the answer has: exact scan"
