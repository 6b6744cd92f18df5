"""A stream read to its end, or stopped early, leaves nothing for the event loop to finalize.

An async generator dropped unfinished is handed to the loop's finalizer hook, which closes it
from an extra task after a cross-thread wake-up: a cost per stream, and cleanup that runs
later than the code that dropped it. These tests record what reaches that hook.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from typing import Any

from keeptrusts.config.targets import Target
from keeptrusts.providers.base import ProviderCall, UpstreamStream
from keeptrusts.providers.client import UpstreamClient
from keeptrusts.providers.openai import OpenAIProvider
from keeptrusts.streaming.sse import events
from tests.fakes.blocks import Blocks
from tests.fakes.upstream import FakeUpstream


@contextlib.contextmanager
def finalized() -> Iterator[list[object]]:
    """Async generators that reach the finalizer hook inside the block (enter it with the loop
    running: the loop installs its own hooks when it starts)."""
    seen: list[object] = []
    saved = sys.get_asyncgen_hooks()

    def record(agen: Any) -> None:
        seen.append(agen)
        if saved.finalizer is not None:
            saved.finalizer(agen)

    sys.set_asyncgen_hooks(firstiter=saved.firstiter, finalizer=record)
    try:
        yield seen
    finally:
        sys.set_asyncgen_hooks(*saved)


async def test_a_reader_dropped_at_done_needs_no_finalizing() -> None:
    with finalized() as seen:
        reader = events(Blocks([b"data: 1\n\n", b"data: [DONE]\n\n", b"data: late\n\n"]))  # type: ignore[arg-type]
        async for event in reader:
            if event.data == b"[DONE]":
                break
        del reader
        gc.collect()
    assert seen == []


def _provider(fake: FakeUpstream, session: UpstreamClient) -> OpenAIProvider:
    target = Target(id="primary", provider="openai", base_url=fake.base_url)
    return OpenAIProvider(target, session, "sk-test")


def _call() -> ProviderCall:
    body = {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    return ProviderCall(endpoint="chat", body=body, stream=True, headers={})


async def test_a_stream_read_to_done_leaves_nothing_behind(fake: FakeUpstream) -> None:
    async with UpstreamClient.open() as session:
        with finalized() as seen:
            stream: UpstreamStream = await _provider(fake, session).open_stream(_call())
            chunks = [chunk async for chunk in stream]
            await stream.aclose()
            del stream
            gc.collect()
    assert chunks and seen == []


async def test_a_stream_closed_after_its_first_chunk_leaves_nothing_behind(
    fake: FakeUpstream,
) -> None:
    async with UpstreamClient.open() as session:
        with finalized() as seen:
            stream = await _provider(fake, session).open_stream(_call())
            it = aiter(stream)
            assert await anext(it) is not None
            await stream.aclose()
            del stream, it
            gc.collect()
    assert seen == []
