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
    assert "fewer than k" in w and "does not read" in w and "vector search off" in w and "vector_search_filter_strategy" in w
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


# ---------------------------------------------------------------- the query level that holds the distance

def test_outer_where_over_explain_is_not_post_filtering():
    assert lint("SELECT * FROM (EXPLAIN indexes = 1 SELECT id FROM photos "
                "ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3) WHERE explain LIKE '%vidx%'", CAT) == []


def test_filtering_the_k_results_in_an_outer_query_is_what_the_lint_recommends():
    assert lint("SELECT * FROM (SELECT id, cosineDistance(v, [1.0, 0, 0]) AS d FROM photos ORDER BY d LIMIT 10) "
                "WHERE d < 0.3", CAT) == []


def test_where_in_another_union_branch_does_not_count():
    assert lint("SELECT id FROM photos WHERE id > 3 UNION ALL "
                "SELECT id FROM photos ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3", CAT) == []


def test_a_subquery_in_where_is_its_own_query():
    assert lint("SELECT id FROM photos WHERE id IN "
                "(SELECT id FROM photos ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3)", CAT) == []


def test_post_filtering_inside_a_subquery_is_found():
    # two ORDER BY keys: a shape the planner does not check
    w = one("SELECT * FROM (SELECT id FROM photos WHERE id > 3 "
            "ORDER BY cosineDistance(v, [1.0, 0, 0]), id LIMIT 3) AS near")
    assert "post-filtering" in w


def test_no_post_filtering_warning_where_the_planner_checks_the_answer():
    assert lint("SELECT * FROM (SELECT id FROM photos WHERE id > 3 "
                "ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3) AS near", CAT) == []


def test_explain_of_a_post_filtered_query_is_linted_like_the_query():
    w = one("EXPLAIN indexes = 1 SELECT id FROM photos WHERE id > 3 ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3")
    assert "post-filtering" in w


@pytest.mark.parametrize("sql", [
    "SELECT id FROM photos WHERE id > 3 ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3 "
    "SETTINGS vector_search_filter_strategy = 'prefilter'",
    "SELECT id FROM photos WHERE id > 3 ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3 "
    "SETTINGS max_threads = 2, vector_search_filter_strategy='prefilter' FORMAT JSON",
    "SELECT * FROM (SELECT id FROM photos WHERE id > 3 ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3 "
    "SETTINGS vector_search_filter_strategy = 'prefilter')",
    "SELECT * FROM (SELECT id FROM photos WHERE id > 3 ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3) "
    "SETTINGS vector_search_filter_strategy = 'prefilter'",
])
def test_prefilter_already_set_in_the_statement(sql):
    assert lint(sql, CAT) == []


def test_prefilter_set_by_the_caller():
    sql = "SELECT id FROM photos WHERE id > 3 ORDER BY cosineDistance(v, [1.0, 0, 0]), id LIMIT 3"
    assert lint(sql, CAT, settings={"vector_search_filter_strategy": "prefilter"}) == []
    assert len(lint(sql, CAT, settings={"vector_search_filter_strategy": "postfilter"})) == 1
    assert len(lint(sql, CAT, settings={"max_threads": 1})) == 1


def test_warning_wording_lives_in_one_function_per_rule():
    import importlib

    from sqlext.text.kinds import query_scopes
    from sqlext.text.tokens import tokenize

    m = importlib.import_module("sqlext.text.dialects.lint")
    sql = "SELECT id FROM photos PREWHERE id > 3 ORDER BY cosineDistance(v, [1.0, 0, 0]) LIMIT 3 BY id"
    t = tokenize(sql)
    [call] = m._calls(t, CAT, query_scopes(t))
    assert one(sql) == m.post_filtering(call, CAT.vector_index("photos", "v"))


@pytest.mark.parametrize("sql", [
    "ALTER TABLE photos DELETE WHERE cosineDistance(photo_embed, [0.1, 0.2]) < 0.0001",
    "ALTER TABLE photos UPDATE tag = 'near' WHERE L2Distance(photo_embed, [0.1, 0.2]) < 0.5",
    "DELETE FROM photos WHERE cosineDistance(photo_embed, [0.1, 0.2]) < 0.0001",
])
def test_a_mutations_threshold_is_not_a_missed_top_k(sql):
    """A mutation's WHERE picks the rows to change: the threshold warning is for queries."""
    assert not [w for w in lint(sql) if "is used in WHERE" in w]
    sub = sql.replace("WHERE ", "WHERE id IN (SELECT id FROM photos WHERE ", 1) + ")"
    assert [w for w in lint(sub) if "is used in WHERE" in w]  # a query inside it still warns
