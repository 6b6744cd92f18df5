"""`POST /v1/messages`: Anthropic's Messages API on the governed chat path (`translated.py`).

Errors keep the contract's envelope, with Anthropic's `"type": "error"` beside it.
"""

from __future__ import annotations

from keeptrusts.anthropic_api.request import to_chat_request
from keeptrusts.anthropic_api.response import error_body, to_message
from keeptrusts.anthropic_api.stream import MessagesStream
from keeptrusts.anthropic_api.thinking import native_request
from keeptrusts.gateway.translated import InboundApi

MESSAGES = InboundApi(
    route="/v1/messages",
    counts=("max_tokens",),
    to_chat=to_chat_request,
    answer=to_message,
    stream=MessagesStream,
    error_body=error_body,
    native=native_request,
)
