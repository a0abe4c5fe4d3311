"""The IBAN objective (eq 15): L = L_ID + lambda1 L_Tri + lambda2 L_esb + lambda3 L_cr, with lambda3 = 0 before
a configurable epoch (40 in the paper).

    L_ID  = CE(tracklet logits) + CE(anaglyph logits)        (the identity loss works on both streams)
    L_Tri = batch-hard triplet of each stream's embedding
    L_esb = ESB of each stream's embedding (eq 12-14)
    L_cr  = cross-reconstruction of the anaglyph maps (eq 5)

The paper's sums over the batch (eq 5, eq 12) are means here, so that lambda does not scale with the batch."""
from __future__ import annotations

import numpy as np
from mindspore import nn, ops

from starreid.reid.losses.star_loss import identity_loss
from starreid.reid.losses.triplet import batch_hard_triplet


def _other_modality(modality):
    """(B, B) float, 1 where row and column are of different modalities."""
    m = modality.reshape(-1, 1)
    return (m != m.reshape(1, -1)).astype(np.float32)


def easy_samples(e, modality):
    """Eq 13-14: for each sample, the index of the other-modality sample most similar to it (cosine; identities
    ignored, as the paper's footnote says)."""
    n = e / ops.sqrt((e * e).sum(-1, keepdims=True) + 1e-12)
    cos = ops.matmul(n, n.T)
    other = _other_modality(modality)
    # same-modality columns pushed out of reach; an index has no gradient (stop_gradient keeps argmax's out)
    return ops.argmax(ops.stop_gradient(cos + (other - 1.0) * 1e4), dim=1)


def esb_loss(e, modality):
    """Eq 12: every sample of the other modality is drawn (MSE) towards each anchor's easy sample, whose
    gradient is stopped; the mean over (anchor, sample) pairs of different modalities."""
    easy = ops.stop_gradient(ops.gather(e, easy_samples(e, modality), 0))  # (B, C): the anchor's easy sample
    diff = e.expand_dims(0) - easy.expand_dims(1)  # [a, j] = e_j - E(e_a)
    mse = (diff * diff).mean(-1)
    other = _other_modality(modality)
    return (mse * other).sum() / ops.maximum(other.sum(), 1.0)


def cross_reconstruction(maps, recon, labels, modality, eps: float = 1e-12):
    """Eq 5: R(a_j) against the detached anaglyph map of j's partner (the first tracklet of the same identity
    in the other modality), frame by frame. The distance is the L2 norm over channels at each position,
    averaged over positions, frames and the tracklets that have a partner."""
    pair = ops.logical_and(labels.reshape(-1, 1) == labels.reshape(1, -1), _other_modality(modality) > 0.5)
    pairf = pair.astype(np.float32)
    has = (pairf.sum(1) > 0.5).astype(np.float32)
    target = ops.stop_gradient(ops.gather(maps, ops.argmax(ops.stop_gradient(pairf), dim=1), 0))
    diff = target - recon  # (B, T, C, h, w)
    per = ops.sqrt((diff * diff).sum(2) + eps).mean(axis=(1, 2, 3))
    return (per * has).sum() / ops.maximum(has.sum(), 1.0)


class IbanLoss(nn.Cell):
    """construct(outputs of IBAN.construct, labels, weights=None) -> (total, id, triplet, esb, cr).

    weights (4,): the per-term weights of this step (weights(epoch)); None = the configured ones with the
    reconstruction on."""

    terms = ("id", "triplet", "esb", "cr")

    def __init__(self, *, w_id: float, w_tri: float, w_esb: float, w_cr: float, cr_from_epoch: int,
                 margin: float, label_smoothing: float):
        super().__init__()
        self.w = (w_id, w_tri, w_esb, w_cr)
        self.cr_from_epoch, self.margin, self.smoothing = cr_from_epoch, margin, label_smoothing

    @classmethod
    def from_config(cls, loss, net) -> "IbanLoss":
        return cls(w_id=loss.w_id, w_tri=loss.w_tri, w_esb=loss.w_esb, w_cr=loss.w_cr,
                   cr_from_epoch=loss.cr_from_epoch, margin=loss.margin, label_smoothing=loss.label_smoothing)

    def weights(self, epoch: int) -> np.ndarray:
        """The term weights of 0-based `epoch`: lambda3 is 0 until cr_from_epoch (the paper: epoch < 40)."""
        w_id, w_tri, w_esb, w_cr = self.w
        return np.array([w_id, w_tri, w_esb, w_cr if epoch >= self.cr_from_epoch else 0.0], np.float32)

    def construct(self, logits, e, a_logits, a_e, modality, maps, recon, labels, weights=None):
        l_id = identity_loss(logits, labels, self.smoothing) + identity_loss(a_logits, labels, self.smoothing)
        l_tri = batch_hard_triplet(e, labels, self.margin) + batch_hard_triplet(a_e, labels, self.margin)
        l_esb = esb_loss(e, modality) + esb_loss(a_e, modality)
        l_cr = cross_reconstruction(maps, recon, labels, modality)
        if weights is None:
            total = self.w[0] * l_id + self.w[1] * l_tri + self.w[2] * l_esb + self.w[3] * l_cr
        else:
            total = weights[0] * l_id + weights[1] * l_tri + weights[2] * l_esb + weights[3] * l_cr
        return total, l_id, l_tri, l_esb, l_cr
