"""Frames with a known pattern (a red left half, grey level by index) and their JPEG bytes."""
import cv2
import numpy as np


def pattern(i: int, size=(120, 160)) -> np.ndarray:
    """BGR image: left half pure red, right half grey level i % 256."""
    image = np.full((*size, 3), i % 256, np.uint8)
    image[:, : size[1] // 2] = (0, 0, 200)  # BGR: red
    return image


def jpeg(image: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
