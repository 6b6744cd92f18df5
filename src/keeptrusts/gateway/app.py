"""The aiohttp application: routes of the gateway's HTTP surface."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from keeptrusts.errors import GatewayError, ValidationFailed
from keeptrusts.gateway import admin, health
from keeptrusts.gateway.handler import Handler
from keeptrusts.gateway.respond import error_response
from keeptrusts.gateway.state import GatewayState


@web.middleware
async def errors_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Turn aiohttp's own HTTP errors (404, 405, ...) into the contract's envelope."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        err: GatewayError = ValidationFailed(
            f"{request.method} {request.path}: {exc.reason}",
            status=exc.status,
            code="not_found" if exc.status == 404 else "invalid_request",
        )
        allow = exc.headers.get("Allow")
        return error_response(err, {"Allow": allow} if allow else None)


def build_app(
    state: GatewayState, reload: Callable[[], Awaitable[tuple[bool, str]]]
) -> web.Application:
    app = web.Application(middlewares=[errors_middleware], client_max_size=1024**3)
    app.add_routes(
        [
            # bound methods: aiohttp calls an async function directly (an object with an async
            # __call__ would get a per-request compatibility wrapper and a DeprecationWarning)
            web.post("/v1/chat/completions", Handler(state, "chat").__call__),
            web.post("/v1/completions", Handler(state, "completions").__call__),
            web.post("/v1/embeddings", Handler(state, "embeddings").__call__),
            *health.routes(state),
            *admin.routes(state, reload),
        ]
    )
    return app
