"""The shipped `data/openapi.yaml` is valid OpenAPI 3.1 and describes what the gateway serves."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import schemathesis
from jsonschema import Draft202012Validator
from schemathesis.config import SchemathesisConfig

from keeptrusts.gateway.app import build_app
from tests.spec.spec import MARK, gateway_view, load_spec, operations

SPEC = load_spec()
#: "403": ip_allowlist and cors refusals (only where the config has those sections)
V1_ERRORS = {"400", "403", "404", "405", "408", "409", "413", "422", "429", "502", "503", "504"}
GATEWAY_HEADERS = {
    "x-request-id",
    "x-keeptrusts-decision",
    "x-keeptrusts-overhead-ms",
    "x-keeptrusts-config-version",
}


def _validate(spec: dict[str, Any]) -> None:
    """schemathesis checks the document against the OpenAPI 3.1 meta-schema."""
    schemathesis.openapi.from_dict(spec, config=SchemathesisConfig()).validate()


def _resolve(ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = SPEC
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _walk(node: Any, path: str = "#") -> list[tuple[str, Any]]:
    found = [(path, node)]
    if isinstance(node, dict):
        for k, v in node.items():
            found += _walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            found += _walk(v, f"{path}/{i}")
    return found


def _deref(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        node = _resolve(node["$ref"])
    return node


def test_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    _validate(SPEC)
    _validate(gateway_view(SPEC))


def test_the_validator_rejects_an_invalid_document() -> None:
    broken = copy.deepcopy(SPEC)
    broken["paths"]["/health"]["get"]["responses"]["200"] = {"content": {}}  # no description
    with pytest.raises(Exception, match="description"):
        _validate(broken)


def test_every_ref_resolves() -> None:
    refs = [n["$ref"] for _, n in _walk(SPEC) if isinstance(n, dict) and "$ref" in n]
    assert refs
    for ref in refs:
        assert _resolve(ref) is not None, ref


def test_every_schema_is_valid_json_schema_2020_12() -> None:
    for name, schema in SPEC["components"]["schemas"].items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as exc:
            raise AssertionError(f"components/schemas/{name}: {exc}") from exc


def test_passthrough_marks_only_request_fields() -> None:
    marked = [p for p, n in _walk(SPEC) if isinstance(n, dict) and n.get(MARK) is True]
    assert marked
    responses = {"ChatCompletion", "Completion", "EmbeddingList", "Error", "Health"}
    for path in marked:
        assert path.startswith("#/components/schemas/"), path
        assert path.split("/")[3] not in responses, path


@pytest.mark.filterwarnings("ignore:Bare functions are deprecated:DeprecationWarning")
def test_paths_are_the_gateway_routes() -> None:
    app = build_app(None, None)  # type: ignore[arg-type]  # routes only, never served
    served = {
        (r.method, r.resource.canonical)
        for r in app.router.routes()
        if r.method != "HEAD" and r.resource is not None
    }
    documented = {(method, path) for method, path, _ in operations(SPEC)}
    assert documented == served


def test_openai_operations_document_every_contract_error() -> None:
    for method, path, op in operations(SPEC):
        if not path.startswith("/v1/") or method != "POST":
            continue
        statuses = set(op["responses"]) - {"200"}
        assert statuses == V1_ERRORS, path
        ok = op["responses"]["200"]
        assert set(ok["headers"]) == GATEWAY_HEADERS, path
        assert all(_deref(h)["required"] for h in ok["headers"].values()), path


def _refs_within(node: Any, seen: set[str] | None = None) -> set[str]:
    """Every $ref reachable from `node`, following references."""
    seen = set() if seen is None else seen
    for _, n in _walk(node):
        if isinstance(n, dict) and "$ref" in n and n["$ref"] not in seen:
            seen.add(n["$ref"])
            _refs_within(_resolve(n["$ref"]), seen)
    return seen


def test_every_error_response_uses_the_envelope() -> None:
    envelope = "#/components/schemas/Error"
    for _, path, op in operations(SPEC):
        assert {"400", "405", "503"} <= set(op["responses"]), path
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            content = _deref(response)["content"]
            assert list(content) == ["application/json"], (path, status)
            assert envelope in _refs_within(content), (path, status)


def test_rate_limited_requires_retry_after() -> None:
    headers = SPEC["components"]["responses"]["RateLimited"]["headers"]
    assert _deref(headers["Retry-After"])["required"] is True


def test_error_envelope_shape_is_the_contract() -> None:
    error = SPEC["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    inner = error["properties"]["error"]
    assert inner["required"] == ["type", "code", "message", "policy"]
    assert inner["properties"]["policy"]["type"] == ["string", "null"]
    validator = Draft202012Validator(error)
    validator.validate(
        {"error": {"type": "validation_error", "code": "x", "message": "m", "policy": None}}
    )
    assert not validator.is_valid({"error": {"type": "validation_error", "code": "x"}})
