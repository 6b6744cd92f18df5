"""How a governed stream is written to the caller: the wire format of the API it called.

The relay governs OpenAI chat chunks whatever the provider spoke; a `StreamFormat` turns each
released chunk, the end of the stream and a mid-stream error into the caller's SSE bytes.
`/v1/chat/completions` and `/v1/completions` callers get OpenAI's (`OPENAI`, chunks sent on as
they came when unchanged); `/v1/messages` callers get Anthropic's (`anthropic_api/stream.py`).
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from keeptrusts.errors import GatewayError
from keeptrusts.streaming import sse


class StreamFormat(Protocol):
    def begin(self, data: dict[str, Any]) -> bytes | None:
        """SSE bytes for what a chunk begins, as the provider sent it (before the stream
        guard held any of its text): an API whose answer has ordered parts starts them in
        the provider's order."""
        ...

    def chunk(self, data: dict[str, Any], raw: bytes | None) -> bytes | None:
        """SSE bytes for one released chunk (`raw`: its bytes as received, when unchanged)."""
        ...

    def done(self) -> bytes:
        """SSE bytes that end a stream that completed."""
        ...

    def error(self, error: GatewayError) -> bytes:
        """SSE bytes that end a stream with `error` (a block or a failure after the first
        byte)."""
        ...


class OpenAIFormat:
    """OpenAI's: `data: <chunk>` frames, then `data: [DONE]`; an error is a `data:` frame with
    the contract's envelope, then `[DONE]`."""

    __slots__ = ()

    def begin(self, data: dict[str, Any]) -> None:
        return None  # (chunks are sent in the provider's order as they are)

    def chunk(self, data: dict[str, Any], raw: bytes | None) -> bytes:
        return sse.frame(raw if raw is not None else orjson.dumps(data))

    def done(self) -> bytes:
        return sse.DONE_FRAME

    def error(self, error: GatewayError) -> bytes:
        return sse.frame(error.body()) + sse.DONE_FRAME


OPENAI = OpenAIFormat()
