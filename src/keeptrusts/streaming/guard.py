"""Response policies on streams: release text as soon as it is safe, never a match in the clear.

The policies run in chain order, each on the text the one before it released, as the
whole-answer chain gives each policy the text the one before it redacted: so a stream and a
JSON answer give the same verdict and the same text (a blocked term inside an address
`pii-detector` already redacted blocks neither).

Each policy keeps, for each text field of a stream (a choice's content, a tool call's
arguments), a pending buffer. On every delta it scans the buffer, after the last `CONTEXT`
characters it already released (what a detector reads just before a value: an identifier's
label, a word boundary). The policy says where a match still arriving could start
(`hold_from`: by default the last `holdback` characters; `pii-detector` holds only the
trailing token or number-like group). Text before that is released, redacted where a match
was found; a match that reaches into the held tail is held back whole, since more text could
extend or cancel it. At the field's end (finish_reason, or the end of the stream) everything
left is scanned and released. The delay is therefore bounded by the sum of the policies'
holds (`holdback` each; `dlp-filter` from the start of the word its bound falls in). A block
ends the stream.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from time import perf_counter

from keeptrusts.pipeline import json_redact
from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.textscan import PolicyHits, apply
from keeptrusts.pipeline.verdict import SEVERITY, Match, Result, Stage
from keeptrusts.streaming import json_escapes

#: characters already released that a policy reads before its held text (the longest
#: look-behind of a detector: `pii-detector` reads 32 characters for an identifier's label),
#: from the start of a word
CONTEXT = 32


class StreamBlocked(Exception):
    def __init__(self, policy: Policy, reason: str | None) -> None:
        super().__init__(policy.name)
        self.policy = policy
        self.reason = reason


@dataclass(slots=True)
class StreamGuard:
    policies: Sequence[Policy]
    holdback: int
    #: the answer's content is JSON (the request asked for JSON output): read and redacted as
    #: tool-call arguments are, so it stays valid JSON
    json_content: bool = False
    hits: dict[str, PolicyHits] = field(default_factory=dict)
    #: choices whose finish_reason has passed (their text is complete and released)
    finished: set[Hashable] = field(default_factory=set)
    #: one per policy, in chain order
    stages: list[PolicyStream] = field(init=False)

    def __post_init__(self) -> None:
        self.stages = [PolicyStream(p, self.hits) for p in self.policies]

    def feed(self, key: Hashable, delta: str, json: bool = False) -> str:
        """Add `delta` to the field `key`; return the text now safe to send. `json`: the field
        is JSON text (tool-call arguments): its `\\u` escapes are decoded where JSON allows
        (an escape cut by the chunk boundary is held until it is whole), and the policies read
        it with every escape decoded (`json_escapes`)."""
        text = delta
        for stage in self.stages:
            if not text:
                return ""
            text = stage.feed(key, text, json)
        return text

    def flush(self, key: Hashable, json: bool = False) -> str:
        """End of the field: scan and release everything left."""
        text = ""
        for stage in self.stages:
            text = stage.flush(key, text, json)
        return text

    def held(self, key: Hashable) -> int:
        """Characters of the field `key` held back (as each policy holds them: where one
        redacted, its replacement counts)."""
        return sum(len(stage.pending.get(key, "")) for stage in self.stages)

    def keys(self) -> list[Hashable]:
        """The fields with text still held."""
        return list(dict.fromkeys(k for stage in self.stages for k in stage.pending))


@dataclass(slots=True)
class PolicyStream:
    """One policy's hold on each field of a stream."""

    policy: Policy
    hits: dict[str, PolicyHits]
    pending: dict[Hashable, str] = field(default_factory=dict)
    #: the end of the text this policy already released, as it read it
    context: dict[Hashable, str] = field(default_factory=dict)
    #: JSON fields whose held text begins inside a string (what was released left it open)
    in_string: set[Hashable] = field(default_factory=set)
    #: this policy's entry in `hits`, once it has read something
    _hits: PolicyHits | None = None

    def feed(self, key: Hashable, delta: str, json: bool) -> str:
        text = self.pending.get(key, "") + delta
        hold = len(text)
        if json:
            text, hold = json_escapes.decode(text)
        scan = _Scan(text, json, key in self.in_string, self._read_back(key, text))
        hold = min(scan.to_scan(hold), scan.offset + self.policy.hold_from(scan.view))
        if hold <= scan.offset:
            self.pending[key] = text
            return ""
        released, rest = self._split(key, scan, final=False, hold=hold)
        self.pending[key] = rest
        if json:
            if scan.string_at(len(text) - len(rest)):
                self.in_string.add(key)
            else:
                self.in_string.discard(key)
        return released

    def flush(self, key: Hashable, delta: str, json: bool) -> str:
        text = self.pending.pop(key, "") + delta
        opened = key in self.in_string
        self.in_string.discard(key)
        if not text:
            self.context.pop(key, None)
            return ""
        if json:
            text, _ = json_escapes.decode(text)
        scan = _Scan(text, json, opened, self._read_back(key, text))
        self.context.pop(key, None)
        released, _ = self._split(key, scan, final=True, hold=len(scan.text))
        return released

    def _read_back(self, key: Hashable, held: str) -> str:
        released = self.context.get(key)
        return self.policy.read_back(released, held) if released else ""

    def _split(self, key: Hashable, scan: _Scan, final: bool, hold: int) -> tuple[str, str]:
        """Release the scanned text up to `hold` (scan positions), redacted; block on a
        block. Returns (released, still held), both as written."""
        text = scan.text
        start = scan.offset
        t0 = perf_counter()
        matches = self.policy.find(text, Stage.RESPONSE)
        if len(matches) == 1 and matches[0].end <= start:
            matches = self._after_context(text, start, matches)
        hits = self._hits
        if hits is None:
            hits = self._hits = self.hits.setdefault(self.policy.name, PolicyHits())
        hits.seconds += perf_counter() - t0
        boundary = hold
        firm: list[Match] = []
        for m in matches:
            if m.end <= start:  # within what was released: decided before
                continue
            if not final and (m.end > hold or m.end >= len(text)):  # may still grow
                boundary = min(boundary, m.start)
                continue
            _note(hits, m)
            if m.action is Result.BLOCK:
                raise StreamBlocked(self.policy, m.reason_code)
            if m.action is Result.REDACT:
                firm.append(m)
        if firm:
            boundary = max(_settle(boundary, firm), start)
            firm = [m for m in firm if m.end <= boundary]
        if not final and boundary > start:  # (the policy may have read less than all of it)
            released = self.context.get(key, "") + text[start:boundary]
            self.context[key] = _context(released, len(released))
        return scan.release(boundary, firm)

    def _after_context(self, text: str, start: int, matches: list[Match]) -> list[Match]:
        """A blocking policy reports its first match only: when that one lies in the context
        (released before, so not a block then), the rest is read again after it, so it
        cannot hide a match in the held text."""
        skip = 0
        while len(matches) == 1 and skip < matches[0].end <= start:
            if matches[0].action is not Result.BLOCK:
                break
            skip = matches[0].end
            found = self.policy.find(text[skip:], Stage.RESPONSE)
            matches = [m._replace(start=m.start + skip, end=m.end + skip) for m in found]
        return matches


