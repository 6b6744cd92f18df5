"""One pipelined connection for the limits scripts: many calls in flight, answers in order.

Sent through redis-py's client one by one, each `EVALSHA` takes a connection from the pool,
arms a write timer and a read timer and runs redis-py's per-command bookkeeping: about
250 µs of CPU per call, twice per request with a rate limit. Here the calls of a replica
share one dedicated connection: a call writes its command at once and waits for its
answer; one reader task reads the answers as they come back (Redis answers in the order it
received the commands) and hands each to the next waiting call. Every script still runs
atomically on the server and every call still costs one network round trip.

Rules that keep the order right: a call queues its waiter and writes its command in one
step, with no `await` in between; the reader matches answers to waiters first in, first
out. A broken connection (Redis gone, a reply that matches no waiter, a caller that gave up
waiting) fails every waiter at once and is reopened by the next call. A script Redis does
not know (`NOSCRIPT`, e.g. after a restart) is loaded and the call sent again once.

Used for `redis://` and `rediss://`; Sentinel and Cluster URLs keep redis-py's client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

if TYPE_CHECKING:
    from redis.asyncio.connection import AbstractConnection
    from redis.commands.core import AsyncScript


class PipelinedConnection:
    def __init__(self, url: str, client: aioredis.Redis, connect_timeout: float) -> None:
        #: a pool used only to build the one connection (URL parsing, TLS, auth, db);
        #: no read or write timers on it: callers bound their own wait
        self._pool = aioredis.ConnectionPool.from_url(
            url,
            max_connections=1,
            socket_timeout=None,
            socket_connect_timeout=connect_timeout,
            health_check_interval=0,
        )
        self.client = client  # for SCRIPT LOAD
        self._conn: AbstractConnection | None = None
        self._opening: asyncio.Lock | None = None
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._reader: asyncio.Task[None] | None = None

    async def call(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        """Run `script`; its answer, or the error Redis or the connection gave."""
        try:
            return await self._send(script.sha, keys, args)
        except NoScriptError:
            await self.client.script_load(script.script)
            return await self._send(script.sha, keys, args)

    async def _send(self, sha: str, keys: list[str], args: list[Any]) -> Any:
        conn = self._conn if self._conn is not None else await self._open()
        packed = conn.pack_command("EVALSHA", sha, len(keys), *keys, *args)
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            # writes synchronously, then waits for the socket buffer to drain
            await conn.send_packed_command(packed, check_health=False)
        except BaseException:
            waiter.cancel()
            self.reset()
            raise
        return await waiter

    async def _open(self) -> AbstractConnection:
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:  # one connect at a time; each call is bounded by its deadline
            if self._conn is None:
                conn = self._pool.make_connection()  # type: ignore[no-untyped-call]
                await conn.connect()
                self._reader = asyncio.create_task(self._read(conn))
                self._conn = conn
            return self._conn

    async def _read(self, conn: AbstractConnection) -> None:
        try:
            while True:
                try:
                    answer: Any = await conn.read_response()
                except ResponseError as exc:  # a script's error: that call's answer
                    answer = exc
                if not self._waiters:
                    raise RedisConnectionError("Redis sent a reply no call was waiting for")
                waiter = self._waiters.popleft()
                if waiter.done():  # its caller gave up (and reset the connection)
                    continue
                if isinstance(answer, BaseException):
                    waiter.set_exception(answer)
                else:
                    waiter.set_result(answer)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if self._conn is conn:
                self._fail(exc)
                self._drop(conn)

    def reset(self) -> None:
        """Drop the connection (a caller timed out or a write failed); fail every waiter."""
        conn = self._conn
        if conn is None:
            return
        self._fail(RedisConnectionError("the Redis connection was reset"))
        if self._reader is not None:
            self._reader.cancel()
        self._drop(conn)

    def _fail(self, exc: Exception) -> None:
        waiters, self._waiters = self._waiters, deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(exc)

    def _drop(self, conn: AbstractConnection) -> None:
        self._conn = None
        self._reader = None
        task = asyncio.get_running_loop().create_task(conn.disconnect(nowait=True))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def close(self) -> None:
        conn, reader = self._conn, self._reader
        self._conn = self._reader = None
        self._fail(RedisConnectionError("the limits backend is closing"))
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.disconnect()
