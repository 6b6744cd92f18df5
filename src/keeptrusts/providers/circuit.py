"""A per-target circuit breaker: open after N consecutive failures, retry after a cooldown."""

from __future__ import annotations

import time


class Breaker:
    def __init__(self, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.open_until = 0.0

    def available(self, now: float | None = None) -> bool:
        """Closed, or half-open once the cooldown has passed (one trial is let through)."""
        return self.failures < self.threshold or (now or time.monotonic()) >= self.open_until

    @property
    def is_open(self) -> bool:
        return self.failures >= self.threshold and time.monotonic() < self.open_until

    def success(self) -> None:
        self.failures = 0

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.open_until = time.monotonic() + self.cooldown
