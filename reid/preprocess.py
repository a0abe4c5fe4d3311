"""Image preprocessing shared by training, evaluation and inference, so all three see the same pixels."""
from __future__ import annotations

import cv2
import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 (..., h, w, 3) -> (..., height, width, 3), bilinear; unchanged when already that size."""
    if frames.shape[-3:-1] == (height, width):
        return frames
    flat = frames.reshape(-1, *frames.shape[-3:])
    out = np.stack([cv2.resize(f, (width, height), interpolation=cv2.INTER_LINEAR) for f in flat])
    return out.reshape(*frames.shape[:-3], height, width, 3)


def normalise_frames(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., H, W, 3) -> float32 (..., 3, H, W) with ImageNet mean and std."""
    x = (frames.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))
