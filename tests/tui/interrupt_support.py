"""Helpers for the Ctrl-C tests: loopback HTTP servers that hold their answers back until told, so
a test knows where the program under test is (`SlowCSV`: chdb's url() reads from it, so a statement
is running inside the engine; `HeldImages`: the images of an ingest run), and reading a child's
stderr without hanging. The fixtures `slow` and `held` (tests/conftest.py) give one per test.
`as_typed` starts the CLI as from a terminal, with SIGINT at its default."""
from __future__ import annotations

import http.server
import re
import sys
import threading

from tests.chserver import AS_TYPED
from tests.support import PHOTOS


def as_typed(*cli_args: str) -> list[str]:
    """The argv of `python -m tui.cli CLI_ARGS` started as from a terminal: SIGINT at its default.
    A test run in the background of a non-interactive shell (`make test &`, `nohup`, some CI
    runners) hands its children an ignored SIGINT, and a CLI that relies on Python's default
    handler then never sees the test's Ctrl-C (it hung until the test gave up)."""
    return [sys.executable, "-c", AS_TYPED, *cli_args]


class HeldBack:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port, `base` its URL) serving `handler()` from
    a daemon thread, whose answers wait for `release`; `close` (or leaving a `with` block) sets
    `release` and stops the server. A subclass defines `handler()`: its request handler class."""

    def __init__(self):
        self.release = threading.Event()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self.handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        raise NotImplementedError

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class _Quiet(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass


class SlowCSV(HeldBack):
    """One CSV answer (`url`: the numbers 1, 2, 3) held back until `release` is set; `started` is
    set when chdb's request arrives (the statement is then running in the engine)."""

    def __init__(self):
        self.started = threading.Event()
        super().__init__()
        self.url = f"{self.base}/n.csv"

    def handler(self):
        outer = self

        class Handler(_Quiet):
            def do_GET(self):
                outer.started.set()
                body = b"1\n2\n3\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                outer.release.wait(120)
                self.wfile.write(body)

            do_HEAD = do_GET

        return Handler


class HeldImages(HeldBack):
    """`COUNT` images at `urls` (/p/<k>.jpg, sample photos): the first `FAST` are served at once,
    the others once `release` is set; `asked[k]` is set when image k is requested."""

    COUNT, FAST = 6, 3

    def __init__(self):
        self.asked = [threading.Event() for _ in range(self.COUNT)]
        self.photos = sorted(PHOTOS.glob("*.jpg"))
        super().__init__()
        self.urls = [f"{self.base}/p/{k}.jpg" for k in range(self.COUNT)]

    def handler(self):
        outer = self

        class Handler(_Quiet):
            def do_GET(self):
                m = re.fullmatch(r"/p/(\d+)\.jpg", self.path)
                if not m or int(m.group(1)) >= outer.COUNT:
                    self.send_error(404)
                    return
                k = int(m.group(1))
                outer.asked[k].set()
                if k >= outer.FAST:
                    outer.release.wait(120)
                body = outer.photos[k % len(outer.photos)].read_bytes()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the client gave up (its timeout, or it exited)
                    pass

        return Handler


def read_line(stream, timeout=60):
    """One line of a child's stderr, read by a thread so a hang fails the test instead of it."""
    got = []
    t = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    assert got, "no line on stderr"
    return got[0].rstrip("\n")


def read_until(p, line: str, timeout=120) -> list[str]:
    """The lines of child `p`'s stderr up to and including `line` (fails the test if it never
    comes: the child exits first, or no line comes within `timeout` seconds)."""
    seen = []
    while True:
        got = read_line(p.stderr, timeout)
        seen.append(got)
        if got == line:
            return seen
        assert got or p.poll() is None, f"{line!r} never came: {seen}"
