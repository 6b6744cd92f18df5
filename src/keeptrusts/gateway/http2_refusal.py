"""A client that speaks HTTP/2 without asking (h2c "prior knowledge") is told, in HTTP/2, to use
HTTP/1.1: the gateway serves HTTP/1.1 only.

A mesh sidecar does this when the Service port is declared HTTP/2 (Istio: a port named `http2`
or `grpc`, `appProtocol: http2`; Linkerd: `appProtocol: kubernetes.io/h2c`). Answered as
HTTP/1.1, such a client saw an empty or garbled reply and a mesh 503 with no clue; now it gets
the server preface and a GOAWAY with `HTTP_1_1_REQUIRED` (RFC 9113 §7), whose debug text
says what to change, and the gateway logs the same (at most once a minute).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import Final

from keeptrusts.telemetry.throttle import LogThrottle

log = logging.getLogger("keeptrusts.gateway")

#: how every HTTP/2 connection starts (RFC 9113 §3.4); its first line is enough to tell
PREFACE: Final = b"PRI * HTTP/2.0\r\n"
_SETTINGS, _GOAWAY = 0x4, 0x7
_HTTP_1_1_REQUIRED = 0xD
HINT: Final = (
    "this gateway serves HTTP/1.1 only: declare its port as HTTP/1.1 "
    "(Service port name `http`, appProtocol: http; not http2, grpc or h2c)"
)
_throttle = LogThrottle(60.0)


def sniff(data: bytes) -> bool | None:
    """Whether a connection's first bytes are HTTP/2's preface: None while they are too few to
    tell (its start, which a client may send in several segments; "P" also begins "POST")."""
    if data.startswith(PREFACE):
        return True
    return None if PREFACE.startswith(data) else False


def _frame(kind: int, payload: bytes) -> bytes:
    # length (24 bits), type, no flags, stream 0, then the payload
    return struct.pack(">I", len(payload))[1:] + bytes([kind, 0]) + b"\0\0\0\0" + payload


def refusal() -> bytes:
    """Our (empty) SETTINGS, then GOAWAY: no stream processed, HTTP_1_1_REQUIRED, the hint."""
    goaway = struct.pack(">II", 0, _HTTP_1_1_REQUIRED) + HINT.encode()
    return _frame(_SETTINGS, b"") + _frame(_GOAWAY, goaway)


def refuse(transport: asyncio.Transport | None) -> None:
    """Answer the preface with the refusal, close the connection, and log it."""
    if transport is not None and not transport.is_closing():
        transport.write(refusal())
        transport.close()
    note()


def note() -> None:
    """Log the refusal, at most once a minute (a misdeclared port repeats it per connection)."""
    if n := _throttle.due():
        log.warning("refused %d HTTP/2 (h2c) connection(s): %s", n, HINT)
