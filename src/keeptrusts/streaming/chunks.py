"""Apply the stream guard to OpenAI-shaped chunks, keeping order, roles, tool calls and finish."""

from __future__ import annotations

from typing import Any

from keeptrusts.pipeline.texts import EXTRA_TEXT_FIELDS
from keeptrusts.providers.failures import UpstreamError
from keeptrusts.streaming.guard import StreamGuard

#: a delta's text fields, each guarded on its own
DELTA_TEXT_FIELDS = ("content", *EXTRA_TEXT_FIELDS)


def guard_chunk(data: dict[str, Any], guard: StreamGuard, choices: int) -> bool:
    """Replace each text delta by what is safe to release; True when the chunk changed.

    A choice whose text the guard changed or held back loses its per-token `logprobs`: they
    spell out the same text, token by token. A provider that sends what the guard cannot
    govern fails the stream as a protocol error: a text field that is not a string (or sits
    in something other than the object or array it belongs in), a choice `index` that is not
    one of the `choices` the request asked for (clients join `0`, `"0"` and, reading
    `choices[0]`, any lone index, where the guard would hold them apart), or text after a
    choice's `finish_reason`."""
    changed = False
    listed = data.get("choices")
    if listed is None:
        return False
    if not isinstance(listed, list):  # (`choices[0]` reads an object's "0" key in JS)
        raise unguardable("streamed 'choices' that is not an array")
    for choice in listed:
        if not isinstance(choice, dict):
            raise unguardable("streamed a choice that is not an object")
        idx = choice.get("index", 0)
        if type(idx) is not int or not 0 <= idx < choices:  # (bool is not int here)
            raise _bad_index(idx, choices)
        touched = False
        delta = choice.get("delta")
        if isinstance(delta, dict):
            touched = _guard_delta(idx, delta, guard)
        elif delta is not None:
            raise unguardable("streamed a delta that is not an object")
        text = choice.get("text")
        if isinstance(text, str):
            touched |= _swap(choice, "text", (idx, "text"), guard)
        elif text is not None:
            raise _not_text("a completion text")
        if choice.get("finish_reason"):  # (some servers send "" on every chunk)
            touched |= _flush_choice(idx, choice, guard)
            guard.finished.add(idx)
        if touched:
            changed = True
            if choice.get("logprobs") is not None:
                choice["logprobs"] = None
    return changed


def _guard_delta(idx: int, delta: dict[str, Any], guard: StreamGuard) -> bool:
    changed = False
    for field in DELTA_TEXT_FIELDS:
        value = delta.get(field)
        if isinstance(value, str):
            key = (idx, field)
            changed |= _swap(delta, field, key, guard, is_json(key, guard))
        elif value is not None:
            raise _not_text(f"a {field} delta")
    calls = delta.get("tool_calls")
    if calls is not None:
        if not isinstance(calls, list):
            raise unguardable("streamed 'tool_calls' that is not an array")
        for call in calls:
            changed |= _guard_call(idx, call, guard)
    fn = delta.get("function_call")
    if fn is not None and _holds_text(fn, "function_call", "arguments"):
        changed |= _swap(fn, "arguments", (idx, "function_call"), guard, json=True)
    audio = delta.get("audio")
    if audio is not None and _holds_text(audio, "audio", "transcript"):
        changed |= _swap(audio, "transcript", (idx, "audio"), guard)
    notes = delta.get("annotations")
    if notes is not None:
        changed |= _guard_notes(idx, notes, guard)
    blocks = delta.get("thinking_blocks")
    if blocks is not None:
        changed |= _unsigned_text(blocks)
    return changed


def _unsigned_text(blocks: Any) -> bool:
    """Streamed `thinking_blocks` carry signatures (and redacted thinking's data); their text
    streams as `reasoning_content`, which is guarded. A provider that also puts the text here
    (LiteLLM does) would have it reach the client unguarded: it is emptied."""
    if not isinstance(blocks, list):
        raise unguardable("streamed 'thinking_blocks' that is not an array")
    changed = False
    for block in blocks:
        if not isinstance(block, dict):
            raise unguardable("streamed a thinking block that is not an object")
        if block.get("thinking"):
            block["thinking"] = ""
            changed = True
    return changed


def _guard_notes(idx: int, notes: Any, guard: StreamGuard) -> bool:
    """Annotations: a cited page's title, shown beside the answer."""
    if not isinstance(notes, list):
        raise unguardable("streamed 'annotations' that is not an array")
    changed = False
    for n, note in enumerate(notes):
        if not isinstance(note, dict):
            raise unguardable("streamed an annotation that is not an object")
        cite = note.get("url_citation")
        if cite is not None and _holds_text(cite, "url_citation", "title"):
            changed |= _whole(cite, "title", (idx, "annotation", n), guard)
    return changed


def _guard_call(idx: int, call: Any, guard: StreamGuard) -> bool:
    """A tool-call delta: a function's JSON arguments, or a custom tool's free-text input."""
    if not isinstance(call, dict):
        raise unguardable("streamed a tool call that is not an object")
    changed = False
    fn = call.get("function")
    if fn is not None and _holds_text(fn, "function", "arguments"):
        key = (idx, "tool", call.get("index", 0))
        changed = _swap(fn, "arguments", key, guard, json=True)
    custom = call.get("custom")
    if custom is not None and _holds_text(custom, "custom", "input"):
        changed |= _swap(custom, "input", (idx, "custom", call.get("index", 0)), guard)
    return changed


def _holds_text(part: Any, name: str, field: str) -> bool:
    """Whether `part` (not None) has a text at `field`; a protocol error when `part` is not
    an object or its `field` is there and not a string."""
    if isinstance(part, dict):
        value = part.get(field)
        if isinstance(value, str):
            return True
        if value is None:
            return False
    raise _not_text(f"a {name}.{field}")


