"""Ingestion benchmark (not a test): figures beside their floors, as ratios.

1. end-to-end local-file ingest (read, decode, embed, insert into the embedded engine) in images/s,
   against model-only batched throughput of the same model on the same, already decoded images,
   in the same run. Floor: ratio >= 0.8.
2. precomputed-vector import (clip-retrieval layout: .npy + parquet) into the embedded engine,
   512-d, in rows/s. Floor: >= 100,000 rows/s.

The model has ViT-B/32's shapes (`CLIPConfig()` defaults, random weights, ~151M parameters), saved
to a temporary directory and loaded through the real code path (`--smoke`: a tiny model and small
sizes, for CI).

    python -m benchmarks.bench_ingest [--smoke] [--images N] [--vectors N] [--json PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

FLOOR_RATIO = 0.8
FLOOR_VECTORS = 100_000


def build_model(directory: Path, smoke: bool) -> Path:
    """A random CLIP with a working processor, saved with save_pretrained (ViT-B/32 shapes unless smoke)."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    directory.mkdir(parents=True, exist_ok=True)
    chars = list(bytes_to_unicode().values())
    vocab = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    (directory / "vocab.json").write_text(json.dumps({t: i for i, t in enumerate(vocab)}))
    (directory / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer.from_pretrained(directory)
    text = dict(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    if smoke:
        cfg = CLIPConfig(text_config=dict(text, vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                          num_attention_heads=2),
                         vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                            num_attention_heads=2, image_size=32, patch_size=8),
                         projection_dim=512)
        proc = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    else:
        cfg = CLIPConfig(text_config=text)  # ViT-B/32 defaults: 224 px, patch 32, 512-d projection
        proc = CLIPImageProcessor()  # 224 px, as openai/clip-vit-base-patch32
    torch.manual_seed(0)
    model = CLIPModel(cfg)
    model.save_pretrained(directory)
    CLIPProcessor(image_processor=proc, tokenizer=tok).save_pretrained(directory)
    return directory


def make_images(directory: Path, n: int, size=(640, 480)) -> list[Path]:
    """n distinct photo-sized JPEGs (smooth gradients plus noise, so they compress like photos)."""
    import numpy as np
    from PIL import Image

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for i in range(n):
        base = rng.uniform(0, 255, 3)
        img = np.stack([(base[c] + xx * rng.uniform(-0.3, 0.3) + yy * rng.uniform(-0.3, 0.3)) % 256
                        for c in range(3)], axis=-1)
        img += rng.normal(0, 12, img.shape)
        p = directory / f"img{i:05d}.jpg"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(p, "JPEG", quality=85)
        out.append(p)
    return out


def make_vectors(directory: Path, n: int, dim: int = 512, parts: int = 2) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    (directory / "embeddings" / "img_emb").mkdir(parents=True)
    (directory / "metadata").mkdir(parents=True)
    rng = np.random.default_rng(0)
    start = 0
    for k in range(parts):
        size = n // parts + (1 if k < n % parts else 0)
        v = rng.standard_normal((size, dim), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        np.save(directory / "embeddings" / "img_emb" / f"img_emb_{k}.npy", v)
        pq.write_table(pa.table({
            "url": [f"https://images.example.com/photo-{start + i}.jpg" for i in range(size)],
            "caption": [f"caption number {start + i}" for i in range(size)],
        }), directory / "metadata" / f"metadata_{k}.parquet")
        start += size
    return directory


PHOTOS_DDL = """CREATE TABLE photos (id UInt64, photo_id String, photo_url String, photo_image_url String,
 photo_embed Array(Float32), photo_description String, photo_width UInt32, photo_height UInt32,
 photo_aspect_ratio Float32, photo_submitted_at Nullable(DateTime64(3)), keywords Array(String), source String,
 ingested_at DateTime DEFAULT now(), CONSTRAINT photo_embed_len CHECK length(photo_embed) = 512)
 ENGINE = MergeTree ORDER BY id"""


def run(smoke: bool = False, images: int | None = None, vectors: int | None = None, batch_size: int = 32,
        workers: int = 16, rounds: int | None = None) -> dict:
    """Each figure is the best of `rounds` (model-only and end-to-end alternate), so that load from
    other processes on the machine does not decide the ratio."""
    import numpy as np  # noqa: F401

    import sqlext
    from embed import Embedder
    from embed.fetch import decode_image
    from ingest import ingest_images, ingest_vectors

    n_img = images or (16 if smoke else 256)
    n_vec = vectors or (5_000 if smoke else 300_000)
    rounds = rounds or (1 if smoke else 3)
    with tempfile.TemporaryDirectory(prefix="embedsql-bench-") as tmp:
        tmp = Path(tmp)
        os.environ.setdefault("EMBEDSQL_CACHE_DIR", str(tmp / "cache"))
        t = time.perf_counter()
        model_dir = build_model(tmp / "model", smoke)
        build_s = time.perf_counter() - t
        files = make_images(tmp / "images", n_img, (64, 48) if smoke else (640, 480))

        emb = Embedder(str(model_dir), runtime="torch")
        t = time.perf_counter()
        emb.load()
        load_s = time.perf_counter() - t
        params = sum(p.numel() for p in emb.runtime.model.parameters())

        decoded = [decode_image(p.read_bytes(), str(p)) for p in files]
        emb.embed_images(decoded[:batch_size], batch_size=batch_size)  # warm-up
        s = sqlext.connect(dsn=f"chdb://{tmp}/db", embedder=emb)
        s.command(PHOTOS_DDL, verbatim=True)
        model_rates, e2e_rates, vec_rates = [], [], []
        for _ in range(rounds):
            # model only: already decoded images, batched
            t = time.perf_counter()
            emb.embed_images(decoded, batch_size=batch_size)
            model_rates.append(n_img / (time.perf_counter() - t))
            # end to end: the same files and (loaded) model, an empty table
            s.command("TRUNCATE TABLE photos", verbatim=True)
            rep = ingest_images(s, [tmp / "images"], batch_size=batch_size, workers=workers)
            assert rep.ingested == n_img, rep.summary()
            e2e_rates.append(rep.ingested / rep.seconds)
        del decoded

        # precomputed vectors, clip-retrieval layout
        make_vectors(tmp / "vectors", n_vec)
        for _ in range(rounds):
            s.command("TRUNCATE TABLE photos", verbatim=True)
            vrep = ingest_vectors(s, tmp / "vectors")
            assert vrep.ingested == n_vec, vrep.summary()
            vec_rates.append(vrep.ingested / vrep.seconds)
        s.close()
        model_rate, e2e_rate, vec_rate = max(model_rates), max(e2e_rates), max(vec_rates)

    import torch

    result = {
        "benchmark": "ingest",
        "smoke": smoke,
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "device": str(next(emb.runtime.model.parameters()).device)},
        "model": {"params": params, "shape": "tiny" if smoke else "ViT-B/32 (CLIPConfig defaults)",
                  "build_s": round(build_s, 2), "load_s": round(load_s, 2)},
        "rounds": rounds,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "images": n_img,
        "batch_size": batch_size,
        "workers": workers,
        "model_only_images_per_s": round(model_rate, 2),
        "end_to_end_images_per_s": round(e2e_rate, 2),
        "end_to_end_ratio": round(e2e_rate / model_rate, 3),
        "end_to_end_ratio_floor": FLOOR_RATIO,
        "all_rounds": {"model_only": [round(x, 2) for x in model_rates], "end_to_end": [round(x, 2) for x in e2e_rates],
                       "vectors": [round(x) for x in vec_rates]},
        "vectors": n_vec,
        "vector_import_rows_per_s": round(vec_rate),
        "vector_import_floor_rows_per_s": FLOOR_VECTORS,
        "vector_import_ratio": round(vec_rate / FLOOR_VECTORS, 3),
    }
    result["pass"] = (result["end_to_end_ratio"] >= FLOOR_RATIO and vec_rate >= FLOOR_VECTORS) if not smoke else None
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--smoke", action="store_true", help="tiny model and sizes (CI)")
    ap.add_argument("--images", type=int, default=None)
    ap.add_argument("--vectors", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=None, help="best of N (default 3; smoke 1)")
    ap.add_argument("--json", default=None, help="write the result to this file")
    a = ap.parse_args(argv)
    res = run(smoke=a.smoke, images=a.images, vectors=a.vectors, batch_size=a.batch_size, workers=a.workers,
              rounds=a.rounds)
    text = json.dumps(res, indent=2)
    print(text)
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
