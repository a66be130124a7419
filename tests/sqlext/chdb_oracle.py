"""ClickHouse as the oracle: run statements on chdb directly (no embedsql, no clickhouse-connect),
in a process of its own (chdb holds one data directory per process), and report what each one
returned.

    results = run_on_chdb([{"sql": "SELECT 1"}, {"sql": "SELECT {x:String}", "params": {"x": "a"}}],
                          data_dir, fmt="TabSeparatedWithNamesAndTypes")
    results[0] == {"ok": True, "out": b"1\\nUInt8\\n1\\n"}; an error: {"ok": False, "err": "Code: 62. ..."}

`fmt` is the output format chdb is asked for; a statement's own FORMAT clause wins over it, as in
clickhouse-client. Statements run in order in one connection, so each sees what the ones before
it did.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

_WORKER = r"""
import base64, json, sys
import chdb

job = json.load(sys.stdin)
conn = chdb.connect(job["data_dir"])
out = []
for item in job["statements"]:
    try:
        res = conn.query(item["sql"], job["fmt"], params=item.get("params") or {})
        out.append({"ok": True, "out": base64.b64encode(res.bytes() or b"").decode()})
    except Exception as exc:
        out.append({"ok": False, "err": str(exc)})
conn.close()
sys.stdout.write(json.dumps(out))
"""


def run_on_chdb(statements: list[dict], data_dir: Path, *, fmt: str = "TabSeparatedWithNames",
                timeout: float = 240) -> list[dict]:
    """Run `statements` ({"sql": ..., "params": {...}}) in order on chdb in a new process with
    its own data directory; one result per statement (see the module doc)."""
    job = {"data_dir": str(data_dir), "fmt": fmt, "statements": statements}
    env = dict(os.environ)
    p = subprocess.run([sys.executable, "-c", _WORKER], input=json.dumps(job), capture_output=True,
                       text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"the chdb oracle process failed: {p.stderr[-2000:]}")
    results = json.loads(p.stdout)
    for r in results:
        if r["ok"]:
            r["out"] = base64.b64decode(r["out"])
    return results
