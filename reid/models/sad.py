"""Style disturbance (SAD): re-normalise each frame's feature map with another frame's channel statistics."""
from __future__ import annotations

import mindspore as ms
from mindspore import ops


def channel_stats(x, eps: float = 1e-5):
    """(N, C, H, W) -> mean, std over H, W, each (N, C, 1, 1)."""
    mean = x.mean(axis=(2, 3), keep_dims=True)
    var = ((x - mean) * (x - mean)).mean(axis=(2, 3), keep_dims=True)
    return mean, ops.sqrt(var + eps)


def adain(content, style, eps: float = 1e-5):
    """Content normalised per channel, then given the style's channel mean and std (no gradient to the style)."""
    c_mean, c_std = channel_stats(content, eps)
    s_mean, s_std = channel_stats(ops.stop_gradient(style), eps)
    return (content - c_mean) / c_std * s_std + s_mean


def random_partner(modality, same: bool):
    """For each frame a random other frame: of the same modality (same=True) or of the other one.

    Scores are uniform noise plus a penalty for ineligible frames, so argmin picks a random eligible frame
    in a fixed-shape graph; with no eligible frame it falls back to some frame (the penalty ties).
    """
    n = modality.shape[0]
    mod = modality.astype(ms.float32)
    differs = ops.abs(mod.reshape(-1, 1) - mod.reshape(1, -1))
    penalty = differs if same else 1.0 - differs
    if same:
        penalty = penalty + ops.eye(n, n, ms.float32)
    scores = ops.rand(n, n) + 2.0 * penalty
    return ops.argmin(scores, axis=1)


def disturb(x, modality, same: bool):
    """AdaIN of every frame with a random partner frame's statistics (same or cross modality)."""
    idx = random_partner(modality, same)
    return adain(x, ops.gather(x, idx, 0))
