"""Clip samplers of the protocol (frame indices per tracklet) and the P x K identity batch sampler."""
from __future__ import annotations

import math

import numpy as np


def _chunks(n: int, seq_len: int) -> np.ndarray:
    """(seq_len, k) frame indices: the frame list padded with its last frame to k*seq_len, in seq_len chunks.

    With n >= seq_len, k = ceil(n / seq_len); with n < seq_len, k = 1 (every frame, then the last repeated)."""
    if n < 1 or seq_len < 1:
        raise ValueError(f"need n >= 1 and seq_len >= 1, got n={n}, seq_len={seq_len}")
    k = max(1, math.ceil(n / seq_len))
    idx = np.minimum(np.arange(k * seq_len), n - 1)
    return idx.reshape(seq_len, k)


def sample_test_clip(n: int, seq_len: int) -> np.ndarray:
    """Deterministic test clip: frames 0, k, 2k, ... of the padded list (one clip per tracklet)."""
    return _chunks(n, seq_len)[:, 0].copy()


def sample_train_clip(n: int, seq_len: int, rng: np.random.Generator) -> np.ndarray:
    """Training clip: one random frame from each of the seq_len chunks."""
    chunks = _chunks(n, seq_len)
    return chunks[np.arange(seq_len), rng.integers(0, chunks.shape[1], size=seq_len)]


class PKSampler:
    """Batches of P identities x K tracklets per modality (2*P*K tracklet indices per batch).

    Only identities with tracklets in both modalities are drawn; an identity with fewer than K tracklets of a
    modality contributes repeats. One epoch visits every eligible identity once (the last, short batch dropped).
    """

    def __init__(self, pids, modalities, p: int, k: int, seed: int = 0):
        pids, mods = np.asarray(pids), np.asarray(modalities)
        if len(pids) != len(mods):
            raise ValueError("pids and modalities differ in length")
        self.p, self.k = p, k
        self.rng = np.random.default_rng(seed)
        self.by_id = {}
        for pid in np.unique(pids):
            ir = np.flatnonzero((pids == pid) & (mods == "ir"))
            rgb = np.flatnonzero((pids == pid) & (mods == "rgb"))
            if len(ir) and len(rgb):
                self.by_id[int(pid)] = (ir, rgb)
        if len(self.by_id) < p:
            raise ValueError(f"only {len(self.by_id)} identities have both modalities; P = {p}")

    def __len__(self) -> int:
        return len(self.by_id) // self.p

    def _pick(self, pool: np.ndarray) -> np.ndarray:
        return self.rng.choice(pool, size=self.k, replace=len(pool) < self.k)

    def __iter__(self):
        """Yields (ir_indices (P*K,), rgb_indices (P*K,)), identity-major: rows i*K..i*K+K-1 share a person."""
        ids = self.rng.permutation(sorted(self.by_id))
        for b in range(len(self)):
            batch = ids[b * self.p:(b + 1) * self.p]
            ir = np.concatenate([self._pick(self.by_id[int(i)][0]) for i in batch])
            rgb = np.concatenate([self._pick(self.by_id[int(i)][1]) for i in batch])
            yield ir, rgb
