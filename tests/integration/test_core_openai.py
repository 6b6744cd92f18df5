"""The gateway core driven by the official openai SDK against a fake OpenAI upstream."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from keeptrusts import __version__
from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, PROVIDER_KEY, openai_config

TRACE = {
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "tracestate": "vendor=abc",
    "baggage": "team=a",
    "x-b3-traceid": "4bf92f3577b34da6a3ce929d0e0e4736",
    "x-b3-spanid": "00f067aa0ba902b7",
    "x-b3-sampled": "1",
    "x-ot-span-context": "abc;def",
    "x-request-id": "req-123",
}


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    """One gateway for the module (target `primary`, a DLP block on "project atlas"): the tests
    that use it assert on what the fake saw and what the client got, never on its counters."""
    factory = GatewayFactory(tmp_path_factory.mktemp("core-openai"))
    yield factory.start(openai_config(("primary", upstream.base_url)), env=ENV)
    factory.stop_all()


def client(gw, **kw):  # type: ignore[no-untyped-def]
    return openai.OpenAI(base_url=gw.base_url, api_key="sk-caller-secret", max_retries=0, **kw)


def test_chat_json_with_sdk(gw, fake: FakeUpstream) -> None:  # type: ignore[no-untyped-def]
    resp = client(gw).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert resp.choices[0].message.content == fake.behaviour.reply
    assert resp.usage is not None and resp.usage.prompt_tokens == 11
    assert len(fake.requests) == 1


def test_upstream_gets_configured_key_and_trace_headers_not_caller_auth(gw, fake) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(
        gw.base_url + "/chat/completions",
        headers={**TRACE, "Authorization": "Bearer sk-caller-secret"},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200
    seen = fake.requests[0].headers
    assert seen["authorization"] == f"Bearer {PROVIDER_KEY}"
    assert "sk-caller-secret" not in str(seen)
    for k, v in TRACE.items():
        assert seen[k] == v, k
    assert r.headers["x-request-id"] == "req-123"
    assert r.headers["x-keeptrusts-decision"] == "allow"
    assert float(r.headers["x-keeptrusts-overhead-ms"]) >= 0
    assert r.headers["x-keeptrusts-config-version"].startswith("1.0.0+")


def test_target_headers_replace_defaults_whatever_their_case(gateways, fake) -> None:  # type: ignore[no-untyped-def]
    text = openai_config(("primary", fake.base_url)).replace(
        "      timeouts:",
        '      headers: {Content-Type: "application/json; charset=utf-8", X-Team: payments}\n'
        "      timeouts:",
    )
    gw = gateways.start(text, env=ENV)
    client(gw).chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    lines = fake.requests[0].header_lines
    assert [v for k, v in lines if k == "content-type"] == ["application/json; charset=utf-8"]
    assert ("x-team", "payments") in lines
    assert [v for k, v in lines if k == "user-agent"] == [f"keeptrusts-gateway/{__version__}"]


def test_an_oversized_request_id_is_replaced_everywhere(gw, fake) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(
        gw.base_url + "/chat/completions",
        headers={"x-request-id": "r" * 4000},
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200
    rid = r.headers["x-request-id"]
    assert len(rid) == 32
    assert fake.requests[0].headers["x-request-id"] == rid


def test_request_id_is_made_when_absent(gw, fake) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    rid = r.headers["x-request-id"]
    assert len(rid) >= 16 and fake.requests[0].headers["x-request-id"] == rid


async def test_async_stream_with_sdk(gw, fake) -> None:  # type: ignore[no-untyped-def]
    aclient = openai.AsyncOpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    stream = await aclient.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    parts, usage, finish = [], None, None
    async for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            parts.append(c.delta.content or "")
            finish = c.finish_reason or finish
    assert "".join(parts) == fake.behaviour.reply
    assert finish == "stop"
    assert usage is None  # the caller did not ask for usage: the gateway's extra chunk is stripped
    assert fake.requests[0].body["stream_options"] == {"include_usage": True}
    await aclient.close()


def test_sync_stream_with_usage_requested(gw, fake) -> None:  # type: ignore[no-untyped-def]
    stream = client(gw).chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == fake.behaviour.reply
    )


def test_chunks_that_arrive_together_are_relayed_before_the_next_pause(gw, fake) -> None:  # type: ignore[no-untyped-def]
    # three chunks in one upstream write, then a second of silence before the fourth; the
    # config's DLP term ("project atlas") lets the stream guard hold back 14 characters at most
    burst = ["one two three four five ", "six seven eight nine ten ", "eleven twelve "]
    fake.reset(chunks=[*burst, "end"], burst=3, chunk_delay=1.0)
    released = "".join(burst)[:-14]
    start = time.monotonic()
    text, burst_seen = "", None
    for chunk in client(gw).chat.completions.create(
        model="gpt-4o", stream=True, messages=[{"role": "user", "content": "hi"}]
    ):
        for choice in chunk.choices:
            text += choice.delta.content or ""
            if burst_seen is None and text.startswith(released):
                burst_seen = time.monotonic() - start
    assert text == "".join(burst) + "end"
    assert burst_seen is not None and burst_seen < 0.8, burst_seen  # not held for "end"
    assert time.monotonic() - start >= 1.0


def test_an_answer_larger_than_one_network_read_arrives_whole(gw, fake) -> None:  # type: ignore[no-untyped-def]
    answer = "the quick brown fox jumps over the lazy dog " * 25_000  # ≈ 1.1 MB of JSON
    fake.reset(reply=answer)
    r = client(gw).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert r.choices[0].message.content == answer


def test_stream_headers(gw, fake) -> None:  # type: ignore[no-untyped-def]
    with httpx.stream(
        "POST",
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
    ) as r:
        body = r.read().decode()
    assert r.headers["cache-control"] == "no-cache"
    assert r.headers["x-accel-buffering"] == "no"
    assert r.headers["content-type"].startswith("text/event-stream")
    assert body.rstrip().endswith("data: [DONE]")


def test_completions_and_embeddings_and_models(gw, fake) -> None:  # type: ignore[no-untyped-def]
    c = client(gw)
    comp = c.completions.create(model="gpt-3.5-turbo-instruct", prompt="say hi")
    assert comp.choices[0].text == fake.behaviour.reply
    emb = c.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert len(emb.data) == 2
    models = [m.id for m in c.models.list()]
    assert "text-embedding-3-small" in models and not any("*" in m for m in models)


def test_block_is_409_and_upstream_sees_nothing(gw, fake) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(openai.ConflictError) as err:
        client(gw).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "Status of Project Atlas?"}]
        )
    body = err.value.response.json()
    assert body["error"]["type"] == "policy_violation"
    assert body["error"]["code"] == "input_blocked"
    assert body["error"]["policy"] == "dlp-filter"
    assert err.value.response.headers["x-keeptrusts-decision"] == "block"
    assert fake.requests == []


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"{not json", 400, "invalid_request"),
        (b'{"messages": [{"role": "user", "content": "x"}]}', 400, "invalid_request"),
        (
            b'{"model": "unknown-model", "messages": [{"role": "user", "content": "x"}]}',
            404,
            "model_not_found",
        ),
        (b'{"model": "gpt-4o", "messages": "nope"}', 400, "invalid_request"),
        (b"[]", 400, "invalid_request"),
    ],
)
def test_bad_requests_get_the_envelope(gw, fake, data: bytes, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    r = httpx.post(
        gw.base_url + "/chat/completions",
        content=data,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == status
    err = r.json()["error"]
    assert err["code"] == code and err["type"] == "validation_error" and err["policy"] is None
    assert err["message"]
    assert fake.requests == []


def test_oversized_body_is_413(gw, fake) -> None:  # type: ignore[no-untyped-def]
    big = "x" * (5 * 1024 * 1024)
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": big}]},
    )
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"


def test_unknown_route_and_method_use_envelope(gw) -> None:  # type: ignore[no-untyped-def]
    r = httpx.get(gw.base_url + "/nope")
    assert r.status_code == 404 and r.json()["error"]["type"] == "validation_error"
    r = httpx.get(gw.base_url + "/chat/completions")
    assert r.status_code == 405 and "error" in r.json()


def test_health_shape(gw) -> None:  # type: ignore[no-untyped-def]
    h = httpx.get(gw.url + "/health").json()
    assert h["status"] in ("healthy", "degraded")
    assert isinstance(h["version"], str) and isinstance(h["uptime_seconds"], float | int)
    assert h["policies_loaded"] == 1 and isinstance(h["requests_processed"], int)
    assert h["config_version"].startswith("1.0.0+")
    assert set(h["providers"]) == {"primary"}
    assert httpx.get(gw.url + "/healthz").status_code == 200
    assert httpx.get(gw.url + "/readyz").status_code == 200
