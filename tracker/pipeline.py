"""One camera's frame-to-tracklets pipeline: detect (every k frames), track, pose only for frames a
tracklet keeps, crop, and cut windows."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from starreid.streams.frame import Frame
from starreid.contracts.wire import Tracklet
from starreid.tracker.bytetrack import ByteTracker
from starreid.tracker.crops import crop_person, crop_rect, keypoints_to_crop
from starreid.tracker.detection import Detector, boxes_array, make_detector
from starreid.tracker.tracking import Tracker
from starreid.tracker.tracklets import TrackletBuilder


@dataclass
class TrackView:
    """What a frame shows of one track (for drawing and for tests)."""
    track_id: int
    box: np.ndarray  # (4,) xyxy frame pixels
    keypoints: np.ndarray | None  # (17, 3) frame pixels, None when no pose was run on this frame
    detected: bool  # matched a detection on this frame (False: Kalman prediction)


class CameraPipeline:
    """Frames in, tracklets out, through the three contracts: a Detector, a Tracker, a TrackletBuilder.
    Crops are cut at the model's input size (height x width)."""

    def __init__(self, detector: Detector, tracker: Tracker, builder: TrackletBuilder, *, height: int, width: int,
                 detect_every: int, crop_pad: float):
        if detect_every < 1:
            raise ValueError("detect_every must be >= 1")
        self.detector, self.tracker, self.builder = detector, tracker, builder
        self.height, self.width, self.detect_every, self.crop_pad = height, width, detect_every, crop_pad
        self.observe: Callable[[str, float], None] = lambda stage, seconds: None
        self.on_pose: Callable[[int, int], None] = lambda found, estimated: None  # per frame: poses found / asked
        self._count = 0
        self.views: list[TrackView] = []
        self.detections = []

    @classmethod
    def from_config(cls, tracker, camera: str, modality: str, height: int, width: int) -> "CameraPipeline":
        """The default pipeline of a camera: the tracker config section's detector backend, ByteTrack and
        tracklet windows; height and width are the model's input size."""
        return cls(make_detector(tracker), ByteTracker.from_config(tracker),
                   TrackletBuilder.from_config(tracker, camera, modality), height=height, width=width,
                   detect_every=tracker.detect_every, crop_pad=tracker.crop_pad)

    def process(self, frame: Frame) -> list[Tracklet]:
        image = frame.image
        detect = self._count % self.detect_every == 0
        self._count += 1
        if detect:
            start = time.perf_counter()
            self.detections = self.detector.detect(image)
            self.observe("detect", time.perf_counter() - start)
            start = time.perf_counter()
            step = self.tracker.update(boxes_array(self.detections),
                                       np.array([d.score for d in self.detections], np.float32))
        else:
            self.detections = []
            start = time.perf_counter()
            step = self.tracker.predict()
        self.observe("track", time.perf_counter() - start)
        tracks = step.tracks
        out = [t for track_id in step.finished for t in self.builder.end(track_id)]

        boxes = [self.detections[t.det_index].box if t.det_index >= 0 else t.box for t in tracks]
        wanted = [i for i, t in enumerate(tracks) if self.builder.wants(t.track_id)]
        keypoints = {}
        if self.detector.joint_pose:  # keypoints came with the detections
            for i in wanted:
                if tracks[i].det_index >= 0:
                    keypoints[i] = self.detections[tracks[i].det_index].keypoints
        missing = [i for i in wanted if i not in keypoints and self.builder.wants_pose(tracks[i].track_id)]
        if missing:
            start = time.perf_counter()
            estimated = self.detector.pose(image, np.stack([boxes[i] for i in missing]))
            self.observe("pose", time.perf_counter() - start)
            keypoints.update(zip(missing, estimated))
        if keypoints:
            found = sum(int((k[:, 2] > 0).sum() >= self.builder.min_joints) for k in keypoints.values())
            self.on_pose(found, len(keypoints))
        for i in wanted:
            rect = crop_rect(boxes[i], self.height, self.width, self.crop_pad)
            crop = crop_person(image, rect, self.height, self.width)
            kps = keypoints_to_crop(keypoints[i], rect) if i in keypoints else None
            tracklet = self.builder.add(tracks[i].track_id, frame, crop, kps)
            if tracklet is not None:
                out.append(tracklet)
        self.views = [TrackView(t.track_id, np.asarray(boxes[i], np.float32), keypoints.get(i), t.det_index >= 0)
                      for i, t in enumerate(tracks)]
        return out

    def flush(self) -> list[Tracklet]:
        """Everything held, as (possibly padded) tracklets; call at the end of a stream or on shutdown."""
        return self.builder.flush()
