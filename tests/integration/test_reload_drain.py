"""Hot reload (kubelet `..data` symlink swap, SIGHUP, admin endpoint) and graceful drain."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.fakes.gateway import GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wait import wait_for
from tests.integration.configs import ENV, openai_config


def dlp_config(fake: FakeUpstream, version: str, term: str, extra: str = "") -> str:
    return openai_config(
        ("a", fake.base_url),
        policy=f'dlp-filter: {{blocked_terms: ["{term}"], action: redact}}',
        extra=extra,
    ).replace("version: 1.0.0", f"version: {version}")


def configmap_dir(root: Path, text: str, stamp: str) -> None:
    """Lay out a directory the way the kubelet projects a ConfigMap, or update it atomically."""
    data = root / f"..{stamp}"
    data.mkdir()
    (data / "policy.yaml").write_text(text)
    tmp = root / "..data_tmp"
    tmp.symlink_to(data.name)
    os.replace(tmp, root / "..data")
    link = root / "policy.yaml"
    if not link.is_symlink():
        link.symlink_to("..data/policy.yaml")


def version_of(gw) -> str:  # type: ignore[no-untyped-def]
    return str(httpx.get(gw.url + "/health").json()["config_version"])


def test_kubelet_symlink_swap_reloads(
    gateways: GatewayFactory, fake: FakeUpstream, tmp_path: Path
) -> None:
    configmap_dir(tmp_path, dlp_config(fake, "1.0.0", "alpha"), "2026_01")
    gw = gateways.start(None, env=ENV, args=["--config-dir", str(tmp_path)])
    assert version_of(gw).startswith("1.0.0+")
    configmap_dir(tmp_path, dlp_config(fake, "2.0.0", "omega"), "2026_02")
    assert wait_for(lambda: version_of(gw).startswith("2.0.0+")), gw.logs()
    r = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "omega"}]},
    )
    assert r.headers["x-keeptrusts-config-version"].startswith("2.0.0+")
    assert fake.requests[-1].body["messages"][0]["content"] == "[REDACTED:TERM]"


def test_invalid_config_is_refused_and_old_one_serves(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw = gateways.start(dlp_config(fake, "1.0.0", "alpha"), env=ENV)
    before = version_of(gw)
    assert gw.config is not None
    gw.config.write_text(
        dlp_config(fake, "2.0.0", "alpha").replace("action: redact", "action: mask")
    )
    r = httpx.post(gw.url + "/keeptrusts/config/reload")
    assert r.status_code == 422
    assert "policy.dlp-filter.action" in r.json()["error"]["message"]
    assert version_of(gw) == before
    ok = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert ok.status_code == 200
    metrics = httpx.get(gw.url + "/metrics").text
    assert 'keeptrusts_config_reloads_total{result="invalid"}' in metrics
    # a valid file again, via SIGHUP
    gw.config.write_text(dlp_config(fake, "3.0.0", "alpha"))
    gw.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: version_of(gw).startswith("3.0.0+"))
    assert 'keeptrusts_config_info{pack="test",sha=' in httpx.get(gw.url + "/metrics").text


def test_in_flight_stream_finishes_on_its_old_config(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    fake.reset(chunks=["alpha ", "omega "] * 10 + ["end"], chunk_delay=0.1)
    gw = gateways.start(dlp_config(fake, "1.0.0", "alpha"), env=ENV)
    assert gw.config is not None
    body: list[str] = []

    def consume() -> None:
        with httpx.stream(
            "POST",
            gw.base_url + "/chat/completions",
            timeout=20,
            json={
                "model": "gpt-4o",
                "stream": True,
                "messages": [{"role": "user", "content": "x"}],
            },
        ) as r:
            body.append(r.read().decode())

    t = threading.Thread(target=consume)
    t.start()
    time.sleep(0.5)
    gw.config.write_text(dlp_config(fake, "2.0.0", "omega"))
    assert httpx.post(gw.url + "/keeptrusts/config/reload").status_code == 200
    t.join(20)
    text = body[0]
    assert "alpha" not in text and "omega" in text  # the whole stream used the old config
    assert version_of(gw).startswith("2.0.0+")


def test_admin_endpoints_refuse_proxied_callers_without_token(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    gw = gateways.start(
        dlp_config(fake, "1.0.0", "alpha"), env={**ENV, "KEEPTRUSTS_ADMIN_TOKEN": "adm-secret-1"}
    )
    r = httpx.get(gw.url + "/keeptrusts/config", headers={"x-forwarded-for": "10.0.0.1"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "admin_forbidden"
    r = httpx.get(
        gw.url + "/keeptrusts/config",
        headers={"x-forwarded-for": "10.0.0.1", "Authorization": "Bearer adm-secret-1"},
    )
    assert r.status_code == 200
    shown = r.text
    assert "FAKE_PROVIDER_KEY" in shown and ENV["FAKE_PROVIDER_KEY"] not in shown


def test_sigterm_drains_open_streams(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    fake.reset(chunks=[f"w{i} " for i in range(20)], chunk_delay=0.1)
    extra = "server: {drain_delay_seconds: 0.5, drain_timeout_seconds: 20}\n"
    gw = gateways.start(dlp_config(fake, "1.0.0", "alpha", extra=extra), env=ENV)
    results: list[str] = []
    lock = threading.Lock()

    def consume() -> None:
        with httpx.stream(
            "POST",
            gw.base_url + "/chat/completions",
            timeout=30,
            json={
                "model": "gpt-4o",
                "stream": True,
                "messages": [{"role": "user", "content": "x"}],
            },
        ) as r:
            text = r.read().decode()
        with lock:
            results.append(text)

    threads = [threading.Thread(target=consume) for _ in range(20)]
    for t in threads:
        t.start()
    assert wait_for(lambda: len(fake.requests) == 20)
    gw.proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)
    assert httpx.get(gw.url + "/readyz").status_code == 503
    for t in threads:
        t.join(30)
    assert gw.proc.wait(30) == 0
    assert len(results) == 20
    for text in results:
        assert text.rstrip().endswith("data: [DONE]") and "w19" in text and '"error"' not in text


@pytest.mark.parametrize("bad", ["pack: {name: x}\npolicies: {chain: [nope]}\n", "pack: [\n"])
def test_bad_config_refuses_to_start_naming_the_line(gateways: GatewayFactory, bad: str) -> None:
    gw = gateways.start(bad, wait=False)
    assert gw.proc.wait(15) == 2
    out = gw.logs()
    assert f"{gw.config}:" in out


def rename_configmap_key(root: Path, text: str, stamp: str, name: str) -> None:
    """A kubelet update where the ConfigMap's key changed: new data dir, flip, relink."""
    data = root / f"..{stamp}"
    data.mkdir()
    (data / name).write_text(text)
    tmp = root / "..data_tmp"
    tmp.symlink_to(data.name)
    os.replace(tmp, root / "..data")
    for link in root.glob("*.y*ml"):
        link.unlink()
    (root / name).symlink_to(f"..data/{name}")


