"""Loads a sampled clip of a tracklet: frames, normalised keypoints and per-frame pose validity."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from starreid.reid.data.errors import DatasetError
from starreid.reid.data.skeleton_store import SkeletonStore
from starreid.reid.data.vcm import TrackletRecord
from starreid.reid.data.vcm_files import frame_path


@dataclass
class Clip:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    keypoints: np.ndarray  # (T, 17, 3) float32, x/width and y/height in [0, 1], score in [0, 1]
    valid: np.ndarray  # (T,) bool: a pose exists for the frame (otherwise the keypoint rows are zeros)
    pid: int
    camid: int
    modality: str


def read_frame(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise DatasetError(path, "missing or undecodable frame")
    if size is not None and img.shape[:2] != size:
        img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def load_clip(root, record: TrackletRecord, indices: np.ndarray, skeletons: SkeletonStore | None = None,
              size: tuple[int, int] | None = None) -> Clip:
    """Frames `indices` of `record` (from a clip sampler), resized to size=(H, W) when given.

    Keypoints are stored normalised, so resizing leaves them valid; without a skeleton store every frame
    is marked invalid."""
    names = [record.names[int(i)] for i in indices]
    frames = np.stack([read_frame(frame_path(root, n), size) for n in names])
    if skeletons is not None:
        kp, valid = skeletons.lookup(names)
    else:
        kp, valid = np.zeros((len(names), 17, 3), np.float32), np.zeros(len(names), bool)
    return Clip(frames, kp, valid, record.pid, record.camid, record.modality)
