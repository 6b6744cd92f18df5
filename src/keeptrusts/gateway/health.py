"""`/health` (contract JSON), `/healthz` (alive), `/readyz` (ready for traffic), `/v1/models`
and `/v1/models/{model}`, `/metrics`, `/openapi.json` (the OpenAPI description shipped in
`data/openapi.yaml`)."""

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


def routes(state: GatewayState) -> list[web.RouteDef]:
    async def health(_: web.Request) -> web.Response:
        rt = state.runtime
        providers: dict[str, str] = {}
        if rt is not None:
            for p in rt.router.providers:
                breaker = rt.router.breakers[p.id]
                providers[p.id] = (
                    "unreachable"
                    if breaker.is_open
                    else (
                        "reachable"
                        if rt.router.latency[p.id] > 0 or p.system == "echo"
                        else "unknown"
                    )
                )
        status = "healthy"
        all_down = bool(providers) and all(v == "unreachable" for v in providers.values())
        if rt is None or state.draining or all_down:
            status = "unhealthy"
        elif any(v == "unreachable" for v in providers.values()):
            status = "degraded"
        body = {
            "status": status,
            "version": __version__,
            "uptime_seconds": round(time.monotonic() - state.started, 3),
            "policies_loaded": len(rt.policies) if rt else 0,
            "requests_processed": state.requests_processed,
            "config_version": rt.version if rt else "",
            "providers": providers,
        }
        depth = getattr(state.events, "depth", None)
        if depth is not None:
            body["events"] = depth()
        return json_response(body, 200 if status != "unhealthy" else 503)

    async def healthz(_: web.Request) -> web.Response:
        return json_response({"status": "alive"})

    async def readyz(_: web.Request) -> web.Response:
        if state.runtime is None:
            return json_response({"status": "not ready", "reason": "no config loaded"}, 503)
        if state.draining:
            return json_response({"status": "not ready", "reason": "draining"}, 503)
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
    """A name `/v1/models` lists, or one a target's glob routes (`gpt-4o*` serves
    `gpt-4o-mini`); no longer than a request's `model` may be."""
    if len(name) > MAX_MODEL_LEN:
        return False
    return name in rt.router.served_models() or bool(rt.router.matching(name))
