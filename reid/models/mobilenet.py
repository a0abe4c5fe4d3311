"""Two-stream MobileNetV2 (x1.0 at base_width 64): a first convolution per modality, the shared body in four
stages, torchvision's layers and arithmetic (symmetric padding 1 on every 3 x 3 convolution, ReLU6, BN eps 1e-5),
so that torchvision's ImageNet weights compute what they compute in torchvision.

torchvision's `features` and ours:

    features.0          conv 3x3/2 32, BN, ReLU6          stem_rgb / stem_ir   (1/2)
    features.1-3        inverted residuals 16, 24, 24     layer1.0-2           (1/4)
    features.4-6        32 x 3                            layer2.0-2           (1/8)
    features.7-13       64 x 4, 96 x 3                    layer3.0-6           (1/16)
    features.14-17      160 x 3 (first stride = last_stride), 320   layer4.0-3 (1/32, or 1/16 at last stride 1)
    features.18         conv 1x1 1280, BN, ReLU6          layer4.4
"""
from __future__ import annotations

from mindspore import Parameter, nn, ops
from mindspore.common.initializer import initializer

from starreid.reid.models.backbones import ModalityBatchNorm2d, TwoStreamBackbone

# torchvision's inverted residual settings: expansion t, channels c, repeats n, first stride s.
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
            (6, 320, 1, 1))
STEM_CHANNELS, LAST_CHANNELS = 32, 1280
# Our stage of each of torchvision's features.1-18 (features.0 is the stem).
STAGE_OF_FEATURE = {**{i: 1 for i in range(1, 4)}, **{i: 2 for i in range(4, 7)}, **{i: 3 for i in range(7, 14)},
                    **{i: 4 for i in range(14, 19)}}


def make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible: the nearest multiple of divisor, never 10% below value."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


class _Depthwise3x3(nn.Cell):
    """(x, w) -> depthwise 3 x 3 convolution, padding 1, with a backward pass of fast forward convolutions.

    MindSpore 2.8's CPU gradient of a grouped convolution's filter is ~50x slower than the forward pass (24 s
    for one 192 x 96 x 32 x 16 layer): training MobileNetV2 spent nearly all its time there. Here the input
    gradient is a depthwise convolution of the (zero-upsampled, for stride 2) output gradient with the flipped
    filters, and the filter gradient one convolution with a group per (frame, channel) pair, summed over
    frames: the same numbers (tests/reid/model/test_backbones.py), ~30x faster. Inference and export run the plain
    Conv2D primitive (an ONNX Conv with group = channels).
    """

    def __init__(self, channels: int, stride: int):
        super().__init__()
        self.channels, self.stride = channels, stride
        # the attributes as nn.Conv2d gives them (tuples), which the ONNX exporter expects
        self.conv = ops.Conv2D(out_channel=channels, kernel_size=(3, 3), mode=1, pad_mode="pad", pad=1,
                               stride=(stride, stride), dilation=(1, 1), group=channels)

    def construct(self, x, w):
        return self.conv(x, w)

    def bprop(self, x, w, out, dout):
        n, c, h, wd = x.shape
        s, ho, wo = self.stride, dout.shape[2], dout.shape[3]
        up = dout
        if s > 1:  # zeros between the gradient's pixels: where the strided forward pass skipped positions
            up = ops.concat((dout.reshape(n, c, ho, 1, wo), ops.zeros((n, c, ho, s - 1, wo), dout.dtype)), 3)
            up = up.reshape(n, c, ho * s, wo, 1)
            up = ops.concat((up, ops.zeros((n, c, ho * s, wo, s - 1), dout.dtype)), 4).reshape(n, c, ho * s, wo * s)
        # padding inside the convolutions (explicit pads and slices are slow memory passes on this CPU backend)
        back = ops.Conv2D(out_channel=c, kernel_size=3, mode=1, pad_mode="pad",
                          pad=(1, 1 - (s * ho - h), 1, 1 - (s * wo - wd)), group=c)
        dx = back(up, ops.flip(w, (2, 3)))
        corr = ops.Conv2D(out_channel=n * c, kernel_size=(ho, wo), mode=1, pad_mode="pad",
                          pad=(1, 2 - h + s * (ho - 1), 1, 2 - wd + s * (wo - 1)), dilation=s, group=n * c)
        dw = corr(x.reshape(1, n * c, h, wd), dout.reshape(n * c, 1, ho, wo)).reshape(n, c, 3, 3).sum(0)
        return dx, dw.reshape(c, 1, 3, 3)