def test_configmap_key_renamed_keeps_the_last_good_config(
    gateways: GatewayFactory, fake: FakeUpstream, tmp_path: Path
) -> None:
    configmap_dir(tmp_path, dlp_config(fake, "1.0.0", "alpha"), "2026_01")
    gw = gateways.start(None, env=ENV, args=["--config-dir", str(tmp_path)])
    before = version_of(gw)
    rename_configmap_key(tmp_path, dlp_config(fake, "2.0.0", "alpha"), "2026_02", "policy.yml")
    assert wait_for(lambda: "config reload refused" in gw.logs()), gw.logs()
    assert f"{tmp_path}: no *.yaml policy config file" in gw.logs()
    r = httpx.post(gw.url + "/keeptrusts/config/reload")
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert f"{tmp_path}: no *.yaml policy config file" in message
    assert "found policy.yml: only *.yaml is read" in message
    assert version_of(gw) == before
    ok = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "alpha"}]},
    )
    assert ok.status_code == 200
    assert fake.requests[-1].body["messages"][0]["content"] == "[REDACTED:TERM]"
    metrics = httpx.get(gw.url + "/metrics").text
    assert 'keeptrusts_config_reloads_total{result="invalid"}' in metrics
    # the key back as *.yaml: reloads again
    rename_configmap_key(tmp_path, dlp_config(fake, "3.0.0", "alpha"), "2026_03", "policy.yaml")
    assert wait_for(lambda: version_of(gw).startswith("3.0.0+")), gw.logs()


