"""Fallback between targets, mid-stream failures, and client disconnects."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.fakes.gateway import GatewayFactory, free_port
from tests.fakes.upstream import Behaviour, FakeUpstream
from tests.integration.configs import ENV, openai_config


@pytest.fixture
def second() -> Iterator[FakeUpstream]:
    fake = FakeUpstream(Behaviour(reply="from the second target")).start()
    yield fake
    fake.stop()


def ask(gw, stream: bool = False):  # type: ignore[no-untyped-def]
    c = openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)
    return c.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}], stream=stream
    )


def test_503_falls_back_to_second_target(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    fake.reset(status=503)
    gw = gateways.start(openai_config(("a", fake.base_url), ("b", second.base_url)), env=ENV)
    resp = ask(gw)
    assert resp.choices[0].message.content == "from the second target"
    assert len(fake.requests) == 1 and len(second.requests) == 1


def test_refused_connection_falls_back(gateways: GatewayFactory, second: FakeUpstream) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    gw = gateways.start(openai_config(("dead", dead), ("b", second.base_url)), env=ENV)
    assert ask(gw).choices[0].message.content == "from the second target"
    text = "".join(c.choices[0].delta.content or "" for c in ask(gw, stream=True) if c.choices)
    assert text == "from the second target"


def test_all_targets_down_is_503_envelope(gateways: GatewayFactory) -> None:
    dead = f"http://127.0.0.1:{free_port()}/v1"
    gw = gateways.start(openai_config(("dead", dead)), env=ENV)
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 503
    assert r.json()["error"]["type"] == "upstream_error"
    assert r.json()["error"]["code"] == "upstream_unavailable"


def test_429_passes_retry_after_when_no_fallback(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    fake.reset(status=429, retry_after="7")
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV)
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 429 and r.headers["retry-after"] == "7"


def test_failure_after_first_streamed_byte_is_not_retried(
    gateways: GatewayFactory, fake: FakeUpstream, second: FakeUpstream
) -> None:
    fake.reset(reply="one two three four five", fail_after_chunks=2)
    gw = gateways.start(openai_config(("a", fake.base_url), ("b", second.base_url)), env=ENV)
    with httpx.stream(
        "POST",
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        timeout=10,
    ) as r:
        body = r.read().decode()
    assert r.status_code == 200
    events = [line[6:] for line in body.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    assert '"error"' in events[-2] and "upstream_error" in events[-2]
    assert second.requests == []


def test_client_disconnect_closes_upstream_within_a_second(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    fake.reset(chunks=[f"w{i} " for i in range(200)], chunk_delay=0.05)
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV)
    with httpx.stream(
        "POST",
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]},
        timeout=10,
    ) as r:
        for _ in r.iter_raw():
            break
        dropped = time.monotonic()
    deadline = dropped + 1.0
    while time.monotonic() < deadline and not fake.disconnects:
        time.sleep(0.02)
    assert fake.disconnects, "upstream connection still open 1s after the client left"
    assert fake.disconnects[0] - dropped < 1.0
