"""`POST /v1/responses`: OpenAI's Responses API on the governed chat path (`translated.py`).

Errors are the contract's envelope, as on the chat endpoints (OpenAI's SDK reads it as is).
"""

from __future__ import annotations

from keeptrusts.gateway.translated import InboundApi
from keeptrusts.responses_api.request import to_chat_request
from keeptrusts.responses_api.response import to_response
from keeptrusts.responses_api.stream import ResponsesStream

RESPONSES = InboundApi(
    route="/v1/responses",
    counts=("max_output_tokens",),
    to_chat=to_chat_request,
    answer=to_response,
    stream=ResponsesStream,
)