def test_hostile_aliases_are_refused_at_once(gateways: GatewayFactory, fake: FakeUpstream) -> None:
    gw = gateways.start(dlp_config(fake, "1.0.0", "alpha"), env=ENV)
    before = version_of(gw)
    assert gw.config is not None
    lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 6)]
    gw.config.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    r = httpx.post(gw.url + "/keeptrusts/config/reload", timeout=30)
    assert time.monotonic() - started < 1.5
    assert r.status_code == 422
    assert f"{gw.config}:2: a1[0]: YAML aliases (*a0)" in r.json()["error"]["message"]
    assert version_of(gw) == before


def test_reload_applies_what_it_can_and_names_what_needs_a_restart(
    gateways: GatewayFactory, fake: FakeUpstream
) -> None:
    policy = (
        'dlp-filter: {blocked_terms: ["alpha"], action: redact}\n'
        "  rate-limit: {rules: [{scope: tenant, requests_per_minute: 1000}]}"
    )
    text = openai_config(("a", fake.base_url), chain="[dlp-filter, rate-limit]", policy=policy)
    env = {**ENV, "TOKEN_A": "adm-token-a", "TOKEN_B": "adm-token-b"}
    gw = gateways.start(text + "server: {admin_token_env: TOKEN_A}\n", env=env)
    assert gw.config is not None
    gw.config.write_text(
        text.replace("version: 1.0.0", "version: 2.0.0")
        + 'state: {backend: redis, url: "redis://127.0.0.1:1/0"}\n'
        + "events: {sinks: [stdout]}\n"
        + "server: {admin_token_env: TOKEN_B, header_read_timeout_seconds: 0.3}\n"
    )
    r = httpx.post(gw.url + "/keeptrusts/config/reload")
    assert r.status_code == 200 and r.json()["config_version"].startswith("2.0.0+")
    assert r.json()["restart_needed"] == ["state", "events"]
    assert "a restart is needed for: state, events" in gw.logs()
    # the limits backend built at start (memory) still serves: no 503 from a dead Redis
    ok = httpx.post(
        gw.base_url + "/chat/completions",
        json={"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert ok.status_code == 200
    # applied at once: the admin token now comes from TOKEN_B ...
    proxied = {"x-forwarded-for": "10.0.0.1"}
    r = httpx.get(
        gw.url + "/keeptrusts/config", headers={**proxied, "Authorization": "Bearer adm-token-b"}
    )
    assert r.status_code == 200
    r = httpx.get(
        gw.url + "/keeptrusts/config", headers={**proxied, "Authorization": "Bearer adm-token-a"}
    )
    assert r.status_code == 403
    # ... and a new connection gets the new header timeout
    with socket.create_connection(("127.0.0.1", gw.port), timeout=5) as sock:
        started = time.monotonic()
        answer = sock.recv(200)
        assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 3
    # back to the start-up values: nothing is pending any more
    gw.config.write_text(text + "server: {admin_token_env: TOKEN_B}\n")
    r = httpx.post(
        gw.url + "/keeptrusts/config/reload", headers={"Authorization": "Bearer adm-token-b"}
    )
    assert r.status_code == 200 and r.json()["restart_needed"] == []
