"""The pipelined connection: concurrent calls share one connection, each gets its own answer."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
import redis
from redis.exceptions import ResponseError

from keeptrusts.limits.backend import LimitBackend, LimitsUnavailable, RateRule, create_backend
from keeptrusts.limits.redis import RedisBackend
from tests.limits.conftest import BackendFactory
from tests.limits.redis_server import RedisServer


async def test_concurrent_calls_share_one_connection_with_exact_answers(
    make_redis: BackendFactory, redis_url: str
) -> None:
    b = make_redis()
    probe = redis.Redis.from_url(redis_url)
    rule = RateRule(requests_per_minute=25, tokens_per_minute=0, max_parallel=0)
    now = time.time()
    await b.rate_acquire("warm", rule, 1, "w", now)  # opens the connection, loads the script
    before = probe.info("stats")["total_connections_received"]
    results = await asyncio.gather(
        *(b.rate_acquire("tenant:t", rule, 1, f"l{i}", now) for i in range(40))
    )
    assert sum(1 for r in results if not r.refused) == 25
    # through redis-py's pool, 40 concurrent calls would have opened up to 32 connections
    assert probe.info("stats")["total_connections_received"] == before


async def _warm(make_redis: BackendFactory) -> tuple[LimitBackend, float]:
    b = make_redis()
    now = time.time()
    await b.rate_state("warm", now)
    return b, now


async def test_after_script_flush_concurrent_calls_reload_it_and_stay_exact(
    make_redis: BackendFactory, redis_url: str
) -> None:
    b, now = await _warm(make_redis)
    redis.Redis.from_url(redis_url).script_flush()
    rule = RateRule(requests_per_minute=10, tokens_per_minute=0, max_parallel=0)
    results = await asyncio.gather(
        *(b.rate_acquire("tenant:f", rule, 1, f"l{i}", now) for i in range(12))
    )
    assert sum(1 for r in results if not r.refused) == 10


async def test_a_failing_call_fails_alone(make_redis: BackendFactory) -> None:
    b = make_redis()
    assert isinstance(b, RedisBackend) and b._mux is not None
    now = time.time()
    keys = b._rate_keys("tenant:e")
    bad = b._mux.call(b._scripts["RATE_STATE"], keys, ["not-a-number"])
    good = b.rate_state("tenant:e", now)
    out = await asyncio.gather(bad, good, return_exceptions=True)
    assert isinstance(out[0], ResponseError)
    assert not isinstance(out[1], BaseException) and out[1].requests == 0


@pytest.mark.parametrize("calls", [1, 64])
async def test_a_caller_that_gives_up_leaves_the_others_answered(
    make_redis: BackendFactory, calls: int
) -> None:
    b, now = await _warm(make_redis)
    tasks = [asyncio.create_task(b.rate_state(f"k{i}", now)) for i in range(calls + 1)]
    await asyncio.sleep(0)
    tasks[0].cancel()
    done = await asyncio.gather(*tasks[1:])
    assert all(s.requests == 0 for s in done)
    assert tasks[0].cancelled()


async def test_a_stalled_redis_fails_calls_in_time_and_a_new_connection_recovers(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    server = RedisServer(tmp_path_factory.mktemp("stall")).start()
    b = create_backend("redis", server.url, "kt", timeout=0.1)
    assert server.proc is not None
    try:
        now = time.time()
        await b.rate_state("x", now)
        server.proc.send_signal(signal.SIGSTOP)  # alive, connected, answering nothing
        t0 = time.monotonic()
        out = await asyncio.gather(
            *(b.rate_state(f"k{i}", now) for i in range(8)), return_exceptions=True
        )
        assert all(isinstance(o, LimitsUnavailable) for o in out)
        assert time.monotonic() - t0 < 1.5
        server.proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.6)  # past the fail-fast interval
        assert (await b.rate_state("x", time.time())).requests == 0
    finally:
        server.proc.send_signal(signal.SIGCONT)
        await b.close()
        server.stop()
