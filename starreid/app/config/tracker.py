"""Detection, pose, tracking and tracklet settings for camera workers."""
from typing import Literal, Optional

from pydantic import Field, create_model, model_serializer, model_validator
from pydantic.fields import FieldInfo

from starreid.app.config.base import Section


class TrackerConfig(Section):
    backend: Literal["hog_mediapipe", "ultralytics"] = "hog_mediapipe"
    weights: str | None = Field(default=None, description="YOLO-pose weight file (ultralytics backend only)")
    detect_every: int = Field(default=3, ge=1, le=30, description="run the detector every k frames; track between")
    detect_scale: float = Field(default=1.0, gt=0.1, le=3.0, description="resize factor before HOG (people must "
                                "stay taller than ~130 px after it; a half-size IR camera of the same scene needs "
                                "twice its RGB neighbour's)")
    hog_pyramid_step: float = Field(default=1.1, gt=1.0, le=1.5, description="HOG image pyramid scale step")
    hog_hit_threshold: float = Field(default=0.0, description="HOG SVM margin below which windows are dropped")
    high_score: float = Field(default=0.5, ge=0, le=1, description="first-stage association score")
    low_score: float = Field(default=0.1, ge=0, le=1, description="detections below are ignored")
    new_track_score: float = Field(default=0.6, ge=0, le=1, description="score needed to start a track")
    match_iou: float = Field(default=0.2, ge=0, le=1, description="minimum IoU of a first-stage match")
    max_lost_frames: int = Field(default=60, ge=1, description="frames a lost track may be re-found")
    lost_match_dist: float = Field(default=1.0, ge=0, description="re-find a lost track by centre distance "
                                   "up to this many box heights (0 = IoU only)")
    min_hits: int = Field(default=3, ge=1, description="detections before a track gets an id")
    tracklet_len: int = Field(default=24, ge=4, le=64)
    tracklet_stride: int = Field(default=24, ge=1, le=256, description="frames between window starts")
    pose_every: int = Field(default=2, ge=1, le=8, description="estimate pose on every n-th frame of a window "
                            "and interpolate between (the embedder samples 12 of 24 frames: 2 loses nothing)")
    min_frames: int = Field(default=8, ge=1, description="a track ending with fewer frames emits nothing")
    pose_warn_below: float | None = Field(default=0.3, ge=0, le=1, description="log a warning when fewer than "
                                          "this share of the last pose_warn_window pose estimates found a pose "
                                          "(>= 4 joints): the pose model does not work on this camera's picture "
                                          "(IR, contrast, scale); null = never")
    pose_warn_window: int = Field(default=200, ge=10, description="pose estimates the warning's share is taken over")
    purity_split: float | None = Field(default=0.35, gt=0, lt=1, description="cut a window where the track's "
                                       "appearance changes by more than this Hellinger distance of colour "
                                       "histograms (the tracker slid to another person); null = never")
    crop_pad: float = Field(default=0.1, ge=0, le=1, description="margin around the box in crops")
    jpeg_quality: int = Field(default=90, ge=10, le=100)
    queue_size: int = Field(default=64, ge=1, description="tracklets waiting for the sender before back-pressure")
    flush_timeout_s: float = Field(default=10.0, ge=0, description="time to deliver held tracklets at shutdown")
    spool_dir: str = Field(default="./data/spool", description="tracklets not yet confirmed by the gallery are "
                           "kept here (a subfolder per camera) and sent again when the worker restarts")

    @model_validator(mode="after")
    def _check(self):
        if self.low_score > self.high_score:
            raise ValueError("low_score must not exceed high_score")
        if self.min_frames > self.tracklet_len:
            raise ValueError("min_frames must not exceed tracklet_len")
        return self


class _Override(Section):
    """Dumped (config show), an override shows just the keys it sets."""

    @model_serializer(mode="wrap")
    def _only_what_is_set(self, handler):
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}


def _override_model() -> type[Section]:
    """TrackerConfig's fields, each optional and validated as in TrackerConfig (ranges, choices, unknown keys):
    a camera's `tracker` override. Only the keys a camera sets count (model_fields_set), so `purity_split: null`
    overrides too."""
    fields = {name: (Optional[f.annotation], FieldInfo.merge_field_infos(f, default=None))
              for name, f in TrackerConfig.model_fields.items()}
    return create_model("TrackerOverride", __base__=_Override, __doc__="a camera's own tracker settings, over "
                        "the tracker section", **fields)


TrackerOverride = _override_model()


def merge_tracker(tracker: TrackerConfig, override) -> TrackerConfig:
    """The tracker section with a camera's override on top, validated as one section (cross-field checks too)."""
    if override is None or not override.model_fields_set:
        return tracker
    values = tracker.model_dump()
    values.update({k: getattr(override, k) for k in override.model_fields_set})
    return TrackerConfig.model_validate(values)
