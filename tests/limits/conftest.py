"""Fixtures: a real redis-server per module, flushed before each test; backend factories."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
import redis

from keeptrusts.limits.backend import LimitBackend, create_backend
from tests.limits.redis_server import RedisServer


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(Path(tmp_path_factory.mktemp("redis"))).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    redis.Redis.from_url(redis_server.url).flushall()
    return redis_server.url


BackendFactory = Callable[..., LimitBackend]


@pytest_asyncio.fixture(loop_scope="function")
async def make_redis(redis_url: str) -> AsyncIterator[BackendFactory]:
    """New Redis backends ("replicas"), each with its own connection pool."""
    made: list[LimitBackend] = []

    def make(**kw: object) -> LimitBackend:
        b = create_backend("redis", redis_url, "kt", **kw)  # type: ignore[arg-type]
        made.append(b)
        return b

    yield make
    for b in made:
        await b.close()


@pytest_asyncio.fixture(params=["memory", "redis"], loop_scope="function")
async def backend(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[LimitBackend]:
    """The same semantics tests run on both backends."""
    b = create_backend(request.param, redis_url, "kt")
    yield b
    await b.close()
