"""What a provider's successful JSON answer must look like before the response policies read
it: every text the client will see in a place the policies know (`pipeline/texts.py`).

An answer of another shape (a 200 carrying an `error` object, `choices` that is not an array,
a message whose content, tool-call arguments, audio transcript or citation titles are not text)
could carry text past them, and the openai SDK could not read it either: it is the provider's
protocol error (502), as a stream's unreadable chunk is.
"""

from __future__ import annotations

from typing import Any

from keeptrusts.pipeline.texts import EXTRA_TEXT_FIELDS
from keeptrusts.providers.failures import UpstreamError


def check_answer(endpoint: str, body: dict[str, Any], target: str) -> None:
    """Raise the protocol UpstreamError for a completion the policies could not govern."""
    if endpoint == "embeddings":
        return  # vectors: no text to govern
    choices = body.get("choices")
    if not isinstance(choices, list):
        what = "an error object" if body.get("error") else "no 'choices' array"
        raise _bad(target, f"answered 200 with {what} instead of a completion")
    for choice in choices:
        if not isinstance(choice, dict):
            raise _bad(target, "sent a choice that is not an object")
        if not _readable(choice):
            raise _bad(target, "sent a choice whose text is not a string")


def _readable(choice: dict[str, Any]) -> bool:
    if not _text_or_none(choice.get("text")):
        return False
    msg = choice.get("message")
    if msg is None:
        return True
    if not isinstance(msg, dict):
        return False
    content = msg.get("content")
    if isinstance(content, list):
        if not all(map(_part_ok, content)):
            return False
    elif not _text_or_none(content):
        return False
    if not all(_text_or_none(msg.get(name)) for name in EXTRA_TEXT_FIELDS):
        return False
    calls = msg.get("tool_calls")
    if calls is not None and not (isinstance(calls, list) and all(map(_call_ok, calls))):
        return False
    if not (_holds(msg, "function_call", "arguments") and _holds(msg, "audio", "transcript")):
        return False
    notes = msg.get("annotations")
    return notes is None or (isinstance(notes, list) and all(map(_note_ok, notes)))


def _part_ok(part: Any) -> bool:
    return (
        isinstance(part, dict)
        and _text_or_none(part.get("text"))
        and _text_or_none(part.get("refusal"))
    )


def _note_ok(note: Any) -> bool:
    """An annotation: a cited page's title is shown beside the answer."""
    return isinstance(note, dict) and _holds(note, "url_citation", "title")


def _call_ok(call: Any) -> bool:
    return (
        isinstance(call, dict)
        and _holds(call, "function", "arguments")
        and _holds(call, "custom", "input")
    )


def _holds(parent: dict[str, Any], name: str, field: str) -> bool:
    """`parent[name]` is absent, or an object whose `field` is absent or a string."""
    part = parent.get(name)
    return part is None or (isinstance(part, dict) and _text_or_none(part.get(field)))


def _text_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


def _bad(target: str, what: str) -> UpstreamError:
    return UpstreamError("protocol", f"target {target!r} {what}", target=target)
