"""Multi-head cross-attention and squeeze-excitation written with exportable ops (MatMul, Softmax, Dense)."""
from __future__ import annotations

import math

from mindspore import nn, ops


class CrossAttention(nn.Cell):
    """CrossAttn(Q, K, V) with `heads` heads over token sequences (B, L, D); key_mask (B, Lk) 1 = attend."""

    def __init__(self, dim: int, heads: int = 4):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention dim {dim} is not divisible by {heads} heads")
        self.heads, self.head_dim = heads, dim // heads
        self.q, self.k, self.v, self.out = (nn.Dense(dim, dim) for _ in range(4))
        self.scale = 1.0 / math.sqrt(self.head_dim)

    def _split(self, x):
        b, n, _ = x.shape
        return x.reshape(b, n, self.heads, self.head_dim).transpose(0, 2, 1, 3)

    def construct(self, query, key, value, key_mask):
        q, k, v = self._split(self.q(query)), self._split(self.k(key)), self._split(self.v(value))
        logits = ops.matmul(q, k.transpose(0, 1, 3, 2)) * self.scale
        # Additive -1e4 instead of -inf: a fully masked row stays finite (uniform) rather than NaN.
        logits = logits + (key_mask.reshape(key_mask.shape[0], 1, 1, -1) - 1.0) * 1e4
        attn = ops.softmax(logits, -1)
        out = ops.matmul(attn, v).transpose(0, 2, 1, 3)
        b, n = out.shape[0], out.shape[1]
        return self.out(out.reshape(b, n, -1))


class SqueezeExcite(nn.Cell):
    """Per-token channel weights in (0, 1): sigmoid(W2 relu(W1 x))."""

    def __init__(self, dim: int, reduction: int = 16):
        super().__init__()
        hidden = max(dim // reduction, 4)
        self.fc1, self.fc2 = nn.Dense(dim, hidden), nn.Dense(hidden, dim)
        self.relu, self.sigmoid = nn.ReLU(), nn.Sigmoid()

    def construct(self, x):
        return self.sigmoid(self.fc2(self.relu(self.fc1(x))))
