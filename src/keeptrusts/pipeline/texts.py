"""Where the text is in OpenAI-shaped bodies: every string a provider or a client would see.

Requests: message contents and text parts, image URLs (for the policies: `url_text.py`),
tool-call arguments and custom-tool inputs, tool and function descriptions and their schema
texts, structured-output schemas, predicted outputs, completion prompts and suffixes, embedding
inputs, the `user` id; in both, thinking given back (`thinking_blocks`). Responses: message
contents, refusals, reasoning, tool-call arguments and custom-tool inputs, citation titles, texts.

A slot is `(container, key)` with `container[key]` a str, so a policy's rewrite is one
assignment. For the policies (`joined=True`) the texts are read as a provider or a client will
read them, at least as joined as any of them reads them (`JoinedParts`), so a term or an address
split across texts is found as in one string: the text parts of one message as one text,
whatever parts stand between them (translators drop them, `chat.message_text` and the
`anthropic` adapter; only a user message's images and files stay between its texts there); in a
request, consecutive messages of one turn (the adapter merges them: assistant, or user with tool
results) and all system and developer messages (Anthropic's one system prompt) as one text; and
tool-call arguments with their JSON escapes decoded, keys and values in their places, as a stream
reads them (`arguments.py`). Counting
(`joined=False`) reads each text once, on its own.
"""

from __future__ import annotations

from typing import Any

from keeptrusts.pipeline.arguments import ArgumentsText
from keeptrusts.pipeline.joined import JoinedParts, Run, Slot
from keeptrusts.pipeline.schema_texts import schema_texts
from keeptrusts.pipeline.url_text import url_slots

__all__ = ["JoinedParts", "Slot", "request_slots", "request_texts", "response_slots"]


OPERATOR_ROLES = frozenset({"system", "developer"})

#: a message's text fields besides `content`: refusals, and the reasoning that
#: OpenAI-compatible servers return beside the answer (vLLM, DeepSeek: `reasoning_content`;
#: others: `reasoning`), which clients show and may send back in later turns
EXTRA_TEXT_FIELDS = ("refusal", "reasoning_content", "reasoning")


def request_slots(endpoint: str, body: dict[str, Any]) -> list[Slot]:
    """Every request text, each part on its own (for counting characters)."""
    return request_texts(endpoint, body, joined=False)[0]


def request_texts(
    endpoint: str, body: dict[str, Any], *, joined: bool = True
) -> tuple[list[Slot], list[Slot]]:
    """Every request text, and those of them that callers and tools wrote (without the
    operator's system/developer messages): both from one walk over the body."""
    every: list[Slot] = []
    if endpoint != "chat":
        if endpoint == "completions":
            _string_or_list(body, "prompt", every)
            if isinstance(body.get("suffix"), str):  # insertion mode: the text after it
                every.append((body, "suffix"))
        elif endpoint == "embeddings":
            _string_or_list(body, "input", every)
        _user(body, every)
        return every, every  # prompts and inputs have no roles: callers wrote them all
    caller: list[Slot] = []
    _messages(body.get("messages"), every, caller, joined)
    prediction = body.get("prediction")
    if isinstance(prediction, dict):  # predicted output: text the model copies from
        start = len(every)
        _message_slots(prediction, every, joined)
        caller += every[start:]
    tools, functions = body.get("tools"), body.get("functions")
    if tools or functions:
        _tool_slots(tools, functions, every)
    _response_format_slots(body.get("response_format"), every)
    _user(body, every)
    _user(body, caller)
    return every, caller


def _messages(messages: Any, every: list[Slot], caller: list[Slot], joined: bool) -> None:
    """The messages' texts; for the policies (`joined`), read as Anthropic reads them after the
    `anthropic` adapter (`providers/anthropic_translate.py`), whatever the target (the request
    stage runs before one is chosen): consecutive messages of one turn (assistant, or user with
    tool results and any other role; system and developer messages between them do not count)
    as one text joined with nothing, and every system and developer message as one text, the
    system prompt, joined with a blank line."""
    system, turn = Run(), Run()
    turn_role = None
    for msg in messages or ():
        if not isinstance(msg, dict):
            continue
        role = msg.get("role")
        if role in OPERATOR_ROLES:
            system.gap = "\n\n"
            _content_slots(msg, every, system if joined else None, False)
            _other_slots(msg, every, joined)
            continue
        group = "assistant" if role == "assistant" else "user"
        if group != turn_role:
            turn.emit(every, caller)
            turn_role = group
        start = len(every)
        # the adapter keeps a user message's images and files between its texts, drops others
        images = role != "assistant" and role != "tool"
        _content_slots(msg, every, turn if joined else None, images)
        _other_slots(msg, every, joined)
        if len(every) > start:
            caller += every[start:]
    turn.emit(every, caller)
    system.emit(every)


def _user(body: dict[str, Any], slots: list[Slot]) -> None:
    """The end user's id, sent on to the provider (an e-mail address is a common choice)."""
    if isinstance(body.get("user"), str):
        slots.append((body, "user"))


def _tool_slots(tools: Any, functions: Any, slots: list[Slot]) -> None:
    """Tool descriptions (function and custom tools, and the legacy `functions`) and their
    parameters' schema texts: the provider reads them as instructions. Written by the
    application, like its system prompt."""
    for tool in tools if isinstance(tools, list) else ():
        if isinstance(tool, dict):
            _function_slots(tool.get("function"), slots)
            _function_slots(tool.get("custom"), slots)
    for fn in functions if isinstance(functions, list) else ():
        _function_slots(fn, slots)


