"""The learning-rate schedule: linear warm-up, then step decay at milestone epochs (one value per step)."""
from __future__ import annotations

import numpy as np


def lr_per_step(optim, steps_per_epoch: int) -> list[float]:
    """From the optim config section (lr, epochs, warmup_epochs, milestones, gamma). Epoch e < warmup:
    lr * (e + 1) / warmup (per step, linearly within the epoch); then lr * gamma^m where m is the number of
    milestones <= e."""
    return _lr_per_step(optim.lr, optim.epochs, steps_per_epoch, optim.warmup_epochs, optim.milestones,
                        optim.gamma)


def _lr_per_step(base_lr: float, epochs: int, steps_per_epoch: int, warmup_epochs: int, milestones,
                 gamma: float) -> list[float]:
    steps = epochs * steps_per_epoch
    epoch = np.arange(steps) / steps_per_epoch  # fractional epoch of each step
    lr = base_lr * np.power(gamma, np.searchsorted(np.sort(milestones), np.floor(epoch), side="right"))
    if warmup_epochs > 0:
        warm = epoch < warmup_epochs
        lr[warm] = base_lr * (epoch[warm] + 1.0 / steps_per_epoch) / warmup_epochs
    return lr.astype(np.float32).tolist()
