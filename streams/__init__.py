"""Camera sources: video files, image folders, RTSP/HTTP streams and V4L2 devices, yielding Frames."""
from starreid.streams.frame import Frame
from starreid.streams.open import SourceError, open_source

__all__ = ["Frame", "open_source", "SourceError"]
