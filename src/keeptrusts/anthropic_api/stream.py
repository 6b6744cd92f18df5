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
        #: thinking blocks begun whose text and signature may still come, oldest first: the
        #: released reasoning is the first one's until its signature (`ThinkingMarks` sends
        #: that after the block's last character, whatever the guard held back)
        self.thinking: list[int] = []
        #: the provider began a thinking block and has not ended it (signed it) yet
        self.thinking_open = False
        self.blocks = 0
        self.stop: str | None = None
        self.stop_sequence: str | None = None

    def begin(self, data: dict[str, Any]) -> bytes | None:
        """The blocks a chunk begins, started as the provider began them (before the guard
        released their text), so the Message keeps the provider's block order."""
        out: list[bytes] = []
        if not self.started:
            out.append(self._start(data))
        for choice in data.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                delta = choice.get("delta")
                if isinstance(delta, dict):
                    self._begin(delta, out)
        return b"".join(out) or None

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

    def _begin(self, delta: dict[str, Any], out: list[bytes]) -> None:
        """Start the blocks a provider's delta begins: thinking (its first reasoning, or a
        signature with none), a redacted thinking block (whole: no text to guard), the text
        and refusal blocks, tool uses."""
        if _reasoning_text(delta) and not self.thinking_open:
            self._open_thinking(out)
        for kind, value in _entries(delta):
            if kind == "signature":
                if not self.thinking_open:
                    self._open_thinking(out)
                self.thinking_open = False
            else:
                start = {"type": "redacted_thinking", "data": value}
                out.append(self._began(self._next_block(), start))
        for field in ("content", "refusal"):
            text = delta.get(field)
            if isinstance(text, str) and text and field not in self.text_blocks:
                out.append(self._text(field, ""))
        for call in delta.get("tool_calls") or ():
            if isinstance(call, dict):
                out.append(self._tool_block(call)[1])

    def _open_thinking(self, out: list[bytes]) -> None:
        self.thinking_open = True
        self.thinking.append(self._next_block())
        start = {"type": "thinking", "thinking": "", "signature": ""}
        out.append(self._began(self.thinking[-1], start))

    def _reasoning(self, delta: dict[str, Any], out: list[bytes]) -> None:
        """Released reasoning (`reasoning_content`, else `reasoning`) as the current thinking
        block's text; a `thinking_blocks` signature as its `signature_delta`, which ends it
        (redacted thinking began whole in `_begin`)."""
        text = _reasoning_text(delta)
        if text:
            out.append(
                self._delta(self._current(out), {"type": "thinking_delta", "thinking": text})
            )
        for kind, value in _entries(delta):
            if kind == "signature":
                signed = {"type": "signature_delta", "signature": value}
                out.append(self._delta(self._current(out), signed))
                self.thinking.pop(0)

    def _current(self, out: list[bytes]) -> int:
        if not self.thinking:  # (every reasoning text began one in `_begin`)
            self._open_thinking(out)
            self.thinking_open = False
        return self.thinking[0]

    def _text(self, field: str, text: str) -> bytes:
        begin = b""
        block = self.text_blocks.get(field)
        if block is None:
            block = self.text_blocks[field] = self._next_block()
            begin = self._began(block, {"type": "text", "text": ""})
        if not text:
            return begin
        return begin + self._delta(block, {"type": "text_delta", "text": text})

    def _tool_block(self, call: dict[str, Any]) -> tuple[int, bytes]:
        """The call's block, and its start when this call begins it."""
        index = call.get("index", 0)
        # (the relay gave every call an index: ToolIndexes)
        block = self.tool_blocks.get(index) if isinstance(index, int) else None
        if block is not None:
            return block, b""
        block = self._next_block()
        if isinstance(index, int):
            self.tool_blocks[index] = block
        name = obj(call.get("function")).get("name")
        start: dict[str, Any] = {"type": "tool_use", "id": call.get("id"), "name": name}
        start["input"] = {}
        return block, self._began(block, start)

    def _tool(self, call: dict[str, Any]) -> bytes:
        block, begin = self._tool_block(call)
        args = obj(call.get("function")).get("arguments")
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


def _reasoning_text(delta: dict[str, Any]) -> str:
    text = delta.get("reasoning_content") or delta.get("reasoning")
    return text if isinstance(text, str) else ""


def _entries(delta: dict[str, Any]) -> list[tuple[str, str]]:
    """A delta's `thinking_blocks` that end or are blocks: ("signature", a thinking block's
    signature) and ("redacted", a redacted block's data); unsigned thinking is its text."""
    out: list[tuple[str, str]] = []
    blocks = delta.get("thinking_blocks")
    for block in blocks if isinstance(blocks, list) else ():
        kind = block.get("type") if isinstance(block, dict) else None
        if kind == "thinking" and isinstance(block.get("signature"), str) and block["signature"]:
            out.append(("signature", block["signature"]))
        elif kind == "redacted_thinking" and isinstance(block.get("data"), str):
            out.append(("redacted", block["data"]))
    return out
