"""OpenAI's `reasoning_effort` as Anthropic's extended thinking, when the request allows it.

Thinking tokens count in Anthropic's `max_tokens`, as a reasoning model's do in OpenAI's
`max_completion_tokens`. Anthropic refuses thinking beside settings a chat request may well
carry: a temperature other than 1, a `top_p` under 0.95, a forced tool, or the continuation of
a tool-use turn whose thinking the chat history does not give back (`thinking_blocks` with
their signatures, as the adapter answers them).
The effort is a preference, not a constraint: such a request is sent without thinking rather
than refused.
"""

from __future__ import annotations

from typing import Any

from keeptrusts.providers.thinking_blocks import signed_thinking

#: OpenAI `reasoning_effort` -> the extended thinking budget (tokens) Anthropic is given
BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 32768}
#: Anthropic's least thinking budget
MIN_BUDGET = 1024
#: the least `top_p` Anthropic accepts with thinking
MIN_TOP_P = 0.95


def thinking(body: dict[str, Any], out: dict[str, Any], default_cap: int | None) -> None:
    """Add `thinking` to the Messages request `out` for the chat request `body`.
    `default_cap`: the `max_tokens` sent when the caller gave no cap (None when it did): the
    budget is added to it; a caller's cap holds the budget to at most half of it, and no
    thinking is asked for when that is under Anthropic's least budget."""
    budget = BUDGETS.get(str(body.get("reasoning_effort")))
    if budget is None or not _allowed(body, out):
        return
    if default_cap is not None:
        out["max_tokens"] = default_cap + budget
    else:
        budget = min(budget, int(out["max_tokens"]) // 2)
    if budget >= MIN_BUDGET:
        out["thinking"] = {"type": "enabled", "budget_tokens": budget}


def _allowed(body: dict[str, Any], out: dict[str, Any]) -> bool:
    """Whether Anthropic accepts thinking with the rest of the request."""
    temperature, top_p = out.get("temperature"), out.get("top_p")
    if temperature is not None and temperature != 1:
        return False
    if isinstance(top_p, int | float) and top_p < MIN_TOP_P:
        return False
    if (out.get("tool_choice") or {}).get("type") in ("any", "tool"):
        return False
    messages = body.get("messages") or [{}]
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    return last.get("role") != "tool" or _gives_thinking_back(messages)


def _gives_thinking_back(messages: list[Any]) -> bool:
    """Whether the assistant turn the tool results answer carries its signed thinking
    (`thinking_blocks`), which Anthropic requires back to think in the continuation."""
    for msg in reversed(messages):
        if isinstance(msg, dict) and msg.get("role") == "assistant":
            return bool(signed_thinking(msg.get("thinking_blocks")))
    return False
