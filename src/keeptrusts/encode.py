"""JSON the gateway re-encodes (a changed request, a translated answer), with a clear error
where orjson cannot: it encodes at most 254 levels of nesting, and parses up to 1024."""

from __future__ import annotations

from typing import Any

import orjson

from keeptrusts.errors import UpstreamFailed, ValidationFailed

NESTING = "nests JSON more than 254 levels deep, more than the gateway re-encodes"


def request_json(value: Any) -> bytes:
    """A request body (or part of one) on its way to a provider; 400 if it cannot be encoded."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise ValidationFailed(f"the request {NESTING}; flatten it") from exc


def answer_json(value: Any) -> bytes:
    """An answer on its way to the client; 502 if the provider's answer cannot be encoded."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError as exc:
        raise UpstreamFailed(
            f"the provider's answer {NESTING}", status=502, code="upstream_error"
        ) from exc
