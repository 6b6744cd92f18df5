"""Build the decision event for one finished exchange (contract § Decision events).

The event carries what was decided and what it cost, never the prompt or the completion.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from keeptrusts.events.ids import uuid7
from keeptrusts.pipeline.context import Exchange

#: keys of `Exchange.scratch` whose dict value is copied into the event's `budget` field
BUDGET_SCRATCH_KEY = "budget"


def rfc3339(epoch: float) -> str:
    """UTC with microseconds and a `Z`: fixed width, so it also sorts as text."""
    second = int(epoch)
    global _second, _prefix
    if second != _second:  # formatting the date part once a second keeps this cheap
        _prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        _second = second
    micros = min(999_999, int((epoch - second) * 1_000_000))
    return f"{_prefix}{micros:06d}Z"


_second = -1
_prefix = ""


def from_exchange(ex: Exchange, gateway_id: str, config_version: str) -> dict[str, Any]:
    """The event for `ex`. `timestamp` is when the request arrived."""
    elapsed = ex.elapsed()
    usage = ex.usage
    event: dict[str, Any] = {
        "id": uuid7(),
        "timestamp": rfc3339(time.time() - elapsed),
        "gateway_id": gateway_id,
        "config_version": config_version,
        "request_id": ex.request_id,
        "trace_id": ex.trace_id,
        "tenant": ex.tenant,
        "model": ex.model,
        "provider": ex.provider,
        "decision": ex.decision,
        "policies_evaluated": [e.as_event() for e in ex.evaluations],
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": round(ex.cost_usd, 10),
        "latency_ms": round(elapsed * 1000, 3),
        "overhead_ms": round(max(0.0, elapsed - ex.upstream_seconds) * 1000, 3),
        "status": ex.status,
        "usage_estimated": usage.estimated,
    }
    if usage.cached_input_tokens:
        event["cached_input_tokens"] = usage.cached_input_tokens
    if ex.stream:
        event["stream"] = True
    if ex.client_gone:
        event["client_gone"] = True
    budget = _budget(ex)
    if budget is not None:
        event["budget"] = budget
    return event


def _budget(ex: Exchange) -> dict[str, Any] | None:
    """Budget information a budget policy left in the scratch space (numbers and names only)."""
    raw = ex.scratch.get(BUDGET_SCRATCH_KEY)
    as_event = getattr(raw, "as_event", None)
    if callable(as_event):
        raw = as_event()
    if not isinstance(raw, dict):
        return None
    scalar = (str, int, float, bool, type(None))
    return {str(k): v for k, v in raw.items() if isinstance(v, scalar)}
