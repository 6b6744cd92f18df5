"""A fake `POST /v1/events` endpoint on 127.0.0.1, run in the test's own event loop: something
that is *not* the control plane (a redirecting auth proxy, a login page), a control plane that
answers slowly, or one that refuses chosen events. Real HTTP; the pipeline under test cannot
tell it from a real server."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import web

LOGIN_PAGE = "<html><body>Sign in</body></html>"


class FakeEventsApi:
    """`mode` decides the answer to `POST /v1/events`:

    - `ok`: like the control plane, `{"accepted": n, "inserted": n}` after `delay` seconds
      (the ids are recorded only then, as a database commit would)
    - `302` / `307`: a redirect to `/login?session=SECRET` on this server, which answers any
      method with a 200 HTML login page
    - `html`: 200 with the login page
    - `json`: 200 with JSON that is not the control plane's reply

    In `ok` mode, `statuses` maps event ids to the status that refuses (or fails) any batch
    holding one of them, as the control plane refuses a whole batch for one bad event; a batch
    of more than `max_events` gets 413.
    """

    def __init__(
        self,
        mode: str = "ok",
        delay: float = 0.0,
        *,
        statuses: dict[str, int] | None = None,
        max_events: int | None = None,
    ) -> None:
        self.mode = mode
        self.delay = delay
        self.statuses = dict(statuses or {})
        self.max_events = max_events
        self.ids: list[str] = []
        self.posts = 0
        self.refusals = 0
        self.logins = 0
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeEventsApi:
        app = web.Application(client_max_size=64 << 20)
        app.router.add_post("/v1/events", self._events)
        app.router.add_route("*", "/login", self._login)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server: Any = site._server  # the bound port (0 asked the kernel for a free one)
        self.port = int(server.sockets[0].getsockname()[1])
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _events(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.posts += 1
        if self.mode in ("302", "307"):
            location = f"{self.url}/login?session=SECRET"
            raise (
                web.HTTPFound(location)
                if self.mode == "302"
                else web.HTTPTemporaryRedirect(location)
            )
        if self.mode == "html":
            return web.Response(text=LOGIN_PAGE, content_type="text/html")
        if self.mode == "json":
            return web.json_response({"ok": True})
        await asyncio.sleep(self.delay)
        events = orjson.loads(body)["events"]
        status = self._status(events)
        if status is not None:
            self.refusals += 1
            error = {"type": "validation_error", "code": "invalid_request", "message": "no"}
            return web.json_response({"error": error}, status=status)
        self.ids.extend(e["id"] for e in events)
        return web.json_response({"accepted": len(events), "inserted": len(events)})

    def _status(self, events: list[dict[str, Any]]) -> int | None:
        if self.max_events is not None and len(events) > self.max_events:
            return 413
        for e in events:
            if e["id"] in self.statuses:
                return self.statuses[e["id"]]
        return None

    async def _login(self, request: web.Request) -> web.Response:
        await request.read()
        self.logins += 1
        return web.Response(text=LOGIN_PAGE, content_type="text/html")
