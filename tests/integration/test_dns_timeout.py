"""Resolving a provider's host name counts against `timeouts.connect`: a resolver that never
answers (here a name server on loopback that reads queries and answers none) fails the
attempt after `connect` seconds instead of stalling it until `total`.

The gateway runs in a mount namespace of its own whose /etc/resolv.conf names that server
(`unshare -m`, then a bind mount): no code of the gateway is replaced. It needs root (to bind
port 53 and mount) and `unshare`; elsewhere the module is skipped with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.gateway import GatewayFactory
from tests.integration.configs import ENV, openai_config

#: a loopback address of its own for the silent name server (port 53 is fixed by resolv.conf)
NAMESERVER = "127.53.0.1"
MOUNT_RESOLV = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'


def _namespaces_usable() -> str | None:
    """Why the gateway cannot be given a resolv.conf of its own here, or None."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return "needs root and unshare (a mount namespace, and port 53 on loopback)"
    done = subprocess.run(["unshare", "-m", "true"], capture_output=True, check=False)
    return None if done.returncode == 0 else "unshare -m is not permitted here"


@pytest.fixture
def silent_resolver(tmp_path: Path) -> Iterator[list[str]]:
    """A name server that never answers, and the command prefix that makes the gateway use it
    (with a resolver timeout far beyond the test's patience)."""
    why = _namespaces_usable()
    if why is not None:
        pytest.skip(why)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind((NAMESERVER, 53))
        conf = tmp_path / "resolv.conf"
        conf.write_text(f"nameserver {NAMESERVER}\noptions timeout:60 attempts:1\n")
        yield ["unshare", "-m", "sh", "-c", MOUNT_RESOLV, str(conf)]


def test_a_resolver_that_never_answers_fails_within_connect(
    gateways: GatewayFactory, silent_resolver: list[str]
) -> None:
    """The lookup of `llm.provider.test` hangs: the request was held until `total` (60 s
    here; 600 by default), past every client's patience. It is a 504 naming the connect
    timeout, after `connect` (1 s)."""
    text = openai_config(("a", "http://llm.provider.test:8000/v1")).replace(
        "{connect: 2, first_byte: 5, total: 30}", "{connect: 1, first_byte: 5, total: 60}"
    )
    gw = gateways.start(text, env=ENV, prefix=silent_resolver)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    r = httpx.post(gw.base_url + "/chat/completions", json=body, timeout=20)
    assert r.status_code == 504, r.text
    err = r.json()["error"]
    assert err["type"] == "upstream_error" and err["code"] == "upstream_timeout"
    assert "timeouts.connect" in err["message"]
