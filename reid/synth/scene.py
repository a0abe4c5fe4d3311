"""Per-camera scenes: viewpoint, scale, placement, lighting and a wide background the crop pans across."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Walking directions a camera tends to see (radians of body yaw; 0 = walking toward the camera).
VIEW_CHOICES = np.deg2rad([0, 30, -30, 60, -60, 90, -90, 150, -150, 180])


@dataclass(frozen=True)
class Camera:
    yaw: float  # dominant walking direction seen by this camera
    height_frac: float  # person height as a fraction of the frame height
    x_off: float  # horizontal placement, fraction of the frame width
    foot_frac: float  # where the feet stand, fraction of the frame height
    light: tuple[float, float, float]  # RGB illumination gain per channel
    ir_gain: float
    ir_offset: float
    ir_noise: float
    bg_rgb: np.ndarray  # (H, k*W, 3) float32 in [0, 1], at the supersampled resolution
    bg_ir: np.ndarray  # (H, k*W) float32 temperatures in [0, 1]


def _smooth_noise(rng, h, w, scale, sigma):
    small = rng.random((max(h // scale, 2), max(w // scale, 2))).astype(np.float32)
    return cv2.GaussianBlur(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), (0, 0), sigma)


def make_camera(rng: np.random.Generator, height: int, width: int, pan: int = 5) -> Camera:
    """A camera at supersampled size height x width with a background `pan` frames wide."""
    h, w = height, width * pan
    horizon = int(h * rng.uniform(0.45, 0.75))
    wall, floor = rng.uniform(0.15, 0.85, 3), rng.uniform(0.1, 0.7, 3)
    bg = np.empty((h, w, 3), np.float32)
    bg[:horizon] = wall
    bg[horizon:] = floor
    ir = np.empty((h, w), np.float32)
    ir[:horizon], ir[horizon:] = rng.uniform(0.1, 0.35), rng.uniform(0.15, 0.4)
    for _ in range(int(rng.integers(4, 10))):  # doors, windows, machines, lamps
        x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h - 4))
        x1, y1 = x0 + int(rng.integers(w // 40, w // 8)), y0 + int(rng.integers(h // 10, h // 2))
        cv2.rectangle(bg, (x0, y0), (x1, y1), tuple(float(v) for v in rng.uniform(0, 1, 3)), -1)
        cv2.rectangle(ir, (x0, y0), (x1, y1), float(rng.uniform(0.05, 0.75)), -1)
    bg *= (0.75 + 0.5 * _smooth_noise(rng, h, w, 16, 6))[..., None]
    ir = cv2.GaussianBlur(ir, (0, 0), 4) + 0.1 * _smooth_noise(rng, h, w, 16, 4)
    return Camera(
        yaw=float(rng.choice(VIEW_CHOICES)),
        height_frac=float(rng.uniform(0.74, 0.9)),
        x_off=float(rng.uniform(-0.08, 0.08)),
        foot_frac=float(rng.uniform(0.93, 0.985)),
        light=tuple(float(v) for v in rng.uniform(0.7, 1.15) * rng.uniform(0.85, 1.15, 3)),
        ir_gain=float(rng.uniform(0.7, 1.0)),
        ir_offset=float(rng.uniform(0.0, 0.15)),
        ir_noise=float(rng.uniform(0.015, 0.045)),
        bg_rgb=np.clip(bg, 0, 1),
        bg_ir=np.clip(ir, 0, 1).astype(np.float32),
    )
