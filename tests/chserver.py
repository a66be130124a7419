"""A TEST-ONLY stand-in for a ClickHouse (or MyScale) server: ClickHouse's HTTP interface on
127.0.0.1, executing queries in the embedded engine (chdb). Never shipped as a feature.

    python tests/chserver.py --data DIR --port-file F --user U --password P [--myscale]

It speaks what clickhouse-connect sends: the query in the POST body and/or the `query` URL
parameter, settings and `param_*` bind parameters as URL parameters, Basic auth (or the
X-ClickHouse-User/X-ClickHouse-Key headers, or user/password parameters), chunked and compressed
request bodies (lz4, zstd, gzip, deflate), `INSERT ... FORMAT Native` with the data in the body,
response compression (lz4/zstd/gzip/deflate by Accept-Encoding, unless `enable_http_compression=0`), and the X-ClickHouse-* response headers.
Like a server, it forgets what a SET, USE or CREATE TEMPORARY TABLE left once the request ends,
unless the request names a `session_id` (embedsql sends none: it sends a session's SETs again).
Errors come back like ClickHouse's: an HTTP error status, a `Code: N. DB::Exception: ...` body and
the X-ClickHouse-Exception-Code header.

The chdb engine admits one data directory per process, so this runs as its own process: see
`ChServer` (a context manager that starts it, waits for the port file, and kills it).

Faults for tests, set through `POST /__chserver/fault?mode=M&match=TEXT&seconds=S&times=N`
(no auth; loopback only) or `--fault M --fault-match TEXT --fault-seconds S` at start:
  sleep  sleep S seconds before answering (then answer normally)
  drop   read the request, then close the connection without answering
  cut    send the headers and half of the body, then close the connection
  exit   read the request, then the whole server process exits (a crash mid-query)
A fault applies to requests whose SQL contains TEXT (every request when empty), at most N times
(unlimited when absent). `POST /__chserver/fault?mode=none` clears it. `GET /__chserver/log`
returns the SQL of every request received, one JSON object per line (the query, the user name
and the URL parameters; never the password).
"""
from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

MYSCALE_VERSION = "1.8.0"
DISPLAY_NAME = "chserver-standin"

# URL parameters the HTTP interface consumes itself (not query settings).
TRANSPORT_PARAMS = {
    "query", "database", "default_format", "user", "password", "quota_key", "query_id", "session_id",
    "session_timeout", "session_check", "compress", "decompress", "buffer_size", "wait_end_of_query",
    "client_protocol_version", "role", "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "enable_http_compression", "http_native_compression_disable_checksumming_on_decompress",
}

ERROR_NAMES = {
    516: "AUTHENTICATION_FAILED", 62: "SYNTAX_ERROR", 60: "UNKNOWN_TABLE", 81: "UNKNOWN_DATABASE",
    115: "UNKNOWN_SETTING", 1001: "STD_EXCEPTION", 27: "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
    73: "UNKNOWN_FORMAT", 48: "NOT_IMPLEMENTED",
}

_TRAILING_FORMAT = re.compile(rb"\bFORMAT\s+(\w+)\s*;?\s*\Z", re.I)
_INSERT_WITH_DATA = re.compile(rb"\A\s*INSERT\s+INTO\s+(.*?)\bFORMAT\s+(\w+)[ \t]*(?:\r?\n)?", re.I | re.S)
_CODE = re.compile(r"Code: (\d+)")
#: Statements that change a session's state (settings, query parameters, database, temporary
#: tables), after leading comments.
_SESSION_STATE = re.compile(rb"\A(?:\s+|--[^\n]*\n?|/\*.*?\*/)*(?:SET|USE|CREATE\s+TEMPORARY)\b", re.I | re.S)
_BUILD_OPTIONS = re.compile(r"\bsystem\s*\.\s*build_options\b", re.I)
_SETTINGS_TABLE = re.compile(r"\bsystem\s*\.\s*settings\b", re.I)
#: What a server before ClickHouse 25.8 lacks in system.settings (--before-vector-search): the
#: vector search settings of sqlext.db.planner.NEEDED_SETTINGS and NO_VECTOR_SEARCH.
_NEWER_SETTINGS = ("vector_search_filter_strategy", "vector_search_index_fetch_multiplier",
                   "hnsw_candidate_list_size_for_search", "max_limit_for_vector_search_queries",
                   "query_plan_try_use_vector_search")

