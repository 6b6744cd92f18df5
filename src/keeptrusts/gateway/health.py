"""`/health` (contract JSON), `/healthz` (alive), `/readyz` (ready for traffic), `/v1/models`
and `/v1/models/{model}`, `/metrics`, `/openapi.json` (the OpenAPI description shipped in
`data/openapi.yaml`).

`/health` says `unhealthy` (503) with no config, while draining, or when every provider target
is unreachable; `degraded` (200) when some target is, when decision events have failed to reach
the control plane for `EVENTS_FAILING_AFTER` seconds, or when the limits backend's last call
failed; else `healthy`. A target left out at start for want of its key is `unreachable`, and
`skipped_targets` says why. A target is `unreachable` when its last attempt failed (its breaker
keeps routing around it; the end of a cooldown proves nothing). `/readyz` is 503 as well when
the config has targets and every one was left out (no request could be served). Under `--workers N`,
`requests_processed` counts every worker (`Metrics.other_workers_requests`).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from keeptrusts import __version__, datafiles
from keeptrusts.config.runtime import Runtime
from keeptrusts.errors import model_not_found
from keeptrusts.gateway.parse import MAX_MODEL_LEN
from keeptrusts.gateway.respond import error_response, json_response
from keeptrusts.gateway.state import GatewayState

#: decision events failing to reach the control plane for this long make /health `degraded`
#: (a retry or two after a blip does not: backoff is at most 5 s)
EVENTS_FAILING_AFTER = 10.0


def health_body(state: GatewayState) -> dict[str, Any]:
    """The `/health` document (the contract's fields, then `events` and `limits`)."""
    rt = state.runtime
    now = time.monotonic()
    providers = rt.router.reachability() if rt is not None else {}
    body: dict[str, Any] = {
        "status": "healthy",
        "version": __version__,
        "uptime_seconds": round(now - state.started, 3),
        "policies_loaded": len(rt.policies) if rt is not None else 0,
        "requests_processed": state.requests_processed + state.metrics.other_workers_requests(),
        "config_version": rt.version if rt is not None else "",
        "providers": providers,
    }
    skipped = rt.router.skipped() if rt is not None else {}
    if skipped:
        body["skipped_targets"] = skipped
    events = _events(state.events, now)
    if events is not None:
        body["events"] = events
    limits = _limits(state.limits, now)
    body["limits"] = limits
    body["status"] = _status(state, providers, events, limits)
    return body


def _status(
    state: GatewayState,
    providers: dict[str, str],
    events: dict[str, Any] | None,
    limits: dict[str, Any],
) -> str:
    down = [v == "unreachable" for v in providers.values()]
    if state.runtime is None or state.draining or (down and all(down)):
        return "unhealthy"
    if any(down) or limits["status"] == "unreachable":
        return "degraded"
    if events is not None and events["delivery"] == "failing":
        return "degraded"
    return "healthy"


def _events(pipeline: object, now: float) -> dict[str, Any] | None:
    """Events waiting in memory and on disk, and how delivery to the control plane goes:
    `ok`, `retrying` (failing for less than `EVENTS_FAILING_AFTER`), `failing`."""
    depth = getattr(pipeline, "depth", None)
    if depth is None:
        return None  # no pipeline (events discarded)
    out: dict[str, Any] = dict(depth())
    failing = _failing_for(pipeline, now)
    if failing is None:
        out["delivery"] = "ok"
        return out
    out["delivery"] = "failing" if failing >= EVENTS_FAILING_AFTER else "retrying"
    out["failing_seconds"] = round(failing, 1)
    return out


def _limits(backend: object, now: float) -> dict[str, Any]:
    """The rate-limit and budget store: `unreachable` from a call that failed until one works."""
    out: dict[str, Any] = {"backend": str(getattr(backend, "name", "unknown")), "status": "ok"}
    failing = _failing_for(backend, now)
    if failing is not None:
        out["status"] = "unreachable"
        out["unreachable_seconds"] = round(failing, 1)
        out["fail_mode"] = str(getattr(backend, "fail_mode", ""))
    return out


def _failing_for(component: object, now: float) -> float | None:
    """Seconds since `component.failing_since` (a `time.monotonic()` reading, or None while it
    works); None as well for a component that does not say."""
    since = getattr(component, "failing_since", None)
    if isinstance(since, bool) or not isinstance(since, int | float):
        return None
    return max(0.0, now - since)


def circuits_open(state: GatewayState) -> dict[str, float]:
    """Each target of the live config: 1.0 while its breaker is open (the gauge's source)."""
    rt = state.runtime
    return rt.router.circuits_open() if rt is not None else {}


def routes(state: GatewayState) -> list[web.RouteDef]:

    async def health(_: web.Request) -> web.Response:
        body = health_body(state)
        return json_response(body, 503 if body["status"] == "unhealthy" else 200)

    async def healthz(_: web.Request) -> web.Response:
        return json_response({"status": "alive"})

    async def readyz(_: web.Request) -> web.Response:
        if state.runtime is None:
            return json_response({"status": "not ready", "reason": "no config loaded"}, 503)
        if state.draining:
            return json_response({"status": "not ready", "reason": "draining"}, 503)
        unusable = state.runtime.router.unusable()
        if unusable is not None:
            return json_response({"status": "not ready", "reason": unusable}, 503)
        return json_response({"status": "ready"})

    async def models(_: web.Request) -> web.Response:
        rt = state.runtime
        names = rt.router.served_models() if rt else []
        owner = _owner(rt)
        # OpenAI's list shape, with Anthropic's `has_more`, `first_id`, `last_id` beside it
        return json_response(
            {
                "object": "list",
                "data": [_model_object(n, owner) for n in names],
                "has_more": False,
                "first_id": names[0] if names else None,
                "last_id": names[-1] if names else None,
            }
        )

    async def model(request: web.Request) -> web.Response:
        name = request.match_info["model"]
        rt = state.runtime
        if rt is None or not _serves(rt, name):
            return error_response(model_not_found(name[:MAX_MODEL_LEN]))
        return json_response(_model_object(name, _owner(rt)))

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(
            body=state.metrics.render(),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )

    async def openapi(_: web.Request) -> web.Response:
        # parsed on first request, not at start-up (it would delay readiness)
        return json_response(datafiles.load("openapi.yaml"))

    return [
        web.get("/openapi.json", openapi),
        web.get("/health", health),
        web.get("/healthz", healthz),
        web.get("/readyz", readyz),
        web.get("/v1/models", models),
        # ids may hold slashes (`meta-llama/Llama-3-8B`), sent as is or as %2F
        web.get("/v1/models/{model:.+}", model),
        web.get("/metrics", metrics),
    ]


def _owner(rt: Runtime | None) -> str:
    return rt.loaded.config.pack.name if rt else "keeptrusts"


def _model_object(name: str, owner: str) -> dict[str, Any]:
    """One model as both SDKs read it: OpenAI's fields, and Anthropic's (`type`,
    `display_name`, `created_at`) beside them."""
    return {"id": name, "object": "model", "created": 0, "owned_by": owner, "type": "model",
            "display_name": name, "created_at": "1970-01-01T00:00:00Z"}  # fmt: skip


def _serves(rt: Runtime, name: str) -> bool:
    """A name a target routes: every name `/v1/models` lists, and those a glob serves
    (`gpt-4o*` serves `gpt-4o-mini`); no longer than a request's `model` may be."""
    if len(name) > MAX_MODEL_LEN:
        return False
    return bool(rt.router.matching(name))
