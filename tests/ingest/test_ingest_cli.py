"""`embedsql ingest` as a user runs it: a real subprocess on the embedded engine, killed with
SIGKILL mid-run and rerun to exact counts; exit statuses; the missing-table message."""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import sqlext
from ingest import stable_id

from tests.ingest.ingest_support import create_photos


REPO = Path(__file__).resolve().parents[2]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return env


def _cli(*args, cwd=REPO) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=_env())


def _make_images(root: Path, n: int):
    from PIL import Image

    root.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (24 + i % 7, 24), ((i * 53) % 256, (i * 29) % 256, (i * 11) % 256)).save(
            root / f"img{i:04d}.jpg", "JPEG")


def _db_rows(dsn: str, model: str) -> list[int]:
    with sqlext.connect(dsn=dsn, model=model) as s:
        return [r[0] for r in s.query("SELECT id FROM photos").rows]


def test_kill_mid_run_then_rerun_is_exact(tmp_path, tiny_clip):
    n = 60  # 30 batches of 2: killed after the third, most of the run is still to come
    dsn = f"chdb://{tmp_path}/db"
    with sqlext.connect(dsn=dsn) as s:
        create_photos(s)
    _make_images(tmp_path / "pics", n)
    args = ["ingest", "images", str(tmp_path / "pics"), "--dsn", dsn, "--model", str(tiny_clip),
            "--batch-size", "2", "--workers", "2", "--log-interval", "0", "--report", str(tmp_path / "f.tsv")]
    proc = subprocess.Popen([sys.executable, "-m", "tui.cli", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    seen = 0
    killed_running = False
    try:
        deadline = time.monotonic() + 90
        for line in proc.stderr:  # plain progress lines: not a terminal
            m = re.search(r"(\d+) ingested", line)
            if m and int(m.group(1)) >= 6:
                seen = int(m.group(1))
                killed_running = proc.poll() is None
                os.kill(proc.pid, signal.SIGKILL)
                break
            if time.monotonic() > deadline:
                break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
    assert killed_running, "the run ended before it could be killed"
    assert proc.returncode == -signal.SIGKILL

    after_kill = _db_rows(dsn, str(tiny_clip))
    assert seen <= len(after_kill) < n  # whole batches: at least what was reported, not everything
    assert len(after_kill) == len(set(after_kill))

    r = _cli(*args)
    assert r.returncode == 0, r.stderr
    assert re.search(rf"ingested {n - len(after_kill)}, already present {len(after_kill)}, failed 0", r.stderr), r.stderr
    final = _db_rows(dsn, str(tiny_clip))
    expected = sorted(stable_id(str((tmp_path / "pics" / f"img{i:04d}.jpg").resolve())) for i in range(n))
    assert sorted(final) == expected  # exactly one row per image: none lost, none duplicated


def test_exit_status_and_report(tmp_path, tiny_clip, image_server):
    dsn = f"chdb://{tmp_path}/db"
    with sqlext.connect(dsn=dsn) as s:
        create_photos(s)
    tsv = tmp_path / "photos.tsv"
    tsv.write_text("photo_id\tphoto_image_url\n"
                   f"a\t{image_server.url('/404')}\nb\t{image_server.url('/notimage.jpg')}\n")
    base = ["--dsn", dsn, "--model", str(tiny_clip)]
    work = tmp_path / "work"
    work.mkdir()
    r = _cli("ingest", "unsplash", str(tsv), *base, cwd=work)  # default report: the data directory
    assert r.returncode == 1, r.stderr
    assert "nothing was ingested" in r.stderr
    assert list(work.iterdir()) == []  # nothing left in the current directory
    reports = list((tmp_path / "data" / "ingest-reports").glob("ingest-failures-*.tsv"))
    assert len(reports) == 1 and len(reports[0].read_text().splitlines()) == 3
    assert f"failures and skipped files listed in {reports[0]}" in r.stderr  # its path is printed
    assert "Traceback" not in r.stderr

    tsv.write_text("photo_id\tphoto_image_url\n"
                   f"a\t{image_server.url('/blue.jpg')}\nb\t{image_server.url('/notimage.jpg')}\n")
    r = _cli("ingest", "unsplash", str(tsv), *base, "--report", str(tmp_path / "r.tsv"))
    assert r.returncode == 0, r.stderr
    assert "ingested 1, already present 0, failed 1" in r.stderr
    assert (tmp_path / "r.tsv").read_text().splitlines()[1].startswith(image_server.url("/notimage.jpg"))

    tsv.write_text(f"photo_id\tphoto_image_url\na\t{image_server.url('/blue.jpg')}\n")
    r = _cli("ingest", "unsplash", str(tsv), *base)
    assert r.returncode == 0, r.stderr  # everything already present
    assert "ingested 0, already present 1, failed 0" in r.stderr


def test_missing_table_and_usage_errors(tmp_path, tiny_clip):
    dsn = f"chdb://{tmp_path}/db"
    _make_images(tmp_path / "p", 1)
    ingest = ["ingest", "images", str(tmp_path / "p"), "--dsn", dsn, "--model", str(tiny_clip)]
    r = _cli(*ingest)
    assert r.returncode == 2
    assert "table photos does not exist" in r.stderr and "embedsql migrate up" in r.stderr
    assert "Traceback" not in r.stderr
    # the hint repeats the connection and model options: run as written, it makes the ingest work
    hinted = re.search(r"run `(embedsql migrate up[^`]*)`", r.stderr)
    assert hinted, r.stderr
    assert hinted.group(1) == f"embedsql migrate up --dsn {dsn} --model {tiny_clip}"
    r = _cli(*shlex.split(hinted.group(1))[1:])
    assert r.returncode == 0, r.stderr
    r = _cli(*ingest)
    assert r.returncode == 0, r.stderr
    assert "ingested 1, already present 0, failed 0" in r.stderr
    r = _cli("ingest", "csv", "x.csv", "--dsn", dsn)
    assert r.returncode == 2 and "--url-column" in r.stderr
    r = _cli("ingest", "images", "x", "--batch-size", "0", "--dsn", dsn)
    assert r.returncode == 2 and "batch-size" in r.stderr
    r = _cli("ingest", "images", "x", "--column-map", "nonsense", "--dsn", dsn)
    assert r.returncode == 2 and "SOURCE=COLUMN" in r.stderr


def test_links_to_files_and_folders_cli(tmp_path, tiny_clip):
    """The review's case: a folder holding a link to an image elsewhere and a linked folder with
    a loop back to it ingests everything once (it used to stop the run with an unexpected error)."""
    dsn = f"chdb://{tmp_path}/db"
    with sqlext.connect(dsn=dsn) as s:
        create_photos(s)
    _make_images(tmp_path / "elsewhere", 3)
    lnk = tmp_path / "lnk"
    lnk.mkdir()
    (lnk / "coins-link.jpg").symlink_to(tmp_path / "elsewhere" / "img0000.jpg")
    (lnk / "album").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (tmp_path / "elsewhere" / "up").symlink_to(lnk, target_is_directory=True)  # a loop
    args = ["ingest", "images", "lnk", "--dsn", dsn, "--model", str(tiny_clip)]
    r = _cli(*args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "ingested 3, already present 0, failed 0" in r.stderr  # img0000 once, not twice
    # (a rerun finds them present: test_ingest.py's link tests, without a process each)
    with sqlext.connect(dsn=dsn) as s:
        got = sorted(s.query("SELECT photo_id, id FROM photos").rows)
    # one file reached by two links: named by the first path in sorted order (no path here is link-free)
    expected = [("album/img0000.jpg", 0), ("album/img0001.jpg", 1), ("album/img0002.jpg", 2)]
    assert got == [(name, stable_id(str((tmp_path / "elsewhere" / f"img{i:04d}.jpg").resolve())))
                   for name, i in expected]


def test_report_folder_is_a_usage_error_at_start(tmp_path, tiny_clip):
    dsn = f"chdb://{tmp_path}/db"
    with sqlext.connect(dsn=dsn) as s:
        create_photos(s)
    _make_images(tmp_path / "p", 1)
    (tmp_path / "p" / "fake.jpg").write_text("notimage")
    (tmp_path / "reports").mkdir()
    r = _cli("ingest", "images", str(tmp_path / "p"), "--report", "reports/", "--dsn", dsn, "--model",
             str(tiny_clip), cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "cannot write the failure report to reports/: it is a folder" in r.stderr
    assert "unexpected error" not in r.stderr and "Traceback" not in r.stderr
    with sqlext.connect(dsn=dsn) as s:
        assert s.query("SELECT count() FROM photos").rows == [(0,)]


def test_vectors_cli(tmp_path):
    import numpy as np

    dsn = f"chdb://{tmp_path}/db"
    with sqlext.connect(dsn=dsn) as s:
        create_photos(s)
    np.save(tmp_path / "v.npy", np.random.default_rng(0).standard_normal((40, 512)).astype(np.float32))
    r = _cli("ingest", "vectors", str(tmp_path / "v.npy"), "--dsn", dsn)
    assert r.returncode == 0, r.stderr
    assert "ingested 40" in r.stderr
    np.save(tmp_path / "w.npy", np.zeros((2, 384), np.float32))
    r = _cli("ingest", "vectors", str(tmp_path / "w.npy"), "--dsn", dsn)
    assert r.returncode == 2 and "384-d vectors" in r.stderr


pytestmark = pytest.mark.timeout(180)


def test_cli_thumbnail_default_is_the_library_default():
    import ingest
    import tui.commands.ingest

    assert tui.commands.ingest.UNSPLASH_THUMB == ingest.UNSPLASH_THUMB
