"""A forward HTTP proxy on 127.0.0.1, as corporate egress proxies work: `CONNECT host:port`
opens a tunnel (for https targets), and an absolute-form request (`POST http://host/...`, for
http targets) is passed on. Bytes are relayed as they are; the proxy records the head of the
first request on each connection and every byte it relayed towards the upstreams."""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_HEAD = 64 * 1024


@dataclass
class FakeProxy:
    #: the head (request line and headers) of the first request on each client connection
    heads: list[str] = field(default_factory=list)
    #: every byte relayed from the gateway towards the upstreams (tunnels included)
    relayed: bytearray = field(default_factory=bytearray)
    port: int = 0
    _server: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeProxy:
        server = socket.create_server(("127.0.0.1", 0))
        self._server, self.port = server, server.getsockname()[1]
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            head, rest = _read_head(client)
            if head is None:
                return
            with self._lock:
                self.heads.append(head.decode("latin-1"))
            method, target, _ = head.split(b" ", 2)
            if method == b"CONNECT":
                host, _, port = target.decode().rpartition(":")
            else:
                parts = urlsplit(target.decode())
                host, port = parts.hostname or "", str(parts.port or 80)
            try:
                upstream = socket.create_connection((host, int(port)), timeout=5)
            except OSError:
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            with upstream:
                upstream.settimeout(None)
                if method == b"CONNECT":
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                else:
                    self._send(upstream, head + rest)
                back = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
                back.start()
                while data := _recv(client):
                    self._send(upstream, data)
                with contextlib.suppress(OSError):
                    upstream.shutdown(socket.SHUT_WR)
                back.join(5)

    def _send(self, upstream: socket.socket, data: bytes) -> None:
        with self._lock:
            self.relayed += data
        with contextlib.suppress(OSError):
            upstream.sendall(data)


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = _recv(sock)
        if not data or len(buf) > MAX_HEAD:
            return None, b""
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    while data := _recv(source):
        try:
            sink.sendall(data)
        except OSError:
            break
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)
