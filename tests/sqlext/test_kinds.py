"""Statement kinds, in the style of sqlglot's dialect tests: SQL in, SQL sent, rows or no rows.

Each row of the table is checked four ways:
- the kind read from the tokens (`sqlext.text.kinds.statement_kind`) and whether it returns rows;
- the SQL `Session.prepare` sends (EMBED calls in their wire form, shown as
  `CAST('[512 x Float32]', 'Array(Float64)')`; MyScale's distance() translated, inside EXPLAIN too);
- ClickHouse itself, the oracle: the statement as sent, run on chdb directly in TabSeparatedWithNames,
  prints at least its column names exactly when it returns rows;
- through embedsql (`Session.execute`): columns for rows, nothing for a command, the server's
  bytes for a statement with its own FORMAT clause.
"""
from __future__ import annotations

import numpy as np
import pytest

import sqlext
from tests.sqlext.chdb_oracle import run_on_chdb
from sqlext.text.kinds import statement_kind
from sqlext.text.tokens import tokenize

V = "CAST('[512 x Float32]', 'Array(Float64)')"  # on ClickHouse (sqlext.text.rewrite.cast_vector)
SETUP = [
    "CREATE TABLE photos (id UInt64, photo_id String, photo_embed Array(Float32), "
    "CONSTRAINT len CHECK length(photo_embed) = 512, "
    "INDEX vi photo_embed TYPE vector_similarity('hnsw', 'cosineDistance', 512)) ENGINE = MergeTree ORDER BY id",
    "INSERT INTO photos SELECT 1, 'cat', EMBED('a cat')",
    "INSERT INTO photos SELECT 2, 'dog', EMBED('a dog')",
    "INSERT INTO photos VALUES (3, 'boat', EMBED('a boat'))",
]

