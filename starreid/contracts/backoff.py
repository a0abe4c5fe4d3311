"""Exponential backoff, the one every retry loop of the project uses (camera reconnects, Redis retries,
restarts of supervised children)."""
from __future__ import annotations

import random


class Backoff:
    """Delays grow initial * factor**n up to max_delay. With jitter (the default), each is drawn uniformly from
    [delay/2, delay], so many clients losing the same server do not all come back at the same instant."""

    def __init__(self, initial: float, max_delay: float, factor: float = 2.0, jitter: bool = True,
                 seed: int | None = None):
        if initial <= 0 or max_delay < initial or factor < 1:
            raise ValueError("need 0 < initial <= max_delay and factor >= 1")
        self.initial, self.max_delay, self.factor, self.jitter = initial, max_delay, factor, jitter
        self._attempt = 0
        self._rng = random.Random(seed)

    def next_delay(self) -> float:
        delay = min(self.max_delay, self.initial * self.factor ** self._attempt)
        self._attempt += 1
        return self._rng.uniform(delay / 2, delay) if self.jitter else delay

    def reset(self) -> None:
        self._attempt = 0
