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
#: the message's field for its text's place in that turn, beside thinking blocks with an `index`
CONTENT_INDEX = "content_index"
KINDS = frozenset({"thinking", "redacted_thinking"})
#: the message fields only an `anthropic` target takes
PLACING = (FIELD, CONTENT_INDEX)
#: the kinds of block a chat message carries (`TurnPlaces` counts these)
CARRIED = frozenset({"text", "tool_use", *KINDS})


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
    thinking: list[dict[str, Any]],
    texts: list[dict[str, Any]],
    tools: list[dict[str, Any]],
    text_at: int | None = None,
) -> list[dict[str, Any]]:
    """An Anthropic turn's blocks from a chat message's parts, in the order the turn had them
    (Anthropic requires a turn given back as it answered it): each thinking block at its
    `index` (its place in the turn; those without come first), the texts (a chat message has
    one; its refusal apart) at `text_at` (the message's `content_index`), tool uses in their
    order in the places left before them, then the other tool uses. Without a `text_at`, the
    texts come right after the last thinking block; without thinking: the text, then the tool
    uses."""
    out = [_plain(b) for b in thinking if INDEX not in b]
    placed = [(b[INDEX], [_plain(b)]) for b in thinking if INDEX in b]
    if text_at is not None:  # (a text emptied since keeps its place: no tool use takes it)
        placed.append((text_at, texts))
        texts = []
    others = list(tools)
    taken = len(out)
    for at, blocks in sorted(placed, key=lambda p: p[0]):
        while taken < at and others:  # (interleaved thinking: a tool use first)
            out.append(others.pop(0))
            taken += 1
        out.extend(blocks)
        taken += 1
    return out + texts + others


class TurnPlaces:
    """The places of an Anthropic turn's blocks on the chat path, given block by block in the
    turn's order: a thinking block after another kind (interleaved thinking) needs its `index`,
    and the text its `content_index`, for `in_order` to give the turn back in its order. The
    chat message has one text: the turn's texts count as one block, at the first one's place
    (a later text is given back joined to it); blocks it does not carry do not count."""

    __slots__ = ("count", "interleaved", "other", "text_at")

    def __init__(self) -> None:
        self.count = 0
        #: a block of another kind than thinking came; a thinking block came after one
        self.other = False
        self.interleaved = False
        self.text_at: int | None = None

    def add(self, kind: str) -> int | None:
        """The place of the next block, of type `kind`, when it needs its `index`."""
        if kind not in CARRIED or (kind == "text" and self.text_at is not None):
            return None
        place, self.count = self.count, self.count + 1
        if kind not in KINDS:
            self.other = True
            if kind == "text":
                self.text_at = place
            return None
        self.interleaved |= self.other
        return place if self.other else None

    def content_index(self) -> int | None:
        """The text's place, when the turn needs it (a thinking block after another kind)."""
        return self.text_at if self.interleaved else None


def content_place(msg: dict[str, Any]) -> int | None:
    """A chat message's `content_index`, when it is one (a non-negative integer)."""
    at = msg.get(CONTENT_INDEX)
    return at if type(at) is int and at >= 0 else None


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
    """`body` without its messages' `thinking_blocks` and `content_index` (a copy only when
    one has them)."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not any(_has_placing(m) for m in messages):
        return body
    kept = [
        {k: v for k, v in m.items() if k not in PLACING} if _has_placing(m) else m for m in messages
    ]
    return {**body, "messages": kept}


def _has_placing(msg: Any) -> bool:
    return isinstance(msg, dict) and (FIELD in msg or CONTENT_INDEX in msg)
