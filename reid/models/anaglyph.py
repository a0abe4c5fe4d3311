"""IBAN's anaglyph intermediary (eq 1): a fixed 3x3 emboss operator plus an offset on grey frames, in the graph.

Frames arrive ImageNet-normalised; the anaglyph is computed on the grey [0, 1] image and normalised back with
the same statistics, so the anaglyph backbone sees inputs on the scale the RGB/IR one does."""
from __future__ import annotations

import numpy as np
from mindspore import Tensor, nn, ops

from starreid.reid.preprocess import IMAGENET_MEAN, IMAGENET_STD

# The classic emboss kernel: a directional edge detector whose response is signed, hence the offset.
EMBOSS = np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]], np.float32)
OFFSET = 0.5  # k of eq 1 (the kernel sums to 1: a flat region keeps its grey level, raised by k)
GREY = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 luma


def anaglyph_numpy(grey: np.ndarray) -> np.ndarray:
    """Eq 1 on one grey image (H, W) in [0, 1], zero padding: the reference the graph is tested against."""
    padded = np.pad(grey, 1)
    out = np.zeros_like(grey, dtype=np.float32)
    for m in range(3):
        for n in range(3):
            out += EMBOSS[m, n] * padded[m:m + grey.shape[0], n:n + grey.shape[1]]
    return np.clip(out + OFFSET, 0.0, 1.0)


class Anaglyph(nn.Cell):
    """anaglyph(frames (N, 3, H, W) normalised) -> anaglyph frames (N, 3, H, W) normalised, grey in all three
    channels. Holds constants only (no parameters): the operator is fixed, as in the paper."""

    def __init__(self):
        super().__init__()
        self.kernel = Tensor(EMBOSS.reshape(1, 1, 3, 3))
        self.mean = Tensor(IMAGENET_MEAN.reshape(1, 3, 1, 1))
        self.std = Tensor(IMAGENET_STD.reshape(1, 3, 1, 1))
        self.grey = Tensor(GREY.reshape(1, 3, 1, 1))

    def construct(self, frames):
        rgb = frames * self.std + self.mean  # back to [0, 1]
        grey = (rgb * self.grey).sum(1, keepdims=True)
        edges = ops.conv2d(grey, self.kernel, pad_mode="pad", padding=1)
        a = ops.clip_by_value(edges + OFFSET, 0.0, 1.0)
        return (ops.tile(a, (1, 3, 1, 1)) - self.mean) / self.std
