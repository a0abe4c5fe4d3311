"""A detector backend that replays precomputed detections (one list per frame), e.g. from a detector run
saved earlier or a synthetic scene: for tracker benchmarks and offline re-tracking without re-detecting."""
from __future__ import annotations

import numpy as np

from starreid.tracker.detection import Detection


class ReplayDetector:
    joint_pose = True  # keypoints come with the replayed detections

    def __init__(self, frames: list[list[Detection]]):
        self._frames = frames
        self._next = 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        if self._next >= len(self._frames):
            return []
        out = self._frames[self._next]
        self._next += 1
        return out

    def pose(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Between replayed detections nothing is known about joints: all missing (score 0)."""
        return np.zeros((len(boxes), 17, 3), np.float32)

    def close(self) -> None:
        pass


def stick_figure(box: np.ndarray) -> np.ndarray:
    """Plausible COCO-17 keypoints inside a box (frame pixels, score 0.9), for synthetic scenes."""
    rel = np.array([[.5, .08], [.46, .06], [.54, .06], [.42, .08], [.58, .08], [.35, .22], [.65, .22], [.3, .38],
                    [.7, .38], [.28, .52], [.72, .52], [.4, .55], [.6, .55], [.4, .75], [.6, .75], [.4, .95],
                    [.6, .95]], np.float32)
    x1, y1, x2, y2 = box
    out = np.empty((17, 3), np.float32)
    out[:, 0] = x1 + rel[:, 0] * (x2 - x1)
    out[:, 1] = y1 + rel[:, 1] * (y2 - y1)
    out[:, 2] = 0.9
    return out
