"""Catalog: parsers, StaticCatalog, LiveCatalog against chdb (and against MyScale-shaped rows)."""
import pytest

from sqlext.db.catalog import LiveCatalog
from sqlext.text.ddl import (
    Catalog, IndexInfo, StaticCatalog, normalize_metric, parse_length_constraints,
    parse_model_comment, parse_myscale_index, parse_table_settings, parse_vector_similarity,
    split_table_name,
)
from sqlext.db.engine import EMBEDDED


@pytest.mark.parametrize("raw, metric", [("Cosine", "Cosine"), ("cosine", "Cosine"), (" L2", "L2"),
                                         ("ip", "IP"), ("cosineDistance", "Cosine"),
                                         ("L2Distance", "L2"), ("nope", None), (None, None)])
def test_normalize_metric(raw, metric):
    assert normalize_metric(raw) == metric


def test_split_table_name():
    assert split_table_name("db.t") == ("db", "t")
    assert split_table_name("`my db`.`t`") == ("my db", "t")
    assert split_table_name("t") == (None, "t")


def test_parse_vector_similarity():
    info = parse_vector_similarity("vector_similarity('hnsw', 'cosineDistance', 512, 'bf16', 16, 200)", "i")
    assert info == IndexInfo("i", "HNSW", "Cosine", 512,
                             {"method": "hnsw", "quantization": "bf16", "m": "16", "ef_c": "200"})
    assert parse_vector_similarity("vector_similarity('hnsw', 'L2Distance', 3)").metric == "L2"
    assert parse_vector_similarity("minmax") is None


def test_parse_length_constraints_and_settings():
    ddl = ("CREATE TABLE default.p (`id` UInt64, `photo_embed` Array(Float32), `v2` Array(Float32), "
           "INDEX i photo_embed TYPE vector_similarity('hnsw', 'cosineDistance', 512) GRANULARITY 100000000, "
           "CONSTRAINT vector_len CHECK length(photo_embed) = 512, CONSTRAINT c2 CHECK length(`v2`) = 3) "
           "ENGINE = MergeTree ORDER BY id SETTINGS index_granularity = 8192, "
           "float_vector_search_metric_type = 'Cosine'")
    assert parse_length_constraints(ddl) == {"photo_embed": 512, "v2": 3}
    assert parse_table_settings(ddl) == {"index_granularity": "8192", "float_vector_search_metric_type": "Cosine"}
    assert parse_table_settings("CREATE TABLE t (a Int32) ENGINE = Memory") == {}


def test_parse_myscale_index_rows():
    col, info = parse_myscale_index("vidx", "HNSWFLAT",
                                    "vidx vector TYPE hnswflat('metric_type=Cosine', 'm=16')")
    assert col == "vector" and info.metric == "Cosine" and info.type == "HNSWFLAT" and info.params == {"m": "16"}
    col, info = parse_myscale_index("v1", "MSTG", "vector TYPE MSTG", default_metric="IP")
    assert col == "vector" and info.metric == "IP"
    col, info = parse_myscale_index("v1", "SCANN", "vector")
    assert col == "vector" and info.metric == "L2"


def test_parse_model_comment():
    assert parse_model_comment("embedsql:model=openai/clip-vit-base-patch32;dim=512") == {
        "model": "openai/clip-vit-base-patch32", "dim": "512"}
    assert parse_model_comment("photos, embedsql:model=x/y;dim=8") == {"model": "x/y", "dim": "8"}
    assert parse_model_comment("") == {} and parse_model_comment(None) == {}


