"""Camera list: each camera has an id, a source (URL, device or path) and a modality."""
from typing import Literal

from pydantic import Field

from starreid.app.config.base import Section


class CameraConfig(Section):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="unique camera id")
    source: str = Field(min_length=1, description="video file, image folder, rtsp:// or http:// URL, or /dev/videoN")
    modality: Literal["rgb", "ir"]
    fps: float = Field(default=10.0, gt=0, description="nominal frame rate of image folders (for timestamps)")
    timeout_s: float = Field(default=2.0, gt=0, description="live sources: open/read timeout before reconnecting")
    reconnect_max_s: float = Field(default=1.0, gt=0, description="live sources: longest wait between reconnects")
