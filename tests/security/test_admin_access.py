"""Who may use the admin endpoints: a direct caller on 127.0.0.1 / ::1, or the admin token.

The gateway listens on 127.0.0.1; a client socket bound to 127.0.0.6 plays Istio's inbound
sidecar (which forwards remote callers from that address).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from keeptrusts.gateway.admin_access import local_peer, proxied, token_matches
from tests.fakes.gateway import Gateway, GatewayFactory

TOKEN = "adm-secret-token-1"
CONFIG = (
    "pack: {name: t, version: 1.0.0}\n"
    "providers: {targets: [{id: echo, provider: echo}]}\n"
    "policies: {chain: []}\n"
)
ROUTES = [
    ("GET", "/keeptrusts/stats"),
    ("GET", "/keeptrusts/config"),
    ("POST", "/keeptrusts/config/reload"),
    ("GET", "/keeptrusts/limits"),
]
PROXY_HEADERS = [
    {"l5d-client-id": "web.apps.serviceaccount.identity.linkerd.cluster.local"},
    {"Forwarded": "for=10.1.2.3"},
    {"X-Forwarded-For": "10.1.2.3"},
    {"X-Forwarded-Proto": "http"},
    {"X-Forwarded-Client-Cert": "By=spiffe://x;URI=spiffe://y"},
    {"x-envoy-peer-metadata-id": "sidecar~10.1.2.3~web"},
    {"x-envoy-attempt-count": "1"},
    {"Via": "1.1 proxy"},
    {"X-Real-IP": "10.1.2.3"},
]


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("admin"))
    yield factory.start(CONFIG, env={"KEEPTRUSTS_ADMIN_TOKEN": TOKEN})
    factory.stop_all()


def call(
    gw: Gateway,
    method: str,
    path: str,
    source: str = "127.0.0.1",
    headers: dict[str, str] | None = None,
    raw_auth: bytes | None = None,
) -> httpx.Response:
    """One request from a client socket bound to `source`; `raw_auth` is sent as raw bytes."""
    raw = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    if raw_auth is not None:
        raw.append((b"Authorization", raw_auth))
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=10) as client:
        return client.request(method, gw.url + path, headers=raw)


def forbidden(r: httpx.Response) -> bool:
    return r.status_code == 403 and r.json()["error"]["code"] == "admin_forbidden"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_other_loopback_sources_need_the_token(gw: Gateway, method: str, path: str) -> None:
    assert forbidden(call(gw, method, path, source="127.0.0.6"))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert call(gw, method, path, source="127.0.0.6", headers=auth).status_code == 200
    assert call(gw, method, path).status_code == 200  # a direct caller on 127.0.0.1


@pytest.mark.parametrize("header", PROXY_HEADERS, ids=lambda h: next(iter(h)))
def test_a_forwarded_request_is_never_local(gw: Gateway, header: dict[str, str]) -> None:
    for method, path in ROUTES:
        assert forbidden(call(gw, method, path, headers=header)), (path, header)
    auth = {**header, "Authorization": f"Bearer {TOKEN}"}
    assert call(gw, "GET", "/keeptrusts/config", headers=auth).status_code == 200


@pytest.mark.parametrize("value", ["Bearer é".encode(), b"Bearer \xff\xfe", b"Bearer"])
def test_malformed_tokens_are_refused_not_crashed(gw: Gateway, value: bytes) -> None:
    for method, path in ROUTES:
        r = call(gw, method, path, source="127.0.0.6", raw_auth=value)
        assert forbidden(r), (path, r.status_code, r.text)
    assert "Traceback" not in gw.logs()


def test_admin_loopback_false_requires_the_token_everywhere(gateways: GatewayFactory) -> None:
    gw = gateways.start(
        CONFIG + "server: {admin_loopback: false}\n", env={"KEEPTRUSTS_ADMIN_TOKEN": TOKEN}
    )
    for method, path in ROUTES:
        assert forbidden(call(gw, method, path))
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert call(gw, method, path, headers=auth).status_code == 200


@pytest.mark.parametrize(
    ("peer", "local"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("127.0.0.6", False),
        ("127.1.2.3", False),
        ("::ffff:127.0.0.6", False),
        ("10.0.0.1", False),
        ("", False),
        (None, False),
        ("not-an-ip", False),
    ],
)
def test_only_127_0_0_1_and_ipv6_loopback_are_local(peer: str | None, local: bool) -> None:
    assert local_peer(peer) is local


def test_proxy_header_detection_and_token_comparison() -> None:
    assert not proxied(["Host", "Content-Type", "Authorization", "x-request-id", "traceparent"])
    assert proxied(["Host", "X-FORWARDED-HOST"]) and proxied(["L5D-Client-Id"])
    assert token_matches(TOKEN, f"Bearer {TOKEN}") and token_matches(TOKEN, f"bearer  {TOKEN} ")
    for auth in ("Bearer é", "Bearer \udcff", f"Basic {TOKEN}", "", f"Bearer {TOKEN}x"):
        assert not token_matches(TOKEN, auth)
    assert not token_matches(None, f"Bearer {TOKEN}") and not token_matches("", "Bearer ")
