"""Model truth: embed's vectors are the ones a direct transformers pipeline gives."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from embed import EmbedQuery, Embedder, InputError, ModelLoadError, Term

from tests.support import PHOTOS, TINY_DIM, cos, unit

TEXTS = ["the cat", "a photo of an astronaut on the moon", "x", "the " * 200]  # last: > 77 tokens, truncated
PHOTO_FILES = sorted(PHOTOS.glob("*.jpg"))[:4]


def test_texts_match_direct_pipeline(embedder, direct):
    vecs = embedder.embed([EmbedQuery((Term("text", t),)) for t in TEXTS])
    for t, v in zip(TEXTS, vecs):
        assert v.dtype == np.float32 and v.shape == (TINY_DIM,)
        assert abs(np.linalg.norm(v) - 1) < 1e-5
        assert cos(v, direct.text(t)) >= 0.9999, t
    # different texts give different vectors (the comparison can fail)
    assert cos(vecs[0], vecs[1]) < 0.9999


def test_images_match_direct_pipeline(embedder, direct, image_server):
    assert PHOTO_FILES, "sample photos missing"
    refs = []
    for p in PHOTO_FILES:
        refs += [str(p), p.as_uri(), image_server.url(f"/photos/{p.name}")]
    vecs = embedder.embed([EmbedQuery.of(r) for r in refs])
    for r, v in zip(refs, vecs):
        name = r.rsplit("/", 1)[-1]
        expected = direct.image(Image.open(PHOTOS / name))
        assert cos(v, expected) >= 0.9999, r
    # path, file:// URL and http URL of the same bytes are one input: embedded once
    assert embedder.last_stats().images_encoded == len(PHOTO_FILES)


def test_text_plus_image_is_normalised_mean(embedder, direct):
    photo = PHOTO_FILES[0]
    [v] = embedder.embed([EmbedQuery.of(str(photo), "a man standing on the beach")])
    t = direct.text("a man standing on the beach")
    i = direct.image(Image.open(photo))
    assert cos(v, unit((unit(t) + unit(i)) / 2)) >= 0.9999
    assert cos(v, t) < 0.9999 and cos(v, i) < 0.9999


def test_weights_and_negatives(embedder, direct):
    q = EmbedQuery((Term("text", "the cat", 2.0), Term("text", "a dog", -0.5), Term("image", str(PHOTO_FILES[1]), 0.25)))
    [v] = embedder.embed([q])
    expected = unit(2.0 * direct.text("the cat") - 0.5 * direct.text("a dog")
                    + 0.25 * direct.image(Image.open(PHOTO_FILES[1])))
    assert cos(v, expected) >= 0.9999
    [neg] = embedder.embed([EmbedQuery((Term("text", "the cat", -1.0),))])
    assert cos(neg, -direct.text("the cat")) >= 0.9999


def test_terms_that_cancel_are_an_input_error(embedder):
    q = EmbedQuery((Term("text", "the cat"), Term("text", "the cat", -1.0)))
    with pytest.raises(InputError, match="zero"):
        embedder.embed([q])
    with pytest.raises(InputError, match="zero"):
        embedder.embed([EmbedQuery((Term("text", "the cat", 0.0),))])


def test_empty_query_and_empty_text_are_input_errors(embedder):
    with pytest.raises(InputError):
        embedder.embed([EmbedQuery(())])
    with pytest.raises(InputError, match="empty"):
        embedder.embed([EmbedQuery.of("  ")])


def test_embed_texts_and_images_for_ingestion(embedder, direct):
    assert embedder.dim == TINY_DIM
    tv = embedder.embed_texts(TEXTS[:3], batch_size=2)  # two batches
    assert tv.shape == (3, TINY_DIM) and tv.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(tv, axis=1), 1, atol=1e-5)
    for t, v in zip(TEXTS, tv):
        assert cos(v, direct.text(t)) >= 0.9999
    imgs = [Image.open(p) for p in PHOTO_FILES]
    iv = embedder.embed_images(imgs, batch_size=3)  # two batches
    assert iv.shape == (len(imgs), TINY_DIM)
    for im, v in zip(imgs, iv):
        assert cos(v, direct.image(im)) >= 0.9999
    assert embedder.embed_texts([]).shape == (0, TINY_DIM)


def test_lazy_load_and_identity(tiny_clip, monkeypatch):
    monkeypatch.setenv("EMBEDSQL_MODEL", str(tiny_clip))
    e = Embedder(device="cpu", runtime="torch")
    assert e.model_id == Path(tiny_clip).name
    ident = e.identity
    assert ident.family == "clip" and ident.dim == TINY_DIM and len(ident.digest) == 16
    assert e.revision == f"{ident.digest}+torch"
    assert not e.model_loaded  # the identity of a local directory needs no model load
    e.load()
    assert e.model_loaded and e.dim == TINY_DIM
    assert not e.runtime.model.training  # eval() mode


@pytest.mark.parametrize("damage", ["truncated", "no weights", "header a list", "no tensors"])
def test_a_model_copy_with_broken_weights_is_named_broken_not_another_model(tiny_clip, tmp_path, damage):
    """A short copy of the weights (an interrupted copy) read as some other model's digest: the
    error said the copy was the wrong model. Its identity now fails and says the file is short."""
    import os
    import shutil

    copy = tmp_path / "clip-copy"
    shutil.copytree(tiny_clip, copy)
    weights = copy / "model.safetensors"
    import struct

    if damage == "truncated":
        os.truncate(weights, weights.stat().st_size // 2)
    elif damage == "no weights":
        weights.unlink()
    else:
        header = b"[1, 2]" if damage == "header a list" else b'{"__metadata__": {}}'
        weights.write_bytes(struct.pack("<Q", len(header)) + header)
    e = Embedder(str(copy), device="cpu", runtime="torch")
    with pytest.raises(ModelLoadError, match="holds no weights" if damage == "no weights" else "incomplete or corrupt") as err:
        e.identity
    assert "copy or download the model again" in err.value.hint


def test_default_model_id():
    assert Embedder().model_id == "openai/clip-vit-base-patch32"


@pytest.mark.parametrize("model", ["nobody-here/no-such-clip-model", "openai/clip-vit-base-patch32"])
def test_hub_model_offline_is_a_clear_error(model):
    e = Embedder(model)
    with pytest.raises(ModelLoadError) as info:
        e.embed([EmbedQuery.of("a cat")])
    msg = str(info.value)
    assert model in msg
    assert "EMBEDSQL_MODEL" in msg and "--model" in msg and "save_pretrained" in msg
    assert "Traceback" not in msg


def test_the_offline_hint_for_a_local_folder_does_not_read_it_as_a_hub_id(tmp_path, monkeypatch):
    """`models/empty` (one slash, like a hub id) is a folder here: the way to get a model names a
    real hub id to download, not `from_pretrained('models/empty')`."""
    from embed.identity import DEFAULT_MODEL, how_to_supply

    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "empty").mkdir(parents=True)
    hint = how_to_supply("models/empty")
    assert f"from_pretrained('{DEFAULT_MODEL}')" in hint and "from_pretrained('models/empty')" not in hint
    assert "from_pretrained('org/some-clip')" in how_to_supply("org/some-clip")  # a hub id stays one


def test_directory_that_is_not_a_model(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps({"model_type": "clip", "projection_dim": "oops"}))
    for d in (empty, bad, tmp_path / "missing"):
        with pytest.raises(ModelLoadError) as info:
            Embedder(str(d)).load()
        assert str(d) in str(info.value)
    with pytest.raises(ModelLoadError, match="directory not found") as info:
        Embedder("./no/such/model-dir").embed([EmbedQuery.of("x")])
    # where it looked, and that the path is what to check (a mistyped folder is the usual cause)
    assert str(Path.cwd() / "no" / "such" / "model-dir") in str(info.value)
    assert info.value.hint.startswith(f"check the path (relative to the current directory, {Path.cwd()})")


def test_import_is_cheap():
    code = ("import sys, embed; from embed import Embedder, Term, EmbedQuery, resolve_kind, FetchOptions; "
            "e = Embedder('x'); print(sorted(m for m in ('torch', 'transformers', 'numpy', 'PIL') if m in sys.modules))")
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_short_text_is_not_padded_to_77_and_long_text_is_truncated(embedder):
    embedder.load()
    seen = []
    proc = embedder.runtime.processor

    class Spy:
        def __call__(self, *a, **kw):
            out = proc(*a, **kw)
            seen.append(tuple(out["input_ids"].shape))
            return out

    embedder.runtime.processor = Spy()
    embedder.embed([EmbedQuery((Term("text", "the cat"),))])
    embedder.embed_texts(["the cat", "the " * 200])
    assert seen[0][0] == 1 and seen[0][1] < 10
    assert seen[1] == (2, 77)
