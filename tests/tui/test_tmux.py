"""The real app in a real terminal: tmux runs `embedsql`, keys are typed with send-keys, and the
screen is read back with capture-pane."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid

import pytest

from tests.support import REPO

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def _capture(sock: str) -> str:
    return subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t", "app"],
                          capture_output=True, text=True).stdout


def _wait_screen(sock: str, *needles: str, timeout: float = 120.0) -> str:
    """The screen once it shows every needle (the timeout only bounds a hang: a cold start loads
    textual, chdb and torch, slow on a loaded machine)."""
    end = time.monotonic() + timeout
    text = ""
    while time.monotonic() < end:
        text = _capture(sock)
        if all(n in text for n in needles):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{needles} not on the screen after {timeout} s:\n{text}")


def test_real_app_in_tmux(session, tiny_clip, tmp_path):
    dsn = f"chdb://{tmp_path}/db"
    session.close()  # release the embedded engine: the app's process takes it
    sock = f"embedsql-test-{uuid.uuid4().hex[:8]}"
    env = {k: os.environ[k] for k in ("EMBEDSQL_DATA_DIR", "EMBEDSQL_CONFIG", "EMBEDSQL_CACHE_DIR")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO), TERM="xterm-256color")
    cmd = ["env", *[f"{k}={v}" for k, v in env.items()],
           sys.executable, "-m", "tui.cli", "--dsn", dsn, "--model", str(tiny_clip)]
    subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "app", "-x", "120", "-y", "40",
                    " ".join(f"'{c}'" for c in cmd)], check=True)
    try:
        _wait_screen(sock, "F5 runs the statement", "photo_embed Array")  # first screen + the catalog's column
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "app", "-l",
                        "SELECT photo_id, cosineDistance(photo_embed, EMBED('a cat')) AS distance "
                        "FROM photos ORDER BY photo_id"], check=True)
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "app", "F5"], check=True)
        screen = _wait_screen(sock, "5 rows", "astronaut", "rocket")
        assert "photo_id" in screen and "distance" in screen
        subprocess.run(["tmux", "-L", sock, "send-keys", "-t", "app", "C-q"], check=True)
        end = time.monotonic() + 10
        while time.monotonic() < end:
            r = subprocess.run(["tmux", "-L", sock, "has-session", "-t", "app"], capture_output=True)
            if r.returncode != 0:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the app did not quit on ctrl+q")
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
    buffer = (tmp_path / "data" / "buffer.sql").read_text()
    assert "EMBED('a cat')" in buffer  # kept for the next start
