"""COCO-17 pose of one person with MediaPipe BlazePose (bundled model, offline).

Not thread-safe: a MediaPipe graph must be used from one thread at a time; give each worker thread its own
MediaPipePose. One person per image, so call it per detected box (or on a person crop)."""
from __future__ import annotations

import numpy as np

# BlazePose's 33 landmarks -> COCO-17 order (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles).
BLAZE_TO_COCO = np.array([0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
BOX_MARGIN = 0.15  # widen a detector box so limbs at its edge stay in the crop


class MediaPipePose:
    def __init__(self, min_visibility: float = 0.3, static_image_mode: bool = True,
                 min_detection_confidence: float = 0.5, upscale_to: int = 256):
        """min_visibility: joints MediaPipe rates less visible than this are reported missing (score 0).
        upscale_to: crops shorter than this many pixels are enlarged first (small crops lose the detector)."""
        import os

        # MediaPipe's C++ side logs several warnings per graph to stderr; keep daemon logs readable.
        os.environ.setdefault("GLOG_minloglevel", "2")
        import mediapipe as mp  # heavy; imported only when a pose estimator is built

        self.min_visibility = min_visibility
        self.upscale_to = upscale_to
        self._pose = mp.solutions.pose.Pose(static_image_mode=static_image_mode, model_complexity=1,
                                            min_detection_confidence=min_detection_confidence)

    def estimate(self, image_rgb: np.ndarray, box=None) -> np.ndarray:
        """(17, 3) float32: x, y in pixels of `image_rgb`, score in [0, 1]; a missing joint is (0, 0, 0).

        box: optional xyxy in pixels; it is widened by 15% and only that crop is searched."""
        import cv2

        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"expected an H x W x 3 uint8 RGB image, got {image_rgb.shape} {image_rgb.dtype}")
        h, w = image_rgb.shape[:2]
        x0, y0, x1, y1 = 0, 0, w, h
        if box is not None:
            bx0, by0, bx1, by1 = (float(v) for v in box)
            mx, my = (bx1 - bx0) * BOX_MARGIN / 2, (by1 - by0) * BOX_MARGIN / 2
            x0, y0 = int(max(0, np.floor(bx0 - mx))), int(max(0, np.floor(by0 - my)))
            x1, y1 = int(min(w, np.ceil(bx1 + mx))), int(min(h, np.ceil(by1 + my)))
        out = np.zeros((17, 3), np.float32)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return out
        crop = image_rgb[y0:y1, x0:x1]
        scale = max(1.0, self.upscale_to / crop.shape[0])
        if scale > 1.0:
            crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        result = self._pose.process(np.ascontiguousarray(crop))
        if result.pose_landmarks is None:
            return out
        lm = result.pose_landmarks.landmark
        ch, cw = y1 - y0, x1 - x0
        for j, b in enumerate(BLAZE_TO_COCO):
            p = lm[b]
            vis = float(np.clip(p.visibility, 0.0, 1.0))
            if vis < self.min_visibility:
                continue
            # Landmarks are normalised to the (possibly enlarged) crop; the ratio is the same at either size.
            out[j] = (x0 + p.x * cw, y0 + p.y * ch, vis)
        return out

    def close(self) -> None:
        self._pose.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
