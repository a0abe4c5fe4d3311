"""Synthetic re-id embeddings with the structure of real ones, and clustering scores for the gallery.

Real re-id features are not isotropic: they live near a low-rank subspace with a decaying spectrum, share a
modality offset (visible vs infrared), and vary per identity between modalities. Observation of identity i
in modality m:  x = normalise(c_i + [m = ir] (delta u + rho w_i) + e),  where c_i is a unit centre drawn in
a rank-r subspace with variances j^-decay, u is a shared unit offset, w_i a per-identity unit offset, and
e noise of expected norm sigma (70% of its energy in the subspace, 30% isotropic).
"""
from __future__ import annotations

import numpy as np


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


class Population:
    def __init__(self, n_identities: int, dim: int = 2048, rank: int = 64, decay: float = 0.5,
                 delta: float = 0.3, rho: float = 0.3, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.dim, self.rank, self.delta, self.rho = dim, rank, delta, rho
        self.basis = np.linalg.qr(rng.standard_normal((dim, rank)))[0].T.astype(np.float32)  # (rank, dim)
        self.scale = (np.arange(1, rank + 1) ** -decay).astype(np.float32)
        self.seed = seed
        self.centres = self.identities(np.arange(n_identities))
        self.u = _unit(rng.standard_normal(rank) @ self.basis)

    def identities(self, ids: np.ndarray) -> np.ndarray:
        """Unit centres of identities ids (deterministic per id, so large sets can be made in chunks)."""
        out = np.empty((len(ids), self.dim), np.float32)
        for k, i in enumerate(ids):
            z = np.random.default_rng((self.seed, 1, int(i))).standard_normal(self.rank).astype(np.float32)
            out[k] = z * self.scale @ self.basis
        return _unit(out)

    def latents(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n fresh identities as rank-r latent codes (compact: large sets are expanded chunk by chunk)."""
        return rng.standard_normal((n, self.rank)).astype(np.float32) * self.scale

    def expand(self, latents: np.ndarray) -> np.ndarray:
        """Unit centres from latent codes."""
        return _unit(latents @ self.basis)

    def centres_fast(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """n fresh random centres in one draw (not tied to ids)."""
        return self.expand(self.latents(n, rng))

    def observe(self, centres: np.ndarray, ir: np.ndarray, sigma: float, rng: np.random.Generator,
                ids: np.ndarray | None = None) -> np.ndarray:
        """Noisy unit observations of the given centres; ir marks infrared rows; ids select w_i."""
        n = len(centres)
        x = centres.copy()
        if ir.any():
            w = self._ir_offsets(ids if ids is not None else np.arange(n))
            x[ir] += self.delta * self.u + self.rho * w[ir]
        sub = rng.standard_normal((n, self.rank)).astype(np.float32) @ self.basis / np.sqrt(self.rank)
        iso = rng.standard_normal((n, self.dim)).astype(np.float32) / np.sqrt(self.dim)
        x += sigma * (np.sqrt(0.7) * sub + np.sqrt(0.3) * iso)
        return _unit(x)

    def _ir_offsets(self, ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(ids), self.dim), np.float32)
        for k, i in enumerate(ids):
            z = np.random.default_rng((self.seed, 2, int(i))).standard_normal(self.rank).astype(np.float32)
            out[k] = z @ self.basis
        return _unit(out)


def purity_completeness(truth, predicted) -> tuple[float, float]:
    """Purity: share of items in their cluster's majority class. Completeness: share of items in their
    class's majority cluster (1.0 each when every identity maps to exactly one gallery identity)."""
    truth, predicted = list(truth), list(predicted)
    n = len(truth)
    joint: dict[tuple, int] = {}
    for t, p in zip(truth, predicted):
        joint[(t, p)] = joint.get((t, p), 0) + 1
    best_class: dict = {}
    best_cluster: dict = {}
    for (t, p), c in joint.items():
        best_class[p] = max(best_class.get(p, 0), c)
        best_cluster[t] = max(best_cluster.get(t, 0), c)
    return sum(best_class.values()) / n, sum(best_cluster.values()) / n
