"""Rendering for a dialect and for a cluster: golden plans (no database), and the cluster rules."""
import os
from pathlib import Path

import pytest

from migrations import render
from migrations.files import load, parse
from migrations.runner import plan
from sqlext.text.ddl import StaticCatalog
from sqlext.errors import TranslationError
from tui.commands.migrate import format_plan

GOLDEN = Path(__file__).parent / "golden"


def _golden(name: str, text: str):
    path = GOLDEN / name
    if os.environ.get("EMBEDSQL_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"{name} missing: run with EMBEDSQL_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(), f"{name} differs (EMBEDSQL_UPDATE_GOLDEN=1 rewrites it; review the diff)"


@pytest.mark.parametrize("dialect,direction,cluster", [
    ("clickhouse", "up", None), ("myscale", "up", None), ("clickhouse", "down", None),
    ("clickhouse", "up", "prod"), ("myscale", "up", "prod"), ("clickhouse", "down", "prod"),
])
def test_builtin_plan_golden(dialect, direction, cluster):
    state, steps = plan(load([]), dialect, direction=direction, cluster=cluster, database="photos_db")
    text = format_plan(dialect, "golden", state, steps, cluster=cluster, direction=direction)
    _golden(f"{'cluster_' if cluster else ''}{dialect}_{direction}.sql", text)


def test_plan_translates_index_with_dim_from_the_files_constraint():
    _, steps = plan(load([]), "clickhouse")
    sql = [s for st in steps for s in st.sql]
    i = sql.index("ALTER TABLE photos ADD INDEX photo_embed_index photo_embed "
                  "TYPE vector_similarity('hnsw', 'cosineDistance', 512)")
    assert sql[i + 1] == "ALTER TABLE photos MATERIALIZE INDEX photo_embed_index"
    _, steps = plan(load([]), "myscale")
    assert "ALTER TABLE photos ADD VECTOR INDEX photo_embed_index photo_embed TYPE MSTG('metric_type=Cosine')" \
        in [s for st in steps for s in st.sql]


def test_learn_from_ddl():
    cat = StaticCatalog()
    for m in load([]):
        for st in m.up:
            render.learn(cat, st.text)
    assert cat.column_dim("photos", "photo_embed") == 512
    assert cat.column_model("photos", "photo_embed") == "openai/clip-vit-base-patch32"
    idx = cat.vector_index("photos", "photo_embed")
    assert (idx.name, idx.type, idx.metric, idx.dim) == ("photo_embed_index", "MSTG", "Cosine", 512)
    # 0003's FTS index: on ClickHouse its tokens are stored in search_text__tokens
    assert cat.text_tokens_column("photos", "search_text") == "search_text__tokens"
    assert cat.text_tokens_column("photos", "photo_description") is None


def test_learn_reads_every_item_of_one_column_list():
    """One CREATE TABLE teaches all it holds: an index item written before the column it indexes
    still gets that column's dimension from its COMMENT (learned in the same pass), a CHECK
    overrides no COMMENT dimension, the FTS item gives a token column, other INDEX items nothing."""
    cat = StaticCatalog()
    render.learn(cat, "CREATE TABLE docs (VECTOR INDEX vi v TYPE MSTG('metric_type=IP'), id UInt64, "
                      "INDEX b_fts body TYPE fts GRANULARITY 1, INDEX mm id TYPE minmax, "
                      "v Array(Float32) COMMENT 'embedsql:model=m/x;dim=4', "
                      "w Array(Float32) COMMENT 'embedsql:model=m/y;dim=8', body String, "
                      "CONSTRAINT c CHECK length(w) = 3) ENGINE = MergeTree ORDER BY id")
    assert (cat.column_dim("docs", "v"), cat.column_dim("docs", "w")) == (4, 3)
    assert (cat.column_model("docs", "v"), cat.column_model("docs", "w")) == ("m/x", "m/y")
    idx = cat.vector_index("docs", "v")
    assert (idx.name, idx.type, idx.metric, idx.dim) == ("vi", "MSTG", "IP", 4)
    assert cat.vector_index("docs", "id") is None
    assert cat.text_tokens_column("docs", "body") == "body__tokens"
    assert cat.text_tokens_column("docs", "id") is None


def test_plan_reads_the_token_column_an_earlier_migration_made(tmp_path):
    """`migrate plan` offline: TextSearch in a later migration reads the stored token column of the
    built-in FTS index (learned from 0003), as it does against the live table; a CREATE TABLE
    with its own FTS index is learned the same way."""
    (tmp_path / "0100_hits.sql").write_text(
        "-- +up\nCREATE TABLE docs (id UInt64, body String, INDEX b_fts body TYPE fts GRANULARITY 1) "
        "ENGINE = MergeTree ORDER BY id;\n"
        "CREATE VIEW cats AS SELECT id, TextSearch(search_text, 'cat') AS s FROM photos ORDER BY s DESC LIMIT 10;\n"
        "CREATE VIEW hits AS SELECT id, TextSearch(body, 'cat') AS s FROM docs ORDER BY s DESC LIMIT 10;\n"
        "-- +down\nDROP VIEW hits;\nDROP VIEW cats;\nDROP TABLE docs;\n")
    _, steps = plan(load([tmp_path]), "clickhouse")
    sql = {st.source.split(" AS ")[0]: " ".join(st.sql) for st in steps if st.source.startswith("CREATE VIEW")}
    assert "search_text__tokens" in sql["CREATE VIEW cats"], sql
    assert "body__tokens" in sql["CREATE VIEW hits"], sql


def test_vector_indexes_found_in_each_form():
    f = render.vector_indexes
    assert f("ALTER TABLE db.t ADD VECTOR INDEX i v TYPE MSTG('metric_type=Cosine')") == [("db.t", "i")]
    assert f("ALTER TABLE t ADD INDEX IF NOT EXISTS `i` v TYPE vector_similarity('hnsw', 'L2Distance', 3)") == [("t", "i")]
    assert f("ALTER TABLE t ADD INDEX i v TYPE minmax") == []
    assert f("-- c\nCREATE VECTOR INDEX i ON t v TYPE FLAT") == [("t", "i")]
    assert f("CREATE TABLE t (id UInt8, v Array(Float32), CONSTRAINT c CHECK length(v) = 3, "
             "VECTOR INDEX vi v TYPE MSTG) ENGINE = MergeTree ORDER BY id") == [("t", "vi")]


CL = render.Cluster("c1", "db1", {"photos"})


_RULES = [
    ("ALTER TABLE photos ADD COLUMN tags Array(String)",
     ["ALTER TABLE photos_local ON CLUSTER c1 ADD COLUMN tags Array(String)",
      "ALTER TABLE photos ON CLUSTER c1 ADD COLUMN tags Array(String)"]),
    ("ALTER TABLE photos MATERIALIZE INDEX i", ["ALTER TABLE photos_local ON CLUSTER c1 MATERIALIZE INDEX i"]),
    ("ALTER TABLE other ADD COLUMN x UInt8", ["ALTER TABLE other ON CLUSTER c1 ADD COLUMN x UInt8"]),
    ("DROP TABLE IF EXISTS photos",
     ["DROP TABLE IF EXISTS photos ON CLUSTER c1 SYNC", "DROP TABLE IF EXISTS photos_local ON CLUSTER c1 SYNC"]),
    ("DROP TABLE other", ["DROP TABLE other ON CLUSTER c1 SYNC"]),
    ("INSERT INTO photos (id) VALUES (1)", ["INSERT INTO photos (id) VALUES (1)"]),
    ("SELECT count() FROM photos", ["SELECT count() FROM photos"]),
    ("CREATE VIEW v AS SELECT 1", ["CREATE VIEW v ON CLUSTER c1 AS SELECT 1"]),
    ("TRUNCATE TABLE other", ["TRUNCATE TABLE other ON CLUSTER c1"]),
    # the rows of a sharded table live in its local tables: through the Distributed table TRUNCATE
    # leaves them, DELETE and OPTIMIZE are refused (checked on chdb with a <remote_servers> config)
    ("TRUNCATE photos", ["TRUNCATE TABLE photos ON CLUSTER c1", "TRUNCATE TABLE photos_local ON CLUSTER c1"]),
    ("TRUNCATE TABLE IF EXISTS db1.photos", ["TRUNCATE TABLE IF EXISTS db1.photos ON CLUSTER c1",
                                             "TRUNCATE TABLE IF EXISTS db1.photos_local ON CLUSTER c1"]),
    ("DELETE FROM photos WHERE id = 0", ["DELETE FROM photos_local ON CLUSTER c1 WHERE id = 0"]),
    ("DELETE FROM other WHERE 1", ["DELETE FROM other ON CLUSTER c1 WHERE 1"]),
    ("OPTIMIZE TABLE photos PARTITION tuple() FINAL", ["OPTIMIZE TABLE photos_local ON CLUSTER c1 PARTITION tuple() FINAL"]),
    ("OPTIMIZE TABLE other FINAL", ["OPTIMIZE TABLE other ON CLUSTER c1 FINAL"]),
    ("DELETE FROM photos ON CLUSTER c2 WHERE 1", ["DELETE FROM photos ON CLUSTER c2 WHERE 1"]),  # as written
    ("EXCHANGE TABLES a AND b", ["EXCHANGE TABLES a AND b ON CLUSTER c1"]),
    ("TRUNCATE ALL TABLES FROM db2 LIKE '%x'", ["TRUNCATE ALL TABLES FROM db2 LIKE '%x' ON CLUSTER c1"]),
    ("TRUNCATE DATABASE IF EXISTS db2", ["TRUNCATE DATABASE IF EXISTS db2 ON CLUSTER c1"]),
    ("TRUNCATE TEMPORARY TABLE t", ["TRUNCATE TEMPORARY TABLE t"]),
    # ON CLUSTER before a comment that ends the statement, not inside it
    ("RENAME TABLE a TO b -- swap", ["RENAME TABLE a TO b ON CLUSTER c1 -- swap"]),
    ("TRUNCATE ALL TABLES FROM db2 -- keep the schema\n", ["TRUNCATE ALL TABLES FROM db2 ON CLUSTER c1 -- keep the schema"]),
    ("CREATE TABLE IF NOT EXISTS db2.photos (id UInt64, v Array(Float32), INDEX i v TYPE minmax) "
     "ENGINE = ReplacingMergeTree(ver) ORDER BY (id, v) SETTINGS index_granularity = 1024",
     ["CREATE TABLE IF NOT EXISTS db2.photos_local ON CLUSTER c1\n(id UInt64, v Array(Float32), INDEX i v TYPE minmax)\n"
      "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', ver)\n"
      "ORDER BY (id, v) SETTINGS index_granularity = 1024",
      "CREATE TABLE IF NOT EXISTS db2.photos ON CLUSTER c1\n(\n    id UInt64,\n    v Array(Float32)\n)\n"
      "ENGINE = Distributed(c1, db2, photos_local, cityHash64(id))"]),
    ("CREATE TABLE photos (id UInt64) ORDER BY tuple()",
     ["CREATE TABLE photos_local ON CLUSTER c1\n(id UInt64)\n"
      "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')\nORDER BY tuple()",
      "CREATE TABLE photos ON CLUSTER c1\n(\n    id UInt64\n)\nENGINE = Distributed(c1, db1, photos_local, rand())"]),
]


@pytest.mark.parametrize("sql,expected", _RULES)
def test_cluster_rules(sql, expected):
    assert render.cluster_statements(sql, CL) == expected


def test_cluster_statements_parse_with_clickhouses_parser(session):
    """Every statement of the built-in migrations' cluster plans (up and down) and of the rules
    above, read by ClickHouse's own parser (`formatQuery`, which runs nothing)."""
    rendered = [st for sql, _ in _RULES for st in render.cluster_statements(sql, CL)]
    for direction in ("up", "down"):
        state, steps = plan(load([]), "clickhouse", direction=direction, cluster="prod", database="photos_db")
        rendered += state + [st for step in steps for st in step.sql]
    # what a cluster run reads besides: every node's index builds, the lock and state tables
    # under quorum (sent as settings, read here in a SETTINGS clause)
    from migrations.runner import CLUSTER_CONSISTENCY, cluster_build_sql

    quorum = " SETTINGS " + ", ".join(f"{k} = {v!r}" for k, v in CLUSTER_CONSISTENCY.items())
    rendered += [cluster_build_sql(True) + quorum, cluster_build_sql(False) + quorum]
    assert any("'{shard}-{replica}'" in st for st in rendered)  # unique in the whole cluster
    assert len(rendered) > 30
    for st in rendered:
        literal = "'" + st.replace("\\", "\\\\").replace("'", "\\'") + "'"
        assert session.query(f"SELECT formatQuery({literal})").rows, st


@pytest.mark.parametrize("sql,needle", [
    ("ALTER TABLE photos ADD COLUMN x UInt8, ADD INDEX i x TYPE minmax", "mixes column commands"),
    ("CREATE TABLE photos (id UInt64) ENGINE = Log", "ENGINE = Log"),
    ("CREATE VECTOR INDEX i ON photos v TYPE MSTG", "ALTER TABLE t ADD VECTOR INDEX"),
    ("RENAME TABLE photos TO pics", "its Distributed table names photos_local"),
    ("RENAME TABLE a TO b, c TO db1.photos", "RENAME TABLE of db1.photos, a sharded table"),
    ("EXCHANGE TABLES photos AND other", "EXCHANGE TABLES of photos"),
])
def test_cluster_refuses_what_it_cannot_render(sql, needle):
    with pytest.raises(TranslationError) as ei:
        render.cluster_statements(sql, CL)
    assert needle in str(ei.value)


def test_plan_of_user_file_with_inline_index_and_cluster(tmp_path):
    p = tmp_path / "0100_docs.sql"
    p.write_text("-- +up\nCREATE TABLE docs (id UInt64, v Array(Float32), CONSTRAINT c CHECK length(v) = 8, "
                 "VECTOR INDEX vi v TYPE HNSWFLAT('metric_type=L2', 'm=16')) ENGINE = MergeTree ORDER BY id;\n"
                 "-- +down\nDROP TABLE docs;\n")
    m = parse(p.read_text(), p)
    _, steps = plan([m], "clickhouse", cluster="c1")
    local, dist = steps[0].sql
    assert "INDEX vi v TYPE vector_similarity('hnsw', 'L2Distance', 8" in local
    assert local.startswith("CREATE TABLE docs_local ON CLUSTER c1")
    assert "INDEX" not in dist and "ENGINE = Distributed(c1, default, docs_local, cityHash64(id))" in dist


def test_cluster_layout_reads_tokens_not_commas_in_comments():
    # commas in `--` and `/* */` comments and in strings are not column separators
    sql = ("CREATE TABLE photos (\n"
           "    id UInt64,  -- the id, unique\n"
           "    /* a, b */ v Array(Float32) COMMENT 'x, y', -- vectors (512, float)\n"
           "    INDEX i v TYPE minmax\n"
           ") ENGINE = MergeTree ORDER BY id")
    local, dist = render.cluster_statements(sql, CL)
    assert "-- the id, unique" in local and "INDEX i v TYPE minmax" in local
    assert dist == ("CREATE TABLE photos ON CLUSTER c1\n(\n    id UInt64,\n    v Array(Float32) COMMENT 'x, y'\n)\n"
                    "ENGINE = Distributed(c1, db1, photos_local, cityHash64(id))")


def test_rename_gets_on_cluster_at_the_end():
    assert render.cluster_statements("RENAME TABLE a TO b", CL) == ["RENAME TABLE a TO b ON CLUSTER c1"]
