"""Rate and budget semantics, the same on the memory and the Redis backend."""

from __future__ import annotations

import pytest

from keeptrusts.limits.backend import (
    RATE_OK,
    RATE_PARALLEL,
    RATE_RPM,
    RATE_TPM,
    LimitBackend,
    RateRule,
    create_backend,
    to_nano,
)
from keeptrusts.limits.windows import Window

NOW = 1_764_300_000.0  # 2025-11-28T03:20:00Z, mid-day, mid-month


async def test_requests_per_minute_is_exact_and_slides(backend: LimitBackend) -> None:
    rule = RateRule(requests_per_minute=5)
    for i in range(5):
        res = await backend.rate_acquire("tenant:a", rule, 0, f"l{i}", NOW + i)
        assert res.refused == RATE_OK
    res = await backend.rate_acquire("tenant:a", rule, 0, "x", NOW + 10)
    assert res.refused == RATE_RPM
    assert res.retry_after == pytest.approx(50.0)  # the first request leaves at NOW + 60
    assert (await backend.rate_acquire("tenant:a", rule, 0, "y", NOW + 60)).refused == RATE_OK
    assert (await backend.rate_acquire("tenant:a", rule, 0, "z", NOW + 60.5)).refused == RATE_RPM
    assert (await backend.rate_acquire("tenant:b", rule, 0, "w", NOW + 60.5)).refused == RATE_OK


async def test_tokens_per_minute_counts_and_corrects(backend: LimitBackend) -> None:
    rule = RateRule(tokens_per_minute=1000)
    first = await backend.rate_acquire("k", rule, 600, "a", NOW)
    assert first.refused == RATE_OK and first.tokens == 600
    assert (await backend.rate_acquire("k", rule, 500, "b", NOW + 1)).refused == RATE_TPM
    # the first request really used 300 tokens: 300 come back
    await backend.rate_release("k", "a", first.bucket, -300, 0, NOW + 2)
    assert (await backend.rate_acquire("k", rule, 500, "c", NOW + 3)).refused == RATE_OK
    st = await backend.rate_state("k", NOW + 3)
    assert (st.requests, st.tokens) == (2, 800)
    # more than the whole limit can never fit
    too_big = await backend.rate_acquire("k", rule, 1001, "d", NOW + 4)
    assert too_big.refused == RATE_TPM and too_big.retry_after == 60


async def test_max_parallel_slots_are_released(backend: LimitBackend) -> None:
    rule = RateRule(max_parallel=2)
    a = await backend.rate_acquire("p", rule, 0, "a", NOW)
    await backend.rate_acquire("p", rule, 0, "b", NOW)
    assert (await backend.rate_acquire("p", rule, 0, "c", NOW)).refused == RATE_PARALLEL
    await backend.rate_release("p", "a", a.bucket, 0, 0, NOW)
    assert (await backend.rate_acquire("p", rule, 0, "c", NOW)).refused == RATE_OK
    assert (await backend.rate_state("p", NOW)).parallel == 2


async def test_refused_request_is_not_counted_and_undo_uncounts(backend: LimitBackend) -> None:
    rule = RateRule(requests_per_minute=2)
    a = await backend.rate_acquire("u", rule, 10, "a", NOW)
    await backend.rate_release("u", "a", a.bucket, -10, -1, NOW)  # another rule refused it
    st = await backend.rate_state("u", NOW)
    assert (st.requests, st.tokens, st.parallel) == (0, 0, 0)


