"""Provider host names, resolved by the system resolver in daemon threads.

aiohttp's default resolver runs `getaddrinfo` in the event loop's default executor. A lookup
the name server never answers then holds a worker thread until the resolver gives up
(`timeout × attempts` of resolv.conf: 10 s by default, far more as configured), and exit waits
for it: the loop's executor is joined at shutdown, so a gateway told to stop stayed up until
the lookup ended, past a pod's grace period. Here each lookup runs in a daemon thread of its
own (lookups are rare: aiohttp caches answers for `DNS_CACHE_SECONDS` and shares one lookup
among the requests waiting for the same host), which exit does not wait for. The answer is
read by aiohttp's own `ThreadedResolver` (families, link-local IPv6 scopes), unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp.resolver import ThreadedResolver

T = TypeVar("T")


async def in_daemon_thread(fn: Callable[[], T]) -> T:
    """`fn()` in a daemon thread of its own; cancelling the await leaves the thread to end."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, exc: BaseException | None) -> None:
        if done.done():  # the waiter was cancelled (a connect timeout)
            return
        if exc is not None:
            done.set_exception(exc)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def work() -> None:
        try:
            result, exc = fn(), None
        except BaseException as failed:  # handed to the waiter, as an executor would
            result, exc = None, failed
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(settle, result, exc)

    threading.Thread(target=work, name="keeptrusts-dns", daemon=True).start()
    return await done


class _DaemonLookups:
    """The two lookups `ThreadedResolver` asks its loop for, in daemon threads."""

    async def getaddrinfo(self, host: str, port: int, **kwargs: Any) -> list[Any]:
        return await in_daemon_thread(lambda: socket.getaddrinfo(host, port, **kwargs))

    async def getnameinfo(self, sockaddr: tuple[Any, ...], flags: int = 0) -> tuple[str, str]:
        return await in_daemon_thread(lambda: socket.getnameinfo(sockaddr, flags))


class DaemonThreadResolver(ThreadedResolver):
    """aiohttp's system resolver, its lookups in daemon threads (see the module's text)."""

    def __init__(self) -> None:
        super().__init__()
        self._loop = _DaemonLookups()  # type: ignore[assignment]
