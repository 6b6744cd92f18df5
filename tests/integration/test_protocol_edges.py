"""Edges of the wire contract: streams that end early or are not streams, blocks before the
first byte, what SDKs are told about retrying, request ids on every response, malformed HTTP
that carries a secret, and request shapes that could hide text or reach another deployment."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config
from tests.integration.test_response_fields import chunk, events, gw, sse

CHAT = [{"role": "user", "content": "hi"}]
__all__ = ["gw"]  # the fixture: a gateway redacting PII and blocking a DLP term


@pytest.fixture(scope="module")
def claude(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    """One gateway for the module with an `anthropic` target (no policies)."""
    factory = GatewayFactory(tmp_path_factory.mktemp("protocol-edges-claude"))
    yield factory.start(openai_config(("claude", upstream.base_url), provider="anthropic"), env=ENV)
    factory.stop_all()


def post(gw: Gateway, path: str = "/chat/completions", **body: Any) -> httpx.Response:
    payload = {"model": "gpt-4o", "messages": CHAT, **body}
    return httpx.post(gw.base_url + path, json=payload, timeout=15)


def test_a_stream_cut_before_its_end_is_an_error_not_a_success(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    fake.behaviour.raw_stream = sse(
        chunk({"role": "assistant", "content": "Hello "}), chunk({"content": "wor"}), done=False
    )
    evs = events(post(gw, stream=True))
    assert evs[-1] == "[DONE]" and evs[-2]["error"]["type"] == "upstream_error"

    fake.behaviour.raw_stream = b""  # nothing at all: nothing was sent, so a JSON error
    r = post(gw, stream=True)
    assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_error"


def test_a_finished_stream_without_done_is_complete(gw: Gateway, fake: FakeUpstream) -> None:
    fake.behaviour.raw_stream = sse(
        chunk({"role": "assistant", "content": "Hello."}), chunk({}, "stop"), done=False
    )
    evs = events(post(gw, stream=True))
    assert evs[-1] == "[DONE]" and not any(isinstance(e, dict) and "error" in e for e in evs)


def test_a_json_answer_to_a_stream_request_is_a_502(gw: Gateway, fake: FakeUpstream) -> None:
    fake.behaviour.raw_stream = json.dumps({"error": {"message": "nope"}}).encode()
    fake.behaviour.raw_content_type = "application/json"
    r = post(gw, stream=True)
    assert r.status_code == 502
    assert "not an event stream" in r.json()["error"]["message"]


def test_a_block_before_the_first_byte_is_a_409_the_sdk_understands(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    fake.behaviour.raw_stream = sse(
        # the match is followed by enough text to be firm within the first chunk
        chunk({"role": "assistant", "content": "The project atlas launch is " + "soon. " * 40}),
        chunk({}, "stop"),
    )
    r = post(gw, stream=True)
    assert r.status_code == 409 and r.headers["x-should-retry"] == "false"
    assert r.json()["error"]["code"] == "output_blocked"
    assert r.headers["x-keeptrusts-decision"] == "block"

    client = openai.OpenAI(base_url=gw.base_url, api_key="k")  # default retries on
    with pytest.raises(openai.ConflictError):
        list(client.chat.completions.create(model="gpt-4o", messages=CHAT, stream=True))  # type: ignore[arg-type]
    assert len(fake.requests) == 2  # one per create(): the SDK did not retry the block


def test_sdks_are_told_not_to_retry_what_cannot_succeed(gw: Gateway, fake: FakeUpstream) -> None:
    blocked = post(gw, messages=[{"role": "user", "content": "about project atlas"}])
    assert blocked.status_code == 409 and blocked.headers["x-should-retry"] == "false"
    assert post(gw, model="nope").headers["x-should-retry"] == "false"  # 404
    fake.reset(status=429, retry_after="1")
    limited = post(gw)
    assert limited.status_code == 429 and "x-should-retry" not in limited.headers
    fake.reset(status=401)  # the target's key is wrong: retrying cannot help
    denied = post(gw)
    assert denied.status_code == 502 and denied.headers["x-should-retry"] == "false"
    assert denied.json()["error"]["code"] == "upstream_auth_failed"
    fake.reset(status=503)
    assert "x-should-retry" not in post(gw).headers


def test_every_response_carries_the_request_id(gw: Gateway) -> None:
    for method, path in [("GET", "/health"), ("GET", "/v1/nope"), ("GET", "/v1/chat/completions")]:
        r = httpx.request(method, gw.url + path, headers={"x-request-id": "trace-me-1"})
        assert r.headers["x-request-id"] == "trace-me-1", path
        assert r.headers["x-keeptrusts-config-version"], path
    assert len(httpx.get(gw.url + "/healthz").headers["x-request-id"]) == 32


def test_a_malformed_header_line_is_neither_echoed_nor_logged(gw: Gateway) -> None:
    secret = "sk-CALLERSECRET" + "x" * 9000
    raw = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\n"
        f"Authorization: Bearer {secret}\r\nContent-Length: 2\r\n\r\n{{}}"
    )
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as sock:
        sock.sendall(raw.encode())
        reply = b""
        while chunk_ := sock.recv(65536):
            reply += chunk_
    head, _, body = reply.partition(b"\r\n\r\n")
    assert b" 400 " in head.split(b"\r\n")[0]
    assert json.loads(body)["error"]["message"].startswith("malformed HTTP request")
    assert b"CALLERSECRET" not in reply
    assert "CALLERSECRET" not in gw.logs()


def test_an_azure_model_name_cannot_reach_another_deployment(gateways: GatewayFactory, fake: FakeUpstream) -> None:  # fmt: skip
    gw = gateways.start(
        openai_config(("az", fake.base_url.removesuffix("/v1")), provider="azure-openai"), env=ENV
    )
    for model in ["gpt-4o-mini/../gpt-4o", "gpt-4o?x=", "gpt-4o-mini/%2e%2e/o1"]:
        r = post(gw, model=model)
        assert r.status_code == 400, model
        assert "Azure deployment name" in r.json()["error"]["message"]
    assert fake.requests == []
    assert post(gw, model="gpt-4o-mini").status_code == 200
    assert fake.requests[0].path == "/openai/deployments/gpt-4o-mini/chat/completions"


@pytest.mark.parametrize(
    "extra",
    [
        {"messages": [{"role": "assistant", "content": None, "tool_calls": ["x"]}]},
        {"tools": [{"type": "function", "function": "f"}]},
        {"stop": 5},
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": "u"}]}]},
    ],
)
def test_malformed_fields_are_400_before_any_translation(claude: Gateway, fake: FakeUpstream, extra: dict[str, Any]) -> None:  # fmt: skip
    for stream in (False, True):
        r = post(claude, model="claude-3", stream=stream, **extra)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["type"] == "validation_error"
    assert fake.requests == []
    assert "Traceback" not in claude.logs()


def test_anthropic_gets_max_tokens_as_given(claude: Gateway, fake: FakeUpstream) -> None:
    post(claude, model="claude-3", max_tokens=0)
    assert fake.requests[0].body["max_tokens"] == 0


def test_prompts_are_text_or_tokens(gw: Gateway, fake: FakeUpstream) -> None:
    for prompt in [[{"text": "hi"}], [["hi"]], [1, "a"], [], [[]], [True]]:
        r = httpx.post(gw.base_url + "/completions", json={"model": "gpt-4o", "prompt": prompt})
        assert r.status_code == 400, prompt
        assert "'prompt' is required" in r.json()["error"]["message"]
    for prompt in ["hi", ["a", "b"]]:
        r = httpx.post(gw.base_url + "/completions", json={"model": "gpt-4o", "prompt": prompt})
        assert r.status_code == 200, prompt
    for prompt in [[1, 2], [[1, 2], [3]]]:  # well formed, but no policy could read them
        r = httpx.post(gw.base_url + "/completions", json={"model": "gpt-4o", "prompt": prompt})
        assert r.status_code == 409 and "token ids" in r.json()["error"]["message"], prompt


def test_tool_descriptions_and_refusals_in_requests_are_governed(gw: Gateway, fake: FakeUpstream) -> None:  # fmt: skip
    tools = [{"type": "function", "function": {
        "name": "mail", "description": "Mail jane.doe@example.com",
        "parameters": {"type": "object", "properties": {
            "to": {"type": "string", "description": "like jane.doe@example.com"}}}}}]  # fmt: skip
    messages = [
        {"role": "user", "content": "hi"},
        {
            "role": "assistant",
            "content": [{"type": "refusal", "refusal": "not jane.doe@example.com"}],
        },
        {"role": "user", "content": "ok"},
    ]
    assert post(gw, tools=tools, messages=messages).status_code == 200
    sent = json.dumps(fake.requests[0].body)
    assert "jane.doe" not in sent and sent.count("[REDACTED:EMAIL]") == 3
    messages[1]["content"] = [{"type": "refusal", "refusal": "the project atlas"}]
    assert post(gw, messages=messages).status_code == 409


def test_a_body_that_fails_to_inflate_is_one_log_line_not_a_traceback(gw: Gateway) -> None:
    def pieces() -> Iterator[bytes]:  # chunked: aiohttp is still inflating after the reply
        for _ in range(40):
            yield b"not gzip at all " * 400

    r = httpx.post(
        gw.base_url + "/chat/completions",
        content=pieces(),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert r.status_code == 400
    time.sleep(0.5)  # aiohttp drains (and fails to inflate) the rest after the reply
    assert "Traceback" not in gw.logs() and "Unhandled exception" not in gw.logs()


def test_a_base_url_one_step_off_gets_a_404_that_names_the_right_one(gw: Gateway) -> None:
    """Before: a bare "POST /chat/completions: Not Found" (the OpenAI SDK given the gateway's
    root), and the same for the Azure OpenAI SDK's deployment paths, a path prefix copied from
    another gateway's URL, a trailing slash and an API the gateway does not serve."""
    root = gw.url
    sdk = openai.OpenAI(base_url=root, api_key="k", max_retries=0)
    with pytest.raises(openai.NotFoundError) as err:
        sdk.chat.completions.create(model="gpt-4o", messages=CHAT)  # type: ignore[arg-type]
    assert f"set the OpenAI SDK's base URL to {root}/v1" in str(err.value)
    azure = openai.AzureOpenAI(
        azure_endpoint=root, api_key="k", api_version="2024-10-21", max_retries=0
    )
    with pytest.raises(openai.NotFoundError) as err:
        azure.chat.completions.create(model="gpt-4o", messages=CHAT)  # type: ignore[arg-type]
    assert f"use the OpenAI SDK (not AzureOpenAI) with base URL {root}/v1" in str(err.value)
    said = {
        path: httpx.post(root + path, json={}, timeout=15).json()["error"]["message"]
        for path in ("/api/v1/chat/completions", "/v1/chat/completions/", "/v1/files")
    }
    assert f"set the OpenAI SDK's base URL to {root}/v1" in said["/api/v1/chat/completions"]
    assert said["/v1/chat/completions/"].endswith("drop the trailing slash: /v1/chat/completions")
    assert "governs POST /v1/chat/completions, /v1/completions" in said["/v1/files"]
    unknown = httpx.post(root + "/healthz/x", json={}, timeout=15).json()["error"]["message"]
    assert unknown == "POST /healthz/x: Not Found"
