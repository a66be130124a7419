"""CLIP-like vectors for vector-search benchmarks, and a loader for real ones.

No real CLIP weights can be downloaded here, so the search benchmarks run on synthetic vectors built
to have the geometry that makes CLIP retrieval hard for an approximate index. Uniformly random
vectors are the wrong test: they have no clusters, no shared direction and no modality gap, and an
HNSW setting tuned on them overstates recall on real embeddings (issue 10: recall@10 0.993 at
`ef_s = 64` on random vectors, 0.77-0.85 on the clustered data below).

What real CLIP embeddings look like (the targets; `clip_stats` measures each on generated data):

| property | CLIP ViT-B/32 (published) | here (defaults, 512-d) |
|---|---|---|
| narrow cone: mean cosine between two images | ~0.5, as commonly reported for ViT-B/32 (the cone effect: Liang et al. 2022, "Mind the Gap", NeurIPS) | `img_img_cos` 0.52-0.56 |
| modality gap: distance between the image and text centroids (unit vectors) | 0.82 on MSCOCO (Liang et al. 2022) | `gap` 0.84-0.86 |
| a caption's cosine to its matching image | ~0.3, rarely above 0.4 (Hessel et al. 2021, CLIPScore, which rescales cosines by w = 2.5) | `txt_img_top1_cos` ~0.38 (the best of n images) |
| clustered, hierarchical content | photo collections group into topics and sub-topics | `topics` x `clusters` two-level mixture, Zipf-sized |
| low effective dimension | the variance sits in a small subspace (anisotropy: Ethayarajh 2019 for text encoders; Liang et al. 2022 for CLIP's cone) | power-law spectrum over `rank` semantic dimensions plus an isotropic part: `participation_ratio` ~40, 90 % of the variance in ~250 of 512 dimensions |

These are approximate published figures, not measurements of real vectors on this machine: a
benchmark that takes this data also takes a real vectors file (`load_vectors`: parquet, `.npy`, or
clip-retrieval's `img_emb/` + `text_emb/` layout), so anyone with real embeddings can rerun it.

Construction (all directions from one random orthonormal basis `B` of R^d):
- image = normalize(a * B0 + g/2 * B1 + topic + cluster + noise), text query =
  normalize(a * B0 - g/2 * B1 + lam * (topic + cluster) + text noise): `B0` is the shared mean
  direction (the cone), `B1` the gap direction (images and texts are offset from each other along
  it), topic/cluster centres and noise live in the `rank`-dimensional semantic subspace B2..B(rank+1)
  with a power-law spectrum (`alpha`), plus a small isotropic part in all d dimensions (full rank).
- Each text query is aimed at one cluster (chosen with probability proportional to its size, as
  queries follow content); its exact nearest images are mostly, not only, in that cluster.

Metadata filters (`filter_columns`), both with values 0..999 so that `col < 1000 * s` selects a
fraction `s` of the rows (SELECTIVITIES: 0.1 %, 1 %, 10 %, 50 %, 100 %):
- `u`: uniform, independent of the vectors;
- `c`: cluster-correlated, like `country = 'Iceland'` and what the photos show: clusters are laid
  out in random order on 0..999, each over a band proportional to its size, and 90 % of a cluster's
  rows take a value inside its band (10 % anywhere). `c < 1000 * s` then keeps whole clusters, so a
  query aimed at a cluster outside the filter has its filtered neighbours far away: the hard case
  for post-filtering an index.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SELECTIVITIES = (0.001, 0.01, 0.1, 0.5, 1.0)
FILTER_KINDS = ("uniform", "correlated")
FILTER_COLUMN = {"uniform": "u", "correlated": "c"}


@dataclass
class VectorSet:
    """Vectors and metadata for one benchmark run.

    images: (n, d) float32, unit rows (the table); queries: (q, d) float32, unit rows;
    u, c: (n,) uint16 filter columns in 0..999 (uniform, cluster-correlated);
    cluster: (n,) int32 cluster of each row (-1 when unknown); source: where it came from."""

    images: np.ndarray
    queries: np.ndarray
    u: np.ndarray
    c: np.ndarray
    cluster: np.ndarray
    source: str
    params: dict = field(default_factory=dict)

    def mask(self, kind: str, s: float) -> np.ndarray | None:
        """Rows kept by the filter of `kind` at selectivity `s` (None: no filter)."""
        if s >= 1.0:
            return None
        col = self.u if kind == "uniform" else self.c
        return col < int(round(1000 * s))

    def where(self, kind: str, s: float) -> str | None:
        """The SQL filter matching `mask` (None: no WHERE)."""
        if s >= 1.0:
            return None
        return f"{FILTER_COLUMN[kind]} < {int(round(1000 * s))}"


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def make_clip_like(n: int, n_queries: int = 30, *, dim: int = 512, seed: int = 0,
                   rank: int = 96, alpha: float = 0.4, topics: int | None = None,
                   clusters: int | None = None, cone: float = 1.45, gap: float = 2.1,
                   topic_scale: float = 1.0, cluster_scale: float = 0.75, noise_scale: float = 0.9,
                   iso: float = 0.9, text_lambda: float = 0.3, text_noise: float = 1.6) -> VectorSet:
    """n CLIP-like image vectors and n_queries text-query vectors (see the module docstring).

    Scales are relative to the semantic part's total standard deviation (1.0). `cone` sets the
    shared mean direction's weight (mean image-image cosine), `gap` the offset between images and
    texts along B1 (centroid distance), `text_lambda`/`text_noise` how much of its cluster a text
    query carries (matched text-image cosine). Deterministic for a given seed. Memory: n * dim * 4
    bytes for the result plus one chunk of work space."""
    rng = np.random.default_rng(seed)
    rank = min(rank, dim - 2)  # B0 and B1 are taken
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    basis = basis.T.astype(np.float32)                     # rows: orthonormal directions
    mean_dir, gap_dir, sem = basis[0], basis[1], basis[2:2 + rank]
    spec = (np.arange(1, rank + 1, dtype=np.float32) ** -alpha)
    spec /= np.sqrt((spec ** 2).sum())                     # semantic part: total std 1
    n_topics = topics or max(4, int(round(np.sqrt(max(n, 1) / 25))))
    n_clusters = clusters or max(n_topics, n // 200)
    topic_c = rng.standard_normal((n_topics, rank)).astype(np.float32) * spec * topic_scale
    topic_of = rng.integers(0, n_topics, n_clusters)
    clus_c = topic_c[topic_of] + rng.standard_normal((n_clusters, rank)).astype(np.float32) * spec * cluster_scale
    # Zipf-like cluster sizes: a few big topics, a long tail
    w = rng.pareto(1.5, n_clusters) + 1.0
    w /= w.sum()
    cluster = rng.choice(n_clusters, size=n, p=w).astype(np.int32)
    img_off = cone * mean_dir + (gap / 2) * gap_dir
    txt_off = cone * mean_dir - (gap / 2) * gap_dir
    iso_sd = iso / np.sqrt(dim)
    out = np.empty((n, dim), dtype=np.float32)
    step = 50_000
    for s in range(0, n, step):
        m = min(step, n - s)
        z = clus_c[cluster[s:s + m]] + rng.standard_normal((m, rank)).astype(np.float32) * spec * noise_scale
        x = img_off + z @ sem + rng.standard_normal((m, dim)).astype(np.float32) * iso_sd
        out[s:s + m] = _unit(x)
    q_cluster = rng.choice(n_clusters, size=n_queries, p=w)
    zq = text_lambda * clus_c[q_cluster] + rng.standard_normal((n_queries, rank)).astype(np.float32) * spec * text_noise
    queries = _unit(txt_off + zq @ sem + rng.standard_normal((n_queries, dim)).astype(np.float32) * iso_sd)
    u, c = filter_columns(cluster, seed=seed + 1)
    params = dict(n=n, queries=n_queries, dim=dim, seed=seed, rank=rank, alpha=alpha, topics=n_topics,
                  clusters=n_clusters, cone=cone, gap=gap, topic_scale=topic_scale,
                  cluster_scale=cluster_scale, noise_scale=noise_scale, iso=iso,
                  text_lambda=text_lambda, text_noise=text_noise)
    return VectorSet(out, queries, u, c, cluster, "synthetic CLIP-like", params)


def filter_columns(cluster: np.ndarray, *, seed: int = 0, in_band: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """(u, c) filter columns for rows of the given clusters: u uniform in 0..999; c correlated with
    the cluster (see the module docstring). Both uint16."""
    rng = np.random.default_rng(seed)
    n = len(cluster)
    u = rng.integers(0, 1000, n).astype(np.uint16)
    ids, counts = np.unique(cluster, return_counts=True)
    order = rng.permutation(len(ids))
    lo = np.zeros(len(ids))
    lo[order] = np.concatenate([[0.0], np.cumsum(counts[order])[:-1]]) / n * 1000
    width = counts / n * 1000
    pos = np.searchsorted(ids, cluster)
    band = lo[pos] + rng.random(n) * width[pos]
    anywhere = rng.random(n) * 1000
    c = np.where(rng.random(n) < in_band, band, anywhere)
    return u, np.minimum(c, 999).astype(np.uint16)


def _pseudo_clusters(X: np.ndarray, seed: int, per: int = 200) -> np.ndarray:
    """Cluster ids for real vectors: nearest of n/per rows picked at random (one pass of k-means'
    assignment; enough to make the correlated filter follow the content)."""
    rng = np.random.default_rng(seed)
    k = max(2, len(X) // per)
    centres = X[rng.choice(len(X), k, replace=False)]
    out = np.empty(len(X), dtype=np.int32)
    for s in range(0, len(X), 20_000):
        out[s:s + 20_000] = np.argmax(X[s:s + 20_000] @ centres.T, axis=1)
    return out


def _read_matrix(path: Path, column: str | None = None) -> np.ndarray:
    if path.is_dir():
        files = sorted(path.glob("*.npy")) or sorted(path.glob("*.parquet"))
        if not files:
            raise ValueError(f"{path}: no .npy or .parquet files in this directory")
        return np.concatenate([_read_matrix(f, column) for f in files])
    if path.suffix == ".npy":
        return np.load(path, mmap_mode="r").astype(np.float32)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        t = pq.read_table(path)
        name = column
        if name is None:
            import pyarrow as pa

            lists = [f.name for f in t.schema if pa.types.is_list(f.type) or pa.types.is_fixed_size_list(f.type)
                     or pa.types.is_large_list(f.type)]
            if not lists:
                raise ValueError(f"{path}: no list column holds vectors (give --vector-column)")
            name = lists[0]
        col = t.column(name).combine_chunks()
        return np.asarray(col.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(len(col), -1)
    raise ValueError(f"{path}: expected a .npy or .parquet file, or a directory of them")


def load_vectors(path: str | Path, *, queries: str | Path | None = None, n: int | None = None,
                 n_queries: int = 30, column: str | None = None, seed: int = 0) -> VectorSet:
    """Real embeddings instead of synthetic ones.

    `path`: a `.npy` (N x d) file, a `.parquet` file with a list column of vectors (`column`, else
    the first list column), a directory of either, or a clip-retrieval output directory (its
    `img_emb/img_emb_*.npy` are the table; its `text_emb/text_emb_*.npy`, when present, the queries).
    `queries`: a file or directory of query vectors; without one (and no text_emb/), queries are
    held-out table rows (image-to-image search; the modality gap is then not exercised).
    `n`: use the first n rows. Rows are normalized to unit length."""
    path = Path(path)
    qpath = Path(queries) if queries else None
    if path.is_dir() and (path / "img_emb").is_dir():
        if qpath is None and (path / "text_emb").is_dir():
            qpath = path / "text_emb"
        path = path / "img_emb"
    X = _read_matrix(path, column)
    rng = np.random.default_rng(seed)
    if qpath is not None:
        Q = _read_matrix(qpath, column)
        Q = Q[rng.choice(len(Q), min(n_queries, len(Q)), replace=False)]
        source = f"{path} (queries: {qpath})"
    else:
        held = rng.choice(len(X), min(n_queries, len(X) // 10 or 1), replace=False)
        keep = np.ones(len(X), bool)
        keep[held] = False
        Q, X = X[held], X[keep]
        source = f"{path} (queries: {len(Q)} held-out rows)"
    if n is not None:
        X = X[:n]
    X, Q = _unit(np.asarray(X, dtype=np.float32)), _unit(np.asarray(Q, dtype=np.float32))
    cluster = _pseudo_clusters(X, seed)
    u, c = filter_columns(cluster, seed=seed + 1)
    return VectorSet(X, Q, u, c, cluster, source, {"n": len(X), "queries": len(Q), "dim": X.shape[1]})


def clip_stats(vs: VectorSet, sample: int = 2000, seed: int = 0) -> dict:
    """The geometry figures of the table in the module docstring, measured on `vs`."""
    rng = np.random.default_rng(seed)
    X = vs.images[rng.choice(len(vs.images), min(sample, len(vs.images)), replace=False)]
    Q = vs.queries
    g = X @ X.T
    iu = np.triu_indices(len(X), 1)
    out = {"img_img_cos": float(g[iu].mean())}
    if len(Q) > 1:
        t = Q @ Q.T
        out["txt_txt_cos"] = float(t[np.triu_indices(len(Q), 1)].mean())
    out["txt_img_cos"] = float((Q @ X.T).mean())
    out["txt_img_top1_cos"] = float(np.mean([np.max(vs.images @ q) for q in Q[:50]]))
    out["gap"] = float(np.linalg.norm(X.mean(0) - Q.mean(0)))
    ev = np.linalg.eigvalsh(np.cov(X.T.astype(np.float64)))[::-1].clip(min=0)
    out["participation_ratio"] = float(ev.sum() ** 2 / (ev ** 2).sum())
    out["dims_90pct_variance"] = int(np.searchsorted(np.cumsum(ev) / ev.sum(), 0.9) + 1)
    # how much of a text query's exact top-10 lies in the cluster it was aimed at is not known for
    # real data; for synthetic data the generator's own cluster ids tell
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in out.items()}


def exact_topk(X: np.ndarray, q: np.ndarray, k: int = 10, mask: np.ndarray | None = None) -> np.ndarray:
    """Row indices of the k smallest cosine distances (unit rows: largest dot products), best first;
    only rows where `mask` is True when given. Fewer than k when fewer rows match."""
    s = X @ q
    if mask is not None:
        idx_all = np.flatnonzero(mask)
        s = s[idx_all]
    else:
        idx_all = None
    kk = min(k, len(s))
    if kk == 0:
        return np.empty(0, dtype=np.int64)
    top = np.argpartition(-s, kk - 1)[:kk]
    top = top[np.argsort(-s[top], kind="stable")]
    return top if idx_all is None else idx_all[top]
