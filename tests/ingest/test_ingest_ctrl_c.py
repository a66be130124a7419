"""Ctrl-C in `embedsql ingest`, a real subprocess and real SIGINT: the first Ctrl-C says what
happens, embeds and writes what is already downloaded, drops the downloads under way and exits
130; a second exits at once. Either way the rerun ends with exactly one row per input. The
images come from a loopback server that holds back every image from the fourth on until told,
so the test knows where the run is."""
from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

import sqlext
from ingest import stable_id
from tui.commands.ingest import INGEST_STOP_NOTICE
from tui.interrupts import EXIT_NOW

from tests.ingest.ingest_support import create_photos
from tests.tui.interrupt_support import HeldImages, as_typed, read_until

REPO = Path(__file__).resolve().parents[2]
N, FAST = HeldImages.COUNT, HeldImages.FAST  # inputs; the first FAST are served at once


def _setup(tmp_path, held):
    dsn = f"chdb://{tmp_path}/db"
    with sqlext.connect(dsn=dsn) as s:
        create_photos(s)
    listing = tmp_path / "list.csv"
    listing.write_text("url\n" + "".join(u + "\n" for u in held.urls))
    return dsn, listing


def _args(tmp_path, dsn, listing, tiny_clip, timeout):
    # one download at a time, in order: when image FAST is asked for, images 0..FAST-1 are decoded
    return ["ingest", "csv", str(listing), "--url-column", "url", "--dsn", dsn, "--model", str(tiny_clip),
            "--batch-size", "2", "--workers", "1", "--timeout", str(timeout), "--log-interval", "1000",
            "--report", str(tmp_path / "failures.tsv")]


def _start(args):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return subprocess.Popen(as_typed(*args), cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _ids(dsn) -> list[int]:
    with sqlext.connect(dsn=dsn) as s:
        return [r[0] for r in s.query("SELECT id FROM photos").rows]


def _rerun_is_exact(held, args, dsn, before: list[int]):
    held.release.set()
    p = _start(args)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert f"ingested {N - len(before)}, already present {len(before)}" in err, err
    assert sorted(_ids(dsn)) == sorted(stable_id(u) for u in held.urls)  # one row per input


def test_first_ctrl_c_writes_what_is_downloaded_and_stops(tmp_path, tiny_clip, held):
    dsn, listing = _setup(tmp_path, held)
    args = _args(tmp_path, dsn, listing, tiny_clip, timeout=3)
    p = _start(args)
    try:
        assert held.asked[FAST].wait(120), p.stderr.read()  # images 0..FAST-1 are downloaded
        p.send_signal(signal.SIGINT)
        read_until(p, INGEST_STOP_NOTICE)
        # the download under way ends at its timeout (3 s); then the run reports and exits
        assert p.wait(timeout=120) == 130
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    assert not held.release.is_set()
    assert "interrupted: rerun the same command to continue (inputs already in the table are skipped)" in err
    assert "Traceback" not in err, err
    assert re.search(rf"ingested {FAST}, already present 0", err), err
    before = _ids(dsn)
    assert sorted(before) == sorted(stable_id(u) for u in held.urls[:FAST])  # what was downloaded, all of it
    _rerun_is_exact(held, args, dsn, before)


def test_second_ctrl_c_exits_at_once(tmp_path, tiny_clip, held):
    dsn, listing = _setup(tmp_path, held)
    args = _args(tmp_path, dsn, listing, tiny_clip, timeout=100)
    p = _start(args)
    try:
        assert held.asked[FAST].wait(120), p.stderr.read()
        p.send_signal(signal.SIGINT)
        read_until(p, INGEST_STOP_NOTICE)
        p.send_signal(signal.SIGINT)  # the run waits for the held download (up to 100 s)
        assert p.wait(timeout=90) == 130
        assert not held.release.is_set()  # it did not wait for the download
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()
    assert EXIT_NOW in err and "Traceback" not in err, err
    before = _ids(dsn)
    assert len(before) == len(set(before)) <= FAST
    _rerun_is_exact(held, args, dsn, before)
