"""Evaluation under the HITSZ-VCM protocol."""
from starreid.reid.eval.metrics import RANKS, EvalResult, distance, evaluate, evaluate_features, l2_normalise

__all__ = ["RANKS", "EvalResult", "distance", "evaluate", "evaluate_features", "l2_normalise"]
