"""The runner on the real embedded engine (chdb): apply, status, checksums, failure + resume,
down, index builds, and the database lock."""
import threading
import time

import numpy as np
import pytest

from migrations import LockTimeout, MigrationError, MigrationLock, Runner, load
from migrations.runner import IndexBuildError
from migrations.state import LOCK_TABLE, STATE_TABLE
from sqlext.errors import UsageError

from tests.migrations.migration_support import write


def runner(session, dirs=(), builtin=True, **kw):
    events = []
    kw.setdefault("lock_timeout", 10)
    r = Runner(session, load(list(dirs), builtin=builtin), on_event=lambda k, t: events.append((k, t)), **kw)
    r.events = events
    return r


def states(r):
    return {s.label: s.state for s in r.status()}


def test_builtin_up_creates_table_index_and_model_comment(session):
    r = runner(session)
    rep = r.up()
    assert rep.applied == ["0001_photos_table", "0002_photo_embed_index", "0003_photos_text_index"]
    assert states(r) == {"0001_photos_table": "applied", "0002_photo_embed_index": "applied",
                         "0003_photos_text_index": "applied"}
    cols = dict(session.query("SELECT name, type FROM system.columns WHERE table = 'photos'").rows)
    assert cols["photo_embed"] == "Array(Float32)" and cols["keywords"] == "Array(String)"
    assert session.catalog.column_model("photos", "photo_embed") == "openai/clip-vit-base-patch32"
    assert session.catalog.column_dim("photos", "photo_embed") == 512
    idx = session.catalog.vector_index("photos", "photo_embed")
    assert (idx.name, idx.metric, idx.dim) == ("photo_embed_index", "Cosine", 512)
    # MyScale's status query, through the session's bridge
    st = session.query("SELECT name, status FROM system.vector_indices WHERE table = 'photos'").rows
    assert st == [("photo_embed_index", "Built")]
    assert ("done", "vector index photo_embed_index on photos: Built") in r.events
    # a second run applies nothing and writes no duplicate state
    assert runner(session).up().applied == []
    rows = session.query(f"SELECT version, count() FROM {STATE_TABLE} WHERE status = 'applied' GROUP BY version "
                         f"ORDER BY version").rows
    assert rows == [(1, 1), (2, 1), (3, 1)]



def test_a_photos_table_made_by_hand_is_not_taken_for_the_builtin_one(session):
    """The tutorial's own CREATE TABLE photos, then `migrate up`: 0001 (`CREATE TABLE IF NOT
    EXISTS`) did nothing but was recorded as applied, 0003 failed on a column the table lacks,
    and `down` would have dropped the user's table with its rows. Now nothing is applied, and the
    error names the table and the ways on."""
    session.command("CREATE TABLE photos (id UInt64, photo_id String, photo_embed Array(Float32), "
                    "CONSTRAINT l CHECK length(photo_embed) = 512) ENGINE = MergeTree ORDER BY id")
    session.command("INSERT INTO photos (id, photo_id, photo_embed) VALUES (1, 'mine', arrayWithConstant(512, 0.5))")
    r = runner(session)
    with pytest.raises(UsageError) as ei:
        r.up()
    msg = str(ei.value)
    assert msg.startswith("table photos already exists in database 'default', and no migration created it: "
                          "0001_photos_table would leave it as it is (columns: id, photo_id, photo_embed)"), msg
    assert "RENAME TABLE photos TO photos_mine" in ei.value.hint and "--no-builtin" in ei.value.hint
    assert set(states(r).values()) == {"pending"}
    assert session.query("SELECT photo_id FROM photos").rows == [("mine",)]
    # renamed out of the way, the built-in table is made as usual
    session.command("RENAME TABLE photos TO photos_mine")
    session.catalog.invalidate()
    assert runner(session).up().applied == ["0001_photos_table", "0002_photo_embed_index", "0003_photos_text_index"]
    # once applied, a rerun or a resume does not ask again (the table is the migration's own)
    assert runner(session).up().applied == []


