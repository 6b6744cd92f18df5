"""`kt gateway run --workers N`: N is a whole number of 1 or more. `--workers 0` (or -2) used to
start one process without a word, so a typo in a Deployment's args went unnoticed; it is now a
usage error naming the flag."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("value", ["0", "-2", "two", "1.5"])
def test_workers_below_one_is_a_usage_error(value: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPTRUSTS_")}
    command = ["gateway", "run", "--listen", "127.0.0.1:0", "--workers", value]
    done = subprocess.run(
        [sys.executable, "-m", "keeptrusts", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert "--workers" in done.stderr and "1 or more" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