async def test_budget_admits_exactly_the_worst_cases_that_fit(backend: LimitBackend) -> None:
    day = Window("day")
    limit, worst = to_nano(0.01), to_nano(0.001)
    admitted = [
        (await backend.budget_reserve("t", day, limit, worst, f"r{i}", NOW)).admitted
        for i in range(12)
    ]
    assert admitted == [True] * 10 + [False] * 2
    # settle at the real (lower) cost: the rest is released
    st = await backend.budget_settle("t", day, "r0", to_nano(0.0004), NOW)
    assert (st.spent, st.reserved) == (to_nano(0.0004), to_nano(0.009))
    assert not (await backend.budget_reserve("t", day, limit, worst, "r10", NOW)).admitted
    await backend.budget_settle("t", day, "r1", 0, NOW)  # failed upstream: all released
    assert (await backend.budget_reserve("t", day, limit, worst, "r10", NOW)).admitted
    assert not (await backend.budget_reserve("t", day, limit, worst, "r11", NOW)).admitted
    for i in range(2, 11):
        await backend.budget_settle("t", day, f"r{i}", 0, NOW)
    st = await backend.budget_state("t", day, NOW)
    assert (st.spent, st.reserved) == (to_nano(0.0004), 0)


async def test_settle_is_idempotent_for_the_reservation(backend: LimitBackend) -> None:
    day = Window("day")
    await backend.budget_reserve("i", day, 100, 50, "r", NOW)
    await backend.budget_settle("i", day, "r", 10, NOW)
    st = await backend.budget_settle("i", day, "r", 0, NOW)
    assert (st.spent, st.reserved) == (10, 0)


@pytest.mark.parametrize(
    ("kind", "later", "spent_later"),
    [("day", 86_400, 0), ("month", 86_400, 70), ("rolling_24h", 86_400 + 900, 0)],
)
async def test_budget_windows_roll(
    backend: LimitBackend, kind: str, later: float, spent_later: int
) -> None:
    w = Window(kind)  # type: ignore[arg-type]
    await backend.budget_settle("w", w, "none", 70, NOW)
    assert (await backend.budget_state("w", w, NOW + 3600)).spent == 70
    assert (await backend.budget_state("w", w, NOW + later)).spent == spent_later


async def test_rolling_window_keeps_the_last_24_hours(backend: LimitBackend) -> None:
    w = Window("rolling_24h")
    await backend.budget_settle("r", w, "a", 5, NOW)
    await backend.budget_settle("r", w, "b", 7, NOW + 12 * 3600)
    assert (await backend.budget_state("r", w, NOW + 23 * 3600)).spent == 12
    assert (await backend.budget_state("r", w, NOW + 25 * 3600)).spent == 7


def test_create_backend_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="fail-mode"):
        create_backend("memory", None, "kt", fail_mode="open")
    with pytest.raises(ValueError, match=r"state\.url"):
        create_backend("redis", None, "kt")
    with pytest.raises(ValueError, match="memory or redis"):
        create_backend("etcd", None, "kt")


async def test_budget_refusal_says_when_enough_spend_leaves(backend: LimitBackend) -> None:
    w = Window("rolling_24h")
    later = NOW + 5 * 3600
    await backend.budget_settle("rr", w, "a", 60, NOW)
    await backend.budget_settle("rr", w, "b", 30, NOW + 3 * 3600)
    # 90 of 100 spent: 40 fits once the oldest 60 leave the window, 80 once both have left
    res = await backend.budget_reserve("rr", w, 100, 40, "c", later)
    assert not res.admitted
    assert res.retry_after == pytest.approx(w.leaves_at(w.span(NOW).bucket) - later)
    assert 18 * 3600 < res.retry_after < 19 * 3600 + 900  # not the end of the current bucket
    res = await backend.budget_reserve("rr", w, 100, 80, "d", later)
    assert res.retry_after == pytest.approx(w.leaves_at(w.span(NOW + 3 * 3600).bucket) - later)
    # room beside the settled spend, taken by a reservation in flight: retry in a second
    assert (await backend.budget_reserve("rr", w, 100, 10, "e", later)).admitted
    assert (await backend.budget_reserve("rr", w, 100, 5, "f", later)).retry_after == 1.0
    # a calendar day: when the day ends
    day = Window("day")
    await backend.budget_settle("dd", day, "a", 100, NOW)
    res = await backend.budget_reserve("dd", day, 100, 1, "b", NOW)
    assert res.retry_after == pytest.approx(day.span(NOW).resets_at - NOW)