_CONTENT_TYPES = {
    "Native": "application/octet-stream", "RowBinary": "application/octet-stream",
    "Arrow": "application/octet-stream", "Parquet": "application/octet-stream",
    "JSON": "application/json; charset=UTF-8", "JSONEachRow": "application/x-ndjson; charset=UTF-8",
}


class QueryError(Exception):
    def __init__(self, code: int, message: str, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def http_status_for(code: int) -> int:
    """ClickHouse's mapping of exception codes to HTTP statuses (the common ones)."""
    if code in (516, 192, 193, 194, 195):  # AUTHENTICATION_FAILED, UNKNOWN_USER, WRONG_PASSWORD, ...
        return 401
    if code in (62, 115, 27, 6, 38, 36, 53, 47, 46):  # syntax, unknown setting, bad arguments, ...
        return 400
    if code in (60, 81, 16):  # unknown table / database / column
        return 404
    if code == 159:  # TIMEOUT_EXCEEDED
        return 504
    return 500


def decompress(data: bytes, encoding: str) -> bytes:
    encoding = (encoding or "").strip().lower()
    if not encoding or encoding == "identity":
        return data
    if encoding == "lz4":
        import lz4.frame

        return lz4.frame.decompress(data)
    if encoding == "zstd":
        from backports import zstd

        return zstd.decompress(data)
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    if encoding == "br":
        import brotli

        return brotli.decompress(data)
    raise QueryError(1001, f"Unknown HTTP compression method: {encoding}")


def compress(data: bytes, encoding: str) -> bytes:
    if encoding == "lz4":
        import lz4.frame

        return lz4.frame.compress(data)
    if encoding == "zstd":
        from backports import zstd

        return zstd.compress(data)
    if encoding == "gzip":
        return gzip.compress(data)
    if encoding == "deflate":
        return zlib.compress(data)
    return data


def pick_encoding(accept: str) -> str | None:
    supported = {"lz4", "zstd", "gzip", "deflate"}
    for item in (accept or "").split(","):
        name = item.split(";")[0].strip().lower()
        if name in supported:
            try:
                compress(b"x", name)
            except ImportError:
                continue
            return name
    return None


class Engine:
    """The one chdb connection of this process; requests take turns on it."""

    def __init__(self, data: Path, myscale: bool, before_vector_search: bool = False):
        import chdb

        data.mkdir(parents=True, exist_ok=True)
        self.data = data
        self.conn = chdb.connect(str(data))
        self.lock = threading.Lock()
        self.myscale = myscale
        self.before_vector_search = before_vector_search
        self.database = "default"

    def _q(self, sql, fmt, params=None):
        try:
            return self.conn.query(sql, fmt, params=params or {})
        except Exception as exc:
            msg = str(exc)
            i = msg.find("Code: ")
            msg = msg[i:].strip() if i >= 0 else msg.strip()
            m = _CODE.search(msg)
            code = int(m.group(1)) if m else 1001
            if not m:
                msg = f"Code: 1001. DB::Exception: {msg}. (STD_EXCEPTION)"
            raise QueryError(code, msg) from None

    def _forget_session(self):
        """Drop what a statement left in the engine's session (SET settings and query parameters,
        USE, temporary tables), as a ClickHouse server does at the end of a request without
        `session_id`: the connection is reopened (about 40 ms)."""
        import chdb

        self.conn.close()
        self.conn = chdb.connect(str(self.data))
        self.database = "default"

    def _use(self, database: str):
        if database and database != self.database:
            self._q(f"USE `{database.replace('`', '``')}`", "TabSeparated")
            self.database = database

    def run(self, sql: bytes, data: bytes | None, database: str, settings: dict[str, str],
            params: dict[str, str], default_format: str, session: bool = False):
        """Execute one statement. Returns (body bytes, format or None, summary dict). Without
        `session` (the request named no `session_id`), what a SET, USE or CREATE TEMPORARY TABLE
        left in the engine is dropped after it, as a server does; with one, it is kept (for
        every session_id alike: the stand-in has one engine session)."""
        try:
            return self._run(sql, data, database, settings, params, default_format)
        finally:
            if not session and _SESSION_STATE.match(sql):
                with self.lock:
                    self._forget_session()

    def _run(self, sql, data, database, settings, params, default_format):
        if self.myscale:
            text = sql.decode("utf-8", "surrogateescape")
            if _BUILD_OPTIONS.search(text):
                text = _BUILD_OPTIONS.sub(
                    "(SELECT name, value FROM system.build_options UNION ALL "
                    f"SELECT 'MYSCALE_VERSION' AS name, '{MYSCALE_VERSION}' AS value)", text)
                sql = text.encode("utf-8", "surrogateescape")
        if self.before_vector_search:
            text = sql.decode("utf-8", "surrogateescape")
            if _SETTINGS_TABLE.search(text):
                hidden = ", ".join(f"'{n}'" for n in _NEWER_SETTINGS)
                text = _SETTINGS_TABLE.sub(f"(SELECT * FROM system.settings WHERE name NOT IN ({hidden}))", text)
                sql = text.encode("utf-8", "surrogateescape")
        t0 = time.perf_counter()
        with self.lock:
            self._use(database or "default")
            applied = []
            try:
                for k, v in settings.items():
                    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k):
                        raise QueryError(115, f"Code: 115. DB::Exception: Unknown setting '{k}'. (UNKNOWN_SETTING)")
                    lit = "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
                    self._q(f"SET {k} = {lit}", "TabSeparated")
                    applied.append(k)
                return self._run_locked(sql, data, params, default_format, t0)
            finally:
                for k in applied:
                    try:
                        self._q(f"SET {k} = DEFAULT", "TabSeparated")
                    except QueryError:
                        pass

    def _run_locked(self, sql, data, params, default_format, t0):
        if data is not None:
            m = _INSERT_WITH_DATA.match(sql)
            target, fmt = m.group(1).decode("utf-8", "surrogateescape").strip(), m.group(2).decode()
            with tempfile.NamedTemporaryFile(suffix=".data", delete=False) as f:
                f.write(data)
            try:
                path = f.name.replace("\\", "\\\\").replace("'", "\\'")
                r = self._q(f"INSERT INTO {target} FROM INFILE '{path}' FORMAT {fmt}", "TabSeparated", params)
            finally:
                os.unlink(f.name)
            n = r.rows_read()
            return b"", None, self._summary(r, t0, written=(n, r.bytes_read()))
        m = _TRAILING_FORMAT.search(sql)
        if m:
            fmt = m.group(1).decode()
            r = self._q(sql, fmt, params)
            return r.bytes() or b"", fmt, self._summary(r, t0)
        fmt = default_format or "TabSeparated"
        if fmt in ("TabSeparated", "TSV"):
            # a statement that produces a result always emits the names line; a DDL emits nothing
            r = self._q(sql, "TabSeparatedWithNames", params)
            body = r.bytes() or b""
            if not body:
                return b"", None, self._summary(r, t0)
            nl = body.find(b"\n")
            return body[nl + 1:], "TabSeparated", self._summary(r, t0)
        r = self._q(sql, fmt, params)
        return r.bytes() or b"", fmt, self._summary(r, t0)

    @staticmethod
    def _summary(r, t0, written=(0, 0)) -> dict:
        """ClickHouse's X-ClickHouse-Summary: read_* are rows/bytes read from storage (chdb's
        storage_*_read), result_* what the query returned."""
        def stat(name):
            try:
                return int(getattr(r, name)())
            except Exception:
                return 0

        if written[0]:
            read_rows = read_bytes = result_rows = result_bytes = 0
        else:
            read_rows, read_bytes = stat("storage_rows_read"), stat("storage_bytes_read")
            result_rows, result_bytes = stat("rows_read"), stat("bytes_read")
        return {
            "read_rows": str(read_rows), "read_bytes": str(read_bytes),
            "written_rows": str(written[0]), "written_bytes": str(written[1]),
            "total_rows_to_read": str(read_rows), "result_rows": str(result_rows),
            "result_bytes": str(result_bytes),
            "elapsed_ns": str(max(1, int((time.perf_counter() - t0) * 1e9))),
        }


