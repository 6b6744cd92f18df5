"""A governed chat completion -> a Responses API `response` object, for `/v1/responses`."""

from __future__ import annotations

import time
import uuid
from typing import Any

from keeptrusts.anthropic_api.thinking import answer_blocks
from keeptrusts.pipeline.chat import API_REQUEST, first_choice, message_text, obj
from keeptrusts.pipeline.context import Exchange
from keeptrusts.providers.thinking_blocks import INDEX, in_order
from keeptrusts.responses_api import custom_tools, reasoning

#: chat finish_reason -> why a response is incomplete (others complete it)
INCOMPLETE = {"length": "max_output_tokens", "content_filter": "content_filter"}


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def envelope(ex: Exchange, response_id: str, created: int, model: Any) -> dict[str, Any]:
    """The response object's fields that do not depend on the answer (the request's settings,
    read back from the chat request: as the policies left them, so a text they redacted for the
    provider is not repeated in clear in the answer or in any stream event)."""
    chat = ex.body
    asked = obj(ex.scratch.get(API_REQUEST))
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "model": model if isinstance(model, str) and model else ex.model,
        "error": None,
        "incomplete_details": None,
        "instructions": _instructions(asked, chat),
        "text": _text(asked, chat),
        "reasoning": asked.get("reasoning"),
        "max_output_tokens": chat.get("max_completion_tokens"),
        "parallel_tool_calls": chat.get("parallel_tool_calls", True),
        "temperature": chat.get("temperature"),
        "top_p": chat.get("top_p"),
        "tool_choice": _tool_choice(chat.get("tool_choice", "auto")),
        "tools": [_tool(t) for t in chat.get("tools") or () if isinstance(t, dict)],
        "metadata": {},
    }


def _instructions(asked: dict[str, Any], chat: dict[str, Any]) -> Any:
    """The caller's `instructions` as the provider got them: the chat request's first message
    (`request.py` puts them there when they are a non-empty string)."""
    instructions = asked.get("instructions")
    messages = chat.get("messages")
    if isinstance(instructions, str) and instructions and isinstance(messages, list) and messages:
        return obj(messages[0]).get("content")
    return instructions


def _text(asked: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
    """The caller's `text` settings, a JSON schema's as the provider got it (`response_format`)."""
    text = obj(asked.get("text")) or {"format": {"type": "text"}}
    spec = obj(chat.get("response_format")).get("json_schema")
    if isinstance(spec, dict):
        return {**text, "format": {"type": "json_schema", **spec}}
    return text


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    if tool.get("type") == "custom":
        return custom_tools.api_tool(tool)
    fn = obj(tool.get("function"))
    out = {
        "type": "function",
        "name": fn.get("name"),
        "parameters": fn.get("parameters"),
    }
    out["description"] = fn.get("description")
    out["strict"] = fn.get("strict")
    return out


def _tool_choice(choice: Any) -> Any:
    if isinstance(choice, dict):
        kind = "custom" if choice.get("type") == "custom" else "function"
        return {"type": kind, "name": obj(choice.get(kind)).get("name")}
    return choice


def finish(response: dict[str, Any], finish_reason: Any, ex: Exchange) -> dict[str, Any]:
    """Status, incomplete details and usage, once the answer is complete."""
    reason = INCOMPLETE.get(str(finish_reason))
    response["status"] = "incomplete" if reason else "completed"
    response["incomplete_details"] = {"reason": reason} if reason else None
    u = ex.usage
    response["usage"] = {
        "input_tokens": u.input_tokens,
        "input_tokens_details": {
            "cached_tokens": u.cached_input_tokens,
            "cache_write_tokens": u.cache_write_tokens,
        },
        "output_tokens": u.output_tokens,
        "output_tokens_details": {"reasoning_tokens": u.reasoning_tokens},
        "total_tokens": u.input_tokens + u.output_tokens,
    }
    return response


def message_item(item_id: str, text: str, refusal: str, status: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if text or not refusal:
        content.append(text_part(text))
    if refusal:
        content.append({"type": "refusal", "refusal": refusal})
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": content,
    }


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def call_item(item_id: str, call: dict[str, Any], arguments: str, status: str) -> dict[str, Any]:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call.get("id") or item_id,
        "name": obj(call.get("function")).get("name"),
        "arguments": arguments,
        "status": status,
    }


def to_response(body: dict[str, Any], ex: Exchange) -> dict[str, Any]:
    """The first choice of a chat completion as a completed (or incomplete) response: its
    items in the provider's order (`in_order`: thinking after a tool call stays after it)."""
    choice, msg = first_choice(body)
    text, refusal = message_text(msg), message_text(msg, "refusal")
    message = [message_item(new_id("msg"), text, refusal, "completed")] if text or refusal else []
    calls = [_call(call) for call in msg.get("tool_calls") or () if isinstance(call, dict)]
    output = in_order(_reasoning(msg, ex), message, calls)
    response = envelope(ex, new_id("resp"), _created(body), body.get("model"))
    response["output"] = output
    return finish(response, choice.get("finish_reason"), ex)


def _reasoning(msg: dict[str, Any], ex: Exchange) -> list[dict[str, Any]]:
    """One item per thinking block (at its place in the turn, when it has one), else one for
    the message's `reasoning_content`."""
    summary = reasoning.wants_summary(obj(ex.scratch.get(API_REQUEST)))
    items = []
    for block in answer_blocks(msg):
        sealed = reasoning.sealed(block)
        thought = block.get("thinking")
        item = reasoning.item(new_id("rs"), thought, "completed", summary=summary, encrypted=sealed)
        items.append({**item, INDEX: block[INDEX]} if INDEX in block else item)
    return items


def _call(call: dict[str, Any]) -> dict[str, Any]:
    if custom_tools.is_custom(call):
        return custom_tools.call_item(new_id("ctc"), call, custom_tools.call_input(call))
    args = obj(call.get("function")).get("arguments")
    return call_item(new_id("fc"), call, args if isinstance(args, str) else "", "completed")


def _created(body: dict[str, Any]) -> int:
    created = body.get("created")
    return (
        created if isinstance(created, int) and not isinstance(created, bool) else int(time.time())
    )
