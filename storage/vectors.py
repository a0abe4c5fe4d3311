"""Nearest-exemplar search with faiss: exact inner product below a size, PCA + IVF above it.

Vectors are L2-normalised, so inner product is cosine similarity. Every vector is also kept in a row store
so that candidates from the approximate index are re-scored with their full vectors: scores, and so
thresholds, mean the same at every size. The switch is low by default because exact search of a batch
costs batch x size x dim; the IVF is re-clustered each time the index grows 8-fold past the size it was
trained for (and at every start, from Redis). Memory: the row store is float32, and float16 once it would
pass half_above_bytes (1M x 2048 -> 4 GiB), plus the IVF lists at pca_dim (1M x 128 -> 0.5 GiB).
Ids are small non-negative integers (counters): they index an array.
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import faiss
import numpy as np

log = logging.getLogger(__name__)


def principal_components(sample: np.ndarray, k: int, iterations: int = 2, oversample: int = 32,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean, dim x k top principal directions, share of the variance they keep) of sample's rows.

    Randomized subspace iteration (Halko, Martinsson and Tropp 2011) on the centred rows: a few products with
    a dim x (k + oversample) block, never the dim x dim covariance and its eigendecomposition. At 4096 x 2048
    and k = 128 it takes a third of the time of the exact top-k eigenvectors (scipy eigh, MRRR) and keeps
    99.9% of the variance they keep (measured on tests/support/embeddings data: 0.9322 vs 0.9332)."""
    x = np.ascontiguousarray(sample, np.float32)
    mean = x.mean(axis=0)
    x = x - mean
    width = min(x.shape[1], k + oversample)
    basis = np.random.default_rng(seed).standard_normal((x.shape[1], width)).astype(np.float32)
    basis, _ = np.linalg.qr(basis)
    for _ in range(iterations):
        basis, _ = np.linalg.qr(x.T @ (x @ basis))
    proj = x @ basis
    eig, rot = np.linalg.eigh((proj.T @ proj).astype(np.float64))  # the small width x width problem
    top = np.argsort(eig)[::-1][:k]
    comps = np.ascontiguousarray(basis @ rot[:, top].astype(np.float32))
    total = float(np.einsum("ij,ij->", x, x, dtype=np.float64))
    return mean, comps, float(eig[top].sum() / max(total, 1e-12))


