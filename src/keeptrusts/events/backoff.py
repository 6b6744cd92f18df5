"""Retry delays for event delivery."""

from __future__ import annotations

import random


class Backoff:
    """Exponential backoff with jitter: base * 2^n, capped, times a random factor in [0.5, 1]."""

    def __init__(self, base: float = 0.2, cap: float = 5.0) -> None:
        self.base, self.cap, self.attempt = base, cap, 0

    def next(self) -> float:
        delay = min(self.cap, self.base * (2.0**self.attempt))
        self.attempt = min(self.attempt + 1, 30)
        return delay * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.attempt = 0
