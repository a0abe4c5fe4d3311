"""Camera list: each camera has an id, a source (URL, device or path), a modality, and optionally tracker
settings of its own over the tracker section (an IR camera of half the resolution needs another detect_scale)."""
from typing import Literal

from pydantic import Field

from starreid.app.config.base import Section
from starreid.app.config.tracker import TrackerOverride


class CameraConfig(Section):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="unique camera id")
    source: str = Field(min_length=1, description="video file, image folder, rtsp:// or http:// URL, or /dev/videoN")
    modality: Literal["rgb", "ir"]
    fps: float = Field(default=10.0, gt=0, description="nominal frame rate of image folders (for timestamps)")
    timeout_s: float = Field(default=2.0, gt=0, description="live sources: open/read timeout before reconnecting")
    reconnect_max_s: float = Field(default=1.0, gt=0, description="live sources: longest wait between reconnects")
    tracker: TrackerOverride | None = Field(default=None, description="tracker settings for this camera only, "
                                            "over the tracker section (e.g. detect_scale: 2.6)")
