"""Catalog: parsers, StaticCatalog, LiveCatalog against chdb (and against MyScale-shaped rows)."""
import pytest

from sqlext.errors import TranslationError
from sqlext.db.catalog import LiveCatalog
from sqlext.text.ddl import (
    Catalog, IndexInfo, StaticCatalog, normalize_metric, parse_length_constraints,
    parse_model_comment, parse_myscale_index, parse_table_settings, parse_vector_similarity,
    split_table_name,
)
from tests.sqlext.chdb_support import embedded_client


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
    with embedded_client(tmp_path_factory.mktemp("catalog") / "db") as client:
        yield client


def test_live_catalog_on_chdb(db):
    db.command("CREATE DATABASE IF NOT EXISTS media")
    db.command("CREATE TABLE media.photos (id UInt64, "
               "photo_embed Array(Float32) COMMENT 'embedsql:model=openai/clip-vit-base-patch32;dim=512', "
               "thumb Array(Float32) CODEC(NONE), "
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
    assert cat.column_codec("media.photos", "thumb") == "NONE" and cat.column_codec("media.photos", "photo_embed") is None
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


def test_load_all_reads_every_table_in_four_queries_as_table_info_reads_each(db):
    """load_all's TableInfo of each table equals what the per-table reader finds (a Merge table
    followed to its tables included), in four queries whatever the number of tables."""
    db.command("CREATE DATABASE IF NOT EXISTS la")
    for n, dim in (("p1", 3), ("p2", 5)):
        db.command(f"CREATE TABLE la.{n} (id UInt64, v Array(Float32) COMMENT 'embedsql:model=m/{n};dim={dim}', "
                   f"INDEX {n}_idx v TYPE vector_similarity('hnsw', 'L2Distance', {dim}), "
                   f"CONSTRAINT {n}_len CHECK length(v) = {dim}) ENGINE = MergeTree ORDER BY id")
    db.command("CREATE TABLE la.all_p AS la.p1 ENGINE = Merge('la', '^p1$')")
    queries = []

    def run(sql, params):
        queries.append(sql)
        return list(db.query(sql, parameters=params).result_rows)

    cat = LiveCatalog(run)
    dbs, infos = cat.load_all()
    assert len(queries) == 4 and "la" in dbs and "system" not in dbs
    names = [f"{i.database}.{i.name}" for i in infos]
    assert names == sorted(names) and {"la.p1", "la.p2", "la.all_p"} <= set(names)
    assert cat.column_dim("la.p2", "v") == 5 and cat.vector_index("la.p1", "v").name == "p1_idx"
    assert cat.column_model("la.p2", "v") == "m/p2"
    assert len(queries) == 4  # cached: nothing more asked
    assert cat.vector_index("la.all_p", "v").name == "p1_idx"  # the Merge table: followed now
    assert len(queries) == 5  # its regular expression, matched by the server
    fresh = LiveCatalog(lambda sql, params: list(db.query(sql, parameters=params).result_rows))
    for name in names:
        assert cat.table_info(name) == fresh.table_info(name), name


def test_live_catalog_myscale_rows():
    """A MyScale server answers system.vector_indices; the catalog reads metric and params from expr."""
    def run(sql, params):
        if "currentDatabase" in sql:
            return [("default",)]
        if "FROM system.tables" in sql:  # create_table_query, engine, engine_full, total_rows
            return [("CREATE TABLE default.t (`id` UInt32, `vector` Array(Float32), "
                     "CONSTRAINT vector_len CHECK length(vector) = 3) ENGINE = MergeTree ORDER BY id "
                     "SETTINGS index_granularity = 8192", "MergeTree",
                     "MergeTree ORDER BY id SETTINGS index_granularity = 8192", 0)]
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


def test_load_all_reads_myscale_vector_indices_once():
    """On MyScale load_all reads system.vector_indices once for every table (rows shaped as
    MyScale answers, with database and table first)."""
    sent = []

    def run(sql, params):
        sent.append(sql)
        if "FROM system.databases" in sql:
            return [("default",)]
        if "FROM system.tables" in sql:
            ddl = ("CREATE TABLE default.{t} (`id` UInt32, `vector` Array(Float32), "
                   "CONSTRAINT vector_len CHECK length(vector) = 3) ENGINE = MergeTree ORDER BY id")
            return [("default", t, ddl.format(t=t), "MergeTree", "MergeTree ORDER BY id", 0) for t in ("a", "b")]
        if "FROM system.columns" in sql:
            return [("default", t, n, ty, "") for t in ("a", "b") for n, ty in (("id", "UInt32"), ("vector", "Array(Float32)"))]
        if "FROM system.vector_indices" in sql:
            assert sql.startswith("SELECT database, table, name, type, expr FROM system.vector_indices"), sql
            return [("default", "a", "va", "HNSWFLAT", "va vector TYPE hnswflat('metric_type=IP')"),
                    ("default", "b", "vb", "MSTG", "vb vector TYPE mstg('metric_type=Cosine')")]
        raise AssertionError(sql)

    cat = LiveCatalog(run, dialect="myscale")
    _, infos = cat.load_all()
    assert len(sent) == 4 and [i.name for i in infos] == ["a", "b"]
    assert cat.vector_index("default.a", "vector") == IndexInfo("va", "HNSWFLAT", "IP", 3, {})
    assert cat.vector_index("default.b", "vector").metric == "Cosine"
    assert len(sent) == 4


def test_live_catalog_dialect_may_be_a_callable():
    cat = LiveCatalog(lambda sql, params: [], dialect=lambda: "myscale")
    assert cat.dialect == "myscale"


def test_parse_engine_target():
    from sqlext.text.ddl import parse_engine_target

    assert parse_engine_target("Distributed('prod', 'photos_db', 'photos_local', cityHash64(id))") == (
        "Distributed", {"database": "photos_db", "table": "photos_local"})
    assert parse_engine_target("Merge('default', '^photos_l')") == (
        "Merge", {"database": "default", "table_regexp": "^photos_l"})
    assert parse_engine_target("Merge(REGEXP('^db'), 'x')") == ("Merge", {"database_regexp": "^db", "table_regexp": "x"})
    assert parse_engine_target("MergeTree ORDER BY id SETTINGS index_granularity = 8192") is None


def test_merge_table_is_followed_to_the_tables_it_reads(db):
    from sqlext.text.dialects import translate

    db.command("CREATE TABLE mphotos (id UInt64, v Array(Float32), CONSTRAINT l CHECK length(v) = 3, "
               "INDEX vidx v TYPE vector_similarity('hnsw', 'cosineDistance', 3)) ENGINE = MergeTree ORDER BY id")
    db.command("CREATE TABLE mphotos_2024 AS mphotos")
    db.command("CREATE TABLE everything AS mphotos ENGINE = Merge(currentDatabase(), '^mphotos')")
    db.command("INSERT INTO mphotos VALUES (1, [1.0, 0, 0]), (2, [0, 1.0, 0])")
    cat = LiveCatalog(lambda sql, params: list(db.query(sql, parameters=params).result_rows))
    assert cat.vector_index("everything", "v") == cat.vector_index("mphotos", "v")
    assert cat.vector_index("everything", "v").metric == "Cosine"
    assert cat.base_tables("everything") == ["default.mphotos", "default.mphotos_2024"]
    assert cat.column_dim("everything", "v") == 3
    assert cat.total_rows("everything") == 2
    assert [i.name for i in cat.vector_indexes_behind("everything", "v")] == ["vidx"]
    # distance() takes the index's metric (before: MyScale's default L2, another function and
    # other values, and the index unusable)
    t = translate("SELECT id, distance(v, [1.0, 0.0, 0.0]) AS d FROM everything ORDER BY d LIMIT 1",
                  target="clickhouse", catalog=cat)
    assert "cosineDistance(v, [1.0, 0.0, 0.0])" in t.sql[0]
    assert list(db.query(t.sql[0]).result_rows)[0][0] == 1
    # over tables indexed with different metrics, distance() has no one meaning: refused, not
    # silently one table's metric
    db.command("CREATE TABLE mphotos_l2 (id UInt64, v Array(Float32), CONSTRAINT l CHECK length(v) = 3, "
               "INDEX l2idx v TYPE vector_similarity('hnsw', 'L2Distance', 3)) ENGINE = MergeTree ORDER BY id")
    cat.invalidate()
    assert {i.metric for i in cat.vector_indexes_behind("everything", "v")} == {"Cosine", "L2"}
    with pytest.raises(TranslationError) as ei:
        translate("SELECT id, distance(v, [1.0, 0.0, 0.0]) AS d FROM everything ORDER BY d LIMIT 1",
                  target="clickhouse", catalog=cat)
    assert "different metrics" in str(ei.value) and "cosineDistance(...) or L2Distance(...)" in ei.value.hint


_DISTRIBUTED = r'''
import json, sys
import chdb
from sqlext.db.catalog import LiveCatalog

con = chdb.connect(sys.argv[1] + "?config-file=" + sys.argv[2])

def run(sql, params=None):
    body = con.query(sql, "JSONCompact", params=params or None).bytes()
    return [tuple(r) for r in json.loads(body)["data"]] if body else []

run("CREATE TABLE photos_local (id UInt64, photo_embed Array(Float32) COMMENT 'embedsql:model=m/x;dim=4', "
    "CONSTRAINT l CHECK length(photo_embed) = 4, "
    "INDEX photo_embed_index photo_embed TYPE vector_similarity('hnsw', 'cosineDistance', 4)) "
    "ENGINE = MergeTree ORDER BY id")
run("CREATE TABLE photos AS photos_local ENGINE = Distributed(prod, currentDatabase(), photos_local, cityHash64(id))")
engine = run("SELECT engine_full FROM system.tables WHERE name = 'photos'")[0][0]
cat = LiveCatalog(run, dialect="clickhouse")
idx = cat.vector_index("photos", "photo_embed")
print(json.dumps({"engine": engine, "index": [idx.name, idx.metric, idx.dim] if idx else None,
                  "base": cat.base_tables("photos"), "dim": cat.column_dim("photos", "photo_embed"),
                  "model": cat.column_model("photos", "photo_embed"), "rows": cat.total_rows("photos")}))
'''


def test_distributed_table_is_followed_to_its_local_table(tmp_path):
    """What `migrate --cluster` creates: photos = Distributed(prod, db, photos_local). chdb reads the
    cluster from a config file (its own process: the engine takes one configuration)."""
    import json
    import subprocess
    import sys

    cfg = tmp_path / "cluster.xml"
    cfg.write_text("<clickhouse><remote_servers><prod><shard><replica><host>127.0.0.1</host>"
                   "<port>9000</port></replica></shard></prod></remote_servers></clickhouse>")
    p = subprocess.run([sys.executable, "-c", _DISTRIBUTED, str(tmp_path / "db"), str(cfg)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["engine"].startswith("Distributed('prod', 'default', 'photos_local'")
    assert got["index"] == ["photo_embed_index", "Cosine", 4]   # the Distributed table has no index itself
    assert got["base"] == ["default.photos_local"]
    assert got["dim"] == 4 and got["model"] == "m/x"
    assert got["rows"] is None  # a Distributed table's rows live on the shards


def test_length_constraint_names_as_the_server_writes_them(tmp_path):
    """The constraint names `model stamp` drops and re-adds, read from chdb's own CREATE TABLE
    text (quoted names, a column name with a space, two constraints on one column)."""
    from sqlext.text.ddl import length_constraint_names, parse_length_constraints

    from tests.sqlext.chdb_oracle import run_on_chdb

    res = run_on_chdb([
        {"sql": "CREATE TABLE t (id UInt64, `photo embed` Array(Float32), v Array(Float32), "
                "CONSTRAINT `len x` CHECK length(`photo embed`) = 512, CONSTRAINT c2 CHECK length(v) = 3, "
                "CONSTRAINT c3 CHECK (length(v) == 3)) ENGINE = MergeTree ORDER BY id"},
        {"sql": "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 't'"},
    ], tmp_path / "db", fmt="TSVRaw")
    assert all(r["ok"] for r in res), res
    ddl = res[1]["out"].decode().strip()
    assert parse_length_constraints(ddl) == {"photo embed": 512, "v": 3}
    assert length_constraint_names(ddl, "photo embed") == ["len x"]
    assert length_constraint_names(ddl, "v") == ["c2", "c3"]
    assert length_constraint_names(ddl, "id") == [] and length_constraint_names("not (sql", "v") == []


def test_column_codecs_read_as_clickhouse_reports_them(tmp_path):
    """`parse_column_codecs` over chdb's own CREATE TABLE text agrees with system.columns'
    compression_codec for every column: with a comment before the codec, a codec chain, a quoted
    name with a space, columns named `index` and `primary` (chdb quotes every name), no codec
    (the default), and an index and a constraint in the list."""
    from sqlext.text.ddl import parse_column_codecs

    from tests.sqlext.chdb_oracle import run_on_chdb

    res = run_on_chdb([
        {"sql": "CREATE TABLE t (id UInt64 CODEC(Delta, ZSTD(3)), `photo embed` Array(Float32) COMMENT 'm, x' "
                "CODEC(NONE), plain Array(Float32), s String DEFAULT 'CODEC(LZ4)' CODEC(LZ4HC(9)), "
                "`index` Array(Float32) CODEC(NONE), `primary` UInt8 CODEC(ZSTD(1)), "
                "INDEX i plain TYPE minmax GRANULARITY 1, CONSTRAINT c CHECK length(plain) = 3) "
                "ENGINE = MergeTree ORDER BY id"},
        {"sql": "SELECT create_table_query FROM system.tables WHERE database = currentDatabase() AND name = 't'"},
        {"sql": "SELECT name, compression_codec FROM system.columns WHERE database = currentDatabase() "
                "AND table = 't' ORDER BY position"},
    ], tmp_path / "db", fmt="TSVRaw")
    assert all(r["ok"] for r in res), res
    ddl = res[1]["out"].decode().strip()
    reported = dict(line.split("\t") for line in res[2]["out"].decode().strip().splitlines())
    parsed = parse_column_codecs(ddl)
    assert {c: f"CODEC({v})" for c, v in parsed.items()} == {c: v for c, v in reported.items() if v}
    assert parsed["photo embed"] == "NONE" and parsed["index"] == "NONE" and "plain" not in parsed
    assert parse_column_codecs("CREATE TABLE t AS u") == {} and parse_column_codecs("not (sql") == {}


def test_database_and_table_names_with_dots_are_read_as_one_name(db):
    # a database "my.db" (legal in ClickHouse once quoted): its tables were looked up as
    # database "my", table "db.photos", so the index and the dimension were lost
    db.command("CREATE DATABASE IF NOT EXISTS `my.db`")
    db.command("CREATE TABLE `my.db`.`pho.tos` (id UInt64, v Array(Float32), CONSTRAINT l CHECK length(v) = 3, "
               "INDEX vidx v TYPE vector_similarity('hnsw', 'cosineDistance', 3)) ENGINE = MergeTree ORDER BY id")
    db.command("CREATE TABLE `my.db`.everything AS `my.db`.`pho.tos` "
               "ENGINE = Merge('my.db', '^pho')")
    db.command("INSERT INTO `my.db`.`pho.tos` VALUES (1, [1.0, 0, 0]), (2, [0, 1.0, 0])")
    cat = LiveCatalog(lambda sql, params: list(db.query(sql, parameters=params).result_rows))
    assert cat.vector_index("`my.db`.`pho.tos`", "v").metric == "Cosine"
    assert cat.column_dim("`my.db`.`pho.tos`", "v") == 3
    assert cat.table_exists("`my.db`.everything")
    assert cat.vector_index("`my.db`.everything", "v").name == "vidx"
    assert cat.base_tables("`my.db`.everything") == ["`my.db`.`pho.tos`"]
    assert cat.total_rows("`my.db`.everything") == 2
    cat.use("my.db")
    assert cat.column_dim("`pho.tos`", "v") == 3
    cat.invalidate("`pho.tos`")
    assert cat.total_rows("`pho.tos`") == 2
    dbs, infos = cat.load_all()
    assert "my.db" in dbs
    cat2 = LiveCatalog(lambda sql, params: list(db.query(sql, parameters=params).result_rows))
    cat2.load_all()
    assert cat2.vector_index("`my.db`.everything", "v").name == "vidx"
