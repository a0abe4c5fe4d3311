"""STAR re-identification model (MindSpore)."""
from starreid.reid.models.star import STAR, VARIANTS, EmbeddingNet, build_star

__all__ = ["STAR", "VARIANTS", "EmbeddingNet", "build_star"]
