"""Sinks deliver one batch of serialized events and say whether it arrived. Nothing more:
batching, retries, spooling and ordering live in `pipeline.py`.

`ApiSink` is the remote sink (the control-plane API); `StdoutSink` and `FileSink` are local
JSON-lines sinks whose `write` is blocking and runs on the pipeline's I/O thread.
"""

from __future__ import annotations

import logging
import sys
from typing import BinaryIO, Protocol

import aiohttp

log = logging.getLogger("keeptrusts.events")


class LocalSink(Protocol):
    name: str

    def write(self, batch: list[bytes]) -> None: ...

    def close(self) -> None: ...


class StdoutSink:
    """JSON lines on standard output."""

    name = "stdout"

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._out = stream if stream is not None else sys.stdout.buffer

    def write(self, batch: list[bytes]) -> None:
        self._out.write(b"".join(body + b"\n" for body in batch))
        self._out.flush()

    def close(self) -> None:
        self._out.flush()


class FileSink:
    """JSON lines appended to a file (opened on first write, kept open)."""

    name = "file"

    def __init__(self, path: str) -> None:
        self.path = path
        self._f: BinaryIO | None = None

    def write(self, batch: list[bytes]) -> None:
        if self._f is None:
            self._f = open(self.path, "ab")  # noqa: SIM115 - kept open across batches
        self._f.write(b"".join(body + b"\n" for body in batch))
        self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


class ApiSink:
    """`POST {api_url}/v1/events` with `{"events": [...]}` and the gateway's bearer token."""

    name = "api"

    def __init__(self, api_url: str, token: str | None, timeout: float = 5.0) -> None:
        self.url = api_url.rstrip("/") + "/v1/events"
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 2.0))
        self._session: aiohttp.ClientSession | None = None
        self._warned_auth = False

    async def deliver(self, batch: list[bytes]) -> bool:
        body = b'{"events":[' + b",".join(batch) + b"]}"
        try:
            async with self._client().post(self.url, data=body, headers=self._headers) as resp:
                await resp.read()
                if 200 <= resp.status < 300:
                    return True
                self._report(resp.status)
                return False
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.debug("event delivery to %s failed: %r", self.url, exc)
            return False

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=4, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    def _report(self, status: int) -> None:
        if status in (401, 403) and not self._warned_auth:
            self._warned_auth = True
            log.error(
                "control-plane API %s refused the gateway token (HTTP %d); events are spooled "
                "until KEEPTRUSTS_GATEWAY_TOKEN is accepted",
                self.url,
                status,
            )
        else:
            log.debug("event delivery to %s: HTTP %d", self.url, status)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
