"""The translated tutorial runs on the embedded engine (chdb): MyScale DDL, index status,
distance search (nearest row first, served by the vector index), batch_distance."""
import numpy as np
import pytest

from sqlext.text.dialects import lint, translate
from tests.sqlext.chdb_support import embedded_client, live_catalog, run_translated

DIM = 512
N = 40


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    with embedded_client(tmp_path_factory.mktemp("dialects-exec") / "db") as client:
        yield client


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(7)
    v = rng.normal(size=(N, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def vec_literal(v) -> str:
    return "[" + ", ".join(f"{float(x):.7f}" for x in v) + "]"


@pytest.fixture(scope="module")
def catalog(db):
    return live_catalog(db)


@pytest.fixture(scope="module")
def photos(db, catalog, vectors):
    run_translated(db, catalog, "DROP TABLE IF EXISTS default.myscale_photos")
    run_translated(db, catalog, """CREATE TABLE default.myscale_photos
(
    id UInt64,
    photo_id String,
    photo_image_url String,
    photo_embed Array(Float32),
    CONSTRAINT vector_len CHECK length(photo_embed) = 512
)
ORDER BY id""")
    db.insert("default.myscale_photos",
              [(i, f"p{i}", f"http://x/{i}.jpg", vectors[i].tolist()) for i in range(N)],
              column_names=["id", "photo_id", "photo_image_url", "photo_embed"])
    t, _ = run_translated(db, catalog, "ALTER TABLE default.myscale_photos\nADD VECTOR INDEX photo_embed_index photo_embed\n"
                            "TYPE MSTG\n('metric_type=Cosine');")
    assert len(t.sql) == 2 and "MATERIALIZE INDEX photo_embed_index" in t.sql[1]
    return "default.myscale_photos"


def test_index_status_is_built(db, catalog, photos):
    t, (res,) = run_translated(db, catalog, "SELECT status FROM system.vector_indices WHERE name='photo_embed_index'")
    assert res.result_rows == [("Built",)]


def test_vector_indices_columns_match_myscale(db, catalog, photos):
    _, (res,) = run_translated(db, catalog, "SELECT * FROM system.vector_indices WHERE table = 'myscale_photos'")
    assert res.column_names == ("database", "table", "name", "type", "expr", "total_parts",
                                "parts_with_vector_index", "small_parts", "status", "host_name",
                                "latest_failed_part", "latest_fail_reason")
    row = dict(zip(res.column_names, res.result_rows[0]))
    assert row["name"] == "photo_embed_index" and row["database"] == "default"
    assert row["total_parts"] >= 1 and row["parts_with_vector_index"] == row["total_parts"]
    assert "cosineDistance" in row["expr"] and row["latest_fail_reason"] == ""


def test_live_catalog_sees_the_translated_index(catalog, photos):
    info = catalog.vector_index("default.myscale_photos", "photo_embed")
    assert info is not None and info.name == "photo_embed_index" and info.metric == "Cosine" and info.dim == 512
    assert catalog.column_dim("myscale_photos", "photo_embed") == 512


def test_distance_search_returns_the_nearest_row_first(db, catalog, photos, vectors):
    target = 17
    q = vectors[target] + 0.05 * vectors[3]
    q = q / np.linalg.norm(q)
    sql = (f"SELECT photo_id, photo_image_url, distance(photo_embed, {vec_literal(q)}) AS dist\n"
           f"FROM default.myscale_photos\nORDER BY dist ASC\nLIMIT 5")
    t, (res,) = run_translated(db, catalog, sql)
    assert "cosineDistance(photo_embed" in t.sql[0]
    rows = res.result_rows
    assert len(rows) == 5 and rows[0][0] == f"p{target}"
    dists = [r[2] for r in rows]
    assert dists == sorted(dists)
    expected = 1 - float(vectors[target] @ q)
    assert abs(dists[0] - expected) < 1e-3
    assert lint(t.sql[0], catalog) == []


def test_explain_shows_the_vector_index(db, catalog, photos, vectors):
    sql = (f"SELECT photo_id, distance(photo_embed, {vec_literal(vectors[0])}) AS dist "
           f"FROM default.myscale_photos ORDER BY dist ASC LIMIT 5")
    t = translate(sql, target="clickhouse", catalog=catalog)
    plan = "\n".join(r[0] for r in db.query("EXPLAIN indexes = 1 " + t.sql[0]).result_rows)
    assert "photo_embed_index" in plan and "vector_similarity" in plan


def test_ef_s_setting_runs(db, catalog, photos, vectors):
    sql = (f"SELECT photo_id, distance('ef_s=64')(photo_embed, {vec_literal(vectors[5])}) AS dist "
           f"FROM default.myscale_photos ORDER BY dist ASC LIMIT 3")
    t, (res,) = run_translated(db, catalog, sql)
    assert "SETTINGS hnsw_candidate_list_size_for_search = 64" in t.sql[0]
    assert res.result_rows[0][0] == "p5"


def test_batch_distance_matches_myscale_shape(db, catalog, photos, vectors):
    sql = (f"SELECT id, batch_distance(photo_embed, [{vec_literal(vectors[2])}, {vec_literal(vectors[9])}]) AS dist "
           f"FROM default.myscale_photos ORDER BY dist.1 ASC, dist.2 ASC, id ASC LIMIT 2 BY dist.1")
    t, (res,) = run_translated(db, catalog, sql)
    rows = res.result_rows
    assert len(rows) == 4
    assert [r[1][0] for r in rows] == [0, 0, 1, 1]
    assert rows[0][0] == 2 and rows[2][0] == 9
    assert abs(rows[0][1][1]) < 1e-4


def test_drop_vector_index_translated_and_run_translated(db, catalog, photos):
    run_translated(db, catalog, "ALTER TABLE default.myscale_photos ADD VECTOR INDEX tmp_idx photo_embed TYPE HNSWFLAT"
                     "('metric_type=L2', 'm=16', 'ef_c=100')")
    _, (res,) = run_translated(db, catalog, "SELECT name, status FROM system.vector_indices WHERE name = 'tmp_idx'")
    assert res.result_rows == [("tmp_idx", "Built")]
    run_translated(db, catalog, "drop vector index if exists tmp_idx on default.myscale_photos;")
    _, (res,) = run_translated(db, catalog, "SELECT count() FROM system.vector_indices WHERE name = 'tmp_idx'")
    assert res.result_rows == [(0,)]


def test_inline_vector_index_in_create_table(db, catalog):
    run_translated(db, catalog, "CREATE TABLE docs (id UInt32, vector Array(Float32), "
                     "CONSTRAINT cons_vec_len CHECK length(vector) = 3, "
                     "VECTOR INDEX vidx vector TYPE MSTG('metric_type=Cosine')) ENGINE = MergeTree ORDER BY id")
    info = catalog.vector_index("docs", "vector")
    assert info is not None and info.metric == "Cosine" and info.dim == 3
    db.command("INSERT INTO docs VALUES (1, [1.0, 0.0, 0.0]), (2, [0.0, 1.0, 0.0])")
    _, (res,) = run_translated(db, catalog, "SELECT id FROM docs ORDER BY distance(vector, [0.1, 0.9, 0.0]) LIMIT 1")
    assert res.result_rows == [(2,)]
    _, (res,) = run_translated(db, catalog, "SELECT status FROM system.vector_indices WHERE table = 'docs'")
    assert res.result_rows == [("Built",)]


def test_l2_metric_default_without_index_runs(db, catalog):
    run_translated(db, catalog, "CREATE TABLE plain (id UInt32, v Array(Float32), CONSTRAINT c CHECK length(v) = 2) "
                     "ENGINE = MergeTree ORDER BY id")
    db.command("INSERT INTO plain VALUES (1, [0.0, 0.0]), (2, [3.0, 4.0])")
    t, (res,) = run_translated(db, catalog, "SELECT id, distance(v, [3.0, 4.0]) AS d FROM plain ORDER BY d LIMIT 2")
    assert "L2Distance" in t.sql[0]
    assert res.result_rows == [(2, 0.0), (1, 5.0)]


def test_an_l2_bound_means_the_same_distance_on_both_sides(db, catalog, vectors):
    """MyScale's L2 distance() is the squared L2Distance: a bound compared with it is carried over
    (a number: its square root; anything else: the distance squared), so the translated filter
    keeps exactly the rows MyScale's would (numpy computes MyScale's squared distances)."""
    run_translated(db, catalog, "CREATE TABLE l2_bound (id UInt32, v Array(Float32), CONSTRAINT c CHECK "
                                "length(v) = 512, VECTOR INDEX vi v TYPE HNSWFLAT('metric_type=L2')) "
                                "ENGINE = MergeTree ORDER BY id")
    db.insert("l2_bound", [(i, vectors[i].tolist()) for i in range(N)], column_names=["id", "v"])
    q = vectors[0] * 0.5
    squared = ((vectors - q) ** 2).sum(axis=1)
    bound = float(np.round(np.median(squared), 3))
    want = sorted(int(i) for i in np.nonzero(squared < bound)[0])
    assert 0 < len(want) < N
    d = f"distance(v, {vec_literal(q)})"
    for select, where in (("", f"{d} < {bound}"), ("", f"{bound} > {d}"), ("", f"{d} < {bound} + 0"),
                          ("", f"{d} BETWEEN 0 AND {bound}"), ("", f"2 * {d} < {2 * bound}"),
                          (f", {d} AS dist", f"dist < {bound}"), (f", {d} dist", f"dist * 2 < {2 * bound}")):
        t, (res,) = run_translated(db, catalog, f"SELECT id{select} FROM l2_bound WHERE {where} ORDER BY id")
        assert sorted(r[0] for r in res.result_rows) == want, (where, t.sql, t.notes)
    # and the way back: ClickHouse's L2Distance bound sent to MyScale as the squared bound
    back = translate(f"SELECT id FROM l2_bound WHERE L2Distance(v, {vec_literal(q)}) < 0.5", target="myscale",
                     catalog=catalog)
    assert back.sql[0].endswith("< 0.25") and "distance(v," in back.sql[0], back.sql


def test_myscale_only_settings_are_refused_by_clickhouse_and_dropped_by_the_bridge(db, catalog):
    sql = "SELECT 1 SETTINGS enable_brute_force_vector_search = 1, two_stage_search_option = 0, max_threads = 1"
    with pytest.raises(Exception, match="UNKNOWN_SETTING|Unknown setting"):
        db.query(sql)
    t, (res,) = run_translated(db, catalog, sql)
    assert res.result_rows == [(1,)] and t.sql == ["SELECT 1 SETTINGS max_threads = 1"]
