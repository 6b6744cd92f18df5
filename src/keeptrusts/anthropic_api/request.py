"""An Anthropic Messages request -> the OpenAI chat request the governed path runs on.

What a chat request can say is carried: system prompt, text and image blocks, tool use and
tool results (each result becomes a `tool` message right after the assistant's call), tools and
`tool_choice`, `stop_sequences`, `temperature`, `top_p`, `metadata.user_id`, structured outputs
(`output_config.format` as `response_format`), `stream`, an assistant turn's thinking blocks
(`thinking_blocks`). `thinking`, `top_k` and `output_config.effort` are read once, after the
translation, by `thinking.native_request`: they reach an `anthropic` target as they are, beside
the chat request, and set its `reasoning_effort`.
What it cannot is refused with a 400 naming the block (documents, server tools, `mcp_servers`)
or left out when it only tunes the provider (`cache_control`, `service_tier`: see
`docs/anthropic-api.md`). Every text the provider would see is in the chat request, so the
request policies read all of it.
"""

from __future__ import annotations

from typing import Any

from keeptrusts.anthropic_api.thinking import given_back
from keeptrusts.encode import request_json
from keeptrusts.errors import ValidationFailed
from keeptrusts.providers.thinking_blocks import CONTENT_INDEX, INDEX, KINDS, TurnPlaces

#: copied as they are (same meaning in both APIs)
SAME = ("temperature", "top_p", "max_tokens", "stream")
TOOL_CHOICE = {"auto": "auto", "any": "required", "none": "none"}


