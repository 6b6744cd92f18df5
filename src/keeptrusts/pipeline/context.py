"""The per-request exchange: everything the chain, the router and the event need to share."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keeptrusts.pipeline.verdict import Evaluation, Result, most_severe

if TYPE_CHECKING:
    from keeptrusts.config.runtime import Runtime
    from keeptrusts.telemetry.tracing import RequestTrace


class Endpoint:
    CHAT = "chat"
    COMPLETIONS = "completions"
    EMBEDDINGS = "embeddings"
    MESSAGES = "messages"


@dataclass(slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    #: prompt tokens written to a provider cache (Anthropic: billed above the input price)
    cache_write_tokens: int = 0
    #: output tokens the model spent reasoning (counted in `output_tokens` too)
    reasoning_tokens: int = 0
    estimated: bool = False


@dataclass(slots=True)
class Exchange:
    """One request's state. Created by the handler, read by policies, closed into an event."""

    runtime: Runtime
    endpoint: str
    body: dict[str, Any]
    raw: bytes
    request_id: str
    model: str
    stream: bool
    tenant: str = "anonymous"
    api_key_id: str | None = None
    trace_id: str | None = None
    started: float = field(default_factory=time.perf_counter)
    #: seconds spent waiting on providers (subtracted to get the gateway's own overhead)
    upstream_seconds: float = 0.0
    evaluations: list[Evaluation] = field(default_factory=list)
    decision: Result = Result.ALLOW
    provider: str | None = None
    #: the model name the serving target was sent (its `model` rewrite, else the request's):
    #: what the answer is priced at
    upstream_model: str | None = None
    status: int = 200
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    #: per-policy scratch space (e.g. a budget reservation), keyed by policy name
    scratch: dict[str, Any] = field(default_factory=dict)
    #: True once the client went away mid-response
    client_gone: bool = False
    #: the request's trace (W3C/B3 continued or started); spans only when export is on
    trace: RequestTrace | None = None

    def record(self, evaluation: Evaluation) -> None:
        self.evaluations.append(evaluation)
        self.decision = most_severe(self.decision, evaluation.result)

    def priced_model(self) -> str:
        """The model whose price applies: the one the serving target ran."""
        return self.upstream_model or self.model

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def prompt_estimate(self) -> int:
        """The prompt's tokens when no provider counted them: about four bytes a token of the
        request body (cheap, and what the usage estimate of an answer without usage says)."""
        return max(1, len(self.raw) // 4)

    def overhead(self) -> float:
        return max(0.0, self.elapsed() - self.upstream_seconds)