def _whole(container: dict[str, Any], field: str, key: Any, guard: StreamGuard) -> bool:
    """A text that arrives whole in one delta (a citation's title): governed at once."""
    original = container[field]
    released = guard.feed(key, original) + guard.flush(key)
    if released == original:
        return False
    container[field] = released
    return True


def is_json(key: Any, guard: StreamGuard) -> bool:
    """Whether a guarded field holds JSON text: tool-call and function-call arguments, and the
    content when the request asked for JSON output."""
    if not (isinstance(key, tuple) and len(key) > 1):
        return False
    return key[1] in ("tool", "function_call") or (guard.json_content and key[1] == "content")


def unguardable(what: str) -> UpstreamError:
    return UpstreamError("protocol", f"the provider {what}; the stream was stopped")


def _not_text(what: str) -> UpstreamError:
    return unguardable(f"streamed {what} that is not a string")


def _bad_index(idx: Any, choices: int) -> UpstreamError:
    if type(idx) is not int:  # (the value itself is not shown: it could be any text)
        return unguardable("streamed a choice index that is not a non-negative integer")
    return unguardable(f"streamed choice index {idx}; the request asked for {choices}")


def _swap(
    container: dict[str, Any], field: str, key: Any, guard: StreamGuard, json: bool = False
) -> bool:
    original = container[field]
    if key[0] in guard.finished and original:
        raise unguardable("streamed text for a choice after its finish_reason")
    released = guard.feed(key, original, json)
    if released == original:
        return False
    container[field] = released
    return True


def _flush_choice(idx: Any, choice: dict[str, Any], guard: StreamGuard) -> bool:
    changed = False
    for key in guard.keys():  # noqa: SIM118 - a list copy: flush mutates
        if not (isinstance(key, tuple) and key[0] == idx):
            continue
        rest = guard.flush(key, json=is_json(key, guard))
        if not rest:
            continue
        changed = True
        _append(choice, key, rest)
    return changed


def _append(choice: dict[str, Any], key: tuple[Any, ...], text: str) -> None:
    if key[1] == "text":
        choice["text"] = (choice.get("text") or "") + text
        return
    delta = choice.setdefault("delta", {})
    if key[1] in DELTA_TEXT_FIELDS:
        delta[key[1]] = (delta.get(key[1]) or "") + text
        return
    if key[1] in ("function_call", "audio"):
        inner = delta.setdefault(key[1], {})
        name = "arguments" if key[1] == "function_call" else "transcript"
        inner[name] = (inner.get(name) or "") + text
        return
    # a tool call's held text: a function's arguments, or a custom tool's input
    inner, name = ("custom", "input") if key[1] == "custom" else ("function", "arguments")
    calls = delta.setdefault("tool_calls", [])
    for call in calls:
        if isinstance(call, dict) and call.get("index", 0) == key[2]:
            part = call.setdefault(inner, {})
            part[name] = (part.get(name) or "") + text
            return
    calls.append({"index": key[2], inner: {name: text}})


def flush_all(template: dict[str, Any] | None, guard: StreamGuard) -> dict[str, Any] | None:
    """A chunk carrying everything still held (a stream that ended without finish_reason)."""
    keys = guard.keys()
    if not keys:
        return None
    choices: dict[Any, dict[str, Any]] = {}
    completions = bool(template and template.get("object") == "text_completion")
    for key in keys:
        rest = guard.flush(key, json=is_json(key, guard))
        if not rest or not isinstance(key, tuple):
            continue
        choice = choices.setdefault(key[0], {"index": key[0], "finish_reason": None})
        if not completions:
            choice.setdefault("delta", {})
        _append(choice, key, rest)
    if not choices:
        return None
    base = {k: v for k, v in (template or {}).items() if k in ("id", "object", "created", "model")}
    return {**base, "choices": list(choices.values())}


def is_empty(data: dict[str, Any]) -> bool:
    """A chunk the guard emptied: no text, no role, no tool call, no finish, no usage."""
    if data.get("usage"):
        return False
    choices = data.get("choices") or ()
    if not choices:
        return False
    for choice in choices:
        if not isinstance(choice, dict) or choice.get("finish_reason"):
            return False
        delta = choice.get("delta")
        if isinstance(delta, dict) and any(delta.values()):
            return False
        if choice.get("text"):  # (a chunk may carry both: each is guarded)
            return False
    return True


class ToolIndexes:
    """Gives tool-call deltas the `index` some providers leave out (or send as null), before
    the guard and the stream formats read it: a delta with an `id` begins a new call, one
    without continues the choice's latest call. One per stream."""

    __slots__ = ("count", "latest")

    def __init__(self) -> None:
        self.count: dict[int, int] = {}
        self.latest: dict[int, int] = {}

    def resolve(self, data: dict[str, Any]) -> None:
        for choice in data.get("choices") or ():
            delta = choice.get("delta") if isinstance(choice, dict) else None
            calls = delta.get("tool_calls") if isinstance(delta, dict) else None
            if calls:
                ci = choice.get("index", 0)
                self._calls(ci if isinstance(ci, int) else 0, calls)

    def _calls(self, ci: int, calls: Any) -> None:
        for call in calls if isinstance(calls, list) else ():
            if not isinstance(call, dict):
                continue
            index = call.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                if call.get("id") or ci not in self.latest:
                    index = self.count.get(ci, 0)
                else:
                    index = self.latest[ci]
                call["index"] = index
            self.latest[ci] = index
            self.count[ci] = max(self.count.get(ci, 0), index + 1)