def to_chat_request(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("max_tokens") is None:
        raise ValidationFailed("'max_tokens' is required: the most tokens the answer may have")
    return count_request(body)


def count_request(body: dict[str, Any]) -> dict[str, Any]:
    """The chat request of a Messages request, `max_tokens` or not (`count_tokens` has none:
    it generates nothing)."""
    if body.get("mcp_servers"):
        # tools the provider would call itself, with inputs and results no policy reads
        raise ValidationFailed(
            "'mcp_servers' is not supported by the gateway's /v1/messages (Anthropic's "
            "server-side MCP connector, like its server tools): declare the tools in 'tools' "
            "and call the MCP server from the client"
        )
    messages = _system(body.get("system"))
    raw = body.get("messages")
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("'messages' is required and must be a non-empty array")
    for i, msg in enumerate(raw):
        messages.extend(_message(i, msg))
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    for key in SAME:
        if body.get(key) is not None:
            chat[key] = body[key]
    stop = body.get("stop_sequences")
    if stop is not None:
        if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
            raise ValidationFailed("'stop_sequences' must be an array of strings")
        if stop:
            chat["stop"] = stop
    user = (
        (body.get("metadata") or {}).get("user_id")
        if isinstance(body.get("metadata"), dict)
        else None
    )
    if isinstance(user, str) and user:
        chat["user"] = user
    if body.get("tools") is not None:
        chat["tools"] = _tools(body["tools"])
    if body.get("tool_choice") is not None:
        _tool_choice(body["tool_choice"], chat)
    _output_format(body, chat)
    return chat


def _output_format(body: dict[str, Any], chat: dict[str, Any]) -> None:
    """Structured outputs (`output_config.format`, or the older top-level `output_format`:
    `{type: json_schema, schema}`, what the SDK's `messages.parse()` sends) -> the chat
    request's `response_format` (not `strict`: OpenAI's strict mode refuses optional fields)."""
    config = body.get("output_config")
    if config is not None and not isinstance(config, dict):
        raise ValidationFailed("'output_config' must be an object")
    fmt = (config or {}).get("format")
    if fmt is None:
        fmt = body.get("output_format")
    if fmt is None:
        return
    if not (
        isinstance(fmt, dict)
        and fmt.get("type") == "json_schema"
        and isinstance(fmt.get("schema"), dict)
    ):
        raise ValidationFailed("'output_config.format' must be {type: json_schema, schema}")
    schema = {"name": "output", "schema": fmt["schema"]}
    chat["response_format"] = {"type": "json_schema", "json_schema": schema}


def _system(system: Any) -> list[dict[str, Any]]:
    """The system prompt as a first system message; none when it is empty (`""`, `[]`)."""
    if system is None:
        return []
    if isinstance(system, list) and all(_is_text_block(b) for b in system):
        system = "\n\n".join(b["text"] for b in system if b["text"])
    if not isinstance(system, str):
        raise ValidationFailed("'system' must be a string or an array of text blocks")
    return [{"role": "system", "content": system}] if system else []


def _is_text_block(block: Any) -> bool:
    return (
        isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
    )


def _message(i: int, msg: Any) -> list[dict[str, Any]]:
    if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant"):
        raise ValidationFailed(f"messages[{i}] must be an object whose role is user or assistant")
    content = msg.get("content")
    if isinstance(content, str):
        return [{"role": msg["role"], "content": content}]
    if not isinstance(content, list) or not content:
        raise ValidationFailed(
            f"messages[{i}].content must be a string or a non-empty array of blocks"
        )
    if msg["role"] == "assistant":
        return [_assistant(i, content)]
    return _user(i, content)


def _block_type(i: int, j: int, block: Any) -> str:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise ValidationFailed(f"messages[{i}].content[{j}] must be an object with a 'type'")
    kind: str = block["type"]
    return kind


def _text(i: int, j: int, block: dict[str, Any]) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise ValidationFailed(f"messages[{i}].content[{j}].text must be a string")
    return text


def _unsupported(i: int, j: int, kind: str, role: str) -> ValidationFailed:
    return ValidationFailed(
        f"messages[{i}].content[{j}]: {kind[:40]!r} blocks are not supported in {role} messages "
        "by the gateway's /v1/messages (supported: text, image, tool_use, tool_result, and "
        "thinking in assistant messages)"
    )


def _user(i: int, content: list[Any]) -> list[dict[str, Any]]:
    """Tool results first, as `tool` messages (they answer the assistant's calls just before),
    then the rest of the blocks as one user message."""
    results: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        kind = _block_type(i, j, block)
        if kind == "text":
            parts.append({"type": "text", "text": _text(i, j, block)})
        elif kind == "image":
            parts.append({"type": "image_url", "image_url": {"url": _image_url(i, j, block)}})
        elif kind == "tool_result":
            results.append(_tool_result(i, j, block))
        else:
            raise _unsupported(i, j, kind, "user")
    return results + ([{"role": "user", "content": parts}] if parts else [])


def _image_url(i: int, j: int, block: dict[str, Any]) -> str:
    source = block.get("source")
    if isinstance(source, dict):
        data, media = source.get("data"), source.get("media_type")
        if source.get("type") == "base64" and isinstance(data, str) and isinstance(media, str):
            return f"data:{media};base64,{data}"
        if source.get("type") == "url" and isinstance(source.get("url"), str):
            return str(source["url"])
    raise ValidationFailed(
        f"messages[{i}].content[{j}].source must be {{type: base64, media_type, data}} or "
        "{type: url, url}"
    )


def _tool_result(i: int, j: int, block: dict[str, Any]) -> dict[str, Any]:
    content = block.get("content", "")
    if isinstance(content, list):
        texts = []
        for k, part in enumerate(content):
            if not _is_text_block(part):
                raise ValidationFailed(
                    f"messages[{i}].content[{j}].content[{k}]: only text blocks are supported "
                    "in tool results"
                )
            texts.append(part["text"])
        content = "\n".join(texts)
    if not isinstance(content, str) or not isinstance(block.get("tool_use_id"), str):
        raise ValidationFailed(
            f"messages[{i}].content[{j}]: a tool_result needs a 'tool_use_id' string and text "
            "content"
        )
    return {"role": "tool", "tool_call_id": block["tool_use_id"], "content": content}


def _assistant(i: int, content: list[Any]) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    thinking: list[dict[str, Any]] = []
    places = TurnPlaces()  # (interleaved thinking: each block and the text say where they stood)
    for j, block in enumerate(content):
        kind = _block_type(i, j, block)
        at = places.add(kind)
        if kind == "text":
            texts.append(_text(i, j, block))
        elif kind == "tool_use":
            calls.append(_tool_call(i, j, block))
        elif kind in KINDS:
            thinking.append(given_back(i, j, block))
            if at is not None:
                thinking[-1][INDEX] = at
        else:
            raise _unsupported(i, j, kind, "assistant")
    out: dict[str, Any] = {"role": "assistant", "content": "".join(texts) if texts else None}
    if calls:
        out["tool_calls"] = calls
    if thinking:  # (an `anthropic` target gets them back; other kinds do not take them)
        out["thinking_blocks"] = thinking
    if (text_at := places.content_index()) is not None:
        out[CONTENT_INDEX] = text_at
    return out


def _tool_call(i: int, j: int, block: dict[str, Any]) -> dict[str, Any]:
    name, call_id, args = block.get("name"), block.get("id"), block.get("input")
    if not isinstance(name, str) or not isinstance(call_id, str) or not isinstance(args, dict):
        raise ValidationFailed(
            f"messages[{i}].content[{j}]: a tool_use needs 'id' and 'name' strings and an "
            "'input' object"
        )
    fn = {"name": name, "arguments": request_json(args).decode()}
    return {"id": call_id, "type": "function", "function": fn}


def _tools(tools: Any) -> list[dict[str, Any]]:
    if not isinstance(tools, list):
        raise ValidationFailed("'tools' must be an array")
    out = []
    for k, tool in enumerate(tools):
        if (
            not isinstance(tool, dict)
            or tool.get("type", "custom") != "custom"
            or not isinstance(tool.get("name"), str)
            or not isinstance(tool.get("input_schema"), dict)
        ):
            raise ValidationFailed(
                f"tools[{k}] must be a client tool with a 'name' and an 'input_schema' object "
                "(Anthropic's server tools are not supported by the gateway's /v1/messages)"
            )
        fn: dict[str, Any] = {"name": tool["name"], "parameters": tool["input_schema"]}
        if isinstance(tool.get("description"), str):
            fn["description"] = tool["description"]
        if tool.get("strict") is True:
            fn["strict"] = True
        out.append({"type": "function", "function": fn})
    return out


def _tool_choice(choice: Any, chat: dict[str, Any]) -> None:
    kind = choice.get("type") if isinstance(choice, dict) else None
    if not isinstance(kind, str):
        kind = None
    if kind in TOOL_CHOICE:
        chat["tool_choice"] = TOOL_CHOICE[kind]
    elif kind == "tool" and isinstance(choice.get("name"), str):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    else:
        raise ValidationFailed("'tool_choice' must be {type: auto|any|none} or {type: tool, name}")
    if choice.get("disable_parallel_tool_use") is True and kind != "none":
        chat["parallel_tool_calls"] = False
