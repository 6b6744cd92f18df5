"""Which files a (re)load reads; a reload never falls back to the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest

from keeptrusts.config.load import ConfigError, discover


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEEPTRUSTS_CONFIG", raising=False)


def test_start_falls_back_to_the_embedded_default(tmp_path: Path) -> None:
    assert discover([], str(tmp_path)) == []
    assert discover([], str(tmp_path / "missing")) == []


def test_reads_sorted_yaml_files(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("x: 1\n")
    (tmp_path / "a.yaml").write_text("x: 1\n")
    assert discover([], str(tmp_path), required=True) == [
        str(tmp_path / "a.yaml"),
        str(tmp_path / "b.yaml"),
    ]


def test_required_and_none_found_names_the_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        discover([], str(tmp_path), required=True)
    assert str(info.value) == f"{tmp_path}: no *.yaml policy config file in the directory"


def test_required_points_at_an_ignored_yml_file(tmp_path: Path) -> None:
    (tmp_path / "policy.yml").write_text("x: 1\n")
    with pytest.raises(ConfigError, match=r"found policy\.yml: only \*\.yaml is read"):
        discover([], str(tmp_path), required=True)


def test_required_and_directory_gone(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="policy config directory is gone"):
        discover([], str(tmp_path / "missing"), required=True)


def test_explicit_paths_and_env_win(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert discover(["x.yaml"], str(tmp_path), required=True) == ["x.yaml"]
    monkeypatch.setenv("KEEPTRUSTS_CONFIG", "/env.yaml")
    assert discover([], str(tmp_path), required=True) == ["/env.yaml"]
