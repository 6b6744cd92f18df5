"""Anthropic: OpenAI chat completions translated to and from the Messages API (JSON and SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from keeptrusts.encode import request_json
from keeptrusts.errors import ValidationFailed
from keeptrusts.providers import anthropic_translate as tr
from keeptrusts.providers import base
from keeptrusts.providers.anthropic_stream import ChunkTranslator
from keeptrusts.providers.anthropic_tools import custom_names, unserved_tool
from keeptrusts.providers.base import Chunk, Provider, ProviderCall, UpstreamStream, api_root
from keeptrusts.providers.failures import UpstreamError
from keeptrusts.providers.http import stream_event
from keeptrusts.streaming import sse

DEFAULT_BASE = "https://api.anthropic.com/v1"
#: Anthropic's highest temperature (OpenAI's is 2)
MAX_TEMPERATURE = 1
#: what the gateway adds to Anthropic's 400 for `temperature` beside `top_p`
SAMPLING_HINT = "this model takes temperature or top_p, not both"
#: the fields of a Messages request that `count_tokens` takes (it refuses the others)
COUNTED = frozenset(
    {"model", "messages", "system", "tools", "tool_choice", "output_config", "thinking"}
)


def _add_sampling_hint(exc: UpstreamError, request: dict[str, Any]) -> None:
    """Anthropic's 400 for `temperature` with `top_p` (its newer models take one of them):
    passed on (dropping one would change the sampling asked for), saying what to send."""
    both = request.get("temperature") is not None and request.get("top_p") is not None
    if both and exc.status == 400 and "top_p" in exc.message:
        exc.add_hint(f"{SAMPLING_HINT}: remove 'top_p' (or 'temperature') from the request")


class AnthropicProvider(Provider):
    system = "anthropic"
    endpoints = frozenset({"chat"})
    default_base = DEFAULT_BASE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a base_url with no path is the API's host (as the Anthropic SDK and the public docs
        # write it: `https://api.anthropic.com`), whose Messages API is under `/v1`
        base, query = api_root(self.base_url, "/v1")
        suffix = f"?{query}" if query else ""  # a query written in base_url goes last
        self.messages_url = f"{base}/messages{suffix}"
        self.count_url = f"{base}/messages/count_tokens{suffix}"
        self.headers = self.base_headers(
            {"content-type": "application/json", "anthropic-version": self.target.anthropic_version}
        )
        if self.api_key:
            self.headers["x-api-key"] = self.api_key

    def unserved(self, call: ProviderCall) -> str | None:
        """What the Messages API cannot honour: `n > 1` (a Messages answer has one choice),
        a temperature above Anthropic's 1 (its 400 would come back), a grammar tool, legacy
        `functions` (their callers read `function_call`, which the adapter does not write),
        `logprobs` (Anthropic returns none)."""
        body = call.body
        n = body.get("n")
        if isinstance(n, int) and not isinstance(n, bool) and n > 1:
            return "n > 1 (Anthropic's Messages API answers one choice)"
        t = body.get("temperature")
        if isinstance(t, int | float) and not isinstance(t, bool) and t > MAX_TEMPERATURE:
            return f"temperature {t:g} (Anthropic accepts 0 to {MAX_TEMPERATURE})"
        if body.get("functions"):
            return "legacy 'functions' (declare them as 'tools')"
        if body.get("logprobs") is True:  # (answering `logprobs: null` would break readers)
            return "logprobs (Anthropic's Messages API returns none)"
        return unserved_tool(body)

    async def _post(self, call: ProviderCall) -> aiohttp.ClientResponse:
        if call.endpoint != "chat":
            raise ValidationFailed(
                f"target {self.id!r} (anthropic) serves only /v1/chat/completions",
                code="invalid_request",
            )
        if (what := self.unserved(call)) is not None:
            raise ValidationFailed(
                f"target {self.id!r} (anthropic) cannot serve {what}", code="invalid_request"
            )
        request = self._translated(call)
        payload = request_json(request)
        try:
            return await self.post(self.messages_url, payload, {**self.headers, **call.headers})
        except UpstreamError as exc:
            _add_sampling_hint(exc, request)
            raise

    def _translated(self, call: ProviderCall) -> dict[str, Any]:
        model = self.upstream_model(str(call.body.get("model", "")))
        try:
            return tr.to_messages_request(call.body, model, call.stream, call.native)
        except (TypeError, AttributeError, ValueError) as exc:  # a shape validation let through
            raise ValidationFailed(
                f"the request cannot be translated for target {self.id!r} (anthropic): a field "
                "has an unexpected type; check messages, tools and stop against the OpenAI API",
                code="invalid_request",
            ) from exc

    async def count_tokens(self, call: ProviderCall) -> int | None:
        """Anthropic's `POST /messages/count_tokens`, with the fields it takes."""
        request = self._translated(call)
        payload = request_json({k: v for k, v in request.items() if k in COUNTED})
        url = self.count_url
        answer = await self.read_json(
            await self.post(url, payload, {**self.headers, **call.headers})
        )
        count = answer.get("input_tokens")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise UpstreamError(
                "protocol",
                f"target {self.id!r} answered a token count without 'input_tokens'",
                target=self.id,
            )
        return count

    async def complete(self, call: ProviderCall) -> dict[str, Any]:
        msg = await self.read_json(await self._post(call))
        blocks = msg.get("content")
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise self._not_a_message()
        try:
            return tr.to_chat_completion(
                msg, str(call.body.get("model", "")), custom_names(call.body)
            )
        except (TypeError, AttributeError, ValueError) as exc:  # a field of another type
            raise self._not_a_message() from exc

    def _stream_error(self, err: Any) -> UpstreamError:
        """Anthropic's `error` event: a failure of the provider's (an `overloaded_error` is
        its 529, for now; the others its 500)."""
        kind = err.get("type") if isinstance(err, dict) else None
        kind = kind if isinstance(kind, str) else "an error"
        return UpstreamError(
            "5xx",
            f"target {self.id!r} reported {kind[:40]} mid-stream",
            status=base.OVERLOADED if kind == "overloaded_error" else 500,
            target=self.id,
        )

    def _not_a_message(self) -> UpstreamError:
        return UpstreamError(
            "protocol",
            f"target {self.id!r} answered 200 with something that is not a Messages answer",
            target=self.id,
        )

    async def open_stream(self, call: ProviderCall) -> UpstreamStream:
        resp = await self._post(call)
        translator = ChunkTranslator(str(call.body.get("model", "")), custom_names(call.body))
        return UpstreamStream(self._chunks(resp, translator), resp)

    async def _chunks(
        self, resp: aiohttp.ClientResponse, translator: ChunkTranslator
    ) -> AsyncIterator[Chunk]:
        with self.reading(resp):
            async for _name, data, _more in sse.events(resp.content):
                event = stream_event(data, self.id)
                if not isinstance(event, dict):
                    continue
                if event.get("type") == "error":
                    raise self._stream_error(event.get("error"))
                for chunk in translator.feed(event):
                    yield Chunk(chunk, prompt_usage=translator.take_prompt_usage())
                if event.get("type") == "message_stop":
                    return
            if not translator.finished:
                raise UpstreamError(
                    "protocol",
                    f"target {self.id!r} ended the stream before it finished (no message_stop)",
                    target=self.id,
                )
