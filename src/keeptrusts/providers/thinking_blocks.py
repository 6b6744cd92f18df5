"""`thinking_blocks`: thinking that must be given back as it was signed, on the chat path.

Anthropic's thinking comes with a signature and must be sent back unchanged in a tool-use
continuation. Chat messages carry it in `thinking_blocks` (the field LiteLLM uses):
`{type: thinking, thinking, signature}` and `{type: redacted_thinking, data}`. The `anthropic`
adapter answers it and sends it back; the policies read its text (`pipeline/texts.py`); other
targets are not sent it (OpenAI refuses unknown message fields).
"""

from __future__ import annotations

from typing import Any

FIELD = "thinking_blocks"


def thinking_block(item: Any) -> dict[str, Any] | None:
    """One of `thinking_blocks` as Anthropic writes it (a thinking block's signature `""`
    when it has none), or None when it is neither kind."""
    if not isinstance(item, dict):
        return None
    if item.get("type") == "redacted_thinking" and isinstance(item.get("data"), str):
        return {"type": "redacted_thinking", "data": item["data"]}
    text, signature = item.get("thinking"), item.get("signature")
    if item.get("type") == "thinking" and isinstance(text, str):
        signed = signature if isinstance(signature, str) else ""
        return {"type": "thinking", "thinking": text, "signature": signed}
    return None


def signed_thinking(listed: Any) -> list[dict[str, Any]]:
    """An assistant message's `thinking_blocks` as Anthropic takes them back: thinking with
    its signature, redacted thinking with its data. One without (an OpenAI-compatible
    server's reasoning, which nothing signed) is left out: Anthropic would refuse it."""
    blocks = (thinking_block(item) for item in (listed if isinstance(listed, list) else ()))
    return [b for b in blocks if b is not None and (b.get("signature") or "data" in b)]


def without_thinking_blocks(body: dict[str, Any]) -> dict[str, Any]:
    """`body` without its messages' `thinking_blocks` (a copy only when one has them)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not any(
        isinstance(m, dict) and FIELD in m for m in messages
    ):
        return body
    kept = [
        {k: v for k, v in m.items() if k != FIELD} if isinstance(m, dict) and FIELD in m else m
        for m in messages
    ]
    return {**body, "messages": kept}
