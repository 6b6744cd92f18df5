"""`kt policy lint` warns (exit 0, stderr) about a valid config that will not do what it seems
to: settings for a policy kind that `policies.chain` does not list (so that policy never runs),
and a config without providers (every request is answered 404 model_not_found)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.fakes.kt import kt_policy

PROVIDERS = """providers:
  targets:
    - {id: echo, provider: echo, models: ["*"]}
"""
FORGOTTEN = (
    "pack: {name: w, version: 1.0.0}\n"
    + PROVIDERS
    + """policies:
  chain: [pii-detector]
policy:
  pii-detector: {action: redact}
  dlp-filter: {blocked_terms: ["project atlas"], action: block}
"""
)


def test_settings_for_a_kind_the_chain_leaves_out(tmp_path: Path) -> None:
    path = tmp_path / "forgotten.yaml"
    path.write_text(FORGOTTEN)
    done = lint(path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"ok: {path} ")
    assert done.stderr == (
        f"warning: {path}:9: policy.dlp-filter: set, but dlp-filter is not in policies.chain, "
        "so it does not run\n"
    )


def test_no_providers(tmp_path: Path) -> None:
    path = tmp_path / "unrouted.yaml"
    path.write_text("pack: {name: w}\npolicies: {chain: []}\n")
    done = lint(path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == (
        "warning: providers: no targets, so every request is answered 404 model_not_found\n"
    )


def test_a_complete_config_has_no_warning(tmp_path: Path) -> None:
    path = tmp_path / "fine.yaml"
    path.write_text(FORGOTTEN.replace("chain: [pii-detector]", "chain: [pii-detector, dlp-filter]"))
    done = lint(path)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    return kt_policy("lint", *map(str, paths))
