"""Who may call the admin endpoints: a direct local caller, or the admin token.

A caller is an admin when it sends `Authorization: Bearer <token>` with the token from
`$<server.admin_token_env>`, or (unless `server.admin_loopback: false`) when it connects from
127.0.0.1 or ::1 and sends no proxy or mesh header. Other loopback addresses do not count:
Istio's inbound sidecar forwards remote callers from 127.0.0.6. A request carrying
`Forwarded`, `X-Forwarded-*`, `l5d-*`, `x-envoy-*` and the like came through a proxy (which
may itself sit on loopback), so its source address proves nothing.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from aiohttp import web

from keeptrusts.errors import GatewayError
from keeptrusts.gateway.state import GatewayState

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
