"""Egress through a corporate proxy: `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` as curl and the
OpenAI SDK read them, and a target's own `proxy:` (a URL, or `direct`). An https target is
reached through a `CONNECT` tunnel, so the proxy never sees its key."""

from __future__ import annotations

import base64
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yarl

from keeptrusts.providers.egress import no_proxy
from tests.fakes.gateway import GatewayFactory
from tests.fakes.proxy import FakeProxy
from tests.fakes.upstream import Behaviour, FakeUpstream
from tests.integration.configs import ENV, PROVIDER_KEY, openai_config
from tests.mesh.certs import MeshCA


@pytest.fixture
def proxy() -> Iterator[FakeProxy]:
    fake = FakeProxy().start()
    yield fake
    fake.stop()


@pytest.fixture
def tls_upstream(tmp_path: Path) -> Iterator[tuple[FakeUpstream, Path]]:
    """A provider on https://127.0.0.1, and the CA file that trusts its certificate."""
    ca = MeshCA.create(tmp_path / "pki")
    cert = ca.issue("providers", "llm", ip="127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert.cert, cert.key)
    fake = FakeUpstream(Behaviour(reply="over the tunnel"), ssl_context=ctx).start()
    yield fake, ca.cert_path
    fake.stop()


def target(tid: str, url: str, models: str, proxy: str | None = None) -> list[str]:
    lines = [f"    - id: {tid}", "      provider: openai", f"      base_url: {url}"]
    lines += ["      secret_key_ref: {env: FAKE_PROVIDER_KEY}", f"      models: [{models}]"]
    return lines + ([f"      proxy: {proxy}"] if proxy else [])


def post(gw_url: str, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(gw_url + path, json=body, timeout=15)


def test_targets_reach_their_providers_through_the_proxy_they_should(
    gateways: GatewayFactory,
    fake: FakeUpstream,
    proxy: FakeProxy,
    tls_upstream: tuple[FakeUpstream, Path],
) -> None:
    """The proxy variables were ignored: on a platform whose egress goes through a proxy no
    provider could be reached. Now an https target tunnels through `HTTPS_PROXY` (with its
    credentials; the key only inside TLS), `NO_PROXY` and `proxy: direct` go direct, and a
    target's own `proxy:` wins over the environment."""
    tls, ca_file = tls_upstream
    local = fake.base_url.replace("127.0.0.1", "localhost")
    pinned = proxy.url.replace("http://", "http://ops:pinned-secret@")
    lines = ["pack: {name: egress, version: 1.0.0}", "providers:", "  targets:"]
    lines += target("tls", tls.base_url, '"gpt-4o*"')
    lines += target("direct", fake.base_url, '"claude*"', proxy="direct")
    lines += target("nearby", local, '"text-embedding*"')
    lines += target("pinned", fake.base_url, '"gpt-3.5*"', proxy=pinned)
    lines += ["policies: {chain: []}"]
    env = {
        **ENV,
        "HTTPS_PROXY": proxy.url.replace("http://", "http://egress:proxy-secret@"),
        "HTTP_PROXY": "http://127.0.0.1:9",  # nothing listens: a target using it would fail
        "NO_PROXY": "localhost,.internal",
        "SSL_CERT_FILE": str(ca_file),
    }
    gw = gateways.start("\n".join(lines) + "\n", env=env)
    messages = [{"role": "user", "content": "hi"}]

    r = post(gw.base_url, "/chat/completions", {"model": "gpt-4o", "messages": messages})
    assert r.status_code == 200, r.text
    assert r.json()["choices"][0]["message"]["content"] == "over the tunnel"
    [head] = proxy.heads
    assert head.startswith(f"CONNECT 127.0.0.1:{tls.port} HTTP/1.1\r\n")
    credentials = base64.b64encode(b"egress:proxy-secret").decode()
    assert f"Proxy-Authorization: Basic {credentials}\r\n" in head
    assert PROVIDER_KEY.encode() not in proxy.relayed  # the key went inside TLS only
    assert tls.requests[0].headers["authorization"] == f"Bearer {PROVIDER_KEY}"

    r = post(gw.base_url, "/chat/completions", {"model": "claude-3", "messages": messages})
    assert r.status_code == 200, r.text
    r = post(gw.base_url, "/embeddings", {"model": "text-embedding-3-small", "input": "hi"})
    assert r.status_code == 200, r.text
    assert len(proxy.heads) == 1 and len(fake.requests) == 2

    r = post(gw.base_url, "/completions", {"model": "gpt-3.5-turbo-instruct", "prompt": "hi"})
    assert r.status_code == 200, r.text
    assert proxy.heads[1].startswith(f"POST {fake.base_url}/completions HTTP/1.1\r\n")
    assert len(fake.requests) == 3

    shown = httpx.get(gw.url + "/keeptrusts/config").text
    assert "pinned-secret" not in shown and "ops:" not in shown
    assert "secret" not in gw.logs()


def test_a_proxy_variable_that_is_no_url_refuses_the_start_without_showing_it(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """A SOCKS proxy (which aiohttp cannot use) would fail every request: the gateway says so
    at start, naming the variable, not its value (it may hold a password)."""
    env = {**ENV, "https_proxy": "socks5://ops:hunter2@proxy.corp:1080"}
    text = openai_config(("a", fake.base_url.replace("http://", "https://")))
    gw = gateways.start(text, env=env, wait=False)
    assert gw.proc.wait(15) == 2
    assert "https_proxy / HTTPS_PROXY is not a proxy URL" in gw.logs()
    assert "hunter2" not in gw.logs() and "Unclosed" not in gw.logs()


@pytest.mark.parametrize(
    ("url", "entries", "bypassed"),
    [
        ("https://api.openai.com/v1", "openai.com", True),
        ("https://api.openai.com/v1", ".openai.com", True),
        ("https://notopenai.com/v1", "openai.com", False),
        ("http://vllm.models.svc:8000/v1", "svc:8000", True),
        ("http://vllm.models.svc:8000/v1", "svc:9000", False),
        ("http://10.1.2.3:8000/v1", "10.0.0.0/8", True),
        ("http://[fd00::5]:8000/v1", "fd00::/64", True),
        ("http://10.1.2.3:8000/v1", "192.168.0.0/16, localhost", False),
        ("https://anything.example/v1", " * ", True),
    ],
)
def test_no_proxy_entries(url: str, entries: str, bypassed: bool) -> None:
    assert no_proxy(yarl.URL(url), entries) is bypassed
