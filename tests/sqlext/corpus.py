"""A corpus of ClickHouse statements as people write them, written for tests/sqlext/test_corpus.py:
every kind (SELECT in its forms, EXPLAIN, DESCRIBE, SHOW, INSERT, DDL, mutations, SET, SYSTEM,
OPTIMIZE), SETTINGS, FORMAT, INTO OUTFILE, lambdas, `{x:Type}` parameters, heredocs, window
functions, JOIN kinds, ARRAY JOIN, WITH TOTALS, LIMIT BY, comments of every kind, and statements
ClickHouse refuses. Each entry is run on chdb directly and through embedsql.

`CORPUS`: a list of (sql, params) in order (later statements see what earlier ones did). `{dir}`
in a statement stands for a directory of files the statement writes (one per side).
Deterministic on purpose: no now()/rand(), no system tables that change, and the tables are
merged to one part (OPTIMIZE ... FINAL) before the statements that show parts.
"""
from __future__ import annotations

SETUP = [
    "CREATE TABLE photos (id UInt64, photo_id String, title String, tags Array(String), year UInt16, "
    "score Float64, country LowCardinality(String), taken Date, v Array(Float32), "
    "CONSTRAINT v_len CHECK length(v) = 4) ENGINE = MergeTree ORDER BY id",
    "CREATE TABLE people (pid UInt32, name String, country String) ENGINE = MergeTree ORDER BY pid",
    "CREATE TABLE likes (pid UInt32, id UInt64, at DateTime('UTC')) ENGINE = MergeTree ORDER BY (pid, id)",
    "INSERT INTO photos VALUES "
    "(1, 'p1', 'a cat on a mat', ['cat', 'indoor'], 2019, 4.5, 'FR', '2019-05-01', [0.1, 0.2, 0.3, 0.4]), "
    "(2, 'p2', 'a dog in the park', ['dog', 'outdoor'], 2020, 3.25, 'DE', '2020-07-14', [0.4, 0.3, 0.2, 0.1]), "
    "(3, 'p3', 'sunset over the sea', ['sea', 'outdoor', 'sunset'], 2021, 4.75, 'FR', '2021-08-30', [0.9, 0.1, 0.0, 0.1])",
    "INSERT INTO photos (id, photo_id, title, tags, year, score, country, taken, v) "
    "SELECT number + 10, concat('g', toString(number)), concat('generated ', toString(number)), "
    "[toString(number % 3)], 2000 + number % 5, number / 4, ['FR', 'DE', 'JP'][number % 3 + 1], "
    "toDate('2022-01-01') + number, [number / 10, 1, 0, 0] FROM numbers(12)",
    "INSERT INTO photos FORMAT Values (30, 'v30', 'values format', [], 2023, 1.5, 'JP', '2023-01-02', [0., 0., 1., 0.])",
    "INSERT INTO people VALUES (1, 'ana', 'FR'), (2, 'ben', 'DE'), (3, 'chiyo', 'JP'), (4, 'dov', 'IL')",
    "INSERT INTO likes VALUES (1, 1, '2024-01-01 10:00:00'), (1, 3, '2024-01-02 11:00:00'), "
    "(2, 2, '2024-01-03 12:00:00'), (3, 1, '2024-01-04 13:00:00'), (3, 10, '2024-01-05 14:00:00')",
    "INSERT INTO people FORMAT CSV 5,\"eve, the second\",US",
    "OPTIMIZE TABLE photos FINAL",
    "OPTIMIZE TABLE people FINAL",
    "OPTIMIZE TABLE likes FINAL",
]

