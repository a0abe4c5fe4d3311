"""Skeleton-guided frame-level correction (eq 1-7): bones -> FC -> BiLSTM -> two cross-attentions, SE, FFN."""
from __future__ import annotations

import numpy as np
from mindspore import Tensor, nn, ops

from starreid.reid.models.attention import CrossAttention, SqueezeExcite
from starreid.reid.skeleton import BONES, DEFAULT_SCORE_THRESHOLD


def bone_features(keypoints, threshold: float = DEFAULT_SCORE_THRESHOLD, aspect: float = 1.0):
    """(B, T, 17, 3) -> features (B, T, 38) = 19 lengths (eq 1) then 19 atan2 angles (eq 2), and bone
    validity (B, T, 19). A bone with a joint scored below the threshold is masked to 0, not trusted.

    Keypoints are in [0, 1] of the crop's width and height; aspect = width / height scales x so that lengths
    and angles are those of the pixels (in units of the crop height), not of a square-stretched crop."""
    src = Tensor(np.array([b[0] for b in BONES], np.int32))
    dst = Tensor(np.array([b[1] for b in BONES], np.int32))
    a, b = ops.gather(keypoints, src, 2), ops.gather(keypoints, dst, 2)
    ok = ops.logical_and(a[..., 2] >= threshold, b[..., 2] >= threshold)
    okf = ok.astype(keypoints.dtype)
    # Masked bones get a harmless (1, 0) vector so that sqrt and atan2 never see (0, 0).
    dx = ops.where(ok, (b[..., 0] - a[..., 0]) * aspect, ops.ones_like(okf))
    dy = ops.where(ok, b[..., 1] - a[..., 1], ops.zeros_like(okf))
    length = ops.sqrt(dx * dx + dy * dy) * okf
    angle = ops.atan2(dy, dx) * okf
    return ops.concat((length, angle), -1), okf


class FrameGuidance(nn.Cell):
    """Refines per-frame visual features X (B, T, C) with the skeleton's temporal features.

    Returns Y (B, T, C) of eq 7 and the last LSTM step (B, 2 * hidden) used by the KL loss and the pooling
    guide. Frames without a single valid bone keep X unchanged (their correction is gated off).
    """

    def __init__(self, dim: int, lstm_hidden: int = 1024, heads: int = 4, embed: int = 64,
                 ffn_hidden: int | None = None, threshold: float = DEFAULT_SCORE_THRESHOLD, eps: float = 1e-3):
        super().__init__()
        self.threshold, self.eps = threshold, eps
        self.fc = nn.Dense(2 * len(BONES), embed)
        self.lstm = nn.LSTM(embed, lstm_hidden, num_layers=1, batch_first=True, bidirectional=True)
        self.out_dim = 2 * lstm_hidden
        # The paper's sizes match (2 x 1024 = 2048 channels); other depths project the skeleton tokens.
        self.proj = nn.Dense(self.out_dim, dim) if self.out_dim != dim else None
        self.temporal_attn = CrossAttention(dim, heads)  # eq 4: visual queries skeleton
        self.visual_attn = CrossAttention(dim, heads)  # eq 6: skeleton queries visual
        self.se = SqueezeExcite(dim)
        hidden = ffn_hidden or dim
        # Ends in ReLU as the authors' FFN: the correction is non-negative, like the ReLU features it refines.
        self.ffn = nn.SequentialCell([nn.Dense(2 * dim, hidden), nn.ReLU(), nn.Dense(hidden, dim), nn.ReLU()])

    def construct(self, x, keypoints, aspect: float = 1.0):
        feats, bone_ok = bone_features(keypoints, self.threshold, aspect)
        seq, _ = self.lstm(self.fc(feats))  # eq 3: (B, T, 2 * hidden)
        t = seq.shape[1]
        last = seq[:, t - 1:t, :].reshape(seq.shape[0], -1)  # a squeezing slice exports a broken Squeeze
        tokens = seq if self.proj is None else self.proj(seq)
        frame_ok = (bone_ok.sum(-1) > 0.5).astype(x.dtype)  # (B, T)
        all_frames = ops.ones_like(frame_ok)
        h_t = self.temporal_attn(x, tokens, tokens, frame_ok)  # eq 4
        w_t = self.se(h_t)  # eq 5
        h_o = self.visual_attn(tokens, x, x, all_frames)  # eq 6
        corr = self.ffn(ops.concat((h_o, h_t), -1)) * w_t  # eq 7
        y = corr * frame_ok.reshape(frame_ok.shape[0], -1, 1) + x + self.eps
        return y, last
