"""ClickHouse -> MyScale: golden tables written from MyScale's documented syntax (MYSCALE.md §2, §4)."""
import pytest

from sqlext.text.ddl import IndexInfo, StaticCatalog
from sqlext.text.dialects import translate
from sqlext.errors import TranslationError

CAT = StaticCatalog(indexes={
    ("photos", "v"): IndexInfo("vidx", "HNSWFLAT", "Cosine", 512),
    ("l2_t", "v"): IndexInfo("l2_idx", "HNSWFLAT", "L2", 3),
    ("mstg_t", "v"): IndexInfo("m_idx", "MSTG", "Cosine", 3),
})


def tr(sql, catalog=CAT):
    return translate(sql, target="myscale", catalog=catalog)


IDENTITY = [
    "SELECT 1",
    "SELECT id, L2Distance(x, [1.0, 2.0]) AS d FROM photos ORDER BY d LIMIT 5",   # no index on x
    "ALTER TABLE photos MATERIALIZE INDEX minmax_idx",
    "CREATE TABLE t (id UInt64, s String, INDEX i s TYPE bloom_filter GRANULARITY 1) ENGINE = MergeTree ORDER BY id",
    "SELECT id FROM t SETTINGS max_threads = 2",
    "SELECT id, distance(v, [1.0]) AS d FROM photos ORDER BY d LIMIT 1",   # already MyScale
]


@pytest.mark.parametrize("sql", IDENTITY)
def test_identity(sql):
    t = tr(sql)
    assert t.sql == [sql] and not t.changed and t.notes == []


GOLDEN = [
    pytest.param(
        "CREATE TABLE photos\n(\n    id UInt64,\n    v Array(Float32),\n"
        "    INDEX vidx v TYPE vector_similarity('hnsw', 'cosineDistance', 512) GRANULARITY 100000000,\n"
        "    CONSTRAINT v_len CHECK length(v) = 512\n) ENGINE = MergeTree ORDER BY id",
        ["CREATE TABLE photos\n(\n    id UInt64,\n    v Array(Float32),\n"
         "    VECTOR INDEX vidx v TYPE HNSWFLAT('metric_type=Cosine'),\n"
         "    CONSTRAINT v_len CHECK length(v) = 512\n) ENGINE = MergeTree ORDER BY id"],
        ["HNSWFLAT", "GRANULARITY"], id="inline-index"),
    pytest.param(
        "ALTER TABLE photos ADD INDEX vidx v TYPE vector_similarity('hnsw', 'L2Distance', 512, 'bf16', 16, 200)",
        ["ALTER TABLE photos ADD VECTOR INDEX vidx v TYPE HNSWFLAT('metric_type=L2', 'm=16', 'ef_c=200')"],
        ["quantization bf16 dropped"], id="add-index-params"),
    pytest.param(
        "CREATE INDEX IF NOT EXISTS vidx ON db.photos (v) TYPE vector_similarity('hnsw', 'cosineDistance', 512)",
        ["ALTER TABLE db.photos ADD VECTOR INDEX IF NOT EXISTS vidx v TYPE HNSWFLAT('metric_type=Cosine')"],
        ["CREATE INDEX"], id="create-index"),
    pytest.param(
        "ALTER TABLE photos MATERIALIZE INDEX vidx", [], ["builds vector indexes by itself"],
        id="materialize-dropped"),
    pytest.param(
        "SELECT id, cosineDistance(v, [1.0, 2.0]) AS dist FROM photos ORDER BY dist ASC LIMIT 5",
        ["SELECT id, distance(v, [1.0, 2.0]) AS dist FROM photos ORDER BY dist ASC LIMIT 5"],
        ["index vidx has metric Cosine"], id="cosine-to-distance"),
    pytest.param(
        "SELECT id, L2Distance(t.v, [1.0, 2.0, 3.0]) FROM l2_t AS t ORDER BY 2 LIMIT 5",
        ["SELECT id, distance(t.v, [1.0, 2.0, 3.0]) FROM l2_t AS t ORDER BY 2 LIMIT 5"],
        ["squared"], id="l2-to-distance"),
    pytest.param(
        "SELECT id, cosineDistance(v, [1.0, 2.0]) AS d FROM photos ORDER BY d LIMIT 5 "
        "SETTINGS hnsw_candidate_list_size_for_search = 64",
        ["SELECT id, distance('ef_s=64')(v, [1.0, 2.0]) AS d FROM photos ORDER BY d LIMIT 5"],
        ["distance('ef_s=64')"], id="ef_s"),
    pytest.param(
        "SELECT id, cosineDistance(v, [1.0, 2.0]) AS d FROM photos ORDER BY d LIMIT 5 SETTINGS max_threads = 2, "
        "hnsw_candidate_list_size_for_search = 64, vector_search_filter_strategy = 'prefilter' FORMAT JSON",
        ["SELECT id, distance('ef_s=64')(v, [1.0, 2.0]) AS d FROM photos ORDER BY d LIMIT 5 SETTINGS max_threads = 2 "
         "FORMAT JSON"],
        ["vector_search_filter_strategy dropped"], id="settings-partly-removed"),
]