# SELECTs: each also runs as EXPLAIN SYNTAX / EXPLAIN AST / EXPLAIN (plan) below
QUERIES = [
    "SELECT 1",
    "SELECT 1 AS one, 'two' AS two, 3.5 AS three",
    "SELECT id, photo_id FROM photos ORDER BY id",
    "SELECT * FROM photos WHERE id = 2",
    "SELECT id, title FROM photos WHERE country = 'FR' AND year >= 2020 ORDER BY id",
    "SELECT country, count() AS n, avg(score) AS s FROM photos GROUP BY country ORDER BY country",
    "SELECT country, count() FROM photos GROUP BY country HAVING count() > 3 ORDER BY country",
    "SELECT year, count() FROM photos GROUP BY year WITH TOTALS ORDER BY year",
    "SELECT country, year, count() FROM photos GROUP BY ROLLUP(country, year) ORDER BY country, year",
    "SELECT country, year, count() FROM photos GROUP BY CUBE(country, year) ORDER BY country, year",
    "SELECT country, id FROM photos ORDER BY country, id LIMIT 2 BY country",
    "SELECT id FROM photos ORDER BY id LIMIT 3 OFFSET 2",
    "SELECT id FROM photos ORDER BY id DESC LIMIT 2",
    "SELECT DISTINCT country FROM photos ORDER BY country",
    "SELECT id, score, rank() OVER (PARTITION BY country ORDER BY score DESC) AS r FROM photos ORDER BY id",
    "SELECT id, sum(score) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS s FROM photos ORDER BY id",
    "SELECT id, lagInFrame(id) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) FROM photos ORDER BY id LIMIT 4",
    "SELECT id, row_number() OVER w AS rn FROM photos WINDOW w AS (ORDER BY id) ORDER BY id",
    "SELECT arrayMap(x -> x * 2, [1, 2, 3]) AS doubled",
    "SELECT arrayFilter((x, i) -> i % 2 = 1, ['a', 'b', 'c'], [1, 2, 3]) AS odd",
    "SELECT id, arraySum(x -> x * x, v) AS sq FROM photos ORDER BY id LIMIT 3",
    "SELECT id, tag FROM photos ARRAY JOIN tags AS tag WHERE id < 4 ORDER BY id, tag",
    "SELECT id, tag, n FROM photos ARRAY JOIN tags AS tag, arrayEnumerate(tags) AS n WHERE id <= 3 ORDER BY id, n",
    "SELECT id, tag FROM photos LEFT ARRAY JOIN tags AS tag WHERE id = 30",
    "SELECT p.name, l.id FROM people AS p INNER JOIN likes AS l ON p.pid = l.pid ORDER BY p.name, l.id",
    "SELECT p.name, l.id FROM people AS p LEFT JOIN likes AS l ON p.pid = l.pid ORDER BY p.name, l.id",
    "SELECT p.name, l.id FROM likes AS l RIGHT JOIN people AS p ON p.pid = l.pid ORDER BY p.name, l.id",
    "SELECT p.name, l.id FROM people AS p FULL OUTER JOIN likes AS l ON p.pid = l.pid ORDER BY p.name, l.id",
    "SELECT count() FROM people CROSS JOIN likes",
    "SELECT name FROM people AS p LEFT SEMI JOIN likes AS l ON p.pid = l.pid ORDER BY name",
    "SELECT name FROM people AS p LEFT ANTI JOIN likes AS l ON p.pid = l.pid ORDER BY name",
    "SELECT name, id FROM people AS p ANY LEFT JOIN likes AS l ON p.pid = l.pid ORDER BY name",
    "SELECT pid, name, id FROM people INNER JOIN likes USING (pid) ORDER BY pid, id",
    "SELECT photos.title, people.name FROM likes JOIN photos ON photos.id = likes.id JOIN people ON people.pid = likes.pid ORDER BY title, name",
    "SELECT id FROM photos WHERE id IN (SELECT id FROM likes) ORDER BY id",
    "SELECT (SELECT max(id) FROM photos) AS top",
    "SELECT * FROM (SELECT id, score FROM photos ORDER BY score DESC LIMIT 3) ORDER BY id",
    "WITH 2 AS k SELECT id FROM photos ORDER BY id LIMIT k",
    "WITH best AS (SELECT id, score FROM photos ORDER BY score DESC LIMIT 2) SELECT * FROM best ORDER BY id",
    "WITH RECURSIVE t AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM t WHERE n < 4) SELECT n FROM t ORDER BY n",
    "FROM photos SELECT id, title WHERE id < 3 ORDER BY id",
    "FROM photos SELECT count()",
    "(SELECT 1 AS x)",
    "SELECT * FROM ((SELECT 1 AS x) UNION ALL (SELECT 2)) ORDER BY x",
    "SELECT id FROM photos WHERE id < 3 UNION ALL SELECT pid FROM people ORDER BY id",
    "SELECT country FROM photos UNION DISTINCT SELECT country FROM people ORDER BY country",
    "SELECT country FROM people EXCEPT SELECT country FROM photos",
    "SELECT country FROM people INTERSECT SELECT country FROM photos ORDER BY country",
    "SELECT CASE WHEN score > 4 THEN 'high' WHEN score > 2 THEN 'mid' ELSE 'low' END AS band, count() FROM photos GROUP BY band ORDER BY band",
    "SELECT if(year > 2020, 'new', 'old') AS age, multiIf(country = 'FR', 1, country = 'DE', 2, 3) AS c FROM photos ORDER BY id LIMIT 4",
    "SELECT upper(title), length(title), substring(title, 1, 5), replaceAll(title, ' ', '_') FROM photos ORDER BY id LIMIT 3",
    "SELECT toStartOfMonth(taken) AS m, count() FROM photos GROUP BY m ORDER BY m",
    "SELECT toYear(taken), formatDateTime(taken, '%Y/%m/%d') FROM photos ORDER BY id LIMIT 3",
    "SELECT (1, 'a') AS t, t.1, tupleElement(t, 2)",
    "SELECT map('a', 1, 'b', 2) AS m, m['b']",
    "SELECT [1, 2, 3][2], has([1, 2], 2), arrayConcat([1], [2, 3])",
    "SELECT groupArray(id) FROM (SELECT id FROM photos ORDER BY id LIMIT 5)",
    "SELECT uniqExact(country), min(score), max(score), sum(year) FROM photos",
    "SELECT quantileExact(0.5)(score) FROM photos",
    "SELECT argMax(title, score) FROM photos",
    "SELECT id, cosineDistance(v, [0.1, 0.2, 0.3, 0.4]) AS d FROM photos ORDER BY d, id LIMIT 3",
    "SELECT id, L2Distance(v, [1.0, 0, 0, 0]) AS d FROM photos WHERE year > 2000 ORDER BY d, id LIMIT 3",
    "SELECT id, dotProduct(v, [0.5, 0.5, 0.5, 0.5]) FROM photos ORDER BY id LIMIT 3",
    "SELECT $$it's a heredoc$$ AS h, $tag$with $$ inside$tag$ AS g",
    "SELECT 1 AS x$y, x$y + 1 AS `x y`",
    "SELECT \"id\", `title` FROM photos WHERE `id` = 1",
    "SELECT 'quote''s', 'back\\'slash', 'tab\\tnew\\nline'",
    "SELECT 1 -- a comment with EMBED('x') and a ;\n+ 1 AS two",
    "SELECT 1 // a ClickHouse comment; with a semicolon\n+ 2 AS three",
    "SELECT 1 # a hash comment\n+ 3 AS four",
    "SELECT 1 /* a /* nested */ comment */ + 4 AS five",
    "/* a leading comment */ SELECT 6 AS six",
    "SELECT\n    id,\n    title\nFROM photos\nWHERE id = 3",
    "SELECT 1 SETTINGS max_threads = 1",
    "SELECT count() FROM photos SETTINGS max_threads = 2, max_block_size = 1000",
    "SELECT number FROM numbers(5) ORDER BY number DESC",
    "SELECT * FROM system.one",
    "SELECT toTypeName(1), toTypeName(1.5), toTypeName('a'), toTypeName([1])",
    "SELECT 1 AS format",
    "SELECT format('{}-{}', 'a', 'b') AS formatted",
    "SELECT id FROM photos FINAL WHERE id = 1",
    "SELECT id FROM photos PREWHERE year = 2020",
    "SELECT id, title FROM photos WHERE title LIKE '%the%' ORDER BY id",
    "SELECT id FROM photos WHERE has(tags, 'outdoor') ORDER BY id",
    "SELECT country, groupArray(id) FROM (SELECT country, id FROM photos ORDER BY id) GROUP BY country ORDER BY country",
    "SELECT * FROM photos ORDER BY id LIMIT 1 FORMAT Vertical",
]

