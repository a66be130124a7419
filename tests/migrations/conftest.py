import os
import sys
from pathlib import Path

import pytest

import sqlext

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def dsn(tmp_path):
    return f"chdb://{tmp_path}/db"


@pytest.fixture
def session(dsn):
    s = sqlext.connect(dsn=dsn)
    yield s
    s.close()


@pytest.fixture
def mdir(tmp_path):
    d = tmp_path / "mig"
    d.mkdir()
    return d


def write(d: Path, name: str, up: str, down: str | None = None) -> Path:
    text = f"-- test migration {name}\n-- +up\n{up}\n"
    if down is not None:
        text += f"-- +down\n{down}\n"
    p = d / name
    p.write_text(text)
    return p


def cli_env(tmp_path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


PY = sys.executable
