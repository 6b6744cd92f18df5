"""The HTTP clients the gateway calls providers with, shared by every target and every config.

`pooled` keeps connections alive between requests (a TLS handshake saved per request);
`fresh` opens a new connection for each request and closes it after: it serves the one resend
of a request whose kept-alive connection the provider had closed as idle just as the request
went out (`Provider.post`), which the pool could hand another such connection. Host names are
resolved in daemon threads (`resolver.py`): a lookup that hangs does not hold up exit.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from keeptrusts.providers.resolver import DaemonThreadResolver

#: seconds a pooled connection may stay idle before the gateway closes it: below the 60 s of
#: common load balancers (AWS ALB, Azure) and nginx's 75 s, so the gateway closes first
KEEPALIVE_SECONDS = 30.0
#: seconds a resolved provider address is kept
DNS_CACHE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class UpstreamClient:
    pooled: aiohttp.ClientSession
    fresh: aiohttp.ClientSession

    @classmethod
    def open(cls) -> UpstreamClient:
        # no skip_auto_headers: adapters send a User-Agent of their own (base_headers), and
        # a session-wide skip list costs a header merge on every request
        pooled = aiohttp.TCPConnector(
            limit=0,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_SECONDS,
            ttl_dns_cache=DNS_CACHE_SECONDS,
            resolver=DaemonThreadResolver(),
        )
        fresh = aiohttp.TCPConnector(
            limit=0,
            force_close=True,
            ttl_dns_cache=DNS_CACHE_SECONDS,
            resolver=DaemonThreadResolver(),
        )
        return cls(
            aiohttp.ClientSession(connector=pooled, auto_decompress=True),
            aiohttp.ClientSession(connector=fresh, auto_decompress=True),
        )

    async def close(self) -> None:
        await self.pooled.close()
        await self.fresh.close()

    async def __aenter__(self) -> UpstreamClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


def closed_unanswered(exc: BaseException) -> bool:
    """Whether `exc`, raised before any byte of an answer, says the connection was closed or
    reset under the request (not that no connection could be made: that is no stale one)."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return False
    return isinstance(
        exc,
        aiohttp.ServerDisconnectedError
        | aiohttp.ClientConnectionResetError
        | aiohttp.ClientOSError,
    )
