"""Another API's endpoint served on the governed chat path: `/v1/messages`, `/v1/responses`.

The request is translated to a chat request before anything reads it, so identity, the policy
chain, routing, fallback, limits, metrics and events are the chat path's own, and any target
serves it. The answer is translated back after the response policies and the stream guard ran
on it. An `InboundApi` says how, for one API (`anthropic_api/`, `responses_api/`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from keeptrusts.errors import GatewayError
from keeptrusts.gateway import admission, parse
from keeptrusts.gateway.handler import Handler
from keeptrusts.gateway.respond import error_response
from keeptrusts.gateway.state import GatewayState
from keeptrusts.gateway.stream_format import StreamFormat
from keeptrusts.pipeline.chat import API_REQUEST, NATIVE
from keeptrusts.pipeline.context import Exchange
from keeptrusts.telemetry.tracing import RequestTrace


@dataclass(frozen=True)
class InboundApi:
    route: str
    #: token counts of the API's request that limits read: checked as exact integers
    counts: tuple[str, ...]
    #: the API's request (parsed JSON) -> the chat request; raises ValidationFailed
    to_chat: Callable[[dict[str, Any]], dict[str, Any]]
    #: the governed chat completion -> the API's answer
    answer: Callable[[dict[str, Any], Exchange], dict[str, Any]]
    #: how a governed stream is written to this API's callers
    stream: Callable[[Exchange], StreamFormat]
    #: the API's rendering of the error envelope (None: the contract's, as it is)
    error_body: Callable[[GatewayError], bytes] | None = None
    #: (the API's request, its chat request) -> its settings a chat request has no field for,
    #: which a target speaking this API is sent as they are (`ProviderCall.native`); read once
    #: per request, it may set the chat request's nearest fields (`reasoning_effort`)
    native: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]] | None = None


class TranslatingHandler(Handler):
    def __init__(self, state: GatewayState, api: InboundApi) -> None:
        super().__init__(state, "chat", api.route)
        self.api = api

    async def _exchange(
        self, request: web.Request, runtime: Any, request_id: str, trace: RequestTrace
    ) -> Exchange:
        raw = await admission.read_body(self.state, request, runtime.loaded.config.server)
        body = parse.parse_json(raw)
        model, stream = parse.check_model(body), parse.check_stream(body)
        parse.check_counts(body, self.api.counts)
        chat = self.api.to_chat(body)
        native = self.api.native(body, chat) if self.api.native is not None else None
        self.check(chat)
        parse.check_user(chat)
        ex = self._new_exchange(request, runtime, request_id, trace, chat, raw, model, stream)
        ex.scratch[API_REQUEST] = body  # settings an answer repeats (Responses' instructions)
        if native is not None:
            ex.scratch[NATIVE] = native
        return ex

    def _reply(self, ex: Exchange, body: dict[str, Any], raw: bytes | None) -> web.Response:
        return super()._reply(ex, self.api.answer(body, ex), None)  # the answer is new JSON

    def stream_format(self, ex: Exchange) -> StreamFormat:
        return self.api.stream(ex)

    def _error(self, exc: GatewayError, headers: dict[str, str]) -> web.Response:
        render = self.api.error_body
        return error_response(exc, headers, None if render is None else render(exc))