class ExemplarIndex:
    """int64 id -> vector, with add, replace, remove, lookup and top-k search."""

    SHORTLIST = 64  # candidates fetched from the approximate index before re-scoring with the full vectors
    PCA_SAMPLE = 4096  # rows the PCA is fitted on
    HALF_ABOVE_BYTES = 1 << 30  # full vectors are kept as float16 past this size

    def __init__(self, dim: int, *, exact_below: int, pca_dim: int | None, nlist: int | None, nprobe: int,
                 pq_bytes: int | None, rows_path: str | os.PathLike | None, search_threads: int):
        """pq_bytes: the approximate index keeps each vector as a product-quantized code of this many bytes
        (IVF-PQ on the PCA space: pq_bytes + 8 bytes a vector) instead of its pca_dim floats (IVF-Flat).
        rows_path: the full vectors kept for re-scoring live in this file (float16, memory-mapped: the page
        cache holds what is used, the disk the rest) instead of in memory. Both are for galleries whose
        vectors do not fit in memory (10M x 2048-d: 41 GB as float16); docs/gallery.md, "At scale".
        search_threads: faiss threads for a batch of queries in the approximate index (and its re-scoring)."""
        self.dim = dim
        self.search_threads = search_threads
        self.exact_below = exact_below
        self.pca_dim = pca_dim if pca_dim is not None and pca_dim < dim else None
        self.nlist = nlist
        self._nprobe = nprobe
        self.shortlist = self.SHORTLIST
        self.half_above_bytes = self.HALF_ABOVE_BYTES
        self._ann = None
        self._pca: tuple[np.ndarray, np.ndarray] | None = None  # (mean, dim x pca_dim components)
        self._trained_for = 0  # vectors the approximate index was sized for; retrained at 8x that
        self.pq_bytes = pq_bytes
        self.rows_path = Path(rows_path) if rows_path is not None else None
        self._vecs = self._new_rows(64, np.float32)  # rows 0..n-1 are live
        self._row_ids = np.zeros(64, np.int64)  # row -> id
        self._row_at = np.full(64, -1, np.int64)  # id -> row (-1: absent)
        self._n = 0
        self._dirty: dict[int, None] = {}  # ids written since the approximate index last saw them

    @property
    def nprobe(self) -> int:
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        """IVF cells visited per query: more cells, better recall, slower search."""
        self._nprobe = value
        if self._ann is not None:
            self._ann.nprobe = value

    @property
    def approximate(self) -> bool:
        return self._ann is not None

    def __len__(self) -> int:
        return self._n

    def __contains__(self, vid: int) -> bool:
        return 0 <= vid < len(self._row_at) and self._row_at[vid] >= 0

    def vector(self, vid: int) -> np.ndarray:
        return self._vecs[self._row_at[vid]].astype(np.float32)

    def scores(self, ids, vec: np.ndarray) -> np.ndarray:
        """Cosine of vec with each of the (present) ids."""
        return self._vecs[self._row_at[np.asarray(ids, np.int64)]].astype(np.float32, copy=False) @ vec

    # ------------------------------------------------------------ updates
    def _new_rows(self, rows: int, dtype) -> np.ndarray:
        """A zeroed row store of `rows` rows: in memory, or (rows_path) float16 in a memory-mapped file."""
        if self.rows_path is None:
            return np.zeros((rows, self.dim), dtype)
        return self._map_rows(rows, fresh=True)

    def _map_rows(self, rows: int, fresh: bool = False) -> np.ndarray:
        self.rows_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.rows_path, "wb" if fresh else "r+b") as f:  # a sparse file: no disk used until written
            f.truncate(rows * self.dim * 2)
        return np.memmap(self.rows_path, np.float16, "r+", shape=(rows, self.dim))

    def _grow_rows(self, rows: int) -> None:
        """Room for `rows` rows; rows 0..n-1 are kept."""
        if self.rows_path is not None:
            self._vecs.flush()
            self._vecs = self._map_rows(rows)  # the file grows in place: nothing is copied
        else:
            grown = np.zeros((rows, self.dim), self._vecs.dtype)
            grown[: self._n] = self._vecs[: self._n]
            self._vecs = grown
        self._row_ids = np.resize(self._row_ids, rows)

    def memory_mb(self) -> dict[str, float]:
        """MiB held, by part: 'rows' (the full vectors; on disk with rows_path: 'rows_on_disk'), 'index' (the
        approximate index: codes or reduced vectors, ids), 'maps' (id <-> row)."""
        rows = self._n * self.dim * self._vecs.dtype.itemsize / 2 ** 20
        out = {"rows_on_disk" if self.rows_path is not None else "rows": rows,
               "maps": (self._row_at.nbytes + self._row_ids.nbytes) / 2 ** 20}
        if self._ann is not None:
            per = (self.pq_bytes if self.pq_bytes else 4 * (self.pca_dim or self.dim)) + 8
            out["index"] = (self._ann.ntotal * per + self._ann.nlist * 4 * (self.pca_dim or self.dim)) / 2 ** 20
        return out

    def reserve(self, rows: int, max_id: int | None = None) -> None:
        """Allocate the row store once for a known size (bulk loads), instead of growing it by doubling."""
        if rows > len(self._vecs):
            self._grow_rows(rows)
        top = max_id + 1 if max_id is not None else rows
        if top > len(self._row_at):
            grown_at = np.full(top, -1, np.int64)
            grown_at[: len(self._row_at)] = self._row_at
            self._row_at = grown_at

    def add(self, ids, vecs: np.ndarray) -> None:
        ids = np.ascontiguousarray(ids, np.int64).reshape(-1)
        if len(ids) == 0:
            return
        single = len(ids) == 1  # the resolver adds one exemplar at a time: no array work it does not need
        if single:
            vid = int(ids[0])
            if vid < 0 or (vid < len(self._row_at) and self._row_at[vid] >= 0):
                raise ValueError("ids must be non-negative and not present")
            top = vid + 1
        else:
            known = ids[ids < len(self._row_at)]
            if ids.min() < 0 or (self._row_at[known] >= 0).any():
                raise ValueError("ids must be non-negative and not present")
            top = int(ids.max()) + 1
        n, need = self._n, self._n + len(ids)
        if need > len(self._vecs):
            self._grow_rows(max(need, 2 * len(self._vecs)))
        if top > len(self._row_at):
            grown = np.full(max(top, 2 * len(self._row_at)), -1, np.int64)
            grown[: len(self._row_at)] = self._row_at
            self._row_at = grown
        if single:
            self._vecs[n] = np.reshape(vecs, self.dim)
            self._row_ids[n] = vid
            self._row_at[vid] = n
        else:
            self._vecs[n:need] = np.reshape(vecs, (len(ids), self.dim))
            self._row_ids[n:need] = ids
            self._row_at[ids] = np.arange(n, need)
        self._n = need
        if self._ann is not None:
            if single:
                self._dirty[vid] = None
            else:
                self._dirty.update(dict.fromkeys(ids.tolist()))
            if need >= 8 * self._trained_for:  # IVF cells sized for a much smaller index: re-cluster
                self._to_approximate()
        elif need >= self.exact_below:
            self._to_approximate()

    def replace(self, vid: int, vec: np.ndarray) -> None:
        self._vecs[self._row_at[vid]] = vec
        if self._ann is not None:
            self._dirty[vid] = None

    def _flush(self) -> None:
        """Bring the approximate index up to date with the row store, in one projection for all writes."""
        if self._ann is None or not self._dirty:
            return
        ids = np.fromiter(self._dirty, np.int64, len(self._dirty))
        self._dirty.clear()
        self._ann.remove_ids(faiss.IDSelectorArray(ids))  # the old versions of replaced vectors
        for at in range(0, len(ids), 50_000):
            part = ids[at: at + 50_000]
            self._ann.add_with_ids(self._project(self._vecs[self._row_at[part]].astype(np.float32)), part)

    def remove(self, ids) -> None:
        ids = [int(i) for i in ids if int(i) in self]
        self._flush()
        if self._ann is not None and ids:
            self._ann.remove_ids(faiss.IDSelectorArray(np.array(ids, np.int64)))
        for vid in ids:  # swap-remove keeps rows 0..n-1 dense
            row, last = int(self._row_at[vid]), self._n - 1
            self._row_at[vid] = -1
            if row != last:
                moved = int(self._row_ids[last])
                self._vecs[row] = self._vecs[last]
                self._row_ids[row] = moved
                self._row_at[moved] = row
            self._n = last

    # ------------------------------------------------------------ search
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(nq, k) cosine scores and ids, best first; missing neighbours have id -1 and score -inf."""
        queries = np.ascontiguousarray(queries, np.float32).reshape(-1, self.dim)
        n = self._n
        out_s = np.full((len(queries), k), -np.inf, np.float32)
        out_i = np.full((len(queries), k), -1, np.int64)
        if n == 0 or len(queries) == 0:
            return out_s, out_i
        if self._ann is None:
            kk = min(k, n)
            scores, rows = faiss.knn(queries, self._vecs[:n], kk, metric=faiss.METRIC_INNER_PRODUCT)
            out_s[:, :kk] = np.where(rows >= 0, scores, -np.inf)
            out_i[:, :kk] = np.where(rows >= 0, self._row_ids[np.maximum(rows, 0)], -1)
            return out_s, out_i
        self._flush()
        threads = self.search_threads if len(queries) >= 2 * self.search_threads else 1
        if threads > 1:  # a batch of queries splits across threads; single updates stay on one (OpenMP's
            before = faiss.omp_get_max_threads()  # start-up costs more than a single add or replace)
            faiss.omp_set_num_threads(threads)
        try:
            _, cand = self._ann.search(self._project(queries), min(max(k, self.shortlist), n))
            # Re-score the shortlist with the full vectors, every query at once (no Python loop per query).
            exact = self._rescore(queries, cand)
        finally:
            if threads > 1:
                faiss.omp_set_num_threads(before)
        kk = min(k, cand.shape[1])
        order = np.argsort(-exact, axis=1, kind="stable")[:, :kk]
        top_s = np.take_along_axis(exact, order, axis=1)
        top_i = np.take_along_axis(cand, order, axis=1)
        missing = ~np.isfinite(top_s)
        out_s[:, :kk] = np.where(missing, -np.inf, top_s)
        out_i[:, :kk] = np.where(missing, -1, top_i)
        return out_s, out_i

    def _rescore(self, queries: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """(nq, S) cosine of each query with its candidates (ids; -1 = none -> -inf), from the row store."""
        rows = np.where(cand >= 0, self._row_at[np.maximum(cand, 0)], -1)
        out = np.empty(cand.shape, np.float32)
        if self._vecs.dtype == np.float32:  # faiss gathers and multiplies in C++, without copying the rows
            rows = np.ascontiguousarray(rows, np.int64)
            faiss.fvec_inner_products_by_idx(faiss.swig_ptr(out), faiss.swig_ptr(queries), faiss.swig_ptr(self._vecs),
                                             faiss.swig_ptr(rows), self.dim, len(queries), rows.shape[1])
            return out
        step = max(1, (8 << 20) // max(1, rows.shape[1] * self.dim * 4))  # float16 rows: gather ~8 MB at a time
        for at in range(0, len(queries), step):
            part = rows[at: at + step]
            got = self._vecs[np.maximum(part, 0)].astype(np.float32)
            out[at: at + step] = np.einsum("qsd,qd->qs", got, queries[at: at + step])
        out[rows < 0] = -np.inf
        return out

    # ------------------------------------------------------------ approximate mode
    def _project(self, vecs: np.ndarray) -> np.ndarray:
        """Rows -> unit rows in the PCA subspace (what the IVF holds and searches)."""
        vecs = np.ascontiguousarray(vecs, np.float32)
        if self._pca is not None:
            mean, comps = self._pca
            vecs = (vecs - mean) @ comps
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return np.ascontiguousarray(vecs / np.maximum(norms, 1e-12), np.float32)

    def build_approximate(self, sample: np.ndarray, total: int | None = None) -> None:
        """Fit PCA and IVF cells on sample (normalised rows) and move every vector into the new index.

        total: the number of vectors expected (sizes the IVF); defaults to the current count."""
        sample = np.ascontiguousarray(sample, np.float32)
        n = max(total or 0, self._n, len(sample))
        self._pca, kept = None, 1.0
        if self.pca_dim:
            mean, comps, kept = principal_components(sample[: self.PCA_SAMPLE], self.pca_dim)
            self._pca = (mean, comps)
        nlist = self.nlist or max(16, int(math.sqrt(n)))
        nlist = max(1, min(nlist, len(sample) // 16))
        width = self.pca_dim or self.dim
        self._quantizer = faiss.IndexFlatIP(width)  # the IVF does not own it: keep it alive here
        if self.pq_bytes:
            index = faiss.IndexIVFPQ(self._quantizer, width, nlist, self.pq_bytes, 8, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexIVFFlat(self._quantizer, width, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        index.cp.max_points_per_centroid = 64
        index.train(self._project(sample))
        index.set_direct_map_type(faiss.DirectMap.Hashtable)  # cheap remove by id
        index.nprobe = self.nprobe
        self._ann, self._trained_for = index, n
        self._dirty.clear()  # every live row is added below
        live = self._n
        for at in range(0, live, 50_000):  # in chunks: the row store may be float16 and large
            part = slice(at, min(live, at + 50_000))
            index.add_with_ids(self._project(self._vecs[part].astype(np.float32)), self._row_ids[part])
        if n * self.dim * 4 > self.half_above_bytes and self.rows_path is None:
            self._vecs = self._vecs.astype(np.float16, copy=False)
        log.info("approximate index: %d vectors, PCA %d -> %s keeps %.1f%% of the variance, IVF%s %d cells, "
                 "nprobe %d", live, self.dim, self.pca_dim, 100 * kept, f"-PQ{self.pq_bytes}" if self.pq_bytes else "",
                 nlist, self.nprobe)

    def _to_approximate(self) -> None:
        live = self._n
        take = np.random.default_rng(live).choice(live, size=min(live, 50_000), replace=False)
        self.build_approximate(self._vecs[np.sort(take)].astype(np.float32))
