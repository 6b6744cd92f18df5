"""Polling for a condition that real servers reach in their own time."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(pred: Callable[[], object], timeout: float = 15.0, interval: float = 0.05) -> bool:
    """Whether `pred()` became true within `timeout` seconds (checked every `interval`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return False
