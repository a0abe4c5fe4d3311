"""Tracking quality against ground truth with py-motmetrics (CLEAR-MOT matching at IoU >= 0.5 per frame)."""
from __future__ import annotations

import numpy as np


def evaluate(truth: list[dict[int, np.ndarray]], predicted: list[dict[int, np.ndarray]],
             min_iou: float = 0.5) -> dict[str, float]:
    """truth and predicted: per frame, {id: box xyxy} -> id_switches, coverage (share of ground-truth boxes
    matched), idf1, mota, distinct_ids (predicted) and true_ids."""
    import motmetrics as mm

    acc = mm.MOTAccumulator(auto_id=True)
    for gt, pr in zip(truth, predicted):
        gt_ids, pr_ids = list(gt), list(pr)
        gt_boxes = np.array([_xywh(gt[i]) for i in gt_ids]).reshape(-1, 4)
        pr_boxes = np.array([_xywh(pr[i]) for i in pr_ids]).reshape(-1, 4)
        dist = mm.distances.iou_matrix(gt_boxes, pr_boxes, max_iou=1.0 - min_iou)
        acc.update(gt_ids, pr_ids, dist)
    summary = mm.metrics.create().compute(acc, metrics=["num_switches", "recall", "idf1", "mota"], name="all")
    row = summary.loc["all"]
    return {"id_switches": int(row["num_switches"]), "coverage": float(row["recall"]), "idf1": float(row["idf1"]),
            "mota": float(row["mota"]), "distinct_ids": len({i for pr in predicted for i in pr}),
            "true_ids": len({i for gt in truth for i in gt})}


def _xywh(box: np.ndarray) -> list[float]:
    x1, y1, x2, y2 = (float(v) for v in box)
    return [x1, y1, x2 - x1, y2 - y1]
