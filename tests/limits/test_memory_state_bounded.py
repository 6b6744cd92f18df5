"""The memory backend's budget state stays bounded whatever subjects callers create."""

from __future__ import annotations

import pytest

from keeptrusts.limits.memory import BUDGET_SWEEP_SECONDS, MemoryBackend, _Budget
from keeptrusts.limits.windows import DAY, Window

NOW = 1_764_300_000.0  # 2025-11-28T03:20:00Z
DAYW = Window("day")
ROLLING = Window("rolling_24h")


async def spend(b: MemoryBackend, key: str, now: float, window: Window = DAYW) -> None:
    assert (await b.budget_reserve(key, window, 10**12, 1000, f"r-{key}", now)).admitted
    await b.budget_settle(key, window, f"r-{key}", 800, now)


async def test_subjects_whose_window_ended_are_dropped() -> None:
    b = MemoryBackend()
    for i in range(1000):
        await spend(b, f"b:tenant:day:t{i}", NOW)
    await spend(b, "b:tenant:rolling:r", NOW, ROLLING)
    assert len(b._budgets) == 1001
    tomorrow = NOW + 21 * 3600  # 00:20 the next UTC day
    # the day ended: day subjects go at the next sweep; the rolling window still holds spend
    assert (await b.budget_state("b:tenant:day:t0", DAYW, tomorrow)).spent == 0
    assert list(b._budgets) == ["b:tenant:rolling:r"]
    later = NOW + DAY + 3600
    assert (await b.budget_state("b:tenant:rolling:r", ROLLING, later)).spent == 0
    assert b._budgets == {}


async def test_in_flight_reservations_are_kept_past_the_window() -> None:
    b = MemoryBackend()
    assert (await b.budget_reserve("k", DAYW, 10_000, 5000, "held", NOW)).admitted
    await b.budget_state("other", DAYW, NOW + 2 * DAY)
    assert "k" in b._budgets
    st = await b.budget_settle("k", DAYW, "held", 100, NOW + 2 * DAY)
    assert (st.spent, st.reserved) == (100, 0)


async def test_number_of_subjects_is_capped_least_recently_used_first() -> None:
    b = MemoryBackend(max_budget_keys=100)
    await spend(b, "busy", NOW)
    for i in range(1000):
        await spend(b, f"attacker-{i}", NOW)
        if i % 50 == 0:
            await spend(b, "busy", NOW)  # a subject in use is kept
    assert len(b._budgets) <= 100
    assert "busy" in b._budgets and "attacker-0" not in b._budgets
    assert (await b.budget_state("busy", DAYW, NOW)).spent == 800 * 21


async def test_a_flood_of_new_subjects_does_not_rescan_every_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    b = MemoryBackend(max_budget_keys=10)
    scanned = 0
    ended = _Budget.ended

    def counting(self: _Budget, now: float) -> bool:
        nonlocal scanned
        scanned += 1
        return ended(self, now)

    monkeypatch.setattr(_Budget, "ended", counting)
    for i in range(10):
        await spend(b, f"old-{i}", NOW - DAY)  # yesterday: ended, swept at the next sweep
    assert len(b._budgets) == 10
    await spend(b, "new-0", NOW)  # sweeps (first sweep of this clock) and keeps new-0
    assert list(b._budgets) == ["new-0"]
    scanned = 0
    for i in range(1, 30):
        await spend(b, f"new-{i}", NOW + BUDGET_SWEEP_SECONDS / 2)
    assert len(b._budgets) == 10
    assert scanned <= 10  # one sweep of a full table, not one per new subject


async def test_refused_or_empty_reservations_leave_no_entry_to_evict_live_spend() -> None:
    """A flood of refused reservations (random api_key subjects) must not push out the
    spend of an exhausted tenant and so reset its budget."""
    b = MemoryBackend(max_budget_keys=100)
    assert (await b.budget_reserve("tenant:a", DAYW, 1000, 1000, "r", NOW)).admitted
    await b.budget_settle("tenant:a", DAYW, "r", 1000, NOW)
    for i in range(5000):
        refused = await b.budget_reserve(f"api_key:k{i}", DAYW, 10, 50, f"x{i}", NOW)
        assert not refused.admitted
    for i in range(5000):  # admitted, then settled to nothing (e.g. a later policy blocked)
        assert (await b.budget_reserve(f"api_key:z{i}", DAYW, 10**6, 5, f"z{i}", NOW)).admitted
        await b.budget_settle(f"api_key:z{i}", DAYW, f"z{i}", 0, NOW)
    assert list(b._budgets) == ["tenant:a"]
    assert not (await b.budget_reserve("tenant:a", DAYW, 1000, 1, "again", NOW)).admitted
