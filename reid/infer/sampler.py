"""Deterministic test-time frame sampling and image preprocessing for the Embedder."""
from __future__ import annotations

import numpy as np

from starreid.reid.data.samplers import sample_test_clip
from starreid.reid.preprocess import normalise_frames, resize_frames


def frame_indices(n: int, seq_len: int) -> np.ndarray:
    """The protocol's deterministic test clip (see reid.data.samplers.sample_test_clip)."""
    return sample_test_clip(n, seq_len)


def resize_clips(clips: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 (B, T, h, w, 3) -> (B, T, height, width, 3), bilinear; unchanged when already that size."""
    return resize_frames(clips, height, width)


def normalize_clips(clips: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 RGB (B, T, h, w, 3) -> float32 (B, T, 3, height, width), ImageNet mean/std; resized if needed."""
    return normalise_frames(resize_frames(clips, height, width))


def modality_codes(modality, batch: int) -> np.ndarray:
    """'rgb'/'ir' strings or 0/1 ints -> int32 (B,)."""
    codes = []
    for m in list(modality):
        if isinstance(m, (str, np.str_)):
            if m not in ("rgb", "ir"):
                raise ValueError(f"modality must be 'rgb' or 'ir', got {m!r}")
            codes.append(0 if m == "rgb" else 1)
        else:
            if int(m) not in (0, 1):
                raise ValueError(f"modality code must be 0 (rgb) or 1 (ir), got {m!r}")
            codes.append(int(m))
    if len(codes) != batch:
        raise ValueError(f"got {len(codes)} modalities for {batch} tracklets")
    return np.asarray(codes, dtype=np.int32)
