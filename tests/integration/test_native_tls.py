"""Native TLS and mTLS (`--tls-cert`, `--tls-key`, `--tls-client-ca`), with no mesh: the
gateway serves HTTPS to the official SDK, takes the tenant from a verified client certificate,
refuses clients without one, and serves rotated certificates without a restart."""

from __future__ import annotations

import json
import os
import shutil
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from openai import OpenAI

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.fakes.wait import wait_for
from tests.integration.configs import ENV, openai_config
from tests.mesh.certs import MeshCA, Workload

TENANTS = """tenants:
  identities: {"spiffe://cluster.local/ns/data-science/*": data-science}
  default: anonymous
"""


@pytest.fixture
def ca(tmp_path: Path) -> MeshCA:
    return MeshCA.create(tmp_path / "pki")


def install(cert: Workload, live: Path) -> tuple[Path, Path]:
    """Put a key pair where the gateway reads it, each file swapped in by a rename."""
    live.mkdir(exist_ok=True)
    paths = live / "tls.crt", live / "tls.key"
    for source, target in zip((cert.cert, cert.key), paths, strict=True):
        shutil.copyfile(source, target.with_suffix(".new"))
        os.replace(target.with_suffix(".new"), target)
    return paths


def start_tls(
    gateways: GatewayFactory, fake: FakeUpstream, crt: Path, key: Path, *extra: str
) -> Gateway:
    config = openai_config(("a", fake.base_url), extra=TENANTS)
    args = ["--tls-cert", str(crt), "--tls-key", str(key), *extra]
    return gateways.start(config, env=ENV, args=args, wait=False)


def https(gw: Gateway, ca: MeshCA, client: Workload | None = None) -> httpx.Client:
    """A client trusting `ca`, presenting `client`'s certificate when given."""
    ctx = ssl.create_default_context(cafile=str(ca.cert_path))
    if client is not None:
        ctx.load_cert_chain(client.cert, client.key)
    return httpx.Client(base_url=f"https://127.0.0.1:{gw.port}", verify=ctx, timeout=10)


def ready(gw: Gateway, ca: MeshCA, client: Workload | None = None) -> bool:
    assert gw.proc.poll() is None, gw.logs()
    try:
        with https(gw, ca, client) as c:
            return c.get("/readyz").status_code == 200
    except httpx.HTTPError:
        return False


def served_serial(gw: Gateway) -> int:
    pem = ssl.get_server_certificate(("127.0.0.1", gw.port))
    return x509.load_pem_x509_certificate(pem.encode()).serial_number


def serial_of(cert: Workload) -> int:
    return x509.load_pem_x509_certificate(cert.cert.read_bytes()).serial_number


def access_lines(gw: Gateway) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in gw.logs().splitlines() if line.startswith("{")]
    return [line for line in lines if "status" in line and "tenant" in line]


def test_the_openai_sdk_talks_https_to_the_gateway(
    gateways: GatewayFactory, fake: FakeUpstream, ca: MeshCA, tmp_path: Path
) -> None:
    crt, key = install(ca.issue("keeptrusts", "gateway", ip="127.0.0.1"), tmp_path / "live")
    gw = start_tls(gateways, fake, crt, key)
    assert wait_for(lambda: ready(gw, ca)), gw.logs()
    with https(gw, ca) as http:
        client = OpenAI(base_url=f"https://127.0.0.1:{gw.port}/v1", api_key="k", http_client=http)
        answer = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hello"}]
        )
        assert answer.choices[0].message.content
        stream = client.chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": "hello"}], stream=True
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    with pytest.raises(httpx.HTTPError):  # plain HTTP on the TLS port
        httpx.get(f"http://127.0.0.1:{gw.port}/readyz", timeout=5)


def test_mtls_refuses_clients_without_a_certificate_and_names_the_tenant_from_it(
    gateways: GatewayFactory, fake: FakeUpstream, ca: MeshCA, tmp_path: Path
) -> None:
    crt, key = install(ca.issue("keeptrusts", "gateway", ip="127.0.0.1"), tmp_path / "live")
    gw = start_tls(gateways, fake, crt, key, "--tls-client-ca", str(ca.cert_path))
    caller = ca.issue("data-science", "notebook")
    assert wait_for(lambda: ready(gw, ca, caller)), gw.logs()
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    with https(gw, ca, caller) as c:
        assert c.post("/v1/chat/completions", json=body).status_code == 200
    with pytest.raises(httpx.HTTPError), https(gw, ca) as c:
        c.post("/v1/chat/completions", json=body)
    outsider = MeshCA.create(tmp_path / "other").issue("data-science", "notebook")
    with pytest.raises(httpx.HTTPError), https(gw, ca, outsider) as c:
        c.post("/v1/chat/completions", json=body)
    assert wait_for(lambda: len(access_lines(gw)) >= 1), gw.logs()
    assert [line["tenant"] for line in access_lines(gw)] == ["data-science"]


def test_a_rotated_certificate_is_served_without_a_restart(
    gateways: GatewayFactory, fake: FakeUpstream, ca: MeshCA, tmp_path: Path
) -> None:
    first = ca.issue("keeptrusts", "gateway-1", ip="127.0.0.1")
    live = tmp_path / "live"
    crt, key = install(first, live)
    gw = start_tls(gateways, fake, crt, key)
    assert wait_for(lambda: ready(gw, ca)), gw.logs()
    assert served_serial(gw) == serial_of(first)

    second = ca.issue("keeptrusts", "gateway-2", ip="127.0.0.1")
    install(second, live)
    assert wait_for(lambda: served_serial(gw) == serial_of(second)), gw.logs()
    assert "TLS certificate reloaded" in gw.logs()

    # a new certificate whose key has not arrived yet: the previous pair stays in use
    third = ca.issue("keeptrusts", "gateway-3", ip="127.0.0.1")
    shutil.copyfile(third.cert, crt.with_suffix(".new"))
    os.replace(crt.with_suffix(".new"), crt)
    assert wait_for(lambda: "do not load" in gw.logs()), gw.logs()
    assert served_serial(gw) == serial_of(second) and ready(gw, ca)
    install(third, live)  # the key follows
    assert wait_for(lambda: served_serial(gw) == serial_of(third)), gw.logs()
    assert gw.proc.poll() is None
