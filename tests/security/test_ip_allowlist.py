"""`ip_allowlist:`: calls to the API from outside the listed networks are refused before any
provider call; the client is the peer, or behind `trust_proxy_depth` proxies the address the
farthest one saw; probes and metrics stay reachable. Real gateways, plain HTTP and the SDKs."""

from __future__ import annotations

import time

import anthropic
import httpx
import openai
import pytest

from keeptrusts.config.load import ConfigError, load_texts
from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}


def start(gateways: GatewayFactory, upstream: FakeUpstream, section: str) -> Gateway:
    return gateways.start(openai_config(("a", upstream.base_url), extra=section + "\n"), env=ENV)


def post(gw: Gateway, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(gw.base_url + "/chat/completions", json=BODY, headers=headers, timeout=10)


def test_a_client_outside_the_networks_is_refused(
    gateways: GatewayFactory, upstream: FakeUpstream
) -> None:
    gw = start(gateways, upstream, 'ip_allowlist: {cidrs: ["10.0.0.0/8", "fd00::/8"]}')
    before = len(upstream.requests)
    r = post(gw)
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "ip_not_allowed" and "127.0.0.1" in err["message"]
    assert "ip_allowlist" in err["message"]
    assert r.headers["x-should-retry"] == "false"
    with pytest.raises(openai.PermissionDeniedError):
        openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0).models.list()
    claude = anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.PermissionDeniedError) as raised:
        claude.messages.create(
            model="gpt-4o", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    assert raised.value.body["type"] == "error"  # type: ignore[index]  # Anthropic's shape
    assert len(upstream.requests) == before
    # the kubelet and Prometheus call from their own addresses
    for path in ("/healthz", "/readyz", "/health", "/metrics"):
        assert httpx.get(gw.url + path).status_code == 200, path


def test_listed_network_and_disabled_section_pass(
    gateways: GatewayFactory, upstream: FakeUpstream
) -> None:
    assert (
        post(start(gateways, upstream, 'ip_allowlist: {cidrs: ["127.0.0.0/8"]}')).status_code == 200
    )
    off = start(gateways, upstream, 'ip_allowlist: {enabled: false, cidrs: ["10.0.0.0/8"]}')
    assert post(off).status_code == 200


@pytest.mark.parametrize("cidr", ["::ffff:127.0.0.1", "::ffff:127.0.0.0/104"])
def test_a_network_written_ipv4_mapped_counts_as_ipv4(
    gateways: GatewayFactory, upstream: FakeUpstream, cidr: str
) -> None:
    """The docs say `::ffff:10.1.2.3` counts as `10.1.2.3`. Before: only for a client's address;
    a network written that way (as a dual-stack listener logs its IPv4 peers) matched nobody."""
    assert (
        post(start(gateways, upstream, f'ip_allowlist: {{cidrs: ["{cidr}"]}}')).status_code == 200
    )


def test_behind_a_proxy_the_address_it_saw_decides(
    gateways: GatewayFactory, upstream: FakeUpstream
) -> None:
    gw = start(gateways, upstream, 'ip_allowlist: {cidrs: ["10.0.0.0/8"], trust_proxy_depth: 1}')
    assert post(gw, {"X-Forwarded-For": "10.1.2.3"}).status_code == 200
    assert post(gw, {"X-Forwarded-For": "10.1.2.3:51234"}).status_code == 200  # with a port
    assert post(gw, {"X-Forwarded-For": "::ffff:10.1.2.3"}).status_code == 200  # IPv4-mapped
    assert post(gw, {"X-Forwarded-For": "[::ffff:10.1.2.3]:443"}).status_code == 200
    # a client's own X-Forwarded-For entry is left of what the trusted proxy appended
    spoofed = post(gw, {"X-Forwarded-For": "10.1.2.3, 203.0.113.9"})
    assert spoofed.status_code == 403 and "203.0.113.9" in spoofed.json()["error"]["message"]
    # no header: the proxy was bypassed; the peer is judged
    assert post(gw).status_code == 403
    garbage = post(gw, {"X-Forwarded-For": "not-an-address"})
    assert garbage.status_code == 403
    assert "unreadable" in garbage.json()["error"]["message"]


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ('ip_allowlist: {cidrs: ["10.0.0.1/8"]}', "c.yaml:3: ip_allowlist.cidrs[0]: not a network"),
        ('ip_allowlist: {cidrs: ["10.0.0.0/33"]}', "not a network"),
        ("ip_allowlist: {cidrs: []}", "ip_allowlist.cidrs"),
        ('ip_allowlist: {cidrs: ["10.0.0.0/8"], trust_proxy_depth: -1}', "trust_proxy_depth"),
        ('ip_allowlist: {cidr: ["10.0.0.0/8"]}', "did you mean `cidrs`"),
    ],
)
def test_config_mistakes_are_named(section: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_texts([("c.yaml", f"pack: {{name: t}}\npolicies: {{chain: []}}\n{section}\n")])
    assert expected in str(raised.value)


def test_a_refusal_carries_the_gateway_headers(
    gateways: GatewayFactory, upstream: FakeUpstream
) -> None:
    gw = start(gateways, upstream, 'ip_allowlist: {cidrs: ["10.0.0.0/8"]}')
    r = post(gw, {"x-request-id": "req-from-the-caller"})
    assert r.status_code == 403
    assert r.headers["x-request-id"] == "req-from-the-caller"
    assert r.headers["x-keeptrusts-config-version"]
    # accounted like any refusal: its access line (and decision event, metrics)
    lines: list[str] = []
    for _ in range(100):  # access lines are written in batches
        lines = [x for x in gw.logs().splitlines() if "req-from-the-caller" in x]
        if lines:
            break
        time.sleep(0.05)
    assert lines and '"status":403' in lines[0] and '"logger":"keeptrusts.access"' in lines[0]
