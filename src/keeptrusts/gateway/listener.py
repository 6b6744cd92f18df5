"""The listening socket: a cap on concurrent connections, header deadlines, the drain's gate.

Past `server.max_connections`, a new connection gets an immediate `503` in the contract's
envelope and is closed, instead of queueing without bound inside the process.

Every request's headers are due within `server.header_read_timeout_seconds`: a new
connection's from when it opens, a kept-alive one's from the first byte of its next request
(an idle kept-alive connection is aiohttp's keep-alive timeout's business). A client slower
than that gets 408 and the connection is closed (slowloris).

The drain (`gateway/server.py`) closes the gate once the drain delay has passed: the listening
socket closes, so new connections are refused and go to another replica, and every response
on a connection still open carries `Connection: close`; the governed endpoints answer a request
arriving then with 503 `shutting_down` (`gateway/admission.py`, so it is accounted like any
refusal). At the drain deadline the requests still running are cancelled with
`DRAIN_DEADLINE`, which a stream takes as the cue to end with an error event (`drain_deadline`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import http_exceptions as hx
from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import RequestHandler, RequestPayloadError
from aiohttp.web_request import BaseRequest

from keeptrusts.errors import GatewayError, InternalError, UpstreamFailed, ValidationFailed
from keeptrusts.gateway import http2_refusal

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
#: the cancellation message that ends the requests still running at the drain deadline
DRAIN_DEADLINE = "keeptrusts: drain deadline"
#: a request's key, set when it arrived after the gate closed (the drain is refusing work)
CLOSING = "keeptrusts.closing"


def shutting_down() -> UpstreamFailed:
    """What a request refused or cut by the drain gets: a 503 the client may retry elsewhere."""
    return UpstreamFailed(
        "the gateway is shutting down; retry (another replica will serve the request)",
        status=503,
        code="shutting_down",
        headers={"Retry-After": "1"},
    )


def drain_deadline(exc: asyncio.CancelledError) -> UpstreamFailed | None:
    """`shutting_down()` when `exc` is the drain deadline's cancellation, which the running task
    then takes back to end its response itself; None for any other (the client went away)."""
    if exc.args[:1] != (DRAIN_DEADLINE,):
        return None
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
    return shutting_down()


class Gate:
    """Whether a site still takes new work (`closed` once the drain delay has passed)."""

    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False


class EnvelopeRequestHandler(RequestHandler):
    """aiohttp's connection handler, whose own protocol errors (bad request line, too many
    or too long headers, undecodable bodies) answer in the contract's envelope, not text."""

    #: seconds a request's headers may take, from the connection's start or the request's
    #: first byte (slowloris guard)
    header_timeout = 10.0
    #: the site's gate (`LimitedSite` gives each connection its own site's)
    gate = Gate()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        #: the body of the last request whose headers arrived (its end starts the next one)
        self._last_payload: StreamReader | None = None
        #: the connection's first bytes while they may be HTTP/2's preface; None once told
        self._opening: bytes | None = b""
        self._expect_headers()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._opening is not None:  # HTTP/2's preface, or perhaps its start?
            data = self._opening + data
            h2 = http2_refusal.sniff(data)
            self._opening = data if h2 is None else None
            if h2:
                http2_refusal.refuse(self.transport)
            if h2 is not False:  # refused, or kept until it can be told
                return
        # the first byte after a request's body (blank lines aside) begins the next request
        if self._header_timer is None and data and self._between_requests() and not data.isspace():
            self._expect_headers()
        parsed = self._request_count
        super().data_received(data)
        if self._request_count > parsed and self._messages:  # headers in: the timer is done
            self._last_payload = self._messages[-1][1]
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

    def _between_requests(self) -> bool:
        payload = self._last_payload
        return payload is None or payload.is_eof()

    def _expect_headers(self) -> None:
        loop = asyncio.get_running_loop()
        self._header_timer = loop.call_later(self.header_timeout, self._headers_overdue)

    def _headers_overdue(self) -> None:
        self._header_timer = None
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if self._waiter is None:
            # busy with an earlier request (this one was pipelined behind it): its headers
            # are due a timeout after that one is answered, at the latest
            self._expect_headers()
            return
        transport.write(SLOW_HEADERS_RESPONSE)
        transport.close()

    def _handle_request(
        self,
        request: BaseRequest,
        start_time: float | None,
        request_handler: Callable[[BaseRequest], Awaitable[web.StreamResponse]],
    ) -> Coroutine[Any, Any, tuple[web.StreamResponse, bool]]:
        if self.gate.closed:  # draining: answer, then close the connection
            request[CLOSING] = True
            request_handler = _closing_after(request_handler)
        return super()._handle_request(request, start_time, request_handler)

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


def _closing_after(
    handler: Callable[[BaseRequest], Awaitable[web.StreamResponse]],
) -> Callable[[BaseRequest], Awaitable[web.StreamResponse]]:
    """`handler`, whose response (error responses included) carries `Connection: close`."""

    async def closing(request: BaseRequest) -> web.StreamResponse:
        try:
            resp = await handler(request)
        except web.HTTPException as exc:
            exc.force_close()
            raise
        resp.force_close()
        return resp

    return closing


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
    """A SockSite whose protocol factory refuses connections beyond `limit`, and whose gate
    the drain closes."""

    def __init__(self, runner: web.BaseRunner, sock: object, limit: int, **kwargs: object):
        super().__init__(runner, sock, **kwargs)  # type: ignore[arg-type]
        self.limit = limit
        self.gate = Gate()

    def stop_accepting(self) -> None:
        """Close the listening socket (the kernel refuses new connections) and the gate: the
        connections still open get `Connection: close` and, for new work, 503."""
        self.gate.closed = True
        if self._server is not None:
            self._server.close()

    def cut_requests(self) -> int:
        """Cancel the requests still running with `DRAIN_DEADLINE`; how many there were."""
        server = self._runner.server
        cut = 0
        for conn in server.connections if server is not None else ():
            task = conn._task_handler
            if conn._request_in_progress and task is not None and not task.done():
                task.cancel(DRAIN_DEADLINE)  # (passed on to the request's own task)
                cut += 1
        return cut

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        limit, gate = self.limit, self.gate
        loop = asyncio.get_running_loop()

        def factory() -> asyncio.BaseProtocol:
            if len(server.connections) >= limit:
                return _Refuse()
            handler = EnvelopeRequestHandler(server, loop=loop, **server._kwargs)
            handler.gate = gate
            return handler

        self._server = await loop.create_server(
            factory, sock=self._sock, ssl=self._ssl_context, backlog=self._backlog
        )
