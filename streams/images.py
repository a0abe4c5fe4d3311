"""Decoding one encoded image, refusing truncated ones: OpenCV decodes a JPEG cut short into a grey-filled
picture without an error, so completeness is checked from the file's own end marker first."""
from __future__ import annotations

import cv2
import numpy as np

_PNG_END = b"IEND\xaeB`\x82"


def truncated(data: bytes) -> bool:
    """A JPEG without its end-of-image marker or a PNG without its IEND chunk (trailing padding allowed)."""
    tail = data.rstrip(b"\x00\r\n\t ")
    if data.startswith(b"\xff\xd8"):
        return not tail.endswith(b"\xff\xd9")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return not tail.endswith(_PNG_END)
    return False  # other formats: the decoder is the judge


def decode_image(data: bytes) -> np.ndarray | None:
    """BGR(A) or grey image as OpenCV reads it, or None when the bytes are truncated or undecodable."""
    if not data or truncated(data):
        return None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return None if image is None or image.size == 0 else image
