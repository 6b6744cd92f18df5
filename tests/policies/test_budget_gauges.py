"""The budget gauges: current window, live config, replicas (a fresh `Metrics` per test)."""

from __future__ import annotations

import asyncio
import calendar
import gc
import math
from types import SimpleNamespace

import pytest

from keeptrusts.config.load import load_texts
from keeptrusts.limits.backend import LimitBackend, create_backend, to_nano
from keeptrusts.pipeline.verdict import Result
from keeptrusts.policies import budget as budget_module
from keeptrusts.policies import budget_gauges as gauges_module
from keeptrusts.policies.budget import Budget
from keeptrusts.policies.budget_gauges import BudgetGauges, follow_live_budget
from keeptrusts.policies.registry import KINDS, BuildContext
from keeptrusts.pricing import Pricing
from keeptrusts.telemetry.metrics import Metrics
from tests.policies.limits_helpers import exchange, used

# 1000 input + 1000 output tokens of gpt-4o-mini ($0.15 / $0.60 per million)
COST = 0.00075

RULES = "      - {scope: tenant, limit_usd: %s, window: %s}\n"


def config(limit: float = 1, window: str = "day", tenants: str = "[team-a, team-b]") -> str:
    return (
        f"pack: {{name: gauges}}\ntenants: {{known: {tenants}, default: team-a}}\n"
        "policies: {chain: [budget]}\npolicy:\n  budget:\n    rules:\n" + RULES % (limit, window)
    )


def build(metrics: Metrics | None, text: str, backend: LimitBackend) -> Budget:
    loaded = load_texts([("gauges.yaml", text)])
    ctx = BuildContext(loaded.config, Pricing(loaded.config.pricing), backend, metrics)
    policy = KINDS["budget"].build(loaded.settings["budget"], ctx)
    assert isinstance(policy, Budget)
    return policy


def gauges(metrics: Metrics) -> dict[str, tuple[float, float]]:
    """tenant -> (spent, remaining), as a scrape sees them."""
    out: dict[str, tuple[float, float]] = {}
    for family in metrics.registry.collect():
        if family.name not in ("keeptrusts_budget_spent_usd", "keeptrusts_budget_remaining_usd"):
            continue
        for s in family.samples:
            spent, left = out.get(s.labels["tenant"], (math.nan, math.nan))
            if family.name.endswith("spent_usd"):
                spent = s.value
            else:
                left = s.value
            out[s.labels["tenant"]] = (spent, left)
    return out


async def spend(policy: Budget, tenant: str = "team-a") -> None:
    ex = exchange(tenant=tenant)
    assert (await policy.on_request(ex)).result is Result.ALLOW
    used(ex, 1000, 1000)
    await policy.on_complete(ex)


async def settled(metrics: Metrics) -> None:
    """Let the read a new owner starts, and a freed owner's hand-over, run."""
    await asyncio.gather(*BudgetGauges.of(metrics).tasks)
    await asyncio.sleep(0)


def memory() -> LimitBackend:
    return create_backend("memory", None, "kt")


class Clock:
    """Stands in for the `time` module in `policies/budget.py`."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(calendar.timegm((2026, 3, 31, 23, 59, 0)))
    monkeypatch.setattr(budget_module, "time", c)
    monkeypatch.setattr(gauges_module, "time", c)
    return c


def test_every_named_tenant_has_gauges_from_the_start() -> None:
    metrics = Metrics()
    policy = build(metrics, config(limit=2), memory())
    assert gauges(metrics) == {"team-a": (0, 2), "team-b": (0, 2)}
    assert policy.gauges is BudgetGauges.of(metrics)


async def test_a_new_budget_reads_the_spend_the_store_holds() -> None:
    """A restarted replica does not show a spent budget as untouched until its next request."""
    store = memory()
    await spend(build(None, config(), store), "team-b")
    metrics = Metrics()
    policy = build(metrics, config(), store)
    await settled(metrics)
    assert gauges(metrics)["team-b"] == pytest.approx((COST, 1 - COST))
    assert gauges(metrics)["team-a"] == (0, 1)
    assert policy.gauges is not None


async def test_a_reload_applies_the_new_limit_at_once() -> None:
    """Before: after a reload raising the limit, the gauges kept the old remaining value (and
    `KeeptrustsBudgetNearlySpent` kept firing) until the tenant's next request settled."""
    metrics, store = Metrics(), memory()
    old = build(metrics, config(limit=0.001), store)
    await spend(old)
    assert gauges(metrics)["team-a"] == pytest.approx((COST, 0.001 - COST))
    new = build(metrics, config(limit=1000), store)
    assert gauges(metrics)["team-a"] == pytest.approx((COST, 1000 - COST))
    await settled(metrics)
    del old  # its last request is done: nothing changes
    await settled(metrics)
    assert gauges(metrics)["team-a"] == pytest.approx((COST, 1000 - COST))
    assert new is not None


