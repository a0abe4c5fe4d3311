"""STAR: two-stream backbone (ResNet or MobileNetV2) + SAD, frame-level (FG) and sequence-level (SG) skeleton
guidance, BN-neck."""
from __future__ import annotations

from mindspore import nn, ops

from starreid.reid.models.frame_guidance import FrameGuidance
from starreid.reid.models.backbones import build_backbone
from starreid.reid.models.checkpoint import TRAINING_HEADS
from starreid.reid.models.sad import disturb
from starreid.reid.models.seq_guidance import SequenceGuidance, gem
from starreid.reid.skeleton import DEFAULT_SCORE_THRESHOLD

VARIANTS = {"baseline": (False, False), "fg": (True, False), "sg": (False, True), "full": (True, True)}


def l2_normalize(x, eps: float = 1e-12):
    return x / ops.sqrt((x * x).sum(-1, keepdims=True) + eps)


def clip_frames(clips, modality, seq_len: int):
    """Clips (B, T, 3, H, W) and modality (B,) -> frames (B*T, 3, H, W) and each frame's modality (B*T,)."""
    b, t = clips.shape[0], clips.shape[1]
    if t != seq_len:
        raise ValueError("clips must have seq_len frames: the network was built for that many; sample them with "
                         "reid.infer.frame_indices")
    frames = clips.reshape(b * t, clips.shape[2], clips.shape[3], clips.shape[4])
    return frames, ops.broadcast_to(modality.reshape(b, 1), (b, t)).reshape(-1)


def pool_frames(fmap, b: int):
    """Feature maps (B*T, C, h, w) -> per-frame vectors (B, T, C) by spatial average."""
    return fmap.mean(axis=(2, 3)).reshape(b, -1, fmap.shape[1])


