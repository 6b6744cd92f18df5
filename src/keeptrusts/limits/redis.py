"""The Redis backend: limits that hold across replicas.

Every check-and-update is one Lua script run by EVALSHA (`redis_scripts.py`): one round
trip, atomic on the server, never read-then-write from Python. For `redis://` and `rediss://`
the calls of a replica share one pipelined connection (`redis_pipeline.py`); Sentinel and
Cluster URLs go through redis-py's pooled client. Keys of one subject share a hash tag so
Redis Cluster works. URLs: `redis://`, `rediss://` (TLS),
`redis+sentinel://host:26379[,host2:26379]/<service>[/db]`, `redis+cluster://host:port`.

A dead Redis must not stall requests: a call waits at most 500 ms for a new connection plus
twice `timeout` (default 200 ms) for its answer (through the pool: up to 1 s more for a free
connection in a burst); redis-py's own retries are off; after a failure calls fail fast for
`retry_interval` (0.5 s), then the next call reconnects. Failures raise `LimitsUnavailable`.

Parallel slots and budget reservations are leases with an expiry (`lease_ttl`, 30 s); a
background task refreshes the leases this replica holds every `lease_ttl / 3`, so a long
stream keeps its slot while a crashed replica's slots expire within `lease_ttl`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from keeptrusts.limits import redis_scripts as lua
from keeptrusts.limits.backend import (
    BudgetResult,
    BudgetState,
    FailMode,
    LimitsUnavailable,
    RateResult,
    RateRule,
    RateState,
)
from keeptrusts.limits.redis_pipeline import PipelinedConnection
from keeptrusts.limits.windows import Window

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

    from keeptrusts.telemetry.metrics import Metrics

log = logging.getLogger("keeptrusts.limits")


#: connections per replica: a bounded pool queues requests instead of opening hundreds of
#: connections at once under a burst (each script runs in well under a millisecond)
POOL_SIZE = 32
#: how long a request may wait for a free pooled connection (a burst, not an outage)
POOL_WAIT = 1.0
CONNECT_TIMEOUT = 0.5


def connect(url: str, timeout: float) -> Any:
    """A redis-py asyncio client for `url`, with short timeouts and no hidden retries."""
    opts: dict[str, Any] = {
        "socket_timeout": timeout,
        # a new connection may take longer than a command on a busy loop; a refused
        # connection fails at once and the fail-fast interval spares the other requests
        "socket_connect_timeout": max(timeout, CONNECT_TIMEOUT),
        # one immediate retry on a broken connection (a pooled connection that Redis closed,
        # e.g. after a restart); none on a timeout, so a dead Redis costs one timeout
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        "health_check_interval": 10,
    }
    scheme = url.split("://", 1)[0]
    if scheme in ("redis+cluster", "rediss+cluster"):
        from redis.asyncio.cluster import RedisCluster

        real = scheme.split("+", 1)[0] + "://" + url.split("://", 1)[1]
        opts.pop("health_check_interval")
        return RedisCluster.from_url(real, **opts)
    if scheme == "redis+sentinel":
        return _sentinel(url, opts)
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=POOL_SIZE, timeout=POOL_WAIT, **opts
    )
    return aioredis.Redis(connection_pool=pool, retry=opts["retry"])


def _sentinel(url: str, opts: dict[str, Any]) -> Any:
    from redis.asyncio.sentinel import Sentinel

    parts = urlsplit(url)
    hosts = []
    for item in parts.netloc.rsplit("@", 1)[-1].split(","):
        host, _, port = item.partition(":")
        hosts.append((host, int(port or 26379)))
    path = [p for p in parts.path.split("/") if p]
    if not path:
        raise ValueError("redis+sentinel:// URL needs the service name: .../<service>[/db]")
    db = int(path[1]) if len(path) > 1 else 0
    sentinel = Sentinel(hosts, socket_timeout=opts["socket_timeout"])  # type: ignore[no-untyped-call]
    return sentinel.master_for(path[0], db=db, password=parts.password, **opts)


class RedisBackend:
    name = "redis"

    def __init__(
        self,
        url: str,
        key_prefix: str = "kt",
        *,
        fail_mode: FailMode = "block",
        metrics: Metrics | None = None,
        timeout: float = 0.2,
        lease_ttl: float = 30.0,
        retry_interval: float = 0.5,
    ) -> None:
        self.fail_mode: FailMode = fail_mode
        self.metrics = metrics
        self.prefix = key_prefix
        self.timeout = timeout
        self.lease_ttl = lease_ttl
        self.retry_interval = retry_interval
        self.client = connect(url, timeout)
        #: the scripts' calls share one pipelined connection (plain redis:// and rediss://)
        self._mux = (
            PipelinedConnection(url, self.client, max(timeout, CONNECT_TIMEOUT))
            if url.split("://", 1)[0] in ("redis", "rediss")
            else None
        )
        self._scripts: dict[str, AsyncScript] = {}
        for name in ("RATE_ACQUIRE", "RATE_RELEASE", "RATE_STATE", "BUDGET_RESERVE"):
            self._scripts[name] = self.client.register_script(getattr(lua, name))
        for name in ("BUDGET_SETTLE", "BUDGET_STATE", "REFRESH"):
            self._scripts[name] = self.client.register_script(getattr(lua, name))
        self._down_until = 0.0
        #: leases this replica holds: (zset key, companion keys...) -> lease ids
        self._held: dict[tuple[str, ...], set[str]] = {}
        self._refresher: asyncio.Task[None] | None = None

    # keys -------------------------------------------------------------------------------

    def _rate_keys(self, key: str) -> list[str]:
        tag = f"{{{self.prefix}:rl:{key}}}"
        return [f"{tag}:w", f"{tag}:p"]

    def _budget_keys(self, key: str) -> list[str]:
        tag = f"{{{self.prefix}:b:{key}}}"
        return [f"{tag}:s", f"{tag}:r", f"{tag}:a", f"{tag}:t", f"{tag}:d"]

    # one round trip -----------------------------------------------------------------------

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        if time.monotonic() < self._down_until:
            raise LimitsUnavailable(self._down_message())
        try:
            if self._mux is not None:
                async with asyncio.timeout(CONNECT_TIMEOUT + self.timeout * 2):
                    return await self._mux.call(self._scripts[script], keys, args)
            async with asyncio.timeout(POOL_WAIT + CONNECT_TIMEOUT + self.timeout * 2):
                return await self._scripts[script](keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            if self._mux is not None and not isinstance(exc, ResponseError):
                self._mux.reset()  # a stalled or broken connection: start a new one
            self._down_until = time.monotonic() + self.retry_interval
            log.warning("limits backend (Redis) unreachable: %s", exc)
            raise LimitsUnavailable(self._down_message()) from exc

    def _down_message(self) -> str:
        return (
            "the rate-limit and budget store (Redis) is unreachable, so limits cannot be "
            "checked and the gateway runs with --fail-mode block; retry shortly"
        )

    # rate limits --------------------------------------------------------------------------

    async def rate_acquire(
        self, key: str, rule: RateRule, tokens: int, lease: str, now: float
    ) -> RateResult:
        keys = self._rate_keys(key)
        args = [
            repr(now),
            rule.requests_per_minute,
            rule.tokens_per_minute,
            tokens,
            rule.max_parallel,
            lease,
            self.lease_ttl,
        ]
        out = await self._run("RATE_ACQUIRE", keys, args)
        refused = int(out[0])
        if not refused and rule.max_parallel:
            self._hold((keys[1],), lease)
        return RateResult(
            refused, float(out[1]), int(out[2]), int(out[3]), int(out[4]), int(out[5])
        )

    async def rate_release(
        self, key: str, lease: str, bucket: int, token_delta: int, request_delta: int, now: float
    ) -> None:
        keys = self._rate_keys(key)
        self._drop((keys[1],), lease)
        args = [repr(now), lease, bucket, token_delta, request_delta]
        await self._run("RATE_RELEASE", keys, args)

    async def rate_state(self, key: str, now: float) -> RateState:
        out = await self._run("RATE_STATE", self._rate_keys(key), [repr(now)])
        return RateState(int(out[0]), int(out[1]), int(out[2]))

    # budgets ------------------------------------------------------------------------------

    async def budget_reserve(
        self, key: str, window: Window, limit: int, amount: int, reservation: str, now: float
    ) -> BudgetResult:
        span = window.span(now)
        keys = self._budget_keys(key)
        args = [repr(now), span.bucket, span.buckets, limit, amount, reservation, self.lease_ttl]
        out = await self._run("BUDGET_RESERVE", keys, args)
        admitted = bool(int(out[0]))
        if admitted:
            self._hold((keys[1], keys[2], keys[3]), reservation)
        return BudgetResult(admitted, int(out[1]), int(out[2]))

    async def budget_settle(
        self, key: str, window: Window, reservation: str, actual: int, now: float
    ) -> BudgetState:
        span = window.span(now)
        keys = self._budget_keys(key)
        self._drop((keys[1], keys[2], keys[3]), reservation)
        args = [repr(now), span.bucket, span.buckets, reservation, actual, span.ttl]
        args.append(self.lease_ttl)
        out = await self._run("BUDGET_SETTLE", keys, args)
        return BudgetState(int(out[0]), int(out[1]))

    async def budget_state(self, key: str, window: Window, now: float) -> BudgetState:
        span = window.span(now)
        args = [repr(now), span.bucket, span.buckets]
        out = await self._run("BUDGET_STATE", self._budget_keys(key), args)
        return BudgetState(int(out[0]), int(out[1]))

    # leases -------------------------------------------------------------------------------

    def _hold(self, keys: tuple[str, ...], lease: str) -> None:
        self._held.setdefault(keys, set()).add(lease)
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.create_task(self._refresh_loop())

    def _drop(self, keys: tuple[str, ...], lease: str) -> None:
        held = self._held.get(keys)
        if held is not None:
            held.discard(lease)
            if not held:
                del self._held[keys]

    async def _refresh_loop(self) -> None:
        while self._held:
            await asyncio.sleep(self.lease_ttl / 3)
            await self.refresh()

    async def refresh(self) -> None:
        """Extend every lease this replica holds (failures wait for the next round)."""
        expiry = repr(time.time() + self.lease_ttl)
        keep = int(self.lease_ttl * 2) + 1
        for keys, leases in list(self._held.items()):
            if not leases:
                continue
            with contextlib.suppress(LimitsUnavailable):
                await self._run("REFRESH", list(keys), [expiry, keep, *leases])

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        if self._mux is not None:
            await self._mux.close()
        with contextlib.suppress(Exception):
            await self.client.aclose()
