"""What a provider adapter is: its call, its chunks, and how it posts and reads.

An adapter speaks one upstream wire format. It receives the (governed) request in OpenAI
shape and returns OpenAI-shaped JSON or OpenAI-shaped stream chunks, so policies and the
handler only ever see one format. Failures become `UpstreamError` (`failures.py`) with a `kind`
the fallback rules understand (connect_error, timeout, 5xx, 429) or a non-retryable one (4xx,
protocol). A connection that drops mid-answer is a `connect_error`, as one reset before the
headers.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from keeptrusts import __version__
from keeptrusts.config.targets import Target
from keeptrusts.providers.client import UpstreamClient, closed_unanswered
from keeptrusts.providers.egress import egress_proxy
from keeptrusts.providers.failures import UpstreamError, transport_failure
from keeptrusts.streaming.sse import SseError

#: the status of an overloaded provider: Anthropic's 529 (`overloaded_error`), a 503 to clients
OVERLOADED = 529
#: sent to every provider unless a target sets its own `User-Agent` in `headers`
USER_AGENT = f"keeptrusts-gateway/{__version__}"


@dataclass(slots=True)
class ProviderCall:
    """One attempt's input: the governed body plus the headers to propagate."""

    #: (the body is always sent re-encoded, never as the client's bytes: those could hold what
    #: the policies never read, e.g. the first of two duplicate keys, which JSON parsers differ on)
    endpoint: str
    body: dict[str, Any]
    stream: bool
    headers: dict[str, str] = field(default_factory=dict)
    #: the provider's JSON answer as received, when it is already in OpenAI shape (the
    #: handler sends these bytes on when no response policy changed the body)
    response_raw: bytes | None = None
    #: settings of the caller's own API that a chat request has no field for (a
    #: `/v1/messages` request's `thinking`, `top_k`, `effort`: `anthropic_api/thinking.py`):
    #: a target speaking that API sends them as they are; an `openai-compatible` one sends
    #: `top_k` (`OpenAIProvider.native_fields`); other kinds have no use for them
    native: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Chunk:
    """One streamed event in OpenAI chunk shape; `raw` is its JSON when unchanged upstream bytes."""

    data: dict[str, Any]
    raw: bytes | None = None
    #: the next chunk has already arrived (same network read): writing may wait for it
    more: bool = False
    #: the provider's count of the prompt, known before the answer's end (Anthropic's
    #: `message_start`), as an OpenAI `usage`: for callers told it at the start
    prompt_usage: dict[str, Any] | None = None


class UpstreamStream:
    """An opened stream: iterate chunks; `close()` releases (or aborts) the connection."""

    def __init__(self, chunks: AsyncIterator[Chunk], response: aiohttp.ClientResponse | None):
        self._chunks = chunks
        self._response = response

    def __aiter__(self) -> AsyncIterator[Chunk]:
        return self._chunks

    def close(self) -> None:
        if self._response is not None:
            self._response.close()

    async def aclose(self) -> None:
        """Finish the chunk iterator here (an async generator left to the garbage collector
        is closed by an extra task of the event loop), then release the connection."""
        aclose = getattr(self._chunks, "aclose", None)
        if aclose is not None:
            await aclose()
        self.close()


