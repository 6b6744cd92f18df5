"""`POST /v1/messages/count_tokens`: the Anthropic SDK's `client.messages.count_tokens(...)`.

A count is governed as the message would be up to the provider: the request is translated to
a chat request (`anthropic_api/request.py`), the caller's tenant resolved, and the request
policies run on it, so a block is the 409 the message would get and a redaction changes what
is counted (and what an Anthropic target sees). A count is a request that generates nothing: it
counts in the rate limits' requests per minute (`Policy.on_count`), never in their tokens or
parallel slots, nor in budgets. The count is the first serving target's own (an Anthropic
target's `count_tokens`), else the gateway's estimate (`limits/estimate.py`). Accounted like any
request (metrics, a decision event with no tokens, an access line).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from keeptrusts.anthropic_api.request import count_request
from keeptrusts.anthropic_api.response import error_body, to_message
from keeptrusts.anthropic_api.stream import MessagesStream
from keeptrusts.anthropic_api.thinking import native_request
from keeptrusts.gateway import dispatch
from keeptrusts.gateway.respond import raw_json_response
from keeptrusts.gateway.state import GatewayState
from keeptrusts.gateway.translated import InboundApi, TranslatingHandler
from keeptrusts.pipeline.chain import run_request
from keeptrusts.pipeline.chat import NATIVE
from keeptrusts.pipeline.context import Exchange
from keeptrusts.providers.base import ProviderCall

COUNT_TOKENS = InboundApi(
    route="/v1/messages/count_tokens",
    counts=("max_tokens",),  # (not needed, but checked when given, as the policies read it)
    to_chat=count_request,
    answer=to_message,  # (not used: the answer is a count)
    stream=MessagesStream,  # (not used: a count is never streamed)
    error_body=error_body,
    native=native_request,
)


class CountTokensHandler(TranslatingHandler):
    def __init__(self, state: GatewayState) -> None:
        super().__init__(state, COUNT_TOKENS)

    async def _serve(self, request: web.Request, ex: Exchange) -> web.StreamResponse:
        ex.stream = False
        if ex.runtime.enabled:
            await run_request(ex, spends=False)
        call = ProviderCall(
            "chat", ex.body, False, {"x-request-id": ex.request_id}, native=ex.scratch[NATIVE]
        )
        count = await dispatch.count_tokens(ex, call)
        ex.status = 200
        answer: dict[str, Any] = {"input_tokens": count}
        return raw_json_response(orjson.dumps(answer), 200, self._headers(ex))
