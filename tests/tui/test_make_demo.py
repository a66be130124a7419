"""`make demo` as a new user runs it: the demo runs, then it says how to put `embedsql` on PATH.
The venv is this one (linked), marked installed, so make does not reinstall."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_ends_by_saying_how_to_put_embedsql_on_path(tmp_path, tiny_clip):
    script = Path(sys.executable).with_name("embedsql")
    if not script.exists():
        pytest.skip(f"no embedsql script beside {sys.executable} (run the tests from the project's venv)")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "embedsql").symlink_to(script)
    (venv / ".installed").touch()  # newer than pyproject.toml: nothing to install
    env = {**os.environ, "EMBEDSQL_MODEL": str(tiny_clip)}
    p = subprocess.run(["make", "--no-print-directory", "demo", f"VENV={venv}"], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    assert "5 rows" in p.stdout  # the demo ran (no terminal: no TUI)
    assert p.stdout.rstrip().endswith(f"To run the embedsql command from this shell:\n  source {venv}/bin/activate")
