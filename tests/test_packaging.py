"""The wheel carries what the program reads at run time: built here, installed (not editable) into a
fresh virtual environment, `embedsql demo --no-tui` runs from it on the tiny model.

The fresh environment sees the dependencies already installed (torch and the rest) through a
.pth file naming this environment's site-packages, and gets the wheel with --no-deps: nothing is
downloaded, and no file of the repository is on its path."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_installs_and_runs_the_demo(tmp_path, tiny_clip):
    import shutil

    # build from a copy: setuptools writes build/ and *.egg-info beside the sources
    src = shutil.copytree(REPO, tmp_path / "src", ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".pytest_cache", "tests", "benchmarks"))
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                            "-w", str(dist), "-q"], capture_output=True, text=True, timeout=300,
                           cwd=tmp_path)
    assert build.returncode == 0, build.stderr
    [wheel] = dist.glob("embedsql-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    photos = {n for n in names if n.startswith("ingest/demo/photos/")}
    assert "ingest/demo/photos/SOURCES.md" in photos and len([n for n in photos if n.endswith(".jpg")]) == 13
    assert {"migrations/builtin/0001_photos_table.sql", "migrations/builtin/0002_photo_embed_index.sql",
            "migrations/builtin/earlier/0001_photos_table.sql",
            "tui/app.tcss"} <= names
    assert not any(n.startswith(("tests/", "benchmarks/")) for n in names)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz_existing_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    inst = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q",
                           str(wheel)], capture_output=True, text=True, timeout=300)
    assert inst.returncode == 0, inst.stderr

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run([str(py), "-c", "import ingest, tui; print(ingest.__file__); print(tui.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, check=True).stdout.split()
    assert all(p.startswith(str(site)) for p in where), where  # the installed copy, not the repository

    run = subprocess.run([str(venv / "bin" / "embedsql"), "demo", "--no-tui", "--dsn", f"chdb://{tmp_path}/db",
                          "--model", str(tiny_clip)], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ingested 13" in run.stderr and "Traceback" not in run.stderr
    assert "5 rows" in run.stdout or run.stdout.count("\n") > 5
