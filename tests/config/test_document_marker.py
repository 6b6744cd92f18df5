"""A layer that is only a YAML document marker (`---`, which yamllint's default
`document-start` rule asks for) and comments is an empty layer, like a comment-only file:
`kt policy lint` passes it and the gateway starts on it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.fakes.gateway import GatewayFactory
from tests.fakes.kt import kt_policy

BASE = """pack: {name: marker, version: 1.0.0}
providers:
  targets:
    - {id: echo, provider: echo, models: ["*"]}
policies:
  chain: [pii-detector]
"""
EMPTY_LAYERS = [
    "---\n",
    "---\n# local overrides go here\n",
    "# local\n---\n",
    "--- # nothing yet\n",
]


@pytest.mark.parametrize("layer", EMPTY_LAYERS, ids=repr)
def test_lint_passes_a_marker_only_layer(tmp_path: Path, layer: str) -> None:
    base = tmp_path / "10-policy-config.yaml"
    base.write_text(BASE)
    local = tmp_path / "90-local.yaml"
    local.write_text(layer)
    done = lint(base, local)
    assert done.returncode == 0, done.stderr
    alone = lint(local)  # alone it is an empty config: its errors name it
    assert alone.returncode == 1
    assert f"{local}:1: pack: required key is missing" in alone.stderr, alone.stderr


def test_a_marker_with_settings_still_applies(tmp_path: Path) -> None:
    base = tmp_path / "10-policy-config.yaml"
    base.write_text(BASE)
    local = tmp_path / "90-local.yaml"
    local.write_text("---\npolicy:\n  pii-detector: {action: mask}\n")
    done = lint(base, local)
    assert done.returncode == 1
    assert f"{local}:3: policy.pii-detector.action:" in done.stderr, done.stderr


def test_the_gateway_starts_on_a_marker_only_layer(
    gateways: GatewayFactory, tmp_path: Path
) -> None:
    local = tmp_path / "90-local.yaml"
    local.write_text("---\n# local overrides go here\n")
    gw = gateways.start(BASE, args=["--policy-config", str(local)])
    reply = httpx.post(
        gw.url + "/v1/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "a@b.co"}]},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["choices"][0]["message"]["content"] == "[REDACTED:EMAIL]"


@pytest.mark.parametrize(
    "text",
    [BASE + "---\n", BASE + "---\npack: {name: other}\n"],
    ids=["trailing marker", "two documents"],
)
def test_a_second_document_is_named_with_what_to_do(tmp_path: Path, text: str) -> None:
    path = tmp_path / "10-policy-config.yaml"
    path.write_text(text)
    done = lint(path)
    assert done.returncode == 1
    assert (
        f"{path}:7: invalid YAML: a policy config file holds one YAML document; remove this "
        "'---' (layer more files instead: later files override earlier ones)"
    ) in done.stderr, done.stderr


@pytest.mark.parametrize(
    "text",
    ["pack: {name: t}\npolicies:\n\tchain: []\n", "pack: {name: t}\npolicies: {chain: []}\n\t\n"],
    ids=["tab indent", "tab-only line"],
)
def test_a_tab_says_yaml_indents_with_spaces(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tabbed.yaml"
    path.write_text(text)
    done = lint(path)
    assert done.returncode == 1
    assert (
        f"{path}:3: invalid YAML: a tab character (column 1): YAML indents with spaces only; "
        "replace it with spaces"
    ) in done.stderr, done.stderr


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return kt_policy("lint", *map(str, paths))
