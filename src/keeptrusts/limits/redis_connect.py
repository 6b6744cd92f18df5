"""Connecting to Redis for the limits backend: redis-py clients for plain, TLS, Sentinel and
Cluster URLs with short timeouts and no hidden retries, and which reply errors mean the store
cannot serve anyone (it is then treated as down) rather than one call's fault."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import (
    ClusterDownError,
    NoPermissionError,
    OutOfMemoryError,
    ReadOnlyError,
    RedisError,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError

#: connections per replica: a bounded pool queues requests instead of opening hundreds of
#: connections at once under a burst (each script runs in well under a millisecond)
POOL_SIZE = 32
#: how long a request may wait for a free pooled connection (a burst, not an outage)
POOL_WAIT = 1.0
CONNECT_TIMEOUT = 0.5
#: reply errors that say Redis cannot serve anyone now (not one call's fault): Redis is down
STORE_WIDE = (ReadOnlyError, OutOfMemoryError, ClusterDownError, TryAgainError, NoPermissionError)
STORE_WIDE_CODES = ("BUSY", "MASTERDOWN", "MISCONF", "NOREPLICAS", "CLUSTERDOWN", "LOADING")


def store_wide(exc: RedisError | OSError | TimeoutError) -> bool:
    """True unless `exc` is a reply error about this one call (e.g. a script error)."""
    if not isinstance(exc, ResponseError) or isinstance(exc, STORE_WIDE):
        return True
    return str(exc).startswith(STORE_WIDE_CODES)


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
