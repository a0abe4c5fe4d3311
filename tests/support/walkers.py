"""Synthetic pedestrians for tracker tests and benchmarks: straight walks with box noise, missed detections,
false positives, and occlusion (a person behind another is missed or scores low)."""
from __future__ import annotations

import numpy as np

from starreid.tracker.bytetrack import iou_matrix


def walkers(n_frames: int, starts: list[tuple[float, float]], velocities: list[tuple[float, float]],
            size: tuple[float, float] = (50.0, 130.0), first_frames: list[int] | None = None,
            frame_size: tuple[int, int] = (768, 576)) -> list[dict[int, np.ndarray]]:
    """Ground truth per frame {person id: box}; a person is present while their box centre is in frame."""
    w, h = size
    width, height = frame_size
    first = first_frames or [0] * len(starts)
    truth = []
    for f in range(n_frames):
        boxes = {}
        for pid, ((x, y), (vx, vy), f0) in enumerate(zip(starts, velocities, first), start=1):
            if f < f0:
                continue
            cx, cy = x + vx * (f - f0), y + vy * (f - f0)
            scale = 0.8 + 0.4 * cy / height  # nearer (lower in the image) is larger
            if 0 <= cx <= width and 0 <= cy <= height:
                boxes[pid] = np.array([cx - w * scale / 2, cy - h * scale / 2, cx + w * scale / 2,
                                       cy + h * scale / 2], np.float32)
        truth.append(boxes)
    return truth


def detections(truth: list[dict[int, np.ndarray]], noise: float = 2.0, miss_rate: float = 0.1,
               false_rate: float = 0.2, occlusion_iou: float = 0.3, seed: int = 0,
               frame_size: tuple[int, int] = (768, 576)) -> list[tuple[np.ndarray, np.ndarray]]:
    """Detector output per frame (boxes (N, 4), scores (N,)). Occluded people (overlapping someone nearer
    by IoU > occlusion_iou) are missed half the time and otherwise score low."""
    rng = np.random.default_rng(seed)
    out = []
    for gt in truth:
        ids = list(gt)
        boxes = np.stack([gt[i] for i in ids]) if ids else np.zeros((0, 4), np.float32)
        iou = iou_matrix(boxes, boxes)
        dets, scores = [], []
        for k in range(len(ids)):
            behind = any(iou[k, j] > occlusion_iou and boxes[j, 3] > boxes[k, 3] for j in range(len(ids)) if j != k)
            if rng.random() < (0.5 if behind else miss_rate):
                continue
            dets.append(boxes[k] + rng.normal(0, noise, 4))
            scores.append(rng.uniform(0.15, 0.45) if behind else rng.uniform(0.55, 0.95))
        for _ in range(rng.poisson(false_rate)):
            x, y = rng.uniform(0, frame_size[0] - 60), rng.uniform(0, frame_size[1] - 140)
            dets.append(np.array([x, y, x + 50, y + 130]))
            scores.append(rng.uniform(0.1, 0.65))
        out.append((np.asarray(dets, np.float32).reshape(-1, 4), np.asarray(scores, np.float32)))
    return out


def run_tracker(tracker, dets: list[tuple[np.ndarray, np.ndarray]]) -> list[dict[int, np.ndarray]]:
    """Feed detections frame by frame; per frame {track id: box} of the reported tracks."""
    return [{t.track_id: t.box for t in tracker.update(b, s).tracks} for b, s in dets]
