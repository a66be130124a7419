"""Several hundred ClickHouse statements of every kind (tests/sqlext/corpus.py), each run on chdb
directly and through embedsql: the same output and the same errors.

- chdb directly: one process with its own data directory runs the corpus in order
  (`chdb_oracle.run_on_chdb`, TabSeparatedWithNamesAndTypes unless a statement says its FORMAT).
- embedsql: one Session on another data directory runs the same corpus in order. A statement
  that returns rows is run with `Session.raw_query(..., fmt="TabSeparatedWithNamesAndTypes")`
  (the bytes must equal chdb's) and with `Session.execute` (the columns, types and number of rows
  must equal chdb's header and lines); one with its own FORMAT with `raw_query` (bytes equal);
  INTO OUTFILE writes the same file; a statement without rows succeeds with no columns. A
  statement chdb refuses must be refused with the same error code and name, and a syntax error's
  position must be the same place in the text, given as line and column.
"""
from __future__ import annotations

import re

import pytest

import sqlext
from chdb_oracle import run_on_chdb
from corpus import CORPUS
from sqlext.errors import EmbedSQLError
from sqlext.text.kinds import statement_kind
from sqlext.text.tokens import tokenize

FMT = "TabSeparatedWithNamesAndTypes"
_CODE = re.compile(r"Code: (\d+)")
_NAME = re.compile(r"\(([A-Z_]+)\)\s*(?:\(version [^)]*\))?\s*$")
_POSITION = re.compile(r"failed at position (\d+)")


def _sql(sql: str, d) -> str:
    return sql.replace("{dir}", str(d))


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    base = tmp_path_factory.mktemp("corpus")
    oracle_dir, ours_dir = base / "files-chdb", base / "files-embedsql"
    oracle_dir.mkdir()
    ours_dir.mkdir()
    oracle = run_on_chdb([{"sql": _sql(q, oracle_dir), "params": {k: str(v) for k, v in p.items()}}
                          for q, p in CORPUS], base / "chdb", fmt=FMT)
    s = sqlext.connect(dsn=f"chdb://{base}/embedsql", dialect="clickhouse")
    ours = []
    try:
        with s.unit_of_work():
            for (q, params), o in zip(CORPUS, oracle):
                ours.append(_run(s, _sql(q, ours_dir), params, o))
    finally:
        s.close()
    return oracle, ours, oracle_dir, ours_dir


def _run(s, sql, params, oracle) -> dict:
    """What embedsql does with one statement (see the module doc)."""
    kind = statement_kind(tokenize(sql))
    try:
        if kind.raw_output:
            return {"ok": True, "raw": s.raw_query(sql, params=params or None)}
        if oracle["ok"] and oracle["out"]:
            raw = s.raw_query(sql, fmt=FMT, params=params or None)
            r = s.execute(sql, params=params or None)
            return {"ok": True, "raw": raw, "result": r}
        r = s.execute(sql, params=params or None)
        return {"ok": True, "result": r}
    except EmbedSQLError as exc:
        return {"ok": False, "err": exc}


def _header(out: bytes, sql: str):
    """Names, types and number of rows of a TabSeparatedWithNamesAndTypes answer (without the
    totals of WITH TOTALS, which the Result path does not read: see README)."""
    lines = out.decode("utf-8").split("\n")[:-1]
    unescape = lambda f: re.sub(r"\\(.)", lambda m: {"t": "\t", "n": "\n"}.get(m.group(1), m.group(1)), f)  # noqa: E731
    data = lines[2:]
    if "WITH TOTALS" in sql and statement_kind(tokenize(sql)).name == "select" and "" in data:  # totals follow a blank line
        data = data[:data.index("")]
    return [unescape(x) for x in lines[0].split("\t")], lines[1].split("\t"), len(data)