def _function_slots(fn: Any, slots: list[Slot]) -> None:
    if isinstance(fn, dict):
        if isinstance(fn.get("description"), str):
            slots.append((fn, "description"))
        schema_texts(fn.get("parameters"), slots)
        # a custom tool's grammar: the provider constrains the model's input with it
        fmt = fn.get("format")
        grammar = fmt.get("grammar") if isinstance(fmt, dict) else None
        if isinstance(grammar, dict) and isinstance(grammar.get("definition"), str):
            slots.append((grammar, "definition"))


def _response_format_slots(fmt: Any, slots: list[Slot]) -> None:
    """A structured-output schema: its description and its schema's texts, which the provider
    reads as instructions (written by the application, like tool descriptions)."""
    spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
    if isinstance(spec, dict):
        if isinstance(spec.get("description"), str):
            slots.append((spec, "description"))
        schema_texts(spec.get("schema"), slots)


def response_slots(
    body: dict[str, Any], *, joined: bool = False, json_content: bool = False
) -> list[Slot]:
    """Every answer text. `json_content`: a message's text content is JSON (the request asked
    for JSON output): the policies read it as JSON, as they read tool-call arguments."""
    slots: list[Slot] = []
    for choice in body.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        if isinstance(choice.get("text"), str):
            slots.append((choice, "text"))
        msg = choice.get("message")
        if isinstance(msg, dict):
            _message_slots(msg, slots, joined, json_content)
    return slots


def _message_slots(
    msg: dict[str, Any], slots: list[Slot], joined: bool, json_content: bool = False
) -> None:
    """A message's texts, its content's read as one (`_content_slots`) for the policies."""
    if joined and json_content and isinstance(msg.get("content"), str):
        slots.append((ArgumentsText(msg, "content"), "content"))
    elif joined:
        run = Run()
        _content_slots(msg, slots, run, False)
        run.emit(slots)
    else:
        _content_slots(msg, slots, None, False)
    _other_slots(msg, slots, joined)


def _content_slots(msg: dict[str, Any], slots: list[Slot], run: Run | None, images: bool) -> None:
    """A message's content. For the policies (`run`), its texts are one text whatever stands
    between them: the translators (`anthropic_translate`, `chat.message_text`) drop non-text
    parts, except a user message's images and files (`images`), which Anthropic reads between
    its texts (read as a line break). Without a run, each text on its own."""
    content = msg.get("content")
    if isinstance(content, str):
        if run is None:
            slots.append((msg, "content"))
        else:
            run.add((msg, "content"))
    elif isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                if run is None:
                    slots.append((part, "text"))
                else:
                    run.add((part, "text"))
            elif images and run is not None and part.get("type") in ("image_url", "file"):
                run.gap = "\n"
            if run is not None:  # (an image's URL, on its own: `url_text.py`)
                url_slots(part, slots)
            if isinstance(part.get("refusal"), str):
                slots.append((part, "refusal"))


def _other_slots(msg: dict[str, Any], slots: list[Slot], joined: bool) -> None:
    """A message's texts besides its content: refusals, reasoning (and the text of its
    `thinking_blocks`), audio transcripts, tool-call inputs, citation titles."""
    for name in EXTRA_TEXT_FIELDS:
        if isinstance(msg.get(name), str):
            slots.append((msg, name))
    audio = msg.get("audio")
    if isinstance(audio, dict) and isinstance(audio.get("transcript"), str):
        slots.append((audio, "transcript"))
    _thinking_slots(msg.get("thinking_blocks"), slots, joined)
    calls = msg.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        if isinstance(call, dict):
            _call_slots(call, slots, joined)
    fn = msg.get("function_call")
    if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
        _arguments(fn, slots, joined)
    notes = msg.get("annotations")
    for note in notes if isinstance(notes, list) else ():
        cite = note.get("url_citation") if isinstance(note, dict) else None
        if isinstance(cite, dict) and isinstance(cite.get("title"), str):
            slots.append((cite, "title"))  # a cited page's title, shown beside the answer


def _thinking_slots(blocks: Any, slots: list[Slot], joined: bool) -> None:
    """The text of `thinking_blocks` (Anthropic's signed thinking: `thinking_blocks.py`). For
    the policies, read as one text joined with nothing, as the stream guard reads the
    reasoning of a stream whose blocks it keeps apart (`streaming/thinking_marks.py`): a
    secret split across two blocks is found the same in JSON and streams."""
    found = [
        (block, "thinking")
        for block in (blocks if isinstance(blocks, list) else ())
        if isinstance(block, dict) and isinstance(block.get("thinking"), str)
    ]
    if joined and len(found) > 1:
        slots.append((JoinedParts(found, [""] * (len(found) - 1)), "text"))
    else:
        slots.extend(found)


def _call_slots(call: dict[str, Any], slots: list[Slot], joined: bool) -> None:
    """A tool call's input: a function's JSON arguments, or a custom tool's free text."""
    fn = call.get("function")
    if isinstance(fn, dict) and isinstance(fn.get("arguments"), str):
        _arguments(fn, slots, joined)
    custom = call.get("custom")
    if isinstance(custom, dict) and isinstance(custom.get("input"), str):
        slots.append((custom, "input"))


def _arguments(fn: dict[str, Any], slots: list[Slot], joined: bool) -> None:
    """Tool-call arguments: a JSON text. For the policies, read with its escapes decoded, each
    value after its key, as a stream reads it (`arguments.py`)."""
    slots.append((ArgumentsText(fn), "arguments") if joined else (fn, "arguments"))


def _string_or_list(body: dict[str, Any], key: str, slots: list[Slot]) -> None:
    value = body.get(key)
    if isinstance(value, str):
        slots.append((body, key))
    elif isinstance(value, list):
        slots.extend((value, i) for i, item in enumerate(value) if isinstance(item, str))
