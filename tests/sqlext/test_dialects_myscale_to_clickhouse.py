"""MyScale -> ClickHouse: golden tables (SQL in -> statements out, notes/warnings), identity, errors."""
import pytest

from sqlext.text.ddl import IndexInfo, StaticCatalog
from sqlext.text.dialects import Translation, translate
from sqlext.text.dialects.myscale_to_clickhouse import VECTOR_INDICES_SUBQUERY
from sqlext.errors import TranslationError

CAT = StaticCatalog(
    indexes={
        ("default.myscale_photos", "photo_embed"): IndexInfo("photo_embed_index", "MSTG", "Cosine", 512),
        ("ip_t", "v"): IndexInfo("ip_idx", "HNSWFLAT", "IP", 3),
        ("l2_t", "v"): IndexInfo("l2_idx", "HNSWFLAT", "L2", 3),
    },
    dims={("myscale_photos", "photo_embed"): 512, ("test_vector", "vector"): 3,
          ("set_t", "v"): 3, ("plain", "v"): 3},
    settings={("set_t", "float_vector_search_metric_type"): "Cosine"},
)


def tr(sql, catalog=CAT) -> Translation:
    return translate(sql, target="clickhouse", catalog=catalog)


IDENTITY = [
    "SELECT 1",
    "select 1;",
    "SELECT count(*) FROM default.myscale_photos",
    "CREATE TABLE t (id UInt64, v Array(Float32)) ENGINE = MergeTree ORDER BY id",
    "SELECT * FROM default.myscale_photos ORDER BY rand() LIMIT 1",
    "INSERT INTO t VALUES (1, [1.0, 2.0])",
    "SELECT id, cosineDistance(v, [1.0, 0.0]) AS d FROM t ORDER BY d LIMIT 3",
    "SELECT vector FROM test_vector  -- a column named vector, a comment: distance(x)\n",
    "SELECT 'distance(v, [1.0])', \"vector index\" FROM t",
    "EXISTS TABLE system.vector_indices",
    "SELECT t.distance FROM t",
    "/* VECTOR INDEX */ SELECT 2;",
    "SELECT 'unterminated",
]


@pytest.mark.parametrize("sql", IDENTITY)
def test_identity_byte_for_byte(sql):
    t = tr(sql)
    assert t.sql == [sql]
    assert t.sql[0] is sql or t.sql[0] == sql
    assert t.notes == [] and t.warnings == [] and not t.changed


