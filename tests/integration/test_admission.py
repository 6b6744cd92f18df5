"""Request bodies in flight are bounded (server.max_inflight_body_bytes): past the bound a
request gets 503 `overloaded` with Retry-After; alone, any body within max_body_bytes passes."""

from __future__ import annotations

import asyncio
import gzip

import httpx
import orjson

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config

EXTRA = "server: {max_body_bytes: 65536, max_inflight_body_bytes: 20000}\n"


def body(size: int) -> dict[str, object]:
    return {"model": "gpt-4o", "messages": [{"role": "user", "content": "x " * (size // 2)}]}


async def post_together(url: str, sizes: list[int]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=30) as client:
        first = asyncio.create_task(client.post(url, json=body(sizes[0])))
        await asyncio.sleep(0.5)  # the first is in flight (the provider answers after 1.5 s)
        rest = await asyncio.gather(*(client.post(url, json=body(n)) for n in sizes[1:]))
        return [await first, *rest]


def test_bodies_in_flight_are_bounded(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    gw = gateways.start(openai_config(("a", fake.base_url), extra=EXTRA), env=ENV)
    url = gw.base_url + "/chat/completions"
    fake.reset(first_byte_delay=1.5)
    first, big, small = asyncio.run(post_together(url, [12_000, 12_000, 1_000]))
    assert first.status_code == 200, first.text
    assert small.status_code == 200, small.text  # 13 KB in flight: within 20 KB
    assert big.status_code == 503, big.text
    err = big.json()["error"]
    assert (err["type"], err["code"]) == ("upstream_error", "overloaded")
    assert "server.max_inflight_body_bytes" in err["message"]
    assert big.headers["Retry-After"] == "1"
    # released once answered: a body larger than the whole bound still passes alone
    fake.reset()
    alone = httpx.post(url, json=body(30_000), timeout=30)
    assert alone.status_code == 200, alone.text


def test_a_compressed_body_counts_at_its_inflated_size(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    """A gzip body declares a few hundred bytes but costs its inflated size while in flight."""
    gw = gateways.start(openai_config(("a", fake.base_url), extra=EXTRA), env=ENV)
    url = gw.base_url + "/chat/completions"
    fake.reset(first_byte_delay=1.5)
    packed = gzip.compress(orjson.dumps(body(15_000)))
    assert len(packed) < 1_000

    async def run() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(timeout=30) as client:
            headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
            first = asyncio.create_task(client.post(url, content=packed, headers=headers))
            await asyncio.sleep(0.5)
            second = await client.post(url, json=body(8_000))  # 15 KB + 8 KB > 20 KB
            return await first, second

    first, second = asyncio.run(run())
    assert first.status_code == 200, first.text
    assert second.status_code == 503, second.text
    assert second.json()["error"]["code"] == "overloaded"