def _vector_codec(session) -> str:
    return session.query("SELECT compression_codec FROM system.columns WHERE database = currentDatabase() "
                         "AND table = 'photos' AND name = 'photo_embed'").rows[0][0]


def test_builtin_table_has_small_granules_and_stores_vectors_uncompressed(session):
    """The built-in table reads 32-row granules: a selective filter or an index top-k reads the
    columns of 32 neighbours per row found, not of ~5,000 (ClickHouse's default of 8,192 rows,
    cut by index_granularity_bytes for 2 KiB vectors). Its vectors are stored with CODEC(NONE):
    nothing to decompress when a scan reads them."""
    runner(session).up(to=1)
    assert session.catalog.table_setting("photos", "index_granularity") == "32"
    assert _vector_codec(session) == "CODEC(NONE)"
    rows = 200
    vecs = np.random.default_rng(1).standard_normal((rows, 512)).astype(np.float32)
    session.insert("photos", [[i, f"p{i}", v.tolist()] for i, v in enumerate(vecs)], ["id", "photo_id", "photo_embed"])
    marks = session.query("SELECT sum(marks) FROM system.parts WHERE table = 'photos' AND active").rows[0][0]
    assert marks >= rows // 32
    stored, raw = session.query("SELECT sum(data_compressed_bytes), sum(data_uncompressed_bytes) FROM system.parts "
                                "WHERE database = currentDatabase() AND table = 'photos' AND active").rows[0]
    assert raw >= rows * 512 * 4 and stored > 0.99 * raw  # (the vectors are most of it; LZ4 made 0.92)


def test_table_made_by_the_earlier_builtin_revision_counts_as_unchanged(session):
    """A database migrated before 0001 gained its SETTINGS line and codec (builtin/earlier/) is
    not told its migration changed, and its table keeps the granularity and codec it was made
    with."""
    from migrations.files import BUILTIN_DIR, fill_template, load_builtin, parse

    current = load_builtin()
    first = current[0]
    old = parse(fill_template((BUILTIN_DIR / "earlier" / first.path.name).read_text(), first.model), first.path)
    old.model = first.model
    assert old.checksum != first.checksum and first.earlier == [old.checksum]
    Runner(session, [old], lock_timeout=10).up()
    assert session.catalog.table_setting("photos", "index_granularity") in (None, "8192")
    assert _vector_codec(session) == ""  # (the server's default, LZ4)
    st = {s.label: s for s in runner(session).status()}
    assert st["0001_photos_table"].state == "applied" and not st["0001_photos_table"].changed
    assert runner(session).up().applied == ["0002_photo_embed_index", "0003_photos_text_index"]
    # any other text still counts as changed
    session.command(f"ALTER TABLE {STATE_TABLE} UPDATE checksum = 'edited' WHERE version = 1 "
                    "SETTINGS mutations_sync = 1")
    assert {s.label: s.changed for s in runner(session).status()}["0001_photos_table"] is True

def test_index_wait_after_rows_exist(session):
    r = runner(session)
    r.up(to=1)
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((300, 512)).astype(np.float32)
    session.insert("photos", [[i, f"p{i}", v.tolist()] for i, v in enumerate(vecs)], ["id", "photo_id", "photo_embed"])
    session.insert("photos", [[1000 + i, f"q{i}", v.tolist()] for i, v in enumerate(vecs[:50])],
                   ["id", "photo_id", "photo_embed"])
    r = runner(session)
    r.up()
    assert states(r)["0002_photo_embed_index"] == "applied"
    assert session.query("SELECT count() FROM system.mutations WHERE table = 'photos' AND NOT is_done").rows == [(0,)]
    assert session.query("SELECT status FROM system.vector_indices WHERE table = 'photos'").rows == [("Built",)]


