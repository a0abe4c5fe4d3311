"""Person crops at the model's input size, and keypoints carried from frame pixels into crop coordinates."""
from __future__ import annotations

import cv2
import numpy as np


def crop_rect(box: np.ndarray, height: int, width: int, pad: float = 0.1) -> np.ndarray:
    """(x0, y0, w, h) of the box widened by `pad` and grown to the crop's aspect ratio, same centre."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = max(x2 - x1, 1.0) * (1 + pad), max(y2 - y1, 1.0) * (1 + pad)
    aspect = width / height
    if w / h < aspect:
        w = h * aspect
    else:
        h = w / aspect
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return np.array([cx - w / 2, cy - h / 2, w, h], np.float32)


def crop_person(image: np.ndarray, rect: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop and resize in one affine warp; parts outside the frame are black."""
    x0, y0, w, h = (float(v) for v in rect)
    sx, sy = width / w, height / h
    matrix = np.array([[sx, 0, -x0 * sx], [0, sy, -y0 * sy]], np.float32)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0))


def keypoints_to_crop(keypoints: np.ndarray, rect: np.ndarray) -> np.ndarray:
    """(17, 3) frame-pixel keypoints -> x, y in [0, 1] of the crop; joints outside it or missing get score 0
    and coordinates 0."""
    x0, y0, w, h = (float(v) for v in rect)
    out = np.zeros((len(keypoints), 3), np.float32)
    out[:, 0] = (keypoints[:, 0] - x0) / w
    out[:, 1] = (keypoints[:, 1] - y0) / h
    out[:, 2] = np.clip(keypoints[:, 2], 0.0, 1.0)
    inside = (out[:, 0] >= 0) & (out[:, 0] <= 1) & (out[:, 1] >= 0) & (out[:, 1] <= 1) & (out[:, 2] > 0)
    out[~inside] = 0.0
    return out


def keypoints_to_frame(keypoints: np.ndarray, rect: np.ndarray) -> np.ndarray:
    """Inverse of keypoints_to_crop for visible joints (for drawing)."""
    x0, y0, w, h = (float(v) for v in rect)
    out = keypoints.copy()
    out[..., 0] = keypoints[..., 0] * w + x0
    out[..., 1] = keypoints[..., 1] * h + y0
    return out
