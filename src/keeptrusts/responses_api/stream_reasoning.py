"""A Responses stream's `reasoning` items: begun in the provider's order, filled as the stream
guard releases their text (`ResponsesStream` is built on `ReasoningItems`).

One item per thinking block, as in JSON answers (`reasoning.py`). A block's item begins when the
provider begins the block (`begin` sees each chunk before the guard held any of it), so items
keep the provider's order around tool calls (interleaved thinking) even though the guard holds
the end of each block's text: a redacted block's item begins whole, with its data; a signature
ends its block (`thinking_blocks` entries after the block's text, `ThinkingMarks`). Released
text goes to the oldest item whose signature has not come, which it then closes, as the
Messages stream writer does (`anthropic_api/stream.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keeptrusts.providers.thinking_blocks import thinking_block
from keeptrusts.responses_api import reasoning, reasoning_events
from keeptrusts.responses_api.response import new_id


@dataclass
class Item:
    id: str
    #: message: "text"/"refusal" parts in the order they began; reasoning: ["reasoning"] once
    #: its part began (a redacted block has none)
    parts: list[str] = field(default_factory=list)
    texts: dict[str, list[str]] = field(default_factory=dict)
    #: call: the chat tool call
    call: dict[str, Any] | None = None
    #: a call's arguments (a custom tool's input), or the reasoning's text, as they came
    args: list[str] = field(default_factory=list)
    custom: bool = False
    reasoning: bool = False
    #: reasoning: its thinking block's signature (or data), as `encrypted_content`
    sealed: str | None = None


class ReasoningItems:
    """The reasoning half of a Responses stream's writer."""

    items: list[Item]
    #: the caller asked for summaries: the text is the item's summary part, not its content's
    summary: bool
    #: reasoning items begun whose text and signature may still come, oldest first
    thinking: list[int]
    #: the provider's current block began and has not ended
    thinking_open: bool

    def _event(self, kind: str, data: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def _at(self, index: int) -> dict[str, Any]:
        return {"item_id": self.items[index].id, "output_index": index}

    def _begin_reasoning(self, delta: dict[str, Any], out: list[bytes]) -> None:
        """The items a provider's delta begins: its first reasoning text's (or a signature's
        with none), a redacted block's (whole)."""
        if _thought(delta) and not self.thinking_open:
            self._open(out)
        for block in _blocks(delta):
            if block["type"] == "thinking":
                if not self.thinking_open:
                    self._open(out)
                self.thinking_open = False
            else:
                self.items[self._new_item(out)].sealed = reasoning.sealed(block)

    def _reasoning(self, delta: dict[str, Any], out: list[bytes]) -> None:
        """Released reasoning: the oldest open item's text; a signature closes it."""
        text = _thought(delta)
        if text:
            index = self._current(out)
            self.items[index].args.append(text)
            event = reasoning_events.delta(self.summary, self._at(index), text)
            out.append(self._event(*event))
        for block in _blocks(delta):
            if block["type"] == "thinking":
                self.items[self._current(out)].sealed = reasoning.sealed(block)
                self.thinking.pop(0)

    def _current(self, out: list[bytes]) -> int:
        if not self.thinking:  # (every reasoning text began one in `_begin_reasoning`)
            self._open(out)
            self.thinking_open = False
        return self.thinking[0]

    def _open(self, out: list[bytes]) -> None:
        index = self._new_item(out)
        self.items[index].parts.append("reasoning")
        out.append(self._event(*reasoning_events.begun(self.summary, self._at(index))))
        self.thinking.append(index)
        self.thinking_open = True

    def _new_item(self, out: list[bytes]) -> int:
        index = len(self.items)
        self.items.append(Item(new_id("rs"), reasoning=True))
        added = reasoning.item(self.items[-1].id, None, "in_progress", summary=self.summary)
        out.append(
            self._event("response.output_item.added", {"output_index": index, "item": added})
        )
        return index

    def _finish_reasoning(self, index: int, item: Item, out: list[bytes]) -> dict[str, Any]:
        """Its part's .done events (a redacted block has no part), then the item."""
        text = "".join(item.args) if item.parts else None
        if text is not None:
            events = reasoning_events.finished(self.summary, self._at(index), text)
            out += [self._event(*e) for e in events]
        return reasoning.item(
            item.id, text, "completed", summary=self.summary, encrypted=item.sealed
        )


def has_reasoning(delta: dict[str, Any]) -> bool:
    """Whether a delta has reasoning or a thinking block's end (most have neither)."""
    return "reasoning_content" in delta or "thinking_blocks" in delta or "reasoning" in delta


def _thought(delta: dict[str, Any]) -> str:
    """A delta's reasoning (as OpenAI-compatible servers send it: vLLM, DeepSeek)."""
    text = delta.get("reasoning_content") or delta.get("reasoning")
    return text if isinstance(text, str) else ""


def _blocks(delta: dict[str, Any]) -> list[dict[str, Any]]:
    """A delta's `thinking_blocks` entries: a block's end (its signature), a redacted block."""
    listed = delta.get("thinking_blocks")
    if not listed or not isinstance(listed, list):
        return NONE  # (most deltas: one lookup)
    return [b for x in listed if (b := thinking_block(x)) is not None]


NONE: list[dict[str, Any]] = []
