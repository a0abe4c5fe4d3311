"""OpenCV's HOG + linear SVM people detector (Dalal-Triggs), with the frame downscaled for speed."""
from __future__ import annotations

import cv2
import numpy as np


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best score first."""
    order = np.argsort(-scores)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        x1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        y1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        x2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        y2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
        area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])  # noqa: E731
        iou = inter / (area(boxes[i]) + area(boxes[rest]) - inter + 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, np.int64)


class HogPeopleDetector:
    """Boxes (N, 4) xyxy in the input's pixels and scores in [0, 1).

    The default SVM window is 64 x 128 pixels, so people smaller than ~128 px tall after scaling are missed:
    choose `scale` so the smallest person of interest stays above that. The SVM margin w maps to a score by
    1 - exp(-w) (0.5 at w = 0.69).
    """

    WIN_STRIDE = 8  # pixels between SVM windows: OpenCV's own default, the recall/speed balance
    NMS_IOU = 0.45

    def __init__(self, *, scale: float, hit_threshold: float, pyramid_step: float):
        self.scale, self.hit_threshold = scale, hit_threshold
        self.win_stride, self.pyramid_step, self.nms_iou = self.WIN_STRIDE, pyramid_step, self.NMS_IOU
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def __call__(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small = image if self.scale == 1.0 else cv2.resize(image, None, fx=self.scale, fy=self.scale,
                                                           interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)  # HOG on grey: same boxes for RGB and IR, 3x cheaper
        rects, weights = self._hog.detectMultiScale(
            grey, hitThreshold=self.hit_threshold, winStride=(self.win_stride, self.win_stride),
            padding=(8, 8), scale=self.pyramid_step)
        if len(rects) == 0:
            return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
        rects = np.asarray(rects, np.float32).reshape(-1, 4)
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1) / self.scale
        # HOG boxes carry a margin of ~10% around the body on each side; trim it so crops are tighter.
        w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        boxes += np.stack([0.1 * w, 0.05 * h, -0.1 * w, -0.05 * h], axis=1)
        scores = 1.0 - np.exp(-np.asarray(weights, np.float32).reshape(-1).clip(0, None))
        keep = nms(boxes, scores, self.nms_iou)
        return boxes[keep].astype(np.float32), scores[keep].astype(np.float32)
