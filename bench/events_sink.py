"""A minimal events API for the benchmark: accepts `POST /v1/events` batches and counts them.

The gateway under test sends its decision events here (`KEEPTRUSTS_API_URL`), so the benchmark
measures it with events on without the control plane's storage in the way. `GET /stats`
returns `{"batches": n, "events": n, "request_ids": [...]}` (ids only when `--keep-ids`).

    python -m bench.events_sink --listen 127.0.0.1:PORT [--keep-ids]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvloop
from aiohttp import web


@dataclass
class Tally:
    keep_ids: bool
    batches: int = 0
    events: int = 0
    request_ids: list[str] = field(default_factory=list)

    def add(self, batch: dict[str, Any]) -> int:
        events = batch.get("events") or []
        self.batches += 1
        self.events += len(events)
        if self.keep_ids:
            self.request_ids.extend(str(e.get("request_id")) for e in events)
        return len(events)


_TALLY = web.AppKey("tally", Tally)


async def _post(request: web.Request) -> web.Response:
    n = request.app[_TALLY].add(orjson.loads(await request.read()))
    return web.Response(body=orjson.dumps({"accepted": n}), content_type="application/json")


async def _stats(request: web.Request) -> web.Response:
    t = request.app[_TALLY]
    body = {"batches": t.batches, "events": t.events, "request_ids": t.request_ids}
    return web.Response(body=orjson.dumps(body), content_type="application/json")


async def _health(_: web.Request) -> web.Response:
    return web.Response(body=b'{"status":"ok"}', content_type="application/json")


def make_app(keep_ids: bool) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[_TALLY] = Tally(keep_ids)
    app.router.add_post("/v1/events", _post)
    app.router.add_get("/stats", _stats)
    app.router.add_get("/health", _health)
    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--keep-ids", action="store_true")
    a = p.parse_args()
    host, _, port = a.listen.rpartition(":")
    web.run_app(
        make_app(a.keep_ids),
        host=host,
        port=int(port),
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