# (input, expected statements, substrings expected in the notes, substrings in warnings)
GOLDEN = [
    pytest.param(
        "SELECT photo_id, photo_image_url, distance(photo_embed, [0.1, 0.2]) AS dist\n"
        "FROM default.myscale_photos\nORDER BY dist ASC\nLIMIT 5;",
        ["SELECT photo_id, photo_image_url, cosineDistance(photo_embed, [0.1, 0.2]) AS dist\n"
         "FROM default.myscale_photos\nORDER BY dist ASC\nLIMIT 5;"],
        ["cosineDistance", "photo_embed_index"], [], id="tutorial-search"),
    pytest.param(
        "SELECT id, DISTANCE(p.photo_embed, [0.1, 0.2]) FROM myscale_photos AS p ORDER BY 2 LIMIT 1",
        ["SELECT id, cosineDistance(p.photo_embed, [0.1, 0.2]) FROM myscale_photos AS p ORDER BY 2 LIMIT 1"],
        ["Cosine"], [], id="alias-qualified-case-insensitive"),
    pytest.param(
        "SELECT id, distance(v, [1.0, 2.0, 3.0]) AS d FROM plain ORDER BY d LIMIT 2",
        ["SELECT id, L2Distance(v, [1.0, 2.0, 3.0]) AS d FROM plain ORDER BY d LIMIT 2"],
        ["MyScale's default", "squared"], [], id="no-index-default-L2"),
    pytest.param(
        "SELECT id, distance(v, [1.0, 2.0, 3.0]) AS d FROM set_t ORDER BY d LIMIT 2",
        ["SELECT id, cosineDistance(v, [1.0, 2.0, 3.0]) AS d FROM set_t ORDER BY d LIMIT 2"],
        ["float_vector_search_metric_type"], [], id="no-index-table-setting"),
    pytest.param(
        "SELECT id, distance(v, [1.0, 1.0, 1.0]) as d FROM ip_t order by d DESC limit 2",
        ["SELECT id, dotProduct(v, [1.0, 1.0, 1.0]) as d FROM ip_t order by d DESC limit 2"],
        ["dotProduct", "DESC", "full scan"], [], id="ip-desc"),
    pytest.param(
        "SELECT id, distance('ef_s=64')(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 5",
        ["SELECT id, L2Distance(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 5 "
         "SETTINGS hnsw_candidate_list_size_for_search = 64"],
        ["hnsw_candidate_list_size_for_search = 64"], [], id="ef_s-new-settings"),
    pytest.param(
        "SELECT id, distance('ef_s=64')(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 5 "
        "SETTINGS max_threads = 1 FORMAT JSONEachRow;",
        ["SELECT id, L2Distance(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 5 "
         "SETTINGS hnsw_candidate_list_size_for_search = 64, max_threads = 1 FORMAT JSONEachRow;"],
        ["ef_s"], [], id="ef_s-merged-into-settings"),
    pytest.param(
        "SELECT id, distance('ef_s=64')(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 5 FORMAT CSV",
        ["SELECT id, L2Distance(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 5 "
         "SETTINGS hnsw_candidate_list_size_for_search = 64 FORMAT CSV"],
        ["ef_s"], [], id="ef_s-before-format"),
    pytest.param(
        "SELECT id, distance('ef_s=64')(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 5 "
        "SETTINGS hnsw_candidate_list_size_for_search = 10",
        ["SELECT id, L2Distance(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 5 "
         "SETTINGS hnsw_candidate_list_size_for_search = 10"],
        ["kept your own"], [], id="ef_s-user-setting-wins"),
    pytest.param(
        "SELECT id, distance('alpha=3.7')(photo_embed, [0.1, 0.2]) AS d FROM myscale_photos ORDER BY d LIMIT 3",
        ["SELECT id, cosineDistance(photo_embed, [0.1, 0.2]) AS d FROM myscale_photos ORDER BY d LIMIT 3"],
        ["cosineDistance"], ["'alpha' has no ClickHouse equivalent"], id="alpha-warning"),
    pytest.param(
        "SELECT id, distance('nprobe=4', 'ef_s=32')(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 3 -- k\n",
        ["SELECT id, L2Distance(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 3 "
         "SETTINGS hnsw_candidate_list_size_for_search = 32 -- k\n"],
        ["ef_s"], ["'nprobe'"], id="settings-before-trailing-comment"),
    pytest.param(
        "SELECT id, batch_distance(v, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]) AS dist FROM l2_t "
        "ORDER BY dist.1 ASC, dist.2 ASC LIMIT 2 BY dist.1",
        ["SELECT id, arrayJoin(arrayMap((__q, __i) -> (toUInt32(__i - 1), toFloat32(L2Distance(v, __q))), "
         "[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]] AS __embedsql_bq0, arrayEnumerate(__embedsql_bq0))) AS dist "
         "FROM l2_t ORDER BY dist.1 ASC, dist.2 ASC LIMIT 2 BY dist.1"],
        ["batch_distance", "query index from 0"], [], id="batch_distance"),
    pytest.param(
        "SELECT id, batch_distance('topK=10')(v, [[0.1, 0.1, 0.1]]) FROM l2_t",
        ["SELECT id, arrayJoin(arrayMap((__q, __i) -> (toUInt32(__i - 1), toFloat32(L2Distance(v, __q))), "
         "[[0.1, 0.1, 0.1]] AS __embedsql_bq0, arrayEnumerate(__embedsql_bq0))) FROM l2_t"],
        ["batch_distance"], ["topK=10", "LIMIT 10 BY"], id="batch_distance-topK"),
    # --- DDL
    pytest.param(
        "ALTER TABLE default.myscale_photos\nADD VECTOR INDEX photo_embed_index photo_embed\nTYPE MSTG\n"
        "('metric_type=Cosine');",
        ["ALTER TABLE default.myscale_photos\nADD INDEX photo_embed_index photo_embed\n"
         "TYPE vector_similarity('hnsw', 'cosineDistance', 512);",
         "ALTER TABLE default.myscale_photos MATERIALIZE INDEX photo_embed_index"],
        ["MSTG becomes HNSW", "MATERIALIZE INDEX"], [], id="tutorial-add-index"),
    pytest.param(
        "ALTER TABLE test_vector ADD VECTOR INDEX idx vector TYPE mstg",
        ["ALTER TABLE test_vector ADD INDEX idx vector TYPE vector_similarity('hnsw', 'L2Distance', 3)",
         "ALTER TABLE test_vector MATERIALIZE INDEX idx"],
        ["MyScale's default metric"], [], id="add-index-lowercase-default-metric"),
    pytest.param(
        "ALTER TABLE test_vector ADD VECTOR INDEX vec_ind_3 vector",
        ["ALTER TABLE test_vector ADD INDEX vec_ind_3 vector TYPE vector_similarity('hnsw', 'L2Distance', 3)",
         "ALTER TABLE test_vector MATERIALIZE INDEX vec_ind_3"],
        ["DEFAULT"], [], id="add-index-type-omitted"),
    pytest.param(
        "ALTER TABLE set_t ADD VECTOR INDEX i v TYPE HNSWFLAT('m=32', 'ef_c=200')",
        ["ALTER TABLE set_t ADD INDEX i v TYPE vector_similarity('hnsw', 'cosineDistance', 3, 'bf16', 32, 200)",
         "ALTER TABLE set_t MATERIALIZE INDEX i"],
        ["m 32", "ef_c 200", "table setting"], [], id="hnsw-params-table-metric"),
    pytest.param(
        "ALTER TABLE test_vector ADD VECTOR INDEX i vector TYPE HNSWSQ('metric_type= L2', 'ef_c=64', 'bit_size=8bit')",
        ["ALTER TABLE test_vector ADD INDEX i vector TYPE vector_similarity('hnsw', 'L2Distance', 3, 'bf16', 32, 64)",
         "ALTER TABLE test_vector MATERIALIZE INDEX i"],
        ["ef_c 64"], ["bit_size=8bit"], id="hnswsq-dropped-param"),
    pytest.param(
        "ALTER TABLE test_vector ADD VECTOR INDEX i vector TYPE IVFPQ('metric_type=Cosine', 'M=8', 'ncentroids=10')",
        ["ALTER TABLE test_vector ADD INDEX i vector TYPE vector_similarity('hnsw', 'cosineDistance', 3)",
         "ALTER TABLE test_vector MATERIALIZE INDEX i"],
        ["IVFPQ becomes HNSW"], ["M=8", "ncentroids=10"], id="ivfpq"),
    pytest.param(
        "create vector index if not exists i_h on test_vector vector TYPE FLAT;",
        ["ALTER TABLE test_vector ADD INDEX if not exists i_h vector TYPE vector_similarity('hnsw', 'L2Distance', 3)",
         "ALTER TABLE test_vector MATERIALIZE INDEX i_h"],
        ["CREATE VECTOR INDEX"], [], id="create-vector-index"),
    pytest.param(
        "drop vector index if exists i_h on test_vector;",
        ["ALTER TABLE test_vector DROP INDEX if exists i_h"], ["DROP INDEX"], [], id="drop-vector-index-on"),
    pytest.param(
        "ALTER TABLE default.t DROP VECTOR INDEX index_name",
        ["ALTER TABLE default.t DROP INDEX index_name"], ["DROP INDEX"], [], id="alter-drop-vector-index"),
    pytest.param(
        "CREATE TABLE docs\n(\n    id UInt32,\n    vector Array(Float32),\n"
        "    CONSTRAINT cons_vec_len CHECK length(vector) = 768,\n"
        "    VECTOR INDEX vidx vector TYPE MSTG('metric_type=Cosine')\n) ENGINE = MergeTree ORDER BY id",
        ["CREATE TABLE docs\n(\n    id UInt32,\n    vector Array(Float32),\n"
         "    CONSTRAINT cons_vec_len CHECK length(vector) = 768,\n"
         "    INDEX vidx vector TYPE vector_similarity('hnsw', 'cosineDistance', 768)\n) ENGINE = MergeTree ORDER BY id"],
        ["vidx", "dim 768"], [], id="inline-create-table"),
    pytest.param(
        "SELECT status FROM system.vector_indices WHERE name='photo_embed_index'",
        [f"SELECT status FROM ({VECTOR_INDICES_SUBQUERY}) AS vector_indices WHERE name='photo_embed_index'"],
        ["system.vector_indices"], [], id="vector-indices"),
    pytest.param(
        "SELECT v.status FROM system.vector_indices AS v",
        [f"SELECT v.status FROM ({VECTOR_INDICES_SUBQUERY}) AS v"], ["system.vector_indices"], [],
        id="vector-indices-aliased"),
]


