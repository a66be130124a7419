"""The vector query planner on the real engine (chdb): every top-k search returns the right rows.

Each case runs a statement through `Session.query` and compares the rows with numpy's exact
answer: the row count (min(k, matching rows)) and the top-k ids and distances. Tables hold
CLIP-like vectors (benchmarks/clipdata.py: clustered, a shared direction, text-like queries across
a modality gap) at 16 dimensions; filters keep 0.1 %, 1 %, 10 %, 50 % and 100 % of the rows,
uniformly (`u`) or following the clusters (`c`), on a table with a vector index and on one without.

The index is built with 'f32' quantization and the planner searches it with a large candidate list
(ef 1024 for 12k rows): these tests check the planner's plans and answers, not the index's recall
at the shipped setting, which the benchmarks measure (benchmarks/bench_hnsw_defaults.py). An exact
plan must give numpy's answer exactly; an index plan exactly as many rows, of which at most one
may differ (HNSW is approximate: see planner_support.assert_answer).
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import replace

import numpy as np
import pytest

import sqlext
from benchmarks.floor import raw_client
from sqlext.db.engine import EMBEDDED
from sqlext.db.planner import (
    EF_KEY, EMBEDDED_EXACT_SETTINGS, LIMIT_KEY, LIST_MARGIN, NO_SEARCH_KEY as NO_SEARCH, NO_VECTOR_SEARCH,
    PARALLEL_SCAN_SETTINGS, Planner,
    PlannerConfig, ef_for_rows,
    filtered_ef_factor,
)

from sqlext.text.rewrite import cast_vector
from tests.sqlext.planner_support import assert_answer, expected_rows, make_table, small_clip_like, vec

N = 12_000
DIM = 16
SELECTIVITIES = [0.001, 0.01, 0.1, 0.5, 1.0]
KINDS = ["uniform", "correlated"]


@pytest.fixture(scope="module")
def vs():
    return small_clip_like(N, DIM, seed=11)


@pytest.fixture(scope="module")
def db(tmp_path_factory, vs):
    path = tmp_path_factory.mktemp("planner") / "db"
    s = sqlext.connect(dsn=f"chdb://{path}")
    with raw_client(s) as c:
        make_table(c, "t_idx", vs, index=True)
        make_table(c, "t_plain", vs, index=False)
        make_table(c, "t_g32", vs, index=True, granularity=32)
        make_table(c, "t_g32_none", vs, index=True, granularity=32, codec="NONE")
        c.command("CREATE TABLE t_merge AS t_idx ENGINE = Merge(currentDatabase(), '^t_idx$')")
    s.close()
    yield path
    EMBEDDED.release_now()


@pytest.fixture
def session(db):
    s = sqlext.connect(dsn=f"chdb://{db}")
    # these tables are small (12k rows of 16-d vectors), where an exact scan beats the index; the
    # index is priced lower, so that the choice turns between 1 % and 10 % here as it does on 200k
    # rows of 512-d vectors with the shipped model
    s.planner.config = PlannerConfig(ef_search=1024, index_fixed=0.0, list_cost=0.002)
    yield s
    s.close()


def _where(vs, kind, sel, word="WHERE"):
    w = vs.where(kind, sel)
    return f"{word} {w}" if w else ""


CASES = [(kind, sel, table) for table in ("t_idx", "t_plain") for kind in KINDS for sel in SELECTIVITIES
         if not (kind == "correlated" and sel == 1.0)]


@pytest.mark.parametrize("kind, sel, table", CASES)
def test_filtered_top_k_is_exact_at_every_selectivity(session, vs, kind, sel, table):
    mask = vs.mask(kind, sel)
    for q in vs.queries[:2]:
        r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM {table} "
                          f"{_where(vs, kind, sel)} ORDER BY d LIMIT 10")
        assert_answer(r.rows, vs, q, mask, 10, plan=r.stats.plan)
        plan = r.stats.plan
        assert plan is not None
        if table == "t_plain":
            assert plan.kind == "none" and "no vector index" in plan.reason
        else:
            s = plan.searches[0]
            assert s.choice in ("index", "exact") and s.reason
            if sel < 1.0:
                assert s.matching == int(mask.sum())  # the count is exact


@pytest.mark.parametrize("sel", [0.01, 0.1, 0.5])
def test_the_planner_picks_exact_for_selective_filters_and_the_index_for_loose_ones(session, vs, sel):
    r = session.query(f"SELECT id, cosineDistance(vec, {vec(vs.queries[0])}) AS d FROM t_idx "
                      f"WHERE {vs.where('uniform', sel)} ORDER BY d LIMIT 10")
    s = r.stats.plan.searches[0]
    # 1 % of 12k rows: 600x the candidates cost more than scanning; 10 % / 50 %: 60x / 12x do not
    assert s.choice == ("exact" if sel == 0.01 else "index")
    if s.choice == "index":
        assert s.multiplier == int(np.ceil(6 / (s.matching / N)))
        assert r.stats.plan.settings["vector_search_index_fetch_multiplier"] == s.multiplier
        assert r.stats.plan.settings["vector_search_filter_strategy"] == "postfilter"
    else:
        assert r.stats.plan.settings == {"ignore_data_skipping_indices": "vi"}


def test_prewhere_and_offset(session, vs):
    mask = vs.mask("uniform", 0.1)
    q = vs.queries[1]
    r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx PREWHERE {vs.where('uniform', 0.1)} "
                      f"ORDER BY d LIMIT 5 OFFSET 3")
    assert_answer(r.rows, vs, q, mask, 5, offset=3, plan=r.stats.plan)
    r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx WHERE {vs.where('uniform', 0.1)} "
                      f"ORDER BY d LIMIT 3, 5")
    assert_answer(r.rows, vs, q, mask, 5, offset=3, plan=r.stats.plan)


def test_prewhere_away_from_the_query_is_exact(session, vs):
    """A PREWHERE filter that drops the rows nearest the query: under PREWHERE, ClickHouse's index
    search returns the other rows of the nearest candidates' granules, as many as asked for but
    not the nearest ones (recall 0.0-0.3 in a side test), and no row count can tell. The planner
    scans exactly; the same filter in WHERE still goes to the index."""
    q = vs.queries[3]
    d = 1.0 - (vs.images @ q) / (np.linalg.norm(vs.images, axis=1) * np.linalg.norm(q))
    near = np.argsort(d)[:200]  # 1.7 % of the rows: a filter keeping 98 % goes to the index
    mask = np.ones(N, bool)
    mask[near] = False
    cond = f"id NOT IN ({', '.join(str(i) for i in sorted(near))})"
    for word in ("PREWHERE", "WHERE"):
        r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_g32 {word} {cond} "
                          f"ORDER BY d LIMIT 10")
        assert_answer(r.rows, vs, q, mask, 10, plan=r.stats.plan)
        s = r.stats.plan.searches[0]
        if word == "PREWHERE":
            assert s.choice == "exact" and s.reason.startswith("PREWHERE"), s.reason
            assert [row[0] for row in r.rows] == expected_rows(vs, q, mask, 10)
        else:
            assert s.choice == "index", s.reason


def test_fewer_rows_match_than_k(session, vs):
    # 12 rows have u < 1 (0.1 %): the answer is those 12, all of them
    mask = vs.mask("uniform", 0.001)
    q = vs.queries[2]
    r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx WHERE u < 1 AND id % 2 = 0 "
                      f"ORDER BY d LIMIT 50")
    assert_answer(r.rows, vs, q, mask & (np.arange(N) % 2 == 0), 50, plan=r.stats.plan)
    r = session.query(f"SELECT id FROM t_idx WHERE u > 5000 ORDER BY cosineDistance(vec, {vec(q)}) LIMIT 10")
    assert r.rows == [] and r.stats.plan.searches[0].matching == 0


FORMS = {
    "subquery": "SELECT id, d FROM ({inner}) WHERE d < 5 ORDER BY d",
    "cte": "WITH hits AS ({inner}) SELECT id, d FROM hits ORDER BY d",
    "cte_join": "WITH hits AS ({inner}) SELECT h.id, h.d FROM hits AS h JOIN t_plain AS p ON p.id = h.id ORDER BY h.d",
    "union": "SELECT id, d FROM ({inner}) UNION ALL SELECT id, d FROM ({inner}) ORDER BY d, id",
}


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("kind, sel", [("uniform", 0.1), ("correlated", 0.1), ("uniform", 0.5), ("uniform", 1.0)])
def test_subqueries_and_ctes(session, vs, form, kind, sel):
    mask = vs.mask(kind, sel)
    q = vs.queries[3]
    inner = f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx {_where(vs, kind, sel)} ORDER BY d LIMIT 10"
    r = session.query(FORMS[form].format(inner=inner))
    if form == "union":  # the same search twice: each branch gives the answer
        want = expected_rows(vs, q, mask, 10)
        ids = {x[0] for x in r.rows}
        index = any(s.choice == "index" for s in r.stats.plan.searches)
        assert len(r.rows) == 2 * len(want)
        assert ids == set(want) or (index and len(ids & set(want)) >= len(want) - 1 and len(ids - set(want)) <= 2)
    else:
        assert_answer(r.rows, vs, q, mask, 10, plan=r.stats.plan)
    plan = r.stats.plan
    assert all(not s.outermost for s in plan.searches)
    for s in plan.searches:
        if s.choice == "index":
            assert s.check.startswith("the index returns")  # checked before the statement ran


def test_query_vector_named_in_with(session, vs):
    mask = vs.mask("correlated", 0.5)
    q = vs.queries[4]
    r = session.query(f"WITH {vec(q)} AS qv SELECT id, cosineDistance(vec, qv) AS d FROM t_idx "
                      f"WHERE {vs.where('correlated', 0.5)} ORDER BY d LIMIT 10")
    assert_answer(r.rows, vs, q, mask, 10, plan=r.stats.plan)
    assert r.stats.plan.searches[0].matching == int(mask.sum())
    r = session.query(f"WITH {vec(q)} AS qv SELECT * FROM (SELECT id, cosineDistance(vec, qv) AS d FROM t_idx "
                      f"WHERE {vs.where('correlated', 0.5)} ORDER BY d LIMIT 10) ORDER BY d")
    assert_answer(r.rows, vs, q, mask, 10, plan=r.stats.plan)


@pytest.mark.parametrize("table", ["t_idx", "t_plain", "t_merge"])
def test_myscale_distance_after_translation(session, vs, table):
    mask = vs.mask("uniform", 0.5)
    q = vs.queries[5]
    r = session.query(f"SELECT id, distance(vec, {vec(q)}) AS d FROM {table} WHERE {vs.where('uniform', 0.5)} "
                      f"ORDER BY d LIMIT 10")
    if table == "t_plain":  # no index: MyScale's default metric L2 (same order for unit vectors)
        assert_answer(r.rows, vs, q, mask, 10, dist_col=None, plan=r.stats.plan)
        assert r.stats.plan.kind == "none"
    else:
        # the Merge table is followed to t_idx: its index's metric (Cosine), and its index
        assert any("cosineDistance" in n and "vi" in n for n in r.stats.translations), r.stats.translations
        assert_answer(r.rows, vs, q, mask, 10, plan=r.stats.plan)
        assert r.stats.plan.searches[0].indexes == ["vi"]


def test_a_short_index_answer_is_rerun_exactly(session, vs):
    # a cost model that trusts the index with too few candidates: the check catches it
    session.planner.config = PlannerConfig(ef_search=16, safety=0.01)
    mask = vs.mask("correlated", 0.1)
    for q in vs.queries:
        r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx "
                          f"WHERE {vs.where('correlated', 0.1)} ORDER BY d LIMIT 10")
        assert_answer(r.rows, vs, q, mask, 10, plan=r.stats.plan)
        plan = r.stats.plan
        assert plan.searches[0].choice == "index" and plan.searches[0].multiplier == 1
        if plan.reran:
            assert "ran again as an exact scan" in plan.checked and plan.rows == 10
    # the same in a subquery: checked before it runs, then planned exact
    q = vs.queries[0]
    r = session.query(f"SELECT * FROM (SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx "
                      f"WHERE {vs.where('correlated', 0.01)} ORDER BY d LIMIT 10) ORDER BY d")
    assert_answer(r.rows, vs, q, vs.mask("correlated", 0.01), 10, plan=r.stats.plan)


def test_many_candidates_are_let_through_clickhouses_limit(session, vs):
    """ClickHouse hands over at most `max_limit_for_vector_search_queries` (1000) candidates: a
    1 % filter with a 600x multiplier asks for 6,000, and the plan raises the limit to that, so
    the index answers in full (no exact rerun). A limit the user sets is theirs."""
    session.planner.config = PlannerConfig(ef_search=1024, index_fixed=0, list_cost=0.0, safety=6.0)
    mask = vs.mask("uniform", 0.01)
    where = vs.where("uniform", 0.01)
    for q in vs.queries[:4]:
        r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx WHERE {where} "
                          f"ORDER BY d LIMIT 10")
        plan = r.stats.plan
        sp = plan.searches[0]
        assert sp.choice == "index" and sp.multiplier == int(np.ceil(6 / (sp.matching / N)))
        assert plan.settings[LIMIT_KEY] == 10 * sp.multiplier > 1000
        assert not plan.reran, plan.checked
        assert_answer(r.rows, vs, q, mask, 10, plan=plan)
    r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx WHERE {where} "
                      f"ORDER BY d LIMIT 10", settings={LIMIT_KEY: 1000})
    assert LIMIT_KEY not in r.stats.plan.settings
    assert_answer(r.rows, vs, q, mask, 10, plan=r.stats.plan)  # short answers still rerun exactly
    # a multiplier that stays within the limit adds nothing
    r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx WHERE {vs.where('uniform', 0.5)} "
                      f"ORDER BY d LIMIT 10")
    assert r.stats.plan.searches[0].choice == "index" and LIMIT_KEY not in r.stats.plan.settings


def test_the_check_reruns_when_rows_are_missing(session, vs):
    session.planner.config = PlannerConfig(ef_search=16, safety=0.01, index_fixed=0)
    # 1 % uniform with 1x the candidates: the post-filtered index search cannot find 10
    q = vs.queries[0]
    r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx "
                      f"WHERE {vs.where('uniform', 0.01)} ORDER BY d LIMIT 10")
    assert_answer(r.rows, vs, q, vs.mask("uniform", 0.01), 10, plan=r.stats.plan)
    assert r.stats.plan.reran and "ran again as an exact scan" in r.stats.plan.checked
    r = session.query(f"SELECT id, d FROM (SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx "
                      f"WHERE {vs.where('uniform', 0.01)} ORDER BY d LIMIT 10) ORDER BY d")
    assert_answer(r.rows, vs, q, vs.mask("uniform", 0.01), 10, plan=r.stats.plan)
    assert r.stats.plan.searches[0].choice == "exact" and r.stats.plan.searches[0].check.endswith("exact scan")


def _raw(db_session, sql, settings=None):
    with raw_client(db_session) as c:
        return list(c.query(sql, settings=settings).result_rows)


@pytest.mark.parametrize("how", ["statement", "set", "call"])
def test_user_plan_settings_win(session, vs, how):
    q = vs.queries[0]
    sql = (f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx WHERE {vs.where('uniform', 0.01)} "
           f"ORDER BY d LIMIT 10")
    pinned = {"vector_search_filter_strategy": "postfilter", EF_KEY: 16}
    if how == "statement":
        r = session.query(sql + " SETTINGS vector_search_filter_strategy = 'postfilter', "
                                "hnsw_candidate_list_size_for_search = 16")
    elif how == "set":
        session.execute("SET vector_search_filter_strategy = 'postfilter'")
        session.execute("SET hnsw_candidate_list_size_for_search = 16")
        r = session.query(sql)
    else:
        r = session.query(sql, settings=pinned)
    # the user chose post-filtering: sent as written, the rows are ClickHouse's own
    assert r.stats.plan.kind == "yours" and "vector_search_filter_strategy" in r.stats.plan.reason
    assert [x[0] for x in r.rows] == [x[0] for x in _raw(session, sql, pinned)]
    assert len(r.rows) < 10  # what the planner exists to prevent, chosen by the user here
    if how == "set":  # `= DEFAULT` (any case) takes a SET back: ClickHouse's default, and the plan
        session.execute("SET vector_search_filter_strategy = DEFAULT, hnsw_candidate_list_size_for_search = default")
        assert session.user_settings == {}
        r = session.query(sql)
        assert r.stats.plan.kind in ("index", "exact")
        assert_answer(r.rows, vs, q, vs.mask("uniform", 0.01), 10, plan=r.stats.plan)
        assert session.query("SELECT getSetting('vector_search_filter_strategy')").rows == [("auto",)]


@pytest.mark.parametrize("how", ["statement", "set"])
def test_a_user_ef_is_kept_and_the_plan_still_checked(session, vs, how):
    q = vs.queries[1]
    mask = vs.mask("uniform", 0.5)
    sql = (f"SELECT id, cosineDistance(vec, {vec(q)}) AS d, getSetting('{EF_KEY}') AS ef FROM t_idx "
           f"WHERE {vs.where('uniform', 0.5)} ORDER BY d LIMIT 10")
    if how == "statement":
        r = session.query(sql + f" SETTINGS {EF_KEY} = 999")
    else:
        session.execute(f"SET {EF_KEY} = 999")
        r = session.query(sql)
    assert_answer(r.rows, vs, q, mask, 10, plan=r.stats.plan)
    assert {x[2] for x in r.rows} == {999}
    assert EF_KEY not in r.stats.plan.settings and r.stats.plan.kind in ("index", "exact")


def test_the_shipped_ef_goes_with_an_unfiltered_index_plan(db, vs):
    s = sqlext.connect(dsn=f"chdb://{db}")
    r = s.query(f"SELECT id, cosineDistance(vec, {vec(vs.queries[0])}) AS d, getSetting('{EF_KEY}') FROM t_idx "
                f"ORDER BY d LIMIT 10")
    ef = ef_for_rows(N)  # 256 for 12k rows
    assert r.stats.plan.kind == "index" and r.stats.plan.settings == {EF_KEY: ef}
    assert {x[2] for x in r.rows} == {ef} and len(r.rows) == 10
    # the index priced lower, as on a larger table (an exact scan of these 12k rows costs less)
    s.planner.config = replace(s.planner.config, index_fixed=0.0, list_cost=0.001)
    # a filter searches deeper: the list grows by 0.4 / selectivity, between 1x and 4x, and is at
    # least LIST_MARGIN times the candidates fetched (k x the multiplier)
    for sel, k, by_margin in ((0.1, 10, False), (0.5, 10, False), (0.1, 20, True)):
        r = s.query(f"SELECT id, cosineDistance(vec, {vec(vs.queries[0])}) AS d, getSetting('{EF_KEY}') FROM t_idx "
                    f"WHERE {vs.where('uniform', sel)} ORDER BY d LIMIT {k}")
        sp = r.stats.plan.searches[0]
        assert sp.choice == "index"
        by_size = int(np.ceil(ef * filtered_ef_factor(sp.matching / N)))
        margin = int(np.ceil(LIST_MARGIN * k * sp.multiplier))
        want = max(by_size, margin)
        assert r.stats.plan.settings[EF_KEY] == want and {x[2] for x in r.rows} == {want}
        assert (margin > by_size) is by_margin  # 10 %: 1024 > 900, 50 %: 256 > 180; top 20 at 10 %: 1800
    s.close()


def test_filtered_ef_factor():
    assert [filtered_ef_factor(x) for x in (1.0, 0.5, 0.4, 0.2, 0.1, 0.05, 0.01, 0.0)] == [1, 1, 1, 2, 4, 4, 4, 4]


@pytest.mark.parametrize("total,granularity", [(200_000, 32), (200_000, 8192), (25_000, 32)])
@pytest.mark.parametrize("sel", [0.001, 0.01, 0.1])
def test_exact_scan_rows_is_the_rows_of_the_granules_a_random_filter_hits(total, granularity, sel):
    rng = np.random.default_rng(3)
    matching = int(total * sel)
    read = []
    for _ in range(20):
        rows = rng.choice(total, matching, replace=False)
        granules = np.unique(rows // granularity)
        read.append(sum(min(granularity, total - g * granularity) for g in granules))
    est = Planner.exact_scan_rows(total, matching, granularity)
    assert abs(est - np.mean(read)) <= 0.03 * np.mean(read) + granularity


@pytest.mark.parametrize("sel", [0.001, 0.01])
def test_small_granules_make_a_selective_exact_scan_cheaper_in_the_plan(session, vs, sel):
    """The same rows in 32-row granules: the plan counts the rows of the granules the filter
    hits, not the whole table, and the answer is still numpy's."""
    plans = {}
    for table in ("t_idx", "t_g32"):
        r = session.query(f"SELECT id, cosineDistance(vec, {vec(vs.queries[1])}) AS d FROM {table} "
                          f"WHERE {vs.where('uniform', sel)} ORDER BY d LIMIT 10")
        assert_answer(r.rows, vs, vs.queries[1], vs.mask("uniform", sel), 10, plan=r.stats.plan)
        plans[table] = r.stats.plan.searches[0]
    assert session.catalog.table_setting("t_g32", "index_granularity") == "32"
    assert all(p.choice == "exact" for p in plans.values())
    m = plans["t_g32"].matching
    assert f"scanning {N:,} rows" in plans["t_idx"].reason
    assert f"scanning {Planner.exact_scan_rows(N, m, 32):,} rows" in plans["t_g32"].reason
    assert Planner.exact_scan_rows(N, m, 32) < N / 2

