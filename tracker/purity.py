"""One person per tracklet. A tracker following boxes sometimes slides from one person to another (two people
cross, one hides the other); a window holding both would pollute whichever identity it joins. Each frame's
crop gets a small appearance descriptor, and a window whose frames split into a before and an after that
look different is cut there."""
from __future__ import annotations

import cv2
import numpy as np


def appearance(crop: np.ndarray, modality: str) -> np.ndarray:
    """Colour histograms of the crop's centre (the person, without the background at the sides), upper and
    lower half apart (clothes differ there): hue x saturation (8 x 4) for RGB, 16 grey levels for IR; each
    half L1-normalised, so the vector sums to 2."""
    h, w = crop.shape[:2]
    centre = crop[int(0.08 * h):int(0.92 * h), int(0.25 * w):int(0.75 * w)]
    mid = centre.shape[0] // 2
    parts = []
    for half in (centre[:mid], centre[mid:]):
        if modality == "ir":
            hist = cv2.calcHist([half], [0], None, [16], [0, 256])
        else:
            hsv = cv2.cvtColor(half, cv2.COLOR_RGB2HSV)
            hist = cv2.calcHist([hsv], [0, 1], None, [8, 4], [0, 180, 0, 256])
        hist = hist.ravel().astype(np.float32)
        parts.append(hist / max(float(hist.sum()), 1.0))
    return np.concatenate(parts)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Hellinger distance of two descriptors (0 = same colours, 1 = nothing in common), the halves averaged."""
    bc = np.sqrt(np.maximum(a, 0) * np.maximum(b, 0)).sum() / 2  # Bhattacharyya coefficient per half, averaged
    return float(np.sqrt(max(0.0, 1.0 - bc)))


def split_point(looks: list[np.ndarray], min_part: int, threshold: float) -> int | None:
    """The frame k where the window's mean appearance before and after differ most, if both parts hold at
    least min_part frames and they differ by more than threshold; else None (one person throughout)."""
    n = len(looks)
    if n < 2 * min_part:
        return None
    x = np.stack(looks)
    csum = np.cumsum(x, axis=0)
    best, best_k = threshold, None
    for k in range(min_part, n - min_part + 1):
        before = csum[k - 1] / k
        after = (csum[-1] - csum[k - 1]) / (n - k)
        d = distance(before, after)
        if d > best:
            best, best_k = d, k
    return best_k
