"""Shared HTTP plumbing for adapters: status -> UpstreamError, bounded error bodies.

An error status relays the provider's own message to the client, clipped to `MAX_ERROR_DETAIL`
characters and with the credentials the request carried masked (`sk-...wxyz`): a provider or
proxy that echoes the `Authorization` header it got must not hand our key to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
import orjson

from keeptrusts.providers.base import UpstreamError
from keeptrusts.telemetry.logging import mask_secret

MAX_ERROR_BODY = 64 * 1024
MAX_JSON_BODY = 32 * 1024 * 1024
#: characters of the provider's error message relayed to the client
MAX_ERROR_DETAIL = 300
#: request header names holding a credential (`authorization`, `api-key`, `x-api-key`, ...)
SECRET_HEADER_HINTS = ("auth", "key", "token", "secret", "cookie", "credential", "password")


async def raise_for_status(resp: aiohttp.ClientResponse, target: str) -> None:
    if resp.status < 400:
        return
    raw = await read_bounded(resp.content, MAX_ERROR_BODY)
    detail = relayed_detail(_error_message(raw), resp.request_info.headers)
    retry_after = _retry_after(resp.headers.get("Retry-After"))
    kind = "429" if resp.status == 429 else "5xx" if resp.status >= 500 else "4xx"
    msg = f"target {target!r} answered HTTP {resp.status}"
    if detail:
        msg += f": {detail}"
    raise UpstreamError(kind, msg, status=resp.status, retry_after=retry_after, target=target)


async def read_bounded(content: aiohttp.StreamReader, limit: int) -> bytes:
    """The body to its end, or its first `limit + 1` bytes when it is longer (for the caller to
    refuse). `StreamReader.read(n)` alone returns only what has arrived so far: for an answer
    larger than one network read, its beginning."""
    first = await content.read(limit + 1)
    if not first or len(first) > limit or content.at_eof():
        return first
    parts, size = [first], len(first)
    while size <= limit and (block := await content.read(limit + 1 - size)):
        parts.append(block)
        size += len(block)
    return b"".join(parts)


async def read_json(resp: aiohttp.ClientResponse, target: str) -> tuple[dict[str, Any], bytes]:
    """The parsed JSON object, and the bytes it was parsed from."""
    raw = await read_bounded(resp.content, MAX_JSON_BODY)
    if len(raw) > MAX_JSON_BODY:
        raise UpstreamError("protocol", f"target {target!r} sent a body over 32 MiB", target=target)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(
            "protocol", f"target {target!r} sent invalid JSON", status=resp.status, target=target
        ) from exc
    if not isinstance(data, dict):
        raise UpstreamError("protocol", f"target {target!r} sent a non-object JSON", target=target)
    return data, raw


def stream_event(data: bytes, target: str) -> Any:
    """One streamed event's JSON (any JSON value); invalid JSON is the provider's error."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(
            "protocol", f"target {target!r} streamed invalid JSON", target=target
        ) from exc


def relayed_detail(message: str, sent: Mapping[str, str]) -> str:
    """`message` with every credential of the `sent` request headers masked, then clipped
    (masked first, so that the clip cannot leave the start of a key behind)."""
    for secret in sent_secrets(sent):
        message = message.replace(secret, mask_secret(secret))
    if len(message) > MAX_ERROR_DETAIL:
        return message[:MAX_ERROR_DETAIL] + "..."
    return message


def sent_secrets(headers: Mapping[str, str]) -> list[str]:
    """The credentials in request headers with secret-looking names, longest first: the value,
    or for `<scheme> <credentials>` (`Bearer sk-...`) the credentials."""
    found = set()
    for name, value in headers.items():
        if any(hint in name.lower() for hint in SECRET_HEADER_HINTS):
            scheme, _, credentials = value.strip().partition(" ")
            found.add(credentials.strip() or scheme)
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


def _error_message(raw: bytes) -> str:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])
        if isinstance(err, str):
            return err
    return ""


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
