"""Two-stream backbones: a stem per modality, a shared body in four stages, built by name.

Every backbone exposes the same stages, so STAR, SAD (after layer2 and layer3) and freezing work alike:

    stem(x, modality)  modality-specific (stem_rgb / stem_ir), stride 2 or 4
    layer1 .. layer4   shared; layer1 at 1/4 of the input, layer2 1/8, layer3 1/16, layer4 1/32
                       (1/16 with last stride 1)

and out_channels, the channels of layer4's output (what STAR's heads size themselves from).
"""
from __future__ import annotations

from mindspore import nn, ops

# name -> (family, depth); the config schema's `backbone` literal lists the same names (tested).
BACKBONES = {"resnet18": ("resnet", 18), "resnet34": ("resnet", 34), "resnet50": ("resnet", 50),
             "mobilenetv2": ("mobilenetv2", None)}
STAGES = ("stem", "layer1", "layer2", "layer3", "layer4")


class ModalityBatchNorm2d(nn.BatchNorm2d):
    """A stem's BatchNorm2d: in training its batch statistics (and the moving statistics they update) come only
    from the frames `mask` (N,) selects, its own modality's; with no such frame they stay unchanged. Inference,
    frozen stems and calls without a mask are the plain BatchNorm2d (same parameters, same names)."""

    def construct(self, x, mask=None):
        use_batch = self.training if self.use_batch_statistics is None else self.use_batch_statistics
        if mask is None or not use_batch:
            return super().construct(x)
        n, c, h, w = x.shape
        m = mask.astype(x.dtype).reshape(n, 1, 1, 1)
        count = mask.astype(x.dtype).sum() * (h * w)
        denom = ops.maximum(count, 1.0)
        mean = (x * m).sum(axis=(0, 2, 3)) / denom
        centred = x - mean.reshape(1, c, 1, 1)
        var = (centred * centred * m).sum(axis=(0, 2, 3)) / denom
        y = centred / ops.sqrt(var + self.eps).reshape(1, c, 1, 1)
        y = y * self.gamma.reshape(1, c, 1, 1) + self.beta.reshape(1, c, 1, 1)
        # As nn.BatchNorm2d: moving = (1 - momentum) moving + momentum batch, with the unbiased variance.
        k = self.momentum * (count > 0.5).astype(x.dtype)
        unbiased = ops.stop_gradient(var * count / ops.maximum(count - 1.0, 1.0))
        ops.assign(self.moving_mean, self.moving_mean * (1.0 - k) + ops.stop_gradient(mean) * k)
        ops.assign(self.moving_variance, self.moving_variance * (1.0 - k) + unbiased * k)
        return y


class TwoStreamBackbone(nn.Cell):
    """Base of the two-stream backbones: subclasses set stem_rgb, stem_ir, layer1-4 and out_channels.

    Both stems run on every frame and the modality selects per frame: a branch-free graph that exports, at the
    cost of one extra stem (a few percent of the backbone). In training each stem's BatchNorm takes its
    statistics from its own modality's frames only (ModalityBatchNorm2d), so each stem learns and keeps the
    statistics of one modality, as separate stems on split batches would.
    """

    def __init__(self):
        super().__init__()
        self.frozen = 0

    def stem(self, x, modality):
        is_ir = modality == 1
        if self.training:  # resolved when the graph compiles; the exported (inference) graph has no masks
            ir = is_ir.astype(x.dtype)
            out_ir, out_rgb = self.stem_ir(x, ir), self.stem_rgb(x, 1.0 - ir)
        else:
            out_ir, out_rgb = self.stem_ir(x), self.stem_rgb(x)
        return self._held(ops.where(is_ir.reshape(-1, 1, 1, 1), out_ir, out_rgb), 1)

    def _held(self, x, stage: int):
        """Outputs of frozen stages carry no gradient: nothing is back-propagated through them."""
        return ops.stop_gradient(x) if self.frozen >= stage else x

    def to_layer2(self, x, modality):
        """Frames -> layer2's output (where SAD applies its same-modality disturbance)."""
        x = self._held(self.layer1(self.stem(x, modality)), 2)
        return self._held(self.layer2(x), 3)

    def run_layer3(self, x):
        return self._held(self.layer3(x), 4)

    def run_layer4(self, x):
        return self._held(self.layer4(x), 5)

    def construct(self, x, modality):
        return self.run_layer4(self.run_layer3(self.to_layer2(x, modality)))

    def stage_cells(self, k: int) -> list:
        """The cells of the first k stages (stem = both stems)."""
        cells = {"stem": [self.stem_rgb, self.stem_ir], "layer1": [self.layer1], "layer2": [self.layer2],
                 "layer3": [self.layer3], "layer4": [self.layer4]}
        return [c for name in STAGES[:k] for c in cells[name]]

    def freeze(self, k: int) -> None:
        """Keep the first k stages (0-5: stem, layer1, ..., layer4) as they are: their parameters leave the
        trainable set (no update, no weight decay), their BatchNorms normalise with their stored statistics in
        training too (and stop updating them), and no gradient flows back through them."""
        if not 0 <= k <= len(STAGES):
            raise ValueError(f"freeze must be 0-{len(STAGES)} stages ({', '.join(STAGES)}), got {k}")
        self.frozen = k
        for cell in self.stage_cells(k):
            for param in cell.get_parameters():
                param.requires_grad = False
            for _, sub in cell.cells_and_names():
                if isinstance(sub, (nn.BatchNorm2d, nn.BatchNorm1d)):
                    sub.use_batch_statistics = False


def build_backbone(name: str, *, base_width: int, last_stride: int) -> TwoStreamBackbone:
    """A two-stream backbone by name (BACKBONES). base_width 64 = the standard network (ResNet's first-stage
    width; MobileNetV2 scales every layer by base_width / 64); last_stride 1 or 2 is layer4's stride."""
    from starreid.reid.models.mobilenet import TwoStreamMobileNetV2
    from starreid.reid.models.resnet import TwoStreamResNet

    if name not in BACKBONES:
        raise ValueError(f"backbone must be one of {sorted(BACKBONES)}, got {name!r}")
    if last_stride not in (1, 2):
        raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
    family, depth = BACKBONES[name]
    if family == "resnet":
        return TwoStreamResNet(depth=depth, base_width=base_width, last_stride=last_stride)
    return TwoStreamMobileNetV2(base_width=base_width, last_stride=last_stride)
