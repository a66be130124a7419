"""Vector-query lints: each warning names the function/column and says what to do."""
import pytest

from sqlext.text.ddl import IndexInfo, StaticCatalog
from sqlext.text.dialects import lint

CAT = StaticCatalog(indexes={("photos", "v"): IndexInfo("vidx", "HNSW", "Cosine", 3),
                             ("l2_t", "v"): IndexInfo("l2_idx", "HNSW", "L2", 3)})


def one(sql, *, dialect="clickhouse", catalog=CAT):
    ws = lint(sql, catalog, dialect=dialect)
    assert len(ws) == 1, ws
    return ws[0]


CLEAN = [
    "SELECT 1",
    "SELECT id, cosineDistance(v, [1.0, 0.0, 0.0]) AS dist FROM photos ORDER BY dist LIMIT 3",
    "SELECT id, L2Distance(v, [1.0, 0, 0]) AS d FROM l2_t ORDER BY d LIMIT 3",
    "SELECT id FROM photos WHERE id > 3",
    "SELECT id, cosineDistance(x, [1.0, 0, 0]) AS d FROM photos WHERE id > 1 ORDER BY d LIMIT 3",  # x: no index
]


@pytest.mark.parametrize("sql", CLEAN)
def test_clean_queries_have_no_warnings(sql):
    assert lint(sql, CAT) == []


def test_threshold_on_the_function_in_where():
    w = one("SELECT id FROM photos WHERE cosineDistance(v, [1.0, 0.0, 0.0]) < 0.3")
    assert "cosineDistance(v, …)" in w and "WHERE" in w and "LIMIT" in w


def test_threshold_on_the_alias_in_where():
    w = one("SELECT id, cosineDistance(v, [1.0, 0.0, 0.0]) AS dist FROM photos WHERE dist < 0.3 "
            "ORDER BY dist LIMIT 3")
    assert "AS dist" in w and "WHERE" in w


def test_threshold_in_a_subquery_where():
    ws = lint("SELECT * FROM (SELECT id FROM photos WHERE L2Distance(v, [1.0, 0, 0]) <= 1.5) LIMIT 3", CAT)
    assert any("in WHERE" in w for w in ws)


def test_metric_mismatch_names_function_column_and_fix():
    w = one("SELECT id, L2Distance(v, [1.0, 0.0, 0.0]) AS d FROM photos ORDER BY d LIMIT 3")
    assert "L2Distance on photos.v" in w and "vidx" in w and "Cosine" in w and "cosineDistance(v, …)" in w


def test_metric_mismatch_not_reported_for_myscale_distance():
    assert lint("SELECT id, distance(v, [1.0, 0.0, 0.0]) AS d FROM photos ORDER BY d LIMIT 3", CAT,
                dialect="myscale") == []


@pytest.mark.parametrize("sql", [
    "SELECT id, cosineDistance(v, [1.0, 0.0, 0.0]) AS dist FROM photos WHERE id > 3 ORDER BY dist LIMIT 3",
    "SELECT id FROM photos PREWHERE id > 3 ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3",
    "SELECT * FROM (SELECT id, cosineDistance(v, [1.0, 0, 0]) AS d FROM photos WHERE id > 3 "
    "ORDER BY d LIMIT 3) WHERE d < 0.5",
    "WITH hits AS (SELECT id FROM photos WHERE id > 3 ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3) "
    "SELECT * FROM hits",
])
def test_no_post_filtering_warning_where_the_planner_checks_the_rows(sql):
    # the session's planner chooses the plan and reruns exactly when rows are missing: nothing to
    # do by hand, so no warning telling people to set vector_search_filter_strategy
    assert lint(sql, CAT) == []


@pytest.mark.parametrize("sql", [
    "SELECT p.id, cosineDistance(p.v, [1.0, 0, 0]) AS d FROM photos AS p JOIN other AS o ON o.id = p.id "
    "WHERE o.x > 3 ORDER BY d LIMIT 3",
    "SELECT id, cosineDistance(v, [1.0, 0, 0]) AS d FROM photos WHERE id > 3 ORDER BY d, id LIMIT 3",
    "SELECT id, cosineDistance(v, [1.0, 0, 0]) AS d FROM photos WHERE id > 3 ORDER BY d LIMIT 3 BY id",
])
def test_post_filtering_warning_where_the_planner_cannot_check(sql):
    w = one(sql)
    assert "fewer than k" in w and "planner checks only" in w and "vector_search_filter_strategy" in w
    assert "photos.v" in w


@pytest.mark.parametrize("dialect", ["clickhouse", "myscale"])
def test_integer_literal_vector(dialect):
    fn = "distance" if dialect == "myscale" else "cosineDistance"
    w = one(f"SELECT id, {fn}(v, [1, 2, -3]) AS d FROM photos ORDER BY d LIMIT 3", dialect=dialect)
    assert "[1, 2, -3]" in w and "decimal point" in w


def test_float_vector_with_some_integers_is_fine():
    assert lint("SELECT id, cosineDistance(v, [1.0, 2, 3]) AS d FROM photos ORDER BY d LIMIT 3", CAT) == []


def test_without_catalog_only_catalog_free_lints_run():
    assert lint("SELECT id, L2Distance(v, [1.0, 0, 0]) AS d FROM photos WHERE id > 1 ORDER BY d LIMIT 3",
                None) == []
    assert len(lint("SELECT id FROM photos WHERE L2Distance(v, [1.0, 0, 0]) < 1", None)) == 1
