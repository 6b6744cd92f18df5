"""Anthropic Messages stream events -> OpenAI chat completion chunks.

A thinking block's text streams as `reasoning_content`, its signature (at the block's end) as
`thinking_blocks: [{type: thinking, thinking: "", signature}]`, a redacted thinking block as
`thinking_blocks: [{type: redacted_thinking, data}]`. In a turn with interleaved thinking (a
thinking block after another kind), such an entry carries its block's `index` and the finishing
chunk the text's `content_index`, as the JSON answer has them (`thinking_blocks.TurnPlaces`).

A function tool's input streams as JSON pieces, which are its arguments' pieces. A custom tool's
input (`{"input": text}`, `anthropic_tools`) is gathered until its block ends and sent as one
piece of text: its JSON pieces are not pieces of the text.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from keeptrusts.providers.anthropic_tools import custom_input
from keeptrusts.providers.anthropic_translate import STOP_REASONS, matched_stop, usage_of
from keeptrusts.providers.thinking_blocks import CONTENT_INDEX, INDEX, TurnPlaces


class ChunkTranslator:
    """Stateful: one per stream. `feed(event)` returns the OpenAI chunks it produces."""

    def __init__(self, model: str, custom: frozenset[str] = frozenset()) -> None:
        self.id = "chatcmpl-anthropic"
        #: the request's custom tools, and the JSON pieces of their blocks (Anthropic index)
        self.custom = custom
        self.custom_json: dict[int, list[str]] = {}
        self.model = model
        self.created = int(time.time())
        self.usage: dict[str, Any] = {}
        self.tool_index: dict[int, int] = {}
        #: the tool blocks (Anthropic index) whose input has had some text so far
        self.tool_input: set[int] = set()
        #: a stop_reason arrived: the message is complete even if message_stop never does
        self.finished = False
        #: the assistant role goes with the first block, which says what the answer starts
        #: with: `content: ""` for text, `content: null` for a tool call (as OpenAI sends them)
        self.role_sent = False
        #: `message_start`'s usage (the prompt's count), until the first chunk carries it
        self.prompt_usage: dict[str, Any] | None = None
        #: the blocks' places in the turn; the thinking blocks (Anthropic index) that need one
        self.places = TurnPlaces()
        self.thinking_at: dict[int, int] = {}

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        if not self.role_sent:
            self.role_sent = True
            delta = {"role": "assistant", "content": "", **delta}
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }

    def feed(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        kind = event.get("type")
        if kind == "message_start":
            msg = event.get("message") or {}
            self.id = "chatcmpl-" + str(msg.get("id", "anthropic"))
            self.model = str(msg.get("model") or self.model)
            self.usage.update(msg.get("usage") or {})
            self.prompt_usage = usage_of(self.usage) if self.usage else None
            return []
        if kind == "content_block_start":
            return self._block_start(event)
        if kind == "content_block_delta":
            return self._block_delta(event)
        if kind == "content_block_stop":
            return self._block_stop(event)
        if kind == "message_delta":
            self.usage.update(event.get("usage") or {})
            delta = event.get("delta") or {}
            self.finished = True
            text_at = self.places.content_index()
            finish = STOP_REASONS.get(str(delta.get("stop_reason")), "stop")
            chunk = self._chunk({} if text_at is None else {CONTENT_INDEX: text_at}, finish)
            matched_stop(delta, chunk["choices"][0])
            return [chunk]
        if kind == "message_stop":
            return [self.usage_chunk()]
        return []

    def _block_start(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        block = event.get("content_block") or {}
        at = self.places.add(str(block.get("type")))
        if at is not None:
            self.thinking_at[int(event.get("index", 0))] = at
        if block.get("type") == "thinking":  # (no text block begins: `content` stays null)
            return [
                self._chunk({"content": None, "reasoning_content": block.get("thinking") or ""})
            ]
        if block.get("type") == "redacted_thinking":
            redacted: dict[str, Any] = {
                "type": "redacted_thinking",
                "data": block.get("data") or "",
            }
            if at is not None:
                redacted[INDEX] = at
            return [self._chunk({"content": None, "thinking_blocks": [redacted]})]
        if block.get("type") != "tool_use":
            text = block.get("text") or ""
            return [self._chunk({"content": text})] if text or not self.role_sent else []
        index = len(self.tool_index)
        self.tool_index[int(event.get("index", 0))] = index
        call: dict[str, Any] = {"index": index, "id": block.get("id")}
        if block.get("name") in self.custom:
            self.custom_json[int(event.get("index", 0))] = []
            call.update(type="custom", custom={"name": block.get("name"), "input": ""})
        else:
            call.update(type="function", function={"name": block.get("name"), "arguments": ""})
        delta: dict[str, Any] = {"tool_calls": [call]}
        if not self.role_sent:
            delta["content"] = None
        return [self._chunk(delta)]

    def _block_delta(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        delta = event.get("delta") or {}
        if delta.get("type") == "text_delta":
            return [self._chunk({"content": delta.get("text", "")})]
        if delta.get("type") == "thinking_delta":
            return [self._chunk({"reasoning_content": delta.get("thinking", "")})]
        if delta.get("type") == "signature_delta":  # (the text came as reasoning_content)
            signed: dict[str, Any] = {
                "type": "thinking",
                "thinking": "",
                "signature": delta.get("signature", ""),
            }
            at = self.thinking_at.get(int(event.get("index", 0)))
            if at is not None:
                signed[INDEX] = at
            return [self._chunk({"thinking_blocks": [signed]})]
        if delta.get("type") == "input_json_delta":
            block = int(event.get("index", 0))
            index = self.tool_index.get(block, 0)
            text = delta.get("partial_json", "")
            if block in self.custom_json:
                self.custom_json[block].append(text)
                return []
            if text:
                self.tool_input.add(block)
            part = {"index": index, "function": {"arguments": text}}
            return [self._chunk({"tool_calls": [part]})]
        return []

    def _block_stop(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """A tool block that ended with no input text (a tool without parameters: Anthropic
        sends one empty piece) gets `{}`, as OpenAI sends it and the JSON answer has it:
        `""` is no JSON, and clients parse the arguments."""
        block = int(event.get("index", 0))
        if block in self.custom_json:
            args = orjson.loads("".join(self.custom_json.pop(block)) or "{}")
            part = {"index": self.tool_index[block], "custom": {"input": custom_input(args)}}
            return [self._chunk({"tool_calls": [part]})]
        if block not in self.tool_index or block in self.tool_input:
            return []
        self.tool_input.add(block)
        part = {"index": self.tool_index[block], "function": {"arguments": "{}"}}
        return [self._chunk({"tool_calls": [part]})]

    def take_prompt_usage(self) -> dict[str, Any] | None:
        """`message_start`'s usage, once (for the first chunk)."""
        usage, self.prompt_usage = self.prompt_usage, None
        return usage

    def usage_chunk(self) -> dict[str, Any]:
        chunk = self._chunk({})
        chunk["choices"] = []
        chunk["usage"] = usage_of(self.usage)
        return chunk
