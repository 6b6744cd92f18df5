"""A small, bounded server-sent-events reader and the writer helpers we use on the way out."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

#: an SSE event larger than this is a protocol error (a provider chunk is a few KB at most)
MAX_EVENT_BYTES = 1024 * 1024

DONE = b"[DONE]"


class SseError(Exception):
    pass


async def events(content: aiohttp.StreamReader) -> AsyncIterator[tuple[str | None, bytes]]:
    """Yield `(event_name, data)` per SSE event. Multi-line data is joined with newlines."""
    name: str | None = None
    data: list[bytes] = []
    size = 0
    while True:
        line = await content.readline()
        if not line:
            if data:
                yield name, b"\n".join(data)
            return
        line = line.rstrip(b"\r\n")
        if not line:
            if data:
                yield name, b"\n".join(data)
            name, data, size = None, [], 0
            continue
        if line.startswith(b":"):
            continue
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            size += len(value)
            if size > MAX_EVENT_BYTES:
                raise SseError("upstream SSE event exceeds 1 MiB")
            data.append(value)
        elif field == b"event":
            name = value.decode("utf-8", "replace")


def frame(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


DONE_FRAME = frame(DONE)