def test_uncompressed_vectors_make_an_exact_scan_cheaper_in_the_plan(session, vs):
    """The same rows with vec stored as CODEC(NONE) (the built-in table's): under a 10 % filter
    the scan reads the same granules, at `uncompressed_row_cost` a row instead of `row_cost`, so
    with an index search costed between the two estimates the plan turns from the index to an
    exact scan; both answers are numpy's."""
    planner = session.planner
    cfg = planner.config
    m = int(vs.mask("uniform", 0.1).sum())
    lz4 = planner.scan_cost(N, m, 32, cfg.row_cost)
    none = planner.scan_cost(N, m, 32, cfg.uncompressed_row_cost)
    assert none < lz4
    planner.config = replace(cfg, index_fixed=0.0, list_cost=(lz4 + none) / 2 / cfg.ef_search)
    plans = {}
    for table in ("t_g32", "t_g32_none"):
        r = session.query(f"SELECT id, cosineDistance(vec, {vec(vs.queries[2])}) AS d FROM {table} "
                          f"WHERE {vs.where('uniform', 0.1)} ORDER BY d LIMIT 10")
        assert_answer(r.rows, vs, vs.queries[2], vs.mask("uniform", 0.1), 10, plan=r.stats.plan)
        plans[table] = r.stats.plan.searches[0]
    assert session.catalog.column_codec("t_g32_none", "vec") == "NONE"
    assert session.catalog.column_codec("t_g32", "vec") is None
    rows = Planner.exact_scan_rows(N, m, 32)
    assert plans["t_g32"].matching == plans["t_g32_none"].matching == m
    assert plans["t_g32"].choice == "index"
    assert f"costs less than scanning {rows:,} rows (est. {lz4:.1f} ms)" in plans["t_g32"].reason
    assert plans["t_g32_none"].choice == "exact"
    assert f"scanning {rows:,} rows of uncompressed vectors (est. {none:.1f} ms) costs less" in plans["t_g32_none"].reason


