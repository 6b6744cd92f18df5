"""Admission by body bytes in flight: a bound on what large prompts and answers cost in memory.

Bodies of requests whose handlers have started are buffered while they wait for the event
loop, then parsed and copied on their way through the policies (text, its UTF-8 bytes,
normalised and folded renderings, the redacted copy). `server.max_inflight_body_bytes` caps
the body bytes of admitted requests, reserved from the declared length before the body is
read; past it a request gets 503 `overloaded` with `Retry-After` (the mesh or the client
retries, possibly on another replica). One request is always admitted when nothing else is
in flight, so any body within `server.max_body_bytes` can pass.

A provider's JSON answer counts against the same bound as its bytes arrive, until the response
is written (`AnswerBudget`: a slow reader holds its answer's memory as long as it reads); one
that does not fit is refused with the same 503, unless its request is alone in flight. Each
answer is also capped at `server.max_response_bytes` (`providers/http.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import HttpVersion11, web

from keeptrusts.config.model import Server
from keeptrusts.errors import UpstreamFailed
from keeptrusts.gateway import parse
from keeptrusts.gateway.listener import CLOSING, shutting_down
from keeptrusts.gateway.state import GatewayState
from keeptrusts.providers.http import ANSWER_BUDGET, AnswerRefused

#: the request's admitted body size, to release when it ends
ADMITTED = "keeptrusts.admitted_body_bytes"
#: the refusal of a request from a network or origin the config does not allow (`gateway/app`)
REFUSED = "keeptrusts.refused"


async def read_body(state: GatewayState, request: web.Request, server: Server) -> bytes:
    """The request's body, counted in flight until `release`: reserved from the declared length
    before it is read (so bodies waiting for the event loop count too), else from what was read;
    a body that inflated (gzip, deflate) counts its inflated size. A request that arrived while
    the gateway drains is refused here (503 `shutting_down`), accounted like any refusal, as is
    one the config's `ip_allowlist` or `cors` refused (403)."""
    if (refused := request.get(REFUSED)) is not None:  # ip_allowlist, cors: before the body
        raise refused
    if state.draining and request.get(CLOSING):  # arrived after the drain closed the gate
        raise shutting_down()
    budget = server.max_inflight_body_bytes
    ANSWER_BUDGET.set(AnswerBudget(state, request, server))
    declared = request.content_length
    if declared is not None and declared <= server.max_body_bytes:  # (larger: 413 when read)
        reserve(state, request, declared, budget)
    raw = await parse.read_body(request, server.max_body_bytes, server.body_read_timeout_seconds)
    if declared is None:
        reserve(state, request, len(raw), budget)
    elif len(raw) > declared:
        grow(state, request, len(raw) - declared)
    return raw


def expect_handler(state: GatewayState) -> Callable[[web.Request], Awaitable[None]]:
    """`Expect: 100-continue`: invite the body only when the gateway would read it. A declared
    length over `server.max_body_bytes`, or a call the config's `ip_allowlist` or `cors` refused
    (`gateway/app` screens it first), gets no `100 Continue`: the handler answers its 413 or 403
    at once (accounted like any refusal), before the client uploads what would be refused."""

    async def expect(request: web.Request) -> None:
        runtime, declared = state.runtime, request.content_length
        if runtime is not None and (declared or 0) > runtime.loaded.config.server.max_body_bytes:
            return
        if request.get(REFUSED) is not None:  # ip_allowlist, cors: the handler answers 403
            return
        if request.version != HttpVersion11:
            return
        if request.headers.get("Expect", "").lower() != "100-continue":
            raise web.HTTPExpectationFailed(text="only 'Expect: 100-continue' is supported")
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the 100 is not part of the response's size

    return expect


def reserve(state: GatewayState, request: web.Request, size: int, budget: int) -> None:
    """Count `size` body bytes of this request as in flight, or refuse the request."""
    if _over(state, size, budget):
        raise _busy(budget)
    grow(state, request, size)


def grow(state: GatewayState, request: web.Request, size: int) -> None:
    """Count `size` more bytes for a request already admitted (a body that inflated)."""
    state.body_bytes_in_flight += size
    request[ADMITTED] = request.get(ADMITTED, 0) + size


def release(state: GatewayState, request: web.Request) -> None:
    state.body_bytes_in_flight -= request.get(ADMITTED, 0)


def _over(state: GatewayState, size: int, budget: int) -> bool:
    return state.body_bytes_in_flight > 0 and state.body_bytes_in_flight + size > budget


def _busy(budget: int) -> UpstreamFailed:
    return UpstreamFailed(
        f"the gateway is busy with large requests (request bodies in flight would exceed "
        f"server.max_inflight_body_bytes = {budget} bytes); retry shortly, or raise the setting "
        "together with the pod's memory limit",
        status=503,
        code="overloaded",
        headers={"Retry-After": "1"},
    )


class AnswerBudget:
    """One request's allowance for its provider's JSON answer (`providers.http.AnswerBudget`).
    Its bytes count in flight from their arrival until the request's task ends, after the
    response was written, since an answer is held whole until then."""

    __slots__ = ("request", "server", "state", "taken")  # (made for every request: kept small)

    def __init__(self, state: GatewayState, request: web.Request, server: Server) -> None:
        self.state = state
        self.request = request
        self.server = server
        self.taken = 0

    @property
    def limit(self) -> int:
        return self.server.max_response_bytes

    def take(self, size: int) -> None:
        state, budget = self.state, self.server.max_inflight_body_bytes
        if self.taken == 0:
            task = asyncio.current_task()
            assert task is not None
            task.add_done_callback(self._release)
        others = state.body_bytes_in_flight - self.taken - self.request.get(ADMITTED, 0)
        if others > 0 and state.body_bytes_in_flight + size > budget:
            raise AnswerRefused(
                f"the gateway is busy with large requests and answers (bodies in flight would "
                f"exceed server.max_inflight_body_bytes = {budget} bytes); retry shortly, "
                "or raise the setting together with the pod's memory limit",
                "",
            )
        state.body_bytes_in_flight += size
        self.taken += size

    def _release(self, _task: object) -> None:
        self.state.body_bytes_in_flight -= self.taken
