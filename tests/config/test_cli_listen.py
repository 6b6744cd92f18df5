"""`--listen HOST:PORT` in `kt gateway run` and `kt api run`: a port is ASCII digits 0-65535,
anything else a usage error naming `--listen` (never a traceback, never another port)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from keeptrusts.cli import listen_address

BAD = ["127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1:²", "127.0.0.1:١٢", "127.0.0.1:", ":80"]
BAD += ["bad", "127.0.0.1:-1", "127.0.0.1: 80", "127.0.0.1:" + "0" * 5000 + "80"]


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("0.0.0.0:41002", ("0.0.0.0", 41002)),
        ("127.0.0.1:0", ("127.0.0.1", 0)),
        ("localhost:65535", ("localhost", 65535)),
        ("[::1]:8080", ("::1", 8080)),
        ("[::]:00080", ("::", 80)),
    ],
)
def test_good_addresses(value: str, address: tuple[str, int]) -> None:
    assert listen_address(value) == address


@pytest.mark.parametrize("value", BAD, ids=repr)
def test_bad_addresses_are_usage_errors(value: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="port of 0-65535"):
        listen_address(value)


@pytest.mark.parametrize("command", [["gateway", "run"], ["api", "run"]])
@pytest.mark.parametrize("value", ["127.0.0.1:99999", "127.0.0.1:²"])
def test_cli_refuses_a_bad_port(command: list[str], value: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "keeptrusts", *command, "--listen", value],
        cwd=tmp_path,  # `kt api run` would create ./keeptrusts.db if it got that far
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert f"argument --listen: must be HOST:PORT with a port of 0-65535, got {value!r}" in (
        proc.stderr
    )
    assert "Traceback" not in proc.stderr + proc.stdout
    assert list(tmp_path.iterdir()) == []
