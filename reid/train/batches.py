"""Training and evaluation batches as numpy arrays, loaded by a thread pool one batch ahead of the model."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from starreid.reid.data.clips import load_clip
from starreid.reid.data.samplers import PKSampler, sample_test_clip, sample_train_clip
from starreid.reid.train.augment import augment_clip, eval_clip

MODALITY_CODE = {"rgb": 0, "ir": 1}


@dataclass
class Batch:
    clips: np.ndarray  # (B, T, 3, H, W) float32, normalised
    keypoints: np.ndarray  # (B, T, 17, 3) float32
    modality: np.ndarray  # (B,) int32, 0 = rgb, 1 = ir
    labels: np.ndarray  # (B,) int32 class indices (training) or person ids (evaluation)
    camids: np.ndarray  # (B,) int32


def _stack(samples) -> Batch:
    """Per-sample (clip, keypoints, modality, label, camid) tuples -> one Batch."""
    dtypes = (np.float32, np.float32, np.int32, np.int32, np.int32)
    return Batch(*(np.stack([s[i] for s in samples]).astype(dt) for i, dt in enumerate(dtypes)))


class TrainBatches:
    """One epoch = one pass of the PK sampler (its length: sampler.epoch); each batch holds P identities x K
    tracklets x 2 modalities."""

    def __init__(self, dataset, skeletons, model, sampler, augment, seed: int, threads: int):
        """dataset: its training split; model: seq_len, height, width; sampler: p, k, epoch; augment: the augment
        config section."""
        self.root, self.records, self.labels, self.skeletons = dataset.root, dataset.train, dataset.train_labels, skeletons
        self.seq_len, self.height, self.width, self.augment = model.seq_len, model.height, model.width, augment
        self.sampler = PKSampler([r.pid for r in self.records], [r.modality for r in self.records], sampler.p,
                                 sampler.k, seed=seed, epoch=sampler.epoch)
        self.pool = ThreadPoolExecutor(threads)  # loads the samples of a batch
        self.prefetch = ThreadPoolExecutor(1)  # assembles the next batch (its own pool: no deadlock)

    def __len__(self) -> int:
        return len(self.sampler)

    def _sample(self, index: int, seed: int):
        record = self.records[index]
        rng = np.random.default_rng(seed)
        clip = load_clip(self.root, record, sample_train_clip(len(record), self.seq_len, rng), self.skeletons)
        frames, keypoints = augment_clip(clip.frames, clip.keypoints, record.modality, rng, self.height,
                                         self.width, self.augment)
        return frames, keypoints, MODALITY_CODE[record.modality], self.labels[record.pid], record.camid

    def _load(self, indices: np.ndarray, seeds: np.ndarray) -> Batch:
        return _stack(list(self.pool.map(self._sample, indices, seeds)))

    def epoch(self, rng: np.random.Generator):
        """Yields Batches; the next one loads while the caller trains on the current one."""
        pending = None
        for ir, rgb in self.sampler:
            indices = np.concatenate([ir, rgb])
            seeds = rng.integers(0, 2**63 - 1, len(indices))
            future = self.prefetch.submit(self._load, indices, seeds)
            if pending is not None:
                yield pending.result()
            pending = future
        if pending is not None:
            yield pending.result()

    def sampler_state(self) -> dict:
        return self.sampler.rng.bit_generator.state

    def restore_sampler(self, state: dict) -> None:
        self.sampler.rng.bit_generator.state = state

    def close(self) -> None:
        self.prefetch.shutdown(wait=False, cancel_futures=True)
        self.pool.shutdown(wait=False, cancel_futures=True)


def eval_batches(root, records, skeletons, seq_len: int, height: int, width: int, batch: int, threads: int,
                 pose_from=None):
    """Deterministic test clips (the protocol's sampler), in order, batch by batch. pose_from (one record per
    record) takes each clip's skeletons from another tracklet instead: a probe of what the model reads there."""
    def load(i):
        record = records[i]
        clip = load_clip(root, record, sample_test_clip(len(record), seq_len), skeletons)
        keypoints = clip.keypoints
        if pose_from is not None and skeletons is not None:
            donor = pose_from[i]
            keypoints, _ = skeletons.lookup([donor.names[int(j)] for j in sample_test_clip(len(donor), seq_len)])
        return (eval_clip(clip.frames, height, width), keypoints, MODALITY_CODE[record.modality],
                record.pid, record.camid)

    with ThreadPoolExecutor(threads) as pool:
        for start in range(0, len(records), batch):
            yield _stack(list(pool.map(load, range(start, min(start + batch, len(records))))))
