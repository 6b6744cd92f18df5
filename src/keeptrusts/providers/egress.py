"""Which proxy, if any, a target's connections go through; decided once per target.

A target's `proxy:` wins: a proxy URL (`http://proxy.corp:3128`; credentials written in it go
to the proxy as `Proxy-Authorization`), or `direct`. Without it, the standard environment
variables decide, as curl and the OpenAI SDK read them: `HTTPS_PROXY` for an https base_url,
`HTTP_PROXY` for an http one, `ALL_PROXY` for either when that one is unset (lower-case names
win over upper-case ones), and `NO_PROXY` lists the hosts reached directly (comma-separated:
a name, which covers its subdomains too, with or without a leading `.`; `name:port`; an IP
address or a CIDR block such as `10.0.0.0/8`; `*` for every host).

aiohttp's `trust_env` is not used: it would also read `~/.netrc` and send the credentials it
finds there to providers, a source of credentials no one would look for.
An https target is reached through a `CONNECT` tunnel: the proxy sees its host and port, never
the request or its key. An http target's request passes through the proxy as it is, key
included (use https across a proxy you do not run).
"""

from __future__ import annotations

import ipaddress
from urllib.request import getproxies_environment

import yarl

#: `proxy: direct`: no proxy for this target, whatever the environment says
DIRECT = "direct"


def egress_proxy(base_url: str, configured: str | None) -> yarl.URL | None:
    """The proxy for requests to `base_url`: the target's `proxy:` (`configured`), else the
    environment's; None to connect directly. A proxy variable that is no http(s) URL is a
    ValueError naming the variable (not its value: it may hold a password)."""
    if configured is not None:
        return None if configured == DIRECT else yarl.URL(configured)
    url = yarl.URL(base_url)
    proxies = getproxies_environment()
    name = "https" if url.scheme == "https" else "http"
    if name not in proxies:
        name = "all"
    if name not in proxies or no_proxy(url, proxies.get("no", "")):
        return None
    return proxy_url(proxies[name], f"{name}_proxy / {name.upper()}_PROXY")


def proxy_url(value: str, source: str) -> yarl.URL:
    """`value` as a proxy URL (`proxy.corp:3128` without a scheme is http, as curl reads it)."""
    text = value.strip()
    if "://" not in text:
        text = "http://" + text
    try:
        url: yarl.URL | None = yarl.URL(text)
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            f"{source} is not a proxy URL the gateway can use: write it as "
            "http://[user:password@]host:port"
        )
    return url


def no_proxy(url: yarl.URL, entries: str) -> bool:
    """Whether `NO_PROXY`'s `entries` name `url`'s host (see the module's docstring)."""
    host = (url.raw_host or "").lower().rstrip(".")
    for entry in (e.strip().lower() for e in entries.split(",")):
        if entry == "*":
            return True
        if not entry:
            continue
        if _in_block(host, entry):
            return True
        name, port = entry, ""
        if entry.count(":") == 1:  # (an IPv6 address has more)
            name, _, port = entry.partition(":")
        name = name.strip("[]").lstrip(".").rstrip(".")
        if port and port != str(url.port):
            continue
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def _in_block(host: str, entry: str) -> bool:
    """Whether `host`, an IP address, is `entry`, a CIDR block (or an address)."""
    try:
        return ipaddress.ip_address(host) in ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:  # (a name, or an entry that is no block)
        return False