async def test_a_reload_drops_the_series_its_config_no_longer_has() -> None:
    metrics, store = Metrics(), memory()
    first = build(metrics, config(), store)
    await spend(first, "team-b")
    second = build(metrics, config(tenants="[]"), store)  # team-b is no longer named
    assert set(gauges(metrics)) == {"team-a"}
    global_only = "pack: {name: g}\npolicies: {chain: [budget]}\npolicy:\n  budget:\n    rules:\n"
    third = build(metrics, global_only + "      - {scope: global, limit_usd: 5}\n", store)
    assert gauges(metrics) == {}
    assert first is not None and second is not None and third is not None


async def test_removing_the_budget_policy_removes_the_series() -> None:
    """Before: the series stayed, with the values of a config no longer served."""
    metrics = Metrics()
    policy = build(metrics, config(limit=0.001), memory())
    await spend(policy)
    assert gauges(metrics)
    del policy  # the old runtime is gone once its last request is done
    gc.collect()
    await settled(metrics)
    assert gauges(metrics) == {}


async def test_a_config_refused_after_its_budget_was_built_gives_the_gauges_back() -> None:
    """Compiling a config builds its budget before its providers: if the reload is then
    refused, the budget that serves on takes the gauges back at its next request."""
    metrics, store = Metrics(), memory()
    live = build(metrics, config(limit=1), store)
    await spend(live)
    refused = build(metrics, config(limit=50, tenants="[]"), store)
    assert set(gauges(metrics)) == {"team-a"}
    del refused
    gc.collect()
    await settled(metrics)
    assert gauges(metrics) == {}
    await spend(live, "team-b")
    await settled(metrics)
    assert gauges(metrics)["team-a"] == pytest.approx((COST, 1 - COST))
    assert gauges(metrics)["team-b"] == pytest.approx((COST, 1 - COST))


async def test_the_servers_swap_hook_decides_alone() -> None:
    """`follow_live_budget` (at each runtime swap) names the owner; a budget built for a
    config not yet swapped in, or still alive after it was swapped out, changes nothing."""
    metrics, store = Metrics(), memory()
    live = build(metrics, config(limit=1), store)
    follow_live_budget(metrics, [live])
    candidate = build(metrics, config(limit=50), store)
    assert gauges(metrics)["team-a"] == (0, 1)
    follow_live_budget(metrics, [SimpleNamespace(), candidate])  # type: ignore[list-item]
    assert gauges(metrics)["team-a"] == (0, 50)
    follow_live_budget(metrics, [])  # a config without the budget policy
    assert gauges(metrics) == {}
    await spend(live)  # a request of the old runtime still in flight
    assert gauges(metrics) == {}


async def test_a_new_day_shows_the_full_limit(clock: Clock) -> None:
    """Before: yesterday's "nearly spent" values stayed until the tenant's next request."""
    metrics = Metrics()
    policy = build(metrics, config(limit=0.001), memory())
    await spend(policy)
    assert gauges(metrics)["team-a"] == pytest.approx((COST, 0.001 - COST))
    clock.now += 120  # 00:01 UTC
    assert gauges(metrics)["team-a"] == (0, 0.001)
    await spend(policy)
    assert gauges(metrics)["team-a"] == pytest.approx((COST, 0.001 - COST))


