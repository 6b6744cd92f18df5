"""The SSE reader: the same events whatever the network's block boundaries, bounded."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keeptrusts.streaming.sse import MAX_EVENT_BYTES, SseError, SseParser, events
from tests.fakes.blocks import Blocks

STREAM = (
    b": a comment\r\n"
    b"event: message_start\r\n"
    b'data: {"a": 1}\r\n'
    b"\r\n"
    b'data: {"b":\n'
    b"data: 2}\n"
    b"\n"
    b"retry: 10\n"
    b"\n"
    b"data:no-space\n"
    b"\n"
    b"data: [DONE]"  # the last event ends with the body, without its blank line
)
EXPECTED = [
    ("message_start", b'{"a": 1}'),
    (None, b'{"b":\n2}'),
    (None, b"no-space"),
    (None, b"[DONE]"),
]


def _parse(blocks: list[bytes]) -> list[tuple[str | None, bytes]]:
    parser = SseParser()
    out: list[tuple[str | None, bytes]] = []
    for block in blocks:
        parser.push(block)
        while (event := parser.next_event()) is not None:
            out.append(event)
    return out + parser.finish()


def test_one_block_gives_every_event() -> None:
    assert _parse([STREAM]) == EXPECTED


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    points = sorted(set(cuts))
    blocks = [STREAM[a:b] for a, b in zip([0, *points], [*points, len(STREAM)], strict=True)]
    assert _parse(blocks) == EXPECTED


def test_an_endless_line_or_event_is_refused() -> None:
    parser = SseParser()
    parser.push(b"data: " + b"x" * (MAX_EVENT_BYTES + 1))
    with pytest.raises(SseError):
        parser.next_event()
    parser = SseParser()
    with pytest.raises(SseError):
        for _ in range(20):
            parser.push(b"data: " + b"y" * (MAX_EVENT_BYTES // 16) + b"\n")
            parser.next_event()


async def test_more_says_only_whether_a_whole_event_came_in_the_same_block() -> None:
    blocks = [b"data: 1\n\ndata: 2\n\n: keep-alive\n\ndata: 3", b"\n\n", b"data: 4"]
    got = [(e.data, e.more) async for e in events(Blocks(blocks))]  # type: ignore[arg-type]
    assert got == [(b"1", True), (b"2", False), (b"3", False), (b"4", False)]
