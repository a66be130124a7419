"""Fuzzing the EMBED rewrite and the dialect bridge with generated statements (properties P1-P6 in
hardening_fuzzcheck.py). `make test` runs 1,500 statements; `make fuzz` runs
EMBEDSQL_FUZZ_EXAMPLES (100,000) of them. A failure prints the seed and the statement:
`hardening_sqlgen.generate(seed).render()` gives it back."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlext.text.ddl import IndexInfo, StaticCatalog
from sqlext.text.dialects import translate
from sqlext.text.rewrite import find_embeds

from tests.hardening.hardening_fuzzcheck import check_case, run
from tests.hardening.hardening_sqlgen import generate


def test_fuzz_short_sweep():
    s = run(1500, start=0)
    assert s.statements == 1500
    assert s.counts.get("embeds", 0) > 500 and s.counts.get("translated_clickhouse", 0) > 300
    assert s.counts.get("with_junk", 0) > 50 and s.counts.get("rewrite_error", 0) > 20
    assert not s.failures, s.report()


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**63), junk=st.sampled_from([0.0, 0.0, 0.1, 0.3]))
def test_fuzz_hypothesis_seeds(seed, junk):
    case = generate(seed, junk_p=junk)
    fails, _ = check_case(case)
    assert not fails, (seed, case.render(), fails)


@pytest.mark.slow
def test_fuzz_long_run():
    n = int(os.environ.get("EMBEDSQL_FUZZ_EXAMPLES", "100000"))
    s = run(n, start=10_000_000)
    print(f"\nfuzz: {s.statements} statements in {s.seconds:.1f} s; {s.counts}")
    assert s.statements == n
    assert not s.failures, s.report()


# ---------------------------------------------------------------- regressions found by the fuzzer

CAT = StaticCatalog(indexes={("photos", "v"): IndexInfo("vi", "MSTG", "Cosine", 512)}, dims={("photos", "v"): 512})


@pytest.mark.parametrize("sql", [
    "SELECT 1 // embed(col)\nFROM t",              # ClickHouse's // line comment
    "SELECT 1 // it's not embed('x')\nFROM t",      # a quote in a // comment
    "SELECT 1 /* outer /* embed(col) */ still a comment embed(x) */",  # nested block comment
])
def test_embed_in_clickhouse_only_comments_is_not_a_call(sql):
    assert find_embeds(sql) == []


def test_dollar_names_do_not_break_embed():
    sql = "SELECT x$y, EMBED('cat') FROM t WHERE x$y = 1"
    [call] = find_embeds(sql)
    assert call.text == "EMBED('cat')" and sql[call.start:call.end] == call.text


def test_dollar_names_do_not_stop_translation():
    sql = "SELECT id, distance(v, [0.1, 0.2]) AS d FROM photos WHERE x$y = 1 ORDER BY d LIMIT 3"
    tr = translate(sql, target="clickhouse", catalog=CAT)
    assert tr.sql == [sql.replace("distance(", "cosineDistance(")]


def test_constructs_in_comments_are_not_translated():
    sql = "SELECT 1 // distance(v, [1.0]) and it's\n"
    assert translate(sql, target="clickhouse", catalog=CAT).sql == [sql]


def test_leading_byte_order_mark_does_not_hide_the_statement():
    sql = "\ufeffALTER TABLE photos ADD VECTOR INDEX vi v TYPE MSTG('metric_type=Cosine')"
    tr = translate(sql, target="clickhouse", catalog=CAT)
    assert tr.changed and "vector_similarity('hnsw', 'cosineDistance', 512)" in tr.sql[0]
    assert tr.sql[0].startswith("\ufeffALTER TABLE photos ADD INDEX vi v TYPE")
