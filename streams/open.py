"""One entry point from a camera's source string to a Source."""
from __future__ import annotations

from pathlib import Path

from starreid.streams.files import ImageFolderSource, SourceError, VideoFileSource
from starreid.streams.frame import MODALITIES
from starreid.streams.live import LiveSource

LIVE_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


def open_source(camera):
    """The source of a camera config section (id, source, modality, fps, timeout_s, reconnect_max_s): a video
    file, an image folder, a stream URL or a V4L2 device (/dev/videoN or N)."""
    source, modality = camera.source, camera.modality
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
    if source.startswith(LIVE_SCHEMES) or source.startswith("/dev/video") or source.isdigit():
        return LiveSource(source, camera.id, modality, timeout=camera.timeout_s, reconnect_max=camera.reconnect_max_s)
    if source.startswith("file://"):
        source = source[len("file://"):]
    if Path(source).is_dir():
        return ImageFolderSource(source, camera.id, modality, fps=camera.fps)
    return VideoFileSource(source, camera.id, modality)


__all__ = ["open_source", "SourceError"]
