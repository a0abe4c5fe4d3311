"""Losses of STAR (identity, batch-hard triplet, bidirectional KL, SAD; eq 15) and of IBAN (ESB, cross-
reconstruction; its eq 15)."""
from starreid.reid.losses.iban_loss import IbanLoss, esb_loss
from starreid.reid.losses.kl import symmetric_kl
from starreid.reid.losses.star_loss import StarLoss, identity_loss, sad_loss
from starreid.reid.losses.triplet import batch_hard_triplet, pairwise_distance

__all__ = ["IbanLoss", "StarLoss", "esb_loss", "batch_hard_triplet", "identity_loss", "pairwise_distance", "sad_loss",
           "symmetric_kl"]
