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

    def feed(self, key: Hashable, delta: str, json: bool = False) -> str:
        """Add `delta` to the field `key`; return the text now safe to send. `json`: the field
        is JSON text (tool-call arguments), read with its `\\u` escapes decoded, and an
        escape cut by the chunk boundary is held until it is whole (`json_escapes`)."""
        text = self.pending.get(key, "") + delta
        hold = len(text)
        if json:
            text, hold = json_escapes.decode(text)
        for policy in self.policies:
            at = policy.hold_from(text)
            if at < hold:
                hold = at
        if hold <= 0:
            self.pending[key] = text
            return ""
        released, rest = self._split(text, final=False, hold=hold)
        self.pending[key] = rest
        return released

    def flush(self, key: Hashable) -> str:
        """End of the field: scan and release everything left."""
        text = self.pending.pop(key, "")
        if not text:
            return ""
        released, _ = self._split(text, final=True, hold=len(text))
        return released

    def keys(self) -> list[Hashable]:
        return list(self.pending)

    def _split(self, text: str, final: bool, hold: int) -> tuple[str, str]:
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
        head = apply(text[:boundary], [m for m in firm if m.end <= boundary])
        return head, text[boundary:]


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
