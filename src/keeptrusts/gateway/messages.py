"""`POST /v1/messages`: Anthropic's Messages API on the governed chat path.

The request is translated to a chat request (`anthropic_api/request.py`) before anything reads
it, so identity, the policy chain, routing, fallback, limits, metrics and events are the chat
path's own, and any target serves it (OpenAI, Azure, vLLM, Anthropic...). The answer is turned
back into a Message, or into Anthropic's stream events, after the response policies and the
stream guard ran on it. Errors keep the contract's envelope, with `"type": "error"` beside it.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from keeptrusts.anthropic_api.request import to_chat_request
from keeptrusts.anthropic_api.response import error_body, to_message
from keeptrusts.anthropic_api.stream import MessagesStream
from keeptrusts.errors import GatewayError
from keeptrusts.gateway import admission, parse
from keeptrusts.gateway.handler import Handler
from keeptrusts.gateway.respond import error_response, json_response
from keeptrusts.gateway.state import GatewayState
from keeptrusts.gateway.stream_format import StreamFormat
from keeptrusts.pipeline.context import Exchange
from keeptrusts.telemetry.tracing import RequestTrace

ROUTE = "/v1/messages"


class MessagesHandler(Handler):
    def __init__(self, state: GatewayState) -> None:
        super().__init__(state, "chat", ROUTE)

    async def _exchange(
        self, request: web.Request, runtime: Any, request_id: str, trace: RequestTrace
    ) -> Exchange:
        raw = await admission.read_body(self.state, request, runtime.loaded.config.server)
        body = parse.parse_json(raw)
        model, stream = parse.check_model(body), parse.check_stream(body)
        parse.check_counts(body, ("max_tokens",))
        chat = to_chat_request(body)
        self.check(chat)
        ex = self._new_exchange(request, runtime, request_id, trace, chat, raw, model, stream)
        ex.body_dirty = True  # `raw` is the Messages request: the provider gets the chat one
        return ex

    def _reply(self, ex: Exchange, body: dict[str, Any], raw: bytes | None) -> web.Response:
        message = to_message(body, ex)
        ex.status = 200
        return json_response(message, 200, self._headers(ex))

    def stream_format(self, ex: Exchange) -> StreamFormat:
        return MessagesStream(ex)

    def _error(self, exc: GatewayError, headers: dict[str, str]) -> web.Response:
        return error_response(exc, headers, error_body(exc))
