"""The README's Python examples run as written (on the embedded engine, the built-in tables made by
`migrate up`, a tiny model standing in for the user's local copy)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def python_blocks(marker: str) -> list[str]:
    """The README's ```python blocks that contain `marker`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if marker in b]


@pytest.mark.parametrize("marker", ["from sqlext import dbapi"])
def test_readme_python_example_runs(tmp_path, tiny_clip, marker):
    blocks = python_blocks(marker)
    assert len(blocks) == 1, f"expected one README example with {marker!r}"
    env = dict(os.environ, EMBEDSQL_MODEL=str(tiny_clip), PYTHONPATH=str(ROOT))
    up = subprocess.run([sys.executable, "-m", "tui.cli", "migrate", "up"], capture_output=True, text=True,
                        timeout=300, env=env, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    run = subprocess.run([sys.executable, "-c", blocks[0] + "\nprint('example ran')\n"], capture_output=True,
                         text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0 and "example ran" in run.stdout, run.stderr[-3000:]
