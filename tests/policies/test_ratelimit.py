"""`rate-limit`: per-scope limits, Retry-After, slot release, token correction, report."""

from __future__ import annotations

import pytest

from keeptrusts.errors import RateLimited
from keeptrusts.limits.backend import create_backend
from keeptrusts.limits.report import limits_report
from keeptrusts.pipeline.verdict import Result
from keeptrusts.policies.ratelimit import RateLimit
from tests.policies.limits_helpers import build, exchange, used


def ratelimit(rules: str) -> RateLimit:
    policy = build("rate-limit", f"rules: {rules}", create_backend("memory", None, "kt"))
    assert isinstance(policy, RateLimit)
    return policy


async def test_requests_per_minute_per_tenant() -> None:
    p = ratelimit("[{scope: tenant, requests_per_minute: 2}]")
    for _ in range(2):
        assert (await p.on_request(exchange())).result is Result.ALLOW
    d = await p.on_request(exchange())
    assert d.result is Result.BLOCK and d.reason_code == "rate_limit.requests_per_minute"
    assert isinstance(d.error, RateLimited)
    assert d.error.code == "rate_limited" and d.error.status == 429
    assert int(d.error.headers["Retry-After"]) >= 59
    assert (await p.on_request(exchange(tenant="team-b"))).result is Result.ALLOW


async def test_max_parallel_released_on_complete() -> None:
    p = ratelimit("[{scope: global, max_parallel: 1}]")
    a = exchange()
    assert (await p.on_request(a)).result is Result.ALLOW
    d = await p.on_request(exchange(tenant="other"))
    assert d.result is Result.BLOCK and d.reason_code == "rate_limit.max_parallel"
    await p.on_complete(a)
    assert (await p.on_request(exchange())).result is Result.ALLOW


async def test_tokens_per_minute_corrected_to_real_usage() -> None:
    # 400 chars -> 104 prompt tokens estimated, + max_tokens 1000 = 1104 counted
    p = ratelimit("[{scope: model, tokens_per_minute: 2000}]")
    a = exchange()
    assert (await p.on_request(a)).result is Result.ALLOW
    d = await p.on_request(exchange())
    assert d.reason_code == "rate_limit.tokens_per_minute"
    used(a, 100, 50)
    await p.on_complete(a)
    assert (await p.on_request(exchange())).result is Result.ALLOW


async def test_a_refusal_by_one_rule_is_not_counted_by_the_others() -> None:
    p = ratelimit(
        "[{scope: tenant, requests_per_minute: 1}, {scope: global, requests_per_minute: 10}]"
    )
    assert (await p.on_request(exchange())).result is Result.ALLOW
    for _ in range(5):
        assert (await p.on_request(exchange())).result is Result.BLOCK
    report = await limits_report([p], "team-a")
    entries = {e["scope"]: e for e in report["limits"]}  # type: ignore[attr-defined]
    assert entries["global"]["requests_last_minute"] == 1
    assert entries["tenant"]["requests_last_minute"] == 1


async def test_api_key_rule_skips_requests_without_a_key() -> None:
    p = ratelimit("[{scope: api_key, requests_per_minute: 1}]")
    for _ in range(3):
        assert (await p.on_request(exchange())).result is Result.ALLOW
    assert (await p.on_request(exchange(api_key_id="k1"))).result is Result.ALLOW
    assert (await p.on_request(exchange(api_key_id="k1"))).result is Result.BLOCK


def test_invalid_rules_name_the_problem() -> None:
    from keeptrusts.config.load import ConfigError

    with pytest.raises(ConfigError, match="scope"):
        ratelimit("[{scope: user, requests_per_minute: 1}]")
