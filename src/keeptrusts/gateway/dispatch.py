"""Send a governed request to providers in the router's order, falling back while allowed.

Fallback moves on after connect errors, timeouts, 5xx or 429 (as `fallback.on` says) and only
while nothing has been sent to the client: a stream counts as established once its first
chunk has arrived, and is never retried after that.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from keeptrusts.errors import (
    GatewayError,
    RateLimited,
    UpstreamFailed,
    ValidationFailed,
    model_not_found,
)
from keeptrusts.limits.estimate import prompt_tokens
from keeptrusts.pipeline.context import Exchange
from keeptrusts.providers.base import OVERLOADED, Chunk, Provider, ProviderCall, UpstreamStream
from keeptrusts.providers.failures import UpstreamError
from keeptrusts.providers.router import Router
from keeptrusts.telemetry.metrics import Metrics
from keeptrusts.telemetry.spans import ProviderSpan

T = TypeVar("T")
PROVIDER_SPAN = "_provider_span"
PASSED_THROUGH_4XX = frozenset({400, 404, 413, 422})
#: failures that say nothing about the request, only about the target at that moment
TRANSIENT = frozenset({"connect_error", "timeout", "5xx"})
#: the client's path of each `ProviderCall.endpoint`, for errors
ENDPOINT_PATHS = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "embeddings": "/v1/embeddings",
}


async def complete(ex: Exchange, call: ProviderCall, metrics: Metrics) -> dict[str, Any]:
    async def attempt(p: Provider) -> dict[str, Any]:
        return await p.complete(call)

    return await _with_fallback(ex, call, metrics, attempt)


async def stream(
    ex: Exchange, call: ProviderCall, metrics: Metrics
) -> tuple[UpstreamStream, Chunk | None, AsyncIterator[Chunk]]:
    """Open a stream and read its first chunk (so a failure before it can still fall back)."""

    async def attempt(p: Provider) -> tuple[UpstreamStream, Chunk | None, AsyncIterator[Chunk]]:
        upstream = await p.open_stream(call)
        it = aiter(upstream)
        try:
            first = await anext(it, None)
        except BaseException:
            upstream.close()
            raise
        return upstream, first, it

    return await _with_fallback(ex, call, metrics, attempt)


def _span(ex: Exchange, provider: Provider, call: ProviderCall) -> ProviderSpan | None:
    """A provider span for this attempt; its headers carry the trace to the provider."""
    if ex.trace is None:
        return None
    span = ex.trace.provider_span(
        provider.id, provider.system, provider.upstream_model(ex.model), call.endpoint
    )
    call.headers = {"x-request-id": ex.request_id, **span.headers()}
    return span


def end_provider_span(ex: Exchange) -> None:
    """End the successful attempt's span with the response's usage (JSON or stream end)."""
    span = ex.scratch.pop(PROVIDER_SPAN, None)
    if span is not None:
        span.set_attributes(
            response_model=ex.model,
            input_tokens=ex.usage.input_tokens,
            output_tokens=ex.usage.output_tokens,
            http_status=ex.status,
        )
        span.end(None)


async def _with_fallback(
    ex: Exchange,
    call: ProviderCall,
    metrics: Metrics,
    attempt: Callable[[Provider], Awaitable[T]],
) -> T:
    router = ex.runtime.router
    plan = router.plan(ex.model, call)
    if not plan:
        raise _not_served(router, ex.model, call)
    last: UpstreamError | None = None
    #: the 429 with the soonest `Retry-After` among the attempts, if any
    limited: UpstreamError | None = None
    for i, provider in enumerate(plan):
        ex.provider = provider.id
        span = _span(ex, provider, call)
        t0 = time.perf_counter()
        router.started(provider)
        try:
            result = await attempt(provider)
        except asyncio.CancelledError:  # the client went away while the provider worked
            ex.upstream_seconds += time.perf_counter() - t0
            raise
        except GatewayError:  # the request itself was refused for this target (a 400)
            if span is not None:
                span.end(None)
            raise
        except UpstreamError as exc:
            failed_after = time.perf_counter() - t0
            ex.upstream_seconds += failed_after
            if span is not None:
                span.set_attributes(http_status=exc.status)
                span.end(exc)
            metrics.child(metrics.upstream_attempts, provider.id, exc.kind).inc()
            if exc.kind in TRANSIENT:
                router.failed(provider, failed_after, call.stream)
            elif exc.kind == "429":
                exc.retry_after = router.rate_limited(provider, exc.retry_after)
                limited = _soonest_wait(limited, exc)
            last = exc
            if router.retryable(exc.kind) and i + 1 < len(plan):
                continue
            raise to_gateway_error(_reported(last, limited)) from exc
        finally:
            router.ended(provider)
        elapsed = time.perf_counter() - t0
        ex.upstream_seconds += elapsed
        metrics.child(metrics.upstream_attempts, provider.id, "ok").inc()
        router.succeeded(provider, elapsed, call.stream)
        ex.upstream_model = provider.upstream_model(ex.model)
        if span is not None:
            ex.scratch[PROVIDER_SPAN] = span
        return result
    assert last is not None
    raise to_gateway_error(_reported(last, limited))


async def count_tokens(ex: Exchange, call: ProviderCall) -> int:
    """The prompt's tokens as counted where the request would go: by the first target able to
    count them itself (an Anthropic target; the next one after a failure `fallback.on` names),
    else the gateway's estimate (then no provider is named). Routing statistics are left
    alone: a count is no answer."""
    router = ex.runtime.router
    plan = router.plan(ex.model, call)
    if not plan:
        raise _not_served(router, ex.model, call)
    for i, provider in enumerate(plan):
        ex.provider = provider.id
        t0 = time.perf_counter()
        try:
            counted = await provider.count_tokens(call)
        except UpstreamError as exc:
            if router.retryable(exc.kind) and i + 1 < len(plan):
                continue
            raise to_gateway_error(exc) from exc
        finally:
            ex.upstream_seconds += time.perf_counter() - t0
        if counted is None:  # no provider was asked: the event and metrics name none
            ex.provider = None
            return prompt_tokens(call.endpoint, call.body)
        ex.upstream_model = provider.upstream_model(ex.model)
        return counted
    raise AssertionError("unreachable: the last attempt returns or raises")


def _soonest_wait(previous: UpstreamError | None, exc: UpstreamError) -> UpstreamError:
    """`exc`, a 429, with the sooner of its and `previous`'s `Retry-After`s: every target
    rate-limited, the client may come back as soon as the first of them is free (fallback
    finds it)."""
    if previous is None:
        return exc
    waits = [w for w in (previous.retry_after, exc.retry_after) if w is not None]
    if waits:
        exc.retry_after = min(waits)
    return exc


def _reported(last: UpstreamError, limited: UpstreamError | None) -> UpstreamError:
    """What the client is told when no attempt succeeded: the last failure, unless a target
    was rate-limited and the others failed for a passing reason (down, slow, a 5xx): then
    the 429 and its `Retry-After` (the client was told 502, and not when to come back)."""
    if limited is not None and last.kind in TRANSIENT:
        return limited
    return last


def _not_served(router: Router, model: str, call: ProviderCall) -> GatewayError:
    """No target to try: none serves the model (or only targets left out for want of their
    key), or none of those that do serves the endpoint, or the request (`n` > 1)."""
    endpoint = call.endpoint
    matching = router.matching(model)
    if not matching:
        unkeyed = router.unkeyed(model)
        if not unkeyed:
            return model_not_found(model)
        ids = ", ".join(repr(t.id) for t in unkeyed)
        return UpstreamFailed(
            f"model {model!r} is served only by targets left out of service at start: {ids} "
            "(the environment variable of their secret_key_ref is not set; see the gateway's "
            "log); set it and restart the gateway",
            status=503,
            code="upstream_unavailable",
        )
    kinds = ", ".join(f"{p.id!r} ({p.target.provider})" for p in matching)
    unserved = [w for p in matching if endpoint in p.endpoints and (w := p.unserved(call))]
    if unserved:
        return ValidationFailed(
            f"model {model!r} is served only by targets that cannot serve {unserved[0]}: "
            f"{kinds}; send the request without it, or add a target of another kind for it "
            "to providers.targets",
            code="invalid_request",
        )
    return ValidationFailed(
        f"model {model!r} is served only by targets that do not serve {ENDPOINT_PATHS[endpoint]}: "
        f"{kinds}; add a target of another kind for it to providers.targets",
        code="invalid_request",
    )


def to_gateway_error(exc: UpstreamError, *, mid_stream: bool = False) -> GatewayError:
    """The client's error for a failed attempt; `mid_stream`: a stream that failed after its
    first chunk, which no other target could take over (the client was told that no fallback
    target could serve it, as if others had been tried)."""
    msg = exc.message
    if exc.kind == "connect_error":
        after = (
            "; the stream had already begun, so it could not move to another target: "
            "retry the request"
            if mid_stream
            else "; no fallback target could serve it"
        )
        return UpstreamFailed(msg + after, status=503, code="upstream_unavailable")
    if exc.kind == "timeout":
        return UpstreamFailed(
            msg + "; raise providers.targets[].timeouts or retry later",
            status=504,
            code="upstream_timeout",
        )
    if exc.kind == "429":
        err = RateLimited(
            msg + "; retry later", retry_after=exc.retry_after or 1.0, code="upstream_rate_limited"
        )
        return err
    if exc.kind == "5xx" and exc.status == OVERLOADED:
        wait = {"Retry-After": f"{math.ceil(exc.retry_after)}"} if exc.retry_after else None
        return UpstreamFailed(
            msg + "; the provider is overloaded for now: retry shortly",
            status=503,
            code="upstream_unavailable",
            headers=wait,
        )
    if exc.kind == "4xx" and exc.status in (401, 403):
        return UpstreamFailed(
            msg + "; check the target's secret_key_ref", status=502, code="upstream_auth_failed"
        )
    if exc.kind == "4xx" and exc.status in PASSED_THROUGH_4XX:
        return UpstreamFailed(msg, status=exc.status, code="upstream_rejected")
    return UpstreamFailed(msg, status=502, code="upstream_error")