# with parameters ({name:Type}); run on both sides with the same values
PARAMETERIZED = [
    ("SELECT {x:String} AS x", {"x": "a cat"}),
    ("SELECT id FROM photos WHERE country = {c:String} ORDER BY id", {"c": "DE"}),
    ("SELECT id FROM photos ORDER BY id LIMIT {n:UInt32}", {"n": 2}),
    ("SELECT {a:Array(UInt8)} AS a", {"a": "[1,2,3]"}),
    ("SELECT {x:String}", {}),  # not given: ClickHouse says so
]

FORMATS = ["CSV", "TSV", "TSVWithNames", "CSVWithNamesAndTypes", "JSONEachRow", "JSONCompactEachRow",
           "Values", "Vertical", "PrettyCompactMonoBlock", "Markdown", "Null", "RowBinary",
           "JSONStringsEachRow", "TSKV"]

FORMATTED = [
    "SELECT id, photo_id, score FROM photos ORDER BY id LIMIT 3 FORMAT {f}",
    "SELECT 'a\\tb' AS s, [1, 2] AS a, (1, 'x') AS t FORMAT {f}",
]

OTHERS = [
    "SELECT 1 FORMAT JSON SETTINGS output_format_write_statistics = 0",
    "SELECT 1 SETTINGS output_format_write_statistics = 0 FORMAT JSON",
    "SHOW TABLES FORMAT JSONEachRow",
    "EXPLAIN SELECT 1 FORMAT TSV",
    "DESCRIBE TABLE photos FORMAT CSV",
    "SELECT id FROM photos ORDER BY id LIMIT 2 INTO OUTFILE '{dir}/ids.tsv'",
    "SELECT id, title FROM photos ORDER BY id LIMIT 2 INTO OUTFILE '{dir}/ids.csv' FORMAT CSV",
    "SELECT id FROM photos ORDER BY id LIMIT 3 INTO OUTFILE '{dir}/ids.tsv' TRUNCATE",
    "SELECT id FROM photos ORDER BY id LIMIT 1 INTO OUTFILE '{dir}/ids.tsv'",  # exists: refused
    "EXPLAIN indexes = 1 SELECT id FROM photos WHERE id = 2",
    "EXPLAIN PLAN actions = 1 SELECT id FROM photos WHERE id > 10",
    "EXPLAIN PIPELINE SELECT count() FROM photos",
    "EXPLAIN ESTIMATE SELECT * FROM photos WHERE id < 5",
    "EXPLAIN QUERY TREE SELECT id FROM photos",
    "EXPLAIN AST INSERT INTO people SELECT 9, 'x', 'y'",
    "EXPLAIN SYNTAX SELECT * FROM people JOIN likes USING (pid)",
    "DESCRIBE photos",
    "DESC TABLE people",
    "DESCRIBE (SELECT id, score * 2 AS s FROM photos)",
    "DESCRIBE numbers(3)",
    "SHOW TABLES",
    "SHOW TABLES LIKE 'p%'",
    "SHOW CREATE TABLE people",
    "SHOW COLUMNS FROM photos",
    "SHOW DATABASES",
    "SHOW SETTINGS LIKE 'max_block_size'",
    "SHOW CREATE DATABASE default",
    "EXISTS TABLE photos",
    "EXISTS nothing_here",
    "CHECK TABLE people",
    "SET max_block_size = 4096",
    "SELECT getSetting('max_block_size')",
    "USE default",
    "SYSTEM FLUSH LOGS",
    # statements ClickHouse refuses (same code and name on both sides; positions in the text written)
    "SELECT id FROM photos ORDR BY id",
    "SELEC 1",
    "SELECT nothing FROM photos",
    "SELECT no_such_function(1)",
    "SELECT id FROM no_such_table",
    "SELECT 1 + 'a'",
    "SELECT id FROM photos WHERE",
    "SELECT (1, 2",
    "SELECT 1 #bad",
    "SELECT 1 FORMAT NoSuchFormat",
    "SELECT id FROM photos LIMIT -1",
    "INSERT INTO photos (id) VALUES ('not a number')",
    "CREATE TABLE photos (id UInt8) ENGINE = Memory",
    "DROP TABLE no_such_table",
    "EXPLAIN SELECT nothing",
    "SELECT 1\nFROM photos\nWHERE id =\nORDER BY id",
    # DDL, mutations, views (state changes: after the queries above)
    "CREATE TABLE photo_titles ENGINE = MergeTree ORDER BY id AS SELECT id, title FROM photos WHERE id < 5",
    "SELECT * FROM photo_titles ORDER BY id",
    "CREATE VIEW fr AS SELECT id, title FROM photos WHERE country = 'FR'",
    "SELECT * FROM fr ORDER BY id",
    "CREATE TABLE counts (country String, n UInt64) ENGINE = SummingMergeTree ORDER BY country",
    "CREATE MATERIALIZED VIEW counts_mv TO counts AS SELECT country, count() AS n FROM photos GROUP BY country",
    "INSERT INTO photos (id, photo_id, title, country, v) VALUES (40, 'p40', 'via the view', 'FR', [0, 0, 0, 1])",
    "SELECT country, sum(n) FROM counts GROUP BY country ORDER BY country",
    "CREATE TEMPORARY TABLE tmp (a UInt8)",
    "INSERT INTO tmp VALUES (1), (2)",
    "SELECT sum(a) FROM tmp",
    "ALTER TABLE people ADD COLUMN age UInt8 DEFAULT 30",
    "ALTER TABLE people UPDATE age = 40 WHERE pid = 2 SETTINGS mutations_sync = 1",
    "ALTER TABLE people DELETE WHERE pid = 4 SETTINGS mutations_sync = 1",
    "SELECT pid, name, age FROM people ORDER BY pid",
    "ALTER TABLE people DROP COLUMN age",
    "ALTER TABLE people COMMENT COLUMN name 'the name, as given'",
    "DELETE FROM likes WHERE pid = 3",
    "SELECT count() FROM likes",
    "WITH 7 AS n INSERT INTO likes SELECT n, 7, toDateTime('2024-02-01 00:00:00', 'UTC')",
    "INSERT INTO likes SETTINGS async_insert = 0 VALUES (8, 8, '2024-02-02 00:00:00')",
    "SELECT pid, id FROM likes ORDER BY pid, id",
    "RENAME TABLE photo_titles TO photo_titles2",
    "EXISTS photo_titles2",
    "TRUNCATE TABLE photo_titles2",
    "SELECT count() FROM photo_titles2",
    "CREATE FUNCTION twice AS (x) -> x * 2",
    "SELECT twice(21)",
    "DROP FUNCTION twice",
    "DROP VIEW fr",
    "DROP TABLE counts_mv",
    "DROP TABLE IF EXISTS photo_titles2",
    "DROP TABLE IF EXISTS photo_titles2",
    "SHOW TABLES",
]


def _corpus() -> list[tuple[str, dict]]:
    out: list[tuple[str, dict]] = [(s, {}) for s in SETUP]
    for q in QUERIES:
        out.append((q, {}))
    for q in QUERIES:
        if "FORMAT" in q:
            continue
        out.append((f"EXPLAIN SYNTAX {q}", {}))
        out.append((f"EXPLAIN AST {q}", {}))
        out.append((f"EXPLAIN {q}", {}))
    out += [(q, dict(p)) for q, p in PARAMETERIZED]
    for template in FORMATTED:
        for f in FORMATS:
            out.append((template.replace("{f}", f), {}))
    out += [(s, {}) for s in OTHERS]
    return out


CORPUS = _corpus()