@pytest.mark.parametrize("sql, expected, notes, warnings", GOLDEN)
def test_golden(sql, expected, notes, warnings):
    t = tr(sql)
    assert t.sql == expected
    assert t.changed
    joined_notes = "\n".join(t.notes)
    for n in notes:
        assert n in joined_notes, (n, t.notes)
    joined_w = "\n".join(t.warnings)
    for w in warnings:
        assert w in joined_w, (w, t.warnings)
    if not warnings:
        assert t.warnings == []


def test_several_statements_are_split_and_kept_in_order():
    sql = ("SELECT 1;\nALTER TABLE test_vector ADD VECTOR INDEX i vector TYPE FLAT;\n"
           "SELECT id, distance(vector, [1.0, 2.0, 3.0]) AS d FROM test_vector ORDER BY d LIMIT 1")
    t = tr(sql)
    assert t.sql == [
        "SELECT 1",
        "ALTER TABLE test_vector ADD INDEX i vector TYPE vector_similarity('hnsw', 'L2Distance', 3)",
        "ALTER TABLE test_vector MATERIALIZE INDEX i",
        "SELECT id, L2Distance(vector, [1.0, 2.0, 3.0]) AS d FROM test_vector ORDER BY d LIMIT 1",
    ]
    assert t.statements == t.sql


