"""Offline default backend: HOG people detector for boxes, MediaPipe pose per box mapped to COCO-17."""
from __future__ import annotations

import numpy as np

from starreid.tracker.detection import Detection
from starreid.tracker.hog import HogPeopleDetector


class HogMediaPipe:
    joint_pose = False  # boxes first; keypoints only where the caller asks (pose is the expensive part)

    def __init__(self, *, detect_scale: float, hit_threshold: float, pyramid_step: float):
        self._hog = HogPeopleDetector(scale=detect_scale, hit_threshold=hit_threshold, pyramid_step=pyramid_step)
        self._pose = None

    @classmethod
    def from_config(cls, tracker) -> "HogMediaPipe":
        return cls(detect_scale=tracker.detect_scale, hit_threshold=tracker.hog_hit_threshold,
                   pyramid_step=tracker.hog_pyramid_step)

    def detect(self, image: np.ndarray) -> list[Detection]:
        boxes, scores = self._hog(image)
        return [Detection(box, float(score)) for box, score in zip(boxes, scores)]

    def pose(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        if self._pose is None:  # the model loads on first use (~0.3 s)
            from starreid.tracker.pose_mediapipe import MediaPipePose

            self._pose = MediaPipePose()
        out = np.zeros((len(boxes), 17, 3), np.float32)
        for i, box in enumerate(boxes):
            out[i] = self._pose.estimate(image, box=np.asarray(box, np.float32))
        return out

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None
