"""Each streamed thinking block's text before its end, after the stream guard held some back.

A chat stream carries a thinking block's text as `reasoning_content` deltas and its end as a
`thinking_blocks` delta (its signature; a redacted block's data): the text streamed since the
previous entry is that block's. The guard reads all the reasoning as one text, so a secret split
across two blocks is caught, and so it may still hold the end of one block when its signature
passes. `ThinkingMarks` moves each entry to where the guard released its block's last character
(splitting a chunk in two when a release spans the end of a block), so chat callers and the
Messages stream writer can keep the blocks apart. Within one delta, the reasoning text comes
before the entries.

Positions are counted in the provider's characters. Where a redaction changed the released text,
its end is kept with the block it began in. Choice 0 only (Anthropic answers one choice).
"""

from __future__ import annotations

from typing import Any

from keeptrusts.streaming.guard import StreamGuard

FIELD = "reasoning_content"
KEY = (0, FIELD)
#: the chunk fields a piece split off a chunk keeps
TEMPLATE = ("id", "object", "created", "model")


class ThinkingMarks:
    """One per governed stream: `count` before the guard, `place` after it."""

    __slots__ = ("consumed", "fed", "queue", "unreleased")

    def __init__(self) -> None:
        #: the provider's reasoning characters: received, and released by the guard
        self.fed = 0
        self.consumed = 0
        #: received and not yet released (at most what the guard holds)
        self.unreleased = ""
        #: entries waiting for their block's text: (where the block ends, the entries)
        self.queue: list[tuple[int, list[Any]]] = []

    def count(self, data: dict[str, Any]) -> None:
        delta = _delta(data)
        text = delta.get(FIELD) if delta is not None else None
        if isinstance(text, str) and text:
            self.fed += len(text)
            self.unreleased += text

    def place(self, data: dict[str, Any], guard: StreamGuard) -> list[dict[str, Any]] | None:
        """The chunks to send for `data` (the guard ran on it): itself, preceded by a chunk
        per block end its release spans; None when `data` is left as it was."""
        delta = _delta(data)
        if delta is None:
            return None
        entries = delta.get("thinking_blocks")
        if isinstance(entries, list) and entries:
            del delta["thinking_blocks"]
            self.queue.append((self.fed, entries))
        elif not self.queue:
            if self.fed != self.consumed:  # (a stream without reasoning costs two lookups)
                self._released(guard)
            return None
        released = delta.get(FIELD)
        released = released if isinstance(released, str) else ""
        start = self.consumed
        raw = self._released(guard)
        pieces: list[tuple[str, list[Any]]] = []
        at = 0
        while self.queue and self.queue[0][0] <= self.consumed:
            end, listed = self.queue.pop(0)
            cut = max(at, _cut(raw, released, end - start))
            pieces.append((released[at:cut], listed))
            at = cut
        if not pieces:
            return [data]
        rest = released[at:]
        if not rest:  # the last block ends this chunk's reasoning: its entries go with it
            text, listed = pieces.pop()
            _set(delta, text, listed)
        else:
            delta[FIELD] = rest
        out = [_piece(data, text, listed) for text, listed in pieces]
        if out and "role" in delta:  # (the first chunk says who speaks)
            out[0]["choices"][0]["delta"]["role"] = delta.pop("role")
        return [*out, data]

    def _released(self, guard: StreamGuard) -> str:
        """The provider's reasoning the guard released since the last call."""
        consumed = self.fed - guard.held(KEY)
        raw = self.unreleased[: consumed - self.consumed]
        self.consumed = consumed
        self.unreleased = self.unreleased[len(raw) :]
        return raw


def _cut(raw: str, released: str, at: int) -> int:
    """Where the provider's character `at` of `raw` stands in `released` (the guard's release
    of `raw`): the same place before a change, counted from the end after it; inside one, at
    the change's end (the redaction stays with the block it began in)."""
    if raw == released or released[:at] == raw[:at]:
        return min(at, len(released))
    after = len(raw) - at
    if after == 0 or released[-after:] == raw[-after:]:
        return max(len(released) - after, 0)
    same = 0
    while same < min(len(raw), len(released)) and raw[-1 - same] == released[-1 - same]:
        same += 1
    return len(released) - same


def _delta(data: dict[str, Any]) -> dict[str, Any] | None:
    for choice in data.get("choices") or ():
        if isinstance(choice, dict) and choice.get("index", 0) == 0:
            delta = choice.get("delta")
            return delta if isinstance(delta, dict) else None
    return None


def _set(delta: dict[str, Any], text: str, entries: list[Any]) -> None:
    if text or FIELD in delta:
        delta[FIELD] = text
    delta["thinking_blocks"] = entries


def _piece(data: dict[str, Any], text: str, entries: list[Any]) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    _set(delta, text, entries)
    choice = {"index": 0, "delta": delta, "finish_reason": None}
    return {**{k: data[k] for k in TEMPLATE if k in data}, "choices": [choice]}
