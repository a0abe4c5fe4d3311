"""Batch-hard triplet loss on Euclidean distances."""
from __future__ import annotations

import mindspore as ms
from mindspore import ops


def pairwise_distance(x, eps: float = 1e-12):
    sq = (x * x).sum(-1, keepdims=True)
    d2 = sq + sq.T - 2.0 * ops.matmul(x, x.T)
    return ops.sqrt(ops.maximum(d2, eps))


def batch_hard_triplet(features, labels, margin: float = 0.3):
    """mean_a max(0, max_{p ~ a} d(a, p) - min_{n !~ a} d(a, n) + margin) over anchors a."""
    dist = pairwise_distance(features)
    same = (labels.reshape(-1, 1) == labels.reshape(1, -1)).astype(ms.float32)
    hardest_pos = (dist * same).max(axis=1)
    # Positives are pushed above every negative distance so that min picks a negative.
    hardest_neg = (dist + same * 1e6).min(axis=1)
    return ops.relu(hardest_pos - hardest_neg + margin).mean()
