"""A fake OpenAI-compatible upstream for the soak test that misbehaves when asked to.

The fault comes from the `baggage` header (which the gateway forwards unchanged), e.g.
`baggage: bench-fault=500`, or from `x-bench-fault` when called directly:

- `500`: answers 500 with an OpenAI-style error body;
- `reset`: drops the connection without answering;
- `cut`: (streams) sends a few chunks, then drops the connection.

Streams pace their 20 chunks `--chunk-delay-ms` apart, so a client can leave mid-stream. It
also counts requests whose body still holds the soak's raw personal data (`pii_leaks`): the
gateway's redaction should make that zero. `GET /stats` returns the counters.

    python -m bench.fault_upstream --listen 127.0.0.1:PORT [--chunk-delay-ms 5]
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter

import orjson
import uvloop
from aiohttp import web

from bench import payloads

PII_MARKERS = (b"jane.doe@example.com", b"+44 20 7946 0958")
_COUNTS = web.AppKey("counts", Counter[str])
_DELAY = web.AppKey("delay", float)


def fault_of(request: web.BaseRequest) -> str:
    direct = request.headers.get("x-bench-fault")
    if direct:
        return direct
    for item in request.headers.get("baggage", "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "bench-fault":
            return value
    return ""


async def _stream(request: web.Request, fault: str) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await resp.prepare(request)
    events = payloads.sse_events()
    try:
        for i, event in enumerate(events):
            if fault == "cut" and i == 5:
                request.app[_COUNTS]["cut"] += 1
                assert request.transport is not None
                request.transport.close()
                return resp
            await resp.write(b"data: " + orjson.dumps(event) + b"\n\n")
            await asyncio.sleep(request.app[_DELAY])
        await resp.write(b"data: [DONE]\n\n")
        await resp.write_eof()
    except asyncio.CancelledError:
        request.app[_COUNTS]["stream_aborted_by_client"] += 1
        raise
    except ConnectionError:  # the gateway went away mid-stream: expected, not worth a traceback
        request.app[_COUNTS]["stream_aborted_by_client"] += 1
    return resp


async def chat(request: web.Request) -> web.StreamResponse:
    counts = request.app[_COUNTS]
    body = await request.read()
    counts["requests"] += 1
    if any(m in body for m in PII_MARKERS):
        counts["pii_leaks"] += 1
    fault = fault_of(request)
    if fault:
        counts[f"fault_{fault}"] += 1
    if fault == "500":
        err = {"error": {"message": "injected fault", "type": "server_error", "code": None}}
        return web.Response(status=500, body=orjson.dumps(err), content_type="application/json")
    if fault == "reset":
        assert request.transport is not None
        request.transport.close()
        return web.Response(status=500)
    if orjson.loads(body).get("stream"):
        return await _stream(request, fault)
    return web.Response(body=payloads.completion_bytes(), content_type="application/json")


async def stats(request: web.Request) -> web.Response:
    counts: Counter[str] = request.app[_COUNTS]
    body = orjson.dumps({k: v for k, v in counts.items()})
    return web.Response(body=body, content_type="application/json")


def make_app(delay_s: float) -> web.Application:
    app = web.Application()
    app[_COUNTS] = Counter()
    app[_DELAY] = delay_s
    app.router.add_post("/v1/chat/completions", chat)
    app.router.add_get("/stats", stats)
    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--chunk-delay-ms", type=float, default=5.0)
    a = p.parse_args()
    host, _, port = a.listen.rpartition(":")
    web.run_app(
        make_app(a.chunk_delay_ms / 1000),
        host=host,
        port=int(port),
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
