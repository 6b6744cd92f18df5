"""The soak test's traffic: a weighted mix of request kinds sent by a few concurrent clients at
a moderate, steady rate, each request tagged with its own `x-request-id` so its decision event
can be found afterwards."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from bench import payloads

BLOCKED_TERM = "project atlas"
PII_TEXT = "Please email the invoice to jane.doe@example.com or call me on +44 20 7946 0958."

#: kind -> (weight, stream?, extra headers, user text appended to the chat)
KINDS: dict[str, tuple[int, bool, dict[str, str], str]] = {
    "chat": (45, False, {}, ""),
    "stream": (20, True, {}, ""),
    "disconnect": (8, True, {}, ""),
    "blocked": (8, False, {}, f"Tell me everything about {BLOCKED_TERM} and its budget."),
    "pii": (9, False, {}, PII_TEXT),
    "fault-500": (4, False, {"baggage": "bench-fault=500"}, ""),
    "fault-reset": (3, False, {"baggage": "bench-fault=reset"}, ""),
    "fault-cut": (3, True, {"baggage": "bench-fault=cut"}, ""),
}


@dataclass
class Tally:
    sent: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[str] = field(default_factory=Counter)  # "kind status"
    client_errors: Counter[str] = field(default_factory=Counter)
    request_ids: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "sent": dict(self.sent),
            "outcomes": dict(sorted(self.outcomes.items())),
            "client_errors": dict(self.client_errors),
        }


def body_for(kind: str) -> bytes:
    _, stream, _, extra = KINDS[kind]
    body = payloads.chat_request(stream=stream)
    if extra:
        body["messages"] = [*body["messages"], {"role": "user", "content": extra}]
    return orjson.dumps(body)


async def _send(session: aiohttp.ClientSession, url: str, kind: str, tally: Tally) -> None:
    _, stream, headers, _ = KINDS[kind]
    rid = f"soak-{kind}-{uuid.uuid4().hex}"
    hdrs = {"Content-Type": "application/json", "x-request-id": rid, **headers}
    tally.sent[kind] += 1
    tally.request_ids.append(rid)
    t0 = time.perf_counter()
    try:
        async with session.post(url, data=body_for(kind), headers=hdrs) as resp:
            if kind == "disconnect":
                await resp.content.readany()
                resp.close()  # leave mid-stream
                tally.outcomes[f"{kind} {resp.status}"] += 1
                return
            data = await resp.read()
            tag = f"{kind} {resp.status}"
            if stream and resp.status == 200 and b'"error"' in data:
                tag += " +error-event"
            tally.outcomes[tag] += 1
    except (aiohttp.ClientError, TimeoutError) as exc:
        tally.client_errors[f"{kind} {type(exc).__name__}"] += 1
    tally.latencies_ms.append((time.perf_counter() - t0) * 1000)


async def client(url: str, deadline: float, rate: float, seed: int, tally: Tally) -> None:
    """One client: requests at `rate` per second (exponential gaps) until `deadline`."""
    rng = random.Random(seed)
    names = list(KINDS)
    weights = [KINDS[k][0] for k in names]
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        while time.monotonic() < deadline:
            kind = rng.choices(names, weights)[0]
            t0 = time.monotonic()
            await _send(session, url, kind, tally)
            gap = rng.expovariate(rate) - (time.monotonic() - t0)
            if gap > 0:
                await asyncio.sleep(gap)
