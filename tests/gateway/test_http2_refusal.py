"""A client speaking HTTP/2 without asking (h2c prior knowledge, as a sidecar does for a port
declared HTTP/2) gets HTTP/2's own answer: the server preface and a GOAWAY with
HTTP_1_1_REQUIRED naming what to change; it used to get an HTTP/1.1 400 it could not read."""

from __future__ import annotations

import socket
import struct
import time

import httpx

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

CLIENT_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def frames(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while len(data) >= 9:
        length = int.from_bytes(data[:3], "big")
        out.append((data[3], data[9 : 9 + length]))
        data = data[9 + length :]
    assert not data, "a partial frame"
    return out


def test_h2c_prior_knowledge_gets_goaway_http_1_1_required(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV)
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as conn:
        conn.sendall(CLIENT_PREFACE)
        got = b""
        while chunk := conn.recv(4096):  # the gateway closes the connection after it
            got += chunk
    (settings, settings_payload), (goaway, payload) = frames(got)
    assert (settings, settings_payload) == (0x4, b"")
    assert goaway == 0x7
    last_stream, error = struct.unpack(">II", payload[:8])
    assert (last_stream, error) == (0, 0xD)  # HTTP_1_1_REQUIRED
    assert b"HTTP/1.1" in payload[8:] and b"appProtocol" in payload[8:]
    # the operator sees it too; HTTP/1.1 clients are served as before
    assert "refused 1 HTTP/2 (h2c) connection(s)" in gw.logs()
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    assert httpx.post(gw.base_url + "/chat/completions", json=body).status_code == 200


def test_a_preface_split_across_segments_is_refused_too(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """Before: only a preface arriving in one segment was recognised; one split (a sidecar
    writing it in pieces, a small MSS) got the HTTP/1.1 400 it could not read."""
    gw = gateways.start(openai_config(("a", fake.base_url)), env=ENV)
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in (CLIENT_PREFACE[:1], CLIENT_PREFACE[1:7], CLIENT_PREFACE[7:]):
            conn.sendall(piece)
            time.sleep(0.1)
        got = b""
        while chunk := conn.recv(4096):
            got += chunk
    assert [kind for kind, _ in frames(got)] == [0x4, 0x7]
    # a request whose first segment is a prefix of the preface ("P" of POST) is served
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as conn:
        body = b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}'
        head = (
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.sendall(head[:1])
        time.sleep(0.1)
        conn.sendall(head[1:] + body)
        got = b""
        while chunk := conn.recv(4096):
            got += chunk
    assert got.startswith(b"HTTP/1.1 200"), got[:60]
