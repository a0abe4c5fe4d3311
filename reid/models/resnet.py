"""Two-stream ResNet: one stem per modality (conv1, bn1, relu, maxpool), shared layer1-4, last stride 1."""
from __future__ import annotations

from mindspore import nn, ops

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
    def __init__(self, width: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, pad_mode="pad", padding=3, has_bias=False,
                               weight_init="HeNormal")
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, pad_mode="same")

    def construct(self, x):
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))


class TwoStreamResNet(nn.Cell):
    """Frames (N, 3, H, W) + modality (N,) int32 -> feature map (N, C, H/16, W/16); C = 8 x base_width
    (basic blocks) or 32 x base_width (bottlenecks): 512 or 2048 at the standard base_width 64.

    Both stems run on every frame and the modality selects per frame: a branch-free graph that exports,
    at the cost of one extra 7x7 convolution (a few percent of the backbone). The stem BatchNorms therefore
    see both modalities' frames in training and use the same mixed statistics at inference.
    """

    def __init__(self, depth: int = 50, base_width: int = 64):
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
            stride = 1 if i in (0, 3) else 2  # last stride 1
            blocks = []
            for b in range(n):
                blocks.append(block(cin, width, stride if b == 0 else 1))
                cin = width * block.expansion
            layers.append(nn.SequentialCell(blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.out_channels = cin

    def stem(self, x, modality):
        is_ir = (modality == 1).reshape(-1, 1, 1, 1)
        return ops.where(is_ir, self.stem_ir(x), self.stem_rgb(x))

    def construct(self, x, modality):
        x = self.layer2(self.layer1(self.stem(x, modality)))
        return self.layer4(self.layer3(x))
