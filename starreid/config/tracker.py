"""Detection, pose and tracking settings for camera workers."""
from typing import Literal

from pydantic import Field

from starreid.config.base import Section


class TrackerConfig(Section):
    backend: Literal["hog_mediapipe", "ultralytics"] = "hog_mediapipe"
    weights: str | None = Field(default=None, description="YOLO-pose weight file (ultralytics backend only)")
    tracklet_len: int = Field(default=24, ge=4, le=64)
    tracklet_stride: int = Field(default=24, ge=1, le=64)
