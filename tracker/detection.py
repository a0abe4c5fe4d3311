"""The detector contract: a Detector turns an RGB image into Detections (box, score, COCO-17 keypoints)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

COCO17 = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
          "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
          "right_knee", "left_ankle", "right_ankle")
# Limbs for drawing skeletons (pairs of COCO-17 indices).
COCO17_EDGES = ((0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12),
                (11, 12), (11, 13), (13, 15), (12, 14), (14, 16))


def no_keypoints() -> np.ndarray:
    return np.zeros((17, 3), np.float32)


@dataclass
class Detection:
    box: np.ndarray  # (4,) float32 x1, y1, x2, y2 in frame pixels
    score: float  # detector confidence in [0, 1]
    keypoints: np.ndarray = field(default_factory=no_keypoints)  # (17, 3) x, y in frame pixels, score; 0 = missing

    def __post_init__(self):
        self.box = np.asarray(self.box, np.float32).reshape(4)
        self.keypoints = np.asarray(self.keypoints, np.float32)
        if self.keypoints.shape != (17, 3):
            raise ValueError(f"keypoints must be (17, 3), got {self.keypoints.shape}")


@runtime_checkable
class Detector(Protocol):
    """detect() finds people (with keypoints when the backend estimates them jointly: joint_pose True);
    pose() estimates keypoints for given boxes, so a caller can run pose only where it needs it."""

    joint_pose: bool

    def detect(self, image: np.ndarray) -> list[Detection]: ...  # image H x W x 3 uint8 RGB

    def pose(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray: ...  # boxes (N, 4) -> (N, 17, 3)

    def close(self) -> None: ...


@runtime_checkable
class PoseEstimator(Protocol):
    """One person's COCO-17 keypoints: (17, 3) x, y in pixels of the image, score in [0, 1], 0 = missing."""

    def estimate(self, image_rgb: np.ndarray, box=None) -> np.ndarray: ...

    def close(self) -> None: ...


# Backends by name, imported only when chosen (the ultralytics one drags torch); each has from_config(section).
BACKENDS = {
    "hog_mediapipe": "starreid.tracker.hog_mediapipe:HogMediaPipe",
    "ultralytics": "starreid.tracker.yolo_pose:YoloPose",
}


def make_detector(tracker) -> Detector:
    """The detector backend the tracker config section names, built from that section."""
    if tracker.backend not in BACKENDS:
        raise ValueError(f"unknown detector backend {tracker.backend!r}; choose one of {sorted(BACKENDS)}")
    module, _, attr = BACKENDS[tracker.backend].partition(":")
    return getattr(importlib.import_module(module), attr).from_config(tracker)


def boxes_array(detections: list[Detection]) -> np.ndarray:
    if not detections:
        return np.zeros((0, 4), np.float32)
    return np.stack([d.box for d in detections]).astype(np.float32)
