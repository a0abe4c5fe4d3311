"""Tiny STAR configurations for the model tests: ResNet-18, 4 frames of 64 x 32, small heads."""
import numpy as np
import mindspore as ms

ms.set_device("CPU")

T, H, W = 4, 64, 32
SMALL = {"lstm_hidden": 32, "gat_hidden": 8, "guide_hidden": 16}


def make_batch(b: int = 4, t: int = T, h: int = H, w: int = W, seed: int = 0, score: float = 0.9):
    """Float clips (B, T, 3, H, W), keypoints with all joints scored `score`, modality alternating rgb/ir."""
    rng = np.random.default_rng(seed)
    clips = rng.standard_normal((b, t, 3, h, w)).astype(np.float32)
    kp = rng.random((b, t, 17, 3)).astype(np.float32)
    kp[..., 2] = score
    modality = (np.arange(b) % 2).astype(np.int32)
    return clips, kp, modality


def tensors(*arrays):
    return [ms.Tensor(a) for a in arrays]


