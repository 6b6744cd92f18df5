"""`budget`: worst-case reservation, settlement, refusal, fail modes, report and metrics."""

from __future__ import annotations

import asyncio

import pytest

from keeptrusts.errors import RateLimited
from keeptrusts.limits.backend import LimitsUnavailable, create_backend
from keeptrusts.limits.report import limits_report
from keeptrusts.pipeline.verdict import Result
from keeptrusts.policies.budget import Budget
from keeptrusts.telemetry.metrics import Metrics
from tests.policies.limits_helpers import build, exchange, used

# gpt-4o-mini: $0.15 / $0.60 per million. 400 chars -> 100 tokens + 4 framing = 104 tokens.
# Worst case with max_tokens 1000: 104 * 0.15e-6 + 1000 * 0.6e-6 = $0.0006156
WORST = 104 * 0.15e-6 + 1000 * 0.6e-6


def budget(limit: float, window: str = "day", backend: object = None, **kw: object) -> Budget:
    b = backend or create_backend("memory", None, "kt")
    rule = f"rules: [{{scope: tenant, limit_usd: {limit}, window: {window}}}]"
    policy = build("budget", rule, b, **kw)  # type: ignore[arg-type]
    assert isinstance(policy, Budget)
    return policy


async def test_worst_case_uses_prompt_estimate_and_max_tokens() -> None:
    p = budget(1)
    assert p.worst_case(exchange(), p.settings.rules[0]) == pytest.approx(WORST)
    default = exchange(max_tokens=None)  # default_max_tokens: 4096
    expected = 104 * 0.15e-6 + 4096 * 0.6e-6
    assert p.worst_case(default, p.settings.rules[0]) == pytest.approx(expected)


async def test_admits_exactly_n_concurrent_worst_cases_then_refuses() -> None:
    p = budget(WORST * 5)
    exs = [exchange() for _ in range(8)]
    decisions = await asyncio.gather(*(p.on_request(ex) for ex in exs))
    assert [d.result for d in decisions].count(Result.ALLOW) == 5
    refused = next(d for d in decisions if d.result is Result.BLOCK)
    assert isinstance(refused.error, RateLimited)
    assert refused.error.code == "budget_exceeded" and refused.error.status == 429
    assert refused.error.policy == "budget" and "Retry-After" in refused.error.headers
    assert "lower max_tokens" in refused.error.message


async def test_settles_real_cost_and_releases_the_rest() -> None:
    p = budget(WORST * 2)
    a, b = exchange(), exchange()
    assert (await p.on_request(a)).result is Result.ALLOW
    assert (await p.on_request(b)).result is Result.ALLOW
    assert (await p.on_request(exchange())).result is Result.BLOCK
    used(a, 100, 10)  # cost far below the worst case
    await p.on_complete(a)
    await p.on_complete(b)  # upstream failure: no usage, nothing spent
    event = a.scratch["budget"].as_event()
    assert event["settled_usd"] == pytest.approx(100 * 0.15e-6 + 10 * 0.6e-6)
    assert event["spent_usd"] == pytest.approx(event["settled_usd"])
    assert event["window"] == "day" and event["limit_usd"] == pytest.approx(WORST * 2)
    assert (await p.on_request(exchange())).result is Result.ALLOW


async def test_on_complete_without_request_is_a_no_op() -> None:
    p = budget(1)
    await p.on_complete(exchange())  # blocked before this policy ran


async def test_unpriced_model_costs_nothing() -> None:
    p = budget(0.000001)
    ex = exchange(model="my-local-llama")
    assert (await p.on_request(ex)).result is Result.ALLOW


async def test_report_and_metrics() -> None:
    metrics = Metrics()
    p = budget(1, metrics=metrics)
    ex = exchange()
    await p.on_request(ex)
    used(ex, 1000, 1000)
    await p.on_complete(ex)
    report = await limits_report([p], "team-a")
    entries = report["limits"]
    assert isinstance(entries, list) and len(entries) == 1
    entry = entries[0]
    assert entry["spent_usd"] == pytest.approx(0.00075)
    assert entry["remaining_usd"] == pytest.approx(1 - 0.00075)
    assert entry["reserved_usd"] == 0 and entry["window"] == "day"
    spent = metrics.registry.get_sample_value("keeptrusts_budget_spent_usd", {"tenant": "team-a"})
    assert spent == pytest.approx(0.00075)


@pytest.mark.parametrize("mode", ["block", "allow"])
async def test_unreachable_backend_follows_fail_mode(mode: str) -> None:
    metrics = Metrics()
    dead = create_backend("redis", "redis://127.0.0.1:1/0", "kt", fail_mode=mode, metrics=metrics)
    try:
        p = budget(1, backend=dead)
        ex = exchange()
        if mode == "block":
            with pytest.raises(LimitsUnavailable) as err:
                await p.on_request(ex)
            assert err.value.status == 503 and err.value.policy == "budget"
        else:
            d = await p.on_request(ex)
            assert d.result is Result.ALLOW and d.reason_code == "limits.backend_unavailable"
            used(ex, 10, 10)
            await p.on_complete(ex)  # never raises
        value = metrics.registry.get_sample_value(
            "keeptrusts_limits_backend_fallbacks_total", {"mode": mode}
        )
        assert value == 1
    finally:
        await dead.close()


def test_duplicate_rules_are_refused() -> None:
    from keeptrusts.config.load import ConfigError

    with pytest.raises(ConfigError, match="two rules"):
        build(
            "budget",
            "rules: [{scope: tenant, limit_usd: 1}, {scope: tenant, limit_usd: 2}]",
            create_backend("memory", None, "kt"),
        )
