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
A reply error that concerns one call (a script error, e.g. a key of the wrong type) fails that
call alone with `LimitsCallFailed`: Redis answered, so it is not marked down.

Parallel slots and budget reservations are leases with an expiry (`lease_ttl`, 30 s); a
background task refreshes the leases this replica holds every `lease_ttl / 3`, so a long
stream keeps its slot while a crashed replica's slots expire within `lease_ttl`. Expiry is
reckoned on Redis's clock (`TIME` in the scripts), never a replica's.

What could not be undone while Redis was unreachable is sent again by `redis_retry.Retries`
until it lands or its lease would have expired anyway (`lease_ttl` x 0.8): a settlement, and
the release of a parallel slot (a finished request's, and that of an acquire that failed after
it was sent: Redis may still run a queued script after a stall).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError, ResponseError

from keeptrusts.limits import redis_scripts as lua
from keeptrusts.limits.backend import (
    BudgetResult,
    BudgetState,
    FailMode,
    LimitsCallFailed,
    LimitsError,
    LimitsUnavailable,
    RateResult,
    RateRule,
    RateState,
)
from keeptrusts.limits.redis_connect import (
    CONNECT_TIMEOUT,
    POOL_WAIT,
    connect,
    store_wide,
)
from keeptrusts.limits.redis_pipeline import PipelinedConnection
from keeptrusts.limits.redis_retry import Retries
from keeptrusts.limits.windows import Window

if TYPE_CHECKING:
    from redis.commands.core import AsyncScript

    from keeptrusts.telemetry.metrics import Metrics

log = logging.getLogger("keeptrusts.limits")


_CALL_FAILED = (
    "the rate-limit and budget store (Redis) refused this request's update (the gateway's log "
    "has the reply); other requests are not affected; retry, or report it with the request id"
)


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
        self._failing_since: float | None = None
        #: leases this replica holds: (zset key, companion keys...) -> lease ids
        self._held: dict[tuple[str, ...], set[str]] = {}
        self._refresher: asyncio.Task[None] | None = None
        self.retries = Retries(self._run, self._down, retry_interval)

    # keys -------------------------------------------------------------------------------

    def _rate_keys(self, key: str) -> list[str]:
        tag = f"{{{self.prefix}:rl:{key}}}"
        return [f"{tag}:w", f"{tag}:p"]

    def _budget_keys(self, key: str) -> list[str]:
        tag = f"{{{self.prefix}:b:{key}}}"
        return [f"{tag}:s", f"{tag}:r", f"{tag}:a", f"{tag}:t", f"{tag}:d"]

    # one round trip -----------------------------------------------------------------------

    async def _run(self, script: str, keys: list[str], args: list[Any]) -> Any:
        if self._down():
            raise LimitsUnavailable(self._down_message())
        try:
            if self._mux is not None:
                async with asyncio.timeout(CONNECT_TIMEOUT + self.timeout * 2):
                    reply = await self._mux.call(self._scripts[script], keys, args)
            else:
                async with asyncio.timeout(POOL_WAIT + CONNECT_TIMEOUT + self.timeout * 2):
                    reply = await self._scripts[script](keys=keys, args=args)
        except (RedisError, OSError, TimeoutError) as exc:
            if not store_wide(exc):
                self._failing_since = None  # Redis answered: it is up
                log.warning("limits backend (Redis) refused one %s call: %s", script, exc)
                raise LimitsCallFailed(_CALL_FAILED) from exc
            if self._mux is not None and not isinstance(exc, ResponseError):
                self._mux.reset()  # a stalled or broken connection: start a new one
            self._down_until = time.monotonic() + self.retry_interval
            if self._failing_since is None:
                self._failing_since = time.monotonic()
            log.warning("limits backend (Redis) unreachable: %s", exc)
            raise LimitsUnavailable(self._down_message()) from exc
        self._failing_since = None
        return reply

    @property
    def failing_since(self) -> float | None:
        """`time.monotonic()` of the first call that found Redis unreachable since it last
        answered; None while the last call was answered (for /health)."""
        return self._failing_since

    def _down(self) -> bool:
        """Failing fast: a call now would not be sent."""
        return time.monotonic() < self._down_until

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
        sent, t0 = not self._down(), time.monotonic()
        try:
            out = await self._run("RATE_ACQUIRE", keys, args)
        except LimitsUnavailable:
            if sent and rule.max_parallel:  # it may still run: free the slot it would take
                self._retry_later("RATE_RELEASE", keys, [repr(now), lease, 0, 0, 0], lease, t0)
            raise
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
        t0 = time.monotonic()
        try:
            await self._run("RATE_RELEASE", keys, args)
        except LimitsUnavailable:
            # only the slot is retried: a token correction applied twice would be wrong
            self._retry_later("RATE_RELEASE", keys, [repr(now), lease, 0, 0, 0], lease, t0)
            raise

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
            return BudgetResult(True, int(out[1]), int(out[2]))
        frees = int(out[3])
        wait = 1.0 if frees < 0 else window.leaves_at(frees) - now
        return BudgetResult(False, int(out[1]), int(out[2]), max(1.0, wait))

    async def budget_settle(
        self, key: str, window: Window, reservation: str, actual: int, now: float
    ) -> BudgetState:
        span = window.span(now)
        keys = self._budget_keys(key)
        self._drop((keys[1], keys[2], keys[3]), reservation)
        args = [repr(now), span.bucket, span.buckets, reservation, actual, span.ttl]
        args.append(self.lease_ttl)
        t0 = time.monotonic()
        try:
            out = await self._run("BUDGET_SETTLE", keys, args)
        except LimitsUnavailable:
            self._retry_later("BUDGET_SETTLE", keys, args, reservation, t0)
            raise
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
        keep = int(self.lease_ttl * 2) + 1
        for keys, leases in list(self._held.items()):
            if not leases:
                continue
            with contextlib.suppress(LimitsError):
                await self._run("REFRESH", list(keys), [self.lease_ttl, keep, *leases])

    def _retry_later(
        self, script: str, keys: list[str], args: list[Any], lease: str, sent_at: float
    ) -> None:
        """Send this call again once Redis answers, while the lease (and with it the record
        that makes the call idempotent) still lasts."""
        self.retries.add(script, keys, args, lease, sent_at + self.lease_ttl * 0.8)

    async def close(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        await self.retries.close()
        if self._mux is not None:
            await self._mux.close()
        with contextlib.suppress(Exception):
            await self.client.aclose()
