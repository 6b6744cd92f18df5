"""OpenAI and OpenAI-compatible servers (vLLM, Ollama, LM Studio...): the request passes as is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from keeptrusts.encode import request_json
from keeptrusts.providers.base import Chunk, Provider, ProviderCall, UpstreamError, UpstreamStream
from keeptrusts.providers.http import stream_event
from keeptrusts.streaming import sse

PATHS = {"chat": "/chat/completions", "completions": "/completions", "embeddings": "/embeddings"}


class OpenAIProvider(Provider):
    system = "openai"
    default_base = "https://api.openai.com/v1"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = (self.target.base_url or self.default_base).rstrip("/")
        self.static_headers = self.base_headers({"content-type": "application/json"})
        self.static_headers.update(self.auth_headers())

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def url(self, call: ProviderCall) -> str:
        return self.base + PATHS[call.endpoint]

    def payload(self, call: ProviderCall) -> bytes:
        if call.raw is not None and self.target.model is None:
            return call.raw
        body = call.body
        if self.target.model is not None:
            body = {**body, "model": self.target.model}
        return request_json(body)

    async def _post(self, call: ProviderCall) -> aiohttp.ClientResponse:
        headers = {**self.static_headers, **call.headers}
        return await self.post(self.url(call), self.payload(call), headers)

    async def complete(self, call: ProviderCall) -> dict[str, Any]:
        return await self.read_json(await self._post(call), keep_raw=call)

    async def open_stream(self, call: ProviderCall) -> UpstreamStream:
        resp = await self._post(call)
        if resp.content_type == "application/json":
            resp.close()
            raise UpstreamError(
                "protocol",
                f"target {self.id!r} answered a stream request with JSON, not an event stream",
                target=self.id,
            )
        return UpstreamStream(self._chunks(resp), resp)

    async def _chunks(self, resp: aiohttp.ClientResponse) -> AsyncIterator[Chunk]:
        last: dict[str, Any] | None = None
        try:
            async for _name, data, more in sse.events(resp.content):
                if data == sse.DONE:
                    return
                last = self._event(data)
                yield Chunk(last, data, more)
            if not _finished(last):  # the body ended early: a cut, not an answer
                raise UpstreamError(
                    "protocol",
                    f"target {self.id!r} ended the stream before it finished "
                    "(no finish_reason, no [DONE])",
                    target=self.id,
                )
        except UpstreamError:
            raise
        except sse.SseError as exc:
            raise UpstreamError("protocol", f"target {self.id!r}: {exc}", target=self.id) from exc
        except Exception as exc:
            raise self.fail(exc) from exc
        finally:
            resp.release()

    def _event(self, data: bytes) -> dict[str, Any]:
        """One streamed event's JSON object; anything else is the provider's error."""
        parsed = stream_event(data, self.id)
        if not isinstance(parsed, dict):  # (skipping it could stall a held chunk)
            raise UpstreamError(
                "protocol", f"target {self.id!r} streamed a non-object event", target=self.id
            )
        if parsed.get("error"):  # alone, or beside choices: the provider's error either way
            raise UpstreamError(
                "5xx", f"target {self.id!r} reported an error mid-stream", target=self.id
            )
        return parsed

    async def probe(self) -> bool | None:
        return None


def _finished(last: dict[str, Any] | None) -> bool:
    """A stream whose last event closed it: a finish_reason, or the usage chunk after it."""
    if last is None:
        return False
    if last.get("usage"):
        return True
    choices = last.get("choices")
    return isinstance(choices, list) and any(
        isinstance(c, dict) and c.get("finish_reason") for c in choices
    )


class OpenAICompatibleProvider(OpenAIProvider):
    """vLLM, Ollama, LM Studio, and anything else that speaks the OpenAI API."""

    system = "openai_compatible"
    default_base = "http://127.0.0.1:8000/v1"
