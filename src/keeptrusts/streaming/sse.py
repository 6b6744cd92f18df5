"""A small, bounded server-sent-events reader and the writer helpers we use on the way out."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import NamedTuple

import aiohttp

#: an SSE event larger than this is a protocol error (a provider chunk is a few KB at most)
MAX_EVENT_BYTES = 1024 * 1024

DONE = b"[DONE]"


class SseError(Exception):
    pass


class Event(NamedTuple):
    name: str | None
    data: bytes
    #: another complete event arrived in the same read: the relay may write both at once
    more: bool


def events(content: aiohttp.StreamReader) -> AsyncIterator[Event]:
    """Each SSE event (multi-line data joined with newlines) as its last line arrives."""
    return EventReader(content)


class EventReader:
    """The events of a body, read in the blocks the network delivers.

    A class, not an async generator: a caller that stops early (at `[DONE]`, on a block) simply
    drops it. An async generator dropped unfinished is handed to the event loop's finalizer,
    which costs a cross-thread wake-up and an extra task to close it — once per stream.
    """

    __slots__ = ("_content", "_ended", "_error", "_parser", "_ready")

    def __init__(self, content: aiohttp.StreamReader) -> None:
        self._content = content
        self._parser = SseParser()
        self._ready: deque[Event] = deque()
        self._error: SseError | None = None
        self._ended = False

    def __aiter__(self) -> EventReader:
        return self

    async def __anext__(self) -> Event:
        ready = self._ready
        while not ready:
            if self._error is not None:
                raise self._error
            if self._ended:
                raise StopAsyncIteration
            block = await self._content.readany()
            try:
                ready.extend(self._parser.take(block))
            except SseError as exc:  # the events before it still go out first
                self._error = exc
            self._ended = not block
        return ready.popleft()


class SseParser:
    """Lines to events; an unfinished line or event is bounded by MAX_EVENT_BYTES."""

    def __init__(self) -> None:
        self.buf = b""
        self.pos = 0
        self.name: str | None = None
        self.data: list[bytes] = []
        self.size = 0

    def take(self, block: bytes) -> Iterator[Event]:
        """The events one network block completes (`b""`: the end of the body, every event
        left). The body is read in the blocks the network delivers and split here; each event
        says whether the next one came with it (parsed one event ahead, so a comment or a
        partial event after it never counts)."""
        if not block:
            for name, data in self.finish():
                yield Event(name, data, False)
            return
        self.push(block)
        event = self.next_event()
        while event is not None:
            following = self.next_event()
            yield Event(event[0], event[1], following is not None)
            event = following

    def push(self, block: bytes) -> None:
        self.buf = self.buf[self.pos :] + block if self.pos < len(self.buf) else block
        self.pos = 0

    def next_event(self) -> tuple[str | None, bytes] | None:
        """The next complete event in what was pushed, or None until more arrives."""
        buf = self.buf
        while True:
            nl = buf.find(b"\n", self.pos)
            if nl < 0:
                if len(buf) - self.pos > MAX_EVENT_BYTES:
                    raise SseError("upstream SSE event exceeds 1 MiB")
                return None
            line = buf[self.pos : nl]
            self.pos = nl + 1
            event = self._line(line)
            if event is not None:
                return event

    def finish(self) -> list[tuple[str | None, bytes]]:
        """The end of the body: every event left, the last one even without its blank line."""
        out: list[tuple[str | None, bytes]] = []
        while (event := self.next_event()) is not None:
            out.append(event)
        tail = self.buf[self.pos :]
        self.buf, self.pos = b"", 0
        if tail:
            event = self._line(tail)
            if event is not None:
                out.append(event)
        if self.data:
            out.append((self.name, b"\n".join(self.data)))
            self.name, self.data, self.size = None, [], 0
        return out

    def _line(self, line: bytes) -> tuple[str | None, bytes] | None:
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:
            event = (self.name, b"\n".join(self.data)) if self.data else None
            self.name, self.data, self.size = None, [], 0
            return event
        if line.startswith(b":"):
            return None
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            self.size += len(value)
            if self.size > MAX_EVENT_BYTES:
                raise SseError("upstream SSE event exceeds 1 MiB")
            self.data.append(value)
        elif field == b"event":
            self.name = value.decode("utf-8", "replace")
        return None


def frame(payload: bytes) -> bytes:
    return b"data: " + payload + b"\n\n"


DONE_FRAME = frame(DONE)
