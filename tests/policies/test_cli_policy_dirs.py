"""`kt policy lint DIR` / `kt policy test DIR`: a directory is read as the gateway reads
/etc/keeptrusts, every *.yaml in it in name order, layered; so a checked-out ConfigMap
directory lints as the gateway will load it. A directory with no *.yaml says so (naming any
*.yml it skipped) instead of 'Is a directory'."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.kt import kt_policy

BASE = """pack: {name: dir, version: 1.0.0}
providers:
  targets:
    - {id: echo, provider: echo, models: ["*"]}
policies:
  chain: [pii-detector]
"""


def test_lint_layers_a_directory_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "10-policy-config.yaml").write_text(BASE)
    (tmp_path / "50-mesh.yaml").write_text("policy:\n  pii-detector: {action: block}\n")
    (tmp_path / "README.md").write_text("not read\n")
    done = kt_policy("lint", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"ok: {tmp_path / '10-policy-config.yaml'}, {tmp_path / '50-mesh.yaml'} (config 1.0.0+"
    ), done.stdout
    (tmp_path / "90-local.yaml").write_text("policy:\n  pii-detector: {action: mask}\n")
    done = kt_policy("lint", str(tmp_path))
    assert done.returncode == 1
    assert f"{tmp_path / '90-local.yaml'}:2: policy.pii-detector.action:" in done.stderr


def test_test_reads_a_directory(tmp_path: Path) -> None:
    (tmp_path / "10-policy-config.yaml").write_text(BASE)
    (tmp_path / "50-mesh.yaml").write_text("policy:\n  pii-detector: {action: block}\n")
    done = kt_policy("test", str(tmp_path), "--input", "mail a@b.co")
    assert done.returncode == 0, done.stderr
    assert "decision: block" in done.stdout, done.stdout


def test_a_directory_without_yaml_files(tmp_path: Path) -> None:
    (tmp_path / "policy.yml").write_text(BASE)
    done = kt_policy("lint", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == (
        f"{tmp_path}: no *.yaml policy config file in the directory "
        "(found policy.yml: only *.yaml is read; rename it)"
    ), done.stderr
