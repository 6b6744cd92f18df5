"""Which caller headers reach the provider: trace context and the request id, nothing else."""

from __future__ import annotations

from collections.abc import Mapping

PASS_THROUGH = (
    "traceparent",
    "tracestate",
    "baggage",
    "b3",
    "x-b3-traceid",
    "x-b3-spanid",
    "x-b3-parentspanid",
    "x-b3-sampled",
    "x-b3-flags",
    "x-ot-span-context",
)


def forwarded(headers: Mapping[str, str], request_id: str) -> dict[str, str]:
    out = {"x-request-id": request_id}
    for name in PASS_THROUGH:
        value = headers.get(name)
        if value is not None:
            out[name] = value
    return out


def trace_id_of(headers: Mapping[str, str]) -> str | None:
    tp = headers.get("traceparent")
    if tp and len(tp) >= 55 and tp[2] == "-":
        return tp[3:35]
    b3 = headers.get("b3")
    if b3 and "-" in b3:
        return b3.split("-", 1)[0]
    return headers.get("x-b3-traceid")
