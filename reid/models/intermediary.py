"""IBAN's intermediary-guided module (eq 4) and the reconstruction network of its cross-reconstruction (eq 5).

IG is a non-local cross-attention over feature maps: each position of a frame's RGB/IR map f queries every
position of the same frame's anaglyph map a, and W (a 1x1 convolution and a BatchNorm whose scale starts at 0)
adds the attended anaglyph content to f as a residual, so a fresh IG is the identity. The paper's eq 4 puts f
on the query side (Softmax(f a^T) a); this module follows the paper."""
from __future__ import annotations

from mindspore import nn, ops
from mindspore.common.initializer import Zero


class IntermediaryGuidance(nn.Cell):
    """construct(f (N, C, h, w), a (N, C, h, w)) -> f + W(softmax(theta(f) phi(a)^T) g(a)), (N, C, h, w)."""

    def __init__(self, channels: int, reduction: int = 2):
        super().__init__()
        inner = max(channels // reduction, 1)
        self.inner = inner
        self.theta = nn.Conv2d(channels, inner, 1, has_bias=True)  # query: the RGB/IR map
        self.phi = nn.Conv2d(channels, inner, 1, has_bias=True)  # key: the anaglyph map
        self.g = nn.Conv2d(channels, inner, 1, has_bias=True)  # value: the anaglyph map
        self.w = nn.Conv2d(inner, channels, 1, has_bias=True)
        self.bn = nn.BatchNorm2d(channels, gamma_init=Zero())  # zero-initialised: the identity at the start

    def construct(self, f, a):
        n, c, h, w = f.shape
        q = self.theta(f).reshape(n, self.inner, h * w).transpose(0, 2, 1)  # (N, hw, C')
        k = self.phi(a).reshape(n, self.inner, h * w)  # (N, C', hw)
        v = self.g(a).reshape(n, self.inner, h * w).transpose(0, 2, 1)  # (N, hw, C')
        attn = ops.softmax(ops.matmul(q, k), -1)  # (N, hw, hw): each f position over a's positions
        y = ops.matmul(attn, v).transpose(0, 2, 1).reshape(n, self.inner, h, w)
        return self.bn(self.w(y)) + f


class Reconstruction(nn.Cell):
    """R of eq 5: a frame's anaglyph map (N, C, h, w) -> the map of the other modality's anaglyph, same shape.
    Two 1x1 convolutions around a BatchNorm and ReLU (a bottleneck of C / reduction channels)."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        inner = max(channels // reduction, 1)
        self.net = nn.SequentialCell([nn.Conv2d(channels, inner, 1, has_bias=False), nn.BatchNorm2d(inner),
                                      nn.ReLU(), nn.Conv2d(inner, channels, 1, has_bias=True)])

    def construct(self, a):
        return self.net(a)
