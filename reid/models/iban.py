"""IBAN: the anaglyph intermediary (eq 1), two-stream backbones for the RGB/IR frames and their anaglyphs (eq 2-3),
intermediary guidance at layer3 and layer4 (eq 4), the cross-reconstruction network (eq 5), BSTA (eq 6-9) and
the BN-neck (eq 10).

The anaglyph stream, IG and the reconstruction are training-only: at inference the paper drops the anaglyph
stream, so embed() runs the RGB/IR backbone without IG (the residual IG adds is left out) and an inference
IBAN (num_classes = 0) does not build them."""
from __future__ import annotations

from mindspore import nn

from starreid.reid.models.anaglyph import Anaglyph
from starreid.reid.models.backbones import build_backbone
from starreid.reid.models.bsta import BSTA
from starreid.reid.models.checkpoint import TRAINING_HEADS
from starreid.reid.models.intermediary import IntermediaryGuidance, Reconstruction
from starreid.reid.models.star import clip_frames, l2_normalize, pool_frames


class IBAN(nn.Cell):
    """Training: construct(clips, keypoints, modality) -> (logits, feature, anaglyph logits, anaglyph feature,
    modality, anaglyph maps, reconstructed maps); embed(...) -> L2-normalised embedding (B, C).

    feature (B, C) is BSTA's m, the vector the triplet and ESB losses see; the classifier sees E = BN(m) of eq
    10, the embedding (the BN-neck practice; the paper's eq 11-14 are written on E, and ESB on E collapsed every
    embedding onto one point by shrinking the BN's scale: docs/model.md). The anaglyph feature is the anaglyph
    frames' mean vector, with a neck of its own before the shared classifier (the identity, triplet and ESB
    losses also work on the anaglyph data, as the paper states). The maps are layer4's
    anaglyph maps (B, T, C, h, w) and R's reconstruction of each (what eq 5 pairs across modalities). Keypoints
    are accepted and unused: IBAN takes the inputs STAR does, so both serve behind one inference graph."""

    TRAINING_ONLY = TRAINING_HEADS + ("anaglyph.", "ig3.", "ig4.", "recon.", "anaglyph_neck.")
    use_sad = False

    def __init__(self, *, backbone: str, num_classes: int, seq_len: int, lstm_hidden: int, base_width: int,
                 last_stride: int):
        super().__init__()
        self.backbone_name, self.seq_len = backbone, seq_len
        self.backbone = build_backbone(backbone, base_width=base_width, last_stride=last_stride)
        dim = self.dim = self.backbone.out_channels
        self.bsta = BSTA(dim, lstm_hidden)
        self.neck = nn.BatchNorm1d(dim)
        self.neck.beta.requires_grad = False  # BN-neck: no shift
        self.training_parts = num_classes > 0
        self.classifier = None
        if self.training_parts:
            self.classifier = nn.Dense(dim, num_classes, has_bias=False)
            self.make_anaglyph = Anaglyph()
            self.anaglyph = build_backbone(backbone, base_width=base_width, last_stride=last_stride)
            self.ig3 = IntermediaryGuidance(self.backbone.layer3_channels)
            self.ig4 = IntermediaryGuidance(dim)
            self.recon = Reconstruction(dim)
            self.anaglyph_neck = nn.BatchNorm1d(dim)
            self.anaglyph_neck.beta.requires_grad = False

    def frame_features(self, clips, modality):
        """Per-frame vectors (B, T, C) of the RGB/IR backbone alone, as at inference."""
        frames, mod = clip_frames(clips, modality, self.seq_len)
        return pool_frames(self.backbone(frames, mod), clips.shape[0])

    def embed(self, clips, keypoints, modality):
        m, _ = self.bsta(self.frame_features(clips, modality))
        return l2_normalize(self.neck(m))

    def construct(self, clips, keypoints, modality):
        b = clips.shape[0]
        frames, mod = clip_frames(clips, modality, self.seq_len)
        bb, ab = self.backbone, self.anaglyph
        a3 = ab.run_layer3(ab.to_layer2(self.make_anaglyph(frames), mod))
        a4 = ab.run_layer4(a3)
        f3 = self.ig3(bb.run_layer3(bb.to_layer2(frames, mod)), a3)
        f4 = self.ig4(bb.run_layer4(f3), a4)
        m, _ = self.bsta(pool_frames(f4, b))
        a_m = pool_frames(a4, b).mean(1)
        maps = a4.reshape(b, -1, *a4.shape[1:])
        recon = self.recon(a4).reshape(maps.shape)
        # BN-neck practice: the metric losses see m, the classifier its normalised E (ESB on E collapsed it)
        return self.classifier(self.neck(m)), m, self.classifier(self.anaglyph_neck(a_m)), a_m, modality, maps, recon


def build_iban(model, num_classes: int = 0) -> IBAN:
    """IBAN from a model config section (arch: iban): backbone, seq_len, base_width, last_stride, lstm_hidden
    (BSTA's LSTM; projected to the backbone's channels when they differ)."""
    return IBAN(backbone=model.backbone, num_classes=num_classes, seq_len=model.seq_len,
                lstm_hidden=model.lstm_hidden, base_width=model.base_width, last_stride=model.last_stride)
