"""`budget` and `rate-limit` on the Redis backend: nothing leaks when a request is cancelled."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
import redis

from keeptrusts.limits.backend import LimitsUnavailable, create_backend
from keeptrusts.pipeline.verdict import Result
from keeptrusts.policies.budget import Budget
from keeptrusts.policies.ratelimit import RateLimit
from tests.limits.conftest import BackendFactory
from tests.limits.redis_server import RedisServer
from tests.policies.limits_helpers import build, exchange, used

TAG = "{kt:b:tenant:day:team-a}"


async def test_cancelled_checks_release_everything_on_complete(
    make_redis: BackendFactory, redis_url: str
) -> None:
    backend = make_redis(timeout=2.0)
    budget = build("budget", "rules: [{scope: tenant, limit_usd: 1}]", backend)
    rate = build("rate-limit", "rules: [{scope: tenant, max_parallel: 2}]", backend)
    assert isinstance(budget, Budget) and isinstance(rate, RateLimit)
    exs = [exchange() for _ in range(40)]
    tasks = [asyncio.create_task(p.on_request(ex)) for ex in exs for p in (rate, budget)]
    await asyncio.sleep(0.002)
    for t in tasks[::3]:
        t.cancel()  # clients that went away while their checks were in flight
    await asyncio.gather(*tasks, return_exceptions=True)
    for ex in exs:  # the handler always runs on_complete
        await rate.on_complete(ex)
        await budget.on_complete(ex)
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    assert r.zcard("{kt:rl:tenant:team-a}:p") == 0
    assert r.zcard("{kt:b:tenant:day:team-a}:r") == 0
    assert int(r.get("{kt:b:tenant:day:team-a}:t") or 0) == 0


async def test_a_settle_is_counted_once_per_request(
    make_redis: BackendFactory, redis_url: str
) -> None:
    backend = make_redis()
    budget = build("budget", "rules: [{scope: tenant, limit_usd: 1}]", backend)
    ex = exchange()
    await budget.on_request(ex)
    used(ex, 1000, 0)
    await budget.on_complete(ex)
    await budget.on_complete(ex)  # a second call is a no-op
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    assert sum(int(v) for v in r.hgetall("{kt:b:tenant:day:team-a}:s").values()) == 150_000


async def test_huge_output_caps_do_not_break_limits_for_other_tenants(
    make_redis: BackendFactory,
) -> None:
    backend = make_redis()
    rate = build("rate-limit", "rules: [{scope: tenant, requests_per_minute: 1000}]", backend)
    budget = build("budget", "rules: [{scope: tenant, limit_usd: 0.01}]", backend)
    absurd = exchange(tenant="evil", max_tokens=2**63 - 1)
    for p in (rate, budget):
        d = await p.on_request(absurd)
        assert d.result is Result.BLOCK and d.error is not None and d.error.status == 400
    big = exchange(tenant="evil", max_tokens=2**31 - 1)
    big.body["n"] = 2**62  # counted, and reserved, at a bounded amount
    assert (await rate.on_request(big)).result is Result.ALLOW
    refused = await budget.on_request(big)
    assert refused.error is not None and refused.error.code == "budget_exceeded"
    for p in (rate, budget):  # the store is not marked down for anyone
        assert (await p.on_request(exchange(tenant="victim"))).result is Result.ALLOW


async def test_a_reservation_that_lands_after_a_stall_is_dropped(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = RedisServer(tmp_path_factory.mktemp("r")).start()
    backend = create_backend("redis", server.url, "kt", timeout=0.1)
    budget = build("budget", "rules: [{scope: tenant, limit_usd: 1}]", backend)
    assert server.proc is not None
    try:
        warm = exchange()  # loads the scripts: a stalled call then runs when Redis resumes
        assert (await budget.on_request(warm)).result is Result.ALLOW
        await budget.on_complete(warm)
        ex = exchange()
        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            with pytest.raises(LimitsUnavailable):  # --fail-mode block: 503
                await budget.on_request(ex)
            await budget.on_complete(ex)
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)  # Redis runs the queued reservation
        r = redis.Redis.from_url(server.url, decode_responses=True)
        deadline = time.monotonic() + 3
        while r.zcard(f"{TAG}:r") or int(r.get(f"{TAG}:t") or 0):
            assert time.monotonic() < deadline, "a reservation is held by nobody"
            await asyncio.sleep(0.1)
    finally:
        await backend.close()
        server.stop()


async def test_fail_mode_allow_keeps_the_reservations_that_were_made(
    redis_server: RedisServer, redis_url: str
) -> None:
    # a user that may touch the day budget's keys only: every call for the month rule fails
    admin = redis.Redis.from_url(redis_url)
    admin.acl_setuser(
        "daily", enabled=True, passwords=["+pw"], keys=["{kt:b:tenant:day:*"], commands=["+@all"]
    )
    url = f"redis://daily:pw@127.0.0.1:{redis_server.port}/0"
    backend = create_backend("redis", url, "kt", fail_mode="allow")
    rules = (
        "rules: [{scope: tenant, limit_usd: 10, window: day},"
        " {scope: tenant, limit_usd: 100, window: month}]"
    )
    budget = build("budget", rules, backend)
    try:
        ex = exchange()
        d = await budget.on_request(ex)
        assert d.result is Result.ALLOW and d.reason_code == "limits.backend_unavailable"
        r = redis.Redis.from_url(redis_url, decode_responses=True)
        assert r.zcard(f"{TAG}:r") == 1  # the day reservation is kept for completion
        used(ex, 1000, 1000)  # $0.00075 at gpt-4o-mini's price
        await budget.on_complete(ex)
        deadline = time.monotonic() + 3
        while sum(int(v) for v in r.hgetall(f"{TAG}:s").values()) != 750_000:
            assert time.monotonic() < deadline, "the day's spend was lost"
            await asyncio.sleep(0.1)
        assert r.zcard(f"{TAG}:r") == 0 and int(r.get(f"{TAG}:t") or 0) == 0
    finally:
        await backend.close()
        admin.acl_deluser("daily")


async def test_a_token_count_takes_one_request_and_nothing_else(
    make_redis: BackendFactory, redis_url: str
) -> None:
    backend = make_redis()
    rules = "[{scope: tenant, requests_per_minute: 1, tokens_per_minute: 100, max_parallel: 1}]"
    rate = build("rate-limit", f"rules: {rules}", backend)
    assert (await rate.on_count(exchange())).result is Result.ALLOW
    assert (await rate.on_count(exchange())).reason_code == "rate_limit.requests_per_minute"
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    window = r.hgetall("{kt:rl:tenant:team-a}:w")
    assert [k for k in window if k.startswith("t:")] == []
    assert sum(int(v) for k, v in window.items() if k.startswith("r:")) == 1
    assert r.zcard("{kt:rl:tenant:team-a}:p") == 0
