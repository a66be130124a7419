"""The optional ONNX Runtime backend, on the tiny random CLIP: same vectors as torch fp32 (within the
precision's tolerance), selected by name or EMBEDSQL_BACKEND, exported once per revision, never
mixing its vectors with torch's in the cache."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

from embed import Embedder, EmbedQuery, ModelLoadError, Term  # noqa: E402
from embed.backend import TorchClipBackend  # noqa: E402
from embed.onnx_backend import OnnxClipBackend  # noqa: E402

TEXTS = ["the cat", "a cat on the beach", "an", "the cat on the mat in the sun with a hat", "x" * 300]


def _images(n=5):
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 255, (40 + 7 * i, 50 + 3 * i, 3), dtype=np.uint8)) for i in range(n)]


@pytest.fixture(scope="module")
def export_root(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx-export")


@pytest.fixture(scope="module")
def torch_vectors(tiny_clip):
    tb = TorchClipBackend(str(tiny_clip), device="cpu")
    return tb.encode_text(TEXTS), tb.encode_images(_images())


@pytest.mark.parametrize("precision, min_cos", [("fp32", 0.9999), ("int8", 0.99)])
def test_vectors_match_torch(tiny_clip, export_root, torch_vectors, precision, min_cos):
    b = OnnxClipBackend(str(tiny_clip), precision=precision, cache_dir=export_root)
    t, i = b.encode_text(TEXTS), b.encode_images(_images())
    assert t.dtype == np.float32 and t.shape == torch_vectors[0].shape and i.shape == torch_vectors[1].shape
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(i, axis=1), 1.0, atol=1e-5)
    assert (t * torch_vectors[0]).sum(1).min() >= min_cos
    assert (i * torch_vectors[1]).sum(1).min() >= min_cos
    assert b.dim == 512


def test_batch_equals_one_by_one(tiny_clip, export_root):
    """Dynamic batch and sequence axes: padding in a mixed-length batch changes nothing."""
    b = OnnxClipBackend(str(tiny_clip), precision="fp32", cache_dir=export_root)
    batch = b.encode_text(TEXTS)
    for k, text in enumerate(TEXTS):
        np.testing.assert_allclose(b.encode_text([text])[0], batch[k], atol=1e-5)
    imgs = _images(3)
    np.testing.assert_allclose(b.encode_images(imgs[1:2])[0], b.encode_images(imgs)[1], atol=1e-5)
    assert b.encode_text([]).shape == (0, 512)


def test_short_query_not_padded(tiny_clip, export_root):
    b = OnnxClipBackend(str(tiny_clip), cache_dir=export_root)
    b.load()
    seen = []
    real = b._text.run
    b._text.run = lambda out, feeds: (seen.append(feeds["input_ids"].shape), real(out, feeds))[1]
    b.encode_text(["the cat"])
    b.encode_text(["x" * 300])
    assert seen[0][1] < 10
    assert seen[1][1] == 77


def test_export_is_cached_per_revision(tiny_clip, tmp_path):
    first = OnnxClipBackend(str(tiny_clip), precision="int8", cache_dir=tmp_path)
    first.load()
    assert first.exported_now and (first.export_dir / "text.int8.onnx").is_file()
    again = OnnxClipBackend(str(tiny_clip), precision="fp32", cache_dir=tmp_path)
    again.load()
    assert not again.exported_now and again.export_dir == first.export_dir
    assert first.revision.endswith("+onnx-int8") and again.revision.endswith("+onnx-fp32")
    base = TorchClipBackend(str(tiny_clip)).known_revision()
    assert first.revision.startswith(base) and first.known_revision() == first.revision


def test_damaged_export_is_a_model_load_error(tiny_clip, tmp_path):
    b = OnnxClipBackend(str(tiny_clip), precision="int8", cache_dir=tmp_path)
    b.load()
    (b.export_dir / "text.int8.onnx").write_bytes(b"not onnx")
    with pytest.raises(ModelLoadError) as ei:
        OnnxClipBackend(str(tiny_clip), precision="int8", cache_dir=tmp_path).load()
    assert "ONNX" in str(ei.value) and str(b.export_dir) in (ei.value.hint or "")


def test_selected_by_name_and_env(tiny_clip, tmp_path, monkeypatch):
    monkeypatch.delenv("EMBEDSQL_BACKEND", raising=False)
    assert isinstance(Embedder(str(tiny_clip)).backend, TorchClipBackend)
    e = Embedder(str(tiny_clip), backend="onnx-fp32")
    assert isinstance(e.backend, OnnxClipBackend) and e.backend.precision == "fp32"
    monkeypatch.setenv("EMBEDSQL_BACKEND", "onnx")
    e = Embedder(str(tiny_clip))
    assert isinstance(e.backend, OnnxClipBackend) and e.backend.precision == "fp32"
    assert isinstance(Embedder(str(tiny_clip), backend="torch").backend, TorchClipBackend)
    monkeypatch.setenv("EMBEDSQL_BACKEND", "tensorrt")
    with pytest.raises(ModelLoadError) as ei:
        Embedder(str(tiny_clip))
    assert "tensorrt" in str(ei.value)
    with pytest.raises(ModelLoadError):
        OnnxClipBackend(str(tiny_clip), precision="bf17")


def test_embedder_on_onnx_keeps_its_own_cache_entries(tiny_clip, tmp_path, monkeypatch):
    """Same cache dir, same text: the ONNX embedder does not reuse the torch vector (another revision)."""
    monkeypatch.setenv("EMBEDSQL_CACHE_DIR", str(tmp_path / "cache"))
    q = [EmbedQuery((Term("text", "a cat on the beach"),))]
    with Embedder(str(tiny_clip)) as te:
        tv = te.embed(q)[0]
        assert te.last_stats().misses == 1
    with Embedder(str(tiny_clip), backend="onnx") as oe:
        ov = oe.embed(q)[0]
        assert oe.last_stats().misses == 1
        oe.embed(q)
        assert oe.last_stats().hits == 1
    assert float(tv @ ov) >= 0.99
