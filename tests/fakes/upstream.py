"""A fake LLM provider on 127.0.0.1 speaking the real OpenAI and Anthropic wire formats.

It runs in its own thread and event loop (so sync SDK clients in tests cannot stall it),
records every request it receives, and misbehaves on command through `behaviour`.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes import anthropic_blocks


def chat_sse(*chunks: tuple[dict[str, Any], str | None]) -> bytes:
    """An OpenAI chat stream of (delta, finish_reason) chunks, then `[DONE]` (for `raw_stream`)."""
    out = []
    for delta, finish in chunks:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        data = {"id": "chatcmpl-x", "object": "chat.completion.chunk", "choices": [choice]}
        out.append(b"data: " + json.dumps(data).encode() + b"\n\n")
    return b"".join(out) + b"data: [DONE]\n\n"


#: a streamed answer: some text, then one tool call whose arguments arrive in two pieces
TEXT_THEN_TOOL_CALL = chat_sse(
    ({"role": "assistant", "content": "One moment."}, None),
    ({"tool_calls": [{"index": 0, "id": "call_9", "type": "function",
                      "function": {"name": "f", "arguments": ""}}]}, None),
    ({"tool_calls": [{"index": 0, "function": {"arguments": '{"a": '}}]}, None),
    ({"tool_calls": [{"index": 0, "function": {"arguments": "1}"}}]}, None),
    ({}, "tool_calls"),
)  # fmt: skip


@dataclass
class Behaviour:
    reply: str = "Hello from the fake upstream."
    #: chunks to stream; None splits `reply` into words
    chunks: list[str] | None = None
    status: int = 200
    #: answer `status` only to the first N requests (then 200); -1 means always
    fail_times: int = -1
    retry_after: str | None = None
    #: request fields answered 400 "Unrecognized request argument supplied" (older Azure
    #: api-versions refuse `stream_options`)
    refused_fields: tuple[str, ...] = ()
    #: failing requests: a `Location` header (with a 3xx `status`: a redirect)
    location: str | None = None
    #: failing requests: the error body is cut (the connection dropped) after its start
    cut_error_body: bool = False
    prompt_tokens: int = 11
    completion_tokens: int = 7
    include_usage: bool = True
    first_byte_delay: float = 0.0
    chunk_delay: float = 0.0
    #: streams: the first N chunks go out in one write (a burst), then `chunk_delay` applies
    burst: int = 0
    #: after this many chunks, fail: "abort" drops the connection, "error" sends an error event
    fail_after_chunks: int | None = None
    fail_kind: str = "abort"
    #: JSON requests: send the headers and half the body, then drop the connection
    drop_json: bool = False
    #: send invalid JSON / truncated SSE (streams: `garbage_event` as the second event)
    garbage: bool = False
    garbage_event: bytes = b"data: {truncated\n\n"
    tool_call: dict[str, Any] | None = None
    #: Anthropic requests: the answer stopped on this stop sequence
    stop_sequence: str | None = None
    #: Anthropic answers: this `stop_reason` instead of end_turn / tool_use / stop_sequence
    stop_reason: str | None = None
    #: Anthropic answers: a thinking block with this text before the answer
    thinking: str | None = None
    #: Anthropic answers: a redacted thinking block with this data after the thinking
    redacted_thinking: str | None = None
    #: Anthropic answers: exactly these content blocks, in this order (`anthropic_blocks`)
    blocks: list[dict[str, Any]] | None = None
    #: failing requests: this error message instead of "fake failure <status>"
    error_message: str | None = None
    #: answer exactly this JSON object (non-stream requests, OpenAI and Anthropic)
    raw_json: dict[str, Any] | None = None
    #: OpenAI stream requests: answer exactly these bytes, as `raw_content_type`
    raw_stream: bytes | None = None
    raw_content_type: str = "text/event-stream"
    #: a request on a connection that already served one is left unanswered and its
    #: connection closed: a provider closing a kept-alive connection as idle just as the
    #: gateway sent a request on it (as load balancers do after their idle timeout)
    close_reused: bool = False


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    #: every header line as sent, lower-cased names (a repeated header shows twice here)
    header_lines: list[tuple[str, str]] = field(default_factory=list)
    #: the body's bytes as sent
    raw: bytes = b""
    #: the URL's query string
    query: str = ""


@dataclass
class FakeUpstream:
    behaviour: Behaviour = field(default_factory=Behaviour)
    requests: list[Recorded] = field(default_factory=list)
    port: int = 0
    disconnects: list[float] = field(default_factory=list)
    #: the client address of every connection requests came on (one entry per connection)
    peers: list[tuple[str, int]] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _served: int = 0
    #: serve HTTPS with this context (the base URL is then https://)
    ssl_context: ssl.SSLContext | None = None

    @property
    def base_url(self) -> str:
        scheme = "http" if self.ssl_context is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeUpstream:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread:
            self._thread.join(10)

    def reset(self, **changes: Any) -> None:
        self.behaviour = Behaviour(**changes)
        self.requests.clear()
        self.disconnects.clear()
        self.peers.clear()
        self._served = 0

    async def _shutdown(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    def _run(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        ready.set()
        self._loop.run_forever()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v1/completions", self._openai)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/messages", self._anthropic)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        app.router.add_post("/openai/deployments/{dep}/chat/completions", self._openai)
        app.router.add_post("/openai/deployments/{dep}/embeddings", self._embeddings)
        app.router.add_post("/openai/v1/chat/completions", self._openai)  # (Azure's v1 API)
        self._runner = web.AppRunner(app, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.ssl_context)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _record(
        self, request: web.Request
    ) -> tuple[dict[str, Any], web.StreamResponse | None]:
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        self.requests.append(
            Recorded(
                request.path,
                {k.lower(): v for k, v in request.headers.items()},
                body,
                [(k.lower(), v) for k, v in request.headers.items()],
                raw,
                request.query_string,
            )
        )
        b = self.behaviour
        self._served += 1
        if self._reused(request) and b.close_reused and request.transport is not None:
            request.transport.close()
            return body, web.Response(status=599)  # (never sent)
        if b.first_byte_delay:
            await asyncio.sleep(b.first_byte_delay)
        failing = b.status != 200 and (b.fail_times < 0 or self._served <= b.fail_times)
        refused = [name for name in b.refused_fields if name in body]
        if refused:
            message = f"Unrecognized request argument supplied: {refused[0]}"
            err = {"error": {"message": message, "type": "invalid_request_error"}}
            return body, web.json_response(err, status=400)
        if failing and b.cut_error_body:
            return body, await self._cut_error(request)
        if failing:
            headers = {"Retry-After": b.retry_after} if b.retry_after else {}
            if b.location:
                headers["Location"] = b.location
            message = b.error_message or f"fake failure {b.status}"
            err = {"error": {"message": message, "type": "server_error"}}
            return body, web.json_response(err, status=b.status, headers=headers)
        return body, None

    def _reused(self, request: web.Request) -> bool:
        """Whether `request` came on a connection that had brought one before."""
        transport = request.transport
        peer = tuple(transport.get_extra_info("peername")[:2]) if transport is not None else None
        if peer is None or peer in self.peers:
            return peer is not None
        self.peers.append(peer)
        return False

    def _chunks(self) -> list[str]:
        b = self.behaviour
        if b.chunks is not None:
            return b.chunks
        words = b.reply.split(" ")
        return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        body, failure = await self._record(request)
        if failure is not None:
            return failure
        b = self.behaviour
        completions = request.path.endswith("/v1/completions")
        usage = {
            "prompt_tokens": b.prompt_tokens,
            "completion_tokens": b.completion_tokens,
            "total_tokens": b.prompt_tokens + b.completion_tokens,
        }
        if not body.get("stream"):
            if b.drop_json:
                return await self._drop_json(request)
            if b.garbage:
                return web.Response(body=b"{not json", content_type="application/json")
            if b.raw_json is not None:
                return web.json_response(b.raw_json)
            return web.json_response(self._openai_json(body, completions, usage))
        if b.raw_stream is not None:
            return web.Response(body=b.raw_stream, headers={"Content-Type": b.raw_content_type})
        return await self._openai_stream(request, body, completions, usage)

    def _openai_json(
        self, body: dict[str, Any], completions: bool, usage: dict[str, int]
    ) -> dict[str, Any]:
        b = self.behaviour
        if completions:
            choice: dict[str, Any] = {
                "index": 0,
                "text": b.reply,
                "finish_reason": "stop",
                "logprobs": None,
            }
            return {
                "id": "cmpl-fake",
                "object": "text_completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "choices": [choice],
                "usage": usage,
            }
        message: dict[str, Any] = {"role": "assistant", "content": b.reply}
        finish = "stop"
        if b.tool_call:
            message["tool_calls"] = [{"id": "call_1", "type": "function", "function": b.tool_call}]
            finish = "tool_calls"
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model"),
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
            "usage": usage,
        }

    async def _openai_stream(
        self, request: web.Request, body: dict[str, Any], completions: bool, usage: dict[str, int]
    ) -> web.StreamResponse:
        b = self.behaviour
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        base = {
            "id": "chatcmpl-fake",
            "object": "text_completion" if completions else "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model"),
        }
        held: list[bytes] = []  # a burst's chunks, written together
        try:
            for i, piece in enumerate(self._chunks()):
                if b.fail_after_chunks is not None and i == b.fail_after_chunks:
                    return await self._fail_stream(request, resp)
                if b.garbage and i == 1:
                    await resp.write(b.garbage_event)
                    continue
                if completions:
                    choice: dict[str, Any] = {"index": 0, "text": piece, "finish_reason": None}
                else:
                    delta: dict[str, Any] = {"content": piece}
                    if i == 0:
                        delta["role"] = "assistant"
                    choice = {"index": 0, "delta": delta, "finish_reason": None}
                held.append(
                    b"data: " + json.dumps({**base, "choices": [choice]}).encode() + b"\n\n"
                )
                if i < b.burst - 1:
                    continue
                await resp.write(b"".join(held))
                held.clear()
                if b.chunk_delay:
                    await asyncio.sleep(b.chunk_delay)
            last: dict[str, Any] = (
                {"index": 0, "text": "", "finish_reason": "stop"}
                if completions
                else {"index": 0, "delta": {}, "finish_reason": "stop"}
            )
            await resp.write(b"data: " + json.dumps({**base, "choices": [last]}).encode() + b"\n\n")
            opts = body.get("stream_options") or {}
            if b.include_usage and opts.get("include_usage"):
                await resp.write(
                    b"data: "
                    + json.dumps({**base, "choices": [], "usage": usage}).encode()
                    + b"\n\n"
                )
            await resp.write(b"data: [DONE]\n\n")
            await resp.write_eof()
        except (asyncio.CancelledError, ConnectionError):
            self.disconnects.append(time.monotonic())
            raise
        return resp

    async def _fail_stream(
        self, request: web.Request, resp: web.StreamResponse
    ) -> web.StreamResponse:
        if self.behaviour.fail_kind == "error":
            await resp.write(
                b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
            )
            await resp.write_eof()
            return resp
        transport = request.transport
        if transport is not None:
            transport.abort()
        return resp

    async def _cut_error(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(
            status=self.behaviour.status, headers={"Content-Type": "application/json"}
        )
        resp.content_length = 4096
        await resp.prepare(request)
        await resp.write(b'{"error": {"message": "fake fail')
        await asyncio.sleep(0.05)  # (the start of the body leaves before the reset)
        if request.transport is not None:
            request.transport.abort()
        return resp

    async def _drop_json(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = 4096
        await resp.prepare(request)
        await resp.write(b'{"id": "chatcmpl-cut", "choices": [')
        await asyncio.sleep(0.05)  # (the half body leaves before the reset)
        if request.transport is not None:
            request.transport.abort()
        return resp

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body, failure = await self._record(request)
        if failure is not None:
            return failure
        inputs = body.get("input")
        items = inputs if isinstance(inputs, list) else [inputs]
        data = [
            {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
            for i, _ in enumerate(items)
        ]
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model"),
                "usage": {"prompt_tokens": 3, "total_tokens": 3},
            }
        )

    async def _count_tokens(self, request: web.Request) -> web.StreamResponse:
        _body, failure = await self._record(request)
        if failure is not None:
            return failure
        return web.json_response({"input_tokens": self.behaviour.prompt_tokens})

    @staticmethod
    async def _anthropic_thinking(send: Any, text: str) -> None:
        """A thinking block (index 0): its text in deltas of a few characters, then its
        signature."""
        block = {"type": "thinking", "thinking": "", "signature": ""}
        await send("content_block_start", {"type": "content_block_start", "index": 0, "content_block": block})  # fmt: skip
        pieces = [{"type": "thinking_delta", "thinking": text[i : i + 7]}
                  for i in range(0, len(text), 7)]  # fmt: skip
        for delta in (*pieces, {"type": "signature_delta", "signature": "s"}):
            await send("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})  # fmt: skip
        await send("content_block_stop", {"type": "content_block_stop", "index": 0})

    def _anthropic_message(self, body: dict[str, Any], blocks: list[Any]) -> dict[str, Any]:
        b = self.behaviour
        usage = {"input_tokens": b.prompt_tokens, "output_tokens": b.completion_tokens}
        return {"id": "msg_fake", "type": "message", "role": "assistant",
                "model": body.get("model"), "content": blocks, "stop_reason":
                self._anthropic_stop(), "stop_sequence": None, "usage": usage}  # fmt: skip

    def _anthropic_stop(self) -> str:
        b = self.behaviour
        if b.stop_reason:
            return b.stop_reason
        if b.blocks is not None:
            return anthropic_blocks.stop_reason(b.blocks)
        if b.tool_call:
            return "tool_use"
        return "stop_sequence" if b.stop_sequence else "end_turn"

    async def _anthropic(self, request: web.Request) -> web.StreamResponse:
        body, failure = await self._record(request)
        if failure is not None:
            return failure
        b = self.behaviour
        if not body.get("stream") and b.raw_json is not None:
            return web.json_response(b.raw_json)
        if not body.get("stream") and b.blocks is not None:
            return web.json_response(self._anthropic_message(body, b.blocks))
        if not body.get("stream"):
            content: list[dict[str, Any]] = [{"type": "text", "text": b.reply}]
            if b.redacted_thinking is not None:
                content.insert(0, {"type": "redacted_thinking", "data": b.redacted_thinking})
            if b.thinking is not None:
                content.insert(0, {"type": "thinking", "thinking": b.thinking, "signature": "s"})
            if b.tool_call:
                content.append(
                    {
                        "type": "tool_use",
                        "id": "toolu_1",
                        "name": b.tool_call["name"],
                        "input": json.loads(b.tool_call["arguments"]),
                    }
                )
            return web.json_response(
                {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model"),
                    "content": content,
                    "stop_reason": self._anthropic_stop(),
                    "stop_sequence": b.stop_sequence,
                    "usage": {
                        "input_tokens": b.prompt_tokens,
                        "output_tokens": b.completion_tokens,
                    },
                }
            )
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)

        async def send(name: str, data: dict[str, Any]) -> None:
            await resp.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())

        await send(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_fake",
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model"),
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {"input_tokens": b.prompt_tokens, "output_tokens": 1},
                },
            },
        )
        index = 0
        for name, data in anthropic_blocks.events(b.blocks or []):
            await send(name, data)
        if b.thinking is not None:
            await self._anthropic_thinking(send, b.thinking)
            index = 1
        if b.redacted_thinking is not None:
            block = {"type": "redacted_thinking", "data": b.redacted_thinking}
            await send("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})  # fmt: skip
            await send("content_block_stop", {"type": "content_block_stop", "index": index})
            index += 1
        if b.reply and b.blocks is None:  # (a tool call alone has no text block)
            await send(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            await send("ping", {"type": "ping"})
            for i, piece in enumerate(self._chunks()):
                if b.fail_after_chunks == i:  # Anthropic's mid-stream error event
                    error = {"type": "overloaded_error", "message": "Overloaded"}
                    await send("error", {"type": "error", "error": error})
                    await resp.write_eof()
                    return resp
                await send(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
            await send("content_block_stop", {"type": "content_block_stop", "index": index})
            index += 1
        if b.tool_call:
            block = {"type": "tool_use", "id": "toolu_1", "name": b.tool_call["name"], "input": {}}
            await send(
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": block},
            )
            delta = {"type": "input_json_delta", "partial_json": b.tool_call["arguments"]}
            await send(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
            await send("content_block_stop", {"type": "content_block_stop", "index": index})
        await send(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": self._anthropic_stop(),
                    "stop_sequence": b.stop_sequence,
                },
                "usage": {"output_tokens": b.completion_tokens},
            },
        )
        await send("message_stop", {"type": "message_stop"})
        await resp.write_eof()
        return resp
