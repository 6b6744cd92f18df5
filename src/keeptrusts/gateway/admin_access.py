"""Who may call the admin endpoints: a direct local caller, or the admin token.

A caller is an admin when it sends `Authorization: Bearer <token>` with the token from
`$<server.admin_token_env>`, or (unless `server.admin_loopback: false`) when it connects from
127.0.0.1 or ::1 and sends no proxy or mesh header. Other loopback addresses do not count:
Istio's inbound sidecar forwards remote callers from 127.0.0.6. A request carrying
`Forwarded`, `X-Forwarded-*`, `l5d-*`, `x-envoy-*` and the like came through a proxy (which
may itself sit on loopback), so its source address proves nothing.

A token-less local caller must also name a loopback host (`Host: localhost`, `127.x.x.x` or
`[::1]`, any port, or no `Host` at all as in HTTP/1.0) and send no `Origin` other than a
loopback one: a web page in a browser on the same machine reaches 127.0.0.1 too (by DNS
rebinding, or with a plain cross-site POST), but its requests carry the page's host name in
`Host` or its origin in `Origin`.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from aiohttp import hdrs, web

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
    headers = request.headers
    return (
        not proxied(headers.keys())
        and local_peer(request.remote)
        and all(loopback_host(h) for h in headers.getall(hdrs.HOST, ()))  # none: HTTP/1.0
        and all(loopback_origin(o) for o in headers.getall(hdrs.ORIGIN, ()))
    )


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


def loopback_host(host: str) -> bool:
    """A `Host` header naming this machine: `localhost`, a 127.x.x.x literal or `[::1]`, with
    or without a port (parsed strictly: no user info, path, or numeric shorthand)."""
    value = host.strip()
    if value.startswith("["):
        name, sep, port = value[1:].partition("]")
        if not sep or (port and not port.startswith(":")):
            return False
        return _port(port[1:]) and _loopback_ip(name, ipaddress.IPv6Address)
    name, _, port = value.partition(":")
    if not _port(port):
        return False
    return name.lower().rstrip(".") == "localhost" or _loopback_ip(name, ipaddress.IPv4Address)


def loopback_origin(origin: str) -> bool:
    """An `Origin` of a page served from this machine (`http://localhost:3000`); an opaque
    `null` origin (a sandboxed page, a redirect) is not."""
    scheme, sep, host = origin.strip().partition("://")
    return bool(sep) and scheme.lower() in ("http", "https") and loopback_host(host)


def _port(port: str) -> bool:
    return port == "" or (port.isascii() and port.isdigit() and len(port) <= 5)


def _loopback_ip(
    name: str, kind: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address]
) -> bool:
    try:
        return kind(name).is_loopback
    except ValueError:
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
