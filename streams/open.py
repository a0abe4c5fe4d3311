"""One entry point from a camera's source string to a Source."""
from __future__ import annotations

from pathlib import Path

from starreid.streams.files import ImageFolderSource, SourceError, VideoFileSource
from starreid.streams.frame import MODALITIES
from starreid.streams.live import LiveSource

LIVE_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "rtmp://", "udp://", "tcp://")


def open_source(source: str, camera: str, modality: str, fps: float = 10.0, timeout: float = 2.0,
                backoff_initial: float = 0.05, backoff_max: float = 1.0):
    """Video file, image folder, stream URL or V4L2 device (/dev/videoN or N); see streams.frame.Frame."""
    if modality not in MODALITIES:
        raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
    if source.startswith(LIVE_SCHEMES) or source.startswith("/dev/video") or source.isdigit():
        return LiveSource(source, camera, modality, timeout=timeout,
                          backoff_initial=backoff_initial, backoff_max=backoff_max)
    if source.startswith("file://"):
        source = source[len("file://"):]
    if Path(source).is_dir():
        return ImageFolderSource(source, camera, modality, fps=fps)
    return VideoFileSource(source, camera, modality)


__all__ = ["open_source", "SourceError"]
