"""The STAR objective (eq 15) as the authors' code computes it:

    L = w_id L_id + w_tri L_tri + w_kl L_KL + w_sad L_SAD
    L_id  = CE(tracklet logits) + CE(clean frame logits)          (identity at both levels)
    L_SAD = CE(disturbed frame logits) + defense weight x mean over frames of ||clean - disturbed||_2
"""
from __future__ import annotations

import numpy as np
from mindspore import nn, ops

from starreid.reid.losses.kl import symmetric_kl
from starreid.reid.losses.triplet import batch_hard_triplet


def identity_loss(logits, labels, label_smoothing: float = 0.0):
    return ops.cross_entropy(logits, labels, label_smoothing=label_smoothing)


def frame_labels(labels, frames: int):
    """Tracklet labels (B,) -> the label of each of their frames (B * T,), tracklet-major."""
    t = frames // labels.shape[0]
    return ops.broadcast_to(labels.reshape(-1, 1), (labels.shape[0], t)).reshape(-1)


def defense_loss(clean, disturbed, eps: float = 1e-12):
    """SAD's defense term: the L2 distance between each frame's clean and disturbed vector, averaged over
    frames (eps keeps the gradient of sqrt finite at 0)."""
    diff = clean - disturbed
    return ops.sqrt((diff * diff).sum(-1) + eps).mean()


def sad_loss(sad_logits, frame_label, clean, disturbed, defense_weight: float = 1.0, label_smoothing: float = 0.0):
    """Identity loss on the style-disturbed frames plus the defense term between clean and disturbed frames."""
    return (identity_loss(sad_logits, frame_label, label_smoothing)
            + defense_weight * defense_loss(clean, disturbed))


class StarLoss(nn.Cell):
    """construct(outputs of STAR.construct, labels, weights=None) -> (total, id, triplet, kl, sad).

    weights (4,): the per-term weights of this step (weights(epoch), the same every epoch); None = the
    configured ones."""

    DEFENSE_WEIGHT = 1.0
    terms = ("id", "triplet", "kl", "sad")

    def __init__(self, *, w_id: float, w_tri: float, w_kl: float, w_sad: float, margin: float,
                 label_smoothing: float, use_kl: bool, use_sad: bool):
        super().__init__()
        self.w_id, self.w_tri, self.w_kl, self.w_sad = w_id, w_tri, w_kl, w_sad
        self.margin, self.defense_weight, self.smoothing = margin, self.DEFENSE_WEIGHT, label_smoothing
        self.use_kl, self.use_sad = use_kl, use_sad

    @classmethod
    def from_config(cls, loss, net) -> "StarLoss":
        """The loss config section's weights, with KL only when the network has both guidances and SAD when
        it disturbs."""
        return cls(w_id=loss.w_id, w_tri=loss.w_tri, w_kl=loss.w_kl, w_sad=loss.w_sad, margin=loss.margin,
                   label_smoothing=loss.label_smoothing, use_kl=net.use_fg and net.use_sg, use_sad=net.use_sad)

    def weights(self, epoch: int) -> np.ndarray:
        return np.array([self.w_id, self.w_tri, self.w_kl, self.w_sad], np.float32)

    def construct(self, logits, feature, kl_p, kl_q, frame_logits, sad_logits, clean, disturbed, labels,
                  weights=None):
        per_frame = frame_labels(labels, frame_logits.shape[0])
        l_id = (identity_loss(logits, labels, self.smoothing)
                + identity_loss(frame_logits, per_frame, self.smoothing))
        l_tri = batch_hard_triplet(feature, labels, self.margin)
        l_kl = symmetric_kl(kl_p, kl_q) if self.use_kl else l_id * 0.0
        l_sad = l_id * 0.0
        if self.use_sad:
            l_sad = sad_loss(sad_logits, per_frame, clean, disturbed, self.defense_weight, self.smoothing)
        if weights is None:
            total = self.w_id * l_id + self.w_tri * l_tri + self.w_kl * l_kl + self.w_sad * l_sad
        else:
            total = weights[0] * l_id + weights[1] * l_tri + weights[2] * l_kl + weights[3] * l_sad
        return total, l_id, l_tri, l_kl, l_sad
