"""STAR's heads on cached frame vectors, for the head-only ablation (docs/ablation.md).

The backbone ran once, offline (reid/train/feature_cache.py); what trains is a per-frame adapter standing in for
the backbone's last layer (the same in every arm, so the baseline is not a bare BN-neck over frozen features)
and STAR's heads exactly as STAR builds them: FG, SG, KL projection, BN-neck, classifiers.
"""
from __future__ import annotations

from mindspore import nn, ops

from starreid.reid.models.frame_guidance import bone_features
from starreid.reid.models.star import STAR, l2_normalize
from starreid.reid.skeleton import DEFAULT_SCORE_THRESHOLD

ARMS = ("baseline", "fg", "sg", "full", "skeleton", "shuffled")
# arm -> STAR variant it trains (the skeleton-only control has none; "shuffled" is full STAR given another
# person's skeletons in training and test, the negative control)
BONE_EMBED = 64  # FrameGuidance's bone embedding width
ARM_VARIANT = {"baseline": "baseline", "fg": "fg", "sg": "sg", "full": "full", "shuffled": "full"}


class FrameAdapter(nn.Cell):
    """Cached backbone vectors (B, T, D) -> (B, T, C): Dense, BatchNorm, ReLU (non-negative, as the ReLU
    features STAR's heads receive from a backbone)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.fc = nn.Dense(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.relu = nn.ReLU()
        self.out_channels = out_dim

    def construct(self, x):
        b, t, d = x.shape
        return self.relu(self.bn(self.fc(x.reshape(b * t, d)))).reshape(b, t, -1)


class HeadSTAR(STAR):
    """STAR whose "backbone" is a FrameAdapter over cached vectors; construct and embed take (feats (B, T, D),
    keypoints, modality) and return what STAR's do (no SAD: style disturbance needs the backbone's maps)."""

    def __init__(self, *, in_dim: int, adapter: int, aspect: float, **star):
        super().__init__(backbone=FrameAdapter(in_dim, adapter), sad=False, base_width=None, last_stride=None,
                         **star)
        self.aspect = aspect

    def construct(self, feats, keypoints, modality):
        x = self.backbone(feats)
        g, kl_p, kl_q = self._aggregate(x, keypoints, self.aspect)
        clean = x.reshape(-1, x.shape[2])
        frame_logits = self._classify_frames(clean)
        return self._classify(g), g, kl_p, kl_q, frame_logits, frame_logits, clean, clean

    def embed(self, feats, keypoints, modality):
        g, _, _ = self._aggregate(self.backbone(feats), keypoints, self.aspect)
        return l2_normalize(self.neck(g))

    def embed_uniform(self, feats, keypoints, modality):
        """embed with SG's pooling weights replaced by uniform ones (the control for what SG's weights do)."""
        y, _ = self.guided_frames(self.backbone(feats), keypoints, self.aspect)
        b, k = y.shape[0], len(self.sg.powers)
        return l2_normalize(self.neck(self.sg.pool(y, ops.ones((b, k), y.dtype) / k)))


class SkeletonHead(nn.Cell):
    """The positive control: an embedding from the skeleton alone. FG's own skeleton path (bone lengths and
    angles, FC, BiLSTM: eq 1-3), averaged over the frames that have a bone, BN-neck, classifiers."""

    use_fg, use_sg, use_sad = False, False, False

    def __init__(self, *, num_classes: int, lstm_hidden: int, aspect: float,
                 threshold: float = DEFAULT_SCORE_THRESHOLD):
        super().__init__()
        self.aspect, self.threshold = aspect, threshold
        self.fc = nn.Dense(38, BONE_EMBED)
        self.lstm = nn.LSTM(BONE_EMBED, lstm_hidden, num_layers=1, batch_first=True, bidirectional=True)
        dim = 2 * lstm_hidden
        self.neck = nn.BatchNorm1d(dim)
        self.neck.beta.requires_grad = False
        self.classifier = nn.Dense(dim, num_classes, has_bias=False)
        self.frame_neck = nn.BatchNorm1d(dim)
        self.frame_neck.beta.requires_grad = False
        self.frame_classifier = nn.Dense(dim, num_classes, has_bias=False)

    def _sequence(self, keypoints):
        feats, bone_ok = bone_features(keypoints, self.threshold, self.aspect)
        seq, _ = self.lstm(self.fc(feats))
        ok = (bone_ok.sum(-1) > 0.5).astype(seq.dtype).reshape(seq.shape[0], -1, 1)
        g = (seq * ok).sum(1) / ops.maximum(ok.sum(1), 1.0)
        return seq, g

    def construct(self, feats, keypoints, modality):
        seq, g = self._sequence(keypoints)
        frames = seq.reshape(-1, seq.shape[2])
        frame_logits = self.frame_classifier(self.frame_neck(frames))
        return self.classifier(self.neck(g)), g, g, g, frame_logits, frame_logits, frames, frames

    def embed(self, feats, keypoints, modality):
        return l2_normalize(self.neck(self._sequence(keypoints)[1]))


def build_head_net(arm: str, model, *, in_dim: int, num_classes: int, aspect: float):
    """The network of one arm from the heads config's model section."""
    if arm not in ARMS:
        raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
    if arm == "skeleton":
        return SkeletonHead(num_classes=num_classes, lstm_hidden=model.lstm_hidden, aspect=aspect)
    return HeadSTAR(in_dim=in_dim, adapter=model.adapter, aspect=aspect, variant=ARM_VARIANT[arm],
                    num_classes=num_classes, seq_len=model.seq_len, lstm_hidden=model.lstm_hidden,
                    attn_heads=model.attn_heads, ffn_hidden=model.ffn_hidden, gat_hidden=model.gat_hidden,
                    gat_heads=model.gat_heads, gat_out=model.gat_out, guide_hidden=model.guide_hidden)