def test_static_catalog_table_names():
    info = IndexInfo("i", "MSTG", "Cosine", 512)
    cat = StaticCatalog(indexes={("photos", "v"): info}, models={("default.photos", "v"): "m/x"},
                        settings={("photos", "float_vector_search_metric_type"): "IP"})
    assert isinstance(cat, Catalog)
    assert cat.vector_index("default.photos", "v") is info
    assert cat.vector_index("photos", "v") is info
    assert cat.vector_index("other.photos", "v") is None
    assert cat.column_dim("photos", "v") == 512        # from the index
    assert cat.column_model("photos", "v") == "m/x"
    assert cat.table_setting("default.photos", "float_vector_search_metric_type") == "IP"
    cat.drop_index("photos", "i")
    assert cat.vector_index("photos", "v") is None


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("catalog") / "db"
    with EMBEDDED.use(path, 30) as client:
        yield client
    EMBEDDED.release_now(path)


def test_live_catalog_on_chdb(db):
    db.command("CREATE DATABASE IF NOT EXISTS media")
    db.command("CREATE TABLE media.photos (id UInt64, "
               "photo_embed Array(Float32) COMMENT 'embedsql:model=openai/clip-vit-base-patch32;dim=512', "
               "thumb Array(Float32), "
               "INDEX pidx photo_embed TYPE vector_similarity('hnsw', 'cosineDistance', 512), "
               "CONSTRAINT vector_len CHECK length(photo_embed) = 512, "
               "CONSTRAINT tl CHECK length(thumb) = 8) ENGINE = MergeTree ORDER BY id")
    queries = []

    def run(sql, params):
        queries.append(sql)
        return list(db.query(sql, parameters=params).result_rows)

    cat = LiveCatalog(run)
    assert isinstance(cat, Catalog)
    assert cat.dialect == "clickhouse"
    info = cat.vector_index("media.photos", "photo_embed")
    assert info.name == "pidx" and info.metric == "Cosine" and info.dim == 512
    assert cat.vector_index("media.photos", "thumb") is None
    assert cat.column_dim("media.photos", "thumb") == 8
    assert cat.column_model("media.photos", "photo_embed") == "openai/clip-vit-base-patch32"
    assert cat.column_model("media.photos", "thumb") is None
    assert cat.table_setting("media.photos", "index_granularity") == "8192"
    # cached per table: no more queries for the same table
    n = len(queries)
    cat.column_dim("media.photos", "photo_embed")
    assert len(queries) == n
    # invalidate after DDL
    db.command("ALTER TABLE media.photos DROP INDEX pidx")
    assert cat.vector_index("media.photos", "photo_embed") is not None
    cat.invalidate("media.photos")
    assert cat.vector_index("media.photos", "photo_embed") is None
    # current database and missing tables
    assert cat.database == "default"
    assert cat.vector_index("missing", "v") is None and cat.column_dim("missing", "v") is None
    assert cat.table_exists("media.photos") and not cat.table_exists("missing")


def test_live_catalog_myscale_rows():
    """A MyScale server answers system.vector_indices; the catalog reads metric and params from expr."""
    def run(sql, params):
        if "currentDatabase" in sql:
            return [("default",)]
        if "FROM system.tables" in sql:
            return [("CREATE TABLE default.t (`id` UInt32, `vector` Array(Float32), "
                     "CONSTRAINT vector_len CHECK length(vector) = 3) ENGINE = MergeTree ORDER BY id "
                     "SETTINGS index_granularity = 8192",)]
        if "FROM system.columns" in sql:
            return [("id", "UInt32", ""), ("vector", "Array(Float32)", "")]
        if "FROM system.vector_indices" in sql:
            return [("v2", "HNSWFLAT", "v2 vector TYPE hnswflat('metric_type=IP', 'm=16')")]
        raise AssertionError(sql)

    cat = LiveCatalog(run, dialect="myscale")
    assert cat.dialect == "myscale"
    info = cat.vector_index("t", "vector")
    assert info == IndexInfo("v2", "HNSWFLAT", "IP", 3, {"m": "16"})
    assert cat.vector_indexes("t") == {"vector": info}


def test_live_catalog_dialect_may_be_a_callable():
    cat = LiveCatalog(lambda sql, params: [], dialect=lambda: "myscale")
    assert cat.dialect == "myscale"
