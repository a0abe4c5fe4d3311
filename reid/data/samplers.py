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


EPOCHS = ("tracklets", "identities")


class PKSampler:
    """Batches of P identities x K tracklets per modality (2*P*K tracklet indices per batch).

    Only identities with tracklets in both modalities are drawn; an identity with fewer than K tracklets of a
    modality contributes repeats. epoch="tracklets" (the authors' IdentitySampler): min(RGB tracklets, IR
    tracklets) // (P*K) batches, each of P distinct identities drawn at random. epoch="identities": one pass
    over a permutation of the eligible identities (the last, short batch dropped).
    """

    def __init__(self, pids, modalities, p: int, k: int, seed: int = 0, epoch: str = "tracklets"):
        pids, mods = np.asarray(pids), np.asarray(modalities)
        if len(pids) != len(mods):
            raise ValueError("pids and modalities differ in length")
        if epoch not in EPOCHS:
            raise ValueError(f"epoch must be one of {EPOCHS}, got {epoch!r}")
        self.p, self.k, self.epoch = p, k, epoch
        self.per_modality = int(min(np.sum(mods == "rgb"), np.sum(mods == "ir")))
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
        if self.epoch == "tracklets":
            return max(1, self.per_modality // (self.p * self.k))
        return len(self.by_id) // self.p

    def _pick(self, pool: np.ndarray) -> np.ndarray:
        return self.rng.choice(pool, size=self.k, replace=len(pool) < self.k)

    def __iter__(self):
        """Yields (ir_indices (P*K,), rgb_indices (P*K,)), identity-major: rows i*K..i*K+K-1 share a person."""
        ids = sorted(self.by_id)
        order = self.rng.permutation(ids) if self.epoch == "identities" else None
        for b in range(len(self)):
            if order is None:
                batch = self.rng.choice(ids, size=self.p, replace=False)
            else:
                batch = order[b * self.p:(b + 1) * self.p]
            ir = np.concatenate([self._pick(self.by_id[int(i)][0]) for i in batch])
            rgb = np.concatenate([self._pick(self.by_id[int(i)][1]) for i in batch])
            yield ir, rgb
