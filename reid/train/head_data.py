"""What every run of the head-only ablation shares: both datasets' vector caches (made here on first use), the
training tracklets and the test clips at every m, for every skeleton source."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from starreid.reid.data.skeleton_store import open_skeletons
from starreid.reid.data.vcm import load_vcm
from starreid.reid.synth.corrupt import open_corruptions
from starreid.reid.train.feature_cache import VectorCache, cache_vectors, dataset_frames, frozen_backbone
from starreid.reid.train.paired_clips import TestClips, Tracklets, same_tracklets, test_clips, tracklets


def build_caches(cfg, progress: bool = True) -> tuple[Path, Path]:
    """The frozen backbone's vectors of every clean frame and of every corrupted frame of the other dataset."""
    out = Path(cfg.cache_dir) if cfg.cache_dir else Path(cfg.out_dir) / "cache"
    clean, dirty = out / "clean", out / "corrupted"
    if all((p / "vectors.npy").exists() for p in (clean, dirty)):
        return clean, dirty
    clean_ds = load_vcm(cfg.data.clean, cfg.data.min_len)
    dirty_ds = load_vcm(cfg.data.corrupted, cfg.data.min_len)
    same_tracklets(clean_ds, dirty_ds)
    f = cfg.features
    backbone, _ = frozen_backbone(f)
    kw = dict(height=f.height, width=f.width, batch=f.batch, threads=cfg.data.threads, progress=progress)
    cache_vectors(cfg.data.clean, dataset_frames(clean_ds), clean, backbone, desc="clean frames", **kw)
    cache_vectors(cfg.data.corrupted, dataset_frames(dirty_ds, open_corruptions(cfg.data.corrupted)), dirty,
                  backbone, desc="corrupted frames", **kw)
    return clean, dirty


@dataclass
class HeadData:
    caches: tuple
    train: Tracklets
    labels: dict
    test: TestClips
    test_modality: np.ndarray
    test_pid: np.ndarray
    test_cam: np.ndarray
    n_query: int
    in_dim: int
    num_classes: int
    aspect: float


def load_head_data(cfg, progress: bool = True) -> HeadData:
    clean_dir, dirty_dir = build_caches(cfg, progress)
    caches = (VectorCache(clean_dir), VectorCache(dirty_dir))
    clean_ds = load_vcm(cfg.data.clean, cfg.data.min_len)
    same_tracklets(clean_ds, load_vcm(cfg.data.corrupted, cfg.data.min_len))
    sources = list(cfg.sweep.skeletons)
    skeletons = {s: (open_skeletons(cfg.data.clean, s), open_skeletons(cfg.data.corrupted, s)) for s in sources}
    train = tracklets(clean_ds.train, *caches, skeletons)
    test_records = clean_ds.query + clean_ds.gallery
    test = test_clips(tracklets(test_records, *caches, skeletons), caches, cfg.model.seq_len, list(cfg.sweep.m),
                      sources, cfg.seed)
    return HeadData(caches=caches, train=train, labels=clean_ds.train_labels, test=test,
                    test_modality=np.array([r.modality == "ir" for r in test_records], np.int32),
                    test_pid=np.array([r.pid for r in test_records]),
                    test_cam=np.array([r.camid for r in test_records]), n_query=len(clean_ds.query),
                    in_dim=caches[0].vectors.shape[1], num_classes=len(clean_ds.train_labels),
                    aspect=cfg.features.width / cfg.features.height)
