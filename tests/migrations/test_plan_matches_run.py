"""`migrate plan` shows exactly what `up` / `down` then run with the same options: a failed
migration from the statement `up` resumes at, `--down` only what `down` reverts (the latest
migration without --to). Through tui.cli.main on the embedded engine; what ran is recorded at
the runner's database access (migrations.runner.Db.execute, which still runs it)."""
import re

import pytest

from migrations.runner import Db
from tui.cli import main

from tests.migrations.migration_support import write


@pytest.fixture(autouse=True)
def _wide(monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")


@pytest.fixture
def executed(monkeypatch):
    """The migration statements the runner sends, in order (state-table writes are not among them)."""
    seen: list[str] = []
    real = Db.execute

    def spy(self, sql):
        seen.append(sql.strip().rstrip(";").strip())
        return real(self, sql)

    monkeypatch.setattr(Db, "execute", spy)
    return seen


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def planned(out: str) -> dict[str, list[str]]:
    """The statements of a plan per migration label ('0100_t1': [sql, ...]), the state and lock
    tables' DDL left out."""
    per: dict[str, list[str]] = {}
    current = None
    buf: list[str] = []
    for line in out.splitlines():
        m = re.match(r"^-- (\d{4}_\w+) \((up|down)\): ", line)
        if m:
            current = per.setdefault(m.group(1), [])
            continue
        if current is None or line.startswith("-- ") or not line.strip():
            continue
        buf.append(line)
        if line.endswith(";"):
            current.append("\n".join(buf).rstrip(";").strip())
            buf = []
    return per


def flat(per: dict[str, list[str]]) -> list[str]:
    return [s for stmts in per.values() for s in stmts]


def test_plan_after_a_failure_shows_the_resume_and_up_runs_exactly_that(capsys, dsn, mdir, executed):
    f = write(mdir, "0100_t1.sql",
              "CREATE TABLE t1 (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
              "INSERT INTO t1 VALUES (1);\n"
              "ALTER TABLE t1 ADD COLUMN b Strin;\n"
              "ALTER TABLE t1 ADD COLUMN c String;",
              "DROP TABLE IF EXISTS t1;")
    opts = ["--dsn", dsn, "--dir", str(mdir), "--no-builtin"]
    code, out, err = run(capsys, "migrate", "up", *opts)
    assert code == 1 and "statement 3 of 4" in err
    assert len(executed) == 3          # 1, 2, and the broken 3
    code, out, err = run(capsys, "migrate", "plan", *opts)
    assert code == 0, err
    assert "-- resuming at statement 3 of 4: statements 1-2 ran before" in out
    plan = planned(out)
    assert plan == {"0100_t1": ["ALTER TABLE t1 ADD COLUMN b Strin", "ALTER TABLE t1 ADD COLUMN c String"]}
    assert "CREATE TABLE t1" not in out and "INSERT INTO t1" not in out
    # fixed: up runs exactly the planned statements (the fixed one as the file now says)
    f.write_text(f.read_text().replace("Strin;", "String;"))
    code, out, err = run(capsys, "migrate", "plan", *opts)
    plan = flat(planned(out))
    executed.clear()
    code, _, err = run(capsys, "migrate", "up", *opts)
    assert code == 0 and "resuming 0100_t1 at statement 3 of 4" in err
    assert executed == plan == ["ALTER TABLE t1 ADD COLUMN b String", "ALTER TABLE t1 ADD COLUMN c String"]
    code, out, err = run(capsys, "migrate", "plan", *opts)
    assert code == 0 and planned(out) == {} and "-- nothing to do" in out


def test_plan_down_is_what_down_reverts_with_the_same_to(capsys, dsn, mdir, executed):
    write(mdir, "0100_tags.sql", "ALTER TABLE photos ADD COLUMN tags Array(String);",
          "ALTER TABLE photos DROP COLUMN tags;")
    write(mdir, "0101_more.sql", "ALTER TABLE photos ADD COLUMN more String;",
          "ALTER TABLE photos DROP COLUMN IF EXISTS more;\nSELECT 1;")
    opts = ["--dsn", dsn, "--dir", str(mdir)]
    assert run(capsys, "migrate", "up", *opts)[0] == 0
    for to in ([], ["--to", "100"], ["--to", "2"], ["--to", "0"]):
        code, out, err = run(capsys, "migrate", "plan", "--down", *to, *opts)
        assert code == 0, err
        plan = planned(out)
        executed.clear()
        code, _, err = run(capsys, "migrate", "down", "--yes", *to, *opts)
        assert code == 0, err
        assert plan and executed == flat(plan), (to, plan, executed)
        reverted = re.findall(r"reverted (\d{4}_\w+) in", err)
        assert reverted == list(plan), (to, reverted, list(plan))
        if not to:
            assert list(plan) == ["0101_more"]   # no --to: the latest one only, as `down` does
        assert run(capsys, "migrate", "up", *opts)[0] == 0
    code, out, err = run(capsys, "migrate", "plan", "--down", "--to", "0", *opts)
    assert list(planned(out)) == ["0101_more", "0100_tags", "0003_photos_text_index",
                                  "0002_photo_embed_index", "0001_photos_table"]


def test_plan_down_resumes_a_half_done_revert_as_down_does(capsys, dsn, mdir, executed):
    f = write(mdir, "0100_two.sql",
              "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
              "CREATE TABLE b (x UInt8) ENGINE = MergeTree ORDER BY x;",
              "DROP TABLE IF EXISTS b;\nSELECT * FROM nope;\nDROP TABLE IF EXISTS a;")
    opts = ["--dsn", dsn, "--dir", str(mdir), "--no-builtin"]
    assert run(capsys, "migrate", "up", *opts)[0] == 0
    code, out, err = run(capsys, "migrate", "down", "--yes", *opts)
    assert code == 1 and "statement 2 of 3" in err
    f.write_text(f.read_text().replace("SELECT * FROM nope;", "SELECT 1;"))
    code, out, err = run(capsys, "migrate", "plan", "--down", *opts)
    assert "-- resuming the revert at statement 2 of 3: statement 1 ran before" in out
    plan = flat(planned(out))
    assert plan == ["SELECT 1", "DROP TABLE IF EXISTS a"]
    executed.clear()
    assert run(capsys, "migrate", "down", "--yes", *opts)[0] == 0
    assert executed == plan


def test_plan_help_says_it_shows_what_up_and_down_run(capsys):
    with pytest.raises(SystemExit):
        main(["migrate", "plan", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "exactly what `migrate up` would run with the same options" in out
    assert "what `migrate down` would revert with the same --to" in out
