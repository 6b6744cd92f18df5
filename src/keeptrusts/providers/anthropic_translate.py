"""Translation between OpenAI chat completions and Anthropic's Messages API (both directions)."""

from __future__ import annotations

import time
from typing import Any

from keeptrusts.errors import ValidationFailed
from keeptrusts.providers import anthropic_tools as tools
from keeptrusts.providers.anthropic_thinking import thinking
from keeptrusts.providers.thinking_blocks import (
    CONTENT_INDEX,
    INDEX,
    KINDS,
    TurnPlaces,
    content_place,
    in_order,
    signed_thinking,
    thinking_block,
)

STOP_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    #: the answer filled the model's context window: cut short, as by max_tokens
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "pause_turn": "stop",
    "refusal": "content_filter",
}
DEFAULT_MAX_TOKENS = 4096
#: the caller's output caps, the first given wins
CAPS = ("max_completion_tokens", "max_tokens")
#: the system prompt's request for JSON when the caller asked for `json_object` (Anthropic's
#: structured outputs take a schema; "any JSON object" has none)
JSON_OBJECT_PROMPT = "Respond with one valid JSON object and nothing else."


def to_messages_request(
    body: dict[str, Any], model: str, stream: bool, native: dict[str, Any] | None = None
) -> dict[str, Any]:
    """An OpenAI chat request as an Anthropic Messages request (`native`: a `/v1/messages`
    caller's own `thinking`, `top_k` and `effort`, sent as they are)."""
    system: list[str] = []
    messages: list[dict[str, Any]] = []
    for msg in body.get("messages") or []:
        role = msg.get("role")
        if role in ("system", "developer"):
            system.append(_text_of(msg.get("content")))
        elif role == "tool":
            _append(messages, "user", [_tool_result(msg)])
        elif role == "assistant":
            _append(messages, "assistant", _assistant_blocks(msg))
        else:
            _append(messages, "user", _user_blocks(msg.get("content")))
    out: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": _max_tokens(body),
    }
    _output_format(body.get("response_format"), out, system)
    if prompt := "\n\n".join(s for s in system if s):
        out["system"] = prompt
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            out[key] = body[key]
    stop = body.get("stop")
    if stop:
        out["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("tools"):
        out["tools"] = tools.tools(body)
    choice = tools.tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice is not None:
        out["tool_choice"] = choice
    if isinstance(body.get("user"), str) and body["user"]:
        out["metadata"] = {"user_id": body["user"]}
    uncapped = all(body.get(key) is None for key in CAPS)
    thinking(body, out, DEFAULT_MAX_TOKENS if uncapped else None)
    if native:
        _native(native, out)
    if stream:
        out["stream"] = True
    return out


def _native(native: dict[str, Any], out: dict[str, Any]) -> None:
    """A Messages caller's settings, over what `reasoning_effort` would have asked for."""
    if "thinking" in native:
        out["thinking"] = native["thinking"]
    if "top_k" in native:
        out["top_k"] = native["top_k"]
    if "effort" in native:
        out["output_config"] = {**out.get("output_config", {}), "effort": native["effort"]}


def _output_format(fmt: Any, out: dict[str, Any], system: list[str]) -> None:
    """`response_format` as Anthropic's structured outputs (`output_config.format`, a JSON
    schema); `json_object` (or a `json_schema` without a schema) asks for JSON in the system
    prompt instead, as no schema says "any object"."""
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if isinstance(schema, dict):
            out["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
            return
    if kind in ("json_object", "json_schema"):
        system.append(JSON_OBJECT_PROMPT)


def _max_tokens(body: dict[str, Any]) -> Any:
    """The caller's bound as given (0 included: Anthropic answers that it is too small)."""
    for key in CAPS:
        if body.get(key) is not None:
            return body[key]
    return DEFAULT_MAX_TOKENS


def _append(messages: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    """Consecutive messages of one role become one message (Anthropic merges consecutive turns
    itself too): the request policies read their texts as one (`pipeline/texts.py`). An empty
    message is kept (Anthropic refuses it): left out, the messages around it would be joined
    here where the policies read them apart."""
    if messages and messages[-1]["role"] == role:
        messages[-1]["content"].extend(blocks)
    else:
        messages.append({"role": role, "content": blocks})


def _text_of(content: Any) -> str:
    """The text of a message Anthropic takes as one string (system, assistant, tool result):
    every part with a `text`, whatever stands between them. The request policies read it the
    same way (`pipeline/texts.py`), so what is joined here was read joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def _user_blocks(content: Any) -> list[dict[str, Any]]:
    """A user message's text parts, images and PDF files as blocks, in order. Empty texts are
    left out (Anthropic refuses empty text blocks): a redaction across texts leaves the ones it
    covered after the first empty. Audio, and files by id, cannot be sent (a 400)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict[str, Any]] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("text"), str):
            if part["text"]:
                blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "image_url":
            url = (part.get("image_url") or {}).get("url", "")
            blocks.append(_image(url))
        elif part.get("type") in ("file", "input_audio"):
            blocks.append(_file(part))
    return blocks


def _file(part: dict[str, Any]) -> dict[str, Any]:
    """A `file` part with its data inline (`data:<type>;base64,...`) as a document block."""
    data = (part.get("file") or {}).get("file_data")
    if part["type"] == "file" and isinstance(data, str) and data.startswith("data:"):
        media, _, encoded = data[5:].partition(";base64,")
        if encoded:
            return {
                "type": "document",
                "source": {"type": "base64", "media_type": media, "data": encoded},
            }
    what = (
        "'input_audio' parts (Anthropic's Messages API takes no audio)"
        if part["type"] == "input_audio"
        else "'file' parts without their data inline (a file_id is OpenAI's; send file_data)"
    )
    raise ValidationFailed(f"an anthropic target cannot be sent {what}")


def _image(url: str) -> dict[str, Any]:
    if url.startswith("data:") and ";base64," in url:
        media, data = url[5:].split(";base64,", 1)
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _assistant_blocks(msg: dict[str, Any]) -> list[dict[str, Any]]:
    """Thinking blocks first (Anthropic requires a turn to begin with them), then the text,
    then the tool calls; thinking after another block (interleaved) where it stood, and the
    text at its `content_index` (`in_order`)."""
    text = _text_of(msg.get("content"))
    return in_order(
        signed_thinking(msg.get("thinking_blocks")),
        [{"type": "text", "text": text}] if text else [],
        [tools.tool_use(call) for call in msg.get("tool_calls") or []],
        content_place(msg),
    )


def _tool_result(msg: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "tool_result",
        "tool_use_id": msg.get("tool_call_id"),
        "content": _text_of(msg.get("content")),
    }


def to_chat_completion(
    msg: dict[str, Any], model: str, custom: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """An Anthropic Messages response as an OpenAI chat completion (`custom`: the request's
    custom tools, whose calls are custom calls)."""
    text: list[str] = []
    thinking: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    places = TurnPlaces()
    for block in msg.get("content") or []:
        at = places.add(str(block.get("type")))
        if block.get("type") == "text":
            text.append(block.get("text", ""))
        elif block.get("type") in KINDS:
            thinking.append(block if at is None else {**block, INDEX: at})
        elif block.get("type") == "tool_use":
            calls.append(tools.tool_call(block, custom))
    message: dict[str, Any] = {"role": "assistant", "content": "".join(text) if text else None}
    if calls:
        message["tool_calls"] = calls
    if thinking:
        _thinking_fields(thinking, message)
    if (text_at := places.content_index()) is not None:
        message[CONTENT_INDEX] = text_at
    choice: dict[str, Any] = {
        "index": 0,
        "message": message,
        "finish_reason": STOP_REASONS.get(str(msg.get("stop_reason")), "stop"),
        "logprobs": None,
    }
    matched_stop(msg, choice)
    return {
        "id": "chatcmpl-" + str(msg.get("id", "")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": msg.get("model", model),
        "choices": [choice],
        "usage": usage_of(msg.get("usage") or {}),
    }


def _thinking_fields(blocks: list[dict[str, Any]], message: dict[str, Any]) -> None:
    """The answer's thinking as `reasoning_content` (the reasoning field of OpenAI-compatible
    servers: vLLM, DeepSeek) and `thinking_blocks` with their signatures (LiteLLM's field),
    which a later turn gives back."""
    texts = [b["thinking"] for b in blocks if isinstance(b.get("thinking"), str)]
    if texts:
        message["reasoning_content"] = "".join(texts)
    message["thinking_blocks"] = [b for x in blocks if (b := thinking_block(x)) is not None]


def matched_stop(source: dict[str, Any], choice: dict[str, Any]) -> None:
    """The stop sequence that ended the answer, in the choice's `stop_reason` (vLLM's field):
    a chat completion has no other place for it, and `/v1/messages` answers report it."""
    sequence = source.get("stop_sequence")
    if source.get("stop_reason") == "stop_sequence" and isinstance(sequence, str):
        choice["stop_reason"] = sequence


def usage_of(u: dict[str, Any]) -> dict[str, Any]:
    """Anthropic usage as OpenAI's: `prompt_tokens` counts cache reads and writes too; the
    reads are `prompt_tokens_details.cached_tokens` (billed at the cached price), the writes
    `cache_creation_input_tokens` (billed at 1.25x the input price; the field name LiteLLM
    uses for them), so `Pricing.cost` can price each part."""
    cached = int(u.get("cache_read_input_tokens") or 0)
    writes = int(u.get("cache_creation_input_tokens") or 0)
    prompt = int(u.get("input_tokens") or 0) + cached + writes
    completion = int(u.get("output_tokens") or 0)
    out: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }
    if writes:
        out["cache_creation_input_tokens"] = writes
    return out