def test_exact_plans_on_the_embedded_engine_read_through_mmap_unless_the_user_says_otherwise(db, vs):
    """On the embedded engine an exact plan (and the exact fallback of an index plan) reads the
    table's files through mmap; a user's own read method wins, in the statement or through SET;
    index plans are left alone. The answers stay numpy's."""
    s = sqlext.connect(dsn=f"chdb://{db}")
    try:
        assert s.planner.config.exact_settings == {**PARALLEL_SCAN_SETTINGS, **EMBEDDED_EXACT_SETTINGS}
        sql = (f"SELECT id, cosineDistance(vec, {vec(vs.queries[3])}) AS d FROM t_g32_none "
               f"WHERE {vs.where('uniform', 0.01)} ORDER BY d LIMIT 10")
        r = s.query(sql)
        assert_answer(r.rows, vs, vs.queries[3], vs.mask("uniform", 0.01), 10, plan=r.stats.plan)
        plan = r.stats.plan
        assert plan.kind == "exact" and plan.settings["local_filesystem_read_method"] == "mmap"
        assert plan.settings["min_bytes_to_use_mmap_io"] == 1 and plan.fallback["local_filesystem_read_method"] == "mmap"
        r = s.query(sql + " SETTINGS local_filesystem_read_method = 'pread'")
        assert "local_filesystem_read_method" not in r.stats.plan.settings
        assert "local_filesystem_read_method" not in r.stats.plan.fallback
        assert r.stats.plan.settings["min_bytes_to_use_mmap_io"] == 1
        s.command("SET local_filesystem_read_method = 'pread'")
        assert "local_filesystem_read_method" not in s.query(sql).stats.plan.settings
        r = s.query(f"SELECT id, cosineDistance(vec, {vec(vs.queries[3])}) AS d FROM t_g32 ORDER BY d LIMIT 10")
        assert r.stats.plan.kind == "index" and "min_bytes_to_use_mmap_io" not in r.stats.plan.settings
    finally:
        s.close()


