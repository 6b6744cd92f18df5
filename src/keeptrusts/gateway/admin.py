"""Admin endpoints under `/keeptrusts/`: the running config (secrets masked), reload,
limits and process stats, each behind `admin_access.allowed`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from aiohttp import web

from keeptrusts.config.masking import mask
from keeptrusts.errors import ValidationFailed
from keeptrusts.gateway.admin_access import Forbidden, allowed
from keeptrusts.gateway.respond import error_response, json_response
from keeptrusts.gateway.state import GatewayState


def routes(
    state: GatewayState, reload: Callable[[], Awaitable[tuple[bool, str]]]
) -> list[web.RouteDef]:
    def guarded(
        fn: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if not allowed(state, request):
                env = state.live().loaded.config.server.admin_token_env
                return error_response(
                    Forbidden(
                        "admin endpoints need `Authorization: Bearer <token>` with the token in "
                        f"${env} (direct callers on 127.0.0.1 or ::1, not forwarded by a proxy, "
                        "with a loopback Host and no other Origin, need none unless "
                        "server.admin_loopback is false)"
                    )
                )
            return await fn(request)

        return wrapper

    async def show_config(_: web.Request) -> web.StreamResponse:
        rt = state.live()
        data = rt.loaded.config.model_dump(mode="json")
        return json_response(
            {
                "config_version": rt.version,
                "sources": list(rt.loaded.sources),
                "config": mask(data),
            }
        )

    async def do_reload(_: web.Request) -> web.StreamResponse:
        ok, message = await reload()
        if not ok:
            return error_response(ValidationFailed(message, status=422, code="invalid_config"))
        return json_response(
            {
                "status": "reloaded",
                "config_version": state.live().version,
                # changed settings read only at start: they apply after a restart
                "restart_needed": state.restart_pending,
            }
        )

    async def limits(request: web.Request) -> web.StreamResponse:
        tenant = request.query.get("tenant") or state.live().loaded.config.tenants.default
        try:
            from keeptrusts.limits.report import limits_report
        except ImportError:
            return json_response({"tenant": tenant, "limits": []})
        return json_response(await limits_report(state.live().policies, tenant))

    async def stats(_: web.Request) -> web.StreamResponse:
        connectors = (state.session.pooled.connector, state.session.fresh.connector)
        return json_response(
            {
                "in_flight": state.in_flight,
                "requests_processed": state.requests_processed,
                "asyncio_tasks": len(asyncio.all_tasks()),
                "open_fds": _open_fds(),
                "upstream_connections": sum(len(getattr(c, "_acquired", ())) for c in connectors),
            }
        )

    return [
        web.get("/keeptrusts/stats", guarded(stats)),
        web.get("/keeptrusts/config", guarded(show_config)),
        web.post("/keeptrusts/config/reload", guarded(do_reload)),
        web.get("/keeptrusts/limits", guarded(limits)),
    ]


def _open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1
