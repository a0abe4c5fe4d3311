"""The contract a source hands downstream: one decoded camera frame."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

MODALITIES = ("rgb", "ir")


@dataclass(frozen=True)
class Frame:
    camera: str
    modality: str  # 'rgb' | 'ir'
    index: int  # monotonic within the session, counts frames handed out
    timestamp: float  # wall-clock seconds (time.time() scale)
    image: np.ndarray  # H x W x 3 uint8, RGB channel order
    # Which run of the source the frame belongs to: indices (and a worker's track ids) restart with it. The
    # same file gives the same session on every replay; a live source gets a new one at every start.
    session: str


def to_rgb(image: np.ndarray, modality: str) -> np.ndarray:
    """OpenCV's BGR (or grey) to the contract's 3-channel RGB; IR becomes grey replicated to 3 channels."""
    if image.ndim == 2:
        grey = image
    elif modality == "ir":
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.shape[2] == 3 else image[:, :, 0]
    else:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if grey.dtype != np.uint8:
        grey = cv2.normalize(grey, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
