"""Tracking quality against ground truth: identity switches, coverage and distinct ids (CLEAR-MOT style
matching at IoU >= 0.5 per frame)."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from starreid.tracker.bytetrack import iou_matrix


def evaluate(truth: list[dict[int, np.ndarray]], predicted: list[dict[int, np.ndarray]],
             min_iou: float = 0.5) -> dict[str, float]:
    """truth and predicted: per frame, {id: box xyxy}. An id switch is a ground-truth person matched to a
    different track id than the last track it was matched to."""
    last: dict[int, int] = {}
    switches = matched = total = 0
    for gt, pr in zip(truth, predicted):
        total += len(gt)
        if not gt or not pr:
            continue
        gt_ids, pr_ids = list(gt), list(pr)
        iou = iou_matrix(np.stack([gt[i] for i in gt_ids]), np.stack([pr[i] for i in pr_ids]))
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols):
            if iou[r, c] < min_iou:
                continue
            matched += 1
            g, p = gt_ids[r], pr_ids[c]
            if g in last and last[g] != p:
                switches += 1
            last[g] = p
    distinct = len({i for pr in predicted for i in pr})
    return {"id_switches": switches, "coverage": matched / max(total, 1), "distinct_ids": distinct,
            "true_ids": len({i for gt in truth for i in gt})}