@pytest.mark.parametrize("sql, expected, notes", GOLDEN)
def test_golden(sql, expected, notes):
    t = tr(sql)
    assert t.sql == expected
    assert t.changed
    for n in notes:
        assert n in "\n".join(t.notes), (n, t.notes)


def test_materialize_after_add_in_the_same_script_is_dropped_without_catalog():
    t = tr("ALTER TABLE p ADD INDEX i v TYPE vector_similarity('hnsw', 'cosineDistance', 3);\n"
           "ALTER TABLE p MATERIALIZE INDEX i", catalog=None)
    assert t.sql == ["ALTER TABLE p ADD VECTOR INDEX i v TYPE HNSWFLAT('metric_type=Cosine')"]


def test_metric_mismatch_is_left_alone_with_a_warning():
    sql = "SELECT id, L2Distance(v, [1.0, 2.0]) AS d FROM photos ORDER BY d LIMIT 5"
    t = tr(sql)
    assert t.sql == [sql]
    assert any("uses metric Cosine" in w and "L2Distance" in w for w in t.warnings)


def test_ef_s_on_a_non_hnsw_index_is_not_carried():
    t = tr("SELECT id, cosineDistance(v, [1.0, 2.0, 3.0]) AS d FROM mstg_t ORDER BY d LIMIT 5 "
           "SETTINGS hnsw_candidate_list_size_for_search = 64")
    assert t.sql == ["SELECT id, distance(v, [1.0, 2.0, 3.0]) AS d FROM mstg_t ORDER BY d LIMIT 5"]
    assert any("MSTG" in w for w in t.warnings)


def test_unsupported_vector_similarity_metric_raises():
    with pytest.raises(TranslationError) as ei:
        tr("ALTER TABLE p ADD INDEX i v TYPE vector_similarity('hnsw', 'L1Distance', 3)")
    assert "L1Distance" in str(ei.value)


def test_round_trip_of_the_tutorial_index():
    """MyScale DDL -> ClickHouse -> MyScale gives MyScale DDL back (HNSWFLAT for MSTG)."""
    ms = StaticCatalog(dims={("default.myscale_photos", "photo_embed"): 512})
    ch = translate("ALTER TABLE default.myscale_photos ADD VECTOR INDEX photo_embed_index photo_embed "
                   "TYPE MSTG('metric_type=Cosine')", target="clickhouse", catalog=ms)
    back = translate(";\n".join(ch.sql), target="myscale", catalog=None)
    assert back.sql == ["ALTER TABLE default.myscale_photos ADD VECTOR INDEX photo_embed_index photo_embed "
                        "TYPE HNSWFLAT('metric_type=Cosine')"]


