"""Helpers for the migration tests: write a migration file, run the CLI in a subprocess."""
from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable


def write(d: Path, name: str, up: str, down: str | None = None) -> Path:
    """Write migration file d/name with an `-- +up` section (and `-- +down` when given)."""
    text = f"-- test migration {name}\n-- +up\n{up}\n"
    if down is not None:
        text += f"-- +down\n{down}\n"
    p = d / name
    p.write_text(text)
    return p


def cli_env(tmp_path) -> dict:
    """This process's environment (the test's isolated EMBEDSQL_* dirs) with the repo importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env
