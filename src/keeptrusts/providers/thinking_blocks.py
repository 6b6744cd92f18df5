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
#: a thinking block's place in its Anthropic turn (0 first), which `in_order` puts it back at
INDEX = "index"
KINDS = frozenset({"thinking", "redacted_thinking"})


def thinking_block(item: Any) -> dict[str, Any] | None:
    """One of `thinking_blocks` as Anthropic writes it (a thinking block's signature `""`
    when it has none), with its `index` when it has one; None when it is neither kind."""
    if not isinstance(item, dict):
        return None
    block: dict[str, Any] | None = None
    if item.get("type") == "redacted_thinking" and isinstance(item.get("data"), str):
        block = {"type": "redacted_thinking", "data": item["data"]}
    text, signature = item.get("thinking"), item.get("signature")
    if item.get("type") == "thinking" and isinstance(text, str):
        signed = signature if isinstance(signature, str) else ""
        block = {"type": "thinking", "thinking": text, "signature": signed}
    index = item.get(INDEX)
    if block is not None and type(index) is int and index >= 0:
        block[INDEX] = index
    return block


def in_order(
    thinking: list[dict[str, Any]], texts: list[dict[str, Any]], tools: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """An Anthropic turn's blocks from a chat message's parts, in the order the turn had them
    (Anthropic requires a turn given back as it answered it): each thinking block at its
    `index` (its place in the turn; one without comes first), tool uses in their order in
    the places before a thinking block, the text (a chat message has one; its refusal apart)
    right after the last thinking block, then the other tool uses. Without thinking: the text,
    then the tool uses."""
    out = [_plain(b) for b in thinking if INDEX not in b]
    others = list(tools)
    for block in sorted((b for b in thinking if INDEX in b), key=lambda b: b[INDEX]):
        while len(out) < block[INDEX] and others:  # (interleaved thinking: a tool use first)
            out.append(others.pop(0))
        out.append(_plain(block))
    return out + texts + others


def interleaved(kinds: list[str]) -> bool:
    """Whether a turn's blocks (their types, in order) have a thinking block after another
    kind: only then do its thinking blocks need their `index` on the chat path."""
    seen_other = False
    for kind in kinds:
        if kind not in KINDS:
            seen_other = True
        elif seen_other:
            return True
    return False


def _plain(block: dict[str, Any]) -> dict[str, Any]:
    """The block as Anthropic takes it (without the gateway's `index`)."""
    return {k: v for k, v in block.items() if k != INDEX}


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