def test_failed_index_build_is_reported_with_reason_then_resumes(session, mdir):
    write(mdir, "0001_t.sql", "CREATE TABLE t (id UInt64, v Array(Float32)) ENGINE = MergeTree ORDER BY id;\n"
                              "INSERT INTO t VALUES (1, [1.0, 2.0, 3.0]), (2, [1.0, 2.0]);", "DROP TABLE IF EXISTS t;")
    write(mdir, "0002_i.sql", "ALTER TABLE t ADD INDEX vi v TYPE vector_similarity('hnsw', 'cosineDistance', 3);\n"
                              "ALTER TABLE t MATERIALIZE INDEX vi;", "ALTER TABLE t DROP INDEX vi;")
    r = runner(session, [mdir], builtin=False)
    with pytest.raises((MigrationError, IndexBuildError)) as ei:
        r.up()
    assert "equal length" in str(ei.value)
    st = {s.label: s for s in r.status()}["0002_i"]
    assert "equal length" in st.note
    if st.state == "failed":  # chdb runs the mutation synchronously: MATERIALIZE itself failed
        assert st.row.statements_done == 1
    else:                     # a server builds in the background: the wait reports it
        assert st.state == "applied"
    session.command("KILL MUTATION WHERE table = 't' SYNC")
    session.command("ALTER TABLE t DELETE WHERE length(v) != 3 SETTINGS mutations_sync = 1")
    r = runner(session, [mdir], builtin=False)
    r.up()
    assert states(r)["0002_i"] == "applied"
    assert session.query("SELECT status FROM system.vector_indices WHERE table = 't'").rows == [("Built",)]


def test_edited_applied_file_shows_changed_and_up_refuses(session, mdir):
    p = write(mdir, "0001_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;", "DROP TABLE a;")
    runner(session, [mdir], builtin=False).up()
    p.write_text(p.read_text().replace("x UInt8", "x UInt16"))
    write(mdir, "0002_b.sql", "CREATE TABLE b (x UInt8) ENGINE = MergeTree ORDER BY x;", "DROP TABLE b;")
    r = runner(session, [mdir], builtin=False)
    s = {s.label: s for s in r.status()}
    assert s["0001_a"].state == "applied" and s["0001_a"].changed
    with pytest.raises(UsageError, match="changed since they were applied: 0001_a"):
        r.up()
    assert states(r)["0002_b"] == "pending"
    rep = r.up(allow_changed=True)
    assert rep.accepted == ["0001_a"] and rep.applied == ["0002_b"]
    s = {s.label: s for s in r.status()}
    # the edit is accepted and its checksum recorded: later runs see the file unchanged
    assert s["0002_b"].state == "applied" and s["0001_a"].state == "applied" and not s["0001_a"].changed
    assert r.up().applied == []
    assert session.query("SELECT type FROM system.columns WHERE table = 'a'").rows == [("UInt8",)]


def test_failure_at_statement_k_is_recorded_and_resumes_there(session, mdir):
    p = write(mdir, "0001_three.sql",
              "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;\n"
              "INSERT INTO missing_table VALUES (1);\n"
              "CREATE TABLE b (x UInt8) ENGINE = MergeTree ORDER BY x;",
              "DROP TABLE IF EXISTS b;\nDROP TABLE IF EXISTS a;")
    r = runner(session, [mdir], builtin=False)
    with pytest.raises(MigrationError) as ei:
        r.up()
    msg = str(ei.value)
    assert "statement 2 of 3" in msg and "0001_three.sql:4" in msg and "missing_table" in msg
    s = r.status()[0]
    assert (s.state, s.row.statements_done, s.row.statements_total) == ("failed", 1, 3)
    assert "stopped at statement 2 of 3" in s.note
    # fix the cause (edit the failing statement: allowed, statement 1 is unchanged) and resume:
    p.write_text(p.read_text().replace("INSERT INTO missing_table VALUES (1)", "INSERT INTO a VALUES (1)"))
    r = runner(session, [mdir], builtin=False)
    r.up()
    assert states(r) == {"0001_three": "applied"}
    assert ("info", "resuming 0001_three at statement 2 of 3") in r.events
    # statement 1 (CREATE TABLE a, no IF NOT EXISTS) did not run again, statement 2 ran once
    assert session.query("SELECT count() FROM a").rows == [(1,)]


