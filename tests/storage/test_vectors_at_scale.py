"""ExemplarIndex's options for galleries that do not fit in memory: IVF-PQ codes (pq_bytes) and the full
vectors memory-mapped from a file (rows_path); and the resolver building them from the config section."""
import numpy as np

from starreid.app.config.gallery import GalleryConfig
from starreid.storage.resolver import Resolver
from starreid.storage.vectors import ExemplarIndex, principal_components
from support.embeddings import Population


def _data(n, dim=256, seed=0):
    pop = Population(n, dim=dim, rank=32, seed=seed)
    rng = np.random.default_rng(seed)
    gallery = pop.centres_fast(n, rng)
    pick = rng.integers(0, n, 200)
    return gallery, pop.observe(gallery[pick], np.zeros(200, bool), 0.5, rng), pick


def test_pq_and_memory_mapped_rows_find_what_exact_search_finds(tmp_path):
    gallery, queries, pick = _data(6000)
    path = tmp_path / "rows.f16"
    index = ExemplarIndex(256, exact_below=2000, pca_dim=64, nlist=None, nprobe=16, pq_bytes=16, rows_path=path, search_threads=2)
    for at in range(0, 6000, 1000):  # grows past exact_below and the first row store: the file is extended
        index.add(np.arange(at, at + 1000), gallery[at: at + 1000])
    assert index.approximate and isinstance(index._vecs, np.memmap) and path.stat().st_size >= 6000 * 256 * 2
    scores, ids = index.search(queries, 5)
    brute = queries @ gallery.T
    assert np.mean(ids[:, 0] == np.argmax(brute, axis=1)) >= 0.95
    # re-scored with the full (float16) vectors, not the PQ codes
    np.testing.assert_allclose(scores[:, 0], brute[np.arange(200), ids[:, 0]], atol=2e-3)
    mem = index.memory_mb()
    assert set(mem) == {"rows_on_disk", "maps", "index"} and mem["index"] < mem["rows_on_disk"]
    index.remove([int(ids[0, 0])])
    assert int(ids[0, 0]) not in index.search(queries[:1], 5)[1]


def test_randomized_pca_keeps_nearly_what_the_exact_one_keeps():
    gallery, _, _ = _data(4096)
    mean, comps, kept = principal_components(gallery, 32)
    x = gallery - gallery.mean(axis=0)
    eig = np.linalg.eigvalsh(x.T.astype(np.float64) @ x)[::-1]
    assert comps.shape == (256, 32) and kept >= 0.99 * eig[:32].sum() / eig.sum()


def test_the_resolver_builds_indexes_from_the_config_section(tmp_path):
    g = GalleryConfig(index={"pca_dim": 64, "pq_bytes": 16, "rows_dir": str(tmp_path)})
    index = Resolver.from_config(g).index_for("any model id / with slashes", 256)
    assert index.pq_bytes == 16 and index.rows_path.parent == tmp_path and index.rows_path.exists()
