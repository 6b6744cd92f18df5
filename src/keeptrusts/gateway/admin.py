"""Admin endpoints under `/keeptrusts/`: protected (a direct local caller, or the admin token).

A caller is an admin when it sends `Authorization: Bearer <token>` with the token from
`$<server.admin_token_env>`, or (unless `server.admin_loopback: false`) when it connects from
127.0.0.1 or ::1 and sends no proxy or mesh header. Other loopback addresses do not count:
Istio's inbound sidecar forwards remote callers from 127.0.0.6. A request carrying
`Forwarded`, `X-Forwarded-*`, `l5d-*`, `x-envoy-*` and the like came through a proxy (which
may itself sit on loopback), so its source address proves nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import os
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from keeptrusts.errors import GatewayError, ValidationFailed
from keeptrusts.gateway.respond import error_response, json_response
from keeptrusts.gateway.state import GatewayState

SECRET_HINTS = ("key", "token", "secret", "password", "auth", "credential")
#: query parameter names hinting at a secret (`?password=`, `?api-key=`, `?sig=`, `?code=`...)
QUERY_SECRET_HINTS = (*SECRET_HINTS, "pass", "pwd", "sig", "session", "cookie", "jwt", "code")
#: upstream header values shown in clear; every other header value is masked
PLAIN_HEADERS = frozenset(
    {
        "accept",
        "accept-encoding",
        "accept-language",
        "anthropic-beta",
        "anthropic-version",
        "content-type",
        "openai-beta",
        "openai-organization",
        "openai-project",
        "user-agent",
    }
)
#: the only peers that are "local" without a token (not the rest of 127.0.0.0/8)
LOCAL_PEERS = frozenset({ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")})
#: headers a proxy or mesh sidecar adds: a request carrying one was forwarded
PROXY_HEADERS = frozenset(
    {
        "forwarded",
        "via",
        "x-real-ip",
        "x-client-ip",
        "client-ip",
        "true-client-ip",
        "cf-connecting-ip",
        "fastly-client-ip",
        "x-cluster-client-ip",
        "x-original-forwarded-for",
    }
)
PROXY_PREFIXES = ("x-forwarded-", "x-envoy-", "l5d-", "x-istio-", "x-amzn-")
#: keys whose names look secret but whose values are not (an env var's name, a key prefix)
PLAIN_KEYS = frozenset({"env", "key_prefix"})
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*")
MASK = "***"


class Forbidden(GatewayError):
    status = 403
    type = "authentication_error"
    code = "admin_forbidden"


def allowed(state: GatewayState, request: web.Request) -> bool:
    """The caller shows the admin token, or is a direct local caller (if that is allowed)."""
    if token_matches(state.admin_token, request.headers.get("Authorization", "")):
        return True
    if not state.live().loaded.config.server.admin_loopback:
        return False
    return not proxied(request.headers.keys()) and local_peer(request.remote)


def token_matches(token: str | None, authorization: str) -> bool:
    """`Bearer <token>`, compared in constant time as bytes (any text, never an exception)."""
    scheme, _, value = authorization.partition(" ")
    if not token or scheme.lower() != "bearer":
        return False
    # surrogatepass: header text aiohttp decoded with surrogateescape still encodes
    return hmac.compare_digest(
        value.strip().encode("utf-8", "surrogatepass"), token.encode("utf-8", "surrogatepass")
    )


def proxied(header_names: Iterable[str]) -> bool:
    """Whether any header shows a proxy or mesh sidecar forwarded the request."""
    for name in header_names:
        low = name.lower()
        if low in PROXY_HEADERS or low.startswith(PROXY_PREFIXES):
            return True
    return False


def local_peer(peer: str | None) -> bool:
    """127.0.0.1 or ::1 (also as ::ffff:127.0.0.1 on a dual-stack socket)."""
    try:
        ip = ipaddress.ip_address(peer or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped in LOCAL_PEERS
    return ip in LOCAL_PEERS


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
                        "need none unless server.admin_loopback is false)"
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
    """Mask anything that looks like a secret; keep env-var *names* (secret_key_ref.env).

    Masked: values under secret-looking keys; every upstream header value except plain
    ones such as `Content-Type` (so `Cookie`, `Authorization` and vendor key headers are);
    in URLs, the user info and query or fragment parameters with secret-looking names
    (`?password=`, `?api-key=`, `?sig=`).
    """
    if key == "api_keys" and value:
        return {MASK: f"{len(value)} hashed keys"}
    if key == "headers" and isinstance(value, dict):
        return {k: v if str(k).lower() in PLAIN_HEADERS else MASK for k, v in value.items()}
    if isinstance(value, dict):
        return {k: mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, key) for v in value]
    if (
        isinstance(value, str)
        and key not in PLAIN_KEYS
        and any(h in key.lower() for h in SECRET_HINTS)
    ):
        return MASK
    if isinstance(value, str) and _URL.fullmatch(value):
        return mask_url(value)
    return value


def mask_url(url: str) -> str:
    """`url` with its user info and secret-looking query/fragment values replaced by `***`."""
    scheme, _, rest = url.partition("://")
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:cut], rest[cut:]
    if "@" in authority:
        authority = f"{MASK}@{authority.rpartition('@')[2]}"
    tail, hash_, fragment = tail.partition("#")
    path, q, query = tail.partition("?")
    return f"{scheme}://{authority}{path}{q}{_mask_params(query)}{hash_}{_mask_params(fragment)}"


def _mask_params(text: str) -> str:
    return "&".join(_mask_param(p) for p in text.split("&")) if text else text


def _mask_param(param: str) -> str:
    name, eq, value = param.partition("=")
    low = name.lower()
    if eq and value and any(h in low for h in QUERY_SECRET_HINTS):
        return f"{name}={MASK}"
    return param
