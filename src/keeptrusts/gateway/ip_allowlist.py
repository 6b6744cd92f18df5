"""The `ip_allowlist:` section on the request path: a call to the API from a client outside the
listed networks is refused (403 `ip_not_allowed`) before any policy or provider runs.

Compiled once per config. The client is the connection's peer, or behind `trust_proxy_depth`
proxies the address the farthest trusted proxy saw: the entry that many places from the right
of `X-Forwarded-For` with the peer appended (a client that reached the gateway past fewer
proxies than that is judged by the leftmost address there is). Probes (`/healthz`, `/readyz`,
`/health`) and `/metrics` are not screened: the kubelet and Prometheus call from their own
addresses; the admin endpoints have their own rule.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from aiohttp import web

from keeptrusts.config.ip_allowlist import IpAllowlist
from keeptrusts.errors import GatewayError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(GatewayError):
    status = 403
    type = "authentication_error"
    code = "ip_not_allowed"


@dataclass(frozen=True, slots=True)
class IpRules:
    networks: tuple[Network, ...]
    depth: int

    @classmethod
    def compile(cls, section: IpAllowlist) -> IpRules | None:
        if not section.enabled:
            return None
        nets = tuple(_unmapped(ipaddress.ip_network(c)) for c in section.cidrs)
        return cls(nets, section.trust_proxy_depth)

    def client(self, request: web.Request) -> str:
        """The client's address as text, as this config decides who the client is."""
        peer = request.remote or ""
        if not self.depth:
            return peer
        lines = request.headers.getall("X-Forwarded-For", ())
        hops = [h.strip() for line in lines for h in line.split(",") if h.strip()]
        hops.append(peer)
        return hops[-(self.depth + 1)] if len(hops) > self.depth else hops[0]

    def allows(self, address: str) -> bool:
        ip = _parse(address)
        if ip is None:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped  # ::ffff:10.1.2.3 is 10.1.2.3
        return any(ip in net for net in self.networks)


def _unmapped(net: Network) -> Network:
    """An IPv4-mapped network (`::ffff:10.0.0.0/104`) as the IPv4 one it means: addresses are
    compared unmapped (`allows`)."""
    if not isinstance(net, ipaddress.IPv6Network) or net.prefixlen < 96:
        return net
    mapped = net.network_address.ipv4_mapped
    return net if mapped is None else ipaddress.IPv4Network((mapped, net.prefixlen - 96))


def _parse(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("["):  # `[::1]` or `[::1]:443`, as some proxies write IPv6
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # `10.1.2.3:5678`: a port some load balancers append
        text = text.partition(":")[0]
    if "%" in text:  # a zone (fe80::1%eth0)
        text = text.split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def screen(rules: IpRules, request: web.Request) -> GatewayError | None:
    """The refusal for a client outside the networks, or None."""
    address = rules.client(request)
    if rules.allows(address):
        return None
    shown = address[:64] if _parse(address) is not None else "an unreadable address"
    return AddressRefused(
        f"client address {shown} is not in ip_allowlist.cidrs; ask the gateway's operators to "
        "add its network (docs/config.md, ip_allowlist)"
    )
