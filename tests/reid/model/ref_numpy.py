"""Independent reference forward passes for the weight-import tests, in numpy (float64), with torchvision's
arithmetic: im2col convolutions with symmetric padding, BatchNorm in inference form (eps 1e-5), ReLU / ReLU6,
max-pool 3 x 3 / 2 with padding 1 (-inf), ResNet v1.5 blocks (the stride on the 3 x 3), MobileNetV2's inverted
residuals. Also random state dicts in torchvision's layout. Nothing here imports the project's model code."""
from __future__ import annotations

import numpy as np

EPS = 1e-5
RESNET_BLOCKS = {18: ((2, 2, 2, 2), False), 34: ((3, 4, 6, 3), False), 50: ((3, 4, 6, 3), True)}
# torchvision MobileNetV2: expansion t, channels c, repeats n, first stride s
MBV2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                 (6, 320, 1, 1))


# --- operations ----------------------------------------------------------------------------------------------------

def conv(x, w, stride=1, pad=0, groups=1):
    n, c, h, wd = x.shape
    o, cg, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    ho, wo = (h + 2 * pad - k) // stride + 1, (wd + 2 * pad - k) // stride + 1
    cols = np.empty((n, c, k, k, ho, wo))
    for i in range(k):
        for j in range(k):
            cols[:, :, i, j] = xp[:, :, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]
    cols = cols.reshape(n, groups, c // groups, k, k, ho, wo)
    wg = w.reshape(groups, o // groups, cg, k, k)
    return np.einsum("ngcijhw,gocij->ngohw", cols, wg, optimize=True).reshape(n, o, ho, wo)


def bn(x, p):
    """p: torch names weight, bias, running_mean, running_var."""
    s = (slice(None), None, None)
    return (x - p["running_mean"][s]) / np.sqrt(p["running_var"][s] + EPS) * p["weight"][s] + p["bias"][s]


def relu(x):
    return np.maximum(x, 0)


def relu6(x):
    return np.clip(x, 0, 6)


def maxpool_3x3_s2_p1(x):
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    ho, wo = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    out = np.full((n, c, ho, wo), -np.inf)
    for i in range(3):
        for j in range(3):
            out = np.maximum(out, xp[:, :, i:i + 2 * (ho - 1) + 1:2, j:j + 2 * (wo - 1) + 1:2])
    return out


def _bn_params(sd, prefix):
    return {k: sd[f"{prefix}.{k}"].astype(np.float64) for k in ("weight", "bias", "running_mean", "running_var")}


def _w(sd, name):
    return sd[name].astype(np.float64)


# --- ResNet --------------------------------------------------------------------------------------------------------

def resnet_forward(sd: dict, depth: int, x: np.ndarray, last_stride: int) -> np.ndarray:
    """torchvision ResNet's layer4 output for torchvision-named weights sd."""
    counts, bottleneck = RESNET_BLOCKS[depth]
    x = relu(bn(conv(x.astype(np.float64), _w(sd, "conv1.weight"), 2, 3), _bn_params(sd, "bn1")))
    x = maxpool_3x3_s2_p1(x)
    for layer, n in enumerate(counts, start=1):
        for b in range(n):
            p = f"layer{layer}.{b}"
            stride = (1, 2, 2, last_stride)[layer - 1] if b == 0 else 1
            identity = x
            if f"{p}.downsample.0.weight" in sd:
                identity = bn(conv(x, _w(sd, f"{p}.downsample.0.weight"), stride), _bn_params(sd, f"{p}.downsample.1"))
            if bottleneck:
                out = relu(bn(conv(x, _w(sd, f"{p}.conv1.weight")), _bn_params(sd, f"{p}.bn1")))
                out = relu(bn(conv(out, _w(sd, f"{p}.conv2.weight"), stride, 1), _bn_params(sd, f"{p}.bn2")))
                out = bn(conv(out, _w(sd, f"{p}.conv3.weight")), _bn_params(sd, f"{p}.bn3"))
            else:
                out = relu(bn(conv(x, _w(sd, f"{p}.conv1.weight"), stride, 1), _bn_params(sd, f"{p}.bn1")))
                out = bn(conv(out, _w(sd, f"{p}.conv2.weight"), 1, 1), _bn_params(sd, f"{p}.bn2"))
            x = relu(out + identity)
    return x


class _Random:
    """Random tensors scaled so that activations stay of order 1 through a deep network."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def conv(self, o, c, k, gain=1.0):
        return (self.rng.standard_normal((o, c, k, k)) * gain * np.sqrt(2.0 / (c * k * k))).astype(np.float32)

    def bn(self, sd, prefix, c, scale=1.0, counter=True):
        r = self.rng
        sd[f"{prefix}.weight"] = (r.uniform(0.5, 1.0, c) * scale).astype(np.float32)
        sd[f"{prefix}.bias"] = r.uniform(-0.2, 0.2, c).astype(np.float32)
        sd[f"{prefix}.running_mean"] = r.uniform(-0.2, 0.2, c).astype(np.float32)
        sd[f"{prefix}.running_var"] = r.uniform(0.5, 2.0, c).astype(np.float32)
        if counter:
            sd[f"{prefix}.num_batches_tracked"] = np.array(1000, np.int64)


def random_resnet(depth: int, seed: int = 0, classifier: bool = True) -> dict:
    """A torchvision-named ResNet state dict (BN counters and an fc head included)."""
    counts, bottleneck = RESNET_BLOCKS[depth]
    r, sd = _Random(seed), {}
    sd["conv1.weight"] = r.conv(64, 3, 7)
    r.bn(sd, "bn1", 64)
    cin, expansion = 64, 4 if bottleneck else 1
    for layer, n in enumerate(counts, start=1):
        width = 64 * 2 ** (layer - 1)
        for b in range(n):
            p = f"layer{layer}.{b}"
            if bottleneck:
                sd[f"{p}.conv1.weight"] = r.conv(width, cin, 1)
                r.bn(sd, f"{p}.bn1", width)
                sd[f"{p}.conv2.weight"] = r.conv(width, width, 3)
                r.bn(sd, f"{p}.bn2", width)
                sd[f"{p}.conv3.weight"] = r.conv(width * 4, width, 1)
                r.bn(sd, f"{p}.bn3", width * 4, scale=0.3)
            else:
                sd[f"{p}.conv1.weight"] = r.conv(width, cin, 3)
                r.bn(sd, f"{p}.bn1", width)
                sd[f"{p}.conv2.weight"] = r.conv(width, width, 3)
                r.bn(sd, f"{p}.bn2", width, scale=0.3)
            if b == 0 and (layer > 1 or cin != width * expansion):
                sd[f"{p}.downsample.0.weight"] = r.conv(width * expansion, cin, 1)
                r.bn(sd, f"{p}.downsample.1", width * expansion)
            cin = width * expansion
    if classifier:
        sd["fc.weight"] = r.rng.standard_normal((1000, cin)).astype(np.float32)
        sd["fc.bias"] = np.zeros(1000, np.float32)
    return sd


# --- MobileNetV2 ---------------------------------------------------------------------------------------------------

def _mbv2_blocks():
    """(index, cin, cout, stride, expansion) of torchvision's features.1-17, before last-stride changes."""
    blocks, cin, index = [], 32, 1
    for t, c, n, s in MBV2_SETTINGS:
        for i in range(n):
            blocks.append((index, cin, c, s if i == 0 else 1, t))
            cin, index = c, index + 1
    return blocks


_MBV2_LAYOUT = {("flat", True): [("conv.0", "conv.1"), ("conv.3", "conv.4"), ("conv.6", "conv.7")],
                ("flat", False): [("conv.0", "conv.1"), ("conv.3", "conv.4")],
                ("nested", True): [("conv.0.0", "conv.0.1"), ("conv.1.0", "conv.1.1"), ("conv.2", "conv.3")],
                ("nested", False): [("conv.0.0", "conv.0.1"), ("conv.1", "conv.2")]}


def _mbv2_modules(index: int, expanded: bool, layout: str) -> list:
    """The (conv, BN) module paths of features.index, in order: [expand,] depthwise, project."""
    return [(f"features.{index}.{c}", f"features.{index}.{b}") for c, b in _MBV2_LAYOUT[(layout, expanded)]]


def random_mobilenetv2(layout: str = "flat", seed: int = 0, classifier: bool = False) -> dict:
    r, sd = _Random(seed), {}
    sd["features.0.0.weight"] = r.conv(32, 3, 3)
    r.bn(sd, "features.0.1", 32)
    for index, cin, cout, _, t in _mbv2_blocks():
        hidden = cin * t
        mods = _mbv2_modules(index, t != 1, layout)
        shapes = ([(hidden, cin, 1)] if t != 1 else []) + [(hidden, 1, 3), (cout, hidden, 1)]
        for (conv_name, bn_name), (o, c, k) in zip(mods, shapes):
            # depthwise filters have fan-in 9; the projection's BN is damped (a residual follows)
            sd[f"{conv_name}.weight"] = r.conv(o, c, k)
            r.bn(sd, bn_name, o, scale=0.5 if conv_name == mods[-1][0] else 1.0)
    sd["features.18.0.weight"] = r.conv(1280, 320, 1)
    r.bn(sd, "features.18.1", 1280)
    if classifier:
        sd["classifier.1.weight"] = r.rng.standard_normal((1000, 1280)).astype(np.float32)
        sd["classifier.1.bias"] = np.zeros(1000, np.float32)
    return sd


def mobilenetv2_forward(sd: dict, x: np.ndarray, last_stride: int, layout: str = "flat") -> np.ndarray:
    """torchvision MobileNetV2's features output (features.18) for torchvision-named weights sd; the stride of
    features.14 (the first 160-channel block) is last_stride."""
    x = relu6(bn(conv(x.astype(np.float64), _w(sd, "features.0.0.weight"), 2, 1), _bn_params(sd, "features.0.1")))
    for index, cin, cout, stride, t in _mbv2_blocks():
        if index == 14:
            stride = last_stride
        mods = _mbv2_modules(index, t != 1, layout)
        out = x
        for i, (conv_name, bn_name) in enumerate(mods):
            w = _w(sd, f"{conv_name}.weight")
            depthwise = w.shape[1] == 1 and w.shape[2] == 3
            out = conv(out, w, stride if depthwise else 1, 1 if depthwise else 0, w.shape[0] if depthwise else 1)
            out = bn(out, _bn_params(sd, bn_name))
            if i < len(mods) - 1:
                out = relu6(out)
        x = out + x if stride == 1 and cin == cout else out
    return relu6(bn(conv(x, _w(sd, "features.18.0.weight")), _bn_params(sd, "features.18.1")))
