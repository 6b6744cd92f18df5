"""What schemas cannot say: subsets exist, weights sum to 100, ports, names, drain budget,
the Deployment the seed describes, and a mounted config the gateway's own loader accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from keeptrusts.config.load import DEFAULT_DIR, load_files
from keeptrusts.config.model import Server
from tests.deploy.manifests import (
    FQDN,
    KUSTOMIZE_ROOT,
    OVERLAYS,
    REPO,
    REQUIRED_OVERLAYS,
    Doc,
    config_volume,
    containers,
    env_names,
    find,
    gateway_container,
    one,
    render,
)

PORT = 41002
DEFAULT_YAML = REPO / "src" / "keeptrusts" / "data" / "default.yaml"
GATEWAY_TARGETS = ("base", "overlays/istio", "overlays/istio-canary", "overlays/linkerd")
MESH = {
    "overlays/istio": "xfcc",
    "overlays/istio-canary": "xfcc",
    "overlays/linkerd": "l5d-client-id",
}
SEED_NAMESPACES = ["applications", "data-science", "customer-support"]
PRESTOP_SECONDS = 5


def deployments(target: str) -> list[Doc]:
    return [d for d in render(target) if d["kind"] == "Deployment"]


# --- config -------------------------------------------------------------------------------


def test_policy_config_copies_are_the_embedded_default() -> None:
    default = DEFAULT_YAML.read_text("utf-8")
    assert (KUSTOMIZE_ROOT / "base" / "policy-config.yaml").read_text("utf-8") == default
    assert (KUSTOMIZE_ROOT / "overlays" / "sidecar" / "policy-config.yaml").read_text(
        "utf-8"
    ) == default
    for target in ("base", "overlays/sidecar"):
        cm = one(render(target), "ConfigMap", "keeptrusts-policy-config")
        assert cm["data"]["10-policy-config.yaml"] == default


@pytest.mark.parametrize(
    ("target", "configmap"),
    [
        ("base", "keeptrusts-policy-config"),
        ("overlays/istio", "keeptrusts-policy-config"),
        ("overlays/istio-canary", "keeptrusts-policy-config"),
        ("overlays/istio-canary", "keeptrusts-policy-config-canary"),
        ("overlays/linkerd", "keeptrusts-policy-config"),
        ("overlays/sidecar", "keeptrusts-policy-config"),
    ],
)
def test_mounted_config_loads_as_the_gateway_layers_it(
    target: str, configmap: str, tmp_path: Path
) -> None:
    """Write the ConfigMap's files as the kubelet would and load them like `kt gateway run`."""
    cm = one(render(target), "ConfigMap", configmap)
    for name, text in cm["data"].items():
        assert name.endswith(".yaml")
        (tmp_path / name).write_text(text, "utf-8")
    loaded = load_files(sorted(str(p) for p in tmp_path.glob("*.yaml")))
    tenants = loaded.config.tenants
    source = MESH.get(target)
    if source is not None:
        assert tenants.trust_mesh_headers is True
        assert tenants.sources[0] == source
        assert set(tenants.identities.values()) == set(SEED_NAMESPACES)
        for ns in SEED_NAMESPACES:
            assert f"spiffe://cluster.local/ns/{ns}/*" in tenants.identities
    else:
        assert tenants.trust_mesh_headers is False
    if configmap.endswith("-canary"):
        assert loaded.config.pack.version.endswith("-canary")


# --- Deployment and Service ---------------------------------------------------------------


@pytest.mark.parametrize("target", GATEWAY_TARGETS)
def test_gateway_deployment_is_the_seeds(target: str) -> None:
    dep = one(render(target), "Deployment", "keeptrusts-gateway")
    assert dep["spec"]["replicas"] == 3
    assert dep["metadata"]["labels"]["app"] == "keeptrusts-gateway"
    assert dep["spec"]["selector"]["matchLabels"] == {"app": "keeptrusts-gateway"}
    _check_gateway_pod(dep)


def _check_gateway_pod(dep: Doc) -> None:
    pod = dep["spec"]["template"]
    assert pod["metadata"]["labels"]["app"] == "keeptrusts-gateway"
    c = gateway_container(dep)
    assert c["name"] == "gateway"
    assert c["image"] == "keeptrusts/gateway:latest"
    assert c["ports"] == [{"containerPort": PORT, "name": "http", "protocol": "TCP"}]
    assert c["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "500m", "memory": "256Mi"},
    }
    assert config_volume(dep, c)[0] == DEFAULT_DIR
    assert {"KEEPTRUSTS_API_URL", "KEEPTRUSTS_GATEWAY_TOKEN", "KEEPTRUSTS_SPOOL_DIR"} <= env_names(
        c
    )
    token = next(e for e in c["env"] if e["name"] == "KEEPTRUSTS_GATEWAY_TOKEN")
    assert token["valueFrom"]["secretKeyRef"] == {"name": "keeptrusts-secrets", "key": "api-key"}
    spool = next(e for e in c["env"] if e["name"] == "KEEPTRUSTS_SPOOL_DIR")["value"]
    assert any(m["mountPath"] == spool for m in c["volumeMounts"])
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["runAsNonRoot"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(PRESTOP_SECONDS)]
    _check_drain_budget(dep)


