"""Building responses: JSON bodies, the error envelope, and the gateway's own headers."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from keeptrusts.errors import GatewayError

JSON = "application/json"


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type=JSON, headers=headers)


def raw_json_response(
    body: bytes, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """A response whose body is JSON already encoded (e.g. a provider's, unchanged)."""
    return web.Response(body=body, status=status, content_type=JSON, headers=headers)


def error_response(
    error: GatewayError, headers: dict[str, str] | None = None, body: bytes | None = None
) -> web.Response:
    """The error's status, headers and envelope (`body`: another API's rendering of it)."""
    merged = {**(headers or {}), **error.headers}
    if not retryable(error):
        # the OpenAI and Anthropic SDKs retry 408, 409, 429 and 5xx unless told not to: a
        # policy block or a spent budget would only be sent (and counted) again
        merged["x-should-retry"] = "false"
    return web.Response(
        body=error.body() if body is None else body,
        status=error.status,
        content_type=JSON,
        headers=merged,
    )


def retryable(error: GatewayError) -> bool:
    """Whether the same request may succeed if sent again: timeouts, rate limits, 5xx (not
    a provider refusing the target's key)."""
    if error.code == "upstream_auth_failed":  # the target's key: a config error, not a blip
        return False
    if error.code == "budget_exceeded":
        # spent: not before the window resets; held by reservations in flight: in a moment
        return int(error.headers.get("Retry-After", "0")) <= 60
    return error.status >= 500 or error.status in (408, 429)