def test_exact_plans_let_every_thread_read_a_part_of_a_small_table(db, vs):
    """An exact plan sends PARALLEL_SCAN_SETTINGS: with them ClickHouse reads a table far below
    its default split size (163,840 rows per thread) with several threads (EXPLAIN PIPELINE:
    `MergeTreeSelect … × 3` with max_threads = 4), without them with one. A user's own value wins."""
    s = sqlext.connect(dsn=f"chdb://{db}")
    try:
        sql = (f"SELECT id, cosineDistance(vec, {vec(vs.queries[2])}) AS d FROM t_g32_none "
               f"WHERE {vs.where('uniform', 0.01)} ORDER BY d LIMIT 10")
        r = s.query(sql)
        assert_answer(r.rows, vs, vs.queries[2], vs.mask("uniform", 0.01), 10, plan=r.stats.plan)
        plan = r.stats.plan
        assert plan.kind == "exact" and all(plan.settings[k] == v for k, v in PARALLEL_SCAN_SETTINGS.items())

        def readers(settings: dict) -> str:
            given = ", ".join(f"{k} = {v!r}" if isinstance(v, str) else f"{k} = {v}" for k, v in settings.items())
            with raw_client(s) as c:
                text = c.raw_query(f"EXPLAIN PIPELINE {sql} SETTINGS max_threads = 4, {given}").decode()
            return next(line.strip() for line in text.splitlines() if "MergeTreeSelect" in line)

        # 12,000 rows in parts of at least 4,096: three readers
        assert re.search(r"× (\d+) ", readers(plan.settings)).group(1) == "3", readers(plan.settings)
        alone = {k: v for k, v in plan.settings.items() if k not in PARALLEL_SCAN_SETTINGS}
        assert "×" not in readers(alone)
        r = s.query(sql + " SETTINGS merge_tree_min_rows_for_concurrent_read = 100000")
        assert r.stats.plan.settings.get("merge_tree_min_rows_for_concurrent_read") is None
        assert r.stats.plan.settings["merge_tree_min_bytes_for_concurrent_read"] == 1
    finally:
        s.close()