def _check_drain_budget(dep: Doc) -> None:
    """terminationGracePeriodSeconds covers preStop + the gateway's drain, with room to flush."""
    server = Server()
    needed = PRESTOP_SECONDS + server.drain_delay_seconds + server.drain_timeout_seconds
    grace = dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    assert needed + 5 <= grace <= needed + 30, (grace, needed)


@pytest.mark.parametrize("target", GATEWAY_TARGETS)
def test_service_and_friends_select_the_gateway(target: str) -> None:
    docs = render(target)
    svc = one(docs, "Service", "keeptrusts-gateway")
    assert svc["spec"]["selector"] == {"app": "keeptrusts-gateway"}
    assert svc["spec"]["ports"] == [
        {
            "name": "http",
            "port": PORT,
            "targetPort": "http",
            "protocol": "TCP",
            "appProtocol": "http",
        }
    ]
    pdb = one(docs, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == {"app": "keeptrusts-gateway"}
    hpa = one(docs, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == "keeptrusts-gateway"
    assert hpa["spec"]["minReplicas"] >= 3
    dep = one(docs, "Deployment", "keeptrusts-gateway")
    assert (
        dep["spec"]["template"]["spec"]["serviceAccountName"]
        == one(docs, "ServiceAccount")["metadata"]["name"]
    )
    assert config_volume(dep, gateway_container(dep))[1] in {
        d["metadata"]["name"] for d in find(docs, "ConfigMap")
    }
    assert not find(docs, "Secret"), "secret values are never committed"


# --- Istio --------------------------------------------------------------------------------


def _destinations(vs: Doc) -> list[tuple[str, list[Doc]]]:
    return [(r.get("name", ""), r["route"]) for r in vs["spec"]["http"]]


@pytest.mark.parametrize("target", ["overlays/istio", "overlays/istio-canary"])
def test_istio_routes(target: str) -> None:
    docs = render(target)
    [vs] = find(docs, "VirtualService")
    assert vs["spec"]["hosts"] == [FQDN]
    dr = one(docs, "DestinationRule", "keeptrusts-gateway")
    assert dr["spec"]["host"] == FQDN
    subsets = {s["name"]: s["labels"] for s in dr["spec"]["subsets"]}
    assert subsets == {"stable": {"version": "stable"}, "canary": {"version": "canary"}}
    http = vs["spec"]["http"]
    # the seed's two routes come first, with its timeout and retries
    assert http[0]["match"] == [{"uri": {"prefix": "/v1/chat/completions"}}]
    assert http[0]["timeout"] == "120s"
    assert http[0]["retries"] == {
        "attempts": 2,
        "perTryTimeout": "60s",
        "retryOn": "5xx,reset,connect-failure",
    }
    assert http[1]["match"] == [{"uri": {"prefix": "/health"}}]
    assert "match" not in http[-1], "a catch-all route keeps /v1/models, /metrics... reachable"
    for name, route in _destinations(vs):
        for dest in route:
            assert dest["destination"]["host"] == FQDN
            assert dest["destination"]["port"]["number"] == PORT
            if "subset" in dest["destination"]:
                assert dest["destination"]["subset"] in subsets, name
        if len(route) > 1 or "weight" in route[0]:
            assert sum(d["weight"] for d in route) == 100, name
    pods = {
        d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]
        for d in deployments(target)
    }
    assert pods["keeptrusts-gateway"]["version"] == "stable"


def test_istio_canary_split_and_canary_deployment() -> None:
    docs = render("overlays/istio-canary")
    [vs] = find(docs, "VirtualService")
    for name, route in _destinations(vs):
        weights = {d["destination"]["subset"]: d["weight"] for d in route}
        assert weights == {"stable": 90, "canary": 10}, name
    stable = one(docs, "Deployment", "keeptrusts-gateway")
    canary = one(docs, "Deployment", "keeptrusts-gateway-canary")
    assert canary["spec"]["template"]["metadata"]["labels"] == {
        "app": "keeptrusts-gateway",
        "version": "canary",
    }
    assert canary["spec"]["selector"]["matchLabels"]["version"] == "canary"
    assert config_volume(canary, gateway_container(canary))[1] == "keeptrusts-policy-config-canary"
    # the canary runs the very same pod apart from its config
    assert gateway_container(canary) == gateway_container(stable)
    s_pod, c_pod = stable["spec"]["template"], canary["spec"]["template"]
    assert c_pod["metadata"]["annotations"] == s_pod["metadata"]["annotations"]
    strip = {"volumes"}
    assert {k: v for k, v in c_pod["spec"].items() if k not in strip} == {
        k: v for k, v in s_pod["spec"].items() if k not in strip
    }
    _check_gateway_pod(canary)


def test_istio_security() -> None:
    docs = render("overlays/istio")
    dep = one(docs, "Deployment", "keeptrusts-gateway")
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert annotations["sidecar.istio.io/inject"] == "true"
    authz = one(docs, "AuthorizationPolicy")
    assert authz["spec"]["action"] == "ALLOW"
    assert authz["spec"]["selector"]["matchLabels"] == {"app": "keeptrusts-gateway"}
    [rule] = authz["spec"]["rules"]
    assert rule["from"][0]["source"]["namespaces"] == SEED_NAMESPACES
    assert rule["to"][0]["operation"]["ports"] == [str(PORT)]
    peer = one(docs, "PeerAuthentication")
    assert peer["spec"]["mtls"]["mode"] == "STRICT"
    assert peer["spec"]["selector"]["matchLabels"] == {"app": "keeptrusts-gateway"}
    api = one(docs, "DestinationRule", "keeptrusts-api-mtls")
    assert api["spec"]["trafficPolicy"]["tls"]["mode"] == "ISTIO_MUTUAL"
    url = next(e for e in gateway_container(dep)["env"] if e["name"] == "KEEPTRUSTS_API_URL")
    # the DestinationRule only applies to traffic addressed to its host, in plain HTTP
    assert url["value"].startswith(f"http://{api['spec']['host']}:")


# --- Linkerd ------------------------------------------------------------------------------


def test_linkerd_profile_and_injection() -> None:
    docs = render("overlays/linkerd")
    svc = one(docs, "Service", "keeptrusts-gateway")
    fqdn = f"{svc['metadata']['name']}.{svc['metadata']['namespace']}.svc.cluster.local"
    sp = one(docs, "ServiceProfile")
    assert sp["metadata"]["name"] == fqdn == FQDN
    assert sp["metadata"]["namespace"] == svc["metadata"]["namespace"]
    routes = {r["name"]: r for r in sp["spec"]["routes"]}
    assert routes["chat-completions"]["condition"] == {
        "method": "POST",
        "pathRegex": "/v1/chat/completions",
    }
    assert routes["chat-completions"]["timeout"] == "120s"
    assert routes["health"]["condition"] == {"method": "GET", "pathRegex": "/health"}
    assert routes["health"]["timeout"] == "5s"
    assert not any(r.get("isRetryable") for r in routes.values())
    dep = one(docs, "Deployment", "keeptrusts-gateway")
    assert dep["metadata"]["annotations"]["linkerd.io/inject"] == "enabled"
    pod = dep["spec"]["template"]["metadata"]["annotations"]
    assert pod["linkerd.io/inject"] == "enabled"
    assert pod["config.linkerd.io/default-inbound-policy"] == "all-authenticated"


# --- sidecar ------------------------------------------------------------------------------


def test_sidecar_pod() -> None:
    docs = render("overlays/sidecar")
    dep = one(docs, "Deployment", "my-ai-app")
    names = [c["name"] for c in containers(dep)]
    assert names == ["app", "keeptrusts-gateway"]
    app = next(c for c in containers(dep) if c["name"] == "app")
    assert app["env"] == [{"name": "OPENAI_BASE_URL", "value": f"http://localhost:{PORT}/v1"}]
    gw = gateway_container(dep)
    assert gw["ports"][0]["containerPort"] == PORT
    assert config_volume(dep, gw) == (DEFAULT_DIR, "keeptrusts-policy-config")
    assert dep["spec"]["template"]["metadata"]["annotations"]["sidecar.istio.io/inject"] == "true"
    sel = dep["spec"]["selector"]["matchLabels"]
    assert sel.items() <= dep["spec"]["template"]["metadata"]["labels"].items()
    _check_drain_budget(dep)


@pytest.mark.parametrize("overlay", REQUIRED_OVERLAYS)
def test_promised_overlays_exist(overlay: str) -> None:
    assert (KUSTOMIZE_ROOT / "overlays" / overlay / "kustomization.yaml").is_file()
    assert overlay in OVERLAYS
