"""`kt policy test --file`: a text file that cannot be read is a one-line error, not a traceback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from keeptrusts import cli_policy

CONFIG = "pack: {name: t}\npolicies: {chain: [pii-detector]}\n"


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "cfg.yaml"
    path.write_text(CONFIG)
    return str(path)


def test_non_utf8_file(config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "latin1.txt"
    text.write_bytes("café a@b.io".encode("latin-1"))
    assert cli_policy.test_main([config, "--file", str(text)]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"{text}: not UTF-8 text\n" and captured.out == ""


def test_non_utf8_stdin(
    config: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"caf\xe9"), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    assert cli_policy.test_main([config, "--file", "-"]) == 1
    assert capsys.readouterr().err == "-: not UTF-8 text\n"


def test_utf8_file_still_works(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "utf8.txt"
    text.write_text("café a@b.io", encoding="utf-8")
    assert cli_policy.test_main([config, "--file", str(text)]) == 0
    assert "café [REDACTED:EMAIL]" in capsys.readouterr().out