def test_editing_statements_that_already_ran_blocks_resume(session, mdir):
    p = write(mdir, "0001_x.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;\nSELECT * FROM nope;")
    with pytest.raises(MigrationError):
        runner(session, [mdir], builtin=False).up()
    p.write_text(p.read_text().replace("x UInt8", "x UInt32").replace("nope", "a"))
    r = runner(session, [mdir], builtin=False)
    assert r.status()[0].changed
    with pytest.raises(UsageError, match="changed"):
        r.up()


def test_down_one_step_all_and_failed_best_effort(session, mdir):
    write(mdir, "0001_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;", "DROP TABLE a;")
    write(mdir, "0002_b.sql", "CREATE TABLE b (x UInt8) ENGINE = MergeTree ORDER BY x;", "DROP TABLE b;")
    write(mdir, "0003_c.sql", "CREATE TABLE c (x UInt8) ENGINE = MergeTree ORDER BY x;\nSELECT * FROM nope;",
          "DROP TABLE c;\nDROP TABLE c_never_created;")
    r = runner(session, [mdir], builtin=False)
    with pytest.raises(MigrationError):
        r.up()
    assert states(r) == {"0001_a": "applied", "0002_b": "applied", "0003_c": "failed"}
    rep = r.down()          # the latest: the failed one, best effort (its 2nd down statement fails)
    assert rep.reverted == ["0003_c"] and any("c_never_created" in w for w in rep.warnings)
    assert states(r)["0003_c"] == "pending"
    r.down(to=0)
    assert set(states(r).values()) == {"pending"}
    tables = {t for (t,) in session.query("SELECT name FROM system.tables WHERE database = currentDatabase()").rows}
    assert not tables & {"a", "b", "c"}
    r.up(to=2)
    assert states(r) == {"0001_a": "applied", "0002_b": "applied", "0003_c": "pending"}


def test_down_failure_of_applied_migration_is_recorded_and_blocks_up(session, mdir):
    p = write(mdir, "0001_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;",
              "DROP TABLE nope;\nDROP TABLE a;")
    r = runner(session, [mdir], builtin=False)
    r.up()
    with pytest.raises(MigrationError, match=r"\(down\) statement 1 of 2"):
        r.down()
    s = r.status()[0]
    assert s.state == "revert_failed"
    with pytest.raises(UsageError, match="half reverted"):
        r.up()
    session.command("CREATE TABLE nope (x UInt8) ENGINE = Memory")
    r.down()
    assert states(r) == {"0001_a": "pending"}
    assert p.exists()


def test_down_without_down_part_refuses(session, mdir):
    write(mdir, "0001_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;")
    r = runner(session, [mdir], builtin=False)
    r.up()
    with pytest.raises(UsageError, match="no '-- \\+down' part"):
        r.down()


# ---------------------------------------------------------------- the lock

def _fake_claim(session, *, host="elsewhere", pid=4242, ms=60000):
    session.command(
        f"INSERT INTO {LOCK_TABLE} (owner, host, pid, command, acquired_at, expires_at, released, seq) "
        f"SELECT 'fake-owner', '{host}', {pid}, 'embedsql migrate up', now64(6), "
        f"now64(6) + toIntervalMillisecond({ms}), 0, 1")


