"""`kt gateway run` on a port another process holds (a second `make run`): one line saying so,
exit 1, and nothing else that reads like a crash (no traceback, no error-level log of
resources left open)."""

from __future__ import annotations

import socket

from tests.config.cases import HEAD
from tests.fakes.gateway import GatewayFactory


def test_a_port_in_use_is_one_clear_line(gateways: GatewayFactory) -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen(1)
        port = held.getsockname()[1]
        gw = gateways.start(HEAD, wait=False, port=port)
        assert gw.proc.wait(15) == 1
    out = gw.logs()
    assert f"kt: cannot listen on 127.0.0.1:{port}: Address already in use" in out, out
    assert "Traceback" not in out
    assert '"level":"error"' not in out and "Unclosed" not in out, out
