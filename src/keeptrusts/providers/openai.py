"""OpenAI and OpenAI-compatible servers (vLLM, Ollama, LM Studio...): the request passes as is."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from keeptrusts.encode import request_json
from keeptrusts.providers.answer import check_answer
from keeptrusts.providers.base import Chunk, Provider, ProviderCall, UpstreamStream, api_root
from keeptrusts.providers.failures import UpstreamError
from keeptrusts.providers.http import stream_event
from keeptrusts.providers.thinking_blocks import without_thinking_blocks
from keeptrusts.streaming import sse

PATHS = {"chat": "/chat/completions", "completions": "/completions", "embeddings": "/embeddings"}


class OpenAIProvider(Provider):
    system = "openai"
    default_base = "https://api.openai.com/v1"
    #: appended to a base_url with no path (`https://api.openai.com`, as the public docs
    #: write it: OpenAI serves its API under `/v1` only); other kinds take theirs as it is
    root_path = "/v1"
    #: a caller's native settings (`ProviderCall.native`) this kind takes as chat request
    #: fields: none for OpenAI and Azure, which refuse unknown ones (`top_k`)
    native_fields: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base, self.query = api_root(self.base_url, self.root_path)
        self.static_headers = self.base_headers({"content-type": "application/json"})
        self.static_headers.update(self.auth_headers())

    def auth_headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def url(self, call: ProviderCall) -> str:
        return self.base + PATHS[call.endpoint] + (f"?{self.query}" if self.query else "")

    def payload(self, call: ProviderCall) -> bytes:
        body = without_thinking_blocks(call.body) if call.endpoint == "chat" else call.body
        if self.target.model is not None:
            body = {**body, "model": self.target.model}
        if call.native and self.native_fields:
            extra = {k: call.native[k] for k in self.native_fields if k in call.native}
            if extra:
                body = {**body, **extra}
        return request_json(body)

    async def _post(self, call: ProviderCall) -> aiohttp.ClientResponse:
        headers = {**self.static_headers, **call.headers}
        try:
            return await self.post(self.url(call), self.payload(call), headers)
        except UpstreamError as exc:
            if (
                "thinking" in call.native
                and exc.status == 400
                and "reasoning_effort" in exc.message
            ):
                # the caller never wrote `reasoning_effort`: say where it came from
                exc.add_hint(
                    "'reasoning_effort' stands for the request's 'thinking' "
                    "(/v1/messages): this model does not take it, leave thinking off for it"
                )
            elif "top_k" in call.native and exc.status == 400 and "top_k" in exc.message:
                exc.add_hint("this server does not take 'top_k': leave it out of the request")
            raise

    async def complete(self, call: ProviderCall) -> dict[str, Any]:
        body = await self.read_json(await self._post(call), keep_raw=call)
        check_answer(call.endpoint, body, self.id)
        return body

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
        ends = _Ends()
        with self.reading(resp):
            async for _name, data, more in sse.events(resp.content):
                if data == sse.DONE:
                    return
                event = self._event(data)
                ends.note(event)
                yield Chunk(event, data, more)
            if not ends.finished():  # the body ended early: a cut, not an answer
                raise UpstreamError(
                    "protocol",
                    f"target {self.id!r} ended the stream before it finished "
                    f"({ends.missing()}, no [DONE])",
                    target=self.id,
                )

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


class _Ends:
    """Which choices a stream opened and which it finished: without `[DONE]`, a stream is
    complete only once every choice it sent (n > 1 sends several) has its finish_reason; a
    usage chunk after them changes nothing. Per chunk this costs a set insert per choice."""

    __slots__ = ("done", "seen")

    def __init__(self) -> None:
        self.seen: set[Any] = set()
        self.done: set[Any] = set()

    def note(self, event: dict[str, Any]) -> None:
        choices = event.get("choices")
        if not isinstance(choices, list):
            return
        for c in choices:
            if isinstance(c, dict):
                i = c.get("index", 0)
                if not isinstance(i, int):  # (unhashable ones too; the guard judges the rest)
                    i = repr(i)
                self.seen.add(i)
                if c.get("finish_reason"):  # (some servers send "" on every chunk)
                    self.done.add(i)

    def finished(self) -> bool:
        return bool(self.done) and self.seen <= self.done

    def missing(self) -> str:
        if not self.done:
            return "no finish_reason"
        left = ", ".join(str(i) for i in sorted(self.seen - self.done, key=str))
        return f"no finish_reason for choice {left}"


class OpenAICompatibleProvider(OpenAIProvider):
    """vLLM, Ollama, LM Studio, and anything else that speaks the OpenAI API. A `/v1/messages`
    caller's `top_k` is sent on: vLLM, SGLang, llama.cpp and LM Studio sample with it (an extra
    chat parameter there), Ollama ignores it; a server that refuses it says so in its 400."""

    system = "openai_compatible"
    default_base = "http://127.0.0.1:8000/v1"
    root_path = ""
    native_fields = ("top_k",)
