"""`reasoning` items between the Responses API and chat completions, both ways.

    Responses                                    chat
    reasoning {summary, content}, no             an assistant message's `reasoning_content`
      encrypted_content of ours                    (the field OpenAI-compatible servers answer
                                                   and take reasoning in: vLLM, DeepSeek)
    reasoning {..., encrypted_content:           its `thinking_blocks` (Anthropic's signed
      "keeptrusts.thinking:<signature>"}           thinking; `providers/thinking_blocks.py`)
    reasoning {encrypted_content:                a `redacted_thinking` block
      "keeptrusts.redacted_thinking:<data>"}

An answer's reasoning becomes one item per thinking block (its signature, or a redacted block's
data, in `encrypted_content`, which only the gateway reads back), or one item for an
OpenAI-compatible server's `reasoning_content`. Its text is the item's `summary` (one
`summary_text` part) when the request asked for summaries (`reasoning.summary`), else its
`content` (one `reasoning_text` part, as OpenAI gives an open-weight model's raw reasoning).
Given back, an item's text is its `content`'s, else its `summary`'s: the policies read it
(`pipeline/texts.py`) where the chat message carries it (reasoning nothing followed in its
turn is left out: `request.py`). The `anthropic` adapter sends only
signed thinking and other targets only `reasoning_content` (`docs/responses-api.md`).
"""

from __future__ import annotations

from typing import Any

from keeptrusts.errors import ValidationFailed
from keeptrusts.pipeline.chat import obj

SIGNED = "keeptrusts.thinking:"
REDACTED = "keeptrusts.redacted_thinking:"
#: `reasoning.summary` values that ask for summaries (OpenAI: `auto`, `concise`, `detailed`)
SUMMARIES = ("auto", "concise", "detailed")


def wants_summary(asked: dict[str, Any]) -> bool:
    """Whether the caller's request asked for reasoning summaries (`reasoning.summary`, or the
    deprecated `reasoning.generate_summary`)."""
    reasoning = obj(asked.get("reasoning"))
    return (reasoning.get("summary") or reasoning.get("generate_summary")) in SUMMARIES


def check_summary(reasoning: dict[str, Any]) -> None:
    for key in ("summary", "generate_summary"):
        value = reasoning.get(key)
        if value is not None and value not in SUMMARIES:
            raise ValidationFailed(f"'reasoning.{key}' must be one of {', '.join(SUMMARIES)}")


def item(
    item_id: str,
    text: str | None,
    status: str,
    *,
    summary: bool,
    encrypted: str | None = None,
) -> dict[str, Any]:
    """A `reasoning` output item: `text` as its summary's or its content's one part (None: no
    part yet, or none: a redacted block)."""
    parts: list[dict[str, Any]] = []
    if text is not None:
        parts.append({"type": "summary_text" if summary else "reasoning_text", "text": text})
    out: dict[str, Any] = {
        "type": "reasoning",
        "id": item_id,
        "summary": parts if summary else [],
        "content": [] if summary else parts,
        "status": status,
    }
    if encrypted is not None:
        out["encrypted_content"] = encrypted
    return out


def sealed(block: dict[str, Any]) -> str | None:
    """A thinking block's `encrypted_content`: its signature, or a redacted block's data."""
    data = block.get("data")
    if block.get("type") == "redacted_thinking" and isinstance(data, str):
        return REDACTED + data
    signature = block.get("signature")
    return SIGNED + signature if isinstance(signature, str) and signature else None


def given_back(i: int, value: dict[str, Any], messages: list[dict[str, Any]]) -> None:
    """A `reasoning` input item (the model's reasoning in an earlier turn): on the assistant
    message it begins (or the one only reasoning began so far)."""
    text = _text(i, value)
    sealed_ = value.get("encrypted_content")
    if sealed_ is not None and not isinstance(sealed_, str):
        raise ValidationFailed(f"input[{i}].encrypted_content must be a string")
    last = messages[-1] if messages else None
    if last is None or not only_reasoning(last):
        last = {"role": "assistant", "content": None}
        messages.append(last)
    block = _block(text, sealed_ or "")
    if block is not None:
        last.setdefault("thinking_blocks", []).append(block)
    elif text:  # (items apart, as OpenAI's summary parts are)
        before = last.get("reasoning_content")
        last["reasoning_content"] = f"{before}\n\n{text}" if before else text


def only_reasoning(msg: dict[str, Any]) -> bool:
    """Whether a chat message is an assistant's holding nothing but reasoning given back."""
    return msg["role"] == "assistant" and msg.get("content") is None and "tool_calls" not in msg


def _block(text: str, sealed_: str) -> dict[str, Any] | None:
    if sealed_.startswith(SIGNED):
        return {"type": "thinking", "thinking": text, "signature": sealed_[len(SIGNED) :]}
    if sealed_.startswith(REDACTED):
        return {"type": "redacted_thinking", "data": sealed_[len(REDACTED) :]}
    return None  # (none, or OpenAI's own: no chat target could read it)


def _text(i: int, value: dict[str, Any]) -> str:
    """The item's text: its `content` parts' (the reasoning itself), else its summary's."""
    content = _parts(i, value, "content", "reasoning_text")
    summary = _parts(i, value, "summary", "summary_text")
    return "".join(content) if content else "\n\n".join(summary)


def _parts(i: int, value: dict[str, Any], key: str, kind: str) -> list[str]:
    parts = value.get(key)
    if parts is None:
        return []
    if not isinstance(parts, list) or not all(
        isinstance(p, dict) and p.get("type") == kind and isinstance(p.get("text"), str)
        for p in parts
    ):
        raise ValidationFailed(f"input[{i}].{key} must be an array of {kind} parts with 'text'")
    return [p["text"] for p in parts]
