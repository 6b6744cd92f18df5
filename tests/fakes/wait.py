"""Polling for a condition that real servers reach in their own time."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx


def wait_for(pred: Callable[[], object], timeout: float = 15.0, interval: float = 0.05) -> bool:
    """Whether `pred()` became true within `timeout` seconds (checked every `interval`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return False


def answers_ok(url: str, proc: subprocess.Popen[bytes], timeout: float) -> str | None:
    """None once `url` answers 200 (polled every 0.05 s); else why not: "exited" (`proc`
    ended first) or "timeout". One client for every poll: `httpx.get` builds a TLS context
    each time (~50 ms of CPU, taken from the server starting beside it on a small machine)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=0.5) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return "exited"
            try:
                if client.get(url).status_code == 200:
                    return None
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    return "timeout"