def test_long_vector_literal_is_kept_verbatim():
    vec = "[" + ", ".join(f"{(i % 7) / 7:.6f}" for i in range(512)) + "]"
    sql = f"SELECT photo_id, distance(photo_embed, {vec}) AS dist FROM default.myscale_photos ORDER BY dist LIMIT 5"
    t = tr(sql)
    assert t.sql == [sql.replace("distance(", "cosineDistance(", 1)]


ERRORS = [
    ("ALTER TABLE nodim ADD VECTOR INDEX i v TYPE MSTG('metric_type=Cosine')", "dimension of column v is unknown",
     "CHECK length(v)"),
    ("ALTER TABLE test_vector ADD VECTOR INDEX i vector TYPE HNSWFLAT('metric_type=IP')", "metric_type=IP",
     "metric_type=Cosine"),
    ("ALTER TABLE test_vector ADD VECTOR INDEX i vector TYPE BinaryFLAT('metric_type=Hamming')", "binary", None),
    ("ALTER TABLE test_vector ADD VECTOR INDEX i vector TYPE NOPE", "unknown MyScale index type NOPE", None),
    ("ALTER TABLE test_vector ADD VECTOR INDEX i vector TYPE MSTG('metric_type=Manhattan')", "unknown metric_type",
     None),
    ("ALTER TABLE test_vector ADD VECTOR INDEX i vector TYPE MSTG(3)", "'key=value' strings", None),
    ("SELECT distance(vector) FROM test_vector", "takes 2 arguments", None),
    ("SELECT distance([1.0, 2.0], vector) FROM test_vector", "first argument must be a vector column", None),
    ("SELECT batch_distance(b, [unbin('0101'), char(0, 255)]) FROM t", "Float32", "binary"),
    ("CREATE TABLE x (id UInt32, v Array(Float32), VECTOR INDEX i v TYPE MSTG) ORDER BY id",
     "dimension of column v is unknown", None),
]


@pytest.mark.parametrize("sql, message, hint", ERRORS)
def test_untranslatable_input_raises_translation_error(sql, message, hint):
    with pytest.raises(TranslationError) as ei:
        tr(sql)
    assert message in str(ei.value)
    if hint:
        assert hint in (ei.value.hint or "")


def test_error_carries_position():
    with pytest.raises(TranslationError) as ei:
        tr("SELECT 1,\n  distance(vector) FROM test_vector")
    assert ei.value.line == 2 and ei.value.col == 3


def test_without_catalog_defaults_apply():
    t = translate("SELECT distance(v, [1.0]) FROM t", target="clickhouse", catalog=None)
    assert t.sql == ["SELECT L2Distance(v, [1.0]) FROM t"]


def test_unknown_target_is_rejected():
    with pytest.raises(ValueError):
        translate("SELECT 1", target="postgres")


@pytest.mark.parametrize("sql, expected, said", [
    # MyScale's own query settings (MYSCALE.md §4): ClickHouse refuses them (UNKNOWN_SETTING)
    ("SELECT id, distance(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 3 "
     "SETTINGS enable_brute_force_vector_search = 1",
     ["SELECT id, L2Distance(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 3"],
     "scans the parts without a vector index exactly"),
    ("SELECT id, distance('ef_s=64')(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 3 "
     "SETTINGS enable_brute_force_vector_search = 1",   # the clause stays, for the search parameter
     ["SELECT id, L2Distance(v, [1.0, 2.0, 3.0]) AS d FROM l2_t ORDER BY d LIMIT 3 "
      "SETTINGS hnsw_candidate_list_size_for_search = 64"], "dropped"),
    ("SELECT 1 SETTINGS two_stage_search_option = 0, max_threads = 1", ["SELECT 1 SETTINGS max_threads = 1"],
     "one stage"),
    ("SELECT 1 SETTINGS hybrid_search_fusion_k = 3", ["SELECT 1"], "write 'fusion_k=3'"),
    # nothing to wait on: dropped, saying where a build shows
    ("SYSTEM WAIT BUILDING VECTOR INDICES test_binary", [], "watch system.vector_indices"),
])
def test_myscale_only_settings_and_statements(sql, expected, said):
    t = tr(sql)
    assert t.sql == expected
    assert any(said in m for m in t.notes + t.warnings), (t.notes, t.warnings)


def test_vector_index_segments_is_refused_with_the_table_to_read_instead():
    with pytest.raises(TranslationError) as ei:
        tr("SELECT name, status FROM system.vector_index_segments")
    assert "system.vector_indices" in (ei.value.hint or "") and ei.value.col == 26
