"""Managed mode: poll the control plane for this gateway's config and apply new versions.

`GET {api}/v1/gateways/{id}/config` with `If-None-Match`: 304 means nothing changed, 200 brings
a new config text that `apply` validates and swaps in (like a reload). A refused config is not
fetched again until it changes; the last good config keeps serving. Network errors are logged
and retried at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import aiohttp

log = logging.getLogger("keeptrusts.managed")


class ManagedConfigPoller:
    def __init__(
        self,
        api_url: str,
        token: str | None,
        gateway_id: str,
        apply: Callable[[str], Awaitable[bool]],
        interval: float = 30.0,
    ) -> None:
        self.url = f"{api_url.rstrip('/')}/v1/gateways/{quote(gateway_id, safe='')}/config"
        self.gateway_id = gateway_id
        self.interval = interval
        self._apply = apply
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        #: ETag of the last config applied or refused (either way: do not fetch it again)
        self.etag: str | None = None
        #: ETag of the config now serving, if it came from the control plane
        self.applied_etag: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=min(10.0, self.interval), connect=5.0)
        self._session = aiohttp.ClientSession(timeout=timeout)
        self._task = asyncio.create_task(self._run(), name="keeptrusts-managed-config")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _run(self) -> None:
        while True:
            await self.poll_once()
            # a little jitter so a fleet of gateways does not poll in lockstep
            await asyncio.sleep(self.interval * random.uniform(0.9, 1.1))

    async def poll_once(self) -> bool | None:
        """One poll. True/False: a new config was applied/refused; None: nothing new."""
        if self._session is None:
            raise RuntimeError("ManagedConfigPoller.start() was not called")
        headers = dict(self._headers)
        if self.etag:
            headers["If-None-Match"] = self.etag
        try:
            async with self._session.get(self.url, headers=headers) as resp:
                if resp.status == 304:
                    return None
                if resp.status == 404:
                    log.debug("no managed config stored yet for gateway %s", self.gateway_id)
                    return None
                if resp.status != 200:
                    log.warning("managed config poll %s: HTTP %d", self.url, resp.status)
                    return None
                text = await resp.text()
                etag = resp.headers.get("ETag")
        except (aiohttp.ClientError, TimeoutError, UnicodeDecodeError) as exc:
            log.warning(
                "managed config poll %s failed: %r; retrying in %.0fs", self.url, exc, self.interval
            )
            return None
        return await self._take(text, etag)

    async def _take(self, text: str, etag: str | None) -> bool:
        try:
            ok = await self._apply(text)
        except Exception:
            log.exception("applying the managed config failed; the last good config keeps serving")
            ok = False
        self.etag = etag
        if ok:
            self.applied_etag = etag
            log.info("managed config %s applied for gateway %s", etag, self.gateway_id)
        else:
            log.error(
                "managed config %s refused for gateway %s; the last good config keeps "
                "serving until a valid one is pushed",
                etag,
                self.gateway_id,
            )
        return ok


def poller_from_env(
    gateway_id: str, apply: Callable[[str], Awaitable[bool]], interval: float = 30.0
) -> ManagedConfigPoller:
    """The poller `kt gateway run --managed` needs, from `KEEPTRUSTS_API_URL` and
    `KEEPTRUSTS_GATEWAY_TOKEN`; raises ValueError naming what is missing."""
    api_url = os.environ.get("KEEPTRUSTS_API_URL")
    if not api_url:
        raise ValueError("--managed needs KEEPTRUSTS_API_URL (the control-plane API)")
    if not os.environ.get("KEEPTRUSTS_GATEWAY_ID"):
        raise ValueError("--managed needs KEEPTRUSTS_GATEWAY_ID (which config to fetch)")
    token = os.environ.get("KEEPTRUSTS_GATEWAY_TOKEN") or None
    return ManagedConfigPoller(api_url, token, gateway_id, apply, interval)
