"""Hostile input: every malformed request gets a 4xx in the contract's envelope, quickly."""

from __future__ import annotations

import gzip
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

EXTRA = "server: {max_body_bytes: 65536, body_read_timeout_seconds: 1, header_read_timeout_seconds: 1, max_connections: 64}\n"


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("hostile"))
    yield factory.start(openai_config(("a", upstream.base_url), extra=EXTRA), env=ENV)
    factory.stop_all()


def post(gw: Gateway, content: bytes, **headers: str) -> httpx.Response:
    return httpx.post(
        gw.base_url + "/chat/completions",
        content=content,
        headers={"content-type": "application/json", **headers},
        timeout=10,
    )


def envelope(r: httpx.Response, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert set(err) == {"type", "code", "message", "policy"}
    assert err["message"]
    return err  # type: ignore[no-any-return]


MSG = b'"messages": [{"role": "user", "content": "hi"}]'


@pytest.mark.parametrize(
    "body",
    [
        b'{"model": "gpt-4o", ' + MSG[:-5],  # truncated
        b"[" * 5000 + b"]" * 5000,  # deeply nested
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "\xff\xfe"}]}',  # invalid UTF-8
        b'{"model": 42, ' + MSG + b"}",
        b'{"model": "gpt-4o", "messages": [{"role": 1, "content": "x"}]}',
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": 5}]}',
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "hologram"}]}]}',
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": [{"type": "text", "text": 3}]}]}',
        b'{"model": "gpt-4o", "stream": "yes", ' + MSG + b"}",
        b'{"model": "gpt-4o", "max_tokens": -1, ' + MSG + b"}",
        b'{"model": "' + b"m" * 300 + b'", ' + MSG + b"}",
        b"",
        b"null",
    ],
)
def test_malformed_bodies_are_400(gw: Gateway, fake: FakeUpstream, body: bytes) -> None:
    err = envelope(post(gw, body), 400)
    assert err["type"] == "validation_error"
    assert fake.requests == []


def test_gzip_body_is_accepted_and_bombs_are_413(gw: Gateway, fake: FakeUpstream) -> None:
    ok = gzip.compress(b'{"model": "gpt-4o", ' + MSG + b"}")
    assert post(gw, ok, **{"content-encoding": "gzip"}).status_code == 200
    bomb = gzip.compress(b'{"model": "gpt-4o", "x": "' + b"a" * 10_000_000 + b'"}')
    assert len(bomb) < 65536
    err = envelope(post(gw, bomb, **{"content-encoding": "gzip"}), 413)
    assert err["code"] == "request_too_large"
    envelope(post(gw, b"not gzip", **{"content-encoding": "gzip"}), 400)
    envelope(post(gw, ok, **{"content-encoding": "br"}), 400)
    envelope(post(gw, ok, **{"content-encoding": "gzip, gzip"}), 400)  # (was 415)


def test_enormous_header_sets_get_the_envelope(gw: Gateway) -> None:
    headers = {f"x-h{i}": "v" * 100 for i in range(200)}
    envelope(httpx.get(gw.url + "/health", headers=headers), 400)
    envelope(httpx.get(gw.url + "/health", headers={"x-big": "v" * 20000}), 400)


def test_oversized_declared_length_is_413(gw: Gateway) -> None:
    err = envelope(post(gw, b"x" * 70000), 413)
    assert err["code"] == "request_too_large"


@pytest.mark.parametrize(("length", "answer"), [(100, b"HTTP/1.1 100 Continue"), (70000, b"HTTP/1.1 413")])  # fmt: skip
def test_expect_continue_invites_only_a_body_the_gateway_would_read(
    gw: Gateway, length: int, answer: bytes
) -> None:
    """Before: `100 Continue` came first even for a declared length over the limit, so the
    client started uploading a body that would be refused."""
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % length
        )
        assert s.recv(65536).startswith(answer)


def test_slow_body_gets_408(gw: Gateway) -> None:
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"model":'
        )
        t0 = time.monotonic()
        data = s.recv(65536)
        assert time.monotonic() - t0 < 4
    assert data.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in data


def test_slow_headers_get_408(gw: Gateway) -> None:
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        data = s.recv(65536)
        assert time.monotonic() - t0 < 4
    assert data.startswith(b"HTTP/1.1 408") and b'"request_timeout"' in data


def test_connection_cap_answers_503_envelope(gw: Gateway) -> None:
    socks = [socket.create_connection(("127.0.0.1", gw.port)) for _ in range(64)]
    try:
        time.sleep(0.2)
        extra = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
        data = extra.recv(65536)
        extra.close()
        assert data.startswith(b"HTTP/1.1 503") and b'"overloaded"' in data
    finally:
        for s in socks:
            s.close()
    time.sleep(0.2)
    assert httpx.get(gw.url + "/healthz").status_code == 200


def test_wrong_content_type_still_needs_json(gw: Gateway) -> None:
    r = httpx.post(
        gw.base_url + "/chat/completions",
        content=b"model=gpt-4o",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    envelope(r, 400)
