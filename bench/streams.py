"""Streaming timings: a small aiohttp client sends streamed chat requests one after another and
times the first body byte (TTFB) and the end of the stream for each.

The client's own cost is the same for every target, so only differences between targets
(target minus direct, measured in the same run) mean anything.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from bench import payloads


@dataclass
class StreamSample:
    ttfb_s: list[float] = field(default_factory=list)
    total_s: list[float] = field(default_factory=list)
    failures: int = 0
    last_error: str = ""

    def extend(self, other: StreamSample) -> None:
        self.ttfb_s += other.ttfb_s
        self.total_s += other.total_s
        self.failures += other.failures
        self.last_error = other.last_error or self.last_error

    def summary(self) -> dict[str, Any]:
        return {
            "count": len(self.total_s),
            "failures": self.failures,
            "last_error": self.last_error,
            "ttfb_p50_us": _pct_us(self.ttfb_s, 50),
            "ttfb_p99_us": _pct_us(self.ttfb_s, 99),
            "total_p50_us": _pct_us(self.total_s, 50),
            "total_p99_us": _pct_us(self.total_s, 99),
        }


def _pct_us(values: list[float], pct: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0] * 1e6
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] * 1e6


def stream_text(body: bytes) -> tuple[str, bool]:
    """The answer a relayed stream spells out, and whether it ended with usage and [DONE].

    A proxy may merge chunks that arrive together (the gateway's stream guard does), so the
    check is on content, not on the number of events."""
    text: list[str] = []
    usage = False
    for line in body.split(b"\n"):
        if not line.startswith(b"data: {"):
            continue
        event = orjson.loads(line[6:])
        usage = usage or bool(event.get("usage"))
        for choice in event.get("choices") or []:
            text.append((choice.get("delta") or {}).get("content") or "")
    return "".join(text), usage and body.rstrip().endswith(b"data: [DONE]")


def stream_complete(body: bytes) -> bool:
    """A relayed stream is whole when it spells the whole answer and ends with usage + [DONE]."""
    try:
        text, ended = stream_text(body)
    except orjson.JSONDecodeError:
        return False
    return ended and text == payloads.ANSWER


async def _one(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> tuple[float, float, bytes]:
    t0 = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as resp:
        first = await resp.content.readany()
        t_first = time.perf_counter()
        rest = await resp.read() if not resp.content.at_eof() else b""
        t_end = time.perf_counter()
        if resp.status != 200:
            raise RuntimeError(f"HTTP {resp.status}: {(first + rest)[:200]!r}")
    return t_first - t0, t_end - t0, first + rest


async def measure(
    url: str, n: int, *, headers: dict[str, str] | None = None, warmup: int = 3
) -> StreamSample:
    """`n` sequential streamed requests over one keep-alive connection."""
    body = payloads.chat_request_bytes(stream=True)
    hdrs = {"Content-Type": "application/json", "Authorization": "Bearer bench-client-token"}
    hdrs.update(headers or {})
    sample = StreamSample()
    connector = aiohttp.TCPConnector(limit=1, keepalive_timeout=60)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for i in range(warmup + n):
            try:
                ttfb, total, data = await _one(session, url, body, hdrs)
            except (aiohttp.ClientError, RuntimeError, TimeoutError) as exc:
                sample.failures += 1
                sample.last_error = repr(exc)[:300]
                continue
            if not stream_complete(data):
                sample.failures += 1
                sample.last_error = f"incomplete stream: {data[-200:]!r}"
            elif i >= warmup:
                sample.ttfb_s.append(ttfb)
                sample.total_s.append(total)
    return sample
