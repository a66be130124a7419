"""Time to first screen of `embedsql` (the Textual app) against a bare Textual app, both launched
as fresh processes in the same real terminal (tmux), interleaved, in the same run.

Measured: wall time from just before the process is spawned to the first frame flushed to the
terminal (each app writes time.time() from Textual's `post_display_hook` to a file named by
EMBEDSQL_BENCH_FIRST_PAINT, then exits).
The tmux spawn overhead is in both numbers. Floors: embedsql <= 0.5 s and <= 1.5x the bare app.

    python benchmarks/bench_tui.py [--runs N] [--smoke] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR_S = 0.5
FLOOR_RATIO = 1.5

BARE_APP = r'''
import os, time
from textual.app import App
from textual.widgets import Footer, Static

class Bare(App):
    marked = False
    def compose(self):
        yield Static("bare")
        yield Footer()
    def post_display_hook(self):  # the first frame flushed to the terminal, as in embedsql's app
        if self.marked:
            return
        self.marked = True
        with open(os.environ["EMBEDSQL_BENCH_FIRST_PAINT"], "w") as f:
            f.write(repr(time.time()))
        self.call_later(self.exit)

Bare().run()
'''


def run_once(sock: str, argv: list[str], env: dict, mark: Path, timeout: float = 20.0) -> float:
    if mark.exists():
        mark.unlink()
    env = {**env, "EMBEDSQL_BENCH_FIRST_PAINT": str(mark)}
    cmd = " ".join(["env"] + [f"'{k}={v}'" for k, v in env.items()] + [f"'{a}'" for a in argv])
    t0 = time.time()
    subprocess.run(["tmux", "-L", sock, "new-session", "-d", "-s", "b", "-x", "120", "-y", "40", cmd], check=True)
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            if mark.exists() and mark.read_text().strip():
                return float(mark.read_text()) - t0
            time.sleep(0.005)
        raise RuntimeError(f"no first paint from {argv} in {timeout} s")
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-session", "-t", "b"], capture_output=True)
        time.sleep(0.1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--smoke", action="store_true", help="2 runs each, no floors enforced")
    ap.add_argument("--json", help="write the figures to this file")
    args = ap.parse_args(argv)
    if shutil.which("tmux") is None:
        print("tmux is required (apt-get install tmux)", file=sys.stderr)
        return 2
    runs = 2 if args.smoke else args.runs
    tmp = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    (tmp / "bare.py").write_text(BARE_APP)
    (tmp / "config.toml").touch()  # an empty config file: nothing of the user's
    env = {"EMBEDSQL_DATA_DIR": str(tmp / "data"), "EMBEDSQL_CACHE_DIR": str(tmp / "cache"),
           "EMBEDSQL_CONFIG": str(tmp / "config.toml"), "HF_HUB_OFFLINE": "1", "TERM": "xterm-256color",
           "PYTHONPATH": str(ROOT), "EMBEDSQL_BENCH_EXIT": "1"}
    # embedsql on an embedded db; the model is never loaded before the first paint (any id works)
    app_argv = [sys.executable, "-m", "tui.cli", "--dsn", f"chdb://{tmp}/db", "--model", str(tmp / "no-model")]
    bare_argv = [sys.executable, str(tmp / "bare.py")]
    sock = f"bench-tui-{uuid.uuid4().hex[:8]}"
    subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", "new-session", "-d", "-s", "keep", "sleep 600"], check=True)
    app_t, bare_t = [], []
    try:
        run_once(sock, bare_argv, env, tmp / "warm")  # warm the file cache
        run_once(sock, app_argv, env, tmp / "warm")
        for _ in range(runs):
            bare_t.append(run_once(sock, bare_argv, env, tmp / "mark"))
            app_t.append(run_once(sock, app_argv, env, tmp / "mark"))
    finally:
        subprocess.run(["tmux", "-L", sock, "kill-server"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    app_s, bare_s = statistics.median(app_t), statistics.median(bare_t)
    ratio = app_s / bare_s
    ok = app_s <= FLOOR_S and ratio <= FLOOR_RATIO
    print(f"first screen (median of {runs}, process launch to first paint in tmux):")
    print(f"  embedsql      {app_s * 1000:7.1f} ms   (floor {FLOOR_S * 1000:.0f} ms)")
    print(f"  bare Textual  {bare_s * 1000:7.1f} ms")
    print(f"  ratio         {ratio:7.2f}x     (floor {FLOOR_RATIO}x)  {'OK' if ok else 'ABOVE FLOOR'}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "bench": "tui_first_screen", "runs": runs, "app_s": app_t, "bare_s": bare_t,
            "app_median_s": app_s, "bare_median_s": bare_s, "ratio": ratio,
            "floor_s": FLOOR_S, "floor_ratio": FLOOR_RATIO, "ok": ok}, indent=2))
    return 0 if ok or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
