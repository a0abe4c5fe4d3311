"""The learning-rate schedule: linear warm-up, then step decay at milestone epochs (one value per step)."""
from __future__ import annotations

import numpy as np


def lr_per_step(base_lr: float, epochs: int, steps_per_epoch: int, warmup_epochs: int = 10,
                milestones=(60, 100), gamma: float = 0.1) -> list[float]:
    """Epoch e < warmup: base * (e + 1) / warmup (per step, linearly within the epoch); then base * gamma^m
    where m is the number of milestones <= e."""
    steps = epochs * steps_per_epoch
    epoch = np.arange(steps) / steps_per_epoch  # fractional epoch of each step
    lr = base_lr * np.power(gamma, np.searchsorted(np.sort(milestones), np.floor(epoch), side="right"))
    if warmup_epochs > 0:
        warm = epoch < warmup_epochs
        lr[warm] = base_lr * (epoch[warm] + 1.0 / steps_per_epoch) / warmup_epochs
    return lr.astype(np.float32).tolist()
