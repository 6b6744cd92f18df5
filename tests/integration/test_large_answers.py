"""Provider JSON answers are bounded in memory: each by `server.max_response_bytes` (larger: 502),
and together with request bodies by `server.max_inflight_body_bytes` (no room: 503 `overloaded`
with Retry-After), counted until the response is written. With the defaults, the 30 MB answer
that used to take the gateway past the seed's 256Mi limit is refused early (docs/config.md)."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import httpx

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

URL = "/v1/chat/completions"


def chat(size: int = 2) -> dict[str, object]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": "x " * (size // 2)}]}


def peak_rss_mib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    raise AssertionError("no VmHWM")


def test_an_answer_over_max_response_bytes_is_refused(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    extra = "server: {max_response_bytes: 65536}\n"
    gw = gateways.start(openai_config(("a", fake.base_url), extra=extra), env=ENV)
    fake.reset(reply="y" * 100_000)
    r = httpx.post(gw.url + URL, json=chat(), timeout=10)
    assert r.status_code == 502, r.text
    err = r.json()["error"]
    assert err["type"] == "upstream_error"
    assert "over 65536 bytes (server.max_response_bytes)" in err["message"]
    fake.reset(reply="y" * 60_000)
    assert httpx.post(gw.url + URL, json=chat(), timeout=10).status_code == 200


def test_answers_count_against_the_bodies_in_flight(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    extra = "server: {max_body_bytes: 262144, max_inflight_body_bytes: 100000}\n"
    gw = gateways.start(openai_config(("a", fake.base_url), extra=extra), env=ENV)
    fake.reset(first_byte_delay=1.5, reply="y" * 40_000)

    async def together() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            big = asyncio.create_task(client.post(gw.url + URL, json=chat(70_000)))
            await asyncio.sleep(0.5)
            small = await client.post(gw.url + URL, json=chat(1_000))
            return await big, small

    big, small = asyncio.run(together())
    # the big request's answer arrives while the small one is in flight: 70 + 1 + 40 KB > 100 KB
    assert big.status_code == 503, big.text
    err = big.json()["error"]
    assert (err["type"], err["code"]) == ("upstream_error", "overloaded")
    assert "server.max_inflight_body_bytes" in err["message"]
    assert big.headers["Retry-After"] == "1"
    assert small.status_code == 200, small.text  # its answer came once the big one was gone
    # alone, an answer larger than the whole bound passes (and nothing stayed counted)
    fake.reset(reply="z" * 150_000)
    assert httpx.post(gw.url + URL, json=chat(), timeout=10).status_code == 200


def test_an_answer_counts_until_its_client_has_read_it(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    extra = "server: {max_inflight_body_bytes: 10000000, max_response_bytes: 16777216}\n"
    config = openai_config(("a", fake.base_url), chain="[]", extra=extra)
    gw = gateways.start(config, env=ENV)
    fake.reset(reply="y" * 8_000_000)  # more than the kernel buffers between us and the client
    payload = json.dumps(chat()).encode()
    slow = socket.socket()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    slow.connect(("127.0.0.1", gw.port))
    slow.sendall(
        b"POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (URL.encode(), len(payload), payload)
    )
    time.sleep(1.0)  # answered, and stuck behind a client that does not read
    refused = httpx.post(gw.url + URL, json=chat(), timeout=10)
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "overloaded"
    received = 0
    while chunk := slow.recv(1 << 20):
        received += len(chunk)
        if received > 8_000_000:  # the whole answer: the gateway releases it once written
            break
    slow.close()
    deadline = time.monotonic() + 5
    while (r := httpx.post(gw.url + URL, json=chat(), timeout=10)).status_code != 200:
        assert time.monotonic() < deadline, r.text
        time.sleep(0.1)


def test_defaults_refuse_an_answer_that_would_not_fit_the_pod(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """The audit's case: one 30 MB answer, pii-detector and dlp-filter, 260 MiB peak before."""
    config = openai_config(
        ("a", fake.base_url),
        chain="[pii-detector, dlp-filter]",
        policy='pii-detector: {action: redact}\n  dlp-filter: {blocked_terms: ["atlas"], action: block}',
    )
    gw = gateways.start(config, env=ENV)
    fake.reset(reply="lorem ipsum " * 2_500_000)  # 30 MB
    r = httpx.post(gw.url + URL, json=chat(), timeout=30)
    assert r.status_code == 502, r.text
    assert "server.max_response_bytes" in r.json()["error"]["message"]
    fake.reset(reply="lorem ipsum " * 650_000)  # 7.8 MB: within the default 8 MiB
    assert httpx.post(gw.url + URL, json=chat(), timeout=30).status_code == 200
    assert peak_rss_mib(gw.proc.pid) < 160
