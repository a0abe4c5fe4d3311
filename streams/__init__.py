"""Camera sources: video files, image folders, RTSP/HTTP streams and V4L2 devices, yielding Frames."""
from starreid.streams.frame import Frame
from starreid.streams.open import SourceError, open_source
from starreid.streams.source import Source

__all__ = ["Frame", "Source", "SourceError", "open_source"]
