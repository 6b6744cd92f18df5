"""The listening socket, with a cap on concurrent connections.

Past `server.max_connections`, a new connection gets an immediate `503` in the contract's
envelope and is closed, instead of queueing without bound inside the process.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from keeptrusts.errors import GatewayError, InternalError, UpstreamFailed, ValidationFailed

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


class EnvelopeRequestHandler(RequestHandler):
    """aiohttp's connection handler, whose own protocol errors (bad request line, too many
    or too long headers, undecodable bodies) answer in the contract's envelope, not text."""

    #: seconds a new connection has to deliver its first request's headers (slowloris guard)
    header_timeout = 10.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        loop = asyncio.get_running_loop()
        self._header_timer = loop.call_later(self.header_timeout, self._headers_overdue, transport)

    def connection_lost(self, exc: BaseException | None) -> None:
        self._header_timer.cancel()
        super().connection_lost(exc)

    def _headers_overdue(self, transport: asyncio.BaseTransport) -> None:
        if self._request_count == 0 and not transport.is_closing():
            transport.write(SLOW_HEADERS_RESPONSE)  # type: ignore[attr-defined]
            transport.close()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        plain = super().handle_error(request, status, exc, message)
        if status >= 500:
            error: GatewayError = InternalError("the gateway failed to read the request; retry")
        else:
            reason = _first_line(message or (str(exc) if exc else "") or "bad request")
            error = ValidationFailed(f"malformed HTTP request: {reason}", status=status)
        resp = web.Response(body=error.body(), status=error.status, content_type="application/json")
        if plain.keep_alive is False:
            resp.force_close()
        return resp


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "bad request"
    return line[:200]


def _raw_response(status: str, error: GatewayError) -> bytes:
    body = error.body()
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


SLOW_HEADERS_RESPONSE = _raw_response(
    "408 Request Timeout",
    ValidationFailed(
        "the request headers did not arrive in time; send them faster",
        status=408,
        code="request_timeout",
    ),
)


class _Refuse(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.WriteTransport subclasses; they do write
        transport.write(BUSY_RESPONSE)  # type: ignore[attr-defined]
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
        loop = asyncio.get_running_loop()

        def factory() -> asyncio.BaseProtocol:
            if len(server.connections) >= limit:
                return _Refuse()
            return EnvelopeRequestHandler(server, loop=loop, **server._kwargs)

        self._server = await loop.create_server(
            factory, sock=self._sock, ssl=self._ssl_context, backlog=self._backlog
        )