class Fault:
    def __init__(self):
        self.mode = "none"
        self.match = ""
        self.seconds = 0.0
        self.times: int | None = None
        self.lock = threading.Lock()

    def set(self, mode: str, match: str = "", seconds: float = 0.0, times: int | None = None):
        if mode not in ("none", "sleep", "drop", "cut", "exit"):
            raise ValueError(f"unknown fault mode {mode!r}")
        with self.lock:
            self.mode, self.match, self.seconds, self.times = mode, match, seconds, times

    def take(self, sql: str) -> tuple[str, float]:
        with self.lock:
            if self.mode == "none" or (self.match and self.match not in sql):
                return "none", 0.0
            if self.times is not None:
                if self.times <= 0:
                    return "none", 0.0
                self.times -= 1
            return self.mode, self.seconds


_KILL_RE = re.compile(r"^\s*KILL\s+QUERY\s+WHERE\s+query_id\s*=\s*'([^']*)'", re.I)


def make_handler(engine: Engine, user: str, password: str, fault: Fault, log: list):
    killed: set[str] = set()
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "ClickHouse"
        sys_version = ""

        def log_message(self, *args):  # quiet
            pass

        # -- plumbing --------------------------------------------------------------------------
        def _read_body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                out = bytearray()
                while True:
                    line = self.rfile.readline()
                    size = int(line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return bytes(out)
                    out += self.rfile.read(size)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _send(self, status: int, body: bytes, headers: dict[str, str]):
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Keep-Alive", "timeout=10")
            self.end_headers()
            try:
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _error(self, code: int, message: str, query_id: str, status: int | None = None):
            if not message.startswith("Code: "):
                message = f"Code: {code}. DB::Exception: {message}. ({ERROR_NAMES.get(code, 'UNKNOWN')})"
            body = f"{message} (version 26.9.2.1 (official build))\n".encode()
            self._send(status or http_status_for(code), body, {
                "Content-Type": "text/plain; charset=UTF-8",
                "X-ClickHouse-Exception-Code": str(code),
                "X-ClickHouse-Query-Id": query_id,
                "X-ClickHouse-Server-Display-Name": DISPLAY_NAME,
            })

        def _credentials(self, params: dict) -> tuple[str, str]:
            auth = self.headers.get("Authorization") or ""
            if auth.lower().startswith("basic "):
                try:
                    u, _, p = base64.b64decode(auth[6:].strip()).decode().partition(":")
                    return u, p
                except (ValueError, UnicodeDecodeError):
                    return "", ""
            if self.headers.get("X-ClickHouse-User"):
                return self.headers["X-ClickHouse-User"], self.headers.get("X-ClickHouse-Key", "")
            return params.get("user", "default"), params.get("password", "")

        # -- routes ----------------------------------------------------------------------------
        def do_GET(self):  # noqa: N802
            parts = urlsplit(self.path)
            if parts.path == "/ping":
                return self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            if parts.path == "/__chserver/log":
                body = "".join(json.dumps(e) + "\n" for e in list(log)).encode()
                return self._send(200, body, {"Content-Type": "application/x-ndjson"})
            if parts.path == "/":
                return self._query(parts, b"")
            self._send(404, b"There is no handle " + parts.path.encode() + b"\n", {"Content-Type": "text/plain"})

        def do_POST(self):  # noqa: N802
            parts = urlsplit(self.path)
            body = self._read_body()
            if parts.path == "/__chserver/fault":
                p = dict(parse_qsl(parts.query, keep_blank_values=True))
                try:
                    fault.set(p.get("mode", "none"), p.get("match", ""), float(p.get("seconds", 0) or 0),
                              int(p["times"]) if p.get("times") else None)
                except ValueError as exc:
                    return self._send(400, str(exc).encode(), {"Content-Type": "text/plain"})
                return self._send(200, b"ok\n", {"Content-Type": "text/plain"})
            if parts.path != "/":
                return self._send(404, b"There is no handle " + parts.path.encode() + b"\n",
                                  {"Content-Type": "text/plain"})
            self._query(parts, body)

        def _query(self, parts, raw_body: bytes):
            params = dict(parse_qsl(parts.query, keep_blank_values=True))
            query_id = params.get("query_id") or str(uuid.uuid4())
            try:
                body = decompress(raw_body, self.headers.get("Content-Encoding", ""))
            except QueryError as exc:
                return self._error(exc.code, exc.message, query_id)
            except Exception as exc:  # corrupt compressed body
                return self._error(1001, f"Cannot decompress the request body: {exc}", query_id)
            if "multipart/form-data" in (self.headers.get("Content-Type") or ""):
                return self._error(48, "multipart requests are not supported by the stand-in", query_id)
            q = params.get("query", "").encode()
            sql = (q + b"\n" + body) if q and body else (q or body)
            # an INSERT ... FORMAT X statement carries its data after the FORMAT clause
            data = None
            m = _INSERT_WITH_DATA.match(sql)
            if m:
                data = sql[m.end():]
                sql = sql[:m.end()]
            text = sql.decode("utf-8", "replace")
            u, p = self._credentials(params)
            log.append({"query": text, "user": u, "params": {k: v for k, v in params.items() if k != "password"},
                        "content_encoding": self.headers.get("Content-Encoding", ""),
                        "accept_encoding": self.headers.get("Accept-Encoding", ""),
                        "chunked": "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()})
            if u != user or p != password:
                return self._error(
                    516,
                    f"Code: 516. DB::Exception: {u}: Authentication failed: password is incorrect, "
                    "or there is no user with such name. (AUTHENTICATION_FAILED)", query_id)
            if not text.strip():
                return self._error(62, "Empty query", query_id, status=400)
            mode, seconds = fault.take(text)
            if mode == "exit":
                os._exit(3)
            if mode == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            kill = _KILL_RE.search(text)
            if kill:  # KILL QUERY: the stand-in can interrupt only its own fault sleeps
                killed.add(kill.group(1))
                return self._send(200, b"", {"X-ClickHouse-Query-Id": query_id,
                                             "X-ClickHouse-Summary": "{}"})
            if mode == "sleep":
                deadline = time.monotonic() + seconds
                while time.monotonic() < deadline:
                    if query_id in killed:
                        return self._error(394, "Code: 394. DB::Exception: Query was cancelled. "
                                           "(QUERY_WAS_CANCELLED)", query_id)
                    time.sleep(0.02)
            settings = {k: v for k, v in params.items()
                        if k not in TRANSPORT_PARAMS and not k.startswith("param_")}
            binds = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
            try:
                out, fmt, summary = engine.run(sql, data, params.get("database", "default"), settings, binds,
                                               params.get("default_format", ""), session=bool(params.get("session_id")))
            except QueryError as exc:
                return self._error(exc.code, exc.message, query_id, exc.status)
            headers = {
                "Content-Type": _CONTENT_TYPES.get(fmt or "", "text/tab-separated-values; charset=UTF-8"),
                "X-ClickHouse-Server-Display-Name": DISPLAY_NAME,
                "X-ClickHouse-Query-Id": query_id,
                "X-ClickHouse-Timezone": "UTC",
                "X-ClickHouse-Summary": json.dumps(summary),
            }
            if fmt:
                headers["X-ClickHouse-Format"] = fmt
            # chdb's system.settings reports enable_http_compression = 1 (the client reads it and
            # so does not send it), so compress unless the request turns it off, like a server whose
            # profile enables it
            if params.get("enable_http_compression", "1") == "1" and out:
                enc = pick_encoding(self.headers.get("Accept-Encoding", ""))
                if enc:
                    out = compress(out, enc)
                    headers["Content-Encoding"] = enc
            if mode == "cut":
                self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(out) + 1000))
                self.end_headers()
                try:
                    self.wfile.write(out[: len(out) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                self.close_connection = True
                return
            self._send(200, out, headers)

    return Handler


def serve(args) -> None:
    engine = Engine(Path(args.data), args.myscale, args.before_vector_search)
    fault = Fault()
    if args.fault:
        fault.set(args.fault, args.fault_match or "", args.fault_seconds)
    password = args.password if args.password is not None else os.environ.get(args.password_env or "", "")
    log: list = []
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(engine, args.user, password, fault, log))
    httpd.daemon_threads = True
    port = httpd.server_address[1]
    if args.port_file:
        tmp = Path(args.port_file + ".tmp")
        tmp.write_text(str(port))
        tmp.replace(args.port_file)
    def _on_term(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_term)
    try:
        httpd.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        with engine.lock:
            engine.conn.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="chdb data directory")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--user", default="default")
    ap.add_argument("--password", default=None)
    ap.add_argument("--password-env", default="CHSERVER_PASSWORD",
                    help="environment variable holding the password when --password is absent")
    ap.add_argument("--myscale", action="store_true", help="answer as MyScale (system.build_options)")
    ap.add_argument("--before-vector-search", action="store_true",
                    help="answer as a ClickHouse server before 25.8: system.settings without the vector search settings")
    ap.add_argument("--fault", choices=["none", "sleep", "drop", "cut", "exit"])
    ap.add_argument("--fault-match", default="")
    ap.add_argument("--fault-seconds", type=float, default=0.0)
    serve(ap.parse_args(argv))


# -- test side -----------------------------------------------------------------------------------

class ChServer:
    """Run the stand-in in a subprocess: `with ChServer(tmp_path, user="u", password="pw") as srv:`
    then `srv.dsn()`, `srv.fault("sleep", match="sleep_marker", seconds=5)`, `srv.restart()`,
    `srv.kill()`. The password travels in the environment, not the command line."""

    def __init__(self, data_dir: Path, *, user: str = "default", password: str = "",
                 myscale: bool = False, before_vector_search: bool = False, startup_timeout: float = 30.0):
        self.data_dir = Path(data_dir)
        self.user, self.password, self.myscale = user, password, myscale
        self.before_vector_search = before_vector_search
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None
        self.port: int = 0
        self.stderr_path = self.data_dir.with_name(self.data_dir.name + ".stderr")

    def start(self, port: int = 0):
        port_file = self.data_dir.with_name(self.data_dir.name + ".port")
        port_file.unlink(missing_ok=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--data", str(self.data_dir),
               "--port-file", str(port_file), "--user", self.user, "--port", str(port)]
        if self.myscale:
            cmd.append("--myscale")
        if self.before_vector_search:
            cmd.append("--before-vector-search")
        env = dict(os.environ, CHSERVER_PASSWORD=self.password)
        self._stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr)
        deadline = time.monotonic() + self.startup_timeout
        while not port_file.exists():
            if self.proc.poll() is not None:
                raise RuntimeError(f"chserver exited with {self.proc.returncode}: "
                                   f"{self.stderr_path.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("chserver did not start in time")
            time.sleep(0.02)
        self.port = int(port_file.read_text())
        return self

    def dsn(self, user: str | None = None, database: str = "default", query: str = "") -> str:
        q = f"?{query}" if query else ""
        return f"http://{user or self.user}@127.0.0.1:{self.port}/{database}{q}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fault(self, mode: str, *, match: str = "", seconds: float = 0.0, times: int | None = None):
        import urllib.request
        from urllib.parse import urlencode

        q = {"mode": mode, "match": match, "seconds": seconds}
        if times is not None:
            q["times"] = times
        req = urllib.request.Request(f"{self.base}/__chserver/fault?{urlencode(q)}", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            r.read()

    def log(self) -> list[dict]:
        import urllib.request

        with urllib.request.urlopen(f"{self.base}/__chserver/log", timeout=10) as r:
            return [json.loads(line) for line in r.read().decode().splitlines() if line]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=10)
        if getattr(self, "_stderr", None):
            self._stderr.close()
            self._stderr = None

    def stop(self):
        """Stop gracefully (SIGTERM), so the engine closes its data directory cleanly."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def restart(self):
        """Stop and start again on the same port and data directory."""
        port = self.port
        self.stop()
        return self.start(port)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    main()


REPO = Path(__file__).resolve().parent.parent


# `python -m tui.cli ARGS` with SIGINT at its default, as in a program started from a terminal.
# A child inherits an ignored SIGINT (pytest run in the background of a non-interactive shell, as
# `make test &` or many CI runners do), and Python then never raises KeyboardInterrupt: a test
# of Ctrl-C would hang. The exec keeps the command line the CLI sees unchanged.
AS_TYPED = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
             "os.execv(sys.executable, [sys.executable, '-m', 'tui.cli', *sys.argv[1:]])")


def run_cli(args: list[str], *, password: str | None = None, timeout: float = 60.0,
            popen: bool = False, extra_env: dict | None = None):
    """Run `python -m tui.cli ARGS` as a user would in a terminal: SIGINT at its default, the
    password only in EMBEDSQL_PASSWORD (none when `password` is None), stdin closed (so no prompt),
    the test's isolated EMBEDSQL_* dirs inherited from the environment. Returns CompletedProcess
    (text), or the Popen."""
    env = dict(os.environ)
    env.pop("EMBEDSQL_PASSWORD", None)
    if password is not None:
        env["EMBEDSQL_PASSWORD"] = password
    env.update(extra_env or {})
    env.setdefault("COLUMNS", "200")
    cmd = [sys.executable, "-c", AS_TYPED, *args]
    if popen:
        return subprocess.Popen(cmd, env=env, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, env=env, cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
