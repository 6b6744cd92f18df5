"""A provider's error message reaches the client clipped and with our provider key masked, even
when the provider (or a proxy before it) echoes the credential header it received."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from keeptrusts.config.targets import Target
from keeptrusts.providers.base import ProviderCall
from keeptrusts.providers.client import UpstreamClient
from keeptrusts.providers.factory import ADAPTERS
from keeptrusts.providers.failures import UpstreamError
from keeptrusts.providers.http import MAX_ERROR_DETAIL, relayed_detail, sent_secrets
from tests.fakes.gateway import GatewayFactory

KEY = "sk-UPSTREAMKEYSECRET-0123456789abcdef"
CREDENTIAL_HEADERS = ("authorization", "api-key", "x-api-key")


def echo_message(headers: dict[str, str]) -> str:
    """What a careless upstream says: the credential headers it got, then a long tail."""
    sent = ", ".join(f"{k}={v}" for k, v in headers.items() if k.lower() in CREDENTIAL_HEADERS)
    return f"invalid request ({sent}) " + "x" * 2000


def test_sent_secrets_takes_credentials_from_secret_looking_headers() -> None:
    headers = {
        "Authorization": f"Bearer {KEY}",
        "api-key": "azure-key-0123456789",
        "Content-Type": "application/json",
        "x-request-id": "req-123456",
        "X-Custom-Token": "tok",  # under 4 characters: not worth masking
    }
    assert sent_secrets(headers) == [KEY, "azure-key-0123456789"]


def test_relayed_detail_masks_then_clips() -> None:
    headers = {"Authorization": f"Bearer {KEY}"}
    assert relayed_detail(f"bad key {KEY}", headers) == "bad key sk-...cdef"
    # a key straddling the clip is masked before the clip, so no prefix of it is left
    straddling = "y" * (MAX_ERROR_DETAIL - 5) + KEY
    out = relayed_detail(straddling, headers)
    assert len(out) == MAX_ERROR_DETAIL + 3 and out.endswith("...")
    assert KEY[:10] not in out
    assert relayed_detail("plain", {}) == "plain"


async def echo_upstream(request: web.Request) -> web.Response:
    message = echo_message(dict(request.headers))
    return web.json_response({"error": {"message": message}}, status=400)


@pytest.mark.parametrize("kind", ["openai", "openai-compatible", "azure-openai", "anthropic"])
async def test_adapters_mask_the_key_an_upstream_echoes(kind: str) -> None:
    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", echo_upstream)
    server = TestServer(app)
    await server.start_server()
    try:
        target = Target.model_validate(
            {"id": "up", "provider": kind, "base_url": str(server.make_url("/v1"))}
        )
        call = ProviderCall(
            "chat", {"model": "m", "messages": [{"role": "user", "content": "hi"}]}, False
        )
        async with UpstreamClient.open() as session:
            provider = ADAPTERS[kind](target, session, KEY)
            with pytest.raises(UpstreamError) as info:
                await provider.complete(call)
    finally:
        await server.close()
    message = info.value.message
    assert info.value.status == 400 and "invalid request (" in message
    assert KEY not in message and "UPSTREAMKEYSECRET" not in message
    assert "sk-...cdef" in message
    detail = message.split(": ", 1)[1]
    assert len(detail) == MAX_ERROR_DETAIL + 3


class _Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = orjson.dumps({"error": {"message": echo_message(dict(self.headers))}})
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_the_client_never_sees_the_gateway_provider_key(
    gateways: GatewayFactory, echo_url: str
) -> None:
    config = (
        "pack: {name: t, version: 1.0.0}\n"
        "providers:\n"
        "  targets:\n"
        f"    - {{id: up, provider: openai-compatible, base_url: '{echo_url}',\n"
        "       secret_key_ref: {env: UPSTREAM_KEY}, models: ['*']}\n"
        "  fallback: {max_attempts: 1}\n"
        "policies: {chain: []}\n"
    )
    gw = gateways.start(config, env={"UPSTREAM_KEY": KEY})
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 502, r.text
    message = r.json()["error"]["message"]
    assert "invalid request (" in message and "sk-...cdef" in message
    assert "UPSTREAMKEYSECRET" not in r.text and len(message) < MAX_ERROR_DETAIL + 100
