"""Camera list: each camera has an id, a source (URL, device or path) and a modality."""
from typing import Literal

from pydantic import Field

from starreid.config.base import Section


class CameraConfig(Section):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="unique camera id")
    source: str = Field(min_length=1, description="video file, image folder, rtsp:// or http:// URL, or /dev/videoN")
    modality: Literal["rgb", "ir"]
