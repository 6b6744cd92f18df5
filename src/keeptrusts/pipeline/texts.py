"""Where the text is in OpenAI-shaped bodies: every string a provider or a client would see.

A slot is `(container, key)` with `container[key]` a str, so a policy's rewrite is one
assignment. Requests: message contents and text parts, tool-call arguments, completion
prompts, embedding inputs. Responses: message contents, refusals, tool-call arguments, texts.
"""

from __future__ import annotations

from typing import Any

Slot = tuple[Any, Any]


OPERATOR_ROLES = frozenset({"system", "developer"})


def request_slots(endpoint: str, body: dict[str, Any]) -> list[Slot]:
    """Every request text."""
    return request_texts(endpoint, body)[0]


def request_texts(endpoint: str, body: dict[str, Any]) -> tuple[list[Slot], list[Slot]]:
    """Every request text, and those of them that callers and tools wrote (without the
    operator's system/developer messages): both from one walk over the body."""
    every: list[Slot] = []
    if endpoint != "chat":
        if endpoint == "completions":
            _string_or_list(body, "prompt", every)
        elif endpoint == "embeddings":
            _string_or_list(body, "input", every)
        return every, every  # prompts and inputs have no roles: callers wrote them all
    caller: list[Slot] = []
    for msg in body.get("messages") or ():
        if isinstance(msg, dict):
            start = len(every)
            _message_slots(msg, every)
            if msg.get("role") not in OPERATOR_ROLES:
                caller += every[start:]
    return every, caller


def response_slots(body: dict[str, Any]) -> list[Slot]:
    slots: list[Slot] = []
    for choice in body.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        if isinstance(choice.get("text"), str):
            slots.append((choice, "text"))
        msg = choice.get("message")
        if isinstance(msg, dict):
            _message_slots(msg, slots)
            if isinstance(msg.get("refusal"), str):
                slots.append((msg, "refusal"))
    return slots


def _message_slots(msg: dict[str, Any], slots: list[Slot]) -> None:
    content = msg.get("content")
    if isinstance(content, str):
        slots.append((msg, "content"))
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                slots.append((part, "text"))
    calls = msg.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        fn = call.get("function") if isinstance(call, dict) else None
        if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
            slots.append((fn, "arguments"))
    fn = msg.get("function_call")
    if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
        slots.append((fn, "arguments"))


def _string_or_list(body: dict[str, Any], key: str, slots: list[Slot]) -> None:
    value = body.get(key)
    if isinstance(value, str):
        slots.append((body, key))
    elif isinstance(value, list):
        slots.extend((value, i) for i, item in enumerate(value) if isinstance(item, str))
