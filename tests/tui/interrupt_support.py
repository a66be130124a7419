"""Helpers for the Ctrl-C tests: a loopback HTTP server that holds a statement inside the engine
(`SlowCSV`: chdb's url() reads from it), and reading a child's stderr without hanging."""
from __future__ import annotations

import http.server
import threading


class SlowCSV:
    """A loopback HTTP server whose one CSV answer is held back until `finish` is set: `started`
    is set when chdb's request arrives (the statement is then running in the engine)."""

    def __init__(self):
        self.started = threading.Event()
        self.finish = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.started.set()
                body = b"1\n2\n3\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                outer.finish.wait(120)
                self.wfile.write(body)

            do_HEAD = do_GET

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/n.csv"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.finish.set()
        self.server.shutdown()
        self.server.server_close()


def read_line(stream, timeout=60):
    """One line of a child's stderr, read by a thread so a hang fails the test instead of it."""
    got = []
    t = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    assert got, "no line on stderr"
    return got[0].rstrip("\n")