def test_the_corpus_is_large_and_covers_every_kind():
    kinds = {statement_kind(tokenize(q)).name for q, _ in CORPUS}
    assert len(CORPUS) >= 300
    assert {"select", "explain", "describe", "show", "exists", "check", "insert", "create", "alter",
            "drop", "rename", "truncate", "set", "use", "system", "optimize", "delete"} <= kinds
    text = "\n".join(q for q, _ in CORPUS)
    for needle in ("SETTINGS", "FORMAT", "EXPLAIN", "->", "{x:String}", "$$", "OVER (", "LEFT JOIN",
                   "ANTI JOIN", "ARRAY JOIN", "WITH TOTALS", "LIMIT 2 BY", "INTO OUTFILE", "FROM photos SELECT",
                   "UNION ALL", "EXCEPT", "INTERSECT", "//", "/* a /* nested */", "# a hash", "x$y"):
        assert needle in text, needle


def test_same_output_and_errors_as_chdb(outcome):
    oracle, ours, oracle_dir, ours_dir = outcome
    problems = []
    for (q, params), o, e in zip(CORPUS, oracle, ours):
        where = f"{q[:100]!r}"
        if not o["ok"]:
            if e["ok"]:
                problems.append(f"{where}: chdb refused it ({o['err'][:120]}), embedsql ran it")
                continue
            msg = e["err"].message
            if _CODE.search(o["err"]).group(1) != (_CODE.search(msg).group(1) if _CODE.search(msg) else None):
                problems.append(f"{where}: chdb says {o['err'][:150]!r}, embedsql {msg[:150]!r}")
            name = _NAME.search(o["err"].strip())
            if name and f"({name.group(1)})" not in msg:
                problems.append(f"{where}: error name {name.group(1)} missing from {msg[:150]!r}")
            pos = _POSITION.search(o["err"])
            if pos:
                offset = int(pos.group(1)) - 1  # ASCII statements: bytes are characters
                line = q.count("\n", 0, offset) + 1
                col = offset - q.rfind("\n", 0, offset)
                if (getattr(e["err"], "line", None), getattr(e["err"], "col", None)) != (line, col):
                    problems.append(f"{where}: chdb fails at line {line}, column {col}; embedsql says {msg[:160]!r}")
            continue
        if not e["ok"]:
            problems.append(f"{where}: chdb ran it, embedsql refused it: {e['err'].message[:200]}")
            continue
        expected = o["out"]
        if not statement_kind(tokenize(q)).format_appendable:
            # EXPLAIN AST is answered in TabSeparated: nothing may be appended to it
            expected = b"".join(expected.splitlines(keepends=True)[2:])
        if "raw" in e and e["raw"] != expected:
            problems.append(f"{where}: bytes differ:\n  chdb     {o['out'][:200]!r}\n  embedsql {e['raw'][:200]!r}")
        r = e.get("result")
        if r is None:
            continue
        if o["out"]:
            names, types, n = _header(o["out"], q)
            if (r.columns, r.types, len(r.rows)) != (names, types, n):
                problems.append(f"{where}: result {r.columns} {r.types} {len(r.rows)} rows, "
                                f"chdb {names} {types} {n} rows")
        elif r.columns or r.raw is not None:
            problems.append(f"{where}: chdb returns nothing, embedsql columns {r.columns} raw {r.raw!r}")
    for f in sorted(p.name for p in oracle_dir.iterdir()):
        if (oracle_dir / f).read_bytes() != (ours_dir / f).read_bytes():
            problems.append(f"INTO OUTFILE {f}: the files differ")
    assert sorted(p.name for p in oracle_dir.iterdir()) == sorted(p.name for p in ours_dir.iterdir())
    assert not problems, f"{len(problems)} of {len(CORPUS)} statements differ:\n" + "\n".join(problems)


def test_most_of_the_corpus_runs(outcome):
    oracle, *_ = outcome
    ok = sum(1 for o in oracle if o["ok"])
    assert ok >= 0.9 * len(CORPUS) - 25, [(q, o["err"][:100]) for (q, _), o in zip(CORPUS, oracle) if not o["ok"]]
