"""Ultralytics YOLO-pose backend: boxes and COCO-17 keypoints in one pass. Optional extra (`pip install
starreid[ultralytics]`, pulls torch); the weight file is the user's (nothing is downloaded)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from starreid.tracker.detection import Detection


class YoloPose:
    joint_pose = True

    DEVICE = "cpu"  # torch's device; the CPU build is what the optional extra installs here

    @classmethod
    def from_config(cls, tracker) -> "YoloPose":
        """weights from the tracker section; detections below low_score are ignored by the tracker anyway."""
        return cls(tracker.weights, confidence=tracker.low_score)

    def __init__(self, weights: str | None, *, confidence: float):
        if not weights or not Path(weights).is_file():
            raise FileNotFoundError(f"ultralytics backend needs a YOLO-pose weight file; got {weights!r}")
        os.environ.setdefault("YOLO_OFFLINE", "1")  # never reach for the network
        try:
            from ultralytics import YOLO
        except ImportError as exc:
            raise ImportError("the ultralytics backend needs the optional extra: pip install ultralytics") from exc
        self._model = YOLO(weights, task="pose")
        self.confidence, self.device = confidence, self.DEVICE

    def _run(self, image: np.ndarray):
        # Ultralytics expects BGR numpy input.
        result = self._model.predict(np.ascontiguousarray(image[:, :, ::-1]), conf=self.confidence,
                                     classes=[0], device=self.device, verbose=False)[0]
        boxes = result.boxes.xyxy.cpu().numpy().astype(np.float32)
        scores = result.boxes.conf.cpu().numpy().astype(np.float32)
        if result.keypoints is not None and len(boxes):
            kps = result.keypoints.data.cpu().numpy().astype(np.float32).reshape(len(boxes), 17, -1)
            if kps.shape[2] == 2:
                kps = np.concatenate([kps, np.ones_like(kps[:, :, :1])], axis=2)
        else:
            kps = np.zeros((len(boxes), 17, 3), np.float32)
        return boxes, scores, kps

    def detect(self, image: np.ndarray) -> list[Detection]:
        boxes, scores, kps = self._run(image)
        return [Detection(b, float(s), k) for b, s, k in zip(boxes, scores, kps)]

    def pose(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Keypoints for given boxes: run on the frame and take, per box, the detection overlapping it most."""
        from starreid.tracker.bytetrack import iou_matrix

        out = np.zeros((len(boxes), 17, 3), np.float32)
        det_boxes, _, kps = self._run(image)
        if len(boxes) and len(det_boxes):
            iou = iou_matrix(np.asarray(boxes, np.float32), det_boxes)
            for i, j in enumerate(iou.argmax(axis=1)):
                if iou[i, j] > 0.3:
                    out[i] = kps[j]
        return out

    def close(self) -> None:
        self._model = None
