"""The Redis backend across replicas: atomicity under concurrency, leases, outages."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time

import pytest
import redis

from keeptrusts.limits.backend import (
    RATE_OK,
    RATE_PARALLEL,
    LimitBackend,
    LimitsCallFailed,
    LimitsUnavailable,
    RateRule,
    create_backend,
    to_nano,
)
from keeptrusts.limits.redis import RedisBackend
from keeptrusts.limits.windows import Window
from keeptrusts.telemetry.metrics import Metrics
from tests.limits.conftest import BackendFactory
from tests.limits.redis_server import RedisServer

DAY = Window("day")


def _sync(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True)


async def test_200_concurrent_reservations_from_3_replicas_admit_exactly_n(
    make_redis: BackendFactory, redis_url: str
) -> None:
    replicas = [make_redis(timeout=2.0) for _ in range(3)]  # atomicity, not latency
    n, worst = 37, to_nano(0.0123)
    limit = n * worst

    async def one(i: int) -> tuple[str, bool]:
        b = replicas[i % 3]
        await asyncio.sleep(random.random() * 0.01)
        res = await b.budget_reserve("tenant:day:a", DAY, limit, worst, f"r{i}", time.time())
        return f"r{i}", res.admitted

    results = await asyncio.gather(*(one(i) for i in range(200)))
    admitted = [rid for rid, ok in results if ok]
    assert len(admitted) == n

    # settle: some at a real cost below the worst case, some failed upstream (cost 0)
    async def settle(j: int, rid: str) -> None:
        actual = worst * 3 // 4 if j % 2 else 0
        await replicas[j % 3].budget_settle("tenant:day:a", DAY, rid, actual, time.time())

    await asyncio.gather(*(settle(j, rid) for j, rid in enumerate(admitted)))
    r = _sync(redis_url)
    tag = "{kt:b:tenant:day:a}"
    spent = sum(int(v) for v in r.hgetall(f"{tag}:s").values())
    assert spent == (n // 2) * (worst * 3 // 4) <= limit
    # no leaks: no reservation left, the running total is back to zero
    assert r.zcard(f"{tag}:r") == 0 and r.hlen(f"{tag}:a") == 0
    assert int(r.get(f"{tag}:t") or 0) == 0


async def test_rate_limit_across_3_replicas_is_exact(make_redis: BackendFactory) -> None:
    replicas = [make_redis(timeout=2.0) for _ in range(3)]
    rule = RateRule(requests_per_minute=50, max_parallel=20)
    now = time.time()

    async def one(i: int) -> int:
        res = await replicas[i % 3].rate_acquire("global:*", rule, 0, f"l{i}", now)
        if res.refused == RATE_OK:
            await asyncio.sleep(0.01)
            await replicas[i % 3].rate_release("global:*", f"l{i}", res.bucket, 0, 0, now)
        return res.refused

    refused = await asyncio.gather(*(one(i) for i in range(120)))
    admitted = refused.count(RATE_OK)
    assert admitted <= 50
    # parallel refusals free a request slot, so "admitted" can fall short only by those
    assert admitted + refused.count(RATE_PARALLEL) >= 50
    st = await replicas[0].rate_state("global:*", now)
    assert st.requests == admitted and st.parallel == 0


async def test_keys_share_one_hash_tag_per_subject(
    make_redis: BackendFactory, redis_url: str
) -> None:
    b = make_redis()
    now = time.time()
    await b.rate_acquire("tenant:a", RateRule(10, 100, 2), 5, "l", now)
    await b.budget_reserve("tenant:day:a", DAY, 100, 1, "r", now)
    keys = sorted(_sync(redis_url).keys("*"))
    assert keys == [
        "{kt:b:tenant:day:a}:a",
        "{kt:b:tenant:day:a}:r",
        "{kt:b:tenant:day:a}:t",
        "{kt:rl:tenant:a}:p",
        "{kt:rl:tenant:a}:w",
    ]
    r = _sync(redis_url)
    assert all(r.ttl(k) > 0 for k in keys)  # nothing lives forever


async def test_crashed_replica_leases_expire_and_held_ones_are_refreshed(
    make_redis: BackendFactory,
) -> None:
    crashed, alive = make_redis(lease_ttl=0.6), make_redis(lease_ttl=0.6)
    rule = RateRule(max_parallel=2)
    now = time.time()
    await crashed.rate_acquire("p", rule, 0, "dead", now)
    await alive.rate_acquire("p", rule, 0, "live", now)
    await crashed.budget_reserve("b", DAY, 10, 10, "dead", now)
    await alive.budget_reserve("held", DAY, 10, 4, "live", now)
    assert isinstance(crashed, RedisBackend)
    crashed._held.clear()  # the replica died: nobody refreshes its leases
    await asyncio.sleep(1.0)  # > lease_ttl; `alive` refreshed its lease meanwhile
    now = time.time()
    assert (await alive.rate_state("p", now)).parallel == 1
    assert (await alive.budget_reserve("b", DAY, 10, 10, "new", now)).admitted
    assert (await alive.budget_state("held", DAY, now)).reserved == 4  # a long stream's


async def test_scripts_survive_a_redis_restart(tmp_path_factory: pytest.TempPathFactory) -> None:
    server = RedisServer(tmp_path_factory.mktemp("r")).start()
    b = create_backend("redis", server.url, "kt")
    try:
        await b.budget_reserve("x", DAY, 10, 1, "a", time.time())
        server.restart()  # empty, no scripts loaded: EVALSHA gets NOSCRIPT and reloads
        await asyncio.sleep(0.6)  # past the fail-fast interval if a call failed meanwhile
        assert (await b.budget_reserve("x", DAY, 10, 1, "b", time.time())).admitted
    finally:
        await b.close()
        server.stop()


async def test_redis_killed_mid_run_fails_fast_then_recovers(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = RedisServer(tmp_path_factory.mktemp("r")).start()
    metrics = Metrics()
    b: LimitBackend = create_backend("redis", server.url, "kt", metrics=metrics)
    rule = RateRule(requests_per_minute=1000)
    try:
        assert (await b.rate_acquire("k", rule, 0, "a", time.time())).refused == RATE_OK
        server.kill()
        t0 = time.monotonic()
        for i in range(20):
            with pytest.raises(LimitsUnavailable) as err:
                await b.rate_acquire("k", rule, 0, f"d{i}", time.time())
        assert time.monotonic() - t0 < 1.0  # a dead Redis does not stall requests
        assert err.value.status == 503 and err.value.code == "limits_unavailable"
        server.start()
        deadline = time.monotonic() + 5
        while True:
            try:
                res = await b.rate_acquire("k", rule, 0, "back", time.time())
                break
            except LimitsUnavailable:
                assert time.monotonic() < deadline, "did not reconnect"
                await asyncio.sleep(0.1)
        assert res.refused == RATE_OK
    finally:
        await b.close()
        server.stop()


@pytest.mark.parametrize("calls", [1, 20])
async def test_unreachable_host_times_out_quickly(calls: int) -> None:
    # 192.0.2.0/24 is TEST-NET-1: never routed, so the connect attempt hangs until timeout;
    # concurrent calls queue behind one connect and each still fails within its own deadline
    b = create_backend("redis", "redis://192.0.2.1:6379/0", "kt", timeout=0.1)
    try:
        t0 = time.monotonic()
        out = await asyncio.gather(
            *(b.budget_state(f"x{i}", DAY, time.time()) for i in range(calls)),
            return_exceptions=True,
        )
        assert all(isinstance(o, LimitsUnavailable) for o in out), out
        assert time.monotonic() - t0 < 1.0
    finally:
        await b.close()


async def test_large_amounts_stay_exact(make_redis: BackendFactory) -> None:
    b = make_redis()
    limit = to_nano(5_000_000.0)  # 5e15 nano-dollars: beyond Lua's %.14g printing
    worst = to_nano(1_234_567.891234567)
    now = time.time()
    assert (await b.budget_reserve("big", DAY, limit, worst, "a", now)).admitted
    st = await b.budget_settle("big", DAY, "a", worst, now)
    assert (st.spent, st.reserved) == (worst, 0)


async def test_a_reply_error_fails_that_call_alone(
    make_redis: BackendFactory, redis_url: str
) -> None:
    b = make_redis()
    _sync(redis_url).set("{kt:rl:tenant:evil}:w", "not a hash")  # WRONGTYPE for this subject
    now = time.time()
    with pytest.raises(LimitsCallFailed) as err:
        await b.rate_acquire("tenant:evil", RateRule(10), 1, "x", now)
    assert err.value.status == 500 and not isinstance(err.value, LimitsUnavailable)
    # Redis is not marked down: every other subject goes on at once
    res = await b.rate_acquire("tenant:victim", RateRule(10, 0, 1), 1, "y", now)
    assert res.refused == RATE_OK
    assert (await b.budget_reserve("tenant:day:victim", DAY, 10, 1, "z", now)).admitted


async def test_lease_expiry_uses_redis_clock_not_the_replicas(make_redis: BackendFactory) -> None:
    a, b = make_redis(), make_redis()
    t = time.time()
    ahead = t + 31  # replica b's clock is 31 s ahead (lease_ttl is 30 s)
    assert (await a.budget_reserve("s", DAY, 100, 100, "A", t)).admitted
    assert not (await b.budget_reserve("s", DAY, 100, 100, "B", ahead)).admitted
    rule = RateRule(max_parallel=1)
    assert (await a.rate_acquire("p", rule, 0, "LA", t)).refused == RATE_OK
    assert (await b.rate_acquire("p", rule, 0, "LB", ahead)).refused == RATE_PARALLEL
    assert (await b.rate_state("p", ahead)).parallel == 1


async def test_a_slot_taken_by_a_call_that_ran_after_a_stall_is_freed(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = RedisServer(tmp_path_factory.mktemp("r")).start()
    b = create_backend("redis", server.url, "kt", timeout=0.1)
    rule = RateRule(max_parallel=1)
    assert server.proc is not None
    try:
        assert (await b.rate_acquire("p", rule, 0, "warm", time.time())).refused == RATE_OK
        await b.rate_release("p", "warm", 0, 0, 0, time.time())
        os.kill(server.proc.pid, signal.SIGSTOP)  # Redis stalls: the call times out...
        try:
            with pytest.raises(LimitsUnavailable):
                await b.rate_acquire("p", rule, 0, "ghost", time.time())
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)  # ...and Redis runs it when it resumes
        r = _sync(server.url)
        deadline = time.monotonic() + 3
        while r.zcard("{kt:rl:p}:p"):
            assert time.monotonic() < deadline, "the slot is held by nobody"
            await asyncio.sleep(0.1)
        assert (await b.rate_acquire("p", rule, 0, "next", time.time())).refused == RATE_OK
    finally:
        await b.close()
        server.stop()
