"""`rate-limit`: per-scope limits, Retry-After, slot release, token correction, report."""

from __future__ import annotations

import time

import pytest

from keeptrusts.errors import RateLimited, ValidationFailed
from keeptrusts.limits.backend import create_backend
from keeptrusts.limits.report import limits_report
from keeptrusts.pipeline.verdict import Result
from keeptrusts.policies.ratelimit import RateLimit
from tests.policies.limits_helpers import LISTED_KEY, build, exchange, used


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


async def test_api_key_rule_cannot_be_escaped_by_new_or_missing_keys() -> None:
    p = ratelimit("[{scope: api_key, requests_per_minute: 2}]")
    # keys the config does not list share one subject: a fresh key per request is no escape
    fresh = [f"sha256:{i:064x}" for i in range(3)]
    results = [(await p.on_request(exchange(api_key_id=k))).result for k in fresh]
    assert results == [Result.ALLOW, Result.ALLOW, Result.BLOCK]
    # requests without a key share another
    results = [(await p.on_request(exchange())).result for _ in range(3)]
    assert results == [Result.ALLOW, Result.ALLOW, Result.BLOCK]
    # a listed key is counted alone
    assert (await p.on_request(exchange(api_key_id=LISTED_KEY))).result is Result.ALLOW
    report = await p.backend.rate_state("api_key:unknown", time.time())
    assert report.requests == 2


async def test_tokens_count_every_choice() -> None:
    # 104 prompt tokens + 10 choices x 100 = 1104 tokens
    p = ratelimit("[{scope: tenant, tokens_per_minute: 2000}]")
    ex = exchange(max_tokens=100)
    ex.body["n"] = 10
    assert p.tokens(ex) == 1104
    assert (await p.on_request(ex)).result is Result.ALLOW
    again = exchange(max_tokens=100)
    again.body["n"] = 10
    assert (await p.on_request(again)).reason_code == "rate_limit.tokens_per_minute"


async def test_an_absurd_max_tokens_is_a_400_naming_the_field() -> None:
    p = ratelimit("[{scope: tenant, requests_per_minute: 10}]")
    ex = exchange(max_tokens=None)
    ex.body["max_completion_tokens"] = 2**63 - 1
    d = await p.on_request(ex)
    assert d.result is Result.BLOCK and isinstance(d.error, ValidationFailed)
    assert d.error.status == 400 and "'max_completion_tokens'" in d.error.message
    st = await p.backend.rate_state("tenant:team-a", time.time())
    assert st.requests == 0  # not counted


def test_invalid_rules_name_the_problem() -> None:
    from keeptrusts.config.load import ConfigError

    with pytest.raises(ConfigError, match="scope"):
        ratelimit("[{scope: user, requests_per_minute: 1}]")


async def test_a_request_over_the_whole_tokens_per_minute_says_it_can_never_fit() -> None:
    d = await ratelimit("[{scope: tenant, tokens_per_minute: 1000}]").on_request(exchange())
    assert d.result is Result.BLOCK and isinstance(d.error, RateLimited)
    assert "counts 1104 tokens" in d.error.message and "cannot run until" in d.error.message


async def test_a_token_count_is_a_request_without_tokens_or_a_slot() -> None:
    p = ratelimit(
        "[{scope: tenant, requests_per_minute: 2, tokens_per_minute: 2000, max_parallel: 1}]"
    )
    assert (await p.on_request(exchange())).result is Result.ALLOW  # holds the one slot
    assert (await p.on_count(exchange())).result is Result.ALLOW
    d = await p.on_count(exchange())
    assert d.reason_code == "rate_limit.requests_per_minute"
    assert isinstance(d.error, RateLimited) and int(d.error.headers["Retry-After"]) >= 1
    report = await limits_report([p], "team-a")
    [entry] = report["limits"]  # type: ignore[misc]
    assert (entry["requests_last_minute"], entry["tokens_last_minute"]) == (2, 1104)
    assert entry["in_flight"] == 1
