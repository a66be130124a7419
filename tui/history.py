"""Query history: one JSON object per line in the user data dir (`sqlext.db.paths.history_file()`).

Each entry: {"sql", "ts", "duration", "rows", "ok"}, and "cancelled": true for a statement cancelled
with escape (its result was discarded; "ok" is then false). Secrets never reach the file: a DSN password
(`scheme://user:PASSWORD@host`), `IDENTIFIED ... BY '...'` clauses, `password = '...'` settings and
the session's own password are replaced by `***` before writing.
"""
from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

MAX_ENTRIES = 5000

_DSN_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]+:)([^@\s'\"]+)(@)")
_IDENTIFIED_BY = re.compile(r"(\bIDENTIFIED\b(?:\s+WITH\s+\w+)?\s+BY\s+)('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", re.I)
_PASSWORD_KV = re.compile(r"(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|[^\s,)]+)", re.I)


def scrub(sql: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove credentials from SQL text before it is stored or shown."""
    text = _DSN_PASSWORD.sub(r"\1***\3", sql)
    text = _IDENTIFIED_BY.sub(r"\1'***'", text)
    text = _PASSWORD_KV.sub(r"\1'***'", text)
    for s in secrets:
        if s and len(s) >= 3:
            text = text.replace(s, "***")
    return text


@dataclass
class Entry:
    """One history entry: the `sql` as run (secrets scrubbed), `ts` (Unix seconds), `duration`
    (seconds), `rows` returned (None for a statement without rows), `ok` (False when it failed
    or was cancelled), `cancelled` (True when it was cancelled: its outcome was discarded)."""

    sql: str
    ts: float
    duration: float  # seconds
    rows: int | None
    ok: bool
    cancelled: bool = False


class History:
    """The query history: JSON lines appended to `path` (default `sqlext.db.paths.history_file()`),
    file mode 0600; passwords in the SQL and the given `secrets` are replaced by *** before
    writing."""

    def __init__(self, path: Path | None = None, secrets: tuple[str, ...] = ()):
        if path is None:
            from sqlext.db.paths import history_file

            path = history_file()
        self.path = Path(path)
        self.secrets = tuple(s for s in secrets if s)

    def add(self, sql: str, *, duration: float, rows: int | None, ok: bool, ts: float | None = None,
            cancelled: bool = False) -> Entry:
        """Append one entry (the SQL stripped and scrubbed; `duration` in seconds, rounded to 0.1
        ms; `ts` default now) and return it. Empty SQL is returned but not written. Raises
        OSError when the file cannot be written."""
        entry = Entry(scrub(sql.strip(), self.secrets), time.time() if ts is None else ts,
                      round(duration, 4), rows, ok and not cancelled, cancelled)
        if not entry.sql:
            return entry
        self.path.parent.mkdir(parents=True, exist_ok=True)
        d = asdict(entry)
        if not entry.cancelled:
            del d["cancelled"]  # (written only when true)
        line = json.dumps(d, ensure_ascii=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)
        return entry

    def load(self) -> list[Entry]:
        """All entries, oldest first; unreadable lines are skipped."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return []
        out = []
        for ln in lines[-MAX_ENTRIES:]:
            try:
                d = json.loads(ln)
                out.append(Entry(str(d["sql"]), float(d.get("ts", 0)), float(d.get("duration", 0)),
                                 d.get("rows"), bool(d.get("ok", True)), bool(d.get("cancelled", False))))
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def search(self, text: str = "", *, limit: int = 500) -> list[Entry]:
        """Newest first; every whitespace-separated word of `text` must occur (case-insensitive)."""
        words = [w.lower() for w in text.split()]
        out = []
        for e in reversed(self.load()):
            low = e.sql.lower()
            if all(w in low for w in words):
                out.append(e)
                if len(out) >= limit:
                    break
        return out
