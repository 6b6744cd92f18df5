"""The stream events of a `reasoning` item's text, as OpenAI sends them for the part it is in.

    summary (`reasoning.summary` asked):  response.reasoning_summary_part.added,
        response.reasoning_summary_text.delta..., response.reasoning_summary_text.done,
        response.reasoning_summary_part.done
    content (otherwise):                  response.content_part.added (a reasoning_text part),
        response.reasoning_text.delta..., response.reasoning_text.done,
        response.content_part.done

An item has one part (index 0): each thinking block is an item of its own (`reasoning.py`).
`where` is the item's `item_id` and `output_index`.
"""

from __future__ import annotations

from typing import Any

Event = tuple[str, dict[str, Any]]


def begun(summary: bool, where: dict[str, Any]) -> Event:
    if summary:
        part = {"type": "summary_text", "text": ""}
        return "response.reasoning_summary_part.added", {**where, "summary_index": 0, "part": part}
    part = {"type": "reasoning_text", "text": ""}
    return "response.content_part.added", {**where, "content_index": 0, "part": part}


def delta(summary: bool, where: dict[str, Any], text: str) -> Event:
    if summary:
        return "response.reasoning_summary_text.delta", {
            **where,
            "summary_index": 0,
            "delta": text,
        }
    return "response.reasoning_text.delta", {**where, "content_index": 0, "delta": text}


def finished(summary: bool, where: dict[str, Any], text: str) -> list[Event]:
    if summary:
        at = {**where, "summary_index": 0}
        part = {"type": "summary_text", "text": text}
        return [
            ("response.reasoning_summary_text.done", {**at, "text": text}),
            ("response.reasoning_summary_part.done", {**at, "part": part}),
        ]
    at = {**where, "content_index": 0}
    part = {"type": "reasoning_text", "text": text}
    return [
        ("response.reasoning_text.done", {**at, "text": text}),
        ("response.content_part.done", {**at, "part": part}),
    ]
