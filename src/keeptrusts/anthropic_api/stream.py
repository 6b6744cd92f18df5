"""Governed chat chunks -> Anthropic Messages stream events, for `/v1/messages` callers.

    message_start, content_block_start, content_block_delta ..., content_block_stop ...,
    message_delta (stop_reason, usage), message_stop

A thinking block (the answer's reasoning, with its signature when the provider signed it), one
text block and one `tool_use` block per tool call, numbered in the order they begin. Blocks
are closed together at the end of the message, not when the next one begins: the stream guard
holds the last characters of each text until it knows they are safe, and may release them after
the next block began (Anthropic's SDK accumulates deltas by block index, so this is still one
well-formed message). Usage goes in `message_delta`, once the stream is over (OpenAI-style
providers send it last). A block or failure after the first byte ends the stream with an
`error` event, as Anthropic's API does.
"""

from __future__ import annotations

from typing import Any

import orjson

from keeptrusts.anthropic_api.response import message_id, stop_of, usage_of
from keeptrusts.errors import GatewayError
from keeptrusts.pipeline.chat import PROMPT_USAGE, obj
from keeptrusts.pipeline.context import Exchange


def event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class MessagesStream:
    """One stream's writer (a `StreamFormat`): state of the blocks begun so far."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex
        self.started = False
        #: "content" and "refusal" -> their text block (a refusal is a block of its own: the
        #: policies read it apart from the content)
        self.text_blocks: dict[str, int] = {}
        #: the chat tool call's index -> its block's index
        self.tool_blocks: dict[int, int] = {}
        #: the thinking block (all the answer's reasoning: the stream guard may release the
        #: last characters of one thinking block after the next began, as for texts)
        self.thinking_block: int | None = None
        self.blocks = 0
        self.stop: str | None = None
        self.stop_sequence: str | None = None

    def chunk(self, data: dict[str, Any], raw: bytes | None) -> bytes | None:
        out: list[bytes] = []
        if not self.started:
            out.append(self._start(data))
        for choice in data.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice, out, raw is None)
        return b"".join(out) or None

    def done(self) -> bytes:
        out = [] if self.started else [self._start({})]
        for index in range(self.blocks):
            out.append(event("content_block_stop", {"type": "content_block_stop", "index": index}))
        delta = {"stop_reason": self.stop or "end_turn", "stop_sequence": self.stop_sequence}
        u = self.ex.usage
        usage = usage_of(
            u.input_tokens, u.output_tokens, u.cached_input_tokens, u.cache_write_tokens
        )
        out.append(
            event("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
        )
        out.append(event("message_stop", {"type": "message_stop"}))
        return b"".join(out)

    def error(self, error: GatewayError) -> bytes:
        return event("error", {"type": "error", **error.envelope()})

    # -- parts ---------------------------------------------------------------------------------

    def _start(self, data: dict[str, Any]) -> bytes:
        self.started = True
        message: dict[str, Any] = {
            "id": message_id(data.get("id")),
            "type": "message",
            "role": "assistant",
            "content": [],
            "model": data.get("model") or self.ex.model,
            "stop_reason": None,
            "stop_sequence": None,
            "usage": self._prompt_usage(),
        }
        return event("message_start", {"type": "message_start", "message": message})

    def _prompt_usage(self) -> dict[str, int]:
        """The prompt's tokens as SDKs read them at the start: the provider's count when it
        gave one this early (an Anthropic target), else the gateway's estimate (the answer's
        `message_delta` has the provider's final count)."""
        early = self.ex.scratch.get(PROMPT_USAGE)
        if not isinstance(early, dict):
            return usage_of(self.ex.prompt_estimate(), 0, 0, 0)
        details = early.get("prompt_tokens_details") or {}
        return usage_of(
            int(early.get("prompt_tokens") or 0),
            0,
            int(details.get("cached_tokens") or 0),
            int(early.get("cache_creation_input_tokens") or 0),
        )

    def _choice(self, choice: dict[str, Any], out: list[bytes], changed: bool) -> None:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            self._reasoning(delta, out)
            text = delta.get("content")
            # `content: ""` the guard made (it holds the first text) or an adapter wrote: the
            # text block begins here, so it stays first when a tool call follows; an empty
            # content as the provider sent it (before a tool call) begins nothing
            first = changed and not self.blocks
            if isinstance(text, str) and (text or first):
                out.append(self._text("content", text))
            refusal = delta.get("refusal")
            if isinstance(refusal, str) and refusal:
                out.append(self._text("refusal", refusal))
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    out.append(self._tool(call))
        if choice.get("finish_reason"):
            self.stop, self.stop_sequence = stop_of(choice, self.ex.body)

    def _reasoning(self, delta: dict[str, Any], out: list[bytes]) -> None:
        """Reasoning (`reasoning_content`, else `reasoning`) as the thinking block's text; a
        `thinking_blocks` delta's signature as its `signature_delta`, its redacted thinking as
        a block of its own."""
        text = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(text, str) and text:
            out.append(self._thinking({"type": "thinking_delta", "thinking": text}))
        blocks = delta.get("thinking_blocks")
        for block in blocks if isinstance(blocks, list) else ():
            kind = block.get("type") if isinstance(block, dict) else None
            if (
                kind == "thinking"
                and isinstance(block.get("signature"), str)
                and block["signature"]
            ):
                out.append(
                    self._thinking({"type": "signature_delta", "signature": block["signature"]})
                )
            elif kind == "redacted_thinking" and isinstance(block.get("data"), str):
                start = {"type": "redacted_thinking", "data": block["data"]}
                out.append(self._began(self._next_block(), start))

    def _thinking(self, delta: dict[str, Any]) -> bytes:
        begin = b""
        if self.thinking_block is None:
            self.thinking_block = self._next_block()
            start = {"type": "thinking", "thinking": "", "signature": ""}
            begin = self._began(self.thinking_block, start)
        return begin + self._delta(self.thinking_block, delta)

    def _text(self, field: str, text: str) -> bytes:
        begin = b""
        block = self.text_blocks.get(field)
        if block is None:
            block = self.text_blocks[field] = self._next_block()
            begin = self._began(block, {"type": "text", "text": ""})
        if not text:
            return begin
        return begin + self._delta(block, {"type": "text_delta", "text": text})

    def _tool(self, call: dict[str, Any]) -> bytes:
        index = call.get("index", 0)
        fn = obj(call.get("function"))
        begin = b""
        # (the relay gave every call an index: ToolIndexes)
        block = self.tool_blocks.get(index) if isinstance(index, int) else None
        if block is None:
            block = self._next_block()
            if isinstance(index, int):
                self.tool_blocks[index] = block
            start: dict[str, Any] = {
                "type": "tool_use",
                "id": call.get("id"),
                "name": fn.get("name"),
                "input": {},
            }
            begin = self._began(block, start)
        args = fn.get("arguments")
        if not isinstance(args, str) or not args:
            return begin
        return begin + self._delta(block, {"type": "input_json_delta", "partial_json": args})

    def _next_block(self) -> int:
        self.blocks += 1
        return self.blocks - 1

    def _began(self, index: int, block: dict[str, Any]) -> bytes:
        return event(
            "content_block_start",
            {"type": "content_block_start", "index": index, "content_block": block},
        )

    def _delta(self, index: int, delta: dict[str, Any]) -> bytes:
        return event(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        )