def test_live_lock_of_another_host_blocks_then_expires(session, mdir):
    write(mdir, "0001_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;")
    r = runner(session, [mdir], builtin=False, lock_timeout=0.5)
    r.up(to=0)   # creates the state and lock tables, applies nothing
    _fake_claim(session, ms=60000)
    with pytest.raises(LockTimeout) as ei:
        r.up()
    assert "pid 4242 on elsewhere" in str(ei.value)
    assert states(r) == {"0001_a": "pending"}
    session.command(f"TRUNCATE TABLE {LOCK_TABLE}")
    _fake_claim(session, ms=1500)    # expires while the runner waits
    r = runner(session, [mdir], builtin=False, lock_timeout=30)
    r.up()
    assert states(r) == {"0001_a": "applied"}
    assert any(k == "wait" and "pid 4242 on elsewhere" in t for k, t in r.events)



def test_stop_ends_a_wait_for_the_migration_lock_at_once(session, mdir):
    """The first Ctrl-C (`Runner.stop`) while another run holds the migration lock ends the wait
    within a poll: MigrationInterrupted naming the holder, nothing run, no claim of ours left."""
    from migrations.runner import MigrationInterrupted

    write(mdir, "0001_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;")
    runner(session, [mdir], builtin=False).up(to=0)
    _fake_claim(session, ms=600000)
    stop = threading.Event()
    r = runner(session, [mdir], builtin=False, lock_timeout=600, stop=stop)
    threading.Timer(1.0, stop.set).start()
    t = time.monotonic()
    with pytest.raises(MigrationInterrupted) as ei:
        r.up()
    assert time.monotonic() - t < 30  # not the 600 s lock timeout
    msg = str(ei.value)
    assert "interrupted while waiting for the migration lock held by pid 4242 on elsewhere" in msg
    assert "nothing was run" in msg and "run the same command again" in msg
    assert ei.value.exit_code == 130
    assert states(r) == {"0001_a": "pending"}
    live = session.query(f"SELECT owner, argMax(released, seq) AS r FROM {LOCK_TABLE} GROUP BY owner "
                         f"HAVING r = 0").rows
    assert [o for o, _ in live] == ["fake-owner"]


def test_a_stop_with_nobody_holding_the_lock_is_not_reported_as_a_lock_wait(session, mdir):
    """Ctrl-C before the run takes a free migration lock: it stops at the first safe point, and
    does not claim it was waiting for another run."""
    from migrations.runner import MigrationInterrupted

    write(mdir, "0001_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;")
    stop = threading.Event()
    stop.set()
    with pytest.raises(MigrationInterrupted) as ei:
        runner(session, [mdir], builtin=False, stop=stop).up()
    assert "no further migration was started" in str(ei.value)
    assert "waiting for the migration lock" not in str(ei.value)
    assert states(runner(session, [mdir], builtin=False)) == {"0001_a": "pending"}

def test_lock_of_dead_process_on_this_host_is_cleared(session, mdir):
    import socket
    import subprocess
    import sys

    write(mdir, "0001_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;")
    r = runner(session, [mdir], builtin=False, lock_timeout=0.5)
    r.up(to=0)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _fake_claim(session, host=socket.gethostname(), pid=dead.pid, ms=600000)
    r.up()
    assert states(r) == {"0001_a": "applied"}


def test_lock_excludes_between_threads(session):
    """Two claimants interleaving query by query (no engine hold): never both inside."""
    runner(session, builtin=False).up()  # creates the tables only (no migrations)
    log, errors = [], []

    def worker(name):
        try:
            for _ in range(2):
                lk = MigrationLock(r_db, timeout_s=30, settle_s=0.05, poll_s=0.05)
                with lk:
                    log.append(("in", name))
                    lk.renew(force=True)
                    log.append(("out", name))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    from migrations.runner import Db
    r_db = Db(session)
    ts = [threading.Thread(target=worker, args=(n,)) for n in ("A", "B", "C")]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors
    assert len(log) == 12
    for i in range(0, len(log), 2):
        assert log[i][0] == "in" and log[i + 1] == ("out", log[i][1]), log


