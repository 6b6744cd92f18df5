"""Relay a provider stream to the client as SSE, governed chunk by chunk.

Chunks are written (and so flushed) as they arrive; chunks that arrived in the same network read
go out in one write. A policy block or a provider failure after the first byte ends the stream
with an SSE error event and `data: [DONE]`, and so does a stream still open at the drain
deadline (503 `shutting_down`). A client that goes away cancels the handler, which closes the
provider connection at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from keeptrusts.errors import GatewayError, InternalError
from keeptrusts.gateway import dispatch
from keeptrusts.gateway.finish import estimate_usage, take_usage
from keeptrusts.gateway.listener import drain_deadline
from keeptrusts.gateway.state import GatewayState
from keeptrusts.gateway.stream_format import OPENAI, StreamFormat
from keeptrusts.limits.estimate import choices
from keeptrusts.pipeline.arguments import json_output
from keeptrusts.pipeline.chain import blocked
from keeptrusts.pipeline.chat import PROMPT_USAGE
from keeptrusts.pipeline.context import Exchange
from keeptrusts.pipeline.texts import EXTRA_TEXT_FIELDS
from keeptrusts.pipeline.verdict import Evaluation, Stage
from keeptrusts.providers.base import Chunk, ProviderCall
from keeptrusts.providers.failures import UpstreamError
from keeptrusts.streaming.chunks import ToolIndexes, flush_all, guard_chunk, is_empty
from keeptrusts.streaming.guard import StreamBlocked, StreamGuard
from keeptrusts.streaming.thinking_marks import ThinkingMarks

#: a delta's texts besides tool-call arguments
TEXT_FIELDS = ("content", *EXTRA_TEXT_FIELDS)
SSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


class SseResponse(web.StreamResponse):
    """A stream response whose headers leave with the first chunk, in one write, instead of
    alone at `prepare()`: the relay prepares only once the first chunk is in hand, so nothing
    waits for it. (aiohttp's class switch; without it headers are sent at once, as before.)"""

    _send_headers_immediately = False


class Relay:
    """One stream's relay: guard state, usage, output size."""

    def __init__(self, ex: Exchange, wants_usage: bool, fmt: StreamFormat) -> None:
        rt = ex.runtime
        self.ex = ex
        self.wants_usage = wants_usage
        self.fmt = fmt
        self.guard = (
            StreamGuard(rt.response_text, rt.holdback, json_output(ex.body))
            if rt.enabled and rt.response_text and rt.holdback > 0
            else None
        )
        #: the choice indexes the provider may send: 0 to the choices the request asked for
        #: (any other the guard would hold apart from the one clients join it to)
        self.choices = choices(ex.endpoint, ex.body) if self.guard is not None else 1
        self.template: dict[str, Any] | None = None
        self.output_chars = 0
        self.tool_indexes = ToolIndexes()
        #: each thinking block's end after its text, whatever the guard held back
        self.marks = ThinkingMarks() if self.guard is not None else None
        #: the stream format's starts of what the provider began, not written yet
        self.begun = b""

    def encode(self, chunk: Chunk) -> bytes | None:
        data = chunk.data
        self.template = data
        if chunk.prompt_usage is not None:
            self.ex.scratch[PROMPT_USAGE] = chunk.prompt_usage
        usage = data.get("usage")
        if usage:
            take_usage(self.ex, usage)
            if not self.wants_usage and not data.get("choices"):
                return None
        self.tool_indexes.resolve(data)
        self.begun += self.fmt.begin(data) or b""  # (what the provider began, in its order)
        if self.guard is None or self.marks is None:
            self.output_chars += _text_len(data)
            return self._with_begun([self.fmt.chunk(data, chunk.raw)])
        self.marks.count(data)
        changed = guard_chunk(data, self.guard, self.choices)
        placed = self.marks.place(data, self.guard)
        if placed is None:
            placed = [data]
        else:
            changed = True
        return self._with_begun(self._written(placed, changed, chunk.raw))

    def _written(
        self, chunks: list[dict[str, Any]], changed: bool, raw: bytes | None = None
    ) -> list[bytes | None]:
        out: list[bytes | None] = []
        for data in chunks:
            if changed and is_empty(data):  # (emptied by the guard)
                continue
            self.output_chars += _text_len(data)
            out.append(self.fmt.chunk(data, None if changed else raw))
        return out

    def _with_begun(self, written: list[bytes | None]) -> bytes | None:
        """The chunks written, after what the provider began before them. When the guard
        emptied them all, that waits for the next: a block before anything was released
        stays a JSON error (nothing written yet)."""
        if not written:
            return None
        out = b"".join([self.begun, *(w for w in written if w)])
        self.begun = b""
        return out or None

    def tail(self) -> bytes | None:
        guard, marks = self.guard, self.marks
        data = flush_all(self.template, guard) if guard is not None else None
        if data is None or guard is None or marks is None:
            out, self.begun = self.begun, b""
            return out or None
        return self._with_begun(self._written(marks.place(data, guard) or [data], True))

    def record(self) -> None:
        if self.guard is None:
            return
        for name, hits in self.guard.hits.items():
            self.ex.record(
                Evaluation(name, Stage.RESPONSE, hits.result, hits.reason_code, hits.seconds * 1000)
            )


def _text_len(data: dict[str, Any]) -> int:
    """Characters of answer in one chunk, for an estimate without usage: the texts a JSON
    answer's estimate counts (`finish.response_chars`): content, refusals, reasoning and
    tool-call arguments and custom tool inputs (a streamed tool call alone is not free)."""
    n = 0
    for choice in data.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        if isinstance(choice.get("text"), str):
            n += len(choice["text"])
        delta = choice.get("delta")
        if isinstance(delta, dict):
            n += _delta_len(delta)
    return n


def _delta_len(delta: dict[str, Any]) -> int:
    n = 0
    for name in TEXT_FIELDS:
        if isinstance(delta.get(name), str):
            n += len(delta[name])
    calls = delta.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        if isinstance(call, dict):
            n += _input_len(call.get("function"), "arguments") + _input_len(call.get("custom"))
    return n


def _input_len(inner: Any, key: str = "input") -> int:
    """A tool call's input: a function's JSON arguments, or a custom tool's text."""
    text = inner.get(key) if isinstance(inner, dict) else None
    return len(text) if isinstance(text, str) else 0


async def relay(
    state: GatewayState,
    request: web.Request,
    ex: Exchange,
    call: ProviderCall,
    headers: dict[str, str],
    wants_usage: bool,
    fmt: StreamFormat = OPENAI,
) -> tuple[web.StreamResponse, int]:
    """Stream the response; returns it with the status to account (409/5xx if it ended badly).

    The response starts with its first write: a block or a provider failure before anything
    was written raises the error instead, so the client gets its status and JSON envelope."""
    try:
        upstream, first, rest = await dispatch.stream(ex, call, state.metrics)
    except asyncio.CancelledError as exc:  # the drain deadline: a 503, not a reset
        if (cut := drain_deadline(exc)) is None:
            raise
        raise cut from None
    relay_ = Relay(ex, wants_usage, fmt)
    resp = SseResponse(status=200, headers={**SSE_HEADERS, **headers})
    status = 200
    try:
        status = await _pump(request, resp, relay_, first, rest)
    finally:  # (a client that went away cancels the handler, which records the 499)
        await upstream.aclose()
        relay_.record()
        ex.status = status
        # no usage from the provider (none sent, or the stream ended before it): estimate
        # from the text the client received, so budgets and costs are not left at zero
        estimate_usage(ex, relay_.output_chars)
    return resp, status


async def _pump(
    request: web.Request,
    resp: web.StreamResponse,
    relay_: Relay,
    chunk: Chunk | None,
    rest: AsyncIterator[Chunk],
) -> int:
    ex = relay_.ex
    ready: list[bytes] = []  # encoded, not yet written: chunks that arrived together
    try:
        while chunk is not None:
            out = relay_.encode(chunk)
            if out is not None:
                ready.append(out)
            # written at once, unless the next chunk has already arrived with this one: then
            # both go in one write (the first chunk never waits: it is the time to first byte)
            if ready and not (resp.prepared and chunk.more):
                if not resp.prepared:
                    await resp.prepare(request)
                await resp.write(b"".join(ready))
                ready.clear()
            t0 = time.perf_counter()
            try:
                chunk = await anext(rest, None)
            finally:  # a client gone while the provider is slow: its time, not the gateway's
                ex.upstream_seconds += time.perf_counter() - t0
        tail = relay_.tail()
        if tail is not None:
            ready.append(tail)
    except StreamBlocked as exc:
        error: GatewayError = blocked(exc.policy, Stage.RESPONSE, exc.reason)
        await _end_with_error(resp, relay_.fmt, error, ready)
        return error.status
    except UpstreamError as exc:
        error = dispatch.to_gateway_error(exc, mid_stream=True)
        await _end_with_error(resp, relay_.fmt, error, ready)
        return error.status
    except (ConnectionError, OSError):
        ex.client_gone = True
        return 499
    except asyncio.CancelledError as exc:  # the drain deadline: end it as the contract says
        if (cut := drain_deadline(exc)) is None:
            raise
        await _end_with_error(resp, relay_.fmt, cut, ready)
        return cut.status
    except Exception:
        import logging

        logging.getLogger("keeptrusts.gateway").exception("stream relay failed")
        failed = InternalError("the gateway failed mid-stream; retry")
        await _end_with_error(resp, relay_.fmt, failed, ready)
        return 500
    # no usage from the provider: estimated before the ending, which may report it
    estimate_usage(ex, relay_.output_chars)
    ready.append(relay_.fmt.done())
    if not resp.prepared:
        await resp.prepare(request)
    await resp.write_eof(b"".join(ready))  # the last chunk, [DONE] and the end in one write
    return 200


async def _end_with_error(
    resp: web.StreamResponse, fmt: StreamFormat, error: GatewayError, ready: list[bytes]
) -> None:
    """Before the first write: raise `error` (the client gets its status and JSON). After:
    write what was already released, then the format's error ending (OpenAI's: the error
    event and `[DONE]`). (Chunks wait in
    `ready` only once the response has started: the first is always written at once.)"""
    if not resp.prepared:
        raise error
    with contextlib.suppress(ConnectionError, OSError):
        await resp.write_eof(b"".join([*ready, fmt.error(error)]))