@pytest.mark.parametrize("sql, expected, warning", [
    # MyScale refuses DESC on an L2/Cosine distance() (error 62, MYSCALE.md §4): left as a scan
    ("SELECT id FROM photos ORDER BY cosineDistance(v, [1.0]) DESC LIMIT 3",
     "SELECT id FROM photos ORDER BY cosineDistance(v, [1.0]) DESC LIMIT 3", "orders Cosine only ascending"),
    ("SELECT id, cosineDistance(v, [1.0]) AS d FROM photos ORDER BY d DESC LIMIT 3",
     "SELECT id, cosineDistance(v, [1.0]) AS d FROM photos ORDER BY d DESC LIMIT 3", "only ascending"),
    # MyScale's L2 is squared: a number bound is squared, another bound keeps L2Distance
    ("SELECT id FROM l2_t WHERE L2Distance(v, [1.0, 2, 3]) < 0.5 LIMIT 3",
     "SELECT id FROM l2_t WHERE distance(v, [1.0, 2, 3]) < 0.25 LIMIT 3", None),
    ("SELECT id FROM l2_t WHERE 2 >= L2Distance(v, [1.0, 2, 3]) LIMIT 3",
     "SELECT id FROM l2_t WHERE 4 >= distance(v, [1.0, 2, 3]) LIMIT 3", None),
    ("SELECT id FROM l2_t WHERE L2Distance(v, [1.0, 2, 3]) < x LIMIT 3",
     "SELECT id FROM l2_t WHERE L2Distance(v, [1.0, 2, 3]) < x LIMIT 3", "is the square of L2Distance"),
    ("SELECT id FROM l2_t WHERE L2Distance(v, [1.0, 2, 3]) < 0.5 * 2 LIMIT 3",
     "SELECT id FROM l2_t WHERE L2Distance(v, [1.0, 2, 3]) < 0.5 * 2 LIMIT 3", "is the square of L2Distance"),
    # a bound reached through the alias, BETWEEN or arithmetic would mean another distance: left as is
    ("SELECT id, L2Distance(v, [1.0, 2, 3]) AS d FROM l2_t WHERE d < 0.5 ORDER BY d LIMIT 3",
     "SELECT id, L2Distance(v, [1.0, 2, 3]) AS d FROM l2_t WHERE d < 0.5 ORDER BY d LIMIT 3", "through its alias"),
    ("SELECT id FROM l2_t WHERE L2Distance(v, [1.0, 2, 3]) BETWEEN 0 AND 0.5",
     "SELECT id FROM l2_t WHERE L2Distance(v, [1.0, 2, 3]) BETWEEN 0 AND 0.5", "is the square of L2Distance"),
    ("SELECT id FROM l2_t WHERE 2 * L2Distance(v, [1.0, 2, 3]) < 3",
     "SELECT id FROM l2_t WHERE 2 * L2Distance(v, [1.0, 2, 3]) < 3", "is the square of L2Distance"),
    # DESC through an alias without AS, or a quoted one
    ("SELECT id, cosineDistance(v, [1.0]) d FROM photos ORDER BY d DESC LIMIT 3",
     "SELECT id, cosineDistance(v, [1.0]) d FROM photos ORDER BY d DESC LIMIT 3", "only ascending"),
    ("SELECT id, cosineDistance(v, [1.0]) AS `d` FROM photos ORDER BY `d` DESC LIMIT 3",
     "SELECT id, cosineDistance(v, [1.0]) AS `d` FROM photos ORDER BY `d` DESC LIMIT 3", "only ascending"),
    # HNSWFLAT's documented ranges (MYSCALE.md §2): outside, the nearest bound, said
    ("SELECT id, cosineDistance(v, [1.0]) AS d FROM photos ORDER BY d LIMIT 3 "
     "SETTINGS hnsw_candidate_list_size_for_search = 4096",
     "SELECT id, distance('ef_s=1024')(v, [1.0]) AS d FROM photos ORDER BY d LIMIT 3", "takes ef_s from 16 to 1024"),
    ("ALTER TABLE photos ADD INDEX vidx v TYPE vector_similarity('hnsw', 'L2Distance', 512, 'bf16', 4, 2000)",
     "ALTER TABLE photos ADD VECTOR INDEX vidx v TYPE HNSWFLAT('metric_type=L2', 'm=8', 'ef_c=1024')",
     "takes m from 8 to 128 (it refuses 4)"),
])
def test_what_myscale_would_refuse_or_read_otherwise(sql, expected, warning):
    t = tr(sql)
    assert t.sql == [expected]
    if warning is None:
        assert t.warnings == [] and any("becomes its square" in n for n in t.notes), t.notes
    else:
        assert any(warning in w for w in t.warnings), t.warnings
