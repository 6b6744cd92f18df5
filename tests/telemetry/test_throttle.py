"""Repeated log lines: at most one per interval, standing for all it held back."""

from __future__ import annotations

import logging

import pytest

from keeptrusts.limits import failmode
from keeptrusts.limits.backend import LimitsUnavailable
from keeptrusts.limits.memory import MemoryBackend
from keeptrusts.pipeline.verdict import Result
from keeptrusts.telemetry.throttle import LogThrottle


def test_one_line_per_interval_counts_what_it_held_back() -> None:
    t = LogThrottle(10.0)
    assert t.due(now=100.0) == 1
    assert t.due(3, now=101.0) == 0
    assert t.due(now=109.9) == 0
    assert t.due(2, now=110.0) == 6  # 3 + 1 held back, and these 2
    assert t.due(now=110.5) == 0


def test_fail_mode_allow_warns_once_per_interval(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: one warning per request for as long as Redis was down (thousands a second)."""
    monkeypatch.setattr(failmode, "_warn", LogThrottle(failmode.WARN_INTERVAL))
    backend = MemoryBackend(fail_mode="allow")
    with caplog.at_level(logging.WARNING, "keeptrusts.limits"):
        for _ in range(500):
            decision = failmode.fall_back(backend, "rpm", LimitsUnavailable("down"))
            assert decision.result == Result.ALLOW
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1 and "1 requests allowed unchecked" in warnings[0].getMessage()


def test_goes_on_only_for_an_unreachable_backend_in_allow_mode() -> None:
    allow, block = MemoryBackend(fail_mode="allow"), MemoryBackend(fail_mode="block")
    assert failmode.goes_on(LimitsUnavailable("down"), allow)
    assert not failmode.goes_on(LimitsUnavailable("down"), block)
    assert not failmode.goes_on(RuntimeError("bug"), allow)
    assert not failmode.goes_on(None, allow)