class DepthwiseConv(nn.Cell):
    """A depthwise 3 x 3 convolution without bias (weight (C, 1, 3, 3), as nn.Conv2d(group=C) and torch)."""

    def __init__(self, channels: int, stride: int):
        super().__init__()
        self.weight = Parameter(initializer("HeNormal", (channels, 1, 3, 3)), name="weight")
        self.op = _Depthwise3x3(channels, stride)

    def construct(self, x):
        return self.op(x, self.weight)


class ConvBN(nn.Cell):
    """Conv (no bias) + BatchNorm (+ ReLU6): torchvision's Conv2dNormActivation; group = channels is depthwise."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, group: int, relu: bool,
                 modality_bn: bool = False):
        super().__init__()
        if group > 1:
            if not (group == cin == cout and kernel == 3):
                raise ValueError("only depthwise 3 x 3 grouped convolutions are supported")
            self.conv = DepthwiseConv(cin, stride)
        else:
            self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, pad_mode="pad", padding=(kernel - 1) // 2,
                                  has_bias=False, weight_init="HeNormal")
        # a stem's BN (modality_bn) takes its training statistics from its own modality's frames
        self.bn = ModalityBatchNorm2d(cout) if modality_bn else nn.BatchNorm2d(cout)
        self.relu = nn.ReLU6() if relu else None

    def construct(self, x, mask=None):
        x = self.conv(x)
        x = self.bn(x) if mask is None else self.bn(x, mask)
        return x if self.relu is None else self.relu(x)


class InvertedResidual(nn.Cell):
    """[1x1 expand, BN, ReLU6] (absent when t = 1), 3x3 depthwise, BN, ReLU6, 1x1 project, BN; + input when the
    shape is kept."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = int(round(cin * expand))
        self.expand = ConvBN(cin, hidden, 1, 1, 1, True) if expand != 1 else None
        self.dw = ConvBN(hidden, hidden, 3, stride, hidden, True)
        self.project = ConvBN(hidden, cout, 1, 1, 1, False)
        self.residual = stride == 1 and cin == cout

    def construct(self, x):
        out = x if self.expand is None else self.expand(x)
        out = self.project(self.dw(out))
        if self.residual:
            out = out + x  # out of place: in-place adds do not export to ONNX
        return out


class TwoStreamMobileNetV2(TwoStreamBackbone):
    """Frames (N, 3, H, W) + modality (N,) int32 -> feature map (N, 1280, H/16, W/16) at last stride 1 (H/32 at
    2). base_width / 64 is torchvision's width_mult (channels rounded to multiples of 8; the last stays 1280)."""

    def __init__(self, *, base_width: int, last_stride: int):
        super().__init__()
        if base_width < 4:
            raise ValueError(f"base_width must be at least 4, got {base_width}")
        mult = base_width / 64
        cin = make_divisible(STEM_CHANNELS * mult)
        self.stem_rgb = ConvBN(3, cin, 3, 2, 1, True, modality_bn=True)
        self.stem_ir = ConvBN(3, cin, 3, 2, 1, True, modality_bn=True)
        stages = {1: [], 2: [], 3: [], 4: []}
        feature = 1
        for t, c, n, s in SETTINGS:
            cout = make_divisible(c * mult)
            for i in range(n):
                stride = s if i == 0 else 1
                if feature == 14:  # the first block of layer4
                    stride = last_stride
                stages[STAGE_OF_FEATURE[feature]].append(InvertedResidual(cin, cout, stride, t))
                if STAGE_OF_FEATURE[feature] == 3:
                    self.layer3_channels = cout  # what IBAN's layer3 guidance sizes itself from
                cin, feature = cout, feature + 1
        last = make_divisible(LAST_CHANNELS * max(1.0, mult))
        stages[4].append(ConvBN(cin, last, 1, 1, 1, True))
        self.layer1, self.layer2, self.layer3, self.layer4 = (nn.SequentialCell(stages[k]) for k in (1, 2, 3, 4))
        self.out_channels = last
