"""A governed chat completion -> an Anthropic Messages response, for `/v1/messages` callers."""

from __future__ import annotations

from typing import Any

import orjson

from keeptrusts.anthropic_api.thinking import answer_blocks
from keeptrusts.errors import GatewayError, UpstreamFailed
from keeptrusts.pipeline.chat import first_choice, message_text, obj
from keeptrusts.pipeline.context import Exchange
from keeptrusts.providers.thinking_blocks import content_place, in_order

#: OpenAI finish_reason -> Anthropic stop_reason
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def stop_reason(finish: Any) -> str:
    return STOP_REASONS.get(str(finish), "end_turn")


def stop_of(choice: dict[str, Any], chat: dict[str, Any]) -> tuple[str, str | None]:
    """`stop_reason` and `stop_sequence`: a choice that stopped on one of the request's stop
    sequences says which in `stop_reason` (vLLM's field; the Anthropic adapter's too)."""
    finish = choice.get("finish_reason")
    matched = choice.get("stop_reason")
    if finish == "stop" and isinstance(matched, str) and matched:
        stops = chat.get("stop")
        if matched == stops or (isinstance(stops, list) and matched in stops):
            return "stop_sequence", matched
    return stop_reason(finish), None


def message_id(chat_id: Any) -> str:
    """Anthropic-style `msg_…` id from the chat completion's (the provider's own id when the
    provider is Anthropic: its adapter made it `chatcmpl-msg_…`)."""
    rest = str(chat_id or "").removeprefix("chatcmpl-")
    return rest if rest.startswith("msg_") else "msg_" + (rest or "keeptrusts")


def usage_of(prompt: int, completion: int, cached: int, writes: int) -> dict[str, int]:
    """Anthropic's usage: `input_tokens` excludes cache reads and writes, counted apart."""
    return {
        "input_tokens": max(0, prompt - cached - writes),
        "output_tokens": completion,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": writes,
    }


def to_message(body: dict[str, Any], ex: Exchange) -> dict[str, Any]:
    """The first choice of a chat completion as a Message."""
    choice, msg = first_choice(body)
    # thinking first, as Anthropic answers it (and requires it back), or where an Anthropic
    # target's interleaved thinking and text stood; content and refusal are separate texts to the
    # policies: separate blocks here too
    content = in_order(
        answer_blocks(msg),
        [
            {"type": "text", "text": text}
            for text in (message_text(msg), message_text(msg, "refusal"))
            if text
        ],
        [_tool_use(call) for call in msg.get("tool_calls") or () if isinstance(call, dict)],
        content_place(msg),
    )
    u = ex.usage
    reason, sequence = stop_of(choice, ex.body)
    return {
        "id": message_id(body.get("id")),
        "type": "message",
        "role": "assistant",
        "model": body.get("model") or ex.model,
        "content": content,
        "stop_reason": reason,
        "stop_sequence": sequence,
        "usage": usage_of(
            u.input_tokens, u.output_tokens, u.cached_input_tokens, u.cache_write_tokens
        ),
    }


def _tool_use(call: dict[str, Any]) -> dict[str, Any]:
    fn = obj(call.get("function"))
    try:
        args = orjson.loads(fn.get("arguments") or "{}")
    except orjson.JSONDecodeError:
        args = None
    if not isinstance(args, dict):
        raise UpstreamFailed(
            "the provider answered a tool call whose arguments are not a JSON object, which "
            "the Messages API cannot carry; retry, or call /v1/chat/completions",
            status=502,
            code="upstream_error",
        )
    return {"type": "tool_use", "id": call.get("id"), "name": fn.get("name"), "input": args}


def error_body(error: GatewayError) -> bytes:
    """The contract's error envelope, with Anthropic's `"type": "error"` beside it."""
    return orjson.dumps({"type": "error", **error.envelope()})