def test_expired_lock_is_not_revived_by_a_late_heartbeat(session):
    from migrations import LockLost
    from migrations.runner import Db

    runner(session, builtin=False).up()  # state and lock tables
    lk = MigrationLock(Db(session), ttl_s=2.5, settle_s=0.01)
    lk.acquire()
    lk.renew(force=True)                 # in time: fine
    time.sleep(2.6)
    with pytest.raises(LockLost, match="expired"):
        lk.renew(force=True)
    assert MigrationLock(Db(session)).live_claims() == []


def test_data_losses_of_the_builtin_down_parts(mdir):
    from migrations.files import load
    from migrations.runner import data_losses

    builtin = {m.label: data_losses(m) for m in load([], builtin=True)}
    assert builtin["0001_photos_table"] == ["drops table photos"]
    assert builtin["0002_photo_embed_index"] == []  # an index is rebuilt from the data
    assert builtin["0003_photos_text_index"] == ["drops column search_text__tokens", "drops column search_text"]
    write(mdir, "0100_x.sql", "SELECT 1;", "/* DROP TABLE not_this; */ TRUNCATE TABLE db.t;\n"
          "DROP DATABASE IF EXISTS d;\nALTER TABLE t DELETE WHERE 1;")
    (mine,) = load([mdir], builtin=False)
    assert data_losses(mine) == ["empties table db.t", "drops database d", "deletes rows of table t"]


def test_data_losses_read_words_not_strings_or_comments(mdir):
    """A string literal or a comment that spells a loss is not one; quoted names are kept as
    written; an ALTER with several actions lists each column it drops."""
    from migrations.files import load
    from migrations.runner import data_losses

    write(mdir, "0101_y.sql", "SELECT 1;",
          "ALTER TABLE t COMMENT COLUMN c 'DROP COLUMN x; DELETE WHERE 1';\n"
          "INSERT INTO log VALUES ('DROP TABLE photos'); -- DROP TABLE q\n"
          "ALTER TABLE `my db`.t DROP COLUMN IF EXISTS `a b`, DROP COLUMN c, MODIFY COLUMN d String;\n"
          "DROP VIEW v;\nALTER TABLE u UPDATE x = 1 WHERE 1;")
    (mine,) = load([mdir], builtin=False)
    assert data_losses(mine) == ["drops column `a b`", "drops column c"]


def test_model_stamp_is_for_vector_columns_and_keeps_a_comment_of_its_own(session, tmp_path):
    """`model stamp` stamped a String or UInt32 column (exit 0), and replaced a column's own
    comment without a word."""
    from embed.identity import identify
    from migrations.stamp import stamp
    from tests.models_support import build_tiny

    mine = identify(str(build_tiny("clip", tmp_path / "model", seed=0)))
    session.command("CREATE TABLE t (id UInt32, name String, v Array(Float32) COMMENT 'my own note') "
                    "ENGINE = MergeTree ORDER BY id")
    for col, typ in (("name", "String"), ("id", "UInt32")):
        with pytest.raises(UsageError) as ei:
            stamp(session, mine, table="t", column=col)
        assert str(ei.value).startswith(f"t.{col} is {typ}, not a vector column") and ei.value.hint == "name the vector column: t.v"
    with pytest.raises(UsageError, match="has a comment of its own \\('my own note'\\)") as ei:
        stamp(session, mine, table="t", column="v")
    assert "--force" in ei.value.hint
    session.catalog.invalidate()
    assert session.catalog.table_info("t").comments.get("v") == "my own note"
    assert stamp(session, mine, table="t", column="v", force=True)
    assert session.catalog.column_model_record("t", "v").get("model")


