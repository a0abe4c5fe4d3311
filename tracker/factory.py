"""Builds one camera's pipeline from plain settings (the CLI maps config sections onto these arguments)."""
from __future__ import annotations

from starreid.tracker.bytetrack import ByteTracker
from starreid.tracker.detection import make_detector
from starreid.tracker.pipeline import CameraPipeline
from starreid.tracker.tracklets import TrackletBuilder


def build_pipeline(camera: str, modality: str, backend: str = "hog_mediapipe", weights: str | None = None,
                   detect_every: int = 3, detect_scale: float = 1.0, hog_pyramid_step: float = 1.1,
                   hog_hit_threshold: float = 0.0, high_score: float = 0.5, low_score: float = 0.1,
                   new_track_score: float = 0.6, match_iou: float = 0.2, max_lost_frames: int = 60,
                   lost_match_dist: float = 1.0, min_hits: int = 3, tracklet_len: int = 24,
                   tracklet_stride: int = 24, min_frames: int = 8, pose_every: int = 2,
                   crop_pad: float = 0.1, jpeg_quality: int = 90, height: int = 288, width: int = 144,
                   **_unused) -> CameraPipeline:
    detector = make_detector(backend, weights=weights, detect_scale=detect_scale, pyramid_step=hog_pyramid_step,
                             hit_threshold=hog_hit_threshold)
    tracker = ByteTracker(high_score=high_score, low_score=low_score, new_track_score=new_track_score,
                          match_iou=match_iou, max_lost=max_lost_frames, min_hits=min_hits,
                          lost_match_dist=lost_match_dist)
    builder = TrackletBuilder(camera, modality, length=tracklet_len, stride=tracklet_stride, min_frames=min_frames,
                              jpeg_quality=jpeg_quality, pose_every=pose_every)
    return CameraPipeline(detector, tracker, builder, height=height, width=width, detect_every=detect_every,
                          crop_pad=crop_pad)
