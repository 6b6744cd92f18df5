"""`kt gateway run` with no *.yaml in its config directory serves the embedded default (the
contract's last fallback); when the directory holds a *.yml file (a ConfigMap key named
`policy.yml`), the start-up warning names it and says to rename it, as a reload's error does,
instead of leaving the engineer to wonder why their policy does not apply."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.gateway import GatewayFactory


def test_the_start_warning_names_an_ignored_yml_file(
    gateways: GatewayFactory, tmp_path: Path
) -> None:
    config_dir = tmp_path / "etc-keeptrusts"
    config_dir.mkdir()
    (config_dir / "policy.yml").write_text("pack: {name: mine}\npolicies: {chain: []}\n")
    gw = gateways.start(None, args=["--config-dir", str(config_dir)])
    out = gw.logs()
    assert "serving the embedded default" in out, out
    assert "found policy.yml: only *.yaml is read; rename it" in out, out


def test_no_hint_without_yml_files(gateways: GatewayFactory, tmp_path: Path) -> None:
    config_dir = tmp_path / "empty"
    config_dir.mkdir()
    gw = gateways.start(None, args=["--config-dir", str(config_dir)])
    out = gw.logs()
    assert "serving the embedded default" in out and "rename it" not in out, out
