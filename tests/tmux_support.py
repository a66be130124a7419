"""Reading a tmux pane the way a user sees it (the real-terminal tests: the TUI, Harlequin).

Each test runs its own tmux server (`tmux -L <sock>`) with one window named `app`."""
from __future__ import annotations

import subprocess
import time


def capture(sock: str) -> str:
    """The text on the `app` window's screen now."""
    return subprocess.run(["tmux", "-L", sock, "capture-pane", "-p", "-t", "app"],
                          capture_output=True, text=True).stdout


def wait_screen(sock: str, *needles: str, timeout: float = 120.0) -> str:
    """The screen once it shows every needle (the timeout only bounds a hang: a cold start loads
    textual, chdb and torch, slow on a loaded machine). AssertionError with the last screen."""
    end = time.monotonic() + timeout
    text = ""
    while time.monotonic() < end:
        text = capture(sock)
        if all(n in text for n in needles):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{needles} not on the screen after {timeout} s:\n{text}")