def test_an_all_exact_statement_skips_clickhouses_vector_search_planning(db, vs):
    """When no search in a statement uses the index (an exact plan, the exact fallback) and the
    planned search is the statement's only one, the planner turns off ClickHouse's vector-search
    planning step (NO_VECTOR_SEARCH), which costs ~10 ms a statement even for an index the
    statement ignores; the setting reaches the engine (getSetting), and the answer stays numpy's.
    An index plan keeps the step, and so does a statement with another vector search; a user's
    own value is kept (0: the user chose exact scans, and the planner steps aside)."""
    key = "query_plan_try_use_vector_search"
    s = sqlext.connect(dsn=f"chdb://{db}")
    try:
        assert s.planner.config.no_index_settings == NO_VECTOR_SEARCH == {key: 0}
        q = vs.queries[5]
        sql = (f"SELECT id, cosineDistance(vec, {vec(q)}) AS d, getSetting('{key}') AS g FROM t_idx "
               f"WHERE {vs.where('uniform', 0.01)} ORDER BY d LIMIT 10")
        r = s.query(sql)
        assert r.stats.plan.kind == "exact" and r.stats.plan.settings[key] == 0
        assert r.stats.plan.fallback[key] == 0
        assert {x[2] for x in r.rows} == {0}
        assert_answer([x[:2] for x in r.rows], vs, q, vs.mask("uniform", 0.01), 10, plan=r.stats.plan)
        r = s.query(sql.replace(vs.where("uniform", 0.01), vs.where("uniform", 0.5)))
        assert r.stats.plan.kind == "index" and key not in r.stats.plan.settings
        assert {x[2] for x in r.rows} == {1} and r.stats.plan.fallback[key] == 0
        # the user's own value is kept; 1 (ClickHouse's default) still gets a plan and its check,
        # 0 uses no index at all: the user chose exact scans, sent as written
        r = s.query(sql + f" SETTINGS {key} = 1")
        assert r.stats.plan.kind == "exact" and key not in r.stats.plan.settings and {x[2] for x in r.rows} == {1}
        assert_answer([x[:2] for x in r.rows], vs, q, vs.mask("uniform", 0.01), 10, plan=r.stats.plan)
        r = s.query(sql.replace(vs.where("uniform", 0.01), vs.where("uniform", 0.5)) + f" SETTINGS {key} = 0")
        assert r.stats.plan.kind == "yours" and key in r.stats.plan.reason
        assert_answer([x[:2] for x in r.rows], vs, q, vs.mask("uniform", 0.5), 10)
        # another vector search in the statement, one the planner does not recognize (a query
        # parameter as its vector), keeps its index: the setting holds for the whole statement
        both = (f"SELECT id FROM t_g32 WHERE {vs.where('uniform', 0.01)} ORDER BY cosineDistance(vec, {vec(q)}) "
                f"LIMIT 3 UNION ALL SELECT id FROM t_g32 ORDER BY cosineDistance(vec, {{p:Array(Float32)}}) LIMIT 3")
        r = s.query(both, params={"p": [float(x) for x in q]})
        assert r.stats.plan.kind == "exact" and key not in r.stats.plan.settings and len(r.rows) == 6
    finally:
        s.close()


@pytest.mark.parametrize("sql, sole", [
    ("SELECT id, cosineDistance(v, [1.0, 2.0]) AS d FROM t WHERE c = 1 ORDER BY d LIMIT 3", True),
    ("SELECT id, cosineDistance(v, [1.0, 2.0]) AS a FROM t ORDER BY cosineDistance(v, [1.0, 2.0]) LIMIT 3", True),
    ("WITH [1.0, 2.0] AS q SELECT id FROM t ORDER BY cosineDistance(v, q) LIMIT 3", True),
    ("SELECT id FROM t ORDER BY cosineDistance(v, [1.0, 2.0]) LIMIT 3 UNION ALL "
     "SELECT id FROM t ORDER BY L2Distance(v, {p:Array(Float32)}) LIMIT 3", False),
    ("SELECT id FROM t WHERE id IN (SELECT id FROM u ORDER BY L2Distance(w, {p:Array(Float32)}) LIMIT 9) "
     "ORDER BY cosineDistance(v, [1.0, 2.0]) LIMIT 3", False),
    ("SELECT id, round(L2Distance(w, [1.0, 2.0]), 2) FROM t ORDER BY cosineDistance(v, [1.0, 2.0]) LIMIT 3", False),
    ("SELECT * FROM (SELECT id FROM t ORDER BY cosineDistance(v, [1.0, 2.0]) LIMIT 3)", False),
])
def test_only_search_says_when_the_planned_search_is_the_statements_one(sql, sole):
    from sqlext.text.topk import find_topk, only_search

    assert find_topk(sql) and only_search(sql, find_topk(sql)) is sole


@pytest.mark.parametrize("form", ["order by", "with"])
@pytest.mark.parametrize("sel", [0.01, 0.5])
def test_a_vector_cast_from_a_string_is_planned_like_the_literal(session, vs, form, sel):
    """`CAST('[…]', 'Array(Float64)')`, the form in which the session sends EMBED vectors to
    ClickHouse, is a constant query vector to the planner (an exact plan under a 1 % filter, the
    index under 50 %), in ORDER BY or named in WITH; the answer is numpy's, and the rows and
    distances are those of the array literal."""
    q = vs.queries[4]
    cast = cast_vector(vec(q))
    w = _where(vs, "uniform", sel)
    if form == "order by":
        sql = f"SELECT id, cosineDistance(vec, {{v}}) AS d FROM t_idx {w} ORDER BY d LIMIT 10"
    else:
        sql = f"WITH {{v}} AS q SELECT id, cosineDistance(vec, q) AS d FROM t_idx {w} ORDER BY d LIMIT 10"
    r = session.query(sql.format(v=cast))
    assert r.stats.plan.kind == ("exact" if sel == 0.01 else "index"), r.stats.plan.describe()
    assert_answer(r.rows, vs, q, vs.mask("uniform", sel), 10, plan=r.stats.plan)
    assert r.rows == session.query(sql.format(v=vec(q))).rows


def test_the_cast_vector_uses_the_vector_index_as_the_literal_does(session, vs):
    """ClickHouse's own plan (EXPLAIN indexes = 1) of a top-k with the vector in its wire form reads
    the granules the HNSW index picks, as with the array literal."""
    lit = vec(vs.queries[5])
    plans = [_raw(session, f"EXPLAIN indexes = 1 SELECT id FROM t_g32 ORDER BY cosineDistance(vec, {v}) LIMIT 10")
             for v in (lit, cast_vector(lit))]
    lines = [[x[0].strip("│└├─ ") for x in p if "Granules" in x[0] or "Name: vi" in x[0]] for p in plans]
    assert "Name: vi" in lines[0] and lines[0] == lines[1], lines
    total = [x for x in lines[0] if x.startswith("Granules:")]
    read = [x for x in lines[0] if x.startswith("Parts: 1 | Granules:")]
    assert total and read and read[0] != "Parts: 1 | Granules: " + total[0].split("/")[-1], lines


