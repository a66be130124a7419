"""A DSN that points at an HTTP server that is not ClickHouse (a web server, a proxy, an API):
one line with the HTTP status, the content type and the first text of the answer, never the raw
page. Real loopback servers (http.server) and the real CLI."""
import http.server
import os
import subprocess
import sys
import threading

import pytest

import sqlext
from sqlext.db.engine import page_text
from sqlext.errors import ConnectionFailed

NGINX = (b"<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title>\n<style>body { width: 35em; }</style>"
         b"</head>\n<body><h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is "
         b"successfully installed.</p></body></html>\n")


def serve(status, ctype, body):
    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self):
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = answer

        def log_message(self, *args):
            pass

    return _start(Handler)


def _start(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers():
    started = []

    def make(*args):
        s = serve(*args) if args else _start(http.server.SimpleHTTPRequestHandler)  # the stdlib file server
        started.append(s)
        return f"http://default@127.0.0.1:{s.server_address[1]}/default"
    yield make
    for s in started:
        s.shutdown()
        s.server_close()


def cli(*args):
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env={**os.environ, "EMBEDSQL_PASSWORD": ""})


@pytest.mark.parametrize("status, ctype, body, summary", [
    (200, "text/html; charset=utf-8", NGINX,
     "(HTTP 200, text/html: 'Welcome to nginx! Welcome to nginx! If you see this page, the nginx web server is "
     "successfully inst…')"),  # the style sheet left out; cut at 100 characters
    (404, "text/html", NGINX, "(HTTP 404, text/html: 'Welcome to nginx! Welcome to nginx!"),
    (404, "application/json", b'{"error": "no route for POST /"}', "(HTTP 404, application/json: '{\"error\""),
    (502, "text/plain", b"Bad Gateway\n", "(HTTP 502, text/plain: 'Bad Gateway')"),
])
def test_query_against_a_web_server_is_one_line(servers, status, ctype, body, summary):
    dsn = servers(status, ctype, body)
    r = cli("query", "--dsn", dsn, "SELECT 1")
    assert r.returncode == 1
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"error: {dsn} does not answer like a ClickHouse server ")
    assert summary in lines[0]
    assert lines[1].startswith("  hint: check the host and port in the DSN") and len(lines) == 2
    assert "<" not in r.stderr and "Traceback" not in r.stderr


def test_stdlib_file_server_and_the_library(servers):
    dsn = servers()  # answers POST with 501 and an HTML error page
    r = cli("migrate", "status", "--dsn", dsn)
    assert r.returncode == 1
    assert "(HTTP 501, text/html: \"Error response Error response Error code: 501 Message: Unsupported method" \
        in r.stderr.splitlines()[0]
    with pytest.raises(ConnectionFailed, match=r"does not answer like a ClickHouse server \(HTTP 501, text/html"):
        sqlext.connect(dsn=dsn, password="").query("SELECT 1")


def test_page_text():
    assert page_text("<html><head><script>var x = '<b>';</script><title>A &amp; B</title></head>"
                     "<body><!-- c --> <p>one</p>\n\n<p>two</p></body></html>") == "A & B one two"
    assert page_text("x" * 300, limit=10) == "x" * 9 + "…"
