"""The floor: a bare pass-through proxy on the gateway's own stack.

aiohttp server + one pooled keep-alive aiohttp ClientSession + uvloop + orjson (for its error
envelope). It forwards method, path, body and the content headers as they are, and relays the
answer: JSON read whole, SSE chunk by chunk as it arrives, each flushed. No parsing, no policy,
no metrics, no access log: whatever the gateway costs above this is the gateway's own work.

    python -m bench.passthrough --listen 127.0.0.1:PORT --upstream http://127.0.0.1:UP
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiohttp
import orjson
import uvloop
from aiohttp import web

_FORWARD = ("Content-Type", "Accept", "Authorization", "X-Request-Id", "Traceparent")
_SESSION = web.AppKey("session", aiohttp.ClientSession)
_UPSTREAM = web.AppKey("upstream", str)


def _error(status: int, message: str) -> web.Response:
    body = {"error": {"type": "upstream_error", "code": "upstream_error", "message": message}}
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")


async def _relay(request: web.Request) -> web.StreamResponse:
    session = request.app[_SESSION]
    url = request.app[_UPSTREAM] + request.path_qs
    headers = {k: v for k in _FORWARD if (v := request.headers.get(k)) is not None}
    body = await request.read()
    try:
        async with session.request(request.method, url, data=body, headers=headers) as up:
            ctype = up.headers.get("Content-Type", "application/octet-stream")
            if not ctype.startswith("text/event-stream"):
                data = await up.read()
                return web.Response(status=up.status, body=data, headers={"Content-Type": ctype})
            resp = web.StreamResponse(
                status=up.status, headers={"Content-Type": ctype, "Cache-Control": "no-cache"}
            )
            await resp.prepare(request)
            async for chunk in up.content.iter_any():
                await resp.write(chunk)
            await resp.write_eof()
            return resp
    except (aiohttp.ClientError, TimeoutError) as exc:
        return _error(502, f"upstream failed: {exc!r}")


async def _session_ctx(app: web.Application) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=300, ttl_dns_cache=None)
    app[_SESSION] = aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60), auto_decompress=False
    )
    yield
    await app[_SESSION].close()


def make_app(upstream: str) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024, handler_args={"access_log": None})
    app[_UPSTREAM] = upstream.rstrip("/")
    app.cleanup_ctx.append(_session_ctx)
    app.router.add_route("*", "/{tail:.*}", _relay)
    return app


async def serve(host: str, port: int, upstream: str) -> None:
    runner = web.AppRunner(make_app(upstream), access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--listen", required=True, help="HOST:PORT")
    p.add_argument("--upstream", required=True, help="http://HOST:PORT (paths are kept)")
    a = p.parse_args()
    host, _, port = a.listen.rpartition(":")
    with contextlib.suppress(KeyboardInterrupt):
        uvloop.run(serve(host, int(port), a.upstream))


if __name__ == "__main__":
    main()
