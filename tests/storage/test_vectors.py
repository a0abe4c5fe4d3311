"""ExemplarIndex: exact and approximate search, updates, removal."""
import numpy as np
import pytest

from starreid.storage.vectors import ExemplarIndex
from support.embeddings import Population


def index_of(dim: int, exact_below: int = 4096, pca_dim: int | None = 128, nprobe: int = 16) -> ExemplarIndex:
    return ExemplarIndex(dim, exact_below=exact_below, pca_dim=pca_dim, nlist=None, nprobe=nprobe, pq_bytes=None,
                         rows_path=None, search_threads=2)


def _data(n, dim=128, seed=0):
    pop = Population(n, dim=dim, rank=32, seed=seed)
    rng = np.random.default_rng(seed)
    gallery = pop.centres_fast(n, rng)
    pick = rng.integers(0, n, 200)
    queries = pop.observe(gallery[pick], np.zeros(200, bool), 0.5, rng)
    return gallery, queries, pick


def test_exact_search_matches_brute_force():
    gallery, queries, _ = _data(3000)
    index = index_of(128, exact_below=10_000)
    index.add(np.arange(3000) + 100, gallery)
    scores, ids = index.search(queries, 5)
    brute = queries @ gallery.T
    assert np.array_equal(ids[:, 0], np.argmax(brute, axis=1) + 100)
    np.testing.assert_allclose(scores[:, 0], brute.max(axis=1), rtol=1e-5)
    assert not index.approximate


def test_replace_and_remove():
    gallery, _, _ = _data(500)
    index = index_of(128, exact_below=10_000)
    index.add(np.arange(500), gallery)
    index.remove([0, 7, 499])
    assert len(index) == 497 and 7 not in index
    _, ids = index.search(gallery[[7]], 500)
    assert 7 not in ids and set(ids[0][ids[0] >= 0]) == set(range(500)) - {0, 7, 499}
    index.replace(3, gallery[7])
    _, ids = index.search(gallery[[7]], 1)
    assert ids[0, 0] == 3
    scores, ids = index_of(128).search(gallery[:2], 3)
    assert (ids == -1).all() and np.isneginf(scores).all()


def test_switches_to_approximate_and_keeps_exact_scores():
    gallery, queries, pick = _data(6000)
    index = index_of(128, exact_below=4000, pca_dim=32, nprobe=8)
    index.add(np.arange(3000), gallery[:3000])
    assert not index.approximate
    index.add(np.arange(3000, 6000), gallery[3000:])
    assert index.approximate and len(index) == 6000
    scores, ids = index.search(queries, 10)
    exact = queries @ gallery.T
    recall = float(np.mean(ids[:, 0] == np.argmax(exact, axis=1)))
    assert recall >= 0.9
    np.testing.assert_allclose(scores[:, 0], exact[np.arange(200), ids[:, 0]], atol=2e-3)  # re-scored
    index.remove([int(ids[0, 0])])
    _, again = index.search(queries[:1], 10)
    assert ids[0, 0] not in again
    index.replace(int(ids[1, 0]), gallery[5])
    assert np.allclose(index.vector(int(ids[1, 0])), gallery[5], atol=1e-3)


def test_dimension_is_checked():
    from starreid.app.config.gallery import GalleryConfig
    from starreid.storage.resolver import Resolver

    r = Resolver.from_config(GalleryConfig(thresholds={"rgb_rgb": 0.5, "ir_ir": 0.5, "rgb_ir": 0.5}))
    r.index_for("m", 64)
    with pytest.raises(ValueError, match="64-d"):
        r.index_for("m", 32)
    r.index_for("other-model", 32)  # another model is another index
