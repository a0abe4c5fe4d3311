"""Compares extracted skeletons with ground truth in frame pixels."""
from __future__ import annotations

import numpy as np

from starreid.reid.data.skeleton_store import SkeletonStore


def pose_pixel_error(pred: SkeletonStore, truth: SkeletonStore, names, width: int, height: int,
                     min_joints: int = 5) -> dict:
    """Per frame: mean pixel distance over joints visible in both. A frame counts as measured when at least
    `min_joints` such joints exist; frames with no extracted pose count as detection misses."""
    names = list(names)
    p, pv = pred.lookup(names)
    t, tv = truth.lookup(names)
    scale = np.array([width, height], np.float32)
    both = (p[..., 2] > 0) & (t[..., 2] > 0)
    dist = np.linalg.norm((p[..., :2] - t[..., :2]) * scale, axis=-1)
    counts = both.sum(axis=1)
    measured = pv & tv & (counts >= min_joints)
    per_frame = np.where(measured, (dist * both).sum(axis=1) / np.maximum(counts, 1), np.nan)
    errs = per_frame[measured]
    total = len(names)
    return {
        "frames": total,
        "detected": float(pv.mean()) if total else 0.0,
        "measured": int(measured.sum()),
        "median_px": float(np.median(errs)) if len(errs) else float("nan"),
        "mean_px": float(np.mean(errs)) if len(errs) else float("nan"),
        "joint_median_px": float(np.median(dist[both & measured[:, None]])) if len(errs) else float("nan"),
        # Shares of ALL frames (misses count as failures) within 5 / 8 / 10 pixels.
        "within_5px": float((errs <= 5).sum() / max(total, 1)),
        "within_8px": float((errs <= 8).sum() / max(total, 1)),
        "within_10px": float((errs <= 10).sum() / max(total, 1)),
    }