def test_find_topk_takes_a_cast_only_of_a_vector():
    from sqlext.text.topk import find_topk

    ok = "SELECT id FROM t ORDER BY cosineDistance(v, CAST('[0.5, -1e-05, 2.0]', 'Array(Float64)')) LIMIT 3"
    assert [(t.table, t.column, t.k) for t in find_topk(ok)] == [("t", "v", 3)]
    for bad in ("CAST('x', 'Array(Float64)')", "CAST('[0.5]', 'String')", "CAST('[]', 'Array(Float64)')",
                "CAST('[[0.5]]', 'Array(Array(Float64))')"):
        assert find_topk(ok.replace("CAST('[0.5, -1e-05, 2.0]', 'Array(Float64)')", bad)) == [], bad


def test_explain_shows_the_plan_without_running_the_statement(session, vs):
    p = session.explain(f"SELECT id, cosineDistance(vec, {vec(vs.queries[0])}) AS d FROM t_idx "
                        f"WHERE {vs.where('uniform', 0.1)} ORDER BY d LIMIT 10")
    lines = p.stats.plan.describe()
    assert lines[0].startswith("vector plan: t_idx.vec top 10: vector index vi with post-filtering")
    assert "the filter keeps" in lines[0] and p.stats.plan.rows is None


def test_embed_through_the_planner(tmp_path, tiny_clip):
    """EMBED(...) on a 512-d table: the placeholder statement is recognized, the vector spliced."""
    vs512 = small_clip_like(3000, 512, seed=5)
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db", model=str(tiny_clip))
    s.planner.config = PlannerConfig(ef_search=1024, index_fixed=0, list_cost=0.0)  # use the index on 3k rows
    with raw_client(s) as c:
        make_table(c, "p", vs512, index=True)
    text = "a tabby cat with green eyes"
    q = s.embedder.embed_texts([text])[0]
    for kind, sel in [("uniform", 0.01), ("uniform", 0.5), ("correlated", 0.1), ("uniform", 1.0)]:
        r = s.query(f"SELECT id, cosineDistance(vec, EMBED('{text}')) AS d FROM p {_where(vs512, kind, sel)} "
                    f"ORDER BY d LIMIT 10")
        assert_answer(r.rows, vs512, q, vs512.mask(kind, sel), 10, plan=r.stats.plan)
        assert r.stats.plan.searches[0].indexes == ["vi"]
        assert r.stats.plan.searches[0].choice == "index"
    s.close()


@pytest.mark.parametrize("planner", ["default", "index-leaning"])
def test_the_demo_query_returns_k_rows_whenever_k_rows_match(tmp_path, tiny_clip, planner):
    """tui/commands/demo.py's DEMO_QUERY on the built-in schema (photos + its cosine vector index):
    `WHERE photo_width >= 100 … ORDER BY dist LIMIT 5` returns min(5, matching) rows, the exact
    top 5, however many photos pass the filter (before the planner: 4 rows where 18 matched)."""
    from migrations.files import load
    from migrations.runner import Runner
    from tui.commands.demo import DEMO_QUERY

    n = 1500
    vs512 = small_clip_like(n, 512, seed=9)
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db", model=str(tiny_clip))
    if planner == "index-leaning":
        # the index even on a small table, with the fewest candidates that can hold the answer;
        # a candidate list as long as the table keeps the index's answer exact (the query is a
        # random tiny CLIP's text vector, nearly orthogonal to every row: the hardest case for HNSW)
        s.planner.config = PlannerConfig(index_fixed=0, list_cost=0.0, safety=1.0, ef_search=2000)
    Runner(s, load([], model=s.embedder.identity)).up()
    s.insert("photos", [[i, f"p{i}", vs512.images[i].tolist(), 50] for i in range(n)],
             ["id", "photo_id", "photo_embed", "photo_width"])
    q = s.embedder.embed_texts(["a cat with green eyes"])[0]
    for matching in (0, 3, 5, 40, 400, n):
        s.command(f"ALTER TABLE photos UPDATE photo_width = if(id < {matching}, 200, 50) WHERE 1 "
                  f"SETTINGS mutations_sync = 2")
        r = s.query(DEMO_QUERY)
        mask = np.arange(n) < matching
        assert_answer([(x[0][1:], x[1]) for x in r.rows], vs512, q, mask, 5, plan=r.stats.plan)
        assert r.stats.plan.searches[0].indexes == ["photo_embed_index"]
    s.close()


@contextlib.contextmanager
def _own_table(tmp_path, n: int, seed: int, *, index: bool = True):
    """A session on a fresh embedded database holding table `t` of `n` CLIP-like rows (DIM-d,
    with or without the cosine index): yields (session, its VectorSet)."""
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    try:
        vs = small_clip_like(n, DIM, seed=seed)
        with raw_client(s) as c:
            make_table(c, "t", vs, index=index)
        yield s, vs
    finally:
        s.close()


# -- statements the planner does not read: ClickHouse's vector search off, exact rows ----------
UNREAD = [
    ("ASC NULLS LAST", "SELECT id, {D} AS d FROM t_idx WHERE {W} ORDER BY d ASC NULLS LAST LIMIT 10"),
    ("ORDER BY (d)", "SELECT id, {D} AS d FROM t_idx WHERE {W} ORDER BY (d) LIMIT 10"),
    ("LIMIT (10)", "SELECT id, {D} AS d FROM t_idx WHERE {W} ORDER BY d LIMIT (10)"),
    ("FETCH FIRST", "SELECT id, {D} AS d FROM t_idx WHERE {W} ORDER BY d OFFSET 0 ROWS FETCH FIRST 10 ROWS ONLY"),
    ("ORDER BY 2", "SELECT id, {D} AS d FROM t_idx WHERE {W} ORDER BY 2 LIMIT 10"),
    ("TOP", "SELECT TOP 10 id, {D} AS d FROM t_idx WHERE {W} ORDER BY d"),
    ("a quoted name, comments", "SELECT id, `cosineDistance`/**/(vec, {V}) AS d FROM t_idx WHERE {W} "
                                "ORDER/**/BY d FETCH FIRST 10 ROWS ONLY"),
    ("a cast it does not read", "SELECT id, {C} AS d FROM t_idx WHERE {W} ORDER BY d LIMIT 10"),
]