class STAR(nn.Cell):
    """Training: construct(clips, keypoints, modality) -> (logits, feature, kl_p, kl_q, frame_logits,
    sad_logits, clean_frames, disturbed_frames); embed(...) -> L2-normalised BN-neck embedding (B, C).

    logits (B, classes) and feature (B, C) are the tracklet level (BN-neck, triplet); frame_logits and
    sad_logits (B*T, classes) classify the clean and the style-disturbed frame vectors clean_frames and
    disturbed_frames (B*T, C) through a frame-level neck and classifier of their own (the authors' "local"
    head), so the neck the embedding uses normalises clean tracklet features only.

    clips (B, T, 3, H, W) float32 ImageNet-normalised; keypoints (B, T, 17, 3) float32 (x, y in [0, 1] of
    the crop, score); modality (B,) int32, 0 = rgb, 1 = ir. T must equal seq_len (the graph is built for it).
    """

    GAT_ATTN_DROPOUT, GAT_FEAT_DROPOUT = 0.6, 0.3  # the authors' GAT (training only)
    TRAINING_ONLY = TRAINING_HEADS  # what an inference STAR does not load from a training checkpoint
    SCORE_THRESHOLD = DEFAULT_SCORE_THRESHOLD

    def __init__(self, *, backbone: str | nn.Cell, variant: str, num_classes: int, seq_len: int, lstm_hidden: int,
                 attn_heads: int, ffn_hidden: int | None, gat_hidden: int, gat_heads: int, gat_out: int,
                 guide_hidden: int, sad: bool, base_width: int | None, last_stride: int | None):
        super().__init__()
        score_threshold = self.SCORE_THRESHOLD
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {variant!r}")
        self.variant, self.seq_len, self.use_sad = variant, seq_len, sad
        self.use_fg, self.use_sg = VARIANTS[variant]
        if isinstance(backbone, nn.Cell):  # a prebuilt frame encoder (reid/models/head_star.py)
            if base_width is not None or last_stride is not None:
                raise TypeError("base_width and last_stride size a backbone built by name, not a given one")
            self.backbone_name, self.backbone = type(backbone).__name__, backbone
        else:
            self.backbone_name = backbone
            self.backbone = build_backbone(backbone, base_width=base_width, last_stride=last_stride)
        dim = self.backbone.out_channels  # the heads size themselves from the backbone
        self.dim = dim
        self.fg = None
        if self.use_fg:
            self.fg = FrameGuidance(dim, lstm_hidden, attn_heads, ffn_hidden=ffn_hidden,
                                    threshold=score_threshold)
        self.sg = None
        if self.use_sg:
            self.sg = SequenceGuidance(seq_len, 2 * lstm_hidden if self.use_fg else 0, gat_hidden, gat_heads,
                                       gat_out, guide_hidden, self.GAT_ATTN_DROPOUT, self.GAT_FEAT_DROPOUT,
                                       score_threshold)
        self.kl_fc = None
        if self.use_fg and self.use_sg:  # eq 14 aligns the joint (graph) features with the bone (LSTM) ones
            self.kl_fc = nn.Dense(self.sg.parts_dim, 2 * lstm_hidden)
        self.neck = nn.BatchNorm1d(dim)
        self.neck.beta.requires_grad = False  # BN-neck: no shift
        self.classifier = nn.Dense(dim, num_classes, has_bias=False) if num_classes > 0 else None
        # Training only (absent from inference nets; load_weights skips them): frame-level identity head.
        self.frame_neck, self.frame_classifier = None, None
        if num_classes > 0:
            self.frame_neck = nn.BatchNorm1d(dim)
            self.frame_neck.beta.requires_grad = False
            self.frame_classifier = nn.Dense(dim, num_classes, has_bias=False)

    def _frames(self, clips, modality):
        return clip_frames(clips, modality, self.seq_len)

    def _pool(self, fmap, b):
        return pool_frames(fmap, b)

    def frame_features(self, clips, modality):
        """Clips (B, T, 3, H, W) -> per-frame backbone vectors (B, T, C), before any skeleton guidance."""
        frames, mod = self._frames(clips, modality)
        return self._pool(self.backbone(frames, mod), clips.shape[0])

    def guided_frames(self, x, keypoints, aspect: float = 0.5):
        """Frame vectors (B, T, C) -> (FG-corrected vectors, last LSTM step), or (x, None) without FG.
        aspect: the crops' width / height (bone angles are measured in pixels; 0.5 = the 2:1 crops of every
        config)."""
        if self.use_fg:
            return self.fg(x, keypoints, aspect)
        return x, None

    def _aggregate(self, x, keypoints, aspect: float = 0.5):
        """Frame vectors (B, T, C) -> tracklet feature (B, C), KL logits (or x itself when unused)."""
        x, last = self.guided_frames(x, keypoints, aspect)
        kl_p, kl_q = x[:, 0, :], x[:, 0, :]
        if self.use_sg:
            g, _, parts = self.sg(x, keypoints, last)
            if self.use_fg:
                kl_p, kl_q = last, self.kl_fc(parts)
        else:
            g = gem(x, 3.0, 1)
        return g, kl_p, kl_q

    def _classify(self, g):
        feat = self.neck(g)
        return feat if self.classifier is None else self.classifier(feat)

    def _classify_frames(self, f):
        return f if self.frame_classifier is None else self.frame_classifier(self.frame_neck(f))

    @staticmethod
    def _aspect(clips) -> float:
        return clips.shape[4] / clips.shape[3]  # static shapes: a constant of the graph

    def embed(self, clips, keypoints, modality):
        g, _, _ = self._aggregate(self.frame_features(clips, modality), keypoints, self._aspect(clips))
        return l2_normalize(self.neck(g))

    def construct(self, clips, keypoints, modality):
        b = clips.shape[0]
        frames, mod = self._frames(clips, modality)
        bb = self.backbone
        f2 = bb.to_layer2(frames, mod)
        f3 = bb.run_layer3(f2)
        x = self._pool(bb.run_layer4(f3), b)
        g, kl_p, kl_q = self._aggregate(x, keypoints, self._aspect(clips))
        logits = self._classify(g)  # the only input of the neck the embedding uses: clean tracklets
        clean = x.reshape(-1, x.shape[2])
        frame_logits = self._classify_frames(clean)
        if self.use_sad:
            # SAD: same-modality style after layer2, cross-modality style after layer3 (training only).
            d3 = disturb(bb.run_layer3(disturb(f2, mod, True)), mod, False)
            disturbed = bb.run_layer4(d3).mean(axis=(2, 3))
            sad_logits = self._classify_frames(disturbed)
        else:
            disturbed, sad_logits = clean, frame_logits
        return logits, g, kl_p, kl_q, frame_logits, sad_logits, clean, disturbed


class EmbeddingNet(nn.Cell):
    """The inference graph: (clips, keypoints, modality) -> embedding; what export and the Embedder run."""

    def __init__(self, star: STAR):
        super().__init__()
        self.star = star

    def construct(self, clips, keypoints, modality):
        return self.star.embed(clips, keypoints, modality)


def build_star(model, num_classes: int = 0, sad: bool = False) -> STAR:
    """STAR from a model config section: backbone, variant, seq_len and the sizes of its sizes() (base_width,
    last_stride and the heads'; the schema's defaults are the paper's: ResNet-50, last stride 1, LSTM hidden
    1024, 4 heads, GAT 3->16x2->12). num_classes > 0 adds the classifier of training; sad switches on style
    disturbance (training only)."""
    return STAR(backbone=model.backbone, variant=model.variant, num_classes=num_classes, seq_len=model.seq_len,
                sad=sad, **model.sizes())
