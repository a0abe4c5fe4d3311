"""Exponential backoff with full jitter for reconnecting to cameras."""
from __future__ import annotations

import random


class Backoff:
    """Delays grow initial * factor**n up to max_delay; each is drawn uniformly from [delay/2, delay] so many
    workers losing the same server do not all come back at the same instant."""

    def __init__(self, initial: float = 0.05, max_delay: float = 1.0, factor: float = 2.0, seed: int | None = None):
        if initial <= 0 or max_delay < initial or factor < 1:
            raise ValueError("need 0 < initial <= max_delay and factor >= 1")
        self.initial, self.max_delay, self.factor = initial, max_delay, factor
        self._attempt = 0
        self._rng = random.Random(seed)

    def next_delay(self) -> float:
        delay = min(self.max_delay, self.initial * self.factor ** self._attempt)
        self._attempt += 1
        return self._rng.uniform(delay / 2, delay)

    def reset(self) -> None:
        self._attempt = 0
