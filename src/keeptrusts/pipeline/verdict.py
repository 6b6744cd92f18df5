"""Verdicts a policy can reach, and the record of one evaluation."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from keeptrusts.errors import GatewayError


class Result(StrEnum):
    """What a policy decided. Ordered by severity: a request's decision is its most severe."""

    ALLOW = "allow"
    REDACT = "redact"
    ESCALATE = "escalate"
    BLOCK = "block"


SEVERITY: dict[Result, int] = {
    Result.ALLOW: 0,
    Result.REDACT: 1,
    Result.ESCALATE: 2,
    Result.BLOCK: 3,
}


def most_severe(a: Result, b: Result) -> Result:
    return a if SEVERITY[a] >= SEVERITY[b] else b


class Stage(StrEnum):
    REQUEST = "request"
    RESPONSE = "response"


class Decision(NamedTuple):
    """A non-text policy's answer. `error` is the reply when `result` is block."""

    result: Result
    reason_code: str | None = None
    error: GatewayError | None = None


ALLOW = Decision(Result.ALLOW)


class Match(NamedTuple):
    """One finding of a text policy, as a span of the scanned text.

    `action` is redact (replace the span with `replacement`), block (stop the chain) or
    escalate (let it through, flag the request for review).
    """

    start: int
    end: int
    action: Result
    reason_code: str
    replacement: str = ""


class Evaluation(NamedTuple):
    """One policy's evaluation at one stage, as the decision event records it."""

    name: str
    stage: Stage
    result: Result
    reason_code: str | None
    latency_ms: float

    def as_event(self) -> dict[str, object]:
        return {
            "name": self.name,
            "stage": self.stage,  # StrEnum members are their value (as str, and in JSON)
            "result": self.result,
            "reason_code": self.reason_code,
            "latency_ms": round(self.latency_ms, 4),
        }
