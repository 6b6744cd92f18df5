"""The `ip_allowlist:` section: the client networks that may call the API (`/v1/*`).

The field names are those of the Keeptrusts reference. Networks are checked when the config
loads (`10.0.0.0/8`, `fd00::/8`, a single address); the client is the connection's peer, or,
behind `trust_proxy_depth` proxies, the address the farthest of them saw (`X-Forwarded-For`).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated

from pydantic import AfterValidator, Field

from keeptrusts.config.fields import Strict


def network_text(value: str) -> str:
    """A network in CIDR form (host bits must be zero) or one address; kept as written."""
    try:
        ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(
            f"not a network: {exc} (write 10.0.0.0/8, fd00::/8, or one address 203.0.113.42)"
        ) from None
    return value.strip()


Network = Annotated[str, AfterValidator(network_text)]


class IpAllowlist(Strict):
    enabled: bool = True
    cidrs: list[Network] = Field(min_length=1)
    #: reverse proxies (load balancer, ingress, sidecar) between the client and the gateway,
    #: each appending to `X-Forwarded-For`; 0: the connection's peer is the client
    trust_proxy_depth: int = Field(0, ge=0, le=10)