@pytest.mark.parametrize("name, sql", UNREAD, ids=[u[0] for u in UNREAD])
def test_a_top_k_the_planner_does_not_read_runs_exactly(session, vs, name, sql):
    """ClickHouse would search the index and post-filter (0 of 10 rows here); the session turns its
    vector search off for a statement it cannot plan and check, and says so."""
    q = vs.queries[0]
    mask = vs.mask("uniform", 0.01)
    text = sql.format(D=f"cosineDistance(vec, {vec(q)})", W=vs.where("uniform", 0.01),
                      C=f"cosineDistance(vec, CAST({vec(q)} AS Array(Float32)))", V=vec(q))
    r = session.query(text, params={"k": 10})
    assert_answer(r.rows, vs, q, mask, 10, plan=None)
    plan = r.stats.plan
    assert plan is not None and plan.kind == "exact" and not plan.searches
    # (this fixture's PlannerConfig has no no_index_settings: the fallback that turns every skip index off)
    assert plan.settings == {"use_skip_indexes": 0} and "does not read" in plan.describe()[0]
    # what ClickHouse itself does with the statement as written: the index, post-filtered
    with raw_client(session) as c:
        raw = c.query(text, parameters={"k": 10}, settings={EF_KEY: 64}).result_rows
    assert len(raw) < 10


@pytest.mark.parametrize("how", ["params", "set", "offset"])
def test_a_limit_placeholder_is_planned_with_the_value_sent(session, vs, how):
    """`LIMIT {k:UInt32}` (what DB-API and pandas make of `LIMIT %(k)s`): the search is planned
    and checked with the value the statement is sent with, from `params=` or a SET."""
    q = vs.queries[1]
    mask = vs.mask("uniform", 0.5)
    sql = (f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx WHERE {vs.where('uniform', 0.5)} "
           f"ORDER BY d LIMIT {{k:UInt32}}")
    if how == "params":
        r = session.query(sql, params={"k": 12})
    elif how == "set":
        session.execute("SET param_k = 12")
        r = session.query(sql)
    else:
        r = session.query(sql + " OFFSET {o:UInt32}", params={"k": 12, "o": 3})
    offset = 3 if how == "offset" else 0
    assert_answer(r.rows, vs, q, mask, 12, offset, plan=r.stats.plan)
    sp = r.stats.plan.searches[0]
    assert (sp.k, sp.offset) == (12, offset) and sp.choice in ("index", "exact")


def test_a_limit_placeholder_without_a_value_is_the_servers_error(session, vs):
    from sqlext.errors import ServerError

    with pytest.raises(ServerError, match="k"):
        session.query(f"SELECT id FROM t_idx ORDER BY cosineDistance(vec, {vec(vs.queries[0])}) LIMIT {{k:UInt32}}")


@pytest.mark.parametrize("how", ["set ef", "use_skip_indexes = 1", "ignore another index"])
def test_a_setting_that_decides_nothing_keeps_an_unread_statement_exact(session, vs, how):
    # (the engine's own switch for vector search, as a session sets it up: use_skip_indexes = 1
    # given by the user leaves the fallback switch no room)
    session.planner.config = replace(session.planner.config, no_index_settings=NO_VECTOR_SEARCH)
    q = vs.queries[0]
    sql = (f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx WHERE {vs.where('uniform', 0.01)} "
           f"ORDER BY d NULLS LAST LIMIT 10")
    if how == "set ef":
        session.execute("SET hnsw_candidate_list_size_for_search = 256")
        r = session.query(sql)
    elif how == "use_skip_indexes = 1":
        r = session.query(sql, settings={"use_skip_indexes": 1})
    else:
        r = session.query(sql + " SETTINGS ignore_data_skipping_indices = 'mm'")
    assert_answer(r.rows, vs, q, vs.mask("uniform", 0.01), 10)
    assert r.stats.plan.kind == "exact" and not r.stats.plan.searches
    assert r.stats.plan.settings == NO_VECTOR_SEARCH


def test_a_setting_of_the_users_own_keeps_an_unread_statement_as_written(session, vs):
    q = vs.queries[0]
    r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx ORDER BY d NULLS LAST LIMIT 10 "
                      f"SETTINGS vector_search_filter_strategy = 'prefilter'")
    assert r.stats.plan is None and len(r.rows) == 10


def test_a_dot_product_index_searched_in_descending_order_runs_exactly(tmp_path):
    """An index on dotProduct answers `ORDER BY dotProduct(…) DESC LIMIT k`, a form the planner
    does not read: the statement runs with vector search off and returns every matching row."""
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    try:
        vs = small_clip_like(3000, 8, seed=3)
        rows = ", ".join(f"({i}, {i % 100}, {vec(x)})" for i, x in enumerate(vs.images))
        s.execute("CREATE TABLE dp (id UInt32, u UInt16, vec Array(Float32), INDEX vi vec TYPE "
                  "vector_similarity('hnsw', 'dotProduct', 8)) ENGINE = MergeTree ORDER BY id")
        s.execute(f"INSERT INTO dp VALUES {rows}")
        q = vs.queries[0]
        r = s.query(f"SELECT id FROM dp WHERE u < 2 ORDER BY dotProduct(vec, {vec(q)}) DESC LIMIT 10")
        keep = np.flatnonzero(np.arange(3000) % 100 < 2)
        best = keep[np.argsort(-(vs.images[keep] @ q), kind="stable")[:10]]
        assert [x[0] for x in r.rows] == [int(i) for i in best]
        assert r.stats.plan.kind == "exact"
    finally:
        s.close()


def test_a_view_and_an_index_the_catalog_has_not_seen_still_give_every_row(tmp_path, vs):
    """The catalog does not follow a view, and learns of another connection's DDL only when it
    reads the table again: the plan says "none" and turns ClickHouse's vector search off, so the
    index it does not know of cannot post-filter the answer."""
    with _own_table(tmp_path, 4000, 5, index=False) as (s, small):
        s.execute("CREATE VIEW vw AS SELECT * FROM t")
        q = small.queries[0]
        mask = small.mask("uniform", 0.02)
        sql = f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM {{t}} WHERE {small.where('uniform', 0.02)} ORDER BY d LIMIT 10"
        assert_answer(s.query(sql.format(t="t")).rows, small, q, mask, 10)  # the catalog reads t: no index
        other = sqlext.connect(dsn=f"chdb://{tmp_path / 'db'}")
        other.execute(f"ALTER TABLE t ADD INDEX vi vec TYPE vector_similarity('hnsw', 'cosineDistance', {DIM})")
        other.execute("ALTER TABLE t MATERIALIZE INDEX vi SETTINGS mutations_sync = 2")
        other.close()
        for name in ("t", "vw"):
            r = s.query(sql.format(t=name))
            assert_answer(r.rows, small, q, mask, 10)
            assert r.stats.plan.kind == "none" and r.stats.plan.settings == NO_VECTOR_SEARCH


