"""Synthetic decision events for tests (the shape `events.event.from_exchange` produces)."""

from __future__ import annotations

import time
from typing import Any

from keeptrusts.events.event import rfc3339
from keeptrusts.events.ids import uuid7

TENANTS = ("team-a", "team-b", "team-c")
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet")
DECISIONS = ("allow", "redact", "block", "escalate")


def make_event(i: int, *, gateway_id: str = "gw-test", at: float | None = None) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "timestamp": rfc3339(time.time() if at is None else at),
        "gateway_id": gateway_id,
        "config_version": "1.0.0+abc",
        "request_id": f"req-{i}",
        "trace_id": None,
        "tenant": TENANTS[i % 3],
        "model": MODELS[i % 3],
        "provider": "openai-primary",
        "decision": DECISIONS[i % 4],
        "policies_evaluated": [
            {
                "name": "dlp-filter",
                "stage": "request",
                "result": DECISIONS[i % 4],
                "reason_code": None,
                "latency_ms": 0.01,
            },
        ]
        if i % 2 == 0
        else [],
        "input_tokens": 10 + i % 7,
        "output_tokens": 5 + i % 11,
        "cost_usd": round(0.000001 * (i % 13 + 1), 9),
        "latency_ms": 12.5,
        "overhead_ms": 0.4,
        "status": 409 if DECISIONS[i % 4] == "block" else 200,
        "usage_estimated": False,
    }
