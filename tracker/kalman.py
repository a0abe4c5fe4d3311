"""Constant-velocity Kalman filter on (centre x, centre y, aspect w/h, height), batched over tracks.

Noise scales with box height, as in SORT/ByteTrack, so one setting fits near and far people."""
from __future__ import annotations

import numpy as np

_F = np.eye(8)
_F[:4, 4:] = np.eye(4)
_H = np.eye(4, 8)
STD_POS, STD_VEL = 1.0 / 20, 1.0 / 160


def xyxy_to_xyah(box: np.ndarray) -> np.ndarray:
    box = np.asarray(box, np.float64)
    w, h = box[..., 2] - box[..., 0], box[..., 3] - box[..., 1]
    return np.stack([box[..., 0] + w / 2, box[..., 1] + h / 2, w / np.maximum(h, 1e-6), h], axis=-1)


def xyah_to_xyxy(xyah: np.ndarray) -> np.ndarray:
    w = xyah[..., 2] * xyah[..., 3]
    h = xyah[..., 3]
    return np.stack([xyah[..., 0] - w / 2, xyah[..., 1] - h / 2, xyah[..., 0] + w / 2, xyah[..., 1] + h / 2], -1)


def initiate(measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = measurement[3]
    mean = np.concatenate([measurement, np.zeros(4)])
    std = np.array([2 * STD_POS * h, 2 * STD_POS * h, 1e-2, 2 * STD_POS * h,
                    10 * STD_VEL * h, 10 * STD_VEL * h, 1e-5, 10 * STD_VEL * h])
    return mean, np.diag(std ** 2)


def predict(means: np.ndarray, covs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Advance N tracks one frame: means (N, 8), covs (N, 8, 8)."""
    h = means[:, 3]
    std = np.stack([STD_POS * h, STD_POS * h, np.full_like(h, 1e-2), STD_POS * h,
                    STD_VEL * h, STD_VEL * h, np.full_like(h, 1e-5), STD_VEL * h], axis=1)
    q = np.einsum("ni,ij->nij", std ** 2, np.eye(8))
    return means @ _F.T, _F @ covs @ _F.T + q


def update(mean: np.ndarray, cov: np.ndarray, measurement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    h = mean[3]
    r = np.diag(np.array([STD_POS * h, STD_POS * h, 1e-1, STD_POS * h]) ** 2)
    s = _H @ cov @ _H.T + r
    gain = np.linalg.solve(s, _H @ cov).T  # cov H^T S^-1 (S symmetric)
    mean = mean + gain @ (measurement - _H @ mean)
    cov = cov - gain @ s @ gain.T
    return mean, cov
