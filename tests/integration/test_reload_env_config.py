"""A config found through `$KEEPTRUSTS_CONFIG` is watched like `--policy-config`: a kubelet
`..data` flip under it reloads (a good one is applied, a bad one refused and counted)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from keeptrusts.gateway.server import GatewayServer, ServeOptions
from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV
from tests.integration.test_reload_drain import configmap_dir, dlp_config, version_of, wait_for


def test_kubelet_flip_under_keeptrusts_config_reloads(
    gateways: GatewayFactory, fake: FakeUpstream, tmp_path: Path
) -> None:
    configmap_dir(tmp_path, dlp_config(fake, "1.0.0", "alpha"), "2026_01")
    env = {**ENV, "KEEPTRUSTS_CONFIG": str(tmp_path / "policy.yaml")}
    gw = gateways.start(None, env=env)  # --config-dir points at a missing directory
    assert version_of(gw).startswith("1.0.0+")
    configmap_dir(tmp_path, dlp_config(fake, "2.0.0", "omega"), "2026_02")
    assert wait_for(lambda: version_of(gw).startswith("2.0.0+")), gw.logs()
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "omega"}]},
    )
    assert fake.requests[-1].body["messages"][0]["content"] == "[REDACTED:TERM]", r.text
    # a bad flip: refused, counted, and the last good config keeps serving
    configmap_dir(tmp_path, dlp_config(fake, "3.0.0", "omega") + "bogus: 1\n", "2026_03")
    assert wait_for(lambda: "config reload refused" in gw.logs()), gw.logs()
    assert version_of(gw).startswith("2.0.0+")
    metrics = httpx.get(gw.url + "/metrics").text
    assert 'keeptrusts_config_reloads_total{result="invalid"} 1.0' in metrics


def test_watched_is_what_was_discovered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KEEPTRUSTS_CONFIG", raising=False)
    server = GatewayServer(ServeOptions(config_dir=str(tmp_path)))
    assert server.watched() == ([], str(tmp_path))
    monkeypatch.setenv("KEEPTRUSTS_CONFIG", "/env/policy.yaml")
    assert server.watched() == (["/env/policy.yaml"], None)
    server = GatewayServer(ServeOptions(policy_configs=["a.yaml", "b.yaml"]))
    assert server.watched() == (["a.yaml", "b.yaml"], None)