class Provider:
    """Base adapter. Subclasses implement `complete` and `open_stream`."""

    def __init__(self, target: Target, session: UpstreamClient, api_key: str | None):
        self.target = target
        self.id = target.id
        self.session = session
        self.api_key = api_key
        self.proxy = egress_proxy(self.base_url, target.proxy) if self.remote else None
        t = target.timeouts
        # `connect` bounds the whole of making a connection (resolving the host name, TCP,
        # TLS, a proxy's CONNECT); `sock_connect` alone bounds each address tried, so a
        # resolver that never answered held the request until `total`
        self.timeout = aiohttp.ClientTimeout(
            total=t.total, connect=t.connect, sock_connect=t.connect, sock_read=t.first_byte
        )

    def base_headers(self, defaults: dict[str, str]) -> dict[str, str]:
        """Headers for every call: our User-Agent, `defaults`, then the target's `headers`
        (names lower-cased, so a target's `User-Agent` or `Content-Type` replaces ours in this
        dict and in the per-call merge with trace headers). Sending a User-Agent of our own
        also spares aiohttp a per-request header merge (a session-wide skip list)."""
        out = {"user-agent": USER_AGENT, **defaults}
        out.update((name.lower(), value) for name, value in self.target.headers.items())
        return out

    #: the `gen_ai.system` value for traces
    system = "openai"
    #: whether the adapter calls a provider over HTTP (the built-in `echo` does not)
    remote = True
    #: where requests go when the target sets no `base_url` (its proxy is chosen by it)
    default_base = "https://api.openai.com/v1"

    @property
    def base_url(self) -> str:
        return self.target.base_url or self.default_base

    #: the `ProviderCall.endpoint`s this kind serves (the router skips it for the others)
    endpoints: frozenset[str] = frozenset({"chat", "completions", "embeddings"})

    def unserved(self, call: ProviderCall) -> str | None:
        """What of `call` this kind cannot serve (its endpoint aside), or None: the router
        then skips it for targets that can (only kinds with fewer `endpoints` are asked)."""
        return None

    def upstream_model(self, requested: str) -> str:
        return self.target.model or requested

    async def complete(self, call: ProviderCall) -> dict[str, Any]:
        raise NotImplementedError

    async def open_stream(self, call: ProviderCall) -> UpstreamStream:
        raise NotImplementedError

    async def count_tokens(self, call: ProviderCall) -> int | None:
        """The provider's own count of a chat request's prompt tokens, or None when its API
        has no count (the gateway estimates)."""
        return None

    async def probe(self) -> bool | None:
        """Reachability for /health: True, False, or None when unknown."""
        return None

    async def post(self, url: str, data: bytes, headers: dict[str, str]) -> aiohttp.ClientResponse:
        """POST to the provider; transport failures and error statuses become UpstreamError."""
        from keeptrusts.providers.http import raise_for_status

        try:
            resp = await self._send(self.session.pooled, url, data, headers)
        except Exception as exc:
            if not closed_unanswered(exc):
                raise self.fail(exc) from exc
            # the provider closed the kept-alive connection as the request went out (its idle
            # timeout): nothing of an answer began, so once more, on a new connection
            try:
                resp = await self._send(self.session.fresh, url, data, headers)
            except Exception as again:
                raise self.fail(again) from again
        try:
            await raise_for_status(resp, self.id)
        except BaseException:
            resp.release()
            raise
        return resp

    async def _send(
        self, session: aiohttp.ClientSession, url: str, data: bytes, headers: dict[str, str]
    ) -> aiohttp.ClientResponse:
        # (a redirect is reported, not followed: aiohttp would send the key headers to any
        # host it names, and a 301 or 302 would turn the POST into a GET)
        return await session.post(
            url,
            data=data,
            headers=headers,
            timeout=self.timeout,
            allow_redirects=False,
            proxy=self.proxy,
        )

    async def read_json(
        self, resp: aiohttp.ClientResponse, keep_raw: ProviderCall | None = None
    ) -> dict[str, Any]:
        """The whole JSON body of a successful response, released afterwards; with `keep_raw`,
        its bytes are kept in that call's `response_raw`."""
        from keeptrusts.providers.http import read_json

        try:
            data, raw = await read_json(resp, self.id)
            if keep_raw is not None:
                keep_raw.response_raw = raw
            return data
        except UpstreamError:
            raise
        except Exception as exc:
            raise self.fail(exc) from exc
        finally:
            resp.release()

    @contextlib.contextmanager
    def reading(self, resp: aiohttp.ClientResponse) -> Iterator[None]:
        """Around reading a provider's stream: whatever fails becomes an UpstreamError naming
        this target (an unreadable event stream a protocol error), and the response is
        released however the reading ends."""
        try:
            yield
        except UpstreamError:
            raise
        except SseError as exc:
            raise UpstreamError("protocol", f"target {self.id!r}: {exc}", target=self.id) from exc
        except Exception as exc:
            raise self.fail(exc) from exc
        finally:
            resp.release()

    def fail(self, exc: BaseException) -> UpstreamError:
        """Map a transport exception to an UpstreamError naming this target."""
        return transport_failure(exc, self.target)


def api_root(url: str, root_path: str) -> tuple[str, str]:
    """Where a target's requests go: (the URL endpoint paths are appended to, the query
    string written in it, `?team=7`, to send after every request's path). A URL with no path
    (`https://api.openai.com`, as the public docs write it) gets `root_path`; trailing slashes
    do not matter."""
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return (base if parts.path.strip("/") else base + root_path), parts.query
