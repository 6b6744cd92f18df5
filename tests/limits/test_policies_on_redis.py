"""`budget` and `rate-limit` on the Redis backend: nothing leaks when a request is cancelled."""

from __future__ import annotations

import asyncio

import redis

from keeptrusts.policies.budget import Budget
from keeptrusts.policies.ratelimit import RateLimit
from tests.limits.conftest import BackendFactory
from tests.policies.limits_helpers import build, exchange, used


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
