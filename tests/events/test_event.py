"""The decision event built from an exchange, and its ids."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, cast

import orjson

from keeptrusts.events.event import from_exchange
from keeptrusts.events.ids import uuid7
from keeptrusts.pipeline.context import Exchange, Usage
from keeptrusts.pipeline.verdict import Evaluation, Result, Stage

if TYPE_CHECKING:
    from keeptrusts.config.runtime import Runtime

CONTRACT_FIELDS = {
    "id",
    "timestamp",
    "gateway_id",
    "config_version",
    "request_id",
    "trace_id",
    "tenant",
    "model",
    "provider",
    "decision",
    "policies_evaluated",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "latency_ms",
    "overhead_ms",
    "status",
}
SECRET_PROMPT = "my card is 4111 1111 1111 1111 and project atlas"


def exchange() -> Exchange:
    raw = orjson.dumps({"model": "gpt-4o-mini", "messages": [{"content": SECRET_PROMPT}]})
    ex = Exchange(
        # from_exchange reads no runtime field; a compiled runtime is not needed here
        runtime=cast("Runtime", None),
        endpoint="chat",
        body={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": SECRET_PROMPT}]},
        raw=raw,
        request_id="req-123",
        model="gpt-4o-mini",
        stream=False,
        tenant="team-a",
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
    )
    ex.started -= 0.050
    ex.upstream_seconds = 0.040
    ex.provider = "openai-primary"
    ex.usage = Usage(input_tokens=12, output_tokens=7, estimated=True)
    ex.cost_usd = 0.0000123
    ex.status = 200
    ex.record(Evaluation("pii-detector", Stage.REQUEST, Result.REDACT, "pii.card", 0.12))
    ex.record(Evaluation("dlp-filter", Stage.RESPONSE, Result.ALLOW, None, 0.03))
    ex.scratch["budget"] = {"limit_usd": 50.0, "spent_usd": 1.25, "secret": object()}
    return ex


def test_event_has_the_contract_fields_and_no_text() -> None:
    event = from_exchange(exchange(), "gw-1", "1.4.0+abcdef")
    assert set(event) >= CONTRACT_FIELDS
    assert event["decision"] == "redact"
    assert event["policies_evaluated"][0] == {
        "name": "pii-detector",
        "stage": "request",
        "result": "redact",
        "reason_code": "pii.card",
        "latency_ms": 0.12,
    }
    assert (event["input_tokens"], event["output_tokens"]) == (12, 7)
    assert event["usage_estimated"] is True
    assert event["latency_ms"] >= 50 and 5 <= event["overhead_ms"] < event["latency_ms"]
    assert event["budget"] == {"limit_usd": 50.0, "spent_usd": 1.25}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", event["timestamp"])
    text = repr(event)
    for fragment in ("4111", "atlas", "card is", "messages"):
        assert fragment not in text


def test_ids_are_unique_and_time_ordered() -> None:
    ids = [uuid7() for _ in range(20000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert all(i[14] == "7" and i[19] in "89ab" for i in ids[:100])
    later = uuid7()
    time.sleep(0.002)
    assert uuid7() > later
