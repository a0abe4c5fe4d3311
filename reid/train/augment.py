"""Clip augmentation for training, applied identically to every frame of a clip (a tracklet is one sample).

Geometric changes (flip, pad + random crop) move the keypoints with the pixels; a flip also swaps left and
right joints, so "left_wrist" still names the person's left wrist.
"""
from __future__ import annotations

import numpy as np

from starreid.reid.preprocess import normalise_frames, resize_frames

# COCO-17 joints exchanged by a horizontal flip
FLIP_ORDER = np.array([0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15])


def flip(frames: np.ndarray, keypoints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    kp = keypoints[:, FLIP_ORDER].copy()
    kp[..., 0] = np.where(kp[..., 2] > 0, 1.0 - kp[..., 0], 0.0)
    return frames[:, :, ::-1], kp


def pad_crop(frames: np.ndarray, keypoints: np.ndarray, pad: int, rng: np.random.Generator):
    """Zero-pad by `pad` pixels and crop back to the original size at a random offset."""
    t, h, w, _ = frames.shape
    padded = np.zeros((t, h + 2 * pad, w + 2 * pad, 3), frames.dtype)
    padded[:, pad:pad + h, pad:pad + w] = frames
    oy, ox = rng.integers(0, 2 * pad + 1, 2)
    kp = keypoints.copy()
    kp[..., 0] = (kp[..., 0] * w + pad - ox) / w
    kp[..., 1] = (kp[..., 1] * h + pad - oy) / h
    outside = (kp[..., 0] < 0) | (kp[..., 0] > 1) | (kp[..., 1] < 0) | (kp[..., 1] > 1)
    kp[outside | (keypoints[..., 2] <= 0)] = 0.0  # a joint cropped away is missing, not clamped
    return padded[:, oy:oy + h, ox:ox + w], kp


def style(frames: np.ndarray, modality: str, rng: np.random.Generator) -> np.ndarray:
    """SAD's input style augmentation: IR intensity x U[0.5, 1.5]; RGB per-channel scale and shuffle."""
    x = frames.astype(np.float32)
    if modality == "ir":
        x *= rng.uniform(0.5, 1.5)
    else:
        x *= rng.uniform(0.5, 1.5, size=3).astype(np.float32)
        x = x[..., rng.permutation(3)]
    return np.clip(x, 0, 255).astype(np.uint8)


def channel_exchange(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An RGB clip as one of its channels (R, G or B) or its grey level, repeated to 3 channels: colour is
    what infrared lacks, so this teaches features that do not rely on it (channel-augmented joint learning)."""
    pick = int(rng.integers(0, 4))
    x = frames.astype(np.float32)
    grey = x @ np.array([0.299, 0.587, 0.114], np.float32) if pick == 3 else x[..., pick]
    return np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=-1)


def channel_erase(clip: np.ndarray, rng: np.random.Generator, area=(0.02, 0.4), ratio=(0.3, 3.3)) -> np.ndarray:
    """Random erasing on a normalised (T, 3, H, W) clip: one rectangle, each channel set to its mean (0)."""
    _, _, h, w = clip.shape
    for _ in range(10):
        target = rng.uniform(*area) * h * w
        aspect = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1])))
        eh, ew = int(round(np.sqrt(target * aspect))), int(round(np.sqrt(target / aspect)))
        if 0 < eh < h and 0 < ew < w:
            y, x = rng.integers(0, h - eh), rng.integers(0, w - ew)
            clip = clip.copy()
            clip[:, :, y:y + eh, x:x + ew] = 0.0
            return clip
    return clip


def augment_clip(frames: np.ndarray, keypoints: np.ndarray, modality: str, rng: np.random.Generator,
                 height: int, width: int, augment) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (T, h, w, 3) RGB + keypoints (T, 17, 3) -> float32 (T, 3, H, W), keypoints (T, 17, 3), with the
    augment config section's probabilities (flip_p, pad, exchange_p, style_p, erase_p)."""
    frames = resize_frames(frames, height, width)
    keypoints = keypoints.astype(np.float32)
    if rng.random() < augment.flip_p:
        frames, keypoints = flip(frames, keypoints)
    if augment.pad > 0:
        frames, keypoints = pad_crop(frames, keypoints, augment.pad, rng)
    if modality == "rgb" and augment.exchange_p > 0 and rng.random() < augment.exchange_p:
        frames = channel_exchange(frames, rng)
    elif rng.random() < augment.style_p:
        frames = style(frames, modality, rng)
    clip = normalise_frames(frames)
    if rng.random() < augment.erase_p:
        clip = channel_erase(clip, rng)
    return clip, keypoints


def eval_clip(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """The test-time transform: resize and normalise only."""
    return normalise_frames(resize_frames(frames, height, width))
