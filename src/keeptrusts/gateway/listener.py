"""The listening socket, with a cap on concurrent connections.

Past `server.max_connections`, a new connection gets an immediate `503` in the contract's
envelope and is closed, instead of queueing without bound inside the process.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from keeptrusts.errors import UpstreamFailed

_BUSY = UpstreamFailed(
    "the gateway is at its connection limit (server.max_connections); retry shortly",
    status=503,
    code="overloaded",
).body()
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
    b"Retry-After: 1\r\nConnection: close\r\nContent-Length: "
    + str(len(_BUSY)).encode()
    + b"\r\n\r\n"
    + _BUSY
)


class _Refuse(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(BUSY_RESPONSE)
        transport.close()


class LimitedSite(web.SockSite):
    """A SockSite whose protocol factory refuses connections beyond `limit`."""

    def __init__(self, runner: web.BaseRunner, sock: object, limit: int, **kwargs: object):
        super().__init__(runner, sock, **kwargs)  # type: ignore[arg-type]
        self.limit = limit

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        limit = self.limit

        def factory() -> asyncio.BaseProtocol:
            if len(server.connections) >= limit:
                return _Refuse()
            return server()

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            factory, sock=self._sock, ssl=self._ssl_context, backlog=self._backlog
        )
