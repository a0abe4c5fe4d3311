"""The tracker contract: boxes in, tracks with stable ids out, and the ids that ended on this step."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


class TrackedObject(Protocol):
    track_id: int  # > 0, unique within a tracker's life
    det_index: int  # index of the detection matched on this step, -1 if the track is predicted only

    @property
    def box(self) -> np.ndarray: ...  # (4,) float32 xyxy in frame pixels


@dataclass
class TrackStep:
    tracks: list  # the confirmed, currently tracked objects (TrackedObject)
    finished: list[int] = field(default_factory=list)  # ids that ended on this step: release their state


@runtime_checkable
class Tracker(Protocol):
    """update() on frames with detections, predict() on frames without (detection every k frames)."""

    def update(self, boxes: np.ndarray, scores: np.ndarray) -> TrackStep: ...  # (N, 4) xyxy, (N,)

    def predict(self) -> TrackStep: ...