async def test_a_new_month_shows_the_full_limit(clock: Clock) -> None:
    metrics = Metrics()
    policy = build(metrics, config(limit=1, window="month"), memory())
    await spend(policy)
    clock.now += 30  # still March
    assert gauges(metrics)["team-a"] == pytest.approx((COST, 1 - COST))
    clock.now += 60  # April
    assert gauges(metrics)["team-a"] == (0, 1)


async def test_rolling_spend_is_kept_until_all_of_it_has_left(clock: Clock) -> None:
    metrics = Metrics()
    policy = build(metrics, config(limit=1, window="rolling_24h"), memory())
    await spend(policy)
    clock.now += 23 * 3600  # some of it may have left: an upper bound until the next answer
    assert gauges(metrics)["team-a"] == pytest.approx((COST, 1 - COST))
    clock.now += 3600  # 24 h after the answer: all of it has left
    assert gauges(metrics)["team-a"] == (0, 1)


async def test_the_tightest_rule_of_the_current_windows_is_shown(clock: Clock) -> None:
    clock.now = calendar.timegm((2026, 3, 15, 23, 59, 0))
    metrics = Metrics()
    two = config(limit=0.001) + RULES % (0.0012, "month")
    policy = build(metrics, two, memory())
    await spend(policy)
    assert gauges(metrics)["team-a"] == pytest.approx((COST, 0.001 - COST))
    clock.now += 120  # the day's spend is gone, the month's is not: the month rule is tighter
    assert gauges(metrics)["team-a"] == pytest.approx((COST, 0.0012 - COST))


def test_an_answer_that_arrives_late_does_not_undo_a_newer_one() -> None:
    board = BudgetGauges(Metrics())
    day = 1_800_000_000.0
    board.record("team-a", "day", day, to_nano(0.5))
    board.record("team-a", "day", day, to_nano(0.2))  # read before the 0.5 settled
    assert board.seen["team-a", "day"].spent == to_nano(0.5)
    board.record("team-a", "day", day + 86_400, to_nano(0.1))  # the next day
    assert board.seen["team-a", "day"].spent == to_nano(0.1)
    board.record("team-a", "day", day, to_nano(0.9))  # yesterday's, answered late
    assert board.seen["team-a", "day"].spent == to_nano(0.1)


async def test_replicas_sharing_a_store_each_show_their_latest_view() -> None:
    """The audit's two replicas over one Redis: the freshest view (max spent, min remaining)
    is the real budget; their sum is not."""
    store = memory()
    replicas = [Metrics(), Metrics()]
    policies = [build(m, config(limit=0.01), store) for m in replicas]
    for policy in policies:
        await spend(policy)
        await spend(policy)
    views = [gauges(m)["team-a"] for m in replicas]
    assert views[0] == pytest.approx((2 * COST, 0.01 - 2 * COST))  # as of its last settle
    assert views[1] == pytest.approx((4 * COST, 0.01 - 4 * COST))  # the real budget
    assert max(v[0] for v in views) == pytest.approx(4 * COST)
    assert min(v[1] for v in views) == pytest.approx(0.01 - 4 * COST)
    assert sum(v[1] for v in views) > 0.01  # what the dashboard used to show


async def test_a_refused_request_refreshes_the_view() -> None:
    """A tenant whose budget is spent is refused before dispatch: the refusal still carries
    the window's spend."""
    store = memory()
    spender, watcher = Metrics(), Metrics()
    await spend(build(spender, config(limit=0.001), store))
    other = build(watcher, config(limit=0.001), store)
    for task in BudgetGauges.of(watcher).tasks:  # as if the start-up read had failed
        task.cancel()
    assert gauges(watcher)["team-a"] == (0, 0.001)
    refused = await other.on_request(exchange())
    assert refused.result is Result.BLOCK
    assert gauges(watcher)["team-a"] == pytest.approx((COST, 0.001 - COST))