class _Scan:
    """A held text as a policy reads it: after the context it already released, plain fields
    as they are, JSON fields with escapes through their decoded view, whose positions map
    back to the text."""

    __slots__ = ("json", "offset", "opened", "raw", "starts", "text", "view")

    def __init__(self, raw: str, json: bool, opened: bool, context: str) -> None:
        self.raw = raw
        self.json = json
        self.opened = opened  # (JSON) the text begins inside a string
        self.offset = len(context)  # where the held text starts in `text`
        self.starts: list[int] | None = None
        #: the held text as the policies read it; `text` is it after the context
        self.view = raw
        if json and "\\" in raw:
            self.view, self.starts = json_escapes.view(raw)
        self.text = context + self.view if context else self.view

    def to_scan(self, raw_pos: int) -> int:
        """The scan position of a raw position that starts a character (or the end)."""
        if self.starts is None:
            return self.offset + raw_pos
        return self.offset + bisect_left(self.starts, raw_pos)

    def string_at(self, raw_pos: int) -> bool:
        """(JSON) Whether `raw_pos` is inside a string."""
        return json_escapes.in_string(self.raw, raw_pos, self.opened)

    def release(self, boundary: int, redactions: list[Match]) -> tuple[str, str]:
        shift = self.offset
        if shift:  # a match begun in the context covers the held text it reaches
            redactions = [_held_part(m, shift) for m in redactions]
        at = self.starts
        cut = boundary - shift if at is None else at[boundary - shift]
        if at is not None:
            redactions = [m._replace(start=at[m.start], end=at[m.end]) for m in redactions]
        if self.json:  # token by token: a redacted number becomes a string, JSON stays valid
            return json_redact.redact(self.raw[:cut], redactions, self.opened), self.raw[cut:]
        return apply(self.raw[:cut], redactions), self.raw[cut:]


def _context(text: str, end: int) -> str:
    """The last `CONTEXT` characters before `end`, and the rest of the word they start in
    (up to `CONTEXT` more): a word cut in two would read as another (`xfalcon` as `falcon`).
    Cut from a longer text, it keeps the character before it too: read from its first
    character, a context would read as the start of the text (`^`, `\\A` in a
    `detect_patterns` entry would match there; after a line break, `(?m)^` must)."""
    at = end - CONTEXT
    if at <= 0:
        return text[:end]
    if text[at - 1].isspace():
        return text[at - 1 : end]
    floor = max(0, at - CONTEXT)
    head = text[floor:at].rsplit(None, 1)  # (str.rsplit splits where str.isspace() does)
    start = at - len(head[-1]) if len(head) == 2 or floor == 0 else floor
    return text[max(0, start - 1) : end]


def _held_part(m: Match, shift: int) -> Match:
    """A redaction in held-text positions. One begun in the context overlaps a value this
    policy released redacted (it holds any value that could still grow): as in a whole answer,
    where overlapping spans merge under the first one's replacement, it adds no replacement
    of its own and only removes what it covers of the held text."""
    if m.start >= shift:
        return m._replace(start=m.start - shift, end=m.end - shift)
    return m._replace(start=0, end=m.end - shift, replacement="")


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
