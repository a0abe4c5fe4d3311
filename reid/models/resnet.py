"""Two-stream ResNet: one stem per modality (conv1, bn1, relu, maxpool), shared layer1-4, last stride 1 or 2.

Every layer computes what torchvision's ResNet computes (symmetric padding k // 2 in every convolution, max-pool
3 x 3 / 2 with one pixel of padding on each side), so imported torchvision, timm, mindcv or STAR-release weights
give the source's features (tests/reid/model/test_weight_import.py checks them against a numpy forward pass).
"""
from __future__ import annotations

from mindspore import nn

from starreid.reid.models.backbones import ModalityBatchNorm2d, TwoStreamBackbone

_LAYERS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)), 50: ("bottleneck", (3, 4, 6, 3))}


def _conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, k, stride=stride, pad_mode="pad", padding=k // 2, has_bias=False,
                     weight_init="HeNormal")


class BasicBlock(nn.Cell):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__()
        cout = width * self.expansion
        self.conv1, self.bn1 = _conv(cin, width, 3, stride), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = _conv(width, cout, 3), nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.SequentialCell([_conv(cin, cout, 1, stride), nn.BatchNorm2d(cout)])

    def construct(self, x):
        identity = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        # Out-of-place add: in-place adds do not export to ONNX.
        out = out + identity
        return self.relu(out)


class Bottleneck(nn.Cell):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int = 1):
        super().__init__()
        cout = width * self.expansion
        self.conv1, self.bn1 = _conv(cin, width, 1), nn.BatchNorm2d(width)
        self.conv2, self.bn2 = _conv(width, width, 3, stride), nn.BatchNorm2d(width)
        self.conv3, self.bn3 = _conv(width, cout, 1), nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.SequentialCell([_conv(cin, cout, 1, stride), nn.BatchNorm2d(cout)])

    def construct(self, x):
        identity = x if self.down is None else self.down(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = out + identity
        return self.relu(out)


class Stem(nn.Cell):
    def __init__(self, width: int):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, pad_mode="pad", padding=3, has_bias=False,
                               weight_init="HeNormal")
        self.bn1 = ModalityBatchNorm2d(width)
        self.relu = nn.ReLU()
        # torchvision's MaxPool2d(3, 2, padding=1). pad_mode="same" pads one pixel less on the top/left of
        # even-sized maps (a shift against torchvision), and pad_mode="pad" does not export to ONNX; zero
        # padding then a valid pool is exact here because the pool follows a ReLU (inputs >= 0).
        self.pad = nn.Pad(((0, 0), (0, 0), (1, 1), (1, 1)))
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, pad_mode="valid")

    def construct(self, x, mask=None):
        x = self.conv1(x)
        x = self.bn1(x) if mask is None else self.bn1(x, mask)
        return self.maxpool(self.pad(self.relu(x)))


class TwoStreamResNet(TwoStreamBackbone):
    """Frames (N, 3, H, W) + modality (N,) int32 -> feature map (N, C, H/16, W/16) (H/32 with last stride 2);
    C = 8 x base_width (basic blocks) or 32 x base_width (bottlenecks): 512 or 2048 at the standard 64.
    Stems (conv1, bn1, relu, maxpool) per modality; layer1-4 shared."""

    def __init__(self, *, depth: int, base_width: int, last_stride: int):
        super().__init__()
        if depth not in _LAYERS:
            raise ValueError(f"depth must be one of {sorted(_LAYERS)}, got {depth}")
        if base_width < 4:
            raise ValueError(f"base_width must be at least 4, got {base_width}")
        kind, counts = _LAYERS[depth]
        block = BasicBlock if kind == "basic" else Bottleneck
        # base_width < 64 gives the thin ResNets a CPU can train in minutes (FLOPs scale with its square).
        self.stem_rgb, self.stem_ir = Stem(base_width), Stem(base_width)
        cin = base_width
        layers = []
        widths = (base_width, 2 * base_width, 4 * base_width, 8 * base_width)
        for i, (width, n) in enumerate(zip(widths, counts)):
            stride = (1, 2, 2, last_stride)[i]
            blocks = []
            for b in range(n):
                blocks.append(block(cin, width, stride if b == 0 else 1))
                cin = width * block.expansion
            layers.append(nn.SequentialCell(blocks))
            if i == 2:
                self.layer3_channels = cin  # what IBAN's layer3 guidance sizes itself from
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.out_channels = cin