def test_model_stamp_rewrites_the_state_under_the_migration_lock(session, tmp_path):
    """`model stamp` of the built-in table rewrites the built-in migrations' state rows: it waits
    for the migration lock like `migrate` does, so a run holding it cannot interleave."""
    from embed.identity import identify
    from migrations.runner import Db
    from migrations.stamp import stamp
    from tests.models_support import build_tiny

    r = runner(session)
    r.up()  # the default model's identity, no rows
    mine = identify(str(build_tiny("clip", tmp_path / "model", seed=0)))
    holder = MigrationLock(Db(session), ttl_s=120, timeout_s=5).acquire()
    try:
        with pytest.raises(LockTimeout):
            stamp(session, mine, lock_timeout=1.0)
    finally:
        holder.release()
    session.catalog.invalidate()
    assert session.catalog.column_model("photos", "photo_embed") == "openai/clip-vit-base-patch32"  # untouched
    events = []
    stamp(session, mine, lock_timeout=10.0, on_event=lambda k, t: events.append((k, t)))
    assert any("recorded as applied" in t for _, t in events), events
    after = Runner(session, load([], builtin=True, model=mine))
    assert {s.label: (s.state, s.changed) for s in after.status()} == {
        "0001_photos_table": ("applied", False), "0002_photo_embed_index": ("applied", False),
        "0003_photos_text_index": ("applied", False)}


def test_accepting_an_edit_keeps_the_time_it_was_applied(session, mdir):
    """--allow-changed records the edited file's checksum; `applied at` stays when it was applied."""
    p = write(mdir, "0001_a.sql", "CREATE TABLE a (x UInt8) ENGINE = MergeTree ORDER BY x;", "DROP TABLE a;")
    r = runner(session, [mdir], builtin=False)
    r.up()
    before = {s.label: s.row for s in r.status()}["0001_a"]
    time.sleep(0.05)
    p.write_text(p.read_text() + "-- edited\n")
    r = runner(session, [mdir], builtin=False)
    assert r.up(allow_changed=True).accepted == ["0001_a"]
    s = {s.label: s for s in r.status()}["0001_a"]
    assert s.state == "applied" and not s.changed and s.row.checksum != before.checksum
    assert s.row.applied_at == before.applied_at and s.row.duration_ms == before.duration_ms


def test_on_a_cluster_the_state_and_lock_tables_are_read_and_written_under_quorum(session):
    """A cluster run reads and writes its state and lock tables with a majority quorum and
    sequential consistency (two runs through different nodes cannot both see the lock free);
    the migrations' own statements go without. What reaches the engine is read back."""
    from migrations.runner import CLUSTER_CONSISTENCY, Runner

    plain, clustered = Runner(session, []).db, Runner(session, [], cluster="prod").db
    assert plain.settings == {} and clustered.settings == CLUSTER_CONSISTENCY
    sql = ("SELECT getSetting('insert_quorum'), getSetting('insert_quorum_parallel'), "
           "getSetting('select_sequential_consistency')")
    assert clustered.query(sql) == [("auto", False, 1)]
    assert plain.query(sql) == [(0, True, 0)]
    assert session.query(sql).rows == [(0, True, 0)]  # not left in the session for other statements


def test_the_cluster_index_wait_counts_only_that_index_builds(session):
    """`cluster_build_sql` reads every node's system.mutations; run here on this node's (the
    cluster function swapped for the table it reads): a failing mutation of another kind on the
    same table neither fails the wait for the index nor counts as its build; the index's own
    MATERIALIZE INDEX does."""
    from migrations.runner import cluster_build_sql

    session.command("CREATE TABLE cb (id UInt64, x UInt8, v Array(Float32)) ENGINE = MergeTree ORDER BY id")
    session.command("INSERT INTO cb SELECT number, 0, [1.0, 2.0] FROM numbers(10)")
    session.command("ALTER TABLE cb UPDATE x = throwIf(id = 3, 'an unrelated failure') WHERE 1 "
                    "SETTINGS mutations_sync = 0")
    session.command("ALTER TABLE cb ADD INDEX vi v TYPE vector_similarity('hnsw', 'L2Distance', 2)")
    sql = cluster_build_sql(False).replace("clusterAllReplicas({cluster:String}, system.mutations)", "system.mutations")
    assert "clusterAllReplicas" not in sql
    params = {"t": "cb", "index": "vi", "cluster": "prod"}
    deadline = time.monotonic() + 30
    while not session.query("SELECT count() FROM system.mutations WHERE table = 'cb' AND latest_fail_reason != ''").rows[0][0]:
        assert time.monotonic() < deadline, "the failing mutation did not fail"
        time.sleep(0.05)
    assert session.query(sql, params=params).rows == [(0, "", 0, 0)]  # (before: 1, 'an unrelated failure')
    session.command("ALTER TABLE cb MATERIALIZE INDEX vi SETTINGS mutations_sync = 0")
    # queued behind the failing one, it cannot finish (ClickHouse may run the two as one task
    # and give it that failure too): it counts
    assert session.query(sql, params=params).rows[0][0] == 1
    assert session.query(sql, params={"t": "cb", "index": "other", "cluster": "prod"}).rows == [(0, "", 0, 0)]


