"""Losses of STAR: identity, batch-hard triplet, bidirectional KL, SAD; combined as eq 15."""
from starreid.reid.losses.kl import symmetric_kl
from starreid.reid.losses.star_loss import StarLoss, identity_loss, sad_loss
from starreid.reid.losses.triplet import batch_hard_triplet, pairwise_distance

__all__ = ["StarLoss", "batch_hard_triplet", "identity_loss", "pairwise_distance", "sad_loss",
           "symmetric_kl"]