# (SQL in, SQL sent, kind, returns rows)
KINDS = [
    ("SELECT 1", "SELECT 1", "select", True),
    ("SELECT id, cosineDistance(photo_embed, EMBED('a cat')) AS d FROM photos ORDER BY d LIMIT 2",
     f"SELECT id, cosineDistance(photo_embed, {V}) AS d FROM photos ORDER BY d LIMIT 2", "select", True),
    ("SELECT cosineDistance(photo_embed, EMBED('a dog')), id FROM photos ORDER BY 1 LIMIT 1",
     f"SELECT cosineDistance(photo_embed, {V}), id FROM photos ORDER BY 1 LIMIT 1", "select", True),
    ("FROM photos SELECT photo_id ORDER BY cosineDistance(photo_embed, EMBED('a dog')) LIMIT 1",
     f"FROM photos SELECT photo_id ORDER BY cosineDistance(photo_embed, {V}) LIMIT 1", "select", True),
    ("(SELECT id FROM photos ORDER BY L2Distance(photo_embed, EMBED('a cat')) LIMIT 1)",
     f"(SELECT id FROM photos ORDER BY L2Distance(photo_embed, {V}) LIMIT 1)", "select", True),
    ("((SELECT 1) UNION ALL (SELECT 2))", "((SELECT 1) UNION ALL (SELECT 2))", "select", True),
    ("SELECT id FROM photos EXCEPT SELECT 3", "SELECT id FROM photos EXCEPT SELECT 3", "select", True),
    ("SELECT id FROM photos INTERSECT SELECT 1", "SELECT id FROM photos INTERSECT SELECT 1", "select", True),
    ("WITH EMBED('a cat') AS q SELECT id, cosineDistance(photo_embed, q) AS d FROM photos ORDER BY d LIMIT 2",
     f"WITH {V} AS q SELECT id, cosineDistance(photo_embed, q) AS d FROM photos ORDER BY d LIMIT 2",
     "select", True),
    ("WITH near AS (SELECT id FROM photos ORDER BY cosineDistance(photo_embed, EMBED('a cat')) LIMIT 2) "
     "SELECT count() FROM near",
     f"WITH near AS (SELECT id FROM photos ORDER BY cosineDistance(photo_embed, {V}) LIMIT 2) "
     "SELECT count() FROM near", "select", True),
    ("EXPLAIN indexes = 1 SELECT id FROM photos ORDER BY cosineDistance(photo_embed, EMBED('a cat')) LIMIT 3",
     f"EXPLAIN indexes = 1 SELECT id FROM photos ORDER BY cosineDistance(photo_embed, {V}) LIMIT 3",
     "explain", True),
    ("EXPLAIN indexes = 1 SELECT id FROM photos ORDER BY distance(photo_embed, EMBED('a cat')) LIMIT 3",
     f"EXPLAIN indexes = 1 SELECT id FROM photos ORDER BY cosineDistance(photo_embed, {V}) LIMIT 3",
     "explain", True),
    ("EXPLAIN PLAN indexes = 1, actions = 1 SELECT id FROM photos ORDER BY cosineDistance(photo_embed, EMBED('a dog')) LIMIT 3",
     f"EXPLAIN PLAN indexes = 1, actions = 1 SELECT id FROM photos ORDER BY cosineDistance(photo_embed, {V}) LIMIT 3",
     "explain", True),
    ("EXPLAIN AST SELECT cosineDistance(photo_embed, EMBED('a cat')) FROM photos",
     f"EXPLAIN AST SELECT cosineDistance(photo_embed, {V}) FROM photos", "explain", True),
    ("EXPLAIN SYNTAX SELECT id FROM photos WHERE cosineDistance(photo_embed, EMBED('a cat')) < 0.5",
     f"EXPLAIN SYNTAX SELECT id FROM photos WHERE cosineDistance(photo_embed, {V}) < 0.5", "explain", True),
    ("EXPLAIN QUERY TREE SELECT 1", "EXPLAIN QUERY TREE SELECT 1", "explain", True),
    ("EXPLAIN PIPELINE SELECT id FROM photos", "EXPLAIN PIPELINE SELECT id FROM photos", "explain", True),
    ("EXPLAIN ESTIMATE SELECT id FROM photos", "EXPLAIN ESTIMATE SELECT id FROM photos", "explain", True),
    ("EXPLAIN AST INSERT INTO photos SELECT 9, 'x', EMBED('a cat')",
     f"EXPLAIN AST INSERT INTO photos SELECT 9, 'x', {V}", "explain", True),
    ("DESCRIBE photos", "DESCRIBE photos", "describe", True),
    ("DESC TABLE photos", "DESC TABLE photos", "describe", True),
    ("DESCRIBE (SELECT cosineDistance(photo_embed, EMBED('a cat')) AS d FROM photos)",
     f"DESCRIBE (SELECT cosineDistance(photo_embed, {V}) AS d FROM photos)", "describe", True),
    ("SHOW TABLES", "SHOW TABLES", "show", True),
    ("SHOW CREATE TABLE photos", "SHOW CREATE TABLE photos", "show", True),
    ("SHOW COLUMNS FROM photos", "SHOW COLUMNS FROM photos", "show", True),
    ("EXISTS TABLE photos", "EXISTS TABLE photos", "exists", True),
    ("CHECK TABLE photos", "CHECK TABLE photos", "check", True),
    ("BACKUP TABLE photos TO Memory('kinds')", "BACKUP TABLE photos TO Memory('kinds')", "backup", True),
    ("SET max_threads = 2", "SET max_threads = 2", "set", False),
    ("USE default", "USE default", "use", False),
    ("SYSTEM FLUSH LOGS", "SYSTEM FLUSH LOGS", "system", False),
    ("OPTIMIZE TABLE photos FINAL", "OPTIMIZE TABLE photos FINAL", "optimize", False),
    ("INSERT INTO photos SELECT 4, 'cat2', EMBED('a cat', 'a tabby cat')",
     f"INSERT INTO photos SELECT 4, 'cat2', {V}", "insert", False),
    ("INSERT INTO photos (id, photo_id, photo_embed) VALUES (5, 'dog2', EMBED('a dog'))",
     f"INSERT INTO photos (id, photo_id, photo_embed) VALUES (5, 'dog2', {V})", "insert", False),
    ("WITH EMBED('a boat') AS q INSERT INTO photos SELECT 6, 'boat2', q",
     f"WITH {V} AS q INSERT INTO photos SELECT 6, 'boat2', q", "insert", False),
    ("CREATE TABLE near ENGINE = MergeTree ORDER BY id AS "
     "SELECT id, cosineDistance(photo_embed, EMBED('a cat')) AS d FROM photos",
     f"CREATE TABLE near ENGINE = MergeTree ORDER BY id AS SELECT id, cosineDistance(photo_embed, {V}) AS d FROM photos",
     "create", False),
    ("CREATE VIEW cats AS SELECT id, cosineDistance(photo_embed, EMBED('a cat')) AS d FROM photos ORDER BY d LIMIT 3",
     f"CREATE VIEW cats AS SELECT id, cosineDistance(photo_embed, {V}) AS d FROM photos ORDER BY d LIMIT 3",
     "create", False),
    ("CREATE MATERIALIZED VIEW dogs ENGINE = MergeTree ORDER BY id AS "
     "SELECT id, cosineDistance(photo_embed, EMBED('a dog')) AS d FROM photos",
     f"CREATE MATERIALIZED VIEW dogs ENGINE = MergeTree ORDER BY id AS SELECT id, cosineDistance(photo_embed, {V}) AS d FROM photos",
     "create", False),
    ("SELECT count() FROM cats", "SELECT count() FROM cats", "select", True),
    ("ALTER TABLE near DELETE WHERE d > cosineDistance(EMBED('a cat'), EMBED('a dog'))",
     f"ALTER TABLE near DELETE WHERE d > cosineDistance({V}, {V})", "alter", False),
    ("ALTER TABLE photos ADD COLUMN note String", "ALTER TABLE photos ADD COLUMN note String", "alter", False),
    ("RENAME TABLE near TO near2", "RENAME TABLE near TO near2", "rename", False),
    ("TRUNCATE TABLE near2", "TRUNCATE TABLE near2", "truncate", False),
    ("DROP TABLE near2", "DROP TABLE near2", "drop", False),
    ("SELECT 1 AS x FORMAT JSONEachRow", "SELECT 1 AS x FORMAT JSONEachRow", "select", False),
    ("SELECT id FROM photos ORDER BY cosineDistance(photo_embed, EMBED('a cat')) LIMIT 1 FORMAT Null",
     f"SELECT id FROM photos ORDER BY cosineDistance(photo_embed, {V}) LIMIT 1 FORMAT Null", "select", False),
    ("SELECT 1 FORMAT CSV SETTINGS max_threads = 1", "SELECT 1 FORMAT CSV SETTINGS max_threads = 1", "select", False),
    ("EXPLAIN SELECT 1 FORMAT JSONEachRow", "EXPLAIN SELECT 1 FORMAT JSONEachRow", "explain", False),
    ("SHOW TABLES LIKE 'photo%' FORMAT CSV", "SHOW TABLES LIKE 'photo%' FORMAT CSV", "show", False),
    ("SELECT 1 AS format", "SELECT 1 AS format", "select", True),
    ("SELECT format('{}-{}', 'a', 'b') AS s", "SELECT format('{}-{}', 'a', 'b') AS s", "select", True),
    ("-- a comment\n/* and /* a nested */ one */ SELECT 2", "-- a comment\n/* and /* a nested */ one */ SELECT 2",
     "select", True),
    ("DROP VIEW cats", "DROP VIEW cats", "drop", False),
]


