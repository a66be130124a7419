"""The CLIP-like benchmark vectors (benchmarks/clipdata.py): their geometry is the one the module
documents, filters keep the fractions they name, and real vectors load from each layout."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.clipdata import SELECTIVITIES, clip_stats, exact_topk, load_vectors, make_clip_like


@pytest.fixture(scope="module")
def vs():
    return make_clip_like(12_000, 30, seed=3)


def test_geometry_matches_the_published_figures_it_is_calibrated_to(vs):
    st = clip_stats(vs)
    assert 0.45 <= st["img_img_cos"] <= 0.62        # narrow cone (~0.5 for ViT-B/32)
    assert 0.7 <= st["gap"] <= 0.95                 # modality gap (0.82, Liang et al. 2022)
    assert 0.3 <= st["txt_img_top1_cos"] <= 0.45    # best text-image cosine (~0.3, rarely > 0.4)
    assert st["txt_img_cos"] < st["img_img_cos"]    # texts sit apart from the images
    assert 20 <= st["participation_ratio"] <= 80    # low effective dimension
    assert np.allclose(np.linalg.norm(vs.images, axis=1), 1, atol=1e-5)
    assert vs.images.dtype == np.float32 and vs.images.shape == (12_000, 512)


def test_filters_keep_the_fractions_they_name(vs):
    for kind in ("uniform", "correlated"):
        for s in SELECTIVITIES:
            mask = vs.mask(kind, s)
            kept = 1.0 if mask is None else mask.mean()
            assert abs(kept - s) <= max(0.2 * s, 0.0015), (kind, s, kept)
    # the correlated filter follows the clusters: a cluster's rows mostly share its side of it
    m = vs.mask("correlated", 0.1)
    same = [max(m[vs.cluster == c].mean(), 1 - m[vs.cluster == c].mean()) for c in np.unique(vs.cluster)[:50]]
    assert np.mean(same) > 0.85
    m = vs.mask("uniform", 0.1)
    assert np.mean([max(m[vs.cluster == c].mean(), 1 - m[vs.cluster == c].mean())
                    for c in np.unique(vs.cluster)[:50]]) < 0.95


def test_deterministic_for_a_seed():
    a, b = make_clip_like(500, 3, seed=5), make_clip_like(500, 3, seed=5)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.queries, b.queries)
    assert not np.array_equal(a.images, make_clip_like(500, 3, seed=6).images)


def test_exact_topk_is_numpys_answer(vs):
    q = vs.queries[0]
    top = exact_topk(vs.images, q, 10)
    d = 1 - vs.images @ q
    assert list(top) == list(np.argsort(d, kind="stable")[:10])
    mask = vs.mask("uniform", 0.001)
    few = exact_topk(vs.images, q, 50, mask)
    assert len(few) == mask.sum() and all(mask[few])


def test_real_vectors_load_from_npy_parquet_and_clip_retrieval(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 8)).astype(np.float32)
    T = rng.standard_normal((20, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    v = load_vectors(tmp_path / "x.npy", n_queries=5)
    assert v.images.shape == (295, 8) and v.queries.shape == (5, 8)   # queries held out of the table
    assert np.allclose(np.linalg.norm(v.images, axis=1), 1, atol=1e-5)
    pq.write_table(pa.table({"id": np.arange(300), "embedding": pa.array(list(X))}), tmp_path / "x.parquet")
    v = load_vectors(tmp_path / "x.parquet", n_queries=5, n=100)
    assert v.images.shape == (100, 8) and len(v.u) == len(v.c) == 100
    # clip-retrieval's output: img_emb/img_emb_0.npy (+ text_emb/ for the queries), float16
    (tmp_path / "cr" / "img_emb").mkdir(parents=True)
    (tmp_path / "cr" / "text_emb").mkdir()
    np.save(tmp_path / "cr" / "img_emb" / "img_emb_0.npy", X[:150].astype(np.float16))
    np.save(tmp_path / "cr" / "img_emb" / "img_emb_1.npy", X[150:].astype(np.float16))
    np.save(tmp_path / "cr" / "text_emb" / "text_emb_0.npy", T.astype(np.float16))
    v = load_vectors(tmp_path / "cr", n_queries=7)
    assert v.images.shape == (300, 8) and v.queries.shape == (7, 8) and "text_emb" in v.source
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .npy or .parquet"):
        load_vectors(tmp_path / "empty")
