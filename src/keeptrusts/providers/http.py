"""Shared HTTP plumbing for adapters: status -> UpstreamError, bounded error bodies."""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from keeptrusts.providers.base import UpstreamError

MAX_ERROR_BODY = 64 * 1024
MAX_JSON_BODY = 32 * 1024 * 1024


async def raise_for_status(resp: aiohttp.ClientResponse, target: str) -> None:
    if resp.status < 400:
        return
    raw = await read_bounded(resp.content, MAX_ERROR_BODY)
    detail = _error_message(raw)
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


def _error_message(raw: bytes) -> str:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return ""
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            return str(err["message"])[:300]
        if isinstance(err, str):
            return err[:300]
    return ""


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
