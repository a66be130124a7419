"""Model truth per family: for tiny random CLIP, SigLIP (the SigLIP 2 fixed-resolution layout, with
a multilingual Gemma tokenizer), SigLIP 2 NaFlex, Chinese CLIP and AltCLIP models saved with
save_pretrained, embed's vectors equal the family's own transformers pipeline at cosine >= 0.9999,
on torch and on the ONNX fast path; and a model is recognised by its weights, not its folder."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from models_support import DIMS, FAMILY_TEXTS, Reference, build_tiny
from PIL import Image
from support import PHOTOS

from embed import EmbedQuery, Embedder, ModelLoadError
from embed.identity import identify
from embed.torch_runtime import TorchRuntime

FAMILIES = ["clip", "siglip", "siglip2", "chinese_clip", "altclip", "siglip_spm"]
FAST = [f for f in FAMILIES if f not in ("siglip2", "siglip_spm")]


def _images():
    rng = np.random.default_rng(3)
    photos = [Image.open(p) for p in sorted(PHOTOS.glob("*.jpg"))[:2]]
    return photos + [Image.fromarray(rng.integers(0, 255, (31, 70, 3), dtype=np.uint8)),  # smaller than the crop
                     Image.fromarray(rng.integers(0, 255, (90, 45), dtype=np.uint8)).convert("L")]  # grey


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    families = FAMILIES
    try:
        import sentencepiece  # noqa: F401  (SigLIP v1's tokenizer; the `siglip` extra)
    except ImportError:
        families = [f for f in FAMILIES if f != "siglip_spm"]
    return {f: build_tiny(f, root / f) for f in families}


@pytest.fixture(scope="session")
def onnx_root(tmp_path_factory):
    return tmp_path_factory.mktemp("family-exports")


@pytest.fixture(scope="session")
def references(tiny_models):
    out = {}
    for f, d in tiny_models.items():
        ref = Reference(f, d)
        out[f] = (ref.texts(FAMILY_TEXTS), ref.images(_images()))
    return out


@pytest.mark.parametrize("family", FAMILIES)
def test_torch_runtime_equals_the_family_pipeline(family, tiny_models, references):
    if family not in tiny_models:
        pytest.skip("sentencepiece is not installed (pip install 'embedsql[siglip]')")
    rt = TorchRuntime(str(tiny_models[family]), device="cpu")
    texts, images = rt.encode_text(FAMILY_TEXTS), rt.encode_images([im.convert("RGB") for im in _images()])
    ref_t, ref_i = references[family]
    assert texts.shape == (len(FAMILY_TEXTS), DIMS[family]) and texts.dtype == np.float32
    assert (texts * ref_t).sum(1).min() >= 0.9999
    assert (images * ref_i).sum(1).min() >= 0.9999
    assert (texts * ref_t[::-1]).sum(1).min() < 0.9999  # the comparison can fail
    assert rt.identity.family == family.replace("_spm", "") and rt.dim == DIMS[family]


@pytest.mark.parametrize("family", FAST)
def test_fast_path_equals_the_family_pipeline(family, tiny_models, references, onnx_root):
    from embed.onnx_runtime import OnnxRuntime

    pytest.importorskip("onnxruntime")
    rt = OnnxRuntime(str(tiny_models[family]), cache_dir=onnx_root)
    texts, images = rt.encode_text(FAMILY_TEXTS), rt.encode_images(_images())
    ref_t, ref_i = references[family]
    assert (texts * ref_t).sum(1).min() >= 0.9999
    assert (images * ref_i).sum(1).min() >= 0.9999
    assert rt.meta["family"] == family and rt.meta["dim"] == DIMS[family]


def test_naflex_has_no_fast_path_and_auto_says_why(tiny_models, onnx_root):
    from embed.choice import make_runtime
    from embed.onnx_runtime import OnnxRuntime

    rt = make_runtime("auto", str(tiny_models["siglip2"]), cache_dir=onnx_root)
    assert rt.kind == "torch" and "variable image patches" in rt.choice_reason
    with pytest.raises(ModelLoadError, match="no ONNX fast path"):
        OnnxRuntime(str(tiny_models["siglip2"]), cache_dir=onnx_root).load()


def test_sentencepiece_only_siglip_runs_on_torch_and_auto_says_why(tiny_models, onnx_root):
    from embed.choice import make_runtime

    if "siglip_spm" not in tiny_models:
        pytest.skip("sentencepiece is not installed (pip install 'embedsql[siglip]')")
    rt = make_runtime("auto", str(tiny_models["siglip_spm"]), cache_dir=onnx_root)
    assert rt.kind == "torch" and "SentencePiece-only" in rt.choice_reason
    with pytest.raises(ModelLoadError, match="no `tokenizers` form"):
        from embed.onnx_runtime import OnnxRuntime

        OnnxRuntime(str(tiny_models["siglip_spm"]), cache_dir=onnx_root).load()


def test_embed_a_chinese_query_with_the_multilingual_model(tiny_models, references, tmp_path):
    """The tutorial's query, through EMBED's whole path (cache, combining) on the SigLIP model."""
    with Embedder(str(tiny_models["siglip"]), cache_dir=tmp_path) as e:
        [v] = e.embed([EmbedQuery.of("一个男人站在海滩上")])
        assert float(v @ references["siglip"][0][1]) >= 0.9999
        e.embed([EmbedQuery.of("一个男人站在海滩上")])
        assert e.last_stats().hits == 1


def test_identity_is_the_weights_not_the_folder(tiny_models, tmp_path):
    original = identify(str(tiny_models["clip"]))
    copy = shutil.copytree(tiny_models["clip"], tmp_path / "some-other-name")
    assert identify(str(copy)).digest == original.digest  # a copy anywhere is that model
    # re-saved by transformers (as the offline hint does): still that model
    from transformers import AutoModel, AutoProcessor

    resaved = tmp_path / "resaved"
    AutoModel.from_pretrained(tiny_models["clip"]).save_pretrained(resaved)
    AutoProcessor.from_pretrained(tiny_models["clip"]).save_pretrained(resaved)
    assert identify(str(resaved)).digest == original.digest
    # another model under the very same folder name is not
    impostor = build_tiny("clip", tmp_path / "x" / tiny_models["clip"].name, seed=7)
    other = identify(str(impostor))
    assert other.name == original.name and other.digest != original.digest
    assert not other.matches({"model": original.name, "dim": str(original.dim), "digest": original.digest})
    assert identify(str(copy)).matches({"model": "anything", "digest": original.digest})
