"""Helpers for the manifest tests: render kustomizations, find the shared schemas, validate.

Built-in kinds are checked by `kubernetes_validate` (strict: unknown fields rejected) against
the Kubernetes schemas it ships; Istio and Linkerd kinds by `jsonschema` against the CRD
schemas in `shared/schemas/json/`, made strict by adding `additionalProperties: false` to
every object node that lists `properties` and does not already allow unknown fields.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
import subprocess
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[2]
KUSTOMIZE_ROOT = REPO / "deploy" / "kubernetes"
#: the overlays the product promises; any other overlay directory is rendered and validated too
REQUIRED_OVERLAYS = ("istio", "istio-canary", "linkerd", "sidecar")
_FOUND = {k.parent.name for k in (KUSTOMIZE_ROOT / "overlays").glob("*/kustomization.yaml")}
OVERLAYS = tuple(sorted({*REQUIRED_OVERLAYS, *_FOUND}))
SEED_FIXTURES = Path(__file__).resolve().parent / "seed"
#: the oldest Kubernetes minor we promise, and the newest the validator ships
K8S_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
CRD_GROUPS = ("networking.istio.io", "security.istio.io", "linkerd.io")
FQDN = "keeptrusts-gateway.keeptrusts.svc.cluster.local"
K8S_DEFS = "https://kubernetes.io/api/_definitions.json"
OBJECT_META = K8S_DEFS + "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

Doc = dict[str, Any]


def shared_dir() -> Path | None:
    """The `shared/` directory beside the repository clone (or beside any parent of it)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared"
        if (candidate / "schemas" / "json").is_dir():
            return candidate
    return None


def require_shared() -> Path:
    found = shared_dir()
    if found is None:
        pytest.skip("no `shared/` directory (with schemas/json) beside the repository clone")
    return found


def require_kubectl() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (not a Debian package: install it to run these)")
    return kubectl


@functools.cache
def render(target: str) -> tuple[Doc, ...]:
    """`kubectl kustomize` of `base` or `overlays/<name>`, as parsed documents."""
    path = KUSTOMIZE_ROOT / target
    proc = subprocess.run(
        [require_kubectl(), "kustomize", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"kubectl kustomize {target} failed:\n{proc.stderr}"
    return tuple(d for d in yaml.safe_load_all(proc.stdout) if d)


def load_yaml_docs(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text("utf-8")) if d]


def is_crd_kind(doc: Doc) -> bool:
    return str(doc["apiVersion"]).split("/")[0] in CRD_GROUPS


def find(docs: tuple[Doc, ...] | list[Doc], kind: str, name: str | None = None) -> list[Doc]:
    return [
        d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]


def one(docs: tuple[Doc, ...] | list[Doc], kind: str, name: str | None = None) -> Doc:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


# --- built-in kinds ------------------------------------------------------------------------


def validate_builtin(doc: Doc, version: str) -> None:
    """Strict validation of a built-in kind; raises with the failing path."""
    try:
        kubernetes_validate.validate(doc, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(p) for p in exc.path)
        where = f"{doc['kind']}/{doc['metadata'].get('name')}"
        raise AssertionError(f"{where}: {path}: {exc.message}") from None


# --- CRD kinds -----------------------------------------------------------------------------


def strictify(node: Any) -> Any:
    """A copy of a schema with unknown fields rejected wherever the CRD did not allow them."""
    if isinstance(node, list):
        return [strictify(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: strictify(v) for k, v in node.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def schema_file(doc: Doc) -> str:
    group, _, version = str(doc["apiVersion"]).partition("/")
    return f"{doc['kind'].lower()}-{group}-{version}.json"


@functools.cache
def _k8s_definitions() -> Resource[Any]:
    latest = kubernetes_validate.latest_version()
    base = resources.files("kubernetes_validate") / "kubernetes-json-schema"
    text = (base / f"v{latest}-local-strict" / "_definitions.json").read_text("utf-8")
    return Resource.from_contents(json.loads(text))


@functools.cache
def crd_validator(filename: str) -> jsonschema.protocols.Validator:
    path = require_shared() / "schemas" / "json" / filename
    assert path.is_file(), f"no schema {filename} in {path.parent}"
    schema = strictify(json.loads(path.read_text("utf-8")))
    schema = copy.deepcopy(schema)
    # the CRD schemas describe spec/status only; metadata is Kubernetes' ObjectMeta (strict)
    schema["properties"].update(
        {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"$ref": OBJECT_META},
        }
    )
    schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
    registry: Registry[Any] = Registry().with_resource(K8S_DEFS, _k8s_definitions())
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema, registry=registry)


def crd_errors(doc: Doc) -> list[str]:
    validator = crd_validator(schema_file(doc))
    return [
        f"{doc['kind']}/{doc['metadata'].get('name')}: "
        f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
        for e in validator.iter_errors(doc)
    ]


def validate_any(doc: Doc, version: str) -> None:
    if is_crd_kind(doc):
        errors = crd_errors(doc)
        assert not errors, "\n".join(errors)
    else:
        validate_builtin(doc, version)


# --- walking -------------------------------------------------------------------------------


def containers(doc: Doc) -> Iterator[Doc]:
    spec = doc["spec"]["template"]["spec"]
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


def gateway_container(doc: Doc) -> Doc:
    for c in containers(doc):
        if str(c.get("image", "")).startswith("keeptrusts/gateway"):
            return c
    raise AssertionError(f"no keeptrusts/gateway container in {doc['metadata']['name']}")


def env_names(container: Doc) -> set[str]:
    return {e["name"] for e in container.get("env", [])}


def config_volume(doc: Doc, container: Doc) -> tuple[str, str]:
    """(mount path, ConfigMap name) of the gateway's config volume."""
    mount = next(m for m in container["volumeMounts"] if m["name"] == "config")
    volumes = doc["spec"]["template"]["spec"]["volumes"]
    volume = next(v for v in volumes if v["name"] == "config")
    return mount["mountPath"], volume["configMap"]["name"]
