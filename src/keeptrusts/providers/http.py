"""Shared HTTP plumbing for adapters: status -> UpstreamError, bounded error and JSON bodies.

An error status relays the provider's own message to the client, clipped to `MAX_ERROR_DETAIL`
characters and with the credentials the request carried masked (`sk-...wxyz`): a provider or
proxy that echoes the `Authorization` header it got must not hand our key to the caller.

A JSON answer is read whole, parsed and governed, which costs several times its size, so it is
bounded twice, by what the running request allows (`ANSWER_BUDGET`, set per request by
`gateway/admission`): at most `server.max_response_bytes` (larger: 502), and its bytes count
against `server.max_inflight_body_bytes`, all at once when the provider declared its size, else
as they arrive (no room: 503 `overloaded`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

import aiohttp
import orjson

from keeptrusts.errors import UpstreamFailed
from keeptrusts.providers.failures import UpstreamError
from keeptrusts.telemetry.logging import mask_secret

MAX_ERROR_BODY = 64 * 1024
#: the cap on a JSON answer read outside a request (`server.max_response_bytes`' default)
MAX_JSON_BODY = 8 * 1024 * 1024
#: characters of the provider's error message relayed to the client
MAX_ERROR_DETAIL = 300
#: request header names holding a credential (`authorization`, `api-key`, `x-api-key`, ...)
SECRET_HEADER_HINTS = ("auth", "key", "token", "secret", "cookie", "credential", "password")


class AnswerBudget(Protocol):
    """What the running request allows its provider's JSON answer."""

    @property
    def limit(self) -> int:
        """The largest answer read, in bytes (`server.max_response_bytes`)."""

    def take(self, size: int) -> None:
        """Count `size` more bytes of the answer in flight, or raise `AnswerRefused`."""


#: the running request's budget (a context variable: each request's task sees its own)
ANSWER_BUDGET: ContextVar[AnswerBudget | None] = ContextVar("answer_budget", default=None)


class AnswerRefused(UpstreamError, UpstreamFailed):  # type: ignore[misc]  # (`status` types)
    """No memory for the answer now: 503 `overloaded` with `Retry-After`. An UpstreamError, so
    that the adapter passes it on as it is (`Provider.fail`), and a GatewayError, which
    `dispatch` raises unchanged: no fallback (another target's answer would be as large) and
    no failure counted against the target, which did nothing wrong."""

    def __init__(self, message: str, target: str) -> None:
        super().__init__("overloaded", message, status=503, target=target)
        self.code = "overloaded"
        self.headers = {"Retry-After": "1"}


async def raise_for_status(resp: aiohttp.ClientResponse, target: str) -> None:
    if resp.status < 300:
        return
    if resp.status < 400:
        resp.release()
        raise _redirected(resp, target)
    try:
        raw = await read_bounded(resp.content, MAX_ERROR_BODY)
    except (aiohttp.ClientError, TimeoutError):
        # the body was cut or stalled: the status alone says what failed (and whether
        # another target may be tried), and the message has no detail
        raw = b""
    detail = relayed_detail(_error_message(raw), resp.request_info.headers)
    retry_after = _retry_after(resp.headers.get("Retry-After"))
    kind = "429" if resp.status == 429 else "5xx" if resp.status >= 500 else "4xx"
    msg = f"target {target!r} answered HTTP {resp.status}"
    if detail:
        msg += f": {detail}"
    raise UpstreamError(kind, msg, status=resp.status, retry_after=retry_after, target=target)


def _redirected(resp: aiohttp.ClientResponse, target: str) -> UpstreamError:
    """A redirect is not followed (see `Provider.post`): the target's base_url is wrong."""
    where = relayed_detail(resp.headers.get("Location", ""), resp.request_info.headers)
    return UpstreamError(
        "protocol",
        f"target {target!r} answered HTTP {resp.status}"
        + (f" (a redirect to {where})" if where else " (a redirect)")
        + "; redirects are not followed: set its base_url to the URL the provider serves",
        status=resp.status,
        target=target,
    )


async def read_bounded(
    content: aiohttp.StreamReader, limit: int, count: Callable[[int], None] | None = None
) -> bytes:
    """The body to its end, or its first `limit + 1` bytes when it is longer (for the caller to
    refuse); `count` is told the size of each block as it arrives. `StreamReader.read(n)` alone
    returns only what has arrived so far: for an answer larger than one network read, its
    beginning."""
    first = await content.read(limit + 1)
    if count is not None:
        count(len(first))
    if not first or len(first) > limit or content.at_eof():
        return first
    parts, size = [first], len(first)
    while size <= limit and (block := await content.read(limit + 1 - size)):
        if count is not None:
            count(len(block))
        parts.append(block)
        size += len(block)
    return b"".join(parts)


async def read_json(resp: aiohttp.ClientResponse, target: str) -> tuple[dict[str, Any], bytes]:
    """The parsed JSON object, and the bytes it was parsed from, within the request's budget."""
    budget = ANSWER_BUDGET.get()
    limit = MAX_JSON_BODY if budget is None else budget.limit
    declared = _declared_size(resp)
    count = None
    if declared is not None and declared > limit:
        raise _too_large(target, limit)
    if budget is not None and declared is not None:
        budget.take(declared)  # at once: answers arriving together are not all left half read
    elif budget is not None:
        count = budget.take  # compressed or chunked: counted as it arrives
    raw = await read_bounded(resp.content, limit, count)
    if len(raw) > limit:
        raise _too_large(target, limit)
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(
            "protocol", f"target {target!r} sent invalid JSON", status=resp.status, target=target
        ) from exc
    if not isinstance(data, dict):
        raise UpstreamError("protocol", f"target {target!r} sent a non-object JSON", target=target)
    return data, raw


def _declared_size(resp: aiohttp.ClientResponse) -> int | None:
    """The body's size as the provider declared it, when that is the size read (not compressed)."""
    if resp.headers.get("Content-Encoding", "identity").lower() != "identity":
        return None
    return resp.content_length


def _too_large(target: str, limit: int) -> UpstreamError:
    return UpstreamError(
        "protocol",
        f"target {target!r} sent an answer over {limit} bytes (server.max_response_bytes); "
        "raise it together with the pod's memory limit if such answers are expected",
        target=target,
    )


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
    """Seconds to wait, from `Retry-After` as seconds or as an HTTP date (RFC 9110 allows
    both; a date read as nothing became a 1-second wait). Not capped here: the router caps
    it (`fallback.max_retry_after_seconds`, which an infinite one becomes); `nan` is none."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else max(0.0, seconds)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # (`-0000`: UTC, says RFC 5322)
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
