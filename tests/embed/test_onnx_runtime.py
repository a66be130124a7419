"""The ONNX Runtime fast path, on the tiny random CLIP: same vectors as torch fp32 (within the
precision's tolerance), selected by name, by EMBEDSQL_RUNTIME or automatically when the export
exists, exported once per model digest, never mixing its vectors with torch's in the cache, and
never importing torch or transformers."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from embed import Embedder, EmbedQuery, ModelLoadError, Term  # noqa: E402
from embed.onnx_runtime import OnnxRuntime  # noqa: E402
from embed.torch_runtime import TorchRuntime  # noqa: E402

TEXTS = ["the cat", "a cat on the beach", "an", "the cat on the mat in the sun with a hat", "x" * 300]


def _images(n=5):
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 255, (40 + 7 * i, 50 + 3 * i, 3), dtype=np.uint8)) for i in range(n)]


@pytest.fixture(scope="module")
def export_root(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-export")


@pytest.fixture(scope="module")
def torch_vectors(tiny_clip):
    tb = TorchRuntime(str(tiny_clip), device="cpu")
    return tb.encode_text(TEXTS), tb.encode_images(_images())


@pytest.mark.parametrize("precision, min_cos", [("fp32", 0.9999), ("int8", 0.99)])
def test_vectors_match_torch(tiny_clip, export_root, torch_vectors, precision, min_cos):
    b = OnnxRuntime(str(tiny_clip), precision=precision, cache_dir=export_root)
    t, i = b.encode_text(TEXTS), b.encode_images(_images())
    assert t.dtype == np.float32 and t.shape == torch_vectors[0].shape and i.shape == torch_vectors[1].shape
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(i, axis=1), 1.0, atol=1e-5)
    assert (t * torch_vectors[0]).sum(1).min() >= min_cos
    assert (i * torch_vectors[1]).sum(1).min() >= min_cos
    assert b.dim == 512


def test_batch_equals_one_by_one(tiny_clip, export_root):
    """Dynamic batch and sequence axes: padding in a mixed-length batch changes nothing."""
    b = OnnxRuntime(str(tiny_clip), precision="fp32", cache_dir=export_root)
    batch = b.encode_text(TEXTS)
    for k, text in enumerate(TEXTS):
        np.testing.assert_allclose(b.encode_text([text])[0], batch[k], atol=1e-5)
    imgs = _images(3)
    np.testing.assert_allclose(b.encode_images(imgs[1:2])[0], b.encode_images(imgs)[1], atol=1e-5)
    assert b.encode_text([]).shape == (0, 512)


def test_short_query_not_padded(tiny_clip, export_root):
    b = OnnxRuntime(str(tiny_clip), cache_dir=export_root)
    b.load()
    seen = []
    _, sess = b._text_parts()
    real = sess.run
    b._text = type("Spy", (), {"run": lambda self, out, feeds: (seen.append(feeds["input_ids"].shape),
                                                                 real(out, feeds))[1]})()
    b.encode_text(["the cat"])
    b.encode_text(["x" * 300])
    assert seen[0][1] < 10
    assert seen[1][1] == 77


def test_export_is_cached_per_model_digest(tiny_clip, tmp_path):
    first = OnnxRuntime(str(tiny_clip), precision="int8", cache_dir=tmp_path)
    first.load()
    assert first.exported_now and (first.export_dir / "text.int8.onnx").is_file()
    again = OnnxRuntime(str(tiny_clip), precision="fp32", cache_dir=tmp_path)
    again.load()
    assert not again.exported_now and again.export_dir == first.export_dir
    assert first.revision.endswith("+onnx-int8") and again.revision.endswith("+onnx-fp32")
    digest = TorchRuntime(str(tiny_clip)).identity.digest
    assert first.export_dir.name.startswith(digest)
    assert first.revision == f"{digest}+onnx-int8" and again.revision == f"{digest}+onnx-fp32"


def test_damaged_export_is_a_model_load_error(tiny_clip, tmp_path):
    b = OnnxRuntime(str(tiny_clip), precision="int8", cache_dir=tmp_path)
    b.load()
    (b.export_dir / "text.int8.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelLoadError) as ei:
        OnnxRuntime(str(tiny_clip), precision="int8", cache_dir=tmp_path).encode_text(["a cat"])
    assert "ONNX" in str(ei.value) and str(b.export_dir) in (ei.value.hint or "")


def test_selected_by_name_and_env(tiny_clip, tmp_path, monkeypatch):
    monkeypatch.delenv("EMBEDSQL_RUNTIME", raising=False)
    e = Embedder(str(tiny_clip))  # auto, and no export in this test's cache yet: torch, saying why
    assert isinstance(e.runtime, TorchRuntime) and "no ONNX export" in e.runtime.choice_reason
    e = Embedder(str(tiny_clip), runtime="onnx-fp32")
    assert isinstance(e.runtime, OnnxRuntime) and e.runtime.precision == "fp32"
    monkeypatch.setenv("EMBEDSQL_RUNTIME", "onnx")
    e = Embedder(str(tiny_clip))
    assert isinstance(e.runtime, OnnxRuntime) and e.runtime.precision == "fp32"
    assert isinstance(Embedder(str(tiny_clip), runtime="torch").runtime, TorchRuntime)
    monkeypatch.setenv("EMBEDSQL_RUNTIME", "tensorrt")
    with pytest.raises(ModelLoadError) as ei:
        Embedder(str(tiny_clip))
    assert "tensorrt" in str(ei.value)
    with pytest.raises(ModelLoadError):
        OnnxRuntime(str(tiny_clip), precision="bf17")


def test_embedder_on_onnx_keeps_its_own_cache_entries(tiny_clip, tmp_path, monkeypatch):
    """Same cache dir, same text: the ONNX embedder does not reuse the torch vector (another revision)."""
    monkeypatch.setenv("EMBEDSQL_CACHE_DIR", str(tmp_path / "cache"))
    q = [EmbedQuery((Term("text", "a cat on the beach"),))]
    with Embedder(str(tiny_clip), runtime="torch") as te:
        tv = te.embed(q)[0]
        assert te.last_stats().misses == 1
    with Embedder(str(tiny_clip), runtime="onnx") as oe:
        ov = oe.embed(q)[0]
        assert oe.last_stats().misses == 1
        oe.embed(q)
        assert oe.last_stats().hits == 1
    assert float(tv @ ov) >= 0.99


def test_auto_picks_the_export_and_a_new_process_imports_neither_torch_nor_transformers(tiny_clip, tmp_path):
    """Once the export exists, "auto" runs the fast path: a fresh process embeds a text and an
    image with the same vectors as torch, and torch / transformers never get imported."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from support import PHOTOS

    env = dict(os.environ, EMBEDSQL_CACHE_DIR=str(tmp_path / "cache"))
    env.pop("EMBEDSQL_RUNTIME", None)
    env.pop("EMBEDSQL_BACKEND", None)
    OnnxRuntime(str(tiny_clip), cache_dir=tmp_path / "cache" / "onnx").load()  # the export, once
    photo = str(sorted(PHOTOS.glob("*.jpg"))[0])
    code = ("import sys, json; from embed import Embedder, EmbedQuery\n"
            f"e = Embedder({str(tiny_clip)!r}, cache=False)\n"
            f"t, i = e.embed([EmbedQuery.of('a cat on the beach'), EmbedQuery.of({photo!r})])\n"
            "print(json.dumps({'kind': e.runtime.kind, 'why': e.runtime.choice_reason, 't': t.tolist(), "
            "'i': i.tolist(), 'mods': [m for m in ('torch', 'transformers') if m in sys.modules]}))")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env,
                         check=True, timeout=120)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["kind"] == "onnx-fp32" and "export" in got["why"] and got["mods"] == []
    tb = TorchRuntime(str(tiny_clip), device="cpu")
    ref_t = tb.encode_text(["a cat on the beach"])[0]
    from embed.fetch import fetch_image, for_model

    ref_i = tb.encode_images([for_model(fetch_image(photo)[0])])[0]
    assert float(np.dot(ref_t, got["t"])) >= 0.9999
    assert float(np.dot(ref_i, got["i"])) >= 0.9999
