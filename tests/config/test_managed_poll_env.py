"""`$KEEPTRUSTS_MANAGED_POLL_SECONDS` (how often `--managed` polls; default 30): a value that is
not a number of seconds above 0 stops start-up with one line naming the variable (exit 2),
not a ValueError traceback."""

from __future__ import annotations

import pytest

from tests.config.cases import HEAD
from tests.fakes.gateway import GatewayFactory


@pytest.mark.parametrize("value", ["abc", "0", "-5", "nan"])
def test_a_bad_poll_interval_is_named(gateways: GatewayFactory, value: str) -> None:
    env = {"KEEPTRUSTS_API_URL": "http://127.0.0.1:1", "KEEPTRUSTS_MANAGED_POLL_SECONDS": value}
    gw = gateways.start(HEAD, env=env, args=["--managed"], wait=False)
    assert gw.proc.wait(15) == 2
    out = gw.logs()
    assert (
        f"kt: KEEPTRUSTS_MANAGED_POLL_SECONDS: must be a number of seconds above 0, got {value!r}"
        in out
    ), out
    assert "Traceback" not in out and "Unclosed" not in out, out
