"""How a provider's JSON answer is counted against the running request's budget
(`providers.http.read_json` with `ANSWER_BUDGET`): all at once when its size is declared, block
by block when it is compressed, refused before it is read when it declares too much."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest
from aiohttp import web

from keeptrusts.providers.failures import UpstreamError
from keeptrusts.providers.http import ANSWER_BUDGET, AnswerRefused, read_json

ANSWER = orjson.dumps({"object": "list", "data": [{"embedding": [0.125] * 50_000}]})


class Budget:
    """Records what it is asked to count; refuses past `room` bytes."""

    def __init__(self, limit: int = 1 << 20, room: int = 1 << 30) -> None:
        self.limit = limit
        self.room = room
        self.taken: list[int] = []

    def take(self, size: int) -> None:
        if sum(self.taken) + size > self.room:
            raise AnswerRefused("no room", "t")
        self.taken.append(size)


@contextlib.asynccontextmanager
async def provider() -> AsyncIterator[str]:
    """A provider on loopback answering ANSWER as is (`/plain`) or gzipped (`/gzip`)."""

    async def plain(request: web.Request) -> web.Response:
        return web.Response(body=ANSWER, content_type="application/json")

    async def gzipped(request: web.Request) -> web.Response:
        resp = web.Response(body=ANSWER, content_type="application/json")
        resp.enable_compression(web.ContentCoding.gzip)
        return resp

    app = web.Application()
    app.router.add_get("/plain", plain)
    app.router.add_get("/gzip", gzipped)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def answer(path: str, budget: Budget) -> dict[str, object]:
    token = ANSWER_BUDGET.set(budget)
    try:
        async with (
            provider() as url,
            aiohttp.ClientSession() as session,
            session.get(url + path) as resp,
        ):
            data, raw = await read_json(resp, "t")
            assert raw == ANSWER
            return data
    finally:
        ANSWER_BUDGET.reset(token)


async def test_a_declared_answer_is_counted_whole_before_it_is_read() -> None:
    budget = Budget()
    await answer("/plain", budget)
    assert budget.taken == [len(ANSWER)]


async def test_a_compressed_answer_is_counted_as_it_inflates() -> None:
    budget = Budget()
    await answer("/gzip", budget)
    assert sum(budget.taken) == len(ANSWER)  # inflated bytes, not the declared gzip size


@pytest.mark.parametrize("path", ["/plain", "/gzip"])
async def test_no_room_refuses_the_answer(path: str) -> None:
    with pytest.raises(AnswerRefused) as refused:
        await answer(path, Budget(room=len(ANSWER) // 2))
    err = refused.value
    assert (err.status, err.code, err.headers) == (503, "overloaded", {"Retry-After": "1"})
    assert isinstance(err, UpstreamError)  # the adapter passes it on unchanged


@pytest.mark.parametrize("path", ["/plain", "/gzip"])
async def test_an_answer_over_the_limit_is_refused(path: str) -> None:
    budget = Budget(limit=len(ANSWER) - 1)
    with pytest.raises(UpstreamError, match=r"server\.max_response_bytes") as refused:
        await answer(path, budget)
    assert not isinstance(refused.value, AnswerRefused)  # a 502, not a 503
    if path == "/plain":
        assert budget.taken == []  # declared too large: refused before reading
