"""`make bench-smoke` runs: the benchmark suite in smoke mode (tiny model and sizes) writes both
reports, with every figure, its floor and ratio. No timing is asserted: benchmarks are not tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIGURES = ["1", "2", "3a", "3b", "4a", "4b", "5-exact-2000", "5-exact-6000", "5-hnsw-2000", "5-hnsw-6000", "6",
           "7a", "7c"]


def test_bench_smoke_writes_every_figure(tmp_path):
    out = tmp_path / "report"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--smoke", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    md = Path(str(out) + ".md").read_text()
    data = json.loads(Path(str(out) + ".json").read_text())
    assert data["smoke"] is True
    env_info = data["environment"]
    assert env_info["cores"] >= 1 and env_info["cpu_flags_all"] and len(env_info["loadavg_start"]) == 3
    assert env_info["versions"]["torch"] and env_info["versions"]["sqlglot"]
    figs = {f["id"]: f for f in data["figures"]}
    missing = [f for f in FIGURES if f not in figs]
    assert not missing, f"figures missing from the report: {missing}"
    try:
        import onnxruntime  # noqa: F401
        has_onnx = True
    except ImportError:  # the optional extra: figure 3 is reported as not available
        has_onnx = False
    for fid in FIGURES:
        f = figs[fid]
        if fid.startswith("3") and not has_onnx:
            assert "not installed" in f["note"]
            continue
        assert f["value"] is not None and f["floor_value"] is not None and f["ratio"] is not None, f
        assert f["target"] and f"| {fid} |" in md
    assert figs["1"]["tokens"] < 77  # a short query is not padded to 77 tokens
    for name in ("bench_ingest", "bench_tui"):
        assert name in data["external"], name
        assert data["external"][name]["status"] in ("ok", "missing"), data["external"][name]


def test_bench_peers_smoke(tmp_path):
    """The peer comparison (issue 10) at 2,000 rows of 64-d: every system that is installed answers every
    filter, embedsql with the right number of rows and the exact answer (a table this small is
    planned as exact scans); a missing peer is reported as not installed."""
    out = tmp_path / "peers.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_peers", "--smoke", "--json", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-2000:]
    # LanceDB's per-query deprecation warning (a select without `_distance`) is not logged
    assert "Deprecation warning" not in proc.stderr, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    size = data["sizes"][0]
    assert size["rows"] == 2000 and size["queries"] == 5 and size["dim"] == 64
    # the chdb table is stored as the built-in photos table is
    assert size["granularity"] == 32 and "index_granularity 32" in data["markdown"]
    assert len(size["cells"]) == 9  # no filter + {uniform, correlated} x {0.1, 1, 10, 50} %
    expected = {"embedsql", "embedsql-fresh", "chdb-exact", "chdb-hnsw", "numpy"}
    for peer, mods in (("duckdb", ("duckdb", "duckdb_extension_vss")), ("lancedb", ("lancedb",))):
        try:
            for m in mods:
                __import__(m)
            expected.add(peer)
        except ImportError:
            assert any(n.startswith(f"{peer}: not installed") for n in data["notes"])
    for cell in size["cells"]:
        assert set(cell["systems"]) == expected, cell["cell"]
        for e in (cell["systems"]["embedsql"], cell["systems"]["embedsql-fresh"]):
            assert e["rows_right"] and e["recall10"] == 1.0, cell
        assert cell["systems"]["numpy"]["recall10"] == 1.0 and cell["systems"]["chdb-exact"]["recall10"] == 1.0
    assert "| filter (rows kept) |" in data["markdown"]


def test_bench_granularity_smoke(tmp_path):
    """The storage comparison behind the built-in table's SETTINGS and vector codec runs: every
    statement on every table."""
    out = tmp_path / "gran.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_granularity", "--rows", "2000", "--queries", "3",
                           "--json", str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=280)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["rows"] == 2000 and data["storages"] == ["8192", "32", "32:NONE"]
    assert [c["cell"] for c in data["cells"]] == [
        "exact, uniform 0.1 %", "exact, uniform 1 %", "exact, uniform 10 %", "exact, uniform 100 %",
        "index, SELECT *, no filter", "index, SELECT *, uniform 50 %"]
    assert all(set(c["p50_ms"]) == {"8192", "32", "32:NONE"} and min(c["p50_ms"].values()) > 0
               for c in data["cells"])


def test_bench_plan_settings_smoke(tmp_path):
    """The A/B of the settings the planner adds runs on the production path: every filter, every
    variant, and the variants return the same rows (the settings change speed, never answers)."""
    out = tmp_path / "ps.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_plan_settings", "--rows", "3000", "--queries",
                           "3", "--json", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["rows"] == 3000 and data["granularity"] == 32 and data["vector_codec"] == "NONE"
    assert [c["filter"] for c in data["cells"]] == [
        "no filter", "uniform 0.1 %", "uniform 1 %", "uniform 10 %", "uniform 50 %",
        "correlated 0.1 %", "correlated 1 %", "correlated 10 %", "correlated 50 %"]
    for c in data["cells"]:
        assert c["same_rows"] and c["plans"], c
        assert set(c["p50_ms"]) == {"shipped", "no mmap", "one reader", "vector-search step on", "none of them",
                                    "array literal"}
        assert min(c["p50_ms"].values()) > 0 and set(c["ratio_to_shipped"]) == set(c["p50_ms"]) - {"shipped"}


def test_bench_planner_costs_smoke(tmp_path):
    """The planner's estimates beside both plans' measured times, on the production path: every
    filter, the cost model's two estimates, each pinned plan run as pinned."""
    out = tmp_path / "pc.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench_planner_costs", "--rows", "3000", "--queries",
                           "3", "--selectivities", "0.01,0.5,1", "--json", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=280)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(out.read_text())
    assert data["rows"] == 3000 and [c["filter"] for c in data["cells"]] == ["uniform 1 %", "uniform 50 %", "no filter"]
    for c in data["cells"]:
        assert c["estimate_ms"]["index"] > 0 and c["estimate_ms"]["exact"] > 0, c
        assert min(c["p50_ms"].values()) > 0 and c["shipped_to_faster"] > 0
        assert c["plans"]["exact"] == ["exact"] and c["plans"]["shipped"][0].split()[0] in ("index", "exact")
        # the cheaper estimate is the plan chosen
        cheaper = "index" if c["estimate_ms"]["index"] < c["estimate_ms"]["exact"] else "exact"
        assert c["plans"]["shipped"][0].split()[0] == cheaper, c
    assert data["cells"][1]["plans"]["index"][0].startswith("index")