@pytest.mark.parametrize("sql, sent, kind, rows", KINDS, ids=[k[0][:60] for k in KINDS])
def test_kind_read_from_the_tokens(sql, sent, kind, rows):
    k = statement_kind(tokenize(sql))
    assert (k.name, k.returns_rows) == (kind, rows)


@pytest.fixture(scope="module")
def ran(tmp_path_factory, tiny_clip):
    """Every statement of SETUP + KINDS prepared and run through embedsql in order, and the SQL
    sent run on chdb directly in a process of its own."""
    base = tmp_path_factory.mktemp("kinds")
    s = sqlext.connect(dsn=f"chdb://{base}/db", model=str(tiny_clip))
    prepared, results, setup = [], [], []
    try:
        with s.unit_of_work():
            for sql in SETUP:
                setup += s.prepare(sql).statements
                s.execute(sql)
            for sql, *_ in KINDS:
                prepared.append(s.prepare(sql))
                results.append(s.execute(sql))
    finally:
        s.close()
    statements = [{"sql": st} for st in setup] + [{"sql": p.statements[0]} for p in prepared]
    oracle = run_on_chdb(statements, base / "oracle")
    return prepared, results, oracle[len(setup):]


def test_sql_sent_and_rows_agree_with_clickhouse(ran):
    prepared, results, oracle = ran
    problems = []
    for (sql, sent, kind, rows), p, r, o in zip(KINDS, prepared, results, oracle):
        if p.stats.sent_sql != sent:
            problems.append(f"{sql!r}: sent {p.stats.sent_sql!r}, expected {sent!r}")
        if not o["ok"]:
            problems.append(f"{sql!r}: chdb refused the SQL sent: {o['err'][:200]}")
            continue
        if bool(o["out"]) != rows and statement_kind(tokenize(sql)).format is None:
            problems.append(f"{sql!r}: chdb {'returns' if o['out'] else 'does not return'} rows")
        if bool(r.columns) != rows:
            problems.append(f"{sql!r}: through embedsql, columns {r.columns}")
        k = statement_kind(tokenize(sql))
        if k.format is not None and k.format != "Null":
            if r.raw != o["out"]:
                problems.append(f"{sql!r}: through embedsql {r.raw!r}, on chdb {o['out']!r}")
    assert not problems, "\n".join(problems)


def test_explain_shows_the_vector_index_used_for_an_embed_query(ran):
    prepared, results, _ = ran
    i = next(k for k, row in enumerate(KINDS) if row[0].startswith("EXPLAIN indexes = 1") and "distance(" in row[0])
    plan = "\n".join(r[0] for r in results[i].rows)
    assert "vi" in plan and "vector_similarity" in plan, plan


def _result_of(ran, prefix):
    _, results, _ = ran
    return results[next(k for k, row in enumerate(KINDS) if row[0].startswith(prefix))]


def test_unaliased_embed_column_is_named_with_the_call(ran):
    r = _result_of(ran, "SELECT cosineDistance(photo_embed, EMBED('a dog')), id")
    assert r.columns == ["cosineDistance(photo_embed, EMBED('a dog'))", "id"]
    assert r.rows[0][1] == 2 and r.rows[0][0] == pytest.approx(0.0, abs=1e-5)


def test_the_nearest_row_is_the_one_inserted_from_the_same_input(ran):
    r = _result_of(ran, "SELECT id, cosineDistance")
    assert r.rows[0][0] == 1 and r.rows[0][1] == pytest.approx(0.0, abs=1e-5)
    assert len(r.rows) == 2 and np.isfinite([row[1] for row in r.rows]).all()
