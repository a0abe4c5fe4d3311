"""Bidirectional KL divergence between two softmax distributions (eq 14)."""
from __future__ import annotations

from mindspore import ops


def symmetric_kl(p_logits, q_logits):
    """0.5 * sum_i [P_i log(P_i / Q_i) + Q_i log(Q_i / P_i)], P = softmax(p_logits), Q = softmax(q_logits),
    summed over the feature dimension and averaged over the batch."""
    log_p, log_q = ops.log_softmax(p_logits, -1), ops.log_softmax(q_logits, -1)
    p, q = ops.exp(log_p), ops.exp(log_q)
    return (0.5 * ((p - q) * (log_p - log_q)).sum(-1)).mean()
