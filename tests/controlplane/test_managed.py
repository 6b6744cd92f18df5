"""The managed-mode poller against a real control-plane API."""

from __future__ import annotations

import asyncio

import httpx

from keeptrusts.config.load import ConfigError, load_texts
from keeptrusts.config.managed import ManagedConfigPoller
from tests.controlplane.fixtures import ApiFactory
from tests.controlplane.servers import TOKEN, ApiServer

V1 = "pack: {name: managed, version: 1.0.0}\npolicies: {chain: []}\n"
V2 = "pack: {name: managed, version: 2.0.0}\npolicies: {chain: []}\n"
#: valid for the API, refused by this gateway's apply (e.g. a provider it cannot reach)
V3 = "pack: {name: managed, version: 3.0.0}\npolicies: {chain: []}\n"


def push(api: ApiServer, text: str) -> None:
    r = httpx.put(api.url + "/v1/gateways/gw-m/config", content=text, headers=api.headers())
    assert r.status_code == 200, r.text


class Gateway:
    """Stands in for the gateway's reload: validates, refuses what it cannot serve."""

    def __init__(self) -> None:
        self.serving: str | None = None
        self.calls = 0

    async def apply(self, text: str) -> bool:
        self.calls += 1
        try:
            loaded = load_texts([("<managed>", text)])
        except ConfigError:
            return False
        if loaded.config.pack.version == "3.0.0":
            return False
        self.serving = loaded.config.pack.version
        return True


async def test_poller_applies_new_configs_once_and_keeps_the_last_good(
    make_api: ApiFactory,
) -> None:
    api = make_api().start()
    gw = Gateway()
    poller = ManagedConfigPoller(api.url, TOKEN, "gw-m", gw.apply, interval=0.1)
    await poller.start()
    try:
        await asyncio.sleep(0.3)
        assert gw.calls == 0  # nothing stored yet (404)
        await asyncio.to_thread(push, api, V1)
        await _until(lambda: gw.serving == "1.0.0")
        await asyncio.sleep(0.4)
        assert gw.calls == 1  # 304s do not re-apply
        await asyncio.to_thread(push, api, V3)
        await _until(lambda: gw.calls == 2)
        assert gw.serving == "1.0.0"  # refused: the last good one keeps serving
        await asyncio.sleep(0.4)
        assert gw.calls == 2  # a refused config is not fetched again until it changes
        await asyncio.to_thread(push, api, V2)
        await _until(lambda: gw.serving == "2.0.0")
        assert poller.applied_etag == poller.etag
    finally:
        await poller.close()


async def test_poller_rides_out_an_unreachable_api(make_api: ApiFactory) -> None:
    api = make_api()  # not started
    gw = Gateway()
    poller = ManagedConfigPoller(api.url, TOKEN, "gw-m", gw.apply, interval=0.1)
    await poller.start()
    try:
        await asyncio.sleep(0.3)
        await asyncio.to_thread(api.start)
        await asyncio.to_thread(push, api, V2)
        await _until(lambda: gw.serving == "2.0.0")
    finally:
        await poller.close()


async def _until(check: object, within: float = 10.0) -> None:
    assert callable(check)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
