"""The drain after SIGTERM, past its delay and at its deadline (docs/drain.md).

Once `drain_delay_seconds` has passed the listener closes (new connections are refused) and a
request on a kept-alive connection gets 503 `shutting_down` with `Connection: close`; streams
still open at `drain_timeout_seconds` end with the contract's error event and `data: [DONE]`,
accounted 503 (not 499, the client's own leaving), and the process exits promptly after it."""

from __future__ import annotations

import json
import signal
import threading
import time

import httpx
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wait import wait_for
from tests.integration.configs import ENV, openai_config

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}


def stream_in_thread(gw: Gateway, into: list[str]) -> threading.Thread:
    def consume() -> None:
        with httpx.stream(
            "POST", gw.base_url + "/chat/completions", json={**CHAT, "stream": True}, timeout=30
        ) as r:
            into.append(r.read().decode())

    t = threading.Thread(target=consume)
    t.start()
    return t


def access_lines(gw: Gateway) -> list[dict[str, object]]:
    lines = []
    for line in gw.logs().splitlines():
        if line.startswith("{") and '"msg":"access"' in line:
            lines.append(json.loads(line))
    return lines


def test_streams_open_at_the_deadline_end_with_an_error_event(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    fake.reset(chunks=[f"w{i} " for i in range(100)], chunk_delay=0.1)  # 10 s each
    extra = "server: {drain_timeout_seconds: 1.5}\n"
    gw = gateways.start(openai_config(("a", fake.base_url), extra=extra), env=ENV)
    texts: list[str] = []
    threads = [stream_in_thread(gw, texts) for _ in range(3)]
    assert wait_for(lambda: len(fake.requests) == 3)
    time.sleep(0.3)  # each stream has sent some chunks
    signalled = time.monotonic()
    gw.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(15)
    assert gw.proc.wait(15) == 0
    took = time.monotonic() - signalled
    # the deadline, then at most CUT_GRACE_SECONDS and aiohttp's backstop (no longer 2 x 2 s)
    assert took < 1.5 + 2.0, took
    assert len(texts) == 3
    for text in texts:
        events = [e for e in text.split("\n\n") if e.strip()]
        assert events[-1] == "data: [DONE]", events[-3:]
        error = json.loads(events[-2].removeprefix("data: "))["error"]
        assert (error["type"], error["code"]) == ("upstream_error", "shutting_down"), error
        assert text.count("chat.completion.chunk") > 3 and "w99" not in text  # cut mid-way
    statuses = sorted(line["status"] for line in access_lines(gw))  # type: ignore[type-var]
    assert statuses == [503, 503, 503], gw.logs()


def test_after_the_delay_only_work_in_flight_is_served(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    fake.reset(chunks=[f"w{i} " for i in range(30)], chunk_delay=0.1)  # 3 s
    extra = "server: {drain_delay_seconds: 1.0, drain_timeout_seconds: 10}\n"
    gw = gateways.start(openai_config(("a", fake.base_url), extra=extra), env=ENV)
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    kept = httpx.Client(limits=one, timeout=10)
    kept_get = httpx.Client(limits=one, timeout=10)
    assert kept.get(gw.url + "/healthz").status_code == 200  # both connections kept alive
    assert kept_get.get(gw.url + "/healthz").status_code == 200
    texts: list[str] = []
    streaming = stream_in_thread(gw, texts)
    assert wait_for(lambda: len(fake.requests) == 1)
    gw.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    # during the delay: still served, new connections included (the endpoints may lag)
    assert wait_for(lambda: httpx.get(gw.url + "/readyz").status_code == 503, 0.8)
    during = httpx.post(gw.base_url + "/chat/completions", json=CHAT, timeout=10)
    assert during.status_code == 200
    assert time.monotonic() - signalled < 1.0, "too slow to test the delay"
    time.sleep(1.3 - (time.monotonic() - signalled))
    # after it: no new connection ...
    with pytest.raises(httpx.ConnectError):
        httpx.post(gw.base_url + "/chat/completions", json=CHAT, timeout=5)
    # ... and a request on a kept-alive one is refused, to be retried elsewhere
    refused = kept.post(gw.base_url + "/chat/completions", json=CHAT)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "shutting_down"
    assert refused.headers["Retry-After"] == "1"
    assert refused.headers["Connection"] == "close"
    assert refused.headers["x-request-id"]  # accounted like any refusal (below)
    probe = kept_get.get(gw.url + "/healthz")  # non-governed requests are answered, then closed
    assert probe.status_code == 200 and probe.headers["Connection"] == "close"
    streaming.join(15)
    assert texts[0].rstrip().endswith("data: [DONE]") and '"error"' not in texts[0]
    assert "w29" in texts[0]
    assert gw.proc.wait(15) == 0
    kept.close()
    kept_get.close()
    by_id = {line["request_id"]: line["status"] for line in access_lines(gw)}
    assert by_id[refused.headers["x-request-id"]] == 503
    assert sorted(by_id.values()) == [200, 200, 503]  # the stream, `during`, the refusal


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "json"])
def test_a_request_still_waiting_for_its_provider_gets_a_503(
    gateways: GatewayFactory, fake: FakeUpstream, stream: bool
) -> None:
    """Before: cut at the deadline with the connection closed, and accounted as a 499."""
    fake.reset(first_byte_delay=4.0)
    extra = "server: {drain_timeout_seconds: 0.5}\n"
    gw = gateways.start(openai_config(("a", fake.base_url), extra=extra), env=ENV)
    answers: list[httpx.Response] = []

    def consume() -> None:
        body = {**CHAT, "stream": stream}
        answers.append(httpx.post(gw.base_url + "/chat/completions", json=body, timeout=30))

    t = threading.Thread(target=consume)
    t.start()
    assert wait_for(lambda: len(fake.requests) == 1)
    gw.proc.send_signal(signal.SIGTERM)
    t.join(15)
    assert gw.proc.wait(15) == 0
    r = answers[0]
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == "shutting_down"
    assert [line["status"] for line in access_lines(gw)] == [503]
