"""Every kustomization renders, and every object it renders validates strictly."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.deploy.manifests import (
    K8S_VERSIONS,
    OVERLAYS,
    crd_errors,
    is_crd_kind,
    render,
    strictify,
    validate_builtin,
)

TARGETS = ("base", *(f"overlays/{o}" for o in OVERLAYS))
DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
#: kinds whose names must be DNS labels (they become DNS names or label values)
LABEL_NAMED = {"Namespace", "Service"}


@pytest.mark.parametrize("target", TARGETS)
def test_renders(target: str) -> None:
    docs = render(target)
    assert docs
    for doc in docs:
        assert {"apiVersion", "kind", "metadata"} <= set(doc)


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("target", TARGETS)
def test_builtin_kinds_validate_strictly(target: str, version: str) -> None:
    for doc in render(target):
        if not is_crd_kind(doc):
            validate_builtin(doc, version)


@pytest.mark.parametrize("target", TARGETS)
def test_mesh_kinds_validate_against_crd_schemas(target: str) -> None:
    errors = [e for doc in render(target) if is_crd_kind(doc) for e in crd_errors(doc)]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("target", TARGETS)
def test_names_are_dns_names_and_namespaced(target: str) -> None:
    for doc in render(target):
        meta = doc["metadata"]
        name = meta["name"]
        assert len(name) <= 253 and DNS_SUBDOMAIN.fullmatch(name), name
        if doc["kind"] in LABEL_NAMED:
            assert len(name) <= 63 and DNS_LABEL.fullmatch(name), name
        if target != "overlays/sidecar" and doc["kind"] != "Namespace":
            assert meta.get("namespace") == "keeptrusts", f"{doc['kind']}/{name}"


def test_strict_schemas_reject_a_typo() -> None:
    """The strictness is real: a misspelt field in a VirtualService is an error."""
    docs = render("overlays/istio")
    vs = next(d for d in docs if d["kind"] == "VirtualService")
    broken = yaml.safe_load(yaml.safe_dump(vs))
    broken["spec"]["http"][0]["retries"]["retryon"] = "5xx"
    assert any("retryon" in e for e in crd_errors(broken))
    broken = yaml.safe_load(yaml.safe_dump(vs))
    broken["metadata"]["lables"] = {"a": "b"}
    assert any("lables" in e for e in crd_errors(broken))


def test_strictify_keeps_open_nodes_open() -> None:
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "object", "properties": {"b": {"type": "string"}}},
            "m": {"type": "object", "additionalProperties": {"type": "string"}},
            "p": {
                "type": "object",
                "properties": {"x": {}},
                "x-kubernetes-preserve-unknown-fields": True,
            },
        },
    }
    out = strictify(schema)
    assert out["additionalProperties"] is False
    assert out["properties"]["a"]["additionalProperties"] is False
    assert out["properties"]["m"]["additionalProperties"] == {"type": "string"}
    assert "additionalProperties" not in out["properties"]["p"]