@pytest.mark.parametrize("how", ["FINAL", "setting"])
def test_final_gets_an_exact_scan(tmp_path, how):
    """FINAL keeps the newest version of each row; the index still holds the replaced ones and
    would return them (with the distances of vectors that are gone): an exact plan."""
    s = sqlext.connect(dsn=f"chdb://{tmp_path}/db")
    try:
        vs = small_clip_like(6000, DIM, seed=9)
        s.execute("CREATE TABLE r (id UInt32, u UInt16, vec Array(Float32), INDEX vi vec TYPE "
                  f"vector_similarity('hnsw', 'cosineDistance', {DIM})) ENGINE = ReplacingMergeTree ORDER BY id")
        s.execute("INSERT INTO r VALUES " + ", ".join(f"({i}, {i % 1000}, {vec(x)})" for i, x in enumerate(vs.images)))
        s.execute("OPTIMIZE TABLE r FINAL")
        q = vs.queries[0]
        d = f"cosineDistance(vec, {vec(q)})"
        # new versions of the 50 rows nearest to q, pointing away from it; the parts stay unmerged
        s.execute(f"INSERT INTO r SELECT id, u, arrayMap(x -> -x, vec) FROM r ORDER BY {d} LIMIT 50")
        sql = (f"SELECT id, {d} AS d FROM r FINAL ORDER BY d LIMIT 5" if how == "FINAL" else
               f"SELECT id, {d} AS d FROM r ORDER BY d LIMIT 5 SETTINGS final = 1")
        r = s.query(sql)
        images = vs.images.copy()
        images[np.argsort(1.0 - vs.images @ q, kind="stable")[:50]] *= -1
        want = np.argsort(1.0 - images @ q, kind="stable")[:5]
        assert [x[0] for x in r.rows] == [int(i) for i in want]
        assert r.stats.plan.searches[0].choice == "exact" and "FINAL" in r.stats.plan.searches[0].reason
    finally:
        s.close()


PLAIN_VALUES = [("use_skip_indexes", "1"), ("ignore_data_skipping_indices", "'mm'"),
                ("force_data_skipping_indices", "'mm'")]


@pytest.mark.parametrize("how", ["statement", "set", "call"])
@pytest.mark.parametrize("key, value", PLAIN_VALUES, ids=[f"{k}={v}" for k, v in PLAIN_VALUES])
def test_a_setting_that_decides_nothing_about_the_vector_index_keeps_the_plan(tmp_path, key, value, how):
    """`use_skip_indexes = 1` (the default), or a skip-index list naming only another index: the
    plan and its check still apply (they made the planner step aside, and the index, post-
    filtered, returned 0 of 10 rows). An ignore list is extended with the plan's vector index."""
    with _own_table(tmp_path, 4000, 4) as (s, vs):
        s.execute("ALTER TABLE t ADD INDEX mm u TYPE minmax")
        s.execute("ALTER TABLE t MATERIALIZE INDEX mm SETTINGS mutations_sync = 2")
        q = vs.queries[0]
        sql = (f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t WHERE {vs.where('uniform', 0.02)} "
               f"ORDER BY d LIMIT 10")
        if how == "statement":
            r = s.query(f"{sql} SETTINGS {key} = {value}")
        elif how == "set":
            s.execute(f"SET {key} = {value}")
            r = s.query(sql)
        else:
            r = s.query(sql, settings={key: value.strip("'")})
        assert_answer(r.rows, vs, q, vs.mask("uniform", 0.02), 10, plan=r.stats.plan)
        plan = r.stats.plan
        assert plan.kind in ("exact", "index"), plan.describe()
        if plan.kind == "exact" and key == "ignore_data_skipping_indices":
            sent = plan.settings.get(key)
            assert sent == "mm,vi" or (how == "statement" and plan.settings.get(NO_SEARCH) == 0), plan.settings


def test_naming_the_vector_index_in_a_skip_index_setting_still_pins_the_plan(session, vs):
    q = vs.queries[0]
    r = session.query(f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t_idx ORDER BY d LIMIT 10 "
                      f"SETTINGS ignore_data_skipping_indices = 'vi'")
    assert r.stats.plan.kind == "yours" and len(r.rows) == 10


def test_rows_removed_by_a_lightweight_delete_are_planned_as_a_filter(tmp_path):
    """A lightweight DELETE leaves the rows in the index, which drops them after its search: an
    unfiltered search is planned as a filtered one, so the paths that cannot rerun (raw bytes,
    streams) get every row too."""
    with _own_table(tmp_path, 6000, 6) as (s, vs):
        s.execute("DELETE FROM t WHERE u < 950")  # 5 % of the rows left
        q = vs.queries[0]
        live = vs.u >= 950
        want = expected_rows(vs, q, live, 10)
        sql = f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t ORDER BY d LIMIT 10"
        r = s.query(sql)
        assert_answer(r.rows, vs, q, live, 10, plan=r.stats.plan)
        sp = r.stats.plan.searches[0]
        assert sp.filtered and sp.matching == int(live.sum()) and "lightweight DELETE" in sp.reason
        assert not r.stats.plan.reran
        raw = s.raw_query(sql, fmt="TabSeparated").decode().splitlines()
        streamed = [x for b in s.query_arrow_stream(sql) for x in b.column(0).to_pylist()]
        formatted = s.execute(sql + " FORMAT TabSeparated").raw.decode().splitlines()
        for got in ([int(x.split("\t")[0]) for x in raw], streamed, [int(x.split("\t")[0]) for x in formatted]):
            assert len(got) == 10 and len(set(got) - set(want)) <= 1, (got, want)


def test_a_db_api_limit_parameter_gets_every_row(db, vs):
    """`LIMIT %(k)s` through the DB-API (a `{k:Int64}` placeholder on the wire), filtered: the
    planned answer, and no lint telling the user to rewrite it."""
    from sqlext import dbapi

    con = dbapi.connect(dsn=f"chdb://{db}")
    try:
        cur = con.cursor()
        q = vs.queries[0]
        cur.execute(f"SELECT id FROM t_idx WHERE {vs.where('uniform', 0.01)} "
                    f"ORDER BY cosineDistance(vec, {vec(q)}) LIMIT %(k)s", {"k": 10})
        assert [r[0] for r in cur.fetchall()] == expected_rows(vs, q, vs.mask("uniform", 0.01), 10)
        assert not cur.messages
    finally:
        con.close()


@pytest.mark.parametrize("how", ["INSERT … SELECT", "CREATE … AS SELECT"])
def test_a_search_whose_rows_are_stored_runs_exactly(tmp_path, how):
    """INSERT … SELECT and CREATE TABLE … AS SELECT over a filtered top-k: the planner does not
    plan them, and ClickHouse's index, post-filtered, stored 0 of 10 rows."""
    with _own_table(tmp_path, 4000, 8) as (s, vs):
        q = vs.queries[0]
        search = (f"SELECT id, cosineDistance(vec, {vec(q)}) AS d FROM t WHERE {vs.where('uniform', 0.01)} "
                  f"ORDER BY d LIMIT 10")
        if how.startswith("INSERT"):
            s.execute("CREATE TABLE o (id UInt32, d Float64) ENGINE = MergeTree ORDER BY id")
            r = s.execute(f"INSERT INTO o {search}")
        else:
            r = s.execute(f"CREATE TABLE o ENGINE = MergeTree ORDER BY id AS {search}")
        assert r.stats.plan is not None and r.stats.plan.kind == "exact"
        got = sorted(x[0] for x in s.query("SELECT id FROM o").rows)
        assert got == sorted(expected_rows(vs, q, vs.mask("uniform", 0.01), 10))
