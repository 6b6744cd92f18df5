"""`$KEEPTRUSTS_LOG_LEVEL` holds until a config sets `logging.level`; a config that drops it
again brings the env level back (on reload too)."""

from __future__ import annotations

import time

import httpx

from tests.fakes.gateway import Gateway, GatewayFactory

CONFIG = (
    "pack: {name: t, version: 1.0.0}\n"
    "providers: {targets: [{id: echo, provider: echo, models: ['*']}]}\n"
    "policies: {chain: []}\n"
)


def access_lines(gw: Gateway) -> int:
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert r.status_code == 200
    time.sleep(0.3)  # access lines leave in batches within 20 ms
    return gw.logs().count('"logger":"keeptrusts.access"')


def reload(gw: Gateway, text: str) -> None:
    assert gw.config is not None
    gw.config.write_text(text)
    assert httpx.post(gw.url + "/keeptrusts/config/reload").status_code == 200


def test_env_level_holds_unless_the_config_sets_one(gateways: GatewayFactory) -> None:
    gw = gateways.start(CONFIG, env={"KEEPTRUSTS_LOG_LEVEL": "warning"})
    assert access_lines(gw) == 0
    assert '"level":"info"' not in gw.logs()  # no "listening on ..." either
    reload(gw, CONFIG + "logging: {level: info}\n")
    assert access_lines(gw) == 1  # the config's level wins once set
    reload(gw, CONFIG)
    assert access_lines(gw) == 1  # dropped from the config: the env level again


def test_without_env_or_config_level_the_default_is_info(gateways: GatewayFactory) -> None:
    gw = gateways.start(CONFIG)
    assert access_lines(gw) == 1
    reload(gw, CONFIG + "logging: {level: error}\n")
    assert access_lines(gw) == 1
    reload(gw, CONFIG)
    assert access_lines(gw) == 2
