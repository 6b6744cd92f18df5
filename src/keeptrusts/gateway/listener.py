"""The listening socket, with a cap on concurrent connections.

Past `server.max_connections`, a new connection gets an immediate `503` in the contract's
envelope and is closed, instead of queueing without bound inside the process.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import http_exceptions as hx
from aiohttp import web
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from aiohttp.web_request import BaseRequest

from keeptrusts.errors import GatewayError, InternalError, UpstreamFailed, ValidationFailed

log = logging.getLogger("keeptrusts.gateway")

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

    def log_exception(self, *args: object, **kw: object) -> None:
        """A body that fails to inflate while aiohttp drains it after the reply is the
        client's malformed input, answered already: one line, not an error traceback."""
        exc = kw.get("exc_info")
        if isinstance(exc, hx.HttpProcessingError | RequestPayloadError):
            log.info("malformed request body discarded (%s)", type(exc).__name__)
            return
        super().log_exception(*args, **kw)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's error path, in the contract's envelope. The parser's own message can quote
        the offending bytes (a header line with a key in it), so neither the reply nor the log
        repeats it: the reply says what kind of input was wrong, the log names the class."""
        if request.writer.output_size > 0:
            raise ConnectionError("response already started; cannot send the error")
        if status >= 500:
            # a bug of ours (handlers answer their own errors): the traceback is for us
            log.error("failed to handle a request (%s)", status, exc_info=exc)
            error: GatewayError = InternalError("the gateway failed to read the request; retry")
        else:
            log.info("malformed HTTP request refused (%s)", type(exc).__name__ if exc else status)
            error = ValidationFailed(f"malformed HTTP request: {_describe(exc)}", status=status)
        headers = {} if status >= 500 else {"x-should-retry": "false"}
        resp = web.Response(
            body=error.body(), status=error.status, content_type="application/json", headers=headers
        )
        resp.force_close()
        return resp


#: what each kind of parser error means, for the client (never the parser's text)
_PARSER_ERRORS: tuple[tuple[type[BaseException], str], ...] = (
    (hx.LineTooLong, "the request line or a header is too long"),
    (hx.BadHttpMethod, "the request method is not valid HTTP"),
    (hx.BadStatusLine, "the request line is not valid HTTP"),
    (hx.InvalidURLError, "the request target is not a valid URL"),
    (hx.InvalidHeader, "a header name or value is not valid"),
    (
        hx.ContentEncodingError,
        "the body could not be decoded: send it as identity, gzip or deflate",
    ),
    (hx.DecompressSizeError, "the body inflates beyond the size limit"),
    (hx.ContentLengthError, "the body is shorter or longer than its Content-Length"),
    (hx.TransferEncodingError, "the chunked body framing is not valid"),
    (hx.PayloadEncodingError, "the body encoding is not valid"),
)


def _describe(exc: BaseException | None) -> str:
    for kind, text in _PARSER_ERRORS:
        if isinstance(exc, kind):
            return text
    return "the request could not be parsed"


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
