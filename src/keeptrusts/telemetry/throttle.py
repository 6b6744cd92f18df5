"""A log line that repeats on every failure, written at most once per interval.

An outage repeats the same error for every request or batch; logging each would flood the
log (and cost the request path a write each). `LogThrottle.due` counts occurrences and says
when the next line is due, with how many it stands for.
"""

from __future__ import annotations

import time


class LogThrottle:
    """Lets a repeated log line through at most once per `interval` seconds."""

    __slots__ = ("_held", "_last", "interval")

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last = float("-inf")
        self._held = 0

    def due(self, n: int = 1, now: float | None = None) -> int:
        """Count `n` occurrences. Returns 0 while a line is not due; when one is, how many
        occurrences it stands for (these and those held back since the last line)."""
        self._held += n
        t = time.monotonic() if now is None else now
        if t - self._last < self.interval:
            return 0
        self._last = t
        held, self._held = self._held, 0
        return held
