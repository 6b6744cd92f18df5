"""Where the text is in OpenAI-shaped bodies: every string a provider or a client would see.

A slot is `(container, key)` with `container[key]` a str, so a policy's rewrite is one
assignment. Requests: message contents and text parts, tool-call arguments, completion
prompts, embedding inputs. Responses: message contents, refusals, reasoning, tool-call
arguments, texts.
"""

from __future__ import annotations

from typing import Any

Slot = tuple[Any, Any]


OPERATOR_ROLES = frozenset({"system", "developer"})

#: a message's text fields besides `content`: refusals, and the reasoning that
#: OpenAI-compatible servers return beside the answer (vLLM, DeepSeek: `reasoning_content`;
#: others: `reasoning`), which clients show and may send back in later turns
EXTRA_TEXT_FIELDS = ("refusal", "reasoning_content", "reasoning")


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
    tools = body.get("tools")
    if tools:
        _tool_slots(tools, every)
    return every, caller


def _tool_slots(tools: Any, slots: list[Slot]) -> None:
    """Tool descriptions (the function's and its parameters'): the provider reads them as
    instructions. Written by the application, like its system prompt."""
    for tool in tools if isinstance(tools, list) else ():
        fn = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(fn, dict):
            if isinstance(fn.get("description"), str):
                slots.append((fn, "description"))
            _schema_descriptions(fn.get("parameters"), slots, 0)


def _schema_descriptions(schema: Any, slots: list[Slot], depth: int) -> None:
    """`description` strings anywhere in a JSON schema (bounded depth: schemas are small)."""
    if depth > 16:
        return
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "description" and isinstance(value, str):
                slots.append((schema, key))
            elif isinstance(value, dict | list):
                _schema_descriptions(value, slots, depth + 1)
    elif isinstance(schema, list):
        for item in schema:
            _schema_descriptions(item, slots, depth + 1)


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
    return slots


def _message_slots(msg: dict[str, Any], slots: list[Slot]) -> None:
    content = msg.get("content")
    if isinstance(content, str):
        slots.append((msg, "content"))
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    slots.append((part, "text"))
                elif isinstance(part.get("refusal"), str):
                    slots.append((part, "refusal"))
    for name in EXTRA_TEXT_FIELDS:
        if isinstance(msg.get(name), str):
            slots.append((msg, name))
    audio = msg.get("audio")
    if isinstance(audio, dict) and isinstance(audio.get("transcript"), str):
        slots.append((audio, "transcript"))
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
