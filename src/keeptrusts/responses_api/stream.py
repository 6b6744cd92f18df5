"""Governed chat chunks -> Responses API stream events, for `/v1/responses` callers.

    response.created, response.in_progress,
    per output item: response.output_item.added (+ response.content_part.added for a message,
        and the reasoning's part: `reasoning_events.py`), then its text's delta events
        (reasoning, response.output_text.delta, response.refusal.delta,
        response.function_call_arguments.delta or response.custom_tool_call_input.delta)
    at the end, per item in order: ... .done events, response.output_item.done,
    response.completed (or response.incomplete: the answer hit max_output_tokens, or was filtered)

Every event carries `sequence_number`. Items are finished together at the end, not each when
the next begins: the stream guard holds the last characters of each text until it knows they
are safe, and may release them after the next item began (deltas name their item by
`output_index`, so the SDK still assembles one well-formed response). A block or failure after
the first byte ends the stream with an `error` event, which OpenAI's SDK raises as an APIError.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from keeptrusts.errors import GatewayError
from keeptrusts.pipeline.chat import API_REQUEST, obj
from keeptrusts.pipeline.context import Exchange
from keeptrusts.responses_api import custom_tools, reasoning
from keeptrusts.responses_api.response import (
    call_item,
    envelope,
    finish,
    message_item,
    new_id,
    text_part,
)
from keeptrusts.responses_api.stream_reasoning import Item, ReasoningItems, has_reasoning


class ResponsesStream(ReasoningItems):
    """One stream's writer (a `StreamFormat`)."""

    def __init__(self, ex: Exchange) -> None:
        self.ex = ex
        self.seq = 0
        self.response: dict[str, Any] | None = None
        self.items: list[Item] = []
        self.message: int | None = None
        self.summary = reasoning.wants_summary(obj(ex.scratch.get(API_REQUEST)))
        self.thinking: list[int] = []
        self.thinking_open = False
        #: the chat tool call's index -> its output index
        self.calls: dict[int, int] = {}
        self.finish_reason: Any = None

    def begin(self, data: dict[str, Any]) -> bytes | None:
        """The reasoning items a chunk begins, as the provider began them (`stream_reasoning`);
        other items begin as their released text arrives."""
        out: list[bytes] = []
        if self.response is None:
            self._start(data, out)
        for choice in data.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                delta = choice.get("delta")
                if isinstance(delta, dict) and has_reasoning(delta):
                    self._begin_reasoning(delta, out)
        return b"".join(out) if out else None

    def chunk(self, data: dict[str, Any], raw: bytes | None) -> bytes | None:
        out: list[bytes] = []
        if self.response is None:
            self._start(data, out)
        for choice in data.get("choices") or ():
            if isinstance(choice, dict) and choice.get("index", 0) == 0:
                self._choice(choice, out, raw is None)
        return b"".join(out) or None

    def done(self) -> bytes:
        out: list[bytes] = []
        if self.response is None:
            self._start({}, out)
        assert self.response is not None
        output = [self._finish_item(i, item, out) for i, item in enumerate(self.items)]
        response = finish({**self.response, "output": output}, self.finish_reason, self.ex)
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        out.append(self._event(kind, {"response": response}))
        return b"".join(out)

    def error(self, error: GatewayError) -> bytes:
        detail = {"code": error.code, "message": error.message, "param": None}
        return self._event("error", {**detail, **error.envelope()})

    # -- parts ---------------------------------------------------------------------------------

    def _event(self, kind: str, data: dict[str, Any]) -> bytes:
        payload = orjson.dumps({"type": kind, "sequence_number": self.seq, **data})
        self.seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + payload + b"\n\n"

    def _start(self, data: dict[str, Any], out: list[bytes]) -> None:
        self.response = envelope(self.ex, new_id("resp"), int(time.time()), data.get("model"))
        started = {
            **self.response,
            "status": "in_progress",
            "output": [],
            "usage": None,
        }
        out.append(self._event("response.created", {"response": started}))
        out.append(self._event("response.in_progress", {"response": started}))

    def _choice(self, choice: dict[str, Any], out: list[bytes], changed: bool) -> None:
        delta = choice.get("delta")
        if isinstance(delta, dict):
            if has_reasoning(delta):
                self._reasoning(delta, out)
            text = delta.get("content")
            # `content: ""` the guard made (it holds the first text) or an adapter wrote: the
            # message begins here, so it stays first when a function call follows; an empty
            # content as the provider sent it (before a tool call) begins nothing
            first = changed and not self.items
            if isinstance(text, str) and (text or first):
                self._text("text", text, out)
            refusal = delta.get("refusal")
            if isinstance(refusal, str) and refusal:
                self._text("refusal", refusal, out)
            for call in delta.get("tool_calls") or ():
                if isinstance(call, dict):
                    self._call(call, out)
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]

    def _text(self, part: str, text: str, out: list[bytes]) -> None:
        if self.message is None:
            self.message = len(self.items)
            self.items.append(Item(new_id("msg")))
            item = {
                **message_item(self.items[-1].id, "", "", "in_progress"),
                "content": [],
            }
            out.append(
                self._event(
                    "response.output_item.added",
                    {"output_index": self.message, "item": item},
                )
            )
        index, item_ = self.message, self.items[self.message]
        if part not in item_.texts:
            item_.parts.append(part)
            item_.texts[part] = []
            empty = text_part("") if part == "text" else {"type": "refusal", "refusal": ""}
            where = self._where(index, len(item_.parts) - 1)
            out.append(self._event("response.content_part.added", {**where, "part": empty}))
        if not text:
            return
        item_.texts[part].append(text)
        where = {**self._where(index, item_.parts.index(part)), "delta": text}
        if part == "text":
            out.append(self._event("response.output_text.delta", {**where, "logprobs": []}))
        else:
            out.append(self._event("response.refusal.delta", where))

    def _where(self, index: int, content_index: int = 0) -> dict[str, Any]:
        return {**self._at(index), "content_index": content_index}

    def _call(self, call: dict[str, Any], out: list[bytes]) -> None:
        chat_index = call.get("index", 0)  # (the relay gave every call one: ToolIndexes)
        index = self.calls.get(chat_index) if isinstance(chat_index, int) else None
        if index is None:
            index = len(self.items)
            if isinstance(chat_index, int):
                self.calls[chat_index] = index
            out.append(self._added(index, call))
        item = self.items[index]
        args = (
            custom_tools.call_input(call)
            if item.custom
            else obj(call.get("function")).get("arguments")
        )
        if isinstance(args, str) and args:
            item.args.append(args)
            where = {"item_id": item.id, "output_index": index, "delta": args}
            kind = (
                "response.custom_tool_call_input.delta"
                if item.custom
                else "response.function_call_arguments.delta"
            )
            out.append(self._event(kind, where))

    def _added(self, index: int, call: dict[str, Any]) -> bytes:
        """A new call item (a function's, or a custom tool's: its first delta says which)."""
        if custom_tools.is_custom(call):
            item = Item(new_id("ctc"), call=call, custom=True)
            added = custom_tools.call_item(item.id, call, "")
        else:
            item = Item(new_id("fc"), call=call)
            added = call_item(item.id, call, "", "in_progress")
        self.items.append(item)
        return self._event("response.output_item.added", {"output_index": index, "item": added})

    def _finish_item(self, index: int, item: Item, out: list[bytes]) -> dict[str, Any]:
        if item.reasoning:
            done = self._finish_reasoning(index, item, out)
        elif item.call is not None and item.custom:
            text = "".join(item.args)
            done = custom_tools.call_item(item.id, item.call, text)
            where = {"item_id": item.id, "output_index": index, "input": text}
            out.append(self._event("response.custom_tool_call_input.done", where))
        elif item.call is not None:
            arguments = "".join(item.args)
            done = call_item(item.id, item.call, arguments, "completed")
            where = {"item_id": item.id, "output_index": index}
            out.append(
                self._event(
                    "response.function_call_arguments.done",
                    {**where, "arguments": arguments, "name": done["name"]},
                )
            )
        else:
            done = self._finish_message(index, item, out)
        out.append(self._event("response.output_item.done", {"output_index": index, "item": done}))
        return done

    def _finish_message(self, index: int, item: Item, out: list[bytes]) -> dict[str, Any]:
        text = "".join(item.texts.get("text", ()))
        refusal = "".join(item.texts.get("refusal", ()))
        for content_index, part in enumerate(item.parts):
            where = self._where(index, content_index)
            if part == "text":
                done = {**where, "text": text, "logprobs": []}
                out.append(self._event("response.output_text.done", done))
                full = text_part(text)
            else:
                out.append(self._event("response.refusal.done", {**where, "refusal": refusal}))
                full = {"type": "refusal", "refusal": refusal}
            out.append(self._event("response.content_part.done", {**where, "part": full}))
        message = message_item(item.id, text, refusal, "completed")
        message["content"] = [
            text_part(text) if part == "text" else {"type": "refusal", "refusal": refusal}
            for part in item.parts
        ]
        return message
