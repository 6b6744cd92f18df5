"""`server.header_read_timeout_seconds` bounds every request's headers, not only a connection's
first: a kept-alive connection that starts a request and then drips its headers (slowloris)
gets 408 and is closed. An idle kept-alive connection is not timed by it."""

from __future__ import annotations

import socket
import time

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

EXTRA = "server: {header_read_timeout_seconds: 0.5}\n"
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"


def kept_alive(gw: Gateway) -> socket.socket:
    """A connection that has had one request answered, kept alive."""
    sock = socket.create_connection(("127.0.0.1", gw.port), timeout=5)
    sock.sendall(HEALTHZ)
    assert read_response(sock).startswith(b"HTTP/1.1 200")
    return sock


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        block = sock.recv(4096)
        if not block:
            break
        data += block
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += sock.recv(4096)
    return data


def test_a_slow_second_request_gets_408(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    gw = gateways.start(openai_config(("a", fake.base_url), extra=EXTRA), env=ENV)
    sock = kept_alive(gw)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n")
    started = time.monotonic()
    answer = b""
    sock.settimeout(0.2)
    while time.monotonic() - started < 3:
        try:
            block = sock.recv(4096)
        except TimeoutError:
            sock.sendall(b"X")  # one more byte of a header every 0.2 s
            continue
        if not block:
            break  # closed
        answer += block
    took = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b'"code":"request_timeout"' in answer
    assert 0.4 < took < 1.5, took
    sock.close()


def test_kept_alive_connections_are_timed_per_request_not_while_idle(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw = gateways.start(openai_config(("a", fake.base_url), extra=EXTRA), env=ENV)
    sock = kept_alive(gw)
    time.sleep(1.2)  # idle for more than twice the header timeout: still open
    sock.sendall(HEALTHZ)
    assert read_response(sock).startswith(b"HTTP/1.1 200")
    for _ in range(3):  # headers sent in pieces, each request within the timeout
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: localhost\r\n", b"\r\n"):
            sock.sendall(piece)
            time.sleep(0.1)
        assert read_response(sock).startswith(b"HTTP/1.1 200")
        time.sleep(0.6)  # idle between them
    sock.close()
