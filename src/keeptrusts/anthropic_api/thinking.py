"""Thinking between the Messages API and the chat path the gateway governs.

A Messages request's `thinking` (`enabled` with `budget_tokens`, `disabled`, `adaptive`),
`top_k` and `output_config.effort` have no chat field that means the same: they travel beside
the chat request (`ProviderCall.native`) and reach an `anthropic` target as they were sent.
Other targets get the closest chat setting, `reasoning_effort` (`reasoning_effort_of`);
`openai-compatible` ones also `top_k` (vLLM samples with it), `openai` and `azure-openai` ones
not (OpenAI refuses it: `providers/openai.py`). `native_request` reads them once per request.

Thinking blocks travel on the chat path as a message's `thinking_blocks` (the field LiteLLM
uses): `{type: thinking, thinking, signature}` and `{type: redacted_thinking, data}`. The
policies read their text (`pipeline/texts.py`); their text is also the message's
`reasoning_content`, the field OpenAI-compatible servers answer reasoning in.
"""

from __future__ import annotations

from typing import Any

from keeptrusts.errors import ValidationFailed
from keeptrusts.providers.thinking_blocks import thinking_block

#: a thinking budget -> OpenAI's `reasoning_effort`: the effort whose budget on the way back
#: (`providers/anthropic_thinking.BUDGETS`: low 2048, medium 8192, high 16384) is nearest
EFFORT_BUDGETS = ((4096, "low"), (12288, "medium"))
#: Anthropic's adaptive thinking without an effort thinks as at `high` (its default)
ADAPTIVE_DEFAULT = "high"
#: Anthropic's efforts -> OpenAI's (`max` has no equal: the highest there is)
EFFORTS = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"}


def native_request(body: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
    """The request's native settings (`native_settings`), read once per request: returned for
    `ProviderCall.native`, and set on the chat request `chat` as its `reasoning_effort`."""
    native = native_settings(body)
    effort = reasoning_effort_of(native)
    if effort is not None:
        chat["reasoning_effort"] = effort
    return native


def native_settings(body: dict[str, Any]) -> dict[str, Any]:
    """The request's settings only an `anthropic` target can honour, checked, as sent."""
    out: dict[str, Any] = {}
    thinking = body.get("thinking")
    if thinking is not None:
        out["thinking"] = _checked_thinking(thinking)
    if body.get("top_k") is not None:
        out["top_k"] = _count(body["top_k"], "top_k")
    effort = _effort(body)
    if effort is not None:
        out["effort"] = effort
    return out


def _checked_thinking(thinking: Any) -> dict[str, Any]:
    """`thinking` as sent (its types and fields are Anthropic's to judge, as they grow:
    `enabled`, `disabled`, `adaptive`, ...), once it is an object with a `type`."""
    if not isinstance(thinking, dict) or not isinstance(thinking.get("type"), str):
        raise ValidationFailed(
            "'thinking' must be an object with a 'type' ({type: enabled, budget_tokens}, "
            "{type: disabled}, {type: adaptive})"
        )
    checked = dict(thinking)
    if thinking["type"] == "enabled":
        checked["budget_tokens"] = _count(thinking.get("budget_tokens"), "thinking.budget_tokens")
    return checked


def _count(value: Any, name: str) -> int:
    """A non-negative integer (JSON's 1.0 is the integer 1)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**63:
        raise ValidationFailed(f"'{name}' must be a non-negative integer below 2^63")
    return value


def _effort(body: dict[str, Any]) -> str | None:
    config = body.get("output_config")
    effort = config.get("effort") if isinstance(config, dict) else None
    if effort is not None and not isinstance(effort, str):
        raise ValidationFailed("'output_config.effort' must be a string (low, medium, high...)")
    return effort


def reasoning_effort_of(native: dict[str, Any]) -> str | None:
    """The chat request's `reasoning_effort` for a Messages request's thinking: by budget
    (`enabled`), the effort asked for or Anthropic's default (`adaptive`); none otherwise
    (`disabled`, or no thinking: a chat model reasons as it would; an effort alone tunes
    more than reasoning, and a chat model that does not reason refuses `reasoning_effort`)."""
    thinking = native.get("thinking") or {}
    kind = thinking.get("type")
    if kind == "enabled":
        budget = int(thinking["budget_tokens"])
        return next((effort for limit, effort in EFFORT_BUDGETS if budget < limit), "high")
    if kind == "adaptive":
        return EFFORTS.get(str(native.get("effort") or ADAPTIVE_DEFAULT), ADAPTIVE_DEFAULT)
    return None


def given_back(i: int, j: int, block: dict[str, Any]) -> dict[str, Any]:
    """An assistant turn's `thinking` / `redacted_thinking` block, checked, for the chat
    message's `thinking_blocks` (Anthropic requires them back unchanged with tool use)."""
    if block["type"] == "redacted_thinking":
        if not isinstance(block.get("data"), str):
            raise ValidationFailed(f"messages[{i}].content[{j}].data must be a string")
        return {"type": "redacted_thinking", "data": block["data"]}
    text, signature = block.get("thinking"), block.get("signature")
    if not isinstance(text, str) or not isinstance(signature, str):
        raise ValidationFailed(
            f"messages[{i}].content[{j}]: a thinking block needs 'thinking' and 'signature' strings"
        )
    return {"type": "thinking", "thinking": text, "signature": signature}


def answer_blocks(msg: dict[str, Any]) -> list[dict[str, Any]]:
    """A governed chat message's reasoning as thinking blocks: its `thinking_blocks` (with
    their signatures), else its `reasoning_content` (or `reasoning`) as one block without a
    signature (an OpenAI-compatible server's reasoning: nothing signed it)."""
    listed = msg.get("thinking_blocks")
    if isinstance(listed, list):
        blocks = [b for item in listed if (b := thinking_block(item)) is not None]
        if blocks:
            return blocks
    for name in ("reasoning_content", "reasoning"):
        text = msg.get(name)
        if isinstance(text, str) and text:
            return [{"type": "thinking", "thinking": text, "signature": ""}]
    return []
