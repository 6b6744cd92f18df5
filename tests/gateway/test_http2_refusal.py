"""A client speaking HTTP/2 without asking (h2c prior knowledge, as a sidecar does for a port
declared HTTP/2) gets HTTP/2's own answer: the server preface and a GOAWAY with
HTTP_1_1_REQUIRED naming what to change; it used to get an HTTP/1.1 400 it could not read."""

from __future__ import annotations

import socket
import struct

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
