"""Clips of the head-only ablation: a tracklet's clean frames with exactly m of them replaced by their
misdetected versions from the paired corrupted dataset (same generator, seed and options; only the corruption
rate differs, so every frame that is clean in both is byte-identical).

A clip is cached frame vectors (T, C) and keypoints (T, 17, 3) of one skeleton source. Test clips take the
protocol's fixed frames (sample_test_clip); which of them are corrupted comes from one permutation per
tracklet, so the corrupted frames at m = 2 are among those at m = 4 (paired across m). Where a clip has fewer
corruptible frames than m it takes all it has (`actual_m` records how many).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from starreid.reid.data.samplers import PKSampler, sample_test_clip, sample_train_clip


@dataclass
class Tracklets:
    """Frame-aligned rows of a set of tracklets in both caches, and their keypoints in both datasets."""
    records: list
    clean_rows: np.ndarray  # (F,) rows in the clean cache, all frames of all records concatenated
    dirty_rows: np.ndarray  # (F,) rows in the corrupted cache; -1 where the frame is clean there too
    start: np.ndarray  # (R + 1,) offsets of each record's frames in the arrays above
    keypoints: dict  # source -> (clean (F, 17, 3), dirty (F, 17, 3)) float32

    def frames(self, i: int, positions: np.ndarray) -> np.ndarray:
        return self.start[i] + positions


def same_tracklets(a, b) -> None:
    """The paired datasets must hold the same tracklets with the same frame names."""
    for split in ("train", "query", "gallery"):
        ra, rb = getattr(a, split), getattr(b, split)
        if [r.names for r in ra] != [r.names for r in rb]:
            raise ValueError(f"the clean and corrupted datasets differ in their {split} tracklets: make both with "
                             "the same `starreid synth` options and seed, changing only --corrupt-rate")


def tracklets(records, clean_cache, dirty_cache, skeletons: dict) -> Tracklets:
    """skeletons: source -> (clean dataset's SkeletonStore, corrupted dataset's SkeletonStore)."""
    names = [n for r in records for n in r.names]
    clean_rows, dirty_rows = clean_cache.rows(names), dirty_cache.rows(names)
    if (clean_rows < 0).any():
        raise ValueError("the clean vector cache lacks frames of these tracklets: cache it again")
    start = np.concatenate([[0], np.cumsum([len(r) for r in records])])
    keypoints = {s: (clean.lookup(names)[0], dirty.lookup(names)[0]) for s, (clean, dirty) in skeletons.items()}
    return Tracklets(list(records), clean_rows, dirty_rows, start, keypoints)


def assemble(t: Tracklets, caches, frames: np.ndarray, corrupt: np.ndarray, source: str):
    """Vectors (T, C) float32 and keypoints (T, 17, 3) of global frame indices `frames`, corrupted where
    `corrupt` (T,) is set."""
    clean_cache, dirty_cache = caches
    vec = clean_cache.vectors[t.clean_rows[frames]].astype(np.float32)
    kp = t.keypoints[source][0][frames].copy()
    if corrupt.any():
        f = frames[corrupt]
        vec[corrupt] = dirty_cache.vectors[t.dirty_rows[f]]
        kp[corrupt] = t.keypoints[source][1][f]
    return vec, kp


def shuffled_donors(records) -> np.ndarray:
    """For each record, the index of a record of another person and the same modality whose keypoints stand in
    for its own: person i's IR tracklets take those of the next person (in id order) with IR tracklets, its
    RGB tracklets those of the second next with RGB ones, so no stand-in skeleton matches across modalities."""
    pids = sorted({r.pid for r in records})
    by = {}
    for j, r in enumerate(records):
        by.setdefault((r.pid, r.modality), []).append(j)
    out, seen = np.empty(len(records), np.int64), {}
    for j, r in enumerate(records):
        k = seen[(r.pid, r.modality)] = seen.get((r.pid, r.modality), -1) + 1
        i, need = pids.index(r.pid), 1 if r.modality == "ir" else 2
        for step in range(1, 2 * len(pids)):
            other = pids[(i + step) % len(pids)]
            if other != r.pid and (other, r.modality) in by:
                need -= 1
                if need == 0:
                    pool = by[(other, r.modality)]
                    out[j] = pool[k % len(pool)]
                    break
        else:
            raise ValueError("shuffled skeletons need tracklets of at least three people")
    return out


@dataclass
class TestClips:
    vectors: dict  # m -> (N, T, C) float32
    keypoints: dict  # (m, source) -> (N, T, 17, 3); (m, source, "shuffled") -> another person's
    actual_m: dict  # m -> (N,) corrupted frames each clip got


def test_clips(t: Tracklets, caches, seq_len: int, ms: list[int], sources: list[str], seed: int) -> TestClips:
    vectors, keypoints, actual = {}, {}, {}
    donors = shuffled_donors(t.records)
    plans = []
    for i, r in enumerate(t.records):
        frames = t.frames(i, sample_test_clip(len(r), seq_len))
        corruptible = np.flatnonzero(t.dirty_rows[frames] >= 0)
        rng = np.random.default_rng([seed, i])
        plans.append((frames, rng.permutation(corruptible)))
    for m in ms:
        masks = []
        for frames, order in plans:
            mask = np.zeros(len(frames), bool)
            mask[order[:m]] = True
            masks.append(mask)
        actual[m] = np.array([k.sum() for k in masks])
        for s in sources:
            clips = [assemble(t, caches, frames, mask, s) for (frames, _), mask in zip(plans, masks)]
            if s == sources[0]:
                vectors[m] = np.stack([v for v, _ in clips])
            kp = np.stack([k for _, k in clips])
            keypoints[(m, s)] = kp
            keypoints[(m, s, "shuffled")] = kp[donors]
    return TestClips(vectors, keypoints, actual)


class TrainBatches:
    """Endless P x K batches (identity-major, IR then RGB) of training clips; each clip gets m ~ U{0..max_m}
    corrupted frames. shuffled=True gives every clip another person's keypoints (the negative control): IR
    clips take those of the identity one place on, RGB clips two places on, so no person's stand-in skeleton
    is the same in both modalities."""

    def __init__(self, t: Tracklets, caches, labels: dict, *, p: int, k: int, seq_len: int, max_m: int, seed: int):
        self.t, self.caches, self.seq_len, self.max_m, self.k = t, caches, seq_len, max_m, k
        if p < 3:
            raise ValueError("P x K batches need p >= 3 for shuffled skeletons to come from other people")
        pids = [r.pid for r in t.records]
        self.sampler = PKSampler(pids, [r.modality for r in t.records], p, k, seed=seed, epoch="identities")
        self.labels = np.array([labels[pid] for pid in pids], np.int32)
        self.modality = np.array([r.modality == "ir" for r in t.records], np.int32)
        self.rng = np.random.default_rng([seed, 1])

    def _clip(self, i: int, source: str):
        r = self.t.records[i]
        frames = self.t.frames(i, sample_train_clip(len(r), self.seq_len, self.rng))
        corruptible = np.flatnonzero(self.t.dirty_rows[frames] >= 0)
        m = min(int(self.rng.integers(0, self.max_m + 1)), len(corruptible))
        mask = np.zeros(len(frames), bool)
        mask[self.rng.choice(corruptible, m, replace=False)] = True
        return assemble(self.t, self.caches, frames, mask, source)

    def batches(self, source: str, shuffled: bool = False):
        """Yields (vectors (B, T, C), keypoints (B, T, 17, 3), modality (B,), labels (B,))."""
        while True:
            for ir, rgb in self.sampler:
                idx = np.concatenate([ir, rgb])
                clips = [self._clip(int(i), source) for i in idx]
                vec = np.stack([v for v, _ in clips])
                kp = np.stack([k for _, k in clips])
                if shuffled:
                    half = len(ir)
                    kp = np.concatenate([np.roll(kp[:half], self.k, 0), np.roll(kp[half:], 2 * self.k, 0)])
                yield vec, kp, self.modality[idx], self.labels[idx]
