"""A per-target circuit breaker: open after N consecutive failures, retry after a cooldown."""

from __future__ import annotations

import time


class Breaker:
    def __init__(self, threshold: int, cooldown: float) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failures = 0
        self.open_until = 0.0
        #: an attempt is under way while the breaker is past its threshold: the one trial
        self.trial = False

    def available(self, now: float | None = None) -> bool:
        """Closed, or half-open once the cooldown has passed and no trial is under way: one
        trial at a time is let through (letting every request through made each one wait
        for a dead target's timeout before falling back)."""
        if self.failures < self.threshold:
            return True
        return not self.trial and (now or time.monotonic()) >= self.open_until

    @property
    def is_open(self) -> bool:
        return self.failures >= self.threshold and time.monotonic() < self.open_until

    def start(self) -> None:
        """An attempt on the target begins: past the threshold, it is the trial."""
        if self.failures >= self.threshold:
            self.trial = True

    def end(self) -> None:
        """The attempt is over, whatever its outcome (its success or failure is counted
        apart; one that proves nothing, a 429 or a client gone, leaves it half-open)."""
        self.trial = False

    def success(self) -> None:
        self.failures = 0

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.open_until = time.monotonic() + self.cooldown
