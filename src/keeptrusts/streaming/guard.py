"""Response policies on streams: release text as soon as it is safe, never a match in the clear.

Each text field of a stream (a choice's content, a tool call's arguments) has a pending
buffer. On every delta the guard scans the buffer with the response-stage text policies.
Each policy says where a match still arriving could start (`hold_from`: by default the last
`holdback` characters; `pii-detector` holds only the trailing token or number-like group).
Text before that is released, redacted where a match was found; a match that reaches into
the held tail is held back whole, since more text could extend or cancel it. At the
field's end (finish_reason, or the end of the stream) everything left is scanned and
released. The delay is therefore bounded by `holdback` characters (the longest span any
enabled policy can match). A block ends the stream.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.textscan import PolicyHits, apply
from keeptrusts.pipeline.verdict import SEVERITY, Match, Result, Stage
from keeptrusts.streaming import json_escapes


class StreamBlocked(Exception):
    def __init__(self, policy: Policy, reason: str | None) -> None:
        super().__init__(policy.name)
        self.policy = policy
        self.reason = reason


@dataclass(slots=True)
class StreamGuard:
    policies: Sequence[Policy]
    holdback: int
    pending: dict[Hashable, str] = field(default_factory=dict)
    hits: dict[str, PolicyHits] = field(default_factory=dict)
    #: choices whose finish_reason has passed (their text is complete and released)
    finished: set[Hashable] = field(default_factory=set)
    #: JSON fields whose held text begins inside a string (what was released left it open)
    in_string: set[Hashable] = field(default_factory=set)

    def feed(self, key: Hashable, delta: str, json: bool = False) -> str:
        """Add `delta` to the field `key`; return the text now safe to send. `json`: the field
        is JSON text (tool-call arguments): its `\\u` escapes are decoded where JSON allows
        (an escape cut by the chunk boundary is held until it is whole), and the policies read
        it with every escape decoded (`json_escapes`)."""
        text = self.pending.get(key, "") + delta
        hold = len(text)
        if json:
            text, hold = json_escapes.decode(text)
        scan = _Scan(text, json, key in self.in_string)
        hold = scan.to_scan(hold)
        for policy in self.policies:
            at = policy.hold_from(scan.text)
            if at < hold:
                hold = at
        if hold <= 0:
            self.pending[key] = text
            return ""
        released, rest = self._split(scan, final=False, hold=hold)
        self.pending[key] = rest
        if json:
            if scan.string_at(len(text) - len(rest)):
                self.in_string.add(key)
            else:
                self.in_string.discard(key)
        return released

    def flush(self, key: Hashable, json: bool = False) -> str:
        """End of the field: scan and release everything left."""
        text = self.pending.pop(key, "")
        opened = key in self.in_string
        self.in_string.discard(key)
        if not text:
            return ""
        scan = _Scan(text, json, opened)
        released, _ = self._split(scan, final=True, hold=len(scan.text))
        return released

    def keys(self) -> list[Hashable]:
        return list(self.pending)

    def _split(self, scan: _Scan, final: bool, hold: int) -> tuple[str, str]:
        """Release the scanned text up to `hold` (scan positions), redacted; block on a
        block. Returns (released, still held), both as written."""
        text = scan.text
        boundary = hold
        firm: list[Match] = []
        for policy in self.policies:
            t0 = time.perf_counter()
            matches = policy.find(text, Stage.RESPONSE)
            hits = self.hits.get(policy.name)
            if hits is None:
                hits = self.hits[policy.name] = PolicyHits()
            hits.seconds += time.perf_counter() - t0
            for m in matches:
                if not final and (m.end > hold or m.end >= len(text)):  # may still grow
                    boundary = min(boundary, m.start)
                    continue
                _note(hits, m)
                if m.action is Result.BLOCK:
                    raise StreamBlocked(policy, m.reason_code)
                if m.action is Result.REDACT:
                    firm.append(m)
        boundary = _settle(boundary, firm)
        return scan.release(boundary, [m for m in firm if m.end <= boundary])


class _Scan:
    """A held text as the policies read it. Plain fields are read as they are; JSON fields
    with escapes through their decoded view, whose positions map back to the text."""

    __slots__ = ("json", "opened", "raw", "starts", "text")

    def __init__(self, raw: str, json: bool, opened: bool = False) -> None:
        self.raw = raw
        self.json = json
        self.opened = opened  # (JSON) the text begins inside a string
        self.starts: list[int] | None = None
        self.text = raw
        if json and "\\" in raw:
            self.text, self.starts = json_escapes.view(raw)

    def to_scan(self, raw_pos: int) -> int:
        """The scan position of a raw position that starts a character (or the end)."""
        if self.starts is None:
            return raw_pos
        return bisect_left(self.starts, raw_pos)

    def string_at(self, raw_pos: int) -> bool:
        """(JSON) Whether `raw_pos` is inside a string."""
        return json_escapes.in_string(self.raw, raw_pos, self.opened)

    def release(self, boundary: int, redactions: list[Match]) -> tuple[str, str]:
        at = self.starts
        cut = boundary if at is None else at[boundary]
        if at is not None:
            redactions = [m._replace(start=at[m.start], end=at[m.end]) for m in redactions]
        if self.json:  # a value redacted outside a string (a number) becomes a string
            redactions = [
                m if self.string_at(m.start) else m._replace(replacement=f'"{m.replacement}"')
                for m in redactions
            ]
        return apply(self.raw[:cut], redactions), self.raw[cut:]


def _settle(boundary: int, matches: list[Match]) -> int:
    """Move the boundary left until it cuts no match."""
    moved = True
    while moved:
        moved = False
        for m in matches:
            if m.start < boundary < m.end:
                boundary = m.start
                moved = True
    return max(boundary, 0)


def _note(hits: PolicyHits, m: Match) -> None:
    if SEVERITY[m.action] > SEVERITY[hits.result]:
        hits.result = m.action
        hits.reason_code = m.reason_code
