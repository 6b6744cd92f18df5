"""An Anthropic answer made of given content blocks, in their order (`Behaviour.blocks`): as a
Message, and as the stream events Anthropic sends for it (thinking and text in pieces of a few
characters, a thinking block's signature at its end, a tool's input as one JSON piece)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

PIECE = 7


def stop_reason(blocks: list[dict[str, Any]]) -> str:
    return "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"


def events(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """`content_block_start` / `_delta` / `_stop` events for each block, in order."""
    for index, block in enumerate(blocks):
        kind = block["type"]
        start = {**block, "input": {}} if kind == "tool_use" else dict(block)
        for field in ("thinking", "signature", "text"):
            if field in start:
                start[field] = ""
        yield _event("content_block_start", index, content_block=start)
        for delta in _deltas(block):
            yield _event("content_block_delta", index, delta=delta)
        yield _event("content_block_stop", index)


def _deltas(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = block["type"]
    if kind == "thinking":
        for piece in _pieces(block["thinking"]):
            yield {"type": "thinking_delta", "thinking": piece}
        yield {"type": "signature_delta", "signature": block["signature"]}
    elif kind == "text":
        for piece in _pieces(block["text"]):
            yield {"type": "text_delta", "text": piece}
    elif kind == "tool_use":
        yield {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}


def _pieces(text: str) -> list[str]:
    return [text[i : i + PIECE] for i in range(0, len(text), PIECE)]


def _event(name: str, index: int, **fields: Any) -> tuple[str, dict[str, Any]]:
    return name, {"type": name, "index": index, **fields}
