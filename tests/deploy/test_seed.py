"""The product page's (seed's) own manifests, kept verbatim as fixtures in `seed/`.

The page lost its indentation; the fixtures restore it. A test proves each fixture has exactly
the page's lines, in order. They validate like our own manifests, with one known defect of the
page recorded here (its sidecar example has no `spec.selector`), and the seed's gateway
Deployment must run our image unchanged: port, config mount and environment.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from keeptrusts.config.load import DEFAULT_DIR
from tests.deploy.manifests import (
    K8S_VERSIONS,
    REPO,
    SEED_FIXTURES,
    Doc,
    config_volume,
    crd_errors,
    env_names,
    gateway_container,
    is_crd_kind,
    load_yaml_docs,
    one,
    render,
    require_shared,
    validate_builtin,
)

FIXTURES = sorted(SEED_FIXTURES.glob("*.yaml"))
#: the page's sidecar example omits spec.selector (and pod labels): apps/v1 requires it
KNOWN_INVALID = {("sidecar-deployment.yaml", "Deployment"): "'selector' is a required property"}


def seed_lines() -> list[str]:
    shared = require_shared()
    pages = sorted((shared / "seed").glob("000_*.txt"))
    if not pages:
        pytest.skip(f"no seed page in {shared / 'seed'}")
    return [line.strip() for line in pages[0].read_text("utf-8").splitlines()]


def fixture_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]


def all_docs() -> list[tuple[str, Doc]]:
    return [(p.name, d) for p in FIXTURES for d in load_yaml_docs(p)]


def test_fixtures_present() -> None:
    assert len(FIXTURES) == 9
    assert len(all_docs()) == 10


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_is_the_page_text_reindented(path: Path) -> None:
    page = seed_lines()
    lines = fixture_lines(path)
    n = len(lines)
    starts = [i for i in range(len(page) - n + 1) if page[i : i + n] == lines]
    assert starts, f"{path.name}: its lines are not a contiguous block of the seed page"


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_fixtures_validate(version: str) -> None:
    failures: dict[tuple[str, str], str] = {}
    for name, doc in all_docs():
        try:
            if is_crd_kind(doc):
                errors = crd_errors(doc)
                assert not errors, "\n".join(errors)
            else:
                validate_builtin(doc, version)
        except AssertionError as exc:
            failures[(name, doc["kind"])] = str(exc)
    assert failures.keys() == KNOWN_INVALID.keys(), failures
    for key, message in KNOWN_INVALID.items():
        assert message in failures[key]


def _seed_gateway_deployments() -> list[Doc]:
    return [
        d
        for name, d in all_docs()
        if d["kind"] == "Deployment" and name.startswith("gateway-deployment")
    ]


@pytest.mark.parametrize("dep", _seed_gateway_deployments(), ids=["istio", "linkerd"])
def test_seed_deployment_runs_our_image_unchanged(dep: Doc) -> None:
    c = gateway_container(dep)
    assert c["image"] == "keeptrusts/gateway:latest"
    assert c["ports"][0]["containerPort"] == 41002
    assert config_volume(dep, c) == (DEFAULT_DIR, "keeptrusts-policy-config")
    assert env_names(c) == {"KEEPTRUSTS_API_URL", "KEEPTRUSTS_GATEWAY_TOKEN"}
    # our base provides what the seed references: the ConfigMap by that exact name
    assert one(render("base"), "ConfigMap", "keeptrusts-policy-config")
    # the image listens where the seed's containerPort points, with no arguments
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    assert re.search(r"^EXPOSE 41002$", dockerfile, re.M)
    assert re.search(r'^ENTRYPOINT \["kt", "gateway", "run"\]$', dockerfile, re.M)


def test_code_reads_the_seed_environment() -> None:
    """The environment names the seed sets are the ones the gateway reads."""
    src = "\n".join(p.read_text("utf-8") for p in (REPO / "src" / "keeptrusts").rglob("*.py"))
    for name in ("KEEPTRUSTS_API_URL", "KEEPTRUSTS_GATEWAY_TOKEN", "KEEPTRUSTS_SPOOL_DIR"):
        assert f'"{name}"' in src, name
    assert '"0.0.0.0:41002"' in src


def test_seed_deployment_fits_in_our_base() -> None:
    """Everything the seed's Deployment sets, our base Deployment sets to the same value."""
    seed = next(d for d in _seed_gateway_deployments() if "linkerd.io/inject" not in str(d))
    ours = one(render("base"), "Deployment", "keeptrusts-gateway")
    assert ours["spec"]["replicas"] == seed["spec"]["replicas"]
    assert ours["spec"]["selector"] == seed["spec"]["selector"]
    s, o = gateway_container(seed), gateway_container(ours)
    assert o["resources"] == s["resources"]
    assert s["ports"][0].items() <= o["ports"][0].items()
    ours_env = {e["name"]: e for e in o["env"]}
    for env in s["env"]:
        assert ours_env[env["name"]] == env
    assert s["volumeMounts"][0] in o["volumeMounts"]
    seed_volumes = seed["spec"]["template"]["spec"]["volumes"]
    assert seed_volumes[0] in ours["spec"]["template"]["spec"]["volumes"]