_LAGGING = r'''
import json, sys
import chdb
from migrations.runner import cluster_build_sql

con = chdb.connect(sys.argv[1] + "?config-file=" + sys.argv[2])

def run(sql, params=None):
    body = con.query(sql, "JSONCompact", params=params or None).bytes()
    return [list(r) for r in json.loads(body)["data"]] if body else []

run("CREATE TABLE t_local (id UInt64, v Array(Float32)) ENGINE = MergeTree ORDER BY id")
run("INSERT INTO t_local SELECT number, [1.0, 2.0] FROM numbers(10)")
sql = cluster_build_sql(False).replace("clusterAllReplicas({cluster:String}, system.mutations)", "system.mutations")
params = {"t": "t_local", "index": "vi"}
out = {}
run("ALTER TABLE t_local ADD INDEX vi v TYPE vector_similarity('hnsw', 'L2Distance', 2)")
out["declared"] = [run(sql, {**params, "cluster": c})[0] for c in ("one", "two")]
run("ALTER TABLE t_local MATERIALIZE INDEX vi SETTINGS mutations_sync = 2")
out["materialized"] = [run(sql, {**params, "cluster": c})[0] for c in ("one", "two")]
print(json.dumps(out))
'''


def test_a_replica_that_has_not_loaded_the_index_build_yet_is_waited_for(tmp_path):
    """A replica of a Replicated table loads a MATERIALIZE INDEX mutation from Keeper after the
    replica that ran it, and shows none until then: the wait counts the replicas that show it
    against the cluster's replicas (system.clusters). Run on this node's system.mutations (in
    its own chdb process, with a two-replica cluster and a one-replica cluster in its config):
    the build done here but on one replica of two is still in progress; of one, built."""
    import json
    import subprocess
    import sys

    from migrations.runner import build_state

    cfg = tmp_path / "cluster.xml"
    cfg.write_text("<clickhouse><remote_servers>"
                   "<one><shard><replica><host>127.0.0.1</host><port>9000</port></replica></shard></one>"
                   "<two><shard><replica><host>127.0.0.1</host><port>9000</port></replica>"
                   "<replica><host>127.0.0.2</host><port>9000</port></replica></shard></two>"
                   "</remote_servers></clickhouse>")
    p = subprocess.run([sys.executable, "-c", _LAGGING, str(tmp_path / "db"), str(cfg)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["declared"] == [[0, "", 0, 1], [0, "", 0, 2]]  # no mutation anywhere: nothing to wait for
    assert [build_state(*r) for r in got["declared"]] == [("Built", ""), ("Built", "")]
    assert got["materialized"] == [[0, "", 1, 1], [0, "", 1, 2]]
    assert [build_state(*r) for r in got["materialized"]] == [
        ("Built", ""), ("InProgress", "1 of 2 replicas have the build")]
    assert build_state(1, "", 2, 2) == ("InProgress", "")
    assert build_state(1, "out of memory", 1, 2) == ("Error", "out of memory (on one of the cluster's nodes)")
