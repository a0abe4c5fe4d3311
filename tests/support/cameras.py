"""Live cameras for tests and benchmarks: a video file's frames encoded once as JPEG and served in a loop by the
loopback MJPEG server (starreid.streams.mjpeg_server), so that several cameras cost the serving process little."""
from __future__ import annotations

import itertools
from typing import Callable, Iterable

import cv2


def jpeg_frames(path: str, frames: int | None = None, quality: int = 85) -> list[bytes]:
    """The first `frames` frames of a video (all by default) as JPEG bytes."""
    cap = cv2.VideoCapture(str(path))
    out = []
    while frames is None or len(out) < frames:
        ok, image = cap.read()
        if not ok:
            break
        out.append(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
    cap.release()
    if not out:
        raise ValueError(f"no frames in {path}")
    return out


def looped(parts: list[bytes], offset: int = 0) -> Callable[[], Iterable[bytes]]:
    """A parts factory for MjpegServer: the frames in a loop, starting at `offset` (cameras out of step)."""
    def factory():
        start = offset % len(parts)
        return itertools.chain(parts[start:], itertools.cycle(parts))

    return factory


def cameras(path: str, count: int, fps: float, frames: int | None = None) -> list:
    """`count` started MjpegServers replaying `path` at `fps`, each from another point of the video."""
    from starreid.streams.mjpeg_server import MjpegServer

    parts = jpeg_frames(path, frames)
    return [MjpegServer(looped(parts, i * len(parts) // max(count, 1)), fps=fps).start() for i in range(count)]
