"""Run text policies over one text: collect matches, apply redactions, stop on a block.

Matches are found on the original text by every policy in chain order (a block stops
the walk), then applied at once: overlapping spans keep the earliest (then longest).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from keeptrusts.pipeline.stage import Policy
from keeptrusts.pipeline.verdict import SEVERITY, Match, Result, Stage


@dataclass(slots=True)
class PolicyHits:
    """What one policy found across the texts of one stage."""

    result: Result = Result.ALLOW
    reason_code: str | None = None
    seconds: float = 0.0


@dataclass(slots=True)
class ScanOutcome:
    text: str
    blocked_by: Policy | None = None
    block_reason: str | None = None
    hits: dict[str, PolicyHits] = field(default_factory=dict)


def scan(policies: Sequence[Policy], text: str, stage: Stage) -> ScanOutcome:
    """Scan one whole text with every applicable policy; return the transformed text."""
    outcome = ScanOutcome(text=text)
    matches = collect(policies, text, stage, outcome)
    if outcome.blocked_by is None and matches:
        outcome.text = apply(text, matches)
    return outcome


def collect(
    policies: Sequence[Policy], text: str, stage: Stage, outcome: ScanOutcome
) -> list[Match]:
    """Every policy's matches on `text`, recorded per policy; stops at the first block."""
    found: list[Match] = []
    for policy in policies:
        if stage not in policy.stages:
            continue
        t0 = time.perf_counter()
        matches = policy.find(text, stage) if text else []
        hits = outcome.hits.get(policy.name)
        if hits is None:
            hits = outcome.hits[policy.name] = PolicyHits()
        hits.seconds += time.perf_counter() - t0
        for m in matches:
            _note(hits, m)
            if m.action is Result.BLOCK:
                outcome.blocked_by = policy
                outcome.block_reason = m.reason_code
                return found
        found.extend(m for m in matches if m.action is Result.REDACT)
    return found


def _note(hits: PolicyHits, m: Match) -> None:
    if SEVERITY[m.action] > SEVERITY[hits.result]:
        hits.result = m.action
        hits.reason_code = m.reason_code
    elif hits.reason_code is None:
        hits.reason_code = m.reason_code


def apply(text: str, matches: list[Match]) -> str:
    """Replace redacted spans; overlapping spans are merged into the earliest one."""
    if not matches:
        return text
    parts: list[str] = []
    pos = 0
    for start, end, replacement in merged(matches):
        parts.append(text[pos:start])
        parts.append(replacement)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def merged(matches: list[Match]) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of redactions, disjoint and in order: a span overlapping the
    one before it is merged into it (the earlier one's replacement covers both)."""
    out: list[tuple[int, int, str]] = []
    for m in sorted(matches, key=lambda m: (m.start, -m.end)):
        if out and m.start < out[-1][1]:
            if m.end > out[-1][1]:
                out[-1] = (out[-1][0], m.end, out[-1][2])
            continue
        out.append((m.start, m.end, m.replacement))
    return out
