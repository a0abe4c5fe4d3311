"""A reader for MJPEG over HTTP (multipart/x-mixed-replace), the format of most IP cameras' HTTP feeds.

Parsed here rather than through FFmpeg so that a corrupt JPEG part is seen, counted and skipped, and a lost
connection is noticed within the read timeout.
"""
from __future__ import annotations

import urllib.request

import numpy as np

from starreid.streams.images import decode_image

MAX_PART_BYTES = 16 * 1024 * 1024


class CorruptFrame(Exception):
    """One frame could not be decoded; the stream goes on."""


class StreamEnded(Exception):
    """The connection closed or the stream stopped making sense; reconnect."""


class MjpegReader:
    def __init__(self, url: str, timeout: float):
        self._resp = urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - the operator's camera URL
        ctype = self._resp.headers.get("Content-Type", "")
        if "multipart" not in ctype or "boundary=" not in ctype:
            self._resp.close()
            raise NotMjpeg(ctype)
        boundary = ctype.split("boundary=", 1)[1].split(";")[0].strip().strip('"')
        self._boundary = b"--" + boundary.lstrip("-").encode()

    def read(self) -> np.ndarray:
        """The next frame as BGR; raises CorruptFrame (skip it) or StreamEnded (reconnect)."""
        try:
            line = self._readline()
            while line.strip() == b"":  # blank lines between parts
                line = self._readline()
            if not line.strip().lstrip(b"-").startswith(self._boundary.lstrip(b"-")):
                raise StreamEnded(f"expected boundary, got {line[:40]!r}")
            headers = {}
            while (line := self._readline().strip()) != b"":
                key, _, value = line.partition(b":")
                headers[key.strip().lower()] = value.strip()
            length = int(headers.get(b"content-length", b"-1"))
            if not 0 < length <= MAX_PART_BYTES:
                raise StreamEnded(f"part without a usable Content-Length ({length})")
            data = self._resp.read(length)
        except (OSError, ValueError) as exc:
            raise StreamEnded(str(exc)) from exc
        if len(data) < length:
            raise StreamEnded("connection closed inside a part")
        image = decode_image(data)
        if image is None:
            raise CorruptFrame(f"truncated or undecodable JPEG part of {length} bytes")
        return image

    def _readline(self) -> bytes:
        line = self._resp.readline(4096)
        if not line:
            raise StreamEnded("connection closed")
        return line

    def close(self) -> None:
        self._resp.close()


class NotMjpeg(Exception):
    """The HTTP resource is not a multipart MJPEG stream (hand it to FFmpeg instead)."""
