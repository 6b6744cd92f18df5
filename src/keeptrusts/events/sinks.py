"""Sinks deliver one batch of serialized events and say what became of it. Nothing more:
batching, retries, spooling and ordering live in `pipeline.py`.

`ApiSink` is the remote sink (the control-plane API); `StdoutSink` and `FileSink` are local
JSON-lines sinks whose `write` is blocking and runs on the pipeline's I/O thread.
"""

from __future__ import annotations

import enum
import logging
import sys
from dataclasses import dataclass
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

import aiohttp
import orjson

log = logging.getLogger("keeptrusts.events")

#: The control plane's reply is a few dozen bytes; read no more than this of any answer.
MAX_REPLY_BYTES = 65536

#: Answers that say the batch's content is bad: not JSON (400), too large (413), or an event
#: the API cannot store (422). Sending the same batch again cannot succeed. Any other answer
#: (5xx; 401/403 a token; 404, 405 a wrong URL; 408, 409, 425, 429 later; a redirect) says
#: nothing about the events and counts as an outage, so the batch is kept and retried.
REFUSAL_STATUSES = frozenset({400, 413, 422})


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    #: the API answered that the content is bad: the same batch will never be taken
    REFUSED = "refused"
    #: no answer, or one that says nothing about the content (an outage): try again later
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one batch, and the HTTP status if the API answered."""

    outcome: Outcome
    status: int | None = None


DELIVERED = Delivery(Outcome.DELIVERED)
FAILED = Delivery(Outcome.FAILED)


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
    """`POST {api_url}/v1/events` with `{"events": [...]}` and the gateway's bearer token.

    A batch counts as delivered only when the control plane itself answers: a 2xx whose body is
    JSON `{"accepted": <the batch size>, ...}` (`controlplane/app.py`). Redirects are not
    followed (a proxy redirecting to a login page would turn the POST into a GET that "succeeds"),
    so a 3xx, or a 2xx with any other body, is a failed delivery: spooled and retried. A 400,
    413 or 422 is a refusal of the batch's content (`REFUSAL_STATUSES`): the pipeline splits the
    batch to find the events the API refuses.
    """

    name = "api"

    def __init__(self, api_url: str, token: str | None, timeout: float = 5.0) -> None:
        self.url = api_url.rstrip("/") + "/v1/events"
        self._headers = {"Content-Type": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=min(timeout, 2.0))
        self._session: aiohttp.ClientSession | None = None
        self._warned: set[str] = set()

    async def deliver(self, batch: list[bytes]) -> Delivery:
        body = b'{"events":[' + b",".join(batch) + b"]}"
        try:
            async with self._client().post(
                self.url, data=body, headers=self._headers, allow_redirects=False
            ) as resp:
                reply = await read_capped(resp.content, MAX_REPLY_BYTES)
                if 200 <= resp.status < 300:
                    ok = self._acknowledged(reply, len(batch), resp.status)
                    return DELIVERED if ok else FAILED
                if resp.status in REFUSAL_STATUSES:
                    log.debug(
                        "control-plane API %s refused a batch of %d events: HTTP %d",
                        self.url,
                        len(batch),
                        resp.status,
                    )
                    return Delivery(Outcome.REFUSED, resp.status)
                self._report(resp.status, resp.headers.get("Location"))
                return FAILED
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.debug("event delivery to %s failed: %r", self.url, exc)
            return FAILED

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=4, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    def _acknowledged(self, reply: bytes, sent: int, status: int) -> bool:
        accepted = accepted_count(reply)
        if accepted == sent:
            return True
        self._warn_once(
            "reply",
            "control-plane API %s answered HTTP %d without the expected acknowledgement "
            '({"accepted": %d}; got %s); events are spooled and retried. Is '
            "KEEPTRUSTS_API_URL the control plane, not a proxy or login page?",
            self.url,
            status,
            sent,
            "a JSON reply" if accepted is not None else "no JSON reply",
        )
        return False

    def _report(self, status: int, location: str | None) -> None:
        if 300 <= status < 400:
            self._warn_once(
                "redirect",
                "control-plane API %s answered a redirect (HTTP %d to host %s); redirects are "
                "not followed, events are spooled and retried. Point KEEPTRUSTS_API_URL at the "
                "API itself",
                self.url,
                status,
                location_host(location),
            )
        elif status in (401, 403):
            self._warn_once(
                "auth",
                "control-plane API %s refused the gateway token (HTTP %d); events are spooled "
                "until KEEPTRUSTS_GATEWAY_TOKEN is accepted",
                self.url,
                status,
            )
        else:
            log.debug("event delivery to %s: HTTP %d", self.url, status)

    def _warn_once(self, kind: str, msg: str, *args: object) -> None:
        """An error the first time, debug afterwards: a misconfiguration retried every few
        seconds must not flood the log (the spool depth metric keeps growing instead)."""
        level = logging.DEBUG if kind in self._warned else logging.ERROR
        self._warned.add(kind)
        log.log(level, msg, *args)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def read_capped(stream: aiohttp.StreamReader, limit: int) -> bytes:
    """The body up to `limit` bytes (a reply may arrive in several reads)."""
    data = b""
    while len(data) < limit:
        chunk = await stream.read(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data


def accepted_count(reply: bytes) -> int | None:
    """`accepted` from the control plane's `{"accepted": n, "inserted": k}`, else None."""
    try:
        doc = orjson.loads(reply)
    except orjson.JSONDecodeError:
        return None
    accepted = doc.get("accepted") if isinstance(doc, dict) else None
    return accepted if type(accepted) is int else None


def location_host(location: str | None) -> str:
    """Only the host of a redirect target: its path or query may carry tokens."""
    if not location:
        return "(none)"
    return urlsplit(location).hostname or "(same host)"
