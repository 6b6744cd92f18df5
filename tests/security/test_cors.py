"""Browser calls across origins (`cors:`): preflights answered, allowed origins given the
`Access-Control-*` headers on JSON and streamed answers, other origins refused before any
provider call; without the section, nothing changes but a preflight's error says what to set.
Plain HTTP with the headers browsers send (no browser runs here), and the official SDK."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

APP = "https://app.example.com"
CORS = """cors:
  allow_origins: ["https://app.example.com", "https://*.tools.example.com", "http://localhost:3000"]
  expose_headers: [x-request-id, x-keeptrusts-decision]
"""
BODY = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os",
}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("cors"))
    yield factory.start(openai_config(("a", upstream.base_url), extra=CORS), env=ENV)
    factory.stop_all()


def post(gw: Gateway, headers: dict[str, str], **body: object) -> httpx.Response:
    return httpx.post(
        gw.base_url + "/chat/completions", json={**BODY, **body}, headers=headers, timeout=10
    )


@pytest.mark.parametrize("origin", [APP, "https://ci.tools.example.com", "http://localhost:3000"])
def test_preflight_from_an_allowed_origin(gw: Gateway, origin: str) -> None:
    r = httpx.options(gw.base_url + "/chat/completions", headers={"Origin": origin, **PREFLIGHT})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == origin
    assert r.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
    # the SDK's own headers are allowed unless the config narrows allow_headers
    assert (
        r.headers["access-control-allow-headers"] == "authorization, content-type, x-stainless-os"
    )
    assert r.headers["access-control-max-age"] == "86400"
    assert "Origin" in r.headers["vary"]
    assert "access-control-allow-credentials" not in r.headers


@pytest.mark.parametrize(
    ("origin", "method", "why"),
    [
        ("https://evil.example", "POST", "origin 'https://evil.example'"),
        ("https://tools.example.com", "POST", "origin"),  # the wildcard is for subdomains
        ("https://app.example.com.evil.example", "POST", "origin"),
        ("http://app.example.com", "POST", "origin"),  # another scheme is another origin
        ("null", "POST", "origin 'null'"),
        (APP, "DELETE", "method 'DELETE'"),
    ],
)
def test_preflight_refused_says_what_is_missing(
    gw: Gateway, origin: str, method: str, why: str
) -> None:
    headers = {**PREFLIGHT, "Origin": origin, "Access-Control-Request-Method": method}
    r = httpx.options(gw.base_url + "/chat/completions", headers=headers)
    assert r.status_code == 403
    assert "access-control-allow-origin" not in r.headers
    err = r.json()["error"]
    assert err["type"] == "validation_error" and err["code"] == "origin_not_allowed"
    assert why in err["message"] and "cors" in err["message"]


def test_allowed_origin_gets_headers_on_json_and_stream(
    gw: Gateway, upstream: FakeUpstream
) -> None:
    headers = {"Origin": APP, "Sec-Fetch-Site": "cross-site"}
    r = post(gw, headers)
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == APP
    assert r.headers["access-control-expose-headers"] == "x-request-id, x-keeptrusts-decision"
    s = post(gw, headers, stream=True)
    assert s.status_code == 200 and s.text.rstrip().endswith("data: [DONE]")
    assert s.headers["access-control-allow-origin"] == APP
    # errors too: a browser page can read why it was refused
    blocked = post(gw, headers, messages=[{"role": "user", "content": "about project atlas"}])
    assert blocked.status_code == 409
    assert blocked.headers["access-control-allow-origin"] == APP
    models = httpx.get(gw.base_url + "/models", headers=headers)
    assert models.headers["access-control-allow-origin"] == APP


def test_other_origins_are_refused_before_the_provider(gw: Gateway, upstream: FakeUpstream) -> None:
    """A "simple" cross-site POST needs no preflight: the browser sends it and only hides the
    answer. It must not reach the provider (and spend tokens)."""
    before = len(upstream.requests)
    for headers in (
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example"},  # a browser without Sec-Fetch-Site
    ):
        r = post(gw, headers)
        assert r.status_code == 403, headers
        assert r.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in r.headers
    assert len(upstream.requests) == before


def test_same_origin_and_non_browser_calls_pass(gw: Gateway) -> None:
    host = gw.url.split("://", 1)[1]
    # a page served from the gateway's own origin; a server-side proxy that forwards Origin
    assert post(gw, {"Origin": f"http://{host}"}).status_code == 200
    assert (
        post(gw, {"Origin": "https://bff.internal", "Sec-Fetch-Site": "same-origin"}).status_code
        == 200
    )
    # the official SDK sends no Origin: unchanged, no CORS headers
    client = openai.OpenAI(base_url=gw.base_url, api_key="unused", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(**BODY)  # type: ignore[call-overload]
    assert "access-control-allow-origin" not in raw.headers


def test_the_sdk_sees_the_refusal_as_permission_denied(gw: Gateway) -> None:
    client = openai.OpenAI(
        base_url=gw.base_url,
        api_key="unused",
        max_retries=0,
        default_headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    with pytest.raises(openai.PermissionDeniedError) as raised:
        client.chat.completions.create(**BODY)  # type: ignore[call-overload]
    assert "cors.allow_origins" in str(raised.value)


def test_without_cors_a_preflight_says_what_to_set(
    gateways: GatewayFactory, upstream: FakeUpstream
) -> None:
    gw = gateways.start(openai_config(("a", upstream.base_url)), env=ENV)
    r = httpx.options(gw.base_url + "/chat/completions", headers={"Origin": APP, **PREFLIGHT})
    assert r.status_code == 405
    assert "cors" in r.json()["error"]["message"]
    assert "access-control-allow-origin" not in r.headers
    # calls carrying an Origin are served as before (a mesh ingress may do CORS itself)
    assert (
        post(gw, {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}).status_code
        == 200
    )


def test_any_origin_and_credentials(gateways: GatewayFactory, upstream: FakeUpstream) -> None:
    star = gateways.start(
        openai_config(("a", upstream.base_url), extra='cors: {allow_origins: ["*"]}\n'), env=ENV
    )
    r = post(star, {"Origin": "https://anyone.example", "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"
    creds = gateways.start(
        openai_config(
            ("a", upstream.base_url),
            extra=f'cors: {{allow_origins: ["{APP}"], allow_credentials: true, '
            "allow_headers: [Content-Type, Authorization], max_age_seconds: 600}\n",
        ),
        env=ENV,
    )
    r = httpx.options(
        creds.base_url + "/chat/completions",
        headers={
            **PREFLIGHT,
            "Origin": APP,
            "Access-Control-Request-Headers": "content-type, authorization",
        },
    )
    assert r.status_code == 204 and r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-max-age"] == "600"
    narrowed = httpx.options(
        creds.base_url + "/chat/completions", headers={"Origin": APP, **PREFLIGHT}
    )
    assert narrowed.status_code == 403
    assert "x-stainless-os" in narrowed.json()["error"]["message"]


def test_admin_endpoints_answer_no_preflight(gw: Gateway) -> None:
    r = httpx.options(gw.url + "/keeptrusts/config", headers={"Origin": APP, **PREFLIGHT})
    assert r.status_code == 405
    assert "access-control-allow-origin" not in r.headers
    assert "served for the API (/v1/*) only" in r.json()["error"]["message"]


def test_requested_headers_are_echoed_only_as_header_names(gw: Gateway) -> None:
    headers = {**PREFLIGHT, "Origin": APP, "Access-Control-Request-Headers": "x-a, x b"}
    r = httpx.options(gw.base_url + "/chat/completions", headers=headers)
    assert r.status_code == 403 and "header names" in r.json()["error"]["message"]


def test_preflights_and_refusals_carry_the_gateway_headers(gw: Gateway) -> None:
    ok = httpx.options(gw.base_url + "/chat/completions", headers={"Origin": APP, **PREFLIGHT})
    refused = post(gw, {"Origin": "https://evil.example", "x-request-id": "r-1"})
    assert ok.headers["x-request-id"] and ok.headers["x-keeptrusts-config-version"]
    assert refused.headers["x-request-id"] == "r-1"


def test_a_refused_post_is_not_invited_to_upload_its_body(gw: Gateway) -> None:
    """Before: `Expect: 100-continue` was answered `100 Continue` ahead of the refusal, so the
    client uploaded a body the gateway then refused without reading."""
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Origin: https://evil.example\r\nSec-Fetch-Site: cross-site\r\n"
            b"Expect: 100-continue\r\nContent-Length: 100\r\n\r\n"
        )
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 403"), answer[:40]
    assert b'"origin_not_allowed"' in answer


@pytest.mark.parametrize(
    ("allowed", "origin"),
    [
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("https://xn--bcher-kva.example", "https://xn--bcher-kva.example"),
        ("https://*.bücher.example", "https://app.xn--bcher-kva.example"),
    ],
)
def test_ipv6_and_international_origins_match_as_browsers_send_them(
    gateways: GatewayFactory, upstream: FakeUpstream, allowed: str, origin: str
) -> None:
    """Browsers send an IPv6 host in brackets and a non-ASCII one in its `xn--` form. Before:
    the section kept `http://::1:3000` and `https://bücher.example`, which no browser sends,
    so those pages were refused."""
    extra = f'cors: {{allow_origins: ["{allowed}"]}}\n'
    gw = gateways.start(openai_config(("a", upstream.base_url), extra=extra), env=ENV)
    r = httpx.options(gw.base_url + "/chat/completions", headers={"Origin": origin, **PREFLIGHT})
    assert r.status_code == 204, r.text
    assert r.headers["access-control-allow-origin"] == origin
