"""Admin endpoints under `/keeptrusts/`: protected (loopback, or the admin bearer token)."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from keeptrusts.errors import GatewayError, ValidationFailed
from keeptrusts.gateway.respond import error_response, json_response
from keeptrusts.gateway.state import GatewayState

SECRET_HINTS = ("key", "token", "secret", "password", "auth", "credential")


class Forbidden(GatewayError):
    status = 403
    type = "authentication_error"
    code = "admin_forbidden"


def allowed(state: GatewayState, request: web.Request) -> bool:
    token = state.admin_token
    auth = request.headers.get("Authorization", "")
    if token and auth[:7].lower() == "bearer " and hmac.compare_digest(auth[7:].strip(), token):
        return True
    if request.headers.get("x-forwarded-for") or request.headers.get("x-forwarded-client-cert"):
        # came through a proxy (a sidecar is on loopback too): loopback alone proves nothing
        return False
    peer = request.remote or ""
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


def routes(
    state: GatewayState, reload: Callable[[], Awaitable[tuple[bool, str]]]
) -> list[web.RouteDef]:
    def guarded(
        fn: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            if not allowed(state, request):
                return error_response(
                    Forbidden(
                        "admin endpoints accept loopback callers or `Authorization: Bearer "
                        "<token>` where the token is in $KEEPTRUSTS_ADMIN_TOKEN"
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
        return json_response({"status": "reloaded", "config_version": state.live().version})

    async def limits(request: web.Request) -> web.StreamResponse:
        tenant = request.query.get("tenant") or state.live().loaded.config.tenants.default
        try:
            from keeptrusts.limits.report import limits_report
        except ImportError:
            return json_response({"tenant": tenant, "limits": []})
        return json_response(await limits_report(state.live().policies, tenant))

    async def stats(_: web.Request) -> web.StreamResponse:
        connector = state.session.connector
        return json_response(
            {
                "in_flight": state.in_flight,
                "requests_processed": state.requests_processed,
                "asyncio_tasks": len(asyncio.all_tasks()),
                "open_fds": _open_fds(),
                "upstream_connections": len(getattr(connector, "_acquired", ())),
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


def mask(value: Any, key: str = "") -> Any:
    """Mask anything that looks like a secret; keep env-var *names* (secret_key_ref.env)."""
    if key == "api_keys" and value:
        return {"***": f"{len(value)} hashed keys"}
    if isinstance(value, dict):
        return {k: mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, key) for v in value]
    if isinstance(value, str) and any(h in key.lower() for h in SECRET_HINTS) and key != "env":
        return "***"
    if isinstance(value, str) and "://" in value and "@" in value.split("://", 1)[1].split("/")[0]:
        scheme, rest = value.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return value
