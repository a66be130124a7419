"""Cold start: a new `embedsql query` process running one EMBED text query, beside the floor
`embedsql query "SELECT 1"` measured in the same run (interleaved, median of N).

Model: ViT-B/32 shapes with random weights (`CLIPConfig()` defaults, the full 49408-token
embedding table, so the ONNX files weigh what the real ones do), saved with save_pretrained.
The export for the fast path is made once before timing (as `embedsql ingest` / `model export`
do). Measured, all on the embedded database:

- floor:      `embedsql query "SELECT 1"`
- miss:       `embedsql query "SELECT length(EMBED('<new text>'))"` (vector cache miss), fast path
- hit:        the same query again (vector cache hit)
- torch miss: the miss query with EMBEDSQL_RUNTIME=torch (what embedsql did before the fast path)
- forward:    in-process text (1 query) and image (batch of 8) forward times, fast path vs torch

    python -m benchmarks.bench_cold [--runs 7] [--out benchmarks/report-cold.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build_b32(directory: Path) -> Path:
    """ViT-B/32-shaped CLIP, full vocabulary size, random weights (cached in `directory`)."""
    import torch
    from transformers import CLIPConfig, CLIPModel

    from .clipmodel import build_bench_clip

    if (directory / ".full-vocab").is_file():
        return directory
    build_bench_clip(directory)
    cfg = CLIPConfig.from_pretrained(directory)
    cfg.text_config.vocab_size = 49408  # the real table size: the ONNX file weighs what the real one does
    torch.manual_seed(0)
    CLIPModel(cfg).save_pretrained(directory)
    (directory / ".full-vocab").write_text("1")
    return directory


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("embedsql")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "tui.cli"]


def _time(args, env) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(_cli() + args, env=env, capture_output=True, text=True, timeout=600)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{args}: {r.stderr.strip()[-600:]}")
    return dt


def forward_times(model_dir: Path, cache: Path, reps: int = 15) -> dict:
    import numpy as np
    from PIL import Image

    from embed.onnx_runtime import OnnxRuntime
    from embed.torch_runtime import TorchRuntime

    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8)) for _ in range(8)]
    text = ["a photo of a cat on the beach"]
    out = {}
    for name, rt in (("onnx", OnnxRuntime(str(model_dir), cache_dir=cache / "onnx")),
                     ("torch", TorchRuntime(str(model_dir), device="cpu"))):
        rt.encode_text(text)
        rt.encode_images(images[:1])
        t, i = [], []
        for _ in range(reps):
            t0 = time.perf_counter()
            rt.encode_text(text)
            t.append((time.perf_counter() - t0) * 1000)
        for _ in range(max(3, reps // 3)):
            t0 = time.perf_counter()
            rt.encode_images(images)
            i.append((time.perf_counter() - t0) * 1000)
        out[name] = {"text_ms": statistics.median(t), "images8_ms": statistics.median(i)}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--model-dir", default=None, help="where to build/keep the ViT-B/32-shaped model")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="embedsql-cold-"))
    model_dir = build_b32(Path(args.model_dir) if args.model_dir else work / "b32")
    cache = work / "cache"
    (work / "none.toml").touch()  # an empty config file: nothing of the user's
    env = dict(os.environ, EMBEDSQL_CACHE_DIR=str(cache), EMBEDSQL_DATA_DIR=str(work / "data"),
               EMBEDSQL_CONFIG=str(work / "none.toml"), EMBEDSQL_MODEL=str(model_dir),
               HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    env.pop("EMBEDSQL_RUNTIME", None)
    env.pop("EMBEDSQL_BACKEND", None)
    t0 = time.perf_counter()
    subprocess.run(_cli() + ["model", "export"], env=env, check=True, capture_output=True, timeout=1200)
    export_s = time.perf_counter() - t0
    _time(["query", "SELECT 1"], env)  # the embedded database's first start
    rows = {"floor": [], "miss": [], "hit": [], "torch_miss": []}
    for i in range(args.runs):
        rows["floor"].append(_time(["query", "SELECT 1"], env))
        q = f"SELECT length(EMBED('a photo of a cat on the beach number {i}'))"
        rows["miss"].append(_time(["query", q], env))
        rows["hit"].append(_time(["query", q], env))
        if i < max(2, args.runs // 2):
            rows["torch_miss"].append(_time(["query", q + " -- torch"], dict(env, EMBEDSQL_RUNTIME="torch")))
    med = {k: statistics.median(v) for k, v in rows.items() if v}
    fwd = forward_times(model_dir, cache)
    res = {"runs": rows, "median_s": med, "export_s": export_s, "forward": fwd,
           "ratios": {"miss/floor": med["miss"] / med["floor"], "hit/floor": med["hit"] / med["floor"],
                      "torch_miss/floor": med["torch_miss"] / med["floor"],
                      "text fast/torch": fwd["onnx"]["text_ms"] / fwd["torch"]["text_ms"],
                      "images fast/torch": fwd["onnx"]["images8_ms"] / fwd["torch"]["images8_ms"]}}
    print(json.dumps(res, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    import shutil

    shutil.rmtree(work, ignore_errors=True)  # exports weigh about 1.2 GB (the model dir is kept if given)
    return 0


if __name__ == "__main__":
    sys.exit(main())
